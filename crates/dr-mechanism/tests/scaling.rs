//! Units must not matter (issue "Honest results at the edges"): the same community written
//! in money units `10^a` and quantity units `10^b`, `a, b ∈ [−12, 12]`, must give the same
//! statuses and the same relative accuracy (1e-9), against the invariances one can derive
//! by hand: scaling every utility and price by `t` scales `λ`, `μ`, taxes and welfare
//! differences by `t` and leaves the allocation; scaling quantities by `σ` (prices `1/σ`)
//! scales the allocation by `σ` and `λ`, `μ` by `1/σ`. Plus closed forms.

mod common;

use dr_convex::Status;
use dr_mechanism::{
    solve_planner, CentralizedMechanism, DistributedMechanism, MechanismSettings, Model,
    PlannerSettings, User,
};
use proptest::prelude::*;

/// `max |a_k/u − b_k| / max |b_k|` (0 when both vanish): a relative distance of two vectors.
fn rel_dist(a: &[f64], unit: f64, b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let d = a
        .iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x / unit - y).abs()));
    if d == 0.0 {
        0.0
    } else {
        d / scale
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn planner_and_mechanism_are_unit_free(
        seed in 0u64..1000,
        n in 2usize..6,
        t in 1usize..4,
        a in -12i32..=12,
        b in -12i32..=12,
    ) {
        let (money, sigma) = (10f64.powi(a), 10f64.powi(b));
        let base = common::random_model(seed, n, t);
        let scaled = common::random_model_in_units(seed, n, t, money, sigma);
        let s = PlannerSettings::default();
        let o1 = solve_planner(&base, &s).unwrap();
        let o2 = solve_planner(&scaled, &s).unwrap();
        prop_assert_eq!(o1.certificate.status, Status::Solved, "base {:?}", o1.kkt);
        prop_assert_eq!(o2.certificate.status, Status::Solved, "scaled {:?}", o2.kkt);
        prop_assert!(o2.kkt.holds(1e-9), "{:?}", o2.kkt);
        // x ↦ σx; λ, μ ↦ (money/σ)·λ, μ.
        let dx = rel_dist(&o2.allocation, sigma, &o1.allocation);
        prop_assert!(dx <= 1e-9, "allocation {dx}");
        let price = money / sigma;
        let dmu = rel_dist(&o2.peak_multipliers, price, &o1.peak_multipliers);
        prop_assert!(dmu <= 1e-7, "mu {dmu}");
        // The NE of Theorem 2: no user gains (relative), Theorem 4 budget balance relative
        // to the payment scale, in both units.
        for (m, o) in [(&base, &o1), (&scaled, &o2)] {
            let mech = CentralizedMechanism::new(m, MechanismSettings::default()).unwrap();
            let ne = mech.nash_equilibrium(o).unwrap();
            let ev = mech.evaluate(&ne).unwrap();
            prop_assert!(ev.max_relative_gain <= 1e-9, "gain {}", ev.max_relative_gain);
            // Lemma 2 and Theorem 1, relative, in any units.
            let l2 = mech.lemma2(&ne).unwrap();
            prop_assert!(
                l2.infeasibility <= 1e-9
                    && l2.constraint_complementarity <= 1e-9
                    && l2.peak_complementarity <= 1e-9
                    && l2.radial_complementarity <= 1e-9
                    && l2.constraint_price_disagreement == 0.0,
                "{:?}", l2
            );
            prop_assert!(mech.theorem1(&ne).unwrap().holds(1e-8));
            prop_assert!(
                ev.money_budget_imbalance.abs() <= 1e-9 * ev.payment_scale,
                "imbalance {} vs scale {}", ev.money_budget_imbalance, ev.payment_scale
            );
            let net = common::network(n, &common::random_tree(seed, n), 0);
            let dm = DistributedMechanism::new(m, net, MechanismSettings::default()).unwrap();
            let dne = dm.nash_equilibrium(o).unwrap();
            let dev = dm.evaluate(&dne).unwrap();
            prop_assert!(dev.max_relative_gain <= 1e-9, "distributed gain {}", dev.max_relative_gain);
            prop_assert!(
                dev.money_budget_imbalance.abs() <= 1e-9 * dev.payment_scale,
                "distributed imbalance {} vs {}", dev.money_budget_imbalance, dev.payment_scale
            );
        }
        // Taxes scale with money.
        let m1 = CentralizedMechanism::new(&base, MechanismSettings::default()).unwrap();
        let m2 = CentralizedMechanism::new(&scaled, MechanismSettings::default()).unwrap();
        let t1 = m1.evaluate(&m1.nash_equilibrium(&o1).unwrap()).unwrap();
        let t2 = m2.evaluate(&m2.nash_equilibrium(&o2).unwrap()).unwrap();
        let tx1: Vec<f64> = t1.taxes.iter().map(|x| x.money).collect();
        let tx2: Vec<f64> = t2.taxes.iter().map(|x| x.money).collect();
        let scale = t1.payment_scale / n as f64;
        let d = tx2
            .iter()
            .zip(&tx1)
            .fold(0.0_f64, |m, (x, y)| m.max((x / money - y).abs()));
        prop_assert!(d <= 1e-7 * scale, "taxes {d} vs per-user payment scale {scale}");
    }
}

