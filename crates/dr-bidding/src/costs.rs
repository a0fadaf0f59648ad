//! Convex shedding costs beyond `a q + h q²`, for scenario files and the library
//! (li-chen-dahleh-2015 §II: `C_i` convex, increasing, `C_i(0) = 0`; SPEC §1).
//!
//! - [`PowerCost`] `C(q) = a q + b q^k`, `k ≥ 1`, `a, b ≥ 0` (`k = 1`: linear, `C' = a + b`);
//! - [`ExponentialCost`] `C(q) = b (e^{k q} − 1)`, `b, k > 0` (`C'(q) = b k e^{k q}`);
//! - [`PiecewiseLinearCost`]: slopes `s_0 ≤ s_1 ≤ … ≤ s_m` on `[0, x_1], [x_1, x_2], …,
//!   [x_m, ∞)` with breakpoints `0 < x_1 < … < x_m` — convex, not differentiable at the
//!   breakpoints;
//! - [`CapacityPenalty`] `C(q) + ρ · max(0, q − q̄)²`: the capacity limit of
//!   li-chen-dahleh-2015 footnote 3 turned into a cost.
//!
//! # The capacity penalty (li-chen-dahleh-2015 footnote 3)
//! The footnote says: "one way to incorporate the capacity limits is to translate the
//! capacity constraint into a cost function, e.g., `c_i(q_i − q̄_i)` which is added into the
//! original cost function `C_i(q_i)`. If the weight on the cost function `c_i(q_i − q̄_i)` is
//! large enough, the demand response solution will satisfy the capacity limit constraint."
//! The paper gives no formula for `c_i` beyond its argument `q_i − q̄_i` and a weight (none
//! was lost in extraction: the text names none). We choose the convex, continuously
//! differentiable penalty `c_i(q − q̄) = ρ · max(0, q − q̄)²` with weight `ρ > 0`: zero up to
//! the capacity, so the cost is unchanged where the limit does not bind, and `C¹`, so the
//! paper's differentiability assumption (Theorems 1–4) still holds and the Nash equilibrium
//! is defined. The limit is soft: at price `p` a customer sheds beyond `q̄` until
//! `C'(q) + 2ρ (q − q̄) = p` (*derived*), i.e. by `(p − C'(q))/(2ρ)`; it goes to 0 as
//! `ρ → ∞`.
//!
//! # Kinks (piecewise-linear costs)
//! A piecewise-linear cost has the subdifferential `[s_{j−1}, s_j]` at breakpoint `x_j`
//! ([`dr_convex::ConvexScalar::left_derivative`] and `derivative`). Theorems 1–2 hold with
//! the subgradient condition in place of `p̄ = C_i'(q̄_i)` (*derived*: the KKT conditions of
//! the Theorem 1 problem for a convex, non-differentiable `C_i`): an active customer has
//! `C_i'_−(q̄_i) ≤ p̄ ≤ C_i'_+(q̄_i)` — either it sits at a breakpoint with the price inside
//! the jump of its marginal cost, or it sits inside a segment whose slope is the price. In
//! the second case the loads are not unique (any split of the segment's customers clears
//! the market at the same price and total cost); the kernel's allocator then splits the
//! jump of the aggregate supply between the responses on either side of the price (see
//! `dr_convex::allocate`). The competitive price is unique whenever the total supply is not
//! flat at it.
//!
//! For the Nash equilibrium, a customer's payoff in its load, `u_i = q (d − q)/B_−i −
//! C_i(q)`, stays concave, and its maximiser satisfies `(d − 2q)/B_−i ∈ ∂C_i(q)`, i.e.
//! `p ∈ (1 + q/(d − 2q)) ∂C_i(q) = ∂D_i(q)` (*derived*, the subgradient form of
//! conditions 15–16): the KKT conditions of the Theorem 3 problem with the convex `D_i`.
//! So the Nash equilibrium of piecewise-linear costs is the Theorem 3 minimiser too;
//! [`crate::nash_gain`] checks it against exact best responses. Uniqueness (*derived*):
//! with every slope `> 0`, `D_i' = (d − q)/(d − 2q) · C_i'` is strictly increasing, so the
//! Nash loads are unique; the Nash *price* is unique unless every customer that could
//! move sits at a kink of its `D_i` (then any price in the intersection of their
//! subdifferentials clears the market — e.g. three identical customers with slopes 1 | 3
//! at `q = 1` and `d = 3`: every `p* ∈ [2, 6]`), and the solver reports one of them with a
//! certificate that holds for it. A slope of 0 (free shedding) makes `D_i` flat there and
//! the loads non-unique too.
//!
//! # The Nash assumptions
//! Theorem 3 needs at least three customers able to shed (Corollary 2:
//! [`crate::BiddingError::NashNeedsThreeSuppliers`]) and, with capacities, room below
//! `d/2` (Lemma 3: [`crate::BiddingError::NashCapacity`]); costs convex, increasing and
//! `C(0) = 0`, which every form here satisfies by construction (validated, errors name the
//! field). Differentiability is the one assumption the piecewise-linear form relaxes, and
//! the subgradient argument above extends the theorem to it; the capacity penalty is `C¹`. The supply function of
//! a piecewise-linear customer is a step function of the price, so the critical step of
//! the fixed-step iteration is 0 when the price sits on a slope (see
//! [`crate::critical_step`]).

