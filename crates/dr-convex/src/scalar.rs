//! Scalar convex pieces: value, derivative and inverse derivative on an interval.
//!
//! Every market in the seed papers is built from one-dimensional convex (or concave)
//! functions: customers' shedding costs `C_i` (chen-li-low-doyle-2010 §III,
//! li-chen-dahleh-2015 eq. 1), utilities `U_i`/`v_t^i` (chen-li-low-doyle-2010 §IV,
//! wei-anastasopoulos eq. 1) and the consumers' log utility of alshehri-liu-chen-basar
//! (eq. 5). Utilities are concave; the kernel minimises, so a utility is represented here by
//! its *negative* (a convex "disutility"), and its types say so.
//!
//! The key operation is [`ConvexScalar::inverse_derivative`]: the minimiser of
//! `f(x) − p x` over `[lo, hi]`, i.e. a customer's response to the price `p`.

use crate::error::ConvexError;
use std::fmt;
use std::sync::Arc;

/// A convex function of one variable, with its first two derivatives.
///
/// Implementations must be convex on [`ConvexScalar::domain`]; `derivative` must be
/// non-decreasing there.
pub trait ConvexScalar: Send + Sync + fmt::Debug {
    /// `f(x)`.
    fn value(&self, x: f64) -> f64;
    /// `f'(x)`; where `f` has a kink (e.g. a piecewise-linear cost), the right derivative
    /// `f'_+(x)`.
    fn derivative(&self, x: f64) -> f64;
    /// `f''(x)` (≥ 0).
    fn second_derivative(&self, x: f64) -> f64;
    /// The left derivative `f'_−(x)`: the subdifferential of `f` at `x` is
    /// `[left_derivative(x), derivative(x)]`. Default: [`ConvexScalar::derivative`] (a
    /// differentiable `f`). The allocator's certificate measures stationarity against this
    /// interval, so a kinked piece at its kink is certified by the subgradient condition
    /// `f'_−(x) ≤ λ ≤ f'_+(x)`.
    fn left_derivative(&self, x: f64) -> f64 {
        self.derivative(x)
    }
    /// Open interval outside of which `f` is `+∞` (default: the whole line).
    fn domain(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
    /// `argmin_{x ∈ [lo, hi]} f(x) − p x`: the `x` with `f'(x) = p`, clamped to the
    /// interval (intersected with the domain). `lo ≤ hi` is assumed; either may be infinite.
    ///
    /// The default runs safeguarded Newton with bisection on `f' − p`.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        generic_inverse_derivative(self, p, lo, hi)
    }
    /// Closed-form inverse of the Nash transform `D'` of this cost for deficit `d`
    /// (li-chen-dahleh-2015 eq. 17), where one exists; `None` makes
    /// [`NashTransform`] fall back to safeguarded Newton.
    fn nash_inverse_derivative(&self, _p: f64, _deficit: f64) -> Option<f64> {
        None
    }
}

/// Safeguarded Newton/bisection for `f'(x) = p` on `[lo, hi]` ∩ domain.
///
/// Brackets the root by doubling from the finite end(s), then takes Newton steps that stay
/// inside the bracket (bisection otherwise). Terminates in at most 200 steps.
pub fn generic_inverse_derivative<F: ConvexScalar + ?Sized>(
    f: &F,
    p: f64,
    lo: f64,
    hi: f64,
) -> f64 {
    let (dlo, dhi) = f.domain();
    // Keep strictly inside an open domain.
    let lo = if lo <= dlo {
        next_inside(dlo, dhi, true)
    } else {
        lo
    };
    let hi = if hi >= dhi {
        next_inside(dlo, dhi, false)
    } else {
        hi
    };
    if lo > hi {
        return lo;
    }
    if lo.is_finite() && f.derivative(lo) >= p {
        return lo;
    }
    if hi.is_finite() && f.derivative(hi) <= p {
        return hi;
    }
    // Bracket [a, b] with f'(a) < p < f'(b).
    let mut a = lo;
    let mut b = hi;
    if !a.is_finite() || !b.is_finite() {
        let start = if a.is_finite() {
            a
        } else if b.is_finite() {
            b
        } else {
            0.0
        };
        let mut step = 1.0_f64.max(start.abs());
        if !a.is_finite() {
            let mut x = if b.is_finite() { b - step } else { start };
            while f.derivative(x) >= p && step < 1e300 {
                b = x;
                step *= 2.0;
                x = start - step;
            }
            a = x;
        }
        if !b.is_finite() {
            let mut x = if a.is_finite() { a + step } else { start };
            while f.derivative(x) <= p && step < 1e300 {
                a = x;
                step *= 2.0;
                x = start + step;
            }
            b = x;
        }
    }
    let mut x = 0.5 * (a + b);
    for _ in 0..200 {
        let g = f.derivative(x) - p;
        if g == 0.0 {
            return x;
        }
        if g < 0.0 {
            a = x;
        } else {
            b = x;
        }
        let h = f.second_derivative(x);
        let newton = if h > 0.0 { x - g / h } else { f64::NAN };
        let next = if newton > a && newton < b {
            newton
        } else {
            0.5 * (a + b)
        };
        if (next - x).abs() <= 4.0 * f64::EPSILON * x.abs().max(1e-300)
            || b - a <= 4.0 * f64::EPSILON * b.abs().max(a.abs())
        {
            return next;
        }
        x = next;
    }
    x
}

