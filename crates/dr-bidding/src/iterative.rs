//! Distributed (iterative) supply-function bidding as a message-passing simulation
//! (li-chen-dahleh-2015 §III-B eqs. 11–12 and §IV-B eqs. 26–27; chen-li-low-doyle-2010
//! §III-B.2).
//!
//! # Method
//! One round `k` is one step of [`BiddingSimulation`]:
//! 1. the utility announces the price `p(k)` (one scalar to each customer);
//! 2. each customer replies with one scalar, its bid
//!    `b_i(k) = [(C_i')^{-1}(p(k)) / p(k)]^+` when price-taking (eq. 11) or
//!    `b_i(k) = [(D_i')^{-1}(p(k)) / p(k)]^+` when strategic (eq. 26), its load capped at its
//!    capacity (and, strategic, below `d/2`);
//! 3. the utility computes the mismatch (excess supply) `Σ_i b_i(k) p(k) − d` and, unless the
//!    run stops, the next price with a [`PriceRule`]: the papers' `FixedStep`
//!    `p(k+1) = [p(k) − γ (Σ_i b_i(k) p(k) − d)]^+` (eqs. 12, 27) — the dual gradient method
//!    — or the fast rule [`FittedMarketRule`], which reads the same bids (every rule is shown
//!    them through `PriceRule::observe_replies` before the update).
//!
//! [`BiddingSimulation`] is a kernel [`Stepper`]: its [`Executor`]
//! ([`BiddingSimulation::executor`]) adds the round limit and the kernel's one oscillation
//! detector (on the signed mismatch); a trace of [`Round`]s (price, total bid, supply,
//! mismatch and, when a trace recorder asks for them, the bids) and progress reports are
//! observers. A run stops with an explicit [`Termination`] (the kernel's).
//!
//! At a price `p ≤ 0` (the projection `[·]^+` can reach 0) a bid `q_i(p)/p` is undefined; a
//! customer then replies with its limit bid `lim_{p→0⁺} q_i(p)/p` (`1/C_i''(0)` if
//! `C_i'(0) = 0`, else 0), evaluated at `p = 10⁻³⁰⁰`.
//!
//! ## Requirements on the problem
//! Strategic bidding needs at least three customers able to shed (Corollary 2).
//!
//! ## Stability of the fixed step (*derived*)
//! Near the equilibrium the mismatch obeys `e(k+1) = (1 − γ S'(p)) e(k)` with `S(p)` the
//! total supply at price `p`, so the fixed step converges locally iff `γ < 2/S'(p)`
//! ([`critical_step`]); above it the price oscillates around the equilibrium (§V of
//! chen-li-low-doyle-2010).

use crate::equilibrium::{competitive_equilibrium, nash_equilibrium, nash_pieces};
use crate::error::BiddingError;
use crate::fitted::FittedMarketRule;
use crate::market::{Costs, Market};
use dr_convex::parallel::{chunked_reduce, deterministic_sum, fill, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{nash_quadratic_response, nash_quadratic_slope};
use dr_convex::{
    ConvexScalar, Executor, FixedStep, NashTransform, PriceRule, Run, Step, Stepper, Swing,
    Termination, TraceMode,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How customers bid in the iterative scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Price-taking customers, eq. 11 (converges to the competitive equilibrium).
    Competitive,
    /// Price-anticipating customers, eq. 26 (converges to the Nash equilibrium).
    Strategic,
}

/// Settings of an iterative run, with defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulationSettings {
    /// The utility's first price `p(0) ≥ 0` (default 1).
    pub start_price: f64,
    /// Most rounds (default 10 000).
    pub max_rounds: usize,
    /// Converged when `|Σ b_i p − d| / d ≤ tolerance` (default 1e-9).
    pub tolerance: f64,
    /// Stalled when the rule moves the price by at most `price_tolerance · p` while the
    /// mismatch is above `tolerance` (default 1e-15: the price stopped moving).
    pub price_tolerance: f64,
    /// Window `W` of the kernel's oscillation test ([`dr_convex::OscillationDetector`]) on
    /// the signed mismatch: over the last `2W` rounds it changed sign at least `W/2` times
    /// and its largest size in the last `W` rounds is at least 95% of that in the `W`
    /// before (default 32).
    pub oscillation_window: usize,
}

impl Default for SimulationSettings {
    fn default() -> Self {
        Self {
            start_price: 1.0,
            max_rounds: 10_000,
            tolerance: 1e-9,
            price_tolerance: 1e-15,
            oscillation_window: 32,
        }
    }
}

