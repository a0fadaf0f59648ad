//! The distributed schemes of chen-li-low-doyle-2010 §IV as message-passing simulations.
//!
//! # Gradient schemes ([`GradientScheme`])
//! One round `k` is one step:
//! 1. the utility collects the loads `q_i^k`, computes `Q^k(t) = Σ_i q_i^k(t)` and announces
//!    `p^k(t) = C'(Q^k(t), t)` (eq. 41) — for strategic customers also `C''(Q^k(t), t)`;
//! 2. each customer projects a gradient step onto its feasible set
//!    `S_i = {q ≥ 0, Q_i ≤ Σ_t q(t) ≤ Q̄_i}` (an exact one-multiplier water-filling,
//!    [`dr_convex::project_box_sum`]):
//!    - competitive (eq. 42): `q_i^{k+1} = [q_i^k + γ (U_i'(q_i^k(t), t) − p^k(t))]_{S_i}`,
//!    - strategic (eq. 48, with `q_i^k(t)` in the last term as in SPEC §2):
//!      `q_i^{k+1} = [q_i^k + γ (U_i'(q_i^k(t), t) − C'(Q^k(t)) − q_i^k(t) C''(Q^k(t)))]_{S_i}`.
//!
//! This is projected gradient ascent on the welfare (competitive) or on the potential
//! (strategic, quadratic supply) / projection method on the monotone VI: it converges for
//! `γ < 2/L` with `L` the Lipschitz constant of the gradient ([`critical_step`] gives `2/L`
//! from a bound on `L`); for larger steps it may oscillate (chen-li-low-doyle-2010 §V:
//! "the system may only approach to within a certain neighborhood").
//!
//! Each round records prices, total load, the fixed-point residual
//! `‖q^{k+1} − q^k‖_∞ / (γ P)` (`P = ‖p^k‖_∞`, or the largest marginal utility where every
//! price is 0: relative to the price scale; zero exactly at the equilibrium), the
//! welfare, and optionally the first customers' loads (a trace recorder,
//! [`GradientScheme::with_loads`]). [`GradientScheme`] is a kernel [`Stepper`] run by the
//! kernel [`Executor`] ([`GradientScheme::executor`]); a run stops with the kernel's
//! [`Termination`]: `Converged` (residual ≤ tolerance), `Oscillating` (the kernel's one
//! detector, [`dr_convex::OscillationDetector`], on the residual as size and the largest
//! signed total-load change as direction: over the last `2W` rounds the direction flipped
//! sign at least `W/2` times and the residual did not shrink by 5% between the two windows
//! of `W`), `Diverged` (a non-finite value, or a residual above `divergence_factor ×` the
//! first one), `MaxRounds`, or `Stopped` by an observer.
//!
//! # Fast variant ([`Scheme::Newton`])
//! The utility runs the structure-exploiting price Newton ([`crate::PriceNewton`]): each
//! round it announces a price profile, every customer replies with its *exact* response
//! (water-filling) and its response slopes (`2T + 1` scalars), and the utility takes a
//! safeguarded (Levenberg–Marquardt) Newton step on the prices. Rounds are price
//! announcements (rejected trials included). Available for competitive customers and, with
//! a quadratic supply cost, strategic ones (the potential).

use crate::equilibrium::{potential_curvature, responses, Behaviour, Loads};
use crate::error::ShapingError;
use crate::model::{ShapingModel, UtilityKind};
use crate::newton::{NewtonRound, PriceNewton, SolverSettings};
use dr_convex::parallel::CHUNK;
use dr_convex::{
    callback, project_box_sum, Bound, Executor, Run, Step, Stepper, Swing, Termination, TraceMode,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

/// Which distributed scheme to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// The papers' projected-gradient scheme (eqs. 41–42 or 48) with a fixed step `γ`.
    Gradient,
    /// The fast variant: price Newton with exact customer responses.
    Newton,
}

