//! What a model module receives ([`Options`]) and returns ([`Output`]), plus small
//! formatting helpers (aligned tables, certificates).

use super::args::{EquilibriumChoice, RuleChoice, SimArgs, TableFormat};
use super::error::CliError;
use super::progress::{Progress, Watch};
use crate::command::{RoundObserver, RoundReport};
use demand_response::plot::Plot;
use dr_convex::Certificate;
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::str::FromStr;

/// A typed result the command renders as JSON: any `Serialize` value whose JSON is an
/// object (a struct or a map). `--json` streams it straight to the writer
/// ([`Body::write_json`]) with `"plots"`, `"outcome"` and `"problems"` appended, never
/// building the document in memory; library callers ([`crate::command::run`]) get it as a
/// `serde_json::Value` ([`Body::to_value`]).
pub(crate) trait Body {
    /// Writes `{ …self's fields…, "plots"?, "outcome", "problems" }` to `w`, pretty-printed.
    fn write_json(&self, extras: &Extras<'_>, w: &mut dyn std::io::Write)
        -> serde_json::Result<()>;
    /// The same object as a value.
    fn to_value(&self, extras: &Extras<'_>) -> serde_json::Result<Value>;
    /// The body alone as a value (no extras): a part of a larger report (`dr demo`'s
    /// sections).
    fn plain_value(&self) -> serde_json::Result<Value>;
    /// Per-item tables written by `--output DIR` (none, unless the body is [`Tabled`]).
    fn tables(&self) -> &[CsvTable] {
        &[]
    }
}

/// A typed report with per-item tables for `--output DIR` ([`Draft::with_tables`]): the
/// JSON is the report's, the tables are written as CSV next to it.
pub(crate) struct Tabled<T> {
    /// The report.
    pub report: T,
    /// Its tables.
    pub tables: Vec<CsvTable>,
}

impl<T: Serialize> Body for Tabled<T> {
    fn write_json(
        &self,
        extras: &Extras<'_>,
        w: &mut dyn std::io::Write,
    ) -> serde_json::Result<()> {
        self.report.write_json(extras, w)
    }

    fn to_value(&self, extras: &Extras<'_>) -> serde_json::Result<Value> {
        self.report.to_value(extras)
    }

    fn plain_value(&self) -> serde_json::Result<Value> {
        self.report.plain_value()
    }

    fn tables(&self) -> &[CsvTable] {
        &self.tables
    }
}

/// What `dr` adds to every JSON result (README, "Exit status").
#[derive(Debug, Serialize)]
pub(crate) struct Extras<'a> {
    /// Files written by `--plot DIR` (absent without `--plot`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plots: Option<&'a [String]>,
    /// Files written by `--output DIR` (absent without `--output`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<&'a [String]>,
    /// [`Verdict::name`] of the result's [`Outcome`].
    pub outcome: &'a str,
    /// [`Outcome::messages`].
    pub problems: &'a [String],
}

#[derive(Serialize)]
struct Envelope<'a, T: ?Sized> {
    #[serde(flatten)]
    body: &'a T,
    #[serde(flatten)]
    extras: &'a Extras<'a>,
}

impl<T: Serialize> Body for T {
    fn write_json(
        &self,
        extras: &Extras<'_>,
        w: &mut dyn std::io::Write,
    ) -> serde_json::Result<()> {
        // A buffer of our own: the serializer's many small writes stay monomorphic (no
        // virtual call per number); only whole buffers go through `dyn Write`.
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, w);
        crate::json_layout::to_writer(&mut buffered, &Envelope { body: self, extras })?;
        std::io::Write::flush(&mut buffered).map_err(serde_json::Error::io)
    }

    fn to_value(&self, extras: &Extras<'_>) -> serde_json::Result<Value> {
        serde_json::to_value(Envelope { body: self, extras })
    }

    fn plain_value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }
}

/// The result of a command: a typed JSON body for `--json`, a human-readable text, and
/// plots for `--plot DIR`, plus the [`Outcome`] that decides the exit status. Built from a
/// [`Draft`] by [`Draft::with_body`] or [`Draft::with_tables`]: every result has its typed
/// report (no JSON is built by hand).
pub(crate) struct Output {
    /// Machine-readable result (streamed with `--json`): the typed report.
    pub body: Box<dyn Body>,
    /// Human-readable result: a few lines and tables (printed otherwise).
    pub text: String,
    /// Figures, written as `DIR/<name>.svg` with `--plot DIR`.
    pub plots: Vec<Plot>,
    /// What the result certifies; the exit status is its worst verdict's (`Verdict::exit_code`).
    pub outcome: Outcome,
}

