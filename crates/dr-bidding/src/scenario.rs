//! Scenario files (TOML or JSON) for the bidding model, and their validating conversion
//! into a [`Market`].
//!
//! ```toml
//! model = "bidding"          # optional; if present it must be "bidding"
//! deficit = 10.0             # d > 0 (a negative value is an error: write surplus = …)
//! # surplus = 5.0            # alternatively (exactly one of deficit / surplus)
//!
//! [[customers]]
//! cost = { linear = 1.2, quadratic = 0.8 }   # C(q) = a q + h q²  (linear defaults to 0)
//! capacity = 5.0                             # optional, q ≤ capacity
//! [[customers]]
//! cost = { half_quadratic = 2.0 }            # C(q) = ½ c q²
//! [[customers]]
//! cost = { linear = 0.5, power = 1.0, exponent = 3.0 }  # C(q) = a q + b q^k, k ≥ 1, b ≥ 0
//! [[customers]]
//! cost = { exponential = 0.5, rate = 0.2 }   # C(q) = b (e^{k q} − 1), b, k > 0
//! [[customers]]
//! cost = { slopes = [1.0, 2.0, 4.0], breakpoints = [1.5, 3.0] }
//!                                            # piecewise linear, convex: slope 1 on [0, 1.5],
//!                                            # 2 on [1.5, 3], 4 beyond (slopes non-decreasing,
//!                                            # breakpoints > 0 strictly increasing, one fewer)
//! capacity_penalty = { capacity = 2.0, weight = 50.0 }
//!                                            # optional soft capacity (li-chen-dahleh-2015
//!                                            # footnote 3): adds ρ·max(0, q − q̄)² to the cost
//!                                            # (instead of a hard `capacity`)
//!
//! # or, instead of [[customers]]:
//! # [population]
//! # count = 1000000
//! # linear = [1.0, 2.0]       # a_i ~ U[1, 2]
//! # quadratic = [0.5, 4.5]    # h_i ~ U[0.5, 4.5]
//! # seed = 7                  # optional (default 0)
//! # capacity = 0.01           # optional, the same for everyone
//!
//! # optional, for `dr simulate`:
//! # [simulation]
//! # behaviour = "competitive"  # or "strategic"; absent = both
//! # rule = "paper"             # or "fast"
//! # step = 0.1                 # γ of the paper rule (default 0.1, li-chen-dahleh-2015 Fig. 1)
//! # start_price = 1.0
//! # max_rounds = 10000
//! # tolerance = 1e-9
//! ```
//!
//! Unknown keys are rejected (`deny_unknown_fields`); conversion errors name the field,
//! e.g. `customers[2].cost.quadratic = -1 is out of range: must be > 0`,
//! `customers[0].cost.exponent = 0.5 is out of range: must be >= 1`,
//! `customers[1].cost.slopes[2] = 1 is out of range: must be >= slopes[1] = 3`.
//!
//! The cost forms (see [`crate::PowerCost`], [`crate::ExponentialCost`],
//! [`crate::PiecewiseLinearCost`], [`crate::CapacityPenalty`] for the formulas, the
//! piecewise-linear subgradient conditions and the footnote-3 penalty): `a q + h q²` and
//! `½ c q²` are stored as struct-of-arrays (fast); any other form, or a `capacity_penalty`,
//! makes the market a general-cost one. Piecewise-linear costs are solved exactly
//! (subgradient water-filling); their supply is a step function of the price, so the
//! papers' fixed-step iteration cannot converge when the price sits on a slope.

use crate::costs::{CapacityPenalty, ExponentialCost, PiecewiseLinearCost, PowerCost};
use crate::error::BiddingError;
use crate::iterative::{Behaviour, PriceUpdate, SimulationSettings};
use crate::market::{CustomerCost, Direction, Market};
use dr_convex::ConvexScalar;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A bidding scenario as read from a file (see the module docs for the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiddingScenario {
    /// Model tag; must be `"bidding"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Deficit `d > 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deficit: Option<f64>,
    /// Surplus `s > 0` (instead of `deficit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surplus: Option<f64>,
    /// Listed customers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<CustomerSpec>,
    /// A drawn population (instead of `customers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationSpec>,
    /// Settings of the iterative scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationSpec>,
}

/// One listed customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSpec {
    /// Its cost.
    pub cost: CostSpec,
    /// Optional capacity `q ≤ capacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
    /// Optional soft capacity (li-chen-dahleh-2015 footnote 3): `ρ·max(0, q − q̄)²` added
    /// to the cost ([`crate::CapacityPenalty`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_penalty: Option<PenaltySpec>,
}

