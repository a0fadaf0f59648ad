//! The case studies of alshehri-liu-chen-basar §VIII, on the embedded data
//! ([`crate::data`]).
//!
//! **EcoGrid EU** (§VIII-A): `T = 24`, `N = 2000` identical consumers, `K = 1`; supply
//! `G(t)` = the experiment's flexible power; energy need `E = Σ_t G(t) / N`; budget = the
//! minimum budget of Theorem 1 (eq. 11) at the experiment's prices (DKK/MWh ÷ 1000). The
//! equilibrium (eq. 14) gives every consumer `G(t)/N` in each hour — the experiment's
//! demand — so the payments compare like for like: the experiment's
//! `Σ_t p_exp(t) G(t)/N` against the budget `B`, fully spent (eq. 15). Then 5 budget classes
//! (4, 5, 6, 7, 8 DKK, 400 consumers each; no energy need) and `K = 4` companies owning
//! 36/59, 16/59, 5/59 and 2/59 of the day's energy (wind, biomass, solar, biogas), with
//! equal allocations (Theorem 3) for `T = 1…50` (Fig. 4) and the distributed algorithm
//! (Fig. 5).
//!
//! **Dutch pilot** (§VIII-B): `T = 24`, `N = 77`, `K = 1`, `G(t) = 77 × W(t) / 1000` kW,
//! `E = Σ_t G(t)/N`, budget from Theorem 1 at the day-ahead tariff (EUR/kWh); distributed
//! runs (Fig. 7).
//!
//! **Theorem 1 with `d ≥ 0`.** Eq. 11 is the minimum budget when eq. 10's demands are all
//! non-negative. At the Dutch tariff they are not (the evening peak at 0.36 EUR/kWh would get
//! a negative demand), so eq. 11 understates the budget the consumer needs to meet `E` at
//! those prices; the studies use the exact minimum ([`minimum_budget`]) and also report
//! eq. 11's value and the savings it would imply ([`CaseStudy::savings_fraction_eq11`]).
//! For EcoGrid EU the two coincide.
//!
//! Means and standard deviations are over the 24 hours (population standard deviation).
//!
//! **The paper's own settings of Figs. 5 and 7** ([`ecogrid_fig5`], [`dutch_pilot_fig7`]):
//! the distributed algorithm (eq. 21, companies updating one after another, §VI) with the
//! paper's `δ` and starting price `p(0)` (Fig. 5: the EcoGrid classes, `K = 4`, `T = 1`,
//! `δ = 1000` and `10 000`, `p(0) = 5`; Fig. 7: the Dutch pilot, `δ = 100` and `1000`,
//! `p(0) = 0.5`). Each returns the paper's qualitative statements about the figure
//! ([`dr_convex::Claim`]) with a verdict computed from the runs' traces: convergence to eq. 14's
//! closed-form prices (Theorem 4), positive prices throughout, and slower convergence for a
//! larger `δ` (§VIII-A). The existing `ecogrid_distributed`/`dutch_distributed` runs keep
//! their own settings (`T = 24`, start at `B / Σ G`).

use crate::asymptotics::{period_sweep, PeriodSweep};
use crate::consumer::{closed_form_demand, minimum_budget, minimum_budget_closed_form};
use crate::data::{DutchPilotDay, EcoGridDay};
use crate::distributed::{simulate, DistributedRun, DistributedSettings, PriceUpdate};
use crate::equilibrium::{
    solve_equilibrium, EquilibriumCase, EquilibriumChecks, EquilibriumSettings,
};
use crate::error::StackelbergError;
use crate::model::{Company, ConsumerClasses, Market, Preferences};
use crate::report::CertificateReport;
use dr_convex::{check_len, check_positive, Claim};
use serde::{Deserialize, Serialize};

