//! The consumer's problem (alshehri-liu-chen-basar §III-A, §IV-A): maximise
//! `Σ_{k,t} γ_{k,t} ln(ζ_{k,t} + d_{k,t})` subject to the budget `Σ p_k(t) d_{k,t} ≤ B`,
//! `d ≥ 0` (and the energy need `Σ d ≥ E`, handled by Theorem 1).
//!
//! - [`closed_form_demand`]: eq. 10 (eq. 29 with per-entry weights), budget binding,
//!   valid while every demand is `≥ 0`.
//! - [`best_response`]: the exact answer with `d ≥ 0`. The closed form when it is
//!   non-negative ([`ConsumerCase::Interior`]); otherwise the water-filling solved by the
//!   kernel's exact allocator on the spends `e_j = p_j d_j`:
//!   `min −Σ γ_j ln(ζ_j + e_j / p_j)  s.t.  Σ e_j = B,  e ≥ 0`
//!   ([`ConsumerCase::WaterFilling`]). Its certificate is the kernel's.
//! - [`water_fill`]: the same exact answer by sorting breakpoints (`O(KT log KT)`), used
//!   for aggregates over many consumers; tests check it against [`best_response`].
//! - [`consumer_kkt`]: KKT residuals of any demand vector.
//! - [`minimum_budget`] (exact, Theorem 1 generalised to the water-filling case) and
//!   [`minimum_budget_closed_form`] (eq. 11).

use crate::error::StackelbergError;
use crate::model::{Preferences, Weights};
use dr_convex::{allocate, AllocatorSettings, Bound, Certificate, Family, QuadraticFamily, Status};
use dr_convex::{check_len, check_nonnegative, check_positive};
use serde::Serialize;

/// Which case of the consumer's best response applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConsumerCase {
    /// The closed form (eq. 10 / eq. 29) is non-negative and is the best response.
    Interior,
    /// Some demands are zero: the exact water-filling with `d ≥ 0`.
    WaterFilling {
        /// Number of (company, period) entries with zero demand.
        inactive: usize,
    },
}

/// KKT residuals of a consumer's demand vector (all relative, 0 at an exact best response).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ConsumerKkt {
    /// `max |γ_j / ((ζ_j + d_j) p_j λ) − 1|` over entries with `d_j > 0`.
    pub stationarity: f64,
    /// `max [γ_j / (ζ_j p_j λ) − 1]^+` over entries with `d_j = 0` (the multiplier of
    /// `d_j ≥ 0` must be non-negative).
    pub dual_feasibility: f64,
    /// `|Σ p_j d_j − B| / B` (the budget binds, eq. 10's derivation).
    pub budget: f64,
    /// `[−min_j d_j]^+ / max(1, max_j d_j)`.
    pub nonnegativity: f64,
}

impl ConsumerKkt {
    /// The largest residual.
    pub fn max(&self) -> f64 {
        self.stationarity
            .max(self.dual_feasibility)
            .max(self.budget)
            .max(self.nonnegativity)
    }
}

/// A consumer's exact best response to prices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestResponse {
    /// Demands `d_{k,t} ≥ 0`, flat company-major.
    pub demand: Vec<f64>,
    /// The budget multiplier `λ > 0` (marginal utility of money):
    /// `γ_j / (ζ_j + d_j) = λ p_j` wherever `d_j > 0`.
    pub multiplier: f64,
    /// Which case applied.
    pub case: ConsumerCase,
    /// Energy received `Σ d`.
    pub energy: f64,
    /// Money spent `Σ p d` (equals the budget).
    pub spend: f64,
    /// Utility `Σ γ ln(ζ + d)` (eq. 3 / eq. 28).
    pub utility: f64,
    /// KKT residuals of `demand` (see [`consumer_kkt`]).
    pub kkt: ConsumerKkt,
    /// Certificate: the kernel allocator's in the water-filling case; in the interior case
    /// built from [`BestResponse::kkt`] (primal = budget, stationarity, complementarity =
    /// dual feasibility).
    pub certificate: Certificate,
}