fn next_inside(dlo: f64, dhi: f64, lower: bool) -> f64 {
    if lower {
        if dlo.is_finite() {
            let w = if dhi.is_finite() {
                (dhi - dlo) * 1e-15
            } else {
                dlo.abs().max(1.0) * 1e-15
            };
            dlo + w
        } else {
            dlo
        }
    } else if dhi.is_finite() {
        let w = if dlo.is_finite() {
            (dhi - dlo) * 1e-15
        } else {
            dhi.abs().max(1.0) * 1e-15
        };
        dhi - w
    } else {
        dhi
    }
}

/// Linear-plus-quadratic cost `C(q) = a q + h q²` (li-chen-dahleh-2015 §VII-B, eq. 28;
/// chen-li-low-doyle-2010 §V), with `a ≥ 0`, `h > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearQuadraticCost {
    /// Linear coefficient `a` (marginal cost at zero).
    pub linear: f64,
    /// Quadratic coefficient `h` (`C'' = 2h`).
    pub quadratic: f64,
}

impl LinearQuadraticCost {
    /// Validated constructor: `a` finite and ≥ 0, `h` finite and > 0.
    pub fn new(linear: f64, quadratic: f64) -> Result<Self, ConvexError> {
        crate::error::check_nonnegative(|| "linear".into(), linear)?;
        crate::error::check_positive(|| "quadratic".into(), quadratic)?;
        Ok(Self { linear, quadratic })
    }
}

impl ConvexScalar for LinearQuadraticCost {
    fn value(&self, x: f64) -> f64 {
        self.linear * x + self.quadratic * x * x
    }
    fn derivative(&self, x: f64) -> f64 {
        self.linear + 2.0 * self.quadratic * x
    }
    fn second_derivative(&self, _x: f64) -> f64 {
        2.0 * self.quadratic
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        ((p - self.linear) / (2.0 * self.quadratic)).max(lo).min(hi)
    }
    fn nash_inverse_derivative(&self, p: f64, deficit: f64) -> Option<f64> {
        Some(nash_quadratic_response(
            self.linear,
            self.quadratic,
            deficit,
            p,
        ))
    }
}

/// Pure quadratic cost `C(q) = ½ c q²` (li-chen-dahleh-2015 §VI, Theorem 6), `c > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfQuadraticCost {
    /// Curvature `c`.
    pub curvature: f64,
}

impl HalfQuadraticCost {
    /// Validated constructor: `c` finite and > 0.
    pub fn new(curvature: f64) -> Result<Self, ConvexError> {
        crate::error::check_positive(|| "curvature".into(), curvature)?;
        Ok(Self { curvature })
    }
}

impl ConvexScalar for HalfQuadraticCost {
    fn value(&self, x: f64) -> f64 {
        0.5 * self.curvature * x * x
    }
    fn derivative(&self, x: f64) -> f64 {
        self.curvature * x
    }
    fn second_derivative(&self, _x: f64) -> f64 {
        self.curvature
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        (p / self.curvature).max(lo).min(hi)
    }
    fn nash_inverse_derivative(&self, p: f64, deficit: f64) -> Option<f64> {
        Some(nash_quadratic_response(
            0.0,
            0.5 * self.curvature,
            deficit,
            p,
        ))
    }
}

/// A linear function `f(x) = c x` (convex, zero curvature): e.g. the peak price term
/// `p_0 w` of wei-anastasopoulos problem (3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    /// Slope `c`.
    pub slope: f64,
}

