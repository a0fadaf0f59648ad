//! # dr-mechanism — peak-demand mechanism design for energy communities
//!
//! The mechanisms of wei-anastasopoulos ("Mechanism Design for Peak Demand Management in
//! Energy Communities") as a library, on the `dr-convex` kernel:
//!
//! - `model`: users with per-period concave utilities (log, quadratic, quadratic with
//!   satiation, power `c (x + s)^α`, user-supplied),
//!   energy prices `p_t`, peak price `p_0`, and the polytope `A x ≤ b` (`b ≥ 0`) from typed
//!   builders; validated, with errors naming field and value.
//! - `planner`: the planner's problem (3) solved by the kernel's interior-point solver and
//!   polished on its active set: allocation `x*`, constraint prices `λ`, peak prices `μ`
//!   (`Σ μ_t = p_0`), welfare, a certificate, and the KKT check (4).
//! - `centralized`: messages (5), allocation (6), radial pricing, taxes (7), payoffs, the
//!   NE of Theorem 2, every user's exact best-response gain, and Lemmas 1–3 and Theorems
//!   1, 3, 4 as check functions.
//! - `network` and `distributed`: the distributed mechanism (§V) on the BFS spanning tree
//!   of a petgraph network; taxes (18), the NE of Theorem 5, Lemmas 4–5 and Corollary 1.
//! - `learning`: learning dynamics (best response, distributed price adjustment) as a
//!   stepper with a per-round trace and an explicit termination reason.
//! - `scenario`: serde scenario files; `report`: the typed reports of the `dr` command
//!   ([`SolveReport`], [`SimulationReport`], [`CommunityDemoReport`]), with every claim
//!   as a [`Claim`] and the distributed mechanism's [`MessageRouting`] (which edges of a
//!   cyclic network carry messages and why).
//!
//! ```
//! use dr_mechanism::{
//!     solve_planner, CentralizedMechanism, MechanismSettings, Model, PlannerSettings, User,
//! };
//! // Two users, two periods, a community energy cap.
//! let model = Model::builder(vec![0.1, 0.2], 0.5)
//!     .user(User::log(&[1.0, 2.0], 1.0))
//!     .user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]))
//!     .upper_bounds(0, &[3.0, 3.0])
//!     .community_total(3.0)
//!     .build()?;
//! let optimum = solve_planner(&model, &PlannerSettings::default())?;
//! assert!(optimum.certificate.holds(1e-8));
//! let mu_sum: f64 = optimum.peak_multipliers.iter().sum();
//! assert!((mu_sum - 0.5).abs() < 1e-9);              // (4f): Σ_t μ_t = p_0
//!
//! let mechanism = CentralizedMechanism::new(&model, MechanismSettings::default())?;
//! let ne = mechanism.nash_equilibrium(&optimum)?;    // Theorem 2
//! let eval = mechanism.evaluate(&ne)?;
//! assert!(eval.max_gain <= 1e-8);                    // no user gains by deviating
//! for i in 0..2 {
//!     assert!(eval.payoffs[i] >= eval.utility_at_zero[i] - 1e-9);   // Theorem 3
//! }
//! let t4 = mechanism.theorem4(&ne)?;                 // Theorem 4
//! assert!(t4.planner_surplus >= -1e-9);
//! assert!(t4.budget_imbalance.abs() < 1e-9);
//! # Ok::<(), dr_mechanism::MechanismError>(())
//! ```
//!
//! The utility families of issue 15 (each checked against the paper's Assumption 1, see
//! [`PeriodUtility`]), and the message routing of the distributed mechanism on a network
//! with a cycle: the breadth-first spanning tree carries every message, the other link
//! stays idle, with the tree path that replaces it.
//!
//! ```
//! use dr_mechanism::{solve_planner, MessageRouting, Model, Network, PlannerSettings, User};
//! let model = Model::builder(vec![0.1], 0.4)
//!     .user(User::quadratic_satiation(&[2.0], &[1.0]))  // 2x − x²/2 up to x = 2, flat after
//!     .user(User::power(&[2.0], 0.5, 1.0))               // 2 √(x + 1)
//!     .user(User::log(&[1.0], 1.0))
//!     .build()?;
//! let optimum = solve_planner(&model, &PlannerSettings::default())?;
//! // One period: it is the peak, μ = p_0, and each user demands at price 0.5 = 0.1 + 0.4.
//! assert!((optimum.allocation[0] - 1.5).abs() < 1e-8);   // 2 − 0.5
//! assert!((optimum.allocation[1] - 3.0).abs() < 1e-8);   // 0.5^{−2} − 1
//! assert!((optimum.allocation[2] - 1.0).abs() < 1e-8);   // 1/0.5 − 1
//!
//! let triangle = Network::from_edges(3, &[(0, 1), (1, 2), (2, 0)], 0)?;
//! let routing = MessageRouting::of(&triangle);
//! assert_eq!(routing.edges_used.len(), 2);                // 0–1 and 0–2
//! assert_eq!(routing.edges_idle[0].edge, (1, 2));
//! assert_eq!(routing.edges_idle[0].tree_path, vec![1, 0, 2]);
//! # Ok::<(), dr_mechanism::MechanismError>(())
//! ```

