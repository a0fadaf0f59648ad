//! # dr-cli — the `dr` command of `demand-response`
//!
//! `dr solve | simulate | verify | study | demo` over TOML/JSON scenario files (read by
//! `demand_response::scenario`), for the four market models of the workspace. The binary is
//! this crate's `dr`; from the repository root `cargo run --release -- demo` runs it (the
//! workspace's default members). As a library, [`command`] runs the command in-process on a
//! parsed scenario and returns the JSON `dr … --json` prints (the Python bindings use it):
//!
//! ```
//! use dr_cli::command::{run, Action};
//! use demand_response::scenario::{Format, Scenario};
//! // li-chen-dahleh-2015 Theorem 1: two identical customers C(q) = q + q² shed d = 1:
//! // q̄ = (½, ½) and the price p̄ = C'(½) = 2.
//! let text = "model = \"bidding\"\ndeficit = 1.0\n\
//!             [[customers]]\ncost = { linear = 1.0, quadratic = 1.0 }\n\
//!             [[customers]]\ncost = { linear = 1.0, quadratic = 1.0 }\n";
//! let scenario = Scenario::from_text(text, Format::Toml)?;
//! let result = run(Action::Solve, &scenario, &[]).expect("solves");
//! assert!((result.json["competitive"]["price"].as_f64().unwrap() - 2.0).abs() < 1e-9);
//! # Ok::<(), demand_response::scenario::ScenarioError>(())
//! ```
//!
//! Modules:
//! - `args`: the clap definition (`solve | simulate | verify | study | demo`, global
//!   `--json` and `--plot DIR`);
//! - `models`: the registry — one `ModelCommands` per wired model;
//! - `output`: what a model receives (`Options`) and returns (`Output`: JSON, text, plots),
//!   with table and certificate formatting;
//! - `error`: `CliError` and the exit codes;
//! - `progress`: progress bars shown only on a terminal (an observer of the kernel's
//!   executor);
//! - `demo`, `study`: `dr demo` sections and the `dr study` registry.
//!
//! Output discipline: results go to stdout (text, or JSON with `--json`); errors go to
//! stderr with a non-zero exit code, and with `--json` also to stdout as
//! `{"error": "...", "kind": "..."}`.

pub(crate) mod args;
mod bidding;
pub mod command;
mod csv;
pub(crate) mod demo;
pub(crate) mod error;
mod json_layout;
mod mechanism;
pub(crate) mod models;
pub(crate) mod output;
#[cfg(feature = "parquet")]
mod parquet;
pub(crate) mod progress;
mod shaping;
mod stackelberg;
pub(crate) mod study;
mod verify;

use args::{Cli, Command};
use clap::Parser;
use demand_response::scenario::Scenario;
use error::CliError;
use models::Action;
use output::{Options, Output, Params};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Parses the arguments, runs the command, prints the result or the error.
pub fn main() -> ExitCode {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json_requested = raw.iter().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are reported by clap as "errors" that exit 0.
            if json_requested && e.use_stderr() {
                let message = e.render().to_string();
                let first = message.lines().next().unwrap_or("usage error");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                write_stdout(&error_line(first, "usage"));
            }
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let json = cli.json;
    let (opts, command) = match options(cli) {
        Ok(v) => v,
        Err(e) => {
            if json {
                write_stdout(&error_line(&e.to_string(), e.kind()));
            }
            eprintln!("error: {}", e.detailed());
            return ExitCode::from(e.exit_code());
        }
    };
    let result = execute(&command, &opts).and_then(|out| emit(out, &opts));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if json {
                write_stdout(&error_line(&e.to_string(), e.kind()));
            }
            eprintln!("error: {}", e.detailed());
            ExitCode::from(e.exit_code())
        }
    }
}

fn options(cli: Cli) -> Result<(Options, Command), CliError> {
    let progress_allowed =
        !cli.json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let memory_limit = match cli.memory_limit {
        Some(b) => b,
        None => output::memory_limit_from_env()?,
    };
    if cli.format == args::TableFormat::Parquet && !cfg!(feature = "parquet") {
        return Err(CliError::FormatUnavailable {
            format: "parquet",
            feature: "parquet",
        });
    }
    let mut opts = Options {
        json: cli.json,
        plot_dir: cli.plot,
        output_dir: cli.output,
        table_format: cli.format,
        progress_allowed,
        memory_limit,
        ..Options::default()
    };
    match &cli.command {
        Command::Solve { params, .. }
        | Command::Verify { params, .. }
        | Command::Study { params, .. } => opts.params = Params::new(params.set.clone()),
        Command::Simulate { sim, params, .. } => {
            opts.sim = sim.clone().into();
            opts.params = Params::new(params.set.clone());
        }
        Command::Demo => {}
    }
    Ok((opts, cli.command))
}

fn execute(command: &Command, opts: &Options) -> Result<Output, CliError> {
    match command {
        Command::Solve { file, .. } => models::run(Action::Solve, &read_scenario(file)?, opts),
        Command::Simulate { file, .. } => {
            models::run(Action::Simulate, &read_scenario(file)?, opts)
        }
        Command::Verify { file, .. } => models::run(Action::Verify, &read_scenario(file)?, opts),
        Command::Study { name: None, .. } => Ok(study::list()),
        Command::Study {
            name: Some(name), ..
        } => study::run(name, opts),
        Command::Demo => demo::run(opts),
    }
}

