//! Units must not matter (issue "Honest results at the edges", finding 1): scaling a
//! market's data by factors from 1e-12 to 1e12 leaves the competitive and Nash equilibria
//! exactly as the invariances of li-chen-dahleh-2015 predict, to relative 1e-9, with the
//! same status. Checked against hand-derivable invariances and closed forms:
//!
//! - quantity scaling: costs `a q + h q²`, deficit `d`, capacities `q̄`. Replacing
//!   `(d, h, q̄)` by `(s d, h/s, s q̄)` leaves `C_i'(s q) = a + 2 (h/s)(s q) = C_i'(q)` and
//!   `D_i'(s q) = (s d − s q)/(s d − 2 s q) · C_i'(q) = D_i'(q)` (Theorem 3, eq. 18): the
//!   KKT systems of Theorems 1 and 3 map onto each other with `q ↦ s q`, so the prices are
//!   unchanged and the loads scale by `s`;
//! - price scaling: replacing `(a, h)` by `(t a, t h)` multiplies every `C_i'` and `D_i'` by
//!   `t`: the loads are unchanged and the prices scale by `t`;
//! - homogeneous customers (Corollary 4): `q̄_i = q_i* = d/n`, `p̄ = a + 2 h d/n`,
//!   `p* = (n−1)/(n−2) p̄` (Theorem 5, homogeneous case);
//! - uncapacitated quadratics with every customer active (Theorem 2):
//!   `p̄ = (d + Σ a_i/(2h_i)) / Σ 1/(2h_i)`.

use dr_bidding::{competitive_equilibrium, nash_equilibrium, Equilibrium, Market};
use proptest::prelude::*;

const TOL: f64 = 1e-9;

fn market(a: &[f64], h: &[f64], d: f64, cap: Option<&[f64]>) -> Market {
    let m = Market::quadratic(a.to_vec(), h.to_vec(), d).expect("valid market");
    match cap {
        Some(c) => m.with_capacity(c.to_vec()).expect("feasible capacities"),
        None => m,
    }
}

fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

/// Every certificate is Solved and its (relative) residuals are tiny; the loads sum to `d`
/// to relative 1e-9 whatever the scale.
fn check_solved(eq: &Equilibrium, what: &str) {
    assert!(
        eq.certificate.status.is_solved(),
        "{what}: status {:?}",
        eq.certificate.status
    );
    assert!(
        eq.certificate.max_residual() <= TOL,
        "{what}: {:?}",
        eq.certificate
    );
    let sum: f64 = eq.loads.iter().sum();
    assert!(
        rel(sum, eq.deficit) <= TOL,
        "{what}: Σ q = {sum} vs d = {}",
        eq.deficit
    );
}

/// The two equilibria agree with the scaled ones as the invariances say.
fn compare(base: &Equilibrium, scaled: &Equilibrium, price_factor: f64, load_factor: f64) {
    check_solved(base, "base");
    check_solved(scaled, "scaled");
    assert!(
        rel(scaled.price, base.price * price_factor) <= TOL,
        "price {} vs {} × {price_factor}",
        scaled.price,
        base.price
    );
    for (i, (&q, &q0)) in scaled.loads.iter().zip(&base.loads).enumerate() {
        assert!(
            (q - q0 * load_factor).abs() <= TOL * base.deficit * load_factor,
            "load {i}: {q} vs {q0} × {load_factor}"
        );
    }
}

fn factor() -> impl Strategy<Value = f64> {
    (-12i32..=12).prop_map(|e| 10f64.powi(e))
}

