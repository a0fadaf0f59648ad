//! What the centralized and the distributed mechanism share: a user's view of the others'
//! messages (prices, slacks, predicted peak), the tax and best-response formulas that act on
//! it, and the checks of the paper's lemmas and theorems that follow from them.
//!
//! In both mechanisms user `i`'s tax is *separable in its own message components*: `y^i`
//! enters only `cost^i` (linearly, at prices set by the others), each `q^{i,l}` only
//! `con^{i,l}`, each `s_t^i` only `con_t^i`, and each proxy (`β`, `n`, `ν`) only its own
//! squared penalty — the slack terms use the proxy `β` of user `i`'s own demand, never
//! `y^i` itself (that is what the proxies are for, wei-anastasopoulos Lemma 1). So the exact
//! best response is found component by component, and the sum of the component gains is the
//! exact gain of the joint best response.

use crate::error::MechanismError;
use crate::model::Model;
use crate::planner::{kkt_unchecked, KktResiduals};
use crate::radial::project_simplex;
use dr_convex::ConvexScalar;
use serde::Serialize;

/// Settings shared by both mechanisms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MechanismSettings {
    /// Relative tolerance `τ` for ties in the argmax of radial pricing: `t` is a peak period
    /// when `ζ_t ≥ z − τ S`, `S` the size of the terms `ζ` is summed from (`Σ_j |y_t^j|`;
    /// see `crate::radial::peak_set`): relative to the demands' own scale. Default `1e-9`.
    pub tie_tolerance: f64,
}

impl Default for MechanismSettings {
    fn default() -> Self {
        Self {
            tie_tolerance: 1e-9,
        }
    }
}

impl MechanismSettings {
    pub(crate) fn validate(&self) -> Result<(), MechanismError> {
        let v = self.tie_tolerance;
        dr_convex::check_finite(|| "tie_tolerance".into(), v)?;
        if v < 0.0 {
            return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                field: "tie_tolerance".into(),
                value: v,
                requirement: "must be >= 0".into(),
            }));
        }
        Ok(())
    }
}

/// User `i`'s tax split into the terms of eq. (7) / eq. (18).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct TaxBreakdown {
    /// `cost^i = Σ_t (p_t + RP_t^i) y_t^i + Σ_{l∈L_i} q^{−i,l} a^{i,l}·y^i`.
    pub cost: f64,
    /// `Σ_l con^{i,l}`.
    pub constraint_terms: f64,
    /// `Σ_t con_t^i`.
    pub peak_terms: f64,
    /// Proxy penalties: `Σ_t prβ_t^i` (centralized); `+ Σ_l prn^{i,l} + Σ_t prν_t^i`
    /// (distributed).
    pub proxy_penalties: f64,
    /// `t̂^i`, the sum of the above.
    pub total: f64,
    /// The size of the money terms the tax is computed from (`Σ_t |y_t| (|p_t| + RP_t +
    /// Σ_l |q^{−i,l} a_t^{i,l}|) + Σ_l q^{i,l} (|b^l| + Σ_j |a^{j,l}·y^j|) + Σ_t s_t (z-size +
    /// ζ_t-size)`): the scale of its rounding error, and of the checks of Theorem 4. The
    /// squared penalties are left out: they vanish at a NE, and they are not in units of
    /// money.
    pub size: f64,
    /// The squared penalties inside the tax: `Σ_l (q^{i,l} − q^{−i,l})² + Σ_t (s_t^i −
    /// s_t^{−i})²` plus the proxy penalties. In units of price² and quantity², not money;
    /// zero at a NE (Lemmas 1, 2, 4), and judged in their own units by the proxies' and
    /// prices' best-response gains ([`GainBreakdown::relative`]).
    pub squared_penalties: f64,
    /// The money part `t̂^i − squared_penalties`, summed directly from the money terms
    /// `cost^i + Σ_l q^{i,l} e^{i,l} + Σ_t s_t^i (z^{−i} − ζ_t^{−i})` (not by subtraction, so
    /// that large penalties in other units cost it no precision).
    pub money: f64,
}

