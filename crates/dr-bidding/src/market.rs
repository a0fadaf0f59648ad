//! The demand-response market: customers with convex shedding costs, optional capacities,
//! and the deficit (or surplus) the utility must match (li-chen-dahleh-2015 §II,
//! chen-li-low-doyle-2010 §III-A).
//!
//! Customer `i` sheds `q_i ≥ 0` at cost `C_i(q_i)`, convex, increasing, `C_i(0) = 0`
//! (li-chen-dahleh-2015 eq. 1 ff.), and at most its capacity `q_i ≤ q^max_i` (footnote 3 of
//! li-chen-dahleh-2015; absent = unlimited). The loads must cover the deficit:
//! `Σ_i q_i = d` (eq. 1).
//!
//! # Deficit or surplus
//! A *surplus* of `s` is the same model with the sign flipped (li-chen-dahleh-2015 §II:
//! "the case with a supply surplus can be handled in the same way"): customers *increase*
//! their load by `q_i ≥ 0` at disutility `C_i(q_i)`, `Σ q_i = s`, and the utility pays `p` per
//! unit. The direction is always explicit: every constructor takes the amount `d > 0` and
//! builds a deficit market (a negative or zero amount is an error naming `deficit` and its
//! value — it never silently turns into a surplus); [`Market::with_direction`] with
//! [`Direction::Surplus`] makes it a surplus market of the same amount. All formulas use the
//! magnitude [`Market::deficit`] `> 0`; [`Market::direction`] records which case it is and
//! [`Market::load_change`] turns a load into a signed change of consumption.
//!
//! # Storage
//! Linear-plus-quadratic and pure quadratic populations are stored as struct-of-arrays
//! ([`Costs::Quadratic`]: one `Vec<f64>` for `a`, one for `h`), so markets of 10⁷ customers
//! solve in milliseconds; user-supplied costs ([`Costs::General`]) are any
//! [`ConvexScalar`].

use crate::error::BiddingError;
use dr_convex::parallel::{chunked_reduce, deterministic_sum, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::ConvexScalar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Whether the utility faces a deficit (customers shed load) or a surplus (customers absorb
/// load) — li-chen-dahleh-2015 §II.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Supply deficit `d`: customers shed `q_i`, consumption falls by `q_i`.
    Deficit,
    /// Supply surplus `s`: customers absorb `q_i`, consumption rises by `q_i`.
    Surplus,
}

/// One customer's cost of shedding, as given by a user.
#[derive(Debug, Clone)]
pub enum CustomerCost {
    /// `C(q) = a q + h q²`, `a ≥ 0`, `h > 0` (li-chen-dahleh-2015 §VII, eq. 28).
    LinearQuadratic {
        /// Linear coefficient `a` (marginal cost at zero, `C'(0)`).
        linear: f64,
        /// Quadratic coefficient `h`.
        quadratic: f64,
    },
    /// `C(q) = ½ c q²`, `c > 0` (li-chen-dahleh-2015 §VI, Theorem 6).
    HalfQuadratic {
        /// Curvature `c`.
        curvature: f64,
    },
    /// Any convex, increasing cost with `C(0) = 0` (li-chen-dahleh-2015 §II), e.g. a
    /// [`dr_convex::ClosureConvex`].
    General(Arc<dyn ConvexScalar>),
}

/// The customers' costs, stored by kind.
#[derive(Debug, Clone)]
pub enum Costs {
    /// `C_i(q) = a_i q + h_i q²` as struct-of-arrays (a pure quadratic `½ c q²` is
    /// `a = 0`, `h = c/2`).
    Quadratic {
        /// `a_i ≥ 0`.
        linear: Vec<f64>,
        /// `h_i > 0`.
        quadratic: Vec<f64>,
    },
    /// User-supplied convex costs.
    General(Vec<Arc<dyn ConvexScalar>>),
}

/// Customers drawn from one counter-based ChaCha8 stream by [`Market::drawn`] (chunk `c`
/// uses stream `c` of the seed): fixed, so draws do not depend on the number of threads.
pub const DRAW_CHUNK: usize = 1 << 16;

/// The ChaCha8 stream of chunk `c` of a drawn population: seeded with `seed`, stream `c`,
/// from its first word.
fn draw_stream(seed: u64, c: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(c as u64);
    rng
}

/// Largest population [`Market::drawn`] accepts (`10⁹` customers, 16 GB of coefficients).
pub const MAX_DRAWN: usize = 1_000_000_000;

/// A validated supply-function-bidding market (li-chen-dahleh-2015 §II).
#[derive(Debug, Clone)]
pub struct Market {
    deficit: f64,
    direction: Direction,
    costs: Costs,
    capacity: Option<Vec<f64>>,
}

/// First error of `check(i)` over `0..n` in index order (parallel above the threshold,
/// deterministic).
pub(crate) fn first_error<F>(n: usize, check: F) -> Result<(), BiddingError>
where
    F: Fn(usize) -> Result<(), BiddingError> + Sync + Send,
{
    let found = chunked_reduce(
        n,
        DEFAULT_PARALLEL_THRESHOLD,
        None,
        |range| {
            for i in range {
                if let Err(e) = check(i) {
                    return Some(e);
                }
            }
            None
        },
        |a: Option<BiddingError>, b| a.or(b),
    );
    match found {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn split_deficit(deficit: f64) -> Result<(f64, Direction), BiddingError> {
    dr_convex::check_finite(|| "deficit".into(), deficit)?;
    if deficit > 0.0 {
        Ok((deficit, Direction::Deficit))
    } else {
        Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
            field: "deficit".into(),
            value: deficit,
            requirement: "must be > 0 (the amount the customers shed); for a surplus build \
                          the market with .with_direction(Direction::Surplus), or write \
                          `surplus = …` in a scenario file"
                .into(),
        }))
    }
}

