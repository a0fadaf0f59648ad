//! Cross-checking a kernel solution against the LP back end's proven interval.
//!
//! # The agreement rule
//! Let `[L, U]` be the LP interval (`L ≤ F* ≤ U`), `x̂` the LP point, `L' = min(L, LP
//! value)` (`L` where point and prices come from dual ascent on a single row:
//! [`LpSolution::radius_lower`]), `ρ` the relative rounding allowance and `κ` the kernel tolerance
//! ([`CrossCheckSettings`]). The objective slack is
//! `s = ρ · max(1, Σ_j |f_j(x̂_j)|) + Σ_i |λ̂_i| |r_i|`, where `r` is the kernel point's row
//! residual and `λ̂` the LP's multipliers (a point off the rows by `r` can be cheaper than
//! `F*` by `λᵀr` to first order). The kernel solution `(x_K, y_K, z_K, F_K)` *agrees* when:
//!
//! 1. **LP converged**: the LP solution's status is `Solved` and its interval is tight
//!    relative to the objective: `U − L ≤ tol · M`, `M = Σ_j |f_j(x̂_j)|`
//!    ([`LpSolution::relative_width`], [`crate::OuterSettings::tolerance`]).
//! 2. **Feasibility**: `x_K` violates no row or bound by more than `κ` (scaled by
//!    `max(1, |rhs|)` in the units of the data, as in the kernel's certificates).
//! 3. **Objective**: `L − s ≤ F_K ≤ U + s`, and `F_K` matches `Σ f_j(x_K,j)` within `s`.
//! 4. **Allocation**: with `μ_j ≤ f_j''` on the working box, the objective grows at least
//!    quadratically away from the optimum along feasible directions: for every feasible
//!    `x`, `F(x) − F* ≥ Σ_j μ_j/2 (x_j − x*_j)²` (first-order optimality of `x*` plus
//!    strong convexity of each term; Nesterov 2004, *Introductory Lectures on Convex
//!    Optimization*, Thm 2.1.10 applied per coordinate). Hence
//!    `|x̂_j − x*_j| ≤ r_j = √(2 (U − L' + s)/μ_j)`, and a kernel point that passes rule 3
//!    has `F_K − F* ≤ U − L + s`, so `|x_K,j − x*_j| ≤ r_j` as well: each
//!    `|x_K,j − x̂_j|` must be at most `2 r_j + ρ max(1, |x̂_j|)`. Terms without curvature
//!    (`μ_j = 0`) are not located and not checked.
//! 5. **Marginal prices**: at the optimum, `c*_j = (Aᵀy* − Gᵀz*)_j = f_j'(x*_j)` where
//!    `x*_j` is strictly inside its bounds, `≤ f_j'(l_j)` at a lower and `≥ f_j'(u_j)` at an
//!    upper bound. As `f_j'` is non-decreasing and `x*_j ∈ [x̂_j − r_j, x̂_j + r_j]`,
//!    `c*_j ∈ J_j = [f_j'(x̂_j − r_j), f_j'(x̂_j + r_j)]`, with the lower end `−∞` where
//!    `x̂_j − r_j` reaches `l_j` (the bound may be active) and the upper end `+∞` where
//!    `x̂_j + r_j` reaches `u_j`. The kernel's `c_K,j` must lie in `J_j` up to
//!    `ρ max(1, |c_K,j|)`; its `z_K` must be `≥ 0`, and `0` on rows that are provably
//!    slack at the optimum (`G_i x̂ + Σ_j |G_ij| r_j < h_i`), up to `κ max(1, ‖z_K‖_∞)`.
//! 6. **Row prices**: a row `i` with a *witness* — a variable `j` in row `i` and in no other
//!    row that may be active, with `J_j` finite and `[x̂_j − r_j, x̂_j + r_j]` strictly inside
//!    the LP's working box — has `a_ij λ*_i ∈ J_j`, and so does the LP's own multiplier
//!    (the cuts active at `x̂_j` touch `f_j` within `r_j` of `x̂_j`, for the same
//!    quadratic-growth reason, so the LP's subgradient lies in `J_j`). So
//!    `|λ_K,i − λ_LP,i| ≤ τ_i = min_j width(J_j)/|a_ij|` over witnesses (plus
//!    `ρ max(1, |λ|)`). Rows without a witness are compared by rule 5 only. For one
//!    coupling row `Σ x_j = d`, every variable strictly inside its bounds is a witness.
//!
//! # Units
//! Every rule runs on the problem in the units of its own data ([`crate::scaling`]):
//! quantities over `σ_x`, costs over `min(σ_f, M)` (`M` the objective's magnitude at the
//! LP point, so a cost scale decades above the optimum never loosens an allowance), each
//! row over its largest coefficient. So the `1` in `max(1, ·)` above is the data's own
//! scale, at most the objective's magnitude for costs and prices, `ρ` and `κ` are relative, and the
//! answer is the same for a deficit of `1e-12` as for `1e12`. Gaps, the interval and the
//! slack are reported back in the original units.
//!
//! # Verdict
//! [`Verdict::Disagrees`] when rule 2 fails, or the kernel objective lies above `U + s`
//! or differs from `Σ f(x_K)` (rule 3: proven whatever the LP's status, since `U` is `Σ f`
//! at a feasible point), or, with a converged LP (rule 1), any other rule fails;
//! [`Verdict::Inconclusive`] when the LP did not converge and those hold (the other
//! failures are then listed as unconfirmed in the reason); [`Verdict::Agrees`] when the LP
//! converged and every rule holds.
//!
//! The tolerances are proven from the interval and the curvature; `μ_j` is the smallest
//! `f_j''` sampled at the ends of the working box, at its midpoint and at `x̂_j` and
//! `x_K,j` — exact for the kernel's pieces, whose `f''` is constant or monotone — unless
//! [`CrossCheckSettings::curvature`] supplies it.