/// Settings of a distributed run, with defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulationSettings {
    /// Scheme (default gradient).
    pub scheme: Scheme,
    /// Customers' behaviour (default competitive).
    pub behaviour: Behaviour,
    /// Step `γ > 0` of the gradient scheme; `None` (default) uses `0.5 ·`
    /// [`critical_step`] (i.e. `1/L`), or `10⁻³` when no bound is available.
    pub step: Option<f64>,
    /// Most rounds (default 20 000).
    pub max_rounds: usize,
    /// Converged when the residual is at most this (default 1e-9).
    pub tolerance: f64,
    /// Window `W` of the oscillation test (default 32, at least 2).
    pub oscillation_window: usize,
    /// Diverged when the residual exceeds this multiple of the first round's (default 1e6).
    pub divergence_factor: f64,
    /// Loads of the first `record_loads` customers in every round of the trace that
    /// [`simulate`] collects (default 0): it attaches the trace recorder
    /// [`GradientScheme::with_loads`]; the stepper itself has no trace switch. Customers,
    /// not rows: a row standing for `c` identical customers ([`crate::Customers::set_count`])
    /// counts `c`, and is recorded once (one schedule, the same for each of them) when any
    /// of its customers is among the first `record_loads`.
    pub record_loads: usize,
}

impl Default for SimulationSettings {
    fn default() -> Self {
        Self {
            scheme: Scheme::Gradient,
            behaviour: Behaviour::Competitive,
            step: None,
            max_rounds: 20_000,
            tolerance: 1e-9,
            oscillation_window: 32,
            divergence_factor: 1e6,
            record_loads: 0,
        }
    }
}

impl SimulationSettings {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<(), ShapingError> {
        if let Some(s) = self.step {
            dr_convex::check_positive(|| "step".into(), s)?;
        }
        dr_convex::check_positive(|| "tolerance".into(), self.tolerance)?;
        dr_convex::check_positive(|| "divergence_factor".into(), self.divergence_factor)?;
        if self.max_rounds == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "max_rounds".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        if self.oscillation_window < 2 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "oscillation_window".into(),
                value: self.oscillation_window as f64,
                requirement: "must be >= 2".into(),
            }));
        }
        Ok(())
    }
}

/// One round of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Round index `k` (0 = the start).
    pub round: usize,
    /// Announced prices `p^k(t)`.
    pub prices: Vec<f64>,
    /// Total load `Q^k(t)` the prices were computed from (gradient) or the customers'
    /// total reply to them (Newton).
    pub total_load: Vec<f64>,
    /// Gradient: the fixed-point residual (module docs). Newton: the price residual
    /// `max_t |C'(D_t(p), t) − p(t)| / P`, `P` the day's price scale (`crate::newton`).
    pub residual: f64,
    /// Social welfare `Σ U − Σ C` at the round's loads (gradient scheme; `None` for Newton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welfare: Option<f64>,
    /// Newton: whether the announced prices were accepted as the next iterate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
    /// The first customers' loads, one schedule per row (see
    /// [`SimulationSettings::record_loads`]: a row of `c` identical customers counts `c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loads: Option<Vec<Vec<f64>>>,
}

/// The outcome of a distributed run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationRun {
    /// The scheme.
    pub scheme: Scheme,
    /// Price-taking or strategic customers.
    pub behaviour: Behaviour,
    /// The step `γ` (gradient scheme).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// `2/L` from the bound on the gradient's Lipschitz constant, where available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_step: Option<f64>,
    /// Why the run stopped.
    pub termination: Termination,
    /// Rounds executed.
    pub rounds: usize,
    /// The last announced prices.
    pub prices: Vec<f64>,
    /// The last loads.
    pub loads: Loads,
    /// `Σ_i q_i(t)` of the last loads.
    pub total_load: Vec<f64>,
    /// The last residual.
    pub residual: f64,
    /// Scalar messages exchanged.
    pub messages: usize,
    /// Per-round trace.
    pub trace: Vec<Round>,
}

