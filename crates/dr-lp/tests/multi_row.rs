//! The LP back end against the kernel's interior-point method on multi-row problems, and
//! against hand-derived solutions.

use dr_convex::ipm::{solve as ipm_solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{
    ConvexScalar, HalfQuadraticCost, Linear, LinearQuadraticCost, LogUtility, QuadraticUtility,
};
use dr_lp::{
    cross_check, solve, verify, Backend, CrossCheckSettings, KernelSolution, OuterSettings,
};
use proptest::prelude::*;
use std::sync::Arc;

/// Two customers over two periods, `f = ½ x²` each; supply rows `x_1t + x_2t = d_t` with
/// `d = (2, 4)`; customer 1's budget `x_10 + x_11 ≤ 2`.
///
/// By hand: the budget binds (unconstrained it would use 1 + 2 = 3). With `x_10 = a`,
/// `x_11 = 2 − a`, `x_20 = 2 − a`, `x_21 = 2 + a`, the objective's derivative is
/// `4a − 2 = 0`, so `x = (½, 3/2, 3/2, 5/2)` and `F* = ½ (¼ + 9/4 + 9/4 + 25/4) = 11/2`.
/// Stationarity `f'(x) = Aᵀy − Gᵀz`: `x_20 = y_0 = 3/2`, `x_21 = y_1 = 5/2`,
/// `x_10 = y_0 − z ⇒ z = 1` (and `x_11 = y_1 − z = 3/2` ✓).
fn budget_problem() -> SeparableProblem {
    // Variable order: x_10, x_11, x_20, x_21.
    let objective: Vec<Arc<dyn ConvexScalar>> = (0..4)
        .map(|_| Arc::new(HalfQuadraticCost::new(1.0).unwrap()) as Arc<dyn ConvexScalar>)
        .collect();
    let mut equalities = LinearRows::new(4);
    equalities.push_row(&[(0, 1.0), (2, 1.0)], 2.0).unwrap();
    equalities.push_row(&[(1, 1.0), (3, 1.0)], 4.0).unwrap();
    let mut inequalities = LinearRows::new(4);
    inequalities.push_row(&[(0, 1.0), (1, 1.0)], 2.0).unwrap();
    SeparableProblem {
        objective,
        lower: vec![0.0; 4],
        upper: vec![f64::INFINITY; 4],
        equalities,
        inequalities,
    }
}

#[test]
fn hand_derived_budget() {
    let problem = budget_problem();
    let x = [0.5, 1.5, 1.5, 2.5];
    let exact = KernelSolution {
        x: &x,
        equality_multipliers: &[1.5, 2.5],
        inequality_multipliers: &[1.0],
        objective: 5.5,
    };
    for backend in [Backend::Clarabel, Backend::Microlp]
        .into_iter()
        .filter(|b| b.available())
    {
        let settings = OuterSettings {
            backend,
            ..OuterSettings::default()
        };
        let lp = solve(&problem, &settings).unwrap();
        assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
        assert!(lp.contains(5.5, 1e-12), "{lp:?}");
        // μ = 1 for every term: |x_j − x*_j| ≤ √(2 (U − L')).
        let r = (2.0 * (lp.upper - lp.lower.min(lp.lp_value)).max(1e-16)).sqrt();
        for (xl, xe) in lp.x.iter().zip(&x) {
            assert!((xl - xe).abs() <= r + 1e-12, "{lp:?}");
        }
        // x_20 and x_21 appear in one row each: y_t ∈ [x_2t − r, x_2t + r] (f' = x).
        assert!((lp.equality_multipliers[0] - 1.5).abs() <= 2.0 * r + 1e-9);
        assert!((lp.equality_multipliers[1] - 2.5).abs() <= 2.0 * r + 1e-9);
        // z = y_0 − f'(x_10): within 4r.
        assert!((lp.inequality_multipliers[0] - 1.0).abs() <= 4.0 * r + 1e-9);
        let cc = cross_check(&problem, &exact, &lp, &CrossCheckSettings::default()).unwrap();
        assert!(cc.agrees, "{cc:?}");
        assert_eq!(cc.rows_with_witness, 2);
    }
    // And the kernel's interior-point method agrees with the LP back end.
    let ipm = ipm_solve(&problem, &IpmSettings::default()).unwrap();
    assert!(ipm.certificate.holds(1e-8));
    let (_, cc) = verify(
        &problem,
        &(&ipm).into(),
        &OuterSettings::default(),
        &CrossCheckSettings::default(),
    )
    .unwrap();
    assert!(cc.agrees, "{cc:?}");
}

/// Peak pricing (the shape of wei-anastasopoulos problem (3)): consumption `x_t` with
/// quadratic utility `θ_t x − ½ x²` (as the disutility `½ x² − θ_t x`), a peak `w ≥ x_t`
/// priced `p_0 w`; `x` free, `w ≥ 0` unbounded above. Nothing bounds `x` or `w` from
/// above or `x` from below but the objective, so the back end needs artificial bounds.
///
/// By hand with `θ = (3, 1)`, `p_0 = 1`: the peak is period 0, `x_0 − 3 + 1 = 0 ⇒ x_0 = 2`,
/// `x_1 = 1 < 2`, `w = 2`; `F* = (2 − 6) + (½ − 1) + 2 = −2.5`; `z = (1, 0)`.
#[test]
fn hand_derived_peak_with_unbounded_variables() {
    let objective: Vec<Arc<dyn ConvexScalar>> = vec![
        Arc::new(QuadraticUtility::new(3.0, 1.0).unwrap()),
        Arc::new(QuadraticUtility::new(1.0, 1.0).unwrap()),
        Arc::new(Linear { slope: 1.0 }),
    ];
    let mut inequalities = LinearRows::new(3);
    inequalities.push_row(&[(0, 1.0), (2, -1.0)], 0.0).unwrap();
    inequalities.push_row(&[(1, 1.0), (2, -1.0)], 0.0).unwrap();
    let problem = SeparableProblem {
        objective,
        lower: vec![f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0],
        upper: vec![f64::INFINITY; 3],
        equalities: LinearRows::new(3),
        inequalities,
    };
    for backend in [Backend::Clarabel, Backend::Microlp]
        .into_iter()
        .filter(|b| b.available())
    {
        let settings = OuterSettings {
            backend,
            ..OuterSettings::default()
        };
        let lp = solve(&problem, &settings).unwrap();
        assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
        assert!(lp.contains(-2.5, 1e-12), "{lp:?}");
        assert!((lp.x[0] - 2.0).abs() < 1e-3 && (lp.x[1] - 1.0).abs() < 1e-3);
        assert!((lp.x[2] - 2.0).abs() < 1e-3);
        assert!((lp.inequality_multipliers[0] - 1.0).abs() < 1e-3);
        assert!(lp.inequality_multipliers[1].abs() < 1e-3);
        let x = [2.0, 1.0, 2.0];
        let exact = KernelSolution {
            x: &x,
            equality_multipliers: &[],
            inequality_multipliers: &[1.0, 0.0],
            objective: -2.5,
        };
        let cc = cross_check(&problem, &exact, &lp, &CrossCheckSettings::default()).unwrap();
        assert!(cc.agrees, "{cc:?}");
    }
}

/// A random demand-shaping-like instance: `N` customers × `T` periods; per-period supply
/// rows `Σ_i x_it = d_t`; per-customer budget rows `Σ_t x_it ≤ B_i`; bounds
/// `0 ≤ x_it ≤ u_it`; each term a linear-quadratic cost, a quadratic utility or a log
/// utility (utilities as disutilities). Feasible by construction: `d` and `B` are taken
/// from a random point `x⁰` strictly inside the box, `B_i` with a small random slack, so
/// that some budgets bind at the optimum and others do not.
#[derive(Debug, Clone)]
struct Shaping {
    customers: usize,
    periods: usize,
    kind: Vec<u8>,
    p1: Vec<f64>,
    p2: Vec<f64>,
    upper: Vec<f64>,
    start: Vec<f64>,
    budget_slack: Vec<f64>,
}

fn shaping() -> impl Strategy<Value = Shaping> {
    shaping_sized(2..4, 2..4)
}

fn shaping_sized(
    customers: std::ops::Range<usize>,
    periods: std::ops::Range<usize>,
) -> impl Strategy<Value = Shaping> {
    (customers, periods).prop_flat_map(|(c, t)| {
        let n = c * t;
        (
            prop::collection::vec(0u8..3, n),
            prop::collection::vec(0.2..2.0f64, n),
            prop::collection::vec(0.2..2.0f64, n),
            prop::collection::vec(1.0..3.0f64, n),
            prop::collection::vec(0.2..0.8f64, n),
            prop::collection::vec(0.0..0.3f64, c),
        )
            .prop_map(move |(kind, p1, p2, upper, start, budget_slack)| Shaping {
                customers: c,
                periods: t,
                kind,
                p1,
                p2,
                upper,
                start,
                budget_slack,
            })
    })
}

impl Shaping {
    fn problem(&self) -> SeparableProblem {
        let (c, t) = (self.customers, self.periods);
        let n = c * t;
        let idx = |i: usize, s: usize| i * t + s;
        let objective: Vec<Arc<dyn ConvexScalar>> = (0..n)
            .map(|j| -> Arc<dyn ConvexScalar> {
                let (a, b) = (self.p1[j], self.p2[j]);
                match self.kind[j] {
                    0 => Arc::new(LinearQuadraticCost::new(a, b).unwrap()),
                    1 => Arc::new(QuadraticUtility::new(2.0 * a, b).unwrap()),
                    _ => Arc::new(LogUtility::new(a, b).unwrap()),
                }
            })
            .collect();
        let x0: Vec<f64> = (0..n).map(|j| self.start[j] * self.upper[j]).collect();
        let mut equalities = LinearRows::new(n);
        for s in 0..t {
            let row: Vec<(usize, f64)> = (0..c).map(|i| (idx(i, s), 1.0)).collect();
            let d: f64 = (0..c).map(|i| x0[idx(i, s)]).sum();
            equalities.push_row(&row, d).unwrap();
        }
        let mut inequalities = LinearRows::new(n);
        for i in 0..c {
            let row: Vec<(usize, f64)> = (0..t).map(|s| (idx(i, s), 1.0)).collect();
            let used: f64 = (0..t).map(|s| x0[idx(i, s)]).sum();
            inequalities
                .push_row(&row, used * (1.0 + self.budget_slack[i]))
                .unwrap();
        }
        SeparableProblem {
            objective,
            lower: vec![0.0; n],
            upper: self.upper.clone(),
            equalities,
            inequalities,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn agrees_with_interior_point(inst in shaping()) {
        let problem = inst.problem();
        let ipm = ipm_solve(&problem, &IpmSettings::default()).unwrap();
        prop_assert!(ipm.certificate.holds(1e-8), "{:?}", ipm.certificate);
        let lp = solve(&problem, &OuterSettings::default()).unwrap();
        prop_assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
        let s = 1e-9 * lp.upper.abs().max(1.0);
        prop_assert!(lp.contains(ipm.objective, s), "{} not in [{}, {}]", ipm.objective, lp.lower, lp.upper);
        let cc = cross_check(&problem, &(&ipm).into(), &lp, &CrossCheckSettings::default()).unwrap();
        prop_assert!(cc.agrees, "{:?}", cc);
        prop_assert!(cc.located_variables == problem.objective.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    /// With cut pruning (`OuterSettings::prune_cuts`, as `dr verify` runs demand shaping)
    /// the interval is still proven and closed, and contains the interior-point optimum,
    /// on instances large enough for the cut lists to be pruned.
    #[test]
    fn pruned_cuts_still_agree_with_interior_point(inst in shaping_sized(8..12, 2..4)) {
        let problem = inst.problem();
        let ipm = ipm_solve(&problem, &IpmSettings::default()).unwrap();
        prop_assert!(ipm.certificate.holds(1e-8), "{:?}", ipm.certificate);
        let settings = OuterSettings { prune_cuts: true, ..OuterSettings::default() };
        let lp = solve(&problem, &settings).unwrap();
        prop_assert!(lp.certificate.status.is_solved(), "{:?}", lp.certificate);
        let s = 1e-9 * lp.upper.abs().max(1.0);
        prop_assert!(lp.contains(ipm.objective, s), "{} not in [{}, {}]", ipm.objective, lp.lower, lp.upper);
        let cc = cross_check(&problem, &(&ipm).into(), &lp, &CrossCheckSettings::default()).unwrap();
        prop_assert!(cc.agrees, "{:?}", cc);
    }
}
