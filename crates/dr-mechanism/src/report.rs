//! Typed reports of a mechanism scenario (issue 13): what `dr solve`, `dr simulate` and the
//! `dr demo` section print, as `Serialize`/`Deserialize` values produced here, so that the
//! command's text and its JSON are two renderings of one value.
//!
//! - [`run_scenario`] → [`SolveReport`]: the planner's problem (3) of wei-anastasopoulos with
//!   its certificate and KKT residuals (4), the NE of the centralized mechanism built from
//!   the optimum (Theorem 2) with its taxes (7), balanced taxes (Theorem 4), payoffs
//!   (Theorem 3) and exact best-response gains, every claim checked
//!   ([`SolveChecks::claims`]), and with a `[network]` the distributed mechanism (§V) with
//!   its message routing ([`MessageRouting`]: which edges carry messages and why).
//! - [`simulate_scenario`] / [`simulate_scenario_observed`] → [`SimulationReport`]: a
//!   learning run against the planner's optimum.
//! - [`community_demo`] → [`CommunityDemoReport`]: the bundled community with its claims.
//!
//! # Claims and their tolerance
//! Each claim compares a quantity with the **size of the terms it is computed from**, never
//! with an absolute number, so it means the same in any money or quantity units:
//! `Σ_i t̃^i = J` and `planner surplus = Σ λ b` relative to the payment scale `S`
//! ([`crate::ProfileEvaluation::payment_scale`]) on the money part of the taxes; no
//! profitable deviation per gain component relative to its own terms
//! ([`crate::GainBreakdown::relative`]); taxes = KKT prices × demand, payoffs and individual
//! rationality relative to the user's tax, payment and utilities; `Σ_t μ_t = p_0` relative to
//! `p_0`. The tolerance is `max(1e-9, 10 r)`, `r` the planner's largest relative KKT residual:
//! each claim follows from the KKT conditions (4) up to those residuals.

use crate::centralized::CentralizedMechanism;
use crate::distributed::{DistributedMechanism, Lemma4Report, Lemma5Report};
use crate::error::MechanismError;
use crate::learning::{Learner, LearningGame, LearningOutcome, LearningRecord};
use crate::learning::{LearningRule, LearningSettings};
use crate::model::{RowKind, Scales};
use crate::network::Network;
use crate::planner::{solve_planner, KktResiduals};
use crate::scenario::{ModelTag, Scenario, ScenarioModel, ScenarioSettings};
use dr_convex::{Claim, Observer, Termination};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;

/// The longest tree path (in users) an [`IdleEdge`] lists.
pub const MAX_REPORTED_PATH: usize = 64;

/// Relative tolerance floor of the claims (module docs).
pub const CLAIM_TOLERANCE: f64 = 1e-9;

pub use dr_convex::CertificateReport;

/// One `[[constraints]]` row of the model at the optimum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintReport {
    /// Index of its `[[constraints]]` entry in the file.
    pub entry: usize,
    /// What the row constrains, in words.
    pub constraint: String,
    /// Right-hand side `b^l`.
    pub rhs: f64,
    /// Activity `a^l · x*`.
    pub activity: f64,
    /// Multiplier `λ^l` (a price per unit of the row).
    pub multiplier: f64,
}

/// A demand on the flat part of a quadratic-with-satiation utility at the optimum
/// (`x_t^{i*} ≥ θ/κ`): there `v̇ = 0`, Assumption 1's strict concavity fails, and the
/// optimal demand need not be unique (any larger demand the constraints allow is as good
/// when its total price is `0`). The KKT conditions, the NE of Theorem 2 and Theorems 3–4
/// are unaffected (see the `utility` module).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SatiatedDemand {
    /// User `i`.
    pub user: usize,
    /// Period `t`.
    pub period: usize,
    /// The demand `x_t^{i*}`.
    pub demand: f64,
    /// The satiation point `θ/κ`.
    pub satiation_point: f64,
}

/// The checks `dr solve` prints, each a gap relative to the size of its terms (module docs),
/// and the claims they decide.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SolveChecks {
    /// `Σ_t μ_t`.
    pub mu_sum: f64,
    /// `Σ_i t̂^i`.
    pub taxes_sum: f64,
    /// `|Σ_t μ_t − p_0| / p_0` (4f).
    pub mu_sum_minus_peak_price_relative: f64,
    /// `Σ_i t̃^i`.
    pub balanced_taxes_sum: f64,
    /// `|Σ_i (money part of t̃^i) − J| / S` (Theorem 4).
    pub budget_balance_relative_gap: f64,
    /// `|Σ t̂ − J − Σ_l λ^l b^l| / S` over all rows (Theorem 4), money parts.
    pub planner_surplus_minus_price_revenue_relative: f64,
    /// Largest `|t̂^i − Σ_t x_t^i (p_t + μ_t + Σ_l λ^l a_t^{i,l})|` relative to the tax's size
    /// plus `Σ_t |x_t^i · price_t|`: at the NE of Theorem 2 every user pays the KKT prices.
    pub taxes_minus_kkt_prices_times_demand_relative: f64,
    /// Largest `|u^i − (v^i(x^i) − t̂^i)| / (|u^i| + |v^i| + |t̂^i|)`.
    pub payoff_relative_gap: f64,
    /// Smallest `(u^i − v^i(0)) / (|v^i(x^i)| + |v^i(0)| + size of t̂^i)` (Theorem 3: `≥ 0`).
    pub individual_rationality_margin: f64,
    /// The same with the balanced taxes `t̃^i`.
    pub individual_rationality_margin_balanced: f64,
    /// `min(planner surplus, 0) / S` (Theorem 4: `≥ 0`).
    pub planner_surplus_sign_relative: f64,
    /// The payment scale `S` ([`crate::ProfileEvaluation::payment_scale`]).
    pub payment_scale: f64,
    /// The claims' tolerance `max(1e-9, 10 r)`.
    pub tolerance: f64,
    /// Every claim printed, with its verdict and evidence.
    pub claims: Vec<Claim>,
    /// The claims that do not hold, as `claim: evidence` (empty when all hold).
    pub failed: Vec<String>,
}