/// `2/L` for the gradient scheme, with `L ≥` the Lipschitz constant of the gradient:
/// competitive `L = max_t (max_i U_i''-bound(t) + N C''(t))`, strategic
/// `L = max_t (max_i U_i''-bound(t) + (N + 1) C''(t))`, where the utility-curvature bound is
/// `κ_i(t)` (quadratic), `w_i(t)/s_i(t)²` (log) or `α(1 − α) w_i(t) s_i(t)^{α−2}` (power;
/// both their values at `q = 0`). For a polynomial or piecewise-quadratic supply cost
/// (competitive customers) `C''(·, t)` is nondecreasing on `Q ≥ 0`, and when every daily
/// maximum `Q̄_i` is finite the projected iterates keep `Q(t) ≤ Σ_i Q̄_i`, so
/// `C''(Σ_i Q̄_i, t)` stands for `C''(t)`. `None` when a utility or the supply cost is
/// user-supplied, or for those costs with strategic customers (the gradient of eq. 48 also
/// carries `q_i C'''`) or an unbounded `Q̄_i` (no bound is known). Projected gradient
/// converges for every `γ < 2/L` (a sufficient condition).
pub fn critical_step(model: &ShapingModel, behaviour: Behaviour) -> Option<f64> {
    let supply = model.supply();
    let c: Vec<f64> = match (supply.as_quadratic(), supply.form(), behaviour) {
        (Some((c, _)), _, _) => c.to_vec(),
        (
            None,
            crate::SupplyForm::Polynomial | crate::SupplyForm::PiecewiseQuadratic,
            Behaviour::Competitive,
        ) => {
            let customers = model.customers();
            let reach = customers.population_total(customers.max_energy());
            if !reach.is_finite() {
                return None;
            }
            (0..model.periods())
                .map(|t| supply.curvature(t, reach))
                .collect()
        }
        _ => return None,
    };
    let customers = model.customers();
    let n = customers.len();
    let periods = model.periods();
    let mut worst = 0.0f64;
    let mut kmax = vec![0.0f64; periods];
    for i in 0..n {
        let kind = customers.kind(i)?;
        // None for a custom utility: no closed-form curvature bound.
        let (a, b) = customers.profiles(i)?;
        match kind {
            UtilityKind::Quadratic => {
                for (m, k) in kmax.iter_mut().zip(b.iter()) {
                    *m = m.max(k);
                }
            }
            UtilityKind::Log => {
                for (t, m) in kmax.iter_mut().enumerate() {
                    let (weight, shift) = (a.at(t), b.at(t));
                    *m = m.max(weight / (shift * shift));
                }
            }
            UtilityKind::Power => {
                let alpha = customers.alpha(i);
                // −U'' = α (1 − α) w (s + q)^{α−2} is largest at q = 0.
                for (t, m) in kmax.iter_mut().enumerate() {
                    let k = alpha * (1.0 - alpha) * a.at(t) * b.at(t).powf(alpha - 2.0);
                    *m = m.max(k);
                }
            }
            UtilityKind::Custom => return None,
        }
    }
    // N counts every customer of a grouped row (the coupling is through Q = Σ_i q_i).
    let population = model.population() as f64;
    let coupling = match behaviour {
        Behaviour::Competitive => population,
        Behaviour::Strategic => population + 1.0,
    };
    for t in 0..periods {
        worst = worst.max(kmax[t] + coupling * c[t]);
    }
    (worst > 0.0).then(|| 2.0 / worst)
}

/// The papers' projected-gradient scheme as a stepper (module docs).
#[derive(Debug, Clone)]
pub struct GradientScheme<'a> {
    model: &'a ShapingModel,
    behaviour: Behaviour,
    step: f64,
    settings: SimulationSettings,
    loads: Loads,
    next: Vec<f64>,
    round: usize,
    first_residual: Option<f64>,
    /// The largest signed total-load change of the last round (0 in round 0).
    last_change: f64,
    /// Whether the last round moved the loads (then `next` holds the round's loads).
    advanced: bool,
    last_total: Option<Vec<f64>>,
    last_prices: Vec<f64>,
    last_residual: f64,
}

impl<'a> GradientScheme<'a> {
    /// Starts from `q_i^0 = [0]_{S_i}` (the load `Q_i / T` in every period) with step `γ`.
    pub fn new(
        model: &'a ShapingModel,
        behaviour: Behaviour,
        step: f64,
        settings: &SimulationSettings,
    ) -> Result<Self, ShapingError> {
        let periods = model.periods();
        let start: Vec<f64> = model
            .customers()
            .min_energy()
            .iter()
            .flat_map(|&l| std::iter::repeat_n(l / periods as f64, periods))
            .collect();
        Self::with_start(
            model,
            behaviour,
            step,
            Loads::new(periods, start)?,
            settings,
        )
    }

