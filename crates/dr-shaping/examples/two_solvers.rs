//! Demand shaping (chen-li-low-doyle-2010 §IV): the competitive equilibrium of a small day
//! by two independent solvers — the structure-exploiting price Newton (the default path)
//! and the kernel's interior-point method on the full welfare problem (Theorem 6) — which
//! must agree. Uses only `dr-shaping` (the IPM settings are re-exported).
//!
//! Run: `cargo run -p dr-shaping --example two_solvers`.

use dr_shaping::{
    competitive_equilibrium, competitive_equilibrium_ipm, Customers, IpmSettings, ShapingError,
    ShapingModel, SupplyCost,
};

fn main() -> Result<(), ShapingError> {
    // Three customers over T = 4 periods, a supply cost ½ c Q² + e Q steeper in period 3.
    let mut customers = Customers::new(4)?;
    customers.push_quadratic(&[2.0, 3.0, 3.5, 2.5], &[1.0; 4], 2.0, 8.0)?;
    customers.push_quadratic(&[1.5, 2.0, 3.0, 2.0], &[0.5; 4], 1.0, 10.0)?;
    customers.push_log(&[1.0, 1.5, 2.5, 1.0], &[1.0; 4], 3.0, 3.0)?;
    let supply = SupplyCost::quadratic(vec![0.5, 0.5, 0.5, 1.5], vec![0.1; 4])?;
    let model = ShapingModel::new(customers, supply)?;

    let newton = competitive_equilibrium(&model)?;
    let ipm = competitive_equilibrium_ipm(&model, &IpmSettings::default())?;
    assert!(newton.certificate.holds(1e-9) && ipm.certificate.holds(1e-8));
    let scale = newton.prices.iter().fold(0.0_f64, |m, p| m.max(p.abs()));
    for t in 0..4 {
        println!(
            "period {t}: price {:.6} (Newton) {:.6} (IPM), total load {:.6}",
            newton.prices[t], ipm.prices[t], newton.total_load[t]
        );
        // Eq. 30: the price is the marginal supply cost of the total load ...
        let marginal = model.supply().marginal(t, newton.total_load[t]);
        assert!((newton.prices[t] - marginal).abs() <= 1e-9 * scale);
        // ... and the two solvers agree.
        assert!((newton.prices[t] - ipm.prices[t]).abs() <= 1e-6 * scale);
    }
    println!(
        "welfare {:.6} (Newton) {:.6} (IPM)",
        newton.welfare, ipm.welfare
    );
    Ok(())
}
