//! The LP back end against the kernel's exact single-coupling allocator
//! (`min Σ f_i(x_i), Σ x_i = d, l ≤ x ≤ u`): two independent solution paths.

mod common;

use common::{quadratic_terms, single_coupling};
use dr_convex::{
    allocate, AllocatorSettings, Bound, ConvexScalar, LogUtility, QuadraticFamily, ScalarFamily,
};
use dr_lp::{
    cross_check, solve, solve_with_fallback, Backend, CrossCheckSettings, KernelSolution,
    OuterSettings,
};
use proptest::prelude::*;
use std::sync::Arc;

/// Hand-derived: shed d = 3 among C_1 = q², C_2 = 2q² (q ≥ 0). KKT: 2q_1 = 4q_2 = p,
/// q_1 + q_2 = 3 ⇒ q = (2, 1), p = 4, cost 4 + 2 = 6.
#[test]
fn hand_derived_two_customers() {
    let problem = single_coupling(
        quadratic_terms(&[0.0, 0.0], &[1.0, 2.0]),
        vec![0.0; 2],
        vec![f64::INFINITY; 2],
        3.0,
    );
    for backend in [Backend::Clarabel, Backend::Microlp]
        .into_iter()
        .filter(|b| b.available())
    {
        let settings = OuterSettings {
            backend,
            ..OuterSettings::default()
        };
        let lp = solve(&problem, &settings).unwrap();
        assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
        assert!(lp.lower <= 6.0 + 1e-12 && 6.0 <= lp.upper + 1e-12, "{lp:?}");
        // The interval's tolerance is relative to the data's cost scale σ_f (or |U|).
        assert!(lp.bound() <= 1e-9 * lp.scaling.cost.max(6.0));
        assert!(lp.bound() <= 1e-7 * 6.0);
        // Quadratic growth (μ = 2, 4): |x_j − x*_j| ≤ √(2 bound / μ_j).
        let r = |mu: f64| (2.0 * (lp.upper - lp.lower.min(lp.lp_value)).max(1e-15) / mu).sqrt();
        assert!((lp.x[0] - 2.0).abs() <= r(2.0) + 1e-12);
        assert!((lp.x[1] - 1.0).abs() <= r(4.0) + 1e-12);
        // Both customers are free: p ∈ [C_1'(x_1 − r_1), C_1'(x_1 + r_1)] (width 4 r_1).
        assert!((lp.equality_multipliers[0] - 4.0).abs() <= 4.0 * r(2.0) + 1e-9);
        // The exact solution agrees with it.
        let x = [2.0, 1.0];
        let exact = KernelSolution {
            x: &x,
            equality_multipliers: &[4.0],
            inequality_multipliers: &[],
            objective: 6.0,
        };
        let cc = cross_check(&problem, &exact, &lp, &CrossCheckSettings::default()).unwrap();
        assert!(cc.agrees, "{cc:?}");
        assert_eq!(cc.rows_with_witness, 1);
    }
}

/// A random instance: costs `a_i q + h_i q²`, caps `u_i`, deficit a fraction of `Σ u_i`.
fn instance() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>, f64)> {
    (2usize..8).prop_flat_map(|n| {
        (
            prop::collection::vec(0.0..3.0f64, n),
            prop::collection::vec(0.1..2.0f64, n),
            prop::collection::vec(0.5..4.0f64, n),
            0.05..0.95f64,
        )
            .prop_map(|(a, h, u, frac)| {
                let d = frac * u.iter().sum::<f64>();
                (a, h, u, d)
            })
    })
}