impl ConvexScalar for Linear {
    fn value(&self, x: f64) -> f64 {
        self.slope * x
    }
    fn derivative(&self, _x: f64) -> f64 {
        self.slope
    }
    fn second_derivative(&self, _x: f64) -> f64 {
        0.0
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        if p > self.slope {
            hi
        } else {
            lo
        }
    }
}

/// A convex term plus a linear one, `f(x) + c x`: e.g. a user's disutility plus its energy
/// payment `p_t x` in the planner's objective (wei-anastasopoulos problem (3)).
#[derive(Debug, Clone, PartialEq)]
pub struct PlusLinear<F> {
    /// The convex term `f`.
    pub f: F,
    /// The slope `c` of the linear term.
    pub slope: f64,
}

impl<F: ConvexScalar> ConvexScalar for PlusLinear<F> {
    fn value(&self, x: f64) -> f64 {
        self.f.value(x) + self.slope * x
    }
    fn derivative(&self, x: f64) -> f64 {
        self.f.derivative(x) + self.slope
    }
    fn left_derivative(&self, x: f64) -> f64 {
        self.f.left_derivative(x) + self.slope
    }
    fn second_derivative(&self, x: f64) -> f64 {
        self.f.second_derivative(x)
    }
    fn domain(&self) -> (f64, f64) {
        self.f.domain()
    }
    /// `f'(x) + c = p` ⇔ `f'(x) = p − c`.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        self.f.inverse_derivative(p - self.slope, lo, hi)
    }
}

/// A convex term plus a half-quadratic one, `f(x) + ½ e x²` with `e ≥ 0`: the term a
/// strategic customer's potential adds to its disutility under a quadratic supply cost
/// `½ c_t Q² + e_t Q` (chen-li-low-doyle-2010 Theorem 7, `e = c_t`), and the curvature
/// shift of the shaping model's per-period responses. With `e = 0` it is `f` itself.
///
/// ```
/// use dr_convex::{ConvexScalar, LinearQuadraticCost, PlusHalfQuadratic};
/// let f = PlusHalfQuadratic { f: LinearQuadraticCost::new(1.0, 0.5)?, curvature: 2.0 };
/// // f(x) = x + ½ x² + x², f'(x) = 1 + 3x, f''(x) = 3.
/// assert_eq!(f.value(2.0), 2.0 + 2.0 + 4.0);
/// assert_eq!(f.derivative(2.0), 7.0);
/// assert_eq!(f.second_derivative(2.0), 3.0);
/// # Ok::<(), dr_convex::ConvexError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PlusHalfQuadratic<F> {
    /// The convex term `f`.
    pub f: F,
    /// The curvature `e ≥ 0` of the added term `½ e x²`.
    pub curvature: f64,
}

impl<F: ConvexScalar> ConvexScalar for PlusHalfQuadratic<F> {
    fn value(&self, x: f64) -> f64 {
        self.f.value(x) + 0.5 * self.curvature * x * x
    }
    fn derivative(&self, x: f64) -> f64 {
        self.f.derivative(x) + self.curvature * x
    }
    fn left_derivative(&self, x: f64) -> f64 {
        self.f.left_derivative(x) + self.curvature * x
    }
    fn second_derivative(&self, x: f64) -> f64 {
        self.f.second_derivative(x) + self.curvature
    }
    fn domain(&self) -> (f64, f64) {
        self.f.domain()
    }
}

/// Log utility `U(x) = w ln(s + x)` (alshehri-liu-chen-basar eq. 5 with `γ = w`, `ζ = s`;
/// wei-anastasopoulos §V), `w > 0`. As a [`ConvexScalar`] it is the disutility
/// `f(x) = −w ln(s + x)` on `x > −s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogUtility {
    /// Weight `w` (> 0).
    pub weight: f64,
    /// Shift `s`: the utility is finite for `x > −s`.
    pub shift: f64,
}

impl LogUtility {
    /// Validated constructor: `w > 0`, `s` finite.
    pub fn new(weight: f64, shift: f64) -> Result<Self, ConvexError> {
        crate::error::check_positive(|| "weight".into(), weight)?;
        crate::error::check_finite(|| "shift".into(), shift)?;
        Ok(Self { weight, shift })
    }
    /// The utility `w ln(s + x)` itself.
    pub fn utility(&self, x: f64) -> f64 {
        self.weight * (self.shift + x).ln()
    }
    /// Marginal utility `w / (s + x)`.
    pub fn marginal_utility(&self, x: f64) -> f64 {
        self.weight / (self.shift + x)
    }
}

