//! Competitive (Theorem 6) and strategic (Theorem 7) equilibria of demand shaping, their
//! certificates and the load-shape metrics (chen-li-low-doyle-2010 §IV-B, §IV-C).
//!
//! - [`competitive_equilibrium`]: the welfare optimum (Theorem 6) with prices
//!   `p(t) = C'(Q(t), t)`, by the structure-exploiting price Newton ([`crate::newton`]).
//! - [`strategic_equilibrium`]: the Nash equilibrium of the demand-response game
//!   (Theorem 7). For quadratic supply costs the game has the potential
//!   `Σ_i Σ_t [U_i(q_i(t), t) − ½ C''(t) q_i(t)²] − Σ_t C(Q(t), t)` (SPEC §2 *derived*), so
//!   the NE is the welfare optimum of customers whose disutility carries `½ C'' q²` extra,
//!   solved by the same Newton; for other supply costs it is the solution of the monotone
//!   variational inequality `F_{i,t}(q) = −(U_i' − C'(Q(t)) − q_i(t) C''(Q(t)))` over
//!   `Π_i S_i` (condition 44), found by the same Newton with the own-impact curvature
//!   `b(t) = C''(Q(t), t)` frozen and iterated to its fixed point ([`crate::own_impact`]),
//!   or, when that does not settle, by the kernel's VI solver ([`crate::vi_path`]).
//! - [`certificate`]: KKT residuals of any `(loads, prices, multipliers)` for either model.
//! - Shape metrics: [`peak_to_average`] and [`load_factor`] of the result, next to those of
//!   the *unshaped* loads ([`Unshaped`]).
//!
//! # Unshaped preferred loads (definition)
//! A customer's *unshaped preferred load* is its own optimum (eqs. 32–34) under a **flat**
//! tariff equal to the time-average equilibrium price `p̄ = (1/T) Σ_t p(t)`: the load it
//! would draw if it paid the same average price but saw no time variation. Comparing the
//! equilibrium's peak-to-average ratio with that of `Σ_i q_i^{flat}(t)` isolates the effect
//! of time-varying prices on the load shape (the daily energy is comparable since the
//! average price level is the same). With daily energy bounds binding, the flat-price loads
//! still respect `Q_i ≤ Σ_t q_i(t) ≤ Q̄_i`.
//!
//! # Classes of identical customers (exact)
//! A row standing for `m` identical customers ([`crate::Customers::set_count`], a scenario
//! class without jitter) is solved once and weighted by `m` in every sum over customers.
//! - Competitive equilibrium (Theorem 6): at any prices `p` a customer's response
//!   (eqs. 32–34) is the unique maximiser of a strictly concave problem that depends only on
//!   its own `U_i`, `Q_i`, `Q̄_i` and `p` (eqs. 35–37), so identical customers respond
//!   identically. The dual function the price Newton maximises,
//!   `d(p) = Σ_i min_{q ∈ S_i} [−U_i(q) + pᵀq] + Σ_t min_Q [C(Q, t) − p(t) Q]`, its
//!   gradient `D(p) − S(p)` and its Hessian are therefore `m ×` one customer's terms: the
//!   same Newton iteration on the same `T` unknowns, and the welfare optimum is the one of
//!   the expanded population (unique: strictly concave welfare, eq. 38).
//! - Strategic equilibrium, quadratic supply (Theorem 7): the same argument for the
//!   potential, whose customers' terms carry `½ C''(t) q²` (SPEC §2 derived).
//! - Strategic equilibrium, other supply costs: at a frozen own-impact curvature `b` the
//!   same argument as for the potential (each customer's terms carry `½ b(t) q²`,
//!   [`crate::own_impact`]); the VI fallback is condition 44 restricted to symmetric loads
//!   ([`crate::vi_path`] docs: an isometric change of variables).
//! - Certificates weight each row's objective by `m` and use `Q(t) = Σ_i m_i q_i(t)`; every
//!   per-customer residual is the same for each customer of a row, so the maxima are those
//!   of the expanded population. [`crate::nash_gain`]: a row's customers face the same
//!   `Q_{−i} = Q − q_i` and have the same gain.

use crate::error::ShapingError;
use crate::model::{Customers, ShapingModel};
use crate::newton::{evaluate, PriceNewton, SolverSettings};
use crate::response::{water_fill, CustomerPieces};
use dr_convex::parallel::{chunked_reduce, CHUNK};
use dr_convex::Termination;
use dr_convex::{Certificate, Status};
use rayon::prelude::*;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

/// Price-taking or price-anticipating customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Price-taking customers: the competitive equilibrium (Theorem 6), gradient scheme
    /// eqs. 41–42.
    Competitive,
    /// Customers who anticipate `C'(Q(t))`: the Nash equilibrium (Theorem 7), scheme eq. 48.
    Strategic,
}

/// How an equilibrium was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The structure-exploiting price Newton (`crate::newton`; for a strategic equilibrium
    /// without a potential, inside the own-impact fixed point `crate::own_impact`).
    Newton,
    /// The kernel's interior-point solver on the full problem (`crate::ipm_path`).
    Ipm,
    /// The kernel's variational-inequality solver (`crate::vi_path`).
    Vi,
}

/// Loads `q_i(t)` over `T` periods, one row per customer, stored flat (row-major).
///
/// A row may stand for several identical customers (a class without jitter, see
/// [`crate::Customers::set_count`]): the class's schedule is stored once with its count,
/// never `count` copies. [`Loads::total`] weights every row by its count.
///
/// JSON: nested arrays `loads[i][t]` (one row per customer) when every row is one customer;
/// otherwise the object `{"customers_per_row": [m_0, …], "rows": [[q_0(0), …], …]}` (row
/// `k` is the schedule of each of its `m_k` customers), so a reader that expects one row
/// per customer fails loudly instead of misreading a row as a customer. Both read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Loads {
    periods: usize,
    data: Vec<f64>,
    /// Customers per row; `None` when every row is one customer.
    counts: Option<Vec<usize>>,
}

