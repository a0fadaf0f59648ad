//! Typed reports of the `dr` command (issue 13): what `dr solve`, `dr simulate`, the studies
//! and the demo section print, as one `Serialize + Deserialize` value each. The command
//! renders its text and its `--json` from the same value; nothing printed is computed
//! outside these builders.
//!
//! Units: prices in money per unit energy (DKK/kWh, EUR/kWh in the case studies), supplies
//! and demands in energy per period (kWh), budgets, payments and revenues in money over the
//! horizon. Tables `[k][t]` are company-major (company `k`, period `t`); per-class tables
//! `[n][k][t]` are per consumer of class `n`.

use crate::distributed::{DistributedRun, DistributedSettings, PriceUpdate, UpdateOrder};
use crate::equilibrium::{Clearing, Equilibrium, EquilibriumCase, EquilibriumChecks, PriceBound};
use crate::general::{GeneralEquilibrium, UtilityFamily};
use crate::scenario::{GeneralScenarioModel, ScenarioModel};
use crate::studies::{CaseStudy, DistributedStudy, PaperSettingStudy};
use dr_convex::{Certificate, Claim, Status, Termination};
use serde::{Deserialize, Serialize};

/// Relative tolerance of the printed identities (eq. 15, the budget balance).
pub const CLAIM_TOLERANCE: f64 = 1e-9;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// `max_j |p_j − q_j| / q_j` over two `[k][t]` tables (∞ when a price is not finite).
pub fn max_price_error(prices: &[Vec<f64>], reference: &[Vec<f64>]) -> f64 {
    prices
        .iter()
        .flatten()
        .zip(reference.iter().flatten())
        .map(|(a, b)| rel(*a, *b))
        .fold(0.0_f64, |m, x| {
            if x.is_finite() {
                m.max(x)
            } else {
                f64::INFINITY
            }
        })
}

pub use dr_convex::CertificateReport;

/// The power allocation game played before the Stackelberg game (Theorem 3, eq. 20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationReport {
    /// Allocated supplies `G_k(t)`, `[k][t]`.
    pub supply: Vec<Vec<f64>>,
    /// Revenues.
    pub revenues: Vec<f64>,
    /// Profits (revenue − generation cost).
    pub profits: Vec<f64>,
    /// Best-response rounds.
    pub rounds: usize,
    /// Status of the game's solve.
    pub status: Status,
    /// Largest unilateral gain (Nash check).
    pub max_gain: f64,
}

/// What a Stackelberg solve report is about (alshehri-liu-chen-basar §II): the scenario,
/// what was solved, the `T` periods, the `K` companies and the consumer classes by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSummary {
    /// `"stackelberg"`.
    pub model: String,
    /// The scenario file.
    pub file: String,
    /// What was solved.
    pub solved: String,
    /// `T`.
    pub periods: usize,
    /// Company names.
    pub companies: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
}

impl MarketSummary {
    fn new(
        file: &str,
        solved: &str,
        periods: usize,
        companies: &[String],
        classes: &[String],
    ) -> Self {
        Self {
            model: "stackelberg".into(),
            file: file.into(),
            solved: solved.into(),
            periods,
            companies: companies.to_vec(),
            classes: classes.to_vec(),
        }
    }
}

/// `dr solve` on a scenario with the paper's log consumers (§IV-B: eq. 10, eq. 14,
/// Theorem 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// The market solved.
    #[serde(flatten)]
    pub market: MarketSummary,
    /// Which case of the equilibrium applied.
    pub case: EquilibriumCase,
    /// Prices `p_k(t)`, `[k][t]`.
    pub prices: Vec<Vec<f64>>,
    /// Company revenues.
    pub revenues: Vec<f64>,
    /// `Σ revenues`.
    pub revenue_total: f64,
    /// Each company's share of `Σ budgets`.
    pub revenue_share: Vec<f64>,
    /// `Σ_n count_n B_n`.
    pub budget_total: f64,
    /// `G_k(t)`, `[k][t]`.
    pub supply: Vec<Vec<f64>>,
    /// `Σ_n count_n d_{n,k}(t)`, `[k][t]`.
    pub aggregate_demand: Vec<Vec<f64>>,
    /// Per-consumer demands `[n][k][t]`.
    pub demand: Vec<Vec<Vec<f64>>>,
    /// Consumers per class.
    pub count: Vec<f64>,
    /// `Σ count`.
    pub consumers_total: f64,
    /// Budgets used (after `"minimum"`).
    pub budget: Vec<f64>,
    /// Theorem 1's minimum budget at the equilibrium prices.
    pub minimum_budget: Vec<f64>,
    /// Energy per consumer `Σ d`.
    pub energy: Vec<f64>,
    /// Energy needs `E_n`.
    pub energy_need: Vec<f64>,
    /// Utility per consumer.
    pub utility: Vec<f64>,
    /// Payment per consumer.
    pub payment: Vec<f64>,
    /// Classes buying nothing on some entry (water-filling).
    pub water_filling_classes: Vec<usize>,
    /// Where each price sits (Remark 3), `[k][t]`.
    pub price_bound: Vec<Vec<PriceBound>>,
    /// The power allocation game, when played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<AllocationReport>,
    /// Market clearing.
    pub clearing: Clearing,
    /// The kernel certificate of the equilibrium.
    pub certificate: CertificateReport,
    /// The model's own checks.
    pub equilibrium_certificate: EquilibriumChecks,
    /// The printed identities with a verdict each (eq. 15, or with rationing the budget
    /// balance).
    pub claims: Vec<Claim>,
}

