//! The Stackelberg equilibrium (alshehri-liu-chen-basar §IV-B, Lemma 2, Theorem 2).
//!
//! At equilibrium every company sells its whole supply: `Σ_n d_{n,k}(t) = G_k(t)`. With the
//! closed-form demands (eq. 10) this is the linear system (13),
//! `K T (G_k(t) + Z) p_k(t) − Z Σ p = B`, diagonal minus rank one, whose Sherman–Morrison
//! solution is eq. 14, `p_k(t) = B / (K T (G_k(t) + Z) (1 − Z H))`,
//! `H = Σ 1/(K T (G_k(t) + Z))`.
//!
//! # Method
//! 1. [`prices_closed_form`] (eq. 14) and [`prices_linear_system`] (faer: dense Cholesky /
//!    LU for small `K T`, a Woodbury solve for large `K T`) — two independent paths whose
//!    agreement is part of the certificate. With eq. 28 weights the system is diagonal minus
//!    rank `1 + #classes with weights` (*derived*), solved the same way.
//! 2. If those prices lie within the bounds (Remark 3) and every consumer's closed-form
//!    demand is non-negative, they are the equilibrium ([`EquilibriumCase::Interior`]).
//! 3. Otherwise the exact equilibrium is the market clearing with the consumers' exact
//!    water-filling responses (`d ≥ 0`) and the price bounds: the spend map
//!    `H_j(p) = p_j (D_j(p) − G_j)` is piecewise linear in `p`, and with uniform weights it
//!    is the gradient of the strongly concave potential
//!    `Φ(p) = Σ_n count_n max_τ [B_n τ − ζ_n/2 Σ_j [τ − p_j]^+²] − ½ Σ_j G_j p_j²` (*derived*),
//!    so the equilibrium maximises `Φ` over the price box: `H_j = 0` between the bounds,
//!    `H_j ≥ 0` (over-demand) at `p_max`, `H_j ≤ 0` (unsold supply) at `p_min`. A projected
//!    semismooth Newton method (exact Jacobian on the current active sets, faer Cholesky /
//!    LU, Armijo on `Φ` or on the natural residual) solves it, usually in a few steps.
//!
//! Every result carries an [`EquilibriumCertificate`]: the residual of system (13), the
//! closed-form-vs-linear-system gap, the supply balance `Σ_n d_{n,k}(t) − G_k(t)`, the
//! budget residuals (budgets are fully spent), eq. 15 (`Σ revenues = Σ budgets`), and the
//! consumers' KKT residuals.

use crate::aggregate::{aggregate, aggregate_demand, Aggregate};
use crate::consumer::{
    kkt_unchecked, minimum_budget, utility_unchecked, water_fill_unchecked, SortedPrices,
};
use crate::error::{BudgetShortfall, StackelbergError};
use crate::model::{to_table, Market};
use dr_convex::parallel::{chunked_reduce, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{Certificate, Status};
use faer::prelude::*;
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

/// Which linear solver computes the prices of system (13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinearSolver {
    /// Dense when `K T ≤ 1024`, structured otherwise.
    Auto,
    /// Dense Cholesky (the matrix of (13) is symmetric positive definite without eq. 28
    /// weights); falls back to LU otherwise.
    DenseCholesky,
    /// Dense LU with partial pivoting.
    DenseLu,
    /// Diagonal minus low rank: Woodbury with a small dense capacitance matrix.
    Structured,
}

/// Prices of system (13) from [`prices_linear_system`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinearSystemSolution {
    /// Flat prices `p_k(t)`, entry `k T + t`.
    pub prices: Vec<f64>,
    /// The solver actually used.
    pub solver: LinearSolver,
    /// `‖M p − b‖_∞ / ‖b‖_∞`.
    pub residual: f64,
}

/// How many numbers the full demand table may hold before [`DemandOutput::Auto`] stops
/// materialising it.
pub const AUTO_DEMAND_LIMIT: usize = 1 << 22;

/// Whether [`solve_equilibrium`] materialises the per-class demand table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum DemandOutput {
    /// Per class when `classes · K · T ≤` `AUTO_DEMAND_LIMIT`.
    #[default]
    Auto,
    /// Always per class (`[class][k][t]`).
    PerClass,
    /// Never: aggregate demand only.
    AggregateOnly,
}

/// Settings of [`solve_equilibrium`] and [`equilibrium_prices`], with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EquilibriumSettings {
    /// Market clearing tolerance: `|D_j − G_j| ≤ tolerance · G_j`.
    pub tolerance: f64,
    /// Most Newton iterations when the closed form does not apply.
    pub max_iterations: usize,
    /// Largest `K T` for the dense faer cross-check of system (13).
    pub dense_limit: usize,
    /// Materialise per-class demands or not.
    pub demands: DemandOutput,
    /// Recompute every class's demand vector and check its KKT conditions (`O(N K T)`).
    pub verify_consumers: bool,
    /// Return [`StackelbergError::BudgetBelowMinimum`] when some class's energy need is not
    /// met at the equilibrium (Assumption 1 / Theorem 1).
    pub check_energy_need: bool,
    /// Relative slack of that check.
    pub energy_tolerance: f64,
}

impl Default for EquilibriumSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-10,
            max_iterations: 100,
            dense_limit: 1024,
            demands: DemandOutput::Auto,
            verify_consumers: true,
            check_energy_need: true,
            energy_tolerance: 1e-9,
        }
    }
}

/// Which regime the equilibrium is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EquilibriumCase {
    /// Eq. 14 / system (13): every closed-form demand is non-negative, no bound binds.
    Interior,
    /// Some consumers buy nothing from some (company, period): exact water-filling
    /// equilibrium (Newton), no price bound binds.
    WaterFilling,
    /// Some price sits at `p_min` or `p_max` (Remark 3).
    Bounded,
}

