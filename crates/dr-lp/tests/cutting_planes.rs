//! The cutting-plane loop against closed forms derived by hand: a peak variable priced by
//! two rows (the kink of the Lagrangian that the multiplier ascent must move along), the
//! same problem replicated for many users (the LP is large enough for `Backend::Auto` to
//! pick clarabel), and the choice of back end by size.

use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{ConvexScalar, Linear, LinearQuadraticCost, PlusLinear};
use dr_lp::{solve, Backend, OuterSettings};
use std::sync::Arc;

/// `users` users over two periods with `f_t(x) = x² − 2 θ_t x` (that is `(x − θ_t)² −
/// θ_t²`), `θ = (3, 1)`, and one community peak `w` charged `p0 = 1` per unit (a
/// mechanism's peak charge, wei-anastasopoulos problem (3)): rows `Σ_u x_ut − w ≤ 0` for
/// `t = 0, 1`, bounds `0 ≤ x ≤ 10`, `0 ≤ w ≤ 10 · users`.
///
/// By hand (strictly convex in every `x`, symmetric in the users, so every user has the
/// same `x_u0 = s`, `x_u1 = r`): the peak binds in period 0, `w = users · s`, and
/// `users ((s − 3)² + (r − 1)² − 10 + s)` is least at `r = 1` (below the peak as long as
/// `s ≥ 1`) and `2 (s − 3) + 1 = 0`, `s = 2.5`: `F* = −7.25 · users`. Multipliers:
/// `f'(x_u0) = 2 (s − 3) = −z_0` gives `z_0 = 1`, and `w`'s stationarity `p0 − z_0 − z_1 =
/// 0` gives `z_1 = 0` — the multipliers sit on the kink `z_0 + z_1 = p0` of the Lagrangian
/// (the minimum of `(p0 − z_0 − z_1) w` over the box of `w` changes end there).
fn community_peak_problem(users: usize) -> SeparableProblem {
    let theta = [3.0, 1.0];
    let n = 2 * users + 1;
    let mut objective: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(n);
    for _ in 0..users {
        for th in theta {
            objective.push(Arc::new(PlusLinear {
                f: LinearQuadraticCost::new(0.0, 1.0).unwrap(),
                slope: -2.0 * th,
            }));
        }
    }
    objective.push(Arc::new(Linear { slope: 1.0 }));
    let w = 2 * users;
    let mut inequalities = LinearRows::new(n);
    for t in 0..2 {
        let mut row: Vec<(usize, f64)> = (0..users).map(|u| (2 * u + t, 1.0)).collect();
        row.push((w, -1.0));
        inequalities.push_row(&row, 0.0).unwrap();
    }
    let mut upper = vec![10.0; n];
    upper[w] = 10.0 * users as f64;
    SeparableProblem {
        objective,
        lower: vec![0.0; n],
        upper,
        equalities: LinearRows::new(n),
        inequalities,
    }
}

/// `(F*, s)` of [`community_peak_problem`], derived there.
fn peak_optimum(users: usize) -> (f64, f64) {
    (-7.25 * users as f64, 2.5)
}

fn backends() -> Vec<Backend> {
    [Backend::Auto, Backend::Clarabel, Backend::Microlp]
        .into_iter()
        .filter(|b| b.available())
        .collect()
}

#[test]
fn a_peak_priced_by_two_rows_closes_to_the_hand_optimum() {
    let users = 1;
    let problem = community_peak_problem(users);
    let (f_star, s) = peak_optimum(users);
    assert!((f_star - (-7.25)).abs() < 1e-15);
    for backend in backends() {
        let lp = solve(
            &problem,
            &OuterSettings {
                backend,
                ..OuterSettings::default()
            },
        )
        .unwrap();
        assert!(
            lp.certificate.status.is_solved(),
            "{backend:?}: {:?}",
            lp.certificate
        );
        assert!(
            lp.contains(f_star, 1e-12),
            "{backend:?}: [{}, {}]",
            lp.lower,
            lp.upper
        );
        assert!(lp.relative_width() <= 1e-9, "{backend:?}");
        // Curvature 2 in every x: |x_j − x*_j| ≤ √(U − L') (quadratic growth).
        let r = (lp.upper - lp.radius_lower()).max(1e-16).sqrt() + 1e-9;
        assert!((lp.x[0] - s).abs() <= r, "{backend:?}: {:?}", lp.x);
        assert!((lp.x[1] - 1.0).abs() <= r, "{backend:?}: {:?}", lp.x);
    }
}

// With clarabel only: microlp alone (Auto without the feature) stops at a relative width of
// about 9e-9 here, short of 1e-9 (NumericalError: no cut left to add), and takes ~50 s in
// a debug build.
#[cfg(feature = "clarabel")]
#[test]
fn a_large_peak_problem_gets_a_tight_interval_around_the_hand_optimum() {
    // 301 variables: above Backend::AUTO_CLARABEL_ABOVE, so Auto runs clarabel (with its
    // duals, the multiplier ascent over the two peak rows runs too).
    let users = 150;
    let problem = community_peak_problem(users);
    let (f_star, s) = peak_optimum(users);
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    assert_eq!(lp.backend, Backend::Auto.resolve(problem.objective.len()));
    assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
    assert!(
        lp.contains(f_star, 1e-12 * f_star.abs()),
        "[{}, {}] vs {f_star}",
        lp.lower,
        lp.upper
    );
    assert!(lp.relative_width() <= 1e-9);
    let r = (lp.upper - lp.radius_lower()).max(1e-16).sqrt() + 1e-9;
    // Curvature 2 in every x: |x_j − x*_j| ≤ √(U − L').
    for u in 0..users {
        assert!((lp.x[2 * u] - s).abs() <= r, "user {u}: {}", lp.x[2 * u]);
        assert!(
            (lp.x[2 * u + 1] - 1.0).abs() <= r,
            "user {u}: {}",
            lp.x[2 * u + 1]
        );
    }
}

#[test]
fn auto_picks_microlp_on_small_problems_and_clarabel_on_large_ones() {
    assert_eq!(Backend::default(), Backend::Auto);
    assert_eq!(OuterSettings::default().backend, Backend::Auto);
    assert_eq!(Backend::Auto.resolve(1), Backend::Microlp);
    assert_eq!(
        Backend::Auto.resolve(Backend::AUTO_CLARABEL_ABOVE),
        Backend::Microlp
    );
    let large = Backend::Auto.resolve(Backend::AUTO_CLARABEL_ABOVE + 1);
    if cfg!(feature = "clarabel") {
        assert_eq!(large, Backend::Clarabel);
    } else {
        assert_eq!(large, Backend::Microlp);
    }
    assert_eq!(Backend::Microlp.resolve(10_000), Backend::Microlp);
    for b in [Backend::Auto, Backend::Clarabel, Backend::Microlp] {
        assert_eq!(Backend::from_name(b.name()), Some(b));
    }
    assert_eq!(Backend::from_name("highs"), None);
}
