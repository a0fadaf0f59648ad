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
const BENCHES: &[&str] = &["allocator", "ipm", "bidding", "stackelberg", "mechanism"];

type Table = BTreeMap<String, BTreeMap<u64, f64>>; // function -> parameter -> mean ns

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
    for b in BENCHES {
        let dir = crit.join(b);
        if !dir.exists() {
            continue;
        }
        let table = read_group(&dir).with_context(|| format!("reading {}", dir.display()))?;
        if table.is_empty() {
            continue;
        }
        write_group(&mut out, b, &table)?;
    }
    fs::write(root.join("BENCHMARKS.md"), &out)?;
    eprintln!("wrote BENCHMARKS.md");
    print!("{out}");
    Ok(())
}

fn read_group(dir: &Path) -> Result<Table> {
    let mut table = Table::new();
    for f in fs::read_dir(dir)? {
        let f = f?;
        if !f.file_type()?.is_dir() || f.file_name() == "report" {
            continue;
        }
        let function = f.file_name().to_string_lossy().into_owned();
        for p in fs::read_dir(f.path())? {
            let p = p?;
            let Ok(param) = p.file_name().to_string_lossy().parse::<u64>() else {
                continue;
            };
            let est = p.path().join("new").join("estimates.json");
            let Ok(text) = fs::read_to_string(&est) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&text)?;
            if let Some(ns) = v["mean"]["point_estimate"].as_f64() {
                table.entry(function.clone()).or_default().insert(param, ns);
            }
        }
    }
    Ok(table)
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
