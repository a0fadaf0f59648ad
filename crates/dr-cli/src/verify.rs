//! `dr verify FILE`: the scenario's equilibria cross-checked against the LP reference back
//! end ([`demand_response::verify`]), for every model with a cross-check.
//!
//! Prints one row per cross-check (allocation and price gaps, the kernel objective above
//! the proven lower bound, the proven bound, the ratios to the proven tolerances, the LP
//! status), the model-level conditions, and the verdict. `--json` prints the
//! [`VerifyReport`] with `file` and `failures` added; its top level has at least
//! `max_allocation_gap`, `max_price_gap`, `objective_gap`, `bound` and `agrees`.
//!
//! Parameters: `--set backend=auto|microlp|clarabel` (the LP solver; `auto`, the default,
//! picks microlp for small problems and clarabel for large ones), `--set max_variables=N`
//! (largest LP, default 20000 variables),
//! `--set perturb_price=δ` (adds `δ` to every kernel price before the comparison, to see
//! the check fail), `--set tolerance=ε` (the LP back end's interval tolerance, relative
//! to the objective: `U − L ≤ ε Σ_j |f_j(x̂_j)|`, default `1e-9`).
//!
//! Three verdicts (`"verdict"` and `"reason"` in the JSON, the last line of the text):
//! - **agrees** (exit 0): every cross-check agrees, proven — the kernel's answer lies within
//!   the LP's proven interval and tolerances — and every condition holds;
//! - **disagrees** (exit 3, `outcome.disagrees`): a check disagrees, proven (outside a
//!   proven bound), or a condition fails; the failures are listed;
//! - **inconclusive** (exit 5, `outcome.not_confirmed`): nothing disagrees, but a check
//!   could not be confirmed — the LP back end failed or did not converge, its proven
//!   interval is not tight relative to the objective ("proven interval [L, U] too wide:
//!   relative width w > ε"), or the problem exceeds `max_variables`; the reason is given
//!   ("not confirmed (…)").
//!
//! Bad input is exit 1 (naming the field), a bad `--set` key or value exit 2.
//!
//! The text and the JSON are two renderings of one value: the facade's [`VerifyReport`]
//! (`Serialize + Deserialize`), written by `--json` as it is, with `file` and `failures`
//! added (and the command's `outcome`, `problems`), so a saved result reads back into a
//! [`VerifyReport`]. Numbers follow [`dr_lp::number`]: one that was not measured (NaN: a
//! check whose LP back end failed, the gaps of a report stopped by a size limit) is
//! omitted from the JSON and printed `-` in the text; `±∞` is `"inf (not finite)"` in the
//! JSON and `inf` in the text; never `null`.

use super::error::CliError;
use super::output::{num, Draft, Options, Output, Table};
use demand_response::scenario::Scenario;
use demand_response::verify::{
    verify_scenario, Verdict, VerifyError, VerifyReport, VerifySettings,
};
use serde::Serialize;
use std::fmt::Write as _;

/// The `verify` handler of every model with an LP cross-check (see [`super::models`]).
pub(crate) fn verify(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only(
        &format!("{} verify", s.model()),
        &["backend", "max_variables", "perturb_price", "tolerance"],
    )?;
    let mut settings = VerifySettings::default();
    if let Some(name) = opts.params.get::<String>("backend")? {
        settings.lp.outer.backend =
            dr_lp::Backend::from_name(&name).ok_or_else(|| CliError::BadParameter {
                key: "backend".into(),
                value: name.clone(),
                reason: "must be auto, microlp or clarabel".into(),
            })?;
    }
    if let Some(n) = opts.params.get::<usize>("max_variables")? {
        settings.max_variables = n;
    }
    if let Some(d) = opts.params.get::<f64>("perturb_price")? {
        if !d.is_finite() {
            return Err(bad_parameter("perturb_price", d, "must be finite"));
        }
        settings.perturb_price = d;
    }
    if let Some(t) = opts.params.get::<f64>("tolerance")? {
        if !(t.is_finite() && t > 0.0) {
            return Err(bad_parameter("tolerance", t, "must be finite and > 0"));
        }
        settings.lp.outer.tolerance = t;
    }
    super::output::check_memory(opts, s.name(), memory_estimate(s)?)?;
    let report = verify_scenario(s, &settings).map_err(|e| match e {
        VerifyError::Scenario(e) => CliError::Scenario(e),
        other => CliError::model(s.name(), s.model(), other),
    })?;
    let body = VerifyBody {
        file: s.name().into(),
        failures: report.failures(),
        report,
    };
    let mut out = Draft {
        text: text(&body),
        ..Draft::default()
    };
    for f in &body.failures {
        out.outcome.disagrees(&format!(
            "{}: the kernel's equilibrium disagrees with the LP reference back end (proven): \
             {f}",
            body.file
        ));
    }
    if body.report.verdict != Verdict::Agrees {
        for r in body.report.unconfirmed() {
            out.outcome
                .not_confirmed(&format!("{}: LP cross-check", body.file), &r);
        }
    }
    Ok(out.with_body(body))
}

