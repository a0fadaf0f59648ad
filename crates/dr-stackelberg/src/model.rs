//! The Stackelberg market of alshehri-liu-chen-basar §III: companies (leaders) with supply
//! `G_k(t)` per period and optional price bounds, consumers (followers) grouped into classes
//! of identical consumers with budget `B_n`, energy need `E_n` and utility parameters
//! `ζ_n, γ_n` (eq. 3), or time/company-specific `γ_{n,k,t}, ζ_{n,k,t}` (eq. 28).
//!
//! Prices, supplies and demands over the `K · T` (company, period) entries are stored flat,
//! company-major: entry `j = k · T + t` (see [`entry`]). Consumers are stored as
//! struct-of-arrays so that a million of them cost five `f64` vectors.

use crate::error::StackelbergError;
use dr_convex::parallel::{deterministic_sum, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::{check_finite, check_len, check_nonnegative, check_positive};
use serde::{Deserialize, Serialize};

/// The flat index `j = k · T + t` of company `k` at period `t`.
#[inline]
pub fn entry(periods: usize, company: usize, period: usize) -> usize {
    company * periods + period
}

/// Splits a flat company-major vector into a `[k][t]` table.
pub fn to_table(flat: &[f64], periods: usize) -> Vec<Vec<f64>> {
    if periods == 0 {
        return Vec::new();
    }
    flat.chunks(periods).map(|c| c.to_vec()).collect()
}

/// A utility company (a leader of the game, alshehri-liu-chen-basar §III-B).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Company {
    /// Power available to sell in each period, `G_k(t) > 0` (the capacity of eq. 9).
    pub supply: Vec<f64>,
    /// Lower price bound `p_min ≥ 0` (Remark 3); 0 when unbounded.
    pub price_min: f64,
    /// Upper price bound `p_max` (Remark 3); `+∞` when unbounded.
    pub price_max: f64,
}

impl Company {
    /// A company with supply `G_k(t)` per period and no price bounds.
    pub fn new(supply: Vec<f64>) -> Self {
        Self {
            supply,
            price_min: 0.0,
            price_max: f64::INFINITY,
        }
    }

    /// The same company with price bounds `[p_min, p_max]` (Remark 3).
    pub fn with_price_bounds(mut self, price_min: f64, price_max: f64) -> Self {
        self.price_min = price_min;
        self.price_max = price_max;
        self
    }
}

/// Per-entry utility weights, uniform or one per (company, period).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weights<'a> {
    /// The same value for every entry.
    Uniform(f64),
    /// One value per flat entry `j = k · T + t`.
    PerEntry(&'a [f64]),
}

impl Weights<'_> {
    /// The weight of entry `j` (callers check lengths first).
    #[inline(always)]
    pub(crate) fn get(&self, j: usize) -> f64 {
        match self {
            Weights::Uniform(v) => *v,
            Weights::PerEntry(v) => v[j],
        }
    }
}

/// A consumer's utility parameters: `U = Σ_{k,t} γ_{k,t} ln(ζ_{k,t} + d_{k,t})`
/// (alshehri-liu-chen-basar eq. 3 with uniform weights, eq. 28 per entry).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preferences<'a> {
    /// Weights `γ > 0`.
    pub gamma: Weights<'a>,
    /// Shifts `ζ ≥ 0`.
    pub zeta: Weights<'a>,
}

impl Preferences<'static> {
    /// The paper's utility `γ Σ ln(ζ + d)` (eq. 3).
    pub fn uniform(gamma: f64, zeta: f64) -> Self {
        Self {
            gamma: Weights::Uniform(gamma),
            zeta: Weights::Uniform(zeta),
        }
    }
}

impl Preferences<'_> {
    /// True when `γ` and `ζ` are the same for every entry (eq. 3).
    pub fn is_uniform(&self) -> bool {
        matches!(
            (self.gamma, self.zeta),
            (Weights::Uniform(_), Weights::Uniform(_))
        )
    }
}

