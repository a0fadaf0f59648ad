//! The distributed price algorithm (alshehri-liu-chen-basar §VI, eq. 21, Theorem 4) as a
//! message-passing simulation.
//!
//! Each round: every consumer answers the announced prices with its exact best response
//! (eq. 10, water-filling when needed); every company observes only the aggregate demand
//! `D_k(t)` on its own (company, period) entries and updates its price,
//! `p_k(t) ← p_k(t) + (D_k(t) − G_k(t)) / ε`, `ε = (G_k(t) + Z)/p_k(t) + δ` (the notebook's
//! choice; Theorem 4: convergence for `δ ≥ 0`; `δ < 0` may diverge). The companies update
//! in the [`UpdateOrder`] of the settings: one after another within a round, each seeing the
//! consumers' answer to the latest prices ([`UpdateOrder::Sequential`], Gauss–Seidel, the
//! paper's order: §VI, "the prices are sequentially updated"), or all at once from the same
//! observation ([`UpdateOrder::Simultaneous`], Jacobi).
//!
//! With price bounds (Remark 3) every update is clipped to `[p_min, p_max]`, and the
//! mismatch of a price at its cap (floor) counts only a demand below (above) supply: there
//! the market does not clear, by design, and the run converges to the bounded equilibrium
//! of [`crate::solve_equilibrium`].
//!
//! The run is a kernel [`Stepper`] ([`DistributedPricing`]): one round per step (first the
//! companies apply the update decided from the last round's observations, then the
//! consumers answer the prices and the companies observe), run by the kernel [`Executor`]
//! ([`DistributedPricing::executor`]: the round limit, a per-round [`Round`] trace as an
//! observer) and ending with the kernel's [`Termination`]. Any
//! [`dr_convex::PriceRule`] can replace the paper's update. Two faster rules use the same
//! observations: [`PriceUpdate::Secant`] (a secant per entry on its own price and mismatch
//! history, safeguarded by the paper's step) and [`PriceUpdate::Steffensen`] (Aitken
//! extrapolation of each entry's own eq. 21 price sequence).

use crate::aggregate::aggregate_demand;
use crate::error::StackelbergError;
use crate::model::{to_table, Market};
use dr_convex::{check_positive, Executor, PriceRule, Run, Step, Stepper, Termination, TraceMode};
use serde::Serialize;

/// Which price update the companies use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum PriceUpdate {
    /// The paper's eq. 21 with `ε = (G + Z)/p + δ`.
    Paper {
        /// `δ` (Theorem 4 needs `δ ≥ 0`).
        delta: f64,
    },
    /// A secant per (company, period) on its observed (price, mismatch) pairs, safeguarded
    /// by eq. 21 with `δ = 0`.
    Secant,
    /// Steffensen's acceleration of eq. 21 (`δ = 0`) per (company, period): three plain
    /// steps, then Aitken's Δ² extrapolation of the entry's own price sequence.
    Steffensen,
}

