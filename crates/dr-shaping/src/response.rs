//! A customer's exact response to a price profile: one-multiplier water-filling.
//!
//! Given prices `p(t)`, customer `i` solves (chen-li-low-doyle-2010 eqs. 32–34)
//! `max Σ_t U_i(q(t), t) − p(t) q(t)  s.t.  q ≥ 0,  Q_i ≤ Σ_t q(t) ≤ Q̄_i`.
//! With `f_t = −U_i(·, t)` (plus an optional extra curvature `½ e_t q²`, used by the Nash
//! potential) the KKT conditions (eqs. 35–37) read `q(t) = r_t(μ − p(t))` with
//! `r_t(λ) = argmin_{q ≥ 0} f_t(q) − λ q` and one multiplier `μ = λ_i − λ̄_i` of the daily
//! energy bounds: `μ = 0` when `Σ_t r_t(−p(t)) ∈ [Q_i, Q̄_i]`, else the root of the
//! monotone `Σ_t r_t(μ − p(t)) = Q_i` (`μ > 0`) or `= Q̄_i` (`μ < 0`).
//!
//! # Method
//! Safeguarded Newton on `μ` with a bracket (bisection when a Newton step leaves it,
//! expansion while one end is infinite). For quadratic and log utilities every `r_t` is
//! convex and non-decreasing, so the sum is too and Newton from the right of the root
//! decreases monotonically to it; for quadratic utilities the sum is piecewise linear and
//! Newton is exact once the set of periods with positive load settles (a few passes of
//! `T` operations).

use crate::error::ShapingError;
use crate::model::{Customers, Piece, Profile, ShapingModel, SupplyCost, UtilityKind};
use dr_convex::generic_inverse_derivative;
use dr_convex::ConvexScalar;

/// Customer `i`'s exact response to prices `p(t)` (chen-li-low-doyle-2010 eqs. 32–34):
/// its loads and its energy multiplier `μ_i = λ_i − λ̄_i` (eqs. 35–37), by water-filling
/// (module docs). Errors name `customer` (out of range) or `prices` (length, or a
/// non-finite entry).
pub fn customer_response(
    model: &ShapingModel,
    customer: usize,
    prices: &[f64],
) -> Result<(Vec<f64>, f64), ShapingError> {
    let periods = model.periods();
    if customer >= model.len() {
        return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
            field: "customer".into(),
            value: customer as f64,
            requirement: "must be < the number of customers".into(),
        }));
    }
    if prices.len() != periods {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: "prices".into(),
            expected: periods,
            got: prices.len(),
        }));
    }
    for (t, &p) in prices.iter().enumerate() {
        dr_convex::check_finite(|| format!("prices[{t}]"), p)?;
    }
    let customers = model.customers();
    let zeros = vec![0.0; periods];
    let pieces = CustomerPieces {
        customers,
        i: customer,
        extra: &zeros,
    };
    let mut q = vec![0.0; periods];
    let mut s = vec![0.0; periods];
    let wf = water_fill(
        &pieces,
        prices,
        customers.min_energy()[customer],
        customers.max_energy()[customer],
        &mut q,
        &mut s,
        f64::NAN,
    );
    Ok((q, wf.mu))
}

/// A customer's per-period terms `h_t` seen by the water-filling.
pub(crate) trait Pieces {
    /// `h_t(q)`.
    fn value(&self, t: usize, q: f64) -> f64;
    /// `h_t'(q)`.
    fn derivative(&self, t: usize, q: f64) -> f64;
    /// `argmin_{q ≥ 0} h_t(q) − λ q` and its right slope `dq/dλ`.
    fn response(&self, t: usize, lambda: f64) -> (f64, f64);
    /// `(θ, κ, extra)` when every `h_t(q) = ½ (κ_t + extra_t) q² − θ_t q` (the fast path).
    fn quadratic(&self) -> Option<(Profile<'_>, Profile<'_>, &[f64])> {
        None
    }
    /// `(w, s, extra)` when every `h_t(q) = −w_t ln(s_t + q) + ½ extra_t q²` (a path without
    /// a per-call dispatch on the utility's kind).
    fn log(&self) -> Option<(Profile<'_>, Profile<'_>, &[f64])> {
        None
    }
}

