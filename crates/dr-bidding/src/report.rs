//! Typed reports of a solved bidding market (what `dr solve` prints), and its per-customer
//! table as CSV.
//!
//! [`SolveReport`] is one value with two renderings: `dr solve --json` streams it with serde
//! (the per-customer loads and bids are the equilibria's own `Vec<f64>` columns, moved in,
//! never copied), and the text report is formatted from the same fields. It holds both
//! equilibria of li-chen-dahleh-2015 (competitive, Theorems 1–2; Nash, Theorems 3–4) with
//! their KKT certificates, the efficiency loss of Theorem 5 / Corollary 4, summaries of the
//! population, and for small markets a per-customer listing. It is `Deserialize`, so a
//! report written by `dr solve --json` can be read back into the same type.
//!
//! [`write_customers_csv`] writes one row per customer (index, cost, loads and bids of both
//! equilibria) to any writer, formatting chunks of rows in parallel and writing them in
//! order: the bytes do not depend on the number of threads.

use crate::efficiency::{efficiency, Efficiency};
use crate::equilibrium::{competitive_solve, nash_solve, Equilibrium, Solved, WaterFilling};
use crate::error::BiddingError;
use crate::market::{Costs, Direction, Market};
use dr_convex::parallel::{chunked_reduce, deterministic_sum, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{AllocatorSettings, Claim};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Markets with at most this many customers get a per-customer [`SolveReport::listing`].
pub const LIST_LIMIT: usize = 50;

/// Markets with more customers leave the net revenues out of the report (loads and bids
/// stay): 16 bytes a customer less at national scale.
pub const REVENUE_LIMIT: usize = 100_000;

/// Number of customers in [`PopulationSummary::cheapest`].
pub const CHEAPEST: usize = 5;

/// Largest relative unilateral gain (eq. 13) accepted at a computed Nash equilibrium in
/// [`SolveReport::claims`].
pub const GAIN_TOLERANCE: f64 = 1e-9;

pub use dr_convex::CertificateReport;

/// One equilibrium of the market as reported: price, totals, the water-filling structure
/// (Theorems 2, 4), the certificate, and the per-customer columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquilibriumReport {
    /// Market-clearing price (`p̄` or `p*`; li-chen-dahleh-2015 eq. 4), the multiplier of
    /// `Σ q_i = d`, in money per unit of load.
    pub price: f64,
    /// Total cost `Σ_i C_i(q_i)` (`C̄` or `C*` of Theorem 5), in money.
    pub total_cost: f64,
    /// What the utility pays, `p d`, in money.
    pub total_payment: f64,
    /// `Σ_i b_i = d / p`, in load per unit of price.
    pub total_bid: f64,
    /// Number of active customers (`q_i > 0`), `n̄` or `n*`.
    pub active: usize,
    /// Active customers at their capacity.
    pub at_capacity: usize,
    /// The largest load `max_i q_i`, in load units.
    pub max_load: f64,
    /// Theorem 2 / 4 water-filling check.
    pub water_filling: WaterFilling,
    /// For the Nash equilibrium: the largest relative gain any customer could get by
    /// deviating alone (eq. 13; [`crate::nash_gain`]). Absent for the competitive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_relative_gain: Option<f64>,
    /// KKT certificate of the allocation problem (Theorem 1 or 3).
    pub certificate: CertificateReport,
    /// Loads `q_i`, in load units, customer by customer.
    pub loads: Vec<f64>,
    /// Bids `b_i = q_i / p` (supply functions `q_i = b_i p`, eq. 2).
    pub bids: Vec<f64>,
    /// Net revenues `p q_i − C_i(q_i)` in money (Corollaries 1, 3); absent above
    /// [`crate::REVENUE_LIMIT`] customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_revenues: Option<Vec<f64>>,
}

impl EquilibriumReport {
    /// The report of `eq`, moving its columns in (no copy); the net revenues are dropped
    /// above `revenue_limit` customers.
    pub fn new(eq: Equilibrium, revenue_limit: usize) -> EquilibriumReport {
        let max_load = eq.max_load();
        Self::with_max_load(eq, revenue_limit, max_load)
    }

