//! Cross-checks of every equilibrium against the LP reference back end ([`dr_lp`]).
//!
//! This module is glue: each model's kernel problem is built **once**, by its model crate
//! (as a [`dr_convex::SeparableProblem`]; the same builder the model's own solver path uses
//! where it solves one), and each result hands back that problem with its answer as a
//! [`dr_convex::Candidate`] (e.g. [`dr_bidding::Equilibrium::cross_check_problem`]). The
//! model's own solver (the exact allocator, a closed form, or the interior-point method)
//! gives the *kernel's answer*; the LP back end solves the same problem by an outer
//! approximation with a proven interval ([`dr_lp::solve`], with a fallback back end:
//! [`dr_lp::solve_with_fallback`]); and [`dr_lp::compare()`] compares the two under
//! [`dr_lp::cross_check()`]'s proven tolerances (allocation within the quadratic-growth
//! radius, prices within the interval of optimal marginal prices, objective inside
//! `[lower, upper]`). What stays here: running the models, the model-level
//! [`Condition`]s, and shaping the [`VerifyReport`].
//!
//! | model | problem | kernel's answer |
//! |---|---|---|
//! | bidding, competitive ([`dr_bidding::equilibrium_problem`]) | `min Σ C_i(q_i)`, `Σ q = d`, `0 ≤ q ≤ q^max` (li-chen-dahleh-2015 Thm 1) | [`dr_bidding::competitive_equilibrium`]: loads, price `p̄` |
//! | bidding, Nash | `min Σ D_i(q_i)`, `Σ q = d`, `0 ≤ q ≤ min(q^max, d/2)` (Thm 3, eq. 17) | [`dr_bidding::nash_equilibrium`]: loads, price `p*` |
//! | shaping, competitive ([`dr_shaping::welfare_problem`]) | `min Σ −U_i(q_i(t), t) + Σ_t C(Q(t), t)`, `Q(t) = Σ_i q_i(t)`, `Q_i ≤ Σ_t q_i(t) ≤ Q̄_i`, `q ≥ 0` (chen-li-low-doyle-2010 Thm 6) | [`dr_shaping::competitive_equilibrium`]: loads, prices `p(t)`, `λ_i`, `λ̄_i` |
//! | shaping, strategic | the same plus `½ c_t q_i(t)²` (the potential of Thm 7, quadratic supply cost) | [`dr_shaping::strategic_equilibrium`] |
//! | Stackelberg, each class ([`dr_stackelberg::consumer_problem`]) | `min −Σ γ_j ln(ζ_j + d_j)`, `Σ p_j d_j = B`, `d ≥ 0` (alshehri-liu-chen-basar §III-A) | [`dr_stackelberg::solve_equilibrium`]'s demand, the budget multiplier of [`dr_stackelberg::best_response`] |
//! | mechanism, planner ([`dr_mechanism::planner_problem`]) | problem (3) of wei-anastasopoulos with the peak variable `w` | [`dr_mechanism::solve_planner`]: `x*`, `λ`, `μ` |
//! | mechanism, NE | the same problem | [`dr_mechanism::CentralizedMechanism::nash_equilibrium`] (Theorem 2): `y = x*`, `q = λ`, `s = μ` |
//!
//! In the Nash problem `D_i` is the Nash transform of `C_i` ([`dr_convex::NashTransform`]),
//! whose value the LP evaluates by quadrature, while the kernel's objective for quadratic
//! costs is the closed form [`dr_bidding::nash_quadratic_value`] — so the objective check
//! also compares the two.
//!
//! Prices that are not unique at the optimum — two rows over the same variables, such as
//! a fixed daily energy (`Q_i = Q̄_i`) or a binding community cap next to a binding peak
//! row — make `max_price_gap` large while the marginal prices `c = Aᵀy − Gᵀz`, which are
//! unique, agree: the check compares those ([`CheckReport::max_marginal_price_gap`]).
//!
//! The allocation tolerances come from dr-lp's quadratic-growth radius
//! `r_j = √(2 (U − L + s)/μ_j)`. For log utilities a curvature bound `μ_j` sampled over the
//! whole working box is very pessimistic, so it is refined on a window around the LP point
//! that provably contains the optimum (first check) — a tighter, still proven, tolerance
//! (details at [`dr_lp::compare()`]).
//!
//! Besides the cross-checks, model-level [`Condition`]s tie the checked pieces together:
//! for Stackelberg, the company prices must clear the market with the **LP's** demands
//! (`Σ_n count_n d̂_n = G` on free entries, up to the proven radii of those demands); for
//! the mechanism, the NE's announced prices must be the same for every user.
//!
//! # Verdicts
//! Every check, and the report, has a [`Verdict`] with its reason:
//! - **agrees** — proven: the kernel's answer lies within the LP's proven interval and
//!   tolerances (dr-lp's rules, run in the units of the data, so a deficit of `1e-12` is
//!   checked as strictly, relatively, as one of `1e12`);
//! - **disagrees** — proven: the answer lies outside a proven bound (or a [`Condition`]
//!   fails);
//! - **inconclusive** — neither: the LP back end failed (its first LP, a claim of
//!   infeasibility on a problem the model accepted), did not converge, or the problem
//!   exceeds [`VerifySettings::max_variables`]. A second opinion that could not be formed
//!   is never reported as a disagreement, nor as bad input.
//!
//! The LP back end stays an independent second opinion: it re-solves each problem by its
//! own cutting planes and never calls the kernel's allocator or multiplier search.
//!
//! Prices follow the kernel's convention (`dr_convex::ipm` module docs): the bidding
//! price is the multiplier of `Σ q = d`; a consumer's budget-row multiplier is `−λ_n`
//! (`λ_n` the marginal utility of money); the mechanism's `λ`, `μ` are inequality
//! multipliers. Variable bounds (single-entry rows of the mechanism's `A x ≤ b`) are
//! bounds, as in the kernel's formulation; their multipliers are checked through the
//! marginal-price intervals only.
//!
//! ```
//! use demand_response::bidding::Market;
//! use demand_response::verify::{verify_bidding, Verdict, VerifySettings};
//! // Four customers C_i(q) = a_i q + h_i q² shed d = 10 (li-chen-dahleh-2015).
//! let market = Market::quadratic(vec![1.0, 1.2, 1.5, 2.0], vec![0.5, 1.0, 2.0, 4.0], 10.0)?;
//! let report = verify_bidding(&market, &VerifySettings::default())?;
//! assert_eq!(report.verdict, Verdict::Agrees, "{}", report.reason);
//! assert_eq!(report.checks.len(), 2); // competitive and Nash
//! for check in &report.checks {
//!     // Each gap within its proven tolerance, the kernel objective inside [L, U].
//!     let cc = check.cross_check.as_ref().expect("the LP back end ran");
//!     assert!(cc.allocation_ratio <= 1.0 && cc.price_ratio <= 1.0);
//!     let gap = check.objective_gap; // F_K − L
//!     assert!(-cc.objective_slack <= gap && gap <= check.bound + cc.objective_slack);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use dr_bidding::{BiddingError, EquilibriumKind, Market as BiddingMarket};
use dr_convex::{Candidate, ConvexError, SeparableProblem};
pub use dr_lp::CompareSettings;
pub use dr_lp::Verdict;
use dr_lp::{compare as lp_compare, solve_with_fallback, CrossCheck, LpError, LpSolution};
pub use dr_mechanism::PlannerProblem;
use dr_mechanism::{
    CentralizedMechanism, MechanismError, MechanismSettings, MessageProfile,
    Model as MechanismModel, PlannerSettings, PlannerSolution,
};
pub use dr_shaping::WelfareProblem as ShapingProblem;
use dr_shaping::{
    Behaviour as ShapingBehaviour, Equilibrium as ShapingEquilibrium, ShapingError, ShapingModel,
};
use dr_stackelberg::{
    DemandOutput, Equilibrium as StackelbergEquilibrium, EquilibriumSettings,
    Market as StackelbergMarket, PriceBound, StackelbergError, Weights,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of the cross-checks. Every variant names the offending field.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The LP back end rejected the problem or failed before its first iterate.
    #[error("LP back end: {0}")]
    Lp(#[from] LpError),
    /// The kernel rejected a piece or a row while the problem was built.
    #[error("kernel problem: {0}")]
    Convex(#[from] ConvexError),
    /// The bidding model rejected its input or failed to solve.
    #[error(transparent)]
    Bidding(#[from] BiddingError),
    /// The Stackelberg model rejected its input or failed to solve.
    #[error(transparent)]
    Stackelberg(#[from] StackelbergError),
    /// The mechanism model rejected its input or failed to solve.
    #[error(transparent)]
    Mechanism(#[from] MechanismError),
    /// The demand-shaping model rejected its input or failed to solve.
    #[error(transparent)]
    Shaping(#[from] ShapingError),
    /// The scenario file could not be read as the model's scenario.
    #[cfg(feature = "scenario")]
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A problem too large for the LP reference back end (the `verify_*` functions and
    /// [`verify_scenario`] report it as an inconclusive [`VerifyReport`] instead).
    #[error(
        "{field}: {variables} variables exceed the LP reference back end's limit of {limit} \
         (VerifySettings::max_variables; `dr verify --set max_variables=N`)"
    )]
    TooLarge {
        /// What is too large (e.g. `customers`).
        field: String,
        /// Number of LP variables it would need.
        variables: usize,
        /// The limit.
        limit: usize,
    },
    /// A kernel answer handed to a check does not fit the model (wrong length, missing
    /// per-class demands, a non-finite entry).
    #[error("{field}: {reason}")]
    Mismatch {
        /// The offending field (e.g. `equilibrium.demand[3]`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A problem with no cross-check (the strategic shaping equilibrium with a
    /// non-quadratic supply cost, which maximises no potential).
    #[error("{model}: no LP cross-check")]
    Unavailable {
        /// The model (and case).
        model: String,
    },
}

/// Settings of the cross-checks, with defaults: the LP back end's and the comparison's
/// ([`dr_lp::CompareSettings`]) plus what the facade adds.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifySettings {
    /// The LP run (back end, tolerance), its fallback back end and the comparison
    /// ([`dr_lp::CompareSettings`]; with `check.curvature: None`, the default, the curvature
    /// bounds are sampled per problem and refined on a window around the LP point).
    pub lp: CompareSettings,
    /// Largest number of LP variables in one problem (default 20000; the LP back end is a
    /// reference, not a fast solver: 10^4 bidding customers take about 6 s and a 2001-variable
    /// mechanism about 8 s in a release build, BENCHMARKS.md).
    pub max_variables: usize,
    /// Added to every kernel price before the comparison (`0` normally): a deliberate
    /// perturbation, to see the check fail (`dr verify --set perturb_price=δ`).
    pub perturb_price: f64,
}

impl Default for VerifySettings {
    fn default() -> Self {
        Self {
            lp: CompareSettings::default(),
            max_variables: 20_000,
            perturb_price: 0.0,
        }
    }
}

/// One cross-check: one kernel answer against the LP back end on one problem.
///
/// `Serialize + Deserialize` (what `dr verify --json` writes under `checks`); numbers
/// follow [`dr_lp::number`] (see [`VerifyReport`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// What was checked (e.g. `competitive equilibrium`, `consumer class 2`).
    pub name: String,
    /// LP variables.
    pub variables: usize,
    /// Equality plus inequality rows.
    pub rows: usize,
    /// `max_j |x_K,j − x̂_j|`.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub max_allocation_gap: f64,
    /// Largest gap between kernel and LP row multipliers (prices).
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub max_price_gap: f64,
    /// Largest gap between kernel and LP marginal prices `c = Aᵀy − Gᵀz` (what the
    /// variables see; unique at the optimum even where the row multipliers are not, e.g.
    /// a binding community cap next to a binding peak row).
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub max_marginal_price_gap: f64,
    /// Kernel objective minus the proven lower bound.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub objective_gap: f64,
    /// The proven bound `upper − lower` on the optimum.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub bound: f64,
    /// Whether the kernel's answer agrees with the LP back end ([`dr_lp::cross_check()`]'s
    /// rule): `verdict == Agrees`.
    pub agrees: bool,
    /// Agrees (proven), disagrees (proven) or inconclusive (the LP back end failed or did
    /// not converge).
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// Status of the LP back end (`Solved` when its interval met the tolerance).
    pub lp_status: String,
    /// The LP solver that produced the solution (`microlp` or `clarabel`, as
    /// `Backend::Auto` chose, or the fallback after a failed run: see
    /// [`dr_lp::CompareSettings::fallback_backend`]).
    pub lp_backend: String,
    /// LPs solved.
    pub lp_iterations: usize,
    /// Tangent cuts in the last LP.
    pub cuts: usize,
    /// The full comparison (ratios to the proven tolerances, failures in words); `None`
    /// when the LP back end failed before it had an iterate (the gaps above are then NaN,
    /// *not measured*, and omitted from the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_check: Option<CrossCheck>,
}

impl CheckReport {
    /// A check the LP back end could not run: inconclusive, with the reason.
    fn lp_failed(name: &str, problem: &SeparableProblem, reason: String) -> Self {
        Self {
            name: name.into(),
            variables: problem.objective.len(),
            rows: problem.equalities.nrows() + problem.inequalities.nrows(),
            max_allocation_gap: f64::NAN,
            max_price_gap: f64::NAN,
            max_marginal_price_gap: f64::NAN,
            objective_gap: f64::NAN,
            bound: f64::NAN,
            agrees: false,
            verdict: Verdict::Inconclusive,
            reason,
            lp_status: "Failed".into(),
            lp_backend: "-".into(),
            lp_iterations: 0,
            cuts: 0,
            cross_check: None,
        }
    }
}

/// A model-level condition that ties cross-checked pieces together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Its name.
    pub name: String,
    /// What it states, in words.
    pub statement: String,
    /// The measured value.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub value: f64,
    /// The allowance it is compared with.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub tolerance: f64,
    /// Whether it holds.
    pub holds: bool,
}

/// The verification of one scenario: every cross-check and condition, and a summary.
///
/// One value, two renderings: `dr verify` prints its text from this report and `--json`
/// writes this report itself (with `file`, `failures` = [`VerifyReport::failures`] and the
/// command's `outcome`, `problems` added), so a saved result reads back
/// (`Deserialize`, unknown keys ignored) and writes the same JSON. Numbers follow
/// [`dr_lp::number`]: a NaN — a gap that was *not measured*, e.g. every gap of a report
/// stopped by a size limit — is an **omitted key** and reads back as NaN (the text prints
/// `-`); `±∞` is the string `"inf (not finite)"` / `"-inf (not finite)"` (the text prints
/// `inf`); never `null`.
///
/// ```
/// use demand_response::verify::{VerifyReport, Verdict};
/// let r = VerifyReport::inconclusive("bidding", 3, "customers", "too large".into());
/// let json = serde_json::to_value(&r)?;
/// assert!(json.get("max_allocation_gap").is_none()); // not measured: omitted
/// assert_eq!(json["verdict"], "inconclusive");
/// let back: VerifyReport = serde_json::from_value(json.clone())?;
/// assert!(back.max_allocation_gap.is_nan() && back.verdict == Verdict::Inconclusive);
/// assert_eq!(serde_json::to_value(&back)?, json);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// `bidding`, `shaping`, `stackelberg` or `mechanism`.
    pub model: String,
    /// Population size: customers (bidding, shaping), consumer classes (Stackelberg),
    /// users (mechanism).
    pub size: usize,
    /// What `size` counts.
    pub size_unit: String,
    /// Largest allocation gap over the checks.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub max_allocation_gap: f64,
    /// Largest price (row multiplier) gap over the checks.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub max_price_gap: f64,
    /// Largest marginal-price gap over the checks (see
    /// [`CheckReport::max_marginal_price_gap`]).
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub max_marginal_price_gap: f64,
    /// Largest `|objective_gap|` over the checks.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub objective_gap: f64,
    /// Largest proven bound over the checks.
    #[serde(
        with = "dr_lp::number",
        skip_serializing_if = "dr_lp::number::is_nan",
        default = "dr_lp::number::nan"
    )]
    pub bound: f64,
    /// Every check agrees and every condition holds (`verdict == Agrees`).
    pub agrees: bool,
    /// `agrees` (every check agrees, proven, and every condition holds), `disagrees` (a
    /// check disagrees, proven, or a condition fails) or `inconclusive` (otherwise: an LP
    /// back end failed, did not converge, or the problem exceeds `max_variables`).
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// The cross-checks.
    pub checks: Vec<CheckReport>,
    /// The model-level conditions.
    pub conditions: Vec<Condition>,
    /// What was not checked, and why.
    pub notes: Vec<String>,
}

