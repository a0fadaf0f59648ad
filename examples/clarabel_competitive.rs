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
//! Prints one JSON line: `{"customers", "seconds" (building the QP and solving it, not
//! reading the file), "status", "price" (the multiplier of Σ q = d), "iterations"}`.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SupportedConeT};
use std::time::Instant;

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
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        a.push(cells[ia].parse::<f64>()?);
        h.push(cells[ih].parse::<f64>()?);
    }
    let n = a.len();
    let start = Instant::now();
    // min ½ qᵀ diag(2h) q + aᵀq  s.t.  1ᵀq = d (zero cone), −q ≤ 0 (nonnegative cone).
    let p = CscMatrix::new(
        n,
        n,
        (0..=n).collect(),
        (0..n).collect(),
        h.iter().map(|h| 2.0 * h).collect(),
    );
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
        .build()?;
    let mut solver = DefaultSolver::new(&p, &a, &amat, &b, &cones, settings)?;
    solver.solve();
    let seconds = start.elapsed().as_secs_f64();
    // Clarabel: P q + a + Aᵀz = 0, so the price (multiplier of Σ q = d) is −z_0.
    println!(
        "{{\"customers\": {n}, \"seconds\": {seconds}, \"status\": \"{:?}\", \"price\": {}, \"iterations\": {}}}",
        solver.solution.status,
        -solver.solution.z[0],
        solver.solution.iterations
    );
    Ok(())
}
