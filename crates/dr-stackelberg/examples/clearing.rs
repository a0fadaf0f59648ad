//! The Stackelberg pricing game of alshehri-liu-chen-basar with budget-limited consumers:
//! equilibrium prices by the closed form (eq. 14) and by the linear system (13), checked
//! for market clearing (every company sells its supply) and budget balance (eq. 15).
//! Uses only `dr-stackelberg`.
//!
//! Run: `cargo run -p dr-stackelberg --example clearing`.

use dr_stackelberg::{
    solve_equilibrium, Company, ConsumerClasses, EquilibriumSettings, Market, StackelbergError,
};

fn main() -> Result<(), StackelbergError> {
    // Three companies, four periods, 200 identical consumers with budget 8 each.
    let supply = [
        vec![40.0, 60.0, 80.0, 50.0],
        vec![30.0, 30.0, 45.0, 25.0],
        vec![10.0, 20.0, 30.0, 20.0],
    ];
    let market = Market::new(
        4,
        supply.iter().map(|g| Company::new(g.clone())).collect(),
        ConsumerClasses::homogeneous(200.0, 8.0, 0.0),
    )?;
    let eq = solve_equilibrium(&market, &EquilibriumSettings::default())?;
    for (k, g) in supply.iter().enumerate() {
        for (demand, supply) in eq.aggregate_demand[k].iter().zip(g) {
            // The prices clear the market: the demand for company k in a period is its supply.
            assert!((demand - supply).abs() <= 1e-9 * supply);
        }
        println!("company {k}: revenue {:.6}", eq.revenues[k]);
    }
    let revenue: f64 = eq.revenues.iter().sum();
    // Eq. 15: the consumers spend their whole budgets, 200 × 8.
    assert!((revenue - 1600.0).abs() <= 1e-9 * 1600.0);
    // Eq. 14 and the solution of system (13) agree.
    assert!(eq.certificate.checks.closed_form_vs_linear_system < 1e-12);
    assert!(eq.certificate.certificate.holds(1e-9));
    println!(
        "total revenue {revenue:.6}; eq. 14 vs system (13): {:.1e}",
        eq.certificate.checks.closed_form_vs_linear_system
    );
    Ok(())
}
