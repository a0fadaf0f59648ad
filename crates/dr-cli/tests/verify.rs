//! The LP cross-checks (`demand_response::verify`, `dr verify`): the quick part of the
//! corpus agrees with the LP reference back end; deliberately wrong equilibria (a moved
//! price, a moved allocation) are caught for bidding, shaping, the mechanism and
//! Stackelberg;
//! `dr verify --json` prints the summary fields and exits non-zero on a disagreement, and
//! is the `VerifyReport` itself (it reads back and writes the same JSON).

use demand_response::bidding::{competitive_equilibrium, nash_equilibrium, Market};
use demand_response::mechanism::{
    solve_planner, CentralizedMechanism, MechanismSettings, Model, PlannerSettings, User,
};
use demand_response::scenario::Scenario;
use demand_response::shaping::{
    competitive_equilibrium as shaping_competitive, strategic_equilibrium as shaping_strategic,
    Customers, Loads, ShapingModel, SupplyCost,
};
use demand_response::stackelberg::{
    best_response, solve_equilibrium, Company, ConsumerClasses, DemandOutput, EquilibriumSettings,
    Market as StackelbergMarket,
};
use demand_response::verify::{
    check_bidding, check_mechanism_ne, check_planner, check_shaping, check_stackelberg,
    verify_bidding, verify_scenario, Verdict, VerifyError, VerifyReport, VerifySettings,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The comparison of a check the LP back end ran.
fn cc(c: &demand_response::verify::CheckReport) -> &demand_response::lp::CrossCheck {
    c.cross_check.as_ref().expect("the LP back end ran")
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn quick_files() -> Vec<PathBuf> {
    let list = std::fs::read_to_string(corpus().join("quick.txt")).unwrap();
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| corpus().join(l))
        .collect()
}

#[test]
fn quick_corpus_agrees_with_the_lp_back_end() {
    let files = quick_files();
    assert!(files.len() >= 10);
    for f in files {
        let s = Scenario::read(&f).unwrap();
        let r = verify_scenario(&s, &VerifySettings::default()).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(r.agrees, "{name}: {:?}", r.failures());
        assert!(
            r.bound >= 0.0 && r.bound < 1e-6,
            "{name}: bound {}",
            r.bound
        );
        for c in &r.checks {
            assert_eq!(c.lp_status, "Solved", "{name}: {}", c.name);
            // The kernel objective lies in the proven interval (up to the slack).
            assert!(
                c.objective_gap >= -cc(c).objective_slack
                    && c.objective_gap <= c.bound + cc(c).objective_slack,
                "{name}: {}",
                c.name
            );
            assert!(cc(c).allocation_ratio <= 1.0);
        }
        // The summary is the worst of the checks.
        let worst = |f: fn(&demand_response::verify::CheckReport) -> f64| {
            r.checks.iter().map(f).fold(0.0, f64::max)
        };
        assert_eq!(r.max_allocation_gap, worst(|c| c.max_allocation_gap));
        assert_eq!(r.max_price_gap, worst(|c| c.max_price_gap));
        assert_eq!(
            r.max_marginal_price_gap,
            worst(|c| c.max_marginal_price_gap)
        );
        assert_eq!(r.bound, worst(|c| c.bound));
        assert_eq!(r.objective_gap, worst(|c| c.objective_gap.abs()));
        // Every equilibrium of the model was checked (or a note says why not).
        let expected = match r.model.as_str() {
            "bidding" | "mechanism" | "shaping" => 2,
            "stackelberg" => r.size,
            other => panic!("unexpected model {other}"),
        };
        assert_eq!(
            r.checks.len() + r.notes.len(),
            expected,
            "{name}: {:?}",
            r.notes
        );
        if r.model == "stackelberg" {
            assert_eq!(r.conditions.len(), 1);
            assert!(r.conditions[0].holds, "{name}: {:?}", r.conditions[0]);
        }
    }
}

/// Five customers, capacities 3, deficit 6: every customer is strictly inside its bounds in
/// both equilibria (checked), so each witnesses the price.
fn market() -> Market {
    Market::quadratic(
        vec![0.5, 1.0, 1.5, 0.8, 1.2],
        vec![1.0, 0.7, 0.5, 1.5, 0.9],
        6.0,
    )
    .unwrap()
    .with_uniform_capacity(3.0)
    .unwrap()
}

#[test]
fn a_moved_bidding_price_or_allocation_is_caught() {
    let m = market();
    let s = VerifySettings::default();
    for eq in [
        competitive_equilibrium(&m).unwrap(),
        nash_equilibrium(&m).unwrap(),
    ] {
        assert!(
            eq.loads.iter().all(|&q| q > 0.1 && q < 2.9),
            "{:?}",
            eq.loads
        );
        let right = check_bidding(&m, &eq, &s).unwrap();
        assert!(right.agrees, "{:?}", right.reason);
        assert!(cc(&right).rows_with_witness == 1);

        // The price moved by 1 %: beyond the proven price tolerance.
        let mut moved = eq.clone();
        moved.price *= 1.01;
        let c = check_bidding(&m, &moved, &s).unwrap();
        assert!(!c.agrees, "{:?} price {}", eq.kind, eq.price);
        assert!(cc(&c).price_ratio > 1.0);
        assert!((c.max_price_gap - 0.01 * eq.price).abs() < 1e-3 * eq.price);

        // 0.01 of load moved from customer 0 to customer 1: still feasible, not optimal.
        let mut moved = eq.clone();
        moved.loads[0] -= 0.01;
        moved.loads[1] += 0.01;
        let c = check_bidding(&m, &moved, &s).unwrap();
        assert!(!c.agrees, "{:?}", eq.kind);
        assert!(cc(&c).allocation_ratio > 1.0);
        assert!(cc(&c).kernel_infeasibility < 1e-12);
    }
}

fn community() -> Model {
    Model::builder(vec![0.1, 0.2, 0.15], 0.5)
        .user(User::log(&[1.0, 2.0, 1.5], 1.0))
        .user(User::quadratic(&[2.0, 1.5, 1.0], &[1.0, 1.0, 1.0]))
        .user(User::log(&[1.5, 0.5, 2.0], 2.0))
        .upper_bounds(0, &[3.0, 3.0, 3.0])
        .lower_bounds(0, &[0.0, 0.0, 0.0])
        .lower_bounds(2, &[0.0, 0.0, 0.0])
        .community_total(4.0)
        .build()
        .unwrap()
}

#[test]
fn a_moved_mechanism_price_or_allocation_is_caught() {
    let model = community();
    let s = VerifySettings::default();
    let sol = solve_planner(&model, &PlannerSettings::default()).unwrap();
    let right = check_planner(&model, &sol, &s).unwrap();
    assert!(right.agrees, "{:?}", right.reason);

    // Peak prices shifted between periods (Σ μ = p_0 still holds).
    let mut moved = sol.clone();
    let (hi, lo) = if moved.peak_multipliers[0] >= 0.05 {
        (1, 0)
    } else {
        (0, 1)
    };
    moved.peak_multipliers[hi] += 0.05;
    moved.peak_multipliers[lo] -= 0.05;
    let c = check_planner(&model, &moved, &s).unwrap();
    assert!(!c.agrees, "μ = {:?}", sol.peak_multipliers);

    // The community-cap price λ moved.
    let mut moved = sol.clone();
    let last = moved.constraint_multipliers.len() - 1;
    moved.constraint_multipliers[last] += 0.05;
    assert!(!check_planner(&model, &moved, &s).unwrap().agrees);

    // The NE of Theorem 2 agrees; one with a user's demand moved does not.
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
    let ne = mech.nash_equilibrium(&sol).unwrap();
    let (c, cond) = check_mechanism_ne(&model, &ne, &s).unwrap();
    assert!(c.agrees && cond.holds, "{:?} {cond:?}", c.reason);
    let mut moved = ne.clone();
    moved.y[1] -= 0.02;
    let (c, _) = check_mechanism_ne(&model, &moved, &s).unwrap();
    assert!(!c.agrees);
    // Users announcing different prices break the NE condition.
    let mut split = ne.clone();
    split.s[0] += 0.01;
    let (_, cond) = check_mechanism_ne(&model, &split, &s).unwrap();
    assert!(!cond.holds);
}

#[test]
fn wrong_stackelberg_prices_do_not_clear_the_market() {
    let market = StackelbergMarket::new(
        2,
        vec![Company::new(vec![10.0, 14.0]), Company::new(vec![8.0, 6.0])],
        ConsumerClasses::new(vec![5.0, 3.0], vec![3.0, 2.0], vec![0.0, 0.0]),
    )
    .unwrap();
    let settings = EquilibriumSettings {
        demands: DemandOutput::PerClass,
        ..EquilibriumSettings::default()
    };
    let eq = solve_equilibrium(&market, &settings).unwrap();
    let s = VerifySettings::default();
    let right = check_stackelberg(&market, &eq, &s).unwrap();
    assert!(right.agrees, "{:?}", right.failures());

    // Prices 1 % too high, with every class's exact best response at those prices: each
    // consumer check agrees, but the companies' supply is not sold.
    let mut moved = eq.clone();
    for row in &mut moved.prices {
        for p in row.iter_mut() {
            *p *= 1.01;
        }
    }
    let flat: Vec<f64> = moved.prices.concat();
    for n in 0..2 {
        let prefs = market.consumers().preferences(n).unwrap();
        let br = best_response(&flat, market.consumers().budget[n], prefs).unwrap();
        moved.demand[n] = br.demand.chunks(2).map(<[f64]>::to_vec).collect();
        moved.utility[n] = br.utility;
    }
    let r = check_stackelberg(&market, &moved, &s).unwrap();
    assert!(r.checks.iter().all(|c| c.agrees));
    assert!(!r.conditions[0].holds, "{:?}", r.conditions[0]);
    assert!(!r.agrees);

    // A class's demand moved along its budget line is caught by its consumer check.
    let mut moved = eq.clone();
    let p = &eq.prices;
    moved.demand[0][0][0] += 0.05 / p[0][0];
    moved.demand[0][1][1] -= 0.05 / p[1][1];
    let r = check_stackelberg(&market, &moved, &s).unwrap();
    assert!(!r.checks[0].agrees && r.checks[1].agrees);
}

#[test]
fn a_moved_shaping_price_or_load_is_caught() {
    let mut customers = Customers::new(3).unwrap();
    customers
        .push_quadratic(&[2.0, 3.0, 2.5], &[1.0, 1.0, 1.0], 1.0, 4.0)
        .unwrap();
    customers
        .push_log(&[1.0, 2.0, 1.0], &[1.0, 1.0, 1.0], 2.0, f64::INFINITY)
        .unwrap();
    let supply = SupplyCost::quadratic(vec![0.5, 1.0, 0.5], vec![0.1, 0.1, 0.1]).unwrap();
    let model = ShapingModel::new(customers, supply).unwrap();
    let s = VerifySettings::default();
    for eq in [
        shaping_competitive(&model).unwrap(),
        shaping_strategic(&model).unwrap(),
    ] {
        let right = check_shaping(&model, &eq, &s).unwrap();
        assert!(right.agrees, "{:?}", right.reason);
        let mut moved = eq.clone();
        moved.prices[1] *= 1.01;
        assert!(!check_shaping(&model, &moved, &s).unwrap().agrees);
        // A load moved between periods (daily energy and Q = Σ q kept).
        let mut moved = eq.clone();
        let q = moved.loads.customer(0).to_vec();
        let shifted: Vec<f64> = vec![q[0] + 0.02, q[1] - 0.02, q[2]];
        let mut rows = moved.loads.to_rows();
        rows[0] = shifted;
        moved.loads = Loads::from_rows(&rows).unwrap();
        moved.total_load = moved.loads.total();
        let c = check_shaping(&model, &moved, &s).unwrap();
        assert!(!c.agrees && cc(&c).allocation_ratio > 1.0);
    }
}

#[test]
fn bad_requests_are_errors_naming_the_field() {
    let s = Scenario::read(&corpus().join("b010_water_filling.toml")).unwrap();
    let small = VerifySettings {
        max_variables: 5,
        ..VerifySettings::default()
    };
    // Over the size limit: inconclusive, with the reason (not an error, not a
    // disagreement).
    let r = verify_scenario(&s, &small).unwrap();
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(!r.agrees && r.checks.is_empty());
    assert!(
        r.reason.contains("customers") && r.reason.contains("10 variables"),
        "{}",
        r.reason
    );
    let tiny = VerifySettings {
        max_variables: 4,
        ..VerifySettings::default()
    };
    let e = check_bidding(
        &market(),
        &competitive_equilibrium(&market()).unwrap(),
        &tiny,
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::TooLarge { .. }), "{e}");

    let m = market();
    let mut eq = competitive_equilibrium(&m).unwrap();
    eq.loads.pop();
    let e = check_bidding(&m, &eq, &VerifySettings::default()).unwrap_err();
    assert!(e.to_string().contains("equilibrium.loads"), "{e}");
    eq.loads.push(f64::NAN);
    let e = check_bidding(&m, &eq, &VerifySettings::default()).unwrap_err();
    assert!(e.to_string().contains("equilibrium.loads[4]"), "{e}");
}

