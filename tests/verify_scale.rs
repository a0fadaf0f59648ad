//! `dr verify` at the sizes of issue 14: the 1000-customer bidding markets (competitive and
//! Nash, with and without capacities) agree with the LP reference back end, proven; the
//! 500-user four-period mechanism (2001 LP variables) and 10^4 bidding customers — both
//! above the former 2000-variable limit — agree too (ignored by default: they take about
//! a minute in a debug build; `cargo test --release --test verify_scale -- --ignored`).
//! At the default limit (`VerifySettings::max_variables` = 20000): 2·10^4 drawn bidding
//! customers agree (ignored: 6 s in release, 100 s debug), one more is inconclusive without a
//! solve.

use demand_response::scenario::{Format, Scenario};
use demand_response::verify::{verify_scenario, Verdict, VerifySettings};
use std::path::Path;

/// Verifies one corpus file and asserts what "agrees, proven" means check by check: the
/// LP interval closed (`Solved`), the kernel objective inside `[L, U]` up to the slack, and
/// the allocation and price gaps within their proven tolerances. Returns the largest LP.
fn agrees(file: &str, checks: usize) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(file);
    agrees_on(&Scenario::read(&path).unwrap(), file, checks)
}

/// [`agrees`] on a scenario given as a value.
fn agrees_on(s: &Scenario, file: &str, checks: usize) -> usize {
    let r = verify_scenario(s, &VerifySettings::default()).unwrap();
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

/// `b10000_population.toml` with `count` customers (the same distributions and seed, the
/// deficit kept at 0.15 per customer).
fn population(count: usize) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/b10000_population.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("count = 10000") && text.contains("deficit = 1500.0"));
    let text = text
        .replace("count = 10000", &format!("count = {count}"))
        .replace(
            "deficit = 1500.0",
            &format!("deficit = {:?}", 0.15 * count as f64),
        );
    Scenario::from_text(&text, Format::Toml).unwrap()
}

#[test]
#[ignore = "about 100 s in a debug build (6 s in release)"]
fn twenty_thousand_bidding_customers_at_the_default_limit_agree() {
    let limit = VerifySettings::default().max_variables;
    assert_eq!(agrees_on(&population(limit), "2·10^4 customers", 2), limit);
}

#[test]
fn one_customer_above_the_default_limit_is_inconclusive_not_solved() {
    let limit = VerifySettings::default().max_variables;
    let r = verify_scenario(&population(limit + 1), &VerifySettings::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Inconclusive, "{}", r.reason);
    assert!(r.checks.is_empty() && !r.agrees);
    assert!(
        r.reason
            .contains(&format!("{} variables exceed", limit + 1)),
        "{}",
        r.reason
    );
}

/// A shaping scenario with `jitter` on its two classes of three customers (`jitter = 0`:
/// identical customers, grouped into one weighted row per class).
fn two_classes(jitter: f64) -> Scenario {
    let text = format!(
        "model = \"shaping\"\nperiods = 2\nseed = 3\n\
         [supply]\ncurvature = [0.5, 0.8]\nlinear = [0.1, 0.2]\n\
         [[customers]]\ncount = 3\nutility = \"quadratic\"\ntheta = [1.0, 0.8]\nkappa = 0.5\n\
         min_energy = 0.2\nmax_energy = 1.0\njitter = {jitter:?}\n\
         [[customers]]\ncount = 3\nutility = \"quadratic\"\ntheta = [0.6, 1.2]\nkappa = 0.4\n\
         min_energy = 0.1\nmax_energy = 2.0\njitter = {jitter:?}\n"
    );
    Scenario::from_text(&text, Format::Toml).unwrap()
}

#[test]
fn grouped_shaping_reports_say_what_their_price_columns_measure() {
    use demand_response::verify::GROUPED_PRICES_NOTE;
    // Grouped (identical customers): the note is there, and the check still agrees.
    let grouped = verify_scenario(&two_classes(0.0), &VerifySettings::default()).unwrap();
    assert_eq!(grouped.verdict, Verdict::Agrees, "{}", grouped.reason);
    assert_eq!(grouped.size, 6);
    assert!(grouped.checks.iter().all(|c| c.variables == 2 * 2 + 2));
    assert!(grouped.notes.iter().any(|n| n == GROUPED_PRICES_NOTE));
    // One row per customer: no such note.
    let listed = verify_scenario(&two_classes(0.2), &VerifySettings::default()).unwrap();
    assert_eq!(listed.verdict, Verdict::Agrees, "{}", listed.reason);
    assert!(listed.checks.iter().all(|c| c.variables == 6 * 2 + 2));
    assert!(listed.notes.iter().all(|n| n != GROUPED_PRICES_NOTE));
}