/// The order in which the companies apply eq. 21 within one round (alshehri-liu-chen-basar
/// §VI).
///
/// One round is one update of every price `p_k(t)`, `k = 1..K`, `t = 1..T`.
/// - [`UpdateOrder::Sequential`] (Gauss–Seidel): companies `k = 1, …, K` take turns. Company
///   `k` updates all its `T` prices by eq. 21 from the aggregate demand `D_k(t)` the
///   consumers report for the current prices, in which companies `1..k−1` have already
///   announced their new prices this round and companies `k+1..K` still hold last round's.
///   After each company's announcement every consumer recomputes its exact best response
///   (eq. 10, water-filling when needed) to the whole price vector, so one round costs `K`
///   consumer responses (the response to company `K`'s announcement is the round's
///   measurement and company 1's observation in the next round). This is the paper's order:
///   §VI, "Then, the prices are sequentially updated using the following update rule
///   [eq. 21] … Whenever a company k updates its price at time t, it transmits the price to
///   each consumer n, and they modify their demands accordingly." (The paper's sentence can
///   also be read per period, one entry `(k, t)` at a time; we take turns by company, which is
///   the same for `T = 1`, the setting of its Fig. 5.)
/// - [`UpdateOrder::Simultaneous`] (Jacobi): every company updates all its prices from the
///   same observation, the demand at last round's prices; one consumer response per round.
///
/// With `K = 1` both orders are the same algorithm, bit for bit.
///
/// Convergence: Theorem 4's argument (Appendix XII-F: every update keeps the price
/// positive) is per update and holds in either order. In the interior case with `δ = 0`,
/// eq. 21 maps the prices to `p_j ← c_j (B + Z Σ p)`, `c_j = 1/(K T (G_j + Z))`, an affine
/// map whose nonnegative rank-one matrix has spectral radius `Z H < 1` (eq. 14's `H`); the
/// sequential sweep is the block Gauss–Seidel splitting of the same M-matrix, so by the
/// Stein–Rosenberg / Varga comparison it converges too and not more slowly per round. (Our
/// EcoGrid class market, K = 4, δ = 0, tolerance 1e-9: 12 sequential vs 15 simultaneous
/// rounds at T = 1, 74 vs 101 at T = 24.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOrder {
    /// All companies at once from the same observation (Jacobi).
    Simultaneous,
    /// One company after another, each seeing the latest prices (Gauss–Seidel; §VI).
    Sequential,
}

impl UpdateOrder {
    /// The name used in scenario files and output: `"sequential"` or `"simultaneous"`.
    pub fn name(self) -> &'static str {
        match self {
            UpdateOrder::Simultaneous => "simultaneous",
            UpdateOrder::Sequential => "sequential",
        }
    }
}

impl std::str::FromStr for UpdateOrder {
    type Err = String;
    /// `"sequential"` or `"simultaneous"`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sequential" => Ok(UpdateOrder::Sequential),
            "simultaneous" => Ok(UpdateOrder::Simultaneous),
            _ => Err(format!(
                "unknown order `{s}`: expected `sequential` or `simultaneous`"
            )),
        }
    }
}

impl PriceUpdate {
    /// The order a rule runs in when the settings name none: [`UpdateOrder::Sequential`] for
    /// the paper's eq. 21 (§VI: "the prices are sequentially updated"), and
    /// [`UpdateOrder::Simultaneous`] for the secant and Steffensen rules (ours, not the
    /// paper's; Steffensen's extrapolation is exact for the Jacobi iteration: the
    /// errors of all entries shrink by the same factor per round).
    pub fn default_order(self) -> UpdateOrder {
        match self {
            PriceUpdate::Paper { .. } => UpdateOrder::Sequential,
            PriceUpdate::Secant | PriceUpdate::Steffensen => UpdateOrder::Simultaneous,
        }
    }
}

/// The starting prices.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub enum InitialPrices {
    /// `B / Σ_{k,t} G_k(t)` everywhere (the uniform price that would spend every budget).
    #[default]
    Auto,
    /// The same price everywhere.
    Uniform(f64),
    /// Given prices `[k][t]`.
    Given(Vec<Vec<f64>>),
}

/// Settings of the simulation, with defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistributedSettings {
    /// The price update.
    pub update: PriceUpdate,
    /// The order of the companies' updates within a round; `None`: the rule's own
    /// ([`PriceUpdate::default_order`]: sequential for the paper's eq. 21).
    pub order: Option<UpdateOrder>,
    /// Starting prices.
    pub initial: InitialPrices,
    /// Most rounds.
    pub max_rounds: usize,
    /// Converged when `max |D_k(t) − G_k(t)| / G_k(t) ≤ tolerance`.
    pub tolerance: f64,
    /// Diverged when the mismatch exceeds this factor times the first round's (or 1).
    pub divergence_factor: f64,
    /// Keep every round's prices in the trace that [`DistributedPricing::executor`] collects
    /// (it attaches the recorder [`DistributedPricing::with_prices`]; the stepper itself has
    /// no trace switch).
    pub record_prices: bool,
}

