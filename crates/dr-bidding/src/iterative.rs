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
//! Every round is appended to a trace ([`Round`]: price, total bid, supply, mismatch and,
//! optionally, the bids). A run stops with an explicit [`Termination`].
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
use dr_convex::{ConvexScalar, FixedStep, NashTransform, PriceRule};
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

/// Which bids the trace keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BidRecording {
    /// No bids in the trace (only price, total bid, mismatch).
    None,
    /// Every customer's bid every round.
    All,
    /// The first `k` customers' bids every round.
    First(usize),
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
    /// Window `W` of the oscillation test: over the last `2W` rounds the mismatch changed
    /// sign at least `W/2` times and its largest size in the last `W` rounds is at least 95%
    /// of that in the `W` before (default 32).
    pub oscillation_window: usize,
    /// Which bids the trace keeps (default none).
    pub record_bids: BidRecording,
}

impl Default for SimulationSettings {
    fn default() -> Self {
        Self {
            start_price: 1.0,
            max_rounds: 10_000,
            tolerance: 1e-9,
            price_tolerance: 1e-15,
            oscillation_window: 32,
            record_bids: BidRecording::None,
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

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// The relative mismatch reached the tolerance.
    Converged,
    /// The round limit was reached.
    MaxRounds,
    /// The mismatch keeps changing sign without shrinking (step too large).
    Oscillating,
    /// The price or mismatch became non-finite.
    Diverged,
    /// The rule stopped moving the price before the tolerance was met.
    Stalled,
}

/// One round of the trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The recorded bids (see [`BidRecording`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bids: Option<Vec<f64>>,
}

/// The outcome of an iterative run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationRun {
    /// Price-taking or strategic customers.
    pub behaviour: Behaviour,
    /// The price rule's name (`"paper"`, `"fast"`).
    pub rule: String,
    /// Why the run stopped.
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
    /// Per-round trace.
    pub trace: Vec<Round>,
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

/// The iterative bidding scheme as an argmin-style stepper: one [`BiddingSimulation::step`]
/// is one round (see the module docs).
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
    trace: Vec<Round>,
    termination: Option<Termination>,
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
            trace: Vec::new(),
            termination: None,
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

    /// The trace so far.
    pub fn trace(&self) -> &[Round] {
        &self.trace
    }

    /// Why the run stopped, once it has.
    pub fn termination(&self) -> Option<Termination> {
        self.termination
    }

    /// One round: announce `p(k)`, collect the bids, compute the mismatch, then stop or
    /// update the price. Returns the round's record, or `None` once the run has stopped.
    pub fn step(&mut self) -> Option<&Round> {
        if self.termination.is_some() {
            return None;
        }
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
        let recorded = match self.settings.record_bids {
            BidRecording::None => None,
            BidRecording::All => Some(self.bids.clone()),
            BidRecording::First(k) => Some(self.bids[..k.min(self.bids.len())].to_vec()),
        };
        let k = self.trace.len();
        self.trace.push(Round {
            round: k,
            price: p,
            total_bid: total,
            supply,
            mismatch,
            relative_mismatch: relative,
            bids: recorded,
        });
        self.termination = if !(mismatch.is_finite() && p.is_finite()) {
            Some(Termination::Diverged)
        } else if relative <= self.settings.tolerance {
            Some(Termination::Converged)
        } else if self.oscillating() {
            Some(Termination::Oscillating)
        } else {
            self.rule.observe_replies(p, &self.bids);
            let next = self.rule.next_price(p, mismatch);
            if !next.is_finite() {
                Some(Termination::Diverged)
            } else if (next - p).abs() <= self.settings.price_tolerance * p.abs() {
                Some(Termination::Stalled)
            } else if k + 1 >= self.settings.max_rounds {
                Some(Termination::MaxRounds)
            } else {
                self.price = next;
                None
            }
        };
        self.trace.last()
    }

    fn oscillating(&self) -> bool {
        let w = self.settings.oscillation_window;
        let len = self.trace.len();
        if len < 2 * w {
            return false;
        }
        let window = &self.trace[len - 2 * w..];
        let changes = window
            .windows(2)
            .filter(|p| p[0].mismatch * p[1].mismatch < 0.0)
            .count();
        let size = |r: &[Round]| r.iter().map(|x| x.mismatch.abs()).fold(0.0, f64::max);
        changes >= w / 2 && size(&window[w..]) >= 0.95 * size(&window[..w])
    }

    /// Runs to termination and returns the outcome.
    pub fn run(mut self) -> SimulationRun {
        while self.step().is_some() {}
        let last = self.trace.last().map_or(f64::NAN, |r| r.relative_mismatch);
        let rounds = self.trace.len();
        SimulationRun {
            behaviour: self.behaviour,
            rule: self.rule.name().to_string(),
            termination: self.termination.unwrap_or(Termination::MaxRounds),
            rounds,
            price: self.trace.last().map_or(self.price, |r| r.price),
            bids: self.bids,
            relative_mismatch: last,
            messages: 2 * rounds * self.market.len(),
            trace: self.trace,
        }
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

/// Runs the iterative scheme with the named price rule (see [`BiddingSimulation`]).
/// Errors name `step` (not finite and positive) or the settings' fields.
pub fn simulate(
    market: &Market,
    behaviour: Behaviour,
    update: PriceUpdate,
    settings: SimulationSettings,
) -> Result<SimulationRun, BiddingError> {
    match update {
        PriceUpdate::Paper { step } => {
            dr_convex::check_positive(|| "step".into(), step)?;
            Ok(BiddingSimulation::new(market, behaviour, FixedStep::new(step), settings)?.run())
        }
        PriceUpdate::Fast => Ok(BiddingSimulation::new(
            market,
            behaviour,
            FittedMarketRule::new(behaviour, market.deficit()),
            settings,
        )?
        .run()),
    }
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
                        1.0 / c[i].second_derivative(q)
                    }
                    (Costs::General(_), Behaviour::Strategic, Some(p)) => {
                        1.0 / p[i].second_derivative(q)
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

/// The largest fixed step `γ* = 2 / S'(p)` for which eqs. 12 / 27 converge locally
/// (module docs, *derived*); steps above it oscillate.
pub fn critical_step(market: &Market, behaviour: Behaviour) -> Result<f64, BiddingError> {
    let (slope, _) = supply_slope(market, behaviour)?;
    Ok(2.0 / slope)
}