    /// [`EquilibriumReport::new`] with `max_i q_i` already known (from the solve's final
    /// pass).
    fn with_max_load(eq: Equilibrium, revenue_limit: usize, max_load: f64) -> EquilibriumReport {
        let n = eq.len();
        EquilibriumReport {
            price: eq.price,
            total_cost: eq.total_cost,
            total_payment: eq.total_payment,
            total_bid: eq.total_bid,
            active: eq.water_filling.active,
            at_capacity: eq.water_filling.at_capacity,
            max_load,
            water_filling: eq.water_filling,
            max_relative_gain: eq.max_relative_gain,
            certificate: eq.certificate.into(),
            loads: eq.loads,
            bids: eq.bids,
            net_revenues: (n <= revenue_limit).then_some(eq.net_revenues),
        }
    }
}

/// Why a market has no Nash equilibrium (li-chen-dahleh-2015 Corollary 2: fewer than three
/// customers able to shed; Lemma 3: capacities that cannot cover `d` below `d/2` each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoNashEquilibrium {
    /// The reason, as the error message says it.
    pub error: String,
    /// Always `"no_nash_equilibrium"`.
    pub kind: String,
    /// The field of the scenario that rules it out (`customers`, `population.capacity`, …).
    pub field: String,
}

/// The Nash equilibrium, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NashReport {
    /// Theorems 3–4.
    Solved(Box<EquilibriumReport>),
    /// Corollary 2 or Lemma 3 rules it out.
    None(NoNashEquilibrium),
}

impl NashReport {
    /// The equilibrium, when there is one.
    pub fn equilibrium(&self) -> Option<&EquilibriumReport> {
        match self {
            NashReport::Solved(eq) => Some(eq),
            NashReport::None(_) => None,
        }
    }
}

/// Theorem 5 / Corollary 4, or why they are not evaluated (no Nash equilibrium).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EfficiencyReport {
    /// Evaluated on the two equilibria.
    Evaluated(Efficiency),
    /// Not evaluated.
    Undefined {
        /// Why (`no Nash equilibrium: …`).
        error: String,
    },
}

impl EfficiencyReport {
    /// The efficiency report, when both equilibria exist.
    pub fn evaluated(&self) -> Option<&Efficiency> {
        match self {
            EfficiencyReport::Evaluated(e) => Some(e),
            EfficiencyReport::Undefined { .. } => None,
        }
    }
}

/// Smallest, mean and largest value of a per-customer column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColumnSummary {
    /// `min_i v_i`.
    pub min: f64,
    /// `Σ_i v_i / n` (deterministic chunked sum).
    pub mean: f64,
    /// `max_i v_i`.
    pub max: f64,
}

impl ColumnSummary {
    /// The summary of `v` (one deterministic parallel pass).
    pub fn of(v: &[f64]) -> ColumnSummary {
        let (lo, hi) = chunked_reduce(
            v.len(),
            DEFAULT_PARALLEL_THRESHOLD,
            (f64::INFINITY, f64::NEG_INFINITY),
            |r| {
                v[r].iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                        (lo.min(x), hi.max(x))
                    })
            },
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        );
        let sum = deterministic_sum(v.len(), DEFAULT_PARALLEL_THRESHOLD, |i| v[i]);
        ColumnSummary {
            min: lo,
            mean: sum / v.len().max(1) as f64,
            max: hi,
        }
    }
}

/// One of the customers with the lowest base marginal cost `C_i'(0)` (the first to shed in
/// the water-filling of Theorems 2 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CheapCustomer {
    /// Customer index (from 0, as in the columns).
    pub index: usize,
    /// `C_i'(0)`, money per unit of load.
    pub base_marginal_cost: f64,
    /// `q̄_i`.
    pub competitive_load: f64,
    /// `b̄_i`.
    pub competitive_bid: f64,
    /// `q*_i` (absent without a Nash equilibrium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_load: Option<f64>,
    /// `b*_i`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_bid: Option<f64>,
}

/// Summaries of the per-customer columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSummary {
    /// Competitive loads `q̄_i`.
    pub competitive_loads: ColumnSummary,
    /// Competitive bids `b̄_i`.
    pub competitive_bids: ColumnSummary,
    /// Nash loads `q*_i` (absent without a Nash equilibrium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_loads: Option<ColumnSummary>,
    /// Nash bids `b*_i`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_bids: Option<ColumnSummary>,
    /// The [`crate::CHEAPEST`] customers with the lowest `C_i'(0)` (ties by index), in that order.
    pub cheapest: Vec<CheapCustomer>,
}

