//! Scale invariance of demand shaping (chen-li-low-doyle-2010 §IV; the honest-results
//! issue): the same market in other units must give the same answer to the same relative
//! accuracy and the same statuses.
//!
//! Units: quantities (loads, energies) × `s`, money per quantity (prices, marginal
//! utilities, marginal costs) × `r`. Then `U(q) = θ q − ½ κ q²` becomes `θ' = r θ`,
//! `κ' = r κ / s`; `U(q) = w ln(σ + q)` becomes `w' = r s w`, `σ' = s σ`; `C = ½ c Q² + e Q`
//! becomes `c' = r c / s`, `e' = r e`; energies `Q' = s Q`. Every first-order condition
//! (eqs. 35–37, 30, and 44 for the Nash equilibrium) is then the old one times `r`, so the
//! equilibrium loads are `s q` and the prices `r p` (derived by hand from the KKT system).
//! With `r = 1` this is the issue's "scale every energy/bound by s and the supply curvature
//! by 1/s": prices unchanged, loads × s.

use dr_shaping::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small market of quadratic and log customers in units `(s, r)`.
fn market(seed: u64, s: f64, r: f64) -> ShapingModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let periods = rng.gen_range(1..6);
    let n = rng.gen_range(1..5);
    let mut c = Customers::new(periods).unwrap();
    for _ in 0..n {
        let lo: f64 = if rng.gen_bool(0.5) {
            0.0
        } else {
            rng.gen_range(0.0..3.0)
        };
        let hi = match rng.gen_range(0..3) {
            0 => f64::INFINITY,
            1 => lo,
            _ => lo + rng.gen_range(0.0..3.0),
        };
        if rng.gen_bool(0.6) {
            let th: Vec<f64> = (0..periods).map(|_| r * rng.gen_range(0.5..4.0)).collect();
            let k: Vec<f64> = (0..periods)
                .map(|_| r * rng.gen_range(0.2..2.0) / s)
                .collect();
            c.push_quadratic(&th, &k, s * lo, s * hi).unwrap();
        } else {
            let w: Vec<f64> = (0..periods)
                .map(|_| r * s * rng.gen_range(0.5..3.0))
                .collect();
            let sh: Vec<f64> = (0..periods).map(|_| s * rng.gen_range(0.2..2.0)).collect();
            c.push_log(&w, &sh, s * lo, s * hi).unwrap();
        }
    }
    let cc: Vec<f64> = (0..periods)
        .map(|_| r * rng.gen_range(0.1..2.0) / s)
        .collect();
    let e: Vec<f64> = (0..periods).map(|_| r * rng.gen_range(0.0..0.5)).collect();
    ShapingModel::new(c, SupplyCost::quadratic(cc, e).unwrap()).unwrap()
}

/// `max |a − b| / max |b|` (0 for two zero vectors).
fn rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let d = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if d == 0.0 {
        0.0
    } else {
        d / scale
    }
}

fn check_units(seed: u64, s: f64, r: f64) -> Result<(), TestCaseError> {
    let base = market(seed, 1.0, 1.0);
    let scaled = market(seed, s, r);
    for behaviour in [Behaviour::Competitive, Behaviour::Strategic] {
        let (a, b) = match behaviour {
            Behaviour::Competitive => (
                competitive_equilibrium(&base).unwrap(),
                competitive_equilibrium(&scaled).unwrap(),
            ),
            Behaviour::Strategic => (
                strategic_equilibrium(&base).unwrap(),
                strategic_equilibrium(&scaled).unwrap(),
            ),
        };
        prop_assert_eq!(
            a.certificate.status,
            b.certificate.status,
            "{:?}",
            behaviour
        );
        prop_assert!(
            a.certificate.holds(1e-8),
            "{:?} {:?}",
            behaviour,
            a.certificate
        );
        prop_assert!(
            b.certificate.holds(1e-8),
            "{:?} {:?}",
            behaviour,
            b.certificate
        );
        let p: Vec<f64> = a.prices.iter().map(|p| r * p).collect();
        prop_assert!(
            rel(&b.prices, &p) <= 1e-9,
            "prices {:?} vs {:?}",
            b.prices,
            p
        );
        let q: Vec<f64> = a.loads.as_slice().iter().map(|q| s * q).collect();
        prop_assert!(
            rel(b.loads.as_slice(), &q) <= 1e-9,
            "loads {:?} vs {:?}",
            b.loads.as_slice(),
            q
        );
        let gain = nash_gain(&scaled, &b.loads).unwrap();
        if behaviour == Behaviour::Strategic {
            prop_assert!(
                gain.max_relative_gain <= 1e-9,
                "{:?}",
                gain.max_relative_gain
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261204),
        ..ProptestConfig::default()
    })]

    /// Quantities × s and money × r, both over 1e-12 … 1e12.
    #[test]
    fn units_do_not_matter(seed in 0u64..1_000_000, ls in -12.0f64..12.0, lr in -12.0f64..12.0) {
        check_units(seed, 10f64.powf(ls), 10f64.powf(lr))?;
    }

    /// Energies × s and supply curvature × 1/s (r = 1): prices unchanged, loads × s.
    #[test]
    fn energies_times_s_curvature_over_s(seed in 0u64..1_000_000, ls in -12.0f64..12.0) {
        check_units(seed, 10f64.powf(ls), 1.0)?;
    }
}

