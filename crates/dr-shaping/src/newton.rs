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
//! semidefinite. The step solves `(H + τ diag(H) + δ I) Δ = D − S` by faer's Cholesky
//! (`δ` a tiny regularisation, grown if the factorisation fails).
//!
//! Safeguard (Levenberg–Marquardt on the concave, piecewise-C² dual): a trial `p + Δ` is
//! accepted when the dual increases by at least `10⁻⁴` of the increase its quadratic model
//! predicts, `d(p + Δ) − d(p) ≥ 10⁻⁴ (gᵀΔ − ½ ΔᵀHΔ)`; the damping `τ` (0 at the start: pure
//! Newton) shrinks by 8 after a step the model predicted well (ratio > 3/4) and grows by 4
//! after a poor or rejected one (ratio < 1/4), turning the step towards the diagonally
//! scaled gradient; after a fair one (1/2 < ratio ≤ 3/4) it is relaxed by Nielsen's factor
//! `1 − (2 ratio − 1)³` (so a long run of fair steps does not stay at one damping). Where the active sets of the customers' water-fillings change between
//! `p` and `p + Δ` the quadratic model is poor and the damping takes over; near the solution
//! `τ → 0` and convergence is quadratic (finite for quadratic utilities once the active sets
//! settle). Near the solution the increase of `d` also drowns in the rounding of its `N T`
//! terms, so a trial that halves the best price residual so far is accepted as well.
//!
//! Convergence is measured by the price residual
//! `r(p) = max_t |C'(D_t(p), t) − p(t)| / P`: the announced prices are the
//! marginal costs of the demand they produce (eq. 30), relative to the day's price scale
//! `P = max_t max(|p(t)|, |C'(D_t(p), t)|)` (no floor: the same in any units) — every other
//! KKT condition holds by
//! construction of the exact responses. The run stops at `r ≤ tolerance` or, on an
//! ill-conditioned instance whose rounding floor lies above it, when no trial improves a
//! point with `r ≤ acceptable_tolerance` ([`SolverSettings`]).
//!
//! The solver is written as a kernel [`Stepper`] ([`PriceNewton`]): one step announces one
//! trial price profile and collects the customers' replies, so the same code is the fast
//! message-passing variant of the distributed scheme ([`crate::simulation`]). It keeps its
//! own evaluation limit (`max_evaluations`, the start included) and ends with the kernel's
//! [`Termination`] (`Converged`, `Diverged`, `Stalled`, `MaxRounds`).

use crate::model::ShapingModel;
use crate::response::{water_fill, CustomerPieces};
use dr_convex::parallel::chunked_reduce;
use dr_convex::{Executor, Step, Stepper, Termination};
use faer::prelude::*;
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

/// Settings of the structure-exploiting solver, with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolverSettings {
    /// Converged when `max_t |C'(D_t(p), t) − p(t)| / P ≤ tolerance`
    /// (default 1e-12): the announced prices are the marginal costs of the demand they
    /// produce (eq. 30), the only KKT condition the customers' exact responses leave open.
    pub tolerance: f64,
    /// Also converged when no trial improves a point whose residual is at most this
    /// (default 1e-9): the rounding floor of an ill-conditioned instance has been reached.
    pub acceptable_tolerance: f64,
    /// Most price evaluations (accepted and rejected trials; default 200).
    pub max_evaluations: usize,
    /// Population size from which the passes run on the rayon pool (default 8192). Results
    /// do not depend on it (fixed chunks, combined in order).
    pub parallel_threshold: usize,
}

impl Default for SolverSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-12,
            acceptable_tolerance: 1e-9,
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
    /// `max_t |C'(D_t(p), t) − p(t)| / P`.
    pub(crate) residual: f64,
    /// Each row's energy multiplier `μ_i` at `p` (the next evaluation's warm start).
    pub(crate) mu: Vec<f64>,
}

#[derive(Clone)]
struct Acc {
    demand: Vec<f64>,
    hessian: Vec<f64>,
    value: f64,
    /// The rows' multipliers, in row order (chunks appended in order).
    mu: Vec<f64>,
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
            mu: Vec::new(),
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
        self.mu.extend(other.mu);
        self
    }
}