/// Time- and company-specific utility weights of one consumer class
/// (alshehri-liu-chen-basar eq. 28), flat company-major over the `K · T` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecificPreferences {
    /// `γ_{n,k,t} > 0`.
    pub gamma: Vec<f64>,
    /// `ζ_{n,k,t} ≥ 0`.
    pub zeta: Vec<f64>,
}

/// Consumer classes as struct-of-arrays: class `n` holds `count[n]` identical consumers.
///
/// A class of one consumer is an individual; a million individuals are a million classes of
/// count 1. The uniform utility parameters are `γ_n, ζ_n` (eq. 3, default 1 as in the
/// authors' notebook); a class listed in `specific` uses eq. 28's per-entry weights instead.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConsumerClasses {
    /// Number of identical consumers in each class: a population weight `> 0`, i.e. a mass
    /// (the model is linear in it: eq. 13 sees only `Σ count·B` and `Σ count·ζ`), so it may
    /// be fractional here; scenario files, whose `count` counts consumers, require a whole
    /// number (see `crate::scenario`). A class of `10^12` costs the memory of one.
    pub count: Vec<f64>,
    /// Budget `B_n > 0` of each consumer of the class, for the whole horizon (eq. 4).
    pub budget: Vec<f64>,
    /// Minimum energy need `E_n ≥ 0` over the horizon (eq. 6).
    pub energy_need: Vec<f64>,
    /// `ζ_n ≥ 0` (eq. 3).
    pub zeta: Vec<f64>,
    /// `γ_n > 0` (eq. 3).
    pub gamma: Vec<f64>,
    /// Classes with time/company-specific weights (eq. 28), as `(class, weights)`.
    pub specific: Vec<(usize, SpecificPreferences)>,
}

impl ConsumerClasses {
    /// Classes with counts, budgets and energy needs; `ζ = γ = 1`.
    pub fn new(count: Vec<f64>, budget: Vec<f64>, energy_need: Vec<f64>) -> Self {
        let n = count.len();
        Self {
            count,
            budget,
            energy_need,
            zeta: vec![1.0; n],
            gamma: vec![1.0; n],
            specific: Vec::new(),
        }
    }

    /// One class of `count` identical consumers (Assumption 4: homogeneous budgets).
    pub fn homogeneous(count: f64, budget: f64, energy_need: f64) -> Self {
        Self::new(vec![count], vec![budget], vec![energy_need])
    }

    /// Individual consumers (classes of count 1).
    pub fn individuals(budget: Vec<f64>, energy_need: Vec<f64>) -> Self {
        Self::new(vec![1.0; budget.len()], budget, energy_need)
    }

    /// Sets `ζ_n` for every class.
    pub fn with_zeta(mut self, zeta: Vec<f64>) -> Self {
        self.zeta = zeta;
        self
    }

    /// Sets `γ_n` for every class.
    pub fn with_gamma(mut self, gamma: Vec<f64>) -> Self {
        self.gamma = gamma;
        self
    }

    /// Gives class `class` time/company-specific weights (eq. 28).
    pub fn with_specific(mut self, class: usize, weights: SpecificPreferences) -> Self {
        self.specific.push((class, weights));
        self
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.count.len()
    }

    /// True when there are no classes.
    pub fn is_empty(&self) -> bool {
        self.count.is_empty()
    }

    /// Position of `class` in `specific`, if it has eq. 28 weights (`specific` sorted).
    pub(crate) fn specific_position(&self, class: usize) -> Option<usize> {
        self.specific.binary_search_by_key(&class, |s| s.0).ok()
    }

    /// The utility parameters of class `n` (eq. 3 or eq. 28); `None` when `n` is out of range.
    pub fn preferences(&self, n: usize) -> Option<Preferences<'_>> {
        if n >= self.gamma.len() || n >= self.zeta.len() {
            return None;
        }
        Some(self.prefs(n))
    }

    /// [`ConsumerClasses::preferences`] for a valid index.
    pub(crate) fn prefs(&self, n: usize) -> Preferences<'_> {
        match self.specific_position(n) {
            Some(s) => Preferences {
                gamma: Weights::PerEntry(&self.specific[s].1.gamma),
                zeta: Weights::PerEntry(&self.specific[s].1.zeta),
            },
            None => Preferences::uniform(self.gamma[n], self.zeta[n]),
        }
    }
}

