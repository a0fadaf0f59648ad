//! The utility families of issue 15 (quadratic with satiation, power) on a hand-sized
//! community whose optimum, prices, taxes and payoffs are derived by hand below: the
//! planner's problem (3), the taxes (7), full implementation (the NE built from the optimum
//! has no profitable deviation, and the users' learning dynamic reaches the same
//! allocation), individual rationality (Theorem 3) and budget balance (Theorem 4); and the
//! validation of each family against Assumption 1, with errors naming field and value.

use dr_mechanism::{
    run_scenario, simulate_scenario, solve_planner, CentralizedMechanism, LearningSettings,
    MechanismSettings, Model, PlannerSettings, Scenario, ScenarioSettings, Termination, User,
};

/// Two users, two periods (`p = (0.1, 0.1)`, `p_0 = 0.4`), a feeder cap `Σ_i x_1^i ≤ 3.5`:
///
/// - user 0: quadratic with satiation, `θ = (2, 1)`, `κ = (1, 1)`: demand `θ_t − π_t` at a
///   total price `π_t < θ_t` (satiation points 2 and 1);
/// - user 1: power `2 √(x + 1)` in both periods: `v̇ = (x + 1)^{−½}`, demand `π^{−2} − 1`.
///
/// By hand: guess period 0 is the only peak (`μ = (0.4, 0)`) and the cap binds with price
/// `λ`. Period 0: `π_0 = 0.1 + 0.4 = 0.5` ⇒ `x_0^0 = 1.5`, `x_0^1 = 3`, `X_0 = 4.5`. Period 1:
/// `π_1 = 0.1 + λ`, and `λ = 0.4` gives `x_1^0 = 0.5`, `x_1^1 = 3`, `X_1 = 3.5` = the cap;
/// `X_1 < X_0` confirms `μ_1 = 0`, and without the cap period 1 would want
/// `0.9 + 99 > 3.5`, so `λ > 0` is consistent. KKT (4) holds, so this is the optimum.
///
/// Then `v^0 = (3 − 1.125) + (0.5 − 0.125) = 2.25`, `v^1 = 4 + 4 = 8`,
/// `J = 0.1·4.5 + 0.1·3.5 + 0.4·4.5 = 2.6`, welfare `10.25 − 2.6 = 7.65`. At the NE of
/// Theorem 2 every user pays the KKT prices for its demand (the constraint and peak terms
/// vanish by complementary slackness): `t̂^0 = 1.5·0.5 + 0.5·0.5 = 1`,
/// `t̂^1 = 3·0.5 + 3·0.5 = 3`; planner surplus `4 − 2.6 = 1.4 = λ b = 0.4·3.5`; balanced
/// taxes `t̃^i = t̂^i − λ b / N = t̂^i − 0.7` = `(0.3, 2.3)`, summing to `J`; payoffs
/// `u = (2.25 − 1, 8 − 3) = (1.25, 5)` against `v(0) = (0, 2 + 2) = (0, 4)`.
const HAND: &str = r#"
model = "mechanism"
periods = 2
energy_prices = [0.1, 0.1]
peak_price = 0.4

[[users]]
utility = { quadratic_satiation = { theta = [2.0, 1.0], kappa = 1.0 } }

[[users]]
utility = { power = { coefficient = 2.0, exponent = 0.5, shift = 1.0 } }

[[constraints]]
community_cap = 3.5
period = 1
"#;

