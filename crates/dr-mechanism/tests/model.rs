//! Model validation: bad input is an error naming the field and value; a user-supplied
//! utility works end to end.

use dr_convex::ClosureConvex;
use dr_mechanism::{solve_planner, MechanismError, Model, PeriodUtility, PlannerSettings, User};

fn err(b: dr_mechanism::ModelBuilder) -> String {
    b.build().unwrap_err().to_string()
}

fn two() -> dr_mechanism::ModelBuilder {
    Model::builder(vec![0.1, 0.2], 1.0).user(User::quadratic(&[1.0, 2.0], &[1.0, 1.0]))
}

#[test]
fn prices_and_populations() {
    assert!(err(Model::builder(vec![], 1.0).user(User::log(&[], 1.0))).contains("energy_prices"));
    let e = err(Model::builder(vec![0.1, f64::NAN], 1.0).user(User::log(&[1.0, 1.0], 1.0)));
    assert!(e.contains("energy_prices[1]") && e.contains("NaN"), "{e}");
    let e = err(Model::builder(vec![0.1], 0.0).user(User::log(&[1.0], 1.0)));
    assert!(e.contains("peak_price") && e.contains("> 0"), "{e}");
    assert!(err(Model::builder(vec![0.1], 1.0)).contains("users"));
}

#[test]
fn utilities() {
    let e = err(Model::builder(vec![0.1, 0.2], 1.0).user(User::log(&[1.0], 1.0)));
    assert!(
        e.contains("users[0].utility") && e.contains("length 1, expected 2"),
        "{e}"
    );
    let e = err(Model::builder(vec![0.1], 1.0).user(User::log(&[1.0], 0.0)));
    assert!(
        e.contains("users[0].utility[0].shift") && e.contains("= 0"),
        "{e}"
    );
    let e = err(Model::builder(vec![0.1], 1.0).user(User::log(&[-2.0], 1.0)));
    assert!(
        e.contains("users[0].utility[0].weight") && e.contains("-2"),
        "{e}"
    );
    let e = err(two().user(User::quadratic(&[1.0, 1.0], &[1.0, -0.5])));
    assert!(
        e.contains("users[1].utility[1].kappa") && e.contains("-0.5"),
        "{e}"
    );
    let e = err(two().user(User::quadratic(&[1.0, 1.0], &[1.0])));
    assert!(
        e.contains("users[1].utility[1].kappa") && e.contains("NaN"),
        "{e}"
    );
    // A convex "utility" (its disutility −x² is concave) is rejected.
    let concave = ClosureConvex::new(
        |x| -x * x,
        |x| -2.0 * x,
        |_| -2.0,
        (f64::NEG_INFINITY, f64::INFINITY),
    )
    .unwrap();
    let e = err(Model::builder(vec![0.1], 1.0).user(User::custom(vec![concave])));
    assert!(
        e.contains("users[0].utility[0]") && e.contains("strictly concave"),
        "{e}"
    );
    // A domain that excludes 0.
    let shifted = ClosureConvex::new(
        |x| -(x - 1.0).ln(),
        |x| -1.0 / (x - 1.0),
        |x| 1.0 / (x - 1.0).powi(2),
        (1.0, f64::INFINITY),
    )
    .unwrap();
    let e = err(Model::builder(vec![0.1], 1.0).user(User::custom(vec![shifted])));
    assert!(
        e.contains("users[0].utility[0]") && e.contains("contain 0"),
        "{e}"
    );
}

#[test]
fn rows() {
    let e = err(two().community_total(-1.0));
    assert!(
        e.contains("rows[0].cap") && e.contains("-1") && e.contains(">= 0"),
        "{e}"
    );
    let e = err(two().upper_bounds(0, &[1.0, -0.5]));
    assert!(e.contains("rows[1].upper") && e.contains("-0.5"), "{e}");
    let e = err(two().lower_bounds(0, &[0.5, -0.5]));
    assert!(e.contains("rows[0].lower") && e.contains("0.5"), "{e}");
    let e = err(two().user_total(3, 1.0));
    assert!(matches!(
        two().user_total(3, 1.0).build(),
        Err(MechanismError::Input(
            dr_convex::InputError::IndexOutOfRange {
                index: 3,
                size: 1,
                ..
            }
        ))
    ));
    assert!(e.contains("rows[0].user"), "{e}");
    let e = err(two().community_cap(2, 1.0));
    assert!(e.contains("rows[0].period") && e.contains("index 2"), "{e}");
    let e = err(two().row(&[(0, 0, 1.0), (0, 0, -1.0)], 1.0));
    assert!(e.contains("rows[0]") && e.contains("no nonzero"), "{e}");
    let e = err(two().row(&[(0, 5, 1.0)], 1.0));
    assert!(e.contains("rows[0].entries[0].period"), "{e}");
    let e = err(two().row(&[(0, 0, f64::INFINITY)], 1.0));
    assert!(
        e.contains("rows[0].entries[0].coef") && e.contains("inf"),
        "{e}"
    );
    let e = err(two().row(&[(0, 0, 1.0)], f64::NAN));
    assert!(e.contains("rows[0].rhs"), "{e}");
    // Infinite bounds add no row; repeated entries are summed.
    let m = two()
        .upper_bounds(0, &[f64::INFINITY, 2.0])
        .row(&[(0, 0, 1.0), (0, 0, 1.0), (0, 1, 1.0)], 1.0)
        .build()
        .unwrap();
    assert_eq!(m.rows(), 2);
    assert_eq!(m.row(1), (&[0usize, 1][..], &[2.0, 1.0][..]));
}

#[test]
fn custom_utility_end_to_end() {
    // v(x) = −e^{−x} (disutility e^{−x}); T = 1 so μ = p0; v̇ = e^{−x} = p + p0 ⇒ x = −ln(p + p0).
    let f = ClosureConvex::new(
        |x: f64| (-x).exp(),
        |x: f64| -(-x).exp(),
        |x: f64| (-x).exp(),
        (f64::NEG_INFINITY, f64::INFINITY),
    )
    .unwrap();
    let model = Model::builder(vec![0.2], 0.3)
        .user(User {
            utilities: vec![PeriodUtility::Disutility(f.clone())],
        })
        .user(User::custom(vec![f]))
        .build()
        .unwrap();
    let sol = solve_planner(&model, &PlannerSettings::default()).unwrap();
    assert!(sol.certificate.holds(1e-9));
    for x in &sol.allocation {
        assert!((x + 0.5_f64.ln()).abs() < 1e-9, "{x}");
    }
}
