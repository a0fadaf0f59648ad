//! Bad input returns a typed error naming the field (never a panic or a NaN result).

mod common;

use dr_convex::{ClosureConvex, ConvexScalar};
use dr_shaping::*;
use std::sync::Arc;

fn field(e: ShapingError) -> String {
    e.field()
}

#[test]
fn bad_customers() {
    let mut c = Customers::new(3).unwrap();
    c.push_quadratic(&[1.0; 3], &[1.0; 3], 0.0, 5.0).unwrap();
    // Non-concave utility (κ ≤ 0).
    let e = c
        .push_quadratic(&[1.0; 3], &[1.0, -1.0, 1.0], 0.0, 5.0)
        .unwrap_err();
    assert_eq!(field(e.clone()), "customers[1].kappa[1]");
    assert!(e.to_string().contains("must be > 0"), "{e}");
    // NaN.
    let e = c
        .push_quadratic(&[1.0, f64::NAN, 1.0], &[1.0; 3], 0.0, 5.0)
        .unwrap_err();
    assert_eq!(field(e), "customers[1].theta[1]");
    // Inverted daily energy bounds.
    let e = c
        .push_quadratic(&[1.0; 3], &[1.0; 3], 6.0, 5.0)
        .unwrap_err();
    assert!(matches!(
        e,
        ShapingError::Input(dr_convex::InputError::InvertedBounds { .. })
    ));
    assert_eq!(field(e), "customers[1].max_energy");
    let e = c
        .push_quadratic(&[1.0; 3], &[1.0; 3], -1.0, 5.0)
        .unwrap_err();
    assert_eq!(field(e), "customers[1].min_energy");
    // Wrong profile length.
    let e = c.push_log(&[1.0; 2], &[1.0; 3], 0.0, 5.0).unwrap_err();
    assert!(matches!(
        e,
        ShapingError::Input(dr_convex::InputError::LengthMismatch {
            expected: 3,
            got: 2,
            ..
        })
    ));
    assert_eq!(field(e), "customers[1].weight");
    // Log utility must be finite at q = 0.
    let e = c
        .push_log(&[1.0; 3], &[1.0, 0.0, 1.0], 0.0, 5.0)
        .unwrap_err();
    assert_eq!(field(e), "customers[1].shift[1]");
    // A user-supplied disutility that is concave (utility convex).
    let bad: Vec<Arc<dyn ConvexScalar>> = (0..3)
        .map(|_| {
            Arc::new(
                ClosureConvex::new(
                    |q: f64| -q * q,
                    |q: f64| -2.0 * q,
                    |_q: f64| -2.0,
                    (f64::NEG_INFINITY, f64::INFINITY),
                )
                .unwrap(),
            ) as Arc<dyn ConvexScalar>
        })
        .collect();
    let e = c.push_custom(bad, 0.0, 5.0).unwrap_err();
    assert!(
        field(e.clone()).starts_with("customers[1].disutility[0].second_derivative"),
        "{e}"
    );
    // Nothing was added by the failed pushes.
    assert_eq!(c.len(), 1);
    // Zero periods, empty population.
    assert_eq!(field(Customers::new(0).unwrap_err()), "periods");
    let empty = Customers::new(3).unwrap();
    let supply = SupplyCost::quadratic(vec![1.0; 3], vec![0.0; 3]).unwrap();
    assert_eq!(
        field(ShapingModel::new(empty, supply).unwrap_err()),
        "customers"
    );
    // Bulk constructor.
    let e = Customers::quadratic_population(
        2,
        vec![1.0; 4],
        vec![1.0, 1.0, 1.0, 0.0],
        vec![0.0; 2],
        vec![1.0; 2],
    )
    .unwrap_err();
    assert_eq!(field(e), "customers[1].kappa[1]");
    let e =
        Customers::quadratic_population(2, vec![1.0; 3], vec![1.0; 4], vec![0.0; 2], vec![1.0; 2])
            .unwrap_err();
    assert_eq!(field(e), "theta");
}

