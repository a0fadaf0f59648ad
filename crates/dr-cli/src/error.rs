//! The one error type of the `dr` command, with its exit codes.

use demand_response::scenario::{ModelKind, ScenarioError};
use thiserror::Error;

/// Everything that can make a `dr` command fail. Messages name the field and value.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// The scenario file could not be read, parsed, or has no/an unknown `model`.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario's model has no module in this build.
    #[error("model '{model}' is not available in this build")]
    ModelUnavailable {
        /// The model named by the scenario.
        model: ModelKind,
    },
    /// The model exists but does not offer this command (yet).
    #[error("`dr {command}` is not available in this build for model '{model}'")]
    CommandUnavailable {
        /// `simulate` or `verify`.
        command: &'static str,
        /// The model named by the scenario.
        model: ModelKind,
    },
    /// An output format whose cargo feature this build lacks (`--format parquet`).
    #[error(
        "--format {format} is not available in this build (build dr with the cargo feature \
         `{feature}`: cargo build --release --features dr-cli/{feature})"
    )]
    FormatUnavailable {
        /// The format asked for.
        format: &'static str,
        /// The feature that provides it.
        feature: &'static str,
    },
    /// `dr study NAME` with a name no study has.
    #[error("unknown study '{name}'; {available}")]
    UnknownStudy {
        /// The name given.
        name: String,
        /// The list of available studies, in words.
        available: String,
    },
    /// A `--set KEY=VALUE` the model does not accept, or whose value does not parse.
    #[error("--set {key}={value}: {reason}")]
    BadParameter {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The model rejected the scenario's data (its crate's error message names the
    /// field and value), or a solve failed.
    #[error("{file}: {model}: {message}")]
    #[allow(dead_code, reason = "built by the model modules (CliError::model)")]
    Model {
        /// The scenario file's name.
        file: String,
        /// The model.
        model: ModelKind,
        /// The model crate's message.
        message: String,
    },
    /// The kernel rejected an input (demo and studies).
    #[error("{context}: {source}")]
    Kernel {
        /// What was being solved.
        context: String,
        /// The kernel's error.
        source: dr_convex::ConvexError,
    },
    /// A file could not be written (plots) or stdin could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A self-check of a demo or study failed: a bug, reported rather than hidden.
    #[error("check failed: {0}")]
    CheckFailed(String),
    /// The scenario would need more memory than `--memory-limit` allows (estimated from
    /// its counts before anything is allocated).
    #[error(
        "{file}: this scenario needs about {} of memory, above the limit of {} \
         (raise it with --memory-limit SIZE or DR_MEMORY_LIMIT, e.g. --memory-limit 64GiB)",
        super::output::bytes_text(*estimate),
        super::output::bytes_text(*limit)
    )]
    TooLarge {
        /// The scenario file's name.
        file: String,
        /// The estimated peak memory, bytes.
        estimate: u64,
        /// The limit, bytes.
        limit: u64,
    },
}

impl CliError {
    /// A model crate's error on the scenario `file`.
    #[allow(dead_code, reason = "part of the model-module interface")]
    pub(crate) fn model(
        file: impl Into<String>,
        model: ModelKind,
        err: impl std::fmt::Display,
    ) -> CliError {
        CliError::Model {
            file: file.into(),
            model,
            message: err.to_string(),
        }
    }

    /// The process exit code (see [`super::output::Outcome`] for the whole policy): 2 for
    /// usage errors and things this build lacks, 1 for bad input (including a scenario over
    /// the memory limit) and failed writes, 3 for a failed self-check.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::ModelUnavailable { .. }
            | CliError::CommandUnavailable { .. }
            | CliError::FormatUnavailable { .. }
            | CliError::UnknownStudy { .. }
            | CliError::BadParameter { .. } => 2,
            CliError::CheckFailed(_) => 3,
            _ => 1,
        }
    }

    /// A short machine-readable kind, for `--json` error objects.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            CliError::Scenario(_) => "scenario",
            CliError::ModelUnavailable { .. } => "model_unavailable",
            CliError::CommandUnavailable { .. } => "command_unavailable",
            CliError::FormatUnavailable { .. } => "format_unavailable",
            CliError::UnknownStudy { .. } => "unknown_study",
            CliError::BadParameter { .. } => "bad_parameter",
            CliError::Model { .. } => "model",
            CliError::Kernel { .. } => "kernel",
            CliError::Io { .. } => "io",
            CliError::CheckFailed(_) => "check_failed",
            CliError::TooLarge { .. } => "too_large",
        }
    }

    /// The message for a terminal: with an excerpt of the offending line when known.
    pub(crate) fn detailed(&self) -> String {
        match self {
            CliError::Scenario(e) => e.detailed(),
            other => other.to_string(),
        }
    }
}
