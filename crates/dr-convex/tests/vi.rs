//! Properties of the monotone VI solver (dr-convex `vi::solve_vi`).
//!
//! - a VI whose operator is the gradient of a separable convex function agrees with the
//!   interior-point optimum of that function on the same set;
//! - non-symmetric monotone affine VIs (`M` = skew + PSD) on boxes: the natural residual and
//!   the box complementarity conditions, recomputed here, hold;
//! - the strategic demand-shaping equilibrium (chen-li-low-doyle-2010 Theorem 7, eq. 48):
//!   with quadratic supply cost it maximises the potential (SPEC §2), and with a cubic cost
//!   no customer gains by deviating (exact best responses by the IPM);
//! - projections onto products of box-sum blocks do not depend on the number of threads;
//! - bad input is an error naming the field; a non-finite operator is a status.

#![allow(clippy::needless_range_loop)]

use dr_convex::ipm::{solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{
    solve_vi, AffineOperator, BoxSet, BoxSumBlocks, ConvexSet, FnOperator, ViSettings,
};
use dr_convex::{ClosureConvex, ConvexError, ConvexScalar, QuadraticUtility, Status};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// `min Σ ½ κ x² − θ x` over a product of box-sum blocks, by the IPM.
fn ipm_on_blocks(
    theta: &[f64],
    kappa: &[f64],
    t: usize,
    upper: &[f64],
    sum_lower: &[f64],
    sum_upper: &[f64],
) -> Vec<f64> {
    let n = theta.len();
    let objective: Vec<Arc<dyn ConvexScalar>> = (0..n)
        .map(|j| {
            Arc::new(QuadraticUtility::new(theta[j], kappa[j]).unwrap()) as Arc<dyn ConvexScalar>
        })
        .collect();
    let mut ineq = LinearRows::new(n);
    for b in 0..sum_lower.len() {
        let plus: Vec<(usize, f64)> = (0..t).map(|k| (b * t + k, 1.0)).collect();
        let minus: Vec<(usize, f64)> = (0..t).map(|k| (b * t + k, -1.0)).collect();
        ineq.push_row(&plus, sum_upper[b]).unwrap();
        ineq.push_row(&minus, -sum_lower[b]).unwrap();
    }
    let p = SeparableProblem {
        objective,
        lower: vec![0.0; n],
        upper: upper.to_vec(),
        equalities: LinearRows::new(n),
        inequalities: ineq,
    };
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert!(s.certificate.holds(1e-8), "{:?}", s.certificate);
    s.x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn gradient_vi_agrees_with_ipm(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let blocks = rng.gen_range(1..=4);
        let t = rng.gen_range(1..=4);
        let n = blocks * t;
        let theta: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..3.0)).collect();
        let kappa: Vec<f64> = (0..n).map(|_| rng.gen_range(0.5..2.0)).collect();
        let upper: Vec<f64> = (0..n).map(|_| if rng.gen_bool(0.5) { f64::INFINITY } else { rng.gen_range(0.5..2.0) }).collect();
        let mut sum_lower = Vec::new();
        let mut sum_upper = Vec::new();
        for b in 0..blocks {
            let cap: f64 = upper[b * t..(b + 1) * t].iter().sum();
            let lo = rng.gen_range(0.0..1.0) * cap.min(2.0 * t as f64);
            sum_lower.push(lo);
            sum_upper.push(lo + rng.gen_range(0.2..2.0));
        }
        let set = BoxSumBlocks::new(t, vec![0.0; n], upper.clone(), sum_lower.clone(), sum_upper.clone()).unwrap();
        let (th, ka) = (theta.clone(), kappa.clone());
        let op = FnOperator::new(n, move |x: &[f64], out: &mut [f64]| {
            for j in 0..x.len() {
                out[j] = ka[j] * x[j] - th[j];
            }
        });
        let sol = solve_vi(&op, &set, &vec![0.0; n], &ViSettings { tolerance: 1e-11, ..ViSettings::default() }).unwrap();
        prop_assert_eq!(sol.certificate.status, Status::Solved);
        let x_ipm = ipm_on_blocks(&theta, &kappa, t, &upper, &sum_lower, &sum_upper);
        for j in 0..n {
            prop_assert!((sol.x[j] - x_ipm[j]).abs() <= 1e-7, "x[{}]: vi {} ipm {}", j, sol.x[j], x_ipm[j]);
        }
    }

    #[test]
    fn skew_plus_psd_affine_vi_on_a_box(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(1..=6);
        let r = rng.gen_range(0..=n);
        // M = S + B Bᵀ with S skew-symmetric and B n×r (possibly singular PSD part).
        let b: Vec<f64> = (0..n * r).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = (0..r).map(|k| b[i * r + k] * b[j * r + k]).sum();
            }
        }
        for i in 0..n {
            for j in i + 1..n {
                let s = rng.gen_range(-2.0..2.0);
                m[i * n + j] += s;
                m[j * n + i] -= s;
            }
        }
        let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let lower: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..0.0)).collect();
        let upper: Vec<f64> = (0..n).map(|_| rng.gen_range(0.1..1.0)).collect();
        let op = AffineOperator::new(n, m.clone(), q.clone()).unwrap();
        let set = BoxSet::new(lower.clone(), upper.clone()).unwrap();
        let sol = solve_vi(&op, &set, &vec![0.0; n], &ViSettings { tolerance: 1e-10, ..ViSettings::default() }).unwrap();
        prop_assert_eq!(sol.certificate.status, Status::Solved, "{:?}", sol.certificate);
        // Recompute F(x) and the natural residual independently.
        let x = &sol.x;
        let fx: Vec<f64> = (0..n).map(|i| q[i] + (0..n).map(|j| m[i * n + j] * x[j]).sum::<f64>()).collect();
        let proj: Vec<f64> = (0..n).map(|i| (x[i] - fx[i]).clamp(lower[i], upper[i])).collect();
        prop_assert!(dist(x, &proj) <= 1e-8);
        for i in 0..n {
            prop_assert!(x[i] >= lower[i] && x[i] <= upper[i]);
            // Box VI ⇔ F_i ≥ 0 at the lower end, ≤ 0 at the upper end, = 0 inside.
            if x[i] > lower[i] + 1e-7 && x[i] < upper[i] - 1e-7 {
                prop_assert!(fx[i].abs() <= 1e-7, "interior F[{}] = {}", i, fx[i]);
            }
            if x[i] <= lower[i] + 1e-12 {
                prop_assert!(fx[i] >= -1e-8);
            }
            if x[i] >= upper[i] - 1e-12 {
                prop_assert!(fx[i] <= 1e-8);
            }
        }
        // The VI inequality at every vertex of the box.
        if n <= 4 {
            for code in 0..(1usize << n) {
                let y: Vec<f64> = (0..n).map(|i| if code >> i & 1 == 1 { upper[i] } else { lower[i] }).collect();
                let v: f64 = (0..n).map(|i| fx[i] * (y[i] - x[i])).sum();
                prop_assert!(v >= -1e-8);
            }
        }
    }
}

