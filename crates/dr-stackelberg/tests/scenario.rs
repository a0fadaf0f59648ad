//! Scenario files: the schema, the validating conversion, errors that name the field, and
//! the JSON shape of the results.

mod common;

use common::rel;
use dr_stackelberg::*;

const ECOGRID_TOML: &str = r#"
model = "stackelberg"
periods = 2

[[companies]]
supply = [1900.0, 1800.0]

[[consumers]]
count = 2000
budget = 7.55
energy_need = 1.8
"#;

fn parse(s: &str) -> Result<Scenario, toml::de::Error> {
    toml::from_str(s)
}

#[test]
fn the_documented_schema_solves() {
    let sc = parse(ECOGRID_TOML).unwrap();
    let sol = sc.solve(&EquilibriumSettings::default()).unwrap();
    let eq = &sol.equilibrium;
    assert!(eq.certificate.certificate.holds(1e-9));
    assert!(rel(eq.revenues[0], 2000.0 * 7.55) <= 1e-12);
    let json = serde_json::to_value(&sol).unwrap();
    let e = &json["equilibrium"];
    assert!(e["prices"][0][1].is_f64());
    assert!(e["revenues"][0].is_f64());
    assert!(e["demand"][0][0][1].is_f64());
    assert!(e["minimum_budget"][0].is_f64());
    // demand[class][k][t] is per consumer: 2000 consumers share G(t).
    assert!(rel(e["demand"][0][0][0].as_f64().unwrap(), 1900.0 / 2000.0) <= 1e-12);
}

#[test]
fn minimum_budget_total_and_simulation() {
    let sc = parse(
        r#"
model = "stackelberg"
periods = 3

[[companies]]
name = "wind"
total = 3000.0

[[companies]]
total = 1500.0
generation_cost = { linear = 0.0, quadratic = [0.002, 0.0001, 0.0001] }

[[consumers]]
name = "poor"
count = 100
budget = "minimum"
reference_prices = [[0.3, 0.2, 0.25], [0.3, 0.35, 0.2]]
energy_need = 5.0

[[consumers]]
count = 50
budget = 12
zeta = 0.5

[simulation]
rule = "steffensen"
max_rounds = 500
"#,
    )
    .unwrap();
    let model = sc.build().unwrap();
    let p = [0.3, 0.2, 0.25, 0.3, 0.35, 0.2];
    let b = minimum_budget(&p, 5.0, Preferences::uniform(1.0, 1.0)).unwrap();
    assert!(rel(model.budgets[0], b) <= 1e-15);
    let alloc = model.allocation.as_ref().unwrap();
    assert!(alloc.status.is_solved());
    for &g in &alloc.supply[0] {
        assert!(rel(g, 1000.0) <= 1e-9); // Theorem 3: no cost → equal split
    }
    assert!(alloc.supply[1][0] < 500.0); // expensive first period
    assert_eq!(
        model.company_names,
        vec!["wind".to_string(), "company 1".to_string()]
    );
    let sim = sc.simulate().unwrap();
    assert_eq!(sim.run.termination, Termination::Converged);
    assert!(sim.max_price_error <= 1e-6);
    assert_eq!(sim.run.rule, "steffensen");
}

