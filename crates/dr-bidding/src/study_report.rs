//! Typed reports of the bidding studies (what `dr study bidding-convergence` and
//! `dr study bidding-scenarios` print), built from the studies of [`crate::studies`]:
//!
//! - [`ConvergenceStudyReport`]: the iterative scheme of li-chen-dahleh-2015 §III-B / §IV-B
//!   (Figs. 1–2 and the conference run), the papers' fixed step against the fast rule, the
//!   step against the critical step `2/S'(p)` and the oscillation above it
//!   (chen-li-low-doyle-2010 §V), with the paper's findings as checked [`Claim`]s (`facts`).
//! - [`SweepStudyReport`]: the scenario sweep of li-chen-dahleh-2015 §VII-B (Figs. 3–6),
//!   with the theorems every row must satisfy ([`SweepStudyReport::violations`]: Theorem 5,
//!   eq. 13, Corollary 4) and the paper's qualitative findings as [`Claim`]s (`facts`).
//!
//! Both are `Serialize` and `Deserialize`.

use crate::bid_trace::CriticalStep;
use crate::iterative::{Behaviour, PriceUpdate, SimulationRun};
use crate::simulation_report::{equilibrium_name, update_name};
use crate::studies::{ConvergenceStudy, OscillationStudy, SweepRow};
use dr_convex::{six_digits, Claim, Termination};
use serde::{Deserialize, Serialize};

/// Relative tolerance of the hard checks of the studies (Theorem 5 ratios, the unilateral
/// gain of eq. 13, Corollary 4, a converged run's distance to the exact price).
pub const STUDY_CHECK_TOLERANCE: f64 = 1e-9;

/// A converged run must end within this relative distance of the exact equilibrium price.
pub const CONVERGED_PRICE_TOLERANCE: f64 = 1e-6;

/// Rounds of a run kept in a [`BidPanel`].
pub const PANEL_ROUNDS: usize = 400;

/// Customers shown in a [`BidPanel`].
pub const PANEL_CUSTOMERS: usize = 5;

fn who(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "price-taking",
        Behaviour::Strategic => "strategic",
    }
}

fn relative_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// The supply-function panel of li-chen-dahleh-2015 Figs. 1–2: a few customers' bids per
/// round (customers spread over the population), over the first [`PANEL_ROUNDS`] rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BidPanel {
    /// The customers shown (0-based indices).
    pub customers: Vec<usize>,
    /// The rounds `k` shown.
    pub rounds: Vec<usize>,
    /// `bids[j][t]`: bid `b_i(k)` of customer `customers[j]` in round `rounds[t]`, load per
    /// unit of price.
    pub bids: Vec<Vec<f64>>,
}

impl BidPanel {
    /// The panel of `run` (whose trace carries every bid), or `None` without bids.
    pub fn of(run: &SimulationRun) -> Option<BidPanel> {
        let n = run.bids.len();
        let customers: Vec<usize> = if n <= PANEL_CUSTOMERS {
            (0..n).collect()
        } else {
            (1..=PANEL_CUSTOMERS)
                .map(|j| j * n / (PANEL_CUSTOMERS + 1))
                .collect()
        };
        let rounds: Vec<&crate::iterative::Round> = run
            .trace
            .iter()
            .take(PANEL_ROUNDS)
            .filter(|r| r.bids.is_some())
            .collect();
        if rounds.is_empty() {
            return None;
        }
        let bids = customers
            .iter()
            .map(|&i| {
                rounds
                    .iter()
                    .map(|r| {
                        r.bids
                            .as_ref()
                            .and_then(|b| b.get(i))
                            .copied()
                            .unwrap_or(f64::NAN)
                    })
                    .collect()
            })
            .collect();
        Some(BidPanel {
            customers,
            rounds: rounds.iter().map(|r| r.round).collect(),
            bids,
        })
    }
}