/// User `i`'s exact best-response gain `max_{m^i} u^i(m^i, m^{−i}) − u^i(m)`, by component.
/// `+∞` where the best response does not exist (e.g. a log utility facing a non-positive
/// price: demand is unbounded) or the current demand is outside the utility's domain.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct GainBreakdown {
    /// From re-choosing `y^i` (a concave program, separable over periods).
    pub demand: f64,
    /// From re-choosing every `q^{i,l}` (closed-form: `[q^{−i,l} − e^{i,l}/2]^+`).
    pub constraint_prices: f64,
    /// From re-choosing every `s_t^i` (closed-form: `[s_t^{−i} − (z^{−i} − ζ_t^{−i})/2]^+`).
    pub peak_prices: f64,
    /// From re-choosing the proxies (`β`, and `n`, `ν` in the distributed mechanism).
    pub proxies: f64,
    /// The exact gain of the joint best response (the sum: the tax is separable).
    pub total: f64,
    /// The user's money scale the demand gain is judged against: its utility's own scale
    /// ([`Model::user_money_scale`]) plus `Σ_t (|v_t(y_t)| + |c_t y_t|)`, the size of the
    /// terms the demand gain is computed from.
    pub scale: f64,
    /// The largest of the component gains, each relative to the size of the terms it is
    /// computed from: `demand / scale`; `constraint_prices / Σ_l (|q^{i,l}| + |q^{−i,l}| +
    /// |e^{i,l}|-size)²`; `peak_prices` likewise; `proxies / Σ (|proxy| + |target|)²`. The
    /// penalty terms of the paper's taxes (7), (18) add squares of prices and of quantities,
    /// so each is judged in its own units rather than against money.
    pub relative: f64,
}

/// Lemma 2 of wei-anastasopoulos at a profile: equal prices, feasibility, complementary
/// slackness (10)–(12). Every field is 0 at a Nash equilibrium. Each is **relative** to the
/// size of its terms (so it means the same in any units): with `R^l = |b^l| + Σ_j |a^{j,l}·y^j|`
/// and `R_t = |z| + Σ_i |y_t^i|`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Lemma2Report {
    /// `max_l (max_i q^{i,l} − min_i q^{i,l}) / max_i |q^{i,l}|` (eq. 8).
    pub constraint_price_disagreement: f64,
    /// `max_t (max_i s_t^i − min_i s_t^i) / max_i |s_t^i|` (eq. 9).
    pub peak_price_disagreement: f64,
    /// `max_l (a^l y − b^l)^+ / R^l`: `y ∈ X`.
    pub infeasibility: f64,
    /// (10): `max_l |q̄^l (b^l − a^l y)| / (q̄^l R^l)`, `q̄` the users' mean.
    pub constraint_complementarity: f64,
    /// (11): `max_t |s̄_t (z − Σ_i y_t^i)| / (s̄_t R_t)`, `z` the peak of `y`.
    pub peak_complementarity: f64,
    /// (12): `max_{i,t} |RP_t^i (z − Σ_i y_t^i)| / (RP_t^i R_t)`.
    pub radial_complementarity: f64,
}

/// Lemma 3 of wei-anastasopoulos at a profile: stationarity (13) and `Σ_t RP_t = p_0` (14).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Lemma3Report {
    /// (13): `max_{i,t} |v̇_t^i(y_t^i) − p_t − RP_t^i − Σ_l q^{−i,l} a_t^{i,l}| / (|v̇| + |price|)`
    /// (relative).
    pub stationarity: f64,
    /// (14): `max_i |Σ_t RP_t^i − p_0| / p_0` (relative).
    pub peak_price_sum: f64,
}

/// Theorem 4 of wei-anastasopoulos at a profile.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Theorem4Report {
    /// The planner's payoff `Σ_i t̂^i(m) − J(ŷ)` (eq. 16: ≥ 0 at a NE).
    pub planner_surplus: f64,
    /// `Σ_l q̄^l b^l` with `q̄` the users' mean price: the surplus at a NE (proof of Thm 4).
    pub price_revenue: f64,
    /// Balanced taxes `t̃^i = t̂^i − Σ_l q^{−i,l} b^l / N`.
    pub balanced_taxes: Vec<f64>,
    /// `Σ_i t̃^i − J(ŷ)` (eq. 17: 0 at a NE).
    pub budget_imbalance: f64,
    /// The payment scale (see [`ProfileEvaluation::payment_scale`]).
    pub payment_scale: f64,
}