/// Which edge of the message network carries which messages, and why some carry none.
///
/// The distributed mechanism's summaries (wei-anastasopoulos eq. 18) are defined by the
/// recursion `f^{i,j} = a^j y^j + Σ_{h∈N(j)\{i}} n^{j,h}`, consistent only on a tree: on a
/// cycle a summary reaches its sender again and the demands of the cycle are counted once
/// per lap, so no NE with the optimal allocation exists (SPEC §4, derived). The mechanism
/// therefore runs on the breadth-first spanning tree from `root`: every message travels on
/// a tree edge, and every other edge of the network stays idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRouting {
    /// The BFS root.
    pub root: usize,
    /// The rule in words (why a spanning tree, which tree).
    pub explanation: String,
    /// The tree edges, in BFS order, with the messages they carry.
    pub edges_used: Vec<UsedEdge>,
    /// The network's other edges, each with the tree path that makes it redundant.
    pub edges_idle: Vec<IdleEdge>,
    /// Hops from the root to every user on the tree (every user is reached).
    pub hops_from_root: Vec<usize>,
}

/// A tree edge `parent – child` and the messages on it: the summaries `n^{parent,child,l}`,
/// `ν_t^{parent,child}` (what `parent` announces about the users reached through `child`)
/// and `n^{child,parent,l}`, `ν_t^{child,parent}` (the reverse), and the demand proxies
/// `β^{φ(j),j}` held across it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsedEdge {
    /// The end nearer the root.
    pub parent: usize,
    /// The other end.
    pub child: usize,
    /// Users reached from `parent` through `child` (the child's subtree).
    pub users_through_child: usize,
    /// Users reached from `child` through `parent` (all the others).
    pub users_through_parent: usize,
    /// Demand proxies held across this edge: `holder = φ(of)` announces `β^{holder,of}`.
    pub proxies: Vec<ProxyRoute>,
}

/// One demand proxy `β^{holder,of}` (`holder = φ(of)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyRoute {
    /// `φ(of)`, who announces the proxy.
    pub holder: usize,
    /// The user whose demand it copies.
    pub of: usize,
}

/// An edge of the network that carries no message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleEdge {
    /// Its ends `(min, max)`.
    pub edge: (usize, usize),
    /// Edges of the cycle it closes: the tree path between its ends plus itself (2 when it
    /// repeats a tree edge).
    pub cycle_length: usize,
    /// Where the tree paths from its two ends towards the root meet.
    pub common_ancestor: usize,
    /// The tree path joining its ends, from `edge.0` to `edge.1` (`[a, b]` when it repeats a
    /// tree edge); left empty when it has more than [`MAX_REPORTED_PATH`] users, so that the
    /// report stays linear in the size of the network.
    pub tree_path: Vec<usize>,
    /// Why it is idle, in words.
    pub reason: String,
}

impl MessageRouting {
    /// The routing of `network`'s spanning tree.
    pub fn of(network: &Network) -> Self {
        let n = network.users();
        let mut hops = vec![0usize; n];
        for &u in network.bfs_order() {
            if let Some(p) = network.parent(u) {
                hops[u] = hops[p] + 1;
            }
        }
        let mut subtree = vec![1usize; n];
        for &u in network.bfs_order().iter().rev() {
            if let Some(p) = network.parent(u) {
                subtree[p] += subtree[u];
            }
        }
        let edges_used = network
            .tree_edges()
            .iter()
            .map(|&(parent, child)| {
                let mut proxies = Vec::new();
                for (holder, of) in [(parent, child), (child, parent)] {
                    if network.phi(of) == holder {
                        proxies.push(ProxyRoute { holder, of });
                    }
                }
                UsedEdge {
                    parent,
                    child,
                    users_through_child: subtree[child],
                    users_through_parent: n - subtree[child],
                    proxies,
                }
            })
            .collect();
        // The tree path between the ends of an idle edge: climb from the deeper end until
        // both meet at their common ancestor; the nodes are kept only for a short path.
        let climb = |a: usize, b: usize, keep: bool| -> (usize, usize, Vec<usize>) {
            let (mut x, mut y) = (a, b);
            let (mut left, mut right) = (vec![a], vec![b]);
            let mut steps = 0;
            while x != y {
                if hops[x] >= hops[y] {
                    x = network.parent(x).unwrap_or(x);
                    if keep {
                        left.push(x);
                    }
                } else {
                    y = network.parent(y).unwrap_or(y);
                    if keep {
                        right.push(y);
                    }
                }
                steps += 1;
            }
            if !keep {
                return (steps, x, Vec::new());
            }
            right.pop();
            left.extend(right.into_iter().rev());
            (steps, x, left)
        };
        let edges_idle = network
            .dropped_edges()
            .iter()
            .map(|&(a, b)| {
                let (steps, lca, _) = climb(a, b, false);
                let tree_path = if steps < MAX_REPORTED_PATH {
                    climb(a, b, true).2
                } else {
                    Vec::new()
                };
                let reason = if steps == 1 {
                    format!(
                        "repeats the tree edge {a}–{b}: the messages between {a} and {b} \
                         already travel on it"
                    )
                } else if tree_path.is_empty() {
                    format!(
                        "closes a cycle of {} edges: {a} and {b} are already joined by the \
                         tree path of {steps} edges through user {lca}, so a summary sent on \
                         this edge would count the demands of that cycle twice",
                        steps + 1
                    )
                } else {
                    let hops: Vec<String> = tree_path.iter().map(|v| v.to_string()).collect();
                    format!(
                        "closes the cycle {}–{a}: {a} and {b} are already joined by the tree \
                         path {}, so a summary sent on this edge would count the demands of \
                         that cycle twice",
                        hops.join("–"),
                        hops.join("–")
                    )
                };
                IdleEdge {
                    edge: (a, b),
                    cycle_length: steps + 1,
                    common_ancestor: lca,
                    tree_path,
                    reason,
                }
            })
            .collect();
        Self {
            root: network.root(),
            explanation: format!(
                "The summaries n, ν of the distributed taxes (eq. 18) are consistent only on \
                 a tree (on a cycle they count demands again on every lap), so the mechanism \
                 runs on the breadth-first spanning tree from user {}: every message travels \
                 on one of its {} edges; the {} other edge(s) of the network stay idle.",
                network.root(),
                network.tree_edges().len(),
                network.dropped_edges().len()
            ),
            edges_used,
            edges_idle,
            hops_from_root: hops,
        }
    }