/// One customer, quadratic utility, T = 2, at scales 1e-12 … 1e12, against closed forms
/// derived by hand: with `U = θ_t q − ½ κ q²` and `C = ½ c Q² + e Q`,
/// - competitive, no binding bound: `θ_t − κ q_t = c q_t + e` ⇒ `q_t = (θ_t − e)/(κ + c)`;
/// - competitive, minimum energy `Q` binding: `q_t = (θ_t − e + μ)/(κ + c)` with
///   `μ = (Q (κ + c) − Σ_t (θ_t − e)) / 2`;
/// - strategic (eq. 43: `θ_t − κ q − (c q + e) − c q = 0`): `q_t = (θ_t − e)/(κ + 2c)`;
///
/// and `p_t = c q_t + e` (eq. 30) in every case.
#[test]
fn one_customer_two_periods_closed_form() {
    for k in -12..=12 {
        let s = 10f64.powi(k);
        for r in [1e-12, 1.0, 1e12] {
            let (theta, kappa, c, e) = ([3.0, 2.0], 1.0, 0.5, 0.25);
            let cases: [(f64, Behaviour, [f64; 2]); 3] = [
                (
                    0.0,
                    Behaviour::Competitive,
                    [(3.0 - 0.25) / 1.5, (2.0 - 0.25) / 1.5],
                ),
                (6.0, Behaviour::Competitive, {
                    let mu = (6.0 * 1.5 - (2.75 + 1.75)) / 2.0;
                    [(2.75 + mu) / 1.5, (1.75 + mu) / 1.5]
                }),
                (
                    0.0,
                    Behaviour::Strategic,
                    [(3.0 - 0.25) / 2.0, (2.0 - 0.25) / 2.0],
                ),
            ];
            for (min_energy, behaviour, q) in cases {
                let mut cs = Customers::new(2).unwrap();
                cs.push_quadratic(
                    &[r * theta[0], r * theta[1]],
                    &[r * kappa / s, r * kappa / s],
                    s * min_energy,
                    f64::INFINITY,
                )
                .unwrap();
                let supply = SupplyCost::quadratic(vec![r * c / s; 2], vec![r * e; 2]).unwrap();
                let model = ShapingModel::new(cs, supply).unwrap();
                let eq = match behaviour {
                    Behaviour::Competitive => competitive_equilibrium(&model).unwrap(),
                    Behaviour::Strategic => strategic_equilibrium(&model).unwrap(),
                };
                let what = format!("s = {s:e}, r = {r:e}, {behaviour:?}, Q = {min_energy}");
                assert!(eq.certificate.holds(1e-9), "{what}: {:?}", eq.certificate);
                let want_q = [s * q[0], s * q[1]];
                let want_p = [r * (c * q[0] + e), r * (c * q[1] + e)];
                assert!(
                    rel(eq.loads.customer(0), &want_q) <= 1e-9,
                    "{what}: {:?}",
                    eq.loads
                );
                assert!(rel(&eq.prices, &want_p) <= 1e-9, "{what}: {:?}", eq.prices);
            }
        }
    }
}
