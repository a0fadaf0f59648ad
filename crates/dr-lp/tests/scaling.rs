//! Units must not matter: the same market in quantities of `s` and costs of `c`, for
//! `s, c` from `1e-12` to `1e12`, gets the same relative interval, the same status and the
//! same verdicts (no absolute tolerance hides a moved price or allocation at small scales,
//! none flags a right answer at large ones); a failed or unconverged LP is inconclusive,
//! never a disagreement.

mod common;

use common::{quadratic_terms, single_coupling};
use dr_convex::ipm::SeparableProblem;
use dr_convex::Status;
use dr_lp::{
    cross_check, solve, CrossCheckSettings, KernelSolution, LpError, OuterSettings, Verdict,
};

/// `C_i(q) = a_i q + h_i q²` with `a = (1, 1.5, 2)`, `h = (0.5, 1, 2)`, `d = 3`, `0 ≤ q ≤ 3`,
/// in units where quantities are `s` and costs `c`: `C'(q') = c C(q'/s)`, i.e.
/// `a' = c a/s`, `h' = c h/s²`, `d' = s d`, `u' = 3 s`.
///
/// By hand (all interior): `p = (d + Σ a/2h)/Σ 1/2h = (3 + 1 + 0.75 + 0.5)/1.75 = 3`,
/// `q = (p − a)/2h = (2, 0.75, 0.25)`, `F* = 4 + 1.6875 + 0.625 = 6.3125`; in the scaled
/// units `q' = s q`, `p' = 3 c/s`, `F'* = 6.3125 c`.
fn market(s: f64, c: f64) -> SeparableProblem {
    let a: Vec<f64> = [1.0, 1.5, 2.0].iter().map(|v| c * v / s).collect();
    let h: Vec<f64> = [0.5, 1.0, 2.0].iter().map(|v| c * v / (s * s)).collect();
    single_coupling(
        quadratic_terms(&a, &h),
        vec![0.0; 3],
        vec![3.0 * s; 3],
        3.0 * s,
    )
}

const Q: [f64; 3] = [2.0, 0.75, 0.25];
const P: f64 = 3.0;
const F: f64 = 6.3125;

fn scales() -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for s in [1e-12, 1e-6, 1.0, 1e6, 1e12] {
        for c in [1e-12, 1.0, 1e12] {
            out.push((s, c));
        }
    }
    out
}

fn check(
    problem: &SeparableProblem,
    lp: &dr_lp::LpSolution,
    x: &[f64],
    price: f64,
    objective: f64,
) -> dr_lp::CrossCheck {
    let y = [price];
    let kernel = KernelSolution {
        x,
        equality_multipliers: &y,
        inequality_multipliers: &[],
        objective,
    };
    cross_check(problem, &kernel, lp, &CrossCheckSettings::default()).unwrap()
}

#[test]
fn the_interval_is_equally_tight_in_any_units() {
    for (s, c) in scales() {
        let problem = market(s, c);
        let lp = solve(&problem, &OuterSettings::default()).unwrap();
        assert_eq!(lp.certificate.status, Status::Solved, "s = {s}, c = {c}");
        let f = F * c;
        // The hand optimum lies in the proven interval, which is short relative to it.
        assert!(
            lp.lower <= f * (1.0 + 1e-12) && f <= lp.upper * (1.0 + 1e-12),
            "s = {s}, c = {c}: [{}, {}] ∌ {f}",
            lp.lower,
            lp.upper
        );
        assert!(
            lp.bound() <= 1e-8 * f,
            "s = {s}, c = {c}: bound {}",
            lp.bound()
        );
        // The LP point and price, in units of the data.
        for (x, q) in lp.x.iter().zip(Q) {
            assert!(
                (x / s - q).abs() <= 1e-3,
                "s = {s}, c = {c}: x = {:?}",
                lp.x
            );
        }
        let p = lp.equality_multipliers[0] * s / c;
        assert!((p - P).abs() <= 1e-3 * P, "s = {s}, c = {c}: p = {p}");
        // σ_x = max(|d|, |u_j|) = 3 s.
        assert!((lp.scaling.quantity - 3.0 * s).abs() <= 1e-15 * 3.0 * s);
    }
}

