//! The structure-exploiting equilibrium solver: safeguarded Newton on the `T` prices.
//!
//! # Method
//! The welfare problem (chen-li-low-doyle-2010 eqs. 38–40, Theorem 6), written as a
//! minimisation with the supply `Q(t)` as a variable,
//! `min Σ_i Σ_t h_{i,t}(q_i(t)) + Σ_t C(Q(t), t)  s.t.  Q(t) = Σ_i q_i(t),  q_i ∈ S_i`
//! (`h = −U`, plus `½ C'' q²` for the Nash potential), has the concave dual function
//! `d(p) = Σ_i min_{q ∈ S_i} [h_i(q) + pᵀq] + Σ_t min_Q [C(Q, t) − p(t) Q]`
//! whose gradient is `∇d(p) = D(p) − S(p)`: total demand minus supply at prices `p`.
//! Its root is the pair of outer equations `Q(t) = Σ_i q_i(p)(t)`, `p(t) = C'(Q(t), t)`.
//! Every evaluation is one deterministic parallel pass over the customers, each computing
//! its exact response by water-filling ([`crate::response`]) and its response derivative
//! `∂q_i/∂p = −diag(s_i) + [binding energy bound] s_i s_iᵀ / Σ_t s_i(t)` (`s_i(t)` the
//! slope of the free periods). The `T × T` matrix
//! `H = −∇²d = Σ_i (diag(s_i) − [binding] s_i s_iᵀ/Σ s_i) + diag(S'(p))` is positive
//! semidefinite; Newton's step solves `(H + δ I) Δ = D − S` by faer's Cholesky (with a
//! growing regularisation `δ` on failure and a scaled gradient step as the last resort).
//!
//! Safeguard: a backtracking (Armijo) line search on the dual function,
//! `d(p + αΔ) ≥ d(p) + σ α (D − S)ᵀΔ`, which makes the method globally convergent on the
//! concave, piecewise-C² `d`; when the predicted increase is below the rounding level of
//! `d` the step is accepted if it reduces `‖D − S‖_∞`. Near the solution full steps are
//! taken and convergence is quadratic (finite for quadratic utilities once the active sets
//! settle).
//!
//! The solver is written as a stepper ([`PriceNewton`]): one step announces one trial
//! price profile and collects the customers' replies, so the same code is the fast
//! message-passing variant of the distributed scheme ([`crate::simulation`]).

use crate::model::ShapingModel;
use crate::response::{water_fill, CustomerPieces};
use crate::simulation::Termination;
use dr_convex::parallel::chunked_reduce;
use faer::prelude::*;
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

/// Settings of the structure-exploiting solver, with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolverSettings {
    /// Converged when `‖D(p) − S(p)‖_∞ ≤ tolerance · max(1, ‖D(p)‖_∞)` (default 1e-12).
    pub tolerance: f64,
    /// Most price evaluations (Newton steps plus line-search trials; default 200).
    pub max_evaluations: usize,
    /// Population size from which the passes run on the rayon pool (default 8192). Results
    /// do not depend on it (fixed chunks, combined in order).
    pub parallel_threshold: usize,
}

impl Default for SolverSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-12,
            max_evaluations: 200,
            parallel_threshold: 8192,
        }
    }
}

/// One evaluation of the dual at a price profile (internal).
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub(crate) prices: Vec<f64>,
    /// `D(p)`.
    pub(crate) demand: Vec<f64>,
    /// `S(p)`.
    pub(crate) supply: Vec<f64>,
    /// `H = −∇²d(p)`, `T × T` row-major (upper triangle filled, mirrored on use).
    pub(crate) hessian: Vec<f64>,
    /// `d(p)` (may be `−∞` when some demand is unbounded).
    pub(crate) dual: f64,
    /// `‖D − S‖_∞ / max(1, ‖D‖_∞)`.
    pub(crate) residual: f64,
}

#[derive(Clone)]
struct Acc {
    demand: Vec<f64>,
    hessian: Vec<f64>,
    value: f64,
}

impl Acc {
    fn zero(periods: usize, hessian: bool) -> Self {
        Self {
            demand: vec![0.0; periods],
            hessian: if hessian {
                vec![0.0; periods * periods]
            } else {
                Vec::new()
            },
            value: 0.0,
        }
    }
    fn add(mut self, other: Acc) -> Acc {
        for (a, b) in self.demand.iter_mut().zip(&other.demand) {
            *a += b;
        }
        for (a, b) in self.hessian.iter_mut().zip(&other.hessian) {
            *a += b;
        }
        self.value += other.value;
        self
    }
}

