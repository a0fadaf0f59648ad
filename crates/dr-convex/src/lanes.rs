//! Eight `f64` lanes for the population passes: every operation is one short loop over the
//! lanes, which the compiler turns into one SIMD instruction, so that a pass written with
//! [`Lanes`] vectorises whatever else its loop body holds (a long scalar body over
//! `[f64; 8]` accumulators often does not). Lane `k` of a pass accumulates the items
//! `j ≡ k (mod 8)` of its chunk in index order: the sums are deterministic and do not depend
//! on the number of threads.

// Indexed loops over the fixed eight lanes are the form the compiler vectorises.
#![allow(clippy::needless_range_loop)]

use std::ops::{Add, Div, Mul, Not, Sub};

/// Number of lanes.
pub const LANES: usize = 8;

/// Eight `f64` values processed together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lanes(pub [f64; LANES]);

/// One comparison result per lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mask(pub [bool; LANES]);

impl Lanes {
    /// Every lane `v`.
    #[inline(always)]
    pub fn splat(v: f64) -> Lanes {
        Lanes([v; LANES])
    }
    /// The first eight values of `s` (panics if `s` is shorter).
    #[inline(always)]
    pub fn load(s: &[f64]) -> Lanes {
        let mut r = [0.0; LANES];
        r.copy_from_slice(&s[..LANES]);
        Lanes(r)
    }
    /// The values of `s` (at most eight), the other lanes `fill`.
    #[inline(always)]
    pub fn load_partial(s: &[f64], fill: f64) -> Lanes {
        let mut r = [fill; LANES];
        let m = s.len().min(LANES);
        r[..m].copy_from_slice(&s[..m]);
        Lanes(r)
    }
    /// Writes the lanes to the first eight entries of `s` (panics if `s` is shorter).
    #[inline(always)]
    pub fn store(self, s: &mut [f64]) {
        s[..LANES].copy_from_slice(&self.0);
    }
    /// Writes the first `s.len()` lanes (at most eight) to `s`.
    #[inline(always)]
    pub fn store_partial(self, s: &mut [f64]) {
        let m = s.len().min(LANES);
        s[..m].copy_from_slice(&self.0[..m]);
    }
    /// `f` lane by lane.
    #[inline(always)]
    pub fn map(self, f: impl Fn(f64) -> f64) -> Lanes {
        let mut r = [0.0; LANES];
        for k in 0..LANES {
            r[k] = f(self.0[k]);
        }
        Lanes(r)
    }
    /// `f` lane by lane on two vectors.
    #[inline(always)]
    pub fn zip(self, o: Lanes, f: impl Fn(f64, f64) -> f64) -> Lanes {
        let mut r = [0.0; LANES];
        for k in 0..LANES {
            r[k] = f(self.0[k], o.0[k]);
        }
        Lanes(r)
    }
    /// `√x` lane by lane.
    #[inline(always)]
    pub fn sqrt(self) -> Lanes {
        self.map(f64::sqrt)
    }
    /// `|x|` lane by lane (`-x` where `x < 0`).
    #[inline(always)]
    pub fn abs(self) -> Lanes {
        Mask::lt(self, Lanes::splat(0.0)).select(self.map(|x| -x), self)
    }
    /// The larger of the lanes, `self` where the comparison fails (NaN in `o` is ignored).
    #[inline(always)]
    pub fn max(self, o: Lanes) -> Lanes {
        Mask::gt(o, self).select(o, self)
    }
    /// The smaller of the lanes, `self` where the comparison fails (NaN in `o` is ignored).
    #[inline(always)]
    pub fn min(self, o: Lanes) -> Lanes {
        Mask::lt(o, self).select(o, self)
    }
    /// `((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))`: the fixed-order sum.
    #[inline(always)]
    pub fn sum(self) -> f64 {
        let v = self.0;
        ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
    }
    /// The largest lane (NaN lanes ignored; `-∞` if all are NaN).
    #[inline(always)]
    pub fn max_lane(self) -> f64 {
        self.0
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| if v > m { v } else { m })
    }
    /// The smallest lane (NaN lanes ignored; `+∞` if all are NaN).
    #[inline(always)]
    pub fn min_lane(self) -> f64 {
        self.0
            .iter()
            .fold(f64::INFINITY, |m, &v| if v < m { v } else { m })
    }
}

