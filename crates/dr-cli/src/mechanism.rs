//! `dr solve | simulate` for the peak-demand mechanism of wei-anastasopoulos
//! (`model = "mechanism"`, schema in [`dr_mechanism::Scenario`]), and its section of
//! `dr demo`. Every result is a typed report of the model crate
//! ([`dr_mechanism::SolveReport`], [`dr_mechanism::SimulationReport`],
//! [`dr_mechanism::CommunityDemoReport`]): `--json` streams it, and the text below is
//! rendered from the same value (no number is computed here).
//!
//! - `dr solve FILE`: the planner's problem (3) with its certificate and KKT residuals (4);
//!   the Nash equilibrium of the centralized mechanism built from the optimum (Theorem 2)
//!   with its taxes (7), balanced taxes (Theorem 4), payoffs (Theorem 3) and every user's
//!   exact best-response gain; demands on the flat part of a satiation utility; with a
//!   `[network]`, the distributed mechanism (§V) on the breadth-first spanning tree, with
//!   the edges that carry messages and, for every idle edge, the tree path that replaces it.
//! - `dr simulate FILE`: a learning dynamic ([`dr_mechanism::Learner`]) from the default
//!   starting profile, one round per step, with its trace and why it stopped — distributed
//!   when the file has a network, centralized otherwise. `--rounds`, `--step` (γ of the
//!   price adjustment), `--tolerance` (on the largest best-response gain), `--every`;
//!   `--set dynamic=price-adjustment|best-response`, `--set consensus=ω`,
//!   `--set damping=α`, `--set mechanism=centralized|distributed`.
//! - `--plot DIR`: demand per user and period, taxes per user, the message network (tree
//!   edges solid, idle edges dashed) and, for `simulate`, the convergence trace.
//! - `--output DIR` (CSV, or Parquet with `--format parquet`), written from the report's own
//!   fields: `dr solve` writes `users.csv` (per user from 0: `v^i(x^{i*})`, taxes `t̂^i`
//!   and `t̃^i`, payoff `u^i`, `v^i(0)`, the tax's size, squared penalties and money part;
//!   with a network `φ(i)` and the distributed mechanism's taxes and payoff),
//!   `user_periods.csv` (`x_t^{i*}` and its bounds' multipliers), `periods.csv` (`p_t`,
//!   aggregate demand, `μ_t`) and with a network `tree_edges.csv` (users on each side,
//!   proxies held across) and `idle_edges.csv` (the cycle each closes); `dr simulate`
//!   writes `user_periods.csv` (final `y_t^i` and `x_t^{i*}`), `rounds.csv` and, for a
//!   distributed run, the two edge tables.
//!
//! # Claims and the exit status
//! The planner's certificate is recorded in the output's outcome (not `Solved` → exit 4),
//! and so is every claim of the report (one that does not hold → exit 3) and the learning
//! dynamic's termination in `simulate` (not `Converged` → exit 4). Each claim and its
//! relative tolerance are described in the model crate ([`dr_mechanism::SolveChecks`]).

use super::args::RuleChoice;
use super::csv::{self, tabled};
use super::demo::DemoSection;
use super::error::CliError;
use super::models::ModelCommands;
use super::output::{
    certificate_text, check_memory, heading_word, num, CsvTable, Draft, Options, Output, Table,
};
use crate::command::RoundReport;
use demand_response::plot::{BarChart, GraphDrawing, LineChart, Plot};
use demand_response::scenario::{Format, ModelKind, Scenario};
use dr_mechanism::{
    community_demo, run_scenario, simulate_scenario_observed, Claim, DistributedReport,
    LearningRecord, LearningRule, LearningSettings, MechanismError, MechanismKind, MessageRouting,
    ScenarioSettings, SimulationReport, SolveReport, Termination,
};
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The mechanism's commands (see [`super::models`]).
pub(crate) const COMMANDS: ModelCommands = ModelCommands {
    solve,
    simulate: Some(simulate),
    verify: Some(super::verify::verify),
    studies: &[],
    demo: &[DemoSection {
        name: "mechanism-community",
        title: "Mechanism: peak-demand pricing in an energy community (wei-anastasopoulos)",
        run: demo_community,
    }],
};

/// The bundled scenario of the demo (also `data/mechanism_community.toml`).
const COMMUNITY: &str = include_str!("../../../data/mechanism_community.toml");
const COMMUNITY_NAME: &str = "data/mechanism_community.toml";

fn model_err(file: &str) -> impl Fn(MechanismError) -> CliError + '_ {
    move |e| CliError::model(file, ModelKind::Mechanism, e)
}

// ---------------------------------------------------------------------------------------
// dr solve
// ---------------------------------------------------------------------------------------

