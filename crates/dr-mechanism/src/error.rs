//! The one error type of `dr-mechanism`: bad input, named by field and value in the
//! workspace's vocabulary ([`InputError`]), and the model's own failures.
//!
//! Bad input (NaN or infinite data, a positive right-hand side violated by `x = 0`, a
//! convex "utility", wrong lengths, fewer than two users for a mechanism, a message outside
//! its message space, an empty or disconnected network…) is a [`MechanismError`]. A solver
//! that does not converge is *not* an error: it is a [`dr_convex::Status`] on a certificate,
//! or a [`crate::Termination`] of a learning run.

use dr_convex::InputError;
use thiserror::Error;

/// Input errors of the mechanism crate. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MechanismError {
    /// The message-exchange network has no nodes.
    #[error("network has no nodes: the distributed mechanism needs one node per user")]
    EmptyNetwork,
    /// An edge joins a user to itself (a user does not exchange messages with itself; such
    /// an edge is rejected rather than silently dropped).
    #[error(
        "{field} = [{node}, {node}] is a self-loop: a user does not exchange messages with \
         itself; remove the edge"
    )]
    SelfLoop {
        /// The edge, as named in the input (e.g. `network.edges[3]`).
        field: String,
        /// The node it loops on.
        node: usize,
    },
    /// An edge weight is NaN or negative.
    #[error(
        "{field}: the weight of the edge between users {a} and {b} is {value}; a weight must \
         be a number >= 0 (weights are checked but do not change the breadth-first spanning \
         tree, see Network::spanning_tree)"
    )]
    InvalidEdgeWeight {
        /// The edge, as named in the input.
        field: String,
        /// One end.
        a: usize,
        /// The other end.
        b: usize,
        /// The offending weight.
        value: f64,
    },
    /// The message-exchange network has a different number of nodes than there are users.
    #[error("network has {nodes} nodes but the model has {users} users")]
    NodeCountMismatch {
        /// Nodes of the graph.
        nodes: usize,
        /// Users of the model.
        users: usize,
    },
    /// The message-exchange network is not connected (wei-anastasopoulos Assumption 3).
    #[error(
        "network is disconnected: components {components:?} (users are nodes 0..N; the \
         distributed mechanism needs a connected network, wei-anastasopoulos Assumption 3 — \
         add an edge between the components)"
    )]
    Disconnected {
        /// The connected components, each as its sorted node indices.
        components: Vec<Vec<usize>>,
    },
    /// A size whose arrays would not fit in memory (checked before allocating).
    #[error(
        "{field}: {count} entries would be needed, more than the {limit} this library \
         allocates (the centralized mechanism's messages hold N·L constraint prices q^{{i,l}})"
    )]
    TooLarge {
        /// What is too large (e.g. `users × rows`).
        field: String,
        /// Entries needed (saturated at `u64::MAX`).
        count: u64,
        /// The most allowed.
        limit: u64,
    },
    /// Bad input, named by field and value (the workspace's one vocabulary).
    #[error(transparent)]
    Input(#[from] InputError),
}
