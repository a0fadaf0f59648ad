//! Scenario files (TOML or JSON) for the mechanism (the reports the `dr` command prints
//! from them are in the `report` module: [`crate::run_scenario`], [`crate::simulate_scenario`]).
//!
//! ```toml
//! model = "mechanism"
//! periods = 2
//! energy_prices = [0.1, 0.2]        # p_t
//! peak_price = 0.05                 # p_0 > 0
//!
//! [[users]]
//! utility = { log = { weight = [1.0, 2.0], shift = 2.0 } }   # v_t(x) = w_t ln(x + s)
//! lower = -1.0                      # x_t ≥ lower (≤ 0), optional; a number or one per period
//! upper = 3.0                       # x_t ≤ upper (≥ 0), optional
//!
//! [[users]]
//! utility = { quadratic = { theta = [2.0, 1.0], kappa = [1.0, 1.0] } }  # θ_t x − ½ κ_t x²
//!
//! [[users]]                         # quadratic with satiation: θ_t x − ½ κ_t x² up to the
//! utility = { quadratic_satiation = { theta = 2.0, kappa = 1.0 } }   # satiation point θ_t/κ_t, flat after
//!
//! [[users]]                         # power: c_t (x + s_t)^α_t, 0 < α < 1, s > 0
//! utility = { power = { coefficient = [2.0, 1.5], exponent = 0.5, shift = 1.0 } }
//!
//! [[constraints]]
//! community_total = 2.0             # Σ_i Σ_t x_t^i ≤ 2
//! [[constraints]]
//! community_cap = 1.5               # Σ_i x_t^i ≤ 1.5 in period 1 (omit `period`: one row per period)
//! period = 1
//! [[constraints]]
//! user_total = 1.0                  # Σ_t x_t^0 ≤ 1
//! user = 0
//! [[constraints]]
//! terms = [[0, 0, 1.0], [1, 0, -1.0]]   # general row Σ coef x[user][period] ≤ rhs
//! rhs = 0.5
//!
//! [network]                         # optional: also run the distributed mechanism
//! edges = [[0, 1]]
//! root = 0                          # optional BFS root of the spanning tree (default 0)
//! ```
//!
//! With a `[network]`, the distributed mechanism runs on the breadth-first spanning tree
//! from `root` (its summaries are consistent only on a tree): the report's
//! `distributed.routing` (and `dr simulate`'s `routing`, [`crate::MessageRouting`]) lists
//! the edges that carry messages, with the proxies held across each, and every idle edge
//! with the cycle it closes and the tree path that replaces it.
//!
//! Every parameter of a utility is a number (every period) or an array with one number per
//! period. What the paper assumes of utilities (Assumption 1: twice differentiable and
//! strictly concave) and what each family needs for it, checked with an error naming the
//! field as written here (`users[2].utility.power.exponent[0]`) and the value:
//!
//! | family | `v_t(x)` | parameters | Assumption 1 |
//! |---|---|---|---|
//! | `log` | `w ln(x + s)` | `weight > 0`, `shift > 0` | holds on `x > −s` |
//! | `quadratic` | `θ x − ½ κ x²` | `theta` any, `kappa > 0` | holds |
//! | `quadratic_satiation` | `θ x − ½ κ x²` for `x ≤ θ/κ`, `θ²/(2κ)` after | `theta > 0`, `kappa > 0` | holds below the satiation point `θ/κ` only: `v` is C¹ with `v̈` jumping to 0 there, and flat after |
//! | `power` | `c (x + s)^α` | `coefficient > 0`, `0 < exponent < 1`, `shift > 0` | holds on `x > −s` (the shift keeps `v(0)` and `v̇(0)` finite) |
//!
//! For `quadratic_satiation` the planner's KKT conditions (4), the NE of Theorem 2, the
//! taxes, individual rationality (Theorem 3) and budget balance (Theorem 4) hold as for the
//! paper's utilities (they need concave, differentiable utilities only); the optimum is
//! unique unless a demand sits on the flat part (its total price is then `0`), and the
//! report lists every such demand (`satiated`, see [`SatiatedDemand`]).
//!
//! Every right-hand side must be `≥ 0` (so that `x = 0` is feasible, Assumption 2).
//! Unknown fields are errors; conversion errors name the field (`constraints[2].user`).
//! The rows of the model are the `[[constraints]]` rows in file order (an entry
//! `community_cap` without `period` contributes `T` rows), then the users' bounds; the
//! report's `constraint_multipliers[l]` are the multipliers of the `[[constraints]]` rows.