/// One pass over the customers at `prices`: demand, `−∇²d` (when `hessian`), dual value.
pub(crate) fn evaluate(
    model: &ShapingModel,
    prices: &[f64],
    extra: &[f64],
    hessian: bool,
    threshold: usize,
) -> Evaluation {
    let customers = model.customers();
    let periods = model.periods();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    let acc = chunked_reduce(
        customers.len(),
        threshold,
        Acc::zero(periods, hessian),
        |range| {
            let mut acc = Acc::zero(periods, hessian);
            let mut q = vec![0.0; periods];
            let mut s = vec![0.0; periods];
            let mut free: Vec<usize> = Vec::with_capacity(periods);
            for i in range {
                let pieces = CustomerPieces {
                    customers,
                    i,
                    extra,
                };
                let wf = water_fill(&pieces, prices, lo[i], hi[i], &mut q, &mut s);
                acc.value += wf.objective;
                for (d, &x) in acc.demand.iter_mut().zip(&q) {
                    *d += x;
                }
                if hessian {
                    free.clear();
                    let mut total = 0.0;
                    for (t, &k) in s.iter().enumerate() {
                        if k > 0.0 {
                            free.push(t);
                            total += k;
                            acc.hessian[t * periods + t] += k;
                        }
                    }
                    if wf.active && total > 0.0 && total.is_finite() {
                        let inv = 1.0 / total;
                        for (ia, &a) in free.iter().enumerate() {
                            let sa = s[a] * inv;
                            let row = &mut acc.hessian[a * periods..(a + 1) * periods];
                            for &b in &free[ia..] {
                                row[b] -= sa * s[b];
                            }
                        }
                    }
                }
            }
            acc
        },
        Acc::add,
    );
    let supply_cost = model.supply();
    let mut supply = vec![0.0; periods];
    let mut acc = acc;
    let mut dual = acc.value;
    let (mut worst, mut scale) = (0.0f64, 1.0f64);
    for t in 0..periods {
        let (s, slope) = supply_cost.supply(t, prices[t]);
        supply[t] = s;
        dual += supply_cost.value(t, s) - prices[t] * s;
        if hessian {
            acc.hessian[t * periods + t] += slope;
        }
        let gap = (acc.demand[t] - s).abs();
        worst = if gap.is_nan() || gap > worst { gap } else { worst };
        scale = scale.max(acc.demand[t].abs());
    }
    if dual.is_nan() {
        dual = f64::NEG_INFINITY;
    }
    let residual = if worst.is_finite() {
        worst / scale
    } else {
        f64::INFINITY
    };
    Evaluation {
        prices: prices.to_vec(),
        demand: acc.demand,
        supply,
        hessian: acc.hessian,
        dual,
        residual,
    }
}

/// Newton direction `(H + δ I)⁻¹ (D − S)` with faer's Cholesky.
fn newton_direction(ev: &Evaluation) -> Vec<f64> {
    let n = ev.prices.len();
    let g: Vec<f64> = ev
        .demand
        .iter()
        .zip(&ev.supply)
        .map(|(d, s)| d - s)
        .collect();
    let h = |a: usize, b: usize| {
        let (r, c) = if a <= b { (a, b) } else { (b, a) };
        ev.hessian[r * n + c]
    };
    let dmax = (0..n).map(|t| h(t, t)).fold(0.0f64, f64::max).max(1e-300);
    let rhs = Mat::<f64>::from_fn(n, 1, |t, _| g[t]);
    let mut delta = 1e-13 * dmax;
    for _ in 0..8 {
        let m = Mat::<f64>::from_fn(n, n, |a, b| h(a, b) + if a == b { delta } else { 0.0 });
        if let Ok(llt) = m.llt(Side::Lower) {
            let x = llt.solve(&rhs);
            let step: Vec<f64> = (0..n).map(|t| x[(t, 0)]).collect();
            if step.iter().all(|v| v.is_finite()) {
                return step;
            }
        }
        delta *= 1e3;
    }
    // Last resort: a diagonally scaled gradient step.
    (0..n).map(|t| g[t] / h(t, t).max(1e-12 * dmax)).collect()
}


/// The structure-exploiting solver as a stepper: each [`PriceNewton::step`] announces one
/// trial price profile and collects the exact responses (see the module docs).
#[derive(Debug, Clone)]
pub struct PriceNewton<'a> {
    model: &'a ShapingModel,
    extra: Vec<f64>,
    settings: SolverSettings,
    current: Evaluation,
    direction: Vec<f64>,
    predicted: f64,
    alpha: f64,
    evaluations: usize,
    newton_steps: usize,
    termination: Option<Termination>,
}

/// What one step of [`PriceNewton`] observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewtonRound {
    /// Round index (price announcements so far, the first is round 0).
    pub round: usize,
    /// The announced (trial) prices `p(t)`.
    pub prices: Vec<f64>,
    /// The customers' total reply `Σ_i q_i(p)(t)`.
    pub total_load: Vec<f64>,
    /// `‖D(p) − S(p)‖_∞ / max(1, ‖D(p)‖_∞)` at the announced prices.
    pub residual: f64,
    /// Whether the line search accepted this trial.
    pub accepted: bool,
    /// The step length `α` of this trial.
    pub step: f64,
}