/// One pass over the customers at `prices`: demand, `−∇²d` (when `hessian`), dual value,
/// each row's multiplier. `guess`: the rows' multipliers at nearby prices, a warm start of
/// each water-filling (the same roots to the same tolerance, fewer passes).
pub(crate) fn evaluate(
    model: &ShapingModel,
    prices: &[f64],
    extra: &[f64],
    hessian: bool,
    threshold: usize,
    guess: Option<&[f64]>,
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
            acc.mu.reserve(range.len());
            let mut q = vec![0.0; periods];
            let mut s = vec![0.0; periods];
            let mut free: Vec<usize> = Vec::with_capacity(periods);
            for i in range {
                let pieces = CustomerPieces {
                    customers,
                    i,
                    extra,
                };
                let start = guess.map_or(f64::NAN, |g| g[i]);
                let wf = water_fill(&pieces, prices, lo[i], hi[i], &mut q, &mut s, start);
                acc.mu.push(wf.mu);
                // A row of m identical customers: each has this response, so every sum over
                // customers takes it m times (exact; m = 1 leaves the bits unchanged).
                let m = customers.count(i) as f64;
                acc.value += m * wf.objective;
                for (d, &x) in acc.demand.iter_mut().zip(&q) {
                    *d += m * x;
                }
                if hessian {
                    free.clear();
                    let mut total = 0.0;
                    for (t, &k) in s.iter().enumerate() {
                        if k > 0.0 {
                            free.push(t);
                            total += k;
                            acc.hessian[t * periods + t] += m * k;
                        }
                    }
                    if wf.active && total > 0.0 && total.is_finite() {
                        let inv = m / total;
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
    let mut worst = 0.0f64;
    let mut scale = 0.0f64;
    for t in 0..periods {
        let (s, slope) = supply_cost.supply(t, prices[t]);
        supply[t] = s;
        dual += supply_cost.value(t, s) - prices[t] * s;
        if hessian {
            acc.hessian[t * periods + t] += slope;
        }
        // The announced price against the marginal cost of the demand it produced.
        let marginal = supply_cost.marginal(t, acc.demand[t]);
        let gap = (marginal - prices[t]).abs();
        worst = if gap.is_nan() || gap > worst {
            gap
        } else {
            worst
        };
        scale = scale.max(marginal.abs()).max(prices[t].abs());
    }
    // Relative to the day's price scale (no floor: the same in any units).
    let worst = if worst == 0.0 {
        0.0
    } else if scale > 0.0 {
        worst / scale
    } else {
        f64::INFINITY
    };
    if dual.is_nan() {
        dual = f64::NEG_INFINITY;
    }
    let residual = if worst.is_finite() {
        worst
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
        mu: acc.mu,
    }
}

/// Damped Newton direction `(H + τ M + δ I)⁻¹ (D − S)`, `M = diag(H)` (floored at
/// `10⁻¹² max diag H`), by faer's Cholesky; `δ` grows from `10⁻¹³ max diag H` if the
/// factorisation fails, and a diagonally scaled gradient step is the last resort.
fn newton_direction(ev: &Evaluation, tau: f64) -> Vec<f64> {
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
    let scale = |t: usize| h(t, t).max(1e-12 * dmax);
    let rhs = Mat::<f64>::from_fn(n, 1, |t, _| g[t]);
    let mut delta = 1e-13 * dmax;
    for _ in 0..8 {
        let m = Mat::<f64>::from_fn(n, n, |a, b| {
            h(a, b) + if a == b { tau * scale(a) + delta } else { 0.0 }
        });
        if let Ok(llt) = m.llt(Side::Lower) {
            let x = llt.solve(&rhs);
            let step: Vec<f64> = (0..n).map(|t| x[(t, 0)]).collect();
            if step.iter().all(|v| v.is_finite()) {
                return step;
            }
        }
        delta *= 1e3;
    }
    (0..n).map(|t| g[t] / ((1.0 + tau) * scale(t))).collect()
}

/// `gᵀΔ − ½ ΔᵀHΔ`: the increase of `d` the quadratic model predicts for the step `Δ`.
fn model_gain(ev: &Evaluation, step: &[f64]) -> f64 {
    let n = step.len();
    let mut linear = 0.0;
    let mut quad = 0.0;
    for a in 0..n {
        linear += (ev.demand[a] - ev.supply[a]) * step[a];
        quad += ev.hessian[a * n + a] * step[a] * step[a];
        for b in a + 1..n {
            quad += 2.0 * ev.hessian[a * n + b] * step[a] * step[b];
        }
    }
    linear - 0.5 * quad
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
    damping: f64,
    best_residual: f64,
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
    /// `max_t |C'(D_t(p), t) − p(t)| / P` at the announced prices: the price
    /// against the marginal cost of the demand it produced.
    pub residual: f64,
    /// Whether the trial was accepted.
    pub accepted: bool,
    /// The Levenberg–Marquardt damping `τ` of this trial's step (0: a pure Newton step).
    pub damping: f64,
}

impl<'a> PriceNewton<'a> {
    /// The stepper for the competitive equilibrium (welfare optimum, Theorem 6), started as
    /// described at [`PriceNewton::strategic`]. Errors name a settings field.
    pub fn competitive(
        model: &'a ShapingModel,
        settings: SolverSettings,
    ) -> Result<Self, crate::ShapingError> {
        settings.validate()?;
        Ok(Self::new(model, vec![0.0; model.periods()], None, settings))
    }

    /// The stepper for the Nash equilibrium through its potential (Theorem 7; quadratic
    /// supply cost, error `supply` otherwise). Both start at `p(t) = C'(Q⁰(t), t)` with
    /// `Q⁰(t) = max(Σ_i Q_i / T, 10⁻⁹)` (doubled until every demand is finite); the start
    /// is round 0.
    pub fn strategic(
        model: &'a ShapingModel,
        settings: SolverSettings,
    ) -> Result<Self, crate::ShapingError> {
        settings.validate()?;
        let extra = crate::equilibrium::potential_curvature(model).ok_or_else(|| {
            crate::ShapingError::Unsupported {
                field: "supply".into(),
                message: "the Nash potential exists only for a quadratic supply cost".into(),
            }
        })?;
        Ok(Self::new(model, extra, None, settings))
    }

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
        Self::warm(model, extra, start, None, settings)
    }

    /// [`PriceNewton::new`] whose first evaluation starts every row's water-filling from
    /// `guess` (the rows' multipliers at nearby prices, e.g. another equilibrium's: the same
    /// roots to the same tolerance, fewer passes).
    pub(crate) fn warm(
        model: &'a ShapingModel,
        extra: Vec<f64>,
        start: Option<Vec<f64>>,
        guess: Option<&[f64]>,
        settings: SolverSettings,
    ) -> Self {
        let periods = model.periods();
        let supply = model.supply();
        let mut prices = start.unwrap_or_else(|| {
            let base = mean_minimum_load(model);
            (0..periods).map(|t| supply.marginal(t, base)).collect()
        });
        let guess = guess.filter(|g| g.len() == model.len());
        let mut ev = evaluate(
            model,
            &prices,
            &extra,
            true,
            settings.parallel_threshold,
            guess,
        );
        let mut evaluations = 1;
        while ev.dual == f64::NEG_INFINITY && evaluations < 60 {
            for p in prices.iter_mut() {
                *p = if *p > 0.0 { 2.0 * *p } else { p.abs() + 1e-6 };
            }
            ev = evaluate(
                model,
                &prices,
                &extra,
                true,
                settings.parallel_threshold,
                None,
            );
            evaluations += 1;
        }
        let best_residual = ev.residual;
        let mut s = Self {
            model,
            extra,
            settings,
            current: ev,
            direction: vec![0.0; periods],
            predicted: 0.0,
            damping: 0.0,
            best_residual,
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
        if self.current.dual == f64::NEG_INFINITY {
            self.termination = Some(Termination::Diverged);
            return;
        }
        self.new_direction();
        if self.evaluations >= self.settings.max_evaluations {
            self.termination = Some(Termination::MaxRounds);
        }
    }

    fn new_direction(&mut self) {
        self.direction = newton_direction(&self.current, self.damping);
        self.predicted = model_gain(&self.current, &self.direction);
    }

    /// The next trial prices `p + Δ`.
    fn trial(&self) -> Vec<f64> {
        self.current
            .prices
            .iter()
            .zip(&self.direction)
            .map(|(p, d)| p + d)
            .collect()
    }

    /// One round: announce the trial prices, collect the replies, accept or backtrack.
    /// Returns `None` once terminated.
    fn trial_round(&mut self) -> Option<NewtonRound> {
        if self.termination.is_some() {
            return None;
        }
        let prices = self.trial();
        // Every customer's water-filling starts from its multiplier at the accepted prices.
        let ev = evaluate(
            self.model,
            &prices,
            &self.extra,
            true,
            self.settings.parallel_threshold,
            Some(&self.current.mu),
        );
        self.evaluations += 1;
        // Ratio of the actual to the predicted increase of the dual (Levenberg–Marquardt).
        let gain = ev.dual - self.current.dual;
        let ratio = gain / self.predicted;
        // Near the solution the increase of d drowns in the rounding of its N·T terms:
        // a step that halves the best price residual so far is accepted too (the best
        // residual then decreases geometrically, so this cannot cycle).
        let accepted =
            ev.dual.is_finite() && (ratio >= 1e-4 || ev.residual <= 0.5 * self.best_residual);
        let round = NewtonRound {
            round: self.evaluations - 1,
            prices: ev.prices.clone(),
            total_load: ev.demand.clone(),
            residual: ev.residual,
            accepted,
            damping: self.damping,
        };
        let floor_damping = 1e-6;
        if ev.dual.is_finite() && ratio > 0.75 {
            self.damping = if self.damping <= floor_damping {
                0.0
            } else {
                self.damping / 8.0
            };
        } else if !(ev.dual.is_finite() && ratio >= 0.25) {
            self.damping = (4.0 * self.damping).max(floor_damping * 8.0);
        } else if ratio > 0.5 {
            // A fair prediction: relax the damping smoothly (Nielsen's factor
            // 1 − (2ρ − 1)³ ∈ [1/2, 1)), so a long run of fair steps is not stuck at one τ.
            self.damping *= (1.0 - (2.0 * ratio - 1.0).powi(3)).max(0.5);
        }
        if accepted {
            self.best_residual = self.best_residual.min(ev.residual);
            self.current = ev;
            self.newton_steps += 1;
            self.after_accept();
        } else if self.current.residual <= self.settings.acceptable_tolerance {
            // No progress from a point already at the acceptable level: the rounding floor.
            self.termination = Some(Termination::Converged);
        } else {
            self.new_direction();
            let step = self.direction.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            let floor = 4.0
                * f64::EPSILON
                * self
                    .current
                    .prices
                    .iter()
                    .fold(f64::MIN_POSITIVE, |m, p| m.max(p.abs()));
            if self.damping > 1e12 || step <= floor {
                self.termination = Some(Termination::Stalled);
            } else if self.evaluations >= self.settings.max_evaluations {
                self.termination = Some(Termination::MaxRounds);
            }
        }
        Some(round)
    }

    /// Runs to termination with the kernel [`Executor`]; returns the termination reason.
    pub fn run(&mut self) -> Termination {
        Executor::new(&mut *self).run().termination
    }

    /// Why it stopped (`None` while running).
    pub fn termination(&self) -> Option<Termination> {
        self.termination
    }
    /// The accepted prices.
    pub fn prices(&self) -> &[f64] {
        &self.current.prices
    }
    /// The residual `max_t |C'(D_t(p), t) − p(t)| / P` at the accepted prices.
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
    /// Each row's energy multiplier at the accepted prices.
    pub(crate) fn multipliers(&self) -> &[f64] {
        &self.current.mu
    }
    /// The extra curvature of this run.
    pub(crate) fn extra(&self) -> &[f64] {
        &self.extra
    }
}

impl Stepper for PriceNewton<'_> {
    type Round = NewtonRound;

    /// One trial round (announce, collect the replies, accept or backtrack); the start was
    /// evaluated on construction, and a start that already ends the run (converged, or no
    /// finite demand) halts at once.
    fn step(&mut self) -> Step<NewtonRound> {
        match (self.trial_round(), self.termination) {
            (Some(r), None) => Step::Next(r),
            (Some(r), Some(t)) => Step::Last(r, t),
            (None, t) => Step::Halt(t.unwrap_or(Termination::MaxRounds)),
        }
    }
}

/// The starting aggregate load of the price Newton when no prices are given: the customers'
/// total minimum daily energy `Σ_i Q_i` (eq. 27) spread evenly over the `T` periods (at
/// least 1e-9, so that a supply curve's slope there is defined).
pub(crate) fn mean_minimum_load(model: &ShapingModel) -> f64 {
    let customers = model.customers();
    let energy = customers.population_total(customers.min_energy());
    (energy / model.periods() as f64).max(1e-9)
}
