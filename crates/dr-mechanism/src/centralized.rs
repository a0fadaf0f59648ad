//! The centralized mechanism of wei-anastasopoulos §IV: messages (5), allocation (6), taxes
//! (7), radial pricing, and the checks of Lemmas 1–3 and Theorems 1–4.
//!
//! User `i` announces `m^i = (y^i ∈ ℝ^T, q^{i,l} ≥ 0 ∀l, s^i ∈ ℝ_+^T, β^i ∈ ℝ^T)`; indices
//! `i ± 1` are taken mod `N`. The allocation is `x̂^i(m) = y^i` (eq. 6), and the tax is
//! `t̂^i = cost^i + Σ_t prβ_t^i + Σ_l con^{i,l} + Σ_t con_t^i` (eq. 7) with
//! `q^{−i,l}`, `s^{−i}` the means over `j ≠ i`, `ζ_t^{−i} = Σ_{j≠i} y_t^j + β_t^{i−1}`,
//! `z^{−i} = max_t ζ_t^{−i}` and radial prices `RP^i(s^{−i}, ζ^{−i})`
//! ([`crate::radial::radial_pricing`]).

use crate::error::MechanismError;
use crate::game::{
    self, Env, GainBreakdown, Lemma2Report, Lemma3Report, MechanismSettings, OwnUpdate, Parts,
    ProfileEvaluation, Provider, TaxBreakdown, Theorem4Report,
};
use crate::model::Model;
use crate::planner::{KktResiduals, PlannerSolution};
use crate::radial::{peak_set_sized, radial_on};
use serde::{Deserialize, Serialize};

/// A message profile of the centralized mechanism (eq. 5), struct-of-arrays: user `i`'s
/// entries are the `i`-th block of each array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageProfile {
    /// Number of users `N`.
    pub users: usize,
    /// Number of periods `T`.
    pub periods: usize,
    /// Number of rows `L` of `A x ≤ b`.
    pub rows: usize,
    /// Demands `y_t^i` at `i·T + t`.
    pub y: Vec<f64>,
    /// Constraint prices `q^{i,l} ≥ 0` at `i·L + l`.
    pub q: Vec<f64>,
    /// Peak prices `s_t^i ≥ 0` at `i·T + t`.
    pub s: Vec<f64>,
    /// Proxies `β_t^i` (user `i`'s prediction of `y_t^{i+1}`) at `i·T + t`.
    pub beta: Vec<f64>,
}

impl MessageProfile {
    /// The all-zero profile for a model.
    pub fn zeros(model: &Model) -> Self {
        let (n, t, l) = (model.users(), model.periods(), model.rows());
        Self {
            users: n,
            periods: t,
            rows: l,
            y: vec![0.0; n * t],
            q: vec![0.0; n * l],
            s: vec![0.0; n * t],
            beta: vec![0.0; n * t],
        }
    }
    /// `y^i` (panics if `i ≥ users`, like slice indexing).
    pub fn y_of(&self, i: usize) -> &[f64] {
        &self.y[i * self.periods..(i + 1) * self.periods]
    }
    /// `q^{i,·}`.
    pub fn q_of(&self, i: usize) -> &[f64] {
        &self.q[i * self.rows..(i + 1) * self.rows]
    }
    /// `s^i`.
    pub fn s_of(&self, i: usize) -> &[f64] {
        &self.s[i * self.periods..(i + 1) * self.periods]
    }
    /// `β^i`.
    pub fn beta_of(&self, i: usize) -> &[f64] {
        &self.beta[i * self.periods..(i + 1) * self.periods]
    }
}

