//! Scenario files (TOML or JSON) for the `dr` command: serde types with
//! `deny_unknown_fields` and a validating conversion whose errors name the field.
//!
//! ```toml
//! model = "stackelberg"
//! periods = 2
//!
//! [[companies]]
//! supply = [1900.0, 1800.0]        # G_k(t) per period; or `total = 3700.0` (allocation game)
//! # price_min = 0.05               # Remark 3
//! # price_max = 0.5
//! # with `total`: generation_cost = { linear = 0.0, quadratic = 1e-5 },
//! #               min_generation, max_generation, ramp_limit (number or per period)
//!
//! [[consumers]]                    # a class of identical consumers
//! count = 2000
//! budget = 7.55                    # or budget = "minimum" with reference_prices = [..]
//! energy_need = 1.5
//! # zeta = 1.0, gamma = 1.0        # eq. 3
//! # weights = { gamma = [..], zeta = [..] }   # eq. 28, K·T values (flat or [k][t])
//! # General consumers (§IX-A, §III; solved numerically, see `crate::general`):
//! # utility = "power"              # "log" (eq. 3, default) | "power" | "satiating"
//! # exponent = 0.5                 # α ∈ (0, 1) of utility = "power": γ (ζ + d)^α
//! # satiation = 2.0                # s > 0 of utility = "satiating": γ (d − d²/(2s)), d ≤ s
//! # min_demand = [0.0, 0.5]        # per period (number or T values), each company's entry
//! # max_demand = [5.0, 0.0]        # 0 = takes no part in that period
//! # fixed_demand = [1.0, 1.0]      # non-shiftable demand: min = max (exclusive with both)
//!
//! # [[network]]                    # Σ coefficient · G_company(period) ≤ rhs (Theorem 6)
//! # rhs = 3000.0
//! # terms = [{ company = 0, period = 0, coefficient = 1.0 }]
//!
//! # [simulation]                   # distributed algorithm (eq. 21)
//! # rule = "paper"                 # or "secant", "steffensen"
//! # delta = 0.0
//! # order = "sequential"          # eq. 21's update order (§VI): "sequential" (companies one
//! #                                # after another, Gauss–Seidel; default for rule "paper") or
//! #                                # "simultaneous" (all at once, Jacobi; default otherwise)
//! # max_rounds = 1000
//! # tolerance = 1e-9
//! # initial_price = 0.3
//! ```
//!
//! A class with `utility` other than `"log"`, or with `min_demand`, `max_demand` or
//! `fixed_demand`, makes the scenario *general*: [`Scenario::build_general`] builds a
//! [`GeneralMarket`] and `dr solve` computes the clearing prices numerically with a
//! certificate (consumer KKT residuals, clearing) and Theorem 2 checked by unilateral
//! deviations. The paper's closed forms then no longer apply (eqs. 10, 11, 13–15, Theorems
//! 1–4 and 6, see `crate::general`): such scenarios take `supply` (no `total`, `network`),
//! an amount as `budget` (no `"minimum"`), no `weights`; [`Scenario::build`] (the log-utility
//! market of the facade's LP cross-check) rejects them, naming the class; `dr verify` checks
//! them class by class ([`crate::general_consumer_problem`]) and `dr simulate` runs eq. 21
//! with their numerical best responses ([`crate::DistributedPricing::new_general`]).
//!
//! The paper's own settings of Figs. 5 and 7 (`delta = 1000` or `10000` with
//! `initial_price = 5` on the EcoGrid classes at `periods = 1`; `delta = 100` or `1000` with
//! `initial_price = 0.5` on the Dutch pilot) are also ready-made studies:
//! [`crate::studies::ecogrid_fig5`] and [`crate::studies::dutch_pilot_fig7`]
//! (`dr study ecogrid-fig5 | dutch-pilot-fig7`), which print the paper's claims about those
//! figures with a verdict each.