/// Reads a scenario from a path, or from stdin for `-`.
fn read_scenario(file: &Path) -> Result<Scenario, CliError> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Io {
                path: "<stdin>".into(),
                reason: e.to_string(),
            })?;
        Ok(Scenario::from_bytes(&bytes, "<stdin>")?)
    } else {
        Ok(Scenario::read(file)?)
    }
}

/// Writes plots (if asked), prints the result, and returns the exit status of its
/// [`output::Outcome`]: the one place where a result becomes an exit code. With `--json` the
/// top-level object gains `"outcome"` (`ok`, `failed`, `not_converged`, `inconclusive`) and
/// `"problems"`; the problems also go to stderr.
fn emit(out: Output, opts: &Options) -> Result<u8, CliError> {
    let written = match &opts.plot_dir {
        Some(dir) => write_plots(dir, &out.plots)?,
        None => Vec::new(),
    };
    let tables = match &opts.output_dir {
        Some(dir) => output::write_tables(dir, out.tables(), opts.table_format)?,
        None => Vec::new(),
    };
    if opts.json {
        let paths: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        let table_paths: Vec<String> = tables.iter().map(|p| p.display().to_string()).collect();
        let problems = out.outcome.messages();
        let extras = output::Extras {
            plots: opts.plot_dir.as_ref().map(|_| paths.as_slice()),
            tables: opts.output_dir.as_ref().map(|_| table_paths.as_slice()),
            outcome: out.outcome.verdict().name(),
            problems: &problems,
        };
        // Streamed: the document is never held in memory. A closed pipe (`dr … --json |
        // head`) ends the output quietly, as `write_stdout` does.
        let stdout = std::io::stdout();
        let lock = stdout.lock();
        let mut w = std::io::BufWriter::with_capacity(1 << 16, raw_stdout(lock));
        let written = out
            .write_json(&extras, &mut w)
            .map_err(|e| (e.io_error_kind(), e.to_string()))
            .and_then(|()| {
                w.write_all(b"\n")
                    .and_then(|()| w.flush())
                    .map_err(|e| (Some(e.kind()), e.to_string()))
            });
        match written {
            Ok(()) | Err((Some(std::io::ErrorKind::BrokenPipe), _)) => {}
            Err((_, reason)) => {
                return Err(CliError::Io {
                    path: "<stdout>".into(),
                    reason,
                })
            }
        }
    } else {
        let mut text = out.text;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if opts.plot_dir.is_some() {
            if written.is_empty() {
                text.push_str("\n(no plots for this command)\n");
            } else {
                text.push_str("\nplots written:\n");
                for p in &written {
                    text.push_str(&format!("  {}\n", p.display()));
                }
            }
        }
        if opts.output_dir.is_some() {
            if tables.is_empty() {
                text.push_str("\n(no tables for this command)\n");
            } else {
                text.push_str("\ntables written:\n");
                for p in &tables {
                    text.push_str(&format!("  {}\n", p.display()));
                }
            }
        }
        write_stdout(&text);
    }
    let verdict = out.outcome.verdict();
    if verdict != output::Verdict::Ok {
        let mut msg = format!(
            "dr: outcome {} (exit {}):\n",
            verdict.name(),
            verdict.exit_code()
        );
        for m in out.outcome.messages() {
            msg.push_str(&format!("  {m}\n"));
        }
        eprint!("{msg}");
    }
    Ok(verdict.exit_code())
}

fn write_plots(
    dir: &Path,
    plots: &[demand_response::plot::Plot],
) -> Result<Vec<PathBuf>, CliError> {
    let io_err = |path: &Path, e: std::io::Error| CliError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut written = Vec::with_capacity(plots.len());
    for plot in plots {
        let path = dir.join(plot.file_name());
        std::fs::write(&path, &plot.svg).map_err(|e| io_err(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// The one-line JSON object `--json` prints for an error: `{"error": message, "kind": kind}`.
fn error_line(error: &str, kind: &str) -> String {
    #[derive(serde::Serialize)]
    struct ErrorLine<'a> {
        error: &'a str,
        kind: &'a str,
    }
    let line = serde_json::to_string(&ErrorLine { error, kind })
        .unwrap_or_else(|_| String::from("{\"error\": \"unprintable error\"}"));
    format!("{line}\n")
}

/// Standard output for a large document: on Unix a duplicate of its descriptor, written
/// directly (the standard handle is line-buffered and scans every write for a newline, a
/// sequential pass over the whole document), with `lock` held so nothing else interleaves;
/// elsewhere, or should the duplicate fail, the locked handle itself.
fn raw_stdout(lock: std::io::StdoutLock<'static>) -> Box<dyn Write> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = lock.as_fd().try_clone_to_owned() {
            struct Held(
                std::fs::File,
                #[allow(dead_code)] std::io::StdoutLock<'static>,
            );
            impl Write for Held {
                fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                    self.0.write(buf)
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    self.0.flush()
                }
            }
            return Box::new(Held(std::fs::File::from(fd), lock));
        }
    }
    Box::new(lock)
}

/// Prints to stdout, ignoring a closed pipe (`dr demo | head` must not panic).
fn write_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}