#[test]
fn verdicts_do_not_depend_on_the_units() {
    for (s, c) in scales() {
        let problem = market(s, c);
        let lp = solve(&problem, &OuterSettings::default()).unwrap();
        let x: Vec<f64> = Q.iter().map(|q| q * s).collect();
        let p = P * c / s;
        let f = F * c;
        // The exact answer agrees.
        let cc = check(&problem, &lp, &x, p, f);
        assert_eq!(
            cc.verdict,
            Verdict::Agrees,
            "s = {s}, c = {c}: {}",
            cc.reason
        );
        // A price moved by 1e-3 (relative) is caught at every scale.
        let cc = check(&problem, &lp, &x, p * 1.001, f);
        assert_eq!(cc.verdict, Verdict::Disagrees, "s = {s}, c = {c}");
        // So is 1e-2 of the deficit moved between two customers (still feasible).
        let mut moved = x.clone();
        moved[0] += 0.03 * s;
        moved[1] -= 0.03 * s;
        let fm: f64 = moved
            .iter()
            .zip(&problem.objective)
            .map(|(&v, t)| t.value(v))
            .sum();
        let cc = check(&problem, &lp, &moved, p, fm);
        assert_eq!(cc.verdict, Verdict::Disagrees, "s = {s}, c = {c}");
        assert!(cc.allocation_ratio > 1.0, "s = {s}, c = {c}: {cc:?}");
        // And an answer off the coupling row by 1e-4 of the deficit (rule 2).
        let mut short = x.clone();
        short[0] -= 3e-4 * s;
        let cc = check(&problem, &lp, &short, p, f);
        assert_eq!(cc.verdict, Verdict::Disagrees, "s = {s}, c = {c}");
        assert!(cc.kernel_infeasibility > 1e-5, "s = {s}, c = {c}: {cc:?}");
    }
}

#[test]
fn an_unconverged_lp_is_inconclusive_not_a_disagreement() {
    for (s, c) in [(1e-12, 1.0), (1.0, 1.0), (1e12, 1e-12)] {
        let problem = market(s, c);
        // A run that stopped early: its interval is proven but wide (any number below a
        // lower bound is one too), 10 % of the objective here.
        let mut lp = solve(&problem, &OuterSettings::default()).unwrap();
        lp.lower -= 0.1 * lp.upper.abs();
        lp.certificate.status = Status::MaxIterations;
        let x: Vec<f64> = Q.iter().map(|q| q * s).collect();
        let cc = check(&problem, &lp, &x, P * c / s, F * c);
        assert_eq!(cc.verdict, Verdict::Inconclusive, "{cc:?}");
        assert!(!cc.agrees);
        assert!(cc.reason.contains("too wide"), "{}", cc.reason);
        // The same interval labelled Solved is still inconclusive: rule 1 measures the
        // interval, not the label.
        lp.certificate.status = Status::Solved;
        let cc = check(&problem, &lp, &x, P * c / s, F * c);
        assert_eq!(cc.verdict, Verdict::Inconclusive, "{cc:?}");
        assert!(cc.reason.contains("relative width"), "{}", cc.reason);
        lp.certificate.status = Status::MaxIterations;
        // An answer that violates the coupling row is still a proven disagreement: rule 2
        // does not depend on the LP.
        let mut short = x.clone();
        short[0] -= 0.03 * s;
        let cc = check(&problem, &lp, &short, P * c / s, F * c);
        assert_eq!(cc.verdict, Verdict::Disagrees, "{cc:?}");
    }
}

