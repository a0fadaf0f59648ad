//! Competitive and Nash equilibria of supply-function bidding, solved exactly by the
//! kernel's single-coupling allocator.
//!
//! - Competitive (price-taking) equilibrium, li-chen-dahleh-2015 Theorem 1:
//!   `min Σ_i C_i(q_i)  s.t.  Σ_i q_i = d,  0 ≤ q_i ≤ q^max_i`; the price `p̄` is the
//!   multiplier of `Σ q = d`, bids `b̄_i = q̄_i / p̄`.
//! - Nash (price-anticipating) equilibrium, Theorem 3 (`n ≥ 3` able to supply):
//!   `min Σ_i D_i(q_i)  s.t.  Σ_i q_i = d,  0 ≤ q_i ≤ min(q^max_i, d/2)` with
//!   `D_i'(q) = (1 + q/(d − 2q)) C_i'(q)` (eq. 18); `p*` is the multiplier, `b_i* = q_i*/p*`.
//!
//! # Capacities in the game (*derived*)
//! With capacity `q^max_i` a customer's payoff in the load it gets, `q = d b_i/(B_−i + b_i)`,
//! is `u_i = q (d − q)/B_−i − C_i(q)` on `0 ≤ q ≤ q^max_i` (substitute `p = (d − q)/B_−i`
//! into eq. 13). Its first-order condition at the NE is `p* = D_i'(q_i*)` for a free
//! customer and `p* ≥ D_i'(q^max_i)` at capacity, exactly the KKT conditions of the Theorem 3
//! problem with the extra bound `q_i ≤ q^max_i`. So the kernel solves the capacitated game
//! the same way; [`crate::nash_gain`] checks the result against unilateral deviations that
//! respect the capacity.
//!
//! Quadratic populations use the kernel's struct-of-arrays families
//! ([`dr_convex::QuadraticFamily`], [`dr_convex::NashQuadraticFamily`] with the closed-form
//! `D_i` of [`nash_quadratic_value`]); general costs use [`dr_convex::ScalarFamily`] over
//! the costs or their [`dr_convex::NashTransform`]s.

use crate::error::BiddingError;
use crate::market::{Costs, Direction, Market};
use crate::report::ColumnSummary;
use dr_convex::parallel::{chunked_reduce, deterministic_sum, CHUNK, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{
    allocate, generic_bracket, generic_finish, Allocation, AllocatorSettings, Bound, Bracket,
    Certificate, ConvexScalar, Family, FinishStats, Lanes, Mask, NashQuadraticFamily,
    NashTransform, QuadraticFamily, ScalarFamily,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

/// Which equilibrium a result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EquilibriumKind {
    /// Price-taking customers (li-chen-dahleh-2015 Definition 1, Theorem 1).
    Competitive,
    /// Price-anticipating customers (Definition 2, Theorem 3).
    Nash,
}

/// The water-filling structure of li-chen-dahleh-2015 Theorems 2 and 4.
///
/// With customers ordered by `C_i^0 = C_i'(0)`, the active set (`q_i > 0`) is a prefix
/// `{1..n̄}` and `C_{n̄}^0 ≤ p ≤ C_{n̄+1}^0` (eq. 10, eq. 25). Checked without sorting:
/// the largest `C_i^0` of an active customer must not exceed the price, and the smallest
/// `C_i^0` of an inactive one must not be below it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WaterFilling {
    /// Number of active customers `n̄` (or `n*`).
    pub active: usize,
    /// Active customers that shed their full capacity.
    pub at_capacity: usize,
    /// `C_{n̄}^0`: the largest base marginal cost among active customers.
    pub highest_active_base_cost: Option<f64>,
    /// `C_{n̄+1}^0`: the smallest base marginal cost among inactive customers (`None`
    /// when every customer is active).
    pub lowest_inactive_base_cost: Option<f64>,
    /// True when `C_{n̄}^0 ≤ p ≤ C_{n̄+1}^0` holds (to relative 1e-9), i.e. the active set
    /// is a prefix of the `C_i'(0)` order.
    pub prefix: bool,
}

/// An equilibrium of the bidding market: price, bids, loads and their certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Equilibrium {
    /// Competitive or Nash.
    pub kind: EquilibriumKind,
    /// Deficit (shed) or surplus (absorb).
    pub direction: Direction,
    /// The amount matched, `d > 0`.
    pub deficit: f64,
    /// Market-clearing price `p = d / Σ b_i` (li-chen-dahleh-2015 eq. 4): the multiplier of
    /// `Σ q_i = d`.
    pub price: f64,
    /// Bids `b_i = q_i / p` (supply functions `q_i = b_i p`, eq. 2).
    pub bids: Vec<f64>,
    /// Loads `q_i` shed (or absorbed).
    pub loads: Vec<f64>,
    /// Net revenues `p q_i − C_i(q_i)` (Corollaries 1 and 3: non-negative, positive for active
    /// Nash customers).
    pub net_revenues: Vec<f64>,
    /// Total cost `Σ_i C_i(q_i)` (`C̄` or `C*` of Theorem 5).
    pub total_cost: f64,
    /// What the utility pays, `p d`.
    pub total_payment: f64,
    /// `Σ_i b_i` (`= d / p`).
    pub total_bid: f64,
    /// Theorem 2 / 4 water-filling check.
    pub water_filling: WaterFilling,
    /// For the Nash equilibrium: the largest relative gain any customer could get by
    /// deviating alone ([`crate::nash_gain`]); `None` for the competitive one.
    pub max_relative_gain: Option<f64>,
    /// KKT certificate of the allocation problem (Theorem 1 or 3), from the kernel.
    pub certificate: Certificate,
}

impl Equilibrium {
    /// Indices of the active customers (`q_i > 0`).
    pub fn active_set(&self) -> Vec<usize> {
        self.loads
            .iter()
            .enumerate()
            .filter(|(_, &q)| q > 0.0)
            .map(|(i, _)| i)
            .collect()
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.loads.len()
    }