impl SimulationSettings {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<(), BiddingError> {
        dr_convex::check_nonnegative(|| "start_price".into(), self.start_price)?;
        dr_convex::check_positive(|| "tolerance".into(), self.tolerance)?;
        dr_convex::check_nonnegative(|| "price_tolerance".into(), self.price_tolerance)?;
        if self.max_rounds == 0 {
            return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                field: "max_rounds".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        if self.oscillation_window < 2 {
            return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                field: "oscillation_window".into(),
                value: self.oscillation_window as f64,
                requirement: "must be >= 2".into(),
            }));
        }
        Ok(())
    }
}

/// One round of the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Round index `k` (0 = the start price).
    pub round: usize,
    /// Announced price `p(k)`.
    pub price: f64,
    /// `Σ_i b_i(k)`.
    pub total_bid: f64,
    /// Supply at the announced price, `Σ_i b_i(k) p(k)`.
    pub supply: f64,
    /// Excess supply `Σ_i b_i(k) p(k) − d` (the term of eqs. 12 / 27).
    pub mismatch: f64,
    /// `|mismatch| / d`.
    pub relative_mismatch: f64,
    /// The bids of the round, when a trace recorder added them
    /// ([`BiddingSimulation::with_bids`]); `None` in the stepper's own record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bids: Option<Vec<f64>>,
}

/// The outcome of an iterative run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationRun {
    /// Price-taking or strategic customers.
    pub behaviour: Behaviour,
    /// The price rule's name (`"paper"`, `"fast"`).
    pub rule: String,
    /// Why the run stopped ([`Termination::Converged`]: relative mismatch at most the
    /// tolerance; `Oscillating`: the kernel's detector; `Diverged`: a non-finite price or
    /// mismatch; `Stalled`: the rule stopped moving the price; `MaxRounds`; `Stopped` by an
    /// observer).
    pub termination: Termination,
    /// Rounds executed (bids collected).
    pub rounds: usize,
    /// The last announced price.
    pub price: f64,
    /// The last bids.
    pub bids: Vec<f64>,
    /// The last relative mismatch.
    pub relative_mismatch: f64,
    /// Scalar messages exchanged: one price to and one bid from each customer per round.
    pub messages: usize,
    /// The trace the executor collected (every round for [`BiddingSimulation::run`];
    /// empty when none was collected).
    pub trace: Vec<Round>,
}

impl<R: PriceRule> From<Run<BiddingSimulation<'_, R>>> for SimulationRun {
    /// The outcome of an executor run of a [`BiddingSimulation`].
    fn from(run: Run<BiddingSimulation<'_, R>>) -> Self {
        let sim = run.stepper;
        let rounds = run.rounds;
        SimulationRun {
            behaviour: sim.behaviour,
            rule: sim.rule.name().to_string(),
            termination: run.termination,
            rounds,
            price: run.last.as_ref().map_or(sim.price, |r| r.price),
            relative_mismatch: run.last.as_ref().map_or(f64::NAN, |r| r.relative_mismatch),
            messages: 2 * rounds * sim.market.len(),
            bids: sim.bids,
            trace: run.trace.unwrap_or_default(),
        }
    }
}

impl SimulationRun {
    /// The first round whose announced price is within `relative_tolerance` of `reference`
    /// (e.g. the exact equilibrium price), if any.
    pub fn rounds_to_price(&self, reference: f64, relative_tolerance: f64) -> Option<usize> {
        self.trace
            .iter()
            .find(|r| (r.price - reference).abs() <= relative_tolerance * reference.abs())
            .map(|r| r.round)
    }
}

/// A customer's reply `b_i = q_i(p)/p` (eq. 11 or 26) and the load behind it.
fn reply(
    market: &Market,
    behaviour: Behaviour,
    nash: Option<&[NashTransform<Arc<dyn ConvexScalar>>]>,
    i: usize,
    price: f64,
) -> f64 {
    let p = price.max(1e-300);
    let d = market.deficit();
    let cap = market.capacity(i);
    let q = match (market.costs(), behaviour, nash) {
        (Costs::Quadratic { linear, quadratic }, Behaviour::Competitive, _) => {
            ((p - linear[i]) / (2.0 * quadratic[i])).clamp(0.0, cap)
        }
        (Costs::Quadratic { linear, quadratic }, Behaviour::Strategic, _) => {
            nash_quadratic_response(linear[i], quadratic[i], d, p).min(cap)
        }
        (Costs::General(c), Behaviour::Competitive, _) => c[i].inverse_derivative(p, 0.0, cap),
        (Costs::General(_), Behaviour::Strategic, Some(pieces)) => {
            pieces[i].inverse_derivative(p, 0.0, cap.min(0.5 * d))
        }
        (Costs::General(c), Behaviour::Strategic, None) => NashTransform {
            cost: Arc::clone(&c[i]),
            deficit: d,
        }
        .inverse_derivative(p, 0.0, cap.min(0.5 * d)),
    };
    q / p
}

