//! Equilibria of demand shaping: certificates, agreement of independent solver paths,
//! hand-derived values, Theorem 6 (efficiency), Theorem 7 (no profitable deviation),
//! thread independence.

mod common;

use common::{cubic_supply, max_diff, random_customers, random_model};
use dr_convex::ipm::IpmSettings;
use dr_convex::ViSettings;
use dr_convex::{allocate, AllocatorSettings, Bound, ConvexScalar, QuadraticUtility, ScalarFamily};
use dr_shaping::*;
use proptest::prelude::*;

fn ipm() -> IpmSettings {
    IpmSettings {
        tolerance: 1e-11,
        ..Default::default()
    }
}

/// One customer, one period, no energy bounds: the welfare optimum solves
/// θ − κ q = c q + e, the Nash equilibrium θ − κ q = c q + e + c q (by hand).
#[test]
fn one_customer_one_period_by_hand() {
    let (theta, kappa, c, e) = (3.0, 0.5, 2.0, 0.5);
    let model = ShapingModel::quadratic(
        1,
        vec![theta],
        vec![kappa],
        vec![0.0],
        vec![f64::INFINITY],
        vec![c],
        vec![e],
    )
    .unwrap();
    let ce = competitive_equilibrium(&model).unwrap();
    let q = (theta - e) / (kappa + c);
    assert!((ce.loads.get(0, 0) - q).abs() < 1e-12);
    assert!((ce.prices[0] - (c * q + e)).abs() < 1e-12);
    let ne = strategic_equilibrium(&model).unwrap();
    let q = (theta - e) / (kappa + 2.0 * c);
    assert!((ne.loads.get(0, 0) - q).abs() < 1e-12);
    assert!((ne.prices[0] - (c * q + e)).abs() < 1e-12);
}

