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
use serde::{Deserialize, Serialize};

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

/// The setting of the §VII study ([`asymptotics_study`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsymptoticsSetting {
    /// Each company's total power `G_k` over the horizon (Assumption 3: all equal).
    pub company_totals: Vec<f64>,
    /// The consumer classes of the `T` sweep (uniform `γ`, `ζ`; eq. 25 needs `ζ = 1`).
    pub classes: ConsumerClasses,
    /// The `T` sweep runs `T = 1 … max_periods`.
    pub max_periods: usize,
    /// The identical budget `B` of the `N` sweep (Assumption 4).
    pub budget: f64,
    /// The population sizes `N` of the `N` sweep.
    pub counts: Vec<f64>,
    /// Periods of the `N` sweep.
    pub sweep_periods: usize,
    /// The highest acceptable price `p_max` of Theorem 5.
    pub price_max: f64,
}

/// The §VII study: the asymptotic claims of the paper with a verdict each, and the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsymptoticsReport {
    /// `"stackelberg-asymptotics"`.
    pub study: String,
    /// The setting.
    pub setting: AsymptoticsSetting,
    /// `B = Σ_n count_n B_n` of the `T` sweep.
    pub budget_total: f64,
    /// `T` of each sweep point.
    pub periods: Vec<usize>,
    /// `p_k(0)` per `T`, `[T][k]` (money per energy).
    pub prices: Vec<Vec<f64>>,
    /// Eq. 22's price `B / (K Ḡ)` (`Ḡ` the mean company total).
    pub predicted_price: f64,
    /// Revenues per `T`, `[T][k]`.
    pub revenues: Vec<Vec<f64>>,
    /// Utility per consumer of each class per `T`, `[T][n]`.
    pub utilities: Vec<Vec<f64>>,
    /// Demand `d_{n,0}(0)` per consumer of each class per `T`, `[T][n]`.
    pub demand: Vec<Vec<f64>>,
    /// Eq. 25's limit per class (`ζ = 1` classes only).
    pub utility_limit: Vec<Option<f64>>,
    /// Highest equilibrium price per `N` with `K` companies.
    pub consumer_prices: Vec<f64>,
    /// Eq. 26's `N B / (K Ḡ)` per `N`.
    pub consumer_predicted: Vec<f64>,
    /// A consumer's demand `d_0(0)` per `N`.
    pub consumer_demand: Vec<f64>,
    /// Theorem 5's ratio `K / N = B / (Ḡ p_max)`.
    pub ratio: f64,
    /// `K = ⌈N B / (Ḡ p_max)⌉` per `N`.
    pub companies_needed: Vec<usize>,
    /// Highest equilibrium price with that many companies, per `N`.
    pub price_with_needed: Vec<f64>,
    /// Highest equilibrium price with one company fewer (when `K > 1`), per `N`.
    pub price_with_one_fewer: Vec<Option<f64>>,
    /// The paper's claims (§VII) with a verdict each.
    pub claims: Vec<dr_convex::Claim>,
}

fn max_price(eq: &crate::equilibrium::Equilibrium) -> f64 {
    eq.prices.iter().flatten().copied().fold(0.0_f64, f64::max)
}