    /// Checks, independently of how the tree was built, that the used edges form a spanning
    /// tree of the network whose edge list is `links` (`users` nodes): `users − 1` used
    /// edges, all among the links, joining every user without a cycle (union–find), and
    /// the used plus idle edges are exactly the links (as a multiset), each idle edge's
    /// listed `tree_path` a path of `cycle_length − 1` used edges between its ends.
    pub fn spanning_tree_claim(&self, users: usize, links: &[(usize, usize)]) -> Claim {
        let mut problems = Vec::new();
        let key = |a: usize, b: usize| (a.min(b), a.max(b));
        let mut parent: Vec<usize> = (0..users).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut tree: Vec<(usize, usize)> = Vec::new();
        for e in &self.edges_used {
            if e.parent >= users || e.child >= users {
                problems.push(format!("edge {}–{} names no user", e.parent, e.child));
                continue;
            }
            let (ra, rb) = (find(&mut parent, e.parent), find(&mut parent, e.child));
            if ra == rb {
                problems.push(format!("edge {}–{} closes a cycle", e.parent, e.child));
            }
            parent[ra] = rb;
            tree.push(key(e.parent, e.child));
        }
        if self.edges_used.len() + 1 != users {
            problems.push(format!(
                "{} used edges for {users} users",
                self.edges_used.len()
            ));
        }
        let unreached: Vec<usize> = (0..users)
            .filter(|&v| find(&mut parent, v) != find(&mut parent, self.root.min(users - 1)))
            .collect();
        if !unreached.is_empty() {
            problems.push(format!("users {unreached:?} not reached"));
        }
        let mut all: Vec<(usize, usize)> = tree.clone();
        all.extend(self.edges_idle.iter().map(|e| key(e.edge.0, e.edge.1)));
        all.sort_unstable();
        let mut given: Vec<(usize, usize)> = links.iter().map(|&(a, b)| key(a, b)).collect();
        given.sort_unstable();
        if all != given {
            problems.push("used + idle edges differ from the network's links".into());
        }
        tree.sort_unstable();
        for e in &self.edges_idle {
            let p = &e.tree_path;
            if p.is_empty() && e.cycle_length > MAX_REPORTED_PATH {
                continue; // a long path is not listed
            }
            let ends_ok = p.first() == Some(&e.edge.0) && p.last() == Some(&e.edge.1);
            let steps_ok = p
                .windows(2)
                .all(|w| tree.binary_search(&key(w[0], w[1])).is_ok());
            if !(ends_ok && steps_ok && p.len() >= 2 && p.len() == e.cycle_length) {
                problems.push(format!("idle edge {:?}: {p:?} is not a tree path", e.edge));
            }
        }
        Claim::new(
            "the message edges form a spanning tree of the network (N − 1 edges, every user \
             reached, no cycle), and every other link is idle with the tree path that \
             replaces it",
            problems.is_empty(),
            if problems.is_empty() {
                format!(
                    "{} used and {} idle edges of {} links, {users} users",
                    self.edges_used.len(),
                    self.edges_idle.len(),
                    links.len()
                )
            } else {
                problems.join("; ")
            },
        )
    }
}

/// The distributed mechanism's part of a [`SolveReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedReport {
    /// BFS root of the spanning tree.
    pub root: usize,
    /// Tree edges used, `(parent, child)`.
    pub tree_edges: Vec<(usize, usize)>,
    /// Edges of the graph not used (they close cycles).
    pub dropped_edges: Vec<(usize, usize)>,
    /// Which edges carry which messages, and why the others carry none.
    pub routing: MessageRouting,
    /// `φ(i)` for every user.
    pub phi: Vec<usize>,
    /// Taxes `t̂^i` (eq. 18) at the constructed NE.
    pub taxes: Vec<f64>,
    /// Balanced taxes at the constructed NE.
    pub balanced_taxes: Vec<f64>,
    /// Payoffs at the constructed NE.
    pub payoffs: Vec<f64>,
    /// `Σ t̂ − J`.
    pub planner_surplus: f64,
    /// `Σ t̃ − J`.
    pub budget_imbalance: f64,
    /// Largest best-response gain at the constructed NE.
    pub max_best_response_gain: f64,
    /// The same, relative to the size of its terms ([`crate::GainBreakdown::relative`]).
    pub max_relative_best_response_gain: f64,
    /// The payment scale of the distributed taxes ([`crate::ProfileEvaluation::payment_scale`]).
    pub payment_scale: f64,
    /// `Σ_i` of the squared penalties inside the distributed taxes
    /// ([`crate::TaxBreakdown::squared_penalties`]; 0 at a NE up to rounding in their units).
    pub squared_penalties: f64,
    /// `Σ_i (money part of t̃^i) − J` ([`crate::ProfileEvaluation::money_budget_imbalance`]).
    pub money_budget_imbalance: f64,
    /// Lemma 4 residuals.
    pub lemma4: Lemma4Report,
    /// Lemma 5 / Corollary 1 residuals.
    pub lemma5: Lemma5Report,
    /// The largest Lemma 4 residual (a difference of demands).
    pub lemma4_max: f64,
    /// The largest Lemma 5 / Corollary 1 residual.
    pub lemma5_max: f64,
    /// The community's demand scale `Σ_i Σ_t |x_t^i| + Σ_l |b^l|` the lemma residuals are
    /// judged against.
    pub demand_scale: f64,
    /// `lemma4_max / demand_scale`.
    pub lemma4_relative: f64,
    /// `lemma5_max / demand_scale`.
    pub lemma5_relative: f64,
}

