//! The Nash equilibrium for a supply cost without a potential (chen-li-low-doyle-2010
//! condition (44), Theorem 7) by the price Newton and a fixed point on the customers'
//! own-impact curvature.
//!
//! # Method (exact)
//! Condition (44) asks, for every customer `i` and period `t`, with `Q = Σ_i q_i`,
//! `F_{i,t}(q) = −U_i'(q_i(t), t) + C'(Q(t), t) + q_i(t) C''(Q(t), t)` to satisfy the KKT
//! conditions of `F(q)ᵀ(y − q) ≥ 0` over `S_i`. Freeze the aggregate at `Q`: with
//! `p(t) = C'(Q(t), t)` and `b(t) = C''(Q(t), t) ≥ 0` (a convex `C`), customer `i`'s part of
//! (44) is exactly the KKT system of the strictly concave problem
//! `max_{q ∈ S_i} Σ_t [U_i(q(t), t) − p(t) q(t) − ½ b(t) q(t)²]`, whose unique solution is
//! the water-filling of [`crate::newton`] with extra curvature `b`. Hence `q` is the Nash
//! equilibrium iff `Q(t) = Σ_i q_i(t)` with `q_i` these responses at `(C'(Q), C''(Q))`.
//!
//! For a FIXED `b`, the pair `Q(t) = Σ_i q_i(p; b)(t)`, `p(t) = C'(Q(t), t)` is the dual root
//! the price Newton finds (the welfare problem with every disutility given the extra
//! curvature `½ b(t) q²`: [`crate::newton`] module docs), so the equilibrium is the fixed
//! point `b = C''(Q(b))` of `T` numbers. It is iterated `b_{k+1}(t) = C''(Q(b_k)(t), t)`,
//! each price Newton warm-started from the last prices and multipliers. `b` enters only
//! through each customer's own share `q_i(t) b(t)` of the marginal cost, small against
//! `p(t)` in a market of many customers, so `Q(b)` barely moves with `b` and the iteration
//! contracts fast (1e5 and 1e6 jittered customers: see `tests/scale/shaping_1e*_cubic.toml`).
//! With a few customers of large own impact the map `b ↦ C''(Q(b))` (decreasing in `b`) can
//! overshoot: the step is then relaxed, `b ← b + ω (C''(Q(b)) − b)`, `ω` halved whenever
//! the residual `‖C''(Q(b)) − b‖_∞` fails to shrink by 10 %. Convergence is not proven in
//! general: the iteration stops after [`MAX_ROUNDS`] and the caller then falls back on the
//! monotone VI ([`crate::strategic_equilibrium_vi`]).
//!
//! The result is never trusted from the iteration: the last price Newton's equilibrium is
//! certified afresh by the model's [`crate::certificate`] of condition (44) with `C''` at the
//! loads' own total (not at the frozen `b`), and is `Solved` only when that holds.

use crate::equilibrium::{newton_equilibrium_from, unshaped, Behaviour, Equilibrium};
use crate::error::ShapingError;
use crate::model::ShapingModel;
use crate::newton::{PriceNewton, SolverSettings};
use dr_convex::{Status, Termination};

/// Most fixed-point rounds on the own-impact curvature `b` before giving up.
pub(crate) const MAX_ROUNDS: usize = 100;

/// The Nash equilibrium by the fixed point on `b = C''(Q)` (module docs), started from
/// `warm = (prices, multipliers)` (e.g. the competitive equilibrium's) when given.
/// `Ok(None)` when the iteration or the last price Newton does not reach a `Solved`
/// certificate (the caller falls back on the VI). The certificate's `iterations` counts
/// every price evaluation of every round.
pub(crate) fn strategic_equilibrium_own_impact(
    model: &ShapingModel,
    settings: &SolverSettings,
    warm: Option<(&[f64], &[f64])>,
) -> Result<Option<Equilibrium>, ShapingError> {
    settings.validate()?;
    let periods = model.periods();
    let supply = model.supply();
    let warm = warm.filter(|(p, mu)| {
        p.len() == periods && mu.len() == model.len() && p.iter().all(|x| x.is_finite())
    });
    let mut prices: Option<Vec<f64>> = warm.map(|(p, _)| p.to_vec());
    let mut mu: Option<Vec<f64>> = warm.map(|(_, m)| m.to_vec());
    // b_0 = C'' at the supply the start prices call forth (or at the mean daily minimum).
    let mut extra: Vec<f64> = match &prices {
        Some(p) => (0..periods)
            .map(|t| supply.curvature(t, supply.supply(t, p[t]).0))
            .collect(),
        None => {
            let base = crate::newton::mean_minimum_load(model);
            (0..periods).map(|t| supply.curvature(t, base)).collect()
        }
    };
    let mut evaluations = 0;
    let mut settled = false;
    // Relaxation ω of b ← b + ω (C''(Q(b)) − b): 1 (plain iteration) while the change
    // shrinks; halved whenever it does not shrink by 10 % (a customer with a large own
    // impact makes the plain map oscillate: b ↦ C''(Q(b)) is decreasing in b).
    let mut omega = 1.0f64;
    let mut last_change = f64::INFINITY;
    for _ in 0..MAX_ROUNDS {
        let mut newton = PriceNewton::warm(
            model,
            extra.clone(),
            prices.take(),
            mu.as_deref(),
            *settings,
        );
        let termination = newton.run();
        evaluations += newton.evaluations();
        if !matches!(termination, Termination::Converged | Termination::Stalled) {
            return Ok(None);
        }
        let image: Vec<f64> = newton
            .demand()
            .iter()
            .enumerate()
            .map(|(t, &q)| supply.curvature(t, q))
            .collect();
        if image.iter().any(|b| !b.is_finite() || *b < 0.0) {
            return Ok(None);
        }
        // The fixed-point residual ‖C''(Q(b)) − b‖_∞, relative to the largest own-impact
        // curvature of the day (no floor).
        let scale = image.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        let change = image
            .iter()
            .zip(&extra)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        prices = Some(newton.prices().to_vec());
        mu = Some(newton.multipliers().to_vec());
        if change <= 1e-13 * scale {
            extra = image;
            settled = true;
            break;
        }
        if change > 0.9 * last_change {
            omega = (0.5 * omega).max(1.0 / 1024.0);
        }
        last_change = change;
        if omega == 1.0 {
            extra = image;
        } else {
            for (b, c) in extra.iter_mut().zip(&image) {
                *b += omega * (c - *b);
            }
        }
    }
    if !settled {
        return Ok(None);
    }
    let (p, m) = (prices.unwrap_or_default(), mu.unwrap_or_default());
    let mut eq = newton_equilibrium_from(
        model,
        Behaviour::Strategic,
        extra,
        settings,
        Some((&p, &m)),
        &mut |prices| unshaped(model, prices),
    )?;
    if eq.certificate.status != Status::Solved {
        return Ok(None);
    }
    eq.certificate.iterations += evaluations;
    Ok(Some(eq))
}