/// Two periods, a fixed daily energy E (binding): q1 + q2 = E and
/// θ1 − κ q1 − c1 q1 = θ2 − κ q2 − c2 q2 (= p(t) − μ): solved by hand.
#[test]
fn fixed_energy_two_periods_by_hand() {
    let (t1, t2, k, c1, c2, energy) = (2.0, 3.0, 1.0, 0.5, 1.5, 2.0);
    let model = ShapingModel::quadratic(
        2,
        vec![t1, t2],
        vec![k, k],
        vec![energy],
        vec![energy],
        vec![c1, c2],
        vec![0.0, 0.0],
    )
    .unwrap();
    let ce = competitive_equilibrium(&model).unwrap();
    // (k + c1) q1 − (k + c2)(E − q1) = t1 − t2.
    let q1 = (t1 - t2 + (k + c2) * energy) / (2.0 * k + c1 + c2);
    assert!((ce.loads.get(0, 0) - q1).abs() < 1e-12, "{:?}", ce.loads);
    assert!((ce.prices[0] - c1 * q1).abs() < 1e-12);
    assert!((ce.prices[1] - c2 * (energy - q1)).abs() < 1e-12);
    // U'(q1) = p1 + λ̄ − λ (eq. 35): μ = λ − λ̄ = p1 − (t1 − k q1).
    let mu = ce.min_energy_multipliers[0] - ce.max_energy_multipliers[0];
    assert!((mu - (c1 * q1 - (t1 - k * q1))).abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Newton and the kernel's interior-point method (independent paths) agree to 1e-7;
    /// both certificates hold to 1e-8 (competitive and strategic, quadratic and log).
    #[test]
    fn newton_and_ipm_agree(seed in 0u64..10_000, n in 1usize..7, periods in 1usize..6, logs in any::<bool>()) {
        let model = random_model(seed, n, periods, logs);
        for (a, b) in [
            (competitive_equilibrium(&model).unwrap(), competitive_equilibrium_ipm(&model, &ipm()).unwrap()),
            (strategic_equilibrium(&model).unwrap(), strategic_equilibrium_ipm(&model, &ipm()).unwrap()),
        ] {
            prop_assert!(a.certificate.holds(1e-8), "newton {:?}", a.certificate);
            prop_assert!(b.certificate.holds(1e-8), "ipm {:?}", b.certificate);
            prop_assert!(max_diff(&a.prices, &b.prices) <= 1e-7 * (1.0 + a.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()))));
            prop_assert!(max_diff(a.loads.as_slice(), b.loads.as_slice()) <= 1e-7 * (1.0 + a.total_load.iter().fold(0.0f64, |m, q| m.max(*q))));
            prop_assert!((a.welfare - b.welfare).abs() <= 1e-7 * (1.0 + a.welfare.abs()));
        }
    }

    /// Theorem 7: at the strategic equilibrium no customer gains by deviating (exact best
    /// responses), and the potential Newton agrees with the VI solver to 1e-7.
    #[test]
    fn nash_equilibrium_has_no_profitable_deviation(seed in 0u64..10_000, n in 1usize..6, periods in 1usize..5, logs in any::<bool>()) {
        let model = random_model(seed, n, periods, logs);
        let ne = strategic_equilibrium(&model).unwrap();
        let gain = nash_gain(&model, &ne.loads).unwrap();
        prop_assert!(gain.max_relative_gain <= 1e-8, "{:?}", gain);
        let vi = strategic_equilibrium_vi(&model, &ViSettings { tolerance: 1e-11, ..Default::default() }).unwrap();
        prop_assert!(vi.certificate.holds(1e-8), "{:?}", vi.certificate);
        prop_assert!(max_diff(&ne.prices, &vi.prices) <= 1e-7 * (1.0 + ne.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()))));
        // The competitive loads are not a Nash equilibrium unless nobody has market power
        // to use: their gains are ≥ the NE's (up to rounding).
        let ce = competitive_equilibrium(&model).unwrap();
        prop_assert!(nash_gain(&model, &ce.loads).unwrap().max_gain >= gain.max_gain - 1e-9);
    }

    /// Condition (44) without a potential (cubic supply cost, up to a strong `C'''` with
    /// 1–5 customers, where each customer's own impact is large): the own-impact fixed point
    /// around the price Newton is certified, nobody gains by deviating (exact best
    /// responses), and the kernel's VI solver on condition (44) finds the same equilibrium.
    #[test]
    fn non_potential_nash_agrees_with_the_vi(seed in 0u64..10_000, n in 1usize..6, periods in 1usize..5, logs in any::<bool>(), cubic in 0.001f64..2.0) {
        let model = ShapingModel::new(random_customers(seed, n, periods, logs), cubic_supply(periods, cubic)).unwrap();
        let ne = strategic_equilibrium(&model).unwrap();
        prop_assert_eq!(ne.method, Method::Newton);
        prop_assert!(ne.certificate.holds(1e-8), "{:?}", ne.certificate);
        let gain = nash_gain(&model, &ne.loads).unwrap();
        prop_assert!(gain.max_relative_gain <= 1e-8, "{:?}", gain);
        let vi = strategic_equilibrium_vi(&model, &ViSettings { tolerance: 1e-12, ..Default::default() }).unwrap();
        prop_assert!(vi.certificate.holds(1e-8), "{:?}", vi.certificate);
        let pscale = ne.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()));
        prop_assert!(max_diff(&ne.prices, &vi.prices) <= 1e-8 * pscale, "{:?} vs {:?}", ne.prices, vi.prices);
        let qscale = ne.loads.as_slice().iter().fold(0.0f64, |m, q| m.max(q.abs()));
        prop_assert!(max_diff(ne.loads.as_slice(), vi.loads.as_slice()) <= 1e-7 * qscale);
    }

    /// Theorem 6: the competitive equilibrium maximises welfare — no feasible load profile
    /// (random, or the Nash equilibrium) does better.
    #[test]
    fn competitive_equilibrium_is_efficient(seed in 0u64..10_000, n in 1usize..6, periods in 1usize..5, logs in any::<bool>()) {
        let model = random_model(seed, n, periods, logs);
        let ce = competitive_equilibrium(&model).unwrap();
        let ne = strategic_equilibrium(&model).unwrap();
        prop_assert!(ne.welfare <= ce.welfare + 1e-9 * (1.0 + ce.welfare.abs()));
        // Random feasible profiles: the responses to random prices are in every S_i.
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        for _ in 0..5 {
            let prices: Vec<f64> = (0..periods).map(|_| rand::Rng::gen_range(&mut rng, 0.0..3.0)).collect();
            let mut rows = Vec::new();
            for i in 0..n {
                rows.push(customer_response(&model, i, &prices).unwrap().0);
            }
            let loads = Loads::from_rows(&rows).unwrap();
            let total = loads.total();
            let mut w = 0.0;
            for i in 0..n {
                for t in 0..periods {
                    w += model.customers().utility_value(i, t, loads.get(i, t));
                }
            }
            for (t, &q) in total.iter().enumerate() {
                w -= model.supply().value(t, q);
            }
            prop_assert!(w <= ce.welfare + 1e-9 * (1.0 + ce.welfare.abs()));
        }
    }

    /// A customer's water-filling response equals the kernel allocator's solution of the
    /// same problem when its daily energy bound binds (an independent path).
    #[test]
    fn response_matches_allocator(seed in 0u64..10_000, periods in 1usize..8) {
        let model = random_model(seed, 1, periods, false);
        let prices: Vec<f64> = (0..periods).map(|t| 0.3 * t as f64).collect();
        let (q, mu) = customer_response(&model, 0, &prices).unwrap();
        let energy: f64 = q.iter().sum();
        let c = model.customers();
        let (lo, hi) = (c.min_energy()[0], c.max_energy()[0]);
        if let Some(Utility::Quadratic { theta, kappa }) = c.utility(0) {
            let pieces: Vec<QuadraticUtility> = (0..periods)
                .map(|t| QuadraticUtility { theta: theta[t] - prices[t], kappa: kappa[t] })
                .collect();
            if mu != 0.0 {
                let target = if mu > 0.0 { lo } else { hi };
                prop_assert!((energy - target).abs() <= 1e-12 * target.max(1.0));
                let a = allocate(&ScalarFamily { pieces: &pieces }, Bound::Constant(0.0),
                                 Bound::Constant(f64::INFINITY), target, &AllocatorSettings::default()).unwrap();
                prop_assert!(max_diff(&a.x, &q) <= 1e-9 * (1.0 + target));
                // The allocator's multiplier is −U'(q) + p = μ on free periods.
                prop_assert!((a.multiplier - mu).abs() <= 1e-9 * (1.0 + mu.abs()));
            } else {
                prop_assert!(energy >= lo - 1e-12 && energy <= hi + 1e-12);
                for t in 0..periods {
                    let free = pieces[t].inverse_derivative(0.0, 0.0, f64::INFINITY);
                    prop_assert!((free - q[t]).abs() <= 1e-12 * (1.0 + free));
                }
            }
        }
    }
}

