//! The strategic equilibrium through the monotone variational inequality of
//! chen-li-low-doyle-2010 condition (44) (Theorem 7):
//! find `q ∈ Π_i S_i` with `F(q)ᵀ(y − q) ≥ 0` for all `y ∈ Π_i S_i`, where
//! `F_{i,t}(q) = −(U_i'(q_i(t), t) − C'(Q(t), t) − q_i(t) C''(Q(t), t))` and `Q = Σ_i q_i`.
//!
//! This is the path for supply costs without the quadratic potential (user-supplied `C`);
//! it also solves quadratic ones (an independent cross-check of the potential Newton).
//! Solved by the kernel's [`dr_convex::solve_vi`] (Tseng's forward–backward–forward
//! method with backtracking) over [`dr_convex::BoxSumBlocks`] (one block of `T` periods
//! per customer, projected exactly), started from the competitive equilibrium's loads.
//!
//! The energy multiplier `μ_i = λ_i − λ̄_i` is recovered from the KKT conditions of the VI:
//! `μ_i = F_{i,t*}` at the period `t*` of largest load when a daily energy bound binds
//! (`max(·, 0)` at `Q_i`, `min(·, 0)` at `Q̄_i`), 0 otherwise; the prices are
//! `p(t) = C'(Q(t), t)`. The model-level [`crate::certificate`] then checks everything.
//!
//! # Rows of identical customers
//! A row standing for `m` identical customers ([`crate::Customers::set_count`]) is solved
//! once. The game is invariant under swapping identical customers and its equilibrium is
//! unique (Theorem 7: `F` strictly monotone), so the equilibrium is symmetric and lies in
//! the subspace where identical customers draw identical loads. On that subspace the
//! scaled variables `y_i = √m_i q_i` make the embedding `y ↦ (q_i repeated m_i times)` an
//! isometry: the full problem's projection onto `Π_i S_i`, its operator (scaled:
//! `G_i(y) = √m_i F_i(q)`, with `Q(t) = Σ_i m_i q_i(t)`) and its natural residual become the
//! reduced ones, so the kernel's method run on `y` takes exactly the steps it would take on
//! the full population started from the same symmetric point (each block's set
//! `{y ≥ 0, √m Q_i ≤ Σ_t y(t) ≤ √m Q̄_i}` is again a box-sum block). For `m = 1` nothing
//! changes.

use crate::equilibrium::{
    assemble, competitive_equilibrium, Behaviour, Equilibrium, Loads, Method,
};
use crate::error::ShapingError;
use crate::model::ShapingModel;
use dr_convex::parallel::{chunked_reduce, CHUNK};
use dr_convex::{solve_vi, BoxSumBlocks, FnOperator, ViSettings};
use rayon::prelude::*;