impl Loads {
    /// Loads from a flat row-major array of length `rows · T` (one customer per row).
    pub fn new(periods: usize, data: Vec<f64>) -> Result<Self, ShapingError> {
        if periods == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::Empty {
                field: "periods".into(),
            }));
        }
        if data.len() % periods != 0 {
            return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                field: "loads".into(),
                expected: data.len().div_ceil(periods) * periods,
                got: data.len(),
            }));
        }
        Ok(Self {
            periods,
            data,
            counts: None,
        })
    }
    /// No rows over `periods` periods (what a report that does not keep its loads holds,
    /// [`crate::SolveOptions::keep_loads`]).
    pub fn empty(periods: usize) -> Self {
        Self {
            periods,
            data: Vec::new(),
            counts: None,
        }
    }
    /// What a report read back without a `loads` key holds: no rows (over one period; the
    /// equilibrium's own `periods` is the number of periods).
    pub fn not_kept() -> Self {
        Self::empty(1)
    }
    /// Loads whose row `k` stands for `counts[k] ≥ 1` identical customers. Errors name
    /// `customers_per_row` (length, or a 0).
    pub fn grouped(
        periods: usize,
        data: Vec<f64>,
        counts: Vec<usize>,
    ) -> Result<Self, ShapingError> {
        let mut loads = Self::new(periods, data)?;
        loads.set_counts(&counts)?;
        Ok(loads)
    }
    /// Sets the customers per row (`None` kept when every count is 1).
    pub(crate) fn set_counts(&mut self, counts: &[usize]) -> Result<(), ShapingError> {
        if counts.len() != self.len() {
            return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                field: "customers_per_row".into(),
                expected: self.len(),
                got: counts.len(),
            }));
        }
        if let Some(k) = counts.iter().position(|&c| c == 0) {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: format!("customers_per_row[{k}]"),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        self.counts = counts.iter().any(|&c| c != 1).then(|| counts.to_vec());
        Ok(())
    }
    /// Loads from one row per customer (every row of length `T`).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self, ShapingError> {
        let periods = rows.first().map(Vec::len).unwrap_or(0);
        let mut data = Vec::with_capacity(rows.len() * periods);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != periods {
                return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
                    field: format!("loads[{i}]"),
                    expected: periods,
                    got: r.len(),
                }));
            }
            data.extend_from_slice(r);
        }
        Self::new(periods, data)
    }
    /// Number of rows (customers, unless rows stand for several: [`Loads::count`]).
    pub fn len(&self) -> usize {
        self.data.len() / self.periods
    }
    /// True when there are no customers.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Number of periods `T`.
    pub fn periods(&self) -> usize {
        self.periods
    }
    /// How many identical customers row `i` stands for (1 unless grouped).
    pub fn count(&self, i: usize) -> usize {
        self.counts
            .as_ref()
            .map_or(1, |c| c.get(i).copied().unwrap_or(1))
    }
    /// The customers per row, `None` when every row is one customer.
    pub fn counts(&self) -> Option<&[usize]> {
        self.counts.as_deref()
    }
    /// Number of customers `N = Σ_rows count`.
    pub fn population(&self) -> usize {
        self.counts.as_ref().map_or(self.len(), |c| {
            c.iter().fold(0usize, |a, &m| a.saturating_add(m))
        })
    }
    /// Row `i`'s load profile `q_i(·)` (empty for an out-of-range `i`).
    pub fn customer(&self, i: usize) -> &[f64] {
        self.data
            .get(i * self.periods..(i + 1) * self.periods)
            .unwrap_or(&[])
    }
    /// `q_i(t)` of row `i` (`NaN` out of range).
    pub fn get(&self, i: usize, t: usize) -> f64 {
        if t >= self.periods {
            return f64::NAN;
        }
        self.data
            .get(i * self.periods + t)
            .copied()
            .unwrap_or(f64::NAN)
    }
    /// The flat row-major array (one schedule per row).
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }
    /// The flat array itself (for simulations).
    pub(crate) fn data_mut(&mut self) -> &mut Vec<f64> {
        &mut self.data
    }
    /// One vector per row.
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.data
            .chunks(self.periods)
            .map(<[f64]>::to_vec)
            .collect()
    }
    /// Total load `Q(t) = Σ_rows count · q_row(t)` (deterministic chunked sums).
    pub fn total(&self) -> Vec<f64> {
        let periods = self.periods;
        chunked_reduce(
            self.len(),
            1 << 14,
            vec![0.0; periods],
            |r| {
                let mut acc = vec![0.0; periods];
                for i in r {
                    let m = self.count(i) as f64;
                    for (a, &x) in acc.iter_mut().zip(self.customer(i)) {
                        *a += m * x;
                    }
                }
                acc
            },
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += y;
                }
                a
            },
        )
    }
}

/// The JSON of grouped loads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupedLoads {
    customers_per_row: Vec<usize>,
    rows: Vec<Vec<f64>>,
}

struct LoadsVisitor;

impl<'de> serde::de::Visitor<'de> for LoadsVisitor {
    type Value = Loads;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(
            "an array of rows of loads (one per customer) or an object \
             {\"customers_per_row\": [...], \"rows\": [[...], ...]}",
        )
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Loads, A::Error> {
        let mut rows: Vec<Vec<f64>> = Vec::new();
        while let Some(row) = seq.next_element()? {
            rows.push(row);
        }
        Loads::from_rows(&rows).map_err(serde::de::Error::custom)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Loads, A::Error> {
        let g = GroupedLoads::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        let mut loads = Loads::from_rows(&g.rows).map_err(serde::de::Error::custom)?;
        loads
            .set_counts(&g.customers_per_row)
            .map_err(serde::de::Error::custom)?;
        Ok(loads)
    }
}

impl<'de> Deserialize<'de> for Loads {
    /// Reads the nested arrays `loads[i][t]` back (every row of the same length `T ≥ 1`),
    /// or the grouped object `{customers_per_row, rows}`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LoadsVisitor)
    }
}

/// The rows of a [`Loads`] as nested arrays (streamed, no copy).
struct Rows<'a>(&'a Loads);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for row in self.0.data.chunks(self.0.periods) {
            seq.serialize_element(row)?;
        }
        seq.end()
    }
}

impl Serialize for Loads {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match &self.counts {
            None => Rows(self).serialize(serializer),
            Some(counts) => {
                let mut s = serializer.serialize_struct("Loads", 2)?;
                s.serialize_field("customers_per_row", counts)?;
                s.serialize_field("rows", &Rows(self))?;
                s.end()
            }
        }
    }
}