/// What `dr solve` prints for a mechanism scenario (and reads back with `Deserialize`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// `"mechanism"`.
    pub model: ModelTag,
    /// What was solved, in words.
    pub solved: String,
    /// `N`.
    pub users: usize,
    /// `T`.
    pub periods: usize,
    /// Energy prices `p_t` (money per unit of energy).
    pub energy_prices: Vec<f64>,
    /// Peak price `p_0` (money per unit of the community's peak).
    pub peak_price: f64,
    /// `x*[i][t]`.
    pub allocation: Vec<Vec<f64>>,
    /// Aggregate demand `Σ_i x_t^{i*}` per period.
    pub aggregate_demand: Vec<f64>,
    /// Peak prices `μ_t`.
    pub mu: Vec<f64>,
    /// `λ^l` of the `[[constraints]]` rows, in file order.
    pub constraint_multipliers: Vec<f64>,
    /// For each of those rows, its `[[constraints]]` entry index.
    pub constraint_entry: Vec<usize>,
    /// The `[[constraints]]` rows at the optimum.
    pub constraints: Vec<ConstraintReport>,
    /// Multipliers of `x_t^i ≥ lower` (`[i][t]`, 0 without a bound).
    pub lower_bound_multipliers: Vec<Vec<f64>>,
    /// Multipliers of `x_t^i ≤ upper`.
    pub upper_bound_multipliers: Vec<Vec<f64>>,
    /// Peak demand `max_t Σ_i x_t^{i*}`.
    pub peak: f64,
    /// Welfare `Σ v − J`.
    pub welfare: f64,
    /// `J(x*)`.
    pub energy_cost: f64,
    /// Taxes `t̂^i(m*)` (eq. 7) at the NE of Theorem 2.
    pub taxes: Vec<f64>,
    /// Balanced taxes `t̃^i(m*)` (Theorem 4); they sum to `J(x*)`.
    pub balanced_taxes: Vec<f64>,
    /// Payoffs `u^i(m*)`.
    pub payoffs: Vec<f64>,
    /// `v^i(x^{i*}) = Σ_t v_t^i(x_t^{i*})`, each user's utility of its demand at the optimum.
    pub utility: Vec<f64>,
    /// `v^i(0)` (Theorem 3: `payoffs[i] ≥ utility_at_zero[i]`).
    pub utility_at_zero: Vec<f64>,
    /// `Σ t̂ − J(x*)` (= `Σ λ b ≥ 0`, Theorem 4).
    pub planner_surplus: f64,
    /// `Σ_l λ^l b^l`.
    pub price_revenue: f64,
    /// `Σ t̃ − J(x*)` (0 at a NE).
    pub budget_imbalance: f64,
    /// Largest exact best-response gain at the constructed NE (0 up to rounding).
    pub max_best_response_gain: f64,
    /// The same, relative to the size of its terms ([`crate::GainBreakdown::relative`]).
    pub max_relative_best_response_gain: f64,
    /// Size of the money terms of each tax ([`crate::TaxBreakdown::size`]).
    pub tax_sizes: Vec<f64>,
    /// The payment scale ([`crate::ProfileEvaluation::payment_scale`]).
    pub payment_scale: f64,
    /// Squared penalties inside each tax ([`crate::TaxBreakdown::squared_penalties`]).
    pub squared_penalties: Vec<f64>,
    /// The money part of each tax ([`crate::TaxBreakdown::money`]).
    pub money_taxes: Vec<f64>,
    /// `Σ_i (money part of t̃^i) − J` ([`crate::ProfileEvaluation::money_budget_imbalance`]).
    pub money_budget_imbalance: f64,
    /// The data's units (quantity `Q`, price `P`) the planner was solved in.
    pub units: Scales,
    /// KKT residuals (4) of the planner's solution.
    pub kkt: KktResiduals,
    /// The planner's certificate.
    pub certificate: CertificateReport,
    /// Whether the active-set polish was kept.
    pub polished: bool,
    /// Demands on the flat part of a satiation utility (empty: Assumption 1 holds at x*).
    pub satiated: Vec<SatiatedDemand>,
    /// The distributed mechanism, when the scenario has a `[network]`.
    pub distributed: Option<DistributedReport>,
    /// The checks and claims.
    pub checks: SolveChecks,
}

impl SolveReport {
    /// Every claim, with its verdict.
    pub fn claims(&self) -> &[Claim] {
        &self.checks.claims
    }
}

/// `|num| / den` with `0/0 = 0` (a relative gap; `x/0 = ∞` for `x ≠ 0`).
fn ratio(num: f64, den: f64) -> f64 {
    let num = num.abs();
    if num == 0.0 {
        0.0
    } else if den == 0.0 || num.is_nan() || den.is_nan() {
        f64::INFINITY
    } else {
        num / den.abs()
    }
}

fn describe_row(kind: RowKind) -> String {
    match kind {
        RowKind::CommunityTotal => "community total Σ_i Σ_t x_t^i".into(),
        RowKind::CommunityCap { period } => format!("community cap Σ_i x_{period}^i"),
        RowKind::UserTotal { user } => format!("user total Σ_t x_t^{user}"),
        RowKind::UserUpper { user, period } => format!("upper bound x_{period}^{user}"),
        RowKind::UserLower { user, period } => format!("lower bound x_{period}^{user}"),
        RowKind::General => "general row (terms)".into(),
    }
}