/// Where a price sits relative to its bounds (Remark 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBound {
    /// Strictly inside: supply is sold exactly.
    Free,
    /// At `p_min`: demand ≤ supply (unsold supply).
    AtMin,
    /// At `p_max`: demand ≥ supply (companies sell `G`, consumers are rationed).
    AtMax,
}

/// Prices and aggregate demand of the equilibrium (the light result of
/// [`equilibrium_prices`]; never materialises per-consumer numbers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceEquilibrium {
    /// Flat prices `p_k(t)`.
    pub prices: Vec<f64>,
    /// Flat aggregate demand `D_k(t) = Σ_n count_n d_{n,k}(t)`.
    pub aggregate_demand: Vec<f64>,
    /// The regime.
    pub case: EquilibriumCase,
    /// Bound status per entry.
    pub bound: Vec<PriceBound>,
    /// Classes with some zero demand.
    pub noninterior_classes: usize,
    /// Newton iterations (0 when eq. 14 applies).
    pub iterations: usize,
    /// Solved or MaxIterations.
    pub status: Status,
    /// Supply balance: `max |D_j − G_j| / G_j` over free entries, and the sign violations at
    /// bounds.
    pub supply_balance: f64,
    /// `max_j |p_closed − p_linear| / p_closed` between eq. 14 and system (13) by faer.
    pub closed_form_vs_linear_system: f64,
    /// Residual of system (13) at the eq. 14 prices (relative).
    pub linear_system_residual: f64,
    /// The solver used for the cross-check.
    pub linear_solver: LinearSolver,
}

/// The model's own checks of an equilibrium (all relative): system (13), eq. 14 against
/// faer's solution of (13), the supply balance, the budgets, eq. 15 and the consumers' KKT
/// conditions. Reported beside the kernel certificate (`dr solve`'s
/// `equilibrium_certificate`), so it reads back with `Deserialize`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EquilibriumChecks {
    /// Residual of system (13) at the eq. 14 prices.
    pub linear_system_residual: f64,
    /// Largest relative gap between eq. 14 and the faer solution of (13).
    pub closed_form_vs_linear_system: f64,
    /// Supply balance `max |Σ_n d_{n,k}(t) − G_k(t)| / G_k(t)` over free entries (sign
    /// conditions at bounds).
    pub supply_balance: f64,
    /// `max_n |Σ p d_n − B_n| / B_n` (budgets fully spent).
    pub budget_residual: f64,
    /// `|Σ_k revenue_k − Σ_n count_n B_n| / Σ B` (eq. 15; not expected to vanish when some
    /// price sits at `p_max`).
    pub revenue_budget_gap: f64,
    /// Largest consumer KKT residual (0 when not verified).
    pub consumer_kkt: f64,
    /// Whether every class's demand vector was recomputed and checked.
    pub consumers_verified: bool,
    /// Newton iterations.
    pub newton_iterations: usize,
}

/// Residuals of an equilibrium: the model's checks and the certificate that summarises them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EquilibriumCertificate {
    /// The model's checks.
    #[serde(flatten)]
    pub checks: EquilibriumChecks,
    /// Summary: primal = supply balance, stationarity = consumer KKT, complementarity =
    /// budget residual, duality gap = eq. 15 gap (0 when rationed at `p_max`).
    pub certificate: Certificate,
}

/// Who gets the scarce supply when a price sits at its cap `p_max` with demand above supply
/// (alshehri-liu-chen-basar Remark 3 clips the price but does not say how the supply is
/// shared; this is our choice, *not the paper's*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RationingRule {
    /// Proportional rationing: at an entry `j` with aggregate demand `D_j > G_j` every
    /// consumer receives the same fraction `G_j / D_j` of what it asks for at the announced
    /// prices, `r_{n,j} = d_{n,j} G_j / D_j`, and pays `p_j r_{n,j}`. Consumers are not
    /// re-optimised with the money they could not spend (no spill-over to other entries):
    /// their requests are their best responses to the announced prices (eq. 10 /
    /// water-filling), so free entries still clear exactly.
    Proportional,
}

/// Whether the market clears at the equilibrium prices, and what each consumer actually
/// receives and pays (alshehri-liu-chen-basar Remark 3).
///
/// Without binding price bounds every company sells exactly its supply, every consumer
/// receives its best response and spends its whole budget (eq. 15). When a price sits at
/// `p_max` with demand above supply the supply is rationed ([`RationingRule`]) and budgets
/// are *not* fully spent; when a price sits at `p_min` with demand below supply part of the
/// supply is unsold.
///
/// In reports (`SolveReport::clearing`) its keys are `clears`, `rationing_rule`,
/// `excess_demand`, `sold`, `served_fraction`, `allocation`, `energy_received`, `payment`,
/// `unspent_budget`, `unspent_total`, `utility_received`, `unmet_need_classes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clearing {
    /// True when `|D_k(t) − G_k(t)| ≤ CLEARING_TOLERANCE · G_k(t)` for every entry.
    pub clears: bool,
    /// The rationing rule applied at entries with excess demand.
    #[serde(rename = "rationing_rule")]
    pub rule: RationingRule,
    /// Excess demand `D_k(t) − G_k(t)` `[k][t]`: positive = rationed (price at `p_max`),
    /// negative = unsold supply (price at `p_min`), 0 (within the solver tolerance) where
    /// the market clears.
    pub excess_demand: Vec<Vec<f64>>,
    /// Energy sold `min(D_k(t), G_k(t))` `[k][t]`.
    pub sold: Vec<Vec<f64>>,
    /// Fraction of each request served, `min(1, G_k(t) / D_k(t))` `[k][t]`.
    pub served_fraction: Vec<Vec<f64>>,
    /// Energy received per consumer of each class `[class][k][t]` (empty when the demand
    /// table is not materialised).
    pub allocation: Vec<Vec<Vec<f64>>>,
    /// Energy received per consumer of each class.
    #[serde(rename = "energy_received")]
    pub energy: Vec<f64>,
    /// Payment `Σ p r` per consumer of each class for what it receives.
    pub payment: Vec<f64>,
    /// Budget left unspent per consumer of each class, `B_n − payment_n` (0 up to rounding
    /// when the market clears).
    pub unspent_budget: Vec<f64>,
    /// Total unspent budget `Σ_n count_n (B_n − payment_n)` (`= B − Σ_k revenue_k`).
    pub unspent_total: f64,
    /// Utility per consumer of each class of what it receives.
    #[serde(rename = "utility_received")]
    pub utility: Vec<f64>,
    /// Classes whose received energy falls below their energy need `E_n` because of
    /// rationing (their budget meets Theorem 1 at the announced prices).
    #[serde(rename = "unmet_need_classes")]
    pub unmet_need: Vec<usize>,
}

