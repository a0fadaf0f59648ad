//! Properties of the scalar convex pieces (dr-convex `scalar`).
//!
//! - derivatives agree with central finite differences of the values;
//! - `inverse_derivative` inverts `derivative` and respects the interval;
//! - the Nash transform (li-chen-dahleh-2015 Theorem 3): `D'` is the derivative of `D`
//!   (value by quadrature), the closed-form inverse equals safeguarded Newton, `D ≥ C`;
//! - user closures: negative curvature is detected; a closure cost gives the same inverse
//!   as the built-in piece.

use dr_convex::{generic_inverse_derivative, nash_quadratic_response};
use dr_convex::{
    ClosureConvex, ConvexError, ConvexScalar, HalfQuadraticCost, LinearQuadraticCost, LogUtility,
    NashTransform, PlusLinear, QuadraticUtility,
};
use proptest::prelude::*;

fn fd(f: &dyn ConvexScalar, x: f64) -> f64 {
    let h = 1e-5 * x.abs().max(1.0);
    (f.value(x + h) - f.value(x - h)) / (2.0 * h)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn derivatives_match_finite_differences(a in 0.0..3.0f64, h in 0.1..4.0f64, w in 0.1..3.0f64, s in 0.5..3.0f64, x in 0.0..5.0f64) {
        let pieces: Vec<Box<dyn ConvexScalar>> = vec![
            Box::new(LinearQuadraticCost::new(a, h).unwrap()),
            Box::new(HalfQuadraticCost::new(h).unwrap()),
            Box::new(LogUtility::new(w, s).unwrap()),
            Box::new(QuadraticUtility::new(a, h).unwrap()),
            Box::new(PlusLinear { f: LogUtility::new(w, s).unwrap(), slope: a }),
        ];
        for p in &pieces {
            let d = p.derivative(x);
            prop_assert!((fd(p.as_ref(), x) - d).abs() <= 1e-6 * d.abs().max(1.0), "{:?} at {}", p, x);
            prop_assert!(p.second_derivative(x) >= 0.0);
        }
    }

    #[test]
    fn inverse_derivative_inverts(a in 0.0..3.0f64, h in 0.1..4.0f64, w in 0.1..3.0f64, s in 0.5..3.0f64, x in 0.01..5.0f64) {
        let pieces: Vec<Box<dyn ConvexScalar>> = vec![
            Box::new(LinearQuadraticCost::new(a, h).unwrap()),
            Box::new(HalfQuadraticCost::new(h).unwrap()),
            Box::new(LogUtility::new(w, s).unwrap()),
            Box::new(QuadraticUtility::new(a, h).unwrap()),
            Box::new(PlusLinear { f: QuadraticUtility::new(a, h).unwrap(), slope: w }),
        ];
        for p in &pieces {
            let price = p.derivative(x);
            let y = p.inverse_derivative(price, -100.0, 100.0);
            prop_assert!((y - x).abs() <= 1e-9 * x.max(1.0), "{:?}: {} vs {}", p, y, x);
            // The generic safeguarded Newton gives the same answer.
            let z = generic_inverse_derivative(p.as_ref(), price, -100.0, 100.0);
            prop_assert!((z - x).abs() <= 1e-8 * x.max(1.0), "{:?}: generic {} vs {}", p, z, x);
            // Clamping to the interval.
            prop_assert_eq!(p.inverse_derivative(price, x + 1.0, x + 2.0), x + 1.0);
            prop_assert_eq!(p.inverse_derivative(price, x - 2.0, x - 1.0), x - 1.0);
        }
    }

    #[test]
    fn nash_transform_properties(a in 0.0..2.0f64, h in 0.1..3.0f64, d in 0.5..20.0f64, frac in 0.01..0.45f64) {
        let c = LinearQuadraticCost::new(a, h).unwrap();
        let t = NashTransform::new(c, d).unwrap();
        let q = frac * d;
        // D' = (1 + q/(d − 2q)) C'(q) is the derivative of D (Theorem 3).
        let dd = t.derivative(q);
        prop_assert!((dd - (1.0 + q / (d - 2.0 * q)) * c.derivative(q)).abs() <= 1e-12 * dd.max(1.0));
        let num = fd(&t, q);
        prop_assert!((num - dd).abs() <= 1e-5 * dd.max(1.0), "D' {} vs FD {}", dd, num);
        // D ≥ C on [0, d/2) with equality at 0 (the markup is ≥ 1 and D(0) = C(0) = 0).
        prop_assert!(t.value(q) >= c.value(q) - 1e-9);
        prop_assert!(t.value(0.0).abs() < 1e-15);
        // Closed-form inverse of D' = safeguarded Newton on D'.
        let closed = nash_quadratic_response(a, h, d, dd);
        prop_assert!((closed - q).abs() <= 1e-9 * d, "{} vs {}", closed, q);
        let generic = generic_inverse_derivative(&t, dd, 0.0, d);
        prop_assert!((generic - q).abs() <= 1e-8 * d, "{} vs {}", generic, q);
        prop_assert!(generic < 0.5 * d);
    }
}

