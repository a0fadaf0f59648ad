//! Robustness of the price Newton on adversarial, badly scaled populations: utilities,
//! supply curvatures and energy bounds spread over four to six orders of magnitude, log
//! customers with near-singular responses, fixed and unbounded daily energies. Every solve
//! must end `Solved` with its certificate and (strategic) no profitable deviation.

use dr_shaping::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn badly_scaled(seed: u64) -> ShapingModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let periods = rng.gen_range(1..25);
    let n = rng.gen_range(1..40);
    let scale: f64 = 10f64.powf(rng.gen_range(-3.0..3.0));
    let mut c = Customers::new(periods).unwrap();
    for _ in 0..n {
        let span = scale * periods as f64;
        let lo = if rng.gen_bool(0.3) {
            0.0
        } else {
            rng.gen_range(0.0..3.0) * span
        };
        let hi = match rng.gen_range(0..4) {
            0 => f64::INFINITY,
            1 => lo,
            _ => lo + rng.gen_range(0.0..3.0) * span,
        };
        if rng.gen_bool(0.5) {
            let th: Vec<f64> = (0..periods).map(|_| rng.gen_range(-2.0..4.0)).collect();
            let k: Vec<f64> = (0..periods)
                .map(|_| 10f64.powf(rng.gen_range(-2.0..2.0)) / scale)
                .collect();
            c.push_quadratic(&th, &k, lo, hi).unwrap();
        } else {
            let w: Vec<f64> = (0..periods)
                .map(|_| 10f64.powf(rng.gen_range(-2.0..1.0)))
                .collect();
            let s: Vec<f64> = (0..periods)
                .map(|_| 10f64.powf(rng.gen_range(-2.0..1.0)) * scale)
                .collect();
            c.push_log(&w, &s, lo, hi).unwrap();
        }
    }
    let cc: Vec<f64> = (0..periods)
        .map(|_| 10f64.powf(rng.gen_range(-3.0..1.0)) / scale)
        .collect();
    let e: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.0..2.0)).collect();
    ShapingModel::new(c, SupplyCost::quadratic(cc, e).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn badly_scaled_instances_solve(seed in 0u64..1_000_000) {
        let model = badly_scaled(seed);
        let ce = competitive_equilibrium(&model).unwrap();
        prop_assert!(ce.certificate.holds(1e-8), "competitive {:?}", ce.certificate);
        let ne = strategic_equilibrium(&model).unwrap();
        prop_assert!(ne.certificate.holds(1e-8), "strategic {:?}", ne.certificate);
        let gain = nash_gain(&model, &ne.loads).unwrap();
        prop_assert!(gain.max_relative_gain <= 1e-8, "{:?}", gain.max_relative_gain);
        prop_assert!(ne.welfare <= ce.welfare + 1e-9 * (1.0 + ce.welfare.abs()));
    }
}