/// Number of EcoGrid EU consumers.
pub const ECOGRID_CONSUMERS: usize = 2000;
/// Budgets (DKK) of the five EcoGrid consumer classes.
pub const ECOGRID_CLASS_BUDGETS: [f64; 5] = [4.0, 5.0, 6.0, 7.0, 8.0];
/// Consumers per EcoGrid class.
pub const ECOGRID_CLASS_SIZE: f64 = 400.0;
/// Shares of the day's energy of the four EcoGrid companies (wind, biomass, solar, biogas).
pub const ECOGRID_COMPANY_SHARES: [f64; 4] = [36.0 / 59.0, 16.0 / 59.0, 5.0 / 59.0, 2.0 / 59.0];
/// Households of the Dutch pilot.
pub const DUTCH_HOUSEHOLDS: usize = 77;

/// Mean and population standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A single-company case study: equilibrium prices against the experiment's. It is what
/// `dr study ecogrid | dutch-pilot` reports ([`crate::CaseStudyReport`] flattens it), so it
/// reads back from that JSON (`Deserialize`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStudy {
    /// Name of the study.
    pub name: String,
    /// Currency of prices and payments.
    pub currency: String,
    /// `N`.
    pub consumers: usize,
    /// `T`.
    pub periods: usize,
    /// Supply `G(t)` (kW, i.e. kWh per hour).
    pub supply: Vec<f64>,
    /// Energy need per consumer `E = Σ G / N` (kWh).
    pub energy_need: f64,
    /// Equilibrium prices `p(t)` (eq. 14), per kWh.
    pub prices: Vec<f64>,
    /// The experiment's prices, per kWh.
    pub experiment_prices: Vec<f64>,
    /// Budget per consumer: the exact minimum budget of Theorem 1 at the experiment's
    /// prices, with `d ≥ 0` ([`minimum_budget`]).
    pub budget_per_consumer: f64,
    /// Eq. 11's closed-form minimum budget at the experiment's prices (equals
    /// `budget_per_consumer` when `eq11_valid`).
    pub budget_eq11: f64,
    /// Whether eq. 10's demand at the eq. 11 budget is non-negative at every experiment
    /// price (otherwise eq. 11 understates the budget that meets the energy need).
    pub eq11_valid: bool,
    /// `1 − payment_equilibrium / payment_experiment`.
    pub savings_fraction: f64,
    /// The savings fraction had the budget been eq. 11's, `1 − budget_eq11 / payment_experiment`.
    pub savings_fraction_eq11: f64,
    /// Equilibrium demand per consumer `d(t)`.
    pub demand_per_consumer: Vec<f64>,
    /// Per consumer payment at equilibrium, `Σ p(t) d(t)`.
    pub payment_equilibrium: f64,
    /// Per consumer payment in the experiment, `Σ p_exp(t) G(t) / N`.
    pub payment_experiment: f64,
    /// All consumers' payment per hour at equilibrium, `p(t) Σ_n d_n(t)`.
    pub hourly_payment_equilibrium: Vec<f64>,
    /// All consumers' payment per hour in the experiment, `p_exp(t) G(t)`.
    pub hourly_payment_experiment: Vec<f64>,
    /// Mean of the equilibrium prices.
    pub price_mean: f64,
    /// Standard deviation of the equilibrium prices.
    pub price_std: f64,
    /// Mean of the experiment's prices.
    pub experiment_price_mean: f64,
    /// Standard deviation of the experiment's prices.
    pub experiment_price_std: f64,
    /// Which case of the equilibrium applied.
    pub case: EquilibriumCase,
    /// The company's revenue `Σ_t p(t) G(t)` (eq. 15: the consumers' budgets).
    pub revenues: Vec<f64>,
    /// The kernel certificate of the equilibrium.
    pub certificate: CertificateReport,
    /// The model's own checks of the equilibrium (system (13), eq. 14, clearing, budgets,
    /// consumer KKT).
    pub equilibrium_certificate: EquilibriumChecks,
}

