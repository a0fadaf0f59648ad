//! The cost forms of scenario files (power, exponential, piecewise linear, the footnote-3
//! capacity penalty) against equilibria derived by hand, and the critical step of the
//! fixed-step iteration against `2/S'(p)` derived by hand.

use dr_bidding::{
    competitive_equilibrium, critical_step, nash_equilibrium, nash_gain, simulate, Behaviour,
    BiddingError, BiddingScenario, ConvexScalar, PiecewiseLinearCost, PriceUpdate,
    SimulationSettings, Termination,
};

fn market(toml_text: &str) -> Result<dr_bidding::Market, BiddingError> {
    let s: BiddingScenario = toml::from_str(toml_text).expect("parses");
    s.market()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs()
}

/// C_1 = q³, C_2 = 8 q³: 3 q_1² = p = 24 q_2², so q_2 = q_1 / (2√2); with
/// d = 1 + 1/(2√2) the competitive equilibrium is q_1 = 1, p̄ = 3 (by hand).
#[test]
fn power_costs_competitive_by_hand() {
    let d = 1.0 + 1.0 / (2.0 * 2f64.sqrt());
    let m = market(&format!(
        "deficit = {d}\n\
         [[customers]]\ncost = {{ power = 1.0, exponent = 3.0 }}\n\
         [[customers]]\ncost = {{ power = 8.0, exponent = 3.0 }}\n"
    ))
    .unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved(), "{:?}", ce.certificate);
    assert!(close(ce.price, 3.0, 1e-10), "p̄ = {}", ce.price);
    assert!(close(ce.loads[0], 1.0, 1e-10));
    assert!(close(ce.loads[1], 1.0 / (2.0 * 2f64.sqrt()), 1e-10));
    // Corollary 2: two customers have no Nash equilibrium.
    assert!(matches!(
        nash_equilibrium(&m),
        Err(BiddingError::NashNeedsThreeSuppliers { .. })
    ));
}

/// Three customers C = q + q^{1.5} (a = 1, b = 1, k = 1.5; C'' = +∞ at 0), d = 3: by symmetry
/// q = 1, p̄ = C'(1) = 1 + 1.5 = 2.5; the Nash price is D'(1) = (1 + 1/(3 − 2)) C'(1) = 5.
#[test]
fn power_costs_symmetric_nash_by_hand() {
    let one = "[[customers]]\ncost = { linear = 1.0, power = 1.0, exponent = 1.5 }\n";
    let m = market(&format!("deficit = 3.0\n{one}{one}{one}")).unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved());
    assert!(close(ce.price, 2.5, 1e-10), "p̄ = {}", ce.price);
    let ne = nash_equilibrium(&m).unwrap();
    assert!(ne.certificate.status.is_solved(), "{:?}", ne.certificate);
    assert!(close(ne.price, 5.0, 1e-9), "p* = {}", ne.price);
    for q in &ne.loads {
        assert!(close(*q, 1.0, 1e-9));
    }
    assert!(nash_gain(&m, &ne.bids).unwrap().max_relative_gain < 1e-9);
}

/// C_i = b_i (e^{k_i q} − 1) with (b, k) = (1, 1) and (1, 2): the first-order conditions
/// `b k e^{k q} = p` give q_1 = ln p, q_2 = ln(p/2)/2, so q_1 + q_2 = d is
/// 1.5 ln p − ln 2 / 2 = d: p̄ = exp((d + ln 2 / 2) / 1.5) (by hand).
#[test]
fn exponential_costs_first_order_condition() {
    let d = 2.0;
    let m = market(
        "deficit = 2.0\n\
         [[customers]]\ncost = { exponential = 1.0, rate = 1.0 }\n\
         [[customers]]\ncost = { exponential = 1.0, rate = 2.0 }\n",
    )
    .unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    let p = ((d + 0.5 * 2f64.ln()) / 1.5).exp();
    assert!(ce.certificate.status.is_solved());
    assert!(close(ce.price, p, 1e-12), "p̄ = {} vs {p}", ce.price);
    assert!(close(ce.loads[0], p.ln(), 1e-12));
    assert!(close(ce.loads[1], (p / 2.0).ln() / 2.0, 1e-12));
    // b k e^{k q} = p for both.
    assert!(close(ce.loads[0].exp(), p, 1e-12));
    assert!(close(2.0 * (2.0 * ce.loads[1]).exp(), p, 1e-12));
    // Critical step (*derived*): C'' = k C' = k p at the equilibrium, so
    // S'(p̄) = 1/p̄ + 1/(2 p̄) = 1.5/p̄ and γ* = 2 p̄ / 1.5.
    let crit = critical_step(&m, Behaviour::Competitive).unwrap();
    assert!(close(crit, 2.0 * p / 1.5, 1e-10), "γ* = {crit}");
}