/// A user-supplied (cubic) supply cost: no potential, so the strategic equilibrium goes
/// through the price Newton inside the own-impact fixed point (condition 44 with `C''`
/// frozen); its certificate holds, nobody gains by deviating, and it agrees with the
/// kernel's monotone VI solver run on condition (44) directly (an independent path).
#[test]
fn non_quadratic_supply_nash_by_two_paths() {
    for seed in 0..4 {
        let customers = random_customers(seed, 4, 3, seed % 2 == 0);
        let model = ShapingModel::new(customers, cubic_supply(3, 0.05)).unwrap();
        let ce = competitive_equilibrium(&model).unwrap();
        assert!(ce.certificate.holds(1e-8), "{:?}", ce.certificate);
        let ne = strategic_equilibrium(&model).unwrap();
        assert_eq!(ne.method, Method::Newton);
        assert!(ne.certificate.holds(1e-8), "{:?}", ne.certificate);
        let vi = strategic_equilibrium_vi(
            &model,
            &ViSettings {
                tolerance: 1e-12,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(vi.method, Method::Vi);
        assert!(vi.certificate.holds(1e-8), "{:?}", vi.certificate);
        let scale = ne
            .loads
            .as_slice()
            .iter()
            .fold(0.0f64, |m, q| m.max(q.abs()));
        let d = max_diff(ne.loads.as_slice(), vi.loads.as_slice());
        assert!(d <= 1e-8 * scale, "loads differ by {d} (scale {scale})");
        let pscale = ne.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()));
        let dp = max_diff(&ne.prices, &vi.prices);
        assert!(
            dp <= 1e-8 * pscale,
            "prices differ by {dp} (scale {pscale})"
        );
        let gain = nash_gain(&model, &ne.loads).unwrap();
        assert!(gain.max_relative_gain <= 1e-8, "{gain:?}");
        assert!(ne.welfare <= ce.welfare + 1e-9 * (1.0 + ce.welfare.abs()));
        // Prices are marginal costs of the total load (eq. 30).
        for t in 0..3 {
            assert!((ce.prices[t] - model.supply().marginal(t, ce.total_load[t])).abs() < 1e-9);
        }
    }
}

