//! Consumers beyond the paper's logarithmic utility and free shifting
//! (alshehri-liu-chen-basar §IX-A, §III): each class has its own utility family and
//! per-(company, period) demand bounds.
//!
//! The paper remarks (§IX-A) that with non-logarithmic utilities "it might be more difficult
//! to compute a Nash equilibrium for the price-selection game for companies", which exists
//! as long as each company's revenue is concave in its own prices; and (§III, §IX-A) that
//! period-specific constraints can model non-shiftable demand. This module computes that
//! equilibrium numerically:
//!
//! - **Utility families** ([`UtilityFamily`]), per (company, period) entry `j`:
//!   `Log` `γ ln(ζ + d)` (eq. 3), `Power` `γ (ζ + d)^α` with `0 < α < 1`, `Satiating`
//!   `γ (d − d²/(2 s))` up to the satiation level `s` (constant `γ s / 2` beyond).
//! - **Demand bounds** `min_demand_j ≤ d_j ≤ max_demand_j`: a fixed (non-shiftable) demand
//!   is `min = max`; a consumer absent from some periods has `max = 0` there.
//! - **The consumer's best response** ([`general_best_response`]): maximise `Σ_j u_j(d_j)`
//!   s.t. `Σ_j p_j d_j ≤ B`, bounds. When even the satiated demand is affordable the
//!   budget is slack (multiplier 0); otherwise the budget binds and the kernel allocator
//!   solves it in budget shares `e_j = p_j d_j / B` (`Σ e_j = 1`). The answer carries its
//!   own KKT residuals ([`GeneralKkt`]), computed from the utility's marginal, not from the
//!   solver.
//! - **The companies' prices** ([`solve_general_equilibrium`]): the prices at which every
//!   company sells its supply (`Σ_n d_{n,k}(t) = G_k(t)`, the binding eq. 9 of the paper's
//!   equilibrium), with Remark 3's price bounds as complementarity, by a damped Newton method
//!   on the log prices with a finite-difference Jacobian (tâtonnement steps when Newton
//!   stalls).
//!
//! **Satiation.** A satiating consumer is indifferent among all demands `d ≥ s`; its best
//! response is taken as `d = min(s, max_demand)` (it buys nothing it does not value, its
//! budget left slack). That choice is a convention, so a second opinion cannot locate such
//! a demand (the LP back end's curvature bound is 0 beyond `s`): `dr verify` then reports
//! the clearing check as not confirmed rather than agreeing.
//!
//! **A second opinion** ([`general_consumer_problem`]): each class's best response as a
//! kernel `SeparableProblem` with the model's answer as a `Candidate`, for the LP back end
//! (`dr verify`).
//!
//! **What no longer applies** for a class that is not `Log` or has demand bounds: eq. 10
//! (closed-form demand), eq. 11 / Theorem 1 (minimum budget), eqs. 13–14 and Lemma 2
//! (closed-form, unique prices: uniqueness is not claimed), Theorem 2 (the clearing prices
//! are a Nash equilibrium of the companies: here it is *checked numerically* by unilateral
//! price deviations, [`GeneralEquilibrium::deviation`], and reported as a claim that can
//! fail, e.g. for satiating consumers whose demand is inelastic), eq. 15 (budgets fully
//! spent: claimed only when every budget binds), Theorems 3, 4 and 6 and the asymptotics of
//! §VII (eq. 21 still runs with these consumers, [`crate::DistributedPricing::new_general`],
//! but its convergence is only observed). The energy need (eq. 6) is not a constraint of the best response (as in the paper,
//! where Theorem 1 makes it slack); whether it is met is reported as a claim.

use crate::equilibrium::{DeviationCheck, PriceBound};
use crate::error::StackelbergError;
use crate::model::{to_table, Company, ConsumerClasses, Market};
use dr_convex::{allocate, AllocatorSettings, Bound, Certificate, Claim, Family, Status};
use serde::{Deserialize, Serialize};

/// A consumer's utility of one (company, period) entry, with weight `γ` and shift `ζ` of
/// the class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum UtilityFamily {
    /// `γ ln(ζ + d)`: the paper's utility (eq. 3).
    Log,
    /// `γ (ζ + d)^α`, `0 < α < 1` (§IX-A: a non-logarithmic, strictly concave utility).
    Power {
        /// `α ∈ (0, 1)`.
        exponent: f64,
    },
    /// `γ (d − d² / (2 s))` for `d ≤ s`, `γ s / 2` beyond: satiation at `s > 0` (§IX-A).
    Satiating {
        /// The satiation level `s` (energy per entry beyond which nothing is gained).
        satiation: f64,
    },
}

impl UtilityFamily {
    /// Utility `u(d)`.
    pub fn value(&self, gamma: f64, zeta: f64, d: f64) -> f64 {
        match *self {
            UtilityFamily::Log => gamma * (zeta + d).ln(),
            UtilityFamily::Power { exponent } => gamma * (zeta + d).powf(exponent),
            UtilityFamily::Satiating { satiation } => {
                let x = d.min(satiation);
                gamma * (x - x * x / (2.0 * satiation))
            }
        }
    }

    /// Marginal utility `u'(d)` (`+∞` at `ζ + d = 0` for log and power).
    pub fn marginal(&self, gamma: f64, zeta: f64, d: f64) -> f64 {
        match *self {
            UtilityFamily::Log => gamma / (zeta + d),
            UtilityFamily::Power { exponent } => gamma * exponent * (zeta + d).powf(exponent - 1.0),
            UtilityFamily::Satiating { satiation } => gamma * (1.0 - d / satiation).max(0.0),
        }
    }

