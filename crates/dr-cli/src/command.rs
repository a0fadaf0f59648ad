//! The `dr` command as a library call: the JSON of `dr solve|simulate|verify --json FILE`
//! for a parsed [`Scenario`], without a process (used by the Python bindings,
//! `crates/dr-python`).
//!
//! [`run`] goes through the very handlers of the command (`crates/dr-cli/src/<model>.rs`), so the
//! value is the one `dr … --json` prints — including the top-level `"outcome"` and
//! `"problems"` that `dr` adds — and the exit status the command would return is
//! [`CommandResult::exit_code`] (policy: README "Exit status"; 0 ok, 3 a claim fails or a
//! proven disagreement, 4 not converged, 5 inconclusive). Errors carry the command's
//! message, its `--json` `"kind"` and its exit status (1 bad input, 2 usage).
//!
//! ```
//! use dr_cli::command::{run, Action};
//! use demand_response::scenario::{Format, Scenario};
//! // li-chen-dahleh-2015 Theorem 1: two customers C_i(q) = a_i q + h_i q² shed d = 1.
//! // With a = (1, 1), h = (1, 1) both are active, q̄ = (½, ½), p̄ = 1 + 2·½ = 2.
//! let text = r#"
//! model = "bidding"
//! deficit = 1.0
//! [[customers]]
//! cost = { linear = 1.0, quadratic = 1.0 }
//! [[customers]]
//! cost = { linear = 1.0, quadratic = 1.0 }
//! "#;
//! let scenario = Scenario::from_text(text, Format::Toml)?;
//! let result = run(Action::Solve, &scenario, &[]).expect("solves");
//! assert_eq!(result.exit_code, 0);
//! let price = result.json["competitive"]["price"].as_f64().unwrap();
//! assert!((price - 2.0).abs() < 1e-9);
//! # Ok::<(), demand_response::scenario::ScenarioError>(())
//! ```

use crate::error::CliError;
use crate::models;
use crate::output::{self, Options, Params, RoundSink};
use demand_response::scenario::{Scenario, ScenarioError};
use serde_json::Value;
use std::ops::ControlFlow;

/// Which `dr` command to run on a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `dr solve`: the exact equilibrium with its certificate.
    Solve,
    /// `dr simulate`: the model's distributed algorithm, with the scenario's own settings.
    Simulate,
    /// `dr verify`: the LP cross-check verdict (`agrees`, `disagrees`, `inconclusive`).
    Verify,
}

/// What `dr … --json` prints on success, and the exit status it would return.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandResult {
    /// The JSON object printed by `dr … --json` (with `"outcome"` and `"problems"`).
    pub json: Value,
    /// The exit status `dr` returns for this result (0, 3, 4 or 5).
    pub exit_code: u8,
}

/// A failed command: the message `dr` prints (it names the field and the value), the
/// `"kind"` of its `--json` error object and its exit status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The one-line message (`dr`'s `--json` `"error"`).
    pub message: String,
    /// The message with an excerpt of the offending line when known (what `dr` writes to
    /// stderr).
    pub detailed: String,
    /// `dr`'s `--json` error kind: `scenario`, `model`, `bad_parameter`, `too_large`, ….
    pub kind: &'static str,
    /// The exit status `dr` returns for it (1 bad input, 2 usage, 3 failed self-check).
    pub exit_code: u8,
}

impl From<CliError> for CommandError {
    fn from(e: CliError) -> Self {
        CommandError {
            message: e.to_string(),
            detailed: e.detailed(),
            kind: e.kind(),
            exit_code: e.exit_code(),
        }
    }
}

impl From<ScenarioError> for CommandError {
    fn from(e: ScenarioError) -> Self {
        CliError::Scenario(e).into()
    }
}

