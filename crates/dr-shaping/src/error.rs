//! The one error type of `dr-shaping`: bad input, named by field and value in the
//! workspace's vocabulary ([`InputError`]), and the model's own failures.
//!
//! Bad input (NaN or infinite data, a non-concave utility, a non-convex supply cost, an
//! empty population, inverted daily energy bounds, vectors of the wrong length, a step that
//! is not positive, a scenario with unknown or conflicting fields) is a [`ShapingError`].
//! A solve or a distributed run that does not converge is *not* an error: it ends with a
//! [`dr_convex::Status`] on its certificate or with a [`crate::Termination`].

use dr_convex::InputError;
use thiserror::Error;

/// Input errors of demand shaping. Every variant names the offending field (with the
/// customer and period index where there is one, e.g. `customers[3].kappa[17]`).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ShapingError {
    /// The operation needs a different model (e.g. the potential of the strategic game
    /// exists only for quadratic supply costs).
    #[error("{field}: {message}")]
    Unsupported {
        /// The field that makes the operation impossible.
        field: String,
        /// Why.
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
    /// Bad input, named by field and value (the workspace's one vocabulary).
    #[error(transparent)]
    Input(#[from] InputError),
}

impl ShapingError {
    /// The name of the field this error is about.
    pub fn field(&self) -> String {
        match self {
            ShapingError::Unsupported { field, .. } | ShapingError::TooLarge { field, .. } => {
                field.clone()
            }
            ShapingError::Input(e) => e.field().to_string(),
        }
    }

    /// Prefixes the field name (e.g. `customers[3].` + `kappa[2]`).
    pub(crate) fn prefixed(self, prefix: &str) -> ShapingError {
        self.map_field(|f| format!("{prefix}{f}"))
    }

    /// Rewrites the field name.
    pub(crate) fn map_field(self, p: impl FnOnce(String) -> String) -> ShapingError {
        match self {
            ShapingError::Unsupported { field, message } => ShapingError::Unsupported {
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
            ShapingError::Input(e) => ShapingError::Input(e.map_field(p)),
        }
    }
}
