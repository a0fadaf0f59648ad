//! Classes of identical customers stored once (issue 13, "per-class work"): a `[[customers]]`
//! class without jitter and roll is one row standing for `count` customers
//! (`Customers::set_count`). That is exact, not an approximation: the equilibria are unique
//! and symmetric, so identical customers draw identical loads (chen-li-low-doyle-2010
//! Theorems 6 and 7; derivations in the crate's `equilibrium`, `problem` and `vi_path`
//! docs). These tests compare the grouped model with the same customers listed one by one
//! (an independent computation over the expanded population) on every solve path: the
//! price Newton for the welfare optimum and for the Nash potential (quadratic supply), the
//! monotone VI (polynomial supply), the interior-point path, and the gradient scheme.

use dr_shaping::*;

const K: usize = 7;

/// Two classes (households of `K` identical customers, a jittered class of offices) and a
/// single electric vehicle; `expanded` lists the households one by one instead.
fn scenario(expanded: bool, supply: &str) -> ShapingScenario {
    let household = |count: usize| {
        format!(
            r#"
            [[customers]]
            name = "households"
            count = {count}
            utility = "quadratic"
            theta = [0.2, 0.25, 0.45, 0.3]
            kappa = [0.18, 0.2, 0.15, 0.18]
            min_energy = 1.0
            max_energy = 2.5
            "#
        )
    };
    let households = if expanded {
        (0..K).map(|_| household(1)).collect::<String>()
    } else {
        household(K)
    };
    let text = format!(
        r#"
        periods = 4
        seed = 11
        [supply]
        {supply}
        {households}
        [[customers]]
        name = "offices"
        count = 3
        utility = "quadratic"
        theta = [0.1, 0.4, 0.45, 0.1]
        kappa = 0.1
        min_energy = 1.5
        max_energy = 4.0
        jitter = 0.1
        [[customers]]
        name = "ev"
        utility = "log"
        weight = [0.4, 0.15, 0.2, 0.5]
        shift = 1.0
        min_energy = 1.8
        max_energy = 1.8
        "#
    );
    toml::from_str(&text).unwrap()
}

const QUADRATIC: &str = "curvature = [0.02, 0.03, 0.05, 0.02]\nlinear = 0.04";
const CUBIC: &str = "curvature = [0.02, 0.03, 0.05, 0.02]\nlinear = 0.04\ncubic = 0.001";

/// `max_t |a(t) − b(t)| / max_t max(|a(t)|, |b(t)|)`.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = a.iter().chain(b).fold(0.0f64, |m, x| m.max(x.abs()));
    let d = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    d / scale
}

/// The grouped equilibrium against the expanded one: prices, total loads, every customer's
/// loads and multipliers (row `0` of the grouped model is each of the expanded rows
/// `0..K`), welfare, and both certificates.
fn same(grouped: &Equilibrium, expanded: &Equilibrium, tol: f64) {
    assert_eq!(grouped.loads.len(), 1 + 3 + 1);
    assert_eq!(grouped.loads.population(), K + 3 + 1);
    assert_eq!(grouped.loads.counts(), Some(&[K, 1, 1, 1, 1][..]));
    assert_eq!(expanded.loads.len(), K + 3 + 1);
    assert!(grouped.certificate.holds(1e-8), "{:?}", grouped.certificate);
    assert!(
        expanded.certificate.holds(1e-8),
        "{:?}",
        expanded.certificate
    );
    assert!(rel(&grouped.prices, &expanded.prices) <= tol);
    assert!(rel(&grouped.total_load, &expanded.total_load) <= tol);
    let scale = expanded
        .loads
        .as_slice()
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    let mus = |e: &Equilibrium, i: usize| e.min_energy_multipliers[i] - e.max_energy_multipliers[i];
    let pscale = expanded.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()));
    for i in 0..expanded.loads.len() {
        let g = if i < K { 0 } else { i - K + 1 };
        for t in 0..4 {
            let d = (grouped.loads.get(g, t) - expanded.loads.get(i, t)).abs();
            assert!(d <= tol * scale, "customer {i} period {t}: {d:e}");
        }
        assert!((mus(grouped, g) - mus(expanded, i)).abs() <= 1e-6 * pscale);
    }
    let w = expanded.utility.abs() + expanded.supply_cost.abs();
    assert!((grouped.welfare - expanded.welfare).abs() <= tol * w);
}