/// Everything a profile implies, in one pass over the users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileEvaluation {
    /// Taxes `t̂^i` by term.
    pub taxes: Vec<TaxBreakdown>,
    /// Balanced taxes `t̃^i` (Theorem 4).
    pub balanced_taxes: Vec<f64>,
    /// Payoffs `u^i(m) = v^i(y^i) − t̂^i(m)`.
    pub payoffs: Vec<f64>,
    /// Utilities at zero `v^i(0)` (the outside option of Theorem 3).
    pub utility_at_zero: Vec<f64>,
    /// Exact best-response gains.
    pub gains: Vec<GainBreakdown>,
    /// `max_i gains[i].total`.
    pub max_gain: f64,
    /// `max_i gains[i].relative`: the largest gain relative to the user's money scale.
    pub max_relative_gain: f64,
    /// `Σ_i (taxes[i].money − rebate^i) − J(ŷ)`: the budget imbalance of Theorem 4 in money,
    /// without the squared penalties (see [`TaxBreakdown::money`]).
    pub money_budget_imbalance: f64,
    /// The payment scale `Σ_i (taxes[i].size + |rebate^i|) + Σ_t |p_t| Σ_i |y_t^i| +
    /// p_0 max_t Σ_i |y_t^i|`: the size of every money term in `Σ_i t̃^i − J(ŷ)`; the budget
    /// balance of Theorem 4 is judged relative to it.
    pub payment_scale: f64,
    /// `J(ŷ)` (eq. 1).
    pub energy_cost: f64,
    /// `Σ_i t̂^i − J(ŷ)`.
    pub planner_surplus: f64,
    /// `Σ_i v^i(y^i) − J(ŷ)`.
    pub welfare: f64,
}

/// User `i`'s view of the others' messages.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// Unit price of `y_t^i`: `p_t + RP_t^i + Σ_l q^{−i,l} a_t^{i,l}`.
    pub price: Vec<f64>,
    /// `RP_t^i(s^{−i}, ζ^{−i})`.
    pub rp: Vec<f64>,
    /// `q^{−i,l}`.
    pub q_avg: Vec<f64>,
    /// Slack seen by user `i`: `e^{i,l}` in `con^{i,l} = (q − q^{−i,l})² + q e^{i,l}`.
    pub q_slack: Vec<f64>,
    /// `s_t^{−i}`.
    pub s_avg: Vec<f64>,
    /// `ζ_t^{−i}`.
    pub zeta: Vec<f64>,
    /// `z^{−i}`.
    pub z: f64,
    /// The current proxy penalties (= the proxies' best-response gain).
    pub proxy_penalty: f64,
    /// Size of the terms of `e^{i,l}`: `|b^l| + Σ |a·y|` over what it sums.
    pub q_slack_size: Vec<f64>,
    /// Size of the terms of `ζ_t^{−i}`: `Σ |y_t|` (and summaries) over what it sums.
    pub zeta_size: Vec<f64>,
    /// `Σ (|proxy| + |its target|)²` over the proxy penalties.
    pub proxy_size: f64,
}

/// Own message parts of all users, flat: `y`, `s` are `N·T`, `q` is `N·L`.
pub(crate) struct Parts<'a> {
    pub y: &'a [f64],
    pub q: &'a [f64],
    pub s: &'a [f64],
}

/// Implemented by both mechanisms.
pub(crate) trait Provider {
    type Profile;
    fn model(&self) -> &Model;
    fn parts<'a>(&self, m: &'a Self::Profile) -> Parts<'a>;
    fn for_each_env(&self, m: &Self::Profile, f: &mut dyn FnMut(usize, &Env));
}

