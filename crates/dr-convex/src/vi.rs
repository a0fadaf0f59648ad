//! Monotone variational inequalities `VI(F, K)`: find `x ∈ K` with
//! `F(x)ᵀ (y − x) ≥ 0` for all `y ∈ K`.
//!
//! `F` is a monotone operator ([`MonotoneOperator`]) and `K` a closed convex set given by
//! its Euclidean projection ([`ConvexSet`]). This is how the strategic (Nash) equilibria of
//! the seed papers are computed when they are not optimisation problems: e.g. the
//! price-anticipating customers of demand shaping (chen-li-low-doyle-2010 Theorem 7, eq. 48)
//! with `F_{i,t}(q) = −(U_i'(q_i(t)) − C'(Q(t)) − q_i(t) C''(Q(t)))` on the product of the
//! customers' sets `S_i = {q_i ≥ 0, Q_i ≤ Σ_t q_i(t) ≤ Q̄_i}` ([`BoxSumBlocks`]).
//!
//! # Method
//! Tseng's forward–backward–forward splitting (P. Tseng, "A modified forward-backward
//! splitting method for maximal monotone mappings", SIAM J. Control Optim. 38(2),
//! 431–446, 2000), in the variant that projects the final step back onto `K`, with
//! Tseng's Armijo-type backtracking on the step `γ` (his rule (2.4)) and a mild step
//! increase after easy steps:
//!
//! ```text
//! y   = P_K(x − γ F(x))                         (forward–backward)
//!       backtrack γ ← β γ until γ ‖F(y) − F(x)‖ ≤ θ ‖y − x‖
//! x⁺  = P_K(y − γ (F(y) − F(x)))                (forward correction)
//! ```
//!
//! It converges for any monotone, continuous `F` (no Lipschitz constant needed; locally
//! Lipschitz gives a step bounded away from 0), linearly when `F` is strongly monotone.
//! Each iteration costs two evaluations of `F` and two projections (more while
//! backtracking).
//!
//! # Certificate
//! `stationarity` is the natural-map residual `‖x − P_K(x − F(x))‖₂` (zero exactly at a
//! solution); `duality_gap` is Fukushima's regularised gap
//! `F(x)ᵀ(x − x̂) − ½‖x − x̂‖²`, `x̂ = P_K(x − F(x))` (M. Fukushima, Math. Programming 53,
//! 1992), which is ≥ 0 on `K` and 0 exactly at solutions; `primal_infeasibility` is
//! `‖x − P_K(x)‖_∞` (membership of `K`, up to the projection's rounding);
//! `complementarity` is not separate for a VI and is reported as 0.
//!
//! ```
//! use dr_convex::{solve_vi, AffineOperator, BoxSet, ViSettings};
//! // F(x) = M x + q with M = [[1, 1], [−1, 1]] (monotone, not symmetric) on [0, 1]².
//! let op = AffineOperator::new(2, vec![1.0, 1.0, -1.0, 1.0], vec![-1.0, 1.0])?;
//! let set = BoxSet::new(vec![0.0; 2], vec![1.0; 2])?;
//! let sol = solve_vi(&op, &set, &[0.5, 0.5], &ViSettings::default())?;
//! // x = (1, 0): F(x) = (0, 0) … x₁ at its upper bound needs F₁ ≤ 0, x₂ at 0 needs F₂ ≥ 0.
//! assert!((sol.x[0] - 1.0).abs() < 1e-7 && sol.x[1].abs() < 1e-7);
//! assert!(sol.certificate.holds(1e-8));
//! # Ok::<(), dr_convex::ConvexError>(())
//! ```

use crate::allocator::Bound;
use crate::certificate::{Certificate, Status};
use crate::error::ConvexError;
use crate::projection::project_box_sum;
use rayon::prelude::*;

/// A monotone operator `F: Rⁿ → Rⁿ`, `(F(x) − F(y))ᵀ(x − y) ≥ 0` (the caller's promise).
pub trait MonotoneOperator: Sync {
    /// The dimension `n`.
    fn dim(&self) -> usize;
    /// Writes `F(x)` into `out` (both of length `n`).
    fn apply(&self, x: &[f64], out: &mut [f64]);
}

/// A closed convex set `K`, seen through its Euclidean projection.
pub trait ConvexSet: Sync {
    /// Writes `P_K(v) = argmin_{y ∈ K} ‖y − v‖` into `out`; errors on bad data (e.g. an
    /// empty set).
    fn project(&self, v: &[f64], out: &mut [f64]) -> Result<(), ConvexError>;
}