use crate::error::BiddingError;
use dr_convex::{ConvexScalar, InputError};
use std::sync::Arc;

/// `C(q) = a q + b q^k` with `a ≥ 0`, `b ≥ 0`, `k ≥ 1` (`k = 1`: the linear cost
/// `(a + b) q`). `C'(q) = a + b k q^{k−1}`, `C''(q) = b k (k − 1) q^{k−2}` (`+∞` at `q = 0`
/// for `1 < k < 2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerCost {
    /// `a ≥ 0`.
    pub linear: f64,
    /// `b ≥ 0`.
    pub coefficient: f64,
    /// `k ≥ 1`.
    pub exponent: f64,
}

impl PowerCost {
    /// Validated: `a, b` finite and `≥ 0`, `a + b > 0` (costs must be increasing), `k`
    /// finite and `≥ 1`. Errors name `linear`, `power`, `exponent`.
    pub fn new(linear: f64, coefficient: f64, exponent: f64) -> Result<Self, BiddingError> {
        dr_convex::check_nonnegative(|| "linear".into(), linear)?;
        dr_convex::check_nonnegative(|| "power".into(), coefficient)?;
        dr_convex::check_finite(|| "exponent".into(), exponent)?;
        if exponent < 1.0 {
            return Err(InputError::OutOfRange {
                field: "exponent".into(),
                value: exponent,
                requirement: "must be >= 1 (q^k is convex only for k >= 1)".into(),
            }
            .into());
        }
        if linear + coefficient <= 0.0 {
            return Err(InputError::OutOfRange {
                field: "power".into(),
                value: coefficient,
                requirement: "must be > 0 when linear = 0 (the cost must be increasing, \
                              li-chen-dahleh-2015 §II)"
                    .into(),
            }
            .into());
        }
        Ok(Self {
            linear,
            coefficient,
            exponent,
        })
    }
}

impl ConvexScalar for PowerCost {
    fn value(&self, q: f64) -> f64 {
        self.linear * q + self.coefficient * q.max(0.0).powf(self.exponent)
    }
    fn derivative(&self, q: f64) -> f64 {
        let k = self.exponent;
        if k == 1.0 {
            return self.linear + self.coefficient;
        }
        self.linear + self.coefficient * k * q.max(0.0).powf(k - 1.0)
    }
    fn second_derivative(&self, q: f64) -> f64 {
        let k = self.exponent;
        if k == 1.0 || self.coefficient == 0.0 {
            return 0.0;
        }
        let q = q.max(0.0);
        if k < 2.0 && q == 0.0 {
            return f64::INFINITY;
        }
        self.coefficient * k * (k - 1.0) * q.powf(k - 2.0)
    }
    /// `q = ((p − a)/(b k))^{1/(k−1)}` for `p > a` (0 otherwise), clamped; for `k = 1`
    /// (or `b = 0`) the linear cost's response jumps at `p = a + b`: `lo` below or at it,
    /// `hi` above.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let k = self.exponent;
        let q = if k == 1.0 || self.coefficient == 0.0 {
            if p > self.derivative(0.0) {
                f64::INFINITY
            } else {
                0.0
            }
        } else if p <= self.linear {
            0.0
        } else {
            ((p - self.linear) / (self.coefficient * k)).powf(1.0 / (k - 1.0))
        };
        q.max(lo).min(hi)
    }
}

