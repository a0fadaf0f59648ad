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
//! - `dr study stackelberg-asymptotics [--set max_periods=N --set price_max=P]`: §VII, the
//!   paper's asymptotic claims (eqs. 22–27, Remark 4, Theorem 5) with a verdict each;
//! - a `dr demo` section: the EcoGrid EU day, every printed number checked.
//!
//! Every handler renders a typed report of `dr-stackelberg` ([`dr_stackelberg::SolveReport`],
//! [`dr_stackelberg::SimulationReport`], …): `--json` streams the report, the text is
//! formatted from the same value.
//!
//! **Tables** (`--output DIR`, CSV or with `--format parquet` Parquet), written from the
//! report's own fields, column names those of the JSON: `dr solve` writes
//! `company_periods.csv` (per company `k` and period `t`: price `p_k(t)`, supply `G_k(t)`,
//! aggregate demand `D_k(t)`, the clearing — excess demand, sold, served fraction — and
//! where the price sits, Remark 3), `companies.csv` (revenue, share of `Σ budgets`),
//! `classes.csv` (count, budget, Theorem 1's minimum budget, energy, need, utility, payment
//! and what rationing leaves each consumer; with general consumers `λ_n` and whether the
//! budget binds) and `demand.csv` (per class, company and period, `d_{n,k}(t)` of one
//! consumer and what it receives); `dr simulate` writes `company_periods.csv` (final and
//! equilibrium prices), `rounds.csv` (mismatch, price error) and `round_prices.csv`.
//!
//! **General consumers** (§IX-A non-log utilities, §III demand bounds; scenario keys
//! `utility`, `exponent`, `satiation`, `min_demand`, `max_demand`, `fixed_demand`):
//! `dr solve` prints the numerically computed clearing prices with their certificate and the
//! paper's claims judged (Theorem 2 by unilateral deviations: it fails for inelastic,
//! satiating or non-shiftable demand, exit 3); `dr simulate` runs eq. 21 with the classes'
//! numerical best responses (convergence observed, not guaranteed: Theorem 4 covers log
//! consumers only); `dr verify` re-solves each class's best response at
//! the equilibrium prices with the LP back end ([`dr_stackelberg::general_consumer_problem`])
//! and checks the clearing condition with the LP's demands within their proven radii.
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
use super::csv::{self, tabled};
use super::demo::DemoSection;
use super::error::CliError;
use super::models::ModelCommands;
use super::output::{
    certificate_text, check_memory, heading_word, num, CsvTable, Draft, Options, Output, Table,
};
use super::study::Study;
use crate::command::RoundReport;
use demand_response::plot::{BarChart, LineChart, Plot};
use demand_response::scenario::{ModelKind, Scenario};
use dr_convex::Claim;
use dr_stackelberg::studies::{self, CaseStudy};
use dr_stackelberg::{
    asymptotics_study, dutch_pilot_study, ecogrid_demo, ecogrid_study, period_sweep,
    solve_equilibrium, solve_general_equilibrium, CaseStudyReport, DemandOutput,
    DistributedPricing, DistributedRun, DistributedSettings, EquilibriumCase, EquilibriumChecks,
    EquilibriumSettings, GeneralSettings, GeneralSolveReport, InitialPrices, PaperSettingReport,
    PeriodPoint, PeriodsReport, PriceBound, PriceUpdate, RationingRule, RunReport,
    SimulationReport, SolveReport, StackelbergError, UpdateOrder, ECOGRID_COMPANY_NAMES,
};
use std::fmt::Write as _;
use std::sync::Arc;