pub(crate) fn validate_prices(prices: &[f64]) -> Result<(), StackelbergError> {
    if prices.is_empty() {
        return Err(StackelbergError::Input(dr_convex::InputError::Empty {
            field: "prices".into(),
        }));
    }
    for (j, &p) in prices.iter().enumerate() {
        check_positive(|| format!("prices[{j}]"), p)?;
    }
    Ok(())
}

pub(crate) fn validate_preferences(
    prefs: &Preferences<'_>,
    n: usize,
) -> Result<(), StackelbergError> {
    match prefs.gamma {
        Weights::Uniform(g) => {
            check_positive(|| "gamma".into(), g)?;
        }
        Weights::PerEntry(g) => {
            check_len(|| "gamma".into(), n, g.len())?;
            for (j, &v) in g.iter().enumerate() {
                check_positive(|| format!("gamma[{j}]"), v)?;
            }
        }
    }
    match prefs.zeta {
        Weights::Uniform(z) => {
            check_nonnegative(|| "zeta".into(), z)?;
        }
        Weights::PerEntry(z) => {
            check_len(|| "zeta".into(), n, z.len())?;
            for (j, &v) in z.iter().enumerate() {
                check_nonnegative(|| format!("zeta[{j}]"), v)?;
            }
        }
    }
    Ok(())
}

fn gamma_sum(prefs: &Preferences<'_>, n: usize) -> f64 {
    match prefs.gamma {
        Weights::Uniform(g) => g * n as f64,
        Weights::PerEntry(g) => g.iter().sum(),
    }
}

/// The closed-form demand of eq. 10, `d_{k,t} = (B + ζ Σ p) / (K T p_k(t)) − ζ`, and its
/// generalisation eq. 29, `d_j = γ_j (B + Σ_i p_i ζ_i) / (p_j Σ_i γ_i) − ζ_j`
/// (alshehri-liu-chen-basar). Budget binding; may be negative, in which case the exact
/// best response is the water-filling of [`best_response`].
///
/// Errors: empty or non-positive prices, a non-positive budget, bad `γ`/`ζ` (named).
pub fn closed_form_demand(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
) -> Result<Vec<f64>, StackelbergError> {
    validate_prices(prices)?;
    check_positive(|| "budget".into(), budget)?;
    validate_preferences(&prefs, prices.len())?;
    Ok(closed_form_unchecked(prices, budget, prefs))
}

pub(crate) fn closed_form_unchecked(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
) -> Vec<f64> {
    let n = prices.len();
    let weighted: f64 = prices
        .iter()
        .enumerate()
        .map(|(j, &p)| p * prefs.zeta.get(j))
        .sum();
    let g = gamma_sum(&prefs, n);
    let scale = (budget + weighted) / g;
    prices
        .iter()
        .enumerate()
        .map(|(j, &p)| prefs.gamma.get(j) * scale / p - prefs.zeta.get(j))
        .collect()
}

/// Utility `Σ_j γ_j ln(ζ_j + d_j)` (eq. 3 / eq. 28).
///
/// Errors: bad `γ`/`ζ` or a length mismatch (named).
pub fn utility(demand: &[f64], prefs: Preferences<'_>) -> Result<f64, StackelbergError> {
    validate_preferences(&prefs, demand.len())?;
    Ok(utility_unchecked(demand, prefs))
}

pub(crate) fn utility_unchecked(demand: &[f64], prefs: Preferences<'_>) -> f64 {
    demand
        .iter()
        .enumerate()
        .map(|(j, &d)| prefs.gamma.get(j) * (prefs.zeta.get(j) + d).ln())
        .sum()
}

/// KKT residuals of `demand` for the consumer's budget-constrained problem with `d ≥ 0`, at
/// the budget multiplier `multiplier` (see [`ConsumerKkt`]).
///
/// Errors: bad prices, budget, `γ`/`ζ`, or a demand vector of the wrong length (named).
pub fn consumer_kkt(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
    demand: &[f64],
    multiplier: f64,
) -> Result<ConsumerKkt, StackelbergError> {
    validate_prices(prices)?;
    check_positive(|| "budget".into(), budget)?;
    validate_preferences(&prefs, prices.len())?;
    check_len(|| "demand".into(), prices.len(), demand.len())?;
    Ok(kkt_unchecked(prices, budget, prefs, demand, multiplier))
}

