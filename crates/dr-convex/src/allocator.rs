//! The exact single-coupling allocator:
//! `min Σ_i f_i(x_i)  s.t.  Σ_i x_i = total,  l_i ≤ x_i ≤ u_i`.
//!
//! This is the competitive equilibrium of supply-function bidding (li-chen-dahleh-2015
//! Theorem 1, `f_i = C_i`, total = deficit `d`), its Nash equilibrium (Theorem 3,
//! `f_i = D_i`), a budget-constrained consumer's water-filling (alshehri-liu-chen-basar
//! eq. 10 with `d ≥ 0`) and the projections of the distributed schemes. The multiplier `λ`
//! of the coupling constraint is the market price.
//!
//! # Method
//! Every `x_i(λ) = argmin_{[l_i,u_i]} f_i(x) − λ x` is non-decreasing in `λ`, so the price
//! is the root of the monotone `g(λ) = Σ_i x_i(λ) − total`. One pass over the population
//! evaluates `g` and its slope `g'(λ) = Σ_{free i} 1/f_i''(x_i)`. The root is found by
//! Newton's method on `λ` safeguarded by a bracket `[a, b]` with `g(a) < 0 < g(b)` that
//! every evaluation shrinks, with regula falsi and bisection as fall-backs — the
//! semismooth-Newton scheme of Cominetti, Mascarenhas & Silva (2014, "A Newton's method for
//! the continuous quadratic knapsack problem") with the breakpoint bracketing of Kiwiel
//! (2008). For quadratic costs `g` is piecewise linear and Newton is exact once the
//! active set settles: a handful of passes, not 60 bisections.
//!
//! # Kinks and flat marginal costs
//! Pieces need not be differentiable: a kinked `f_i` (e.g. a piecewise-linear cost) gives
//! its right derivative as [`ConvexScalar::derivative`] and its left one as
//! [`ConvexScalar::left_derivative`], and the certificate checks the subgradient condition
//! `f_i'_−(x_i) ≤ λ ≤ f_i'_+(x_i)` for a free item. A flat stretch of `f_i'` (a linear
//! piece) makes `x_i(λ)` jump and `g` may jump across 0: the bracket then closes on the
//! jump's price to rounding, and the final pass splits the jump, `x = x(a) + θ (x(b) −
//! x(a))` with `Σ x = total` (every point between the two responses is optimal at that
//! price; responses above `x_i(a) + total − Σ x(a)` are clamped there first, so a piece
//! without an upper bound stays finite). The loads of such a split are one optimum among
//! many (the problem is not strictly convex there); the certificate measures it like any
//! other answer.
//!
//! # Determinism
//! Sums run through [`crate::parallel::chunked_reduce`]: fixed chunks, combined in order, on
//! rayon above [`AllocatorSettings::parallel_threshold`]. The result is bit-identical for
//! any number of threads.

use crate::certificate::{Certificate, Status};
use crate::error::ConvexError;
use crate::lanes::{Lanes, Mask};
use crate::parallel::{chunked_reduce, CHUNK, DEFAULT_PARALLEL_THRESHOLD};
use crate::scalar::{nash_quadratic_response, nash_quadratic_slope, ConvexScalar};
use rayon::prelude::*;
use std::ops::Range;

/// A population of separable convex terms `f_i`, stored as the caller likes (ideally
/// struct-of-arrays), seen by the allocator through per-index calls.
pub trait Family: Sync {
    /// Number of terms `n`.
    fn len(&self) -> usize;
    /// True when there are no terms.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `f_i(x)`.
    fn value(&self, i: usize, x: f64) -> f64;
    /// `f_i'(x)` (the right derivative where `f_i` has a kink).
    fn derivative(&self, i: usize, x: f64) -> f64;
    /// The left derivative `f_i'_−(x)` (default: [`Family::derivative`]); the certificate
    /// of the final pass reads the subdifferential `[f_i'_−(x), f_i'_+(x)]`.
    fn left_derivative(&self, i: usize, x: f64) -> f64 {
        self.derivative(i, x)
    }
    /// The response `x_i(λ) = argmin_{x∈[lo,hi]} f_i(x) − λ x` and its right slope
    /// `dx_i/dλ` (`1/f_i''(x)` when `x` is free, 0 when clamped).
    fn response(&self, i: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64);
    /// `(Σ_{i∈range} x_i(λ), Σ_{i∈range} dx_i/dλ)`: one chunk of a pass. Override with a
    /// tight loop for speed; the default calls [`Family::response`].
    fn sum_response(
        &self,
        range: Range<usize>,
        lambda: f64,
        lower: Bound<'_>,
        upper: Bound<'_>,
    ) -> (f64, f64) {
        let (mut s, mut sl) = (0.0, 0.0);
        for i in range {
            let (x, d) = self.response(i, lambda, lower.get(i), upper.get(i));
            s += x;
            sl += d;
        }
        (s, sl)
    }
    /// The first pass over one chunk: bounds check, reachable range, multiplier bracket and
    /// affine-model sums. Override with a tight loop for speed.
    fn bracket(&self, range: Range<usize>, lower: Bound<'_>, upper: Bound<'_>) -> Bracket {
        generic_bracket(self, range, lower, upper)
    }
    /// Writes `out[k] = x_{base+k}(λ)` for one chunk and returns its `FinishStats`
    /// (sum, objective, KKT residuals). Override with a tight loop for speed.
    fn finish(
        &self,
        base: usize,
        lambda: f64,
        lower: Bound<'_>,
        upper: Bound<'_>,
        out: &mut [f64],
    ) -> FinishStats {
        generic_finish(self, base, lambda, lower, upper, out)
    }
    /// An affine model `x_i(λ) ≈ α_i λ − β_i` of the unclamped response, as `(α_i, β_i)`,
    /// used only for the first trial multiplier (exact for quadratic terms). `None` (the
    /// default) starts from the bracket instead.
    fn affine_response(&self, _i: usize) -> Option<(f64, f64)> {
        None
    }
    /// A first trial multiplier known to the caller (e.g. a nearby problem's price), tried
    /// instead of the affine model's when it lies strictly inside the bracket. It only
    /// changes where the search starts, not the answer or its certificate. `None` (the
    /// default) starts from the affine model or the bracket.
    fn initial_multiplier(&self) -> Option<f64> {
        None
    }
}

