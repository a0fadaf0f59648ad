//! Interior-point solver on the multi-period demand-shaping QP (chen-li-low-doyle-2010 §IV):
//! ours (`dr_convex::ipm::solve`) against Clarabel on the same problem, side by side.
//!
//! Instance: N customers × 24 periods. Customer i's utility in period t is
//! `θ_it q − ½ κ_it q²` (random θ, κ; seeded ChaCha), the supply cost of period t is
//! `½ c_t Q_t²` with auxiliary variables `Q_t` and rows `Σ_i q_i(t) − Q_t = 0`, each
//! customer's daily energy is bounded `E_i ≤ Σ_t q_i(t) ≤ Ē_i` (two inequality rows), and
//! `q ≥ 0`. Both solvers run at comparable accuracy (ours: tolerance 1e-8; Clarabel:
//! tol_gap_abs = tol_gap_rel = tol_feas = 1e-8); the setup asserts that the two optimal
//! objectives agree to 1e-6 relative.
//!
//! Run: `cargo bench --bench ipm -- --warm-up-time 1 --measurement-time 5`.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use dr_convex::ipm::{solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::{ConvexScalar, HalfQuadraticCost, QuadraticUtility};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::sync::Arc;

const T: usize = 24;

/// Raw data of one instance (struct of arrays).
struct Instance {
    n: usize,
    theta: Vec<f64>,
    kappa: Vec<f64>,
    cost: Vec<f64>,
    energy_lower: Vec<f64>,
    energy_upper: Vec<f64>,
}

impl Instance {
    fn random(n: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let theta = (0..n * T).map(|_| rng.gen_range(1.0..3.0)).collect();
        let kappa = (0..n * T).map(|_| rng.gen_range(0.5..2.0)).collect();
        // Per-customer marginal cost of the aggregate stays O(1) for every N.
        let cost = (0..T).map(|_| rng.gen_range(0.5..2.0) / n as f64).collect();
        let energy_lower: Vec<f64> = (0..n).map(|_| rng.gen_range(10.0..20.0)).collect();
        let energy_upper = energy_lower
            .iter()
            .map(|&l| l + rng.gen_range(5.0..15.0))
            .collect();
        Self {
            n,
            theta,
            kappa,
            cost,
            energy_lower,
            energy_upper,
        }
    }

    /// Variables: `q_i(t)` at `i·24 + t`, then `Q_t` at `24 N + t`.
    fn ours(&self) -> SeparableProblem {
        let (n, nv) = (self.n, self.n * T + T);
        let mut objective: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(nv);
        for k in 0..n * T {
            objective.push(Arc::new(
                QuadraticUtility::new(self.theta[k], self.kappa[k]).unwrap(),
            ));
        }
        for t in 0..T {
            objective.push(Arc::new(HalfQuadraticCost::new(self.cost[t]).unwrap()));
        }
        let mut lower = vec![0.0; nv];
        lower[n * T..]
            .iter_mut()
            .for_each(|l| *l = f64::NEG_INFINITY);
        let upper = vec![f64::INFINITY; nv];
        let mut equalities = LinearRows::new(nv);
        for t in 0..T {
            let mut row: Vec<(usize, f64)> = (0..n).map(|i| (i * T + t, 1.0)).collect();
            row.push((n * T + t, -1.0));
            equalities.push_row(&row, 0.0).unwrap();
        }
        let mut inequalities = LinearRows::new(nv);
        for i in 0..n {
            let plus: Vec<(usize, f64)> = (0..T).map(|t| (i * T + t, 1.0)).collect();
            let minus: Vec<(usize, f64)> = (0..T).map(|t| (i * T + t, -1.0)).collect();
            inequalities.push_row(&plus, self.energy_upper[i]).unwrap();
            inequalities
                .push_row(&minus, -self.energy_lower[i])
                .unwrap();
        }
        SeparableProblem {
            objective,
            lower,
            upper,
            equalities,
            inequalities,
        }
    }

    /// The same QP for Clarabel: `min ½ xᵀPx + cᵀx`, `A x + s = b`, `s ∈ {0}^24 × R₊^m`.
    fn clarabel(&self) -> (CscMatrix<f64>, Vec<f64>, CscMatrix<f64>, Vec<f64>, usize) {
        let (n, nv) = (self.n, self.n * T + T);
        let mut p_diag: Vec<f64> = self.kappa.clone();
        p_diag.extend_from_slice(&self.cost);
        let p = CscMatrix::new(nv, nv, (0..=nv).collect(), (0..nv).collect(), p_diag);
        let mut c: Vec<f64> = self.theta.iter().map(|t| -t).collect();
        c.extend(std::iter::repeat_n(0.0, T));
        // Rows: 0..24 balance (zero cone); then per customer 2 energy rows; then −q ≤ 0.
        let m = T + 2 * n + n * T;
        let mut colptr = Vec::with_capacity(nv + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        colptr.push(0);
        for i in 0..n {
            for t in 0..T {
                rowval.extend_from_slice(&[t, T + 2 * i, T + 2 * i + 1, T + 2 * n + i * T + t]);
                nzval.extend_from_slice(&[1.0, 1.0, -1.0, -1.0]);
                colptr.push(rowval.len());
            }
        }
        for t in 0..T {
            rowval.push(t);
            nzval.push(-1.0);
            colptr.push(rowval.len());
        }
        let a = CscMatrix::new(m, nv, colptr, rowval, nzval);
        let mut b = vec![0.0; m];
        for i in 0..n {
            b[T + 2 * i] = self.energy_upper[i];
            b[T + 2 * i + 1] = -self.energy_lower[i];
        }
        (p, c, a, b, m)
    }
}

fn solve_ours(problem: &SeparableProblem) -> f64 {
    let settings = IpmSettings {
        tolerance: 1e-8,
        ..IpmSettings::default()
    };
    let sol = solve(problem, &settings).unwrap();
    assert!(sol.certificate.status.is_solved(), "{:?}", sol.certificate);
    sol.objective
}

fn solve_clarabel(data: &(CscMatrix<f64>, Vec<f64>, CscMatrix<f64>, Vec<f64>, usize)) -> f64 {
    let (p, c, a, b, m) = data;
    let cones = [ZeroConeT(T), NonnegativeConeT(m - T)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-8)
        .tol_gap_rel(1e-8)
        .tol_feas(1e-8)
        .build()
        .unwrap();
    let mut solver = DefaultSolver::new(p, c, a, b, &cones, settings).unwrap();
    solver.solve();
    assert_eq!(solver.solution.status, SolverStatus::Solved);
    solver.solution.obj_val
}

fn bench_ipm(c: &mut Criterion) {
    let mut group = c.benchmark_group("ipm");
    group.sampling_mode(SamplingMode::Flat);
    for &n in &[100usize, 1000, 10_000] {
        let instance = Instance::random(n, 7 + n as u64);
        let ours = instance.ours();
        let theirs = instance.clarabel();
        let (a, b) = (solve_ours(&ours), solve_clarabel(&theirs));
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            "objectives differ at N = {n}: ours {a}, clarabel {b}"
        );
        group.sample_size(if n >= 10_000 { 10 } else { 20 });
        group.bench_function(BenchmarkId::new("ours", n), |bench| {
            bench.iter(|| black_box(solve_ours(black_box(&ours))))
        });
        group.bench_function(BenchmarkId::new("clarabel", n), |bench| {
            bench.iter(|| black_box(solve_clarabel(black_box(&theirs))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_ipm);
criterion_main!(benches);
