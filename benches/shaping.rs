//! Criterion bench of the demand-shaping equilibrium (dr-shaping, chen-li-low-doyle-2010
//! Theorem 6).
//!
//! Instance (`T = 24`): `N` customers with quadratic utilities `θ_i(t) q − ½ κ_i(t) q²`,
//! `θ_i(t) = a_i · profile(t − r_i)` (an evening-peaking profile rotated by `r_i ∈ [−2, 2]`,
//! `a_i ~ U[0.8, 1.2]`), `κ_i(t) ~ U[0.1, 0.3]`, daily energy bounds
//! `Q_i ~ U[4, 12]`, `Q̄_i = Q_i + U[10, 30]`, and a
//! quadratic supply cost `½ c_t Q² + e_t Q` with `c_t = c⁰_t · 100 / N` (steeper in the
//! evening) so that prices do not depend on `N`. Side by side in the same run:
//! - `shaping/ours/N`: `competitive_equilibrium` (structure-exploiting price Newton: prices,
//!   loads, multipliers, certificate, unshaped reference);
//! - `shaping/clarabel/N`: the Clarabel interior-point solver on the same QP (variables
//!   `q_i(t)`, `Q(t)`; rows `Σ_i q_i(t) − Q(t) = 0`, `q ≥ 0`, energy bounds), `N ≤ 10⁴`.
//!
//! Run: `cargo bench --bench shaping -- --warm-up-time 1 --measurement-time 5`.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SupportedConeT};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dr_shaping::{competitive_equilibrium, ShapingModel};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const T: usize = 24;

struct Instance {
    theta: Vec<f64>,
    kappa: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    c: Vec<f64>,
    e: Vec<f64>,
}

fn instance(n: usize) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let profile: Vec<f64> = (0..T)
        .map(|t| {
            let h = t as f64;
            0.25 + 0.1 * (-((h - 8.0) / 2.0).powi(2)).exp()
                + 0.35 * (-((h - 19.0) / 2.5).powi(2)).exp()
        })
        .collect();
    let mut theta = Vec::with_capacity(n * T);
    let mut kappa = Vec::with_capacity(n * T);
    let mut lo = Vec::with_capacity(n);
    let mut hi = Vec::with_capacity(n);
    for _ in 0..n {
        let a: f64 = rng.gen_range(0.8..1.2);
        let r: i64 = rng.gen_range(-2..=2);
        for t in 0..T {
            let src = (t as i64 - r).rem_euclid(T as i64) as usize;
            theta.push(a * profile[src]);
            kappa.push(rng.gen_range(0.1..0.3));
        }
        let l = rng.gen_range(4.0..12.0);
        lo.push(l);
        hi.push(l + rng.gen_range(10.0..30.0));
    }
    let scale = 100.0 / n as f64;
    let c = (0..T)
        .map(|t| if (17..=21).contains(&t) { 0.0016 } else { 0.0008 } * scale)
        .collect();
    let e = (0..T)
        .map(|t| if (7..=22).contains(&t) { 0.06 } else { 0.04 })
        .collect();
    Instance {
        theta,
        kappa,
        lo,
        hi,
        c,
        e,
    }
}

fn model(x: &Instance) -> ShapingModel {
    ShapingModel::quadratic(
        T,
        x.theta.clone(),
        x.kappa.clone(),
        x.lo.clone(),
        x.hi.clone(),
        x.c.clone(),
        x.e.clone(),
    )
    .expect("valid model")
}

/// The same QP for Clarabel: min ½ xᵀPx + qᵀx, x = (q_i(t), Q(t)); returns (prices, objective).
fn clarabel_solve(x: &Instance) -> (Vec<f64>, f64) {
    let n = x.lo.len();
    let nq = n * T;
    let nv = nq + T;
    let pdiag: Vec<f64> = x.kappa.iter().chain(&x.c).copied().collect();
    let p = CscMatrix::new(nv, nv, (0..=nv).collect(), (0..nv).collect(), pdiag);
    let lin: Vec<f64> = x
        .theta
        .iter()
        .map(|t| -t)
        .chain(x.e.iter().copied())
        .collect();
    // Rows: [0, T) Σ_i q_i(t) − Q(t) = 0; then per customer: T rows −q ≤ 0, Σq ≤ Q̄, −Σq ≤ −Q.
    let per = T + 2;
    let mut colptr = Vec::with_capacity(nv + 1);
    let mut rowval = Vec::with_capacity(4 * nq + T);
    let mut nzval = Vec::with_capacity(4 * nq + T);
    for i in 0..n {
        for t in 0..T {
            colptr.push(rowval.len());
            let base = T + i * per;
            rowval.extend([t, base + t, base + T, base + T + 1]);
            nzval.extend([1.0, -1.0, 1.0, -1.0]);
        }
    }
    for t in 0..T {
        colptr.push(rowval.len());
        rowval.push(t);
        nzval.push(-1.0);
    }
    colptr.push(rowval.len());
    let rows = T + n * per;
    let amat = CscMatrix::new(rows, nv, colptr, rowval, nzval);
    let mut b = vec![0.0; rows];
    for i in 0..n {
        let base = T + i * per;
        b[base + T] = x.hi[i];
        b[base + T + 1] = -x.lo[i];
    }
    let cones = [
        SupportedConeT::ZeroConeT(T),
        SupportedConeT::NonnegativeConeT(n * per),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-9)
        .tol_gap_rel(1e-9)
        .tol_feas(1e-9)
        .build()
        .expect("valid settings");
    let mut solver =
        DefaultSolver::new(&p, &lin, &amat, &b, &cones, settings).expect("valid problem");
    solver.solve();
    // Px + q + Aᵀz = 0 on the Q(t) column: c Q + e − z_t = 0 ⇒ p(t) = z_t.
    (solver.solution.z[..T].to_vec(), solver.solution.obj_val)
}

fn bench_shaping(c: &mut Criterion) {
    let mut group = c.benchmark_group("shaping");
    for exp in 3..=5u32 {
        let n = 10usize.pow(exp);
        let x = instance(n);
        let m = model(&x);
        group.sample_size(10);
        let ours = competitive_equilibrium(&m).expect("solved");
        assert!(ours.certificate.holds(1e-8), "{:?}", ours.certificate);
        let binding = ours
            .min_energy_multipliers
            .iter()
            .zip(&ours.max_energy_multipliers)
            .filter(|(a, b)| **a > 0.0 || **b > 0.0)
            .count();
        eprintln!(
            "shaping N = {n}: {} price evaluations, {binding} customers with a binding energy bound, PAR {:.3} (unshaped {:.3})",
            ours.certificate.iterations, ours.peak_to_average, ours.unshaped.peak_to_average
        );
        group.bench_with_input(BenchmarkId::new("ours", n), &n, |bch, _| {
            bch.iter(|| competitive_equilibrium(black_box(&m)))
        });
        if n <= 10_000 {
            let (prices, obj) = clarabel_solve(&x);
            let diff = prices
                .iter()
                .zip(&ours.prices)
                .map(|(a, b)| (a - b).abs() / b.abs())
                .fold(0.0, f64::max);
            let ours_obj = ours.supply_cost - ours.utility;
            eprintln!("shaping N = {n}: clarabel price rel. diff {diff:.2e}, objective {obj} vs ours {ours_obj}");
            assert!(diff <= 1e-5, "prices differ by {diff}");
            group.bench_with_input(BenchmarkId::new("clarabel", n), &n, |bch, _| {
                bch.iter(|| clarabel_solve(black_box(&x)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_shaping);
criterion_main!(benches);