/// An [`Output`] before its typed report is attached: the text, plots and outcome.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    /// Human-readable result: a few lines and tables (printed otherwise).
    pub text: String,
    /// Figures, written as `DIR/<name>.svg` with `--plot DIR`.
    pub plots: Vec<Plot>,
    /// What the result certifies; the exit status is its worst verdict's (`Verdict::exit_code`).
    pub outcome: Outcome,
}

/// A table written as CSV by `--output DIR`: a file name, a header, and a writer that
/// streams the rows (no header) to a buffered file, so no table is held in memory as text.
pub(crate) struct CsvTable {
    /// File name inside the directory, e.g. `customers.csv`.
    pub file_name: String,
    /// Column names (the first line of the file).
    pub header: Vec<String>,
    /// Writes every row, each ending in a newline.
    pub rows: RowWriter,
}

/// Streams the rows of a [`CsvTable`] to a writer.
pub(crate) type RowWriter = Box<dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>>;

/// Writes each table as `dir/<file_name>` (the directory is created if missing): the header
/// line, then the rows through a 1 MiB buffer; with `--format parquet` as
/// `dir/<name>.parquet` instead ([`crate::parquet`]). Returns the paths written.
pub(crate) fn write_tables(
    dir: &std::path::Path,
    tables: &[CsvTable],
    format: TableFormat,
) -> Result<Vec<PathBuf>, CliError> {
    if format == TableFormat::Parquet {
        return write_parquet(dir, tables);
    }
    use std::io::Write as _;
    let io_err = |path: &std::path::Path, e: std::io::Error| CliError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut written = Vec::with_capacity(tables.len());
    for t in tables {
        let path = dir.join(&t.file_name);
        let file = std::fs::File::create(&path).map_err(|e| io_err(&path, e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "{}", t.header.join(","))
            .and_then(|()| (t.rows)(&mut w))
            .and_then(|()| w.flush())
            .map_err(|e| io_err(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// `--format parquet`: each table as `dir/<name>.parquet`.
#[cfg(feature = "parquet")]
fn write_parquet(dir: &std::path::Path, tables: &[CsvTable]) -> Result<Vec<PathBuf>, CliError> {
    let io_err = |path: &std::path::Path, e: std::io::Error| CliError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut written = Vec::with_capacity(tables.len());
    for t in tables {
        let path = dir.join(&t.file_name).with_extension("parquet");
        crate::parquet::write_table(&path, t).map_err(|e| io_err(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// `--format parquet` in a build without the `parquet` feature: a usage error (exit 2).
#[cfg(not(feature = "parquet"))]
fn write_parquet(_: &std::path::Path, _: &[CsvTable]) -> Result<Vec<PathBuf>, CliError> {
    Err(CliError::FormatUnavailable {
        format: "parquet",
        feature: "parquet",
    })
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("body", &"<typed report>")
            .field("text", &self.text)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl Draft {
    /// The output with `body` as the typed report `--json` renders.
    pub(crate) fn with_body(self, body: impl Serialize + 'static) -> Output {
        self.into_output(Box::new(body))
    }

    /// The output with `report` as the typed report `--json` renders and the tables
    /// `--output DIR` writes.
    pub(crate) fn with_tables(
        self,
        report: impl Serialize + 'static,
        tables: Vec<CsvTable>,
    ) -> Output {
        self.into_output(Box::new(Tabled { report, tables }))
    }

    fn into_output(self, body: Box<dyn Body>) -> Output {
        Output {
            body,
            text: self.text,
            plots: self.plots,
            outcome: self.outcome,
        }
    }

    /// Records a certificate shown in this output (see [`Outcome::certificate`]).
    pub(crate) fn certificate(&mut self, what: &str, c: &Certificate) -> &mut Self {
        self.outcome.certificate(what, c);
        self
    }

    /// Records a printed claim and whether it holds (see [`Outcome::claim`]).
    pub(crate) fn claim(&mut self, what: &str, holds: bool) -> &mut Self {
        self.outcome.claim(what, holds);
        self
    }
}

impl Output {
    /// The tables `--output DIR` writes (none without a [`Tabled`] body).
    pub(crate) fn tables(&self) -> &[CsvTable] {
        self.body.tables()
    }

    /// Writes the JSON result with `extras`.
    pub(crate) fn write_json(
        &self,
        extras: &Extras<'_>,
        w: &mut dyn std::io::Write,
    ) -> serde_json::Result<()> {
        self.body.write_json(extras, w)
    }

    /// The JSON result without the extras, as a value (a section of `dr demo`).
    pub(crate) fn body_value(&self) -> serde_json::Result<Value> {
        self.body.plain_value()
    }

    /// The JSON result as a value (for library callers).
    pub(crate) fn json_value(&self, extras: &Extras<'_>) -> serde_json::Result<Value> {
        self.body.to_value(extras)
    }

    /// Records a certificate shown in this output (see [`Outcome::certificate`]).
    pub(crate) fn certificate(&mut self, what: &str, c: &Certificate) -> &mut Self {
        self.outcome.certificate(what, c);
        self
    }
}

/// The one status → heading → exit-code policy of `dr` (README, "Exit status").
///
/// Every model module records in its [`Output`] each certificate it shows and each claim it
/// prints; [`super::emit`] turns the worst of them into the exit status. Exit 0 only when
/// every certificate is `Solved` and every printed claim holds.
///
/// | code | [`Verdict`] | meaning |
/// |---|---|---|
/// | 0 | `Ok` | every certificate Solved, every claim holds (`dr verify`: agrees, proven) |
/// | 1 | — | bad input: the error names the field and value (also: over the memory limit) |
/// | 2 | — | usage: unknown command, option, study or `--set` key |
/// | 3 | `Failed` | a printed claim does not hold, or a proven disagreement between two solvers |
/// | 4 | `NotConverged` | a certificate is not Solved (iteration limit, numerical trouble, …) |
/// | 5 | `Inconclusive` | a second opinion failed or hit a limit: the answer is *not confirmed* |
///
/// When several apply the order is 3, then 4, then 5.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Outcome {
    /// Each problem found, with its kind, in the order recorded.
    pub problems: Vec<(Verdict, String)>,
}

/// What an [`Outcome`] amounts to; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Verdict {
    /// Every certificate Solved, every claim holds.
    #[default]
    Ok,
    /// A second opinion failed: the answer is not confirmed (exit 5).
    Inconclusive,
    /// A certificate is not Solved (exit 4).
    NotConverged,
    /// A claim does not hold, or two solvers disagree (exit 3).
    Failed,
}

impl Verdict {
    /// The process exit status of this verdict.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::Failed => 3,
            Verdict::NotConverged => 4,
            Verdict::Inconclusive => 5,
        }
    }

    /// Short machine-readable name (`"ok"`, `"failed"`, `"not_converged"`,
    /// `"inconclusive"`), written as `"outcome"` in `--json` output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed => "failed",
            Verdict::NotConverged => "not_converged",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl Outcome {
    /// Records a certificate: anything but `Solved` makes the outcome
    /// [`Verdict::NotConverged`], with `what` and the status named.
    pub(crate) fn certificate(&mut self, what: &str, c: &Certificate) {
        if !c.status.is_solved() {
            self.problems.push((
                Verdict::NotConverged,
                format!("{what}: status {:?}", c.status),
            ));
        }
    }

    /// Records a status that is not a full certificate (e.g. an iterative run's
    /// termination): `solved = false` makes the outcome [`Verdict::NotConverged`].
    pub(crate) fn converged(&mut self, what: &str, solved: bool, status: &str) {
        if !solved {
            self.problems
                .push((Verdict::NotConverged, format!("{what}: {status}")));
        }
    }

    /// Records a printed claim: one that does not hold makes the outcome
    /// [`Verdict::Failed`].
    pub(crate) fn claim(&mut self, what: &str, holds: bool) {
        if !holds {
            self.problems
                .push((Verdict::Failed, format!("claim does not hold: {what}")));
        }
    }

    /// Records a second opinion that could not be obtained (failed, hit a limit):
    /// [`Verdict::Inconclusive`].
    pub(crate) fn not_confirmed(&mut self, what: &str, reason: &str) {
        self.problems.push((
            Verdict::Inconclusive,
            format!("{what}: not confirmed ({reason})"),
        ));
    }

    /// Records a proven disagreement between two solvers: [`Verdict::Failed`].
    pub(crate) fn disagrees(&mut self, what: &str) {
        self.problems
            .push((Verdict::Failed, format!("disagreement: {what}")));
    }

    /// Merges another outcome (e.g. one demo section's) into this one.
    pub(crate) fn absorb(&mut self, other: Outcome) {
        self.problems.extend(other.problems);
    }

    /// The worst verdict recorded ([`Verdict::Ok`] when none).
    pub(crate) fn verdict(&self) -> Verdict {
        self.problems
            .iter()
            .map(|(v, _)| *v)
            .max()
            .unwrap_or(Verdict::Ok)
    }

    /// The problems as lines for stderr (empty when the outcome is Ok).
    pub(crate) fn messages(&self) -> Vec<String> {
        self.problems.iter().map(|(_, m)| m.clone()).collect()
    }
}

/// The word a text heading starts with for a certificate status: `"Solved"` only when the
/// status is Solved; otherwise the status itself (e.g. `"NOT SOLVED (MaxIterations)"`), so
/// a heading never claims more than its certificate.
pub(crate) fn heading_word(status: dr_convex::Status) -> String {
    if status.is_solved() {
        "Solved".to_string()
    } else {
        format!("NOT SOLVED ({status:?})")
    }
}

/// Global and per-command settings, as the model modules see them.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// `--json`: machine-readable output (also hides progress bars).
    pub json: bool,
    /// `--plot DIR`.
    pub plot_dir: Option<PathBuf>,
    /// `--output DIR`: per-item tables as CSV ([`Output::tables`]).
    pub output_dir: Option<PathBuf>,
    /// `--format`: CSV or Parquet tables.
    pub table_format: TableFormat,
    /// Settings of `dr simulate` (all `None` for other commands).
    pub sim: SimOptions,
    /// `--set KEY=VALUE` parameters.
    pub params: Params,
    /// Whether progress bars may be drawn (stdout and stderr are terminals, no `--json`).
    pub progress_allowed: bool,
    /// `--memory-limit`: the most bytes a scenario may need (see [`check_memory`]).
    pub memory_limit: u64,
    /// A library caller's observer of the simulation rounds (none for the command).
    pub rounds: RoundSink,
}

/// Where the rounds of an iterative algorithm go besides the progress bar: a library
/// caller's [`RoundObserver`] (`crate::command::run_observed`), or nowhere.
#[derive(Default)]
pub(crate) struct RoundSink(Option<RefCell<RoundObserver>>);

impl RoundSink {
    /// A sink passing rounds to `observer` (none: rounds go nowhere).
    pub(crate) fn new(observer: Option<RoundObserver>) -> RoundSink {
        RoundSink(observer.map(RefCell::new))
    }

    /// Hands the round `report()` builds to the observer (built only when there is one);
    /// its answer says whether the run goes on.
    pub(crate) fn report(&self, report: impl FnOnce() -> RoundReport) -> ControlFlow<()> {
        match &self.0 {
            Some(cell) => match cell.try_borrow_mut() {
                Ok(mut observer) => observer(&report()),
                // Not re-entered by the handlers (one run at a time); keep going if it were.
                Err(_) => ControlFlow::Continue(()),
            },
            None => ControlFlow::Continue(()),
        }
    }
}

impl std::fmt::Debug for RoundSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RoundSink(observer)"
        } else {
            "RoundSink(none)"
        })
    }
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

    /// The observer of an iterative run ([`dr_convex::Executor::observe`]): the progress bar
    /// ([`Options::progress`]) and the library caller's [`RoundSink`], which gets each round
    /// as `report(index, round, stepper)` builds it.
    pub(crate) fn watch<F>(&self, len: u64, message: &str, report: F) -> Watch<'_, F> {
        Watch::new(self.progress(len, message), &self.rounds, report)
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

/// Rejects a scenario whose estimated peak memory (`estimate` bytes, computed from its
/// counts before anything is allocated) exceeds `--memory-limit`, with both numbers.
pub(crate) fn check_memory(opts: &Options, file: &str, estimate: u64) -> Result<(), CliError> {
    if estimate > opts.memory_limit {
        return Err(CliError::TooLarge {
            file: file.to_string(),
            estimate,
            limit: opts.memory_limit,
        });
    }
    Ok(())
}

/// The memory limit when `--memory-limit` is not given: `$DR_MEMORY_LIMIT`, else
/// [`default_memory_limit`]; a malformed variable is a `BadParameter` naming it.
pub(crate) fn memory_limit_from_env() -> Result<u64, CliError> {
    match std::env::var("DR_MEMORY_LIMIT") {
        Ok(v) => parse_bytes(&v).map_err(|reason| CliError::BadParameter {
            key: "DR_MEMORY_LIMIT".into(),
            value: v.clone(),
            reason,
        }),
        Err(_) => Ok(default_memory_limit()),
    }
}

/// The default `--memory-limit`: 3/4 of the machine's physical memory (from
/// `/proc/meminfo`), or 8 GiB where that cannot be read.
pub(crate) fn default_memory_limit() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    });
    match total_kib {
        Some(k) if k > 0 => k.saturating_mul(1024) / 4 * 3,
        _ => 8 << 30,
    }
}

/// Parses a byte size: a plain number of bytes, or with a suffix `K`, `M`, `G`, `T`
/// (powers of 1024; `KiB`, `KB`, … accepted), e.g. `6GiB`, `512M`, `1.5G`.
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 6GiB, 512M, 1000000)"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024.0 * 1024.0,
        "G" | "GB" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" | "TIB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{s}' (use K, M, G or T)"
            ))
        }
    };
    let bytes = value * mult;
    if !(bytes.is_finite() && bytes >= 0.0) || bytes > u64::MAX as f64 {
        return Err(format!("'{s}' is not a size in bytes"));
    }
    Ok(bytes as u64)
}

/// A byte count for messages: `1.50 GiB`.
pub(crate) fn bytes_text(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b as f64;
    let mut k = 0;
    while v >= 1024.0 && k + 1 < units.len() {
        v /= 1024.0;
        k += 1;
    }
    if k == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", units[k])
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
pub(crate) use dr_convex::six_digits as num;

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