impl ConvexScalar for LogUtility {
    fn value(&self, x: f64) -> f64 {
        if x > -self.shift {
            -self.utility(x)
        } else {
            f64::INFINITY
        }
    }
    fn derivative(&self, x: f64) -> f64 {
        -self.marginal_utility(x)
    }
    fn second_derivative(&self, x: f64) -> f64 {
        let z = self.shift + x;
        self.weight / (z * z)
    }
    fn domain(&self) -> (f64, f64) {
        (-self.shift, f64::INFINITY)
    }
    /// Demand at price `−p`: `−w/(s+x) = p` ⇒ `x = −w/p − s` for `p < 0`, else `+∞` (clamped).
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let x = if p < 0.0 {
            -self.weight / p - self.shift
        } else {
            f64::INFINITY
        };
        x.max(lo).min(hi)
    }
}

/// Quadratic utility `U(x) = θ x − ½ κ x²` (chen-li-low-doyle-2010 §IV), `κ > 0`.
/// As a [`ConvexScalar`] it is the disutility `f(x) = ½ κ x² − θ x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadraticUtility {
    /// Marginal utility at zero, `θ`.
    pub theta: f64,
    /// Curvature `κ` (> 0).
    pub kappa: f64,
}

impl QuadraticUtility {
    /// Validated constructor: `θ` finite, `κ > 0`.
    pub fn new(theta: f64, kappa: f64) -> Result<Self, ConvexError> {
        crate::error::check_finite(|| "theta".into(), theta)?;
        crate::error::check_positive(|| "kappa".into(), kappa)?;
        Ok(Self { theta, kappa })
    }
    /// The utility `θ x − ½ κ x²`.
    pub fn utility(&self, x: f64) -> f64 {
        self.theta * x - 0.5 * self.kappa * x * x
    }
    /// Marginal utility `θ − κ x`.
    pub fn marginal_utility(&self, x: f64) -> f64 {
        self.theta - self.kappa * x
    }
}

impl ConvexScalar for QuadraticUtility {
    fn value(&self, x: f64) -> f64 {
        -self.utility(x)
    }
    fn derivative(&self, x: f64) -> f64 {
        -self.marginal_utility(x)
    }
    fn second_derivative(&self, _x: f64) -> f64 {
        self.kappa
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        ((p + self.theta) / self.kappa).max(lo).min(hi)
    }
}

type ScalarFn = Arc<dyn Fn(f64) -> f64 + Send + Sync>;

/// A user-supplied convex function given by closures for `f`, `f'` and `f''`.
///
/// The inverse derivative is found by safeguarded Newton/bisection
/// ([`generic_inverse_derivative`]). Convexity is the caller's promise;
/// [`ClosureConvex::check_convex_on`] samples it.
#[derive(Clone)]
pub struct ClosureConvex {
    value: ScalarFn,
    derivative: ScalarFn,
    second_derivative: ScalarFn,
    domain: (f64, f64),
}

impl fmt::Debug for ClosureConvex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosureConvex")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl ClosureConvex {
    /// A convex function from closures `f`, `f'`, `f''`, finite on the open `domain`.
    pub fn new(
        value: impl Fn(f64) -> f64 + Send + Sync + 'static,
        derivative: impl Fn(f64) -> f64 + Send + Sync + 'static,
        second_derivative: impl Fn(f64) -> f64 + Send + Sync + 'static,
        domain: (f64, f64),
    ) -> Result<Self, ConvexError> {
        if domain.0.is_nan() || domain.1.is_nan() || domain.0 >= domain.1 {
            return Err(ConvexError::InvertedBounds {
                field: "domain".into(),
                lower: domain.0,
                upper: domain.1,
            });
        }
        Ok(Self {
            value: Arc::new(value),
            derivative: Arc::new(derivative),
            second_derivative: Arc::new(second_derivative),
            domain,
        })
    }

    /// Samples `f'` at `samples` points of `[lo, hi]` and returns an error naming the first
    /// point where it decreases or `f''` is negative or not finite (negative curvature).
    pub fn check_convex_on(&self, lo: f64, hi: f64, samples: usize) -> Result<(), ConvexError> {
        let n = samples.max(2);
        let mut prev = f64::NEG_INFINITY;
        for k in 0..n {
            let x = lo + (hi - lo) * k as f64 / (n - 1) as f64;
            let d = (self.derivative)(x);
            let c = (self.second_derivative)(x);
            crate::error::check_finite(|| format!("derivative({x})"), d)?;
            if c.is_nan() || c < 0.0 || d < prev - 1e-12 * d.abs().max(1.0) {
                return Err(ConvexError::OutOfRange {
                    field: format!("second_derivative({x})"),
                    value: c,
                    requirement: "must be >= 0 (convex)".into(),
                });
            }
            prev = d;
        }
        Ok(())
    }
}

