//! The planner's problem (3): KKT conditions (4) on random instances, hand-derived optima,
//! agreement of the polished and unpolished solution paths.

mod common;

use dr_mechanism::{check_kkt, solve_planner, Model, PlannerSettings, User};
use proptest::prelude::*;

fn solve(model: &Model) -> dr_mechanism::PlannerSolution {
    solve_planner(model, &PlannerSettings::default()).expect("planner solves")
}

#[test]
fn shared_peak_by_hand() {
    // Identical users v_t = θ_t x − ½x², θ = (2, 1.5), p = 0, p0 = 1: the peak is shared,
    // x_1 = x_2 ⇒ θ_1 − μ_1 = θ_2 − μ_2, μ_1 + μ_2 = 1 ⇒ μ = (0.75, 0.25), x = 1.25.
    for n in [1, 3] {
        let mut b = Model::builder(vec![0.0, 0.0], 1.0);
        for _ in 0..n {
            b = b.user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]));
        }
        let sol = solve(&b.build().unwrap());
        assert!(sol.certificate.holds(1e-10), "{:?}", sol.certificate);
        assert!((sol.peak_multipliers[0] - 0.75).abs() < 1e-10);
        assert!((sol.peak_multipliers[1] - 0.25).abs() < 1e-10);
        for v in &sol.allocation {
            assert!((v - 1.25).abs() < 1e-10);
        }
        assert!((sol.peak - 1.25 * n as f64).abs() < 1e-9);
    }
}

#[test]
fn binding_community_total_by_hand() {
    // T = 1: μ = p0. Two users θ = 3, κ = 1, p = 0, p0 = 0.5, Σ x ≤ 2:
    // x = θ − p0 − λ = 1 ⇒ λ = 1.5.
    let model = Model::builder(vec![0.0], 0.5)
        .user(User::quadratic(&[3.0], &[1.0]))
        .user(User::quadratic(&[3.0], &[1.0]))
        .community_total(2.0)
        .build()
        .unwrap();
    let sol = solve(&model);
    assert!((sol.constraint_multipliers[0] - 1.5).abs() < 1e-10);
    assert!((sol.allocation[0] - 1.0).abs() < 1e-10 && (sol.allocation[1] - 1.0).abs() < 1e-10);
    assert!((sol.peak_multipliers[0] - 0.5).abs() < 1e-12);
}

#[test]
fn log_user_with_binding_upper_bound_by_hand() {
    // v = 2 ln(x + 1), p = 0.5, p0 = 0.5: unconstrained 2/(x+1) = 1 ⇒ x = 1.
    // With x ≤ 0.5: λ = 2/1.5 − 1 = 1/3.
    let free = Model::builder(vec![0.5], 0.5)
        .user(User::log(&[2.0], 1.0))
        .build()
        .unwrap();
    assert!((solve(&free).allocation[0] - 1.0).abs() < 1e-10);
    let capped = Model::builder(vec![0.5], 0.5)
        .user(User::log(&[2.0], 1.0))
        .upper_bounds(0, &[0.5])
        .build()
        .unwrap();
    let sol = solve(&capped);
    assert!((sol.allocation[0] - 0.5).abs() < 1e-12);
    assert!((sol.constraint_multipliers[0] - 1.0 / 3.0).abs() < 1e-10);
    // Lower bound −0.2 binds when the price is high: 2/(x+1) = 4 ⇒ x = −0.5 < −0.2.
    let floor = Model::builder(vec![3.5], 0.5)
        .user(User::log(&[2.0], 1.0))
        .lower_bounds(0, &[-0.2])
        .build()
        .unwrap();
    let sol = solve(&floor);
    assert!((sol.allocation[0] + 0.2).abs() < 1e-12);
    assert!((sol.constraint_multipliers[0] - (4.0 - 2.0 / 0.8)).abs() < 1e-10);
}

