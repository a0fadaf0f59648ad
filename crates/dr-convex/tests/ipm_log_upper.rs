//! Regression: log utilities with an upper bound and no lower bound (reported by the
//! mechanism crate, whose planner hit NaN on about 1% of random T = 1 instances).

use dr_convex::ipm::{solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{ConvexScalar, Linear, LogUtility};
use std::sync::Arc;

#[test]
fn log_utilities_with_upper_bounds_only() {
    let inf = f64::INFINITY;
    let objective: Vec<Arc<dyn ConvexScalar>> = vec![
        Arc::new(LogUtility::new(1.0362, 1.2156).unwrap()),
        Arc::new(LogUtility::new(1.5321, 0.5261).unwrap()),
        Arc::new(LogUtility::new(0.5217, 1.9979).unwrap()),
        Arc::new(Linear { slope: 0.2139 }),
    ];
    let mut ineq = LinearRows::new(4);
    ineq.push_row(&[(0, 1.0), (1, 1.0), (2, 1.0), (3, -1.0)], 0.0)
        .unwrap();
    let problem = SeparableProblem {
        objective,
        lower: vec![-inf; 4],
        upper: vec![2.0426, inf, 1.7802, inf],
        equalities: LinearRows::new(4),
        inequalities: ineq,
    };
    let sol = solve(&problem, &IpmSettings::default()).unwrap();
    assert!(sol.certificate.holds(1e-8), "{:?}", sol.certificate);
    // Hand check of stationarity: the peak variable w has slope 0.2139 = z (the row's
    // multiplier), and each log user's marginal utility w_i/(s_i + x_i) equals z unless capped.
    let z = sol.inequality_multipliers[0];
    assert!((z - 0.2139).abs() < 1e-8, "z = {z}");
    for (i, (w, s)) in [(1.0362, 1.2156), (1.5321, 0.5261), (0.5217, 1.9979)]
        .into_iter()
        .enumerate()
    {
        let mu = w / (s + sol.x[i]);
        let capped = sol.x[i] >= problem.upper[i] - 1e-9;
        assert!(
            (mu - z).abs() < 1e-7 || (capped && mu >= z - 1e-9),
            "user {i}: {mu} vs {z}"
        );
    }
}