fn check_quadratic(
    linear: &[f64],
    quadratic: &[f64],
    linear_name: &(dyn Fn(usize) -> String + Sync),
    quadratic_name: &(dyn Fn(usize) -> String + Sync),
) -> Result<(), BiddingError> {
    first_error(linear.len(), |i| {
        dr_convex::check_nonnegative(|| linear_name(i), linear[i])?;
        dr_convex::check_positive(|| quadratic_name(i), quadratic[i])?;
        Ok(())
    })
}

/// Samples a general cost on `[0, d]`: `C(0) = 0`, `C'(0) ≥ 0`, `C'` finite and
/// non-decreasing, `C'' ≥ 0` (li-chen-dahleh-2015 §II assumptions).
fn check_general(cost: &dyn ConvexScalar, d: f64, name: &str) -> Result<(), BiddingError> {
    let (lo, hi) = cost.domain();
    if !(lo <= 0.0 && hi > 0.0) {
        return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
            field: format!("{name}.domain"),
            value: if lo > 0.0 { lo } else { hi },
            requirement: "the domain must contain [0, ε): C(0) = 0 must be finite".into(),
        }));
    }
    let top = if hi > d { d } else { hi - 1e-6 * hi };
    let top_value = cost.value(top);
    let v0 = cost.value(0.0);
    dr_convex::check_finite(|| format!("{name}.value(0)"), v0)?;
    // Relative to the cost's own size on [0, d] (no unit floor: costs of 1e-12 count).
    if v0.abs() > 1e-9 * top_value.abs() {
        return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
            field: format!("{name}.value(0)"),
            value: v0,
            requirement: "must be 0 (C_i(0) = 0)".into(),
        }));
    }
    let d0 = cost.derivative(0.0);
    dr_convex::check_nonnegative(|| format!("{name}.derivative(0)"), d0)?;
    let samples = 32;
    let mut prev = f64::NEG_INFINITY;
    for k in 0..=samples {
        let x = top * k as f64 / samples as f64;
        let g = cost.derivative(x);
        dr_convex::check_finite(|| format!("{name}.derivative({x})"), g)?;
        let c = cost.second_derivative(x);
        // `+∞` is a legitimate curvature (e.g. `q^k`, 1 < k < 2, at 0); NaN or −∞ is not.
        if c.is_nan() || c == f64::NEG_INFINITY {
            return Err(BiddingError::Input(dr_convex::InputError::NotFinite {
                field: format!("{name}.second_derivative({x})"),
                value: c,
            }));
        }
        // Rounding slack relative to the marginal costs themselves (no absolute floor).
        if k > 0 && g < prev - 1e-12 * g.abs().max(prev.abs()) {
            let px = top * (k - 1) as f64 / samples as f64;
            return Err(BiddingError::NotConvex {
                field: format!("{name}.derivative({x})"),
                message: format!(
                    "the marginal cost decreases: C'({px}) = {prev} > C'({x}) = {g}; a cost \
                     must be convex, with a non-decreasing marginal cost C'"
                ),
            });
        }
        if c < 0.0 {
            return Err(BiddingError::NotConvex {
                field: format!("{name}.second_derivative({x})"),
                message: format!(
                    "C''({x}) = {c} < 0: a cost must be convex (C'' >= 0), the marginal cost \
                     C' = {g} is non-decreasing only if C'' >= 0"
                ),
            });
        }
        prev = g;
    }
    Ok(())
}

