//! The peak-demand mechanism of wei-anastasopoulos on a small energy community.
//!
//! Five households, six periods (an evening split in blocks), log and quadratic utilities,
//! per-household bounds, a community energy cap and a feeder cap in the last period:
//! 1. the planner's problem (3) with its prices `λ`, `μ` and certificate;
//! 2. the Nash equilibrium of Theorem 2, taxes (7), balanced taxes (Theorem 4), payoffs
//!    against the outside option `v^i(0)` (Theorem 3), and the exact best-response gains;
//! 3. the distributed mechanism on a neighbourhood network with a cycle (its BFS tree);
//! 4. learning the NE by the distributed price-adjustment dynamic, and the best-response
//!    dynamic's failure on the same instance.
//!
//! Run: `cargo run --example mechanism`.

use dr_mechanism::{
    solve_planner, CentralizedMechanism, DistributedMechanism, Learner, LearningRule,
    LearningSettings, MechanismError, MechanismSettings, Model, Network, PlannerSettings, User,
};

fn main() -> Result<(), MechanismError> {
    let prices = vec![0.10, 0.12, 0.15, 0.25, 0.30, 0.20];
    let model = Model::builder(prices, 1.5)
        .user(User::log(&[1.0, 1.2, 1.5, 2.0, 2.2, 1.4], 1.0))
        .user(User::log(&[0.8, 0.8, 1.0, 1.8, 2.5, 2.0], 0.5))
        .user(User::quadratic(&[1.5, 1.4, 1.6, 2.0, 2.2, 1.8], &[1.0; 6]))
        .user(User::quadratic(&[1.2, 1.0, 1.1, 1.9, 2.4, 2.1], &[0.8; 6]))
        .user(User::log(&[1.1, 1.0, 1.2, 1.6, 1.9, 1.5], 1.5))
        .upper_bounds(2, &[2.0; 6])
        .lower_bounds(4, &[-0.5; 6]) // household 4 can export from a battery
        .community_total(20.0)
        .community_cap(5, 3.0)
        .build()?;
    let (n, t_len) = (model.users(), model.periods());

    // 1. Planner.
    let opt = solve_planner(&model, &PlannerSettings::default())?;
    println!(
        "planner: welfare {:.6}, J(x*) {:.6}, peak {:.4}",
        opt.welfare, opt.energy_cost, opt.peak
    );
    println!("  certificate {:?}", opt.certificate);
    println!(
        "  mu (peak prices, sum = p0 = 1.5): {:?}",
        round(&opt.peak_multipliers)
    );
    for l in 0..model.rows() {
        if opt.constraint_multipliers[l] > 0.0 {
            println!(
                "  binding row {l} ({}): lambda = {:.6}",
                model.row_kind(l),
                opt.constraint_multipliers[l]
            );
        }
    }
    for i in 0..n {
        println!(
            "  x*[{i}] = {:?}",
            round(&opt.allocation[i * t_len..(i + 1) * t_len])
        );
    }

    // 2. Centralized mechanism at the NE of Theorem 2.
    let mech = CentralizedMechanism::new(&model, MechanismSettings::default())?;
    let ne = mech.nash_equilibrium(&opt)?;
    let ev = mech.evaluate(&ne)?;
    let t4 = mech.theorem4(&ne)?;
    println!(
        "\ncentralized NE: max best-response gain {:.2e}",
        ev.max_gain
    );
    for i in 0..n {
        println!(
            "  user {i}: tax {:.6}, balanced tax {:.6}, payoff {:.6} >= v(0) {:.6}",
            ev.taxes[i].total, ev.balanced_taxes[i], ev.payoffs[i], ev.utility_at_zero[i]
        );
    }
    println!(
        "  planner surplus {:.6} = sum lambda b {:.6}; balanced taxes sum {:.6} = J {:.6}",
        t4.planner_surplus,
        t4.price_revenue,
        t4.balanced_taxes.iter().sum::<f64>(),
        ev.energy_cost
    );

    // 3. Distributed mechanism on a neighbourhood network with a cycle.
    let network = Network::from_edges(n, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (1, 3)], 0)?;
    println!(
        "\nnetwork: tree edges {:?}, dropped {:?}",
        network.tree_edges(),
        network.dropped_edges()
    );
    let dm = DistributedMechanism::new(&model, network, MechanismSettings::default())?;
    let dne = dm.nash_equilibrium(&opt)?;
    let dev = dm.evaluate(&dne)?;
    println!(
        "  distributed NE: max gain {:.2e}, {:?}",
        dev.max_gain,
        dm.lemma5(&dne)?
    );

    // 4. Learning.
    for rule in [
        LearningRule::PriceAdjustment {
            step: 0.1,
            consensus: 0.5,
        },
        LearningRule::BestResponse { damping: 0.3 },
    ] {
        let settings = LearningSettings {
            rule,
            max_rounds: 5_000,
            tolerance: 1e-10,
        };
        let out = Learner::new(&dm, dm.starting_profile(), settings)?.run();
        let dist = out
            .profile
            .y
            .iter()
            .zip(&opt.allocation)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        println!(
            "\nlearning {rule:?}: {:?} after {} rounds, max gain {:.2e}, max |y - x*| {:.2e}",
            out.termination, out.rounds, out.max_gain, dist
        );
    }
    Ok(())
}

fn round(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| (x * 1e4).round() / 1e4).collect()
}