/// `argmax_y v(y) − c y = argmin_y f(y) + c y` for the disutility `f = −v`; `None` when no
/// maximiser exists (the kernel's inverse derivative finds no stationary point).
pub(crate) fn demand_response(f: &dyn ConvexScalar, c: f64) -> Option<f64> {
    let y = f.inverse_derivative(-c, f64::NEG_INFINITY, f64::INFINITY);
    if !y.is_finite() {
        return None;
    }
    let (lo, hi) = f.domain();
    if !(y > lo && y < hi) {
        return None;
    }
    let fd = f.derivative(y);
    let d = fd + c;
    if d.abs() <= 1e-8 * (fd.abs() + c.abs()) {
        Some(y)
    } else {
        None
    }
}

/// `f(y) + c y` with `+∞` outside the domain.
fn priced_value(f: &dyn ConvexScalar, c: f64, y: f64) -> f64 {
    let (lo, hi) = f.domain();
    if !(y > lo && y < hi) {
        return f64::INFINITY;
    }
    let v = f.value(y) + c * y;
    if v.is_nan() {
        f64::INFINITY
    } else {
        v
    }
}

/// Gain of minimising `(q − c)² + const` over `q ≥ 0` from the current `q`: the best
/// response is `[c]^+`.
#[inline]
pub(crate) fn quadratic_gain(q: f64, c: f64) -> f64 {
    let best = c.max(0.0);
    ((q - c) * (q - c) - (best - c) * (best - c)).max(0.0)
}

pub(crate) fn tax_of(model: &Model, env: &Env, i: usize, parts: &Parts<'_>) -> TaxBreakdown {
    let t_len = model.periods();
    let l_len = model.rows();
    let y = &parts.y[i * t_len..(i + 1) * t_len];
    let s = &parts.s[i * t_len..(i + 1) * t_len];
    let q = &parts.q[i * l_len..(i + 1) * l_len];
    let cost: f64 = y.iter().zip(&env.price).map(|(a, b)| a * b).sum();
    let constraint_terms: f64 = (0..l_len)
        .map(|l| (q[l] - env.q_avg[l]).powi(2) + q[l] * env.q_slack[l])
        .sum();
    let peak_terms: f64 = (0..t_len)
        .map(|t| (s[t] - env.s_avg[t]).powi(2) + s[t] * (env.z - env.zeta[t]))
        .sum();
    let total = cost + constraint_terms + peak_terms + env.proxy_penalty;
    let squared_penalties = (0..l_len)
        .map(|l| (q[l] - env.q_avg[l]).powi(2))
        .sum::<f64>()
        + (0..t_len)
            .map(|t| (s[t] - env.s_avg[t]).powi(2))
            .sum::<f64>()
        + env.proxy_penalty;
    let money = cost
        + (0..l_len).map(|l| q[l] * env.q_slack[l]).sum::<f64>()
        + (0..t_len)
            .map(|t| s[t] * (env.z - env.zeta[t]))
            .sum::<f64>();
    let zmax = env.zeta_size.iter().copied().fold(0.0, f64::max);
    let mut size: f64 = y
        .iter()
        .zip(&env.rp)
        .zip(model.energy_prices())
        .map(|((yt, rp), p)| yt.abs() * (p.abs() + rp.abs()))
        .sum();
    for ur in model.user_rows(i) {
        let qa = env.q_avg[ur.row];
        size += model
            .user_row_entries(ur)
            .map(|(t, a)| (qa * a * y[t]).abs())
            .sum::<f64>();
    }
    size += (0..l_len)
        .map(|l| q[l].abs() * env.q_slack_size[l])
        .sum::<f64>();
    size += (0..t_len)
        .map(|t| s[t].abs() * (zmax + env.zeta_size[t]))
        .sum::<f64>();
    TaxBreakdown {
        cost,
        constraint_terms,
        peak_terms,
        proxy_penalties: env.proxy_penalty,
        total,
        size,
        squared_penalties,
        money,
    }
}

