//! Properties of the primal–dual interior-point solver (dr-convex `ipm::solve`).
//!
//! - KKT residuals recomputed here from the returned `x` and multipliers are ≤ 1e-8 on
//!   random feasible instances (quadratic, linear, log, Nash-transformed terms; equality
//!   and inequality rows; finite and infinite bounds; also several stacked together);
//! - agreement with the exact single-coupling allocator (`x` and price to ~1e-7), also
//!   with variables and costs scaled by 10^±3;
//! - agreement with an independent active-set brute force on tiny QPs (n ≤ 3);
//! - closed forms: box-constrained quadratics, log-utility water-filling (iterates must stay
//!   in the open domain), a free peak variable with zero curvature (water level);
//! - infeasible problems give `Status::Infeasible`, unbounded ones `Status::Unbounded`;
//! - bad input is an error naming the field.

#![allow(clippy::needless_range_loop)]

use dr_convex::ipm::{solve, IpmSettings, IpmSolution, LinearRows, SeparableProblem};
use dr_convex::{
    allocate, AllocatorSettings, Bound, ConvexError, ConvexScalar, HalfQuadraticCost, Linear,
    LinearQuadraticCost, LogUtility, NashTransform, QuadraticFamily, QuadraticUtility, Status,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

type Obj = Vec<Arc<dyn ConvexScalar>>;

fn problem(
    objective: Obj,
    lower: Vec<f64>,
    upper: Vec<f64>,
    eq: LinearRows,
    ineq: LinearRows,
) -> SeparableProblem {
    SeparableProblem {
        objective,
        lower,
        upper,
        equalities: eq,
        inequalities: ineq,
    }
}

/// KKT residuals recomputed from scratch: (primal, stationarity, complementarity,
/// sign violation of the multipliers), each scaled as documented in the test.
fn kkt(p: &SeparableProblem, s: &IpmSolution) -> (f64, f64, f64, f64) {
    let n = p.objective.len();
    let x = &s.x;
    let ax = p.equalities.apply(x);
    let gx = p.inequalities.apply(x);
    let mut primal = 0.0_f64;
    for (&v, &b) in ax.iter().zip(p.equalities.rhs()) {
        primal = primal.max((v - b).abs() / b.abs().max(1.0));
    }
    for (&v, &h) in gx.iter().zip(p.inequalities.rhs()) {
        primal = primal.max((v - h).max(0.0) / h.abs().max(1.0));
    }
    for j in 0..n {
        primal = primal
            .max((p.lower[j] - x[j]).max(0.0))
            .max((x[j] - p.upper[j]).max(0.0));
    }
    // f'(x) − Aᵀy + Gᵀz − ν_l + ν_u
    let mut grad: Vec<f64> = (0..n).map(|j| p.objective[j].derivative(x[j])).collect();
    let neg_y: Vec<f64> = s.equality_multipliers.iter().map(|v| -v).collect();
    p.equalities.apply_transpose_add(&neg_y, &mut grad);
    p.inequalities
        .apply_transpose_add(&s.inequality_multipliers, &mut grad);
    let mut scale = 1.0_f64;
    for v in s
        .equality_multipliers
        .iter()
        .chain(&s.inequality_multipliers)
        .chain(&s.lower_bound_multipliers)
        .chain(&s.upper_bound_multipliers)
    {
        scale = scale.max(v.abs());
    }
    let mut stat = 0.0_f64;
    for j in 0..n {
        let r = grad[j] - s.lower_bound_multipliers[j] + s.upper_bound_multipliers[j];
        stat = stat.max(r.abs() / scale);
    }
    let obj_scale = s.objective.abs().max(1.0);
    let mut comp = 0.0_f64;
    let mut sign = 0.0_f64;
    for (i, &z) in s.inequality_multipliers.iter().enumerate() {
        comp = comp.max((z * (p.inequalities.rhs()[i] - gx[i])).abs() / obj_scale);
        sign = sign.max(-z);
    }
    for j in 0..n {
        let (nl, nu) = (s.lower_bound_multipliers[j], s.upper_bound_multipliers[j]);
        sign = sign.max(-nl).max(-nu);
        if p.lower[j].is_finite() {
            comp = comp.max((nl * (x[j] - p.lower[j])).abs() / obj_scale);
        } else {
            sign = sign.max(nl.abs());
        }
        if p.upper[j].is_finite() {
            comp = comp.max((nu * (p.upper[j] - x[j])).abs() / obj_scale);
        } else {
            sign = sign.max(nu.abs());
        }
    }
    (primal, stat, comp, sign)
}

fn assert_kkt(p: &SeparableProblem, s: &IpmSolution, tol: f64) {
    assert_eq!(
        s.certificate.status,
        Status::Solved,
        "certificate {:?}",
        s.certificate
    );
    let (primal, stat, comp, sign) = kkt(p, s);
    assert!(primal <= tol, "primal {primal:e}");
    assert!(stat <= tol, "stationarity {stat:e}");
    assert!(comp <= tol, "complementarity {comp:e}");
    assert!(sign <= 0.0, "multiplier sign {sign:e}");
    assert!(s.certificate.holds(tol), "certificate {:?}", s.certificate);
}

/// A random feasible instance with a strictly interior point.
fn random_instance(seed: u64) -> SeparableProblem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.gen_range(1..=8);
    let mut objective: Obj = Vec::new();
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    let mut interior = Vec::new();
    for _ in 0..n {
        let kind = rng.gen_range(0..6);
        let (l, u, xf): (f64, f64, f64) = match kind {
            0 => {
                objective.push(Arc::new(
                    QuadraticUtility::new(rng.gen_range(-2.0..2.0), rng.gen_range(0.1..3.0))
                        .unwrap(),
                ));
                match rng.gen_range(0..3) {
                    0 => (f64::NEG_INFINITY, f64::INFINITY, rng.gen_range(-1.0..1.0)),
                    1 => (0.0, f64::INFINITY, rng.gen_range(0.1..1.0)),
                    _ => (-1.0, 1.0, rng.gen_range(-0.9..0.9)),
                }
            }
            1 => {
                objective.push(Arc::new(
                    LinearQuadraticCost::new(rng.gen_range(0.0..2.0), rng.gen_range(0.1..2.0))
                        .unwrap(),
                ));
                (0.0, rng.gen_range(0.5..3.0), 0.3)
            }
            2 => {
                // Linear term: both bounds finite.
                objective.push(Arc::new(Linear {
                    slope: rng.gen_range(-1.0..1.0),
                }));
                (-1.0, rng.gen_range(0.5..2.0), 0.2)
            }
            3 => {
                let shift = rng.gen_range(0.1..1.0);
                objective.push(Arc::new(
                    LogUtility::new(rng.gen_range(0.5..2.0), shift).unwrap(),
                ));
                // Lower end only through the open domain x > −shift.
                (f64::NEG_INFINITY, rng.gen_range(0.5..3.0), 0.0)
            }
            4 => {
                objective.push(Arc::new(
                    HalfQuadraticCost::new(rng.gen_range(0.1..2.0)).unwrap(),
                ));
                (rng.gen_range(-1.0..0.0), f64::INFINITY, 0.1)
            }
            _ => {
                let cost =
                    LinearQuadraticCost::new(rng.gen_range(0.0..1.0), rng.gen_range(0.2..1.0))
                        .unwrap();
                objective.push(Arc::new(NashTransform::new(cost, 4.0).unwrap()));
                (0.0, f64::INFINITY, 0.5)
            }
        };
        lower.push(l);
        upper.push(u);
        interior.push(xf);
    }
    let me = rng.gen_range(0..=2.min(n - 1));
    let mi = rng.gen_range(0..=3);
    let mut eq = LinearRows::new(n);
    let mut ineq = LinearRows::new(n);
    for _ in 0..me {
        let mut row = Vec::new();
        for j in 0..n {
            if rng.gen_bool(0.7) {
                row.push((j, rng.gen_range(-2.0..2.0)));
            }
        }
        let rhs: f64 = row.iter().map(|&(j, a)| a * interior[j]).sum();
        eq.push_row(&row, rhs).unwrap();
    }
    for _ in 0..mi {
        let mut row = Vec::new();
        for j in 0..n {
            if rng.gen_bool(0.6) {
                row.push((j, rng.gen_range(-2.0..2.0)));
            }
        }
        let rhs: f64 =
            row.iter().map(|&(j, a)| a * interior[j]).sum::<f64>() + rng.gen_range(0.0..1.0);
        ineq.push_row(&row, rhs).unwrap();
    }
    problem(objective, lower, upper, eq, ineq)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_instances_satisfy_kkt(seed in any::<u64>()) {
        let p = random_instance(seed);
        let s = solve(&p, &IpmSettings::default()).unwrap();
        assert_kkt(&p, &s, 1e-8);
        // Iterates stay inside the open domains.
        for (j, f) in p.objective.iter().enumerate() {
            let (lo, hi) = f.domain();
            prop_assert!(s.x[j] > lo && s.x[j] < hi);
        }
    }

    #[test]
    fn single_coupling_matches_allocator(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(1..=8);
        let a: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..2.0)).collect();
        let h: Vec<f64> = (0..n).map(|_| rng.gen_range(0.1..2.0)).collect();
        let l: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..1.0)).collect();
        let u: Vec<f64> = (0..n)
            .map(|i| if rng.gen_bool(0.3) { f64::INFINITY } else { l[i] + rng.gen_range(0.5..3.0) })
            .collect();
        let sl: f64 = l.iter().sum();
        let su: f64 = u.iter().sum();
        let d = if su.is_finite() { sl + rng.gen_range(0.05..0.95) * (su - sl) } else { sl + rng.gen_range(0.1..5.0) };
        let family = QuadraticFamily::new(&a, &h).unwrap();
        let exact = allocate(&family, Bound::PerItem(&l), Bound::PerItem(&u), d, &AllocatorSettings::default()).unwrap();
        let objective: Obj = (0..n)
            .map(|i| Arc::new(LinearQuadraticCost::new(a[i], h[i]).unwrap()) as Arc<dyn ConvexScalar>)
            .collect();
        let mut eq = LinearRows::new(n);
        eq.push_row(&(0..n).map(|i| (i, 1.0)).collect::<Vec<_>>(), d).unwrap();
        let p = problem(objective, l.clone(), u.clone(), eq, LinearRows::new(n));
        let s = solve(&p, &IpmSettings::default()).unwrap();
        assert_kkt(&p, &s, 1e-8);
        for i in 0..n {
            prop_assert!((s.x[i] - exact.x[i]).abs() <= 1e-7 * exact.x[i].abs().max(1.0), "x[{}] {} vs {}", i, s.x[i], exact.x[i]);
        }
        prop_assert!((s.equality_multipliers[0] - exact.multiplier).abs() <= 1e-7 * exact.multiplier.abs().max(1.0));
        prop_assert!((s.objective - exact.objective).abs() <= 1e-8 * exact.objective.abs().max(1.0));
    }

    #[test]
    fn tiny_qp_matches_active_set_brute_force(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(1..=3);
        let theta: Vec<f64> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let kappa: Vec<f64> = (0..n).map(|_| rng.gen_range(0.2..2.0)).collect();
        let l: Vec<f64> = (0..n).map(|_| if rng.gen_bool(0.8) { rng.gen_range(-1.0..0.0) } else { f64::NEG_INFINITY }).collect();
        let u: Vec<f64> = (0..n).map(|_| if rng.gen_bool(0.8) { rng.gen_range(0.2..1.5) } else { f64::INFINITY }).collect();
        let xf: Vec<f64> = (0..n).map(|j| if l[j].is_finite() && u[j].is_finite() { 0.5 * (l[j] + u[j]) } else { 0.0 }).collect();
        let mut eq = LinearRows::new(n);
        let mut ineq = LinearRows::new(n);
        let mut eq_rows = Vec::new();
        let mut ineq_rows = Vec::new();
        if n >= 2 && rng.gen_bool(0.5) {
            let row: Vec<f64> = (0..n).map(|_| rng.gen_range(0.5..1.5)).collect();
            let rhs: f64 = row.iter().zip(&xf).map(|(a, x)| a * x).sum();
            eq.push_row(&row.iter().enumerate().map(|(j, &a)| (j, a)).collect::<Vec<_>>(), rhs).unwrap();
            eq_rows.push((row, rhs));
        }
        for _ in 0..rng.gen_range(0..=2) {
            let row: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.5..1.5)).collect();
            let rhs: f64 = row.iter().zip(&xf).map(|(a, x)| a * x).sum::<f64>() + rng.gen_range(0.05..0.5);
            ineq.push_row(&row.iter().enumerate().map(|(j, &a)| (j, a)).collect::<Vec<_>>(), rhs).unwrap();
            ineq_rows.push((row, rhs));
        }
        let objective: Obj = (0..n)
            .map(|j| Arc::new(QuadraticUtility::new(theta[j], kappa[j]).unwrap()) as Arc<dyn ConvexScalar>)
            .collect();
        let p = problem(objective, l.clone(), u.clone(), eq, ineq);
        let s = solve(&p, &IpmSettings::default()).unwrap();
        assert_kkt(&p, &s, 1e-8);
        // Bounds as inequality rows for the brute force.
        let mut all_ineq = ineq_rows.clone();
        for j in 0..n {
            let mut e = vec![0.0; n];
            if l[j].is_finite() {
                e[j] = -1.0;
                all_ineq.push((e.clone(), -l[j]));
            }
            if u[j].is_finite() {
                e[j] = 1.0;
                all_ineq.push((e, u[j]));
            }
        }
        let x = active_set_brute_force(&theta, &kappa, &eq_rows, &all_ineq);
        for j in 0..n {
            prop_assert!((s.x[j] - x[j]).abs() <= 1e-7, "x[{}] {} vs brute force {}", j, s.x[j], x[j]);
        }
    }
}