#[test]
fn kkt_check_rejects_bad_lengths_and_detects_a_wrong_point() {
    let model = common::random_model(3, 4, 3);
    let sol = solve(&model);
    assert!(check_kkt(
        &model,
        &sol.allocation[1..],
        sol.peak,
        &sol.constraint_multipliers,
        &sol.peak_multipliers
    )
    .is_err());
    assert!(check_kkt(
        &model,
        &sol.allocation,
        sol.peak,
        &sol.constraint_multipliers,
        &sol.peak_multipliers[1..]
    )
    .is_err());
    let mut x = sol.allocation.clone();
    x[0] += 0.1;
    let r = check_kkt(
        &model,
        &x,
        sol.peak,
        &sol.constraint_multipliers,
        &sol.peak_multipliers,
    )
    .unwrap();
    assert!(r.max() > 1e-4, "{r:?}");
}

fn check_instance(seed: u64, n: usize, t: usize) {
    let model = common::random_model(seed, n, t);
    let sol = solve(&model);
    assert!(
        sol.certificate.holds(1e-8),
        "seed {seed}: {:?}",
        sol.certificate
    );
    let r = check_kkt(
        &model,
        &sol.allocation,
        sol.peak,
        &sol.constraint_multipliers,
        &sol.peak_multipliers,
    )
    .unwrap();
    assert!(r.holds(1e-8), "seed {seed}: {r:?}");
    assert!(
        (sol.peak_multipliers.iter().sum::<f64>() - model.peak_price()).abs()
            <= 1e-9 * model.peak_price()
    );
    assert!(sol
        .constraint_multipliers
        .iter()
        .chain(&sol.peak_multipliers)
        .all(|&v| v >= 0.0));
    // Second path: the interior point without the polish agrees.
    let raw = solve_planner(
        &model,
        &PlannerSettings {
            polish: false,
            ..Default::default()
        },
    )
    .unwrap();
    let d = raw
        .allocation
        .iter()
        .zip(&sol.allocation)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-5, "seed {seed}: paths differ by {d}");
    // Optimality against feasible points θ x* (0 and x* are feasible; X is convex).
    for th in [0.0, 0.5, 0.9] {
        let x: Vec<f64> = sol.allocation.iter().map(|v| th * v).collect();
        assert!(model.welfare(&x) <= sol.welfare + 1e-9 * sol.welfare.abs().max(1.0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn kkt_holds_on_small_random_instances(seed in any::<u64>(), n in 1usize..8, t in 1usize..6) {
        check_instance(seed, n, t);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]
    #[test]
    fn kkt_holds_on_large_random_instances(seed in any::<u64>(), n in 20usize..=50, t in 12usize..=24) {
        check_instance(seed, n, t);
    }
}

#[test]
fn log_users_with_upper_bounds_only() {
    // Regression: the kernel's interior point fails on log utilities with an upper bound
    // and no lower bound; the planner retries with guard bounds. T = 1 (μ = p0), p = 0:
    // x_i = min(w_i / p0 − s_i, u_i).
    let (w, s, u) = (
        [1.03623997451494, 1.5320881932873582, 0.5217007995618307],
        [1.2156165151878944, 0.5261315802290979, 1.9978731349932004],
        [2.0425793164747907, f64::INFINITY, 1.7801838725547225],
    );
    let p0 = 0.21389962913157148;
    let mut b = Model::builder(vec![0.0], p0);
    for i in 0..3 {
        b = b.user(User::log(&[w[i]], s[i])).upper_bounds(i, &[u[i]]);
    }
    let model = b.build().unwrap();
    let sol = solve(&model);
    assert!(sol.certificate.holds(1e-8), "{:?}", sol.certificate);
    for i in 0..3 {
        let expect = (w[i] / p0 - s[i]).min(u[i]);
        assert!(
            (sol.allocation[i] - expect).abs() < 1e-9,
            "user {i}: {} vs {expect}",
            sol.allocation[i]
        );
    }
}
