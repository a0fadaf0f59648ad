//! The supply-function bidding model in `dr` (li-chen-dahleh-2015, "Demand response using
//! linear supply function bidding"; chen-li-low-doyle-2010 §III):
//!
//! - `dr solve FILE`: the competitive equilibrium (Theorems 1–2) and the Nash equilibrium
//!   (Theorems 3–4), each with its price (a multiplier), loads, bids, total cost and KKT
//!   certificate, the largest unilateral gain at the Nash bids, and the efficiency loss of
//!   Theorem 5 / Corollary 4 with its bounds and flags. Small markets list every customer;
//!   large ones (more than [`dr_bidding::LIST_LIMIT`] customers) print summaries, while `--json`
//!   still carries every load and bid, and `--output DIR` writes them to `DIR/customers.csv`.
//!   `--set population.count=N` / `population.seed=S` resize or reseed a drawn population.
//! - `dr simulate FILE [--equilibrium competitive|nash|both] [--rule paper|fast] [--step γ]
//!   [--start-price p0] [--tol ε] [--rounds N]`: the papers' iterative bidding (eqs. 11–12,
//!   26–27) round by round, against the exact equilibrium, with its termination reason
//!   (converged / oscillating / max rounds / stalled / diverged). Flags override the file's
//!   `[simulation]` table; `--step` implies the paper rule. `--set record_bids=K` keeps the
//!   first `K` customers' bids in every round of the JSON trace. `--set trace_bids=K` records
//!   every customer's bid every `K` rounds (and the last) as `bid_trace` (rounds, prices,
//!   `bids[snapshot][customer]`; [`dr_bidding::BidTrace`]), summarised in the text and drawn
//!   as the supply-function panel of li-chen-dahleh-2015 Figs. 1–2 with `--plot DIR`
//!   (`…-bids.svg`, five customers); its memory (snapshots × customers × 40 bytes) is
//!   checked against `--memory-limit` first (exit 1 naming the key and value). With the
//!   paper rule each run reports `critical_step` `2/S'(p)` and `step_above_critical`; above
//!   it, the claim "the fixed step does not converge" is printed and checked (`step_claim`).
//!   Costs in the file may be any of the forms of [`dr_bidding::CostSpec`] (power,
//!   exponential, piecewise linear, the footnote-3 `capacity_penalty`).
//! - `dr study bidding-scenarios` (Figs. 3–6) and `dr study bidding-convergence` (Figs. 1–2,
//!   the conference run, oscillation for a too-large step; each paper run's step against
//!   the critical step `2/S'(p)` as a claim with a verdict, which decides the exit status).
//! - a `dr demo` section on `data/bidding_30.toml`, every printed claim checked.
//!
//! # When no Nash equilibrium exists
//! With fewer than three customers able to shed (Corollary 2: no NE for n = 2), or
//! capacities that cannot cover `d` within `min(q^max_i, d/2)` (Lemma 3), `dr solve` still
//! succeeds (exit 0) and prints the competitive equilibrium; `nash` is then an error object
//! `{"error": "...", "kind": "no_nash_equilibrium", "field": "customers"}` and `efficiency`
//! is `{"error": "..."}` (the text output says the same). `dr simulate --equilibrium nash`
//! on such a market is an error (exit 1).
//!
//! # JSON of `dr simulate`
//! One behaviour: one object with `rounds[]` (price, total bid, supply, mismatch),
//! `termination`, `converged_after` (rounds run when converged, else `null`), the exact
//! equilibrium price and the final bids. Both behaviours (`--equilibrium both`, or a file
//! whose `[simulation]` names no behaviour and no flag): `{"runs": [competitive, nash]}`.

use super::args::{EquilibriumChoice, RuleChoice};
use super::demo::DemoSection;
use super::error::CliError;
use super::models::ModelCommands;
use super::output::{
    certificate_text, check_memory, heading_word, num, CsvTable, Draft, Options, Output, Table,
};
use super::study::Study;
use crate::command::RoundReport;
use demand_response::plot::{BarChart, LineChart, Plot};
use demand_response::scenario::{Format, ModelKind, Scenario};
use dr_bidding::studies::{
    convergence_study, oscillation_study, scenario_sweep, ConvergenceConfig,
};
use dr_bidding::studies::{ConvergenceStudy, OscillationStudy, SweepRow};
use dr_bidding::{
    competitive_equilibrium, critical_step, nash_equilibrium, Behaviour, BiddingError,
    BiddingScenario, BiddingSimulation, Direction, Efficiency, Equilibrium, Market, PriceUpdate,
    SimulationRun, SimulationSettings, Termination, TraceMode,
};
use dr_bidding::{
    customers_csv_header, demo_report, solve_report, write_customers_csv, ColumnSummary,
    CustomerRow, DemoReport, EquilibriumReport, IterativeRun, NashReport, ReportOptions,
    SolveReport, DEMO_TOLERANCE,
};
use dr_bidding::{
    BidRecorder, BidTrace, Claim, ConvergenceStudyReport, CriticalStep, RunReport, SimulatedRun,
    SimulationReport, SweepRowReport, SweepStudyReport, UndefinedRun, STUDY_CHECK_TOLERANCE,
};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// The bidding model's commands, studies and demo section.
pub(crate) const COMMANDS: ModelCommands = ModelCommands {
    solve,
    simulate: Some(simulate),
    verify: Some(super::verify::verify),
    studies: &[
        Study {
            name: "bidding-scenarios",
            model: ModelKind::Bidding,
            summary: "scenarios 1-3, n = 3..99: p*/p̄, C*/C̄, low- and high-cost loads (li-chen-dahleh-2015 Figs. 3-6)",
            run: study_scenarios,
        },
        Study {
            name: "bidding-convergence",
            model: ModelKind::Bidding,
            summary: "iterative bidding, paper step vs fast rule, and oscillation for a too-large step (li-chen-dahleh-2015 Figs. 1-2, chen-li-low-doyle-2010 §V)",
            run: study_convergence,
        },
    ],
    demo: &[DemoSection {
        name: "bidding-30",
        title: "Bidding: competitive and Nash equilibria of 30 customers (data/bidding_30.toml)",
        run: demo_30,
    }],
};

const PAPER: &str = "li-chen-dahleh-2015";

fn model_err(file: &str) -> impl Fn(BiddingError) -> CliError + '_ {
    move |e| CliError::model(file, ModelKind::Bidding, e)
}

/// The typed scenario and its validated market. A file without `deficit` or `surplus` is
/// reported as a missing field (every other field of the schema is optional). The memory
/// the run needs ([`BiddingScenario::memory_estimate`]) is checked against
/// `--memory-limit` before the market is built (a drawn population is allocated there).
fn read_market(s: &Scenario, opts: &Options) -> Result<(BiddingScenario, Market), CliError> {
    let file: BiddingScenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    market_of(s, file)
}

/// The market of a parsed scenario (no memory check: for the demo's fixed 30-customer file).
fn market_of(s: &Scenario, file: BiddingScenario) -> Result<(BiddingScenario, Market), CliError> {
    if file.deficit.is_none() && file.surplus.is_none() {
        return Err(CliError::model(
            s.name(),
            ModelKind::Bidding,
            "missing field `deficit` (or `surplus`): the amount the customers must shed \
             (or absorb), e.g. deficit = 10.0",
        ));
    }
    let market = file.market().map_err(model_err(s.name()))?;
    Ok((file, market))
}

