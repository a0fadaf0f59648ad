//! End-to-end tests of the bidding model in `dr`: `solve`, `simulate`, the two studies,
//! the demo section, errors and plots. Every assertion is a property (a theorem of
//! li-chen-dahleh-2015, agreement of two solution paths, a value derived by hand), never a
//! number copied from our own output.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::*;

const BIDDING_30: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/bidding_30.toml");

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

/// Runs `dr` and returns its JSON, asserting success.
fn ok_json(args: &[&str]) -> Value {
    let o = dr(args);
    assert!(o.status.success(), "dr {args:?}: {}", stderr(&o));
    json_of(&o)
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-bidding-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(f)
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// `n` identical customers `C(q) = a q + h q²` shedding `d`.
fn homogeneous(n: usize, a: f64, h: f64, d: f64) -> String {
    let mut s = format!("model = \"bidding\"\ndeficit = {d}\n");
    for _ in 0..n {
        s.push_str(&format!(
            "\n[[customers]]\ncost = {{ linear = {a}, quadratic = {h} }}\n"
        ));
    }
    s
}

#[test]
fn solve_json_has_both_equilibria_and_the_efficiency_report() {
    let v = ok_json(&["solve", BIDDING_30, "--json"]);
    let d = f(&v["deficit"]);
    assert_eq!(d, 10.0);
    assert_eq!(v["customers"], 30);
    for key in ["competitive", "nash"] {
        let eq = &v[key];
        let (price, loads, bids) = (f(&eq["price"]), floats(&eq["loads"]), floats(&eq["bids"]));
        assert_eq!(loads.len(), 30);
        assert!(f(&eq["total_cost"]) > 0.0);
        // The loads clear the market (eq. 1) and bids are supply-function slopes q = b p.
        let total: f64 = loads.iter().sum();
        assert!((total - d).abs() <= 1e-9 * d, "{key}: Σ q = {total}");
        for (q, b) in loads.iter().zip(&bids) {
            assert!((b * price - q).abs() <= 1e-12 * d, "{key}: b p ≠ q");
        }
        // p = d / Σ b (eq. 4).
        let sum_b: f64 = bids.iter().sum();
        assert!(rel(d / sum_b, price) < 1e-12, "{key}");
        assert_eq!(eq["certificate"]["status"], "Solved", "{key}");
        assert!(f(&eq["certificate"]["max_residual"]) <= 1e-9, "{key}");
    }
    let (pc, pn) = (f(&v["competitive"]["price"]), f(&v["nash"]["price"]));
    let (cc, cn) = (
        f(&v["competitive"]["total_cost"]),
        f(&v["nash"]["total_cost"]),
    );
    // Theorem 5: p̄ ≤ p*, C̄ ≤ C*; the reported ratios are those of the two solves.
    assert!(pn >= pc, "p* = {pn} < p̄ = {pc}");
    assert!(cn >= cc * (1.0 - 1e-12));
    let eff = &v["efficiency"];
    assert!(rel(f(&eff["price_ratio"]), pn / pc) < 1e-12);
    assert!(rel(f(&eff["cost_ratio"]), cn / cc) < 1e-12);
    assert!(f(&eff["price_ratio"]) <= f(&eff["price_ratio_bound"]));
    assert!(f(&eff["cost_ratio"]) <= f(&eff["cost_ratio_bound"]));
    assert_eq!(eff["price_bounds_hold"], true);
    assert_eq!(eff["cost_bounds_hold"], true);
    assert_eq!(eff["active_sets_nested"], true);
    // Lemma 3: every Nash load is below d/2; no customer gains by deviating.
    assert!(floats(&v["nash"]["loads"]).iter().all(|&q| q < 0.5 * d));
    assert!(f(&v["nash"]["max_relative_gain"]) <= 1e-9);
}

#[test]
fn solve_homogeneous_market_matches_corollary_4() {
    // Five customers C(q) = q + 2q², d = 10: q̄ = q* = 2, p̄ = C'(2) = 9 and, by Corollary 4,
    // p* = ((n−1)/(n−2)) p̄ = 12 (derived by hand).
    let dir = scratch("homogeneous");
    let file = write(&dir, "five.toml", &homogeneous(5, 1.0, 2.0, 10.0));
    let v = ok_json(&["--json", "solve", &file]);
    assert!((f(&v["competitive"]["price"]) - 9.0).abs() < 1e-9);
    assert!((f(&v["nash"]["price"]) - 12.0).abs() < 1e-9);
    for key in ["competitive", "nash"] {
        assert!(floats(&v[key]["loads"])
            .iter()
            .all(|&q| (q - 2.0).abs() < 1e-9));
    }
    assert!((f(&v["efficiency"]["cost_ratio"]) - 1.0).abs() < 1e-12);
    assert_eq!(v["efficiency"]["homogeneous"], true);
    // The text lists every customer of a small market, with both certificates.
    let o = dr(&["solve", &file]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("p̄ = 9") && text.contains("p* = 12"), "{text}");
    assert_eq!(text.matches("status                Solved").count(), 2);
    assert!(text.contains("Corollary 4"));
}

#[test]
fn simulate_fast_rule_converges_to_the_solve_prices() {
    let solved = ok_json(&["solve", BIDDING_30, "--json"]);
    for (flag, key) in [("competitive", "competitive"), ("nash", "nash")] {
        let v = ok_json(&[
            "simulate",
            BIDDING_30,
            "--equilibrium",
            flag,
            "--rule",
            "fast",
            "--json",
        ]);
        assert_eq!(v["termination"], "converged", "{flag}");
        let rounds = v["rounds"].as_array().unwrap();
        let after = v["converged_after"].as_u64().expect("converged_after") as usize;
        assert_eq!(rounds.len(), after);
        let last = rounds.last().unwrap();
        assert!(f(&last["relative_mismatch"]) <= 1e-9);
        // The mismatch is the excess supply Σ b p − d of the round.
        for r in rounds {
            let expected = f(&r["total_bid"]) * f(&r["price"]) - 10.0;
            assert!((f(&r["mismatch"]) - expected).abs() <= 1e-9 * expected.abs().max(1.0));
        }
        // Two independent paths: the exact allocator and the message-passing iteration.
        let exact = f(&solved[key]["price"]);
        assert!(
            rel(f(&last["price"]), exact) <= 1e-9,
            "{flag}: {} vs {exact}",
            f(&last["price"])
        );
        assert!(rel(f(&v["price"]), exact) <= 1e-9);
    }
}

#[test]
fn simulate_paper_rule_honours_start_price_and_tolerance() {
    let v = ok_json(&[
        "simulate",
        BIDDING_30,
        "--equilibrium",
        "competitive",
        "--rule",
        "paper",
        "--step",
        "0.1",
        "--start-price",
        "2",
        "--tol",
        "1e-6",
        "--json",
    ]);
    let rounds = v["rounds"].as_array().unwrap();
    assert_eq!(f(&rounds[0]["price"]), 2.0);
    assert_eq!(v["termination"], "converged");
    assert!(f(&rounds.last().unwrap()["relative_mismatch"]) <= 1e-6);
    assert!(f(&rounds[rounds.len() - 2]["relative_mismatch"]) > 1e-6);
    // Each price follows the papers' rule p(k+1) = [p(k) − γ (Σ b p − d)]⁺ (eq. 12).
    for w in rounds.windows(2) {
        let next = (f(&w[0]["price"]) - 0.1 * f(&w[0]["mismatch"])).max(0.0);
        assert!((f(&w[1]["price"]) - next).abs() <= 1e-12 * next.max(1.0));
    }
    // --tolerance is the same flag.
    let w = ok_json(&[
        "simulate",
        BIDDING_30,
        "--equilibrium",
        "competitive",
        "--step",
        "0.1",
        "--start-price",
        "2",
        "--tolerance",
        "1e-6",
        "--json",
    ]);
    assert_eq!(w["rounds_run"], v["rounds_run"]);
}

#[test]
fn simulate_with_a_large_step_reports_oscillation() {
    // A run that did not converge exits 4 (README, "Exit status"), its JSON still printed.
    let o = dr(&[
        "simulate",
        BIDDING_30,
        "--equilibrium",
        "competitive",
        "--step",
        "1",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["termination"], "oscillating");
    assert_eq!(v["outcome"], "not_converged", "{v}");
    assert!(v["converged_after"].is_null());
    // γ = 1 is above the critical step 2/S'(p̄) of this market.
    assert!(f(&v["critical_step"]) < 1.0);
    let o = dr(&[
        "simulate",
        BIDDING_30,
        "--equilibrium",
        "competitive",
        "--step",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stdout(&o).contains("oscillating"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("competitive simulation"),
        "{}",
        stderr(&o)
    );
}

/// The exit status follows the certificates and terminations (one policy, README "Exit
/// status"): a solved market exits 0 with its heading naming Solved; a two-customer
/// simulation runs the competitive scheme and reports the Nash one as undefined
/// (Corollary 2), exit 0; a population of 10⁸ under a 6 GiB limit is refused with the
/// estimate and the limit, exit 1.
#[test]
fn exit_status_follows_the_outcome() {
    let dir = scratch("outcome");
    let o = dr(&["solve", BIDDING_30]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Solved: "), "{}", stdout(&o));

    let two = dir.join("two.toml");
    std::fs::write(&two, homogeneous(2, 1.0, 1.0, 2.0)).unwrap();
    let o = dr(&[
        "simulate",
        two.to_str().unwrap(),
        "--json",
        "--rule",
        "fast",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["runs"][0]["converged"], true, "{v}");
    assert_eq!(v["runs"][1]["undefined"], true, "{v}");
    assert!(v["runs"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("Corollary 2"));

    let o = dr(&[
        "simulate",
        two.to_str().unwrap(),
        "--rounds",
        "2",
        "--equilibrium",
        "competitive",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));

    let big = dir.join("big.toml");
    std::fs::write(
        &big,
        "model = \"bidding\"\ndeficit = 1e7\n[population]\ncount = 100000000\n\
         linear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\n",
    )
    .unwrap();
    for cmd in ["solve", "simulate"] {
        let o = dr(&[cmd, big.to_str().unwrap(), "--memory-limit", "6GiB"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("6.00 GiB") && e.contains("memory"), "{e}");
    }
}

#[test]
fn simulate_both_behaviours_and_flag_errors() {
    // The file's [simulation] names no behaviour: both are run.
    let v = ok_json(&["simulate", BIDDING_30, "--rule", "fast", "--json"]);
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["equilibrium"], "competitive");
    assert_eq!(runs[1]["equilibrium"], "nash");
    assert!(f(&runs[1]["price"]) > f(&runs[0]["price"]));
    // A fixed step belongs to the paper rule.
    let o = dr(&["simulate", BIDDING_30, "--rule", "fast", "--step", "0.1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--step"), "{}", stderr(&o));
    let o = dr(&["simulate", BIDDING_30, "--start-price", "-1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("start_price"), "{}", stderr(&o));
    let o = dr(&["simulate", BIDDING_30, "--set", "nope=1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn study_bidding_scenarios_ratios_exceed_one_and_fall_with_n() {
    // n = 3, 5, …, 31: the sweep reaches the large-n claim (checked from n = 21 on).
    let v = ok_json(&["--json", "study", "bidding-scenarios", "--set", "max_n=31"]);
    // Exit 0: every printed claim holds (a claim that does not hold exits 3).
    let facts = v["facts"].as_array().unwrap();
    assert!(facts
        .iter()
        .any(|c| c["claim"].as_str().unwrap().starts_with("large n")));
    assert!(facts.iter().all(|c| c["holds"] == true), "{facts:?}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3 * 15);
    for s in 1..=3u64 {
        let rs: Vec<&Value> = rows.iter().filter(|r| r["scenario"] == s).collect();
        assert_eq!(rs.len(), 15);
        for r in &rs {
            assert!(f(&r["price_ratio"]) >= 1.0 && f(&r["cost_ratio"]) >= 1.0 - 1e-12);
            assert!(
                rel(
                    f(&r["price_ratio"]),
                    f(&r["nash_price"]) / f(&r["competitive_price"])
                ) < 1e-12
            );
            if s == 1 {
                // Corollary 4: p*/p̄ = (n−1)/(n−2) for homogeneous customers.
                let n = f(&r["n"]);
                assert!(rel(f(&r["price_ratio"]), (n - 1.0) / (n - 2.0)) < 1e-9);
                assert!(r["low_cost_load_competitive"].is_null());
            }
        }
        for w in rs.windows(2) {
            assert!(f(&w[1]["n"]) > f(&w[0]["n"]));
            assert!(
                f(&w[1]["price_ratio"]) < f(&w[0]["price_ratio"]),
                "scenario {s}"
            );
            assert!(f(&w[1]["cost_ratio"]) <= f(&w[0]["cost_ratio"]) + 1e-12);
        }
    }
    // Scenario 2, n = 3 is the SPEC's worst case: worse than scenario 3.
    let at = |s: u64, n: u64| {
        rows.iter()
            .find(|r| r["scenario"] == s && r["n"] == n)
            .unwrap()
    };
    assert!(f(&at(2, 3)["price_ratio"]) > f(&at(3, 3)["price_ratio"]));
    let o = dr(&["study", "bidding-scenarios", "--set", "max_n=2"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn study_bidding_convergence_compares_rules_and_shows_oscillation() {
    let v = ok_json(&["--json", "study", "bidding-convergence"]);
    let studies = v["studies"].as_array().unwrap();
    assert_eq!(studies.len(), 3);
    for st in studies {
        for r in st["runs"].as_array().unwrap() {
            if r["rule"] == "fast" {
                assert_eq!(r["termination"], "converged", "{}", st["name"]);
            }
            if r["termination"] == "converged" {
                assert!(f(&r["final_price_error"]) < 1e-6);
            }
        }
    }
    let osc = &v["oscillation"];
    assert!(f(&osc["step"]) > f(&osc["critical_step"]));
    assert_ne!(osc["termination"], "converged");
    // The mismatch keeps changing sign at the end of the run.
    let m = floats(&osc["mismatch"]);
    let tail = &m[m.len().saturating_sub(32)..];
    let changes = tail.windows(2).filter(|w| w[0] * w[1] < 0.0).count();
    assert!(changes >= 16, "{changes} sign changes");
}

#[test]
fn negative_quadratic_cost_is_rejected_naming_the_field() {
    let dir = scratch("negative");
    let file = write(
        &dir,
        "neg.toml",
        "model = \"bidding\"\ndeficit = 4.0\n\n[[customers]]\ncost = { linear = 1.0, quadratic = -1.0 }\n\n[[customers]]\ncost = { half_quadratic = 2.0 }\n",
    );
    for cmd in ["solve", "simulate"] {
        let o = dr(&[cmd, &file]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let err = stderr(&o);
        assert!(err.contains("customers[0].cost.quadratic"), "{err}");
        assert!(err.contains("-1"), "{err}");
        assert!(stdout(&o).is_empty());
    }
    let o = dr(&["--json", "solve", &file]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_of(&o);
    assert_eq!(v["kind"], "model");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("customers[0].cost.quadratic"));
}

#[test]
fn two_customers_have_a_competitive_equilibrium_but_no_nash_equilibrium() {
    // C_1 = q + q², C_2 = q² (half_quadratic c = 2), d = 4: p̄ = 1 + 2 q_1 = 2 q_2 with
    // q_1 + q_2 = 4 gives p̄ = 4.5 (by hand). Corollary 2: no NE for n = 2.
    let dir = scratch("two");
    let file = write(
        &dir,
        "two.toml",
        "model = \"bidding\"\ndeficit = 4.0\n\n[[customers]]\ncost = { linear = 1.0, quadratic = 1.0 }\n\n[[customers]]\ncost = { half_quadratic = 2.0 }\n",
    );
    let v = ok_json(&["--json", "solve", &file]);
    assert!((f(&v["competitive"]["price"]) - 4.5).abs() < 1e-12);
    let loads = floats(&v["competitive"]["loads"]);
    assert!((loads[0] - 1.75).abs() < 1e-12 && (loads[1] - 2.25).abs() < 1e-12);
    assert_eq!(v["nash"]["kind"], "no_nash_equilibrium");
    let msg = v["nash"]["error"].as_str().unwrap();
    assert!(
        msg.contains("at least 3") && msg.contains("Corollary 2"),
        "{msg}"
    );
    assert!(v["nash"].get("price").is_none());
    assert!(v["efficiency"]["error"].is_string());
    let o = dr(&["solve", &file]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("No Nash equilibrium"), "{}", stdout(&o));
    // Simulating strategic customers is an error; price-taking ones still run.
    let o = dr(&["simulate", &file, "--equilibrium", "nash"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("at least 3"), "{}", stderr(&o));
    let v = ok_json(&[
        "--json",
        "simulate",
        &file,
        "--equilibrium",
        "competitive",
        "--rule",
        "fast",
    ]);
    assert!((f(&v["price"]) - 4.5).abs() < 1e-8);
}

#[test]
fn drawn_population_prints_summaries_and_full_json() {
    let dir = scratch("population");
    let file = write(
        &dir,
        "pop.toml",
        "model = \"bidding\"\ndeficit = 200.0\n\n[population]\ncount = 2000\nlinear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\nseed = 7\n",
    );
    let o = dr(&["solve", &file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Population of 2000 customers"), "{text}");
    assert!(text.lines().count() < 120, "no per-customer listing");
    let v = ok_json(&["--json", "solve", &file]);
    for key in ["competitive", "nash"] {
        let loads = floats(&v[key]["loads"]);
        assert_eq!(loads.len(), 2000);
        assert!((loads.iter().sum::<f64>() - 200.0).abs() < 1e-9 * 200.0);
        assert_eq!(floats(&v[key]["bids"]).len(), 2000);
    }
    // Thousands of customers: p*/p̄ is close to 1 (Theorem 5's bound shrinks like
    // (n−1)/(n−2)), but not below.
    let r = f(&v["efficiency"]["price_ratio"]);
    assert!((1.0..1.01).contains(&r), "{r}");
}

#[test]
fn plots_are_written_as_svg() {
    let dir = scratch("plots");
    let out = dir.join("svg");
    let out_s = out.to_str().unwrap();
    let cases: [&[&str]; 4] = [
        &["solve", BIDDING_30],
        &[
            "simulate",
            BIDDING_30,
            "--equilibrium",
            "both",
            "--rule",
            "fast",
        ],
        &["study", "bidding-scenarios", "--set", "max_n=11"],
        &["study", "bidding-convergence"],
    ];
    for args in cases {
        let mut all = vec!["--json", "--plot", out_s];
        all.extend_from_slice(args);
        let v = ok_json(&all);
        let listed = v["plots"].as_array().expect("plots listed");
        assert!(!listed.is_empty(), "{args:?}");
        for p in listed {
            let svg = std::fs::read_to_string(p.as_str().unwrap()).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        }
    }
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "bidding-solve-loads.svg",
        "bidding-simulate-competitive-fast-price.svg",
        "bidding-simulate-nash-fast-price.svg",
        "bidding-scenarios-price-ratio.svg",
        "bidding-scenarios-cost-ratio.svg",
        "bidding-scenarios-low-cost-load.svg",
        "bidding-scenarios-high-cost-load.svg",
        "bidding-convergence-figure1-paper.svg",
        "bidding-convergence-figure1-fast.svg",
        "bidding-convergence-oscillation.svg",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}

#[test]
fn demo_has_a_checked_bidding_section() {
    let v = ok_json(&["demo", "--json"]);
    let sections = v["sections"].as_array().unwrap();
    let s = sections
        .iter()
        .find(|s| s["name"] == "bidding-30")
        .expect("a bidding section");
    let r = &s["result"];
    assert_eq!(r["certificate"]["status"], "Solved");
    assert!(f(&r["nash"]["price"]) >= f(&r["competitive"]["price"]));
    assert!(f(&r["nash_gain"]["at_nash_bids"]["max_relative_gain"]) <= 1e-9);
    assert!(
        r["iterative"]["fast"]["rounds"].as_u64().unwrap()
            < r["iterative"]["paper"]["rounds"].as_u64().unwrap()
    );
    // The section reads the bundled file: the same market `dr solve` sees.
    let solved = ok_json(&["solve", BIDDING_30, "--json"]);
    assert_eq!(r["competitive"]["price"], solved["competitive"]["price"]);
}

/// A drawn population of `count` customers shedding 0.1 each on average.
fn population(dir: &Path, name: &str, count: usize, extra: &str) -> String {
    write(
        dir,
        name,
        &format!(
            "model = \"bidding\"\ndeficit = {}\n\n[population]\ncount = {count}\n\
             linear = [1.0, 2.0]\nquadratic = [0.5, 4.5]\nseed = 7\n{extra}",
            0.1 * count as f64
        ),
    )
}

/// Runs `dr` with `RAYON_NUM_THREADS=threads` and returns its output.
fn dr_threads(threads: usize, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("dr runs")
}

#[test]
fn output_dir_writes_customers_csv_equal_to_the_json_columns() {
    let dir = scratch("output-csv");
    let file = population(&dir, "pop.toml", 3000, "capacity = 0.3\n");
    let out = dir.join("tables");
    let out_s = out.to_str().unwrap();
    let v = ok_json(&["--json", "solve", &file, "--output", out_s]);
    let listed = v["tables"].as_array().expect("tables listed");
    assert_eq!(listed.len(), 1);
    let path = listed[0].as_str().unwrap();
    assert!(path.ends_with("customers.csv"), "{path}");
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "index",
            "linear",
            "quadratic",
            "capacity",
            "competitive_load",
            "competitive_bid",
            "nash_load",
            "nash_bid"
        ]
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3000);
    let columns = [
        floats(&v["competitive"]["loads"]),
        floats(&v["competitive"]["bids"]),
        floats(&v["nash"]["loads"]),
        floats(&v["nash"]["bids"]),
    ];
    // The same shortest round-trip digits in both files; serde_json's default parser may
    // round the last bit differently from Rust's, so compare to a few ulps.
    let close = |a: f64, b: f64| (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], i as f64);
        assert!((1.0..2.0).contains(&row[1]) && (0.5..4.5).contains(&row[2]));
        assert_eq!(row[3], 0.3);
        for (k, c) in columns.iter().enumerate() {
            assert!(
                close(row[4 + k], c[i]),
                "row {i} column {k}: {} vs {}",
                row[4 + k],
                c[i]
            );
        }
    }
    // Σ q̄ = d from the CSV alone (Theorem 1), and no load above the capacity.
    let total: f64 = rows.iter().map(|r| r[4]).sum();
    assert!((total - 300.0).abs() <= 1e-9 * 300.0, "{total}");
    assert!(rows.iter().all(|r| r[4] <= 0.3 && r[6] <= 0.3));
    // The text report names the file too; a command without tables says so.
    let o = dr(&["solve", &file, "--output", out_s]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("tables written:"), "{}", stdout(&o));
    let o = dr(&["study", "--output", out_s]);
    assert!(stdout(&o).contains("(no tables for this command)"));
}

#[test]
fn solve_output_is_identical_for_one_and_four_threads() {
    // Three draw chunks of 65 536 customers (the last partial): drawing, both solves, the
    // summaries, the JSON and the CSV must not depend on the number of threads.
    let dir = scratch("threads");
    let file = population(&dir, "pop.toml", 150_000, "");
    let run = |threads: usize| {
        let out = dir.join(format!("t{threads}"));
        let o = dr_threads(
            threads,
            &["solve", &file, "--json", "--output", out.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let text = dr_threads(threads, &["solve", &file]);
        assert!(text.status.success());
        let csv = std::fs::read(out.join("customers.csv")).unwrap();
        // The listed table path differs by directory name; everything else must not.
        let json = stdout(&o).replace(&format!("t{threads}"), "t");
        (json, csv, stdout(&text))
    };
    let one = run(1);
    let four = run(4);
    assert!(one.0 == four.0, "the JSON differs between 1 and 4 threads");
    assert!(
        one.1 == four.1,
        "customers.csv differs between 1 and 4 threads"
    );
    assert_eq!(one.2, four.2);
}

#[test]
fn set_population_count_resizes_a_drawn_population() {
    let dir = scratch("set-count");
    let file = population(&dir, "pop.toml", 1000, "");
    let v = ok_json(&["--json", "solve", &file, "--set", "population.count=4000"]);
    assert_eq!(v["customers"], 4000);
    assert_eq!(floats(&v["competitive"]["loads"]).len(), 4000);
    // The deficit stays the file's: 100 over 4000 customers.
    let total: f64 = floats(&v["nash"]["loads"]).iter().sum();
    assert!((total - 100.0).abs() <= 1e-9 * 100.0);
    // A listed market has no population to resize; a bad value names the key.
    let o = dr(&["solve", BIDDING_30, "--set", "population.count=10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("population.count"), "{}", stderr(&o));
    let o = dr(&["solve", &file, "--set", "population.count=-3"]);
    assert_eq!(o.status.code(), Some(2));
    // The memory check sees the new size before anything is drawn.
    let o = dr(&[
        "solve",
        &file,
        "--set",
        "population.count=1000000000",
        "--memory-limit",
        "1GiB",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("memory"), "{}", stderr(&o));
}

/// The JSON body of `dr --json` without the keys every command appends.
fn body_of(mut v: Value) -> Value {
    if let Value::Object(map) = &mut v {
        for key in ["plots", "outcome", "problems"] {
            map.remove(key);
        }
    }
    v
}

/// The typed reports read back from what `dr --json` prints, and write the same JSON again:
/// `dr simulate` with one run (written flat, with a bid trace) and with two runs, and both
/// studies.
#[test]
fn simulate_and_study_json_read_back_into_the_typed_reports() {
    for args in [
        vec![
            "--json",
            "simulate",
            BIDDING_30,
            "--equilibrium",
            "competitive",
            "--set",
            "trace_bids=5",
        ],
        vec!["--json", "simulate", BIDDING_30, "--equilibrium", "both"],
    ] {
        let v = body_of(ok_json(&args));
        let r: dr_bidding::SimulationReport = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), v, "{args:?}");
        for run in r.runs.runs() {
            let dr_bidding::RunReport::Simulated(run) = run else {
                panic!("bidding_30 has a Nash equilibrium");
            };
            // The reference equilibrium is certified, and a converged run ends at its price.
            assert!(run.equilibrium_certificate.certificate.holds(1e-8));
            if run.converged {
                assert!(run.price_error < 1e-6, "{}", run.price_error);
            }
        }
    }
    let v = body_of(ok_json(&[
        "--json",
        "study",
        "bidding-scenarios",
        "--set",
        "max_n=9",
    ]));
    let r: dr_bidding::SweepStudyReport = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
    assert!(r.violations().is_empty());
    let v = body_of(ok_json(&["--json", "study", "bidding-convergence"]));
    let r: dr_bidding::ConvergenceStudyReport = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
    // Every paper-step run carries its Figs. 1–2 bid panel, the fast runs none.
    for st in &r.studies {
        for run in &st.runs {
            assert_eq!(run.bid_panel.is_some(), run.step.is_some(), "{}", st.name);
        }
    }
}