/// Solves `B K⁻¹ Bᵀ w = rhs` by Gaussian elimination with partial pivoting; `None` when
/// singular.
fn solve_dense(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let k = b.len();
    for c in 0..k {
        let piv = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, piv);
        b.swap(c, piv);
        for r in c + 1..k {
            let f = a[r][c] / a[c][c];
            for cc in c..k {
                a[r][cc] -= f * a[c][cc];
            }
            b[r] -= f * b[c];
        }
    }
    let mut w = vec![0.0; k];
    for r in (0..k).rev() {
        let mut v = b[r];
        for cc in r + 1..k {
            v -= a[r][cc] * w[cc];
        }
        w[r] = v / a[r][r];
    }
    Some(w)
}

/// `min Σ ½ κ_j x_j² − θ_j x_j` s.t. equality rows and inequality rows, by trying every
/// subset of active inequalities: the KKT point with feasible x and signed multipliers.
fn active_set_brute_force(
    theta: &[f64],
    kappa: &[f64],
    eq: &[(Vec<f64>, f64)],
    ineq: &[(Vec<f64>, f64)],
) -> Vec<f64> {
    let n = theta.len();
    let mut found: Option<Vec<f64>> = None;
    for mask in 0..(1usize << ineq.len()) {
        let mut rows: Vec<&(Vec<f64>, f64)> = eq.iter().collect();
        rows.extend(
            ineq.iter()
                .enumerate()
                .filter(|(k, _)| mask >> k & 1 == 1)
                .map(|(_, r)| r),
        );
        let k = rows.len();
        // κ x − θ = Bᵀ w  ⇒  x = (θ + Bᵀw)/κ;  B x = rhs.
        let mat: Vec<Vec<f64>> = (0..k)
            .map(|r| {
                (0..k)
                    .map(|c| (0..n).map(|j| rows[r].0[j] * rows[c].0[j] / kappa[j]).sum())
                    .collect()
            })
            .collect();
        let rhs: Vec<f64> = (0..k)
            .map(|r| {
                rows[r].1
                    - (0..n)
                        .map(|j| rows[r].0[j] * theta[j] / kappa[j])
                        .sum::<f64>()
            })
            .collect();
        let Some(w) = (if k == 0 {
            Some(vec![])
        } else {
            solve_dense(mat, rhs)
        }) else {
            continue;
        };
        let x: Vec<f64> = (0..n)
            .map(|j| (theta[j] + (0..k).map(|r| rows[r].0[j] * w[r]).sum::<f64>()) / kappa[j])
            .collect();
        let feasible = ineq
            .iter()
            .all(|(a, h)| a.iter().zip(&x).map(|(a, x)| a * x).sum::<f64>() <= h + 1e-9);
        // Active inequality multipliers are −w ≥ 0.
        let signs = w[eq.len()..].iter().all(|&v| v <= 1e-9);
        if feasible && signs {
            found = Some(x);
            break;
        }
    }
    found.expect("a strictly convex feasible QP has a KKT point")
}