impl SolveReport {
    /// The report of `eq` solved on `model` from `file`.
    pub fn new(file: &str, model: &ScenarioModel, eq: &Equilibrium) -> Self {
        let cons = model.market.consumers();
        let revenue_total: f64 = eq.revenues.iter().sum();
        let clearing = eq.clearing.clone();
        let claim = if clearing.unspent_total == 0.0 {
            let gap = rel(revenue_total, eq.budget_total);
            Claim::new(
                "Σ revenues = Σ budgets (eq. 15)",
                gap <= CLAIM_TOLERANCE,
                format!("relative gap {gap:.2e} (tolerance {CLAIM_TOLERANCE:.0e})"),
            )
        } else {
            let gap = rel(revenue_total + clearing.unspent_total, eq.budget_total);
            Claim::new(
                "Σ revenues + Σ unspent budgets = Σ budgets",
                gap <= CLAIM_TOLERANCE,
                format!("relative gap {gap:.2e} (tolerance {CLAIM_TOLERANCE:.0e})"),
            )
        };
        Self {
            market: MarketSummary::new(
                file,
                "Stackelberg equilibrium (alshehri-liu-chen-basar §IV-B: eq. 10, eq. 14, \
                 Theorem 2)",
                model.market.periods(),
                &model.company_names,
                &model.consumer_names,
            ),
            case: eq.case,
            prices: eq.prices.clone(),
            revenue_share: eq.revenues.iter().map(|r| r / eq.budget_total).collect(),
            revenues: eq.revenues.clone(),
            revenue_total,
            budget_total: eq.budget_total,
            supply: eq.supply.clone(),
            aggregate_demand: eq.aggregate_demand.clone(),
            demand: eq.demand.clone(),
            count: cons.count.clone(),
            consumers_total: cons.count.iter().sum(),
            budget: model.budgets.clone(),
            minimum_budget: eq.minimum_budget.clone(),
            energy: eq.energy.clone(),
            energy_need: cons.energy_need.clone(),
            utility: eq.utility.clone(),
            payment: eq.payment.clone(),
            water_filling_classes: eq.water_filling_classes.clone(),
            price_bound: eq.price_bound.clone(),
            allocation: model.allocation.as_ref().map(|a| AllocationReport {
                supply: a.supply.clone(),
                revenues: a.revenues.clone(),
                profits: a.profits.clone(),
                rounds: a.rounds,
                status: a.status,
                max_gain: a.nash.max_gain,
            }),
            clearing,
            certificate: (&eq.certificate.certificate).into(),
            equilibrium_certificate: eq.certificate.checks,
            claims: vec![claim],
        }
    }
}

/// `dr solve` on a scenario with general consumers (§IX-A, §III; [`crate::solve_general_equilibrium`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralSolveReport {
    /// The market solved.
    #[serde(flatten)]
    pub market: MarketSummary,
    /// `"general"`: the closed forms do not apply.
    pub case: String,
    /// Each class's utility family.
    pub utility_family: Vec<UtilityFamily>,
    /// Consumers per class.
    pub count: Vec<f64>,
    /// Budgets.
    pub budget: Vec<f64>,
    /// Energy needs.
    pub energy_need: Vec<f64>,
    /// The paper's results that do not hold for these consumers.
    pub not_applicable: Vec<String>,
    /// The equilibrium (prices, demands, certificate, claims).
    #[serde(flatten)]
    pub equilibrium: GeneralEquilibrium,
}

/// The paper's results that need log consumers without demand bounds.
pub const GENERAL_NOT_APPLICABLE: [&str; 6] = [
    "eq. 10 / eq. 29 (closed-form demand)",
    "Theorem 1, eq. 11 (minimum budget)",
    "eqs. 13-14, Lemma 2 (closed-form, unique prices: uniqueness is not claimed)",
    "Theorem 2 (Nash equilibrium of the companies: checked numerically instead)",
    "Theorems 3, 4 and 6 (allocation game, eq. 21 convergence, network constraints)",
    "§VII asymptotics (eqs. 22-27, Theorem 5)",
];