    /// True when there are no customers (never, for a solved market).
    pub fn is_empty(&self) -> bool {
        self.loads.is_empty()
    }

    /// The largest load `max_i q_i`.
    pub fn max_load(&self) -> f64 {
        self.loads.iter().copied().fold(0.0, f64::max)
    }
}

/// `D(q)` of li-chen-dahleh-2015 Theorem 3 for `C(q) = a q + h q²`, in closed form:
/// `D(q) = (1 + q/(d−2q)) C(q) − ∫_0^q d C(x)/(d−2x)² dx` with
/// `∫_0^q d C(x)/(d−2x)² dx = (a d/2 + h d²/4) q/(d−2q) − d(a + h d)/4 · ln(d/(d−2q)) + h d q/4`
/// (*derived*: substitute `u = d − 2x`). That difference cancels catastrophically next to
/// the barrier (both terms grow like `q/(d − 2q)`, `D` like `ln(d/(d − 2q))`), so `D` is
/// computed as `C + ΔC`, `ΔC = ∫_0^q x C'(x)/(d − 2x) dx = a d/4 (L − τ) + h d²/4
/// (L − τ − τ²/2)`, `L = ln(d/(d − 2q))`, `τ = 2q/d` (eq. 17 integrated by parts,
/// *derived*); for `τ < 0.01` (where `L − τ` cancels) by the equivalent series
/// `ΔC = (q²/d) Σ_k τ^k (a/(k+2) + 2 h q/(k+3))` (from `ΔC' = q C'(q)/(d − 2q)`,
/// *derived*). `+∞` for `q ≥ d/2`.
pub fn nash_quadratic_value(a: f64, h: f64, d: f64, q: f64) -> f64 {
    if q >= 0.5 * d {
        return f64::INFINITY;
    }
    let c = (a + h * q) * q;
    let tau = 2.0 * q / d;
    if q <= 0.0 {
        return c * (d - q) / (d - 2.0 * q);
    }
    if tau < SERIES_TAU {
        return nash_series_value(a, h, d, q, c, tau);
    }
    // ΔC = ∫_0^q x (a + 2 h x)/(d − 2x) dx = a d/4 (L − τ) + h d²/4 (L − τ − τ²/2),
    // L = ln(d/(d − 2q)): a sum of non-negative terms (L ≥ τ + τ²/2 + τ³/3), unlike
    // eq. 17's difference of two terms growing like q/(d − 2q) next to the barrier.
    let log = dr_convex::nash_log(d, q);
    c + 0.25 * a * d * (log - tau) + 0.25 * h * d * d * (log - tau - 0.5 * tau * tau)
}

/// Below this `τ = 2q/d`, [`nash_quadratic_value`] sums the series (where `L − τ` cancels).
const SERIES_TAU: f64 = 0.01;

/// `1/(k+2)` and `1/(k+3)` for `k = 0..9`: the coefficients of the series of
/// [`nash_series_value`] (scalar and lane by lane).
const SERIES_RECIPROCALS: [f64; 11] = [
    1.0 / 2.0,
    1.0 / 3.0,
    1.0 / 4.0,
    1.0 / 5.0,
    1.0 / 6.0,
    1.0 / 7.0,
    1.0 / 8.0,
    1.0 / 9.0,
    1.0 / 10.0,
    1.0 / 11.0,
    1.0 / 12.0,
];

/// `C + ΔC` by the series of [`nash_quadratic_value`],
/// `ΔC = (q²/d) Σ_{k<10} τ^k (a/(k+2) + 2 h q/(k+3))`, for `0 < τ = 2q/d < 0.01`
/// (truncation below `τ^10`); the final pass of the Nash solve sums the same series lane by
/// lane (`nash_finish_lanes`).
#[inline(always)]
fn nash_series_value(a: f64, h: f64, d: f64, q: f64, c: f64, tau: f64) -> f64 {
    const R: [f64; 11] = SERIES_RECIPROCALS;
    let hq = 2.0 * h * q;
    let mut sum = 0.0;
    for k in (0..10).rev() {
        sum = sum * tau + (a * R[k] + hq * R[k + 1]);
    }
    c + q * q / d * sum
}

/// The kernel's [`NashQuadraticFamily`] with the closed-form `D_i` value.
#[derive(Clone, Copy)]
struct NashQuadratic<'a> {
    inner: NashQuadraticFamily<'a>,
    /// Where the price search starts, when known ([`Family::initial_multiplier`]).
    start: Option<f64>,
}

/// The Nash family (eq. 17) of costs `a_i q + h_i q²` for the fitted markets of
/// [`crate::fitted`]. Its responses are also right for `a_i < 0` read as a marginal cost
/// `max(0, a_i + 2 h_i q)`, as long as `a_i + h_i d > 0`.
pub(crate) fn nash_quadratic_family<'a>(
    linear: &'a [f64],
    quadratic: &'a [f64],
    deficit: f64,
) -> impl Family + 'a {
    NashQuadratic {
        inner: NashQuadraticFamily {
            linear,
            quadratic,
            deficit,
        },
        start: None,
    }
}

/// Response `q_i(λ) = (D_i')^{-1}(λ)` clamped to `[lo, hi]` and its slope `1/D_i''(q)`
/// (0 when clamped), branch-free so that chunk loops vectorise. Same value as the kernel's
/// `NashQuadraticFamily::response`.
#[inline(always)]
fn nash_point(a: f64, h: f64, d: f64, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
    let pa = lambda - a;
    let beta = 2.0 * h * d - a + 2.0 * lambda;
    let disc = beta * beta - 8.0 * h * pa * d;
    let disc = if disc > 0.0 { disc } else { 0.0 };
    let q = 2.0 * pa * d / (beta + disc.sqrt());
    let q = if pa > 0.0 { q } else { 0.0 };
    // 1/D''(q) with D'' = [d C'(q) + 2h (d − q)(d − 2q)] / (d − 2q)².
    let s = d - 2.0 * q;
    let w = s * s / (d * (a + 2.0 * h * q) + 2.0 * h * (d - q) * s);
    // `|` and `&`, not `||` and `&&`: no branches, so that the chunk loops vectorise.
    let below = (q < lo) | ((q == lo) & (lambda < a));
    let above = q >= hi;
    let x = if below {
        lo
    } else if above {
        hi
    } else {
        q
    };
    let w = if below | above { 0.0 } else { w };
    (x, w)
}

