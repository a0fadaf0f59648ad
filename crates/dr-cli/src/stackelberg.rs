//! The Stackelberg model in `dr` (alshehri-liu-chen-basar, "A Game-Theoretic Framework for
//! Multi-Period-Multi-Company Demand Response Management in the Smart Grid"):
//!
//! - `dr solve FILE`: the equilibrium prices `p_k(t)` (eq. 14, or the exact water-filling /
//!   bounded equilibrium), revenues, per-consumer demands `d_{n,k}(t)`, Theorem 1's minimum
//!   budgets and the equilibrium certificate;
//! - `dr simulate FILE [--delta δ] [--rule paper|fast] [--set order=sequential|simultaneous]`:
//!   the distributed price algorithm (eq. 21, Theorem 4) round by round, or Steffensen's
//!   acceleration of it, against the exact equilibrium; companies update one after another
//!   (§VI, the default for eq. 21) or all at once ([`dr_stackelberg::UpdateOrder`]);
//! - `dr study ecogrid | dutch-pilot | periods`: the case studies of §VIII (Figs. 3–7);
//! - `dr study ecogrid-fig5 | dutch-pilot-fig7`: Figs. 5 and 7 with the paper's own δ and
//!   p(0), the paper's claims with a verdict each;
//! - a `dr demo` section: the EcoGrid EU day, every printed number checked.
//!
//! Exit status (README, "Exit status"): the equilibrium certificate is recorded in the
//! outcome (not Solved → 4), as is the power allocation game's status and a distributed
//! run's termination (not converged → 4); every printed identity (eq. 15, or with rationing
//! "revenues + unspent budgets = budgets") is recorded as a claim (false → 3).
//!
//! **Binding price bounds** (Remark 3). A correctly computed equilibrium whose prices sit at
//! a bound is *not* a failed solve: it exits 0 with status Solved. But the market does not
//! clear there, and the output says so: the heading, a "market clearing" section with the
//! excess demand `D − G` per bounded entry, the rationing rule
//! ([`dr_stackelberg::RationingRule::Proportional`]), what each class receives and pays and
//! its unspent budget; JSON `clearing.clears = false`. Eq. 15 ("budgets are fully spent")
//! is printed only when it holds.

use super::args::RuleChoice;
use super::demo::DemoSection;
use super::error::CliError;
use super::models::ModelCommands;
use super::output::{
    certificate_json, certificate_text, check_memory, heading_word, num, Options, Output, Table,
};
use super::study::Study;
use crate::command::RoundReport;
use demand_response::plot::{BarChart, LineChart, Plot};
use demand_response::scenario::{ModelKind, Scenario};
use dr_stackelberg::studies::{self, CaseStudy, DistributedStudy};
use dr_stackelberg::{
    best_response, period_sweep, simulate as run_distributed, solve_equilibrium, Company,
    ConsumerClasses, DemandOutput, DistributedPricing, DistributedRun, DistributedSettings,
    Equilibrium, EquilibriumCase, EquilibriumSettings, InitialPrices, Market, PeriodPoint,
    Preferences, PriceBound, PriceUpdate, RationingRule, StackelbergError, Termination,
    UpdateOrder,
};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The Stackelberg model's commands, studies and demo section.
pub(crate) const COMMANDS: ModelCommands = ModelCommands {
    solve,
    simulate: Some(simulate),
    verify: Some(super::verify::verify),
    studies: &[
        Study {
            name: "ecogrid",
            model: ModelKind::Stackelberg,
            summary: "EcoGrid EU day: equilibrium vs experiment prices, savings (alshehri-liu-chen-basar Fig. 3), eq. 21 convergence (Fig. 5)",
            run: study_ecogrid,
        },
        Study {
            name: "dutch-pilot",
            model: ModelKind::Stackelberg,
            summary: "Dutch smart-grid pilot: equilibrium vs day-ahead prices, savings (alshehri-liu-chen-basar Fig. 6), eq. 21 convergence (Fig. 7)",
            run: study_dutch_pilot,
        },
        Study {
            name: "ecogrid-fig5",
            model: ModelKind::Stackelberg,
            summary: "Fig. 5 with the paper's settings: EcoGrid classes, K = 4, T = 1, eq. 21 with δ = 1000 and 10 000 from p(0) = 5, the paper's claims with verdicts (alshehri-liu-chen-basar §VIII-A)",
            run: study_ecogrid_fig5,
        },
        Study {
            name: "dutch-pilot-fig7",
            model: ModelKind::Stackelberg,
            summary: "Fig. 7 with the paper's settings: Dutch pilot, eq. 21 with δ = 100 and 1000 from p(0) = 0.5, the paper's claims with verdicts (alshehri-liu-chen-basar §VIII-B)",
            run: study_dutch_pilot_fig7,
        },
        Study {
            name: "periods",
            model: ModelKind::Stackelberg,
            summary: "EcoGrid classes, K = 4, T = 1..50: prices, power, revenues, utilities rising with T (alshehri-liu-chen-basar Fig. 4)",
            run: study_periods,
        },
    ],
    demo: &[DemoSection {
        name: "stackelberg-ecogrid",
        title: "Stackelberg: multi-period pricing of the EcoGrid EU day",
        run: demo_ecogrid,
    }],
};

const PAPER: &str = "alshehri-liu-chen-basar";

fn model_err(file: &str) -> impl Fn(StackelbergError) -> CliError + '_ {
    move |e| CliError::model(file, ModelKind::Stackelberg, e)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    studies::mean_std(v)
}

fn case_name(case: EquilibriumCase) -> &'static str {
    match case {
        EquilibriumCase::Interior => "interior",
        EquilibriumCase::WaterFilling => "water_filling",
        EquilibriumCase::Bounded => "bounded",
    }
}

fn case_text(case: EquilibriumCase) -> &'static str {
    match case {
        EquilibriumCase::Interior => {
            "interior: every demand of eq. 10 is positive, prices by eq. 14 (cross-checked by \
             faer on system (13))"
        }
        EquilibriumCase::WaterFilling => {
            "water-filling: some consumers buy nothing on some (company, period), so eq. 14 \
             does not apply; exact clearing prices with water-filling consumers (Newton)"
        }
        EquilibriumCase::Bounded => "bounded: some price sits at p_min or p_max (Remark 3)",
    }
}

fn bound_name(b: PriceBound) -> &'static str {
    match b {
        PriceBound::Free => "free",
        PriceBound::AtMin => "at_min",
        PriceBound::AtMax => "at_max",
    }
}

/// `(name, delta)` of a price update.
fn update_name(u: PriceUpdate) -> (&'static str, Option<f64>) {
    match u {
        PriceUpdate::Paper { delta } => ("paper", Some(delta)),
        PriceUpdate::Secant => ("secant", None),
        PriceUpdate::Steffensen => ("steffensen", None),
    }
}

fn update_text(u: PriceUpdate) -> String {
    match u {
        PriceUpdate::Paper { delta } => format!("eq. 21, δ = {}", num(delta)),
        PriceUpdate::Secant => "secant on eq. 21's observations".to_string(),
        PriceUpdate::Steffensen => "Steffensen acceleration of eq. 21 (δ = 0)".to_string(),
    }
}

/// A short file-name-safe label of a price update.
fn update_slug(u: PriceUpdate) -> String {
    match u {
        PriceUpdate::Paper { delta } if delta < 0.0 => format!("delta-minus-{}", num(-delta)),
        PriceUpdate::Paper { delta } => format!("delta-{}", num(delta)),
        PriceUpdate::Secant => "secant".to_string(),
        PriceUpdate::Steffensen => "steffensen".to_string(),
    }
}

fn termination_name(t: Termination) -> &'static str {
    t.name()
}

fn termination_text(run: &DistributedRun, tolerance: Option<f64>) -> String {
    match run.termination {
        Termination::Converged => match tolerance {
            Some(tol) => format!(
                "converged after {} (max |D − G|/G ≤ {})",
                rounds(run.rounds),
                num(tol)
            ),
            None => format!("converged after {}", rounds(run.rounds)),
        },
        Termination::MaxRounds => format!("stopped at the round limit ({})", rounds(run.rounds)),
        Termination::NonPositivePrice { .. } => {
            let (company, period) = run.non_positive_entry().unwrap_or_default();
            format!(
                "stopped after {}: the update gave company {company} a non-positive price in \
                 period {period} (Theorem 4 excludes this only for δ ≥ 0)",
                rounds(run.rounds)
            )
        }
        Termination::Diverged => format!("diverged after {}", rounds(run.rounds)),
        other => format!("stopped ({other}) after {}", rounds(run.rounds)),
    }
}

fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".to_string()
    } else {
        format!("{n} rounds")
    }
}

fn termination_at(run: &DistributedRun) -> Value {
    match run.non_positive_entry() {
        Some((company, period)) => json!({"company": company, "period": period}),
        None => Value::Null,
    }
}

/// Horizontal reference levels from `x0` to `x1` as one series, broken between levels by a
/// non-finite point (so they share one legend entry and one colour).
fn levels(values: impl IntoIterator<Item = f64>, x0: f64, x1: f64) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for v in values {
        if !points.is_empty() {
            points.push((f64::NAN, f64::NAN));
        }
        points.push((x0, v));
        points.push((x1, v));
    }
    points
}

