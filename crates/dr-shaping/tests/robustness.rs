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

/// Every solve ends `Solved` with its certificate within 1e-8, the Nash equilibrium has no
/// profitable deviation and welfare is lower than at the competitive equilibrium.
fn check(seed: u64) -> Result<(), TestCaseError> {
    let model = badly_scaled(seed);
    let ce = competitive_equilibrium(&model).unwrap();
    prop_assert!(
        ce.certificate.holds(1e-8),
        "competitive {:?}",
        ce.certificate
    );
    let ne = strategic_equilibrium(&model).unwrap();
    prop_assert!(ne.certificate.holds(1e-8), "strategic {:?}", ne.certificate);
    let gain = nash_gain(&model, &ne.loads).unwrap();
    prop_assert!(
        gain.max_relative_gain <= 1e-8,
        "{:?}",
        gain.max_relative_gain
    );
    prop_assert!(ne.welfare <= ce.welfare + 1e-9 * (1.0 + ce.welfare.abs()));
    Ok(())
}

/// Seeds that failed before (formerly the ignored `known_failures`) and certify now:
/// - 301000, 352350, 433000, 511000, 586500, 678250: a log customer whose shift dwarfs its
///   load left μ a few ulps from the prices (1e-8…1e-7 gaps on its binding energy bound);
///   fixed by solving the water-filling for `δ = μ − p(t₀)` and by relative certificates;
/// - 164500: the price Newton stalled at a price residual of 4e-8 (two periods' prices
///   within 5e-7 of each other, a kink of a water-filling between them), and
/// - 690250 (three log customers with shifts up to 3e3, supply curvatures down to 4e-6):
///   the Levenberg–Marquardt damping stayed at τ ≈ 2 through hundreds of fair steps (470
///   evaluations to converge); both fixed by relaxing τ smoothly after a fair step
///   (Nielsen's factor), 43 and 137 evaluations now.
#[test]
fn formerly_failing_seeds() {
    for seed in [
        164500, 301000, 352350, 433000, 511000, 586500, 678250, 690250,
    ] {
        check(seed).unwrap();
    }
}

/// A market where nobody may consume (one customer with `max_energy = 0`): every amount
/// of money is zero, so the duality gap must be measured against the payments for the
/// supply the prices call forth, not against itself (found by [`survey`]).
#[test]
fn zero_markets_certify() {
    for seed in [4371288, 8140732, 15347022, 23202670] {
        check(seed).unwrap();
    }
}

/// How often a status is not Solved over many draws (`--ignored --nocapture`); every
/// Solved status must come with its certificate within the tolerance.
#[test]
#[ignore = "a survey, not a check"]
fn survey() {
    let mut unsolved = Vec::new();
    for seed in 0..3000u64 {
        let model = badly_scaled(seed * 7919);
        for eq in [
            competitive_equilibrium(&model).unwrap(),
            strategic_equilibrium(&model).unwrap(),
        ] {
            assert!(!eq.certificate.status.is_solved() || eq.certificate.max_residual() <= 1e-8);
            if !eq.certificate.holds(1e-8) {
                unsolved.push((seed * 7919, eq.behaviour, eq.certificate.status));
            }
        }
    }
    eprintln!("{} of 6000 not Solved: {unsolved:?}", unsolved.len());
}

proptest! {
    // A fixed seed: the draws are reproducible.
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261123),
        ..ProptestConfig::default()
    })]

    #[test]
    fn badly_scaled_instances_solve(seed in 0u64..1_000_000) {
        check(seed)?;
    }
}

/// The model in other units: quantities × `s`, money per quantity × `r` (see
/// `tests/scale.rs` for the derivation: every first-order condition is multiplied by `r`,
/// so loads become `s q` and prices `r p`).
fn rescale(model: &ShapingModel, s: f64, r: f64) -> ShapingModel {
    let c = model.customers();
    let periods = model.periods();
    let mut out = Customers::new(periods).unwrap();
    for i in 0..model.len() {
        let (lo, hi) = (s * c.min_energy()[i], s * c.max_energy()[i]);
        match c.utility(i).unwrap() {
            Utility::Quadratic { theta, kappa } => {
                let th: Vec<f64> = theta.iter().map(|x| r * x).collect();
                let k: Vec<f64> = kappa.iter().map(|x| r * x / s).collect();
                out.push_quadratic(&th, &k, lo, hi).unwrap();
            }
            Utility::Log { weight, shift } => {
                let w: Vec<f64> = weight.iter().map(|x| r * s * x).collect();
                let sh: Vec<f64> = shift.iter().map(|x| s * x).collect();
                out.push_log(&w, &sh, lo, hi).unwrap();
            }
            Utility::Power { .. } | Utility::Custom(_) => unreachable!(),
        }
    }
    let (cc, e) = model.supply().as_quadratic().unwrap();
    let cc: Vec<f64> = cc.iter().map(|x| r * x / s).collect();
    let e: Vec<f64> = e.iter().map(|x| r * x).collect();
    ShapingModel::new(out, SupplyCost::quadratic(cc, e).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261205),
        ..ProptestConfig::default()
    })]

    /// The adversarial populations in units from 1e-12 to 1e12: the same statuses, both
    /// certified to 1e-8, prices equal to `r p` within 1e-9 of the price scale.
    #[test]
    fn badly_scaled_instances_in_any_units(
        seed in 0u64..1_000_000,
        ls in -12.0f64..12.0,
        lr in -12.0f64..12.0,
    ) {
        let (s, r) = (10f64.powf(ls), 10f64.powf(lr));
        let base = badly_scaled(seed);
        let scaled = rescale(&base, s, r);
        for strategic in [false, true] {
            let (a, b) = if strategic {
                (strategic_equilibrium(&base).unwrap(), strategic_equilibrium(&scaled).unwrap())
            } else {
                (competitive_equilibrium(&base).unwrap(), competitive_equilibrium(&scaled).unwrap())
            };
            prop_assert_eq!(a.certificate.status, b.certificate.status);
            prop_assert!(b.certificate.holds(1e-8), "{:?}", b.certificate);
            let scale = a.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()));
            for (pa, pb) in a.prices.iter().zip(&b.prices) {
                prop_assert!((r * pa - pb).abs() <= 1e-9 * r * scale, "{} vs {}", r * pa, pb);
            }
        }
    }
}