pub(crate) fn gain_of(model: &Model, env: &Env, i: usize, parts: &Parts<'_>) -> GainBreakdown {
    let t_len = model.periods();
    let l_len = model.rows();
    let y = &parts.y[i * t_len..(i + 1) * t_len];
    let s = &parts.s[i * t_len..(i + 1) * t_len];
    let q = &parts.q[i * l_len..(i + 1) * l_len];
    let mut demand = 0.0;
    let mut scale = model.user_money_scale(i);
    for (t, &yt) in y.iter().enumerate() {
        let f = model.disutility(i, t).as_ref();
        let c = env.price[t];
        let fy = priced_value(f, 0.0, yt);
        if fy.is_finite() {
            scale += fy.abs() + (c * yt).abs();
        }
        demand += match demand_response(f, c) {
            Some(best) => (priced_value(f, c, yt) - priced_value(f, c, best)).max(0.0),
            None => f64::INFINITY,
        };
    }
    let constraint_prices: f64 = (0..l_len)
        .map(|l| quadratic_gain(q[l], env.q_avg[l] - 0.5 * env.q_slack[l]))
        .sum();
    let peak_prices: f64 = (0..t_len)
        .map(|t| quadratic_gain(s[t], env.s_avg[t] - 0.5 * (env.z - env.zeta[t])))
        .sum();
    let total = demand + constraint_prices + peak_prices + env.proxy_penalty;
    let q_size: f64 = (0..l_len)
        .map(|l| (q[l].abs() + env.q_avg[l].abs() + env.q_slack_size[l]).powi(2))
        .sum();
    let zmax = env.zeta_size.iter().copied().fold(0.0, f64::max);
    let s_size: f64 = (0..t_len)
        .map(|t| (s[t].abs() + env.s_avg[t].abs() + zmax + env.zeta_size[t]).powi(2))
        .sum();
    let ratio = crate::planner::ratio;
    let relative = ratio(demand, scale)
        .max(ratio(constraint_prices, q_size))
        .max(ratio(peak_prices, s_size))
        .max(ratio(env.proxy_penalty, env.proxy_size));
    GainBreakdown {
        demand,
        constraint_prices,
        peak_prices,
        proxies: env.proxy_penalty,
        total,
        scale,
        relative,
    }
}

/// How users move their own `y`, `q`, `s` in one round of a learning dynamic.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OwnUpdate {
    /// `m ← m + α (BR(m) − m)`.
    BestResponse { damping: f64 },
    /// Consensus + projected price ascent, demand at the own new prices.
    Prices { step: f64, consensus: f64 },
}

