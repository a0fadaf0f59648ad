//! The typed solve report (issue 13) and the parallel population drawing: results that do
//! not depend on the number of threads, the report read back from its JSON, the CSV rows
//! against the JSON columns, Theorem 1 and the Nash first-order conditions (Theorem 3) on a
//! drawn population of several draw chunks, and the memory estimate against the columns.

use dr_bidding::{
    customers_csv_header, solve_report, write_customers_csv, BiddingScenario, Costs, Market,
    NashReport, ReportOptions, SolveReport, DRAW_CHUNK, LIST_LIMIT, REVENUE_LIMIT,
    SOLVE_BYTES_PER_CUSTOMER,
};

/// More than two draw chunks (a partial third one), above the parallel thresholds.
const N: usize = 2 * DRAW_CHUNK + 12_345;

fn coefficients(m: &Market) -> (&[f64], &[f64]) {
    match m.costs() {
        Costs::Quadratic { linear, quadratic } => (linear, quadratic),
        Costs::General(_) => panic!("a drawn market is quadratic"),
    }
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn drawn(n: usize, d: f64) -> Market {
    Market::drawn(n, [1.0, 2.0], [0.5, 4.5], 7, d).unwrap()
}

fn csv_of(m: &Market, r: &SolveReport) -> String {
    let mut bytes = Vec::new();
    write_customers_csv(m, r, &mut bytes).unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn draws_reports_and_tables_are_identical_for_one_and_four_threads() {
    let run = |threads: usize| {
        in_pool(threads, || {
            let m = drawn(N, 0.1 * N as f64);
            let r = solve_report(&m, &ReportOptions::default()).unwrap();
            let json = serde_json::to_string(&r).unwrap();
            let csv = csv_of(&m, &r);
            let (a, h) = coefficients(&m);
            (a.to_vec(), h.to_vec(), json, csv)
        })
    };
    let (a1, h1, json1, csv1) = run(1);
    let (a4, h4, json4, csv4) = run(4);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a1), bits(&a4));
    assert_eq!(bits(&h1), bits(&h4));
    assert!(
        json1 == json4,
        "the solve JSON differs between 1 and 4 threads"
    );
    assert!(csv1 == csv4, "the CSV differs between 1 and 4 threads");
}

#[test]
fn draws_are_prefix_stable_across_chunks_and_inside_the_ranges() {
    let big = drawn(N, 1.0);
    let small = drawn(DRAW_CHUNK + 10, 1.0);
    let (ab, hb) = coefficients(&big);
    let (as_, hs) = coefficients(&small);
    assert_eq!(&ab[..as_.len()], as_);
    assert_eq!(&hb[..hs.len()], hs);
    assert!(ab.iter().all(|&a| (1.0..2.0).contains(&a)));
    assert!(hb.iter().all(|&h| (0.5..4.5).contains(&h)));
    // Chunks come from different streams: the second chunk does not repeat the first.
    assert_ne!(&ab[..16], &ab[DRAW_CHUNK..DRAW_CHUNK + 16]);
    // Uniform draws: the mean of a_i ~ U[1, 2] over 1.4e5 customers is 1.5 within a few
    // standard errors (σ/√n = 0.29/374 ≈ 7.7e-4).
    let mean = ab.iter().sum::<f64>() / ab.len() as f64;
    assert!((mean - 1.5).abs() < 5e-3, "{mean}");
}

