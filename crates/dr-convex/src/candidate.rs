//! A model's claimed optimum of a [`SeparableProblem`](crate::ipm::SeparableProblem), handed to a second opinion.

use crate::ipm::IpmSolution;

/// A claimed optimum of a [`SeparableProblem`](crate::ipm::SeparableProblem), in the kernel's sign convention (see the
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