impl VerifyReport {
    fn new(model: &str, size: usize, size_unit: &str) -> Self {
        Self {
            model: model.into(),
            size,
            size_unit: size_unit.into(),
            max_allocation_gap: 0.0,
            max_price_gap: 0.0,
            max_marginal_price_gap: 0.0,
            objective_gap: 0.0,
            bound: 0.0,
            agrees: false,
            verdict: Verdict::Inconclusive,
            reason: "nothing was checked".into(),
            checks: Vec::new(),
            conditions: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A report with no check: inconclusive, with the reason (e.g. a size limit).
    pub fn inconclusive(model: &str, size: usize, size_unit: &str, reason: String) -> Self {
        let mut r = Self::new(model, size, size_unit);
        r.max_allocation_gap = f64::NAN;
        r.max_price_gap = f64::NAN;
        r.max_marginal_price_gap = f64::NAN;
        r.objective_gap = f64::NAN;
        r.bound = f64::NAN;
        r.reason = reason;
        r
    }

    /// Recomputes the summary and the verdict from the checks and conditions: the gaps are
    /// the largest over the checks the LP back end ran (NaN when it ran none).
    fn summarise(mut self) -> Self {
        let ran: Vec<&CheckReport> = self
            .checks
            .iter()
            .filter(|c| c.cross_check.is_some())
            .collect();
        let worst = |f: fn(&CheckReport) -> f64| -> f64 {
            if ran.is_empty() {
                return f64::NAN;
            }
            ran.iter().map(|c| f(c)).fold(0.0, |a: f64, b| {
                if a.is_nan() || b.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            })
        };
        self.max_allocation_gap = worst(|c| c.max_allocation_gap);
        self.max_price_gap = worst(|c| c.max_price_gap);
        self.max_marginal_price_gap = worst(|c| c.max_marginal_price_gap);
        self.objective_gap = worst(|c| c.objective_gap.abs());
        self.bound = worst(|c| c.bound);
        let failures = self.failures();
        let unconfirmed = self.unconfirmed();
        (self.verdict, self.reason) = if !failures.is_empty() {
            (Verdict::Disagrees, failures.join("; "))
        } else if self.checks.is_empty() {
            (Verdict::Inconclusive, "nothing was checked".into())
        } else if !unconfirmed.is_empty() {
            (Verdict::Inconclusive, unconfirmed.join("; "))
        } else {
            (
                Verdict::Agrees,
                "every check agrees within its proven tolerances and every condition holds".into(),
            )
        };
        self.agrees = self.verdict == Verdict::Agrees;
        self
    }

    /// Every proven failure, in words: the failed rules of each check that disagrees and
    /// the conditions that do not hold (empty unless the verdict is `Disagrees`).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.checks {
            if c.verdict == Verdict::Disagrees {
                match &c.cross_check {
                    Some(cc) if !cc.failures.is_empty() => {
                        out.extend(cc.failures.iter().map(|f| format!("{}: {f}", c.name)));
                    }
                    _ => out.push(format!("{}: {}", c.name, c.reason)),
                }
            }
        }
        for c in &self.conditions {
            if !c.holds {
                out.push(format!(
                    "{}: {} = {:e} > {:e}",
                    c.name, c.statement, c.value, c.tolerance
                ));
            }
        }
        out
    }

