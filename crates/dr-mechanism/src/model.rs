//! The energy community: users, utilities, prices and the feasible polytope `A x ≤ b`
//! (wei-anastasopoulos §II).
//!
//! Users `i = 0..N` have per-period utilities `v_t^i` (Assumption 1: twice differentiable,
//! strictly concave); the community pays `J(x) = Σ_t p_t Σ_i x_t^i + p_0 max_t Σ_i x_t^i`
//! (eq. 1). The feasible set `X = {x : A x ≤ b}` (Assumption 2) is assembled from typed rows
//! ([`RowKind`]): per-user bounds, per-user totals, community caps per period or over the
//! horizon, and general sparse rows. Every row must have `b^l ≥ 0`, so that `0 ∈ X`.
//!
//! Utilities are stored as their *negative* (a convex disutility `f = −v`, a
//! [`ConvexScalar`]), as everywhere in the workspace.

use crate::error::MechanismError;
use crate::utility::{PowerUtility, SatiationUtility};
use dr_convex::{ClosureConvex, ConvexScalar, LogUtility, QuadraticUtility};
use std::fmt;
use std::sync::Arc;

/// One period's utility `v_t^i` of one user.
#[derive(Debug, Clone)]
pub enum PeriodUtility {
    /// `v(x) = w ln(x + s)` with weight `w > 0` and shift `s > 0` (so `v(0)` is finite).
    Log {
        /// Weight `w`.
        weight: f64,
        /// Shift `s`.
        shift: f64,
    },
    /// `v(x) = θ x − ½ κ x²` with `κ > 0`.
    Quadratic {
        /// Marginal utility at zero, `θ`.
        theta: f64,
        /// Curvature `κ`.
        kappa: f64,
    },
    /// `v(x) = θ x − ½ κ x²` up to the satiation point `x̄ = θ/κ`, flat (`θ²/(2κ)`) after,
    /// with `θ > 0`, `κ > 0` (issue 15). Concave and C¹, strictly concave only below `x̄`:
    /// not Assumption 1 on the flat part (see [`crate::SatiatedDemand`] and the
    /// `utility` module's notes for what still holds).
    QuadraticSatiation {
        /// Marginal utility at zero, `θ > 0`.
        theta: f64,
        /// Curvature below the satiation point, `κ > 0`.
        kappa: f64,
    },
    /// `v(x) = c (x + s)^α` with `c > 0`, `0 < α < 1` and shift `s > 0` (so that `v(0)`
    /// and `v̇(0) = c α s^{α−1}` are finite and exports `x ∈ (−s, 0)` are allowed);
    /// twice differentiable and strictly concave on `x > −s` (Assumption 1).
    Power {
        /// Coefficient `c > 0`.
        coefficient: f64,
        /// Exponent `α ∈ (0, 1)`.
        exponent: f64,
        /// Shift `s > 0`.
        shift: f64,
    },
    /// A user-supplied utility given by its convex negative `f = −v` (a [`ClosureConvex`]);
    /// its domain must contain `0`, and it must be strictly convex (checked by sampling).
    Disutility(ClosureConvex),
}

impl PeriodUtility {
    /// Checks the parameters of the issue-15 families against what makes them satisfy
    /// Assumption 1 (see the `utility` module): `θ, κ > 0` for
    /// [`PeriodUtility::QuadraticSatiation`]; `c > 0`, `0 < α < 1`, `s > 0` for
    /// [`PeriodUtility::Power`]. `field(name)` names a parameter as the input does.
    pub(crate) fn check_family(
        &self,
        field: &dyn Fn(&str) -> String,
    ) -> Result<(), MechanismError> {
        match *self {
            PeriodUtility::QuadraticSatiation { theta, kappa } => {
                positive(
                    &field("theta"),
                    theta,
                    "must be > 0: the satiation point θ/κ must be > 0 (the user values some consumption)",
                )?;
                positive(
                    &field("kappa"),
                    kappa,
                    "must be > 0 (strictly concave below the satiation point, Assumption 1)",
                )
            }
            PeriodUtility::Power {
                coefficient,
                exponent,
                shift,
            } => {
                positive(
                    &field("coefficient"),
                    coefficient,
                    "must be > 0 (an increasing, strictly concave c (x + s)^α, Assumption 1)",
                )?;
                dr_convex::check_finite(|| field("exponent"), exponent)?;
                if !(exponent > 0.0 && exponent < 1.0) {
                    return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                        field: field("exponent"),
                        value: exponent,
                        requirement: "must lie in (0, 1): α = 1 is linear and α outside [0, 1] \
                                      is convex, not strictly concave (Assumption 1)"
                            .into(),
                    }));
                }
                positive(
                    &field("shift"),
                    shift,
                    "must be > 0 so that v(0) = c s^α and the marginal utility c α s^(α−1) at 0 \
                     are finite (Assumption 1 asks for v twice differentiable at every demand, \
                     0 included)",
                )
            }
            _ => Ok(()),
        }
    }
}

