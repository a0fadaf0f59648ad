//! The scenario format and the bundled 24-hour day (data/shaping_day.toml).

mod common;

use dr_shaping::*;

fn bundled() -> ShapingScenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/shaping_day.toml");
    let text = std::fs::read_to_string(path).expect("bundled scenario");
    toml::from_str(&text).expect("valid scenario")
}

#[test]
fn bundled_day_solves_with_certificates() {
    let s = bundled();
    let model = s.to_model().unwrap();
    assert_eq!(model.len(), 100);
    assert_eq!(model.periods(), 24);
    let ce = competitive_equilibrium(&model).unwrap();
    assert!(ce.certificate.holds(1e-8), "{:?}", ce.certificate);
    let ne = strategic_equilibrium(&model).unwrap();
    assert!(ne.certificate.holds(1e-8), "{:?}", ne.certificate);
    assert!(nash_gain(&model, &ne.loads).unwrap().max_relative_gain < 1e-8);
    assert!(ne.welfare <= ce.welfare);
    // What the scenario is built to show: evening-peaking preferences and a steeper peak
    // cost, so time-varying prices flatten the load relative to a flat tariff at the same
    // average price.
    assert!(
        ce.peak_to_average < ce.unshaped.peak_to_average,
        "{} vs {}",
        ce.peak_to_average,
        ce.unshaped.peak_to_average
    );
    // Electric vehicles (customers 75..90) have a fixed daily energy of 18 kWh ± jitter.
    for i in 75..90 {
        let e: f64 = ce.loads.customer(i).iter().sum();
        let c = model.customers();
        assert!((e - c.min_energy()[i]).abs() < 1e-9 && c.min_energy()[i] == c.max_energy()[i]);
    }
    let settings = s.simulation_settings().unwrap();
    assert_eq!(settings.scheme, Scheme::Gradient);
}

#[test]
fn json_dump_has_the_documented_fields() {
    let model = bundled().to_model().unwrap();
    let ce = competitive_equilibrium(&model).unwrap();
    let v: serde_json::Value = serde_json::to_value(&ce).unwrap();
    assert_eq!(v["prices"].as_array().unwrap().len(), 24);
    assert_eq!(v["loads"].as_array().unwrap().len(), 100);
    assert_eq!(v["loads"][3].as_array().unwrap().len(), 24);
    assert_eq!(v["loads"][3][17].as_f64().unwrap(), ce.loads.get(3, 17));
    assert_eq!(v["total_load"].as_array().unwrap().len(), 24);
    assert_eq!(v["peak_to_average"].as_f64().unwrap(), ce.peak_to_average);
    assert!(v["unshaped"]["peak_to_average"].is_number());
    assert_eq!(v["certificate"]["status"], "Solved");
    assert_eq!(v["behaviour"], "competitive");
    assert_eq!(v["method"], "newton");
}

#[test]
fn scenario_round_trips_and_jitter_is_seeded() {
    let s = bundled();
    let text = toml::to_string(&s).unwrap();
    let back: ShapingScenario = toml::from_str(&text).unwrap();
    assert_eq!(back, s);
    let json = serde_json::to_string(&s).unwrap();
    let back: ShapingScenario = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    // Same seed, same population; another seed, another one.
    let a = s.to_model().unwrap();
    let b = s.to_model().unwrap();
    let mut other = s.clone();
    other.seed += 1;
    let c = other.to_model().unwrap();
    let ua = |m: &ShapingModel| m.customers().utility_value(0, 19, 1.0);
    assert_eq!(ua(&a), ua(&b));
    assert_ne!(ua(&a), ua(&c));
}

fn small(extra: &str) -> String {
    format!(
        "periods = 2\n[supply]\ncurvature = 1.0\n[[customers]]\nutility = \"quadratic\"\n\
         theta = [3.0, 2.0]\nkappa = 1.0\n{extra}"
    )
}