/// Peak-to-average ratio `max_t Q(t) / ((1/T) Σ_t Q(t))` (1 for an all-zero profile).
pub fn peak_to_average(total_load: &[f64]) -> f64 {
    if total_load.is_empty() {
        return 1.0;
    }
    let peak = total_load.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = total_load.iter().sum::<f64>() / total_load.len() as f64;
    if mean > 0.0 {
        peak / mean
    } else {
        1.0
    }
}

/// Load factor `average / peak = 1 / peak_to_average` (1 for an all-zero profile).
pub fn load_factor(total_load: &[f64]) -> f64 {
    1.0 / peak_to_average(total_load)
}

/// The unshaped reference: every customer's own optimum under the flat price
/// `p̄ = (1/T) Σ_t p(t)` (see the module docs).
///
/// One struct for the library and the reports (`dr solve` writes the competitive one at
/// the top level, the strategic one under `strategic`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unshaped {
    /// What the reference is ([`UNSHAPED_DEFINITION`]).
    pub definition: String,
    /// The flat price `p̄`.
    pub flat_price: f64,
    /// `Σ_i q_i^{flat}(t)`.
    pub total_load: Vec<f64>,
    /// `Σ_t Q^{flat}(t)`.
    pub total_energy: f64,
    /// `max_t Q^{flat}(t)`.
    pub peak_load: f64,
    /// Its period (the first one on ties).
    pub peak_period: usize,
    /// Its peak-to-average ratio.
    pub peak_to_average: f64,
    /// Its load factor.
    pub load_factor: f64,
    /// Welfare of the unshaped loads (eq. 38), money.
    pub welfare: f64,
}

/// The [`Unshaped::definition`] of the reference.
pub const UNSHAPED_DEFINITION: &str = "each customer's own optimum under the flat price equal \
    to the time average of the equilibrium prices";

/// The customers' unshaped preferred loads at the flat price `flat_price` (each customer's
/// exact optimum of eqs. 32–34 with `p(t) = flat_price`).
pub fn unshaped_loads(model: &ShapingModel, flat_price: f64) -> Result<Loads, ShapingError> {
    dr_convex::check_finite(|| "flat_price".into(), flat_price)?;
    let prices = vec![flat_price; model.periods()];
    let zeros = vec![0.0; model.periods()];
    let (loads, _) = responses(model, &prices, &zeros, 1 << 13);
    Ok(loads)
}

pub(crate) fn unshaped(model: &ShapingModel, prices: &[f64]) -> Result<Unshaped, ShapingError> {
    let flat_price = flat_price_of(prices);
    let (total, _, welfare) = unshaped_summary(model, flat_price, false)?;
    Ok(unshaped_from_total(flat_price, total, welfare))
}

/// The unshaped loads' total `Σ_i q_i^{flat}(t)`, each customer's daily energy (when
/// `energies`; else empty) and their welfare (eq. 38), computed customer by customer without
/// keeping the `N × T` loads (fixed chunks combined in order: the same bits for any thread
/// count).
pub(crate) fn unshaped_summary(
    model: &ShapingModel,
    flat_price: f64,
    energies: bool,
) -> Result<(Vec<f64>, Vec<f64>, f64), ShapingError> {
    dr_convex::check_finite(|| "flat_price".into(), flat_price)?;
    let customers = model.customers();
    let periods = model.periods();
    let prices = vec![flat_price; periods];
    let zeros = vec![0.0; periods];
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    let (total, energy, utility) = chunked_reduce(
        model.len(),
        1 << 13,
        (vec![0.0; periods], Vec::new(), 0.0),
        |range| {
            let mut total = vec![0.0; periods];
            let mut energy = Vec::with_capacity(if energies { range.len() } else { 0 });
            let mut utility = 0.0;
            let mut q = vec![0.0; periods];
            let mut slope = vec![0.0; periods];
            for i in range {
                let pieces = CustomerPieces {
                    customers,
                    i,
                    extra: &zeros,
                };
                water_fill(&pieces, &prices, lo[i], hi[i], &mut q, &mut slope, f64::NAN);
                let m = customers.count(i) as f64;
                let mut e = 0.0;
                for (t, &x) in q.iter().enumerate() {
                    total[t] += m * x;
                    e += x;
                    utility += m * customers.utility_value(i, t, x);
                }
                if energies {
                    energy.push(e);
                }
            }
            (total, energy, utility)
        },
        |(mut ta, mut ea, ua), (tb, eb, ub)| {
            for (a, b) in ta.iter_mut().zip(&tb) {
                *a += b;
            }
            ea.extend(eb);
            (ta, ea, ua + ub)
        },
    );
    let cost: f64 = total
        .iter()
        .enumerate()
        .map(|(t, &q)| model.supply().value(t, q))
        .sum();
    Ok((total, energy, utility - cost))
}

/// The index of the largest entry (the first one on ties).
pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// The largest entry (`−∞` when empty).
pub(crate) fn max_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Total utility `Σ_i Σ_t U_i(q_i(t), t)` of `loads` (each row counted for its customers),
/// a deterministic chunked sum (chen-li-low-doyle-2010 eq. 38's first term).
pub(crate) fn total_utility(customers: &Customers, loads: &Loads) -> f64 {
    chunked_reduce(
        loads.len(),
        1 << 13,
        0.0,
        |r| {
            let mut s = 0.0;
            for i in r {
                let m = customers.count(i) as f64;
                for (t, &q) in loads.customer(i).iter().enumerate() {
                    s -= m * customers.piece(i, t).value(q, 0.0);
                }
            }
            s
        },
        |a, b| a + b,
    )
}

/// Per-row daily energies and bills `(Σ_t q_i(t), Σ_t p(t) q_i(t))` (parallel over fixed
/// chunks; each entry is computed by one row's own loop, so thread-independent).
fn energies_and_bills(loads: &Loads, prices: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = loads.len();
    let mut energy = vec![0.0; n];
    let mut bills = vec![0.0; n];
    energy
        .par_iter_mut()
        .zip(bills.par_iter_mut())
        .enumerate()
        .with_min_len(4096)
        .for_each(|(i, (e, b))| {
            let q = loads.customer(i);
            *e = q.iter().sum();
            *b = q.iter().zip(prices).map(|(q, p)| q * p).sum();
        });
    (energy, bills)
}