/// One iterative run of the convergence study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRunReport {
    /// `"competitive"` (price-taking customers, eq. 12) or `"nash"` (strategic, eq. 27).
    #[serde(with = "crate::simulation_report::equilibrium_name")]
    pub equilibrium: Behaviour,
    /// `"paper"` or `"fast"`.
    pub rule: String,
    /// The paper rule's step `γ`; `None` for the fast rule.
    pub step: Option<f64>,
    /// Why the run stopped.
    pub termination: Termination,
    /// Rounds to convergence, when it converged.
    pub converged_after: Option<usize>,
    /// Rounds executed.
    pub rounds_run: usize,
    /// First round whose price is within [`crate::studies::PRICE_TOLERANCE`] (relative) of
    /// the equilibrium price.
    pub rounds_to_price_tolerance: Option<usize>,
    /// The exact equilibrium price, money per unit of load.
    pub equilibrium_price: f64,
    /// `|p_last − p_eq| / p_eq`.
    pub final_price_error: f64,
    /// The announced price `p(k)` of every round.
    pub prices: Vec<f64>,
    /// The mismatch `Σ b_i(k) p(k) − d` of every round, load units.
    pub mismatch: Vec<f64>,
    /// For the paper-step runs: a few customers' bids per round (Figs. 1–2 panels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_panel: Option<BidPanel>,
}

impl StudyRunReport {
    /// The report of one study run.
    pub fn new(r: &crate::studies::StudyRun) -> StudyRunReport {
        let step = match r.update {
            PriceUpdate::Paper { step } => Some(step),
            PriceUpdate::Fast => None,
        };
        StudyRunReport {
            equilibrium: r.behaviour,
            rule: update_name(r.update).to_string(),
            step,
            termination: r.run.termination,
            converged_after: (r.run.termination == Termination::Converged).then_some(r.run.rounds),
            rounds_run: r.run.rounds,
            rounds_to_price_tolerance: r.rounds_to_price_tolerance,
            equilibrium_price: r.equilibrium_price,
            final_price_error: r.final_price_error,
            prices: r.run.trace.iter().map(|t| t.price).collect(),
            mismatch: r.run.trace.iter().map(|t| t.mismatch).collect(),
            bid_panel: step.and_then(|_| BidPanel::of(&r.run)),
        }
    }

    /// The price update of the run.
    pub fn update(&self) -> PriceUpdate {
        match self.step {
            Some(step) => PriceUpdate::Paper { step },
            None => PriceUpdate::Fast,
        }
    }

    /// Whether the run converged.
    pub fn converged(&self) -> bool {
        self.termination == Termination::Converged
    }
}

/// One population of the convergence study (Fig. 1, Fig. 2 or the conference run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceCaseReport {
    /// `"figure1"`, `"figure2"` or `"conference"`.
    pub name: String,
    /// Number of customers.
    pub customers: usize,
    /// Deficit `d`, load units.
    pub deficit: f64,
    /// The paper's fixed step `γ`.
    pub step: f64,
    /// Seed of the ChaCha8 draw of the costs.
    pub seed: u64,
    /// Exact competitive price `p̄` (Theorem 1).
    pub competitive_price: f64,
    /// Exact Nash price `p*` (Theorem 3).
    pub nash_price: f64,
    /// Critical step `2/S'(p̄)` for price-taking customers.
    pub competitive_critical_step: f64,
    /// Critical step `2/S'(p*)` for strategic customers.
    pub nash_critical_step: f64,
    /// The paper's `γ` against the critical step, price-taking then strategic.
    pub step_checks: Vec<CriticalStep>,
    /// Whether `γ` exceeds a critical step.
    pub paper_step_above_critical: bool,
    /// Competitive/strategic × paper/fast runs.
    pub runs: Vec<StudyRunReport>,
}

/// The oscillation run of the convergence study: a fixed step above the critical one
/// (chen-li-low-doyle-2010 §V).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OscillationReport {
    /// Number of customers (the Fig. 1 population).
    pub customers: usize,
    /// The step `γ`.
    pub step: f64,
    /// `γ` as a multiple of the critical step.
    pub factor: f64,
    /// The critical step `2/S'(p̄)`.
    pub critical_step: f64,
    /// Exact competitive price `p̄`.
    pub equilibrium_price: f64,
    /// Why the run stopped.
    pub termination: Termination,
    /// Rounds executed.
    pub rounds_run: usize,
    /// Largest relative mismatch over the last 64 rounds.
    pub late_amplitude: f64,
    /// Sign changes of the mismatch over the last 64 rounds.
    pub late_sign_changes: usize,
    /// The announced price of every round.
    pub prices: Vec<f64>,
    /// The mismatch `Σ b_i p − d` of every round.
    pub mismatch: Vec<f64>,
}

