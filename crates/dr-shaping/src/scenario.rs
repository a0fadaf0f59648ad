//! Scenario files (TOML or JSON) for the demand-shaping model, and their validating
//! conversion into a [`ShapingModel`].
//!
//! ```toml
//! model = "shaping"            # optional; if present it must be "shaping"
//! periods = 24                 # T ≥ 1
//! seed = 7                     # optional (default 0): ChaCha8 seed of the jittered classes
//!
//! [supply]                     # C(Q, t) = ½ c_t Q² + e_t Q
//! curvature = [0.001, 0.001]   # c_t > 0: one number (every period) or T numbers
//! linear = 0.05                # e_t ≥ 0: one number or T numbers (default 0)
//! # cubic = 1e-6               # optional d_t ≥ 0: C gains d_t Q³ (polynomial cost)
//! # quartic = 0.0              # optional f_t ≥ 0: C gains f_t Q⁴ (polynomial cost)
//!
//! [[customers]]                # one customer, or a class of `count` customers
//! name = "households"          # optional label
//! count = 50                   # optional (default 1): a whole number of customers (each has
//!                              #   its own loads; a fractional count is rejected, not a mass).
//!                              #   Without jitter and roll the class's customers are identical:
//!                              #   stored and solved once, weighted by the count (exact, see
//!                              #   the crate's `equilibrium` docs), reported as one row
//! utility = "quadratic"        # U(q, t) = θ_t q − ½ κ_t q²
//! theta = [0.3, 0.3]           # θ_t: one number or T numbers
//! kappa = 0.15                 # κ_t > 0: one number or T numbers
//! min_energy = 12.0            # Q_i ≥ 0 (default 0): Σ_t q_i(t) ≥ Q_i
//! max_energy = 30.0            # Q̄_i ≥ Q_i (default: unbounded): Σ_t q_i(t) ≤ Q̄_i
//! jitter = 0.15                # optional, in [0, 1): each customer of the class scales its
//!                              #   θ (or w) profile, its κ (or s) profile and its energy
//!                              #   bounds by independent factors drawn from U[1−j, 1+j]
//! roll = 1                     # optional: each customer's profiles are rotated by a random
//!                              #   whole number of periods in [−roll, roll]
//!
//! [[customers]]
//! utility = "power"            # U(q, t) = w_t (s_t + q)^α
//! weight = 2.0                 # w_t > 0
//! shift = 1.0                  # s_t > 0
//! alpha = 0.5                  # 0 < α < 1 (one number per class)
//!
//! [[customers]]
//! utility = "log"              # U(q, t) = w_t ln(s_t + q)
//! weight = 0.5                 # w_t > 0
//! shift = 1.0                  # s_t > 0
//! min_energy = 20.0
//! max_energy = 20.0            # a fixed daily energy (e.g. an electric vehicle)
//!
//! # optional, for `dr simulate` (all fields optional, see SimulationSettings):
//! # [simulation]
//! # scheme = "gradient"        # or "newton" (the fast variant)
//! # behaviour = "competitive"  # or "strategic"
//! # step = 0.001               # γ (default 1/L from the bound of critical_step)
//! # max_rounds = 20000
//! # tolerance = 1e-9
//! # oscillation_window = 32
//! # divergence_factor = 1e6
//! # record_loads = 0           # trace the loads of the first K customers (a row of c
//!                              #   identical customers counts c, recorded once)
//! ```
//!
//! # Supply costs (chen-li-low-doyle-2010 eq. 29: strictly convex, increasing marginal cost)
//! - quadratic `C(Q, t) = ½ c_t Q² + e_t Q`: `curvature` and `linear`. The strategic
//!   equilibrium is then the maximiser of a potential (Newton; the IPM cross-checks it).
//! - polynomial `C(Q, t) = e_t Q + ½ c_t Q² + d_t Q³ + f_t Q⁴` ([`crate::PolynomialCost`]):
//!   add `cubic` (`d_t ≥ 0`) and/or `quartic` (`f_t ≥ 0`), each one number or `T` numbers
//!   (all zero: the quadratic cost). The strategic equilibrium is the monotone VI's solution
//!   (condition 44, `p(t) = C'(Q(t), t)`): the price Newton inside the own-impact fixed
//!   point `b = C''(Q)`, the kernel's VI solver when that does not settle.
//! - piecewise quadratic ([`crate::PiecewiseQuadraticCost`]): the marginal cost starts at
//!   `linear` (`e_t`) and rises with slope `piece_curvature[k]` on each piece between the
//!   `breakpoints` of the total load (continuous at each one):
//!   ```toml
//!   [supply]
//!   linear = 0.04                            # e_t ≥ 0, C'(0, t)
//!   breakpoints = [200.0, 350.0]             # 0 < B_1 < B_2 (the same every period)
//!   piece_curvature = [0.0005, [0.001, 0.002], 0.01]   # K + 1 slopes > 0, each one number
//!                                            #   or T numbers, nondecreasing from piece to piece
//!   ```
//!   The strategic equilibrium is the VI's solution; when it puts a period's total load
//!   exactly on a breakpoint (the slope jumps there, so condition 44's `q_i C''(Q)` is
//!   set-valued) the VI does not converge and the result is reported not solved.
//!
//! `curvature`/`cubic`/`quartic` and `breakpoints`/`piece_curvature` exclude each other.
//!
//! Unknown keys are rejected (`deny_unknown_fields`); conversion errors name the field,
//! e.g. `customers[2].kappa[5] = -1 is out of range: must be > 0` or
//! `customers[0].max_energy: minimum energy 30 exceeds maximum energy 20`. Indices in the
//! error are those of the `[[customers]]` entries (not of the expanded population).