#[test]
fn the_report_reads_back_from_its_json_and_equals_itself() {
    // A listed market with capacities (listing, net revenues, at-capacity counts) and a
    // large drawn one (summaries only, revenues dropped above REVENUE_LIMIT).
    let small = Market::quadratic(
        vec![1.0, 1.2, 1.5, 2.0, 3.0],
        vec![0.5, 1.0, 2.0, 4.0, 1.0],
        10.0,
    )
    .unwrap()
    .with_capacity(vec![2.0, 10.0, 10.0, 10.0, 10.0])
    .unwrap();
    let large = drawn(REVENUE_LIMIT + 1, 0.1 * (REVENUE_LIMIT + 1) as f64);
    for (m, listed) in [(&small, true), (&large, false)] {
        let r = solve_report(m, &ReportOptions::default()).unwrap();
        assert_eq!(r.listing.is_some(), listed && m.len() <= LIST_LIMIT);
        assert_eq!(
            r.competitive.net_revenues.is_some(),
            m.len() <= REVENUE_LIMIT
        );
        let json = serde_json::to_string_pretty(&r).unwrap();
        let back: SolveReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
    // Without a Nash equilibrium (Corollary 2) the report says why, and reads back too.
    let two = Market::quadratic(vec![1.0, 0.0], vec![1.0, 1.0], 4.0).unwrap();
    let r = solve_report(&two, &ReportOptions::default()).unwrap();
    let NashReport::None(why) = &r.nash else {
        panic!("two customers have no Nash equilibrium");
    };
    assert_eq!(why.kind, "no_nash_equilibrium");
    assert!(r.efficiency.evaluated().is_none());
    let back: SolveReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn csv_rows_equal_the_json_columns() {
    let m = drawn(5_000, 500.0).with_uniform_capacity(0.2).unwrap();
    let r = solve_report(&m, &ReportOptions::default()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    let col = |eq: &str, key: &str| -> Vec<f64> {
        v[eq][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let header = customers_csv_header(&m, &r);
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
    let csv = csv_of(&m, &r);
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), m.len());
    let columns = [
        col("competitive", "loads"),
        col("competitive", "bids"),
        col("nash", "loads"),
        col("nash", "bids"),
    ];
    let (a, h) = coefficients(&m);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[0], i as f64);
        assert_eq!((row[1], row[2], row[3]), (a[i], h[i], 0.2));
        for (k, c) in columns.iter().enumerate() {
            assert_eq!(row[4 + k].to_bits(), c[i].to_bits(), "row {i}, column {k}");
        }
    }
    // Some customers shed their full capacity, so the capacity column matters.
    assert!(r.competitive.at_capacity > 0);
}

#[test]
fn theorem1_and_the_nash_conditions_hold_on_a_drawn_population() {
    let d = 0.1 * N as f64;
    let m = drawn(N, d);
    let r = solve_report(&m, &ReportOptions::default()).unwrap();
    let (a, h) = coefficients(&m);
    // Theorem 1: Σ q̄ = d, and water-filling q̄_i = max(0, (p̄ − a_i)/(2 h_i)) (KKT of
    // min Σ a q + h q² s.t. Σ q = d, q ≥ 0, derived by hand).
    let ce = &r.competitive;
    let p = ce.price;
    let total: f64 = ce.loads.iter().sum();
    assert!((total - d).abs() <= 1e-9 * d, "Σ q̄ = {total}, d = {d}");
    for i in 0..N {
        let expected = ((p - a[i]) / (2.0 * h[i])).max(0.0);
        assert!(
            (ce.loads[i] - expected).abs() <= 1e-9 * (d / N as f64),
            "customer {i}: q̄ = {}, (p̄ − a)/(2h) = {expected}",
            ce.loads[i]
        );
        assert!((ce.bids[i] - ce.loads[i] / p).abs() <= 1e-12 * ce.bids[i].max(1.0 / p));
    }
    // Theorem 3 (eq. 18): at the Nash equilibrium p* = (1 + q/(d − 2q)) C_i'(q) for an
    // active customer, C_i'(0) ≥ p* for an inactive one; Σ q* = d.
    let ne = r.nash.equilibrium().expect("a Nash equilibrium");
    let ps = ne.price;
    let total: f64 = ne.loads.iter().sum();
    assert!((total - d).abs() <= 1e-9 * d);
    let mut active = 0;
    for i in 0..N {
        let q = ne.loads[i];
        if q > 0.0 {
            active += 1;
            let marginal = (1.0 + q / (d - 2.0 * q)) * (a[i] + 2.0 * h[i] * q);
            assert!(
                (marginal - ps).abs() <= 1e-9 * ps,
                "customer {i}: D'(q*) = {marginal}, p* = {ps}"
            );
        } else {
            assert!(a[i] >= ps * (1.0 - 1e-12), "customer {i}");
        }
    }
    assert_eq!(active, ne.active);
    assert!(ps > p, "Theorem 5: p* > p̄");
    // The report's claims: both water-filling prefixes, no unilateral gain, Theorem 5.1–5.3,
    // each borne out here (the checks above are the independent evidence).
    assert_eq!(r.claims.len(), 6, "{:?}", r.claims);
    assert!(r.claims.iter().all(|c| c.holds), "{:?}", r.claims);
    // The cheapest customers are the lowest a_i, in order.
    let mut order: Vec<usize> = (0..N).collect();
    order.sort_by(|&i, &j| a[i].total_cmp(&a[j]).then(i.cmp(&j)));
    let cheapest: Vec<usize> = r.population.cheapest.iter().map(|c| c.index).collect();
    assert_eq!(cheapest, order[..cheapest.len()]);
    // Column summaries against a direct computation.
    let max = ce.loads.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(r.population.competitive_loads.max, max);
    assert!((r.population.competitive_loads.mean - d / N as f64).abs() <= 1e-12 * d);
}

#[test]
fn solve_memory_estimate_bounds_the_columns() {
    // The columns `dr solve` holds at its peak (while the Nash equilibrium is built): the
    // market's coefficients and capacities (and the Nash cap), the competitive loads, bids
    // and net revenues, the Nash loads, bids and net revenues. Their allocated sizes must
    // stay below the estimate; above REVENUE_LIMIT the revenues are not kept at all.
    for (n, caps) in [
        (1_000usize, false),
        (3_000, true),
        (REVENUE_LIMIT + 7, false),
    ] {
        let toml = format!(
            "model = \"bidding\"\ndeficit = {}\n[population]\ncount = {n}\nlinear = [1.0, 2.0]\n\
             quadratic = [0.5, 4.5]\n{}",
            0.1 * n as f64,
            if caps { "capacity = 1.0\n" } else { "" }
        );
        let s: BiddingScenario = toml::from_str(&toml).unwrap();
        let m = s.market().unwrap();
        let r = solve_report(&m, &ReportOptions::default()).unwrap();
        let ne = r.nash.equilibrium().unwrap();
        let f64s = |v: &Vec<f64>| 8 * v.capacity() as u64;
        let (a, h) = coefficients(&m);
        let mut held = 8 * (a.len() + h.len()) as u64
            + f64s(&r.competitive.loads)
            + f64s(&r.competitive.bids)
            + f64s(&ne.loads)
            + f64s(&ne.bids)
            // Both revenue columns exist at the Nash solve's peak below REVENUE_LIMIT.
            + 2 * 8 * n as u64;
        if caps {
            held += 2 * 8 * n as u64; // capacities and the Nash problem's capped copy
        }
        let per_customer = s.solve_memory_estimate() - dr_bidding::BASE_BYTES;
        assert_eq!(per_customer, n as u64 * SOLVE_BYTES_PER_CUSTOMER);
        assert!(held <= per_customer, "n = {n}: {held} > {per_customer}");
    }
}

#[test]
fn general_costs_list_their_base_marginal_cost_and_no_nash_drops_its_columns() {
    use dr_bidding::{ClosureConvex, ConvexScalar};
    use std::sync::Arc;
    // C_i(q) = c_i (e^q − 1): C_i'(0) = c_i, convex and increasing.
    let cost = |c: f64| -> Arc<dyn ConvexScalar> {
        Arc::new(
            ClosureConvex::new(
                move |q: f64| c * (q.exp() - 1.0),
                move |q: f64| c * q.exp(),
                move |q: f64| c * q.exp(),
                (f64::NEG_INFINITY, f64::INFINITY),
            )
            .unwrap(),
        )
    };
    let m = Market::general(vec![cost(1.0), cost(2.0), cost(3.0), cost(9.0)], 1.0).unwrap();
    let r = solve_report(&m, &ReportOptions::default()).unwrap();
    assert_eq!(
        customers_csv_header(&m, &r),
        [
            "index",
            "base_marginal_cost",
            "competitive_load",
            "competitive_bid",
            "nash_load",
            "nash_bid"
        ]
    );
    let csv = csv_of(&m, &r);
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4);
    for (i, (row, c)) in rows.iter().zip([1.0, 2.0, 3.0, 9.0]).enumerate() {
        assert_eq!((row[0], row[1]), (i as f64, c));
        // Theorem 1: an active customer's marginal cost is the price, c e^q̄ = p̄.
        if row[2] > 0.0 {
            let p = r.competitive.price;
            assert!((c * row[2].exp() - p).abs() <= 1e-9 * p, "customer {i}");
        }
    }
    // The listing (a small market) names no coefficients for general costs.
    let listing = r.listing.as_ref().unwrap();
    assert!(listing
        .iter()
        .all(|c| c.linear.is_none() && c.quadratic.is_none()));
    assert_eq!(listing[0].index, 0); // water-filling order: the cheapest first
                                     // Two customers: no Nash equilibrium (Corollary 2), so no Nash columns.
    let two = Market::general(vec![cost(1.0), cost(2.0)], 1.0).unwrap();
    let r = solve_report(&two, &ReportOptions::default()).unwrap();
    assert_eq!(
        customers_csv_header(&two, &r),
        [
            "index",
            "base_marginal_cost",
            "competitive_load",
            "competitive_bid"
        ]
    );
    assert_eq!(csv_of(&two, &r).lines().count(), 2);
}

