//! "Is this a Nash equilibrium?": every customer's exact best-response gain
//! (chen-li-low-doyle-2010 §IV-C, eq. 43).
//!
//! Given everyone's loads, customer `i` faces the others' total `Q_{−i}(t)` and maximises
//! `u_i(q) = Σ_t U_i(q(t), t) − q(t) C'(Q_{−i}(t) + q(t), t)` over `S_i`. Its per-period
//! cost `h_t(q) = −U_i(q, t) + q C'(Q_{−i}(t) + q, t)` is convex (for quadratic supply
//! costs `h_t'' = −U'' + 2 C'' > 0`), so the best response is a one-multiplier
//! water-filling ([`crate::response`]) whose per-period response solves
//! `U_i'(q) − C'(Q_{−i} + q) − q C''(Q_{−i} + q) = −λ`: in closed form for quadratic and log
//! utilities with a quadratic supply cost, by safeguarded Newton otherwise. The gain is
//! `u_i(best) − u_i(current) ≥ 0`; at a Nash equilibrium every gain is 0.
//!
//! A row standing for `m` identical customers ([`crate::Customers::set_count`]) is one
//! best response: each of its customers faces the same `Q_{−i} = Q − q_i` (the others
//! include the row's other `m − 1` customers through `Q`), so their gains are equal.

use crate::equilibrium::Loads;
use crate::error::ShapingError;
use crate::model::ShapingModel;
use crate::response::{water_fill, BestResponsePieces, CustomerPieces};
use dr_convex::parallel::CHUNK;
use rayon::prelude::*;
use serde::Serialize;

/// Every customer's best-response gain at a load profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NashGain {
    /// `u_i(best response) − u_i(current)` (≥ 0 up to rounding).
    pub gains: Vec<f64>,
    /// `gain_i / Σ_t (|U_i(q_i(t), t)| + |q_i(t) C'(Q(t), t)|)`: relative to the customer's
    /// own utility and bill (no floor: the same in any units).
    pub relative_gains: Vec<f64>,
    /// Largest gain.
    pub max_gain: f64,
    /// Largest relative gain.
    pub max_relative_gain: f64,
    /// The customer (row of the loads) with the largest relative gain.
    pub worst_customer: usize,
}

/// Each customer's exact best-response gain against the others' `loads` (module docs).
/// Errors name `loads` (shape) or `loads[i][t]` (not finite).
pub fn nash_gain(model: &ShapingModel, loads: &Loads) -> Result<NashGain, ShapingError> {
    nash_gain_from(model, loads, None)
}

/// [`nash_gain`] with each row's energy multiplier `μ_i` at `loads` (e.g. the equilibrium's
/// `λ_i − λ̄_i`) as the warm start of its best response's water-filling: at a Nash
/// equilibrium the best response's KKT multiplier is exactly `μ_i` (condition 44), so the
/// water-filling starts at its root. The same gains to the same tolerance.
pub(crate) fn nash_gain_from(
    model: &ShapingModel,
    loads: &Loads,
    guess: Option<&[f64]>,
) -> Result<NashGain, ShapingError> {
    let n = model.len();
    check_loads(model, loads)?;
    let total = loads.total();
    let guess = |i: usize| guess.and_then(|g| g.get(i)).copied().unwrap_or(f64::NAN);
    let mut gains = vec![0.0; n];
    let mut relative_gains = vec![0.0; n];
    gains
        .par_chunks_mut(CHUNK)
        .zip(relative_gains.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (g_out, r_out))| {
            let range = c * CHUNK..c * CHUNK + g_out.len();
            let first = range.start;
            chunk_gains(model, loads, &total, &guess, range, |i, gain, relative| {
                g_out[i - first] = gain;
                r_out[i - first] = relative;
            });
        });
    let mut worst_customer = 0;
    for (i, &r) in relative_gains.iter().enumerate() {
        if r > relative_gains[worst_customer] {
            worst_customer = i;
        }
    }
    Ok(NashGain {
        max_gain: gains.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        max_relative_gain: relative_gains[worst_customer],
        gains,
        relative_gains,
        worst_customer,
    })
}

/// [`nash_gain_from`]'s `(max_gain, max_relative_gain, worst_customer)` without its
/// per-customer vectors (for reports), with row `i`'s warm start `guess(i)`. The same
/// numbers bit for bit: each gain is computed by the same code, the largest gain is an
/// order-free `max` (NaN ignored, and no gain is `−0`: the cost sum starts at `+0`), and the
/// worst customer is the first row of the largest non-NaN relative gain, found per chunk
/// and combined in chunk order (row 0 when its relative gain is NaN, as the sequential
/// scan `r > r[worst]` gives).
pub(crate) fn nash_gain_summary(
    model: &ShapingModel,
    loads: &Loads,
    guess: &(dyn Fn(usize) -> f64 + Sync),
) -> Result<(f64, f64, usize), ShapingError> {
    let n = model.len();
    check_loads(model, loads)?;
    let total = loads.total();
    // Per chunk: its largest gain, the first row of its largest non-NaN relative gain, and
    // row 0's relative gain (chunk 0 only).
    type ChunkSummary = (f64, Option<(usize, f64)>, Option<f64>);
    let chunks: Vec<ChunkSummary> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(n);
            let mut max_gain = f64::NEG_INFINITY;
            let mut worst: Option<(usize, f64)> = None;
            let mut first_relative = None;
            chunk_gains(model, loads, &total, guess, range, |i, gain, relative| {
                max_gain = max_gain.max(gain);
                if i == 0 {
                    first_relative = Some(relative);
                }
                if !relative.is_nan() && worst.is_none_or(|(_, r)| relative > r) {
                    worst = Some((i, relative));
                }
            });
            (max_gain, worst, first_relative)
        })
        .collect();
    let max_gain = chunks
        .iter()
        .fold(f64::NEG_INFINITY, |m, &(g, _, _)| m.max(g));
    let first = chunks.first().and_then(|c| c.2).unwrap_or(f64::NAN);
    let (mut worst, mut worst_relative) = (0, first);
    if !first.is_nan() {
        for &(_, local, _) in &chunks {
            if let Some((i, r)) = local {
                if r > worst_relative {
                    (worst, worst_relative) = (i, r);
                }
            }
        }
    }
    Ok((max_gain, worst_relative, worst))
}