/// A log-utility customer's terms `−w_t ln(s_t + q) + ½ extra_t q²`, read straight from
/// its profiles (the same formulas as the general pieces, [`Piece::Log`]).
struct LogPieces<'a> {
    weight: Profile<'a>,
    shift: Profile<'a>,
    extra: &'a [f64],
}

impl LogPieces<'_> {
    #[inline]
    fn piece(&self, t: usize) -> Piece<'static> {
        Piece::Log {
            weight: self.weight.at(t),
            shift: self.shift.at(t),
        }
    }
}

impl Pieces for LogPieces<'_> {
    #[inline]
    fn value(&self, t: usize, q: f64) -> f64 {
        self.piece(t).value(q, self.extra[t])
    }
    #[inline]
    fn derivative(&self, t: usize, q: f64) -> f64 {
        self.piece(t).derivative(q, self.extra[t])
    }
    #[inline]
    fn response(&self, t: usize, lambda: f64) -> (f64, f64) {
        self.piece(t).response(lambda, self.extra[t])
    }
}

/// Customer `i`'s disutilities plus `½ extra_t q²`.
pub(crate) struct CustomerPieces<'a> {
    pub(crate) customers: &'a Customers,
    pub(crate) i: usize,
    pub(crate) extra: &'a [f64],
}

impl Pieces for CustomerPieces<'_> {
    #[inline]
    fn value(&self, t: usize, q: f64) -> f64 {
        self.customers.piece(self.i, t).value(q, self.extra[t])
    }
    #[inline]
    fn derivative(&self, t: usize, q: f64) -> f64 {
        self.customers.piece(self.i, t).derivative(q, self.extra[t])
    }
    #[inline]
    fn response(&self, t: usize, lambda: f64) -> (f64, f64) {
        self.customers
            .piece(self.i, t)
            .response(lambda, self.extra[t])
    }
    #[inline]
    fn quadratic(&self) -> Option<(Profile<'_>, Profile<'_>, &[f64])> {
        if self.customers.kind(self.i)? != UtilityKind::Quadratic {
            return None;
        }
        let (theta, kappa) = self.customers.profiles(self.i)?;
        Some((theta, kappa, self.extra))
    }
    #[inline]
    fn log(&self) -> Option<(Profile<'_>, Profile<'_>, &[f64])> {
        if self.customers.kind(self.i)? != UtilityKind::Log {
            return None;
        }
        let (weight, shift) = self.customers.profiles(self.i)?;
        Some((weight, shift, self.extra))
    }
}

/// Customer `i`'s strategic cost given the others' loads `Q_{−i}(t)`:
/// `h_t(q) = −U_i(q, t) + q C'(Q_{−i}(t) + q, t)` (chen-li-low-doyle-2010 eq. 43, negated).
pub(crate) struct BestResponsePieces<'a> {
    pub(crate) customers: &'a Customers,
    pub(crate) i: usize,
    pub(crate) supply: &'a SupplyCost,
    pub(crate) others: &'a [f64],
}

#[derive(Debug)]
struct BestResponseScalar<'a> {
    piece: Piece<'a>,
    supply: &'a SupplyCost,
    t: usize,
    others: f64,
}

impl ConvexScalar for BestResponseScalar<'_> {
    fn value(&self, q: f64) -> f64 {
        self.piece.value(q, 0.0) + q * self.supply.marginal(self.t, self.others + q)
    }
    fn derivative(&self, q: f64) -> f64 {
        let total = self.others + q;
        self.piece.derivative(q, 0.0)
            + self.supply.marginal(self.t, total)
            + q * self.supply.curvature(self.t, total)
    }
    fn second_derivative(&self, q: f64) -> f64 {
        // Exact when C is quadratic (C''' = 0); only guides the safeguarded Newton otherwise.
        self.piece.second_derivative(q, 0.0) + 2.0 * self.supply.curvature(self.t, self.others + q)
    }
}