/// `max_j |p_j − q_j| / q_j` over two `[k][t]` tables (∞ when a price is not finite).
fn max_price_error(prices: &[Vec<f64>], reference: &[Vec<f64>]) -> f64 {
    prices
        .iter()
        .flatten()
        .zip(reference.iter().flatten())
        .map(|(a, b)| rel(*a, *b))
        .fold(0.0_f64, |m, x| {
            if x.is_finite() {
                m.max(x)
            } else {
                f64::INFINITY
            }
        })
}

// ---------------------------------------------------------------------------------------
// dr solve

/// Relative tolerance of the printed identities (eq. 15, the budget balance).
const CLAIM_TOLERANCE: f64 = 1e-9;

fn solve(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("stackelberg solve", &[])?;
    let file: dr_stackelberg::Scenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let err = model_err(s.name());
    let model = file.build().map_err(&err)?;
    let market = &model.market;
    let settings = EquilibriumSettings {
        demands: DemandOutput::PerClass,
        ..EquilibriumSettings::default()
    };
    let eq = solve_equilibrium(market, &settings).map_err(&err)?;
    let cons = market.consumers();
    let k_n = market.companies().len();
    let t_n = market.periods();
    let classes = cons.len();
    let consumers_total: f64 = cons.count.iter().sum();
    let revenue_total: f64 = eq.revenues.iter().sum();

    let json = json!({
        "model": "stackelberg",
        "file": s.name(),
        "solved": "Stackelberg equilibrium (alshehri-liu-chen-basar §IV-B: eq. 10, eq. 14, Theorem 2)",
        "periods": t_n,
        "companies": model.company_names,
        "classes": model.consumer_names,
        "case": case_name(eq.case),
        "prices": eq.prices,
        "revenues": eq.revenues,
        "revenue_total": revenue_total,
        "budget_total": eq.budget_total,
        "supply": eq.supply,
        "aggregate_demand": eq.aggregate_demand,
        "demand": eq.demand,
        "count": cons.count,
        "budget": model.budgets,
        "minimum_budget": eq.minimum_budget,
        "energy": eq.energy,
        "energy_need": cons.energy_need,
        "utility": eq.utility,
        "payment": eq.payment,
        "water_filling_classes": eq.water_filling_classes,
        "price_bound": eq.price_bound.iter()
            .map(|r| r.iter().map(|b| bound_name(*b)).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        "allocation": model.allocation.as_ref().map(|a| json!({
            "supply": a.supply,
            "revenues": a.revenues,
            "profits": a.profits,
            "rounds": a.rounds,
            "status": format!("{:?}", a.status),
        })),
        "clearing": clearing_json(&eq),
        "certificate": certificate_json(&eq.certificate.certificate),
        "equilibrium_certificate": equilibrium_certificate_json(&eq),
    });

    let cert = &eq.certificate.certificate;
    let clearing = &eq.clearing;
    let mut out = Output::default();
    out.certificate("Stackelberg equilibrium", cert);
    if let Some(a) = &model.allocation {
        out.outcome.converged(
            "power allocation game (Theorem 3 / eq. 20)",
            a.status.is_solved(),
            &format!(
                "{:?} after {} best-response rounds (largest unilateral gain {:.2e})",
                a.status, a.rounds, a.nash.max_gain
            ),
        );
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the Stackelberg equilibrium of {} ({PAPER} §IV-B):\n\
         {k_n} compan{} × {t_n} period{}, {classes} consumer class{} ({} consumers).\n\
         Companies announce prices p_k(t); each consumer maximises Σ γ ln(ζ + d) within its\n\
         budget (eq. 10); {}\n",
        heading_word(match &model.allocation {
            Some(a) if !a.status.is_solved() => a.status,
            _ => cert.status,
        }),
        s.name(),
        if k_n == 1 { "y" } else { "ies" },
        if t_n == 1 { "" } else { "s" },
        if classes == 1 { "" } else { "es" },
        num(consumers_total),
        if clearing.clears {
            "the market clears: every company sells its whole supply G_k(t)."
        } else {
            "the market does NOT clear: a price bound of Remark 3 binds\n\
             (see \"market clearing\" below)."
        },
    );
    let _ = writeln!(text, "  case  {}", case_text(eq.case));
    if let Some(a) = &model.allocation {
        let _ = writeln!(
            text,
            "  power allocation game (Theorem 3 / eq. 20) played first: {} best-response rounds, \
             status {:?}",
            a.rounds, a.status
        );
    }
    let rev_gap = rel(revenue_total, eq.budget_total);
    if clearing.unspent_total == 0.0 {
        let holds = rev_gap <= CLAIM_TOLERANCE;
        out.claim("Σ revenues = Σ budgets (eq. 15)", holds);
        let _ = writeln!(
            text,
            "  Σ revenues {} {} Σ budgets {} (eq. 15: budgets are fully spent){}\n",
            num(revenue_total),
            if holds { "=" } else { "≠" },
            num(eq.budget_total),
            if holds { "" } else { " — DOES NOT HOLD" }
        );
    } else {
        let spent = revenue_total + clearing.unspent_total;
        let holds = rel(spent, eq.budget_total) <= CLAIM_TOLERANCE;
        out.claim("Σ revenues + Σ unspent budgets = Σ budgets", holds);
        let _ = writeln!(
            text,
            "  Σ revenues {} < Σ budgets {}: {} of the budgets is left unspent (rationed at\n\
             \x20 p_max, so eq. 15 does not apply); revenues + unspent {} budgets{}\n",
            num(revenue_total),
            num(eq.budget_total),
            num(clearing.unspent_total),
            if holds { "=" } else { "≠" },
            if holds { "" } else { " — DOES NOT HOLD" }
        );
    }
    if !clearing.clears {
        text.push_str(&clearing_text(
            &eq,
            &model.company_names,
            &model.consumer_names,
        ));
        text.push('\n');
    }

    // Prices per period, one column group per company.
    let show_k = k_n.min(4);
    let mut header: Vec<String> = vec!["period t".into()];
    for name in model.company_names.iter().take(show_k) {
        let short = if k_n == 1 {
            String::new()
        } else {
            format!(" {name}")
        };
        header.push(format!("p(t){short}"));
        header.push(format!("G(t){short}"));
    }
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_ref);
    for t in 0..t_n {
        let mut row = vec![t.to_string()];
        for k in 0..show_k {
            row.push(num(eq.prices[k][t]));
            row.push(num(eq.supply[k][t]));
        }
        table.row(row);
    }
    let _ = writeln!(text, "Equilibrium prices p_k(t) and supplies G_k(t):");
    text.push_str(&table.render());
    if k_n > show_k {
        let _ = writeln!(text, "({} more companies: see --json)", k_n - show_k);
    }

    let mut companies = Table::new(&["company", "revenue", "share of Σ budgets"]);
    for (k, name) in model.company_names.iter().enumerate() {
        companies.row(vec![
            name.clone(),
            num(eq.revenues[k]),
            format!("{:.1}%", 100.0 * eq.revenues[k] / eq.budget_total),
        ]);
    }
    let _ = writeln!(text, "\nCompanies:");
    text.push_str(&companies.render());

    let (energy_h, utility_h, payment_h) = if clearing.clears {
        ("energy", "utility", "payment")
    } else {
        ("energy asked", "utility if served", "payment asked")
    };
    let mut table = Table::new(&[
        "class",
        "consumers",
        "budget B_n",
        "min budget (Thm 1)",
        energy_h,
        "need E_n",
        utility_h,
        payment_h,
    ]);
    for n in 0..classes {
        table.row(vec![
            model.consumer_names[n].clone(),
            num(cons.count[n]),
            num(model.budgets[n]),
            num(eq.minimum_budget[n]),
            num(eq.energy[n]),
            num(cons.energy_need[n]),
            num(eq.utility[n]),
            num(eq.payment[n]),
        ]);
    }
    let _ = writeln!(
        text,
        "\nConsumer classes (per consumer; minimum budget = Theorem 1 at the equilibrium prices):"
    );
    text.push_str(&table.render());
    if !eq.water_filling_classes.is_empty() {
        let _ = writeln!(
            text,
            "classes buying nothing on some (company, period) (water-filling): {:?}",
            eq.water_filling_classes
        );
    }
    if classes * k_n <= 6 && !eq.demand.is_empty() {
        let mut header: Vec<String> = vec!["period t".into()];
        for n in 0..classes {
            for k in 0..k_n {
                let who = match (classes, k_n) {
                    (1, 1) => "d(t)".to_string(),
                    (1, _) => format!("d_k{k}(t)"),
                    (_, 1) => format!("d(t) {}", model.consumer_names[n]),
                    _ => format!("d_k{k}(t) {}", model.consumer_names[n]),
                };
                header.push(who);
            }
        }
        let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = Table::new(&header_ref);
        for t in 0..t_n {
            let mut row = vec![t.to_string()];
            for n in 0..classes {
                for k in 0..k_n {
                    row.push(num(eq.demand[n][k][t]));
                }
            }
            table.row(row);
        }
        let _ = writeln!(text, "\nDemand per consumer d_{{n,k}}(t):");
        text.push_str(&table.render());
    } else {
        let _ = writeln!(text, "\n(per-consumer demands d[class][k][t]: see --json)");
    }
    text.push('\n');
    text.push_str(&certificate_text(&eq.certificate.certificate));
    text.push_str(&equilibrium_certificate_text(&eq));

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let mut chart = LineChart::new("Equilibrium prices p_k(t)")
            .x_label("period t")
            .y_label("price");
        for (k, name) in model.company_names.iter().enumerate() {
            chart = chart.series_with_markers(
                name.clone(),
                eq.prices[k].iter().enumerate().map(|(t, p)| (t as f64, *p)),
            );
        }
        plots.push(Plot::new("stackelberg-solve-prices", &chart));
    }
    out.json = without_nulls(json);
    out.text = text;
    out.plots = plots;
    Ok(out)
}