use crate::error::LpError;
use crate::outer::{primal_infeasibility, validate_shape, LpSolution};
use crate::scaling::{Scaled, Scaling};
use crate::{solve, OuterSettings};
use dr_convex::ipm::{IpmSolution, SeparableProblem};
use dr_convex::{Allocation, Status};
use serde::{Deserialize, Serialize};

/// A kernel solution to be checked: allocation, multipliers (kernel sign convention) and
/// objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelSolution<'a> {
    /// The allocation `x`.
    pub x: &'a [f64],
    /// Multipliers `y` of the equality rows.
    pub equality_multipliers: &'a [f64],
    /// Multipliers `z ≥ 0` of the inequality rows.
    pub inequality_multipliers: &'a [f64],
    /// The reported objective `Σ f_j(x_j)`.
    pub objective: f64,
}

impl<'a> From<&'a IpmSolution> for KernelSolution<'a> {
    fn from(s: &'a IpmSolution) -> Self {
        Self {
            x: &s.x,
            equality_multipliers: &s.equality_multipliers,
            inequality_multipliers: &s.inequality_multipliers,
            objective: s.objective,
        }
    }
}

impl<'a> KernelSolution<'a> {
    /// The single-coupling allocator's answer (`dr_convex::allocate`), for a problem whose
    /// only row is the coupling `Σ x_j = total` (its multiplier is the price `λ`).
    pub fn from_allocation(a: &'a Allocation) -> Self {
        Self {
            x: &a.x,
            equality_multipliers: std::slice::from_ref(&a.multiplier),
            inequality_multipliers: &[],
            objective: a.objective,
        }
    }
}

/// Settings of [`cross_check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossCheckSettings {
    /// Relative rounding allowance `ρ` of the objective, allocation and price comparisons
    /// (module docs).
    pub rounding: f64,
    /// The kernel's own accuracy `κ`: the largest scaled primal infeasibility of `x_K` and
    /// the largest violation of `z_K ≥ 0` (or of `z_K = 0` on provably slack rows)
    /// accepted. The default matches the kernel IPM's default tolerance.
    pub kernel_tolerance: f64,
    /// Lower bounds `μ_j ≥ 0` on `f_j''` over the working box; `None` samples them (module
    /// docs).
    pub curvature: Option<Vec<f64>>,
}