fn solve(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    let file: dr_mechanism::Scenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    opts.params.allow_only("mechanism solve", &[])?;
    let report = run_scenario(&file, &ScenarioSettings::default()).map_err(model_err(s.name()))?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Peak-demand mechanism (wei-anastasopoulos), {}: {} users, {} periods, peak price \
         p_0 = {}.",
        s.name(),
        report.users,
        report.periods,
        num(report.peak_price)
    );
    let _ = writeln!(
        text,
        "{}: the planner's problem (3) (interior point + active-set polish, in the data's own\n\
         units Q = {:.3e}, P = {:.3e}), and the Nash equilibrium of the centralized mechanism\n\
         built from its optimum (Theorem 2).\n",
        heading_word(report.certificate.status),
        report.units.quantity,
        report.units.price,
    );
    text.push_str(&report_text(&report));
    let plots = if opts.wants_plots() {
        plots(&report, "mechanism")
    } else {
        Vec::new()
    };
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    };
    record(&mut out.outcome, &report);
    Ok(tabled(out, report, solve_tables))
}

// ---------------------------------------------------------------------------------------
// --output DIR: the per-item tables of solve and simulate, written from the reports' fields
// ---------------------------------------------------------------------------------------

/// The tables of `dr solve`: per user (from 0) its utility `v^i(x^{i*})`, tax `t̂^i` (eq. 7),
/// balanced tax `t̃^i` (Theorem 4), payoff `u^i`, `v^i(0)` (Theorem 3) and the parts of its
/// tax, and with a network the distributed mechanism's `φ(i)`, taxes and payoffs (§V); per
/// user and period the demand `x_t^{i*}` and the multipliers of its bounds (4); per period
/// the energy price `p_t`, the aggregate demand and the peak price `μ_t`; with a network, its
/// tree edges (the messages they carry) and idle edges (the cycle each closes).
fn solve_tables(r: &Arc<SolveReport>) -> Vec<CsvTable> {
    let mut users = vec![
        "user",
        "utility",
        "tax",
        "balanced_tax",
        "payoff",
        "utility_at_zero",
        "tax_size",
        "squared_penalty",
        "money_tax",
    ];
    if r.distributed.is_some() {
        users.extend([
            "phi",
            "distributed_tax",
            "distributed_balanced_tax",
            "distributed_payoff",
        ]);
    }
    let mut tables = vec![
        csv::table("users.csv", users, r, |r, rows| {
            for i in 0..r.users {
                rows.int(i)?;
                for column in [
                    &r.utility,
                    &r.taxes,
                    &r.balanced_taxes,
                    &r.payoffs,
                    &r.utility_at_zero,
                    &r.tax_sizes,
                    &r.squared_penalties,
                    &r.money_taxes,
                ] {
                    rows.opt(column.get(i).copied())?;
                }
                if let Some(d) = &r.distributed {
                    match d.phi.get(i) {
                        Some(&phi) => rows.int(phi)?,
                        None => rows.empty()?,
                    };
                    for column in [&d.taxes, &d.balanced_taxes, &d.payoffs] {
                        rows.opt(column.get(i).copied())?;
                    }
                }
                rows.end()?;
            }
            Ok(())
        }),
        csv::table(
            "user_periods.csv",
            vec![
                "user",
                "period",
                "demand",
                "lower_bound_multiplier",
                "upper_bound_multiplier",
            ],
            r,
            |r, rows| {
                let at =
                    |m: &[Vec<f64>], i: usize, t: usize| m.get(i).and_then(|m| m.get(t)).copied();
                for i in 0..r.users {
                    for t in 0..r.periods {
                        rows.int(i)?
                            .int(t)?
                            .opt(at(&r.allocation, i, t))?
                            .opt(at(&r.lower_bound_multipliers, i, t))?
                            .opt(at(&r.upper_bound_multipliers, i, t))?
                            .end()?;
                    }
                }
                Ok(())
            },
        ),
        csv::table(
            "periods.csv",
            vec!["period", "energy_price", "aggregate_demand", "mu"],
            r,
            |r, rows| {
                for t in 0..r.periods {
                    rows.int(t)?;
                    for column in [&r.energy_prices, &r.aggregate_demand, &r.mu] {
                        rows.opt(column.get(t).copied())?;
                    }
                    rows.end()?;
                }
                Ok(())
            },
        ),
    ];
    if r.distributed.is_some() {
        tables.extend(edge_tables(r, |r| {
            r.distributed.as_ref().map(|d| &d.routing)
        }));
    }
    tables
}