/// The Stackelberg model's commands, studies and demo section.
pub(crate) const COMMANDS: ModelCommands = ModelCommands {
    solve,
    simulate: Some(simulate),
    verify: Some(verify),
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
        Study {
            name: "stackelberg-asymptotics",
            model: ModelKind::Stackelberg,
            summary: "§VII asymptotics: T → ∞ (eqs. 22–25, Remark 4) and N → ∞ (eqs. 26–27), the company-to-consumer ratio of Theorem 5, the paper's claims with verdicts (alshehri-liu-chen-basar §VII)",
            run: study_asymptotics,
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

fn termination_text(run: &RunReport, tolerance: Option<f64>) -> String {
    match run.termination.as_str() {
        "converged" => match tolerance {
            Some(tol) => format!(
                "converged after {} (max |D − G|/G ≤ {})",
                rounds(run.rounds_run),
                num(tol)
            ),
            None => format!("converged after {}", rounds(run.rounds_run)),
        },
        "max_rounds" => format!("stopped at the round limit ({})", rounds(run.rounds_run)),
        "non_positive_price" => {
            let (company, period) = run.termination_at.map_or((0, 0), |e| (e.company, e.period));
            format!(
                "stopped after {}: the update gave company {company} a non-positive price in \
                 period {period} (Theorem 4 excludes this only for δ ≥ 0)",
                rounds(run.rounds_run)
            )
        }
        "diverged" => format!("diverged after {}", rounds(run.rounds_run)),
        other => format!("stopped ({other}) after {}", rounds(run.rounds_run)),
    }
}

fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".to_string()
    } else {
        format!("{n} rounds")
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

// ---------------------------------------------------------------------------------------
// dr solve

fn solve(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only("stackelberg solve", &[])?;
    let file: dr_stackelberg::Scenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    if file.is_general() {
        return solve_general(s, &file, opts);
    }
    let err = model_err(s.name());
    let model = file.build().map_err(&err)?;
    let market = &model.market;
    let settings = EquilibriumSettings {
        demands: DemandOutput::PerClass,
        ..EquilibriumSettings::default()
    };
    let eq = solve_equilibrium(market, &settings).map_err(&err)?;
    let r = SolveReport::new(s.name(), &model, &eq);
    drop(eq);
    let k_n = r.market.companies.len();
    let t_n = r.market.periods;
    let classes = r.market.classes.len();
    let consumers_total = r.consumers_total;
    let revenue_total = r.revenue_total;

    let cert = &r.certificate.certificate;
    let clearing = &r.clearing;
    let mut out = Draft::default();
    out.certificate("Stackelberg equilibrium", cert);
    if let Some(a) = &r.allocation {
        out.outcome.converged(
            "power allocation game (Theorem 3 / r. 20)",
            a.status.is_solved(),
            &format!(
                "{:?} after {} best-response rounds (largest unilateral gain {:.2e})",
                a.status, a.rounds, a.max_gain
            ),
        );
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the Stackelberg equilibrium of {} ({PAPER} §IV-B):\n\
         {k_n} compan{} × {t_n} period{}, {classes} consumer class{} ({} consumers).\n\
         Companies announce prices p_k(t); each consumer maximises Σ γ ln(ζ + d) within its\n\
         budget (r. 10); {}\n",
        heading_word(match &r.allocation {
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
    let _ = writeln!(text, "  case  {}", case_text(r.case));
    if let Some(a) = &r.allocation {
        let _ = writeln!(
            text,
            "  power allocation game (Theorem 3 / r. 20) played first: {} best-response rounds, \
             status {:?}",
            a.rounds, a.status
        );
    }
    for c in &r.claims {
        out.claim(&c.claim, c.holds);
    }
    let holds = r.claims.iter().all(|c| c.holds);
    if clearing.unspent_total == 0.0 {
        let _ = writeln!(
            text,
            "  Σ revenues {} {} Σ budgets {} (eq. 15: budgets are fully spent){}\n",
            num(revenue_total),
            if holds { "=" } else { "≠" },
            num(r.budget_total),
            if holds { "" } else { " — DOES NOT HOLD" }
        );
    } else {
        let _ = writeln!(
            text,
            "  Σ revenues {} < Σ budgets {}: {} of the budgets is left unspent (rationed at\n\
             \x20 p_max, so eq. 15 does not apply); revenues + unspent {} budgets{}\n",
            num(revenue_total),
            num(r.budget_total),
            num(clearing.unspent_total),
            if holds { "=" } else { "≠" },
            if holds { "" } else { " — DOES NOT HOLD" }
        );
    }
    if !clearing.clears {
        text.push_str(&clearing_text(&r));
        text.push('\n');
    }

    let _ = writeln!(text, "Equilibrium prices p_k(t) and supplies G_k(t):");
    text.push_str(&company_periods_text(
        &r.market.companies,
        t_n,
        &[("p(t)", &r.prices), ("G(t)", &r.supply)],
    ));

    let mut companies = Table::new(&["company", "revenue", "share of Σ budgets"]);
    for (k, name) in r.market.companies.iter().enumerate() {
        companies.row(vec![
            name.clone(),
            num(r.revenues[k]),
            format!("{:.1}%", 100.0 * r.revenue_share[k]),
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
            r.market.classes[n].clone(),
            num(r.count[n]),
            num(r.budget[n]),
            num(r.minimum_budget[n]),
            num(r.energy[n]),
            num(r.energy_need[n]),
            num(r.utility[n]),
            num(r.payment[n]),
        ]);
    }
    let _ = writeln!(
        text,
        "\nConsumer classes (per consumer; minimum budget = Theorem 1 at the equilibrium prices):"
    );
    text.push_str(&table.render());
    if !r.water_filling_classes.is_empty() {
        let _ = writeln!(
            text,
            "classes buying nothing on some (company, period) (water-filling): {:?}",
            r.water_filling_classes
        );
    }
    if classes * k_n <= 6 && !r.demand.is_empty() {
        let mut header: Vec<String> = vec!["period t".into()];
        for n in 0..classes {
            for k in 0..k_n {
                let who = match (classes, k_n) {
                    (1, 1) => "d(t)".to_string(),
                    (1, _) => format!("d_k{k}(t)"),
                    (_, 1) => format!("d(t) {}", r.market.classes[n]),
                    _ => format!("d_k{k}(t) {}", r.market.classes[n]),
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
                    row.push(num(r.demand[n][k][t]));
                }
            }
            table.row(row);
        }
        let _ = writeln!(text, "\nDemand per consumer d_{{n,k}}(t):");
        text.push_str(&table.render());
    } else {
        let _ = writeln!(
            text,
            "\n(per-consumer demands d[class][k][t]: see --json, or demand.csv with --output DIR)"
        );
    }
    text.push('\n');
    text.push_str(&certificate_text(&r.certificate.certificate));
    text.push_str(&equilibrium_certificate_text(
        &r.equilibrium_certificate,
        r.clearing.unspent_total,
    ));

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let mut chart = LineChart::new("Equilibrium prices p_k(t)")
            .x_label("period t")
            .y_label("price");
        for (k, name) in r.market.companies.iter().enumerate() {
            chart = chart.series_with_markers(
                name.clone(),
                r.prices[k].iter().enumerate().map(|(t, p)| (t as f64, *p)),
            );
        }
        plots.push(Plot::new("stackelberg-solve-prices", &chart));
    }
    out.text = text;
    out.plots = plots;
    Ok(tabled(out, r, solve_tables))
}

/// Companies shown in the text tables (the others: see `--json` or `--output`).
const SHOWN_COMPANIES: usize = 4;

/// The text table of `[k][t]` values per period: for each of the first
/// [`SHOWN_COMPANIES`] companies one column per `(symbol, table)` in `columns`, named by
/// the symbol and, with several companies, the company.
fn company_periods_text(
    companies: &[String],
    periods: usize,
    columns: &[(&str, &[Vec<f64>])],
) -> String {
    let shown = &companies[..companies.len().min(SHOWN_COMPANIES)];
    let mut header: Vec<String> = vec!["period t".into()];
    for name in shown {
        for (symbol, _) in columns {
            header.push(if companies.len() == 1 {
                symbol.to_string()
            } else {
                format!("{symbol} {name}")
            });
        }
    }
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_ref);
    for t in 0..periods {
        let mut row = vec![t.to_string()];
        for k in 0..shown.len() {
            row.extend(columns.iter().map(|(_, v)| num(v[k][t])));
        }
        table.row(row);
    }
    let mut text = table.render();
    if companies.len() > shown.len() {
        let _ = writeln!(
            text,
            "({} more companies: see --json or --output DIR)",
            companies.len() - shown.len()
        );
    }
    text
}

/// `dr solve` with general consumers (§IX-A non-log utilities, §III demand bounds): the
/// clearing prices computed numerically, the certificate, and the paper's claims judged
/// (Theorem 2 by unilateral deviations).
fn solve_general(
    s: &Scenario,
    file: &dr_stackelberg::Scenario,
    opts: &Options,
) -> Result<Output, CliError> {
    let err = model_err(s.name());
    let model = file.build_general().map_err(&err)?;
    let eq = solve_general_equilibrium(&model.market, &GeneralSettings::default()).map_err(&err)?;
    let r = GeneralSolveReport::new(s.name(), &model, eq);
    drop(model);
    let e = &r.equilibrium;
    let cert = &e.certificate;
    let mut out = Draft::default();
    out.certificate("Stackelberg equilibrium (general consumers)", cert);
    let (k_n, t_n, classes) = (
        r.market.companies.len(),
        r.market.periods,
        r.market.classes.len(),
    );
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the equilibrium prices of {} with general consumers ({PAPER} §IX-A, §III):\n\
         {k_n} compan{} × {t_n} period{}, {classes} consumer class{}. Each consumer maximises its own\n\
         utility within its budget and demand bounds (solved numerically by the kernel allocator);\n\
         {} (damped Newton, {} iterations).\n\
         The paper's closed forms do not apply here: {}.\n",
        heading_word(cert.status),
        s.name(),
        if k_n == 1 { "y" } else { "ies" },
        if t_n == 1 { "" } else { "s" },
        if classes == 1 { "" } else { "es" },
        if e.clears {
            "the companies' prices make every company sell its supply"
        } else {
            "a price bound of Remark 3 binds: the market does NOT clear (see below)"
        },
        e.iterations,
        r.not_applicable.join("; "),
    );
    let _ = writeln!(text, "Prices p_k(t), supplies G_k(t) and demands D_k(t):");
    text.push_str(&company_periods_text(
        &r.market.companies,
        t_n,
        &[
            ("p(t)", &e.prices),
            ("G(t)", &e.supply),
            ("D(t)", &e.aggregate_demand),
        ],
    ));
    let mut table = Table::new(&[
        "class",
        "utility family",
        "consumers",
        "budget",
        "payment",
        "budget binds",
        "λ (marginal utility of money)",
        "energy",
        "need",
        "utility",
    ]);
    for n in 0..classes {
        let family = match r.utility_family[n] {
            dr_stackelberg::UtilityFamily::Log => "log".to_string(),
            dr_stackelberg::UtilityFamily::Power { exponent } => {
                format!("power α = {}", num(exponent))
            }
            dr_stackelberg::UtilityFamily::Satiating { satiation } => {
                format!("satiating s = {}", num(satiation))
            }
        };
        table.row(vec![
            r.market.classes[n].clone(),
            family,
            num(r.count[n]),
            num(r.budget[n]),
            num(e.payment[n]),
            if e.budget_binds[n] { "yes" } else { "no" }.into(),
            num(e.multiplier[n]),
            num(e.energy[n]),
            num(r.energy_need[n]),
            num(e.utility[n]),
        ]);
    }
    let _ = writeln!(text, "\nConsumer classes (per consumer):");
    text.push_str(&table.render());
    if !e.clears {
        let _ = writeln!(
            text,
            "\nThe market does NOT clear: a price sits at a bound (Remark 3). Where demand exceeds\n\
             supply at p_max every consumer receives the same fraction G/D of its request and\n\
             pays for what it receives (proportional rationing: our rule, the paper names none)."
        );
        let mut table = Table::new(&[
            "class",
            "energy asked",
            "received",
            "paid",
            "unspent budget",
        ]);
        for n in 0..classes {
            table.row(vec![
                r.market.classes[n].clone(),
                num(e.energy[n]),
                num(e.energy_received[n]),
                num(e.payment_received[n]),
                num(e.unspent_budget[n]),
            ]);
        }
        text.push_str(&table.render());
    }
    let mut companies = Table::new(&["company", "revenue"]);
    for (k, name) in r.market.companies.iter().enumerate() {
        companies.row(vec![name.clone(), num(e.revenues[k])]);
    }
    let _ = writeln!(text, "\nCompanies:");
    text.push_str(&companies.render());
    let _ = writeln!(text, "\nThe paper's properties at these prices:");
    text.push_str(&claims_text(&e.claims, &mut out));
    text.push('\n');
    text.push_str(&certificate_text(cert));
    let _ = writeln!(
        text,
        "  clearing              {:.3e} (|D − G|/G at free prices; sign of D − G at bounds)",
        e.supply_balance
    );
    let _ = writeln!(
        text,
        "  consumer KKT          {:.3e} (marginal utility = λ p inside the bounds, signs at them)",
        e.consumer_kkt
    );
    if opts.wants_plots() {
        let mut chart = LineChart::new("Equilibrium prices p_k(t) (general consumers)")
            .x_label("period t")
            .y_label("price");
        for (k, name) in r.market.companies.iter().enumerate() {
            chart = chart.series_with_markers(
                name.clone(),
                e.prices[k].iter().enumerate().map(|(t, p)| (t as f64, *p)),
            );
        }
        out.plots
            .push(Plot::new("stackelberg-solve-prices", &chart));
    }
    out.text = text;
    Ok(tabled(out, r, general_solve_tables))
}

/// `dr verify`: the LP cross-check. The paper's log consumers go through the facade's
/// check (`demand_response::verify`); general consumers (§IX-A, §III) are checked here:
/// each class's best response at the equilibrium prices against the LP back end
/// ([`dr_stackelberg::general_consumer_problem`], `dr_lp::check_candidate`), and the
/// clearing condition with the LP's demands within their proven radii.
fn verify(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    let file: dr_stackelberg::Scenario = s.parse()?;
    if !file.is_general() {
        return super::verify::verify(s, opts);
    }
    opts.params
        .allow_only("stackelberg verify (general consumers)", &[])?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let err = model_err(s.name());
    let model = file.build_general().map_err(&err)?;
    let eq = solve_general_equilibrium(&model.market, &GeneralSettings::default()).map_err(&err)?;
    let prices: Vec<f64> = eq.prices.concat();
    let supply: Vec<f64> = eq.supply.concat();
    let bounds: Vec<PriceBound> = eq.price_bound.concat();
    let settings = dr_lp::CompareSettings::default();
    let kappa = settings.check.kernel_tolerance;
    let mut classes = Vec::new();
    let mut lp_aggregate = vec![0.0; prices.len()];
    let mut allowance = vec![0.0; prices.len()];
    let mut located = true;
    for (n, class) in model.market.classes().iter().enumerate() {
        let response = dr_stackelberg::general_best_response(&prices, class).map_err(&err)?;
        let gp =
            dr_stackelberg::general_consumer_problem(&prices, class, &response).map_err(&err)?;
        match dr_lp::check_candidate(&gp.problem, &gp.candidate, &settings) {
            Ok(checked) => {
                for j in 0..prices.len() {
                    lp_aggregate[j] += class.count * gp.sigma * checked.lp.x[j];
                    allowance[j] += class.count * gp.sigma * checked.radii[j];
                }
                located &= checked.radii.iter().all(|r| r.is_finite());
                classes.push(GeneralClassCheck {
                    class: model.consumer_names[n].clone(),
                    verdict: checked.cross_check.verdict.name().into(),
                    reason: checked.cross_check.reason.clone(),
                    max_allocation_gap: checked.cross_check.max_allocation_gap * gp.sigma,
                    objective_gap: checked.cross_check.objective_gap,
                    bound: checked.cross_check.bound,
                });
            }
            Err(e) => {
                located = false;
                classes.push(GeneralClassCheck {
                    class: model.consumer_names[n].clone(),
                    verdict: "inconclusive".into(),
                    reason: format!("the LP back end failed: {e}"),
                    max_allocation_gap: f64::NAN,
                    objective_gap: f64::NAN,
                    bound: f64::NAN,
                });
            }
        }
    }
    // Clearing with the LP-verified demands: exact at free prices, the sign at a bound.
    let mut clearing_ratio = 0.0_f64;
    for j in 0..prices.len() {
        let excess = lp_aggregate[j] - supply[j];
        let violation = match bounds[j] {
            PriceBound::AtMin => excess.max(0.0),
            PriceBound::AtMax => (-excess).max(0.0),
            PriceBound::Free => excess.abs(),
        };
        let tol = allowance[j] + kappa * supply[j];
        clearing_ratio = clearing_ratio.max(if violation == 0.0 {
            0.0
        } else {
            violation / tol
        });
    }
    let disagrees = classes.iter().any(|c| c.verdict == "disagrees");
    let inconclusive = classes.iter().any(|c| c.verdict == "inconclusive");
    let clearing = if !located {
        "inconclusive"
    } else if clearing_ratio <= 1.0 {
        "agrees"
    } else {
        "disagrees"
    };
    let verdict = if disagrees || clearing == "disagrees" {
        "disagrees"
    } else if inconclusive || clearing == "inconclusive" {
        "inconclusive"
    } else {
        "agrees"
    };
    let mut out = Draft::default();
    out.certificate(
        "Stackelberg equilibrium (general consumers)",
        &eq.certificate,
    );
    for c in &classes {
        match c.verdict.as_str() {
            "disagrees" => out.outcome.disagrees(&format!(
                "{}: {}: the best response disagrees with the LP reference back end (proven): {}",
                s.name(),
                c.class,
                c.reason
            )),
            "inconclusive" => out.outcome.not_confirmed(
                &format!("{}: {}: LP cross-check", s.name(), c.class),
                &c.reason,
            ),
            _ => {}
        }
    }
    match clearing {
        "disagrees" => out.outcome.disagrees(&format!(
            "{}: the prices do not clear the market with the LP's demands (ratio {clearing_ratio:.2e} > 1)",
            s.name()
        )),
        "inconclusive" => out.outcome.not_confirmed(
            &format!("{}: clearing with the LP's demands", s.name()),
            "some demand could not be located by the LP back end (no proven radius)",
        ),
        _ => {}
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {} — general consumers ({PAPER} §IX-A, §III): each class's best response at the\n\
         equilibrium prices re-solved by the LP reference back end (piecewise-linear outer\n\
         approximation, proven interval), and the clearing condition with the LP's demands.\n",
        match verdict {
            "agrees" => "Agrees (proven)",
            "disagrees" => "DISAGREES (proven)",
            _ => "NOT CONFIRMED",
        },
        s.name()
    );
    let mut table = Table::new(&[
        "class",
        "verdict",
        "max |d − d_LP|",
        "objective gap",
        "proven bound",
    ]);
    for c in &classes {
        table.row(vec![
            c.class.clone(),
            c.verdict.clone(),
            format!("{:.2e}", c.max_allocation_gap),
            format!("{:.2e}", c.objective_gap),
            format!("{:.2e}", c.bound),
        ]);
    }
    text.push_str(&table.render());
    let _ = writeln!(
        text,
        "  clearing with the LP's demands: {clearing} (violation / allowance = {clearing_ratio:.2e})"
    );
    for c in classes.iter().filter(|c| c.verdict != "agrees") {
        let _ = writeln!(text, "  {}: {}", c.class, c.reason);
    }
    out.text = text;
    Ok(out.with_body(GeneralVerifyReport {
        model: "stackelberg".into(),
        file: s.name().into(),
        verdict: verdict.into(),
        agrees: verdict == "agrees",
        classes,
        clearing: clearing.into(),
        clearing_ratio,
    }))
}

/// One class's LP cross-check (general consumers).
#[derive(serde::Serialize)]
struct GeneralClassCheck {
    class: String,
    /// `agrees`, `disagrees` or `inconclusive`.
    verdict: String,
    reason: String,
    /// `max_j |d_j − d_LP,j|` in the file's units.
    max_allocation_gap: f64,
    /// Kernel objective above the LP's proven lower bound (scaled units).
    objective_gap: f64,
    /// The LP's proven bound `U − L` (scaled units).
    bound: f64,
}

/// `dr verify` on general consumers.
#[derive(serde::Serialize)]
struct GeneralVerifyReport {
    model: String,
    file: String,
    verdict: String,
    agrees: bool,
    classes: Vec<GeneralClassCheck>,
    /// Clearing with the LP's demands: `agrees`, `disagrees` or `inconclusive`.
    clearing: String,
    /// Largest clearing violation over its allowance (≤ 1 agrees).
    clearing_ratio: f64,
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

/// The market-clearing section printed when a price bound binds (Remark 3).
fn clearing_text(r: &SolveReport) -> String {
    let c = &r.clearing;
    let (companies, classes) = (&r.market.companies, &r.market.classes);
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
    for (k, row) in r.price_bound.iter().enumerate() {
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
                num(r.prices[k][t]),
                bound_name(*b).replace('_', " "),
                num(r.aggregate_demand[k][t]),
                num(r.supply[k][t]),
                num(c.excess_demand[k][t]),
                format!("{:.1}%", 100.0 * c.served_fraction[k][t]),
            ]);
        }
    }
    s.push_str(&table.render());
    if more > 0 {
        let _ = writeln!(
            s,
            "({more} more bounded entries: see --json, or company_periods.csv with --output DIR)"
        );
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
            num(r.energy[n]),
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

fn equilibrium_certificate_text(c: &EquilibriumChecks, unspent_total: f64) -> String {
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
        if unspent_total > 0.0 {
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
    // General consumers (§IX-A, §III) answer with their numerical best responses; the
    // paper's log consumers with eq. 10 / water-filling.
    let general = file.is_general();
    let general_model = if general {
        Some(file.build_general().map_err(&err)?)
    } else {
        None
    };
    let log_model = if general {
        None
    } else {
        Some(file.build().map_err(&err)?)
    };
    let (market, file_settings) = match (&general_model, &log_model) {
        (Some(g), _) => (g.market.base(), &g.simulation),
        (None, Some(l)) => (&l.market, &l.simulation),
        (None, None) => {
            return Err(CliError::model(
                s.name(),
                ModelKind::Stackelberg,
                "no market was built",
            ))
        }
    };
    let settings = simulation_settings(s, opts, file_settings)?;
    // The equilibrium the run should reach (energy needs are not the algorithm's business:
    // it only clears the market).
    let (reference, reference_certificate) = match &general_model {
        Some(g) => {
            let eq =
                solve_general_equilibrium(&g.market, &GeneralSettings::default()).map_err(&err)?;
            (eq.prices, eq.certificate)
        }
        None => {
            let eq = solve_equilibrium(
                market,
                &EquilibriumSettings {
                    check_energy_need: false,
                    ..EquilibriumSettings::default()
                },
            )
            .map_err(&err)?;
            (eq.prices, eq.certificate.certificate)
        }
    };
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
    let stepper = match &general_model {
        Some(g) => DistributedPricing::new_general(&g.market, &settings),
        None => DistributedPricing::new(market, &settings),
    }
    .map_err(&err)?;
    let run: DistributedRun = stepper.executor().observe(&mut bar).run().into();
    let k_n = market.companies().len();
    let companies = match (&general_model, &log_model) {
        (Some(g), _) => &g.company_names,
        (None, Some(l)) => &l.company_names,
        (None, None) => &Vec::new(),
    };
    let report = SimulationReport::with_reference(
        s.name(),
        if general {
            "distributed price algorithm (alshehri-liu-chen-basar eq. 21) with general consumers \
             (§IX-A, §III): Theorem 4 does not apply"
        } else {
            "distributed price algorithm (alshehri-liu-chen-basar eq. 21, Theorem 4)"
        },
        companies,
        &settings,
        &run,
        &reference,
        &reference_certificate,
    );
    let run = &report.run;
    let converged = run.converged();

    let mut out = Draft::default();
    out.certificate(
        "exact equilibrium (the run's reference)",
        &report.equilibrium_certificate.certificate,
    );
    out.outcome.converged(
        "distributed price algorithm (eq. 21)",
        converged,
        &termination_text(run, Some(settings.tolerance)),
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
            format!("NOT CONVERGED ({})", run.termination)
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
    if general {
        let _ = writeln!(
            text,
            "  consumers            general (§IX-A, §III): each class answers with its numerical best\n\
             \x20                      response; Theorem 4 guarantees convergence only for the paper's\n\
             \x20                      log consumers, so here it is observed, not assumed"
        );
    }
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
        termination_text(run, Some(settings.tolerance))
    );
    let last_mismatch = run.rounds.last().map_or(f64::NAN, |r| r.mismatch);
    let _ = writeln!(
        text,
        "  final mismatch       {:.3e} (max_k,t |D_k(t) − G_k(t)| / G_k(t); at a price bound only\n\
         \x20                      the wrong sign counts, Remark 3)",
        last_mismatch
    );
    let _ = writeln!(
        text,
        "  price error          {:.3e} (max |p − p̄| / p̄ against the exact equilibrium of `dr solve`)\n",
        run.max_price_error
    );

    let shown = shown_entries(&run.equilibrium_prices);
    let mut header: Vec<String> = vec!["round".into(), "mismatch".into(), "price error".into()];
    header.extend(shown.iter().map(|&e| entry_label(e, k_n)));
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_ref);
    let len = run.rounds.len();
    let every = opts.sim.every.unwrap_or_else(|| len.div_ceil(20)).max(1);
    for (i, r) in run.rounds.iter().enumerate() {
        if i % every != 0 && i + 1 != len {
            continue;
        }
        let mut row = vec![r.round.to_string(), format!("{:.3e}", r.mismatch)];
        match (&r.prices, r.price_error) {
            (Some(p), Some(e)) => {
                row.push(format!("{e:.3e}"));
                for &(k, t) in &shown {
                    row.push(num(p[k][t]));
                }
            }
            _ => row.push("-".into()),
        }
        table.row(row);
    }
    let mut eq_row = vec!["p̄ (solve)".to_string(), String::new(), String::new()];
    for &(k, t) in &shown {
        eq_row.push(num(run.equilibrium_prices[k][t]));
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
        let last = run.rounds.last().map_or(0.0, |r| r.round as f64);
        for &(k, t) in &shown {
            let label = entry_label((k, t), k_n);
            chart = chart.series(
                label.clone(),
                run.rounds
                    .iter()
                    .filter_map(|r| r.prices.as_ref().map(|p| (r.round as f64, p[k][t]))),
            );
        }
        chart = chart.dashed_series(
            "equilibrium (dr solve)",
            levels(
                shown.iter().map(|&(k, t)| run.equilibrium_prices[k][t]),
                0.0,
                last.max(1.0),
            ),
        );
        plots.push(Plot::new("stackelberg-simulate-prices", &chart));
        let chart = LineChart::new("Supply–demand mismatch per round")
            .x_label("round")
            .y_label("max |D − G| / G")
            .log_y(true)
            .series(
                run.rule.clone(),
                run.rounds.iter().map(|r| (r.round as f64, r.mismatch)),
            );
        plots.push(Plot::new("stackelberg-simulate-mismatch", &chart));
    }
    out.text = text;
    out.plots = plots;
    Ok(tabled(out, report, simulation_tables))
}

// ---------------------------------------------------------------------------------------
// --output DIR: the per-item tables of solve and simulate, written from the reports' fields

/// Where a report holds a table's values.
type Field<R, V> = fn(&R) -> &[V];

/// A column of a per-item table: its header and where the report holds it.
type Column<R, V> = (&'static str, Field<R, V>);

/// A column of a per-class or per-company table.
enum ItemColumn<R> {
    /// Numbers, one per item.
    Num(Column<R, f64>),
    /// Flags, one per item.
    Flag(Column<R, bool>),
}

/// `file`: one row per item (class or company, `label` its name from `names`), then
/// `columns`; a value the report lacks is an empty cell.
fn items_table<R: 'static>(
    report: &Arc<R>,
    file: &str,
    label: &'static str,
    names: fn(&R) -> &[String],
    columns: &'static [ItemColumn<R>],
) -> CsvTable {
    let mut header = vec![label];
    header.extend(columns.iter().map(|c| match c {
        ItemColumn::Num((h, _)) | ItemColumn::Flag((h, _)) => *h,
    }));
    csv::table(file, header, report, move |r, rows| {
        for (i, name) in names(r).iter().enumerate() {
            rows.text(name)?;
            for c in columns {
                match c {
                    ItemColumn::Num((_, values)) => rows.opt(values(r).get(i).copied())?,
                    ItemColumn::Flag((_, values)) => match values(r).get(i) {
                        Some(&v) => rows.flag(v)?,
                        None => rows.empty()?,
                    },
                };
            }
            rows.end()?;
        }
        Ok(())
    })
}

/// Every entry `(k, company name, t)` of a `[k][t]` table, company-major.
fn entries(companies: &[String], periods: usize) -> impl Iterator<Item = (usize, &str, usize)> {
    companies
        .iter()
        .enumerate()
        .flat_map(move |(k, c)| (0..periods).map(move |t| (k, c.as_str(), t)))
}

/// Entry `(k, t)` of a `[k][t]` table, if the report has it.
fn at<V: Copy>(grid: &[Vec<V>], k: usize, t: usize) -> Option<V> {
    grid.get(k).and_then(|g| g.get(t)).copied()
}

/// The header of a table: `index` columns, then each column's name.
fn header_of<R, V>(index: &[&'static str], columns: &[Column<R, V>]) -> Vec<&'static str> {
    index
        .iter()
        .copied()
        .chain(columns.iter().map(|(h, _)| *h))
        .collect()
}

/// `company_periods.csv`: one row per company `k` and period `t` (company name, `t`), then
/// each `[k][t]` column and, when given, where the price sits (Remark 3).
fn company_periods_table<R: 'static>(
    report: &Arc<R>,
    names: fn(&R) -> &[String],
    periods: fn(&R) -> usize,
    columns: &'static [Column<R, Vec<f64>>],
    price_bound: Option<Field<R, Vec<PriceBound>>>,
) -> CsvTable {
    let mut header = header_of(&["company", "period"], columns);
    header.extend(price_bound.map(|_| "price_bound"));
    csv::table("company_periods.csv", header, report, move |r, rows| {
        for (k, name, t) in entries(names(r), periods(r)) {
            rows.text(name)?.int(t)?;
            for (_, grid) in columns {
                rows.opt(at(grid(r), k, t))?;
            }
            if let Some(bound) = price_bound {
                match at(bound(r), k, t) {
                    Some(b) => rows.text(bound_name(b))?,
                    None => rows.empty()?,
                };
            }
            rows.end()?;
        }
        Ok(())
    })
}

/// `demand.csv`: one row per consumer class `n`, company `k` and period `t`, then each
/// `[n][k][t]` column (per consumer of the class; empty where the report has no table).
fn demand_table<R: 'static>(
    report: &Arc<R>,
    classes: fn(&R) -> &[String],
    companies: fn(&R) -> &[String],
    periods: fn(&R) -> usize,
    columns: &'static [Column<R, Vec<Vec<f64>>>],
) -> CsvTable {
    let header = header_of(&["class", "company", "period"], columns);
    csv::table("demand.csv", header, report, move |r, rows| {
        for (n, class) in classes(r).iter().enumerate() {
            for (k, company, t) in entries(companies(r), periods(r)) {
                rows.text(class)?.text(company)?.int(t)?;
                for (_, table) in columns {
                    rows.opt(table(r).get(n).and_then(|d| at(d, k, t)))?;
                }
                rows.end()?;
            }
        }
        Ok(())
    })
}

/// The tables of `dr solve` (log consumers, §IV-B): prices, supplies, demands and the
/// clearing per (company, period); revenues per company; the classes' budgets, energies,
/// utilities and payments (Theorem 1's minimum budget; what rationing gives them, Remark 3);
/// the demand `d_{n,k}(t)` of one consumer of each class and what it receives.
fn solve_tables(r: &Arc<SolveReport>) -> Vec<CsvTable> {
    use ItemColumn::Num;
    vec![
        company_periods_table(
            r,
            |r| &r.market.companies,
            |r| r.market.periods,
            &[
                ("price", |r| &r.prices),
                ("supply", |r| &r.supply),
                ("aggregate_demand", |r| &r.aggregate_demand),
                ("excess_demand", |r| &r.clearing.excess_demand),
                ("sold", |r| &r.clearing.sold),
                ("served_fraction", |r| &r.clearing.served_fraction),
            ],
            Some(|r| &r.price_bound),
        ),
        items_table(
            r,
            "companies.csv",
            "company",
            |r| &r.market.companies,
            &[
                Num(("revenue", |r| &r.revenues)),
                Num(("revenue_share", |r| &r.revenue_share)),
            ],
        ),
        items_table(
            r,
            "classes.csv",
            "class",
            |r| &r.market.classes,
            &[
                Num(("count", |r| &r.count)),
                Num(("budget", |r| &r.budget)),
                Num(("minimum_budget", |r| &r.minimum_budget)),
                Num(("energy", |r| &r.energy)),
                Num(("energy_need", |r| &r.energy_need)),
                Num(("utility", |r| &r.utility)),
                Num(("payment", |r| &r.payment)),
                Num(("energy_received", |r| &r.clearing.energy)),
                Num(("payment_received", |r| &r.clearing.payment)),
                Num(("unspent_budget", |r| &r.clearing.unspent_budget)),
                Num(("utility_received", |r| &r.clearing.utility)),
            ],
        ),
        demand_table(
            r,
            |r| &r.market.classes,
            |r| &r.market.companies,
            |r| r.market.periods,
            &[
                ("demand", |r| &r.demand),
                ("received", |r| &r.clearing.allocation),
            ],
        ),
    ]
}

/// The tables of `dr solve` with general consumers (§IX-A, §III): as [`solve_tables`], with
/// each class's marginal utility of money `λ_n` and whether its budget binds.
fn general_solve_tables(r: &Arc<GeneralSolveReport>) -> Vec<CsvTable> {
    use ItemColumn::{Flag, Num};
    vec![
        company_periods_table(
            r,
            |r| &r.market.companies,
            |r| r.market.periods,
            &[
                ("price", |r| &r.equilibrium.prices),
                ("supply", |r| &r.equilibrium.supply),
                ("aggregate_demand", |r| &r.equilibrium.aggregate_demand),
                ("served_fraction", |r| &r.equilibrium.served_fraction),
            ],
            Some(|r| &r.equilibrium.price_bound),
        ),
        items_table(
            r,
            "companies.csv",
            "company",
            |r| &r.market.companies,
            &[Num(("revenue", |r| &r.equilibrium.revenues))],
        ),
        items_table(
            r,
            "classes.csv",
            "class",
            |r| &r.market.classes,
            &[
                Num(("count", |r| &r.count)),
                Num(("budget", |r| &r.budget)),
                Num(("multiplier", |r| &r.equilibrium.multiplier)),
                Flag(("budget_binds", |r| &r.equilibrium.budget_binds)),
                Num(("energy", |r| &r.equilibrium.energy)),
                Num(("energy_need", |r| &r.energy_need)),
                Num(("utility", |r| &r.equilibrium.utility)),
                Num(("payment", |r| &r.equilibrium.payment)),
                Num(("energy_received", |r| &r.equilibrium.energy_received)),
                Num(("payment_received", |r| &r.equilibrium.payment_received)),
                Num(("unspent_budget", |r| &r.equilibrium.unspent_budget)),
            ],
        ),
        demand_table(
            r,
            |r| &r.market.classes,
            |r| &r.market.companies,
            |r| r.market.periods,
            &[("demand", |r| &r.equilibrium.demand)],
        ),
    ]
}

/// The tables of `dr simulate` (eq. 21): the final and the equilibrium price per (company,
/// period); the mismatch and price error per round; and the prices of every round.
fn simulation_tables(r: &Arc<SimulationReport>) -> Vec<CsvTable> {
    let periods = |r: &SimulationReport| r.run.equilibrium_prices.first().map_or(0, Vec::len);
    let mut tables = vec![
        company_periods_table(
            r,
            |r| &r.companies,
            periods,
            &[
                ("price", |r| &r.run.prices),
                ("equilibrium_price", |r| &r.run.equilibrium_prices),
            ],
            None,
        ),
        csv::table(
            "rounds.csv",
            vec!["round", "mismatch", "price_error"],
            r,
            |r, rows| {
                for x in &r.run.rounds {
                    rows.int(x.round)?
                        .num(x.mismatch)?
                        .opt(x.price_error)?
                        .end()?;
                }
                Ok(())
            },
        ),
    ];
    if r.run.rounds.iter().any(|x| x.prices.is_some()) {
        tables.push(csv::table(
            "round_prices.csv",
            vec!["round", "company", "period", "price"],
            r,
            |r, rows| {
                for x in &r.run.rounds {
                    for (k, p) in x.prices.iter().flatten().enumerate() {
                        let name = r.companies.get(k).map_or("", String::as_str);
                        for (t, p) in p.iter().enumerate() {
                            rows.int(x.round)?.text(name)?.int(t)?.num(*p)?.end()?;
                        }
                    }
                }
                Ok(())
            },
        ));
    }
    tables
}

// ---------------------------------------------------------------------------------------
// dr study ecogrid | dutch-pilot

fn study_err(study: &'static str) -> impl Fn(StackelbergError) -> CliError {
    move |e| CliError::model(format!("study {study}"), ModelKind::Stackelberg, e)
}

fn runs_table(runs: &[RunReport]) -> String {
    let mut t = Table::new(&["price update", "rounds", "termination", "max |p − p̄|/p̄"]);
    for r in runs {
        t.row(vec![
            update_text(r.update()),
            r.rounds_run.to_string(),
            r.termination.replace('_', " "),
            format!("{:.1e}", r.max_price_error),
        ]);
    }
    t.render()
}

/// The text and figures of a single-company case study (Figs. 3 and 6).
fn case_study_output(key: &str, fig: &str, s: &CaseStudy, opts: &Options) -> (String, Vec<Plot>) {
    let c = &s.currency;
    let cert = &s.certificate.certificate;
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
    text.push_str(&equilibrium_certificate_text(
        &s.equilibrium_certificate,
        0.0,
    ));

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
    (text, plots)
}

/// Figures of distributed runs (Figs. 5 and 7): one price chart per run, following
/// `entries`, and one mismatch chart for all runs.
fn convergence_plots(
    key: &str,
    fig: &str,
    runs: &[RunReport],
    entries: &[(usize, usize, String)],
) -> Vec<Plot> {
    let mut plots = Vec::new();
    for r in runs {
        let mut chart = LineChart::new(format!("{fig}: {}", update_text(r.update())))
            .x_label("round")
            .y_label("price");
        let last = r.rounds.last().map_or(1.0, |x| (x.round as f64).max(1.0));
        for (k, t, label) in entries {
            let (k, t) = (*k, *t);
            chart = chart.series(
                label.clone(),
                (0..r.rounds.len()).filter_map(|i| {
                    r.round_price(i, k, t)
                        .map(|p| (r.rounds[i].round as f64, p))
                }),
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
            format!("stackelberg-{key}-distributed-{}", update_slug(r.update())),
            &chart,
        ));
    }
    let mut chart = LineChart::new(format!("{fig}: supply–demand mismatch"))
        .x_label("round")
        .y_label("max |D − G| / G")
        .log_y(true);
    for r in runs {
        chart = chart.series(
            update_text(r.update()),
            r.rounds.iter().map(|x| (x.round as f64, x.mismatch)),
        );
    }
    plots.push(Plot::new(
        format!("stackelberg-{key}-distributed-mismatch"),
        &chart,
    ));
    plots
}

/// A one-company field trial (Figs. 3 and 6, `figures[0]`) with its distributed runs
/// (Figs. 5 and 7, `figures[1]`): the study's text and plots, `runs_intro` of the report,
/// the runs' table, and the convergence plots of the prices `entries` of the report
/// (`(k, t, label)`).
fn case_study_command(
    key: &'static str,
    figures: [&str; 2],
    title: &str,
    report: fn() -> Result<CaseStudyReport, StackelbergError>,
    runs_intro: fn(&CaseStudyReport) -> String,
    entries: fn(&CaseStudyReport) -> Vec<(usize, usize, String)>,
    opts: &Options,
) -> Result<Output, CliError> {
    opts.params.allow_only(&format!("study {key}"), &[])?;
    let progress = opts.progress(1, title);
    let report = report().map_err(study_err(key))?;
    progress.inc(1);
    progress.finish();
    let (mut text, mut plots) = case_study_output(key, figures[0], &report.case_study, opts);
    let runs = report.distributed.as_ref().map_or(&[][..], |d| &d.runs[..]);
    text.push_str(&runs_intro(&report));
    text.push_str(&runs_table(runs));
    if opts.wants_plots() {
        plots.extend(convergence_plots(key, figures[1], runs, &entries(&report)));
    }
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    };
    out.certificate(
        &format!("{title} equilibrium"),
        &report.case_study.certificate.certificate,
    );
    Ok(out.with_body(report))
}

fn study_ecogrid(opts: &Options) -> Result<Output, CliError> {
    let intro = |report: &CaseStudyReport| {
        let d = report.distributed.as_ref();
        let classes = d
            .and_then(|d| d.class_budgets.as_ref())
            .map(|b| b.iter().map(|b| num(*b)).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        format!(
            "\nDistributed algorithm (Fig. 5): the EcoGrid classes (budgets {classes} DKK, {} \
             consumers each),\nK = 4 companies (wind, biomass, solar, biogas: 36/59, 16/59, \
             5/59, 2/59 of the day's energy),\nT = {} with equal allocations (Theorem 3); \
             start at p = B / Σ G;\nthe companies update one after another, each seeing the \
             latest prices (§VI's sequential order):\n",
            num(d.and_then(|d| d.class_size).unwrap_or(f64::NAN)),
            d.and_then(|d| d.periods).unwrap_or(0)
        )
    };
    // Equal allocations: every period of a company has the same price; follow period 0.
    let entries = |_: &CaseStudyReport| {
        ECOGRID_COMPANY_NAMES
            .iter()
            .enumerate()
            .map(|(k, name)| (k, 0, format!("p_{k} ({name})")))
            .collect()
    };
    let mut out = case_study_command(
        "ecogrid",
        ["Fig. 3", "Fig. 5"],
        "EcoGrid EU",
        ecogrid_study,
        intro,
        entries,
        opts,
    )?;
    let _ = writeln!(
        out.text,
        "(Theorem 4: eq. 21 converges for every δ ≥ 0, more slowly as δ grows; for δ < 0 it \
         need not converge.)"
    );
    Ok(out)
}

fn study_dutch_pilot(opts: &Options) -> Result<Output, CliError> {
    case_study_command(
        "dutch-pilot",
        ["Fig. 6", "Fig. 7"],
        "Dutch pilot",
        dutch_pilot_study,
        |_| {
            "\nDistributed algorithm (Fig. 7) on the same market, starting at p = B / Σ G:\n".into()
        },
        |report| {
            (0..report.case_study.periods)
                .step_by(4)
                .map(|t| (0, t, format!("p({t})")))
                .collect()
        },
        opts,
    )
}

// ---------------------------------------------------------------------------------------
// dr study ecogrid-fig5 | dutch-pilot-fig7: the paper's own settings, claims with verdicts

/// Text and figures of a paper-setting study; every claim goes into the outcome.
fn paper_setting_output(
    key: &str,
    setting: &str,
    paper_rounds: &str,
    s: &studies::PaperSettingStudy,
    entries: &[(usize, usize, String)],
    opts: &Options,
) -> Output {
    let r = PaperSettingReport::new(key, setting, paper_rounds, s);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} ({PAPER} §VIII) with the paper's settings: {}.\n\
         K = {}, T = {}, every price starts at p(0) = {}; eq. 21, the companies updating one \
         after another (§VI);\nconverged when max |D − G| / G ≤ 1e-9 (at most {} rounds).\n",
        r.figure,
        r.setting,
        r.companies,
        r.periods,
        num(r.start_price),
        r.max_rounds,
    );
    let mut t = Table::new(&[
        "price update",
        "order",
        "rounds",
        "termination",
        "max |p − p_eq14|/p_eq14",
    ]);
    for (run, e) in r.runs.iter().zip(&r.closed_form_error) {
        t.row(vec![
            update_text(run.update()),
            run.order.name().to_string(),
            run.rounds_run.to_string(),
            run.termination.replace('_', " "),
            format!("{e:.1e}"),
        ]);
    }
    text.push_str(&t.render());
    let _ = writeln!(text, "Rounds in the paper: {}\n", r.paper_rounds);
    let _ = writeln!(text, "The paper's claims about {}:", r.figure);
    let mut out = Draft::default();
    text.push_str(&claims_text(&r.claims, &mut out));
    if opts.wants_plots() {
        out.plots = convergence_plots(key, &r.figure, &r.runs, entries);
    }
    out.text = text;
    out.with_body(r)
}

