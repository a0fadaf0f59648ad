//! The utility families beyond log and quadratic (issue 15), as the kernel's convex
//! disutilities `f = −v` ([`ConvexScalar`]).
//!
//! What the paper asks of a utility (wei-anastasopoulos §II, Assumption 1): every
//! `v_t^i` is **twice differentiable and strictly concave**; with Assumption 2
//! (`0 ∈ X = {A x ≤ b}`) the planner's problem (2) then has one optimum, and the KKT
//! conditions (4) characterise it. The paper does not ask for increasing utilities; the
//! mechanism's Theorem 3 compares payoffs with `v^i(0)`, so `v^i(0)` must be finite, and a
//! demand may be negative (an export), so a utility must be defined on a neighbourhood of
//! `0`.
//!
//! - [`PowerUtility`] `v(x) = c (x + s)^α` with `c > 0`, `0 < α < 1`, `s > 0`: twice
//!   differentiable and strictly concave on its domain `x > −s` — Assumption 1 holds, as
//!   for the log family `w ln(x + s)`. Without the shift (`c x^α`) the marginal utility at
//!   `0` would be infinite, `v` undefined for exports `x < 0` and `0` on the boundary of
//!   the domain, so `s > 0` is required.
//! - [`SatiationUtility`] `v(x) = θ x − ½ κ x²` up to the satiation point `x̄ = θ/κ`,
//!   `θ²/(2κ)` (flat) after, with `θ > 0`, `κ > 0`: concave and continuously
//!   differentiable, **not** what Assumption 1 asks beyond `x̄` (`v̈` jumps from `−κ` to `0`
//!   at `x̄`, and `v` is flat, not strictly concave, after it). Below `x̄` it is the
//!   quadratic family. What still holds: the planner's problem is convex and its KKT
//!   conditions (4) are necessary and sufficient (they need concave, differentiable
//!   utilities only), so the NE of Theorem 2 built from an optimum, the taxes (7), (18),
//!   individual rationality (Theorem 3) and budget balance (Theorem 4) hold as for the
//!   paper's utilities. What may fail: uniqueness of the optimum (and so Theorem 1's
//!   "the" optimal allocation) in a period where a user's total price
//!   `p_t + μ_t + Σ_l λ^l a_t^{i,l}` is `0`, which is exactly when its demand sits on the
//!   flat part (`v̇ = 0` there). The scenario report lists such demands
//!   ([`crate::SatiatedDemand`]).

use dr_convex::ConvexScalar;

/// `v(x) = c (x + s)^α` as the disutility `f = −v` (`+∞` for `x ≤ −s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PowerUtility {
    /// `c > 0`.
    pub coefficient: f64,
    /// `α ∈ (0, 1)`.
    pub exponent: f64,
    /// `s > 0`.
    pub shift: f64,
}

impl ConvexScalar for PowerUtility {
    fn value(&self, x: f64) -> f64 {
        let z = x + self.shift;
        if z > 0.0 {
            -self.coefficient * z.powf(self.exponent)
        } else {
            f64::INFINITY
        }
    }
    fn derivative(&self, x: f64) -> f64 {
        let z = x + self.shift;
        -self.coefficient * self.exponent * z.powf(self.exponent - 1.0)
    }
    fn second_derivative(&self, x: f64) -> f64 {
        let z = x + self.shift;
        self.coefficient * self.exponent * (1.0 - self.exponent) * z.powf(self.exponent - 2.0)
    }
    fn domain(&self) -> (f64, f64) {
        (-self.shift, f64::INFINITY)
    }
    /// `argmin f(x) − p x` on `[lo, hi]`: for `p < 0` the demand at price `π = −p`,
    /// `c α (x + s)^{α−1} = π` ⇒ `x = (π / (c α))^{1/(α−1)} − s`; for `p ≥ 0` no
    /// stationary point (`+∞`, clamped to `hi`).
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let x = if p < 0.0 {
            (-p / (self.coefficient * self.exponent)).powf(1.0 / (self.exponent - 1.0)) - self.shift
        } else {
            f64::INFINITY
        };
        x.max(lo).min(hi)
    }
}

