//! Properties of the exact single-coupling allocator (dr-convex `allocate`).
//!
//! - KKT residuals ≤ 1e-9 relative on random instances (quadratic, Nash-transformed, log);
//! - agreement with an independent brute force over active sets for n ≤ 4;
//! - bit-identical results with 1 and 4 threads;
//! - every bad input returns an error naming the field.

use dr_convex::{
    allocate, solve_multiplier, AllocatorSettings, Bound, ConvexError, ConvexScalar, Family,
    LinearQuadraticCost, LogUtility, NashQuadraticFamily, NashTransform, QuadraticFamily,
    ScalarFamily, Status,
};
use proptest::prelude::*;

fn settings() -> AllocatorSettings {
    AllocatorSettings::default()
}

/// Independent exact solution for quadratic costs: try every assignment of items to
/// {at lower, at upper, free}; for the free set the common price solves a linear equation.
/// Keep the feasible KKT point with the smallest objective.
fn brute_force(a: &[f64], h: &[f64], l: &[f64], u: &[f64], d: f64) -> (Vec<f64>, f64) {
    let n = a.len();
    let mut best: Option<(f64, Vec<f64>)> = None;
    for code in 0..3usize.pow(n as u32) {
        let mut c = code;
        let mut state = vec![0u8; n];
        for s in state.iter_mut() {
            *s = (c % 3) as u8;
            c /= 3;
        }
        let (mut fixed, mut inv, mut off) = (0.0, 0.0, 0.0);
        for i in 0..n {
            match state[i] {
                0 => fixed += l[i],
                1 => fixed += u[i],
                _ => {
                    inv += 0.5 / h[i];
                    off += a[i] * 0.5 / h[i];
                }
            }
        }
        let x: Vec<f64> = if inv > 0.0 {
            let lambda = (d - fixed + off) / inv;
            (0..n)
                .map(|i| match state[i] {
                    0 => l[i],
                    1 => u[i],
                    _ => (lambda - a[i]) * 0.5 / h[i],
                })
                .collect()
        } else {
            (0..n)
                .map(|i| if state[i] == 0 { l[i] } else { u[i] })
                .collect()
        };
        let feasible = x
            .iter()
            .zip(l)
            .zip(u)
            .all(|((&xi, &li), &ui)| xi >= li - 1e-12 && xi <= ui + 1e-12)
            && (x.iter().sum::<f64>() - d).abs() <= 1e-9 * d.abs().max(1.0);
        if feasible {
            let obj: f64 = (0..n).map(|i| a[i] * x[i] + h[i] * x[i] * x[i]).sum();
            if best.as_ref().is_none_or(|b| obj < b.0) {
                best = Some((obj, x));
            }
        }
    }
    let (obj, x) = best.expect("instance is feasible by construction");
    (x, obj)
}

