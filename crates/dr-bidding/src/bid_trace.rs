//! Every customer's bid `b_i(k)` every `K` rounds of the iterative scheme — the data of the
//! supply-function panels of li-chen-dahleh-2015 Figs. 1–2 (customer `i`'s supply function
//! at round `k` is `q = b_i(k) p`) — and the critical step of the fixed-step update as a
//! report with a verdict.

use crate::iterative::{supply_slope, Behaviour, BiddingSimulation, SimulationRun};
use crate::market::Market;
use crate::BiddingError;
use dr_convex::{Claim, Observer, PriceRule, Termination};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

/// Bytes one recorded bid costs in `dr simulate --set trace_bids=K`: the `f64` in the
/// trace (8) plus its node in the command's JSON tree (a `serde_json::Value` number, 32).
pub const BID_TRACE_BYTES_PER_ENTRY: u64 = 40;

/// Bids of every customer at every `every`-th round (rounds `0, K, 2K, …`) and at the last
/// round of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BidTrace {
    /// The stride `K ≥ 1`.
    pub every: usize,
    /// Number of customers `N` (the length of every row of `bids`).
    pub customers: usize,
    /// The round index `k` of each snapshot.
    pub rounds: Vec<usize>,
    /// The announced price `p(k)` of each snapshot.
    pub prices: Vec<f64>,
    /// `bids[s][i] = b_i(k_s)`: customer `i`'s bid (supply-function slope, `q = b p`) in
    /// snapshot `s`.
    pub bids: Vec<Vec<f64>>,
}

impl BidTrace {
    /// The number of snapshots a run of at most `max_rounds` rounds records with stride
    /// `every` (rounds `0, K, …` below `max_rounds`, plus the last one).
    pub fn snapshots(max_rounds: usize, every: usize) -> u64 {
        let every = every.max(1) as u64;
        (max_rounds as u64).div_ceil(every) + 1
    }

    /// An upper bound of the bytes the trace of one run needs:
    /// `snapshots × customers × BID_TRACE_BYTES_PER_ENTRY` (saturating).
    pub fn memory_estimate(max_rounds: usize, every: usize, customers: usize) -> u64 {
        Self::snapshots(max_rounds, every)
            .saturating_mul(customers as u64)
            .saturating_mul(BID_TRACE_BYTES_PER_ENTRY)
    }

    /// Customer `i`'s bid per snapshot, as `(round, b_i)` points (empty if `i ≥ N`).
    pub fn customer(&self, i: usize) -> Vec<(usize, f64)> {
        if i >= self.customers {
            return Vec::new();
        }
        self.rounds
            .iter()
            .zip(&self.bids)
            .map(|(&k, b)| (k, b[i]))
            .collect()
    }
}

/// An executor observer that records a [`BidTrace`]; [`BidRecorder::finish_with`] adds the
/// last round of the run.
#[derive(Debug, Clone)]
pub struct BidRecorder {
    trace: BidTrace,
}

impl BidRecorder {
    /// A recorder with stride `every` (≥ 1) for `customers` customers. Errors name
    /// `trace_bids` when `every = 0`.
    pub fn new(every: usize, customers: usize) -> Result<Self, BiddingError> {
        if every == 0 {
            return Err(dr_convex::InputError::OutOfRange {
                field: "trace_bids".into(),
                value: 0.0,
                requirement: "must be >= 1 (record every K-th round)".into(),
            }
            .into());
        }
        Ok(Self {
            trace: BidTrace {
                every,
                customers,
                rounds: Vec::new(),
                prices: Vec::new(),
                bids: Vec::new(),
            },
        })
    }

    /// The trace, with the run's last round added when the stride skipped it (the last
    /// bids are [`SimulationRun::bids`], announced at the last traced price).
    pub fn finish_with(mut self, run: &SimulationRun) -> BidTrace {
        if let Some(last) = run.trace.last() {
            if self.trace.rounds.last() != Some(&last.round) {
                self.trace.rounds.push(last.round);
                self.trace.prices.push(last.price);
                self.trace.bids.push(run.bids.clone());
            }
        }
        self.trace
    }
}

