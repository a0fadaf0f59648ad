//! The utility's fast price update for iterative bidding: clear a market fitted to the bids.
//!
//! Beyond the papers (SPEC §1: "a price update that needs far fewer rounds for the same
//! one-scalar messages"). The papers' update (li-chen-dahleh-2015 eqs. 12, 27) uses only the
//! mismatch `Σ_i b_i p − d`; but to compute it the utility receives every customer's bid
//! `b_i(k)` (one scalar each, eq. 11 or 26), and each bid tells it one point of that
//! customer's marginal cost:
//! - price-taking (eq. 11): a bid with load `q = b p > 0` means `C_i'(q) = p` (Theorem 2);
//! - strategic (eq. 26): `D_i'(q) = (1 + q/(d − 2q)) C_i'(q) = p` (Theorem 3), so
//!   `C_i'(q) = p (d − 2q)/(d − q)`;
//! - a zero bid at `p` means `C_i'(0) ≥ p` (the water-filling threshold of Theorems 2, 4).
//!
//! # Method
//! [`FittedMarketRule`] keeps, per customer (struct-of-arrays), its two latest points of
//! `C_i'` and its zero-bid prices, fits `C_i'` by a line — a cost `a_i q + h_i q²` — and
//! announces the equilibrium price of the fitted market (Theorem 1 or 3 applied to the fitted
//! costs), solved exactly by the kernel's allocator:
//! - a customer seen at two loads gets the secant line through its two latest points, unless
//!   it bid zero after the older one at a price above the line's intercept (a contradiction:
//!   a capacity or a stale point). A negative intercept stands for a marginal cost that is 0
//!   up to the line's zero: the same supply at every positive price;
//! - a customer seen at one load `(q, m)` only has `C_i'(0)` somewhere in `[z, m]`, `z` its
//!   highest zero-bid price. The rule first assumes `C_i'(0) = m` with the median slope of
//!   the others (*under*-estimating supply, so the fitted price is at or above the
//!   equilibrium price and the next round sees every customer that matters at a second
//!   load); when that price falls outside the bracket it tries the median slope through the
//!   point (intercept clamped to `[z, m]`; half-way when no slope is measured yet), then
//!   `C_i'(0) = z` (over-estimating);
//! - a customer that never bid sheds nothing in the first fit, and from `z` on with the
//!   median slope in the others;
//! - a load repeated at two prices is a capacity.
//!
//! For costs `a q + h q²` (the papers' studies) the line is exact once a customer has bid at
//! two loads, so the fitted price is the equilibrium price as soon as every customer active
//! there has: 4 rounds at most on the Fig. 1 and Fig. 2 populations from any start price in
//! [0.01, 100] (tests/iterative.rs). For other convex costs it is the secant method per
//! customer, superlinear near the equilibrium.
//!
//! ## Safeguards
//! The rule also feeds every observation to the kernel's [`FastRule`] (bracket on the
//! mismatch only). It takes that rule's price — or the geometric midpoint of the bracket when
//! that price would not move — when no fit is possible yet (all bids zero, or no slope
//! known), when every fitted price leaves the bracket of prices known to give too little and
//! too much supply, or after two fitted prices in a row that did not halve the mismatch.

use crate::equilibrium::nash_quadratic_family;
use crate::iterative::Behaviour;
use dr_convex::{
    solve_multiplier, AllocatorSettings, Bound, FastRule, PriceRule, QuadraticFamily, Status,
};

/// The fitted-market price rule (module docs): a [`PriceRule`] that reads the bids through
/// [`PriceRule::observe_replies`].
///
/// ```
/// use dr_bidding::{Behaviour, BiddingSimulation, FittedMarketRule, Market, SimulationSettings};
/// use dr_bidding::{nash_equilibrium, Termination};
/// let m = Market::drawn(30, [1.0, 2.0], [0.5, 4.5], 7, 10.0)?;
/// let rule = FittedMarketRule::new(Behaviour::Strategic, m.deficit());
/// let settings = SimulationSettings { start_price: 0.01, ..Default::default() };
/// let run = BiddingSimulation::new(&m, Behaviour::Strategic, rule, settings)?.run();
/// assert_eq!(run.termination, Termination::Converged);
/// assert!(run.rounds <= 8);
/// let p_star = nash_equilibrium(&m)?.price;
/// assert!((run.price - p_star).abs() <= 1e-9 * p_star);
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FittedMarketRule {
    behaviour: Behaviour,
    deficit: f64,
    aggregate: FastRule,
    /// Latest point `(load, marginal cost)` per customer (NaN: none).
    q_new: Vec<f64>,
    m_new: Vec<f64>,
    /// The point before it (NaN: none).
    q_old: Vec<f64>,
    m_old: Vec<f64>,
    /// Highest announced price at which the customer bid zero (0: none).
    zero_bid_price: Vec<f64>,
    /// Highest zero-bid price since the older point was recorded (0: none).
    zero_since_old: Vec<f64>,
    /// Highest zero-bid price since the latest point was recorded (0: none).
    zero_since_new: Vec<f64>,
    /// Load seen at two prices: a capacity (∞: none seen).
    capacity: Vec<f64>,
    last_mismatch: f64,
    last_was_fit: bool,
    slow_fits: u32,
}

