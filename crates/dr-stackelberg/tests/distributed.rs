//! The distributed price algorithm (eq. 21): convergence for δ ≥ 0 (Theorem 4), divergence
//! for some δ < 0, the faster rules, and the stepper's trace and termination.

mod common;

use dr_stackelberg::*;
use proptest::prelude::*;

fn exact(market: &Market) -> Vec<f64> {
    let eq = solve_equilibrium(
        market,
        &EquilibriumSettings {
            check_energy_need: false,
            ..Default::default()
        },
    )
    .unwrap();
    eq.prices.into_iter().flatten().collect()
}

fn error(run: &DistributedRun, p: &[f64]) -> f64 {
    run.prices
        .iter()
        .flatten()
        .zip(p)
        .map(|(a, b)| (a - b).abs() / b)
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Theorem 4: for δ ≥ 0 eq. 21 converges to the equilibrium prices from any positive
    /// start; the accelerated rules reach the same prices.
    #[test]
    fn converges_for_nonnegative_delta(
        market in common::market(),
        delta_scale in 0.0f64..1.0,
        start in 0.1f64..10.0,
    ) {
        let p = exact(&market);
        // δ on the scale of ε = (G + Z)/p at the equilibrium; start within a factor 10.
        let scale = market.supply().iter().zip(&p).map(|(g, p)| (g + market.zeta_total()) / p).fold(f64::INFINITY, f64::min);
        let start = start * p.iter().sum::<f64>() / p.len() as f64;
        for update in [PriceUpdate::Paper { delta: delta_scale * scale }, PriceUpdate::Secant, PriceUpdate::Steffensen] {
            let run = simulate(&market, &DistributedSettings {
                update,
                initial: InitialPrices::Uniform(start),
                max_rounds: 20_000,
                ..Default::default()
            }).unwrap();
            prop_assert_eq!(run.termination, Termination::Converged, "{:?}", update);
            prop_assert!(error(&run, &p) <= 1e-6, "{:?}: {}", update, error(&run, &p));
            prop_assert_eq!(run.trace.len(), run.rounds + 1);
            prop_assert!(run.trace.last().unwrap().mismatch <= 1e-9);
        }
    }
}