    /// Why a check could not be confirmed: one line per inconclusive check (or the
    /// report's own reason when nothing was checked).
    pub fn unconfirmed(&self) -> Vec<String> {
        if self.checks.is_empty() {
            return vec![self.reason.clone()];
        }
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Inconclusive)
            .map(|c| format!("{}: {}", c.name, c.reason))
            .collect()
    }
}

fn check_size(field: &str, variables: usize, settings: &VerifySettings) -> Result<(), VerifyError> {
    if variables > settings.max_variables {
        return Err(VerifyError::TooLarge {
            field: field.into(),
            variables,
            limit: settings.max_variables,
        });
    }
    Ok(())
}

fn check_finite(field: impl Fn() -> String, v: &[f64]) -> Result<(), VerifyError> {
    for (j, x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(VerifyError::Mismatch {
                field: format!("{}[{j}]", field()),
                reason: format!("must be finite, got {x}"),
            });
        }
    }
    Ok(())
}

fn check_len(field: &str, got: usize, expected: usize) -> Result<(), VerifyError> {
    if got != expected {
        return Err(VerifyError::Mismatch {
            field: field.into(),
            reason: format!("has length {got}, expected {expected}"),
        });
    }
    Ok(())
}

/// Solves `problem` with the LP back end of `settings.lp.outer`, and with
/// `settings.lp.fallback_backend` when that run does not end `Solved`
/// ([`dr_lp::solve_with_fallback`]).
fn lp_solve(
    problem: &SeparableProblem,
    settings: &VerifySettings,
) -> Result<LpSolution, VerifyError> {
    Ok(solve_with_fallback(
        problem,
        &settings.lp.outer,
        settings.lp.fallback_backend,
    )?)
}