/// The Nash equilibrium, or the reason none exists (Corollary 2, Lemma 3) as `Ok(Err(..))`;
/// other failures are errors.
/// The capacity field as the scenario file writes it (`population.capacity` or
/// `customers[].capacity`), for the Lemma 3 error.
fn nash_or_none(
    market: &Market,
    file: &BiddingScenario,
) -> Result<Result<Equilibrium, BiddingError>, BiddingError> {
    let capacity_field = if file.population.is_some() {
        "population.capacity"
    } else {
        "customers[].capacity"
    };
    match nash_equilibrium(market) {
        Ok(eq) => Ok(Ok(eq)),
        Err(e @ BiddingError::NashNeedsThreeSuppliers { .. }) => Ok(Err(e)),
        Err(BiddingError::NashCapacity { deficit, max, .. }) => {
            Ok(Err(BiddingError::NashCapacity {
                field: capacity_field.into(),
                deficit,
                max,
            }))
        }
        Err(e) => Err(e),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// A ratio near 1 as `1 + 1.7e-6` (six significant digits would print `1`).
fn ratio(r: f64) -> String {
    if r != 1.0 && (r - 1.0).abs() < 1e-4 {
        format!(
            "1 {} {:.2e}",
            if r > 1.0 { '+' } else { '−' },
            (r - 1.0).abs()
        )
    } else {
        num(r)
    }
}

/// Ten significant digits, for numbers that differ only far after the sixth (outside
/// `10^-6 ≤ |v| < 10^9`, shortest round-trip).
fn fine(v: f64) -> String {
    if (1e-6..1e9).contains(&v.abs()) {
        dr_convex::significant(v, 10)
    } else {
        format!("{v}")
    }
}

fn holds(ok: bool) -> &'static str {
    if ok {
        "holds"
    } else {
        "DOES NOT HOLD"
    }
}

fn verb(direction: Direction) -> (&'static str, &'static str) {
    match direction {
        Direction::Deficit => ("shed", "deficit"),
        Direction::Surplus => ("absorb", "surplus"),
    }
}

fn min_mean_max(v: &[f64]) -> (f64, f64, f64) {
    let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &x in v {
        lo = lo.min(x);
        hi = hi.max(x);
        sum += x;
    }
    (lo, sum / v.len().max(1) as f64, hi)
}

// ---------------------------------------------------------------------------------------
// dr solve

/// Theorem 5 / Corollary 4 as text lines.
fn efficiency_text(eff: &Efficiency, n: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Efficiency loss ({PAPER} Theorem 5, Corollary 4):");
    let _ = writeln!(
        s,
        "  p*/p̄ = {}: 1 ≤ p*/p̄ ≤ ((n−1)/(n−2))·M/m = {}: {}\n\
         \x20   (Theorem 5.2; M, m = max, min C_i'(d/n) = {}, {})",
        ratio(eff.price_ratio),
        num(eff.price_ratio_bound),
        holds(eff.price_bounds_hold),
        num(eff.marginal_cost_max),
        num(eff.marginal_cost_min),
    );
    match eff.cost_ratio_bound {
        Some(b) => {
            let _ = writeln!(
                s,
                "  C*/C̄ = {}: 1 ≤ C*/C̄ ≤ 1 + q̄_max/(d − 2 q̄_max) = {}: {}\n\
                 \x20   (Theorem 5.3; q̄_max = {} < d/2)",
                ratio(eff.cost_ratio),
                ratio(b),
                holds(eff.cost_bounds_hold),
                num(eff.max_competitive_load),
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  C*/C̄ = {}: C*/C̄ ≥ 1: {}\n\
                 \x20   (q̄_max = {} ≥ d/2: Theorem 5.3 gives no upper bound)",
                ratio(eff.cost_ratio),
                holds(eff.cost_bounds_hold),
                num(eff.max_competitive_load),
            );
        }
    }
    let _ = writeln!(
        s,
        "  N̄ ⊆ N* (every competitively active customer is active at the NE): {}",
        holds(eff.active_sets_nested)
    );
    if eff.capacities_bind {
        let _ = writeln!(
            s,
            "  note: some customer sheds its full capacity, outside the paper's model; the \
             upper price bound is then not guaranteed"
        );
    }
    match eff.homogeneous_price_ratio {
        Some(r) => {
            let _ = writeln!(
                s,
                "  homogeneous customers (Corollary 4): p*/p̄ = (n−1)/(n−2) = {} for n = {n}, \
                 C* = C̄",
                num(r)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  customers are heterogeneous (Corollary 4 does not apply)"
            );
        }
    }
    s
}

/// A value shared by the JSON body and the CSV tables of one output (serialised as the
/// value itself).
struct Shared<T>(Arc<T>);

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// The `--set` keys of `dr solve` on a bidding scenario: the size and seed of a drawn
/// population, so one file serves every scale.
const SOLVE_KEYS: [&str; 2] = ["population.count", "population.seed"];

/// Applies `--set population.count=N` / `population.seed=S` (a scenario without a
/// `[population]` table has nothing to resize: an error naming the key).
fn apply_population_params(file: &mut BiddingScenario, opts: &Options) -> Result<(), CliError> {
    for key in SOLVE_KEYS {
        let value: Option<u64> = opts.params.get(key)?;
        let Some(value) = value else { continue };
        let Some(p) = file.population.as_mut() else {
            return Err(CliError::BadParameter {
                key: key.into(),
                value: value.to_string(),
                reason: "the scenario has no [population] table (its customers are listed)".into(),
            });
        };
        match key {
            "population.count" => {
                p.count = usize::try_from(value).map_err(|_| CliError::BadParameter {
                    key: key.into(),
                    value: value.to_string(),
                    reason: "too large for this machine's address space".into(),
                })?
            }
            _ => p.seed = value,
        }
    }
    Ok(())
}

/// `dr solve`: both equilibria, the efficiency report and the population summaries as one
/// [`SolveReport`] (built by [`dr_bidding::solve_report`]); the JSON streams it, the text is
/// formatted from it, and `--output DIR` writes `DIR/customers.csv` from the same columns.
fn solve(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("bidding solve", &SOLVE_KEYS)?;
    let mut file: BiddingScenario = s.parse()?;
    apply_population_params(&mut file, opts)?;
    check_memory(opts, s.name(), file.solve_memory_estimate())?;
    let (file, market) = market_of(s, file)?;
    let report = solve_report(
        &market,
        &ReportOptions {
            file: s.name().to_string(),
            capacity_field: capacity_field(&file).into(),
            ..ReportOptions::default()
        },
    )
    .map_err(model_err(s.name()))?;

    // The outcome: both certificates and every claim the report checks (the text prints
    // each of them).
    let mut outcome = super::output::Outcome::default();
    outcome.certificate(
        "competitive equilibrium",
        &report.competitive.certificate.certificate,
    );
    if let Some(eq) = report.nash.equilibrium() {
        outcome.certificate("Nash equilibrium", &eq.certificate.certificate);
    }
    for c in &report.claims {
        outcome.claim(&c.claim, c.holds);
    }

    let text = solve_text(&report);
    let mut plots = Vec::new();
    if opts.wants_plots() {
        plots.push(loads_plot(&report));
    }
    let report = Arc::new(report);
    let market = Arc::new(market);
    let header = customers_csv_header(&market, &report)
        .into_iter()
        .map(String::from)
        .collect();
    let table = {
        let report = Arc::clone(&report);
        CsvTable {
            file_name: "customers.csv".into(),
            header,
            rows: Box::new(move |w| write_customers_csv(&market, &report, w)),
        }
    };
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_tables(Shared(report), vec![table]))
}

/// The capacity field as the scenario file writes it (`population.capacity` or
/// `customers[].capacity`), for the Lemma 3 error.
fn capacity_field(file: &BiddingScenario) -> &'static str {
    if file.population.is_some() {
        "population.capacity"
    } else {
        "customers[].capacity"
    }
}

