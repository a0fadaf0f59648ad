//! Piecewise-linear (and mixed) markets against an independent solver: the competitive
//! price found by bisection on the set-valued total supply `[S_−(p), S_+(p)]` computed here
//! from the slopes and breakpoints directly (not through the crate's cost types), across
//! scales 1e-9 … 1e9; and the Nash equilibrium against exact unilateral deviations.

use dr_bidding::{competitive_equilibrium, nash_equilibrium, nash_gain, BiddingScenario, Market};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Cost {
    /// slopes, breakpoints (one fewer)
    Pl(Vec<f64>, Vec<f64>),
    /// C = a q + h q²
    Quad(f64, f64),
}

/// `[smallest, largest]` minimiser of `C(q) − p q` over `q ≥ 0` (independent of the crate).
fn response(c: &Cost, p: f64) -> (f64, f64) {
    match c {
        Cost::Quad(a, h) => {
            let q = ((p - a) / (2.0 * h)).max(0.0);
            (q, q)
        }
        Cost::Pl(s, x) => {
            // Knots 0 = x_0 < x_1 < … ; slope s_j on [x_j, x_{j+1}].
            let knot = |j: usize| if j == 0 { 0.0 } else { x[j - 1] };
            let mut lo = f64::INFINITY;
            let mut hi = 0.0f64;
            for j in 0..s.len() {
                if p < s[j] {
                    lo = lo.min(knot(j));
                    hi = hi.max(knot(j));
                    break;
                } else if p == s[j] {
                    lo = lo.min(knot(j));
                    hi = if j + 1 < s.len() {
                        knot(j + 1)
                    } else {
                        f64::INFINITY
                    };
                    break;
                }
                if j + 1 == s.len() {
                    lo = f64::INFINITY;
                    hi = f64::INFINITY;
                }
            }
            (lo, hi)
        }
    }
}

fn toml_of(costs: &[Cost], d: f64) -> String {
    let mut t = format!("deficit = {d:e}\n");
    for c in costs {
        match c {
            Cost::Quad(a, h) => t.push_str(&format!(
                "[[customers]]\ncost = {{ linear = {a:e}, quadratic = {h:e} }}\n"
            )),
            Cost::Pl(s, x) => t.push_str(&format!(
                "[[customers]]\ncost = {{ slopes = {s:?}, breakpoints = {x:?} }}\n"
            )),
        }
    }
    t
}

fn market(costs: &[Cost], d: f64) -> Market {
    let s: BiddingScenario = toml::from_str(&toml_of(costs, d)).unwrap();
    s.market().unwrap()
}

/// The price interval `[p_1, p_2]` of the competitive equilibrium: `p_1 = inf{p : S_+(p) ≥ d}`,
/// `p_2 = sup{p : S_−(p) ≤ d}`, by bisection on the set-valued supply.
fn price_interval(costs: &[Cost], d: f64) -> (f64, f64) {
    let s = |p: f64, hi: bool| -> f64 {
        costs
            .iter()
            .map(|c| {
                let r = response(c, p);
                if hi {
                    r.1
                } else {
                    r.0
                }
            })
            .sum()
    };
    let bisect = |pred: &dyn Fn(f64) -> bool| {
        // Smallest p with pred(p) (pred monotone false → true).
        let (mut a, mut b) = (0.0f64, 1.0f64);
        while !pred(b) {
            b *= 2.0;
        }
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                break;
            }
            if pred(m) {
                b = m;
            } else {
                a = m;
            }
        }
        b
    };
    let p1 = bisect(&|p| s(p, true) >= d);
    let p2 = bisect(&|p| s(p, false) > d);
    (p1, p2)
}

fn cost() -> impl Strategy<Value = Cost> {
    prop_oneof![
        (0.0f64..2.0, 0.2f64..3.0).prop_map(|(a, h)| Cost::Quad(a, h)),
        (
            prop::collection::vec(0.1f64..2.0, 1..4),
            prop::collection::vec(0.2f64..2.0, 3)
        )
            .prop_map(|(inc, gaps)| {
                let mut s = Vec::new();
                let mut acc = 0.0;
                for v in &inc {
                    acc += v;
                    s.push(acc);
                }
                let mut x = Vec::new();
                let mut k = 0.0;
                for g in gaps.iter().take(s.len() - 1) {
                    k += g;
                    x.push(k);
                }
                Cost::Pl(s, x)
            }),
    ]
}