/// [`nash_point`] on eight customers at once (the same operations in the same order, so
/// the same bits), written with [`Lanes`] so that the passes vectorise.
#[inline(always)]
fn nash_point_lanes(a: Lanes, h: Lanes, d: f64, lambda: f64, lo: f64, hi: f64) -> (Lanes, Lanes) {
    let zero = Lanes::splat(0.0);
    let (lo, hi) = (Lanes::splat(lo), Lanes::splat(hi));
    let pa = lambda - a;
    let beta = 2.0 * h * d - a + 2.0 * lambda;
    let disc = beta * beta - 8.0 * h * pa * d;
    let disc = Mask::gt(disc, zero).select(disc, zero);
    let q = 2.0 * pa * d / (beta + disc.sqrt());
    let q = Mask::gt(pa, zero).select(q, zero);
    let s = d - 2.0 * q;
    let w = s * s / (d * (a + 2.0 * h * q) + 2.0 * h * (d - q) * s);
    let below = Mask::lt(q, lo).or(Mask::eq(q, lo).and(Mask::lt(Lanes::splat(lambda), a)));
    let above = Mask::ge(q, hi);
    let x = below.select(lo, above.select(hi, q));
    let w = below.or(above).select(zero, w);
    (x, w)
}

/// The Nash final pass's terms for eight customers at their loads `x`: `(D_i(x_i)` by the
/// series of [`nash_quadratic_value`] (0 where `off`), `off` (`2x/d ≥ 0.01` or `x` outside
/// `[0, d/2)`: the closed form is needed), `|D_i'(x_i)|` (0 where infinite), the
/// stationarity violation`)`.
#[inline(always)]
fn nash_finish_lanes(
    a: Lanes,
    h: Lanes,
    d: f64,
    lambda: f64,
    lo: f64,
    hi: f64,
    x: Lanes,
) -> (Lanes, Mask, Lanes, Lanes) {
    let zero = Lanes::splat(0.0);
    let inf = Lanes::splat(f64::INFINITY);
    let tau = 2.0 * x / d;
    let series = Mask::gt(x, zero).and(Mask::lt(tau, Lanes::splat(SERIES_TAU)));
    // The series of `nash_series_value`, lane by lane.
    const R: [f64; 11] = SERIES_RECIPROCALS;
    let c = (a + h * x) * x;
    let hq = 2.0 * h * x;
    let mut sum = zero;
    for k in (0..10).rev() {
        sum = sum * tau + (a * R[k] + hq * R[k + 1]);
    }
    let value = c + x * x / d * sum;
    let fd = (d - x) / (d - 2.0 * x) * (a + 2.0 * h * x);
    let fd = Mask::ge(x, Lanes::splat(0.5 * d)).select(inf, fd);
    let fa = fd.abs();
    let r = fd - lambda;
    let (lo, hi) = (Lanes::splat(lo), Lanes::splat(hi));
    let (at_lo, at_hi) = (Mask::le(x, lo), Mask::ge(x, hi));
    // Free: |r|; at the lower bound ν_l = r ≥ 0 is needed; at the upper ν_u = −r ≥ 0;
    // nothing for a fixed item (lo = hi).
    let v = at_lo.select(r.map(|y| -y), r.abs());
    let v = at_hi.select(r, v);
    let v = at_lo.and(at_hi).select(zero, v);
    (
        series.select(value, zero),
        (!series).and(!Mask::eq(x, zero)),
        Mask::lt(fa, inf).select(fa, zero),
        v,
    )
}

