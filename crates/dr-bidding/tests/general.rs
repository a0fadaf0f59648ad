//! General (closure) costs agree with the quadratic struct-of-arrays fast path on the same
//! instance — two independent solution paths (kernel `ScalarFamily` + `NashTransform` with
//! safeguarded Newton vs `QuadraticFamily` / closed-form Nash responses) — and non-quadratic
//! costs satisfy Theorems 1 and 3.

#![allow(clippy::needless_range_loop)]

use dr_bidding::{
    competitive_equilibrium, nash_equilibrium, nash_quadratic_value, simulate, Behaviour, Market,
    PriceUpdate, SimulationSettings,
};
use dr_convex::{ClosureConvex, ConvexScalar, LinearQuadraticCost, NashTransform};
use proptest::prelude::*;
use std::sync::Arc;

fn as_closures(a: &[f64], h: &[f64]) -> Vec<Arc<dyn ConvexScalar>> {
    a.iter()
        .zip(h)
        .map(|(&a, &h)| -> Arc<dyn ConvexScalar> {
            Arc::new(
                ClosureConvex::new(
                    move |q: f64| a * q + h * q * q,
                    move |q: f64| a + 2.0 * h * q,
                    move |_| 2.0 * h,
                    (f64::NEG_INFINITY, f64::INFINITY),
                )
                .unwrap(),
            )
        })
        .collect()
}

fn instance() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, f64, Vec<f64>)> {
    (3usize..8).prop_flat_map(|n| {
        (
            prop::collection::vec(0.0f64..3.0, n),
            prop::collection::vec(0.1f64..5.0, n),
            0.5f64..40.0,
            prop::collection::vec(0.3f64..2.0, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn closures_agree_with_the_quadratic_path((a, h, d, capf) in instance(), with_cap in any::<bool>()) {
        let fast = Market::quadratic(a.clone(), h.clone(), d).unwrap();
        let general = Market::general(as_closures(&a, &h), d).unwrap();
        prop_assert!(fast.is_quadratic() && !general.is_quadratic());
        // Capacities of 0.3–2 × d/n (then at least 0.4 d for three customers: NE exists).
        let n = a.len() as f64;
        let cap: Vec<f64> = capf.iter().enumerate()
            .map(|(i, f)| if i < 3 { (f * d / n).max(0.4 * d) } else { f * d / n })
            .collect();
        let (fast, general) = if with_cap {
            (fast.with_capacity(cap.clone()).unwrap(), general.with_capacity(cap).unwrap())
        } else {
            (fast, general)
        };
        for (x, y) in [
            (competitive_equilibrium(&fast).unwrap(), competitive_equilibrium(&general).unwrap()),
            (nash_equilibrium(&fast).unwrap(), nash_equilibrium(&general).unwrap()),
        ] {
            prop_assert!(y.certificate.holds(1e-8), "{:?}", y.certificate);
            prop_assert!((x.price - y.price).abs() <= 1e-9 * x.price, "{} vs {}", x.price, y.price);
            for i in 0..a.len() {
                prop_assert!((x.loads[i] - y.loads[i]).abs() <= 1e-8 * d);
                prop_assert!((x.net_revenues[i] - y.net_revenues[i]).abs() <= 1e-8 * x.price * d);
            }
            prop_assert!((x.total_cost - y.total_cost).abs() <= 1e-8 * x.total_cost.max(1.0));
            prop_assert_eq!(x.water_filling.active, y.water_filling.active);
        }
    }

    /// The closed-form D_i of the quadratic path equals the kernel's quadrature, on the
    /// whole range and around the switch to the series at 2q/d = 0.01.
    #[test]
    fn closed_form_nash_value(a in 0.0f64..3.0, h in 0.1f64..5.0, d in 0.5f64..40.0, t in 0.0f64..0.49, small in 0.0f64..0.006, use_small in any::<bool>()) {
        let q = if use_small { small * d } else { t * d };
        let t = NashTransform { cost: LinearQuadraticCost { linear: a, quadratic: h }, deficit: d };
        let (x, y) = (nash_quadratic_value(a, h, d, q), t.value(q));
        prop_assert!((x - y).abs() <= 1e-9 * y.abs().max(1e-9), "{x} vs {y}");
    }
}

/// A non-quadratic cost (C(q) = w (e^q − 1)): Theorem 1 (p̄ = C'(q̄)) and Theorem 3
/// (p* = (1 + q/(d−2q)) C'(q*)) hold; the iterative schemes reach the same prices.
#[test]
fn exponential_costs() {
    let w = [0.5, 1.0, 2.0, 4.0];
    let costs: Vec<Arc<dyn ConvexScalar>> = w
        .iter()
        .map(|&w| -> Arc<dyn ConvexScalar> {
            Arc::new(
                ClosureConvex::new(
                    move |q: f64| w * (q.exp() - 1.0),
                    move |q: f64| w * q.exp(),
                    move |q: f64| w * q.exp(),
                    (f64::NEG_INFINITY, f64::INFINITY),
                )
                .unwrap(),
            )
        })
        .collect();
    let d = 2.0;
    let m = Market::general(costs, d).unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    let ne = nash_equilibrium(&m).unwrap();
    for i in 0..w.len() {
        let (qc, qn) = (ce.loads[i], ne.loads[i]);
        if qc > 0.0 {
            assert!((w[i] * qc.exp() - ce.price).abs() < 1e-9 * ce.price);
        } else {
            assert!(w[i] >= ce.price * (1.0 - 1e-12));
        }
        if qn > 0.0 {
            let dprime = (1.0 + qn / (d - 2.0 * qn)) * w[i] * qn.exp();
            assert!((dprime - ne.price).abs() < 1e-9 * ne.price);
        }
        assert!(qn < 0.5 * d);
    }
    assert!(ne.price > ce.price);
    for (behaviour, price) in [
        (Behaviour::Competitive, ce.price),
        (Behaviour::Strategic, ne.price),
    ] {
        let run = simulate(
            &m,
            behaviour,
            PriceUpdate::Fast,
            SimulationSettings::default(),
        )
        .unwrap();
        assert!((run.price - price).abs() < 1e-8 * price, "{behaviour:?}");
    }
}