impl Default for CrossCheckSettings {
    fn default() -> Self {
        Self {
            rounding: 1e-9,
            kernel_tolerance: 1e-8,
            curvature: None,
        }
    }
}

/// Result of [`cross_check`]: the gaps between the kernel and the LP back end, the proven
/// bound, and whether they agree (rule in the module docs).
///
/// Serialized numbers follow [`crate::number`]: a NaN is an omitted key, `±∞` a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCheck {
    /// `max_j |x_K,j − x̂_j|`.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub max_allocation_gap: f64,
    /// `max_j |x_K,j − x̂_j| / (2 r_j + ρ max(1, |x̂_j|))` over located variables (≤ 1
    /// agrees; rule 4).
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub allocation_ratio: f64,
    /// Largest gap between kernel and LP row multipliers, `max |y_K − y_LP|, |z_K − z_LP|`.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub max_price_gap: f64,
    /// `max_i |λ_K,i − λ_LP,i| / τ_i` over rows with a witness (≤ 1 agrees; rule 6).
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub price_ratio: f64,
    /// Largest gap of the marginal prices `c = Aᵀy − Gᵀz`, kernel vs LP.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub max_marginal_price_gap: f64,
    /// Largest violation of rule 5 as a multiple of its allowance (`ρ` for the marginal
    /// prices, `κ` for the inequality multipliers' sign and support): 0 when every
    /// marginal price lies in its proven interval, ≤ 1 agrees.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub marginal_price_violation: f64,
    /// `F_K − L`: the kernel objective above the proven lower bound (in `[0, bound]` up to
    /// the slack when it agrees).
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub objective_gap: f64,
    /// The proven bound `U − L`.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub bound: f64,
    /// Proven lower bound `L`.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub lower: f64,
    /// Upper bound `U`.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub upper: f64,
    /// Objective slack `s` (module docs).
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub objective_slack: f64,
    /// Scaled primal infeasibility of the kernel's allocation (rule 2).
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub kernel_infeasibility: f64,
    /// Rows whose price was compared by rule 6.
    pub rows_with_witness: usize,
    /// Variables whose allocation was compared by rule 4.
    pub located_variables: usize,
    /// The rules that failed, in words (empty when it agrees).
    pub failures: Vec<String>,
    /// Whether the kernel solution agrees with the LP back end (`verdict == Agrees`).
    pub agrees: bool,
    /// Agrees, disagrees (proven) or inconclusive (the LP back end did not converge).
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// The units the rules ran in ([`Scaling`]): `ρ`, `κ` and the ratios are relative to
    /// them.
    pub scaling: Scaling,
}

/// The three-valued outcome of a cross-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Proven: the kernel's answer lies within the LP's proven interval and tolerances.
    Agrees,
    /// Proven: the kernel's answer lies outside a proven bound.
    Disagrees,
    /// Neither could be proven: the LP back end failed, did not converge, or a size
    /// limit stopped it.
    Inconclusive,
}

