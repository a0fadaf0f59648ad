//! Price-update rules for iterative market schemes.
//!
//! In the papers' distributed algorithms the market operator announces a price, observes
//! the resulting mismatch and announces a new price: supply-function bidding
//! (li-chen-dahleh-2015 eqs. 12 and 27, `p ← [p − γ (Σ b_i p − d)]^+`), the Stackelberg
//! companies' update (alshehri-liu-chen-basar eq. 21, step `1/ε`). A [`PriceRule`] is that
//! update, so every simulation can swap the papers' fixed step for a faster rule that
//! observes exactly the same scalar per round.
//!
//! Sign convention: `mismatch = supply − demand` (excess supply), so a positive mismatch
//! lowers the price.

/// One price update from the observed excess supply.
pub trait PriceRule {
    /// Returns the next price after `price` produced excess supply `mismatch`.
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64;
    /// Forgets any history (start of a new run).
    fn reset(&mut self) {}
    /// Short name for traces and tables.
    fn name(&self) -> &'static str;
}

/// The papers' dual-gradient step `p ← max(p − γ · mismatch, floor)`
/// (li-chen-dahleh-2015 eq. 12/27; chen-li-low-doyle-2010 eq. 12).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedStep {
    /// Step size `γ`.
    pub step: f64,
    /// Projection floor (0 for prices).
    pub floor: f64,
}

impl FixedStep {
    /// The paper's rule with step `γ` and floor 0.
    pub fn new(step: f64) -> Self {
        Self { step, floor: 0.0 }
    }
}

impl PriceRule for FixedStep {
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        (price - self.step * mismatch).max(self.floor)
    }
    fn name(&self) -> &'static str {
        "paper"
    }
}

/// A safeguarded fast rule for a positive price against an increasing supply
/// `S(p) = demand + mismatch` that is 0 for low prices (the supply-function markets).
///
/// It observes only `(price, mismatch)` pairs, like [`FixedStep`], and combines:
/// - before any sign change: the market-clearing ratio `p ← p · demand / S(p)` (what the
///   announced supply functions `q = b p` would clear at), limited to a factor
///   [`FastRule::max_factor`] per round;
/// - after a sign change: secant steps through the two latest points with positive supply,
///   kept strictly inside the bracket `(p_low, p_high)` of prices known to give too little
///   and too much supply, with Illinois regula falsi and bisection (in log-price) as fall-backs.
#[derive(Debug, Clone, PartialEq)]
pub struct FastRule {
    /// The demand `d` the supply must meet (scales the mismatch).
    pub demand: f64,
    /// Largest factor by which one round may move the price before a bracket exists.
    pub max_factor: f64,
    low: Option<(f64, f64)>,
    high: Option<(f64, f64)>,
    recent: Vec<(f64, f64)>,
    side: i8,
    stalled: u32,
}

impl FastRule {
    /// A fast rule for the given demand (deficit) `d > 0`.
    pub fn new(demand: f64) -> Self {
        Self {
            demand,
            max_factor: 10.0,
            low: None,
            high: None,
            recent: Vec::new(),
            side: 0,
            stalled: 0,
        }
    }
}

impl PriceRule for FastRule {
    fn name(&self) -> &'static str {
        "fast"
    }
    fn reset(&mut self) {
        *self = Self {
            demand: self.demand,
            max_factor: self.max_factor,
            ..Self::new(self.demand)
        };
    }
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        if !(price > 0.0) || !mismatch.is_finite() {
            return price.max(f64::MIN_POSITIVE);
        }
        if mismatch == 0.0 {
            return price;
        }
        let supply = self.demand + mismatch;
        let old_width = match (self.low, self.high) {
            (Some(l), Some(h)) => (h.0 / l.0).ln(),
            _ => f64::INFINITY,
        };
        if mismatch < 0.0 {
            if self.low.is_none_or(|l| price > l.0) {
                self.low = Some((price, mismatch));
            }
        } else if self.high.is_none_or(|h| price < h.0) {
            self.high = Some((price, mismatch));
        }
        if supply > 0.0 {
            self.recent.push((price, mismatch));
            if self.recent.len() > 2 {
                self.recent.remove(0);
            }
        }
        let ratio = (self.demand / supply.max(self.demand / self.max_factor))
            .clamp(1.0 / self.max_factor, self.max_factor);
        let (low, high) = match (self.low, self.high) {
            (Some(l), Some(h)) => (l, h),
            _ => return price * ratio,
        };
        let new_width = (high.0 / low.0).ln();
        if new_width > 0.5 * old_width {
            self.stalled += 1;
        } else {
            self.stalled = 0;
        }
        let inside = |p: f64| p > low.0 && p < high.0 && p.is_finite();
        // Secant through the two latest points with positive supply.
        if self.stalled < 2 && self.recent.len() == 2 {
            let (p1, m1) = self.recent[0];
            let (p2, m2) = self.recent[1];
            if m2 != m1 && p2 != p1 {
                let cand = p2 - m2 * (p2 - p1) / (m2 - m1);
                if inside(cand) {
                    self.side = 0;
                    return cand;
                }
            }
        }
        // Clearing ratio from the latest point, if it lands inside the bracket.
        if self.stalled < 2 && inside(price * ratio) && supply > 0.0 {
            return price * ratio;
        }
        // Illinois regula falsi on the bracket.
        let (mut ml, mut mh) = (low.1, high.1);
        let s = if mismatch < 0.0 { -1 } else { 1 };
        if self.side == s {
            if s < 0 {
                mh *= 0.5;
            } else {
                ml *= 0.5;
            }
        }
        self.side = s;
        let cand = low.0 - ml * (high.0 - low.0) / (mh - ml);
        if self.stalled < 3 && inside(cand) {
            return cand;
        }
        self.stalled = 0;
        (low.0 * high.0).sqrt()
    }
}
