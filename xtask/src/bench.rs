//! `cargo xtask bench`: run the criterion benches, then write BENCHMARKS.md.
//!
//! Criterion stores each measurement in
//! `target/criterion/<group>/<function>/<parameter>/new/estimates.json`; this module reads
//! the mean of every one, tabulates each group (parameters as rows, functions as columns) and
//! adds the ratios the issues ask for: the general solver's time over ours (`clarabel/ours`),
//! ours over one streaming pass (`ours/pass`), Nash over competitive (`nash/competitive`).

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The bench targets, in the order they appear in BENCHMARKS.md.
const BENCHES: &[&str] = &[
    "allocator",
    "ipm",
    "bidding",
    "shaping",
    "stackelberg",
    "mechanism",
];

type Table = BTreeMap<String, BTreeMap<u64, f64>>; // function -> parameter -> mean ns

/// Every criterion measurement under `target/criterion`, grouped by bench: the first
/// segment of the group id names the bench, the rest of the group id and the function id
/// name the column, the parameter (`value_str`) names the row.
fn read_all(crit: &Path) -> Result<BTreeMap<String, Table>> {
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    let mut stack = vec![crit.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                if e.file_name() == "new" {
                    read_one(&path, &mut out)?;
                } else if e.file_name() != "report" && e.file_name() != "base" {
                    stack.push(path);
                }
            }
        }
    }
    Ok(out)
}

fn read_one(new: &Path, out: &mut BTreeMap<String, Table>) -> Result<()> {
    let (Ok(bench), Ok(est)) = (
        fs::read_to_string(new.join("benchmark.json")),
        fs::read_to_string(new.join("estimates.json")),
    ) else {
        return Ok(());
    };
    let bench: serde_json::Value = serde_json::from_str(&bench)?;
    let est: serde_json::Value = serde_json::from_str(&est)?;
    let group = bench["group_id"].as_str().unwrap_or("");
    let (name, rest) = group.split_once('/').unwrap_or((group, ""));
    let function = [rest, bench["function_id"].as_str().unwrap_or("")]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    let Some(param) = bench["value_str"]
        .as_str()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(());
    };
    if let Some(ns) = est["mean"]["point_estimate"].as_f64() {
        out.entry(name.to_string())
            .or_default()
            .entry(function)
            .or_default()
            .insert(param, ns);
    }
    Ok(())
}

pub fn bench(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let skip_run = args.iter().any(|a| a == "--no-run");
    let chosen: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let root = super::root();
    let manifest = fs::read_to_string(root.join("Cargo.toml"))?;
    let benches: Vec<&str> = BENCHES
        .iter()
        .copied()
        .filter(|b| manifest.contains(&format!("name = \"{b}\"")))
        .filter(|b| chosen.is_empty() || chosen.contains(b))
        .collect();
    if !skip_run {
        for b in &benches {
            let mut c = super::cargo();
            c.args(["bench", "--bench", b, "--"]);
            if quick {
                c.args(["--warm-up-time", "1", "--measurement-time", "2"]);
            }
            super::run(c)?;
        }
    }
    let crit = root.join("target").join("criterion");
    let mut out = String::new();
    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Written by `cargo xtask bench{}` — do not edit by hand.\n",
        if quick { " --quick" } else { "" }
    )?;
    writeln!(
        out,
        "Machine: {} ({} cores). Times are criterion means.\n",
        cpu_model(),
        cores()
    )?;
    let all = read_all(&crit).with_context(|| format!("reading {}", crit.display()))?;
    for b in BENCHES {
        if let Some(table) = all.get(*b).filter(|t| !t.is_empty()) {
            write_group(&mut out, b, table)?;
        }
    }
    write_targets(&mut out, &all)?;
    write_rounds(&mut out).context("bidding rounds (dr study bidding-convergence)")?;
    // The hand-measured sections (the Python bindings' numpy path, `dr verify` times; see
    // their text) are kept as they stand.
    let old = fs::read_to_string(root.join("BENCHMARKS.md")).unwrap_or_default();
    for heading in ["## Python bindings", "## LP reference back end"] {
        if let Some(start) = old.find(heading) {
            let rest = &old[start..];
            let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 4);
            writeln!(out, "\n{}", rest[..end].trim_end())?;
        }
    }
    fs::write(root.join("BENCHMARKS.md"), &out)?;
    eprintln!("wrote BENCHMARKS.md");
    print!("{out}");
    Ok(())
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Ratio columns: (label, numerator function, denominator function).
const RATIOS: &[(&str, &str, &str)] = &[
    ("clarabel / ours (speed-up)", "clarabel", "ours"),
    ("ours / one pass", "ours", "pass"),
    ("nash / competitive", "nash", "competitive"),
    (
        "linear system / closed form",
        "linear-system",
        "closed-form",
    ),
];

