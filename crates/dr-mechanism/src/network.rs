//! The message-exchange network of the distributed mechanism (wei-anastasopoulos §V-A).
//!
//! Users are the nodes of a connected undirected [`petgraph::graph::UnGraph`] (Assumption 3;
//! node index `i` is user `i`). The summaries `n^{i,j,l}`, `ν_t^{i,j}` of the distributed
//! mechanism are defined by the recursion `f^{i,j} = a^j y^j + Σ_{h∈N(j)\{i}} n^{j,h}`, which
//! is consistent only on a tree (on a cycle the summaries count every demand again on each
//! lap, and no NE with the optimal allocation exists — SPEC §4, *derived*). So the mechanism
//! runs on a breadth-first spanning tree of the graph from a chosen root, and
//! [`Network`] reports the edges it uses and those it dropped.
//!
//! On the tree, `φ(i)` (the neighbour holding the proxy of user `i`'s demand) is `i`'s
//! parent, and for the root its smallest-index child; `n(i, k)` is the first hop from `i`
//! towards `k` (`n(i, i) = i`).

use crate::error::MechanismError;
use petgraph::graph::{NodeIndex, UnGraph};
use std::collections::VecDeque;

/// The most users a network may have (petgraph's default `u32` node indices).
pub const MAX_USERS: usize = u32::MAX as usize - 1;

/// A spanning tree of the message-exchange network, with `φ`, `n(i, k)` and the directed
/// edge numbering used by [`crate::distributed::DistributedProfile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    users: usize,
    root: usize,
    tree_edges: Vec<(usize, usize)>,
    dropped_edges: Vec<(usize, usize)>,
    parent: Vec<Option<usize>>,
    adj_ptr: Vec<usize>,
    adj: Vec<usize>,
    rev: Vec<usize>,
    phi: Vec<usize>,
    tin: Vec<usize>,
    tout: Vec<usize>,
    order: Vec<usize>,
}

/// An edge weight of the message network, as [`Network::spanning_tree`] sees it.
///
/// **How weights are used:** they are validated (NaN or negative is an error naming the
/// edge and the value) and otherwise ignored: the spanning tree is the *breadth-first* tree
/// (fewest hops from the root), because the distributed mechanism's messages do not depend
/// on what a link costs — only on the tree's shape (wei-anastasopoulos §V). A weight of
/// `+∞` is accepted (it still connects the users).
pub trait EdgeWeight {
    /// The weight as a number, or `None` for an unweighted edge.
    fn weight(&self) -> Option<f64>;
}

impl EdgeWeight for () {
    fn weight(&self) -> Option<f64> {
        None
    }
}