/// The loads' shape matches the model and every load is finite (errors name `loads`,
/// `loads[i][t]`).
fn check_loads(model: &ShapingModel, loads: &Loads) -> Result<(), ShapingError> {
    let n = model.len();
    let periods = model.periods();
    if loads.len() != n || loads.periods() != periods {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: "loads".into(),
            expected: n * periods,
            got: loads.as_slice().len(),
        }));
    }
    crate::equilibrium::check_counts(model, loads)?;
    for (k, &q) in loads.as_slice().iter().enumerate() {
        dr_convex::check_finite(|| format!("loads[{}][{}]", k / periods, k % periods), q)?;
    }
    Ok(())
}

/// The best-response gain and relative gain of each row of `range`, in order, passed to
/// `out(i, gain, relative)`.
fn chunk_gains(
    model: &ShapingModel,
    loads: &Loads,
    total: &[f64],
    guess: &(dyn Fn(usize) -> f64 + Sync),
    range: std::ops::Range<usize>,
    mut out: impl FnMut(usize, f64, f64),
) {
    let periods = model.periods();
    let customers = model.customers();
    let supply = model.supply();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    let quadratic = supply.as_quadratic();
    let mut others = vec![0.0; periods];
    let mut prices = vec![0.0; periods];
    let mut extra = vec![0.0; periods];
    let mut q = vec![0.0; periods];
    let mut s = vec![0.0; periods];
    for i in range {
        let current = loads.customer(i);
        let start = guess(i);
        let mut cost = 0.0;
        let mut scale = 0.0;
        for t in 0..periods {
            others[t] = total[t] - current[t];
            let x = current[t];
            let u = customers.piece(i, t).value(x, 0.0);
            let bill = x * supply.marginal(t, others[t] + x);
            cost += u + bill;
            scale += u.abs() + bill.abs();
        }
        let best = match quadratic {
            Some((c, e)) => {
                for t in 0..periods {
                    extra[t] = 2.0 * c[t];
                    prices[t] = c[t] * others[t] + e[t];
                }
                let pieces = CustomerPieces {
                    customers,
                    i,
                    extra: &extra,
                };
                water_fill(&pieces, &prices, lo[i], hi[i], &mut q, &mut s, start).objective
            }
            None => {
                let pieces = BestResponsePieces {
                    customers,
                    i,
                    supply,
                    others: &others,
                };
                prices.iter_mut().for_each(|p| *p = 0.0);
                water_fill(&pieces, &prices, lo[i], hi[i], &mut q, &mut s, start).objective
            }
        };
        let gain = cost - best;
        let scale = scale + best.abs();
        let relative = if gain <= 0.0 {
            gain / scale.max(f64::MIN_POSITIVE)
        } else if scale > 0.0 {
            gain / scale
        } else {
            f64::INFINITY
        };
        out(i, gain, relative);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary equals the full computation's maxima and worst row bit for bit, over
    /// several chunks, at loads that are not a Nash equilibrium (the competitive ones, so
    /// the gains differ from row to row) and at the Nash loads (gains at rounding level).
    #[test]
    fn summary_equals_the_full_gains() {
        let text = r#"
            periods = 6
            seed = 3
            [supply]
            curvature = [1e-4, 1e-4, 2e-4, 3e-4, 2e-4, 1e-4]
            linear = 0.05
            [[customers]]
            count = 7000
            utility = "quadratic"
            theta = [0.2, 0.3, 0.5, 0.6, 0.4, 0.2]
            kappa = 0.2
            min_energy = 2.0
            max_energy = 5.0
            jitter = 0.3
            roll = 2
            [[customers]]
            count = 3000
            utility = "log"
            weight = [0.4, 0.3, 0.2, 0.2, 0.3, 0.5]
            shift = 1.0
            min_energy = 3.0
            max_energy = 3.0
            jitter = 0.2
        "#;
        let file: crate::ShapingScenario = toml::from_str(text).unwrap();
        let model = file.to_model().unwrap();
        let ce = crate::competitive_equilibrium(&model).unwrap();
        let ne = crate::strategic_equilibrium(&model).unwrap();
        for loads in [&ce.loads, &ne.loads] {
            let full = nash_gain_from(&model, loads, None).unwrap();
            let (max_gain, max_relative, worst) =
                nash_gain_summary(&model, loads, &|_| f64::NAN).unwrap();
            assert_eq!(max_gain.to_bits(), full.max_gain.to_bits());
            assert_eq!(max_relative.to_bits(), full.max_relative_gain.to_bits());
            assert_eq!(worst, full.worst_customer);
        }
    }
}
