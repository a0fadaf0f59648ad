//! Units must not matter (issue "Honest results at the edges", finding 1): the allocator's
//! answer and certificate are the same, to relative 1e-9, when the data are rescaled by any
//! factor from 1e-12 to 1e12.
//!
//! For `f_i(x) = a_i x + h_i x²`, `Σ x = T`, `l ≤ x ≤ u`:
//! - quantities: `(T, l, u, h) ↦ (s T, s l, s u, h/s)` gives `f_i'(s x) = a_i + 2 h_i x`,
//!   the same KKT system in `s x`: the price is unchanged, `x ↦ s x`;
//! - prices: `(a, h) ↦ (t a, t h)` multiplies every `f_i'` by `t`: price `× t`, `x`
//!   unchanged;
//! - a closed form: with every item free, `λ = (T + Σ a_i/(2h_i)) / Σ 1/(2h_i)`.
//!
//! The certificate must be Solved with relative residuals ≤ 1e-9 at every scale, and a
//! total of zero must be handled without a unit floor.

use dr_convex::{allocate, AllocatorSettings, Bound, NashQuadraticFamily, QuadraticFamily};
use proptest::prelude::*;

const TOL: f64 = 1e-9;

fn solve(a: &[f64], h: &[f64], l: f64, u: &[f64], total: f64) -> dr_convex::Allocation {
    let fam = QuadraticFamily::new(a, h).unwrap();
    allocate(
        &fam,
        Bound::Constant(l),
        Bound::PerItem(u),
        total,
        &AllocatorSettings::default(),
    )
    .unwrap()
}

fn factor() -> impl Strategy<Value = f64> {
    (-12i32..=12).prop_map(|e| 10f64.powi(e))
}

fn instance() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>, f64)> {
    (2usize..10).prop_flat_map(|n| {
        (
            proptest::collection::vec(0.0f64..4.0, n),
            proptest::collection::vec(0.05f64..5.0, n),
            proptest::collection::vec(0.2f64..3.0, n),
            0.05f64..0.95,
        )
    })
}