/// A case study from any hourly supply and experiment price series (same length `T`), for
/// `consumers` identical consumers and one company (§VIII's method).
///
/// Errors: mismatched lengths, non-positive values, the equilibrium's errors.
pub fn case_study(
    name: &str,
    currency: &str,
    supply: Vec<f64>,
    experiment_prices: Vec<f64>,
    consumers: usize,
    settings: &EquilibriumSettings,
) -> Result<CaseStudy, StackelbergError> {
    check_len(
        || "experiment_prices".into(),
        supply.len(),
        experiment_prices.len(),
    )?;
    check_positive(|| "consumers".into(), consumers as f64)?;
    for (t, &p) in experiment_prices.iter().enumerate() {
        check_positive(|| format!("experiment_prices[{t}]"), p)?;
    }
    let n = consumers as f64;
    let periods = supply.len();
    let energy_need = supply.iter().sum::<f64>() / n;
    let budget = minimum_budget(
        &experiment_prices,
        energy_need,
        Preferences::uniform(1.0, 1.0),
    )?;
    let budget_eq11 = minimum_budget_closed_form(&experiment_prices, energy_need, 1.0)?;
    let eq11_valid = closed_form_demand(
        &experiment_prices,
        budget_eq11,
        Preferences::uniform(1.0, 1.0),
    )?
    .iter()
    .all(|&d| d >= 0.0);
    let market = Market::new(
        periods,
        vec![Company::new(supply.clone())],
        ConsumerClasses::homogeneous(n, budget, energy_need),
    )?;
    let equilibrium = solve_equilibrium(&market, settings)?;
    let prices = equilibrium.prices[0].clone();
    let demand_per_consumer = equilibrium
        .demand
        .first()
        .and_then(|d| d.first())
        .cloned()
        .unwrap_or_else(|| {
            equilibrium.aggregate_demand[0]
                .iter()
                .map(|d| d / n)
                .collect()
        });
    let payment_equilibrium: f64 = prices
        .iter()
        .zip(&demand_per_consumer)
        .map(|(p, d)| p * d)
        .sum();
    let payment_experiment: f64 = experiment_prices
        .iter()
        .zip(&supply)
        .map(|(p, g)| p * g / n)
        .sum();
    let hourly_payment_equilibrium = prices
        .iter()
        .zip(&equilibrium.aggregate_demand[0])
        .map(|(p, d)| p * d)
        .collect();
    let hourly_payment_experiment = experiment_prices
        .iter()
        .zip(&supply)
        .map(|(p, g)| p * g)
        .collect();
    let (price_mean, price_std) = mean_std(&prices);
    let (experiment_price_mean, experiment_price_std) = mean_std(&experiment_prices);
    Ok(CaseStudy {
        name: name.to_string(),
        currency: currency.to_string(),
        consumers,
        periods,
        supply,
        energy_need,
        prices,
        experiment_prices,
        budget_per_consumer: budget,
        budget_eq11,
        eq11_valid,
        savings_fraction_eq11: 1.0 - budget_eq11 / payment_experiment,
        demand_per_consumer,
        savings_fraction: 1.0 - payment_equilibrium / payment_experiment,
        payment_equilibrium,
        payment_experiment,
        hourly_payment_equilibrium,
        hourly_payment_experiment,
        price_mean,
        price_std,
        experiment_price_mean,
        experiment_price_std,
        case: equilibrium.case,
        certificate: (&equilibrium.certificate.certificate).into(),
        equilibrium_certificate: equilibrium.certificate.checks,
        revenues: equilibrium.revenues,
    })
}

/// The EcoGrid EU day (§VIII-A, Fig. 3).
pub fn ecogrid_eu_day() -> Result<CaseStudy, StackelbergError> {
    let day = EcoGridDay::embedded()?;
    case_study(
        "EcoGrid EU, 5 Dec 2014",
        "DKK",
        day.flexible_power_kw.clone(),
        day.price_dkk_per_kwh(),
        ECOGRID_CONSUMERS,
        &EquilibriumSettings::default(),
    )
}