/// `C(q) = b (e^{k q} − 1)` with `b, k > 0`: `C'(q) = b k e^{k q}`, `C''(q) = b k² e^{k q}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialCost {
    /// Scale `b > 0`.
    pub scale: f64,
    /// Rate `k > 0`.
    pub rate: f64,
}

impl ExponentialCost {
    /// Validated: `b`, `k` finite and `> 0`. Errors name `exponential`, `rate`.
    pub fn new(scale: f64, rate: f64) -> Result<Self, BiddingError> {
        dr_convex::check_positive(|| "exponential".into(), scale)?;
        dr_convex::check_positive(|| "rate".into(), rate)?;
        Ok(Self { scale, rate })
    }
}

impl ConvexScalar for ExponentialCost {
    fn value(&self, q: f64) -> f64 {
        self.scale * (self.rate * q).exp_m1()
    }
    fn derivative(&self, q: f64) -> f64 {
        self.scale * self.rate * (self.rate * q).exp()
    }
    fn second_derivative(&self, q: f64) -> f64 {
        self.scale * self.rate * self.rate * (self.rate * q).exp()
    }
    /// `q = ln(p/(b k))/k` for `p > b k` (the first-order condition `b k e^{k q} = p`), 0
    /// otherwise, clamped.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let base = self.scale * self.rate;
        let q = if p > base {
            (p / base).ln() / self.rate
        } else {
            0.0
        };
        q.max(lo).min(hi)
    }
}

/// A convex piecewise-linear cost: slope `slopes[j]` on `[x_j, x_{j+1}]` with `x_0 = 0`,
/// `x_j = breakpoints[j−1]`, the last slope up to `+∞`; `C(0) = 0`.
/// [`ConvexScalar::derivative`] is the right derivative, `left_derivative` the left one.
///
/// ```
/// use dr_bidding::{competitive_equilibrium, CustomerCost, Market, PiecewiseLinearCost};
/// use std::sync::Arc;
/// // Slope 1 up to q = 2, then 3; a second customer with C = ½ q² (C' = q); d = 4.5.
/// let pl = PiecewiseLinearCost::new(vec![1.0, 3.0], vec![2.0])?;
/// let m = Market::new(
///     vec![CustomerCost::General(Arc::new(pl)), CustomerCost::HalfQuadratic { curvature: 1.0 }],
///     4.5,
/// )?;
/// let ce = competitive_equilibrium(&m)?;
/// // The price lands on the kink: q = (2, 2.5), p̄ = 2.5 ∈ [1, 3] (the subgradient condition).
/// assert!((ce.price - 2.5).abs() < 1e-12 && (ce.loads[0] - 2.0).abs() < 1e-12);
/// assert!(ce.certificate.status.is_solved());
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseLinearCost {
    slopes: Vec<f64>,
    breakpoints: Vec<f64>,
    /// `C(x_j)` at each breakpoint (cumulative).
    values: Vec<f64>,
}