/// Every customer's exact response (loads and energy multiplier `μ_i = λ_i − λ̄_i`) at
/// `prices` with extra curvature `extra` (parallel over fixed chunks; deterministic).
pub(crate) fn responses(
    model: &ShapingModel,
    prices: &[f64],
    extra: &[f64],
    threshold: usize,
) -> (Loads, Vec<f64>) {
    let (loads, mu, _) = responses_with_value(model, prices, extra, threshold, None);
    (loads, mu)
}

/// [`responses`] and the customers' part of the dual function at `prices`,
/// `Σ_i min_{q ∈ S_i} Σ_t h_{i,t}(q(t)) + p(t) q(t)` (the water-fillings' optimal values,
/// summed by chunk and combined in chunk order: thread-independent).
pub(crate) fn responses_with_value(
    model: &ShapingModel,
    prices: &[f64],
    extra: &[f64],
    threshold: usize,
    guess: Option<&[f64]>,
) -> (Loads, Vec<f64>, f64) {
    let customers = model.customers();
    let periods = model.periods();
    let n = customers.len();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    let mut data = vec![0.0; n * periods];
    let mut mu = vec![0.0; n];
    let mut values = vec![0.0; n.div_ceil(CHUNK)];
    let work = |c: usize, block: &mut [f64], mus: &mut [f64], value: &mut f64| {
        let mut s = vec![0.0; periods];
        for (k, (q, m)) in block.chunks_mut(periods).zip(mus.iter_mut()).enumerate() {
            let i = c * CHUNK + k;
            let pieces = CustomerPieces {
                customers,
                i,
                extra,
            };
            let start = guess.map_or(f64::NAN, |g| g[i]);
            let wf = water_fill(&pieces, prices, lo[i], hi[i], q, &mut s, start);
            *m = wf.mu;
            *value += customers.count(i) as f64 * wf.objective;
        }
    };
    if n >= threshold {
        data.par_chunks_mut(CHUNK * periods)
            .zip(mu.par_chunks_mut(CHUNK))
            .zip(values.par_iter_mut())
            .enumerate()
            .for_each(|(c, ((b, m), v))| work(c, b, m, v));
    } else {
        data.chunks_mut(CHUNK * periods)
            .zip(mu.chunks_mut(CHUNK))
            .zip(values.iter_mut())
            .enumerate()
            .for_each(|(c, ((b, m), v))| work(c, b, m, v));
    }
    let value = values.iter().sum();
    let counts = customers.is_grouped().then(|| customers.counts().to_vec());
    (
        Loads {
            periods,
            data,
            counts,
        },
        mu,
        value,
    )
}

/// A competitive or strategic equilibrium with its prices, loads, multipliers, welfare,
/// load-shape metrics and certificate.
///
/// One struct for the library and the reports: `dr solve` writes the competitive one at the
/// top level of its JSON (the report adds nothing to it) and the strategic one under
/// `strategic` ([`crate::EquilibriumReport`] is this type). It loads back from its JSON.
///
/// JSON fields: `behaviour`, `method`, `periods`, `prices[t]`, `loads[i][t]` (or
/// `{customers_per_row, rows}`), `total_load[t]`, `energy[i]`, `bills[i]`,
/// `min_energy_multipliers[i]`, `max_energy_multipliers[i]`, `utility`, `supply_cost`,
/// `welfare`, `payments`, `total_energy`, `peak_load`, `peak_period`, `peak_to_average`,
/// `load_factor`, `certificate{status, primal_infeasibility, stationarity,
/// complementarity, duality_gap, iterations, max_residual}` (a non-finite residual is a
/// string, [`crate::Residual`]), `unshaped{definition, flat_price, total_load,
/// total_energy, peak_load, peak_period, peak_to_average, load_factor, welfare}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Equilibrium {
    /// Competitive (Theorem 6) or strategic (Theorem 7).
    pub behaviour: Behaviour,
    /// Solver path.
    pub method: Method,
    /// Number of periods `T`.
    pub periods: usize,
    /// Prices `p(t) = C'(Q(t), t)` (eq. 30): the multipliers of `Q(t) = Σ_i q_i(t)`.
    pub prices: Vec<f64>,
    /// Loads `q_i(t)`, one row per customer, or one row per class of identical customers
    /// with the customers each row stands for ([`Loads`]: `customers_per_row`). The other
    /// per-customer arrays below have one entry per row. A report solved without keeping
    /// its loads ([`crate::SolveOptions::keep_loads`] `false`) has no rows here, and its
    /// JSON has no `loads` key (read back: 0 rows, [`Loads::not_kept`]); every other field
    /// is the same as with the loads kept.
    #[serde(default = "Loads::not_kept", skip_serializing_if = "Loads::is_empty")]
    pub loads: Loads,
    /// Total load `Q(t) = Σ_i q_i(t)` (eq. 31).
    pub total_load: Vec<f64>,
    /// Each customer's daily energy `Σ_t q_i(t)`.
    pub energy: Vec<f64>,
    /// Each customer's bill `Σ_t p(t) q_i(t)`, money.
    pub bills: Vec<f64>,
    /// `λ_i ≥ 0`, multipliers of the minimum daily energy `Σ_t q_i(t) ≥ Q_i` (eq. 36).
    pub min_energy_multipliers: Vec<f64>,
    /// `λ̄_i ≥ 0`, multipliers of the maximum daily energy `Σ_t q_i(t) ≤ Q̄_i` (eq. 37).
    pub max_energy_multipliers: Vec<f64>,
    /// `Σ_i Σ_t U_i(q_i(t), t)`.
    pub utility: f64,
    /// `Σ_t C(Q(t), t)`.
    pub supply_cost: f64,
    /// Social welfare `Σ_i Σ_t U_i − Σ_t C(Q(t), t)` (eq. 38).
    pub welfare: f64,
    /// Customers' payments `Σ_t p(t) Q(t)`.
    pub payments: f64,
    /// `Σ_t Q(t)`: the day's energy.
    pub total_energy: f64,
    /// `max_t Q(t)`.
    pub peak_load: f64,
    /// The period of the peak (the first one on ties).
    pub peak_period: usize,
    /// Peak-to-average ratio of `Q(t)`.
    pub peak_to_average: f64,
    /// Load factor of `Q(t)` (`1 / peak_to_average`).
    pub load_factor: f64,
    /// KKT residuals of the result ([`certificate`]); `iterations` counts price
    /// evaluations (Newton) or interior-point / VI iterations. Written as a
    /// [`crate::CertificateReport`] (with `max_residual`).
    #[serde(with = "crate::report::certificate_format")]
    pub certificate: Certificate,
    /// The unshaped reference at the average price (see the module docs).
    pub unshaped: Unshaped,
}