/// The report of `dr study bidding-convergence` (li-chen-dahleh-2015 Figs. 1–2,
/// chen-li-low-doyle-2010 §V).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceStudyReport {
    /// `"bidding-convergence"`.
    pub study: String,
    /// What it reproduces.
    pub reproduces: String,
    /// The populations, each with its four runs.
    pub studies: Vec<ConvergenceCaseReport>,
    /// The step above the critical one.
    pub oscillation: OscillationReport,
    /// The findings, each checked against the runs.
    pub facts: Vec<Claim>,
}

impl ConvergenceStudyReport {
    /// The report of `studies` ([`crate::studies::convergence_study`]) and the oscillation
    /// run `osc` ([`crate::studies::oscillation_study`]) with step `factor ×` the critical
    /// step: every run, and the findings as claims — the fast rule converges in fewer rounds
    /// (or where the paper step does not), each step check's prediction
    /// ([`CriticalStep::claim`]), the paper step reaching the Fig. 1 price to 0.1% in
    /// fewer than ten iterations (li-chen-dahleh-2015 §VII-A), and the oscillation above the
    /// critical step.
    pub fn new(
        studies: &[ConvergenceStudy],
        osc: &OscillationStudy,
        factor: f64,
    ) -> ConvergenceStudyReport {
        let mut facts = Vec::new();
        for st in studies {
            for behaviour in [Behaviour::Competitive, Behaviour::Strategic] {
                let pick = |fast: bool| {
                    st.runs.iter().find(|r| {
                        r.behaviour == behaviour && matches!(r.update, PriceUpdate::Fast) == fast
                    })
                };
                let (Some(paper), Some(fast)) = (pick(false), pick(true)) else {
                    continue;
                };
                let fast_ok = fast.run.termination == Termination::Converged;
                let paper_ok = paper.run.termination == Termination::Converged;
                let claim = if paper_ok {
                    format!(
                        "{} {}: the fast rule converges in fewer rounds than the paper step \
                         ({} vs {})",
                        st.config.name,
                        who(behaviour),
                        fast.run.rounds,
                        paper.run.rounds
                    )
                } else {
                    format!(
                        "{} {}: the fast rule converges ({} rounds) where the paper step γ = {} \
                         does not ({}; critical step {})",
                        st.config.name,
                        who(behaviour),
                        fast.run.rounds,
                        six_digits(st.config.step),
                        paper.run.termination,
                        six_digits(match behaviour {
                            Behaviour::Competitive => st.competitive_critical_step,
                            Behaviour::Strategic => st.nash_critical_step,
                        })
                    )
                };
                facts.push(Claim::new(
                    claim,
                    fast_ok && (!paper_ok || fast.run.rounds < paper.run.rounds),
                    format!(
                        "fast rule: {} after {} rounds; paper step: {} after {} rounds",
                        fast.run.termination,
                        fast.run.rounds,
                        paper.run.termination,
                        paper.run.rounds
                    ),
                ));
            }
        }
        for st in studies {
            facts.extend(st.claims.iter().cloned());
        }
        if let Some(paper) = studies.first().and_then(|st| {
            st.runs.iter().find(|r| {
                r.behaviour == Behaviour::Competitive
                    && matches!(r.update, PriceUpdate::Paper { .. })
            })
        }) {
            let to_1e3 = paper.run.rounds_to_price(paper.equilibrium_price, 1e-3);
            facts.push(Claim::new(
                format!(
                    "{}: the paper step reaches the equilibrium price (to 0.1%) in fewer than \
                     ten iterations (li-chen-dahleh-2015 §VII-A)",
                    studies[0].config.name
                ),
                to_1e3.is_some_and(|k| k < 10),
                match to_1e3 {
                    Some(k) => format!("first round within 0.1% of p̄: {k}"),
                    None => "no round within 0.1% of p̄".into(),
                },
            ));
        }
        facts.push(Claim::new(
            "a step above the critical one makes the price oscillate around the equilibrium \
             instead of converging (chen-li-low-doyle-2010 §V)",
            osc.run.termination != Termination::Converged && osc.late_sign_changes >= 16,
            format!(
                "γ = {} × the critical step {}: {} after {} rounds; the mismatch changed sign \
                 {} times over the last 64 rounds (at least 16 required)",
                six_digits(factor),
                six_digits(osc.critical_step),
                osc.run.termination,
                osc.run.rounds,
                osc.late_sign_changes
            ),
        ));
        let cases = studies
            .iter()
            .map(|st| {
                let c = &st.config;
                ConvergenceCaseReport {
                    name: c.name.clone(),
                    customers: c.customers,
                    deficit: c.deficit,
                    step: c.step,
                    seed: c.seed,
                    competitive_price: st.competitive_price,
                    nash_price: st.nash_price,
                    competitive_critical_step: st.competitive_critical_step,
                    nash_critical_step: st.nash_critical_step,
                    step_checks: st.step_checks.clone(),
                    paper_step_above_critical: st.step_checks.iter().any(|c| c.above_critical),
                    runs: st.runs.iter().map(StudyRunReport::new).collect(),
                }
            })
            .collect();
        ConvergenceStudyReport {
            study: "bidding-convergence".into(),
            reproduces: "li-chen-dahleh-2015 Figs. 1-2, chen-li-low-doyle-2010 §V".into(),
            studies: cases,
            oscillation: OscillationReport {
                customers: osc.config.customers,
                step: osc.step,
                factor,
                critical_step: osc.critical_step,
                equilibrium_price: osc.equilibrium_price,
                termination: osc.run.termination,
                rounds_run: osc.run.rounds,
                late_amplitude: osc.late_amplitude,
                late_sign_changes: osc.late_sign_changes,
                prices: osc.run.trace.iter().map(|t| t.price).collect(),
                mismatch: osc.run.trace.iter().map(|t| t.mismatch).collect(),
            },
            facts,
        }
    }

