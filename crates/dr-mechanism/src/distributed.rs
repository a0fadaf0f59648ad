//! The distributed mechanism of wei-anastasopoulos §V over a message-exchange
//! [`Network`]: messages with proxies `β^{i,j}` and summaries `n^{i,j,l}`, `ν_t^{i,j}`, the
//! taxes (18), and the checks of Lemmas 4–5, Corollary 1 and Theorems 1–5.
//!
//! User `i` reads only the messages of `N(i) ∪ {i}`. With
//! `f^{i,j,l} = a^{j,l}·y^j + Σ_{h∈N(j)\{i}} n^{j,h,l}` and
//! `f_t^{i,j} = y_t^j + Σ_{h∈N(j)\{i}} ν_t^{j,h}`, averages over `N(i)`, and
//! `ζ_t^{−i} = Σ_{j∈N(i)} f_t^{i,j} + β_t^{φ(i),i}`:
//!
//! ```text
//! t̂^i = cost^i + Σ_l (prn^{i,l} + con^{i,l}) + Σ_t (prβ_t^i + prν_t^i + con_t^i)
//! con^{i,l} = (q^{i,l} − q^{−i,l})² + q^{i,l} (b^l − a^{i,l}·β^{φ(i),i} − Σ_{j∈N(i)} f^{i,j,l})
//! prn^{i,l} = Σ_{j∈N(i)} (n^{i,j,l} − f^{i,j,l})²,  prν_t^i = Σ_{j∈N(i)} (ν_t^{i,j} − f_t^{i,j})²
//! prβ_t^i = Σ_{j: φ(j)=i} (β_t^{i,j} − y_t^j)²
//! ```
//! (`cost^i` and `con_t^i` as in the centralized mechanism.) The mechanism runs on the BFS
//! spanning tree of the graph (see [`crate::network`]).

use crate::centralized::check_vec;
use crate::error::MechanismError;
use crate::game::{
    self, Env, GainBreakdown, Lemma2Report, Lemma3Report, MechanismSettings, OwnUpdate, Parts,
    ProfileEvaluation, Provider, TaxBreakdown, Theorem4Report,
};
use crate::model::Model;
use crate::network::Network;
use crate::planner::{KktResiduals, PlannerSolution};
use crate::radial::{peak_set_sized, radial_on};
use serde::{Deserialize, Serialize};

/// A message profile of the distributed mechanism (§V-B), struct-of-arrays.
///
/// Directed tree edges `e = i → j` are numbered by [`Network::edge_index`]; the proxy of
/// user `j`'s demand, announced by `φ(j)`, is stored at user `j`'s block of `beta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedProfile {
    /// Number of users `N`.
    pub users: usize,
    /// Number of periods `T`.
    pub periods: usize,
    /// Number of rows `L`.
    pub rows: usize,
    /// Number of directed tree edges `2(N − 1)`.
    pub directed_edges: usize,
    /// Demands `y_t^i` at `i·T + t`.
    pub y: Vec<f64>,
    /// Constraint prices `q^{i,l} ≥ 0` at `i·L + l`.
    pub q: Vec<f64>,
    /// Peak prices `s_t^i ≥ 0` at `i·T + t`.
    pub s: Vec<f64>,
    /// `β_t^{φ(j),j}` (announced by `φ(j)`) at `j·T + t`.
    pub beta: Vec<f64>,
    /// Summaries `n^{i,j,l}` (announced by `i`) at `e·L + l`, `e = i → j`.
    pub n: Vec<f64>,
    /// Summaries `ν_t^{i,j}` (announced by `i`) at `e·T + t`, `e = i → j`.
    pub nu: Vec<f64>,
}