impl ConvexScalar for ClosureConvex {
    fn value(&self, x: f64) -> f64 {
        (self.value)(x)
    }
    fn derivative(&self, x: f64) -> f64 {
        (self.derivative)(x)
    }
    fn second_derivative(&self, x: f64) -> f64 {
        (self.second_derivative)(x)
    }
    fn domain(&self) -> (f64, f64) {
        self.domain
    }
}

/// The Nash transform of a cost (li-chen-dahleh-2015 Theorem 3, eq. 17):
/// `D'(q) = (1 + q/(d − 2q)) C'(q)` on `[0, d/2)`, with
/// `D(q) = (1 + q/(d−2q)) C(q) − ∫_0^q d/(d−2x)² C(x) dx`.
///
/// `D` is convex when `C` is (the paper's Lemma 4); it has a barrier at `q → d/2`. `D` is
/// evaluated as `C(q) + ∫_0^q x C'(x)/(d − 2x) dx` (eq. 17 integrated by parts, *derived*),
/// which stays accurate next to the barrier where eq. 17's two terms cancel. For a
/// [`LinearQuadraticCost`] the inverse of `D'` is the smaller root of a quadratic (closed
/// form, [`NashTransform::inverse_derivative`]); otherwise safeguarded Newton.
#[derive(Debug, Clone)]
pub struct NashTransform<C> {
    /// The underlying cost `C`.
    pub cost: C,
    /// The deficit `d` (> 0).
    pub deficit: f64,
}

impl<C: ConvexScalar> NashTransform<C> {
    /// Validated constructor: `d > 0` and finite.
    pub fn new(cost: C, deficit: f64) -> Result<Self, ConvexError> {
        crate::error::check_positive(|| "deficit".into(), deficit)?;
        Ok(Self { cost, deficit })
    }

    /// The markup factor `1 + q/(d − 2q) = (d − q)/(d − 2q)`.
    pub fn markup(&self, q: f64) -> f64 {
        (self.deficit - q) / (self.deficit - 2.0 * q)
    }

    /// `D(q) − C(q) = ∫_0^q x C'(x)/(d − 2x) dx` for `0 < q < d/2`.
    ///
    /// Integrating eq. 17's `∫_0^q d C(x)/(d − 2x)² dx` by parts (`d/(d − 2x)² = d/dx
    /// [x/(d − 2x)]`) gives `D(q) = C(q) + ∫_0^q x C'(x)/(d − 2x) dx` (*derived*), a sum
    /// of non-negative terms for an increasing cost. Eq. 17 as written is the difference
    /// of two terms that grow like `q/(d − 2q)` while `D` grows only like `ln(d/(d − 2q))`:
    /// next to the barrier it loses every digit (at `d − 2q = 2` with `d = 1e12` it gave
    /// `D < 0` for `C(q) = 1e-8 (q + q²)`). With `x = d/2 (1 − e^{−u})` the integrand is
    /// `x C'(x)/2` in `u ∈ [0, ln(d/(d − 2q))]` — bounded and smooth, no weight to grade.
    fn excess(&self, q: f64) -> f64 {
        // Composite Gauss–Legendre, 5 points on 64 panels.
        let d = self.deficit;
        let panels = 64;
        let nodes = [
            (0.0, 128.0 / 225.0),
            (-0.538_469_310_105_683_1, 0.478_628_670_499_366_5),
            (0.538_469_310_105_683_1, 0.478_628_670_499_366_5),
            (-0.906_179_845_938_664, 0.236_926_885_056_189_08),
            (0.906_179_845_938_664, 0.236_926_885_056_189_08),
        ];
        let u_max = nash_log(d, q);
        let mut total = 0.0;
        for k in 0..panels {
            let a = u_max * k as f64 / panels as f64;
            let b = u_max * (k + 1) as f64 / panels as f64;
            let (m, r) = (0.5 * (a + b), 0.5 * (b - a));
            for &(t, w) in &nodes {
                let u = m + r * t;
                let x = -0.5 * d * (-u).exp_m1();
                total += w * r * 0.5 * x * self.cost.derivative(x);
            }
        }
        total
    }
}