/// `capacity_penalty = { capacity = q̄, weight = ρ }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltySpec {
    /// `q̄ ≥ 0`.
    pub capacity: f64,
    /// `ρ > 0`.
    pub weight: f64,
}

/// A cost: `{ linear = a, quadratic = h }` (`a q + h q²`), `{ half_quadratic = c }`
/// (`½ c q²`), `{ linear = a, power = b, exponent = k }` (`a q + b q^k`),
/// `{ exponential = b, rate = k }` (`b (e^{k q} − 1)`) or
/// `{ slopes = [s_0, …], breakpoints = [x_1, …] }` (piecewise linear).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// `a ≥ 0` (default 0 when `quadratic` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<f64>,
    /// `h > 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quadratic: Option<f64>,
    /// `c > 0` of `½ c q²`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_quadratic: Option<f64>,
    /// `b ≥ 0` of `a q + b q^k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// `k ≥ 1` of `a q + b q^k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponent: Option<f64>,
    /// `b > 0` of `b (e^{k q} − 1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponential: Option<f64>,
    /// `k > 0` of `b (e^{k q} − 1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Slopes `s_0 ≤ s_1 ≤ …` of a piecewise-linear cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slopes: Option<Vec<f64>>,
    /// Breakpoints `0 < x_1 < …` of a piecewise-linear cost (one fewer than the slopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakpoints: Option<Vec<f64>>,
}

impl CostSpec {
    /// The validated cost; errors name `{name}.field` as the file writes it.
    pub fn cost(&self, name: &str) -> Result<CustomerCost, BiddingError> {
        let prefix = format!("{name}.");
        let c = self;
        let quadratic_only = c.power.is_none()
            && c.exponent.is_none()
            && c.exponential.is_none()
            && c.rate.is_none()
            && c.slopes.is_none()
            && c.breakpoints.is_none();
        if quadratic_only {
            return match (c.linear, c.quadratic, c.half_quadratic) {
                (linear, Some(h), None) => {
                    let a = linear.unwrap_or(0.0);
                    dr_convex::check_nonnegative(|| format!("{name}.linear"), a)?;
                    dr_convex::check_positive(|| format!("{name}.quadratic"), h)?;
                    Ok(CustomerCost::LinearQuadratic {
                        linear: a,
                        quadratic: h,
                    })
                }
                (None, None, Some(cv)) => {
                    dr_convex::check_positive(|| format!("{name}.half_quadratic"), cv)?;
                    Ok(CustomerCost::HalfQuadratic { curvature: cv })
                }
                _ => Err(form_error(name)),
            };
        }
        let general: Arc<dyn ConvexScalar> = match self {
            CostSpec {
                linear,
                quadratic: None,
                half_quadratic: None,
                power: Some(b),
                exponent: Some(k),
                exponential: None,
                rate: None,
                slopes: None,
                breakpoints: None,
            } => Arc::new(
                PowerCost::new(linear.unwrap_or(0.0), *b, *k).map_err(|e| e.prefixed(&prefix))?,
            ),
            CostSpec {
                linear: None,
                quadratic: None,
                half_quadratic: None,
                power: None,
                exponent: None,
                exponential: Some(b),
                rate: Some(k),
                slopes: None,
                breakpoints: None,
            } => Arc::new(ExponentialCost::new(*b, *k).map_err(|e| e.prefixed(&prefix))?),
            CostSpec {
                linear: None,
                quadratic: None,
                half_quadratic: None,
                power: None,
                exponent: None,
                exponential: None,
                rate: None,
                slopes: Some(s),
                breakpoints,
            } => Arc::new(
                PiecewiseLinearCost::new(s.clone(), breakpoints.clone().unwrap_or_default())
                    .map_err(|e| e.prefixed(&prefix))?,
            ),
            _ => return Err(form_error(name)),
        };
        Ok(CustomerCost::General(general))
    }
}

fn form_error(name: &str) -> BiddingError {
    BiddingError::Input(dr_convex::InputError::Invalid {
        field: name.into(),
        message: "give exactly one cost form: { linear = a, quadratic = h }, \
                  { half_quadratic = c }, { linear = a, power = b, exponent = k }, \
                  { exponential = b, rate = k } or { slopes = [...], breakpoints = [...] }"
            .into(),
    })
}