impl Verdict {
    /// `agrees`, `disagrees` or `inconclusive`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Agrees => "agrees",
            Verdict::Disagrees => "disagrees",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Solves `problem` with the LP back end and cross-checks `kernel` against it.
///
/// ```
/// use dr_convex::ipm::{solve as ipm_solve, IpmSettings, LinearRows, SeparableProblem};
/// use dr_convex::{ConvexScalar, LinearQuadraticCost};
/// use dr_lp::{verify, CrossCheckSettings, KernelSolution, OuterSettings};
/// use std::sync::Arc;
/// let objective: Vec<Arc<dyn ConvexScalar>> = vec![
///     Arc::new(LinearQuadraticCost::new(1.0, 1.0)?),
///     Arc::new(LinearQuadraticCost::new(0.0, 2.0)?),
/// ];
/// let mut equalities = LinearRows::new(2);
/// equalities.push_row(&[(0, 1.0), (1, 1.0)], 3.0)?;
/// let problem = SeparableProblem {
///     objective,
///     lower: vec![0.0; 2],
///     upper: vec![5.0; 2],
///     equalities,
///     inequalities: LinearRows::new(2),
/// };
/// let kernel = ipm_solve(&problem, &IpmSettings::default())?;
/// let (_lp, check) = verify(&problem, &(&kernel).into(), &OuterSettings::default(),
///                           &CrossCheckSettings::default())?;
/// assert!(check.agrees, "{:?}", check.failures);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Those of [`solve`] and [`cross_check`].
pub fn verify(
    problem: &SeparableProblem,
    kernel: &KernelSolution<'_>,
    settings: &OuterSettings,
    check: &CrossCheckSettings,
) -> Result<(LpSolution, CrossCheck), LpError> {
    let lp = solve(problem, settings)?;
    let cc = cross_check(problem, kernel, &lp, check)?;
    Ok((lp, cc))
}

/// Compares a kernel solution with an LP solution of the same problem (rule in the module
/// docs).
///
/// # Errors
/// [`LpError`] naming the field for: a problem that fails [`solve`]'s shape checks,
/// kernel or LP vectors whose lengths do not match the problem, a non-finite kernel
/// allocation or objective, NaN or negative curvature bounds, or a rounding allowance that
/// is not finite and positive.
pub fn cross_check(
    problem: &SeparableProblem,
    kernel: &KernelSolution<'_>,
    lp: &LpSolution,
    settings: &CrossCheckSettings,
) -> Result<CrossCheck, LpError> {
    validate_shape(problem)?;
    let rho = dr_convex::check_positive(|| "settings.rounding".into(), settings.rounding)?;
    let kappa = dr_convex::check_positive(
        || "settings.kernel_tolerance".into(),
        settings.kernel_tolerance,
    )?;
    let n = problem.objective.len();
    let me = problem.equalities.nrows();
    let mi = problem.inequalities.nrows();
    for (field, got, expected) in [
        ("kernel.x", kernel.x.len(), n),
        (
            "kernel.equality_multipliers",
            kernel.equality_multipliers.len(),
            me,
        ),
        (
            "kernel.inequality_multipliers",
            kernel.inequality_multipliers.len(),
            mi,
        ),
        ("lp.x", lp.x.len(), n),
        ("lp.equality_multipliers", lp.equality_multipliers.len(), me),
        (
            "lp.inequality_multipliers",
            lp.inequality_multipliers.len(),
            mi,
        ),
        ("lp.working_lower", lp.working_lower.len(), n),
        ("lp.working_upper", lp.working_upper.len(), n),
    ] {
        if got != expected {
            return Err(LpError::Input(dr_convex::InputError::LengthMismatch {
                field: field.into(),
                expected,
                got,
            }));
        }
    }
    for (j, &v) in kernel.x.iter().enumerate() {
        dr_convex::check_finite(|| format!("kernel.x[{j}]"), v)?;
    }
    for (r, &v) in kernel
        .equality_multipliers
        .iter()
        .chain(kernel.inequality_multipliers)
        .enumerate()
    {
        dr_convex::check_finite(|| format!("kernel multiplier [{r}]"), v)?;
    }
    dr_convex::check_finite(|| "kernel.objective".into(), kernel.objective)?;
    if let Some(mu) = &settings.curvature {
        if mu.len() != n {
            return Err(LpError::Input(dr_convex::InputError::LengthMismatch {
                field: "settings.curvature".into(),
                expected: n,
                got: mu.len(),
            }));
        }
        for (j, &v) in mu.iter().enumerate() {
            if !at_most(0.0, v) {
                return Err(LpError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("settings.curvature[{j}]"),
                    value: v,
                    requirement: "must be >= 0".into(),
                }));
            }
        }
    }
    // The rules run in the units of the data (`crate::scaling`), so that every allowance
    // (`ρ`, `κ`) is relative to the data's own scale.
    // The units the LP ran in (`LpSolution::scaling`), where valid: its interval's
    // tolerance was relative to them, and so are the rules' allowances.
    // The cost unit is never above the objective's magnitude `M` at the LP point, so the
    // `1` of `max(1, ·)` in the rules is at most `M`: every allowance is relative to the
    // objective, not to an a-priori cost scale that may exceed it by decades.
    let mut given = lp.scaling;
    if lp.magnitude > 0.0 && lp.magnitude.is_finite() && lp.magnitude < given.cost {
        given.cost = lp.magnitude;
    }
    let scaled = if given.quantity > 0.0
        && given.quantity.is_finite()
        && given.cost > 0.0
        && given.cost.is_finite()
    {
        Scaled::with_scaling(problem, given)?
    } else {
        Scaled::new(problem)?
    };
    let sc = scaled.scaling;
    let (sx, sf) = (sc.quantity, sc.cost);
    let xk_unit: Vec<f64> = kernel.x.iter().map(|v| v / sx).collect();
    let yk_unit = scaled.scale_multipliers(kernel.equality_multipliers, true);
    let zk_unit = scaled.scale_multipliers(kernel.inequality_multipliers, false);
    let kernel_unit = KernelSolution {
        x: &xk_unit,
        equality_multipliers: &yk_unit,
        inequality_multipliers: &zk_unit,
        objective: kernel.objective / sf,
    };
    let lp_unit = LpSolution {
        x: lp.x.iter().map(|v| v / sx).collect(),
        lower: lp.lower / sf,
        upper: lp.upper / sf,
        lp_value: lp.lp_value / sf,
        equality_multipliers: scaled.scale_multipliers(&lp.equality_multipliers, true),
        inequality_multipliers: scaled.scale_multipliers(&lp.inequality_multipliers, false),
        lower_bound_multipliers: Vec::new(),
        upper_bound_multipliers: Vec::new(),
        multiplier_ranges: None,
        prices: lp.prices,
        backend: lp.backend,
        working_lower: lp.working_lower.iter().map(|v| v / sx).collect(),
        working_upper: lp.working_upper.iter().map(|v| v / sx).collect(),
        cuts: lp.cuts,
        certificate: lp.certificate,
        scaling: sc,
        magnitude: lp.magnitude / sf,
        tolerance: lp.tolerance,
    };
    let curvature: Option<Vec<f64>> = settings
        .curvature
        .as_ref()
        .map(|mu| mu.iter().map(|m| m * (sx / sf) * sx).collect());
    let mut cc = rules(
        &scaled.problem,
        &kernel_unit,
        &lp_unit,
        curvature.as_deref(),
        rho,
        kappa,
        sc,
    );
    // Back to the original units.
    cc.max_allocation_gap *= sx;
    cc.objective_gap *= sf;
    cc.bound *= sf;
    cc.lower *= sf;
    cc.upper *= sf;
    cc.objective_slack *= sf;
    cc.max_price_gap = kernel
        .equality_multipliers
        .iter()
        .zip(&lp.equality_multipliers)
        .chain(
            kernel
                .inequality_multipliers
                .iter()
                .zip(&lp.inequality_multipliers),
        )
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
    // Marginal prices `c_j = f_j'(x_j)` are in cost per quantity in every row's units, so
    // the gap `rules` measured scales back by `sf / sx` (row multipliers, by contrast, carry
    // each row's own scale and are compared again above in the original units).
    cc.max_marginal_price_gap *= sf / sx;
    cc.scaling = sc;
    Ok(cc)
}

