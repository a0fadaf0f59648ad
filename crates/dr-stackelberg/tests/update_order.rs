//! The update order of eq. 21 (alshehri-liu-chen-basar §VI): sequential (Gauss–Seidel, the
//! paper's "the prices are sequentially updated") and simultaneous (Jacobi).

use dr_stackelberg::*;

fn settings(order: UpdateOrder, start: f64) -> DistributedSettings {
    DistributedSettings {
        update: PriceUpdate::Paper { delta: 0.0 },
        order: Some(order),
        initial: InitialPrices::Uniform(start),
        record_prices: true,
        max_rounds: 10_000,
        ..Default::default()
    }
}

/// Two companies, one period, one consumer with budget 10 (ζ = γ = 1), supplies G = (1, 3).
fn two_companies() -> Market {
    Market::new(
        1,
        vec![Company::new(vec![1.0]), Company::new(vec![3.0])],
        ConsumerClasses::homogeneous(1.0, 10.0, 0.0),
    )
    .unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The first rounds by hand. Eq. 10 with K = 2, T = 1, ζ = γ = 1: the consumer's demand
/// from company k is d_k = (B + p_1 + p_2)/(2 p_k) − 1. Eq. 21 with δ = 0,
/// ε = (G_k + Z)/p_k, Z = 1: p_k ← p_k + (d_k − G_k) p_k/(G_k + 1) = (B + p_1 + p_2)/(2 (G_k + 1)).
/// Eq. 14: H = 1/(2·2) + 1/(2·4) = 3/8, p_k = B/(2 (G_k + 1)(1 − 3/8)) = (4, 2).
///
/// Start p = (1, 1): d = (12/2 − 1, 12/2 − 1) = (5, 5); round-0 mismatch
/// max(|5 − 1|/1, |5 − 3|/3) = 4.
/// - Simultaneous round 1: both from d = (5, 5): p_1 = 12/4 = 3, p_2 = 12/8 = 1.5.
/// - Sequential round 1: company 1 from d = (5, 5): p_1 = 3; the consumer answers (3, 1):
///   d_2 = 14/2 − 1 = 6, so p_2 = 1 + (6 − 3)·1/4 = 1.75 (= 14/8). Mismatch at (3, 1.75):
///   Σp = 4.75, d_1 = 14.75/6 − 1 = 35/24, d_2 = 14.75/3.5 − 1 = 45/14;
///   max(|35/24 − 1|, |45/14 − 3|/3) = max(11/24, 1/14) = 11/24.
/// - Sequential round 2: p_1 = (10 + 4.75)/4 = 3.6875, then at (3.6875, 1.75)
///   p_2 = (10 + 5.4375)/8 = 1.9296875.
#[test]
fn first_sequential_rounds_by_hand() {
    let market = two_companies();
    let seq = simulate(&market, &settings(UpdateOrder::Sequential, 1.0)).unwrap();
    let sim = simulate(&market, &settings(UpdateOrder::Simultaneous, 1.0)).unwrap();
    assert_eq!(seq.order, UpdateOrder::Sequential);
    assert_eq!(sim.order, UpdateOrder::Simultaneous);
    let prices = |run: &DistributedRun, r: usize| -> Vec<f64> {
        run.trace[r].prices.clone().unwrap().concat()
    };
    // Round 0: the common start.
    assert_eq!(prices(&seq, 0), vec![1.0, 1.0]);
    assert_eq!(prices(&sim, 0), vec![1.0, 1.0]);
    assert!(rel(seq.trace[0].mismatch, 4.0) < 1e-12);
    assert_eq!(seq.trace[0].mismatch, sim.trace[0].mismatch);
    // Round 1.
    let s1 = prices(&seq, 1);
    assert!(
        rel(s1[0], 3.0) < 1e-12 && rel(s1[1], 1.75) < 1e-12,
        "{s1:?}"
    );
    let j1 = prices(&sim, 1);
    assert!(rel(j1[0], 3.0) < 1e-12 && rel(j1[1], 1.5) < 1e-12, "{j1:?}");
    assert!(rel(seq.trace[1].mismatch, 11.0 / 24.0) < 1e-12);
    // Round 2.
    let s2 = prices(&seq, 2);
    assert!(
        rel(s2[0], 3.6875) < 1e-12 && rel(s2[1], 1.9296875) < 1e-12,
        "{s2:?}"
    );
    // The traces part after round 0 and stay apart until both have converged.
    for r in 1..seq.trace.len().min(sim.trace.len()) {
        if seq.trace[r].mismatch > 1e-6 {
            assert_ne!(prices(&seq, r), prices(&sim, r), "round {r}");
        }
    }
    // Both reach eq. 14's (4, 2), derived above.
    for run in [&seq, &sim] {
        assert_eq!(run.termination, Termination::Converged, "{:?}", run.order);
        let p = run.prices.concat();
        assert!(rel(p[0], 4.0) < 1e-8 && rel(p[1], 2.0) < 1e-8, "{p:?}");
    }
}

/// Both orders converge to the closed-form prices (eq. 14) on interior markets with several
/// companies and periods, for δ = 0 and δ > 0 (Theorem 4), from starts below and above.
#[test]
fn both_orders_reach_closed_form() {
    let markets = [
        Market::new(
            2,
            vec![
                Company::new(vec![100.0, 300.0]),
                Company::new(vec![250.0, 50.0]),
                Company::new(vec![80.0, 120.0]),
            ],
            ConsumerClasses::new(vec![40.0, 60.0], vec![5.0, 12.0], vec![0.0, 0.0]),
        )
        .unwrap(),
        Market::new(
            1,
            vec![
                Company::new(vec![36.0]),
                Company::new(vec![16.0]),
                Company::new(vec![5.0]),
                Company::new(vec![2.0]),
            ],
            ConsumerClasses::homogeneous(20.0, 6.0, 0.0),
        )
        .unwrap(),
    ];
    for market in &markets {
        let closed = prices_closed_form(market);
        // Interior: every closed-form demand positive (eq. 10 applies as written).
        let eq = solve_equilibrium(
            market,
            &EquilibriumSettings {
                check_energy_need: false,
                ..Default::default()
            },
        )
        .unwrap();
        let solved: Vec<f64> = eq.prices.concat();
        assert!(closed.iter().zip(&solved).all(|(a, b)| rel(*a, *b) < 1e-9));
        let mean = closed.iter().sum::<f64>() / closed.len() as f64;
        for delta in [0.0, 50.0] {
            for start in [0.2 * mean, 5.0 * mean] {
                for order in [UpdateOrder::Sequential, UpdateOrder::Simultaneous] {
                    let s = DistributedSettings {
                        update: PriceUpdate::Paper { delta },
                        ..settings(order, start)
                    };
                    let run = simulate(market, &s).unwrap();
                    assert_eq!(
                        run.termination,
                        Termination::Converged,
                        "{order:?} δ={delta}"
                    );
                    let err = run
                        .prices
                        .concat()
                        .iter()
                        .zip(&closed)
                        .map(|(a, b)| rel(*a, *b))
                        .fold(0.0, f64::max);
                    assert!(err < 1e-7, "{order:?} δ={delta} start={start}: {err}");
                }
            }
        }
    }
}

/// Defaults: the paper's rule runs sequentially (§VI), the secant and Steffensen rules
/// simultaneously; an explicit order overrides. With one company the two orders are the
/// same algorithm, bit for bit.
#[test]
fn defaults_and_one_company() {
    let d = DistributedSettings::default();
    assert_eq!(d.order, None);
    assert_eq!(d.effective_order(), UpdateOrder::Sequential);
    for (update, order) in [
        (PriceUpdate::Secant, UpdateOrder::Simultaneous),
        (PriceUpdate::Steffensen, UpdateOrder::Simultaneous),
        (PriceUpdate::Paper { delta: 3.0 }, UpdateOrder::Sequential),
    ] {
        assert_eq!(
            DistributedSettings {
                update,
                ..Default::default()
            }
            .effective_order(),
            order
        );
    }
    assert_eq!("sequential".parse(), Ok(UpdateOrder::Sequential));
    assert_eq!("simultaneous".parse(), Ok(UpdateOrder::Simultaneous));
    assert!("jacobi"
        .parse::<UpdateOrder>()
        .unwrap_err()
        .contains("jacobi"));

    let market = Market::new(
        3,
        vec![Company::new(vec![50.0, 80.0, 20.0])],
        ConsumerClasses::homogeneous(20.0, 3.0, 0.0),
    )
    .unwrap();
    let seq = simulate(&market, &settings(UpdateOrder::Sequential, 0.05)).unwrap();
    let sim = simulate(&market, &settings(UpdateOrder::Simultaneous, 0.05)).unwrap();
    assert_eq!(seq.trace, sim.trace);
    assert_eq!(seq.rounds, sim.rounds);
}

/// The scenario key `[simulation] order`: read, defaulted, and a bad value named.
#[test]
fn scenario_order_key() {
    let base = "model = \"stackelberg\"\nperiods = 1\n[[companies]]\nsupply = [1.0]\n\
                [[companies]]\nsupply = [3.0]\n[[consumers]]\ncount = 1\nbudget = 10\n";
    let read = |extra: &str| -> Result<DistributedSettings, String> {
        let s: Scenario = toml::from_str(&format!("{base}{extra}")).map_err(|e| e.to_string())?;
        s.build().map(|m| m.simulation).map_err(|e| e.to_string())
    };
    assert_eq!(read("").unwrap().effective_order(), UpdateOrder::Sequential);
    assert_eq!(
        read("[simulation]\norder = \"simultaneous\"\n")
            .unwrap()
            .order,
        Some(UpdateOrder::Simultaneous)
    );
    assert_eq!(
        read("[simulation]\nrule = \"steffensen\"\n")
            .unwrap()
            .effective_order(),
        UpdateOrder::Simultaneous
    );
    let e = read("[simulation]\norder = \"gauss-seidel\"\n").unwrap_err();
    assert!(e.contains("order") && e.contains("gauss-seidel"), "{e}");
}