/// The message network of the distributed mechanism (§V): `tree_edges.csv`, each tree edge
/// `parent – child` with the users reached through either end and the demand proxies held
/// across it; `idle_edges.csv`, each other edge with the cycle it closes (its length and
/// where the tree paths from its ends meet).
fn edge_tables<R: 'static>(
    r: &Arc<R>,
    routing: fn(&R) -> Option<&MessageRouting>,
) -> [CsvTable; 2] {
    [
        csv::table(
            "tree_edges.csv",
            vec![
                "parent",
                "child",
                "users_through_child",
                "users_through_parent",
                "proxies",
            ],
            r,
            move |r, rows| {
                for e in routing(r).iter().flat_map(|g| &g.edges_used) {
                    rows.int(e.parent)?
                        .int(e.child)?
                        .int(e.users_through_child)?
                        .int(e.users_through_parent)?
                        .int(e.proxies.len())?
                        .end()?;
                }
                Ok(())
            },
        ),
        csv::table(
            "idle_edges.csv",
            vec!["end_a", "end_b", "cycle_length", "common_ancestor"],
            r,
            move |r, rows| {
                for e in routing(r).iter().flat_map(|g| &g.edges_idle) {
                    rows.int(e.edge.0)?
                        .int(e.edge.1)?
                        .int(e.cycle_length)?
                        .int(e.common_ancestor)?
                        .end()?;
                }
                Ok(())
            },
        ),
    ]
}

/// The tables of `dr simulate`: per user and period the final announced demand `y_t^i` and
/// the planner's optimum `x_t^{i*}`; per round the largest best-response gain (absolute and
/// relative), infeasibility, price disagreement, welfare and peak; for a distributed run its
/// message network ([`edge_tables`]).
fn simulation_tables(r: &Arc<SimulationReport>) -> Vec<CsvTable> {
    let mut tables = vec![
        csv::table(
            "user_periods.csv",
            vec!["user", "period", "demand", "optimum_demand"],
            r,
            |r, rows| {
                for (i, (y, x)) in r.allocation.iter().zip(&r.optimum_allocation).enumerate() {
                    for (t, (y, x)) in y.iter().zip(x).enumerate() {
                        rows.int(i)?.int(t)?.num(*y)?.num(*x)?.end()?;
                    }
                }
                Ok(())
            },
        ),
        csv::table(
            "rounds.csv",
            vec![
                "round",
                "max_gain",
                "max_relative_gain",
                "infeasibility",
                "price_disagreement",
                "welfare",
                "peak",
            ],
            r,
            |r, rows| {
                for x in &r.rounds {
                    rows.int(x.round)?
                        .num(x.max_gain)?
                        .num(x.max_relative_gain)?
                        .num(x.infeasibility)?
                        .num(x.price_disagreement)?
                        .num(x.welfare)?
                        .num(x.peak)?
                        .end()?;
                }
                Ok(())
            },
        ),
    ];
    if r.routing.is_some() {
        tables.extend(edge_tables(r, |r| r.routing.as_ref()));
    }
    tables
}

/// Records the planner's certificate and every claim of the report in `outcome`.
fn record(outcome: &mut super::output::Outcome, r: &SolveReport) {
    outcome.certificate("planner's problem (3)", &r.certificate.certificate);
    for c in r.claims() {
        outcome.claim(&format!("{} ({})", c.claim, c.evidence), c.holds);
    }
}

/// The summary, certificate, tables and distributed part of a solve report, as text.
fn report_text(r: &SolveReport) -> String {
    let mut text = summary_text(r);
    text.push('\n');
    text.push_str(&certificate_text(&r.certificate.certificate));
    text.push('\n');
    text.push_str(&tables_text(r));
    if !r.satiated.is_empty() {
        text.push('\n');
        text.push_str(&satiated_text(r));
    }
    if let Some(d) = &r.distributed {
        text.push('\n');
        text.push_str(&distributed_text(r, d));
    }
    text
}

/// Width of `s` on a terminal: characters, not counting combining marks (the hat of `t̂`).
fn width(s: &str) -> usize {
    s.chars()
        .filter(|&c| !matches!(c as u32, 0x0300..=0x036F))
        .count()
}

/// A residual in scientific notation (`0` for zero).
fn sci(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.3e}")
    }
}

fn failed(claims: &[Claim]) -> Vec<String> {
    claims
        .iter()
        .filter(|c| !c.holds)
        .map(|c| format!("{}: {}", c.claim, c.evidence))
        .collect()
}

