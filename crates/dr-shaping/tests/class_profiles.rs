//! Jittered classes are stored as one class profile plus, per customer, a rotation and two
//! factors (`Customers::push_variant`, chen-li-low-doyle-2010 §IV-A). These tests pin that
//! every parameter is bit for bit what pushing the jittered profiles explicitly gives.

use dr_shaping::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every parameter of every customer of `a` and `b`, compared bit for bit: the owned
/// copies, the views, the energy bounds, and the utility and marginal utility at a load
/// (which read the per-period pieces the solvers use).
fn assert_same_customers(a: &Customers, b: &Customers) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.periods(), b.periods());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(a.min_energy()), bits(b.min_energy()));
    assert_eq!(bits(a.max_energy()), bits(b.max_energy()));
    assert_eq!(a.counts(), b.counts());
    for i in 0..a.len() {
        assert_eq!(a.kind(i), b.kind(i), "customer {i}");
        assert_eq!(a.alpha(i).to_bits(), b.alpha(i).to_bits(), "customer {i}");
        assert_eq!(
            format!("{:?}", a.utility(i)),
            format!("{:?}", b.utility(i)),
            "customer {i}"
        );
        let (pa, pb) = (a.profiles(i).unwrap(), b.profiles(i).unwrap());
        for t in 0..a.periods() {
            assert_eq!(pa.0.get(t).map(f64::to_bits), pb.0.get(t).map(f64::to_bits));
            assert_eq!(pa.1.get(t).map(f64::to_bits), pb.1.get(t).map(f64::to_bits));
            for q in [0.0, 0.7, 3.0] {
                assert_eq!(
                    a.utility_value(i, t, q).to_bits(),
                    b.utility_value(i, t, q).to_bits(),
                    "U_{i}({q}, {t})"
                );
                assert_eq!(
                    a.marginal_utility(i, t, q).to_bits(),
                    b.marginal_utility(i, t, q).to_bits(),
                    "U_{i}'({q}, {t})"
                );
            }
        }
        assert!(pa.0.get(a.periods()).is_none());
    }
}

/// A class's spec as the scenario reads it.
fn class(
    utility: UtilitySpec,
    count: usize,
    first: Vec<f64>,
    second: Vec<f64>,
    jitter: f64,
    roll: usize,
) -> CustomerSpec {
    let (theta, kappa, weight, shift) = match utility {
        UtilitySpec::Quadratic => (Some(first), Some(second), None, None),
        _ => (None, None, Some(first), Some(second)),
    };
    CustomerSpec {
        name: None,
        count,
        utility,
        theta: theta.map(PerPeriod::Profile),
        kappa: kappa.map(PerPeriod::Profile),
        weight: weight.map(PerPeriod::Profile),
        shift: shift.map(PerPeriod::Profile),
        alpha: (utility == UtilitySpec::Power).then_some(0.4),
        min_energy: Some(2.0),
        max_energy: Some(9.0),
        jitter: (jitter > 0.0).then_some(jitter),
        roll: (roll > 0).then_some(roll),
    }
}

/// The scenario's jittered customers pushed one by one with explicit profiles: the same
/// ChaCha8 draws in the same order (three factors when jittered, then a rotation when
/// rolled), `a[(t − shift) mod T] · f`, energy bounds times the third factor.
fn explicit(file: &ShapingScenario) -> Customers {
    let periods = file.periods;
    let mut rng = ChaCha8Rng::seed_from_u64(file.seed);
    let mut c = Customers::new(periods).unwrap();
    for spec in &file.customers {
        let (first, second) = match spec.utility {
            UtilitySpec::Quadratic => (spec.theta.as_ref(), spec.kappa.as_ref()),
            _ => (spec.weight.as_ref(), spec.shift.as_ref()),
        };
        let a = first.unwrap().expand("first", periods).unwrap();
        let b = second.unwrap().expand("second", periods).unwrap();
        let (lo, hi) = (spec.min_energy.unwrap(), spec.max_energy.unwrap());
        let push = |c: &mut Customers, a: &[f64], b: &[f64], lo: f64, hi: f64| match spec.utility {
            UtilitySpec::Quadratic => c.push_quadratic(a, b, lo, hi).unwrap(),
            UtilitySpec::Log => c.push_log(a, b, lo, hi).unwrap(),
            UtilitySpec::Power => c.push_power(a, b, spec.alpha.unwrap(), lo, hi).unwrap(),
        };
        if spec.identical() {
            let row = push(&mut c, &a, &b, lo, hi);
            c.set_count(row, spec.count).unwrap();
            continue;
        }
        let jitter = spec.jitter.unwrap_or(0.0);
        let roll = spec.roll.unwrap_or(0) as i64;
        for _ in 0..spec.count {
            let (fa, fb, fe) = if jitter > 0.0 {
                (
                    rng.gen_range(1.0 - jitter..=1.0 + jitter),
                    rng.gen_range(1.0 - jitter..=1.0 + jitter),
                    rng.gen_range(1.0 - jitter..=1.0 + jitter),
                )
            } else {
                (1.0, 1.0, 1.0)
            };
            let shift = if roll > 0 {
                rng.gen_range(-roll..=roll)
            } else {
                0
            };
            let rotated = |v: &[f64], f: f64| -> Vec<f64> {
                (0..periods)
                    .map(|t| v[(t as i64 - shift).rem_euclid(periods as i64) as usize] * f)
                    .collect()
            };
            push(&mut c, &rotated(&a, fa), &rotated(&b, fb), lo * fe, hi * fe);
        }
    }
    c
}