/// Drops top-level `null`s (a number that does not apply is omitted, never `null`).
fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}

fn rule_text(rule: RationingRule) -> &'static str {
    match rule {
        RationingRule::Proportional => {
            "proportional: where demand exceeds supply at p_max every consumer receives\n\
             \x20                 the same fraction G/D of its request and pays for what it \
             receives\n\
             \x20                 (our rule: Remark 3 clips prices but names none)"
        }
    }
}

fn clearing_json(eq: &Equilibrium) -> Value {
    let c = &eq.clearing;
    json!({
        "clears": c.clears,
        "rationing_rule": match c.rule { RationingRule::Proportional => "proportional" },
        "excess_demand": c.excess_demand,
        "sold": c.sold,
        "served_fraction": c.served_fraction,
        "allocation": c.allocation,
        "energy_received": c.energy,
        "payment": c.payment,
        "unspent_budget": c.unspent_budget,
        "unspent_total": c.unspent_total,
        "utility_received": c.utility,
        "unmet_need_classes": c.unmet_need,
    })
}

/// The market-clearing section printed when a price bound binds (Remark 3).
fn clearing_text(eq: &Equilibrium, companies: &[String], classes: &[String]) -> String {
    let c = &eq.clearing;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Market clearing (Remark 3): the market does NOT clear where a price sits at a bound.\n\
         \x20 rationing rule  {}",
        rule_text(c.rule)
    );
    let mut table = Table::new(&[
        "company",
        "period t",
        "price",
        "bound",
        "demand D",
        "supply G",
        "excess D − G",
        "served",
    ]);
    let mut rows = 0;
    let mut more = 0;
    for (k, row) in eq.price_bound.iter().enumerate() {
        for (t, b) in row.iter().enumerate() {
            if *b == PriceBound::Free {
                continue;
            }
            if rows >= 24 {
                more += 1;
                continue;
            }
            rows += 1;
            table.row(vec![
                companies.get(k).cloned().unwrap_or_else(|| k.to_string()),
                t.to_string(),
                num(eq.prices[k][t]),
                bound_name(*b).replace('_', " "),
                num(eq.aggregate_demand[k][t]),
                num(eq.supply[k][t]),
                num(c.excess_demand[k][t]),
                format!("{:.1}%", 100.0 * c.served_fraction[k][t]),
            ]);
        }
    }
    s.push_str(&table.render());
    if more > 0 {
        let _ = writeln!(s, "({more} more bounded entries: see --json)");
    }
    let mut table = Table::new(&[
        "class",
        "energy received",
        "requested",
        "paid",
        "unspent budget",
    ]);
    for (n, name) in classes.iter().enumerate().take(24) {
        table.row(vec![
            name.clone(),
            num(c.energy[n]),
            num(eq.energy[n]),
            num(c.payment[n]),
            num(c.unspent_budget[n]),
        ]);
    }
    let _ = writeln!(s, "Per consumer of each class:");
    s.push_str(&table.render());
    if !c.unmet_need.is_empty() {
        let _ = writeln!(
            s,
            "classes whose energy need is not met because of rationing: {:?}",
            c.unmet_need
        );
    }
    s
}

fn equilibrium_certificate_json(eq: &Equilibrium) -> Value {
    let c = &eq.certificate;
    json!({
        "linear_system_residual": c.linear_system_residual,
        "closed_form_vs_linear_system": c.closed_form_vs_linear_system,
        "supply_balance": c.supply_balance,
        "budget_residual": c.budget_residual,
        "revenue_budget_gap": c.revenue_budget_gap,
        "consumer_kkt": c.consumer_kkt,
        "consumers_verified": c.consumers_verified,
        "newton_iterations": c.newton_iterations,
    })
}

fn equilibrium_certificate_text(eq: &Equilibrium) -> String {
    let c = &eq.certificate;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  system (13) residual  {:.3e}",
        c.linear_system_residual
    );
    let _ = writeln!(
        s,
        "  eq. 14 vs faer (13)   {:.3e}",
        c.closed_form_vs_linear_system
    );
    let _ = writeln!(
        s,
        "  supply balance        {:.3e} (|D − G|/G at free prices; sign of D − G at bounds)",
        c.supply_balance
    );
    let _ = writeln!(
        s,
        "  budgets spent         {:.3e} (by the best responses)",
        c.budget_residual
    );
    let _ = writeln!(
        s,
        "  eq. 15 gap            {:.3e}{}",
        c.revenue_budget_gap,
        if eq.clearing.unspent_total > 0.0 {
            " (Σ revenues vs Σ budgets: not 0 when rationed at p_max)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "  consumer KKT          {:.3e}{}",
        c.consumer_kkt,
        if c.consumers_verified {
            ""
        } else {
            " (not verified)"
        }
    );
    s
}

// ---------------------------------------------------------------------------------------
// dr simulate

/// The update order in words (§VI: "the prices are sequentially updated").
fn order_text(order: UpdateOrder) -> &'static str {
    match order {
        UpdateOrder::Sequential => {
            "sequential (one company after another, each seeing the latest prices: Gauss–Seidel, §VI)"
        }
        UpdateOrder::Simultaneous => {
            "simultaneous (all companies from the same observation: Jacobi)"
        }
    }
}