use crate::error::MechanismError;
use crate::game::MechanismSettings;
use crate::model::{Model, PeriodUtility, User};
use crate::network::Network;
use crate::planner::PlannerSettings;
use serde::{Deserialize, Serialize};

/// The model tag of a scenario file (`model = "mechanism"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelTag {
    /// The peak-demand mechanism (wei-anastasopoulos).
    Mechanism,
}

/// A number for every period, or one number per period.
///
/// Deserialized by hand (not as an untagged enum) so that a wrong value gets a message a
/// user can act on: "expected a number or an array of numbers (one per period)".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerPeriod {
    /// The same value in every period.
    One(f64),
    /// One value per period.
    Many(Vec<f64>),
}

impl<'de> Deserialize<'de> for PerPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PerPeriod;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or an array of numbers (one per period)")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PerPeriod, E> {
                Ok(PerPeriod::One(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PerPeriod, E> {
                Ok(PerPeriod::One(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PerPeriod, E> {
                Ok(PerPeriod::One(v as f64))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PerPeriod, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<Number>()? {
                    v.push(x.0);
                }
                Ok(PerPeriod::Many(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One number of a [`PerPeriod`] array (integers accepted), with a plain message.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number (an array of numbers, one per period)")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl PerPeriod {
    fn expand(
        &self,
        field: impl Fn() -> String,
        periods: usize,
    ) -> Result<Vec<f64>, MechanismError> {
        match self {
            PerPeriod::One(v) => Ok(vec![*v; periods]),
            PerPeriod::Many(v) => {
                dr_convex::check_len(&field, periods, v.len())?;
                Ok(v.clone())
            }
        }
    }
}

/// A user's utility in a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UtilitySpec {
    /// `v_t(x) = w_t ln(x + s_t)`.
    Log {
        /// `w_t > 0`.
        weight: PerPeriod,
        /// `s_t > 0`.
        shift: PerPeriod,
    },
    /// `v_t(x) = θ_t x − ½ κ_t x²`.
    Quadratic {
        /// `θ_t`.
        theta: PerPeriod,
        /// `κ_t > 0`.
        kappa: PerPeriod,
    },
    /// `v_t(x) = θ_t x − ½ κ_t x²` up to the satiation point `θ_t/κ_t`, flat after.
    QuadraticSatiation {
        /// `θ_t > 0`.
        theta: PerPeriod,
        /// `κ_t > 0`.
        kappa: PerPeriod,
    },
    /// `v_t(x) = c_t (x + s_t)^{α_t}`.
    Power {
        /// `c_t > 0`.
        coefficient: PerPeriod,
        /// `α_t ∈ (0, 1)`.
        exponent: PerPeriod,
        /// `s_t > 0`.
        shift: PerPeriod,
    },
}

/// A `[[users]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The utility.
    pub utility: UtilitySpec,
    /// `x_t ≥ lower` (`≤ 0`), optional.
    #[serde(default)]
    pub lower: Option<PerPeriod>,
    /// `x_t ≤ upper` (`≥ 0`), optional.
    #[serde(default)]
    pub upper: Option<PerPeriod>,
}

/// A `[[constraints]]` entry: exactly one of `community_total`, `community_cap`,
/// `user_total`, `terms` (see the module docs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    /// `Σ_i Σ_t x_t^i ≤ community_total`.
    #[serde(default)]
    pub community_total: Option<f64>,
    /// `Σ_i x_t^i ≤ community_cap` for `period` (or for every period).
    #[serde(default)]
    pub community_cap: Option<f64>,
    /// The period of a `community_cap`.
    #[serde(default)]
    pub period: Option<usize>,
    /// `Σ_t x_t^{user} ≤ user_total`.
    #[serde(default)]
    pub user_total: Option<f64>,
    /// The user of a `user_total`.
    #[serde(default)]
    pub user: Option<usize>,
    /// General row entries `[user, period, coef]`.
    #[serde(default)]
    pub terms: Option<Vec<(usize, usize, f64)>>,
    /// Right-hand side of a general row.
    #[serde(default)]
    pub rhs: Option<f64>,
}

/// The optional `[network]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Undirected edges `[i, j]` between users.
    pub edges: Vec<(usize, usize)>,
    /// BFS root of the spanning tree (default 0).
    #[serde(default)]
    pub root: usize,
}

/// A mechanism scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Must be `"mechanism"`.
    pub model: ModelTag,
    /// `T`.
    pub periods: usize,
    /// `p_t` (length `T`).
    pub energy_prices: Vec<f64>,
    /// `p_0 > 0`.
    pub peak_price: f64,
    /// The users.
    pub users: Vec<UserSpec>,
    /// The coupling constraints.
    #[serde(default)]
    pub constraints: Vec<ConstraintSpec>,
    /// Optional message-exchange network.
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

/// A scenario converted into a [`Model`], with the map back to the file.
#[derive(Debug, Clone)]
pub struct ScenarioModel {
    /// The validated model.
    pub model: Model,
    /// Number of model rows coming from `[[constraints]]` (rows `0..constraint_rows`).
    pub constraint_rows: usize,
    /// For each model row from `[[constraints]]`, the index of its entry in the file.
    pub constraint_entry: Vec<usize>,
}

fn nonneg(field: impl Fn() -> String, v: f64) -> Result<f64, MechanismError> {
    dr_convex::check_finite(&field, v)?;
    if v < 0.0 {
        return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
            field: field(),
            value: v,
            requirement: "must be >= 0 so that x = 0 is feasible (Assumption 2)".into(),
        }));
    }
    Ok(v)
}