#[test]
fn nash_response_is_zero_below_the_marginal_cost_at_zero() {
    // D'(0) = C'(0) = a: no response at or below it.
    assert_eq!(nash_quadratic_response(1.5, 1.0, 10.0, 1.5), 0.0);
    assert_eq!(nash_quadratic_response(1.5, 1.0, 10.0, 0.2), 0.0);
    // Pure quadratic, hand-derived: C = q² (a = 0, h = 1), d = 4, D'(q) = (4 − q)/(4 − 2q) · 2q.
    // At q = 1: D' = 3/2 · 2 = 3.
    assert!((nash_quadratic_response(0.0, 1.0, 4.0, 3.0) - 1.0).abs() < 1e-14);
}

#[test]
fn closure_costs() {
    // C(q) = e^q − 1 − ... convex; inverse of C'(q) = e^q is ln p.
    let c = ClosureConvex::new(
        |q: f64| q.exp() - 1.0,
        f64::exp,
        f64::exp,
        (f64::NEG_INFINITY, f64::INFINITY),
    )
    .unwrap();
    assert!((c.inverse_derivative(std::f64::consts::E, -10.0, 10.0) - 1.0).abs() < 1e-12);
    assert!(c.check_convex_on(0.0, 3.0, 50).is_ok());
    // A closure equal to a built-in piece gives the same responses.
    let lq = LinearQuadraticCost::new(1.0, 2.0).unwrap();
    let cl = ClosureConvex::new(
        move |q| lq.value(q),
        move |q| lq.derivative(q),
        move |q| lq.second_derivative(q),
        (f64::NEG_INFINITY, f64::INFINITY),
    )
    .unwrap();
    for p in [0.5, 1.0, 2.0, 7.5] {
        assert!(
            (cl.inverse_derivative(p, 0.0, f64::INFINITY)
                - lq.inverse_derivative(p, 0.0, f64::INFINITY))
            .abs()
                < 1e-12
        );
    }
    // Negative curvature is an error naming the point.
    let concave = ClosureConvex::new(
        |q: f64| -q * q,
        |q: f64| -2.0 * q,
        |_| -2.0,
        (f64::NEG_INFINITY, f64::INFINITY),
    )
    .unwrap();
    assert!(matches!(
        concave.check_convex_on(0.0, 1.0, 10),
        Err(ConvexError::OutOfRange { .. })
    ));
    // An inverted domain is an error.
    assert!(ClosureConvex::new(|q| q, |_| 1.0, |_| 0.0, (1.0, 0.0)).is_err());
    assert!(ClosureConvex::new(|q| q, |_| 1.0, |_| 0.0, (f64::NAN, 0.0)).is_err());
}

#[test]
fn constructors_reject_bad_input() {
    assert!(
        matches!(LinearQuadraticCost::new(-1.0, 1.0), Err(ConvexError::OutOfRange { field, .. }) if field == "linear")
    );
    assert!(
        matches!(LinearQuadraticCost::new(1.0, f64::NAN), Err(ConvexError::NotFinite { field, .. }) if field == "quadratic")
    );
    assert!(
        matches!(HalfQuadraticCost::new(-2.0), Err(ConvexError::OutOfRange { value, .. }) if value == -2.0)
    );
    assert!(
        matches!(QuadraticUtility::new(1.0, 0.0), Err(ConvexError::OutOfRange { field, .. }) if field == "kappa")
    );
    assert!(
        matches!(LogUtility::new(1.0, f64::INFINITY), Err(ConvexError::NotFinite { field, .. }) if field == "shift")
    );
    assert!(NashTransform::new(HalfQuadraticCost::new(1.0).unwrap(), -1.0).is_err());
}

#[test]
fn log_utility_stays_in_its_domain() {
    let u = LogUtility::new(2.0, 1.0).unwrap();
    assert_eq!(u.value(-1.0), f64::INFINITY);
    // Demand at disutility slope −0.5: 2/(1 + x) = 0.5 ⇒ x = 3.
    assert!((u.inverse_derivative(-0.5, -10.0, 10.0) - 3.0).abs() < 1e-14);
    // A non-negative slope means "as much as allowed".
    assert_eq!(u.inverse_derivative(0.0, 0.0, 5.0), 5.0);
}
