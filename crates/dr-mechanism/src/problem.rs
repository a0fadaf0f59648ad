//! The planner's problem (3) of wei-anastasopoulos as a kernel [`SeparableProblem`], built
//! once: the planner's interior-point solve ([`crate::solve_planner`]) runs on it, and a
//! solution hands it back with its own answer for a second opinion
//! ([`PlannerSolution::cross_check_problem`]).
//!
//! `min Σ (f_t^i(x_t^i) + p_t x_t^i) + p_0 w` over `(x, w)` (`x` indexed `i·T + t`, `w`
//! last, `f = −v`) s.t. the multi-entry rows of `A x ≤ b` (multipliers `λ^l`), the peak
//! rows `Σ_i x_t^i − w ≤ 0` (multipliers `μ_t`); rows of `A` with a single nonzero are
//! variable bounds. With the kernel's sign convention `f'(x) = −Gᵀz + ν_l − ν_u` the
//! inequality multipliers `z` are exactly `λ` and `μ`, an upper-bound multiplier `ν_u` is
//! the `λ` of its `x ≤ u` row and a lower-bound multiplier `ν_l` the `λ` of its `−x ≤ −l`
//! row.

use crate::error::MechanismError;
use crate::model::Model;
use crate::planner::PlannerSolution;
use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{Candidate, ConvexScalar, Linear, PlusLinear};
use std::sync::Arc;

/// The planner's problem (3) as a kernel problem (see the module docs), with the map from
/// its rows and bounds back to the model's rows.
#[derive(Debug, Clone)]
pub struct PlannerProblem {
    /// `min Σ (f_t^i(x_t^i) + p_t x_t^i) + p_0 w` s.t. the multi-entry rows of `A x ≤ b`,
    /// then the `T` peak rows `Σ_i x_t^i − w ≤ 0`; single-entry rows of `A` are bounds.
    pub problem: SeparableProblem,
    /// The model row of each inequality row before the peak rows.
    pub model_rows: Vec<usize>,
    /// Index of the first peak row among the inequality rows.
    pub peak_row: usize,
    /// For each variable, the model row that gives its lower bound (if any).
    pub lower_rows: Vec<Option<usize>>,
    /// For each variable, the model row that gives its upper bound (if any).
    pub upper_rows: Vec<Option<usize>>,
}

/// Builds the planner's problem (3) (see [`PlannerProblem`]).
///
/// With `guard`, a variable whose utility has a finite domain end and no bound on that side
/// gets a guard bound where its marginal utility reaches `±M`,
/// `M = 10⁶ (1 + max_t |p_t| + p_0)` (e.g. `x ≥ w/M − s` for `w ln(x + s)`). A guard
/// cannot bind at an optimum whose prices are below `M`; it is not a row of the model (no
/// entry in `lower_rows`/`upper_rows`). [`crate::solve_planner`] uses it as a retry (the
/// kernel's interior-point solver can fail on a log utility that has an upper bound but no
/// lower bound); a second opinion gets the problem without guards.
///
/// # Errors
/// [`MechanismError::Input`] when a row is rejected by the kernel.
pub fn planner_problem(model: &Model, guard: bool) -> Result<PlannerProblem, MechanismError> {
    let n = model.users();
    let t_len = model.periods();
    let nt = n * t_len;
    let nv = nt + 1;
    let mut objective: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(nv);
    for i in 0..n {
        for t in 0..t_len {
            objective.push(Arc::new(PlusLinear {
                f: model.disutility(i, t).clone(),
                slope: model.energy_prices()[t],
            }));
        }
    }
    objective.push(Arc::new(Linear {
        slope: model.peak_price(),
    }));
    let mut lower = vec![f64::NEG_INFINITY; nv];
    let mut upper = vec![f64::INFINITY; nv];
    let mut lower_rows: Vec<Option<usize>> = vec![None; nv];
    let mut upper_rows: Vec<Option<usize>> = vec![None; nv];
    let mut inequalities = LinearRows::new(nv);
    let mut model_rows: Vec<usize> = Vec::new();
    for l in 0..model.rows() {
        let (v, c) = model.row(l);
        let b = model.rhs()[l];
        if let ([j], [a]) = (v, c) {
            let bound = b / a;
            if *a > 0.0 {
                if bound < upper[*j] {
                    upper[*j] = bound;
                    upper_rows[*j] = Some(l);
                }
            } else if *a < 0.0 && bound > lower[*j] {
                lower[*j] = bound;
                lower_rows[*j] = Some(l);
            }
        } else {
            let entries: Vec<(usize, f64)> = v.iter().copied().zip(c.iter().copied()).collect();
            inequalities.push_row(&entries, b)?;
            model_rows.push(l);
        }
    }
    if guard {
        let scale = model
            .energy_prices()
            .iter()
            .fold(0.0_f64, |a, p| a.max(p.abs()))
            + model.peak_price();
        let big = 1e6 * (1.0 + scale);
        for j in 0..nt {
            let f = model.disutility(j / t_len, j % t_len);
            let (dlo, dhi) = f.domain();
            if dlo.is_finite() && lower[j] == f64::NEG_INFINITY {
                let g = f.inverse_derivative(-big, f64::NEG_INFINITY, f64::INFINITY);
                if g.is_finite() && g > dlo && g < upper[j] {
                    lower[j] = g;
                }
            }
            if dhi.is_finite() && upper[j] == f64::INFINITY {
                let g = f.inverse_derivative(big, f64::NEG_INFINITY, f64::INFINITY);
                if g.is_finite() && g < dhi && g > lower[j] {
                    upper[j] = g;
                }
            }
        }
    }
    let peak_row = inequalities.nrows();
    for t in 0..t_len {
        let mut entries: Vec<(usize, f64)> = (0..n).map(|i| (i * t_len + t, 1.0)).collect();
        entries.push((nt, -1.0));
        inequalities.push_row(&entries, 0.0)?;
    }
    Ok(PlannerProblem {
        problem: SeparableProblem {
            objective,
            lower,
            upper,
            equalities: LinearRows::new(nv),
            inequalities,
        },
        model_rows,
        peak_row,
        lower_rows,
        upper_rows,
    })
}

