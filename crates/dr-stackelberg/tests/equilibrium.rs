//! Equilibrium prices (eq. 14 vs system 13), the certificate, Theorem 2, price bounds,
//! water-filling equilibria, eq. 28 weights and large populations.

mod common;

use common::rel;
use dr_stackelberg::*;
use proptest::prelude::*;

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| rel(*x, *y))
        .fold(0.0, f64::max)
}

/// Every class's demand in `eq` is that class's exact best response (kernel path) at the
/// equilibrium prices, and satisfies its KKT conditions.
fn check_consumers(market: &Market, eq: &Equilibrium, tol: f64) {
    let prices: Vec<f64> = eq.prices.iter().flatten().copied().collect();
    let cons = market.consumers();
    for n in 0..cons.len() {
        let br = best_response(&prices, cons.budget[n], cons.preferences(n).unwrap()).unwrap();
        let d: Vec<f64> = eq.demand[n].iter().flatten().copied().collect();
        for (a, b) in d.iter().zip(&br.demand) {
            assert!(
                (a - b).abs() <= tol * (1.0 + b.abs()),
                "class {n}: {a} vs {b}"
            );
        }
        let kkt = consumer_kkt(
            &prices,
            cons.budget[n],
            cons.preferences(n).unwrap(),
            &d,
            br.multiplier,
        )
        .unwrap();
        assert!(kkt.max() <= tol, "class {n}: {kkt:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Eq. 14 (Sherman–Morrison) equals faer's dense Cholesky, dense LU and the structured
    /// solve of system (13) to 1e-12, and has a negligible residual.
    #[test]
    fn closed_form_equals_linear_system(market in common::market()) {
        let closed = prices_closed_form(&market);
        prop_assert!(closed.iter().all(|&p| p > 0.0)); // Lemma 2
        for solver in [LinearSolver::DenseCholesky, LinearSolver::DenseLu, LinearSolver::Structured] {
            let lin = prices_linear_system(&market, solver).unwrap();
            prop_assert!(max_rel(&closed, &lin.prices) <= 1e-12, "{solver:?}");
            prop_assert!(lin.residual <= 1e-12);
        }
        prop_assert!(linear_system_residual(&market, &closed) <= 1e-12);
    }

    /// The equilibrium clears the market, spends every budget, has revenues summing to the
    /// budgets (eq. 15), consumers best-respond (KKT), and no single price deviation pays
    /// (Theorem 2) — whether or not some closed-form demand is negative.
    #[test]
    fn equilibrium_certificate_and_theorem_2(market in common::market()) {
        let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
        let c = eq.certificate;
        prop_assert!(c.certificate.status.is_solved());
        prop_assert!(c.checks.supply_balance <= 1e-9, "{c:?}");
        prop_assert!(c.checks.budget_residual <= 1e-9);
        prop_assert!(c.checks.consumer_kkt <= 1e-9);
        prop_assert!(c.checks.revenue_budget_gap <= 1e-9);
        let revenue: f64 = eq.revenues.iter().sum();
        prop_assert!(rel(revenue, market.budget_total()) <= 1e-9);
        if eq.case == EquilibriumCase::Interior {
            let closed = prices_closed_form(&market);
            let p: Vec<f64> = eq.prices.iter().flatten().copied().collect();
            prop_assert!(max_rel(&closed, &p) == 0.0);
        }
        check_consumers(&market, &eq, 1e-8);
        let dev = price_deviation_gain(&market, &eq.prices, &[0.8, 0.99, 1.01, 1.25]).unwrap();
        prop_assert!(dev.max_gain <= 1e-9, "{dev:?}");
    }
}

/// The EcoGrid classes with T = 24: the poorest classes' eq. 10 demands from the expensive
/// companies would be negative at eq. 14's prices, so the exact equilibrium is the
/// water-filling one; it still clears the market and every class best-responds.
#[test]
fn water_filling_equilibrium() {
    let market = studies::ecogrid_classes_market(24).unwrap();
    let closed = prices_closed_form(&market);
    let d0 = closed_form_demand(&closed, 4.0, Preferences::uniform(1.0, 1.0)).unwrap();
    assert!(
        d0.iter().any(|&d| d < 0.0),
        "eq. 10 should fail for the 4 DKK class"
    );
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    assert_eq!(eq.case, EquilibriumCase::WaterFilling);
    assert!(eq.water_filling_classes.contains(&0));
    assert!(
        eq.certificate.certificate.holds(1e-9),
        "{:?}",
        eq.certificate
    );
    assert!(eq.certificate.checks.newton_iterations >= 1);
    check_consumers(&market, &eq, 1e-8);
    let dev = price_deviation_gain(&market, &eq.prices, &[0.9, 0.999, 1.001, 1.1]).unwrap();
    assert!(dev.max_gain <= 1e-9, "{dev:?}");
}

/// Remark 3: a price cap below the unconstrained price binds (demand ≥ supply there), a
/// floor above it binds (demand ≤ supply there); the other prices clear their markets.
#[test]
fn price_bounds_bind() {
    let consumers = ConsumerClasses::new(vec![10.0, 20.0], vec![5.0, 2.0], vec![0.0, 0.0]);
    let free = Market::new(
        3,
        vec![
            Company::new(vec![10.0, 20.0, 30.0]),
            Company::new(vec![15.0, 5.0, 25.0]),
        ],
        consumers.clone(),
    )
    .unwrap();
    let p0 = solve_equilibrium(&free, &EquilibriumSettings::default()).unwrap();
    let cap = 0.9 * p0.prices[1][1];
    let floor = 1.2 * p0.prices[0][2];
    let market = Market::new(
        3,
        vec![
            Company::new(vec![10.0, 20.0, 30.0]).with_price_bounds(floor, f64::INFINITY),
            Company::new(vec![15.0, 5.0, 25.0]).with_price_bounds(0.0, cap),
        ],
        consumers,
    )
    .unwrap();
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    assert_eq!(eq.case, EquilibriumCase::Bounded);
    assert!(eq.certificate.certificate.status.is_solved());
    for k in 0..2 {
        for t in 0..3 {
            let (p, d, g) = (eq.prices[k][t], eq.aggregate_demand[k][t], eq.supply[k][t]);
            match eq.price_bound[k][t] {
                PriceBound::AtMax => {
                    assert_eq!(p, cap);
                    assert!(d >= g * (1.0 - 1e-9));
                }
                PriceBound::AtMin => {
                    assert_eq!(p, floor);
                    assert!(d <= g * (1.0 + 1e-9));
                }
                PriceBound::Free => {
                    assert!(p < cap || k == 0);
                    assert!(rel(d, g) <= 1e-9, "({k},{t}) {d} vs {g}");
                }
            }
        }
    }
    assert_eq!(eq.price_bound[1][1], PriceBound::AtMax);
    assert!(eq.price_bound[0].contains(&PriceBound::AtMin));
    check_consumers(&market, &eq, 1e-8);
}

/// Eq. 28 weights: the rank-(1 + r) system (13) by Woodbury equals faer's dense LU, and the
/// equilibrium clears with every class best-responding (eq. 29 or water-filling).
#[test]
fn specific_weights_equilibrium() {
    let (k, t) = (2, 3);
    let consumers = ConsumerClasses::new(vec![30.0, 10.0, 5.0], vec![6.0, 9.0, 4.0], vec![0.0; 3])
        .with_specific(
            1,
            SpecificPreferences {
                gamma: vec![1.0, 2.0, 0.5, 1.5, 1.0, 3.0],
                zeta: vec![1.0, 0.5, 2.0, 1.0, 1.5, 0.2],
            },
        )
        .with_specific(
            2,
            SpecificPreferences {
                gamma: vec![0.7; k * t],
                zeta: vec![0.3, 0.3, 0.3, 2.0, 2.0, 2.0],
            },
        );
    let market = Market::new(
        t,
        vec![
            Company::new(vec![20.0, 30.0, 25.0]),
            Company::new(vec![10.0, 40.0, 15.0]),
        ],
        consumers,
    )
    .unwrap();
    let lu = prices_linear_system(&market, LinearSolver::DenseLu).unwrap();
    let wood = prices_linear_system(&market, LinearSolver::Structured).unwrap();
    assert!(max_rel(&lu.prices, &wood.prices) <= 1e-12);
    assert!(lu.residual <= 1e-13 && wood.residual <= 1e-13);
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
    assert!(
        eq.certificate.certificate.holds(1e-9),
        "{:?}",
        eq.certificate
    );
    check_consumers(&market, &eq, 1e-8);
}

/// 200 000 individual consumers with 5 distinct budgets give exactly the prices of the
/// same population as 5 classes, without materialising demands.
#[test]
fn individuals_equal_classes() {
    let supply = vec![
        Company::new((0..24).map(|t| 1000.0 + 40.0 * t as f64).collect()),
        Company::new(vec![600.0; 24]),
        Company::new((0..24).map(|t| 300.0 + 10.0 * (t % 5) as f64).collect()),
        Company::new(vec![80.0; 24]),
    ];
    let budgets = [4.0, 5.0, 6.0, 7.0, 8.0];
    let n = 200_000;
    let individual: Vec<f64> = (0..n).map(|i| budgets[i % 5]).collect();
    let big = Market::new(
        24,
        supply.clone(),
        ConsumerClasses::individuals(individual, vec![0.0; n]),
    )
    .unwrap();
    let small = Market::new(
        24,
        supply,
        ConsumerClasses::new(vec![(n / 5) as f64; 5], budgets.to_vec(), vec![0.0; 5]),
    )
    .unwrap();
    let settings = EquilibriumSettings {
        demands: DemandOutput::AggregateOnly,
        verify_consumers: false,
        ..EquilibriumSettings::default()
    };
    let a = equilibrium_prices(&big, &settings).unwrap();
    let b = equilibrium_prices(&small, &settings).unwrap();
    assert!(a.status.is_solved() && b.status.is_solved());
    assert_eq!(a.case, b.case);
    assert!(max_rel(&a.prices, &b.prices) <= 1e-10);
    assert!(a.supply_balance <= 1e-9);
    let full = solve_equilibrium(&big, &settings).unwrap();
    assert!(full.demand.is_empty());
    assert_eq!(full.minimum_budget.len(), n);
}

#[test]
fn energy_need_below_minimum_is_an_error_listing_the_classes() {
    // Two classes share the supply; the poor class cannot reach its energy need.
    let market = Market::new(
        2,
        vec![Company::new(vec![100.0, 80.0])],
        ConsumerClasses::new(vec![10.0, 10.0], vec![1.0, 9.0], vec![5.0, 5.0]),
    )
    .unwrap();
    let err = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap_err();
    match &err {
        StackelbergError::BudgetBelowMinimum { shortfalls } => {
            assert_eq!(shortfalls.len(), 1);
            let s = shortfalls[0];
            assert_eq!(s.class, 0);
            assert!(s.minimum > s.budget && s.energy < s.energy_need);
            // Theorem 1 at the equilibrium prices: the minimum budget meets the need.
            let eq = solve_equilibrium(
                &market,
                &EquilibriumSettings {
                    check_energy_need: false,
                    ..Default::default()
                },
            )
            .unwrap();
            let p: Vec<f64> = eq.prices.iter().flatten().copied().collect();
            let br = best_response(&p, s.minimum * (1.0 + 1e-9), Preferences::uniform(1.0, 1.0))
                .unwrap();
            assert!(br.energy >= 5.0);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("consumers[0].budget"), "{err}");
}

#[test]
fn bad_market_input_is_a_typed_error() {
    let c = || ConsumerClasses::homogeneous(10.0, 5.0, 0.0);
    let e = Market::new(2, vec![Company::new(vec![1.0, f64::NAN])], c()).unwrap_err();
    assert!(
        matches!(e, StackelbergError::Input(dr_convex::InputError::NotFinite { ref field, .. }) if field == "companies[0].supply[1]"),
        "{e}"
    );
    let e = Market::new(2, vec![Company::new(vec![1.0])], c()).unwrap_err();
    assert!(
        matches!(e, StackelbergError::Input(dr_convex::InputError::LengthMismatch { ref field, .. }) if field == "companies[0].supply"),
        "{e}"
    );
    let e = Market::new(1, vec![Company::new(vec![0.0])], c()).unwrap_err();
    assert!(e.to_string().contains("companies[0].supply[0]"), "{e}");
    let e = Market::new(1, vec![], c()).unwrap_err();
    assert!(matches!(
        e,
        StackelbergError::Input(dr_convex::InputError::Empty { .. })
    ));
    let e = Market::new(0, vec![Company::new(vec![])], c()).unwrap_err();
    assert!(e.to_string().contains("periods"), "{e}");
    let e = Market::new(
        1,
        vec![Company::new(vec![1.0]).with_price_bounds(2.0, 1.0)],
        c(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            StackelbergError::Input(dr_convex::InputError::InvertedBounds { .. })
        ),
        "{e}"
    );
    let e = Market::new(
        1,
        vec![Company::new(vec![1.0])],
        ConsumerClasses::homogeneous(10.0, -5.0, 0.0),
    )
    .unwrap_err();
    assert!(e.to_string().contains("consumers[0].budget"), "{e}");
    let e = Market::new(
        1,
        vec![Company::new(vec![1.0])],
        ConsumerClasses::new(vec![1.0, 2.0], vec![1.0], vec![0.0, 0.0]),
    )
    .unwrap_err();
    assert!(
        matches!(e, StackelbergError::Input(dr_convex::InputError::LengthMismatch { ref field, .. }) if field == "consumers.budget"),
        "{e}"
    );
    let e = Market::new(1, vec![Company::new(vec![1.0])], c().with_zeta(vec![-1.0])).unwrap_err();
    assert!(e.to_string().contains("consumers[0].zeta"), "{e}");
    let e = Market::new(
        2,
        vec![Company::new(vec![1.0, 1.0])],
        c().with_specific(
            0,
            SpecificPreferences {
                gamma: vec![1.0],
                zeta: vec![1.0, 1.0],
            },
        ),
    )
    .unwrap_err();
    assert!(e.to_string().contains("consumers[0].weights.gamma"), "{e}");
    let m = Market::new(1, vec![Company::new(vec![1.0])], c()).unwrap();
    let e = solve_equilibrium(
        &m,
        &EquilibriumSettings {
            tolerance: f64::NAN,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("settings.tolerance"), "{e}");
    let e = aggregate_demand_at(&m, &[vec![-1.0]]).unwrap_err();
    assert!(e.to_string().contains("prices[0][0]"), "{e}");
}

/// Results do not depend on the number of threads: 100 000 individuals (above the parallel
/// threshold) give bit-identical prices, demands and per-consumer results on 1 and 4 threads.
#[test]
fn thread_count_does_not_change_results() {
    let n = 100_000;
    let budgets: Vec<f64> = (0..n)
        .map(|i| 4.0 + 4.0 * ((i * 7919) % 1000) as f64 / 1000.0)
        .collect();
    let market = Market::new(
        6,
        vec![
            Company::new(vec![2e5, 3e5, 2.5e5, 1e5, 1.5e5, 2e5]),
            Company::new(vec![2e4; 6]),
        ],
        ConsumerClasses::individuals(budgets, vec![0.0; n]),
    )
    .unwrap();
    let settings = EquilibriumSettings {
        demands: DemandOutput::AggregateOnly,
        ..Default::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| solve_equilibrium(&market, &settings).unwrap())
    };
    let (a, b) = (run(1), run(4));
    assert_eq!(a.prices, b.prices);
    assert_eq!(a.aggregate_demand, b.aggregate_demand);
    assert_eq!(a.utility, b.utility);
    assert_eq!(a.certificate, b.certificate);
    assert!(a.certificate.certificate.holds(1e-9), "{:?}", a.certificate);
}
