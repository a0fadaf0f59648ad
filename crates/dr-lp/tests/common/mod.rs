//! Shared builders for the integration tests.
#![allow(dead_code)]

use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{ConvexScalar, LinearQuadraticCost};
use std::sync::Arc;

/// `C_i(q) = a_i q + h_i q²` as kernel terms.
pub fn quadratic_terms(a: &[f64], h: &[f64]) -> Vec<Arc<dyn ConvexScalar>> {
    a.iter()
        .zip(h)
        .map(|(&a, &h)| {
            Arc::new(LinearQuadraticCost::new(a, h).expect("valid cost")) as Arc<dyn ConvexScalar>
        })
        .collect()
}

/// `min Σ f_i(x_i)` s.t. `Σ x_i = total`, `lower ≤ x ≤ upper`.
pub fn single_coupling(
    objective: Vec<Arc<dyn ConvexScalar>>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    total: f64,
) -> SeparableProblem {
    let n = objective.len();
    let mut equalities = LinearRows::new(n);
    let row: Vec<(usize, f64)> = (0..n).map(|i| (i, 1.0)).collect();
    equalities.push_row(&row, total).expect("valid row");
    SeparableProblem {
        objective,
        lower,
        upper,
        equalities,
        inequalities: LinearRows::new(n),
    }
}
