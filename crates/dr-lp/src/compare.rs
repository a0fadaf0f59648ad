//! Model-agnostic comparison of a kernel answer with the LP back end: the LP run with a
//! fallback back end, the cross-check with curvature bounds refined on a proven window,
//! and the proven allocation radii — the pieces every model's verification shares.
//!
//! A model crate hands back its problem and its claimed optimum as a
//! [`dr_convex::Candidate`] (e.g. `dr_bidding::Equilibrium::cross_check_problem`), and
//! [`check_candidate`] checks it in one call:
//!
//! ```
//! use dr_convex::ipm::{solve as ipm_solve, IpmSettings, LinearRows, SeparableProblem};
//! use dr_convex::{Candidate, ConvexScalar, LinearQuadraticCost};
//! use dr_lp::{check_candidate, CompareSettings, Verdict};
//! use std::sync::Arc;
//! // min (q₀ + ½ q₀²) + q₁² s.t. q₀ + q₁ = 3, 0 ≤ q ≤ 5.
//! let objective: Vec<Arc<dyn ConvexScalar>> = vec![
//!     Arc::new(LinearQuadraticCost::new(1.0, 0.5)?),
//!     Arc::new(LinearQuadraticCost::new(0.0, 1.0)?),
//! ];
//! let mut equalities = LinearRows::new(2);
//! equalities.push_row(&[(0, 1.0), (1, 1.0)], 3.0)?;
//! let problem = SeparableProblem {
//!     objective,
//!     lower: vec![0.0; 2],
//!     upper: vec![5.0; 2],
//!     equalities,
//!     inequalities: LinearRows::new(2),
//! };
//! let kernel = ipm_solve(&problem, &IpmSettings::default())?;
//! let checked = check_candidate(&problem, &Candidate::from(&kernel), &CompareSettings::default())?;
//! assert_eq!(checked.cross_check.verdict, Verdict::Agrees, "{}", checked.cross_check.reason);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::cross_check::{cross_check, CrossCheck, CrossCheckSettings, KernelSolution};
use crate::error::LpError;
use crate::lp::Backend;
use crate::outer::{solve, LpSolution, OuterSettings};
use dr_convex::ipm::SeparableProblem;
use dr_convex::{Candidate, ConvexScalar, Status};

impl<'a> From<&'a Candidate> for KernelSolution<'a> {
    fn from(c: &'a Candidate) -> Self {
        Self {
            x: &c.x,
            equality_multipliers: &c.equality_multipliers,
            inequality_multipliers: &c.inequality_multipliers,
            objective: c.objective,
        }
    }
}

/// Settings of [`check_candidate`], with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSettings {
    /// Settings of the LP back end ([`solve`](crate::solve)).
    pub outer: OuterSettings,
    /// Settings of the comparison ([`cross_check`](crate::cross_check())). With
    /// `curvature: None` (the default) the curvature bounds are sampled per problem and
    /// refined on a window around the LP point ([`compare`]).
    pub check: CrossCheckSettings,
    /// The LP back end tried when `outer.backend` ends without `Status::Solved` or fails
    /// before its first iterate (default: the simplex back end, `Backend::Microlp`, slower
    /// but robust to the steep cuts next to a barrier such as the Nash transform's at
    /// `d/2`); `None`: no second try.
    pub fallback_backend: Option<Backend>,
}

impl Default for CompareSettings {
    fn default() -> Self {
        Self {
            outer: OuterSettings::default(),
            check: CrossCheckSettings::default(),
            fallback_backend: Some(Backend::Microlp),
        }
    }
}

/// Solves `problem` with the LP back end of `outer`, and with `fallback` when that run does
/// not end `Solved` (the solved run, else the one with the shorter interval, is returned).
///
/// # Errors
/// The first run's error when neither run produced a solution.
pub fn solve_with_fallback(
    problem: &SeparableProblem,
    outer: &OuterSettings,
    fallback: Option<Backend>,
) -> Result<LpSolution, LpError> {
    let first = solve(problem, outer);
    let solved = matches!(&first, Ok(lp) if lp.certificate.status == Status::Solved);
    let fallback = match fallback {
        Some(b) if !solved && b != outer.backend.resolve(problem.objective.len()) => b,
        _ => return first,
    };
    let outer = OuterSettings {
        backend: fallback,
        ..*outer
    };
    let second = solve(problem, &outer);
    match (first, second) {
        (Ok(a), Ok(b)) => {
            if b.certificate.status == Status::Solved || b.bound() < a.bound() {
                Ok(b)
            } else {
                Ok(a)
            }
        }
        (Ok(a), Err(_)) => Ok(a),
        (Err(_), Ok(b)) => Ok(b),
        (Err(e), Err(_)) => Err(e),
    }
}

/// Smallest `f''` at the given points (0 where not finite; points outside the open domain
/// are skipped), as [`cross_check`](crate::cross_check()) samples it: exact for pieces
/// whose `f''` is constant or monotone.
fn sampled_curvature(f: &dyn ConvexScalar, points: &[f64]) -> f64 {
    let (dlo, dhi) = f.domain();
    let mut mu = f64::INFINITY;
    for &p in points {
        if p > dlo && p < dhi {
            let v = f.second_derivative(p);
            mu = mu.min(if v.is_finite() { v.max(0.0) } else { 0.0 });
        }
    }
    if mu.is_finite() {
        mu
    } else {
        0.0
    }
}