/// One row of the per-customer listing of a small market.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CustomerRow {
    /// Customer index (from 0).
    pub index: usize,
    /// `a_i` of `C_i(q) = a_i q + h_i q²` (absent for general costs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<f64>,
    /// `h_i` (absent for general costs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quadratic: Option<f64>,
    /// `C_i'(0)`.
    pub base_marginal_cost: f64,
    /// `q^max_i` (absent without capacities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
    /// `q̄_i`.
    pub competitive_load: f64,
    /// `b̄_i`.
    pub competitive_bid: f64,
    /// `p̄ q̄_i − C_i(q̄_i)`.
    pub competitive_net_revenue: f64,
    /// `q*_i` (absent without a Nash equilibrium).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_load: Option<f64>,
    /// `b*_i`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_bid: Option<f64>,
    /// `p* q*_i − C_i(q*_i)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nash_net_revenue: Option<f64>,
}

/// The report of `dr solve` on a bidding market: both equilibria of li-chen-dahleh-2015
/// (Theorems 1 and 3), the efficiency loss (Theorem 5, Corollary 4), population summaries,
/// and a per-customer listing for small markets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// Always `"bidding"`.
    pub model: String,
    /// The scenario's name (file path).
    pub file: String,
    /// What was solved, in words.
    pub solved: String,
    /// Deficit (shed) or surplus (absorb).
    pub direction: Direction,
    /// The amount matched, `d > 0`, in load units.
    pub deficit: f64,
    /// Number of customers `n`.
    pub customers: usize,
    /// Whether the market has capacities `q ≤ q^max_i`.
    pub has_capacities: bool,
    /// Theorems 1–2.
    pub competitive: EquilibriumReport,
    /// Theorems 3–4, or why there is no Nash equilibrium.
    pub nash: NashReport,
    /// Theorem 5 / Corollary 4.
    pub efficiency: EfficiencyReport,
    /// Summaries of the columns and the cheapest customers.
    pub population: PopulationSummary,
    /// Every customer in water-filling order (by `C_i'(0)`, ties by index), for markets of
    /// at most [`crate::LIST_LIMIT`] customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<Vec<CustomerRow>>,
    /// The paper's statements checked on this market, each with its verdict and evidence:
    /// the water-filling prefix (Theorems 2, 4), no gain from a unilateral deviation at the
    /// Nash bids (eq. 13, at most [`crate::GAIN_TOLERANCE`]), and Theorem 5.1–5.3.
    pub claims: Vec<Claim>,
}

/// The claims of a report (see [`SolveReport::claims`]).
fn claims(
    ce: &EquilibriumReport,
    ne: Option<&EquilibriumReport>,
    eff: Option<&Efficiency>,
) -> Vec<Claim> {
    let prefix = |name: &str, theorem: &str, eq: &EquilibriumReport| {
        let wf = &eq.water_filling;
        Claim::new(
            format!("{name} water-filling prefix ({theorem})"),
            wf.prefix,
            format!(
                "largest C_i'(0) of an active customer {:?} <= price {} <= smallest C_i'(0) \
                 of an inactive one {:?} (relative slack 1e-9)",
                wf.highest_active_base_cost, eq.price, wf.lowest_inactive_base_cost
            ),
        )
    };
    let mut out = vec![prefix("competitive", "Theorem 2", ce)];
    if let Some(ne) = ne {
        out.push(prefix("Nash", "Theorem 4", ne));
        if let Some(g) = ne.max_relative_gain {
            out.push(Claim::new(
                "no customer gains by deviating from the Nash bids (eq. 13)",
                g <= GAIN_TOLERANCE,
                format!("largest relative gain {g:.3e} <= {GAIN_TOLERANCE:e}"),
            ));
        }
    }
    if let Some(e) = eff {
        out.push(Claim::new(
            "p*/p̄ bounds (Theorem 5.2)",
            e.price_bounds_hold,
            format!(
                "1 <= p*/p̄ = {} <= ((n-1)/(n-2)) M/m = {}",
                e.price_ratio, e.price_ratio_bound
            ),
        ));
        out.push(Claim::new(
            "C*/C̄ bounds (Theorem 5.3)",
            e.cost_bounds_hold,
            match e.cost_ratio_bound {
                Some(b) => format!(
                    "1 <= C*/C̄ = {} <= 1 + q̄_max/(d - 2 q̄_max) = {b}",
                    e.cost_ratio
                ),
                None => format!(
                    "1 <= C*/C̄ = {} (q̄_max >= d/2: no upper bound)",
                    e.cost_ratio
                ),
            },
        ));
        out.push(Claim::new(
            "N̄ ⊆ N* (Theorem 5.1)",
            e.active_sets_nested,
            format!(
                "{} competitively active customers, {} active at the Nash equilibrium",
                ce.active,
                ne.map_or(0, |n| n.active)
            ),
        ));
    }
    out
}

