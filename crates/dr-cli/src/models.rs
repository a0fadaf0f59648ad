//! The model registry: how each model plugs into `dr`.
//!
//! A model is wired by one module `src/cli/<model>.rs` that defines
//!
//! ```ignore
//! pub(crate) const COMMANDS: ModelCommands = ModelCommands {
//!     solve,                   // fn(&Scenario, &Options) -> Result<Output, CliError>
//!     simulate: Some(simulate), // or None
//!     verify: None,             // until the LP cross-check exists
//!     studies: &[],             // &'static [Study]
//!     demo: &[],                // &'static [DemoSection]
//! };
//! ```
//!
//! plus `mod <model>;` in `cli/mod.rs` and one arm in [`commands`], e.g.
//! `ModelKind::Bidding => Some(&super::bidding::COMMANDS),`. Solve, simulate, verify, the
//! study list and the demo all go through that one arm.

use super::demo::DemoSection;
use super::error::CliError;
use super::output::{Options, Output};
use super::study::Study;
use demand_response::scenario::{ModelKind, Scenario};

/// A command handler of a model: reads its typed scenario with
/// [`Scenario::parse`] (errors keep line, column and field) and returns an [`Output`].
pub(crate) type Handler = fn(&Scenario, &Options) -> Result<Output, CliError>;

/// Everything one model contributes to `dr`.
pub(crate) struct ModelCommands {
    /// `dr solve FILE`: the exact equilibrium with its certificate.
    pub solve: Handler,
    /// `dr simulate FILE`: the distributed algorithm with its trace (`None`: not offered).
    pub simulate: Option<Handler>,
    /// `dr verify FILE`: the LP cross-check (`None`: not offered).
    pub verify: Option<Handler>,
    /// The model's numerical studies (`dr study NAME`).
    pub studies: &'static [Study],
    /// The model's sections of `dr demo`.
    pub demo: &'static [DemoSection],
}

/// The commands of `model`, or `None` when this build has no module for it.
pub(crate) fn commands(model: ModelKind) -> Option<&'static ModelCommands> {
    match model {
        // One arm per wired model, e.g.:
        // ModelKind::Bidding => Some(&super::bidding::COMMANDS),
        ModelKind::Bidding => Some(&super::bidding::COMMANDS),
        ModelKind::Stackelberg => Some(&super::stackelberg::COMMANDS),
        ModelKind::Mechanism => Some(&super::mechanism::COMMANDS),
        ModelKind::Shaping => Some(&super::shaping::COMMANDS),
    }
}

/// The models wired into this build.
pub(crate) fn available() -> Vec<ModelKind> {
    ModelKind::ALL
        .into_iter()
        .filter(|&m| commands(m).is_some())
        .collect()
}

/// Which command to run on a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `dr solve`.
    Solve,
    /// `dr simulate`.
    Simulate,
    /// `dr verify`.
    Verify,
}

/// Runs `action` on `scenario` through its model's module.
pub(crate) fn run(action: Action, scenario: &Scenario, opts: &Options) -> Result<Output, CliError> {
    let model = scenario.model();
    let command = match action {
        Action::Solve => "solve",
        Action::Simulate => "simulate",
        Action::Verify => "verify",
    };
    let handler = match (commands(model), action) {
        // The LP cross-check is a separate back end: say that verify is missing, whether
        // or not the model itself is wired.
        (None, Action::Verify) => None,
        (None, _) => return Err(CliError::ModelUnavailable { model }),
        (Some(c), Action::Solve) => Some(c.solve),
        (Some(c), Action::Simulate) => c.simulate,
        (Some(c), Action::Verify) => c.verify,
    };
    let handler = handler.ok_or(CliError::CommandUnavailable { command, model })?;
    handler(scenario, opts)
}