    /// `u''(d) ≤ 0`.
    fn curvature(&self, gamma: f64, zeta: f64, d: f64) -> f64 {
        match *self {
            UtilityFamily::Log => -gamma / ((zeta + d) * (zeta + d)),
            UtilityFamily::Power { exponent } => {
                gamma * exponent * (exponent - 1.0) * (zeta + d).powf(exponent - 2.0)
            }
            UtilityFamily::Satiating { satiation } => {
                if d < satiation {
                    -gamma / satiation
                } else {
                    0.0
                }
            }
        }
    }

    /// The demand whose marginal utility is `m > 0` (unclamped; may be negative).
    fn inverse_marginal(&self, gamma: f64, zeta: f64, m: f64) -> f64 {
        match *self {
            UtilityFamily::Log => gamma / m - zeta,
            UtilityFamily::Power { exponent } => {
                (m / (gamma * exponent)).powf(1.0 / (exponent - 1.0)) - zeta
            }
            UtilityFamily::Satiating { satiation } => satiation * (1.0 - m / gamma),
        }
    }

    /// The demand wanted at price 0: `+∞`, or the satiation level.
    pub fn satiation(&self) -> f64 {
        match *self {
            UtilityFamily::Satiating { satiation } => satiation,
            _ => f64::INFINITY,
        }
    }

    /// Short name (`log`, `power`, `satiating`).
    pub fn name(&self) -> &'static str {
        match self {
            UtilityFamily::Log => "log",
            UtilityFamily::Power { .. } => "power",
            UtilityFamily::Satiating { .. } => "satiating",
        }
    }
}

/// A class of identical consumers with a general utility and demand bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralClass {
    /// Number of consumers (a population weight `> 0`).
    pub count: f64,
    /// Budget `B_n > 0` per consumer for the horizon (eq. 4).
    pub budget: f64,
    /// Energy need `E_n ≥ 0` (eq. 6): reported, not enforced (see the module docs).
    pub energy_need: f64,
    /// Weight `γ > 0`.
    pub gamma: f64,
    /// Shift `ζ ≥ 0` (log and power).
    pub zeta: f64,
    /// The utility family.
    pub utility: UtilityFamily,
    /// `min_demand[j] ≥ 0` per flat entry `j = k T + t` (non-shiftable demand).
    pub min_demand: Vec<f64>,
    /// `max_demand[j] ≥ min_demand[j]` per entry (`+∞` when free; 0 where the consumer does
    /// not take part).
    pub max_demand: Vec<f64>,
}

/// A validated market of companies and general consumer classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneralMarket {
    base: Market,
    classes: Vec<GeneralClass>,
}

fn invalid(field: String, message: impl Into<String>) -> StackelbergError {
    StackelbergError::Input(dr_convex::InputError::Invalid {
        field,
        message: message.into(),
    })
}

impl GeneralMarket {
    /// Validates: the companies and each class's count, budget, need, `γ`, `ζ` as
    /// [`Market::new`]; `0 < α < 1`; `s > 0` finite; bounds with `K · T` entries,
    /// `0 ≤ min ≤ max`, `min` finite; a log utility with `ζ = 0` or a power utility needs
    /// no more; every entry's supply must be sellable: `Σ_n count_n min(s_n, max_n) > G_j`
    /// unless the company has `price_min > 0`.
    pub fn new(
        periods: usize,
        companies: Vec<Company>,
        classes: Vec<GeneralClass>,
    ) -> Result<Self, StackelbergError> {
        let consumers = ConsumerClasses::new(
            classes.iter().map(|c| c.count).collect(),
            classes.iter().map(|c| c.budget).collect(),
            classes.iter().map(|c| c.energy_need).collect(),
        )
        .with_zeta(classes.iter().map(|c| c.zeta).collect())
        .with_gamma(classes.iter().map(|c| c.gamma).collect());
        let base = Market::new(periods, companies, consumers)?;
        let kt = base.entries();
        for (i, c) in classes.iter().enumerate() {
            match c.utility {
                UtilityFamily::Log => {}
                UtilityFamily::Power { exponent } => {
                    if !(exponent > 0.0 && exponent < 1.0) {
                        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                            field: format!("consumers[{i}].exponent"),
                            value: exponent,
                            requirement: "must be in (0, 1) (a strictly concave power utility)"
                                .into(),
                        }));
                    }
                }
                UtilityFamily::Satiating { satiation } => {
                    dr_convex::check_positive(|| format!("consumers[{i}].satiation"), satiation)?;
                }
            }
            dr_convex::check_len(
                || format!("consumers[{i}].min_demand"),
                kt,
                c.min_demand.len(),
            )?;
            dr_convex::check_len(
                || format!("consumers[{i}].max_demand"),
                kt,
                c.max_demand.len(),
            )?;
            for j in 0..kt {
                dr_convex::check_nonnegative(
                    || format!("consumers[{i}].min_demand[{j}]"),
                    c.min_demand[j],
                )?;
                let hi = c.max_demand[j];
                if hi.is_nan() || hi < c.min_demand[j] {
                    return Err(StackelbergError::Input(
                        dr_convex::InputError::InvertedBounds {
                            field: format!("consumers[{i}].min_demand/max_demand[{j}]"),
                            lower: c.min_demand[j],
                            upper: hi,
                        },
                    ));
                }
            }
        }
        // Every entry's supply must be sellable at some positive price.
        for j in 0..kt {
            let cap: f64 = classes
                .iter()
                .map(|c| c.count * c.utility.satiation().min(c.max_demand[j]))
                .sum();
            let g = base.supply()[j];
            let (pmin, _) = base.price_bounds(j);
            if cap <= g && pmin <= 0.0 {
                let (k, t) = (j / periods, j % periods);
                return Err(invalid(
                    format!("companies[{k}].supply[{t}]"),
                    format!(
                        "{g} is at least what the consumers buy at any price (Σ count · \
                         min(satiation, max_demand) = {cap}): the market cannot clear; give \
                         the company a price_min > 0 or less supply"
                    ),
                ));
            }
            let floor: f64 = classes.iter().map(|c| c.count * c.min_demand[j]).sum();
            if floor > g {
                let (k, t) = (j / periods, j % periods);
                return Err(invalid(
                    format!("companies[{k}].supply[{t}]"),
                    format!(
                        "{g} is below the consumers' fixed demand Σ count · min_demand = \
                         {floor}: the non-shiftable demand cannot be served"
                    ),
                ));
            }
        }
        Ok(Self { base, classes })
    }

    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.base.periods()
    }
    /// The companies.
    pub fn companies(&self) -> &[Company] {
        self.base.companies()
    }
    /// The classes.
    pub fn classes(&self) -> &[GeneralClass] {
        &self.classes
    }
    /// Flat supplies `G_j`.
    pub fn supply(&self) -> &[f64] {
        self.base.supply()
    }
    /// `Σ_n count_n B_n`.
    pub fn budget_total(&self) -> f64 {
        self.base.budget_total()
    }
    /// The companies and the classes' counts, budgets and `γ`, `ζ` as a log-utility
    /// [`Market`] (for the price rules of eq. 21, which read `G` and `Z`).
    pub fn base(&self) -> &Market {
        &self.base
    }
    /// `Σ_n count_n d_n(p)` at flat prices `p` (each class's best response).
    ///
    /// Errors: as [`general_best_response`].
    pub fn aggregate_demand(&self, prices: &[f64]) -> Result<Vec<f64>, StackelbergError> {
        Ok(evaluate(self, prices)?.demand)
    }
}

