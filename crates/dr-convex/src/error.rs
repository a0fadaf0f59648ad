//! The one error type of `dr-convex`: bad input, named by field and value.
//!
//! Bad input (NaN, infinite data, negative curvature, empty populations, inverted or
//! infeasible bounds) is an [`ConvexError`] returned at construction or at the start of a
//! solve. Not converging is *not* an error: it is a [`crate::Status`] on the result's
//! [`crate::Certificate`].

use thiserror::Error;

/// Input errors of the convex kernel. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConvexError {
    /// A number that must be finite was NaN or infinite.
    #[error("{field} must be finite, got {value}")]
    NotFinite {
        /// Name of the field (with index where there is one, e.g. `h[3]`).
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number was outside its allowed range (e.g. negative curvature).
    #[error("{field} = {value} is out of range: {requirement}")]
    OutOfRange {
        /// Name of the field.
        field: String,
        /// The offending value.
        value: f64,
        /// What the field must satisfy, e.g. "must be > 0".
        requirement: &'static str,
    },
    /// A population or vector that must be non-empty was empty.
    #[error("{field} is empty")]
    Empty {
        /// Name of the field.
        field: String,
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
    #[error("bounds of {field}[{index}] are inverted: lower {lower} > upper {upper}")]
    InvertedBounds {
        /// Name of the bounded quantity.
        field: String,
        /// Index of the entry.
        index: usize,
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// The coupling constraint cannot be met within the bounds.
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
    /// A constraint row or column index is out of range.
    #[error("{field}: index {index} out of range (size {size})")]
    IndexOutOfRange {
        /// Name of the field.
        field: String,
        /// The offending index.
        index: usize,
        /// The size it must be below.
        size: usize,
    },
}

impl ConvexError {
    /// Checks that `value` is finite, naming `field` otherwise.
    pub fn check_finite(field: impl Fn() -> String, value: f64) -> Result<f64, ConvexError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(ConvexError::NotFinite {
                field: field(),
                value,
            })
        }
    }

    /// Checks that `value` is finite and strictly positive.
    pub fn check_positive(field: impl Fn() -> String, value: f64) -> Result<f64, ConvexError> {
        let v = Self::check_finite(&field, value)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(ConvexError::OutOfRange {
                field: field(),
                value,
                requirement: "must be > 0",
            })
        }
    }

    /// Checks that `value` is finite and non-negative.
    pub fn check_nonnegative(field: impl Fn() -> String, value: f64) -> Result<f64, ConvexError> {
        let v = Self::check_finite(&field, value)?;
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(ConvexError::OutOfRange {
                field: field(),
                value,
                requirement: "must be >= 0",
            })
        }
    }
}
