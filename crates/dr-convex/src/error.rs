//! The input-error vocabulary of `demand-response`, and the kernel's own error type.
//!
//! Every crate of the workspace rejects bad input in the same words: an [`InputError`]
//! names the offending field (as the user wrote it, with its index, e.g.
//! `customers[3].cost.quadratic`) and the offending value. The check helpers
//! ([`check_finite`], [`check_positive`], [`check_nonnegative`], [`check_len`],
//! [`check_nonempty`]) return it, and each crate's error enum wraps it as
//! `#[error(transparent)] Input(#[from] InputError)` next to that crate's own domain
//! variants (a Nash equilibrium asked of two bidders, an infeasible allocation row…).
//!
//! The kernel's own functions return it too ([`ConvexError`] is its name there): every
//! error of the kernel is bad input, including a coupling constraint that the bounds cannot
//! meet. Not converging is *not* an error: it is a [`crate::Status`] on the result's
//! [`crate::Certificate`].

use std::borrow::Cow;
use thiserror::Error;

/// Bad input, named by field and value: the one vocabulary every crate's error wraps.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum InputError {
    /// A number that must be finite was NaN or infinite.
    #[error("{field} must be finite, got {value}")]
    NotFinite {
        /// Name of the field (with index where there is one, e.g. `h[3]`).
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number was outside its allowed range (e.g. a negative curvature).
    #[error("{field} = {value} is out of range: {requirement}")]
    OutOfRange {
        /// Name of the field.
        field: String,
        /// The offending value.
        value: f64,
        /// What the field must satisfy, e.g. "must be > 0".
        requirement: Cow<'static, str>,
    },
    /// A population or vector that must be non-empty was empty.
    #[error("{field} is empty")]
    Empty {
        /// Name of the field.
        field: String,
    },
    /// Too few entries (e.g. a mechanism with fewer than two users).
    #[error("{field} has {got} entries, at least {required} required")]
    TooFew {
        /// Name of the field.
        field: String,
        /// Number given.
        got: usize,
        /// Minimum number.
        required: usize,
    },
    /// Two arrays that must have the same length do not.
    #[error("{field} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Name of the field.
        field: String,
        /// Required length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A lower bound exceeds its upper bound.
    #[error("{field}: bounds are inverted: lower {lower} > upper {upper}")]
    InvertedBounds {
        /// Name of the bounded quantity, with its index (e.g. `bounds of x[3]`).
        field: String,
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// An index (row, column, user, node) is out of range.
    #[error("{field}: index {index} out of range (size {size})")]
    IndexOutOfRange {
        /// Name of the field.
        field: String,
        /// The offending index.
        index: usize,
        /// The size it must be below.
        size: usize,
    },
    /// A coupling constraint cannot be met within the bounds (e.g. a deficit larger than
    /// the customers can shed together).
    #[error("{field} = {target} cannot be met: the bounds allow only [{min}, {max}]")]
    Infeasible {
        /// Name of the coupling quantity (e.g. `deficit`).
        field: String,
        /// The requested value.
        target: f64,
        /// Smallest reachable value.
        min: f64,
        /// Largest reachable value.
        max: f64,
    },
    /// A structurally invalid or inconsistent entry (e.g. both `customers` and
    /// `population` in a scenario, an all-zero constraint row).
    #[error("{field}: {message}")]
    Invalid {
        /// Name of the field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// `with_field!(error, f => body)`: `body` with `f` bound to the field name of any variant.
macro_rules! with_field {
    ($error:expr, $f:ident => $body:expr) => {
        match $error {
            InputError::NotFinite { field: $f, .. }
            | InputError::OutOfRange { field: $f, .. }
            | InputError::Empty { field: $f }
            | InputError::TooFew { field: $f, .. }
            | InputError::LengthMismatch { field: $f, .. }
            | InputError::InvertedBounds { field: $f, .. }
            | InputError::IndexOutOfRange { field: $f, .. }
            | InputError::Infeasible { field: $f, .. }
            | InputError::Invalid { field: $f, .. } => $body,
        }
    };
}

impl InputError {
    /// An [`InputError::OutOfRange`] with its requirement (a literal or a formatted text).
    pub fn out_of_range(
        field: impl Into<String>,
        value: f64,
        requirement: impl Into<Cow<'static, str>>,
    ) -> Self {
        InputError::OutOfRange {
            field: field.into(),
            value,
            requirement: requirement.into(),
        }
    }

    /// An [`InputError::Invalid`] entry.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The name of the field this error is about.
    pub fn field(&self) -> &str {
        with_field!(self, field => field)
    }

    /// The same error with its field name rewritten (e.g. prefixed by the customer it
    /// belongs to: `customers[3].` + `cost.quadratic`).
    pub fn map_field(mut self, rename: impl FnOnce(String) -> String) -> Self {
        let field: &mut String = with_field!(&mut self, field => field);
        *field = rename(std::mem::take(field));
        self
    }

    /// The same error with `prefix` put before its field name.
    pub fn prefixed(self, prefix: &str) -> Self {
        self.map_field(|f| format!("{prefix}{f}"))
    }
}

/// Checks that `value` is finite, naming `field` otherwise.
pub fn check_finite(field: impl FnOnce() -> String, value: f64) -> Result<f64, InputError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(InputError::NotFinite {
            field: field(),
            value,
        })
    }
}

/// Checks that `value` is finite and strictly positive.
pub fn check_positive(field: impl FnOnce() -> String, value: f64) -> Result<f64, InputError> {
    check_range(field, value, value > 0.0, "must be > 0")
}

/// Checks that `value` is finite and non-negative.
pub fn check_nonnegative(field: impl FnOnce() -> String, value: f64) -> Result<f64, InputError> {
    check_range(field, value, value >= 0.0, "must be >= 0")
}

fn check_range(
    field: impl FnOnce() -> String,
    value: f64,
    holds: bool,
    requirement: &'static str,
) -> Result<f64, InputError> {
    if !value.is_finite() {
        Err(InputError::NotFinite {
            field: field(),
            value,
        })
    } else if holds {
        Ok(value)
    } else {
        Err(InputError::out_of_range(field(), value, requirement))
    }
}

/// Checks that a vector has the `expected` length (`got` is its length).
pub fn check_len(
    field: impl FnOnce() -> String,
    expected: usize,
    got: usize,
) -> Result<(), InputError> {
    if expected == got {
        Ok(())
    } else {
        Err(InputError::LengthMismatch {
            field: field(),
            expected,
            got,
        })
    }
}

/// Checks that `index` is below `size` (a user, period, row or node index).
pub fn check_index(
    field: impl FnOnce() -> String,
    index: usize,
    size: usize,
) -> Result<usize, InputError> {
    if index < size {
        Ok(index)
    } else {
        Err(InputError::IndexOutOfRange {
            field: field(),
            index,
            size,
        })
    }
}

/// Checks that a population or vector of length `len` is not empty.
pub fn check_nonempty(field: impl FnOnce() -> String, len: usize) -> Result<(), InputError> {
    if len > 0 {
        Ok(())
    } else {
        Err(InputError::Empty { field: field() })
    }
}

/// The error of the convex kernel. Every error the kernel returns is bad input (an
/// [`InputError`]); not converging is a [`crate::Status`] on a certificate, never an error.
pub type ConvexError = InputError;