impl<'a> PriceNewton<'a> {
    /// Starts at prices `start` (or, when `None`, at `p(t) = C'(Q⁰(t), t)` with
    /// `Q⁰(t) = max(Σ_i Q_i / T, 10⁻⁹)`, doubled until every customer's demand is finite)
    /// with extra curvature `extra(t)` in every customer's disutility (0: welfare;
    /// `C''`: the Nash potential). Evaluates the start (round 0).
    pub(crate) fn new(
        model: &'a ShapingModel,
        extra: Vec<f64>,
        start: Option<Vec<f64>>,
        settings: SolverSettings,
    ) -> Self {
        let periods = model.periods();
        let supply = model.supply();
        let mut prices = start.unwrap_or_else(|| {
            let base = (model.customers().min_energy().iter().sum::<f64>() / periods as f64)
                .max(1e-9);
            (0..periods).map(|t| supply.marginal(t, base)).collect()
        });
        let mut ev = evaluate(model, &prices, &extra, true, settings.parallel_threshold);
        let mut evaluations = 1;
        while !(ev.dual > f64::NEG_INFINITY) && evaluations < 60 {
            for p in prices.iter_mut() {
                *p = if *p > 0.0 { 2.0 * *p } else { p.abs() + 1e-6 };
            }
            ev = evaluate(model, &prices, &extra, true, settings.parallel_threshold);
            evaluations += 1;
        }
        let mut s = Self {
            model,
            extra,
            settings,
            current: ev,
            direction: vec![0.0; periods],
            predicted: 0.0,
            alpha: 1.0,
            evaluations,
            newton_steps: 0,
            termination: None,
        };
        s.after_accept();
        s
    }

    fn after_accept(&mut self) {
        if self.current.residual <= self.settings.tolerance {
            self.termination = Some(Termination::Converged);
            return;
        }
        if !(self.current.dual > f64::NEG_INFINITY) {
            self.termination = Some(Termination::Diverged);
            return;
        }
        self.direction = newton_direction(&self.current);
        self.predicted = self
            .current
            .demand
            .iter()
            .zip(&self.current.supply)
            .zip(&self.direction)
            .map(|((d, s), x)| (d - s) * x)
            .sum();
        self.alpha = 1.0;
        if self.evaluations >= self.settings.max_evaluations {
            self.termination = Some(Termination::MaxRounds);
        }
    }

    /// The next trial prices `p + αΔ`.
    fn trial(&self) -> Vec<f64> {
        self.current
            .prices
            .iter()
            .zip(&self.direction)
            .map(|(p, d)| p + self.alpha * d)
            .collect()
    }

    /// One round: announce the trial prices, collect the replies, accept or backtrack.
    /// Returns `None` once terminated.
    pub fn step(&mut self) -> Option<NewtonRound> {
        if self.termination.is_some() {
            return None;
        }
        let prices = self.trial();
        let ev = evaluate(
            self.model,
            &prices,
            &self.extra,
            true,
            self.settings.parallel_threshold,
        );
        self.evaluations += 1;
        let sigma = 1e-4;
        let gain = ev.dual - self.current.dual;
        let needed = sigma * self.alpha * self.predicted;
        let roundoff = 1e-13 * self.current.dual.abs().max(1.0);
        let accepted = ev.dual.is_finite()
            && (gain >= needed
                || (self.alpha * self.predicted <= roundoff
                    && gain >= -roundoff
                    && ev.residual < self.current.residual));
        let round = NewtonRound {
            round: self.evaluations - 1,
            prices: ev.prices.clone(),
            total_load: ev.demand.clone(),
            residual: ev.residual,
            accepted,
            step: self.alpha,
        };
        if accepted {
            self.current = ev;
            self.newton_steps += 1;
            self.after_accept();
        } else {
            self.alpha *= 0.5;
            if self.alpha < 1e-12 {
                self.termination = Some(Termination::Stalled);
            } else if self.evaluations >= self.settings.max_evaluations {
                self.termination = Some(Termination::MaxRounds);
            }
        }
        Some(round)
    }

    /// Runs to termination; returns the termination reason.
    pub fn run(&mut self) -> Termination {
        while self.step().is_some() {}
        self.termination.unwrap_or(Termination::MaxRounds)
    }

    /// Why it stopped (`None` while running).
    pub fn termination(&self) -> Option<Termination> {
        self.termination
    }
    /// The accepted prices.
    pub fn prices(&self) -> &[f64] {
        &self.current.prices
    }
    /// The relative residual `‖D − S‖_∞ / max(1, ‖D‖_∞)` at the accepted prices.
    pub fn residual(&self) -> f64 {
        self.current.residual
    }
    /// Price evaluations (rounds) so far, including the start.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }
    /// Accepted Newton steps so far.
    pub fn newton_steps(&self) -> usize {
        self.newton_steps
    }
    /// The customers' total demand at the accepted prices.
    pub fn demand(&self) -> &[f64] {
        &self.current.demand
    }
    /// The extra curvature of this run.
    pub(crate) fn extra(&self) -> &[f64] {
        &self.extra
    }
}
