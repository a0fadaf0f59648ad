//! The quartic-cost Nash equilibrium: dr-lp agrees (proven), and, independently of both
//! solvers, the equilibrium satisfies li-chen-dahleh-2015's Nash first-order condition and
//! no customer gains by deviating alone.

use dr_bidding::{nash_gain, Market};
use dr_example_custom_cost::{nash_cross_check, quartic_market, CustomCostError, QuarticCost};
use dr_lp::{check_candidate, CompareSettings, Verdict};

const A: [f64; 5] = [1.0, 1.5, 2.0, 3.0, 0.5];
const B: [f64; 5] = [0.5, 1.0, 0.25, 2.0, 4.0];
const D: f64 = 4.0;

fn market() -> Market {
    quartic_market(&A, &B, D).expect("valid market")
}

#[test]
fn lp_agrees_with_the_nash_equilibrium() {
    let (ne, check) = nash_cross_check(&market()).expect("solved and checked");
    let cc = &check.cross_check;
    assert_eq!(cc.verdict, Verdict::Agrees, "{}", cc.reason);
    // The kernel's objective Σ D_i(q_i) lies in the LP's proven interval [L, U] (up to the
    // slack of its quadrature): −s ≤ F_K − L ≤ (U − L) + s.
    let gap = cc.objective_gap;
    assert!(
        -cc.objective_slack <= gap && gap <= cc.bound + cc.objective_slack,
        "{cc:?}"
    );
    assert_eq!(ne.loads.len(), A.len());
}

#[test]
fn a_wrong_price_is_proven_wrong() {
    let m = market();
    let ne = dr_bidding::nash_equilibrium(&m).expect("solved");
    let (problem, mut candidate) = ne.cross_check_problem(&m).expect("problem");
    candidate.equality_multipliers[0] *= 1.1;
    let check = check_candidate(&problem, &candidate, &CompareSettings::default()).expect("LP");
    assert_eq!(
        check.cross_check.verdict,
        Verdict::Disagrees,
        "{}",
        check.cross_check.reason
    );
}

#[test]
fn nash_first_order_condition_holds_by_hand() {
    // Theorem 3 / eq. 17: p* = D_i'(q_i) = (d − q_i)/(d − 2 q_i) · C_i'(q_i) for every
    // active customer below its cap d/2, and p* ≤ C_i'(0) = a_i for an inactive one;
    // Σ q_i = d. Computed from the cost formula, not from either solver's pieces.
    let ne = dr_bidding::nash_equilibrium(&market()).expect("solved");
    let p = ne.price;
    let total: f64 = ne.loads.iter().sum();
    assert!((total - D).abs() <= 1e-12 * D, "Σ q = {total}");
    let mut active = 0;
    for (i, &q) in ne.loads.iter().enumerate() {
        let c = QuarticCost::new(A[i], B[i]).expect("valid");
        if q > 0.0 {
            active += 1;
            assert!(q < 0.5 * D, "Lemma 3: q_{i} = {q} < d/2");
            let d_prime = (D - q) / (D - 2.0 * q) * c.marginal(q);
            assert!(
                (d_prime - p).abs() <= 1e-9 * p,
                "customer {i}: D'(q) = {d_prime}, p* = {p}"
            );
        } else {
            assert!(
                p <= c.marginal(0.0) * (1.0 + 1e-12),
                "inactive {i}: p* = {p} > a_i"
            );
        }
    }
    assert!(active >= 3, "Corollary 2: at least three active customers");
}

#[test]
fn no_customer_gains_by_deviating() {
    let m = market();
    let ne = dr_bidding::nash_equilibrium(&m).expect("solved");
    let gain = nash_gain(&m, &ne.bids).expect("gain");
    assert!(gain.max_relative_gain < 1e-8, "{gain:?}");
}

#[test]
fn bad_coefficients_are_named() {
    let e = quartic_market(&[1.0, 2.0, 3.0], &[1.0, -1.0, 1.0], 1.0).unwrap_err();
    assert!(
        matches!(&e, CustomCostError::Parameter { field, .. } if field == "b[1]"),
        "{e}"
    );
    let e = quartic_market(&[1.0, f64::NAN], &[1.0, 1.0], 1.0).unwrap_err();
    assert!(e.to_string().starts_with("a[1] = NaN"), "{e}");
}