use crate::error::ShapingError;
use crate::model::{Customers, ShapingModel, SupplyCost, UtilityKind, Variant};
use crate::simulation::SimulationSettings;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A per-period parameter: one number for every period, or one per period.
///
/// Read from a number or an array of numbers; anything else is rejected with "expected a
/// number or an array of T numbers" (the reader names the field).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerPeriod {
    /// The same value in every period.
    Constant(f64),
    /// One value per period (length `T`).
    Profile(Vec<f64>),
}

struct PerPeriodVisitor;

impl<'de> serde::de::Visitor<'de> for PerPeriodVisitor {
    type Value = PerPeriod;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number or an array of T numbers")
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PerPeriod, E> {
        Ok(PerPeriod::Constant(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PerPeriod, E> {
        Ok(PerPeriod::Constant(v as f64))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PerPeriod, E> {
        Ok(PerPeriod::Constant(v as f64))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<PerPeriod, A::Error> {
        let mut v = Vec::new();
        loop {
            match seq.next_element::<Number>() {
                Ok(Some(Number(x))) => v.push(x),
                Ok(None) => break,
                Err(e) => {
                    return Err(serde::de::Error::custom(format!(
                        "element [{}]: {e} (expected a number or an array of T numbers)",
                        v.len()
                    )))
                }
            }
        }
        Ok(PerPeriod::Profile(v))
    }
}

/// One number of a profile (integer or float).
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Number)
    }
}

impl<'de> Deserialize<'de> for PerPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PerPeriodVisitor)
    }
}

impl PerPeriod {
    /// The `T` values; error names `field` on a wrong length, and on a `T` too large to
    /// allocate (never aborts).
    pub fn expand(&self, field: &str, periods: usize) -> Result<Vec<f64>, ShapingError> {
        match self {
            PerPeriod::Constant(v) => {
                let mut out = try_vec(field, periods)?;
                out.resize(periods, *v);
                Ok(out)
            }
            PerPeriod::Profile(v) if v.len() == periods => Ok(v.clone()),
            PerPeriod::Profile(v) => {
                Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                    field: field.into(),
                    expected: periods,
                    got: v.len(),
                }))
            }
        }
    }
}

/// An empty vector with room for `len` numbers, or [`ShapingError::TooLarge`] naming
/// `field` when the allocation fails (no abort on huge counts).
pub(crate) fn try_vec(field: &str, len: usize) -> Result<Vec<f64>, ShapingError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| ShapingError::TooLarge {
            field: field.into(),
            count: len as f64,
            bytes: (len as u64).saturating_mul(8),
        })?;
    Ok(v)
}

