//! # dr-lp — the LP reference back end of `demand-response`
//!
//! A second, independent way to solve the kernel's problems, for cross-checking equilibria:
//! a [`dr_convex::ipm::SeparableProblem`] `min Σ_j f_j(x_j), A x = b, G x ≤ h, l ≤ x ≤ u` is
//! solved as a sequence of linear programs (good_lp, with the pure-Rust microlp simplex,
//! and the clarabel interior point with the `clarabel` cargo feature; [`Backend::Auto`]
//! picks by size) over a piecewise-linear **outer** approximation of the objective — tangent
//! cuts `t_j ≥ f_j(p) + f_j'(p)(x_j − p)`, refined by Kelley's cutting planes. It shares no
//! code path with the kernel's interior-point method or allocator, and it returns a
//! **proven interval** `[lower, upper]` around the optimum, the allocation, and prices
//! (constraint multipliers) in the kernel's sign convention.
//!
//! - [`solve`] → [`LpSolution`]: the interval, the LP point, prices, a certificate.
//! - [`cross_check()`] / [`verify`] → [`CrossCheck`]: gaps between a kernel solution and the LP
//!   back end, the proven bound, and a [`Verdict`] — agrees / disagrees (both proven) /
//!   inconclusive (the LP did not converge, or its interval is not tight relative to the
//!   objective) — under a documented rule whose tolerances follow from the interval and the
//!   curvature ([`cross_check`](mod@cross_check) module docs).
//! - The interval is `Solved` only when tight *relative to the objective*: `U − L ≤ tol ·
//!   Σ_j |f_j(x̂_j)|` ([`OuterSettings::tolerance`]), whatever the units the LP ran in; a
//!   problem whose a-priori cost scale is far above its optimum is solved again in units
//!   of the optimum, and a problem with one coupling row is finished by dual ascent on its
//!   price ([`PriceSource::DualAscent`]) where the cuts alone do not close the interval.
//! - Units do not matter: every problem is solved and checked in the units of its own data
//!   ([`scaling`]: quantities, costs and rows scaled, results scaled back), so tolerances
//!   are relative to the data's scale, from a deficit of `1e-12` to `1e12`.
//! - The LP stays small: cuts are added only where the LP point violates the epigraph by
//!   more than a quarter of the mean violation, and on problems with a few coupling rows
//!   the Lagrangian lower bound is raised by a derivative-free ascent from the LP's
//!   multipliers (every value is a proven bound by weak duality).
//! - A failure of the back end on a problem it accepted is told apart from bad input
//!   ([`LpError::is_back_end_failure`]).
//! - The reports read back from their JSON ([`CrossCheck`] is `Serialize + Deserialize`),
//!   and a number that is not finite is never a silent `null` ([`number`]: NaN, *not
//!   measured*, is an omitted key; `±∞` the string `"inf (not finite)"`).
//!
//! **Invariant:** this crate is only a second opinion; model crates never depend on it.
//!
//! ```
//! use dr_convex::{allocate, AllocatorSettings, Bound, ConvexScalar, LinearQuadraticCost,
//!                 QuadraticFamily};
//! use dr_convex::ipm::{LinearRows, SeparableProblem};
//! use dr_lp::{verify, CrossCheckSettings, KernelSolution, OuterSettings};
//! use std::sync::Arc;
//! // Competitive equilibrium of supply-function bidding (li-chen-dahleh-2015 Thm 1):
//! // shed d = 10 among customers with C_i(q) = a_i q + h_i q², 0 ≤ q_i ≤ 8.
//! let (a, h) = ([1.0, 1.5, 2.0], [0.5, 1.0, 2.0]);
//! let family = QuadraticFamily::new(&a, &h)?;
//! let kernel = allocate(&family, Bound::Constant(0.0), Bound::Constant(8.0), 10.0,
//!                       &AllocatorSettings::default())?;
//! // The same market as a kernel problem, re-solved by the LP back end.
//! let objective: Vec<Arc<dyn ConvexScalar>> = (0..3)
//!     .map(|i| Arc::new(LinearQuadraticCost::new(a[i], h[i]).unwrap()) as Arc<dyn ConvexScalar>)
//!     .collect();
//! let mut equalities = LinearRows::new(3);
//! equalities.push_row(&[(0, 1.0), (1, 1.0), (2, 1.0)], 10.0)?;
//! let problem = SeparableProblem {
//!     objective,
//!     lower: vec![0.0; 3],
//!     upper: vec![8.0; 3],
//!     equalities,
//!     inequalities: LinearRows::new(3),
//! };
//! let (lp, check) = verify(&problem, &KernelSolution::from_allocation(&kernel),
//!                          &OuterSettings::default(), &CrossCheckSettings::default())?;
//! assert!(lp.lower <= kernel.objective + 1e-9 && kernel.objective <= lp.upper + 1e-9);
//! assert!(check.agrees, "{:?}", check.failures);
//! assert!(check.max_price_gap < 1e-3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bounds;
mod compare;
pub mod cross_check;
pub mod error;
mod lp;
pub mod number;
mod outer;
mod prices;
pub mod scaling;

pub use compare::{
    check_candidate, compare, solve_with_fallback, CheckedCandidate, CompareSettings, Comparison,
};
pub use cross_check::{
    cross_check, verify, CrossCheck, CrossCheckSettings, KernelSolution, Verdict,
};
pub use error::LpError;
pub use lp::Backend;
pub use outer::{solve, LpSolution, OuterSettings, PriceSource};
pub use prices::MultiplierRanges;
pub use scaling::{scaling_of, Scaling};