#[test]
fn an_identical_class_is_one_row_standing_for_its_customers() {
    let grouped = scenario(false, QUADRATIC).to_model().unwrap();
    let expanded = scenario(true, QUADRATIC).to_model().unwrap();
    assert_eq!(grouped.len(), 5);
    assert_eq!(grouped.population(), K + 4);
    assert_eq!(grouped.customers().counts(), &[K, 1, 1, 1, 1]);
    assert_eq!(expanded.len(), K + 4);
    assert!(!expanded.customers().is_grouped());
    // The jittered class draws the same numbers in both files.
    for (g, e) in [(1, K), (2, K + 1), (3, K + 2)] {
        assert_eq!(
            format!("{:?}", grouped.customers().utility(g)),
            format!("{:?}", expanded.customers().utility(e))
        );
    }
}

#[test]
fn competitive_newton_grouped_equals_expanded() {
    let g = competitive_equilibrium(&scenario(false, QUADRATIC).to_model().unwrap()).unwrap();
    let e = competitive_equilibrium(&scenario(true, QUADRATIC).to_model().unwrap()).unwrap();
    same(&g, &e, 1e-9);
}

#[test]
fn strategic_newton_grouped_equals_expanded() {
    let model = scenario(false, QUADRATIC).to_model().unwrap();
    let g = strategic_equilibrium(&model).unwrap();
    let e = strategic_equilibrium(&scenario(true, QUADRATIC).to_model().unwrap()).unwrap();
    same(&g, &e, 1e-9);
    // Nobody gains by deviating, each customer of the grouped row included.
    assert!(nash_gain(&model, &g.loads).unwrap().max_relative_gain < 1e-9);
}

#[test]
fn strategic_vi_grouped_equals_expanded() {
    let model = scenario(false, CUBIC).to_model().unwrap();
    let expanded = scenario(true, CUBIC).to_model().unwrap();
    // The default path (own-impact fixed point around the price Newton) ...
    let g = strategic_equilibrium(&model).unwrap();
    let e = strategic_equilibrium(&expanded).unwrap();
    assert_eq!(g.method, Method::Newton);
    same(&g, &e, 1e-7);
    assert!(nash_gain(&model, &g.loads).unwrap().max_relative_gain < 1e-8);
    // ... and the monotone VI on condition (44) directly (its scaled grouped variables).
    let settings = dr_convex::ViSettings {
        tolerance: 1e-10,
        ..Default::default()
    };
    let gv = strategic_equilibrium_vi(&model, &settings).unwrap();
    let ev = strategic_equilibrium_vi(&expanded, &settings).unwrap();
    assert_eq!(gv.method, Method::Vi);
    same(&gv, &ev, 1e-7);
    // The two paths agree.
    assert!(rel(&g.prices, &gv.prices) <= 1e-7);
    assert!(rel(&g.total_load, &gv.total_load) <= 1e-7);
    assert!(rel(g.loads.as_slice(), gv.loads.as_slice()) <= 1e-7);
    assert!(nash_gain(&model, &gv.loads).unwrap().max_relative_gain < 1e-8);
}

#[test]
fn interior_point_path_grouped_equals_expanded() {
    let settings = IpmSettings::default();
    for behaviour in [Behaviour::Competitive, Behaviour::Strategic] {
        let grouped = scenario(false, QUADRATIC).to_model().unwrap();
        let expanded = scenario(true, QUADRATIC).to_model().unwrap();
        let (g, e) = match behaviour {
            Behaviour::Competitive => (
                competitive_equilibrium_ipm(&grouped, &settings).unwrap(),
                competitive_equilibrium_ipm(&expanded, &settings).unwrap(),
            ),
            Behaviour::Strategic => (
                strategic_equilibrium_ipm(&grouped, &settings).unwrap(),
                strategic_equilibrium_ipm(&expanded, &settings).unwrap(),
            ),
        };
        same(&g, &e, 1e-6);
        // The kernel problem of a grouped result is consistent with its own answer.
        let newton = match behaviour {
            Behaviour::Competitive => competitive_equilibrium(&grouped).unwrap(),
            Behaviour::Strategic => strategic_equilibrium(&grouped).unwrap(),
        };
        assert!(rel(&newton.prices, &g.prices) <= 1e-6);
        newton.cross_check_problem(&grouped).unwrap();
    }
}

