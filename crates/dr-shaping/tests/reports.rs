//! The typed reports of `dr solve` / `dr simulate` (issue 13): thread-count independence of
//! the whole report (the same bits with 1 and 4 rayon threads), and its consistency with the
//! loads it carries (energies, bills, class means and the unshaped reference recomputed
//! here, customer by customer).

use dr_shaping::*;

/// Two jittered classes (quadratic and power, with energy bounds) of `n` customers in all,
/// large enough for every parallel pass (chunks of 4096, thresholds 8192) to split.
fn population(n: usize, periods: usize) -> ShapingScenario {
    let text = format!(
        "periods = {periods}\nseed = 11\n[supply]\ncurvature = {c}\nlinear = 0.05\n\
         [[customers]]\nname = \"homes\"\ncount = {a}\nutility = \"quadratic\"\n\
         theta = 0.4\nkappa = 0.2\nmin_energy = 1.0\nmax_energy = 3.0\njitter = 0.3\n\
         [[customers]]\nname = \"heaters\"\ncount = {b}\nutility = \"power\"\nweight = 0.5\n\
         shift = 1.0\nalpha = 0.5\nmin_energy = 0.5\njitter = 0.2\n",
        c = 0.01 / n as f64,
        a = n / 2,
        b = n - n / 2,
    );
    toml::from_str(&text).unwrap()
}

#[test]
fn the_solve_report_does_not_depend_on_the_thread_count() {
    let file = population(20_000, 4);
    let model = file.to_model().unwrap();
    let options = SolveOptions {
        cross_check: Some(false),
        ..SolveOptions::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| solve_report(&model, &file.classes(), "pop", &options).unwrap())
    };
    let one = run(1);
    let four = run(4);
    // Bit-for-bit: serialise both and compare the text (f64 PartialEq would also accept
    // 0.0 == -0.0).
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&four).unwrap()
    );
    assert!(one.claims.iter().all(|c| c.holds), "{:?}", one.claims);
}

#[test]
fn the_report_is_consistent_with_its_loads() {
    let file = population(600, 3);
    let model = file.to_model().unwrap();
    let r = solve_report(&model, &file.classes(), "pop", &SolveOptions::default()).unwrap();
    for eq in [&r.competitive, &r.strategic.equilibrium] {
        let n = eq.loads.len();
        assert_eq!(n, 600);
        let mut total = [0.0; 3];
        for i in 0..n {
            let q = eq.loads.customer(i);
            let e: f64 = q.iter().sum();
            let b: f64 = q.iter().zip(&eq.prices).map(|(x, p)| x * p).sum();
            assert!((e - eq.energy[i]).abs() <= 1e-12 * e.abs());
            assert!((b - eq.bills[i]).abs() <= 1e-12 * b.abs());
            for (t, x) in q.iter().enumerate() {
                total[t] += x;
            }
        }
        for (x, y) in total.iter().zip(&eq.total_load) {
            assert!((x - y).abs() <= 1e-9 * x);
        }
        let peak = total.iter().copied().fold(0.0, f64::max);
        assert!((eq.peak_load - peak).abs() <= 1e-9 * peak);
        assert!((eq.peak_to_average * eq.load_factor - 1.0).abs() <= 1e-12);
    }
    // Class means, recomputed from the loads.
    for c in &r.classes {
        let range = c.first_customer..c.first_customer + c.count;
        let mean = |v: &[f64]| v[range.clone()].iter().sum::<f64>() / c.count as f64;
        assert!((mean(&r.competitive.energy) - c.energy_competitive).abs() <= 1e-12);
        assert!((mean(&r.strategic.equilibrium.bills) - c.bill_strategic).abs() <= 1e-12);
    }
    // The unshaped reference: each customer's own optimum at the flat price, here from
    // `unshaped_loads` (the library's per-customer responses), summed by hand.
    let flat = r.competitive.prices.iter().sum::<f64>() / 3.0;
    assert!((flat - r.competitive.unshaped.flat_price).abs() <= 1e-15 * flat);
    let loads = unshaped_loads(&model, flat).unwrap();
    let mut total = vec![0.0; 3];
    for i in 0..loads.len() {
        for (t, x) in loads.customer(i).iter().enumerate() {
            total[t] += x;
        }
    }
    for (x, y) in total.iter().zip(&r.competitive.unshaped.total_load) {
        assert!((x - y).abs() <= 1e-12 * x);
    }
    let w = welfare_of(&model, &loads, &total);
    assert!((w - r.competitive.unshaped.welfare).abs() <= 1e-12 * w.abs());
    // The claims hold, and the IPM agrees (N·T = 1800 ≤ 50 000).
    assert!(r.claims.iter().all(|c| c.holds), "{:?}", r.claims);
    assert_eq!(r.cross_check.verdict, Some(PathVerdict::Agrees));
    assert_eq!(r.strategic.cross_check.verdict, Some(PathVerdict::Agrees));
}

