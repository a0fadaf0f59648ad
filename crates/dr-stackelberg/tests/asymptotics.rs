//! §VII: utilities rise with T towards eq. 25's limit, prices N B / (K G), and the
//! company-to-consumer ratio.

mod common;

use common::rel;
use dr_stackelberg::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Assumptions 1–3 (ζ = 1, equal company totals, equal split): prices are B/(K G) for
    /// every T (eq. 22), utilities rise strictly with T (eq. 24) and stay below the limit of
    /// eq. 25, revenues are B/K.
    #[test]
    fn utilities_increase_with_periods(
        k in 1usize..4,
        g in 100.0f64..5000.0,
        budgets in prop::collection::vec(1.0f64..10.0, 1..4),
        count in 10.0f64..500.0,
    ) {
        let c = budgets.len();
        let classes = ConsumerClasses::new(vec![count; c], budgets.clone(), vec![0.0; c]);
        let periods: Vec<usize> = (1..=12).collect();
        let sweep = period_sweep(&vec![g; k], &classes, &periods, &EquilibriumSettings::default()).unwrap();
        let b: f64 = budgets.iter().map(|x| x * count).sum();
        for pt in &sweep.points {
            for row in &pt.prices {
                for &p in row {
                    prop_assert!(rel(p, b / (k as f64 * g)) <= 1e-10);
                }
            }
            for &r in &pt.revenues {
                prop_assert!(rel(r, b / k as f64) <= 1e-10);
            }
        }
        for (n, &bn) in budgets.iter().enumerate() {
            let limit = sweep.utility_limit[n].unwrap();
            prop_assert!(rel(limit, bn * k as f64 * g / b) <= 1e-12);
            for w in sweep.points.windows(2) {
                prop_assert!(w[1].utilities[n] > w[0].utilities[n], "class {n}: {} -> {}", w[0].utilities[n], w[1].utilities[n]);
            }
            let last = sweep.points.last().unwrap().utilities[n];
            prop_assert!(last < limit);
            // Eq. 24: γ K T ln(1 + B_n G / (T B)).
            let t = 12.0;
            prop_assert!(rel(last, k as f64 * t * (1.0 + bn * g / (t * b)).ln()) <= 1e-10);
        }
    }
}

/// Eq. 26 (derived): N identical consumers pay p = N B / (K G); each consumer's demand is
/// G / (T N).
#[test]
fn price_grows_with_consumers() {
    let pts = consumer_sweep(
        5.0,
        1000.0,
        2,
        4,
        &[10.0, 100.0, 1000.0, 1e5],
        &EquilibriumSettings::default(),
    )
    .unwrap();
    for p in &pts {
        for row in &p.prices {
            for &x in row {
                assert!(rel(x, p.predicted_price) <= 1e-10);
            }
        }
        for row in &p.demand {
            for &d in row {
                assert!(rel(d, 1000.0 / (4.0 * p.consumers)) <= 1e-10);
            }
        }
    }
}

/// Theorem 5: with K = ⌈N B / (G p_max)⌉ companies prices stay ≤ p_max; with one company
/// fewer they exceed it.
#[test]
fn company_to_consumer_ratio_keeps_prices_capped() {
    let (b, g, p_max, n) = (6.0, 2500.0, 0.3, 1000.0);
    let ratio = company_to_consumer_ratio(b, g, p_max).unwrap();
    assert!(rel(ratio, b / (g * p_max)) <= 1e-15);
    let k = companies_needed(n, b, g, p_max).unwrap();
    assert_eq!(k, 8); // ⌈1000 · 6 / 750⌉ = 8
    let max_price = |k: usize| {
        let pts = consumer_sweep(b, g, k, 24, &[n], &EquilibriumSettings::default()).unwrap();
        pts[0]
            .prices
            .iter()
            .flatten()
            .fold(0.0_f64, |m, &p| m.max(p))
    };
    assert!(max_price(k) <= p_max * (1.0 + 1e-12));
    let k = companies_needed(1100.0, b, g, p_max).unwrap();
    assert_eq!(k, 9);
    let pts = consumer_sweep(b, g, k - 1, 24, &[1100.0], &EquilibriumSettings::default()).unwrap();
    assert!(pts[0].prices[0][0] > p_max);
    assert!(company_to_consumer_ratio(b, g, 0.0).is_err());
}
