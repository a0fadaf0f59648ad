//! The distributed mechanism on a hand-drawn cyclic network: which edges carry messages
//! and why the others stay idle ([`MessageRouting`]), checked against the tree drawn by
//! hand, and "no message on an idle edge" checked on the taxes themselves.
//!
//! ```text
//!     0 ─── 1          edges: 0–1, 1–2, 2–3, 3–0 (a square), 1–3 (a diagonal), 3–4
//!     │   ╱ │          BFS from 0 (neighbours in index order): 0 reaches 1 and 3,
//!     │  ╱  │          1 reaches 2, 3 reaches 4. Tree: 0–1, 0–3, 1–2, 3–4.
//!     3 ─── 2          Idle: 2–3 (tree path 2–1–0–3) and 1–3 (tree path 1–0–3).
//!     │
//!     4
//! ```

use dr_mechanism::{
    run_scenario, solve_planner, DistributedMechanism, MechanismSettings, MessageRouting, Model,
    Network, PlannerSettings, ProxyRoute, Scenario, ScenarioSettings, User,
};

const EDGES: [(usize, usize); 6] = [(0, 1), (1, 2), (2, 3), (3, 0), (1, 3), (3, 4)];

fn model() -> Model {
    Model::builder(vec![0.1, 0.2, 0.15], 0.5)
        .user(User::quadratic_satiation(
            &[2.0, 1.5, 1.0],
            &[1.0, 1.0, 2.0],
        ))
        .user(User::power(&[2.0, 1.0, 1.5], 0.5, 1.0))
        .user(User::log(&[1.0, 2.0, 1.0], 1.0))
        .user(User::quadratic(&[1.0, 2.0, 1.5], &[1.0, 1.0, 1.0]))
        .user(User::power(&[1.0, 1.0, 3.0], 0.3, 2.0))
        .community_cap(1, 3.0)
        .upper_bounds(1, &[4.0, 4.0, 4.0])
        .build()
        .unwrap()
}

#[test]
fn routing_is_the_hand_drawn_tree_with_the_idle_edges_explained() {
    let net = Network::from_edges(5, &EDGES, 0).unwrap();
    let g = MessageRouting::of(&net);
    let used: Vec<(usize, usize)> = g.edges_used.iter().map(|e| (e.parent, e.child)).collect();
    assert_eq!(used, vec![(0, 1), (0, 3), (1, 2), (3, 4)]);
    let idle: Vec<((usize, usize), Vec<usize>)> = g
        .edges_idle
        .iter()
        .map(|e| (e.edge, e.tree_path.clone()))
        .collect();
    assert_eq!(
        idle,
        vec![((2, 3), vec![2, 1, 0, 3]), ((1, 3), vec![1, 0, 3])]
    );
    assert!(g.edges_idle[0]
        .reason
        .contains("closes the cycle 2–1–0–3–2"));
    assert_eq!(g.hops_from_root, vec![0, 1, 2, 1, 2]);
    // Subtrees: 0–1 leads to {1, 2}, 0–3 to {3, 4}, 1–2 to {2}, 3–4 to {4}.
    let through: Vec<(usize, usize)> = g
        .edges_used
        .iter()
        .map(|e| (e.users_through_child, e.users_through_parent))
        .collect();
    assert_eq!(through, vec![(2, 3), (2, 3), (1, 4), (1, 4)]);
    // φ: every user's parent holds its proxy; the root's proxy is held by its smallest
    // child, user 1.
    assert_eq!(
        g.edges_used[0].proxies,
        vec![
            ProxyRoute { holder: 0, of: 1 },
            ProxyRoute { holder: 1, of: 0 }
        ]
    );
    assert_eq!(
        g.edges_used[3].proxies,
        vec![ProxyRoute { holder: 3, of: 4 }]
    );
    // The independent check agrees, and catches a routing that is not a spanning tree.
    assert!(g.spanning_tree_claim(5, &EDGES).holds);
    let mut bad = g.clone();
    let extra = bad.edges_used[0].clone();
    bad.edges_used.push(dr_mechanism::UsedEdge {
        parent: 1,
        child: 3,
        ..extra
    });
    bad.edges_idle.retain(|e| e.edge != (1, 3));
    let c = bad.spanning_tree_claim(5, &EDGES);
    assert!(!c.holds && c.evidence.contains("closes a cycle"), "{c:?}");
    let mut unreached = g.clone();
    unreached.edges_used.pop();
    assert!(!unreached.spanning_tree_claim(5, &EDGES).holds);
}