/// What a [`SolveReport`] is built with.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// The scenario's name, copied to [`SolveReport::file`].
    pub file: String,
    /// The capacity field as the scenario wrote it (`population.capacity`,
    /// `customers[].capacity`), named when capacities rule out a Nash equilibrium.
    pub capacity_field: String,
    /// Kernel settings of both solves.
    pub settings: AllocatorSettings,
    /// See [`crate::LIST_LIMIT`].
    pub list_limit: usize,
    /// See [`crate::REVENUE_LIMIT`].
    pub revenue_limit: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            file: String::new(),
            capacity_field: "capacity".into(),
            settings: AllocatorSettings::default(),
            list_limit: LIST_LIMIT,
            revenue_limit: REVENUE_LIMIT,
        }
    }
}

/// Solves both equilibria of `market` and builds the [`SolveReport`]. Without a Nash
/// equilibrium (Corollary 2, Lemma 3) the report says why, and the efficiency report is
/// undefined; other failures are errors.
///
/// Memory: the market's coefficients, the competitive loads and bids, and the Nash loads
/// and bids, plus both equilibria's net revenues up to [`ReportOptions::revenue_limit`]
/// customers (above it they are neither computed nor allocated; see
/// [`crate::BiddingScenario::memory_estimate`]).
///
/// Passes over the population: each equilibrium's kernel passes (bracket, a few Newton
/// evaluations, the final pass with its KKT residuals), one pass for bids, totals, the
/// water-filling check and the column summaries together, the unilateral-gain pass at the
/// Nash bids, the efficiency pass and the cheapest-customers pass; every one chunked and
/// combined in chunk order (bit-identical for any number of threads).
///
/// ```
/// use dr_bidding::{solve_report, Market, ReportOptions};
/// let m = Market::quadratic(vec![1.0, 1.2, 1.5, 2.0], vec![0.5, 1.0, 2.0, 4.0], 10.0)?;
/// let r = solve_report(&m, &ReportOptions::default())?;
/// let ne = r.nash.equilibrium().expect("four customers have a Nash equilibrium");
/// assert!(ne.price > r.competitive.price); // Theorem 5.2
/// assert_eq!(r.listing.as_ref().map(Vec::len), Some(4));
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
pub fn solve_report(market: &Market, opts: &ReportOptions) -> Result<SolveReport, BiddingError> {
    let n = market.len();
    // Net revenues only where the report keeps them (not computed, not allocated above
    // the limit).
    let revenues = n <= opts.revenue_limit;
    let ce = competitive_solve(market, &opts.settings, revenues)?;
    let ne = match nash_solve(market, &opts.settings, revenues, Some(ce.eq.price)) {
        Ok(eq) => Ok(eq),
        Err(e @ BiddingError::NashNeedsThreeSuppliers { .. }) => Err(e),
        Err(BiddingError::NashCapacity { deficit, max, .. }) => Err(BiddingError::NashCapacity {
            field: opts.capacity_field.clone(),
            deficit,
            max,
        }),
        Err(e) => return Err(e),
    };
    // max_i q_i (loads are non-negative; 0 for an empty column as `Equilibrium::max_load`).
    let max_load = |s: &Solved| s.loads.max.max(0.0);
    let (efficiency, nash, nash_columns) = match ne {
        Ok(ne) => {
            let eff = efficiency(market, &ce.eq, &ne.eq)?;
            let columns = (ne.loads, ne.bids);
            let max = max_load(&ne);
            (
                EfficiencyReport::Evaluated(eff),
                NashReport::Solved(Box::new(EquilibriumReport::with_max_load(
                    ne.eq,
                    opts.revenue_limit,
                    max,
                ))),
                Some(columns),
            )
        }
        Err(e) => (
            EfficiencyReport::Undefined {
                error: format!("no Nash equilibrium: {e}"),
            },
            NashReport::None(NoNashEquilibrium {
                error: e.to_string(),
                kind: "no_nash_equilibrium".into(),
                field: e.field(),
            }),
            None,
        ),
    };
    let (ce_loads, ce_bids) = (ce.loads, ce.bids);
    let max = max_load(&ce);
    let competitive = EquilibriumReport::with_max_load(ce.eq, opts.revenue_limit, max);
    let ne = nash.equilibrium();
    let population = PopulationSummary {
        competitive_loads: ce_loads,
        competitive_bids: ce_bids,
        nash_loads: nash_columns.map(|c| c.0),
        nash_bids: nash_columns.map(|c| c.1),
        cheapest: cheapest(market, CHEAPEST)
            .into_iter()
            .map(|i| CheapCustomer {
                index: i,
                base_marginal_cost: market.base_marginal_cost(i),
                competitive_load: competitive.loads[i],
                competitive_bid: competitive.bids[i],
                nash_load: ne.map(|e| e.loads[i]),
                nash_bid: ne.map(|e| e.bids[i]),
            })
            .collect(),
    };
    let listing = (n <= opts.list_limit).then(|| listing(market, &competitive, ne));
    let claims = claims(&competitive, ne, efficiency.evaluated());
    Ok(SolveReport {
        model: "bidding".into(),
        file: opts.file.clone(),
        solved: "competitive (Theorem 1) and Nash (Theorem 3) equilibria of supply-function \
                 bidding (li-chen-dahleh-2015)"
            .into(),
        direction: market.direction(),
        deficit: market.deficit(),
        customers: n,
        has_capacities: market.capacities().is_some(),
        competitive,
        nash,
        efficiency,
        population,
        listing,
        claims,
    })
}