impl Family for NashQuadratic<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn value(&self, i: usize, x: f64) -> f64 {
        nash_quadratic_value(
            self.inner.linear[i],
            self.inner.quadratic[i],
            self.inner.deficit,
            x,
        )
    }
    #[inline(always)]
    fn derivative(&self, i: usize, x: f64) -> f64 {
        self.inner.derivative(i, x)
    }
    #[inline(always)]
    fn response(&self, i: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
        nash_point(
            self.inner.linear[i],
            self.inner.quadratic[i],
            self.inner.deficit,
            lambda,
            lo,
            hi,
        )
    }
    fn initial_multiplier(&self) -> Option<f64> {
        self.start
    }
    /// `D_i'(q) ≈ a_i + (2 h_i + a_i/d) q` near 0: the kernel's first guess.
    fn affine_response(&self, i: usize) -> Option<(f64, f64)> {
        let (a, h) = (self.inner.linear[i], self.inner.quadratic[i]);
        let alpha = 1.0 / (2.0 * h + a / self.inner.deficit);
        Some((alpha, a * alpha))
    }
    /// The first pass for constant bounds in one branch-free loop (the kernel's generic
    /// pass otherwise, which gives the same sums): `Σ l`, `Σ u`, the multiplier bracket
    /// `[min_i D_i'(l), max_i D_i'(u)]` (`D_i'(q) = (d − q)/(d − 2q) · C_i'(q)`, eq. 18;
    /// `+∞` from `q = d/2`) and the affine model of [`Family::affine_response`].
    fn bracket(&self, range: Range<usize>, lower: Bound<'_>, upper: Bound<'_>) -> Bracket {
        let (Bound::Constant(lo), Bound::Constant(hi)) = (lower, upper) else {
            return generic_bracket(self, range, lower, upper);
        };
        if range.is_empty()
            || lo.is_nan()
            || hi.is_nan()
            || lo > hi
            || !lo.is_finite()
            || hi == f64::NEG_INFINITY
        {
            return generic_bracket(self, range, lower, upper);
        }
        let d = self.inner.deficit;
        let len = range.len() as f64;
        // D_i'(x) = (d − x)/(d − 2x) · (a_i + 2 h_i x): the factor is common to every item.
        let factor = |x: f64| {
            if x >= 0.5 * d {
                f64::INFINITY
            } else {
                (d - x) / (d - 2.0 * x)
            }
        };
        let (fl, fu) = (factor(lo), factor(hi));
        if !fl.is_finite() {
            return generic_bracket(self, range, lower, upper);
        }
        let (a, h) = (
            &self.inner.linear[range.clone()],
            &self.inner.quadratic[range],
        );
        let hf = if hi.is_finite() { hi } else { 0.0 };
        let zero = Lanes::splat(0.0);
        let (mut alpha, mut beta) = (zero, zero);
        let mut dmin = Lanes::splat(f64::INFINITY);
        let mut dmax = Lanes::splat(f64::NEG_INFINITY);
        let (ab, hb) = (a.chunks_exact(LANES), h.chunks_exact(LANES));
        let (ar, hr) = (ab.remainder(), hb.remainder());
        // α_i = 1/(2h_i + a_i/d), β_i = a_i α_i, D_i'(lo), D_i'(hi).
        let item = |a: Lanes, h: Lanes| {
            let al = 1.0 / (2.0 * h + a / d);
            (al, a * al, fl * (a + 2.0 * h * lo), fu * (a + 2.0 * h * hf))
        };
        for (a8, h8) in ab.zip(hb) {
            let (al, be, dl, du) = item(Lanes::load(a8), Lanes::load(h8));
            alpha = alpha + al;
            beta = beta + be;
            dmin = dmin.min(dl);
            dmax = dmax.max(du);
        }
        if !ar.is_empty() {
            let on = Mask::first(ar.len());
            let (al, be, dl, du) = item(Lanes::load_partial(ar, 1.0), Lanes::load_partial(hr, 1.0));
            alpha = alpha + on.select(al, zero);
            beta = beta + on.select(be, zero);
            dmin = dmin.min(on.select(dl, Lanes::splat(f64::INFINITY)));
            dmax = dmax.max(on.select(du, Lanes::splat(f64::NEG_INFINITY)));
        }
        let (alpha, beta, dmin, dmax) = (alpha.0, beta.0, dmin.0, dmax.0);
        let lambda_lower = dmin.iter().fold(f64::INFINITY, |m, &v| m.min(v));
        let lambda_upper = if hi.is_finite() && fu.is_finite() {
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
    /// The final pass for constant bounds in one branch-free loop over the chunk (the
    /// kernel's generic pass otherwise): the responses of [`Family::response`], and the
    /// kernel's KKT residuals measured afresh from `D_i'(q_i)` (eq. 18) against the price —
    /// `|D_i'(q_i) − λ|` for a free customer, the sign conditions at the bounds — with
    /// `Σ D_i(q_i)` by the series of [`nash_quadratic_value`] where `2q/d < 0.01` and by its
    /// closed form (a second loop over the few others) elsewhere.
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
        let d = self.inner.deficit;
        let m = out.len();
        let (a, h) = (
            &self.inner.linear[base..base + m],
            &self.inner.quadratic[base..base + m],
        );
        let zero = Lanes::splat(0.0);
        let (mut sum, mut obj, mut stat, mut dscale) = (zero, zero, zero, zero);
        let mut off = Mask::first(0);
        let (ab, hb) = (a.chunks_exact(LANES), h.chunks_exact(LANES));
        let (ar, hr) = (ab.remainder(), hb.remainder());
        let mut oc = out.chunks_exact_mut(LANES);
        for ((a8, h8), o8) in ab.zip(hb).zip(&mut oc) {
            let (a8, h8) = (Lanes::load(a8), Lanes::load(h8));
            let x = nash_point_lanes(a8, h8, d, lambda, lo, hi).0;
            x.store(o8);
            let (v, o, fa, viol) = nash_finish_lanes(a8, h8, d, lambda, lo, hi, x);
            sum = sum + x;
            obj = obj + v;
            off = off.or(o);
            dscale = dscale.max(fa);
            stat = stat.max(viol);
        }
        if !ar.is_empty() {
            // A partial block: padded lanes (a = h = 1) are computed and dropped.
            let on = Mask::first(ar.len());
            let (a8, h8) = (Lanes::load_partial(ar, 1.0), Lanes::load_partial(hr, 1.0));
            let x = nash_point_lanes(a8, h8, d, lambda, lo, hi).0;
            x.store_partial(oc.into_remainder());
            let (v, o, fa, viol) = nash_finish_lanes(a8, h8, d, lambda, lo, hi, x);
            sum = sum + on.select(x, zero);
            obj = obj + on.select(v, zero);
            off = off.or(o.and(on));
            dscale = dscale.max(on.select(fa, zero));
            stat = stat.max(on.select(viol, zero));
        }
        let (sum, mut obj, stat, dscale) = (sum.0, obj.0, stat.0, dscale.0);
        if off.any() {
            // Loads with 2q/d ≥ 0.01 (or outside [0, d/2)): the closed form, item by item.
            for (j, &x) in out.iter().enumerate() {
                let tau = 2.0 * x / d;
                if !(x > 0.0 && tau < SERIES_TAU) && x != 0.0 {
                    obj[j % LANES] += nash_quadratic_value(a[j], h[j], d, x);
                }
            }
        }
        FinishStats {
            sum: lanes_sum(&sum),
            objective: lanes_sum(&obj),
            stationarity: stat.iter().fold(0.0f64, |m, &v| if v > m { v } else { m }),
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
        let d = self.inner.deficit;
        let (a, h) = (
            &self.inner.linear[range.clone()],
            &self.inner.quadratic[range.clone()],
        );
        let mut s = [0.0f64; LANES];
        let mut sl = [0.0f64; LANES];
        match (lower, upper) {
            (Bound::Constant(lo), Bound::Constant(hi)) => {
                // Blocks of eight ([`Lanes`]: vectorised); item j goes to lane j % 8.
                let (ab, hb) = (a.chunks_exact(LANES), h.chunks_exact(LANES));
                let (ar, hr) = (ab.remainder(), hb.remainder());
                let (mut sv, mut slv) = (Lanes::splat(0.0), Lanes::splat(0.0));
                for (a8, h8) in ab.zip(hb) {
                    let (a8, h8) = (Lanes::load(a8), Lanes::load(h8));
                    let (x, w) = nash_point_lanes(a8, h8, d, lambda, lo, hi);
                    sv = sv + x;
                    slv = slv + w;
                }
                if !ar.is_empty() {
                    let on = Mask::first(ar.len());
                    let (a8, h8) = (Lanes::load_partial(ar, 1.0), Lanes::load_partial(hr, 1.0));
                    let (x, w) = nash_point_lanes(a8, h8, d, lambda, lo, hi);
                    let zero = Lanes::splat(0.0);
                    sv = sv + on.select(x, zero);
                    slv = slv + on.select(w, zero);
                }
                (s, sl) = (sv.0, slv.0);
            }
            _ => {
                let base = range.start;
                for (j, (&a, &h)) in a.iter().zip(h).enumerate() {
                    let i = base + j;
                    let (x, w) = nash_point(a, h, d, lambda, lower.get(i), upper.get(i));
                    s[j % LANES] += x;
                    sl[j % LANES] += w;
                }
            }
        }
        (lanes_sum(&s), lanes_sum(&sl))
    }
}

const LANES: usize = 8;

#[inline(always)]
fn lanes_sum(v: &[f64; LANES]) -> f64 {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
}

/// The Nash transforms `D_i` of general costs (li-chen-dahleh-2015 eq. 17–18).
pub(crate) fn nash_pieces(
    costs: &[Arc<dyn ConvexScalar>],
    d: f64,
) -> Vec<NashTransform<Arc<dyn ConvexScalar>>> {
    costs
        .iter()
        .map(|c| NashTransform {
            cost: Arc::clone(c),
            deficit: d,
        })
        .collect()
}

/// Competitive equilibrium (li-chen-dahleh-2015 Theorems 1–2) with default kernel settings.
///
/// ```
/// use dr_bidding::{competitive_equilibrium, Market};
/// // Three customers C_i(q) = q + 0.5 q² shed d = 3: each sheds 1 at p̄ = C'(1) = 2.
/// let m = Market::quadratic(vec![1.0; 3], vec![0.5; 3], 3.0)?;
/// let eq = competitive_equilibrium(&m)?;
/// assert!((eq.price - 2.0).abs() < 1e-12);
/// assert!((eq.bids[0] - 0.5).abs() < 1e-12); // b̄ = q̄ / p̄
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
pub fn competitive_equilibrium(market: &Market) -> Result<Equilibrium, BiddingError> {
    competitive_equilibrium_with(market, &AllocatorSettings::default())
}

/// Competitive equilibrium with explicit kernel settings: `min Σ C_i(q_i)` s.t.
/// `Σ q_i = d`, `0 ≤ q_i ≤ q^max_i` (Theorem 1); price = multiplier.
pub fn competitive_equilibrium_with(
    market: &Market,
    settings: &AllocatorSettings,
) -> Result<Equilibrium, BiddingError> {
    competitive_solve(market, settings, true).map(|s| s.eq)
}

/// An equilibrium with the summaries of its columns, gathered by its final pass (for the
/// report, which so needs no pass of its own over the loads and bids).
pub(crate) struct Solved {
    /// The equilibrium; `net_revenues` is empty when they were not asked for.
    pub eq: Equilibrium,
    /// Summary of the loads `q_i`.
    pub loads: ColumnSummary,
    /// Summary of the bids `b_i`.
    pub bids: ColumnSummary,
}

/// [`competitive_equilibrium_with`], with the net revenues only when `revenues` is true
/// (else `net_revenues` is empty: the report leaves them out at national scale).
pub(crate) fn competitive_solve(
    market: &Market,
    settings: &AllocatorSettings,
    revenues: bool,
) -> Result<Solved, BiddingError> {
    let d = market.deficit();
    let upper = match market.capacities() {
        Some(c) => Bound::PerItem(c),
        None => Bound::Constant(f64::INFINITY),
    };
    let lower = Bound::Constant(0.0);
    let alloc = match market.costs() {
        Costs::Quadratic { linear, quadratic } => {
            // Prices measured from the lowest base marginal cost `r = min_i a_i` (the
            // kernel's price reference): with a tiny deficit `p̄ = r + 2 h q` differs from
            // `r` only far below `ε·r`, and the loads `q_i = (p̄ − a_i)/(2 h_i)` keep their
            // relative accuracy only when computed from `p̄ − r` (units must not matter).
            let r = chunked_reduce(
                linear.len(),
                DEFAULT_PARALLEL_THRESHOLD,
                f64::INFINITY,
                |range| linear[range].iter().copied().fold(f64::INFINITY, f64::min),
                f64::min,
            );
            let fam = QuadraticFamily {
                linear,
                quadratic,
                reference: r,
            };
            let mut alloc = allocate(&fam, lower, upper, d, settings)?;
            alloc.multiplier += r;
            alloc
        }
        Costs::General(c) => allocate(&ScalarFamily { pieces: c }, lower, upper, d, settings)?,
    };
    finish(market, EquilibriumKind::Competitive, alloc, revenues)
}

/// Nash equilibrium (li-chen-dahleh-2015 Theorems 3–4) with default kernel settings.
///
/// Errors: fewer than three customers able to shed ([`BiddingError::NashNeedsThreeSuppliers`],
/// Corollary 2); capacities with `Σ min(q^max_i, d/2) ≤ d` ([`BiddingError::NashCapacity`],
/// Lemma 3).
pub fn nash_equilibrium(market: &Market) -> Result<Equilibrium, BiddingError> {
    nash_equilibrium_with(market, &AllocatorSettings::default())
}

/// Nash equilibrium with explicit kernel settings: `min Σ D_i(q_i)` s.t. `Σ q_i = d`,
/// `0 ≤ q_i ≤ min(q^max_i, d/2)` (Theorem 3, eq. 17; capacities as in the module docs).
pub fn nash_equilibrium_with(
    market: &Market,
    settings: &AllocatorSettings,
) -> Result<Equilibrium, BiddingError> {
    nash_solve(market, settings, true, None).map(|s| s.eq)
}

/// [`nash_equilibrium_with`], with the net revenues only when `revenues` is true (see
/// [`competitive_solve`]); for quadratic costs the price search starts from `start` when
/// given (the competitive price `p̄`, which `p*` exceeds by a factor `1 + O(1/n)` at scale,
/// Theorem 5.2: one Newton pass fewer).
pub(crate) fn nash_solve(
    market: &Market,
    settings: &AllocatorSettings,
    revenues: bool,
    start: Option<f64>,
) -> Result<Solved, BiddingError> {
    let suppliers = market.suppliers();
    if suppliers < 3 {
        return Err(BiddingError::NashNeedsThreeSuppliers {
            field: if market.capacities().is_some() && market.len() >= 3 {
                "capacity".into()
            } else {
                "customers".into()
            },
            suppliers,
        });
    }
    let d = market.deficit();
    let half = 0.5 * d;
    let capped: Option<Vec<f64>> = market
        .capacities()
        .map(|c| c.iter().map(|&x| x.min(half)).collect());
    if let Some(c) = &capped {
        let total = deterministic_sum(c.len(), DEFAULT_PARALLEL_THRESHOLD, |i| c[i]);
        let open = c.iter().any(|&x| x >= half);
        if total < d || (total <= d && open) {
            return Err(BiddingError::NashCapacity {
                field: "capacity".into(),
                deficit: d,
                max: total,
            });
        }
    }
    let upper = match &capped {
        Some(c) => Bound::PerItem(c),
        None => Bound::Constant(half),
    };
    let lower = Bound::Constant(0.0);
    let alloc = match market.costs() {
        Costs::Quadratic { linear, quadratic } => {
            let fam = NashQuadratic {
                inner: NashQuadraticFamily {
                    linear,
                    quadratic,
                    deficit: d,
                },
                start,
            };
            allocate(&fam, lower, upper, d, settings)?
        }
        Costs::General(c) => {
            let pieces = nash_pieces(c, d);
            allocate(&ScalarFamily { pieces: &pieces }, lower, upper, d, settings)?
        }
    };
    let mut solved = finish(market, EquilibriumKind::Nash, alloc, revenues)?;
    let eq = &mut solved.eq;
    eq.max_relative_gain = Some(crate::gain::max_relative_gain(
        market,
        &eq.bids,
        eq.total_bid,
    ));
    Ok(solved)
}

#[derive(Clone, Copy)]
struct PassStats {
    total_cost: f64,
    total_bid: f64,
    active: usize,
    at_capacity: usize,
    max_active: f64,
    min_inactive: f64,
    load_sum: f64,
    load_min: f64,
    load_max: f64,
    bid_min: f64,
    bid_max: f64,
}

impl PassStats {
    const IDENTITY: PassStats = PassStats {
        total_cost: 0.0,
        total_bid: 0.0,
        active: 0,
        at_capacity: 0,
        max_active: f64::NEG_INFINITY,
        min_inactive: f64::INFINITY,
        load_sum: 0.0,
        load_min: f64::INFINITY,
        load_max: f64::NEG_INFINITY,
        bid_min: f64::INFINITY,
        bid_max: f64::NEG_INFINITY,
    };
    fn combine(a: PassStats, b: PassStats) -> PassStats {
        PassStats {
            total_cost: a.total_cost + b.total_cost,
            total_bid: a.total_bid + b.total_bid,
            active: a.active + b.active,
            at_capacity: a.at_capacity + b.at_capacity,
            max_active: a.max_active.max(b.max_active),
            min_inactive: a.min_inactive.min(b.min_inactive),
            load_sum: a.load_sum + b.load_sum,
            load_min: a.load_min.min(b.load_min),
            load_max: a.load_max.max(b.load_max),
            bid_min: a.bid_min.min(b.bid_min),
            bid_max: a.bid_max.max(b.bid_max),
        }
    }
}

/// One chunk of the final pass for costs `a_i q + h_i q²` without capacities, in
/// blocks of [`LANES`] (item `j` of the chunk in lane `j % LANES`, a loop the compiler
/// vectorises): `b_i = q_i/p`, the totals, the water-filling extremes and the column
/// summaries.
fn quadratic_chunk(a: &[f64], h: &[f64], q: &[f64], p: f64, bids: &mut [f64]) -> PassStats {
    const NEG: f64 = f64::NEG_INFINITY;
    const POS: f64 = f64::INFINITY;
    let mut cost = [0.0f64; LANES];
    let mut bid_sum = [0.0f64; LANES];
    let mut load_sum = [0.0f64; LANES];
    let mut active = [0.0f64; LANES];
    let mut max_active = [NEG; LANES];
    let mut min_inactive = [POS; LANES];
    let mut load_min = [POS; LANES];
    let mut load_max = [NEG; LANES];
    let mut bid_min = [POS; LANES];
    let mut bid_max = [NEG; LANES];
    let (ab, hb, qb) = (
        a.chunks_exact(LANES),
        h.chunks_exact(LANES),
        q.chunks_exact(LANES),
    );
    let (ar, hr, qr) = (ab.remainder(), hb.remainder(), qb.remainder());
    let mut bb = bids.chunks_exact_mut(LANES);
    macro_rules! item {
        ($k:expr, $a:expr, $h:expr, $q:expr, $b:expr) => {{
            let (k, a, h, q) = ($k, $a, $h, $q);
            let b = q / p;
            *$b = b;
            cost[k] += (a + h * q) * q;
            bid_sum[k] += b;
            load_sum[k] += q;
            let on = q > 0.0;
            active[k] += if on { 1.0 } else { 0.0 };
            let ma = if on { a } else { NEG };
            max_active[k] = if ma > max_active[k] {
                ma
            } else {
                max_active[k]
            };
            let mi = if on { POS } else { a };
            min_inactive[k] = if mi < min_inactive[k] {
                mi
            } else {
                min_inactive[k]
            };
            load_min[k] = if q < load_min[k] { q } else { load_min[k] };
            load_max[k] = if q > load_max[k] { q } else { load_max[k] };
            bid_min[k] = if b < bid_min[k] { b } else { bid_min[k] };
            bid_max[k] = if b > bid_max[k] { b } else { bid_max[k] };
        }};
    }
    for (((a8, h8), q8), b8) in ab.zip(hb).zip(qb).zip(&mut bb) {
        for k in 0..LANES {
            item!(k, a8[k], h8[k], q8[k], &mut b8[k]);
        }
    }
    for (k, (((&a, &h), &q), b)) in ar
        .iter()
        .zip(hr)
        .zip(qr)
        .zip(bb.into_remainder())
        .enumerate()
    {
        item!(k, a, h, q, b);
    }
    let max = |v: &[f64; LANES]| v.iter().fold(NEG, |m, &x| if x > m { x } else { m });
    let min = |v: &[f64; LANES]| v.iter().fold(POS, |m, &x| if x < m { x } else { m });
    PassStats {
        total_cost: lanes_sum(&cost),
        total_bid: lanes_sum(&bid_sum),
        active: lanes_sum(&active) as usize,
        at_capacity: 0,
        max_active: max(&max_active),
        min_inactive: min(&min_inactive),
        load_sum: lanes_sum(&load_sum),
        load_min: min(&load_min),
        load_max: max(&load_max),
        bid_min: min(&bid_min),
        bid_max: max(&bid_max),
    }
}

/// One chunk of the final pass, item by item (general costs, capacities). `cost(i, q)`
/// returns `(C_i(q), C_i'(0))`.
fn generic_chunk<F>(
    base: usize,
    loads: &[f64],
    p: f64,
    bids: &mut [f64],
    caps: Option<&[f64]>,
    cost: &F,
) -> PassStats
where
    F: Fn(usize, f64) -> (f64, f64) + Sync,
{
    let mut s = PassStats::IDENTITY;
    for (k, bi) in bids.iter_mut().enumerate() {
        let i = base + k;
        let q = loads[i];
        let (ci, c0) = cost(i, q);
        let b = q / p;
        *bi = b;
        s.total_cost += ci;
        s.total_bid += b;
        s.load_sum += q;
        s.load_min = s.load_min.min(q);
        s.load_max = s.load_max.max(q);
        s.bid_min = s.bid_min.min(b);
        s.bid_max = s.bid_max.max(b);
        if q > 0.0 {
            s.active += 1;
            s.max_active = s.max_active.max(c0);
            if caps.is_some_and(|c| q >= c[i]) {
                s.at_capacity += 1;
            }
        } else {
            s.min_inactive = s.min_inactive.min(c0);
        }
    }
    s
}

/// One deterministic pass over the loads (chunked like the kernel, combined in chunk
/// order): `b_i = q_i/p`, the totals, the water-filling extremes, the column summaries,
/// and `p q_i − C_i(q_i)` into `revenues` when given.
fn pass(
    market: &Market,
    loads: &[f64],
    p: f64,
    revenues: Option<&mut [f64]>,
) -> (Vec<f64>, PassStats) {
    let n = loads.len();
    let mut bids = vec![0.0; n];
    let caps = market.capacities();
    let per_chunk = |c: usize, b: &mut [f64], r: Option<&mut [f64]>| -> PassStats {
        let base = c * CHUNK;
        let range = base..base + b.len();
        let stats = match (market.costs(), caps) {
            (Costs::Quadratic { linear, quadratic }, None) => quadratic_chunk(
                &linear[range.clone()],
                &quadratic[range.clone()],
                &loads[range.clone()],
                p,
                b,
            ),
            (Costs::Quadratic { linear, quadratic }, Some(_)) => {
                generic_chunk(base, loads, p, b, caps, &|i, q| {
                    ((linear[i] + quadratic[i] * q) * q, linear[i])
                })
            }
            (Costs::General(c), _) => generic_chunk(base, loads, p, b, caps, &|i, q| {
                (c[i].value(q), c[i].derivative(0.0))
            }),
        };
        if let Some(r) = r {
            for (k, ri) in r.iter_mut().enumerate() {
                let q = loads[base + k];
                *ri = p * q - market.cost(base + k, q);
            }
        }
        stats
    };
    let parallel = n >= DEFAULT_PARALLEL_THRESHOLD;
    let parts: Vec<PassStats> = match (revenues, parallel) {
        (Some(r), true) => bids
            .par_chunks_mut(CHUNK)
            .zip(r.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (b, r))| per_chunk(c, b, Some(r)))
            .collect(),
        (None, true) => bids
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, b)| per_chunk(c, b, None))
            .collect(),
        (Some(r), false) => bids
            .chunks_mut(CHUNK)
            .zip(r.chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (b, r))| per_chunk(c, b, Some(r)))
            .collect(),
        (None, false) => bids
            .chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, b)| per_chunk(c, b, None))
            .collect(),
    };
    let stats = parts
        .into_iter()
        .fold(PassStats::IDENTITY, PassStats::combine);
    (bids, stats)
}