impl PiecewiseLinearCost {
    /// Validated: `slopes` non-empty, finite, `≥ 0`, non-decreasing (convexity);
    /// `breakpoints` finite, `> 0`, strictly increasing, exactly one fewer than the
    /// slopes. Errors name `slopes[j]`, `breakpoints[j]` or `breakpoints` (length).
    pub fn new(slopes: Vec<f64>, breakpoints: Vec<f64>) -> Result<Self, BiddingError> {
        if slopes.is_empty() {
            return Err(InputError::Empty {
                field: "slopes".into(),
            }
            .into());
        }
        if breakpoints.len() + 1 != slopes.len() {
            return Err(InputError::LengthMismatch {
                field: "breakpoints".into(),
                expected: slopes.len() - 1,
                got: breakpoints.len(),
            }
            .into());
        }
        for (j, &s) in slopes.iter().enumerate() {
            dr_convex::check_nonnegative(|| format!("slopes[{j}]"), s)?;
            if j > 0 && s < slopes[j - 1] {
                return Err(InputError::OutOfRange {
                    field: format!("slopes[{j}]"),
                    value: s,
                    requirement: format!(
                        "must be >= slopes[{}] = {}: the slopes of a convex piecewise-linear \
                         cost are non-decreasing",
                        j - 1,
                        slopes[j - 1]
                    )
                    .into(),
                }
                .into());
            }
        }
        for (j, &x) in breakpoints.iter().enumerate() {
            dr_convex::check_positive(|| format!("breakpoints[{j}]"), x)?;
            if j > 0 && x <= breakpoints[j - 1] {
                return Err(InputError::OutOfRange {
                    field: format!("breakpoints[{j}]"),
                    value: x,
                    requirement: format!(
                        "must be > breakpoints[{}] = {}: breakpoints are strictly increasing",
                        j - 1,
                        breakpoints[j - 1]
                    )
                    .into(),
                }
                .into());
            }
        }
        if *slopes.last().unwrap_or(&0.0) <= 0.0 {
            return Err(InputError::OutOfRange {
                field: format!("slopes[{}]", slopes.len() - 1),
                value: 0.0,
                requirement: "the last slope must be > 0 (the cost must be increasing)".into(),
            }
            .into());
        }
        let mut values = Vec::with_capacity(breakpoints.len());
        let (mut x0, mut v) = (0.0, 0.0);
        for (j, &x) in breakpoints.iter().enumerate() {
            v += slopes[j] * (x - x0);
            values.push(v);
            x0 = x;
        }
        Ok(Self {
            slopes,
            breakpoints,
            values,
        })
    }

    /// The slopes `s_0 ≤ … ≤ s_m`.
    pub fn slopes(&self) -> &[f64] {
        &self.slopes
    }

    /// The breakpoints `0 < x_1 < … < x_m`.
    pub fn breakpoints(&self) -> &[f64] {
        &self.breakpoints
    }

    /// Index of the segment whose right derivative applies at `q` (`q ≥ x_j` ⇒ `j`).
    fn segment(&self, q: f64) -> usize {
        self.breakpoints.partition_point(|&x| x <= q)
    }
}