impl Mask {
    /// `a < b` lane by lane.
    #[inline(always)]
    pub fn lt(a: Lanes, b: Lanes) -> Mask {
        Mask::cmp(a, b, |x, y| x < y)
    }
    /// `a <= b` lane by lane.
    #[inline(always)]
    pub fn le(a: Lanes, b: Lanes) -> Mask {
        Mask::cmp(a, b, |x, y| x <= y)
    }
    /// `a > b` lane by lane.
    #[inline(always)]
    pub fn gt(a: Lanes, b: Lanes) -> Mask {
        Mask::cmp(a, b, |x, y| x > y)
    }
    /// `a >= b` lane by lane.
    #[inline(always)]
    pub fn ge(a: Lanes, b: Lanes) -> Mask {
        Mask::cmp(a, b, |x, y| x >= y)
    }
    /// `a == b` lane by lane.
    #[inline(always)]
    pub fn eq(a: Lanes, b: Lanes) -> Mask {
        Mask::cmp(a, b, |x, y| x == y)
    }
    #[inline(always)]
    fn cmp(a: Lanes, b: Lanes, f: impl Fn(f64, f64) -> bool) -> Mask {
        let mut r = [false; LANES];
        for k in 0..LANES {
            r[k] = f(a.0[k], b.0[k]);
        }
        Mask(r)
    }
    /// The first `m` lanes set (all for `m ≥ 8`).
    #[inline(always)]
    pub fn first(m: usize) -> Mask {
        let mut r = [false; LANES];
        for (k, x) in r.iter_mut().enumerate() {
            *x = k < m;
        }
        Mask(r)
    }
    /// Lane-wise and.
    #[inline(always)]
    pub fn and(self, o: Mask) -> Mask {
        let mut r = [false; LANES];
        for k in 0..LANES {
            r[k] = self.0[k] & o.0[k];
        }
        Mask(r)
    }
    /// Lane-wise or.
    #[inline(always)]
    pub fn or(self, o: Mask) -> Mask {
        let mut r = [false; LANES];
        for k in 0..LANES {
            r[k] = self.0[k] | o.0[k];
        }
        Mask(r)
    }
    /// `a` where set, `b` elsewhere.
    #[inline(always)]
    pub fn select(self, a: Lanes, b: Lanes) -> Lanes {
        let mut r = [0.0; LANES];
        for k in 0..LANES {
            r[k] = if self.0[k] { a.0[k] } else { b.0[k] };
        }
        Lanes(r)
    }
    /// True when some lane is set.
    #[inline(always)]
    pub fn any(self) -> bool {
        self.0.iter().any(|&b| b)
    }
}

impl Not for Mask {
    type Output = Mask;
    /// Lane-wise not.
    #[inline(always)]
    fn not(self) -> Mask {
        let mut r = [false; LANES];
        for k in 0..LANES {
            r[k] = !self.0[k];
        }
        Mask(r)
    }
}

macro_rules! lane_op {
    ($tr:ident, $f:ident, $op:tt) => {
        impl $tr for Lanes {
            type Output = Lanes;
            #[inline(always)]
            fn $f(self, o: Lanes) -> Lanes {
                self.zip(o, |x, y| x $op y)
            }
        }
        impl $tr<f64> for Lanes {
            type Output = Lanes;
            #[inline(always)]
            fn $f(self, o: f64) -> Lanes {
                self.map(|x| x $op o)
            }
        }
        impl $tr<Lanes> for f64 {
            type Output = Lanes;
            #[inline(always)]
            fn $f(self, o: Lanes) -> Lanes {
                o.map(|y| self $op y)
            }
        }
    };
}
lane_op!(Add, add, +);
lane_op!(Sub, sub, -);
lane_op!(Mul, mul, *);
lane_op!(Div, div, /);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_match_scalar_arithmetic() {
        let a = Lanes([1.0, -2.0, 3.5, 0.0, -0.5, 8.0, f64::NAN, 2.0]);
        let b = Lanes::splat(2.0);
        for k in 0..LANES {
            let (x, y) = (a.0[k], b.0[k]);
            assert_eq!((a + b).0[k].to_bits(), (x + y).to_bits());
            assert_eq!((a * 3.0).0[k].to_bits(), (x * 3.0).to_bits());
            assert_eq!((1.0 / a).0[k].to_bits(), (1.0 / x).to_bits());
            assert_eq!((a - b).0[k].to_bits(), (x - y).to_bits());
        }
        assert_eq!(a.abs().0[1], 2.0);
        assert_eq!(a.max(b).0[0], 2.0);
        assert_eq!(a.min(b).0[0], 1.0);
        // NaN is ignored by the extremes, as by f64::max.
        assert_eq!(a.max_lane(), 8.0);
        assert_eq!(a.min_lane(), -2.0);
        let s = Lanes([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(s.sum(), 36.0);
        assert_eq!(
            Mask::first(3).select(s, b).0,
            [1.0, 2.0, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0]
        );
        let mut out = [0.0; 3];
        s.store_partial(&mut out);
        assert_eq!(out, [1.0, 2.0, 3.0]);
        assert_eq!(Lanes::load_partial(&out, -1.0).0[3], -1.0);
    }
}