/// A user: one utility per period.
#[derive(Debug, Clone)]
pub struct User {
    /// `v_t^i` for `t = 0..T`.
    pub utilities: Vec<PeriodUtility>,
}

impl User {
    /// A user with log utilities `v_t(x) = w_t ln(x + s)`.
    pub fn log(weights: &[f64], shift: f64) -> Self {
        Self {
            utilities: weights
                .iter()
                .map(|&weight| PeriodUtility::Log { weight, shift })
                .collect(),
        }
    }

    /// A user with quadratic utilities `v_t(x) = θ_t x − ½ κ_t x²` (lengths must agree; checked
    /// by [`ModelBuilder::build`]).
    pub fn quadratic(theta: &[f64], kappa: &[f64]) -> Self {
        let n = theta.len().max(kappa.len());
        Self {
            utilities: (0..n)
                .map(|t| PeriodUtility::Quadratic {
                    theta: theta.get(t).copied().unwrap_or(f64::NAN),
                    kappa: kappa.get(t).copied().unwrap_or(f64::NAN),
                })
                .collect(),
        }
    }

    /// A user with quadratic utilities with satiation, `v_t(x) = θ_t x − ½ κ_t x²` up to
    /// `θ_t/κ_t` and flat after (lengths must agree; checked by [`ModelBuilder::build`]).
    pub fn quadratic_satiation(theta: &[f64], kappa: &[f64]) -> Self {
        let n = theta.len().max(kappa.len());
        Self {
            utilities: (0..n)
                .map(|t| PeriodUtility::QuadraticSatiation {
                    theta: theta.get(t).copied().unwrap_or(f64::NAN),
                    kappa: kappa.get(t).copied().unwrap_or(f64::NAN),
                })
                .collect(),
        }
    }

    /// A user with power utilities `v_t(x) = c_t (x + s)^α`.
    pub fn power(coefficients: &[f64], exponent: f64, shift: f64) -> Self {
        Self {
            utilities: coefficients
                .iter()
                .map(|&coefficient| PeriodUtility::Power {
                    coefficient,
                    exponent,
                    shift,
                })
                .collect(),
        }
    }

    /// A user with user-supplied disutilities `f_t = −v_t`.
    pub fn custom(disutilities: Vec<ClosureConvex>) -> Self {
        Self {
            utilities: disutilities
                .into_iter()
                .map(PeriodUtility::Disutility)
                .collect(),
        }
    }
}

/// What a row of `A x ≤ b` means (its label in reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// `x_t^i ≤ u` (`u ≥ 0`).
    UserUpper {
        /// User `i`.
        user: usize,
        /// Period `t`.
        period: usize,
    },
    /// `−x_t^i ≤ −l`, i.e. `x_t^i ≥ l` (`l ≤ 0`).
    UserLower {
        /// User `i`.
        user: usize,
        /// Period `t`.
        period: usize,
    },
    /// `Σ_t x_t^i ≤ c`.
    UserTotal {
        /// User `i`.
        user: usize,
    },
    /// `Σ_i Σ_t x_t^i ≤ c`.
    CommunityTotal,
    /// `Σ_i x_t^i ≤ c` for one period.
    CommunityCap {
        /// Period `t`.
        period: usize,
    },
    /// A general sparse row `Σ a_t^{i} x_t^i ≤ b`.
    General,
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowKind::UserUpper { user, period } => write!(f, "x[{user}][{period}] <= upper"),
            RowKind::UserLower { user, period } => write!(f, "x[{user}][{period}] >= lower"),
            RowKind::UserTotal { user } => write!(f, "sum_t x[{user}][t] <= cap"),
            RowKind::CommunityTotal => write!(f, "sum_i sum_t x[i][t] <= cap"),
            RowKind::CommunityCap { period } => write!(f, "sum_i x[i][{period}] <= cap"),
            RowKind::General => write!(f, "general row"),
        }
    }
}

#[derive(Debug, Clone)]
enum RowSpec {
    Upper {
        user: usize,
        period: usize,
        value: f64,
    },
    Lower {
        user: usize,
        period: usize,
        value: f64,
    },
    UserTotal {
        user: usize,
        cap: f64,
    },
    CommunityTotal {
        cap: f64,
    },
    CommunityCap {
        period: usize,
        cap: f64,
    },
    General {
        entries: Vec<(usize, usize, f64)>,
        rhs: f64,
    },
}

