//! # demand-response — equilibria of electricity demand-response markets
//!
//! One facade over the workspace's crates:
//! - [`convex`] (`dr-convex`): the convex kernel — scalar convex pieces, the exact
//!   single-coupling allocator whose multiplier is the market price, projections, the
//!   interior-point and VI solvers, price rules, certificates;
//! - [`bidding`] (`dr-bidding`): supply-function bidding (li-chen-dahleh-2015,
//!   chen-li-low-doyle-2010 §III);
//! - [`shaping`] (`dr-shaping`): demand shaping over periods (chen-li-low-doyle-2010 §IV);
//! - [`stackelberg`] (`dr-stackelberg`): multi-period multi-company Stackelberg pricing
//!   (alshehri-liu-chen-basar);
//! - [`mechanism`] (`dr-mechanism`): the peak-demand mechanism for energy communities
//!   (wei-anastasopoulos);
//! - [`lp`] (`dr-lp`): the LP reference back end, and [`verify`], which cross-checks each
//!   model's equilibrium against it.
//!
//! Common items are in [`prelude`]. With the `scenario` feature, [`scenario`] reads
//! scenario files (TOML or JSON, dispatched on a top-level `model` key) with errors that
//! name the line, column and field; with the `plot` feature, [`plot`] writes SVG figures.
//! Both are on by default and pull no command-line dependencies; the `dr` command
//! (`dr solve | simulate | verify | study | demo`) is its own crate, `crates/dr-cli`.
//! `--no-default-features` leaves only the re-exports and [`verify`].
//!
//! ```
//! use demand_response::prelude::*;
//! // Competitive equilibrium of supply-function bidding (li-chen-dahleh-2015 Theorem 1):
//! // shed the deficit d = 2 among customers with costs C_i(q) = a_i q + h_i q², q_i ≥ 0.
//! let a = [1.0, 1.2, 1.9, 3.0];
//! let h = [1.0, 0.5, 2.0, 1.0];
//! let customers = QuadraticFamily::new(&a, &h)?;
//! let eq = allocate(&customers, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), 2.0,
//!                   &AllocatorSettings::default())?;
//! let price = eq.multiplier; // p̄: the multiplier of Σ q_i = d
//! assert!((eq.x.iter().sum::<f64>() - 2.0).abs() < 1e-9);
//! assert_eq!(eq.x[3], 0.0); // C_4'(0) = 3 is above the price: customer 4 sheds nothing
//! for i in 0..a.len() {
//!     // Water-filling (Theorem 2): active customers have C_i'(q̄_i) = p̄,
//!     // inactive ones have C_i'(0) = a_i ≥ p̄.
//!     if eq.x[i] > 0.0 {
//!         assert!((a[i] + 2.0 * h[i] * eq.x[i] - price).abs() < 1e-9);
//!     } else {
//!         assert!(a[i] >= price - 1e-9);
//!     }
//! }
//! assert!(eq.certificate.holds(1e-9));
//! # Ok::<(), ConvexError>(())
//! ```

pub use dr_bidding as bidding;
pub use dr_convex as convex;
pub use dr_lp as lp;
pub use dr_mechanism as mechanism;
pub use dr_shaping as shaping;
pub use dr_stackelberg as stackelberg;

#[cfg(feature = "plot")]
pub mod plot;
#[cfg(feature = "scenario")]
pub mod scenario;
pub mod verify;

/// The items most programs need: the kernel's allocator, families, bounds, scalar pieces,
/// price rules and certificates (and, with the `scenario` feature, the scenario reader).
pub mod prelude {
    pub use dr_convex::{
        allocate, project_box_sum, solve_multiplier, Allocation, AllocatorSettings, Bound,
        Certificate, ConvexError, ConvexScalar, Family, FastRule, FixedStep, HalfQuadraticCost,
        LinearQuadraticCost, LogUtility, NashQuadraticFamily, PriceRule, QuadraticFamily,
        QuadraticUtility, ScalarFamily, Status,
    };

    #[cfg(feature = "scenario")]
    pub use crate::scenario::{Format, ModelKind, Scenario, ScenarioError};
}