impl Default for DistributedSettings {
    fn default() -> Self {
        Self {
            update: PriceUpdate::Paper { delta: 0.0 },
            order: None,
            initial: InitialPrices::Auto,
            max_rounds: 1000,
            tolerance: 1e-9,
            divergence_factor: 1e6,
            record_prices: false,
        }
    }
}

impl DistributedSettings {
    /// The order the run uses: [`DistributedSettings::order`], else the rule's default.
    pub fn effective_order(&self) -> UpdateOrder {
        self.order.unwrap_or_else(|| self.update.default_order())
    }
}

/// One round of the trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Round {
    /// Round number (0 = the starting prices).
    pub round: usize,
    /// `max |D_k(t) − G_k(t)| / G_k(t)` at this round's prices.
    pub mismatch: f64,
    /// This round's prices `[k][t]` (when recorded).
    pub prices: Option<Vec<Vec<f64>>>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistributedRun {
    /// Final prices `[k][t]`.
    pub prices: Vec<Vec<f64>>,
    /// Rounds taken (price announcements after the first).
    pub rounds: usize,
    /// Why it stopped: `Converged` (supply met demand within the tolerance), `MaxRounds`,
    /// `NonPositivePrice { entry }` (an update produced a non-positive price at the flat
    /// entry `k·T + t`, the failure mode Theorem 4 excludes; see
    /// [`DistributedRun::non_positive_entry`]), `Diverged` (the mismatch grew beyond
    /// `divergence_factor` times its start, or became non-finite), or `Stopped` by an
    /// observer.
    pub termination: Termination,
    /// Per-round trace (every round for [`DistributedPricing::run`]).
    pub trace: Vec<Round>,
    /// Name of the price rule.
    pub rule: String,
    /// The order the companies updated in.
    pub order: UpdateOrder,
    /// Periods `T` of the market (to name the company and period of a flat entry).
    #[serde(skip)]
    pub periods: usize,
}

impl DistributedRun {
    /// `(company, period)` of the entry whose price an update made non-positive, when the
    /// run ended that way.
    pub fn non_positive_entry(&self) -> Option<(usize, usize)> {
        match self.termination {
            Termination::NonPositivePrice { entry } if self.periods > 0 => {
                Some((entry / self.periods, entry % self.periods))
            }
            _ => None,
        }
    }
}

impl From<Run<DistributedPricing<'_>>> for DistributedRun {
    /// The outcome of an executor run; the prices are those the last round measured.
    fn from(run: Run<DistributedPricing<'_>>) -> Self {
        let sim = run.stepper;
        let rule = sim.rules.first().map_or("none", |r| r.name()).to_string();
        DistributedRun {
            prices: to_table(&sim.prices, sim.market.periods()),
            rounds: sim.round,
            termination: run.termination,
            trace: run.trace.unwrap_or_default(),
            rule,
            order: sim.settings.effective_order(),
            periods: sim.market.periods(),
        }
    }
}

/// The paper's update (eq. 21) as a [`PriceRule`]: `p ← p − mismatch / ε`,
/// `ε = (G + Z)/p + δ`, with `mismatch = G − D` (excess supply).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperRule {
    /// Supply `G_k(t)`.
    pub supply: f64,
    /// `Z` (per entry).
    pub zeta_total: f64,
    /// `δ`.
    pub delta: f64,
}

impl PriceRule for PaperRule {
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        let eps = (self.supply + self.zeta_total) / price + self.delta;
        price - mismatch / eps
    }
    fn name(&self) -> &'static str {
        "paper"
    }
}

/// A secant on the entry's own (price, mismatch) history, safeguarded by eq. 21 (`δ = 0`)
/// and limited to a factor 4 per round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecantRule {
    /// The fallback (eq. 21).
    pub paper: PaperRule,
    previous: Option<(f64, f64)>,
}

impl SecantRule {
    /// A secant rule for an entry with supply `G` and `Z`.
    pub fn new(supply: f64, zeta_total: f64) -> Self {
        Self {
            paper: PaperRule {
                supply,
                zeta_total,
                delta: 0.0,
            },
            previous: None,
        }
    }
}