fn parse(s: &str) -> Scenario {
    toml::from_str(s).unwrap_or_else(|e| panic!("{e}"))
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(f64::MIN_POSITIVE),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn hand_community_planner_taxes_ir_and_budget_balance() {
    let r = run_scenario(&parse(HAND), &ScenarioSettings::default()).unwrap();
    assert!(r.certificate.holds(1e-9), "{:?}", r.certificate);
    let x = [[1.5, 0.5], [3.0, 3.0]];
    for (i, xi) in x.iter().enumerate() {
        for (t, &want) in xi.iter().enumerate() {
            close(r.allocation[i][t], want, 1e-8, &format!("x[{i}][{t}]"));
        }
    }
    close(r.mu[0], 0.4, 1e-8, "μ_0");
    assert!(r.mu[1].abs() <= 1e-9, "μ_1 = {}", r.mu[1]);
    close(r.constraint_multipliers[0], 0.4, 1e-8, "λ");
    close(r.energy_cost, 2.6, 1e-9, "J");
    close(r.welfare, 7.65, 1e-9, "welfare");
    close(r.taxes[0], 1.0, 1e-8, "t̂^0");
    close(r.taxes[1], 3.0, 1e-8, "t̂^1");
    close(r.planner_surplus, 1.4, 1e-8, "planner surplus");
    close(r.balanced_taxes[0], 0.3, 1e-7, "t̃^0");
    close(r.balanced_taxes[1], 2.3, 1e-8, "t̃^1");
    close(r.balanced_taxes.iter().sum::<f64>(), 2.6, 1e-9, "Σ t̃ = J");
    close(r.payoffs[0], 1.25, 1e-8, "u^0");
    close(r.payoffs[1], 5.0, 1e-8, "u^1");
    // v^i(x^{i*}) = u^i + t̂^i by hand, and Σ_i v^i − J is the welfare.
    close(r.utility[0], 2.25, 1e-8, "v^0(x^0*)");
    close(r.utility[1], 8.0, 1e-8, "v^1(x^1*)");
    close(
        r.utility.iter().sum::<f64>() - r.energy_cost,
        7.65,
        1e-9,
        "Σ v − J",
    );
    assert_eq!(r.utility_at_zero[0], 0.0);
    close(r.utility_at_zero[1], 4.0, 1e-15, "v^1(0)");
    // Theorem 3 (with both taxes) and Theorem 4, as the report claims them.
    for (i, (u, v0)) in r.payoffs.iter().zip(&r.utility_at_zero).enumerate() {
        assert!(u >= v0, "user {i}: u = {u} < v(0) = {v0}");
    }
    assert!(
        r.max_best_response_gain <= 1e-9,
        "{}",
        r.max_best_response_gain
    );
    assert!(r.checks.failed.is_empty(), "{:?}", r.checks.failed);
    // No demand on the flat part: both users' demands are below their satiation points.
    assert!(r.satiated.is_empty(), "{:?}", r.satiated);
}

/// Full implementation: the users' learning dynamic (message updates from the default
/// starting profile, not the planner) ends at a NE whose allocation is the hand optimum.
#[test]
fn hand_community_learning_reaches_the_hand_optimum() {
    let sim = simulate_scenario(
        &parse(HAND),
        &ScenarioSettings::default(),
        &LearningSettings {
            tolerance: 1e-12,
            ..LearningSettings::default()
        },
    )
    .unwrap();
    assert_eq!(sim.termination, Termination::Converged, "{sim:?}");
    let x = [[1.5, 0.5], [3.0, 3.0]];
    for (i, xi) in x.iter().enumerate() {
        for (t, &want) in xi.iter().enumerate() {
            let y = sim.allocation[i][t];
            // A best-response gain g (relative to the user's money scale S ≈ 8) bounds a
            // demand error by about √(2 g S / |v̈|) = √(2·1e-12·8·16) ≈ 1.6e-5 for the
            // power user (|v̈(3)| = 1/16): the run stops there.
            assert!((y - want).abs() <= 5e-5, "y[{i}][{t}] = {y}");
        }
    }
}

/// The same community from the builder: the NE of Theorem 2 has no profitable deviation for
/// any user (every component's exact best response), and a deviation in demand away from
/// the NE loses exactly what the hand computation says: for user 0 in period 0 at price
/// `0.5`, moving `x` by `δ` changes `v − price·x` by `−δ²/2` (κ = 1).
#[test]
fn builder_community_ne_and_a_hand_deviation() {
    let model = Model::builder(vec![0.1, 0.1], 0.4)
        .user(User::quadratic_satiation(&[2.0, 1.0], &[1.0, 1.0]))
        .user(User::power(&[2.0, 2.0], 0.5, 1.0))
        .community_cap(1, 3.5)
        .build()
        .unwrap();
    let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let ne = mech.nash_equilibrium(&opt).unwrap();
    let ev = mech.evaluate(&ne).unwrap();
    assert!(ev.max_gain <= 1e-9, "{}", ev.max_gain);
    let u0 = mech.payoff(&ne, 0).unwrap();
    let mut dev = ne.clone();
    dev.y[0] += 0.2; // user 0, period 0
    let u1 = mech.payoff(&dev, 0).unwrap();
    close(u0 - u1, 0.02, 1e-6, "loss of a 0.2 deviation");
    // The satiation point of user 0 in period 1 is θ/κ = 1, the power family has none.
    assert_eq!(model.satiation_point(0, 1), Some(1.0));
    assert_eq!(model.satiation_point(1, 0), None);
}

/// A period whose energy is free (`p_0 = 0`) and that is not the peak: the satiation user's
/// total price there is `0`, its demand lies on the flat part, and the report lists it;
/// the certificate and every claim still hold (they need concave C¹ utilities only).
#[test]
fn a_free_off_peak_period_puts_a_demand_on_the_flat_part() {
    // User 1's power utility makes period 1 the peak; in period 0 (free energy) user 0
    // consumes at least its satiation point 1 and user 1 at most its cap 0.5.
    let text = r#"
model = "mechanism"
periods = 2
energy_prices = [0.0, 0.1]
peak_price = 0.4

[[users]]
utility = { quadratic_satiation = { theta = 1.0, kappa = 1.0 } }

[[users]]
utility = { power = { coefficient = [1.0, 4.0], exponent = 0.5, shift = 1.0 } }
upper = [0.5, 20.0]
"#;
    let r = run_scenario(&parse(text), &ScenarioSettings::default()).unwrap();
    assert!(r.certificate.holds(1e-8), "{:?}", r.certificate);
    assert!(r.checks.failed.is_empty(), "{:?}", r.checks.failed);
    assert!(
        r.satiated
            .iter()
            .any(|d| d.user == 0 && d.period == 0 && d.demand >= 1.0),
        "{:?} {:?}",
        r.satiated,
        r.allocation
    );
    assert!(
        r.mu[0].abs() <= 1e-9,
        "period 0 is not the peak: μ = {:?}",
        r.mu
    );
}

fn error_of(from: &str, to: &str) -> String {
    let text = HAND.replace(from, to);
    assert_ne!(text, HAND, "{from:?} not found");
    run_scenario(&parse(&text), &ScenarioSettings::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn each_family_is_validated_against_assumption_1_by_field_and_value() {
    let cases = [
        (
            "theta = [2.0, 1.0]",
            "theta = [2.0, 0.0]",
            "users[0].utility.quadratic_satiation.theta[1] = 0",
        ),
        (
            "kappa = 1.0",
            "kappa = -1.0",
            "users[0].utility.quadratic_satiation.kappa[0] = -1",
        ),
        (
            "exponent = 0.5",
            "exponent = 1.0",
            "users[1].utility.power.exponent[0] = 1",
        ),
        (
            "exponent = 0.5",
            "exponent = [0.5, -0.5]",
            "users[1].utility.power.exponent[1] = -0.5",
        ),
        (
            "shift = 1.0",
            "shift = 0.0",
            "users[1].utility.power.shift[0] = 0",
        ),
        (
            "coefficient = 2.0",
            "coefficient = -2.0",
            "users[1].utility.power.coefficient[0] = -2",
        ),
        (
            "coefficient = 2.0",
            "coefficient = [2.0]",
            "users[1].utility.power.coefficient",
        ),
    ];
    for (from, to, needle) in cases {
        let e = error_of(from, to);
        assert!(e.contains(needle), "{to}: {e}");
    }
    // The reason names the assumption.
    assert!(error_of("exponent = 0.5", "exponent = 1.0").contains("Assumption 1"));
    // The builder names its own fields.
    let e = Model::builder(vec![0.1], 0.4)
        .user(User::power(&[1.0], 1.5, 1.0))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("users[0].utility[0].exponent = 1.5"), "{e}");
    let e = Model::builder(vec![0.1], 0.4)
        .user(User::quadratic_satiation(&[1.0], &[f64::NAN]))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("users[0].utility[0].kappa"), "{e}");
}

/// The hand community in money units `10^a` and quantity units `10^b` (`θ ·M/σ`,
/// `κ ·M/σ²`, `c ·M/σ^α`, `s ·σ`, prices `·M/σ`, the cap `·σ`): the optimum scales as
/// derived by hand (`x ·σ`, `μ`, `λ ·M/σ`, welfare and taxes `·M`), Solved in any units.
mod units {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn hand_community_is_unit_free(a in -12i32..=12, b in -12i32..=12) {
            let (money, sigma) = (10f64.powi(a), 10f64.powi(b));
            let price = money / sigma;
            let model = Model::builder(vec![0.1 * price, 0.1 * price], 0.4 * price)
                .user(User::quadratic_satiation(
                    &[2.0 * price, 1.0 * price],
                    &[price / sigma, price / sigma],
                ))
                .user(User::power(
                    &[2.0 * money / sigma.sqrt(), 2.0 * money / sigma.sqrt()],
                    0.5,
                    sigma,
                ))
                .community_cap(1, 3.5 * sigma)
                .build()
                .unwrap();
            let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
            prop_assert!(opt.certificate.holds(1e-9), "{:?}", opt.certificate);
            let x = [1.5, 0.5, 3.0, 3.0];
            for (k, (&got, &want)) in opt.allocation.iter().zip(&x).enumerate() {
                prop_assert!((got / sigma - want).abs() <= 1e-8 * want, "x[{k}] {got}");
            }
            prop_assert!((opt.peak_multipliers[0] / price - 0.4).abs() <= 1e-8);
            prop_assert!((opt.constraint_multipliers[0] / price - 0.4).abs() <= 1e-8);
            prop_assert!((opt.welfare / money - 7.65).abs() <= 1e-8 * 7.65);
            let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
            let ev = mech.evaluate(&mech.nash_equilibrium(&opt).unwrap()).unwrap();
            prop_assert!(ev.max_relative_gain <= 1e-9, "gain {}", ev.max_relative_gain);
            prop_assert!((ev.balanced_taxes[1] / money - 2.3).abs() <= 1e-8 * 2.3);
            prop_assert!(
                ev.money_budget_imbalance.abs() <= 1e-9 * ev.payment_scale,
                "imbalance {}", ev.money_budget_imbalance
            );
        }
    }
}

