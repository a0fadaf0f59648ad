//! `nash_gain`: exact best-response gains (li-chen-dahleh-2015 eq. 13) checked against an
//! independent brute-force search in bid space, at computed equilibria, at perturbed ones,
//! with capacities and with general costs.

#![allow(clippy::needless_range_loop)]

use dr_bidding::{
    clearing_price, competitive_equilibrium, nash_equilibrium, nash_gain, BiddingError, Market,
};
use dr_convex::{ClosureConvex, ConvexScalar};
use proptest::prelude::*;
use std::sync::Arc;

fn instance() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, f64)> {
    (3usize..9).prop_flat_map(|n| {
        (
            prop::collection::vec(0.0f64..3.0, n),
            prop::collection::vec(0.1f64..5.0, n),
            0.5f64..40.0,
        )
    })
}

/// Payoff of eq. 13 in bid space, written out: d² b_i/(Σb)² − C_i(d b_i/Σb).
fn payoff(market: &Market, bids: &[f64], i: usize, bi: f64) -> f64 {
    let d = market.deficit();
    let others: f64 = bids
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, b)| b)
        .sum();
    let total = others + bi;
    let q = d * bi / total;
    // Beyond the capacity the cost is infinite (up to the rounding of q = d b/Σb, which
    // can put a customer at capacity an ulp above it).
    if q > market.capacity(i) * (1.0 + 1e-12) {
        return f64::NEG_INFINITY;
    }
    d * d * bi / (total * total) - market.cost(i, q)
}

/// Brute force: the best payoff over a geometric grid of bids (and b = 0), refined by
/// golden-section search around the best grid point.
fn brute_best(market: &Market, bids: &[f64], i: usize) -> f64 {
    let others: f64 = bids
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, b)| b)
        .sum();
    let mut best = (0.0, payoff(market, bids, i, 0.0));
    let grid: Vec<f64> = (0..=400)
        .map(|k| others * 10f64.powf(-8.0 + 11.0 * k as f64 / 400.0))
        .collect();
    let mut at = 0;
    for (k, &b) in grid.iter().enumerate() {
        let u = payoff(market, bids, i, b);
        if u > best.1 {
            best = (b, u);
            at = k;
        }
    }
    if best.0 > 0.0 {
        let (mut lo, mut hi) = (
            grid[at.saturating_sub(1)],
            grid[(at + 1).min(grid.len() - 1)],
        );
        for _ in 0..200 {
            let m1 = lo + 0.382 * (hi - lo);
            let m2 = lo + 0.618 * (hi - lo);
            if payoff(market, bids, i, m1) < payoff(market, bids, i, m2) {
                lo = m1;
            } else {
                hi = m2;
            }
        }
        best.1 = best.1.max(payoff(market, bids, i, 0.5 * (lo + hi)));
    }
    best.1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The gains of random profiles match a brute-force search over bids.
    #[test]
    fn gains_match_brute_force((a, h, d) in instance(), seed in prop::collection::vec(0.05f64..2.0, 8)) {
        let m = Market::quadratic(a.clone(), h, d).unwrap();
        let bids: Vec<f64> = (0..a.len()).map(|i| seed[i % seed.len()] * (1.0 + i as f64 * 0.1)).collect();
        let g = nash_gain(&m, &bids).unwrap();
        prop_assert!((g.price - clearing_price(&m, &bids).unwrap()).abs() < 1e-15 * g.price);
        for i in 0..a.len() {
            let now = payoff(&m, &bids, i, bids[i]);
            let brute = brute_best(&m, &bids, i) - now;
            let scale = now.abs().max(brute.abs()).max(1e-12);
            prop_assert!(g.gains[i] >= 0.0);
            prop_assert!((g.gains[i] - brute).abs() <= 1e-7 * scale + 1e-12,
                "customer {i}: gain {} vs brute force {}", g.gains[i], brute);
            // The reported best response attains the gain.
            let at_best = payoff(&m, &bids, i, g.best_response_bids[i]) - now;
            prop_assert!((at_best - g.gains[i]).abs() <= 1e-9 * scale + 1e-12);
        }
    }

    /// No customer gains at the computed NE; a unilateral change of bid by 1–20 % is
    /// improvable (the check can fail); the competitive bids are not a NE.
    #[test]
    fn equilibrium_has_no_gain_and_perturbation_has((a, h, d) in instance(), k in 0usize..8, up in any::<bool>(), size in 0.01f64..0.2) {
        let m = Market::quadratic(a.clone(), h, d).unwrap();
        let ne = nash_equilibrium(&m).unwrap();
        let g = nash_gain(&m, &ne.bids).unwrap();
        prop_assert!(g.max_relative_gain <= 1e-9, "{}", g.max_relative_gain);
        let i = ne.active_set()[k % ne.active_set().len()];
        let mut off = ne.bids.clone();
        off[i] *= if up { 1.0 + size } else { 1.0 - size };
        let gp = nash_gain(&m, &off).unwrap();
        prop_assert!(gp.relative_gains[i] > 1e-8, "perturbed gain {}", gp.relative_gains[i]);
        prop_assert!(gp.max_relative_gain > 1e-8);
        let ce = competitive_equilibrium(&m).unwrap();
        prop_assert!(nash_gain(&m, &ce.bids).unwrap().max_relative_gain > 1e-9);
    }

    /// With capacities, the capacitated NE (module docs of `equilibrium`) admits no
    /// profitable deviation that respects the capacity.
    #[test]
    fn capacitated_equilibrium_has_no_gain((a, h, d) in instance(), frac in prop::collection::vec(0.05f64..1.0, 8)) {
        let n = a.len();
        // Capacities between 5 % and 100 % of d/2; the first three at least 0.4 d so that
        // Σ min(capacity, d/2) > d (the NE exists).
        let cap: Vec<f64> = (0..n)
            .map(|i| {
                let c = frac[i % frac.len()] * 0.5 * d;
                if i < 3 { c.max(0.4 * d) } else { c }
            })
            .collect();
        let m = Market::quadratic(a, h, d).unwrap().with_capacity(cap.clone()).unwrap();
        let ne = nash_equilibrium(&m).unwrap();
        prop_assert!(ne.certificate.holds(1e-9), "{:?}", ne.certificate);
        for i in 0..n {
            prop_assert!(ne.loads[i] <= cap[i] * (1.0 + 1e-12));
            prop_assert!(ne.loads[i] < 0.5 * d);
        }
        let g = nash_gain(&m, &ne.bids).unwrap();
        prop_assert!(g.max_relative_gain <= 1e-9, "{}", g.max_relative_gain);
        for i in 0..n {
            let now = payoff(&m, &ne.bids, i, ne.bids[i]);
            prop_assert!(brute_best(&m, &ne.bids, i) <= now + 1e-9 * now.abs().max(1e-9));
        }
        let ce = competitive_equilibrium(&m).unwrap();
        prop_assert!(ce.price <= ne.price * (1.0 + 1e-12)); // p̄ ≤ p* still (derived)
    }
}