/// δ < 0: with ε = (G + Z)/p + δ close to 0 the step overshoots and the prices leave the
/// positive orthant (the failure Theorem 4's condition rules out), while δ = 0 converges
/// from the same start.
#[test]
fn diverges_for_some_negative_delta() {
    let study = studies::dutch_pilot_day().unwrap();
    let market = Market::new(
        24,
        vec![Company::new(study.supply.clone())],
        ConsumerClasses::homogeneous(77.0, study.budget_per_consumer, 0.0),
    )
    .unwrap();
    let p = exact(&market);
    let z = market.zeta_total();
    let min_eps = market
        .supply()
        .iter()
        .zip(&p)
        .map(|(g, p)| (g + z) / p)
        .fold(f64::INFINITY, f64::min);
    let start: Vec<Vec<f64>> = vec![p.iter().map(|x| 1.05 * x).collect()];
    let run = simulate(
        &market,
        &DistributedSettings {
            update: PriceUpdate::Paper {
                delta: -0.8 * min_eps,
            },
            initial: InitialPrices::Given(start.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        matches!(
            run.termination,
            Termination::NonPositivePrice { .. } | Termination::Diverged
        ),
        "{:?}",
        run.termination
    );
    let first = run.trace[0].mismatch;
    assert!(run.trace.iter().map(|r| r.mismatch).fold(0.0, f64::max) > first);
    let ok = simulate(
        &market,
        &DistributedSettings {
            update: PriceUpdate::Paper { delta: 0.0 },
            initial: InitialPrices::Given(start),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(ok.termination, Termination::Converged);
}

/// The paper's observation (Fig. 5): larger δ converges more slowly; the fast rules need
/// fewer rounds than eq. 21 with δ = 0 on the EcoGrid classes (water-filling equilibrium)
/// and Steffensen's is exact within a few rounds in the interior Dutch case.
#[test]
fn rounds_by_rule() {
    let runs = studies::ecogrid_distributed(
        24,
        &[
            PriceUpdate::Paper { delta: 0.0 },
            PriceUpdate::Paper { delta: 5e3 },
            PriceUpdate::Paper { delta: 2e4 },
            PriceUpdate::Secant,
            PriceUpdate::Steffensen,
        ],
    )
    .unwrap();
    for r in &runs {
        assert_eq!(r.run.termination, Termination::Converged, "{:?}", r.update);
        assert!(r.max_price_error <= 1e-6);
    }
    let rounds: Vec<usize> = runs.iter().map(|r| r.run.rounds).collect();
    assert!(rounds[0] < rounds[1] && rounds[1] < rounds[2], "{rounds:?}");
    assert!(rounds[3] < rounds[0] && rounds[4] < rounds[0], "{rounds:?}");
    let dutch =
        studies::dutch_distributed(&[PriceUpdate::Paper { delta: 0.0 }, PriceUpdate::Steffensen])
            .unwrap();
    assert!(
        dutch[1].run.rounds <= 8 && dutch[1].run.rounds < dutch[0].run.rounds,
        "{}",
        dutch[1].run.rounds
    );
}

/// The stepper: one round per step, a trace with prices when asked, an explicit end.
#[test]
fn stepper_trace_and_termination() {
    let market = Market::new(
        2,
        vec![Company::new(vec![50.0, 80.0])],
        ConsumerClasses::homogeneous(20.0, 3.0, 0.0),
    )
    .unwrap();
    let settings = DistributedSettings {
        record_prices: true,
        max_rounds: 3,
        ..Default::default()
    };
    // By hand: round 0 measures the starting prices (the stepper's own record has no
    // prices; the executor's recorder adds them).
    let mut sim = DistributedPricing::new(&market, &settings).unwrap();
    let Step::Next(first) = sim.step() else {
        panic!("round 0 ended the run")
    };
    assert_eq!(first.round, 0);
    assert!(first.prices.is_none());
    let run: DistributedRun = DistributedPricing::new(&market, &settings)
        .unwrap()
        .executor()
        .run()
        .into();
    assert_eq!(run.trace[0].mismatch, first.mismatch);
    assert!(run.trace.iter().all(|r| r.prices.is_some()));
    let end = run.termination;
    assert!(matches!(
        end,
        Termination::MaxRounds | Termination::Converged
    ));
    // At most max_rounds updates, one measured round more than updates.
    assert!(run.rounds <= 3);
    assert_eq!(run.trace.len(), run.rounds + 1);
    // The prices reported are those the last round measured.
    assert_eq!(run.trace.last().unwrap().prices.as_ref(), Some(&run.prices));
    let e = DistributedPricing::new(
        &market,
        &DistributedSettings {
            initial: InitialPrices::Uniform(-1.0),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("initial_price"), "{e}");
    let e = DistributedPricing::new(
        &market,
        &DistributedSettings {
            update: PriceUpdate::Paper { delta: f64::NAN },
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("delta"), "{e}");
}

/// Remark 3 from the first announcement: the automatic start `B / Σ G = 10` lies above
/// `p_max = 0.5`, so the companies start at the cap. There (ζ = 1, budget 20, K T = 2) each
/// of the 10 consumers asks `(20 + 1)/(2 · 0.5) − 1 = 20` per period, 200 against the supply
/// 10: the capped price is already where it belongs and the run stops at round 0 with the
/// prices at the cap (not at the unbounded start).
#[test]
fn the_start_price_respects_the_cap() {
    let market = dr_stackelberg::Market::new(
        2,
        vec![dr_stackelberg::Company::new(vec![10.0, 10.0]).with_price_bounds(0.0, 0.5)],
        dr_stackelberg::ConsumerClasses::homogeneous(10.0, 20.0, 0.0),
    )
    .unwrap();
    let run =
        dr_stackelberg::simulate(&market, &dr_stackelberg::DistributedSettings::default()).unwrap();
    assert_eq!(run.termination, dr_stackelberg::Termination::Converged);
    assert_eq!(run.prices, vec![vec![0.5, 0.5]]);
}
