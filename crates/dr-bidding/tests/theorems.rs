//! The theorems of li-chen-dahleh-2015 as properties of random markets:
//! Theorems 1–6, Corollaries 1–4, Lemmas 1–3. Every check recomputes the theorem's
//! quantity from the costs in the test itself (marginal costs, `D'`, bounds), so it can fail.

#![allow(clippy::needless_range_loop)]

use dr_bidding::{
    competitive_equilibrium, nash_equilibrium, nash_gain, solve, theorem6_competitive_bids,
    theorem6_nash_bids, theorem6_residual, BiddingError, Market,
};
use proptest::prelude::*;

/// Random `C_i(q) = a_i q + h_i q²` markets with 3–9 customers.
fn instance() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, f64)> {
    (3usize..10).prop_flat_map(|n| {
        (
            prop::collection::vec(0.0f64..3.0, n),
            prop::collection::vec(0.1f64..5.0, n),
            0.5f64..40.0,
        )
    })
}

fn cost(a: f64, h: f64, q: f64) -> f64 {
    a * q + h * q * q
}

fn marginal(a: f64, h: f64, q: f64) -> f64 {
    a + 2.0 * h * q
}

/// `D'(q) = (1 + q/(d − 2q)) C'(q)` (eq. 18), written out here.
fn nash_marginal(a: f64, h: f64, d: f64, q: f64) -> f64 {
    (1.0 + q / (d - 2.0 * q)) * marginal(a, h, q)
}