/// New own `(y^i, q^i, s^i)`; the flag is false when the demand response does not exist for
/// some period (the old demand is kept there).
pub(crate) fn own_update(
    model: &Model,
    env: &Env,
    i: usize,
    parts: &Parts<'_>,
    rule: OwnUpdate,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, bool) {
    let t_len = model.periods();
    let l_len = model.rows();
    let y = &parts.y[i * t_len..(i + 1) * t_len];
    let s = &parts.s[i * t_len..(i + 1) * t_len];
    let q = &parts.q[i * l_len..(i + 1) * l_len];
    let mut ok = true;
    match rule {
        OwnUpdate::BestResponse { damping: a } => {
            let mut ny = y.to_vec();
            for t in 0..t_len {
                match demand_response(model.disutility(i, t).as_ref(), env.price[t]) {
                    Some(b) => ny[t] = y[t] + a * (b - y[t]),
                    None => ok = false,
                }
            }
            let nq = (0..l_len)
                .map(|l| {
                    let b = (env.q_avg[l] - 0.5 * env.q_slack[l]).max(0.0);
                    q[l] + a * (b - q[l])
                })
                .collect();
            let ns = (0..t_len)
                .map(|t| {
                    let b = (env.s_avg[t] - 0.5 * (env.z - env.zeta[t])).max(0.0);
                    s[t] + a * (b - s[t])
                })
                .collect();
            (ny, nq, ns, ok)
        }
        OwnUpdate::Prices { step, consensus: w } => {
            // Steps normalised by ‖a^l‖² and by N (both public), see `crate::learning`.
            let nq: Vec<f64> = (0..l_len)
                .map(|l| {
                    let g = step / model.row_norm_squared(l);
                    ((1.0 - w) * q[l] + w * env.q_avg[l] - g * env.q_slack[l]).max(0.0)
                })
                .collect();
            let gs = step / model.users() as f64;
            let v: Vec<f64> = (0..t_len)
                .map(|t| (1.0 - w) * s[t] + w * env.s_avg[t] - gs * (env.z - env.zeta[t]))
                .collect();
            let ns = project_simplex(&v, model.peak_price());
            let mut nq = nq;
            // Own single-variable rows (bounds) are priced exactly: demand over the own box at
            // the price of the other rows, and the box multipliers as those rows' prices.
            let mut price: Vec<f64> = (0..t_len)
                .map(|t| model.energy_prices()[t] + ns[t])
                .collect();
            let mut lo = vec![f64::NEG_INFINITY; t_len];
            let mut hi = vec![f64::INFINITY; t_len];
            let mut lo_row = vec![usize::MAX; t_len];
            let mut hi_row = vec![usize::MAX; t_len];
            for ur in model.user_rows(i) {
                if model.row(ur.row).0.len() == 1 {
                    for (t, a) in model.user_row_entries(ur) {
                        let bound = model.rhs()[ur.row] / a;
                        if a > 0.0 && bound < hi[t] {
                            hi[t] = bound;
                            hi_row[t] = ur.row;
                        } else if a < 0.0 && bound > lo[t] {
                            lo[t] = bound;
                            lo_row[t] = ur.row;
                        }
                    }
                    nq[ur.row] = 0.0;
                } else {
                    for (t, a) in model.user_row_entries(ur) {
                        price[t] += nq[ur.row] * a;
                    }
                }
            }
            let mut ny = y.to_vec();
            for t in 0..t_len {
                let f = model.disutility(i, t).as_ref();
                let b = f.inverse_derivative(-price[t], lo[t], hi[t]);
                let (dlo, dhi) = f.domain();
                if !(b.is_finite() && b > dlo && b < dhi) {
                    ok = false;
                    continue;
                }
                let g = f.derivative(b) + price[t]; // = λ_low − λ_up at the box solution
                let at_hi = hi_row[t] != usize::MAX && b >= hi[t];
                let at_lo = lo_row[t] != usize::MAX && b <= lo[t];
                if at_hi && g < 0.0 {
                    nq[hi_row[t]] = -g;
                } else if at_lo && g > 0.0 {
                    nq[lo_row[t]] = g;
                } else if g.is_nan() || g.abs() > 1e-8 * (1.0 + price[t].abs()) {
                    ok = false; // no stationary point inside the box: demand unbounded
                    continue;
                }
                ny[t] = b;
            }
            (ny, nq, ns, ok)
        }
    }
}

/// The unit price vector of user `i`: `p_t + RP_t + Σ_l q^{−i,l} a_t^{i,l}`.
pub(crate) fn price_vector(model: &Model, i: usize, rp: &[f64], q_avg: &[f64]) -> Vec<f64> {
    let mut price: Vec<f64> = model
        .energy_prices()
        .iter()
        .zip(rp)
        .map(|(p, r)| p + r)
        .collect();
    for ur in model.user_rows(i) {
        let qa = q_avg[ur.row];
        if qa != 0.0 {
            for (t, a) in model.user_row_entries(ur) {
                price[t] += qa * a;
            }
        }
    }
    price
}

