//! Sign conventions of the LP duals.
//!
//! 1. good_lp's clarabel back end: `dual(c)` is `∂(optimal objective)/∂(rhs of c)` for
//!    minimise and maximise and for `≤`, `≥`, `=` rows, on tiny LPs whose duals are derived
//!    by hand (perturb the right-hand side, re-solve in the head).
//! 2. This crate's conversion to the kernel's convention `f'(x) = Aᵀy − Gᵀz + ν_l − ν_u`,
//!    on linear objectives (for which the outer approximation is exact), with the kernel
//!    IPM as a second witness.
#![cfg(feature = "clarabel")]

use dr_convex::ipm::{solve as ipm_solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{ConvexScalar, Linear};
use dr_lp::{solve, Backend, OuterSettings};
use good_lp::{
    clarabel, constraint, variable, variables, Constraint, DualValues, Expression, Solution,
    SolutionWithDual, SolverModel,
};
use std::sync::Arc;

/// Solves `direction objective` over `x, y ≥ 0` plus `rows`, returning `(x, y, duals)`.
fn solve_tiny(
    maximise: bool,
    objective: impl Fn(good_lp::Variable, good_lp::Variable) -> Expression,
    rows: impl Fn(good_lp::Variable, good_lp::Variable) -> Vec<Constraint>,
) -> (f64, f64, Vec<f64>) {
    let mut vars = variables!();
    let x = vars.add(variable().min(0.0));
    let y = vars.add(variable().min(0.0));
    let obj = objective(x, y);
    let mut model = if maximise {
        vars.maximise(obj)
    } else {
        vars.minimise(obj)
    }
    .using(clarabel);
    let refs: Vec<_> = rows(x, y)
        .into_iter()
        .map(|c| model.add_constraint(c))
        .collect();
    let mut sol = model.solve().expect("tiny LP is feasible and bounded");
    let (xv, yv) = (sol.value(x), sol.value(y));
    let dual = sol.compute_dual();
    let duals = refs.into_iter().map(|r| dual.dual(r)).collect();
    (xv, yv, duals)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-7
}

#[test]
fn minimise_geq_dual_is_plus_sensitivity() {
    // min x + 2y, x + y ≥ 1: x = 1; rhs 1 + δ costs δ more → dual +1.
    let (x, y, d) = solve_tiny(
        false,
        |x, y| x + 2 * y,
        |x, y| vec![constraint!(x + y >= 1)],
    );
    assert!(close(x, 1.0) && close(y, 0.0));
    assert!(close(d[0], 1.0), "{d:?}");
}

#[test]
fn minimise_leq_dual_is_minus() {
    // min x + 2y, −x − y ≤ −1 (the same set): raising the rhs relaxes it → dual −1.
    let (x, _, d) = solve_tiny(
        false,
        |x, y| x + 2 * y,
        |x, y| vec![constraint!(-x - y <= -1)],
    );
    assert!(close(x, 1.0));
    assert!(close(d[0], -1.0), "{d:?}");
}

#[test]
fn minimise_eq_dual() {
    // min x + 2y, x + y = 1 plus a slack row x ≤ 5: duals (+1, 0).
    let (x, _, d) = solve_tiny(
        false,
        |x, y| x + 2 * y,
        |x, y| vec![constraint!(x + y == 1), constraint!(x <= 5)],
    );
    assert!(close(x, 1.0));
    assert!(close(d[0], 1.0) && close(d[1], 0.0), "{d:?}");
}

#[test]
fn maximise_leq_duals() {
    // max 3x + 2y, x + y ≤ 4, x + 3y ≤ 6: optimum (4, 0) = 12; rhs 4 + δ gives 12 + 3δ,
    // the second row is slack → duals (3, 0).
    let (x, y, d) = solve_tiny(
        true,
        |x, y| 3 * x + 2 * y,
        |x, y| vec![constraint!(x + y <= 4), constraint!(x + 3 * y <= 6)],
    );
    assert!(close(x, 4.0) && close(y, 0.0));
    assert!(close(d[0], 3.0) && close(d[1], 0.0), "{d:?}");
}

#[test]
fn maximise_geq_and_eq_duals() {
    // max −x − 2y, x + y ≥ 1: value −1; rhs 1 + δ gives −1 − δ → dual −1.
    let (_, _, d) = solve_tiny(
        true,
        |x, y| -x - 2 * y,
        |x, y| vec![constraint!(x + y >= 1)],
    );
    assert!(close(d[0], -1.0), "{d:?}");
    // max −x − 2y, 2x + y = 2: x = 1, value −1; rhs 2 + δ gives x = 1 + δ/2 → dual −½.
    let (x, _, d) = solve_tiny(
        true,
        |x, y| -x - 2 * y,
        |x, y| vec![constraint!(2 * x + y == 2)],
    );
    assert!(close(x, 1.0));
    assert!(close(d[0], -0.5), "{d:?}");
}

fn linear(slopes: &[f64]) -> Vec<Arc<dyn ConvexScalar>> {
    slopes
        .iter()
        .map(|&s| Arc::new(Linear { slope: s }) as Arc<dyn ConvexScalar>)
        .collect()
}

fn both_backends() -> [OuterSettings; 2] {
    [
        OuterSettings {
            backend: Backend::Clarabel,
            ..OuterSettings::default()
        },
        OuterSettings {
            backend: Backend::Microlp,
            ..OuterSettings::default()
        },
    ]
}

#[test]
fn kernel_convention_equality_and_bounds() {
    // min x0 + 2 x1 + 3 x2, x0 + x1 + x2 = 2, 0 ≤ x ≤ (1.5, 1, 1):
    // x = (1.5, 0.5, 0), value 2.5; x1 is free, so y = f1' = 2; x0 at its upper bound:
    // ν_u0 = y − 1 = 1; x2 at its lower bound: ν_l2 = 3 − y = 1.
    let mut equalities = LinearRows::new(3);
    equalities
        .push_row(&[(0, 1.0), (1, 1.0), (2, 1.0)], 2.0)
        .unwrap();
    let problem = SeparableProblem {
        objective: linear(&[1.0, 2.0, 3.0]),
        lower: vec![0.0; 3],
        upper: vec![1.5, 1.0, 1.0],
        equalities,
        inequalities: LinearRows::new(3),
    };
    for settings in both_backends() {
        let lp = solve(&problem, &settings).unwrap();
        assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
        assert!((lp.x[0] - 1.5).abs() < 1e-7 && (lp.x[1] - 0.5).abs() < 1e-7);
        assert!((lp.equality_multipliers[0] - 2.0).abs() < 1e-6, "{lp:?}");
        assert!((lp.upper_bound_multipliers[0] - 1.0).abs() < 1e-6, "{lp:?}");
        assert!((lp.lower_bound_multipliers[2] - 1.0).abs() < 1e-6, "{lp:?}");
        assert!(lp.lower_bound_multipliers[1].abs() < 1e-6);
        assert!((lp.lower - 2.5).abs() < 1e-7 && (lp.upper - 2.5).abs() < 1e-7);
    }
}

#[test]
fn kernel_convention_inequality_is_nonnegative() {
    // min −x0 − x1, x0 + 2 x1 ≤ 4 (G row), 0 ≤ x ≤ 3: x = (3, 0.5), value −3.5.
    // x1 free: −1 = −2z ⇒ z = ½; x0 at its upper bound: −1 = −z − ν_u0 ⇒ ν_u0 = ½.
    let mut inequalities = LinearRows::new(2);
    inequalities.push_row(&[(0, 1.0), (1, 2.0)], 4.0).unwrap();
    let problem = SeparableProblem {
        objective: linear(&[-1.0, -1.0]),
        lower: vec![0.0; 2],
        upper: vec![3.0; 2],
        equalities: LinearRows::new(2),
        inequalities,
    };
    let ipm = ipm_solve(&problem, &IpmSettings::default()).unwrap();
    for settings in both_backends() {
        let lp = solve(&problem, &settings).unwrap();
        assert!((lp.x[0] - 3.0).abs() < 1e-7 && (lp.x[1] - 0.5).abs() < 1e-7);
        assert!((lp.inequality_multipliers[0] - 0.5).abs() < 1e-6, "{lp:?}");
        assert!((lp.upper_bound_multipliers[0] - 0.5).abs() < 1e-6, "{lp:?}");
        // The kernel IPM agrees on the sign (it is the convention's owner).
        assert!((ipm.inequality_multipliers[0] - lp.inequality_multipliers[0]).abs() < 1e-6);
        assert!((lp.lower + 3.5).abs() < 1e-7 && (lp.upper + 3.5).abs() < 1e-7);
    }
}

#[test]
fn maximising_a_utility_is_minimising_its_negative() {
    // max 2 x0 + x1 (a linear "utility") over x0 + x1 = 1, x ≥ 0 is given to the kernel as
    // min −2 x0 − x1: x = (1, 0).
    let mut equalities = LinearRows::new(2);
    equalities.push_row(&[(0, 1.0), (1, 1.0)], 1.0).unwrap();
    let problem = SeparableProblem {
        objective: linear(&[-2.0, -1.0]),
        lower: vec![0.0; 2],
        upper: vec![1.0; 2],
        equalities,
        inequalities: LinearRows::new(2),
    };
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    assert!((lp.x[0] - 1.0).abs() < 1e-7);
    // x0 sits at its upper bound too, so y is pinned only to [−2, −1]: y − ν_u0 = −2 and
    // y + ν_l1 = −1 with ν ≥ 0.
    let y = lp.equality_multipliers[0];
    assert!((-2.0 - 1e-7..=-1.0 + 1e-7).contains(&y), "{lp:?}");
    assert!((y - lp.upper_bound_multipliers[0] + 2.0).abs() < 1e-6);
    assert!((y + lp.lower_bound_multipliers[1] + 1.0).abs() < 1e-6);
}