/// Relative tolerance of [`Clearing::clears`]: `|D − G| ≤ 1e-9 · G` at every entry.
pub const CLEARING_TOLERANCE: f64 = 1e-9;

/// The Stackelberg equilibrium with per-class results and its certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Equilibrium {
    /// Prices `prices[k][t]` (eq. 14 or the exact clearing prices).
    pub prices: Vec<Vec<f64>>,
    /// Revenues `Σ_t p_k(t) min(D_k(t), G_k(t))` per company.
    pub revenues: Vec<f64>,
    /// Per-consumer demand `demand[class][k][t]` (empty when not materialised).
    pub demand: Vec<Vec<Vec<f64>>>,
    /// Aggregate demand `[k][t]`.
    pub aggregate_demand: Vec<Vec<f64>>,
    /// Supply `G_k(t)` `[k][t]`.
    pub supply: Vec<Vec<f64>>,
    /// Minimum budget (Theorem 1, exact) of each class at the equilibrium prices.
    pub minimum_budget: Vec<f64>,
    /// Energy `Σ_{k,t} d` per consumer of each class, as requested (its best response; what
    /// it receives is [`Clearing::energy`]).
    pub energy: Vec<f64>,
    /// Utility per consumer of each class of its best response (eq. 3 / eq. 28).
    pub utility: Vec<f64>,
    /// Payment `Σ p d` per consumer of each class for its best response (its budget).
    pub payment: Vec<f64>,
    /// The regime.
    pub case: EquilibriumCase,
    /// Classes with some zero demand (the water-filling case of their best response).
    pub water_filling_classes: Vec<usize>,
    /// Bound status `[k][t]`.
    pub price_bound: Vec<Vec<PriceBound>>,
    /// `B = Σ_n count_n B_n`.
    pub budget_total: f64,
    /// Whether the market clears; what consumers receive and pay (Remark 3).
    pub clearing: Clearing,
    /// Residuals.
    pub certificate: EquilibriumCertificate,
}

/// Low-rank form of system (13): `M = diag(d) − Σ_r u_r v_rᵀ`, `b = Σ_r β_r u_r`.
struct LowRank {
    diag: Vec<f64>,
    u: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    beta: Vec<f64>,
}

fn low_rank(market: &Market) -> LowRank {
    let n = market.entries();
    let cons = market.consumers();
    let g = market.supply();
    let z = market.zeta_entry();
    let diag: Vec<f64> = (0..n).map(|j| g[j] + z[j]).collect();
    let mut b_u = market.budget_total();
    let mut z_u = market.zeta_total();
    let mut u = Vec::new();
    let mut v = Vec::new();
    let mut beta = Vec::new();
    for (class, w) in &cons.specific {
        let c = cons.count[*class];
        b_u -= c * cons.budget[*class];
        z_u -= c * cons.zeta[*class];
        let gsum: f64 = w.gamma.iter().sum();
        u.push(w.gamma.iter().map(|x| c * x / gsum).collect());
        v.push(w.zeta.clone());
        beta.push(cons.budget[*class]);
    }
    if cons.specific.len() < cons.len() {
        u.insert(0, vec![1.0 / n as f64; n]);
        v.insert(0, vec![z_u; n]);
        beta.insert(0, b_u);
    }
    LowRank { diag, u, v, beta }
}

impl LowRank {
    fn rhs(&self) -> Vec<f64> {
        let n = self.diag.len();
        (0..n)
            .map(|j| self.u.iter().zip(&self.beta).map(|(u, b)| u[j] * b).sum())
            .collect()
    }
    fn residual(&self, x: &[f64]) -> f64 {
        let b = self.rhs();
        let dots: Vec<f64> = self
            .v
            .iter()
            .map(|v| v.iter().zip(x).map(|(a, b)| a * b).sum())
            .collect();
        let mut num = 0.0_f64;
        let mut den = 0.0_f64;
        for j in 0..x.len() {
            let mx =
                self.diag[j] * x[j] - self.u.iter().zip(&dots).map(|(u, d)| u[j] * d).sum::<f64>();
            num = num.max((mx - b[j]).abs());
            den = den.max(b[j].abs());
        }
        num / den.max(f64::MIN_POSITIVE)
    }
    fn symmetric(&self) -> bool {
        // Only the uniform rank-one term (constant u and v) is symmetric.
        self.u.len() == 1
            && self.u[0].windows(2).all(|w| w[0] == w[1])
            && self.v[0].windows(2).all(|w| w[0] == w[1])
    }
}

/// Equilibrium prices by eq. 14 (Sherman–Morrison on system (13)):
/// `p_k(t) = B / (K T (G_k(t) + Z) (1 − Z H))`, `H = Σ_{k,t} 1/(K T (G_k(t) + Z))`.
///
/// With eq. 28 weights the system is diagonal minus rank `r > 1` and this returns the
/// Woodbury solution instead. Price bounds are not applied (see [`solve_equilibrium`]).
pub fn prices_closed_form(market: &Market) -> Vec<f64> {
    if !market.is_uniform() {
        return structured_solve(&low_rank(market))
            .unwrap_or_else(|| vec![f64::NAN; market.entries()]);
    }
    let n = market.entries() as f64;
    let (b, z) = (market.budget_total(), market.zeta_total());
    let g = market.supply();
    let h: f64 = g.iter().map(|gj| 1.0 / (n * (gj + z))).sum();
    let factor = 1.0 - z * h;
    g.iter().map(|gj| b / (n * (gj + z) * factor)).collect()
}