impl DistributedProfile {
    /// The all-zero profile.
    pub fn zeros(model: &Model, network: &Network) -> Self {
        let (n, t, l) = (model.users(), model.periods(), model.rows());
        let e = network.directed_edges();
        Self {
            users: n,
            periods: t,
            rows: l,
            directed_edges: e,
            y: vec![0.0; n * t],
            q: vec![0.0; n * l],
            s: vec![0.0; n * t],
            beta: vec![0.0; n * t],
            n: vec![0.0; e * l],
            nu: vec![0.0; e * t],
        }
    }
    /// `y^i`.
    pub fn y_of(&self, i: usize) -> &[f64] {
        &self.y[i * self.periods..(i + 1) * self.periods]
    }
}

/// Lemma 4 of wei-anastasopoulos: the proxies equal their targets (19)–(21).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Lemma4Report {
    /// (19): `max |β_t^{φ(j),j} − y_t^j|`.
    pub beta: f64,
    /// (20): `max |n^{i,j,l} − f^{i,j,l}|`.
    pub constraint_summaries: f64,
    /// (21): `max |ν_t^{i,j} − f_t^{i,j}|`.
    pub peak_summaries: f64,
}

/// Lemma 5 of wei-anastasopoulos: the summaries are the sums over the users reached
/// through each neighbour, (22)–(23), and Corollary 1, (24)–(25).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Lemma5Report {
    /// (22): `max |n^{i,j,l} − Σ_{h: n(i,h)=j} a^{h,l}·y^h|`.
    pub constraint_summaries: f64,
    /// (23): `max |ν_t^{i,j} − Σ_{h: n(i,h)=j} y_t^h|`.
    pub peak_summaries: f64,
    /// (24): `max |Σ_{j∈N(i)} f^{i,j,l} − Σ_{j≠i} a^{j,l}·y^j|`.
    pub corollary_constraints: f64,
    /// (25): `max |Σ_{j∈N(i)} f_t^{i,j} − Σ_{j≠i} y_t^j|`.
    pub corollary_peak: f64,
}

/// The distributed mechanism on a [`Model`] and a [`Network`] (its spanning tree).
#[derive(Debug, Clone)]
pub struct DistributedMechanism<'m> {
    model: &'m Model,
    network: Network,
    settings: MechanismSettings,
    proxied: Vec<Vec<usize>>,
}

struct Pre {
    nu_sum: Vec<f64>,
    n_sum: Vec<f64>,
    /// `Σ_e |ν_t^e|` over the edges out of each user.
    nu_abs: Vec<f64>,
    /// `Σ_e |n^{e,l}|` over the edges out of each user.
    n_abs: Vec<f64>,
}

/// User `i`'s local view plus the targets of its summaries.
struct Local {
    env: Env,
    /// `f^{i,j,l}` for the `k`-th neighbour at `k·L + l`.
    f_n: Vec<f64>,
    /// `f_t^{i,j}` at `k·T + t`.
    f_nu: Vec<f64>,
    /// `(Σ_j (β − y^j)², Σ (n − f)², Σ (ν − f)²)` maxima for Lemma 4.
    max_dev: (f64, f64, f64),
}