fn summary_text(r: &SolveReport) -> String {
    let c = &r.checks;
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(
            s,
            "  {}{} {v}",
            k,
            " ".repeat(38usize.saturating_sub(width(k)))
        );
    };
    line(&mut s, "welfare Σ v^i(x^i) − J(x*)", num(r.welfare));
    line(&mut s, "energy cost J(x*)", num(r.energy_cost));
    line(&mut s, "peak max_t Σ_i x_t^i", num(r.peak));
    line(
        &mut s,
        "Σ_t μ_t (peak prices, = p_0 by (4f))",
        num(c.mu_sum),
    );
    line(&mut s, "Σ_i t̂^i (NE taxes, eq. 7)", num(c.taxes_sum));
    line(
        &mut s,
        "planner surplus Σ t̂ − J (Theorem 4)",
        format!(
            "{} (= Σ_l λ^l b^l = {}, ≥ 0)",
            num(r.planner_surplus),
            num(r.price_revenue)
        ),
    );
    line(
        &mut s,
        "Σ_i t̃^i (balanced taxes)",
        format!(
            "{} (J = {}; gap relative to the payment scale {:.1e})",
            num(c.balanced_taxes_sum),
            num(r.energy_cost),
            c.budget_balance_relative_gap
        ),
    );
    line(
        &mut s,
        "max best-response gain at the NE",
        format!(
            "{:.3e} (relative {:.3e})",
            r.max_best_response_gain, r.max_relative_best_response_gain
        ),
    );
    line(
        &mut s,
        "KKT residual (4), relative",
        format!("{:.3e}", r.kkt.max()),
    );
    let _ = writeln!(s);
    let bad = failed(r.claims());
    if bad.is_empty() {
        let _ = writeln!(
            s,
            "  checks (each relative to the size of the terms it is computed from, \
             tolerance {:.0e}):",
            c.tolerance
        );
        for claim in r.claims() {
            let _ = writeln!(s, "    {} — {}", claim.claim, claim.evidence);
        }
        let _ = writeln!(s, "  all hold");
    } else {
        let _ = writeln!(
            s,
            "  WARNING: these claims do NOT hold (relative to the size of their terms, \
             tolerance {:.0e}):",
            c.tolerance
        );
        for f in bad {
            let _ = writeln!(s, "    - {f}");
        }
    }
    s
}

fn tables_text(r: &SolveReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Per period:");
    let mut t = Table::new(&["period t", "p_t", "μ_t", "Σ_i x_t^i"]);
    for (k, ((&p, &mu), &agg)) in r
        .energy_prices
        .iter()
        .zip(&r.mu)
        .zip(&r.aggregate_demand)
        .enumerate()
    {
        t.row(vec![k.to_string(), num(p), num(mu), num(agg)]);
    }
    s.push_str(&t.render());
    let _ = writeln!(
        s,
        "\nPer user (allocation x_t^i, NE tax, balanced tax, payoff):"
    );
    let mut header: Vec<String> = vec!["user i".into()];
    header.extend((0..r.periods).map(|k| format!("x_{k}")));
    header.extend(
        ["tax t̂^i", "balanced t̃^i", "payoff u^i", "v^i(0)"]
            .iter()
            .map(|h| h.to_string()),
    );
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header);
    for i in 0..r.users {
        let mut row = vec![i.to_string()];
        row.extend(r.allocation[i].iter().map(|&v| num(v)));
        row.push(num(r.taxes[i]));
        row.push(num(r.balanced_taxes[i]));
        row.push(num(r.payoffs[i]));
        row.push(num(r.utility_at_zero[i]));
        t.row(row);
    }
    s.push_str(&t.render());
    if !r.constraints.is_empty() {
        let _ = writeln!(s, "\nConstraints ([[constraints]] rows in file order):");
        let mut t = Table::new(&["row l", "entry", "constraint", "b^l", "a^l·x*", "λ^l"]);
        for (l, row) in r.constraints.iter().enumerate() {
            t.row(vec![
                l.to_string(),
                row.entry.to_string(),
                row.constraint.clone(),
                num(row.rhs),
                num(row.activity),
                num(row.multiplier),
            ]);
        }
        s.push_str(&t.render());
    }
    s
}

fn satiated_text(r: &SolveReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Demands on the flat part of a satiation utility (v̇ = 0 there: Assumption 1's strict\n\
         concavity fails, so these demands need not be unique; the taxes, the NE and\n\
         Theorems 3–4 are unaffected):"
    );
    let mut t = Table::new(&["user i", "period t", "x_t^i", "satiation θ/κ"]);
    for d in &r.satiated {
        t.row(vec![
            d.user.to_string(),
            d.period.to_string(),
            num(d.demand),
            num(d.satiation_point),
        ]);
    }
    s.push_str(&t.render());
    s
}

