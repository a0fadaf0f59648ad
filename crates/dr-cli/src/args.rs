//! Command-line arguments of `dr` (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Scenario files are TOML or JSON (told by the extension, else by the first character) with a
top-level key `model = \"bidding\" | \"shaping\" | \"stackelberg\" | \"mechanism\"`. FILE may
be `-` for standard input.

Exit status: 0 every certificate Solved and every printed claim holds (verify: agrees);
1 bad input (unreadable or malformed file, invalid model data naming the field and value, a
scenario over --memory-limit, a failed write); 2 usage error or something not available in
this build; 3 a printed claim does not hold or two solvers disagree (proven); 4 not converged
or numerical trouble (a certificate is not Solved; the heading names its status);
5 inconclusive: a second opinion (LP back end, cross-check path) failed or hit a limit, so the
answer is not confirmed. With several, the first of 3, 4, 5 wins.";

/// Equilibria of electricity demand-response markets: exact solvers with certificates,
/// distributed simulations, the papers' studies.
#[derive(Debug, Parser)]
#[command(name = "dr", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Print machine-readable JSON on stdout (errors too, as {"error": …}).
    #[arg(long, global = true)]
    pub json: bool,

    /// Write SVG plots into this directory (created if missing).
    #[arg(long, global = true, value_name = "DIR")]
    pub plot: Option<PathBuf>,

    /// Write per-item tables (e.g. bidding's customers.csv: one row per customer) as CSV
    /// into this directory (created if missing), next to the usual report.
    #[arg(long, global = true, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Format of the --output tables: csv, or parquet (a dr built with the cargo feature
    /// `parquet`).
    #[arg(long, global = true, value_enum, default_value_t = TableFormat::Csv)]
    pub format: TableFormat,

    /// Most memory a scenario may need (e.g. 6GiB, 512M); scenarios estimated above it are
    /// rejected before anything is allocated. Default: $DR_MEMORY_LIMIT, else 3/4 of the
    /// machine's physical memory.
    #[arg(long, global = true, value_name = "SIZE", value_parser = super::output::parse_bytes)]
    pub memory_limit: Option<u64>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Solve the scenario's equilibrium exactly and print it with its certificate.
    Solve {
        /// Scenario file (TOML or JSON), or `-` for stdin.
        file: PathBuf,
        /// Model-specific parameters.
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Run the scenario's distributed (iterative) algorithm and print its trace.
    Simulate {
        /// Scenario file (TOML or JSON), or `-` for stdin.
        file: PathBuf,
        /// Settings of the iterative algorithm.
        #[command(flatten)]
        sim: SimArgs,
        /// Model-specific parameters.
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Cross-check the scenario's equilibrium against an independent LP solve.
    Verify {
        /// Scenario file (TOML or JSON), or `-` for stdin.
        file: PathBuf,
        /// Model-specific parameters.
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Run one of the papers' numerical studies; without NAME, list them.
    Study {
        /// The study's name (see `dr study` for the list).
        name: Option<String>,
        /// Model-specific parameters.
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Solve bundled examples of every model available in this build and explain them.
    Demo,
}

/// Settings shared by the iterative algorithms (each model documents which it uses).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct SimArgs {
    /// Most rounds (message exchanges) to run.
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,
    /// Step size γ of the price update (papers' fixed-step rule).
    #[arg(long, value_name = "GAMMA", allow_negative_numbers = true)]
    pub step: Option<f64>,
    /// Stop when the mismatch falls below this tolerance.
    #[arg(long, visible_alias = "tol", value_name = "TOL")]
    pub tolerance: Option<f64>,
    /// Price-update rule.
    #[arg(long, value_enum)]
    pub rule: Option<RuleChoice>,
    /// Print every K-th round of the trace in the table (the JSON has all rounds).
    #[arg(long, value_name = "K")]
    pub every: Option<usize>,
    /// δ of the Stackelberg price update ε = (G + Z)/p + δ (alshehri-liu-chen-basar eq. 21;
    /// Theorem 4 needs δ ≥ 0). Only the stackelberg model reads it.
    #[arg(long, value_name = "DELTA", allow_negative_numbers = true)]
    pub delta: Option<f64>,
    /// Which equilibrium the bidding customers' replies aim at: price-taking bids
    /// (li-chen-dahleh-2015 eq. 11) or strategic ones (eq. 26); absent: the file's
    /// `[simulation] behaviour`, else both. Only the bidding model reads it.
    #[arg(long, value_enum)]
    pub equilibrium: Option<EquilibriumChoice>,
    /// The first announced price p(0) (bidding).
    #[arg(long, value_name = "P0", allow_negative_numbers = true)]
    pub start_price: Option<f64>,
}

/// The behaviour simulated by `dr simulate --equilibrium` (bidding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EquilibriumChoice {
    /// Price-taking customers (li-chen-dahleh-2015 eq. 11): the competitive equilibrium.
    Competitive,
    /// Price-anticipating customers (eq. 26): the Nash equilibrium (alias `strategic`).
    #[value(alias = "strategic")]
    Nash,
    /// Both, one run each.
    Both,
}

/// Price-update rules of the iterative algorithms (dr-convex `price_rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RuleChoice {
    /// The papers' fixed step `p ← [p − γ · mismatch]⁺` (alias `paper`; for stackelberg,
    /// eq. 21).
    #[value(alias = "paper")]
    Fixed,
    /// A faster update from the same messages (for bidding, the utility clears a market
    /// fitted to the bids it receives; for stackelberg, Steffensen's acceleration of eq. 21).
    Fast,
}

/// `--set KEY=VALUE` parameters, read by the model that runs.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ParamArgs {
    /// Model-specific parameter (repeatable), e.g. `--set delta=0.5`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn key_value_parsing() {
        assert_eq!(parse_key_value("a=1"), Ok(("a".into(), "1".into())));
        assert_eq!(parse_key_value(" a = x=y "), Ok(("a".into(), "x=y".into())));
        assert!(parse_key_value("=1").is_err());
        assert!(parse_key_value("a").is_err());
    }
}

/// `--format`: how `--output DIR` writes its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum TableFormat {
    /// `NAME.csv`.
    #[default]
    Csv,
    /// `NAME.parquet` (cargo feature `parquet`).
    Parquet,
}