fn structured_solve(lr: &LowRank) -> Option<Vec<f64>> {
    let n = lr.diag.len();
    let r = lr.u.len();
    let b = lr.rhs();
    let y: Vec<f64> = (0..n).map(|j| b[j] / lr.diag[j]).collect();
    let cap = Mat::<f64>::from_fn(r, r, |a, c| {
        let s: f64 = (0..n).map(|j| lr.v[a][j] * lr.u[c][j] / lr.diag[j]).sum();
        if a == c {
            1.0 - s
        } else {
            -s
        }
    });
    let z = Mat::<f64>::from_fn(r, 1, |a, _| (0..n).map(|j| lr.v[a][j] * y[j]).sum());
    let w = cap.partial_piv_lu().solve(&z);
    let x: Vec<f64> = (0..n)
        .map(|j| y[j] + (0..r).map(|c| lr.u[c][j] * w[(c, 0)]).sum::<f64>() / lr.diag[j])
        .collect();
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Equilibrium prices by solving the linear system (13) with faer (dense Cholesky or LU for
/// small `K T`; the Woodbury form for large `K T`), with its residual.
///
/// Errors: a singular or non-finite solve is reported as [`InputError::Invalid`](crate::InputError::Invalid)
/// naming `companies.supply` (it cannot happen for valid markets without eq. 28 weights,
/// Lemma 1).
pub fn prices_linear_system(
    market: &Market,
    solver: LinearSolver,
) -> Result<LinearSystemSolution, StackelbergError> {
    let lr = low_rank(market);
    let n = lr.diag.len();
    let solver = match solver {
        LinearSolver::Auto if n <= 1024 => LinearSolver::DenseCholesky,
        LinearSolver::Auto => LinearSolver::Structured,
        s => s,
    };
    let (prices, used) = match solver {
        LinearSolver::Structured => (structured_solve(&lr), LinearSolver::Structured),
        dense => {
            let m = Mat::<f64>::from_fn(n, n, |i, j| {
                let low: f64 = lr.u.iter().zip(&lr.v).map(|(u, v)| u[i] * v[j]).sum();
                if i == j {
                    lr.diag[i] - low
                } else {
                    -low
                }
            });
            let b = lr.rhs();
            let rhs = Mat::<f64>::from_fn(n, 1, |i, _| b[i]);
            let chol = if dense == LinearSolver::DenseCholesky && lr.symmetric() {
                m.llt(Side::Lower).ok().map(|f| f.solve(&rhs))
            } else {
                None
            };
            let (x, used) = match chol {
                Some(x) => (x, LinearSolver::DenseCholesky),
                None => (m.partial_piv_lu().solve(&rhs), LinearSolver::DenseLu),
            };
            let x: Vec<f64> = (0..n).map(|i| x[(i, 0)]).collect();
            (x.iter().all(|v| v.is_finite()).then_some(x), used)
        }
    };
    let prices = prices.ok_or_else(|| {
        StackelbergError::Input(dr_convex::InputError::Invalid {
            field: "companies.supply".into(),
            message: "system (13) is singular for these supplies and weights".into(),
        })
    })?;
    let residual = lr.residual(&prices);
    Ok(LinearSystemSolution {
        prices,
        solver: used,
        residual,
    })
}

/// Relative residual `‖M p − b‖_∞ / ‖b‖_∞` of system (13) (generalised to eq. 28 weights)
/// at flat prices `p`.
pub fn linear_system_residual(market: &Market, prices: &[f64]) -> f64 {
    low_rank(market).residual(prices)
}

fn bounds(market: &Market) -> (Vec<f64>, Vec<f64>) {
    (0..market.entries())
        .map(|j| market.price_bounds(j))
        .unzip()
}

/// Supply balance and bound status at prices with aggregate spend.
fn balance(market: &Market, prices: &[f64], spend: &[f64]) -> (f64, Vec<PriceBound>) {
    let g = market.supply();
    let mut worst = 0.0_f64;
    let mut status = Vec::with_capacity(prices.len());
    for j in 0..prices.len() {
        let (lo, hi) = market.price_bounds(j);
        let d = spend[j] / prices[j];
        let rel = (d - g[j]) / g[j];
        let (s, viol) = if prices[j] >= hi {
            (PriceBound::AtMax, (-rel).max(0.0))
        } else if lo > 0.0 && prices[j] <= lo {
            (PriceBound::AtMin, rel.max(0.0))
        } else {
            (PriceBound::Free, rel.abs())
        };
        worst = worst.max(viol);
        status.push(s);
    }
    (worst, status)
}

fn validate_settings(s: &EquilibriumSettings) -> Result<(), StackelbergError> {
    if !(s.tolerance > 0.0 && s.tolerance.is_finite()) {
        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
            field: "settings.tolerance".into(),
            value: s.tolerance,
            requirement: "must be finite and > 0".into(),
        }));
    }
    if !(s.energy_tolerance >= 0.0 && s.energy_tolerance.is_finite()) {
        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
            field: "settings.energy_tolerance".into(),
            value: s.energy_tolerance,
            requirement: "must be finite and >= 0".into(),
        }));
    }
    Ok(())
}

