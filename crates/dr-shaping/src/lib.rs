//! # dr-shaping — demand shaping over a day
//!
//! The market of chen-li-low-doyle-2010 §IV ("Demand response: shaping the demand"):
//! customers `i` draw loads `q_i(t) ≥ 0` in periods `t = 1..T` within daily energy bounds
//! `Q_i ≤ Σ_t q_i(t) ≤ Q̄_i`, enjoying utilities `U_i(q, t)`; the utility company supplies
//! `Q(t) = Σ_i q_i(t)` at cost `C(Q, t)` and prices at marginal cost `p(t) = C'(Q(t), t)`.
//!
//! - [`ShapingModel`]: [`Customers`] (quadratic, log, power or user-supplied utilities,
//!   struct-of-arrays for `N = 10⁶` customers) and a [`SupplyCost`] (quadratic, polynomial
//!   [`PolynomialCost`], piecewise quadratic [`PiecewiseQuadraticCost`], or user-supplied);
//!   validated (errors name field and index).
//! - [`competitive_equilibrium`] (Theorem 6): the welfare optimum, by the
//!   structure-exploiting price Newton (`newton`): `T` unknowns, each evaluation one
//!   deterministic parallel pass of exact water-filling responses, a `T × T` Newton system
//!   (faer Cholesky), Levenberg–Marquardt safeguarding on the dual.
//!   [`competitive_equilibrium_ipm`] is the independent second path (the kernel's
//!   interior-point method on the full problem).
//! - [`strategic_equilibrium`] (Theorem 7): for quadratic supply costs the potential game's
//!   maximiser by the same Newton ([`strategic_equilibrium_ipm`] is its second path);
//!   otherwise the same Newton with each customer's own-impact curvature `C''(Q(t))` frozen
//!   and iterated to its fixed point (`own_impact`, exact for condition 44), falling back on
//!   the monotone VI ([`strategic_equilibrium_vi`], also its second path in the tests).
//!   [`nash_gain`]: every customer's exact
//!   best-response gain.
//! - [`certificate`]: KKT residuals of any result; every [`Equilibrium`] carries one.
//!   Prices are multipliers.
//! - [`simulate`]: the distributed gradient schemes (eqs. 41–42 and 48) and a fast Newton
//!   variant as message-passing steppers ([`GradientScheme`], [`PriceNewton`]) with traces
//!   and explicit [`Termination`] (oscillation/divergence of too large a step is detected).
//! - Load shape: [`peak_to_average`], [`load_factor`], and the [`Unshaped`] reference
//!   (customers' own optima under the flat average price; see `equilibrium`).
//! - [`ShapingScenario`]: the serde scenario type (TOML/JSON) behind `dr solve|simulate`.
//! - Typed reports (`Serialize + Deserialize`): [`solve_report`] → [`SolveReport`] (both
//!   equilibria, the unshaped reference, class averages, Nash gains, the interior-point
//!   cross-check and the claims checked), [`run_report`] → [`RunReport`] /
//!   [`SimulationReport`], [`day_report`] → [`DayReport`]; the `dr` command renders its text
//!   and its JSON from the same value.
//!
//! Classes of identical customers ([`Customers::set_count`]; a scenario class without
//! jitter) are one row standing for their count: every solve path computes that customer
//! once and weights it by the count — exact, because the equilibria are unique and
//! symmetric (derivation in the `equilibrium` module docs) — so `10⁶` customers in a few
//! classes solve in milliseconds. Per-customer arrays have one entry per row
//! ([`Loads::count`], [`Loads::population`]). [`write_loads_csv`] streams the loads table
//! of a [`SolveReport`] (`dr solve --output DIR`).
//!
//! Results do not depend on the number of threads (deterministic chunked reductions).
//!
//! ```
//! use dr_shaping::{competitive_equilibrium, nash_gain, strategic_equilibrium, Customers,
//!                  ShapingModel, SupplyCost};
//! // Two customers over T = 3 periods; supply cost ½ c Q² + e Q, steeper in period 2.
//! let mut customers = Customers::new(3)?;
//! customers.push_quadratic(&[2.0, 3.0, 2.5], &[1.0, 1.0, 1.0], 1.0, 4.0)?;
//! customers.push_log(&[1.0, 2.0, 1.0], &[1.0, 1.0, 1.0], 2.0, f64::INFINITY)?;
//! let supply = SupplyCost::quadratic(vec![0.5, 1.0, 0.5], vec![0.1, 0.1, 0.1])?;
//! let model = ShapingModel::new(customers, supply)?;
//!
//! let ce = competitive_equilibrium(&model)?;
//! assert!(ce.certificate.holds(1e-9));
//! for t in 0..3 {
//!     // Prices are marginal costs of the total load (eq. 30) ...
//!     assert!((ce.prices[t] - model.supply().marginal(t, ce.total_load[t])).abs() < 1e-9);
//! }
//! // ... and strategic customers face a Nash equilibrium where nobody gains by deviating.
//! let ne = strategic_equilibrium(&model)?;
//! assert!(ne.certificate.holds(1e-9));
//! assert!(nash_gain(&model, &ne.loads)?.max_relative_gain < 1e-9);
//! assert!(ne.welfare <= ce.welfare + 1e-9);                 // Theorem 6: CE is efficient
//! # Ok::<(), dr_shaping::ShapingError>(())
//! ```