impl GeneralSolveReport {
    /// The report of `eq` solved on `model` from `file`.
    pub fn new(file: &str, model: &GeneralScenarioModel, eq: GeneralEquilibrium) -> Self {
        let classes = model.market.classes();
        Self {
            market: MarketSummary::new(
                file,
                "clearing prices with general consumers (alshehri-liu-chen-basar §IX-A: \
                 non-logarithmic utilities; §III: period-specific demand bounds), numerically",
                model.market.periods(),
                &model.company_names,
                &model.consumer_names,
            ),
            case: "general".into(),
            utility_family: classes.iter().map(|c| c.utility).collect(),
            count: classes.iter().map(|c| c.count).collect(),
            budget: classes.iter().map(|c| c.budget).collect(),
            energy_need: classes.iter().map(|c| c.energy_need).collect(),
            not_applicable: GENERAL_NOT_APPLICABLE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            equilibrium: eq,
        }
    }
}

/// One round of a distributed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    /// Round number.
    pub round: usize,
    /// `max |D − G| / G` (wrong sign only at a bound).
    pub mismatch: f64,
    /// `max |p − p̄| / p̄` against the exact equilibrium (when prices were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_error: Option<f64>,
    /// Prices `[k][t]` (when recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<Vec<f64>>>,
    /// `p_k(0)` per company, for equal allocations (every period priced alike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_prices: Option<Vec<f64>>,
}

/// A (company, period) entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryIndex {
    /// Company `k`.
    pub company: usize,
    /// Period `t`.
    pub period: usize,
}

/// A distributed run (eq. 21 or an acceleration) against the exact equilibrium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// `"paper"`, `"secant"` or `"steffensen"`.
    pub rule: String,
    /// `δ` of eq. 21.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// Update order.
    pub order: UpdateOrder,
    /// Why the run stopped ([`Termination::name`]).
    pub termination: String,
    /// The entry whose price turned non-positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_at: Option<EntryIndex>,
    /// Rounds to convergence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged_after: Option<usize>,
    /// Rounds run.
    pub rounds_run: usize,
    /// `max |p − p̄| / p̄` at the end.
    pub max_price_error: f64,
    /// Final prices `[k][t]`.
    pub prices: Vec<Vec<f64>>,
    /// The exact equilibrium prices `[k][t]` the run is compared with.
    pub equilibrium_prices: Vec<Vec<f64>>,
    /// Every round.
    pub rounds: Vec<RoundReport>,
}

/// `(name, δ)` of a price update.
pub fn update_name(u: PriceUpdate) -> (&'static str, Option<f64>) {
    match u {
        PriceUpdate::Paper { delta } => ("paper", Some(delta)),
        PriceUpdate::Secant => ("secant", None),
        PriceUpdate::Steffensen => ("steffensen", None),
    }
}

impl RunReport {
    /// The report of `run` with update `update` against `equilibrium_prices`. With
    /// `period0_only` each round lists `company_prices[k] = p_k(0)` instead of the table.
    pub fn new(
        update: PriceUpdate,
        run: &DistributedRun,
        equilibrium_prices: &[Vec<f64>],
        period0_only: bool,
    ) -> Self {
        let (rule, delta) = update_name(update);
        Self {
            rule: rule.into(),
            delta,
            order: run.order,
            termination: run.termination.name().into(),
            termination_at: run
                .non_positive_entry()
                .map(|(company, period)| EntryIndex { company, period }),
            converged_after: (run.termination == Termination::Converged).then_some(run.rounds),
            rounds_run: run.rounds,
            max_price_error: max_price_error(&run.prices, equilibrium_prices),
            prices: run.prices.clone(),
            equilibrium_prices: equilibrium_prices.to_vec(),
            rounds: run
                .trace
                .iter()
                .map(|x| RoundReport {
                    round: x.round,
                    mismatch: x.mismatch,
                    price_error: x
                        .prices
                        .as_ref()
                        .map(|p| max_price_error(p, equilibrium_prices)),
                    prices: if period0_only { None } else { x.prices.clone() },
                    company_prices: if period0_only {
                        x.prices.as_ref().map(|p| {
                            p.iter()
                                .map(|row| row.first().copied().unwrap_or(f64::NAN))
                                .collect()
                        })
                    } else {
                        None
                    },
                })
                .collect(),
        }
    }

    /// A study's run.
    pub fn from_study(s: &DistributedStudy, period0_only: bool) -> Self {
        Self::new(s.update, &s.run, &s.equilibrium_prices, period0_only)
    }

    /// The price update this run used.
    pub fn update(&self) -> PriceUpdate {
        match (self.rule.as_str(), self.delta) {
            ("secant", _) => PriceUpdate::Secant,
            ("steffensen", _) => PriceUpdate::Steffensen,
            (_, d) => PriceUpdate::Paper {
                delta: d.unwrap_or(0.0),
            },
        }
    }

    /// True when the run converged.
    pub fn converged(&self) -> bool {
        self.converged_after.is_some()
    }

