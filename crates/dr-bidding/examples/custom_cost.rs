//! Supply-function bidding with a custom convex cost, using only `dr-bidding`.
//!
//! Three customers shed a deficit `d = 3`; customer `i` has the cost
//! `C_i(q) = a_i (e^q − 1)` (convex, increasing, `C_i(0) = 0`, as li-chen-dahleh-2015 §II
//! asks), built with the re-exported `ClosureConvex`. The example solves the competitive
//! equilibrium (Theorem 1: `p̄ = C_i'(q̄_i)` for every customer that sheds) and the Nash
//! equilibrium (Theorem 3), and checks both: the competitive KKT conditions by hand, and
//! "no customer gains by changing its bid alone" with `nash_gain`.
//!
//! Run: `cargo run -p dr-bidding --example custom_cost`.

use dr_bidding::{
    competitive_equilibrium, nash_equilibrium, nash_gain, ClosureConvex, ConvexScalar, Market,
};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = [1.0, 1.5, 2.0];
    let deficit = 3.0;
    let costs: Vec<Arc<dyn ConvexScalar>> = a
        .iter()
        .map(
            |&ai| -> Result<Arc<dyn ConvexScalar>, dr_bidding::InputError> {
                Ok(Arc::new(ClosureConvex::new(
                    move |q| ai * (q.exp() - 1.0),
                    move |q| ai * q.exp(),
                    move |q| ai * q.exp(),
                    (f64::NEG_INFINITY, f64::INFINITY),
                )?))
            },
        )
        .collect::<Result<_, _>>()?;
    let market = Market::general(costs, deficit)?;

    let ce = competitive_equilibrium(&market)?;
    println!("competitive: price {:.6}, loads {:?}", ce.price, ce.loads);
    let shed: f64 = ce.loads.iter().sum();
    assert!(
        (shed - deficit).abs() <= 1e-9 * deficit,
        "loads sum to the deficit"
    );
    for (i, (&q, &ai)) in ce.loads.iter().zip(&a).enumerate() {
        // Theorem 1: the price equals every shedding customer's marginal cost.
        let marginal = ai * q.exp();
        println!("  customer {i}: q = {q:.6}, C'(q) = {marginal:.6}");
        assert!(q > 0.0 && (marginal - ce.price).abs() <= 1e-8 * ce.price);
    }

    let ne = nash_equilibrium(&market)?;
    let gain = nash_gain(&market, &ne.bids)?;
    println!(
        "Nash: price {:.6} (> {:.6}), loads {:?}, largest relative gain from a unilateral \
         deviation {:.1e}",
        ne.price, ce.price, ne.loads, gain.max_relative_gain
    );
    // Theorem 5: the Nash price is above the competitive one; no customer gains by deviating.
    assert!(ne.price > ce.price);
    assert!(gain.max_relative_gain < 1e-6);
    assert!(ce.certificate.holds(1e-9) && ne.certificate.holds(1e-9));
    Ok(())
}