use crate::allocation::{
    AllocatingCompany, AllocationEquilibrium, AllocationGame, AllocationSettings, CompanyStrategy,
    GenerationCost, NetworkConstraint,
};
use crate::consumer::minimum_budget;
use crate::distributed::{
    simulate, DistributedRun, DistributedSettings, InitialPrices, PriceUpdate, UpdateOrder,
};
use crate::equilibrium::{solve_equilibrium, Equilibrium, EquilibriumSettings};
use crate::error::StackelbergError;
use crate::general::{GeneralClass, GeneralMarket, UtilityFamily};
use crate::model::{Company, ConsumerClasses, Market, Preferences, SpecificPreferences, Weights};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The model tag: `model = "stackelberg"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelName {
    /// This crate's model.
    #[serde(rename = "stackelberg")]
    Stackelberg,
}

/// A number, or one number per period.
///
/// Deserialised by hand (not `#[serde(untagged)]`) so that a wrong value reads "expected a
/// number or an array of T numbers" with the field's path, instead of serde's "data did
/// not match any variant of untagged enum".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// The same value every period.
    One(f64),
    /// One value per period.
    Many(Vec<f64>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or an array of T numbers (one per period)")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v as f64))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<Number>()? {
                    out.push(x.0);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One number (an element of a per-period array), with a plain message when it is not.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<f64> {
        match self {
            OneOrMany::One(v) => vec![*v],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A `K × T` table given flat (company-major, `K · T` values) or nested (`[k][t]`).
///
/// Deserialised by hand: a wrong value reads "expected an array of K·T numbers or K arrays
/// of T numbers" with the field's path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PriceTable {
    /// `K · T` values, entry `k · T + t`.
    Flat(Vec<f64>),
    /// `[k][t]`.
    Nested(Vec<Vec<f64>>),
}

impl<'de> Deserialize<'de> for PriceTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PriceTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of K·T numbers or K arrays of T numbers")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PriceTable, A::Error> {
                let mut flat = Vec::new();
                let mut nested = Vec::new();
                while let Some(x) = seq.next_element::<OneOrMany>()? {
                    match x {
                        OneOrMany::One(v) => flat.push(v),
                        OneOrMany::Many(r) => nested.push(r),
                    }
                }
                match (flat.is_empty(), nested.is_empty()) {
                    (_, true) => Ok(PriceTable::Flat(flat)),
                    (true, false) => Ok(PriceTable::Nested(nested)),
                    (false, false) => Err(de::Error::custom(
                        "mixes numbers and arrays: expected an array of K·T numbers or K arrays \
                         of T numbers",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl PriceTable {
    fn flatten(
        &self,
        field: &str,
        companies: usize,
        periods: usize,
    ) -> Result<Vec<f64>, StackelbergError> {
        match self {
            PriceTable::Flat(v) => {
                dr_convex::check_len(|| field.to_string(), companies * periods, v.len())?;
                Ok(v.clone())
            }
            PriceTable::Nested(rows) => {
                dr_convex::check_len(|| field.to_string(), companies, rows.len())?;
                for (k, r) in rows.iter().enumerate() {
                    dr_convex::check_len(|| format!("{field}[{k}]"), periods, r.len())?;
                }
                Ok(rows.iter().flatten().copied().collect())
            }
        }
    }
}

/// A budget: an amount, or `"minimum"` (Theorem 1 at the class's `reference_prices`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetSpec {
    /// `B_n`.
    Amount(f64),
    /// The minimum budget of Theorem 1 (eq. 11) at the reference prices.
    Minimum,
}

impl Serialize for BudgetSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BudgetSpec::Amount(v) => s.serialize_f64(*v),
            BudgetSpec::Minimum => s.serialize_str("minimum"),
        }
    }
}

impl<'de> Deserialize<'de> for BudgetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = BudgetSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a budget amount or \"minimum\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<BudgetSpec, E> {
                Ok(BudgetSpec::Amount(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BudgetSpec, E> {
                Ok(BudgetSpec::Amount(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BudgetSpec, E> {
                Ok(BudgetSpec::Amount(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BudgetSpec, E> {
                if v == "minimum" {
                    Ok(BudgetSpec::Minimum)
                } else {
                    Err(E::invalid_value(Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Generation cost `a q + h q²` (eq. 20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// `a` (number or per period), default 0.
    #[serde(default)]
    pub linear: Option<OneOrMany>,
    /// `h` (number or per period), default 0.
    #[serde(default)]
    pub quadratic: Option<OneOrMany>,
}

/// One `[[companies]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CompanySpec {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `G_k(t)` per period (exclusive with `total`).
    #[serde(default)]
    pub supply: Option<Vec<f64>>,
    /// Total power `G_k`, split by the power allocation game (Theorem 3 / eq. 20).
    #[serde(default)]
    pub total: Option<f64>,
    /// `p_min` (Remark 3).
    #[serde(default)]
    pub price_min: Option<f64>,
    /// `p_max` (Remark 3).
    #[serde(default)]
    pub price_max: Option<f64>,
    /// Generation cost (with `total`).
    #[serde(default)]
    pub generation_cost: Option<CostSpec>,
    /// Minimum generation per period (with `total`).
    #[serde(default)]
    pub min_generation: Option<OneOrMany>,
    /// Maximum generation per period (with `total`).
    #[serde(default)]
    pub max_generation: Option<OneOrMany>,
    /// Ramping limit `|G(t) − G(t−1)|` (with `total`; number or `T − 1` values).
    #[serde(default)]
    pub ramp_limit: Option<OneOrMany>,
}

/// Time/company-specific utility weights (eq. 28).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsSpec {
    /// `γ_{k,t}` (default: the class's `gamma`).
    #[serde(default)]
    pub gamma: Option<PriceTable>,
    /// `ζ_{k,t}` (default: the class's `zeta`).
    #[serde(default)]
    pub zeta: Option<PriceTable>,
}

fn one() -> f64 {
    1.0
}

/// One `[[consumers]]` entry: a class of identical consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Number of consumers (default 1).
    #[serde(default = "one")]
    pub count: f64,
    /// Budget per consumer, or `"minimum"`.
    pub budget: BudgetSpec,
    /// Energy need per consumer (default 0).
    #[serde(default)]
    pub energy_need: f64,
    /// `ζ` (default 1).
    #[serde(default = "one")]
    pub zeta: f64,
    /// `γ` (default 1).
    #[serde(default = "one")]
    pub gamma: f64,
    /// Prices at which `budget = "minimum"` is evaluated (`K · T` values or `[k][t]`).
    #[serde(default)]
    pub reference_prices: Option<PriceTable>,
    /// Eq. 28 weights.
    #[serde(default)]
    pub weights: Option<WeightsSpec>,
    /// Utility family (§IX-A): `"log"` (eq. 3, the default), `"power"` (with `exponent`)
    /// or `"satiating"` (with `satiation`).
    #[serde(default)]
    pub utility: Option<UtilityName>,
    /// `α ∈ (0, 1)` of `utility = "power"`: `γ (ζ + d)^α`.
    #[serde(default)]
    pub exponent: Option<f64>,
    /// `s > 0` of `utility = "satiating"`: `γ (d − d²/(2 s))` up to `d = s`.
    #[serde(default)]
    pub satiation: Option<f64>,
    /// Lower demand bound per period (number or `T` values), for each company's entry.
    #[serde(default)]
    pub min_demand: Option<OneOrMany>,
    /// Upper demand bound per period (number or `T` values; 0 = absent that period).
    #[serde(default)]
    pub max_demand: Option<OneOrMany>,
    /// Non-shiftable demand per period (number or `T` values): `min = max` (§III).
    #[serde(default)]
    pub fixed_demand: Option<OneOrMany>,
}

/// The utility families a scenario may name (see [`UtilityFamily`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UtilityName {
    /// `γ ln(ζ + d)` (eq. 3).
    Log,
    /// `γ (ζ + d)^α`.
    Power,
    /// `γ (d − d²/(2 s))`, satiation at `s`.
    Satiating,
}

impl ConsumerSpec {
    /// True when this class needs the general solver ([`crate::solve_general_equilibrium`]):
    /// a non-log utility or demand bounds.
    pub fn is_general(&self) -> bool {
        !matches!(self.utility, None | Some(UtilityName::Log))
            || self.exponent.is_some()
            || self.satiation.is_some()
            || self.min_demand.is_some()
            || self.max_demand.is_some()
            || self.fixed_demand.is_some()
    }
}

/// One term of a network row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkTermSpec {
    /// Company index.
    pub company: usize,
    /// Period index.
    pub period: usize,
    /// Coefficient.
    pub coefficient: f64,
}

/// One `[[network]]` row: `Σ coefficient · G_company(period) ≤ rhs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Terms.
    pub terms: Vec<NetworkTermSpec>,
    /// Right-hand side.
    pub rhs: f64,
}

/// The price rule of a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleName {
    /// Eq. 21.
    #[default]
    Paper,
    /// The secant rule.
    Secant,
    /// Steffensen's acceleration of eq. 21.
    Steffensen,
}

/// The `[simulation]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SimulationSpec {
    /// `"paper"` (eq. 21), `"secant"` or `"steffensen"`.
    #[serde(default)]
    pub rule: RuleName,
    /// `δ` of eq. 21 (default 0).
    #[serde(default)]
    pub delta: f64,
    /// `"sequential"` or `"simultaneous"` ([`UpdateOrder`]; default: the rule's own,
    /// sequential for `"paper"` as in §VI).
    #[serde(default)]
    pub order: Option<UpdateOrder>,
    /// Most rounds.
    #[serde(default)]
    pub max_rounds: Option<usize>,
    /// Convergence tolerance.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Starting price (default `B / Σ G`).
    #[serde(default)]
    pub initial_price: Option<f64>,
    /// Record every round's prices.
    #[serde(default)]
    pub record_prices: bool,
}

/// A Stackelberg scenario (see the module docs for the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// `"stackelberg"`.
    pub model: ModelName,
    /// `T`.
    pub periods: usize,
    /// The companies.
    pub companies: Vec<CompanySpec>,
    /// The consumer classes.
    pub consumers: Vec<ConsumerSpec>,
    /// Network rows (Theorem 6; need companies with `total`).
    #[serde(default)]
    pub network: Vec<NetworkSpec>,
    /// Simulation settings.
    #[serde(default)]
    pub simulation: Option<SimulationSpec>,
}

/// A validated scenario: the market (after the allocation game, if any) and the names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioModel {
    /// The Stackelberg market.
    pub market: Market,
    /// The allocation game's equilibrium, when some company gave a `total`.
    pub allocation: Option<AllocationEquilibrium>,
    /// Company names (default `company k`).
    pub company_names: Vec<String>,
    /// Class names (default `class n`).
    pub consumer_names: Vec<String>,
    /// Budgets actually used (after `"minimum"`).
    pub budgets: Vec<f64>,
    /// Simulation settings (defaults when no `[simulation]`).
    pub simulation: DistributedSettings,
}

/// A validated scenario with general consumers ([`Scenario::build_general`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneralScenarioModel {
    /// The market.
    pub market: GeneralMarket,
    /// Settings of eq. 21 from `[simulation]` (defaults when absent).
    pub simulation: DistributedSettings,
    /// Company names (default `company k`).
    pub company_names: Vec<String>,
    /// Class names (default `class n`).
    pub consumer_names: Vec<String>,
}

/// The result of [`Scenario::solve`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioSolution {
    /// Company names.
    pub company_names: Vec<String>,
    /// Class names.
    pub consumer_names: Vec<String>,
    /// The allocation game's equilibrium, when played.
    pub allocation: Option<AllocationEquilibrium>,
    /// The Stackelberg equilibrium.
    pub equilibrium: Equilibrium,
}

/// The result of [`Scenario::simulate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioSimulation {
    /// Company names.
    pub company_names: Vec<String>,
    /// The run.
    pub run: DistributedRun,
    /// The exact equilibrium prices `[k][t]`.
    pub equilibrium_prices: Vec<Vec<f64>>,
    /// `max |p_run − p_eq| / p_eq`.
    pub max_price_error: f64,
}