/// The message routing as text: the rule, the edges used with their messages, the idle
/// edges with the tree path that replaces each.
fn routing_text(g: &MessageRouting) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Message routing:");
    for line in wrap(&g.explanation, 88) {
        let _ = writeln!(s, "  {line}");
    }
    let mut t = Table::new(&[
        "edge used",
        "users through child",
        "through parent",
        "proxies β^{φ(j),j}",
    ]);
    for e in &g.edges_used {
        let proxies = if e.proxies.is_empty() {
            "-".to_string()
        } else {
            e.proxies
                .iter()
                .map(|p| format!("{} holds β of {}", p.holder, p.of))
                .collect::<Vec<_>>()
                .join(", ")
        };
        t.row(vec![
            format!("{}–{}", e.parent, e.child),
            e.users_through_child.to_string(),
            e.users_through_parent.to_string(),
            proxies,
        ]);
    }
    s.push_str(&t.render());
    if g.edges_idle.is_empty() {
        let _ = writeln!(s, "  no idle edge: the network is a tree");
    } else {
        let _ = writeln!(s, "Idle edges (no message travels on them):");
        for e in &g.edges_idle {
            let lines = wrap(&format!("{}–{}: {}", e.edge.0, e.edge.1, e.reason), 86);
            for (k, line) in lines.iter().enumerate() {
                let _ = writeln!(s, "{}{line}", if k == 0 { "  " } else { "    " });
            }
        }
    }
    s
}