/// The hand community with a message network (the one link 0–1): the distributed
/// mechanism's NE (Theorem 5) has no profitable deviation, its balanced taxes pay exactly
/// `J = 2.6` and every payoff is at least `v(0) = (0, 4)`; its learning dynamic also
/// reaches the hand optimum.
#[test]
fn hand_community_distributed() {
    let text = format!("{HAND}\n[network]\nedges = [[0, 1]]\n");
    let r = run_scenario(&parse(&text), &ScenarioSettings::default()).unwrap();
    let d = r.distributed.as_ref().unwrap();
    assert!(d.max_relative_best_response_gain <= 1e-9);
    close(
        d.balanced_taxes.iter().sum::<f64>(),
        2.6,
        1e-9,
        "distributed Σ t̃",
    );
    assert!(
        d.payoffs[0] >= 0.0 && d.payoffs[1] >= 4.0,
        "{:?}",
        d.payoffs
    );
    assert!(r.checks.failed.is_empty(), "{:?}", r.checks.failed);
    let sim = simulate_scenario(
        &parse(&text),
        &ScenarioSettings::default(),
        &LearningSettings {
            tolerance: 1e-12,
            ..LearningSettings::default()
        },
    )
    .unwrap();
    assert_eq!(sim.mechanism, dr_mechanism::MechanismKind::Distributed);
    assert_eq!(sim.termination, Termination::Converged, "{sim:?}");
    let x = [1.5, 0.5, 3.0, 3.0];
    for (y, want) in sim.allocation.concat().iter().zip(x) {
        assert!((y - want).abs() <= 5e-5, "{y} vs {want}");
    }
}