#[test]
fn a_simulation_report_loads_back_from_its_json() {
    let file = population(40, 3);
    let model = file.to_model().unwrap();
    let settings = SimulationSettings {
        scheme: Scheme::Newton,
        ..SimulationSettings::default()
    };
    let exact = competitive_equilibrium(&model).unwrap();
    let run = simulate(&model, &settings).unwrap();
    let report = SimulationReport {
        model: "shaping".into(),
        file: "pop".into(),
        simulated: "test".into(),
        run: run_report(run, &exact, &settings),
        strategic: None,
    };
    // The run reached the exact prices, and its trace's price errors are those of its rounds.
    assert!(report.run.converged);
    assert_eq!(report.run.price_errors.len(), report.run.rounds.len());
    for (r, e) in report.run.rounds.iter().zip(&report.run.price_errors) {
        let d = r
            .prices
            .iter()
            .zip(&exact.prices)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert_eq!(d, *e);
    }
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("null"), "{json}");
    let back: SimulationReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.run.termination, report.run.termination);
    assert_eq!(back.run.rounds.len(), report.run.rounds.len());
    assert_eq!(back.run.rounds_run, report.run.rounds_run);
    assert!(back.strategic.is_none());
}

/// A non-quadratic supply cost's strategic equilibrium (the own-impact fixed point; the
/// monotone VI below) is parallel over the customers too, and gives the same bits with 1
/// and 4 threads.
#[test]
fn the_non_potential_nash_does_not_depend_on_the_thread_count() {
    let mut file = population(10_000, 2);
    file.supply.cubic = Some(PerPeriod::Constant(1e-9));
    let model = file.to_model().unwrap();
    assert_eq!(model.supply().form(), SupplyForm::Polynomial);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| strategic_equilibrium(&model).unwrap())
    };
    let one = run(1);
    let four = run(4);
    assert_eq!(one.method, Method::Newton);
    assert!(one.certificate.holds(1e-8), "{:?}", one.certificate);
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&four).unwrap()
    );
}

/// The water-fillings of the price Newton and of the Nash gains start from each customer's
/// multiplier at nearby prices (warm starts). They must reach the answers of a cold start:
/// every customer's equilibrium loads are its own exact response to the equilibrium prices
/// computed from scratch (`customer_response`), and the report's Nash-gain summaries (warm)
/// are the public `nash_gain`'s (cold).
#[test]
fn warm_started_water_fillings_reach_the_cold_answers() {
    let file = population(10_000, 6);
    let model = file.to_model().unwrap();
    let report = solve_report(
        &model,
        &file.classes(),
        "warm",
        &SolveOptions {
            cross_check: Some(false),
            ..SolveOptions::default()
        },
    )
    .unwrap();
    let ce = competitive_equilibrium(&model).unwrap();
    let scale = ce
        .loads
        .as_slice()
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    for i in 0..model.len() {
        let (q, mu) = customer_response(&model, i, &ce.prices).unwrap();
        for (a, b) in q.iter().zip(ce.loads.customer(i)) {
            assert!((a - b).abs() <= 1e-12 * scale, "customer {i}: {a} vs {b}");
        }
        let reported = ce.min_energy_multipliers[i] - ce.max_energy_multipliers[i];
        let pscale = ce.prices.iter().fold(0.0f64, |m, p| m.max(p.abs()));
        assert!(
            (mu - reported).abs() <= 1e-9 * pscale,
            "customer {i}: μ {mu} vs {reported}"
        );
    }
    let cold_ne = nash_gain(&model, &report.strategic.equilibrium.loads).unwrap();
    let cold_ce = nash_gain(&model, &report.competitive.loads).unwrap();
    let warm_ne = report.strategic.nash_gain;
    let warm_ce = report.nash_gain_at_competitive;
    assert!(cold_ne.max_relative_gain <= 1e-8 && warm_ne.max_relative_gain <= 1e-8);
    assert!(
        (cold_ce.max_gain - warm_ce.max_gain).abs() <= 1e-9 * cold_ce.max_gain,
        "{} vs {}",
        cold_ce.max_gain,
        warm_ce.max_gain
    );
    assert_eq!(cold_ce.worst_customer, warm_ce.worst_customer);
}