impl Market {
    /// A deficit market from per-customer costs and the deficit `d > 0` (see
    /// [`Market::with_direction`] for a surplus). A `deficit ≤ 0` is an error naming
    /// `deficit` and its value.
    ///
    /// When every cost is [`CustomerCost::LinearQuadratic`] or
    /// [`CustomerCost::HalfQuadratic`] the market is stored as struct-of-arrays
    /// ([`Costs::Quadratic`]); otherwise as [`Costs::General`]. Errors name the customer:
    /// `costs[3].quadratic`, `costs[1].second_derivative(0.5)`.
    pub fn new(costs: Vec<CustomerCost>, deficit: f64) -> Result<Self, BiddingError> {
        let (d, direction) = split_deficit(deficit)?;
        if costs.is_empty() {
            return Err(BiddingError::Input(dr_convex::InputError::Empty {
                field: "costs".into(),
            }));
        }
        for (i, c) in costs.iter().enumerate() {
            match c {
                CustomerCost::LinearQuadratic { linear, quadratic } => {
                    dr_convex::check_nonnegative(|| format!("costs[{i}].linear"), *linear)?;
                    dr_convex::check_positive(|| format!("costs[{i}].quadratic"), *quadratic)?;
                }
                CustomerCost::HalfQuadratic { curvature } => {
                    dr_convex::check_positive(|| format!("costs[{i}].curvature"), *curvature)?;
                }
                CustomerCost::General(g) => check_general(g.as_ref(), d, &format!("costs[{i}]"))?,
            }
        }
        let all_quadratic = costs.iter().all(|c| !matches!(c, CustomerCost::General(_)));
        let costs = if all_quadratic {
            let (linear, quadratic) = costs
                .iter()
                .map(|c| match c {
                    CustomerCost::LinearQuadratic { linear, quadratic } => (*linear, *quadratic),
                    CustomerCost::HalfQuadratic { curvature } => (0.0, 0.5 * curvature),
                    CustomerCost::General(_) => (f64::NAN, f64::NAN),
                })
                .unzip();
            Costs::Quadratic { linear, quadratic }
        } else {
            Costs::General(
                costs
                    .into_iter()
                    .map(|c| -> Arc<dyn ConvexScalar> {
                        match c {
                            CustomerCost::LinearQuadratic { linear, quadratic } => {
                                Arc::new(dr_convex::LinearQuadraticCost { linear, quadratic })
                            }
                            CustomerCost::HalfQuadratic { curvature } => {
                                Arc::new(dr_convex::HalfQuadraticCost { curvature })
                            }
                            CustomerCost::General(g) => g,
                        }
                    })
                    .collect(),
            )
        };
        Ok(Self {
            deficit: d,
            direction,
            costs,
            capacity: None,
        })
    }

    /// Customers with `C_i(q) = a_i q + h_i q²` (struct-of-arrays; li-chen-dahleh-2015
    /// §VII-B). Errors name `linear[i]` (must be ≥ 0) or `quadratic[i]` (must be > 0).
    pub fn quadratic(
        linear: Vec<f64>,
        quadratic: Vec<f64>,
        deficit: f64,
    ) -> Result<Self, BiddingError> {
        let (d, direction) = split_deficit(deficit)?;
        if linear.is_empty() {
            return Err(BiddingError::Input(dr_convex::InputError::Empty {
                field: "linear".into(),
            }));
        }
        if quadratic.len() != linear.len() {
            return Err(BiddingError::Input(dr_convex::InputError::LengthMismatch {
                field: "quadratic".into(),
                expected: linear.len(),
                got: quadratic.len(),
            }));
        }
        check_quadratic(&linear, &quadratic, &|i| format!("linear[{i}]"), &|i| {
            format!("quadratic[{i}]")
        })?;
        Ok(Self {
            deficit: d,
            direction,
            costs: Costs::Quadratic { linear, quadratic },
            capacity: None,
        })
    }