impl Scenario {
    /// An upper bound, in bytes, of the peak memory `dr solve`, `dr simulate` and `dr verify`
    /// need on this scenario, from the counts in the file and without allocating
    /// (saturating arithmetic). With `N` users, `T` periods, `L` rows of `A x ≤ b` (the
    /// `[[constraints]]` rows plus `T` per `lower` and per `upper` of a user),
    /// `E` nonzero entries of `A` plus the `T(N + 1)` entries of the peak rows, and
    /// `m = (constraint rows) + T` coupling rows of the interior point:
    ///
    /// - `512 NT`: per variable, the model and its rescaled copy (utility objects, bounds),
    ///   about 30 vectors of the interior point, the polish, the KKT check and the report;
    /// - `128 E`: per entry, the rows of the model (twice), the interior point's constraint
    ///   matrix and the polish's column lists;
    /// - `256 L`: per row, its kind, right-hand side, multipliers and the user-row index;
    /// - `32 (m + 1)²`: the normal equations of the interior point and their Cholesky factor
    ///   (dense in the worst case: the `T` peak rows all share the peak variable `w`) and the
    ///   polish's dense Schur complement;
    /// - `64 N L + 64 N T`: the mechanisms' message profiles (`q` has `N·L` entries; the
    ///   distributed summaries `n`, `ν` `2(N−1)·L`, `2(N−1)·T`), a few copies each;
    /// - `2048 · (edges)`: the network and its routing report (an idle edge lists at most
    ///   [`crate::MAX_REPORTED_PATH`] users of its tree path, as numbers and in its reason).
    pub fn memory_estimate(&self) -> u64 {
        let n = self.users.len() as u64;
        let t = self.periods as u64;
        let nt = n.saturating_mul(t);
        let mut rows: u64 = 0;
        let mut entries: u64 = 0;
        for c in &self.constraints {
            if c.community_total.is_some() {
                rows = rows.saturating_add(1);
                entries = entries.saturating_add(nt);
            } else if c.community_cap.is_some() {
                if c.period.is_some() {
                    rows = rows.saturating_add(1);
                    entries = entries.saturating_add(n);
                } else {
                    rows = rows.saturating_add(t);
                    entries = entries.saturating_add(nt);
                }
            } else if c.user_total.is_some() {
                rows = rows.saturating_add(1);
                entries = entries.saturating_add(t);
            } else if let Some(terms) = &c.terms {
                rows = rows.saturating_add(1);
                entries = entries.saturating_add(terms.len() as u64);
            }
        }
        let bound_rows = self
            .users
            .iter()
            .map(|u| u64::from(u.lower.is_some()) + u64::from(u.upper.is_some()))
            .fold(0u64, |a, k| a.saturating_add(k.saturating_mul(t)));
        let coupling = rows.saturating_add(t).saturating_add(1);
        let all_rows = rows.saturating_add(bound_rows);
        let all_entries = entries
            .saturating_add(bound_rows)
            .saturating_add(t.saturating_mul(n.saturating_add(1)));
        let edges = self.network.as_ref().map_or(0, |s| s.edges.len() as u64);
        4096u64
            .saturating_add(nt.saturating_mul(512))
            .saturating_add(all_entries.saturating_mul(128))
            .saturating_add(all_rows.saturating_mul(256))
            .saturating_add(coupling.saturating_mul(coupling).saturating_mul(32))
            .saturating_add(n.saturating_mul(all_rows).saturating_mul(64))
            .saturating_add(nt.saturating_mul(64))
            .saturating_add(edges.saturating_mul(2048))
    }