/// KKT residuals of a general consumer's demand (all relative; 0 at an exact best response).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GeneralKkt {
    /// `max |u'(d_j) − λ p_j| / (λ p_j)` over entries strictly inside their bounds (scale
    /// `γ` when `λ = 0`).
    pub stationarity: f64,
    /// Sign conditions at the bounds: `u'(d_j) ≤ λ p_j` at `min_demand`, `≥` at
    /// `max_demand` (relative, as stationarity).
    pub bound_sign: f64,
    /// Overspending `[Σ p d − B]^+ / B`.
    pub budget: f64,
    /// `λ > 0` only with the budget spent: `|Σ p d − B| / B` when `λ > 0`.
    pub complementarity: f64,
}

impl GeneralKkt {
    /// The largest residual.
    pub fn max(&self) -> f64 {
        self.stationarity
            .max(self.bound_sign)
            .max(self.budget)
            .max(self.complementarity)
    }
}

/// A general consumer's best response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralResponse {
    /// Demands `d_j` (flat, company-major).
    pub demand: Vec<f64>,
    /// Marginal utility of money `λ ≥ 0` (0 when the budget is slack).
    pub multiplier: f64,
    /// True when the budget binds.
    pub budget_binds: bool,
    /// `Σ p d`.
    pub spend: f64,
    /// `Σ d`.
    pub energy: f64,
    /// `Σ u_j(d_j)`.
    pub utility: f64,
    /// KKT residuals.
    pub kkt: GeneralKkt,
    /// Status of the kernel solve (Solved when the budget is slack or the lower bounds
    /// alone exhaust it).
    pub status: Status,
}

/// The budget-share family `f_j(e) = −u_j(e / q_j)`, `q_j = p_j / B`, for the kernel
/// allocator (`Σ e_j = 1`); its multiplier is `−λ B`.
struct ShareFamily<'a> {
    q: &'a [f64],
    class: &'a GeneralClass,
}

impl Family for ShareFamily<'_> {
    fn len(&self) -> usize {
        self.q.len()
    }
    fn value(&self, j: usize, e: f64) -> f64 {
        let c = self.class;
        let d = e / self.q[j];
        if c.zeta + d < 0.0 || (c.zeta + d == 0.0 && matches!(c.utility, UtilityFamily::Log)) {
            return f64::INFINITY;
        }
        -c.utility.value(c.gamma, c.zeta, d)
    }
    fn derivative(&self, j: usize, e: f64) -> f64 {
        let c = self.class;
        -c.utility.marginal(c.gamma, c.zeta, e / self.q[j]) / self.q[j]
    }
    fn response(&self, j: usize, mu: f64, lo: f64, hi: f64) -> (f64, f64) {
        if lo >= hi {
            return (lo, 0.0);
        }
        if mu >= 0.0 {
            return (hi, 0.0);
        }
        let c = self.class;
        let q = self.q[j];
        let d = c.utility.inverse_marginal(c.gamma, c.zeta, -mu * q);
        let e = d * q;
        if e.is_nan() || e <= lo {
            (lo, 0.0)
        } else if e >= hi {
            (hi, 0.0)
        } else {
            let curv = c.utility.curvature(c.gamma, c.zeta, d);
            (e, if curv < 0.0 { -q * q / curv } else { 0.0 })
        }
    }
}

