//! The demand-shaping model in `dr` (chen-li-low-doyle-2010 §IV, "Demand response: shaping
//! the demand"; SPEC §2). Every result is a typed report of `dr_shaping`
//! ([`dr_shaping::SolveReport`], [`dr_shaping::SimulationReport`], [`dr_shaping::DayReport`]);
//! this module renders it as text and hands it to `--json` unchanged:
//!
//! - `dr solve FILE`: both equilibria — the competitive equilibrium (Theorem 6: the welfare
//!   optimum, prices `p(t) = C'(Q(t), t)`) and the strategic one (Theorem 7: the Nash
//!   equilibrium of price-anticipating customers, checked by every customer's exact
//!   best-response gain) — with their certificates, the load shape (peak-to-average ratio,
//!   load factor) next to the unshaped preferred loads, and the cross-check of the two solver
//!   paths (price Newton vs the kernel's interior-point method) for `N·T ≤ 50 000`
//!   (`--set cross_check=true|false`, `--set ipm_max_iterations=K`). A second path that
//!   does not solve leaves the answer "not confirmed" (exit 5); two Solved paths whose
//!   prices differ are a disagreement (exit 3); a certificate that is not Solved exits 4.
//!   A class of identical customers (no jitter) is solved once and reported as one row
//!   with its count. `--output DIR` writes `DIR/loads.csv` (one line per row: its first
//!   customer, its count, `q(t)` at both equilibria; [`dr_shaping::write_loads_csv`]);
//! - `dr simulate FILE [--equilibrium competitive|nash|both] [--rule paper|fast] [--step γ]`:
//!   the papers' projected-gradient scheme (eqs. 41–42, or eq. 48 for strategic customers) or
//!   the fast price-Newton scheme, round by round, against the exact equilibrium, with the
//!   critical step `2/L` and an explicit termination (converged, oscillating, diverged,
//!   round limit);
//! - a `dr demo` section: the bundled 24-hour day (`data/shaping_day.toml`), every printed
//!   claim checked (a [`dr_convex::Claim`] each).

use super::args::{EquilibriumChoice, RuleChoice};
use super::demo::DemoSection;
use super::error::CliError;
use super::models::ModelCommands;
use super::output::{
    certificate_text, check_memory, heading_word, num, CsvTable, Draft, Options, Outcome, Output,
    Table,
};
use crate::command::RoundReport;
use demand_response::plot::{LineChart, Plot};
use demand_response::scenario::{Format, ModelKind, Scenario};
use dr_shaping::{
    competitive_equilibrium, critical_step, day_report, loads_csv_header, run_report,
    simulate_observed, solve_report, strategic_equilibrium, write_loads_csv, Behaviour,
    CrossCheckReport, DayReport, EquilibriumReport, GradientScheme, PathVerdict, RunReport, Scheme,
    ShapingError, ShapingModel, ShapingScenario, SimulationReport, SimulationRun,
    SimulationSettings, SolveOptions, SolveReport, Termination, AGREE_TOLERANCE, CHECK_TOLERANCE,
};
use std::fmt::Write as _;
use std::sync::Arc;

/// A report shared by the JSON body and the `--output DIR` table (serialised as itself).
struct Shared<T>(Arc<T>);

impl<T: serde::Serialize> serde::Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// The shaping model's commands and demo section.
pub(crate) const COMMANDS: ModelCommands = ModelCommands {
    solve,
    simulate: Some(simulate),
    verify: Some(super::verify::verify),
    studies: &[],
    demo: &[DemoSection {
        name: "shaping-day",
        title: "Demand shaping: a 24-hour day of 100 customers (chen-li-low-doyle-2010 §IV)",
        run: demo_day,
    }],
};

const PAPER: &str = "chen-li-low-doyle-2010";

/// The bundled scenario of the demo (also `data/shaping_day.toml`).
const DAY: &str = include_str!("../../../data/shaping_day.toml");
const DAY_NAME: &str = "data/shaping_day.toml";

fn model_err(file: &str) -> impl Fn(ShapingError) -> CliError + '_ {
    move |e| CliError::model(file, ModelKind::Shaping, e)
}

fn behaviour_name(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "competitive",
        Behaviour::Strategic => "strategic",
    }
}

fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".to_string()
    } else {
        format!("{n} rounds")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

fn argmin(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x < v[best] {
            best = i;
        }
    }
    best
}

// ---------------------------------------------------------------------------------------
// Rendering a solve report