/// Bytes per load variable `q_i(t)` in [`ShapingScenario::memory_estimate`].
pub const BYTES_PER_LOAD: u64 = 112;
/// Bytes per class and period (its profiles: `2T` values of an identical class's row,
/// `4T` of a jittered class's shared profile) in [`ShapingScenario::memory_estimate`].
pub const BYTES_PER_CLASS_PERIOD: u64 = 32;
/// Bytes per customer in [`ShapingScenario::memory_estimate`].
pub const BYTES_PER_CUSTOMER: u64 = 512;
/// Bytes per period (supply cost, prices, totals, their JSON) in
/// [`ShapingScenario::memory_estimate`].
pub const BYTES_PER_PERIOD: u64 = 1024;
/// Bytes per traced number of `dr simulate` (the value and its JSON) in
/// [`ShapingScenario::memory_estimate`].
pub const BYTES_PER_TRACE_VALUE: u64 = 96;

/// A demand-shaping scenario as read from a file (see the module docs for the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapingScenario {
    /// Model tag; must be `"shaping"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Number of periods `T`.
    pub periods: usize,
    /// ChaCha8 seed of the jittered classes (default 0).
    #[serde(default)]
    pub seed: u64,
    /// The supply cost.
    pub supply: SupplySpec,
    /// Customers or classes of customers.
    pub customers: Vec<CustomerSpec>,
    /// Settings of `dr simulate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationSettings>,
}

/// The supply cost `C(Q, t)` (chen-li-low-doyle-2010 eq. 29; module docs): quadratic
/// `½ c_t Q² + e_t Q`, polynomial `e_t Q + ½ c_t Q² + d_t Q³ + f_t Q⁴` (with `cubic` /
/// `quartic`), or piecewise quadratic (with `breakpoints` and `piece_curvature`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplySpec {
    /// Curvature `c_t > 0` (quadratic and polynomial costs; required unless
    /// `breakpoints` are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curvature: Option<PerPeriod>,
    /// Linear coefficient `e_t ≥ 0`, the marginal cost at `Q = 0` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<PerPeriod>,
    /// Polynomial: coefficient `d_t ≥ 0` of `Q³` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cubic: Option<PerPeriod>,
    /// Polynomial: coefficient `f_t ≥ 0` of `Q⁴` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quartic: Option<PerPeriod>,
    /// Piecewise quadratic: breakpoints `0 < B_1 < … < B_K` of the total load, the same in
    /// every period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakpoints: Option<Vec<f64>>,
    /// Piecewise quadratic: the marginal cost's slope `c_{k,t} > 0` on each of the `K + 1`
    /// pieces, each one number or `T` numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piece_curvature: Option<Vec<PerPeriod>>,
}

impl SupplySpec {
    /// The quadratic cost `½ c_t Q² + e_t Q` (e.g. for scenarios built in code).
    pub fn quadratic(curvature: PerPeriod, linear: Option<PerPeriod>) -> Self {
        Self {
            curvature: Some(curvature),
            linear,
            cubic: None,
            quartic: None,
            breakpoints: None,
            piece_curvature: None,
        }
    }

