//! The Stackelberg case studies of alshehri-liu-chen-basar §VIII: the EcoGrid EU day and the
//! Dutch pilot, equilibrium prices against the experiments', payments and savings, and the
//! distributed algorithm's rounds.
//!
//! Run with `cargo run --release --example stackelberg`.

use dr_stackelberg::studies::{self, CaseStudy};
use dr_stackelberg::{PriceUpdate, StackelbergError};

fn table(s: &CaseStudy) {
    let c = &s.currency;
    println!(
        "== {} (T = {}, N = {}, K = 1) ==",
        s.name, s.periods, s.consumers
    );
    println!(
        "energy need {:.3} kWh per consumer; budget (Theorem 1 at the experiment's prices) {:.4} {c}",
        s.energy_need, s.budget_per_consumer
    );
    println!(
        "{:>4} {:>10} {:>12} {:>12} {:>14} {:>14}",
        "hour", "G(t) kW", "p_exp", "p_eq", "pay_exp (all)", "pay_eq (all)"
    );
    for t in 0..s.periods {
        println!(
            "{:>4} {:>10.1} {:>12.4} {:>12.4} {:>14.2} {:>14.2}",
            t,
            s.supply[t],
            s.experiment_prices[t],
            s.prices[t],
            s.hourly_payment_experiment[t],
            s.hourly_payment_equilibrium[t]
        );
    }
    println!(
        "prices: experiment mean {:.4} sd {:.4}; equilibrium mean {:.4} sd {:.4} ({c}/kWh)",
        s.experiment_price_mean, s.experiment_price_std, s.price_mean, s.price_std
    );
    println!(
        "payment per consumer: experiment {:.4} {c}, equilibrium {:.4} {c}; savings {:.1}%",
        s.payment_experiment,
        s.payment_equilibrium,
        100.0 * s.savings_fraction
    );
    if !s.eq11_valid {
        println!(
            "(eq. 11 alone would give a budget of {:.4} {c} and savings of {:.1}%, but eq. 10 then \
             needs a negative demand at the experiment's peak price)",
            s.budget_eq11,
            100.0 * s.savings_fraction_eq11
        );
    }
    let cert = &s.equilibrium_certificate;
    println!(
        "certificate: system (13) residual {:.1e}, eq. 14 vs faer {:.1e}, supply balance {:.1e}, \
         budgets {:.1e}, consumer KKT {:.1e}\n",
        cert.linear_system_residual,
        cert.closed_form_vs_linear_system,
        cert.supply_balance,
        cert.budget_residual,
        cert.consumer_kkt
    );
}

fn rounds(title: &str, runs: &[studies::DistributedStudy]) {
    println!("{title}");
    for r in runs {
        println!(
            "  {:<28} {:>5} rounds  {:?}  max price error {:.1e}",
            format!("{:?}", r.update),
            r.run.rounds,
            r.run.termination,
            r.max_price_error
        );
    }
    println!();
}

fn main() -> Result<(), StackelbergError> {
    let eco = studies::ecogrid_eu_day()?;
    table(&eco);
    let dutch = studies::dutch_pilot_day()?;
    table(&dutch);

    let updates = [
        PriceUpdate::Paper { delta: 0.0 },
        PriceUpdate::Paper { delta: 5e3 },
        PriceUpdate::Secant,
        PriceUpdate::Steffensen,
    ];
    rounds(
        "EcoGrid EU day, distributed algorithm (eq. 21):",
        &studies::ecogrid_day_distributed(&updates)?,
    );
    rounds(
        "EcoGrid classes, K = 4, T = 24 (Fig. 5):",
        &studies::ecogrid_distributed(24, &updates)?,
    );
    rounds(
        "Dutch pilot (Fig. 7):",
        &studies::dutch_distributed(&[
            PriceUpdate::Paper { delta: 0.0 },
            PriceUpdate::Secant,
            PriceUpdate::Steffensen,
        ])?,
    );

    let sweep = studies::ecogrid_period_sweep(&[1, 2, 4, 8, 12, 24, 50])?;
    println!("EcoGrid classes (budgets 4..8 DKK), K = 4, equal allocations (Fig. 4):");
    println!(
        "{:>4} {:>40} {:>44}",
        "T", "prices p_k (DKK/kWh)", "utility per consumer, classes 4..8 DKK"
    );
    for p in &sweep.points {
        let prices: Vec<String> = p.prices.iter().map(|r| format!("{:.4}", r[0])).collect();
        let u: Vec<String> = p.utilities.iter().map(|u| format!("{u:.2}")).collect();
        let note = if p.water_filling_classes.is_empty() {
            String::new()
        } else {
            format!("  (water-filling classes {:?})", p.water_filling_classes)
        };
        println!(
            "{:>4} {:>40} {:>44}{note}",
            p.periods,
            prices.join(" "),
            u.join(" ")
        );
    }
    let limits: Vec<String> = sweep
        .utility_limit
        .iter()
        .map(|l| format!("{:.2}", l.unwrap_or(f64::NAN)))
        .collect();
    println!("limit (eq. 25): {}", limits.join(" "));
    Ok(())
}