impl PriceRule for SecantRule {
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        let fallback = self.paper.next_price(price, mismatch);
        let cand = match self.previous {
            Some((p0, m0)) if p0 != price && m0 != mismatch => {
                // Excess supply increases with the own price: the slope must be positive.
                let slope = (mismatch - m0) / (price - p0);
                if slope > 0.0 && slope.is_finite() {
                    price - mismatch / slope
                } else {
                    fallback
                }
            }
            _ => fallback,
        };
        self.previous = Some((price, mismatch));
        if cand.is_finite() {
            cand.clamp(0.25 * price, 4.0 * price)
        } else {
            fallback
        }
    }
    fn reset(&mut self) {
        self.previous = None;
    }
    fn name(&self) -> &'static str {
        "secant"
    }
}

/// Steffensen's method on the paper's update (eq. 21, `δ = 0`), per entry: from a start
/// `x_0`, three plain steps give `x_1, x_2, x_3`; the next price is Aitken's
/// `x_1 − (x_2 − x_1)² / (x_3 − 2 x_2 + x_1)`, and the cycle restarts there.
///
/// In the interior case eq. 21 maps every price to `c_j (B + Z Σ p)`, so from `x_1` on the
/// errors of all entries shrink by the same factor `Z H` per round (the rank-one structure of
/// system (13)) and the extrapolation is exact; it uses only the entry's own observations.
/// Safeguards: a positive extrapolation within a factor 4 of `x_3`, else the plain step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteffensenRule {
    /// The plain step (eq. 21).
    pub paper: PaperRule,
    history: [f64; 2],
    phase: u8,
}

impl SteffensenRule {
    /// A Steffensen rule for an entry with supply `G` and `Z`.
    pub fn new(supply: f64, zeta_total: f64) -> Self {
        Self {
            paper: PaperRule {
                supply,
                zeta_total,
                delta: 0.0,
            },
            history: [0.0; 2],
            phase: 0,
        }
    }
}

impl PriceRule for SteffensenRule {
    fn next_price(&mut self, price: f64, mismatch: f64) -> f64 {
        let plain = self.paper.next_price(price, mismatch);
        match self.phase {
            0 => {
                self.phase = 1;
                plain
            }
            1 | 2 => {
                self.history[(self.phase - 1) as usize] = price;
                self.phase += 1;
                plain
            }
            _ => {
                self.phase = 0;
                let [x1, x2] = self.history;
                let x3 = price;
                let den = x3 - 2.0 * x2 + x1;
                let cand = x1 - (x2 - x1) * (x2 - x1) / den;
                if den != 0.0 && cand.is_finite() && cand >= 0.25 * x3 && cand <= 4.0 * x3 {
                    cand
                } else {
                    plain
                }
            }
        }
    }
    fn reset(&mut self) {
        self.phase = 0;
    }
    fn name(&self) -> &'static str {
        "steffensen"
    }
}

/// The simulation as a stepper: one round per [`DistributedPricing::step`].
pub struct DistributedPricing<'a> {
    market: &'a Market,
    /// General consumers (§IX-A, §III) answering instead of the paper's log consumers.
    general: Option<&'a crate::general::GeneralMarket>,
    settings: DistributedSettings,
    rules: Vec<Box<dyn PriceRule>>,
    prices: Vec<f64>,
    round: usize,
    first_mismatch: Option<f64>,
    /// The demand observed in the last round, whose update is applied at the next step.
    pending: Option<Vec<f64>>,
}