/// Solves a scenario: planner's problem (3), the NE of Theorem 2, taxes, balanced taxes,
/// payoffs, best-response gains, every claim checked, and the distributed mechanism on the
/// network's spanning tree when there is one.
pub fn run_scenario(
    scenario: &Scenario,
    settings: &ScenarioSettings,
) -> Result<SolveReport, MechanismError> {
    let sm = scenario.to_model()?;
    let network = scenario.network()?;
    let model = &sm.model;
    let (n, t_len) = (model.users(), model.periods());
    let opt = solve_planner(model, &settings.planner)?;
    let mech = CentralizedMechanism::new(model, settings.mechanism)?;
    let ne = mech.nash_equilibrium(&opt)?;
    let ev = mech.evaluate(&ne)?;
    let t4 = mech.theorem4(&ne)?;
    let mut lower = vec![vec![0.0; t_len]; n];
    let mut upper = vec![vec![0.0; t_len]; n];
    for l in sm.constraint_rows..model.rows() {
        match model.row_kind(l) {
            RowKind::UserLower { user, period } => {
                lower[user][period] = opt.constraint_multipliers[l]
            }
            RowKind::UserUpper { user, period } => {
                upper[user][period] = opt.constraint_multipliers[l]
            }
            _ => {}
        }
    }
    let x = &opt.allocation;
    let activity = model.row_activity(x);
    let constraints: Vec<ConstraintReport> = (0..sm.constraint_rows)
        .map(|l| ConstraintReport {
            entry: sm.constraint_entry[l],
            constraint: describe_row(model.row_kind(l)),
            rhs: model.rhs()[l],
            activity: activity[l],
            multiplier: opt.constraint_multipliers[l],
        })
        .collect();
    let mut satiated = Vec::new();
    for i in 0..n {
        for t in 0..t_len {
            if let Some(point) = model.satiation_point(i, t) {
                let demand = x[i * t_len + t];
                if demand >= point {
                    satiated.push(SatiatedDemand {
                        user: i,
                        period: t,
                        demand,
                        satiation_point: point,
                    });
                }
            }
        }
    }
    let demand_scale =
        x.iter().map(|v| v.abs()).sum::<f64>() + model.rhs().iter().map(|b| b.abs()).sum::<f64>();
    let distributed = match network {
        None => None,
        Some(net) => {
            let dm = DistributedMechanism::new(model, net, settings.mechanism)?;
            let dne = dm.nash_equilibrium(&opt)?;
            let dev = dm.evaluate(&dne)?;
            let dt4 = dm.theorem4(&dne)?;
            let lemma4 = dm.lemma4(&dne)?;
            let lemma5 = dm.lemma5(&dne)?;
            let net = dm.network();
            Some(DistributedReport {
                root: net.root(),
                tree_edges: net.tree_edges().to_vec(),
                dropped_edges: net.dropped_edges().to_vec(),
                routing: MessageRouting::of(net),
                phi: (0..n).map(|i| net.phi(i)).collect(),
                taxes: dev.taxes.iter().map(|t| t.total).collect(),
                balanced_taxes: dev.balanced_taxes.clone(),
                payoffs: dev.payoffs.clone(),
                planner_surplus: dev.planner_surplus,
                budget_imbalance: dt4.budget_imbalance,
                max_best_response_gain: dev.max_gain,
                max_relative_best_response_gain: dev.max_relative_gain,
                payment_scale: dev.payment_scale,
                squared_penalties: dev.taxes.iter().map(|t| t.squared_penalties).sum(),
                money_budget_imbalance: dev.money_budget_imbalance,
                lemma4_max: lemma4
                    .beta
                    .max(lemma4.constraint_summaries)
                    .max(lemma4.peak_summaries),
                lemma5_max: lemma5
                    .constraint_summaries
                    .max(lemma5.peak_summaries)
                    .max(lemma5.corollary_constraints)
                    .max(lemma5.corollary_peak),
                lemma4,
                lemma5,
                demand_scale,
                lemma4_relative: 0.0,
                lemma5_relative: 0.0,
            })
        }
    };
    let distributed = distributed.map(|mut d| {
        d.lemma4_relative = ratio(d.lemma4_max, d.demand_scale);
        d.lemma5_relative = ratio(d.lemma5_max, d.demand_scale);
        d
    });
    let mut report = SolveReport {
        model: ModelTag::Mechanism,
        solved: "planner's problem (3) and the NE of the centralized mechanism \
                 (wei-anastasopoulos Theorem 2)"
            .into(),
        users: n,
        periods: t_len,
        energy_prices: model.energy_prices().to_vec(),
        peak_price: model.peak_price(),
        allocation: (0..n)
            .map(|i| x[i * t_len..(i + 1) * t_len].to_vec())
            .collect(),
        aggregate_demand: model.aggregate(x),
        mu: opt.peak_multipliers.clone(),
        constraint_multipliers: opt.constraint_multipliers[..sm.constraint_rows].to_vec(),
        constraint_entry: sm.constraint_entry.clone(),
        constraints,
        lower_bound_multipliers: lower,
        upper_bound_multipliers: upper,
        peak: opt.peak,
        welfare: opt.welfare,
        energy_cost: opt.energy_cost,
        taxes: ev.taxes.iter().map(|t| t.total).collect(),
        balanced_taxes: ev.balanced_taxes.clone(),
        payoffs: ev.payoffs.clone(),
        utility: (0..n)
            .map(|i| model.user_utility(i, &x[i * t_len..(i + 1) * t_len]))
            .collect(),
        utility_at_zero: ev.utility_at_zero.clone(),
        planner_surplus: ev.planner_surplus,
        price_revenue: t4.price_revenue,
        budget_imbalance: t4.budget_imbalance,
        max_best_response_gain: ev.max_gain,
        max_relative_best_response_gain: ev.max_relative_gain,
        tax_sizes: ev.taxes.iter().map(|t| t.size).collect(),
        payment_scale: ev.payment_scale,
        squared_penalties: ev.taxes.iter().map(|t| t.squared_penalties).collect(),
        money_taxes: ev.taxes.iter().map(|t| t.money).collect(),
        money_budget_imbalance: ev.money_budget_imbalance,
        units: model.scales(),
        kkt: opt.kkt,
        certificate: opt.certificate.into(),
        polished: opt.polished,
        satiated,
        distributed,
        // Filled in below from the report itself.
        checks: SolveChecks::default(),
    };
    report.checks = checks(&sm, &report, scenario);
    Ok(report)
}