impl<P> ConvexSet for P
where
    P: Fn(&[f64], &mut [f64]) -> Result<(), ConvexError> + Sync,
{
    fn project(&self, v: &[f64], out: &mut [f64]) -> Result<(), ConvexError> {
        self(v, out)
    }
}

/// `F(x) = M x + q` with a dense row-major `M` (monotone iff `M + Mᵀ ⪰ 0`, e.g. skew
/// plus positive semidefinite).
#[derive(Debug, Clone, PartialEq)]
pub struct AffineOperator {
    n: usize,
    matrix: Vec<f64>,
    offset: Vec<f64>,
}

impl AffineOperator {
    /// Validated constructor: `matrix` has `n²` finite entries (row-major), `offset` `n`.
    pub fn new(n: usize, matrix: Vec<f64>, offset: Vec<f64>) -> Result<Self, ConvexError> {
        if n == 0 {
            return Err(ConvexError::Empty {
                field: "offset".into(),
            });
        }
        if matrix.len() != n * n {
            return Err(ConvexError::LengthMismatch {
                field: "matrix".into(),
                expected: n * n,
                got: matrix.len(),
            });
        }
        if offset.len() != n {
            return Err(ConvexError::LengthMismatch {
                field: "offset".into(),
                expected: n,
                got: offset.len(),
            });
        }
        for (k, &v) in matrix.iter().enumerate() {
            crate::error::check_finite(|| format!("matrix[{}][{}]", k / n, k % n), v)?;
        }
        for (k, &v) in offset.iter().enumerate() {
            crate::error::check_finite(|| format!("offset[{k}]"), v)?;
        }
        Ok(Self { n, matrix, offset })
    }
}

impl MonotoneOperator for AffineOperator {
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate().take(self.n) {
            let row = &self.matrix[i * self.n..(i + 1) * self.n];
            *o = self.offset[i] + row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}

/// An operator given by a closure `f(x, out)` of dimension `dim`.
pub struct FnOperator<F> {
    dim: usize,
    f: F,
}

impl<F: Fn(&[f64], &mut [f64]) + Sync> FnOperator<F> {
    /// Wraps `f` (monotonicity is the caller's promise).
    pub fn new(dim: usize, f: F) -> Self {
        Self { dim, f }
    }
}

impl<F: Fn(&[f64], &mut [f64]) + Sync> MonotoneOperator for FnOperator<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        (self.f)(x, out)
    }
}

/// The box `{l ≤ x ≤ u}` (bounds may be infinite).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSet {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl BoxSet {
    /// Validated constructor: equal lengths, no NaN, `l ≤ u`.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self, ConvexError> {
        if lower.len() != upper.len() {
            return Err(ConvexError::LengthMismatch {
                field: "upper".into(),
                expected: lower.len(),
                got: upper.len(),
            });
        }
        check_bounds("bounds", &lower, &upper)?;
        Ok(Self { lower, upper })
    }
}

fn check_bounds(field: &str, lower: &[f64], upper: &[f64]) -> Result<(), ConvexError> {
    for (i, (&l, &u)) in lower.iter().zip(upper).enumerate() {
        if l.is_nan() || u.is_nan() || l > u || l == f64::INFINITY || u == f64::NEG_INFINITY {
            return Err(ConvexError::InvertedBounds {
                field: format!("{field}[{i}]"),
                lower: l,
                upper: u,
            });
        }
    }
    Ok(())
}

fn check_len(field: &str, expected: usize, got: usize) -> Result<(), ConvexError> {
    if expected == got {
        Ok(())
    } else {
        Err(ConvexError::LengthMismatch {
            field: field.into(),
            expected,
            got,
        })
    }
}

impl ConvexSet for BoxSet {
    fn project(&self, v: &[f64], out: &mut [f64]) -> Result<(), ConvexError> {
        check_len("v", self.lower.len(), v.len())?;
        check_len("out", self.lower.len(), out.len())?;
        for i in 0..v.len() {
            out[i] = v[i].max(self.lower[i]).min(self.upper[i]);
        }
        Ok(())
    }
}

/// A product of blocks `S_b = {l ≤ x_b ≤ u, L_b ≤ Σ x_b ≤ U_b}` of equal length — the
/// customers' feasible sets of demand shaping (chen-li-low-doyle-2010 eq. 42: block `b` is
/// customer `i`'s `T` periods, `l = 0`, `u = ∞`, `[L_b, U_b] = [Q_i, Q̄_i]`). Each block is
/// projected exactly by [`project_box_sum`]; blocks run on rayon (independently, so the
/// result does not depend on the number of threads).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSumBlocks {
    block_len: usize,
    lower: Vec<f64>,
    upper: Vec<f64>,
    sum_lower: Vec<f64>,
    sum_upper: Vec<f64>,
}

