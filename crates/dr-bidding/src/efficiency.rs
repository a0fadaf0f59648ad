//! Efficiency loss of the Nash equilibrium (li-chen-dahleh-2015 §V: Theorem 5,
//! Corollary 4), the full market report, and the pure quadratic case (§VI, Theorem 6).

use crate::equilibrium::{competitive_equilibrium_with, nash_equilibrium_with, Equilibrium};
use crate::error::BiddingError;
use crate::market::{first_error, Costs, Direction, Market};
use dr_convex::parallel::{chunked_reduce, DEFAULT_PARALLEL_THRESHOLD};
use dr_convex::AllocatorSettings;
use serde::{Deserialize, Serialize};

/// Relative slack used when checking the theorems' inequalities on computed numbers.
const SLACK: f64 = 1e-9;

/// Theorem 5 and Corollary 4 of li-chen-dahleh-2015 evaluated on a market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// Number of customers `n = |N|`.
    pub customers: usize,
    /// `p* / p̄` (Fig. 3).
    pub price_ratio: f64,
    /// `C* / C̄` (Fig. 4; the efficiency loss).
    pub cost_ratio: f64,
    /// `M = max_i C_i'(d/n)`.
    pub marginal_cost_max: f64,
    /// `m = min_i C_i'(d/n)`.
    pub marginal_cost_min: f64,
    /// Theorem 5.2: `p*/p̄ ≤ ((n−1)/(n−2)) (M/m)`.
    pub price_ratio_bound: f64,
    /// `q̄_max = max_i q̄_i`, the largest competitive load.
    pub max_competitive_load: f64,
    /// The assumption of Theorem 5.3, `q̄_max < d/2`.
    pub max_load_below_half: bool,
    /// Theorem 5.3: `C*/C̄ ≤ 1 + q̄_max/(d − 2 q̄_max)`, when `q̄_max < d/2` (else `None`).
    pub cost_ratio_bound: Option<f64>,
    /// Some customer sheds its full capacity at either equilibrium. The paper's model has no
    /// capacities (footnote 3); the price bound of Theorem 5.2 is then not guaranteed
    /// (`p̄ ≤ p*` and the cost bound still are, *derived*).
    pub capacities_bind: bool,
    /// Theorem 5.1: `N̄ ⊆ N*` (every customer active at the competitive equilibrium is
    /// active at the Nash one).
    pub active_sets_nested: bool,
    /// `p̄ ≤ p* ≤ bound` holds (relative slack 1e-9).
    pub price_bounds_hold: bool,
    /// `C̄ ≤ C*`, and `C* ≤ bound · C̄` when the bound applies, hold (relative slack 1e-9).
    pub cost_bounds_hold: bool,
    /// All customers share one cost (Corollary 4).
    pub homogeneous: bool,
    /// Corollary 4: for homogeneous customers `p*/p̄ = (n−1)/(n−2)` and `C* = C̄`.
    pub homogeneous_price_ratio: Option<f64>,
}

