//! Learning dynamics: where they converge to the NE (and so to the planner's optimum) and
//! where they provably or observably fail.

mod common;

use dr_mechanism::{
    solve_planner, CentralizedMechanism, DistributedMechanism, Learner, LearningOutcome,
    LearningRecord, LearningRule, LearningSettings, MechanismSettings, Model, Observer,
    PlannerSettings, Termination, User,
};

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn price(step: f64) -> LearningSettings {
    LearningSettings {
        rule: LearningRule::PriceAdjustment {
            step,
            consensus: 0.5,
        },
        max_rounds: 5_000,
        tolerance: 1e-10,
    }
}

#[test]
fn price_adjustment_converges_to_the_optimum_on_random_instances() {
    for seed in 0..5u64 {
        let (n, t) = (2 + seed as usize % 4, 1 + seed as usize % 3);
        let model = common::random_model(seed, n, t);
        let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
        let settings = price(0.1);
        // Centralized.
        let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
        let out = Learner::new(&cm, cm.starting_profile(), settings)
            .unwrap()
            .run();
        assert_eq!(out.termination, Termination::Converged, "seed {seed}");
        assert!(out.rounds > 0 && out.trace.len() == out.rounds + 1);
        assert!(out.trace.iter().enumerate().all(|(k, r)| r.round == k));
        assert!(cm.evaluate(&out.profile).unwrap().max_relative_gain <= 1e-10);
        assert!(dist(&out.profile.y, &opt.allocation) < 1e-4, "seed {seed}");
        assert!(cm.theorem1(&out.profile).unwrap().holds(1e-4));
        // Distributed, on a random tree and on a graph with a cycle.
        for edges in [
            common::random_tree(seed, n),
            common::random_cyclic_graph(seed, n, usize::from(n >= 3)),
        ] {
            let dm = DistributedMechanism::new(
                &model,
                common::network(n, &edges, 0),
                MechanismSettings::default(),
            )
            .unwrap();
            let out = Learner::new(&dm, dm.starting_profile(), settings)
                .unwrap()
                .run();
            assert_eq!(out.termination, Termination::Converged, "seed {seed}");
            assert!(dm.evaluate(&out.profile).unwrap().max_relative_gain <= 1e-10);
            assert!(dist(&out.profile.y, &opt.allocation) < 1e-4, "seed {seed}");
        }
    }
}

/// T = 1, four users `θ x − ½x²`, `p = 0`, `p0 = 0.5`, `Σ x ≤ 2`: `λ = 2`, `x = 0.5`.
/// On the symmetric profile, with `d_k = q_k − λ` and the own demand seen through its proxy
/// one round late, the price step is `q_{k+1} = q_k − (γ/N)((N−1) d_k + d_{k−1})`, i.e.
/// `d_{k+1} = (1 − γ(N−1)/N) d_k − (γ/N) d_{k−1}`: roots of modulus ½ for `γ = 1`
/// (converges), a root −3 for `γ = 6` (oscillates; the clamp `q ≥ 0` keeps it bounded).
fn capped_community() -> Model {
    let mut b = Model::builder(vec![0.0], 0.5);
    for _ in 0..4 {
        b = b.user(User::quadratic(&[3.0], &[1.0]));
    }
    b.community_total(2.0).build().unwrap()
}

#[test]
fn price_adjustment_step_size_decides_convergence() {
    let model = capped_community();
    let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
    assert!((opt.constraint_multipliers[0] - 2.0).abs() < 1e-10);
    let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let good = Learner::new(&cm, cm.starting_profile(), price(1.0))
        .unwrap()
        .run();
    assert_eq!(good.termination, Termination::Converged);
    assert!(dist(&good.profile.y, &[0.5; 4]) < 1e-4);
    assert!(good.profile.q.iter().all(|q| (q - 2.0).abs() < 1e-4));
    let mut bad = price(6.0);
    bad.max_rounds = 500;
    let out = Learner::new(&cm, cm.starting_profile(), bad).unwrap().run();
    assert_eq!(out.termination, Termination::MaxRounds);
    // Still oscillating at the end, not creeping towards the NE.
    assert!(out.trace[out.trace.len() - 20..]
        .iter()
        .all(|r| r.max_gain > 1e-2));
}

#[test]
fn price_adjustment_diverges_when_a_log_demand_stops_existing() {
    // v0 = 4 ln(x + 1), v1 = 0.5 ln(x + 1), p = 0.5, p0 = 0.5 (T = 1), and the shared row
    // x0 − 2 x1 ≤ 0. KKT: 4/(x0+1) = 1 + λ, 0.5/(x1+1) = 1 − 2λ, x0 = 2 x1
    // ⇒ λ² + 5λ − 2 = 0, λ = (√33 − 5)/2. User 1 pays 1 − 2q: a price step that overshoots
    // q > ½ makes its energy free and its log demand unbounded.
    let model = Model::builder(vec![0.5], 0.5)
        .user(User::log(&[4.0], 1.0))
        .user(User::log(&[0.5], 1.0))
        .row(&[(0, 0, 1.0), (1, 0, -2.0)], 0.0)
        .build()
        .unwrap();
    let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
    let lambda = (33f64.sqrt() - 5.0) / 2.0;
    assert!((opt.constraint_multipliers[0] - lambda).abs() < 1e-10);
    assert!((opt.allocation[0] - (4.0 / (1.0 + lambda) - 1.0)).abs() < 1e-10);
    let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    // γ is taken in the data's units (γ P/Q, P/Q = √(4 · 0.5) / 1 = √2 here).
    let out = Learner::new(&cm, cm.starting_profile(), price(2.0 / 2f64.sqrt()))
        .unwrap()
        .run();
    assert_eq!(
        out.termination,
        Termination::Diverged,
        "{:?} {}",
        out.trace.last(),
        out.rounds
    );
    let ok = Learner::new(&cm, cm.starting_profile(), price(0.1 / 2f64.sqrt()))
        .unwrap()
        .run();
    assert_eq!(ok.termination, Termination::Converged);
    assert!(dist(&ok.profile.y, &opt.allocation) < 1e-4);
}

