//! What a model module receives ([`Options`]) and returns ([`Output`]), plus small
//! formatting helpers (aligned tables, certificates).

use super::args::{EquilibriumChoice, RuleChoice, SimArgs};
use super::error::CliError;
use super::progress::Progress;
use demand_response::plot::Plot;
use dr_convex::Certificate;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::str::FromStr;

/// The result of a command: JSON for `--json`, a human-readable text, and plots for
/// `--plot DIR`.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Machine-readable result (printed with `--json`).
    pub json: Value,
    /// Human-readable result: a few lines and tables (printed otherwise).
    pub text: String,
    /// Figures, written as `DIR/<name>.svg` with `--plot DIR`.
    pub plots: Vec<Plot>,
}

/// Global and per-command settings, as the model modules see them.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// `--json`: machine-readable output (also hides progress bars).
    pub json: bool,
    /// `--plot DIR`.
    pub plot_dir: Option<PathBuf>,
    /// Settings of `dr simulate` (all `None` for other commands).
    pub sim: SimOptions,
    /// `--set KEY=VALUE` parameters.
    pub params: Params,
    /// Whether progress bars may be drawn (stdout and stderr are terminals, no `--json`).
    pub progress_allowed: bool,
}

impl Options {
    /// Whether plots are wanted (so a model can skip building them otherwise).
    pub(crate) fn wants_plots(&self) -> bool {
        self.plot_dir.is_some()
    }

    /// A progress bar over `len` steps, drawn only on a terminal without `--json`.
    pub(crate) fn progress(&self, len: u64, message: &str) -> Progress {
        if self.progress_allowed {
            Progress::new(len, message)
        } else {
            Progress::hidden()
        }
    }
}

/// Settings of the iterative algorithms (`dr simulate`); `None` = the model's default.
#[derive(Debug, Clone, Default)]
#[allow(dead_code, reason = "read by the models' simulate handlers")]
pub(crate) struct SimOptions {
    /// `--rounds N`.
    pub rounds: Option<usize>,
    /// `--step γ`.
    pub step: Option<f64>,
    /// `--tolerance TOL`.
    pub tolerance: Option<f64>,
    /// `--rule fixed|fast`.
    pub rule: Option<RuleChoice>,
    /// `--every K`: table shows every K-th round.
    pub every: Option<usize>,
    /// `--delta δ` (stackelberg eq. 21).
    pub delta: Option<f64>,
    /// `--equilibrium competitive|nash|both` (bidding).
    pub equilibrium: Option<EquilibriumChoice>,
    /// `--start-price p0` (bidding).
    pub start_price: Option<f64>,
}

impl From<SimArgs> for SimOptions {
    fn from(a: SimArgs) -> Self {
        SimOptions {
            rounds: a.rounds,
            step: a.step,
            tolerance: a.tolerance,
            rule: a.rule,
            every: a.every,
            delta: a.delta,
            equilibrium: a.equilibrium,
            start_price: a.start_price,
        }
    }
}