/// Evaluates Theorem 5 / Corollary 4 for the two equilibria of `market`.
///
/// Errors: the equilibria do not belong to this market (lengths differ).
pub fn efficiency(
    market: &Market,
    competitive: &Equilibrium,
    nash: &Equilibrium,
) -> Result<Efficiency, BiddingError> {
    let n = market.len();
    for (name, eq) in [("competitive.loads", competitive), ("nash.loads", nash)] {
        if eq.loads.len() != n {
            return Err(BiddingError::Input(dr_convex::InputError::LengthMismatch {
                field: name.into(),
                expected: n,
                got: eq.loads.len(),
            }));
        }
    }
    let d = market.deficit();
    let x = d / n as f64;
    #[derive(Clone, Copy)]
    struct Acc {
        big_m: f64,
        small_m: f64,
        qmax: f64,
        nested: bool,
        at_cap: bool,
    }
    let acc = chunked_reduce(
        n,
        DEFAULT_PARALLEL_THRESHOLD,
        Acc {
            big_m: f64::NEG_INFINITY,
            small_m: f64::INFINITY,
            qmax: 0.0,
            nested: true,
            at_cap: false,
        },
        |r| {
            if let (Costs::Quadratic { linear, quadratic }, None) =
                (market.costs(), market.capacities())
            {
                let (a, h) = (&linear[r.clone()], &quadratic[r.clone()]);
                let (qc, qn) = (&competitive.loads[r.clone()], &nash.loads[r]);
                let (big_m, small_m, qmax, unnested) = quadratic_chunk(a, h, qc, qn, x);
                return Acc {
                    big_m,
                    small_m,
                    qmax,
                    nested: unnested == 0,
                    at_cap: false,
                };
            }
            let mut a = Acc {
                big_m: f64::NEG_INFINITY,
                small_m: f64::INFINITY,
                qmax: 0.0,
                nested: true,
                at_cap: false,
            };
            for i in r {
                let g = market.marginal_cost(i, x);
                a.big_m = a.big_m.max(g);
                a.small_m = a.small_m.min(g);
                let (qc, qn) = (competitive.loads[i], nash.loads[i]);
                a.qmax = a.qmax.max(qc);
                if qc > 0.0 && qn <= 0.0 {
                    a.nested = false;
                }
                let cap = market.capacity(i);
                if (qc > 0.0 && qc >= cap) || (qn > 0.0 && qn >= cap) {
                    a.at_cap = true;
                }
            }
            a
        },
        |a, b| Acc {
            big_m: a.big_m.max(b.big_m),
            small_m: a.small_m.min(b.small_m),
            qmax: a.qmax.max(b.qmax),
            nested: a.nested && b.nested,
            at_cap: a.at_cap || b.at_cap,
        },
    );
    let nf = n as f64;
    let factor = if n > 2 {
        (nf - 1.0) / (nf - 2.0)
    } else {
        f64::INFINITY
    };
    let price_ratio = nash.price / competitive.price;
    let cost_ratio = ratio(nash.total_cost, competitive.total_cost);
    let price_ratio_bound = factor * acc.big_m / acc.small_m;
    let below_half = acc.qmax < 0.5 * d;
    let cost_ratio_bound = below_half.then(|| 1.0 + acc.qmax / (d - 2.0 * acc.qmax));
    let price_bounds_hold =
        price_ratio >= 1.0 - SLACK && price_ratio <= price_ratio_bound * (1.0 + SLACK);
    let cost_bounds_hold = cost_ratio >= 1.0 - SLACK
        && cost_ratio_bound.is_none_or(|b| cost_ratio <= b * (1.0 + SLACK));
    let homogeneous = market.is_homogeneous();
    Ok(Efficiency {
        customers: n,
        price_ratio,
        cost_ratio,
        marginal_cost_max: acc.big_m,
        marginal_cost_min: acc.small_m,
        price_ratio_bound,
        max_competitive_load: acc.qmax,
        max_load_below_half: below_half,
        cost_ratio_bound,
        capacities_bind: acc.at_cap,
        active_sets_nested: acc.nested,
        price_bounds_hold,
        cost_bounds_hold,
        homogeneous,
        homogeneous_price_ratio: homogeneous.then_some(factor),
    })
}