/// The load-shape comparison users read first.
fn shape_text(r: &SolveReport) -> String {
    let u = &r.competitive.unshaped;
    let mut s = String::new();
    let mut t = Table::new(&[
        "load shape",
        "peak/average",
        "load factor",
        "peak Q",
        "peak hour",
        "energy Σ Q(t)",
        "welfare",
    ]);
    t.row(vec![
        format!("unshaped (flat p̄ = {})", num(u.flat_price)),
        format!("{:.4}", u.peak_to_average),
        format!("{:.4}", u.load_factor),
        num(u.peak_load),
        u.peak_period.to_string(),
        num(u.total_energy),
        num(u.welfare),
    ]);
    for (label, eq) in [
        ("competitive (Theorem 6)", &r.competitive),
        ("strategic (Theorem 7)", &r.strategic.equilibrium),
    ] {
        t.row(vec![
            label.into(),
            format!("{:.4}", eq.peak_to_average),
            format!("{:.4}", eq.load_factor),
            num(eq.peak_load),
            eq.peak_period.to_string(),
            num(eq.total_energy),
            num(eq.welfare),
        ]);
    }
    s.push_str(&t.render());
    let change = |rel: f64, after: f64| {
        if rel < 0.0 {
            format!("cut it by {:.1}% (to {:.4})", -100.0 * rel, after)
        } else if rel > 0.0 {
            format!("raise it by {:.1}% (to {:.4})", 100.0 * rel, after)
        } else {
            "leave it unchanged".to_string()
        }
    };
    let _ = writeln!(
        s,
        "Against the unshaped peak-to-average ratio {:.4}, time-varying prices {} at the \
         competitive equilibrium\nand {} at the strategic one.",
        u.peak_to_average,
        change(
            r.peak_to_average_change.competitive,
            r.competitive.peak_to_average
        ),
        change(
            r.peak_to_average_change.strategic,
            r.strategic.equilibrium.peak_to_average
        ),
    );
    s
}

fn periods_table(r: &SolveReport) -> String {
    let (ce, ne) = (&r.competitive, &r.strategic.equilibrium);
    let mut t = Table::new(&[
        "period t",
        "p(t) comp.",
        "Q(t) comp.",
        "Q(t) unshaped",
        "p(t) strat.",
        "Q(t) strat.",
    ]);
    for p in 0..ce.periods {
        t.row(vec![
            p.to_string(),
            num(ce.prices[p]),
            num(ce.total_load[p]),
            num(r.competitive.unshaped.total_load[p]),
            num(ne.prices[p]),
            num(ne.total_load[p]),
        ]);
    }
    t.render()
}

fn classes_table(r: &SolveReport) -> String {
    let mut t = Table::new(&[
        "class",
        "customers",
        "utility",
        "energy unshaped",
        "energy comp.",
        "bill comp.",
        "energy strat.",
        "bill strat.",
    ]);
    for c in &r.classes {
        t.row(vec![
            c.name.clone(),
            c.count.to_string(),
            c.utility.clone(),
            num(c.energy_unshaped),
            num(c.energy_competitive),
            num(c.bill_competitive),
            num(c.energy_strategic),
            num(c.bill_strategic),
        ]);
    }
    t.render()
}

/// A residual for text: `{:.3e}`, or its name when not finite.
fn sci(x: f64) -> String {
    format!("{x:.3e}")
}

fn cross_text(s: &mut String, label: &str, c: &CrossCheckReport) {
    let cert = c.ipm_certificate.map(|c| c.certificate());
    let (status, residual) = match cert {
        Some(c) => (
            format!("{:?}", c.status),
            format!("{:.1e}", c.max_residual()),
        ),
        None => ("-".into(), "-".into()),
    };
    let _ = match c.verdict {
        Some(PathVerdict::NotConfirmed) => writeln!(
            s,
            "  {label:<11}  IPM status {status}, residual {residual}: not confirmed ({}); the \
             Newton answer stands on its own certificate",
            c.reason.as_deref().unwrap_or("no reason given"),
        ),
        Some(v) => writeln!(
            s,
            "  {label:<11}  max |p_Newton − p_IPM| = {} (relative to the price scale {}, \
             tolerance {AGREE_TOLERANCE:e}); IPM status {status}, residual {residual}: {}",
            sci(c.max_price_difference.map_or(f64::NAN, |r| r.0)),
            sci(c.max_relative_price_difference.map_or(f64::NAN, |r| r.0)),
            if v == PathVerdict::Agrees {
                "the two paths agree"
            } else {
                "THE TWO PATHS DISAGREE"
            }
        ),
        None => writeln!(
            s,
            "  {label:<11}  not run: {}",
            c.reason.as_deref().unwrap_or("no reason given")
        ),
    };
}