/// Bids, net revenues (when `revenues`), totals, the water-filling check and the column
/// summaries from the loads (one deterministic pass, chunked like the kernel).
fn finish(
    market: &Market,
    kind: EquilibriumKind,
    alloc: Allocation,
    revenues: bool,
) -> Result<Solved, BiddingError> {
    let p = alloc.multiplier;
    let name = match kind {
        EquilibriumKind::Competitive => "competitive.price",
        EquilibriumKind::Nash => "nash.price",
    };
    if !(p > 0.0 && p.is_finite()) {
        return Err(BiddingError::NonPositivePrice {
            field: name.into(),
            value: p,
        });
    }
    let n = market.len();
    let loads = alloc.x;
    let mut net_revenues = if revenues { vec![0.0; n] } else { Vec::new() };
    let (bids, stats) = pass(
        market,
        &loads,
        p,
        revenues.then_some(net_revenues.as_mut_slice()),
    );
    let tol = 1e-9 * p;
    let highest = (stats.active > 0).then_some(stats.max_active);
    let lowest = (stats.active < n).then_some(stats.min_inactive);
    let prefix = highest.is_none_or(|c| c <= p + tol) && lowest.is_none_or(|c| c >= p - tol);
    let d = market.deficit();
    let mean = |sum: f64| sum / n.max(1) as f64;
    Ok(Solved {
        loads: ColumnSummary {
            min: stats.load_min,
            mean: mean(stats.load_sum),
            max: stats.load_max,
        },
        bids: ColumnSummary {
            min: stats.bid_min,
            mean: mean(stats.total_bid),
            max: stats.bid_max,
        },
        eq: Equilibrium {
            kind,
            direction: market.direction(),
            deficit: d,
            price: p,
            bids,
            loads,
            net_revenues,
            total_cost: stats.total_cost,
            total_payment: p * d,
            total_bid: stats.total_bid,
            water_filling: WaterFilling {
                active: stats.active,
                at_capacity: stats.at_capacity,
                highest_active_base_cost: highest,
                lowest_inactive_base_cost: lowest,
                prefix,
            },
            max_relative_gain: None,
            certificate: alloc.certificate,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dr_convex::{generic_bracket, generic_finish};
    use rand::{Rng, SeedableRng};

    /// The Nash family's vectorised passes against the kernel's generic ones (per-item
    /// `response`, `derivative`, and `value` = [`nash_quadratic_value`]): the same loads bit
    /// for bit, the same KKT residuals, the same sums up to summation order — on chunks of
    /// 37 and 64 customers, with deficits that put every customer in the series branch of
    /// `D_i` (large `d`) and many in the closed-form branch (small `d`, `2q/d ≥ 0.01`).
    #[test]
    fn nash_passes_match_the_generic_ones() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (m, d) in [(37usize, 2.0), (64, 5.0), (37, 1e5), (64, 40.0)] {
            let a: Vec<f64> = (0..m).map(|_| rng.gen_range(0.5..2.0)).collect();
            let h: Vec<f64> = (0..m).map(|_| rng.gen_range(0.1..3.0)).collect();
            let fam = NashQuadratic {
                inner: NashQuadraticFamily {
                    linear: &a,
                    quadratic: &h,
                    deficit: d,
                },
                start: None,
            };
            let (lo, hi) = (Bound::Constant(0.0), Bound::Constant(0.5 * d));
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-13 * x.abs().max(y.abs());
            let (b, g) = (
                fam.bracket(0..m, lo, hi),
                generic_bracket(&fam, 0..m, lo, hi),
            );
            assert_eq!(b.lambda_lower, g.lambda_lower);
            assert_eq!(b.lambda_upper, g.lambda_upper);
            assert!(close(b.sum_upper, g.sum_upper) && b.sum_lower == g.sum_lower);
            assert!(
                close(b.alpha, g.alpha) && close(b.beta, g.beta),
                "{b:?} {g:?}"
            );
            let mut off_series = 0;
            for lambda in [0.4, 1.0, 1.7, 2.5, 6.0, 40.0] {
                let (mut x, mut y) = (vec![0.0; m], vec![0.0; m]);
                let s = fam.finish(0, lambda, lo, hi, &mut x);
                let t = generic_finish(&fam, 0, lambda, lo, hi, &mut y);
                let bits = |v: &[f64]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&x), bits(&y), "loads at λ = {lambda}, d = {d}");
                off_series += x
                    .iter()
                    .filter(|&&q| q > 0.0 && 2.0 * q / d >= 0.01)
                    .count();
                assert!(close(s.sum, t.sum), "{s:?} {t:?}");
                assert!(close(s.objective, t.objective), "{s:?} {t:?}");
                assert_eq!(s.stationarity, t.stationarity);
                assert_eq!(s.derivative_scale, t.derivative_scale);
                assert_eq!(s.complementarity, t.complementarity);
                let mut plain = (0.0, 0.0);
                for i in 0..m {
                    let (q, w) = fam.response(i, lambda, 0.0, 0.5 * d);
                    plain = (plain.0 + q, plain.1 + w);
                }
                let (sx, sw) = fam.sum_response(0..m, lambda, lo, hi);
                assert!(
                    close(sx, plain.0) && close(sw, plain.1),
                    "{sx} {sw} {plain:?}"
                );
            }
            if d < 10.0 {
                assert!(off_series > 0, "the closed-form branch is exercised");
            }
        }
    }

    /// Starting the Nash price search from the competitive price (as the report does)
    /// changes where the search starts, not the equilibrium: the same price to 1e-12, loads
    /// to 1e-9 of the largest, a solved certificate, and no more passes than from the
    /// kernel's own first guess; a start outside the bracket (below every `C_i'(0)`) is
    /// ignored.
    #[test]
    fn a_nash_start_changes_the_path_not_the_equilibrium() {
        let n = 20_000;
        let m = Market::drawn(n, [1.0, 2.0], [0.5, 4.5], 3, 0.1 * n as f64).unwrap();
        let s = AllocatorSettings::default();
        let ce = competitive_solve(&m, &s, false).unwrap().eq;
        let plain = nash_solve(&m, &s, false, None).unwrap().eq;
        for start in [Some(ce.price), Some(0.5)] {
            let ne = nash_solve(&m, &s, false, start).unwrap().eq;
            assert!((ne.price - plain.price).abs() <= 1e-12 * plain.price);
            let scale = plain.max_load();
            for (x, y) in ne.loads.iter().zip(&plain.loads) {
                assert!((x - y).abs() <= 1e-9 * scale);
            }
            assert!(ne.certificate.status.is_solved(), "{:?}", ne.certificate);
            assert!(ne.certificate.iterations <= plain.certificate.iterations);
        }
    }
}
