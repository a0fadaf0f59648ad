//! The Nash objective `D_i` of li-chen-dahleh-2015 Theorem 3 (eq. 17) next to its barrier
//! at `q → d/2`, where eq. 17's two terms (both growing like `q/(d − 2q)`) cancel while
//! `D` grows only like `ln(d/(d − 2q))`.
//!
//! Reference values: eq. 17 for `C(q) = a q + h q²` in closed form,
//! `D = (1 + r) C(q) − [(a d/2 + h d²/4) r − d (a + h d)/4 · ln(d/(d − 2q)) + h d q/4]`,
//! `r = q/(d − 2q)`, evaluated in 50-digit arithmetic (python3 mpmath, `mp.dps = 50`) and
//! confirmed to 1e-30 by 50-digit adaptive quadrature of `∫_0^q d C(x)/(d − 2x)² dx`.
//! By hand for the last case (`a = 1, h = 2, d = 10, q = 3`): `C = 21`, `τ = 0.6`,
//! `L = ln 2.5 = 0.9162907`, `D = C + a d/4 (L − τ) + h d²/4 (L − τ − τ²/2)
//! = 21 + 0.7907268 + 6.8145342 = 28.605261`.

use dr_bidding::nash_quadratic_value;
use dr_convex::{ConvexScalar, LinearQuadraticCost, NashTransform};

/// `(a, h, d, q, D(q))`.
const CASES: [(f64, f64, f64, f64, f64); 7] = [
    (1e-8, 1e-8, 1e12, 499999000000.0, 3.155590844355113e+16),
    (1e-8, 1e-8, 1e12, 499999999999.0, 6.609468483849135e+16),
    (1e4, 1e-4, 1e12, 499999999999.999, 8.343208168885538e+20),
    (1e8, 1e8, 1e12, 34.92079257462199, 125438254664.33958),
    (1.0, 1.0, 1e12, 3529533089.026982, 1.2487072920170519e+19),
    (2.0, 0.5, 1e-12, 4.999999995e-13, 1.0861632933842973e-11),
    (1.0, 2.0, 10.0, 3.0, 28.60526342339314),
];

#[test]
fn closed_form_nash_value_is_accurate_next_to_the_barrier() {
    for (a, h, d, q, want) in CASES {
        let got = nash_quadratic_value(a, h, d, q);
        let rel = (got - want).abs() / want;
        assert!(
            rel < 1e-12,
            "a={a} h={h} d={d} q={q}: {got} vs {want} (rel {rel:e})"
        );
    }
}

#[test]
fn quadrature_nash_value_is_accurate_next_to_the_barrier() {
    // Before: at d − 2q = 2 (second case) the quadrature of eq. 17 gave −1.7e22, and at
    // d − 2q = 2e6 (first case) it was 5e-7 off.
    for (a, h, d, q, want) in CASES {
        let t = NashTransform::new(LinearQuadraticCost::new(a, h).unwrap(), d).unwrap();
        let got = t.value(q);
        let rel = (got - want).abs() / want;
        assert!(
            rel < 1e-12,
            "a={a} h={h} d={d} q={q}: {got} vs {want} (rel {rel:e})"
        );
    }
}
