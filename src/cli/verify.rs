//! `dr verify FILE`: the scenario's equilibria cross-checked against the LP reference back
//! end ([`demand_response::verify`]), for every model with a cross-check.
//!
//! Prints one row per cross-check (allocation and price gaps, the kernel objective above
//! the proven lower bound, the proven bound, the ratios to the proven tolerances, the LP
//! status), the model-level conditions, and the verdict. `--json` prints the
//! [`VerifyReport`] with `file` and `failures` added; its top level has at least
//! `max_allocation_gap`, `max_price_gap`, `objective_gap`, `bound` and `agrees`.
//!
//! Parameters: `--set max_variables=N` (largest LP, default 2000 variables),
//! `--set perturb_price=δ` (adds `δ` to every kernel price before the comparison, to see
//! the check fail), `--set tolerance=ε` (the LP back end's interval tolerance, default
//! `1e-9`).
//!
//! Exit status: 0 when everything agrees; 3 (a failed self-check) when the kernel's
//! answer disagrees with the LP back end — the report is printed first, the failures go to
//! stderr; the usual codes for bad input.

use super::error::CliError;
use super::output::{num, Options, Output, Table};
use demand_response::scenario::Scenario;
use demand_response::verify::{verify_scenario, VerifyError, VerifyReport, VerifySettings};
use serde_json::Value;
use std::fmt::Write as _;

/// The `verify` handler of every model with an LP cross-check (see [`super::models`]).
pub(crate) fn verify(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params.allow_only(
        &format!("{} verify", s.model()),
        &["max_variables", "perturb_price", "tolerance"],
    )?;
    let mut settings = VerifySettings::default();
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
        settings.outer.tolerance = t;
    }
    let report = verify_scenario(s, &settings).map_err(|e| match e {
        VerifyError::Scenario(e) => CliError::Scenario(e),
        other => CliError::model(s.name(), s.model(), other),
    })?;
    let mut out = Output {
        json: json(s, &report),
        text: text(s, &report),
        ..Output::default()
    };
    if !report.agrees {
        for f in report.failures() {
            out.outcome.disagrees(&format!(
                "{}: the kernel's equilibrium disagrees with the LP reference back end: {f}",
                s.name()
            ));
        }
    }
    Ok(out)
}

fn bad_parameter(key: &str, value: f64, reason: &str) -> CliError {
    CliError::BadParameter {
        key: key.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn json(s: &Scenario, report: &VerifyReport) -> Value {
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("file".into(), Value::String(s.name().into()));
        map.insert(
            "failures".into(),
            Value::Array(report.failures().into_iter().map(Value::String).collect()),
        );
    }
    v
}

fn sci(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.2e}")
    }
}

fn text(s: &Scenario, r: &VerifyReport) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "LP cross-check of {} ({} model, {} {}): each equilibrium re-solved by the LP \
         reference back end\n(outer approximation with a proven interval [L, U]) and \
         compared under its proven tolerances.\n",
        s.name(),
        r.model,
        r.size,
        r.size_unit
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
        "agrees",
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
            num(c.cross_check.allocation_ratio),
            if c.cross_check.rows_with_witness > 0 {
                num(c.cross_check.price_ratio)
            } else {
                "-".into()
            },
            if c.lp_backend == "clarabel" {
                c.lp_status.clone()
            } else {
                format!("{} ({})", c.lp_status, c.lp_backend)
            },
            if c.agrees { "yes" } else { "NO" }.into(),
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
    if r.agrees {
        let _ = writeln!(t, "verdict: AGREES");
    } else {
        let _ = writeln!(t, "verdict: DISAGREES");
        for f in r.failures() {
            let _ = writeln!(t, "  {f}");
        }
    }
    t
}