/// The text report of `dr solve`, formatted from the report alone.
fn solve_text(r: &SolveReport) -> String {
    let n = r.customers;
    let (act, what) = verb(r.direction);
    let ce = &r.competitive;
    let ne = r.nash.equilibrium();
    let mut status = ce.certificate.certificate.status;
    if let Some(eq) = ne {
        if status.is_solved() {
            status = eq.certificate.certificate.status;
        }
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: supply-function bidding on {} ({PAPER}): {n} customer{} {act} a {what} of \
         d = {}.\n\
         Competitive equilibrium (price-taking, Theorem 1): min Σ C_i(q_i) s.t. Σ q_i = d, \
         0 ≤ q_i ≤ q^max_i.\n\
         Nash equilibrium (price-anticipating, Theorem 3):  min Σ D_i(q_i) s.t. Σ q_i = d, \
         0 ≤ q_i ≤ min(q^max_i, d/2),\n\
         D_i'(q) = (1 + q/(d − 2q)) C_i'(q). Prices are the multipliers of Σ q_i = d; bids \
         b_i = q_i / p.\n",
        heading_word(status),
        r.file,
        if n == 1 { "" } else { "s" },
        num(r.deficit)
    );
    let mut t = Table::new(&["", "competitive", "Nash"]);
    let nash_cell = |f: &dyn Fn(&EquilibriumReport) -> String| match ne {
        Some(eq) => f(eq),
        None => "-".to_string(),
    };
    t.row(vec![
        "price".into(),
        format!("p̄ = {}", num(ce.price)),
        nash_cell(&|e| format!("p* = {}", num(e.price))),
    ]);
    t.row(vec![
        "total cost Σ C_i(q_i)".into(),
        format!("C̄ = {}", num(ce.total_cost)),
        nash_cell(&|e| format!("C* = {}", num(e.total_cost))),
    ]);
    t.row(vec![
        "payment p·d".into(),
        num(ce.total_payment),
        nash_cell(&|e| num(e.total_payment)),
    ]);
    t.row(vec![
        "Σ bids".into(),
        num(ce.total_bid),
        nash_cell(&|e| num(e.total_bid)),
    ]);
    t.row(vec![
        "active customers".into(),
        ce.active.to_string(),
        nash_cell(&|e| e.active.to_string()),
    ]);
    if r.has_capacities {
        t.row(vec![
            "at capacity".into(),
            ce.at_capacity.to_string(),
            nash_cell(&|e| e.at_capacity.to_string()),
        ]);
    }
    t.row(vec![
        "largest load".into(),
        num(ce.max_load),
        nash_cell(&|e| num(e.max_load)),
    ]);
    t.row(vec![
        "water-filling prefix (Thm 2/4)".into(),
        holds(ce.water_filling.prefix).into(),
        nash_cell(&|e| holds(e.water_filling.prefix).into()),
    ]);
    t.row(vec![
        "largest unilateral gain".into(),
        "-".into(),
        nash_cell(&|e| format!("{:.1e}", e.max_relative_gain.unwrap_or(f64::NAN))),
    ]);
    text.push_str(&t.render());
    match &r.nash {
        NashReport::Solved(_) => {
            let _ = writeln!(
                text,
                "(largest unilateral gain: the most any customer could gain, relative to its \
                 payoff, by changing its bid alone — eq. 13; 0 at a Nash equilibrium)\n"
            );
        }
        NashReport::None(e) => {
            let _ = writeln!(text, "\nNo Nash equilibrium: {}\n", e.error);
        }
    }
    if let Some(eff) = r.efficiency.evaluated() {
        text.push_str(&efficiency_text(eff, n));
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "Competitive equilibrium {}",
        certificate_text(&ce.certificate.certificate)
    );
    if let Some(eq) = ne {
        let _ = writeln!(
            text,
            "Nash equilibrium {}",
            certificate_text(&eq.certificate.certificate)
        );
    }
    match &r.listing {
        Some(rows) => text.push_str(&customer_table(r, rows)),
        None => text.push_str(&population_summary(r)),
    }
    text
}

/// One row per customer, in water-filling order (the report's listing).
fn customer_table(r: &SolveReport, rows: &[CustomerRow]) -> String {
    let quadratic = rows.iter().all(|c| c.linear.is_some());
    let nash = r.nash.equilibrium().is_some();
    let mut header: Vec<&str> = vec!["customer"];
    if quadratic {
        header.extend(["a_i", "h_i"]);
    } else {
        header.push("C_i'(0)");
    }
    if r.has_capacities {
        header.push("q^max_i");
    }
    header.extend(["q̄_i", "b̄_i", "profit p̄q̄−C"]);
    if nash {
        header.extend(["q*_i", "b*_i", "profit p*q*−C"]);
    }
    let opt = |v: Option<f64>| v.map_or("-".to_string(), num);
    let mut t = Table::new(&header);
    for c in rows {
        let mut row = vec![(c.index + 1).to_string()];
        if quadratic {
            row.extend([opt(c.linear), opt(c.quadratic)]);
        } else {
            row.push(num(c.base_marginal_cost));
        }
        if r.has_capacities {
            row.push(opt(c.capacity));
        }
        row.extend([
            num(c.competitive_load),
            num(c.competitive_bid),
            num(c.competitive_net_revenue),
        ]);
        if nash {
            row.extend([opt(c.nash_load), opt(c.nash_bid), opt(c.nash_net_revenue)]);
        }
        t.row(row);
    }
    format!(
        "Customers in water-filling order (by C_i'(0); customer numbers count from 1):\n{}",
        t.render()
    )
}

/// Summaries of a large population, and its cheapest customers (from the report).
fn population_summary(r: &SolveReport) -> String {
    let n = r.customers;
    let p = &r.population;
    let mut s = format!(
        "Population of {n} customers (summaries; every load and bid is in --json, and in \
         --output DIR/customers.csv):\n"
    );
    let mut t = Table::new(&["", "min", "mean", "max", "active"]);
    let mut add = |name: &str, c: &ColumnSummary, active: usize| {
        t.row(vec![
            name.to_string(),
            num(c.min),
            num(c.mean),
            num(c.max),
            active.to_string(),
        ]);
    };
    let ce = &r.competitive;
    add("competitive load q̄_i", &p.competitive_loads, ce.active);
    add("competitive bid b̄_i", &p.competitive_bids, ce.active);
    if let (Some(ne), Some(l), Some(b)) = (r.nash.equilibrium(), &p.nash_loads, &p.nash_bids) {
        add("Nash load q*_i", l, ne.active);
        add("Nash bid b*_i", b, ne.active);
    }
    s.push_str(&t.render());
    let wf = &ce.water_filling;
    if let (Some(hi), Some(lo)) = (wf.highest_active_base_cost, wf.lowest_inactive_base_cost) {
        let _ = writeln!(
            s,
            "Water-filling (Theorem 2): largest C_i'(0) of an active customer {} ≤ p̄ = {} ≤ \
             smallest C_i'(0) of an inactive one {}",
            fine(hi),
            fine(ce.price),
            fine(lo)
        );
    }
    let mut t = Table::new(&["customer", "C_i'(0)", "q̄_i", "b̄_i", "q*_i", "b*_i"]);
    let opt = |v: Option<f64>| v.map_or("-".to_string(), num);
    for c in &p.cheapest {
        t.row(vec![
            (c.index + 1).to_string(),
            num(c.base_marginal_cost),
            num(c.competitive_load),
            num(c.competitive_bid),
            opt(c.nash_load),
            opt(c.nash_bid),
        ]);
    }
    let _ = writeln!(
        s,
        "\nThe {} customers with the lowest C_i'(0):",
        p.cheapest.len()
    );
    s.push_str(&t.render());
    s
}

/// Loads per customer (bars, small markets) or the sorted loads (large ones).
fn loads_plot(r: &SolveReport) -> Plot {
    let n = r.customers;
    let ce = &r.competitive;
    let ne = r.nash.equilibrium();
    if let Some(rows) = r.listing.as_ref().filter(|_| n <= 200) {
        let mut chart = BarChart::new(
            "Equilibrium loads, customers in water-filling order",
            rows.iter().map(|c| (c.index + 1).to_string()),
        )
        .x_label("customer (by C_i'(0))")
        .y_label("load")
        .group("competitive q̄_i", rows.iter().map(|c| c.competitive_load));
        if ne.is_some() {
            chart = chart.group(
                "Nash q*_i",
                rows.iter().map(|c| c.nash_load.unwrap_or(f64::NAN)),
            );
        }
        Plot::new("bidding-solve-loads", &chart)
    } else {
        let sorted = |v: &[f64]| -> Vec<(f64, f64)> {
            let mut v = v.to_vec();
            v.sort_by(|a, b| b.total_cmp(a));
            let points = 1000usize.min(v.len());
            (0..points)
                .map(|k| {
                    let i = k * (v.len() - 1) / (points - 1).max(1);
                    (i as f64 / n as f64, v[i])
                })
                .collect()
        };
        let mut chart = LineChart::new("Equilibrium loads, largest first")
            .x_label("fraction of customers")
            .y_label("load")
            .series("competitive q̄_i", sorted(&ce.loads));
        if let Some(ne) = ne {
            chart = chart.series("Nash q*_i", sorted(&ne.loads));
        }
        Plot::new("bidding-solve-loads", &chart)
    }
}

// ---------------------------------------------------------------------------------------
// dr simulate

fn behaviour_name(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "competitive",
        Behaviour::Strategic => "nash",
    }
}

fn termination_name(t: Termination) -> &'static str {
    t.name()
}

