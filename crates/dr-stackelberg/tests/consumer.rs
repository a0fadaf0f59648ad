//! The consumer's best response (eq. 10 / water-filling), its KKT conditions and Theorem 1.

mod common;

use common::rel;
use dr_stackelberg::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The kernel's best response satisfies the KKT conditions, matches the sort-based
    /// water-filling, and equals eq. 10 whenever eq. 10 is non-negative.
    #[test]
    fn best_response_is_kkt_and_matches_closed_form(
        prices in common::prices(12),
        budget in 0.05f64..20.0,
        zeta in 0.0f64..3.0,
        gamma in 0.2f64..4.0,
    ) {
        let prefs = Preferences::uniform(gamma, zeta);
        let br = best_response(&prices, budget, prefs).unwrap();
        prop_assert!(br.kkt.max() <= 1e-9, "kkt {:?}", br.kkt);
        prop_assert!(br.demand.iter().all(|&d| d >= 0.0));
        prop_assert!(rel(br.spend, budget) <= 1e-10);
        let fast = water_fill(&prices, budget, prefs).unwrap();
        for (a, b) in br.demand.iter().zip(&fast.demand) {
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let closed = closed_form_demand(&prices, budget, prefs).unwrap();
        if closed.iter().all(|&d| d >= 0.0) {
            prop_assert_eq!(br.case, ConsumerCase::Interior);
            for (a, b) in br.demand.iter().zip(&closed) {
                prop_assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()));
            }
        } else {
            let wf = matches!(br.case, ConsumerCase::WaterFilling { inactive } if inactive > 0);
            prop_assert!(wf, "case {:?}", br.case);
            // The closed form spends the budget too, but with some negative demand: it
            // is infeasible, and the exact response's utility is what it is.
            prop_assert!(br.certificate.holds(1e-9), "{:?}", br.certificate);
        }
    }

    /// Time/company-specific weights (eq. 28): the kernel's response is KKT, and equals
    /// eq. 29 when that is non-negative.
    #[test]
    fn specific_weights_response(
        prices in common::prices(10),
        budget in 0.1f64..20.0,
        seed in prop::collection::vec((0.2f64..3.0, 0.0f64..2.0), 10),
    ) {
        let n = prices.len();
        let gamma: Vec<f64> = seed[..n].iter().map(|s| s.0).collect();
        let zeta: Vec<f64> = seed[..n].iter().map(|s| s.1).collect();
        let prefs = Preferences { gamma: Weights::PerEntry(&gamma), zeta: Weights::PerEntry(&zeta) };
        let br = best_response(&prices, budget, prefs).unwrap();
        prop_assert!(br.kkt.max() <= 1e-9, "{:?}", br.kkt);
        let fast = water_fill(&prices, budget, prefs).unwrap();
        for (a, b) in br.demand.iter().zip(&fast.demand) {
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()));
        }
        let closed = closed_form_demand(&prices, budget, prefs).unwrap();
        if closed.iter().all(|&d| d >= 0.0) {
            for (a, b) in br.demand.iter().zip(&closed) {
                prop_assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()));
            }
        }
    }

    /// Theorem 1 both ways: just above the minimum budget the best response meets the
    /// energy need, just below it does not; eq. 11 is exact when eq. 10 is non-negative.
    #[test]
    fn theorem_1_both_ways(
        prices in common::prices(12),
        need in 0.5f64..40.0,
        zeta in 0.0f64..2.0,
    ) {
        let prefs = Preferences::uniform(1.0, zeta);
        let b_min = minimum_budget(&prices, need, prefs).unwrap();
        prop_assert!(b_min > 0.0);
        let above = best_response(&prices, b_min * (1.0 + 1e-6), prefs).unwrap();
        let below = best_response(&prices, b_min * (1.0 - 1e-6), prefs).unwrap();
        prop_assert!(above.energy >= need, "{} < {}", above.energy, need);
        prop_assert!(below.energy < need, "{} >= {}", below.energy, need);
        let at = closed_form_demand(&prices, b_min, prefs).unwrap();
        if at.iter().all(|&d| d >= 0.0) {
            let eq11 = minimum_budget_closed_form(&prices, need, zeta).unwrap();
            prop_assert!(rel(eq11, b_min) <= 1e-10, "{eq11} vs {b_min}");
        }
    }
}

/// Hand-derived cases: one entry buys `B / p`; with `ζ = 1` and two prices the closed form
/// is `(B + p1 + p2) / (2 p_i) − 1`.
#[test]
fn hand_derived_responses() {
    let br = best_response(&[0.5], 3.0, Preferences::uniform(1.0, 1.0)).unwrap();
    assert!((br.demand[0] - 6.0).abs() < 1e-14);
    assert!(
        (minimum_budget(&[0.5], 4.0, Preferences::uniform(1.0, 1.0)).unwrap() - 2.0).abs() < 1e-12
    );
    let br = best_response(&[1.0, 2.0], 5.0, Preferences::uniform(1.0, 1.0)).unwrap();
    assert!((br.demand[0] - 3.0).abs() < 1e-14); // (5 + 3)/2 − 1
    assert!((br.demand[1] - 1.0).abs() < 1e-14); // (5 + 3)/4 − 1
                                                 // Budget 0.5 at prices (1, 2): eq. 10 gives (3.5/2 − 1, 3.5/4 − 1) < 0 for the second;
                                                 // the water-filling buys only the cheap entry: d = (0.5, 0).
    let br = best_response(&[1.0, 2.0], 0.5, Preferences::uniform(1.0, 1.0)).unwrap();
    assert_eq!(br.case, ConsumerCase::WaterFilling { inactive: 1 });
    assert!((br.demand[0] - 0.5).abs() < 1e-12 && br.demand[1] == 0.0);
}

#[test]
fn bad_consumer_input_is_a_typed_error() {
    let p = Preferences::uniform(1.0, 1.0);
    let e = best_response(&[1.0, -2.0], 1.0, p).unwrap_err();
    assert!(
        matches!(e, StackelbergError::Input(dr_convex::InputError::OutOfRange { ref field, .. }) if field == "prices[1]"),
        "{e}"
    );
    let e = best_response(&[1.0, f64::NAN], 1.0, p).unwrap_err();
    assert!(
        matches!(e, StackelbergError::Input(dr_convex::InputError::NotFinite { ref field, .. }) if field == "prices[1]"),
        "{e}"
    );
    let e = best_response(&[1.0], 0.0, p).unwrap_err();
    assert!(e.to_string().contains("budget"), "{e}");
    let e = best_response(&[], 1.0, p).unwrap_err();
    assert!(matches!(
        e,
        StackelbergError::Input(dr_convex::InputError::Empty { .. })
    ));
    let e = best_response(&[1.0], 1.0, Preferences::uniform(0.0, 1.0)).unwrap_err();
    assert!(e.to_string().contains("gamma"), "{e}");
    let g = [1.0];
    let e = best_response(
        &[1.0, 2.0],
        1.0,
        Preferences {
            gamma: Weights::PerEntry(&g),
            zeta: Weights::Uniform(1.0),
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            StackelbergError::Input(dr_convex::InputError::LengthMismatch { .. })
        ),
        "{e}"
    );
    let e = minimum_budget(&[1.0], -1.0, p).unwrap_err();
    assert!(e.to_string().contains("energy_need"), "{e}");
}
