//! Supply costs beyond `½ c Q² + e Q` (chen-li-low-doyle-2010 eq. 29: `C(Q, t)` strictly
//! convex with a positive, increasing marginal cost), one per period:
//!
//! - [`PolynomialCost`]: `C(Q) = e Q + ½ c Q² + d Q³ + f Q⁴` for `Q ≥ 0` with `c > 0`,
//!   `e, d, f ≥ 0`;
//! - [`PiecewiseQuadraticCost`]: a continuous, piecewise-linear, increasing marginal cost
//!   `C'(Q) = m_k + c_k (Q − B_k)` on `[B_k, B_{k+1})` (`B_0 = 0`, `c_k > 0`, `m_0 = e ≥ 0`,
//!   `m_{k+1} = m_k + c_k (B_{k+1} − B_k)`): a generation stack whose cost steepens at each
//!   breakpoint.
//!
//! Both extend to `Q < 0` by their first piece's quadratic `e Q + ½ c_0 Q²` (value, slope
//! and curvature continuous at 0), so they are strictly convex on the whole line: the
//! supply at a price below `e` is negative, as for the quadratic cost, and the market
//! constraint `Q(t) = Σ_i q_i(t) ≥ 0` keeps every equilibrium on `Q ≥ 0`, where the cost is
//! the one given. Their supply `(C')⁻¹(p)` is exact (closed form, or a monotone Newton
//! iteration for the polynomial's cubic marginal cost).

use dr_convex::ConvexScalar;

/// `C(Q) = e Q + ½ c Q² + d Q³ + f Q⁴` for `Q ≥ 0`, `e Q + ½ c Q²` for `Q < 0`
/// (module docs). Marginal cost `e + c Q + 3 d Q² + 4 f Q³`, curvature `c + 6 d Q + 12 f Q²`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolynomialCost {
    /// `e ≥ 0`: marginal cost at `Q = 0`.
    pub linear: f64,
    /// `c > 0`: curvature at `Q = 0`.
    pub curvature: f64,
    /// `d ≥ 0`: coefficient of `Q³`.
    pub cubic: f64,
    /// `f ≥ 0`: coefficient of `Q⁴`.
    pub quartic: f64,
}

impl ConvexScalar for PolynomialCost {
    fn value(&self, x: f64) -> f64 {
        let base = (0.5 * self.curvature * x + self.linear) * x;
        if x > 0.0 {
            base + x * x * x * (self.cubic + self.quartic * x)
        } else {
            base
        }
    }
    fn derivative(&self, x: f64) -> f64 {
        let base = self.curvature * x + self.linear;
        if x > 0.0 {
            base + x * x * (3.0 * self.cubic + 4.0 * self.quartic * x)
        } else {
            base
        }
    }
    fn second_derivative(&self, x: f64) -> f64 {
        if x > 0.0 {
            self.curvature + x * (6.0 * self.cubic + 12.0 * self.quartic * x)
        } else {
            self.curvature
        }
    }
    /// The `Q` with `C'(Q) = p`, clamped to `[lo, hi]`: `(p − e)/c` for `p ≤ e`; above,
    /// Newton's method on the convex increasing `C'` started right of the root at
    /// `(p − e)/c` (where `C' ≥ p`), which decreases monotonically to the root.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        if p.is_nan() {
            return f64::NAN;
        }
        let mut x = (p - self.linear) / self.curvature;
        if x > 0.0 && x.is_finite() && (self.cubic > 0.0 || self.quartic > 0.0) {
            for _ in 0..200 {
                let g = self.derivative(x) - p;
                let h = self.second_derivative(x);
                let next = x - g / h;
                // Monotone from the right: stop when it no longer decreases.
                if next.partial_cmp(&x) != Some(std::cmp::Ordering::Less) || !next.is_finite() {
                    break;
                }
                x = next.max(0.0);
                if g <= 0.0 {
                    break;
                }
            }
        }
        x.max(lo).min(hi)
    }
}

/// A piecewise-quadratic cost with a continuous, increasing, piecewise-linear marginal cost
/// (module docs). Built by [`crate::SupplyCost::piecewise_quadratic`], which validates it.
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseQuadraticCost {
    /// `B_0 = 0 < B_1 < … < B_K`.
    starts: Vec<f64>,
    /// `c_0, …, c_K > 0`.
    curvatures: Vec<f64>,
    /// `m_k = C'(B_k)`.
    marginals: Vec<f64>,
    /// `C(B_k)`.
    values: Vec<f64>,
}

impl PiecewiseQuadraticCost {
    /// The cost with marginal cost `linear = e ≥ 0` at 0, `breakpoints` `B_1 < … < B_K`
    /// (all `> 0`) and `curvatures` `c_0, …, c_K > 0` (one more than the breakpoints).
    /// Parameters are assumed validated (see `SupplyCost::piecewise_quadratic`).
    pub(crate) fn new(linear: f64, breakpoints: &[f64], curvatures: &[f64]) -> Self {
        let mut starts = Vec::with_capacity(breakpoints.len() + 1);
        starts.push(0.0);
        starts.extend_from_slice(breakpoints);
        let mut marginals = vec![linear];
        let mut values = vec![0.0];
        for k in 0..breakpoints.len() {
            let w = starts[k + 1] - starts[k];
            let (m, v, c) = (marginals[k], values[k], curvatures[k]);
            marginals.push(m + c * w);
            values.push(v + m * w + 0.5 * c * w * w);
        }
        Self {
            starts,
            curvatures: curvatures.to_vec(),
            marginals,
            values,
        }
    }