/// The iterative bidding scheme as a kernel [`Stepper`]: one [`Stepper::step`] is one
/// round (see the module docs).
///
/// ```
/// use dr_bidding::{Behaviour, BiddingSimulation, Market, SimulationSettings, Termination};
/// use dr_convex::FixedStep;
/// let m = Market::drawn(30, [1.0, 2.0], [0.5, 4.5], 7, 10.0)?;
/// let sim = BiddingSimulation::new(&m, Behaviour::Competitive, FixedStep::new(0.1),
///                                  SimulationSettings::default())?;
/// let run = sim.run();
/// assert_eq!(run.termination, Termination::Converged);
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
pub struct BiddingSimulation<'m, R> {
    market: &'m Market,
    behaviour: Behaviour,
    rule: R,
    settings: SimulationSettings,
    nash: Option<Vec<NashTransform<Arc<dyn ConvexScalar>>>>,
    price: f64,
    bids: Vec<f64>,
    round: usize,
}

impl<'m, R: PriceRule> BiddingSimulation<'m, R> {
    /// A run on `market` with customers of the given `behaviour` and the utility's price
    /// `rule` (reset here). Errors: invalid settings (named), strategic bidding with fewer
    /// than three customers able to shed (Corollary 2).
    pub fn new(
        market: &'m Market,
        behaviour: Behaviour,
        mut rule: R,
        settings: SimulationSettings,
    ) -> Result<Self, BiddingError> {
        settings.validate()?;
        if behaviour == Behaviour::Strategic {
            let suppliers = market.suppliers();
            if suppliers < 3 {
                return Err(BiddingError::NashNeedsThreeSuppliers {
                    field: "customers".into(),
                    suppliers,
                });
            }
        }
        rule.reset();
        let nash = match (market.costs(), behaviour) {
            (Costs::General(c), Behaviour::Strategic) => Some(nash_pieces(c, market.deficit())),
            _ => None,
        };
        Ok(Self {
            market,
            behaviour,
            rule,
            price: settings.start_price,
            settings,
            nash,
            bids: vec![0.0; market.len()],
            round: 0,
        })
    }

    /// The price the utility announces next.
    pub fn price(&self) -> f64 {
        self.price
    }

    /// The bids of the last round.
    pub fn bids(&self) -> &[f64] {
        &self.bids
    }

    /// The settings of the run.
    pub fn settings(&self) -> &SimulationSettings {
        &self.settings
    }

    /// `round` completed with the first `first` customers' bids of the round just played
    /// (all of them when `first ≥ N`): a trace recorder for
    /// [`dr_convex::Executor::trace_with`], e.g.
    /// `executor.trace_with(TraceMode::Always, |sim, r| sim.with_bids(r, 5))`.
    pub fn with_bids(&self, round: &Round, first: usize) -> Round {
        Round {
            bids: Some(self.bids[..first.min(self.bids.len())].to_vec()),
            ..round.clone()
        }
    }

    /// The kernel executor for this run: the settings' round limit and oscillation window,
    /// and a trace of every round. Add observers (progress, callbacks, a recorder with
    /// bids) before [`Executor::run`]; convert its [`Run`] with `SimulationRun::from`.
    pub fn executor<'o>(self) -> Executor<'o, Self> {
        let (max_rounds, window) = (self.settings.max_rounds, self.settings.oscillation_window);
        Executor::new(self)
            .max_rounds(max_rounds)
            .oscillation(window)
            .trace(TraceMode::Always)
    }

    /// Runs to termination with [`BiddingSimulation::executor`] and returns the outcome.
    pub fn run(self) -> SimulationRun {
        self.executor().run().into()
    }
}

