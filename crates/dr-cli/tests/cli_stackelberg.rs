//! End-to-end tests of the Stackelberg model in `dr` (alshehri-liu-chen-basar): `solve`,
//! `simulate` (eq. 21), the §VIII studies, the demo section, errors and plots. Every
//! assertion is a property of the model (market clearing, eq. 10, eq. 15, Theorem 1,
//! Theorem 4, the paper's findings) or agreement of two solution paths — not a copied
//! output.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::*;

const ECOGRID: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/stackelberg_ecogrid.toml"
);

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-stackelberg-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt(),
    )
}

/// Two companies, three periods, two classes with different budgets (ζ = γ = 1).
const SMALL: &str = r#"
model = "stackelberg"
periods = 3

[[companies]]
name = "north"
supply = [40.0, 60.0, 50.0]

[[companies]]
name = "south"
supply = [30.0, 30.0, 45.0]

[[consumers]]
name = "small"
count = 60
budget = 4.0

[[consumers]]
name = "large"
count = 40
budget = 6.5
energy_need = 1.0
"#;

/// Market clearing, eq. 15, budgets spent and eq. 10 — checked on `dr solve --json`.
fn check_solution(v: &Value) {
    assert_eq!(v["certificate"]["status"], "Solved", "{}", v["certificate"]);
    assert!(f(&v["certificate"]["max_residual"]) <= 1e-9);
    let prices = vec2(&v["prices"]);
    let supply = vec2(&v["supply"]);
    let revenues = vec1(&v["revenues"]);
    let count = vec1(&v["count"]);
    let budget = vec1(&v["budget"]);
    let minimum = vec1(&v["minimum_budget"]);
    let demand: Vec<Vec<Vec<f64>>> = v["demand"].as_array().unwrap().iter().map(vec2).collect();
    let (k_n, t_n, classes) = (prices.len(), prices[0].len(), count.len());
    assert_eq!(revenues.len(), k_n);
    assert_eq!(minimum.len(), classes);
    assert_eq!(demand.len(), classes);
    // Prices are strictly positive (Lemma 2).
    assert!(prices.iter().flatten().all(|&p| p > 0.0), "{prices:?}");
    // Eq. 15: Σ_k revenue_k = Σ_n count_n B_n.
    let budgets: f64 = count.iter().zip(&budget).map(|(c, b)| c * b).sum();
    assert!(rel(revenues.iter().sum(), budgets) <= 1e-9);
    assert!(rel(f(&v["budget_total"]), budgets) <= 1e-12);
    // Each revenue is Σ_t p_k(t) G_k(t) (the whole supply is sold).
    for k in 0..k_n {
        let r: f64 = (0..t_n).map(|t| prices[k][t] * supply[k][t]).sum();
        assert!(rel(r, revenues[k]) <= 1e-9);
    }
    // Market clearing: Σ_n count_n d_{n,k}(t) = G_k(t); demands non-negative.
    for k in 0..k_n {
        for t in 0..t_n {
            let d: f64 = (0..classes).map(|n| count[n] * demand[n][k][t]).sum();
            assert!(rel(d, supply[k][t]) <= 1e-9, "k {k} t {t}: {d}");
            assert!((0..classes).all(|n| demand[n][k][t] >= 0.0));
        }
    }
    // Each consumer spends its budget; energy need met, so B_n ≥ minimum budget.
    let need = vec1(&v["energy_need"]);
    let energy = vec1(&v["energy"]);
    for n in 0..classes {
        let spend: f64 = (0..k_n)
            .flat_map(|k| (0..t_n).map(move |t| (k, t)))
            .map(|(k, t)| prices[k][t] * demand[n][k][t])
            .sum();
        assert!(rel(spend, budget[n]) <= 1e-9);
        assert!(minimum[n] <= budget[n] * (1.0 + 1e-9));
        assert!(energy[n] >= need[n] * (1.0 - 1e-9));
    }
    // The consumer's KKT conditions (ζ = γ = 1): 1/(1 + d) = λ p where d > 0, and
    // 1 ≥ λ p where d = 0; i.e. (1 + d) p is one constant 1/λ on the bought entries and
    // p ≥ 1/λ on the others.
    for (n, dn) in demand.iter().enumerate() {
        let entries: Vec<(f64, f64)> = prices
            .iter()
            .flatten()
            .copied()
            .zip(dn.iter().flatten().copied())
            .collect();
        let bought: Vec<f64> = entries
            .iter()
            .filter(|(_, d)| *d > 0.0)
            .map(|(p, d)| (1.0 + d) * p)
            .collect();
        let inv_lambda = bought[0];
        assert!(
            bought.iter().all(|c| rel(*c, inv_lambda) <= 1e-9),
            "{bought:?}"
        );
        for (p, d) in &entries {
            if *d == 0.0 {
                assert!(
                    *p >= inv_lambda * (1.0 - 1e-9),
                    "class {n}: p {p} < 1/λ {inv_lambda}"
                );
            }
        }
    }
    // Eq. 10 when interior: d = (B + Σ p) / (K T p) − 1.
    if v["case"] == "interior" {
        let sum_p: f64 = prices.iter().flatten().sum();
        let kt = (k_n * t_n) as f64;
        for n in 0..classes {
            for k in 0..k_n {
                for t in 0..t_n {
                    let closed = (budget[n] + sum_p) / (kt * prices[k][t]) - 1.0;
                    assert!((closed - demand[n][k][t]).abs() <= 1e-9 * closed.max(1.0));
                }
            }
        }
    }
}