impl BoxSumBlocks {
    /// Validated constructor: `lower`, `upper` of length `block_len · blocks`, `sum_lower`,
    /// `sum_upper` of length `blocks`, no NaN, `l ≤ u`, `L_b ≤ U_b`, and every block
    /// non-empty (`Σ l ≤ U_b`, `L_b ≤ Σ u`).
    pub fn new(
        block_len: usize,
        lower: Vec<f64>,
        upper: Vec<f64>,
        sum_lower: Vec<f64>,
        sum_upper: Vec<f64>,
    ) -> Result<Self, ConvexError> {
        if block_len == 0 || sum_lower.is_empty() {
            return Err(ConvexError::Empty {
                field: "blocks".into(),
            });
        }
        let blocks = sum_lower.len();
        check_len("sum_upper", blocks, sum_upper.len())?;
        check_len("lower", block_len * blocks, lower.len())?;
        check_len("upper", block_len * blocks, upper.len())?;
        check_bounds("bounds", &lower, &upper)?;
        check_bounds("sum bounds", &sum_lower, &sum_upper)?;
        for b in 0..blocks {
            let r = b * block_len..(b + 1) * block_len;
            let lo: f64 = lower[r.clone()].iter().sum();
            let hi: f64 = upper[r].iter().sum();
            if lo > sum_upper[b] || hi < sum_lower[b] {
                return Err(ConvexError::Infeasible {
                    field: format!("sum of block {b}"),
                    target: if lo > sum_upper[b] {
                        sum_upper[b]
                    } else {
                        sum_lower[b]
                    },
                    min: lo,
                    max: hi,
                });
            }
        }
        Ok(Self {
            block_len,
            lower,
            upper,
            sum_lower,
            sum_upper,
        })
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.sum_lower.len()
    }
}

impl ConvexSet for BoxSumBlocks {
    fn project(&self, v: &[f64], out: &mut [f64]) -> Result<(), ConvexError> {
        let n = self.lower.len();
        check_len("v", n, v.len())?;
        check_len("out", n, out.len())?;
        let t = self.block_len;
        let one = |b: usize, o: &mut [f64]| -> Result<(), ConvexError> {
            let r = b * t..(b + 1) * t;
            let p = project_box_sum(
                &v[r.clone()],
                Bound::PerItem(&self.lower[r.clone()]),
                Bound::PerItem(&self.upper[r]),
                self.sum_lower[b],
                self.sum_upper[b],
            )?;
            o.copy_from_slice(&p.x);
            Ok(())
        };
        if self.blocks() >= 256 {
            out.par_chunks_mut(t)
                .enumerate()
                .try_for_each(|(b, o)| one(b, o))
        } else {
            out.chunks_mut(t)
                .enumerate()
                .try_for_each(|(b, o)| one(b, o))
        }
    }
}

/// Settings of [`solve_vi`], with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViSettings {
    /// Stop when the natural residual `‖x − P_K(x − F(x))‖₂` is at most this.
    pub tolerance: f64,
    /// Most iterations.
    pub max_iterations: usize,
    /// First trial step `γ`.
    pub initial_step: f64,
    /// Backtracking factor `β ∈ (0, 1)`.
    pub backtrack: f64,
    /// Tseng's `θ ∈ (0, 1)` in `γ ‖F(y) − F(x)‖ ≤ θ ‖y − x‖`.
    pub theta: f64,
}

impl Default for ViSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-9,
            max_iterations: 100_000,
            initial_step: 1.0,
            backtrack: 0.5,
            theta: 0.9,
        }
    }
}

