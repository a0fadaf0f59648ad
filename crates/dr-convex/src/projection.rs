//! Euclidean projection onto `{ x : l ≤ x ≤ u, L ≤ Σ x ≤ U }`.
//!
//! The distributed gradient schemes project each customer's iterate onto its feasible set:
//! `S_i = {q ≥ 0, Q_i ≤ Σ_t q(t) ≤ Q̄_i}` in chen-li-low-doyle-2010 eq. (42). The projection
//! is a one-multiplier water-filling: if the clamped point already satisfies the sum bounds
//! it is the answer; otherwise the sum bound it violates is active and the projection is the
//! allocation `min ½‖x − v‖²  s.t. Σ x = L (or U), l ≤ x ≤ u`, solved exactly by
//! [`crate::allocate`].

use crate::allocator::{allocate, AllocatorSettings, Bound, Family};
use crate::certificate::{Certificate, Status};
use crate::error::ConvexError;

/// `f_i(x) = ½ (x − v_i)²`.
struct Distance<'a> {
    center: &'a [f64],
}

impl Family for Distance<'_> {
    fn len(&self) -> usize {
        self.center.len()
    }
    fn value(&self, i: usize, x: f64) -> f64 {
        0.5 * (x - self.center[i]).powi(2)
    }
    fn derivative(&self, i: usize, x: f64) -> f64 {
        x - self.center[i]
    }
    fn response(&self, i: usize, lambda: f64, lo: f64, hi: f64) -> (f64, f64) {
        let x = self.center[i] + lambda;
        if x < lo {
            (lo, 0.0)
        } else if x >= hi {
            (hi, 0.0)
        } else {
            (x, 1.0)
        }
    }
}

/// The projection and the multiplier of the active sum bound (0 when none is active;
/// positive when the lower sum bound `L` is active, negative for `U`).
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The projected point.
    pub x: Vec<f64>,
    /// Multiplier of the sum constraint.
    pub multiplier: f64,
    /// Certificate of the underlying allocation (trivial when no sum bound is active).
    pub certificate: Certificate,
}

/// Projects `v` onto `{l ≤ x ≤ u, sum_lower ≤ Σ x ≤ sum_upper}` (exact, O(n) passes).
///
/// ```
/// use dr_convex::{project_box_sum, Bound};
/// // Project (3, 1) onto {x ≥ 0, Σ x ≤ 2}: shift both by −1 → (2, 0).
/// let p = project_box_sum(&[3.0, 1.0], Bound::Constant(0.0), Bound::Constant(f64::INFINITY),
///                         0.0, 2.0).unwrap();
/// assert_eq!(p.x, vec![2.0, 0.0]);
/// ```
pub fn project_box_sum(
    v: &[f64],
    lower: Bound<'_>,
    upper: Bound<'_>,
    sum_lower: f64,
    sum_upper: f64,
) -> Result<Projection, ConvexError> {
    if v.is_empty() {
        return Err(ConvexError::Empty { field: "v".into() });
    }
    for (i, &vi) in v.iter().enumerate() {
        crate::error::check_finite(|| format!("v[{i}]"), vi)?;
    }
    if sum_lower.is_nan() || sum_upper.is_nan() || sum_lower > sum_upper {
        return Err(ConvexError::InvertedBounds {
            field: "sum bounds".into(),
            lower: sum_lower,
            upper: sum_upper,
        });
    }
    let settings = AllocatorSettings::default();
    let fam = Distance { center: v };
    let mut clamped = Vec::with_capacity(v.len());
    for (i, &vi) in v.iter().enumerate() {
        let (l, u) = (lower.get(i), upper.get(i));
        if l.is_nan() || u.is_nan() || l > u {
            return Err(ConvexError::InvertedBounds {
                field: format!("bounds[{i}]"),
                lower: l,
                upper: u,
            });
        }
        clamped.push(vi.clamp(l, u));
    }
    let s: f64 = clamped.iter().sum();
    let target = if s < sum_lower {
        sum_lower
    } else if s > sum_upper {
        sum_upper
    } else {
        return Ok(Projection {
            x: clamped,
            multiplier: 0.0,
            certificate: Certificate {
                status: Status::Solved,
                ..Certificate::default()
            },
        });
    };
    let a = allocate(&fam, lower, upper, target, &settings)?;
    Ok(Projection {
        x: a.x,
        multiplier: a.multiplier,
        certificate: a.certificate,
    })
}