/// The δ given by `--delta` or `--set delta=…` (they must agree when both are given).
fn delta_option(s: &Scenario, opts: &Options) -> Result<Option<f64>, CliError> {
    let set: Option<f64> = opts.params.get("delta")?;
    match (opts.sim.delta, set) {
        (Some(a), Some(b)) if a != b => Err(CliError::model(
            s.name(),
            ModelKind::Stackelberg,
            format!("--delta {a} and --set delta={b} disagree: give one"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// The simulation settings: the file's `[simulation]` table, overridden by the flags.
fn simulation_settings(
    s: &Scenario,
    opts: &Options,
    file_settings: &DistributedSettings,
) -> Result<DistributedSettings, CliError> {
    let bad = |message: String| CliError::model(s.name(), ModelKind::Stackelberg, message);
    if let Some(step) = opts.sim.step {
        return Err(bad(format!(
            "--step {step}: the stackelberg price update has no fixed step (eq. 21 steps by \
             1/ε, ε = (G + Z)/p + δ); set δ with --delta"
        )));
    }
    let delta = delta_option(s, opts)?;
    let mut settings = file_settings.clone();
    settings.update = match (opts.sim.rule, settings.update, delta) {
        (Some(RuleChoice::Fixed), PriceUpdate::Paper { delta: d }, None) => {
            PriceUpdate::Paper { delta: d }
        }
        (Some(RuleChoice::Fixed), _, d) => PriceUpdate::Paper {
            delta: d.unwrap_or(0.0),
        },
        (Some(RuleChoice::Fast), _, Some(d)) => {
            return Err(bad(format!(
                "--delta {d}: δ belongs to eq. 21 (--rule paper); --rule fast is Steffensen's \
                 acceleration of eq. 21 with δ = 0"
            )))
        }
        (Some(RuleChoice::Fast), _, None) => PriceUpdate::Steffensen,
        (None, PriceUpdate::Paper { .. }, Some(d)) => PriceUpdate::Paper { delta: d },
        (None, other, Some(d)) => {
            return Err(bad(format!(
                "--delta {d}: the scenario's [simulation] rule is `{}`, and δ belongs to eq. 21; \
                 add --rule paper",
                update_name(other).0
            )))
        }
        (None, other, None) => other,
    };
    if let Some(r) = opts.sim.rounds {
        settings.max_rounds = r;
    }
    if let Some(tol) = opts.sim.tolerance {
        if !(tol.is_finite() && tol > 0.0) {
            return Err(bad(format!("--tolerance {tol}: must be finite and > 0")));
        }
        settings.tolerance = tol;
    }
    if let Some(p) = opts.params.get::<f64>("initial_price")? {
        settings.initial = InitialPrices::Uniform(p);
    }
    if let Some(order) = opts.params.get::<UpdateOrder>("order")? {
        settings.order = Some(order);
    }
    settings.record_prices = true;
    Ok(settings)
}

/// Up to four `(k, t)` entries whose prices the table and the figure follow: all of them
/// for a small market; else the cheapest and dearest entries at equilibrium and the first
/// period of the first companies.
fn shown_entries(eq_prices: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let all: Vec<(usize, usize)> = eq_prices
        .iter()
        .enumerate()
        .flat_map(|(k, r)| (0..r.len()).map(move |t| (k, t)))
        .collect();
    if all.len() <= 4 {
        return all;
    }
    let price = |&(k, t): &(usize, usize)| eq_prices[k][t];
    let mut shown = Vec::new();
    if let Some(lo) = all.iter().min_by(|a, b| price(a).total_cmp(&price(b))) {
        shown.push(*lo);
    }
    if let Some(hi) = all.iter().max_by(|a, b| price(a).total_cmp(&price(b))) {
        if !shown.contains(hi) {
            shown.push(*hi);
        }
    }
    for k in 0..eq_prices.len() {
        if shown.len() >= 4 {
            break;
        }
        if !shown.contains(&(k, 0)) {
            shown.push((k, 0));
        }
    }
    shown
}

fn entry_label((k, t): (usize, usize), companies: usize) -> String {
    if companies == 1 {
        format!("p({t})")
    } else {
        format!("p_{k}({t})")
    }
}

fn simulate(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params
        .allow_only("stackelberg simulate", &["delta", "initial_price", "order"])?;
    let file: dr_stackelberg::Scenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let err = model_err(s.name());
    let model = file.build().map_err(&err)?;
    let market = &model.market;
    let settings = simulation_settings(s, opts, &model.simulation)?;
    // The exact equilibrium the run should reach (energy needs are not the algorithm's
    // business: it only clears the market).
    let eq = solve_equilibrium(
        market,
        &EquilibriumSettings {
            check_energy_need: false,
            ..EquilibriumSettings::default()
        },
    )
    .map_err(&err)?;
    // The kernel executor runs eq. 21; the progress bar is an observer.
    let mut bar = opts.watch(
        settings.max_rounds as u64 + 1,
        "eq. 21 rounds",
        |_: usize, r: &dr_stackelberg::Round, s: &DistributedPricing<'_>| RoundReport {
            algorithm: "stackelberg distributed pricing".into(),
            round: r.round,
            scalars: vec![("mismatch", r.mismatch)],
            // The prices this round measured (as `with_prices` records them).
            vectors: vec![("prices", s.prices().to_vec())],
        },
    );
    let stepper = DistributedPricing::new(market, &settings).map_err(&err)?;
    let run: DistributedRun = stepper.executor().observe(&mut bar).run().into();
    let k_n = market.companies().len();
    let final_error = max_price_error(&run.prices, &eq.prices);
    let (rule, delta) = update_name(settings.update);
    let converged = run.termination == Termination::Converged;
    let rounds_json: Vec<Value> = run
        .trace
        .iter()
        .map(|r| {
            json!({
                "round": r.round,
                "mismatch": r.mismatch,
                "price_error": r.prices.as_ref().map(|p| max_price_error(p, &eq.prices)),
                "prices": r.prices,
            })
        })
        .collect();
    let json = json!({
        "model": "stackelberg",
        "file": s.name(),
        "simulated": "distributed price algorithm (alshehri-liu-chen-basar eq. 21, Theorem 4)",
        "rule": rule,
        "delta": delta,
        "order": run.order.name(),
        "max_rounds": settings.max_rounds,
        "tolerance": settings.tolerance,
        "termination": termination_name(run.termination),
        "termination_at": termination_at(&run),
        "converged_after": converged.then_some(run.rounds),
        "rounds_run": run.rounds,
        "prices": run.prices,
        "equilibrium_prices": eq.prices,
        "max_price_error": final_error,
        "rounds": rounds_json,
        "equilibrium_certificate": certificate_json(&eq.certificate.certificate),
    });

    let mut out = Output::default();
    out.certificate(
        "exact equilibrium (the run's reference)",
        &eq.certificate.certificate,
    );
    out.outcome.converged(
        "distributed price algorithm (eq. 21)",
        converged,
        &termination_text(&run, Some(settings.tolerance)),
    );
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the distributed price algorithm of {PAPER} §VI on {}\n\
         ({k_n} compan{} × {} periods). Each round every consumer answers the announced prices\n\
         with its exact best response (eq. 10, water-filling when needed) and each company\n\
         updates its own prices from the aggregate demand it sees:\n\
         p_k(t) ← p_k(t) + (D_k(t) − G_k(t)) / ε,  ε = (G_k(t) + Z)/p_k(t) + δ  (eq. 21).\n",
        if converged {
            "Simulated (converged)".to_string()
        } else {
            format!("NOT CONVERGED ({})", termination_name(run.termination))
        },
        s.name(),
        if k_n == 1 { "y" } else { "ies" },
        market.periods(),
    );
    let _ = writeln!(
        text,
        "  rule                 {}",
        update_text(settings.update)
    );
    let _ = writeln!(text, "  order                {}", order_text(run.order));
    if let PriceUpdate::Paper { delta } = settings.update {
        if delta < 0.0 {
            let _ = writeln!(
                text,
                "                       (δ < 0: Theorem 4 guarantees nothing)"
            );
        }
    }
    let _ = writeln!(
        text,
        "  termination          {}",
        termination_text(&run, Some(settings.tolerance))
    );
    let last_mismatch = run.trace.last().map_or(f64::NAN, |r| r.mismatch);
    let _ = writeln!(
        text,
        "  final mismatch       {:.3e} (max_k,t |D_k(t) − G_k(t)| / G_k(t); at a price bound only\n\
         \x20                      the wrong sign counts, Remark 3)",
        last_mismatch
    );
    let _ = writeln!(
        text,
        "  price error          {:.3e} (max |p − p̄| / p̄ against the exact equilibrium of `dr solve`)\n",
        final_error
    );

    let shown = shown_entries(&eq.prices);
    let mut header: Vec<String> = vec!["round".into(), "mismatch".into(), "price error".into()];
    header.extend(shown.iter().map(|&e| entry_label(e, k_n)));
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_ref);
    let len = run.trace.len();
    let every = opts.sim.every.unwrap_or_else(|| len.div_ceil(20)).max(1);
    for (i, r) in run.trace.iter().enumerate() {
        if i % every != 0 && i + 1 != len {
            continue;
        }
        let mut row = vec![r.round.to_string(), format!("{:.3e}", r.mismatch)];
        match &r.prices {
            Some(p) => {
                row.push(format!("{:.3e}", max_price_error(p, &eq.prices)));
                for &(k, t) in &shown {
                    row.push(num(p[k][t]));
                }
            }
            None => row.push("-".into()),
        }
        table.row(row);
    }
    let mut eq_row = vec!["p̄ (solve)".to_string(), String::new(), String::new()];
    for &(k, t) in &shown {
        eq_row.push(num(eq.prices[k][t]));
    }
    table.row(eq_row);
    let _ = writeln!(
        text,
        "Trace (every {every} round{}, and the last; all rounds with --json):",
        if every == 1 { "" } else { "s" }
    );
    text.push_str(&table.render());

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let title = format!("Distributed pricing ({})", update_text(settings.update));
        let mut chart = LineChart::new(title)
            .x_label("round")
            .y_label("price p_k(t)");
        let last = run.trace.last().map_or(0.0, |r| r.round as f64);
        for &(k, t) in &shown {
            let label = entry_label((k, t), k_n);
            chart = chart.series(
                label.clone(),
                run.trace
                    .iter()
                    .filter_map(|r| r.prices.as_ref().map(|p| (r.round as f64, p[k][t]))),
            );
        }
        chart = chart.dashed_series(
            "equilibrium (dr solve)",
            levels(
                shown.iter().map(|&(k, t)| eq.prices[k][t]),
                0.0,
                last.max(1.0),
            ),
        );
        plots.push(Plot::new("stackelberg-simulate-prices", &chart));
        let chart = LineChart::new("Supply–demand mismatch per round")
            .x_label("round")
            .y_label("max |D − G| / G")
            .log_y(true)
            .series(rule, run.trace.iter().map(|r| (r.round as f64, r.mismatch)));
        plots.push(Plot::new("stackelberg-simulate-mismatch", &chart));
    }
    out.json = without_nulls(json);
    out.text = text;
    out.plots = plots;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// dr study ecogrid | dutch-pilot

fn study_err(study: &'static str) -> impl Fn(StackelbergError) -> CliError {
    move |e| CliError::model(format!("study {study}"), ModelKind::Stackelberg, e)
}

/// One distributed run as JSON. With `period0_only` (equal allocations: a company charges
/// the same price in every period) each round lists `company_prices[k] = p_k(0)` instead of
/// the full `prices[k][t]` table.
fn run_json(r: &DistributedStudy, period0_only: bool) -> Value {
    let (rule, delta) = update_name(r.update);
    let round_json = |x: &dr_stackelberg::Round| {
        let error = x
            .prices
            .as_ref()
            .map(|p| max_price_error(p, &r.equilibrium_prices));
        if period0_only {
            let first: Option<Vec<f64>> = x.prices.as_ref().map(|p| {
                p.iter()
                    .map(|row| row.first().copied().unwrap_or(f64::NAN))
                    .collect()
            });
            json!({"round": x.round, "mismatch": x.mismatch, "price_error": error,
                   "company_prices": first})
        } else {
            json!({"round": x.round, "mismatch": x.mismatch, "price_error": error,
                   "prices": x.prices})
        }
    };
    json!({
        "rule": rule,
        "delta": delta,
        "order": r.run.order.name(),
        "termination": termination_name(r.run.termination),
        "termination_at": termination_at(&r.run),
        "converged_after": (r.run.termination == Termination::Converged).then_some(r.run.rounds),
        "rounds_run": r.run.rounds,
        "max_price_error": r.max_price_error,
        "prices": r.run.prices,
        "rounds": r.run.trace.iter().map(round_json).collect::<Vec<_>>(),
    })
}

fn runs_table(runs: &[DistributedStudy]) -> String {
    let mut t = Table::new(&["price update", "rounds", "termination", "max |p − p̄|/p̄"]);
    for r in runs {
        t.row(vec![
            update_text(r.update),
            r.run.rounds.to_string(),
            termination_name(r.run.termination).replace('_', " "),
            format!("{:.1e}", r.max_price_error),
        ]);
    }
    t.render()
}

/// The text, JSON and figures of a single-company case study (Figs. 3 and 6).
fn case_study_output(
    key: &str,
    fig: &str,
    s: &CaseStudy,
    opts: &Options,
) -> (Value, String, Vec<Plot>) {
    let c = &s.currency;
    let cert = &s.equilibrium.certificate.certificate;
    let mut json = json!({
        "name": s.name,
        "currency": c,
        "consumers": s.consumers,
        "periods": s.periods,
        "supply": s.supply,
        "energy_need": s.energy_need,
        "prices": s.prices,
        "experiment_prices": s.experiment_prices,
        "budget_per_consumer": s.budget_per_consumer,
        "budget_eq11": s.budget_eq11,
        "eq11_valid": s.eq11_valid,
        "savings_fraction": s.savings_fraction,
        "savings_fraction_eq11": s.savings_fraction_eq11,
        "demand_per_consumer": s.demand_per_consumer,
        "payment_equilibrium": s.payment_equilibrium,
        "payment_experiment": s.payment_experiment,
        "hourly_payment_equilibrium": s.hourly_payment_equilibrium,
        "hourly_payment_experiment": s.hourly_payment_experiment,
        "price_mean": s.price_mean,
        "price_std": s.price_std,
        "experiment_price_mean": s.experiment_price_mean,
        "experiment_price_std": s.experiment_price_std,
        "case": case_name(s.equilibrium.case),
        "revenues": s.equilibrium.revenues,
        "certificate": certificate_json(cert),
        "equilibrium_certificate": equilibrium_certificate_json(&s.equilibrium),
    });
    if let Value::Object(m) = &mut json {
        m.insert("study".into(), Value::String(key.to_string()));
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} ({PAPER} §VIII, {fig}): T = {}, N = {} identical consumers, K = 1.\n\
         Supply G(t) = the experiment's hourly demand; energy need E = Σ G / N = {} kWh;\n\
         budget = the minimum budget of Theorem 1 at the experiment's prices = {} {c}.\n",
        s.name,
        s.periods,
        s.consumers,
        num(s.energy_need),
        num(s.budget_per_consumer),
    );
    let mut table = Table::new(&[
        "hour",
        "G(t) kW",
        &format!("p_exp {c}/kWh"),
        &format!("p_eq {c}/kWh"),
        "d(t) kWh",
        &format!("paid exp {c}"),
        &format!("paid eq {c}"),
    ]);
    for t in 0..s.periods {
        table.row(vec![
            t.to_string(),
            num(s.supply[t]),
            num(s.experiment_prices[t]),
            num(s.prices[t]),
            num(s.demand_per_consumer[t]),
            num(s.hourly_payment_experiment[t]),
            num(s.hourly_payment_equilibrium[t]),
        ]);
    }
    text.push_str(&table.render());
    let _ = writeln!(
        text,
        "(paid: by all {} consumers in the hour)\n",
        s.consumers
    );
    let _ = writeln!(
        text,
        "  prices      experiment mean {} sd {};  equilibrium mean {} sd {} ({c}/kWh)",
        num(s.experiment_price_mean),
        num(s.experiment_price_std),
        num(s.price_mean),
        num(s.price_std)
    );
    let _ = writeln!(
        text,
        "  payment     per consumer: experiment {} {c}, equilibrium {} {c} (= the budget, eq. 15)",
        num(s.payment_experiment),
        num(s.payment_equilibrium)
    );
    let _ = writeln!(
        text,
        "  savings     {:.1}% of the experiment's bill for the same energy",
        100.0 * s.savings_fraction
    );
    if !s.eq11_valid {
        let _ = writeln!(
            text,
            "  note        eq. 11 alone gives a budget of {} {c} (savings {:.1}%), but at the \
             experiment's\n              prices eq. 10 then needs a negative demand: the exact \
             minimum with d ≥ 0 is used",
            num(s.budget_eq11),
            100.0 * s.savings_fraction_eq11
        );
    }
    text.push('\n');
    text.push_str(&certificate_text(cert));
    text.push_str(&equilibrium_certificate_text(&s.equilibrium));

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let hours = || (0..s.periods).map(|t| t as f64);
        let chart = LineChart::new(format!("{}: prices ({fig})", s.name))
            .x_label("hour")
            .y_label(format!("price ({c}/kWh)"))
            .series_with_markers(
                "experiment",
                hours().zip(s.experiment_prices.iter().copied()),
            )
            .series_with_markers(
                "Stackelberg equilibrium (eq. 14)",
                hours().zip(s.prices.iter().copied()),
            );
        plots.push(Plot::new(format!("stackelberg-{key}-prices"), &chart));
        let chart = BarChart::new(
            format!("{}: payments of all consumers per hour", s.name),
            (0..s.periods).map(|t| t.to_string()),
        )
        .x_label("hour")
        .y_label(format!("payment ({c})"))
        .group("experiment", s.hourly_payment_experiment.iter().copied())
        .group(
            "Stackelberg equilibrium",
            s.hourly_payment_equilibrium.iter().copied(),
        );
        plots.push(Plot::new(format!("stackelberg-{key}-payments"), &chart));
        let chart = LineChart::new(format!("{}: supply G(t)", s.name))
            .x_label("hour")
            .y_label("power (kW)")
            .series_with_markers("G(t)", hours().zip(s.supply.iter().copied()));
        plots.push(Plot::new(format!("stackelberg-{key}-supply"), &chart));
    }
    (json, text, plots)
}

