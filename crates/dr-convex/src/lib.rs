//! # dr-convex — the convex kernel of `demand-response`
//!
//! Every market of the seed papers is a convex program (or a monotone variational
//! inequality) whose multipliers are prices. This crate solves them exactly, fast, and with
//! a [`Certificate`]; it knows nothing about markets.
//!
//! - One-dimensional convex pieces ([`ConvexScalar`]) (costs `a q + h q²` and `½ c q²`, log and
//!   quadratic utilities, user closures, the Nash transform `D'` of li-chen-dahleh-2015
//!   Theorem 3) with value, derivative and inverse derivative.
//! - [`allocate`]: the exact single-coupling allocator `min Σ f_i(x_i), Σ x_i = d,
//!   l ≤ x ≤ u` (safeguarded Newton on the multiplier; struct-of-arrays; deterministic
//!   rayon reductions).
//! - [`project_box_sum`]: projection onto `{l ≤ x ≤ u, L ≤ Σ x ≤ U}`.
//! - [`ipm`]: a primal–dual interior-point solver (Mehrotra predictor–corrector, sparse
//!   Cholesky on faer) for separable convex objectives with linear equality/inequality rows
//!   and bounds — the multi-period models' welfare and planner problems. The solver is the
//!   feature `ipm` (on by default; it compiles faer); the problem types are always there.
//! - [`solve_vi`]: a monotone variational-inequality solver (Tseng's forward–backward–forward)
//!   for strategic equilibria without a potential.
//! - [`PriceRule`]: price updates of iterative market schemes (the papers' fixed step and
//!   a safeguarded fast rule that uses only the observed mismatch).
//! - [`iterate`]: one way to run the papers' distributed algorithms — a [`Stepper`] (one
//!   round per step), an [`Executor`] with the shared stopping rules and oscillation
//!   detector, observers for traces, progress and user callbacks, one [`Termination`].
//! - [`parallel`]: the deterministic chunked reductions everything else uses.
//! - [`InputError`]: the one input-error vocabulary of the workspace (a field as
//!   the user wrote it, and its value), with its check helpers ([`check_finite`],
//!   [`check_positive`], [`check_len`], …); every crate's error wraps it as `Input`.
//!
//! ```
//! use dr_convex::{allocate, AllocatorSettings, Bound, QuadraticFamily};
//! // Competitive equilibrium of supply-function bidding (li-chen-dahleh-2015 Thm 1):
//! // shed d = 10 among customers with C_i(q) = a_i q + h_i q².
//! let a = [1.0, 1.5, 2.0];
//! let h = [0.5, 1.0, 2.0];
//! let family = QuadraticFamily::new(&a, &h)?;
//! let eq = allocate(&family, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), 10.0,
//!                   &AllocatorSettings::default())?;
//! let price = eq.multiplier;                       // p̄
//! for i in 0..3 {                                  // p̄ = C_i'(q̄_i) for active i
//!     assert!((a[i] + 2.0 * h[i] * eq.x[i] - price).abs() < 1e-9);
//! }
//! assert!(eq.certificate.holds(1e-12));
//! # Ok::<(), dr_convex::ConvexError>(())
//! ```

mod allocator;
mod candidate;
mod certificate;
mod claim;
mod error;
pub mod ipm;
pub mod iterate;
mod lanes;
pub mod parallel;
mod price_rule;
mod projection;
mod scalar;
mod vi;

pub use allocator::{
    allocate, allocate_into, generic_bracket, generic_finish, solve_multiplier, Allocation,
    AllocatorSettings, Bound, Bracket, Family, FinishStats, Multiplier, NashQuadraticFamily,
    QuadraticFamily, ScalarFamily,
};
pub use candidate::Candidate;
pub use certificate::{Certificate, CertificateReport, Status};
pub use claim::{significant, six_digits, Claim};
pub use error::{
    check_finite, check_index, check_len, check_nonempty, check_nonnegative, check_positive,
    ConvexError, InputError,
};
pub use ipm::{IpmSettings, IpmSolution, LinearRows, SeparableProblem};
pub use iterate::{
    callback, progress, Callback, Executor, Observer, OscillationDetector, Progress, ProgressHook,
    Run, Step, Stepper, Swing, Termination, Trace, TraceMode,
};
pub use lanes::{Lanes, Mask, LANES};
pub use price_rule::{FastRule, FixedStep, PriceRule};
pub use projection::{project_box_sum, Projection};
pub use scalar::{
    generic_inverse_derivative, nash_log, nash_quadratic_response, nash_quadratic_slope,
    ClosureConvex, ConvexScalar, HalfQuadraticCost, Linear, LinearQuadraticCost, LogUtility,
    NashTransform, PlusHalfQuadratic, PlusLinear, QuadraticUtility,
};
pub use vi::{
    solve_vi, unit_of, AffineOperator, BoxSet, BoxSumBlocks, ConvexSet, FnOperator,
    MonotoneOperator, ViSettings, ViSolution,
};