mod equilibrium;
mod error;
mod gain;
mod ipm_path;
mod model;
mod newton;
mod own_impact;
mod problem;
mod report;
mod response;
mod scenario;
mod simulation;
mod supply;
mod vi_path;

/// The kernel's iteration vocabulary (one termination reason, the executor, observers).
pub use dr_convex::{
    callback, Executor, Observer, Run, Step, Stepper, Termination, Trace, TraceMode,
};
pub use equilibrium::{
    certificate, competitive_equilibrium, competitive_equilibrium_with, load_factor,
    peak_to_average, strategic_equilibrium, strategic_equilibrium_with, unshaped_loads, Behaviour,
    Equilibrium, Loads, Method, Unshaped, UNSHAPED_DEFINITION,
};
pub use error::ShapingError;
pub use gain::{nash_gain, NashGain};
pub use ipm_path::{competitive_equilibrium_ipm, strategic_equilibrium_ipm};
pub use model::{
    ClassProfile, Customers, PowerUtility, Profile, ShapingModel, SupplyCost, SupplyForm, Utility,
    UtilityKind, Variant, BYTES_PER_ROW,
};
pub use newton::{NewtonRound, PriceNewton, SolverSettings};
pub use problem::{welfare_problem, WelfareProblem};
pub use report::{
    day_report, loads_csv_header, price_difference, run_report, solve_report, welfare_of,
    write_loads_csv, CertificateReport, ClassReport, ClassSpan, CrossCheckReport, DayReport,
    EquilibriumReport, FastScheme, GainSummary, PathVerdict, Residual, RunReport, ShapeChange,
    SimulationReport, SolveOptions, SolveReport, StrategicReport, UnshapedReport, AGREE_TOLERANCE,
    CHECK_TOLERANCE,
};
pub use response::customer_response;
pub use scenario::{CustomerSpec, PerPeriod, ShapingScenario, SupplySpec, UtilitySpec};
pub use simulation::{
    critical_step, simulate, simulate_observed, GradientScheme, Round, Scheme, SimulationRun,
    SimulationSettings,
};
pub use supply::{PiecewiseQuadraticCost, PolynomialCost};
pub use vi_path::strategic_equilibrium_vi;

/// The kernel types a user of this crate needs (settings of the kernel solvers, certificates,
/// the input-error vocabulary), so that no direct `dr-convex` dependency is needed.
pub use dr_convex::{
    Certificate, Claim, ConvexScalar, InputError, IpmSettings, Status, ViSettings,
};
