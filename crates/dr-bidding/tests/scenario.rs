//! Scenario files: the TOML schema, its validation (errors name the field), and the JSON
//! shape of the results the command line prints.

#![allow(clippy::needless_range_loop)]

use dr_bidding::{
    simulate, solve, Behaviour, BiddingScenario, Costs, Market, PriceUpdate, RuleName,
};

const LISTED: &str = r#"
model = "bidding"
deficit = 10.0
[[customers]]
cost = { linear = 1.2, quadratic = 0.8 }   # C(q) = a q + h q²
capacity = 5.0
[[customers]]
cost = { half_quadratic = 2.0 }
[[customers]]
cost = { linear = 1.0, quadratic = 1.5 }
[[customers]]
cost = { quadratic = 0.5 }
"#;

fn parse(s: &str) -> BiddingScenario {
    toml::from_str(s).unwrap()
}

fn market_field(s: &str) -> String {
    let e = parse(s).market().unwrap_err();
    let f = e.field();
    assert!(e.to_string().contains(&f), "{e}");
    f
}

#[test]
fn listed_customers() {
    let sc = parse(LISTED);
    let m = sc.market().unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(m.deficit(), 10.0);
    let Costs::Quadratic { linear, quadratic } = m.costs() else {
        panic!("quadratic expected")
    };
    assert_eq!(linear, &vec![1.2, 0.0, 1.0, 0.0]);
    assert_eq!(quadratic, &vec![0.8, 1.0, 1.5, 0.5]); // ½ c q² is h = c/2
    assert_eq!(m.capacity(0), 5.0);
    assert_eq!(m.capacity(1), f64::INFINITY);
    // Integers are accepted where numbers are expected; `model` may be absent.
    let m2 = parse("deficit = 3\n[[customers]]\ncost = { linear = 1, quadratic = 2 }\n")
        .market()
        .unwrap();
    assert_eq!(m2.deficit(), 3.0);
    // A surplus is explicit (`surplus = s`); a negative deficit is an error naming it and
    // saying what to write instead (issue finding 8: never a surplus in disguise).
    let e = parse("deficit = -3.0\n[[customers]]\ncost = { quadratic = 2 }\n")
        .market()
        .unwrap_err();
    assert_eq!(e.field(), "deficit");
    assert!(e.to_string().contains("surplus = 3"), "{e}");
    let s2 = parse("surplus = 3.0\n[[customers]]\ncost = { quadratic = 2 }\n")
        .market()
        .unwrap();
    assert_eq!(s2.direction(), dr_bidding::Direction::Surplus);
    assert_eq!(s2.signed_deficit(), -3.0);
}

#[test]
fn population() {
    let sc = parse(
        "model = \"bidding\"\ndeficit = 10.0\n[population]\ncount = 1000\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\nseed = 7\n",
    );
    let m = sc.market().unwrap();
    let direct = Market::drawn(1000, [1.0, 2.0], [0.5, 4.5], 7, 10.0).unwrap();
    let (
        Costs::Quadratic {
            linear: a,
            quadratic: h,
        },
        Costs::Quadratic {
            linear: b,
            quadratic: g,
        },
    ) = (m.costs(), direct.costs())
    else {
        panic!("quadratic expected")
    };
    assert_eq!((a, h), (b, g));
    let capped = parse("deficit = 10.0\n[population]\ncount = 100\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\ncapacity = 0.01\n");
    assert_eq!(capped.market().unwrap_err().field(), "population.capacity");
}