fn scaled(c: &Cost, u: f64) -> Cost {
    // Quantities scaled by u, prices unchanged: slopes stay, breakpoints × u, h / u.
    match c {
        Cost::Quad(a, h) => Cost::Quad(*a, h / u),
        Cost::Pl(s, x) => Cost::Pl(s.clone(), x.iter().map(|v| v * u).collect()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The kernel's price lies in the independently bisected equilibrium price interval, the
    /// loads are optimal responses at it (each in its own minimiser set) and sum to d, the
    /// certificate is Solved — at every scale of quantities.
    #[test]
    fn competitive_matches_bisection_on_the_set_valued_supply(
        costs in prop::collection::vec(cost(), 2..6),
        frac in 0.05f64..0.95,
        e in -9i32..=9,
    ) {
        let u = 10f64.powi(e);
        let costs: Vec<Cost> = costs.iter().map(|c| scaled(c, u)).collect();
        // A deficit the customers can always meet (the last PL slope extends to ∞).
        let reach: f64 = costs.iter().map(|c| match c {
            Cost::Pl(_, x) => x.last().copied().unwrap_or(u),
            Cost::Quad(..) => u,
        }).sum();
        let d = frac * reach + 0.1 * u;
        let m = market(&costs, d);
        let ce = competitive_equilibrium(&m).unwrap();
        prop_assert!(ce.certificate.status.is_solved(), "{:?}\n{}", ce.certificate, toml_of(&costs, d));
        let (p1, p2) = price_interval(&costs, d);
        let tol = 1e-9;
        prop_assert!(ce.price >= p1 * (1.0 - tol) && ce.price <= p2 * (1.0 + tol),
            "p̄ = {} outside [{p1}, {p2}]", ce.price);
        let total: f64 = ce.loads.iter().sum();
        prop_assert!((total - d).abs() <= 1e-9 * d);
        for (c, &q) in costs.iter().zip(&ce.loads) {
            // Optimal at the price: within the minimiser set at p̄ (or at a price within
            // rounding of it: take the hull of the sets at p̄(1 ∓ 1e-12)).
            let (lo, _) = response(c, ce.price * (1.0 - 1e-12));
            let (_, hi) = response(c, ce.price * (1.0 + 1e-12));
            prop_assert!(q >= lo * (1.0 - 1e-9) - 1e-12 * d && q <= hi * (1.0 + 1e-9) + 1e-12 * d,
                "q = {q} outside [{lo}, {hi}] for {c:?} at p̄ = {}", ce.price);
        }
    }

    /// With three or more customers the Nash equilibrium of piecewise-linear costs is
    /// certified and no customer gains by changing its bid alone (exact best responses).
    #[test]
    fn nash_with_kinks_admits_no_profitable_deviation(
        costs in prop::collection::vec(cost(), 3..6),
        frac in 0.05f64..0.9,
    ) {
        let reach: f64 = costs.iter().map(|c| match c {
            Cost::Pl(_, x) => x.last().copied().unwrap_or(1.0),
            Cost::Quad(..) => 1.0,
        }).sum();
        let d = frac * reach + 0.1;
        let m = market(&costs, d);
        let ne = nash_equilibrium(&m).unwrap();
        prop_assert!(ne.certificate.status.is_solved(), "{:?}", ne.certificate);
        let g = nash_gain(&m, &ne.bids).unwrap();
        prop_assert!(g.max_relative_gain < 1e-8, "{:?}", g.max_relative_gain);
    }
}

/// A population above the parallel threshold (2¹⁶) of piecewise-linear and quadratic
/// customers whose price lands on a slope (the jump is split): the same bits with 1 and 4
/// threads, and a Solved certificate.
#[test]
fn jump_split_does_not_depend_on_the_number_of_threads() {
    use dr_bidding::{ConvexScalar, CustomerCost, PiecewiseLinearCost};
    use std::sync::Arc;
    let n = 70_000;
    let costs: Vec<CustomerCost> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                // Slope 1 up to 1 + i/n, then 2: at p = 1 these supply jumps.
                let pl: Arc<dyn ConvexScalar> = Arc::new(
                    PiecewiseLinearCost::new(vec![1.0, 2.0], vec![1.0 + i as f64 / n as f64])
                        .unwrap(),
                );
                CustomerCost::General(pl)
            } else {
                CustomerCost::LinearQuadratic {
                    linear: 0.5,
                    quadratic: 1.0 + (i % 7) as f64,
                }
            }
        })
        .collect();
    // Quadratic supply at p = 1: Σ 0.5/(2h); PL supply jumps from 0 to Σ (1 + i/n) there.
    let quad: f64 = (0..n)
        .filter(|i| i % 3 != 0)
        .map(|i| 0.5 / (2.0 * (1.0 + (i % 7) as f64)))
        .sum();
    let jump: f64 = (0..n)
        .filter(|i| i % 3 == 0)
        .map(|i| 1.0 + i as f64 / n as f64)
        .sum();
    let d = quad + 0.5 * jump;
    let m = Market::new(costs, d).unwrap();
    let solve = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| competitive_equilibrium(&m).unwrap())
    };
    let (one, four) = (solve(1), solve(4));
    assert!(one.certificate.status.is_solved(), "{:?}", one.certificate);
    assert!((one.price - 1.0).abs() < 1e-12, "p̄ = {}", one.price);
    assert_eq!(one.price.to_bits(), four.price.to_bits());
    assert!(one
        .loads
        .iter()
        .zip(&four.loads)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}
