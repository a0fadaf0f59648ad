//! The interior-point method itself (feature `ipm`, which brings in faer's sparse
//! Cholesky): [`solve`] for a [`SeparableProblem`].

// Numerical kernels walk several parallel arrays by index.
#![allow(clippy::needless_range_loop)]

use super::{IpmSettings, IpmSolution, LinearRows, SeparableProblem};
use crate::certificate::{Certificate, Status};
use crate::error::ConvexError;
use crate::scalar::ConvexScalar;
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::sparse::linalg::cholesky::{
    factorize_symbolic_cholesky, CholeskySymbolicParams, LltRef, SymbolicCholesky,
    SymmetricOrdering,
};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Side};
use std::sync::Arc;

/// Solves a [`SeparableProblem`] by a primal–dual interior-point method.
///
/// # Method
/// Infeasible-start primal–dual path following with Mehrotra's predictor–corrector
/// (Mehrotra 1992, "On the implementation of a primal-dual interior point method", SIAM J.
/// Optim. 2(4); Wright 1997, *Primal-Dual Interior-Point Methods*, ch. 10; for convex
/// separable objectives the Newton matrix simply carries `f''` on its diagonal, as in
/// Vanderbei's LOQO). Inequality rows get slacks `s = h − G x ≥ 0`; finite bounds are
/// kept strictly by the iterate (`x − l > 0`, `u − x > 0`), as is the open domain of every
/// `f_j` (fraction-to-the-boundary rule on slacks, bound distances and domain). Each Newton
/// system is reduced, with `D = diag(f'' + ν_l/(x−l) + ν_u/(u−x) + ρ)` eliminated, to the
/// normal equations on the row multipliers `λ = (y, z)`:
/// `(C D⁻¹ Cᵀ + diag(0, S Z⁻¹) + δ) Δλ = r`, `C = [A; −G]`, factored by faer's sparse
/// Cholesky (AMD ordering and symbolic analysis once, numeric refactorisation each
/// iteration; for the demand-shaping arrow — per-customer rows plus 24 coupling rows —
/// the factor has O(24 N) entries). The tiny primal regularisation `ρ` handles linear terms
/// (`f'' = 0`) on free variables; `δ` handles dependent equality rows. As with every
/// normal-equations method, a variable that appears in very many rows (a dense column)
/// makes the normal matrix dense: keep such variables few (beyond 2²⁷ row pairs the solve
/// stops with `NumericalError`).
///
/// Safeguards: the start is centred (all products slack·multiplier equal); steps stay in
/// the wide neighbourhood of the central path (every product ≥ 10⁻³ × their mean) and
/// decrease the mean product sufficiently, `μ⁺ ≤ (1 − 0.01 α (1 − σ)) μ` (Wright's
/// algorithm IPF, ch. 6); `σ` is not allowed to drive `μ` far below the remaining
/// infeasibilities; when Mehrotra's corrected
/// direction allows only a short step, the plain centred direction (σ ≥ ½) is tried
/// (cf. Colombo & Gondzio 2008); for nonlinear terms (e.g. log utilities) the step is
/// shortened until the nonlinear remainder of `f'` along it is small against the current
/// residuals, which keeps Newton from overshooting far from the optimum.
///
/// Polishing: after convergence the active set is guessed (slack below multiplier), the
/// equality-constrained KKT system of that guess is solved by Newton's method with the same
/// factorisation machinery, wrong guesses are flipped (a few rounds), and the polished point
/// replaces the interior one when it is feasible, sign-correct and its certificate is at
/// least as good (as in OSQP, Stellato et al. 2020 §5.2). On quadratic problems this
/// returns the exact active-set solution: complementarity 0, residuals at rounding level.
///
/// # Termination
/// `Solved` when the scaled primal residual, the scaled stationarity residual and the
/// scaled total complementarity `Σ (slack · multiplier) / max(1, |objective|)` are at most
/// [`IpmSettings::tolerance`]. `Infeasible` when the row multipliers `(y, z)` are a Farkas
/// certificate: with `v = Aᵀy − Gᵀz` cancelled by bound multipliers where the bound is
/// finite, `bᵀy − hᵀz + lᵀν_l − uᵀν_u > 0` with no (or a negligible) uncancelled part.
/// `Unbounded` when the iterate diverges along a direction that is a ray of the feasible
/// set on which the objective keeps decreasing. `MaxIterations`; `NumericalError` when the
/// factorisation fails, a term is not finite at the iterate, or the steps stall.
///
/// # Units
/// The method runs on the problem rescaled to its own units (`problem_scales`: quantity
/// scale `X` from the right-hand sides or bounds, price scale `P` from the marginal values
/// `f_j'`, powers of two so the rescaling is exact), and the solution is scaled back. Every
/// `max(1, ·)` below is therefore `max(X, ·)` for quantities, `max(P, ·)` for prices and
/// `max(P·X, ·)` for objective values in the caller's units: the tolerances are relative to
/// the problem's own scale, the same for a deficit of `1e-12` as for `1e12`.
///
/// # Certificate
/// Computed (in the problem's units, see above) from the returned `x` and multipliers: `primal_infeasibility` is the largest
/// violation `|Ax − b|`, `max(0, Gx − h)` scaled by `max(1, |rhs|)`; `stationarity` is
/// `‖f'(x) − Aᵀy + Gᵀz − ν_l + ν_u‖_∞ / max(1, ‖multipliers‖_∞)`; `complementarity` the
/// largest product of a multiplier and its slack, over `max(1, |objective|)`;
/// `duality_gap` is `(Σ f(x) − g(y, z)) / max(1, |objective|)` with the Lagrangian dual
/// `g(y, z) = bᵀy − hᵀz + Σ_j min_{l_j ≤ ξ ≤ u_j} (f_j(ξ) − (Aᵀy − Gᵀz)_j ξ)`, each inner
/// minimum by [`ConvexScalar::inverse_derivative`] (a valid lower bound). Where an inner
/// minimum is −∞ (a term without curvature on an unbounded interval, whose stationarity
/// holds only to rounding), that term of the Lagrangian is evaluated at `x` instead.
///
/// # Errors
/// [`ConvexError`] naming the field for: an empty problem, lengths of `lower`, `upper`
/// and the row sets that differ from `objective.len()` (a row set with no rows may have
/// any number of columns, e.g. `LinearRows::default()`), NaN bounds, `lower > upper`,
/// bounds that leave no point of the open domain of `f_j`, a non-finite value or
/// derivative or negative curvature of `f_j` at the starting point, and a tolerance that
/// is not finite and positive.
///
/// ```
/// use dr_convex::ipm::{solve, IpmSettings, LinearRows, SeparableProblem};
/// use dr_convex::{ConvexScalar, LinearQuadraticCost};
/// use std::sync::Arc;
/// // Shed d = 3 among C_1 = q² and C_2 = 2 q² (q ≥ 0): q = (2, 1), price p = 4.
/// let objective: Vec<Arc<dyn ConvexScalar>> = vec![
///     Arc::new(LinearQuadraticCost::new(0.0, 1.0)?),
///     Arc::new(LinearQuadraticCost::new(0.0, 2.0)?),
/// ];
/// let mut equalities = LinearRows::new(2);
/// equalities.push_row(&[(0, 1.0), (1, 1.0)], 3.0)?;
/// let problem = SeparableProblem {
///     objective,
///     lower: vec![0.0; 2],
///     upper: vec![f64::INFINITY; 2],
///     equalities,
///     inequalities: LinearRows::new(2),
/// };
/// let sol = solve(&problem, &IpmSettings::default())?;
/// assert!((sol.x[0] - 2.0).abs() < 1e-8 && (sol.x[1] - 1.0).abs() < 1e-8);
/// assert!((sol.equality_multipliers[0] - 4.0).abs() < 1e-8);
/// assert!(sol.certificate.holds(1e-8));
/// # Ok::<(), dr_convex::ConvexError>(())
/// ```
pub fn solve(
    problem: &SeparableProblem,
    settings: &IpmSettings,
) -> Result<IpmSolution, ConvexError> {
    // Validation (and its error messages) in the caller's units.
    let prep = Prepared::new(problem, settings)?;
    let (xs, ps) = problem_scales(problem);
    if xs == 1.0 && ps == 1.0 {
        let mut ipm = Ipm::new(&prep);
        return Ok(ipm.run(settings));
    }
    drop(prep);
    let scaled = scaled_problem(problem, xs, ps)?;
    let prep = Prepared::new(&scaled, settings)?;
    let mut ipm = Ipm::new(&prep);
    let mut sol = ipm.run(settings);
    for v in &mut sol.x {
        *v *= xs;
    }
    for m in [
        &mut sol.equality_multipliers,
        &mut sol.inequality_multipliers,
        &mut sol.lower_bound_multipliers,
        &mut sol.upper_bound_multipliers,
    ] {
        for v in m.iter_mut() {
            *v *= ps;
        }
    }
    sol.objective *= xs * ps;
    Ok(sol)
}