impl FittedMarketRule {
    /// The rule for customers of the given behaviour and a deficit `d > 0`.
    pub fn new(behaviour: Behaviour, deficit: f64) -> Self {
        Self {
            behaviour,
            deficit,
            aggregate: FastRule::new(deficit),
            q_new: Vec::new(),
            m_new: Vec::new(),
            q_old: Vec::new(),
            m_old: Vec::new(),
            zero_bid_price: Vec::new(),
            zero_since_old: Vec::new(),
            zero_since_new: Vec::new(),
            capacity: Vec::new(),
            last_mismatch: f64::NAN,
            last_was_fit: false,
            slow_fits: 0,
        }
    }

    fn ensure_len(&mut self, n: usize) {
        if self.q_new.len() != n {
            self.q_new = vec![f64::NAN; n];
            self.m_new = vec![f64::NAN; n];
            self.q_old = vec![f64::NAN; n];
            self.m_old = vec![f64::NAN; n];
            self.zero_bid_price = vec![0.0; n];
            self.zero_since_old = vec![0.0; n];
            self.zero_since_new = vec![0.0; n];
            self.capacity = vec![f64::INFINITY; n];
        }
    }

    /// The marginal cost `C_i'(q)` revealed by a load `q > 0` bid at price `p`.
    fn revealed_marginal_cost(&self, q: f64, p: f64) -> f64 {
        match self.behaviour {
            Behaviour::Competitive => p,
            Behaviour::Strategic => {
                let d = self.deficit;
                p * (d - 2.0 * q) / (d - q)
            }
        }
    }

    /// Slope of the two-point line of customer `i`, if it is a usable (positive) one.
    fn two_point_slope(&self, i: usize) -> Option<f64> {
        let s = (self.m_new[i] - self.m_old[i]) / (self.q_new[i] - self.q_old[i]);
        (s.is_finite() && s > 0.0).then_some(s)
    }

    /// Slope of the line through `(0, zero-bid price)` and the latest point, if usable.
    fn threshold_slope(&self, i: usize) -> Option<f64> {
        let z = self.zero_bid_price[i];
        let s = (self.m_new[i] - z) / self.q_new[i];
        (z > 0.0 && s.is_finite() && s > 0.0).then_some(s)
    }

    /// The median slope of the customers seen at two loads (`true`) or, when there are none,
    /// of the lines through their zero-bid price and their load (`false`).
    fn reference_slope(&self) -> Option<(f64, bool)> {
        let n = self.q_new.len();
        let mut slopes: Vec<f64> = (0..n).filter_map(|i| self.two_point_slope(i)).collect();
        let measured = !slopes.is_empty();
        if !measured {
            slopes = (0..n).filter_map(|i| self.threshold_slope(i)).collect();
        }
        if slopes.is_empty() {
            return None;
        }
        let mid = slopes.len() / 2;
        let (_, m, _) = slopes.select_nth_unstable_by(mid, f64::total_cmp);
        Some((*m, measured))
    }

    /// The fitted costs `(a_i, h_i, capacity_i)` under the given assumption on the customers
    /// not yet seen at two loads, with the [`Self::reference_slope`] `(reference, measured)`.
    fn fitted_costs(
        &self,
        guess: Guess,
        (reference, measured): (f64, bool),
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = self.q_new.len();
        let mut a = vec![0.0; n];
        let mut h = vec![0.5 * reference; n];
        let mut cap = self.capacity.clone();
        for i in 0..n {
            let (q, m, z) = (self.q_new[i], self.m_new[i], self.zero_bid_price[i]);
            if q.is_nan() {
                // Never bid: its threshold lies above every price it saw.
                a[i] = z;
                if guess == Guess::Under {
                    cap[i] = 0.0;
                }
            } else if let Some((intercept, s)) = self
                .two_point_slope(i)
                .map(|s| (m - s * q, s))
                .filter(|&(intercept, _)| {
                    let z_new = self.zero_since_old[i];
                    z_new <= 0.0 || intercept >= z_new
                })
            {
                // The secant line, unless a zero bid made after its older point contradicts
                // it (C_i'(0) ≥ that price; older zero bids are superseded: the secant of a
                // convex C_i' may well cut the axis below C_i'(0)). A negative
                // intercept stands for a marginal cost that is 0 up to the line's zero (the
                // same supply at every positive price; for strategic fits the line is positive
                // at d/2 > q, so D_i' still increases where it is positive).
                a[i] = intercept;
                h[i] = 0.5 * s;
            } else {
                // Seen at one load only (or its line contradicts a zero bid):
                // C_i'(0) lies in [zero-bid price, m].
                let intercept = match guess {
                    Guess::Under => m,
                    Guess::Middle if measured => (m - reference * q).clamp(z, m),
                    Guess::Middle => 0.5 * (z + m),
                    Guess::Over => z,
                };
                a[i] = intercept;
                if intercept < m {
                    h[i] = 0.5 * (m - intercept) / q;
                }
            }
        }
        (a, h, cap)
    }