fn profile(periods: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.05..3.0f64, periods)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A scenario's jittered (and rolled) classes give, for every customer and period,
    /// exactly the parameters of pushing the jittered profiles explicitly.
    #[test]
    fn jittered_classes_equal_their_explicit_profiles(
        seed in 0u64..1_000_000,
        (periods, profiles) in (1usize..9).prop_flat_map(|t| (Just(t), prop::collection::vec(profile(t), 6))),
        counts in prop::collection::vec(1usize..12, 3),
        jitter in prop::collection::vec(prop_oneof![Just(0.0), 0.0..0.6f64], 3),
        rolls in prop::collection::vec(0usize..9, 3),
    ) {
        let kinds = [UtilitySpec::Quadratic, UtilitySpec::Log, UtilitySpec::Power];
        let customers = (0..3)
            .map(|k| class(
                kinds[k],
                counts[k],
                profiles[2 * k].clone(),
                profiles[2 * k + 1].clone(),
                jitter[k],
                rolls[k] % periods,
            ))
            .collect();
        let file = ShapingScenario {
            model: None,
            periods,
            seed,
            supply: SupplySpec::quadratic(PerPeriod::Constant(0.01), None),
            customers,
            simulation: None,
        };
        let model = file.to_model().unwrap();
        assert_same_customers(model.customers(), &explicit(&file));
    }

    /// `push_variant` of a class profile equals `push_quadratic` / `push_log` /
    /// `push_power` of the rotated, scaled profile, for any rotation (negative, beyond T).
    #[test]
    fn variants_equal_explicit_pushes(
        (periods, a, b) in (1usize..9).prop_flat_map(|t| (Just(t), profile(t), profile(t))),
        fa in 0.3..1.7f64,
        fb in 0.3..1.7f64,
        shift in -20i64..20,
        kind in 0usize..3,
    ) {
        let kind = [UtilityKind::Quadratic, UtilityKind::Log, UtilityKind::Power][kind];
        let mut derived = Customers::new(periods).unwrap();
        let mut pushed = Customers::new(periods).unwrap();
        let p = derived.add_class_profile(kind, &a, &b, 0.3).unwrap();
        let variant = Variant { first_factor: fa, second_factor: fb, shift };
        derived.push_variant(p, variant, 1.0, 5.0).unwrap();
        let rotated = |v: &[f64], f: f64| -> Vec<f64> {
            (0..periods)
                .map(|t| v[(t as i64 - shift).rem_euclid(periods as i64) as usize] * f)
                .collect()
        };
        let (ja, jb) = (rotated(&a, fa), rotated(&b, fb));
        match kind {
            UtilityKind::Quadratic => pushed.push_quadratic(&ja, &jb, 1.0, 5.0),
            UtilityKind::Log => pushed.push_log(&ja, &jb, 1.0, 5.0),
            _ => pushed.push_power(&ja, &jb, 0.3, 1.0, 5.0),
        }
        .unwrap();
        assert_same_customers(&derived, &pushed);
    }
}

/// A variant's parameters are checked like explicit ones (errors name the customer and
/// the period), and a profile from another population is refused, not read.
#[test]
fn variants_are_validated() {
    let mut c = Customers::new(3).unwrap();
    let p = c
        .add_class_profile(
            UtilityKind::Quadratic,
            &[1.0, 2.0, 3.0],
            &[1.0, 1.0, 1.0],
            0.0,
        )
        .unwrap();
    let ok = Variant {
        first_factor: 1.1,
        second_factor: 0.9,
        shift: 1,
    };
    c.push_variant(p, ok, 0.0, 4.0).unwrap();
    let bad = Variant {
        second_factor: -1.0,
        ..ok
    };
    let e = c.push_variant(p, bad, 0.0, 4.0).unwrap_err();
    assert_eq!(e.field(), "customers[1].kappa[0]");
    let huge = Variant {
        first_factor: f64::MAX,
        ..ok
    };
    let e = c.push_variant(p, huge, 0.0, 4.0).unwrap_err();
    assert_eq!(e.field(), "customers[1].theta[0]");
    let e = c.push_variant(p, ok, 5.0, 4.0).unwrap_err();
    assert_eq!(e.field(), "customers[1].max_energy");
    let mut other = Customers::new(3).unwrap();
    let e = other.push_variant(p, ok, 0.0, 4.0).unwrap_err();
    assert_eq!(e.field(), "profile");
    let e = other
        .add_class_profile(UtilityKind::Custom, &[1.0; 3], &[1.0; 3], 0.0)
        .unwrap_err();
    assert_eq!(e.field(), "kind");
    let e = other
        .add_class_profile(UtilityKind::Power, &[1.0; 3], &[1.0; 3], 1.5)
        .unwrap_err();
    assert_eq!(e.field(), "alpha");
    assert_eq!(c.len(), 1);
    assert!(other.is_empty());
}