/// No message travels on an idle edge: user 3's tax reads the messages of its tree
/// neighbours 0 and 4 only. Changing every message user 2 or user 1 announces (both are
/// joined to 3 by idle edges) leaves `t̂^3` exactly unchanged; changing user 4's (a tree
/// neighbour) changes it.
#[test]
fn no_message_travels_on_an_idle_edge() {
    let model = model();
    let net = Network::from_edges(5, &EDGES, 0).unwrap();
    let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
    let mech =
        DistributedMechanism::new(&model, net.clone(), MechanismSettings::default()).unwrap();
    let ne = mech.nash_equilibrium(&opt).unwrap();
    let ev = mech.evaluate(&ne).unwrap();
    assert!(ev.max_relative_gain <= 1e-9, "{}", ev.max_relative_gain);
    let base = mech.taxes(&ne).unwrap()[3].total;
    let (t_len, l_len) = (model.periods(), model.rows());
    let perturb = |b: usize| {
        let mut m = ne.clone();
        for t in 0..t_len {
            m.y[b * t_len + t] += 0.37;
            m.s[b * t_len + t] += 0.11;
        }
        for l in 0..l_len {
            m.q[b * l_len + l] += 0.23;
        }
        for j in 0..5 {
            if net.phi(j) == b {
                for t in 0..t_len {
                    m.beta[j * t_len + t] += 0.19;
                }
            }
        }
        for e in net.edges_of(b) {
            for l in 0..l_len {
                m.n[e * l_len + l] += 0.29;
            }
            for t in 0..t_len {
                m.nu[e * t_len + t] += 0.31;
            }
        }
        mech.taxes(&m).unwrap()[3].total
    };
    assert_eq!(perturb(2), base, "user 2's messages reached user 3");
    assert_eq!(perturb(1), base, "user 1's messages reached user 3");
    assert_ne!(perturb(4), base, "user 4 is a tree neighbour of user 3");
    assert_ne!(perturb(0), base, "user 0 is a tree neighbour of user 3");
}

/// The same network from a scenario file: the report's routing is what the docs say, and
/// its spanning-tree claim holds.
#[test]
fn scenario_report_carries_the_routing() {
    let text = r#"
model = "mechanism"
periods = 1
energy_prices = [0.1]
peak_price = 0.5
[[users]]
utility = { quadratic_satiation = { theta = 2.0, kappa = 1.0 } }
[[users]]
utility = { power = { coefficient = 2.0, exponent = 0.5, shift = 1.0 } }
[[users]]
utility = { log = { weight = 1.0, shift = 1.0 } }
[[users]]
utility = { quadratic = { theta = 1.0, kappa = 1.0 } }
[[users]]
utility = { power = { coefficient = 1.0, exponent = 0.3, shift = 2.0 } }
[network]
edges = [[0, 1], [1, 2], [2, 3], [3, 0], [1, 3], [3, 4]]
"#;
    let sc: Scenario = toml::from_str(text).unwrap();
    let r = run_scenario(&sc, &ScenarioSettings::default()).unwrap();
    let d = r.distributed.as_ref().unwrap();
    assert_eq!(d.tree_edges, vec![(0, 1), (0, 3), (1, 2), (3, 4)]);
    assert_eq!(d.dropped_edges, vec![(2, 3), (1, 3)]);
    assert_eq!(d.routing.edges_idle.len(), 2);
    let claim = r
        .claims()
        .iter()
        .find(|c| c.claim.contains("spanning tree"))
        .unwrap();
    assert!(claim.holds, "{claim:?}");
    assert!(r.checks.failed.is_empty(), "{:?}", r.checks.failed);
    // Round trip: the report loads back.
    let back: dr_mechanism::SolveReport =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back.distributed.unwrap().routing, d.routing);
}

/// A ring of 100 users: one idle edge, closing a cycle of 100 edges; its tree path (99
/// edges, longer than `MAX_REPORTED_PATH` users) is not listed, the cycle's length and the
/// common ancestor are. By hand: BFS from 0 grows both ways round the ring, the two fronts
/// meet between users 50 and 51 (`(50, 51)` is the idle edge), joined through user 0.
#[test]
fn a_long_cycle_is_reported_by_its_length() {
    let n = 100;
    let edges: Vec<(usize, usize)> = (0..n).map(|k| (k, (k + 1) % n)).collect();
    let net = Network::from_edges(n, &edges, 0).unwrap();
    let g = MessageRouting::of(&net);
    assert_eq!(g.edges_idle.len(), 1);
    let e = &g.edges_idle[0];
    assert_eq!(e.edge, (50, 51));
    assert_eq!(e.cycle_length, 100);
    assert_eq!(e.common_ancestor, 0);
    assert!(e.tree_path.is_empty() && 100 > dr_mechanism::MAX_REPORTED_PATH);
    assert!(e.reason.contains("a cycle of 100 edges"), "{}", e.reason);
    assert_eq!(*g.hops_from_root.iter().max().unwrap(), 50);
    assert!(g.spanning_tree_claim(n, &edges).holds);
}