/// What the final pass of [`allocate`] accumulates over a chunk (see [`Family::finish`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FinishStats {
    /// `Σ x_i`.
    pub sum: f64,
    /// `Σ f_i(x_i)`.
    pub objective: f64,
    /// Largest stationarity violation (unscaled).
    pub stationarity: f64,
    /// Largest complementarity product of the bound multipliers (unscaled).
    pub complementarity: f64,
    /// `max_i |f_i'(x_i)|` over the items with a finite derivative: the price scale of the
    /// stationarity residual (see [`Certificate`]). An override that leaves it 0 makes the
    /// residual relative to `|λ|` alone.
    pub derivative_scale: f64,
}

impl FinishStats {
    fn combine(a: Self, b: Self) -> Self {
        Self {
            sum: a.sum + b.sum,
            objective: a.objective + b.objective,
            stationarity: a.stationarity.max(b.stationarity),
            complementarity: a.complementarity.max(b.complementarity),
            derivative_scale: a.derivative_scale.max(b.derivative_scale),
        }
    }
}

/// The generic final pass of [`Family::finish`]: per-item calls, any bounds.
pub fn generic_finish<F: Family + ?Sized>(
    family: &F,
    base: usize,
    lambda: f64,
    lower: Bound<'_>,
    upper: Bound<'_>,
    out: &mut [f64],
) -> FinishStats {
    let mut st = FinishStats::default();
    for (k, o) in out.iter_mut().enumerate() {
        let i = base + k;
        let xi = family.response(i, lambda, lower.get(i), upper.get(i)).0;
        *o = xi;
        kkt_item(family, i, xi, lambda, lower.get(i), upper.get(i), &mut st);
    }
    st
}

/// Adds item `i` at `x_i` to the final pass's sums and KKT residuals at multiplier `λ`.
/// Stationarity is measured against the subdifferential `[f_i'_−(x), f_i'_+(x)]`
/// ([`Family::left_derivative`], [`Family::derivative`]): a free item needs
/// `f_i'_−(x_i) ≤ λ ≤ f_i'_+(x_i)` (the subgradient condition; equality `f_i'(x_i) = λ`
/// for a differentiable piece), an item at its lower bound `λ ≤ f_i'_+(l_i)`, at its upper
/// bound `λ ≥ f_i'_−(u_i)`.
fn kkt_item<F: Family + ?Sized>(
    family: &F,
    i: usize,
    xi: f64,
    lambda: f64,
    l: f64,
    u: f64,
    st: &mut FinishStats,
) {
    st.sum += xi;
    st.objective += family.value(i, xi);
    let fd = family.derivative(i, xi);
    if fd.is_finite() && fd.abs() > st.derivative_scale {
        st.derivative_scale = fd.abs();
    }
    let r = fd - lambda; // = bound multiplier ν_l − ν_u (right derivative)
    let (viol, comp) = if xi > l && xi < u {
        let fl = family.left_derivative(i, xi);
        let below = if fl.is_nan() { fd } else { fl } - lambda; // f'_− − λ ≤ 0 needed
        (below.max(0.0).max((-r).max(0.0)), 0.0)
    } else if xi <= l && xi >= u {
        (0.0, 0.0) // fixed item
    } else if xi <= l {
        ((-r).max(0.0), r.max(0.0) * (xi - l).abs())
    } else {
        let fl = family.left_derivative(i, xi);
        let rl = if fl.is_nan() { fd } else { fl } - lambda;
        (rl.max(0.0), (-rl).max(0.0) * (u - xi).abs())
    };
    st.stationarity = st.stationarity.max(viol);
    st.complementarity = st.complementarity.max(comp);
}

/// A bound vector: the same number for everyone, or one per item.
#[derive(Debug, Clone, Copy)]
pub enum Bound<'a> {
    /// Every item has this bound (may be ±∞).
    Constant(f64),
    /// Item `i` has bound `v[i]`.
    PerItem(&'a [f64]),
}

impl Bound<'_> {
    /// The bound of item `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Bound::Constant(v) => *v,
            Bound::PerItem(v) => v[i],
        }
    }
    fn len_ok(&self, n: usize) -> Option<usize> {
        match self {
            Bound::Constant(_) => None,
            Bound::PerItem(v) if v.len() != n => Some(v.len()),
            Bound::PerItem(_) => None,
        }
    }
}

/// Settings of [`allocate`], with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocatorSettings {
    /// Stop when `|Σ x(λ) − total| ≤ tolerance · S`, `S` the quantity scale of
    /// `quantity_scale` (`|total|`, or the bounds' scale when `total = 0`): a relative
    /// tolerance, the same for a total of `1e-12` as for `1e12`.
    pub tolerance: f64,
    /// A search that stopped as converged is reported [`Status::Solved`] only when every
    /// relative residual of the final [`Certificate`] is at most this; otherwise the status
    /// becomes [`Status::NumericalError`] (the answer is then not certified, e.g. when `g`
    /// jumps over the total because some `f_i''` vanishes).
    pub certificate_tolerance: f64,
    /// Most Newton/bracketing passes.
    pub max_iterations: usize,
    /// Population size from which passes run on the rayon pool.
    pub parallel_threshold: usize,
}

impl Default for AllocatorSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-13,
            certificate_tolerance: 1e-9,
            max_iterations: 100,
            parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
        }
    }
}

/// The result of [`allocate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// The optimal allocation `x`.
    pub x: Vec<f64>,
    /// The multiplier `λ` of `Σ x = total` (the price).
    pub multiplier: f64,
    /// `Σ f_i(x_i)`.
    pub objective: f64,
    /// KKT residuals; `iterations` counts passes over the population that evaluated `g`.
    pub certificate: Certificate,
}

/// The multiplier alone, for callers that never materialise `x` (see
/// [`solve_multiplier`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Multiplier {
    /// The price `λ`.
    pub lambda: f64,
    /// `Σ x_i(λ) − total` at the returned `λ`.
    pub residual: f64,
    /// Evaluations of `g` used.
    pub iterations: usize,
    /// Solved, or MaxIterations.
    pub status: Status,
}