impl BestResponsePieces<'_> {
    fn scalar(&self, t: usize) -> BestResponseScalar<'_> {
        BestResponseScalar {
            piece: self.customers.piece(self.i, t),
            supply: self.supply,
            t,
            others: self.others[t],
        }
    }
}

impl Pieces for BestResponsePieces<'_> {
    fn value(&self, t: usize, q: f64) -> f64 {
        self.scalar(t).value(q)
    }
    fn derivative(&self, t: usize, q: f64) -> f64 {
        self.scalar(t).derivative(q)
    }
    fn response(&self, t: usize, lambda: f64) -> (f64, f64) {
        let s = self.scalar(t);
        let x = generic_inverse_derivative(&s, lambda, 0.0, f64::INFINITY).max(0.0);
        let free = x > 0.0 || s.derivative(0.0) <= lambda;
        let c = s.second_derivative(x);
        if free && c > 0.0 && c.is_finite() {
            (x, 1.0 / c)
        } else {
            (x, 0.0)
        }
    }
}

/// Outcome of one water-filling (the loads and slopes are written to the caller's buffers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WaterFill {
    /// `μ = λ_i − λ̄_i`: positive when the minimum daily energy binds, negative for the
    /// maximum.
    pub(crate) mu: f64,
    /// Whether a daily energy bound binds.
    pub(crate) active: bool,
    /// `Σ_t h_t(q(t)) + p(t) q(t)` at the response (the customer's minimised cost).
    pub(crate) objective: f64,
}

#[inline]
fn sum_at<P: Pieces>(
    pieces: &P,
    prices: &[f64],
    mu: f64,
    q: &mut [f64],
    slope: &mut [f64],
) -> (f64, f64) {
    let (mut s, mut d) = (0.0, 0.0);
    for t in 0..prices.len() {
        let (x, k) = pieces.response(t, mu - prices[t]);
        q[t] = x;
        slope[t] = k;
        s += x;
        d += k;
    }
    (s, d)
}

/// `sum_at` with `λ_t = δ + (p(t₀) − p(t))` (`p0 = p(t₀)`): the water-filling in `δ`.
#[inline]
fn sum_offset<P: Pieces>(
    pieces: &P,
    prices: &[f64],
    p0: f64,
    delta: f64,
    q: &mut [f64],
    slope: &mut [f64],
) -> (f64, f64) {
    let (mut s, mut d) = (0.0, 0.0);
    for t in 0..prices.len() {
        let (x, k) = pieces.response(t, delta + (p0 - prices[t]));
        q[t] = x;
        slope[t] = k;
        s += x;
        d += k;
    }
    (s, d)
}