/// Checks the LP answer against the allocator's with tolerances derived here from the
/// exact curvature `μ_i = 2 h_i` (independently of `cross_check`).
///
/// `fallback`: the back end `dr verify` tries when `backend` does not end `Solved`
/// ([`solve_with_fallback`]); the answer must then be the fallback's, `Solved` and right.
fn check_against_allocator(
    a: &[f64],
    h: &[f64],
    u: &[f64],
    d: f64,
    backend: Backend,
    fallback: Option<Backend>,
) {
    let n = a.len();
    let fam = QuadraticFamily::new(a, h).unwrap();
    let kernel = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::PerItem(u),
        d,
        &AllocatorSettings::default(),
    )
    .unwrap();
    assert!(kernel.certificate.holds(1e-10));
    let problem = single_coupling(quadratic_terms(a, h), vec![0.0; n], u.to_vec(), d);
    let settings = OuterSettings {
        backend,
        ..OuterSettings::default()
    };
    let lp = solve_with_fallback(&problem, &settings, fallback).unwrap();
    assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
    let scale = lp.upper.abs().max(1.0);
    assert!(lp.bound() <= settings.tolerance * lp.upper.abs().max(lp.scaling.cost));
    // The interval contains the allocator's objective (up to rounding).
    let s = 1e-11 * scale;
    assert!(
        lp.contains(kernel.objective, s),
        "{} not in [{}, {}]",
        kernel.objective,
        lp.lower,
        lp.upper
    );
    // Allocation: |x_K − x_LP| ≤ r_i + r_K,i by quadratic growth.
    let gap_lp = lp.upper - lp.lower.min(lp.lp_value) + s;
    let gap_k = (kernel.objective - lp.lower).max(0.0) + s;
    let mut tau = f64::INFINITY;
    for i in 0..n {
        let mu = 2.0 * h[i];
        let r = (2.0 * gap_lp / mu).sqrt();
        let rk = (2.0 * gap_k / mu).sqrt();
        assert!(
            (kernel.x[i] - lp.x[i]).abs() <= r + rk + 1e-12,
            "x[{i}]: {} vs {}",
            kernel.x[i],
            lp.x[i]
        );
        // A customer strictly inside its bounds pins the price to C_i'([x − r, x + r]).
        if lp.x[i] - r > 0.0 && lp.x[i] + r < u[i] {
            tau = tau.min(2.0 * h[i] * 2.0 * r);
        }
    }
    if tau.is_finite() {
        let dp = (kernel.multiplier - lp.equality_multipliers[0]).abs();
        assert!(dp <= tau + 1e-9, "price gap {dp} > {tau}");
    }
    let cc = cross_check(
        &problem,
        &KernelSolution::from_allocation(&kernel),
        &lp,
        &CrossCheckSettings::default(),
    )
    .unwrap();
    assert!(cc.agrees, "{cc:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn clarabel_agrees_with_allocator((a, h, u, d) in instance()) {
        if Backend::Clarabel.available() {
            // Clarabel's interior-point LP path fails on some small instances near capacity
            // (the seed 9dd3273e… in single_coupling.proptest-regressions: NumericalError at
            // the first LP, reported as such, never `Solved`); `dr verify` then runs the
            // simplex back end, and that answer must be solved and agree.
            check_against_allocator(&a, &h, &u, d, Backend::Clarabel, Some(Backend::Microlp));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn microlp_agrees_with_allocator((a, h, u, d) in instance()) {
        check_against_allocator(&a, &h, &u, d, Backend::Microlp, None);
    }

    /// Concave utilities, given as convex disutilities `−w ln(s + x)`: consumers share a
    /// supply `d` (the allocator's water-filling).
    #[test]
    fn log_utilities_agree_with_allocator(
        (w, sh, u, frac) in (2usize..6).prop_flat_map(|n| (
            prop::collection::vec(0.5..3.0f64, n),
            prop::collection::vec(0.2..2.0f64, n),
            prop::collection::vec(1.0..4.0f64, n),
            0.1..0.9f64,
        ))
    ) {
        let n = w.len();
        let pieces: Vec<Arc<dyn ConvexScalar>> = (0..n)
            .map(|i| Arc::new(LogUtility::new(w[i], sh[i]).unwrap()) as Arc<dyn ConvexScalar>)
            .collect();
        let d = frac * u.iter().sum::<f64>();
        let fam = ScalarFamily { pieces: &pieces };
        let kernel = allocate(&fam, Bound::Constant(0.0), Bound::PerItem(&u), d,
                              &AllocatorSettings::default()).unwrap();
        let problem = single_coupling(pieces.clone(), vec![0.0; n], u.clone(), d);
        let lp = solve(&problem, &OuterSettings::default()).unwrap();
        prop_assert!(lp.certificate.status.is_solved());
        prop_assert!(lp.contains(kernel.objective, 1e-11 * lp.upper.abs().max(1.0)));
        let cc = cross_check(&problem, &KernelSolution::from_allocation(&kernel), &lp,
                             &CrossCheckSettings::default()).unwrap();
        prop_assert!(cc.agrees, "{:?}", cc);
    }
}