/// KKT residuals of `demand` at multiplier `lambda` (see [`GeneralKkt`]); inputs assumed
/// valid (prices `K · T`, positive).
pub fn general_kkt(
    prices: &[f64],
    class: &GeneralClass,
    demand: &[f64],
    lambda: f64,
) -> GeneralKkt {
    let mut kkt = GeneralKkt::default();
    let mut spend = 0.0;
    for (j, (&p, &d)) in prices.iter().zip(demand).enumerate() {
        spend += p * d;
        let (lo, hi) = (class.min_demand[j], class.max_demand[j]);
        if lo >= hi {
            continue;
        }
        let g = class.utility.marginal(class.gamma, class.zeta, d) - lambda * p;
        let scale = if lambda > 0.0 {
            lambda * p
        } else {
            class.gamma
        };
        if d <= lo {
            kkt.bound_sign = kkt.bound_sign.max(g.max(0.0) / scale);
        } else if d >= hi {
            kkt.bound_sign = kkt.bound_sign.max((-g).max(0.0) / scale);
        } else {
            kkt.stationarity = kkt.stationarity.max(g.abs() / scale);
        }
    }
    let b = class.budget;
    kkt.budget = (spend - b).max(0.0) / b;
    if lambda > 0.0 {
        kkt.complementarity = (spend - b).abs() / b;
    }
    kkt
}

/// A general consumer's exact best response to `prices` (flat `K · T`, all `> 0`): see the
/// module docs. When the lower bounds alone cost more than the budget the consumer buys
/// them anyway and [`GeneralKkt::budget`] reports the overspending (no feasible answer).
///
/// Errors: non-positive prices or a length mismatch (named `prices`), a kernel failure.
pub fn general_best_response(
    prices: &[f64],
    class: &GeneralClass,
) -> Result<GeneralResponse, StackelbergError> {
    crate::consumer::validate_prices(prices)?;
    dr_convex::check_len(|| "prices".into(), class.min_demand.len(), prices.len())?;
    let n = prices.len();
    let b = class.budget;
    let lo = &class.min_demand;
    let hi = &class.max_demand;
    let cost_lo: f64 = (0..n).map(|j| prices[j] * lo[j]).sum();
    let satiated: Vec<f64> = (0..n)
        .map(|j| class.utility.satiation().min(hi[j]).max(lo[j]))
        .collect();
    let cost_sat: f64 = (0..n).map(|j| prices[j] * satiated[j]).sum();
    let (demand, multiplier, status) = if cost_lo >= b {
        (lo.clone(), 0.0, Status::Solved)
    } else if cost_sat <= b {
        (satiated, 0.0, Status::Solved)
    } else {
        let q: Vec<f64> = prices.iter().map(|p| p / b).collect();
        let lo_e: Vec<f64> = (0..n).map(|j| q[j] * lo[j]).collect();
        let hi_e: Vec<f64> = (0..n).map(|j| q[j] * hi[j]).collect();
        let family = ShareFamily { q: &q, class };
        let alloc = allocate(
            &family,
            Bound::PerItem(&lo_e),
            Bound::PerItem(&hi_e),
            1.0,
            &AllocatorSettings::default(),
        )
        .map_err(StackelbergError::kernel("general consumer best response"))?;
        let demand: Vec<f64> = (0..n)
            .map(|j| {
                let e = alloc.x[j];
                if e <= lo_e[j] {
                    lo[j]
                } else if e >= hi_e[j] {
                    hi[j]
                } else {
                    e / q[j]
                }
            })
            .collect();
        (
            demand,
            (-alloc.multiplier / b).max(0.0),
            alloc.certificate.status,
        )
    };
    let kkt = general_kkt(prices, class, &demand, multiplier);
    let spend = (0..n).map(|j| prices[j] * demand[j]).sum();
    Ok(GeneralResponse {
        energy: demand.iter().sum(),
        utility: (0..n)
            .map(|j| class.utility.value(class.gamma, class.zeta, demand[j]))
            .sum(),
        budget_binds: multiplier > 0.0,
        spend,
        demand,
        multiplier,
        kkt,
        status,
    })
}

/// Settings of [`solve_general_equilibrium`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeneralSettings {
    /// Relative tolerance of clearing (`|D − G| / G`) and of the certificate.
    pub tolerance: f64,
    /// Most Newton iterations.
    pub max_iterations: usize,
    /// Largest number of entries `K · T` (the Jacobian is dense, by finite differences).
    pub max_entries: usize,
}

/// The most `K · T` entries of a market with general consumers (the price Jacobian is
/// dense, built by finite differences: `K T` aggregate evaluations per Newton step).
pub const GENERAL_MAX_ENTRIES: usize = 512;

impl Default for GeneralSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-9,
            max_iterations: 200,
            max_entries: GENERAL_MAX_ENTRIES,
        }
    }
}

