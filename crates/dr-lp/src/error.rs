//! The one error type of `dr-lp`: bad input (named by field and value), infeasible
//! constraints, and LP back-end failures before any iterate exists.
//!
//! Not reaching the requested accuracy is *not* an error: it is a
//! [`dr_convex::Status`] on the returned [`crate::LpSolution::certificate`].

use thiserror::Error;

/// Errors of the LP reference back end. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LpError {
    /// A number that must be finite was NaN or infinite.
    #[error("{field} must be finite, got {value}")]
    NotFinite {
        /// Name of the field, with its index (e.g. `lower[2]`).
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number was outside its allowed range (e.g. a non-positive tolerance).
    #[error("{field} = {value} is out of range: {requirement}")]
    OutOfRange {
        /// Name of the field.
        field: String,
        /// The offending value.
        value: f64,
        /// What the field must satisfy.
        requirement: &'static str,
    },
    /// A vector that must be non-empty was empty.
    #[error("{field} is empty")]
    Empty {
        /// Name of the field.
        field: String,
    },
    /// Two vectors that must have the same length do not.
    #[error("{field} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Name of the field.
        field: String,
        /// Required length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The bounds of a variable are inverted, or leave no point of the domain of its
    /// objective term.
    #[error("{field}: lower {lower} > upper {upper}")]
    InvertedBounds {
        /// Which bounds (e.g. `bounds of x[3]`, or `bounds of x[3] ∩ domain of objective[3]`).
        field: String,
        /// Index of the variable.
        index: usize,
        /// Lower end.
        lower: f64,
        /// Upper end.
        upper: f64,
    },
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

    /// Checks that `value` is finite, naming `field` otherwise.
    pub(crate) fn check_finite(field: impl Fn() -> String, value: f64) -> Result<f64, LpError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(LpError::NotFinite {
                field: field(),
                value,
            })
        }
    }

    /// Checks that `value` is finite and strictly positive.
    pub(crate) fn check_positive(field: impl Fn() -> String, value: f64) -> Result<f64, LpError> {
        let v = Self::check_finite(&field, value)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(LpError::OutOfRange {
                field: field(),
                value,
                requirement: "must be > 0",
            })
        }
    }
}

impl From<dr_convex::ConvexError> for LpError {
    /// The kernel's shape errors, under the same field names.
    fn from(e: dr_convex::ConvexError) -> Self {
        use dr_convex::ConvexError as C;
        match e {
            C::NotFinite { field, value } => LpError::NotFinite { field, value },
            C::Empty { field } => LpError::Empty { field },
            C::LengthMismatch {
                field,
                expected,
                got,
            } => LpError::LengthMismatch {
                field,
                expected,
                got,
            },
            C::OutOfRange {
                field,
                value,
                requirement,
            } => LpError::OutOfRange {
                field,
                value,
                requirement,
            },
            C::InvertedBounds {
                field,
                index,
                lower,
                upper,
            } => LpError::InvertedBounds {
                field,
                index,
                lower,
                upper,
            },
            C::Infeasible { .. } => LpError::Infeasible {
                reason: e.to_string(),
            },
            C::IndexOutOfRange { field, index, size } => LpError::OutOfRange {
                field: format!("{field} (index {index}, size {size})"),
                value: index as f64,
                requirement: "must be below the number of columns",
            },
            other => LpError::OutOfRange {
                field: other.to_string(),
                value: f64::NAN,
                requirement: "must be accepted by the kernel",
            },
        }
    }
}