/// `F(q)` of condition (44) into `out` (both `N·T`, customer-major): the totals by fixed
/// chunks combined in order, then every customer's row on its own (parallel above 8192
/// customers; the same bits for any thread count).
///
/// Units: the kernel runs on `x̃ = x/X` with `F̃ = F/P` (`X`, `P` powers of two, see
/// [`dr_convex::solve_vi`]); `units = (X, P)` does that scaling here, in place, so the
/// kernel finds its problem already in units (`(1, 1)`) and allocates no `N·T` buffer per
/// call. Scaling by powers of two is exact: the same bits as the kernel's own scaling.
fn operator(model: &ShapingModel, roots: &[f64], (xs, ps): (f64, f64), y: &[f64], out: &mut [f64]) {
    let customers = model.customers();
    let supply = model.supply();
    let periods = model.periods();
    let n = y.len() / periods;
    let grouped = customers.is_grouped();
    // q_i = y_i / √m_i (m = 1: y itself).
    let load = |i: usize, t: usize| -> f64 {
        let x = y[i * periods + t] * xs;
        if grouped {
            x / roots[i]
        } else {
            x
        }
    };
    let total = chunked_reduce(
        n,
        THRESHOLD,
        vec![0.0; periods],
        |r| {
            let mut acc = vec![0.0; periods];
            for i in r {
                let m = customers.count(i) as f64;
                for (t, a) in acc.iter_mut().enumerate() {
                    *a += m * load(i, t);
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
    );
    let marginal: Vec<f64> = (0..periods).map(|t| supply.marginal(t, total[t])).collect();
    let curvature: Vec<f64> = (0..periods)
        .map(|t| supply.curvature(t, total[t]))
        .collect();
    let rows = |c: usize, block: &mut [f64]| {
        for (k, o) in block.chunks_mut(periods).enumerate() {
            let i = c * CHUNK + k;
            for t in 0..periods {
                let x = load(i, t);
                let f = customers.piece(i, t).derivative(x, 0.0) + marginal[t] + x * curvature[t];
                o[t] = (if grouped { roots[i] * f } else { f }) / ps;
            }
        }
    };
    if n >= THRESHOLD {
        out.par_chunks_mut(CHUNK * periods)
            .enumerate()
            .for_each(|(c, b)| rows(c, b));
    } else {
        out.chunks_mut(CHUNK * periods)
            .enumerate()
            .for_each(|(c, b)| rows(c, b));
    }
}

/// Population size from which the operator runs on the rayon pool.
const THRESHOLD: usize = 8192;

/// The Nash equilibrium (Theorem 7) as the solution of the monotone VI (module docs) with
/// the kernel's VI solver settings (`tolerance` is on the natural residual
/// `‖q − P_K(q − F(q))‖₂`).
pub fn strategic_equilibrium_vi(
    model: &ShapingModel,
    settings: &ViSettings,
) -> Result<Equilibrium, ShapingError> {
    let n = model.len();
    let periods = model.periods();
    let customers = model.customers();
    let grouped = customers.is_grouped();
    // √m_i of each row (module docs); 1 when no row is grouped.
    let roots: Vec<f64> = customers
        .counts()
        .iter()
        .map(|&m| (m as f64).sqrt())
        .collect();
    let scaled = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(&roots)
            .map(|(x, r)| x * r)
            .collect::<Vec<f64>>()
    };
    let (lo_sum, hi_sum) = if grouped {
        (
            scaled(customers.min_energy()),
            scaled(customers.max_energy()),
        )
    } else {
        (
            customers.min_energy().to_vec(),
            customers.max_energy().to_vec(),
        )
    };
    let set = BoxSumBlocks::new(
        periods,
        vec![0.0; n * periods],
        vec![f64::INFINITY; n * periods],
        lo_sum.clone(),
        hi_sum.clone(),
    )?;
    let start = competitive_equilibrium(model)?;
    let mut y0 = start.loads.as_slice().to_vec();
    if grouped {
        for (row, r) in y0.chunks_mut(periods).zip(&roots) {
            row.iter_mut().for_each(|x| *x *= r);
        }
    }
    // The kernel's units (its "Units" docs): X = ‖P_K(y0)‖_∞ and P = ‖F(P_K(y0))‖_∞, each
    // rounded to a power of two (a zero or non-finite scale is 1), applied here.
    let (xs, ps) = {
        let mut x = vec![0.0; n * periods];
        dr_convex::ConvexSet::project(&set, &y0, &mut x)?;
        let mut fx = vec![0.0; n * periods];
        operator(model, &roots, (1.0, 1.0), &x, &mut fx);
        (dr_convex::unit_of(&x), dr_convex::unit_of(&fx))
    };
    drop(set);
    let set = BoxSumBlocks::new(
        periods,
        vec![0.0; n * periods],
        vec![f64::INFINITY; n * periods],
        lo_sum.iter().map(|v| v / xs).collect(),
        hi_sum.iter().map(|v| v / xs).collect(),
    )?;
    y0.iter_mut().for_each(|v| *v /= xs);
    let op = FnOperator::new(n * periods, |y: &[f64], out: &mut [f64]| {
        operator(model, &roots, (xs, ps), y, out)
    });
    let mut sol = solve_vi(&op, &set, &y0, settings)?;
    drop(y0);
    sol.x.iter_mut().for_each(|v| *v *= xs);
    sol.operator_value.iter_mut().for_each(|v| *v *= ps);
    sol.step *= xs / ps;
    if grouped {
        // Back to loads q = y/√m and the operator F = G/√m.
        for ((row, f), r) in sol
            .x
            .chunks_mut(periods)
            .zip(sol.operator_value.chunks_mut(periods))
            .zip(&roots)
        {
            row.iter_mut().for_each(|x| *x /= r);
            f.iter_mut().for_each(|x| *x /= r);
        }
    }
    let loads = Loads::grouped(periods, sol.x, customers.counts().to_vec())?;
    let total = loads.total();
    let supply = model.supply();
    let prices: Vec<f64> = (0..periods).map(|t| supply.marginal(t, total[t])).collect();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    let f = &sol.operator_value;
    let mut mu = vec![0.0; n];
    for (i, m) in mu.iter_mut().enumerate() {
        let q = loads.customer(i);
        let energy: f64 = q.iter().sum();
        // Relative to the customer's own energy scale (no absolute floor).
        let mut escale = energy.abs().max(lo[i]);
        if hi[i].is_finite() {
            escale = escale.max(hi[i]);
        }
        let eps = 1e-9 * escale;
        let at_lo = energy <= lo[i] + eps;
        let at_hi = energy >= hi[i] - eps;
        if !(at_lo || at_hi) {
            continue;
        }
        let mut best = 0;
        for t in 1..periods {
            if q[t] > q[best] {
                best = t;
            }
        }
        let estimate = if q[best] > 0.0 {
            f.get(i * periods + best).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        *m = match (at_lo, at_hi) {
            (true, true) => estimate,
            (true, false) => estimate.max(0.0),
            _ => estimate.min(0.0),
        };
    }
    assemble(
        model,
        Behaviour::Strategic,
        Method::Vi,
        prices,
        loads,
        &mu,
        (sol.certificate.status, sol.certificate.iterations),
    )
}