/// `v(x) = θ x − ½ κ x²` for `x ≤ θ/κ`, `θ²/(2κ)` after, as the disutility `f = −v`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SatiationUtility {
    /// `θ > 0`: the marginal utility at `0`.
    pub theta: f64,
    /// `κ > 0`: the curvature below the satiation point.
    pub kappa: f64,
}

impl SatiationUtility {
    /// The satiation point `x̄ = θ/κ`.
    pub fn satiation_point(&self) -> f64 {
        self.theta / self.kappa
    }
}

impl ConvexScalar for SatiationUtility {
    fn value(&self, x: f64) -> f64 {
        let x = x.min(self.satiation_point());
        0.5 * self.kappa * x * x - self.theta * x
    }
    fn derivative(&self, x: f64) -> f64 {
        if x < self.satiation_point() {
            self.kappa * x - self.theta
        } else {
            0.0
        }
    }
    fn second_derivative(&self, x: f64) -> f64 {
        if x < self.satiation_point() {
            self.kappa
        } else {
            0.0
        }
    }
    /// `argmin f(x) − p x` on `[lo, hi]`: for `p < 0` (a positive price `π = −p`) the
    /// demand `(θ − π)/κ`; for `p = 0` the smallest minimiser, the satiation point; for
    /// `p > 0` none (`+∞`, clamped to `hi`).
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let x = if p < 0.0 {
            (self.theta + p) / self.kappa
        } else if p == 0.0 {
            self.satiation_point()
        } else {
            f64::INFINITY
        };
        x.max(lo).min(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satiation_is_quadratic_then_flat() {
        let u = SatiationUtility {
            theta: 2.0,
            kappa: 0.5,
        };
        assert_eq!(u.satiation_point(), 4.0);
        // v(2) = 2·2 − ¼·4 = 3; v(x) = θ²/(2κ) = 4 from x̄ = 4 on.
        assert_eq!(-u.value(2.0), 3.0);
        assert_eq!(-u.value(4.0), 4.0);
        assert_eq!(-u.value(9.0), 4.0);
        assert_eq!(-u.derivative(1.0), 1.5);
        assert_eq!(u.derivative(5.0), 0.0);
        assert_eq!(u.second_derivative(5.0), 0.0);
        // Demand at price 1: θ − κ x = 1 ⇒ x = 2; at price 0: x̄; at a negative price: none.
        assert_eq!(
            u.inverse_derivative(-1.0, f64::NEG_INFINITY, f64::INFINITY),
            2.0
        );
        assert_eq!(
            u.inverse_derivative(0.0, f64::NEG_INFINITY, f64::INFINITY),
            4.0
        );
        assert_eq!(u.inverse_derivative(0.5, f64::NEG_INFINITY, 7.0), 7.0);
    }

    #[test]
    fn power_matches_its_closed_forms() {
        let u = PowerUtility {
            coefficient: 2.0,
            exponent: 0.5,
            shift: 1.0,
        };
        // v(3) = 2·√4 = 4, v̇(3) = 2·½·4^{−½} = ½, v̈(3) = −2·½·½·4^{−3/2} = −1/16.
        assert_eq!(-u.value(3.0), 4.0);
        assert_eq!(-u.derivative(3.0), 0.5);
        assert_eq!(u.second_derivative(3.0), 1.0 / 16.0);
        assert_eq!(u.value(-1.0), f64::INFINITY);
        // Demand at price ½ is 3.
        let x = u.inverse_derivative(-0.5, f64::NEG_INFINITY, f64::INFINITY);
        assert!((x - 3.0).abs() <= 1e-15, "{x}");
        assert_eq!(u.inverse_derivative(0.0, f64::NEG_INFINITY, 5.0), 5.0);
    }
}