impl<R: PriceRule> Stepper for BiddingSimulation<'_, R> {
    type Round = Round;

    /// One round: announce `p(k)`, collect the bids, compute the mismatch; converged
    /// (relative mismatch at most the tolerance) or diverged (non-finite) ends the run with
    /// this round, otherwise the rule computes the next price (`Diverged` if it is not
    /// finite, `Stalled` if it moved by at most `price_tolerance · p`).
    fn step(&mut self) -> Step<Round> {
        let market = self.market;
        let behaviour = self.behaviour;
        let nash = self.nash.as_deref();
        let p = self.price;
        fill(&mut self.bids, DEFAULT_PARALLEL_THRESHOLD, |i| {
            reply(market, behaviour, nash, i, p)
        });
        let bids = &self.bids;
        let total = deterministic_sum(bids.len(), DEFAULT_PARALLEL_THRESHOLD, |i| bids[i]);
        let d = market.deficit();
        let supply = total * p;
        let mismatch = supply - d;
        let relative = mismatch.abs() / d;
        let round = Round {
            round: self.round,
            price: p,
            total_bid: total,
            supply,
            mismatch,
            relative_mismatch: relative,
            bids: None,
        };
        self.round += 1;
        if !(mismatch.is_finite() && p.is_finite()) {
            return Step::Last(round, Termination::Diverged);
        }
        if relative <= self.settings.tolerance {
            return Step::Last(round, Termination::Converged);
        }
        self.rule.observe_replies(p, &self.bids);
        let next = self.rule.next_price(p, mismatch);
        if !next.is_finite() {
            Step::Last(round, Termination::Diverged)
        } else if (next - p).abs() <= self.settings.price_tolerance * p.abs() {
            Step::Last(round, Termination::Stalled)
        } else {
            self.price = next;
            Step::Next(round)
        }
    }

    /// The signed mismatch (eqs. 12 / 27): it flips sign when the price jumps across the
    /// equilibrium.
    fn swing(&self, round: &Round) -> Option<Swing> {
        Some(Swing {
            size: round.mismatch.abs(),
            direction: round.mismatch,
        })
    }
}

/// The rule behind a [`PriceUpdate`] (what [`BiddingSimulation::from_update`] runs).
pub enum UpdateRule {
    /// The papers' fixed step.
    Paper(FixedStep),
    /// The fast rule.
    Fast(Box<FittedMarketRule>),
}

impl PriceRule for UpdateRule {
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        match self {
            UpdateRule::Paper(r) => r.next_price(price, mismatch),
            UpdateRule::Fast(r) => r.next_price(price, mismatch),
        }
    }
    fn observe_replies(&mut self, price: f64, replies: &[f64]) {
        match self {
            UpdateRule::Paper(r) => r.observe_replies(price, replies),
            UpdateRule::Fast(r) => r.observe_replies(price, replies),
        }
    }
    fn reset(&mut self) {
        match self {
            UpdateRule::Paper(r) => r.reset(),
            UpdateRule::Fast(r) => r.reset(),
        }
    }
    fn name(&self) -> &'static str {
        match self {
            UpdateRule::Paper(r) => r.name(),
            UpdateRule::Fast(r) => r.name(),
        }
    }
}

impl<'m> BiddingSimulation<'m, UpdateRule> {
    /// The stepper with the named price rule. Errors name `step` (not finite and positive)
    /// or the settings' fields.
    pub fn from_update(
        market: &'m Market,
        behaviour: Behaviour,
        update: PriceUpdate,
        settings: SimulationSettings,
    ) -> Result<Self, BiddingError> {
        let rule = match update {
            PriceUpdate::Paper { step } => {
                dr_convex::check_positive(|| "step".into(), step)?;
                UpdateRule::Paper(FixedStep::new(step))
            }
            PriceUpdate::Fast => {
                UpdateRule::Fast(Box::new(FittedMarketRule::new(behaviour, market.deficit())))
            }
        };
        Self::new(market, behaviour, rule, settings)
    }
}

/// The utility's price update, by name (for scenario files and the command line).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "rule")]
pub enum PriceUpdate {
    /// The papers' fixed step `γ` (eqs. 12, 27): [`FixedStep`].
    Paper {
        /// Step size `γ > 0`.
        step: f64,
    },
    /// The fast rule: [`FittedMarketRule`] (clears a market fitted to the bids, safeguarded
    /// by the kernel's `FastRule`).
    Fast,
}

/// Runs the iterative scheme with the named price rule (see [`BiddingSimulation`]),
/// tracing every round. Errors name `step` (not finite and positive) or the settings'
/// fields.
pub fn simulate(
    market: &Market,
    behaviour: Behaviour,
    update: PriceUpdate,
    settings: SimulationSettings,
) -> Result<SimulationRun, BiddingError> {
    Ok(BiddingSimulation::from_update(market, behaviour, update, settings)?.run())
}