fn update_text(u: PriceUpdate) -> String {
    match u {
        PriceUpdate::Paper { step } => format!("paper, fixed step γ = {}", num(step)),
        PriceUpdate::Fast => "fast (clears a market fitted to the bids)".to_string(),
    }
}

fn update_slug(u: PriceUpdate) -> &'static str {
    match u {
        PriceUpdate::Paper { .. } => "paper",
        PriceUpdate::Fast => "fast",
    }
}

/// Runs the scheme with the kernel executor; the progress bar is an observer, and
/// `record_bids = Some(k)` adds the first `k` customers' bids to every traced round (a
/// trace recorder).
fn run_update(
    market: &Market,
    behaviour: Behaviour,
    update: PriceUpdate,
    settings: SimulationSettings,
    record_bids: Option<usize>,
    trace_bids: Option<usize>,
    opts: &Options,
) -> Result<(SimulationRun, Option<BidTrace>), BiddingError> {
    let algorithm = format!("bidding {}", format!("{behaviour:?}").to_lowercase());
    let mut bar = opts.watch(
        settings.max_rounds as u64,
        "bidding rounds",
        |_: usize, r: &dr_bidding::Round, _: &BiddingSimulation<'_, _>| RoundReport {
            algorithm: algorithm.clone(),
            round: r.round,
            scalars: vec![
                ("price", r.price),
                ("total_bid", r.total_bid),
                ("supply", r.supply),
                ("mismatch", r.mismatch),
                ("relative_mismatch", r.relative_mismatch),
            ],
            vectors: Vec::new(),
        },
    );
    let sim = BiddingSimulation::from_update(market, behaviour, update, settings)?;
    let mut recorder = match trace_bids {
        Some(k) => Some(BidRecorder::new(k, market.len())?),
        None => None,
    };
    let mut executor = sim.executor().observe(&mut bar);
    if let Some(r) = recorder.as_mut() {
        executor = executor.observe(r);
    }
    let executor = match record_bids {
        Some(k) => executor.trace_with(TraceMode::Always, move |s, r| s.with_bids(r, k)),
        None => executor,
    };
    let run: SimulationRun = executor.run().into();
    let trace = recorder.map(|r| r.finish_with(&run));
    Ok((run, trace))
}

/// `--set trace_bids=K`: the stride, checked against `--memory-limit` before anything runs
/// (the scenario's own estimate plus [`BidTrace::memory_estimate`] for each run).
fn trace_bids_param(
    opts: &Options,
    file_name: &str,
    file: &BiddingScenario,
    settings: &SimulationSettings,
    runs: usize,
) -> Result<Option<usize>, CliError> {
    let Some(k) = opts.params.get::<usize>("trace_bids")? else {
        return Ok(None);
    };
    let bad = |reason: String| CliError::BadParameter {
        key: "trace_bids".into(),
        value: k.to_string(),
        reason,
    };
    if k == 0 {
        return Err(bad(
            "must be >= 1 (record every customer's bid every K-th round)".into(),
        ));
    }
    let n = match &file.population {
        Some(p) => p.count,
        None => file.customers.len(),
    };
    let per_run = BidTrace::memory_estimate(settings.max_rounds, k, n);
    let need = file
        .memory_estimate()
        .saturating_add(per_run.saturating_mul(runs as u64));
    if need > opts.memory_limit {
        // The smallest stride that fits, if any does.
        let room = opts.memory_limit.saturating_sub(file.memory_estimate()) / runs.max(1) as u64;
        let per_snapshot = (n as u64).saturating_mul(dr_bidding::BID_TRACE_BYTES_PER_ENTRY);
        let fits = room / per_snapshot.max(1);
        let hint = if fits >= 2 {
            format!(
                "; trace_bids >= {} fits (or fewer --rounds, or a larger --memory-limit)",
                (settings.max_rounds as u64).div_ceil(fits - 1)
            )
        } else {
            "; no stride fits: raise --memory-limit".into()
        };
        // Too large for this machine's limit: bad input (exit 1, like an over-large
        // scenario), naming the key and its value.
        return Err(CliError::model(
            file_name,
            ModelKind::Bidding,
            format!(
            "--set trace_bids={k}: the bid trace of {runs} run(s) × up to {} snapshots (--rounds {} / K, and the \
             last) × {n} customers × {} bytes needs {} on top of the scenario's {}, over \
             --memory-limit {}{hint}",
            BidTrace::snapshots(settings.max_rounds, k),
            settings.max_rounds,
            dr_bidding::BID_TRACE_BYTES_PER_ENTRY,
            super::output::bytes_text(per_run.saturating_mul(runs as u64)),
            super::output::bytes_text(file.memory_estimate()),
            super::output::bytes_text(opts.memory_limit),
        ),
        ));
    }
    Ok(Some(k))
}

/// The text summary of a bid trace: its size, and the bids at the first and last snapshot.
fn bid_trace_text(trace: &BidTrace) -> String {
    let mut text = format!(
        "  bid trace      every customer's bid every {} round{} ({} snapshots × {} customers; \
         all in --json `bid_trace`)
",
        trace.every,
        if trace.every == 1 { "" } else { "s" },
        trace.rounds.len(),
        trace.customers
    );
    for (label, s) in [("first", 0), ("last", trace.rounds.len().saturating_sub(1))] {
        if let Some(b) = trace.bids.get(s) {
            let (lo, mean, hi) = min_mean_max(b);
            let _ = writeln!(
                text,
                "    {label:<5} round {:>6}: p = {}, bids b_i min {} mean {} max {}",
                trace.rounds[s],
                num(trace.prices[s]),
                num(lo),
                num(mean),
                num(hi)
            );
        }
    }
    text
}

/// The supply-function panel of li-chen-dahleh-2015 Figs. 1–2: five customers' bids per
/// round (customers spread over the population), with their equilibrium bids dashed.
fn bid_trace_plot(name: &str, who: &str, trace: &BidTrace, equilibrium_bids: &[f64]) -> Plot {
    let n = trace.customers;
    let picks: Vec<usize> = if n <= 5 {
        (0..n).collect()
    } else {
        (1..=5).map(|j| j * n / 6).collect()
    };
    let last = trace.rounds.last().map_or(1.0, |&k| (k as f64).max(1.0));
    let mut chart = LineChart::new(format!("{who}: supply functions q = b_i p, bids per round"))
        .x_label("round k")
        .y_label("bid b_i(k)");
    for &i in &picks {
        chart = chart.series_with_markers(
            format!("customer {}", i + 1),
            trace.customer(i).into_iter().map(|(k, b)| (k as f64, b)),
        );
    }
    for &i in &picks {
        if let Some(&b) = equilibrium_bids.get(i) {
            chart =
                chart.dashed_series(format!("b_{} at equilibrium", i + 1), [(0.0, b), (last, b)]);
        }
    }
    Plot::new(format!("{name}-bids"), &chart)
}

/// The price update: flags over the file's `[simulation]` table. `--step` implies the
/// paper rule; `--rule fast` with `--step` is an error.
fn choose_update(s: &Scenario, opts: &Options, file: PriceUpdate) -> Result<PriceUpdate, CliError> {
    let bad = |m: String| CliError::model(s.name(), ModelKind::Bidding, m);
    let file_step = match file {
        PriceUpdate::Paper { step } => step,
        PriceUpdate::Fast => 0.1,
    };
    let update = match (opts.sim.rule, opts.sim.step) {
        (Some(RuleChoice::Fast), Some(step)) => {
            return Err(bad(format!(
                "--step {step}: γ is the fixed step of the paper rule (eqs. 12, 27); \
                 --rule fast chooses its own steps"
            )))
        }
        (Some(RuleChoice::Fast), None) => PriceUpdate::Fast,
        (Some(RuleChoice::Fixed), step) => PriceUpdate::Paper {
            step: step.unwrap_or(file_step),
        },
        (None, Some(step)) => PriceUpdate::Paper { step },
        (None, None) => file,
    };
    if let PriceUpdate::Paper { step } = update {
        if !(step.is_finite() && step > 0.0) {
            return Err(bad(format!("--step {step}: γ must be finite and > 0")));
        }
    }
    Ok(update)
}