macro_rules! edge_weight_as_f64 {
    ($($t:ty),*) => {$(
        impl EdgeWeight for $t {
            fn weight(&self) -> Option<f64> {
                Some(*self as f64)
            }
        }
    )*};
}
edge_weight_as_f64!(f64, f32, u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Bytes per node and per edge the spanning tree needs at most (adjacency lists, BFS and
/// Euler-tour arrays, the tree's own arrays; the petgraph graph of `from_edges`).
const BYTES_PER_NODE: usize = 256;
const BYTES_PER_EDGE: usize = 96;

/// Refuses, with a typed error instead of an aborting allocation, a network whose arrays
/// the allocator cannot provide: the memory is reserved fallibly once, then released.
fn check_room(nodes: usize, edges: usize) -> Result<(), MechanismError> {
    let bytes = nodes
        .saturating_mul(BYTES_PER_NODE)
        .saturating_add(edges.saturating_mul(BYTES_PER_EDGE));
    let mut probe: Vec<u8> = Vec::new();
    if probe.try_reserve_exact(bytes).is_err() {
        return Err(MechanismError::TooLarge {
            field: "network nodes and edges".into(),
            count: bytes as u64,
            limit: isize::MAX as u64,
        });
    }
    Ok(())
}

impl Network {
    /// The breadth-first spanning tree of `graph` from `root`. Errors: a graph without nodes
    /// ([`MechanismError::EmptyNetwork`]), a node count different from `users`
    /// ([`MechanismError::NodeCountMismatch`]), fewer than 2 users, a root out of range, a
    /// self-loop ([`MechanismError::SelfLoop`]), a NaN or negative edge weight
    /// ([`MechanismError::InvalidEdgeWeight`]; weights are otherwise ignored, see
    /// [`EdgeWeight`]), or a disconnected graph ([`MechanismError::Disconnected`], naming its
    /// components). Edges are named `edges[k]` by their petgraph edge index. Parallel edges
    /// are harmless: the tree uses one of them and the others are listed in
    /// [`Network::dropped_edges`].
    pub fn spanning_tree<N, E: EdgeWeight>(
        graph: &UnGraph<N, E>,
        users: usize,
        root: usize,
    ) -> Result<Self, MechanismError> {
        Self::spanning_tree_named(graph, users, root, "edges", "root")
    }

    fn spanning_tree_named<N, E: EdgeWeight>(
        graph: &UnGraph<N, E>,
        users: usize,
        root: usize,
        edges_field: &str,
        root_field: &str,
    ) -> Result<Self, MechanismError> {
        let n = graph.node_count();
        if n == 0 {
            return Err(MechanismError::EmptyNetwork);
        }
        if n != users {
            return Err(MechanismError::NodeCountMismatch { nodes: n, users });
        }
        if n < 2 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "users".into(),
                got: n,
                required: 2,
            }));
        }
        dr_convex::check_index(|| root_field.into(), root, n)?;
        check_room(n, graph.edge_count())?;
        let mut nbrs: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut all_edges: Vec<(usize, usize)> = Vec::new();
        for e in graph.edge_indices() {
            if let Some((a, b)) = graph.edge_endpoints(e) {
                let (a, b) = (a.index(), b.index());
                let field = || format!("{edges_field}[{}]", e.index());
                if a == b {
                    return Err(MechanismError::SelfLoop {
                        field: field(),
                        node: a,
                    });
                }
                if let Some(value) = graph[e].weight() {
                    if value.is_nan() || value < 0.0 {
                        return Err(MechanismError::InvalidEdgeWeight {
                            field: field(),
                            a,
                            b,
                            value,
                        });
                    }
                }
                all_edges.push((a.min(b), a.max(b)));
                nbrs[a].push(b);
                nbrs[b].push(a);
            }
        }
        for v in &mut nbrs {
            v.sort_unstable();
            v.dedup();
        }
        // Components (for the error) and the BFS tree from the root.
        let mut comp = vec![usize::MAX; n];
        let mut components: Vec<Vec<usize>> = Vec::new();
        for start in std::iter::once(root).chain(0..n) {
            if comp[start] != usize::MAX {
                continue;
            }
            let c = components.len();
            let mut members = vec![start];
            comp[start] = c;
            let mut queue = VecDeque::from([start]);
            while let Some(u) = queue.pop_front() {
                for &v in &nbrs[u] {
                    if comp[v] == usize::MAX {
                        comp[v] = c;
                        members.push(v);
                        queue.push_back(v);
                    }
                }
            }
            members.sort_unstable();
            components.push(members);
        }
        if components.len() > 1 {
            components.sort();
            return Err(MechanismError::Disconnected { components });
        }
        let mut parent = vec![None; n];
        let mut seen = vec![false; n];
        let mut order = Vec::with_capacity(n);
        let mut tree_edges = Vec::with_capacity(n - 1);
        seen[root] = true;
        let mut queue = VecDeque::from([root]);
        while let Some(u) = queue.pop_front() {
            order.push(u);
            for &v in &nbrs[u] {
                if !seen[v] {
                    seen[v] = true;
                    parent[v] = Some(u);
                    tree_edges.push((u, v));
                    queue.push_back(v);
                }
            }
        }
        let mut tree_set: Vec<(usize, usize)> = tree_edges
            .iter()
            .map(|&(a, b)| (a.min(b), a.max(b)))
            .collect();
        tree_set.sort_unstable();
        let mut dropped_edges = Vec::new();
        let mut used = vec![false; tree_set.len()];
        for &e in &all_edges {
            match tree_set.binary_search(&e) {
                Ok(k) if !used[k] => used[k] = true,
                _ => dropped_edges.push(e),
            }
        }
        // Tree adjacency (sorted), reverse edges.
        let mut tadj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(a, b) in &tree_edges {
            tadj[a].push(b);
            tadj[b].push(a);
        }
        for v in &mut tadj {
            v.sort_unstable();
        }
        let mut adj_ptr = vec![0];
        let mut adj = Vec::with_capacity(2 * (n - 1));
        for v in &tadj {
            adj.extend_from_slice(v);
            adj_ptr.push(adj.len());
        }
        let mut rev = vec![0; adj.len()];
        for i in 0..n {
            for e in adj_ptr[i]..adj_ptr[i + 1] {
                let j = adj[e];
                let pos = tadj[j].binary_search(&i).unwrap_or(0);
                rev[e] = adj_ptr[j] + pos;
            }
        }
        let phi: Vec<usize> = (0..n)
            .map(|i| parent[i].unwrap_or_else(|| tadj[i].first().copied().unwrap_or(i)))
            .collect();
        // Euler tour times for subtree tests (iterative DFS over the tree from the root).
        let children: Vec<Vec<usize>> = (0..n)
            .map(|u| {
                tadj[u]
                    .iter()
                    .copied()
                    .filter(|&v| parent[v] == Some(u))
                    .collect()
            })
            .collect();
        let mut tin = vec![0; n];
        let mut tout = vec![0; n];
        let mut clock = 1;
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.len().checked_sub(1) {
            let (u, k) = stack[top];
            if let Some(&v) = children[u].get(k) {
                stack[top].1 += 1;
                tin[v] = clock;
                clock += 1;
                stack.push((v, 0));
            } else {
                tout[u] = clock;
                stack.pop();
            }
        }
        Ok(Self {
            users: n,
            root,
            tree_edges,
            dropped_edges,
            parent,
            adj_ptr,
            adj,
            rev,
            phi,
            tin,
            tout,
            order,
        })
    }

    /// Builds the graph from an edge list (nodes `0..users`) and takes its spanning tree
    /// (errors as [`Network::spanning_tree`]). An edge naming a node `≥ users` is an error
    /// naming `edges[k]`.
    pub fn from_edges(
        users: usize,
        edges: &[(usize, usize)],
        root: usize,
    ) -> Result<Self, MechanismError> {
        Self::from_edges_named(users, edges, root, "edges", "root")
    }

    /// [`Network::from_edges`] with the names the input gives the edge list and the root
    /// (e.g. `network.edges`, `network.root` in a scenario file), used in errors.
    pub fn from_edges_named(
        users: usize,
        edges: &[(usize, usize)],
        root: usize,
        edges_field: &str,
        root_field: &str,
    ) -> Result<Self, MechanismError> {
        // Every check that needs no allocation first: a huge node count must not abort.
        for (k, &(a, b)) in edges.iter().enumerate() {
            for v in [a, b] {
                dr_convex::check_index(|| format!("{edges_field}[{k}]"), v, users)?;
            }
            if a == b {
                return Err(MechanismError::SelfLoop {
                    field: format!("{edges_field}[{k}]"),
                    node: a,
                });
            }
        }
        if users > MAX_USERS {
            return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                field: "users".into(),
                value: users as f64,
                requirement: format!("at most {MAX_USERS} users in a message network").into(),
            }));
        }
        check_room(users, edges.len())?;
        let mut g: UnGraph<(), ()> = UnGraph::with_capacity(users, edges.len());
        for _ in 0..users {
            g.add_node(());
        }
        for (k, &(a, b)) in edges.iter().enumerate() {
            for v in [a, b] {
                dr_convex::check_index(|| format!("edges[{k}]"), v, users)?;
            }
            g.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        Self::spanning_tree_named(&g, users, root, edges_field, root_field)
    }

    /// Number of users (nodes).
    pub fn users(&self) -> usize {
        self.users
    }
    /// The BFS root.
    pub fn root(&self) -> usize {
        self.root
    }
    /// Edges of the spanning tree as `(parent, child)`, in BFS order.
    pub fn tree_edges(&self) -> &[(usize, usize)] {
        &self.tree_edges
    }
    /// Edges of the graph the mechanism does not use (closing cycles, self-loops, parallel
    /// edges), as `(min, max)`.
    pub fn dropped_edges(&self) -> &[(usize, usize)] {
        &self.dropped_edges
    }
    /// True when the graph was a tree already (no edge dropped).
    pub fn is_tree(&self) -> bool {
        self.dropped_edges.is_empty()
    }
    /// Tree neighbours `N(i)`, sorted. Panics if `i ≥ users()` (like slice indexing; the same
    /// holds for the other index accessors of [`Network`]).
    pub fn neighbours(&self, i: usize) -> &[usize] {
        &self.adj[self.adj_ptr[i]..self.adj_ptr[i + 1]]
    }
    /// Index of the directed edge `i → N(i)[k]` (used to lay out `n` and `ν`).
    pub fn edge_index(&self, i: usize, k: usize) -> usize {
        self.adj_ptr[i] + k
    }
    /// The directed edges of user `i` (indices into the edge arrays).
    pub fn edges_of(&self, i: usize) -> std::ops::Range<usize> {
        self.adj_ptr[i]..self.adj_ptr[i + 1]
    }
    /// Head `j` of directed edge `e = i → j`.
    pub fn edge_head(&self, e: usize) -> usize {
        self.adj[e]
    }
    /// The reverse `j → i` of directed edge `e = i → j`.
    pub fn reverse(&self, e: usize) -> usize {
        self.rev[e]
    }
    /// Number of directed edges `2(N − 1)`.
    pub fn directed_edges(&self) -> usize {
        self.adj.len()
    }
    /// Parent of `i` in the BFS tree (`None` for the root).
    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parent[i]
    }
    /// `φ(i) ∈ N(i)`: the neighbour that announces the proxy `β^{φ(i),i}` of `y^i`.
    pub fn phi(&self, i: usize) -> usize {
        self.phi[i]
    }
    /// Nodes in BFS order from the root.
    pub fn bfs_order(&self) -> &[usize] {
        &self.order
    }
    /// True when `k` lies in the subtree of `v` (rooted at the BFS root).
    pub fn in_subtree(&self, v: usize, k: usize) -> bool {
        self.tin[v] <= self.tin[k] && self.tin[k] < self.tout[v]
    }
    /// `n(i, k)`: the member of `N(i) ∪ {i}` nearest to `k` (the first hop on the tree path).
    pub fn first_hop(&self, i: usize, k: usize) -> usize {
        if i == k {
            return i;
        }
        for &j in self.neighbours(i) {
            if self.parent[j] == Some(i) && self.in_subtree(j, k) {
                return j;
            }
        }
        self.parent[i].unwrap_or(i)
    }
}
