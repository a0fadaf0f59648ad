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

use clarabel::solver::IPSolver;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dr_convex::parallel::{deterministic_sum, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{allocate, AllocatorSettings, Bound, QuadraticFamily};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

#[path = "support/clarabel_competitive.rs"]
mod clarabel_competitive;

fn instance(n: usize) -> (Vec<f64>, Vec<f64>, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = (0..n).map(|_| rng.gen_range(1.0..2.0)).collect();
    let h = (0..n).map(|_| rng.gen_range(0.5..4.5)).collect();
    (a, h, n as f64 / 10.0)
}

/// The same QP for Clarabel (`support/clarabel_competitive.rs`, shared with
/// `examples/clarabel_competitive.rs`): its objective and price.
fn clarabel_solve(a: &[f64], h: &[f64], d: f64) -> (f64, f64) {
    let mut solver = clarabel_competitive::competitive_solver(a, h, d).expect("a valid QP");
    solver.solve();
    (
        solver.solution.obj_val,
        clarabel_competitive::price(&solver),
    )
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