/// The Dutch pilot day (§VIII-B, Fig. 6).
pub fn dutch_pilot_day() -> Result<CaseStudy, StackelbergError> {
    let day = DutchPilotDay::embedded()?;
    case_study(
        "Dutch smart-grid pilot",
        "EUR",
        day.supply_kw(DUTCH_HOUSEHOLDS as f64),
        day.price_eur_per_kwh.clone(),
        DUTCH_HOUSEHOLDS,
        &EquilibriumSettings::default(),
    )
}

/// The EcoGrid heterogeneous setting: company totals (shares of the day's energy) and the
/// five budget classes (no energy need).
pub fn ecogrid_classes() -> Result<(Vec<f64>, ConsumerClasses), StackelbergError> {
    let day = EcoGridDay::embedded()?;
    let total: f64 = day.flexible_power_kw.iter().sum();
    let totals = ECOGRID_COMPANY_SHARES.iter().map(|s| s * total).collect();
    let classes = ConsumerClasses::new(
        vec![ECOGRID_CLASS_SIZE; ECOGRID_CLASS_BUDGETS.len()],
        ECOGRID_CLASS_BUDGETS.to_vec(),
        vec![0.0; ECOGRID_CLASS_BUDGETS.len()],
    );
    Ok((totals, classes))
}

/// The EcoGrid class market for `T` periods with equal allocations (Theorem 3).
pub fn ecogrid_classes_market(periods: usize) -> Result<Market, StackelbergError> {
    let (totals, classes) = ecogrid_classes()?;
    let t = periods.max(1) as f64;
    Market::new(
        periods,
        totals
            .iter()
            .map(|g| Company::new(vec![g / t; periods]))
            .collect(),
        classes,
    )
}

/// Fig. 4: the EcoGrid classes and companies for each `T` in `periods`.
pub fn ecogrid_period_sweep(periods: &[usize]) -> Result<PeriodSweep, StackelbergError> {
    let (totals, classes) = ecogrid_classes()?;
    period_sweep(&totals, &classes, periods, &EquilibriumSettings::default())
}

/// One distributed run against the exact equilibrium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistributedStudy {
    /// The update rule.
    pub update: PriceUpdate,
    /// The run (trace, termination).
    pub run: DistributedRun,
    /// The exact equilibrium prices `[k][t]`.
    pub equilibrium_prices: Vec<Vec<f64>>,
    /// `max |p_run − p_eq| / p_eq` at the end of the run.
    pub max_price_error: f64,
}

/// Runs the distributed algorithm on `market` once per update rule and compares with the
/// exact equilibrium.
pub fn distributed_study(
    market: &Market,
    updates: &[PriceUpdate],
    settings: &DistributedSettings,
) -> Result<Vec<DistributedStudy>, StackelbergError> {
    let eq_settings = EquilibriumSettings {
        check_energy_need: false,
        ..EquilibriumSettings::default()
    };
    let eq = solve_equilibrium(market, &eq_settings)?;
    updates
        .iter()
        .map(|&update| {
            let run = simulate(
                market,
                &DistributedSettings {
                    update,
                    ..settings.clone()
                },
            )?;
            let max_price_error = run
                .prices
                .iter()
                .flatten()
                .zip(eq.prices.iter().flatten())
                .map(|(a, b)| (a - b).abs() / b)
                .fold(
                    0.0_f64,
                    |m, x| if x.is_nan() { f64::INFINITY } else { m.max(x) },
                );
            Ok(DistributedStudy {
                update,
                run,
                equilibrium_prices: eq.prices.clone(),
                max_price_error,
            })
        })
        .collect()
}

/// Fig. 5: the distributed algorithm on the EcoGrid classes with `T` periods.
pub fn ecogrid_distributed(
    periods: usize,
    updates: &[PriceUpdate],
) -> Result<Vec<DistributedStudy>, StackelbergError> {
    let market = ecogrid_classes_market(periods)?;
    distributed_study(&market, updates, &DistributedSettings::default())
}