/// [`lp_solve`], with a failure of the LP back end as the reason of an inconclusive check
/// rather than an error: the problems are built from models that accepted their input, so
/// an LP back end that rejects or fails on one (a failed first LP, a claim of
/// infeasibility, a term it cannot evaluate) has not disproved the kernel's answer.
fn lp_or_reason(
    problem: &SeparableProblem,
    settings: &VerifySettings,
) -> Result<Result<LpSolution, String>, VerifyError> {
    match lp_solve(problem, settings) {
        Ok(lp) => Ok(Ok(lp)),
        Err(VerifyError::Lp(e)) => Ok(Err(format!("the LP back end failed: {e}"))),
        Err(e) => Err(e),
    }
}

/// A [`VerifyError`] that stops the LP cross-check without saying anything about the
/// kernel's answer (a size limit, a failed LP back end) becomes an inconclusive report.
#[cfg(feature = "scenario")]
fn or_inconclusive(
    result: Result<VerifyReport, VerifyError>,
    model: &str,
    size: usize,
    size_unit: &str,
) -> Result<VerifyReport, VerifyError> {
    match result {
        Err(e @ (VerifyError::TooLarge { .. } | VerifyError::Lp(_))) => Ok(
            VerifyReport::inconclusive(model, size, size_unit, e.to_string()),
        ),
        other => other,
    }
}

/// The result of [`compare`]: the report and the proven radii `r_j` around the LP point.
struct Compared {
    report: CheckReport,
    radii: Vec<f64>,
}

/// Cross-checks `kernel` against an LP solution of `problem` (prices perturbed by
/// `settings.perturb_price` first) with [`dr_lp::compare()`] (curvature bounds refined on a
/// proven window around the LP point), and shapes the [`CheckReport`].
fn compare(
    name: &str,
    problem: &SeparableProblem,
    mut kernel: Candidate,
    lp: &LpSolution,
    settings: &VerifySettings,
) -> Result<Compared, VerifyError> {
    if settings.perturb_price != 0.0 {
        for y in kernel
            .equality_multipliers
            .iter_mut()
            .chain(kernel.inequality_multipliers.iter_mut())
        {
            *y += settings.perturb_price;
        }
    }
    let compared = lp_compare(problem, &(&kernel).into(), lp, &settings.lp.check)?;
    let cc = compared.cross_check;
    let report = CheckReport {
        name: name.into(),
        variables: problem.objective.len(),
        rows: problem.equalities.nrows() + problem.inequalities.nrows(),
        max_allocation_gap: cc.max_allocation_gap,
        max_price_gap: cc.max_price_gap,
        max_marginal_price_gap: cc.max_marginal_price_gap,
        objective_gap: cc.objective_gap,
        bound: cc.bound,
        agrees: cc.agrees,
        verdict: cc.verdict,
        reason: cc.reason.clone(),
        lp_status: format!("{:?}", lp.certificate.status),
        lp_backend: lp.backend.name().into(),
        lp_iterations: lp.certificate.iterations,
        cuts: lp.cuts,
        cross_check: Some(cc),
    };
    Ok(Compared {
        report,
        radii: compared.radii,
    })
}

// ---------------------------------------------------------------------------------------
// Supply-function bidding (li-chen-dahleh-2015)
// ---------------------------------------------------------------------------------------

/// The kernel problem of a bidding equilibrium ([`dr_bidding::equilibrium_problem`]):
/// `min Σ f_i(q_i)` s.t. `Σ q_i = d`, `0 ≤ q_i ≤ u_i` with `f_i = C_i`, `u_i = q^max_i` for
/// the competitive equilibrium (li-chen-dahleh-2015 Theorem 1) and `f_i = D_i` (the Nash
/// transform, eq. 17), `u_i = min(q^max_i, d/2)` for the Nash equilibrium (Theorem 3).
///
/// # Errors
/// [`VerifyError::Bidding`] when a cost is rejected by the kernel's constructors.
pub fn bidding_problem(
    market: &BiddingMarket,
    kind: EquilibriumKind,
) -> Result<SeparableProblem, VerifyError> {
    Ok(dr_bidding::equilibrium_problem(market, kind)?)
}

/// Cross-checks a bidding equilibrium (the kernel's loads `q`, price `p`, and objective
/// `Σ C_i(q_i)` or `Σ D_i(q_i)`: [`dr_bidding::Equilibrium::cross_check_problem`]) against
/// the LP back end on [`bidding_problem`].
///
/// For quadratic costs the Nash objective is the closed form
/// [`dr_bidding::nash_quadratic_value`]; the LP evaluates `D_i` by quadrature.
///
/// # Errors
/// [`VerifyError::TooLarge`] above `settings.max_variables` customers;
/// [`VerifyError::Bidding`] when the equilibrium's loads do not fit the market or are not
/// finite; errors of the LP back end.
pub fn check_bidding(
    market: &BiddingMarket,
    eq: &dr_bidding::Equilibrium,
    settings: &VerifySettings,
) -> Result<CheckReport, VerifyError> {
    check_size("customers", market.len(), settings)?;
    let (problem, kernel) = eq.cross_check_problem(market)?;
    let name = match eq.kind {
        EquilibriumKind::Competitive => "competitive equilibrium",
        EquilibriumKind::Nash => "Nash equilibrium",
    };
    let lp = match lp_or_reason(&problem, settings)? {
        Ok(lp) => lp,
        Err(reason) => return Ok(CheckReport::lp_failed(name, &problem, reason)),
    };
    Ok(compare(name, &problem, kernel, &lp, settings)?.report)
}