/// Figures of distributed runs (Figs. 5 and 7): one price chart per run, following
/// `entries`, and one mismatch chart for all runs.
fn convergence_plots(
    key: &str,
    fig: &str,
    runs: &[DistributedStudy],
    entries: &[(usize, usize, String)],
) -> Vec<Plot> {
    let mut plots = Vec::new();
    for r in runs {
        let mut chart = LineChart::new(format!("{fig}: {}", update_text(r.update)))
            .x_label("round")
            .y_label("price");
        let last = r
            .run
            .trace
            .last()
            .map_or(1.0, |x| (x.round as f64).max(1.0));
        for (k, t, label) in entries {
            let (k, t) = (*k, *t);
            chart = chart.series(
                label.clone(),
                r.run
                    .trace
                    .iter()
                    .filter_map(|x| x.prices.as_ref().map(|p| (x.round as f64, p[k][t]))),
            );
        }
        chart = chart.dashed_series(
            "equilibrium",
            levels(
                entries.iter().map(|(k, t, _)| r.equilibrium_prices[*k][*t]),
                0.0,
                last,
            ),
        );
        plots.push(Plot::new(
            format!("stackelberg-{key}-distributed-{}", update_slug(r.update)),
            &chart,
        ));
    }
    let mut chart = LineChart::new(format!("{fig}: supply–demand mismatch"))
        .x_label("round")
        .y_label("max |D − G| / G")
        .log_y(true);
    for r in runs {
        chart = chart.series(
            update_text(r.update),
            r.run.trace.iter().map(|x| (x.round as f64, x.mismatch)),
        );
    }
    plots.push(Plot::new(
        format!("stackelberg-{key}-distributed-mismatch"),
        &chart,
    ));
    plots
}

/// Runs the distributed algorithm with every round's prices recorded.
fn distributed_runs(
    market: &Market,
    updates: &[PriceUpdate],
    study: &'static str,
) -> Result<Vec<DistributedStudy>, CliError> {
    studies::distributed_study(
        market,
        updates,
        &DistributedSettings {
            record_prices: true,
            ..DistributedSettings::default()
        },
    )
    .map_err(study_err(study))
}

/// Periods of the EcoGrid class market of Fig. 5.
const FIG5_PERIODS: usize = 24;
/// The δ values of the Fig. 5 runs: the paper's observation is that larger δ converges
/// more slowly; negative δ carries no guarantee (Theorem 4).
const FIG5_UPDATES: [PriceUpdate; 5] = [
    PriceUpdate::Paper { delta: 0.0 },
    PriceUpdate::Paper { delta: 5e3 },
    PriceUpdate::Paper { delta: 2e4 },
    PriceUpdate::Paper { delta: -5e3 },
    PriceUpdate::Steffensen,
];

