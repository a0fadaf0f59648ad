//! Shared fixtures of the dr-shaping tests: seeded random models.
#![allow(dead_code)]

use dr_convex::{ClosureConvex, ConvexScalar};
use dr_shaping::{Customers, ShapingModel, SupplyCost};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// Random customers: quadratic (and, when `logs`, every other one log) utilities, energy
/// bounds that bind for some customers (some unbounded above, some with a fixed energy).
pub fn random_customers(seed: u64, n: usize, periods: usize, logs: bool) -> Customers {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Customers::new(periods).expect("periods >= 1");
    for i in 0..n {
        let lo = rng.gen_range(0.0..2.0 * periods as f64);
        let hi = match rng.gen_range(0..4) {
            0 => f64::INFINITY,
            1 => lo,
            _ => lo + rng.gen_range(0.0..2.0 * periods as f64),
        };
        if logs && i % 2 == 1 {
            let w: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.5..3.0)).collect();
            let s: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.5..2.0)).collect();
            c.push_log(&w, &s, lo, hi).expect("valid log customer");
        } else {
            let th: Vec<f64> = (0..periods).map(|_| rng.gen_range(-0.5..4.0)).collect();
            let k: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.2..2.0)).collect();
            c.push_quadratic(&th, &k, lo, hi)
                .expect("valid quadratic customer");
        }
    }
    c
}

/// A random model with a quadratic supply cost.
pub fn random_model(seed: u64, n: usize, periods: usize, logs: bool) -> ShapingModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let c: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.05..1.0)).collect();
    let e: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.0..0.5)).collect();
    let supply = SupplyCost::quadratic(c, e).expect("valid supply");
    ShapingModel::new(random_customers(seed, n, periods, logs), supply).expect("valid model")
}

/// A user-supplied, non-quadratic supply cost
/// `C(Q, t) = e Q + ½ c_t Q² + d |Q|³ / 3` (strictly convex, `C''' ≠ 0`).
pub fn cubic_supply(periods: usize, cubic: f64) -> SupplyCost {
    let costs: Vec<Arc<dyn ConvexScalar>> = (0..periods)
        .map(|t| {
            let c = 0.2 + 0.1 * (t % 3) as f64;
            let f = ClosureConvex::new(
                move |q: f64| 0.1 * q + 0.5 * c * q * q + cubic * q.abs().powi(3) / 3.0,
                move |q: f64| 0.1 + c * q + cubic * q * q.abs(),
                move |q: f64| c + 2.0 * cubic * q.abs(),
                (f64::NEG_INFINITY, f64::INFINITY),
            )
            .expect("valid closure");
            Arc::new(f) as Arc<dyn ConvexScalar>
        })
        .collect();
    SupplyCost::custom(costs, 100.0).expect("convex cost")
}

/// Largest absolute difference of two slices.
pub fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