fn check(al: &dr_convex::Allocation, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        al.certificate.status.is_solved() && al.certificate.max_residual() <= TOL,
        "{what}: {:?}",
        al.certificate
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn quantity_scaling(
        (a, h, u, frac) in instance(), s in factor()
    ) {
        let total = frac * u.iter().sum::<f64>();
        let base = solve(&a, &h, 0.0, &u, total);
        let hs: Vec<f64> = h.iter().map(|h| h / s).collect();
        let us: Vec<f64> = u.iter().map(|u| u * s).collect();
        let scaled = solve(&a, &hs, 0.0, &us, total * s);
        check(&base, "base")?;
        check(&scaled, "scaled")?;
        let price_scale = base.multiplier.abs().max(a.iter().cloned().fold(0.0, f64::max));
        prop_assert!((scaled.multiplier - base.multiplier).abs() <= TOL * price_scale,
            "λ {} vs {}", scaled.multiplier, base.multiplier);
        for (x, x0) in scaled.x.iter().zip(&base.x) {
            prop_assert!((x - x0 * s).abs() <= TOL * total * s, "x {x} vs {x0}·{s}");
        }
        let sum: f64 = scaled.x.iter().sum();
        prop_assert!((sum - total * s).abs() <= TOL * total * s);
    }

    #[test]
    fn price_scaling(
        (a, h, u, frac) in instance(), t in factor()
    ) {
        let total = frac * u.iter().sum::<f64>();
        let base = solve(&a, &h, 0.0, &u, total);
        let at: Vec<f64> = a.iter().map(|v| v * t).collect();
        let ht: Vec<f64> = h.iter().map(|v| v * t).collect();
        let scaled = solve(&at, &ht, 0.0, &u, total);
        check(&base, "base")?;
        check(&scaled, "scaled")?;
        let price_scale = base.multiplier.abs().max(a.iter().cloned().fold(0.0, f64::max));
        prop_assert!((scaled.multiplier - base.multiplier * t).abs() <= TOL * price_scale * t);
        for (x, x0) in scaled.x.iter().zip(&base.x) {
            prop_assert!((x - x0).abs() <= TOL * total);
        }
    }

    #[test]
    fn free_closed_form_at_every_scale(
        n in 2usize..20, a in 0.0f64..1.0, h in 0.1f64..2.0, s in factor(), t in factor()
    ) {
        // Every item free when the total is large against the spread of a_i:
        // a_i = t(a + i·1e-3), h_i = t h/s, T = s·n.
        let av: Vec<f64> = (0..n).map(|i| t * (a + 1e-3 * i as f64)).collect();
        let hv: Vec<f64> = (0..n).map(|i| t * (h + 0.01 * i as f64) / s).collect();
        let total = s * n as f64;
        let al = solve(&av, &hv, 0.0, &vec![f64::INFINITY; n], total);
        check(&al, "free")?;
        let inv: f64 = hv.iter().map(|h| 0.5 / h).sum();
        let off: f64 = av.iter().zip(&hv).map(|(a, h)| a * 0.5 / h).sum();
        let lambda = (total + off) / inv;
        prop_assert!((al.multiplier - lambda).abs() <= TOL * lambda.abs(), "λ {} vs {lambda}", al.multiplier);
    }

    #[test]
    fn nash_family_scales(
        n in 3usize..8, s in factor(), t in factor()
    ) {
        // D_i of a_i q + h_i q² with deficit d: (d, h) ↦ (s d, h/s) keeps the price,
        // (a, h) ↦ (t a, t h) multiplies it by t (li-chen-dahleh-2015 eq. 18).
        let a: Vec<f64> = (0..n).map(|i| 1.0 + 0.25 * i as f64).collect();
        let h: Vec<f64> = (0..n).map(|i| 0.5 + 0.5 * i as f64).collect();
        let run = |a: &[f64], h: &[f64], d: f64| {
            let fam = NashQuadraticFamily::new(a, h, d).unwrap();
            allocate(&fam, Bound::Constant(0.0), Bound::Constant(0.5 * d), d, &AllocatorSettings::default()).unwrap()
        };
        let base = run(&a, &h, 2.0);
        let hs: Vec<f64> = h.iter().map(|v| t * v / s).collect();
        let at: Vec<f64> = a.iter().map(|v| t * v).collect();
        let scaled = run(&at, &hs, 2.0 * s);
        check(&base, "base")?;
        check(&scaled, "scaled")?;
        prop_assert!((scaled.multiplier - t * base.multiplier).abs() <= TOL * t * base.multiplier);
        for (x, x0) in scaled.x.iter().zip(&base.x) {
            prop_assert!((x - s * x0).abs() <= TOL * 2.0 * s);
        }
    }
}

/// A zero total with a box around it: no unit floor, the residuals are relative to the
/// box (`quantity_scale`), and the answer is exact.
#[test]
fn zero_total_is_scaled_by_the_bounds() {
    for s in [1e-12, 1.0, 1e12] {
        let (a, h) = ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]);
        let fam = QuadraticFamily::new(&a, &h).unwrap();
        let al = allocate(
            &fam,
            Bound::Constant(-s),
            Bound::Constant(s),
            0.0,
            &AllocatorSettings::default(),
        )
        .unwrap();
        assert!(al.certificate.holds(TOL), "{s}: {:?}", al.certificate);
        // λ = (0 + Σ a/2)/(Σ 1/2) = 2 when every item is free (needs s ≥ 1/2).
        if s >= 1.0 {
            assert!((al.multiplier - 2.0).abs() <= 1e-12);
        }
        let sum: f64 = al.x.iter().sum();
        assert!(sum.abs() <= TOL * 3.0 * s, "{s}: Σ x = {sum}");
    }
}