fn termination_text(sim: &SimulatedRun) -> String {
    let (update, critical) = (sim.update(), sim.critical_step);
    let rounds = sim.rounds_run;
    match sim.termination {
        Termination::Converged => format!(
            "converged after {rounds} round{} (|Σ b_i p − d| / d ≤ {:.0e})",
            if rounds == 1 { "" } else { "s" },
            sim.tolerance
        ),
        Termination::Oscillating => {
            let why = match (update, critical) {
                (PriceUpdate::Paper { step }, Some(c)) if step > c => format!(
                    ": γ = {} exceeds the critical step 2/S'(p) = {} (chen-li-low-doyle-2010 §V)",
                    num(step),
                    num(c)
                ),
                _ => String::new(),
            };
            format!(
                "oscillating after {rounds} rounds — the mismatch keeps changing sign without \
                 shrinking{why}"
            )
        }
        Termination::MaxRounds => format!(
            "stopped at the round limit ({rounds} rounds) before |Σ b_i p − d| / d ≤ {:.0e}",
            sim.tolerance
        ),
        Termination::Stalled => {
            format!("stalled after {rounds} rounds: the rule stopped moving the price")
        }
        Termination::Diverged => {
            format!("diverged after {rounds} rounds: the price or mismatch became non-finite")
        }
        other => format!("stopped ({other}) after {rounds} rounds"),
    }
}

fn simulate(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params
        .allow_only("bidding simulate", &["record_bids", "trace_bids"])?;
    let (file, market) = read_market(s, opts)?;
    let err = model_err(s.name());
    let plan = file.simulation_plan().map_err(&err)?;
    let behaviours = match opts.sim.equilibrium {
        Some(EquilibriumChoice::Competitive) => vec![Behaviour::Competitive],
        Some(EquilibriumChoice::Nash) => vec![Behaviour::Strategic],
        Some(EquilibriumChoice::Both) => vec![Behaviour::Competitive, Behaviour::Strategic],
        None => plan.behaviours.clone(),
    };
    let update = choose_update(s, opts, plan.update)?;
    let mut settings = plan.settings.clone();
    if let Some(p) = opts.sim.start_price {
        settings.start_price = p;
    }
    if let Some(r) = opts.sim.rounds {
        settings.max_rounds = r;
    }
    if let Some(t) = opts.sim.tolerance {
        settings.tolerance = t;
    }
    let record_bids = opts.params.get::<usize>("record_bids")?;
    settings.validate().map_err(|e| {
        CliError::model(
            s.name(),
            ModelKind::Bidding,
            format!("{e} (from --start-price / --rounds / --tol or [simulation])"),
        )
    })?;

    let trace_bids = trace_bids_param(opts, s.name(), &file, &settings, behaviours.len())?;

    let n = market.len();
    let d = market.deficit();
    let (act, what) = verb(market.direction());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Simulated: iterative supply-function bidding on {} ({PAPER} §III-B eqs. 11–12, \
         §IV-B eqs. 26–27):\n\
         {n} customers {act} a {what} of d = {}. Each round the utility announces p(k) (one \
         scalar to each customer),\n\
         every customer replies with one bid b_i(k) = [(C_i')⁻¹(p)/p]⁺ (price-taking) or \
         [(D_i')⁻¹(p)/p]⁺ (strategic),\n\
         and the utility sets the next price from the mismatch Σ b_i(k) p(k) − d:\n\
         paper rule p(k+1) = [p(k) − γ (Σ b_i p − d)]⁺, or the fast rule, which clears a market fitted to the same bids.",
        s.name(),
        num(d)
    );
    let every_opt = opts.sim.every;
    let mut runs = Vec::new();
    let mut plots = Vec::new();
    let mut outcome = super::output::Outcome::default();
    for &behaviour in &behaviours {
        let exact = match behaviour {
            Behaviour::Competitive => competitive_equilibrium(&market).map_err(&err)?,
            // Several behaviours asked for: a market without a Nash equilibrium (Corollary
            // 2, Lemma 3) still runs the competitive scheme; the Nash run is reported as
            // undefined, with the theorem that says why (not an error, not a failure).
            Behaviour::Strategic if behaviours.len() > 1 => {
                match nash_or_none(&market, &file).map_err(&err)? {
                    Ok(eq) => eq,
                    Err(why) => {
                        let _ = writeln!(
                            text,
                            "\nStrategic customers → Nash equilibrium: undefined, not simulated: \
                         {why}"
                        );
                        runs.push(RunReport::Undefined(UndefinedRun::new(behaviour, &why)));
                        continue;
                    }
                }
            }
            Behaviour::Strategic => nash_equilibrium(&market).map_err(&err)?,
        };
        let critical = critical_step(&market, behaviour).ok();
        let (run, bid_trace) = run_update(
            &market,
            behaviour,
            update,
            settings.clone(),
            record_bids,
            trace_bids,
            opts,
        )
        .map_err(&err)?;
        let step_check = match update {
            PriceUpdate::Paper { step } => CriticalStep::new(&market, behaviour, step).ok(),
            PriceUpdate::Fast => None,
        };
        // Above the critical step the fixed step cannot converge: a claim the run checks.
        let sim = SimulatedRun::new(
            run,
            update,
            &settings,
            &exact,
            critical,
            step_check.as_ref(),
            bid_trace,
        );
        if let Some(c) = &sim.step_claim {
            outcome.claim(&c.claim, c.holds);
        }
        let label = match behaviour {
            Behaviour::Competitive => "competitive",
            Behaviour::Strategic => "Nash",
        };
        outcome.certificate(
            &format!("{label} equilibrium (the reference of the {label} simulation)"),
            &sim.equilibrium_certificate.certificate,
        );
        outcome.converged(
            &format!("{label} simulation"),
            sim.converged,
            &format!(
                "{} after {} rounds",
                termination_name(sim.termination),
                sim.rounds_run
            ),
        );

        let (who, sym) = match behaviour {
            Behaviour::Competitive => ("Price-taking customers → competitive equilibrium", "p̄"),
            Behaviour::Strategic => ("Strategic customers → Nash equilibrium", "p*"),
        };
        let update = sim.update();
        let _ = writeln!(
            text,
            "\n{who} ({sym} = {} by `dr solve`):",
            num(sim.equilibrium_price)
        );
        let _ = writeln!(text, "  rule           {}", update_text(update));
        if let Some(c) = sim.critical_step {
            let why = if c == 0.0 {
                "the total supply jumps at the price (a customer's marginal cost is flat there): no fixed step converges"
            } else {
                "the paper rule converges locally iff γ < it"
            };
            let _ = writeln!(text, "  critical step  2/S'({sym}) = {} ({why})", num(c));
        }
        let _ = writeln!(text, "  start price    p(0) = {}", num(sim.start_price));
        if let Some(c) = &sim.step_claim {
            let _ = writeln!(
                text,
                "  step check     {}: {} ({})",
                holds(c.holds),
                c.claim,
                c.evidence
            );
        }
        let _ = writeln!(text, "  termination    {}", termination_text(&sim));
        if let Some(t) = &sim.bid_trace {
            text.push_str(&bid_trace_text(t));
        }
        let _ = writeln!(
            text,
            "  last price     {} (relative error {:.2e} against {sym})",
            num(sim.price),
            sim.price_error
        );
        let _ = writeln!(
            text,
            "  messages       {} (one price to and one bid from each customer per round)\n",
            sim.messages
        );
        let len = sim.rounds.len();
        // An odd default stride, so that a two-cycle shows both of its phases.
        let every = every_opt.unwrap_or_else(|| len.div_ceil(20) | 1).max(1);
        let mut t = Table::new(&["round k", "price p(k)", "Σ b_i(k)", "mismatch Σ b p − d"]);
        for (i, r) in sim.rounds.iter().enumerate() {
            if i % every != 0 && i + 1 != len {
                continue;
            }
            t.row(vec![
                r.round.to_string(),
                num(r.price),
                num(r.total_bid),
                format!("{:.3e}", r.mismatch),
            ]);
        }
        let _ = writeln!(
            text,
            "  trace (every {every} round{}, and the last; all rounds with --json):",
            if every == 1 { "" } else { "s" }
        );
        for line in t.render().lines() {
            let _ = writeln!(text, "  {line}");
        }
        if opts.wants_plots() {
            let name = format!(
                "bidding-simulate-{}-{}",
                behaviour_name(behaviour),
                update_slug(update)
            );
            let last = sim.rounds.last().map_or(1.0, |r| (r.round as f64).max(1.0));
            let chart = LineChart::new(format!("{who}: price per round"))
                .x_label("round k")
                .y_label("price p(k)")
                .series_with_markers(
                    update_text(update),
                    sim.rounds.iter().map(|r| (r.round as f64, r.price)),
                )
                .dashed_series(
                    format!("{sym} (dr solve)"),
                    [(0.0, sim.equilibrium_price), (last, sim.equilibrium_price)],
                );
            plots.push(Plot::new(format!("{name}-price"), &chart));
            let chart = LineChart::new(format!("{who}: mismatch per round"))
                .x_label("round k")
                .y_label("|Σ b_i p − d| / d")
                .log_y(true)
                .series(
                    update_text(update),
                    sim.rounds
                        .iter()
                        .map(|r| (r.round as f64, r.relative_mismatch)),
                );
            plots.push(Plot::new(format!("{name}-mismatch"), &chart));
            if let Some(t) = &sim.bid_trace {
                plots.push(bid_trace_plot(
                    &name,
                    who,
                    t,
                    sim.equilibrium_bids.as_deref().unwrap_or(&[]),
                ));
            }
        }
        runs.push(RunReport::Simulated(Box::new(sim)));
    }
    let report = SimulationReport::new(s.name(), n, d, runs);
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_body(report))
}

