//! Typed report of the iterative bidding scheme (what `dr simulate` prints for a bidding
//! market): one [`RunReport`] per simulated equilibrium, each holding the run of
//! li-chen-dahleh-2015 §III-B eqs. 11–12 (price-taking customers) or §IV-B eqs. 26–27
//! (strategic customers), the exact equilibrium it should reach (Theorems 1–4, solved by the
//! allocator, with its KKT certificate), the step against the critical step `2/S'(p)`
//! (chen-li-low-doyle-2010 §V) with the [`Claim`] it makes about the run, and, when asked
//! for, every customer's bid every `K` rounds ([`BidTrace`]).
//!
//! [`SimulationReport`] is `Serialize` and `Deserialize`: a report written by
//! `dr simulate --json` reads back into the same type. A report with one run is written
//! flat (the run's fields next to `model`, `file`, `customers`, `deficit`); with several
//! runs, they are listed under `runs`.

use crate::bid_trace::{BidTrace, CriticalStep};
use crate::equilibrium::Equilibrium;
use crate::error::BiddingError;
use crate::iterative::{Behaviour, PriceUpdate, Round, SimulationRun, SimulationSettings};
use crate::report::CertificateReport;
use crate::studies::PRICE_TOLERANCE;
use dr_convex::{Claim, Termination};
use serde::{Deserialize, Serialize};

/// The equilibrium a run aims at, as reports name it: `"competitive"` (price-taking
/// customers, Theorems 1–2) or `"nash"` (strategic customers, Theorems 3–4).
pub(crate) mod equilibrium_name {
    use crate::iterative::Behaviour;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Behaviour, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::equilibrium_name(*b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Behaviour, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "competitive" => Ok(Behaviour::Competitive),
            "nash" => Ok(Behaviour::Strategic),
            other => Err(serde::de::Error::custom(format!(
                "equilibrium {other:?}: expected \"competitive\" or \"nash\""
            ))),
        }
    }
}

/// `"competitive"` for price-taking customers, `"nash"` for strategic ones.
pub fn equilibrium_name(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "competitive",
        Behaviour::Strategic => "nash",
    }
}

/// `"paper"` (the fixed step `γ` of eqs. 12 / 27) or `"fast"` ([`crate::FittedMarketRule`]).
pub fn update_name(u: PriceUpdate) -> &'static str {
    match u {
        PriceUpdate::Paper { .. } => "paper",
        PriceUpdate::Fast => "fast",
    }
}

/// Relative error `|a − b| / |b|` (`b` is a positive price in every use).
fn relative_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// One simulated run of the iterative scheme against its exact equilibrium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulatedRun {
    /// The equilibrium aimed at: `"competitive"` (eqs. 11–12) or `"nash"` (eqs. 26–27).
    #[serde(with = "equilibrium_name")]
    pub equilibrium: Behaviour,
    /// The price rule: `"paper"` or `"fast"`.
    pub rule: String,
    /// The fixed step `γ` of the paper rule, price per unit of load; `None` for the fast rule.
    pub step: Option<f64>,
    /// The start price `p(0)`, money per unit of load.
    pub start_price: f64,
    /// Convergence tolerance on the relative mismatch `|Σ b_i p − d| / d`.
    pub tolerance: f64,
    /// Round limit.
    pub max_rounds: usize,
    /// Why the run stopped.
    pub termination: Termination,
    /// Whether it converged (`termination == converged`).
    pub converged: bool,
    /// Rounds to convergence, when it converged.
    pub converged_after: Option<usize>,
    /// Rounds executed.
    pub rounds_run: usize,
    /// The last announced price, money per unit of load.
    pub price: f64,
    /// The exact equilibrium price (`p̄` or `p*`, eq. 4) computed by the allocator.
    pub equilibrium_price: f64,
    /// `|price − equilibrium_price| / equilibrium_price`.
    pub price_error: f64,
    /// First round whose price is within [`PRICE_TOLERANCE`] (relative) of the equilibrium
    /// price.
    pub rounds_to_price_tolerance: Option<usize>,
    /// The critical step `2/S'(p̂)` ([`crate::critical_step`]); `None` when it could not be
    /// computed.
    pub critical_step: Option<f64>,
    /// The last relative mismatch `|Σ b_i p − d| / d`.
    pub relative_mismatch: f64,
    /// Scalar messages exchanged: one price to and one bid from each customer per round.
    pub messages: usize,
    /// `Σ_i b_i` of the last round, load per unit of price.
    pub total_bid: Option<f64>,
    /// The last bids `b_i`, customer by customer.
    pub bids: Vec<f64>,
    /// The trace, round by round.
    pub rounds: Vec<Round>,
    /// Whether the paper rule's `γ` exceeds the critical step; `None` for the fast rule or
    /// when the critical step could not be computed.
    pub step_above_critical: Option<bool>,
    /// Above the critical step: the claim that the fixed step does not converge, checked
    /// against this run (chen-li-low-doyle-2010 §V).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_claim: Option<Claim>,
    /// Every customer's bid every `K` rounds, when asked for (Figs. 1–2 panels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_trace: Option<BidTrace>,
    /// The equilibrium bids, with a bid trace (its reference lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equilibrium_bids: Option<Vec<f64>>,
    /// The KKT certificate of the exact equilibrium the run is measured against.
    pub equilibrium_certificate: CertificateReport,
}