/// Splits `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn distributed_text(r: &SolveReport, d: &DistributedReport) -> String {
    let mut s = String::new();
    let edges = |e: &[(usize, usize)]| {
        if e.is_empty() {
            "none".to_string()
        } else {
            e.iter()
                .map(|(a, b)| format!("{a}–{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(
        s,
        "Distributed mechanism (§V) on the breadth-first spanning tree from user {}:",
        d.root
    );
    let _ = writeln!(
        s,
        "  tree edges used (parent–child)   {}",
        edges(&d.tree_edges)
    );
    let _ = writeln!(
        s,
        "  dropped edges (close cycles)     {}",
        edges(&d.dropped_edges)
    );
    let _ = writeln!(
        s,
        "  max best-response gain at NE     {:.3e}",
        d.max_best_response_gain
    );
    let _ = writeln!(
        s,
        "  planner surplus Σ t̂ − J          {}",
        num(d.planner_surplus)
    );
    let _ = writeln!(
        s,
        "  Σ t̃ − J                          {:.3e}",
        d.budget_imbalance
    );
    let _ = writeln!(
        s,
        "  Lemma 4 / Lemma 5 + Corollary 1  residuals {:.1e} / {:.1e} (relative to the \
         demand scale {:.1e}: {:.1e} / {:.1e})\n",
        d.lemma4_max, d.lemma5_max, d.demand_scale, d.lemma4_relative, d.lemma5_relative
    );
    s.push_str(&routing_text(&d.routing));
    s.push('\n');
    let mut t = Table::new(&["user i", "φ(i)", "tax t̂^i", "balanced t̃^i", "payoff u^i"]);
    for i in 0..r.users {
        t.row(vec![
            i.to_string(),
            d.phi.get(i).map_or("-".into(), |p| p.to_string()),
            d.taxes.get(i).map_or("-".into(), |&v| num(v)),
            d.balanced_taxes.get(i).map_or("-".into(), |&v| num(v)),
            d.payoffs.get(i).map_or("-".into(), |&v| num(v)),
        ]);
    }
    s.push_str(&t.render());
    s
}

fn plots(r: &SolveReport, prefix: &str) -> Vec<Plot> {
    let mut plots = Vec::new();
    let mut demand = BarChart::new(
        "Demand x_t^i per user at the planner's optimum",
        (0..r.periods).map(|t| format!("period {t}")),
    )
    .x_label("billing period t")
    .y_label("demand x_t^i (negative: export)");
    for (i, xi) in r.allocation.iter().enumerate() {
        demand = demand.group(format!("user {i}"), xi.iter().copied());
    }
    plots.push(Plot::new(format!("{prefix}-demand"), &demand));
    let mut taxes = BarChart::new(
        "Taxes at the Nash equilibrium",
        (0..r.users).map(|i| format!("user {i}")),
    )
    .x_label("user i")
    .y_label("tax")
    .group("tax t̂^i (eq. 7)", r.taxes.iter().copied())
    .group(
        "balanced tax t̃^i (Theorem 4, Σ = J)",
        r.balanced_taxes.iter().copied(),
    );
    if let Some(d) = &r.distributed {
        taxes = taxes.group("distributed balanced tax", d.balanced_taxes.iter().copied());
    }
    plots.push(Plot::new(format!("{prefix}-taxes"), &taxes));
    if let Some(d) = &r.distributed {
        plots.push(network_plot(
            prefix,
            r.users,
            &d.tree_edges,
            &d.dropped_edges,
        ));
    }
    plots
}

fn network_plot(
    prefix: &str,
    users: usize,
    tree: &[(usize, usize)],
    dropped: &[(usize, usize)],
) -> Plot {
    let mut g = GraphDrawing::new(
        "Message network: tree used (solid), idle (dashed)",
        (0..users).map(|i| format!("{i}")),
    );
    for &(a, b) in tree {
        g = g.edge(a, b);
    }
    for &(a, b) in dropped {
        g = g.dashed_edge(a, b);
    }
    Plot::new(format!("{prefix}-network"), &g)
}

// ---------------------------------------------------------------------------------------
// dr simulate
// ---------------------------------------------------------------------------------------

fn learning_settings(name: &str, opts: &Options) -> Result<LearningSettings, CliError> {
    let p = &opts.params;
    let mut settings = LearningSettings::default();
    if let Some(r) = opts.sim.rounds {
        settings.max_rounds = r;
    }
    if let Some(t) = opts.sim.tolerance {
        settings.tolerance = t;
    }
    let dynamic: String = p
        .get("dynamic")?
        .unwrap_or_else(|| "price-adjustment".to_string());
    let usage = |msg: &str| CliError::model(name, ModelKind::Mechanism, msg);
    if opts.sim.delta.is_some() {
        return Err(usage(
            "--delta is a setting of the stackelberg model, not of the mechanism",
        ));
    }
    settings.rule = match dynamic.as_str() {
        "price-adjustment" => {
            if p.get::<f64>("damping")?.is_some() {
                return Err(usage(
                    "--set damping applies to --set dynamic=best-response only",
                ));
            }
            if opts.sim.rule == Some(RuleChoice::Fast) {
                return Err(usage(
                    "--rule fast is not offered by the mechanism's learning dynamics (the \
                     price adjustment is a fixed-step rule: --rule fixed, --step γ)",
                ));
            }
            let default = match LearningSettings::default().rule {
                LearningRule::PriceAdjustment { step, consensus } => (step, consensus),
                LearningRule::BestResponse { .. } => (0.1, 0.5),
            };
            LearningRule::PriceAdjustment {
                step: opts.sim.step.unwrap_or(default.0),
                consensus: p.get("consensus")?.unwrap_or(default.1),
            }
        }
        "best-response" => {
            if opts.sim.step.is_some() || opts.sim.rule.is_some() {
                return Err(usage(
                    "--step and --rule apply to the price adjustment; the best-response \
                     dynamic takes --set damping=α",
                ));
            }
            if p.get::<f64>("consensus")?.is_some() {
                return Err(usage(
                    "--set consensus applies to --set dynamic=price-adjustment only",
                ));
            }
            LearningRule::BestResponse {
                damping: p.get("damping")?.unwrap_or(0.5),
            }
        }
        other => {
            return Err(CliError::BadParameter {
                key: "dynamic".into(),
                value: other.into(),
                reason: "expected price-adjustment or best-response".into(),
            })
        }
    };
    Ok(settings)
}

fn simulate(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    let file: dr_mechanism::Scenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    opts.params.allow_only(
        "mechanism simulate",
        &["dynamic", "consensus", "damping", "mechanism"],
    )?;
    let settings = learning_settings(s.name(), opts)?;
    let kind = match opts.params.get::<String>("mechanism")?.as_deref() {
        None if file.network.is_some() => MechanismKind::Distributed,
        None | Some("centralized") => MechanismKind::Centralized,
        Some("distributed") if file.network.is_some() => MechanismKind::Distributed,
        Some(other) => {
            return Err(CliError::BadParameter {
                key: "mechanism".into(),
                value: other.into(),
                reason: if other == "distributed" {
                    "the scenario has no [network]".into()
                } else {
                    "expected centralized or distributed".into()
                },
            })
        }
    };
    // The progress bar and the library caller's round observer watch every round.
    let bar = opts.progress(
        settings.max_rounds.saturating_add(1) as u64,
        "learning the NE",
    );
    let mut observe = |_: usize, r: &LearningRecord, y: &[f64]| -> ControlFlow<()> {
        bar.inc(1);
        opts.rounds.report(|| RoundReport {
            algorithm: "mechanism learning".into(),
            round: r.round,
            scalars: vec![
                ("max_gain", r.max_gain),
                ("max_relative_gain", r.max_relative_gain),
                ("infeasibility", r.infeasibility),
                ("price_disagreement", r.price_disagreement),
                ("welfare", r.welfare),
                ("peak", r.peak),
            ],
            vectors: vec![("allocation", y.to_vec())],
        })
    };
    let report = simulate_scenario_observed(
        &file,
        &ScenarioSettings::default(),
        &settings,
        kind,
        &mut observe,
    )
    .map_err(model_err(s.name()))?;
    drop(bar);
    let text = simulation_text(&report, s.name(), &settings, opts.sim.every);
    let plots = if opts.wants_plots() {
        simulation_plots(&report, &settings)
    } else {
        Vec::new()
    };
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    };
    out.outcome.certificate(
        "planner's problem (3) (the reference optimum x*)",
        &report.optimum_certificate.certificate,
    );
    let which = report.mechanism.name();
    out.outcome.converged(
        &format!("learning dynamic ({which})"),
        report.converged,
        &format!(
            "{:?} after {} rounds",
            report.termination, report.rounds_applied
        ),
    );
    Ok(tabled(out, report, simulation_tables))
}

fn simulation_text(
    r: &SimulationReport,
    name: &str,
    settings: &LearningSettings,
    every: Option<usize>,
) -> String {
    let which = r.mechanism.name();
    let (n, t_len) = (r.allocation.len(), r.allocation.first().map_or(0, Vec::len));
    let dynamic = match settings.rule {
        LearningRule::PriceAdjustment { step, consensus } => {
            format!("price adjustment, step γ = {step}, consensus ω = {consensus}")
        }
        LearningRule::BestResponse { damping } => {
            format!("damped best responses, damping α = {damping}")
        }
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Learning the Nash equilibrium of the {which} mechanism (wei-anastasopoulos;\n\
         the learning dynamic goes beyond the paper), {name}: {n} users, {t_len} periods.\n\
         Dynamic: {dynamic}; at most {} rounds.\n\
         Converged when every user's exact best-response gain, relative to the size of the\n\
         terms it is computed from, is ≤ {:e}.\n",
        r.max_rounds, r.tolerance
    );
    let verdict = match r.termination {
        Termination::Converged => format!(
            "CONVERGED after {} rounds: the largest best-response gain is {:.3e} (relative\n\
             {:.3e} ≤ {:e}); the announced demands are within {:.3e} of the planner's optimum x*.",
            r.rounds_applied,
            r.max_best_response_gain,
            r.max_relative_best_response_gain,
            r.tolerance,
            r.distance_to_optimum
        ),
        Termination::MaxRounds => format!(
            "DID NOT CONVERGE: stopped at the round limit ({} rounds) with the largest\n\
             best-response gain still {:.3e} (relative {:.3e} > {:e}; distance to x*: {:.3e}).\n{}",
            r.rounds_applied,
            r.max_best_response_gain,
            r.max_relative_best_response_gain,
            r.tolerance,
            r.distance_to_optimum,
            match settings.rule {
                LearningRule::PriceAdjustment { .. } => {
                    "Try more --rounds, or a smaller --step (a too large step oscillates)."
                }
                LearningRule::BestResponse { .. } => {
                    "Damped best responses cannot raise one peak period's share of the peak\n\
                     price (dr_mechanism::learning): they fail when the optimal μ is split\n\
                     unevenly over tied peak periods. Try --set dynamic=price-adjustment."
                }
            }
        ),
        Termination::Diverged => format!(
            "DID NOT CONVERGE: the dynamic diverged after {} rounds (a demand response did\n\
             not exist or a message became non-finite); last best-response gain {:.3e}.\n\
             Try a smaller --step.",
            r.rounds_applied, r.max_best_response_gain
        ),
        other => format!(
            "DID NOT CONVERGE: the dynamic ended ({other}) after {} rounds; last best-response \
             gain {:.3e}.",
            r.rounds_applied, r.max_best_response_gain
        ),
    };
    let _ = writeln!(text, "{verdict}\n");
    let every = every
        .unwrap_or_else(|| r.rounds.len().div_ceil(20).max(1))
        .max(1);
    let _ = writeln!(
        text,
        "Trace (every {every} round(s) and the last; --json has every round):"
    );
    let mut t = Table::new(&[
        "round",
        "max gain",
        "infeasibility",
        "price spread",
        "welfare",
        "peak",
    ]);
    let last = r.rounds.len().saturating_sub(1);
    for (k, rec) in r.rounds.iter().enumerate() {
        if k % every == 0 || k == last {
            t.row(vec![
                rec.round.to_string(),
                sci(rec.max_gain),
                sci(rec.infeasibility),
                sci(rec.price_disagreement),
                num(rec.welfare),
                num(rec.peak),
            ]);
        }
    }
    text.push_str(&t.render());
    let _ = writeln!(text, "\nFinal demands y_t^i (optimum x_t^i in brackets):");
    let mut header: Vec<String> = vec!["user i".into()];
    header.extend((0..t_len).map(|k| format!("y_{k} [x_{k}]")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header);
    for (i, (y, x)) in r.allocation.iter().zip(&r.optimum_allocation).enumerate() {
        let mut row = vec![i.to_string()];
        row.extend(
            y.iter()
                .zip(x)
                .map(|(a, b)| format!("{} [{}]", num(*a), num(*b))),
        );
        t.row(row);
    }
    text.push_str(&t.render());
    if let Some(g) = &r.routing {
        text.push('\n');
        text.push_str(&routing_text(g));
    }
    text
}

fn simulation_plots(r: &SimulationReport, settings: &LearningSettings) -> Vec<Plot> {
    let mut plots = Vec::new();
    let last = r.rounds.len().saturating_sub(1);
    let stride = r.rounds.len().div_ceil(2000).max(1);
    let pick = |f: fn(&LearningRecord) -> f64| -> Vec<(f64, f64)> {
        r.rounds
            .iter()
            .enumerate()
            .filter(|(k, _)| k % stride == 0 || *k == last)
            .map(|(_, rec)| (rec.round as f64, f(rec)))
            .collect()
    };
    let end = r.rounds.last().map_or(1.0, |rec| rec.round.max(1) as f64);
    let chart = LineChart::new(format!(
        "Learning the NE ({}, {}): {}",
        r.mechanism.name(),
        match settings.rule {
            LearningRule::PriceAdjustment { .. } => "price adjustment",
            LearningRule::BestResponse { .. } => "best response",
        },
        match r.termination {
            Termination::Converged => "converged",
            Termination::MaxRounds => "round limit",
            Termination::Diverged => "diverged",
            other => other.name(),
        }
    ))
    .x_label("round k")
    .y_label("log scale")
    .log_y(true)
    .series("max best-response gain", pick(|rec| rec.max_gain))
    .series(
        "infeasibility max (a x − b)+",
        pick(|rec| rec.infeasibility),
    )
    .series("price disagreement", pick(|rec| rec.price_disagreement))
    .dashed_series("tolerance", [(0.0, r.tolerance), (end, r.tolerance)]);
    plots.push(Plot::new("mechanism-convergence", &chart));
    if r.mechanism == MechanismKind::Distributed {
        plots.push(network_plot(
            "mechanism",
            r.allocation.len(),
            &r.tree_edges,
            &r.dropped_edges,
        ));
    }
    plots
}

// ---------------------------------------------------------------------------------------
// dr demo
// ---------------------------------------------------------------------------------------

/// The bundled community: planner optimum, NE taxes, balanced taxes, individual
/// rationality, best-response gains and the message routing, each claim checked (a failed
/// one is an error).
fn demo_community(opts: &Options) -> Result<Output, CliError> {
    let scenario = Scenario::from_named_text(
        COMMUNITY.to_string(),
        Format::Toml,
        COMMUNITY_NAME.to_string(),
    )?;
    let file: dr_mechanism::Scenario = scenario.parse()?;
    let demo = community_demo(&file, COMMUNITY_NAME, &ScenarioSettings::default())
        .map_err(model_err(COMMUNITY_NAME))?;
    let r = &demo.report;
    if !r.checks.failed.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "mechanism demo ({COMMUNITY_NAME}): {}",
            r.checks.failed.join("; ")
        )));
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {COMMUNITY_NAME}, {} households over {} billing periods with log and\n\
         quadratic utilities, an evening feeder cap and a daily energy budget. The planner\n\
         maximises Σ_i v^i(x^i) − J(x), J = Σ_t p_t Σ_i x_t^i + p_0 max_t Σ_i x_t^i\n\
         (problem (3)); the mechanism's NE (Theorem 2: y = x*, q = λ, s = μ, β^i = y^{{i+1}})\n\
         implements it with taxes (7), and the balanced taxes t̃ (Theorem 4) pay exactly J.\n",
        heading_word(r.certificate.status),
        r.users,
        r.periods
    );
    text.push_str(&report_text(r));
    let plots = if opts.wants_plots() {
        plots(r, "mechanism-community")
    } else {
        Vec::new()
    };
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    };
    record(&mut out.outcome, r);
    Ok(out.with_body(demo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_section_passes_its_own_checks() {
        let opts = Options {
            plot_dir: Some("unused".into()),
            ..Options::default()
        };
        let out = demo_community(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.text.contains("all hold"), "{}", out.text);
        assert!(out.text.contains("Idle edges"), "{}", out.text);
        assert!(out.outcome.problems.is_empty(), "{:?}", out.outcome);
        assert!(out.plots.iter().any(|p| p.name.ends_with("-network")));
    }
}