/// A drawn population (li-chen-dahleh-2015 §VII-A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    /// Number of customers.
    pub count: usize,
    /// Range `[lo, hi]` of `a_i` (exactly two numbers; read as a list so that a wrong
    /// length is reported naming the field, not as a parser's "trailing characters").
    pub linear: Vec<f64>,
    /// Range `[lo, hi]` of `h_i` (exactly two numbers).
    pub quadratic: Vec<f64>,
    /// ChaCha8 seed (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Optional capacity for every customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
}

/// The price rule of a scenario's simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleName {
    /// The papers' fixed step (eqs. 12, 27).
    Paper,
    /// The fast rule ([`crate::FittedMarketRule`]).
    Fast,
}

/// Settings of the iterative scheme in a scenario file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSpec {
    /// Customers' behaviour; absent = run both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<Behaviour>,
    /// Price rule (default `paper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleName>,
    /// Step `γ` of the paper rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// First price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_price: Option<f64>,
    /// Round limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<usize>,
    /// Relative mismatch tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}

/// What `dr simulate` needs: behaviours to run, the price update, the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationPlan {
    /// One or both behaviours.
    pub behaviours: Vec<Behaviour>,
    /// The price rule.
    pub update: PriceUpdate,
    /// Run settings.
    pub settings: SimulationSettings,
}

/// Peak bytes per customer of `dr simulate` / `dr verify` on a bidding scenario, an upper
/// bound used by [`BiddingScenario::memory_estimate`]:
/// - the market: `a_i`, `h_i` (16) and a capacity (8), plus the Nash problem's capped copy
///   `min(q̄_i, d/2)` (8) — 32;
/// - both reference equilibria: loads, bids and net revenues, 3 × 8 each — 48;
/// - the JSON tree of a hand-built output: loads, bids and net revenues of both equilibria
///   as `serde_json::Value` numbers (32 bytes each, 6 arrays) — 192;
/// - the printed JSON text (about 24 characters a number, 6 arrays) — 144;
/// - the iterative schemes' per-customer state (bids, fitted coefficients, the reference
///   equilibrium's buffers) or the LP cross-check's per-customer rows, whichever is run — 96.
///
/// Total 512 bytes a customer (`dr solve` needs far less: [`SOLVE_BYTES_PER_CUSTOMER`]).
pub const BYTES_PER_CUSTOMER: u64 = 512;

/// Peak bytes per customer of `dr solve` (text, `--json`, `--output DIR`), an upper bound
/// used by [`BiddingScenario::solve_memory_estimate`]. The report is streamed (JSON through
/// serde, CSV in fixed batches), so only these columns are ever held:
/// - the market: `a_i`, `h_i` (16), a capacity and the Nash problem's capped copy
///   `min(q^max_i, d/2)` when capacities are given (16) — 32;
/// - the competitive equilibrium: loads, bids, net revenues (24; the revenues are dropped
///   before the Nash equilibrium is solved above [`crate::REVENUE_LIMIT`] customers) — 24;
/// - the Nash equilibrium: loads, bids, net revenues — 24;
/// - `--plot`: one sorted copy of a load column at a time — 8.
///
/// Total 88 bytes a customer. Measured peaks are in BENCHMARKS.md ("end to end"); the test
/// `solve_memory_estimate_bounds_the_columns` checks the bound against the columns' sizes.
pub const SOLVE_BYTES_PER_CUSTOMER: u64 = 88;

/// Fixed overhead of a run (the binary, thread pools, small tables, the 1 MiB CSV and 64
/// KiB JSON buffers, the CSV batch of 262 144 formatted rows), in bytes.
pub const BASE_BYTES: u64 = 64 << 20;

impl BiddingScenario {
    /// Number of customers: `population.count` for a drawn population, the number of
    /// `[[customers]]` otherwise.
    pub fn customer_count(&self) -> u64 {
        match &self.population {
            Some(p) => p.count as u64,
            None => self.customers.len() as u64,
        }
    }

    /// An upper bound, in bytes, of the peak memory `dr simulate` / `verify` need on this
    /// scenario, from its customer count alone (nothing is allocated):
    /// `BASE_BYTES + count × BYTES_PER_CUSTOMER` (see `BYTES_PER_CUSTOMER` for the
    /// breakdown), saturating.
    pub fn memory_estimate(&self) -> u64 {
        BASE_BYTES.saturating_add(self.customer_count().saturating_mul(BYTES_PER_CUSTOMER))
    }

