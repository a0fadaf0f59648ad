//! `cargo xtask verify [--quick] [--no-build] [--debug] [FILE…]`: the LP cross-check over the corpus.
//!
//! Builds `dr` in release mode once, runs `dr verify FILE --json` on every scenario of
//! `tests/corpus/` (with `--quick`, the files listed in `tests/corpus/quick.txt`; or the
//! files given), and prints one row per scenario: model, size, the largest allocation and
//! price gaps between the kernel and the LP reference back end, the kernel objective above
//! the proven lower bound, the proven bound, the time, and the verdict: `agrees` (proven),
//! `DISAGREES` (proven), `inconclusive` (the LP back end failed, did not converge or hit a
//! size limit) with its reason, or `ERROR` (no report). Exits non-zero when any scenario
//! does not agree.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One scenario's outcome.
struct Row {
    file: String,
    model: String,
    size: String,
    allocation: String,
    price: String,
    marginal: String,
    objective: String,
    bound: String,
    seconds: f64,
    verdict: Verdict,
    detail: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// `dr verify` proved agreement (exit 0).
    Agrees,
    /// `dr verify` proved a disagreement (exit 3).
    Disagrees,
    /// `dr verify` could not confirm the answer (exit 5).
    Inconclusive,
    /// No report (bad input, a crash).
    Error,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Agrees => "agrees",
            Verdict::Disagrees => "DISAGREES",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Error => "ERROR",
        }
    }
}

fn sci(v: Option<f64>) -> String {
    match v {
        Some(0.0) => "0".into(),
        Some(x) => format!("{x:.2e}"),
        None => "-".into(),
    }
}

fn corpus(root: &Path, quick: bool) -> Result<Vec<PathBuf>> {
    let dir = root.join("tests").join("corpus");
    if quick {
        let list = std::fs::read_to_string(dir.join("quick.txt"))
            .with_context(|| format!("reading {}", dir.join("quick.txt").display()))?;
        return Ok(list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| dir.join(l))
            .collect());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("toml" | "json")
            )
        })
        .collect();
    files.sort();
    Ok(files)
}

fn verify_one(dr: &Path, root: &Path, file: &Path) -> Row {
    let name = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    let start = Instant::now();
    let output = Command::new(dr)
        .arg("verify")
        .arg(file)
        .arg("--json")
        .current_dir(root)
        .output();
    let seconds = start.elapsed().as_secs_f64();
    let mut row = Row {
        file: name,
        model: "-".into(),
        size: "-".into(),
        allocation: "-".into(),
        price: "-".into(),
        marginal: "-".into(),
        objective: "-".into(),
        bound: "-".into(),
        seconds,
        verdict: Verdict::Error,
        detail: String::new(),
    };
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            row.detail = format!("could not run {}: {e}", dr.display());
            return row;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let v: Value = match serde_json::from_str(&stdout) {
        Ok(v) => v,
        Err(_) => {
            // A disagreement prints the report, an error prints {"error": …}; anything
            // else is unexpected.
            let stderr = String::from_utf8_lossy(&output.stderr);
            row.detail = format!(
                "no JSON report (exit {:?}): {}",
                output.status.code(),
                stderr.lines().next().unwrap_or("")
            );
            return row;
        }
    };
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        row.detail = e.to_string();
        return row;
    }
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    row.model = v
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_string();
    row.size = v.get("size").map_or("-".into(), |s| s.to_string());
    row.allocation = sci(f("max_allocation_gap"));
    row.price = sci(f("max_price_gap"));
    row.marginal = sci(f("max_marginal_price_gap"));
    row.objective = sci(f("objective_gap"));
    row.bound = sci(f("bound"));
    let verdict = v.get("verdict").and_then(Value::as_str).unwrap_or("");
    let code = output.status.code();
    row.verdict = match (verdict, code) {
        ("agrees", Some(0)) => Verdict::Agrees,
        ("disagrees", Some(3)) => Verdict::Disagrees,
        ("inconclusive", Some(5)) => Verdict::Inconclusive,
        _ => {
            row.detail = format!("verdict {verdict:?} with exit status {code:?}");
            return row;
        }
    };
    if row.verdict == Verdict::Inconclusive {
        row.detail = v
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    } else if row.verdict == Verdict::Disagrees {
        row.detail = v
            .get("failures")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
    }
    row
}

/// The first 60 characters of a reason (the whole one is listed below the table).
fn short(reason: &str) -> String {
    let mut s: String = reason.chars().take(60).collect();
    if reason.chars().count() > 60 {
        s.push('…');
    }
    s
}

fn render(rows: &[Row]) -> String {
    let header = [
        "scenario",
        "model",
        "size",
        "max |Δ alloc|",
        "max |Δ price|",
        "max |Δ c|",
        "objective gap",
        "bound",
        "time (s)",
        "verdict",
        "reason",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.file.clone(),
                r.model.clone(),
                r.size.clone(),
                r.allocation.clone(),
                r.price.clone(),
                r.marginal.clone(),
                r.objective.clone(),
                r.bound.clone(),
                format!("{:.2}", r.seconds),
                r.verdict.word().into(),
                short(&r.detail),
            ]
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &cells {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String]| -> String {
        r.iter()
            .zip(&width)
            .enumerate()
            .map(|(j, (c, &w))| {
                let pad = " ".repeat(w - c.chars().count());
                if j == 0 || j + 1 == r.len() {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = line(&header.map(String::from));
    out.push('\n');
    out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * (width.len() - 1)));
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

pub fn verify(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let no_build = args.iter().any(|a| a == "--no-build");
    // `--debug`: the debug build of `dr` (no release build; slower LPs).
    let debug = args.iter().any(|a| a == "--debug");
    let root = super::root();
    let given: Vec<PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|a| {
            let p = PathBuf::from(a);
            if p.is_absolute() {
                p
            } else {
                std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
            }
        })
        .collect();
    let files = if given.is_empty() {
        corpus(&root, quick)?
    } else {
        given
    };
    if files.is_empty() {
        bail!("no scenario files to verify");
    }
    if !no_build {
        let mut build = super::cargo();
        build.args(["build", "--quiet", "--bin", "dr"]);
        if !debug {
            build.arg("--release");
        }
        super::run(build)?;
    }
    let dr = root
        .join("target")
        .join(if debug { "debug" } else { "release" })
        .join(format!("dr{}", std::env::consts::EXE_SUFFIX));
    let mut rows = Vec::with_capacity(files.len());
    for f in &files {
        let row = verify_one(&dr, &root, f);
        eprintln!("{:<48} {}", row.file, row.verdict.word());
        rows.push(row);
    }
    print!("{}", render(&rows));
    println!(
        "(Δ price: row multipliers; Δ c: marginal prices Aᵀy − Gᵀz, unique even where the \
         multipliers are not; objective gap: kernel objective − proven lower bound; bound: \
         proven upper − lower)"
    );
    let failed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Agrees)
        .collect();
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    println!(
        "\n{} of {} scenarios agree with the LP reference back end (proven); {} disagree \
         (proven), {} inconclusive, {} without a report.",
        count(Verdict::Agrees),
        rows.len(),
        count(Verdict::Disagrees),
        count(Verdict::Inconclusive),
        count(Verdict::Error)
    );
    for r in &failed {
        println!("  {} ({}): {}", r.file, r.verdict.word(), r.detail);
    }
    if !failed.is_empty() {
        bail!("{} scenario(s) did not verify", failed.len());
    }
    Ok(())
}