fn quadratic_instance(
    max_n: usize,
) -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, f64)> {
    (1..=max_n).prop_flat_map(|n| {
        (
            prop::collection::vec(0.0..3.0f64, n),
            prop::collection::vec(0.05..5.0f64, n),
            prop::collection::vec(-1.0..1.0f64, n),
            prop::collection::vec(0.1..4.0f64, n),
            0.0..1.0f64,
        )
            .prop_map(|(a, h, l, w, frac)| {
                let u: Vec<f64> = l.iter().zip(&w).map(|(l, w)| l + w).collect();
                let (sl, su): (f64, f64) = (l.iter().sum(), u.iter().sum());
                let d = sl + frac * (su - sl);
                (a, h, l, u, d)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn quadratic_kkt_and_brute_force((a, h, l, u, d) in quadratic_instance(4)) {
        let fam = QuadraticFamily::new(&a, &h).unwrap();
        let sol = allocate(&fam, Bound::PerItem(&l), Bound::PerItem(&u), d, &settings()).unwrap();
        prop_assert!(sol.certificate.holds(1e-9), "{:?}", sol.certificate);
        let (xb, ob) = brute_force(&a, &h, &l, &u, d);
        prop_assert!((sol.objective - ob).abs() <= 1e-9 * ob.abs().max(1.0), "{} vs {}", sol.objective, ob);
        for (x, y) in sol.x.iter().zip(&xb) {
            prop_assert!((x - y).abs() <= 1e-7, "{:?} vs {:?}", sol.x, xb);
        }
    }

    #[test]
    fn quadratic_large_kkt((a, h, l, u, d) in quadratic_instance(300)) {
        let fam = QuadraticFamily::new(&a, &h).unwrap();
        let sol = allocate(&fam, Bound::PerItem(&l), Bound::PerItem(&u), d, &settings()).unwrap();
        prop_assert!(sol.certificate.holds(1e-9), "{:?}", sol.certificate);
        prop_assert!(sol.x.iter().zip(&l).zip(&u).all(|((x, l), u)| x >= l && x <= u));
    }

    #[test]
    fn unbounded_above_kkt(a in prop::collection::vec(0.0..3.0f64, 1..200), d in 0.01..100.0f64) {
        let h: Vec<f64> = a.iter().map(|x| 0.5 + x).collect();
        let fam = QuadraticFamily::new(&a, &h).unwrap();
        let sol = allocate(&fam, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), d, &settings()).unwrap();
        prop_assert!(sol.certificate.holds(1e-9), "{:?}", sol.certificate);
        // Water-filling (li-chen-dahleh-2015 Thm 2): active iff a_i < price.
        for (x, a) in sol.x.iter().zip(&a) {
            prop_assert_eq!(*x > 0.0, *a < sol.multiplier);
        }
    }

    #[test]
    fn nash_family_matches_generic_transform(a in prop::collection::vec(0.0..2.0f64, 3..12), d in 0.5..20.0f64) {
        let h: Vec<f64> = a.iter().map(|x| 0.3 + x).collect();
        let fam = NashQuadraticFamily::new(&a, &h, d).unwrap();
        let fast = allocate(&fam, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), d, &settings()).unwrap();
        prop_assert!(fast.certificate.holds(1e-9), "{:?}", fast.certificate);
        // Lemma 3 of li-chen-dahleh-2015: every q* < d/2.
        prop_assert!(fast.x.iter().all(|&q| q < 0.5 * d));
        let pieces: Vec<NashTransform<LinearQuadraticCost>> = a.iter().zip(&h)
            .map(|(&a, &h)| NashTransform::new(LinearQuadraticCost::new(a, h).unwrap(), d).unwrap()).collect();
        let generic = allocate(&ScalarFamily { pieces: &pieces }, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), d, &settings()).unwrap();
        prop_assert!(generic.certificate.holds(1e-9), "{:?}", generic.certificate);
        prop_assert!((fast.multiplier - generic.multiplier).abs() <= 1e-9 * fast.multiplier.abs().max(1.0));
    }

    #[test]
    fn log_water_filling(p in prop::collection::vec(0.1..5.0f64, 1..30), budget in 0.1..50.0f64) {
        // max Σ ln(1 + e_j/p_j) s.t. Σ e_j = B, e ≥ 0 (a budget-limited consumer, alshehri et al. eq. 10).
        #[derive(Debug)]
        struct Spend<'a> { p: &'a [f64] }
        impl Family for Spend<'_> {
            fn len(&self) -> usize { self.p.len() }
            fn value(&self, i: usize, e: f64) -> f64 { -(1.0 + e / self.p[i]).ln() }
            fn derivative(&self, i: usize, e: f64) -> f64 { -1.0 / (self.p[i] + e) }
            fn response(&self, i: usize, lam: f64, lo: f64, hi: f64) -> (f64, f64) {
                // Same as LogUtility { weight: 1, shift: p_i }: e = −1/λ − p_i.
                debug_assert!(LogUtility { weight: 1.0, shift: self.p[i] }.inverse_derivative(lam, lo, hi).is_finite() || lam >= 0.0);
                let e = if lam < 0.0 { -1.0 / lam - self.p[i] } else { f64::INFINITY };
                if e <= lo { (lo, 0.0) } else if e >= hi { (hi, 0.0) } else { (e, 1.0 / (lam * lam)) }
            }
        }
        let fam = Spend { p: &p };
        let sol = allocate(&fam, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), budget, &settings()).unwrap();
        prop_assert!(sol.certificate.holds(1e-9), "{:?}", sol.certificate);
    }
}