/// The equilibrium of a [`GeneralMarket`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralEquilibrium {
    /// Prices `p_k(t)`, `[k][t]` (money per unit energy).
    pub prices: Vec<Vec<f64>>,
    /// Supplies `G_k(t)`, `[k][t]`.
    pub supply: Vec<Vec<f64>>,
    /// Aggregate demand `Σ_n count_n d_{n,k}(t)`, `[k][t]`.
    pub aggregate_demand: Vec<Vec<f64>>,
    /// Per-consumer demand of each class `[n][k][t]`.
    pub demand: Vec<Vec<Vec<f64>>>,
    /// Each class's marginal utility of money `λ_n` (0: budget slack).
    pub multiplier: Vec<f64>,
    /// Whether each class's budget binds.
    pub budget_binds: Vec<bool>,
    /// Payment per consumer `Σ p d`.
    pub payment: Vec<f64>,
    /// Energy per consumer `Σ d`.
    pub energy: Vec<f64>,
    /// Utility per consumer.
    pub utility: Vec<f64>,
    /// Company revenues `Σ_t p_k(t) min(D_k(t), G_k(t))`.
    pub revenues: Vec<f64>,
    /// `Σ_n count_n B_n`.
    pub budget_total: f64,
    /// Where each price sits (Remark 3), `[k][t]`.
    pub price_bound: Vec<Vec<PriceBound>>,
    /// Clearing residual: `max |D − G| / G` at free prices, wrong-sign excess at bounds.
    pub supply_balance: f64,
    /// Largest consumer KKT residual ([`GeneralKkt::max`]) over the classes.
    pub consumer_kkt: f64,
    /// Classes whose energy need `E_n` is not met (by what they receive).
    pub unmet_need: Vec<usize>,
    /// True when every company sells exactly its supply (no price bound binds with
    /// `D ≠ G`).
    pub clears: bool,
    /// Fraction of each request served, `[k][t]`: `G / D` where a price sits at `p_max`
    /// with `D > G` (the proportional rationing rule of [`crate::RationingRule`]: the paper
    /// names none), else 1.
    pub served_fraction: Vec<Vec<f64>>,
    /// Energy each consumer of each class receives after rationing.
    pub energy_received: Vec<f64>,
    /// What each consumer pays for what it receives.
    pub payment_received: Vec<f64>,
    /// Budget left unspent by each consumer (budget slack or rationing).
    pub unspent_budget: Vec<f64>,
    /// The largest relative revenue gain of a unilateral price deviation (Theorem 2's
    /// property, checked numerically).
    pub deviation: DeviationCheck,
    /// Newton iterations used.
    pub iterations: usize,
    /// Certificate: primal = clearing and overspending, stationarity = consumer
    /// stationarity, complementarity = consumer bound signs and budget complementarity;
    /// Solved only when each is at most the tolerance; Infeasible when some class's lower
    /// demand bounds cost more than its budget at the clearing prices (a non-shiftable
    /// demand it cannot pay for); MaxIterations when Newton did not converge.
    pub certificate: Certificate,
    /// The paper's properties, with a verdict each (clearing, Theorem 2 by deviations,
    /// energy needs, eq. 15 when every budget binds).
    pub claims: Vec<Claim>,
}

struct Evaluation {
    responses: Vec<GeneralResponse>,
    demand: Vec<f64>,
}

fn evaluate(market: &GeneralMarket, prices: &[f64]) -> Result<Evaluation, StackelbergError> {
    let kt = prices.len();
    let mut demand = vec![0.0; kt];
    let mut responses = Vec::with_capacity(market.classes.len());
    for c in &market.classes {
        let r = general_best_response(prices, c)?;
        for (d, x) in demand.iter_mut().zip(&r.demand) {
            *d += c.count * x;
        }
        responses.push(r);
    }
    Ok(Evaluation { responses, demand })
}

/// Relative excess `(D − G) / G` and the complementarity merit per entry.
fn merit(market: &GeneralMarket, prices: &[f64], demand: &[f64]) -> (Vec<f64>, f64) {
    let g = market.supply();
    let mut worst = 0.0_f64;
    let r: Vec<f64> = (0..prices.len())
        .map(|j| {
            let r = (demand[j] - g[j]) / g[j];
            let (lo, hi) = market.base.price_bounds(j);
            let e = if prices[j] <= lo && lo > 0.0 {
                r.max(0.0)
            } else if prices[j] >= hi {
                (-r).max(0.0)
            } else {
                r.abs()
            };
            worst = if e.is_nan() {
                f64::INFINITY
            } else {
                worst.max(e)
            };
            r
        })
        .collect();
    (r, worst)
}

/// Solves `A x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve_dense(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col] == 0.0 || !a[piv][col].is_finite() {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (i, row) in rest.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            if f != 0.0 {
                for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * p;
                }
                b[col + 1 + i] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

fn clamp_price(market: &GeneralMarket, j: usize, p: f64) -> f64 {
    let (lo, hi) = market.base.price_bounds(j);
    p.max(lo).min(hi).max(f64::MIN_POSITIVE)
}

/// Revenue of company `k` at `prices`: `Σ_t p_k(t) min(D_k(t), G_k(t))` (sales capped at
/// supply, Remark 3's rationing).
fn revenue(market: &GeneralMarket, k: usize, prices: &[f64], demand: &[f64]) -> f64 {
    let t_n = market.periods();
    let g = market.supply();
    (0..t_n)
        .map(|t| {
            let j = k * t_n + t;
            prices[j] * demand[j].min(g[j])
        })
        .sum()
}

/// Relative deviation factors tried by the Theorem 2 check.
const DEVIATION_FACTORS: [f64; 12] = [
    0.5, 0.8, 0.9, 0.99, 0.999, 0.9999, 1.0001, 1.001, 1.01, 1.1, 1.25, 2.0,
];