fn invalid(field: String, message: &str) -> StackelbergError {
    StackelbergError::Input(dr_convex::InputError::Invalid {
        field,
        message: message.to_string(),
    })
}

/// The largest number of `(company, period)` entries `K · T` a scenario or allocation game
/// may have (`2^26`, about 67 million): beyond it every working vector would take more than
/// half a gigabyte and the dense Newton step could not run; such inputs are rejected with a
/// typed error instead of an allocation failure.
pub const MAX_ENTRIES: usize = 1 << 26;

pub(crate) fn check_entries(companies: usize, periods: usize) -> Result<(), StackelbergError> {
    let kt = companies.saturating_mul(periods);
    if kt > MAX_ENTRIES {
        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
            field: "periods".into(),
            value: periods as f64,
            requirement: "companies × periods must be at most 2^26 = 67108864".into(),
        }));
    }
    Ok(())
}

/// Bytes per `(company, period)` entry of [`Scenario::memory_estimate`]: about 40 `f64`
/// working vectors of the solvers (prices, supplies, bounds, aggregates, Newton steps, the
/// distributed run) plus about ten `[k][t]` tables in the output, each number costing up to
/// 64 bytes as JSON value and text.
pub const MEMORY_PER_ENTRY: u64 = 40 * 8 + 10 * 64;
/// Bytes per entry squared, for at most [`crate::equilibrium::DENSE_NEWTON_LIMIT`] entries:
/// the dense Newton Jacobian, its factor and the dense faer cross-check of system (13)
/// (four `K T × K T` matrices of `f64`).
pub const MEMORY_PER_ENTRY_PAIR: u64 = 4 * 8;
/// Bytes per (class, entry) pair: the per-class demand and received-allocation tables
/// (`f64` each) and their JSON/text output (64 bytes per number), plus eq. 28 weights.
pub const MEMORY_PER_CLASS_ENTRY: u64 = 2 * 8 + 2 * 64 + 2 * 8;
/// Bytes per consumer class independent of `K T`: about 30 numbers in the struct-of-arrays,
/// the per-class results and their output, and its name.
pub const MEMORY_PER_CLASS: u64 = 512;
/// Bytes per (allocating company, period) of the power allocation game: the kernel's
/// allocator or interior-point working vectors (sparse normal equations).
pub const MEMORY_PER_ALLOCATION_ENTRY: u64 = 100 * 8;
/// Fixed overhead of a solve (code, small buffers).
pub const MEMORY_BASE: u64 = 1 << 20;