#[test]
fn bit_identical_across_thread_counts() {
    let n = 200_000;
    let a: Vec<f64> = (0..n)
        .map(|i: usize| 1.0 + (i.wrapping_mul(7919) % 1000) as f64 / 1000.0)
        .collect();
    let h: Vec<f64> = (0..n)
        .map(|i: usize| 0.5 + (i.wrapping_mul(104_729) % 4000) as f64 / 1000.0)
        .collect();
    let fam = QuadraticFamily::new(&a, &h).unwrap();
    let s = AllocatorSettings {
        parallel_threshold: 0,
        ..AllocatorSettings::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                allocate(
                    &fam,
                    Bound::Constant(0.0),
                    Bound::Constant(f64::INFINITY),
                    1000.0,
                    &s,
                )
                .unwrap()
            })
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.multiplier.to_bits(), four.multiplier.to_bits());
    assert_eq!(one.objective.to_bits(), four.objective.to_bits());
    assert!(one
        .x
        .iter()
        .zip(&four.x)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    // And the sequential path (threshold above n) gives the same bits too.
    let seq = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        1000.0,
        &AllocatorSettings {
            parallel_threshold: usize::MAX,
            ..s
        },
    )
    .unwrap();
    assert_eq!(one.multiplier.to_bits(), seq.multiplier.to_bits());
    assert!(one.certificate.holds(1e-9));
}

#[test]
fn few_passes_on_a_large_quadratic_instance() {
    let n = 100_000;
    let a: Vec<f64> = (0..n)
        .map(|i: usize| 1.0 + (i.wrapping_mul(7919) % 1000) as f64 / 1000.0)
        .collect();
    let h: Vec<f64> = (0..n)
        .map(|i: usize| 0.5 + (i.wrapping_mul(104_729) % 4000) as f64 / 1000.0)
        .collect();
    let fam = QuadraticFamily::new(&a, &h).unwrap();
    let sol = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        5000.0,
        &settings(),
    )
    .unwrap();
    assert!(sol.certificate.holds(1e-10), "{:?}", sol.certificate);
    assert!(
        sol.certificate.iterations <= 12,
        "passes: {}",
        sol.certificate.iterations
    );
}

#[test]
fn hand_derived_two_customer_price() {
    // C_1 = q², C_2 = 2q², d = 3: 2 q_1 = 4 q_2 = p, q_1 + q_2 = 3 ⇒ p = 4, q = (2, 1).
    let (a, h) = ([0.0, 0.0], [1.0, 2.0]);
    let fam = QuadraticFamily::new(&a, &h).unwrap();
    let sol = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        3.0,
        &settings(),
    )
    .unwrap();
    assert!((sol.multiplier - 4.0).abs() < 1e-12);
    assert!((sol.x[0] - 2.0).abs() < 1e-12 && (sol.x[1] - 1.0).abs() < 1e-12);
    assert_eq!(sol.certificate.status, Status::Solved);
}

#[test]
fn capacities_bind() {
    // Same as above with q_1 ≤ 1: q = (1, 2), p = C_2'(2) = 8.
    let (a, h) = ([0.0, 0.0], [1.0, 2.0]);
    let fam = QuadraticFamily::new(&a, &h).unwrap();
    let sol = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::PerItem(&[1.0, 10.0]),
        3.0,
        &settings(),
    )
    .unwrap();
    assert!((sol.multiplier - 8.0).abs() < 1e-12, "{}", sol.multiplier);
    assert_eq!(sol.x, vec![1.0, 2.0]);
    assert!(sol.certificate.holds(1e-12));
}