// ---------------------------------------------------------------------------------------
// dr study bidding-scenarios

fn study_err(study: &'static str) -> impl Fn(BiddingError) -> CliError {
    move |e| CliError::model(format!("study {study}"), ModelKind::Bidding, e)
}

/// The exit-status record of a study's claims (`facts`): a claim that does not hold exits 3.
fn facts_outcome(facts: &[Claim]) -> super::output::Outcome {
    let mut outcome = super::output::Outcome::default();
    for c in facts {
        outcome.claim(&c.claim, c.holds);
    }
    outcome
}

/// The claims of a study as text lines: verdict, claim, evidence.
fn facts_text(facts: &[Claim], text: &mut String) {
    for c in facts {
        let _ = writeln!(text, "  {}: {} ({})", holds(c.holds), c.claim, c.evidence);
    }
}

fn study_scenarios(opts: &Options) -> Result<Output, CliError> {
    const NAME: &str = "bidding-scenarios";
    opts.params
        .allow_only("study bidding-scenarios", &["deficit", "max_n"])?;
    let deficit = opts.params.get::<f64>("deficit")?.unwrap_or(10.0);
    let max_n = opts.params.get::<usize>("max_n")?.unwrap_or(99);
    if max_n < 3 {
        return Err(CliError::BadParameter {
            key: "max_n".into(),
            value: max_n.to_string(),
            reason: "the sweep needs n ≥ 3 (no Nash equilibrium for n = 2, Corollary 2)".into(),
        });
    }
    let sizes: Vec<usize> = (3..=max_n).step_by(2).collect();
    let err = study_err(NAME);
    // Chunks of sizes, each solved in parallel (3 scenarios × chunk) by the library.
    let progress = opts.progress(sizes.len() as u64, "bidding-scenarios: n");
    let mut rows: Vec<SweepRow> = Vec::with_capacity(3 * sizes.len());
    for chunk in sizes.chunks(8) {
        let sweep = scenario_sweep(deficit, chunk).map_err(&err)?;
        rows.extend(sweep.rows);
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    let report = SweepStudyReport::new(deficit, sizes, &rows);

    // Hard checks (theorems): ratios ≥ 1, no unilateral gain, Corollary 4 for scenario 1.
    let failures = report.violations();
    if !failures.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "study {NAME}: {}",
            failures.join("; ")
        )));
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "Study: {PAPER} §VII-B, Figs. 3–6. C_i(q) = a_i q + h_i q²; high-cost customers a = 1, \
         h = 2;\n\
         scenario 1: all high-cost; scenario 2: customer 1 low-cost (a = 0.1, h = 0.2); \
         scenario 3: customers 1 and 2 low-cost.\n\
         n = 3, 5, …, {max_n}; d = {} (the paper does not give d). Both equilibria solved \
         exactly per (scenario, n), in parallel.\n\
         Loads: the low-cost customer is customer 1 (scenarios 2, 3), the high-cost one is \
         customer n.\n",
        num(report.deficit)
    );
    let mut t = Table::new(&[
        "scenario", "n", "p̄", "p*", "p*/p̄", "C*/C̄", "q̄ low", "q* low", "q̄ high", "q* high",
    ]);
    let opt = |v: Option<f64>| v.map_or("-".into(), num);
    for r in &report.rows {
        t.row(vec![
            r.scenario.to_string(),
            r.n.to_string(),
            num(r.competitive_price),
            num(r.nash_price),
            num(r.price_ratio),
            num(r.cost_ratio),
            opt(r.low_cost_load_competitive),
            opt(r.low_cost_load_nash),
            num(r.high_cost_load_competitive),
            num(r.high_cost_load_nash),
        ]);
    }
    text.push_str(&t.render());
    let _ = writeln!(
        text,
        "\nChecked for every row: p*/p̄ ≥ 1 and C*/C̄ ≥ 1 (Theorem 5), no customer gains more \
         than {STUDY_CHECK_TOLERANCE:.0e} by deviating from the Nash bids,\n\
         and for scenario 1 p*/p̄ = (n−1)/(n−2), C* = C̄ (Corollary 4).\n\nThe paper's \
         qualitative findings on these numbers:"
    );
    facts_text(&report.facts, &mut text);

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let series = |s: u8, f: &dyn Fn(&SweepRowReport) -> Option<f64>| -> Vec<(f64, f64)> {
            report
                .scenario(s)
                .iter()
                .filter_map(|r| f(r).map(|y| (r.n as f64, y)))
                .collect()
        };
        let mut fig3 = LineChart::new("Price ratio p*/p̄ against n (Fig. 3)")
            .x_label("number of customers n")
            .y_label("p*/p̄");
        let mut fig4 = LineChart::new("Cost ratio C*/C̄ against n (Fig. 4)")
            .x_label("number of customers n")
            .y_label("C*/C̄");
        for s in 1..=3u8 {
            fig3 = fig3
                .series_with_markers(format!("scenario {s}"), series(s, &|r| Some(r.price_ratio)));
            fig4 = fig4
                .series_with_markers(format!("scenario {s}"), series(s, &|r| Some(r.cost_ratio)));
        }
        plots.push(Plot::new("bidding-scenarios-price-ratio", &fig3));
        plots.push(Plot::new("bidding-scenarios-cost-ratio", &fig4));
        let mut fig5 = LineChart::new("Load of the low-cost customer against n (Fig. 5)")
            .x_label("number of customers n")
            .y_label("load");
        for s in 2..=3u8 {
            fig5 = fig5
                .series(
                    format!("scenario {s}, competitive q̄"),
                    series(s, &|r| r.low_cost_load_competitive),
                )
                .dashed_series(
                    format!("scenario {s}, Nash q*"),
                    series(s, &|r| r.low_cost_load_nash),
                );
        }
        plots.push(Plot::new("bidding-scenarios-low-cost-load", &fig5));
        let mut fig6 = LineChart::new("Load of a high-cost customer against n (Fig. 6)")
            .x_label("number of customers n")
            .y_label("load");
        for s in 1..=3u8 {
            fig6 = fig6
                .series(
                    format!("scenario {s}, competitive q̄"),
                    series(s, &|r| Some(r.high_cost_load_competitive)),
                )
                .dashed_series(
                    format!("scenario {s}, Nash q*"),
                    series(s, &|r| Some(r.high_cost_load_nash)),
                );
        }
        plots.push(Plot::new("bidding-scenarios-high-cost-load", &fig6));
    }
    Ok(Draft {
        outcome: facts_outcome(&report.facts),
        text,
        plots,
    }
    .with_body(report))
}

// ---------------------------------------------------------------------------------------
// dr study bidding-convergence

/// Most points of one plotted trace.
const PLOT_ROUNDS: usize = 400;

fn trace_points(prices: &[f64]) -> Vec<(f64, f64)> {
    prices
        .iter()
        .take(PLOT_ROUNDS)
        .enumerate()
        .map(|(k, &p)| (k as f64, p))
        .collect()
}

