//! §VIII case studies: the paper's findings on the embedded EcoGrid EU and Dutch pilot data.

mod common;

use common::rel;
use dr_stackelberg::data::{parse_csv, DutchPilotDay, EcoGridDay, DUTCH_PILOT_CSV, ECOGRID_EU_CSV};
use dr_stackelberg::*;

/// EcoGrid EU: equilibrium prices with a lower mean and a much lower standard deviation
/// than the experiment's; each consumer gets the experiment's demand G(t)/N and pays less.
#[test]
fn ecogrid_eu_findings() {
    let s = studies::ecogrid_eu_day().unwrap();
    assert_eq!((s.periods, s.consumers), (24, 2000));
    // E = Σ G / N = 54050 / 2000 kWh (the data's sum).
    assert!(rel(s.energy_need, 27.025) <= 1e-14);
    // The paper's minimum budget (Theorem 1 at the experiment's prices): 7.55 DKK.
    assert!(
        (s.budget_per_consumer - 7.55).abs() < 0.005,
        "{}",
        s.budget_per_consumer
    );
    assert!(s.eq11_valid && rel(s.budget_eq11, s.budget_per_consumer) <= 1e-10);
    assert!(s.price_mean < s.experiment_price_mean);
    assert!(
        s.price_std < 0.5 * s.experiment_price_std,
        "{} vs {}",
        s.price_std,
        s.experiment_price_std
    );
    assert!(s.payment_equilibrium < s.payment_experiment);
    assert!(s.savings_fraction > 0.05);
    // Homogeneous consumers share the supply: d(t) = G(t) / N.
    for (d, g) in s.demand_per_consumer.iter().zip(&s.supply) {
        assert!(rel(*d, g / 2000.0) <= 1e-10);
    }
    // Budgets fully spent (eq. 15): payment = budget.
    assert!(rel(s.payment_equilibrium, s.budget_per_consumer) <= 1e-12);
    // Remark 2: p(t) (G(t) + Z) is the same for every hour.
    let c0 = s.prices[0] * (s.supply[0] + 2000.0);
    for (p, g) in s.prices.iter().zip(&s.supply) {
        assert!(rel(p * (g + 2000.0), c0) <= 1e-12);
    }
    assert!(s.certificate.certificate.holds(1e-9));
}

/// The Dutch pilot: again a lower mean and a much lower standard deviation, and savings. At
/// the day-ahead tariff eq. 11 needs a negative evening demand, so the exact minimum budget
/// (d ≥ 0) is larger than eq. 11's and the savings smaller than eq. 11 would claim.
#[test]
fn dutch_pilot_findings() {
    let s = studies::dutch_pilot_day().unwrap();
    assert_eq!((s.periods, s.consumers), (24, 77));
    assert!(s.price_mean < s.experiment_price_mean);
    assert!(s.price_std < 0.5 * s.experiment_price_std);
    assert!(s.payment_equilibrium < s.payment_experiment);
    assert!(s.savings_fraction > 0.1, "{}", s.savings_fraction);
    assert!(!s.eq11_valid);
    assert!(s.budget_eq11 < s.budget_per_consumer);
    assert!(s.savings_fraction_eq11 > s.savings_fraction);
    // The exact minimum meets the energy need at the experiment's prices; eq. 11's does not.
    let p = Preferences::uniform(1.0, 1.0);
    let ok = best_response(
        &s.experiment_prices,
        s.budget_per_consumer * (1.0 + 1e-9),
        p,
    )
    .unwrap();
    let short = best_response(&s.experiment_prices, s.budget_eq11, p).unwrap();
    assert!(ok.energy >= s.energy_need && short.energy < s.energy_need);
    assert!(s.certificate.certificate.holds(1e-9));
}

/// Fig. 4: the EcoGrid classes and companies for T = 1..50 (every T to 20, then 24, 30,
/// 40, 50 to keep the debug test short) — utilities rise with T, revenues sum to the budgets,
/// the largest company earns most and charges least.
#[test]
fn ecogrid_period_sweep_findings() {
    let periods: Vec<usize> = (1..=20).chain([24, 30, 40, 50]).collect();
    let sweep = studies::ecogrid_period_sweep(&periods).unwrap();
    let b: f64 = 400.0 * (4.0 + 5.0 + 6.0 + 7.0 + 8.0);
    for pt in &sweep.points {
        assert!(
            pt.max_residual <= 1e-9,
            "T = {}: {}",
            pt.periods,
            pt.max_residual
        );
        assert!(rel(pt.revenues.iter().sum::<f64>(), b) <= 1e-10);
        for k in 1..4 {
            assert!(pt.revenues[k] < pt.revenues[k - 1]);
            assert!(pt.prices[k][0] > pt.prices[k - 1][0]);
        }
    }
    for n in 0..5 {
        for w in sweep.points.windows(2) {
            assert!(
                w[1].utilities[n] > w[0].utilities[n],
                "class {n}, T = {}",
                w[1].periods
            );
        }
        assert!(sweep.points.last().unwrap().utilities[n] < sweep.utility_limit[n].unwrap());
    }
    // For larger T the poorest class stops buying from some company: the water-filling case.
    assert!(sweep
        .points
        .iter()
        .any(|p| !p.water_filling_classes.is_empty()));
}

#[test]
fn embedded_data_matches_the_workspace_copy() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/stackelberg");
    for (name, text) in [
        ("ecogrid_eu_2014-12-05.csv", ECOGRID_EU_CSV),
        ("dutch_pilot_average_consumer.csv", DUTCH_PILOT_CSV),
    ] {
        if let Ok(disk) = std::fs::read_to_string(dir.join(name)) {
            assert_eq!(disk, text, "{name}");
        }
    }
    let e = EcoGridDay::embedded().unwrap();
    assert_eq!(e.flexible_power_kw.len(), 24);
    assert_eq!(e.flexible_power_kw.iter().sum::<f64>(), 54050.0);
    let d = DutchPilotDay::embedded().unwrap();
    assert_eq!(d.price_eur_per_kwh.len(), 24);
}

#[test]
fn csv_errors_name_line_and_column() {
    let h = ["hour", "a", "b"];
    let err = |text: &str| match parse_csv(text, "x.csv", &h).unwrap_err() {
        StackelbergError::Csv { line, column, .. } => (line, column),
        e => panic!("{e}"),
    };
    assert_eq!(err("hour,a,c\n0,1,2\n"), (1, 3));
    assert_eq!(err("hour,a,b\n0,1,2\n1,x,3\n"), (3, 2));
    assert_eq!(err("hour,a,b\n0,1,2\n1,2\n"), (3, 3));
    assert_eq!(err("hour,a,b\n0,1,2\n2,2,3\n"), (3, 1));
    assert_eq!(err("hour,a,b\n0,1,inf\n"), (2, 3));
    assert_eq!(err(""), (1, 1));
    assert_eq!(err("hour,a,b\n"), (2, 1));
    let e = EcoGridDay::from_csv(
        "hour,flexible_power_kw,price_dkk_per_mwh\n0,100,0\n",
        "e.csv",
    )
    .unwrap_err();
    assert!(e.to_string().contains("e.csv: line 2, column 3"), "{e}");
    let ok = parse_csv("hour, a ,b\r\n\r\n0,1.5,2\r\n1,2,3\r\n", "x.csv", &h).unwrap();
    assert_eq!(ok, vec![vec![0.0, 1.5, 2.0], vec![1.0, 2.0, 3.0]]);
}