impl SimulatedRun {
    /// The report of `run` (with `update` and `settings`) against the exact equilibrium
    /// `exact`; `critical` is [`crate::critical_step`], `step_check` the paper step against
    /// it ([`CriticalStep`]), `bid_trace` the recorded bids. Above the critical step the
    /// run checks the claim [`CriticalStep::claim`].
    pub fn new(
        run: SimulationRun,
        update: PriceUpdate,
        settings: &SimulationSettings,
        exact: &Equilibrium,
        critical: Option<f64>,
        step_check: Option<&CriticalStep>,
        bid_trace: Option<BidTrace>,
    ) -> SimulatedRun {
        let converged = run.termination == Termination::Converged;
        let step_claim = step_check
            .filter(|c| c.above_critical)
            .map(|c| c.claim(equilibrium_name(run.behaviour), run.termination, run.rounds));
        let step = match update {
            PriceUpdate::Paper { step } => Some(step),
            PriceUpdate::Fast => None,
        };
        SimulatedRun {
            equilibrium: run.behaviour,
            rule: update_name(update).to_string(),
            step,
            start_price: settings.start_price,
            tolerance: settings.tolerance,
            max_rounds: settings.max_rounds,
            termination: run.termination,
            converged,
            converged_after: converged.then_some(run.rounds),
            rounds_run: run.rounds,
            price: run.price,
            equilibrium_price: exact.price,
            price_error: relative_error(run.price, exact.price),
            rounds_to_price_tolerance: run.rounds_to_price(exact.price, PRICE_TOLERANCE),
            critical_step: critical,
            relative_mismatch: run.relative_mismatch,
            messages: run.messages,
            total_bid: run.trace.last().map(|r| r.total_bid),
            step_above_critical: step_check.map(|c| c.above_critical),
            step_claim,
            equilibrium_bids: bid_trace.as_ref().map(|_| exact.bids.clone()),
            bid_trace,
            equilibrium_certificate: exact.certificate.into(),
            bids: run.bids,
            rounds: run.trace,
        }
    }

    /// The price update the run used.
    pub fn update(&self) -> PriceUpdate {
        match self.step {
            Some(step) => PriceUpdate::Paper { step },
            None => PriceUpdate::Fast,
        }
    }
}

/// A run that was asked for but is undefined: the market has no Nash equilibrium
/// (Corollary 2: fewer than three customers can supply; Lemma 3: a capacity is needed
/// above `d/2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndefinedRun {
    /// The equilibrium asked for (`"nash"`).
    #[serde(with = "equilibrium_name")]
    pub equilibrium: Behaviour,
    /// Always `true`.
    pub undefined: bool,
    /// The theorem that says why.
    pub reason: String,
    /// The input field responsible, as the scenario file writes it.
    pub field: String,
}

impl UndefinedRun {
    /// The report of `behaviour`'s equilibrium that does not exist, with the error `why`.
    pub fn new(behaviour: Behaviour, why: &BiddingError) -> UndefinedRun {
        UndefinedRun {
            equilibrium: behaviour,
            undefined: true,
            reason: why.to_string(),
            field: why.field(),
        }
    }
}