/// Solution of [`solve_vi`].
#[derive(Debug, Clone, PartialEq)]
pub struct ViSolution {
    /// The point `x ∈ K`.
    pub x: Vec<f64>,
    /// `F(x)`.
    pub operator_value: Vec<f64>,
    /// The last accepted step `γ`.
    pub step: f64,
    /// Natural residual, regularised gap, iterations and status (see the module docs).
    pub certificate: Certificate,
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// The unit [`solve_vi`] measures a vector in: `‖v‖_∞` rounded to the nearest power of two
/// (so scaling by it is exact), 1 for a zero or non-finite norm. Callers that scale a
/// problem themselves before calling the kernel use the same rule.
///
/// ```
/// assert_eq!(dr_convex::unit_of(&[3.0, -5.0]), 4.0); // log2 5 ≈ 2.32 → 2^2
/// assert_eq!(dr_convex::unit_of(&[0.0, 0.0]), 1.0);
/// assert_eq!(dr_convex::unit_of(&[f64::NAN]), 1.0);
/// ```
pub fn unit_of(v: &[f64]) -> f64 {
    let norm = v.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
    if norm.is_finite() && norm > 0.0 {
        2f64.powi(norm.log2().round().clamp(-1000.0, 1000.0) as i32)
    } else {
        1.0
    }
}

/// Solves `VI(F, K)` from `x0` by Tseng's forward–backward–forward method with
/// backtracking (see the module docs).
///
/// # Units
/// `x − F(x)` adds a quantity to a price, so an unscaled natural residual depends on the
/// units. The method therefore runs on the problem in its own units: with `x₀' = P_K(x0)`,
/// the quantity scale `X = ‖x₀'‖_∞` and the price scale `P = ‖F(x₀')‖_∞` (each rounded to
/// a power of two so the rescaling is exact; a zero scale — the start at the origin, or
/// `F(x₀') = 0` — is taken as 1, the caller's units), it solves `VI(F̃, K̃)` with
/// `F̃(x̃) = F(X x̃)/P`, `K̃ = K/X`, and scales back. The certificate is that of the scaled
/// problem: `primal_infeasibility` and `stationarity` are relative to `X` (the natural
/// residual is `‖x − P_K(x − (X/P) F(x))‖₂ / X`), `duality_gap` to `P·X`; the returned
/// `step` is in the caller's units.
///
/// # Errors
/// [`ConvexError`] naming the field for: `x0` of the wrong length or not finite, settings
/// out of range (`tolerance > 0`, `initial_step > 0`, `backtrack` and `theta` in (0, 1)), and
/// any error of the projection. Non-convergence and a non-finite `F` are statuses
/// (`MaxIterations`, `NumericalError`) on the certificate.
pub fn solve_vi<F: MonotoneOperator + ?Sized, K: ConvexSet + ?Sized>(
    operator: &F,
    set: &K,
    x0: &[f64],
    settings: &ViSettings,
) -> Result<ViSolution, ConvexError> {
    let n = operator.dim();
    if n == 0 || x0.len() != n || x0.iter().any(|v| !v.is_finite()) {
        // Input errors, reported by the unscaled path in the caller's terms.
        return solve_vi_in_units(operator, set, x0, settings);
    }
    let mut x = vec![0.0; n];
    set.project(x0, &mut x)?;
    let mut fx = vec![0.0; n];
    operator.apply(&x, &mut fx);
    let (xs, ps) = (unit_of(&x), unit_of(&fx));
    if xs == 1.0 && ps == 1.0 {
        return solve_vi_in_units(operator, set, x0, settings);
    }
    let op = ScaledOperator {
        inner: operator,
        xs,
        ps,
    };
    let k = ScaledSet { inner: set, xs };
    let x0s: Vec<f64> = x0.iter().map(|v| v / xs).collect();
    let mut sol = solve_vi_in_units(&op, &k, &x0s, settings)?;
    for v in &mut sol.x {
        *v *= xs;
    }
    for v in &mut sol.operator_value {
        *v *= ps;
    }
    sol.step *= xs / ps;
    Ok(sol)
}

/// `F(X x̃)/P` (see [`solve_vi`], "Units").
struct ScaledOperator<'a, F: ?Sized> {
    inner: &'a F,
    xs: f64,
    ps: f64,
}

impl<F: MonotoneOperator + ?Sized> MonotoneOperator for ScaledOperator<'_, F> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let xx: Vec<f64> = x.iter().map(|v| v * self.xs).collect();
        self.inner.apply(&xx, out);
        for v in out.iter_mut() {
            *v /= self.ps;
        }
    }
}

/// `K/X`: `P_{K/X}(v) = P_K(X v)/X` (see [`solve_vi`], "Units").
struct ScaledSet<'a, K: ?Sized> {
    inner: &'a K,
    xs: f64,
}

impl<K: ConvexSet + ?Sized> ConvexSet for ScaledSet<'_, K> {
    fn project(&self, v: &[f64], out: &mut [f64]) -> Result<(), ConvexError> {
        let vv: Vec<f64> = v.iter().map(|a| a * self.xs).collect();
        self.inner.project(&vv, out)?;
        for o in out.iter_mut() {
            *o /= self.xs;
        }
        Ok(())
    }
}

