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
//!
//! # [[network]]                    # Σ coefficient · G_company(period) ≤ rhs (Theorem 6)
//! # rhs = 3000.0
//! # terms = [{ company = 0, period = 0, coefficient = 1.0 }]
//!
//! # [simulation]                   # distributed algorithm (eq. 21)
//! # rule = "paper"                 # or "secant", "steffensen"
//! # delta = 0.0
//! # max_rounds = 1000
//! # tolerance = 1e-9
//! # initial_price = 0.3
//! ```

use crate::allocation::{
    AllocatingCompany, AllocationEquilibrium, AllocationGame, AllocationSettings, CompanyStrategy,
    GenerationCost, NetworkConstraint,
};
use crate::consumer::minimum_budget;
use crate::distributed::{
    simulate, DistributedRun, DistributedSettings, InitialPrices, PriceUpdate,
};
use crate::equilibrium::{solve_equilibrium, Equilibrium, EquilibriumSettings};
use crate::error::StackelbergError;
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// The same value every period.
    One(f64),
    /// One value per period.
    Many(Vec<f64>),
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PriceTable {
    /// `K · T` values, entry `k · T + t`.
    Flat(Vec<f64>),
    /// `[k][t]`.
    Nested(Vec<Vec<f64>>),
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
                crate::error::check_len(|| field.to_string(), companies * periods, v.len())?;
                Ok(v.clone())
            }
            PriceTable::Nested(rows) => {
                crate::error::check_len(|| field.to_string(), companies, rows.len())?;
                for (k, r) in rows.iter().enumerate() {
                    crate::error::check_len(|| format!("{field}[{k}]"), periods, r.len())?;
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
    StackelbergError::Invalid {
        field,
        message: message.to_string(),
    }
}

impl Scenario {
    /// Validates the scenario and builds the market: resolves `budget = "minimum"`
    /// (Theorem 1 at `reference_prices`), plays the power allocation game for companies
    /// with `total` (Theorem 3, eq. 20, Theorem 6), applies price bounds.
    ///
    /// Errors name the field, e.g. `companies[1]: give exactly one of supply and total`,
    /// `consumers[0].reference_prices: required with budget = "minimum"`.
    pub fn build(&self) -> Result<ScenarioModel, StackelbergError> {
        let t_n = self.periods;
        if t_n == 0 {
            return Err(StackelbergError::OutOfRange {
                field: "periods".into(),
                value: 0.0,
                requirement: "must be >= 1",
            });
        }
        let k_n = self.companies.len();
        if k_n == 0 {
            return Err(StackelbergError::Empty {
                field: "companies".into(),
            });
        }
        if self.consumers.is_empty() {
            return Err(StackelbergError::Empty {
                field: "consumers".into(),
            });
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
                        StackelbergError::NotFinite { field: f, value } => {
                            StackelbergError::NotFinite {
                                field: format!("consumers[{i}].{f}"),
                                value,
                            }
                        }
                        StackelbergError::OutOfRange {
                            field: f,
                            value,
                            requirement,
                        } => StackelbergError::OutOfRange {
                            field: format!(
                                "consumers[{i}].{}",
                                f.replace("prices", "reference_prices")
                            ),
                            value,
                            requirement,
                        },
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
        let simulation = match &self.simulation {
            None => DistributedSettings::default(),
            Some(s) => {
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
                    record_prices: s.record_prices,
                    ..d
                }
            }
        };
        Ok(ScenarioModel {
            market,
            allocation,
            company_names: self
                .companies
                .iter()
                .enumerate()
                .map(|(k, c)| c.name.clone().unwrap_or_else(|| format!("company {k}")))
                .collect(),
            consumer_names: self
                .consumers
                .iter()
                .enumerate()
                .map(|(i, c)| c.name.clone().unwrap_or_else(|| format!("class {i}")))
                .collect(),
            budgets,
            simulation,
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