    /// Validates the cost over `periods` periods and builds it. Errors name the field
    /// (`supply.curvature[3]`, `supply.cubic`, `supply.breakpoints[1]`,
    /// `supply.piece_curvature[2][5]`, …).
    pub fn to_supply(&self, periods: usize) -> Result<SupplyCost, ShapingError> {
        let linear = match &self.linear {
            Some(l) => l.expand("supply.linear", periods)?,
            None => PerPeriod::Constant(0.0).expand("supply.linear", periods)?,
        };
        match (&self.breakpoints, &self.piece_curvature) {
            (Some(breakpoints), Some(pieces)) => {
                for (name, present) in [
                    ("supply.curvature", self.curvature.is_some()),
                    ("supply.cubic", self.cubic.is_some()),
                    ("supply.quartic", self.quartic.is_some()),
                ] {
                    if present {
                        return Err(scenario_err(
                            name.into(),
                            "is a field of the quadratic or polynomial cost; a piecewise-quadratic \
                             cost (breakpoints) takes piece_curvature",
                        ));
                    }
                }
                let curvature = pieces
                    .iter()
                    .enumerate()
                    .map(|(k, c)| c.expand(&format!("supply.piece_curvature[{k}]"), periods))
                    .collect::<Result<Vec<_>, _>>()?;
                SupplyCost::piecewise_quadratic(breakpoints.clone(), curvature, linear)
            }
            (Some(_), None) => Err(scenario_err(
                "supply.piece_curvature".into(),
                "missing: breakpoints need the slope of each of their pieces",
            )),
            (None, Some(_)) => Err(scenario_err(
                "supply.breakpoints".into(),
                "missing: piece_curvature needs the breakpoints between its pieces",
            )),
            (None, None) => {
                let curvature = self
                    .curvature
                    .as_ref()
                    .ok_or_else(|| {
                        scenario_err(
                            "supply.curvature".into(),
                            "missing (or give breakpoints and piece_curvature)",
                        )
                    })?
                    .expand("supply.curvature", periods)?;
                let zeros = PerPeriod::Constant(0.0);
                let cubic = self
                    .cubic
                    .as_ref()
                    .unwrap_or(&zeros)
                    .expand("supply.cubic", periods)?;
                let quartic = self
                    .quartic
                    .as_ref()
                    .unwrap_or(&zeros)
                    .expand("supply.quartic", periods)?;
                SupplyCost::polynomial(curvature, linear, cubic, quartic)
            }
        }
    }
}

/// One customer, or a class of `count` customers (optionally jittered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSpec {
    /// Optional label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Number of customers of this class (default 1). A whole number: every customer of
    /// the class has its own loads, so a count is not a mass (`count = 2.5` is rejected,
    /// `count = 3.0` is read as 3).
    #[serde(
        default = "one",
        skip_serializing_if = "is_one",
        deserialize_with = "whole_count"
    )]
    pub count: usize,
    /// `"quadratic"` or `"log"`.
    pub utility: UtilitySpec,
    /// Quadratic: `θ_t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<PerPeriod>,
    /// Quadratic: `κ_t > 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kappa: Option<PerPeriod>,
    /// Log and power: `w_t > 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<PerPeriod>,
    /// Log and power: `s_t > 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<PerPeriod>,
    /// Power: the exponent `α ∈ (0, 1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Minimum daily energy `Q_i ≥ 0` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_energy: Option<f64>,
    /// Maximum daily energy `Q̄_i` (default unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_energy: Option<f64>,
    /// Relative jitter `j ∈ [0, 1)` of the class (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// Largest random rotation of the profiles, in periods (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll: Option<usize>,
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

/// A class count: a whole number of customers (an integer, or a float with no fraction).
fn whole_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number of customers >= 1 (a count is not a mass)")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<usize, E> {
            usize::try_from(v).map_err(|_| E::custom(format!("count {v} is too large")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<usize, E> {
            if v < 0 {
                Err(E::custom(format!(
                    "got {v}: expected a whole number of customers >= 1"
                )))
            } else {
                self.visit_u64(v as u64)
            }
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<usize, E> {
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
                self.visit_u64(v as u64)
            } else {
                Err(E::custom(format!(
                    "got {v}: expected a whole number of customers >= 1 (each customer has \
                     its own loads; a count is not a mass)"
                )))
            }
        }
    }
    d.deserialize_any(V)
}

/// The utility kind of a scenario customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UtilitySpec {
    /// `U = θ q − ½ κ q²` (fields `theta`, `kappa`).
    Quadratic,
    /// `U = w ln(s + q)` (fields `weight`, `shift`).
    Log,
    /// `U = w (s + q)^α` (fields `weight`, `shift`, `alpha`).
    Power,
}

impl UtilitySpec {
    /// The family's name as written in files (`quadratic`, `log`, `power`).
    pub fn name(self) -> &'static str {
        match self {
            UtilitySpec::Quadratic => "quadratic",
            UtilitySpec::Log => "log",
            UtilitySpec::Power => "power",
        }
    }
}

fn scenario_err(field: String, message: &str) -> ShapingError {
    ShapingError::Input(dr_convex::InputError::Invalid {
        field,
        message: message.into(),
    })
}