fn close(x: f64, y: f64, tol: f64) -> bool {
    (x - y).abs() <= tol * x.abs().max(y.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Theorem 1 (efficiency: the competitive loads minimise total cost, p̄ is the
    /// multiplier), price-taking best responses (eq. 5), Corollary 1.
    #[test]
    fn theorem1_competitive_is_efficient((a, h, d) in instance()) {
        let m = Market::quadratic(a.clone(), h.clone(), d).unwrap();
        let eq = competitive_equilibrium(&m).unwrap();
        prop_assert!(eq.certificate.holds(1e-9), "{:?}", eq.certificate);
        let p = eq.price;
        prop_assert!(close(eq.loads.iter().sum::<f64>(), d, 1e-12));
        for i in 0..a.len() {
            let q = eq.loads[i];
            // The price-taker's best response to p̄: argmax_q p̄ q − C(q) = [(p̄ − a)/(2h)]^+.
            let best = ((p - a[i]) / (2.0 * h[i])).max(0.0);
            prop_assert!(close(q, best, 1e-9), "customer {i}: {q} vs {best}");
            prop_assert!(close(eq.bids[i], q / p, 1e-14));
            // Corollary 1: non-negative net revenue.
            prop_assert!(p * q - cost(a[i], h[i], q) >= -1e-12);
            prop_assert!(close(eq.net_revenues[i], p * q - cost(a[i], h[i], q), 1e-12));
        }
        // Moving load between any two customers never lowers the total cost (Theorem 1).
        for i in 0..a.len() {
            for j in 0..a.len() {
                let eps = 1e-3 * eq.loads[i];
                if i == j || eps == 0.0 { continue; }
                let before = cost(a[i], h[i], eq.loads[i]) + cost(a[j], h[j], eq.loads[j]);
                let after = cost(a[i], h[i], eq.loads[i] - eps) + cost(a[j], h[j], eq.loads[j] + eps);
                prop_assert!(after >= before - 1e-12 * before.max(1.0));
            }
        }
        let total: f64 = (0..a.len()).map(|i| cost(a[i], h[i], eq.loads[i])).sum();
        prop_assert!(close(eq.total_cost, total, 1e-12));
    }

    /// Theorems 2 and 4 (water-filling): in the C_i'(0) order the active sets are prefixes,
    /// C⁰_{n̄} ≤ p̄ ≤ C⁰_{n̄+1} (eq. 10) and C⁰_{n*} < p* ≤ C⁰_{n*+1} (eq. 25).
    #[test]
    fn theorems2_and_4_water_filling((a, h, d) in instance()) {
        let m = Market::quadratic(a.clone(), h.clone(), d).unwrap();
        let order = m.water_filling_order();
        for w in order.windows(2) {
            prop_assert!(a[w[0]] <= a[w[1]]);
        }
        for eq in [competitive_equilibrium(&m).unwrap(), nash_equilibrium(&m).unwrap()] {
            let active: Vec<bool> = order.iter().map(|&i| eq.loads[i] > 0.0).collect();
            let n_active = active.iter().filter(|&&x| x).count();
            prop_assert!(active[..n_active].iter().all(|&x| x), "not a prefix: {active:?}");
            prop_assert!(n_active >= 1);
            let last_active = a[order[n_active - 1]];
            prop_assert!(last_active <= eq.price * (1.0 + 1e-12));
            if n_active < a.len() {
                prop_assert!(a[order[n_active]] >= eq.price * (1.0 - 1e-12));
            }
            prop_assert!(eq.water_filling.prefix);
            prop_assert_eq!(eq.water_filling.active, n_active);
        }
    }

    /// Theorem 3 (the NE solves min Σ D_i), Lemmas 1–3 (B_−i > 0, at least two positive bids,
    /// every q* < d/2), Corollary 3, and Definition 2 checked by best responses.
    #[test]
    fn theorem3_nash_and_lemmas((a, h, d) in instance()) {
        let m = Market::quadratic(a.clone(), h.clone(), d).unwrap();
        let ne = nash_equilibrium(&m).unwrap();
        prop_assert!(ne.certificate.holds(1e-9), "{:?}", ne.certificate);
        let p = ne.price;
        let total_bid: f64 = ne.bids.iter().sum();
        prop_assert!(close(p, d / total_bid, 1e-12)); // eq. 4
        let positive = ne.bids.iter().filter(|&&b| b > 0.0).count();
        prop_assert!(positive >= 2); // Lemma 2
        for i in 0..a.len() {
            let q = ne.loads[i];
            prop_assert!(q < 0.5 * d, "Lemma 3: q[{i}] = {q} >= d/2"); // Lemma 3
            prop_assert!(total_bid - ne.bids[i] > 0.0); // Lemma 1
            prop_assert!(ne.bids[i] < total_bid - ne.bids[i]); // Lemma 3: b_i < B_−i
            if q > 0.0 {
                prop_assert!(close(nash_marginal(a[i], h[i], d, q), p, 1e-9)); // p* = D'(q*)
                prop_assert!(p * q - cost(a[i], h[i], q) > 0.0); // Corollary 3
                // Condition (16): (B−b)/(B+b) − (B/d) C'(d b/(B+b)) = 0.
                let (b, bo) = (ne.bids[i], total_bid - ne.bids[i]);
                let c16 = (bo - b) / (bo + b) - bo / d * marginal(a[i], h[i], d * b / (bo + b));
                prop_assert!(c16.abs() < 1e-9, "condition (16): {c16}");
            } else {
                prop_assert!(a[i] >= p * (1.0 - 1e-12)); // D'(0) = C'(0) ≥ p*
                // Condition (15): (B_−i/d) C'(0) ≥ 1.
                prop_assert!((total_bid - ne.bids[i]) / d * a[i] >= 1.0 - 1e-9);
            }
        }
        let g = nash_gain(&m, &ne.bids).unwrap();
        prop_assert!(g.max_relative_gain <= 1e-9, "gain {}", g.max_relative_gain);
        prop_assert!(ne.max_relative_gain.unwrap() <= 1e-9);
    }

    /// Theorem 5: N̄ ⊆ N*, p̄ ≤ p* ≤ ((n−1)/(n−2))(M/m) p̄, C̄ ≤ C*, and
    /// C* ≤ (1 + q̄_max/(d − 2 q̄_max)) C̄ when q̄_max < d/2.
    #[test]
    fn theorem5_efficiency_bounds((a, h, d) in instance()) {
        let m = Market::quadratic(a.clone(), h.clone(), d).unwrap();
        let r = solve(&m).unwrap();
        let (ce, ne) = (&r.competitive, &r.nash);
        let n = a.len() as f64;
        for i in 0..a.len() {
            if ce.loads[i] > 0.0 {
                prop_assert!(ne.loads[i] > 0.0, "customer {i} active in N̄ but not N*");
            }
        }
        let x = d / n;
        let big_m = (0..a.len()).map(|i| marginal(a[i], h[i], x)).fold(f64::MIN, f64::max);
        let small_m = (0..a.len()).map(|i| marginal(a[i], h[i], x)).fold(f64::MAX, f64::min);
        let bound = (n - 1.0) / (n - 2.0) * big_m / small_m;
        prop_assert!(ce.price <= ne.price * (1.0 + 1e-12));
        prop_assert!(ne.price <= bound * ce.price * (1.0 + 1e-12));
        prop_assert!(ce.total_cost <= ne.total_cost * (1.0 + 1e-12));
        let qmax = ce.loads.iter().copied().fold(0.0, f64::max);
        if qmax < 0.5 * d {
            let cb = 1.0 + qmax / (d - 2.0 * qmax);
            prop_assert!(ne.total_cost <= cb * ce.total_cost * (1.0 + 1e-12));
            prop_assert!(close(r.efficiency.cost_ratio_bound.unwrap(), cb, 1e-12));
        } else {
            prop_assert!(r.efficiency.cost_ratio_bound.is_none());
            prop_assert!(!r.efficiency.max_load_below_half);
        }
        prop_assert!(close(r.efficiency.price_ratio_bound, bound, 1e-12));
        prop_assert!(close(r.efficiency.price_ratio, ne.price / ce.price, 1e-15));
        prop_assert!(r.efficiency.active_sets_nested);
        prop_assert!(r.efficiency.price_bounds_hold && r.efficiency.cost_bounds_hold);
        prop_assert!(!r.efficiency.capacities_bind);
    }

    /// Corollary 4: homogeneous customers shed d/n each at both equilibria,
    /// p*/p̄ = (n−1)/(n−2) and C* = C̄.
    #[test]
    fn corollary4_homogeneous(n in 3usize..40, a in 0.0f64..3.0, h in 0.1f64..5.0, d in 0.5f64..40.0) {
        let m = Market::quadratic(vec![a; n], vec![h; n], d).unwrap();
        let r = solve(&m).unwrap();
        let nf = n as f64;
        prop_assert!(close(r.efficiency.price_ratio, (nf - 1.0) / (nf - 2.0), 1e-12),
            "{} vs {}", r.efficiency.price_ratio, (nf - 1.0) / (nf - 2.0));
        prop_assert!(close(r.efficiency.cost_ratio, 1.0, 1e-12));
        for i in 0..n {
            prop_assert!(close(r.competitive.loads[i], d / nf, 1e-12));
            prop_assert!(close(r.nash.loads[i], d / nf, 1e-12));
        }
        prop_assert!(r.efficiency.homogeneous);
        prop_assert!(close(r.efficiency.homogeneous_price_ratio.unwrap(), (nf - 1.0) / (nf - 2.0), 1e-15));
    }

    /// Theorem 6: for C_i = ½ c_i q², b̄_i = 1/c_i and the NE bids solve eq. 30; both are
    /// independent of d. The allocator's NE agrees with the independent eq.-30 solver.
    #[test]
    fn theorem6_pure_quadratic(c in prop::collection::vec(0.1f64..10.0, 3..9), d1 in 0.5f64..20.0, d2 in 20.0f64..200.0) {
        let bids_c = theorem6_competitive_bids(&c).unwrap();
        let bids_n = theorem6_nash_bids(&c).unwrap();
        prop_assert!(theorem6_residual(&c, &bids_n).unwrap() < 1e-12);
        for d in [d1, d2] {
            let m = Market::half_quadratic(&c, d).unwrap();
            prop_assert_eq!(m.pure_quadratic_curvatures().unwrap().len(), c.len());
            let ce = competitive_equilibrium(&m).unwrap();
            let ne = nash_equilibrium(&m).unwrap();
            for i in 0..c.len() {
                prop_assert!(close(ce.bids[i], bids_c[i], 1e-10), "competitive bid {i}");
                prop_assert!(close(ne.bids[i], bids_n[i], 1e-8), "nash bid {i}: {} vs {}", ne.bids[i], bids_n[i]);
            }
            prop_assert!(theorem6_residual(&c, &ne.bids).unwrap() < 1e-9);
        }
    }
}

/// Corollary 2: no Nash equilibrium with two customers (or fewer than three able to shed).
#[test]
fn corollary2_two_customers_have_no_nash_equilibrium() {
    let m = Market::quadratic(vec![1.0, 1.5], vec![1.0, 2.0], 10.0).unwrap();
    assert!(competitive_equilibrium(&m).is_ok());
    let e = nash_equilibrium(&m).unwrap_err();
    assert!(matches!(
        e,
        BiddingError::NashNeedsThreeSuppliers { suppliers: 2, .. }
    ));
    assert!(e.to_string().contains("Corollary 2"), "{e}");
    assert!(solve(&m).is_err());
    let one = Market::quadratic(vec![1.0], vec![1.0], 1.0).unwrap();
    assert!(nash_equilibrium(&one).is_err());
    // Five customers, but three cannot shed anything.
    let capped = Market::quadratic(vec![1.0; 5], vec![1.0; 5], 4.0)
        .unwrap()
        .with_capacity(vec![10.0, 10.0, 0.0, 0.0, 0.0])
        .unwrap();
    assert!(matches!(
        nash_equilibrium(&capped).unwrap_err(),
        BiddingError::NashNeedsThreeSuppliers { suppliers: 2, .. }
    ));
    assert!(theorem6_nash_bids(&[1.0, 2.0]).is_err());
}

/// §V-A: customers ½(c/r)q², ½cq², ½cq². Closed forms of the paper (competitive:
/// q̄_1 = r d/(r+2), p̄ = c d/(r+2); Nash: q_1* = d(√((16+9r)r) − r)/(4(2+r))) and
/// p*/p̄, C*/C̄ growing without bound in r.
#[test]
fn three_customer_efficiency_loss_is_unbounded() {
    let (c, d) = (1.0, 10.0);
    let mut last = (0.0, 0.0);
    for r in [1.0, 10.0, 100.0, 1e3, 1e4, 1e5] {
        let m = Market::half_quadratic(&[c / r, c, c], d).unwrap();
        let rep = solve(&m).unwrap();
        let q1 = r * d / (r + 2.0);
        assert!(close(rep.competitive.loads[0], q1, 1e-10));
        assert!(close(rep.competitive.price, c * d / (r + 2.0), 1e-10));
        let q1n = d * (((16.0 + 9.0 * r) * r).sqrt() - r) / (4.0 * (2.0 + r));
        assert!(close(rep.nash.loads[0], q1n, 1e-9), "r = {r}");
        assert!(close(rep.nash.loads[1], 0.5 * (d - q1n), 1e-9));
        let ratios = (rep.efficiency.price_ratio, rep.efficiency.cost_ratio);
        assert!(
            ratios.0 > last.0 && ratios.1 > last.1,
            "r = {r}: {ratios:?}"
        );
        last = ratios;
        assert!(rep.nash.max_relative_gain.unwrap() < 1e-9);
    }
    // p*/p̄ → 3(r+2)/8 and C*/C̄ → (r+2)/8 (derived from the limits q* → (d/2, d/4, d/4)).
    assert!(last.0 > 0.9 * 3.0 * (1e5 + 2.0) / 8.0, "{last:?}");
    assert!(last.1 > 0.9 * (1e5 + 2.0) / 8.0, "{last:?}");
}

/// A surplus is the deficit model with the sign flipped: same loads and price.
#[test]
fn surplus_mirrors_deficit() {
    let (a, h) = (vec![1.0, 1.3, 2.0, 0.5], vec![0.5, 1.0, 2.0, 3.0]);
    let def = Market::quadratic(a.clone(), h.clone(), 7.0).unwrap();
    let sur = Market::quadratic(a, h, 7.0)
        .unwrap()
        .with_direction(dr_bidding::Direction::Surplus);
    assert_eq!(sur.direction(), dr_bidding::Direction::Surplus);
    assert_eq!(sur.deficit(), 7.0);
    assert_eq!(sur.signed_deficit(), -7.0);
    let (rd, rs) = (solve(&def).unwrap(), solve(&sur).unwrap());
    assert_eq!(rd.competitive.loads, rs.competitive.loads);
    assert_eq!(rd.nash.price, rs.nash.price);
    assert_eq!(sur.load_change(rs.nash.loads[0]), rs.nash.loads[0]);
    assert_eq!(def.load_change(rd.nash.loads[0]), -rd.nash.loads[0]);
    let json = serde_json::to_value(&rs).unwrap();
    assert_eq!(json["direction"], "surplus");
}
