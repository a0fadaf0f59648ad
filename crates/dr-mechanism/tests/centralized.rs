//! The centralized mechanism (wei-anastasopoulos §IV): the NE of Theorem 2 on random
//! instances, exactness of the best-response gains, Lemmas 1–3, Theorems 1, 3, 4, and
//! input errors.

mod common;

use dr_mechanism::{
    radial_pricing, solve_planner, CentralizedMechanism, MechanismError, MechanismSettings,
    MessageProfile, Model, PlannerSettings, User,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// All properties of the constructed NE on one instance.
fn check_ne(seed: u64, n: usize, t: usize, perturb_users: usize) {
    let model = common::random_model(seed, n, t);
    let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
    assert!(
        opt.certificate.holds(1e-8),
        "seed {seed}: {:?}",
        opt.certificate
    );
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let ne = mech.nash_equilibrium(&opt).unwrap();
    let ev = mech.evaluate(&ne).unwrap();
    // No user gains by deviating (exact best responses).
    assert!(ev.max_gain <= 1e-8, "seed {seed}: max gain {}", ev.max_gain);
    // The best responses to the NE reproduce the planner's optimum (Theorem 1 path).
    let br = mech.best_response(&ne).unwrap();
    assert!(max_abs_diff(&br.y, &opt.allocation) <= 1e-8, "seed {seed}");
    // Theorem 1: the induced allocation satisfies the KKT conditions (4).
    let k = mech.theorem1(&ne).unwrap();
    assert!(k.holds(1e-8), "seed {seed}: {k:?}");
    // Lemmas 1–3.
    assert!(mech.lemma1(&ne).unwrap() == 0.0);
    let l2 = mech.lemma2(&ne).unwrap();
    assert!(l2.constraint_price_disagreement == 0.0 && l2.peak_price_disagreement == 0.0);
    assert!(
        l2.infeasibility <= 1e-9 && l2.constraint_complementarity <= 1e-9,
        "{l2:?}"
    );
    assert!(
        l2.peak_complementarity <= 1e-9 && l2.radial_complementarity <= 1e-9,
        "{l2:?}"
    );
    let l3 = mech.lemma3(&ne).unwrap();
    assert!(
        l3.stationarity <= 1e-8 && l3.peak_price_sum <= 1e-12,
        "{l3:?}"
    );
    // Theorem 3: individual rationality.
    for (i, m) in mech.theorem3(&ne).unwrap().iter().enumerate() {
        assert!(*m >= -1e-9, "seed {seed}: user {i} margin {m}");
    }
    // Theorem 4: planner surplus Σ λ b ≥ 0; balanced taxes sum to J(x*).
    let t4 = mech.theorem4(&ne).unwrap();
    let lb: f64 = opt
        .constraint_multipliers
        .iter()
        .zip(model.rhs())
        .map(|(l, b)| l * b)
        .sum();
    assert!(lb >= 0.0);
    let scale = opt.energy_cost.abs().max(1.0);
    assert!(
        (t4.planner_surplus - lb).abs() <= 1e-9 * scale.max(lb),
        "seed {seed}: {} vs {lb}",
        t4.planner_surplus
    );
    let sum_bal: f64 = t4.balanced_taxes.iter().sum();
    assert!(
        (sum_bal - opt.energy_cost).abs() <= 1e-9 * scale,
        "seed {seed}: {sum_bal} vs {}",
        opt.energy_cost
    );
    // Perturbing any one message component of a user never helps that user.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 77);
    for _ in 0..perturb_users {
        let i = rng.gen_range(0..n);
        let base = mech.payoff(&ne, i).unwrap();
        let tol = 1e-9 * base.abs().max(1.0);
        let (tt, ll) = (model.periods(), model.rows());
        let mut tries: Vec<MessageProfile> = Vec::new();
        for d in [-0.3, -1e-3, 1e-3, 0.3] {
            let t0 = rng.gen_range(0..tt);
            let mut m = ne.clone();
            m.y[i * tt + t0] += d;
            tries.push(m);
            let mut m = ne.clone();
            m.s[i * tt + t0] = (m.s[i * tt + t0] + d).max(0.0);
            tries.push(m);
            let mut m = ne.clone();
            m.beta[i * tt + t0] += d;
            tries.push(m);
            if ll > 0 {
                let l0 = rng.gen_range(0..ll);
                let mut m = ne.clone();
                m.q[i * ll + l0] = (m.q[i * ll + l0] + d).max(0.0);
                tries.push(m);
            }
        }
        for m in &tries {
            let u = mech.payoff(m, i).unwrap();
            assert!(
                u - base <= tol,
                "seed {seed}: user {i} gains {} by a deviation",
                u - base
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn constructed_ne_small(seed in any::<u64>(), n in 2usize..8, t in 1usize..6) {
        check_ne(seed, n, t, 3);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]
    #[test]
    fn constructed_ne_large(seed in any::<u64>(), n in 20usize..=50, t in 12usize..=24) {
        check_ne(seed, n, t, 2);
    }
}

/// A random profile in the message space.
fn random_profile(model: &Model, seed: u64) -> MessageProfile {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut m = MessageProfile::zeros(model);
    m.y.iter_mut().for_each(|v| *v = rng.gen_range(-0.2..1.5));
    m.q.iter_mut().for_each(|v| {
        *v = if rng.gen_bool(0.5) {
            rng.gen_range(0.0..1.0)
        } else {
            0.0
        }
    });
    m.s.iter_mut().for_each(|v| {
        *v = if rng.gen_bool(0.7) {
            rng.gen_range(0.0..1.0)
        } else {
            0.0
        }
    });
    m.beta
        .iter_mut()
        .for_each(|v| *v = rng.gen_range(-0.2..1.5));
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The reported gain is exact: playing the computed best response gains exactly that,
    /// and no random deviation gains more.
    #[test]
    fn best_response_gains_are_exact(seed in any::<u64>(), n in 2usize..6, t in 1usize..5) {
        let model = common::random_model(seed, n, t);
        let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
        let m = random_profile(&model, seed ^ 1);
        let gains = mech.best_response_gains(&m).unwrap();
        let br = mech.best_response(&m).unwrap();
        let (tt, ll) = (model.periods(), model.rows());
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 2);
        for (i, gain) in gains.iter().enumerate() {
            let base = mech.payoff(&m, i).unwrap();
            let g = gain.total;
            if !g.is_finite() {
                continue;
            }
            let mut dev = m.clone();
            dev.y[i * tt..(i + 1) * tt].copy_from_slice(&br.y[i * tt..(i + 1) * tt]);
            dev.q[i * ll..(i + 1) * ll].copy_from_slice(&br.q[i * ll..(i + 1) * ll]);
            dev.s[i * tt..(i + 1) * tt].copy_from_slice(&br.s[i * tt..(i + 1) * tt]);
            dev.beta[i * tt..(i + 1) * tt].copy_from_slice(&br.beta[i * tt..(i + 1) * tt]);
            let achieved = mech.payoff(&dev, i).unwrap() - base;
            prop_assert!((achieved - g).abs() <= 1e-9 * g.abs().max(1.0), "user {}: achieved {} vs reported {}", i, achieved, g);
            for _ in 0..5 {
                let mut r = random_profile(&model, rng.gen());
                // Keep the others' messages; replace user i's.
                for j in 0..n {
                    if j != i {
                        r.y[j * tt..(j + 1) * tt].copy_from_slice(&m.y[j * tt..(j + 1) * tt]);
                        r.q[j * ll..(j + 1) * ll].copy_from_slice(&m.q[j * ll..(j + 1) * ll]);
                        r.s[j * tt..(j + 1) * tt].copy_from_slice(&m.s[j * tt..(j + 1) * tt]);
                        r.beta[j * tt..(j + 1) * tt].copy_from_slice(&m.beta[j * tt..(j + 1) * tt]);
                    }
                }
                let gain = mech.payoff(&r, i).unwrap() - base;
                prop_assert!(gain <= g + 1e-9 * g.abs().max(1.0));
            }
        }
    }
}

#[test]
fn radial_prices_sum_to_the_peak_price() {
    let model = common::random_model(11, 5, 4);
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    for seed in 0..20 {
        let m = random_profile(&model, seed);
        for rp in mech.radial_prices(&m).unwrap() {
            assert!((rp.iter().sum::<f64>() - model.peak_price()).abs() < 1e-12);
            assert!(rp.iter().all(|&v| v >= 0.0));
        }
    }
    // Ties: ζ = (1, 1, 0), s = (1, 3, 5) → RP = p0 (1/4, 3/4, 0).
    assert_eq!(
        radial_pricing(&[1.0, 3.0, 5.0], &[1.0, 1.0, 0.0], 2.0, 0.0),
        vec![0.5, 1.5, 0.0]
    );
}

#[test]
fn shared_uneven_peak_ne_by_hand() {
    // Two identical users θ = (2, 1.5), κ = 1, p = 0, p0 = 1: μ = (0.75, 0.25), x = 1.25.
    // The NE's radial prices must reproduce μ (ties in the argmax).
    let model = Model::builder(vec![0.0, 0.0], 1.0)
        .user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]))
        .user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]))
        .build()
        .unwrap();
    let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let ne = mech.nash_equilibrium(&opt).unwrap();
    for rp in mech.radial_prices(&ne).unwrap() {
        assert!(
            (rp[0] - 0.75).abs() < 1e-10 && (rp[1] - 0.25).abs() < 1e-10,
            "{rp:?}"
        );
    }
    // Taxes by hand: each pays (p + RP)·x = (0.75 + 0.25)·1.25 = 1.25; J = 1·2.5 = 2.5.
    let taxes = mech.taxes(&ne).unwrap();
    for t in &taxes {
        assert!((t.total - 1.25).abs() < 1e-9, "{t:?}");
    }
    assert!(mech.evaluate(&ne).unwrap().max_gain < 1e-12);
}