/// Solves a bidding market's competitive and Nash equilibria with the model's solver and
/// cross-checks both ([`check_bidding`]). The Nash equilibrium is skipped (with a note)
/// when fewer than three customers can shed load (li-chen-dahleh-2015 Corollary 2).
///
/// # Errors
/// As [`check_bidding`], and the model's errors.
pub fn verify_bidding(
    market: &BiddingMarket,
    settings: &VerifySettings,
) -> Result<VerifyReport, VerifyError> {
    if let Err(e) = check_size("customers", market.len(), settings) {
        return Ok(VerifyReport::inconclusive(
            "bidding",
            market.len(),
            "customers",
            e.to_string(),
        ));
    }
    let mut report = VerifyReport::new("bidding", market.len(), "customers");
    let ce = dr_bidding::competitive_equilibrium(market)?;
    report.checks.push(check_bidding(market, &ce, settings)?);
    match dr_bidding::nash_equilibrium(market) {
        Ok(ne) => report.checks.push(check_bidding(market, &ne, settings)?),
        Err(e @ BiddingError::NashNeedsThreeSuppliers { .. }) => {
            report
                .notes
                .push(format!("Nash equilibrium not checked: {e}"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(report.summarise())
}

// ---------------------------------------------------------------------------------------
// Stackelberg pricing (alshehri-liu-chen-basar)
// ---------------------------------------------------------------------------------------

fn weight(w: Weights<'_>, j: usize, field: &str) -> Result<f64, VerifyError> {
    match w {
        Weights::Uniform(v) => Ok(v),
        Weights::PerEntry(v) => v.get(j).copied().ok_or_else(|| VerifyError::Mismatch {
            field: format!("{field}[{j}]"),
            reason: format!("missing: {} weights for more entries", v.len()),
        }),
    }
}

/// The kernel problem of one consumer's best response ([`dr_stackelberg::consumer_problem`],
/// alshehri-liu-chen-basar §III-A): `min −Σ_j γ_j ln(ζ_j + d_j)` s.t. `Σ_j p_j d_j = B`,
/// `d ≥ 0`, entries `j = k T + t`. Its equality multiplier is `−λ` (`λ` the marginal
/// utility of money).
///
/// # Errors
/// [`VerifyError::Stackelberg`] naming the field for non-positive prices or budget, and `γ`,
/// `ζ` out of range or of the wrong length.
pub fn consumer_problem(
    prices: &[f64],
    budget: f64,
    prefs: dr_stackelberg::Preferences<'_>,
) -> Result<SeparableProblem, VerifyError> {
    Ok(dr_stackelberg::consumer_problem(prices, budget, prefs)?)
}

/// Cross-checks a Stackelberg equilibrium with per-class demands: every consumer class's
/// demand at the equilibrium prices against the LP back end's best response
/// ([`consumer_problem`]; the kernel's budget multiplier from
/// [`dr_stackelberg::best_response`]), and the company prices by a [`Condition`]: with
/// the LP-verified demands `d̂_n`, `D̂_j = Σ_n count_n d̂_{n,j}` must clear the market
/// (`|D̂_j − G_j| ≤ Σ_n count_n r_{n,j} + κ G_j` on free entries, `D̂_j ≤ G_j + …` at
/// `p_min`, `D̂_j ≥ G_j − …` at `p_max`; `r` the proven radii, `κ` the kernel tolerance,
/// relative to `G_j` with no absolute floor).
///
/// Where a price bound binds (Remark 3) the market does not clear, and the one condition
/// says so: it is named "Remark 3 bounded equilibrium (the market does NOT clear)" and its
/// statement lists the excess demand (rationed) or unsold supply per bounded entry; it is
/// called "market clearing" only when every price is free (or a bound holds with `D̂ = G`).
///
/// Each class's problem goes to the LP in its own units (`d = σ x`, `σ = B / Σ_j p_j`,
/// prices `p σ / B`, budget 1, `ζ / σ`), so the check is the same at any scale of budgets,
/// prices and supplies; `settings.perturb_price` then acts on the scaled multiplier `B y`.
///
/// # Errors
/// [`VerifyError::Mismatch`] when the equilibrium has no per-class demand table or its
/// shape does not fit the market; [`VerifyError::TooLarge`] when a class's problem has
/// more than `settings.max_variables` entries; the model's and the LP back end's errors.
pub fn check_stackelberg(
    market: &StackelbergMarket,
    eq: &StackelbergEquilibrium,
    settings: &VerifySettings,
) -> Result<VerifyReport, VerifyError> {
    let cons = market.consumers();
    let classes = cons.len();
    let k_n = market.company_count();
    let t_n = market.periods();
    let entries = market.entries();
    check_size("companies × periods", entries, settings)?;
    check_len("equilibrium.demand (classes)", eq.demand.len(), classes)?;
    check_len("equilibrium.prices", eq.prices.len(), k_n)?;
    check_len("equilibrium.price_bound", eq.price_bound.len(), k_n)?;
    check_len("equilibrium.utility", eq.utility.len(), classes)?;
    let prices: Vec<f64> = eq.prices.concat();
    check_len("equilibrium.prices (entries)", prices.len(), entries)?;
    check_finite(|| "equilibrium.prices".into(), &prices)?;
    let bounds: Vec<PriceBound> = eq.price_bound.concat();
    check_len("equilibrium.price_bound (entries)", bounds.len(), entries)?;
    let supply = market.supply();
    check_len("market.supply", supply.len(), entries)?;

    let mut report = VerifyReport::new("stackelberg", classes, "consumer classes");
    let mut lp_aggregate = vec![0.0; entries];
    let mut allowance = vec![0.0; entries];
    for n in 0..classes {
        let field = format!("equilibrium.demand[{n}]");
        let demand: Vec<f64> = eq.demand[n].concat();
        check_len(&field, demand.len(), entries)?;
        check_finite(|| field.clone(), &demand)?;
        let prefs = cons.preferences(n).ok_or_else(|| VerifyError::Mismatch {
            field: format!("consumers[{n}]"),
            reason: "no utility parameters".into(),
        })?;
        let budget = cons.budget.get(n).copied().unwrap_or(f64::NAN);
        let count = cons.count.get(n).copied().unwrap_or(f64::NAN);
        let br = dr_stackelberg::best_response(&prices, budget, prefs)?;
        // The LP sees the class's problem in its own units (issue 11: any scale): demand
        // `d = σ x` with `σ = B / Σ_j p_j`, prices `p' = p σ / B`, budget 1, `ζ' = ζ / σ`.
        // Then `f(x) = F(σ x) + ln σ · Σ γ`, the budget multiplier is `y' = B y`, and the
        // proven radii scale back by `σ`.
        let sigma = budget / prices.iter().sum::<f64>();
        let scaled_prices: Vec<f64> = prices.iter().map(|p| p * sigma / budget).collect();
        let scaled_zeta: Vec<f64>;
        let zeta = match prefs.zeta {
            Weights::Uniform(z) => Weights::Uniform(z / sigma),
            Weights::PerEntry(v) => {
                scaled_zeta = v.iter().map(|z| z / sigma).collect();
                Weights::PerEntry(&scaled_zeta)
            }
        };
        let scaled_prefs = dr_stackelberg::Preferences {
            gamma: prefs.gamma,
            zeta,
        };
        let gamma_sum: f64 = (0..entries)
            .map(|j| weight(prefs.gamma, j, "gamma"))
            .sum::<Result<f64, _>>()?;
        let problem = consumer_problem(&scaled_prices, 1.0, scaled_prefs)?;
        let kernel = Candidate {
            x: demand.iter().map(|d| d / sigma).collect(),
            equality_multipliers: vec![-br.multiplier * budget],
            inequality_multipliers: Vec::new(),
            objective: -eq.utility[n] + sigma.ln() * gamma_sum,
        };
        let lp = lp_solve(&problem, settings)?;
        let mut compared = compare(
            &format!("consumer class {n} (budget {budget})"),
            &problem,
            kernel,
            &lp,
            settings,
        )?;
        // The proven interval back in the file's units: `F(d) = f(x) − ln σ · Σ γ`
        // (gaps and radii are differences, unchanged by the shift).
        if let Some(cc) = compared.report.cross_check.as_mut() {
            let shift = sigma.ln() * gamma_sum;
            cc.lower -= shift;
            cc.upper -= shift;
        }
        for j in 0..entries {
            lp_aggregate[j] += count * sigma * lp.x[j];
            allowance[j] += count * sigma * compared.radii[j];
        }
        report.checks.push(compared.report);
    }
    // Market clearing at the company prices with the LP-verified demands: exact on free
    // entries; at a price bound (Remark 3) only the sign condition, and the market is *not*
    // claimed to clear there (excess demand is rationed, or supply unsold).
    let kappa = settings.lp.check.kernel_tolerance;
    // (violation / G, tolerance / G, ratio) at the entry nearest its allowance, largest gap.
    let mut free = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64, 0usize);
    let mut bounded = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64, 0usize);
    let mut not_clearing: Vec<String> = Vec::new();
    for j in 0..entries {
        let g = supply[j];
        let excess = lp_aggregate[j] - g;
        let violation = match bounds[j] {
            PriceBound::AtMin => excess.max(0.0),
            PriceBound::AtMax => (-excess).max(0.0),
            PriceBound::Free => excess.abs(),
        };
        // Relative to the entry's own supply: no absolute floor.
        let tol = allowance[j] + kappa * g.abs();
        let scale = g.abs().max(f64::MIN_POSITIVE);
        let ratio = if violation == 0.0 {
            0.0
        } else {
            violation / tol
        };
        let slot = if bounds[j] == PriceBound::Free {
            &mut free
        } else {
            &mut bounded
        };
        slot.4 += 1;
        slot.3 = slot.3.max(violation / scale);
        if ratio.is_nan() || ratio > slot.2 {
            *slot = (violation / scale, tol / scale, ratio, slot.3, slot.4);
        }
        if bounds[j] != PriceBound::Free && excess.abs() > tol {
            let (k, t) = (j / t_n.max(1), j % t_n.max(1));
            if not_clearing.len() < 8 {
                not_clearing.push(format!(
                    "company {k} period {t}: D − G = {excess:.6e} ({})",
                    if excess > 0.0 {
                        "excess demand at p_max, rationed"
                    } else {
                        "unsold supply at p_min"
                    }
                ));
            } else if not_clearing.len() == 8 {
                not_clearing.push("…".into());
            }
        }
    }
    // One condition (the worst entry of either kind); its name and statement say whether the
    // market clears.
    let worst = if bounded.2 > free.2 || bounded.2.is_nan() {
        bounded
    } else {
        free
    };
    if bounded.4 == 0 {
        report.conditions.push(Condition {
            name: "market clearing".into(),
            statement: format!(
                "|Σ_n count_n d̂_n − G| / G with the LP's demands d̂ at the equilibrium prices, at \
                 the entry nearest its allowance (largest over all entries: {:.2e})",
                free.3
            ),
            value: worst.0,
            tolerance: worst.1,
            holds: worst.2 <= 1.0,
        });
    } else {
        report.conditions.push(Condition {
            name: if not_clearing.is_empty() {
                "market clearing (prices at Remark 3's bounds)".into()
            } else {
                "Remark 3 bounded equilibrium (the market does NOT clear)".into()
            },
            statement: format!(
                "with the LP's demands d̂ at the equilibrium prices: |D̂ − G| / G at the {} free \
                 prices (largest {:.2e}), the sign of D̂ − G at the {} prices at a bound (D̂ ≥ G \
                 at p_max, D̂ ≤ G at p_min; largest violation {:.2e}){}; at the entry nearest \
                 its allowance",
                free.4,
                free.3,
                bounded.4,
                bounded.3,
                if not_clearing.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; the market does NOT clear there: {}",
                        not_clearing.join("; ")
                    )
                }
            ),
            value: worst.0,
            tolerance: worst.1,
            holds: worst.2 <= 1.0,
        });
    }
    Ok(report.summarise())
}