/// The units of a problem, as powers of two (so that rescaling is exact):
/// - the quantity scale `X`: the largest `|rhs|` of the rows; when every right-hand side
///   is 0, the largest finite nonzero bound `|l_j|`, `|u_j|`; 1 when there is none;
/// - the price scale `P`: the largest `|f_j'(x̂_j)|` at a representative point `x̂_j` of
///   each variable's interval at scale `X` (the midpoint of a finite interval, else `X`
///   inside the one finite end, else 0), over the points inside `f_j`'s domain where it is
///   finite and nonzero; 1 when there is none.
///
/// [`solve`] runs the interior-point method on the problem in these units
/// (`x = X x̃`, `f̃_j(x̃) = f_j(X x̃)/(P X)`, rows `A x̃ = b/X`, multipliers `λ = P λ̃`), so
/// its tolerances — and the `max(1, ·)` guards inside the method, which are then at the
/// problem's own scale — mean the same relative accuracy whatever the units.
fn problem_scales(p: &SeparableProblem) -> (f64, f64) {
    let pow2 = |v: f64| -> f64 {
        if v.is_finite() && v > 0.0 {
            let e = v.log2().round().clamp(-1000.0, 1000.0);
            2f64.powi(e as i32)
        } else {
            1.0
        }
    };
    let rhs = norm_inf(p.equalities.rhs()).max(norm_inf(p.inequalities.rhs()));
    let x_scale = if rhs > 0.0 {
        rhs
    } else {
        p.lower
            .iter()
            .chain(&p.upper)
            .filter(|v| v.is_finite())
            .fold(0.0_f64, |m, v| m.max(v.abs()))
    };
    let xs = pow2(x_scale);
    let mut price = 0.0_f64;
    for (j, f) in p.objective.iter().enumerate() {
        let (l, u) = (p.lower[j], p.upper[j]);
        let (dl, du) = f.domain();
        let x = match (l.is_finite(), u.is_finite()) {
            (true, true) => 0.5 * (l + u),
            (true, false) => l + xs,
            (false, true) => u - xs,
            (false, false) => 0.0,
        };
        if x > dl && x < du {
            let g = f.derivative(x).abs();
            if g.is_finite() {
                price = price.max(g);
            }
        }
    }
    (xs, pow2(price))
}

/// `f(X x̃) / (P X)`: a term of [`SeparableProblem`] in the units of [`problem_scales`].
#[derive(Debug)]
struct ScaledTerm {
    inner: Arc<dyn ConvexScalar>,
    x_scale: f64,
    p_scale: f64,
}

impl ConvexScalar for ScaledTerm {
    fn value(&self, x: f64) -> f64 {
        self.inner.value(self.x_scale * x) / (self.p_scale * self.x_scale)
    }
    fn derivative(&self, x: f64) -> f64 {
        self.inner.derivative(self.x_scale * x) / self.p_scale
    }
    fn second_derivative(&self, x: f64) -> f64 {
        self.inner.second_derivative(self.x_scale * x) * self.x_scale / self.p_scale
    }
    fn domain(&self) -> (f64, f64) {
        let (lo, hi) = self.inner.domain();
        (lo / self.x_scale, hi / self.x_scale)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        self.inner
            .inverse_derivative(p * self.p_scale, lo * self.x_scale, hi * self.x_scale)
            / self.x_scale
    }
}

fn scaled_problem(p: &SeparableProblem, xs: f64, ps: f64) -> Result<SeparableProblem, ConvexError> {
    let rows = |r: &LinearRows| -> Result<LinearRows, ConvexError> {
        let mut out = LinearRows::new(r.ncols());
        for k in 0..r.nrows() {
            let (cols, vals) = r.row(k);
            let entries: Vec<(usize, f64)> =
                cols.iter().copied().zip(vals.iter().copied()).collect();
            out.push_row(&entries, r.rhs()[k] / xs)?;
        }
        Ok(out)
    };
    Ok(SeparableProblem {
        objective: p
            .objective
            .iter()
            .map(|f| -> Arc<dyn ConvexScalar> {
                Arc::new(ScaledTerm {
                    inner: Arc::clone(f),
                    x_scale: xs,
                    p_scale: ps,
                })
            })
            .collect(),
        lower: p.lower.iter().map(|v| v / xs).collect(),
        upper: p.upper.iter().map(|v| v / xs).collect(),
        equalities: rows(&p.equalities)?,
        inequalities: rows(&p.inequalities)?,
    })
}

/// Primal regularisation `ρ` added to the diagonal `D` (relative to `max(1, max f'')`).
const PRIMAL_REGULARIZATION: f64 = 1e-10;
/// Neighbourhood parameter `γ` of the wide neighbourhood of the central path.
const CENTRALITY: f64 = 1e-3;
/// Largest number of (row, row) contributions of the normal matrix `C D⁻¹ Cᵀ`
/// (`Σ_j nnz_j (nnz_j + 1)/2`); beyond it the solve reports `NumericalError`.
const MAX_NORMAL_PAIRS: usize = 1 << 27;
/// Static regularisation `δ` of the equality rows of the normal matrix.
const DUAL_REGULARIZATION: f64 = 1e-13;

/// Validated problem data: `C = [A; −G]` by columns, bounds classification, start point.
struct Prepared<'a> {
    f: &'a [Arc<dyn ConvexScalar>],
    lower: &'a [f64],
    upper: &'a [f64],
    n: usize,
    me: usize,
    mi: usize,
    /// Right-hand sides `(b, h)`.
    rhs: Vec<f64>,
    c_ptr: Vec<usize>,
    c_row: Vec<usize>,
    c_val: Vec<f64>,
    fixed: Vec<bool>,
    has_l: Vec<bool>,
    has_u: Vec<bool>,
    /// Open domains of the terms.
    dom_lo: Vec<f64>,
    dom_hi: Vec<f64>,
    /// Effective open/closed interval ends used by the step rule: bounds ∩ domain.
    step_lo: Vec<f64>,
    step_hi: Vec<f64>,
    x0: Vec<f64>,
}