fn study_ecogrid(opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("study ecogrid", &[])?;
    let err = study_err("ecogrid");
    let progress = opts.progress(2, "EcoGrid EU");
    let s = studies::ecogrid_eu_day().map_err(&err)?;
    progress.inc(1);
    let market = studies::ecogrid_classes_market(FIG5_PERIODS).map_err(&err)?;
    let runs = distributed_runs(&market, &FIG5_UPDATES, "ecogrid")?;
    progress.inc(1);
    progress.finish();
    let (mut json, mut text, mut plots) = case_study_output("ecogrid", "Fig. 3", &s, opts);
    let classes = studies::ECOGRID_CLASS_BUDGETS
        .iter()
        .map(|b| num(*b))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        text,
        "\nDistributed algorithm (Fig. 5): the EcoGrid classes (budgets {classes} DKK, {} \
         consumers each),\nK = 4 companies (wind, biomass, solar, biogas: 36/59, 16/59, 5/59, \
         2/59 of the day's energy),\nT = {FIG5_PERIODS} with equal allocations (Theorem 3); \
         start at p = B / Σ G;\nthe companies update one after another, each seeing the \
         latest prices (§VI's sequential order):",
        num(studies::ECOGRID_CLASS_SIZE)
    );
    text.push_str(&runs_table(&runs));
    let _ = writeln!(
        text,
        "(Theorem 4: eq. 21 converges for every δ ≥ 0, more slowly as δ grows; for δ < 0 it \
         need not converge.)"
    );
    if let Value::Object(m) = &mut json {
        m.insert(
            "distributed".into(),
            json!({
                "figure": "Fig. 5",
                "periods": FIG5_PERIODS,
                "companies": ["wind", "biomass", "solar", "biogas"],
                "class_budgets": studies::ECOGRID_CLASS_BUDGETS,
                "class_size": studies::ECOGRID_CLASS_SIZE,
                "runs": runs.iter().map(|r| run_json(r, true)).collect::<Vec<_>>(),
            }),
        );
    }
    if opts.wants_plots() {
        // Equal allocations: every period of a company has the same price; follow period 0.
        let entries: Vec<(usize, usize, String)> = ["wind", "biomass", "solar", "biogas"]
            .iter()
            .enumerate()
            .map(|(k, name)| (k, 0, format!("p_{k} ({name})")))
            .collect();
        plots.extend(convergence_plots("ecogrid", "Fig. 5", &runs, &entries));
    }
    let mut out = Output {
        json,
        text,
        plots,
        ..Output::default()
    };
    out.certificate(
        "EcoGrid EU equilibrium",
        &s.equilibrium.certificate.certificate,
    );
    Ok(out)
}

fn study_dutch_pilot(opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("study dutch-pilot", &[])?;
    let err = study_err("dutch-pilot");
    let progress = opts.progress(2, "Dutch pilot");
    let s = studies::dutch_pilot_day().map_err(&err)?;
    progress.inc(1);
    let market = Market::new(
        s.periods,
        vec![Company::new(s.supply.clone())],
        ConsumerClasses::homogeneous(s.consumers as f64, s.budget_per_consumer, s.energy_need),
    )
    .map_err(&err)?;
    let updates = [PriceUpdate::Paper { delta: 0.0 }, PriceUpdate::Steffensen];
    let runs = distributed_runs(&market, &updates, "dutch-pilot")?;
    progress.inc(1);
    progress.finish();
    let (mut json, mut text, mut plots) = case_study_output("dutch-pilot", "Fig. 6", &s, opts);
    let _ = writeln!(
        text,
        "\nDistributed algorithm (Fig. 7) on the same market, starting at p = B / Σ G:"
    );
    text.push_str(&runs_table(&runs));
    if let Value::Object(m) = &mut json {
        m.insert(
            "distributed".into(),
            json!({
                "figure": "Fig. 7",
                "runs": runs.iter().map(|r| run_json(r, false)).collect::<Vec<_>>(),
            }),
        );
    }
    if opts.wants_plots() {
        let entries: Vec<(usize, usize, String)> = (0..s.periods)
            .step_by(4)
            .map(|t| (0, t, format!("p({t})")))
            .collect();
        plots.extend(convergence_plots("dutch-pilot", "Fig. 7", &runs, &entries));
    }
    let mut out = Output {
        json,
        text,
        plots,
        ..Output::default()
    };
    out.certificate(
        "Dutch pilot equilibrium",
        &s.equilibrium.certificate.certificate,
    );
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// dr study ecogrid-fig5 | dutch-pilot-fig7: the paper's own settings, claims with verdicts

/// Text, JSON and figures of a paper-setting study; every claim goes into the outcome.
fn paper_setting_output(
    key: &str,
    setting: &str,
    paper_rounds: &str,
    s: &studies::PaperSettingStudy,
    entries: &[(usize, usize, String)],
    opts: &Options,
) -> Output {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} ({PAPER} §VIII) with the paper's settings: {setting}.\n\
         K = {}, T = {}, every price starts at p(0) = {}; eq. 21, the companies updating one \
         after another (§VI);\nconverged when max |D − G| / G ≤ 1e-9 (at most {} rounds).\n",
        s.figure,
        s.companies,
        s.periods,
        num(s.start_price),
        studies::PAPER_SETTING_MAX_ROUNDS,
    );
    let mut t = Table::new(&[
        "price update",
        "order",
        "rounds",
        "termination",
        "max |p − p_eq14|/p_eq14",
    ]);
    for (r, e) in s.runs.iter().zip(&s.closed_form_error) {
        t.row(vec![
            update_text(r.update),
            r.run.order.name().to_string(),
            r.run.rounds.to_string(),
            termination_name(r.run.termination).replace('_', " "),
            format!("{e:.1e}"),
        ]);
    }
    text.push_str(&t.render());
    let _ = writeln!(text, "Rounds in the paper: {paper_rounds}\n");
    let _ = writeln!(text, "The paper's claims about {}:", s.figure);
    let mut out = Output::default();
    for c in &s.claims {
        let _ = writeln!(
            text,
            "  [{}] {}\n         {}",
            if c.holds { "holds" } else { "FAILS" },
            c.claim,
            c.evidence
        );
        out.claim(&c.claim, c.holds);
    }
    let json = json!({
        "study": key,
        "figure": s.figure,
        "setting": setting,
        "companies": s.companies,
        "periods": s.periods,
        "start_price": s.start_price,
        "closed_form_prices": s.closed_form_prices,
        "closed_form_error": s.closed_form_error,
        "paper_rounds": paper_rounds,
        "runs": s.runs.iter().map(|r| run_json(r, false)).collect::<Vec<_>>(),
        "claims": s.claims.iter().map(|c| json!({
            "claim": c.claim, "holds": c.holds, "evidence": c.evidence,
        })).collect::<Vec<_>>(),
    });
    if opts.wants_plots() {
        out.plots = convergence_plots(key, &s.figure, &s.runs, entries);
    }
    out.json = json;
    out.text = text;
    out
}

/// What the paper says about its round counts for Figs. 5 and 7.
const PAPER_ROUNDS_NOTE: &str = "the paper gives no legible count (§VIII-A: δ = 1000 \
     \"converges very fast … takes about less than [a number lost in our copy] iterations\"; \
     Fig. 7: \"fast convergence\"), so only the ordering in δ is checked";

fn study_ecogrid_fig5(opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("study ecogrid-fig5", &[])?;
    let progress = opts.progress(1, "Fig. 5");
    let s = studies::ecogrid_fig5().map_err(study_err("ecogrid-fig5"))?;
    progress.inc(1);
    progress.finish();
    let entries: Vec<(usize, usize, String)> = COMPANY_NAMES
        .iter()
        .enumerate()
        .map(|(k, name)| (k, 0, format!("p_{k} ({name})")))
        .collect();
    Ok(paper_setting_output(
        "ecogrid-fig5",
        "EcoGrid classes (budgets 4–8 DKK, 400 consumers each), companies wind, biomass, \
         solar, biogas (36/59, 16/59, 5/59, 2/59 of the day's energy), δ = 1000 and 10 000, \
         p(0) = 5 DKK/kWh",
        PAPER_ROUNDS_NOTE,
        &s,
        &entries,
        opts,
    ))
}

fn study_dutch_pilot_fig7(opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("study dutch-pilot-fig7", &[])?;
    let progress = opts.progress(1, "Fig. 7");
    let s = studies::dutch_pilot_fig7().map_err(study_err("dutch-pilot-fig7"))?;
    progress.inc(1);
    progress.finish();
    let entries: Vec<(usize, usize, String)> = (0..s.periods)
        .step_by(4)
        .map(|t| (0, t, format!("p({t})")))
        .collect();
    Ok(paper_setting_output(
        "dutch-pilot-fig7",
        "Dutch pilot (N = 77, budget from Theorem 1 at the day-ahead tariff), δ = 100 and \
         1000, p(0) = 0.5 EUR/kWh",
        PAPER_ROUNDS_NOTE,
        &s,
        &entries,
        opts,
    ))
}

// ---------------------------------------------------------------------------------------
// dr study periods (Fig. 4)

const COMPANY_NAMES: [&str; 4] = ["wind", "biomass", "solar", "biogas"];