/// The plotted distance `|p(k) − p_eq| / p_eq` of the reported prices.
fn error_points(prices: &[f64], reference: f64) -> Vec<(f64, f64)> {
    prices
        .iter()
        .take(PLOT_ROUNDS)
        .enumerate()
        .map(|(k, &p)| (k as f64, rel(p, reference)))
        .collect()
}

/// A horizontal reference line at `y` over rounds `0..=last`.
fn level(y: f64, last: f64) -> [(f64, f64); 2] {
    [(0.0, y), (last, y)]
}

fn who(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "price-taking",
        Behaviour::Strategic => "strategic",
    }
}

fn rounds_cell(r: Option<usize>) -> String {
    r.map_or("-".into(), |k| k.to_string())
}

fn study_convergence(opts: &Options) -> Result<Output, CliError> {
    const NAME: &str = "bidding-convergence";
    opts.params
        .allow_only("study bidding-convergence", &["seed", "oscillation_factor"])?;
    let seed = opts.params.get::<u64>("seed")?;
    let factor = opts.params.get::<f64>("oscillation_factor")?.unwrap_or(3.0);
    if !(factor.is_finite() && factor > 1.0) {
        return Err(CliError::BadParameter {
            key: "oscillation_factor".into(),
            value: factor.to_string(),
            reason: "must be > 1: γ = factor × the critical step 2/S'(p), and the fixed step \
                     oscillates only above the critical step"
                .into(),
        });
    }
    let err = study_err(NAME);
    let mut configs = vec![
        ConvergenceConfig::figure1(),
        ConvergenceConfig::figure2(),
        ConvergenceConfig::conference(),
    ];
    if let Some(seed) = seed {
        for c in &mut configs {
            c.seed = seed;
        }
    }
    let progress = opts.progress(configs.len() as u64 + 1, "bidding-convergence");
    let mut studies: Vec<ConvergenceStudy> = Vec::new();
    for c in &configs {
        progress.set_message(&c.name);
        studies.push(convergence_study(c).map_err(&err)?);
        progress.inc(1);
    }
    progress.set_message("oscillation");
    let fig1 = &configs[0];
    let critical =
        critical_step(&fig1.market().map_err(&err)?, Behaviour::Competitive).map_err(&err)?;
    let osc: OscillationStudy =
        oscillation_study(fig1, Behaviour::Competitive, Some(factor * critical)).map_err(&err)?;
    progress.inc(1);
    progress.finish();
    let report = ConvergenceStudyReport::new(&studies, &osc, factor);
    drop((studies, osc));

    // Hard check: a converged run ends at the exact equilibrium price.
    let failures = report.violations();
    if !failures.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "study {NAME}: {}",
            failures.join("; ")
        )));
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "Study: iterative supply-function bidding ({PAPER} Figs. 1–2; chen-li-low-doyle-2010 \
         §V), the papers' fixed step\n\
         p(k+1) = [p(k) − γ (Σ b_i p − d)]⁺ against the fast rule (same one-scalar messages). \
         Costs a_i q + h_i q²,\n\
         a_i ~ U[1,2], h_i ~ U[0.5,4.5] drawn with ChaCha8 seed {} (the papers do not publish \
         their draws).\n\
         Rounds are counted until the relative mismatch is ≤ 1e-9; \"to 1e-9\" is the first \
         round whose price is within 1e-9\n\
         (relative) of the exact equilibrium price. A fixed step converges locally iff γ < \
         2/S'(p) (the critical step).",
        report.studies.first().map_or(0, |c| c.seed)
    );
    for c in &report.studies {
        let _ = writeln!(
            text,
            "\n{}: {} customers, d = {}, γ = {}; p̄ = {}, p* = {}; critical steps {} \
             (price-taking), {} (strategic)",
            c.name,
            c.customers,
            num(c.deficit),
            num(c.step),
            num(c.competitive_price),
            num(c.nash_price),
            num(c.competitive_critical_step),
            num(c.nash_critical_step)
        );
        let mut t = Table::new(&[
            "customers",
            "rule",
            "termination",
            "rounds",
            "to 1e-9",
            "final |p − p_eq|/p_eq",
        ]);
        for r in &c.runs {
            t.row(vec![
                who(r.equilibrium).into(),
                update_text(r.update()),
                termination_name(r.termination).into(),
                r.rounds_run.to_string(),
                rounds_cell(r.rounds_to_price_tolerance),
                format!("{:.1e}", r.final_price_error),
            ]);
        }
        for line in t.render().lines() {
            let _ = writeln!(text, "  {line}");
        }
    }
    let osc = &report.oscillation;
    let _ = writeln!(
        text,
        "\nOscillation (chen-li-low-doyle-2010 §V): {} price-taking customers, γ = {} = {} × \
         the critical step {}:",
        osc.customers,
        num(osc.step),
        num(osc.factor),
        num(osc.critical_step)
    );
    let _ = writeln!(
        text,
        "  {} after {} rounds; over the last 64 rounds the mismatch changed sign {} times with \
         amplitude up to {} of d",
        termination_name(osc.termination),
        osc.rounds_run,
        osc.late_sign_changes,
        num(osc.late_amplitude)
    );
    let _ = writeln!(text, "\nFindings:");
    facts_text(&report.facts, &mut text);

    let mut plots = Vec::new();
    if opts.wants_plots() {
        for c in &report.studies {
            for (slug, fast) in [("paper", false), ("fast", true)] {
                let rule = if fast {
                    "fast rule".to_string()
                } else {
                    format!("paper step γ = {}", num(c.step))
                };
                let mut chart = LineChart::new(format!(
                    "{}: price per round, {} customers, d = {}, {rule}",
                    c.name,
                    c.customers,
                    num(c.deficit)
                ))
                .x_label("round k")
                .y_label("price p(k)");
                let mut last = 1.0f64;
                for r in c.runs.iter().filter(|r| r.step.is_none() == fast) {
                    let points = trace_points(&r.prices);
                    last = last.max(points.last().map_or(0.0, |p| p.0));
                    chart = chart.series_with_markers(who(r.equilibrium), points);
                }
                chart = chart
                    .dashed_series("p̄ (competitive)", level(c.competitive_price, last))
                    .dashed_series("p* (Nash)", level(c.nash_price, last));
                plots.push(Plot::new(
                    format!("bidding-convergence-{}-{slug}", c.name),
                    &chart,
                ));
            }
            let mut chart = LineChart::new(format!(
                "{}: distance to the equilibrium price per round",
                c.name
            ))
            .x_label("round k")
            .y_label("|p(k) − p_eq| / p_eq")
            .log_y(true);
            for r in &c.runs {
                chart = chart.series(
                    format!("{}, {}", who(r.equilibrium), r.rule),
                    error_points(&r.prices, r.equilibrium_price),
                );
            }
            plots.push(Plot::new(
                format!("bidding-convergence-{}-error", c.name),
                &chart,
            ));
            // The supply-function panels of Figs. 1–2: five customers' bids per round of
            // the paper-step runs.
            for r in &c.runs {
                let Some(panel) = &r.bid_panel else {
                    continue;
                };
                let mut chart = LineChart::new(format!(
                    "{}: {} customers' bids b_i(k) (supply functions q = b_i p), paper step γ = {}",
                    c.name,
                    who(r.equilibrium),
                    num(c.step)
                ))
                .x_label("round k")
                .y_label("bid b_i(k)");
                for (i, bids) in panel.customers.iter().zip(&panel.bids) {
                    chart = chart.series_with_markers(
                        format!("customer {}", i + 1),
                        panel.rounds.iter().zip(bids).map(|(&k, &b)| (k as f64, b)),
                    );
                }
                plots.push(Plot::new(
                    format!(
                        "bidding-convergence-{}-{}-bids",
                        c.name,
                        behaviour_name(r.equilibrium)
                    ),
                    &chart,
                ));
            }
        }
        let points = trace_points(&osc.prices);
        let last = points.last().map_or(1.0, |p| p.0.max(1.0));
        let chart = LineChart::new(format!(
            "Oscillation: γ = {} above the critical step {}",
            num(osc.step),
            num(osc.critical_step)
        ))
        .x_label("round k")
        .y_label("price p(k)")
        .series_with_markers(format!("paper, γ = {}", num(osc.step)), points)
        .dashed_series("p̄ (competitive)", level(osc.equilibrium_price, last));
        plots.push(Plot::new("bidding-convergence-oscillation", &chart));
    }
    Ok(Draft {
        outcome: facts_outcome(&report.facts),
        text,
        plots,
    }
    .with_body(report))
}