    /// The piece holding `x` (`x < B_1` → 0; a breakpoint belongs to the piece it starts).
    fn piece(&self, x: f64) -> usize {
        // Few pieces: a linear scan is as fast as a binary search.
        let mut k = 0;
        while k + 1 < self.starts.len() && x >= self.starts[k + 1] {
            k += 1;
        }
        k
    }

    /// Breakpoints `B_1 < … < B_K`.
    pub fn breakpoints(&self) -> &[f64] {
        &self.starts[1..]
    }
    /// Marginal costs `m_k = C'(B_k)` at `B_0 = 0, B_1, …, B_K`.
    pub fn marginals(&self) -> &[f64] {
        &self.marginals
    }
    /// Curvatures `c_0, …, c_K`.
    pub fn curvatures(&self) -> &[f64] {
        &self.curvatures
    }
}

impl ConvexScalar for PiecewiseQuadraticCost {
    fn value(&self, x: f64) -> f64 {
        let k = self.piece(x);
        let z = x - self.starts[k];
        self.values[k] + z * (self.marginals[k] + 0.5 * self.curvatures[k] * z)
    }
    fn derivative(&self, x: f64) -> f64 {
        let k = self.piece(x);
        self.marginals[k] + self.curvatures[k] * (x - self.starts[k])
    }
    /// The right curvature `c_k` (at a breakpoint, the next piece's).
    fn second_derivative(&self, x: f64) -> f64 {
        self.curvatures[self.piece(x)]
    }
    /// Exact: the piece `k` with `m_k ≤ p < m_{k+1}` (piece 0 below `m_1`), then
    /// `B_k + (p − m_k)/c_k`, clamped to `[lo, hi]`.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        if p.is_nan() {
            return f64::NAN;
        }
        let mut k = 0;
        while k + 1 < self.marginals.len() && p >= self.marginals[k + 1] {
            k += 1;
        }
        let x = self.starts[k] + (p - self.marginals[k]) / self.curvatures[k];
        x.max(lo).min(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_inverse_is_exact_on_a_hand_root() {
        // C'(Q) = 1 + Q + 3 Q² (e = 1, c = 1, d = 1): C'(2) = 1 + 2 + 12 = 15.
        let f = PolynomialCost {
            linear: 1.0,
            curvature: 1.0,
            cubic: 1.0,
            quartic: 0.0,
        };
        let q = f.inverse_derivative(15.0, f64::NEG_INFINITY, f64::INFINITY);
        assert!((q - 2.0).abs() <= 4.0 * f64::EPSILON, "{q}");
        // Below the marginal cost at 0 the quadratic extension answers: (0 − 1)/1.
        assert_eq!(
            f.inverse_derivative(0.0, f64::NEG_INFINITY, f64::INFINITY),
            -1.0
        );
        // C'(1) = e + c + 4 f with only the quartic term: 0 + 2 + 4 = 6.
        let g = PolynomialCost {
            linear: 0.0,
            curvature: 2.0,
            cubic: 0.0,
            quartic: 1.0,
        };
        let q = g.inverse_derivative(6.0, f64::NEG_INFINITY, f64::INFINITY);
        assert!((q - 1.0).abs() <= 4.0 * f64::EPSILON, "{q}");
    }

    #[test]
    fn piecewise_marginal_is_continuous_and_inverse_exact() {
        // e = 1, B_1 = 2, c_0 = 1, c_1 = 3: C'(Q) = 1 + Q below 2, 3 + 3 (Q − 2) above.
        let f = PiecewiseQuadraticCost::new(1.0, &[2.0], &[1.0, 3.0]);
        assert_eq!(f.derivative(2.0), 3.0);
        assert!((f.derivative(2.0 - 1e-12) - 3.0).abs() < 1e-11);
        assert_eq!(f.derivative(4.0), 9.0);
        // C(2) = 2 + ½ 4 = 4; C(4) = 4 + 3·2 + ½·3·4 = 16.
        assert_eq!(f.value(2.0), 4.0);
        assert_eq!(f.value(4.0), 16.0);
        assert_eq!(
            f.inverse_derivative(9.0, f64::NEG_INFINITY, f64::INFINITY),
            4.0
        );
        assert_eq!(
            f.inverse_derivative(3.0, f64::NEG_INFINITY, f64::INFINITY),
            2.0
        );
        assert_eq!(
            f.inverse_derivative(2.0, f64::NEG_INFINITY, f64::INFINITY),
            1.0
        );
        assert_eq!(f.second_derivative(2.0), 3.0);
        assert_eq!(f.second_derivative(1.0), 1.0);
    }
}