/// Demand-shaping data: `N` customers × `T` periods, quadratic utilities, daily bounds.
struct Shaping {
    n: usize,
    t: usize,
    theta: Vec<f64>,
    kappa: Vec<f64>,
    sum_lower: Vec<f64>,
    sum_upper: Vec<f64>,
}

impl Shaping {
    fn random(seed: u64, n: usize, t: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let theta = (0..n * t).map(|_| rng.gen_range(1.0..3.0)).collect();
        let kappa = (0..n * t).map(|_| rng.gen_range(0.5..2.0)).collect();
        let sum_lower: Vec<f64> = (0..n).map(|_| rng.gen_range(0.5..2.0)).collect();
        let sum_upper = sum_lower
            .iter()
            .map(|l| l + rng.gen_range(0.5..2.0))
            .collect();
        Self {
            n,
            t,
            theta,
            kappa,
            sum_lower,
            sum_upper,
        }
    }

    fn set(&self) -> BoxSumBlocks {
        BoxSumBlocks::new(
            self.t,
            vec![0.0; self.n * self.t],
            vec![f64::INFINITY; self.n * self.t],
            self.sum_lower.clone(),
            self.sum_upper.clone(),
        )
        .unwrap()
    }

    /// `F_{i,t}(q) = −(U_i'(q_i(t)) − C'(Q(t)) − q_i(t) C''(Q(t)))` (eq. 48).
    fn operator<'a>(
        &'a self,
        cp: &'a (dyn Fn(f64) -> f64 + Sync),
        cpp: &'a (dyn Fn(f64) -> f64 + Sync),
    ) -> FnOperator<impl Fn(&[f64], &mut [f64]) + Sync + 'a> {
        let (n, t) = (self.n, self.t);
        FnOperator::new(n * t, move |q: &[f64], out: &mut [f64]| {
            for k in 0..t {
                let total: f64 = (0..n).map(|i| q[i * t + k]).sum();
                for i in 0..n {
                    let j = i * t + k;
                    let marginal_utility = self.theta[j] - self.kappa[j] * q[j];
                    out[j] = -(marginal_utility - cp(total) - q[j] * cpp(total));
                }
            }
        })
    }
}