/// Solves a Stackelberg market's equilibrium with per-class demands
/// ([`dr_stackelberg::solve_equilibrium`]) and cross-checks it ([`check_stackelberg`]).
///
/// # Errors
/// As [`check_stackelberg`], and the model's errors.
pub fn verify_stackelberg(
    market: &StackelbergMarket,
    settings: &VerifySettings,
) -> Result<VerifyReport, VerifyError> {
    check_size("companies × periods", market.entries(), settings)?;
    let eq_settings = EquilibriumSettings {
        demands: DemandOutput::PerClass,
        ..EquilibriumSettings::default()
    };
    let eq = dr_stackelberg::solve_equilibrium(market, &eq_settings)?;
    check_stackelberg(market, &eq, settings)
}

// ---------------------------------------------------------------------------------------
// Peak-demand mechanism (wei-anastasopoulos)
// ---------------------------------------------------------------------------------------

/// Builds the planner's problem (3) of wei-anastasopoulos as a [`SeparableProblem`]
/// ([`dr_mechanism::planner_problem`], without guard bounds): inequality multipliers are `λ`
/// (multi-entry rows) and `μ` (peak rows), as in [`dr_mechanism::solve_planner`].
///
/// # Errors
/// [`VerifyError::Mechanism`] when a row is rejected by the kernel.
pub fn planner_problem(model: &MechanismModel) -> Result<PlannerProblem, VerifyError> {
    Ok(dr_mechanism::planner_problem(model, false)?)
}

/// Name of the planner's check.
const PLANNER_CHECK: &str = "planner's optimum (x*, λ, μ)";
/// Name of the mechanism's NE check.
const NE_CHECK: &str = "Nash equilibrium (y = x*, q = λ, s = μ)";

fn check_planner_with(
    model: &MechanismModel,
    pp: &PlannerProblem,
    lp: &LpSolution,
    sol: &PlannerSolution,
    settings: &VerifySettings,
) -> Result<CheckReport, VerifyError> {
    check_finite(|| "planner.allocation".into(), &sol.allocation)?;
    let (_, kernel) = sol.cross_check_problem(model)?;
    Ok(compare(PLANNER_CHECK, &pp.problem, kernel, lp, settings)?.report)
}

/// Cross-checks the planner's optimum `(x*, λ, μ)` (wei-anastasopoulos problem (3)) against
/// the LP back end on [`planner_problem`].
///
/// # Errors
/// [`VerifyError::Mismatch`] when the solution does not fit the model;
/// [`VerifyError::TooLarge`] above `settings.max_variables`; the LP back end's errors.
pub fn check_planner(
    model: &MechanismModel,
    sol: &PlannerSolution,
    settings: &VerifySettings,
) -> Result<CheckReport, VerifyError> {
    check_size(
        "users × periods",
        model.users() * model.periods() + 1,
        settings,
    )?;
    let pp = planner_problem(model)?;
    match lp_or_reason(&pp.problem, settings)? {
        Ok(lp) => check_planner_with(model, &pp, &lp, sol, settings),
        Err(reason) => Ok(CheckReport::lp_failed(PLANNER_CHECK, &pp.problem, reason)),
    }
}