#[test]
fn bad_supply() {
    let e = SupplyCost::quadratic(vec![1.0, 0.0, 1.0], vec![0.0; 3]).unwrap_err();
    assert_eq!(field(e), "supply.curvature[1]");
    let e = SupplyCost::quadratic(vec![1.0; 3], vec![0.0, 0.0, -0.1]).unwrap_err();
    assert_eq!(field(e), "supply.linear[2]");
    let e = SupplyCost::quadratic(vec![1.0; 3], vec![0.0; 2]).unwrap_err();
    assert_eq!(field(e), "supply.linear");
    let e = SupplyCost::quadratic(vec![f64::INFINITY; 3], vec![0.0; 3]).unwrap_err();
    assert_eq!(field(e), "supply.curvature[0]");
    // Periods of supply and customers differ.
    let mut c = Customers::new(3).unwrap();
    c.push_quadratic(&[1.0; 3], &[1.0; 3], 0.0, 5.0).unwrap();
    let e = ShapingModel::new(
        c,
        SupplyCost::quadratic(vec![1.0; 2], vec![0.0; 2]).unwrap(),
    )
    .unwrap_err();
    assert!(field(e).starts_with("supply"));
}

#[test]
fn bad_solver_and_simulation_settings() {
    let model = common::random_model(1, 2, 2, false);
    let e = competitive_equilibrium_with(
        &model,
        &SolverSettings {
            tolerance: f64::NAN,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(field(e), "tolerance");
    let e = simulate(
        &model,
        &SimulationSettings {
            step: Some(-1.0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(field(e), "step");
    let e = simulate(
        &model,
        &SimulationSettings {
            max_rounds: 0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(field(e), "max_rounds");
    let e = simulate(
        &model,
        &SimulationSettings {
            oscillation_window: 1,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(field(e), "oscillation_window");
    // Checks of results with the wrong shape.
    let ce = competitive_equilibrium(&model).unwrap();
    let e = certificate(
        &model,
        Behaviour::Competitive,
        &ce.loads,
        &[1.0],
        &[0.0, 0.0],
    )
    .unwrap_err();
    assert_eq!(field(e), "prices");
    let e = certificate(
        &model,
        Behaviour::Competitive,
        &ce.loads,
        &ce.prices,
        &[0.0],
    )
    .unwrap_err();
    assert_eq!(field(e), "energy_multipliers");
    let wrong = Loads::new(2, vec![1.0; 6]).unwrap();
    assert_eq!(field(nash_gain(&model, &wrong).unwrap_err()), "loads");
    let nan = Loads::new(2, vec![1.0, f64::NAN, 1.0, 1.0]).unwrap();
    assert_eq!(field(nash_gain(&model, &nan).unwrap_err()), "loads[0][1]");
    assert_eq!(
        field(customer_response(&model, 5, &[1.0, 1.0]).unwrap_err()),
        "customer"
    );
    assert_eq!(
        field(customer_response(&model, 0, &[1.0, f64::NAN]).unwrap_err()),
        "prices[1]"
    );
    assert_eq!(
        field(unshaped_loads(&model, f64::INFINITY).unwrap_err()),
        "flat_price"
    );
    assert_eq!(field(Loads::new(2, vec![1.0; 3]).unwrap_err()), "loads");
    // The Nash potential needs a quadratic supply cost.
    let custom =
        ShapingModel::new(model.customers().clone(), common::cubic_supply(2, 0.1)).unwrap();
    let e = strategic_equilibrium_ipm(&custom, &Default::default()).unwrap_err();
    assert_eq!(field(e), "supply");
    let e = simulate(
        &custom,
        &SimulationSettings {
            scheme: Scheme::Newton,
            behaviour: Behaviour::Strategic,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(field(e), "supply");
}

fn scenario_error(text: &str) -> String {
    let s: ShapingScenario = toml::from_str(text).expect("parses");
    s.to_model().expect_err("invalid").field()
}

const BASE: &str = r#"
periods = 3
[supply]
curvature = 1.0
"#;

#[test]
fn bad_scenarios() {
    // Unknown keys are rejected by serde (deny_unknown_fields), naming the key.
    let e = toml::from_str::<ShapingScenario>(&format!(
        "{BASE}\n[[customers]]\nutility = \"quadratic\"\ntheta = 1.0\nkappa = 1.0\nkapa = 2.0\n"
    ))
    .unwrap_err();
    assert!(e.to_string().contains("kapa"), "{e}");
    let e = toml::from_str::<ShapingScenario>(&format!("colour = 1\n{BASE}")).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    let e =
        toml::from_str::<ShapingScenario>(&format!("{BASE}\n[[customers]]\nutility = \"cubic\"\n"))
            .unwrap_err();
    assert!(e.to_string().contains("cubic"), "{e}");
    // Conversion errors name the field of the [[customers]] entry.
    let ok = "[[customers]]\nutility = \"quadratic\"\ntheta = 1.0\nkappa = 1.0\n";
    assert_eq!(
        scenario_error(&format!("model = \"bidding\"\n{BASE}\n{ok}")),
        "model"
    );
    assert_eq!(scenario_error(&format!("{BASE}\n{ok}\n[[customers]]\nutility = \"quadratic\"\ntheta = [1.0, 2.0]\nkappa = 1.0\n")), "customers[1].theta");
    assert_eq!(scenario_error(&format!("{BASE}\n{ok}\n[[customers]]\ncount = 3\nutility = \"quadratic\"\ntheta = 1.0\nkappa = [1.0, -2.0, 1.0]\n")), "customers[1].kappa[1]");
    assert_eq!(
        scenario_error(&format!(
            "{BASE}\n[[customers]]\nutility = \"quadratic\"\ntheta = 1.0\n"
        )),
        "customers[0].kappa"
    );
    assert_eq!(scenario_error(&format!("{BASE}\n[[customers]]\nutility = \"quadratic\"\ntheta = 1.0\nkappa = 1.0\nweight = 1.0\n")), "customers[0].weight");
    assert_eq!(scenario_error(&format!("{BASE}\n[[customers]]\nutility = \"log\"\nweight = 1.0\nshift = 1.0\nmin_energy = 5.0\nmax_energy = 4.0\n")), "customers[0].max_energy");
    assert_eq!(
        scenario_error(&format!(
            "{BASE}\n[[customers]]\nutility = \"log\"\nweight = 1.0\nshift = 1.0\njitter = 1.0\n"
        )),
        "customers[0].jitter"
    );
    assert_eq!(
        scenario_error(&format!(
            "{BASE}\n[[customers]]\ncount = 0\nutility = \"log\"\nweight = 1.0\nshift = 1.0\n"
        )),
        "customers[0].count"
    );
    assert_eq!(
        scenario_error("periods = 3\ncustomers = []\n[supply]\ncurvature = 1.0\n"),
        "customers"
    );
    assert_eq!(
        scenario_error(&format!(
            "periods = 3\n[supply]\ncurvature = [1.0, 1.0]\n{ok}"
        )),
        "supply.curvature"
    );
    assert_eq!(
        scenario_error(&format!(
            "periods = 3\n[supply]\ncurvature = 1.0\nlinear = -1.0\n{ok}"
        )),
        "supply.linear[0]"
    );
    assert_eq!(
        scenario_error(&format!("periods = 0\n[supply]\ncurvature = 1.0\n{ok}")),
        "periods"
    );
    let s: ShapingScenario =
        toml::from_str(&format!("{BASE}\n{ok}\n[simulation]\nstep = 0.0\n")).unwrap();
    assert_eq!(
        s.simulation_settings().unwrap_err().field(),
        "simulation.step"
    );
    let e =
        toml::from_str::<ShapingScenario>(&format!("{BASE}\n{ok}\n[simulation]\nstepp = 0.1\n"))
            .unwrap_err();
    assert!(e.to_string().contains("stepp"), "{e}");
}