/// User-supplied utilities (ClosureConvex disutilities) solve like built-in ones: the same
/// quadratic utility given as a closure gives the same equilibrium.
#[test]
fn closure_utilities_match_builtin() {
    use dr_convex::ClosureConvex;
    use std::sync::Arc;
    let base = random_model(5, 3, 4, false);
    let mut custom = Customers::new(4).unwrap();
    let c = base.customers();
    for i in 0..3 {
        let Some(Utility::Quadratic { theta, kappa }) = c.utility(i) else {
            unreachable!()
        };
        let pieces: Vec<Arc<dyn ConvexScalar>> = (0..4)
            .map(|t| {
                let (th, k) = (theta[t], kappa[t]);
                Arc::new(
                    ClosureConvex::new(
                        move |q: f64| 0.5 * k * q * q - th * q,
                        move |q: f64| k * q - th,
                        move |_q: f64| k,
                        (f64::NEG_INFINITY, f64::INFINITY),
                    )
                    .unwrap(),
                ) as Arc<dyn ConvexScalar>
            })
            .collect();
        custom
            .push_custom(pieces, c.min_energy()[i], c.max_energy()[i])
            .unwrap();
    }
    let model = ShapingModel::new(custom, base.supply().clone()).unwrap();
    let a = competitive_equilibrium(&base).unwrap();
    let b = competitive_equilibrium(&model).unwrap();
    assert!(b.certificate.holds(1e-8), "{:?}", b.certificate);
    assert!(max_diff(&a.prices, &b.prices) < 1e-8);
    let na = strategic_equilibrium(&base).unwrap();
    let nb = strategic_equilibrium(&model).unwrap();
    assert!(max_diff(&na.prices, &nb.prices) < 1e-8);
    assert!(nash_gain(&model, &nb.loads).unwrap().max_relative_gain < 1e-8);
}

/// The certificate detects a wrong answer: perturbed prices violate stationarity.
#[test]
fn certificate_detects_wrong_prices() {
    let model = random_model(1, 4, 3, true);
    let ce = competitive_equilibrium(&model).unwrap();
    let mu: Vec<f64> = ce
        .min_energy_multipliers
        .iter()
        .zip(&ce.max_energy_multipliers)
        .map(|(a, b)| a - b)
        .collect();
    let good = certificate(&model, Behaviour::Competitive, &ce.loads, &ce.prices, &mu).unwrap();
    assert!(good.max_residual() <= 1e-8);
    let mut bad = ce.prices.clone();
    bad[0] += 1e-3;
    let c = certificate(&model, Behaviour::Competitive, &ce.loads, &bad, &mu).unwrap();
    assert!(c.max_residual() > 1e-5, "{c:?}");
    assert!(!c.holds(1e-8));
}

/// Results do not depend on the number of threads (deterministic chunked reductions):
/// a population above the parallel threshold, solved on 1 and on 3 threads, bit for bit.
#[test]
fn independent_of_thread_count() {
    let periods = 3;
    let n = 9000;
    let customers = random_customers(3, n, periods, true);
    let model = ShapingModel::new(
        customers,
        dr_shaping::SupplyCost::quadratic(vec![0.001; 3], vec![0.1; 3]).unwrap(),
    )
    .unwrap();
    let solve = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| competitive_equilibrium(&model).unwrap())
    };
    let (a, b) = (solve(1), solve(3));
    assert!(a.certificate.holds(1e-8), "{:?}", a.certificate);
    assert_eq!(a.prices, b.prices);
    assert_eq!(a.loads, b.loads);
    assert_eq!(a.total_load, b.total_load);
}

/// Peak-to-average ratio and load factor by hand; the unshaped reference is the
/// customers' response to the flat average price.
#[test]
fn load_shape_metrics() {
    assert_eq!(peak_to_average(&[1.0, 2.0, 3.0]), 1.5);
    assert_eq!(load_factor(&[1.0, 2.0, 3.0]), 1.0 / 1.5);
    assert_eq!(peak_to_average(&[0.0, 0.0]), 1.0);
    let model = random_model(8, 5, 4, true);
    let ce = competitive_equilibrium(&model).unwrap();
    let flat = ce.prices.iter().sum::<f64>() / 4.0;
    assert!((ce.unshaped.flat_price - flat).abs() < 1e-15);
    let u = unshaped_loads(&model, flat).unwrap();
    assert!(max_diff(&u.total(), &ce.unshaped.total_load) < 1e-12);
    assert!((ce.unshaped.peak_to_average - peak_to_average(&u.total())).abs() < 1e-12);
    assert!((ce.peak_to_average - peak_to_average(&ce.total_load)).abs() < 1e-15);
}