/// Builder of a [`Model`]: add users and rows, then [`ModelBuilder::build`] validates
/// everything at once (errors name the field: `users[2].utility[1].weight`,
/// `rows[4].rhs`, …). Rows are numbered in the order they are added; bounds equal to `±∞`
/// add no row.
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    energy_prices: Vec<f64>,
    peak_price: f64,
    users: Vec<User>,
    rows: Vec<RowSpec>,
}

impl ModelBuilder {
    /// Energy prices `p_t` (one per period; `T = p.len()`) and peak price `p_0 > 0` (eq. 1).
    pub fn new(energy_prices: Vec<f64>, peak_price: f64) -> Self {
        Self {
            energy_prices,
            peak_price,
            users: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Adds a user (index = number of users added before).
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Upper bounds `x_t^i ≤ u_t` (`u_t ≥ 0`; `+∞` adds no row), one row per finite entry.
    pub fn upper_bounds(mut self, user: usize, upper: &[f64]) -> Self {
        for (period, &value) in upper.iter().enumerate() {
            if value != f64::INFINITY {
                self.rows.push(RowSpec::Upper {
                    user,
                    period,
                    value,
                });
            }
        }
        self
    }

    /// Lower bounds `x_t^i ≥ l_t` (`l_t ≤ 0`; `−∞` adds no row), one row per finite entry.
    pub fn lower_bounds(mut self, user: usize, lower: &[f64]) -> Self {
        for (period, &value) in lower.iter().enumerate() {
            if value != f64::NEG_INFINITY {
                self.rows.push(RowSpec::Lower {
                    user,
                    period,
                    value,
                });
            }
        }
        self
    }

    /// `Σ_t x_t^i ≤ cap` (`cap ≥ 0`): a user's energy budget over the horizon.
    pub fn user_total(mut self, user: usize, cap: f64) -> Self {
        self.rows.push(RowSpec::UserTotal { user, cap });
        self
    }

    /// `Σ_i Σ_t x_t^i ≤ cap` (`cap ≥ 0`): the community's energy over the horizon.
    pub fn community_total(mut self, cap: f64) -> Self {
        self.rows.push(RowSpec::CommunityTotal { cap });
        self
    }

    /// `Σ_i x_t^i ≤ cap` for one period (`cap ≥ 0`): a feeder capacity.
    pub fn community_cap(mut self, period: usize, cap: f64) -> Self {
        self.rows.push(RowSpec::CommunityCap { period, cap });
        self
    }

    /// `Σ_i x_t^i ≤ caps_t` for every period with a finite cap.
    pub fn community_caps(mut self, caps: &[f64]) -> Self {
        for (period, &cap) in caps.iter().enumerate() {
            if cap != f64::INFINITY {
                self.rows.push(RowSpec::CommunityCap { period, cap });
            }
        }
        self
    }

    /// A general row `Σ_k coef_k x_{period_k}^{user_k} ≤ rhs` from `(user, period, coef)`
    /// entries (`rhs ≥ 0`; repeated entries are summed).
    pub fn row(mut self, entries: &[(usize, usize, f64)], rhs: f64) -> Self {
        self.rows.push(RowSpec::General {
            entries: entries.to_vec(),
            rhs,
        });
        self
    }

    /// Number of rows added so far (the index the next row will get, when it adds one).
    pub fn rows_so_far(&self) -> usize {
        self.rows.len()
    }

    /// Validates and assembles the [`Model`].
    pub fn build(self) -> Result<Model, MechanismError> {
        let t_len = self.energy_prices.len();
        if t_len == 0 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "energy_prices".into(),
                got: 0,
                required: 1,
            }));
        }
        for (t, &p) in self.energy_prices.iter().enumerate() {
            dr_convex::check_finite(|| format!("energy_prices[{t}]"), p)?;
        }
        dr_convex::check_positive(|| "peak_price".into(), self.peak_price)?;
        let n = self.users.len();
        if n == 0 {
            return Err(MechanismError::Input(dr_convex::InputError::TooFew {
                field: "users".into(),
                got: 0,
                required: 1,
            }));
        }
        // Bounds per variable (for sampling custom utilities).
        let mut lo = vec![f64::NEG_INFINITY; n * t_len];
        let mut hi = vec![f64::INFINITY; n * t_len];
        // Rows.
        let mut kinds = Vec::with_capacity(self.rows.len());
        let mut row_ptr = vec![0usize];
        let mut vars: Vec<usize> = Vec::new();
        let mut coefs: Vec<f64> = Vec::new();
        let mut rhs = Vec::with_capacity(self.rows.len());
        let check_user = |l: usize, user: usize| {
            if user < n {
                Ok(())
            } else {
                Err(MechanismError::Input(
                    dr_convex::InputError::IndexOutOfRange {
                        field: format!("rows[{l}].user"),
                        index: user,
                        size: n,
                    },
                ))
            }
        };
        let check_period = |l: usize, period: usize| {
            if period < t_len {
                Ok(())
            } else {
                Err(MechanismError::Input(
                    dr_convex::InputError::IndexOutOfRange {
                        field: format!("rows[{l}].period"),
                        index: period,
                        size: t_len,
                    },
                ))
            }
        };
        let check_rhs = |l: usize, name: &str, v: f64| -> Result<(), MechanismError> {
            dr_convex::check_finite(|| format!("rows[{l}].{name}"), v)?;
            if v < 0.0 {
                return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("rows[{l}].{name}"),
                    value: v,
                    requirement: "the right-hand side b must be >= 0 so that x = 0 is feasible (Assumption 2)".into(),
                }));
            }
            Ok(())
        };
        for (l, spec) in self.rows.iter().enumerate() {
            let mut entries: Vec<(usize, f64)> = Vec::new();
            let (kind, b) = match spec {
                &RowSpec::Upper {
                    user,
                    period,
                    value,
                } => {
                    check_user(l, user)?;
                    check_period(l, period)?;
                    check_rhs(l, "upper", value)?;
                    entries.push((user * t_len + period, 1.0));
                    hi[user * t_len + period] = hi[user * t_len + period].min(value);
                    (RowKind::UserUpper { user, period }, value)
                }
                &RowSpec::Lower {
                    user,
                    period,
                    value,
                } => {
                    check_user(l, user)?;
                    check_period(l, period)?;
                    dr_convex::check_finite(|| format!("rows[{l}].lower"), value)?;
                    if value > 0.0 {
                        return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                            field: format!("rows[{l}].lower"),
                            value,
                            requirement: "a lower bound must be <= 0 so that x = 0 is feasible (Assumption 2)".into(),
                        }));
                    }
                    entries.push((user * t_len + period, -1.0));
                    lo[user * t_len + period] = lo[user * t_len + period].max(value);
                    (RowKind::UserLower { user, period }, -value)
                }
                &RowSpec::UserTotal { user, cap } => {
                    check_user(l, user)?;
                    check_rhs(l, "cap", cap)?;
                    entries.extend((0..t_len).map(|t| (user * t_len + t, 1.0)));
                    (RowKind::UserTotal { user }, cap)
                }
                &RowSpec::CommunityTotal { cap } => {
                    check_rhs(l, "cap", cap)?;
                    entries.extend((0..n * t_len).map(|j| (j, 1.0)));
                    (RowKind::CommunityTotal, cap)
                }
                &RowSpec::CommunityCap { period, cap } => {
                    check_period(l, period)?;
                    check_rhs(l, "cap", cap)?;
                    entries.extend((0..n).map(|i| (i * t_len + period, 1.0)));
                    (RowKind::CommunityCap { period }, cap)
                }
                RowSpec::General { entries: e, rhs: r } => {
                    check_rhs(l, "rhs", *r)?;
                    for (k, &(user, period, coef)) in e.iter().enumerate() {
                        dr_convex::check_index(|| format!("rows[{l}].entries[{k}].user"), user, n)?;
                        dr_convex::check_index(
                            || format!("rows[{l}].entries[{k}].period"),
                            period,
                            t_len,
                        )?;
                        dr_convex::check_finite(|| format!("rows[{l}].entries[{k}].coef"), coef)?;
                        entries.push((user * t_len + period, coef));
                    }
                    (RowKind::General, *r)
                }
            };
            // Sort by variable, merge repeats, drop zeros.
            entries.sort_by_key(|e| e.0);
            let start = vars.len();
            for (j, a) in entries {
                if vars.len() > start && vars[vars.len() - 1] == j {
                    let last = coefs.len() - 1;
                    coefs[last] += a;
                } else {
                    vars.push(j);
                    coefs.push(a);
                }
            }
            let mut w = start;
            for k in start..vars.len() {
                if coefs[k] != 0.0 {
                    vars[w] = vars[k];
                    coefs[w] = coefs[k];
                    w += 1;
                }
            }
            vars.truncate(w);
            coefs.truncate(w);
            if w == start {
                return Err(MechanismError::Input(dr_convex::InputError::Invalid {
                    field: format!("rows[{l}]"),
                    message: "the row has no nonzero coefficient".into(),
                }));
            }
            row_ptr.push(vars.len());
            rhs.push(b);
            kinds.push(kind);
        }
        // Utilities.
        let mut disutility: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(n * t_len);
        let mut satiation = vec![f64::INFINITY; n * t_len];
        for (i, user) in self.users.iter().enumerate() {
            dr_convex::check_len(
                || format!("users[{i}].utility"),
                t_len,
                user.utilities.len(),
            )?;
            for (t, u) in user.utilities.iter().enumerate() {
                let f: Arc<dyn ConvexScalar> = match u {
                    &PeriodUtility::Log { weight, shift } => {
                        dr_convex::check_positive(
                            || format!("users[{i}].utility[{t}].weight"),
                            weight,
                        )?;
                        dr_convex::check_finite(
                            || format!("users[{i}].utility[{t}].shift"),
                            shift,
                        )?;
                        if shift <= 0.0 {
                            return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                                field: format!("users[{i}].utility[{t}].shift"),
                                value: shift,
                                requirement: "must be > 0 so that v(0) = w ln(s) is finite".into(),
                            }));
                        }
                        Arc::new(LogUtility { weight, shift })
                    }
                    &PeriodUtility::Quadratic { theta, kappa } => {
                        dr_convex::check_finite(
                            || format!("users[{i}].utility[{t}].theta"),
                            theta,
                        )?;
                        dr_convex::check_finite(
                            || format!("users[{i}].utility[{t}].kappa"),
                            kappa,
                        )?;
                        if kappa <= 0.0 {
                            return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                                field: format!("users[{i}].utility[{t}].kappa"),
                                value: kappa,
                                requirement: "must be > 0 (strictly concave utility, Assumption 1)"
                                    .into(),
                            }));
                        }
                        Arc::new(QuadraticUtility { theta, kappa })
                    }
                    &PeriodUtility::QuadraticSatiation { theta, kappa } => {
                        u.check_family(&|name| format!("users[{i}].utility[{t}].{name}"))?;
                        let f = SatiationUtility { theta, kappa };
                        satiation[i * t_len + t] = f.satiation_point();
                        Arc::new(f)
                    }
                    &PeriodUtility::Power {
                        coefficient,
                        exponent,
                        shift,
                    } => {
                        u.check_family(&|name| format!("users[{i}].utility[{t}].{name}"))?;
                        Arc::new(PowerUtility {
                            coefficient,
                            exponent,
                            shift,
                        })
                    }
                    PeriodUtility::Disutility(c) => {
                        check_custom(c, i, t, lo[i * t_len + t], hi[i * t_len + t])?;
                        Arc::new(c.clone())
                    }
                };
                disutility.push(f);
            }
        }
        let mut user_rows: Vec<Vec<UserRow>> = vec![Vec::new(); n];
        for l in 0..kinds.len() {
            let (s, e) = (row_ptr[l], row_ptr[l + 1]);
            let mut k = s;
            while k < e {
                let i = vars[k] / t_len;
                let mut k2 = k;
                while k2 < e && vars[k2] / t_len == i {
                    k2 += 1;
                }
                user_rows[i].push(UserRow {
                    row: l,
                    start: k,
                    end: k2,
                });
                k = k2;
            }
        }
        Ok(Model {
            n_users: n,
            periods: t_len,
            energy_prices: self.energy_prices,
            peak_price: self.peak_price,
            disutility,
            kinds,
            row_ptr,
            vars,
            coefs,
            rhs,
            user_rows,
            satiation,
        })
    }
}

