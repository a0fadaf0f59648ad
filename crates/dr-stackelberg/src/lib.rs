//! # dr-stackelberg — multi-period multi-company Stackelberg pricing
//!
//! The demand-response game of alshehri-liu-chen-basar ("A Game-Theoretic Framework for
//! Multi-Period-Multi-Company Demand Response Management in the Smart Grid"): companies
//! (leaders) announce prices `p_k(t)`, budget-limited consumers (followers) with the log
//! utility `γ Σ ln(ζ + d)` choose demands `d_{n,k}(t) ≥ 0`.
//!
//! - `model`: the validated [`Market`] (companies with supply `G_k(t)` and price bounds;
//!   consumer classes as struct-of-arrays, optionally with eq. 28 weights).
//! - `consumer`: best responses — eq. 10 when interior, else the exact water-filling via the
//!   kernel allocator, with the case reported — the consumer KKT check, and the minimum
//!   budget of Theorem 1 (eq. 11, and its exact water-filling generalisation).
//! - `equilibrium`: equilibrium prices by eq. 14 and by faer on system (13) (they must
//!   agree), the exact equilibrium when closed-form demands turn negative or price bounds
//!   bind (Remark 3), with an [`EquilibriumCertificate`]; Theorem 2's deviation check.
//! - `allocation`: the power allocation game (Theorem 3: equal split), profits with
//!   generation costs (eq. 20), ramping and network constraints (Theorem 6), with a Nash check.
//! - `distributed`: the distributed price algorithm (eq. 21, Theorem 4) as a stepper with a
//!   per-round trace, and a faster secant rule.
//! - `asymptotics`: sweeps over `T` and `N`, the company-to-consumer ratio (§VII), and
//!   [`asymptotics_study`], the paper's asymptotic claims judged from solved markets.
//! - `general`: consumers beyond the paper's (§IX-A non-logarithmic utilities — power,
//!   satiating — and §III period-specific demand bounds, non-shiftable demand): best
//!   responses by the kernel allocator and clearing prices by Newton, certified by each
//!   consumer's KKT residuals; which of the paper's results no longer apply is listed in
//!   [`GENERAL_NOT_APPLICABLE`] and [`solve_general_equilibrium`]'s docs.
//! - [`data`], [`studies`]: the EcoGrid EU and Dutch pilot case studies (§VIII) on embedded
//!   data.
//! - `scenario`: serde scenario types for the `dr` command.
//! - `report`: the typed reports the `dr` command renders ([`SolveReport`],
//!   [`GeneralSolveReport`], [`SimulationReport`], [`CaseStudyReport`],
//!   [`PaperSettingReport`], [`PeriodsReport`], [`EcogridDemoReport`],
//!   [`AsymptoticsReport`]): `Serialize + Deserialize`, claims as [`dr_convex::Claim`].
//!
//! ## Choices and findings beyond the paper
//! - **Negative closed-form demands.** Eq. 10 and eq. 14 assume every demand is positive. With
//!   heterogeneous budgets that fails: in the EcoGrid class study (budgets 4…8 DKK, `K = 4`)
//!   the 4 DKK class's eq. 10 demand from the dearest company is negative for `T ≥ 6`. The
//!   solver then computes the exact equilibrium with water-filling consumers (`d ≥ 0`) by a
//!   projected Newton method on a concave potential (see `equilibrium`) and reports
//!   [`EquilibriumCase::WaterFilling`].
//! - **Theorem 1 with `d ≥ 0`.** [`minimum_budget`] is exact with `d ≥ 0`; it equals eq. 11
//!   whenever eq. 10's demands are non-negative. At the Dutch pilot's tariff they are not, so
//!   the studies' Dutch budget is 1.264 EUR (savings 22 %) rather than eq. 11's 1.101 EUR
//!   (32 %); both are reported.
//! - **Price bounds** (Remark 3) are solved as the box-constrained equilibrium (not by
//!   clipping eq. 14 entry by entry): a price at `p_max` has demand ≥ supply (rationing), a
//!   price at `p_min` has unsold supply. The market then does **not** clear, and
//!   [`Equilibrium::clearing`] says so ([`Clearing::clears`], the excess demand `D − G` per
//!   entry, what each class receives and pays, its unspent budget). The paper names no
//!   rationing rule; ours is [`RationingRule::Proportional`] (every consumer receives the
//!   same fraction `G/D` of its request at a capped price). Eq. 15 ("budgets are fully
//!   spent") holds only when nothing is rationed. A correctly computed bounded equilibrium
//!   is Solved: its certificate checks the sign conditions at the bounds, not clearing.
//! - **Infeasible allocation games** (a network row, ramp or generation limits that no
//!   allocation of a company's `total` can meet) are an error naming the row and company,
//!   when the kernel proves infeasibility; the kernel solves each company's sub-problem in
//!   units where its total is 1, so the game is solved alike at any scale.
//! - **Energy needs above the total supply** are [`StackelbergError::SupplyShortfall`], not
//!   a minimum budget that grows with the budget.
//! - **Eq. 21** uses the per-entry `Z_{k,t}` (equal to `Z` without eq. 28 weights) and updates
//!   all prices simultaneously each round.
//! - **Theorem 2 beyond log utilities.** With satiating or non-shiftable (fixed) demand the
//!   clearing prices are *not* a Nash equilibrium of the companies' price game: demand is
//!   inelastic, so a company gains by raising its price (one company, one period, a
//!   satiating consumer at its satiation level: doubling the price raises the revenue by a
//!   third). [`solve_general_equilibrium`] reports this as a failing claim rather than
//!   calling the clearing prices an equilibrium of the paper's game.
//! - **Allocation game rows** that couple companies (network constraints) are handled with the
//!   other companies' supplies fixed: best-response rounds give a generalised Nash equilibrium.
//!
//! ```
//! use dr_stackelberg::{solve_equilibrium, Company, ConsumerClasses, EquilibriumSettings, Market};
//! // Two companies, three periods, 100 identical consumers with budget 5 (ζ = γ = 1).
//! let market = Market::new(
//!     3,
//!     vec![Company::new(vec![40.0, 60.0, 50.0]), Company::new(vec![30.0, 30.0, 45.0])],
//!     ConsumerClasses::homogeneous(100.0, 5.0, 0.0),
//! )?;
//! let eq = solve_equilibrium(&market, &EquilibriumSettings::default())?;
//! // Every company sells its whole supply (the prices clear the market) ...
//! for k in 0..2 {
//!     for t in 0..3 {
//!         let g = market.companies()[k].supply[t];
//!         assert!((eq.aggregate_demand[k][t] - g).abs() <= 1e-9 * g);
//!     }
//! }
//! // ... and the revenues add up to the budgets (eq. 15).
//! let revenue: f64 = eq.revenues.iter().sum();
//! assert!((revenue - 500.0).abs() < 1e-9);
//! // Eq. 14 and faer's solution of system (13) agree; the certificate holds.
//! assert!(eq.certificate.checks.closed_form_vs_linear_system < 1e-12);
//! assert!(eq.certificate.certificate.holds(1e-9));
//! # Ok::<(), dr_stackelberg::StackelbergError>(())
//! ```

