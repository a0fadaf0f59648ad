//! Scale invariance of the Stackelberg equilibrium (issue 11: relative accuracy at any scale).
//!
//! Hand-derivable invariances of alshehri-liu-chen-basar's game (eq. 10, eq. 14, Remark 3):
//! - scaling every budget `B_n` (and the price bounds) by `t` scales every price by `t` and
//!   leaves every demand unchanged: eq. 10, `d = (B + ζ Σ p)/(K T p) − ζ`, is homogeneous
//!   of degree 0 in `(B, p)`, and so is the water-filling;
//! - scaling every supply `G_k(t)` and every energy unit — `ζ_n` and `E_n` — by `s` scales
//!   every demand by `s` and every price by `1/s` (eq. 10 with `p/s`, `sζ`: `s d`; eq. 14:
//!   `B / (K T s(G + Z)(1 − Z H))`, `Z H` unchanged).
//!
//! With `t, s` drawn from `1e-12 … 1e12` the scaled market must give those prices and
//! demands to a relative 1e-9, the same case and bound pattern, the same status, and a
//! certificate whose (relative) residuals are as small as the unscaled one's.

use dr_stackelberg::*;
use proptest::prelude::*;

fn build(
    supply: &[Vec<f64>],
    bounds: (f64, f64),
    count: &[f64],
    budget: &[f64],
    zeta: &[f64],
    need: &[f64],
) -> Market {
    let t_n = supply[0].len();
    Market::new(
        t_n,
        supply
            .iter()
            .map(|s| Company::new(s.clone()).with_price_bounds(bounds.0, bounds.1))
            .collect(),
        ConsumerClasses::new(count.to_vec(), budget.to_vec(), need.to_vec())
            .with_zeta(zeta.to_vec()),
    )
    .unwrap()
}

fn max_rel(a: &[Vec<f64>], b: &[Vec<f64>], factor: f64) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| {
            let want = y * factor;
            if want == 0.0 {
                x.abs()
            } else {
                (x - want).abs() / want.abs()
            }
        })
        .fold(0.0, f64::max)
}

/// Supplies `[k][t]`, counts, budgets, ζ, energy-need fractions, an optional cap factor.
type Parts = (
    Vec<Vec<f64>>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Option<f64>,
);

