//! Price-update rules for iterative market schemes.
//!
//! In the papers' distributed algorithms the market operator announces a price, observes
//! the resulting mismatch and announces a new price: supply-function bidding
//! (li-chen-dahleh-2015 eqs. 12 and 27, `p ← [p − γ (Σ b_i p − d)]^+`), the Stackelberg
//! companies' update (alshehri-liu-chen-basar eq. 21, step `1/ε`). A [`PriceRule`] is that
//! update, so every simulation can swap the papers' fixed step for a faster rule that
//! observes exactly the same scalar per round. A rule may also read the individual replies
//! behind that scalar ([`PriceRule::observe_replies`]): dr-bidding's `FittedMarketRule`
//! clears a market fitted to the customers' bids and uses [`FastRule`] as its safeguard.
//!
//! Sign convention: `mismatch = supply − demand` (excess supply), so a positive mismatch
//! lowers the price.

/// One price update from the observed excess supply.
pub trait PriceRule {
    /// Returns the next price after `price` produced excess supply `mismatch`.
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64;
    /// Sees the individual replies behind the mismatch about to be passed to
    /// [`PriceRule::next_price`] (default: ignored). A market operator that clears the market
    /// receives one scalar from every participant anyway (the bids of supply-function
    /// bidding); a rule may use them, not only their sum, without any extra message.
    fn observe_replies(&mut self, _price: f64, _replies: &[f64]) {}
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
/// It observes only `(price, mismatch)` pairs, like [`FixedStep`], and keeps the bracket
/// `(p_low, p_high)` of prices known to give too little and too much supply.
///
/// # Method
/// Before a bracket exists it moves by the market-clearing ratio `p · d / S(p)` (the price at
/// which the announced supply functions `q = b p` would clear), at most a factor
/// [`FastRule::max_factor`] per round (that factor when nothing was supplied). With a
/// bracket it announces the smallest of the *over-estimates* of the clearing price that the
/// observations give when the supply is convex in the price (competitive bidding with convex
/// costs, li-chen-dahleh-2015 eq. 11): the secant through the two lowest prices with excess
/// supply, the extrapolated secant through the two highest prices with a shortfall, and the
/// clearing ratio at the highest price with a shortfall — each lies at or above the root
/// because a convex function lies above its secant lines outside their interval. These
/// close the bracket from above superlinearly; when the supply is not convex (strategic
/// bids, eq. 26) the same candidates are still interpolants inside the bracket, and a
/// regula-falsi or geometric-bisection step is taken whenever the bracket stops shrinking
/// fast enough, so the rule never leaves the bracket and always converges.
#[derive(Debug, Clone, PartialEq)]
pub struct FastRule {
    /// The demand `d` the supply must meet (scales the mismatch).
    pub demand: f64,
    /// Largest factor by which one round may move the price before a bracket exists.
    pub max_factor: f64,
    /// Observations `(price, mismatch)`, most recent last.
    seen: Vec<(f64, f64)>,
    stalled: u32,
    last_width: f64,
}

impl FastRule {
    /// A fast rule for the given demand (deficit) `d > 0`.
    pub fn new(demand: f64) -> Self {
        Self {
            demand,
            max_factor: 100.0,
            seen: Vec::new(),
            stalled: 0,
            last_width: f64::INFINITY,
        }
    }
}

impl FastRule {
    /// The bracket `(p_low, p_high)` of the observations so far: the highest price that gave
    /// too little supply (0 if none) and the lowest that gave too much (`+∞` if none).
    pub fn bracket(&self) -> (f64, f64) {
        self.seen
            .iter()
            .fold((0.0, f64::INFINITY), |(low, high), &(p, m)| {
                if m < 0.0 {
                    (low.max(p), high)
                } else {
                    (low, high.min(p))
                }
            })
    }
}

/// Root of the line through `(p1, m1)` and `(p2, m2)`, if it has one.
fn secant(p1: f64, m1: f64, p2: f64, m2: f64) -> Option<f64> {
    if m1 == m2 || p1 == p2 {
        return None;
    }
    let r = p2 - m2 * (p2 - p1) / (m2 - m1);
    r.is_finite().then_some(r)
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
        if price.is_nan() || price <= 0.0 || !price.is_finite() || !mismatch.is_finite() {
            return if price > 0.0 && price.is_finite() {
                price
            } else {
                1.0
            };
        }
        if mismatch == 0.0 {
            return price;
        }
        self.seen.push((price, mismatch));
        let d = self.demand;
        let clearing = |p: f64, m: f64| {
            let supply = d + m;
            if supply > 0.0 {
                (p * d / supply).clamp(p / self.max_factor, p * self.max_factor)
            } else {
                p * self.max_factor
            }
        };
        // Observations below (shortfall) and above (excess) the clearing price, sorted.
        let mut lows: Vec<(f64, f64)> = self.seen.iter().copied().filter(|o| o.1 < 0.0).collect();
        let mut highs: Vec<(f64, f64)> = self.seen.iter().copied().filter(|o| o.1 > 0.0).collect();
        lows.sort_by(|a, b| b.0.total_cmp(&a.0)); // highest first
        highs.sort_by(|a, b| a.0.total_cmp(&b.0)); // lowest first
        let (low, high) = match (lows.first(), highs.first()) {
            (Some(&l), Some(&h)) => (l, h),
            _ => return clearing(price, mismatch),
        };
        let inside = |p: f64| p > low.0 && p < high.0;
        let width = (high.0 / low.0).ln();
        if width > 0.5 * self.last_width {
            self.stalled += 1;
        } else {
            self.stalled = 0;
        }
        self.last_width = width;
        let falsi = secant(low.0, low.1, high.0, high.1).filter(|&p| inside(p));
        // Nothing supplied at the highest low price: the chord carries no information about
        // where supply starts, so bisect the bracket geometrically.
        if d + low.1 <= 0.0 || self.stalled >= 3 {
            self.stalled = 0;
            return (low.0 * high.0).sqrt();
        }
        let mut over: Vec<f64> = Vec::new();
        if highs.len() >= 2 {
            over.extend(secant(highs[0].0, highs[0].1, highs[1].0, highs[1].1));
        }
        if lows.len() >= 2 {
            over.extend(secant(lows[0].0, lows[0].1, lows[1].0, lows[1].1));
        }
        if d + low.1 > 0.0 {
            over.push(low.0 * d / (d + low.1));
        }
        let best_over = over
            .into_iter()
            .filter(|&p| inside(p))
            .fold(f64::INFINITY, f64::min);
        if best_over.is_finite() {
            best_over
        } else if let Some(p) = falsi {
            p
        } else {
            (low.0 * high.0).sqrt()
        }
    }
}