fn write_group(out: &mut String, name: &str, table: &Table) -> Result<()> {
    writeln!(out, "## {name}\n")?;
    let functions: Vec<&String> = table.keys().collect();
    let mut params: Vec<u64> = table.values().flat_map(|m| m.keys().copied()).collect();
    params.sort_unstable();
    params.dedup();
    let ratios: Vec<_> = RATIOS
        .iter()
        .filter(|(_, a, b)| table.contains_key(*a) && table.contains_key(*b))
        .collect();
    write!(out, "| size |")?;
    for f in &functions {
        write!(out, " {f} |")?;
    }
    for (label, _, _) in &ratios {
        write!(out, " {label} |")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "|{}",
        "---|".repeat(1 + functions.len() + ratios.len())
    )?;
    for p in params {
        write!(out, "| {p} |")?;
        for f in &functions {
            match table[*f].get(&p) {
                Some(ns) => write!(out, " {} |", human(*ns))?,
                None => write!(out, " — |")?,
            }
        }
        for (_, a, b) in &ratios {
            match (table[*a].get(&p), table[*b].get(&p)) {
                (Some(x), Some(y)) => write!(out, " {:.2} |", x / y)?,
                _ => write!(out, " — |")?,
            }
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    Ok(())
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The issues' speed targets: (bench, what, numerator, denominator, size, at most / at least, bound).
const TARGETS: &[(&str, &str, &str, &str, u64, bool, f64)] = &[
    (
        "allocator",
        "allocator within 10x of one pass at n = 10^6",
        "ours",
        "pass",
        1_000_000,
        true,
        10.0,
    ),
    (
        "allocator",
        "allocator >= 100x faster than Clarabel at n = 10^5",
        "clarabel",
        "ours",
        100_000,
        false,
        100.0,
    ),
    (
        "ipm",
        "IPM >= 2x faster than Clarabel at N = 10^4",
        "clarabel",
        "ours",
        10_000,
        false,
        2.0,
    ),
    (
        "bidding",
        "Nash solve within 3x of competitive at n = 10^6",
        "nash",
        "competitive",
        1_000_000,
        true,
        3.0,
    ),
    (
        "shaping",
        "shaping >= 20x faster than Clarabel at N = 10^4",
        "clarabel",
        "ours",
        10_000,
        false,
        20.0,
    ),
];

fn write_targets(out: &mut String, all: &BTreeMap<String, Table>) -> Result<()> {
    writeln!(out, "## Targets\n")?;
    writeln!(out, "| target | measured ratio | met |")?;
    writeln!(out, "|---|---|---|")?;
    for &(bench, what, num, den, size, at_most, bound) in TARGETS {
        let ratio = all
            .get(bench)
            .and_then(|t| Some(t.get(num)?.get(&size)? / t.get(den)?.get(&size)?));
        match ratio {
            Some(r) => {
                let met = if at_most { r <= bound } else { r >= bound };
                writeln!(
                    out,
                    "| {what} | {r:.2} | {} |",
                    if met { "yes" } else { "**no**" }
                )?
            }
            None => writeln!(out, "| {what} | not measured | — |")?,
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Rounds of the iterative bidding schemes: the papers' fixed step against the kernel's
/// fast rule, from `dr study bidding-convergence --json` (li-chen-dahleh-2015 Figs. 1–2).
fn write_rounds(out: &mut String) -> Result<()> {
    let mut c = super::cargo();
    c.args([
        "run",
        "--release",
        "--quiet",
        "--",
        "study",
        "bidding-convergence",
        "--json",
    ]);
    let o = c.output()?;
    anyhow::ensure!(o.status.success(), "dr study bidding-convergence failed");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    writeln!(
        out,
        "## Rounds: iterative bidding, paper step vs fast rule\n"
    )?;
    writeln!(out, "From `dr study bidding-convergence --json`; rounds until the price is within 1e-9 (relative) of the equilibrium.\n")?;
    writeln!(
        out,
        "| study | customers | equilibrium | rule | step | termination | rounds to 1e-9 |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for s in v["studies"].as_array().into_iter().flatten() {
        for r in s["runs"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                s["name"].as_str().unwrap_or("?"),
                s["customers"],
                r["equilibrium"].as_str().unwrap_or("?"),
                r["rule"].as_str().unwrap_or("?"),
                r["step"]
                    .as_f64()
                    .map_or("—".to_string(), |g| format!("{g}")),
                r["termination"].as_str().unwrap_or("?"),
                r["rounds_to_price_tolerance"]
                    .as_u64()
                    .map_or("not reached".to_string(), |k| k.to_string()),
            )?;
        }
    }
    writeln!(out)?;
    Ok(())
}
