//! The distributed schemes (chen-li-low-doyle-2010 eqs. 41–42, 48) as simulations:
//! convergence below the step bound `2/L`, detected oscillation above the instability
//! threshold, the fast Newton variant.

mod common;

use common::{max_diff, random_model};
use dr_convex::Trace;
use dr_shaping::*;

fn settings(behaviour: Behaviour, step: f64) -> SimulationSettings {
    SimulationSettings {
        behaviour,
        step: Some(step),
        max_rounds: 20_000,
        tolerance: 1e-10,
        ..Default::default()
    }
}

/// Projected gradient with `γ < 2/L` converges (a theorem for L-smooth concave welfare /
/// potential); the run ends `Converged` at the exact equilibrium's prices.
#[test]
fn gradient_scheme_converges_for_a_small_step() {
    for seed in 0..3 {
        let model = random_model(seed, 4, 3, seed == 1);
        for (behaviour, exact) in [
            (
                Behaviour::Competitive,
                competitive_equilibrium(&model).unwrap(),
            ),
            (Behaviour::Strategic, strategic_equilibrium(&model).unwrap()),
        ] {
            let step = 0.9 * critical_step(&model, behaviour).unwrap();
            let run = simulate(&model, &settings(behaviour, step)).unwrap();
            assert_eq!(
                run.termination,
                Termination::Converged,
                "{behaviour:?} seed {seed}"
            );
            assert_eq!(run.trace.len(), run.rounds);
            assert!(run.residual <= 1e-10);
            let scale = 1.0 + exact.prices.iter().fold(0.0f64, |m, p| m.max(*p));
            assert!(
                max_diff(&run.prices, &exact.prices) <= 1e-6 * scale,
                "{behaviour:?} seed {seed}"
            );
            assert!(max_diff(run.loads.as_slice(), exact.loads.as_slice()) <= 1e-6 * scale);
            // Every iterate stays in S_i (the projection of eq. 42).
            let c = model.customers();
            for i in 0..model.len() {
                let e: f64 = run.loads.customer(i).iter().sum();
                assert!(e >= c.min_energy()[i] - 1e-9 && e <= c.max_energy()[i] + 1e-9);
                assert!(run.loads.customer(i).iter().all(|&q| q >= 0.0));
            }
        }
    }
}

/// Identical customers, all periods interior: the linearised iteration has the eigenvalue
/// `1 − γ (κ + N c)`, so a step `2.5 × 2/(κ + N c)` (eigenvalue −4) cannot converge; the
/// simulation reports the oscillation instead of a result.
#[test]
fn gradient_scheme_reports_non_convergence_for_a_large_step() {
    let (n, periods) = (5, 3);
    let model = ShapingModel::quadratic(
        periods,
        vec![3.0; n * periods],
        vec![1.0; n * periods],
        vec![0.0; n],
        vec![f64::INFINITY; n],
        vec![0.4; periods],
        vec![0.1; periods],
    )
    .unwrap();
    let crit = critical_step(&model, Behaviour::Competitive).unwrap();
    assert!((crit - 2.0 / (1.0 + n as f64 * 0.4)).abs() < 1e-15);
    let run = simulate(&model, &settings(Behaviour::Competitive, 2.5 * crit)).unwrap();
    assert!(
        matches!(
            run.termination,
            Termination::Oscillating | Termination::Diverged
        ),
        "{:?}",
        run.termination
    );
    assert!(run.rounds < 20_000);
    assert!(run.residual > 1e-3);
    // The same model converges just below the bound.
    let run = simulate(&model, &settings(Behaviour::Competitive, 0.95 * crit)).unwrap();
    assert_eq!(run.termination, Termination::Converged);
}

/// A period-2 cycle by hand: one customer, one period, `γ (κ + c) = 3`: the iterates
/// alternate between 0 and `γ (θ − e)`.
#[test]
fn period_two_cycle() {
    let (theta, kappa, c, e) = (2.0, 1.0, 2.0, 0.5);
    let model = ShapingModel::quadratic(
        1,
        vec![theta],
        vec![kappa],
        vec![0.0],
        vec![f64::INFINITY],
        vec![c],
        vec![e],
    )
    .unwrap();
    let gamma = 3.0 / (kappa + c);
    let mut s = settings(Behaviour::Competitive, gamma);
    s.oscillation_window = 8;
    let run = simulate(&model, &s).unwrap();
    assert_eq!(run.termination, Termination::Oscillating);
    for r in &run.trace {
        let q = r.total_load[0];
        let expected = if r.round % 2 == 0 {
            0.0
        } else {
            gamma * (theta - e)
        };
        assert!((q - expected).abs() < 1e-12, "round {}: {q}", r.round);
    }
}