fn deviation_check(
    market: &GeneralMarket,
    prices: &[f64],
    demand: &[f64],
) -> Result<DeviationCheck, StackelbergError> {
    let t_n = market.periods();
    let mut best = DeviationCheck {
        max_gain: f64::NEG_INFINITY,
        company: 0,
        period: 0,
        factor: 1.0,
    };
    for k in 0..market.companies().len() {
        let base = revenue(market, k, prices, demand);
        // One period at a time (period index t), then all periods together (index T).
        for t in 0..=t_n {
            for &f in &DEVIATION_FACTORS {
                let mut p = prices.to_vec();
                let range = if t < t_n { t..t + 1 } else { 0..t_n };
                for tt in range {
                    let j = k * t_n + tt;
                    p[j] = clamp_price(market, j, prices[j] * f);
                }
                let e = evaluate(market, &p)?;
                let gain = (revenue(market, k, &p, &e.demand) - base) / base;
                if gain > best.max_gain {
                    best = DeviationCheck {
                        max_gain: gain,
                        company: k,
                        period: t,
                        factor: f,
                    };
                }
            }
        }
    }
    Ok(best)
}

/// The equilibrium prices of a [`GeneralMarket`] (see the module docs), with each class's
/// best response, the certificate and the paper's claims with verdicts.
///
/// Errors: more than `settings.max_entries` entries (named `periods`), a kernel failure.
/// Not converging is a status on the certificate.
pub fn solve_general_equilibrium(
    market: &GeneralMarket,
    settings: &GeneralSettings,
) -> Result<GeneralEquilibrium, StackelbergError> {
    let kt = market.supply().len();
    let t_n = market.periods();
    if kt > settings.max_entries {
        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
            field: "periods".into(),
            value: t_n as f64,
            requirement: format!(
                "companies × periods must be at most {} for consumers with general utilities \
                 or demand bounds (dense Newton)",
                settings.max_entries
            )
            .into(),
        }));
    }
    let tol = settings.tolerance;
    let g_total: f64 = market.supply().iter().sum();
    let start = market.budget_total() / g_total;
    let mut prices: Vec<f64> = (0..kt).map(|j| clamp_price(market, j, start)).collect();
    let mut eval = evaluate(market, &prices)?;
    let (mut r, mut m) = merit(market, &prices, &eval.demand);
    let mut iterations = 0;
    while m > tol * 0.01 && iterations < settings.max_iterations {
        iterations += 1;
        // Free entries: not held at a bound by the sign of their excess.
        let free: Vec<usize> = (0..kt)
            .filter(|&j| {
                let (lo, hi) = market.base.price_bounds(j);
                !((prices[j] <= lo && lo > 0.0 && r[j] <= 0.0) || (prices[j] >= hi && r[j] >= 0.0))
            })
            .collect();
        // Finite-difference Jacobian of r with respect to ln p on the free entries.
        let h: f64 = 1e-7;
        let mut jac = vec![vec![0.0; free.len()]; free.len()];
        for (c, &j) in free.iter().enumerate() {
            let mut p = prices.clone();
            p[j] *= h.exp();
            let e = evaluate(market, &p)?;
            let g = market.supply();
            for (row, &i) in free.iter().enumerate() {
                jac[row][c] = ((e.demand[i] - g[i]) / g[i] - r[i]) / h;
            }
        }
        let rhs: Vec<f64> = free.iter().map(|&i| -r[i]).collect();
        let step = solve_dense(jac, rhs);
        let mut accepted = false;
        if let Some(step) = step {
            let cap = step.iter().fold(0.0_f64, |a, s| a.max(s.abs()));
            let scale = if cap > 1.0 { 1.0 / cap } else { 1.0 };
            let mut t = 1.0;
            while t > 1e-4 {
                let mut p = prices.clone();
                for (c, &j) in free.iter().enumerate() {
                    p[j] = clamp_price(market, j, prices[j] * (t * scale * step[c]).exp());
                }
                let e = evaluate(market, &p)?;
                let (r2, m2) = merit(market, &p, &e.demand);
                if m2 < (1.0 - 1e-4 * t) * m {
                    prices = p;
                    eval = e;
                    r = r2;
                    m = m2;
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
        }
        if !accepted && m <= tol {
            // Within tolerance and Newton makes no more progress (rounding): stop here.
            break;
        }
        if !accepted {
            // Tâtonnement: raise prices where demand exceeds supply, lower them elsewhere.
            let g = market.supply();
            let p: Vec<f64> = (0..kt)
                .map(|j| {
                    let ratio = eval.demand[j] / g[j];
                    let ratio = if ratio.is_nan() {
                        1.0
                    } else {
                        ratio.clamp(0.25, 4.0)
                    };
                    clamp_price(market, j, prices[j] * ratio.sqrt())
                })
                .collect();
            let e = evaluate(market, &p)?;
            let (r2, m2) = merit(market, &p, &e.demand);
            prices = p;
            eval = e;
            r = r2;
            m = m2;
        }
    }
    let converged = m <= tol * 0.01 || m <= tol;
    // Report.
    let g = market.supply();
    let classes = &market.classes;
    let consumer_kkt = eval
        .responses
        .iter()
        .map(|x| x.kkt.max())
        .fold(0.0_f64, f64::max);
    let stationarity = eval
        .responses
        .iter()
        .map(|x| x.kkt.stationarity)
        .fold(0.0_f64, f64::max);
    let complementarity = eval
        .responses
        .iter()
        .map(|x| x.kkt.bound_sign.max(x.kkt.complementarity))
        .fold(0.0_f64, f64::max);
    let overspend = eval
        .responses
        .iter()
        .map(|x| x.kkt.budget)
        .fold(0.0_f64, f64::max);
    let kernel_ok = eval.responses.iter().all(|x| x.status.is_solved());
    let primal = m.max(overspend);
    let status = if converged && kernel_ok && primal.max(stationarity).max(complementarity) <= tol {
        Status::Solved
    } else if overspend > tol {
        // Some class's lower demand bounds cost more than its budget at these prices: its
        // problem has no feasible point.
        Status::Infeasible
    } else if !converged {
        Status::MaxIterations
    } else {
        Status::NumericalError
    };
    let certificate = Certificate {
        primal_infeasibility: primal,
        stationarity,
        complementarity,
        duality_gap: 0.0,
        iterations,
        status,
    };
    let price_bound: Vec<PriceBound> = (0..kt)
        .map(|j| {
            let (lo, hi) = market.base.price_bounds(j);
            if prices[j] >= hi {
                PriceBound::AtMax
            } else if lo > 0.0 && prices[j] <= lo {
                PriceBound::AtMin
            } else {
                PriceBound::Free
            }
        })
        .collect();
    let revenues: Vec<f64> = (0..market.companies().len())
        .map(|k| revenue(market, k, &prices, &eval.demand))
        .collect();
    // Proportional rationing where a price is capped with excess demand (Remark 3).
    let served: Vec<f64> = (0..kt)
        .map(|j| {
            if price_bound[j] == PriceBound::AtMax && eval.demand[j] > g[j] {
                g[j] / eval.demand[j]
            } else {
                1.0
            }
        })
        .collect();
    let clears = (0..kt)
        .all(|j| price_bound[j] == PriceBound::Free || (eval.demand[j] - g[j]).abs() <= tol * g[j]);
    let energy_received: Vec<f64> = eval
        .responses
        .iter()
        .map(|x| x.demand.iter().zip(&served).map(|(d, f)| d * f).sum())
        .collect();
    let payment_received: Vec<f64> = eval
        .responses
        .iter()
        .map(|x| (0..kt).map(|j| prices[j] * x.demand[j] * served[j]).sum())
        .collect();
    let unspent_budget: Vec<f64> = classes
        .iter()
        .zip(&payment_received)
        .map(|(c, p)| (c.budget - p).max(0.0))
        .collect();
    let unmet_need: Vec<usize> = classes
        .iter()
        .zip(&energy_received)
        .enumerate()
        .filter(|(_, (c, e))| **e < c.energy_need * (1.0 - tol))
        .map(|(n, _)| n)
        .collect();
    let deviation = deviation_check(market, &prices, &eval.demand)?;
    let mut claims = Vec::new();
    claims.push(Claim::new(
        "every company sells its supply at a free price, and a bounded price has the sign \
         of Remark 3 (eq. 9 binds at equilibrium)",
        m <= tol,
        format!("clearing residual {m:.2e} (tolerance {tol:.0e})"),
    ));
    let dev_tol = 1e-7;
    claims.push(Claim::new(
        "no company gains revenue by a unilateral price deviation (Theorem 2's equilibrium \
         property; for these consumers checked numerically, factors 0.5…2 on one period or \
         all periods of a company)",
        deviation.max_gain <= dev_tol,
        format!(
            "largest relative gain {:.2e} (company {}, {}, factor {}); tolerance {dev_tol:.0e}",
            deviation.max_gain,
            deviation.company,
            if deviation.period < t_n {
                format!("period {}", deviation.period)
            } else {
                "all periods".to_string()
            },
            deviation.factor
        ),
    ));
    if classes.iter().any(|c| c.energy_need > 0.0) {
        claims.push(Claim::new(
            "every class's energy need is met (eq. 6)",
            unmet_need.is_empty(),
            if unmet_need.is_empty() {
                "Σ d ≥ E for every class".to_string()
            } else {
                format!("classes {unmet_need:?} receive less than their need")
            },
        ));
    }
    let budget_binds: Vec<bool> = eval.responses.iter().map(|x| x.budget_binds).collect();
    let revenue_total: f64 = revenues.iter().sum();
    if budget_binds.iter().all(|&b| b) && price_bound.iter().all(|b| *b == PriceBound::Free) {
        let gap = (revenue_total - market.budget_total()).abs() / market.budget_total();
        claims.push(Claim::new(
            "Σ revenues = Σ budgets (eq. 15: every budget binds)",
            gap <= tol.max(1e-9) * 10.0,
            format!("relative gap {gap:.2e}"),
        ));
    }
    Ok(GeneralEquilibrium {
        prices: to_table(&prices, t_n),
        supply: to_table(g, t_n),
        aggregate_demand: to_table(&eval.demand, t_n),
        demand: eval
            .responses
            .iter()
            .map(|x| to_table(&x.demand, t_n))
            .collect(),
        multiplier: eval.responses.iter().map(|x| x.multiplier).collect(),
        budget_binds,
        payment: eval.responses.iter().map(|x| x.spend).collect(),
        energy: eval.responses.iter().map(|x| x.energy).collect(),
        utility: eval.responses.iter().map(|x| x.utility).collect(),
        revenues,
        budget_total: market.budget_total(),
        price_bound: price_bound.chunks(t_n).map(|c| c.to_vec()).collect(),
        supply_balance: m,
        consumer_kkt,
        unmet_need,
        clears,
        served_fraction: to_table(&served, t_n),
        energy_received,
        payment_received,
        unspent_budget,
        deviation,
        iterations,
        certificate,
        claims,
    })
}

/// One entry's scaled disutility `f(x) = −w u(σ x)` (see [`general_consumer_problem`]).
#[derive(Debug, Clone, Copy)]
struct ScaledDisutility {
    family: UtilityFamily,
    gamma: f64,
    zeta: f64,
    sigma: f64,
    weight: f64,
}

impl dr_convex::ConvexScalar for ScaledDisutility {
    fn value(&self, x: f64) -> f64 {
        let d = self.sigma * x;
        match self.family {
            UtilityFamily::Log if self.zeta + d <= 0.0 => f64::INFINITY,
            UtilityFamily::Power { .. } if self.zeta + d < 0.0 => f64::INFINITY,
            f => -self.weight * f.value(self.gamma, self.zeta, d),
        }
    }
    fn derivative(&self, x: f64) -> f64 {
        let d = self.sigma * x;
        -self.weight * self.sigma * self.family.marginal(self.gamma, self.zeta, d)
    }
    fn second_derivative(&self, x: f64) -> f64 {
        let d = self.sigma * x;
        -self.weight * self.sigma * self.sigma * self.family.curvature(self.gamma, self.zeta, d)
    }
    fn domain(&self) -> (f64, f64) {
        match self.family {
            UtilityFamily::Satiating { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            _ => (-self.zeta / self.sigma, f64::INFINITY),
        }
    }
}

/// A general consumer's best response as a kernel problem with the model's answer, for a
/// second opinion (the LP back end, `dr verify`).
#[derive(Debug, Clone)]
pub struct GeneralConsumerProblem {
    /// `min Σ_j −w u_j(σ x_j)` s.t. `Σ_j p'_j x_j = 1` (budget binds) or `≤ 1` (slack),
    /// `min_demand / σ ≤ x ≤ max_demand / σ`; `p' = p σ / B`.
    pub problem: dr_convex::SeparableProblem,
    /// The model's answer in those units: `x = d / σ`, the budget row's multiplier (`−1`
    /// for the equality; `0` for the slack inequality), the objective.
    pub candidate: dr_convex::Candidate,
    /// `σ = B / Σ_j p_j`: demands are `σ x`.
    pub sigma: f64,
}

/// The kernel problem of `class`'s best response at `prices` (flat `K · T`, positive) with
/// the model's answer `response` ([`general_best_response`]), in units where the budget is 1
/// and demands are `x = d / σ`, `σ = B / Σ p` (so any scale of the data gives the same
/// problem); the objective is scaled by `w = 1 / (λ B)` when the budget binds (its
/// multiplier is then `−1`), else by `1 / γ`.
///
/// Errors: non-positive prices, a length mismatch, a non-finite bound (named).
pub fn general_consumer_problem(
    prices: &[f64],
    class: &GeneralClass,
    response: &GeneralResponse,
) -> Result<GeneralConsumerProblem, StackelbergError> {
    use dr_convex::{Candidate, LinearRows, SeparableProblem};
    use std::sync::Arc;
    crate::consumer::validate_prices(prices)?;
    let n = prices.len();
    dr_convex::check_len(|| "prices".into(), class.min_demand.len(), n)?;
    dr_convex::check_len(|| "demand".into(), n, response.demand.len())?;
    let b = class.budget;
    let sigma = b / prices.iter().sum::<f64>();
    let binds = response.budget_binds && response.multiplier > 0.0;
    let weight = if binds {
        1.0 / (response.multiplier * b)
    } else {
        1.0 / class.gamma
    };
    let objective: Vec<Arc<dyn dr_convex::ConvexScalar>> = (0..n)
        .map(|_| {
            Arc::new(ScaledDisutility {
                family: class.utility,
                gamma: class.gamma,
                zeta: class.zeta,
                sigma,
                weight,
            }) as Arc<dyn dr_convex::ConvexScalar>
        })
        .collect();
    let row: Vec<(usize, f64)> = (0..n).map(|j| (j, prices[j] * sigma / b)).collect();
    let mut equalities = LinearRows::new(n);
    let mut inequalities = LinearRows::new(n);
    if binds {
        equalities
            .push_row(&row, 1.0)
            .map_err(StackelbergError::kernel("budget"))?;
    } else {
        inequalities
            .push_row(&row, 1.0)
            .map_err(StackelbergError::kernel("budget"))?;
    }
    let x: Vec<f64> = response.demand.iter().map(|d| d / sigma).collect();
    let objective_value = -weight * response.utility;
    Ok(GeneralConsumerProblem {
        problem: SeparableProblem {
            objective,
            lower: class.min_demand.iter().map(|l| l / sigma).collect(),
            upper: class.max_demand.iter().map(|u| u / sigma).collect(),
            equalities,
            inequalities,
        },
        candidate: Candidate {
            x,
            equality_multipliers: if binds { vec![-1.0] } else { Vec::new() },
            inequality_multipliers: if binds { Vec::new() } else { vec![0.0] },
            objective: objective_value,
        },
        sigma,
    })
}