pub(crate) fn check_vec(
    field: &str,
    v: &[f64],
    len: usize,
    width: usize,
    nonneg: bool,
) -> Result<(), MechanismError> {
    dr_convex::check_len(|| format!("profile.{field}"), len, v.len())?;
    for (k, &x) in v.iter().enumerate() {
        let name = || {
            format!(
                "profile.{field}[{}][{}]",
                k / width.max(1),
                k % width.max(1)
            )
        };
        dr_convex::check_finite(name, x)?;
        if nonneg && x < 0.0 {
            return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                field: name(),
                value: x,
                requirement: "prices must be >= 0 (message space ℝ_+)".into(),
            }));
        }
    }
    Ok(())
}

/// The most `f64` entries one message array may have (2³¹, 16 GiB): larger message spaces
/// are refused with [`MechanismError::TooLarge`] before anything is allocated.
pub const MAX_MESSAGE_ENTRIES: u64 = 1 << 31;

/// Refuses message spaces over [`MAX_MESSAGE_ENTRIES`]: `q` has `N·L` entries, `y`, `s`,
/// `β` have `N·T`, and (distributed, `directed_edges > 0`) `n` has `E·L`, `ν` `E·T`.
pub(crate) fn check_message_size(
    model: &Model,
    directed_edges: usize,
) -> Result<(), MechanismError> {
    let (n, t, l) = (
        model.users() as u64,
        model.periods() as u64,
        model.rows() as u64,
    );
    let e = directed_edges as u64;
    for (field, count) in [
        ("users × rows (q)", n.saturating_mul(l)),
        ("users × periods (y, s, β)", n.saturating_mul(t)),
        ("directed edges × rows (n)", e.saturating_mul(l)),
        ("directed edges × periods (ν)", e.saturating_mul(t)),
    ] {
        if count > MAX_MESSAGE_ENTRIES {
            return Err(MechanismError::TooLarge {
                field: field.into(),
                count,
                limit: MAX_MESSAGE_ENTRIES,
            });
        }
    }
    Ok(())
}

/// The centralized mechanism on a [`Model`] with `N ≥ 2` users.
#[derive(Debug, Clone, Copy)]
pub struct CentralizedMechanism<'m> {
    model: &'m Model,
    settings: MechanismSettings,
}

struct Pre {
    q_sum: Vec<f64>,
    s_sum: Vec<f64>,
    y_sum: Vec<f64>,
    ay: Vec<f64>,
    /// `Σ_i |y_t^i|`.
    y_abs: Vec<f64>,
    /// `|b^l| + Σ_j |a^{j,l}·y^j|`.
    ay_abs: Vec<f64>,
}