    /// The equilibrium price of the fitted market (the kernel's exact allocator on
    /// `C_i(q) = a_i q + h_i q²` or its Nash transform, eq. 17), if it exists and is positive.
    fn fitted_price(&self, guess: Guess, reference: (f64, bool)) -> Option<f64> {
        let (a, h, cap) = self.fitted_costs(guess, reference);
        let d = self.deficit;
        let settings = AllocatorSettings::default();
        let lower = Bound::Constant(0.0);
        let solved = match self.behaviour {
            Behaviour::Competitive => {
                let family = QuadraticFamily::new(&a, &h).ok()?;
                solve_multiplier(&family, lower, Bound::PerItem(&cap), d, &settings)
            }
            Behaviour::Strategic => {
                let capped: Vec<f64> = cap.iter().map(|&c| c.min(0.5 * d)).collect();
                let family = nash_quadratic_family(&a, &h, d);
                solve_multiplier(&family, lower, Bound::PerItem(&capped), d, &settings)
            }
        }
        .ok()?;
        let price = solved.lambda;
        (solved.status == Status::Solved && price.is_finite() && price > 0.0).then_some(price)
    }
}

/// How a fit treats the customers not yet seen at two loads (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guess {
    /// They shed nothing below the marginal cost they revealed: the fitted supply is at most
    /// the true one, so the fitted price is at or above the equilibrium price.
    Under,
    /// Their line has the median slope of the customers seen at two loads (intercept within
    /// its bounds) or, when there are none, the intercept half-way between its bounds.
    Middle,
    /// Their threshold is the highest price at which they bid zero: the fitted supply is at
    /// least the true one (for costs `a q + h q²`).
    Over,
}

impl PriceRule for FittedMarketRule {
    fn name(&self) -> &'static str {
        "fast"
    }

    fn reset(&mut self) {
        *self = Self::new(self.behaviour, self.deficit);
    }

    fn observe_replies(&mut self, price: f64, bids: &[f64]) {
        if !(price.is_finite() && price > 0.0) {
            return;
        }
        self.ensure_len(bids.len());
        for (i, &b) in bids.iter().enumerate() {
            let q = b * price;
            if !q.is_finite() {
                continue;
            }
            if q <= 0.0 {
                self.zero_bid_price[i] = self.zero_bid_price[i].max(price);
                self.zero_since_old[i] = self.zero_since_old[i].max(price);
                self.zero_since_new[i] = self.zero_since_new[i].max(price);
                continue;
            }
            let m = self.revealed_marginal_cost(q, price);
            if q > self.capacity[i] * (1.0 + 1e-12) {
                // A larger load disproves a capacity inferred from a repeated one.
                self.capacity[i] = f64::INFINITY;
            }
            let last = self.q_new[i];
            if !last.is_nan() && (q - last).abs() <= 1e-12 * q {
                // The same load at another price: the customer is at its capacity, and the
                // point recorded at that load was not a point of C_i'.
                self.capacity[i] = q;
                self.q_new[i] = self.q_old[i];
                self.m_new[i] = self.m_old[i];
                self.q_old[i] = f64::NAN;
                self.m_old[i] = f64::NAN;
                self.zero_since_new[i] = self.zero_since_old[i];
                continue;
            }
            self.q_old[i] = last;
            self.m_old[i] = self.m_new[i];
            self.zero_since_old[i] = self.zero_since_new[i];
            self.zero_since_new[i] = 0.0;
            self.q_new[i] = q;
            self.m_new[i] = m;
        }
    }

    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        let fallback = self.aggregate.next_price(price, mismatch);
        if !(price.is_finite() && price > 0.0 && mismatch.is_finite()) || mismatch == 0.0 {
            return fallback;
        }
        let (low, high) = self.aggregate.bracket();
        let inside = |p: f64| p > low && p < high && (p - price).abs() > 1e-14 * price;
        // The kernel rule's price, or the geometric midpoint of the bracket when that price
        // would not move (its candidates need not use the latest observation).
        let fallback = if inside(fallback) || !(low > 0.0 && high.is_finite()) {
            fallback
        } else {
            (low * high).sqrt()
        };
        if self.last_was_fit && mismatch.abs() > 0.5 * self.last_mismatch.abs() {
            self.slow_fits += 1;
        } else if self.last_was_fit {
            self.slow_fits = 0;
        }
        self.last_mismatch = mismatch;
        if self.slow_fits >= 2 {
            self.slow_fits = 0;
            self.last_was_fit = false;
            return fallback;
        }
        let fitted = self.reference_slope().and_then(|reference| {
            [Guess::Under, Guess::Middle, Guess::Over]
                .into_iter()
                .find_map(|g| self.fitted_price(g, reference).filter(|&p| inside(p)))
        });
        match fitted {
            Some(p) => {
                self.last_was_fit = true;
                p
            }
            _ => {
                self.last_was_fit = false;
                fallback
            }
        }
    }
}