pub(crate) fn evaluate<P: Provider>(p: &P, m: &P::Profile) -> ProfileEvaluation {
    let model = p.model();
    let n = model.users();
    let t_len = model.periods();
    let parts = p.parts(m);
    let mut taxes = vec![TaxBreakdown::default(); n];
    let mut gains = vec![GainBreakdown::default(); n];
    let mut rebate = vec![0.0; n];
    p.for_each_env(m, &mut |i, env| {
        taxes[i] = tax_of(model, env, i, &parts);
        gains[i] = gain_of(model, env, i, &parts);
        rebate[i] = env
            .q_avg
            .iter()
            .zip(model.rhs())
            .map(|(q, b)| q * b)
            .sum::<f64>()
            / n as f64;
        // (The rebate is a sum of non-negative terms q ≥ 0, b ≥ 0: its size is itself.)
    });
    let utility_at_zero: Vec<f64> = (0..n)
        .map(|i| model.user_utility(i, &vec![0.0; t_len]))
        .collect();
    let payoffs: Vec<f64> = (0..n)
        .map(|i| model.user_utility(i, &parts.y[i * t_len..(i + 1) * t_len]) - taxes[i].total)
        .collect();
    let balanced_taxes: Vec<f64> = (0..n).map(|i| taxes[i].total - rebate[i]).collect();
    let energy_cost = model.energy_cost(parts.y);
    let planner_surplus = taxes.iter().map(|t| t.total).sum::<f64>() - energy_cost;
    let max_gain = gains.iter().map(|g| g.total).fold(0.0, f64::max);
    let max_relative_gain = gains.iter().map(|g| g.relative).fold(0.0, f64::max);
    let payment_scale = taxes.iter().map(|t| t.size).sum::<f64>()
        + rebate.iter().map(|r| r.abs()).sum::<f64>()
        + cost_size(model, parts.y);
    let money_budget_imbalance = taxes
        .iter()
        .zip(&rebate)
        .map(|(t, r)| t.money - r)
        .sum::<f64>()
        - energy_cost;
    ProfileEvaluation {
        money_budget_imbalance,
        max_relative_gain,
        payment_scale,
        welfare: model.welfare(parts.y),
        taxes,
        balanced_taxes,
        payoffs,
        utility_at_zero,
        gains,
        max_gain,
        energy_cost,
        planner_surplus,
    }
}

/// `Σ_t |p_t| Σ_i |y_t^i| + p_0 max_t Σ_i |y_t^i|`: the size of the terms of `J(y)`.
pub(crate) fn cost_size(model: &Model, y: &[f64]) -> f64 {
    let t_len = model.periods();
    let mut abs = vec![0.0; t_len];
    for (j, v) in y.iter().enumerate() {
        abs[j % t_len] += v.abs();
    }
    abs.iter()
        .zip(model.energy_prices())
        .map(|(a, p)| a * p.abs())
        .sum::<f64>()
        + model.peak_price() * abs.iter().copied().fold(0.0, f64::max)
}

pub(crate) fn gains<P: Provider>(p: &P, m: &P::Profile) -> Vec<GainBreakdown> {
    let model = p.model();
    let parts = p.parts(m);
    let mut gains = vec![GainBreakdown::default(); model.users()];
    p.for_each_env(m, &mut |i, env| gains[i] = gain_of(model, env, i, &parts));
    gains
}

fn spread(values: impl Iterator<Item = f64>) -> f64 {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if hi >= lo {
        hi - lo
    } else {
        0.0
    }
}

pub(crate) fn mean_prices(model: &Model, parts: &Parts<'_>) -> (Vec<f64>, Vec<f64>) {
    let n = model.users();
    let (t_len, l_len) = (model.periods(), model.rows());
    let qbar: Vec<f64> = (0..l_len)
        .map(|l| (0..n).map(|i| parts.q[i * l_len + l]).sum::<f64>() / n as f64)
        .collect();
    let sbar: Vec<f64> = (0..t_len)
        .map(|t| (0..n).map(|i| parts.s[i * t_len + t]).sum::<f64>() / n as f64)
        .collect();
    (qbar, sbar)
}