impl<'a> Prepared<'a> {
    fn new(problem: &'a SeparableProblem, settings: &IpmSettings) -> Result<Self, ConvexError> {
        crate::error::check_positive(|| "settings.tolerance".into(), settings.tolerance)?;
        problem.check_shape()?;
        let n = problem.objective.len();
        let me = problem.equalities.nrows();
        let mi = problem.inequalities.nrows();
        let mut rhs = Vec::with_capacity(me + mi);
        rhs.extend_from_slice(problem.equalities.rhs());
        rhs.extend_from_slice(problem.inequalities.rhs());
        // C = [A; −G] in compressed-sparse-column form (rows ascending in each column).
        let mut counts = vec![0usize; n + 1];
        for rows in [&problem.equalities, &problem.inequalities] {
            for r in 0..rows.nrows() {
                for &c in rows.row(r).0 {
                    counts[c + 1] += 1;
                }
            }
        }
        for j in 0..n {
            counts[j + 1] += counts[j];
        }
        let c_ptr = counts;
        let nnz = c_ptr[n];
        let mut c_row = vec![0usize; nnz];
        let mut c_val = vec![0.0; nnz];
        let mut next = c_ptr.clone();
        for (offset, sign, rows) in [
            (0, 1.0, &problem.equalities),
            (me, -1.0, &problem.inequalities),
        ] {
            for r in 0..rows.nrows() {
                let (cols, vals) = rows.row(r);
                for (&c, &v) in cols.iter().zip(vals) {
                    crate::error::check_finite(|| format!("row {r} coefficient of x[{c}]"), v)?;
                    c_row[next[c]] = offset + r;
                    c_val[next[c]] = sign * v;
                    next[c] += 1;
                }
            }
        }
        let mut fixed = vec![false; n];
        let mut has_l = vec![false; n];
        let mut has_u = vec![false; n];
        let mut dom_lo = vec![f64::NEG_INFINITY; n];
        let mut dom_hi = vec![f64::INFINITY; n];
        let mut step_lo = vec![f64::NEG_INFINITY; n];
        let mut step_hi = vec![f64::INFINITY; n];
        let mut x0 = vec![0.0; n];
        for j in 0..n {
            let (l, u) = (problem.lower[j], problem.upper[j]);
            if l.is_nan() || u.is_nan() || l > u || l == f64::INFINITY || u == f64::NEG_INFINITY {
                return Err(ConvexError::InvertedBounds {
                    field: format!("bounds of x[{j}]"),
                    lower: l,
                    upper: u,
                });
            }
            let f = &problem.objective[j];
            let (dlo, dhi) = f.domain();
            dom_lo[j] = dlo;
            dom_hi[j] = dhi;
            let lo = l.max(dlo);
            let hi = u.min(dhi);
            let x = if l == u {
                if !(l > dlo && l < dhi) {
                    return Err(ConvexError::InvertedBounds {
                        field: format!(
                            "bounds of x[{j}] ∩ domain of objective[{j}] ({dlo}, {dhi})"
                        ),
                        lower: l,
                        upper: u,
                    });
                }
                fixed[j] = true;
                l
            } else {
                if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
                    return Err(ConvexError::InvertedBounds {
                        field: format!(
                            "bounds of x[{j}] ∩ domain of objective[{j}] ({dlo}, {dhi})"
                        ),
                        lower: l,
                        upper: u,
                    });
                }
                has_l[j] = l.is_finite();
                has_u[j] = u.is_finite();
                step_lo[j] = lo;
                step_hi[j] = hi;
                start_point(lo, hi)
            };
            x0[j] = x;
            let (v, d, h) = (f.value(x), f.derivative(x), f.second_derivative(x));
            crate::error::check_finite(|| format!("objective[{j}] value at start point {x}"), v)?;
            crate::error::check_finite(
                || format!("objective[{j}] derivative at start point {x}"),
                d,
            )?;
            crate::error::check_nonnegative(
                || format!("objective[{j}] second derivative at start point {x}"),
                h,
            )?;
        }
        Ok(Self {
            f: &problem.objective,
            lower: &problem.lower,
            upper: &problem.upper,
            n,
            me,
            mi,
            rhs,
            c_ptr,
            c_row,
            c_val,
            fixed,
            has_l,
            has_u,
            dom_lo,
            dom_hi,
            step_lo,
            step_hi,
            x0,
        })
    }

    fn m(&self) -> usize {
        self.me + self.mi
    }

    /// `out = C x`.
    fn c_mul(&self, x: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (j, &xj) in x.iter().enumerate() {
            if xj != 0.0 {
                for k in self.c_ptr[j]..self.c_ptr[j + 1] {
                    out[self.c_row[k]] += self.c_val[k] * xj;
                }
            }
        }
    }

    /// `out = Cᵀ λ`.
    fn ct_mul(&self, lam: &[f64], out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            let mut acc = 0.0;
            for k in self.c_ptr[j]..self.c_ptr[j + 1] {
                acc += self.c_val[k] * lam[self.c_row[k]];
            }
            *o = acc;
        }
    }
}

/// A point of `(lo, hi)` (open where the end is a domain end): close to 0, at least
/// `min(1, (hi − lo)/4)` inside.
fn start_point(lo: f64, hi: f64) -> f64 {
    let margin = if lo.is_finite() && hi.is_finite() {
        (0.25 * (hi - lo)).min(1.0)
    } else {
        1.0
    };
    let a = if lo.is_finite() {
        lo + margin
    } else {
        f64::NEG_INFINITY
    };
    let b = if hi.is_finite() {
        hi - margin
    } else {
        f64::INFINITY
    };
    0.0_f64.max(a).min(b)
}

/// The normal matrix `C D⁻¹ Cᵀ + E` (lower triangle, CSC) and its sparse Cholesky factor.
struct NormalEquations {
    m: usize,
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    vals: Vec<f64>,
    /// For each variable `j` and each pair `a ≤ b` of its rows: position in `vals`.
    pair_ptr: Vec<usize>,
    pair_pos: Vec<usize>,
    diag_pos: Vec<usize>,
    symbolic: Option<SymbolicCholesky<usize>>,
    l_values: Vec<f64>,
    factor_buf: MemBuffer,
    solve_buf: MemBuffer,
}

impl NormalEquations {
    fn new(p: &Prepared<'_>) -> Option<Self> {
        let (n, m) = (p.n, p.m());
        // Row-wise view of C (columns ascending) to build the pattern column by column.
        let mut r_ptr = vec![0usize; m + 1];
        for &r in &p.c_row {
            r_ptr[r + 1] += 1;
        }
        for r in 0..m {
            r_ptr[r + 1] += r_ptr[r];
        }
        let mut r_col = vec![0usize; p.c_row.len()];
        let mut fill = r_ptr.clone();
        for j in 0..n {
            for k in p.c_ptr[j]..p.c_ptr[j + 1] {
                let r = p.c_row[k];
                r_col[fill[r]] = j;
                fill[r] += 1;
            }
        }
        let mut pair_ptr = vec![0usize; n + 1];
        for j in 0..n {
            let len = p.c_ptr[j + 1] - p.c_ptr[j];
            pair_ptr[j + 1] = pair_ptr[j] + len * (len + 1) / 2;
        }
        // A variable in very many rows (a dense column) makes the normal matrix dense;
        // refuse (NumericalError) rather than exhaust memory.
        if pair_ptr[n] > MAX_NORMAL_PAIRS {
            return None;
        }
        let mut pair_pos = vec![0usize; pair_ptr[n]];
        let mut cursor = vec![0usize; n];
        let mut mark = vec![usize::MAX; m];
        let mut pos_of = vec![0usize; m];
        let mut col_ptr = vec![0usize; m + 1];
        let mut row_idx: Vec<usize> = Vec::new();
        let mut diag_pos = vec![0usize; m];
        for k in 0..m {
            let start = row_idx.len();
            row_idx.push(k);
            mark[k] = k;
            for &j in &r_col[r_ptr[k]..r_ptr[k + 1]] {
                let a = cursor[j];
                for &r in &p.c_row[p.c_ptr[j] + a..p.c_ptr[j + 1]] {
                    if mark[r] != k {
                        mark[r] = k;
                        row_idx.push(r);
                    }
                }
            }
            row_idx[start..].sort_unstable();
            for (q, &r) in row_idx[start..].iter().enumerate() {
                pos_of[r] = start + q;
            }
            diag_pos[k] = pos_of[k];
            for &j in &r_col[r_ptr[k]..r_ptr[k + 1]] {
                let a = cursor[j];
                let len = p.c_ptr[j + 1] - p.c_ptr[j];
                // Pairs (a, b), b ≥ a, are stored at offset tri(a) + (b − a).
                let base = pair_ptr[j] + a * (2 * len - a + 1) / 2;
                for (q, &r) in p.c_row[p.c_ptr[j] + a..p.c_ptr[j + 1]].iter().enumerate() {
                    pair_pos[base + q] = pos_of[r];
                }
                cursor[j] += 1;
            }
            col_ptr[k + 1] = row_idx.len();
        }
        let nnz = row_idx.len();
        let symbolic = if m > 0 {
            let sym = SymbolicSparseColMatRef::new_checked(m, m, &col_ptr, None, &row_idx);
            factorize_symbolic_cholesky(
                sym,
                Side::Lower,
                SymmetricOrdering::Amd,
                CholeskySymbolicParams::default(),
            )
            .ok()
        } else {
            None
        };
        let (l_len, factor_req, solve_req) = match &symbolic {
            Some(s) => (
                s.len_val(),
                s.factorize_numeric_llt_scratch::<f64>(Par::Seq, Default::default()),
                s.solve_in_place_scratch::<f64>(1, Par::Seq),
            ),
            None if m == 0 => (0, StackReq::EMPTY, StackReq::EMPTY),
            None => return None,
        };
        Some(Self {
            m,
            col_ptr,
            row_idx,
            vals: vec![0.0; nnz],
            pair_ptr,
            pair_pos,
            diag_pos,
            symbolic,
            l_values: vec![0.0; l_len],
            factor_buf: MemBuffer::try_new(factor_req).ok()?,
            solve_buf: MemBuffer::try_new(solve_req).ok()?,
        })
    }
}