impl Scenario {
    /// Each company's name as written, else `company k` (for reports and tables).
    fn company_names(&self) -> Vec<String> {
        self.companies
            .iter()
            .enumerate()
            .map(|(k, c)| c.name.clone().unwrap_or_else(|| format!("company {k}")))
            .collect()
    }

    /// Each consumer class's name as written, else `class i`.
    fn consumer_names(&self) -> Vec<String> {
        self.consumers
            .iter()
            .enumerate()
            .map(|(i, c)| c.name.clone().unwrap_or_else(|| format!("class {i}")))
            .collect()
    }

    /// An upper bound, in bytes, of the peak memory `dr solve`, `dr simulate` and
    /// `dr verify` need on this scenario, from its counts (`K` companies, `T` periods, `N`
    /// classes) without allocating anything: `MEMORY_BASE` +
    /// `K T ·` `MEMORY_PER_ENTRY` + `min(K T, 4096)² ·` `MEMORY_PER_ENTRY_PAIR` +
    /// `N K T ·` `MEMORY_PER_CLASS_ENTRY` + `N ·` `MEMORY_PER_CLASS` +
    /// `K T ·` `MEMORY_PER_ALLOCATION_ENTRY` (saturating arithmetic).
    ///
    /// A class's `count` is a population weight and costs nothing: a class of `10^12`
    /// consumers needs the memory of one.
    pub fn memory_estimate(&self) -> u64 {
        let k = self.companies.len() as u64;
        let t = self.periods as u64;
        let n = self.consumers.len() as u64;
        let kt = k.saturating_mul(t);
        let dense = kt.min(crate::equilibrium::DENSE_NEWTON_LIMIT as u64);
        MEMORY_BASE
            .saturating_add(kt.saturating_mul(MEMORY_PER_ENTRY))
            .saturating_add(
                dense
                    .saturating_mul(dense)
                    .saturating_mul(MEMORY_PER_ENTRY_PAIR),
            )
            .saturating_add(n.saturating_mul(kt).saturating_mul(MEMORY_PER_CLASS_ENTRY))
            .saturating_add(n.saturating_mul(MEMORY_PER_CLASS))
            .saturating_add(kt.saturating_mul(MEMORY_PER_ALLOCATION_ENTRY))
    }