/// `value > 0` (and finite), or an error naming `field` with `requirement`.
fn positive(field: &str, value: f64, requirement: &str) -> Result<(), MechanismError> {
    dr_convex::check_finite(|| field.to_string(), value)?;
    if value > 0.0 {
        Ok(())
    } else {
        Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
            field: field.to_string(),
            value,
            requirement: requirement.to_string().into(),
        }))
    }
}

fn check_custom(
    c: &ClosureConvex,
    i: usize,
    t: usize,
    lo: f64,
    hi: f64,
) -> Result<(), MechanismError> {
    let field = || format!("users[{i}].utility[{t}]");
    let (dlo, dhi) = c.domain();
    if !(dlo < 0.0 && 0.0 < dhi) {
        return Err(MechanismError::Input(dr_convex::InputError::Invalid {
            field: field(),
            message: format!("the domain ({dlo}, {dhi}) must contain 0 (so that v(0) is defined)"),
        }));
    }
    let v0 = c.value(0.0);
    dr_convex::check_finite(|| format!("{}.value(0)", field()), v0)?;
    let a = lo.max(-100.0).max(if dlo.is_finite() {
        dlo + 1e-6 * (1.0 + dlo.abs())
    } else {
        f64::NEG_INFINITY
    });
    let b = hi.min(100.0).min(if dhi.is_finite() {
        dhi - 1e-6 * (1.0 + dhi.abs())
    } else {
        f64::INFINITY
    });
    let samples = 65;
    let mut prev = f64::NEG_INFINITY;
    for k in 0..samples {
        let x = if b > a {
            a + (b - a) * k as f64 / (samples - 1) as f64
        } else {
            0.0
        };
        let d = c.derivative(x);
        let h = c.second_derivative(x);
        dr_convex::check_finite(|| format!("{}.derivative({x})", field()), d)?;
        if h.is_nan() || h <= 0.0 || !h.is_finite() || d < prev - 1e-12 * (d.abs() + prev.abs()) {
            return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
                field: format!("{}.second_derivative({x})", field()),
                value: h,
                requirement: "must be > 0: the utility must be strictly concave (Assumption 1)"
                    .into(),
            }));
        }
        prev = d;
    }
    Ok(())
}