impl NormalEquations {
    /// Assembles `C D⁻¹ Cᵀ + diag(e)` and refactors it numerically; false on failure.
    /// With `weights`, row `r` of `C` is scaled by `weights[r]` (0 drops the row).
    fn factor(
        &mut self,
        p: &Prepared<'_>,
        dinv: &[f64],
        e: &[f64],
        weights: Option<&[f64]>,
    ) -> bool {
        let Some(symbolic) = &self.symbolic else {
            return true;
        };
        self.vals.iter_mut().for_each(|v| *v = 0.0);
        for (j, &d) in dinv.iter().enumerate() {
            if d == 0.0 {
                continue;
            }
            let range = p.c_ptr[j]..p.c_ptr[j + 1];
            let vals = &p.c_val[range.clone()];
            let pos = &self.pair_pos[self.pair_ptr[j]..self.pair_ptr[j + 1]];
            let mut q = 0;
            match weights {
                None => {
                    for (a, &va) in vals.iter().enumerate() {
                        let ca = va * d;
                        for &vb in &vals[a..] {
                            self.vals[pos[q]] += ca * vb;
                            q += 1;
                        }
                    }
                }
                Some(w) => {
                    let rows = &p.c_row[range];
                    for (a, &va) in vals.iter().enumerate() {
                        let ca = va * d * w[rows[a]];
                        for (&vb, &rb) in vals[a..].iter().zip(&rows[a..]) {
                            self.vals[pos[q]] += ca * vb * w[rb];
                            q += 1;
                        }
                    }
                }
            }
        }
        let mut max_diag = 0.0_f64;
        for (r, &er) in e.iter().enumerate() {
            let v = &mut self.vals[self.diag_pos[r]];
            *v += er;
            max_diag = max_diag.max(*v);
        }
        if !max_diag.is_finite() {
            return false;
        }
        let regularization = LltRegularization {
            dynamic_regularization_delta: 1e-8 * max_diag.max(1e-300),
            dynamic_regularization_epsilon: 0.0 * max_diag,
        };
        let sym = SymbolicSparseColMatRef::new_checked(
            self.m,
            self.m,
            &self.col_ptr,
            None,
            &self.row_idx,
        );
        let mat = SparseColMatRef::new(sym, &self.vals);
        symbolic
            .factorize_numeric_llt(
                &mut self.l_values,
                mat,
                Side::Lower,
                regularization,
                Par::Seq,
                MemStack::new(&mut self.factor_buf),
                Default::default(),
            )
            .is_ok()
    }

    /// Solves with the current factor, in place.
    fn solve(&mut self, rhs: &mut [f64]) {
        let Some(symbolic) = &self.symbolic else {
            return;
        };
        LltRef::new(symbolic, &self.l_values).solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(rhs, self.m, 1),
            Par::Seq,
            MemStack::new(&mut self.solve_buf),
        );
    }
}

/// A Newton direction.
#[derive(Clone)]
struct Direction {
    dx: Vec<f64>,
    dlam: Vec<f64>,
    ds: Vec<f64>,
    dnl: Vec<f64>,
    dnu: Vec<f64>,
}

impl Direction {
    fn zeros(n: usize, m: usize, mi: usize) -> Self {
        Self {
            dx: vec![0.0; n],
            dlam: vec![0.0; m],
            ds: vec![0.0; mi],
            dnl: vec![0.0; n],
            dnu: vec![0.0; n],
        }
    }
}

/// Iterates and work vectors of the interior-point method.
struct Ipm<'p, 'a> {
    p: &'p Prepared<'a>,
    x: Vec<f64>,
    /// `λ = (y, z)`.
    lam: Vec<f64>,
    s: Vec<f64>,
    nl: Vec<f64>,
    nu: Vec<f64>,
    g: Vec<f64>,
    hess: Vec<f64>,
    dinv: Vec<f64>,
    rd: Vec<f64>,
    rp: Vec<f64>,
    ctl: Vec<f64>,
    /// `Cᵀ Δλ` of the last direction.
    ctd: Vec<f64>,
    /// Diagonal added to the normal matrix (`δ` on equality rows, `s/z` on inequalities).
    e: Vec<f64>,
    tmp_m: Vec<f64>,
    tmp_n: Vec<f64>,
    r_sz: Vec<f64>,
    r_l: Vec<f64>,
    r_u: Vec<f64>,
    aff: Direction,
    dir: Direction,
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0_f64, |a, &b| a.max(b.abs()))
}

impl<'p, 'a> Ipm<'p, 'a> {
    fn new(p: &'p Prepared<'a>) -> Self {
        let (n, m, mi, me) = (p.n, p.m(), p.mi, p.me);
        let x = p.x0.clone();
        let mut cx = vec![0.0; m];
        p.c_mul(&x, &mut cx);
        // Slacks s = h − G x = h + (C x)_ineq, pushed to at least 1.
        let s: Vec<f64> = (0..mi)
            .map(|i| (p.rhs[me + i] + cx[me + i]).max(1.0))
            .collect();
        // Centred start: every product slack·multiplier equals μ₀ = ‖f'(x₀)‖_∞ × the
        // geometric mean of the slacks (multipliers of the order of the gradients).
        let mut g_scale = 1.0_f64;
        let (mut log_sum, mut count) = (0.0, 0usize);
        for j in 0..n {
            if !p.fixed[j] {
                g_scale = g_scale.max(p.f[j].derivative(x[j]).abs());
            }
            if p.has_l[j] {
                log_sum += (x[j] - p.lower[j]).ln();
                count += 1;
            }
            if p.has_u[j] {
                log_sum += (p.upper[j] - x[j]).ln();
                count += 1;
            }
        }
        for &si in &s {
            log_sum += si.ln();
            count += 1;
        }
        let mu0 = if count > 0 {
            g_scale * (log_sum / count as f64).exp()
        } else {
            1.0
        };
        let mut lam = vec![0.0; m];
        for i in 0..mi {
            lam[me + i] = mu0 / s[i];
        }
        let nl = (0..n)
            .map(|j| {
                if p.has_l[j] {
                    mu0 / (x[j] - p.lower[j])
                } else {
                    0.0
                }
            })
            .collect();
        let nu = (0..n)
            .map(|j| {
                if p.has_u[j] {
                    mu0 / (p.upper[j] - x[j])
                } else {
                    0.0
                }
            })
            .collect();
        Self {
            p,
            x,
            lam,
            s,
            nl,
            nu,
            g: vec![0.0; n],
            hess: vec![0.0; n],
            dinv: vec![0.0; n],
            rd: vec![0.0; n],
            rp: vec![0.0; m],
            ctl: vec![0.0; n],
            ctd: vec![0.0; n],
            e: Vec::with_capacity(m),
            tmp_m: vec![0.0; m],
            tmp_n: vec![0.0; n],
            r_sz: vec![0.0; mi],
            r_l: vec![0.0; n],
            r_u: vec![0.0; n],
            aff: Direction::zeros(n, m, mi),
            dir: Direction::zeros(n, m, mi),
        }
    }