/// Customer 0 piecewise linear (slope 1 on [0, 2], 3 beyond), customer 1 C = ½ q² (C' = q).
/// d = 4.5: the price lands on customer 0's kink: q_0 = 2, q_1 = p = 2.5, and the
/// subgradient condition C_0'_−(2) = 1 ≤ 2.5 ≤ 3 = C_0'_+(2) holds (by hand).
#[test]
fn piecewise_linear_price_on_a_kink() {
    let m = market(
        "deficit = 4.5\n\
         [[customers]]\ncost = { slopes = [1.0, 3.0], breakpoints = [2.0] }\n\
         [[customers]]\ncost = { half_quadratic = 1.0 }\n",
    )
    .unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved(), "{:?}", ce.certificate);
    assert!(ce.certificate.stationarity <= 1e-12);
    assert!(close(ce.price, 2.5, 1e-12), "p̄ = {}", ce.price);
    assert!(close(ce.loads[0], 2.0, 1e-12));
    assert!(close(ce.loads[1], 2.5, 1e-12));
    // Customer 0 is at a kink with the price strictly inside (1, 3): its response is flat,
    // so S'(p̄) = 1/C_1'' = 1 and γ* = 2.
    let crit = critical_step(&m, Behaviour::Competitive).unwrap();
    assert!(close(crit, 2.0, 1e-12), "γ* = {crit}");
}

/// Same two customers, d = 2.5: for p < 1 the supply is p < 1; at p = 1 customer 0's supply
/// jumps from 0 to 2: the price is the slope, p̄ = 1, q_1 = 1 and q_0 = 1.5 (inside its
/// first segment, C_0' = 1 = p̄). The allocator splits the jump; the certificate is exact.
#[test]
fn piecewise_linear_price_on_a_slope() {
    let m = market(
        "deficit = 2.5\n\
         [[customers]]\ncost = { slopes = [1.0, 3.0], breakpoints = [2.0] }\n\
         [[customers]]\ncost = { half_quadratic = 1.0 }\n",
    )
    .unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved(), "{:?}", ce.certificate);
    assert!(close(ce.price, 1.0, 1e-12), "p̄ = {}", ce.price);
    assert!(close(ce.loads[0], 1.5, 1e-12), "q = {:?}", ce.loads);
    assert!(close(ce.loads[1], 1.0, 1e-12));
    // The supply jumps at the price: no fixed step converges (γ* = 0).
    assert_eq!(critical_step(&m, Behaviour::Competitive).unwrap(), 0.0);
}

/// Three customers: piecewise linear (1 on [0, 1], 3 beyond) and two with C = ½ q², d = 4.
/// Competitive (by hand): q_0 = 1 at the kink, 2p = 3, p̄ = 1.5 ∈ (1, 3).
/// Nash (by hand): q_0 = 1, q_1 = q_2 = 1.5, p* = D'(1.5) = (4 − 1.5)/(4 − 3) · 1.5 = 3.75,
/// and customer 0's subgradient condition p* ∈ (4 − 1)/(4 − 2) · [1, 3] = [1.5, 4.5] holds.
#[test]
fn piecewise_linear_nash_by_hand_and_no_profitable_deviation() {
    let m = market(
        "deficit = 4.0\n\
         [[customers]]\ncost = { slopes = [1.0, 3.0], breakpoints = [1.0] }\n\
         [[customers]]\ncost = { half_quadratic = 1.0 }\n\
         [[customers]]\ncost = { half_quadratic = 1.0 }\n",
    )
    .unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved(), "{:?}", ce.certificate);
    assert!(close(ce.price, 1.5, 1e-12), "p̄ = {}", ce.price);
    assert!(close(ce.loads[0], 1.0, 1e-12));
    let ne = nash_equilibrium(&m).unwrap();
    assert!(ne.certificate.status.is_solved(), "{:?}", ne.certificate);
    assert!(close(ne.price, 3.75, 1e-9), "p* = {}", ne.price);
    assert!(close(ne.loads[0], 1.0, 1e-9), "q* = {:?}", ne.loads);
    assert!(close(ne.loads[1], 1.5, 1e-9));
    let gain = nash_gain(&m, &ne.bids).unwrap();
    assert!(gain.max_relative_gain < 1e-9, "{gain:?}");
}