#[test]
fn schema_errors_name_the_field() {
    let unknown = parse(&ECOGRID_TOML.replace("energy_need", "energy_needs")).unwrap_err();
    assert!(unknown.to_string().contains("energy_needs"), "{unknown}");
    let bad_model = parse(&ECOGRID_TOML.replace("\"stackelberg\"", "\"bidding\"")).unwrap_err();
    assert!(bad_model.to_string().contains("bidding"), "{bad_model}");
    let bad_budget =
        parse(&ECOGRID_TOML.replace("budget = 7.55", "budget = \"maximum\"")).unwrap_err();
    assert!(bad_budget.to_string().contains("minimum"), "{bad_budget}");
    let top = parse(&format!("{ECOGRID_TOML}\nfoo = 1\n")).unwrap_err();
    assert!(top.to_string().contains("foo"), "{top}");

    let build = |s: &str| parse(s).unwrap().build().unwrap_err().to_string();
    let e = build(&ECOGRID_TOML.replace(
        "supply = [1900.0, 1800.0]",
        "supply = [1900.0, 1800.0]\ntotal = 5.0",
    ));
    assert!(e.contains("companies[0]") && e.contains("total"), "{e}");
    let e = build(&ECOGRID_TOML.replace("supply = [1900.0, 1800.0]", "supply = [1900.0]"));
    assert!(e.contains("companies[0].supply"), "{e}");
    let e = build(&ECOGRID_TOML.replace("supply = [1900.0, 1800.0]", "supply = [1900.0, -1.0]"));
    assert!(e.contains("companies[0].supply[1]"), "{e}");
    let e = build(&ECOGRID_TOML.replace("budget = 7.55", "budget = \"minimum\""));
    assert!(e.contains("consumers[0].reference_prices"), "{e}");
    let e = build(&ECOGRID_TOML.replace(
        "budget = 7.55",
        "budget = \"minimum\"\nreference_prices = [0.3]",
    ));
    assert!(e.contains("consumers[0].reference_prices"), "{e}");
    let e = build(&ECOGRID_TOML.replace(
        "budget = 7.55",
        "budget = \"minimum\"\nreference_prices = [0.3, -0.1]",
    ));
    assert!(e.contains("consumers[0].reference_prices[1]"), "{e}");
    let e = build(&ECOGRID_TOML.replace("budget = 7.55", "budget = -7.55"));
    assert!(e.contains("consumers[0].budget"), "{e}");
    let e = build(&ECOGRID_TOML.replace("count = 2000", "count = 2000\nzeta = -1"));
    assert!(e.contains("consumers[0].zeta"), "{e}");
    let e = build(&ECOGRID_TOML.replace(
        "supply = [1900.0, 1800.0]",
        "supply = [1900.0, 1800.0]\nramp_limit = 5",
    ));
    assert!(e.contains("companies[0]") && e.contains("total"), "{e}");
    let e = build(&ECOGRID_TOML.replace(
        "supply = [1900.0, 1800.0]",
        "supply = [1900.0, 1800.0]\nprice_min = 2\nprice_max = 1",
    ));
    assert!(e.contains("companies[0].price_min"), "{e}");
    let e = build(&format!("{ECOGRID_TOML}\n[[network]]\nrhs = 1.0\nterms = [{{ company = 0, period = 0, coefficient = 1.0 }}]\n"));
    assert!(e.contains("network"), "{e}");
    let e = build(&ECOGRID_TOML.replace("periods = 2", "periods = 0"));
    assert!(e.contains("periods"), "{e}");
    let e = build(&ECOGRID_TOML.replace(
        "energy_need = 1.8",
        "energy_need = 1.8\nweights = { gamma = [1.0, 2.0, 3.0] }",
    ));
    assert!(e.contains("consumers[0].weights.gamma"), "{e}");
    // Total energy need 2000 · 2 = 4000 above the total supply 3700: no budget can meet it
    // (one homogeneous class always receives Σ G / N = 1.85 each), a supply shortfall, not an
    // ever-growing minimum budget.
    let sc = parse(&ECOGRID_TOML.replace("energy_need = 1.8", "energy_need = 2.0")).unwrap();
    let e = sc.solve(&EquilibriumSettings::default()).unwrap_err();
    assert!(
        matches!(
            e,
            StackelbergError::SupplyShortfall { energy_need_total, supply_total }
                if energy_need_total == 4000.0 && supply_total == 3700.0
        ),
        "{e}"
    );
    // A poor class next to a rich one: the supply covers every need (1000 < 3700), but the
    // poor class's budget buys too little at the equilibrium prices: Theorem 1 error.
    let sc = parse(&format!(
        "{}\n[[consumers]]\ncount = 1000\nbudget = 1000.0\n",
        ECOGRID_TOML
            .replace("count = 2000", "count = 1000")
            .replace("budget = 7.55", "budget = 1.0")
            .replace("energy_need = 1.8", "energy_need = 1.0")
    ))
    .unwrap();
    let e = sc.solve(&EquilibriumSettings::default()).unwrap_err();
    assert!(
        matches!(e, StackelbergError::BudgetBelowMinimum { .. }),
        "{e}"
    );
    // Fractional counts in a file: a count is a number of consumers.
    let e = build(&ECOGRID_TOML.replace("count = 2000", "count = 2.5"));
    assert!(e.contains("consumers[0].count") && e.contains("2.5"), "{e}");
    // A ten-line file with periods = 1e9 and a `total`: a typed error, never an abort.
    let e = build(
        &ECOGRID_TOML
            .replace("periods = 2", "periods = 1000000000")
            .replace("supply = [1900.0, 1800.0]", "total = 3700.0"),
    );
    assert!(e.contains("periods"), "{e}");
    // simulation.tolerance is named as in the file.
    let e = build(&format!("{ECOGRID_TOML}\n[simulation]\ntolerance = -1.0\n"));
    assert!(
        e.contains("simulation.tolerance") && e.contains("-1"),
        "{e}"
    );
    // A wrong per-period value reads as what was expected, with the field's path.
    let e = parse(&ECOGRID_TOML.replace(
        "supply = [1900.0, 1800.0]",
        "total = 3700.0\nmin_generation = \"x\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("a number or an array of T numbers") && !e.contains("untagged"),
        "{e}"
    );
}

#[test]
fn json_scenarios_and_round_trip() {
    let sc = parse(ECOGRID_TOML).unwrap();
    let json = serde_json::to_string(&sc).unwrap();
    let back: Scenario = serde_json::from_str(&json).unwrap();
    assert_eq!(sc, back);
    let minimum: Scenario = serde_json::from_str(
        r#"{"model":"stackelberg","periods":1,"companies":[{"supply":[10.0]}],
            "consumers":[{"budget":"minimum","reference_prices":[0.5],"energy_need":2.0}]}"#,
    )
    .unwrap();
    assert_eq!(minimum.build().unwrap().budgets, vec![1.0]); // p E = 0.5 · 2
}

/// The memory estimate is computed from the counts alone (no allocation), grows with them,
/// and does not depend on a class's `count` (a population weight).
#[test]
fn memory_estimate_from_counts() {
    let small = parse(ECOGRID_TOML).unwrap().memory_estimate();
    assert!(small < 16 << 20, "{small}");
    let many = parse(&ECOGRID_TOML.replace("count = 2000", "count = 1e12"))
        .unwrap()
        .memory_estimate();
    assert_eq!(many, small);
    // periods = 1e9 (a ten-line file): the estimate says terabytes, instantly.
    let huge = parse(&ECOGRID_TOML.replace("periods = 2", "periods = 1000000000"))
        .unwrap()
        .memory_estimate();
    assert!(huge > 1 << 40, "{huge}");
    // More classes cost more.
    let two = parse(&format!(
        "{ECOGRID_TOML}\n[[consumers]]\ncount = 1\nbudget = 1.0\n"
    ))
    .unwrap()
    .memory_estimate();
    assert!(two > small);
}