fn checks_text(r: &SolveReport) -> String {
    let mut s = String::new();
    let g = &r.strategic.nash_gain;
    let _ = writeln!(
        s,
        "Nash check (strategic loads): every customer's exact best response against the \
         others' loads\n  largest gain {:.3e} (relative {:.3e}, customer {}): {}",
        g.max_gain,
        g.max_relative_gain,
        g.worst_customer,
        if r.strategic.nash_check_holds {
            "nobody gains by deviating"
        } else {
            "NOT a Nash equilibrium within 1e-8"
        }
    );
    let c = &r.nash_gain_at_competitive;
    let _ = writeln!(
        s,
        "  at the competitive loads a price-anticipating customer could gain {:.3e} \
         (relative {:.3e}, customer {}){}",
        c.max_gain,
        c.max_relative_gain,
        c.worst_customer,
        if c.max_relative_gain > CHECK_TOLERANCE {
            ": the competitive equilibrium is not a Nash equilibrium"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "  welfare loss of strategic behaviour W_comp − W_strat = {} (≥ 0: Theorem 6)",
        num(r.welfare_loss_strategic)
    );
    let (ce, ne) = (&r.cross_check, &r.strategic.cross_check);
    if !ce.performed && !ne.performed {
        let _ = writeln!(
            s,
            "Second solver path (IPM): skipped, {}",
            ce.reason.as_deref().unwrap_or("")
        );
    } else {
        let _ = writeln!(
            s,
            "Second solver path: the kernel's interior-point method on the full problem \
             ({} variables{})",
            ce.variables,
            if r.rows < r.customers {
                "; each class of identical customers one block of T loads"
            } else {
                ""
            }
        );
        cross_text(&mut s, "competitive", ce);
        cross_text(&mut s, "strategic", ne);
    }
    s
}

/// Records every certificate, every claim and the second path's verdicts of a solve.
fn solve_outcome(r: &SolveReport) -> Outcome {
    let mut o = Outcome::default();
    o.certificate("competitive equilibrium", &r.competitive.certificate);
    o.certificate(
        "strategic equilibrium",
        &r.strategic.equilibrium.certificate,
    );
    for c in &r.claims {
        o.claim(&c.claim, c.holds);
    }
    for (label, c) in [
        ("competitive", &r.cross_check),
        ("strategic", &r.strategic.cross_check),
    ] {
        let what = format!("IPM cross-check of the {label} equilibrium");
        match c.verdict {
            Some(PathVerdict::Disagrees) => o.disagrees(&format!(
                "{what}: max |p_Newton − p_IPM| = {} (relative {} > {AGREE_TOLERANCE:e})",
                sci(c.max_price_difference.map_or(f64::NAN, |r| r.0)),
                sci(c.max_relative_price_difference.map_or(f64::NAN, |r| r.0)),
            )),
            Some(PathVerdict::NotConfirmed) => {
                o.not_confirmed(&what, c.reason.as_deref().unwrap_or("second path failed"))
            }
            Some(PathVerdict::Agrees) | None => {}
        }
    }
    o
}

fn series(v: &[f64]) -> Vec<(f64, f64)> {
    v.iter().enumerate().map(|(t, x)| (t as f64, *x)).collect()
}

fn solve_plots(r: &SolveReport, prefix: &str) -> Vec<Plot> {
    let (ce, ne) = (&r.competitive, &r.strategic.equilibrium);
    let u = &r.competitive.unshaped;
    let loads = LineChart::new("Total load Q(t): unshaped and shaped")
        .x_label("period t")
        .y_label("total load Q(t)")
        .dashed_series(
            format!(
                "unshaped (flat price {}, PAR {:.3})",
                num(u.flat_price),
                u.peak_to_average
            ),
            series(&u.total_load),
        )
        .series_with_markers(
            format!("competitive (PAR {:.3})", ce.peak_to_average),
            series(&ce.total_load),
        )
        .series_with_markers(
            format!("strategic (PAR {:.3})", ne.peak_to_average),
            series(&ne.total_load),
        );
    let n = ce.periods as f64;
    let prices = LineChart::new("Prices p(t) = C'(Q(t), t)")
        .x_label("period t")
        .y_label("price p(t)")
        .series_with_markers("competitive", series(&ce.prices))
        .series_with_markers("strategic", series(&ne.prices))
        .dashed_series(
            "flat price p̄ (unshaped)",
            [(0.0, u.flat_price), ((n - 1.0).max(1.0), u.flat_price)],
        );
    vec![
        Plot::new(format!("{prefix}-loads"), &loads),
        Plot::new(format!("{prefix}-prices"), &prices),
    ]
}

fn certificate_lines(text: &mut String, eqs: [(&str, &EquilibriumReport); 2]) {
    for (label, eq) in eqs {
        let _ = write!(text, "{label} ");
        text.push_str(&certificate_text(&eq.certificate));
    }
}

// ---------------------------------------------------------------------------------------
// dr solve

fn solve(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params
        .allow_only("shaping solve", &["cross_check", "ipm_max_iterations"])?;
    let cross_check: Option<bool> = opts.params.get("cross_check")?;
    // The second path's iteration limit (default the kernel's): a small one shows what a
    // failed second opinion looks like ("not confirmed", exit 5).
    let ipm_max_iterations: Option<usize> = opts.params.get("ipm_max_iterations")?;
    if ipm_max_iterations == Some(0) {
        return Err(CliError::model(
            s.name(),
            ModelKind::Shaping,
            "--set ipm_max_iterations=0: must be >= 1".to_string(),
        ));
    }
    let file: ShapingScenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let err = model_err(s.name());
    let model = file.to_model().map_err(&err)?;
    // The per-row loads are written only by --json and --output DIR (loads.csv); the text
    // and the plots read per-period totals and per-row summaries, so without those flags
    // the report drops each equilibrium's N × T loads once its Nash check has read them.
    let options = SolveOptions {
        cross_check,
        ipm_max_iterations,
        keep_loads: opts.json || opts.output_dir.is_some(),
        ..SolveOptions::default()
    };
    let report = solve_report(&model, &file.classes(), s.name(), &options).map_err(&err)?;
    drop(model);

    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: demand shaping on {} ({PAPER} §IV): {} in {} over T = {},\n\
         supply cost {}, prices p(t) = C'(Q(t), t) (eq. 30).\n\
         competitive: price-taking customers; the welfare optimum (Theorem 6).\n\
         strategic:   customers who anticipate C'(Q(t), t); the Nash equilibrium (Theorem 7).\n",
        heading_word(report.status()),
        s.name(),
        plural(report.customers, "customer", "customers"),
        plural(report.classes.len(), "class", "classes"),
        plural(report.competitive.periods, "period", "periods"),
        report.supply_cost_form,
    );
    text.push_str(&shape_text(&report));
    let _ = writeln!(
        text,
        "(unshaped: each customer's own optimum at the flat price p̄ = the average competitive \
         price)\n"
    );
    let _ = writeln!(text, "Prices and total loads per period:");
    text.push_str(&periods_table(&report));
    let _ = writeln!(text, "\nClasses (per customer, averaged over the class):");
    text.push_str(&classes_table(&report));
    text.push('\n');
    certificate_lines(
        &mut text,
        [
            ("Competitive equilibrium", &report.competitive),
            ("Strategic equilibrium", &report.strategic.equilibrium),
        ],
    );
    text.push('\n');
    text.push_str(&checks_text(&report));
    let plots = if opts.wants_plots() {
        solve_plots(&report, "shaping-solve")
    } else {
        Vec::new()
    };
    let outcome = solve_outcome(&report);
    // `--output DIR`: DIR/loads.csv, one line per row of the loads (a customer, or a class
    // of identical customers once), both equilibria's q_i(t), the digits of the JSON.
    let report = Arc::new(report);
    let table = {
        let report = Arc::clone(&report);
        CsvTable {
            file_name: "loads.csv".into(),
            header: loads_csv_header(&report),
            rows: Box::new(move |w| write_loads_csv(&report, w)),
        }
    };
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_tables(Shared(report), vec![table]))
}