pub(crate) fn lemma2<P: Provider>(p: &P, m: &P::Profile) -> Lemma2Report {
    use crate::planner::ratio;
    let model = p.model();
    let n = model.users();
    let (t_len, l_len) = (model.periods(), model.rows());
    let parts = p.parts(m);
    let largest = |v: &mut dyn Iterator<Item = f64>| v.fold(0.0_f64, |a, x| a.max(x.abs()));
    let mut r = Lemma2Report {
        constraint_price_disagreement: (0..l_len)
            .map(|l| {
                ratio(
                    spread((0..n).map(|i| parts.q[i * l_len + l])),
                    largest(&mut (0..n).map(|i| parts.q[i * l_len + l])),
                )
            })
            .fold(0.0, f64::max),
        peak_price_disagreement: (0..t_len)
            .map(|t| {
                ratio(
                    spread((0..n).map(|i| parts.s[i * t_len + t])),
                    largest(&mut (0..n).map(|i| parts.s[i * t_len + t])),
                )
            })
            .fold(0.0, f64::max),
        ..Default::default()
    };
    let (qbar, sbar) = mean_prices(model, &parts);
    for (l, &q) in qbar.iter().enumerate() {
        let (vars, coefs) = model.row(l);
        let b = model.rhs()[l];
        let (mut act, mut size) = (0.0, b.abs());
        for (&j, &a) in vars.iter().zip(coefs) {
            act += a * parts.y[j];
            size += (a * parts.y[j]).abs();
        }
        let slack = b - act;
        r.infeasibility = r.infeasibility.max(ratio((-slack).max(0.0), size));
        r.constraint_complementarity = r.constraint_complementarity.max(ratio(q * slack, q * size));
    }
    let agg = model.aggregate(parts.y);
    let z = agg.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut size_t = vec![z.abs(); t_len];
    for (j, y) in parts.y.iter().enumerate() {
        size_t[j % t_len] += y.abs();
    }
    for t in 0..t_len {
        r.peak_complementarity = r
            .peak_complementarity
            .max(ratio(sbar[t] * (z - agg[t]), sbar[t] * size_t[t]));
    }
    let mut rc = 0.0_f64;
    p.for_each_env(m, &mut |_, env| {
        for t in 0..t_len {
            rc = rc.max(ratio(env.rp[t] * (z - agg[t]), env.rp[t] * size_t[t]));
        }
    });
    r.radial_complementarity = rc;
    r
}

pub(crate) fn lemma3<P: Provider>(p: &P, m: &P::Profile) -> Lemma3Report {
    let model = p.model();
    let t_len = model.periods();
    let parts = p.parts(m);
    let mut r = Lemma3Report::default();
    p.for_each_env(m, &mut |i, env| {
        for t in 0..t_len {
            let vdot = model.marginal_utility(i, t, parts.y[i * t_len + t]);
            let res = crate::planner::ratio(vdot - env.price[t], vdot.abs() + env.price[t].abs());
            r.stationarity = r
                .stationarity
                .max(if res.is_nan() { f64::INFINITY } else { res });
        }
        r.peak_price_sum = r
            .peak_price_sum
            .max((env.rp.iter().sum::<f64>() - model.peak_price()).abs() / model.peak_price());
    });
    r
}

/// KKT residuals (4) of the allocation a profile induces, with the mean announced constraint
/// prices as `λ`, the mean radial prices as `μ` and the peak of `y` as `w`.
pub(crate) fn theorem1<P: Provider>(p: &P, m: &P::Profile) -> KktResiduals {
    let model = p.model();
    let n = model.users();
    let t_len = model.periods();
    let parts = p.parts(m);
    let (qbar, _) = mean_prices(model, &parts);
    let mut mu = vec![0.0; t_len];
    p.for_each_env(m, &mut |_, env| {
        for (m, rp) in mu.iter_mut().zip(&env.rp) {
            *m += rp / n as f64;
        }
    });
    let agg = model.aggregate(parts.y);
    let z = agg.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    kkt_unchecked(model, parts.y, z, &qbar, &mu)
}

pub(crate) fn theorem4<P: Provider>(p: &P, m: &P::Profile) -> Theorem4Report {
    let e = evaluate(p, m);
    let model = p.model();
    let parts = p.parts(m);
    let (qbar, _) = mean_prices(model, &parts);
    let price_revenue = qbar.iter().zip(model.rhs()).map(|(q, b)| q * b).sum();
    let budget_imbalance = e.balanced_taxes.iter().sum::<f64>() - e.energy_cost;
    Theorem4Report {
        planner_surplus: e.planner_surplus,
        price_revenue,
        balanced_taxes: e.balanced_taxes,
        budget_imbalance,
        payment_scale: e.payment_scale,
    }
}

pub(crate) fn theorem3<P: Provider>(p: &P, m: &P::Profile) -> Vec<f64> {
    let e = evaluate(p, m);
    e.payoffs
        .iter()
        .zip(&e.utility_at_zero)
        .map(|(u, v0)| u - v0)
        .collect()
}