/// The fast variant (price Newton with exact responses) reaches the equilibrium in a
/// handful of rounds and reports them.
#[test]
fn newton_scheme_is_fast() {
    for seed in 0..4 {
        let model = random_model(seed, 6, 4, seed % 2 == 1);
        for behaviour in [Behaviour::Competitive, Behaviour::Strategic] {
            let exact = match behaviour {
                Behaviour::Competitive => competitive_equilibrium(&model).unwrap(),
                Behaviour::Strategic => strategic_equilibrium(&model).unwrap(),
            };
            let run = simulate(
                &model,
                &SimulationSettings {
                    scheme: Scheme::Newton,
                    behaviour,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(run.termination, Termination::Converged);
            assert!(run.rounds <= 40, "{} rounds", run.rounds);
            assert_eq!(run.trace.len(), run.rounds);
            assert!(max_diff(&run.prices, &exact.prices) <= 1e-8 * (1.0 + exact.prices[0].abs()));
        }
    }
}

/// The stepper API: one round per `step` (the first two by hand, neither ending the run),
/// then the executor runs the rest; the rounds played by hand count.
#[test]
fn stepper_api() {
    let model = random_model(2, 3, 2, false);
    let s = SimulationSettings::default();
    let step = 0.5 * critical_step(&model, Behaviour::Competitive).unwrap();
    let mut g = GradientScheme::new(&model, Behaviour::Competitive, step, &s).unwrap();
    let Step::Next(first) = g.step() else {
        panic!("round 0 ended the run")
    };
    assert_eq!(first.round, 0);
    assert!(first.welfare.is_some());
    let Step::Next(second) = g.step() else {
        panic!("round 1 ended the run")
    };
    assert_eq!(second.round, 1);
    let run = g.run();
    assert_eq!(run.termination, Termination::Converged);
    assert_eq!(run.trace.len() + 2, run.rounds);
}

/// The price Newton as a public stepper: rounds until convergence, the same prices as the
/// solver.
#[test]
fn price_newton_stepper() {
    let model = random_model(4, 5, 3, true);
    let exact = strategic_equilibrium(&model).unwrap();
    let mut newton = PriceNewton::strategic(&model, SolverSettings::default()).unwrap();
    let mut rounds = 0;
    let (termination, played) = {
        let mut check = callback(|r: &NewtonRound| {
            rounds += 1;
            assert_eq!(r.prices.len(), 3);
            std::ops::ControlFlow::Continue(())
        });
        let run = Executor::new(&mut newton).observe(&mut check).run();
        (run.termination, run.rounds)
    };
    assert_eq!(termination, Termination::Converged);
    assert_eq!(played, rounds);
    assert_eq!(newton.termination(), Some(Termination::Converged));
    assert_eq!(newton.evaluations(), rounds + 1);
    assert!(max_diff(newton.prices(), &exact.prices) < 1e-12);
    let custom =
        ShapingModel::new(model.customers().clone(), common::cubic_supply(3, 0.1)).unwrap();
    assert_eq!(
        PriceNewton::strategic(&custom, SolverSettings::default())
            .unwrap_err()
            .field(),
        "supply"
    );
    assert!(PriceNewton::competitive(&custom, SolverSettings::default()).is_ok());
}

/// Trace and callback observers on the gradient scheme: an Every(5) trace keeps the rounds
/// 0, 5, 10, … and the last, each equal to the full trace's round (and the loads recorder
/// gives the round's own loads `q^k`, whose total is the round's `Q^k`); a callback that
/// stops once the residual is below 1e-3 ends the run at the first such round.
#[test]
fn observers_on_the_gradient_scheme() {
    let model = random_model(1, 4, 3, false);
    let step = 0.5 * critical_step(&model, Behaviour::Competitive).unwrap();
    let s = SimulationSettings {
        record_loads: 4,
        ..settings(Behaviour::Competitive, step)
    };
    let full = GradientScheme::new(&model, Behaviour::Competitive, step, &s)
        .unwrap()
        .run();
    assert_eq!(full.termination, Termination::Converged);
    assert!(full.rounds > 12, "{}", full.rounds);
    for r in &full.trace {
        let loads = r.loads.as_ref().unwrap();
        for t in 0..3 {
            let total: f64 = loads.iter().map(|q| q[t]).sum();
            assert!((total - r.total_load[t]).abs() <= 1e-12 * r.total_load[t].abs().max(1e-300));
        }
    }
    let mut every = Trace::new(TraceMode::Every(5));
    let g = GradientScheme::new(&model, Behaviour::Competitive, step, &s).unwrap();
    let run = g.executor().observe(&mut every).run();
    assert_eq!(run.termination, Termination::Converged);
    let kept: Vec<usize> = every.rounds().iter().map(|(k, _)| *k).collect();
    let mut expected: Vec<usize> = (0..full.rounds).step_by(5).collect();
    if (full.rounds - 1) % 5 != 0 {
        expected.push(full.rounds - 1);
    }
    assert_eq!(kept, expected);
    for (k, r) in every.rounds() {
        assert_eq!(r.prices, full.trace[*k].prices);
        assert_eq!(r.residual, full.trace[*k].residual);
    }
    let first_small = full.trace.iter().position(|r| r.residual < 1e-3).unwrap();
    assert!(first_small + 1 < full.rounds);
    let mut stop = callback(|r: &Round| {
        if r.residual < 1e-3 {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    let g = GradientScheme::new(&model, Behaviour::Competitive, step, &s).unwrap();
    let run: SimulationRun = g.executor().observe(&mut stop).run().into();
    assert_eq!(run.termination, Termination::Stopped);
    assert_eq!(run.rounds, first_small + 1);
}