fn market_parts() -> impl Strategy<Value = Parts> {
    (1usize..=2, 1usize..=4, 1usize..=3).prop_flat_map(|(k, t, c)| {
        (
            prop::collection::vec(prop::collection::vec(5.0f64..200.0, t), k),
            prop::collection::vec(1.0f64..50.0, c),
            prop::collection::vec(1.0f64..20.0, c),
            prop::collection::vec(0.2f64..2.0, c),
            prop::collection::vec(0.0f64..0.5, c),
            prop::option::of(0.05f64..2.0),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn budgets_and_supplies_at_any_scale(
        (supply, count, budget, zeta, need_frac, cap) in market_parts(),
        t_exp in -12i32..=12,
        s_exp in -12i32..=12,
    ) {
        let t = 10f64.powi(t_exp);
        let s = 10f64.powi(s_exp);
        // Energy needs well below what the supply allows (fractions of Σ G / Σ count).
        let total: f64 = supply.iter().flatten().sum();
        let people: f64 = count.iter().sum();
        let need: Vec<f64> = need_frac.iter().map(|f| f * total / people * 0.5).collect();
        let settings = EquilibriumSettings { check_energy_need: false, ..EquilibriumSettings::default() };
        // A price cap relative to B / Σ G (binding for small factors).
        let b_total: f64 = count.iter().zip(&budget).map(|(c, b)| c * b).sum();
        let cap = cap.map_or(f64::INFINITY, |f| f * b_total / total);
        let base = solve_equilibrium(&build(&supply, (0.0, cap), &count, &budget, &zeta, &need), &settings).unwrap();
        let scaled_supply: Vec<Vec<f64>> = supply.iter().map(|r| r.iter().map(|g| g * s).collect()).collect();
        let scaled_budget: Vec<f64> = budget.iter().map(|b| b * t).collect();
        let scaled_zeta: Vec<f64> = zeta.iter().map(|z| z * s).collect();
        let scaled_need: Vec<f64> = need.iter().map(|e| e * s).collect();
        let scaled = solve_equilibrium(
            &build(&scaled_supply, (0.0, cap * t / s), &count, &scaled_budget, &scaled_zeta, &scaled_need),
            &settings,
        )
        .unwrap();
        let c0 = &base.certificate.certificate;
        let c1 = &scaled.certificate.certificate;
        prop_assert_eq!(c0.status, c1.status);
        prop_assert!(c0.status.is_solved(), "{:?}", c0);
        prop_assert_eq!(base.case, scaled.case);
        prop_assert_eq!(&base.price_bound, &scaled.price_bound);
        prop_assert_eq!(base.clearing.clears, scaled.clearing.clears);
        let dp = max_rel(&scaled.prices, &base.prices, t / s);
        prop_assert!(dp <= 1e-9, "prices off by {dp:e} (t = {t:e}, s = {s:e})");
        let dd = max_rel(&scaled.aggregate_demand, &base.aggregate_demand, s);
        prop_assert!(dd <= 1e-9, "demands off by {dd:e}");
        for (a, b) in scaled.demand.iter().zip(&base.demand) {
            // Per-class demands: relative to the class's largest demand (zeros stay zeros).
            let scale = b.iter().flatten().fold(0.0f64, |m, x| m.max(*x)) * s;
            for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
                prop_assert!((x - y * s).abs() <= 1e-9 * scale, "{x:e} vs {:e}", y * s);
            }
        }
        // Unspent budgets scale with t, each relative to its class's budget.
        for (n, (u1, u0)) in scaled
            .clearing
            .unspent_budget
            .iter()
            .zip(&base.clearing.unspent_budget)
            .enumerate()
        {
            prop_assert!(
                (u1 - u0 * t).abs() <= 1e-9 * budget[n] * t,
                "unspent {u1:e} vs {:e}",
                u0 * t
            );
        }
        // Relative certificates: as good at any scale.
        prop_assert!(c1.holds(1e-9), "{:?}", c1);
        prop_assert!(scaled.certificate.checks.consumer_kkt <= 1e-9);
        prop_assert!(scaled.certificate.checks.budget_residual <= 1e-9);
        prop_assert!(scaled.certificate.checks.supply_balance <= 1e-9);
    }
}

/// Hand-derived at extreme scales: the price-cap market with budgets × 1e-12 and
/// supplies × 1e12 (ζ × 1e12): every price is 0.3 × 1e-24 at the cap, each consumer asks
/// 25/3 × 1e12 per period, receives (1, 3) × 1e12, and keeps 3.8e-12 unspent.
#[test]
fn price_cap_market_at_extreme_scale() {
    let (t, s) = (1e-12, 1e12);
    let market = Market::new(
        2,
        vec![Company::new(vec![100.0 * s, 300.0 * s]).with_price_bounds(0.0, 0.3 * t / s)],
        ConsumerClasses::homogeneous(100.0, 5.0 * t, 0.0).with_zeta(vec![s]),
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    let c = &eq.clearing;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    assert!(!c.clears);
    assert!(close(eq.prices[0][0], 0.3e-24));
    assert!(close(eq.demand[0][0][0], 25.0 / 3.0 * s));
    assert!(close(c.allocation[0][0][0], s) && close(c.allocation[0][0][1], 3.0 * s));
    assert!(close(c.unspent_budget[0], 3.8 * t));
    assert!(close(c.unspent_total, 380.0 * t));
    assert!(close(c.excess_demand[0][0], 2200.0 / 3.0 * s));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The power allocation game with generation limits and a ramp limit (kernel interior-
    /// point path) at scale `s`: scaling every total, limit, fixed supply and `ζ` by `s`
    /// scales the Nash allocation by `s` (the share `G/(G + Z)` of eq. 17 is homogeneous of
    /// degree 0), and budgets by `t` leave it unchanged; same status at every scale.
    #[test]
    fn allocation_game_at_any_scale(
        total in 2.0f64..4.0,
        cap in 0.5f64..0.9,
        ramp in 0.1f64..0.5,
        s_exp in -12i32..=12,
        t_exp in -12i32..=12,
    ) {
        let game = |s: f64, t: f64| {
            AllocationGame::new(
                3,
                vec![
                    CompanyStrategy::Allocate(
                        AllocatingCompany::new(total * s)
                            .with_limits(vec![], vec![2.0 * s, 2.0 * s, cap * s])
                            .with_ramp_limit(vec![ramp * s]),
                    ),
                    CompanyStrategy::Fixed(vec![s, s, s]),
                ],
                50.0 * t,
                s,
                vec![],
            )
            .unwrap()
            .solve(&AllocationSettings::default())
        };
        let base = game(1.0, 1.0);
        let (s, t) = (10f64.powi(s_exp), 10f64.powi(t_exp));
        let scaled = game(s, t);
        match (base, scaled) {
            (Ok(b), Ok(c)) => {
                prop_assert_eq!(b.status, c.status);
                prop_assert!(b.status.is_solved(), "{:?}", b.status);
                for (x, y) in c.supply[0].iter().zip(&b.supply[0]) {
                    prop_assert!((x - y * s).abs() <= 1e-7 * total * s, "{x:e} vs {:e}", y * s);
                }
            }
            // Infeasible (3 cap + 3 ramp < total) at every scale alike.
            (Err(b), Err(c)) => {
                prop_assert_eq!(std::mem::discriminant(&b), std::mem::discriminant(&c));
                prop_assert!(3.0 * cap + 3.0 * ramp < total * (1.0 + 1e-9), "{b}");
            }
            (b, c) => prop_assert!(false, "base {:?} vs scaled {:?}", b.map(|e| e.status), c.map(|e| e.status)),
        }
    }
}