// ---------------------------------------------------------------------------------------
// dr simulate

/// The settings of the run: the file's `[simulation]` table, overridden by the flags.
fn simulation_settings(
    s: &Scenario,
    opts: &Options,
    file: &ShapingScenario,
) -> Result<(SimulationSettings, Vec<Behaviour>), CliError> {
    let err = model_err(s.name());
    let bad = |message: String| CliError::model(s.name(), ModelKind::Shaping, message);
    if let Some(d) = opts.sim.delta {
        return Err(bad(format!(
            "--delta {d}: δ belongs to the stackelberg price update; the shaping schemes take \
             --step γ (paper rule) or --rule fast"
        )));
    }
    if let Some(p) = opts.sim.start_price {
        return Err(bad(format!(
            "--start-price {p}: the shaping gradient scheme starts from loads (Q_i / T in every \
             period), not from a price"
        )));
    }
    let mut settings = file.simulation_settings().map_err(&err)?;
    match opts.sim.rule {
        Some(RuleChoice::Fixed) => settings.scheme = Scheme::Gradient,
        Some(RuleChoice::Fast) => settings.scheme = Scheme::Newton,
        None => {}
    }
    if let Some(step) = opts.sim.step {
        if settings.scheme == Scheme::Newton {
            return Err(bad(format!(
                "--step {step}: the fast rule (price Newton) takes no step; use --rule paper for \
                 the gradient scheme of eqs. 41–42"
            )));
        }
        settings.step = Some(step);
    }
    if let Some(r) = opts.sim.rounds {
        settings.max_rounds = r;
    }
    if let Some(t) = opts.sim.tolerance {
        settings.tolerance = t;
    }
    if let Some(k) = opts.params.get::<usize>("record_loads")? {
        settings.record_loads = k;
    }
    settings.validate().map_err(|e| {
        bad(format!(
            "{e} (from --step / --rounds / --tolerance or [simulation])"
        ))
    })?;
    let behaviours = match opts.sim.equilibrium {
        Some(EquilibriumChoice::Competitive) => vec![Behaviour::Competitive],
        Some(EquilibriumChoice::Nash) => vec![Behaviour::Strategic],
        Some(EquilibriumChoice::Both) => vec![Behaviour::Competitive, Behaviour::Strategic],
        None => vec![settings.behaviour],
    };
    Ok((settings, behaviours))
}