#[test]
fn solve_json_has_prices_revenues_demands_budgets_and_certificate() {
    let v = json_ok(&["--json", "solve", ECOGRID]);
    check_solution(&v);
    // The bundled EcoGrid day: K = 1, T = 24, one class of 2000 consumers whose budget is
    // the minimum of Theorem 1 at the experiment's prices (the paper: 7.55 DKK), and each
    // consumer gets G(t) / N.
    let prices = vec2(&v["prices"]);
    assert_eq!((prices.len(), prices[0].len()), (1, 24));
    let budget = vec1(&v["budget"]);
    assert!((budget[0] - 7.55).abs() < 0.005, "{budget:?}");
    // Remark 2: p(t) (G(t) + N) is the same every hour.
    let g = &vec2(&v["supply"])[0];
    let c0 = prices[0][0] * (g[0] + 2000.0);
    for t in 0..24 {
        assert!(rel(prices[0][t] * (g[t] + 2000.0), c0) <= 1e-12);
    }

    let dir = scratch("solve");
    let small = write(&dir, "small.toml", SMALL);
    let v = json_ok(&["--json", "solve", &small]);
    check_solution(&v);
    assert_eq!(v["companies"][1], "south");
    assert_eq!(v["classes"][0], "small");

    // Heterogeneous budgets where eq. 10 fails: the EcoGrid classes (budgets 4..8, 400
    // consumers each) and K = 4 companies with equal allocations over T = 8 periods. The
    // poorest class buys nothing from the dearest company (the crate's finding for T ≥ 6);
    // the exact equilibrium must still clear the market and satisfy every KKT condition.
    let mut text = String::from("model = \"stackelberg\"\nperiods = 8\n");
    for share in [36.0, 16.0, 5.0, 2.0] {
        let g = 54050.0 * share / 59.0 / 8.0;
        text.push_str(&format!("[[companies]]\nsupply = {:?}\n", vec![g; 8]));
    }
    for b in [4.0, 5.0, 6.0, 7.0, 8.0] {
        text.push_str(&format!("[[consumers]]\ncount = 400\nbudget = {b:?}\n"));
    }
    let classes = write(&dir, "classes.toml", &text);
    let v = json_ok(&["--json", "solve", &classes]);
    assert_eq!(v["case"], "water_filling");
    check_solution(&v);
    let demand = &v["demand"][0];
    assert!(vec2(demand).iter().flatten().any(|&d| d == 0.0));
}