/// Only piecewise-linear customers (slopes 1 | 4 at 1 and 2 | 5 at 2), d = 2: customer 0 sits
/// at its kink (1 ≤ p ≤ 4), customer 1 on its first segment: p̄ = 2, q = (1, 1) (by hand).
#[test]
fn piecewise_linear_only() {
    let m = market(
        "deficit = 2.0\n\
         [[customers]]\ncost = { slopes = [1.0, 4.0], breakpoints = [1.0] }\n\
         [[customers]]\ncost = { slopes = [2.0, 5.0], breakpoints = [2.0] }\n",
    )
    .unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved(), "{:?}", ce.certificate);
    assert!(close(ce.price, 2.0, 1e-12), "p̄ = {}", ce.price);
    assert!(close(ce.loads[0], 1.0, 1e-12) && close(ce.loads[1], 1.0, 1e-12));
    assert!(close(ce.total_cost, 1.0 + 2.0, 1e-12));
}

/// The capacity penalty ρ·max(0, q − q̄)² (footnote 3): customer 0 C = q + q² with q̄ = 1,
/// ρ = 10; customer 1 C = ½ q². d = 5. Beyond q̄ the first-order condition is
/// 1 + 2q + 20(q − 1) = p = q_1, and q_0 + q_1 = 5: q_0 = 24/23, p̄ = 91/23 (by hand).
/// A larger weight pushes q_0 towards q̄ (the footnote's "weight large enough").
#[test]
fn capacity_penalty_first_order_condition() {
    let file = |rho: f64| {
        format!(
            "deficit = 5.0\n\
             [[customers]]\ncost = {{ linear = 1.0, quadratic = 1.0 }}\n\
             capacity_penalty = {{ capacity = 1.0, weight = {rho} }}\n\
             [[customers]]\ncost = {{ half_quadratic = 1.0 }}\n"
        )
    };
    let m = market(&file(10.0)).unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved());
    assert!(close(ce.loads[0], 24.0 / 23.0, 1e-12), "q = {:?}", ce.loads);
    assert!(close(ce.price, 91.0 / 23.0, 1e-12), "p̄ = {}", ce.price);
    // Excess over q̄ solves 1 + 2q + 2ρ(q − 1) = 5 − q: q − 1 = 1/(3 + 2ρ).
    for rho in [100.0, 1e4] {
        let ce = competitive_equilibrium(&market(&file(rho)).unwrap()).unwrap();
        assert!(close(ce.loads[0] - 1.0, 1.0 / (3.0 + 2.0 * rho), 1e-9));
    }
}

/// The fixed step converges for γ slightly below the critical step 2/S'(p) and does not for
/// γ slightly above it. Market: C_0 = q + ½ q², C_1 = q + q² (a = 1, h = 0.5 and 1), d = 3.
/// By hand: q_i = (p − 1)/(2h_i) for p ≥ 1, S(p) = 1.5 (p − 1), p̄ = 3,
/// S'(p̄) = 1/(2·0.5) + 1/(2·1) = 1.5, so γ* = 2/1.5 = 4/3.
#[test]
fn critical_step_by_hand_separates_convergence_from_oscillation() {
    let m = market(
        "deficit = 3.0\n\
         [[customers]]\ncost = { linear = 1.0, quadratic = 0.5 }\n\
         [[customers]]\ncost = { linear = 1.0, quadratic = 1.0 }\n",
    )
    .unwrap();
    let crit = critical_step(&m, Behaviour::Competitive).unwrap();
    assert!(close(crit, 4.0 / 3.0, 1e-12), "γ* = {crit}");
    let settings = SimulationSettings {
        start_price: 2.0,
        max_rounds: 5_000,
        ..SimulationSettings::default()
    };
    let below = simulate(
        &m,
        Behaviour::Competitive,
        PriceUpdate::Paper { step: 0.95 * crit },
        settings.clone(),
    )
    .unwrap();
    assert_eq!(below.termination, Termination::Converged);
    assert!(close(below.price, 3.0, 1e-8));
    let above = simulate(
        &m,
        Behaviour::Competitive,
        PriceUpdate::Paper { step: 1.05 * crit },
        settings,
    )
    .unwrap();
    assert_ne!(above.termination, Termination::Converged);
    // The mismatch alternates in sign and does not shrink.
    let tail = &above.trace[above.trace.len() - 20..];
    assert!(tail.windows(2).all(|w| w[0].mismatch * w[1].mismatch < 0.0));
    assert!(tail.last().unwrap().relative_mismatch > 1e-3);
}

