//! Asymptotic regimes (alshehri-liu-chen-basar §VII): more periods `T`, more consumers `N`,
//! and the company-to-consumer ratio.
//!
//! With equal allocations `G_k(t) = G_k / T` (Theorem 3):
//! - all companies with the same total `G` charge `p = B / (K G)` for every `T`
//!   (eq. 22; `B = Σ_n B_n`), and a consumer's utility `γ K T ln(1 + B_n G / (T B))`
//!   (eq. 24, `ζ = 1`) rises monotonically in `T` to `γ B_n Σ_k G_k / B` (eq. 25, Remark 5:
//!   the consumer's budget share of the total power);
//! - with `N` identical consumers of budget `B`, `p = N B / (K G)` (*derived*, eq. 26), so
//!   prices stay below `p_max` iff `K / N ≥ B / (G p_max)` (Theorem 5).
//!
//! [`period_sweep`] solves the exact equilibrium for each `T` (water-filling included, so it
//! also covers heterogeneous consumers whose closed-form demands turn negative).

use crate::equilibrium::{solve_equilibrium, EquilibriumCase, EquilibriumSettings};
use crate::error::StackelbergError;
use crate::model::{Company, ConsumerClasses, Market};
use dr_convex::check_positive;
use serde::Serialize;

/// The equilibrium for one number of periods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodPoint {
    /// `T`.
    pub periods: usize,
    /// Power allocated per period by each company, `G_k / T` (Theorem 3).
    pub supply_per_period: Vec<f64>,
    /// Equilibrium prices `[k][t]`.
    pub prices: Vec<Vec<f64>>,
    /// Revenues per company.
    pub revenues: Vec<f64>,
    /// Utility per consumer of each class.
    pub utilities: Vec<f64>,
    /// Energy per consumer of each class.
    pub energy: Vec<f64>,
    /// The equilibrium's regime.
    pub case: EquilibriumCase,
    /// Classes that buy nothing on some entry (their closed-form demand would be negative).
    pub water_filling_classes: Vec<usize>,
    /// Largest residual of the equilibrium certificate.
    pub max_residual: f64,
}

/// A sweep over `T`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodSweep {
    /// One point per `T`.
    pub points: Vec<PeriodPoint>,
    /// The limit utility of eq. 25 per class (`None` unless `ζ_n = 1`).
    pub utility_limit: Vec<Option<f64>>,
}

/// The limit of a consumer's equilibrium utility as `T → ∞` (eq. 25, `ζ = 1`):
/// `γ B_n Σ_k G_k / B`.
pub fn utility_limit(budget: f64, gamma: f64, total_power: f64, budget_total: f64) -> f64 {
    gamma * budget * total_power / budget_total
}

/// Solves the equilibrium with equal allocations `G_k / T` for each `T` in `periods`.
///
/// Errors: empty or non-positive totals, `T = 0`, consumers with eq. 28 weights (their
/// length depends on `T`), and the equilibrium's errors.
pub fn period_sweep(
    totals: &[f64],
    consumers: &ConsumerClasses,
    periods: &[usize],
    settings: &EquilibriumSettings,
) -> Result<PeriodSweep, StackelbergError> {
    if totals.is_empty() {
        return Err(StackelbergError::Input(dr_convex::InputError::Empty {
            field: "totals".into(),
        }));
    }
    for (k, &g) in totals.iter().enumerate() {
        check_positive(|| format!("totals[{k}]"), g)?;
    }
    if !consumers.specific.is_empty() {
        return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
            field: "consumers.weights".into(),
            message: "a sweep over T needs uniform utility weights (eq. 3)".into(),
        }));
    }
    let mut points = Vec::with_capacity(periods.len());
    for &t_n in periods {
        let companies: Vec<Company> = totals
            .iter()
            .map(|&g| Company::new(vec![g / t_n.max(1) as f64; t_n]))
            .collect();
        let market = Market::new(t_n, companies, consumers.clone())?;
        let eq = solve_equilibrium(&market, settings)?;
        points.push(PeriodPoint {
            periods: t_n,
            supply_per_period: totals.iter().map(|g| g / t_n as f64).collect(),
            max_residual: eq.certificate.certificate.max_residual(),
            prices: eq.prices,
            revenues: eq.revenues,
            utilities: eq.utility,
            energy: eq.energy,
            case: eq.case,
            water_filling_classes: eq.water_filling_classes,
        });
    }
    let total_power: f64 = totals.iter().sum();
    let b: f64 = (0..consumers.len())
        .map(|i| consumers.count[i] * consumers.budget[i])
        .sum();
    let utility_limit = (0..consumers.len())
        .map(|i| {
            (consumers.zeta[i] == 1.0)
                .then(|| utility_limit(consumers.budget[i], consumers.gamma[i], total_power, b))
        })
        .collect();
    Ok(PeriodSweep {
        points,
        utility_limit,
    })
}