/// The entries of one row that belong to one user: `a^{i,l}` as a slice range of the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRow {
    /// Row index `l`.
    pub row: usize,
    /// Start of the user's entries in the model's entry arrays.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
}

/// A validated energy community (wei-anastasopoulos §II): `N` users, `T` periods, prices,
/// and the polytope `A x ≤ b` with `b ≥ 0`. Variables are indexed `i·T + t`.
#[derive(Clone)]
pub struct Model {
    n_users: usize,
    periods: usize,
    energy_prices: Vec<f64>,
    peak_price: f64,
    disutility: Vec<Arc<dyn ConvexScalar>>,
    kinds: Vec<RowKind>,
    row_ptr: Vec<usize>,
    vars: Vec<usize>,
    coefs: Vec<f64>,
    rhs: Vec<f64>,
    user_rows: Vec<Vec<UserRow>>,
    /// Satiation point `θ/κ` per variable `i·T + t` (`+∞` for the other families).
    satiation: Vec<f64>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("users", &self.n_users)
            .field("periods", &self.periods)
            .field("energy_prices", &self.energy_prices)
            .field("peak_price", &self.peak_price)
            .field("rows", &self.kinds.len())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Starts a [`ModelBuilder`] with energy prices `p_t` and peak price `p_0`.
    pub fn builder(energy_prices: Vec<f64>, peak_price: f64) -> ModelBuilder {
        ModelBuilder::new(energy_prices, peak_price)
    }
    /// Number of users `N`.
    pub fn users(&self) -> usize {
        self.n_users
    }
    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.periods
    }
    /// Number of rows `L` of `A x ≤ b`.
    pub fn rows(&self) -> usize {
        self.kinds.len()
    }
    /// Energy prices `p_t`.
    pub fn energy_prices(&self) -> &[f64] {
        &self.energy_prices
    }
    /// Peak price `p_0`.
    pub fn peak_price(&self) -> f64 {
        self.peak_price
    }
    /// Right-hand sides `b^l`.
    pub fn rhs(&self) -> &[f64] {
        &self.rhs
    }
    /// What row `l` means. Panics if `l ≥ rows()` (like slice indexing; the same holds for
    /// the other index accessors of [`Model`]).
    pub fn row_kind(&self, l: usize) -> RowKind {
        self.kinds[l]
    }
    /// Variables (`i·T + t`) and coefficients of row `l`.
    pub fn row(&self, l: usize) -> (&[usize], &[f64]) {
        let (s, e) = (self.row_ptr[l], self.row_ptr[l + 1]);
        (&self.vars[s..e], &self.coefs[s..e])
    }
    /// `‖a^l‖² = Σ_{i,t} (a_t^{i,l})²` (public: the mechanism's taxes use every `a^{j,l}`).
    pub fn row_norm_squared(&self, l: usize) -> f64 {
        self.row(l).1.iter().map(|a| a * a).sum()
    }
    /// The rows user `i` appears in (`L_i`), with the range of its entries.
    pub fn user_rows(&self, i: usize) -> &[UserRow] {
        &self.user_rows[i]
    }
    /// The entries `(period, a_t^{i,l})` of a `UserRow`.
    pub fn user_row_entries(&self, ur: &UserRow) -> impl Iterator<Item = (usize, f64)> + '_ {
        let t_len = self.periods;
        (ur.start..ur.end).map(move |k| (self.vars[k] % t_len, self.coefs[k]))
    }
    /// `a^{i,l} · y` for the user's own demand vector `y ∈ ℝ^T`.
    pub fn user_row_dot(&self, ur: &UserRow, y: &[f64]) -> f64 {
        self.user_row_entries(ur).map(|(t, a)| a * y[t]).sum()
    }
    /// The disutility `f = −v_t^i` of user `i` in period `t`.
    pub fn disutility(&self, i: usize, t: usize) -> &Arc<dyn ConvexScalar> {
        &self.disutility[i * self.periods + t]
    }
    /// The satiation point `θ/κ` of user `i`'s utility in period `t` when it is a
    /// [`PeriodUtility::QuadraticSatiation`] (`None` for the other families, which have none).
    pub fn satiation_point(&self, i: usize, t: usize) -> Option<f64> {
        let x = self.satiation[i * self.periods + t];
        x.is_finite().then_some(x)
    }
    /// `v_t^i(x)` (−∞ outside the utility's domain).
    pub fn utility(&self, i: usize, t: usize, x: f64) -> f64 {
        let f = self.disutility(i, t);
        let (lo, hi) = f.domain();
        if x <= lo || x >= hi {
            return f64::NEG_INFINITY;
        }
        -f.value(x)
    }
    /// Marginal utility `v̇_t^i(x)`.
    pub fn marginal_utility(&self, i: usize, t: usize, x: f64) -> f64 {
        -self.disutility(i, t).derivative(x)
    }
    /// `v^i(x^i) = Σ_t v_t^i(x_t^i)` for `x^i ∈ ℝ^T`.
    pub fn user_utility(&self, i: usize, xi: &[f64]) -> f64 {
        (0..self.periods).map(|t| self.utility(i, t, xi[t])).sum()
    }
    /// Aggregate demand `X_t = Σ_i x_t^i` of a full allocation (`x` indexed `i·T + t`).
    pub fn aggregate(&self, x: &[f64]) -> Vec<f64> {
        let mut agg = vec![0.0; self.periods];
        for i in 0..self.n_users {
            for (t, a) in agg.iter_mut().enumerate() {
                *a += x[i * self.periods + t];
            }
        }
        agg
    }
    /// Energy cost `J(x) = Σ_t p_t X_t + p_0 max_t X_t` (eq. 1).
    pub fn energy_cost(&self, x: &[f64]) -> f64 {
        let agg = self.aggregate(x);
        let peak = agg.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        agg.iter()
            .zip(&self.energy_prices)
            .map(|(a, p)| a * p)
            .sum::<f64>()
            + self.peak_price * peak
    }
    /// Welfare `Σ_i v^i(x^i) − J(x)` (objective of problem (2)).
    pub fn welfare(&self, x: &[f64]) -> f64 {
        let v: f64 = (0..self.n_users)
            .map(|i| self.user_utility(i, &x[i * self.periods..(i + 1) * self.periods]))
            .sum();
        v - self.energy_cost(x)
    }
    /// Row activities `a^l · x` for all rows.
    pub fn row_activity(&self, x: &[f64]) -> Vec<f64> {
        (0..self.rows())
            .map(|l| {
                let (v, c) = self.row(l);
                v.iter().zip(c).map(|(&j, &a)| a * x[j]).sum()
            })
            .collect()
    }
    /// Checks the length of a full allocation.
    pub(crate) fn check_allocation(&self, field: &str, x: &[f64]) -> Result<(), MechanismError> {
        dr_convex::check_len(|| field.to_string(), self.n_users * self.periods, x.len())?;
        for (j, &v) in x.iter().enumerate() {
            dr_convex::check_finite(
                || format!("{field}[{}][{}]", j / self.periods, j % self.periods),
                v,
            )?;
        }
        Ok(())
    }
}

