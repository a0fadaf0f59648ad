//! The one error type of `dr-mechanism`: bad input, named by field and value.
//!
//! Bad input (NaN or infinite data, a positive right-hand side violated by `x = 0`, a
//! convex "utility", wrong lengths, fewer than two users for a mechanism, a message outside
//! its message space, an empty or disconnected network…) is a [`MechanismError`]. A solver
//! that does not converge is *not* an error: it is a [`dr_convex::Status`] on a certificate,
//! or a [`crate::learning::Termination`] of a learning run.

use dr_convex::ConvexError;
use thiserror::Error;

/// Input errors of the mechanism crate. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MechanismError {
    /// A number that must be finite was NaN or infinite.
    #[error("{field} must be finite, got {value}")]
    NotFinite {
        /// Name of the field, with indices (e.g. `users[2].utility.weight[1]`).
        field: String,
        /// The offending value.
        value: f64,
    },
    /// A number was outside its allowed range.
    #[error("{field} = {value} is out of range: {requirement}")]
    OutOfRange {
        /// Name of the field.
        field: String,
        /// The offending value.
        value: f64,
        /// What the field must satisfy.
        requirement: String,
    },
    /// Two lengths that must agree do not.
    #[error("{field} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Name of the field.
        field: String,
        /// Required length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// An index (user, period, node) is out of range.
    #[error("{field}: index {index} out of range (size {size})")]
    IndexOutOfRange {
        /// Name of the field.
        field: String,
        /// The offending index.
        index: usize,
        /// The size it must be below.
        size: usize,
    },
    /// Too few items (e.g. a mechanism with fewer than two users).
    #[error("{field} has {got} entries, at least {required} required")]
    TooFew {
        /// Name of the field.
        field: String,
        /// Number given.
        got: usize,
        /// Minimum number.
        required: usize,
    },
    /// A structurally invalid entry (e.g. a constraint that names two kinds, an all-zero row).
    #[error("{field}: {message}")]
    Invalid {
        /// Name of the field.
        field: String,
        /// What is wrong.
        message: String,
    },
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
    /// An error of the convex kernel (names its own field).
    #[error(transparent)]
    Convex(#[from] ConvexError),
}

impl MechanismError {
    pub(crate) fn check_finite(field: impl Fn() -> String, value: f64) -> Result<f64, Self> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(Self::NotFinite {
                field: field(),
                value,
            })
        }
    }

    pub(crate) fn check_positive(field: impl Fn() -> String, value: f64) -> Result<f64, Self> {
        Self::check_finite(&field, value)?;
        if value > 0.0 {
            Ok(value)
        } else {
            Err(Self::OutOfRange {
                field: field(),
                value,
                requirement: "must be > 0".into(),
            })
        }
    }

    pub(crate) fn check_len(
        field: impl Fn() -> String,
        got: usize,
        expected: usize,
    ) -> Result<(), Self> {
        if got == expected {
            Ok(())
        } else {
            Err(Self::LengthMismatch {
                field: field(),
                expected,
                got,
            })
        }
    }
}