impl ConvexScalar for PiecewiseLinearCost {
    fn value(&self, q: f64) -> f64 {
        let j = self.segment(q);
        let (x0, v0) = if j == 0 {
            (0.0, 0.0)
        } else {
            (self.breakpoints[j - 1], self.values[j - 1])
        };
        v0 + self.slopes[j] * (q - x0)
    }
    fn derivative(&self, q: f64) -> f64 {
        self.slopes[self.segment(q)]
    }
    fn left_derivative(&self, q: f64) -> f64 {
        // The segment whose left derivative applies: q > x_j ⇒ j.
        self.slopes[self.breakpoints.partition_point(|&x| x < q)]
    }
    fn second_derivative(&self, _q: f64) -> f64 {
        0.0
    }
    /// The smallest minimiser of `C(q) − p q` on `[lo, hi]`: the first breakpoint whose
    /// right slope exceeds or equals `p` (0 when `p ≤ s_0`, `hi` when `p` exceeds every
    /// slope). At `p = s_j` every point of segment `j` is a minimiser; this returns its
    /// left end.
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let j = self.slopes.partition_point(|&s| s < p);
        let q = if j == 0 {
            0.0
        } else if j <= self.breakpoints.len() {
            self.breakpoints[j - 1]
        } else {
            f64::INFINITY
        };
        q.max(lo).min(hi)
    }
    /// The exact inverse of the Nash transform `D'(q) = (d − q)/(d − 2q) · C'(q)`
    /// (li-chen-dahleh-2015 eq. 17) on `[0, d/2)`: on segment `j` (slope `s_j`),
    /// `(d − q) s_j = p (d − 2q)` gives `q = d (p − s_j)/(2p − s_j)` (*derived*); at a
    /// breakpoint `x_j` the response stays there for `p` in
    /// `[(d − x_j)/(d − 2x_j) s_{j−1}, (d − x_j)/(d − 2x_j) s_j]` (the subdifferential of
    /// `D`). The smallest minimiser on a flat stretch (`s_j = 0`).
    fn nash_inverse_derivative(&self, p: f64, d: f64) -> Option<f64> {
        let half = 0.5 * d;
        let markup = |q: f64| (d - q) / (d - 2.0 * q);
        let mut left = 0.0;
        for (j, &s) in self.slopes.iter().enumerate() {
            if left >= half {
                return Some(half);
            }
            if p <= markup(left) * s {
                return Some(left);
            }
            let right = self.breakpoints.get(j).copied().unwrap_or(f64::INFINITY);
            let q = d * (p - s) / (2.0 * p - s);
            if right >= half || p <= markup(right) * s {
                return Some(q.max(left).min(right.min(half)));
            }
            left = right;
        }
        Some(left.min(half))
    }
}

/// `C(q) + ρ · max(0, q − q̄)²`: a cost with the soft capacity of li-chen-dahleh-2015
/// footnote 3 (module docs: the paper names no penalty form; this is our choice).
#[derive(Debug, Clone)]
pub struct CapacityPenalty {
    /// The cost `C` without the penalty.
    pub base: Arc<dyn ConvexScalar>,
    /// The capacity `q̄ ≥ 0` beyond which the penalty applies.
    pub capacity: f64,
    /// The weight `ρ > 0`.
    pub weight: f64,
}

impl CapacityPenalty {
    /// Validated: `q̄` finite and `≥ 0`, `ρ` finite and `> 0`. Errors name
    /// `capacity_penalty.capacity`, `capacity_penalty.weight`.
    pub fn new(
        base: Arc<dyn ConvexScalar>,
        capacity: f64,
        weight: f64,
    ) -> Result<Self, BiddingError> {
        dr_convex::check_nonnegative(|| "capacity_penalty.capacity".into(), capacity)?;
        dr_convex::check_positive(|| "capacity_penalty.weight".into(), weight)?;
        Ok(Self {
            base,
            capacity,
            weight,
        })
    }

    fn excess(&self, q: f64) -> f64 {
        (q - self.capacity).max(0.0)
    }
}

impl ConvexScalar for CapacityPenalty {
    fn value(&self, q: f64) -> f64 {
        let e = self.excess(q);
        self.base.value(q) + self.weight * e * e
    }
    fn derivative(&self, q: f64) -> f64 {
        self.base.derivative(q) + 2.0 * self.weight * self.excess(q)
    }
    fn left_derivative(&self, q: f64) -> f64 {
        self.base.left_derivative(q) + 2.0 * self.weight * self.excess(q)
    }
    fn second_derivative(&self, q: f64) -> f64 {
        let pen = if q > self.capacity {
            2.0 * self.weight
        } else {
            0.0
        };
        self.base.second_derivative(q) + pen
    }
    fn domain(&self) -> (f64, f64) {
        self.base.domain()
    }
    /// Below the capacity the base cost's response; beyond it the root of
    /// `C'(q) + 2ρ (q − q̄) = p` (safeguarded Newton).
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let q = self
            .base
            .inverse_derivative(p, lo, hi.min(self.capacity.max(lo)));
        if q < self.capacity || self.derivative(self.capacity) >= p {
            return q;
        }
        dr_convex::generic_inverse_derivative(self, p, self.capacity.max(lo), hi)
    }
}
