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

use crate::asymptotics::{period_sweep, PeriodSweep};
use crate::consumer::{closed_form_demand, minimum_budget, minimum_budget_closed_form};
use crate::data::{DutchPilotDay, EcoGridDay};
use crate::distributed::{simulate, DistributedRun, DistributedSettings, PriceUpdate};
use crate::equilibrium::{solve_equilibrium, Equilibrium, EquilibriumSettings};
use crate::error::StackelbergError;
use crate::model::{Company, ConsumerClasses, Market, Preferences};
use dr_convex::{check_len, check_positive};
use serde::Serialize;

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

/// A single-company case study: equilibrium prices against the experiment's.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The savings fraction had the budget been eq. 11's, `1 − budget_eq11 / payment_experiment`.
    pub savings_fraction_eq11: f64,
    /// Equilibrium demand per consumer `d(t)`.
    pub demand_per_consumer: Vec<f64>,
    /// Per consumer payment at equilibrium, `Σ p(t) d(t)`.
    pub payment_equilibrium: f64,
    /// Per consumer payment in the experiment, `Σ p_exp(t) G(t) / N`.
    pub payment_experiment: f64,
    /// `1 − payment_equilibrium / payment_experiment`.
    pub savings_fraction: f64,
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
    /// The full equilibrium with its certificate.
    pub equilibrium: Equilibrium,
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
        equilibrium,
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
    let market = Market::new(
        study.periods,
        vec![Company::new(study.supply.clone())],
        ConsumerClasses::homogeneous(
            study.consumers as f64,
            study.budget_per_consumer,
            study.energy_need,
        ),
    )?;
    distributed_study(&market, updates, &DistributedSettings::default())
}

/// The distributed algorithm on the EcoGrid EU day (one company, 2000 consumers).
pub fn ecogrid_day_distributed(
    updates: &[PriceUpdate],
) -> Result<Vec<DistributedStudy>, StackelbergError> {
    let study = ecogrid_eu_day()?;
    let market = Market::new(
        study.periods,
        vec![Company::new(study.supply.clone())],
        ConsumerClasses::homogeneous(
            study.consumers as f64,
            study.budget_per_consumer,
            study.energy_need,
        ),
    )?;
    distributed_study(&market, updates, &DistributedSettings::default())
}
