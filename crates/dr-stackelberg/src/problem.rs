//! A consumer's best response (alshehri-liu-chen-basar §III-A) as a kernel
//! [`SeparableProblem`], built once for a second opinion: `min −Σ_j γ_j ln(ζ_j + d_j)` s.t.
//! `Σ_j p_j d_j = B`, `d ≥ 0`, entries `j = k T + t`. Its equality multiplier is `−λ`
//! (`λ` the marginal utility of money, [`crate::BestResponse::multiplier`]).
//!
//! The model's own solver ([`crate::best_response`]) solves the same problem in spend
//! shares `e_j = p_j d_j / B` with the kernel's allocator (the closed form eq. 10 when
//! interior).

use crate::consumer::{validate_preferences, validate_prices};
use crate::error::StackelbergError;
use crate::model::Preferences;
use dr_convex::check_positive;
use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{ConvexScalar, LogUtility};
use std::sync::Arc;

/// The kernel problem of one consumer's best response at `prices` with `budget` (see the
/// module docs).
///
/// ```
/// use dr_stackelberg::{best_response, consumer_problem, Preferences};
/// let prefs = Preferences::uniform(1.0, 0.5);
/// let problem = consumer_problem(&[1.0, 2.0], 3.0, prefs)?;
/// let br = best_response(&[1.0, 2.0], 3.0, prefs)?;
/// // Stationarity of the problem at the best response: f'(d_j) = −y p_j with y = −λ.
/// for (j, f) in problem.objective.iter().enumerate() {
///     let p = [1.0, 2.0][j];
///     assert!((f.derivative(br.demand[j]) + br.multiplier * p).abs() < 1e-12);
/// }
/// # Ok::<(), dr_stackelberg::StackelbergError>(())
/// ```
///
/// # Errors
/// [`StackelbergError`] naming the field for empty or non-positive prices, a non-positive
/// budget, and `γ`/`ζ` that are out of range or of the wrong length.
pub fn consumer_problem(
    prices: &[f64],
    budget: f64,
    prefs: Preferences<'_>,
) -> Result<SeparableProblem, StackelbergError> {
    validate_prices(prices)?;
    check_positive(|| "budget".into(), budget)?;
    let n = prices.len();
    validate_preferences(&prefs, n)?;
    let mut objective: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(n);
    for j in 0..n {
        let utility = LogUtility::new(prefs.gamma.get(j), prefs.zeta.get(j))
            .map_err(StackelbergError::kernel(format!("consumer utility [{j}]")))?;
        objective.push(Arc::new(utility));
    }
    let mut equalities = LinearRows::new(n);
    let entries: Vec<(usize, f64)> = prices.iter().copied().enumerate().collect();
    equalities
        .push_row(&entries, budget)
        .map_err(StackelbergError::kernel("budget"))?;
    Ok(SeparableProblem {
        objective,
        lower: vec![0.0; n],
        upper: vec![f64::INFINITY; n],
        equalities,
        inequalities: LinearRows::new(n),
    })
}