impl SolverSettings {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<(), ShapingError> {
        dr_convex::check_positive(|| "tolerance".into(), self.tolerance)?;
        dr_convex::check_positive(|| "acceptable_tolerance".into(), self.acceptable_tolerance)?;
        if self.max_evaluations == 0 {
            return Err(ShapingError::Input(dr_convex::InputError::OutOfRange {
                field: "max_evaluations".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        Ok(())
    }
}

/// The extra curvature of the Nash potential: `C''(t)` of a quadratic supply cost.
pub(crate) fn potential_curvature(model: &ShapingModel) -> Option<Vec<f64>> {
    model.supply().as_quadratic().map(|(c, _)| c.to_vec())
}

/// Builds an [`Equilibrium`] from prices, loads and energy multipliers `μ_i = λ_i − λ̄_i`.
pub(crate) fn assemble(
    model: &ShapingModel,
    behaviour: Behaviour,
    method: Method,
    prices: Vec<f64>,
    loads: Loads,
    mu: &[f64],
    run: (Status, usize),
) -> Result<Equilibrium, ShapingError> {
    let certificate = certificate(model, behaviour, &loads, &prices, mu)?;
    let reference = unshaped(model, &prices)?;
    assemble_certified(
        model,
        behaviour,
        method,
        prices,
        loads,
        mu,
        certificate,
        run,
        reference,
        None,
    )
}

/// [`assemble`] with the certificate of exactly these loads, prices and multipliers
/// already computed, and the unshaped reference at these prices.
#[allow(clippy::too_many_arguments)]
fn assemble_certified(
    model: &ShapingModel,
    behaviour: Behaviour,
    method: Method,
    prices: Vec<f64>,
    loads: Loads,
    mu: &[f64],
    mut certificate: Certificate,
    (status, iterations): (Status, usize),
    reference: Unshaped,
    utility: Option<f64>,
) -> Result<Equilibrium, ShapingError> {
    // The status is the solver's only when its certificate agrees: a converged run whose
    // residuals exceed the tolerance is not Solved (it reached a rounding floor above it).
    certificate.status = match status {
        Status::Solved if certificate.max_residual() > CERTIFICATE_TOLERANCE => {
            Status::NumericalError
        }
        other => other,
    };
    certificate.iterations = iterations;
    let total_load = loads.total();
    let customers = model.customers();
    let periods = model.periods();
    let utility = utility.unwrap_or_else(|| total_utility(customers, &loads));
    let supply = model.supply();
    let supply_cost: f64 = (0..periods).map(|t| supply.value(t, total_load[t])).sum();
    let payments: f64 = prices.iter().zip(&total_load).map(|(p, q)| p * q).sum();
    let (energy, bills) = energies_and_bills(&loads, &prices);
    Ok(Equilibrium {
        behaviour,
        method,
        unshaped: reference,
        periods,
        energy,
        bills,
        total_energy: total_load.iter().sum(),
        peak_load: max_of(&total_load),
        peak_period: argmax(&total_load),
        prices,
        peak_to_average: peak_to_average(&total_load),
        load_factor: load_factor(&total_load),
        total_load,
        min_energy_multipliers: mu.iter().map(|m| m.max(0.0)).collect(),
        max_energy_multipliers: mu.iter().map(|m| (-m).max(0.0)).collect(),
        loads,
        utility,
        supply_cost,
        welfare: utility - supply_cost,
        payments,
        certificate,
    })
}

fn status_of(t: Termination) -> Status {
    match t {
        Termination::Converged => Status::Solved,
        Termination::MaxRounds => Status::MaxIterations,
        _ => Status::NumericalError,
    }
}

/// Runs the price Newton with extra curvature `extra` and assembles the result.
pub(crate) fn newton_equilibrium(
    model: &ShapingModel,
    behaviour: Behaviour,
    extra: Vec<f64>,
    settings: &SolverSettings,
) -> Result<Equilibrium, ShapingError> {
    newton_equilibrium_from(model, behaviour, extra, settings, None, &mut |p| {
        unshaped(model, p)
    })
}

/// The flat price of the unshaped reference at `prices`: their time average
/// `p̄ = (1/T) Σ_t p(t)`.
pub(crate) fn flat_price_of(prices: &[f64]) -> f64 {
    prices.iter().sum::<f64>() / prices.len().max(1) as f64
}

/// The unshaped reference ([`Unshaped`]) from the total of the customers' loads at the
/// flat price `flat_price`.
pub(crate) fn unshaped_from_total(flat_price: f64, total_load: Vec<f64>, welfare: f64) -> Unshaped {
    Unshaped {
        definition: UNSHAPED_DEFINITION.into(),
        flat_price,
        total_energy: total_load.iter().sum(),
        peak_load: max_of(&total_load),
        peak_period: argmax(&total_load),
        peak_to_average: peak_to_average(&total_load),
        load_factor: load_factor(&total_load),
        welfare,
        total_load,
    }
}

/// [`newton_equilibrium`] started from `warm = (prices, multipliers)` (another solve's
/// prices and rows' energy multipliers: a start, never a result — the run converges to its
/// own tolerance and the certificate is measured afresh), with the unshaped reference
/// computed by `reference` from the prices found (so a caller that needs the reference's
/// per-customer energies too computes the flat-price pass once).
pub(crate) fn newton_equilibrium_from(
    model: &ShapingModel,
    behaviour: Behaviour,
    extra: Vec<f64>,
    settings: &SolverSettings,
    warm: Option<(&[f64], &[f64])>,
    reference: &mut dyn FnMut(&[f64]) -> Result<Unshaped, ShapingError>,
) -> Result<Equilibrium, ShapingError> {
    settings.validate()?;
    let warm = warm.filter(|(p, _)| p.len() == model.periods() && p.iter().all(|x| x.is_finite()));
    let mut newton = PriceNewton::warm(
        model,
        extra,
        warm.map(|(p, _)| p.to_vec()),
        warm.map(|(_, mu)| mu),
        *settings,
    );
    let termination = newton.run();
    let prices = newton.prices().to_vec();
    let (mut loads, mu, value) = responses_with_value(
        model,
        &prices,
        newton.extra(),
        settings.parallel_threshold,
        Some(newton.multipliers()),
    );
    // The stepper's per-row multipliers go before the certificate and the assembly (the
    // peak, with the loads): only its T curvatures and its count are read below.
    let extra = newton.extra().to_vec();
    let evaluations = newton.evaluations();
    drop(newton);
    // The customers' part of the dual at these prices is the water-fillings just done.
    // The certificate's pass over the loads also sums the customers' utility.
    let (mut cert, mut utility) =
        certificate_at(model, behaviour, &loads, &prices, &mu, Some(value))?;
    if cert.max_residual() > 1e-3 * CERTIFICATE_TOLERANCE {
        if let Some(cleared) = clear_market(model, &prices, &extra, &loads, &mu) {
            let (second, u) =
                certificate_at(model, behaviour, &cleared, &prices, &mu, Some(value))?;
            if second.max_residual() < cert.max_residual() {
                loads = cleared;
                cert = second;
                utility = u;
            }
        }
    }
    let residual = cert.max_residual();
    // A run that stalled at its rounding floor is Solved when its certificate (the KKT
    // conditions checked independently of the run) holds; otherwise it says why not.
    let status = match termination {
        Termination::Stalled if residual <= CERTIFICATE_TOLERANCE => Status::Solved,
        other => status_of(other),
    };
    let reference = reference(&prices)?;
    assemble_certified(
        model,
        behaviour,
        Method::Newton,
        prices,
        loads,
        &mu,
        cert,
        (status, evaluations),
        reference,
        Some(utility),
    )
}

/// Market clearing made exact at the prices `p` found: the gap `S_t(p) − Σ_i q_i(t)` between
/// the supply the prices call forth and the customers' replies is shared among the
/// customers whose daily energy bounds do not bind, in proportion to their response slopes
/// `1 / h_{i,t}''(q_i(t))` in the periods where they draw a load. A customer with a nearly
/// flat marginal utility (a tiny `κ`, a log shift far above its load) replies to a price
/// known to a few ulps with a load known only to `ulp(p) / κ`; moving its load by the gap
/// changes its marginal utility by only `gap / slope`, the price error itself, so every
/// condition of eq. 30 and eqs. 35–37 holds to rounding afterwards. `None` when nobody can
/// absorb the gap. The caller keeps the result only when its certificate is better.
fn clear_market(
    model: &ShapingModel,
    prices: &[f64],
    extra: &[f64],
    loads: &Loads,
    mu: &[f64],
) -> Option<Loads> {
    let customers = model.customers();
    let periods = model.periods();
    let total = loads.total();
    let slope = |i: usize, t: usize, q: f64| -> f64 {
        if mu[i] != 0.0 || q <= 0.0 {
            return 0.0;
        }
        let h = customers.piece(i, t).second_derivative(q, extra[t]);
        if h > 0.0 && (1.0 / h).is_finite() {
            1.0 / h
        } else {
            0.0
        }
    };
    // Σ over customers: a row of m identical customers counts m times, and each of them
    // takes the same share (so the row's schedule moves by that share).
    let mut weight = vec![0.0; periods];
    for i in 0..loads.len() {
        let m = customers.count(i) as f64;
        for (t, &q) in loads.customer(i).iter().enumerate() {
            weight[t] += m * slope(i, t, q);
        }
    }
    if weight.iter().all(|&w| w <= 0.0) {
        return None;
    }
    let gap: Vec<f64> = (0..periods)
        .map(|t| model.supply().supply(t, prices[t]).0 - total[t])
        .collect();
    let mut data = loads.as_slice().to_vec();
    for (i, row) in data.chunks_mut(periods).enumerate() {
        for t in 0..periods {
            if weight[t] > 0.0 {
                let w = slope(i, t, row[t]);
                if w > 0.0 {
                    row[t] = (row[t] + gap[t] * (w / weight[t])).max(0.0);
                }
            }
        }
    }
    let mut cleared = Loads::new(periods, data).ok()?;
    cleared.set_counts(customers.counts()).ok()?;
    Some(cleared)
}

/// The competitive equilibrium (chen-li-low-doyle-2010 Theorem 6): the welfare optimum
/// (eqs. 38–40) with prices `p(t) = C'(Q(t), t)`, by the structure-exploiting price Newton
/// with default [`SolverSettings`].
pub fn competitive_equilibrium(model: &ShapingModel) -> Result<Equilibrium, ShapingError> {
    competitive_equilibrium_with(model, &SolverSettings::default())
}

/// [`competitive_equilibrium`] with explicit settings (errors name `tolerance`,
/// `max_evaluations`).
pub fn competitive_equilibrium_with(
    model: &ShapingModel,
    settings: &SolverSettings,
) -> Result<Equilibrium, ShapingError> {
    newton_equilibrium(
        model,
        Behaviour::Competitive,
        vec![0.0; model.periods()],
        settings,
    )
}

/// The Nash equilibrium of the demand-response game (chen-li-low-doyle-2010 Theorem 7).
///
/// Quadratic supply costs: the maximiser of the potential (SPEC §2 *derived*) by the price
/// Newton; prices are `p(t) = C'(Q(t), t)`, the multipliers of `Q(t) = Σ_i q_i(t)` in the
/// potential problem. Other supply costs: the price Newton inside a fixed point on the
/// customers' own-impact curvature `b(t) = C''(Q(t), t)` (`crate::own_impact`: exact, each
/// customer's part of condition (44) at a frozen aggregate is a water-filling with extra
/// curvature `b`), certified afresh against condition (44); if that iteration does not reach
/// a `Solved` certificate, the kernel's monotone VI solver
/// ([`crate::vi_path::strategic_equilibrium_vi`], natural-residual tolerance `1e-10`; the
/// `settings` do not apply there).
pub fn strategic_equilibrium(model: &ShapingModel) -> Result<Equilibrium, ShapingError> {
    strategic_equilibrium_with(model, &SolverSettings::default())
}

/// [`strategic_equilibrium`] with explicit settings.
pub fn strategic_equilibrium_with(
    model: &ShapingModel,
    settings: &SolverSettings,
) -> Result<Equilibrium, ShapingError> {
    match potential_curvature(model) {
        Some(extra) => newton_equilibrium(model, Behaviour::Strategic, extra, settings),
        None => strategic_equilibrium_general(model, settings, None),
    }
}

/// The Nash equilibrium for a supply cost without a potential: the own-impact fixed point
/// (`crate::own_impact`, started from `warm = (prices, multipliers)` when given), else the
/// monotone VI (see [`strategic_equilibrium`]).
pub(crate) fn strategic_equilibrium_general(
    model: &ShapingModel,
    settings: &SolverSettings,
    warm: Option<(&[f64], &[f64])>,
) -> Result<Equilibrium, ShapingError> {
    if let Some(eq) = crate::own_impact::strategic_equilibrium_own_impact(model, settings, warm)? {
        return Ok(eq);
    }
    crate::vi_path::strategic_equilibrium_vi(
        model,
        &dr_convex::ViSettings {
            tolerance: 1e-10,
            ..Default::default()
        },
    )
}

/// Tolerance on every (relative) residual of a [`certificate`]: an equilibrium is `Solved`
/// only when its solver converged *and* its certificate is within it.
pub const CERTIFICATE_TOLERANCE: f64 = 1e-8;

/// KKT residuals of loads `q`, prices `p` and energy multipliers `μ_i = λ_i − λ̄_i` for the
/// competitive equilibrium (eqs. 35–37 with 30–31) or the Nash equilibrium (condition 44).
///
/// Every residual is relative to the data's own scale (no `max(1, ·)` floor): the same
/// instance in other units (loads × s, prices × r) has the same residuals. With
/// `Q(t) = Σ_i q_i(t)`, the price scale `P = max_t max(|p(t)|, |C'(Q(t), t)|)`, the
/// residual `r_{i,t} = −U_i'(q_i(t), t) + p(t) − μ_i` (`+ q_i(t) C''(Q(t), t)` when
/// strategic) and its magnitude `m_{i,t} = |U_i'| + |μ_i| + q_i(t) C'' + P`, the multiplier
/// of `q_i(t) ≥ 0` is `ν_{i,t} = max(r, 0)`; customer `i`'s energy scale is
/// `E_i = max(Σ_t |q_i(t)|, Q_i, Q̄_i if finite, Σ_t Q(t) / N)`:
/// - `primal_infeasibility`: largest `max(−q_i(t), 0) / E_i` and violation of
///   `Q_i ≤ Σ_t q_i(t) ≤ Q̄_i` over `E_i`;
/// - `stationarity`: largest `max(−r, 0) / m`, and `|C'(Q(t), t) − p(t)| / P`; a positive
///   `λ̄_i` with `Q̄_i = ∞` counts as `λ̄_i / (|μ_i| + P)`;
/// - `complementarity`: largest `(ν/m) · (q / E_i)`, and `λ_i |Σ q − Q_i|`,
///   `λ̄_i |Q̄_i − Σ q|` over `(|μ_i| + P) · E_i`;
/// - `duality_gap`: `(Pr − d(p)) / (|Pr| + |d(p)| + Σ_t |p(t)| (|Q(t)| + |S_t(p)|))` (`S_t(p)`
///   the supply at the prices) for the welfare problem
///   (competitive) or the potential problem (strategic, quadratic supply), where `Pr` is the
///   primal objective and `d` the exact dual function (each customer's exact water-filling
///   at `p`). For strategic customers with a non-quadratic supply cost (no potential) it is
///   0: the stationarity and complementarity residuals are the VI's KKT system, and
///   [`crate::nash_gain`] is the independent check.
///
/// A ratio whose scale is 0 (e.g. an all-zero customer at zero prices) is 0 when its
/// numerator is 0. The returned status is `Solved` when every residual is at most
/// `CERTIFICATE_TOLERANCE`, else `Unsolved`; `iterations` is 0. Errors name `loads`,
/// `prices` or `energy_multipliers` on a length mismatch and the entry on a non-finite
/// value.
pub fn certificate(
    model: &ShapingModel,
    behaviour: Behaviour,
    loads: &Loads,
    prices: &[f64],
    energy_multipliers: &[f64],
) -> Result<Certificate, ShapingError> {
    certificate_at(model, behaviour, loads, prices, energy_multipliers, None).map(|(c, _)| c)
}

/// [`certificate`], with the customers' part of the dual function at `prices`
/// (`Σ_i` of their exact water-filling values with the behaviour's extra curvature) when
/// the caller has just computed it at exactly these prices; `None` computes it. Also
/// returns the customers' utility `Σ_i Σ_t U_i(q_i(t), t)` at `loads`, summed in the same
/// pass (fixed chunks combined in order).
pub(crate) fn certificate_at(
    model: &ShapingModel,
    behaviour: Behaviour,
    loads: &Loads,
    prices: &[f64],
    energy_multipliers: &[f64],
    customers_dual: Option<f64>,
) -> Result<(Certificate, f64), ShapingError> {
    let n = model.len();
    let periods = model.periods();
    if loads.periods() != periods || loads.len() != n {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: "loads".into(),
            expected: n * periods,
            got: loads.as_slice().len(),
        }));
    }
    if prices.len() != periods {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: "prices".into(),
            expected: periods,
            got: prices.len(),
        }));
    }
    if energy_multipliers.len() != n {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: "energy_multipliers".into(),
            expected: n,
            got: energy_multipliers.len(),
        }));
    }
    check_counts(model, loads)?;
    for (k, &q) in loads.as_slice().iter().enumerate() {
        dr_convex::check_finite(|| format!("loads[{}][{}]", k / periods, k % periods), q)?;
    }
    for (t, &p) in prices.iter().enumerate() {
        dr_convex::check_finite(|| format!("prices[{t}]"), p)?;
    }
    for (i, &m) in energy_multipliers.iter().enumerate() {
        dr_convex::check_finite(|| format!("energy_multipliers[{i}]"), m)?;
    }
    let customers = model.customers();
    let supply = model.supply();
    let total = loads.total();
    let curvature: Vec<f64> = (0..periods)
        .map(|t| match behaviour {
            Behaviour::Competitive => 0.0,
            Behaviour::Strategic => supply.curvature(t, total[t]),
        })
        .collect();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    // The market's energy per customer, the floor of every customer's energy scale (a
    // customer whose bounds are 0 is measured in the market's units).
    let market_energy =
        total.iter().map(|x| x.abs()).sum::<f64>() / model.population().max(1) as f64;
    let price_scale = (0..periods).fold(0.0f64, |m, t| {
        m.max(prices[t].abs())
            .max(supply.marginal(t, total[t]).abs())
    });
    #[derive(Clone, Copy)]
    struct R {
        primal: f64,
        stat: f64,
        comp: f64,
        objective: f64,
        utility: f64,
    }
    let r = chunked_reduce(
        n,
        1 << 13,
        R {
            primal: 0.0,
            stat: 0.0,
            comp: 0.0,
            objective: 0.0,
            utility: 0.0,
        },
        |range| {
            let mut r = R {
                primal: 0.0,
                stat: 0.0,
                comp: 0.0,
                objective: 0.0,
                utility: 0.0,
            };
            for i in range {
                let q = loads.customer(i);
                let mu = energy_multipliers[i];
                let energy: f64 = q.iter().sum();
                let mut escale = q
                    .iter()
                    .map(|x| x.abs())
                    .sum::<f64>()
                    .max(lo[i])
                    .max(market_energy);
                if hi[i].is_finite() {
                    escale = escale.max(hi[i]);
                }
                let mscale = mu.abs() + price_scale;
                // A row of m identical customers: m times one customer's objective.
                let count = customers.count(i) as f64;
                for t in 0..periods {
                    let piece = customers.piece(i, t);
                    let x = q[t];
                    r.primal = r.primal.max(ratio((-x).max(0.0), escale));
                    r.objective += count * piece.value(x, curvature[t]);
                    r.utility -= count * piece.value(x, 0.0);
                    let marginal = piece.derivative(x, 0.0);
                    let res = piece.derivative(x, curvature[t]) + prices[t] - mu;
                    let m = marginal.abs() + (curvature[t] * x).abs() + mscale;
                    r.stat = r.stat.max(ratio((-res).max(0.0), m));
                    r.comp = r
                        .comp
                        .max(both(ratio(res.max(0.0), m), ratio(x.max(0.0), escale)));
                }
                r.primal = r.primal.max(ratio((lo[i] - energy).max(0.0), escale));
                if hi[i].is_finite() {
                    r.primal = r.primal.max(ratio((energy - hi[i]).max(0.0), escale));
                }
                let lambda = mu.max(0.0);
                let lambda_bar = (-mu).max(0.0);
                r.comp = r.comp.max(both(
                    ratio(lambda, mscale),
                    ratio((energy - lo[i]).abs(), escale),
                ));
                if hi[i].is_finite() {
                    r.comp = r.comp.max(both(
                        ratio(lambda_bar, mscale),
                        ratio((hi[i] - energy).abs(), escale),
                    ));
                } else {
                    r.stat = r.stat.max(ratio(lambda_bar, mscale));
                }
            }
            r
        },
        |a, b| R {
            primal: a.primal.max(b.primal),
            stat: a.stat.max(b.stat),
            comp: a.comp.max(b.comp),
            objective: a.objective + b.objective,
            utility: a.utility + b.utility,
        },
    );
    let mut stat = r.stat;
    let mut primal_objective = r.objective;
    let mut money = 0.0;
    for t in 0..periods {
        let m = supply.marginal(t, total[t]);
        stat = stat.max(ratio((m - prices[t]).abs(), price_scale));
        primal_objective += supply.value(t, total[t]);
        money += (prices[t] * total[t]).abs();
    }
    let potential = match behaviour {
        Behaviour::Competitive => Some(vec![0.0; periods]),
        Behaviour::Strategic => potential_curvature(model),
    };
    let duality_gap = match potential {
        Some(extra) => {
            let (dual, reply) = match customers_dual {
                Some(value) => {
                    // d(p) = Σ_i (water-filling value) + Σ_t [C(S_t(p), t) − p(t) S_t(p)].
                    let mut dual = value;
                    let mut reply = 0.0;
                    for (t, &p) in prices.iter().enumerate() {
                        let s = supply.supply(t, p).0;
                        dual += supply.value(t, s) - p * s;
                        reply += (p * s).abs();
                    }
                    (dual, reply)
                }
                None => {
                    let ev = evaluate(model, prices, &extra, false, 1 << 13, None);
                    let reply = prices
                        .iter()
                        .zip(&ev.supply)
                        .map(|(p, s)| (p * s).abs())
                        .sum();
                    (ev.dual, reply)
                }
            };
            // The money at stake at these prices: the primal and dual objectives' sizes,
            // the payments for Q(t) and for the supply S_t(p) the prices call forth.
            ratio(
                primal_objective - dual,
                primal_objective.abs() + dual.abs() + money + reply,
            )
        }
        None => 0.0,
    };
    let mut c = Certificate {
        primal_infeasibility: r.primal.max(0.0),
        stationarity: stat,
        complementarity: r.comp,
        duality_gap,
        iterations: 0,
        status: Status::Unsolved,
    };
    if c.max_residual() <= CERTIFICATE_TOLERANCE {
        c.status = Status::Solved;
    }
    Ok((c, r.utility))
}

