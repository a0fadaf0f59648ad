//! # dr-bidding — supply-function bidding for demand response
//!
//! The market of li-chen-dahleh-2015 ("Demand response using linear supply function
//! bidding") and chen-li-low-doyle-2010 §III: a utility must shed a deficit `d > 0` (or
//! absorb a surplus); customer `i` bids one scalar `b_i ≥ 0`, committing to shed
//! `q_i = b_i p` at price `p`; the market clears at `p(b) = d / Σ_i b_i` (eq. 4).
//!
//! - [`Market`]: customers with convex costs (`a q + h q²`, `½ c q²`, the power, exponential
//!   and piecewise-linear costs of [`PowerCost`], [`ExponentialCost`],
//!   [`PiecewiseLinearCost`], the footnote-3 soft capacity [`CapacityPenalty`], or any
//!   [`ConvexScalar`]), optional capacities, a deficit or surplus; validated,
//!   struct-of-arrays for quadratic populations (10⁷ customers), seeded drawn populations.
//! - [`competitive_equilibrium`] (Theorems 1–2) and [`nash_equilibrium`] (Theorems 3–4),
//!   solved exactly by the kernel's allocator: price (a multiplier), bids, loads, net
//!   revenues, total cost, the water-filling structure and a [`Certificate`];
//!   [`solve`] gives both and the [`Efficiency`] report (Theorem 5, Corollary 4).
//! - [`nash_gain`]: for any bid profile, every customer's exact best-response gain (eq. 13,
//!   conditions 15–16) — "is this a Nash equilibrium?".
//! - Theorem 6 (pure quadratic costs): [`theorem6_competitive_bids`],
//!   [`theorem6_nash_bids`], [`theorem6_residual`].
//! - [`BiddingSimulation`]: the papers' iterative bidding (eqs. 11–12, 26–27) as a
//!   message-passing stepper with a per-round trace and an explicit [`Termination`], with the
//!   papers' fixed step or the fast rule [`FittedMarketRule`], which clears a market fitted
//!   to the bids it receives ([`simulate`], [`PriceUpdate`]).
//! - [`BidTrace`] / [`BidRecorder`]: every customer's bid every `K` rounds (the
//!   supply-function panels of Figs. 1–2); [`CriticalStep`]: the step `γ` against the
//!   critical step `2/S'(p)`, with the claim it makes about a run.
//! - [`studies`]: Figs. 1–2 and the conference run ([`studies::convergence_study`]),
//!   oscillation for a too-large step ([`studies::oscillation_study`]), the scenario sweep of
//!   Figs. 3–6 ([`studies::scenario_sweep`]).
//! - [`BiddingScenario`]: the serde scenario type (TOML/JSON) behind `dr solve|simulate`.
//! - [`SolveReport`] ([`solve_report`]): the typed, `Serialize`/`Deserialize` report of
//!   `dr solve` (both equilibria, certificates, efficiency, per-customer columns), and
//!   [`write_customers_csv`], its per-customer table streamed as CSV.
//! - [`SimulationReport`]: the typed report of `dr simulate` (one [`RunReport`] per
//!   equilibrium: the run, its exact reference, the critical-step claim, the bid trace).
//! - [`ConvergenceStudyReport`], [`SweepStudyReport`]: the typed reports of the studies,
//!   their findings as checked [`Claim`]s.
//!
//! Results do not depend on the number of threads (deterministic chunked reductions).
//!
//! ```
//! use dr_bidding::{nash_gain, solve, Market};
//! // Four customers with C_i(q) = a_i q + h_i q² shed a deficit d = 10.
//! let market = Market::quadratic(vec![1.0, 1.2, 1.5, 2.0], vec![0.5, 1.0, 2.0, 4.0], 10.0)?;
//! let report = solve(&market)?;
//! let (ce, ne) = (&report.competitive, &report.nash);
//! // Theorem 1: p̄ = C_i'(q̄_i) for every active customer; the certificate says so too.
//! assert!(ce.certificate.holds(1e-9));
//! assert!((1.0 + 2.0 * 0.5 * ce.loads[0] - ce.price).abs() < 1e-9);
//! // Theorem 5: the Nash price is higher, the total cost too; Lemma 3: every q* < d/2.
//! assert!(ne.price > ce.price && ne.total_cost >= ce.total_cost);
//! assert!(ne.loads.iter().all(|&q| q < 5.0));
//! // No customer gains by changing its bid alone at the Nash equilibrium.
//! assert!(nash_gain(&market, &ne.bids)?.max_relative_gain < 1e-9);
//! assert!(report.efficiency.price_bounds_hold && report.efficiency.cost_bounds_hold);
//! # Ok::<(), dr_bidding::BiddingError>(())
//! ```