#[test]
fn back_end_failures_are_told_apart_from_bad_input() {
    // Infeasible rows: Σ q = 20 with q ≤ 3 each.
    let problem = single_coupling(
        quadratic_terms(&[1.0, 1.0], &[1.0, 1.0]),
        vec![0.0; 2],
        vec![3.0; 2],
        20.0,
    );
    let e = solve(&problem, &OuterSettings::default()).unwrap_err();
    assert!(matches!(e, LpError::Infeasible { .. }), "{e}");
    assert!(e.is_back_end_failure());
    // A NaN bound is bad input.
    let mut problem = market(1.0, 1.0);
    problem.upper[1] = f64::NAN;
    let e = solve(&problem, &OuterSettings::default()).unwrap_err();
    assert!(!e.is_back_end_failure(), "{e}");
    assert!(e.to_string().contains("upper[1]"), "{e}");
}

#[test]
fn a_tiny_deficit_next_to_a_domain_end_is_not_rejected() {
    // The Nash transform's domain ends at d/2; for d = 1e-12 the old fixed margin of 1e-6
    // crossed the box ("lower 0 > upper 5e-13"). Here a term with domain (−∞, d/2) and
    // bounds [0, d/2].
    use dr_convex::{LinearQuadraticCost, NashTransform};
    use std::sync::Arc;
    let d = 1e-12;
    let objective: Vec<Arc<dyn dr_convex::ConvexScalar>> = (0..3)
        .map(|i| {
            let c = LinearQuadraticCost::new(1.0 + 0.5 * i as f64, 0.5).unwrap();
            Arc::new(NashTransform::new(c, d).unwrap()) as Arc<dyn dr_convex::ConvexScalar>
        })
        .collect();
    let problem = single_coupling(objective, vec![0.0; 3], vec![0.5 * d; 3], d);
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    let total: f64 = lp.x.iter().sum();
    assert!((total - d).abs() <= 1e-9 * d, "Σ x = {total}");
    assert!(lp
        .working_upper
        .iter()
        .all(|&u| u < 0.5 * d && u > 0.49 * d));
}

#[test]
fn an_optimum_far_below_the_cost_scale_still_gets_a_relative_interval() {
    // a = (1e-8, 1), h = (1e8, 1e-8), d = 1: the a-priori cost scale is h_0 = 1e8, the
    // optimum about 1. By hand: p = (1 + 5e-17 + 5e7)/(5e-9 + 5e7) = 1.00000002,
    // q = (5.00000005e-9, 0.999999995), F* = 1.0000000075.
    let problem = single_coupling(
        quadratic_terms(&[1e-8, 1.0], &[1e8, 1e-8]),
        vec![0.0; 2],
        vec![f64::INFINITY; 2],
        1.0,
    );
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    assert_eq!(lp.certificate.status, Status::Solved);
    let f = 1.0000000075;
    assert!(
        lp.lower <= f * (1.0 + 1e-12) && f <= lp.upper * (1.0 + 1e-12),
        "{lp:?}"
    );
    assert!(lp.bound() <= 1e-8 * f, "bound {}", lp.bound());
    // The price and the loads as accurate, relatively, as at a cost scale of 1: in units of
    // the optimum (`lp.scaling.cost < 10`) or, where the single row's price came from the
    // dual ascent on `f` itself (bisection to rounding, whatever the units), in the
    // a-priori units.
    assert!(
        lp.scaling.cost < 10.0 || lp.prices == dr_lp::PriceSource::DualAscent,
        "{:?} {:?}",
        lp.scaling,
        lp.prices
    );
    let p = (1.0 + 5e-17 + 5e7) / (5e-9 + 5e7);
    let price = lp.equality_multipliers[0];
    assert!((price - p).abs() <= 1e-12 * p, "price {price} vs {p}");
    // q_0 = (p − a_0)/(2 h_0); q_1 = 1 − q_0 (not (p − 1)/(2e-8): p − 1 cancels).
    let q0 = (p - 1e-8) / 2e8;
    let q = [q0, 1.0 - q0];
    for (x, q) in lp.x.iter().zip(q) {
        assert!((x - q).abs() <= 1e-9 * q, "load {x} vs {q}");
    }
}