#[test]
fn strategic_demand_shaping_with_quadratic_cost_maximises_the_potential() {
    // C(Q) = ½ c Q²: the NE maximises Σ [U_i − ½ c q²] − Σ_t C(Q(t)) (SPEC §2, derived).
    let sh = Shaping::random(11, 4, 3);
    let c = 0.7;
    let cp = move |q: f64| c * q;
    let cpp = move |_q: f64| c;
    let op = sh.operator(&cp, &cpp);
    let sol = solve_vi(
        &op,
        &sh.set(),
        &vec![0.0; sh.n * sh.t],
        &ViSettings {
            tolerance: 1e-11,
            ..ViSettings::default()
        },
    )
    .unwrap();
    assert_eq!(sol.certificate.status, Status::Solved);
    // Potential by the IPM with auxiliary Q_t and Σ_i q_i(t) − Q_t = 0.
    let (n, t) = (sh.n, sh.t);
    let nv = n * t + t;
    let mut objective: Vec<Arc<dyn ConvexScalar>> = (0..n * t)
        .map(|j| {
            Arc::new(QuadraticUtility::new(sh.theta[j], sh.kappa[j] + c).unwrap())
                as Arc<dyn ConvexScalar>
        })
        .collect();
    for _ in 0..t {
        objective.push(Arc::new(dr_convex::HalfQuadraticCost::new(c).unwrap()));
    }
    let mut eq = LinearRows::new(nv);
    for k in 0..t {
        let mut row: Vec<(usize, f64)> = (0..n).map(|i| (i * t + k, 1.0)).collect();
        row.push((n * t + k, -1.0));
        eq.push_row(&row, 0.0).unwrap();
    }
    let mut ineq = LinearRows::new(nv);
    for i in 0..n {
        ineq.push_row(
            &(0..t).map(|k| (i * t + k, 1.0)).collect::<Vec<_>>(),
            sh.sum_upper[i],
        )
        .unwrap();
        ineq.push_row(
            &(0..t).map(|k| (i * t + k, -1.0)).collect::<Vec<_>>(),
            -sh.sum_lower[i],
        )
        .unwrap();
    }
    let mut lower = vec![0.0; nv];
    lower[n * t..]
        .iter_mut()
        .for_each(|l| *l = f64::NEG_INFINITY);
    let p = SeparableProblem {
        objective,
        lower,
        upper: vec![f64::INFINITY; nv],
        equalities: eq,
        inequalities: ineq,
    };
    let s = solve(&p, &IpmSettings::default()).unwrap();
    assert!(s.certificate.holds(1e-8));
    for j in 0..n * t {
        assert!(
            (sol.x[j] - s.x[j]).abs() < 1e-7,
            "q[{j}]: vi {} ipm {}",
            sol.x[j],
            s.x[j]
        );
    }
}