/// The rules of the module docs on a problem in the units of its data; `sc` only turns
/// the numbers in the failure messages back into the original units.
#[allow(clippy::too_many_arguments)]
fn rules(
    problem: &SeparableProblem,
    kernel: &KernelSolution<'_>,
    lp: &LpSolution,
    curvature: Option<&[f64]>,
    rho: f64,
    kappa: f64,
    sc: Scaling,
) -> CrossCheck {
    let n = problem.objective.len();
    let mi = problem.inequalities.nrows();
    let me = problem.equalities.nrows();
    let f = &problem.objective;
    let (lower, upper) = (lp.lower, lp.upper);
    let xl = &lp.x;
    let xk = kernel.x;
    // Rounding of Σ f is relative to the magnitude of its terms, at the LP point and at the
    // kernel's (which may lie far from it).
    let abs_sum_lp: f64 = (0..n).map(|j| f[j].value(xl[j]).abs()).sum();
    let abs_sum_k: f64 = (0..n).map(|j| f[j].value(xk[j]).abs()).sum();
    let abs_sum = if abs_sum_k.is_finite() {
        abs_sum_lp.max(abs_sum_k)
    } else {
        abs_sum_lp
    };
    let ax = problem.equalities.apply(xk);
    let gx_k = problem.inequalities.apply(xk);
    let mut first_order = 0.0;
    for ((v, b), y) in ax
        .iter()
        .zip(problem.equalities.rhs())
        .zip(&lp.equality_multipliers)
    {
        first_order += y.abs() * (v - b).abs();
    }
    for ((v, h), z) in gx_k
        .iter()
        .zip(problem.inequalities.rhs())
        .zip(&lp.inequality_multipliers)
    {
        first_order += z.max(0.0) * (v - h).max(0.0);
    }
    let s = rho * abs_sum.max(1.0)
        + if first_order.is_finite() {
            first_order
        } else {
            0.0
        };
    let mut failures = Vec::new();
    // Rule 1 decides the verdict at the end: rules 2 and 3 are proven whatever the LP's
    // status (`[L, U]` is an interval around `F*` at every iterate), rules 4–6 only for a
    // converged LP.
    // Rule 2.
    let mut kinf = primal_infeasibility(problem, xk);
    for ((&x, &l), &u) in xk.iter().zip(&problem.lower).zip(&problem.upper) {
        kinf = kinf
            .max((l - x).max(0.0) / l.abs().max(1.0))
            .max((x - u).max(0.0) / u.abs().max(1.0));
    }
    if !at_most(kinf, kappa) {
        failures.push(format!("kernel allocation infeasible by {kinf:e} (scaled)"));
    }
    // Rule 3.
    let recomputed: f64 = (0..n).map(|j| f[j].value(xk[j])).sum();
    let fk = kernel.objective;
    let c = sc.cost;
    let outside = || {
        format!(
            "kernel objective {} outside the LP interval [{}, {}] (slack {:e})",
            fk * c,
            lower * c,
            upper * c,
            s * c
        )
    };
    // Above U: U is Σ f at a feasible point, a bound whatever the LP's status.
    if !at_most(fk, upper + s) {
        failures.push(outside());
    }
    if !at_most((recomputed - fk).abs(), s) {
        failures.push(format!(
            "kernel objective {} differs from Σ f(x_K) = {}",
            fk * c,
            recomputed * c
        ));
    }
    let proven_failures = failures.len();
    // Below L: L is proven by weak duality, but only a converged LP's L is trusted here
    // (an LP that stopped on numerical trouble may have overshot).
    if at_most(fk, upper + s) && !at_most(lower - s, fk) {
        failures.push(outside());
    }
    // Rule 4.
    let gap_lp = (upper - lp.radius_lower()).max(0.0) + s;
    let mut r = vec![f64::INFINITY; n];
    let mut max_allocation_gap = 0.0_f64;
    let mut allocation_ratio = 0.0_f64;
    let mut located = 0usize;
    for j in 0..n {
        let mu = match curvature {
            Some(m) => m[j],
            None => sampled_curvature(
                f[j].as_ref(),
                &[lp.working_lower[j], lp.working_upper[j], xl[j], xk[j]],
            ),
        };
        let dx = (xk[j] - xl[j]).abs();
        max_allocation_gap = max_allocation_gap.max(dx);
        if mu > 0.0 {
            r[j] = (2.0 * gap_lp / mu).sqrt();
            let tol = 2.0 * r[j] + rho * xl[j].abs().max(1.0);
            allocation_ratio = allocation_ratio.max(dx / tol);
            located += 1;
        }
    }
    if !at_most(allocation_ratio, 1.0) {
        failures.push(format!(
            "allocation gap beyond its proven tolerance (ratio {allocation_ratio:.3})"
        ));
    }
    // Rule 5.
    let ck = marginal_prices(
        problem,
        kernel.equality_multipliers,
        kernel.inequality_multipliers,
    );
    let cl = marginal_prices(
        problem,
        &lp.equality_multipliers,
        &lp.inequality_multipliers,
    );
    let mut max_marginal_price_gap = 0.0_f64;
    let mut violation = 0.0_f64;
    let mut intervals = Vec::with_capacity(n);
    for j in 0..n {
        max_marginal_price_gap = max_marginal_price_gap.max((ck[j] - cl[j]).abs());
        let (a, b) = price_interval(
            f[j].as_ref(),
            xl[j],
            r[j],
            problem.lower[j],
            problem.upper[j],
        );
        let d = (a - ck[j]).max(ck[j] - b).max(0.0);
        violation = violation.max(d / ck[j].abs().max(1.0) / rho);
        intervals.push((a, b));
    }
    let zscale = kernel
        .inequality_multipliers
        .iter()
        .fold(1.0_f64, |m, v| m.max(v.abs()));
    let gx = problem.inequalities.apply(xl);
    let mut may_be_active = vec![true; mi];
    for i in 0..mi {
        let (cols, vals) = problem.inequalities.row(i);
        let spread: f64 = cols.iter().zip(vals).map(|(&c, &v)| v.abs() * r[c]).sum();
        let h = problem.inequalities.rhs()[i];
        may_be_active[i] = !at_most(gx[i] + spread, h - rho * h.abs().max(1.0));
        let z = kernel.inequality_multipliers[i];
        violation = violation.max((-z).max(0.0) / zscale / kappa);
        if !may_be_active[i] {
            violation = violation.max(z.abs() / zscale / kappa);
        }
    }
    if !at_most(violation, 1.0) {
        failures.push(format!(
            "kernel marginal prices outside their proven intervals (violation {violation:e})"
        ));
    }
    // Rule 6.
    let mut rows_per_var = vec![0usize; n];
    for r_ in 0..me {
        for &c in problem.equalities.row(r_).0 {
            rows_per_var[c] += 1;
        }
    }
    for (i, &act) in may_be_active.iter().enumerate() {
        if act {
            for &c in problem.inequalities.row(i).0 {
                rows_per_var[c] += 1;
            }
        }
    }
    let mut max_price_gap = 0.0_f64;
    let mut price_ratio = 0.0_f64;
    let mut witnessed = 0usize;
    let rows: Vec<(&dr_convex::ipm::LinearRows, usize, f64, f64, bool)> = (0..me)
        .map(|i| {
            (
                &problem.equalities,
                i,
                kernel.equality_multipliers[i],
                lp.equality_multipliers[i],
                true,
            )
        })
        .chain((0..mi).map(|i| {
            (
                &problem.inequalities,
                i,
                kernel.inequality_multipliers[i],
                lp.inequality_multipliers[i],
                may_be_active[i],
            )
        }))
        .collect();
    for (rows_, i, lk, ll, active) in rows {
        let gap = (lk - ll).abs();
        max_price_gap = max_price_gap.max(gap);
        if !active {
            continue;
        }
        let (cols, vals) = rows_.row(i);
        let mut tau = f64::INFINITY;
        for (&c, &v) in cols.iter().zip(vals) {
            let (a, b) = intervals[c];
            let inside = xl[c] - r[c] > lp.working_lower[c] && xl[c] + r[c] < lp.working_upper[c];
            if v != 0.0 && rows_per_var[c] == 1 && a.is_finite() && b.is_finite() && inside {
                tau = tau.min((b - a) / v.abs());
            }
        }
        if tau.is_finite() {
            witnessed += 1;
            let tol = tau + rho * lk.abs().max(ll.abs()).max(1.0);
            price_ratio = price_ratio.max(gap / tol);
        }
    }
    if !at_most(price_ratio, 1.0) {
        failures.push(format!(
            "row price gap beyond its proven tolerance (ratio {price_ratio:.3})"
        ));
    }
    // Rule 1: the LP's status, and (whatever the status says) an interval that is tight
    // relative to the objective's own magnitude.
    let width = lp.relative_width();
    let tight = at_most(width, lp.tolerance);
    let converged = lp.certificate.status == Status::Solved && tight;
    let (verdict, reason) = if proven_failures > 0 || (converged && !failures.is_empty()) {
        (Verdict::Disagrees, failures.join("; "))
    } else if !converged {
        let mut r = if tight {
            format!(
                "the LP back end ({}) did not converge ({:?}): its proven interval \
                 [{:e}, {:e}] is not certified, so the kernel's answer is not confirmed",
                lp.backend.name(),
                lp.certificate.status,
                lower * sc.cost,
                upper * sc.cost
            )
        } else {
            format!(
                "proven interval [{:e}, {:e}] too wide: relative width {:.3e} > {:e} \
                 (the LP back end ({}) did not converge: {:?}), so the kernel's answer is not \
                 confirmed",
                lower * sc.cost,
                upper * sc.cost,
                width,
                lp.tolerance,
                lp.backend.name(),
                lp.certificate.status
            )
        };
        if !failures.is_empty() {
            r.push_str(&format!(" (unconfirmed: {})", failures.join("; ")));
        }
        (Verdict::Inconclusive, r)
    } else {
        (
            Verdict::Agrees,
            "every rule holds within its proven tolerance".to_string(),
        )
    };
    CrossCheck {
        max_allocation_gap,
        allocation_ratio,
        max_price_gap,
        price_ratio,
        max_marginal_price_gap,
        marginal_price_violation: violation,
        objective_gap: fk - lower,
        bound: upper - lower,
        lower,
        upper,
        objective_slack: s,
        kernel_infeasibility: kinf,
        rows_with_witness: witnessed,
        located_variables: located,
        agrees: verdict == Verdict::Agrees,
        failures,
        verdict,
        reason,
        scaling: sc,
    }
}