    /// The price of entry `(k, t)` in round `i` (from `prices` or `company_prices`).
    pub fn round_price(&self, i: usize, k: usize, t: usize) -> Option<f64> {
        let r = self.rounds.get(i)?;
        match (&r.prices, &r.company_prices) {
            (Some(p), _) => p.get(k)?.get(t).copied(),
            (None, Some(c)) => c.get(k).copied(),
            _ => None,
        }
    }
}

/// `dr simulate`: the distributed price algorithm (eq. 21, Theorem 4) against the exact
/// equilibrium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    /// `"stackelberg"`.
    pub model: String,
    /// The scenario file.
    pub file: String,
    /// What was simulated.
    pub simulated: String,
    /// Company names (the `k` of every `[k][t]` table).
    pub companies: Vec<String>,
    /// Most rounds.
    pub max_rounds: usize,
    /// Convergence tolerance on the mismatch.
    pub tolerance: f64,
    /// The run.
    #[serde(flatten)]
    pub run: RunReport,
    /// Certificate of the exact equilibrium (the run's reference).
    pub equilibrium_certificate: CertificateReport,
}

impl SimulationReport {
    /// The report of `run` with `settings` on `model` against its equilibrium `eq`.
    pub fn new(
        file: &str,
        model: &ScenarioModel,
        settings: &DistributedSettings,
        run: &DistributedRun,
        eq: &Equilibrium,
    ) -> Self {
        Self::with_reference(
            file,
            "distributed price algorithm (alshehri-liu-chen-basar eq. 21, Theorem 4)",
            &model.company_names,
            settings,
            run,
            &eq.prices,
            &eq.certificate.certificate,
        )
    }

    /// The report of `run` against reference prices `[k][t]` with their certificate (the
    /// general consumers' equilibrium, [`crate::solve_general_equilibrium`]).
    pub fn with_reference(
        file: &str,
        simulated: &str,
        companies: &[String],
        settings: &DistributedSettings,
        run: &DistributedRun,
        reference: &[Vec<f64>],
        certificate: &Certificate,
    ) -> Self {
        Self {
            model: "stackelberg".into(),
            file: file.into(),
            simulated: simulated.into(),
            companies: companies.to_vec(),
            max_rounds: settings.max_rounds,
            tolerance: settings.tolerance,
            run: RunReport::new(settings.update, run, reference, false),
            equilibrium_certificate: certificate.into(),
        }
    }
}

/// The distributed part of a case study (Figs. 5 and 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedReport {
    /// `"Fig. 5"` or `"Fig. 7"`.
    pub figure: String,
    /// Periods of the market the runs use (Fig. 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<usize>,
    /// Company names (Fig. 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companies: Option<Vec<String>>,
    /// Class budgets (Fig. 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_budgets: Option<Vec<f64>>,
    /// Consumers per class (Fig. 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_size: Option<f64>,
    /// The runs.
    pub runs: Vec<RunReport>,
}

/// A one-company field-trial study (§VIII: Figs. 3 and 6) with its distributed runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStudyReport {
    /// The study's `dr study` name.
    pub study: String,
    /// The study.
    #[serde(flatten)]
    pub case_study: CaseStudy,
    /// The distributed runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<DistributedReport>,
}

/// A paper-setting study (Figs. 5 and 7 with the paper's `δ` and `p(0)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperSettingReport {
    /// The study's `dr study` name.
    pub study: String,
    /// `"Fig. 5"` or `"Fig. 7"`.
    pub figure: String,
    /// The paper's setting in words.
    pub setting: String,
    /// `K`.
    pub companies: usize,
    /// `T`.
    pub periods: usize,
    /// `p(0)`.
    pub start_price: f64,
    /// Eq. 14's prices (flat).
    pub closed_form_prices: Vec<f64>,
    /// Per run, `max |p − p_eq14| / p_eq14`.
    pub closed_form_error: Vec<f64>,
    /// What the paper says about round counts.
    pub paper_rounds: String,
    /// Most rounds per run.
    pub max_rounds: usize,
    /// The runs.
    pub runs: Vec<RunReport>,
    /// The paper's claims with a verdict each.
    pub claims: Vec<Claim>,
}

impl PaperSettingReport {
    /// The report of `s` as study `key`.
    pub fn new(key: &str, setting: &str, paper_rounds: &str, s: &PaperSettingStudy) -> Self {
        Self {
            study: key.into(),
            figure: s.figure.clone(),
            setting: setting.into(),
            companies: s.companies,
            periods: s.periods,
            start_price: s.start_price,
            closed_form_prices: s.closed_form_prices.clone(),
            closed_form_error: s.closed_form_error.clone(),
            paper_rounds: paper_rounds.into(),
            max_rounds: crate::studies::PAPER_SETTING_MAX_ROUNDS,
            runs: s
                .runs
                .iter()
                .map(|r| RunReport::from_study(r, false))
                .collect(),
            claims: s.claims.clone(),
        }
    }
}