    /// `f'`, `f''` at `x` and the objective; `None` when something is not finite.
    fn evaluate(&mut self) -> Option<f64> {
        let p = self.p;
        let mut obj = 0.0;
        for j in 0..p.n {
            let f = &p.f[j];
            let xj = self.x[j];
            let (v, d, h) = (f.value(xj), f.derivative(xj), f.second_derivative(xj));
            if !(v.is_finite() && d.is_finite() && h.is_finite()) {
                return None;
            }
            obj += v;
            self.g[j] = d;
            self.hess[j] = h.max(0.0);
        }
        Some(obj)
    }

    /// Residuals `r_d = f' − Cᵀλ − ν_l + ν_u`, `r_p = (Ax − b, Gx + s − h)`.
    fn residuals(&mut self) {
        let p = self.p;
        p.ct_mul(&self.lam, &mut self.ctl);
        for j in 0..p.n {
            self.rd[j] = if p.fixed[j] {
                0.0
            } else {
                self.g[j] - self.ctl[j] - self.nl[j] + self.nu[j]
            };
        }
        p.c_mul(&self.x, &mut self.rp);
        for r in 0..p.me {
            self.rp[r] -= p.rhs[r];
        }
        for i in 0..p.mi {
            let r = p.me + i;
            self.rp[r] = -self.rp[r] + self.s[i] - p.rhs[r];
        }
    }

    fn wl(&self, j: usize) -> f64 {
        self.x[j] - self.p.lower[j]
    }

    fn wu(&self, j: usize) -> f64 {
        self.p.upper[j] - self.x[j]
    }

    /// Sum of the complementarity products.
    fn complementarity_sum(&self) -> f64 {
        let p = self.p;
        let mut sum = 0.0;
        for i in 0..p.mi {
            sum += self.s[i] * self.lam[p.me + i];
        }
        for j in 0..p.n {
            if p.has_l[j] {
                sum += self.wl(j) * self.nl[j];
            }
            if p.has_u[j] {
                sum += self.wu(j) * self.nu[j];
            }
        }
        sum
    }

    /// Solves the reduced Newton system for the right-hand sides in `rd`, `rp`, `r_sz`,
    /// `r_l`, `r_u`, into `self.aff` when `affine`, else into `self.dir`.
    fn direction(&mut self, ne: &mut NormalEquations, affine: bool) {
        let p = self.p;
        let (me, mi) = (p.me, p.mi);
        let mut d = std::mem::replace(
            if affine { &mut self.aff } else { &mut self.dir },
            Direction::zeros(0, 0, 0),
        );
        // rhs1 = −r_d + r_l/w_l − r_u/w_u; t = D⁻¹ rhs1 (kept in tmp_n).
        for j in 0..p.n {
            if p.fixed[j] {
                self.tmp_n[j] = 0.0;
                continue;
            }
            let mut r = -self.rd[j];
            if p.has_l[j] {
                r += self.r_l[j] / self.wl(j);
            }
            if p.has_u[j] {
                r -= self.r_u[j] / self.wu(j);
            }
            self.tmp_n[j] = r;
            d.dx[j] = self.dinv[j] * r;
        }
        // rhs_λ = (−r_pe, r_pi + r_sz/z) − C t.
        p.c_mul(&d.dx, &mut self.tmp_m);
        for r in 0..me {
            d.dlam[r] = -self.rp[r] - self.tmp_m[r];
        }
        for i in 0..mi {
            let r = me + i;
            d.dlam[r] = self.rp[r] + self.r_sz[i] / self.lam[r] - self.tmp_m[r];
        }
        ne.solve(&mut d.dlam);
        // Δx = D⁻¹ (rhs1 + Cᵀ Δλ).
        p.ct_mul(&d.dlam, &mut self.ctd);
        for j in 0..p.n {
            d.dx[j] = if p.fixed[j] {
                0.0
            } else {
                self.dinv[j] * (self.tmp_n[j] + self.ctd[j])
            };
        }
        // Δs from the linearised complementarity, z Δs + s Δz = r_sz (equal to
        // −r_pi − G Δx when the reduced system is solved exactly; saves a product).
        for i in 0..mi {
            let r = me + i;
            d.ds[i] = (self.r_sz[i] - self.s[i] * d.dlam[r]) / self.lam[r];
        }
        for j in 0..p.n {
            d.dnl[j] = if p.has_l[j] {
                (self.r_l[j] - self.nl[j] * d.dx[j]) / self.wl(j)
            } else {
                0.0
            };
            d.dnu[j] = if p.has_u[j] {
                (self.r_u[j] + self.nu[j] * d.dx[j]) / self.wu(j)
            } else {
                0.0
            };
        }
        if affine {
            self.aff = d;
        } else {
            self.dir = d;
        }
    }

    /// Largest primal and dual steps in `(0, 1]` keeping a fraction `tau` of the distance
    /// to every boundary (slacks, bounds, domain, multipliers).
    fn step_lengths(&self, d: &Direction, tau: f64) -> (f64, f64) {
        let p = self.p;
        let (mut ap, mut ad) = (1.0_f64, 1.0_f64);
        for i in 0..p.mi {
            if d.ds[i] < 0.0 {
                ap = ap.min(-tau * self.s[i] / d.ds[i]);
            }
            let dz = d.dlam[p.me + i];
            if dz < 0.0 {
                ad = ad.min(-tau * self.lam[p.me + i] / dz);
            }
        }
        for j in 0..p.n {
            if p.fixed[j] {
                continue;
            }
            let dx = d.dx[j];
            if dx < 0.0 && p.step_lo[j].is_finite() {
                ap = ap.min(-tau * (self.x[j] - p.step_lo[j]) / dx);
            } else if dx > 0.0 && p.step_hi[j].is_finite() {
                ap = ap.min(tau * (p.step_hi[j] - self.x[j]) / dx);
            }
            if p.has_l[j] && d.dnl[j] < 0.0 {
                ad = ad.min(-tau * self.nl[j] / d.dnl[j]);
            }
            if p.has_u[j] && d.dnu[j] < 0.0 {
                ad = ad.min(-tau * self.nu[j] / d.dnu[j]);
            }
        }
        (ap.max(0.0), ad.max(0.0))
    }