pub(crate) fn kkt_unchecked(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
    demand: &[f64],
    multiplier: f64,
) -> ConsumerKkt {
    let mut kkt = ConsumerKkt::default();
    let mut spend = 0.0;
    let mut dmax = 0.0_f64;
    let mut dmin = f64::INFINITY;
    for (j, (&p, &d)) in prices.iter().zip(demand).enumerate() {
        let (g, z) = (prefs.gamma.get(j), prefs.zeta.get(j));
        spend += p * d;
        dmax = dmax.max(d);
        dmin = dmin.min(d);
        if d > 0.0 {
            let r = (g / ((z + d) * p * multiplier) - 1.0).abs();
            kkt.stationarity = kkt.stationarity.max(r);
        } else {
            let v = if z > 0.0 {
                (g / (z * p * multiplier) - 1.0).max(0.0)
            } else {
                f64::INFINITY
            };
            kkt.dual_feasibility = kkt.dual_feasibility.max(v);
        }
    }
    kkt.budget = (spend - budget).abs() / budget.abs().max(f64::MIN_POSITIVE);
    kkt.nonnegativity = (-dmin).max(0.0) / dmax.max(f64::MIN_POSITIVE);
    if !multiplier.is_finite() || multiplier <= 0.0 {
        kkt.stationarity = f64::INFINITY;
    }
    kkt
}

/// The spend family `f_j(e) = −γ_j ln(ζ_j + e / p_j)` of the consumer's water-filling, for
/// the kernel allocator (`Σ e_j = B`). Its multiplier is `−λ` (λ = marginal utility of
/// money).
#[derive(Debug, Clone, Copy)]
pub struct SpendFamily<'a> {
    /// Prices `p_j > 0`.
    pub prices: &'a [f64],
    /// Utility parameters.
    pub prefs: Preferences<'a>,
}

impl Family for SpendFamily<'_> {
    fn len(&self) -> usize {
        self.prices.len()
    }
    fn value(&self, j: usize, e: f64) -> f64 {
        let p = self.prices[j];
        let z = self.prefs.zeta.get(j) + e / p;
        if z > 0.0 {
            -self.prefs.gamma.get(j) * z.ln()
        } else {
            f64::INFINITY
        }
    }
    fn derivative(&self, j: usize, e: f64) -> f64 {
        let s = self.prefs.zeta.get(j) * self.prices[j] + e;
        if s > 0.0 {
            -self.prefs.gamma.get(j) / s
        } else {
            f64::NEG_INFINITY
        }
    }
    fn response(&self, j: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
        if lambda >= 0.0 {
            return (hi, 0.0);
        }
        let g = self.prefs.gamma.get(j);
        let e = -g / lambda - self.prefs.zeta.get(j) * self.prices[j];
        let slope = g / (lambda * lambda);
        if e < lo {
            (lo, 0.0)
        } else if e == lo {
            (lo, slope)
        } else if e >= hi {
            (hi, 0.0)
        } else {
            (e, slope)
        }
    }
}