    /// Starts from the given loads (projected onto `S_i` by the first round). Errors name
    /// `step`, `start` (length) or a settings field.
    pub fn with_start(
        model: &'a ShapingModel,
        behaviour: Behaviour,
        step: f64,
        mut start: Loads,
        settings: &SimulationSettings,
    ) -> Result<Self, ShapingError> {
        settings.validate()?;
        dr_convex::check_positive(|| "step".into(), step)?;
        if start.len() != model.len() || start.periods() != model.periods() {
            return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                field: "start".into(),
                expected: model.len() * model.periods(),
                got: start.as_slice().len(),
            }));
        }
        for (k, &q) in start.as_slice().iter().enumerate() {
            dr_convex::check_finite(|| format!("start[{k}]"), q)?;
        }
        // One row per row of the model: a grouped row's customers move together (they
        // start equal and take the same steps), so the start carries the model's counts.
        start.set_counts(model.customers().counts())?;
        let n = start.as_slice().len();
        Ok(Self {
            model,
            behaviour,
            step,
            settings: settings.clone(),
            loads: start,
            next: vec![0.0; n],
            round: 0,
            first_residual: None,
            last_change: 0.0,
            advanced: false,
            last_total: None,
            last_prices: vec![0.0; model.periods()],
            last_residual: f64::INFINITY,
        })
    }

    /// One round (module docs): prices from the current loads, every customer's projected
    /// gradient step; ends the run as `Diverged` (non-finite value or residual above
    /// `divergence_factor ×` the first) or `Converged` (residual ≤ tolerance).
    fn play(&mut self) -> Step<Round> {
        let model = self.model;
        let periods = model.periods();
        let customers = model.customers();
        let supply = model.supply();
        // 1. The utility aggregates and announces.
        let total = self.loads.total();
        let prices: Vec<f64> = (0..periods).map(|t| supply.marginal(t, total[t])).collect();
        let curvature: Vec<f64> = (0..periods)
            .map(|t| match self.behaviour {
                Behaviour::Competitive => 0.0,
                Behaviour::Strategic => supply.curvature(t, total[t]),
            })
            .collect();
        let welfare = {
            let mut u = 0.0;
            for i in 0..model.len() {
                let m = customers.count(i) as f64;
                for (t, &q) in self.loads.customer(i).iter().enumerate() {
                    u -= m * customers.piece(i, t).value(q, 0.0);
                }
            }
            u - (0..periods).map(|t| supply.value(t, total[t])).sum::<f64>()
        };
        // 2. Every customer projects its gradient step (parallel, independent).
        let gamma = self.step;
        let (lo, hi) = (customers.min_energy(), customers.max_energy());
        let current = self.loads.as_slice();
        // Returns the largest load change and the largest marginal utility seen (the price
        // scale of the residual when every price is 0).
        let work = |c: usize, out: &mut [f64]| -> (f64, f64) {
            let mut v = vec![0.0; periods];
            let mut change = 0.0f64;
            let mut marginal = 0.0f64;
            for (k, o) in out.chunks_mut(periods).enumerate() {
                let i = c * CHUNK + k;
                let q = &current[i * periods..(i + 1) * periods];
                for t in 0..periods {
                    let u = -customers.piece(i, t).derivative(q[t], 0.0);
                    marginal = marginal.max(u.abs());
                    let g = u - prices[t] - q[t] * curvature[t];
                    v[t] = q[t] + gamma * g;
                }
                if v.iter().any(|x| !x.is_finite()) {
                    return (f64::INFINITY, marginal);
                }
                match project_box_sum(
                    &v,
                    Bound::Constant(0.0),
                    Bound::Constant(f64::INFINITY),
                    lo[i],
                    hi[i],
                ) {
                    Ok(p) => {
                        for t in 0..periods {
                            o[t] = p.x[t];
                            change = change.max((p.x[t] - q[t]).abs());
                        }
                    }
                    Err(_) => return (f64::INFINITY, marginal),
                }
            }
            (change, marginal)
        };
        let changes: Vec<(f64, f64)> = if model.len() >= 4096 {
            self.next
                .par_chunks_mut(CHUNK * periods)
                .enumerate()
                .map(|(c, out)| work(c, out))
                .collect()
        } else {
            self.next
                .chunks_mut(CHUNK * periods)
                .enumerate()
                .map(|(c, out)| work(c, out))
                .collect()
        };
        let change = changes.iter().fold(0.0f64, |m, c| m.max(c.0));
        // Relative to the price scale: the largest price or, where every price is 0, the
        // largest marginal utility (no absolute floor; the same in any units).
        let pscale = prices.iter().fold(0.0f64, |m, p| m.max(p.abs()));
        let pscale = if pscale > 0.0 {
            pscale
        } else {
            changes.iter().fold(0.0f64, |m, c| m.max(c.1))
        };
        let pscale = if pscale > 0.0 {
            pscale
        } else {
            f64::MIN_POSITIVE
        };
        let residual = change / (gamma * pscale);
        let round = Round {
            round: self.round,
            prices: prices.clone(),
            total_load: total.clone(),
            residual,
            welfare: Some(welfare),
            accepted: None,
            loads: None,
        };
        self.last_prices = prices;
        self.last_residual = residual;
        self.round += 1;
        self.advanced = false;
        // Termination tests.
        if !residual.is_finite() || !welfare.is_finite() {
            return Step::Last(round, Termination::Diverged);
        }
        std::mem::swap(self.loads.data_mut(), &mut self.next);
        self.advanced = true;
        // The largest total-load change (signed): the direction of the oscillation test.
        self.last_change = 0.0;
        if let Some(prev) = &self.last_total {
            for (a, b) in total.iter().zip(prev) {
                let d = a - b;
                if d.abs() > self.last_change.abs() {
                    self.last_change = d;
                }
            }
        }
        self.last_total = Some(total);
        let first = *self.first_residual.get_or_insert(residual.max(1e-300));
        if residual <= self.settings.tolerance {
            Step::Last(round, Termination::Converged)
        } else if residual > self.settings.divergence_factor * first {
            Step::Last(round, Termination::Diverged)
        } else {
            Step::Next(round)
        }
    }

    /// The loads `q^k` of the round just played (before its update).
    pub fn round_loads(&self) -> &[f64] {
        if self.advanced {
            &self.next
        } else {
            self.loads.as_slice()
        }
    }

    /// `round` completed with the loads `q^k` of its first `first` customers: a trace
    /// recorder for [`Executor::trace_with`]. Customers are counted, not rows: the rows
    /// recorded are those whose first customer is among the first `first` (a row standing
    /// for `c` identical customers counts `c`), one schedule per row.
    pub fn with_loads(&self, round: &Round, first: usize) -> Round {
        let periods = self.model.periods();
        let q = self.round_loads();
        let rows = rows_of_first_customers(self.model.customers().counts(), first);
        Round {
            loads: Some(
                (0..rows)
                    .map(|i| q[i * periods..(i + 1) * periods].to_vec())
                    .collect(),
            ),
            ..round.clone()
        }
    }

    /// The kernel executor for this scheme: the settings' round limit and oscillation
    /// window and a trace of every round (with the first `record_loads` customers' loads).
    /// Add observers before [`Executor::run`]; convert its [`Run`] with
    /// `SimulationRun::from`.
    pub fn executor<'o>(self) -> Executor<'o, Self> {
        let (max_rounds, window, first) = (
            self.settings.max_rounds,
            self.settings.oscillation_window,
            self.settings.record_loads,
        );
        let exec = Executor::new(self)
            .max_rounds(max_rounds)
            .oscillation(window);
        if first > 0 {
            exec.trace_with(TraceMode::Always, move |s, r| s.with_loads(r, first))
        } else {
            exec.trace(TraceMode::Always)
        }
    }

    /// Runs to termination with [`GradientScheme::executor`] and returns the run.
    pub fn run(self) -> SimulationRun {
        self.executor().run().into()
    }

    /// The current loads.
    pub fn loads(&self) -> &Loads {
        &self.loads
    }
}