/// The equilibrium for one population size (Assumption 4: identical budgets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerPoint {
    /// `N`.
    pub consumers: f64,
    /// Equilibrium prices `[k][t]`.
    pub prices: Vec<Vec<f64>>,
    /// `N B / (K G)` (eq. 26, *derived*).
    pub predicted_price: f64,
    /// Each consumer's demand `[k][t]`.
    pub demand: Vec<Vec<f64>>,
}

/// Solves the equilibrium for `N` identical consumers (budget `B`, `ζ = γ = 1`, no energy
/// need) and `K` companies of total `G` each, equally allocated over `T` periods, for each
/// `N` in `counts`.
///
/// Errors: non-positive inputs (named).
pub fn consumer_sweep(
    budget: f64,
    company_total: f64,
    companies: usize,
    periods: usize,
    counts: &[f64],
    settings: &EquilibriumSettings,
) -> Result<Vec<ConsumerPoint>, StackelbergError> {
    check_positive(|| "budget".into(), budget)?;
    check_positive(|| "company_total".into(), company_total)?;
    if companies == 0 {
        return Err(StackelbergError::Input(dr_convex::InputError::Empty {
            field: "companies".into(),
        }));
    }
    counts
        .iter()
        .map(|&n| {
            let market = Market::new(
                periods,
                vec![Company::new(vec![company_total / periods.max(1) as f64; periods]); companies],
                ConsumerClasses::homogeneous(n, budget, 0.0),
            )?;
            let eq = solve_equilibrium(&market, settings)?;
            Ok(ConsumerPoint {
                consumers: n,
                predicted_price: n * budget / (companies as f64 * company_total),
                prices: eq.prices,
                demand: eq.demand.into_iter().next().unwrap_or_default(),
            })
        })
        .collect()
}

/// The company-to-consumer ratio `K / N = B / (G p_max)` that keeps the equilibrium price
/// `N B / (K G)` at or below `p_max` (Theorem 5), for identical budgets `B` and company
/// totals `G`.
///
/// Errors: non-positive inputs (named).
pub fn company_to_consumer_ratio(
    budget: f64,
    company_total: f64,
    price_max: f64,
) -> Result<f64, StackelbergError> {
    check_positive(|| "budget".into(), budget)?;
    check_positive(|| "company_total".into(), company_total)?;
    check_positive(|| "price_max".into(), price_max)?;
    Ok(budget / (company_total * price_max))
}

/// The smallest number of companies `K = ⌈N B / (G p_max)⌉` that keeps prices `≤ p_max`
/// for `N` consumers.
///
/// Errors: non-positive inputs (named).
pub fn companies_needed(
    consumers: f64,
    budget: f64,
    company_total: f64,
    price_max: f64,
) -> Result<usize, StackelbergError> {
    check_positive(|| "consumers".into(), consumers)?;
    let r = company_to_consumer_ratio(budget, company_total, price_max)?;
    // Guard the ceiling against rounding just above an integer.
    let k = consumers * r;
    let kr = k.round();
    let k = if (k - kr).abs() <= 1e-12 * kr.max(1.0) {
        kr
    } else {
        k.ceil()
    };
    Ok((k as usize).max(1))
}