/// One chunk of the efficiency pass for costs `a_i q + h_i q²` without capacities, in
/// blocks of eight lanes (a loop the compiler vectorises): `(max_i C_i'(x), min_i C_i'(x),
/// max_i q̄_i (from 0), #{i : q̄_i > 0, q*_i ≤ 0})` at `x = d/n`.
fn quadratic_chunk(a: &[f64], h: &[f64], qc: &[f64], qn: &[f64], x: f64) -> (f64, f64, f64, usize) {
    const LANES: usize = 8;
    let mut big = [f64::NEG_INFINITY; LANES];
    let mut small = [f64::INFINITY; LANES];
    let mut qmax = [0.0f64; LANES];
    let mut unnested = [0.0f64; LANES];
    // A macro, not a closure: a closure over the lane arrays keeps the loop scalar.
    macro_rules! item {
        ($k:expr, $a:expr, $h:expr, $qc:expr, $qn:expr) => {{
            let (k, g, qc, qn) = ($k, $a + 2.0 * $h * x, $qc, $qn);
            big[k] = if g > big[k] { g } else { big[k] };
            small[k] = if g < small[k] { g } else { small[k] };
            qmax[k] = if qc > qmax[k] { qc } else { qmax[k] };
            unnested[k] += if (qc > 0.0) & (qn <= 0.0) { 1.0 } else { 0.0 };
        }};
    }
    let blocks = a.len() / LANES * LANES;
    for j in (0..blocks).step_by(LANES) {
        let (a8, h8) = (&a[j..j + LANES], &h[j..j + LANES]);
        let (c8, n8) = (&qc[j..j + LANES], &qn[j..j + LANES]);
        for k in 0..LANES {
            item!(k, a8[k], h8[k], c8[k], n8[k]);
        }
    }
    for j in blocks..a.len() {
        item!(j - blocks, a[j], h[j], qc[j], qn[j]);
    }
    let max = |v: &[f64; LANES]| v.iter().fold(f64::NEG_INFINITY, |m, &y| m.max(y));
    let min = |v: &[f64; LANES]| v.iter().fold(f64::INFINITY, |m, &y| m.min(y));
    (
        max(&big),
        min(&small),
        max(&qmax),
        unnested.iter().sum::<f64>() as usize,
    )
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else if num == 0.0 {
        1.0
    } else {
        f64::INFINITY
    }
}

/// Both equilibria of a market and the efficiency loss between them (what `dr solve`
/// prints). Serialises as `{direction, deficit, customers, competitive: {price, loads, bids,
/// total_cost, …}, nash: {…}, efficiency: {price_ratio, cost_ratio, …}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketReport {
    /// Deficit or surplus.
    pub direction: Direction,
    /// The amount matched, `d > 0`.
    pub deficit: f64,
    /// Number of customers.
    pub customers: usize,
    /// Competitive equilibrium (Theorems 1–2).
    pub competitive: Equilibrium,
    /// Nash equilibrium (Theorems 3–4).
    pub nash: Equilibrium,
    /// Theorem 5 / Corollary 4.
    pub efficiency: Efficiency,
}

/// Solves both equilibria and the efficiency report (default kernel settings).
///
/// ```
/// use dr_bidding::{solve, Market};
/// // Homogeneous customers (Corollary 4): p*/p̄ = (n−1)/(n−2), C* = C̄.
/// let m = Market::quadratic(vec![1.0; 5], vec![2.0; 5], 10.0)?;
/// let r = solve(&m)?;
/// assert!((r.efficiency.price_ratio - 4.0 / 3.0).abs() < 1e-12);
/// assert!((r.efficiency.cost_ratio - 1.0).abs() < 1e-12);
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
pub fn solve(market: &Market) -> Result<MarketReport, BiddingError> {
    solve_with(market, &AllocatorSettings::default())
}

/// [`solve`] with explicit kernel settings.
pub fn solve_with(
    market: &Market,
    settings: &AllocatorSettings,
) -> Result<MarketReport, BiddingError> {
    let competitive = competitive_equilibrium_with(market, settings)?;
    let nash = nash_equilibrium_with(market, settings)?;
    let efficiency = efficiency(market, &competitive, &nash)?;
    Ok(MarketReport {
        direction: market.direction(),
        deficit: market.deficit(),
        customers: market.len(),
        competitive,
        nash,
        efficiency,
    })
}

fn check_curvatures(curvatures: &[f64]) -> Result<(), BiddingError> {
    if curvatures.is_empty() {
        return Err(BiddingError::Input(dr_convex::InputError::Empty {
            field: "curvature".into(),
        }));
    }
    first_error(curvatures.len(), |i| {
        dr_convex::check_positive(|| format!("curvature[{i}]"), curvatures[i])
            .map(|_| ())
            .map_err(Into::into)
    })
}