#[test]
fn strategic_demand_shaping_with_cubic_cost_no_customer_gains() {
    // C(Q) = Q³/3: monotone VI, no potential. Check Nash: each customer's exact best response
    // max Σ_t U_i(q_t) − q_t C'(Q_{−i}(t) + q_t) (Theorem 7) gains nothing.
    let sh = Shaping::random(5, 3, 4);
    let cp = |q: f64| q * q;
    let cpp = |q: f64| 2.0 * q;
    let op = sh.operator(&cp, &cpp);
    let sol = solve_vi(
        &op,
        &sh.set(),
        &vec![0.0; sh.n * sh.t],
        &ViSettings {
            tolerance: 1e-11,
            ..ViSettings::default()
        },
    )
    .unwrap();
    assert_eq!(
        sol.certificate.status,
        Status::Solved,
        "{:?}",
        sol.certificate
    );
    let (n, t) = (sh.n, sh.t);
    let q = &sol.x;
    let payoff = |i: usize, qi: &[f64]| -> f64 {
        (0..t)
            .map(|k| {
                let others: f64 = (0..n).filter(|&h| h != i).map(|h| q[h * t + k]).sum();
                let j = i * t + k;
                let u = sh.theta[j] * qi[k] - 0.5 * sh.kappa[j] * qi[k] * qi[k];
                u - qi[k] * cp(others + qi[k])
            })
            .sum()
    };
    let mut largest_gain = 0.0_f64;
    for i in 0..n {
        // Best response: min Σ_t [½κ q² − θ q + q (Q_{−i} + q)²] s.t. q ≥ 0, sum bounds.
        let objective: Vec<Arc<dyn ConvexScalar>> = (0..t)
            .map(|k| {
                let others: f64 = (0..n).filter(|&h| h != i).map(|h| q[h * t + k]).sum();
                let (th, ka) = (sh.theta[i * t + k], sh.kappa[i * t + k]);
                Arc::new(
                    ClosureConvex::new(
                        move |x| 0.5 * ka * x * x - th * x + x * (others + x) * (others + x),
                        move |x| ka * x - th + (others + x) * (others + x) + 2.0 * x * (others + x),
                        move |x| ka + 4.0 * (others + x) + 2.0 * x,
                        (-others / 3.0 - 1e-9, f64::INFINITY),
                    )
                    .unwrap(),
                ) as Arc<dyn ConvexScalar>
            })
            .collect();
        let mut ineq = LinearRows::new(t);
        ineq.push_row(
            &(0..t).map(|k| (k, 1.0)).collect::<Vec<_>>(),
            sh.sum_upper[i],
        )
        .unwrap();
        ineq.push_row(
            &(0..t).map(|k| (k, -1.0)).collect::<Vec<_>>(),
            -sh.sum_lower[i],
        )
        .unwrap();
        let p = SeparableProblem {
            objective,
            lower: vec![0.0; t],
            upper: vec![f64::INFINITY; t],
            equalities: LinearRows::new(t),
            inequalities: ineq,
        };
        let br = solve(&p, &IpmSettings::default()).unwrap();
        assert!(br.certificate.holds(1e-8), "{:?}", br.certificate);
        let gain = payoff(i, &br.x) - payoff(i, &q[i * t..(i + 1) * t]);
        largest_gain = largest_gain.max(gain);
    }
    assert!(largest_gain <= 1e-9, "a customer gains {largest_gain}");
}

#[test]
fn block_projection_does_not_depend_on_threads() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (blocks, t) = (600, 24);
    let sum_lower: Vec<f64> = (0..blocks).map(|_| rng.gen_range(1.0..5.0)).collect();
    let sum_upper: Vec<f64> = sum_lower
        .iter()
        .map(|l| l + rng.gen_range(0.5..5.0))
        .collect();
    let set = BoxSumBlocks::new(
        t,
        vec![0.0; blocks * t],
        vec![f64::INFINITY; blocks * t],
        sum_lower,
        sum_upper,
    )
    .unwrap();
    let v: Vec<f64> = (0..blocks * t).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut out = vec![0.0; blocks * t];
            set.project(&v, &mut out).unwrap();
            out
        })
    };
    let a = run(1);
    let b = run(4);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn non_finite_operator_is_a_status() {
    let op = FnOperator::new(1, |x: &[f64], out: &mut [f64]| out[0] = 1.0 / (x[0] - 0.5));
    let set = BoxSet::new(vec![0.0], vec![1.0]).unwrap();
    let sol = solve_vi(&op, &set, &[0.5], &ViSettings::default()).unwrap();
    assert_eq!(sol.certificate.status, Status::NumericalError);
}

