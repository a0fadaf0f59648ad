//! Projection onto `{l ≤ x ≤ u, L ≤ Σ x ≤ U}` (dr-convex `project_box_sum`, used by the
//! gradient scheme of chen-li-low-doyle-2010 eq. 42): checked against the variational
//! characterisation `(v − P(v))·(y − P(v)) ≤ 0` for feasible `y`.

use dr_convex::{project_box_sum, Bound, ConvexError};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn projection_is_the_nearest_feasible_point(
        v in prop::collection::vec(-5.0..5.0f64, 1..24),
        lo in 0.0..1.0f64, hi in 1.0..4.0f64,
        y_seed in prop::collection::vec(0.0..1.0f64, 24),
    ) {
        let n = v.len() as f64;
        let (sl, su) = (lo * n * 0.5 + 0.3 * n * (1.0 - lo), 0.9 * hi * n);
        let (sl, su) = (sl.min(su), su);
        let p = project_box_sum(&v, Bound::Constant(0.0), Bound::Constant(hi), sl, su).unwrap();
        let s: f64 = p.x.iter().sum();
        prop_assert!(s >= sl - 1e-9 && s <= su + 1e-9);
        prop_assert!(p.x.iter().all(|&x| (0.0..=hi).contains(&x)));
        // A feasible test point y: scale a random box point into the sum band.
        let mut y: Vec<f64> = y_seed.iter().take(v.len()).map(|t| t * hi).collect();
        let ys: f64 = y.iter().sum();
        let target = ys.clamp(sl, su);
        if ys > 0.0 && target / ys * hi <= hi * (1.0 + 1e-12) && target <= ys { for t in y.iter_mut() { *t *= target / ys; } }
        let ysum: f64 = y.iter().sum();
        if ysum >= sl - 1e-12 && ysum <= su + 1e-12 && y.iter().all(|&t| t <= hi) {
            let inner: f64 = v.iter().zip(&p.x).zip(&y).map(|((v, px), y)| (v - px) * (y - px)).sum();
            prop_assert!(inner <= 1e-9, "variational inequality violated: {}", inner);
        }
    }
}

#[test]
fn hand_derived_projections() {
    let inf = f64::INFINITY;
    // Already feasible: unchanged.
    let p = project_box_sum(
        &[0.5, 0.5],
        Bound::Constant(0.0),
        Bound::Constant(inf),
        0.0,
        2.0,
    )
    .unwrap();
    assert_eq!(p.x, vec![0.5, 0.5]);
    assert_eq!(p.multiplier, 0.0);
    // Lower sum bound active: (0, 0) onto Σ ≥ 2 → (1, 1), multiplier +1.
    let p = project_box_sum(
        &[0.0, 0.0],
        Bound::Constant(0.0),
        Bound::Constant(inf),
        2.0,
        3.0,
    )
    .unwrap();
    assert_eq!(p.x, vec![1.0, 1.0]);
    assert!((p.multiplier - 1.0).abs() < 1e-15);
    // Box clamps first: (−1, 4) onto [0, 2]², Σ ≤ 10 → (0, 2).
    let p = project_box_sum(
        &[-1.0, 4.0],
        Bound::Constant(0.0),
        Bound::Constant(2.0),
        0.0,
        10.0,
    )
    .unwrap();
    assert_eq!(p.x, vec![0.0, 2.0]);
}

#[test]
fn bad_projection_inputs() {
    let inf = f64::INFINITY;
    assert!(matches!(
        project_box_sum(&[], Bound::Constant(0.0), Bound::Constant(inf), 0.0, 1.0),
        Err(ConvexError::Empty { .. })
    ));
    assert!(
        matches!(project_box_sum(&[f64::NAN], Bound::Constant(0.0), Bound::Constant(inf), 0.0, 1.0), Err(ConvexError::NotFinite { field, .. }) if field == "v[0]")
    );
    assert!(matches!(
        project_box_sum(&[1.0], Bound::Constant(0.0), Bound::Constant(inf), 2.0, 1.0),
        Err(ConvexError::InvertedBounds { .. })
    ));
    assert!(matches!(
        project_box_sum(&[1.0], Bound::Constant(0.0), Bound::Constant(1.0), 2.0, 3.0),
        Err(ConvexError::Infeasible { .. })
    ));
    assert!(matches!(
        project_box_sum(
            &[1.0, 1.0],
            Bound::PerItem(&[0.0, 2.0]),
            Bound::PerItem(&[1.0, 1.0]),
            0.0,
            3.0
        ),
        Err(ConvexError::InvertedBounds {
            ref field,
            ..
        }) if field == "bounds[1]"
    ));
}