/// One round of the iterative algorithm `dr simulate` runs, as handed to a
/// [`RoundObserver`] (see [`run_observed`]): the round index and the round's numbers, each
/// under the name `dr simulate --json` gives it in its `"rounds"` records.
///
/// - bidding (li-chen-dahleh-2015 eqs. 11–12, 26–27): scalars `price`, `total_bid`,
///   `supply`, `mismatch`, `relative_mismatch`;
/// - shaping, gradient scheme (chen-li-low-doyle-2010 eqs. 41–42, 48) or price Newton:
///   vectors `prices` `p^k(t)` and `total_load` `Q^k(t)`, scalar `residual` (and
///   `welfare` for the gradient scheme);
/// - stackelberg, distributed pricing (alshehri-liu-chen-basar eq. 21): vector `prices`
///   (flat, `k·T + t`, the prices the round measured), scalar `mismatch`;
/// - mechanism, the learning dynamic (wei-anastasopoulos §V): vector `allocation` (flat,
///   `i·T + t`, the allocation `ŷ(m)` after the round), scalars `max_gain`,
///   `max_relative_gain`, `infeasibility`, `price_disagreement`, `welfare`, `peak`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundReport {
    /// The algorithm, e.g. `"shaping gradient competitive"` (a scenario simulated with
    /// both behaviours reports the rounds of both runs, one after the other).
    pub algorithm: String,
    /// The round index as the algorithm's trace numbers it (0 = the start).
    pub round: usize,
    /// The round's scalar figures, by name.
    pub scalars: Vec<(&'static str, f64)>,
    /// The round's vectors, by name.
    pub vectors: Vec<(&'static str, Vec<f64>)>,
}

/// Watches the rounds of `dr simulate` (the observer of the kernel's iteration abstraction,
/// `dr_convex::Observer`): called after every round; `ControlFlow::Break(())` stops the run
/// (termination `"stopped"`).
pub type RoundObserver = Box<dyn FnMut(&RoundReport) -> ControlFlow<()> + Send>;

/// Runs `dr <action> --json` on `scenario` with `--set KEY=VALUE` pairs `settings`, in
/// this process. The memory limit is the command's default (`DR_MEMORY_LIMIT` when set,
/// else ¾ of the machine's memory); no progress bars, no plots.
pub fn run(
    action: Action,
    scenario: &Scenario,
    settings: &[(String, String)],
) -> Result<CommandResult, CommandError> {
    run_with(action, scenario, settings, None)
}

/// [`run`] with `observer` watching every round of the iterative algorithm
/// (`Action::Simulate`; the other actions run no rounds). The result is the one [`run`]
/// returns unless the observer stops the run early.
///
/// ```
/// use dr_cli::command::{run_observed, Action, RoundReport};
/// use demand_response::scenario::{Format, Scenario};
/// use std::ops::ControlFlow;
/// use std::sync::{Arc, Mutex};
/// let text = r#"
/// model = "bidding"
/// deficit = 1.0
/// [[customers]]
/// cost = { linear = 1.0, quadratic = 1.0 }
/// [[customers]]
/// cost = { linear = 1.0, quadratic = 2.0 }
/// [[customers]]
/// cost = { linear = 2.0, quadratic = 1.0 }
/// "#;
/// let scenario = Scenario::from_text(text, Format::Toml)?;
/// let seen = Arc::new(Mutex::new(Vec::<RoundReport>::new()));
/// let sink = Arc::clone(&seen);
/// let observer = Box::new(move |r: &RoundReport| {
///     sink.lock().unwrap().push(r.clone());
///     ControlFlow::Continue(())
/// });
/// let result = run_observed(Action::Simulate, &scenario, &[], observer).expect("runs");
/// // A bidding scenario simulates both equilibria (li-chen-dahleh-2015 eqs. 11–12 and
/// // 26–27); the observer saw every round both traces record.
/// let records: usize = result.json["runs"]
///     .as_array()
///     .unwrap()
///     .iter()
///     .map(|run| run["rounds"].as_array().unwrap().len())
///     .sum();
/// assert_eq!(seen.lock().unwrap().len(), records);
/// let last = seen.lock().unwrap().last().cloned().unwrap();
/// assert_eq!(last.algorithm, "bidding strategic");
/// # Ok::<(), demand_response::scenario::ScenarioError>(())
/// ```
pub fn run_observed(
    action: Action,
    scenario: &Scenario,
    settings: &[(String, String)],
    observer: RoundObserver,
) -> Result<CommandResult, CommandError> {
    run_with(action, scenario, settings, Some(observer))
}

fn run_with(
    action: Action,
    scenario: &Scenario,
    settings: &[(String, String)],
    observer: Option<RoundObserver>,
) -> Result<CommandResult, CommandError> {
    let memory_limit = output::memory_limit_from_env()?;
    let opts = Options {
        json: true,
        progress_allowed: false,
        memory_limit,
        params: Params::new(settings.to_vec()),
        rounds: RoundSink::new(observer),
        ..Options::default()
    };
    let action = match action {
        Action::Solve => models::Action::Solve,
        Action::Simulate => models::Action::Simulate,
        Action::Verify => models::Action::Verify,
    };
    let out = models::run(action, scenario, &opts)?;
    // The object `dr … --json` prints (`emit`).
    let problems = out.outcome.messages();
    let extras = output::Extras {
        plots: None,
        tables: None,
        outcome: out.outcome.verdict().name(),
        problems: &problems,
    };
    let json = out.json_value(&extras).map_err(|e| CommandError {
        message: format!("the result could not be rendered as JSON: {e}"),
        detailed: format!("the result could not be rendered as JSON: {e}"),
        kind: "internal",
        exit_code: 1,
    })?;
    Ok(CommandResult {
        json,
        exit_code: out.outcome.verdict().exit_code(),
    })
}