/// Equilibrium prices and aggregate demands only (no per-consumer output): eq. 14 when it
/// applies, else the projected Newton method of the module docs.
///
/// Costs `O(N)` for the sums and the interior check, plus `O(N log KT)` per Newton
/// evaluation; a million consumers never materialise `N × K × T` numbers.
pub fn equilibrium_prices(
    market: &Market,
    settings: &EquilibriumSettings,
) -> Result<PriceEquilibrium, StackelbergError> {
    validate_settings(settings)?;
    let n = market.entries();
    let closed = prices_closed_form(market);
    let solver = if n <= settings.dense_limit {
        LinearSolver::DenseCholesky
    } else {
        LinearSolver::Structured
    };
    let lin = prices_linear_system(market, solver)?;
    let cross = closed
        .iter()
        .zip(&lin.prices)
        .map(|(a, b)| (a - b).abs() / a.abs().max(f64::MIN_POSITIVE))
        .fold(0.0_f64, f64::max);
    let residual = linear_system_residual(market, &closed);
    let (lo, hi) = bounds(market);
    let positive = closed.iter().all(|p| p.is_finite() && *p > 0.0);
    if positive && (0..n).all(|j| closed[j] >= lo[j] && closed[j] <= hi[j]) {
        let agg = aggregate(market, &closed, false);
        if agg.noninterior == 0 {
            let (supply_balance, bound) = balance(market, &closed, &agg.spend);
            let aggregate_demand = agg.spend.iter().zip(&closed).map(|(s, p)| s / p).collect();
            let case = if bound.iter().all(|b| *b == PriceBound::Free) {
                EquilibriumCase::Interior
            } else {
                EquilibriumCase::Bounded
            };
            return Ok(PriceEquilibrium {
                prices: closed,
                aggregate_demand,
                case,
                bound,
                noninterior_classes: 0,
                iterations: 0,
                status: Status::Solved,
                supply_balance,
                closed_form_vs_linear_system: cross,
                linear_system_residual: residual,
                linear_solver: lin.solver,
            });
        }
    }
    // Start from the closed form (or a positive guess), projected into the bounds.
    let g = market.supply();
    let start: Vec<f64> = (0..n)
        .map(|j| {
            let p = if positive {
                closed[j]
            } else {
                market.budget_total() / (n as f64 * g[j])
            };
            p.max(lo[j]).min(hi[j])
        })
        .collect();
    let (prices, agg, iterations, status) = newton(market, start, &lo, &hi, settings);
    let (supply_balance, bound) = balance(market, &prices, &agg.spend);
    let aggregate_demand = agg.spend.iter().zip(&prices).map(|(s, p)| s / p).collect();
    let case = if bound.iter().any(|b| *b != PriceBound::Free) {
        EquilibriumCase::Bounded
    } else if agg.noninterior > 0 {
        EquilibriumCase::WaterFilling
    } else {
        EquilibriumCase::Interior
    };
    Ok(PriceEquilibrium {
        prices,
        aggregate_demand,
        case,
        bound,
        noninterior_classes: agg.noninterior,
        iterations,
        status,
        supply_balance,
        closed_form_vs_linear_system: cross,
        linear_system_residual: residual,
        linear_solver: lin.solver,
    })
}

fn natural_residual(prices: &[f64], h: &[f64], scale: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    (0..prices.len())
        .map(|j| {
            let r = prices[j] - (prices[j] + h[j] / scale[j]).max(lo[j]).min(hi[j]);
            (r / prices[j]).powi(2)
        })
        .sum()
}

fn excess(market: &Market, prices: &[f64], agg: &Aggregate) -> Vec<f64> {
    let g = market.supply();
    (0..prices.len())
        .map(|j| agg.spend[j] - g[j] * prices[j])
        .collect()
}

/// The largest `K T` for which the Newton method forms its dense `K T × K T` Jacobian
/// (`4096² · 8` bytes = 128 MiB). Beyond it the method takes eq. 21's price steps
/// (`δ = 0`) instead, so a huge market costs `O(K T)` memory and at worst ends with
/// [`Status::MaxIterations`] — never an allocation failure.
pub const DENSE_NEWTON_LIMIT: usize = 4096;