impl PlannerProblem {
    /// A point `(x, λ, μ)` of the model as a [`Candidate`] of this problem: `w` is the
    /// peak `max_t Σ_i x_t^i`, the inequality multipliers are `λ^l` of the multi-entry rows
    /// (NaN where `lambda` has no entry) then `μ`, and the objective is `−welfare(x)`
    /// (problem (3) at the peak `w`).
    pub fn candidate(&self, model: &Model, x: &[f64], lambda: &[f64], mu: &[f64]) -> Candidate {
        let peak = model
            .aggregate(x)
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max);
        let mut xk = x.to_vec();
        xk.push(peak);
        let mut z: Vec<f64> = self
            .model_rows
            .iter()
            .map(|&l| lambda.get(l).copied().unwrap_or(f64::NAN))
            .collect();
        z.extend_from_slice(mu);
        Candidate {
            x: xk,
            equality_multipliers: Vec::new(),
            inequality_multipliers: z,
            objective: -model.welfare(x),
        }
    }
}

/// The kernel's length check, in this module's argument order.
fn check_len(field: &str, got: usize, expected: usize) -> Result<(), MechanismError> {
    Ok(dr_convex::check_len(|| field.into(), expected, got)?)
}

impl PlannerSolution {
    /// The planner's problem ([`planner_problem`], without guards) and this solution's
    /// `(x*, λ, μ)` there as a [`Candidate`] ([`PlannerProblem::candidate`]), for a second
    /// opinion (e.g. `dr_lp::check_candidate`).
    ///
    /// # Errors
    /// [`MechanismError::Input`] (`LengthMismatch`) when the solution does not fit `model`; those of
    /// [`planner_problem`].
    pub fn cross_check_problem(
        &self,
        model: &Model,
    ) -> Result<(PlannerProblem, Candidate), MechanismError> {
        check_len(
            "planner.allocation",
            self.allocation.len(),
            model.users() * model.periods(),
        )?;
        check_len(
            "planner.constraint_multipliers",
            self.constraint_multipliers.len(),
            model.rows(),
        )?;
        check_len(
            "planner.peak_multipliers",
            self.peak_multipliers.len(),
            model.periods(),
        )?;
        let pp = planner_problem(model, false)?;
        let candidate = pp.candidate(
            model,
            &self.allocation,
            &self.constraint_multipliers,
            &self.peak_multipliers,
        );
        Ok((pp, candidate))
    }
}