/// `r_j = √(2 (U − L' + s)/μ_j)` (the cross-check's rule 4; `+∞` where `μ_j = 0`).
fn radii(lp: &LpSolution, cc: &CrossCheck, mu: &[f64]) -> Vec<f64> {
    let gap = (cc.upper - lp.radius_lower()).max(0.0) + cc.objective_slack;
    mu.iter()
        .map(|&m| {
            if m > 0.0 {
                (2.0 * gap / m).sqrt()
            } else {
                f64::INFINITY
            }
        })
        .collect()
}

/// The result of [`compare`] and [`check_candidate`].
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The comparison under its proven tolerances.
    pub cross_check: CrossCheck,
    /// The curvature bounds `μ_j` the final comparison used.
    pub curvature: Vec<f64>,
    /// The proven radii `r_j ≥ |x̂_j − x*_j|` around the LP point (`+∞` where `μ_j = 0`).
    pub radii: Vec<f64>,
}

/// Cross-checks `kernel` against an LP solution of `problem`.
///
/// # Curvature on a window
/// The cross-check's rule 4 needs `μ_j ≤ f_j''` on every segment from the optimum `x*_j`
/// to the points it locates (`x̂_j`, `x_K,j`). Sampled over the whole working box, `μ_j` is
/// very pessimistic for log utilities (`f''` falls like `1/x²`). So, unless
/// `check.curvature` is given, the check runs twice: first with the box-wide `μ⁰_j`, which
/// proves `|x̂_j − x*_j| ≤ r⁰_j`; then with `μ_j = min f_j''` over the window
/// `W_j = [x̂_j − w_j, x̂_j + w_j]` ∩ box, `w_j = 3 r⁰_j + 2 ρ max(σ_x, |x̂_j|)` (`σ_x` the
/// quantity scale the rules run in). `W_j` contains `x*_j`, and every `x_K,j` that passes
/// the second check (`|x_K,j − x̂_j| ≤ 2 r_j + ρ max(σ_x, |x̂_j|)` with `r_j ≤ r⁰_j`), so the
/// second check's conclusions are as proven as the first's, with tighter radii; a kernel
/// point outside `W_j` fails both.
///
/// # Errors
/// Those of [`cross_check`](crate::cross_check()).
pub fn compare(
    problem: &SeparableProblem,
    kernel: &KernelSolution<'_>,
    lp: &LpSolution,
    check: &CrossCheckSettings,
) -> Result<Comparison, LpError> {
    let first = cross_check(problem, kernel, lp, check)?;
    let (cc, mu) = match &check.curvature {
        Some(mu) => (first, mu.clone()),
        None => {
            let f = &problem.objective;
            let n = f.len();
            let mu0: Vec<f64> = (0..n)
                .map(|j| {
                    let (a, b) = (lp.working_lower[j], lp.working_upper[j]);
                    sampled_curvature(f[j].as_ref(), &[a, b, lp.x[j], kernel.x[j], 0.5 * (a + b)])
                })
                .collect();
            let r0 = radii(lp, &first, &mu0);
            let rho = check.rounding;
            // The rules run in units of the data: their `max(1, |x̂|)` is `max(σ_x, |x̂|)`.
            let sx = first.scaling.quantity;
            let mu: Vec<f64> = (0..n)
                .map(|j| {
                    let (a, b) = (lp.working_lower[j], lp.working_upper[j]);
                    let xl = lp.x[j];
                    let w = 3.0 * r0[j] + 2.0 * rho * xl.abs().max(sx);
                    let lo = (xl - w).max(a);
                    let hi = (xl + w).min(b);
                    if lo.is_nan() || hi.is_nan() || lo > hi {
                        return mu0[j];
                    }
                    // Never below the box-wide bound (it holds on the window too).
                    sampled_curvature(f[j].as_ref(), &[lo, hi, xl, kernel.x[j].clamp(lo, hi)])
                        .max(mu0[j])
                })
                .collect();
            let refined = CrossCheckSettings {
                curvature: Some(mu.clone()),
                ..check.clone()
            };
            (cross_check(problem, kernel, lp, &refined)?, mu)
        }
    };
    let radii = radii(lp, &cc, &mu);
    Ok(Comparison {
        cross_check: cc,
        curvature: mu,
        radii,
    })
}

/// Solves `problem` with the LP back end ([`solve_with_fallback`]) and compares `candidate`
/// with it ([`compare`]): the one call a model's result needs, with the LP solution.
///
/// # Errors
/// Those of the LP back end and of [`cross_check`](crate::cross_check()).
pub fn check_candidate(
    problem: &SeparableProblem,
    candidate: &Candidate,
    settings: &CompareSettings,
) -> Result<CheckedCandidate, LpError> {
    let lp = solve_with_fallback(problem, &settings.outer, settings.fallback_backend)?;
    let Comparison {
        cross_check,
        curvature,
        radii,
    } = compare(problem, &candidate.into(), &lp, &settings.check)?;
    Ok(CheckedCandidate {
        lp,
        cross_check,
        curvature,
        radii,
    })
}

/// The result of [`check_candidate`]: the LP solution and the [`Comparison`]'s fields.
#[derive(Debug, Clone)]
pub struct CheckedCandidate {
    /// The LP back end's solution (interval, allocation, prices).
    pub lp: LpSolution,
    /// The comparison under its proven tolerances (`verdict`, `reason`, gaps).
    pub cross_check: CrossCheck,
    /// The curvature bounds `μ_j` the final comparison used.
    pub curvature: Vec<f64>,
    /// The proven radii `r_j ≥ |x̂_j − x*_j|` around the LP point.
    pub radii: Vec<f64>,
}