/// Projected semismooth Newton on `H(p) = spend(p) − G ∘ p` over the price box.
fn newton(
    market: &Market,
    mut p: Vec<f64>,
    lo: &[f64],
    hi: &[f64],
    settings: &EquilibriumSettings,
) -> (Vec<f64>, Aggregate, usize, Status) {
    let n = p.len();
    let g = market.supply();
    let scale: Vec<f64> = (0..n).map(|j| g[j] + market.zeta_entry()[j]).collect();
    let uniform = market.is_uniform();
    let tol = settings.tolerance;
    let phi = |p: &[f64], agg: &Aggregate| -> f64 {
        agg.potential - 0.5 * (0..n).map(|j| g[j] * p[j] * p[j]).sum::<f64>()
    };
    let dense = n <= DENSE_NEWTON_LIMIT;
    let mut agg = aggregate(market, &p, dense);
    for it in 0..=settings.max_iterations {
        let h = excess(market, &p, &agg);
        let converged = (0..n).all(|j| {
            let t = tol * p[j] * g[j];
            if p[j] >= hi[j] {
                h[j] >= -t
            } else if lo[j] > 0.0 && p[j] <= lo[j] {
                h[j] <= t
            } else {
                h[j].abs() <= t
            }
        });
        if converged {
            let agg = Aggregate {
                neg_jacobian: None,
                ..agg
            };
            return (p, agg, it, Status::Solved);
        }
        if it == settings.max_iterations {
            break;
        }
        let free: Vec<usize> = (0..n)
            .filter(|&j| {
                !((p[j] >= hi[j] && h[j] > 0.0) || (lo[j] > 0.0 && p[j] <= lo[j] && h[j] < 0.0))
            })
            .collect();
        let mut step = vec![0.0; n];
        if let Some(jac) = agg.neg_jacobian.as_ref() {
            let f = free.len();
            let a = Mat::<f64>::from_fn(f, f, |a, b| {
                let (i, j) = (free[a], free[b]);
                jac[(i, j)] + if i == j { g[i] } else { 0.0 }
            });
            let rhs = Mat::<f64>::from_fn(f, 1, |a, _| h[free[a]]);
            let x = if uniform {
                match a.llt(Side::Lower) {
                    Ok(c) => c.solve(&rhs),
                    Err(_) => a.partial_piv_lu().solve(&rhs),
                }
            } else {
                a.partial_piv_lu().solve(&rhs)
            };
            for (a, &j) in free.iter().enumerate() {
                step[j] = x[(a, 0)];
            }
        }
        let merit0 = natural_residual(&p, &h, &scale, lo, hi);
        let phi0 = phi(&p, &agg);
        let mut alpha = 1.0;
        let mut accepted: Option<(Vec<f64>, Aggregate)> = None;
        if step.iter().all(|s| s.is_finite()) {
            for _ in 0..40 {
                let trial: Vec<f64> = (0..n)
                    .map(|j| {
                        let q = (p[j] + alpha * step[j]).max(lo[j]).min(hi[j]);
                        if q > 0.0 {
                            q
                        } else {
                            0.5 * p[j]
                        }
                    })
                    .collect();
                let ta = aggregate(market, &trial, false);
                let th = excess(market, &trial, &ta);
                let merit = natural_residual(&trial, &th, &scale, lo, hi);
                let ascent: f64 = (0..n).map(|j| h[j] * (trial[j] - p[j])).sum();
                let ok = merit <= 0.25 * merit0
                    || if uniform {
                        phi(&trial, &ta) >= phi0 + 1e-4 * ascent && ascent > 0.0
                    } else {
                        merit <= (1.0 - 1e-4 * alpha) * merit0
                    };
                if ok {
                    accepted = Some((trial, ta));
                    break;
                }
                alpha *= 0.5;
            }
        }
        p = match accepted {
            Some((trial, _)) => trial,
            None => (0..n)
                .map(|j| {
                    // Fall back to the papers' price step (eq. 21 with δ = 0).
                    let q = (p[j] + h[j] / scale[j]).max(lo[j]).min(hi[j]);
                    if q > 0.0 {
                        q
                    } else {
                        0.5 * p[j]
                    }
                })
                .collect(),
        };
        agg = aggregate(market, &p, dense);
    }
    let agg = Aggregate {
        neg_jacobian: None,
        ..agg
    };
    (p, agg, settings.max_iterations, Status::MaxIterations)
}

#[derive(Clone)]
struct ClassRow {
    res: ClassResult,
    kkt: f64,
    budget: f64,
    demand: Option<Vec<Vec<f64>>>,
    /// What the class receives when some entry is rationed.
    received: Option<Received>,
}

/// What one consumer of a class receives under rationing ([`RationingRule`]).
#[derive(Clone)]
struct Received {
    energy: f64,
    payment: f64,
    utility: f64,
    allocation: Option<Vec<Vec<f64>>>,
}

/// Per-class results at fixed prices.
#[derive(Clone)]
struct ClassResult {
    energy: f64,
    utility: f64,
    payment: f64,
    minimum: f64,
    interior: bool,
}

fn class_result(
    market: &Market,
    sorted: &SortedPrices,
    prices: &[f64],
    i: usize,
    demand_out: Option<&mut [f64]>,
) -> (ClassResult, f64, f64) {
    let cons = market.consumers();
    let prefs = cons.prefs(i);
    let budget = cons.budget[i];
    let need = cons.energy_need[i];
    if prefs.is_uniform() {
        let (gamma, zeta) = (cons.gamma[i], cons.zeta[i]);
        let r = sorted.respond(budget, zeta);
        let res = ClassResult {
            energy: sorted.energy(r, zeta),
            utility: sorted.utility(r, gamma, zeta),
            payment: sorted.spend(r, zeta),
            minimum: sorted.minimum_budget(need, zeta),
            interior: r.active == sorted.n,
        };
        let (kkt, budget_res) = match demand_out {
            Some(out) => {
                sorted.demand_into(r, zeta, out);
                let k = kkt_unchecked(prices, budget, prefs, out, gamma / r.level);
                (
                    k.stationarity.max(k.dual_feasibility).max(k.nonnegativity),
                    k.budget,
                )
            }
            None => (0.0, (res.payment - budget).abs() / budget),
        };
        (res, kkt, budget_res)
    } else {
        let (demand, lambda, inactive) = water_fill_unchecked(prices, budget, prefs);
        let k = kkt_unchecked(prices, budget, prefs, &demand, lambda);
        let payment: f64 = demand.iter().zip(prices).map(|(d, p)| d * p).sum();
        let res = ClassResult {
            energy: demand.iter().sum(),
            utility: utility_unchecked(&demand, prefs),
            payment,
            minimum: minimum_budget(prices, need, prefs).unwrap_or(f64::NAN),
            interior: inactive == 0,
        };
        if let Some(out) = demand_out {
            out.copy_from_slice(&demand);
        }
        (
            res,
            k.stationarity.max(k.dual_feasibility).max(k.nonnegativity),
            k.budget,
        )
    }
}

/// The Stackelberg equilibrium with per-class demands, payments, utilities, minimum
/// budgets, revenues and the certificate (see the module docs for the method).
///
/// Errors: invalid settings; when `settings.check_energy_need`,
/// [`StackelbergError::SupplyShortfall`] when the total energy need exceeds the total supply,
/// and [`StackelbergError::BudgetBelowMinimum`] listing every class whose energy need is not
/// met at the equilibrium prices (with its minimum budget).
pub fn solve_equilibrium(
    market: &Market,
    settings: &EquilibriumSettings,
) -> Result<Equilibrium, StackelbergError> {
    if settings.check_energy_need {
        check_supply_covers_needs(market, settings)?;
    }
    let pe = equilibrium_prices(market, settings)?;
    build_equilibrium(market, pe, settings)
}