#[test]
fn box_constrained_quadratics_are_clamped_targets() {
    // min Σ ½ κ (x − t)² on [l, u]: x = clamp(t, l, u); multipliers from the gradient.
    let t = [-2.0, 0.5, 3.0, 1.0];
    let k = [1.0, 2.0, 0.5, 4.0];
    let l = vec![-1.0, 0.0, 0.0, f64::NEG_INFINITY];
    let u = vec![1.0, 1.0, 2.0, f64::INFINITY];
    let objective: Obj = (0..4)
        .map(|j| {
            Arc::new(QuadraticUtility::new(k[j] * t[j], k[j]).unwrap()) as Arc<dyn ConvexScalar>
        })
        .collect();
    let p = problem(
        objective,
        l.clone(),
        u.clone(),
        LinearRows::new(4),
        LinearRows::new(4),
    );
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert_kkt(&p, &s, 1e-9);
    for j in 0..4 {
        let x = t[j].clamp(l[j], u[j]);
        assert!((s.x[j] - x).abs() < 1e-8, "{j}: {} vs {x}", s.x[j]);
        let grad = k[j] * (x - t[j]);
        assert!((s.lower_bound_multipliers[j] - grad.max(0.0)).abs() < 1e-7);
        assert!((s.upper_bound_multipliers[j] - (-grad).max(0.0)).abs() < 1e-7);
    }
}