/// Fig. 7: the distributed algorithm on the Dutch pilot.
pub fn dutch_distributed(
    updates: &[PriceUpdate],
) -> Result<Vec<DistributedStudy>, StackelbergError> {
    let study = dutch_pilot_day()?;
    let market = case_study_market(&study)?;
    distributed_study(&market, updates, &DistributedSettings::default())
}

/// The market of a one-company field trial: its supply, and its consumers as one homogeneous
/// class with the trial's budget and energy need (§VIII, eq. 8 with `K = 1`).
pub(crate) fn case_study_market(study: &CaseStudy) -> Result<Market, StackelbergError> {
    Market::new(
        study.periods,
        vec![Company::new(study.supply.clone())],
        ConsumerClasses::homogeneous(
            study.consumers as f64,
            study.budget_per_consumer,
            study.energy_need,
        ),
    )
}

/// The distributed algorithm on the EcoGrid EU day (one company, 2000 consumers).
pub fn ecogrid_day_distributed(
    updates: &[PriceUpdate],
) -> Result<Vec<DistributedStudy>, StackelbergError> {
    let study = ecogrid_eu_day()?;
    let market = case_study_market(&study)?;
    distributed_study(&market, updates, &DistributedSettings::default())
}

// ---------------------------------------------------------------------------------------
// The distributed studies with the paper's own settings (Figs. 5 and 7).

/// Fig. 5's periods: the paper runs its algorithm on the EcoGrid classes with `T = 1`.
pub const FIG5_PERIODS: usize = 1;
/// Fig. 5's `δ` values (§VIII-A: "δ = 1000 … Next, we increase δ to 10 000").
pub const FIG5_DELTAS: [f64; 2] = [1000.0, 10_000.0];
/// Fig. 5's starting price `p(0)` (DKK/kWh) for every company.
pub const FIG5_START_PRICE: f64 = 5.0;
/// Fig. 7's `δ` values (Dutch pilot).
pub const FIG7_DELTAS: [f64; 2] = [100.0, 1000.0];
/// Fig. 7's starting price `p(0)` (EUR/kWh) in every hour.
pub const FIG7_START_PRICE: f64 = 0.5;
/// Most rounds of the paper-setting runs (large `δ` takes small steps; Theorem 4 only
/// promises convergence, not a rate).
pub const PAPER_SETTING_MAX_ROUNDS: usize = 100_000;
/// A run "reaches the equilibrium" when `max |p − p̄| / p̄ ≤` this against eq. 14's prices.
pub const PAPER_SETTING_PRICE_TOLERANCE: f64 = 1e-6;

/// A distributed study with the paper's own `δ` values and starting price (Figs. 5 and 7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperSettingStudy {
    /// `"Fig. 5"` or `"Fig. 7"`.
    pub figure: String,
    /// The market the algorithm runs on.
    pub periods: usize,
    /// Number of companies `K`.
    pub companies: usize,
    /// The starting price `p(0)`, the same for every company and period.
    pub start_price: f64,
    /// The runs, one per `δ`, in the paper's order (eq. 21, the paper's update order).
    pub runs: Vec<DistributedStudy>,
    /// Eq. 14's closed-form equilibrium prices (flat `k·T + t`), computed independently of the
    /// runs ([`crate::prices_closed_form`]).
    pub closed_form_prices: Vec<f64>,
    /// Per run, `max |p_run − p_eq14| / p_eq14` at the end.
    pub closed_form_error: Vec<f64>,
    /// The paper's statements about the figure with a verdict each.
    pub claims: Vec<Claim>,
}