/// Every customer in water-filling order (a small market).
fn listing(
    market: &Market,
    ce: &EquilibriumReport,
    ne: Option<&EquilibriumReport>,
) -> Vec<CustomerRow> {
    let revenue = |eq: &EquilibriumReport, i: usize| match &eq.net_revenues {
        Some(r) => r[i],
        None => eq.price * eq.loads[i] - market.cost(i, eq.loads[i]),
    };
    market
        .water_filling_order()
        .into_iter()
        .map(|i| {
            let (linear, quadratic) = match market.costs() {
                Costs::Quadratic { linear, quadratic } => (Some(linear[i]), Some(quadratic[i])),
                Costs::General(_) => (None, None),
            };
            CustomerRow {
                index: i,
                linear,
                quadratic,
                base_marginal_cost: market.base_marginal_cost(i),
                capacity: market.capacities().map(|c| c[i]),
                competitive_load: ce.loads[i],
                competitive_bid: ce.bids[i],
                competitive_net_revenue: revenue(ce, i),
                nash_load: ne.map(|e| e.loads[i]),
                nash_bid: ne.map(|e| e.bids[i]),
                nash_net_revenue: ne.map(|e| revenue(e, i)),
            }
        })
        .collect()
}

/// Indices of the `k` customers with the lowest `C_i'(0)` (ties by index), in that order:
/// a top-`k` per chunk, merged in chunk order (no sort of the population; the order is
/// total, so the result does not depend on the chunking or the threads).
pub(crate) fn cheapest(market: &Market, k: usize) -> Vec<usize> {
    let base: Box<dyn Fn(usize) -> f64 + Sync> = match market.costs() {
        Costs::Quadratic { linear, .. } => Box::new(move |i| linear[i]),
        Costs::General(_) => Box::new(|i| market.base_marginal_cost(i)),
    };
    let key = |i: usize| (base(i), i);
    let before = |i: usize, j: usize| {
        let (a, b) = (key(i), key(j));
        a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
    };
    let insert = |best: &mut Vec<usize>, i: usize| {
        // Most customers are not among the k cheapest: one comparison with the last.
        if best.len() == k && best.last().is_some_and(|&j| before(j, i)) {
            return;
        }
        let pos = best.partition_point(|&j| before(j, i));
        if pos < k {
            best.insert(pos, i);
            best.truncate(k);
        }
    };
    chunked_reduce(
        market.len(),
        DEFAULT_PARALLEL_THRESHOLD,
        Vec::new(),
        |r| {
            let mut best = Vec::with_capacity(k + 1);
            let Costs::Quadratic { linear, .. } = market.costs() else {
                for i in r {
                    insert(&mut best, i);
                }
                return best;
            };
            // Blocks of eight whose smallest a_i is not below the k-th best so far are
            // skipped whole: an equal value comes later in index order, so it is not before
            // it either.
            let mut threshold = f64::INFINITY;
            for (b, a8) in linear[r.clone()].chunks(8).enumerate() {
                let low = a8
                    .iter()
                    .fold(f64::INFINITY, |m, &v| if v < m { v } else { m });
                if best.len() == k && low >= threshold {
                    continue;
                }
                let start = r.start + 8 * b;
                for i in start..start + a8.len() {
                    insert(&mut best, i);
                }
                if let (true, Some(&last)) = (best.len() == k, best.last()) {
                    threshold = linear[last];
                }
            }
            best
        },
        |mut a, b| {
            for i in b {
                insert(&mut a, i);
            }
            a
        },
    )
}