/// What the first pass of [`allocate`] gathers over a chunk (see [`Family::bracket`]):
/// the reachable range of `Σ x`, the multiplier bracket `[min_i f_i'(l_i), max_i f_i'(u_i)]`,
/// the affine-model sums for the first trial multiplier, and the first bad bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bracket {
    /// `Σ l_i`.
    pub sum_lower: f64,
    /// `Σ u_i`.
    pub sum_upper: f64,
    /// `min_i f_i'(l_i)` (−∞ if some `l_i` is −∞).
    pub lambda_lower: f64,
    /// `max_i f_i'(u_i)` (+∞ if some `u_i` is +∞).
    pub lambda_upper: f64,
    /// First item with NaN or inverted bounds: `(index, l, u)`.
    pub bad: Option<(usize, f64, f64)>,
    /// `Σ α_i` of [`Family::affine_response`] (NaN when some item has no model).
    pub alpha: f64,
    /// `Σ β_i` of [`Family::affine_response`].
    pub beta: f64,
}

impl Bracket {
    /// The neutral element of [`Bracket::combine`].
    pub const EMPTY: Bracket = Bracket {
        sum_lower: 0.0,
        sum_upper: 0.0,
        lambda_lower: f64::INFINITY,
        lambda_upper: f64::NEG_INFINITY,
        bad: None,
        alpha: 0.0,
        beta: 0.0,
    };
    /// Merges two chunks (left first).
    pub fn combine(a: Self, b: Self) -> Self {
        Bracket {
            sum_lower: a.sum_lower + b.sum_lower,
            sum_upper: a.sum_upper + b.sum_upper,
            lambda_lower: a.lambda_lower.min(b.lambda_lower),
            lambda_upper: a.lambda_upper.max(b.lambda_upper),
            bad: a.bad.or(b.bad),
            alpha: a.alpha + b.alpha,
            beta: a.beta + b.beta,
        }
    }
}

/// The generic first pass of [`Family::bracket`]: per-item calls, any bounds.
pub fn generic_bracket<F: Family + ?Sized>(
    family: &F,
    range: Range<usize>,
    lower: Bound<'_>,
    upper: Bound<'_>,
) -> Bracket {
    let mut b = Bracket::EMPTY;
    for i in range {
        let (l, u) = (lower.get(i), upper.get(i));
        if l.is_nan() || u.is_nan() || l > u || l == f64::INFINITY || u == f64::NEG_INFINITY {
            if b.bad.is_none() {
                b.bad = Some((i, l, u));
            }
            continue;
        }
        b.sum_lower += l;
        b.sum_upper += u;
        // Bracket ends: min_i f_i'(l_i), max_i f_i'(u_i) (±∞ for infinite bounds).
        let dl = if l.is_finite() {
            family.derivative(i, l)
        } else {
            f64::NEG_INFINITY
        };
        let du = if u.is_finite() {
            family.derivative(i, u)
        } else {
            f64::INFINITY
        };
        let dl = if dl.is_nan() { f64::NEG_INFINITY } else { dl };
        let du = if du.is_nan() { f64::INFINITY } else { du };
        b.lambda_lower = if dl < b.lambda_lower {
            dl
        } else {
            b.lambda_lower
        };
        b.lambda_upper = if du > b.lambda_upper {
            du
        } else {
            b.lambda_upper
        };
        match family.affine_response(i) {
            Some((al, be)) => {
                b.alpha += al;
                b.beta += be;
            }
            None => b.alpha = f64::NAN,
        }
    }
    b
}

fn validate<F: Family + ?Sized>(
    family: &F,
    lower: Bound<'_>,
    upper: Bound<'_>,
    total: f64,
    settings: &AllocatorSettings,
) -> Result<Bracket, ConvexError> {
    let n = family.len();
    if n == 0 {
        return Err(ConvexError::Empty {
            field: "population".into(),
        });
    }
    crate::error::check_finite(|| "total".into(), total)?;
    if let Some(got) = lower.len_ok(n) {
        return Err(ConvexError::LengthMismatch {
            field: "lower".into(),
            expected: n,
            got,
        });
    }
    if let Some(got) = upper.len_ok(n) {
        return Err(ConvexError::LengthMismatch {
            field: "upper".into(),
            expected: n,
            got,
        });
    }
    let br = chunked_reduce(
        n,
        settings.parallel_threshold,
        Bracket::EMPTY,
        |r| family.bracket(r, lower, upper),
        Bracket::combine,
    );
    if let Some((index, l, u)) = br.bad {
        return Err(ConvexError::InvertedBounds {
            field: format!("bounds[{index}]"),
            lower: l,
            upper: u,
        });
    }
    let slack = 1e-12 * quantity_scale(total, &br);
    if total < br.sum_lower - slack || total > br.sum_upper + slack {
        return Err(ConvexError::Infeasible {
            field: "total".into(),
            target: total,
            min: br.sum_lower,
            max: br.sum_upper,
        });
    }
    Ok(br)
}

/// The scale `S` against which the allocator measures quantities (the stopping rule, the
/// feasibility slack and the certificate's primal residual): `|total|` when `total ≠ 0`;
/// for `total = 0` the larger of `|Σ l_i|` and `|Σ u_i|` among the finite ones (the size of
/// the box the population lives in); `0` when both are zero or infinite — then only an
/// exact `Σ x = 0` counts, which the degenerate-end and closed-bracket exits deliver.
/// Never `max(1, ·)`: that would be an absolute tolerance for totals below 1.
pub fn quantity_scale(total: f64, bracket: &Bracket) -> f64 {
    if total != 0.0 {
        return total.abs();
    }
    let fin = |v: f64| if v.is_finite() { v.abs() } else { 0.0 };
    fin(bracket.sum_lower).max(fin(bracket.sum_upper))
}

/// `(Σ x_i(λ), Σ dx_i/dλ)` in one deterministic pass.
fn evaluate<F: Family + ?Sized>(
    family: &F,
    lower: Bound<'_>,
    upper: Bound<'_>,
    lambda: f64,
    threshold: usize,
) -> (f64, f64) {
    chunked_reduce(
        family.len(),
        threshold,
        (0.0, 0.0),
        |r| family.sum_response(r, lambda, lower, upper),
        |a, b| (a.0 + b.0, a.1 + b.1),
    )
}