impl<'m> DistributedMechanism<'m> {
    /// The mechanism for `model` on `network`; errors when the node count differs from `N`.
    pub fn new(
        model: &'m Model,
        network: Network,
        settings: MechanismSettings,
    ) -> Result<Self, MechanismError> {
        if network.users() != model.users() {
            return Err(MechanismError::NodeCountMismatch {
                nodes: network.users(),
                users: model.users(),
            });
        }
        if model.users() < 2 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "users".into(),
                got: model.users(),
                required: 2,
            }));
        }
        settings.validate()?;
        crate::centralized::check_message_size(model, network.directed_edges())?;
        let mut proxied = vec![Vec::new(); model.users()];
        for j in 0..model.users() {
            proxied[network.phi(j)].push(j);
        }
        Ok(Self {
            model,
            network,
            settings,
            proxied,
        })
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// The network (spanning tree, dropped edges, `φ`).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Checks a profile's dimensions, finiteness and message spaces.
    pub fn validate(&self, m: &DistributedProfile) -> Result<(), MechanismError> {
        let (n, t, l) = (self.model.users(), self.model.periods(), self.model.rows());
        let e = self.network.directed_edges();
        check_vec("y", &m.y, n * t, t, false)?;
        check_vec("q", &m.q, n * l, l, true)?;
        check_vec("s", &m.s, n * t, t, true)?;
        check_vec("beta", &m.beta, n * t, t, false)?;
        check_vec("n", &m.n, e * l, l, false)?;
        check_vec("nu", &m.nu, e * t, t, false)?;
        if m.users != n || m.periods != t || m.rows != l || m.directed_edges != e {
            return Err(MechanismError::Input(dr_convex::InputError::Invalid {
                field: "profile".into(),
                message: format!(
                    "dimensions ({}, {}, {}, {}) differ from the mechanism's ({n}, {t}, {l}, {e})",
                    m.users, m.periods, m.rows, m.directed_edges
                ),
            }));
        }
        Ok(())
    }

    /// The Nash equilibrium built from the planner's optimum (Theorem 5, by the
    /// construction of Theorem 2): `y = x*`, `q^{i,l} = λ^l`, `s^i = μ`, `β^{φ(j),j} = x^{j*}`,
    /// and the summaries of Lemma 5: `ν^{i,j} = Σ_{h: n(i,h)=j} x^{h*}`,
    /// `n^{i,j,l} = Σ_{h: n(i,h)=j} a^{h,l}·x^{h*}` (subtree sums of the spanning tree).
    pub fn nash_equilibrium(
        &self,
        planner: &PlannerSolution,
    ) -> Result<DistributedProfile, MechanismError> {
        let model = self.model;
        let net = &self.network;
        let (n, t_len, l_len) = (model.users(), model.periods(), model.rows());
        model.check_allocation("planner.allocation", &planner.allocation)?;
        dr_convex::check_len(
            || "planner.constraint_multipliers".into(),
            l_len,
            planner.constraint_multipliers.len(),
        )?;
        dr_convex::check_len(
            || "planner.peak_multipliers".into(),
            t_len,
            planner.peak_multipliers.len(),
        )?;
        let x = &planner.allocation;
        let mut m = DistributedProfile::zeros(model, net);
        m.y.copy_from_slice(x);
        m.beta.copy_from_slice(x);
        for i in 0..n {
            for l in 0..l_len {
                m.q[i * l_len + l] = planner.constraint_multipliers[l].max(0.0);
            }
            for t in 0..t_len {
                m.s[i * t_len + t] = planner.peak_multipliers[t].max(0.0);
            }
        }
        // Subtree sums.
        let mut sub_y = x.to_vec();
        let mut sub_a = vec![0.0; n * l_len];
        for i in 0..n {
            for ur in model.user_rows(i) {
                sub_a[i * l_len + ur.row] += model.user_row_dot(ur, &x[i * t_len..(i + 1) * t_len]);
            }
        }
        for &v in net.bfs_order().iter().rev() {
            if let Some(p) = net.parent(v) {
                for t in 0..t_len {
                    sub_y[p * t_len + t] += sub_y[v * t_len + t];
                }
                for l in 0..l_len {
                    sub_a[p * l_len + l] += sub_a[v * l_len + l];
                }
            }
        }
        let r = net.root();
        for i in 0..n {
            for e in net.edges_of(i) {
                let j = net.edge_head(e);
                for t in 0..t_len {
                    m.nu[e * t_len + t] = if net.parent(j) == Some(i) {
                        sub_y[j * t_len + t]
                    } else {
                        sub_y[r * t_len + t] - sub_y[i * t_len + t]
                    };
                }
                for l in 0..l_len {
                    m.n[e * l_len + l] = if net.parent(j) == Some(i) {
                        sub_a[j * l_len + l]
                    } else {
                        sub_a[r * l_len + l] - sub_a[i * l_len + l]
                    };
                }
            }
        }
        Ok(m)
    }

    fn pre(&self, m: &DistributedProfile) -> Pre {
        let (n, t_len, l_len) = (self.model.users(), self.model.periods(), self.model.rows());
        let mut nu_sum = vec![0.0; n * t_len];
        let mut n_sum = vec![0.0; n * l_len];
        let mut nu_abs = vec![0.0; n * t_len];
        let mut n_abs = vec![0.0; n * l_len];
        for j in 0..n {
            for e in self.network.edges_of(j) {
                for t in 0..t_len {
                    nu_sum[j * t_len + t] += m.nu[e * t_len + t];
                    nu_abs[j * t_len + t] += m.nu[e * t_len + t].abs();
                }
                for l in 0..l_len {
                    n_sum[j * l_len + l] += m.n[e * l_len + l];
                    n_abs[j * l_len + l] += m.n[e * l_len + l].abs();
                }
            }
        }
        Pre {
            nu_sum,
            n_sum,
            nu_abs,
            n_abs,
        }
    }

    fn local(&self, m: &DistributedProfile, pre: &Pre, i: usize) -> Local {
        let model = self.model;
        let net = &self.network;
        let (t_len, l_len) = (model.periods(), model.rows());
        let nb = net.neighbours(i);
        let d = nb.len();
        let inv = 1.0 / d.max(1) as f64;
        let mut q_avg = vec![0.0; l_len];
        let mut s_avg = vec![0.0; t_len];
        let mut f_n = vec![0.0; d * l_len];
        let mut f_nu = vec![0.0; d * t_len];
        let mut zeta: Vec<f64> = m.beta[i * t_len..(i + 1) * t_len].to_vec();
        let mut zeta_size: Vec<f64> = zeta.iter().map(|v| v.abs()).collect();
        let mut sum_f = vec![0.0; l_len];
        let mut q_slack_size: Vec<f64> = model.rhs().iter().map(|b| b.abs()).collect();
        let (mut dev_n, mut dev_nu, mut pen) = (0.0_f64, 0.0_f64, 0.0);
        let mut pen_size = 0.0;
        for (k, e) in net.edges_of(i).enumerate() {
            let j = net.edge_head(e);
            let back = net.reverse(e);
            for l in 0..l_len {
                // Deviations from the first neighbour's price: exact when they agree.
                q_avg[l] += (m.q[j * l_len + l] - m.q[nb[0] * l_len + l]) * inv;
                f_n[k * l_len + l] = pre.n_sum[j * l_len + l] - m.n[back * l_len + l];
                q_slack_size[l] += pre.n_abs[j * l_len + l] + m.n[back * l_len + l].abs();
            }
            let y_j = &m.y[j * t_len..(j + 1) * t_len];
            for ur in model.user_rows(j) {
                f_n[k * l_len + ur.row] += model.user_row_dot(ur, y_j);
                q_slack_size[ur.row] += model
                    .user_row_entries(ur)
                    .map(|(t, a)| (a * y_j[t]).abs())
                    .sum::<f64>();
            }
            for t in 0..t_len {
                s_avg[t] += (m.s[j * t_len + t] - m.s[nb[0] * t_len + t]) * inv;
                let f = y_j[t] + pre.nu_sum[j * t_len + t] - m.nu[back * t_len + t];
                f_nu[k * t_len + t] = f;
                zeta[t] += f;
                zeta_size[t] +=
                    y_j[t].abs() + pre.nu_abs[j * t_len + t] + m.nu[back * t_len + t].abs();
                let dv = m.nu[e * t_len + t] - f;
                pen += dv * dv;
                pen_size += (m.nu[e * t_len + t].abs() + f.abs()).powi(2);
                dev_nu = dev_nu.max(dv.abs());
            }
            for l in 0..l_len {
                let f = f_n[k * l_len + l];
                sum_f[l] += f;
                let dv = m.n[e * l_len + l] - f;
                pen += dv * dv;
                pen_size += (m.n[e * l_len + l].abs() + f.abs()).powi(2);
                dev_n = dev_n.max(dv.abs());
            }
        }
        let mut dev_b = 0.0_f64;
        for &j in &self.proxied[i] {
            for t in 0..t_len {
                let dv = m.beta[j * t_len + t] - m.y[j * t_len + t];
                pen += dv * dv;
                pen_size += (m.beta[j * t_len + t].abs() + m.y[j * t_len + t].abs()).powi(2);
                dev_b = dev_b.max(dv.abs());
            }
        }
        if let Some(&first) = nb.first() {
            for (l, q) in q_avg.iter_mut().enumerate() {
                *q = (*q + m.q[first * l_len + l]).max(0.0);
            }
            for (t, s) in s_avg.iter_mut().enumerate() {
                *s = (*s + m.s[first * t_len + t]).max(0.0);
            }
        }
        let own_proxy = &m.beta[i * t_len..(i + 1) * t_len];
        let mut q_slack: Vec<f64> = (0..l_len).map(|l| model.rhs()[l] - sum_f[l]).collect();
        for ur in model.user_rows(i) {
            q_slack[ur.row] -= model.user_row_dot(ur, own_proxy);
            q_slack_size[ur.row] += model
                .user_row_entries(ur)
                .map(|(t, a)| (a * own_proxy[t]).abs())
                .sum::<f64>();
        }
        let tie_scale = zeta_size.iter().copied().fold(0.0, f64::max);
        let (z, a) = peak_set_sized(&zeta, self.settings.tie_tolerance, tie_scale);
        let rp = radial_on(&s_avg, &a, model.peak_price());
        let price = game::price_vector(model, i, &rp, &q_avg);
        Local {
            env: Env {
                price,
                rp,
                q_avg,
                q_slack,
                s_avg,
                zeta,
                z,
                proxy_penalty: pen,
                q_slack_size,
                zeta_size,
                proxy_size: pen_size,
            },
            f_n,
            f_nu,
            max_dev: (dev_b, dev_n, dev_nu),
        }
    }

    fn for_each_local(&self, m: &DistributedProfile, f: &mut dyn FnMut(usize, &Local)) {
        let pre = self.pre(m);
        for i in 0..self.model.users() {
            let loc = self.local(m, &pre, i);
            f(i, &loc);
        }
    }

    /// Radial prices `RP^i(s^{−i}, ζ^{−i})` of every user.
    pub fn radial_prices(&self, m: &DistributedProfile) -> Result<Vec<Vec<f64>>, MechanismError> {
        self.validate(m)?;
        let mut out = vec![Vec::new(); self.model.users()];
        self.for_each_env(m, &mut |i, env| out[i] = env.rp.clone());
        Ok(out)
    }

    /// Taxes `t̂^i(m)` by term (eq. 18).
    pub fn taxes(&self, m: &DistributedProfile) -> Result<Vec<TaxBreakdown>, MechanismError> {
        self.validate(m)?;
        let parts = self.parts(m);
        let mut out = vec![TaxBreakdown::default(); self.model.users()];
        self.for_each_env(m, &mut |i, env| {
            out[i] = game::tax_of(self.model, env, i, &parts)
        });
        Ok(out)
    }

    /// User `i`'s payoff `u^i(m) = v^i(y^i) − t̂^i(m)`.
    pub fn payoff(&self, m: &DistributedProfile, i: usize) -> Result<f64, MechanismError> {
        self.validate(m)?;
        dr_convex::check_index(|| "user".into(), i, self.model.users())?;
        let pre = self.pre(m);
        let loc = self.local(m, &pre, i);
        let tax = game::tax_of(self.model, &loc.env, i, &self.parts(m));
        Ok(self.model.user_utility(i, m.y_of(i)) - tax.total)
    }

    /// Taxes, balanced taxes, payoffs, exact best-response gains, energy cost, planner
    /// surplus and welfare, in one pass.
    pub fn evaluate(&self, m: &DistributedProfile) -> Result<ProfileEvaluation, MechanismError> {
        self.validate(m)?;
        Ok(game::evaluate(self, m))
    }

    /// Every user's exact best-response gain against `m^{−i}`.
    pub fn best_response_gains(
        &self,
        m: &DistributedProfile,
    ) -> Result<Vec<GainBreakdown>, MechanismError> {
        self.validate(m)?;
        Ok(game::gains(self, m))
    }

    /// Every user's best response to `m^{−i}`, simultaneously.
    pub fn best_response(
        &self,
        m: &DistributedProfile,
    ) -> Result<DistributedProfile, MechanismError> {
        self.validate(m)?;
        Ok(self.update(m, OwnUpdate::BestResponse { damping: 1.0 }).0)
    }

    /// Lemma 4: residuals of (19)–(21).
    pub fn lemma4(&self, m: &DistributedProfile) -> Result<Lemma4Report, MechanismError> {
        self.validate(m)?;
        let mut r = Lemma4Report::default();
        self.for_each_local(m, &mut |_, loc| {
            r.beta = r.beta.max(loc.max_dev.0);
            r.constraint_summaries = r.constraint_summaries.max(loc.max_dev.1);
            r.peak_summaries = r.peak_summaries.max(loc.max_dev.2);
        });
        Ok(r)
    }

    /// Lemma 5 and Corollary 1: the summaries against their closed forms (22)–(25), computed
    /// from the definition of `n(i, h)` (first hops on the tree), independently of the
    /// recursion.
    pub fn lemma5(&self, m: &DistributedProfile) -> Result<Lemma5Report, MechanismError> {
        self.validate(m)?;
        let model = self.model;
        let net = &self.network;
        let (n, t_len, l_len) = (model.users(), model.periods(), model.rows());
        let mut ay = vec![0.0; n * l_len];
        for h in 0..n {
            for ur in model.user_rows(h) {
                ay[h * l_len + ur.row] += model.user_row_dot(ur, m.y_of(h));
            }
        }
        let e_len = net.directed_edges();
        let mut exp_nu = vec![0.0; e_len * t_len];
        let mut exp_n = vec![0.0; e_len * l_len];
        for i in 0..n {
            for h in 0..n {
                if h == i {
                    continue;
                }
                let j = net.first_hop(i, h);
                let k = net.neighbours(i).binary_search(&j).unwrap_or(0);
                let e = net.edge_index(i, k);
                for t in 0..t_len {
                    exp_nu[e * t_len + t] += m.y[h * t_len + t];
                }
                for ur in model.user_rows(h) {
                    exp_n[e * l_len + ur.row] += ay[h * l_len + ur.row];
                }
            }
        }
        let mut r = Lemma5Report::default();
        for (a, b) in m.nu.iter().zip(&exp_nu) {
            r.peak_summaries = r.peak_summaries.max((a - b).abs());
        }
        for (a, b) in m.n.iter().zip(&exp_n) {
            r.constraint_summaries = r.constraint_summaries.max((a - b).abs());
        }
        let total_y = model.aggregate(&m.y);
        let total_a: Vec<f64> = (0..l_len)
            .map(|l| (0..n).map(|h| ay[h * l_len + l]).sum())
            .collect();
        let (mut c_l, mut c_t) = (0.0_f64, 0.0_f64);
        self.for_each_local(m, &mut |i, loc| {
            let d = net.neighbours(i).len();
            for l in 0..l_len {
                let s: f64 = (0..d).map(|k| loc.f_n[k * l_len + l]).sum();
                c_l = c_l.max((s - (total_a[l] - ay[i * l_len + l])).abs());
            }
            for (t, tot) in total_y.iter().enumerate() {
                let s: f64 = (0..d).map(|k| loc.f_nu[k * t_len + t]).sum();
                c_t = c_t.max((s - (tot - m.y[i * t_len + t])).abs());
            }
        });
        r.corollary_constraints = c_l;
        r.corollary_peak = c_t;
        Ok(r)
    }

    /// Lemma 2 (as in the distributed case): equal prices, feasibility, complementarity.
    pub fn lemma2(&self, m: &DistributedProfile) -> Result<Lemma2Report, MechanismError> {
        self.validate(m)?;
        Ok(game::lemma2(self, m))
    }

    /// Lemma 3 (as in the distributed case): stationarity (13) and (14).
    pub fn lemma3(&self, m: &DistributedProfile) -> Result<Lemma3Report, MechanismError> {
        self.validate(m)?;
        Ok(game::lemma3(self, m))
    }

    /// Theorem 1 / Theorem 5: KKT residuals (4) of the induced allocation (see
    /// [`crate::CentralizedMechanism::theorem1`]).
    pub fn theorem1(&self, m: &DistributedProfile) -> Result<KktResiduals, MechanismError> {
        self.validate(m)?;
        Ok(game::theorem1(self, m))
    }

    /// Theorem 3 (distributed): `u^i(m) − v^i(0)` for every user.
    pub fn theorem3(&self, m: &DistributedProfile) -> Result<Vec<f64>, MechanismError> {
        self.validate(m)?;
        Ok(game::theorem3(self, m))
    }

    /// Theorem 4 (distributed): planner surplus and balanced taxes
    /// `t̃^i = t̂^i − Σ_l q^{−i,l} b^l / N` (`q^{−i,l}` the mean over `N(i)`).
    pub fn theorem4(&self, m: &DistributedProfile) -> Result<Theorem4Report, MechanismError> {
        self.validate(m)?;
        Ok(game::theorem4(self, m))
    }

    pub(crate) fn update(
        &self,
        m: &DistributedProfile,
        rule: OwnUpdate,
    ) -> (DistributedProfile, bool) {
        let model = self.model;
        let net = &self.network;
        let (t_len, l_len) = (model.periods(), model.rows());
        let parts = self.parts(m);
        let a = match rule {
            OwnUpdate::BestResponse { damping } => damping,
            OwnUpdate::Prices { .. } => 1.0,
        };
        let mut out = m.clone();
        let mut all_ok = true;
        self.for_each_local(m, &mut |i, loc| {
            let (y, q, s, ok) = game::own_update(model, &loc.env, i, &parts, rule);
            all_ok &= ok;
            out.y[i * t_len..(i + 1) * t_len].copy_from_slice(&y);
            out.q[i * l_len..(i + 1) * l_len].copy_from_slice(&q);
            out.s[i * t_len..(i + 1) * t_len].copy_from_slice(&s);
            for (k, e) in net.edges_of(i).enumerate() {
                for l in 0..l_len {
                    let v = &mut out.n[e * l_len + l];
                    *v += a * (loc.f_n[k * l_len + l] - *v);
                }
                for t in 0..t_len {
                    let v = &mut out.nu[e * t_len + t];
                    *v += a * (loc.f_nu[k * t_len + t] - *v);
                }
            }
        });
        for j in 0..model.users() {
            for t in 0..t_len {
                let v = &mut out.beta[j * t_len + t];
                *v += a * (m.y[j * t_len + t] - *v);
            }
        }
        (out, all_ok)
    }
}

impl Provider for DistributedMechanism<'_> {
    type Profile = DistributedProfile;
    fn model(&self) -> &Model {
        self.model
    }
    fn parts<'a>(&self, m: &'a DistributedProfile) -> Parts<'a> {
        Parts {
            y: &m.y,
            q: &m.q,
            s: &m.s,
        }
    }
    fn for_each_env(&self, m: &DistributedProfile, f: &mut dyn FnMut(usize, &Env)) {
        self.for_each_local(m, &mut |i, loc| f(i, &loc.env));
    }
}