#[test]
fn bad_inputs_are_errors_naming_the_field() {
    let inf = f64::INFINITY;
    assert!(
        matches!(QuadraticFamily::new(&[f64::NAN], &[1.0]), Err(ConvexError::NotFinite { field, .. }) if field == "linear[0]")
    );
    assert!(
        matches!(QuadraticFamily::new(&[1.0, 1.0], &[1.0, -2.0]), Err(ConvexError::OutOfRange { field, value, .. }) if field == "quadratic[1]" && value == -2.0)
    );
    assert!(matches!(
        QuadraticFamily::new(&[1.0], &[1.0, 2.0]),
        Err(ConvexError::LengthMismatch { .. })
    ));
    assert!(
        matches!(NashQuadraticFamily::new(&[1.0], &[1.0], 0.0), Err(ConvexError::OutOfRange { field, .. }) if field == "deficit")
    );
    let fam = QuadraticFamily::new(&[1.0, 1.0], &[1.0, 1.0]).unwrap();
    let empty = QuadraticFamily::new(&[], &[]).unwrap();
    let s = settings();
    assert!(matches!(
        allocate(&empty, Bound::Constant(0.0), Bound::Constant(inf), 1.0, &s),
        Err(ConvexError::Empty { .. })
    ));
    assert!(
        matches!(allocate(&fam, Bound::Constant(0.0), Bound::Constant(inf), f64::NAN, &s), Err(ConvexError::NotFinite { field, .. }) if field == "total")
    );
    assert!(matches!(
        allocate(
            &fam,
            Bound::PerItem(&[0.0, 2.0]),
            Bound::PerItem(&[1.0, 1.0]),
            1.5,
            &s
        ),
        Err(ConvexError::InvertedBounds {
            ref field,
            ..
        }) if field == "bounds[1]"
    ));
    assert!(matches!(
        allocate(
            &fam,
            Bound::PerItem(&[0.0, f64::NAN]),
            Bound::Constant(inf),
            1.5,
            &s
        ),
        Err(ConvexError::InvertedBounds {
            ref field,
            ..
        }) if field == "bounds[1]"
    ));
    assert!(
        matches!(allocate(&fam, Bound::Constant(0.0), Bound::Constant(1.0), 3.0, &s), Err(ConvexError::Infeasible { min, max, .. }) if min == 0.0 && max == 2.0)
    );
    assert!(
        matches!(allocate(&fam, Bound::PerItem(&[0.0]), Bound::Constant(1.0), 1.0, &s), Err(ConvexError::LengthMismatch { field, .. }) if field == "lower")
    );
    assert!(matches!(
        solve_multiplier(&fam, Bound::Constant(0.0), Bound::Constant(1.0), -1.0, &s),
        Err(ConvexError::Infeasible { .. })
    ));
    assert!(LinearQuadraticCost::new(1.0, 0.0).is_err());
    assert!(LogUtility::new(-1.0, 1.0).is_err());
}

#[test]
fn total_at_the_edge_of_the_range() {
    let fam = QuadraticFamily::new(&[1.0, 2.0], &[1.0, 1.0]).unwrap();
    let s = settings();
    let lo = allocate(&fam, Bound::Constant(0.0), Bound::Constant(1.0), 0.0, &s).unwrap();
    assert_eq!(lo.x, vec![0.0, 0.0]);
    assert!(lo.certificate.holds(1e-12), "{:?}", lo.certificate);
    let hi = allocate(&fam, Bound::Constant(0.0), Bound::Constant(1.0), 2.0, &s).unwrap();
    assert_eq!(hi.x, vec![1.0, 1.0]);
    assert!(hi.certificate.holds(1e-12), "{:?}", hi.certificate);
}

/// A jump of `Σ x(λ)` across the total (linear pieces: `f_i' = 1` flat): no single λ's
/// responses sum to the total, the bracket closes at λ = 1, and the allocator splits the
/// jump between the responses on either side. By hand: f_0 = x on [0, 2], f_1 = x on [0, 3],
/// f_2 = ½ x² (x = λ), total 4: λ = 1, x_2 = 1, x_0 + x_1 = 3 with 0 ≤ x_0 ≤ 2, 0 ≤ x_1 ≤ 3;
/// the split is proportional to the jumps (2 and 3): x_0 = 1.2, x_1 = 1.8.
#[test]
fn flat_marginal_costs_split_the_jump_with_an_exact_certificate() {
    let pieces: Vec<Box<dyn ConvexScalar>> = vec![
        Box::new(dr_convex::Linear { slope: 1.0 }),
        Box::new(dr_convex::Linear { slope: 1.0 }),
        Box::new(dr_convex::HalfQuadraticCost { curvature: 1.0 }),
    ];
    let fam = ScalarFamily { pieces: &pieces };
    let upper = [2.0, 3.0, f64::INFINITY];
    let sol = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::PerItem(&upper),
        4.0,
        &settings(),
    )
    .unwrap();
    assert!(sol.certificate.status.is_solved(), "{:?}", sol.certificate);
    assert!(
        (sol.multiplier - 1.0).abs() < 1e-14,
        "λ = {}",
        sol.multiplier
    );
    assert!((sol.x[2] - 1.0).abs() < 1e-14);
    assert!(
        (sol.x[0] - 1.2).abs() < 1e-12 && (sol.x[1] - 1.8).abs() < 1e-12,
        "{:?}",
        sol.x
    );
    assert!((sol.x.iter().sum::<f64>() - 4.0).abs() < 1e-14);
}

