//! Bad input is a typed error naming the field (and index) — never a panic or a NaN.

#![allow(clippy::needless_range_loop)]

use dr_bidding::{nash_equilibrium, nash_gain, BiddingError, CustomerCost, Market};
use dr_convex::{ClosureConvex, ConvexScalar};
use std::sync::Arc;

fn field_of<T: std::fmt::Debug>(r: Result<T, BiddingError>) -> String {
    let e = r.unwrap_err();
    let f = e.field();
    assert!(e.to_string().contains(&f), "message {e} does not name {f}");
    f
}

#[test]
fn quadratic_markets() {
    assert_eq!(
        field_of(Market::quadratic(
            vec![1.0, 1.0, f64::NAN],
            vec![1.0; 3],
            1.0
        )),
        "linear[2]"
    );
    assert_eq!(
        field_of(Market::quadratic(vec![1.0, -0.5], vec![1.0; 2], 1.0)),
        "linear[1]"
    );
    // Negative curvature, zero curvature, infinite curvature.
    for bad in [-1.0, 0.0, f64::INFINITY] {
        assert_eq!(
            field_of(Market::quadratic(vec![1.0; 2], vec![1.0, bad], 1.0)),
            "quadratic[1]"
        );
    }
    let e = Market::quadratic(vec![1.0; 2], vec![1.0, -1.0], 1.0).unwrap_err();
    assert!(e.to_string().contains("must be > 0"), "{e}");
    assert_eq!(field_of(Market::quadratic(vec![], vec![], 1.0)), "linear");
    assert_eq!(
        field_of(Market::quadratic(vec![1.0; 2], vec![1.0; 3], 1.0)),
        "quadratic"
    );
    for d in [0.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            field_of(Market::quadratic(vec![1.0], vec![1.0], d)),
            "deficit"
        );
    }
    assert_eq!(
        field_of(Market::half_quadratic(&[1.0, 0.0], 1.0)),
        "curvature[1]"
    );
    assert_eq!(field_of(Market::half_quadratic(&[], 1.0)), "curvature");
    assert_eq!(
        field_of(Market::new(
            vec![CustomerCost::LinearQuadratic {
                linear: 1.0,
                quadratic: -2.0
            }],
            1.0
        )),
        "costs[0].quadratic"
    );
    assert_eq!(field_of(Market::new(vec![], 1.0)), "costs");
}

#[test]
fn capacities() {
    let m = || Market::quadratic(vec![1.0; 3], vec![1.0; 3], 3.0).unwrap();
    assert_eq!(
        field_of(m().with_capacity(vec![1.0, f64::NAN, 1.0])),
        "capacity[1]"
    );
    assert_eq!(
        field_of(m().with_capacity(vec![1.0, 1.0, -1.0])),
        "capacity[2]"
    );
    assert_eq!(field_of(m().with_capacity(vec![1.0; 2])), "capacity");
    let e = m().with_capacity(vec![0.5; 3]).unwrap_err();
    assert!(matches!(e, BiddingError::Infeasible { .. }), "{e}");
    // Competitive feasible (Σ q̄ ≥ d) but Nash infeasible: Σ min(q̄, d/2) = 2 < 3.
    let tight = Market::quadratic(vec![1.0; 4], vec![1.0; 4], 4.0)
        .unwrap()
        .with_capacity(vec![3.0, 0.5, 0.5, 0.5])
        .unwrap();
    let e = nash_equilibrium(&tight).unwrap_err();
    assert!(
        matches!(e, BiddingError::NashCapacity { deficit, max, .. } if deficit == 4.0 && max == 3.5),
        "{e}"
    );
    assert_eq!(e.field(), "capacity");
    // The message cites Lemma 3's min(capacity, d/2), not only "cannot be met".
    let msg = e.to_string();
    assert!(
        msg.contains("Lemma 3") && msg.contains("min(capacity_i, d/2)"),
        "{msg}"
    );
}

/// Issue finding 8: a negative deficit never silently becomes a surplus; the direction is
/// explicit.
#[test]
fn negative_deficit_is_an_error_naming_it() {
    for d in [-7.0, 0.0] {
        let e = Market::quadratic(vec![1.0; 3], vec![1.0; 3], d).unwrap_err();
        assert!(
            matches!(e, BiddingError::Input(dr_convex::InputError::OutOfRange { ref field, value, .. }) if field == "deficit" && value == d),
            "{e}"
        );
        assert!(e.to_string().contains("Direction::Surplus"), "{e}");
        assert!(Market::half_quadratic(&[1.0; 3], d).is_err());
        assert!(Market::drawn(3, [1.0, 2.0], [0.5, 1.0], 1, d).is_err());
    }
}