    /// Hard failures: a run that converged but ends farther than
    /// [`CONVERGED_PRICE_TOLERANCE`] from the exact equilibrium price (Theorems 1, 3).
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for st in &self.studies {
            for r in &st.runs {
                if r.converged() && r.final_price_error > CONVERGED_PRICE_TOLERANCE {
                    out.push(format!(
                        "{} {} {}: converged but |p − p_eq|/p_eq = {:.3e}",
                        st.name,
                        equilibrium_name(r.equilibrium),
                        r.rule,
                        r.final_price_error
                    ));
                }
            }
        }
        out
    }
}

/// One `(scenario, n)` row of Figs. 3–6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRowReport {
    /// Scenario 1, 2 or 3.
    pub scenario: u8,
    /// Number of customers `n`.
    pub n: usize,
    /// Competitive price `p̄`.
    pub competitive_price: f64,
    /// Nash price `p*`.
    pub nash_price: f64,
    /// `p*/p̄` (Fig. 3).
    pub price_ratio: f64,
    /// `C*/C̄` (Fig. 4).
    pub cost_ratio: f64,
    /// Load of the low-cost customer (customer 1) at the competitive equilibrium (Fig. 5);
    /// `None` in scenario 1 (no low-cost customer).
    pub low_cost_load_competitive: Option<f64>,
    /// … at the Nash equilibrium (Fig. 5).
    pub low_cost_load_nash: Option<f64>,
    /// Load of a high-cost customer (customer `n`) at the competitive equilibrium (Fig. 6).
    pub high_cost_load_competitive: f64,
    /// … at the Nash equilibrium (Fig. 6).
    pub high_cost_load_nash: f64,
    /// Largest relative unilateral gain at the computed Nash equilibrium (eq. 13; ≈ 0).
    pub nash_max_relative_gain: f64,
}

impl From<&SweepRow> for SweepRowReport {
    fn from(r: &SweepRow) -> Self {
        let low = r.scenario > 1;
        SweepRowReport {
            scenario: r.scenario,
            n: r.customers,
            competitive_price: r.competitive_price,
            nash_price: r.nash_price,
            price_ratio: r.price_ratio,
            cost_ratio: r.cost_ratio,
            low_cost_load_competitive: low.then_some(r.low_cost_load_competitive),
            low_cost_load_nash: low.then_some(r.low_cost_load_nash),
            high_cost_load_competitive: r.high_cost_load_competitive,
            high_cost_load_nash: r.high_cost_load_nash,
            nash_max_relative_gain: r.nash_max_relative_gain,
        }
    }
}

