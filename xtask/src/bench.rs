//! `cargo xtask bench`: run the criterion benches, then write BENCHMARKS.md.
//!
//! Criterion stores each measurement in
//! `target/criterion/<group>/<function>/<parameter>/new/estimates.json`; this module reads
//! the mean of every one, tabulates each group (parameters as rows, functions as columns) and
//! adds the ratios the issues ask for: the general solver's time over ours (`clarabel/ours`),
//! ours over one streaming pass (`ours/pass`), Nash over competitive (`nash/competitive`).
//!
//! The end-to-end group (`cargo xtask bench end-to-end`, also part of a plain run) is not a
//! criterion bench: it times the release `dr solve` as a whole process on 10^6 drawn
//! customers — text, `--json` to a file, `--output DIR` (CSV), and 1 vs 2 threads — side by
//! side with the Clarabel interior-point solver on the competitive equilibrium QP alone
//! (`examples/clarabel_competitive.rs`, on the same customers) and with the issue's own
//! reference, CVXPY + Clarabel (`benches/cvxpy_competitive.py`, from a virtual environment
//! the group creates under `target/bench-venv`), and writes the ratios against both.

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
    let end_to_end = chosen.is_empty() || chosen.contains(&"end-to-end");
    if !skip_run {
        if end_to_end {
            run_end_to_end(quick).context("the end-to-end group")?;
        }
        for b in &benches {
            let mut c = super::cargo();
            c.args(["bench", "--bench", b, "--"]);
            if quick {
                c.args(["--warm-up-time", "1", "--measurement-time", "2"]);
            }
            super::run(c)?;
        }
    }
    if chosen == ["end-to-end"] {
        // Only the end-to-end group: replace its section of BENCHMARKS.md, keep the rest
        // (the criterion groups need their own measurements to be rewritten).
        let old = fs::read_to_string(root.join("BENCHMARKS.md")).unwrap_or_default();
        let mut section = String::new();
        write_end_to_end(&mut section)?;
        let out = splice_section(&old, E2E_HEADING, &section);
        fs::write(root.join("BENCHMARKS.md"), &out)?;
        eprintln!("wrote the end-to-end section of BENCHMARKS.md");
        print!("{section}");
        return Ok(());
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
    write_end_to_end(&mut out)?;
    write_rounds(&mut out).context("bidding rounds (dr study bidding-convergence)")?;
    // The hand-measured sections (the Python bindings' numpy path, `dr verify` times; see
    // their text) are kept as they stand.
    let old = fs::read_to_string(root.join("BENCHMARKS.md")).unwrap_or_default();
    for heading in [
        "## End to end by hand",
        "## Python bindings",
        "## LP reference back end",
    ] {
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

// ---------------------------------------------------------------------------------------
// End to end: the whole `dr solve` against Clarabel on the competitive QP alone (issue 13).

/// The instance of the end-to-end group: 10^6 drawn customers (li-chen-dahleh-2015 §VII-A
/// costs), `d = 100 000`.
const E2E_FILE: &str = "data/bidding_population.toml";
const E2E_DEFICIT: &str = "100000";

/// The heading of the group's section in BENCHMARKS.md.
const E2E_HEADING: &str = "## end to end: `dr solve` at national scale";

/// `doc` with the section that starts at `heading` (up to the next `## `) replaced by
/// `section`, or `section` inserted before `## Rounds` (else appended) when absent.
fn splice_section(doc: &str, heading: &str, section: &str) -> String {
    let section = format!("{}\n\n", section.trim_end());
    if let Some(start) = doc.find(heading) {
        let rest = &doc[start + heading.len()..];
        let end = rest
            .find("\n## ")
            .map_or(doc.len(), |e| start + heading.len() + e + 1);
        format!("{}{}{}", &doc[..start], section, &doc[end..])
    } else if let Some(at) = doc.find("## Rounds") {
        format!("{}{}{}", &doc[..at], section, &doc[at..])
    } else {
        format!("{}\n{}", doc.trim_end(), section)
    }
}

/// One timed command of the group: its name, median wall seconds, peak RSS (KiB, the
/// largest over the repetitions, from `/usr/bin/time -f %M`), repetitions.
#[derive(Debug, Clone)]
struct Timed {
    name: String,
    seconds: f64,
    max_rss_kib: Option<u64>,
    reps: usize,
}

/// Runs `dr ARGS` `reps` times with stdout to `stdout_to`, `RAYON_NUM_THREADS=threads` when
/// given; the median wall time and the largest peak RSS.
fn time_dr(
    name: &str,
    dr: &Path,
    args: &[&str],
    stdout_to: &Path,
    threads: Option<usize>,
    reps: usize,
) -> Result<Timed> {
    let have_time = Path::new("/usr/bin/time").exists();
    let mut times = Vec::with_capacity(reps);
    let mut rss: Option<u64> = None;
    for _ in 0..reps {
        let rss_file = stdout_to.with_extension("rss");
        let mut c = if have_time {
            let mut c = std::process::Command::new("/usr/bin/time");
            c.args(["-f", "%M", "-o"]).arg(&rss_file).arg(dr);
            c
        } else {
            std::process::Command::new(dr)
        };
        c.args(args)
            .current_dir(super::root())
            .stdout(fs::File::create(stdout_to)?);
        if let Some(t) = threads {
            c.env("RAYON_NUM_THREADS", t.to_string());
        }
        let start = std::time::Instant::now();
        let status = c.status().with_context(|| format!("running {c:?}"))?;
        times.push(start.elapsed().as_secs_f64());
        anyhow::ensure!(status.success(), "{c:?} failed with {status}");
        if have_time {
            let kib = fs::read_to_string(&rss_file)?
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<u64>().ok());
            rss = rss.max(kib);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(Timed {
        name: name.to_string(),
        seconds: times[times.len() / 2],
        max_rss_kib: rss,
        reps,
    })
}

/// Runs the group and saves it as `target/end-to-end/results.json` (read by [`write_end_to_end`]).
fn run_end_to_end(quick: bool) -> Result<()> {
    let root = super::root();
    let mut c = super::cargo();
    c.args(["build", "--release", "-p", "dr-cli"]);
    super::run(c)?;
    let mut c = super::cargo();
    c.args([
        "build",
        "--release",
        "-p",
        "demand-response",
        "--example",
        "clarabel_competitive",
    ]);
    super::run(c)?;
    let release = root.join("target").join("release");
    let dr = release.join("dr");
    let work = root.join("target").join("end-to-end");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    let reps = if quick { 1 } else { 5 };
    let out_dir = work.join("out");
    let out_s = out_dir.to_string_lossy().into_owned();
    let mut rows = vec![
        time_dr(
            "dr solve (text)",
            &dr,
            &["solve", E2E_FILE],
            &work.join("solve.txt"),
            None,
            reps,
        )?,
        time_dr(
            "dr solve --json > file",
            &dr,
            &["solve", E2E_FILE, "--json"],
            &work.join("solve.json"),
            None,
            reps,
        )?,
        time_dr(
            "dr solve --output DIR (text + customers.csv)",
            &dr,
            &["solve", E2E_FILE, "--output", &out_s],
            &work.join("solve-output.txt"),
            None,
            reps,
        )?,
    ];
    for threads in [1, 2] {
        rows.push(time_dr(
            &format!("dr solve (text), RAYON_NUM_THREADS={threads}"),
            &dr,
            &["solve", E2E_FILE],
            &work.join(format!("solve-{threads}.txt")),
            Some(threads),
            reps,
        )?);
    }
    // Clarabel alone on the same customers (read back from the CSV `--output` wrote).
    let clarabel = reference_json_line(
        std::process::Command::new(release.join("examples").join("clarabel_competitive")),
        &out_dir.join("customers.csv"),
    )?;
    // The reference: CVXPY + Clarabel on the same customers. A machine without
    // Python or the package index records why it was not measured instead of failing.
    let cvxpy = match cvxpy_competitive(&out_dir.join("customers.csv")) {
        Ok(v) => v,
        Err(e) => serde_json::json!({ "error": format!("{e:#}") }),
    };
    let solved: serde_json::Value = serde_json::from_slice(&fs::read(work.join("solve.json"))?)?;
    let results = serde_json::json!({
        "instance": E2E_FILE,
        "customers": solved["customers"],
        "dr_competitive_price": solved["competitive"]["price"],
        "json_bytes": fs::metadata(work.join("solve.json"))?.len(),
        "csv_bytes": fs::metadata(out_dir.join("customers.csv"))?.len(),
        "clarabel": clarabel,
        "cvxpy": cvxpy,
        "runs": rows.iter().map(|r| serde_json::json!({
            "name": r.name, "seconds": r.seconds, "max_rss_kib": r.max_rss_kib, "reps": r.reps,
        })).collect::<Vec<_>>(),
    });
    fs::write(
        work.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    Ok(())
}

/// A Python with CVXPY and Clarabel: `DR_BENCH_PYTHON` when set, else the virtual
/// environment `target/bench-venv`, created (`python3 -m venv`, `pip install cvxpy
/// clarabel numpy`) when it is missing or lacks them.
fn bench_python() -> Result<std::path::PathBuf> {
    let has_cvxpy = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", "import cvxpy, clarabel, numpy"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if let Some(p) = std::env::var_os("DR_BENCH_PYTHON") {
        let p = std::path::PathBuf::from(p);
        anyhow::ensure!(
            has_cvxpy(&p),
            "DR_BENCH_PYTHON={} cannot import cvxpy, clarabel and numpy",
            p.display()
        );
        return Ok(p);
    }
    let venv = super::root().join("target").join("bench-venv");
    let python = venv.join("bin").join("python");
    if has_cvxpy(&python) {
        return Ok(python);
    }
    let ok = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("running python3 -m venv")?;
    anyhow::ensure!(ok.success(), "python3 -m venv {} failed", venv.display());
    let ok = std::process::Command::new(&python)
        .args(["-m", "pip", "install", "-q", "cvxpy", "clarabel", "numpy"])
        .status()
        .context("running pip install cvxpy clarabel numpy")?;
    anyhow::ensure!(ok.success(), "pip install cvxpy clarabel numpy failed");
    anyhow::ensure!(
        has_cvxpy(&python),
        "cvxpy is not importable after pip install"
    );
    Ok(python)
}

/// CVXPY + Clarabel on the customers of `csv` (`benches/cvxpy_competitive.py`): its JSON line.
fn cvxpy_competitive(csv: &Path) -> Result<serde_json::Value> {
    let mut c = std::process::Command::new(bench_python()?);
    c.arg(super::root().join("benches").join("cvxpy_competitive.py"));
    reference_json_line(c, csv)
}

/// Runs a reference solver `c CUSTOMERS.csv DEFICIT` and parses the JSON line it prints.
fn reference_json_line(mut c: std::process::Command, csv: &Path) -> Result<serde_json::Value> {
    c.arg(csv).arg(E2E_DEFICIT);
    let o = c.output().with_context(|| format!("running {c:?}"))?;
    anyhow::ensure!(
        o.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(serde_json::from_slice(&o.stdout)?)
}

/// The end-to-end section of BENCHMARKS.md from `target/end-to-end/results.json`.
fn write_end_to_end(out: &mut String) -> Result<()> {
    let path = super::root()
        .join("target")
        .join("end-to-end")
        .join("results.json");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(());
    };
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let p_ours = v["dr_competitive_price"].as_f64().unwrap_or(f64::NAN);
    let clarabel_s = v["clarabel"]["seconds"].as_f64().unwrap_or(f64::NAN);
    let p_clarabel = v["clarabel"]["price"].as_f64().unwrap_or(f64::NAN);
    // CVXPY + Clarabel: seconds when measured, else why not.
    let cvxpy = &v["cvxpy"];
    let cvxpy_s = cvxpy["seconds"].as_f64();
    let rel = |p: f64| (p - p_ours).abs() / p_ours.abs();
    writeln!(out, "{E2E_HEADING}\n")?;
    writeln!(
        out,
        "`cargo xtask bench end-to-end`: the release `dr` on `{}` ({} drawn customers; both \
         equilibria, certificates, the efficiency report), wall time of the whole process \
         (median of the repetitions; peak RSS the largest, `/usr/bin/time -f %M`), side by \
         side, in the same run and on the same customers (read from the `--output` CSV), \
         with two references solving the competitive equilibrium QP alone (one run each): \
         the issue's own, CVXPY + Clarabel (`benches/cvxpy_competitive.py`: building the \
         problem, canonicalizing and solving), and the Clarabel crate called in-process \
         (`examples/clarabel_competitive.rs`: building the QP and solving it), the stricter \
         of the two. Clarabel's price {} vs ours {} (relative difference {:.1e}; status {}). \
         JSON file {:.1} MB, CSV {:.1} MB. Wall times on a shared 2-core machine vary with \
         its load (see \"End to end by hand\" for CPU times).\n",
        v["instance"].as_str().unwrap_or("?"),
        v["customers"],
        p_clarabel,
        p_ours,
        rel(p_clarabel),
        v["clarabel"]["status"].as_str().unwrap_or("?"),
        v["json_bytes"].as_f64().unwrap_or(0.0) / 1e6,
        v["csv_bytes"].as_f64().unwrap_or(0.0) / 1e6,
    )?;
    match cvxpy_s {
        Some(_) => writeln!(
            out,
            "CVXPY {} with Clarabel {}: price {} (relative difference {:.1e}; status {}, {} \
             iterations).\n",
            cvxpy["cvxpy"].as_str().unwrap_or("?"),
            cvxpy["clarabel"].as_str().unwrap_or("?"),
            cvxpy["price"].as_f64().unwrap_or(f64::NAN),
            rel(cvxpy["price"].as_f64().unwrap_or(f64::NAN)),
            cvxpy["status"].as_str().unwrap_or("?"),
            cvxpy["iterations"],
        )?,
        None => writeln!(
            out,
            "CVXPY + Clarabel was not measured in this run: {}.\n",
            cvxpy["error"]
                .as_str()
                .unwrap_or("no result")
                .lines()
                .next()
                .unwrap_or("")
        )?,
    }
    writeln!(
        out,
        "| command | wall time | peak RSS | reps | CVXPY + Clarabel / command | Clarabel (in-process) / command |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    let ratio_cell = |reference: Option<f64>, s: f64| {
        reference.map_or("—".to_string(), |r| format!("{:.1}", r / s))
    };
    let mut by_name = BTreeMap::new();
    for r in v["runs"].as_array().into_iter().flatten() {
        let s = r["seconds"].as_f64().unwrap_or(f64::NAN);
        let name = r["name"].as_str().unwrap_or("?");
        by_name.insert(name.to_string(), s);
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            human(s * 1e9),
            r["max_rss_kib"].as_u64().map_or("—".into(), |k| format!(
                "{:.0} MB",
                k as f64 * 1024.0 / 1e6
            )),
            r["reps"],
            ratio_cell(cvxpy_s, s),
            ratio_cell(Some(clarabel_s), s),
        )?;
    }
    if let Some(c) = cvxpy_s {
        writeln!(
            out,
            "| CVXPY + Clarabel, competitive QP alone | {} | — | 1 | 1.0 | {} |",
            human(c * 1e9),
            ratio_cell(Some(clarabel_s), c),
        )?;
    }
    writeln!(
        out,
        "| Clarabel in-process, competitive QP alone | {} | — | 1 | {} | 1.0 |\n",
        human(clarabel_s * 1e9),
        ratio_cell(cvxpy_s, clarabel_s),
    )?;
    writeln!(out, "| target (issue 13) | reference | measured | met |")?;
    writeln!(out, "|---|---|---|---|")?;
    for (what, name, bound) in [
        (
            "whole `dr solve` (text) >= 100x faster than the reference",
            "dr solve (text)",
            100.0,
        ),
        (
            "`dr solve --json > file` >= 50x faster than the reference",
            "dr solve --json > file",
            50.0,
        ),
    ] {
        for (reference, seconds) in [
            ("CVXPY + Clarabel (the issue's)", cvxpy_s),
            ("Clarabel in-process (stricter)", Some(clarabel_s)),
        ] {
            match (by_name.get(name), seconds) {
                (Some(s), Some(c)) => {
                    let r = c / s;
                    writeln!(
                        out,
                        "| {what} | {reference} | {r:.1}x | {} |",
                        if r >= bound { "yes" } else { "**no**" }
                    )?
                }
                _ => writeln!(out, "| {what} | {reference} | not measured | — |")?,
            }
        }
    }
    if let (Some(t), Some(j)) = (
        by_name.get("dr solve (text)"),
        by_name.get("dr solve --json > file"),
    ) {
        writeln!(
            out,
            "| writing JSON costs at most 4x the text report's time | — | {:.2}x | {} |",
            j / t,
            if j / t <= 4.0 { "yes" } else { "**no**" }
        )?;
    }
    if let (Some(one), Some(two)) = (
        by_name.get("dr solve (text), RAYON_NUM_THREADS=1"),
        by_name.get("dr solve (text), RAYON_NUM_THREADS=2"),
    ) {
        writeln!(
            out,
            "| speed-up of 2 threads over 1 (this machine has 2 cores) | — | {:.2}x | — |",
            one / two
        )?;
    }
    writeln!(out)?;
    Ok(())
}