/// The prices announced at a message profile: the mean over users of `q^{i,l}` and `s_t^i`,
/// and the largest spread between users.
fn announced_prices(profile: &MessageProfile) -> (Vec<f64>, Vec<f64>, f64) {
    let (n, t_len, l_len) = (profile.users, profile.periods, profile.rows);
    let mut q = vec![0.0; l_len];
    let mut s = vec![0.0; t_len];
    let mut spread = 0.0_f64;
    let mut qmin = vec![f64::INFINITY; l_len];
    let mut qmax = vec![f64::NEG_INFINITY; l_len];
    let mut smin = vec![f64::INFINITY; t_len];
    let mut smax = vec![f64::NEG_INFINITY; t_len];
    for i in 0..n {
        for l in 0..l_len {
            let v = profile.q.get(i * l_len + l).copied().unwrap_or(f64::NAN);
            q[l] += v / n as f64;
            qmin[l] = qmin[l].min(v);
            qmax[l] = qmax[l].max(v);
        }
        for t in 0..t_len {
            let v = profile.s.get(i * t_len + t).copied().unwrap_or(f64::NAN);
            s[t] += v / n as f64;
            smin[t] = smin[t].min(v);
            smax[t] = smax[t].max(v);
        }
    }
    for (a, b) in qmin.iter().zip(&qmax).chain(smin.iter().zip(&smax)) {
        spread = spread.max(b - a);
    }
    (q, s, spread)
}

fn check_ne_with(
    model: &MechanismModel,
    pp: &PlannerProblem,
    lp: &LpSolution,
    profile: &MessageProfile,
    settings: &VerifySettings,
) -> Result<(CheckReport, Condition), VerifyError> {
    let (n, t_len, l_len) = (model.users(), model.periods(), model.rows());
    check_len("profile.users", profile.users, n)?;
    check_len("profile.periods", profile.periods, t_len)?;
    check_len("profile.rows", profile.rows, l_len)?;
    check_len("profile.y", profile.y.len(), n * t_len)?;
    check_len("profile.q", profile.q.len(), n * l_len)?;
    check_len("profile.s", profile.s.len(), n * t_len)?;
    check_finite(|| "profile.y".into(), &profile.y)?;
    check_finite(|| "profile.q".into(), &profile.q)?;
    check_finite(|| "profile.s".into(), &profile.s)?;
    let (q, s, spread) = announced_prices(profile);
    let kernel = pp.candidate(model, &profile.y, &q, &s);
    // Relative to the announced prices themselves (no absolute floor: prices of 1e-12
    // must agree as closely, relatively, as prices of 1).
    let scale = q.iter().chain(&s).fold(0.0_f64, |m, v| m.max(v.abs()));
    let tol = settings.lp.check.kernel_tolerance * scale;
    let condition = Condition {
        name: "NE announcements".into(),
        statement: "largest spread between users' announced prices q^{i,l}, s_t^i at the NE".into(),
        value: spread,
        tolerance: tol,
        holds: spread <= tol,
    };
    let report = compare(NE_CHECK, &pp.problem, kernel, lp, settings)?.report;
    Ok((report, condition))
}

/// Cross-checks a message profile of the centralized mechanism as a Nash equilibrium of
/// Theorem 2 (wei-anastasopoulos): its demands `y` must be the planner's optimum `x*` and
/// its announced prices (the users' mean `q`, `s`) the optimal `λ`, `μ`, against the LP back
/// end on [`planner_problem`]; the users' announcements must coincide (a [`Condition`]).
///
/// # Errors
/// As [`check_planner`].
pub fn check_mechanism_ne(
    model: &MechanismModel,
    profile: &MessageProfile,
    settings: &VerifySettings,
) -> Result<(CheckReport, Condition), VerifyError> {
    check_size(
        "users × periods",
        model.users() * model.periods() + 1,
        settings,
    )?;
    let pp = planner_problem(model)?;
    let lp = lp_solve(&pp.problem, settings)?;
    check_ne_with(model, &pp, &lp, profile, settings)
}