/// The four-customer market of `tests/adversarial/verify/bidding_wide_costs_1e12_*`:
/// `a = (1e-8, 1, 1e8, 1e4)`, `h = (1e-8, 1, 1e8, 1e-4)`, `d = 1e12`. The a-priori cost
/// scale (4e22 competitive, 8e30 Nash) is a million times the optimum and more.
const WIDE_A: [f64; 4] = [1e-8, 1.0, 1e8, 1e4];
const WIDE_H: [f64; 4] = [1e-8, 1.0, 1e8, 1e-4];
const WIDE_D: f64 = 1e12;

fn assert_tight(lp: &dr_lp::LpSolution, f: f64) {
    assert_eq!(lp.certificate.status, Status::Solved, "{lp:?}");
    assert!(lp.relative_width() <= 1e-9, "{}", lp.relative_width());
    assert!(lp.bound() <= 1e-9 * f, "[{}, {}]", lp.lower, lp.upper);
    assert!(
        lp.lower <= f * (1.0 + 1e-13) && f <= lp.upper * (1.0 + 1e-13),
        "F* = {f} outside [{}, {}]",
        lp.lower,
        lp.upper
    );
}

#[test]
fn costs_spanning_sixteen_decades_get_an_interval_tight_relative_to_the_optimum() {
    // Competitive, by hand on the active set {1, 2, 4}: p = (d + Σ a/2h)/Σ 1/2h =
    // 19998.99990004, F* = Σ a q + h q² = 9999749925027498 (python3 fractions).
    let problem = single_coupling(
        quadratic_terms(&WIDE_A, &WIDE_H),
        vec![0.0; 4],
        vec![f64::INFINITY; 4],
        WIDE_D,
    );
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    assert_tight(&lp, 9999749925027498.0);
    assert!((lp.equality_multipliers[0] - 19998.99990004).abs() <= 1e-6 * 19998.99990004);
}

#[test]
fn the_nash_objective_next_to_its_barrier_gets_a_tight_interval() {
    // Nash (li-chen-dahleh-2015 Thm 3): min Σ D_i, Σ q = d, 0 ≤ q ≤ d/2. By 600 bisections
    // on Σ q_i(p) = d in 60-digit mpmath: p* = 7084158515.1718354, q*_1 = d/2 − 352900
    // (inside the LP's 1e-6 domain margin), F* = 1.2387528398696591e20.
    use dr_convex::{ConvexScalar, LinearQuadraticCost, NashTransform};
    use std::sync::Arc;
    let objective: Vec<Arc<dyn ConvexScalar>> = WIDE_A
        .iter()
        .zip(&WIDE_H)
        .map(|(&a, &h)| {
            Arc::new(NashTransform::new(LinearQuadraticCost::new(a, h).unwrap(), WIDE_D).unwrap())
                as Arc<dyn ConvexScalar>
        })
        .collect();
    let problem = single_coupling(objective, vec![0.0; 4], vec![0.5 * WIDE_D; 4], WIDE_D);
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    assert_tight(&lp, 1.238_752_839_869_659e20);
    let p = 7_084_158_515.171_835;
    assert!((lp.equality_multipliers[0] - p).abs() <= 1e-6 * p);
}

#[test]
fn the_simplex_back_end_gets_the_same_tight_interval_on_sixteen_decades() {
    // As above, with microlp (prices from the cut slopes, no LP duals to start from).
    let problem = single_coupling(
        quadratic_terms(&WIDE_A, &WIDE_H),
        vec![0.0; 4],
        vec![f64::INFINITY; 4],
        WIDE_D,
    );
    let settings = OuterSettings {
        backend: dr_lp::Backend::Microlp,
        ..OuterSettings::default()
    };
    let lp = solve(&problem, &settings).unwrap();
    assert_tight(&lp, 9999749925027498.0);
}