/// Customer response `argmin_{q ≥ 0, lo ≤ Σq ≤ hi} Σ_t h_t(q(t)) + p(t) q(t)`: writes the
/// loads to `q` and the right slopes `∂q(t)/∂λ` of the free periods to `slope` (all of
/// length `T = prices.len()`).
///
/// `guess` is a warm start for the multiplier `μ` (e.g. the customer's `μ` at the last
/// accepted prices of the price Newton; `NaN` for none): the safeguarded Newton starts
/// there when a bound binds and the guess lies inside the bracket. The answer is the same
/// root to the same tolerance; only the number of passes over the periods changes.
pub(crate) fn water_fill<P: Pieces>(
    pieces: &P,
    prices: &[f64],
    lo: f64,
    hi: f64,
    q: &mut [f64],
    slope: &mut [f64],
    guess: f64,
) -> WaterFill {
    if hi == 0.0 {
        // S_i = {0}: every load is 0, μ = λ_i − λ̄_i the largest multiplier that keeps
        // every period at zero load, min_t (p(t) + h_t'(0)) (capped at 0).
        let mut mu = 0.0f64;
        let mut objective = 0.0;
        for t in 0..prices.len() {
            q[t] = 0.0;
            slope[t] = 0.0;
            mu = mu.min(prices[t] + pieces.derivative(t, 0.0));
            objective += pieces.value(t, 0.0);
        }
        return WaterFill {
            mu,
            active: true,
            objective,
        };
    }
    if let Some((theta, kappa, extra)) = pieces.quadratic() {
        return water_fill_quadratic(theta, kappa, extra, prices, lo, hi, q, slope, guess);
    }
    if let Some((weight, shift, extra)) = pieces.log() {
        // The same algorithm on the log terms without the per-call dispatch.
        let log = LogPieces {
            weight,
            shift,
            extra,
        };
        return water_fill(&log, prices, lo, hi, q, slope, guess);
    }
    let (s0, d0) = sum_at(pieces, prices, 0.0, q, slope);
    let mut mu = 0.0;
    let mut active = false;
    if !(s0 >= lo && s0 <= hi) {
        active = true;
        // Solved for δ = μ − p(t₀), t₀ the cheapest period, with λ_t = δ + (p(t₀) − p(t)):
        // when a binding bound puts μ within a few ulps of the prices (a log customer whose
        // shift dwarfs its load), δ is still resolved to its own ulp, not to that of p.
        let t0 = (0..prices.len()).fold(0, |m, t| if prices[t] < prices[m] { t } else { m });
        let p0 = prices[t0];
        let target = if s0 < lo { lo } else { hi };
        let tol = 1e-14 * target.abs();
        // Bracket [a, b] with g(a) < 0 < g(b), g(δ) = Σ_t r_t(λ_t(δ)) − target.
        let (mut a, mut b);
        let mut g = s0 - target;
        let mut d = d0;
        let mut delta = -p0;
        // Where every period is at zero load: δ ≤ min_t (h_t'(0) − (p(t₀) − p(t))).
        let mut all_zero = f64::INFINITY;
        for (t, &p) in prices.iter().enumerate() {
            all_zero = all_zero.min(pieces.derivative(t, 0.0) - (p0 - p));
        }
        if s0 < lo {
            a = -p0;
            b = f64::INFINITY;
            if (d.is_nan() || d <= 0.0) && all_zero.is_finite() && all_zero > -p0 {
                // Every period is clamped at zero until δ reaches all_zero: start there.
                delta = all_zero;
                let (s, k) = sum_offset(pieces, prices, p0, delta, q, slope);
                g = s - target;
                d = k;
                if g < 0.0 {
                    a = delta;
                }
            }
        } else {
            b = -p0;
            a = if all_zero.is_finite() && all_zero < -p0 {
                all_zero
            } else {
                f64::NEG_INFINITY
            };
        }
        // Warm start: a guess strictly inside the bracket replaces the start.
        let warm = guess - p0;
        if warm.is_finite() && warm > a && warm < b && warm != delta {
            delta = warm;
            let (s, k) = sum_offset(pieces, prices, p0, delta, q, slope);
            g = s - target;
            d = k;
        }
        let mut expand = 1.0_f64;
        // Bracket expansion in units of the prices and marginal utilities (no absolute 1).
        let unit = prices
            .iter()
            .fold(all_zero.abs(), |m, p| m.max(p.abs()))
            .max(f64::MIN_POSITIVE);
        let unit = if unit.is_finite() { unit } else { 1.0 };
        for _ in 0..200 {
            if g.abs() <= tol {
                break;
            }
            if g < 0.0 {
                a = a.max(delta);
            } else {
                b = b.min(delta);
            }
            if (b - a).is_finite() && b - a <= 4.0 * f64::EPSILON * a.abs().max(b.abs()) {
                break;
            }
            let newton = if d > 0.0 && g.is_finite() {
                delta - g / d
            } else {
                f64::NAN
            };
            delta = if newton > a && newton < b {
                newton
            } else if a.is_finite() && b.is_finite() {
                0.5 * (a + b)
            } else if a.is_finite() {
                expand *= 2.0;
                a + expand * a.abs().max(unit)
            } else {
                expand *= 2.0;
                b - expand * b.abs().max(unit)
            };
            let (s, k) = sum_offset(pieces, prices, p0, delta, q, slope);
            g = s - target;
            d = k;
        }
        mu = delta + p0;
    }
    let mut objective = 0.0;
    for t in 0..prices.len() {
        objective += pieces.value(t, q[t]) + prices[t] * q[t];
    }
    WaterFill {
        mu,
        active,
        objective,
    }
}