    fn run(&mut self, settings: &IpmSettings) -> IpmSolution {
        let p = self.p;
        let (n, me, mi) = (p.n, p.me, p.mi);
        let Some(mut ne) = NormalEquations::new(p) else {
            return self.finish(0, Status::NumericalError);
        };
        let pairs =
            mi + p.has_l.iter().filter(|&&b| b).count() + p.has_u.iter().filter(|&&b| b).count();
        let tol = settings.tolerance;
        let x_scale = norm_inf(&p.x0).max(norm_inf(&p.rhs)).max(1.0);
        let mut status = Status::MaxIterations;
        let mut iterations = 0;
        let mut stalls = 0;
        let mut curvature_scale = 1.0_f64;
        loop {
            let Some(obj) = self.evaluate() else {
                status = Status::NumericalError;
                break;
            };
            self.residuals();
            let mut pinf = 0.0_f64;
            for (r, &v) in self.rp.iter().enumerate() {
                pinf = pinf.max(v.abs() / p.rhs[r].abs().max(1.0));
            }
            let dual_norm = norm_inf(&self.lam)
                .max(norm_inf(&self.nl))
                .max(norm_inf(&self.nu));
            let dinf = norm_inf(&self.rd) / dual_norm.max(1.0);
            let comp_sum = self.complementarity_sum();
            let gap = comp_sum / obj.abs().max(1.0);
            if pinf <= tol && dinf <= tol && gap <= tol {
                status = Status::Solved;
                break;
            }
            if iterations >= settings.max_iterations {
                break;
            }
            // Divergence tests.
            if pinf > 1e-6 && self.farkas_ray() {
                status = Status::Infeasible;
                break;
            }
            let x_norm = norm_inf(&self.x);
            if x_norm > 1e6 * x_scale
                && pinf <= 1e-6
                && iterations > 0
                && (self.primal_ray(x_norm) || x_norm > 1e12 * x_scale)
            {
                status = Status::Unbounded;
                break;
            }
            // D = f'' + ν_l/w_l + ν_u/w_u + ρ.
            for j in 0..n {
                if !p.fixed[j] {
                    curvature_scale = curvature_scale.max(self.hess[j]);
                }
            }
            let mut rho = PRIMAL_REGULARIZATION * curvature_scale;
            let mut e = std::mem::take(&mut self.e);
            e.clear();
            e.resize(me, DUAL_REGULARIZATION);
            e.extend((0..mi).map(|i| self.s[i] / self.lam[me + i]));
            let mut factored = false;
            for _ in 0..4 {
                for j in 0..n {
                    self.dinv[j] = if p.fixed[j] {
                        0.0
                    } else {
                        let mut d = self.hess[j] + rho;
                        if p.has_l[j] {
                            d += self.nl[j] / self.wl(j);
                        }
                        if p.has_u[j] {
                            d += self.nu[j] / self.wu(j);
                        }
                        1.0 / d
                    };
                }
                if ne.factor(p, &self.dinv, &e, None) {
                    factored = true;
                    break;
                }
                rho *= 100.0;
                e[..me].iter_mut().for_each(|v| *v *= 100.0);
            }
            self.e = e;
            if !factored {
                status = Status::NumericalError;
                break;
            }
            let mu = if pairs > 0 {
                comp_sum / pairs as f64
            } else {
                0.0
            };
            // Predictor (affine scaling).
            for i in 0..mi {
                self.r_sz[i] = -self.s[i] * self.lam[me + i];
            }
            for j in 0..n {
                self.r_l[j] = if p.has_l[j] {
                    -self.wl(j) * self.nl[j]
                } else {
                    0.0
                };
                self.r_u[j] = if p.has_u[j] {
                    -self.wu(j) * self.nu[j]
                } else {
                    0.0
                };
            }
            self.direction(&mut ne, true);
            let tau = (1.0 - mu.min(0.01)).clamp(0.99, 0.9999);
            let level = norm_inf(&self.rd).max(dual_norm.max(1.0) * pinf.max(gap));
            let floor = 0.1 * tol * dual_norm.max(1.0);
            let mut alpha;
            if pairs > 0 {
                let (ap, ad) = self.step_lengths(&self.aff, 1.0);
                let a = ap.min(ad);
                // Mehrotra's σ = (μ_aff/μ)³, but μ is not pushed further down while the
                // complementarity gap is already far below the infeasibilities (which
                // would only strand the iterate at the boundary).
                let lagging = if gap < 1e-6 {
                    (1e-4 * pinf.max(dinf) / gap.max(f64::MIN_POSITIVE)).min(1.0)
                } else {
                    0.0
                };
                let sigma = (self.centrality_along(&self.aff, a).1 / mu)
                    .clamp(0.0, 1.0)
                    .powi(3)
                    .max(lagging);
                // Mehrotra's corrector: target σμ plus the second-order term.
                self.set_complementarity_rhs(sigma * mu, true);
                self.direction(&mut ne, false);
                alpha = self.step_size(tau, pairs, level, floor, mu, sigma);
                // Safeguard (cf. Colombo & Gondzio 2008): when the corrected direction only
                // allows a short step, try the plain centred Newton direction (σ ≥ ½),
                // which always admits a step inside the neighbourhood.
                if alpha < 0.1 {
                    let corrected = self.dir.clone();
                    let centring = sigma.clamp(0.5, 0.9);
                    self.set_complementarity_rhs(centring * mu, false);
                    self.direction(&mut ne, false);
                    let centred = self.step_size(tau, pairs, level, floor, mu, centring);
                    if centred > alpha {
                        alpha = centred;
                    } else {
                        self.dir = corrected;
                    }
                }
            } else {
                self.dir = self.aff.clone();
                alpha = self.step_size(tau, pairs, level, floor, 0.0, 0.0);
            }
            for j in 0..n {
                self.x[j] += alpha * self.dir.dx[j];
            }
            let d = &self.dir;
            for (l, dl) in self.lam.iter_mut().zip(&d.dlam) {
                *l += alpha * dl;
            }
            for (s, ds) in self.s.iter_mut().zip(&d.ds) {
                *s += alpha * ds;
            }
            for j in 0..n {
                self.nl[j] += alpha * d.dnl[j];
                self.nu[j] += alpha * d.dnu[j];
            }
            iterations += 1;
            if alpha < 1e-10 {
                stalls += 1;
                if stalls >= 5 {
                    status = if self.farkas_ray() {
                        Status::Infeasible
                    } else {
                        Status::NumericalError
                    };
                    break;
                }
            } else {
                stalls = 0;
            }
        }
        let solution = self.finish(iterations, status);
        // Polish a converged point; also try to rescue one that stalled or ran out of
        // iterations close to convergence (kept only if its own certificate meets the
        // tolerance).
        let near = solution.certificate.max_residual() <= 1e-4;
        if (status == Status::Solved
            || (near && matches!(status, Status::MaxIterations | Status::NumericalError)))
            && self.x.iter().all(|v| v.is_finite())
        {
            if let Some(polished) = self.polish(&mut ne, iterations) {
                let r = polished.certificate.max_residual();
                if (status == Status::Solved && r <= solution.certificate.max_residual())
                    || (status != Status::Solved && r <= tol)
                {
                    return polished;
                }
            }
        }
        solution
    }

    /// Right-hand sides of the complementarity rows for the target `t`:
    /// `t − w ν` (and `− Δw_aff Δν_aff` when `second_order`).
    fn set_complementarity_rhs(&mut self, t: f64, second_order: bool) {
        let p = self.p;
        let me = p.me;
        let a = &self.aff;
        let c = if second_order { 1.0 } else { 0.0 };
        for i in 0..p.mi {
            self.r_sz[i] = t - self.s[i] * self.lam[me + i] - c * a.ds[i] * a.dlam[me + i];
        }
        for j in 0..p.n {
            if p.has_l[j] {
                self.r_l[j] = t - (self.x[j] - p.lower[j]) * self.nl[j] - c * a.dx[j] * a.dnl[j];
            }
            if p.has_u[j] {
                self.r_u[j] = t - (p.upper[j] - self.x[j]) * self.nu[j] + c * a.dx[j] * a.dnu[j];
            }
        }
    }