/// The data's own units: a quantity `Q` and a price `P` (money per unit of quantity) read
/// off the utilities and prices, so that `M = P·Q` is a unit of money. Used to rescale the
/// planner's problem internally (the solvers see `x/Q` and prices `/P`, numbers near 1) and
/// as the scale of the mechanism's relative checks.
///
/// Per user and period a natural price `π` and quantity `q`: for `w ln(x + s)`,
/// `π = w/s` (the marginal utility at 0) and `q = s`; for `θ x − ½ κ x²`, `π = |θ|` and
/// `q = |θ|/κ` (when `θ = 0`: `π = P₀ = max(max_t |p_t|, p_0)`, `q = P₀/κ`); the same for
/// quadratic with satiation (`θ > 0`); for `c (x + s)^α`, `π = c α s^{α−1}` and
/// `q = s/(1 − α)`; for a user-supplied utility `π = |v̇(0)|` (or `P₀`) and
/// `q = π / |v̈(0)|` (or 1 where that is not finite and positive) — the rule all of them
/// follow. `Q` and `P` are the geometric means of `q` and `π` over all users and
/// periods. Both are *equivariant*: scaling every utility and price by `t` scales `P` by `t`
/// and leaves `Q`; scaling quantities by `σ` (`x ↦ σx`, `b ↦ σb`, prices `/σ`) scales `Q`
/// by `σ` and `P` by `1/σ`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scales {
    /// Quantity unit `Q > 0`.
    pub quantity: f64,
    /// Price unit `P > 0` (money per unit of quantity).
    pub price: f64,
}