/// Runs eq. 21 from `start_price` for each `δ` (update order: the paper's, sequential) and
/// judges the paper's statements (§VI Theorem 4, §VIII-A's text on Fig. 5, §VIII-B's on
/// Fig. 7) from the traces.
///
/// Errors: non-positive or non-finite `start_price` or `δ < 0` (the paper's settings are
/// all `δ ≥ 0`), and the equilibrium's and simulation's errors.
pub fn paper_setting_study(
    figure: &str,
    market: &Market,
    deltas: &[f64],
    start_price: f64,
) -> Result<PaperSettingStudy, StackelbergError> {
    check_positive(|| "start_price".into(), start_price)?;
    for (i, &d) in deltas.iter().enumerate() {
        dr_convex::check_nonnegative(|| format!("deltas[{i}]"), d)?;
    }
    let updates: Vec<PriceUpdate> = deltas
        .iter()
        .map(|&delta| PriceUpdate::Paper { delta })
        .collect();
    let settings = DistributedSettings {
        initial: crate::distributed::InitialPrices::Uniform(start_price),
        max_rounds: PAPER_SETTING_MAX_ROUNDS,
        record_prices: true,
        ..DistributedSettings::default()
    };
    let runs = distributed_study(market, &updates, &settings)?;
    let closed_form_prices = crate::equilibrium::prices_closed_form(market);
    let closed_form_error: Vec<f64> = runs
        .iter()
        .map(|r| {
            r.run
                .prices
                .iter()
                .flatten()
                .zip(&closed_form_prices)
                .map(|(a, b)| (a - b).abs() / b)
                .fold(
                    0.0_f64,
                    |m, x| if x.is_nan() { f64::INFINITY } else { m.max(x) },
                )
        })
        .collect();
    let claims = paper_claims(figure, &runs, &closed_form_error);
    Ok(PaperSettingStudy {
        figure: figure.to_string(),
        periods: market.periods(),
        companies: market.companies().len(),
        start_price,
        runs,
        closed_form_prices,
        closed_form_error,
        claims,
    })
}

/// The rounds a run took to converge, `None` when it did not.
fn converged_rounds(r: &DistributedStudy) -> Option<usize> {
    (r.run.termination == crate::Termination::Converged).then_some(r.run.rounds)
}

