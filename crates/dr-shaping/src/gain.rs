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
    let customers = model.customers();
    let supply = model.supply();
    let total = loads.total();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    let quadratic = supply.as_quadratic();
    // Each row's gain is computed by its own loop into its own entry (no reduction), in
    // parallel over fixed chunks: the same bits for any thread count, and no per-chunk
    // buffers to concatenate.
    let mut gains = vec![0.0; n];
    let mut relative_gains = vec![0.0; n];
    gains
        .par_chunks_mut(CHUNK)
        .zip(relative_gains.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (g_out, r_out))| {
            let range = c * CHUNK..c * CHUNK + g_out.len();
            let mut others = vec![0.0; periods];
            let mut prices = vec![0.0; periods];
            let mut extra = vec![0.0; periods];
            let mut q = vec![0.0; periods];
            let mut s = vec![0.0; periods];
            for i in range.clone() {
                let current = loads.customer(i);
                let start = guess.and_then(|g| g.get(i)).copied().unwrap_or(f64::NAN);
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
                // Relative to the customer's own money scale Σ_t |U_i| + |q_i p(t)| (no floor).
                let relative = if gain <= 0.0 {
                    gain / scale.max(f64::MIN_POSITIVE)
                } else if scale > 0.0 {
                    gain / scale
                } else {
                    f64::INFINITY
                };
                g_out[i - range.start] = gain;
                r_out[i - range.start] = relative;
            }
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