    /// An upper bound, in bytes, of the peak memory `dr solve` needs on this scenario
    /// (text, streamed `--json`, `--output DIR`): `BASE_BYTES + count ×
    /// SOLVE_BYTES_PER_CUSTOMER`, saturating (see [`SOLVE_BYTES_PER_CUSTOMER`]).
    pub fn solve_memory_estimate(&self) -> u64 {
        BASE_BYTES.saturating_add(
            self.customer_count()
                .saturating_mul(SOLVE_BYTES_PER_CUSTOMER),
        )
    }

    /// Validates the scenario and builds its market (parse the file first, e.g. with
    /// `toml::from_str`). Errors name the field (`deficit`, `customers[3].cost.quadratic`,
    /// `population.linear[1]`, `model`, …).
    pub fn market(&self) -> Result<Market, BiddingError> {
        if let Some(m) = &self.model {
            if m != "bidding" {
                return Err(BiddingError::Input(dr_convex::InputError::Invalid {
                    field: "model".into(),
                    message: format!("expected \"bidding\", got {m:?}"),
                }));
            }
        }
        let (amount, direction) = match (self.deficit, self.surplus) {
            (Some(d), None) => {
                dr_convex::check_finite(|| "deficit".into(), d)?;
                if d <= 0.0 {
                    return Err(BiddingError::Input(dr_convex::InputError::Invalid {
                        field: "deficit".into(),
                        message: format!(
                            "deficit = {d} must be > 0 (the amount to shed); for a surplus \
                             write `surplus = {}` instead",
                            -d
                        ),
                    }));
                }
                (d, Direction::Deficit)
            }
            (None, Some(s)) => (
                dr_convex::check_positive(|| "surplus".into(), s)?,
                Direction::Surplus,
            ),
            (Some(_), Some(_)) => {
                return Err(BiddingError::Input(dr_convex::InputError::Invalid {
                    field: "deficit".into(),
                    message: "give either deficit or surplus, not both".into(),
                }))
            }
            (None, None) => {
                return Err(BiddingError::Input(dr_convex::InputError::Invalid {
                    field: "deficit".into(),
                    message: "missing: give deficit (or surplus)".into(),
                }))
            }
        };
        match (&self.population, self.customers.is_empty()) {
            (Some(_), false) => Err(BiddingError::Input(dr_convex::InputError::Invalid {
                field: "customers".into(),
                message: "give either [[customers]] or [population], not both".into(),
            })),
            (None, true) => Err(BiddingError::Input(dr_convex::InputError::Empty {
                field: "customers".into(),
            })),
            (Some(p), true) => {
                let linear = range("population.linear", &p.linear)?;
                let quadratic = range("population.quadratic", &p.quadratic)?;
                let m = Market::drawn(p.count, linear, quadratic, p.seed, amount)?
                    .with_direction(direction);
                match p.capacity {
                    Some(c) => {
                        check_capacity(c, "population.capacity")?;
                        m.with_uniform_capacity(c).map_err(|e| match e {
                            BiddingError::Infeasible { deficit, max, .. } => {
                                BiddingError::Infeasible {
                                    field: "population.capacity".into(),
                                    deficit,
                                    max,
                                }
                            }
                            other => other,
                        })
                    }
                    None => Ok(m),
                }
            }
            (None, false) => Ok(self.listed_market(amount)?.with_direction(direction)),
        }
    }