#[test]
fn log_utilities_water_filling_stays_in_domain() {
    // max Σ w_j ln(s_j + x_j) s.t. Σ x = B with x free: x_j = w_j/λ − s_j,
    // λ = Σ w / (B + Σ s) (alshehri-liu-chen-basar eq. 10 without the sign constraint).
    let w = [1.0, 2.0, 0.5, 3.0];
    let sh = [0.5, 0.1, 2.0, 1.0];
    let budget = -1.0; // forces some x_j below 0, close to the domain ends −s_j
    let objective: Obj = (0..4)
        .map(|j| Arc::new(LogUtility::new(w[j], sh[j]).unwrap()) as Arc<dyn ConvexScalar>)
        .collect();
    let mut eq = LinearRows::new(4);
    eq.push_row(&[(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0)], budget)
        .unwrap();
    let p = problem(
        objective,
        vec![f64::NEG_INFINITY; 4],
        vec![f64::INFINITY; 4],
        eq,
        LinearRows::new(4),
    );
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert_kkt(&p, &s, 1e-9);
    let lambda = w.iter().sum::<f64>() / (budget + sh.iter().sum::<f64>());
    for j in 0..4 {
        assert!(s.x[j] > -sh[j]);
        assert!((s.x[j] - (w[j] / lambda - sh[j])).abs() < 1e-8);
    }
    // f' = −w/(s+x) = y: the price is −λ.
    assert!((s.equality_multipliers[0] + lambda).abs() < 1e-8);
}

