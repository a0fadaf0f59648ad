//! The one error type of `dr-shaping`: bad input, named by field and value.
//!
//! Bad input (NaN or infinite data, a non-concave utility, a non-convex supply cost, an
//! empty population, inverted daily energy bounds, vectors of the wrong length, a step that
//! is not positive, a scenario with unknown or conflicting fields) is a [`ShapingError`].
//! A solve or a distributed run that does not converge is *not* an error: it ends with a
//! [`dr_convex::Status`] on its certificate or with a [`crate::Termination`].

use dr_convex::ConvexError;
use thiserror::Error;

/// Input errors of demand shaping. Every variant names the offending field (with the
/// customer and period index where there is one, e.g. `customers[3].kappa[17]`).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ShapingError {
    /// A number that must be finite was NaN or infinite.
    #[error("{field} must be finite, got {value}")]
    NotFinite {
        /// Name of the field, with its indices.
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number was outside its allowed range (e.g. a non-positive curvature: the utility
    /// would not be strictly concave).
    #[error("{field} = {value} is out of range: {requirement}")]
    OutOfRange {
        /// Name of the field, with its indices.
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
    /// A vector does not have the required length (e.g. a per-period profile whose length
    /// is not the number of periods `T`).
    #[error("{field} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Name of the field.
        field: String,
        /// Required length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The daily energy bounds `Q_i ≤ Σ_t q_i(t) ≤ Q̄_i` (chen-li-low-doyle-2010 eqs. 27–28)
    /// are inverted.
    #[error("{field}: minimum energy {lower} exceeds maximum energy {upper}")]
    InvertedBounds {
        /// Name of the field (e.g. `customers[4].max_energy`).
        field: String,
        /// The minimum daily energy `Q_i`.
        lower: f64,
        /// The maximum daily energy `Q̄_i`.
        upper: f64,
    },
    /// The operation needs a different model (e.g. the potential of the strategic game
    /// exists only for quadratic supply costs).
    #[error("{field}: {message}")]
    Unsupported {
        /// The field that makes the operation impossible.
        field: String,
        /// Why.
        message: String,
    },
    /// A scenario file is inconsistent (e.g. a quadratic-utility field on a log-utility
    /// customer, or a wrong `model` tag).
    #[error("{field}: {message}")]
    Scenario {
        /// The scenario field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A size too large to allocate (e.g. `periods = 1e9` or a class of `10¹²` customers):
    /// refused before allocating, never an abort.
    #[error("{field} = {count} is too large: about {bytes} bytes would be needed")]
    TooLarge {
        /// The field whose count is too large.
        field: String,
        /// The count.
        count: f64,
        /// The bytes the allocation would take (at least).
        bytes: u64,
    },
    /// An error of the convex kernel (its message names the field).
    #[error(transparent)]
    Convex(#[from] ConvexError),
}

impl ShapingError {
    /// Checks that `value` is finite, naming `field` otherwise.
    pub fn check_finite(field: impl Fn() -> String, value: f64) -> Result<f64, ShapingError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(ShapingError::NotFinite {
                field: field(),
                value,
            })
        }
    }

    /// Checks that `value` is finite and strictly positive.
    pub fn check_positive(field: impl Fn() -> String, value: f64) -> Result<f64, ShapingError> {
        let v = Self::check_finite(&field, value)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(ShapingError::OutOfRange {
                field: field(),
                value,
                requirement: "must be > 0",
            })
        }
    }

    /// Checks that `value` is finite and non-negative.
    pub fn check_nonnegative(field: impl Fn() -> String, value: f64) -> Result<f64, ShapingError> {
        let v = Self::check_finite(&field, value)?;
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(ShapingError::OutOfRange {
                field: field(),
                value,
                requirement: "must be >= 0",
            })
        }
    }

    /// The name of the field this error is about.
    pub fn field(&self) -> String {
        match self {
            ShapingError::NotFinite { field, .. }
            | ShapingError::OutOfRange { field, .. }
            | ShapingError::Empty { field }
            | ShapingError::LengthMismatch { field, .. }
            | ShapingError::InvertedBounds { field, .. }
            | ShapingError::Unsupported { field, .. }
            | ShapingError::Scenario { field, .. }
            | ShapingError::TooLarge { field, .. } => field.clone(),
            ShapingError::Convex(e) => match e {
                ConvexError::NotFinite { field, .. }
                | ConvexError::OutOfRange { field, .. }
                | ConvexError::Empty { field }
                | ConvexError::LengthMismatch { field, .. }
                | ConvexError::InvertedBounds { field, .. }
                | ConvexError::Infeasible { field, .. }
                | ConvexError::IndexOutOfRange { field, .. } => field.clone(),
                _ => String::new(),
            },
        }
    }

    /// Prefixes the field name (e.g. `customers[3].` + `kappa[2]`).
    pub(crate) fn prefixed(self, prefix: &str) -> ShapingError {
        self.map_field(|f| format!("{prefix}{f}"))
    }

    /// Rewrites the field name.
    pub(crate) fn map_field(self, p: impl Fn(String) -> String) -> ShapingError {
        match self {
            ShapingError::NotFinite { field, value } => ShapingError::NotFinite {
                field: p(field),
                value,
            },
            ShapingError::OutOfRange {
                field,
                value,
                requirement,
            } => ShapingError::OutOfRange {
                field: p(field),
                value,
                requirement,
            },
            ShapingError::Empty { field } => ShapingError::Empty { field: p(field) },
            ShapingError::LengthMismatch {
                field,
                expected,
                got,
            } => ShapingError::LengthMismatch {
                field: p(field),
                expected,
                got,
            },
            ShapingError::InvertedBounds {
                field,
                lower,
                upper,
            } => ShapingError::InvertedBounds {
                field: p(field),
                lower,
                upper,
            },
            ShapingError::Unsupported { field, message } => ShapingError::Unsupported {
                field: p(field),
                message,
            },
            ShapingError::Scenario { field, message } => ShapingError::Scenario {
                field: p(field),
                message,
            },
            ShapingError::TooLarge {
                field,
                count,
                bytes,
            } => ShapingError::TooLarge {
                field: p(field),
                count,
                bytes,
            },
            ShapingError::Convex(e) => ShapingError::Convex(map_convex(e, &p)),
        }
    }
}

fn map_convex(e: ConvexError, p: &impl Fn(String) -> String) -> ConvexError {
    match e {
        ConvexError::NotFinite { field, value } => ConvexError::NotFinite {
            field: p(field),
            value,
        },
        ConvexError::OutOfRange {
            field,
            value,
            requirement,
        } => ConvexError::OutOfRange {
            field: p(field),
            value,
            requirement,
        },
        ConvexError::Empty { field } => ConvexError::Empty { field: p(field) },
        ConvexError::InvertedBounds {
            field,
            index,
            lower,
            upper,
        } => ConvexError::InvertedBounds {
            field: p(field),
            index,
            lower,
            upper,
        },
        other => other,
    }
}