/// The report of `dr study bidding-scenarios` (li-chen-dahleh-2015 §VII-B, Figs. 3–6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepStudyReport {
    /// `"bidding-scenarios"`.
    pub study: String,
    /// What it reproduces.
    pub reproduces: String,
    /// The deficit `d` used (the paper does not give it).
    pub deficit: f64,
    /// The population sizes `n`.
    pub sizes: Vec<usize>,
    /// Rows sorted by scenario, then `n`.
    pub rows: Vec<SweepRowReport>,
    /// The paper's qualitative findings, each checked on the rows.
    pub facts: Vec<Claim>,
}

impl SweepStudyReport {
    /// The report of the sweep `rows` ([`crate::studies::scenario_sweep`]) over `sizes` with
    /// deficit `deficit`: rows sorted by scenario and `n`, and the findings of §VII-B as
    /// claims — the ratios fall towards 1 as `n` grows, scenario 1 has `C* = C̄`
    /// (Corollary 4), scenario 2 is worse than scenario 3 at small `n`, and scenario 3 has
    /// the larger ratios at large `n` (checked when the sweep reaches `n ≥ 21`).
    pub fn new(deficit: f64, sizes: Vec<usize>, rows: &[SweepRow]) -> SweepStudyReport {
        let mut rows: Vec<SweepRowReport> = rows.iter().map(SweepRowReport::from).collect();
        rows.sort_by_key(|r| (r.scenario, r.n));
        let by =
            |s: u8| -> Vec<&SweepRowReport> { rows.iter().filter(|r| r.scenario == s).collect() };
        let mut facts = Vec::new();
        for s in 1..=3u8 {
            let rs = by(s);
            let falls = rs.windows(2).all(|w| {
                w[1].price_ratio <= w[0].price_ratio * (1.0 + 1e-12)
                    && w[1].cost_ratio <= w[0].cost_ratio * (1.0 + 1e-12)
            });
            let (first, last) = (rs.first(), rs.last());
            let towards_one = match (first, last) {
                (Some(f), Some(l)) if rs.len() > 1 => {
                    // The same relative slack as `falls`: in scenario 1 both cost ratios
                    // are 1 up to rounding (Corollary 4).
                    l.price_ratio < f.price_ratio && l.cost_ratio <= f.cost_ratio * (1.0 + 1e-12)
                }
                _ => true,
            };
            facts.push(Claim::new(
                format!(
                    "scenario {s}: p*/p̄ and C*/C̄ fall towards 1 as n grows (at n = {}: {}, {})",
                    last.map_or(0, |r| r.n),
                    last.map_or("-".into(), |r| six_digits(r.price_ratio)),
                    last.map_or("-".into(), |r| six_digits(r.cost_ratio))
                ),
                falls && towards_one,
                format!(
                    "non-increasing over {} sizes: {falls}; last closer to 1 than the first: \
                     {towards_one}",
                    rs.len()
                ),
            ));
        }
        let s1 = by(1);
        let worst = s1
            .iter()
            .map(|r| (r.cost_ratio - 1.0).abs())
            .fold(0.0, f64::max);
        facts.push(Claim::new(
            "scenario 1 (homogeneous): C*/C̄ = 1 for every n (Corollary 4)",
            s1.iter()
                .all(|r| (r.cost_ratio - 1.0).abs() <= STUDY_CHECK_TOLERANCE),
            format!("largest |C*/C̄ − 1| = {worst:.3e} (tolerance {STUDY_CHECK_TOLERANCE:.0e})"),
        ));
        let (s2, s3) = (by(2), by(3));
        if let (Some(a), Some(b)) = (s2.first(), s3.first()) {
            facts.push(Claim::new(
                format!(
                    "small n (n = {}): scenario 2 is worse than scenario 3 (p*/p̄ {} vs {}, \
                     C*/C̄ {} vs {})",
                    a.n,
                    six_digits(a.price_ratio),
                    six_digits(b.price_ratio),
                    six_digits(a.cost_ratio),
                    six_digits(b.cost_ratio)
                ),
                a.price_ratio > b.price_ratio && a.cost_ratio > b.cost_ratio,
                "both ratios of scenario 2 above those of scenario 3",
            ));
        }
        if let (Some(a), Some(b)) = (s2.last(), s3.last()) {
            if a.n >= 21 {
                facts.push(Claim::new(
                    format!(
                        "large n (n = {}): scenario 3 has the larger ratios (p*/p̄ {} vs {}, \
                         C*/C̄ {} vs {})",
                        a.n,
                        six_digits(b.price_ratio),
                        six_digits(a.price_ratio),
                        six_digits(b.cost_ratio),
                        six_digits(a.cost_ratio)
                    ),
                    b.price_ratio > a.price_ratio && b.cost_ratio > a.cost_ratio,
                    "both ratios of scenario 3 above those of scenario 2",
                ));
            }
        }
        SweepStudyReport {
            study: "bidding-scenarios".into(),
            reproduces: "li-chen-dahleh-2015 §VII-B Figs. 3-6".into(),
            deficit,
            sizes,
            rows,
            facts,
        }
    }

