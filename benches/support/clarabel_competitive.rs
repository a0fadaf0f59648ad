//! The competitive equilibrium of supply-function bidding as a Clarabel QP — the one
//! builder shared by `benches/allocator.rs` (`allocator/clarabel/n`) and
//! `examples/clarabel_competitive.rs` (the end-to-end reference of `cargo xtask bench`),
//! each of which includes this file with `#[path]`.
//!
//! li-chen-dahleh-2015 Theorem 1 with `C_i(q) = a_i q + h_i q²`:
//! `min Σ a_i q_i + h_i q_i²  s.t.  Σ q_i = d,  q_i ≥ 0`, in Clarabel's form
//! `min ½ qᵀ P q + aᵀq  s.t.  A q + s = b, s ∈ K` with `P = diag(2h)`, row 0 the equality
//! `1ᵀq = d` (zero cone) and rows `1..=n` the bounds `−q_i ≤ 0` (nonnegative cone).
//! Clarabel's stationarity `P q + a + Aᵀz = 0` makes the price (the multiplier of
//! `Σ q = d` in the kernel's convention) `−z_0` ([`price`]).

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, SupportedConeT};

/// The QP above with gap and feasibility tolerances `1e-9`, ready to `solve()`.
///
/// # Errors
/// Clarabel's, for settings or data it rejects (e.g. `a` and `h` of different lengths).
pub fn competitive_solver(
    a: &[f64],
    h: &[f64],
    d: f64,
) -> Result<DefaultSolver, Box<dyn std::error::Error>> {
    let n = a.len();
    if h.len() != n {
        return Err(format!("{} linear but {} quadratic coefficients", n, h.len()).into());
    }
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
    Ok(DefaultSolver::new(&p, a, &amat, &b, &cones, settings)?)
}

/// The price `p̄` (multiplier of `Σ q = d`) of a solved [`competitive_solver`]: `−z_0`.
pub fn price(solver: &DefaultSolver) -> f64 {
    -solver.solution.z[0]
}