impl Scales {
    /// Money unit `M = P·Q`.
    pub fn money(&self) -> f64 {
        self.price * self.quantity
    }
}

/// `g(u) = f(Q u) / M`: a disutility in the solver's units.
#[derive(Debug, Clone)]
pub(crate) struct ScaledConvex {
    pub f: Arc<dyn ConvexScalar>,
    pub q: f64,
    pub m: f64,
}

impl ConvexScalar for ScaledConvex {
    fn value(&self, u: f64) -> f64 {
        self.f.value(self.q * u) / self.m
    }
    fn derivative(&self, u: f64) -> f64 {
        self.f.derivative(self.q * u) * (self.q / self.m)
    }
    fn second_derivative(&self, u: f64) -> f64 {
        self.f.second_derivative(self.q * u) * (self.q * self.q / self.m)
    }
    fn domain(&self) -> (f64, f64) {
        let (lo, hi) = self.f.domain();
        (lo / self.q, hi / self.q)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        self.f
            .inverse_derivative(p * (self.m / self.q), lo * self.q, hi * self.q)
            / self.q
    }
}

impl Model {
    /// The data's units `Q`, `P` (see [`Scales`]).
    pub fn scales(&self) -> Scales {
        let p_market = self
            .energy_prices
            .iter()
            .fold(self.peak_price, |a, p| a.max(p.abs()));
        let (mut lq, mut lp, mut k) = (0.0, 0.0, 0.0);
        for f in &self.disutility {
            let (pi, q) = natural_units(f.as_ref(), p_market);
            lq += q.ln();
            lp += pi.ln();
            k += 1.0;
        }
        let (quantity, price) = if k > 0.0 {
            ((lq / k).exp(), (lp / k).exp())
        } else {
            (1.0, p_market)
        };
        let ok = |v: f64, fallback: f64| {
            if v.is_finite() && v > 0.0 {
                v
            } else {
                fallback
            }
        };
        Scales {
            quantity: ok(quantity, 1.0),
            price: ok(price, ok(p_market, 1.0)),
        }
    }

