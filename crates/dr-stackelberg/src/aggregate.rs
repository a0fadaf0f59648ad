//! Aggregate consumer response at given prices, without materialising `N × K × T` numbers.
//!
//! For consumers with uniform weights (eq. 3) the exact best response buys the `m` cheapest
//! entries at spend `A − ζ p_j` (see [`crate::consumer`]), so one pass over the classes
//! (`O(log KT)` each, deterministic chunked sums) accumulates, per active count `m`,
//! `Σ count · A`, `Σ count · ζ` and `Σ count · ζ / m`; suffix sums over the price ranks then
//! give the aggregate spend per entry and the Jacobian of the market-clearing map. Classes
//! with eq. 28 weights are handled one by one.

use crate::consumer::{water_fill_unchecked, SortedPrices};
use crate::model::Market;
use dr_convex::parallel::{chunked_reduce, DEFAULT_PARALLEL_THRESHOLD};
use faer::Mat;

/// The aggregate response at one price vector.
#[derive(Debug, Clone)]
pub(crate) struct Aggregate {
    /// `Σ_n count_n p_j d_{n,j}` per entry (aggregate spend = `p_j D_j`).
    pub spend: Vec<f64>,
    /// `Σ_n count_n φ_n(p)` over uniform classes (the potential whose gradient is the spend).
    pub potential: f64,
    /// Classes with at least one zero demand.
    pub noninterior: usize,
    /// `−∂ spend / ∂ p` (dense), when requested.
    pub neg_jacobian: Option<Mat<f64>>,
}

#[derive(Clone)]
struct Acc {
    level: Vec<f64>,
    zeta: Vec<f64>,
    weight: Vec<f64>,
    potential: f64,
    noninterior: usize,
}

impl Acc {
    fn new(n: usize) -> Self {
        Self {
            level: vec![0.0; n + 1],
            zeta: vec![0.0; n + 1],
            weight: vec![0.0; n + 1],
            potential: 0.0,
            noninterior: 0,
        }
    }
    fn merge(mut self, o: Acc) -> Acc {
        for m in 0..self.level.len() {
            self.level[m] += o.level[m];
            self.zeta[m] += o.zeta[m];
            self.weight[m] += o.weight[m];
        }
        self.potential += o.potential;
        self.noninterior += o.noninterior;
        self
    }
}

/// Aggregate response of every class at `prices` (positive, validated by the caller).
pub(crate) fn aggregate(market: &Market, prices: &[f64], jacobian: bool) -> Aggregate {
    let n = prices.len();
    let sorted = SortedPrices::new(prices);
    let cons = market.consumers();
    let specific = &cons.specific;
    let classes = cons.len();
    let acc = chunked_reduce(
        classes,
        DEFAULT_PARALLEL_THRESHOLD,
        Acc::new(n),
        |range| {
            let mut a = Acc::new(n);
            // Specific classes are sorted by index: skip them with a moving cursor.
            let mut cursor = specific.partition_point(|s| s.0 < range.start);
            for i in range {
                if cursor < specific.len() && specific[cursor].0 == i {
                    cursor += 1;
                    continue;
                }
                let (c, b, z) = (cons.count[i], cons.budget[i], cons.zeta[i]);
                let r = sorted.respond(b, z);
                let m = r.active;
                a.level[m] += c * r.level;
                a.zeta[m] += c * z;
                a.weight[m] += c * z / m as f64;
                a.potential += c * sorted.potential(r, b, z);
                if m < n {
                    a.noninterior += 1;
                }
            }
            a
        },
        Acc::merge,
    );
    // Suffix sums over m > r.
    let mut s_level = vec![0.0; n + 1];
    let mut s_zeta = vec![0.0; n + 1];
    let mut s_weight = vec![0.0; n + 1];
    for r in (0..n).rev() {
        s_level[r] = s_level[r + 1] + acc.level[r + 1];
        s_zeta[r] = s_zeta[r + 1] + acc.zeta[r + 1];
        s_weight[r] = s_weight[r + 1] + acc.weight[r + 1];
    }
    let mut spend = vec![0.0; n];
    for (j, s) in spend.iter_mut().enumerate() {
        let r = sorted.rank[j];
        *s = s_level[r] - s_zeta[r] * prices[j];
    }
    let mut neg_jacobian = if jacobian {
        Some(Mat::<f64>::from_fn(n, n, |i, j| {
            let (ri, rj) = (sorted.rank[i], sorted.rank[j]);
            let off = -s_weight[ri.max(rj)];
            if i == j {
                off + s_zeta[ri]
            } else {
                off
            }
        }))
    } else {
        None
    };
    let mut noninterior = acc.noninterior;
    for (class, w) in specific {
        let prefs = crate::model::Preferences {
            gamma: crate::model::Weights::PerEntry(&w.gamma),
            zeta: crate::model::Weights::PerEntry(&w.zeta),
        };
        let c = cons.count[*class];
        let (demand, _lambda, inactive) = water_fill_unchecked(prices, cons.budget[*class], prefs);
        if inactive > 0 {
            noninterior += 1;
        }
        for j in 0..n {
            spend[j] += c * prices[j] * demand[j];
        }
        if let Some(jac) = neg_jacobian.as_mut() {
            // e_i = γ_i μ − ζ_i p_i on the active set A, μ = (B + Σ_A ζ p) / Γ_A:
            // ∂e_i/∂p_j = γ_i ζ_j / Γ_A − δ_ij ζ_i.
            let active: Vec<usize> = (0..n).filter(|&j| demand[j] > 0.0).collect();
            let gamma_a: f64 = active.iter().map(|&j| w.gamma[j]).sum();
            if gamma_a > 0.0 {
                for &i in &active {
                    for &j in &active {
                        jac[(i, j)] -= c * w.gamma[i] * w.zeta[j] / gamma_a;
                    }
                    jac[(i, i)] += c * w.zeta[i];
                }
            }
        }
    }
    Aggregate {
        spend,
        potential: acc.potential,
        noninterior,
        neg_jacobian,
    }
}

/// Aggregate demand `D_j = Σ_n count_n d_{n,j}` of every consumer's exact best response
/// (with `d ≥ 0`) at `prices` (flat, positive).
pub(crate) fn aggregate_demand(market: &Market, prices: &[f64]) -> Vec<f64> {
    aggregate(market, prices, false)
        .spend
        .iter()
        .zip(prices)
        .map(|(s, p)| s / p)
        .collect()
}
