//! The Rust side of the Python-binding benchmark (BENCHMARKS.md, "Python bindings"):
//! `dr_bidding::solve` — both equilibria of li-chen-dahleh-2015 (Theorems 1 and 3) and the
//! efficiency report (Theorem 5) — on `n` customers, timed as the median of `repeats` runs,
//! with and without building the `Market` from slices (the copy the binding makes).
//! The instance is the one `benches/bench_bidding.py` builds with numpy (same formula, so
//! the prices printed must agree to the last bit):
//! `a_i = 1 + frac(0.6180339887498949 i)`, `h_i = 0.5 + 4 frac(0.7548776662466927 i)`,
//! `d = n / 10`.
//!
//! Run: `cargo run --release -p dr-python --example bench_bidding -- 1000000 15`

use dr_bidding::{solve, Market};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let a: Vec<f64> = (0..n)
        .map(|i| 1.0 + (i as f64 * 0.618_033_988_749_894_9) % 1.0)
        .collect();
    let h: Vec<f64> = (0..n)
        .map(|i| 0.5 + 4.0 * ((i as f64 * 0.754_877_666_246_692_7) % 1.0))
        .collect();
    let d = n as f64 / 10.0;
    let market = Market::quadratic(a.clone(), h.clone(), d).expect("valid market");
    let first = solve(&market).expect("solves");
    assert!(first.competitive.certificate.holds(1e-9) && first.nash.certificate.holds(1e-9));
    let mut solve_only = Vec::with_capacity(repeats);
    let mut with_market = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        let r = solve(std::hint::black_box(&market)).expect("solves");
        solve_only.push(t.elapsed().as_secs_f64());
        std::hint::black_box(r);
        let t = Instant::now();
        let m = Market::quadratic(a.to_vec(), h.to_vec(), d).expect("valid market");
        let r = solve(&m).expect("solves");
        with_market.push(t.elapsed().as_secs_f64());
        std::hint::black_box(r);
    }
    println!(
        "n = {n}: competitive price {:?}, nash price {:?}",
        first.competitive.price, first.nash.price
    );
    println!(
        "rust dr_bidding::solve median of {repeats}: {:.2} ms (with Market::quadratic from slices: {:.2} ms)",
        1e3 * median(solve_only),
        1e3 * median(with_market)
    );
}