fn study_periods(opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("study periods", &["max_periods"])?;
    let max_t: usize = opts.params.get("max_periods")?.unwrap_or(50);
    if max_t == 0 {
        return Err(CliError::BadParameter {
            key: "max_periods".into(),
            value: "0".into(),
            reason: "must be at least 1".into(),
        });
    }
    let err = study_err("periods");
    let (totals, classes) = studies::ecogrid_classes().map_err(&err)?;
    let settings = EquilibriumSettings::default();
    let progress = opts.progress(max_t as u64, "T sweep");
    let mut points: Vec<PeriodPoint> = Vec::with_capacity(max_t);
    let mut limits: Vec<Option<f64>> = Vec::new();
    for t in 1..=max_t {
        progress.set_message(&format!("T = {t}"));
        let sweep = period_sweep(&totals, &classes, &[t], &settings).map_err(&err)?;
        limits = sweep.utility_limit;
        points.extend(sweep.points);
        progress.inc(1);
    }
    progress.finish();
    let n_classes = classes.len();
    let k_n = totals.len();
    let budget_total: f64 = (0..n_classes)
        .map(|n| classes.count[n] * classes.budget[n])
        .sum();
    // The paper's findings, reported (not enforced): utilities rise with T towards eq. 25's
    // limit; revenues add up to the budgets (eq. 15).
    let rising: Vec<bool> = (0..n_classes)
        .map(|n| {
            points
                .windows(2)
                .all(|w| w[1].utilities[n] > w[0].utilities[n])
        })
        .collect();
    let below_limit: Vec<bool> = (0..n_classes)
        .map(
            |n| match (limits.get(n).copied().flatten(), points.last()) {
                (Some(l), Some(p)) => p.utilities[n] < l,
                _ => false,
            },
        )
        .collect();
    let max_revenue_gap = points
        .iter()
        .map(|p| rel(p.revenues.iter().sum::<f64>(), budget_total))
        .fold(0.0_f64, f64::max);
    let max_residual = points.iter().map(|p| p.max_residual).fold(0.0, f64::max);
    // Equal allocations: a company's price is the same in every period; report p_k(0) and
    // the largest spread across periods.
    let price_spread = points
        .iter()
        .flat_map(|p| p.prices.iter())
        .map(|row| {
            let lo = row.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = row.iter().copied().fold(0.0_f64, f64::max);
            rel(hi, lo)
        })
        .fold(0.0_f64, f64::max);
    let first_price = |p: &PeriodPoint| -> Vec<f64> {
        p.prices
            .iter()
            .map(|r| r.first().copied().unwrap_or(f64::NAN))
            .collect()
    };

    let json = json!({
        "study": "periods",
        "figure": "Fig. 4",
        "companies": COMPANY_NAMES,
        "company_totals": totals,
        "class_budgets": classes.budget,
        "class_size": classes.count,
        "budget_total": budget_total,
        "periods": points.iter().map(|p| p.periods).collect::<Vec<_>>(),
        "points": points.iter().map(|p| json!({
            "periods": p.periods,
            "supply_per_period": p.supply_per_period,
            "prices": first_price(p),
            "revenues": p.revenues,
            "utilities": p.utilities,
            "energy": p.energy,
            "case": case_name(p.case),
            "water_filling_classes": p.water_filling_classes,
            "max_residual": p.max_residual,
        })).collect::<Vec<_>>(),
        "utility_limit": limits,
        "utilities_rise_with_periods": rising,
        "utilities_below_limit": below_limit,
        "max_revenue_budget_gap": max_revenue_gap,
        "max_price_spread_over_periods": price_spread,
        "max_residual": max_residual,
    });

    let mut text = String::new();
    let _ = writeln!(
        text,
        "EcoGrid classes and companies for T = 1..{max_t} ({PAPER} §VIII-A, Fig. 4):\n\
         5 classes of {} consumers with budgets {} DKK (no energy need), K = 4 companies\n\
         (wind, biomass, solar, biogas) owning 36/59, 16/59, 5/59, 2/59 of the day's {} kWh,\n\
         each splitting it equally over the T periods (Theorem 3: the unique Nash equilibrium\n\
         of the power allocation game). Exact equilibrium for every T (water-filling when\n\
         a class's eq. 10 demand would be negative).\n",
        num(studies::ECOGRID_CLASS_SIZE),
        classes
            .budget
            .iter()
            .map(|b| num(*b))
            .collect::<Vec<_>>()
            .join(", "),
        num(totals.iter().sum()),
    );
    let mut header: Vec<String> = vec!["T".into()];
    header.extend(COMPANY_NAMES.iter().map(|c| format!("p {c}")));
    header.extend(COMPANY_NAMES.iter().map(|c| format!("revenue {c}")));
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut prices_table = Table::new(&header_ref);
    let mut header: Vec<String> = vec!["T".into()];
    header.extend(
        classes
            .budget
            .iter()
            .map(|b| format!("U (B = {})", num(*b))),
    );
    header.push("classes buying nothing somewhere (budget)".into());
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut utility_table = Table::new(&header_ref);
    for p in &points {
        let mut row = vec![p.periods.to_string()];
        row.extend(first_price(p).iter().map(|v| num(*v)));
        row.extend(p.revenues.iter().map(|v| num(*v)));
        prices_table.row(row);
        let mut row = vec![p.periods.to_string()];
        row.extend(p.utilities.iter().map(|v| num(*v)));
        row.push(if p.water_filling_classes.is_empty() {
            "-".into()
        } else {
            p.water_filling_classes
                .iter()
                .map(|&n| {
                    classes
                        .budget
                        .get(n)
                        .map_or_else(|| "?".into(), |b| num(*b))
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        utility_table.row(row);
    }
    let mut limit_row = vec!["limit (eq. 25)".to_string()];
    limit_row.extend(
        limits
            .iter()
            .map(|l| l.map_or_else(|| "-".to_string(), num)),
    );
    utility_table.row(limit_row);
    let _ = writeln!(
        text,
        "Prices p_k (DKK/kWh, the same in every period) and revenues (DKK):"
    );
    text.push_str(&prices_table.render());
    let _ = writeln!(text, "\nUtility per consumer of each class:");
    text.push_str(&utility_table.render());
    let _ = writeln!(
        text,
        "\n  utilities rise with T (every class)   {}",
        if rising.iter().all(|&b| b) {
            "yes"
        } else {
            "NO"
        }
    );
    let _ = writeln!(
        text,
        "  ... and stay below eq. 25's limit      {}",
        if below_limit.iter().all(|&b| b) {
            "yes"
        } else {
            "NO"
        }
    );
    let _ = writeln!(
        text,
        "  Σ revenues = Σ budgets (eq. 15)        max gap {:.1e}",
        max_revenue_gap
    );
    let _ = writeln!(
        text,
        "  largest certificate residual           {:.1e}",
        max_residual
    );
    let _ = writeln!(
        text,
        "  price spread across periods            {:.1e}",
        price_spread
    );

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let ts = || points.iter().map(|p| p.periods as f64);
        let mut utilities = LineChart::new("Fig. 4: utility per consumer vs T")
            .x_label("number of periods T")
            .y_label("utility");
        for n in 0..n_classes {
            let label = format!("B = {} DKK", num(classes.budget[n]));
            utilities = utilities.series(
                label.clone(),
                ts().zip(points.iter().map(|p| p.utilities[n])),
            );
        }
        utilities = utilities.dashed_series(
            "limits T → ∞ (eq. 25)",
            levels(limits.iter().flatten().copied(), 1.0, max_t as f64),
        );
        plots.push(Plot::new("stackelberg-periods-utilities", &utilities));
        let mut prices = LineChart::new("Fig. 4: prices vs T")
            .x_label("number of periods T")
            .y_label("price (DKK/kWh)");
        let mut revenues = LineChart::new("Fig. 4: revenues vs T")
            .x_label("number of periods T")
            .y_label("revenue (DKK)");
        let mut power = LineChart::new("Fig. 4: power allocated per period vs T")
            .x_label("number of periods T")
            .y_label("G_k / T (kWh)")
            .log_y(true);
        for (k, name) in COMPANY_NAMES.iter().enumerate().take(k_n) {
            prices = prices.series(*name, ts().zip(points.iter().map(|p| first_price(p)[k])));
            revenues = revenues.series(*name, ts().zip(points.iter().map(|p| p.revenues[k])));
            power = power.series(
                *name,
                ts().zip(points.iter().map(|p| p.supply_per_period[k])),
            );
        }
        plots.push(Plot::new("stackelberg-periods-prices", &prices));
        plots.push(Plot::new("stackelberg-periods-revenues", &revenues));
        plots.push(Plot::new("stackelberg-periods-power", &power));
    }
    Ok(Output {
        json,
        text,
        plots,
        ..Output::default()
    })
}

// ---------------------------------------------------------------------------------------
// dr demo

/// The EcoGrid EU day, every printed number checked against an independent computation or
/// a statement of the paper.
fn demo_ecogrid(opts: &Options) -> Result<Output, CliError> {
    let context = "stackelberg demo: EcoGrid EU day";
    let err = |e: StackelbergError| CliError::model(context, ModelKind::Stackelberg, e);
    let s = studies::ecogrid_eu_day().map_err(err)?;
    let n = s.consumers as f64;
    let t_n = s.periods as f64;
    let g = &s.supply;
    let p = &s.prices;
    let pe = &s.experiment_prices;
    let b = s.budget_per_consumer;
    let tol = 1e-9;
    let mut failures: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };

    // Prices are positive and equal eq. 14 recomputed here: K = 1, ζ = γ = 1, Z = N,
    // p(t) = N B / (T (G(t) + N) (1 − N H)), H = Σ_t 1 / (T (G(t) + N)).
    let h: f64 = g.iter().map(|gt| 1.0 / (t_n * (gt + n))).sum();
    let eq14: Vec<f64> = g
        .iter()
        .map(|gt| n * b / (t_n * (gt + n) * (1.0 - n * h)))
        .collect();
    for (t, (pt, qt)) in p.iter().zip(&eq14).enumerate() {
        check(*pt > 0.0, format!("p({t}) = {pt} is not positive"));
        check(
            rel(*pt, *qt) <= 1e-10,
            format!("p({t}) = {pt} ≠ eq. 14 recomputed {qt}"),
        );
    }
    // The market clears: N d(t) = G(t) (each consumer gets G(t)/N).
    for (t, (d, gt)) in s.demand_per_consumer.iter().zip(g).enumerate() {
        check(
            rel(n * d, *gt) <= tol,
            format!("N d({t}) = {} ≠ G({t}) = {gt}", n * d),
        );
    }
    // Eq. 15: the company's revenue Σ p G equals the budgets N B.
    let revenue: f64 = p.iter().zip(g).map(|(a, c)| a * c).sum();
    check(
        rel(revenue, n * b) <= tol,
        format!("revenue {revenue} ≠ N B = {} (eq. 15)", n * b),
    );
    // Theorem 1 / eq. 11 recomputed at the experiment's prices (K = 1, ζ = 1), valid since
    // eq. 10's demands are then non-negative; the paper reports 7.55 DKK.
    let energy = s.energy_need;
    let inv: f64 = pe.iter().map(|q| 1.0 / (t_n * q)).sum();
    let eq11 = (energy + t_n) / inv - pe.iter().sum::<f64>();
    check(
        rel(b, eq11) <= 1e-10,
        format!("budget {b} ≠ eq. 11 recomputed {eq11}"),
    );
    check(
        (b - 7.55).abs() < 0.005,
        format!("budget {b} is not the paper's 7.55 DKK"),
    );
    let at_budget = best_response(pe, b * (1.0 + 1e-9), Preferences::uniform(1.0, 1.0));
    let below = best_response(pe, b * (1.0 - 1e-6), Preferences::uniform(1.0, 1.0));
    match (at_budget, below) {
        (Ok(a), Ok(c)) => check(
            a.energy >= energy * (1.0 - 1e-12) && c.energy < energy,
            format!(
                "budget {b} is not the minimum meeting E = {energy} at the experiment's prices \
                 (energy {} at B, {} just below)",
                a.energy, c.energy
            ),
        ),
        (a, c) => check(false, format!("best response failed: {a:?} {c:?}")),
    }
    // Mean and standard deviation recomputed; the paper's finding: a slightly smaller mean
    // and a much smaller spread than the experiment's prices.
    let (m_eq, sd_eq) = mean_std(p);
    let (m_ex, sd_ex) = mean_std(pe);
    check(
        rel(m_eq, s.price_mean) <= 1e-12 && rel(sd_eq, s.price_std) <= 1e-12,
        "equilibrium mean/sd".into(),
    );
    check(
        rel(m_ex, s.experiment_price_mean) <= 1e-12 && rel(sd_ex, s.experiment_price_std) <= 1e-12,
        "experiment mean/sd".into(),
    );
    check(
        m_eq < m_ex && sd_eq < sd_ex,
        format!("prices: mean {m_eq} vs {m_ex}, sd {sd_eq} vs {sd_ex}"),
    );
    // Payments: at equilibrium the budget is spent exactly; in the experiment each consumer
    // paid Σ p_exp(t) G(t)/N for the same energy; savings are positive.
    let pay_eq: f64 = p
        .iter()
        .zip(&s.demand_per_consumer)
        .map(|(a, d)| a * d)
        .sum();
    let pay_ex: f64 = pe.iter().zip(g).map(|(a, c)| a * c / n).sum();
    let savings = 1.0 - pay_eq / pay_ex;
    check(
        rel(pay_eq, b) <= tol,
        format!("payment {pay_eq} ≠ budget {b}"),
    );
    check(
        rel(pay_ex, s.payment_experiment) <= 1e-12 && rel(savings, s.savings_fraction) <= 1e-9,
        format!("savings {savings} ≠ {}", s.savings_fraction),
    );
    check(savings > 0.0, format!("savings {savings} ≤ 0"));
    // The distributed algorithm (eq. 21, δ = 0) reaches the same prices.
    let market = Market::new(
        s.periods,
        vec![Company::new(g.clone())],
        ConsumerClasses::homogeneous(n, b, energy),
    )
    .map_err(err)?;
    let run = run_distributed(&market, &DistributedSettings::default()).map_err(err)?;
    let run_error = max_price_error(&run.prices, &s.equilibrium.prices);
    check(
        run.termination == Termination::Converged && run_error <= 1e-6,
        format!(
            "eq. 21 run: {:?} after {} rounds, price error {run_error}",
            run.termination, run.rounds
        ),
    );
    let cert = &s.equilibrium.certificate.certificate;
    check(
        cert.holds(tol),
        format!("certificate does not hold: {cert:?}"),
    );
    if !failures.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "{context}: {}",
            failures.join("; ")
        )));
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the Stackelberg game of {PAPER} on the EcoGrid EU day (Bornholm, 5 Dec 2014;\n\
         §VIII-A): one company selling the experiment's hourly supply G(t) over T = 24 hours to\n\
         N = 2000 identical consumers with log utility Σ ln(1 + d(t)) and energy need\n\
         E = Σ G / N = {} kWh. (Same as `dr solve data/stackelberg_ecogrid.toml`.)\n",
        heading_word(cert.status),
        num(energy)
    );
    let lines: [(&str, String, String); 8] = [
        (
            "budget B per consumer",
            format!("{} DKK", num(b)),
            "Theorem 1 at p_exp: = eq. 11 by hand; least B meeting E (paper: 7.55)".into(),
        ),
        (
            "equilibrium prices",
            format!("mean {} sd {}", num(m_eq), num(sd_eq)),
            "DKK/kWh; every p(t) > 0 and = eq. 14 by hand".into(),
        ),
        (
            "experiment's prices",
            format!("mean {} sd {}", num(m_ex), num(sd_ex)),
            "DKK/kWh; higher mean and sd (the paper's finding)".into(),
        ),
        (
            "company revenue Σ p(t) G(t)",
            format!("{} DKK", num(revenue)),
            "= N B: budgets fully spent (eq. 15)".into(),
        ),
        (
            "payment per consumer",
            format!("{} DKK", num(pay_eq)),
            "at equilibrium, = B, for N d(t) = G(t) every hour".into(),
        ),
        (
            "... in the experiment",
            format!("{} DKK", num(pay_ex)),
            "Σ p_exp(t) G(t) / N".into(),
        ),
        (
            "savings",
            format!("{:.1}%", 100.0 * savings),
            "1 − payment / experiment's payment > 0".into(),
        ),
        (
            "distributed eq. 21, δ = 0",
            rounds(run.rounds),
            format!("converged to the same prices (max error {run_error:.1e})"),
        ),
    ];
    let _ = writeln!(text, "  {:<28}  {:<26}  checked", "", "");
    for (what, value, check) in &lines {
        let _ = writeln!(text, "  {what:<28}  {value:<26}  {check}");
    }
    text.push('\n');
    text.push_str(&certificate_text(cert));
    let mut table = Table::new(&["hour", "G(t) kW", "p_exp", "p_eq", "d(t) kWh"]);
    for t in 0..s.periods {
        table.row(vec![
            t.to_string(),
            num(g[t]),
            num(pe[t]),
            num(p[t]),
            num(s.demand_per_consumer[t]),
        ]);
    }
    let _ = writeln!(
        text,
        "\nHourly prices (DKK/kWh): the equilibrium is lowest when supply is highest \
         (Remark 2: p(t)(G(t) + N) is constant):"
    );
    text.push_str(&table.render());

    let json = json!({
        "solved": "Stackelberg equilibrium of the EcoGrid EU day (alshehri-liu-chen-basar §VIII-A, eq. 14)",
        "consumers": s.consumers,
        "periods": s.periods,
        "supply": g,
        "energy_need": energy,
        "budget_per_consumer": b,
        "prices": p,
        "experiment_prices": pe,
        "price_mean": m_eq,
        "price_std": sd_eq,
        "experiment_price_mean": m_ex,
        "experiment_price_std": sd_ex,
        "revenue": revenue,
        "payment_equilibrium": pay_eq,
        "payment_experiment": pay_ex,
        "savings_fraction": savings,
        "distributed_rounds": run.rounds,
        "distributed_price_error": run_error,
        "certificate": certificate_json(cert),
    });
    let mut plots = Vec::new();
    if opts.wants_plots() {
        let hours = || (0..s.periods).map(|t| t as f64);
        let chart = LineChart::new("EcoGrid EU, 5 Dec 2014: prices")
            .x_label("hour")
            .y_label("price (DKK/kWh)")
            .series_with_markers("experiment", hours().zip(pe.iter().copied()))
            .series_with_markers(
                "Stackelberg equilibrium (eq. 14)",
                hours().zip(p.iter().copied()),
            );
        plots.push(Plot::new("stackelberg-ecogrid-demo-prices", &chart));
    }
    let mut out = Output {
        json,
        text,
        plots,
        ..Output::default()
    };
    out.certificate("EcoGrid EU equilibrium", cert);
    Ok(out)
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
        let out = demo_ecogrid(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.text.contains("certificate:"));
        assert_eq!(out.json["certificate"]["status"], "Solved");
        assert_eq!(out.plots.len(), 1);
    }

    #[test]
    fn shown_entries_pick_extremes() {
        let p = vec![vec![3.0, 1.0, 2.0, 5.0, 4.0]];
        assert_eq!(shown_entries(&p), vec![(0, 1), (0, 3), (0, 0)]);
        let small = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        assert_eq!(shown_entries(&small).len(), 4);
    }
}