#[test]
fn the_solve_report_counts_every_customer() {
    let file = scenario(false, QUADRATIC);
    let model = file.to_model().unwrap();
    let r = solve_report(&model, &file.classes(), "grouped", &SolveOptions::default()).unwrap();
    let efile = scenario(true, QUADRATIC);
    let emodel = efile.to_model().unwrap();
    let e = solve_report(
        &emodel,
        &efile.classes(),
        "expanded",
        &SolveOptions::default(),
    )
    .unwrap();
    assert!(r.claims.iter().all(|c| c.holds), "{:?}", r.claims);
    assert_eq!((r.customers, r.rows), (K + 4, 5));
    assert_eq!((e.customers, e.rows), (K + 4, K + 4));
    assert_eq!(r.cross_check.verdict, Some(PathVerdict::Agrees));
    assert_eq!(r.strategic.cross_check.verdict, Some(PathVerdict::Agrees));
    // The expanded file lists the households as K classes of one: their mean is the
    // grouped class's.
    let mean =
        |f: &dyn Fn(&ClassReport) -> f64| e.classes[..K].iter().map(f).sum::<f64>() / K as f64;
    let households = ClassReport {
        name: "households".into(),
        utility: "quadratic".into(),
        count: K,
        first_customer: 0,
        first_row: 0,
        rows: K,
        energy_unshaped: mean(&|c| c.energy_unshaped),
        energy_competitive: mean(&|c| c.energy_competitive),
        bill_competitive: mean(&|c| c.bill_competitive),
        energy_strategic: mean(&|c| c.energy_strategic),
        bill_strategic: mean(&|c| c.bill_strategic),
    };
    let expanded_classes: Vec<&ClassReport> = std::iter::once(&households)
        .chain(&e.classes[K..])
        .collect();
    assert_eq!(r.classes.len(), expanded_classes.len());
    for (a, b) in r.classes.iter().zip(expanded_classes) {
        assert_eq!((a.count, a.first_customer), (b.count, b.first_customer));
        for (x, y) in [
            (a.energy_unshaped, b.energy_unshaped),
            (a.energy_competitive, b.energy_competitive),
            (a.bill_competitive, b.bill_competitive),
            (a.energy_strategic, b.energy_strategic),
            (a.bill_strategic, b.bill_strategic),
        ] {
            assert!((x - y).abs() <= 1e-9 * y.abs(), "{}: {x} vs {y}", a.name);
        }
    }
    assert_eq!((r.classes[0].first_row, r.classes[0].rows), (0, 1));
    assert_eq!((r.classes[1].first_row, r.classes[1].rows), (1, 3));
    assert!(
        (r.competitive.unshaped.welfare - e.competitive.unshaped.welfare).abs()
            <= 1e-9 * e.competitive.unshaped.welfare.abs()
    );
    assert!(
        rel(
            &r.competitive.unshaped.total_load,
            &e.competitive.unshaped.total_load
        ) <= 1e-9
    );
    // The grouped loads write the class's schedule once with its count, and read back.
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"customers_per_row\":[7,1,1,1,1]"));
    let back: SolveReport = serde_json::from_str(&json).unwrap();
    for (b, a) in [
        (&back.competitive, &r.competitive),
        (&back.strategic.equilibrium, &r.strategic.equilibrium),
    ] {
        assert_eq!(b.loads.counts(), Some(&[K, 1, 1, 1, 1][..]));
        assert_eq!(b.loads.population(), K + 4);
        // serde_json's default float parsing may differ in the last digit.
        assert!(rel(b.loads.as_slice(), a.loads.as_slice()) <= 1e-15);
        assert_eq!(b.energy.len(), 5);
    }
}