/// Finds the price `λ` with `Σ x_i(λ) = total` without materialising `x`.
///
/// Input errors (empty population, NaN, inverted bounds, `total` outside
/// `[Σ l, Σ u]`) are returned as [`ConvexError`].
pub fn solve_multiplier<F: Family + ?Sized>(
    family: &F,
    lower: Bound<'_>,
    upper: Bound<'_>,
    total: f64,
    settings: &AllocatorSettings,
) -> Result<Multiplier, ConvexError> {
    multiplier_search(family, lower, upper, total, settings, false).map(|(m, _, _)| m)
}

/// Relative Newton step below which an optimistic search stops without evaluating `g` at the
/// new multiplier: quadratic convergence makes the next error of order this squared, and
/// [`allocate_into`] checks the residual in its final pass anyway (falling back to the strict
/// search if it is not met).
const OPTIMISTIC_STEP: f64 = 1e-6;

/// What the multiplier search returns: the multiplier, the quantity scale, and the bracket
/// `[a, b]` when it closed on a jump of `g` (see the module docs on kinks).
type Search = (Multiplier, f64, Option<(f64, f64)>);

fn multiplier_search<F: Family + ?Sized>(
    family: &F,
    lower: Bound<'_>,
    upper: Bound<'_>,
    total: f64,
    settings: &AllocatorSettings,
    optimistic: bool,
) -> Result<Search, ConvexError> {
    let br = validate(family, lower, upper, total, settings)?;
    let th = settings.parallel_threshold;
    let scale = quantity_scale(total, &br);
    let tol = settings.tolerance * scale;
    let (mut a, mut b) = (br.lambda_lower, br.lambda_upper);
    // Degenerate: the total sits at an end of the reachable range.
    if (total - br.sum_lower).abs() <= tol && a.is_finite() {
        let r = evaluate(family, lower, upper, a, th).0 - total;
        return Ok((
            Multiplier {
                lambda: a,
                residual: r,
                iterations: 1,
                status: Status::Solved,
            },
            scale,
            None,
        ));
    }
    if (total - br.sum_upper).abs() <= tol && b.is_finite() {
        let r = evaluate(family, lower, upper, b, th).0 - total;
        return Ok((
            Multiplier {
                lambda: b,
                residual: r,
                iterations: 1,
                status: Status::Solved,
            },
            scale,
            None,
        ));
    }
    let (mut ga, mut gb) = (br.sum_lower - total, br.sum_upper - total);
    // First trial point: regula falsi on a finite bracket, else the finite end, else 0.
    let mut lambda = if a.is_finite() && b.is_finite() {
        if ga.is_finite() && gb.is_finite() && gb > ga {
            a - ga * (b - a) / (gb - ga)
        } else {
            0.5 * (a + b)
        }
    } else if a.is_finite() {
        a
    } else if b.is_finite() {
        b
    } else {
        0.0
    };
    // Better: the root of the affine model Σ (α_i λ − β_i) = total, if inside the bracket.
    let affine = (total + br.beta) / br.alpha;
    if br.alpha > 0.0 && affine.is_finite() && affine > a && affine < b {
        lambda = affine;
    }
    if let Some(hint) = family.initial_multiplier().filter(|&h| h > a && h < b) {
        lambda = hint;
    }
    let mut best = (lambda, f64::INFINITY);
    let mut expand = 1.0_f64;
    let mut last_width = b - a;
    let mut stalled = 0;
    // Newton from the last point below the root overshot the bracket (`over_a`), and from
    // the last point above it undershot it (`over_b`): with both, `g` jumps inside the
    // bracket (a flat stretch of some f_i', e.g. a piecewise-linear cost at its slope) and
    // neither Newton nor regula falsi can close on it: bisect.
    let (mut over_a, mut over_b) = (false, false);
    for it in 1..=settings.max_iterations {
        let (s, slope) = evaluate(family, lower, upper, lambda, th);
        let g = s - total;
        if g.abs() < best.1.abs() || (g.abs() == best.1.abs() && g == 0.0) {
            best = (lambda, g);
        }
        if g.abs() <= tol {
            return Ok((
                Multiplier {
                    lambda,
                    residual: g,
                    iterations: it,
                    status: Status::Solved,
                },
                scale,
                None,
            ));
        }
        if g < 0.0 {
            a = lambda;
            ga = g;
        } else {
            b = lambda;
            gb = g;
        }
        if (b - a).is_finite()
            && b - a <= 4.0 * f64::EPSILON * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
        {
            // The bracket closed: λ is exact to rounding; g jumps (flat f'') across it.
            // `allocate_into` splits the jump between the responses at `a` and `b`.
            return Ok((
                Multiplier {
                    lambda: best.0,
                    residual: best.1,
                    iterations: it,
                    status: Status::Solved,
                },
                scale,
                Some((a, b)),
            ));
        }
        let width = b - a;
        if width.is_finite() {
            if width > 0.5 * last_width {
                stalled += 1;
            } else {
                stalled = 0;
            }
            last_width = width;
        }
        let newton = if slope > 0.0 {
            lambda - g / slope
        } else {
            f64::NAN
        };
        if optimistic
            && newton > a
            && newton < b
            && (newton - lambda).abs() <= OPTIMISTIC_STEP * lambda.abs()
        {
            return Ok((
                Multiplier {
                    lambda: newton,
                    residual: f64::NAN,
                    iterations: it,
                    status: Status::Solved,
                },
                scale,
                None,
            ));
        }
        if g < 0.0 {
            // NaN (no slope) counts as overshooting.
            over_a = newton.is_nan() || newton >= b;
        } else {
            over_b = newton.is_nan() || newton <= a;
        }
        let jump = over_a && over_b && a.is_finite() && b.is_finite();
        lambda = if jump {
            0.5 * (a + b)
        } else if newton > a && newton < b && stalled < 3 {
            newton
        } else if a.is_finite() && b.is_finite() {
            if stalled >= 3 {
                stalled = 0;
                0.5 * (a + b)
            } else {
                let falsi = a - ga * (b - a) / (gb - ga);
                if falsi > a && falsi < b {
                    // Illinois: halve the retained end's value so the bracket closes from both sides.
                    if g < 0.0 {
                        gb *= 0.5;
                    } else {
                        ga *= 0.5;
                    }
                    falsi
                } else {
                    0.5 * (a + b)
                }
            }
        } else {
            // Expand towards the infinite end, in steps relative to the current price (a
            // unit step only from λ = 0, where there is no scale yet; the doubling then
            // reaches any magnitude in a few dozen passes).
            expand *= 2.0;
            let step = expand * if lambda != 0.0 { lambda.abs() } else { 1.0 };
            if g < 0.0 {
                lambda + step
            } else {
                lambda - step
            }
        };
    }
    Ok((
        Multiplier {
            lambda: best.0,
            residual: best.1,
            iterations: settings.max_iterations,
            status: Status::MaxIterations,
        },
        scale,
        None,
    ))
}