    /// The step length along `self.dir`: the fraction `tau` to the boundary, shortened to
    /// stay in the wide neighbourhood of the central path (every product slack·multiplier
    /// ≥ γ · their mean, Wright 1997 ch. 5 — this keeps Mehrotra's steps from cycling on
    /// degenerate problems) and then until `f` is finite at the new point (rounding at an
    /// open domain end) and the nonlinear remainder of `f'` along the step,
    /// `e_j(α) = f'(x_j + αΔx_j) − f'(x_j) − α f''(x_j) Δx_j`, is small against the
    /// current error `level`: `‖e(α)‖ ≤ ½ α level`. Quadratic and linear terms have
    /// `e ≡ 0`, so this only bites for strongly nonlinear terms far from the optimum.
    #[allow(clippy::too_many_arguments)]
    fn step_size(
        &self,
        tau: f64,
        pairs: usize,
        level: f64,
        floor: f64,
        mu: f64,
        sigma: f64,
    ) -> f64 {
        let p = self.p;
        let (ap, ad) = self.step_lengths(&self.dir, tau);
        let mut alpha = ap.min(ad);
        if pairs > 0 {
            let (min0, mean0) = self.centrality_along(&self.dir, 0.0);
            let ratio = min0 / mean0;
            let gamma = if ratio.is_finite() {
                CENTRALITY.min(0.5 * ratio)
            } else {
                CENTRALITY
            };
            for _ in 0..80 {
                let (min, mean) = self.centrality_along(&self.dir, alpha);
                if min >= gamma * mean && mean <= (1.0 - 0.01 * alpha * (1.0 - sigma)) * mu {
                    break;
                }
                alpha *= 0.8;
            }
        }
        for _ in 0..60 {
            let mut remainder = 0.0_f64;
            let mut finite = true;
            for j in 0..p.n {
                if p.fixed[j] {
                    continue;
                }
                let xj = self.x[j] + alpha * self.dir.dx[j];
                let f = &p.f[j];
                let d = f.derivative(xj);
                if !(d.is_finite() && xj > p.dom_lo[j] && xj < p.dom_hi[j]) {
                    finite = false;
                    break;
                }
                let e = d - self.g[j] - alpha * self.hess[j] * self.dir.dx[j];
                remainder = remainder.max(e.abs());
            }
            if finite && remainder <= (0.5 * alpha * level).max(floor) {
                return alpha;
            }
            alpha *= 0.5;
        }
        0.0
    }

    /// Smallest and mean complementarity product after a step `alpha` along `d`.
    fn centrality_along(&self, d: &Direction, alpha: f64) -> (f64, f64) {
        let p = self.p;
        let (mut min, mut sum, mut count) = (f64::INFINITY, 0.0, 0usize);
        let mut add = |v: f64| {
            min = min.min(v);
            sum += v;
            count += 1;
        };
        for i in 0..p.mi {
            add((self.s[i] + alpha * d.ds[i]) * (self.lam[p.me + i] + alpha * d.dlam[p.me + i]));
        }
        for j in 0..p.n {
            if p.has_l[j] {
                add((self.wl(j) + alpha * d.dx[j]) * (self.nl[j] + alpha * d.dnl[j]));
            }
            if p.has_u[j] {
                add((self.wu(j) - alpha * d.dx[j]) * (self.nu[j] + alpha * d.dnu[j]));
            }
        }
        (min, sum / count.max(1) as f64)
    }