/// One `T` of the Fig. 4 study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodPointReport {
    /// `T`.
    pub periods: usize,
    /// `G_k / T` per company.
    pub supply_per_period: Vec<f64>,
    /// `p_k(0)` per company (equal allocations: every period alike).
    pub prices: Vec<f64>,
    /// Revenues.
    pub revenues: Vec<f64>,
    /// Utility per consumer of each class.
    pub utilities: Vec<f64>,
    /// Energy per consumer of each class.
    pub energy: Vec<f64>,
    /// Equilibrium case.
    pub case: EquilibriumCase,
    /// Classes buying nothing somewhere.
    pub water_filling_classes: Vec<usize>,
    /// Largest certificate residual.
    pub max_residual: f64,
}

/// The Fig. 4 study (`dr study periods`): the EcoGrid classes and companies for
/// `T = 1 … max`, and the paper's findings on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodsReport {
    /// `"periods"`.
    pub study: String,
    /// `"Fig. 4"`.
    pub figure: String,
    /// Company names.
    pub companies: Vec<String>,
    /// Company totals `G_k` (kWh over the day).
    pub company_totals: Vec<f64>,
    /// Class budgets (DKK).
    pub class_budgets: Vec<f64>,
    /// Consumers per class.
    pub class_size: Vec<f64>,
    /// `Σ count · B`.
    pub budget_total: f64,
    /// `T` of each point.
    pub periods: Vec<usize>,
    /// The points.
    pub points: Vec<PeriodPointReport>,
    /// Eq. 25's limit per class.
    pub utility_limit: Vec<Option<f64>>,
    /// Per class: utilities rise with `T`.
    pub utilities_rise_with_periods: Vec<bool>,
    /// Per class: the last utility is below eq. 25's limit.
    pub utilities_below_limit: Vec<bool>,
    /// Largest `|Σ revenues − B| / B` (eq. 15).
    pub max_revenue_budget_gap: f64,
    /// Largest relative spread of a company's prices across periods.
    pub max_price_spread_over_periods: f64,
    /// Largest certificate residual.
    pub max_residual: f64,
    /// The paper's findings on Fig. 4 with a verdict each.
    pub claims: Vec<Claim>,
}

impl PeriodsReport {
    /// The report of the sweep `points` on `totals` and `classes`, with eq. 25's `limits`.
    pub fn new(
        companies: &[&str],
        totals: &[f64],
        classes: &crate::ConsumerClasses,
        points: &[crate::PeriodPoint],
        limits: Vec<Option<f64>>,
    ) -> Self {
        let n_classes = classes.len();
        let budget_total: f64 = (0..n_classes)
            .map(|n| classes.count[n] * classes.budget[n])
            .sum();
        let rising: Vec<bool> = (0..n_classes)
            .map(|n| {
                points
                    .windows(2)
                    .all(|w| w[1].utilities[n] > w[0].utilities[n])
            })
            .collect();
        let below_limit: Vec<bool> = (0..n_classes)
            .map(
                |n| match (limits.get(n).copied().flatten(), points.last()) {
                    (Some(l), Some(p)) => p.utilities[n] < l,
                    _ => false,
                },
            )
            .collect();
        let max_revenue_budget_gap = points
            .iter()
            .map(|p| rel(p.revenues.iter().sum::<f64>(), budget_total))
            .fold(0.0_f64, f64::max);
        let max_residual = points.iter().map(|p| p.max_residual).fold(0.0, f64::max);
        let spread = points
            .iter()
            .flat_map(|p| p.prices.iter())
            .map(|row| {
                let lo = row.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = row.iter().copied().fold(0.0_f64, f64::max);
                rel(hi, lo)
            })
            .fold(0.0_f64, f64::max);
        let all_rise = rising.iter().all(|&b: &bool| b);
        let all_below = below_limit.iter().all(|&b: &bool| b);
        let t_max = points.last().map_or(0, |p| p.periods);
        let claims = vec![
            Claim::new(
                "Fig. 4 / eq. 24: every class's utility rises with the number of periods T",
                all_rise,
                format!("strictly increasing for every class over T = 1…{t_max}: {all_rise}"),
            ),
            Claim::new(
                "eq. 25: the utilities stay below their limit as T grows",
                all_below,
                format!("U(T = {t_max}) below the limit for every class: {all_below}"),
            ),
            Claim::new(
                "eq. 15: Σ revenues = Σ budgets for every T",
                max_revenue_budget_gap <= CLAIM_TOLERANCE,
                format!(
                    "largest relative gap {max_revenue_budget_gap:.1e} (tolerance \
                     {CLAIM_TOLERANCE:.0e})"
                ),
            ),
            Claim::new(
                "Theorem 3: with equal allocations each company charges the same price in every \
                 period",
                spread <= CLAIM_TOLERANCE,
                format!("largest relative spread across periods {spread:.1e}"),
            ),
        ];
        Self {
            claims,
            study: "periods".into(),
            figure: "Fig. 4".into(),
            companies: companies.iter().map(|c| c.to_string()).collect(),
            company_totals: totals.to_vec(),
            class_budgets: classes.budget.clone(),
            class_size: classes.count.clone(),
            budget_total,
            periods: points.iter().map(|p| p.periods).collect(),
            points: points
                .iter()
                .map(|p| PeriodPointReport {
                    periods: p.periods,
                    supply_per_period: p.supply_per_period.clone(),
                    prices: p
                        .prices
                        .iter()
                        .map(|r| r.first().copied().unwrap_or(f64::NAN))
                        .collect(),
                    revenues: p.revenues.clone(),
                    utilities: p.utilities.clone(),
                    energy: p.energy.clone(),
                    case: p.case,
                    water_filling_classes: p.water_filling_classes.clone(),
                    max_residual: p.max_residual,
                })
                .collect(),
            utility_limit: limits,
            utilities_rise_with_periods: rising,
            utilities_below_limit: below_limit,
            max_revenue_budget_gap,
            max_price_spread_over_periods: spread,
            max_residual,
        }
    }
}

