//! Scenario files: the documented TOML schema, JSON dumps, and errors that name the field.

use dr_mechanism::{run_scenario, simulate_scenario, Scenario, ScenarioSettings};
use dr_mechanism::{LearningSettings, Termination};

const EXAMPLE: &str = r#"
model = "mechanism"
periods = 2
energy_prices = [0.1, 0.2]
peak_price = 0.05

[[users]]
utility = { log = { weight = [1.0, 2.0], shift = 2.0 } }
lower = -1.0

[[users]]
utility = { quadratic = { theta = [2.0, 1.0], kappa = [1.0, 1.0] } }
upper = [3.0, 3.0]

[[users]]
utility = { quadratic = { theta = 1.5, kappa = 2 } }

[[constraints]]
community_total = 2.0

[[constraints]]
community_cap = 1.5

[[constraints]]
user_total = 1.0
user = 0

[[constraints]]
terms = [[0, 0, 1.0], [1, 0, -1.0]]
rhs = 0.5

[network]
edges = [[0, 1], [1, 2], [2, 0]]
"#;

fn parse(s: &str) -> Result<Scenario, toml::de::Error> {
    toml::from_str(s)
}

#[test]
fn example_scenario_runs_and_dumps() {
    let sc = parse(EXAMPLE).unwrap();
    let r = run_scenario(&sc, &ScenarioSettings::default()).unwrap();
    assert!(r.certificate.holds(1e-8));
    // [[constraints]]: community_total (1 row), community_cap without period (2 rows),
    // user_total (1), terms (1) = 5 rows, in file order.
    assert_eq!(r.constraint_multipliers.len(), 5);
    assert_eq!(r.constraint_entry, vec![0, 1, 1, 2, 3]);
    assert!(r.max_best_response_gain <= 1e-8);
    assert!((r.balanced_taxes.iter().sum::<f64>() - r.energy_cost).abs() < 1e-9);
    assert!((r.planner_surplus - r.price_revenue).abs() < 1e-9);
    assert!((r.mu.iter().sum::<f64>() - 0.05).abs() < 1e-12);
    let d = r.distributed.as_ref().unwrap();
    assert_eq!(d.tree_edges.len(), 2);
    assert_eq!(d.dropped_edges.len(), 1);
    assert!(d.max_best_response_gain <= 1e-8);
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "allocation",
        "mu",
        "constraint_multipliers",
        "welfare",
        "taxes",
        "balanced_taxes",
        "energy_cost",
        "planner_surplus",
        "max_best_response_gain",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["allocation"].as_array().unwrap().len(), 3);
    assert_eq!(json["allocation"][0].as_array().unwrap().len(), 2);
    // The same scenario as JSON.
    let again: Scenario = serde_json::from_str(&serde_json::to_string(&sc).unwrap()).unwrap();
    assert_eq!(again, sc);
}