/// The checks of a report, computed from the report and the model, where possible
/// independently of the mechanism's own code (the KKT prices times demand, `Σ λ b` over
/// every row, `v^i` evaluated afresh).
fn checks(sm: &ScenarioModel, r: &SolveReport, scenario: &Scenario) -> SolveChecks {
    let model = &sm.model;
    let (n, t_len) = (model.users(), model.periods());
    let x: Vec<f64> = r.allocation.concat();
    // The prices of (4) per (user, period): p_t + μ_t + Σ_l λ^l a_t^{i,l} over the
    // [[constraints]] rows and the users' bounds (x ≤ u: +ν, x ≥ l: −ν).
    let mut price = vec![0.0; n * t_len];
    for i in 0..n {
        for t in 0..t_len {
            price[i * t_len + t] =
                model.energy_prices()[t] + r.mu[t] + r.upper_bound_multipliers[i][t]
                    - r.lower_bound_multipliers[i][t];
        }
    }
    let mut revenue = 0.0;
    for (l, row) in r.constraints.iter().enumerate() {
        let (vars, coefs) = model.row(l);
        for (&v, &a) in vars.iter().zip(coefs) {
            if let Some(p) = price.get_mut(v) {
                *p += row.multiplier * a;
            }
        }
        revenue += row.multiplier * row.rhs;
    }
    for l in sm.constraint_rows..model.rows() {
        let lambda = match model.row_kind(l) {
            RowKind::UserUpper { user, period } => r.upper_bound_multipliers[user][period],
            RowKind::UserLower { user, period } => r.lower_bound_multipliers[user][period],
            _ => 0.0,
        };
        revenue += lambda * model.rhs()[l];
    }
    let scale = r.payment_scale;
    let mut c = SolveChecks {
        mu_sum: r.mu.iter().sum(),
        taxes_sum: r.taxes.iter().sum(),
        mu_sum_minus_peak_price_relative: ratio(
            r.mu.iter().sum::<f64>() - model.peak_price(),
            model.peak_price(),
        ),
        balanced_taxes_sum: r.balanced_taxes.iter().sum(),
        budget_balance_relative_gap: ratio(r.money_budget_imbalance, scale),
        // Σ t̂ − J − Σ λ b = (Σ t̃ − J) + (Σ rebates − Σ λ b), money parts.
        planner_surplus_minus_price_revenue_relative: ratio(
            r.money_taxes.iter().sum::<f64>() - r.energy_cost - revenue,
            scale,
        ),
        taxes_minus_kkt_prices_times_demand_relative: 0.0,
        payoff_relative_gap: 0.0,
        individual_rationality_margin: f64::INFINITY,
        individual_rationality_margin_balanced: f64::INFINITY,
        planner_surplus_sign_relative: ratio(r.planner_surplus.min(0.0), scale),
        payment_scale: scale,
        tolerance: CLAIM_TOLERANCE.max(10.0 * r.kkt.max()),
        claims: Vec::new(),
        failed: Vec::new(),
    };
    for i in 0..n {
        let xi = &x[i * t_len..(i + 1) * t_len];
        let (paid, paid_size) = xi
            .iter()
            .zip(&price[i * t_len..(i + 1) * t_len])
            .fold((0.0, 0.0), |(a, b), (x, p)| (a + x * p, b + (x * p).abs()));
        let v = model.user_utility(i, xi);
        let v0 = model.user_utility(i, &vec![0.0; t_len]);
        // The money part of the tax: the squared penalties (price², quantity²; zero at a
        // NE) are judged in their own units by the best-response claim.
        let tax = r.money_taxes[i];
        let size = r.tax_sizes[i];
        c.taxes_minus_kkt_prices_times_demand_relative = c
            .taxes_minus_kkt_prices_times_demand_relative
            .max(ratio(tax - paid, size + paid_size));
        let u = r.payoffs[i];
        c.payoff_relative_gap = c
            .payoff_relative_gap
            .max(ratio(u - (v - tax), u.abs() + v.abs() + tax.abs()));
        let user_scale = v.abs() + v0.abs() + size;
        let signed = |m: f64| {
            if m >= 0.0 {
                ratio(m, user_scale)
            } else {
                -ratio(m, user_scale)
            }
        };
        c.individual_rationality_margin = c.individual_rationality_margin.min(signed(u - v0));
        c.individual_rationality_margin_balanced = c
            .individual_rationality_margin_balanced
            .min(signed(v - r.balanced_taxes[i] - v0));
    }
    let tol = c.tolerance;
    let mut claims = vec![
        Claim::new(
            "Σ_t μ_t = p_0 (4f)",
            c.mu_sum_minus_peak_price_relative <= tol,
            format!("relative gap {:.3e}", c.mu_sum_minus_peak_price_relative),
        ),
        Claim::new(
            "no user gains by deviating from the NE (exact best responses)",
            r.max_relative_best_response_gain <= tol,
            format!(
                "largest gain {:.3e}, relative to its terms {:.3e}",
                r.max_best_response_gain, r.max_relative_best_response_gain
            ),
        ),
        Claim::new(
            "every user pays the KKT prices for its demand",
            c.taxes_minus_kkt_prices_times_demand_relative <= tol,
            format!(
                "relative gap {:.3e}",
                c.taxes_minus_kkt_prices_times_demand_relative
            ),
        ),
        Claim::new(
            "payoffs u^i = v^i(x^i) − t̂^i",
            c.payoff_relative_gap <= tol,
            format!("relative gap {:.3e}", c.payoff_relative_gap),
        ),
        Claim::new(
            "Σ balanced taxes = J (budget balance, Theorem 4)",
            c.budget_balance_relative_gap <= tol,
            format!(
                "Σ t̃ − J = {:.3e}, relative to the payment scale {:.3e}: {:.3e}",
                c.balanced_taxes_sum - r.energy_cost,
                r.payment_scale,
                c.budget_balance_relative_gap
            ),
        ),
        Claim::new(
            "planner surplus = Σ λ b ≥ 0 (Theorem 4)",
            c.planner_surplus_minus_price_revenue_relative <= tol
                && c.planner_surplus_sign_relative <= tol,
            format!(
                "surplus {:.6e}, relative gap {:.3e}",
                r.planner_surplus, c.planner_surplus_minus_price_revenue_relative
            ),
        ),
        Claim::new(
            "individual rationality u^i ≥ v^i(0) (Theorem 3)",
            c.individual_rationality_margin >= -tol,
            format!(
                "smallest relative margin {:.3e}",
                c.individual_rationality_margin
            ),
        ),
        Claim::new(
            "individual rationality with balanced taxes",
            c.individual_rationality_margin_balanced >= -tol,
            format!(
                "smallest relative margin {:.3e}",
                c.individual_rationality_margin_balanced
            ),
        ),
    ];
    if let Some(d) = &r.distributed {
        let gap = ratio(d.money_budget_imbalance, d.payment_scale);
        claims.push(Claim::new(
            "no user gains by deviating from the distributed NE",
            d.max_relative_best_response_gain <= tol,
            format!(
                "largest gain {:.3e}, relative to its terms {:.3e}",
                d.max_best_response_gain, d.max_relative_best_response_gain
            ),
        ));
        claims.push(Claim::new(
            "distributed Σ balanced taxes = J",
            gap <= tol,
            format!(
                "Σ t̃ − J = {:.3e} (of which squared proxy penalties {:.3e}), money part \
                 relative to the payment scale {:.3e}: {:.3e}",
                d.budget_imbalance, d.squared_penalties, d.payment_scale, gap
            ),
        ));
        let links = scenario
            .network
            .as_ref()
            .map_or(&[][..], |s| s.edges.as_slice());
        claims.push(d.routing.spanning_tree_claim(r.users, links));
    }
    c.failed = claims
        .iter()
        .filter(|c| !c.holds)
        .map(|c| format!("{}: {}", c.claim, c.evidence))
        .collect();
    c.claims = claims;
    c
}