/// [`StackelbergError::SupplyShortfall`] when `Σ_n count_n E_n > Σ_{k,t} G_k(t)` (relative
/// slack `settings.energy_tolerance`).
pub(crate) fn check_supply_covers_needs(
    market: &Market,
    settings: &EquilibriumSettings,
) -> Result<(), StackelbergError> {
    let cons = market.consumers();
    let th = DEFAULT_PARALLEL_THRESHOLD;
    let need = dr_convex::parallel::deterministic_sum(cons.len(), th, |i| {
        cons.count[i] * cons.energy_need[i]
    });
    let supply: f64 = market.supply().iter().sum();
    if need > supply * (1.0 + settings.energy_tolerance) {
        return Err(StackelbergError::SupplyShortfall {
            energy_need_total: need,
            supply_total: supply,
        });
    }
    Ok(())
}

pub(crate) fn build_equilibrium(
    market: &Market,
    pe: PriceEquilibrium,
    settings: &EquilibriumSettings,
) -> Result<Equilibrium, StackelbergError> {
    let periods = market.periods();
    let n = market.entries();
    let cons = market.consumers();
    let classes = cons.len();
    let prices = &pe.prices;
    let sorted = SortedPrices::new(prices);
    let materialise = match settings.demands {
        DemandOutput::PerClass => true,
        DemandOutput::AggregateOnly => false,
        DemandOutput::Auto => classes.saturating_mul(n) <= AUTO_DEMAND_LIMIT,
    };
    let th = DEFAULT_PARALLEL_THRESHOLD;
    let g = market.supply();
    // Proportional rationing (RationingRule::Proportional): the fraction of each request
    // served at entry j. Only prices at their cap ration; a free price clears (D = G up to
    // the solver's tolerance, not rationing).
    let served: Vec<f64> = (0..n)
        .map(|j| {
            let d = pe.aggregate_demand[j];
            if pe.bound[j] == PriceBound::AtMax && d > g[j] {
                g[j] / d
            } else {
                1.0
            }
        })
        .collect();
    let rationed_any = served.iter().any(|&f| f < 1.0);
    let verify = materialise || settings.verify_consumers || rationed_any;
    // One deterministic pass over the classes (chunks concatenated in order).
    let rows: Vec<ClassRow> = chunked_reduce(
        classes,
        th,
        Vec::new(),
        |range| {
            let mut buf = vec![0.0; n];
            let mut got = vec![0.0; n];
            range
                .map(|i| {
                    let out = if verify { Some(&mut buf[..]) } else { None };
                    let (res, kkt, budget) = class_result(market, &sorted, prices, i, out);
                    let received = rationed_any.then(|| {
                        for j in 0..n {
                            got[j] = buf[j] * served[j];
                        }
                        let energy: f64 = got.iter().sum();
                        let pay: f64 = got.iter().zip(prices).map(|(r, p)| r * p).sum();
                        let util = utility_unchecked(&got, cons.prefs(i));
                        Received {
                            energy,
                            payment: pay,
                            utility: util,
                            allocation: materialise.then(|| to_table(&got, periods)),
                        }
                    });
                    ClassRow {
                        res,
                        kkt,
                        budget,
                        demand: materialise.then(|| to_table(&buf, periods)),
                        received,
                    }
                })
                .collect::<Vec<_>>()
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    );
    let mut energy = Vec::with_capacity(classes);
    let mut utility = Vec::with_capacity(classes);
    let mut payment = Vec::with_capacity(classes);
    let mut minimum = Vec::with_capacity(classes);
    let mut water_filling_classes = Vec::new();
    let mut demand = Vec::new();
    let mut got_energy = Vec::with_capacity(classes);
    let mut got_payment = Vec::with_capacity(classes);
    let mut got_utility = Vec::with_capacity(classes);
    let mut allocation = Vec::new();
    let (mut kkt_max, mut budget_max) = (0.0_f64, 0.0_f64);
    for (i, row) in rows.into_iter().enumerate() {
        energy.push(row.res.energy);
        utility.push(row.res.utility);
        payment.push(row.res.payment);
        minimum.push(row.res.minimum);
        match row.received {
            Some(r) => {
                got_energy.push(r.energy);
                got_payment.push(r.payment);
                got_utility.push(r.utility);
                if let Some(a) = r.allocation {
                    allocation.push(a);
                }
            }
            None => {
                got_energy.push(row.res.energy);
                got_payment.push(row.res.payment);
                got_utility.push(row.res.utility);
                if let Some(d) = &row.demand {
                    allocation.push(d.clone());
                }
            }
        }
        if !row.res.interior {
            water_filling_classes.push(i);
        }
        kkt_max = kkt_max.max(row.kkt);
        budget_max = budget_max.max(row.budget);
        if let Some(d) = row.demand {
            demand.push(d);
        }
    }
    let verified = verify;
    let revenues: Vec<f64> = (0..market.company_count())
        .map(|k| {
            (0..periods)
                .map(|t| {
                    let j = k * periods + t;
                    prices[j] * pe.aggregate_demand[j].min(g[j])
                })
                .sum()
        })
        .collect();
    let b = market.budget_total();
    let revenue_budget_gap = (revenues.iter().sum::<f64>() - b).abs() / b;
    let rationed = pe.bound.iter().any(|s| *s != PriceBound::Free);
    let certificate = EquilibriumCertificate {
        checks: EquilibriumChecks {
            linear_system_residual: pe.linear_system_residual,
            closed_form_vs_linear_system: pe.closed_form_vs_linear_system,
            supply_balance: pe.supply_balance,
            budget_residual: budget_max,
            revenue_budget_gap,
            consumer_kkt: kkt_max,
            consumers_verified: verified,
            newton_iterations: pe.iterations,
        },
        certificate: Certificate {
            primal_infeasibility: pe.supply_balance,
            stationarity: kkt_max,
            complementarity: budget_max,
            duality_gap: if rationed { 0.0 } else { revenue_budget_gap },
            iterations: pe.iterations,
            status: pe.status,
        },
    };
    if settings.check_energy_need {
        let shortfalls: Vec<BudgetShortfall> = (0..classes)
            .filter(|&i| {
                let need = cons.energy_need[i];
                energy[i] < need * (1.0 - settings.energy_tolerance)
            })
            .map(|i| BudgetShortfall {
                class: i,
                budget: cons.budget[i],
                minimum: minimum[i],
                energy: energy[i],
                energy_need: cons.energy_need[i],
            })
            .collect();
        if !shortfalls.is_empty() {
            return Err(StackelbergError::BudgetBelowMinimum { shortfalls });
        }
    }
    let excess: Vec<f64> = (0..n).map(|j| pe.aggregate_demand[j] - g[j]).collect();
    let clears = (0..n).all(|j| excess[j].abs() <= CLEARING_TOLERANCE * g[j]);
    let unspent_budget: Vec<f64> = (0..classes)
        .map(|i| {
            if rationed_any {
                cons.budget[i] - got_payment[i]
            } else {
                0.0
            }
        })
        .collect();
    let unspent_total = if rationed_any {
        dr_convex::parallel::deterministic_sum(classes, th, |i| cons.count[i] * unspent_budget[i])
    } else {
        0.0
    };
    let unmet_need: Vec<usize> = (0..classes)
        .filter(|&i| {
            rationed_any && got_energy[i] < cons.energy_need[i] * (1.0 - settings.energy_tolerance)
        })
        .collect();
    let clearing = Clearing {
        clears,
        rule: RationingRule::Proportional,
        excess_demand: to_table(&excess, periods),
        sold: to_table(
            &(0..n)
                .map(|j| pe.aggregate_demand[j].min(g[j]))
                .collect::<Vec<_>>(),
            periods,
        ),
        served_fraction: to_table(&served, periods),
        allocation,
        energy: got_energy,
        payment: got_payment,
        unspent_budget,
        unspent_total,
        utility: got_utility,
        unmet_need,
    };
    Ok(Equilibrium {
        prices: to_table(prices, periods),
        revenues,
        demand,
        aggregate_demand: to_table(&pe.aggregate_demand, periods),
        supply: to_table(g, periods),
        minimum_budget: minimum,
        energy,
        utility,
        payment,
        case: pe.case,
        water_filling_classes,
        price_bound: pe.bound.chunks(periods).map(|c| c.to_vec()).collect(),
        budget_total: b,
        clearing,
        certificate,
    })
}

/// Aggregate demand `D_k(t)` (`[k][t]`) of every consumer's exact best response at the given
/// prices (`[k][t]`, positive).
///
/// Errors: wrong shape or non-positive prices (named `prices[k][t]`).
pub fn aggregate_demand_at(
    market: &Market,
    prices: &[Vec<f64>],
) -> Result<Vec<Vec<f64>>, StackelbergError> {
    let flat = flatten_prices(market, prices)?;
    Ok(to_table(&aggregate_demand(market, &flat), market.periods()))
}

pub(crate) fn flatten_prices(
    market: &Market,
    prices: &[Vec<f64>],
) -> Result<Vec<f64>, StackelbergError> {
    dr_convex::check_len(|| "prices".into(), market.company_count(), prices.len())?;
    let mut flat = Vec::with_capacity(market.entries());
    for (k, row) in prices.iter().enumerate() {
        dr_convex::check_len(|| format!("prices[{k}]"), market.periods(), row.len())?;
        for (t, &p) in row.iter().enumerate() {
            dr_convex::check_positive(|| format!("prices[{k}][{t}]"), p)?;
            flat.push(p);
        }
    }
    Ok(flat)
}

/// The largest gain of a unilateral price deviation (Theorem 2): company `k` moves one price
/// `p_k(t) → f · p_k(t)` for each factor `f`, consumers re-optimise exactly, and its revenue
/// `Σ_t p_k(t) min(D_k(t), G_k(t))` is compared with the equilibrium's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeviationCheck {
    /// Largest relative revenue gain `(R'_k − R_k) / R_k` (≤ 0 at an equilibrium).
    pub max_gain: f64,
    /// Company of the best deviation.
    pub company: usize,
    /// Period of the best deviation.
    pub period: usize,
    /// Factor of the best deviation.
    pub factor: f64,
}