/// `--set KEY=VALUE` pairs, in the order given.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// From the parsed pairs.
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }

    /// True when no parameter was given.
    #[allow(dead_code, reason = "part of the model-module interface")]
    pub(crate) fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Rejects keys outside `accepted` (with the list in the message), so a typo is an
    /// error rather than a silently ignored setting.
    #[allow(dead_code, reason = "part of the model-module interface")]
    pub(crate) fn allow_only(&self, context: &str, accepted: &[&str]) -> Result<(), CliError> {
        for (k, v) in &self.pairs {
            if !accepted.contains(&k.as_str()) {
                let reason = if accepted.is_empty() {
                    format!("{context} takes no --set parameters")
                } else {
                    format!(
                        "unknown key for {context} (accepted: {})",
                        accepted.join(", ")
                    )
                };
                return Err(CliError::BadParameter {
                    key: k.clone(),
                    value: v.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// The last value given for `key`, parsed; an unparsable value is an error naming
    /// the key and value.
    #[allow(dead_code, reason = "part of the model-module interface")]
    pub(crate) fn get<T: FromStr>(&self, key: &str) -> Result<Option<T>, CliError>
    where
        T::Err: std::fmt::Display,
    {
        match self.pairs.iter().rev().find(|(k, _)| k == key) {
            None => Ok(None),
            Some((k, v)) => v
                .parse::<T>()
                .map(Some)
                .map_err(|e| CliError::BadParameter {
                    key: k.clone(),
                    value: v.clone(),
                    reason: e.to_string(),
                }),
        }
    }
}

/// A plain-text table with right-aligned columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (cells beyond the header's width are kept; short rows are padded).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders with two spaces between columns.
    pub(crate) fn render(&self) -> String {
        let ncol = self
            .rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(self.header.len()))
            .max()
            .unwrap_or(0);
        let mut width = vec![0usize; ncol];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (j, c) in r.iter().enumerate() {
                width[j] = width[j].max(display_width(c));
            }
        }
        let line = |r: &Vec<String>| -> String {
            let mut s = String::new();
            for (j, w) in width.iter().enumerate() {
                let c = r.get(j).map_or("", String::as_str);
                let pad = w.saturating_sub(display_width(c));
                if j > 0 {
                    s.push_str("  ");
                }
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
            s.trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        let total: usize = width.iter().sum::<usize>() + 2 * ncol.saturating_sub(1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// Width of `s` on a terminal: characters, not counting combining marks (the bar of `q̄`).
fn display_width(s: &str) -> usize {
    s.chars()
        .filter(|&c| {
            !matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
        })
        .count()
}

/// A number for tables: 6 significant digits, scientific when very large or small.
pub(crate) fn num(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if !v.is_finite() {
        format!("{v}")
    } else if v.abs() >= 1e6 || v.abs() < 1e-4 {
        format!("{v:.3e}")
    } else {
        let digits = (5 - v.abs().log10().floor() as i32).clamp(0, 10) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// The certificate as indented text lines.
pub(crate) fn certificate_text(c: &Certificate) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "certificate:");
    let _ = writeln!(s, "  status                {:?}", c.status);
    let _ = writeln!(s, "  primal infeasibility  {:.3e}", c.primal_infeasibility);
    let _ = writeln!(s, "  stationarity          {:.3e}", c.stationarity);
    let _ = writeln!(s, "  complementarity       {:.3e}", c.complementarity);
    let _ = writeln!(s, "  duality gap           {:.3e}", c.duality_gap);
    let _ = writeln!(s, "  iterations            {}", c.iterations);
    s
}

/// The certificate as JSON (non-finite residuals become `null`).
pub(crate) fn certificate_json(c: &Certificate) -> Value {
    json!({
        "status": format!("{:?}", c.status),
        "primal_infeasibility": c.primal_infeasibility,
        "stationarity": c.stationarity,
        "complementarity": c.complementarity,
        "duality_gap": c.duality_gap,
        "iterations": c.iterations,
        "max_residual": c.max_residual(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["i", "price"]);
        t.row(vec!["1".into(), "2.5".into()]);
        t.row(vec!["10".into(), "0.125".into(), "extra".into()]);
        let s = t.render();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], " i  price");
        assert_eq!(lines[2], " 1    2.5");
        assert_eq!(lines[3], "10  0.125  extra");
        let mut t = Table::new(&["q̄_i", "p"]);
        t.row(vec!["1.5".into(), "2".into()]);
        assert_eq!(t.render().lines().nth(2), Some("1.5  2"));
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.0 / 3.0), "0.333333");
        assert_eq!(num(123456.7), "123457");
        assert_eq!(num(1e-7), "1.000e-7");
        assert_eq!(num(f64::NAN), "NaN");
    }

    #[test]
    fn params_reject_unknown_keys_and_bad_values() {
        let p = Params::new(vec![
            ("delta".into(), "0.5".into()),
            ("x".into(), "y".into()),
        ]);
        assert!(p
            .allow_only("stackelberg simulate", &["delta", "x"])
            .is_ok());
        let e = p
            .allow_only("stackelberg simulate", &["delta"])
            .unwrap_err();
        assert!(e.to_string().contains("x=y") && e.to_string().contains("delta"));
        assert_eq!(p.get::<f64>("delta").unwrap(), Some(0.5));
        assert_eq!(p.get::<f64>("missing").unwrap(), None);
        let e = p.get::<f64>("x").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--set x=y"));
    }
}