/// Which mechanism a learning run plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MechanismKind {
    /// The centralized mechanism (§IV).
    Centralized,
    /// The distributed mechanism on the network's spanning tree (§V).
    Distributed,
}

impl MechanismKind {
    /// `"centralized"` or `"distributed"`.
    pub fn name(self) -> &'static str {
        match self {
            MechanismKind::Centralized => "centralized",
            MechanismKind::Distributed => "distributed",
        }
    }
}

/// The learning dynamic of a run, as the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum DynamicReport {
    /// [`LearningRule::PriceAdjustment`].
    PriceAdjustment {
        /// `γ`.
        step: f64,
        /// `ω`.
        consensus: f64,
    },
    /// [`LearningRule::BestResponse`].
    BestResponse {
        /// `α`.
        damping: f64,
    },
}

impl From<LearningRule> for DynamicReport {
    fn from(rule: LearningRule) -> Self {
        match rule {
            LearningRule::PriceAdjustment { step, consensus } => {
                DynamicReport::PriceAdjustment { step, consensus }
            }
            LearningRule::BestResponse { damping } => DynamicReport::BestResponse { damping },
        }
    }
}

/// Rounds a run needed: a number when it converged, the reason otherwise (never `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RoundsNeeded {
    /// Converged after this many updates.
    Rounds(usize),
    /// `"not converged (…)"`.
    NotConverged(String),
}

/// What `dr simulate` prints: a learning run against the planner's optimum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    /// `"mechanism"`.
    pub model: ModelTag,
    /// Which mechanism the users learn in.
    pub mechanism: MechanismKind,
    /// The dynamic and its parameters.
    pub dynamic: DynamicReport,
    /// The round limit.
    pub max_rounds: usize,
    /// The convergence tolerance on the largest relative best-response gain.
    pub tolerance: f64,
    /// Why the run stopped.
    pub termination: Termination,
    /// `termination == Converged`.
    pub converged: bool,
    /// Updates applied.
    pub rounds_applied: usize,
    /// Updates needed (when converged).
    pub rounds_needed: RoundsNeeded,
    /// Largest best-response gain at the final profile.
    pub max_best_response_gain: f64,
    /// The same relative to each user's money scale.
    pub max_relative_best_response_gain: f64,
    /// `max_{i,t} |y_t^i − x_t^{i*}|` at the final profile.
    pub distance_to_optimum: f64,
    /// The certificate of the reference optimum `x*`.
    pub optimum_certificate: CertificateReport,
    /// Final announced demands `y[i][t]`.
    pub allocation: Vec<Vec<f64>>,
    /// The planner's optimum `x*[i][t]`.
    pub optimum_allocation: Vec<Vec<f64>>,
    /// Tree edges of a distributed run (empty for a centralized one).
    pub tree_edges: Vec<(usize, usize)>,
    /// Idle network edges of a distributed run.
    pub dropped_edges: Vec<(usize, usize)>,
    /// The message routing of a distributed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<MessageRouting>,
    /// The per-round trace (round 0 = the starting profile).
    pub rounds: Vec<LearningRecord>,
}

/// Runs the learning dynamic of `learning` on a scenario from the default starting profile:
/// distributed when the scenario has a network, centralized otherwise.
pub fn simulate_scenario(
    scenario: &Scenario,
    settings: &ScenarioSettings,
    learning: &LearningSettings,
) -> Result<SimulationReport, MechanismError> {
    let kind = if scenario.network.is_some() {
        MechanismKind::Distributed
    } else {
        MechanismKind::Centralized
    };
    simulate_scenario_observed(scenario, settings, learning, kind, &mut |_, _, _| {
        ControlFlow::Continue(())
    })
}