/// The consumer's exact best response with `d ≥ 0` (alshehri-liu-chen-basar eq. 10 when
/// interior, else the water-filling solved by the kernel allocator), with its case,
/// multiplier, KKT residuals and certificate.
///
/// Errors: empty or non-positive prices, non-positive budget, bad `γ`/`ζ` (named).
pub fn best_response(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
) -> Result<BestResponse, StackelbergError> {
    validate_prices(prices)?;
    check_positive(|| "budget".into(), budget)?;
    validate_preferences(&prefs, prices.len())?;
    let n = prices.len();
    let closed = closed_form_unchecked(prices, budget, prefs);
    let (demand, multiplier, case, certificate) = if closed.iter().all(|&d| d >= 0.0) {
        let weighted: f64 = (0..n).map(|j| prices[j] * prefs.zeta.get(j)).sum();
        let lambda = gamma_sum(&prefs, n) / (budget + weighted);
        (closed, lambda, ConsumerCase::Interior, None)
    } else {
        // Solved in units of the budget (spend shares e' = e / B, prices p / B, Σ e' = 1),
        // so the kernel's tolerances act relative to the data's scale (issue 11); the
        // demands are unchanged and the multiplier scales back by 1/B.
        let shares: Vec<f64> = prices.iter().map(|p| p / budget).collect();
        let family = SpendFamily {
            prices: &shares,
            prefs,
        };
        let alloc = allocate(
            &family,
            Bound::Constant(0.0),
            // Never binds (Σ e' = 1, e' ≥ 0); an upper bound of 1 could bind for a single
            // active entry and blur the multiplier.
            Bound::Constant(2.0),
            1.0,
            &AllocatorSettings::default(),
        )
        .map_err(StackelbergError::kernel("consumer best response"))?;
        let demand: Vec<f64> = alloc.x.iter().zip(&shares).map(|(e, p)| e / p).collect();
        let inactive = demand.iter().filter(|&&d| d <= 0.0).count();
        (
            demand,
            -alloc.multiplier / budget,
            ConsumerCase::WaterFilling { inactive },
            Some(alloc.certificate),
        )
    };
    let kkt = kkt_unchecked(prices, budget, prefs, &demand, multiplier);
    let certificate = certificate.unwrap_or(Certificate {
        primal_infeasibility: kkt.budget,
        stationarity: kkt.stationarity,
        complementarity: kkt.dual_feasibility,
        duality_gap: 0.0,
        iterations: 0,
        status: Status::Solved,
    });
    Ok(BestResponse {
        energy: demand.iter().sum(),
        spend: demand.iter().zip(prices).map(|(d, p)| d * p).sum(),
        utility: utility_unchecked(&demand, prefs),
        demand,
        multiplier,
        case,
        kkt,
        certificate,
    })
}

/// The exact best response by sorting breakpoints: `e_j = [γ_j μ − ζ_j p_j]^+` with the
/// level `μ = 1/λ` fixed by `Σ e_j = B` (`O(KT log KT)`). Same answer as
/// [`best_response`]; used where many consumers are evaluated.
///
/// Errors: as [`best_response`].
pub fn water_fill(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
) -> Result<BestResponse, StackelbergError> {
    validate_prices(prices)?;
    check_positive(|| "budget".into(), budget)?;
    validate_preferences(&prefs, prices.len())?;
    let (demand, multiplier, inactive) = water_fill_unchecked(prices, budget, prefs);
    let kkt = kkt_unchecked(prices, budget, prefs, &demand, multiplier);
    let case = if inactive == 0 {
        ConsumerCase::Interior
    } else {
        ConsumerCase::WaterFilling { inactive }
    };
    Ok(BestResponse {
        energy: demand.iter().sum(),
        spend: demand.iter().zip(prices).map(|(d, p)| d * p).sum(),
        utility: utility_unchecked(&demand, prefs),
        demand,
        multiplier,
        case,
        kkt,
        certificate: Certificate {
            primal_infeasibility: kkt.budget,
            stationarity: kkt.stationarity,
            complementarity: kkt.dual_feasibility,
            duality_gap: 0.0,
            iterations: 1,
            status: Status::Solved,
        },
    })
}

/// `(demand, λ, inactive)` of the sort-based water-filling; inputs assumed valid.
pub(crate) fn water_fill_unchecked(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
) -> (Vec<f64>, f64, usize) {
    let n = prices.len();
    // Breakpoints β_j = ζ_j p_j / γ_j: entry j is bought once the level μ exceeds β_j.
    let mut order: Vec<usize> = (0..n).collect();
    let beta = |j: usize| prefs.zeta.get(j) * prices[j] / prefs.gamma.get(j);
    order.sort_by(|&a, &b| beta(a).total_cmp(&beta(b)));
    let mut cum_g = vec![0.0; n + 1];
    let mut cum_c = vec![0.0; n + 1];
    for (r, &j) in order.iter().enumerate() {
        cum_g[r + 1] = cum_g[r] + prefs.gamma.get(j);
        cum_c[r + 1] = cum_c[r] + prefs.zeta.get(j) * prices[j];
    }
    // f(m) = β_(m−1) Γ_m − C_m is non-decreasing; the active count is the largest m with
    // f(m) < B.
    let f = |m: usize| beta(order[m - 1]) * cum_g[m] - cum_c[m];
    let (mut lo, mut hi) = (1usize, n);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if f(mid) < budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let m = lo;
    let mu = (budget + cum_c[m]) / cum_g[m];
    let mut demand = vec![0.0; n];
    for &j in &order[..m] {
        let e = prefs.gamma.get(j) * mu - prefs.zeta.get(j) * prices[j];
        demand[j] = e.max(0.0) / prices[j];
    }
    (demand, 1.0 / mu, n - m)
}