    /// Whether the last step direction `d = Δx` is (numerically) a ray of the feasible set
    /// along which the objective keeps decreasing: `A d ≈ 0`, `G d ≲ 0`, `d` in the
    /// recession cone of the bounds, and `f` still decreasing at `x + ‖x‖ d/‖d‖`.
    fn primal_ray(&mut self, x_norm: f64) -> bool {
        let p = self.p;
        let d = &self.dir.dx;
        let d_norm = norm_inf(d);
        if d_norm.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return false;
        }
        let tol = 1e-9 * d_norm;
        p.c_mul(d, &mut self.tmp_m);
        if self.tmp_m[..p.me].iter().any(|v| v.abs() > tol)
            || self.tmp_m[p.me..].iter().any(|&v| -v > tol)
        {
            return false;
        }
        let t = x_norm / d_norm;
        let (mut slope, mut now, mut far) = (0.0, 0.0, 0.0);
        for j in 0..p.n {
            let dj = d[j];
            if (dj < -tol && p.lower[j].is_finite()) || (dj > tol && p.upper[j].is_finite()) {
                return false;
            }
            let f = &p.f[j];
            let xf = self.x[j] + t * dj;
            slope += f.derivative(xf) * dj;
            now += f.value(self.x[j]);
            far += f.value(xf);
        }
        slope < 0.0 && far < now
    }

    /// Whether the current row multipliers `(y, z)` give a Farkas certificate of primal
    /// infeasibility. With `v = Aᵀy − Gᵀz`, the bound multipliers that cancel `v` are
    /// `ν_l = max(−v, 0)` (needs a finite `l_j`) and `ν_u = max(v, 0)` (needs a finite
    /// `u_j`); what cannot be cancelled is the residual `ρ_j = |v_j|`. For any feasible
    /// `x̄`, weak duality gives `bᵀy − hᵀz + lᵀν_l − uᵀν_u ≤ Σ_j |x̄_j| ρ_j`, so a
    /// positive left side with `ρ = 0` proves infeasibility; with a tiny `ρ` (free
    /// variables) the test asks for a margin of 10³ against the current `‖x‖₁`.
    fn farkas_ray(&mut self) -> bool {
        let p = self.p;
        if p.mi == 0 && p.me == 0 {
            return false;
        }
        p.ct_mul(&self.lam, &mut self.tmp_n);
        let mut residual = 0.0_f64;
        let mut obj = 0.0;
        for r in 0..p.me {
            obj += p.rhs[r] * self.lam[r];
        }
        for i in 0..p.mi {
            obj -= p.rhs[p.me + i] * self.lam[p.me + i];
        }
        let mut x_norm = 1.0;
        for j in 0..p.n {
            let v = self.tmp_n[j];
            x_norm += self.x[j].abs();
            if p.fixed[j] {
                obj -= p.lower[j] * v;
            } else if v < 0.0 {
                if p.lower[j].is_finite() {
                    obj += p.lower[j] * (-v);
                } else {
                    residual += -v;
                }
            } else if v > 0.0 {
                if p.upper[j].is_finite() {
                    obj -= p.upper[j] * v;
                } else {
                    residual += v;
                }
            }
        }
        let scale = norm_inf(&self.lam).max(1e-300);
        obj > 1e-9 * scale && obj > 1e3 * residual * x_norm
    }

    /// Solution polishing: guesses the active set from the interior solution (a bound or
    /// inequality row is active when its slack is below its multiplier), fixes active
    /// bounds, turns active rows into equalities and drops the others, and solves the
    /// resulting equality-constrained KKT system by Newton's method (factor once, then
    /// refine). Constraints whose guess proves wrong (a wrong-signed multiplier, a violated
    /// dropped constraint) are flipped and the solve repeated, a few rounds at most. The
    /// polished point is returned only when it is feasible, its multipliers have the right
    /// signs and it lies in every domain; the caller keeps it when its certificate is at
    /// least as good. For quadratic terms this recovers the exact active-set solution
    /// (complementarity exactly 0), as OSQP's polishing does (Stellato et al. 2020, §5.2).
    fn polish(&self, ne: &mut NormalEquations, iterations: usize) -> Option<IpmSolution> {
        let p = self.p;
        let (n, me, mi, m) = (p.n, p.me, p.mi, p.m());
        let mut x = self.x.clone();
        let mut lam = self.lam.clone();
        // 0: free, 1: at lower bound, 2: at upper bound.
        let mut state = vec![0u8; n];
        for j in 0..n {
            if p.fixed[j] {
                continue;
            }
            if p.has_l[j] && self.wl(j) < self.nl[j] {
                state[j] = 1;
            } else if p.has_u[j] && self.wu(j) < self.nu[j] {
                state[j] = 2;
            }
        }
        let mut row_active: Vec<bool> = (0..mi).map(|i| self.s[i] < self.lam[me + i]).collect();
        let slack_tol = |b: f64| 1e-13 * b.abs().max(1.0);
        let mut ct = vec![0.0; n];
        let mut rd = vec![0.0; n];
        let mut cx = vec![0.0; m];
        let mut rhs = vec![0.0; m];
        let mut dinv = vec![0.0; n];
        let mut weights = vec![1.0; m];
        let mut e = vec![DUAL_REGULARIZATION; m];
        for _round in 0..4 {
            for j in 0..n {
                match state[j] {
                    1 => x[j] = p.lower[j],
                    2 => x[j] = p.upper[j],
                    _ => {}
                }
            }
            for i in 0..mi {
                let r = me + i;
                if row_active[i] {
                    weights[r] = 1.0;
                    e[r] = DUAL_REGULARIZATION;
                } else {
                    weights[r] = 0.0;
                    e[r] = 1.0;
                    lam[r] = 0.0;
                }
            }
            let mut curvature = 1.0_f64;
            for j in 0..n {
                dinv[j] = 0.0;
                if !p.fixed[j] && state[j] == 0 {
                    let h = p.f[j].second_derivative(x[j]);
                    if !h.is_finite() {
                        return None;
                    }
                    dinv[j] = h.max(0.0);
                    curvature = curvature.max(dinv[j]);
                }
            }
            for j in 0..n {
                if !p.fixed[j] && state[j] == 0 {
                    dinv[j] = 1.0 / (dinv[j] + PRIMAL_REGULARIZATION * curvature);
                }
            }
            if !ne.factor(p, &dinv, &e, Some(&weights)) {
                return None;
            }
            let mut best = f64::INFINITY;
            for _ in 0..10 {
                p.ct_mul(&lam, &mut ct);
                let mut res = 0.0_f64;
                for j in 0..n {
                    rd[j] = if !p.fixed[j] && state[j] == 0 {
                        let d = p.f[j].derivative(x[j]);
                        if !d.is_finite() {
                            return None;
                        }
                        d - ct[j]
                    } else {
                        0.0
                    };
                    res = res.max(rd[j].abs());
                }
                p.c_mul(&x, &mut cx);
                for r in 0..m {
                    let target = if r < me { p.rhs[r] } else { -p.rhs[r] };
                    cx[r] = weights[r] * (cx[r] - target);
                    res = res.max(cx[r].abs());
                }
                if res.partial_cmp(&(0.5 * best)) != Some(std::cmp::Ordering::Less) {
                    break;
                }
                best = res;
                // (C_W D⁻¹ C_Wᵀ + δ) Δλ = −r_p + C_W D⁻¹ r_d;  Δx = D⁻¹ (−r_d + C_Wᵀ Δλ).
                for j in 0..n {
                    ct[j] = dinv[j] * rd[j];
                }
                p.c_mul(&ct, &mut rhs);
                for r in 0..m {
                    rhs[r] = weights[r] * (rhs[r] - cx[r]);
                }
                ne.solve(&mut rhs);
                for (l, d) in lam.iter_mut().zip(&rhs) {
                    *l += d;
                }
                p.ct_mul(&rhs, &mut ct);
                for j in 0..n {
                    x[j] += dinv[j] * (ct[j] - rd[j]);
                }
            }
            // Check the guess; flip what is wrong.
            let mut flips = 0usize;
            for j in 0..n {
                if p.fixed[j] || state[j] != 0 {
                    continue;
                }
                if x[j] < p.lower[j] {
                    if p.lower[j] - x[j] > slack_tol(p.lower[j]) {
                        state[j] = 1;
                        flips += 1;
                    } else {
                        x[j] = p.lower[j];
                    }
                } else if x[j] > p.upper[j] {
                    if x[j] - p.upper[j] > slack_tol(p.upper[j]) {
                        state[j] = 2;
                        flips += 1;
                    } else {
                        x[j] = p.upper[j];
                    }
                }
                let (dlo, dhi) = p.f[j].domain();
                if !(x[j] > dlo && x[j] < dhi) {
                    return None;
                }
            }
            p.c_mul(&x, &mut cx);
            let scale = norm_inf(&lam).max(1.0);
            for i in 0..mi {
                let r = me + i;
                if !row_active[i] && -(cx[r] + p.rhs[r]) > slack_tol(p.rhs[r]) {
                    row_active[i] = true;
                    flips += 1;
                } else if row_active[i] && lam[r] < 0.0 {
                    if lam[r] < -1e-12 * scale {
                        row_active[i] = false;
                        flips += 1;
                    } else {
                        lam[r] = 0.0;
                    }
                }
            }
            p.ct_mul(&lam, &mut ct);
            let mut nl = vec![0.0; n];
            let mut nu = vec![0.0; n];
            for j in 0..n {
                let r = p.f[j].derivative(x[j]) - ct[j];
                if !r.is_finite() {
                    return None;
                }
                if state[j] == 1 && !p.fixed[j] {
                    if r < -1e-12 * scale {
                        state[j] = 0;
                        flips += 1;
                    }
                    nl[j] = r.max(0.0);
                } else if state[j] == 2 && !p.fixed[j] {
                    if r > 1e-12 * scale {
                        state[j] = 0;
                        flips += 1;
                    }
                    nu[j] = (-r).max(0.0);
                }
            }
            if flips == 0 {
                return Some(self.finish_with(x, lam, nl, nu, iterations, Status::Solved));
            }
        }
        None
    }

    /// Final multipliers (fixed variables get theirs from stationarity) and certificate.
    fn finish(&self, iterations: usize, status: Status) -> IpmSolution {
        self.finish_with(
            self.x.clone(),
            self.lam.clone(),
            self.nl.clone(),
            self.nu.clone(),
            iterations,
            status,
        )
    }

    /// Solution and certificate for the given primal and dual point.
    fn finish_with(
        &self,
        x: Vec<f64>,
        lam: Vec<f64>,
        mut nl: Vec<f64>,
        mut nu: Vec<f64>,
        iterations: usize,
        status: Status,
    ) -> IpmSolution {
        let p = self.p;
        let (n, me) = (p.n, p.me);
        let mut g = vec![0.0; n];
        let mut objective = 0.0;
        for j in 0..n {
            g[j] = p.f[j].derivative(x[j]);
            objective += p.f[j].value(x[j]);
        }
        let mut ctl = vec![0.0; n];
        p.ct_mul(&lam, &mut ctl);
        for j in 0..n {
            if p.fixed[j] {
                let r = g[j] - ctl[j];
                nl[j] = r.max(0.0);
                nu[j] = (-r).max(0.0);
            }
        }
        let mut cx = vec![0.0; p.m()];
        p.c_mul(&x, &mut cx);
        let mut pinf = 0.0_f64;
        let mut comp = 0.0_f64;
        for r in 0..me {
            pinf = pinf.max((cx[r] - p.rhs[r]).abs() / p.rhs[r].abs().max(1.0));
        }
        for i in 0..p.mi {
            let r = me + i;
            let slack = p.rhs[r] + cx[r]; // h − G x
            pinf = pinf.max((-slack).max(0.0) / p.rhs[r].abs().max(1.0));
            comp = comp.max((lam[r] * slack).abs());
        }
        let dual_scale = norm_inf(&lam)
            .max(norm_inf(&nl))
            .max(norm_inf(&nu))
            .max(1.0);
        let mut stat = 0.0_f64;
        let mut dual_value = 0.0;
        for r in 0..me {
            dual_value += p.rhs[r] * lam[r];
        }
        for i in 0..p.mi {
            dual_value -= p.rhs[me + i] * lam[me + i];
        }
        for j in 0..n {
            stat = stat.max((g[j] - ctl[j] - nl[j] + nu[j]).abs());
            if p.lower[j].is_finite() {
                comp = comp.max((nl[j] * (x[j] - p.lower[j])).abs());
            }
            if p.upper[j].is_finite() {
                comp = comp.max((nu[j] * (p.upper[j] - x[j])).abs());
            }
            let f = &p.f[j];
            let c = ctl[j];
            let xi = f.inverse_derivative(c, p.lower[j], p.upper[j]);
            let v = f.value(xi) - c * xi;
            dual_value += if v.is_finite() && xi.is_finite() {
                v
            } else {
                f.value(x[j]) - c * x[j]
            };
        }
        let obj_scale = objective.abs().max(1.0);
        let certificate = Certificate {
            primal_infeasibility: pinf,
            stationarity: stat / dual_scale,
            complementarity: comp / obj_scale,
            duality_gap: (objective - dual_value) / obj_scale,
            iterations,
            status,
        };
        IpmSolution {
            x,
            equality_multipliers: lam[..me].to_vec(),
            inequality_multipliers: lam[me..].to_vec(),
            lower_bound_multipliers: nl,
            upper_bound_multipliers: nu,
            objective,
            certificate,
        }
    }
}
