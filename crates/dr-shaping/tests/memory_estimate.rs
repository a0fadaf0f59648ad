//! `ShapingScenario::memory_estimate` is an upper bound of what a solve needs: the peak
//! resident set (Linux's VmHWM, reset before) above the resident set at the start, while
//! the model is built and both equilibria are solved and reported with their loads kept
//! (what `dr solve --json` holds). Bytes, not timings. One test in this binary, so that no
//! other test allocates while it measures.
#![cfg(target_os = "linux")]

use dr_shaping::*;

/// A `kB` field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    kb * 1024
}

/// The resident set's peak while `f` runs, above the resident set at the start (the peak
/// is reset first: `5` to /proc/self/clear_refs, Linux ≥ 4.0).
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    // Without the reset (a restricted /proc) VmHWM is the process's peak so far, larger
    // than the solve's: the bound then only gets harder to meet.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_bytes("VmRSS:");
    let r = f();
    (r, status_bytes("VmHWM:").saturating_sub(base))
}

/// tests/scale/shaping_1e6.toml (or its cubic variant) with every class count ÷ `divisor`.
fn scaled(name: &str, divisor: usize) -> ShapingScenario {
    let path = format!("{}/../../tests/scale/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut file: ShapingScenario =
        toml::from_str(&std::fs::read_to_string(path).expect("scale scenario")).unwrap();
    for c in &mut file.customers {
        c.count /= divisor;
    }
    file
}

/// Builds and solves one scaled scenario, returning its estimate, the measured peak and
/// its rows (a fresh process per scenario: memory freed by an earlier one would be reused
/// without raising the resident set).
fn measure(name: &str, divisor: usize) -> (u64, usize, usize) {
    let options = SolveOptions {
        cross_check: Some(false),
        ..SolveOptions::default()
    };
    let file = scaled(name, divisor);
    let estimate = file.memory_estimate();
    let (report, peak) = peak_of(|| {
        let model = file.to_model().unwrap();
        solve_report(&model, &file.classes(), name, &options).unwrap()
    });
    assert!(report.claims.iter().all(|c| c.holds), "{name}");
    let rows = report.competitive.loads.len();
    assert_eq!(rows, report.rows, "{name}: the loads are kept");
    (estimate, peak, rows)
}

#[test]
fn the_memory_estimate_bounds_the_peak_of_a_solve() {
    const CASE: &str = "DR_SHAPING_MEMORY_CASE";
    // 20 000 jittered customers (quadratic supply: the potential's Newton) and 4 000 with a
    // cubic supply cost (the own-impact fixed point, condition 44), T = 24.
    let cases = [("shaping_1e6.toml", 50), ("shaping_1e6_cubic.toml", 250)];
    if let Ok(k) = std::env::var(CASE) {
        let (name, divisor) = cases[k.parse::<usize>().unwrap()];
        let (estimate, peak, rows) = measure(name, divisor);
        println!("measured {estimate} {peak} {rows}");
        return;
    }
    for (k, (name, _)) in cases.iter().enumerate() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "the_memory_estimate_bounds_the_peak_of_a_solve",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CASE, k.to_string())
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {stdout}");
        let numbers: Vec<usize> = stdout
            .lines()
            .find_map(|l| l.split("measured ").nth(1))
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
            .split(' ')
            .map(|x| x.parse().unwrap())
            .collect();
        let (estimate, peak, rows) = (numbers[0] as u64, numbers[1], numbers[2]);
        assert!(
            peak as u64 <= estimate,
            "{name}: peak {peak} B > estimate {estimate} B"
        );
        // The loads of both equilibria are held at the end: the peak is at least those.
        assert!(peak >= 2 * rows * 24 * 8, "{name}: peak {peak} B");
        eprintln!(
            "{name}: {rows} rows, peak {peak} B, estimate {estimate} B ({:.1}×)",
            estimate as f64 / peak as f64
        );
    }
}
