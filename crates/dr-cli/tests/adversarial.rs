//! The adversarial catalogue (`tests/adversarial/`, format in its README.md): every file is
//! run through the `dr` binary and its exit status, error message and checked answers are
//! asserted as its header says.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The catalogue must hold at least this many cases (the honest-results issue asks 150).
const MIN_CASES: usize = 150;

#[derive(Debug, Default)]
struct Case {
    path: PathBuf,
    args: Vec<String>,
    exit: Option<i32>,
    error_contains: Vec<String>,
    stdout_contains: Vec<String>,
    json: Vec<String>,
    note: bool,
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            match p.extension().and_then(|e| e.to_str()) {
                Some("toml") | Some("json") => out.push(p),
                _ => {}
            }
        }
    }
}

fn header_lines(path: &Path) -> Vec<String> {
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let source = if is_json {
        let mut side = path.as_os_str().to_owned();
        side.push(".expect");
        std::fs::read_to_string(PathBuf::from(side))
            .unwrap_or_else(|_| panic!("{}: JSON case without a .expect sidecar", path.display()))
    } else {
        // Lossy: a case may hold bytes that are not UTF-8 after its header on purpose.
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
    };
    source
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            if is_json {
                Some(l.strip_prefix('#').unwrap_or(l).trim().to_string())
            } else {
                l.strip_prefix('#').map(|r| r.trim().to_string())
            }
        })
        .collect()
}

fn parse(path: &Path) -> Case {
    let mut c = Case {
        path: path.to_path_buf(),
        args: vec!["solve".into(), "--json".into()],
        ..Case::default()
    };
    for l in header_lines(path) {
        let Some((key, value)) = l.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "args" => c.args = value.split_whitespace().map(String::from).collect(),
            "exit" => {
                c.exit = Some(
                    value
                        .parse()
                        .unwrap_or_else(|_| panic!("{}: bad exit '{value}'", path.display())),
                )
            }
            "error-contains" => c.error_contains.push(value),
            "stdout-contains" => c.stdout_contains.push(value),
            "json" => c.json.push(value),
            "note" => c.note = true,
            _ => {}
        }
    }
    c
}

/// Checks one `json:` line against the parsed stdout; `Err` says why not.
fn check_json(doc: &Value, line: &str) -> Result<(), String> {
    let (pointer, rest) = line
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("malformed json line '{line}'"))?;
    let got = doc
        .pointer(pointer)
        .ok_or_else(|| format!("{pointer} is missing from the JSON output"))?;
    let rest = rest.trim();
    if let Some(exact) = rest.strip_prefix('=') {
        let want: Value = serde_json::from_str(exact.trim())
            .map_err(|e| format!("bad expected value '{exact}': {e}"))?;
        return if *got == want {
            Ok(())
        } else {
            Err(format!("{pointer} = {got}, expected {want}"))
        };
    }
    let approx = rest
        .strip_prefix('~')
        .ok_or_else(|| format!("malformed json line '{line}' (use = or ~)"))?;
    let parts: Vec<&str> = approx.split_whitespace().collect();
    if parts.len() != 3 {
        return Err(format!(
            "malformed json line '{line}' (~ VALUE rel|abs TOL)"
        ));
    }
    let want: f64 = parts[0]
        .parse()
        .map_err(|_| format!("bad value in '{line}'"))?;
    let tol: f64 = parts[2]
        .parse()
        .map_err(|_| format!("bad tolerance in '{line}'"))?;
    let got = got
        .as_f64()
        .ok_or_else(|| format!("{pointer} = {got} is not a number"))?;
    let bound = match parts[1] {
        "rel" => tol * want.abs(),
        "abs" => tol,
        other => return Err(format!("unknown tolerance kind '{other}' in '{line}'")),
    };
    if (got - want).abs() <= bound {
        Ok(())
    } else {
        Err(format!(
            "{pointer} = {got:e}, expected {want:e} within {} {tol:e} (off by {:e})",
            parts[1],
            (got - want).abs()
        ))
    }
}

fn run(case: &Case) -> Result<(), String> {
    let exit = case.exit.ok_or("no `# exit:` line")?;
    if (exit == 1 || exit == 2) && case.error_contains.is_empty() {
        return Err("an error case must say what its message names (`# error-contains:`)".into());
    }
    if !case.json.is_empty() && case.json.iter().any(|l| l.contains('~')) && !case.note {
        return Err("numbers are asserted without a `# note:` saying where they come from".into());
    }
    let o = Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(&case.args)
        .arg(&case.path)
        .env("DR_MEMORY_LIMIT", "16GiB")
        .output()
        .map_err(|e| format!("dr did not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let mut why = Vec::new();
    match o.status.code() {
        Some(c) if c == exit => {}
        Some(c) => why.push(format!("exit {c}, expected {exit}")),
        None => why.push(format!("killed by a signal (expected exit {exit})")),
    }
    for s in &case.error_contains {
        if !stderr.contains(s.as_str()) {
            why.push(format!("stderr lacks '{s}'"));
        }
    }
    for s in &case.stdout_contains {
        if !stdout.contains(s.as_str()) {
            why.push(format!("stdout lacks '{s}'"));
        }
    }
    if !case.json.is_empty() {
        match serde_json::from_str::<Value>(&stdout) {
            Ok(doc) => {
                for l in &case.json {
                    if let Err(e) = check_json(&doc, l) {
                        why.push(e);
                    }
                }
            }
            Err(e) => why.push(format!("stdout is not JSON: {e}")),
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        let tail = |s: &str| {
            let s: String = s.chars().rev().take(1500).collect();
            s.chars().rev().collect::<String>()
        };
        Err(format!(
            "{}\n    --- stderr (tail) ---\n{}\n    --- stdout (tail) ---\n{}",
            why.join("; "),
            tail(&stderr),
            tail(&stdout)
        ))
    }
}

#[test]
fn adversarial_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/adversarial");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let cases: Vec<Case> = paths.iter().map(|p| parse(p)).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = cases.get(k) else { break };
                if let Err(e) = run(case) {
                    let rel = case.path.strip_prefix(&root).unwrap_or(&case.path);
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("{}: {e}", rel.display()));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} adversarial cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        cases.len() >= MIN_CASES,
        "the catalogue holds {} cases; at least {MIN_CASES} are asked",
        cases.len()
    );
}