/// Issue finding 9: a cost whose marginal cost decreases is blamed on C' (not C'').
#[test]
fn decreasing_marginal_cost_is_named_as_such() {
    use std::sync::Arc;
    // C(q) = 2q − q²/4 on [0, 4]: C' = 2 − q/2 decreases; C'' = −1/2 < 0 too, but the
    // first thing seen is C' falling between two samples.
    let make = || -> Arc<dyn dr_convex::ConvexScalar> {
        Arc::new(
            dr_convex::ClosureConvex::new(
                |q: f64| 2.0 * q - 0.25 * q * q,
                |q: f64| 2.0 - 0.5 * q,
                |_q: f64| 0.0, // a wrong C'': only C' shows the non-convexity
                (f64::NEG_INFINITY, f64::INFINITY),
            )
            .unwrap(),
        )
    };
    let costs = vec![make(), make(), make()];
    let e = Market::general(costs, 2.0).unwrap_err();
    let msg = e.to_string();
    assert!(e.field().starts_with("costs[0].derivative("), "{msg}");
    assert!(msg.contains("marginal cost decreases"), "{msg}");
}

#[test]
fn drawn_populations() {
    assert_eq!(
        field_of(Market::drawn(0, [1.0, 2.0], [0.5, 4.5], 1, 1.0)),
        "population.count"
    );
    assert_eq!(
        field_of(Market::drawn(
            dr_bidding::MAX_DRAWN + 1,
            [1.0, 2.0],
            [0.5, 4.5],
            1,
            1.0
        )),
        "population.count"
    );
    assert_eq!(
        field_of(Market::drawn(5, [2.0, 1.0], [0.5, 4.5], 1, 1.0)),
        "population.linear[1]"
    );
    assert_eq!(
        field_of(Market::drawn(5, [1.0, 2.0], [0.0, 4.5], 1, 1.0)),
        "population.quadratic[0]"
    );
    assert_eq!(
        field_of(Market::drawn(5, [f64::NAN, 2.0], [0.5, 4.5], 1, 1.0)),
        "population.linear[0]"
    );
    // Deterministic, prefix-stable, inside the ranges.
    let a = Market::drawn(1000, [1.0, 2.0], [0.5, 4.5], 9, 10.0).unwrap();
    let b = Market::drawn(10, [1.0, 2.0], [0.5, 4.5], 9, 10.0).unwrap();
    let (
        dr_bidding::Costs::Quadratic {
            linear: la,
            quadratic: ha,
        },
        dr_bidding::Costs::Quadratic {
            linear: lb,
            quadratic: hb,
        },
    ) = (a.costs(), b.costs())
    else {
        panic!("quadratic expected");
    };
    assert_eq!(&la[..10], &lb[..]);
    assert_eq!(&ha[..10], &hb[..]);
    assert!(la.iter().all(|&x| (1.0..2.0).contains(&x)));
    assert!(ha.iter().all(|&x| (0.5..4.5).contains(&x)));
    // A degenerate range is a constant.
    let c = Market::drawn(4, [1.0, 1.0], [2.0, 2.0], 1, 1.0).unwrap();
    assert!(c.is_homogeneous());
}

fn closure(
    f: impl Fn(f64) -> f64 + Send + Sync + 'static,
    g: impl Fn(f64) -> f64 + Send + Sync + 'static,
    c: impl Fn(f64) -> f64 + Send + Sync + 'static,
) -> Arc<dyn ConvexScalar> {
    Arc::new(ClosureConvex::new(f, g, c, (f64::NEG_INFINITY, f64::INFINITY)).unwrap())
}

#[test]
fn general_costs() {
    let good = closure(|q| q * q, |q| 2.0 * q, |_| 2.0);
    // Concave (negative curvature).
    let concave = closure(|q| q - q * q, |q| 1.0 - 2.0 * q, |_| -2.0);
    let f = field_of(Market::general(vec![good.clone(), concave], 1.0));
    assert!(f.starts_with("costs[1].second_derivative"), "{f}");
    // C(0) ≠ 0.
    let shifted = closure(|q| 1.0 + q * q, |q| 2.0 * q, |_| 2.0);
    assert_eq!(
        field_of(Market::general(vec![shifted], 1.0)),
        "costs[0].value(0)"
    );
    // Decreasing at 0.
    let decreasing = closure(|q| q * q - q, |q| 2.0 * q - 1.0, |_| 2.0);
    assert_eq!(
        field_of(Market::general(vec![good.clone(), decreasing], 1.0)),
        "costs[1].derivative(0)"
    );
    // NaN derivative.
    let nan = closure(|q| q * q, |_| f64::NAN, |_| 2.0);
    assert_eq!(
        field_of(Market::general(vec![nan], 1.0)),
        "costs[0].derivative(0)"
    );
}

#[test]
fn bids() {
    let m = Market::quadratic(vec![1.0; 3], vec![1.0; 3], 3.0).unwrap();
    assert_eq!(field_of(nash_gain(&m, &[0.0; 3])), "bids");
    assert_eq!(field_of(nash_gain(&m, &[1.0; 4])), "bids");
    assert_eq!(
        field_of(nash_gain(&m, &[1.0, f64::INFINITY, 1.0])),
        "bids[1]"
    );
}