/// `(Σ_t k_t max(0, μ − b_t), Σ_{t: μ ≥ b_t} k_t)`: branch-free, vectorisable.
#[inline]
fn quadratic_sum(b: &[f64], k: &[f64], mu: f64) -> (f64, f64) {
    let (mut s, mut d) = (0.0, 0.0);
    for (&bt, &kt) in b.iter().zip(k) {
        let x = mu - bt;
        s += if x > 0.0 { kt * x } else { 0.0 };
        d += if x >= 0.0 { kt } else { 0.0 };
    }
    (s, d)
}

/// The water-filling for quadratic terms `h_t(q) = ½ k_t⁻¹ q² − θ_t q`: with breakpoints
/// `b_t = p_t − θ_t` and slopes `k_t = 1/(κ_t + extra_t)`, the load is
/// `q_t(μ) = k_t max(0, μ − b_t)`, so `Σ_t q_t(μ)` is convex, piecewise linear and
/// non-decreasing; Newton's method reaches its root exactly once the set of periods with
/// positive load settles, approaching it monotonically from the right (after at most one
/// step from the left).
#[allow(clippy::too_many_arguments)]
fn water_fill_quadratic(
    theta: Profile<'_>,
    kappa: Profile<'_>,
    extra: &[f64],
    prices: &[f64],
    lo: f64,
    hi: f64,
    q: &mut [f64],
    slope: &mut [f64],
    guess: f64,
) -> WaterFill {
    let periods = prices.len();
    // q holds the breakpoints and slope the slopes k_t until the end.
    let (b, k) = (&mut q[..periods], &mut slope[..periods]);
    for t in 0..periods {
        b[t] = prices[t] - theta.at(t);
        k[t] = 1.0 / (kappa.at(t) + extra[t]);
    }
    let (s0, d0) = quadratic_sum(b, k, 0.0);
    let mut mu = 0.0;
    let active = !(s0 >= lo && s0 <= hi);
    if active {
        let target = if s0 < lo { lo } else { hi };
        let tol = 1e-14 * target.abs();
        let (mut g, mut d) = (s0 - target, d0);
        // Warm start on the root's side of 0 (μ > 0 when the minimum binds, < 0 for the
        // maximum). From either side of the root Newton on this convex, nondecreasing,
        // piecewise-linear sum lands right of it after one step and then decreases to it.
        if guess.is_finite() && (guess > 0.0) == (s0 < lo) && guess != 0.0 {
            mu = guess;
            let (s, slope_sum) = quadratic_sum(b, k, mu);
            g = s - target;
            d = slope_sum;
        }
        for _ in 0..100 {
            if g.abs() <= tol {
                break;
            }
            let next = if d > 0.0 {
                mu - g / d
            } else {
                // Every period is at zero load (g < 0): jump to the first breakpoint.
                b.iter().copied().fold(f64::INFINITY, f64::min).max(mu)
            };
            if next == mu || !next.is_finite() {
                break;
            }
            mu = next;
            let (s, slope_sum) = quadratic_sum(b, k, mu);
            g = s - target;
            d = slope_sum;
        }
    }
    let mut objective = 0.0;
    for t in 0..periods {
        let (bt, kt) = (q[t], slope[t]);
        let x = mu - bt;
        let load = if x > 0.0 { kt * x } else { 0.0 };
        slope[t] = if x >= 0.0 { kt } else { 0.0 };
        q[t] = load;
        // h_t(q) + p_t q = ½ q²/k_t − θ_t q + p_t q = (½ q / k_t + b_t) q.
        objective += (0.5 * load / kt + bt) * load;
    }
    WaterFill {
        mu,
        active,
        objective,
    }
}