#[test]
fn free_peak_variable_with_zero_curvature() {
    // wei-anastasopoulos-style peak: min p0 w + Σ_t ½ (q_t − θ_t)² s.t. q_t ≤ w, w free.
    // Optimum: water level w with Σ_t max(0, θ_t − w) = p0, q_t = min(θ_t, w).
    let theta = [3.0, 1.0, 2.5, 0.5, 2.0];
    let p0 = 1.2;
    let t = theta.len();
    let mut objective: Obj = theta
        .iter()
        .map(|&th| Arc::new(QuadraticUtility::new(th, 1.0).unwrap()) as Arc<dyn ConvexScalar>)
        .collect();
    objective.push(Arc::new(Linear { slope: p0 }));
    let mut ineq = LinearRows::new(t + 1);
    for k in 0..t {
        ineq.push_row(&[(k, 1.0), (t, -1.0)], 0.0).unwrap();
    }
    let p = problem(
        objective,
        vec![f64::NEG_INFINITY; t + 1],
        vec![f64::INFINITY; t + 1],
        LinearRows::new(t + 1),
        ineq,
    );
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert_kkt(&p, &s, 1e-9);
    let (mut a, mut b) = (-10.0_f64, 10.0_f64);
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if theta.iter().map(|&th| (th - m).max(0.0)).sum::<f64>() > p0 {
            a = m;
        } else {
            b = m;
        }
    }
    let level = 0.5 * (a + b);
    assert!((s.x[t] - level).abs() < 1e-8, "{} vs {level}", s.x[t]);
    for k in 0..t {
        assert!((s.x[k] - theta[k].min(level)).abs() < 1e-8);
        // The peak price of period k is the multiplier of q_k ≤ w.
        assert!((s.inequality_multipliers[k] - (theta[k] - level).max(0.0)).abs() < 1e-7);
    }
}

