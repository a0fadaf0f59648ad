//! Supply-function bidding on the 30-customer market of li-chen-dahleh-2015 Fig. 1
//! (`C_i(q) = a_i q + h_i q²`, `a_i ~ U[1,2]`, `h_i ~ U[0.5,4.5]`, `d = 10`): both equilibria,
//! the efficiency report (Theorem 5), and the rounds the iterative schemes need with the
//! paper's step `γ = 0.1` and with the fast rule.
//!
//! Run: `cargo run --example bidding`.

use dr_bidding::{nash_gain, solve, PriceUpdate};

use dr_bidding::studies::{convergence_study, ConvergenceConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ConvergenceConfig::figure1();
    let market = config.market()?;
    let report = solve(&market)?;
    println!(
        "{} customers, deficit d = {} (seed {})",
        market.len(),
        market.deficit(),
        config.seed
    );
    for eq in [&report.competitive, &report.nash] {
        println!(
            "\n{:?} equilibrium: price {:.6}, total cost {:.6}, {} active customers, certificate residual {:.1e}",
            eq.kind,
            eq.price,
            eq.total_cost,
            eq.water_filling.active,
            eq.certificate.max_residual()
        );
        println!("  customer      a        h     bid      load   net revenue");
        for i in (0..market.len()).step_by(5) {
            println!(
                "  {:>8} {:>6.3} {:>8.3} {:>7.4} {:>9.4} {:>13.5}",
                i,
                market.base_marginal_cost(i),
                0.5 * (market.marginal_cost(i, 1.0) - market.marginal_cost(i, 0.0)),
                eq.bids[i],
                eq.loads[i],
                eq.net_revenues[i]
            );
        }
    }
    let gain = nash_gain(&market, &report.nash.bids)?;
    println!(
        "\nlargest unilateral gain at the Nash equilibrium: {:.1e} (relative)",
        gain.max_relative_gain
    );
    let e = &report.efficiency;
    println!("\nEfficiency (Theorem 5):");
    println!(
        "  p*/p̄ = {:.6} ≤ bound {:.6}",
        e.price_ratio, e.price_ratio_bound
    );
    match e.cost_ratio_bound {
        Some(b) => println!("  C*/C̄ = {:.6} ≤ bound {:.6}", e.cost_ratio, b),
        None => println!("  C*/C̄ = {:.6} (no bound: q̄_max ≥ d/2)", e.cost_ratio),
    }
    println!("  N̄ ⊆ N*: {}", e.active_sets_nested);

    let study = convergence_study(&config)?;
    println!(
        "\nIterative bidding (critical fixed steps: competitive {:.3}, strategic {:.3}):",
        study.competitive_critical_step, study.nash_critical_step
    );
    for run in &study.runs {
        let rule = match run.update {
            PriceUpdate::Paper { step } => format!("paper γ = {step}"),
            PriceUpdate::Fast => "fast".to_string(),
        };
        println!(
            "  {:<12} {:<14} {:?} after {:>3} rounds; price within 1e-9 at round {:?}",
            format!("{:?}", run.behaviour),
            rule,
            run.run.termination,
            run.run.rounds,
            run.rounds_to_price_tolerance
        );
    }
    Ok(())
}