/// The step of the gradient scheme: the given one, else `1/L` (half the critical step), as
/// `dr_shaping::simulate` chooses it.
fn default_step(model: &ShapingModel, behaviour: Behaviour, given: Option<f64>) -> f64 {
    given
        .or_else(|| critical_step(model, behaviour).map(|c| 0.5 * c))
        .unwrap_or(1e-3)
}

/// Runs one scheme; the gradient one with the kernel executor and the progress bar as an
/// observer.
fn run_scheme(
    model: &ShapingModel,
    behaviour: Behaviour,
    settings: &SimulationSettings,
    opts: &Options,
) -> Result<SimulationRun, ShapingError> {
    let settings = SimulationSettings {
        behaviour,
        ..settings.clone()
    };
    match settings.scheme {
        Scheme::Gradient => {
            let step = default_step(model, behaviour, settings.step);
            let scheme = GradientScheme::new(model, behaviour, step, &settings)?;
            let algorithm = format!("shaping gradient {}", behaviour_name(behaviour));
            let mut bar = opts.watch(
                settings.max_rounds as u64,
                &format!("eq. {} rounds", scheme_equation(behaviour)),
                |_: usize, r: &dr_shaping::Round, _: &GradientScheme<'_>| {
                    round_report(&algorithm, r)
                },
            );
            Ok(scheme.executor().observe(&mut bar).run().into())
        }
        Scheme::Newton => {
            let algorithm = format!("shaping newton {}", behaviour_name(behaviour));
            simulate_observed(model, &settings, &mut |r: &dr_shaping::Round| {
                opts.rounds.report(|| round_report(&algorithm, r))
            })
        }
    }
}

/// A round of either scheme for a library caller's round observer
/// (`crate::command::run_observed`).
fn round_report(algorithm: &str, r: &dr_shaping::Round) -> RoundReport {
    let mut scalars = vec![("residual", r.residual)];
    if let Some(w) = r.welfare {
        scalars.push(("welfare", w));
    }
    RoundReport {
        algorithm: algorithm.to_string(),
        round: r.round,
        scalars,
        vectors: vec![
            ("prices", r.prices.clone()),
            ("total_load", r.total_load.clone()),
        ],
    }
}

fn scheme_equation(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "41–42",
        Behaviour::Strategic => "48",
    }
}