/// Closed form: one period, a binding community cap. Two users `v = 4x − ½x²` (in units),
/// `p = 0`, `p_0 = 1`, `Σ_i x^i ≤ 2`: unconstrained demand 3 each, so the cap binds,
/// `x^i = 1`, and stationarity `4 − 1 − 0 − μ − λ = 0` with `μ = p_0 = 1` gives `λ = 2`.
/// At the NE `t̂^i = (p + p_0 + λ) x^i = 3`, `J = p_0 X = 2`, surplus `Σ t̂ − J = 4 = λ b`,
/// balanced taxes `3 − λ b / N = 1`. In money units `m` and quantity units `σ`:
/// `x = σ`, `λ = 2m/σ`, `t̂ = 3m`, `t̃ = m`.
#[test]
fn binding_cap_closed_form_in_any_units() {
    for &(m, s) in &[
        (1.0, 1.0),
        (1e-12, 1.0),
        (1e12, 1.0),
        (1.0, 1e-12),
        (1.0, 1e12),
        (1e-12, 1e12),
        (1e12, 1e-12),
    ] {
        let model = Model::builder(vec![0.0], m / s)
            .user(User::quadratic(&[4.0 * m / s], &[m / (s * s)]))
            .user(User::quadratic(&[4.0 * m / s], &[m / (s * s)]))
            .community_total(2.0 * s)
            .build()
            .unwrap();
        let o = solve_planner(&model, &PlannerSettings::default()).unwrap();
        assert_eq!(o.certificate.status, Status::Solved, "{m} {s}: {:?}", o.kkt);
        for &x in &o.allocation {
            assert!((x - s).abs() <= 1e-12 * s, "{m} {s}: x = {x}");
        }
        let lam = o.constraint_multipliers[0];
        assert!(
            (lam - 2.0 * m / s).abs() <= 1e-12 * m / s,
            "{m} {s}: λ = {lam}"
        );
        let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
        let ne = mech.nash_equilibrium(&o).unwrap();
        let ev = mech.evaluate(&ne).unwrap();
        for (tax, bt) in ev.taxes.iter().zip(&ev.balanced_taxes) {
            assert!(
                (tax.total - 3.0 * m).abs() <= 1e-12 * m,
                "{m} {s}: t̂ = {}",
                tax.total
            );
            assert!((bt - m).abs() <= 1e-12 * m, "{m} {s}: t̃ = {bt}");
        }
        assert!(
            ev.max_relative_gain <= 1e-12,
            "{m} {s}: {}",
            ev.max_relative_gain
        );
    }
}

/// The learning dynamic (price adjustment, step in the data's units) reaches the NE of the
/// closed-form binding-cap community (`x = σ`) in every unit system, with the same status.
#[test]
fn learning_is_unit_free() {
    use dr_mechanism::{Learner, LearningSettings, Termination};
    for &(m, s) in &[
        (1.0, 1.0),
        (1e-12, 1e12),
        (1e12, 1e-12),
        (1e-12, 1e-12),
        (1e12, 1e12),
    ] {
        let model = Model::builder(vec![0.0], m / s)
            .user(User::quadratic(&[4.0 * m / s], &[m / (s * s)]))
            .user(User::quadratic(&[4.0 * m / s], &[m / (s * s)]))
            .community_total(2.0 * s)
            .build()
            .unwrap();
        let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
        let out = Learner::new(&cm, cm.starting_profile(), LearningSettings::default())
            .unwrap()
            .run();
        assert_eq!(out.termination, Termination::Converged, "{m} {s}");
        assert!(out.max_relative_gain <= 1e-10);
        for &y in &out.profile.y {
            assert!((y - s).abs() <= 1e-3 * s, "{m} {s}: y = {y}");
        }
    }
}