mod aggregate;
mod allocation;
mod asymptotics;
mod consumer;
pub mod data;
mod distributed;
mod equilibrium;
mod error;
mod general;
mod model;
mod problem;
mod report;
mod scenario;
pub mod studies;

pub use allocation::{
    AllocatingCompany, AllocationEquilibrium, AllocationGame, AllocationResponse,
    AllocationSettings, CompanyStrategy, GenerationCost, NashCheck, NetworkConstraint,
};
pub use asymptotics::{
    asymptotics_study, companies_needed, company_to_consumer_ratio, consumer_sweep, period_sweep,
    utility_limit, AsymptoticsReport, AsymptoticsSetting, ConsumerPoint, PeriodPoint, PeriodSweep,
};
pub use consumer::{
    best_response, closed_form_demand, consumer_kkt, minimum_budget, minimum_budget_closed_form,
    utility, water_fill, BestResponse, ConsumerCase, ConsumerKkt,
};
pub use distributed::{
    simulate, DistributedPricing, DistributedRun, DistributedSettings, InitialPrices, PriceUpdate,
    Round, UpdateOrder,
};
/// The kernel's iteration vocabulary (one termination reason, the executor, observers).
pub use dr_convex::{
    callback, Executor, Observer, Run, Step, Stepper, Termination, Trace, TraceMode,
};
pub use equilibrium::{
    aggregate_demand_at, equilibrium_prices, linear_system_residual, price_deviation_gain,
    prices_closed_form, prices_linear_system, solve_equilibrium, Clearing, DemandOutput,
    DeviationCheck, Equilibrium, EquilibriumCase, EquilibriumCertificate, EquilibriumChecks,
    EquilibriumSettings, LinearSolver, LinearSystemSolution, PriceBound, PriceEquilibrium,
    RationingRule, CLEARING_TOLERANCE, DENSE_NEWTON_LIMIT,
};
pub use error::{BudgetShortfall, StackelbergError};
pub use general::{
    general_best_response, general_consumer_problem, general_kkt, solve_general_equilibrium,
    GeneralClass, GeneralConsumerProblem, GeneralEquilibrium, GeneralKkt, GeneralMarket,
    GeneralResponse, GeneralSettings, UtilityFamily, GENERAL_MAX_ENTRIES,
};
pub use model::{
    entry, to_table, Company, ConsumerClasses, Market, Preferences, SpecificPreferences, Weights,
};
pub use problem::consumer_problem;
pub use report::{
    dutch_pilot_study, ecogrid_demo, ecogrid_study, max_price_error, update_name, AllocationReport,
    CaseStudyReport, CertificateReport, DistributedReport, EcogridDemoReport, EntryIndex,
    GeneralSolveReport, MarketSummary, PaperSettingReport, PeriodPointReport, PeriodsReport,
    RoundReport, RunReport, SimulationReport, SolveReport, ECOGRID_COMPANY_NAMES,
    ECOGRID_STUDY_PERIODS, ECOGRID_STUDY_UPDATES, GENERAL_NOT_APPLICABLE,
};
pub use scenario::{
    GeneralScenarioModel, Scenario, ScenarioModel, ScenarioSimulation, ScenarioSolution,
    UtilityName,
};

/// The kernel types a user of this crate needs (settings of the kernel solvers, certificates,
/// the input-error vocabulary, the claim type of the studies), so that no direct `dr-convex`
/// dependency is needed.
pub use dr_convex::{Certificate, Claim, InputError, IpmSettings, Status};