/// The number of leading rows that hold the first `customers` customers, rows standing
/// for `counts[i]` customers each: the rows whose first customer index is below `customers`.
fn rows_of_first_customers(counts: &[usize], customers: usize) -> usize {
    let mut first = 0usize;
    let mut rows = 0;
    for &c in counts {
        if first >= customers {
            break;
        }
        first = first.saturating_add(c);
        rows += 1;
    }
    rows
}

impl Stepper for GradientScheme<'_> {
    type Round = Round;

    fn step(&mut self) -> Step<Round> {
        self.play()
    }

    /// Size: the fixed-point residual; direction: the largest signed change of the total
    /// load from the last round (0 in round 0).
    fn swing(&self, round: &Round) -> Option<Swing> {
        Some(Swing {
            size: round.residual,
            direction: self.last_change,
        })
    }
}

impl From<Run<GradientScheme<'_>>> for SimulationRun {
    /// The outcome of an executor run of the gradient scheme (rounds counted by the
    /// stepper, so rounds played by hand before the run count too).
    fn from(run: Run<GradientScheme<'_>>) -> Self {
        let g = run.stepper;
        let messages_per_round = match g.behaviour {
            Behaviour::Competitive => 2,
            Behaviour::Strategic => 3,
        } * g.model.population()
            * g.model.periods();
        let total_load = g.loads.total();
        SimulationRun {
            scheme: Scheme::Gradient,
            behaviour: g.behaviour,
            step: Some(g.step),
            critical_step: critical_step(g.model, g.behaviour),
            termination: run.termination,
            rounds: g.round,
            prices: g.last_prices,
            loads: g.loads,
            total_load,
            residual: g.last_residual,
            messages: g.round * messages_per_round,
            trace: run.trace.unwrap_or_default(),
        }
    }
}