/// Solves `min Σ f_i(x_i) s.t. Σ x_i = total, l_i ≤ x_i ≤ u_i` exactly (see the module docs).
///
/// Returns the allocation, the multiplier (price) and a [`Certificate`] whose residuals are
/// all relative to the problem's own scale (so a total of `1e-12` is held to the same
/// standard as one of `1e12`), with `S` the `quantity_scale` and
/// `P = max(|λ|, max_i |f_i'(x_i)|)` the price scale:
/// - primal infeasibility `|Σx − total| / S`;
/// - stationarity: the largest `|f_i'(x_i) − λ|` for free items (the sign conditions at
///   bounds), divided by `P`;
/// - complementarity of the bound multipliers `|ν_i (x_i − bound)|`, divided by `P·S`;
/// - duality gap `|λ (Σx − total)|` (primal value minus the dual function at `λ`), divided by
///   `max(|Σ f_i(x_i)|, |λ|·S)`.
///
/// A zero scale leaves a residual unscaled (it is then zero up to rounding of zero data).
/// [`Status::Solved`] only when the search converged *and* every residual is at most
/// [`AllocatorSettings::certificate_tolerance`]; otherwise [`Status::NumericalError`].
///
/// ```
/// use dr_convex::{allocate, AllocatorSettings, Bound, QuadraticFamily};
/// // Three customers shed a deficit of 3 at costs C_i(q) = a_i q + h_i q².
/// let (a, h) = ([1.0, 1.0, 1.0], [0.5, 0.5, 0.5]);
/// let fam = QuadraticFamily::new(&a, &h).unwrap();
/// let sol = allocate(&fam, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), 3.0,
///                    &AllocatorSettings::default()).unwrap();
/// assert!((sol.multiplier - 2.0).abs() < 1e-12); // C'(1) = 1 + 2·0.5·1
/// assert!(sol.certificate.holds(1e-12));
/// ```
pub fn allocate<F: Family + ?Sized>(
    family: &F,
    lower: Bound<'_>,
    upper: Bound<'_>,
    total: f64,
    settings: &AllocatorSettings,
) -> Result<Allocation, ConvexError> {
    // Zeroed by the allocator (fresh pages for a large population, no memset); the final
    // pass then writes every entry.
    let mut x = vec![0.0; family.len()];
    let (multiplier, objective, certificate) =
        allocate_into(family, lower, upper, total, settings, &mut x)?;
    Ok(Allocation {
        x,
        multiplier,
        objective,
        certificate,
    })
}

/// [`allocate`] writing the allocation into a caller's buffer (resized to `n`), for repeated
/// solves (sweeps, simulations) that should not pay for fresh memory each time. Returns
/// `(multiplier, objective, certificate)`.
pub fn allocate_into<F: Family + ?Sized>(
    family: &F,
    lower: Bound<'_>,
    upper: Bound<'_>,
    total: f64,
    settings: &AllocatorSettings,
    x: &mut Vec<f64>,
) -> Result<(f64, f64, Certificate), ConvexError> {
    let n = family.len();
    x.resize(n, 0.0);
    let finish_pass = |lambda: f64, x: &mut Vec<f64>| {
        let per_chunk =
            |c: usize, chunk: &mut [f64]| family.finish(c * CHUNK, lambda, lower, upper, chunk);
        let identity = FinishStats::default();
        if n >= settings.parallel_threshold {
            let parts: Vec<FinishStats> = x
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, ch)| per_chunk(c, ch))
                .collect();
            parts.into_iter().fold(identity, FinishStats::combine)
        } else {
            x.chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, ch)| per_chunk(c, ch))
                .fold(identity, FinishStats::combine)
        }
    };
    // Optimistic search first (saves the pass that would only confirm a converged Newton
    // step); the final pass measures the residual, and the strict search runs if it is off.
    let (mut m, scale, mut jump) = multiplier_search(family, lower, upper, total, settings, true)?;
    let mut st = finish_pass(m.lambda, x);
    if m.residual.is_nan() {
        if (st.sum - total).abs() <= settings.tolerance * scale {
            m.residual = st.sum - total;
        } else {
            let strict = multiplier_search(family, lower, upper, total, settings, false)?;
            (m, jump) = (strict.0, strict.2);
            st = finish_pass(m.lambda, x);
        }
    }
    // A jump of g across the total (pieces with a flat stretch of f', e.g. a
    // piecewise-linear cost whose slope equals the price): the bracket [a, b] closed to
    // rounding, and no single λ's responses sum to the total. Every x_i between its response
    // at a and at b is optimal at the price (f_i' is flat there), so the split
    // x = x(a) + θ (x(b) − x(a)) with θ = (total − Σ x(a)) / (Σ x(b) − Σ x(a)) is a KKT
    // point; the certificate below measures it like any other answer.
    if let Some((a, b)) = jump {
        if (st.sum - total).abs() > settings.tolerance * scale {
            let mut xb = Vec::new();
            xb.resize(n, 0.0);
            let sa = finish_pass(a, x).sum;
            finish_pass(b, &mut xb);
            // Σ x = total and x ≥ x(a) leave no item more than total − Σ x(a) above its
            // response at a: clamping x(b) there loses no solution and keeps an unbounded
            // response (a linear piece without an upper bound) finite.
            let room = total - sa;
            let mut sb = 0.0;
            for (xa, xb) in x.iter().zip(xb.iter_mut()) {
                if *xb > xa + room {
                    *xb = xa + room;
                }
                sb += *xb;
            }
            // (Rounding slack: the clamped sum can fall a few ulps short of the total.)
            let slack = settings.tolerance * scale;
            if sa <= total && total <= sb + slack && sb > sa && sb.is_finite() {
                let theta = ((total - sa) / (sb - sa)).min(1.0);
                for (xa, xb) in x.iter_mut().zip(&xb) {
                    *xa += theta * (xb - *xa);
                }
                // The price is the jump's location (the search's best point may lie
                // elsewhere on a flat stretch of g with the same |g|).
                m.lambda = a;
                m.residual = 0.0;
                st = kkt_pass(family, a, lower, upper, x, settings.parallel_threshold);
            } else {
                st = finish_pass(m.lambda, x);
            }
        }
    }
    let lambda = m.lambda;
    let residual = st.sum - total;
    let price_scale = lambda.abs().max(st.derivative_scale);
    let mut certificate = Certificate {
        primal_infeasibility: relative(residual.abs(), scale),
        stationarity: relative(st.stationarity, price_scale),
        complementarity: relative(st.complementarity, price_scale * scale),
        duality_gap: relative(
            (lambda * residual).abs(),
            st.objective.abs().max(lambda.abs() * scale),
        ),
        iterations: m.iterations,
        status: m.status,
    };
    if certificate.status.is_solved()
        && (certificate.max_residual().is_nan()
            || certificate.max_residual() > settings.certificate_tolerance)
    {
        certificate.status = Status::NumericalError;
    }
    Ok((lambda, st.objective, certificate))
}

