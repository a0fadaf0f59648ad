//! The competitive equilibrium of supply-function bidding (li-chen-dahleh-2015 Theorem 1:
//! `min Σ a_i q_i + h_i q_i²  s.t.  Σ q_i = d,  q_i ≥ 0`) solved by the Clarabel
//! interior-point solver alone, on the customers of a `customers.csv` written by
//! `dr solve FILE --output DIR` — the reference the end-to-end group of `cargo xtask bench`
//! compares the whole `dr solve` against.
//!
//! ```sh
//! cargo run --release --example clarabel_competitive -- DIR/customers.csv DEFICIT
//! ```
//!
//! The QP is built by `benches/support/clarabel_competitive.rs`, shared with the allocator
//! bench. Prints one JSON line: `{"customers", "seconds" (building the QP and solving it, not
//! reading the file), "status", "price" (the multiplier of Σ q = d), "iterations"}`.

use clarabel::solver::IPSolver;
use std::time::Instant;

#[path = "../benches/support/clarabel_competitive.rs"]
mod clarabel_competitive;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, deficit] = args.as_slice() else {
        return Err("usage: clarabel_competitive CUSTOMERS.csv DEFICIT".into());
    };
    let d: f64 = deficit.parse()?;
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no column {name}"))
    };
    let (ia, ih) = (col("linear")?, col("quadratic")?);
    let (mut a, mut h) = (Vec::new(), Vec::new());
    for (k, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |i: usize| {
            cells
                .get(i)
                .ok_or(format!("row {}: too few columns", k + 1))
        };
        a.push(cell(ia)?.parse::<f64>()?);
        h.push(cell(ih)?.parse::<f64>()?);
    }
    let n = a.len();
    let start = Instant::now();
    // The QP of Theorem 1, built as the allocator bench builds it.
    let mut solver = clarabel_competitive::competitive_solver(&a, &h, d)?;
    solver.solve();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"customers\": {n}, \"seconds\": {seconds}, \"status\": \"{:?}\", \"price\": {}, \"iterations\": {}}}",
        solver.solution.status,
        clarabel_competitive::price(&solver),
        solver.solution.iterations
    );
    Ok(())
}
