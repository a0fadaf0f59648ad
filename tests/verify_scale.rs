//! `dr verify` at the sizes of issue 14: the 1000-customer bidding markets (competitive and
//! Nash, with and without capacities) agree with the LP reference back end, proven; the
//! 500-user four-period mechanism (2001 LP variables) and 10^4 bidding customers — both
//! above the former 2000-variable limit — agree too (ignored by default: they take about
//! a minute in a debug build; `cargo test --release --test verify_scale -- --ignored`).

use demand_response::scenario::Scenario;
use demand_response::verify::{verify_scenario, Verdict, VerifySettings};
use std::path::Path;

/// Verifies one corpus file and asserts what "agrees, proven" means check by check: the
/// LP interval closed (`Solved`), the kernel objective inside `[L, U]` up to the slack, and
/// the allocation and price gaps within their proven tolerances. Returns the largest LP.
fn agrees(file: &str, checks: usize) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(file);
    let s = Scenario::read(&path).unwrap();
    let r = verify_scenario(&s, &VerifySettings::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{file}: {}", r.reason);
    assert_eq!(r.checks.len(), checks, "{file}");
    let mut largest = 0;
    for c in &r.checks {
        let cc = c.cross_check.as_ref().expect("the LP back end ran");
        assert_eq!(c.lp_status, "Solved", "{file}: {}", c.name);
        assert!(
            c.objective_gap >= -cc.objective_slack
                && c.objective_gap <= c.bound + cc.objective_slack,
            "{file}: {}",
            c.name
        );
        assert!(
            cc.allocation_ratio <= 1.0 && cc.price_ratio <= 1.0,
            "{file}: {}",
            c.name
        );
        largest = largest.max(c.variables);
    }
    largest
}

#[test]
fn a_thousand_bidding_customers_with_capacities_agree_in_both_equilibria() {
    assert_eq!(agrees("b1000_capacities.toml", 2), 1000);
}

#[test]
fn a_thousand_bidding_customers_without_capacities_agree_next_to_the_nash_barrier() {
    assert_eq!(agrees("b1000_uncapacitated.toml", 2), 1000);
}

#[test]
#[ignore = "about a minute in a debug build (7 s in release)"]
fn five_hundred_mechanism_users_over_four_periods_agree() {
    // Planner and Nash equilibrium share one LP of 500 × 4 + 1 variables.
    assert_eq!(agrees("m500_users.toml", 2), 2001);
}

#[test]
#[ignore = "about a minute in a debug build (6 s in release)"]
fn ten_thousand_bidding_customers_agree() {
    assert_eq!(agrees("b10000_population.toml", 2), 10_000);
}