    /// User `i`'s own money scale `Σ_t π_t^i q_t^i` (see [`Scales`]: `w` per period for
    /// `w ln(x + s)`, `θ²/κ` for `θ x − ½ κ x²`): the scale of its utility, against which
    /// its best-response gains are judged.
    pub fn user_money_scale(&self, i: usize) -> f64 {
        let p_market = self
            .energy_prices
            .iter()
            .fold(self.peak_price, |a, p| a.max(p.abs()));
        (0..self.periods)
            .map(|t| {
                let (pi, q) = natural_units(self.disutility(i, t).as_ref(), p_market);
                pi * q
            })
            .sum()
    }

    /// The same community in units `Q` of quantity and `M` of money: `x = Q u`, utilities
    /// `v(Q u)/M`, prices `p Q/M`, right-hand sides `b/Q` (row coefficients unchanged). Its
    /// multipliers are `λ Q/M`, `μ Q/M`.
    pub(crate) fn rescaled(&self, q: f64, m: f64) -> Model {
        let mut out = self.clone();
        out.energy_prices.iter_mut().for_each(|p| *p *= q / m);
        out.peak_price *= q / m;
        out.rhs.iter_mut().for_each(|b| *b /= q);
        out.satiation.iter_mut().for_each(|x| *x /= q);
        out.disutility = self
            .disutility
            .iter()
            .map(|f| Arc::new(ScaledConvex { f: f.clone(), q, m }) as Arc<dyn ConvexScalar>)
            .collect();
        out
    }
}

/// Natural price `π` and quantity `q` of one disutility (see [`Scales`]).
fn natural_units(f: &dyn ConvexScalar, p_market: f64) -> (f64, f64) {
    let d0 = f.derivative(0.0).abs();
    let h0 = f.second_derivative(0.0);
    let pi = if d0.is_finite() && d0 > 0.0 {
        d0
    } else {
        p_market
    };
    let q = pi / h0;
    let q = if q.is_finite() && q > 0.0 { q } else { 1.0 };
    (pi, q)
}
