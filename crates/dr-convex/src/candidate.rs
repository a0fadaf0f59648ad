//! A model's claimed optimum of a [`SeparableProblem`], handed to a second opinion.

use crate::ipm::{IpmSolution, SeparableProblem};

/// A claimed optimum of a [`SeparableProblem`], in the kernel's sign convention (see the
/// [`crate::ipm`] module docs): the allocation `x`, the multipliers `y` of the equality
/// rows and `z ≥ 0` of the inequality rows, and the objective `Σ_j f_j(x_j)` the model
/// reports there.
///
/// Each model crate hands one back with the problem it was built from (e.g.
/// `dr_bidding::Equilibrium::cross_check_problem`), so that an independent solver (the LP
/// back end `dr-lp`) can check it without rebuilding the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The allocation `x` (one entry per variable).
    pub x: Vec<f64>,
    /// Multipliers `y` of the equality rows (e.g. a market price).
    pub equality_multipliers: Vec<f64>,
    /// Multipliers `z ≥ 0` of the inequality rows.
    pub inequality_multipliers: Vec<f64>,
    /// The reported objective `Σ_j f_j(x_j)`.
    pub objective: f64,
}

impl Candidate {
    /// The candidate with its objective evaluated on `problem`'s pieces, `Σ_j f_j(x_j)`
    /// (for models whose own objective value is the same sum).
    pub fn evaluated(
        problem: &SeparableProblem,
        x: Vec<f64>,
        equality_multipliers: Vec<f64>,
        inequality_multipliers: Vec<f64>,
    ) -> Self {
        let objective = problem
            .objective
            .iter()
            .zip(&x)
            .map(|(f, &v)| f.value(v))
            .sum();
        Self {
            x,
            equality_multipliers,
            inequality_multipliers,
            objective,
        }
    }
}

impl From<&IpmSolution> for Candidate {
    /// The interior-point solution's point and objective.
    fn from(s: &IpmSolution) -> Self {
        Self {
            x: s.x.clone(),
            equality_multipliers: s.equality_multipliers.clone(),
            inequality_multipliers: s.inequality_multipliers.clone(),
            objective: s.objective,
        }
    }
}
