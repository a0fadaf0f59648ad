//! Demand shaping over a 24-hour day (chen-li-low-doyle-2010 §IV): 60 customers in three
//! classes whose preferred loads peak in the evening, a supply cost that is steeper in the
//! evening peak. Prints the competitive equilibrium (Theorem 6) hour by hour next to the
//! unshaped loads (every customer's optimum under the flat average price), the strategic
//! equilibrium (Theorem 7) with its largest unilateral gain, the interior-point cross-check,
//! and the distributed schemes: the papers' gradient scheme (eqs. 41–42) with a safe and a
//! too-large step, and the fast Newton variant.
//!
//! The 100-customer scenario file behind `dr demo` is `data/shaping_day.toml`.
//!
//! Run: `cargo run --release --example shaping`.

use dr_convex::ipm::IpmSettings;
use dr_shaping::{
    competitive_equilibrium, competitive_equilibrium_ipm, critical_step, nash_gain, simulate,
    strategic_equilibrium, Behaviour, Customers, Scheme, ShapingModel, SimulationSettings,
    SupplyCost,
};

/// A smooth bump centred at hour `c` of width `w` (cyclic over the day).
fn bump(hour: usize, c: f64, w: f64) -> f64 {
    let d = (hour as f64 - c).abs();
    let d = d.min(24.0 - d);
    (-(d / w).powi(2)).exp()
}

fn model() -> Result<ShapingModel, dr_shaping::ShapingError> {
    let periods = 24;
    let mut customers = Customers::new(periods)?;
    for i in 0..60 {
        let scale = 0.85 + 0.3 * ((i * 37) % 60) as f64 / 60.0;
        match i % 3 {
            // Households: U = θ_t q − ½ κ q², evening peak around 19:30.
            0 => {
                let theta: Vec<f64> = (0..periods)
                    .map(|t| scale * (0.2 + 0.1 * bump(t, 7.5, 1.5) + 0.38 * bump(t, 19.5, 2.0)))
                    .collect();
                customers.push_quadratic(&theta, &vec![0.18; periods], 10.0, 26.0)?;
            }
            // Offices: a daytime plateau.
            1 => {
                let theta: Vec<f64> = (0..periods)
                    .map(|t| scale * if (8..=16).contains(&t) { 0.45 } else { 0.08 })
                    .collect();
                customers.push_quadratic(&theta, &vec![0.10; periods], 15.0, 40.0)?;
            }
            // Electric vehicles: U = w_t ln(1 + q), a fixed daily energy of 18 kWh.
            _ => {
                let weight: Vec<f64> = (0..periods)
                    .map(|t| scale * (0.15 + 0.45 * bump(t, 20.5, 3.0) + 0.25 * bump(t, 2.0, 3.0)))
                    .collect();
                customers.push_log(&weight, &vec![1.0; periods], 18.0, 18.0)?;
            }
        }
    }
    let curvature = (0..periods)
        .map(|t| {
            if (17..=21).contains(&t) {
                0.0025
            } else {
                0.0012
            }
        })
        .collect();
    let linear = (0..periods)
        .map(|t| if (6..=22).contains(&t) { 0.06 } else { 0.04 })
        .collect();
    ShapingModel::new(customers, SupplyCost::quadratic(curvature, linear)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = model()?;
    let ce = competitive_equilibrium(&model)?;
    let ne = strategic_equilibrium(&model)?;
    println!(
        "{} customers over {} hours; competitive equilibrium in {} price evaluations, \
         certificate residual {:.1e}",
        model.len(),
        model.periods(),
        ce.certificate.iterations,
        ce.certificate.max_residual()
    );
    println!("\n hour   price   total load   unshaped load   strategic price");
    for t in 0..model.periods() {
        println!(
            "  {t:2}   {:.4}   {:10.2}   {:13.2}   {:.4}",
            ce.prices[t], ce.total_load[t], ce.unshaped.total_load[t], ne.prices[t]
        );
    }
    println!(
        "\npeak-to-average ratio {:.3} (load factor {:.3}); unshaped at the flat price {:.4}: \
         {:.3} (load factor {:.3})",
        ce.peak_to_average,
        ce.load_factor,
        ce.unshaped.flat_price,
        ce.unshaped.peak_to_average,
        ce.unshaped.load_factor
    );
    let gain = nash_gain(&model, &ne.loads)?;
    println!(
        "welfare: competitive {:.4}, strategic {:.4} (loss {:.2e}); largest unilateral gain at \
         the Nash equilibrium {:.1e} (relative), at the competitive loads {:.1e}",
        ce.welfare,
        ne.welfare,
        ce.welfare - ne.welfare,
        gain.max_relative_gain,
        nash_gain(&model, &ce.loads)?.max_relative_gain
    );

    let ipm = competitive_equilibrium_ipm(&model, &IpmSettings::default())?;
    let diff = ce
        .prices
        .iter()
        .zip(&ipm.prices)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "interior-point cross-check: {} iterations, largest price difference {diff:.1e}",
        ipm.certificate.iterations
    );

    let crit = critical_step(&model, Behaviour::Competitive).unwrap_or(1e-3);
    for (label, step) in [("0.9 × 2/L", 0.9 * crit), ("40 × 2/L", 40.0 * crit)] {
        let run = simulate(
            &model,
            &SimulationSettings {
                step: Some(step),
                max_rounds: 50_000,
                ..Default::default()
            },
        )?;
        println!(
            "gradient scheme, step {label} = {step:.3}: {:?} after {} rounds ({} messages), \
             residual {:.1e}",
            run.termination, run.rounds, run.messages, run.residual
        );
    }
    let run = simulate(
        &model,
        &SimulationSettings {
            scheme: Scheme::Newton,
            ..Default::default()
        },
    )?;
    println!(
        "fast Newton scheme: {:?} after {} rounds ({} messages)",
        run.termination, run.rounds, run.messages
    );
    Ok(())
}