#[test]
fn fixed_variables_and_dependent_rows() {
    // x0 fixed at 1; rows x0 + x1 + x2 = 3 stated twice (dependent).
    let objective: Obj = (0..3)
        .map(|_| Arc::new(HalfQuadraticCost::new(1.0).unwrap()) as Arc<dyn ConvexScalar>)
        .collect();
    let mut eq = LinearRows::new(3);
    eq.push_row(&[(0, 1.0), (1, 1.0), (2, 1.0)], 3.0).unwrap();
    eq.push_row(&[(0, 2.0), (1, 2.0), (2, 2.0)], 6.0).unwrap();
    let p = problem(
        objective,
        vec![1.0, 0.0, 0.0],
        vec![1.0, 10.0, 10.0],
        eq,
        LinearRows::new(3),
    );
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert_kkt(&p, &s, 1e-8);
    assert_eq!(s.x[0], 1.0);
    assert!((s.x[1] - 1.0).abs() < 1e-8 && (s.x[2] - 1.0).abs() < 1e-8);
    // The price of the (combined) row is x_1 = 1: y_1 + 2 y_2 = 1.
    let price = s.equality_multipliers[0] + 2.0 * s.equality_multipliers[1];
    assert!((price - 1.0).abs() < 1e-7);
}

#[test]
fn infeasible_problems_are_reported() {
    let quad = || -> Obj {
        (0..2)
            .map(|_| Arc::new(HalfQuadraticCost::new(1.0).unwrap()) as Arc<dyn ConvexScalar>)
            .collect()
    };
    // x ≥ 0, x0 + x1 = −1.
    let mut eq = LinearRows::new(2);
    eq.push_row(&[(0, 1.0), (1, 1.0)], -1.0).unwrap();
    let p1 = problem(
        quad(),
        vec![0.0; 2],
        vec![f64::INFINITY; 2],
        eq,
        LinearRows::new(2),
    );
    // x0 ≤ −1 with x0 ≥ 0.
    let mut ineq = LinearRows::new(2);
    ineq.push_row(&[(0, 1.0)], -1.0).unwrap();
    let p2 = problem(
        quad(),
        vec![0.0; 2],
        vec![f64::INFINITY; 2],
        LinearRows::new(2),
        ineq,
    );
    // x0 + x1 = 1 and x0 + x1 = 2, free variables.
    let mut eq = LinearRows::new(2);
    eq.push_row(&[(0, 1.0), (1, 1.0)], 1.0).unwrap();
    eq.push_row(&[(0, 1.0), (1, 1.0)], 2.0).unwrap();
    let p3 = problem(
        quad(),
        vec![f64::NEG_INFINITY; 2],
        vec![f64::INFINITY; 2],
        eq,
        LinearRows::new(2),
    );
    // x0 + x1 ≤ 1, x0 + x1 ≥ 2 as inequalities, x in a box.
    let mut ineq = LinearRows::new(2);
    ineq.push_row(&[(0, 1.0), (1, 1.0)], 1.0).unwrap();
    ineq.push_row(&[(0, -1.0), (1, -1.0)], -2.0).unwrap();
    let p4 = problem(
        quad(),
        vec![-5.0; 2],
        vec![5.0; 2],
        LinearRows::new(2),
        ineq,
    );
    for (k, p) in [p1, p2, p3, p4].iter().enumerate() {
        let s = solve(p, &IpmSettings::default()).unwrap();
        assert_eq!(
            s.certificate.status,
            Status::Infeasible,
            "problem {k}: {:?}",
            s.certificate
        );
    }
}

#[test]
fn unbounded_problem_is_reported() {
    // min −x0 + ½ x1², x0 ≥ 0 free above.
    let objective: Obj = vec![
        Arc::new(Linear { slope: -1.0 }),
        Arc::new(HalfQuadraticCost::new(1.0).unwrap()),
    ];
    let p = problem(
        objective,
        vec![0.0, f64::NEG_INFINITY],
        vec![f64::INFINITY; 2],
        LinearRows::new(2),
        LinearRows::new(2),
    );
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert_eq!(
        s.certificate.status,
        Status::Unbounded,
        "{:?}",
        s.certificate
    );
}