#[test]
fn solve_prints_a_readable_table_without_json() {
    let o = dr(&["solve", ECOGRID]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "Stackelberg equilibrium",
        "p(t)",
        "G(t)",
        "min budget (Thm 1)",
        "eq. 15",
        "certificate:",
        "status                Solved",
        "eq. 14 vs faer (13)",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn simulate_converges_for_delta_zero_to_the_solve_prices() {
    let solved = vec2(&json_ok(&["--json", "solve", ECOGRID])["prices"]);
    let v = json_ok(&["--json", "simulate", ECOGRID, "--delta", "0"]);
    assert_eq!(v["termination"], "converged");
    assert_eq!(v["rule"], "paper");
    assert_eq!(f(&v["delta"]), 0.0);
    let rounds = v["rounds"].as_array().unwrap();
    let after = v["converged_after"].as_u64().expect("converged_after") as usize;
    assert_eq!(rounds.len(), after + 1, "round 0 is the starting prices");
    let tol = f(&v["tolerance"]);
    let last = rounds.last().unwrap();
    assert!(f(&last["mismatch"]) <= tol);
    assert!(rounds[..after]
        .iter()
        .all(|r| f(&r["mismatch"]) > tol && r["prices"].is_array()));
    // The run's final prices are the last round's and agree with the exact equilibrium.
    let final_prices = vec2(&v["prices"]);
    assert_eq!(vec2(&last["prices"]), final_prices);
    for (a, b) in final_prices.iter().flatten().zip(solved.iter().flatten()) {
        assert!(rel(*a, *b) <= 1e-6, "{a} vs {b}");
    }
    assert!(f(&v["max_price_error"]) <= 1e-6);

    // The text trace ends with the equilibrium row.
    let o = dr(&["simulate", ECOGRID, "--delta", "0", "--every", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("converged after") && out.contains("p̄ (solve)"),
        "{out}"
    );
}

#[test]
fn simulate_rules_and_delta() {
    let rounds = |v: &Value| v["converged_after"].as_u64().expect("converged");
    let paper = json_ok(&["--json", "simulate", ECOGRID, "--rule", "paper"]);
    let fast = json_ok(&["--json", "simulate", ECOGRID, "--rule", "fast"]);
    assert_eq!(fast["rule"], "steffensen");
    assert!(fast["delta"].is_null());
    assert!(rounds(&fast) < rounds(&paper));
    // Theorem 4 holds for every δ ≥ 0; a larger δ takes smaller steps (ε grows).
    let slow = json_ok(&["--json", "simulate", ECOGRID, "--delta", "5000"]);
    assert!(rounds(&slow) > rounds(&paper));
    let same = json_ok(&["--json", "simulate", ECOGRID, "--set", "delta=5000"]);
    assert_eq!(rounds(&same), rounds(&slow));
    // δ < 0 is outside Theorem 4: from the uniform start, ε = (G + Z)/p − 10000 becomes
    // tiny at the hour whose price overshot, and the next update drives it below zero.
    // A run that does not converge exits 4 (README "Exit status"), its JSON still printed.
    let bad = json_exit(&["--json", "simulate", ECOGRID, "--delta", "-10000"], 4);
    assert_ne!(bad["termination"], "converged");
    assert!(bad["converged_after"].is_null());
    assert_eq!(bad["outcome"], "not_converged");
    // A round limit is honoured (and is not convergence: exit 4).
    let short = json_exit(&["--json", "simulate", ECOGRID, "--rounds", "3"], 4);
    assert_eq!(short["termination"], "max_rounds");
    assert_eq!(short["rounds"].as_array().unwrap().len(), 4);
    let o = dr(&["simulate", ECOGRID, "--rounds", "3"]);
    assert!(stdout(&o).starts_with("NOT CONVERGED"), "{}", stdout(&o));
}

/// Two companies, one period, one consumer with budget 10, G = (1, 3), start p = (1, 1).
/// By hand (eq. 10: d_k = (10 + p_1 + p_2)/(2 p_k) − 1; eq. 21 with δ = 0 gives
/// p_k ← (10 + p_1 + p_2)/(2 (G_k + 1))): at (1, 1) the demand is (5, 5), so company 1
/// moves to 3 in both orders; simultaneously company 2 moves to 12/8 = 1.5 from the same
/// demand, sequentially it sees the answer to (3, 1), d_2 = 6, and moves to 14/8 = 1.75.
/// Eq. 14: H = 1/4 + 1/8, p = 10/(2 (G_k + 1)(5/8)) = (4, 2).
const TWO_COMPANIES: &str = r#"
model = "stackelberg"
periods = 1
[[companies]]
supply = [1.0]
[[companies]]
supply = [3.0]
[[consumers]]
count = 1
budget = 10
[simulation]
initial_price = 1.0
"#;

#[test]
fn simulate_update_order() {
    let dir = scratch("order");
    let file = dir.join("two.toml");
    std::fs::write(&file, TWO_COMPANIES).unwrap();
    let path = file.to_str().unwrap();
    let default = json_ok(&["--json", "simulate", path]);
    let seq = json_ok(&["--json", "simulate", path, "--set", "order=sequential"]);
    let sim = json_ok(&["--json", "simulate", path, "--set", "order=simultaneous"]);
    assert_eq!(default["order"], "sequential", "§VI: the paper's order");
    assert_eq!(seq["order"], "sequential");
    assert_eq!(sim["order"], "simultaneous");
    assert_eq!(default["rounds"], seq["rounds"]);
    let round = |v: &Value, r: usize| vec2(&v["rounds"][r]["prices"]).concat();
    assert_eq!(round(&seq, 0), round(&sim, 0));
    let (s1, j1) = (round(&seq, 1), round(&sim, 1));
    assert!(
        rel(s1[0], 3.0) < 1e-12 && rel(s1[1], 1.75) < 1e-12,
        "{s1:?}"
    );
    assert!(rel(j1[0], 3.0) < 1e-12 && rel(j1[1], 1.5) < 1e-12, "{j1:?}");
    for v in [&seq, &sim] {
        assert_eq!(v["termination"], "converged");
        let p = vec2(&v["prices"]).concat();
        assert!(rel(p[0], 4.0) < 1e-8 && rel(p[1], 2.0) < 1e-8, "{p:?}");
    }
    // The file's key, overridden by --set.
    let keyed = dir.join("keyed.toml");
    std::fs::write(&keyed, format!("{TWO_COMPANIES}order = \"simultaneous\"\n")).unwrap();
    let keyed = keyed.to_str().unwrap();
    assert_eq!(
        json_ok(&["--json", "simulate", keyed])["order"],
        "simultaneous"
    );
    assert_eq!(
        json_ok(&["--json", "simulate", keyed, "--set", "order=sequential"])["rounds"],
        seq["rounds"]
    );
    let o = dr(&["simulate", path, "--set", "order=simultaneous"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("order                simultaneous"),
        "{}",
        stdout(&o)
    );
    let o = dr(&["simulate", path, "--set", "order=jacobi"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("order=jacobi"), "{}", stderr(&o));
}

#[test]
fn simulate_rejects_settings_it_cannot_honour() {
    for args in [
        vec!["simulate", ECOGRID, "--step", "0.1"],
        vec!["simulate", ECOGRID, "--rule", "fast", "--delta", "1"],
        vec!["simulate", ECOGRID, "--delta", "1", "--set", "delta=2"],
    ] {
        let o = dr(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
    let o = dr(&["simulate", ECOGRID, "--set", "gamma=1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("gamma=1"));
}

#[test]
fn malformed_files_name_the_field() {
    let dir = scratch("malformed");
    let cases = [
        (
            "negative-budget.toml",
            SMALL.replace("budget = 4.0", "budget = -4.0"),
            "consumers[0].budget",
        ),
        (
            "wrong-length.toml",
            SMALL.replace("[40.0, 60.0, 50.0]", "[40.0, 60.0]"),
            "companies[0].supply",
        ),
        (
            "bad-budget.toml",
            SMALL.replace("budget = 6.5", "budget = \"lots\""),
            "consumers[1].budget",
        ),
        (
            "zero-supply.toml",
            SMALL.replace("[30.0, 30.0, 45.0]", "[30.0, 0.0, 45.0]"),
            "companies[1].supply[1]",
        ),
        (
            "minimum-without-prices.toml",
            SMALL.replace("budget = 6.5", "budget = \"minimum\""),
            "consumers[1].reference_prices",
        ),
        (
            "unknown-field.toml",
            SMALL.replace("count = 40", "count = 40\nbudjet = 3"),
            "budjet",
        ),
    ];
    for (name, text, field) in cases {
        let file = write(&dir, name, &text);
        for cmd in ["solve", "simulate"] {
            let o = dr(&[cmd, &file]);
            assert_eq!(o.status.code(), Some(1), "{name} {cmd}: {}", stderr(&o));
            assert!(stderr(&o).contains(field), "{name} {cmd}: {}", stderr(&o));
            let o = dr(&["--json", cmd, &file]);
            assert_eq!(o.status.code(), Some(1));
            let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
            assert!(v["error"].as_str().unwrap().contains(field), "{v}");
        }
    }
}

#[test]
fn study_ecogrid_reproduces_the_papers_findings() {
    let v = json_ok(&["--json", "study", "ecogrid"]);
    let p = vec1(&v["prices"]);
    let pe = vec1(&v["experiment_prices"]);
    assert_eq!((p.len(), pe.len()), (24, 24));
    assert!(p.iter().all(|&x| x > 0.0));
    let (m, sd) = mean_sd(&p);
    let (me, sde) = mean_sd(&pe);
    // §VIII-A: a slightly smaller mean and a much smaller spread than the experiment.
    assert!(m < me && sd < sde, "mean {m} vs {me}, sd {sd} vs {sde}");
    assert!(rel(f(&v["price_std"]), sd) <= 1e-12);
    assert!(f(&v["savings_fraction"]) > 0.0);
    // The paper's minimum budget: 7.55 DKK; it is fully spent at equilibrium.
    let b = f(&v["budget_per_consumer"]);
    assert!((b - 7.55).abs() < 0.005, "{b}");
    assert!(rel(f(&v["payment_equilibrium"]), b) <= 1e-9);
    // Savings = 1 − B / (Σ p_exp(t) G(t) / N).
    let g = vec1(&v["supply"]);
    let paid: f64 = pe.iter().zip(&g).map(|(a, c)| a * c / 2000.0).sum();
    assert!(rel(f(&v["savings_fraction"]), 1.0 - b / paid) <= 1e-9);
    assert_eq!(v["certificate"]["status"], "Solved");
    // Fig. 5: eq. 21 converges for δ ≥ 0 (Theorem 4), more slowly for larger δ.
    let runs = v["distributed"]["runs"].as_array().unwrap();
    let paper: Vec<(f64, u64)> = runs
        .iter()
        .filter(|r| r["rule"] == "paper" && f(&r["delta"]) >= 0.0)
        .map(|r| {
            assert_eq!(r["termination"], "converged", "{}", r["delta"]);
            assert!(f(&r["max_price_error"]) <= 1e-6);
            (f(&r["delta"]), r["converged_after"].as_u64().unwrap())
        })
        .collect();
    assert!(paper.len() >= 2);
    for w in paper.windows(2) {
        assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{paper:?}");
    }
}

/// `dr study <name> --json` for the paper-setting studies: exit 0, the paper's δ and p(0),
/// every claim present with a verdict, and final prices equal to eq. 14's closed form.
fn paper_setting_study_checks(name: &str, deltas: [f64; 2], start: f64, periods: u64) {
    let v = json_ok(&["--json", "study", name]);
    assert_eq!(v["study"], name);
    assert_eq!(v["periods"].as_u64(), Some(periods));
    assert_eq!(f(&v["start_price"]), start);
    let runs = v["runs"].as_array().unwrap();
    let got: Vec<f64> = runs.iter().map(|r| f(&r["delta"])).collect();
    assert_eq!(got, deltas.to_vec());
    let closed_form = vec1(&v["closed_form_prices"]);
    let mut rounds = Vec::new();
    for r in runs {
        assert_eq!(r["order"], "sequential");
        assert_eq!(r["termination"], "converged");
        // Round 0 is the paper's starting price everywhere.
        let first = r["rounds"][0]["prices"].as_array().unwrap();
        assert!(first.iter().flat_map(vec1).all(|p| p == start));
        let last: Vec<f64> = r["prices"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(vec1)
            .collect();
        assert_eq!(last.len(), closed_form.len());
        for (p, q) in last.iter().zip(&closed_form) {
            assert!(rel(*p, *q) <= 1e-6, "{p} vs eq. 14 {q}");
        }
        rounds.push(r["converged_after"].as_u64().unwrap());
    }
    // Larger δ, more rounds (the paper's claim, re-derived here from the runs).
    assert!(rounds[1] > rounds[0], "{rounds:?}");
    let claims = v["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 3);
    for c in claims {
        assert!(!c["claim"].as_str().unwrap().is_empty());
        assert!(!c["evidence"].as_str().unwrap().is_empty());
        assert_eq!(c["holds"], true, "{c}");
    }
}

#[test]
fn study_ecogrid_fig5_uses_the_papers_settings_and_judges_its_claims() {
    paper_setting_study_checks("ecogrid-fig5", [1000.0, 10_000.0], 5.0, 1);
}

#[test]
fn study_dutch_pilot_fig7_uses_the_papers_settings_and_judges_its_claims() {
    paper_setting_study_checks("dutch-pilot-fig7", [100.0, 1000.0], 0.5, 24);
}

#[test]
fn study_dutch_pilot_shows_lower_spread_and_savings() {
    let v = json_ok(&["--json", "study", "dutch-pilot"]);
    let (m, sd) = mean_sd(&vec1(&v["prices"]));
    let (me, sde) = mean_sd(&vec1(&v["experiment_prices"]));
    assert!(m < me && sd < sde);
    assert!(f(&v["savings_fraction"]) > 0.0);
    assert!(f(&v["budget_per_consumer"]) > 0.0);
    let runs = v["distributed"]["runs"].as_array().unwrap();
    assert!(runs.iter().all(|r| r["termination"] == "converged"));
}

#[test]
fn study_periods_utilities_rise_with_t() {
    let v = json_ok(&["--json", "study", "periods", "--set", "max_periods=12"]);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 12);
    let budgets = vec1(&v["class_budgets"]);
    let size = vec1(&v["class_size"]);
    let b_total: f64 = budgets.iter().zip(&size).map(|(b, c)| b * c).sum();
    let power: f64 = vec1(&v["company_totals"]).iter().sum();
    for (i, pt) in points.iter().enumerate() {
        assert_eq!(pt["periods"].as_u64(), Some(i as u64 + 1));
        // Eq. 15 for every T.
        assert!(rel(vec1(&pt["revenues"]).iter().sum(), b_total) <= 1e-9);
    }
    for n in 0..budgets.len() {
        let u: Vec<f64> = points.iter().map(|p| f(&p["utilities"][n])).collect();
        // Fig. 4: rising in T, below eq. 25's limit B_n Σ G / B (ζ = γ = 1).
        assert!(u.windows(2).all(|w| w[1] > w[0]), "class {n}: {u:?}");
        let limit = budgets[n] * power / b_total;
        assert!(u.iter().all(|&x| x < limit));
        assert!(rel(f(&v["utility_limit"][n]), limit) <= 1e-12);
    }
    let o = dr(&["study", "periods", "--set", "max_periods=0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn plots_are_written_as_svg() {
    let dir = scratch("plots");
    let d = dir.to_str().unwrap();
    let runs: [&[&str]; 4] = [
        &["solve", ECOGRID],
        &["simulate", ECOGRID],
        &["study", "ecogrid"],
        &["study", "periods", "--set", "max_periods=5"],
    ];
    for args in runs {
        let mut a = vec!["--json", "--plot", d];
        a.extend_from_slice(args);
        let v = json_ok(&a);
        let plots = v["plots"].as_array().expect("plots listed");
        assert!(!plots.is_empty(), "{args:?}");
        for p in plots {
            let svg = std::fs::read_to_string(p.as_str().unwrap()).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        }
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "stackelberg-simulate-prices.svg",
        "stackelberg-ecogrid-prices.svg",
        "stackelberg-ecogrid-distributed-delta-0.svg",
        "stackelberg-periods-utilities.svg",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} not in {names:?}"
        );
    }
}

#[test]
fn demo_has_a_checked_stackelberg_section() {
    let v = json_ok(&["--json", "demo"]);
    let section = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "stackelberg-ecogrid")
        .expect("a stackelberg section");
    let r = &section["result"];
    assert_eq!(r["certificate"]["status"], "Solved");
    let p = vec1(&r["prices"]);
    let g = vec1(&r["supply"]);
    let b = f(&r["budget_per_consumer"]);
    let revenue: f64 = p.iter().zip(&g).map(|(a, c)| a * c).sum();
    assert!(rel(revenue, 2000.0 * b) <= 1e-9);
    assert!(f(&r["savings_fraction"]) > 0.0);
    assert!(v["models_available"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "stackelberg"));
}

/// Runs `dr` expecting exit `code` and JSON on stdout.
fn json_exit(args: &[&str], code: i32) -> Value {
    let o = dr(args);
    assert_eq!(o.status.code(), Some(code), "dr {args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("dr {args:?}: stdout is not JSON ({e}): {}", stdout(&o)))
}

/// Issue 11, finding 2: a binding price cap. Supply [100, 300], 100 consumers with budget 5,
/// p_max = 0.3 (the unbounded prices would be 2 and 1, eq. 14). By hand: each consumer asks
/// d = (5 + 0.6)/(2 · 0.3) − 1 = 25/3 per period, D = 2500/3; excess 2200/3 and 1600/3;
/// proportional rationing serves 12 % and 36 %, i.e. 1 and 3 per consumer, who pays 1.2 and
/// keeps 3.8 (380 in all = 500 − revenue 120). No claim of clearing or of eq. 15.
#[test]
fn binding_price_cap_is_reported_as_not_clearing() {
    let dir = scratch("cap");
    let file = write(
        &dir,
        "cap.toml",
        "model = \"stackelberg\"\nperiods = 2\n[[companies]]\nsupply = [100.0, 300.0]\n\
         price_max = 0.3\n[[consumers]]\ncount = 100\nbudget = 5\n",
    );
    let v = json_exit(&["--json", "solve", &file], 0);
    let c = &v["clearing"];
    assert_eq!(c["clears"], false);
    assert_eq!(c["rationing_rule"], "proportional");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    let ex = vec2(&c["excess_demand"]);
    assert!(
        close(ex[0][0], 2200.0 / 3.0) && close(ex[0][1], 1600.0 / 3.0),
        "{ex:?}"
    );
    assert!(close(f(&c["unspent_total"]), 380.0));
    assert!(close(f(&c["unspent_budget"][0]), 3.8));
    assert!(close(f(&c["allocation"][0][0][1]), 3.0));
    let o = dr(&["solve", &file]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("does NOT clear"), "{text}");
    assert!(!text.contains("budgets are fully spent"), "{text}");
    assert!(!text.contains("sells its whole supply"), "{text}");
    assert!(text.contains("proportional"), "{text}");
    // dr verify: the two solvers agree on this bounded equilibrium, and its one condition
    // says the market does not clear (no "market clearing" is claimed).
    let o = dr(&["--json", "verify", &file]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let conditions = v["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 1);
    let name = conditions[0]["name"].as_str().unwrap();
    assert!(name.contains("does NOT clear"), "{name}");
    assert!(
        conditions[0]["statement"]
            .as_str()
            .unwrap()
            .contains("excess demand at p_max"),
        "{v}"
    );
}

/// Issue 11, finding 3: a company with total = 20 whose network row caps its sum at 5.
#[test]
fn infeasible_allocation_game_names_row_and_company() {
    let dir = scratch("alloc");
    let file = write(
        &dir,
        "alloc.toml",
        "model = \"stackelberg\"\nperiods = 2\n[[companies]]\ntotal = 20\n[[consumers]]\n\
         count = 10\nbudget = 5\n[[network]]\nrhs = 5\nterms = [{company = 0, period = 0, \
         coefficient = 1.0}, {company = 0, period = 1, coefficient = 1.0}]\n",
    );
    let o = dr(&["solve", &file]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("network[0]") && e.contains("companies[0]") && e.contains("total = 20"),
        "{e}"
    );
}

/// `--memory-limit`: a scenario whose estimate exceeds the limit is refused (exit 1) before
/// anything is built.
#[test]
fn oversized_scenario_is_refused_by_the_memory_limit() {
    let dir = scratch("big");
    let file = write(
        &dir,
        "big.toml",
        "model = \"stackelberg\"\nperiods = 1000000000\n[[companies]]\ntotal = 20\n\
         [[consumers]]\ncount = 10\nbudget = 5\n",
    );
    let o = dr(&["solve", "--memory-limit", "1GiB", &file]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).is_empty());
}

// ---------------------------------------------------------------------------------------
// Issue 15: general consumers (§IX-A, §III) and the §VII asymptotics study.

/// One company, two periods, G = (1, 4); two power consumers `Σ √d` (ζ = 0) with budgets
/// 1 and 2. By hand: `d_t ∝ p_t^{−2}` and clearing give `p_t = B G_t^{α−1} / Σ G^α = (1, ½)`;
/// the first consumer buys `(1/3, 4/3)`.
const POWER: &str = r#"
model = "stackelberg"
periods = 2
[[companies]]
supply = [1.0, 4.0]
[[consumers]]
budget = 1.0
zeta = 0.0
utility = "power"
exponent = 0.5
[[consumers]]
budget = 2.0
zeta = 0.0
utility = "power"
exponent = 0.5
"#;

#[test]
fn solve_power_consumers_matches_the_hand_derived_equilibrium() {
    let dir = scratch("power");
    let file = write(&dir, "power.toml", POWER);
    let v = json_ok(&["--json", "solve", &file]);
    assert_eq!(v["certificate"]["status"], "Solved", "{}", v["certificate"]);
    assert_eq!(v["case"], "general");
    let p = vec2(&v["prices"]);
    assert!(
        rel(p[0][0], 1.0) <= 1e-8 && rel(p[0][1], 0.5) <= 1e-8,
        "{p:?}"
    );
    let d0 = vec2(&v["demand"][0]);
    assert!(rel(d0[0][0], 1.0 / 3.0) <= 1e-8 && rel(d0[0][1], 4.0 / 3.0) <= 1e-8);
    assert!(v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["holds"] == true));
    assert_eq!(v["utility_family"][0]["family"], "power");
    assert_eq!(v["outcome"], "ok");
    // The text says which of the paper's results no longer apply.
    let out = dr(&["solve", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Theorem 1, eq. 11"),
        "{}",
        stdout(&out)
    );
}

/// A satiating consumer (s = 1, budget slack) next to a power consumer (budget 2), one
/// period, G = 3: clearing `2/p + 1 = 3` gives p = 1, but the company gains by raising its
/// price (inelastic demand): the Theorem 2 claim fails, exit 3.
#[test]
fn satiating_consumer_fails_theorem_2_with_exit_3() {
    let dir = scratch("satiating");
    let text = r#"
model = "stackelberg"
periods = 1
[[companies]]
supply = [3.0]
[[consumers]]
budget = 2.0
zeta = 0.0
utility = "power"
exponent = 0.5
[[consumers]]
budget = 10.0
utility = "satiating"
satiation = 1.0
"#;
    let file = write(&dir, "s.toml", text);
    let out = dr(&["--json", "solve", &file]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(rel(vec2(&v["prices"])[0][0], 1.0) <= 1e-8);
    let failed: Vec<&Value> = v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["holds"] == false)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["claim"].as_str().unwrap().contains("Theorem 2"));
}

/// A non-shiftable consumer (fixed demand 1 in both periods) reduces the market the flexible
/// log consumer (ζ = 0, budget 6) faces to `G_t − 1`: `p_t = 3 / (G_t − 1) = (1, 0.6)`.
#[test]
fn fixed_demand_reduces_the_market_as_derived() {
    let dir = scratch("fixed");
    let text = r#"
model = "stackelberg"
periods = 2
[[companies]]
supply = [4.0, 6.0]
[[consumers]]
budget = 6.0
zeta = 0.0
[[consumers]]
budget = 5.0
fixed_demand = 1.0
"#;
    let file = write(&dir, "f.toml", text);
    let out = dr(&["--json", "solve", &file]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["certificate"]["status"], "Solved");
    let p = vec2(&v["prices"]);
    assert!(
        rel(p[0][0], 1.0) <= 1e-8 && rel(p[0][1], 0.6) <= 1e-8,
        "{p:?}"
    );
    assert_eq!(vec2(&v["demand"][1])[0], vec![1.0, 1.0]);
    // The fixed demand is inelastic: doubling both prices, the flexible consumer still
    // spends 6 (buying (1.5, 2.5)) and the fixed one pays 3.2, revenue 9.2 against 7.6.
    // Theorem 2 fails as derived: exit 3.
    assert_eq!(out.status.code(), Some(3));
    assert!(
        f(&v["deviation"]["max_gain"]) >= 9.2 / 7.6 - 1.0 - 1e-9,
        "{}",
        v["deviation"]
    );
    // dr verify: every class's best response agrees with the LP back end (proven), and the
    // prices clear the market with the LP's demands.
    let out = dr(&["--json", "verify", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["verdict"], "agrees");
    assert_eq!(v["clearing"], "agrees");
    assert!(v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["verdict"] == "agrees"));
    // eq. 21 with the classes' numerical best responses reaches the same prices (observed:
    // Theorem 4 covers log consumers only).
    let v = json_ok(&["--json", "simulate", &file]);
    assert_eq!(v["termination"], "converged");
    let p = vec2(&v["prices"]);
    assert!(
        rel(p[0][0], 1.0) <= 1e-6 && rel(p[0][1], 0.6) <= 1e-6,
        "{p:?}"
    );
    // A bad key value names the field.
    let bad = write(
        &dir,
        "bad.toml",
        &text.replace("fixed_demand = 1.0", "fixed_demand = [1.0]"),
    );
    let out = dr(&["solve", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("consumers[1].fixed_demand"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn study_asymptotics_judges_the_papers_claims() {
    let v = json_ok(&[
        "--json",
        "study",
        "stackelberg-asymptotics",
        "--set",
        "max_periods=12",
    ]);
    let claims = v["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 9);
    assert!(claims.iter().all(|c| c["holds"] == true), "{claims:?}");
    // Theorem 5 by hand: K = ⌈N B / (G p_max)⌉ for each N.
    let g = f(&v["setting"]["company_totals"][0]);
    let b = f(&v["setting"]["budget"]);
    let pmax = f(&v["setting"]["price_max"]);
    for (i, n) in vec1(&v["setting"]["counts"]).iter().enumerate() {
        let k = (n * b / (g * pmax) - 1e-9).ceil().max(1.0);
        assert_eq!(v["companies_needed"][i].as_u64().unwrap() as f64, k);
    }
    // A p_max below every achievable price... still a valid Theorem 5 setting: K grows.
    let w = json_ok(&[
        "--json",
        "study",
        "stackelberg-asymptotics",
        "--set",
        "max_periods=5",
        "--set",
        "price_max=0.1",
    ]);
    assert!(w["companies_needed"][2].as_u64().unwrap() > 4);
}

/// The bundled example of general consumers: certified, and its constraints hold in the
/// output (the shops buy nothing outside periods 1 and 2, the workshops at least 1 from each
/// company in every period, every budget binds and is spent).
#[test]
fn bundled_general_consumers_example_is_certified() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/stackelberg/general_consumers.toml"
    );
    let v = json_ok(&["--json", "solve", file]);
    assert_eq!(v["certificate"]["status"], "Solved");
    let prices = vec2(&v["prices"]);
    let supply = vec2(&v["supply"]);
    let count = vec1(&v["count"]);
    let budget = vec1(&v["budget"]);
    let demand: Vec<Vec<Vec<f64>>> = v["demand"].as_array().unwrap().iter().map(vec2).collect();
    for k in 0..2 {
        for t in 0..4 {
            let d: f64 = (0..3).map(|n| count[n] * demand[n][k][t]).sum();
            assert!(rel(d, supply[k][t]) <= 1e-9);
            assert!(demand[2][k][t] >= 1.0);
            if t == 0 || t == 3 {
                assert_eq!(demand[1][k][t], 0.0);
            }
        }
    }
    for n in 0..3 {
        let spend: f64 = (0..2)
            .flat_map(|k| (0..4).map(move |t| (k, t)))
            .map(|(k, t)| prices[k][t] * demand[n][k][t])
            .sum();
        assert!(rel(spend, budget[n]) <= 1e-9);
    }
}

fn bound(b: dr_stackelberg::PriceBound) -> Cell {
    Cell::Text(
        match b {
            dr_stackelberg::PriceBound::Free => "free",
            dr_stackelberg::PriceBound::AtMin => "at_min",
            dr_stackelberg::PriceBound::AtMax => "at_max",
        }
        .into(),
    )
}

/// The rows `company_periods.csv` should hold: per company `k` (by name) and period `t`, each
/// `[k][t]` table of the report, then where the price sits when given.
fn entry_rows(
    companies: &[String],
    periods: usize,
    grids: &[&Vec<Vec<f64>>],
    bounds: Option<&Vec<Vec<dr_stackelberg::PriceBound>>>,
) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for (k, company) in companies.iter().enumerate() {
        for t in 0..periods {
            let mut row: Vec<Cell> = vec![company.into(), t.into()];
            row.extend(grids.iter().map(|g| Cell::Num(g[k][t])));
            row.extend(bounds.map(|b| bound(b[k][t])));
            rows.push(row);
        }
    }
    assert_eq!(rows.len(), companies.len() * periods);
    rows
}

/// The rows of a per-item table: each item's name, then its value in each column.
fn item_rows(names: &[String], columns: &[Vec<Cell>]) -> Vec<Vec<Cell>> {
    (0..names.len())
        .map(|i| {
            let mut row = vec![Cell::from(&names[i])];
            row.extend(columns.iter().map(|c| c[i].clone()));
            row
        })
        .collect()
}

fn nums(v: &[f64]) -> Vec<Cell> {
    v.iter().map(|&x| Cell::Num(x)).collect()
}

/// The rows of `demand.csv`: per class `n`, company `k` and period `t`, each `[n][k][t]`
/// table of the report.
fn demand_rows(
    classes: &[String],
    companies: &[String],
    periods: usize,
    tables: &[&Vec<Vec<Vec<f64>>>],
) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for (n, class) in classes.iter().enumerate() {
        for (k, company) in companies.iter().enumerate() {
            for t in 0..periods {
                let mut row: Vec<Cell> = vec![class.into(), company.into(), t.into()];
                row.extend(tables.iter().map(|d| Cell::Num(d[n][k][t])));
                rows.push(row);
            }
        }
    }
    assert_eq!(rows.len(), classes.len() * companies.len() * periods);
    rows
}

/// The `--output DIR` tables of `dr solve` hold the JSON report's values bit for bit, one
/// row per (company, period), company, class and (class, company, period), headers of the
/// rows' arity; a company name with a comma and quotes reads back (RFC 4180). On the capped
/// market of `binding_price_cap_is_reported_as_not_clearing` the tables alone show the
/// rationing derived by hand there (12 % and 36 % served, 1 and 3 received, 3.8 unspent).
#[test]
fn output_dir_writes_solve_tables_equal_to_the_json() {
    let dir = scratch("output-solve");
    let small = write(&dir, "small.toml", SMALL);
    let cap = write(
        &dir,
        "cap.toml",
        "model = \"stackelberg\"\nperiods = 2\n[[companies]]\nname = 'cap, \"A\"'\n\
         supply = [100.0, 300.0]\nprice_max = 0.3\n[[consumers]]\ncount = 100\nbudget = 5\n",
    );
    for (file, name) in [(&small, "small"), (&cap, "cap")] {
        let out = dir.join(name);
        let (r, listed): (dr_stackelberg::SolveReport, _) = with_tables(&["solve", file], &out);
        assert_eq!(
            listed,
            [
                "company_periods.csv",
                "companies.csv",
                "classes.csv",
                "demand.csv"
            ]
        );
        let c = &r.clearing;
        let grids = [
            &r.prices,
            &r.supply,
            &r.aggregate_demand,
            &c.excess_demand,
            &c.sold,
            &c.served_fraction,
        ];
        assert_table(
            &out,
            "company_periods.csv",
            &[
                "company",
                "period",
                "price",
                "supply",
                "aggregate_demand",
                "excess_demand",
                "sold",
                "served_fraction",
                "price_bound",
            ],
            &entry_rows(
                &r.market.companies,
                r.market.periods,
                &grids,
                Some(&r.price_bound),
            ),
        );
        assert_table(
            &out,
            "companies.csv",
            &["company", "revenue", "revenue_share"],
            &item_rows(
                &r.market.companies,
                &[nums(&r.revenues), nums(&r.revenue_share)],
            ),
        );
        let columns = [
            &r.count,
            &r.budget,
            &r.minimum_budget,
            &r.energy,
            &r.energy_need,
            &r.utility,
            &r.payment,
            &c.energy,
            &c.payment,
            &c.unspent_budget,
            &c.utility,
        ]
        .map(|v| nums(v));
        assert_table(
            &out,
            "classes.csv",
            &[
                "class",
                "count",
                "budget",
                "minimum_budget",
                "energy",
                "energy_need",
                "utility",
                "payment",
                "energy_received",
                "payment_received",
                "unspent_budget",
                "utility_received",
            ],
            &item_rows(&r.market.classes, &columns),
        );
        assert_table(
            &out,
            "demand.csv",
            &["class", "company", "period", "demand", "received"],
            &demand_rows(
                &r.market.classes,
                &r.market.companies,
                r.market.periods,
                &[&r.demand, &c.allocation],
            ),
        );
    }
    // The capped market from its tables alone (hand-derived numbers above).
    let close = |a: &str, b: f64| (a.parse::<f64>().unwrap() - b).abs() <= 1e-12 * b;
    let (_, entries) = read_csv(&dir.join("cap").join("company_periods.csv"));
    assert_eq!(entries[0][0], "cap, \"A\"");
    assert!(
        close(&entries[0][7], 0.12) && close(&entries[1][7], 0.36),
        "{entries:?}"
    );
    assert!(entries.iter().all(|e| e[8] == "at_max"), "{entries:?}");
    let (_, demand) = read_csv(&dir.join("cap").join("demand.csv"));
    assert!(
        close(&demand[0][4], 1.0) && close(&demand[1][4], 3.0),
        "{demand:?}"
    );
    let (_, classes) = read_csv(&dir.join("cap").join("classes.csv"));
    assert!(close(&classes[0][10], 3.8), "{classes:?}");
}

/// The same for general consumers (§IX-A, §III: the bundled example, whose class names hold
/// commas) and for `dr simulate` (final and equilibrium prices, the trace per round and the
/// prices of every round).
#[test]
fn output_dir_writes_general_and_simulate_tables_equal_to_the_json() {
    let dir = scratch("output-general");
    let general = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/stackelberg/general_consumers.toml"
    );
    let (r, listed): (dr_stackelberg::GeneralSolveReport, Vec<String>) =
        with_tables(&["solve", general], &dir);
    assert_eq!(listed.len(), 4);
    let e = &r.equilibrium;
    let grids = [
        &e.prices,
        &e.supply,
        &e.aggregate_demand,
        &e.served_fraction,
    ];
    assert_table(
        &dir,
        "company_periods.csv",
        &[
            "company",
            "period",
            "price",
            "supply",
            "aggregate_demand",
            "served_fraction",
            "price_bound",
        ],
        &entry_rows(
            &r.market.companies,
            r.market.periods,
            &grids,
            Some(&e.price_bound),
        ),
    );
    assert_table(
        &dir,
        "companies.csv",
        &["company", "revenue"],
        &item_rows(&r.market.companies, &[nums(&e.revenues)]),
    );
    assert!(
        r.market.classes.iter().any(|c| c.contains(',')),
        "{:?}",
        r.market.classes
    );
    let mut columns = [&r.count, &r.budget, &e.multiplier]
        .map(|v| nums(v))
        .to_vec();
    columns.push(e.budget_binds.iter().map(|&b| b.into()).collect());
    columns.extend(
        [
            &e.energy,
            &r.energy_need,
            &e.utility,
            &e.payment,
            &e.energy_received,
            &e.payment_received,
            &e.unspent_budget,
        ]
        .map(|v| nums(v)),
    );
    assert_table(
        &dir,
        "classes.csv",
        &[
            "class",
            "count",
            "budget",
            "multiplier",
            "budget_binds",
            "energy",
            "energy_need",
            "utility",
            "payment",
            "energy_received",
            "payment_received",
            "unspent_budget",
        ],
        &item_rows(&r.market.classes, &columns),
    );
    assert_table(
        &dir,
        "demand.csv",
        &["class", "company", "period", "demand"],
        &demand_rows(
            &r.market.classes,
            &r.market.companies,
            r.market.periods,
            &[&e.demand],
        ),
    );

    let out = dir.join("simulate");
    let small = write(&dir, "small.toml", SMALL);
    let (s, listed): (dr_stackelberg::SimulationReport, Vec<String>) =
        with_tables(&["simulate", &small], &out);
    assert_eq!(
        listed,
        ["company_periods.csv", "rounds.csv", "round_prices.csv"]
    );
    assert_eq!(s.companies, ["north", "south"]);
    let run = &s.run;
    assert_table(
        &out,
        "company_periods.csv",
        &["company", "period", "price", "equilibrium_price"],
        &entry_rows(
            &s.companies,
            3,
            &[&run.prices, &run.equilibrium_prices],
            None,
        ),
    );
    let rows: Vec<Vec<Cell>> = run
        .rounds
        .iter()
        .map(|x| {
            vec![
                x.round.into(),
                x.mismatch.into(),
                x.price_error.map_or(Cell::Empty, Cell::Num),
            ]
        })
        .collect();
    assert!(rows.len() > 1);
    assert_table(
        &out,
        "rounds.csv",
        &["round", "mismatch", "price_error"],
        &rows,
    );
    let mut rows = Vec::new();
    for x in &run.rounds {
        let prices = x
            .prices
            .as_ref()
            .expect("every round's prices are recorded");
        for mut row in entry_rows(&s.companies, 3, &[prices], None) {
            row.insert(0, x.round.into());
            rows.push(row);
        }
    }
    assert_table(
        &out,
        "round_prices.csv",
        &["round", "company", "period", "price"],
        &rows,
    );
}
