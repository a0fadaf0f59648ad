//! `cargo xtask` — project automation for `demand-response`.
//!
//! - `cargo xtask ci`: format check, clippy with `-D warnings`, and the test suite (what
//!   `.ci/run` runs).
//! - `cargo xtask bench [--quick] [BENCH…]`: runs the criterion benches and writes
//!   BENCHMARKS.md from their estimates, with the ratios against the general solver.
//! - `cargo xtask figures [DIR]`: writes the papers' figures as SVG through `dr study --plot`.
//! - `cargo xtask verify [--quick] [--no-build] [FILE…]`: `dr verify` (the LP cross-check)
//!   over the scenario corpus `tests/corpus/`, with a table of the gaps and bounds.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

mod bench;
mod verify;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(mut c: Command) -> Result<()> {
    eprintln!("$ {:?}", c);
    let status = c
        .status()
        .with_context(|| format!("could not start {c:?}"))?;
    if !status.success() {
        bail!("{c:?} failed with {status}");
    }
    Ok(())
}

fn ci() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run(test)
}

fn figures(dir: Option<String>) -> Result<()> {
    let dir = dir.unwrap_or_else(|| "plots".into());
    let studies = [
        "bidding-convergence",
        "bidding-scenarios",
        "ecogrid",
        "dutch-pilot",
        "ecogrid-fig5",
        "dutch-pilot-fig7",
        "periods",
    ];
    for s in studies {
        let mut c = cargo();
        c.args([
            "run",
            "--release",
            "--quiet",
            "--",
            "study",
            s,
            "--plot",
            &dir,
        ]);
        run(c)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench::bench(&args[1..]),
        Some("figures") => figures(args.get(1).cloned()),
        Some("verify") => verify::verify(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench [--quick] [BENCH…] | figures [DIR] | \
                 verify [--quick] [--no-build] [FILE…]>"
            );
            bail!("unknown or missing command")
        }
    }
}
