//! Criterion bench of supply-function bidding equilibria (dr-bidding).
//!
//! Instance: a drawn population as in li-chen-dahleh-2015 §VII-A — `C_i(q) = a_i q + h_i q²`,
//! `a_i ~ U[1,2]`, `h_i ~ U[0.5,4.5]` (ChaCha8, seed 7) — with deficit `d = n/10` so that a
//! sizeable share of the customers is active. Groups:
//! - `bidding/competitive/n`: `competitive_equilibrium` (Theorem 1: price, loads, bids, net
//!   revenues, total cost, water-filling check, certificate);
//! - `bidding/nash/n`: `nash_equilibrium` (Theorem 3: the same outputs plus the largest
//!   unilateral gain of every customer, an extra pass).
//!
//! Run: `cargo bench --bench bidding` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick run).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dr_bidding::{competitive_equilibrium, nash_equilibrium, Market};
use std::hint::black_box;

fn bench_bidding(c: &mut Criterion) {
    let sizes: Vec<usize> = (3..=7u32).map(|e| 10usize.pow(e)).collect();
    let markets: Vec<Market> = sizes
        .iter()
        .map(|&n| {
            Market::drawn(n, [1.0, 2.0], [0.5, 4.5], 7, n as f64 / 10.0).expect("valid market")
        })
        .collect();
    for (kind, nash) in [("competitive", false), ("nash", true)] {
        let mut group = c.benchmark_group(format!("bidding/{kind}"));
        for (n, market) in sizes.iter().zip(&markets) {
            group.sample_size(if *n >= 1_000_000 { 10 } else { 20 });
            let solve = |m: &Market| {
                if nash {
                    nash_equilibrium(m)
                } else {
                    competitive_equilibrium(m)
                }
            };
            let eq = solve(market).expect("equilibrium");
            assert!(eq.certificate.holds(1e-9), "{:?}", eq.certificate);
            eprintln!(
                "bidding/{kind} n = {n}: price {:.6}, {} active, {} passes, max gain {:?}",
                eq.price, eq.water_filling.active, eq.certificate.iterations, eq.max_relative_gain
            );
            group.bench_with_input(BenchmarkId::from_parameter(n), market, |b, m| {
                b.iter(|| solve(black_box(m)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_bidding);
criterion_main!(benches);