/// Findings 8–9 of the honest-results issue: a per-period value of the wrong type says
/// what is expected (not "untagged enum"); a class count is a whole number of customers
/// (3.0 is read as 3, 2.5 is rejected).
#[test]
fn per_period_and_count_messages() {
    let bad = small("").replace("curvature = 1.0", "curvature = true");
    let e = toml::from_str::<ShapingScenario>(&bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a number or an array of T numbers"), "{e}");
    assert!(!e.contains("untagged"), "{e}");
    let bad = small("").replace("kappa = 1.0", "kappa = [1.0, \"x\"]");
    let e = toml::from_str::<ShapingScenario>(&bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("element [1]"), "{e}");
    let ok: ShapingScenario = toml::from_str(&small("count = 3.0\n")).unwrap();
    assert_eq!(ok.customers[0].count, 3);
    // Three identical customers (no jitter): one row standing for 3 customers.
    let model = ok.to_model().unwrap();
    assert_eq!((model.population(), model.len()), (3, 1));
    let jittered: ShapingScenario = toml::from_str(&small(
        "count = 3.0
jitter = 0.1
",
    ))
    .unwrap();
    assert_eq!(jittered.to_model().unwrap().len(), 3);
    for c in ["count = 2.5\n", "count = -1\n", "count = nan\n"] {
        let e = toml::from_str::<ShapingScenario>(&small(c))
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number of customers"), "{c}: {e}");
    }
}

/// The memory estimate is computed from the counts without allocating, grows with them,
/// covers at least the loads of both equilibria, and saturates instead of overflowing.
#[test]
fn memory_estimate_from_the_counts() {
    let one: ShapingScenario = toml::from_str(&small("")).unwrap();
    let many: ShapingScenario = toml::from_str(&small("count = 1000000\njitter = 0.1\n")).unwrap();
    assert!(many.memory_estimate() > one.memory_estimate());
    assert!(many.memory_estimate() >= 2 * 1_000_000 * 2 * 8);
    // A class of identical customers is stored once: its size does not grow with its count.
    let identical: ShapingScenario = toml::from_str(&small("count = 1000000\n")).unwrap();
    assert_eq!(identical.memory_estimate(), one.memory_estimate());
    let huge: ShapingScenario = toml::from_str(
        &small("count = 1000000000000\njitter = 0.1\n")
            .replace("periods = 2", "periods = 1000000000"),
    )
    .unwrap();
    assert_eq!(huge.memory_estimate(), u64::MAX);
}

/// Library builders never abort on huge sizes: a count whose `N·T` overflows and a `T`
/// that cannot be allocated are typed errors naming the field.
#[test]
fn huge_sizes_are_typed_errors() {
    let s: ShapingScenario =
        toml::from_str(&small(&format!("count = {}\njitter = 0.1\n", u64::MAX / 2))).unwrap();
    let e = s.to_model().unwrap_err();
    assert!(matches!(e, ShapingError::TooLarge { .. }), "{e}");
    assert_eq!(e.field(), "customers[0].count");
    // Identical customers are one row, but their number must still be counted: two
    // classes whose counts overflow together are refused, naming the second.
    let text = small(&format!("count = {}\n", u64::MAX / 2 + 1));
    let twice = format!(
        "{text}\n[[customers]]\n{}",
        text.split("[[customers]]\n").nth(1).unwrap()
    );
    let s: ShapingScenario = toml::from_str(&twice).unwrap();
    let e = s.to_model().unwrap_err();
    assert!(matches!(e, ShapingError::TooLarge { .. }), "{e}");
    assert_eq!(e.field(), "customers[1].count");
    let mut s: ShapingScenario = toml::from_str(&small("")).unwrap();
    s.periods = usize::MAX;
    s.customers[0].theta = Some(PerPeriod::Constant(1.0));
    let e = s.to_model().unwrap_err();
    assert!(matches!(e, ShapingError::TooLarge { .. }), "{e}");
    assert_eq!(e.field(), "periods");
    let mut c = Customers::new(1 << 40).unwrap();
    let e = c.try_reserve(1 << 40, "count").unwrap_err();
    assert_eq!(e.field(), "count");
}