/// The slope `S'(p)` of the total supply `S(p) = Σ_i q_i(p)` at the equilibrium price of the
/// given behaviour (`Σ 1/C_i''(q_i)` or `Σ 1/D_i''(q_i)` over customers strictly inside
/// `(0, capacity)`), and that price.
pub fn supply_slope(market: &Market, behaviour: Behaviour) -> Result<(f64, f64), BiddingError> {
    let eq = match behaviour {
        Behaviour::Competitive => competitive_equilibrium(market)?,
        Behaviour::Strategic => nash_equilibrium(market)?,
    };
    let d = market.deficit();
    let nash = match (market.costs(), behaviour) {
        (Costs::General(c), Behaviour::Strategic) => Some(nash_pieces(c, d)),
        _ => None,
    };
    let loads = &eq.loads;
    let price = eq.price;
    let slope = chunked_reduce(
        loads.len(),
        DEFAULT_PARALLEL_THRESHOLD,
        0.0,
        |r| {
            let mut s = 0.0;
            for i in r {
                let q = loads[i];
                if !(q > 0.0 && q < market.capacity(i)) {
                    continue;
                }
                s += match (market.costs(), behaviour, &nash) {
                    (Costs::Quadratic { quadratic, .. }, Behaviour::Competitive, _) => {
                        0.5 / quadratic[i]
                    }
                    (Costs::Quadratic { linear, quadratic }, Behaviour::Strategic, _) => {
                        nash_quadratic_slope(linear[i], quadratic[i], d, q)
                    }
                    (Costs::General(c), Behaviour::Competitive, _) => {
                        response_slope(c[i].as_ref(), q, price)
                    }
                    (Costs::General(_), Behaviour::Strategic, Some(p)) => {
                        response_slope(&p[i], q, price)
                    }
                    (Costs::General(_), Behaviour::Strategic, None) => 0.0,
                };
            }
            s
        },
        |a, b| a + b,
    );
    Ok((slope, eq.price))
}

/// `dq/dp` of one customer's response at load `q` and price `p` for a general cost `f`
/// (`C_i` or `D_i`): `1/f''(q)` where `f` is twice differentiable with `f'' > 0`; `0` at a
/// kink with the price strictly inside the subdifferential `(f'_−(q), f'_+(q))` (the
/// response stays at the kink for nearby prices); `+∞` on a flat piece of `f'`
/// (`f'' = 0`, e.g. a piecewise-linear segment whose slope is the price: the response jumps).
fn response_slope(f: &dyn ConvexScalar, q: f64, price: f64) -> f64 {
    let (left, right) = (f.left_derivative(q), f.derivative(q));
    if left < price && price < right {
        return 0.0;
    }
    let c = f.second_derivative(q);
    if c > 0.0 {
        1.0 / c
    } else {
        f64::INFINITY
    }
}

/// The largest fixed step `γ* = 2 / S'(p)` for which eqs. 12 / 27 converge locally
/// (module docs, *derived*); steps above it oscillate.
///
/// # Derivation for our update
/// The utility's update is `p(k+1) = [p(k) − γ (S(p(k)) − d)]⁺` with
/// `S(p) = Σ_i b_i(p) p = Σ_i q_i(p)` the total supply at the announced price
/// (`q_i(p) = (C_i')^{-1}(p)` clamped to `[0, q^max_i]` for price-taking customers, eq. 11;
/// `(D_i')^{-1}(p)` clamped to `[0, min(q^max_i, d/2))` for strategic ones, eq. 26). At the
/// equilibrium `S(p̂) = d`; for `p(k)` near `p̂ > 0` the projection is inactive and
/// `p(k+1) − p̂ = (1 − γ S'(p̂)) (p(k) − p̂) + o(p(k) − p̂)`, so the error contracts iff
/// `|1 − γ S'(p̂)| < 1`, i.e. `0 < γ < 2/S'(p̂)`; above it the factor is below −1 and the
/// price overshoots by more each round, alternating sides (the oscillation of
/// chen-li-low-doyle-2010 §V), until the nonlinearity of `S` bounds it. Here
/// `S'(p̂) = Σ_{i: 0 < q̂_i < q^max_i} 1/C_i''(q̂_i)` (competitive) or `Σ 1/D_i''(q̂_i)` with
/// `D_i'' = d/(d − 2q)² C_i'(q) + (d − q)/(d − 2q) C_i''(q)` (strategic); for
/// `C_i = a_i q + h_i q²` competitive, `S' = Σ_{active} 1/(2 h_i)`. A customer at a kink
/// of a piecewise-linear cost contributes 0; one on a segment whose slope is the price makes
/// `S'` infinite and `γ* = 0`: no fixed step converges, the price cycles around the slope.
pub fn critical_step(market: &Market, behaviour: Behaviour) -> Result<f64, BiddingError> {
    let (slope, _) = supply_slope(market, behaviour)?;
    Ok(2.0 / slope)
}
