//! The cross-check catches wrong kernel answers (a moved price, a moved allocation, a
//! misreported objective, a wrong-signed or misplaced inequality multiplier) and accepts
//! the right one, including after perturbations far below its proven tolerances.

mod common;

use common::{quadratic_terms, single_coupling};
use dr_convex::ipm::{solve as ipm_solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{allocate, AllocatorSettings, Bound, QuadraticFamily};
use dr_lp::{
    cross_check, solve, CrossCheck, CrossCheckSettings, KernelSolution, LpSolution, OuterSettings,
};

struct Market {
    problem: SeparableProblem,
    x: Vec<f64>,
    price: f64,
    objective: f64,
    lp: LpSolution,
}

/// Five customers, `C_i = a_i q + h_i q²`, caps 3, deficit 6: every customer is free at
/// the optimum (checked below), so every one witnesses the price.
fn market() -> Market {
    let a = [0.5, 1.0, 1.5, 0.8, 1.2];
    let h = [1.0, 0.7, 0.5, 1.5, 0.9];
    let u = [3.0; 5];
    let fam = QuadraticFamily::new(&a, &h).unwrap();
    let k = allocate(
        &fam,
        Bound::Constant(0.0),
        Bound::PerItem(&u),
        6.0,
        &AllocatorSettings::default(),
    )
    .unwrap();
    assert!(k.x.iter().all(|&x| x > 0.1 && x < 2.9), "{:?}", k.x);
    let problem = single_coupling(quadratic_terms(&a, &h), vec![0.0; 5], u.to_vec(), 6.0);
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    Market {
        problem,
        x: k.x,
        price: k.multiplier,
        objective: k.objective,
        lp,
    }
}

fn check(m: &Market, x: &[f64], price: f64, objective: f64) -> CrossCheck {
    let kernel = KernelSolution {
        x,
        equality_multipliers: &[price],
        inequality_multipliers: &[],
        objective,
    };
    cross_check(&m.problem, &kernel, &m.lp, &CrossCheckSettings::default()).unwrap()
}

fn objective_at(m: &Market, x: &[f64]) -> f64 {
    x.iter()
        .zip(&m.problem.objective)
        .map(|(&v, f)| f.value(v))
        .sum()
}

#[test]
fn exact_answer_agrees() {
    let m = market();
    let cc = check(&m, &m.x, m.price, m.objective);
    assert!(cc.agrees, "{cc:?}");
    assert_eq!(cc.rows_with_witness, 1);
    assert_eq!(cc.located_variables, 5);
    // Tiny perturbations (far below the proven tolerances) are not flagged.
    let mut x = m.x.clone();
    x[0] += 1e-9;
    x[1] -= 1e-9;
    let cc = check(&m, &x, m.price + 1e-9, objective_at(&m, &x));
    assert!(cc.agrees, "{cc:?}");
}

#[test]
fn moved_price_is_caught() {
    let m = market();
    for dp in [1e-2, -1e-2, 1e-3] {
        let cc = check(&m, &m.x, m.price + dp, m.objective);
        assert!(!cc.agrees, "price moved by {dp}: {cc:?}");
        assert_eq!(cc.verdict, dr_lp::Verdict::Disagrees);
        // Caught by rule 5 (the marginal price leaves its proven interval); by rule 6 too
        // once the move exceeds the row-price tolerance (about 1e-3 here: the interval
        // tolerance is relative to the cost scale σ_f = 58.8 of this market).
        assert!(cc.marginal_price_violation > 1.0, "{cc:?}");
        if dp.abs() >= 1e-2 {
            assert!(cc.price_ratio > 1.0, "{cc:?}");
        }
        assert!((cc.max_price_gap - dp.abs()).abs() < 1e-3);
    }
}

#[test]
fn moved_allocation_is_caught() {
    let m = market();
    // Shift load between two customers: still feasible, objective recomputed honestly.
    let mut x = m.x.clone();
    x[0] += 1e-2;
    x[1] -= 1e-2;
    let f = objective_at(&m, &x);
    let cc = check(&m, &x, m.price, f);
    assert!(!cc.agrees, "{cc:?}");
    assert!(cc.allocation_ratio > 1.0, "{cc:?}");
    // Its objective exceeds the proven upper bound.
    assert!(f > m.lp.upper, "{f} vs {}", m.lp.upper);
}

#[test]
fn infeasible_allocation_is_caught() {
    let m = market();
    let mut x = m.x.clone();
    x[2] -= 1e-3; // Σ x = d − 10⁻³: cheaper, but infeasible.
    let f = objective_at(&m, &x);
    let cc = check(&m, &x, m.price, f);
    assert!(!cc.agrees);
    assert!(cc.kernel_infeasibility > 1e-4, "{cc:?}");
}

#[test]
fn misreported_objective_is_caught() {
    let m = market();
    for df in [1e-3, -1e-3] {
        let cc = check(&m, &m.x, m.price, m.objective + df);
        assert!(!cc.agrees, "objective moved by {df}: {cc:?}");
    }
}

/// Customer 1's budget binds with multiplier z = 1 (hand-derived in `multi_row.rs`).
fn budget_problem() -> SeparableProblem {
    let objective = quadratic_terms(&[0.0; 4], &[0.5; 4]);
    let mut equalities = LinearRows::new(4);
    equalities.push_row(&[(0, 1.0), (2, 1.0)], 2.0).unwrap();
    equalities.push_row(&[(1, 1.0), (3, 1.0)], 4.0).unwrap();
    let mut inequalities = LinearRows::new(4);
    inequalities.push_row(&[(0, 1.0), (1, 1.0)], 2.0).unwrap();
    // A second budget, for customer 2, that is slack: x_20 + x_21 = 4 < 6.
    inequalities.push_row(&[(2, 1.0), (3, 1.0)], 6.0).unwrap();
    SeparableProblem {
        objective,
        lower: vec![0.0; 4],
        upper: vec![f64::INFINITY; 4],
        equalities,
        inequalities,
    }
}

#[test]
fn wrong_inequality_multipliers_are_caught() {
    let problem = budget_problem();
    let ipm = ipm_solve(&problem, &IpmSettings::default()).unwrap();
    assert!(ipm.certificate.holds(1e-8));
    assert!((ipm.inequality_multipliers[0] - 1.0).abs() < 1e-6);
    let lp = solve(&problem, &OuterSettings::default()).unwrap();
    let settings = CrossCheckSettings::default();
    let ok = cross_check(&problem, &(&ipm).into(), &lp, &settings).unwrap();
    assert!(ok.agrees, "{ok:?}");
    let cases: [(usize, f64); 3] = [
        (0, 1.0 + 1e-2), // moved binding multiplier
        (0, -1.0),       // wrong sign
        (1, 0.5),        // positive multiplier on a provably slack row
    ];
    for (i, z) in cases {
        let mut zs = ipm.inequality_multipliers.clone();
        zs[i] = z;
        let kernel = KernelSolution {
            x: &ipm.x,
            equality_multipliers: &ipm.equality_multipliers,
            inequality_multipliers: &zs,
            objective: ipm.objective,
        };
        let cc = cross_check(&problem, &kernel, &lp, &settings).unwrap();
        assert!(!cc.agrees, "z[{i}] = {z}: {cc:?}");
        assert!(cc.marginal_price_violation > 1e-7, "{cc:?}");
    }
}

#[test]
fn cross_check_serializes() {
    let m = market();
    let cc = check(&m, &m.x, m.price, m.objective);
    let json = serde_json::to_value(&cc).unwrap();
    for key in [
        "max_allocation_gap",
        "max_price_gap",
        "objective_gap",
        "bound",
        "agrees",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
    assert_eq!(json["agrees"], serde_json::Value::Bool(true));
}

/// A cross-check reads back from its JSON; a number that is not finite is never `null`:
/// NaN (not measured) is an omitted key that reads back as NaN, `±∞` a string that reads
/// back as `±∞` (`dr_lp::number`).
#[test]
fn cross_check_round_trips_through_json_with_non_finite_numbers() {
    let m = market();
    let cc = check(&m, &m.x, m.price, m.objective);
    let text = serde_json::to_string(&cc).unwrap();
    let back: dr_lp::CrossCheck = serde_json::from_str(&text).unwrap();
    assert_eq!(back, cc);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);

    let mut odd = cc.clone();
    odd.allocation_ratio = f64::INFINITY;
    odd.lower = f64::NEG_INFINITY;
    odd.price_ratio = f64::NAN;
    let text = serde_json::to_string(&odd).unwrap();
    assert!(!text.contains("null"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["allocation_ratio"], "inf (not finite)");
    assert_eq!(json["lower"], "-inf (not finite)");
    assert!(json.get("price_ratio").is_none(), "{json}");
    let back: dr_lp::CrossCheck = serde_json::from_str(&text).unwrap();
    assert_eq!(back.allocation_ratio, f64::INFINITY);
    assert_eq!(back.lower, f64::NEG_INFINITY);
    assert!(back.price_ratio.is_nan());
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    // `null` is not a number: an error naming what it expected.
    let nulled = text.replace("\"inf (not finite)\"", "null");
    let e = serde_json::from_str::<dr_lp::CrossCheck>(&nulled).unwrap_err();
    assert!(e.to_string().contains("a number"), "{e}");
}
