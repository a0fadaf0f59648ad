//! A custom convex cost in the supply-function bidding market of li-chen-dahleh-2015, with
//! its Nash equilibrium solved by `dr-bidding` and cross-checked by the LP back end `dr-lp`
//! — from a crate that depends on those two alone (no direct `dr-convex` dependency: the
//! kernel trait [`ConvexScalar`] comes re-exported from `dr-bidding`).
//!
//! The cost is the quartic `C_i(q) = a_i q + b_i q⁴` (`a_i ≥ 0`, `b_i > 0`): convex, with
//! marginal cost `C_i'(q) = a_i + 4 b_i q³`. The Nash equilibrium minimises
//! `Σ_i D_i(q_i)` s.t. `Σ_i q_i = d`, `0 ≤ q_i ≤ d/2` (Theorem 3, `D_i` the Nash transform
//! of eq. 17); the cross-check re-solves that problem by an outer approximation with a
//! proven interval.
//!
//! ```
//! use dr_example_custom_cost::{quartic_market, nash_cross_check};
//! use dr_lp::Verdict;
//! let market = quartic_market(&[1.0, 1.5, 2.0, 3.0], &[0.5, 1.0, 0.25, 2.0], 4.0)?;
//! let (ne, check) = nash_cross_check(&market)?;
//! assert_eq!(check.cross_check.verdict, Verdict::Agrees, "{}", check.cross_check.reason);
//! assert!((ne.loads.iter().sum::<f64>() - 4.0).abs() < 1e-9);
//! # Ok::<(), dr_example_custom_cost::CustomCostError>(())
//! ```

use dr_bidding::{BiddingError, ConvexScalar, Equilibrium, Market};
use dr_lp::{CheckedCandidate, CompareSettings, LpError};
use std::fmt;
use std::sync::Arc;

/// The quartic cost `C(q) = a q + b q⁴` of one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuarticCost {
    /// Linear coefficient `a ≥ 0` (the marginal cost at zero).
    pub a: f64,
    /// Quartic coefficient `b > 0`.
    pub b: f64,
}

impl QuarticCost {
    /// Validated constructor: `a ≥ 0` and `b > 0`, both finite.
    ///
    /// # Errors
    /// [`CustomCostError::Parameter`] naming `a` or `b` and the value.
    pub fn new(a: f64, b: f64) -> Result<Self, CustomCostError> {
        if !(a.is_finite() && a >= 0.0) {
            return Err(CustomCostError::Parameter {
                field: "a".into(),
                value: a,
                requirement: "must be finite and >= 0",
            });
        }
        if !(b.is_finite() && b > 0.0) {
            return Err(CustomCostError::Parameter {
                field: "b".into(),
                value: b,
                requirement: "must be finite and > 0",
            });
        }
        Ok(Self { a, b })
    }

    /// Marginal cost `C'(q) = a + 4 b q³`.
    pub fn marginal(&self, q: f64) -> f64 {
        self.a + 4.0 * self.b * q * q * q
    }
}

impl ConvexScalar for QuarticCost {
    fn value(&self, q: f64) -> f64 {
        self.a * q + self.b * q * q * q * q
    }
    fn derivative(&self, q: f64) -> f64 {
        self.marginal(q)
    }
    fn second_derivative(&self, q: f64) -> f64 {
        12.0 * self.b * q * q
    }
}

/// A market of customers with quartic costs `a_i q + b_i q⁴` shedding the deficit `d`.
///
/// # Errors
/// [`CustomCostError::Parameter`] for a bad coefficient (named `a[i]`, `b[i]`) or
/// coefficient lists of different lengths; the market's own validation errors.
pub fn quartic_market(a: &[f64], b: &[f64], deficit: f64) -> Result<Market, CustomCostError> {
    if a.len() != b.len() {
        return Err(CustomCostError::Parameter {
            field: "b (length)".into(),
            value: b.len() as f64,
            requirement: "must have as many entries as a",
        });
    }
    let mut costs: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(a.len());
    for (i, (&ai, &bi)) in a.iter().zip(b).enumerate() {
        let c = QuarticCost::new(ai, bi).map_err(|e| e.indexed(i))?;
        costs.push(Arc::new(c));
    }
    Ok(Market::general(costs, deficit)?)
}

/// Solves the market's Nash equilibrium with `dr-bidding` and cross-checks it with
/// `dr-lp` on the same problem, handed back by the equilibrium itself.
///
/// # Errors
/// The model's errors (e.g. fewer than three suppliers) and the LP back end's.
pub fn nash_cross_check(
    market: &Market,
) -> Result<(Equilibrium, CheckedCandidate), CustomCostError> {
    let ne = dr_bidding::nash_equilibrium(market)?;
    let (problem, candidate) = ne.cross_check_problem(market)?;
    let check = dr_lp::check_candidate(&problem, &candidate, &CompareSettings::default())?;
    Ok((ne, check))
}

/// Errors of this example. Every variant names the offending field.
#[derive(Debug)]
#[non_exhaustive]
pub enum CustomCostError {
    /// A cost coefficient is out of range.
    Parameter {
        /// The coefficient (e.g. `b[2]`).
        field: String,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// The bidding model rejected the market or failed to solve it.
    Bidding(BiddingError),
    /// The LP back end failed.
    Lp(LpError),
}

impl CustomCostError {
    fn indexed(self, i: usize) -> Self {
        match self {
            CustomCostError::Parameter {
                field,
                value,
                requirement,
            } => CustomCostError::Parameter {
                field: format!("{field}[{i}]"),
                value,
                requirement,
            },
            other => other,
        }
    }
}

impl fmt::Display for CustomCostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomCostError::Parameter {
                field,
                value,
                requirement,
            } => write!(f, "{field} = {value}: {requirement}"),
            CustomCostError::Bidding(e) => write!(f, "{e}"),
            CustomCostError::Lp(e) => write!(f, "LP back end: {e}"),
        }
    }
}

impl std::error::Error for CustomCostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CustomCostError::Parameter { .. } => None,
            CustomCostError::Bidding(e) => Some(e),
            CustomCostError::Lp(e) => Some(e),
        }
    }
}

impl From<BiddingError> for CustomCostError {
    fn from(e: BiddingError) -> Self {
        CustomCostError::Bidding(e)
    }
}

impl From<LpError> for CustomCostError {
    fn from(e: LpError) -> Self {
        CustomCostError::Lp(e)
    }
}