/// The `dr demo` section on the EcoGrid EU day (§VIII-A): every printed number checked
/// against an independent computation (by hand in the builder) or a statement of the paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcogridDemoReport {
    /// What was solved.
    pub solved: String,
    /// `N`.
    pub consumers: usize,
    /// `T`.
    pub periods: usize,
    /// `G(t)` (kW).
    pub supply: Vec<f64>,
    /// `E = Σ G / N` (kWh).
    pub energy_need: f64,
    /// Budget per consumer (DKK).
    pub budget_per_consumer: f64,
    /// Equilibrium prices (DKK/kWh).
    pub prices: Vec<f64>,
    /// The experiment's prices (DKK/kWh).
    pub experiment_prices: Vec<f64>,
    /// Demand per consumer `d(t)` (kWh).
    pub demand_per_consumer: Vec<f64>,
    /// Mean equilibrium price.
    pub price_mean: f64,
    /// Its standard deviation.
    pub price_std: f64,
    /// Mean experiment price.
    pub experiment_price_mean: f64,
    /// Its standard deviation.
    pub experiment_price_std: f64,
    /// `Σ p(t) G(t)` (DKK).
    pub revenue: f64,
    /// Payment per consumer at equilibrium (DKK).
    pub payment_equilibrium: f64,
    /// Payment per consumer in the experiment (DKK).
    pub payment_experiment: f64,
    /// `1 − payment / experiment's payment`.
    pub savings_fraction: f64,
    /// Rounds of eq. 21 (δ = 0) to convergence.
    pub distributed_rounds: usize,
    /// Its final `max |p − p̄| / p̄`.
    pub distributed_price_error: f64,
    /// Whether eq. 21 converged.
    pub distributed_converged: bool,
    /// The equilibrium's certificate.
    pub certificate: CertificateReport,
    /// The checks, each a claim with its verdict.
    pub claims: Vec<Claim>,
}