/// The final pass's sums and KKT residuals of a given allocation `x` at `λ` (chunked and
/// combined in order like every pass: deterministic).
fn kkt_pass<F: Family + ?Sized>(
    family: &F,
    lambda: f64,
    lower: Bound<'_>,
    upper: Bound<'_>,
    x: &[f64],
    threshold: usize,
) -> FinishStats {
    let per_chunk = |c: usize, chunk: &[f64]| {
        let mut st = FinishStats::default();
        for (k, &xi) in chunk.iter().enumerate() {
            let i = c * CHUNK + k;
            kkt_item(family, i, xi, lambda, lower.get(i), upper.get(i), &mut st);
        }
        st
    };
    if x.len() >= threshold {
        let parts: Vec<FinishStats> = x
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, ch)| per_chunk(c, ch))
            .collect();
        parts
            .into_iter()
            .fold(FinishStats::default(), FinishStats::combine)
    } else {
        x.chunks(CHUNK)
            .enumerate()
            .map(|(c, ch)| per_chunk(c, ch))
            .fold(FinishStats::default(), FinishStats::combine)
    }
}

/// `residual / scale`, the certificate's relative measure; a zero scale (all the data that
/// sets it is zero) leaves the residual as it is — it is then an exact zero or rounding of
/// zero-sized data, reported without inflating it.
fn relative(residual: f64, scale: f64) -> f64 {
    if scale > 0.0 {
        residual / scale
    } else {
        residual
    }
}

/// Accumulator lanes of the vectorised loops.
const LANES: usize = 8;

#[inline(always)]
fn lanes_sum(v: &[f64; LANES]) -> f64 {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
}

/// Eight items of [`QuadraticFamily`]'s pass: the clamped responses `x = (λ − a)/(2h)` of
/// `a x + h x²` (`a` already measured from the price reference) and their slopes `1/(2h)`
/// (0 when clamped).
#[inline(always)]
fn quadratic_sum_lanes(a: Lanes, h: Lanes, lambda: f64, lo: f64, hi: f64) -> (Lanes, Lanes) {
    let (lo, hi, zero) = (Lanes::splat(lo), Lanes::splat(hi), Lanes::splat(0.0));
    let inv = 0.5 / h;
    let x = (lambda - a) * inv;
    let below = Mask::lt(x, lo);
    let xl = below.select(lo, x);
    let xc = Mask::lt(xl, hi).select(xl, hi);
    let w = below.select(zero, inv);
    let w = Mask::lt(x, hi).select(w, zero);
    (xc, w)
}

/// Eight items of [`QuadraticFamily`]'s final pass: `(x, f(x), |f'(x)|, stationarity
/// violation)` with `f(x) = a x + h x²`, the violation measured afresh from `f'(x) − λ`
/// (`|·|` for a free item, the sign conditions at the bounds).
#[inline(always)]
fn quadratic_finish_lanes(
    a: Lanes,
    h: Lanes,
    lambda: f64,
    lo: f64,
    hi: f64,
) -> (Lanes, Lanes, Lanes, Lanes) {
    let (lo, hi) = (Lanes::splat(lo), Lanes::splat(hi));
    let x = (lambda - a) * (0.5 / h);
    let xl = Mask::lt(x, lo).select(lo, x);
    let xc = Mask::lt(xl, hi).select(xl, hi);
    let fd = a + 2.0 * h * xc;
    let r = fd - lambda;
    // Free: |r|; at the lower bound ν_l = r must be ≥ 0; at the upper ν_u = −r ≥ 0.
    let v = Mask::ge(x, hi).select(r, r.abs());
    let v = Mask::lt(x, lo).select(r.map(|y| -y), v);
    (xc, (a + h * xc) * xc, fd.abs(), v)
}

/// Linear-plus-quadratic costs `f_i(x) = a_i x + h_i x²` as struct-of-arrays
/// (li-chen-dahleh-2015 §VII-B): the competitive equilibrium's family.
///
/// # Price reference (units)
/// With `reference = r` the family is `f_i(x) = (a_i − r) x + h_i x²`: the allocator's
/// multiplier is then the price *measured from* `r`, `μ = λ − r`, and the caller adds `r`
/// back. This is how the competitive equilibrium keeps relative accuracy in the loads when
/// the deficit is tiny: there `λ = a_min + 2 h q` with `2 h q` far below `a_min`, so
/// `x_i = (λ − a_i)/(2h_i)` computed from `λ` loses every digit below `ε·a_min`, while
/// `x_i = (μ − (a_i − r))/(2h_i)` with `r = a_min` keeps them (`a_i − r` is exact near
/// `r`, Sterbenz). `r = 0` ([`QuadraticFamily::new`]) is the plain family.
#[derive(Debug, Clone, Copy)]
pub struct QuadraticFamily<'a> {
    /// `a_i ≥ 0`.
    pub linear: &'a [f64],
    /// `h_i > 0`.
    pub quadratic: &'a [f64],
    /// The price reference `r` subtracted from every `a_i` (0 for the plain family).
    pub reference: f64,
}