/// A kinked piece at its kink is certified by the subgradient condition: f_0 with
/// f_0' = 1 below 2 and 3 above (left derivative 1, right 3 at x = 2), f_1 = ½ x², total 4.5:
/// λ = 2.5 ∈ [1, 3], x = (2, 2.5) by hand, stationarity exactly 0.
#[test]
fn kink_is_certified_by_the_subdifferential() {
    #[derive(Debug)]
    struct Kinked;
    impl ConvexScalar for Kinked {
        fn value(&self, x: f64) -> f64 {
            if x <= 2.0 {
                x
            } else {
                2.0 + 3.0 * (x - 2.0)
            }
        }
        fn derivative(&self, x: f64) -> f64 {
            if x < 2.0 {
                1.0
            } else {
                3.0
            }
        }
        fn left_derivative(&self, x: f64) -> f64 {
            if x <= 2.0 {
                1.0
            } else {
                3.0
            }
        }
        fn second_derivative(&self, _x: f64) -> f64 {
            0.0
        }
        fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
            let x = if p <= 1.0 {
                0.0
            } else if p <= 3.0 {
                2.0
            } else {
                f64::INFINITY
            };
            x.max(lo).min(hi)
        }
    }
    let pieces: Vec<Box<dyn ConvexScalar>> = vec![
        Box::new(Kinked),
        Box::new(dr_convex::HalfQuadraticCost { curvature: 1.0 }),
    ];
    let fam = ScalarFamily { pieces: &pieces };
    let sol = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        4.5,
        &settings(),
    )
    .unwrap();
    assert!(sol.certificate.status.is_solved(), "{:?}", sol.certificate);
    assert_eq!(sol.certificate.stationarity, 0.0);
    assert!((sol.multiplier - 2.5).abs() < 1e-14);
    assert!((sol.x[0] - 2.0).abs() < 1e-14 && (sol.x[1] - 2.5).abs() < 1e-14);
}

/// `QuadraticFamily`'s vectorised passes (blocks of eight lanes and a partial block)
/// against the kernel's generic per-item ones: the same allocation bit for bit, the same KKT
/// residuals, the same sums up to summation order, with a price reference, for free and
/// clamped customers.
#[test]
fn quadratic_passes_match_the_generic_ones() {
    use dr_convex::generic_finish;
    let m = 8 * 5 + 3;
    let a: Vec<f64> = (0..m)
        .map(|i| 1.0 + ((i * 37) % 11) as f64 / 10.0)
        .collect();
    let h: Vec<f64> = (0..m).map(|i| 0.3 + ((i * 13) % 7) as f64 / 3.0).collect();
    let fam = QuadraticFamily::new(&a, &h)
        .unwrap()
        .with_reference(1.0)
        .unwrap();
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-13 * x.abs().max(y.abs());
    for (lo, hi) in [(0.0, f64::INFINITY), (0.0, 0.2), (-0.1, 0.5)] {
        let (lower, upper) = (Bound::Constant(lo), Bound::Constant(hi));
        for mu in [-0.5, 0.05, 0.4, 1.3, 3.0] {
            let (mut x, mut y) = (vec![0.0; m], vec![0.0; m]);
            let s = fam.finish(0, mu, lower, upper, &mut x);
            let t = generic_finish(&fam, 0, mu, lower, upper, &mut y);
            let bits = |v: &[f64]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&x), bits(&y), "μ = {mu}, bounds [{lo}, {hi}]");
            assert!(
                close(s.sum, t.sum) && close(s.objective, t.objective),
                "{s:?} {t:?}"
            );
            assert_eq!(s.stationarity, t.stationarity, "{s:?} {t:?}");
            assert_eq!(s.derivative_scale, t.derivative_scale);
            let mut plain = (0.0, 0.0);
            for i in 0..m {
                let (q, w) = fam.response(i, mu, lo, hi);
                plain = (plain.0 + q, plain.1 + w);
            }
            let (sx, sw) = fam.sum_response(0..m, mu, lower, upper);
            assert!(
                close(sx, plain.0) && close(sw, plain.1),
                "{sx} {sw} {plain:?}"
            );
        }
    }
}