/// Builds the EcoGrid demo report (see [`EcogridDemoReport`]).
///
/// Errors: the data's and the solvers' errors.
pub fn ecogrid_demo() -> Result<EcogridDemoReport, crate::StackelbergError> {
    use crate::{best_response, simulate, studies, Company, ConsumerClasses, Market, Preferences};
    let s = studies::ecogrid_eu_day()?;
    let n = s.consumers as f64;
    let t_n = s.periods as f64;
    let g = &s.supply;
    let p = &s.prices;
    let pe = &s.experiment_prices;
    let b = s.budget_per_consumer;
    let tol = 1e-9;
    let mut claims = Vec::new();
    let mut add = |claim: &str, fails: Vec<String>, evidence: String| {
        let holds = fails.is_empty();
        claims.push(Claim::new(
            claim,
            holds,
            if holds { evidence } else { fails.join("; ") },
        ));
    };
    // Prices are positive and equal eq. 14 recomputed here: K = 1, ζ = γ = 1, Z = N,
    // p(t) = N B / (T (G(t) + N) (1 − N H)), H = Σ_t 1 / (T (G(t) + N)).
    let h: f64 = g.iter().map(|gt| 1.0 / (t_n * (gt + n))).sum();
    let mut fails = Vec::new();
    for (t, (pt, gt)) in p.iter().zip(g).enumerate() {
        let qt = n * b / (t_n * (gt + n) * (1.0 - n * h));
        if pt.is_nan() || *pt <= 0.0 {
            fails.push(format!("p({t}) = {pt} is not positive"));
        }
        if rel(*pt, qt) > 1e-10 {
            fails.push(format!("p({t}) = {pt} ≠ eq. 14 recomputed {qt}"));
        }
    }
    add(
        "every price is positive and equals eq. 14 recomputed by hand",
        fails,
        "24 hours, relative tolerance 1e-10".into(),
    );
    // The market clears: N d(t) = G(t).
    let fails = s
        .demand_per_consumer
        .iter()
        .zip(g)
        .enumerate()
        .filter(|(_, (d, gt))| rel(n * *d, **gt) > tol)
        .map(|(t, (d, gt))| format!("N d({t}) = {} ≠ G({t}) = {gt}", n * d))
        .collect();
    add(
        "the market clears: N d(t) = G(t) every hour",
        fails,
        "relative tolerance 1e-9".into(),
    );
    // Eq. 15.
    let revenue: f64 = p.iter().zip(g).map(|(a, c)| a * c).sum();
    let gap = rel(revenue, n * b);
    add(
        "eq. 15: the company's revenue Σ p G equals the budgets N B",
        if gap <= tol {
            vec![]
        } else {
            vec![format!("revenue {revenue} ≠ N B = {}", n * b)]
        },
        format!("relative gap {gap:.1e}"),
    );
    // Theorem 1 / eq. 11 by hand at the experiment's prices (K = 1, ζ = 1).
    let energy = s.energy_need;
    let inv: f64 = pe.iter().map(|q| 1.0 / (t_n * q)).sum();
    let eq11 = (energy + t_n) / inv - pe.iter().sum::<f64>();
    let mut fails = Vec::new();
    if rel(b, eq11) > 1e-10 {
        fails.push(format!("budget {b} ≠ eq. 11 recomputed {eq11}"));
    }
    if (b - 7.55).abs() >= 0.005 {
        fails.push(format!("budget {b} is not the paper's 7.55 DKK"));
    }
    add(
        "the budget is eq. 11 at the experiment's prices, the paper's 7.55 DKK (Theorem 1)",
        fails,
        format!("B = {b:.4} DKK, eq. 11 by hand {eq11:.4}"),
    );
    let prefs = Preferences::uniform(1.0, 1.0);
    let at = best_response(pe, b * (1.0 + 1e-9), prefs)?;
    let below = best_response(pe, b * (1.0 - 1e-6), prefs)?;
    add(
        "the budget is the least that meets the energy need E at the experiment's prices",
        if at.energy >= energy * (1.0 - 1e-12) && below.energy < energy {
            vec![]
        } else {
            vec![format!(
                "energy {} at B, {} just below, need {energy}",
                at.energy, below.energy
            )]
        },
        format!(
            "energy {:.6} at B, {:.6} just below, need {energy:.6}",
            at.energy, below.energy
        ),
    );
    let (m_eq, sd_eq) = studies::mean_std(p);
    let (m_ex, sd_ex) = studies::mean_std(pe);
    let mut fails = Vec::new();
    if rel(m_eq, s.price_mean) > 1e-12 || rel(sd_eq, s.price_std) > 1e-12 {
        fails.push("equilibrium mean/sd".to_string());
    }
    if rel(m_ex, s.experiment_price_mean) > 1e-12 || rel(sd_ex, s.experiment_price_std) > 1e-12 {
        fails.push("experiment mean/sd".to_string());
    }
    if !(m_eq < m_ex && sd_eq < sd_ex) {
        fails.push(format!(
            "prices: mean {m_eq} vs {m_ex}, sd {sd_eq} vs {sd_ex}"
        ));
    }
    add(
        "§VIII-A: the equilibrium prices have a lower mean and a lower spread than the \
         experiment's",
        fails,
        format!("mean {m_eq:.4} vs {m_ex:.4}, sd {sd_eq:.4} vs {sd_ex:.4} DKK/kWh"),
    );
    let pay_eq: f64 = p
        .iter()
        .zip(&s.demand_per_consumer)
        .map(|(a, d)| a * d)
        .sum();
    let pay_ex: f64 = pe.iter().zip(g).map(|(a, c)| a * c / n).sum();
    let savings = 1.0 - pay_eq / pay_ex;
    let mut fails = Vec::new();
    if rel(pay_eq, b) > tol {
        fails.push(format!("payment {pay_eq} ≠ budget {b}"));
    }
    if rel(pay_ex, s.payment_experiment) > 1e-12 || rel(savings, s.savings_fraction) > 1e-9 {
        fails.push(format!("savings {savings} ≠ {}", s.savings_fraction));
    }
    if savings <= 0.0 {
        fails.push(format!("savings {savings} ≤ 0"));
    }
    add(
        "each consumer pays its budget at equilibrium, less than in the experiment for the \
         same energy (savings > 0)",
        fails,
        format!(
            "{pay_eq:.4} vs {pay_ex:.4} DKK: savings {:.1}%",
            100.0 * savings
        ),
    );
    let market = Market::new(
        s.periods,
        vec![Company::new(g.clone())],
        ConsumerClasses::homogeneous(n, b, energy),
    )?;
    let run = simulate(&market, &crate::DistributedSettings::default())?;
    let run_error = max_price_error(&run.prices, std::slice::from_ref(&s.prices));
    let converged = run.termination == Termination::Converged;
    add(
        "eq. 21 (δ = 0) converges to the same prices (Theorem 4)",
        if converged && run_error <= 1e-6 {
            vec![]
        } else {
            vec![format!(
                "eq. 21 run: {:?} after {} rounds, price error {run_error}",
                run.termination, run.rounds
            )]
        },
        format!("{} rounds, max price error {run_error:.1e}", run.rounds),
    );
    let cert = s.certificate.certificate;
    add(
        "the equilibrium's certificate holds",
        if cert.holds(tol) {
            vec![]
        } else {
            vec![format!("{cert:?}")]
        },
        format!("max residual {:.1e}", cert.max_residual()),
    );
    Ok(EcogridDemoReport {
        solved: "Stackelberg equilibrium of the EcoGrid EU day (alshehri-liu-chen-basar \
                 §VIII-A, eq. 14)"
            .into(),
        consumers: s.consumers,
        periods: s.periods,
        supply: g.clone(),
        energy_need: energy,
        budget_per_consumer: b,
        prices: p.clone(),
        experiment_prices: pe.clone(),
        demand_per_consumer: s.demand_per_consumer.clone(),
        price_mean: m_eq,
        price_std: sd_eq,
        experiment_price_mean: m_ex,
        experiment_price_std: sd_ex,
        revenue,
        payment_equilibrium: pay_eq,
        payment_experiment: pay_ex,
        savings_fraction: savings,
        distributed_rounds: run.rounds,
        distributed_price_error: run_error,
        distributed_converged: converged,
        certificate: (&cert).into(),
        claims,
    })
}