#[test]
fn input_errors_name_the_field() {
    let one = Model::builder(vec![0.1], 1.0)
        .user(User::quadratic(&[1.0], &[1.0]))
        .build()
        .unwrap();
    assert!(matches!(
        CentralizedMechanism::new(&one, MechanismSettings::default()),
        Err(MechanismError::Input(dr_convex::InputError::TooFew { ref field, got: 1, .. })) if field == "users"
    ));
    let model = common::random_model(5, 3, 2);
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let mut m = MessageProfile::zeros(&model);
    m.y.pop();
    let e = mech.best_response_gains(&m).unwrap_err();
    assert!(e.to_string().contains("profile.y"), "{e}");
    let mut m = MessageProfile::zeros(&model);
    m.s[4] = -1.0;
    let e = mech.evaluate(&m).unwrap_err();
    assert!(
        e.to_string().contains("profile.s[2][0]") && e.to_string().contains("-1"),
        "{e}"
    );
    let mut m = MessageProfile::zeros(&model);
    m.beta[1] = f64::NAN;
    assert!(mech
        .taxes(&m)
        .unwrap_err()
        .to_string()
        .contains("profile.beta[0][1]"));
    let bad = MechanismSettings {
        tie_tolerance: f64::NAN,
    };
    assert!(CentralizedMechanism::new(&model, bad)
        .unwrap_err()
        .to_string()
        .contains("tie_tolerance"));
}

#[test]
fn unbounded_best_response_is_reported_as_infinite_gain() {
    // A log user facing a zero price wants infinite demand: no best response exists.
    let model = Model::builder(vec![0.0, 0.0], 1.0)
        .user(User::log(&[1.0, 1.0], 1.0))
        .user(User::log(&[1.0, 1.0], 1.0))
        .build()
        .unwrap();
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let mut m = MessageProfile::zeros(&model);
    // Others' peak price only on period 0 and the others' demand peaks in period 0.
    m.s = vec![1.0, 0.0, 1.0, 0.0];
    m.y = vec![1.0, 0.0, 1.0, 0.0];
    m.beta = vec![1.0, 0.0, 1.0, 0.0];
    let g = mech.best_response_gains(&m).unwrap();
    assert!(g.iter().all(|g| g.demand == f64::INFINITY));
}