    fn listed_market(&self, amount: f64) -> Result<Market, BiddingError> {
        let mut costs = Vec::with_capacity(self.customers.len());
        let mut capacity = Vec::with_capacity(self.customers.len());
        for (i, c) in self.customers.iter().enumerate() {
            let name = format!("customers[{i}].cost");
            let mut cost = c.cost.cost(&name)?;
            if let Some(pen) = c.capacity_penalty {
                if c.capacity.is_some() {
                    return Err(BiddingError::Input(dr_convex::InputError::Invalid {
                        field: format!("customers[{i}].capacity_penalty"),
                        message: "give either a hard `capacity` or a soft `capacity_penalty` \
                                  (li-chen-dahleh-2015 footnote 3), not both"
                            .into(),
                    }));
                }
                let base: Arc<dyn ConvexScalar> = match cost {
                    CustomerCost::LinearQuadratic { linear, quadratic } => {
                        Arc::new(dr_convex::LinearQuadraticCost { linear, quadratic })
                    }
                    CustomerCost::HalfQuadratic { curvature } => {
                        Arc::new(dr_convex::HalfQuadraticCost { curvature })
                    }
                    CustomerCost::General(g) => g,
                };
                cost = CustomerCost::General(Arc::new(
                    CapacityPenalty::new(base, pen.capacity, pen.weight)
                        .map_err(|e| e.prefixed(&format!("customers[{i}].")))?,
                ));
            }
            costs.push(cost);
            match c.capacity {
                Some(v) => {
                    check_capacity(v, &format!("customers[{i}].capacity"))?;
                    capacity.push(v);
                }
                None => capacity.push(f64::INFINITY),
            }
        }
        let market = Market::new(costs, amount).map_err(|e| {
            // Market::new names `costs[i]…`; the file writes `customers[i].cost…`.
            let rename = |f: &str| match f.strip_prefix("costs[") {
                Some(rest) => match rest.split_once(']') {
                    Some((i, tail)) => format!("customers[{i}].cost{tail}"),
                    None => f.to_string(),
                },
                None => f.to_string(),
            };
            match e {
                BiddingError::Input(i) => BiddingError::Input(i.map_field(|f| rename(&f))),
                BiddingError::NotConvex { field, message } => BiddingError::NotConvex {
                    field: rename(&field),
                    message,
                },
                other => other,
            }
        })?;
        if self.customers.iter().any(|c| c.capacity.is_some()) {
            market.with_capacity(capacity).map_err(|e| match e {
                BiddingError::Infeasible { deficit, max, .. } => BiddingError::Infeasible {
                    field: "customers[].capacity".into(),
                    deficit,
                    max,
                },
                other => other,
            })
        } else {
            Ok(market)
        }
    }

    /// The iterative-scheme plan of the `[simulation]` table (defaults when absent: both
    /// behaviours, paper rule with `γ = 0.1`, default settings). Errors name
    /// `simulation.step` etc.
    pub fn simulation_plan(&self) -> Result<SimulationPlan, BiddingError> {
        let spec = self.simulation.clone().unwrap_or_default();
        let behaviours = match spec.behaviour {
            Some(b) => vec![b],
            None => vec![Behaviour::Competitive, Behaviour::Strategic],
        };
        let update = match spec.rule.unwrap_or(RuleName::Paper) {
            RuleName::Paper => {
                let step = spec.step.unwrap_or(0.1);
                dr_convex::check_positive(|| "simulation.step".into(), step)?;
                PriceUpdate::Paper { step }
            }
            RuleName::Fast => PriceUpdate::Fast,
        };
        let mut settings = SimulationSettings::default();
        if let Some(p) = spec.start_price {
            settings.start_price = p;
        }
        if let Some(r) = spec.max_rounds {
            settings.max_rounds = r;
        }
        if let Some(t) = spec.tolerance {
            settings.tolerance = t;
        }
        settings.validate().map_err(|e| e.prefixed("simulation."))?;
        Ok(SimulationPlan {
            behaviours,
            update,
            settings,
        })
    }
}

/// A `[lo, hi]` range of the `[population]` table: exactly two numbers.
fn range(name: &str, v: &[f64]) -> Result<[f64; 2], BiddingError> {
    match v {
        [lo, hi] => Ok([*lo, *hi]),
        _ => Err(BiddingError::Input(dr_convex::InputError::Invalid {
            field: name.into(),
            message: format!(
                "expected a range of exactly two numbers [lo, hi], got {} value(s) {v:?}; \
                 write e.g. {name} = [1.0, 2.0] (customers are drawn uniformly in it)",
                v.len()
            ),
        })),
    }
}

fn check_capacity(v: f64, name: &str) -> Result<(), BiddingError> {
    if v.is_nan() {
        return Err(BiddingError::Input(dr_convex::InputError::NotFinite {
            field: name.into(),
            value: v,
        }));
    }
    if v < 0.0 {
        return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
            field: name.into(),
            value: v,
            requirement: "must be >= 0".into(),
        }));
    }
    Ok(())
}

impl TryFrom<&BiddingScenario> for Market {
    type Error = BiddingError;
    fn try_from(s: &BiddingScenario) -> Result<Market, BiddingError> {
        s.market()
    }
}