/// `ln(d/(d − 2q))` for `0 ≤ q < d/2` without cancellation: `−ln(1 − 2q/d)` by `ln_1p`
/// below `q = d/4`, and `ln(d/(d − 2q))` above, where `d − 2q` is exact (Sterbenz).
///
/// The logarithm of the Nash transform `D_i` of li-chen-dahleh-2015 (eq. 17, Theorem 3)
/// next to its `d/2` barrier.
#[inline]
pub fn nash_log(d: f64, q: f64) -> f64 {
    if 4.0 * q < d {
        -(-2.0 * q / d).ln_1p()
    } else {
        (d / (d - 2.0 * q)).ln()
    }
}

impl<C: ConvexScalar> ConvexScalar for NashTransform<C> {
    fn value(&self, q: f64) -> f64 {
        if q >= 0.5 * self.deficit {
            return f64::INFINITY;
        }
        if q <= 0.0 {
            return self.markup(q) * self.cost.value(q);
        }
        // D = C + ∫_0^q x C'(x)/(d − 2x) dx (cancellation-free form of eq. 17, see
        // `excess`).
        self.cost.value(q) + self.excess(q)
    }
    fn derivative(&self, q: f64) -> f64 {
        if q >= 0.5 * self.deficit {
            return f64::INFINITY;
        }
        self.markup(q) * self.cost.derivative(q)
    }
    /// `D'_−(q) = (1 + q/(d − 2q)) C'_−(q)` (the markup is positive and smooth).
    fn left_derivative(&self, q: f64) -> f64 {
        if q >= 0.5 * self.deficit {
            return f64::INFINITY;
        }
        self.markup(q) * self.cost.left_derivative(q)
    }
    fn second_derivative(&self, q: f64) -> f64 {
        let d = self.deficit;
        let den = d - 2.0 * q;
        // d/dq (d − q)/(d − 2q) = d/(d − 2q)².
        d / (den * den) * self.cost.derivative(q) + self.markup(q) * self.cost.second_derivative(q)
    }
    fn domain(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, 0.5 * self.deficit)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        match self.cost.nash_inverse_derivative(p, self.deficit) {
            Some(q) if q > 0.0 || lo >= 0.0 => q.max(lo).min(hi),
            _ => generic_inverse_derivative(self, p, lo, hi),
        }
    }
}

/// `q` in `[0, d/2)` with `(d − q)/(d − 2q) · (a + 2 h q) = p`, or 0 when `p ≤ a`
/// (li-chen-dahleh-2015 eq. 26 for quadratic costs).
#[inline]
pub fn nash_quadratic_response(a: f64, h: f64, d: f64, p: f64) -> f64 {
    if p <= a {
        return 0.0;
    }
    let beta = 2.0 * h * d - a + 2.0 * p;
    let disc = beta * beta - 8.0 * h * (p - a) * d;
    2.0 * (p - a) * d / (beta + disc.max(0.0).sqrt())
}

/// `d q / d p` of [`nash_quadratic_response`] at an interior point: `1 / D''(q)`.
#[inline]
pub fn nash_quadratic_slope(a: f64, h: f64, d: f64, q: f64) -> f64 {
    let den = d - 2.0 * q;
    let dd = d / (den * den) * (a + 2.0 * h * q) + (d - q) / den * 2.0 * h;
    1.0 / dd
}

/// Pointers to a convex piece are the piece: `Box<T>`, `Arc<T>` and `&T` forward every
/// method (the closed forms included).
macro_rules! forward_convex_scalar {
    ($($ptr:ty),*) => {$(
        impl<T: ConvexScalar + ?Sized> ConvexScalar for $ptr {
            fn value(&self, x: f64) -> f64 {
                (**self).value(x)
            }
            fn derivative(&self, x: f64) -> f64 {
                (**self).derivative(x)
            }
            fn second_derivative(&self, x: f64) -> f64 {
                (**self).second_derivative(x)
            }
            fn left_derivative(&self, x: f64) -> f64 {
                (**self).left_derivative(x)
            }
            fn domain(&self) -> (f64, f64) {
                (**self).domain()
            }
            fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
                (**self).inverse_derivative(p, lo, hi)
            }
            fn nash_inverse_derivative(&self, p: f64, deficit: f64) -> Option<f64> {
                (**self).nash_inverse_derivative(p, deficit)
            }
        }
    )*};
}

forward_convex_scalar!(Box<T>, Arc<T>, &T);
