//! Criterion bench of the kernel's single-coupling allocator (dr-convex `allocate`).
//!
//! Instance: the competitive equilibrium of supply-function bidding with
//! `C_i(q) = a_i q + h_i q²`, `a ~ U[1,2]`, `h ~ U[0.5,4.5]` (li-chen-dahleh-2015 §VII-A),
//! `q ≥ 0`, deficit `d = n/10`. Side by side in the same run:
//! - `allocator/ours/n`: `allocate` (price, loads, certificate);
//! - `allocator/pass/n`: one streaming pass over the input arrays (Σ a_i + h_i with the same
//!   deterministic chunked reduction) — the floor any exact method must pay;
//! - `allocator/clarabel/n`: the Clarabel interior-point solver on the same QP (n ≤ 10^5).
//!
//! `cargo xtask bench` turns the estimates into the ratios in BENCHMARKS.md.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SupportedConeT};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dr_convex::parallel::{deterministic_sum, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{allocate, AllocatorSettings, Bound, QuadraticFamily};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn instance(n: usize) -> (Vec<f64>, Vec<f64>, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = (0..n).map(|_| rng.gen_range(1.0..2.0)).collect();
    let h = (0..n).map(|_| rng.gen_range(0.5..4.5)).collect();
    (a, h, n as f64 / 10.0)
}

/// The same QP for Clarabel: min ½ xᵀ diag(2h) x + aᵀx s.t. 1ᵀx = d, x ≥ 0.
fn clarabel_solve(a: &[f64], h: &[f64], d: f64) -> (f64, f64) {
    let n = a.len();
    let p = CscMatrix::new(
        n,
        n,
        (0..=n).collect(),
        (0..n).collect(),
        h.iter().map(|h| 2.0 * h).collect(),
    );
    // Rows: 0 = equality Σx = d; 1..=n: −x_i ≤ 0.
    let mut colptr = Vec::with_capacity(n + 1);
    let mut rowval = Vec::with_capacity(2 * n);
    let mut nzval = Vec::with_capacity(2 * n);
    for i in 0..n {
        colptr.push(rowval.len());
        rowval.push(0);
        nzval.push(1.0);
        rowval.push(i + 1);
        nzval.push(-1.0);
    }
    colptr.push(rowval.len());
    let amat = CscMatrix::new(n + 1, n, colptr, rowval, nzval);
    let mut b = vec![0.0; n + 1];
    b[0] = d;
    let cones = [
        SupportedConeT::ZeroConeT(1),
        SupportedConeT::NonnegativeConeT(n),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-9)
        .tol_gap_rel(1e-9)
        .tol_feas(1e-9)
        .build()
        .expect("valid settings");
    let mut solver = DefaultSolver::new(&p, a, &amat, &b, &cones, settings).expect("valid problem");
    solver.solve();
    // The equality row's multiplier is the price (Clarabel: Px + q + Aᵀz = 0 ⇒ price = −z_0).
    (solver.solution.obj_val, -solver.solution.z[0])
}

fn bench_allocator(c: &mut Criterion) {
    let mut group = c.benchmark_group("allocator");
    let settings = AllocatorSettings::default();
    for exp in 3..=7u32 {
        let n = 10usize.pow(exp);
        let (a, h, d) = instance(n);
        let fam = QuadraticFamily::new(&a, &h).expect("valid family");
        group.sample_size(if n >= 1_000_000 { 10 } else { 30 });
        let ours = allocate(
            &fam,
            Bound::Constant(0.0),
            Bound::Constant(f64::INFINITY),
            d,
            &settings,
        )
        .expect("feasible");
        assert!(ours.certificate.holds(1e-9), "{:?}", ours.certificate);
        eprintln!(
            "allocator n = {n}: price {} after {} passes",
            ours.multiplier, ours.certificate.iterations
        );
        group.bench_with_input(BenchmarkId::new("ours", n), &n, |bch, _| {
            bch.iter(|| {
                allocate(
                    &fam,
                    Bound::Constant(0.0),
                    Bound::Constant(f64::INFINITY),
                    black_box(d),
                    &settings,
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("pass", n), &n, |bch, _| {
            bch.iter(|| {
                deterministic_sum(n, DEFAULT_PARALLEL_THRESHOLD, |i| black_box(&a)[i] + h[i])
            })
        });
        if n <= 100_000 {
            let (obj, price) = clarabel_solve(&a, &h, d);
            assert!(
                (obj - ours.objective).abs() <= 1e-6 * ours.objective.abs(),
                "objectives {obj} vs {}",
                ours.objective
            );
            assert!(
                (price - ours.multiplier).abs() <= 1e-5 * ours.multiplier.abs(),
                "prices {price} vs {}",
                ours.multiplier
            );
            group.bench_with_input(BenchmarkId::new("clarabel", n), &n, |bch, _| {
                bch.iter(|| clarabel_solve(&a, &h, black_box(d)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_allocator);
criterion_main!(benches);