/// The IPM in any units: `min Σ a_i x_i + h_i x_i²` s.t. `Σ x = T`, `0 ≤ x ≤ u`, solved by
/// the interior-point method at quantity scales `s` and price scales `t` from 1e-12 to
/// 1e12, against the allocator (an independent exact method) on the same data.
#[test]
fn ipm_matches_the_allocator_at_every_scale() {
    use dr_convex::ipm::{solve, IpmSettings, LinearRows, SeparableProblem};
    use dr_convex::{ConvexScalar, LinearQuadraticCost};
    use std::sync::Arc;
    let (a0, h0, u0) = (
        [1.0, 1.5, 2.0, 0.2],
        [1.0, 2.0, 0.5, 3.0],
        [0.6, 0.5, 2.0, 0.3],
    );
    for e in (-12..=12).step_by(4) {
        for t in [1e-12, 1.0, 1e12] {
            let s = 10f64.powi(e);
            let a: Vec<f64> = a0.iter().map(|v| v * t).collect();
            let h: Vec<f64> = h0.iter().map(|v| v * t / s).collect();
            let u: Vec<f64> = u0.iter().map(|v| v * s).collect();
            let total = 1.5 * s;
            let objective: Vec<Arc<dyn ConvexScalar>> = a
                .iter()
                .zip(&h)
                .map(|(&a, &h)| -> Arc<dyn ConvexScalar> {
                    Arc::new(LinearQuadraticCost::new(a, h).unwrap())
                })
                .collect();
            let mut equalities = LinearRows::new(4);
            equalities
                .push_row(&[(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0)], total)
                .unwrap();
            let p = SeparableProblem {
                objective,
                lower: vec![0.0; 4],
                upper: u.clone(),
                equalities,
                inequalities: LinearRows::new(4),
            };
            let sol = solve(&p, &IpmSettings::default()).unwrap();
            assert!(
                sol.certificate.holds(1e-9),
                "s = {s}, t = {t}: {:?}",
                sol.certificate
            );
            let al = solve_alloc(&a, &h, &u, total);
            let price = sol.equality_multipliers[0];
            assert!(
                (price - al.multiplier).abs() <= 1e-7 * al.multiplier.abs(),
                "s = {s}, t = {t}: IPM price {price} vs allocator {}",
                al.multiplier
            );
            for (x, y) in sol.x.iter().zip(&al.x) {
                assert!(
                    (x - y).abs() <= 1e-7 * total,
                    "s = {s}, t = {t}: {x} vs {y}"
                );
            }
        }
    }
}

fn solve_alloc(a: &[f64], h: &[f64], u: &[f64], total: f64) -> dr_convex::Allocation {
    solve(a, h, 0.0, u, total)
}

/// The VI solver in any units: `F(x) = t (M x/s + q)` on the box `s·[0, 1]²` is the
/// module example with quantities × s and prices × t; its solution is `s·(1, 0)` whatever
/// `s, t` in 1e-12 … 1e12, with a Solved certificate.
#[test]
fn vi_solution_scales_with_the_units() {
    use dr_convex::{solve_vi, AffineOperator, BoxSet, ViSettings};
    for s in [1e-12, 1e-6, 1.0, 1e6, 1e12] {
        for t in [1e-12, 1.0, 1e12] {
            let op =
                AffineOperator::new(2, vec![t / s, t / s, -t / s, t / s], vec![-t, t]).unwrap();
            let set = BoxSet::new(vec![0.0; 2], vec![s; 2]).unwrap();
            let sol = solve_vi(&op, &set, &[0.5 * s, 0.5 * s], &ViSettings::default()).unwrap();
            assert!(
                sol.certificate.holds(1e-8),
                "s = {s}, t = {t}: {:?}",
                sol.certificate
            );
            assert!(
                (sol.x[0] - s).abs() <= 1e-7 * s,
                "s = {s}, t = {t}: {:?}",
                sol.x
            );
            assert!(sol.x[1].abs() <= 1e-7 * s, "s = {s}, t = {t}: {:?}", sol.x);
        }
    }
}