impl<'a> DistributedPricing<'a> {
    /// Starts a run. Errors: non-finite `δ`, non-positive tolerance or starting prices
    /// (named), wrong shape of given prices.
    pub fn new(
        market: &'a Market,
        settings: &DistributedSettings,
    ) -> Result<Self, StackelbergError> {
        check_positive(|| "settings.tolerance".into(), settings.tolerance)?;
        check_positive(
            || "settings.divergence_factor".into(),
            settings.divergence_factor,
        )?;
        let n = market.entries();
        let g = market.supply();
        let z = market.zeta_entry();
        let rules: Vec<Box<dyn PriceRule>> = match settings.update {
            PriceUpdate::Paper { delta } => {
                dr_convex::check_finite(|| "simulation.delta".into(), delta)?;
                (0..n)
                    .map(|j| {
                        Box::new(PaperRule {
                            supply: g[j],
                            zeta_total: z[j],
                            delta,
                        }) as Box<dyn PriceRule>
                    })
                    .collect()
            }
            PriceUpdate::Secant => (0..n)
                .map(|j| Box::new(SecantRule::new(g[j], z[j])) as Box<dyn PriceRule>)
                .collect(),
            PriceUpdate::Steffensen => (0..n)
                .map(|j| Box::new(SteffensenRule::new(g[j], z[j])) as Box<dyn PriceRule>)
                .collect(),
        };
        let prices = match &settings.initial {
            InitialPrices::Auto => {
                let total: f64 = g.iter().sum();
                vec![market.budget_total() / total; n]
            }
            InitialPrices::Uniform(p) => {
                check_positive(|| "simulation.initial_price".into(), *p)?;
                vec![*p; n]
            }
            InitialPrices::Given(table) => crate::equilibrium::flatten_prices(market, table)?,
        };
        // Remark 3: a company never announces a price outside its bounds, the first one
        // included (a start above p_max would otherwise be taken for a capped price).
        let prices = prices
            .into_iter()
            .enumerate()
            .map(|(j, p)| {
                let (lo, hi) = market.price_bounds(j);
                p.max(lo).min(hi)
            })
            .collect();
        Ok(Self {
            market,
            general: None,
            settings: settings.clone(),
            rules,
            prices,
            round: 0,
            first_mismatch: None,
            pending: None,
        })
    }

    /// Starts a run of eq. 21 (or the chosen rule) with general consumers (§IX-A, §III):
    /// each round every class answers with its numerical best response
    /// ([`crate::general_best_response`]). Theorem 4's convergence guarantee is for the
    /// paper's log consumers only; here convergence is only observed, never assumed.
    ///
    /// Errors: as [`DistributedPricing::new`].
    pub fn new_general(
        market: &'a crate::general::GeneralMarket,
        settings: &DistributedSettings,
    ) -> Result<Self, StackelbergError> {
        let mut s = Self::new(market.base(), settings)?;
        s.general = Some(market);
        Ok(s)
    }

    /// The aggregate demand at `prices` (`NaN` everywhere if a best response fails, which
    /// ends the run as diverged).
    fn demand(&self, prices: &[f64]) -> Vec<f64> {
        match self.general {
            None => aggregate_demand(self.market, prices),
            Some(g) => g
                .aggregate_demand(prices)
                .unwrap_or_else(|_| vec![f64::NAN; prices.len()]),
        }
    }

    /// Current prices (flat).
    pub fn prices(&self) -> &[f64] {
        &self.prices
    }

    /// Price updates applied so far.
    pub fn rounds(&self) -> usize {
        self.round
    }

    /// `round` completed with the prices `[k][t]` it measured: a trace recorder for
    /// [`Executor::trace_with`].
    pub fn with_prices(&self, round: &Round) -> Round {
        Round {
            prices: Some(to_table(&self.prices, self.market.periods())),
            ..round.clone()
        }
    }

    /// The kernel executor for this run: `max_rounds` updates (so `max_rounds + 1`
    /// measured rounds, the start included) and a trace of every round (with its prices
    /// when `record_prices`). Add observers before [`Executor::run`]; convert its [`Run`]
    /// with `DistributedRun::from`.
    pub fn executor<'o>(self) -> Executor<'o, Self> {
        let limit = self.settings.max_rounds.saturating_add(1);
        let record = self.settings.record_prices;
        let exec = Executor::new(self).max_rounds(limit);
        if record {
            exec.trace_with(TraceMode::Always, |s, r| s.with_prices(r))
        } else {
            exec.trace(TraceMode::Always)
        }
    }

    /// Runs to termination with [`DistributedPricing::executor`].
    pub fn run(self) -> DistributedRun {
        self.executor().run().into()
    }

