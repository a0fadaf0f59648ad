//! The one error type of `dr-bidding`: bad input, named by field and value, in the
//! workspace's vocabulary ([`InputError`]), and the model's own failures.
//!
//! Bad input (NaN or infinite data, negative curvature, an empty population, a zero
//! deficit, capacities that cannot cover the deficit, bids that sum to zero, a Nash
//! equilibrium asked of fewer than three customers) is a [`BiddingError`]. An iterative run
//! that does not converge is *not* an error: it ends with a [`crate::Termination`].

use dr_convex::InputError;
use thiserror::Error;

/// Input errors of supply-function bidding. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum BiddingError {
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
    /// Bad input, named by field and value (the workspace's one vocabulary).
    #[error(transparent)]
    Input(#[from] InputError),
}

impl BiddingError {
    /// The name of the field this error is about.
    pub fn field(&self) -> String {
        match self {
            BiddingError::ZeroTotalBid { field }
            | BiddingError::NashNeedsThreeSuppliers { field, .. }
            | BiddingError::Infeasible { field, .. }
            | BiddingError::NashCapacity { field, .. }
            | BiddingError::NotConvex { field, .. }
            | BiddingError::NonPositivePrice { field, .. } => field.clone(),
            BiddingError::Input(e) => e.field().to_string(),
        }
    }

    /// Prefixes the field name (e.g. `customers[3].` + `cost.quadratic`).
    pub(crate) fn prefixed(mut self, prefix: &str) -> BiddingError {
        if let BiddingError::Input(e) = self {
            return BiddingError::Input(e.prefixed(prefix));
        }
        match &mut self {
            BiddingError::Infeasible { field, .. } | BiddingError::NashCapacity { field, .. } => {
                *field = format!("{prefix}{field}");
            }
            _ => {}
        }
        self
    }
}