/// The model's own estimate of the memory its solve needs (each model crate's
/// `memory_estimate`), read before anything is built; the LP back end stays within
/// `max_variables` on top of it.
fn memory_estimate(s: &Scenario) -> Result<u64, CliError> {
    use demand_response::scenario::ModelKind;
    Ok(match s.model() {
        ModelKind::Bidding => s.parse::<dr_bidding::BiddingScenario>()?.memory_estimate(),
        ModelKind::Stackelberg => s.parse::<dr_stackelberg::Scenario>()?.memory_estimate(),
        ModelKind::Mechanism => s.parse::<dr_mechanism::Scenario>()?.memory_estimate(),
        ModelKind::Shaping => s.parse::<dr_shaping::ShapingScenario>()?.memory_estimate(),
    })
}

fn bad_parameter(key: &str, value: f64, reason: &str) -> CliError {
    CliError::BadParameter {
        key: key.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// What `dr verify --json` writes: the facade's [`VerifyReport`] (its fields at the top
/// level) with the scenario's name and the report's [`VerifyReport::failures`]; the text is
/// rendered from the same value ([`text`]).
#[derive(Serialize)]
struct VerifyBody {
    /// The scenario's name (its path as given).
    file: String,
    /// The report.
    #[serde(flatten)]
    report: VerifyReport,
    /// Every proven failure, in words ([`VerifyReport::failures`]; empty unless the verdict
    /// is `disagrees`).
    failures: Vec<String>,
}

/// A number of the report in the text: `-` for NaN (not measured: omitted from the JSON),
/// `inf`/`-inf` for `±∞` (the JSON's `"inf (not finite)"`, [`dr_lp::number`]).
fn sci(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.is_infinite() {
        format!("{v}")
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.2e}")
    }
}

/// A ratio to a proven tolerance in the text: as [`num`], `-` for NaN (as [`sci`]).
fn ratio(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        num(v)
    }
}

/// The text rendering of `body` (every number from the report itself).
fn text(body: &VerifyBody) -> String {
    let r = &body.report;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "LP cross-check of {} ({} model, {} {}): each equilibrium re-solved by the LP \
         reference back end\n(outer approximation with a proven interval [L, U]) and \
         compared under its proven tolerances.\n",
        body.file, r.model, r.size, r.size_unit
    );
    let mut table = Table::new(&[
        "check",
        "vars",
        "max |Δx|",
        "max |Δp|",
        "max |Δc|",
        "F_K − L",
        "U − L",
        "Δx ratio",
        "Δp ratio",
        "LP",
        "verdict",
    ]);
    for c in &r.checks {
        table.row(vec![
            c.name.clone(),
            c.variables.to_string(),
            sci(c.max_allocation_gap),
            sci(c.max_price_gap),
            sci(c.max_marginal_price_gap),
            sci(c.objective_gap),
            sci(c.bound),
            c.cross_check
                .as_ref()
                .map_or("-".into(), |cc| ratio(cc.allocation_ratio)),
            match &c.cross_check {
                Some(cc) if cc.rows_with_witness > 0 => ratio(cc.price_ratio),
                _ => "-".into(),
            },
            if c.lp_backend == "clarabel" || c.cross_check.is_none() {
                c.lp_status.clone()
            } else {
                format!("{} ({})", c.lp_status, c.lp_backend)
            },
            match c.verdict {
                Verdict::Agrees => "yes",
                Verdict::Disagrees => "NO",
                Verdict::Inconclusive => "inconclusive",
            }
            .into(),
        ]);
    }
    t.push_str(&table.render());
    let _ = writeln!(
        t,
        "(Δp: row multipliers, Δc: marginal prices c = Aᵀy − Gᵀz; ratios are gaps over their \
         proven tolerances, ≤ 1 agrees;\n `-`: no row has a witness variable, prices are \
         checked through the marginal-price intervals)"
    );
    if !r.conditions.is_empty() {
        let _ = writeln!(t, "\nconditions:");
        for c in &r.conditions {
            let _ = writeln!(
                t,
                "  {:<18} {} = {} (allowed {}) {}",
                c.name,
                c.statement,
                sci(c.value),
                sci(c.tolerance),
                if c.holds { "holds" } else { "FAILS" }
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(t, "\nnote: {n}");
    }
    let _ = writeln!(
        t,
        "\nsummary: max |Δ allocation| {}, max |Δ price| {} (marginal {}), objective gap {}, \
         bound {}",
        sci(r.max_allocation_gap),
        sci(r.max_price_gap),
        sci(r.max_marginal_price_gap),
        sci(r.objective_gap),
        sci(r.bound)
    );
    match r.verdict {
        Verdict::Agrees => {
            let _ = writeln!(
                t,
                "verdict: AGREES (proven: every answer lies within the LP's proven interval and \
                 tolerances)"
            );
        }
        Verdict::Disagrees => {
            let _ = writeln!(t, "verdict: DISAGREES (proven: outside a proven bound)");
            for f in &body.failures {
                let _ = writeln!(t, "  {f}");
            }
        }
        Verdict::Inconclusive => {
            let _ = writeln!(t, "verdict: INCONCLUSIVE (not confirmed)");
        }
    }
    if r.verdict != Verdict::Agrees {
        for u in r.unconfirmed() {
            let _ = writeln!(t, "  not confirmed: {u}");
        }
    }
    t
}
