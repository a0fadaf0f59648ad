//! The power allocation game: Theorem 3 (equal split), eq. 17 against the Stackelberg
//! equilibrium, the profit variant (eq. 20) and ramping/network constraints (Theorem 6).

mod common;

use common::rel;
use dr_stackelberg::*;
use proptest::prelude::*;

fn game(totals: &[f64], periods: usize, b: f64, z: f64) -> AllocationGame {
    AllocationGame::new(
        periods,
        totals
            .iter()
            .map(|&g| CompanyStrategy::Allocate(AllocatingCompany::new(g)))
            .collect(),
        b,
        z,
        Vec::new(),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Theorem 3: at the equal split no company gains by its best response, and any
    /// feasible unilateral reallocation loses revenue.
    #[test]
    fn equal_split_is_a_nash_equilibrium(
        totals in prop::collection::vec(50.0f64..5000.0, 1..4),
        periods in 1usize..8,
        b in 100.0f64..10_000.0,
        z in 10.0f64..3000.0,
        weights in prop::collection::vec(0.01f64..1.0, 8),
        who in 0usize..3,
    ) {
        let g = game(&totals, periods, b, z);
        let split = g.equal_split();
        let check = g.nash_gain(&split, &AllocationSettings::default()).unwrap();
        prop_assert!(check.max_gain <= 1e-12, "{check:?}");
        let k = who % totals.len();
        let w: f64 = weights[..periods].iter().sum();
        let mut dev = split.clone();
        dev[k] = weights[..periods].iter().map(|x| totals[k] * x / w).collect();
        let r0 = g.revenues(&split).unwrap()[k];
        let r1 = g.revenues(&dev).unwrap()[k];
        prop_assert!(r1 <= r0 * (1.0 + 1e-12), "{r1} > {r0}");
    }

    /// Eq. 17 (`R_k = B s_k / Σ s`) equals the revenues of the Stackelberg equilibrium
    /// computed from eq. 14 and the consumers' demands.
    #[test]
    fn eq_17_matches_equilibrium_revenues(market in common::market()) {
        let eq = solve_equilibrium(&market, &EquilibriumSettings::default()).unwrap();
        prop_assume!(eq.case == EquilibriumCase::Interior);
        let g = AllocationGame::new(
            market.periods(),
            market.companies().iter().map(|c| CompanyStrategy::Fixed(c.supply.clone())).collect(),
            market.budget_total(),
            market.zeta_total(),
            Vec::new(),
        )
        .unwrap();
        let supply: Vec<Vec<f64>> = market.companies().iter().map(|c| c.supply.clone()).collect();
        for (a, b) in g.revenues(&supply).unwrap().iter().zip(&eq.revenues) {
            prop_assert!(rel(*a, *b) <= 1e-10, "{a} vs {b}");
        }
    }
}

#[test]
fn solve_returns_the_equal_split() {
    let g = game(&[3000.0, 1200.0, 400.0], 6, 5000.0, 800.0);
    let eq = g.solve(&AllocationSettings::default()).unwrap();
    assert!(eq.status.is_solved(), "{eq:?}");
    for (k, row) in eq.supply.iter().enumerate() {
        let total = [3000.0, 1200.0, 400.0][k];
        for &x in row {
            assert!(rel(x, total / 6.0) <= 1e-9);
        }
    }
    assert!(rel(eq.revenues.iter().sum::<f64>(), 5000.0) <= 1e-12);
}

/// Eq. 20 with a cost that is the same every period keeps the equal split (the objective is
/// symmetric and strictly concave); a cost that is high in period 0 moves power away from it,
/// and the result is a Nash equilibrium by best response.
#[test]
fn profit_variant() {
    let mk = |cost: GenerationCost| {
        AllocationGame::new(
            4,
            vec![
                CompanyStrategy::Allocate(AllocatingCompany::new(2000.0).with_cost(cost)),
                CompanyStrategy::Allocate(AllocatingCompany::new(1000.0)),
                CompanyStrategy::Fixed(vec![100.0, 200.0, 300.0, 400.0]),
            ],
            4000.0,
            1500.0,
            Vec::new(),
        )
        .unwrap()
    };
    let g = mk(GenerationCost::uniform(0.1, 1e-4));
    let eq = g.solve(&AllocationSettings::default()).unwrap();
    assert!(eq.status.is_solved(), "{:?}", eq.nash);
    for &x in &eq.supply[0] {
        assert!(rel(x, 500.0) <= 1e-8, "{x}");
    }
    let g = mk(GenerationCost {
        linear: vec![0.0],
        quadratic: vec![5e-3, 1e-4, 1e-4, 1e-4],
    });
    let eq = g.solve(&AllocationSettings::default()).unwrap();
    assert!(eq.status.is_solved(), "{:?}", eq.nash);
    assert!(eq.nash.max_gain <= 1e-7);
    assert!(eq.supply[0][0] < 500.0 && eq.supply[0][1] > 500.0);
    assert!(rel(eq.supply[0].iter().sum::<f64>(), 2000.0) <= 1e-9);
    // Company 1 has no cost: still the equal split (its best response ignores others).
    for &x in &eq.supply[1] {
        assert!(rel(x, 250.0) <= 1e-8);
    }
}

/// Theorem 6: ramping limits and a network row, solved by the interior-point method; the
/// result satisfies the constraints and no company gains by deviating.
#[test]
fn ramping_and_network_constraints() {
    let g = AllocationGame::new(
        4,
        vec![
            CompanyStrategy::Allocate(
                AllocatingCompany::new(2000.0)
                    .with_cost(GenerationCost {
                        linear: vec![0.0],
                        quadratic: vec![2e-3, 1e-4, 1e-4, 1e-4],
                    })
                    .with_ramp_limit(vec![60.0]),
            ),
            CompanyStrategy::Allocate(AllocatingCompany::new(1000.0)),
        ],
        4000.0,
        1500.0,
        vec![NetworkConstraint {
            terms: vec![(0, 3, 1.0), (1, 3, 1.0)],
            rhs: 700.0,
        }],
    )
    .unwrap();
    let eq = g.solve(&AllocationSettings::default()).unwrap();
    assert!(eq.status.is_solved(), "{:?} {:?}", eq.nash, eq.trace);
    let s = &eq.supply;
    for t in 1..4 {
        assert!((s[0][t] - s[0][t - 1]).abs() <= 60.0 + 1e-6, "{s:?}");
    }
    assert!(s[0][3] + s[1][3] <= 700.0 + 1e-6, "{s:?}");
    assert!(rel(s[0].iter().sum::<f64>(), 2000.0) <= 1e-8);
    assert!(rel(s[1].iter().sum::<f64>(), 1000.0) <= 1e-8);
    assert!(eq.nash.max_gain <= 1e-6, "{:?}", eq.nash);
}

#[test]
fn bad_allocation_input_is_a_typed_error() {
    let a = |c: AllocatingCompany| vec![CompanyStrategy::Allocate(c)];
    let e = AllocationGame::new(2, a(AllocatingCompany::new(-1.0)), 1.0, 1.0, vec![]).unwrap_err();
    assert!(e.to_string().contains("companies[0].total"), "{e}");
    let e = AllocationGame::new(
        2,
        a(AllocatingCompany::new(10.0).with_limits(vec![6.0], vec![])),
        1.0,
        1.0,
        vec![],
    )
    .unwrap_err();
    // Σ min_generation = 12 > total = 10: named by company, field and both values.
    let msg = e.to_string();
    assert!(
        msg.contains("companies[0].total")
            && msg.contains("total = 10")
            && msg.contains("min_generation = 12"),
        "{msg}"
    );
    let e = AllocationGame::new(2, a(AllocatingCompany::new(10.0)), 1.0, 0.0, vec![]).unwrap_err();
    assert!(e.to_string().contains("zeta_total"), "{e}");
    let e = AllocationGame::new(
        2,
        a(AllocatingCompany::new(10.0)),
        1.0,
        1.0,
        vec![NetworkConstraint {
            terms: vec![(3, 0, 1.0)],
            rhs: 1.0,
        }],
    )
    .unwrap_err();
    assert!(e.to_string().contains("network[0].terms[0]"), "{e}");
    let e = AllocationGame::new(
        2,
        a(AllocatingCompany::new(10.0).with_cost(GenerationCost::uniform(-1.0, 0.0))),
        1.0,
        1.0,
        vec![],
    )
    .unwrap_err();
    assert!(e.to_string().contains("generation_cost.linear"), "{e}");
}

/// A network row caps the only company's sum at 5 while its total is 20 (issue 11, finding
/// 3): no allocation is feasible, an error naming the row and the company.
#[test]
fn infeasible_network_row_is_an_error_naming_row_and_company() {
    let game = AllocationGame::new(
        2,
        vec![CompanyStrategy::Allocate(AllocatingCompany::new(20.0))],
        50.0,
        10.0,
        vec![NetworkConstraint {
            terms: vec![(0, 0, 1.0), (0, 1, 1.0)],
            rhs: 5.0,
        }],
    )
    .unwrap();
    let e = game
        .solve(&dr_stackelberg::AllocationSettings::default())
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("network[0]") && msg.contains("companies[0]") && msg.contains("total = 20"),
        "{msg}"
    );
}