#[test]
fn own_bounds_are_priced_exactly() {
    // v = ln(x + 1), p = 3, p0 = 0.5, x ≥ −0.2: λ = 3.5 − 1/0.8 = 2.25. The users price their
    // own bound rows as box multipliers, so even a large step cannot overshoot them.
    let model = Model::builder(vec![3.0], 0.5)
        .user(User::log(&[1.0], 1.0))
        .user(User::log(&[1.0], 1.0))
        .lower_bounds(0, &[-0.2])
        .lower_bounds(1, &[-0.2])
        .build()
        .unwrap();
    let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let out = Learner::new(&cm, cm.starting_profile(), price(20.0))
        .unwrap()
        .run();
    assert_eq!(out.termination, Termination::Converged);
    assert!(dist(&out.profile.y, &[-0.2, -0.2]) < 1e-9);
    assert!(
        out.profile.q.iter().all(|q| (q - 2.25).abs() < 1e-4),
        "{:?}",
        out.profile.q
    );
}

fn best_response(damping: f64, max_rounds: usize) -> LearningSettings {
    LearningSettings {
        rule: LearningRule::BestResponse { damping },
        max_rounds,
        tolerance: 1e-10,
    }
}

#[test]
fn best_response_dynamic_converges_with_a_single_peak_period() {
    // θ = (3, 1), κ = 1, p = 0, p0 = 0.2: the peak is period 0 alone, μ = (0.2, 0),
    // x = (2.8, 1).
    let model = Model::builder(vec![0.0, 0.0], 0.2)
        .user(User::quadratic(&[3.0, 1.0], &[1.0, 1.0]))
        .user(User::quadratic(&[3.0, 1.0], &[1.0, 1.0]))
        .build()
        .unwrap();
    let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let out = Learner::new(&cm, cm.starting_profile(), best_response(0.5, 2_000))
        .unwrap()
        .run();
    assert_eq!(out.termination, Termination::Converged);
    assert!(dist(&out.profile.y, &[2.8, 1.0, 2.8, 1.0]) < 1e-4);
    let dm = DistributedMechanism::new(
        &model,
        common::network(2, &[(0, 1)], 0),
        MechanismSettings::default(),
    )
    .unwrap();
    let out = Learner::new(&dm, dm.starting_profile(), best_response(0.5, 2_000))
        .unwrap()
        .run();
    assert_eq!(out.termination, Termination::Converged);
}

#[test]
fn best_response_dynamic_fails_on_an_uneven_shared_peak() {
    // θ = (2, 1.5), κ = 1, p = 0, p0 = 1: μ = (0.75, 0.25) on a shared peak. The best
    // response of s never exceeds the others' mean, so max s_t never grows, and the users
    // start from s = (0.5, 0.5): the ratio 3:1 radial pricing needs is never announced on a
    // tie, and the demands chatter between the two periods.
    let model = Model::builder(vec![0.0, 0.0], 1.0)
        .user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]))
        .user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]))
        .build()
        .unwrap();
    let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let learner = Learner::new(&cm, cm.starting_profile(), best_response(0.3, 3_000)).unwrap();
    // An observer that sees the learner's profile after every round.
    struct MaxS(f64);
    impl<'g, 'm> Observer<Learner<'g, CentralizedMechanism<'m>>> for MaxS {
        fn observe(
            &mut self,
            _index: usize,
            _round: &LearningRecord,
            learner: &Learner<'g, CentralizedMechanism<'m>>,
        ) -> std::ops::ControlFlow<()> {
            let now = learner.profile().s.iter().copied().fold(0.0, f64::max);
            assert!(now <= self.0 + 1e-15, "max s grew from {} to {now}", self.0);
            self.0 = now;
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut max_s = MaxS(learner.profile().s.iter().copied().fold(0.0, f64::max));
    let out: LearningOutcome<_> = learner.executor().observe(&mut max_s).run().into();
    assert_eq!(out.termination, Termination::MaxRounds);
    assert_eq!(out.rounds, 3_000);
    let trace = &out.trace;
    assert!(trace[trace.len() - 50..].iter().all(|r| r.max_gain > 1e-3));
    // The price iteration learns the same NE.
    let out = Learner::new(&cm, cm.starting_profile(), price(0.1))
        .unwrap()
        .run();
    assert_eq!(out.termination, Termination::Converged);
    assert!(dist(&out.profile.y, &[1.25; 4]) < 1e-4);
}

#[test]
fn learner_rejects_bad_settings() {
    let model = capped_community();
    let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let e = Learner::new(&cm, cm.starting_profile(), best_response(0.0, 10)).unwrap_err();
    assert!(e.to_string().contains("damping"), "{e}");
    let e = Learner::new(&cm, cm.starting_profile(), price(f64::NAN)).unwrap_err();
    assert!(e.to_string().contains("step"), "{e}");
    let mut s = price(0.1);
    s.rule = LearningRule::PriceAdjustment {
        step: 0.1,
        consensus: 1.5,
    };
    assert!(Learner::new(&cm, cm.starting_profile(), s)
        .unwrap_err()
        .to_string()
        .contains("consensus"));
    let mut m = cm.starting_profile();
    m.q[0] = -1.0;
    assert!(Learner::new(&cm, m, price(0.1))
        .unwrap_err()
        .to_string()
        .contains("profile.q[0][0]"));
}