#[test]
fn max_iterations_is_a_status() {
    let op = AffineOperator::new(2, vec![0.0, 1.0, -1.0, 0.0], vec![0.0, 0.0]).unwrap();
    let set = BoxSet::new(vec![-1.0; 2], vec![1.0; 2]).unwrap();
    let sol = solve_vi(
        &op,
        &set,
        &[0.9, 0.3],
        &ViSettings {
            max_iterations: 2,
            ..ViSettings::default()
        },
    )
    .unwrap();
    assert_eq!(sol.certificate.status, Status::MaxIterations);
    assert_eq!(sol.certificate.iterations, 2);
}

#[test]
fn bad_input_names_the_field() {
    let msg = |e: ConvexError| format!("{e}");
    let op = AffineOperator::new(2, vec![1.0, 0.0, 0.0, 1.0], vec![0.0, 0.0]).unwrap();
    let set = BoxSet::new(vec![0.0; 2], vec![1.0; 2]).unwrap();
    assert!(msg(solve_vi(&op, &set, &[0.0], &ViSettings::default()).unwrap_err()).contains("x0"));
    assert!(
        msg(solve_vi(&op, &set, &[0.0, f64::NAN], &ViSettings::default()).unwrap_err())
            .contains("x0[1]")
    );
    for (s, field) in [
        (
            ViSettings {
                theta: 1.0,
                ..ViSettings::default()
            },
            "theta",
        ),
        (
            ViSettings {
                backtrack: 0.0,
                ..ViSettings::default()
            },
            "backtrack",
        ),
        (
            ViSettings {
                tolerance: -1.0,
                ..ViSettings::default()
            },
            "tolerance",
        ),
        (
            ViSettings {
                initial_step: f64::NAN,
                ..ViSettings::default()
            },
            "initial_step",
        ),
    ] {
        assert!(msg(solve_vi(&op, &set, &[0.0, 0.0], &s).unwrap_err()).contains(field));
    }
    assert!(
        msg(AffineOperator::new(2, vec![1.0; 3], vec![0.0; 2]).unwrap_err()).contains("matrix")
    );
    assert!(
        msg(AffineOperator::new(2, vec![1.0; 4], vec![0.0; 3]).unwrap_err()).contains("offset")
    );
    assert!(msg(
        AffineOperator::new(2, vec![1.0, f64::INFINITY, 0.0, 0.0], vec![0.0; 2]).unwrap_err()
    )
    .contains("matrix[0][1]"));
    assert!(matches!(
        BoxSet::new(vec![1.0], vec![0.0]).unwrap_err(),
        ConvexError::InvertedBounds { ref field, .. } if field == "bounds[0]"
    ));
    assert!(msg(BoxSet::new(vec![1.0], vec![2.0, 3.0]).unwrap_err()).contains("upper"));
    assert!(msg(
        BoxSumBlocks::new(2, vec![0.0; 3], vec![1.0; 4], vec![0.0; 2], vec![1.0; 2]).unwrap_err()
    )
    .contains("lower"));
    assert!(msg(
        BoxSumBlocks::new(2, vec![0.0; 4], vec![1.0; 4], vec![0.0; 2], vec![1.0]).unwrap_err()
    )
    .contains("sum_upper"));
    assert!(msg(
        BoxSumBlocks::new(2, vec![0.0; 2], vec![1.0; 2], vec![3.0], vec![4.0]).unwrap_err()
    )
    .contains("block 0"));
    assert!(matches!(
        BoxSumBlocks::new(2, vec![0.0; 2], vec![1.0; 2], vec![1.5], vec![0.5]).unwrap_err(),
        ConvexError::InvertedBounds { .. }
    ));
    // A projection error propagates.
    let failing = |_: &[f64], _: &mut [f64]| -> Result<(), ConvexError> {
        Err(ConvexError::Empty { field: "K".into() })
    };
    assert!(
        msg(solve_vi(&op, &failing, &[0.0, 0.0], &ViSettings::default()).unwrap_err())
            .contains("K")
    );
}