mod bid_trace;
mod costs;
mod demo;
mod efficiency;
mod equilibrium;
mod error;
mod fitted;
mod gain;
mod iterative;
mod market;
mod problem;
mod report;
mod scenario;
mod simulation_report;
pub mod studies;
mod study_report;

pub use bid_trace::{BidRecorder, BidTrace, CriticalStep, BID_TRACE_BYTES_PER_ENTRY};
pub use costs::{CapacityPenalty, ExponentialCost, PiecewiseLinearCost, PowerCost};
pub use demo::{
    demo_report, DemoReport, EquilibriumBrief, GainAt, GainPair, IterativePair, IterativeRun,
    DEMO_TOLERANCE,
};
/// The kernel's iteration vocabulary (one termination reason, the executor, observers).
pub use dr_convex::{
    callback, Executor, Observer, Run, Step, Stepper, Termination, Trace, TraceMode,
};
/// Kernel types a custom cost and a cross-check need (one dependency, matching versions).
pub use dr_convex::{Candidate, SeparableProblem};
pub use efficiency::{
    efficiency, solve, solve_with, theorem6_competitive_bids, theorem6_nash_bids,
    theorem6_residual, Efficiency, MarketReport,
};
pub use equilibrium::{
    competitive_equilibrium, competitive_equilibrium_with, nash_equilibrium, nash_equilibrium_with,
    nash_quadratic_value, Equilibrium, EquilibriumKind, WaterFilling,
};
pub use error::BiddingError;
pub use fitted::FittedMarketRule;
pub use gain::{clearing_price, nash_gain, NashGain};
pub use iterative::{
    critical_step, simulate, supply_slope, Behaviour, BiddingSimulation, PriceUpdate, Round,
    SimulationRun, SimulationSettings, UpdateRule,
};
pub use market::{Costs, CustomerCost, Direction, Market, DRAW_CHUNK, MAX_DRAWN};
pub use problem::equilibrium_problem;
pub use report::{
    customers_csv_header, solve_report, write_customers_csv, CertificateReport, CheapCustomer,
    ColumnSummary, CustomerRow, EfficiencyReport, EquilibriumReport, NashReport, NoNashEquilibrium,
    PopulationSummary, ReportOptions, SolveReport, CHEAPEST, GAIN_TOLERANCE, LIST_LIMIT,
    REVENUE_LIMIT,
};
pub use scenario::{
    BiddingScenario, CostSpec, CustomerSpec, PenaltySpec, PopulationSpec, RuleName, SimulationPlan,
    SimulationSpec, BASE_BYTES, BYTES_PER_CUSTOMER, SOLVE_BYTES_PER_CUSTOMER,
};
pub use simulation_report::{
    equilibrium_name, update_name, RunReport, SimulatedRun, SimulationReport, SimulationRuns,
    UndefinedRun,
};
pub use study_report::{
    BidPanel, ConvergenceCaseReport, ConvergenceStudyReport, OscillationReport, StudyRunReport,
    SweepRowReport, SweepStudyReport, CONVERGED_PRICE_TOLERANCE, PANEL_CUSTOMERS, PANEL_ROUNDS,
    STUDY_CHECK_TOLERANCE,
};

/// The kernel types a user of this crate needs (custom costs for [`Market::general`],
/// allocator settings for the `_with` solvers, certificates, the input-error vocabulary),
/// so that no direct `dr-convex` dependency is needed.
pub use dr_convex::{
    AllocatorSettings, Certificate, Claim, ClosureConvex, ConvexScalar, InputError, Status,
};