impl<R: PriceRule> Observer<BiddingSimulation<'_, R>> for BidRecorder {
    fn observe(
        &mut self,
        index: usize,
        round: &crate::Round,
        stepper: &BiddingSimulation<'_, R>,
    ) -> ControlFlow<()> {
        if index % self.trace.every == 0 {
            self.trace.rounds.push(round.round);
            self.trace.prices.push(round.price);
            self.trace.bids.push(stepper.bids().to_vec());
        }
        ControlFlow::Continue(())
    }
}

/// The fixed step `γ` of eqs. 12 / 27 against its critical value `γ* = 2/S'(p̂)`
/// ([`crate::critical_step`], derivation there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalStep {
    /// Price-taking (eq. 12) or strategic (eq. 27) customers.
    pub behaviour: Behaviour,
    /// The step `γ` used.
    pub step: f64,
    /// The equilibrium price `p̂` (`p̄` or `p*`), currency per unit of load.
    pub equilibrium_price: f64,
    /// `S'(p̂)`: slope of the total supply at the equilibrium price, load per unit of price
    /// (`+∞` when the supply jumps there).
    pub supply_slope: f64,
    /// `γ* = 2/S'(p̂)`, price per unit of load (`0` when the supply jumps at `p̂`).
    pub critical_step: f64,
    /// `|1 − γ S'(p̂)|`: the local contraction factor of the price error per round (< 1
    /// converges, > 1 oscillates with growing amplitude until the nonlinearity of `S`
    /// bounds it).
    pub contraction: f64,
    /// True when `γ > γ*`: the fixed step cannot converge to the equilibrium.
    pub above_critical: bool,
}

impl CriticalStep {
    /// `γ` against `γ*` on `market` for `behaviour`.
    ///
    /// # Errors
    /// Those of the equilibrium solve (e.g. no Nash equilibrium with fewer than three
    /// customers).
    pub fn new(market: &Market, behaviour: Behaviour, step: f64) -> Result<Self, BiddingError> {
        dr_convex::check_positive(|| "step".into(), step)?;
        let (slope, price) = supply_slope(market, behaviour)?;
        let critical = 2.0 / slope;
        let contraction = if slope.is_finite() {
            (1.0 - step * slope).abs()
        } else {
            f64::INFINITY
        };
        Ok(Self {
            behaviour,
            step,
            equilibrium_price: price,
            supply_slope: slope,
            critical_step: critical,
            contraction,
            above_critical: step > critical,
        })
    }

    /// The prediction this step makes, checked against a run with it: above the critical
    /// step the fixed step does not converge (chen-li-low-doyle-2010 §V); below it, it
    /// converges (locally). `label` names the run (e.g. `"figure2 price-taking"`).
    pub fn claim(&self, label: &str, termination: Termination, rounds: usize) -> Claim {
        let converged = termination == Termination::Converged;
        let (claim, holds) = if self.above_critical {
            (
                format!(
                    "{label}: γ = {} sits above the critical step 2/S'(p) = {:.4}, so the \
                     fixed step does not converge; the price oscillates around the \
                     equilibrium (chen-li-low-doyle-2010 §V)",
                    self.step, self.critical_step
                ),
                !converged,
            )
        } else {
            (
                format!(
                    "{label}: γ = {} is below the critical step 2/S'(p) = {:.4}, so the fixed \
                     step converges (locally)",
                    self.step, self.critical_step
                ),
                converged,
            )
        };
        Claim::new(
            claim,
            holds,
            format!(
                "|1 − γ S'(p)| = {:.4}; the run: {} after {rounds} rounds",
                self.contraction,
                termination.name()
            ),
        )
    }
}