#[test]
fn bad_input_names_the_field() {
    let base = || {
        let objective: Obj = (0..2)
            .map(|_| Arc::new(HalfQuadraticCost::new(1.0).unwrap()) as Arc<dyn ConvexScalar>)
            .collect();
        problem(
            objective,
            vec![0.0; 2],
            vec![1.0; 2],
            LinearRows::new(2),
            LinearRows::new(2),
        )
    };
    let field_of = |e: ConvexError| format!("{e}");
    let mut p = base();
    p.lower = vec![0.0];
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("lower"));
    let mut p = base();
    p.upper = vec![1.0; 3];
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("upper"));
    let mut p = base();
    p.lower[1] = f64::NAN;
    let e = solve(&p, &IpmSettings::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ConvexError::InvertedBounds { ref field, .. }
                if field.contains("x[1]")
        ),
        "{e}"
    );
    let mut p = base();
    p.lower[0] = 2.0;
    let e = solve(&p, &IpmSettings::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ConvexError::InvertedBounds { ref field, .. }
                if field.contains("x[0]")
        ),
        "{e}"
    );
    let mut p = base();
    p.equalities = LinearRows::new(3);
    p.equalities.push_row(&[(2, 1.0)], 1.0).unwrap();
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("equalities"));
    let mut p = base();
    p.inequalities = LinearRows::new(1);
    p.inequalities.push_row(&[(0, 1.0)], 1.0).unwrap();
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("inequalities"));
    let mut p = base();
    p.objective.clear();
    p.lower.clear();
    p.upper.clear();
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("objective"));
    let p = base();
    let bad = IpmSettings {
        tolerance: f64::NAN,
        ..IpmSettings::default()
    };
    assert!(field_of(solve(&p, &bad).unwrap_err()).contains("tolerance"));
    // Row data is validated when rows are pushed.
    let mut rows = LinearRows::new(2);
    assert!(field_of(rows.push_row(&[(0, f64::INFINITY)], 1.0).unwrap_err()).contains("row 0"));
    assert!(field_of(rows.push_row(&[(0, 1.0)], f64::NAN).unwrap_err()).contains("rhs[0]"));
    assert!(field_of(rows.push_row(&[(5, 1.0)], 1.0).unwrap_err()).contains("column"));
    // The default row set has no columns: pushing to it errors, reading it is empty.
    let mut empty = LinearRows::default();
    assert!(field_of(empty.push_row(&[(0, 1.0)], 0.0).unwrap_err()).contains("column"));
    assert_eq!(empty.row(3), (&[][..], &[][..]));
    // Repeated columns are summed.
    let mut rows = LinearRows::new(3);
    rows.push_row(&[(2, 1.0), (0, 2.0), (2, 0.5)], 1.0).unwrap();
    assert_eq!(rows.row(0), (&[0, 2][..], &[2.0, 1.5][..]));
    // A fixed variable outside the open domain of its term, and bounds missing the domain.
    let objective: Obj = vec![Arc::new(LogUtility::new(1.0, 1.0).unwrap())];
    let p = problem(
        objective.clone(),
        vec![-1.0],
        vec![-1.0],
        LinearRows::new(1),
        LinearRows::new(1),
    );
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("domain"));
    let p = problem(
        objective,
        vec![-3.0],
        vec![-2.0],
        LinearRows::new(1),
        LinearRows::new(1),
    );
    assert!(field_of(solve(&p, &IpmSettings::default()).unwrap_err()).contains("domain"));
}

#[test]
fn empty_row_sets_may_use_default() {
    let objective: Obj = vec![Arc::new(QuadraticUtility::new(1.0, 1.0).unwrap())];
    let p = problem(
        objective,
        vec![0.0],
        vec![0.5],
        LinearRows::default(),
        LinearRows::default(),
    );
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert!((s.x[0] - 0.5).abs() < 1e-8);
    assert!((s.upper_bound_multipliers[0] - 0.5).abs() < 1e-7);
}