/// Bad cost forms are typed errors naming the field as the file writes it, and the value.
#[test]
fn bad_cost_forms_name_the_field() {
    let err = |cost: &str| {
        let e = market(&format!(
            "deficit = 1.0\n[[customers]]\ncost = {cost}\n[[customers]]\ncost = {{ half_quadratic = 1.0 }}\n"
        ))
        .unwrap_err();
        (e.field(), e.to_string())
    };
    let (f, m) = err("{ power = 1.0, exponent = 0.5 }");
    assert_eq!(f, "customers[0].cost.exponent");
    assert!(m.contains("0.5"), "{m}");
    let (f, m) = err("{ power = -2.0, exponent = 2.0 }");
    assert_eq!(f, "customers[0].cost.power");
    assert!(m.contains("-2"), "{m}");
    let (f, _) = err("{ power = 1.0, exponent = nan }");
    assert_eq!(f, "customers[0].cost.exponent");
    let (f, _) = err("{ exponential = 0.0, rate = 1.0 }");
    assert_eq!(f, "customers[0].cost.exponential");
    let (f, _) = err("{ exponential = 1.0, rate = -1.0 }");
    assert_eq!(f, "customers[0].cost.rate");
    let (f, m) = err("{ slopes = [1.0, 3.0, 2.0], breakpoints = [1.0, 2.0] }");
    assert_eq!(f, "customers[0].cost.slopes[2]");
    assert!(m.contains("non-decreasing"), "{m}");
    let (f, m) = err("{ slopes = [1.0, 2.0, 3.0], breakpoints = [2.0, 1.0] }");
    assert_eq!(f, "customers[0].cost.breakpoints[1]");
    assert!(m.contains("strictly increasing"), "{m}");
    let (f, _) = err("{ slopes = [1.0, 2.0], breakpoints = [] }");
    assert_eq!(f, "customers[0].cost.breakpoints");
    let (f, _) = err("{ slopes = [1.0, nan], breakpoints = [1.0] }");
    assert_eq!(f, "customers[0].cost.slopes[1]");
    // Two forms at once, or a mix of keys.
    let (f, _) = err("{ quadratic = 1.0, rate = 1.0 }");
    assert_eq!(f, "customers[0].cost");
    // A soft and a hard capacity together.
    let e = market(
        "deficit = 1.0\n[[customers]]\ncost = { half_quadratic = 1.0 }\ncapacity = 1.0\n\
         capacity_penalty = { capacity = 1.0, weight = 1.0 }\n",
    )
    .unwrap_err();
    assert_eq!(e.field(), "customers[0].capacity_penalty");
    let e = market(
        "deficit = 1.0\n[[customers]]\ncost = { half_quadratic = 1.0 }\n\
         capacity_penalty = { capacity = 1.0, weight = 0.0 }\n",
    )
    .unwrap_err();
    assert_eq!(e.field(), "customers[0].capacity_penalty.weight");
}

/// The piecewise-linear cost's value and one-sided derivatives by hand.
#[test]
fn piecewise_linear_cost_by_hand() {
    let c = PiecewiseLinearCost::new(vec![1.0, 2.0, 4.0], vec![1.5, 3.0]).unwrap();
    assert_eq!(c.value(1.0), 1.0);
    assert_eq!(c.value(2.0), 1.5 + 2.0 * 0.5);
    assert_eq!(c.value(4.0), 1.5 + 3.0 + 4.0);
    assert_eq!((c.left_derivative(1.5), c.derivative(1.5)), (1.0, 2.0));
    assert_eq!((c.left_derivative(2.0), c.derivative(2.0)), (2.0, 2.0));
    assert_eq!(c.inverse_derivative(1.5, 0.0, f64::INFINITY), 1.5);
    assert_eq!(c.inverse_derivative(0.5, 0.0, f64::INFINITY), 0.0);
    assert_eq!(c.inverse_derivative(5.0, 0.0, 10.0), 10.0);
}

/// Three identical piecewise-linear customers (slopes 1 | 3 at q = 1), d = 3: by symmetry
/// and strict convexity of D every load is 1 (competitive and Nash), while the prices are
/// intervals: p̄ ∈ [1, 3] and p* ∈ (3 − 1)/(3 − 2) · [1, 3] = [2, 6] (by hand). Whatever
/// price the solver reports, its certificate holds and no customer gains by deviating.
#[test]
fn piecewise_linear_price_interval_when_every_customer_sits_on_a_kink() {
    let one = "[[customers]]\ncost = { slopes = [1.0, 3.0], breakpoints = [1.0] }\n";
    let m = market(&format!("deficit = 3.0\n{one}{one}{one}")).unwrap();
    let ce = competitive_equilibrium(&m).unwrap();
    assert!(ce.certificate.status.is_solved(), "{:?}", ce.certificate);
    assert!((1.0..=3.0).contains(&ce.price), "p̄ = {}", ce.price);
    assert!(ce.loads.iter().all(|&q| close(q, 1.0, 1e-12)));
    let ne = nash_equilibrium(&m).unwrap();
    assert!(ne.certificate.status.is_solved(), "{:?}", ne.certificate);
    assert!((2.0..=6.0).contains(&ne.price), "p* = {}", ne.price);
    assert!(ne.loads.iter().all(|&q| close(q, 1.0, 1e-12)));
    assert!(nash_gain(&m, &ne.bids).unwrap().max_relative_gain < 1e-12);
}