    /// Applies the companies' update (eq. 21 or the chosen rule, clipped to the bounds of
    /// Remark 3) in the settings' [`UpdateOrder`], from `demand` observed at the current
    /// prices; with [`UpdateOrder::Sequential`] the consumers answer again after each
    /// company's announcement. A NaN or non-positive price ends the run.
    fn update(&mut self, demand: &[f64]) -> Result<(), Termination> {
        let n = self.market.supply().len();
        match self.settings.effective_order() {
            UpdateOrder::Simultaneous => self.update_entries(0..n, demand)?,
            UpdateOrder::Sequential => {
                let t_n = self.market.periods();
                let k_n = self.market.companies().len();
                self.update_entries(0..t_n, demand)?;
                for k in 1..k_n {
                    // The consumers' answer to the prices announced so far this round.
                    let latest = self.demand(&self.prices);
                    self.update_entries(k * t_n..(k + 1) * t_n, &latest)?;
                }
            }
        }
        self.round += 1;
        Ok(())
    }

    /// Eq. 21 (or the chosen rule) on the flat entries `entries`, from `demand`.
    fn update_entries(
        &mut self,
        entries: std::ops::Range<usize>,
        demand: &[f64],
    ) -> Result<(), Termination> {
        let g = self.market.supply();
        for j in entries {
            let (lo, hi) = self.market.price_bounds(j);
            // Remark 3: the update is clipped to [p_min, p_max].
            let next = self.rules[j].next_price(self.prices[j], g[j] - demand[j]);
            let next = if next.is_nan() {
                next
            } else {
                next.max(lo).min(hi)
            };
            if next.is_nan() {
                return Err(Termination::Diverged);
            }
            if next <= 0.0 {
                return Err(Termination::NonPositivePrice { entry: j });
            }
            self.prices[j] = next;
        }
        Ok(())
    }
}

impl Stepper for DistributedPricing<'_> {
    type Round = Round;

    /// One round: the companies apply the update decided from the last round (none before
    /// round 0), consumers respond to the prices, companies observe their aggregate demand.
    /// Ends the run as `Converged` (mismatch ≤ tolerance) or `Diverged` (non-finite, or
    /// above `divergence_factor ×` the first round's, at least 1) with this round, or,
    /// before measuring, as `NonPositivePrice` / `Diverged` when the update fails.
    fn step(&mut self) -> Step<Round> {
        if let Some(demand) = self.pending.take() {
            if let Err(t) = self.update(&demand) {
                return Step::Halt(t);
            }
        }
        let g = self.market.supply();
        let demand = self.demand(&self.prices);
        // Remark 3: a price at its cap with demand above supply (rationed), or at its floor
        // with demand below supply (unsold), is where it belongs: only the wrong-sign part of
        // the excess counts there.
        let market = self.market;
        let prices = &self.prices;
        let mismatch = (0..g.len())
            .map(|j| {
                let (lo, hi) = market.price_bounds(j);
                let excess = (demand[j] - g[j]) / g[j];
                if prices[j] >= hi {
                    (-excess).max(0.0)
                } else if lo > 0.0 && prices[j] <= lo {
                    excess.max(0.0)
                } else {
                    excess.abs()
                }
            })
            .fold(
                0.0_f64,
                |m, x| if x.is_nan() { f64::INFINITY } else { m.max(x) },
            );
        let round = Round {
            round: self.round,
            mismatch,
            prices: None,
        };
        let first = *self.first_mismatch.get_or_insert(mismatch);
        if mismatch <= self.settings.tolerance {
            Step::Last(round, Termination::Converged)
        } else if !mismatch.is_finite()
            || mismatch > self.settings.divergence_factor * first.max(1.0)
        {
            Step::Last(round, Termination::Diverged)
        } else {
            self.pending = Some(demand);
            Step::Next(round)
        }
    }
}

/// Runs the distributed algorithm to termination (see [`DistributedPricing`]).
pub fn simulate(
    market: &Market,
    settings: &DistributedSettings,
) -> Result<DistributedRun, StackelbergError> {
    Ok(DistributedPricing::new(market, settings)?.run())
}