impl ShapingScenario {
    /// Validates the scenario and builds its model. Errors name the field (`model`,
    /// `periods`, `supply.curvature[3]`, `customers[2].kappa[5]`, `customers[1].jitter`, …).
    ///
    /// ```
    /// use dr_shaping::{competitive_equilibrium, ShapingScenario};
    /// let text = r#"
    ///     model = "shaping"
    ///     periods = 2
    ///     [supply]
    ///     curvature = [0.1, 0.3]
    ///     [[customers]]
    ///     count = 4
    ///     utility = "quadratic"
    ///     theta = [1.0, 2.0]
    ///     kappa = 0.5
    ///     min_energy = 1.0
    ///     jitter = 0.1
    /// "#;
    /// let scenario: ShapingScenario = toml::from_str(text).unwrap();
    /// let model = scenario.to_model()?;
    /// assert_eq!(model.len(), 4);
    /// let eq = competitive_equilibrium(&model)?;
    /// assert!(eq.certificate.holds(1e-9));
    /// // A negative curvature is reported with its field.
    /// let bad: ShapingScenario = toml::from_str(&text.replace("kappa = 0.5", "kappa = -0.5")).unwrap();
    /// assert_eq!(bad.to_model().unwrap_err().field(), "customers[0].kappa[0]");
    /// # Ok::<(), dr_shaping::ShapingError>(())
    /// ```
    pub fn to_model(&self) -> Result<ShapingModel, ShapingError> {
        if let Some(m) = &self.model {
            if m != "shaping" {
                return Err(ShapingError::Input(dr_convex::InputError::Invalid {
                    field: "model".into(),
                    message: format!("expected \"shaping\", got {m:?}"),
                }));
            }
        }
        let periods = self.periods;
        if periods == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "periods".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        // Huge sizes are refused before any allocation that could abort.
        try_vec("periods", periods.saturating_mul(4))?;
        let supply = self.supply.to_supply(periods)?;
        if self.customers.is_empty() {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "customers".into(),
            }));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut customers = Customers::new(periods)?;
        let mut population = 0usize;
        for (k, spec) in self.customers.iter().enumerate() {
            // N itself must be representable (classes of identical customers take one row).
            population =
                population
                    .checked_add(spec.count)
                    .ok_or_else(|| ShapingError::TooLarge {
                        field: format!("customers[{k}].count"),
                        count: spec.count as f64,
                        bytes: u64::MAX,
                    })?;
            let prefix = format!("customers[{k}].");
            let field = if spec.count == 1 {
                "periods".to_string()
            } else {
                format!("{prefix}count")
            };
            // Rows only: a jittered class's customers share its profile
            // (Customers::push_variant), an identical class is one explicit row.
            customers.try_reserve_rows(spec.rows(), &field)?;
            spec.push_class(&mut customers, periods, &mut rng)
                .map_err(|e| {
                    // Errors of `Customers::push_*` name the expanded index: rename it.
                    e.map_field(|f| match f.strip_prefix("customers[") {
                        Some(rest) => match rest.split_once("].") {
                            Some((_, tail)) => format!("{prefix}{tail}"),
                            None => format!("{prefix}{f}"),
                        },
                        None => format!("{prefix}{f}"),
                    })
                })?;
        }
        ShapingModel::new(customers, supply)
    }

    /// An upper bound, in bytes, of the peak memory `dr solve`, `dr simulate` or `dr verify`
    /// need on this scenario, computed from the counts in the file without allocating
    /// (saturating arithmetic). With `N = Σ count`, `T = periods`:
    /// - `BYTES_PER_LOAD` per load variable `q_i(t)` (`N·T` of them): the loads of both
    ///   equilibria (16), the responses' and a market clearing's scratch (32), and the VI
    ///   path's iterates (64: the strategic equilibrium of a non-quadratic supply cost);
    ///   the utility parameters take none: a jittered class's customers share its profile
    ///   (`Customers::push_variant`), and `--json` is streamed, not built in memory
    ///   (measured: `dr solve` of 10⁶ jittered customers over `T = 24` peaks at 0.54 GB
    ///   with `--json`, 0.36 GB without, which keeps no loads; about 23 and 15 bytes per
    ///   load variable all included);
    /// - `BYTES_PER_CLASS_PERIOD` per `[[customers]]` entry and period (its profiles);
    /// - `BYTES_PER_CUSTOMER` per customer (kind, profile start and factors, energy
    ///   bounds, multipliers, gains, per-customer JSON arrays);
    /// - `8·T²·(⌈N/4096⌉ + 8)` for the price Newton's `T × T` matrices (one partial Hessian
    ///   per chunk of 4096 customers, the assembled one and faer's factor);
    /// - `BYTES_PER_TRACE_VALUE` per traced value of `dr simulate` (`(2 + record_loads)·T` per
    ///   round, up to `max_rounds` rounds).
    pub fn memory_estimate(&self) -> u64 {
        let t = self.periods as u64;
        // Rows, not customers: a class of identical customers is stored once.
        let n = self
            .customers
            .iter()
            .fold(0u64, |a, c| a.saturating_add(c.rows() as u64));
        let loads = n.saturating_mul(t);
        let profiles = (self.customers.len() as u64)
            .saturating_mul(t)
            .saturating_mul(BYTES_PER_CLASS_PERIOD);
        let chunks = n.div_ceil(4096).saturating_add(8);
        let sim = self.simulation.clone().unwrap_or_default();
        let recorded = (sim.record_loads as u64).min(n).saturating_add(2);
        let traced = (sim.max_rounds as u64)
            .saturating_add(1)
            .saturating_mul(t.saturating_mul(recorded));
        loads
            .saturating_mul(BYTES_PER_LOAD)
            .saturating_add(n.saturating_mul(BYTES_PER_CUSTOMER))
            .saturating_add(t.saturating_mul(t).saturating_mul(8).saturating_mul(chunks))
            .saturating_add(traced.saturating_mul(BYTES_PER_TRACE_VALUE))
            .saturating_add(t.saturating_mul(BYTES_PER_PERIOD))
            .saturating_add(profiles)
            .saturating_add(1 << 20)
    }

    /// The `[[customers]]` entries as spans of the model's customers, in order (the
    /// population is their expansion), for [`crate::solve_report`].
    pub fn classes(&self) -> Vec<crate::ClassSpan> {
        let mut start = 0usize;
        self.customers
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let span = crate::ClassSpan {
                    name: c.name.clone().unwrap_or_else(|| format!("customers[{k}]")),
                    utility: c.utility.name().into(),
                    start,
                    count: c.count,
                };
                start = start.saturating_add(c.count);
                span
            })
            .collect()
    }

    /// The simulation settings of the scenario (defaults when absent), validated.
    pub fn simulation_settings(&self) -> Result<SimulationSettings, ShapingError> {
        let s = self.simulation.clone().unwrap_or_default();
        s.validate().map_err(|e| e.prefixed("simulation."))?;
        Ok(s)
    }
}