fn check_soa(linear: &[f64], quadratic: &[f64]) -> Result<(), ConvexError> {
    if linear.len() != quadratic.len() {
        return Err(ConvexError::LengthMismatch {
            field: "quadratic".into(),
            expected: linear.len(),
            got: quadratic.len(),
        });
    }
    for (i, (&a, &h)) in linear.iter().zip(quadratic).enumerate() {
        crate::error::check_finite(|| format!("linear[{i}]"), a)?;
        crate::error::check_positive(|| format!("quadratic[{i}]"), h)?;
    }
    Ok(())
}

impl<'a> QuadraticFamily<'a> {
    /// Validated: equal lengths, finite `a_i`, finite `h_i > 0`.
    pub fn new(linear: &'a [f64], quadratic: &'a [f64]) -> Result<Self, ConvexError> {
        check_soa(linear, quadratic)?;
        Ok(Self {
            linear,
            quadratic,
            reference: 0.0,
        })
    }

    /// The family with price reference `r` (see the type's docs): multipliers of
    /// [`allocate`] are then `λ − r`.
    pub fn with_reference(mut self, reference: f64) -> Result<Self, ConvexError> {
        crate::error::check_finite(|| "reference".into(), reference)?;
        self.reference = reference;
        Ok(self)
    }
}

impl Family for QuadraticFamily<'_> {
    fn len(&self) -> usize {
        self.linear.len()
    }
    fn affine_response(&self, i: usize) -> Option<(f64, f64)> {
        let inv = 0.5 / self.quadratic[i];
        Some((inv, (self.linear[i] - self.reference) * inv))
    }
    fn bracket(&self, range: Range<usize>, lower: Bound<'_>, upper: Bound<'_>) -> Bracket {
        let (Bound::Constant(lo), Bound::Constant(hi)) = (lower, upper) else {
            return generic_bracket(self, range, lower, upper);
        };
        if range.is_empty()
            || lo.is_nan()
            || hi.is_nan()
            || lo > hi
            || lo == f64::INFINITY
            || hi == f64::NEG_INFINITY
        {
            return generic_bracket(self, range, lower, upper);
        }
        let len = range.len() as f64;
        let (a, h) = (&self.linear[range.clone()], &self.quadratic[range]);
        let mut alpha = [0.0f64; LANES];
        let mut beta = [0.0f64; LANES];
        let mut dmin = [f64::INFINITY; LANES];
        let mut dmax = [f64::NEG_INFINITY; LANES];
        // f_i'(l) = a_i + 2 h_i l; infinite bounds give ±∞ ends (set after the loop).
        let lf = if lo.is_finite() { lo } else { 0.0 };
        let hf = if hi.is_finite() { hi } else { 0.0 };
        let r = self.reference;
        for (j, (&a, &h)) in a.iter().zip(h).enumerate() {
            let k = j % LANES;
            let a = a - r;
            let inv = 0.5 / h;
            alpha[k] += inv;
            beta[k] += a * inv;
            let dl = a + 2.0 * h * lf;
            let du = a + 2.0 * h * hf;
            dmin[k] = if dl < dmin[k] { dl } else { dmin[k] };
            dmax[k] = if du > dmax[k] { du } else { dmax[k] };
        }
        let lambda_lower = if lo.is_finite() {
            dmin.iter().fold(f64::INFINITY, |m, &v| m.min(v))
        } else {
            f64::NEG_INFINITY
        };
        let lambda_upper = if hi.is_finite() {
            dmax.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v))
        } else {
            f64::INFINITY
        };
        Bracket {
            sum_lower: lo * len,
            sum_upper: hi * len,
            lambda_lower,
            lambda_upper,
            bad: None,
            alpha: lanes_sum(&alpha),
            beta: lanes_sum(&beta),
        }
    }
    fn finish(
        &self,
        base: usize,
        lambda: f64,
        lower: Bound<'_>,
        upper: Bound<'_>,
        out: &mut [f64],
    ) -> FinishStats {
        let (Bound::Constant(lo), Bound::Constant(hi)) = (lower, upper) else {
            return generic_finish(self, base, lambda, lower, upper, out);
        };
        let m = out.len();
        let (a, h) = (
            &self.linear[base..base + m],
            &self.quadratic[base..base + m],
        );
        let r = self.reference;
        // Item j goes to lane j % LANES, in blocks of LANES ([`Lanes`]: vectorised), the
        // remainder in a partial block.
        let (ab, hb) = (a.chunks_exact(LANES), h.chunks_exact(LANES));
        let (ar, hr) = (ab.remainder(), hb.remainder());
        let mut oc = out.chunks_exact_mut(LANES);
        let (mut sum, mut obj) = (Lanes::splat(0.0), Lanes::splat(0.0));
        let (mut stat, mut dscale) = (Lanes::splat(0.0), Lanes::splat(0.0));
        for ((a8, h8), o8) in ab.zip(hb).zip(&mut oc) {
            let (x, f, fa, v) =
                quadratic_finish_lanes(Lanes::load(a8) - r, Lanes::load(h8), lambda, lo, hi);
            x.store(o8);
            sum = sum + x;
            obj = obj + f;
            dscale = dscale.max(fa);
            stat = stat.max(v);
        }
        if !ar.is_empty() {
            let on = Mask::first(ar.len());
            let (a8, h8) = (Lanes::load_partial(ar, r), Lanes::load_partial(hr, 1.0));
            let (x, f, fa, v) = quadratic_finish_lanes(a8 - r, h8, lambda, lo, hi);
            x.store_partial(oc.into_remainder());
            let zero = Lanes::splat(0.0);
            sum = sum + on.select(x, zero);
            obj = obj + on.select(f, zero);
            dscale = dscale.max(on.select(fa, zero));
            stat = stat.max(on.select(v, zero));
        }
        let (sum, obj, stat, dscale) = (sum.0, obj.0, stat.0, dscale.0);
        let smax = stat.iter().fold(0.0f64, |m, &v| if v > m { v } else { m });
        FinishStats {
            sum: lanes_sum(&sum),
            objective: lanes_sum(&obj),
            stationarity: smax,
            complementarity: 0.0,
            derivative_scale: dscale
                .iter()
                .fold(0.0f64, |m, &v| if v > m { v } else { m }),
        }
    }
    fn sum_response(
        &self,
        range: Range<usize>,
        lambda: f64,
        lower: Bound<'_>,
        upper: Bound<'_>,
    ) -> (f64, f64) {
        if let (Bound::Constant(lo), Bound::Constant(hi)) = (lower, upper) {
            // Branch-free loop over the struct-of-arrays slices with LANES accumulators
            // (fixed order: the result does not depend on threads) so that it vectorises.
            let (a, h) = (&self.linear[range.clone()], &self.quadratic[range]);
            let (ac, hc) = (a.chunks_exact(LANES), h.chunks_exact(LANES));
            let (ar, hr) = (ac.remainder(), hc.remainder());
            let r = self.reference;
            let (mut s, mut sl) = (Lanes::splat(0.0), Lanes::splat(0.0));
            for (a8, h8) in ac.zip(hc) {
                let (x, w) =
                    quadratic_sum_lanes(Lanes::load(a8) - r, Lanes::load(h8), lambda, lo, hi);
                s = s + x;
                sl = sl + w;
            }
            if !ar.is_empty() {
                let on = Mask::first(ar.len());
                let (a8, h8) = (Lanes::load_partial(ar, r), Lanes::load_partial(hr, 1.0));
                let (x, w) = quadratic_sum_lanes(a8 - r, h8, lambda, lo, hi);
                let zero = Lanes::splat(0.0);
                s = s + on.select(x, zero);
                sl = sl + on.select(w, zero);
            }
            let (s, sl) = (s.0, sl.0);
            let s = lanes_sum(&s);
            let sl = lanes_sum(&sl);
            (s, sl)
        } else {
            let (mut s, mut sl) = (0.0, 0.0);
            for i in range {
                let (x, d) = self.response(i, lambda, lower.get(i), upper.get(i));
                s += x;
                sl += d;
            }
            (s, sl)
        }
    }
    #[inline(always)]
    fn value(&self, i: usize, x: f64) -> f64 {
        (self.linear[i] - self.reference + self.quadratic[i] * x) * x
    }
    #[inline(always)]
    fn derivative(&self, i: usize, x: f64) -> f64 {
        self.linear[i] - self.reference + 2.0 * self.quadratic[i] * x
    }
    #[inline(always)]
    fn response(&self, i: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
        let inv = 0.5 / self.quadratic[i];
        let x = (lambda - (self.linear[i] - self.reference)) * inv;
        if x < lo {
            (lo, if x == lo { inv } else { 0.0 })
        } else if x >= hi {
            (hi, 0.0)
        } else {
            (x, inv)
        }
    }
}