#[test]
fn schema_errors_name_the_field() {
    // Unknown keys are rejected by the parser, naming the key.
    for (text, key) in [
        ("deficit = 1.0\nbogus = 2\n", "bogus"),
        (
            "deficit = 1.0\n[[customers]]\ncost = { quadratic = 1.0, cubic = 2.0 }\n",
            "cubic",
        ),
        (
            "deficit = 1.0\n[[customers]]\ncost = { quadratic = 1.0 }\nweight = 2\n",
            "weight",
        ),
        (
            "deficit = 1.0\n[population]\ncount = 3\nlinear = [1, 2]\nquadratic = [1, 2]\nsd = 1\n",
            "sd",
        ),
    ] {
        let e = toml::from_str::<BiddingScenario>(text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{e}");
    }
    let one = "[[customers]]\ncost = { quadratic = 1.0 }\n";
    assert_eq!(
        market_field(&format!("model = \"shaping\"\ndeficit = 1.0\n{one}")),
        "model"
    );
    assert_eq!(market_field(one), "deficit");
    assert_eq!(
        market_field(&format!("deficit = 1.0\nsurplus = 1.0\n{one}")),
        "deficit"
    );
    assert_eq!(market_field(&format!("surplus = -1.0\n{one}")), "surplus");
    assert_eq!(market_field(&format!("deficit = 0.0\n{one}")), "deficit");
    assert_eq!(market_field("deficit = 1.0\n"), "customers");
    assert_eq!(
        market_field(&format!(
            "deficit = 1.0\n{one}[population]\ncount = 3\nlinear = [1, 2]\nquadratic = [1, 2]\n"
        )),
        "customers"
    );
    let two = "deficit = 1.0\n[[customers]]\ncost = { quadratic = 1.0 }\n[[customers]]\n";
    assert_eq!(
        market_field(&format!("{two}cost = {{ quadratic = -1.0 }}\n")),
        "customers[1].cost.quadratic"
    );
    assert_eq!(
        market_field(&format!(
            "{two}cost = {{ linear = -1.0, quadratic = 1.0 }}\n"
        )),
        "customers[1].cost.linear"
    );
    assert_eq!(
        market_field(&format!(
            "{two}cost = {{ linear = 1.0, half_quadratic = 1.0 }}\n"
        )),
        "customers[1].cost"
    );
    assert_eq!(
        market_field(&format!("{two}cost = {{ linear = 1.0 }}\n")),
        "customers[1].cost"
    );
    assert_eq!(
        market_field(&format!("{two}cost = {{ half_quadratic = 0.0 }}\n")),
        "customers[1].cost.half_quadratic"
    );
    assert_eq!(
        market_field(&format!(
            "{two}cost = {{ quadratic = 1.0 }}\ncapacity = -2.0\n"
        )),
        "customers[1].capacity"
    );
    assert_eq!(
        market_field("deficit = 1.0\n[[customers]]\ncost = { quadratic = 1.0 }\ncapacity = 0.1\n[[customers]]\ncost = { quadratic = 1.0 }\ncapacity = 0.1\n"),
        "customers[].capacity"
    );
    assert_eq!(
        market_field(
            "deficit = 1.0\n[population]\ncount = 0\nlinear = [1, 2]\nquadratic = [1, 2]\n"
        ),
        "population.count"
    );
}

#[test]
fn json_has_the_fields_the_cli_prints() {
    let m = parse(LISTED).market().unwrap();
    let r = solve(&m).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    for eq in ["competitive", "nash"] {
        for key in ["price", "loads", "bids", "total_cost", "certificate"] {
            assert!(!v[eq][key].is_null(), "{eq}.{key} missing");
        }
        assert_eq!(v[eq]["loads"].as_array().unwrap().len(), 4);
    }
    assert!(v["efficiency"]["price_ratio"].as_f64().unwrap() >= 1.0);
    assert!(v["efficiency"]["cost_ratio"].as_f64().unwrap() >= 1.0 - 1e-12);
    assert_eq!(v["competitive"]["kind"], "competitive");
    let run = simulate(
        &m,
        Behaviour::Strategic,
        PriceUpdate::Fast,
        Default::default(),
    )
    .unwrap();
    let v = serde_json::to_value(&run).unwrap();
    assert_eq!(v["termination"], "converged");
    assert!(v["trace"][0]["price"].is_number());
}

#[test]
fn simulation_plan() {
    let plan = parse(LISTED).simulation_plan().unwrap();
    assert_eq!(
        plan.behaviours,
        vec![Behaviour::Competitive, Behaviour::Strategic]
    );
    assert_eq!(plan.update, PriceUpdate::Paper { step: 0.1 });
    let sc = parse(&format!(
        "{LISTED}[simulation]\nbehaviour = \"strategic\"\nrule = \"fast\"\nstart_price = 3.0\nmax_rounds = 50\n"
    ));
    let plan = sc.simulation_plan().unwrap();
    assert_eq!(plan.behaviours, vec![Behaviour::Strategic]);
    assert_eq!(plan.update, PriceUpdate::Fast);
    assert_eq!(plan.settings.start_price, 3.0);
    assert_eq!(sc.simulation.as_ref().unwrap().rule, Some(RuleName::Fast));
    let bad = parse(&format!("{LISTED}[simulation]\nstep = -0.1\n"));
    assert_eq!(
        bad.simulation_plan().unwrap_err().field(),
        "simulation.step"
    );
    let bad = parse(&format!(
        "{LISTED}[simulation]\nrule = \"fast\"\ntolerance = 0.0\n"
    ));
    assert_eq!(
        bad.simulation_plan().unwrap_err().field(),
        "simulation.tolerance"
    );
    // Round trip through TOML.
    let sc = parse(LISTED);
    let again: BiddingScenario = toml::from_str(&toml::to_string(&sc).unwrap()).unwrap();
    assert_eq!(sc, again);
}