    /// Customers with pure quadratic costs `C_i(q) = ½ c_i q²` (li-chen-dahleh-2015 §VI).
    /// Errors name `curvature[i]`.
    pub fn half_quadratic(curvature: &[f64], deficit: f64) -> Result<Self, BiddingError> {
        let (d, direction) = split_deficit(deficit)?;
        if curvature.is_empty() {
            return Err(BiddingError::Input(dr_convex::InputError::Empty {
                field: "curvature".into(),
            }));
        }
        first_error(curvature.len(), |i| {
            dr_convex::check_positive(|| format!("curvature[{i}]"), curvature[i])
                .map(|_| ())
                .map_err(Into::into)
        })?;
        Ok(Self {
            deficit: d,
            direction,
            costs: Costs::Quadratic {
                linear: vec![0.0; curvature.len()],
                quadratic: curvature.iter().map(|c| 0.5 * c).collect(),
            },
            capacity: None,
        })
    }

    /// Customers with user-supplied convex costs. Each is sampled on `[0, d]`
    /// (`C(0) = 0`, `C'(0) ≥ 0`, `C'' ≥ 0`); errors name `costs[i]`.
    pub fn general(costs: Vec<Arc<dyn ConvexScalar>>, deficit: f64) -> Result<Self, BiddingError> {
        Self::new(
            costs.into_iter().map(CustomerCost::General).collect(),
            deficit,
        )
    }