fn dr(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(args)
        .output()
        .expect("the dr binary runs")
}

#[test]
fn dr_verify_json_prints_the_summary_and_fails_on_disagreement() {
    for name in [
        "b005_capacities.toml",
        "m002_library_example.toml",
        "s001_single.toml",
    ] {
        let file = corpus().join(name);
        let out = dr(&["verify", file.to_str().unwrap(), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        for k in [
            "max_allocation_gap",
            "max_price_gap",
            "objective_gap",
            "bound",
        ] {
            assert!(v[k].as_f64().is_some(), "{name}: {k} in {v}");
        }
        assert_eq!(v["agrees"], Value::Bool(true));
        assert_eq!(v["verdict"], "agrees");
        assert!(v["checks"].as_array().is_some_and(|c| !c.is_empty()));

        // A deliberately moved price: the report still comes, with exit status 3.
        let out = dr(&[
            "verify",
            file.to_str().unwrap(),
            "--json",
            "--set",
            "perturb_price=0.05",
        ]);
        assert_eq!(out.status.code(), Some(3), "{name}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["agrees"], Value::Bool(false));
        assert_eq!(v["verdict"], "disagrees");
        assert!(v["failures"].as_array().is_some_and(|f| !f.is_empty()));
        assert!(String::from_utf8_lossy(&out.stderr).contains("disagreement"));
    }
    // Text output and a parameter error.
    let file = corpus().join("b003_minimal_nash.toml");
    let out = dr(&["verify", file.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: AGREES"));
    let out = dr(&["verify", file.to_str().unwrap(), "--set", "typo=1"]);
    assert_eq!(out.status.code(), Some(2));
    // A size limit: inconclusive, exit 5, the reason in the text and the JSON.
    let out = dr(&["verify", file.to_str().unwrap(), "--set", "max_variables=2"]);
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verdict: INCONCLUSIVE"), "{text}");
    assert!(text.contains("max_variables"), "{text}");
    let out = dr(&[
        "verify",
        file.to_str().unwrap(),
        "--json",
        "--set",
        "max_variables=2",
    ]);
    assert_eq!(out.status.code(), Some(5));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "inconclusive");
    assert!(
        v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("3 variables")),
        "{v}"
    );
    // Never null for a number: the gaps that were not measured are omitted.
    assert!(v.get("max_allocation_gap").is_none(), "{v}");
    assert!(!out.stdout.windows(4).any(|w| w == b"null"));
}

/// The market of `the_units_do_not_matter` in quantities of `s` and costs of `c`.
fn scaled_market(s: f64, c: f64) -> Market {
    Market::quadratic(
        [1.0, 1.5, 2.0].iter().map(|v| c * v / s).collect(),
        [0.5, 1.0, 2.0].iter().map(|v| c * v / (s * s)).collect(),
        3.0 * s,
    )
    .unwrap()
}

/// The same bidding market in any units: never bad input, never a disagreement the LP
/// did not prove. The competitive optimum by hand: `a = (1, 1.5, 2)`, `h = (0.5, 1, 2)`,
/// `d = 3`, all interior: `p = 5.25/1.75 = 3`, `q = (2, 0.75, 0.25)`, `F* = 6.3125`
/// (scaled: `F* c`), inside the LP's interval.
#[test]
fn the_units_do_not_matter() {
    for s in [1e-12, 1e-6, 1.0, 1e6, 1e12] {
        for c in [1e-9, 1.0, 1e9] {
            let r = verify_bidding(&scaled_market(s, c), &VerifySettings::default())
                .unwrap_or_else(|e| panic!("s = {s}, c = {c}: {e}"));
            let ce = &r.checks[0];
            let cc = cc(ce);
            let f = 6.3125 * c;
            assert!(
                cc.lower <= f * (1.0 + 1e-12) && f <= cc.upper * (1.0 + 1e-12),
                "s = {s}, c = {c}: [{}, {}]",
                cc.lower,
                cc.upper
            );
            assert!(cc.bound <= 1e-8 * f, "s = {s}, c = {c}: {}", cc.bound);
            assert_eq!(
                ce.verdict,
                Verdict::Agrees,
                "s = {s}, c = {c}: {}",
                ce.reason
            );
            // The Nash check agrees unless the kernel's Nash loads miss the deficit (the
            // kernel's absolute tolerance at d = 3e-12, issue finding 1, fixed in the
            // kernel separately): then it is a proven disagreement, and the loads do miss
            // it, checked here independently of the LP.
            let ne = &r.checks[1];
            let loads = nash_equilibrium(&scaled_market(s, c)).unwrap().loads;
            let miss = (loads.iter().sum::<f64>() - 3.0 * s).abs() / (3.0 * s);
            match ne.verdict {
                Verdict::Agrees => assert!(miss <= 1e-8, "s = {s}, c = {c}: {miss}"),
                Verdict::Disagrees => {
                    assert!(miss > 1e-8, "s = {s}, c = {c}: {}", ne.reason);
                    assert!(ne.reason.contains("infeasible"), "{}", ne.reason);
                }
                Verdict::Inconclusive => panic!("s = {s}, c = {c}: {}", ne.reason),
            }
            if s >= 1e-6 {
                assert_eq!(r.verdict, Verdict::Agrees, "s = {s}, c = {c}: {}", r.reason);
            }
        }
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

/// `dr verify --json`'s object less what the command adds around the report.
fn report_part(v: &Value) -> Value {
    let mut v = v.clone();
    let map = v.as_object_mut().expect("an object");
    for added in ["file", "failures", "outcome", "problems"] {
        assert!(map.remove(added).is_some(), "{added} missing");
    }
    v
}

/// The JSON of `dr verify` is the facade's `VerifyReport` itself: the real output of one
/// scenario per model (the shaping and mechanism ones from the corpus: `data/shaping_day.toml`
/// and `data/mechanism_community.toml` take minutes in a debug build), and of a
/// disagreement and a size limit (whose gaps were not measured), reads back into a `VerifyReport`, which writes the same JSON; the `failures`
/// the command adds are the report's own, and the text prints the same verdict and reason.
#[test]
fn dr_verify_json_reads_back_into_the_report_and_writes_the_same_json() {
    let runs: [(PathBuf, &[&str], i32, Verdict); 6] = [
        (data("bidding_30.toml"), &[], 0, Verdict::Agrees),
        (
            corpus().join("h004_binding_energy.toml"),
            &[],
            0,
            Verdict::Agrees,
        ),
        (data("stackelberg_ecogrid.toml"), &[], 0, Verdict::Agrees),
        (
            corpus().join("m002_library_example.toml"),
            &[],
            0,
            Verdict::Agrees,
        ),
        (
            data("bidding_30.toml"),
            &["--set", "perturb_price=0.05"],
            3,
            Verdict::Disagrees,
        ),
        (
            corpus().join("m002_library_example.toml"),
            &["--set", "max_variables=3"],
            5,
            Verdict::Inconclusive,
        ),
    ];
    let mut models = Vec::new();
    for (file, extra, code, verdict) in runs {
        let path = file.to_str().unwrap();
        let mut args = vec!["verify", path, "--json"];
        args.extend_from_slice(extra);
        let out = dr(&args);
        let name = format!("{} {extra:?}", file.display());
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.windows(4).any(|w| w == b"null"), "{name}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let report: VerifyReport = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report.verdict, verdict, "{name}: {}", report.reason);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            report_part(&v),
            "{name}"
        );
        assert_eq!(v["file"], path);
        let failures: Vec<String> = serde_json::from_value(v["failures"].clone()).unwrap();
        assert_eq!(failures, report.failures(), "{name}");
        assert_eq!(failures.is_empty(), verdict != Verdict::Disagrees, "{name}");
        // The outcome agrees with the verdict (0 ok, 3 disagrees, 5 not confirmed).
        let outcome = match verdict {
            Verdict::Agrees => "ok",
            Verdict::Disagrees => "failed",
            Verdict::Inconclusive => "inconclusive",
        };
        assert_eq!(v["outcome"], outcome, "{name}");
        if verdict == Verdict::Inconclusive {
            // Not measured: absent from the JSON, NaN once read back, `-` in the text.
            assert!(v.get("max_allocation_gap").is_none(), "{name}");
            assert!(report.max_allocation_gap.is_nan() && report.checks.is_empty());
        }
        // The text is rendered from the same report.
        let mut args = vec!["verify", path];
        args.extend_from_slice(extra);
        let text = String::from_utf8(dr(&args).stdout).unwrap();
        let heading = match verdict {
            Verdict::Agrees => "verdict: AGREES",
            Verdict::Disagrees => "verdict: DISAGREES",
            Verdict::Inconclusive => "verdict: INCONCLUSIVE",
        };
        assert!(text.contains(heading), "{name}: {text}");
        for f in &failures {
            assert!(text.contains(f.as_str()), "{name}: {f} not in {text}");
        }
        for c in &report.checks {
            assert!(text.contains(&c.name), "{name}: {} not in {text}", c.name);
        }
        if verdict == Verdict::Inconclusive {
            assert!(text.contains("max |Δ allocation| -,"), "{name}: {text}");
            assert!(text.contains(&report.reason), "{name}: {text}");
        }
        models.push(report.model);
    }
    models.sort();
    models.dedup();
    assert_eq!(
        models,
        ["bidding", "mechanism", "shaping", "stackelberg"],
        "one data file per model"
    );
}