fn termination_text(r: &RunReport) -> String {
    let step_hint = match (r.step, r.critical_step) {
        (Some(s), Some(c)) if s > c => format!(
            " The step γ = {} is above the critical step 2/L = {}: rerun with --step below it.",
            num(s),
            num(c)
        ),
        (Some(_), _) => " Try a smaller --step or more --rounds.".to_string(),
        (None, _) => String::new(),
    };
    let tolerance = r.tolerance;
    match r.termination {
        Termination::Converged => format!(
            "converged after {} (residual {:.1e} ≤ tolerance {tolerance:e})",
            rounds(r.rounds_run),
            r.residual,
        ),
        Termination::Oscillating => format!(
            "DID NOT CONVERGE: the iterates oscillate without approaching the \
             equilibrium (stopped after {}, residual {:.1e}).{step_hint}",
            rounds(r.rounds_run),
            r.residual
        ),
        Termination::Diverged => format!(
            "DID NOT CONVERGE: the iterates diverged (stopped after {}, residual {:.1e}).\
             {step_hint}",
            rounds(r.rounds_run),
            r.residual
        ),
        Termination::MaxRounds => format!(
            "DID NOT CONVERGE within the round limit ({}; residual {:.1e} > tolerance \
             {tolerance:e}).{step_hint}",
            rounds(r.rounds_run),
            r.residual,
        ),
        Termination::Stalled => format!(
            "DID NOT CONVERGE: the price Newton stalled after {} (residual {:.1e}).",
            rounds(r.rounds_run),
            r.residual
        ),
        other => format!(
            "DID NOT CONVERGE: the run ended ({other}) after {} (residual {:.1e}).",
            rounds(r.rounds_run),
            r.residual
        ),
    }
}

fn run_text(r: &RunReport, file: &str, model: &ShapingModel, every: Option<usize>) -> String {
    let b = r.behaviour;
    let mut text = String::new();
    // The heading names the termination: "Simulated" only for a converged run.
    let heading = if r.converged {
        "Simulated".to_string()
    } else {
        format!("NOT CONVERGED ({})", r.termination.name().replace('_', " "))
    };
    match r.scheme {
        Scheme::Gradient => {
            let update = match b {
                Behaviour::Competitive => {
                    "q_i ← [q_i + γ (U_i'(q_i(t), t) − p(t))]_{S_i}  (eq. 42)"
                }
                Behaviour::Strategic => {
                    "q_i ← [q_i + γ (U_i'(q_i(t), t) − p(t) − q_i(t) C''(Q(t), t))]_{S_i}  (eq. 48)"
                }
            };
            let _ = writeln!(
                text,
                "{heading}: the distributed gradient scheme of {PAPER} ({} customers) on {file}:\n\
                 {} × {}. Each round the utility announces p(t) = C'(Q(t), t) (eq. 41){}, and\n\
                 every customer projects a gradient step onto S_i = {{q ≥ 0, Q_i ≤ Σ_t q(t) ≤ Q̄_i}}:\n  {update}\n",
                behaviour_name(b),
                plural(model.population(), "customer", "customers"),
                plural(model.periods(), "period", "periods"),
                if b == Behaviour::Strategic {
                    " and C''(Q(t), t)"
                } else {
                    ""
                },
            );
        }
        Scheme::Newton => {
            let _ = writeln!(
                text,
                "{heading}: the fast price-Newton scheme ({} customers) on {file}:\n\
                 {} × {}. Each round the utility announces a price profile, every customer\n\
                 replies with its exact optimal loads and their slopes, and the utility takes a\n\
                 safeguarded Newton step towards p(t) = C'(Q(t), t). Rounds are price\n\
                 announcements (rejected trials included).\n",
                behaviour_name(b),
                plural(model.population(), "customer", "customers"),
                plural(model.periods(), "period", "periods"),
            );
        }
    }
    if let Some(step) = r.step {
        let critical = match (r.critical_step, r.step_over_critical) {
            (Some(c), Some(ratio)) => format!(
                "critical step 2/L = {} (γ/critical = {ratio:.3}; a sufficient bound: L ≥ max_t \
                 (max_i −U_i'' + {}·C''))",
                num(c),
                if b == Behaviour::Strategic {
                    "(N+1)"
                } else {
                    "N"
                }
            ),
            _ => "no critical step known (user-supplied utilities or a non-quadratic supply \
                  cost)"
                .to_string(),
        };
        let note = match r.critical_step {
            Some(c) if step > c => "  (above the critical step: convergence is not guaranteed)",
            Some(_) => "  (below the critical step: projected gradient converges)",
            None => "",
        };
        let _ = writeln!(text, "  step γ           {}{note}", num(step));
        let _ = writeln!(text, "                   {critical}");
    }
    let _ = writeln!(text, "  termination      {}", termination_text(r));
    let _ = writeln!(
        text,
        "  prices           max |p − p̄| = {} (relative {}) against the exact {} \
         equilibrium of `dr solve`",
        sci(r.max_price_difference.0),
        sci(r.max_relative_price_difference.0),
        behaviour_name(b)
    );
    let _ = writeln!(
        text,
        "  peak/average     {:.4} at the last round (equilibrium {:.4})",
        r.peak_to_average, r.equilibrium_peak_to_average
    );
    let _ = writeln!(text, "  messages         {} scalars\n", r.messages);
    // The trace: residual, price error, and the prices of the dearest and cheapest
    // equilibrium periods.
    let hi = argmax(&r.equilibrium_prices);
    let lo = argmin(&r.equilibrium_prices);
    let hi_label = format!("p({hi})");
    let lo_label = format!("p({lo})");
    let peak_label = format!("Q({hi})");
    let header = vec![
        "round",
        "residual",
        "max |p − p̄|",
        &hi_label,
        &lo_label,
        &peak_label,
    ];
    let mut table = Table::new(&header);
    let len = r.rounds.len();
    let every = every.unwrap_or_else(|| len.div_ceil(20)).max(1);
    for (k, (round, err)) in r.rounds.iter().zip(&r.price_errors).enumerate() {
        if k % every != 0 && k + 1 != len {
            continue;
        }
        table.row(vec![
            round.round.to_string(),
            format!("{:.3e}", round.residual),
            format!("{err:.3e}"),
            num(round.prices.get(hi).copied().unwrap_or(f64::NAN)),
            num(round.prices.get(lo).copied().unwrap_or(f64::NAN)),
            num(round.total_load.get(hi).copied().unwrap_or(f64::NAN)),
        ]);
    }
    table.row(vec![
        "p̄ (solve)".into(),
        String::new(),
        String::new(),
        num(r.equilibrium_prices[hi]),
        num(r.equilibrium_prices[lo]),
        num(r.equilibrium_total_load[hi]),
    ]);
    let _ = writeln!(
        text,
        "Trace (every {}, and the last; all rounds with --json):",
        rounds(every)
    );
    text.push_str(&table.render());
    text
}