/// The Nash transforms `D_i` of linear-plus-quadratic costs for deficit `d`
/// (li-chen-dahleh-2015 Theorem 3), struct-of-arrays; responses by the closed form.
/// Responses stay below `d/2` (Lemma 3).
#[derive(Debug, Clone, Copy)]
pub struct NashQuadraticFamily<'a> {
    /// `a_i ≥ 0`.
    pub linear: &'a [f64],
    /// `h_i > 0`.
    pub quadratic: &'a [f64],
    /// The deficit `d`.
    pub deficit: f64,
}

impl<'a> NashQuadraticFamily<'a> {
    /// Validated: as [`QuadraticFamily::new`], and `d > 0`.
    pub fn new(linear: &'a [f64], quadratic: &'a [f64], deficit: f64) -> Result<Self, ConvexError> {
        check_soa(linear, quadratic)?;
        crate::error::check_positive(|| "deficit".into(), deficit)?;
        Ok(Self {
            linear,
            quadratic,
            deficit,
        })
    }
}

impl Family for NashQuadraticFamily<'_> {
    fn len(&self) -> usize {
        self.linear.len()
    }
    fn value(&self, i: usize, x: f64) -> f64 {
        let t = crate::scalar::NashTransform {
            cost: crate::scalar::LinearQuadraticCost {
                linear: self.linear[i],
                quadratic: self.quadratic[i],
            },
            deficit: self.deficit,
        };
        t.value(x)
    }
    #[inline(always)]
    fn derivative(&self, i: usize, x: f64) -> f64 {
        let d = self.deficit;
        if x >= 0.5 * d {
            return f64::INFINITY;
        }
        (d - x) / (d - 2.0 * x) * (self.linear[i] + 2.0 * self.quadratic[i] * x)
    }
    #[inline(always)]
    fn response(&self, i: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
        let (a, h, d) = (self.linear[i], self.quadratic[i], self.deficit);
        let q = nash_quadratic_response(a, h, d, lambda);
        if q < lo || (q == lo && lambda < a) {
            (lo, 0.0)
        } else if q >= hi {
            (hi, 0.0)
        } else {
            (q, nash_quadratic_slope(a, h, d, q))
        }
    }
}

/// Any slice of [`ConvexScalar`] pieces as a family (array-of-structs; fine for small `n`
/// and user-supplied pieces).
#[derive(Debug, Clone, Copy)]
pub struct ScalarFamily<'a, P> {
    /// The pieces `f_i`.
    pub pieces: &'a [P],
}

impl<P: ConvexScalar> Family for ScalarFamily<'_, P> {
    fn len(&self) -> usize {
        self.pieces.len()
    }
    fn value(&self, i: usize, x: f64) -> f64 {
        self.pieces[i].value(x)
    }
    fn derivative(&self, i: usize, x: f64) -> f64 {
        self.pieces[i].derivative(x)
    }
    fn left_derivative(&self, i: usize, x: f64) -> f64 {
        self.pieces[i].left_derivative(x)
    }
    fn response(&self, i: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
        let p = &self.pieces[i];
        let x = p.inverse_derivative(lambda, lo, hi);
        if x > lo && x < hi {
            // At a kink with λ strictly inside the subdifferential the response stays put
            // for nearby λ: slope 0 (1/f'' there would mislead Newton).
            if p.left_derivative(x) < lambda && lambda < p.derivative(x) {
                return (x, 0.0);
            }
            let c = p.second_derivative(x);
            (x, if c > 0.0 { 1.0 / c } else { 0.0 })
        } else if x <= lo && p.derivative(lo) <= lambda && lo < hi {
            let c = p.second_derivative(lo);
            (x, if c > 0.0 { 1.0 / c } else { 0.0 })
        } else {
            (x, 0.0)
        }
    }
}
