//! The distributed mechanism of wei-anastasopoulos (§V) on a message network built with the
//! `petgraph` that dr-mechanism re-exports (no direct petgraph dependency, so its version
//! always matches).
//!
//! Four households on a ring (a cycle: the mechanism uses its breadth-first spanning tree,
//! Assumption 3), two periods. The example solves the planner's problem (3), builds the
//! distributed mechanism's Nash equilibrium from it, and checks that no household gains by
//! changing its message alone and that the allocation is the planner's.
//!
//! Run: `cargo run -p dr-mechanism --example petgraph_network`.

use dr_mechanism::petgraph::graph::UnGraph;
use dr_mechanism::{
    solve_planner, DistributedMechanism, MechanismError, MechanismSettings, Model, Network,
    PlannerSettings, User,
};

fn main() -> Result<(), MechanismError> {
    let model = Model::builder(vec![0.1, 0.3], 0.5)
        .user(User::log(&[1.0, 2.0], 1.0))
        .user(User::quadratic(&[2.0, 1.5], &[1.0, 1.0]))
        .user(User::log(&[1.5, 1.0], 0.5))
        .user(User::quadratic(&[1.0, 2.5], &[0.5, 0.5]))
        .community_total(4.0)
        .build()?;
    let ring = UnGraph::<(), ()>::from_edges([(0, 1), (1, 2), (2, 3), (3, 0)]);
    let network = Network::spanning_tree(&ring, model.users(), 0)?;
    println!(
        "spanning tree edges {:?}, dropped {:?}",
        network.tree_edges(),
        network.dropped_edges()
    );
    // A spanning tree of 4 nodes has 3 edges: the ring's fourth edge is dropped.
    assert_eq!(
        (network.tree_edges().len(), network.dropped_edges().len()),
        (3, 1)
    );

    let optimum = solve_planner(&model, &PlannerSettings::default())?;
    assert!(optimum.certificate.holds(1e-8));
    let mechanism = DistributedMechanism::new(&model, network, MechanismSettings::default())?;
    let ne = mechanism.nash_equilibrium(&optimum)?;
    let eval = mechanism.evaluate(&ne)?;
    println!(
        "planner welfare {:.6}; largest gain from a unilateral deviation {:.1e}",
        optimum.welfare, eval.max_gain
    );
    // Theorem 2 (distributed form): at the equilibrium no user gains by deviating.
    assert!(eval.max_gain <= 1e-8);
    Ok(())
}