/// Checks Theorem 2 at `prices` (`[k][t]`) by single-price deviations with the given
/// factors (e.g. `[0.9, 0.99, 1.01, 1.1]`).
///
/// Errors: bad prices or non-positive/non-finite factors.
pub fn price_deviation_gain(
    market: &Market,
    prices: &[Vec<f64>],
    factors: &[f64],
) -> Result<DeviationCheck, StackelbergError> {
    let flat = flatten_prices(market, prices)?;
    for (i, &f) in factors.iter().enumerate() {
        dr_convex::check_positive(|| format!("factors[{i}]"), f)?;
    }
    let periods = market.periods();
    let g = market.supply();
    let revenue = |p: &[f64], d: &[f64], k: usize| -> f64 {
        (0..periods)
            .map(|t| {
                let j = k * periods + t;
                p[j] * d[j].min(g[j])
            })
            .sum()
    };
    let d0 = aggregate_demand(market, &flat);
    let mut best = DeviationCheck {
        max_gain: f64::NEG_INFINITY,
        company: 0,
        period: 0,
        factor: 1.0,
    };
    for k in 0..market.company_count() {
        let r0 = revenue(&flat, &d0, k);
        for t in 0..periods {
            for &f in factors {
                let mut p = flat.clone();
                p[k * periods + t] *= f;
                let d = aggregate_demand(market, &p);
                let gain = (revenue(&p, &d, k) - r0) / r0;
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
