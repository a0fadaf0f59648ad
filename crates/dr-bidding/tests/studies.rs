//! The scenario sweep of li-chen-dahleh-2015 §VII-B (Figs. 3–6): the paper's qualitative
//! facts, Corollary 4 on scenario 1, and independence of the thread count.

#![allow(clippy::needless_range_loop)]

use dr_bidding::studies::{
    paper_scenario_sweep, scenario_market, scenario_sweep, ScenarioSweep, SweepRow,
};

fn at(rows: &[&SweepRow], n: usize) -> SweepRow {
    rows.iter()
        .find(|r| r.customers == n)
        .map(|r| (*r).clone())
        .unwrap()
}

#[test]
fn sweep_shows_the_papers_facts() {
    let sweep: ScenarioSweep = paper_scenario_sweep().unwrap();
    assert_eq!(sweep.rows.len(), 3 * 49);
    for s in 1..=3u8 {
        let rows = sweep.scenario(s);
        assert_eq!(rows.len(), 49);
        for r in &rows {
            assert!(r.nash_max_relative_gain <= 1e-9);
            assert!(r.price_ratio >= 1.0 && r.cost_ratio >= 1.0 - 1e-12);
        }
        // Fact 2: the differences fall towards 1 as n grows (monotonically here).
        for w in rows.windows(2) {
            assert!(
                w[1].price_ratio <= w[0].price_ratio * (1.0 + 1e-12),
                "scenario {s}"
            );
            assert!(
                w[1].cost_ratio <= w[0].cost_ratio * (1.0 + 1e-12),
                "scenario {s}"
            );
        }
        let last = at(&rows, 99);
        assert!(
            last.price_ratio < 1.1 && last.cost_ratio < 1.05,
            "scenario {s}: {last:?}"
        );
    }
    // Fact 1 (Corollary 4): scenario 1 has C*/C̄ = 1 and p*/p̄ = (n−1)/(n−2).
    for r in sweep.scenario(1) {
        let n = r.customers as f64;
        assert!((r.cost_ratio - 1.0).abs() < 1e-12);
        assert!((r.price_ratio - (n - 1.0) / (n - 2.0)).abs() < 1e-12 * r.price_ratio);
    }
    let (s2, s3) = (sweep.scenario(2), sweep.scenario(3));
    // Fact 3: for small n one low-cost customer is much worse than two.
    for n in [3, 5, 7] {
        let (a, b) = (at(&s2, n), at(&s3, n));
        assert!(a.price_ratio > b.price_ratio, "n = {n}");
        assert!(
            a.cost_ratio - 1.0 > 2.0 * (b.cost_ratio - 1.0),
            "n = {n}: {a:?} {b:?}"
        );
    }
    // Fact 4: for large n scenario 3 has the larger ratios.
    for n in [81, 99] {
        let (a, b) = (at(&s2, n), at(&s3, n));
        assert!(
            b.price_ratio > a.price_ratio && b.cost_ratio > a.cost_ratio,
            "n = {n}"
        );
    }
    // Fact 5 (Figs. 5–6): low-cost customers shed less at the NE, high-cost ones more.
    for r in s2.iter().chain(s3.iter()) {
        assert!(r.low_cost_load_nash < r.low_cost_load_competitive);
        assert!(r.high_cost_load_nash > r.high_cost_load_competitive);
    }
}

#[test]
fn sweep_does_not_depend_on_threads() {
    let sizes = [3, 4, 10, 25];
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| scenario_sweep(10.0, &sizes).unwrap())
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn scenario_markets_are_validated() {
    assert_eq!(
        scenario_market(4, 10, 10.0).unwrap_err().field(),
        "scenario"
    );
    assert_eq!(
        scenario_market(3, 1, 10.0).unwrap_err().field(),
        "customers"
    );
    assert!(scenario_sweep(10.0, &[]).is_err());
    assert!(scenario_sweep(10.0, &[2]).is_err()); // Corollary 2
}

/// Above the kernel's parallel threshold (65 536) every pass runs on rayon; the equilibria,
/// the gains and an iterative run are bit-identical for 1 and 3 threads.
#[test]
fn large_population_does_not_depend_on_threads() {
    use dr_bidding::{
        nash_gain, simulate, solve, Behaviour, Market, PriceUpdate, SimulationSettings,
    };
    let m = Market::drawn(70_000, [1.0, 2.0], [0.5, 4.5], 3, 7_000.0).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let r = solve(&m).unwrap();
                let g = nash_gain(&m, &r.nash.bids).unwrap();
                let settings = SimulationSettings {
                    max_rounds: 5,
                    ..SimulationSettings::default()
                };
                let s = simulate(&m, Behaviour::Strategic, PriceUpdate::Fast, settings).unwrap();
                (r, g, s)
            })
    };
    let (a, b) = (run(1), run(3));
    assert!(a.0.competitive.certificate.holds(1e-9) && a.0.nash.certificate.holds(1e-9));
    assert!(a.1.max_relative_gain <= 1e-9);
    assert_eq!(a, b);
}