#[test]
fn max_iterations_is_a_status() {
    let objective: Obj = vec![Arc::new(QuadraticUtility::new(1.0, 1.0).unwrap())];
    let p = problem(
        objective,
        vec![0.0],
        vec![0.5],
        LinearRows::new(1),
        LinearRows::new(1),
    );
    let s = solve(
        &p,
        &IpmSettings {
            max_iterations: 1,
            ..IpmSettings::default()
        },
    )
    .unwrap();
    assert_eq!(s.certificate.status, Status::MaxIterations);
    assert_eq!(s.certificate.iterations, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Single-coupling instances whose variables are scaled by 10^±3 and whose costs by
    /// 10^±3 independently: the IPM still agrees with the exact allocator.
    #[test]
    fn scaled_single_coupling_matches_allocator(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(1..=8);
        let sx = 10f64.powf(rng.gen_range(-3.0..3.0));
        let sf = 10f64.powf(rng.gen_range(-3.0..3.0));
        let a: Vec<f64> = (0..n).map(|_| sf * rng.gen_range(0.0..2.0)).collect();
        let h: Vec<f64> = (0..n).map(|_| sf / sx * rng.gen_range(0.1..2.0)).collect();
        let l: Vec<f64> = (0..n).map(|_| sx * rng.gen_range(0.0..1.0)).collect();
        let u: Vec<f64> = (0..n)
            .map(|i| if rng.gen_bool(0.3) { f64::INFINITY } else { l[i] + sx * rng.gen_range(0.5..3.0) })
            .collect();
        let sl: f64 = l.iter().sum();
        let su: f64 = u.iter().sum();
        let d = if su.is_finite() { sl + rng.gen_range(0.05..0.95) * (su - sl) } else { sl + sx * rng.gen_range(0.1..5.0) };
        let family = QuadraticFamily::new(&a, &h).unwrap();
        let exact = allocate(&family, Bound::PerItem(&l), Bound::PerItem(&u), d, &AllocatorSettings::default()).unwrap();
        let objective: Obj = (0..n)
            .map(|i| Arc::new(LinearQuadraticCost::new(a[i], h[i]).unwrap()) as Arc<dyn ConvexScalar>)
            .collect();
        let mut eq = LinearRows::new(n);
        eq.push_row(&(0..n).map(|i| (i, 1.0)).collect::<Vec<_>>(), d).unwrap();
        let p = problem(objective, l.clone(), u.clone(), eq, LinearRows::new(n));
        let s = solve(&p, &IpmSettings::default()).unwrap();
        prop_assert!(s.certificate.holds(1e-8), "{:?} sx {} sf {}", s.certificate, sx, sf);
        for i in 0..n {
            prop_assert!((s.x[i] - exact.x[i]).abs() <= 1e-7 * exact.x[i].abs().max(sx), "x[{}] {} vs {}", i, s.x[i], exact.x[i]);
        }
        prop_assert!((s.equality_multipliers[0] - exact.multiplier).abs() <= 1e-7 * exact.multiplier.abs().max(sf));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Several random instances stacked into one problem (up to ~40 variables, 10 rows).
    #[test]
    fn stacked_random_instances_satisfy_kkt(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Stack several random instances' terms into one larger problem.
        let k = rng.gen_range(2..6);
        let parts: Vec<SeparableProblem> = (0..k).map(|_| random_instance(rng.gen())).collect();
        let n: usize = parts.iter().map(|p| p.objective.len()).sum();
        let mut objective: Obj = Vec::new();
        let mut lower = Vec::new();
        let mut upper = Vec::new();
        let mut eq = LinearRows::new(n);
        let mut ineq = LinearRows::new(n);
        let mut off = 0;
        for p in &parts {
            objective.extend(p.objective.iter().cloned());
            lower.extend_from_slice(&p.lower);
            upper.extend_from_slice(&p.upper);
            for r in 0..p.equalities.nrows() {
                let (c, v) = p.equalities.row(r);
                eq.push_row(&c.iter().zip(v).map(|(&c, &v)| (c + off, v)).collect::<Vec<_>>(), p.equalities.rhs()[r]).unwrap();
            }
            for r in 0..p.inequalities.nrows() {
                let (c, v) = p.inequalities.row(r);
                ineq.push_row(&c.iter().zip(v).map(|(&c, &v)| (c + off, v)).collect::<Vec<_>>(), p.inequalities.rhs()[r]).unwrap();
            }
            off += p.objective.len();
        }
        let p = problem(objective, lower, upper, eq, ineq);
        let s = solve(&p, &IpmSettings::default()).unwrap();
        assert_kkt(&p, &s, 1e-8);
    }
}
