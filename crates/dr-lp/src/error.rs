//! The one error type of `dr-lp`: bad input (named by field and value, in the workspace's
//! vocabulary [`InputError`]), infeasible
//! constraints, and LP back-end failures before any iterate exists.
//!
//! Not reaching the requested accuracy is *not* an error: it is a
//! [`dr_convex::Status`] on the returned [`crate::LpSolution::certificate`].

use dr_convex::InputError;
use thiserror::Error;

/// Errors of the LP reference back end. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LpError {
    /// Bad input, named by field and value (the workspace's one vocabulary).
    #[error(transparent)]
    Input(#[from] InputError),
    /// An objective term returned a non-finite value or derivative inside its working box.
    #[error("{field} is not finite at x = {at}: got {value}")]
    ObjectiveNotFinite {
        /// The term and quantity, e.g. `objective[2] (value)` or `objective[2] (derivative)`.
        field: String,
        /// Index of the variable.
        index: usize,
        /// The point of evaluation.
        at: f64,
        /// What the term returned.
        value: f64,
    },
    /// The constraints admit no point (found by bound propagation or by the LP back end).
    #[error("the constraints admit no point: {reason}")]
    Infeasible {
        /// Which constraint or which back end proved it.
        reason: String,
    },
    /// The LP back end failed on the first LP, so there is no iterate to return.
    #[error("LP back end {backend} failed: {message}")]
    Backend {
        /// `clarabel` or `microlp`.
        backend: &'static str,
        /// The back end's message.
        message: String,
    },
}

impl LpError {
    /// Whether this is a failure of the LP back end on a problem it accepted (its first LP
    /// failed, or it claimed the rows infeasible), rather than bad input: a second opinion
    /// that could not be formed, which says nothing against another solver's answer
    /// ("inconclusive", not "disagrees").
    pub fn is_back_end_failure(&self) -> bool {
        matches!(self, LpError::Backend { .. } | LpError::Infeasible { .. })
    }
}