    /// A drawn population (li-chen-dahleh-2015 §VII-A): `count` customers with
    /// `C_i(q) = a_i q + h_i q²`, `a_i ~ U[linear[0], linear[1]]`,
    /// `h_i ~ U[quadratic[0], quadratic[1]]`, drawn customer by customer (`a_i` then `h_i`)
    /// from counter-based ChaCha8 streams: customers `c·DRAW_CHUNK .. (c+1)·DRAW_CHUNK`
    /// come from ChaCha8 seeded with `seed` on stream `c` ([`DRAW_CHUNK`] = 65 536
    /// customers a chunk). The chunks are drawn in parallel (rayon) and the result is
    /// bit-identical for any number of threads; the first `k` customers of a larger draw
    /// equal a draw of `k`, and a draw of at most one chunk is the plain sequential ChaCha8
    /// stream of `seed` (stream 0). Errors name `population.count`, `population.linear`,
    /// `population.quadratic`.
    pub fn drawn(
        count: usize,
        linear: [f64; 2],
        quadratic: [f64; 2],
        seed: u64,
        deficit: f64,
    ) -> Result<Self, BiddingError> {
        let (d, direction) = split_deficit(deficit)?;
        if count == 0 {
            return Err(BiddingError::Input(dr_convex::InputError::Empty {
                field: "population.count".into(),
            }));
        }
        if count > MAX_DRAWN {
            return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                field: "population.count".into(),
                value: count as f64,
                requirement: "must be <= 1e9 (16 GB of coefficients)".into(),
            }));
        }
        for (name, range, positive) in [("linear", linear, false), ("quadratic", quadratic, true)] {
            let lo_name = || format!("population.{name}[0]");
            if positive {
                dr_convex::check_positive(lo_name, range[0])?;
            } else {
                dr_convex::check_nonnegative(lo_name, range[0])?;
            }
            dr_convex::check_finite(|| format!("population.{name}[1]"), range[1])?;
            if range[1] < range[0] {
                return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("population.{name}[1]"),
                    value: range[1],
                    requirement: "the upper end of the range must be >= the lower end".into(),
                }));
            }
        }
        // 16 bytes a customer; a refused reservation is an error, never an abort. The
        // probe only reserves address space; the columns are then allocated zeroed (pages
        // mapped on first write, by the thread that draws them).
        let mut probe: Vec<f64> = Vec::new();
        if probe.try_reserve_exact(count.saturating_mul(2)).is_err() {
            return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                field: "population.count".into(),
                value: count as f64,
                requirement: "too large for this machine's memory (16 bytes of coefficients a \
                              customer, more to solve)"
                    .into(),
            }));
        }
        drop(probe);
        let mut a = vec![0.0f64; count];
        let mut h = vec![0.0f64; count];
        let draw = |c: usize, a: &mut [f64], h: &mut [f64]| {
            let mut rng = draw_stream(seed, c);
            for (ai, hi) in a.iter_mut().zip(h.iter_mut()) {
                *ai = linear[0] + (linear[1] - linear[0]) * rng.gen::<f64>();
                *hi = quadratic[0] + (quadratic[1] - quadratic[0]) * rng.gen::<f64>();
            }
        };
        if count > DRAW_CHUNK {
            a.par_chunks_mut(DRAW_CHUNK)
                .zip(h.par_chunks_mut(DRAW_CHUNK))
                .enumerate()
                .for_each(|(c, (a, h))| draw(c, a, h));
        } else {
            draw(0, &mut a, &mut h);
        }
        Ok(Self {
            deficit: d,
            direction,
            costs: Costs::Quadratic {
                linear: a,
                quadratic: h,
            },
            capacity: None,
        })
    }

    /// The same market facing a deficit or a surplus of the same amount `d`
    /// (li-chen-dahleh-2015 §II: a surplus is the deficit model with the sign flipped).
    ///
    /// ```
    /// use dr_bidding::{Direction, Market};
    /// let m = Market::quadratic(vec![1.0; 3], vec![0.5; 3], 3.0)?.with_direction(Direction::Surplus);
    /// assert_eq!(m.signed_deficit(), -3.0);
    /// // A negative amount is an error, never a surplus in disguise.
    /// assert!(Market::quadratic(vec![1.0; 3], vec![0.5; 3], -3.0).is_err());
    /// # Ok::<(), dr_bidding::BiddingError>(())
    /// ```
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Adds capacities `q_i ≤ capacity[i]` (li-chen-dahleh-2015 footnote 3); `+∞` means no
    /// limit, `0` a customer who cannot shed. Errors name `capacity[i]` (NaN, negative),
    /// `capacity` (wrong length) or, when `Σ capacity < d`, [`BiddingError::Infeasible`].
    pub fn with_capacity(mut self, capacity: Vec<f64>) -> Result<Self, BiddingError> {
        if capacity.len() != self.len() {
            return Err(BiddingError::Input(dr_convex::InputError::LengthMismatch {
                field: "capacity".into(),
                expected: self.len(),
                got: capacity.len(),
            }));
        }
        first_error(capacity.len(), |i| {
            let c = capacity[i];
            if c.is_nan() {
                return Err(BiddingError::Input(dr_convex::InputError::NotFinite {
                    field: format!("capacity[{i}]"),
                    value: c,
                }));
            }
            if c < 0.0 {
                return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                    field: format!("capacity[{i}]"),
                    value: c,
                    requirement: "must be >= 0".into(),
                }));
            }
            Ok(())
        })?;
        let total = deterministic_sum(capacity.len(), DEFAULT_PARALLEL_THRESHOLD, |i| capacity[i]);
        if total < self.deficit {
            return Err(BiddingError::Infeasible {
                field: "capacity".into(),
                deficit: self.deficit,
                max: total,
            });
        }
        self.capacity = Some(capacity);
        Ok(self)
    }

    /// Adds the same capacity `q_i ≤ capacity` for every customer (see
    /// [`Market::with_capacity`]).
    pub fn with_uniform_capacity(self, capacity: f64) -> Result<Self, BiddingError> {
        let n = self.len();
        self.with_capacity(vec![capacity; n])
    }

    /// Number of customers `|N|`.
    pub fn len(&self) -> usize {
        match &self.costs {
            Costs::Quadratic { linear, .. } => linear.len(),
            Costs::General(c) => c.len(),
        }
    }

    /// Always false: a market has at least one customer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The amount to match, `d > 0` (deficit to shed, or surplus to absorb).
    pub fn deficit(&self) -> f64 {
        self.deficit
    }

    /// Deficit or surplus.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The signed amount as given: `d` for a deficit, `−s` for a surplus.
    pub fn signed_deficit(&self) -> f64 {
        match self.direction {
            Direction::Deficit => self.deficit,
            Direction::Surplus => -self.deficit,
        }
    }

    /// The signed change of customer consumption for a load `q ≥ 0`: `−q` when shedding a
    /// deficit, `+q` when absorbing a surplus.
    pub fn load_change(&self, q: f64) -> f64 {
        match self.direction {
            Direction::Deficit => -q,
            Direction::Surplus => q,
        }
    }

    /// The stored costs.
    pub fn costs(&self) -> &Costs {
        &self.costs
    }

    /// The capacities, if any were given.
    pub fn capacities(&self) -> Option<&[f64]> {
        self.capacity.as_deref()
    }

    /// Capacity of customer `i` (`+∞` without one). Panics if `i ≥ len`.
    #[inline]
    pub fn capacity(&self, i: usize) -> f64 {
        match &self.capacity {
            Some(c) => c[i],
            None => f64::INFINITY,
        }
    }

    /// Number of customers able to shed load (positive capacity).
    pub fn suppliers(&self) -> usize {
        match &self.capacity {
            Some(c) => chunked_reduce(
                c.len(),
                DEFAULT_PARALLEL_THRESHOLD,
                0usize,
                |r| r.filter(|&i| c[i] > 0.0).count(),
                |a, b| a + b,
            ),
            None => self.len(),
        }
    }

    /// `C_i(q)`. Panics if `i ≥ len`.
    #[inline]
    pub fn cost(&self, i: usize, q: f64) -> f64 {
        match &self.costs {
            Costs::Quadratic { linear, quadratic } => (linear[i] + quadratic[i] * q) * q,
            Costs::General(c) => c[i].value(q),
        }
    }

    /// Marginal cost `C_i'(q)`. Panics if `i ≥ len`.
    #[inline]
    pub fn marginal_cost(&self, i: usize, q: f64) -> f64 {
        match &self.costs {
            Costs::Quadratic { linear, quadratic } => linear[i] + 2.0 * quadratic[i] * q,
            Costs::General(c) => c[i].derivative(q),
        }
    }

    /// Base load-shedding marginal cost `C_i^0 = C_i'(0⁺)` (li-chen-dahleh-2015 §III-A), which
    /// orders the water-filling of Theorems 2 and 4. Panics if `i ≥ len`.
    #[inline]
    pub fn base_marginal_cost(&self, i: usize) -> f64 {
        self.marginal_cost(i, 0.0)
    }

    /// Customers sorted by `C_i'(0)` (ties by index): the order in which Theorems 2 and 4
    /// fill them (li-chen-dahleh-2015 §III-A, `C_1^0 ≤ C_2^0 ≤ …`).
    pub fn water_filling_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&i, &j| {
            self.base_marginal_cost(i)
                .total_cmp(&self.base_marginal_cost(j))
                .then(i.cmp(&j))
        });
        order
    }

    /// True when the costs are stored as struct-of-arrays `a q + h q²`.
    pub fn is_quadratic(&self) -> bool {
        matches!(self.costs, Costs::Quadratic { .. })
    }

    /// The curvatures `c_i` when every cost is pure quadratic `½ c_i q²` (`a_i = 0`) and no
    /// capacity is set: the setting of li-chen-dahleh-2015 Theorem 6.
    pub fn pure_quadratic_curvatures(&self) -> Option<Vec<f64>> {
        match (&self.costs, &self.capacity) {
            (Costs::Quadratic { linear, quadratic }, None) if linear.iter().all(|&a| a == 0.0) => {
                Some(quadratic.iter().map(|h| 2.0 * h).collect())
            }
            _ => None,
        }
    }

    /// True when every customer has the same cost and no capacity is set (the homogeneous
    /// case of li-chen-dahleh-2015 Corollary 4). General costs count as homogeneous only
    /// when they are the same shared object.
    pub fn is_homogeneous(&self) -> bool {
        if self.capacity.is_some() {
            return false;
        }
        match &self.costs {
            Costs::Quadratic { linear, quadratic } => {
                linear.iter().all(|&a| a == linear[0])
                    && quadratic.iter().all(|&h| h == quadratic[0])
            }
            Costs::General(c) => c.iter().all(|g| Arc::ptr_eq(g, &c[0])),
        }
    }
}