impl CustomerSpec {
    /// True when the class's customers are identical (no jitter, no roll): the model stores
    /// it as one row standing for `count` customers.
    pub fn identical(&self) -> bool {
        self.jitter.unwrap_or(0.0) == 0.0 && self.roll.unwrap_or(0) == 0
    }

    /// Rows the class takes in the model: 1 when its customers are identical, else `count`.
    pub fn rows(&self) -> usize {
        if self.identical() {
            1.min(self.count)
        } else {
            self.count
        }
    }

    fn push_class(
        &self,
        customers: &mut Customers,
        periods: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), ShapingError> {
        if self.count == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "count".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        let jitter = self.jitter.unwrap_or(0.0);
        dr_convex::check_nonnegative(|| "jitter".into(), jitter)?;
        if jitter >= 1.0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "jitter".into(),
                value: jitter,
                requirement: "must be < 1".into(),
            }));
        }
        let roll = self.roll.unwrap_or(0);
        if roll >= periods && roll > 0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "roll".into(),
                value: roll as f64,
                requirement: "must be < periods".into(),
            }));
        }
        let (first, second, names) = match self.utility {
            UtilitySpec::Quadratic => {
                for (f, present) in [("weight", &self.weight), ("shift", &self.shift)] {
                    if present.is_some() {
                        return Err(scenario_err(
                            f.into(),
                            "is a field of utility = \"log\", not \"quadratic\"",
                        ));
                    }
                }
                let theta = self.theta.as_ref().ok_or_else(|| {
                    scenario_err("theta".into(), "missing (utility = \"quadratic\")")
                })?;
                let kappa = self.kappa.as_ref().ok_or_else(|| {
                    scenario_err("kappa".into(), "missing (utility = \"quadratic\")")
                })?;
                (theta, kappa, ("theta", "kappa"))
            }
            UtilitySpec::Log | UtilitySpec::Power => {
                let name = self.utility.name();
                for (f, present) in [("theta", &self.theta), ("kappa", &self.kappa)] {
                    if present.is_some() {
                        return Err(scenario_err(
                            f.into(),
                            &format!("is a field of utility = \"quadratic\", not \"{name}\""),
                        ));
                    }
                }
                let weight = self.weight.as_ref().ok_or_else(|| {
                    scenario_err("weight".into(), &format!("missing (utility = \"{name}\")"))
                })?;
                let shift = self.shift.as_ref().ok_or_else(|| {
                    scenario_err("shift".into(), &format!("missing (utility = \"{name}\")"))
                })?;
                (weight, shift, ("weight", "shift"))
            }
        };
        let alpha = match (self.utility, self.alpha) {
            (UtilitySpec::Power, Some(a)) => a,
            (UtilitySpec::Power, None) => {
                return Err(scenario_err(
                    "alpha".into(),
                    "missing (utility = \"power\")",
                ))
            }
            (other, Some(_)) => {
                return Err(scenario_err(
                    "alpha".into(),
                    &format!(
                        "is a field of utility = \"power\", not \"{}\"",
                        other.name()
                    ),
                ))
            }
            (_, None) => 0.0,
        };
        let a = first.expand(names.0, periods)?;
        let b = second.expand(names.1, periods)?;
        let lo = self.min_energy.unwrap_or(0.0);
        let hi = self.max_energy.unwrap_or(f64::INFINITY);
        let push = |customers: &mut Customers, a: &[f64], b: &[f64], lo: f64, hi: f64| match self
            .utility
        {
            UtilitySpec::Quadratic => customers.push_quadratic(a, b, lo, hi),
            UtilitySpec::Log => customers.push_log(a, b, lo, hi),
            UtilitySpec::Power => customers.push_power(a, b, alpha, lo, hi),
        };
        // Validate the class's base parameters first (errors then name the spec's fields).
        let mut scratch = Customers::new(periods)?;
        push(&mut scratch, &a, &b, lo, hi)?;
        if self.identical() {
            // No jitter, no roll: the class's customers are identical, stored once with
            // their count (exact: Customers::set_count). No random number is drawn, as
            // for such a class before.
            let row = push(customers, &a, &b, lo, hi)?;
            return customers.set_count(row, self.count);
        }
        // The class's profiles are stored once; each customer is a rotation and scaling of
        // them, `a[(t − shift) mod T] · fa`, computed on access (Customers::push_variant).
        let kind = match self.utility {
            UtilitySpec::Quadratic => UtilityKind::Quadratic,
            UtilitySpec::Log => UtilityKind::Log,
            UtilitySpec::Power => UtilityKind::Power,
        };
        let profile = customers.add_class_profile(kind, &a, &b, alpha)?;
        for _ in 0..self.count {
            let (fa, fb, fe) = if jitter > 0.0 {
                (
                    rng.gen_range(1.0 - jitter..=1.0 + jitter),
                    rng.gen_range(1.0 - jitter..=1.0 + jitter),
                    rng.gen_range(1.0 - jitter..=1.0 + jitter),
                )
            } else {
                (1.0, 1.0, 1.0)
            };
            let shift = if roll > 0 {
                rng.gen_range(-(roll as i64)..=roll as i64)
            } else {
                0
            };
            let variant = Variant {
                first_factor: fa,
                second_factor: fb,
                shift,
            };
            customers.push_variant(profile, variant, lo * fe, hi * fe)?;
        }
        Ok(())
    }
}