mod centralized;
mod dense;
mod distributed;
mod error;
mod game;
mod learning;
mod model;
mod network;
mod planner;
mod problem;
mod radial;
mod report;
mod scenario;
mod utility;

pub use centralized::{CentralizedMechanism, MessageProfile};
pub use distributed::{DistributedMechanism, DistributedProfile, Lemma4Report, Lemma5Report};
/// The kernel's iteration vocabulary (one termination reason, the executor, observers).
pub use dr_convex::{
    callback, Executor, Observer, Run, Step, Stepper, Termination, Trace, TraceMode,
};
pub use error::MechanismError;
pub use game::{
    GainBreakdown, Lemma2Report, Lemma3Report, MechanismSettings, ProfileEvaluation, TaxBreakdown,
    Theorem4Report,
};
pub use learning::{
    Learner, LearningGame, LearningOutcome, LearningRecord, LearningRule, LearningSettings,
};
pub use model::{Model, ModelBuilder, PeriodUtility, RowKind, Scales, User};
pub use network::{EdgeWeight, Network};
pub use planner::{check_kkt, solve_planner, KktResiduals, PlannerSettings, PlannerSolution};
pub use problem::{planner_problem, PlannerProblem};
pub use radial::{project_simplex, radial_pricing};
pub use report::{
    community_demo, run_scenario, simulate_scenario, simulate_scenario_observed, CertificateReport,
    CommunityDemoReport, ConstraintReport, DistributedReport, DynamicReport, IdleEdge,
    MechanismKind, MessageRouting, ProxyRoute, RoundsNeeded, SatiatedDemand, SimulationReport,
    SolveChecks, SolveReport, UsedEdge, CLAIM_TOLERANCE, MAX_REPORTED_PATH,
};
pub use scenario::{
    ConstraintSpec, ModelTag, NetworkSpec, PerPeriod, Scenario, ScenarioModel, ScenarioSettings,
    UserSpec, UtilitySpec,
};

/// The kernel types a user of this crate needs (settings of the kernel solvers, certificates,
/// claims, the input-error vocabulary), so that no direct `dr-convex` dependency is needed.
pub use dr_convex::{
    Certificate, Claim, ClosureConvex, ConvexScalar, InputError, IpmSettings, Status,
};

/// The graph library the message network is built on (`Network` takes and exposes its
/// types), re-exported so that its version always matches.
pub use petgraph;

impl CentralizedMechanism<'_> {
    /// The default starting profile of a learning run (zero demands, prices and proxies,
    /// peak prices `s_t^i = p_0 / T`), without importing [`LearningGame`].
    pub fn starting_profile(&self) -> MessageProfile {
        LearningGame::starting_profile(self)
    }
}

impl DistributedMechanism<'_> {
    /// The default starting profile of a learning run (zero demands, prices and proxies,
    /// peak prices `s_t^i = p_0 / T`), without importing [`LearningGame`].
    pub fn starting_profile(&self) -> DistributedProfile {
        LearningGame::starting_profile(self)
    }
}