/// [`solve_vi`] in the units it is given.
fn solve_vi_in_units<F: MonotoneOperator + ?Sized, K: ConvexSet + ?Sized>(
    operator: &F,
    set: &K,
    x0: &[f64],
    settings: &ViSettings,
) -> Result<ViSolution, ConvexError> {
    let n = operator.dim();
    if n == 0 {
        return Err(ConvexError::Empty {
            field: "operator".into(),
        });
    }
    check_len("x0", n, x0.len())?;
    for (i, &v) in x0.iter().enumerate() {
        crate::error::check_finite(|| format!("x0[{i}]"), v)?;
    }
    crate::error::check_positive(|| "settings.tolerance".into(), settings.tolerance)?;
    crate::error::check_positive(|| "settings.initial_step".into(), settings.initial_step)?;
    for (name, v) in [("backtrack", settings.backtrack), ("theta", settings.theta)] {
        if !(v > 0.0 && v < 1.0) {
            return Err(ConvexError::OutOfRange {
                field: format!("settings.{name}"),
                value: v,
                requirement: "must be in (0, 1)".into(),
            });
        }
    }
    let mut x = vec![0.0; n];
    set.project(x0, &mut x)?;
    let mut fx = vec![0.0; n];
    let mut y = vec![0.0; n];
    let mut fy = vec![0.0; n];
    let mut v = vec![0.0; n];
    let mut scratch = vec![0.0; n];
    let mut gamma = settings.initial_step;
    operator.apply(&x, &mut fx);
    let mut status = Status::MaxIterations;
    let mut iterations = 0;
    if !all_finite(&fx) {
        status = Status::NumericalError;
    }
    'outer: while status == Status::MaxIterations && iterations < settings.max_iterations {
        // Forward–backward step y = P_K(x − γ F(x)), backtracking on γ (Tseng's rule).
        let easy = loop {
            for i in 0..n {
                v[i] = x[i] - gamma * fx[i];
            }
            set.project(&v, &mut y)?;
            let step = dist(&x, &y);
            // ‖x − P(x − γF(x))‖ / min(1, γ) bounds the natural residual from above.
            if step / gamma.min(1.0) <= settings.tolerance
                && natural_residual(set, &x, &fx, &mut v, &mut scratch)? <= settings.tolerance
            {
                status = Status::Solved;
                break 'outer;
            }
            operator.apply(&y, &mut fy);
            if !all_finite(&fy) {
                status = Status::NumericalError;
                break 'outer;
            }
            let change = dist(&fy, &fx);
            if gamma * change <= settings.theta * step {
                break gamma * change <= 0.5 * settings.theta * step;
            }
            gamma *= settings.backtrack;
            if gamma < 1e-300 {
                status = Status::NumericalError;
                break 'outer;
            }
        };
        // Forward correction x⁺ = P_K(y − γ (F(y) − F(x))).
        for i in 0..n {
            v[i] = y[i] - gamma * (fy[i] - fx[i]);
        }
        set.project(&v, &mut x)?;
        operator.apply(&x, &mut fx);
        iterations += 1;
        if !all_finite(&fx) {
            status = Status::NumericalError;
        }
        if easy {
            gamma = (gamma / settings.backtrack.sqrt()).min(1e12 * settings.initial_step);
        }
    }
    // Certificate at the returned x.
    operator.apply(&x, &mut fx);
    for i in 0..n {
        v[i] = x[i] - fx[i];
    }
    set.project(&v, &mut y)?;
    let natural = dist(&x, &y);
    let mut gap = 0.0;
    for i in 0..n {
        let d = x[i] - y[i];
        gap += fx[i] * d - 0.5 * d * d;
    }
    set.project(&x, &mut v)?;
    let membership = x
        .iter()
        .zip(&v)
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
    if status == Status::Solved && (natural.is_nan() || natural > settings.tolerance) {
        status = Status::MaxIterations;
    }
    Ok(ViSolution {
        x,
        operator_value: fx,
        step: gamma,
        certificate: Certificate {
            primal_infeasibility: membership,
            stationarity: natural,
            complementarity: 0.0,
            duality_gap: gap,
            iterations,
            status,
        },
    })
}

/// `‖x − P_K(x − F(x))‖₂` (uses `v`, `out` as scratch).
fn natural_residual<K: ConvexSet + ?Sized>(
    set: &K,
    x: &[f64],
    fx: &[f64],
    v: &mut [f64],
    out: &mut [f64],
) -> Result<f64, ConvexError> {
    for i in 0..x.len() {
        v[i] = x[i] - fx[i];
    }
    set.project(v, out)?;
    Ok(dist(x, out))
}