fn run_plots(r: &RunReport) -> Vec<Plot> {
    let name = behaviour_name(r.behaviour);
    let label = match (r.scheme, r.step) {
        (Scheme::Gradient, Some(s)) => format!("gradient, γ = {}", num(s)),
        _ => "price Newton".to_string(),
    };
    let residual = LineChart::new(format!("Convergence of the {name} scheme ({label})"))
        .x_label("round")
        .y_label("residual")
        .log_y(true)
        .series(
            label.clone(),
            r.rounds.iter().map(|k| (k.round as f64, k.residual)),
        );
    let hi = argmax(&r.equilibrium_prices);
    let lo = argmin(&r.equilibrium_prices);
    let last = r.rounds.last().map_or(1.0, |k| (k.round as f64).max(1.0));
    let mut prices = LineChart::new(format!("Announced prices per round ({label})"))
        .x_label("round")
        .y_label("price p(t)");
    for t in [hi, lo] {
        prices = prices.series(
            format!("p({t})"),
            r.rounds
                .iter()
                .map(|k| (k.round as f64, k.prices.get(t).copied().unwrap_or(f64::NAN))),
        );
    }
    prices = prices.dashed_series(
        "equilibrium (dr solve)",
        [
            (0.0, r.equilibrium_prices[hi]),
            (last, r.equilibrium_prices[hi]),
            (f64::NAN, f64::NAN),
            (0.0, r.equilibrium_prices[lo]),
            (last, r.equilibrium_prices[lo]),
        ],
    );
    let profile = LineChart::new(format!(
        "Prices over the periods after {}",
        rounds(r.rounds_run)
    ))
    .x_label("period t")
    .y_label("price p(t)")
    .series_with_markers("last round", series(&r.prices))
    .dashed_series("equilibrium (dr solve)", series(&r.equilibrium_prices));
    vec![
        Plot::new(format!("shaping-simulate-{name}-residual"), &residual),
        Plot::new(format!("shaping-simulate-{name}-prices"), &prices),
        Plot::new(format!("shaping-simulate-{name}-profile"), &profile),
    ]
}