/// Runs the §VII study on `setting` and judges the paper's asymptotic claims (eqs. 22–27,
/// Remarks 4–5, Theorem 5) from exact equilibria: each claim is recomputed from solved
/// markets, so it fails on data that break the paper's assumptions (e.g. unequal company
/// totals against Assumption 3).
///
/// Errors: empty or non-positive totals, counts or budget, `max_periods = 0`, and the
/// equilibrium's errors.
pub fn asymptotics_study(
    setting: &AsymptoticsSetting,
) -> Result<AsymptoticsReport, StackelbergError> {
    use dr_convex::Claim;
    let s = setting;
    if s.max_periods == 0 {
        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
            field: "max_periods".into(),
            value: 0.0,
            requirement: "must be >= 1".into(),
        }));
    }
    if s.counts.is_empty() {
        return Err(StackelbergError::Input(dr_convex::InputError::Empty {
            field: "counts".into(),
        }));
    }
    for (i, &n) in s.counts.iter().enumerate() {
        check_positive(|| format!("counts[{i}]"), n)?;
    }
    check_positive(|| "budget".into(), s.budget)?;
    check_positive(|| "price_max".into(), s.price_max)?;
    let settings = EquilibriumSettings::default();
    let ts: Vec<usize> = (1..=s.max_periods).collect();
    let sweep = period_sweep(&s.company_totals, &s.classes, &ts, &settings)?;
    let k_n = s.company_totals.len();
    let n_c = s.classes.len();
    let g_mean = s.company_totals.iter().sum::<f64>() / k_n as f64;
    let b_total: f64 = (0..n_c)
        .map(|i| s.classes.count[i] * s.classes.budget[i])
        .sum();
    let predicted_price = b_total / (k_n as f64 * g_mean);
    let tol = 1e-9;
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    let pts = &sweep.points;
    let mut claims = Vec::new();
    // eq. 22: every price is B / (K G) for every T.
    let worst = pts
        .iter()
        .flat_map(|p| p.prices.iter().flatten())
        .map(|&p| rel(p, predicted_price))
        .fold(0.0_f64, f64::max);
    claims.push(Claim::new(
        "§VII-A eq. 22: with equal company totals G split equally over T, every price is \
         B / (K G) for every T",
        worst <= tol,
        format!(
            "largest |p − B/(KG)| / (B/(KG)) over T = 1…{} is {worst:.2e} (B/(KG) = {predicted_price:.6})",
            s.max_periods
        ),
    ));
    // Revenues B/K for every T.
    let worst = pts
        .iter()
        .flat_map(|p| p.revenues.iter())
        .map(|&r| rel(r, b_total / k_n as f64))
        .fold(0.0_f64, f64::max);
    claims.push(Claim::new(
        "§VII-A: each company's revenue is the constant B / K for every T",
        worst <= tol,
        format!(
            "largest relative deviation from B/K = {:.6}: {worst:.2e}",
            b_total / k_n as f64
        ),
    ));
    // eq. 24: utilities rise monotonically in T.
    let rising = (0..n_c).all(|n| {
        pts.windows(2)
            .all(|w| w[1].utilities[n] > w[0].utilities[n])
    });
    let first_fall = (0..n_c)
        .flat_map(|n| {
            pts.windows(2)
                .filter(move |w| w[1].utilities[n] <= w[0].utilities[n])
                .map(move |w| (n, w[1].periods))
        })
        .next();
    claims.push(Claim::new(
        "§VII-A eq. 24: every consumer's equilibrium utility rises monotonically with T",
        rising,
        match first_fall {
            None => format!(
                "strictly increasing for every class over T = 1…{}",
                s.max_periods
            ),
            Some((n, t)) => format!("class {n}'s utility does not rise at T = {t}"),
        },
    ));
    // Remark 4: the increase gets progressively smaller.
    let concave = (0..n_c).all(|n| {
        pts.windows(3)
            .all(|w| w[2].utilities[n] - w[1].utilities[n] <= w[1].utilities[n] - w[0].utilities[n])
    });
    claims.push(Claim::new(
        "Remark 4: the rate of increase of the utilities gets progressively smaller",
        concave,
        format!(
            "utility increments {} over T = 1…{}",
            if concave {
                "non-increasing"
            } else {
                "NOT non-increasing"
            },
            s.max_periods
        ),
    ));
    // eq. 25: below and approaching the limit.
    let mut limit_ok = true;
    let mut limit_ev = Vec::new();
    for n in 0..n_c {
        if let (Some(l), Some(first), Some(last)) =
            (sweep.utility_limit[n], pts.first(), pts.last())
        {
            let (u1, ut) = (first.utilities[n], last.utilities[n]);
            limit_ok &= ut < l && (l - ut) < (l - u1);
            limit_ev.push(format!(
                "class {n}: U(1) = {u1:.4}, U({}) = {ut:.4}, limit {l:.4}",
                s.max_periods
            ));
        }
    }
    if !limit_ev.is_empty() {
        claims.push(Claim::new(
            "§VII-A eq. 25 / Remark 5: the utilities approach γ B_n Σ_k G_k / B from below",
            limit_ok,
            limit_ev.join("; "),
        ));
    }
    // Demand per entry falls towards 0.
    let falling = (0..n_c).all(|n| {
        pts.windows(2).all(|w| {
            let d = |p: &PeriodPoint| p.energy[n] / (k_n * p.periods) as f64;
            d(&w[1]) < d(&w[0])
        })
    });
    claims.push(Claim::new(
        "§VII-A: each consumer's demand per (company, period) falls towards 0 as T grows",
        falling,
        format!(
            "mean demand per entry strictly decreasing over T = 1…{}",
            s.max_periods
        ),
    ));
    // §VII-B: N sweep.
    let t_n = s.sweep_periods.max(1);
    let market_with = |k: usize, n: f64| {
        Market::new(
            t_n,
            vec![Company::new(vec![g_mean / t_n as f64; t_n]); k.max(1)],
            ConsumerClasses::homogeneous(n, s.budget, 0.0),
        )
    };
    let mut consumer_prices = Vec::new();
    let mut consumer_predicted = Vec::new();
    let mut consumer_demand = Vec::new();
    let mut worst_price = 0.0_f64;
    let mut worst_demand = 0.0_f64;
    for &n in &s.counts {
        let companies: Vec<Company> = s
            .company_totals
            .iter()
            .map(|&g| Company::new(vec![g / t_n as f64; t_n]))
            .collect();
        let market = Market::new(
            t_n,
            companies,
            ConsumerClasses::homogeneous(n, s.budget, 0.0),
        )?;
        let eq = solve_equilibrium(&market, &settings)?;
        let predicted = n * s.budget / (k_n as f64 * g_mean);
        let p = max_price(&eq);
        worst_price = eq
            .prices
            .iter()
            .flatten()
            .map(|&q| rel(q, predicted))
            .fold(worst_price, f64::max);
        let d = eq
            .demand
            .first()
            .and_then(|c| c.first())
            .and_then(|r| r.first())
            .copied()
            .unwrap_or(f64::NAN);
        // eq. 27 (derived): d = G / (N T) for each company entry.
        worst_demand = worst_demand.max(rel(d, g_mean / (n * t_n as f64)));
        consumer_prices.push(p);
        consumer_predicted.push(predicted);
        consumer_demand.push(d);
    }
    claims.push(Claim::new(
        "§VII-B eq. 26: with N identical consumers every price is N B / (K G), growing \
         linearly in N",
        worst_price <= tol,
        format!(
            "largest relative deviation over N = {:?}: {worst_price:.2e}",
            s.counts
        ),
    ));
    claims.push(Claim::new(
        "§VII-B eq. 27: each consumer's demand per entry is G / (N T), falling to 0 as N grows",
        worst_demand <= tol,
        format!("largest relative deviation: {worst_demand:.2e}"),
    ));
    // Theorem 5.
    let ratio = company_to_consumer_ratio(s.budget, g_mean, s.price_max)?;
    let mut needed = Vec::new();
    let mut with_needed = Vec::new();
    let mut one_fewer = Vec::new();
    let mut th5 = true;
    for &n in &s.counts {
        let k = companies_needed(n, s.budget, g_mean, s.price_max)?;
        let p = max_price(&solve_equilibrium(&market_with(k, n)?, &settings)?);
        let fewer = if k > 1 {
            Some(max_price(&solve_equilibrium(
                &market_with(k - 1, n)?,
                &settings,
            )?))
        } else {
            None
        };
        th5 &= p <= s.price_max * (1.0 + 1e-12) && fewer.is_none_or(|q| q > s.price_max);
        needed.push(k);
        with_needed.push(p);
        one_fewer.push(fewer);
    }
    claims.push(Claim::new(
        "Theorem 5: K / N = B / (G p_max) companies per consumer keep every price ≤ p_max, \
         and one company fewer does not",
        th5,
        format!(
            "p_max = {}: K = {needed:?} for N = {:?}; highest prices {:?}, with one fewer {:?}",
            s.price_max,
            s.counts,
            with_needed
                .iter()
                .map(|p| format!("{p:.4}"))
                .collect::<Vec<_>>(),
            one_fewer
                .iter()
                .map(|p| p.map_or("-".to_string(), |q| format!("{q:.4}")))
                .collect::<Vec<_>>()
        ),
    ));
    Ok(AsymptoticsReport {
        study: "stackelberg-asymptotics".into(),
        setting: setting.clone(),
        budget_total: b_total,
        periods: ts,
        prices: pts
            .iter()
            .map(|p| p.prices.iter().map(|r| r[0]).collect())
            .collect(),
        predicted_price,
        revenues: pts.iter().map(|p| p.revenues.clone()).collect(),
        utilities: pts.iter().map(|p| p.utilities.clone()).collect(),
        demand: pts
            .iter()
            .map(|p| {
                (0..n_c)
                    .map(|n| p.energy[n] / (k_n * p.periods) as f64)
                    .collect()
            })
            .collect(),
        utility_limit: sweep.utility_limit.clone(),
        consumer_prices,
        consumer_predicted,
        consumer_demand,
        ratio,
        companies_needed: needed,
        price_with_needed: with_needed,
        price_with_one_fewer: one_fewer,
        claims,
    })
}