/// Names of the four EcoGrid companies (§VIII-A: wind, biomass, solar, biogas).
pub const ECOGRID_COMPANY_NAMES: [&str; 4] = ["wind", "biomass", "solar", "biogas"];
/// Periods of the EcoGrid class market of `dr study ecogrid`'s distributed runs.
pub const ECOGRID_STUDY_PERIODS: usize = 24;
/// The price updates of `dr study ecogrid`'s distributed runs: larger δ converges more
/// slowly; negative δ carries no guarantee (Theorem 4); Steffensen's acceleration.
pub const ECOGRID_STUDY_UPDATES: [PriceUpdate; 5] = [
    PriceUpdate::Paper { delta: 0.0 },
    PriceUpdate::Paper { delta: 5e3 },
    PriceUpdate::Paper { delta: 2e4 },
    PriceUpdate::Paper { delta: -5e3 },
    PriceUpdate::Steffensen,
];

fn recorded_runs(
    market: &crate::Market,
    updates: &[PriceUpdate],
    period0_only: bool,
) -> Result<Vec<RunReport>, crate::StackelbergError> {
    let runs = crate::studies::distributed_study(
        market,
        updates,
        &DistributedSettings {
            record_prices: true,
            ..DistributedSettings::default()
        },
    )?;
    Ok(runs
        .iter()
        .map(|r| RunReport::from_study(r, period0_only))
        .collect())
}

/// `dr study ecogrid`: the EcoGrid EU day (Fig. 3) and the distributed algorithm on the
/// EcoGrid classes (Fig. 5, [`ECOGRID_STUDY_UPDATES`], `T = 24`, start at `B / Σ G`).
///
/// Errors: the data's and the solvers' errors.
pub fn ecogrid_study() -> Result<CaseStudyReport, crate::StackelbergError> {
    let s = crate::studies::ecogrid_eu_day()?;
    let market = crate::studies::ecogrid_classes_market(ECOGRID_STUDY_PERIODS)?;
    let runs = recorded_runs(&market, &ECOGRID_STUDY_UPDATES, true)?;
    Ok(CaseStudyReport {
        study: "ecogrid".into(),
        case_study: s,
        distributed: Some(DistributedReport {
            figure: "Fig. 5".into(),
            periods: Some(ECOGRID_STUDY_PERIODS),
            companies: Some(
                ECOGRID_COMPANY_NAMES
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            ),
            class_budgets: Some(crate::studies::ECOGRID_CLASS_BUDGETS.to_vec()),
            class_size: Some(crate::studies::ECOGRID_CLASS_SIZE),
            runs,
        }),
    })
}

/// `dr study dutch-pilot`: the Dutch pilot day (Fig. 6) and eq. 21 (δ = 0) and Steffensen's
/// acceleration on the same market (Fig. 7, start at `B / Σ G`).
///
/// Errors: the data's and the solvers' errors.
pub fn dutch_pilot_study() -> Result<CaseStudyReport, crate::StackelbergError> {
    let s = crate::studies::dutch_pilot_day()?;
    let market = crate::studies::case_study_market(&s)?;
    let updates = [PriceUpdate::Paper { delta: 0.0 }, PriceUpdate::Steffensen];
    let runs = recorded_runs(&market, &updates, false)?;
    Ok(CaseStudyReport {
        study: "dutch-pilot".into(),
        case_study: s,
        distributed: Some(DistributedReport {
            figure: "Fig. 7".into(),
            periods: None,
            companies: None,
            class_budgets: None,
            class_size: None,
            runs,
        }),
    })
}
