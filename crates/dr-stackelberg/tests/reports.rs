//! The typed reports of the `dr` command load back (`Deserialize`) to the same value, and
//! their claims are the printed identities (issue 13). (serde_json without its
//! `float_roundtrip` feature may move a float's last bit when parsing, so the round trip is
//! compared as JSON values parsed alike.)

fn same_json<T: serde::Serialize + serde::de::DeserializeOwned>(r: &T) {
    let text = serde_json::to_string(r).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), parsed);
}

use dr_stackelberg::{
    asymptotics_study, solve_equilibrium, solve_general_equilibrium, studies, DemandOutput,
    EquilibriumSettings, GeneralSettings, GeneralSolveReport, Scenario, SolveReport,
};

const SMALL: &str = r#"
model = "stackelberg"
periods = 3
[[companies]]
supply = [40.0, 60.0, 50.0]
[[companies]]
supply = [30.0, 30.0, 45.0]
[[consumers]]
count = 60
budget = 4.0
[[consumers]]
count = 40
budget = 6.5
"#;

#[test]
fn solve_report_round_trips_and_claims_eq15() {
    let s: Scenario = toml::from_str(SMALL).unwrap();
    let model = s.build().unwrap();
    let eq = solve_equilibrium(
        &model.market,
        &EquilibriumSettings {
            demands: DemandOutput::PerClass,
            ..EquilibriumSettings::default()
        },
    )
    .unwrap();
    let r = SolveReport::new("small.toml", &model, &eq);
    same_json(&r);
    let text = serde_json::to_string(&r).unwrap();
    // eq. 15 by hand from the report's own tables.
    let revenue: f64 = (0..2)
        .map(|k| (0..3).map(|t| r.prices[k][t] * r.supply[k][t]).sum::<f64>())
        .sum();
    assert!((revenue - (60.0 * 4.0 + 40.0 * 6.5)).abs() <= 1e-9 * revenue);
    assert!(r.claims[0].holds && r.claims[0].claim.contains("eq. 15"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["case"], "interior");
    assert_eq!(v["price_bound"][0][0], "free");
}

#[test]
fn general_and_study_reports_round_trip() {
    let text = SMALL.replace(
        "budget = 4.0",
        "budget = 4.0\nutility = \"power\"\nexponent = 0.3",
    );
    let s: Scenario = toml::from_str(&text).unwrap();
    let model = s.build_general().unwrap();
    let eq = solve_general_equilibrium(&model.market, &GeneralSettings::default()).unwrap();
    let r = GeneralSolveReport::new("g.toml", &model, eq);
    same_json(&r);
    assert_eq!(r.equilibrium.claims.len(), 3);
    let a = asymptotics_study(&studies::ecogrid_asymptotics_setting(4).unwrap()).unwrap();
    same_json(&a);
    same_json(&dr_stackelberg::ecogrid_demo().unwrap());
    // A case study report is the study itself, flattened beside its name and runs: the
    // Dutch pilot's 77 households (§VIII-B) at the top level, and it reads back.
    let d = dr_stackelberg::dutch_pilot_study().unwrap();
    same_json(&d);
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["study"], "dutch-pilot");
    assert_eq!(v["consumers"], 77);
    assert_eq!(v["prices"].as_array().map(Vec::len), Some(24));
    assert!(v.get("case_study").is_none(), "{v}");
    assert!(v["distributed"]["runs"]
        .as_array()
        .is_some_and(|r| r.len() == 2));
}