/// A validated Stackelberg market: `K` companies, `T` periods, consumer classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Market {
    periods: usize,
    companies: Vec<Company>,
    consumers: ConsumerClasses,
    budget_total: f64,
    zeta_uniform: f64,
    zeta_entry: Vec<f64>,
    supply: Vec<f64>,
}

impl Market {
    /// Validates and builds a market. Errors name the field and index, e.g.
    /// `companies[1].supply[3]` or `consumers[7].budget`.
    ///
    /// Requirements: `T ≥ 1`; at least one company and one class; `G_k(t) > 0` finite with
    /// `T` entries; `0 ≤ p_min ≤ p_max` (`p_max` may be `+∞`); counts and budgets `> 0`;
    /// energy needs and `ζ` `≥ 0`; `γ > 0`; eq. 28 weights with `K · T` entries.
    pub fn new(
        periods: usize,
        companies: Vec<Company>,
        mut consumers: ConsumerClasses,
    ) -> Result<Self, StackelbergError> {
        if periods == 0 {
            return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                field: "periods".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        if companies.is_empty() {
            return Err(StackelbergError::Input(dr_convex::InputError::Empty {
                field: "companies".into(),
            }));
        }
        for (k, c) in companies.iter().enumerate() {
            check_len(|| format!("companies[{k}].supply"), periods, c.supply.len())?;
            for (t, &g) in c.supply.iter().enumerate() {
                check_positive(|| format!("companies[{k}].supply[{t}]"), g)?;
            }
            check_nonnegative(|| format!("companies[{k}].price_min"), c.price_min)?;
            if c.price_max.is_nan() || c.price_max == f64::NEG_INFINITY {
                return Err(StackelbergError::Input(dr_convex::InputError::NotFinite {
                    field: format!("companies[{k}].price_max"),
                    value: c.price_max,
                }));
            }
            if c.price_max <= 0.0 {
                return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("companies[{k}].price_max"),
                    value: c.price_max,
                    requirement: "must be > 0".into(),
                }));
            }
            if c.price_min > c.price_max {
                return Err(StackelbergError::Input(
                    dr_convex::InputError::InvertedBounds {
                        field: format!("companies[{k}].price_min/price_max"),
                        lower: c.price_min,
                        upper: c.price_max,
                    },
                ));
            }
        }
        let n = consumers.count.len();
        if n == 0 {
            return Err(StackelbergError::Input(dr_convex::InputError::Empty {
                field: "consumers".into(),
            }));
        }
        check_len(|| "consumers.budget".into(), n, consumers.budget.len())?;
        check_len(
            || "consumers.energy_need".into(),
            n,
            consumers.energy_need.len(),
        )?;
        check_len(|| "consumers.zeta".into(), n, consumers.zeta.len())?;
        check_len(|| "consumers.gamma".into(), n, consumers.gamma.len())?;
        for i in 0..n {
            check_positive(|| format!("consumers[{i}].count"), consumers.count[i])?;
            check_positive(|| format!("consumers[{i}].budget"), consumers.budget[i])?;
            check_nonnegative(
                || format!("consumers[{i}].energy_need"),
                consumers.energy_need[i],
            )?;
            check_nonnegative(|| format!("consumers[{i}].zeta"), consumers.zeta[i])?;
            check_positive(|| format!("consumers[{i}].gamma"), consumers.gamma[i])?;
        }
        let kt = companies.len() * periods;
        consumers.specific.sort_by_key(|s| s.0);
        for w in consumers.specific.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(StackelbergError::Input(dr_convex::InputError::Invalid {
                    field: format!("consumers[{}].weights", w[0].0),
                    message: "time/company-specific weights given twice".into(),
                }));
            }
        }
        for (class, s) in &consumers.specific {
            let class = *class;
            if class >= n {
                return Err(StackelbergError::Input(dr_convex::InputError::OutOfRange {
                    field: "consumers.specific class index".into(),
                    value: class as f64,
                    requirement: "must be < the number of consumer classes".into(),
                }));
            }
            check_len(
                || format!("consumers[{class}].weights.gamma"),
                kt,
                s.gamma.len(),
            )?;
            check_len(
                || format!("consumers[{class}].weights.zeta"),
                kt,
                s.zeta.len(),
            )?;
            for j in 0..kt {
                check_positive(
                    || format!("consumers[{class}].weights.gamma[{j}]"),
                    s.gamma[j],
                )?;
                check_nonnegative(
                    || format!("consumers[{class}].weights.zeta[{j}]"),
                    s.zeta[j],
                )?;
            }
        }
        let th = DEFAULT_PARALLEL_THRESHOLD;
        let budget_total = deterministic_sum(n, th, |i| consumers.count[i] * consumers.budget[i]);
        check_finite(
            || "consumers: total budget Σ count·budget".into(),
            budget_total,
        )?;
        let zeta_uniform = deterministic_sum(n, th, |i| consumers.count[i] * consumers.zeta[i]);
        let mut zeta_entry = vec![zeta_uniform; kt];
        for (class, s) in &consumers.specific {
            let c = consumers.count[*class];
            for (z, sz) in zeta_entry.iter_mut().zip(&s.zeta) {
                *z += c * (sz - consumers.zeta[*class]);
            }
        }
        let supply: Vec<f64> = companies
            .iter()
            .flat_map(|c| c.supply.iter().copied())
            .collect();
        Ok(Self {
            periods,
            companies,
            consumers,
            budget_total,
            zeta_uniform,
            zeta_entry,
            supply,
        })
    }

    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.periods
    }
    /// Number of companies `K`.
    pub fn company_count(&self) -> usize {
        self.companies.len()
    }
    /// Number of (company, period) entries `K · T`.
    pub fn entries(&self) -> usize {
        self.supply.len()
    }
    /// The companies.
    pub fn companies(&self) -> &[Company] {
        &self.companies
    }
    /// The consumer classes.
    pub fn consumers(&self) -> &ConsumerClasses {
        &self.consumers
    }
    /// Flat supplies `G_k(t)`, entry `k · T + t`.
    pub fn supply(&self) -> &[f64] {
        &self.supply
    }
    /// Total budget `B = Σ_n count_n B_n` (eq. 13's right-hand side).
    pub fn budget_total(&self) -> f64 {
        self.budget_total
    }
    /// `Z = Σ_n count_n ζ_n` over the classes with uniform weights, plus the eq. 28 classes'
    /// own `ζ_n` (see [`Market::zeta_entry`] for the per-entry totals).
    pub fn zeta_total(&self) -> f64 {
        self.zeta_uniform
    }
    /// Per-entry `Z_{k,t} = Σ_n count_n ζ_{n,k,t}` (equals [`Market::zeta_total`] everywhere
    /// without eq. 28 weights).
    pub fn zeta_entry(&self) -> &[f64] {
        &self.zeta_entry
    }
    /// True when every class uses the uniform utility of eq. 3.
    pub fn is_uniform(&self) -> bool {
        self.consumers.specific.is_empty()
    }
    /// Price bounds of entry `j < K T` (Remark 3).
    pub(crate) fn price_bounds(&self, j: usize) -> (f64, f64) {
        let c = &self.companies[j / self.periods];
        (c.price_min, c.price_max)
    }
    /// True when some company has a finite upper or a positive lower price bound.
    pub fn has_price_bounds(&self) -> bool {
        self.companies
            .iter()
            .any(|c| c.price_min > 0.0 || c.price_max.is_finite())
    }
    /// The same market with new supplies `G_k(t)` (`[k][t]`), validated.
    pub fn with_supply(&self, supply: &[Vec<f64>]) -> Result<Self, StackelbergError> {
        check_len(
            || "supply (companies)".into(),
            self.companies.len(),
            supply.len(),
        )?;
        let companies = self
            .companies
            .iter()
            .zip(supply)
            .map(|(c, s)| Company {
                supply: s.clone(),
                ..c.clone()
            })
            .collect();
        Market::new(self.periods, companies, self.consumers.clone())
    }
}