/// The paper's statements, judged from the runs' traces.
fn paper_claims(figure: &str, runs: &[DistributedStudy], cf_error: &[f64]) -> Vec<Claim> {
    let delta = |r: &DistributedStudy| match r.update {
        PriceUpdate::Paper { delta } => delta,
        _ => f64::NAN,
    };
    let mut claims = Vec::new();
    // 1. Convergence to the equilibrium prices (Theorem 4; Figs. 5 and 7).
    let reached: Vec<String> = runs
        .iter()
        .zip(cf_error)
        .map(|(r, e)| {
            format!(
                "δ = {}: {} after {} rounds, max |p − p_eq14|/p_eq14 = {:.1e}",
                delta(r),
                if converged_rounds(r).is_some() {
                    "converged"
                } else {
                    "did not converge"
                },
                r.run.rounds,
                e
            )
        })
        .collect();
    claims.push(Claim {
        claim: format!(
            "{figure}: for every δ ≥ 0 the distributed algorithm (eq. 21) converges to the \
             equilibrium prices of eq. 14 (Theorem 4; §VIII-A: the limits are \"consistent \
             with\" the analytical prices)"
        ),
        holds: !runs.is_empty()
            && runs
                .iter()
                .zip(cf_error)
                .all(|(r, &e)| converged_rounds(r).is_some() && e <= PAPER_SETTING_PRICE_TOLERANCE),
        evidence: reached.join("; "),
    });
    // 2. Prices stay positive along the way (Theorem 4's condition, Appendix XII-F).
    let min_price = runs
        .iter()
        .flat_map(|r| r.run.trace.iter())
        .filter_map(|x| x.prices.as_ref())
        .flatten()
        .flatten()
        .fold(f64::INFINITY, |m, &p| m.min(p));
    claims.push(Claim {
        claim: format!("{figure}: every price stays positive along the way (Theorem 4, δ ≥ 0)"),
        holds: min_price > 0.0 && min_price.is_finite(),
        evidence: format!("smallest price in any round: {min_price:.4e}"),
    });
    // 3. Larger δ converges more slowly (§VIII-A on Fig. 5: "the rate of convergence is
    // inversely proportional to the value of δ").
    let mut sorted: Vec<&DistributedStudy> = runs.iter().collect();
    sorted.sort_by(|a, b| delta(a).total_cmp(&delta(b)));
    let slower = sorted.len() >= 2
        && sorted.windows(2).all(|w| {
            matches!(
                (converged_rounds(w[0]), converged_rounds(w[1])),
                (Some(a), Some(b)) if b > a
            )
        });
    claims.push(Claim {
        claim: format!(
            "{figure}: a larger δ converges more slowly (§VIII-A: \"the rate of convergence is \
             inversely proportional to the value of δ\")"
        ),
        holds: slower,
        evidence: {
            let counts = sorted
                .iter()
                .map(|r| format!("δ = {}: {} rounds", delta(r), r.run.rounds))
                .collect::<Vec<_>>()
                .join(", ");
            // Only "more slowly" is judged; the ratios show how far from proportional it is.
            let ratios = sorted
                .windows(2)
                .map(|w| {
                    format!(
                        "δ × {} gives rounds × {:.2}",
                        delta(w[1]) / delta(w[0]),
                        w[1].run.rounds as f64 / w[0].run.rounds.max(1) as f64
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            if ratios.is_empty() {
                counts
            } else {
                format!("{counts} ({ratios}; only the direction is judged)")
            }
        },
    });
    claims
}

/// Fig. 5 with the paper's settings: the EcoGrid classes, `K = 4`, `T = 1`,
/// `δ ∈ {1000, 10 000}`, `p(0) = 5` DKK/kWh, companies updating one after another (§VI).
pub fn ecogrid_fig5() -> Result<PaperSettingStudy, StackelbergError> {
    let market = ecogrid_classes_market(FIG5_PERIODS)?;
    paper_setting_study("Fig. 5", &market, &FIG5_DELTAS, FIG5_START_PRICE)
}

/// Fig. 7 with the paper's settings: the Dutch pilot market of [`dutch_pilot_day`] (`K = 1`,
/// `T = 24`, `N = 77`), `δ ∈ {100, 1000}`, `p(0) = 0.5` EUR/kWh.
pub fn dutch_pilot_fig7() -> Result<PaperSettingStudy, StackelbergError> {
    let study = dutch_pilot_day()?;
    let market = case_study_market(&study)?;
    paper_setting_study("Fig. 7", &market, &FIG7_DELTAS, FIG7_START_PRICE)
}

/// The §VII study's setting on the EcoGrid data: `K = 4` companies sharing the day's
/// energy equally (Assumption 3), the five EcoGrid budget classes for the `T` sweep
/// (`T = 1…max_periods`), identical budgets of 6 DKK for the `N` sweep (`N = 500…16 000`,
/// `T = 24`), and `p_max` 1.1 times the price of 2000 consumers with `K = 4` (so that
/// Theorem 5 asks for 4 companies at `N = 2000`).
///
/// Errors: `max_periods = 0` and the data's errors.
pub fn ecogrid_asymptotics_setting(
    max_periods: usize,
) -> Result<crate::asymptotics::AsymptoticsSetting, StackelbergError> {
    let (totals, classes) = ecogrid_classes()?;
    let k = totals.len() as f64;
    let g = totals.iter().sum::<f64>() / k;
    let budget = 6.0;
    Ok(crate::asymptotics::AsymptoticsSetting {
        company_totals: vec![g; totals.len()],
        classes,
        max_periods,
        budget,
        counts: vec![500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0],
        sweep_periods: 24,
        price_max: 1.1 * 2000.0 * budget / (k * g),
    })
}

#[cfg(test)]
mod paper_setting_tests {
    use super::*;

    /// Eq. 14 by hand for the Fig. 5 market (T = 1, equal allocations): with `G_k` the
    /// company totals, `B = 400 (4 + 5 + 6 + 7 + 8) = 12 000`, `Z = 2000` (ζ = 1 each),
    /// `p_k = B / (K (G_k + Z) (1 − Z H))`, `H = Σ_k 1/(K (G_k + Z))`.
    fn fig5_by_hand() -> Vec<f64> {
        let (totals, _) = ecogrid_classes().unwrap();
        let (b, z, k) = (12_000.0, 2000.0, 4.0);
        let h: f64 = totals.iter().map(|g| 1.0 / (k * (g + z))).sum();
        totals
            .iter()
            .map(|g| b / (k * (g + z) * (1.0 - z * h)))
            .collect()
    }

    #[test]
    fn fig5_reaches_eq14_and_bears_out_the_papers_claims() {
        let s = ecogrid_fig5().unwrap();
        assert_eq!((s.periods, s.companies, s.runs.len()), (1, 4, 2));
        let by_hand = fig5_by_hand();
        for r in &s.runs {
            assert_eq!(r.run.order, crate::UpdateOrder::Sequential);
            assert_eq!(r.run.termination, crate::Termination::Converged);
            // The starting prices are the paper's p(0) = 5.
            let first = r.run.trace[0].prices.as_ref().unwrap();
            assert!(first.iter().flatten().all(|&p| p == FIG5_START_PRICE));
            for (p, q) in r.run.prices.iter().flatten().zip(&by_hand) {
                assert!((p - q).abs() <= 1e-6 * q, "{p} vs hand-derived {q}");
            }
        }
        // Larger δ: more rounds.
        assert!(s.runs[1].run.rounds > s.runs[0].run.rounds);
        assert_eq!(s.claims.len(), 3);
        assert!(s.claims.iter().all(|c| c.holds), "{:#?}", s.claims);
    }

    #[test]
    fn fig7_reaches_eq14_and_bears_out_the_papers_claims() {
        let s = dutch_pilot_fig7().unwrap();
        assert_eq!((s.periods, s.companies, s.runs.len()), (24, 1, 2));
        for (r, e) in s.runs.iter().zip(&s.closed_form_error) {
            assert_eq!(r.run.termination, crate::Termination::Converged);
            assert!(*e <= PAPER_SETTING_PRICE_TOLERANCE);
            let first = r.run.trace[0].prices.as_ref().unwrap();
            assert!(first.iter().flatten().all(|&p| p == FIG7_START_PRICE));
        }
        assert!(s.claims.iter().all(|c| c.holds), "{:#?}", s.claims);
    }

    #[test]
    fn claims_are_judged_from_the_traces() {
        // A run cut short fails the convergence claim and the ordering claim.
        let market = ecogrid_classes_market(1).unwrap();
        let mut s = paper_setting_study("test", &market, &[1000.0, 10_000.0], 5.0).unwrap();
        s.runs[1].run.termination = crate::Termination::MaxRounds;
        let claims = paper_claims("test", &s.runs, &s.closed_form_error);
        assert!(!claims[0].holds && !claims[2].holds && claims[1].holds);
        // Equal round counts fail "larger δ is slower".
        let mut runs = s.runs.clone();
        runs[1].run.termination = crate::Termination::Converged;
        runs[1].run.rounds = runs[0].run.rounds;
        assert!(!paper_claims("test", &runs, &s.closed_form_error)[2].holds);
        // A negative price in a trace fails the positivity claim.
        let mut runs = s.runs.clone();
        if let Some(p) = runs[0].run.trace[1].prices.as_mut() {
            p[0][0] = -1.0;
        }
        assert!(!paper_claims("test", &runs, &s.closed_form_error)[1].holds);
        // Bad settings are typed errors naming the field.
        let e = paper_setting_study("test", &market, &[-1.0], 5.0).unwrap_err();
        assert!(e.to_string().contains("deltas[0]"), "{e}");
        let e = paper_setting_study("test", &market, &[1.0], 0.0).unwrap_err();
        assert!(e.to_string().contains("start_price"), "{e}");
    }
}