/// Runs a distributed scheme (gradient or fast Newton) on `model`. Errors name a settings
/// field; the Newton scheme with strategic customers needs a quadratic supply cost (error
/// `supply`).
///
/// ```
/// use dr_shaping::{competitive_equilibrium, critical_step, simulate, Behaviour, Scheme,
///                  ShapingModel, SimulationSettings, Termination};
/// // Three identical customers over two periods, no binding energy bounds.
/// let model = ShapingModel::quadratic(2, vec![3.0; 6], vec![1.0; 6], vec![0.0; 3],
///                                     vec![f64::INFINITY; 3], vec![0.5; 2], vec![0.1; 2])?;
/// let exact = competitive_equilibrium(&model)?;
/// let bound = critical_step(&model, Behaviour::Competitive).unwrap(); // 2 / (κ + N c)
/// // Below the bound the papers' scheme (eqs. 41–42) converges to the equilibrium ...
/// let run = simulate(&model, &SimulationSettings { step: Some(0.9 * bound), ..Default::default() })?;
/// assert_eq!(run.termination, Termination::Converged);
/// assert!((run.prices[0] - exact.prices[0]).abs() < 1e-8);
/// // ... far above it the prices oscillate, and the run says so.
/// let run = simulate(&model, &SimulationSettings { step: Some(3.0 * bound), ..Default::default() })?;
/// assert_eq!(run.termination, Termination::Oscillating);
/// // The fast variant needs a handful of rounds.
/// let run = simulate(&model, &SimulationSettings { scheme: Scheme::Newton, ..Default::default() })?;
/// assert!(run.termination == Termination::Converged && run.rounds < 10);
/// # Ok::<(), dr_shaping::ShapingError>(())
/// ```
pub fn simulate(
    model: &ShapingModel,
    settings: &SimulationSettings,
) -> Result<SimulationRun, ShapingError> {
    simulate_observed(model, settings, &mut |_: &Round| ControlFlow::Continue(()))
}