/// The minimum budget of eq. 11 (Theorem 1), uniform `ζ`:
/// `B_min = (E + ζ K T) / Σ_{k,t} 1/(K T p_k(t)) − ζ Σ_{k,t} p_k(t)`.
///
/// Exact while the closed-form demand at that budget is non-negative; otherwise use
/// [`minimum_budget`].
///
/// Errors: bad prices, a negative energy need or `ζ` (named).
pub fn minimum_budget_closed_form(
    prices: &[f64],
    energy_need: f64,
    zeta: f64,
) -> Result<f64, StackelbergError> {
    validate_prices(prices)?;
    check_nonnegative(|| "energy_need".into(), energy_need)?;
    check_nonnegative(|| "zeta".into(), zeta)?;
    let n = prices.len() as f64;
    let inv: f64 = prices.iter().map(|p| 1.0 / (n * p)).sum();
    let sum: f64 = prices.iter().sum();
    Ok((energy_need + zeta * n) / inv - zeta * sum)
}

/// The exact minimum budget that meets the energy need `E` at these prices (Theorem 1,
/// generalised to the water-filling case): the best response's energy `Σ d(B)` is
/// increasing in `B`, and at the level where it equals `E` the demands are
/// `d_j = [γ_j μ / p_j − ζ_j]^+` — the kernel allocator's answer for the quadratic family
/// `a_j = p_j ζ_j / γ_j`, `h_j = p_j / (2 γ_j)` with `Σ d = E`. Then `B_min = Σ p_j d_j`.
/// Equals eq. 11 ([`minimum_budget_closed_form`]) when every demand is positive.
///
/// Errors: bad prices, `γ`, `ζ` or a negative/non-finite energy need.
pub fn minimum_budget(
    prices: &[f64],
    energy_need: f64,
    prefs: Preferences<'_>,
) -> Result<f64, StackelbergError> {
    validate_prices(prices)?;
    check_nonnegative(|| "energy_need".into(), energy_need)?;
    validate_preferences(&prefs, prices.len())?;
    if energy_need == 0.0 {
        return Ok(0.0);
    }
    let n = prices.len();
    let linear: Vec<f64> = (0..n)
        .map(|j| prices[j] * prefs.zeta.get(j) / prefs.gamma.get(j))
        .collect();
    let quadratic: Vec<f64> = (0..n)
        .map(|j| prices[j] / (2.0 * prefs.gamma.get(j)))
        .collect();
    let family = QuadraticFamily::new(&linear, &quadratic)
        .map_err(StackelbergError::kernel("minimum budget"))?;
    let alloc = allocate(
        &family,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        energy_need,
        &AllocatorSettings::default(),
    )
    .map_err(StackelbergError::kernel("minimum budget"))?;
    Ok(alloc.x.iter().zip(prices).map(|(d, p)| d * p).sum())
}

/// Prices sorted ascending with prefix sums: the uniform-weight consumer's water-filling
/// in `O(log KT)` per consumer (alshehri-liu-chen-basar eq. 10 with `d ≥ 0`).
///
/// For uniform `γ, ζ` the spend on entry `j` is `e_j = [A − ζ p_j]^+` with the spend level
/// `A = γ / λ`: the consumer buys the `m` cheapest entries.
#[derive(Debug, Clone)]
pub(crate) struct SortedPrices {
    pub n: usize,
    /// `rank[j]`: position of entry `j` in ascending price order.
    pub rank: Vec<usize>,
    /// Sorted prices.
    pub p: Vec<f64>,
    pub cum_p: Vec<f64>,
    pub cum_inv: Vec<f64>,
    pub cum_ln: Vec<f64>,
    pub cum_p2: Vec<f64>,
}

/// A uniform-weight consumer's response: it buys the `active` cheapest entries with
/// `d_j = A / p_j − ζ` (spend `A − ζ p_j`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct UniformResponse {
    pub active: usize,
    pub level: f64,
}

