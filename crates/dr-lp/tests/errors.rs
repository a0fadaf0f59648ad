//! Bad input returns a typed error naming the field; infeasible constraints return
//! `LpError::Infeasible`.

mod common;

use common::{quadratic_terms, single_coupling};
use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{ClosureConvex, ConvexScalar, LogUtility};
use dr_lp::{
    cross_check, solve, Backend, CrossCheckSettings, KernelSolution, LpError, OuterSettings,
};
use std::sync::Arc;

fn two_customers() -> SeparableProblem {
    single_coupling(
        quadratic_terms(&[0.0, 0.0], &[1.0, 2.0]),
        vec![0.0; 2],
        vec![5.0; 2],
        3.0,
    )
}

fn both() -> [OuterSettings; 2] {
    [
        OuterSettings::default(),
        OuterSettings {
            backend: Backend::Microlp,
            ..OuterSettings::default()
        },
    ]
}

#[test]
fn infeasible_rows_are_a_typed_error() {
    // Σ x = 10 with 0 ≤ x ≤ 1: the LP back end proves it.
    let p = single_coupling(
        quadratic_terms(&[0.0, 0.0], &[1.0, 1.0]),
        vec![0.0; 2],
        vec![1.0; 2],
        10.0,
    );
    for s in both() {
        let e = solve(&p, &s).unwrap_err();
        assert!(matches!(e, LpError::Infeasible { .. }), "{e:?}");
    }
    // x_0 ≤ 1 but the row x_0 − x_1 ≥ 3 with x_1 ≥ 0: inconsistent rows and bounds.
    let mut inequalities = LinearRows::new(2);
    inequalities.push_row(&[(0, -1.0), (1, 1.0)], -3.0).unwrap();
    let p = SeparableProblem {
        objective: quadratic_terms(&[0.0, 0.0], &[1.0, 1.0]),
        lower: vec![f64::NEG_INFINITY, 0.0],
        upper: vec![1.0, f64::INFINITY],
        equalities: LinearRows::new(2),
        inequalities,
    };
    for s in both() {
        let e = solve(&p, &s).unwrap_err();
        assert!(matches!(e, LpError::Infeasible { .. }), "{e:?}");
    }
    // An implied bound that contradicts a given one is caught before any LP:
    // x_0 ≥ 3 from −x_0 ≤ −3, with x_0 ≤ 1.
    let mut inequalities = LinearRows::new(1);
    inequalities.push_row(&[(0, -1.0)], -3.0).unwrap();
    let p = SeparableProblem {
        objective: quadratic_terms(&[0.0], &[1.0]),
        lower: vec![f64::NEG_INFINITY],
        upper: vec![1.0],
        equalities: LinearRows::new(1),
        inequalities,
    };
    let e = solve(&p, &OuterSettings::default()).unwrap_err();
    match e {
        LpError::Infeasible { reason } => assert!(reason.contains("x[0]"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nan_bounds_name_the_field() {
    let mut p = two_customers();
    p.lower[1] = f64::NAN;
    let e = solve(&p, &OuterSettings::default()).unwrap_err();
    match &e {
        LpError::Input(dr_convex::InputError::NotFinite { field, value }) => {
            assert_eq!(field, "lower[1]");
            assert!(value.is_nan());
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("lower[1]"));
    let mut p = two_customers();
    p.upper[0] = f64::NAN;
    let e = solve(&p, &OuterSettings::default()).unwrap_err();
    assert!(
        matches!(&e, LpError::Input(dr_convex::InputError::NotFinite { field, .. }) if field == "upper[0]"),
        "{e:?}"
    );
}

#[test]
fn nan_objective_names_the_term() {
    // A user closure that returns NaN on part of its box.
    let bad = ClosureConvex::new(
        |x| if x > 1.0 { f64::NAN } else { x * x },
        |x| 2.0 * x,
        |_| 2.0,
        (f64::NEG_INFINITY, f64::INFINITY),
    )
    .unwrap();
    let objective: Vec<Arc<dyn ConvexScalar>> = vec![
        Arc::new(dr_convex::LinearQuadraticCost::new(0.0, 1.0).unwrap()),
        Arc::new(bad),
    ];
    let p = single_coupling(objective, vec![0.0; 2], vec![3.0; 2], 3.0);
    let e = solve(&p, &OuterSettings::default()).unwrap_err();
    match &e {
        LpError::ObjectiveNotFinite { field, index, .. } => {
            assert_eq!(*index, 1);
            assert!(field.starts_with("objective[1]"), "{field}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn shape_and_bound_errors() {
    let mut p = two_customers();
    p.lower.pop();
    assert!(matches!(
        solve(&p, &OuterSettings::default()),
        Err(LpError::Input(dr_convex::InputError::LengthMismatch { ref field, expected: 2, got: 1 })) if field == "lower"
    ));
    let mut p = two_customers();
    p.objective.clear();
    p.lower.clear();
    p.upper.clear();
    assert!(matches!(
        solve(&p, &OuterSettings::default()),
        Err(LpError::Input(dr_convex::InputError::Empty { ref field })) if field == "objective"
    ));
    let mut p = two_customers();
    p.lower[0] = 4.0;
    p.upper[0] = 1.0;
    assert!(matches!(
        solve(&p, &OuterSettings::default()),
        Err(LpError::Input(dr_convex::InputError::InvertedBounds { ref field, lower: 4.0, upper: 1.0 }))
            if field.contains("x[0]")
    ));
    // Bounds that leave no point of a term's domain: −ln(1 + x) needs x > −1.
    let objective: Vec<Arc<dyn ConvexScalar>> = vec![Arc::new(LogUtility::new(1.0, 1.0).unwrap())];
    let p = SeparableProblem {
        objective,
        lower: vec![-5.0],
        upper: vec![-2.0],
        equalities: LinearRows::new(1),
        inequalities: LinearRows::new(1),
    };
    let e = solve(&p, &OuterSettings::default()).unwrap_err();
    match &e {
        LpError::Input(dr_convex::InputError::InvertedBounds { field, .. }) => {
            assert!(field.contains("domain"), "{field}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_settings_name_the_field() {
    let p = two_customers();
    let s = OuterSettings {
        tolerance: f64::NAN,
        ..OuterSettings::default()
    };
    assert!(matches!(
        solve(&p, &s),
        Err(LpError::Input(dr_convex::InputError::NotFinite { ref field, .. })) if field == "settings.tolerance"
    ));
    let s = OuterSettings {
        initial_cuts: 1,
        ..OuterSettings::default()
    };
    assert!(matches!(
        solve(&p, &s),
        Err(LpError::Input(dr_convex::InputError::OutOfRange { ref field, .. })) if field == "settings.initial_cuts"
    ));
}

#[test]
fn bad_kernel_solution_names_the_field() {
    let p = two_customers();
    let lp = solve(&p, &OuterSettings::default()).unwrap();
    let x = [2.0, f64::NAN];
    let k = KernelSolution {
        x: &x,
        equality_multipliers: &[4.0],
        inequality_multipliers: &[],
        objective: 6.0,
    };
    let e = cross_check(&p, &k, &lp, &CrossCheckSettings::default()).unwrap_err();
    assert!(
        matches!(&e, LpError::Input(dr_convex::InputError::NotFinite { field, .. }) if field == "kernel.x[1]"),
        "{e:?}"
    );
    let x = [2.0];
    let k = KernelSolution {
        x: &x,
        equality_multipliers: &[4.0],
        inequality_multipliers: &[],
        objective: 6.0,
    };
    let e = cross_check(&p, &k, &lp, &CrossCheckSettings::default()).unwrap_err();
    assert!(
        matches!(&e, LpError::Input(dr_convex::InputError::LengthMismatch { field, .. }) if field == "kernel.x"),
        "{e:?}"
    );
    let x = [2.0, 1.0];
    let k = KernelSolution {
        x: &x,
        equality_multipliers: &[4.0],
        inequality_multipliers: &[],
        objective: f64::INFINITY,
    };
    let e = cross_check(&p, &k, &lp, &CrossCheckSettings::default()).unwrap_err();
    assert!(
        matches!(&e, LpError::Input(dr_convex::InputError::NotFinite { field, .. }) if field == "kernel.objective"),
        "{e:?}"
    );
    let settings = CrossCheckSettings {
        curvature: Some(vec![1.0, f64::NAN]),
        ..CrossCheckSettings::default()
    };
    let k = KernelSolution {
        x: &x,
        equality_multipliers: &[4.0],
        inequality_multipliers: &[],
        objective: 6.0,
    };
    let e = cross_check(&p, &k, &lp, &settings).unwrap_err();
    assert!(
        matches!(&e, LpError::Input(dr_convex::InputError::OutOfRange { field, .. }) if field == "settings.curvature[1]"),
        "{e:?}"
    );
}