/// A watcher of a learning run's rounds: `(index, record, allocation)` after every round;
/// `Break` stops the run ([`Termination::Stopped`]).
pub type RoundWatcher<'a> = dyn FnMut(usize, &LearningRecord, &[f64]) -> ControlFlow<()> + 'a;

/// An observer of a learning run that hands each round's record and allocation to a
/// closure.
struct RoundAdapter<'a, 'g, G> {
    game: &'g G,
    observe: &'a mut RoundWatcher<'a>,
}

impl<'g, G: LearningGame> Observer<Learner<'g, G>> for RoundAdapter<'_, 'g, G> {
    fn observe(
        &mut self,
        index: usize,
        round: &LearningRecord,
        stepper: &Learner<'g, G>,
    ) -> ControlFlow<()> {
        (self.observe)(index, round, self.game.allocation(stepper.profile()))
    }
}

fn learn<G: LearningGame>(
    game: &G,
    learning: &LearningSettings,
    observe: &mut RoundWatcher<'_>,
) -> Result<(LearningOutcome<G::Profile>, Vec<f64>), MechanismError> {
    let learner = Learner::new(game, game.starting_profile(), *learning)?;
    let mut adapter = RoundAdapter { game, observe };
    let out: LearningOutcome<G::Profile> = learner.executor().observe(&mut adapter).run().into();
    let y = game.allocation(&out.profile).to_vec();
    Ok((out, y))
}

/// [`simulate_scenario`] for a chosen mechanism, with `observe(index, record, allocation)`
/// called after every round (`Break` stops the run: [`Termination::Stopped`]). Asking for
/// the distributed mechanism of a scenario without a `[network]` is an error naming
/// `network`.
pub fn simulate_scenario_observed(
    scenario: &Scenario,
    settings: &ScenarioSettings,
    learning: &LearningSettings,
    kind: MechanismKind,
    observe: &mut RoundWatcher<'_>,
) -> Result<SimulationReport, MechanismError> {
    let sm = scenario.to_model()?;
    let model = &sm.model;
    let (n, t_len) = (model.users(), model.periods());
    let network = scenario.network()?;
    let opt = solve_planner(model, &settings.planner)?;
    let (termination, rounds, trace, y, routing) = match (kind, network) {
        (MechanismKind::Distributed, Some(net)) => {
            let dm = DistributedMechanism::new(model, net, settings.mechanism)?;
            let (out, y) = learn(&dm, learning, observe)?;
            let routing = MessageRouting::of(dm.network());
            (out.termination, out.rounds, out.trace, y, Some(routing))
        }
        (MechanismKind::Distributed, None) => {
            return Err(MechanismError::Input(dr_convex::InputError::Invalid {
                field: "network".into(),
                message: "the distributed mechanism needs a [network] table".into(),
            }))
        }
        (MechanismKind::Centralized, _) => {
            let cm = CentralizedMechanism::new(model, settings.mechanism)?;
            let (out, y) = learn(&cm, learning, observe)?;
            (out.termination, out.rounds, out.trace, y, None)
        }
    };
    let distance = y
        .iter()
        .zip(&opt.allocation)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let split =
        |v: &[f64]| -> Vec<Vec<f64>> { v.chunks(t_len.max(1)).map(<[f64]>::to_vec).collect() };
    let converged = termination == Termination::Converged;
    let (tree_edges, dropped_edges) = match &routing {
        Some(r) => (
            r.edges_used.iter().map(|e| (e.parent, e.child)).collect(),
            r.edges_idle.iter().map(|e| e.edge).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    debug_assert_eq!(y.len(), n * t_len);
    Ok(SimulationReport {
        model: ModelTag::Mechanism,
        mechanism: kind,
        dynamic: learning.rule.into(),
        max_rounds: learning.max_rounds,
        tolerance: learning.tolerance,
        termination,
        converged,
        rounds_applied: rounds,
        rounds_needed: if converged {
            RoundsNeeded::Rounds(rounds)
        } else {
            RoundsNeeded::NotConverged(format!("not converged ({termination:?})"))
        },
        max_best_response_gain: trace.last().map_or(f64::INFINITY, |r| r.max_gain),
        max_relative_best_response_gain: trace
            .last()
            .map_or(f64::INFINITY, |r| r.max_relative_gain),
        distance_to_optimum: distance,
        optimum_certificate: opt.certificate.into(),
        allocation: split(&y),
        optimum_allocation: split(&opt.allocation),
        tree_edges,
        dropped_edges,
        routing,
        rounds: trace,
    })
}

/// The `dr demo` section on the bundled community: the [`SolveReport`] with one more claim
/// (its network has cycles, and the mechanism leaves them idle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunityDemoReport {
    /// The scenario file's name.
    pub scenario: String,
    /// The solve report (its fields flattened).
    #[serde(flatten)]
    pub report: SolveReport,
}

/// Runs the demo community `scenario` (named `name`): [`run_scenario`], plus the claim that
/// its network has cycles and that tree and idle edges together are its links.
pub fn community_demo(
    scenario: &Scenario,
    name: &str,
    settings: &ScenarioSettings,
) -> Result<CommunityDemoReport, MechanismError> {
    let mut report = run_scenario(scenario, settings)?;
    let links = scenario.network.as_ref().map_or(0, |n| n.edges.len());
    let claim = match &report.distributed {
        Some(d) => Claim::new(
            "the community's network has cycles; the mechanism uses a spanning tree and \
             leaves the other links idle",
            d.tree_edges.len() + d.dropped_edges.len() == links && !d.dropped_edges.is_empty(),
            format!(
                "{} tree edges and {} idle edges for {links} links",
                d.tree_edges.len(),
                d.dropped_edges.len()
            ),
        ),
        None => Claim::new(
            "the community has a message network",
            false,
            format!("{name} has no [network]"),
        ),
    };
    if !claim.holds {
        report
            .checks
            .failed
            .push(format!("{}: {}", claim.claim, claim.evidence));
    }
    report.checks.claims.push(claim);
    Ok(CommunityDemoReport {
        scenario: name.to_string(),
        report,
    })
}