#[test]
fn the_gradient_scheme_on_grouped_rows_reaches_the_same_prices() {
    let settings = SimulationSettings {
        max_rounds: 200_000,
        tolerance: 1e-10,
        ..SimulationSettings::default()
    };
    let g = simulate(&scenario(false, QUADRATIC).to_model().unwrap(), &settings).unwrap();
    let e = simulate(&scenario(true, QUADRATIC).to_model().unwrap(), &settings).unwrap();
    assert_eq!(g.termination, Termination::Converged);
    assert_eq!(e.termination, Termination::Converged);
    assert_eq!(g.critical_step, e.critical_step);
    assert!(rel(&g.prices, &e.prices) <= 1e-8);
    assert_eq!(g.messages / g.rounds, e.messages / e.rounds);
}

#[test]
fn grouped_loads_read_back_and_bad_ones_say_why() {
    let l: Loads =
        serde_json::from_str(r#"{"customers_per_row": [3, 1], "rows": [[1.0, 2.0], [0.5, 0.0]]}"#)
            .unwrap();
    assert_eq!((l.len(), l.population(), l.count(0)), (2, 4, 3));
    assert_eq!(l.total(), vec![3.5, 6.0]);
    let plain: Loads = serde_json::from_str("[[1.0, 2.0], [0.5, 0.0]]").unwrap();
    assert_eq!(
        (plain.len(), plain.population(), plain.counts()),
        (2, 2, None)
    );
    let e = serde_json::from_str::<Loads>(r#"{"customers_per_row": [3], "rows": [[1.0], [2.0]]}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("customers_per_row"), "{e}");
    let e = serde_json::from_str::<Loads>(r#"{"customers_per_row": [0], "rows": [[1.0]]}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("customers_per_row[0]"), "{e}");
    let e = serde_json::from_str::<Loads>("7").unwrap_err().to_string();
    assert!(
        e.contains("customers_per_row") && !e.contains("untagged"),
        "{e}"
    );
}

/// `record_loads = k` counts customers, not rows: the grouped trace holds the rows whose
/// first customer is among the first `k` (the households' row stands for `K` customers),
/// the listed one `min(k, N)` rows, and every listed customer's recorded schedule is the
/// one of the grouped row it belongs to (the same iterates, summed in another order).
#[test]
fn record_loads_counts_customers_not_rows() {
    let grouped = scenario(false, QUADRATIC).to_model().unwrap();
    let listed = scenario(true, QUADRATIC).to_model().unwrap();
    let counts = grouped.customers().counts().to_vec();
    let population: usize = counts.iter().sum();
    assert_eq!(population, listed.len());
    // The grouped row of each listed customer.
    let row_of: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(r, &c)| std::iter::repeat_n(r, c))
        .collect();
    for k in [
        0,
        1,
        K - 1,
        K,
        K + 1,
        population - 1,
        population,
        population + 5,
    ] {
        let settings = SimulationSettings {
            max_rounds: 4,
            record_loads: k,
            ..SimulationSettings::default()
        };
        let g = simulate(&grouped, &settings).unwrap();
        let e = simulate(&listed, &settings).unwrap();
        // Rows whose first customer index is below k.
        let mut first = 0;
        let expected_rows = counts
            .iter()
            .take_while(|&&c| {
                let take = first < k;
                first += c;
                take
            })
            .count();
        for (rg, re) in g.trace.iter().zip(&e.trace) {
            let (lg, le) = (rg.loads.as_ref(), re.loads.as_ref());
            if k == 0 {
                assert!(lg.is_none() && le.is_none());
                continue;
            }
            let (lg, le) = (lg.unwrap(), le.unwrap());
            assert_eq!(lg.len(), expected_rows, "k = {k}");
            assert_eq!(le.len(), k.min(population), "k = {k}");
            for (j, schedule) in le.iter().enumerate() {
                let r = row_of[j];
                assert!(r < lg.len(), "customer {j} of the first {k} not recorded");
                assert!(rel(schedule, &lg[r]) <= 1e-12, "k = {k}, customer {j}");
            }
        }
        assert_eq!(g.trace.len(), e.trace.len());
    }
}