    /// Validates the scenario and builds the model (errors name the scenario's field).
    pub fn to_model(&self) -> Result<ScenarioModel, MechanismError> {
        let t_len = self.periods;
        if t_len == 0 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "periods".into(),
                got: 0,
                required: 1,
            }));
        }
        dr_convex::check_len(|| "energy_prices".into(), t_len, self.energy_prices.len())?;
        let n = self.users.len();
        if n == 0 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "users".into(),
                got: 0,
                required: 1,
            }));
        }
        let mut b = Model::builder(self.energy_prices.clone(), self.peak_price);
        let mut constraint_entry = Vec::new();
        for (k, c) in self.constraints.iter().enumerate() {
            let f = |name: &str| format!("constraints[{k}].{name}");
            let kinds = [
                c.community_total.is_some(),
                c.community_cap.is_some(),
                c.user_total.is_some(),
                c.terms.is_some(),
            ];
            if kinds.iter().filter(|&&x| x).count() != 1 {
                return Err(MechanismError::Input(dr_convex::InputError::Invalid {
                    field: format!("constraints[{k}]"),
                    message:
                        "give exactly one of community_total, community_cap, user_total, terms"
                            .into(),
                }));
            }
            let stray = |name: &str, present: bool, allowed: bool| -> Result<(), MechanismError> {
                if present && !allowed {
                    Err(MechanismError::Input(dr_convex::InputError::Invalid {
                        field: f(name),
                        message: "not allowed with this kind of constraint".into(),
                    }))
                } else {
                    Ok(())
                }
            };
            stray("period", c.period.is_some(), c.community_cap.is_some())?;
            stray("user", c.user.is_some(), c.user_total.is_some())?;
            stray("rhs", c.rhs.is_some(), c.terms.is_some())?;
            let before = b.rows_so_far();
            if let Some(cap) = c.community_total {
                b = b.community_total(nonneg(|| f("community_total"), cap)?);
            } else if let Some(cap) = c.community_cap {
                let cap = nonneg(|| f("community_cap"), cap)?;
                match c.period {
                    Some(t) if t >= t_len => {
                        return Err(MechanismError::Input(
                            dr_convex::InputError::IndexOutOfRange {
                                field: f("period"),
                                index: t,
                                size: t_len,
                            },
                        ))
                    }
                    Some(t) => b = b.community_cap(t, cap),
                    None => {
                        for t in 0..t_len {
                            b = b.community_cap(t, cap);
                        }
                    }
                }
            } else if let Some(cap) = c.user_total {
                let cap = nonneg(|| f("user_total"), cap)?;
                let user = c.user.ok_or_else(|| {
                    MechanismError::Input(dr_convex::InputError::Invalid {
                        field: f("user"),
                        message: "missing".into(),
                    })
                })?;
                dr_convex::check_index(|| f("user"), user, n)?;
                b = b.user_total(user, cap);
            } else if let Some(terms) = &c.terms {
                let rhs = c.rhs.ok_or_else(|| {
                    MechanismError::Input(dr_convex::InputError::Invalid {
                        field: f("rhs"),
                        message: "missing".into(),
                    })
                })?;
                let rhs = nonneg(|| f("rhs"), rhs)?;
                for (e, &(user, period, coef)) in terms.iter().enumerate() {
                    dr_convex::check_index(|| format!("constraints[{k}].terms[{e}][0]"), user, n)?;
                    dr_convex::check_index(
                        || format!("constraints[{k}].terms[{e}][1]"),
                        period,
                        t_len,
                    )?;
                    dr_convex::check_finite(|| format!("constraints[{k}].terms[{e}][2]"), coef)?;
                }
                if !terms.iter().any(|e| e.2 != 0.0) {
                    return Err(MechanismError::Input(dr_convex::InputError::Invalid {
                        field: f("terms"),
                        message: "the row has no nonzero coefficient".into(),
                    }));
                }
                b = b.row(terms, rhs);
            }
            constraint_entry.extend(std::iter::repeat_n(k, b.rows_so_far() - before));
        }
        let constraint_rows = b.rows_so_far();
        for (i, u) in self.users.iter().enumerate() {
            let user = match &u.utility {
                UtilitySpec::Log { weight, shift } => {
                    let w = weight.expand(|| format!("users[{i}].utility.log.weight"), t_len)?;
                    let s = shift.expand(|| format!("users[{i}].utility.log.shift"), t_len)?;
                    for t in 0..t_len {
                        dr_convex::check_positive(
                            || format!("users[{i}].utility.log.weight[{t}]"),
                            w[t],
                        )?;
                        dr_convex::check_positive(
                            || format!("users[{i}].utility.log.shift[{t}]"),
                            s[t],
                        )?;
                    }
                    User {
                        utilities: (0..t_len)
                            .map(|t| PeriodUtility::Log {
                                weight: w[t],
                                shift: s[t],
                            })
                            .collect(),
                    }
                }
                UtilitySpec::Quadratic { theta, kappa } => {
                    let th =
                        theta.expand(|| format!("users[{i}].utility.quadratic.theta"), t_len)?;
                    let ka =
                        kappa.expand(|| format!("users[{i}].utility.quadratic.kappa"), t_len)?;
                    for t in 0..t_len {
                        dr_convex::check_finite(
                            || format!("users[{i}].utility.quadratic.theta[{t}]"),
                            th[t],
                        )?;
                        dr_convex::check_positive(
                            || format!("users[{i}].utility.quadratic.kappa[{t}]"),
                            ka[t],
                        )?;
                    }
                    User::quadratic(&th, &ka)
                }
                UtilitySpec::QuadraticSatiation { theta, kappa } => {
                    let name = |k: &str| format!("users[{i}].utility.quadratic_satiation.{k}");
                    let th = theta.expand(|| name("theta"), t_len)?;
                    let ka = kappa.expand(|| name("kappa"), t_len)?;
                    let utilities: Vec<PeriodUtility> = (0..t_len)
                        .map(|t| PeriodUtility::QuadraticSatiation {
                            theta: th[t],
                            kappa: ka[t],
                        })
                        .collect();
                    for (t, u) in utilities.iter().enumerate() {
                        u.check_family(&|k| format!("{}[{t}]", name(k)))?;
                    }
                    User { utilities }
                }
                UtilitySpec::Power {
                    coefficient,
                    exponent,
                    shift,
                } => {
                    let name = |k: &str| format!("users[{i}].utility.power.{k}");
                    let c = coefficient.expand(|| name("coefficient"), t_len)?;
                    let a = exponent.expand(|| name("exponent"), t_len)?;
                    let sh = shift.expand(|| name("shift"), t_len)?;
                    let utilities: Vec<PeriodUtility> = (0..t_len)
                        .map(|t| PeriodUtility::Power {
                            coefficient: c[t],
                            exponent: a[t],
                            shift: sh[t],
                        })
                        .collect();
                    for (t, u) in utilities.iter().enumerate() {
                        u.check_family(&|k| format!("{}[{t}]", name(k)))?;
                    }
                    User { utilities }
                }
            };
            b = b.user(user);
            if let Some(lo) = &u.lower {
                let lo = lo.expand(|| format!("users[{i}].lower"), t_len)?;
                for (t, &v) in lo.iter().enumerate() {
                    if v.is_nan() || v > 0.0 || v == f64::INFINITY {
                        return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                            field: format!("users[{i}].lower[{t}]"),
                            value: v,
                            requirement: "must be <= 0 so that x = 0 is feasible (Assumption 2)"
                                .into(),
                        }));
                    }
                }
                b = b.lower_bounds(i, &lo);
            }
            if let Some(up) = &u.upper {
                let up = up.expand(|| format!("users[{i}].upper"), t_len)?;
                for (t, &v) in up.iter().enumerate() {
                    if v.is_nan() || v < 0.0 || v == f64::NEG_INFINITY {
                        return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                            field: format!("users[{i}].upper[{t}]"),
                            value: v,
                            requirement: "must be >= 0 so that x = 0 is feasible (Assumption 2)"
                                .into(),
                        }));
                    }
                }
                b = b.upper_bounds(i, &up);
            }
        }
        // The builder names its rows `rows[l]`; say which entry of the file that is.
        let model = b.build().map_err(|e| {
            rename_rows(e, |l| match constraint_entry.get(l) {
                Some(k) => format!("constraints[{k}] (model row {l})"),
                None => format!("a bound of [[users]] (model row {l})"),
            })
        })?;
        Ok(ScenarioModel {
            model,
            constraint_rows,
            constraint_entry,
        })
    }

    /// The scenario's network as a spanning tree (`None` without a `[network]` table).
    pub fn network(&self) -> Result<Option<Network>, MechanismError> {
        match &self.network {
            None => Ok(None),
            Some(spec) => Network::from_edges_named(
                self.users.len(),
                &spec.edges,
                spec.root,
                "network.edges",
                "network.root",
            )
            .map(Some),
        }
    }
}