// ---------------------------------------------------------------------------------------
// dr demo

const BIDDING_30: &str = include_str!("../../../data/bidding_30.toml");
const BIDDING_30_NAME: &str = "data/bidding_30.toml";

fn demo_30(opts: &Options) -> Result<Output, CliError> {
    let s = Scenario::from_named_text(
        BIDDING_30.to_string(),
        Format::Toml,
        BIDDING_30_NAME.to_string(),
    )?;
    let (file, market) = market_of(&s, s.parse()?)?;
    let err = model_err(BIDDING_30_NAME);
    let plan = file.simulation_plan().map_err(&err)?;
    let step = match plan.update {
        PriceUpdate::Paper { step } => step,
        PriceUpdate::Fast => 0.1,
    };
    let start_price = plan.settings.start_price;
    let tolerance = plan.settings.tolerance;
    let r = demo_report(&market, BIDDING_30_NAME, step, plan.settings).map_err(&err)?;
    let text = demo_text(&r, start_price, tolerance);

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let order = &r.water_filling_order;
        let bars = BarChart::new(
            "30 customers: competitive and Nash loads (water-filling order)",
            order.iter().map(|i| (i + 1).to_string()),
        )
        .x_label("customer (by C_i'(0))")
        .y_label("load")
        .group(
            "competitive q̄_i",
            order.iter().map(|&i| r.competitive.loads[i]),
        )
        .group("Nash q*_i", order.iter().map(|&i| r.nash.loads[i]));
        plots.push(Plot::new("bidding-demo-loads", &bars));
        let errors = |run: &IterativeRun| -> Vec<(f64, f64)> {
            let p = r.competitive.price;
            run.prices
                .iter()
                .enumerate()
                .map(|(k, q)| ((k + 1) as f64, (q - p).abs() / p))
                .collect()
        };
        let chart = LineChart::new("Iterative bidding: distance to p̄ per round")
            .x_label("round k")
            .y_label("|p(k) − p̄| / p̄")
            .log_y(true)
            .series_with_markers(
                format!("paper, γ = {}", num(step)),
                errors(&r.iterative.paper),
            )
            .series_with_markers("fast", errors(&r.iterative.fast));
        plots.push(Plot::new("bidding-demo-convergence", &chart));
    }
    // The certificates, runs and claims shown go through the one exit-code policy.
    let mut outcome = super::output::Outcome::default();
    outcome.certificate(
        "competitive equilibrium",
        &r.competitive.certificate.certificate,
    );
    outcome.certificate("Nash equilibrium", &r.nash.certificate.certificate);
    for (name, run) in [
        ("paper-rule simulation", &r.iterative.paper),
        ("fast-rule simulation", &r.iterative.fast),
    ] {
        outcome.converged(
            name,
            run.termination == Termination::Converged,
            termination_name(run.termination),
        );
    }
    for c in &r.claims {
        outcome.claim(&c.claim, c.holds);
    }
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_body(r))
}

/// The text of the demo section, formatted from its report.
fn demo_text(r: &DemoReport, start_price: f64, tolerance: f64) -> String {
    let (ce, ne, eff) = (&r.competitive, &r.nash, &r.efficiency);
    let n = r.customers;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: supply-function bidding on {} ({PAPER}): {n} customers with \
         C_i(q) = a_i q + h_i q² bid\n\
         b_i, shedding q_i = b_i p at the clearing price p = d / Σ b_i; d = {}. Competitive \
         (price-taking, Theorem 1) and\n\
         Nash (price-anticipating, Theorem 3) equilibria, both solved exactly by the kernel's \
         allocator (dr_bidding::solve).\n",
        heading_word(if ce.certificate.certificate.status.is_solved() {
            ne.certificate.certificate.status
        } else {
            ce.certificate.certificate.status
        }),
        r.file,
        num(r.deficit)
    );
    let mut t = Table::new(&["", "competitive", "Nash"]);
    t.row(vec![
        "price".into(),
        format!("p̄ = {}", num(ce.price)),
        format!("p* = {}", num(ne.price)),
    ]);
    t.row(vec![
        "total cost".into(),
        format!("C̄ = {}", num(ce.total_cost)),
        format!("C* = {}", num(ne.total_cost)),
    ]);
    t.row(vec![
        "active customers".into(),
        ce.active.to_string(),
        ne.active.to_string(),
    ]);
    t.row(vec![
        "largest load".into(),
        num(ce.max_load),
        num(ne.max_load),
    ]);
    t.row(vec![
        "certificate max residual".into(),
        format!("{:.1e}", ce.certificate.max_residual),
        format!("{:.1e}", ne.certificate.max_residual),
    ]);
    text.push_str(&t.render());
    let _ = writeln!(text);
    text.push_str(&efficiency_text(eff, n));
    let (g, cg) = (&r.nash_gain.at_nash_bids, &r.nash_gain.at_competitive_bids);
    let _ = writeln!(
        text,
        "\nIs it a Nash equilibrium? dr_bidding::nash_gain computes each customer's exact best \
         response (eq. 13):\n\
         - at the Nash bids b*: largest relative gain from deviating alone {:.1e} (customer {}) \
         — nobody gains;\n\
         - at the competitive bids b̄: customer {} would gain {:.1}% of its payoff by bidding {} \
         instead of {} — price-taking\n  bids are not an equilibrium among price-anticipating \
         customers.",
        g.max_relative_gain,
        g.customer + 1,
        cg.customer + 1,
        100.0 * cg.max_relative_gain,
        num(cg.best_response_bid),
        num(cg.bid),
    );
    let _ = writeln!(
        text,
        "\nIterative bidding (eqs. 11–12), price-taking customers, p(0) = {}, until |Σ b p − \
         d| / d ≤ {:.0e}:",
        num(start_price),
        tolerance
    );
    let mut t = Table::new(&["price rule", "rounds", "final price", "|p − p̄|/p̄"]);
    let (paper, fast) = (&r.iterative.paper, &r.iterative.fast);
    for (name, run) in [
        (
            format!("paper, γ = {}", num(paper.step.unwrap_or(f64::NAN))),
            paper,
        ),
        ("fast".to_string(), fast),
    ] {
        t.row(vec![
            name,
            run.rounds.to_string(),
            num(run.price),
            format!("{:.1e}", run.price_error),
        ]);
    }
    text.push_str(&t.render());
    let failing: Vec<&str> = r
        .claims
        .iter()
        .filter(|c| !c.holds)
        .map(|c| c.claim.as_str())
        .collect();
    let verdict = if failing.is_empty() {
        "all hold".to_string()
    } else {
        format!("DO NOT HOLD: {}", failing.join("; "))
    };
    let _ = writeln!(
        text,
        "checks: Σ q = d for both; certificates ≤ {DEMO_TOLERANCE:.0e}; water-filling \
         (Theorems 2, 4); p̄ ≤ p*, C̄ ≤ C*, N̄ ⊆ N* and the\n\
         Theorem 5 bounds; Lemma 3 (q* < d/2); Corollaries 1 and 3; no gain at b*, a gain at \
         b̄; both rules reach p̄ to 1e-8,\n\
         the fast one in fewer rounds: {verdict}\n"
    );
    text.push_str("Nash equilibrium ");
    text.push_str(&certificate_text(&ne.certificate.certificate));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_section_passes_its_checks() {
        let opts = Options {
            plot_dir: Some("unused".into()),
            ..Options::default()
        };
        let out = demo_30(&opts).unwrap_or_else(|e| panic!("{e}"));
        let json = out.body_value().expect("renders");
        assert_eq!(json["certificate"]["status"], "Solved");
        assert!(json["claims"].as_array().is_some_and(|c| !c.is_empty()));
        assert_eq!(out.plots.len(), 2);
    }

    #[test]
    fn near_one_ratios_and_fine_numbers_keep_their_digits() {
        assert_eq!(ratio(1.0000017), "1 + 1.70e-6");
        assert_eq!(ratio(1.5), "1.5");
        assert_eq!(ratio(1.0), "1");
        assert_eq!(fine(1.8539024565594628), "1.853902457");
        assert_eq!(fine(123.25), "123.25");
        assert_eq!(fine(0.0), "0");
    }
}
