//! The one error type of `dr-bidding`: bad input, named by field and value.
//!
//! Bad input (NaN or infinite data, negative curvature, an empty population, a zero
//! deficit, capacities that cannot cover the deficit, bids that sum to zero, a Nash
//! equilibrium asked of fewer than three customers) is a [`BiddingError`]. An iterative run
//! that does not converge is *not* an error: it ends with a [`crate::Termination`].

use dr_convex::ConvexError;
use thiserror::Error;

/// Input errors of supply-function bidding. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum BiddingError {
    /// A number that must be finite was NaN or infinite.
    #[error("{field} must be finite, got {value}")]
    NotFinite {
        /// Name of the field, with its index (e.g. `quadratic[3]`).
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number was outside its allowed range (e.g. a negative curvature).
    #[error("{field} = {value} is out of range: {requirement}")]
    OutOfRange {
        /// Name of the field, with its index.
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
    /// Two vectors that must have the same length do not.
    #[error("{field} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Name of the field.
        field: String,
        /// Required length (the number of customers).
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The bids sum to zero, so the market-clearing price `p(b) = d / Σ b_i`
    /// (li-chen-dahleh-2015 eq. 4) is undefined; the utility rejects such a profile
    /// (footnote 4).
    #[error(
        "{field} sum to 0: the clearing price d / Σ b_i (li-chen-dahleh-2015 eq. 4) is undefined"
    )]
    ZeroTotalBid {
        /// Name of the bid vector.
        field: String,
    },
    /// No Nash equilibrium exists: fewer than three customers can supply
    /// (li-chen-dahleh-2015 Corollary 2; Lemma 3 caps every load below `d/2`).
    #[error("{field}: no Nash equilibrium with {suppliers} customer(s) able to shed load; at least 3 are needed (li-chen-dahleh-2015 Corollary 2)")]
    NashNeedsThreeSuppliers {
        /// Name of the population field.
        field: String,
        /// Customers with a positive capacity.
        suppliers: usize,
    },
    /// The deficit cannot be covered within the customers' capacities (for the Nash
    /// equilibrium, within `min(capacity_i, d/2)`, Lemma 3).
    #[error("{field}: deficit {deficit} cannot be met, the customers can shed at most {max}")]
    Infeasible {
        /// Name of the limiting field (e.g. `capacity`).
        field: String,
        /// The deficit `d`.
        deficit: f64,
        /// The most the customers can shed together.
        max: f64,
    },
    /// Capacities too small for a Nash equilibrium: at a NE every load is below `d/2`
    /// (li-chen-dahleh-2015 Lemma 3), so customer `i` sheds at most `min(capacity_i, d/2)`,
    /// and these do not add up to more than the deficit.
    #[error("{field}: no Nash equilibrium: at a Nash equilibrium every load is below d/2 (li-chen-dahleh-2015 Lemma 3), so customer i sheds at most min(capacity_i, d/2); Σ_i min(capacity_i, d/2) = {max} does not exceed the deficit d = {deficit} (the competitive equilibrium only needs Σ capacity_i ≥ d)")]
    NashCapacity {
        /// Name of the limiting field (`capacity`, `customers[].capacity`, …).
        field: String,
        /// The deficit `d`.
        deficit: f64,
        /// `Σ_i min(capacity_i, d/2)`.
        max: f64,
    },
    /// A user-supplied cost is not convex: its marginal cost decreases, or its second
    /// derivative is negative (li-chen-dahleh-2015 §II assumes convex, increasing costs).
    #[error("{field}: {message}")]
    NotConvex {
        /// The sampled quantity, e.g. `costs[1].derivative(0.5)`.
        field: String,
        /// What was seen.
        message: String,
    },
    /// The equilibrium price is not positive, so bids `b_i = q_i / p` are undefined
    /// (costs must be strictly increasing, li-chen-dahleh-2015 §II).
    #[error("{field} = {value}: the equilibrium price must be > 0 for bids q_i / p to exist; costs must be strictly increasing")]
    NonPositivePrice {
        /// Which equilibrium.
        field: String,
        /// The price found.
        value: f64,
    },
    /// A scenario file is inconsistent (e.g. both `customers` and `population`).
    #[error("{field}: {message}")]
    Scenario {
        /// The scenario field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// An error of the convex kernel (its message names the field).
    #[error(transparent)]
    Convex(#[from] ConvexError),
}

impl BiddingError {
    /// Checks that `value` is finite, naming `field` otherwise.
    pub fn check_finite(field: impl Fn() -> String, value: f64) -> Result<f64, BiddingError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(BiddingError::NotFinite {
                field: field(),
                value,
            })
        }
    }

    /// Checks that `value` is finite and strictly positive.
    pub fn check_positive(field: impl Fn() -> String, value: f64) -> Result<f64, BiddingError> {
        let v = Self::check_finite(&field, value)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(BiddingError::OutOfRange {
                field: field(),
                value,
                requirement: "must be > 0",
            })
        }
    }

    /// Checks that `value` is finite and non-negative.
    pub fn check_nonnegative(field: impl Fn() -> String, value: f64) -> Result<f64, BiddingError> {
        let v = Self::check_finite(&field, value)?;
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(BiddingError::OutOfRange {
                field: field(),
                value,
                requirement: "must be >= 0",
            })
        }
    }

    /// The name of the field this error is about.
    pub fn field(&self) -> String {
        match self {
            BiddingError::NotFinite { field, .. }
            | BiddingError::OutOfRange { field, .. }
            | BiddingError::Empty { field }
            | BiddingError::LengthMismatch { field, .. }
            | BiddingError::ZeroTotalBid { field }
            | BiddingError::NashNeedsThreeSuppliers { field, .. }
            | BiddingError::Infeasible { field, .. }
            | BiddingError::NashCapacity { field, .. }
            | BiddingError::NotConvex { field, .. }
            | BiddingError::NonPositivePrice { field, .. }
            | BiddingError::Scenario { field, .. } => field.clone(),
            BiddingError::Convex(e) => convex_field(e),
        }
    }

    /// Prefixes the field name (e.g. `customers[3].` + `cost.quadratic`).
    pub(crate) fn prefixed(self, prefix: &str) -> BiddingError {
        let p = |f: String| format!("{prefix}{f}");
        match self {
            BiddingError::NotFinite { field, value } => BiddingError::NotFinite {
                field: p(field),
                value,
            },
            BiddingError::OutOfRange {
                field,
                value,
                requirement,
            } => BiddingError::OutOfRange {
                field: p(field),
                value,
                requirement,
            },
            BiddingError::Empty { field } => BiddingError::Empty { field: p(field) },
            BiddingError::LengthMismatch {
                field,
                expected,
                got,
            } => BiddingError::LengthMismatch {
                field: p(field),
                expected,
                got,
            },
            BiddingError::Infeasible {
                field,
                deficit,
                max,
            } => BiddingError::Infeasible {
                field: p(field),
                deficit,
                max,
            },
            BiddingError::NashCapacity {
                field,
                deficit,
                max,
            } => BiddingError::NashCapacity {
                field: p(field),
                deficit,
                max,
            },
            other => other,
        }
    }
}

fn convex_field(e: &ConvexError) -> String {
    match e {
        ConvexError::NotFinite { field, .. }
        | ConvexError::OutOfRange { field, .. }
        | ConvexError::Empty { field }
        | ConvexError::LengthMismatch { field, .. }
        | ConvexError::InvertedBounds { field, .. }
        | ConvexError::Infeasible { field, .. }
        | ConvexError::IndexOutOfRange { field, .. } => field.clone(),
        _ => String::new(),
    }
}