#[test]
fn hand_checked_scenario() {
    // T = 1, two users θ = 3, κ = 1, p = 0, p0 = 0.5, Σ x ≤ 2 ⇒ x = 1, λ = 1.5 (see the
    // planner tests); taxes t̂ = (p + p0 + λ)·x = 2 each, balanced taxes (2 − 1.5·2/2) = 0.5.
    let sc = parse(
        r#"
model = "mechanism"
periods = 1
energy_prices = [0.0]
peak_price = 0.5
[[users]]
utility = { quadratic = { theta = [3.0], kappa = [1.0] } }
[[users]]
utility = { quadratic = { theta = [3.0], kappa = [1.0] } }
[[constraints]]
community_total = 2.0
"#,
    )
    .unwrap();
    let r = run_scenario(&sc, &ScenarioSettings::default()).unwrap();
    assert!((r.constraint_multipliers[0] - 1.5).abs() < 1e-10);
    for i in 0..2 {
        assert!((r.allocation[i][0] - 1.0).abs() < 1e-10);
        assert!((r.taxes[i] - 2.0).abs() < 1e-9);
        assert!((r.balanced_taxes[i] - 0.5).abs() < 1e-9);
    }
    assert!((r.energy_cost - 1.0).abs() < 1e-10);
    assert!((r.planner_surplus - 3.0).abs() < 1e-9);
    let sim = simulate_scenario(
        &sc,
        &ScenarioSettings::default(),
        &LearningSettings::default(),
    )
    .unwrap();
    assert_eq!(sim.termination, Termination::Converged);
    assert!(sim.distance_to_optimum < 1e-4);
    assert_eq!(sim.mechanism, dr_mechanism::MechanismKind::Centralized);
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let e = parse(&EXAMPLE.replace("peak_price = 0.05", "peak_price = 0.05\npeak_prize = 1"))
        .unwrap_err();
    assert!(e.to_string().contains("peak_prize"), "{e}");
    let e = parse(&EXAMPLE.replace("shift = 2.0", "shift = 2.0, scale = 1")).unwrap_err();
    assert!(e.to_string().contains("scale"), "{e}");
    let e = parse(&EXAMPLE.replace("user = 0", "user = 0\nusers = 1")).unwrap_err();
    assert!(e.to_string().contains("users"), "{e}");
    let e = parse(&EXAMPLE.replace(
        "edges = [[0, 1], [1, 2], [2, 0]]",
        "edges = [[0, 1]]\nweights = [1]",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("weights"), "{e}");
    let e = parse(&EXAMPLE.replace("model = \"mechanism\"", "model = \"bidding\"")).unwrap_err();
    assert!(e.to_string().contains("bidding"), "{e}");
}

fn conversion_error(from: &str, to: &str) -> String {
    let sc = parse(&EXAMPLE.replace(from, to)).unwrap();
    run_scenario(&sc, &ScenarioSettings::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn conversion_errors_name_the_field() {
    let e = conversion_error("community_total = 2.0", "community_total = -2.0");
    assert!(
        e.contains("constraints[0].community_total") && e.contains("-2"),
        "{e}"
    );
    let e = conversion_error(
        "community_total = 2.0",
        "community_total = 2.0\nuser_total = 1.0",
    );
    assert!(
        e.contains("constraints[0]") && e.contains("exactly one"),
        "{e}"
    );
    let e = conversion_error("user = 0", "user = 7");
    assert!(e.contains("constraints[2].user") && e.contains("7"), "{e}");
    let e = conversion_error("community_total = 2.0", "community_total = 2.0\nperiod = 1");
    assert!(e.contains("constraints[0].period"), "{e}");
    let e = conversion_error("rhs = 0.5", "");
    assert!(
        e.contains("constraints[3].rhs") && e.contains("missing"),
        "{e}"
    );
    let e = conversion_error("[[0, 0, 1.0], [1, 0, -1.0]]", "[[0, 0, 1.0], [1, 9, -1.0]]");
    assert!(e.contains("constraints[3].terms[1][1]"), "{e}");
    let e = conversion_error("lower = -1.0", "lower = 0.5");
    assert!(e.contains("users[0].lower[0]") && e.contains("0.5"), "{e}");
    let e = conversion_error("upper = [3.0, 3.0]", "upper = [3.0]");
    assert!(
        e.contains("users[1].upper") && e.contains("length 1"),
        "{e}"
    );
    let e = conversion_error("weight = [1.0, 2.0]", "weight = [1.0, -2.0]");
    assert!(e.contains("users[0].utility.log.weight[1]"), "{e}");
    let e = conversion_error("kappa = 2", "kappa = 0");
    assert!(e.contains("users[2].utility.quadratic.kappa[0]"), "{e}");
    let e = conversion_error("periods = 2", "periods = 3");
    assert!(
        e.contains("energy_prices") && e.contains("expected 3"),
        "{e}"
    );
    let e = conversion_error("edges = [[0, 1], [1, 2], [2, 0]]", "edges = [[0, 1]]");
    assert!(
        e.contains("disconnected") && e.contains("[[0, 1], [2]]"),
        "{e}"
    );
    let e = conversion_error(
        "edges = [[0, 1], [1, 2], [2, 0]]",
        "edges = [[0, 1], [1, 5]]",
    );
    assert!(e.contains("edges[1]"), "{e}");
}