impl<'m> CentralizedMechanism<'m> {
    /// The mechanism for `model`; errors when `N < 2` (the averages `q^{−i}`, `s^{−i}` need
    /// another user) or the settings are invalid.
    pub fn new(model: &'m Model, settings: MechanismSettings) -> Result<Self, MechanismError> {
        if model.users() < 2 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "users".into(),
                got: model.users(),
                required: 2,
            }));
        }
        settings.validate()?;
        check_message_size(model, 0)?;
        Ok(Self { model, settings })
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Checks a profile's dimensions, finiteness and message spaces (`q, s ≥ 0`).
    pub fn validate(&self, m: &MessageProfile) -> Result<(), MechanismError> {
        let (n, t, l) = (self.model.users(), self.model.periods(), self.model.rows());
        check_vec("y", &m.y, n * t, t, false)?;
        check_vec("q", &m.q, n * l, l, true)?;
        check_vec("s", &m.s, n * t, t, true)?;
        check_vec("beta", &m.beta, n * t, t, false)?;
        if m.users != n || m.periods != t || m.rows != l {
            return Err(MechanismError::Input(dr_convex::InputError::Invalid {
                field: "profile".into(),
                message: format!(
                    "dimensions ({}, {}, {}) differ from the model's ({n}, {t}, {l})",
                    m.users, m.periods, m.rows
                ),
            }));
        }
        Ok(())
    }

    /// The Nash equilibrium built from the planner's optimum (Theorem 2):
    /// `y = x*`, `q^{i,l} = λ^l`, `s_t^i = μ_t`, `β^i = y^{i+1}`.
    pub fn nash_equilibrium(
        &self,
        planner: &PlannerSolution,
    ) -> Result<MessageProfile, MechanismError> {
        let model = self.model;
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
        let mut m = MessageProfile::zeros(model);
        m.y.copy_from_slice(&planner.allocation);
        for i in 0..n {
            for l in 0..l_len {
                m.q[i * l_len + l] = planner.constraint_multipliers[l].max(0.0);
            }
            for t in 0..t_len {
                m.s[i * t_len + t] = planner.peak_multipliers[t].max(0.0);
                m.beta[i * t_len + t] = planner.allocation[((i + 1) % n) * t_len + t];
            }
        }
        Ok(m)
    }

    fn pre(&self, m: &MessageProfile) -> Pre {
        let model = self.model;
        let (n, t_len, l_len) = (model.users(), model.periods(), model.rows());
        // Sums of deviations from user 0's announcement: the means q^{−i}, s^{−i} are then
        // exact when every user announces the same price (as at the NE of Theorem 2), so the
        // penalties (q − q^{−i})², whose units are price², carry no rounding there.
        let mut q_sum = vec![0.0; l_len];
        for i in 0..n {
            for ((a, b), r) in q_sum.iter_mut().zip(m.q_of(i)).zip(m.q_of(0)) {
                *a += b - r;
            }
        }
        let mut s_sum = vec![0.0; t_len];
        for i in 0..n {
            for ((a, b), r) in s_sum.iter_mut().zip(m.s_of(i)).zip(m.s_of(0)) {
                *a += b - r;
            }
        }
        let mut y_abs = vec![0.0; t_len];
        for (j, v) in m.y.iter().enumerate() {
            y_abs[j % t_len] += v.abs();
        }
        let ay_abs: Vec<f64> = (0..l_len)
            .map(|l| {
                let (vars, coefs) = model.row(l);
                model.rhs()[l].abs()
                    + vars
                        .iter()
                        .zip(coefs)
                        .map(|(&j, &a)| (a * m.y[j]).abs())
                        .sum::<f64>()
            })
            .collect();
        Pre {
            q_sum,
            s_sum,
            y_sum: model.aggregate(&m.y),
            ay: model.row_activity(&m.y),
            y_abs,
            ay_abs,
        }
    }

    fn env(&self, m: &MessageProfile, pre: &Pre, i: usize) -> Env {
        let model = self.model;
        let (n, t_len, l_len) = (model.users(), model.periods(), model.rows());
        let prev = (i + n - 1) % n;
        let next = (i + 1) % n;
        let inv = 1.0 / (n - 1) as f64;
        let q_i = m.q_of(i);
        let q_avg: Vec<f64> = (0..l_len)
            .map(|l| {
                let r = m.q_of(0)[l];
                (r + (pre.q_sum[l] - (q_i[l] - r)) * inv).max(0.0)
            })
            .collect();
        let mut q_slack: Vec<f64> = (0..l_len).map(|l| model.rhs()[l] - pre.ay[l]).collect();
        let mut q_slack_size = pre.ay_abs.clone();
        let (y_i, beta_prev) = (m.y_of(i), m.beta_of(prev));
        for ur in model.user_rows(i) {
            q_slack[ur.row] += model.user_row_dot(ur, y_i) - model.user_row_dot(ur, beta_prev);
            q_slack_size[ur.row] += model
                .user_row_entries(ur)
                .map(|(t, a)| (a * beta_prev[t]).abs())
                .sum::<f64>();
        }
        let s_i = m.s_of(i);
        let s_avg: Vec<f64> = (0..t_len)
            .map(|t| {
                let r = m.s_of(0)[t];
                (r + (pre.s_sum[t] - (s_i[t] - r)) * inv).max(0.0)
            })
            .collect();
        let zeta: Vec<f64> = (0..t_len)
            .map(|t| pre.y_sum[t] - y_i[t] + beta_prev[t])
            .collect();
        let zeta_size: Vec<f64> = (0..t_len)
            .map(|t| pre.y_abs[t] + beta_prev[t].abs())
            .collect();
        let tie_scale = zeta_size.iter().copied().fold(0.0, f64::max);
        let (z, a) = peak_set_sized(&zeta, self.settings.tie_tolerance, tie_scale);
        let rp = radial_on(&s_avg, &a, model.peak_price());
        let price = game::price_vector(model, i, &rp, &q_avg);
        let proxy_penalty = m
            .beta_of(i)
            .iter()
            .zip(m.y_of(next))
            .map(|(b, y)| (b - y) * (b - y))
            .sum();
        Env {
            price,
            rp,
            q_avg,
            q_slack,
            s_avg,
            zeta,
            z,
            proxy_penalty,
            q_slack_size,
            zeta_size,
            proxy_size: m
                .beta_of(i)
                .iter()
                .zip(m.y_of(next))
                .map(|(b, y)| (b.abs() + y.abs()).powi(2))
                .sum(),
        }
    }

    /// Radial prices `RP^i(s^{−i}, ζ^{−i})` of every user (`N` vectors of length `T`).
    pub fn radial_prices(&self, m: &MessageProfile) -> Result<Vec<Vec<f64>>, MechanismError> {
        self.validate(m)?;
        let mut out = vec![Vec::new(); self.model.users()];
        self.for_each_env(m, &mut |i, env| out[i] = env.rp.clone());
        Ok(out)
    }

    /// Taxes `t̂^i(m)` by term (eq. 7).
    pub fn taxes(&self, m: &MessageProfile) -> Result<Vec<TaxBreakdown>, MechanismError> {
        self.validate(m)?;
        let parts = self.parts(m);
        let mut out = vec![TaxBreakdown::default(); self.model.users()];
        self.for_each_env(m, &mut |i, env| {
            out[i] = game::tax_of(self.model, env, i, &parts)
        });
        Ok(out)
    }

    /// User `i`'s payoff `u^i(m) = v^i(y^i) − t̂^i(m)`.
    pub fn payoff(&self, m: &MessageProfile, i: usize) -> Result<f64, MechanismError> {
        self.validate(m)?;
        dr_convex::check_index(|| "user".into(), i, self.model.users())?;
        let pre = self.pre(m);
        let env = self.env(m, &pre, i);
        let tax = game::tax_of(self.model, &env, i, &self.parts(m));
        Ok(self.model.user_utility(i, m.y_of(i)) - tax.total)
    }

    /// Taxes, balanced taxes, payoffs, exact best-response gains, energy cost, planner
    /// surplus and welfare of a profile, in one pass.
    pub fn evaluate(&self, m: &MessageProfile) -> Result<ProfileEvaluation, MechanismError> {
        self.validate(m)?;
        Ok(game::evaluate(self, m))
    }

    /// Every user's exact best-response gain against `m^{−i}` (see [`GainBreakdown`]);
    /// `m` is a Nash equilibrium iff all are 0.
    pub fn best_response_gains(
        &self,
        m: &MessageProfile,
    ) -> Result<Vec<GainBreakdown>, MechanismError> {
        self.validate(m)?;
        Ok(game::gains(self, m))
    }

    /// Every user's best response to `m^{−i}`, simultaneously (the demand is kept where no
    /// best response exists).
    pub fn best_response(&self, m: &MessageProfile) -> Result<MessageProfile, MechanismError> {
        self.validate(m)?;
        Ok(self.update(m, OwnUpdate::BestResponse { damping: 1.0 }).0)
    }

    /// Lemma 1: `max_{i,t} |β_t^i − y_t^{i+1}|` (0 at a NE).
    pub fn lemma1(&self, m: &MessageProfile) -> Result<f64, MechanismError> {
        self.validate(m)?;
        let n = self.model.users();
        Ok((0..n)
            .flat_map(|i| {
                m.beta_of(i)
                    .iter()
                    .zip(m.y_of((i + 1) % n))
                    .map(|(b, y)| (b - y).abs())
            })
            .fold(0.0, f64::max))
    }

    /// Lemma 2: equal prices, feasibility and complementary slackness (10)–(12).
    pub fn lemma2(&self, m: &MessageProfile) -> Result<Lemma2Report, MechanismError> {
        self.validate(m)?;
        Ok(game::lemma2(self, m))
    }

    /// Lemma 3: stationarity (13) and `Σ_t RP_t^i = p_0` (14).
    pub fn lemma3(&self, m: &MessageProfile) -> Result<Lemma3Report, MechanismError> {
        self.validate(m)?;
        Ok(game::lemma3(self, m))
    }

    /// Theorem 1: the KKT residuals (4) of the allocation `y` with `λ` = the mean announced
    /// `q`, `μ` = the mean radial prices and `w = max_t Σ_i y_t^i`. At a NE all vanish, so `y`
    /// is the optimum of (3).
    pub fn theorem1(&self, m: &MessageProfile) -> Result<KktResiduals, MechanismError> {
        self.validate(m)?;
        Ok(game::theorem1(self, m))
    }

    /// Theorem 3: `u^i(m) − v^i(0)` for every user (≥ 0 at a NE: individual rationality).
    pub fn theorem3(&self, m: &MessageProfile) -> Result<Vec<f64>, MechanismError> {
        self.validate(m)?;
        Ok(game::theorem3(self, m))
    }

    /// Theorem 4: planner surplus `Σ t̂ − J` (= `Σ_l λ^l b^l ≥ 0` at a NE) and the balanced
    /// taxes `t̃^i = t̂^i − Σ_l q^{−i,l} b^l / N` with their budget imbalance (0 at a NE).
    pub fn theorem4(&self, m: &MessageProfile) -> Result<Theorem4Report, MechanismError> {
        self.validate(m)?;
        Ok(game::theorem4(self, m))
    }

    /// One round of a learning dynamic: every user updates its own message from `m`.
    /// Returns the new profile and whether every demand response existed.
    pub(crate) fn update(&self, m: &MessageProfile, rule: OwnUpdate) -> (MessageProfile, bool) {
        let model = self.model;
        let (n, t_len, l_len) = (model.users(), model.periods(), model.rows());
        let parts = self.parts(m);
        let mut out = m.clone();
        let mut all_ok = true;
        self.for_each_env(m, &mut |i, env| {
            let (y, q, s, ok) = game::own_update(model, env, i, &parts, rule);
            all_ok &= ok;
            out.y[i * t_len..(i + 1) * t_len].copy_from_slice(&y);
            out.q[i * l_len..(i + 1) * l_len].copy_from_slice(&q);
            out.s[i * t_len..(i + 1) * t_len].copy_from_slice(&s);
        });
        let a = match rule {
            OwnUpdate::BestResponse { damping } => damping,
            OwnUpdate::Prices { .. } => 1.0,
        };
        for i in 0..n {
            for t in 0..t_len {
                let target = m.y[((i + 1) % n) * t_len + t];
                let b = &mut out.beta[i * t_len + t];
                *b += a * (target - *b);
            }
        }
        (out, all_ok)
    }
}

impl Provider for CentralizedMechanism<'_> {
    type Profile = MessageProfile;
    fn model(&self) -> &Model {
        self.model
    }
    fn parts<'a>(&self, m: &'a MessageProfile) -> Parts<'a> {
        Parts {
            y: &m.y,
            q: &m.q,
            s: &m.s,
        }
    }
    fn for_each_env(&self, m: &MessageProfile, f: &mut dyn FnMut(usize, &Env)) {
        let pre = self.pre(m);
        for i in 0..self.model.users() {
            let env = self.env(m, &pre, i);
            f(i, &env);
        }
    }
}