/// A general (closure) cost: C(q) = e^q − 1 + q²/2. NE by the general path has no gain,
/// and the best responses agree with brute force.
#[test]
fn general_cost_equilibrium_has_no_gain() {
    let costs: Vec<Arc<dyn ConvexScalar>> = [0.5, 1.0, 1.5, 2.0]
        .iter()
        .map(|&w| -> Arc<dyn ConvexScalar> {
            Arc::new(
                ClosureConvex::new(
                    move |q: f64| w * (q.exp() - 1.0) + 0.5 * q * q,
                    move |q: f64| w * q.exp() + q,
                    move |q: f64| w * q.exp() + 1.0,
                    (f64::NEG_INFINITY, f64::INFINITY),
                )
                .unwrap(),
            )
        })
        .collect();
    let m = Market::general(costs, 3.0).unwrap();
    let ne = nash_equilibrium(&m).unwrap();
    assert!(ne.certificate.holds(1e-8), "{:?}", ne.certificate);
    let g = nash_gain(&m, &ne.bids).unwrap();
    assert!(g.max_relative_gain <= 1e-9, "{}", g.max_relative_gain);
    let mut off = ne.bids.clone();
    off[1] *= 1.1;
    let g = nash_gain(&m, &off).unwrap();
    let now = payoff(&m, &off, 1, off[1]);
    let brute = brute_best(&m, &off, 1) - now;
    assert!(
        (g.gains[1] - brute).abs() <= 1e-7 * brute,
        "{} vs {brute}",
        g.gains[1]
    );
}

/// Lemma 1: if everyone else bids 0 the gain is unbounded; Σ b = 0 has no price.
#[test]
fn degenerate_profiles() {
    let m = Market::quadratic(vec![1.0; 3], vec![1.0; 3], 3.0).unwrap();
    let g = nash_gain(&m, &[1.0, 0.0, 0.0]).unwrap();
    assert_eq!(g.gains[0], f64::INFINITY);
    assert!(g.gains[1].is_finite() && g.gains[1] > 0.0);
    assert_eq!(g.max_relative_gain, f64::INFINITY);
    for bad in [vec![0.0; 3], vec![0.0, 0.0]] {
        let e = nash_gain(&m, &bad).unwrap_err();
        assert_eq!(e.field(), "bids", "{e}");
    }
    assert!(matches!(
        clearing_price(&m, &[0.0; 3]).unwrap_err(),
        BiddingError::ZeroTotalBid { .. }
    ));
    let e = nash_gain(&m, &[1.0, f64::NAN, 1.0]).unwrap_err();
    assert_eq!(e.field(), "bids[1]");
    let e = nash_gain(&m, &[1.0, 1.0, -1.0]).unwrap_err();
    assert_eq!(e.field(), "bids[2]");
    assert!(e.to_string().contains("bids[2]"));
}