/// `v ≤ limit`, false when either is NaN (so a NaN never passes a check).
fn at_most(v: f64, limit: f64) -> bool {
    v <= limit
}

/// `c = Aᵀy − Gᵀz`.
fn marginal_prices(problem: &SeparableProblem, y: &[f64], z: &[f64]) -> Vec<f64> {
    let n = problem.objective.len();
    let mut c = vec![0.0; n];
    problem.equalities.apply_transpose_add(y, &mut c);
    let neg: Vec<f64> = z.iter().map(|v| -v).collect();
    problem.inequalities.apply_transpose_add(&neg, &mut c);
    c
}

/// Smallest `f''` at the given points and their midpoints (0 where not finite).
fn sampled_curvature(f: &dyn dr_convex::ConvexScalar, points: &[f64]) -> f64 {
    let (dlo, dhi) = f.domain();
    let mut mu = f64::INFINITY;
    let mut eval = |p: f64| {
        if p > dlo && p < dhi {
            let v = f.second_derivative(p);
            mu = mu.min(if v.is_finite() { v.max(0.0) } else { 0.0 });
        }
    };
    for &p in points {
        eval(p);
    }
    if let (Some(a), Some(b)) = (points.first(), points.get(1)) {
        eval(0.5 * (a + b));
    }
    if mu.is_finite() {
        mu
    } else {
        0.0
    }
}

/// The proven interval `J_j` of the optimal marginal price (rule 5).
fn price_interval(f: &dyn dr_convex::ConvexScalar, x: f64, r: f64, l: f64, u: f64) -> (f64, f64) {
    if !r.is_finite() || l == u {
        return (f64::NEG_INFINITY, f64::INFINITY);
    }
    let (dlo, dhi) = f.domain();
    let (p, q) = (x - r, x + r);
    let a = if p <= l || p <= dlo {
        f64::NEG_INFINITY
    } else {
        f.derivative(p)
    };
    let b = if q >= u || q >= dhi {
        f64::INFINITY
    } else {
        f.derivative(q)
    };
    (
        if a.is_nan() { f64::NEG_INFINITY } else { a },
        if b.is_nan() { f64::INFINITY } else { b },
    )
}