#[test]
fn demo_report_reads_back_and_its_claims_can_fail() {
    use dr_bidding::{critical_step, demo_report, Behaviour, DemoReport, SimulationSettings};
    let m = drawn(30, 10.0);
    let r = demo_report(&m, "drawn", 0.1, SimulationSettings::default()).unwrap();
    assert!(r.claims.iter().all(|c| c.holds), "{:?}", r.claims);
    let back: DemoReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
    // The paper's step above 2/S'(p̄) (the critical step) does not converge: the claim
    // that it reaches p̄ must then fail, and say so.
    let gamma = 1.5 * critical_step(&m, Behaviour::Competitive).unwrap();
    let settings = SimulationSettings {
        max_rounds: 300,
        ..SimulationSettings::default()
    };
    let r = demo_report(&m, "drawn", gamma, settings).unwrap();
    let failed: Vec<&str> = r
        .claims
        .iter()
        .filter(|c| !c.holds)
        .map(|c| c.claim.as_str())
        .collect();
    assert!(
        failed.iter().any(|c| c.contains("paper rule converges")),
        "{failed:?}"
    );
    assert!(failed.iter().all(|c| c.contains("paper")), "{failed:?}");
}

/// The report's column summaries (gathered by the solves' final passes) against
/// `ColumnSummary::of` on the columns themselves, and the cheapest customers against a
/// full sort, on a population with many ties in `a_i` (blocks of equal base costs that the
/// cheapest pass skips whole), for one and four threads.
#[test]
fn summaries_and_cheapest_match_direct_computations() {
    use dr_bidding::ColumnSummary;
    let n = 70_001;
    let a: Vec<f64> = (0..n)
        .map(|i| 1.0 + ((i * 7919) % 13) as f64 / 8.0)
        .collect();
    let h: Vec<f64> = (0..n)
        .map(|i| 0.5 + ((i * 104_729) % 17) as f64 / 4.0)
        .collect();
    let m = Market::quadratic(a.clone(), h, 0.05 * n as f64).unwrap();
    let run = |threads: usize| in_pool(threads, || solve_report(&m, &ReportOptions::default()));
    let r = run(1).unwrap();
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        serde_json::to_string(&run(4).unwrap()).unwrap()
    );
    let ne = r.nash.equilibrium().expect("a Nash equilibrium");
    let p = &r.population;
    for (got, column) in [
        (p.competitive_loads, &r.competitive.loads),
        (p.competitive_bids, &r.competitive.bids),
        (p.nash_loads.unwrap(), &ne.loads),
        (p.nash_bids.unwrap(), &ne.bids),
    ] {
        let want = ColumnSummary::of(column);
        assert_eq!((got.min, got.max), (want.min, want.max));
        assert!(
            (got.mean - want.mean).abs() <= 1e-12 * want.mean.abs(),
            "{got:?} {want:?}"
        );
    }
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    assert_eq!(r.competitive.max_load, max(&r.competitive.loads));
    assert_eq!(ne.max_load, max(&ne.loads));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[i].total_cmp(&a[j]).then(i.cmp(&j)));
    let cheapest: Vec<usize> = p.cheapest.iter().map(|c| c.index).collect();
    assert_eq!(cheapest, order[..dr_bidding::CHEAPEST]);
}