/// The loads' customers per row must be the model's (a grouped model's rows stand for
/// several customers each). Error names `loads.customers_per_row`.
pub(crate) fn check_counts(model: &ShapingModel, loads: &Loads) -> Result<(), ShapingError> {
    let customers = model.customers();
    let ok = match loads.counts() {
        None => !customers.is_grouped(),
        Some(c) => c == customers.counts(),
    };
    if ok {
        Ok(())
    } else {
        Err(ShapingError::Input(dr_convex::InputError::Invalid {
            field: "loads.customers_per_row".into(),
            message: format!(
                "the loads' customers per row differ from the model's ({} rows for {} \
                 customers; build grouped loads with Loads::grouped)",
                customers.len(),
                customers.population()
            ),
        }))
    }
}

/// The product of two relative factors of a complementarity term (0 when either is 0).
fn both(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        0.0
    } else {
        a * b
    }
}

/// `a / b` for a residual `a` and its scale `b ≥ 0`: 0 when `a = 0` (also for `b = 0`),
/// `∞` for `a ≠ 0` at scale 0, NaN propagated as `∞`.
fn ratio(a: f64, b: f64) -> f64 {
    if a == 0.0 {
        0.0
    } else if b > 0.0 && (a / b).is_finite() {
        a / b
    } else {
        f64::INFINITY
    }
}
