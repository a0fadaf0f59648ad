//! Consumers with non-logarithmic utilities and demand bounds (alshehri-liu-chen-basar
//! §IX-A, §III), against values derived by hand.

use dr_stackelberg::{
    general_best_response, solve_equilibrium, solve_general_equilibrium, Company, ConsumerClasses,
    EquilibriumSettings, GeneralClass, GeneralMarket, GeneralSettings, Market, StackelbergError,
    UtilityFamily,
};

fn class(budget: f64, utility: UtilityFamily, zeta: f64, entries: usize) -> GeneralClass {
    GeneralClass {
        count: 1.0,
        budget,
        energy_need: 0.0,
        gamma: 1.0,
        zeta,
        utility,
        min_demand: vec![0.0; entries],
        max_demand: vec![f64::INFINITY; entries],
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs()
}

const HALF: UtilityFamily = UtilityFamily::Power { exponent: 0.5 };

/// Power utility `Σ √d_t` (α = ½, ζ = 0) at prices (1, ½) with budget 1: the first-order
/// conditions `½ d_t^{−½} = λ p_t` give `d_t ∝ p_t^{−2}`, and the budget
/// `Σ p_t d_t = 1` gives `d = (1/3, 4/3)`, `λ = √3 / 2`.
#[test]
fn power_best_response_by_hand() {
    let c = class(1.0, HALF, 0.0, 2);
    let r = general_best_response(&[1.0, 0.5], &c).unwrap();
    assert!(close(r.demand[0], 1.0 / 3.0, 1e-10), "{:?}", r.demand);
    assert!(close(r.demand[1], 4.0 / 3.0, 1e-10), "{:?}", r.demand);
    assert!(
        close(r.multiplier, 3f64.sqrt() / 2.0, 1e-9),
        "{}",
        r.multiplier
    );
    assert!(r.budget_binds);
    assert!(r.kkt.max() < 1e-9, "{:?}", r.kkt);
}

/// One company, two periods, supplies G = (1, 4), two power consumers (α = ½, ζ = 0) with
/// budgets 1 and 2. Clearing `D_t ∝ p_t^{−2} = G_t` and eq. 15 give
/// `p_t = B G_t^{α−1} / Σ_s G_s^α = (1, ½)`; the consumers buy `(1/3, 4/3)` and
/// `(2/3, 8/3)` (their budget shares of `G`).
#[test]
fn power_equilibrium_by_hand() {
    let market = GeneralMarket::new(
        2,
        vec![Company::new(vec![1.0, 4.0])],
        vec![class(1.0, HALF, 0.0, 2), class(2.0, HALF, 0.0, 2)],
    )
    .unwrap();
    let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
    assert!(eq.certificate.status.is_solved(), "{:?}", eq.certificate);
    assert!(close(eq.prices[0][0], 1.0, 1e-8), "{:?}", eq.prices);
    assert!(close(eq.prices[0][1], 0.5, 1e-8), "{:?}", eq.prices);
    assert!(close(eq.demand[0][0][0], 1.0 / 3.0, 1e-8));
    assert!(close(eq.demand[1][0][1], 8.0 / 3.0, 1e-8));
    assert!(close(eq.revenues[0], 3.0, 1e-8));
    // Every claim holds: clearing, no profitable deviation, eq. 15.
    for c in &eq.claims {
        assert!(c.holds, "{c:?}");
    }
    assert_eq!(eq.claims.len(), 3);
}

/// One company, one period, supply 3: a power consumer (budget 2) spends its budget,
/// `d = 2 / p`; a satiating consumer (s = 1, budget 10) buys its satiation level 1 with its
/// budget slack. Clearing `2/p + 1 = 3` gives `p = 1`. The satiating demand is inelastic, so
/// the company gains by raising its price (at `p = 2`: sells `1 + 1 = 2` for 4 > 3): the
/// Theorem 2 claim must FAIL here.
#[test]
fn satiating_consumer_breaks_theorem_2_as_derived() {
    let market = GeneralMarket::new(
        1,
        vec![Company::new(vec![3.0])],
        vec![
            class(2.0, HALF, 0.0, 1),
            class(10.0, UtilityFamily::Satiating { satiation: 1.0 }, 0.0, 1),
        ],
    )
    .unwrap();
    let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
    assert!(eq.certificate.status.is_solved(), "{:?}", eq.certificate);
    assert!(close(eq.prices[0][0], 1.0, 1e-8), "{:?}", eq.prices);
    assert!(close(eq.demand[1][0][0], 1.0, 1e-12));
    assert!(!eq.budget_binds[1] && eq.multiplier[1] == 0.0);
    assert!(eq.budget_binds[0]);
    // At factor 2 the revenue is 2 · (1 + 1) = 4 against 3: a gain of at least 1/3.
    assert!(
        eq.deviation.max_gain >= 1.0 / 3.0 - 1e-9,
        "{:?}",
        eq.deviation
    );
    let theorem2 = eq
        .claims
        .iter()
        .find(|c| c.claim.contains("Theorem 2"))
        .unwrap();
    assert!(!theorem2.holds, "{theorem2:?}");
    // eq. 15 is not claimed: a budget is slack.
    assert!(!eq.claims.iter().any(|c| c.claim.contains("eq. 15")));
}

/// A non-shiftable consumer: fixed demand (1, 1) in both periods. The flexible log
/// consumer (ζ = 0, budget 6) spends half its budget each period, so it faces the reduced
/// supply `G_t − 1`: `p_t = 3 / (G_t − 1)`, with G = (4, 6) `p = (1, 0.6)`; the fixed
/// consumer pays 1.6.
#[test]
fn non_shiftable_demand_reduces_the_market_as_derived() {
    let mut fixed = class(5.0, UtilityFamily::Log, 1.0, 2);
    fixed.min_demand = vec![1.0, 1.0];
    fixed.max_demand = vec![1.0, 1.0];
    let market = GeneralMarket::new(
        2,
        vec![Company::new(vec![4.0, 6.0])],
        vec![class(6.0, UtilityFamily::Log, 0.0, 2), fixed],
    )
    .unwrap();
    let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
    assert!(eq.certificate.status.is_solved(), "{:?}", eq.certificate);
    assert!(close(eq.prices[0][0], 1.0, 1e-8), "{:?}", eq.prices);
    assert!(close(eq.prices[0][1], 0.6, 1e-8), "{:?}", eq.prices);
    assert_eq!(eq.demand[1][0], vec![1.0, 1.0]);
    assert!(close(eq.payment[1], 1.6, 1e-8));
    assert!(close(eq.demand[0][0][0], 3.0, 1e-8));
    // Non-shiftable demand is inelastic: doubling both prices the flexible consumer still
    // spends 6 and the fixed one pays 3.2 — revenue 9.2 against 7.6, so Theorem 2's
    // property fails (as derived).
    assert!(
        eq.deviation.max_gain >= 9.2 / 7.6 - 1.0 - 1e-9,
        "{:?}",
        eq.deviation
    );
    assert!(
        !eq.claims
            .iter()
            .find(|c| c.claim.contains("Theorem 2"))
            .unwrap()
            .holds
    );
}

/// A consumer who takes part only in period 0 (`max_demand = (∞, 0)`, log, ζ = 0, budget
/// 2) next to a flexible one (budget 6): period 1 clears at `3 / p_1 = G_1`, period 0 at
/// `(3 + 2) / p_0 = G_0`; with G = (5, 3) both prices are 1.
#[test]
fn period_specific_participation_by_hand() {
    let mut partial = class(2.0, UtilityFamily::Log, 0.0, 2);
    partial.max_demand = vec![f64::INFINITY, 0.0];
    let market = GeneralMarket::new(
        2,
        vec![Company::new(vec![5.0, 3.0])],
        vec![class(6.0, UtilityFamily::Log, 0.0, 2), partial],
    )
    .unwrap();
    let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
    assert!(eq.certificate.status.is_solved(), "{:?}", eq.certificate);
    assert!(close(eq.prices[0][0], 1.0, 1e-8), "{:?}", eq.prices);
    assert!(close(eq.prices[0][1], 1.0, 1e-8), "{:?}", eq.prices);
    assert_eq!(eq.demand[1][0][1], 0.0);
    assert!(close(eq.demand[1][0][0], 2.0, 1e-8));
}

/// With log utilities and no bounds, the general Newton solver and the paper's eq. 14
/// (independent code) must give the same prices.
#[test]
fn log_consumers_agree_with_eq14() {
    let supply = [vec![40.0, 60.0, 50.0], vec![30.0, 30.0, 45.0]];
    let companies: Vec<Company> = supply.iter().map(|s| Company::new(s.clone())).collect();
    let market = Market::new(
        3,
        companies.clone(),
        ConsumerClasses::new(vec![60.0, 40.0], vec![5.0, 8.0], vec![0.0, 0.0]),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    let mut a = class(5.0, UtilityFamily::Log, 1.0, 6);
    a.count = 60.0;
    let mut b = class(8.0, UtilityFamily::Log, 1.0, 6);
    b.count = 40.0;
    let general = GeneralMarket::new(3, companies, vec![a, b]).unwrap();
    let ge = solve_general_equilibrium(&general, &GeneralSettings::default()).unwrap();
    assert!(ge.certificate.status.is_solved(), "{:?}", ge.certificate);
    for k in 0..2 {
        for t in 0..3 {
            assert!(
                close(ge.prices[k][t], eq.prices[k][t], 1e-8),
                "{:?} vs {:?}",
                ge.prices,
                eq.prices
            );
        }
    }
    assert!(ge.claims.iter().all(|c| c.holds), "{:?}", ge.claims);
}

#[test]
fn bad_inputs_name_their_field() {
    let e = GeneralMarket::new(
        1,
        vec![Company::new(vec![3.0])],
        vec![class(1.0, UtilityFamily::Power { exponent: 1.5 }, 0.0, 1)],
    )
    .unwrap_err();
    assert!(e.to_string().contains("consumers[0].exponent"), "{e}");
    let mut fixed = class(1.0, UtilityFamily::Log, 1.0, 1);
    fixed.min_demand = vec![5.0];
    fixed.max_demand = vec![5.0];
    let e = GeneralMarket::new(1, vec![Company::new(vec![3.0])], vec![fixed]).unwrap_err();
    assert!(e.to_string().contains("companies[0].supply[0]"), "{e}");
    let e = GeneralMarket::new(
        1,
        vec![Company::new(vec![3.0])],
        vec![class(
            1.0,
            UtilityFamily::Satiating { satiation: 2.0 },
            0.0,
            1,
        )],
    )
    .unwrap_err();
    assert!(matches!(e, StackelbergError::Input(_)));
    assert!(e.to_string().contains("cannot clear"), "{e}");
}

/// The scenario keys reach the general solver: the power equilibrium of
/// [`power_equilibrium_by_hand`] from a file, and the key errors name the field.
#[test]
fn scenario_keys_build_the_general_market() {
    let text = r#"
model = "stackelberg"
periods = 2
[[companies]]
supply = [1.0, 4.0]
[[consumers]]
budget = 1.0
zeta = 0.0
utility = "power"
exponent = 0.5
[[consumers]]
budget = 2.0
zeta = 0.0
utility = "power"
exponent = 0.5
"#;
    let s: dr_stackelberg::Scenario = toml::from_str(text).unwrap();
    assert!(s.is_general());
    assert!(s.build().is_err());
    let model = s.build_general().unwrap();
    let eq = solve_general_equilibrium(&model.market, &GeneralSettings::default()).unwrap();
    assert!(close(eq.prices[0][0], 1.0, 1e-8) && close(eq.prices[0][1], 0.5, 1e-8));

    let fixed = text.replace(
        "exponent = 0.5\n[[consumers]]",
        "exponent = 0.5\nfixed_demand = [0.1, 0.2]\n[[consumers]]",
    );
    let s: dr_stackelberg::Scenario = toml::from_str(&fixed).unwrap();
    let model = s.build_general().unwrap();
    assert_eq!(model.market.classes()[0].min_demand, vec![0.1, 0.2]);
    assert_eq!(model.market.classes()[0].max_demand, vec![0.1, 0.2]);

    let missing = text.replacen("exponent = 0.5\n", "", 1);
    let s: dr_stackelberg::Scenario = toml::from_str(&missing).unwrap();
    let e = s.build_general().unwrap_err().to_string();
    assert!(e.contains("consumers[0].exponent"), "{e}");
    let wrong_len = text.replacen(
        "exponent = 0.5\n",
        "exponent = 0.5\nmax_demand = [1.0, 2.0, 3.0]\n",
        1,
    );
    let s: dr_stackelberg::Scenario = toml::from_str(&wrong_len).unwrap();
    let e = s.build_general().unwrap_err().to_string();
    assert!(e.contains("consumers[0].max_demand"), "{e}");
}

/// A non-shiftable demand its budget cannot pay at any clearing price: the fixed class needs
/// 1 unit of the single period's supply 2, the flexible class (budget 10, ζ = 0) buys the
/// other unit, so the clearing price is 10 and the fixed class (budget 1) would pay 10.
/// No feasible equilibrium: the certificate says Infeasible, never Solved.
#[test]
fn unaffordable_fixed_demand_is_infeasible_not_solved() {
    let mut fixed = class(1.0, UtilityFamily::Log, 1.0, 1);
    fixed.min_demand = vec![1.0];
    fixed.max_demand = vec![1.0];
    let market = GeneralMarket::new(
        1,
        vec![Company::new(vec![2.0])],
        vec![class(10.0, UtilityFamily::Log, 0.0, 1), fixed],
    )
    .unwrap();
    let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
    assert!(close(eq.prices[0][0], 10.0, 1e-8), "{:?}", eq.prices);
    assert_eq!(eq.certificate.status, dr_stackelberg::Status::Infeasible);
    assert!(close(eq.certificate.primal_infeasibility, 9.0, 1e-8));
}

/// A price cap below the clearing price (Remark 3): 10 power consumers (α = ½, ζ = 1,
/// budget 20), two periods of supply 10 capped at 0.5. At equal prices each consumer spends
/// 10 per period and asks `10 / 0.5 = 20`; the demand 200 exceeds the supply 10, so each
/// receives the fraction 10/200 = 0.05 (1 per period), pays 1 and keeps 19.
#[test]
fn price_cap_rations_proportionally_as_derived() {
    let mut c = class(20.0, HALF, 1.0, 2);
    c.count = 10.0;
    let market = GeneralMarket::new(
        2,
        vec![Company::new(vec![10.0, 10.0]).with_price_bounds(0.0, 0.5)],
        vec![c],
    )
    .unwrap();
    let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
    assert!(eq.certificate.status.is_solved(), "{:?}", eq.certificate);
    assert_eq!(eq.prices[0], vec![0.5, 0.5]);
    assert!(!eq.clears);
    assert!(close(eq.served_fraction[0][0], 0.05, 1e-12));
    assert!(close(eq.energy_received[0], 2.0, 1e-12));
    assert!(close(eq.payment_received[0], 1.0, 1e-12));
    assert!(close(eq.unspent_budget[0], 19.0, 1e-12));
    assert!(close(eq.revenues[0], 10.0, 1e-12));
    // eq. 15 is not claimed: the cap binds.
    assert!(!eq.claims.iter().any(|c| c.claim.contains("eq. 15")));
}

/// Scale: supplies and budgets multiplied by `s` leave the power equilibrium's prices
/// unchanged (`p_t = B G_t^{α−1} / Σ G^α` is homogeneous of degree 0) and the certificate
/// Solved, for `s` from 1e-12 to 1e12 (residuals are relative to the data's scale).
#[test]
fn power_equilibrium_is_scale_free() {
    for s in [1e-12, 1e-6, 1.0, 1e6, 1e12] {
        let market = GeneralMarket::new(
            2,
            vec![Company::new(vec![s, 4.0 * s])],
            vec![class(s, HALF, 0.0, 2), class(2.0 * s, HALF, 0.0, 2)],
        )
        .unwrap();
        let eq = solve_general_equilibrium(&market, &GeneralSettings::default()).unwrap();
        assert!(
            eq.certificate.status.is_solved(),
            "s = {s}: {:?}",
            eq.certificate
        );
        assert!(
            close(eq.prices[0][0], 1.0, 1e-8),
            "s = {s}: {:?}",
            eq.prices
        );
        assert!(
            close(eq.prices[0][1], 0.5, 1e-8),
            "s = {s}: {:?}",
            eq.prices
        );
        assert!(close(eq.demand[1][0][1], 8.0 / 3.0 * s, 1e-8));
    }
}
