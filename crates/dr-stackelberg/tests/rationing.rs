//! Binding price bounds (alshehri-liu-chen-basar Remark 3): the market does not clear, the
//! supply is rationed proportionally ([`RationingRule::Proportional`]) and budgets are not
//! fully spent. Every expected number below is derived by hand in the comments.

use dr_stackelberg::{
    solve_equilibrium, Company, ConsumerClasses, EquilibriumSettings, Market, PriceBound,
    RationingRule,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs()
}

/// The case: supply [100, 300], 100 consumers with budget 5 (ζ = γ = 1),
/// `p_max = 0.3`. Unbounded, eq. 14 gives Z = 100, KT = 2, H = 1/400 + 1/800 = 3/800,
/// 1 − ZH = 5/8, p = (500/(2·200·5/8), 500/(2·400·5/8)) = (2, 1): both above the cap.
/// At p = (0.3, 0.3) eq. 10 gives d = (5 + 0.6)/(2·0.3) − 1 = 25/3 per consumer and period,
/// D = 2500/3 in each period: excess demand 2500/3 − 100 = 2200/3 and 2500/3 − 300 = 1600/3.
/// Proportional rationing serves fractions 100/(2500/3) = 0.12 and 300/(2500/3) = 0.36:
/// each consumer receives 1 and 3, pays 0.3·4 = 1.2 and keeps 3.8 unspent (380 in all,
/// = 500 − revenue 120).
#[test]
fn binding_cap_rations_proportionally_and_does_not_clear() {
    let market = Market::new(
        2,
        vec![Company::new(vec![100.0, 300.0]).with_price_bounds(0.0, 0.3)],
        ConsumerClasses::homogeneous(100.0, 5.0, 0.0),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    let c = &eq.clearing;
    assert!(!c.clears);
    assert_eq!(c.rule, RationingRule::Proportional);
    assert_eq!(
        eq.price_bound[0],
        vec![PriceBound::AtMax, PriceBound::AtMax]
    );
    for t in 0..2 {
        assert!(close(eq.prices[0][t], 0.3, 1e-15));
        assert!(close(eq.demand[0][0][t], 25.0 / 3.0, 1e-12));
    }
    assert!(close(c.excess_demand[0][0], 2200.0 / 3.0, 1e-12));
    assert!(close(c.excess_demand[0][1], 1600.0 / 3.0, 1e-12));
    assert!(close(c.served_fraction[0][0], 0.12, 1e-12));
    assert!(close(c.served_fraction[0][1], 0.36, 1e-12));
    assert!(close(c.allocation[0][0][0], 1.0, 1e-12));
    assert!(close(c.allocation[0][0][1], 3.0, 1e-12));
    assert!(close(c.sold[0][0], 100.0, 1e-15) && close(c.sold[0][1], 300.0, 1e-15));
    assert!(close(c.energy[0], 4.0, 1e-12));
    assert!(close(c.payment[0], 1.2, 1e-12));
    assert!(close(c.unspent_budget[0], 3.8, 1e-12));
    assert!(close(c.unspent_total, 380.0, 1e-12));
    assert!(close(eq.revenues[0], 120.0, 1e-12));
    // ln(1 + 1) + ln(1 + 3) = ln 8.
    assert!(close(c.utility[0], 8f64.ln(), 1e-12));
    // The certificate certifies the bounded equilibrium (sign conditions), not clearing.
    assert!(eq.certificate.certificate.status.is_solved());
}

/// A cap binding in one period only: K = 1, T = 2, G = (100, 300), 100 consumers with
/// budget 5, `p_max = 1.5`. Unbounded prices (2, 1): period 0 capped. With p_0 = 1.5 fixed,
/// period 1 clears: each consumer's eq. 10 demand d_1 = (5 + 1.5 + p_1)/(2 p_1) − 1 = 3
/// ⇒ 6.5 + p_1 = 8 p_1 ⇒ p_1 = 6.5/7 = 13/14. Then d_0 = (5 + 1.5 + 13/14)/(3) − 1
/// = (104/14)/3 − 1 = 104/42 − 1 = 62/42 = 31/21 per consumer, D_0 = 3100/21 > 100:
/// fraction 2100/3100 = 21/31, each consumer receives 1 in period 0 and 3 in period 1,
/// pays 1.5 + 3·13/14 = 60/14 = 30/7, unspent 5 − 30/7 = 5/7.
#[test]
fn cap_binding_in_one_period_leaves_the_other_clearing() {
    let market = Market::new(
        2,
        vec![Company::new(vec![100.0, 300.0]).with_price_bounds(0.0, 1.5)],
        ConsumerClasses::homogeneous(100.0, 5.0, 0.0),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    let c = &eq.clearing;
    assert!(!c.clears);
    assert!(close(eq.prices[0][0], 1.5, 1e-15));
    assert!(close(eq.prices[0][1], 13.0 / 14.0, 1e-9), "{:?}", eq.prices);
    assert!(close(c.excess_demand[0][0], 3100.0 / 21.0 - 100.0, 1e-9));
    assert!(c.excess_demand[0][1].abs() <= 1e-9 * 300.0);
    assert!(close(c.served_fraction[0][0], 21.0 / 31.0, 1e-9));
    assert!(close(c.allocation[0][0][0], 1.0, 1e-9));
    assert!(close(c.allocation[0][0][1], 3.0, 1e-9));
    assert!(close(c.unspent_budget[0], 5.0 / 7.0, 1e-9));
    assert!(close(c.unspent_total, 500.0 / 7.0, 1e-9));
}

/// A binding floor: supply far above what the budgets buy at `p_min`. K = 1, T = 1, G = 100,
/// 10 consumers with budget 1, `p_min = 1`: the clearing price would be
/// B/(KT(G+Z)(1−ZH)) = 10/(110·(1 − 10/110)) = 0.1 < 1, so p = 1; each consumer buys
/// d = (1 + 1)/1 − 1 = 1, D = 10, unsold 90; budgets fully spent.
#[test]
fn binding_floor_leaves_supply_unsold() {
    let market = Market::new(
        1,
        vec![Company::new(vec![100.0]).with_price_bounds(1.0, f64::INFINITY)],
        ConsumerClasses::homogeneous(10.0, 1.0, 0.0),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    let c = &eq.clearing;
    assert!(!c.clears);
    assert_eq!(eq.price_bound[0][0], PriceBound::AtMin);
    assert!(close(eq.prices[0][0], 1.0, 1e-15));
    assert!(close(c.excess_demand[0][0], -90.0, 1e-12));
    assert!(close(c.sold[0][0], 10.0, 1e-12));
    assert_eq!(c.served_fraction[0][0], 1.0);
    assert_eq!(c.unspent_total, 0.0);
    assert!(close(eq.revenues[0], 10.0, 1e-12));
}

/// Without bounds the market clears exactly and nothing is rationed.
#[test]
fn unbounded_market_clears() {
    let market = Market::new(
        2,
        vec![Company::new(vec![100.0, 300.0])],
        ConsumerClasses::homogeneous(100.0, 5.0, 0.0),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    assert!(eq.clearing.clears);
    assert_eq!(eq.clearing.unspent_total, 0.0);
    assert!(eq.clearing.unmet_need.is_empty());
    assert!(close(eq.prices[0][0], 2.0, 1e-12) && close(eq.prices[0][1], 1.0, 1e-12));
}

/// Above [`dr_stackelberg::DENSE_NEWTON_LIMIT`] entries the bounded equilibrium is found
/// without a dense Jacobian (eq. 21 steps): no `K T × K T` allocation, and the result is
/// still certified: capped entries have D ≥ G, free entries clear.
#[test]
fn bounded_equilibrium_beyond_the_dense_newton_limit() {
    let t_n = dr_stackelberg::DENSE_NEWTON_LIMIT + 4;
    // Supplies 50..150 in a fixed pattern; a cap binding where supply is small.
    let supply: Vec<f64> = (0..t_n).map(|t| 50.0 + (t * 37 % 101) as f64).collect();
    let market = Market::new(
        t_n,
        vec![Company::new(supply.clone()).with_price_bounds(0.0, 0.0012)],
        ConsumerClasses::new(vec![100.0, 50.0], vec![5.0, 0.5], vec![0.0, 0.0]),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    assert!(eq.certificate.certificate.status.is_solved());
    assert!(!eq.clearing.clears);
    for (t, &g) in supply.iter().enumerate() {
        let d = eq.aggregate_demand[0][t];
        match eq.price_bound[0][t] {
            PriceBound::AtMax => assert!(d >= g * (1.0 - 1e-9)),
            PriceBound::Free => assert!((d - g).abs() <= 1e-9 * g, "{t}: {d} vs {g}"),
            PriceBound::AtMin => unreachable!(),
        }
    }
}