    /// Validates the scenario and builds the market: resolves `budget = "minimum"`
    /// (Theorem 1 at `reference_prices`), plays the power allocation game for companies
    /// with `total` (Theorem 3, eq. 20, Theorem 6), applies price bounds.
    ///
    /// Errors name the field, e.g. `companies[1]: give exactly one of supply and total`,
    /// `consumers[0].reference_prices: required with budget = "minimum"`.
    pub fn build(&self) -> Result<ScenarioModel, StackelbergError> {
        if let Some(i) = self.consumers.iter().position(ConsumerSpec::is_general) {
            return Err(invalid(
                format!("consumers[{i}]"),
                "a non-log utility or demand bounds need the general solver \
                 (Scenario::build_general, `dr solve`); the paper's closed forms (eqs. 10-14), \
                 the power allocation game and eq. 21 assume log utilities without bounds",
            ));
        }
        let t_n = self.periods;
        if t_n == 0 {
            return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                field: "periods".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        let k_n = self.companies.len();
        if k_n == 0 {
            return Err(StackelbergError::Input(dr_convex::InputError::Empty {
                field: "companies".into(),
            }));
        }
        check_entries(k_n, t_n)?;
        // Per-period lists must have T entries: checked before anything of length T is
        // allocated (a ten-line file with `periods = 1e9` is an error, not an abort).
        for (k, c) in self.companies.iter().enumerate() {
            if let Some(s) = &c.supply {
                dr_convex::check_len(|| format!("companies[{k}].supply"), t_n, s.len())?;
            }
        }
        if self.consumers.is_empty() {
            return Err(StackelbergError::Input(dr_convex::InputError::Empty {
                field: "consumers".into(),
            }));
        }
        // Consumers.
        let mut classes = ConsumerClasses::default();
        let mut budgets = Vec::with_capacity(self.consumers.len());
        for (i, c) in self.consumers.iter().enumerate() {
            let specific = match &c.weights {
                Some(w) => Some(SpecificPreferences {
                    gamma: match &w.gamma {
                        Some(t) => t.flatten(&format!("consumers[{i}].weights.gamma"), k_n, t_n)?,
                        None => vec![c.gamma; k_n * t_n],
                    },
                    zeta: match &w.zeta {
                        Some(t) => t.flatten(&format!("consumers[{i}].weights.zeta"), k_n, t_n)?,
                        None => vec![c.zeta; k_n * t_n],
                    },
                }),
                None => None,
            };
            let budget = match c.budget {
                BudgetSpec::Amount(b) => {
                    if c.reference_prices.is_some() {
                        return Err(invalid(
                            format!("consumers[{i}].reference_prices"),
                            "only used with budget = \"minimum\"",
                        ));
                    }
                    b
                }
                BudgetSpec::Minimum => {
                    let field = format!("consumers[{i}].reference_prices");
                    let table = c.reference_prices.as_ref().ok_or_else(|| {
                        invalid(field.clone(), "required with budget = \"minimum\"")
                    })?;
                    let prices = table.flatten(&field, k_n, t_n)?;
                    let prefs = match &specific {
                        Some(s) => Preferences {
                            gamma: Weights::PerEntry(&s.gamma),
                            zeta: Weights::PerEntry(&s.zeta),
                        },
                        None => Preferences::uniform(c.gamma, c.zeta),
                    };
                    let b = minimum_budget(&prices, c.energy_need, prefs).map_err(|e| match e {
                        StackelbergError::Input(dr_convex::InputError::NotFinite {
                            field: f,
                            value,
                        }) => StackelbergError::Input(dr_convex::InputError::NotFinite {
                            field: format!("consumers[{i}].{f}"),
                            value,
                        }),
                        StackelbergError::Input(dr_convex::InputError::OutOfRange {
                            field: f,
                            value,
                            requirement,
                        }) => StackelbergError::Input(dr_convex::InputError::OutOfRange {
                            field: format!(
                                "consumers[{i}].{}",
                                f.replace("prices", "reference_prices")
                            ),
                            value,
                            requirement,
                        }),
                        other => other,
                    })?;
                    if b <= 0.0 {
                        return Err(invalid(
                            format!("consumers[{i}].budget"),
                            "\"minimum\" gives 0 (energy_need = 0): give an amount",
                        ));
                    }
                    b
                }
            };
            // A class in a file counts consumers: a whole number (the library's
            // `ConsumerClasses::count` is a population weight, a mass, and may be fractional).
            if c.count.is_finite() && c.count.fract() != 0.0 {
                return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("consumers[{i}].count"),
                    value: c.count,
                    requirement: "must be a whole number of consumers".into(),
                }));
            }
            budgets.push(budget);
            classes.count.push(c.count);
            classes.budget.push(budget);
            classes.energy_need.push(c.energy_need);
            classes.zeta.push(c.zeta);
            classes.gamma.push(c.gamma);
            if let Some(s) = specific {
                classes.specific.push((i, s));
            }
        }
        // Companies.
        let mut strategies = Vec::with_capacity(k_n);
        let mut any_total = false;
        for (k, c) in self.companies.iter().enumerate() {
            let allocation_fields = c.generation_cost.is_some()
                || c.min_generation.is_some()
                || c.max_generation.is_some()
                || c.ramp_limit.is_some();
            match (&c.supply, c.total) {
                (Some(s), None) => {
                    if allocation_fields {
                        return Err(invalid(
                            format!("companies[{k}]"),
                            "generation_cost, min_generation, max_generation and ramp_limit need `total` (the allocation game), not `supply`",
                        ));
                    }
                    strategies.push(CompanyStrategy::Fixed(s.clone()));
                }
                (None, Some(total)) => {
                    any_total = true;
                    let cost = c.generation_cost.as_ref().map(|cs| GenerationCost {
                        linear: cs.linear.as_ref().map_or(vec![0.0], OneOrMany::to_vec),
                        quadratic: cs.quadratic.as_ref().map_or(vec![0.0], OneOrMany::to_vec),
                    });
                    strategies.push(CompanyStrategy::Allocate(AllocatingCompany {
                        total,
                        cost,
                        min_generation: c
                            .min_generation
                            .as_ref()
                            .map_or(Vec::new(), OneOrMany::to_vec),
                        max_generation: c
                            .max_generation
                            .as_ref()
                            .map_or(Vec::new(), OneOrMany::to_vec),
                        ramp_limit: c.ramp_limit.as_ref().map_or(Vec::new(), OneOrMany::to_vec),
                    }));
                }
                _ => {
                    return Err(invalid(
                        format!("companies[{k}]"),
                        "give exactly one of `supply` (per period) and `total`",
                    ))
                }
            }
        }
        if !self.network.is_empty() && !any_total {
            return Err(invalid(
                "network".into(),
                "network constraints act on the allocation game: give companies a `total`",
            ));
        }
        let (supply, allocation) = if any_total {
            if !classes.specific.is_empty() {
                return Err(invalid(
                    "consumers.weights".into(),
                    "the power allocation game (eq. 17) needs uniform utility weights",
                ));
            }
            let b: f64 = (0..classes.len())
                .map(|i| classes.count[i] * classes.budget[i])
                .sum();
            let z: f64 = (0..classes.len())
                .map(|i| classes.count[i] * classes.zeta[i])
                .sum();
            let network = self
                .network
                .iter()
                .map(|r| NetworkConstraint {
                    terms: r
                        .terms
                        .iter()
                        .map(|t| (t.company, t.period, t.coefficient))
                        .collect(),
                    rhs: r.rhs,
                })
                .collect();
            // Validate the consumers first so their errors come before the game's.
            Market::new(
                t_n,
                vec![Company::new(vec![1.0; t_n]); k_n],
                classes.clone(),
            )?;
            if z <= 0.0 {
                return Err(invalid(
                    "consumers.zeta".into(),
                    "the power allocation game (eq. 17) needs Σ count · zeta > 0 (with every \
                     zeta = 0 each allocation earns the same share B / K): give some class a \
                     positive zeta",
                ));
            }
            let game = AllocationGame::new(t_n, strategies, b, z, network)?;
            let eq = game.solve(&AllocationSettings::default())?;
            (eq.supply.clone(), Some(eq))
        } else {
            let supply = strategies
                .into_iter()
                .map(|s| match s {
                    CompanyStrategy::Fixed(v) => v,
                    CompanyStrategy::Allocate(_) => Vec::new(),
                })
                .collect();
            (supply, None)
        };
        let companies = self
            .companies
            .iter()
            .zip(supply)
            .map(|(c, s)| {
                Company::new(s).with_price_bounds(
                    c.price_min.unwrap_or(0.0),
                    c.price_max.unwrap_or(f64::INFINITY),
                )
            })
            .collect();
        let market = Market::new(t_n, companies, classes)?;
        let simulation = self.simulation_settings()?;
        Ok(ScenarioModel {
            market,
            allocation,
            company_names: self.company_names(),
            consumer_names: self.consumer_names(),
            budgets,
            simulation,
        })
    }

    /// The `[simulation]` table as settings of eq. 21 (defaults when absent), validated.
    fn simulation_settings(&self) -> Result<DistributedSettings, StackelbergError> {
        Ok(match &self.simulation {
            None => DistributedSettings::default(),
            Some(s) => {
                if let Some(tol) = s.tolerance {
                    if !(tol.is_finite() && tol > 0.0) {
                        return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                            field: "simulation.tolerance".into(),
                            value: tol,
                            requirement: "must be finite and > 0".into(),
                        }));
                    }
                }
                dr_convex::check_finite(|| "simulation.delta".into(), s.delta)?;
                if let Some(p) = s.initial_price {
                    dr_convex::check_positive(|| "simulation.initial_price".into(), p)?;
                }
                if s.max_rounds == Some(0) {
                    return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                        field: "simulation.max_rounds".into(),
                        value: 0.0,
                        requirement: "must be >= 1".into(),
                    }));
                }
                let d = DistributedSettings::default();
                DistributedSettings {
                    update: match s.rule {
                        RuleName::Paper => PriceUpdate::Paper { delta: s.delta },
                        RuleName::Secant => PriceUpdate::Secant,
                        RuleName::Steffensen => PriceUpdate::Steffensen,
                    },
                    initial: s
                        .initial_price
                        .map_or(InitialPrices::Auto, InitialPrices::Uniform),
                    max_rounds: s.max_rounds.unwrap_or(d.max_rounds),
                    tolerance: s.tolerance.unwrap_or(d.tolerance),
                    order: s.order,
                    record_prices: s.record_prices,
                    ..d
                }
            }
        })
    }

    /// True when some class has a non-log utility or demand bounds (the general solver).
    pub fn is_general(&self) -> bool {
        self.consumers.iter().any(ConsumerSpec::is_general)
    }

    /// Validates a scenario with general consumers (§IX-A: `utility`, `exponent`,
    /// `satiation`; §III: `min_demand`, `max_demand`, `fixed_demand`) and builds its
    /// [`GeneralMarket`]. Companies give `supply` (the allocation game, `network`, eq. 28
    /// `weights` and `budget = "minimum"` assume the paper's log consumers and are rejected
    /// with the field named).
    pub fn build_general(&self) -> Result<GeneralScenarioModel, StackelbergError> {
        let t_n = self.periods;
        if t_n == 0 {
            return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                field: "periods".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        let k_n = self.companies.len();
        if k_n.saturating_mul(t_n) > crate::general::GENERAL_MAX_ENTRIES {
            return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                field: "periods".into(),
                value: t_n as f64,
                requirement: format!(
                    "companies × periods must be at most {} with general consumers (the \
                     numerical price solve is dense)",
                    crate::general::GENERAL_MAX_ENTRIES
                )
                .into(),
            }));
        }
        if !self.network.is_empty() {
            return Err(invalid(
                "network".into(),
                "network constraints act on the power allocation game, which needs log \
                 consumers without demand bounds (eq. 17)",
            ));
        }
        let mut companies = Vec::with_capacity(k_n);
        for (k, c) in self.companies.iter().enumerate() {
            let supply = match (&c.supply, c.total) {
                (Some(s), None) => s.clone(),
                _ => {
                    return Err(invalid(
                        format!("companies[{k}]"),
                        "give `supply` per period: the power allocation game (`total`, \
                         Theorem 3) is derived from eq. 14, which needs log consumers without \
                         demand bounds",
                    ))
                }
            };
            if c.generation_cost.is_some()
                || c.min_generation.is_some()
                || c.max_generation.is_some()
                || c.ramp_limit.is_some()
            {
                return Err(invalid(
                    format!("companies[{k}]"),
                    "generation_cost, min_generation, max_generation and ramp_limit need `total`",
                ));
            }
            companies.push(Company::new(supply).with_price_bounds(
                c.price_min.unwrap_or(0.0),
                c.price_max.unwrap_or(f64::INFINITY),
            ));
        }
        let per_period = |field: String, v: &OneOrMany| -> Result<Vec<f64>, StackelbergError> {
            let per_t = match v {
                OneOrMany::One(x) => vec![*x; t_n],
                OneOrMany::Many(xs) => {
                    dr_convex::check_len(|| field.clone(), t_n, xs.len())?;
                    xs.clone()
                }
            };
            Ok((0..k_n).flat_map(|_| per_t.iter().copied()).collect())
        };
        let mut classes = Vec::with_capacity(self.consumers.len());
        for (i, c) in self.consumers.iter().enumerate() {
            let field = |f: &str| format!("consumers[{i}].{f}");
            if c.weights.is_some() {
                return Err(invalid(
                    field("weights"),
                    "eq. 28 weights are for log consumers; give gamma and zeta per class",
                ));
            }
            let budget = match c.budget {
                BudgetSpec::Amount(b) => b,
                BudgetSpec::Minimum => {
                    return Err(invalid(
                        field("budget"),
                        "\"minimum\" is Theorem 1 (eq. 11), for log consumers without bounds: \
                         give an amount",
                    ))
                }
            };
            if c.reference_prices.is_some() {
                return Err(invalid(
                    field("reference_prices"),
                    "only used with budget = \"minimum\"",
                ));
            }
            if c.count.is_finite() && c.count.fract() != 0.0 {
                return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                    field: field("count"),
                    value: c.count,
                    requirement: "must be a whole number of consumers".into(),
                }));
            }
            let utility = match (
                c.utility.unwrap_or(UtilityName::Log),
                c.exponent,
                c.satiation,
            ) {
                (UtilityName::Log, None, None) => UtilityFamily::Log,
                (UtilityName::Power, Some(a), None) => UtilityFamily::Power { exponent: a },
                (UtilityName::Satiating, None, Some(s)) => {
                    UtilityFamily::Satiating { satiation: s }
                }
                (UtilityName::Power, None, _) => {
                    return Err(invalid(
                        field("exponent"),
                        "required with utility = \"power\"",
                    ))
                }
                (UtilityName::Satiating, _, None) => {
                    return Err(invalid(
                        field("satiation"),
                        "required with utility = \"satiating\"",
                    ))
                }
                (_, Some(_), _) => {
                    return Err(invalid(
                        field("exponent"),
                        "only used with utility = \"power\"",
                    ))
                }
                (_, _, Some(_)) => {
                    return Err(invalid(
                        field("satiation"),
                        "only used with utility = \"satiating\"",
                    ))
                }
            };
            let (min_demand, max_demand) = match (&c.fixed_demand, &c.min_demand, &c.max_demand) {
                (Some(f), None, None) => {
                    let v = per_period(field("fixed_demand"), f)?;
                    (v.clone(), v)
                }
                (Some(_), _, _) => {
                    return Err(invalid(
                        field("fixed_demand"),
                        "give either fixed_demand or min_demand/max_demand",
                    ))
                }
                (None, lo, hi) => (
                    match lo {
                        Some(v) => per_period(field("min_demand"), v)?,
                        None => vec![0.0; k_n * t_n],
                    },
                    match hi {
                        Some(v) => per_period(field("max_demand"), v)?,
                        None => vec![f64::INFINITY; k_n * t_n],
                    },
                ),
            };
            classes.push(GeneralClass {
                count: c.count,
                budget,
                energy_need: c.energy_need,
                gamma: c.gamma,
                zeta: c.zeta,
                utility,
                min_demand,
                max_demand,
            });
        }
        let market = GeneralMarket::new(t_n, companies, classes)?;
        let simulation = self.simulation_settings()?;
        Ok(GeneralScenarioModel {
            market,
            simulation,
            company_names: self.company_names(),
            consumer_names: self.consumer_names(),
        })
    }

    /// Builds and solves the Stackelberg equilibrium.
    pub fn solve(
        &self,
        settings: &EquilibriumSettings,
    ) -> Result<ScenarioSolution, StackelbergError> {
        let model = self.build()?;
        let equilibrium = solve_equilibrium(&model.market, settings)?;
        Ok(ScenarioSolution {
            company_names: model.company_names,
            consumer_names: model.consumer_names,
            allocation: model.allocation,
            equilibrium,
        })
    }

    /// Builds and runs the distributed algorithm with the `[simulation]` settings, and
    /// compares with the exact equilibrium (energy needs not enforced).
    pub fn simulate(&self) -> Result<ScenarioSimulation, StackelbergError> {
        let model = self.build()?;
        let eq = solve_equilibrium(
            &model.market,
            &EquilibriumSettings {
                check_energy_need: false,
                ..EquilibriumSettings::default()
            },
        )?;
        let run = simulate(&model.market, &model.simulation)?;
        let max_price_error = run
            .prices
            .iter()
            .flatten()
            .zip(eq.prices.iter().flatten())
            .map(|(a, b)| (a - b).abs() / b)
            .fold(
                0.0_f64,
                |m, x| if x.is_nan() { f64::INFINITY } else { m.max(x) },
            );
        Ok(ScenarioSimulation {
            company_names: model.company_names,
            run,
            equilibrium_prices: eq.prices,
            max_price_error,
        })
    }
}