fn customers() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (3usize..8).prop_flat_map(|n| {
        (
            proptest::collection::vec(0.0f64..3.0, n),
            proptest::collection::vec(0.1f64..5.0, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn quantity_scaling_keeps_prices_and_scales_loads(
        (a, h) in customers(), d in 0.1f64..20.0, s in factor(), capped in any::<bool>()
    ) {
        let n = a.len();
        // Capacities from 0.3 d to 0.9 d: Σ min(q̄, d/2) ≥ n·0.3 d ≥ 0.9 d … use ≥ 0.35 d.
        let cap: Vec<f64> = (0..n).map(|i| d * (0.35 + 0.1 * (i % 5) as f64)).collect();
        let cap_s: Vec<f64> = cap.iter().map(|c| c * s).collect();
        let hs: Vec<f64> = h.iter().map(|h| h / s).collect();
        let (c0, c1) = if capped { (Some(&cap[..]), Some(&cap_s[..])) } else { (None, None) };
        let m0 = market(&a, &h, d, c0);
        let m1 = market(&a, &hs, d * s, c1);
        compare(&competitive_equilibrium(&m0).unwrap(), &competitive_equilibrium(&m1).unwrap(), 1.0, s);
        compare(&nash_equilibrium(&m0).unwrap(), &nash_equilibrium(&m1).unwrap(), 1.0, s);
    }

    #[test]
    fn price_scaling_scales_prices_and_keeps_loads(
        (a, h) in customers(), d in 0.1f64..20.0, t in factor()
    ) {
        let at: Vec<f64> = a.iter().map(|v| v * t).collect();
        let ht: Vec<f64> = h.iter().map(|v| v * t).collect();
        let m0 = market(&a, &h, d, None);
        let m1 = market(&at, &ht, d, None);
        compare(&competitive_equilibrium(&m0).unwrap(), &competitive_equilibrium(&m1).unwrap(), t, 1.0);
        compare(&nash_equilibrium(&m0).unwrap(), &nash_equilibrium(&m1).unwrap(), t, 1.0);
    }

    #[test]
    fn homogeneous_closed_forms_hold_at_every_scale(
        n in 3usize..40, a in 0.0f64..3.0, h in 0.1f64..5.0, d in factor(), t in factor()
    ) {
        let (a, h) = (a * t, h * t);
        let m = market(&vec![a; n], &vec![h; n], d, None);
        let c = competitive_equilibrium(&m).unwrap();
        let e = nash_equilibrium(&m).unwrap();
        check_solved(&c, "competitive");
        check_solved(&e, "nash");
        let p_bar = a + 2.0 * h * d / n as f64;
        let nf = n as f64;
        prop_assert!(rel(c.price, p_bar) <= TOL, "p̄ {} vs {p_bar}", c.price);
        prop_assert!(rel(e.price, (nf - 1.0) / (nf - 2.0) * p_bar) <= TOL,
            "p* {} vs (n−1)/(n−2) p̄ = {}", e.price, (nf - 1.0) / (nf - 2.0) * p_bar);
        for q in c.loads.iter().chain(&e.loads) {
            prop_assert!(rel(*q, d / nf) <= TOL, "load {q} vs d/n = {}", d / nf);
        }
    }

    #[test]
    fn all_active_competitive_price_is_the_closed_form(
        (a, h) in customers(), s in factor(), t in factor()
    ) {
        // d large enough that every customer is active: p̄ ≥ max a_i ⇔
        // d ≥ Σ (max a − a_i)/(2 h_i). Then scale quantities by s and prices by t.
        let amax = a.iter().cloned().fold(0.0, f64::max);
        let need: f64 = a.iter().zip(&h).map(|(a, h)| (amax - a) / (2.0 * h)).sum();
        let d = (need * 1.5).max(0.5);
        let at: Vec<f64> = a.iter().map(|v| v * t).collect();
        let hst: Vec<f64> = h.iter().map(|v| v * t / s).collect();
        let m = market(&at, &hst, d * s, None);
        let c = competitive_equilibrium(&m).unwrap();
        check_solved(&c, "competitive");
        let inv: f64 = hst.iter().map(|h| 0.5 / h).sum();
        let lin: f64 = at.iter().zip(&hst).map(|(a, h)| a * 0.5 / h).sum();
        let p = (d * s + lin) / inv;
        prop_assert!(rel(c.price, p) <= TOL, "p̄ {} vs closed form {p}", c.price);
    }
}

/// The case: three customers, Nash at d = 1e-12, 1e-8, 1 and 1e12. At the tiny
/// deficits the price is (to far below 1e-9) the d → 0 limit, solved by hand: with
/// `q_i = θ_i d`, `D_i'(q_i) = a_i (1 − θ_i)/(1 − 2θ_i) + O(h d)`, so `θ_i(p) =
/// (p − a_i)/(2p − a_i)` for `p > a_i` and `Σ θ_i = 1`. For `a = (1, 1.5, 2)` the
/// root is found below by bisection on that scalar equation (independent of the kernel).
#[test]
fn nash_with_tiny_and_huge_deficits_is_accurate() {
    let a = [1.0, 1.5, 2.0];
    let h = [1.0, 2.0, 0.5];
    let theta = |p: f64| -> f64 {
        a.iter()
            .map(|&ai| {
                if p > ai {
                    (p - ai) / (2.0 * p - ai)
                } else {
                    0.0
                }
            })
            .sum()
    };
    let (mut lo, mut hi) = (1.0f64, 100.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if theta(mid) < 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let p0 = 0.5 * (lo + hi);
    for d in [1e-12, 1e-8] {
        let m = market(&a, &h, d, None);
        let e = nash_equilibrium(&m).unwrap();
        check_solved(&e, "nash");
        // The O(h d / a) correction is below 1e-7 at d = 1e-8.
        let tol = if d < 1e-10 { TOL } else { 1e-7 };
        assert!(rel(e.price, p0) <= tol, "d = {d}: p* = {} vs {p0}", e.price);
        for (i, &ai) in a.iter().enumerate() {
            let th = if p0 > ai {
                (p0 - ai) / (2.0 * p0 - ai)
            } else {
                0.0
            };
            assert!((e.loads[i] / d - th).abs() <= tol, "d = {d}: θ_{i}");
        }
        let c = competitive_equilibrium(&m).unwrap();
        check_solved(&c, "competitive");
    }
    for d in [1.0, 1e12] {
        let m = market(&a, &h, d, None);
        check_solved(&nash_equilibrium(&m).unwrap(), "nash");
        check_solved(&competitive_equilibrium(&m).unwrap(), "competitive");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The Nash transform `D_i` of Theorem 3 (closed form, `nash_quadratic_value`) at any
    /// scale: `(a, h, d, q) ↦ (t a, t h/s, s d, s q)` multiplies `C` by `t s` and leaves the
    /// barrier factor `(d − q)/(d − 2q)` unchanged, so `D` is multiplied by `t s`
    /// (substitute `x = s ξ` in the integral of eq. 17). At the base scale it agrees with
    /// the kernel's general `NashTransform` of the same cost (an independent evaluation).
    #[test]
    fn nash_transform_scales(
        a in 0.0f64..3.0, h in 0.1f64..5.0, d in 0.1f64..20.0, tau in 0.0f64..0.99,
        s in factor(), t in factor()
    ) {
        use dr_bidding::nash_quadratic_value;
        use dr_convex::{ConvexScalar, LinearQuadraticCost, NashTransform};
        let q = 0.5 * tau * d;
        let base = nash_quadratic_value(a, h, d, q);
        let scaled = nash_quadratic_value(t * a, t * h / s, s * d, s * q);
        prop_assert!((scaled - t * s * base).abs() <= 1e-9 * t * s * base.abs().max(f64::MIN_POSITIVE),
            "D {scaled} vs t s D = {}", t * s * base);
        let general = NashTransform { cost: LinearQuadraticCost { linear: a, quadratic: h }, deficit: d };
        let g = general.value(q);
        prop_assert!((g - base).abs() <= 1e-9 * base.abs().max(1e-300) || (g - base).abs() <= 1e-12 * (a + h * d) * d,
            "closed form {base} vs general {g}");
    }
}