/// Theorem 6.1 (li-chen-dahleh-2015): with `C_i(q) = ½ c_i q²` the competitive bids are
/// `b̄_i = 1/c_i`, whatever the deficit. Errors name `curvature[i]`.
pub fn theorem6_competitive_bids(curvatures: &[f64]) -> Result<Vec<f64>, BiddingError> {
    check_curvatures(curvatures)?;
    Ok(curvatures.iter().map(|c| 1.0 / c).collect())
}

/// Customer `i`'s solution of eq. 30 given the total bid `B`: the root of
/// `c b² − (2 + c B) b + B = 0` with `b < B − b`, i.e. `b = 2B / (2 + cB + √(4 + c²B²))`.
fn theorem6_bid(c: f64, total: f64) -> f64 {
    2.0 * total / (2.0 + c * total + (4.0 + c * c * total * total).sqrt())
}

/// Theorem 6.2 (li-chen-dahleh-2015): the Nash bids for `C_i(q) = ½ c_i q²` solve
/// `b_i* = (1 − c_i b_i*) B_−i*` (eq. 30), independently of `d`.
///
/// Solved here without the allocator (an independent path): given the total bid `B`, each
/// equation is a quadratic in `b_i` with the single admissible root
/// `b_i(B) = 2B/(2 + c_i B + √(4 + c_i² B²))` (*derived*); `B` is the unique positive root
/// of `Σ_i b_i(B) = B`, found by bisection (`Σ b_i(B)/B` decreases from `n/2` to 0).
/// Errors: curvatures not positive (`curvature[i]`), fewer than 3 customers (Corollary 2).
pub fn theorem6_nash_bids(curvatures: &[f64]) -> Result<Vec<f64>, BiddingError> {
    check_curvatures(curvatures)?;
    if curvatures.len() < 3 {
        return Err(BiddingError::NashNeedsThreeSuppliers {
            field: "curvature".into(),
            suppliers: curvatures.len(),
        });
    }
    // φ(B) = Σ b_i(B)/B − 1 is decreasing; φ(Σ 1/c_i) < 0.
    let phi = |total: f64| -> f64 {
        curvatures
            .iter()
            .map(|&c| theorem6_bid(c, total) / total)
            .sum::<f64>()
            - 1.0
    };
    let mut hi: f64 = curvatures.iter().map(|c| 1.0 / c).sum();
    let mut lo = hi;
    let mut guard = 0;
    while phi(lo) <= 0.0 && guard < 2000 {
        hi = lo;
        lo *= 0.5;
        guard += 1;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if phi(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let total = 0.5 * (lo + hi);
    Ok(curvatures.iter().map(|&c| theorem6_bid(c, total)).collect())
}

/// Largest residual of eq. 30, `max_i |b_i − (1 − c_i b_i) B_−i| / Σ b`, for a bid profile.
/// Errors name `curvature[i]`, `bids[i]`, or `bids` (length, `Σ b = 0`).
pub fn theorem6_residual(curvatures: &[f64], bids: &[f64]) -> Result<f64, BiddingError> {
    check_curvatures(curvatures)?;
    if bids.len() != curvatures.len() {
        return Err(BiddingError::Input(dr_convex::InputError::LengthMismatch {
            field: "bids".into(),
            expected: curvatures.len(),
            got: bids.len(),
        }));
    }
    first_error(bids.len(), |i| {
        dr_convex::check_nonnegative(|| format!("bids[{i}]"), bids[i])
            .map(|_| ())
            .map_err(Into::into)
    })?;
    let total: f64 = bids.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err(BiddingError::ZeroTotalBid {
            field: "bids".into(),
        });
    }
    Ok(bids
        .iter()
        .zip(curvatures)
        .map(|(&b, &c)| (b - (1.0 - c * b) * (total - b)).abs())
        .fold(0.0, f64::max)
        / total)
}