/// The claims as `[holds]`/`[FAILS]` lines; each is recorded in the outcome.
fn claims_text(claims: &[Claim], out: &mut Draft) -> String {
    let mut text = String::new();
    for c in claims {
        let _ = writeln!(
            text,
            "  [{}] {}\n         {}",
            if c.holds { "holds" } else { "FAILS" },
            c.claim,
            c.evidence
        );
        out.claim(&c.claim, c.holds);
    }
    text
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
    let entries: Vec<(usize, usize, String)> = ECOGRID_COMPANY_NAMES
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
    let r = PeriodsReport::new(&ECOGRID_COMPANY_NAMES, &totals, &classes, &points, limits);
    drop(points);
    let n_classes = r.class_budgets.len();
    let k_n = r.company_totals.len();
    let points = &r.points;
    let limits = &r.utility_limit;
    let (max_revenue_gap, max_residual, price_spread) = (
        r.max_revenue_budget_gap,
        r.max_residual,
        r.max_price_spread_over_periods,
    );

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
        r.class_budgets
            .iter()
            .map(|b| num(*b))
            .collect::<Vec<_>>()
            .join(", "),
        num(r.company_totals.iter().sum()),
    );
    let mut header: Vec<String> = vec!["T".into()];
    header.extend(ECOGRID_COMPANY_NAMES.iter().map(|c| format!("p {c}")));
    header.extend(ECOGRID_COMPANY_NAMES.iter().map(|c| format!("revenue {c}")));
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut prices_table = Table::new(&header_ref);
    let mut header: Vec<String> = vec!["T".into()];
    header.extend(
        r.class_budgets
            .iter()
            .map(|b| format!("U (B = {})", num(*b))),
    );
    header.push("classes buying nothing somewhere (budget)".into());
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut utility_table = Table::new(&header_ref);
    for p in points {
        let mut row = vec![p.periods.to_string()];
        row.extend(p.prices.iter().map(|v| num(*v)));
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
                    r.class_budgets
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
    let _ = writeln!(text, "\nThe paper's findings on Fig. 4:");
    let mut outcome = Draft::default();
    text.push_str(&claims_text(&r.claims, &mut outcome));
    let _ = writeln!(
        text,
        "  largest certificate residual {max_residual:.1e}; Σ revenues vs Σ budgets gap \
         {max_revenue_gap:.1e}; price spread across periods {price_spread:.1e}"
    );

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let ts = || points.iter().map(|p| p.periods as f64);
        let mut utilities = LineChart::new("Fig. 4: utility per consumer vs T")
            .x_label("number of periods T")
            .y_label("utility");
        for n in 0..n_classes {
            let label = format!("B = {} DKK", num(r.class_budgets[n]));
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
        for (k, name) in ECOGRID_COMPANY_NAMES.iter().enumerate().take(k_n) {
            prices = prices.series(*name, ts().zip(points.iter().map(|p| p.prices[k])));
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
    outcome.text = text;
    outcome.plots = plots;
    Ok(outcome.with_body(r))
}

// ---------------------------------------------------------------------------------------
// dr study stackelberg-asymptotics (§VII)

fn study_asymptotics(opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only(
        "study stackelberg-asymptotics",
        &["max_periods", "price_max"],
    )?;
    let max_t: usize = opts.params.get("max_periods")?.unwrap_or(50);
    if max_t < 3 {
        return Err(CliError::BadParameter {
            key: "max_periods".into(),
            value: max_t.to_string(),
            reason: "must be at least 3 (Remark 4 compares successive increments)".into(),
        });
    }
    let err = study_err("stackelberg-asymptotics");
    let mut setting = studies::ecogrid_asymptotics_setting(max_t).map_err(&err)?;
    if let Some(p) = opts.params.get::<f64>("price_max")? {
        if !(p.is_finite() && p > 0.0) {
            return Err(CliError::BadParameter {
                key: "price_max".into(),
                value: p.to_string(),
                reason: "must be finite and > 0".into(),
            });
        }
        setting.price_max = p;
    }
    let progress = opts.progress(1, "§VII sweeps");
    let r = asymptotics_study(&setting).map_err(&err)?;
    progress.inc(1);
    progress.finish();
    let st = &r.setting;
    let k_n = st.company_totals.len();
    let mut text = String::new();
    let _ =
        writeln!(
        text,
        "Asymptotic regimes ({PAPER} §VII) on the EcoGrid data: K = {k_n} companies with equal \
         totals G = {} kWh\n(Assumption 3), equal allocations over T (Theorem 3). T sweep: the \
         EcoGrid classes (budgets {} DKK,\n{} consumers each), T = 1…{}. N sweep (Assumption 4): \
         identical budgets B = {} DKK, T = {},\nN = {}; p_max = {} DKK/kWh.\n",
        num(st.company_totals.first().copied().unwrap_or(f64::NAN)),
        st.classes.budget.iter().map(|b| num(*b)).collect::<Vec<_>>().join(", "),
        num(st.classes.count.first().copied().unwrap_or(f64::NAN)),
        st.max_periods,
        num(st.budget),
        st.sweep_periods,
        st.counts.iter().map(|n| num(*n)).collect::<Vec<_>>().join(", "),
        num(st.price_max),
    );
    let mut header: Vec<String> = vec!["T".into(), "price".into()];
    header.extend(
        st.classes
            .budget
            .iter()
            .map(|b| format!("U (B = {})", num(*b))),
    );
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_ref);
    let every = (r.periods.len() / 10).max(1);
    for (i, t) in r.periods.iter().enumerate() {
        if i % every != 0 && i + 1 != r.periods.len() {
            continue;
        }
        let mut row = vec![t.to_string(), num(r.prices[i][0])];
        row.extend(r.utilities[i].iter().map(|u| num(*u)));
        table.row(row);
    }
    let mut limit_row = vec!["limit (eq. 25)".to_string(), num(r.predicted_price)];
    limit_row.extend(
        r.utility_limit
            .iter()
            .map(|l| l.map_or_else(|| "-".into(), num)),
    );
    table.row(limit_row);
    let _ = writeln!(
        text,
        "T sweep: price of company 0 and utility per consumer of each class:"
    );
    text.push_str(&table.render());
    let mut table = Table::new(&[
        "N",
        "price",
        "N B / (K G)",
        "demand d(t)",
        "K (Theorem 5)",
        "price with K",
        "with K − 1",
    ]);
    for (i, n) in st.counts.iter().enumerate() {
        table.row(vec![
            num(*n),
            num(r.consumer_prices[i]),
            num(r.consumer_predicted[i]),
            num(r.consumer_demand[i]),
            r.companies_needed[i].to_string(),
            num(r.price_with_needed[i]),
            r.price_with_one_fewer[i].map_or_else(|| "-".into(), num),
        ]);
    }
    let _ = writeln!(
        text,
        "\nN sweep (K = {k_n}), and the companies Theorem 5 asks for (K / N = B / (G p_max) = {:.3e}):",
        r.ratio
    );
    text.push_str(&table.render());
    let _ = writeln!(text, "\nThe paper's claims (§VII):");
    let mut out = Draft::default();
    text.push_str(&claims_text(&r.claims, &mut out));
    if opts.wants_plots() {
        let mut chart = LineChart::new("§VII-A: utility per consumer vs T")
            .x_label("number of periods T")
            .y_label("utility");
        for (n, b) in st.classes.budget.iter().enumerate() {
            chart = chart.series(
                format!("B = {} DKK", num(*b)),
                r.periods
                    .iter()
                    .zip(&r.utilities)
                    .map(|(t, u)| (*t as f64, u[n])),
            );
        }
        chart = chart.dashed_series(
            "limits T → ∞ (eq. 25)",
            levels(r.utility_limit.iter().flatten().copied(), 1.0, max_t as f64),
        );
        out.plots
            .push(Plot::new("stackelberg-asymptotics-utilities", &chart));
        let chart = LineChart::new("§VII-B: price vs N")
            .x_label("consumers N")
            .y_label("price (DKK/kWh)")
            .series_with_markers(
                "equilibrium",
                st.counts
                    .iter()
                    .copied()
                    .zip(r.consumer_prices.iter().copied()),
            )
            .dashed_series(
                "N B / (K G) (eq. 26)",
                st.counts
                    .iter()
                    .copied()
                    .zip(r.consumer_predicted.iter().copied()),
            );
        out.plots
            .push(Plot::new("stackelberg-asymptotics-prices", &chart));
    }
    out.text = text;
    Ok(out.with_body(r))
}

// ---------------------------------------------------------------------------------------
// dr demo

/// The EcoGrid EU day, every printed number checked against an independent computation or
/// a statement of the paper ([`dr_stackelberg::ecogrid_demo`]).
fn demo_ecogrid(opts: &Options) -> Result<Output, CliError> {
    let context = "stackelberg demo: EcoGrid EU day";
    let err = |e: StackelbergError| CliError::model(context, ModelKind::Stackelberg, e);
    let r = ecogrid_demo().map_err(err)?;
    let failures: Vec<String> = r
        .claims
        .iter()
        .filter(|c| !c.holds)
        .map(|c| format!("{}: {}", c.claim, c.evidence))
        .collect();
    if !failures.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "{context}: {}",
            failures.join("; ")
        )));
    }
    let cert = &r.certificate.certificate;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the Stackelberg game of {PAPER} on the EcoGrid EU day (Bornholm, 5 Dec 2014;\n\
         §VIII-A): one company selling the experiment's hourly supply G(t) over T = 24 hours to\n\
         N = 2000 identical consumers with log utility Σ ln(1 + d(t)) and energy need\n\
         E = Σ G / N = {} kWh. (Same as `dr solve data/stackelberg_ecogrid.toml`.)\n",
        heading_word(cert.status),
        num(r.energy_need)
    );
    let lines: [(&str, String, String); 8] = [
        (
            "budget B per consumer",
            format!("{} DKK", num(r.budget_per_consumer)),
            "Theorem 1 at p_exp: = eq. 11 by hand; least B meeting E (paper: 7.55)".into(),
        ),
        (
            "equilibrium prices",
            format!("mean {} sd {}", num(r.price_mean), num(r.price_std)),
            "DKK/kWh; every p(t) > 0 and = eq. 14 by hand".into(),
        ),
        (
            "experiment's prices",
            format!(
                "mean {} sd {}",
                num(r.experiment_price_mean),
                num(r.experiment_price_std)
            ),
            "DKK/kWh; higher mean and sd (the paper's finding)".into(),
        ),
        (
            "company revenue Σ p(t) G(t)",
            format!("{} DKK", num(r.revenue)),
            "= N B: budgets fully spent (eq. 15)".into(),
        ),
        (
            "payment per consumer",
            format!("{} DKK", num(r.payment_equilibrium)),
            "at equilibrium, = B, for N d(t) = G(t) every hour".into(),
        ),
        (
            "... in the experiment",
            format!("{} DKK", num(r.payment_experiment)),
            "Σ p_exp(t) G(t) / N".into(),
        ),
        (
            "savings",
            format!("{:.1}%", 100.0 * r.savings_fraction),
            "1 − payment / experiment's payment > 0".into(),
        ),
        (
            "distributed eq. 21, δ = 0",
            rounds(r.distributed_rounds),
            format!(
                "converged to the same prices (max error {:.1e})",
                r.distributed_price_error
            ),
        ),
    ];
    let _ = writeln!(text, "  {:<28}  {:<26}  checked", "", "");
    for (what, value, check) in &lines {
        let _ = writeln!(text, "  {what:<28}  {value:<26}  {check}");
    }
    text.push('\n');
    text.push_str(&certificate_text(cert));
    let mut table = Table::new(&["hour", "G(t) kW", "p_exp", "p_eq", "d(t) kWh"]);
    for t in 0..r.periods {
        table.row(vec![
            t.to_string(),
            num(r.supply[t]),
            num(r.experiment_prices[t]),
            num(r.prices[t]),
            num(r.demand_per_consumer[t]),
        ]);
    }
    let _ = writeln!(
        text,
        "\nHourly prices (DKK/kWh): the equilibrium is lowest when supply is highest \
         (Remark 2: p(t)(G(t) + N) is constant):"
    );
    text.push_str(&table.render());
    let mut plots = Vec::new();
    if opts.wants_plots() {
        let hours = || (0..r.periods).map(|t| t as f64);
        let chart = LineChart::new("EcoGrid EU, 5 Dec 2014: prices")
            .x_label("hour")
            .y_label("price (DKK/kWh)")
            .series_with_markers(
                "experiment",
                hours().zip(r.experiment_prices.iter().copied()),
            )
            .series_with_markers(
                "Stackelberg equilibrium (eq. 14)",
                hours().zip(r.prices.iter().copied()),
            );
        plots.push(Plot::new("stackelberg-ecogrid-demo-prices", &chart));
    }
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    };
    out.certificate("EcoGrid EU equilibrium", cert);
    for c in &r.claims {
        out.claim(&c.claim, c.holds);
    }
    Ok(out.with_body(r))
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
        let json = out.body_value().unwrap();
        assert_eq!(json["certificate"]["status"], "Solved");
        assert!(json["claims"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["holds"] == true));
        assert_eq!(out.plots.len(), 1);
    }

    /// The LP cross-check of a general consumer can fail: a best response moved off its
    /// optimum (10 % of the spend shifted between the two periods, budget still spent) is a
    /// proven disagreement; the true one agrees.
    #[test]
    fn general_consumer_cross_check_detects_a_wrong_answer() {
        let class = dr_stackelberg::GeneralClass {
            count: 1.0,
            budget: 1.0,
            energy_need: 0.0,
            gamma: 1.0,
            zeta: 0.0,
            utility: dr_stackelberg::UtilityFamily::Power { exponent: 0.5 },
            min_demand: vec![0.0, 0.0],
            max_demand: vec![f64::INFINITY, f64::INFINITY],
        };
        let prices = [1.0, 0.5];
        let good = dr_stackelberg::general_best_response(&prices, &class).unwrap();
        let settings = dr_lp::CompareSettings::default();
        let check = |r: &dr_stackelberg::GeneralResponse| {
            let gp = dr_stackelberg::general_consumer_problem(&prices, &class, r).unwrap();
            dr_lp::check_candidate(&gp.problem, &gp.candidate, &settings)
                .unwrap()
                .cross_check
                .verdict
        };
        assert_eq!(check(&good), dr_lp::Verdict::Agrees);
        let mut bad = good.clone();
        // By hand the optimum is d = (1/3, 4/3); move 0.1 of money from period 1 to 0.
        bad.demand = vec![1.0 / 3.0 + 0.1, 4.0 / 3.0 - 0.2];
        bad.utility = bad.demand.iter().map(|d| d.sqrt()).sum();
        assert_eq!(check(&bad), dr_lp::Verdict::Disagrees);
    }

    #[test]
    fn shown_entries_pick_extremes() {
        let p = vec![vec![3.0, 1.0, 2.0, 5.0, 4.0]];
        assert_eq!(shown_entries(&p), vec![(0, 1), (0, 3), (0, 0)]);
        let small = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        assert_eq!(shown_entries(&small).len(), 4);
    }
}