/// [`simulate`] with `observe` called on every round the run's trace records, as it is
/// played (for [`Scheme::Newton`] round 0, the start the price Newton evaluates on
/// construction, included): the observer of the kernel executor (`dr_convex::callback`).
/// `ControlFlow::Break(())` stops the run ([`Termination::Stopped`]); otherwise the run is
/// the one [`simulate`] returns.
///
/// ```
/// use dr_shaping::{simulate_observed, Round, Scheme, ShapingModel, SimulationSettings};
/// use std::ops::ControlFlow;
/// let model = ShapingModel::quadratic(2, vec![3.0; 6], vec![1.0; 6], vec![0.0; 3],
///                                     vec![f64::INFINITY; 3], vec![0.5; 2], vec![0.1; 2])?;
/// let settings = SimulationSettings { scheme: Scheme::Newton, ..Default::default() };
/// let mut residuals = Vec::new();
/// let run = simulate_observed(&model, &settings, &mut |r: &Round| {
///     residuals.push(r.residual);
///     ControlFlow::Continue(())
/// })?;
/// assert_eq!(residuals.len(), run.trace.len());
/// assert_eq!(residuals.last(), Some(&run.residual));
/// # Ok::<(), dr_shaping::ShapingError>(())
/// ```
pub fn simulate_observed(
    model: &ShapingModel,
    settings: &SimulationSettings,
    observe: &mut dyn FnMut(&Round) -> ControlFlow<()>,
) -> Result<SimulationRun, ShapingError> {
    settings.validate()?;
    match settings.scheme {
        Scheme::Gradient => {
            let step = settings
                .step
                .or_else(|| critical_step(model, settings.behaviour).map(|s| 0.5 * s))
                .unwrap_or(1e-3);
            let scheme = GradientScheme::new(model, settings.behaviour, step, settings)?;
            let mut watch = callback(|r: &Round| observe(r));
            Ok(scheme.executor().observe(&mut watch).run().into())
        }
        Scheme::Newton => {
            let extra = match settings.behaviour {
                Behaviour::Competitive => vec![0.0; model.periods()],
                Behaviour::Strategic => {
                    potential_curvature(model).ok_or_else(|| ShapingError::Unsupported {
                        field: "supply".into(),
                        message: "the Newton scheme for strategic customers needs a \
                                  quadratic supply cost (the potential)"
                            .into(),
                    })?
                }
            };
            let solver = SolverSettings {
                tolerance: settings.tolerance,
                acceptable_tolerance: settings.tolerance,
                max_evaluations: settings.max_rounds,
                ..SolverSettings::default()
            };
            let mut newton = PriceNewton::new(model, extra, None, solver);
            // Round 0 is the start the stepper evaluated on construction.
            let mut trace = vec![Round {
                round: 0,
                prices: newton.prices().to_vec(),
                total_load: newton.demand().to_vec(),
                residual: newton.residual(),
                welfare: None,
                accepted: Some(true),
                loads: None,
            }];
            let termination = if observe(&trace[0]).is_break() {
                Termination::Stopped
            } else {
                // The stepper owns its evaluation limit (max_evaluations); the executor
                // adds the trace and the observer.
                let as_round = |r: &NewtonRound| Round {
                    round: r.round,
                    prices: r.prices.clone(),
                    total_load: r.total_load.clone(),
                    residual: r.residual,
                    welfare: None,
                    accepted: Some(r.accepted),
                    loads: None,
                };
                let mut watch = callback(|r: &NewtonRound| observe(&as_round(r)));
                let run = Executor::new(&mut newton)
                    .trace(TraceMode::Always)
                    .observe(&mut watch)
                    .run();
                trace.extend(run.trace.unwrap_or_default().iter().map(as_round));
                run.termination
            };
            let prices = newton.prices().to_vec();
            let (loads, _) = responses(model, &prices, newton.extra(), 8192);
            let rounds = newton.evaluations();
            let total_load = loads.total();
            Ok(SimulationRun {
                scheme: Scheme::Newton,
                behaviour: settings.behaviour,
                step: None,
                critical_step: None,
                termination,
                rounds,
                prices,
                loads,
                total_load,
                residual: newton.residual(),
                messages: rounds * model.len() * (3 * model.periods() + 1),
                trace,
            })
        }
    }
}