/// One run of a [`SimulationReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunReport {
    /// The scheme ran (boxed: a run holds its trace).
    Simulated(Box<SimulatedRun>),
    /// The equilibrium does not exist: nothing to simulate.
    Undefined(UndefinedRun),
}

/// The runs of a [`SimulationReport`]: one written flat, several under `runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SimulationRuns {
    /// One run, its fields next to the market's.
    Single(RunReport),
    /// Several runs (e.g. competitive and Nash).
    Many {
        /// The runs, in the order simulated.
        runs: Vec<RunReport>,
    },
}

impl SimulationRuns {
    /// The runs, in order.
    pub fn runs(&self) -> Vec<&RunReport> {
        match self {
            SimulationRuns::Single(r) => vec![r],
            SimulationRuns::Many { runs } => runs.iter().collect(),
        }
    }
}

/// The report of `dr simulate` on a bidding market (li-chen-dahleh-2015 §III-B, §IV-B).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    /// Always `"bidding"`.
    pub model: String,
    /// The scenario's name.
    pub file: String,
    /// Number of customers `n`.
    pub customers: usize,
    /// The deficit (or surplus) `d`, in load units.
    pub deficit: f64,
    /// The runs.
    #[serde(flatten)]
    pub runs: SimulationRuns,
}

impl SimulationReport {
    /// The report of `runs` on the market `file` with `customers` customers and deficit
    /// `deficit`.
    pub fn new(
        file: impl Into<String>,
        customers: usize,
        deficit: f64,
        mut runs: Vec<RunReport>,
    ) -> SimulationReport {
        let runs = if runs.len() == 1 {
            match runs.pop() {
                Some(r) => SimulationRuns::Single(r),
                None => SimulationRuns::Many { runs },
            }
        } else {
            SimulationRuns::Many { runs }
        };
        SimulationReport {
            model: "bidding".into(),
            file: file.into(),
            customers,
            deficit,
            runs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{competitive_equilibrium, critical_step, simulate, Market};

    #[test]
    fn simulation_report_reads_back_from_its_json() {
        let market =
            Market::quadratic(vec![1.0, 1.2, 1.5, 2.0], vec![0.5, 1.0, 2.0, 4.0], 10.0).unwrap();
        let exact = competitive_equilibrium(&market).unwrap();
        let critical = critical_step(&market, Behaviour::Competitive).unwrap();
        // A step above the critical one: the report carries the (checked) claim.
        let step = 1.5 * critical;
        let update = PriceUpdate::Paper { step };
        let settings = SimulationSettings {
            max_rounds: 60,
            ..SimulationSettings::default()
        };
        let run = simulate(&market, Behaviour::Competitive, update, settings.clone()).unwrap();
        let check = CriticalStep::new(&market, Behaviour::Competitive, step).unwrap();
        let one = SimulatedRun::new(
            run,
            update,
            &settings,
            &exact,
            Some(critical),
            Some(&check),
            None,
        );
        assert_eq!(one.step_above_critical, Some(true));
        let claim = one.step_claim.clone().unwrap();
        // Above 2/S'(p̄) the fixed step cannot converge (chen-li-low-doyle-2010 §V).
        assert!(!one.converged && claim.holds);
        assert_eq!(one.update(), update);
        let undefined = UndefinedRun::new(
            Behaviour::Strategic,
            &BiddingError::NashNeedsThreeSuppliers {
                field: "customers".into(),
                suppliers: 2,
            },
        );
        for runs in [
            vec![RunReport::Simulated(Box::new(one.clone()))],
            vec![
                RunReport::Simulated(Box::new(one.clone())),
                RunReport::Undefined(undefined),
            ],
        ] {
            let report = SimulationReport::new("four", 4, 10.0, runs);
            let json = serde_json::to_string(&report).unwrap();
            let back: SimulationReport = serde_json::from_str(&json).unwrap();
            assert_eq!(back, report);
        }
        // One run is written flat, with today's keys.
        let flat = serde_json::to_value(SimulationReport::new(
            "four",
            4,
            10.0,
            vec![RunReport::Simulated(Box::new(one))],
        ))
        .unwrap();
        for key in [
            "model",
            "equilibrium",
            "rounds",
            "price_error",
            "step_claim",
        ] {
            assert!(flat.get(key).is_some(), "{key}");
        }
        assert_eq!(flat["equilibrium"], "competitive");
        assert!(flat.get("runs").is_none());
    }
}