/// `solve_report` starts the strategic Newton from the competitive prices and multipliers
/// (a warm start, not a result) and computes the unshaped flat-price pass once: the
/// strategic equilibrium it reports is the cold-started `strategic_equilibrium`'s (prices,
/// every customer's loads, welfare) to the solvers' tolerance, both certificates Solved,
/// and the competitive one is `competitive_equilibrium`'s, with the same unshaped reference.
#[test]
fn the_warm_started_report_reaches_the_cold_equilibria() {
    let file = population(20_000, 4);
    let model = file.to_model().unwrap();
    let options = SolveOptions {
        cross_check: Some(false),
        ..SolveOptions::default()
    };
    let r = solve_report(&model, &file.classes(), "pop", &options).unwrap();
    let cold_ne = strategic_equilibrium(&model).unwrap();
    let cold_ce = competitive_equilibrium(&model).unwrap();
    let rel = |a: &[f64], b: &[f64]| {
        let scale = a.iter().chain(b).fold(0.0f64, |m, x| m.max(x.abs()));
        a.iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / scale
    };
    let ne = &r.strategic.equilibrium;
    assert_eq!(ne.certificate.status, Status::Solved);
    assert_eq!(cold_ne.certificate.status, Status::Solved);
    assert!(rel(&ne.prices, &cold_ne.prices) <= 1e-9);
    assert!(rel(ne.loads.as_slice(), cold_ne.loads.as_slice()) <= 1e-7);
    assert!((ne.welfare - cold_ne.welfare).abs() <= 1e-9 * cold_ne.utility.abs());
    assert!(
        rel(
            &r.strategic.equilibrium.unshaped.total_load,
            &cold_ne.unshaped.total_load
        ) <= 1e-9
    );
    let ce = &r.competitive;
    assert_eq!(ce.prices, cold_ce.prices);
    assert_eq!(ce.loads.as_slice(), cold_ce.loads.as_slice());
    assert_eq!(ce.utility, cold_ce.utility);
    assert!(
        rel(
            &r.competitive.unshaped.total_load,
            &cold_ce.unshaped.total_load
        ) <= 1e-12
    );
    assert_eq!(
        r.competitive.unshaped.flat_price,
        cold_ce.unshaped.flat_price
    );
}

/// One struct for the library and the report: an `Equilibrium` writes its certificate in
/// the report's form (with `max_residual`; a non-finite residual as a string) and its
/// unshaped reference, and loads back from that JSON with the same certificate.
#[test]
fn an_equilibrium_loads_back_from_its_report_json() {
    let model = population(40, 3).to_model().unwrap();
    let mut eq = competitive_equilibrium(&model).unwrap();
    eq.certificate.stationarity = f64::INFINITY;
    let v: serde_json::Value = serde_json::to_value(&eq).unwrap();
    assert_eq!(v["certificate"]["stationarity"], "inf (not finite)");
    assert_eq!(v["certificate"]["max_residual"], "inf (not finite)");
    assert!(v["unshaped"]["welfare"].is_number());
    assert_eq!(v["energy"].as_array().unwrap().len(), 40);
    let back: Equilibrium = serde_json::from_value(v).unwrap();
    assert!(back.certificate.stationarity.is_infinite());
    assert_eq!(back.certificate.status, eq.certificate.status);
    assert_eq!(back.certificate.iterations, eq.certificate.iterations);
    assert_eq!(back.peak_period, eq.peak_period);
    assert_eq!(back.loads.len(), 40);
    // Energies and bills are the loads' own sums.
    for i in 0..40 {
        let q = back.loads.customer(i);
        let e: f64 = q.iter().sum();
        assert!((e - back.energy[i]).abs() <= 1e-12 * e.abs());
    }
}

#[test]
fn a_report_without_its_loads_has_every_other_field_and_reads_back() {
    let file = population(600, 3);
    let model = file.to_model().unwrap();
    let kept = solve_report(&model, &file.classes(), "pop", &SolveOptions::default()).unwrap();
    let options = SolveOptions {
        keep_loads: false,
        ..SolveOptions::default()
    };
    let dropped = solve_report(&model, &file.classes(), "pop", &options).unwrap();
    assert_eq!(kept.competitive.loads.len(), 600);
    assert!(dropped.competitive.loads.is_empty());
    assert!(dropped.strategic.equilibrium.loads.is_empty());
    // Every other field, bit for bit: the kept report's JSON with its loads taken out.
    // (The competitive equilibrium is flattened into the top level.)
    // Both sides go through the same text and parser.
    let mut expected: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&kept).unwrap()).unwrap();
    expected.as_object_mut().unwrap().remove("loads").unwrap();
    expected["strategic"]
        .as_object_mut()
        .unwrap()
        .remove("loads")
        .unwrap();
    let json = serde_json::to_string(&dropped).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        expected
    );
    // It reads back, with no loads.
    let back: SolveReport = serde_json::from_str(&json).unwrap();
    assert!(back.competitive.loads.is_empty());
    assert_eq!(back.competitive.energy, dropped.competitive.energy);
}