/// Rows formatted per parallel task by [`write_customers_csv`].
const CSV_ROWS: usize = 4096;

/// Chunks of rows formatted at once (in parallel) before they are written, so the buffer
/// stays small (`CSV_BATCH × CSV_ROWS` rows).
const CSV_BATCH: usize = 64;

/// The header of the per-customer CSV table of `report` (see [`write_customers_csv`]).
pub fn customers_csv_header(market: &Market, report: &SolveReport) -> Vec<&'static str> {
    let mut h = vec!["index"];
    if market.is_quadratic() {
        h.extend(["linear", "quadratic"]);
    } else {
        h.push("base_marginal_cost");
    }
    if market.capacities().is_some() {
        h.push("capacity");
    }
    h.extend(["competitive_load", "competitive_bid"]);
    if report.nash.equilibrium().is_some() {
        h.extend(["nash_load", "nash_bid"]);
    }
    h
}

/// Writes the rows (no header) of the per-customer table of `report` to `w`: for each
/// customer `i` (from 0), its cost (`a_i, h_i` of `a q + h q²`, or `C_i'(0)` for a general
/// cost), its capacity if any, then `q̄_i, b̄_i` and, with a Nash equilibrium, `q*_i, b*_i`
/// — the columns [`customers_csv_header`] names. Numbers are written in their shortest
/// round-trip form (the same digits as the JSON report), so reading them back gives the
/// same `f64`s. Chunks of rows are formatted in parallel and written in order: the output
/// does not depend on the number of threads.
///
/// Errors: `report` is not a report of `market` (lengths differ, as `InvalidInput`), or the
/// writer fails.
pub fn write_customers_csv(
    market: &Market,
    report: &SolveReport,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let n = market.len();
    let ce = &report.competitive;
    let ne = report.nash.equilibrium();
    if ce.loads.len() != n || ne.is_some_and(|e| e.loads.len() != n) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the report has {} customers, the market {n}",
                ce.loads.len()
            ),
        ));
    }
    let caps = market.capacities();
    let format_rows = |c: usize| -> Vec<u8> {
        let start = c * CSV_ROWS;
        let end = (start + CSV_ROWS).min(n);
        let mut out = Vec::with_capacity((end - start) * 128);
        let mut f = zmij::Buffer::new();
        let mut int = itoa::Buffer::new();
        let mut num = |out: &mut Vec<u8>, v: f64| {
            out.push(b',');
            out.extend_from_slice(f.format(v).as_bytes());
        };
        for i in start..end {
            out.extend_from_slice(int.format(i).as_bytes());
            match market.costs() {
                Costs::Quadratic { linear, quadratic } => {
                    num(&mut out, linear[i]);
                    num(&mut out, quadratic[i]);
                }
                Costs::General(_) => num(&mut out, market.base_marginal_cost(i)),
            }
            if let Some(c) = caps {
                num(&mut out, c[i]);
            }
            num(&mut out, ce.loads[i]);
            num(&mut out, ce.bids[i]);
            if let Some(e) = ne {
                num(&mut out, e.loads[i]);
                num(&mut out, e.bids[i]);
            }
            out.push(b'\n');
        }
        out
    };
    let chunks = n.div_ceil(CSV_ROWS);
    dr_convex::parallel::write_chunks_in_order(
        w,
        chunks,
        CSV_BATCH,
        n >= DEFAULT_PARALLEL_THRESHOLD,
        format_rows,
    )
}