fn simulate(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params
        .allow_only("shaping simulate", &["record_loads"])?;
    let file: ShapingScenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let err = model_err(s.name());
    let (settings, behaviours) = simulation_settings(s, opts, &file)?;
    // The round limit of the flags may exceed the file's: estimate with the one used.
    let mut sized = file.clone();
    sized.simulation = Some(settings.clone());
    check_memory(opts, s.name(), sized.memory_estimate())?;
    let model = file.to_model().map_err(&err)?;
    let mut runs = Vec::with_capacity(behaviours.len());
    for &behaviour in &behaviours {
        let exact = match behaviour {
            Behaviour::Competitive => competitive_equilibrium(&model),
            Behaviour::Strategic => strategic_equilibrium(&model),
        }
        .map_err(&err)?;
        let run = run_scheme(&model, behaviour, &settings, opts).map_err(&err)?;
        runs.push(run_report(run, &exact, &settings));
    }
    let mut text = String::new();
    let mut plots = Vec::new();
    let mut outcome = Outcome::default();
    for r in &runs {
        let name = behaviour_name(r.behaviour);
        outcome.certificate(
            &format!("exact {name} equilibrium (the reference)"),
            &r.equilibrium_certificate.certificate(),
        );
        outcome.converged(
            &format!("{name} simulation"),
            r.converged,
            &format!("{} after {}", r.termination.name(), rounds(r.rounds_run)),
        );
    }
    for (k, r) in runs.iter().enumerate() {
        if k > 0 {
            text.push('\n');
        }
        text.push_str(&run_text(r, s.name(), &model, opts.sim.every));
        if opts.wants_plots() {
            plots.extend(run_plots(r));
        }
    }
    let mut runs = runs.into_iter();
    let Some(run) = runs.next() else {
        return Err(CliError::model(
            s.name(),
            ModelKind::Shaping,
            "no behaviour to simulate".to_string(),
        ));
    };
    let report = SimulationReport {
        model: "shaping".into(),
        file: s.name().into(),
        simulated: "distributed demand shaping (chen-li-low-doyle-2010 §IV-B/C)".into(),
        run,
        strategic: runs.next(),
    };
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_body(report))
}

// ---------------------------------------------------------------------------------------
// dr demo

/// The bundled day: both equilibria, load shape before and after, certificates, Nash gain,
/// the second solver path and the fast distributed scheme, each printed claim checked
/// independently ([`dr_shaping::day_report`]); a claim that fails is recorded (exit 3).
fn demo_day(opts: &Options) -> Result<Output, CliError> {
    let scenario = Scenario::from_named_text(DAY.to_string(), Format::Toml, DAY_NAME.to_string())?;
    let file: ShapingScenario = scenario.parse()?;
    let err = model_err(DAY_NAME);
    let model = file.to_model().map_err(&err)?;
    let report: DayReport = day_report(&model, &file.classes(), DAY_NAME).map_err(&err)?;
    let r = &report.solve;
    let (ce, ne, u) = (
        &r.competitive,
        &r.strategic.equilibrium,
        &r.competitive.unshaped,
    );
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {DAY_NAME}, {} customers in {} classes (households, offices, electric vehicles,\n\
         water heaters) over 24 hours, supply cost {} steepest in the\n\
         evening. Competitive equilibrium = the welfare optimum (Theorem 6); strategic = the Nash\n\
         equilibrium of customers who anticipate the price (Theorem 7). (Same as `dr solve {DAY_NAME}`.)\n",
        heading_word(r.status()),
        r.customers,
        r.classes.len(),
        r.supply_cost_form,
    );
    let _ = writeln!(
        text,
        "  peak/average: unshaped {:.4}, competitive {:.4}, strategic {:.4}; welfare {} / {} / {}\n",
        u.peak_to_average,
        ce.peak_to_average,
        ne.peak_to_average,
        num(u.welfare),
        num(ce.welfare),
        num(ne.welfare),
    );
    for c in &report.claims_checked {
        let _ = writeln!(
            text,
            "  [{}] {}\n        {}",
            if c.holds { "holds" } else { "FAILS" },
            c.claim,
            c.evidence
        );
    }
    text.push('\n');
    let _ = write!(text, "Competitive equilibrium ");
    text.push_str(&certificate_text(&ce.certificate));
    let _ = writeln!(text, "\nPrices and total loads per hour:");
    text.push_str(&periods_table(r));
    let plots = if opts.wants_plots() {
        solve_plots(r, "shaping-day")
    } else {
        Vec::new()
    };
    let mut outcome = solve_outcome(r);
    for c in &report.claims_checked {
        outcome.claim(&format!("shaping demo: {}", c.claim), c.holds);
    }
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_body(report))
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
        let out = demo_day(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.outcome, Outcome::default(), "{:?}", out.outcome);
        let v = out.body_value().unwrap();
        assert_eq!(v["certificate"]["status"], "Solved");
        assert_eq!(v["strategic"]["certificate"]["status"], "Solved");
        assert!(v["claims_checked"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["holds"] == true));
        assert_eq!(out.plots.len(), 2);
    }
}