    /// The rows of scenario `s`, by increasing `n`.
    pub fn scenario(&self, s: u8) -> Vec<&SweepRowReport> {
        self.rows.iter().filter(|r| r.scenario == s).collect()
    }

    /// Hard failures of the theorems every row must satisfy: `p*/p̄ ≥ 1` and `C*/C̄ ≥ 1`
    /// (Theorem 5), no unilateral gain above [`STUDY_CHECK_TOLERANCE`] at the Nash bids
    /// (eq. 13), and for scenario 1 `p*/p̄ = (n−1)/(n−2)`, `C* = C̄` (Corollary 4).
    pub fn violations(&self) -> Vec<String> {
        let tol = STUDY_CHECK_TOLERANCE;
        let mut out = Vec::new();
        for r in &self.rows {
            if r.price_ratio < 1.0 - tol || r.cost_ratio < 1.0 - tol {
                out.push(format!(
                    "scenario {} n = {}: p*/p̄ = {}, C*/C̄ = {} below 1 (Theorem 5)",
                    r.scenario, r.n, r.price_ratio, r.cost_ratio
                ));
            }
            if r.nash_max_relative_gain.is_nan() || r.nash_max_relative_gain > tol {
                out.push(format!(
                    "scenario {} n = {}: a customer gains {:.3e} by deviating from the Nash bids",
                    r.scenario, r.n, r.nash_max_relative_gain
                ));
            }
            if r.scenario == 1 {
                let nf = r.n as f64;
                let expected = (nf - 1.0) / (nf - 2.0);
                if relative_error(r.price_ratio, expected) > tol || (r.cost_ratio - 1.0).abs() > tol
                {
                    out.push(format!(
                        "scenario 1 n = {}: p*/p̄ = {} ≠ (n−1)/(n−2) = {expected} or C*/C̄ = {} \
                         ≠ 1 (Corollary 4)",
                        r.n, r.price_ratio, r.cost_ratio
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studies::scenario_sweep;

    #[test]
    fn sweep_report_checks_corollary_4_and_reads_back() {
        let sizes = vec![3, 5, 7];
        let sweep = scenario_sweep(10.0, &sizes).unwrap();
        let report = SweepStudyReport::new(10.0, sizes, &sweep.rows);
        assert!(report.violations().is_empty(), "{:?}", report.violations());
        // Corollary 4 by hand: homogeneous customers, p*/p̄ = (n−1)/(n−2) = 2 at n = 3.
        let s1 = report.scenario(1);
        assert!((s1[0].price_ratio - 2.0).abs() < 1e-9);
        assert!(s1[0].low_cost_load_competitive.is_none());
        let json = serde_json::to_string(&report).unwrap();
        let back: SweepStudyReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        // A row that breaks Theorem 5 is reported.
        let mut bad = report.clone();
        bad.rows[4].price_ratio = 0.5;
        assert!(bad.violations().iter().any(|v| v.contains("Theorem 5")));
    }
}