/// Replaces a `rows[l]` prefix in an error's field by what the scenario file calls the row.
fn rename_rows(e: MechanismError, name: impl Fn(usize) -> String) -> MechanismError {
    let fix = |field: String| -> String {
        let Some(rest) = field.strip_prefix("rows[") else {
            return field;
        };
        let Some(end) = rest.find(']') else {
            return field;
        };
        match rest[..end].parse::<usize>() {
            Ok(l) => format!("{}{}", name(l), &rest[end + 1..]),
            Err(_) => field,
        }
    };
    match e {
        MechanismError::Input(dr_convex::InputError::Invalid { field, message }) => {
            MechanismError::Input(dr_convex::InputError::Invalid {
                field: fix(field),
                message,
            })
        }
        MechanismError::Input(dr_convex::InputError::OutOfRange {
            field,
            value,
            requirement,
        }) => MechanismError::Input(dr_convex::InputError::OutOfRange {
            field: fix(field),
            value,
            requirement,
        }),
        MechanismError::Input(dr_convex::InputError::NotFinite { field, value }) => {
            MechanismError::Input(dr_convex::InputError::NotFinite {
                field: fix(field),
                value,
            })
        }
        MechanismError::Input(dr_convex::InputError::IndexOutOfRange { field, index, size }) => {
            MechanismError::Input(dr_convex::InputError::IndexOutOfRange {
                field: fix(field),
                index,
                size,
            })
        }
        other => other,
    }
}

/// Settings of [`crate::run_scenario`] and [`crate::simulate_scenario`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScenarioSettings {
    /// Planner (interior point + polish) settings.
    pub planner: PlannerSettings,
    /// Mechanism settings (tie tolerance of radial pricing).
    pub mechanism: MechanismSettings,
}