impl SortedPrices {
    pub fn new(prices: &[f64]) -> Self {
        let n = prices.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| prices[a].total_cmp(&prices[b]));
        let mut rank = vec![0; n];
        let mut p = Vec::with_capacity(n);
        let mut cum_p = vec![0.0; n + 1];
        let mut cum_inv = vec![0.0; n + 1];
        let mut cum_ln = vec![0.0; n + 1];
        let mut cum_p2 = vec![0.0; n + 1];
        for (r, &j) in order.iter().enumerate() {
            rank[j] = r;
            let v = prices[j];
            p.push(v);
            cum_p[r + 1] = cum_p[r] + v;
            cum_inv[r + 1] = cum_inv[r] + 1.0 / v;
            cum_ln[r + 1] = cum_ln[r] + v.ln();
            cum_p2[r + 1] = cum_p2[r] + v * v;
        }
        Self {
            n,
            rank,
            p,
            cum_p,
            cum_inv,
            cum_ln,
            cum_p2,
        }
    }

    /// Largest `m ∈ [1, n]` with `f(m) < target` for a non-decreasing `f`, `f(1) = 0`.
    fn search(&self, target: f64, f: impl Fn(usize) -> f64) -> usize {
        let (mut lo, mut hi) = (1usize, self.n);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if f(mid) < target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// Response of a consumer with budget `B > 0` and shift `ζ ≥ 0`.
    pub fn respond(&self, budget: f64, zeta: f64) -> UniformResponse {
        if zeta <= 0.0 {
            return UniformResponse {
                active: self.n,
                level: budget / self.n as f64,
            };
        }
        let b = budget / zeta;
        let m = self.search(b, |m| m as f64 * self.p[m - 1] - self.cum_p[m]);
        let tau = (b + self.cum_p[m]) / m as f64;
        UniformResponse {
            active: m,
            level: zeta * tau,
        }
    }

    /// Energy `Σ d` of a response.
    pub fn energy(&self, r: UniformResponse, zeta: f64) -> f64 {
        r.level * self.cum_inv[r.active] - zeta * r.active as f64
    }

    /// Spend `Σ p d` of a response.
    pub fn spend(&self, r: UniformResponse, zeta: f64) -> f64 {
        r.level * r.active as f64 - zeta * self.cum_p[r.active]
    }

    /// Utility `γ Σ ln(ζ + d)` of a response.
    pub fn utility(&self, r: UniformResponse, gamma: f64, zeta: f64) -> f64 {
        let m = r.active;
        let mut u = m as f64 * r.level.ln() - self.cum_ln[m];
        if m < self.n {
            u += (self.n - m) as f64 * zeta.ln();
        }
        gamma * u
    }

    /// The potential `φ(p) = max_τ B τ − (ζ/2) Σ [τ − p_j]^+²` whose gradient is the spend
    /// vector (`ζ > 0`), or `(B / n) Σ p` (`ζ = 0`).
    pub fn potential(&self, r: UniformResponse, budget: f64, zeta: f64) -> f64 {
        if zeta <= 0.0 {
            return r.level * self.cum_p[self.n];
        }
        let m = r.active;
        let tau = r.level / zeta;
        budget * tau
            - 0.5 * zeta * (m as f64 * tau * tau - 2.0 * tau * self.cum_p[m] + self.cum_p2[m])
    }

    /// Exact minimum budget meeting `E` (see [`minimum_budget`]).
    pub fn minimum_budget(&self, energy_need: f64, zeta: f64) -> f64 {
        if energy_need <= 0.0 {
            return 0.0;
        }
        if zeta <= 0.0 {
            return self.n as f64 * energy_need / self.cum_inv[self.n];
        }
        let e = energy_need / zeta;
        let m = self.search(e, |m| self.p[m - 1] * self.cum_inv[m] - m as f64);
        let tau = (e + m as f64) / self.cum_inv[m];
        zeta * (m as f64 * tau - self.cum_p[m])
    }

    /// Writes the demand of a response into `out` (flat entries).
    pub fn demand_into(&self, r: UniformResponse, zeta: f64, out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = if self.rank[j] < r.active {
                (r.level / self.p[self.rank[j]] - zeta).max(0.0)
            } else {
                0.0
            };
        }
    }
}