/// Solves the planner's problem ([`dr_mechanism::solve_planner`]) and builds the NE of
/// Theorem 2 ([`CentralizedMechanism::nash_equilibrium`]), then cross-checks both against
/// one LP solve of [`planner_problem`]. The NE is skipped (with a note) for a single user.
///
/// # Errors
/// As [`check_planner`], and the model's errors.
pub fn verify_mechanism(
    model: &MechanismModel,
    settings: &VerifySettings,
) -> Result<VerifyReport, VerifyError> {
    if let Err(e) = check_size(
        "users × periods",
        model
            .users()
            .saturating_mul(model.periods())
            .saturating_add(1),
        settings,
    ) {
        return Ok(VerifyReport::inconclusive(
            "mechanism",
            model.users(),
            "users",
            e.to_string(),
        ));
    }
    let mut report = VerifyReport::new("mechanism", model.users(), "users");
    let sol = dr_mechanism::solve_planner(model, &PlannerSettings::default())?;
    let pp = planner_problem(model)?;
    let lp = lp_or_reason(&pp.problem, settings)?;
    report.checks.push(match &lp {
        Ok(lp) => check_planner_with(model, &pp, lp, &sol, settings)?,
        Err(reason) => CheckReport::lp_failed(PLANNER_CHECK, &pp.problem, reason.clone()),
    });
    match CentralizedMechanism::new(model, MechanismSettings::default()) {
        Ok(mechanism) => {
            let ne = mechanism.nash_equilibrium(&sol)?;
            match &lp {
                Ok(lp) => {
                    let (check, condition) = check_ne_with(model, &pp, lp, &ne, settings)?;
                    report.checks.push(check);
                    report.conditions.push(condition);
                }
                Err(reason) => report.checks.push(CheckReport::lp_failed(
                    NE_CHECK,
                    &pp.problem,
                    reason.clone(),
                )),
            }
        }
        Err(e @ MechanismError::Input(dr_convex::InputError::TooFew { .. })) => {
            report
                .notes
                .push(format!("Nash equilibrium not checked: {e}"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(report.summarise())
}

// ---------------------------------------------------------------------------------------
// Demand shaping (chen-li-low-doyle-2010 §IV)
// ---------------------------------------------------------------------------------------

/// Builds the welfare problem of chen-li-low-doyle-2010 Theorem 6 (`Behaviour::Competitive`)
/// or the potential of the strategic game, Theorem 7 (`Behaviour::Strategic`, quadratic
/// supply cost only), as a [`ShapingProblem`] ([`dr_shaping::welfare_problem`]).
///
/// # Errors
/// [`VerifyError::Unavailable`] for the strategic problem with a non-quadratic supply cost
/// (no potential); the model's errors ([`VerifyError::Shaping`]) when a piece is missing or
/// a row is rejected.
pub fn shaping_problem(
    model: &ShapingModel,
    behaviour: ShapingBehaviour,
) -> Result<ShapingProblem, VerifyError> {
    unavailable(model, behaviour)?;
    Ok(dr_shaping::welfare_problem(model, behaviour)?)
}

/// The strategic equilibrium with a non-quadratic supply cost maximises no potential.
fn unavailable(model: &ShapingModel, behaviour: ShapingBehaviour) -> Result<(), VerifyError> {
    if behaviour == ShapingBehaviour::Strategic && model.supply().as_quadratic().is_none() {
        return Err(VerifyError::Unavailable {
            model: "shaping (strategic equilibrium with a non-quadratic supply cost)".into(),
        });
    }
    Ok(())
}

/// What the price columns mean for a shaping model whose identical customers are grouped
/// into weighted rows (`dr_shaping::welfare_problem`: a class of `m` customers is one row in
/// the symmetric coordinates `y = √m q`, objective `m f(y/√m)`).
pub const GROUPED_PRICES_NOTE: &str =
    "identical customers are grouped (a class of m customers is one row in the scaled \
     loads y = √m q): the period rows' multipliers are the prices p(t) themselves, but an \
     energy row's multiplier is √m λ_i and a class variable's marginal price \
     c = √m (p(t) − λ_i), so |Δp| and |Δc| on a class of m customers are √m times the \
     per-customer price differences (and |Δx| √m times the per-customer load difference)";

/// Cross-checks a demand-shaping equilibrium (loads `q`, total load `Q`, prices `p(t)`,
/// energy multipliers `λ_i`, `λ̄_i`, and the welfare — or, for strategic customers, the
/// potential) against the LP back end on [`shaping_problem`].
///
/// # Errors
/// [`VerifyError::TooLarge`] above `settings.max_variables` variables (`N·T + T`);
/// [`VerifyError::Mismatch`] when the equilibrium does not fit the model; those of
/// [`shaping_problem`] and of the LP back end.
pub fn check_shaping(
    model: &ShapingModel,
    eq: &ShapingEquilibrium,
    settings: &VerifySettings,
) -> Result<CheckReport, VerifyError> {
    let n = model.len();
    let periods = model.periods();
    check_size("customers × periods", n * periods + periods, settings)?;
    check_finite(|| "equilibrium.loads".into(), eq.loads.as_slice())?;
    unavailable(model, eq.behaviour)?;
    let (sp, kernel) = eq.cross_check_problem(model)?;
    let name = match eq.behaviour {
        ShapingBehaviour::Competitive => "competitive equilibrium (welfare optimum)",
        ShapingBehaviour::Strategic => "strategic equilibrium (potential maximiser)",
    };
    // Cut pruning (`dr_lp::OuterSettings::prune_cuts`): the welfare problem's LP points
    // settle near the optimum, so the far cuts are dropped and the LPs stop growing
    // (measured with the release `dr verify` on h080_customers.toml rescaled to 500 and
    // 2000 jittered customers × 3 periods: 6.7 s → 4.7 s and 47 s → 31 s). The interval
    // stays proven whatever cuts are kept.
    let mut pruned = settings.clone();
    pruned.lp.outer.prune_cuts = true;
    let lp = match lp_or_reason(&sp.problem, &pruned)? {
        Ok(lp) => lp,
        Err(reason) => return Ok(CheckReport::lp_failed(name, &sp.problem, reason)),
    };
    Ok(compare(name, &sp.problem, kernel, &lp, settings)?.report)
}

/// Solves a demand-shaping model's competitive equilibrium (Theorem 6, the welfare
/// optimum) and, for a quadratic supply cost, its strategic equilibrium (Theorem 7, the
/// potential's maximiser) with the model's solver, and cross-checks both
/// ([`check_shaping`]).
///
/// # Errors
/// As [`check_shaping`], and the model's errors.
pub fn verify_shaping(
    model: &ShapingModel,
    settings: &VerifySettings,
) -> Result<VerifyReport, VerifyError> {
    if let Err(e) = check_size(
        "customers × periods",
        model
            .len()
            .saturating_mul(model.periods())
            .saturating_add(model.periods()),
        settings,
    ) {
        return Ok(VerifyReport::inconclusive(
            "shaping",
            model.population(),
            "customers",
            e.to_string(),
        ));
    }
    // The size is the customers N; the LP has one block per row (identical customers grouped).
    let mut report = VerifyReport::new("shaping", model.population(), "customers");
    if model.len() != model.population() {
        report.notes.push(GROUPED_PRICES_NOTE.into());
    }
    let ce = dr_shaping::competitive_equilibrium(model)?;
    report.checks.push(check_shaping(model, &ce, settings)?);
    if model.supply().as_quadratic().is_some() {
        let ne = dr_shaping::strategic_equilibrium(model)?;
        report.checks.push(check_shaping(model, &ne, settings)?);
    } else {
        report.notes.push(
            "strategic equilibrium not checked: it maximises a potential only for a \
             quadratic supply cost (chen-li-low-doyle-2010 Theorem 7)"
                .into(),
        );
    }
    Ok(report.summarise())
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/// Reads a scenario's model and verifies it ([`verify_bidding`], [`verify_shaping`],
/// [`verify_stackelberg`], [`verify_mechanism`]).
///
/// ```
/// use demand_response::scenario::{Format, Scenario};
/// use demand_response::verify::{verify_scenario, VerifySettings};
/// let text = "model = \"bidding\"\ndeficit = 3.0\n\
///             [[customers]]\ncost = { linear = 1.0, quadratic = 0.5 }\n\
///             [[customers]]\ncost = { half_quadratic = 2.0 }\n\
///             [[customers]]\ncost = { linear = 0.5, quadratic = 1.0 }\ncapacity = 1.0\n";
/// let scenario = Scenario::from_text(text, Format::Toml)?;
/// let report = verify_scenario(&scenario, &VerifySettings::default())?;
/// assert!(report.agrees, "{:?}", report.failures());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// The scenario's parse errors (with line and column), the model's conversion errors, and
/// those of the check.
#[cfg(feature = "scenario")]
pub fn verify_scenario(
    scenario: &crate::scenario::Scenario,
    settings: &VerifySettings,
) -> Result<VerifyReport, VerifyError> {
    use crate::scenario::ModelKind;
    match scenario.model() {
        ModelKind::Bidding => {
            let file: dr_bidding::BiddingScenario = scenario.parse()?;
            verify_bidding(&file.market()?, settings)
        }
        ModelKind::Stackelberg => {
            let file: dr_stackelberg::Scenario = scenario.parse()?;
            let market = file.build()?.market;
            let classes = market.consumers().len();
            or_inconclusive(
                verify_stackelberg(&market, settings),
                "stackelberg",
                classes,
                "consumer classes",
            )
        }
        ModelKind::Mechanism => {
            let file: dr_mechanism::Scenario = scenario.parse()?;
            verify_mechanism(&file.to_model()?.model, settings)
        }
        ModelKind::Shaping => {
            let file: dr_shaping::ShapingScenario = scenario.parse()?;
            verify_shaping(&file.to_model()?, settings)
        }
    }
}
