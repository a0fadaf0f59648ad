//! Radial pricing (wei-anastasopoulos §IV): shaping suggested peak prices into a split of
//! `p_0` over the peak periods, and the simplex projection used by the price-adjustment
//! learning dynamic.

/// The peak `z = max_t ζ_t` and the argmax set `A = {t : ζ_t ≥ z − τ max_t |ζ_t|}` (ties
/// within the relative tolerance `τ`, relative to the demands' own scale, count as ties).
pub fn peak_set(zeta: &[f64], tie_tolerance: f64) -> (f64, Vec<bool>) {
    let scale = zeta.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    peak_set_sized(zeta, tie_tolerance, scale)
}

/// [`peak_set`] with an explicit scale `S` of the terms `ζ` was summed from:
/// `A = {t : ζ_t ≥ z − τ S}` (so that rounding in a sum of large terms of both signs does
/// not break a tie).
pub(crate) fn peak_set_sized(zeta: &[f64], tie_tolerance: f64, scale: f64) -> (f64, Vec<bool>) {
    let z = zeta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let thr = z - tie_tolerance * scale;
    (z, zeta.iter().map(|&v| v >= thr).collect())
}

/// Radial pricing `RP(s, ζ)` (wei-anastasopoulos §IV, as restated in SPEC §4):
/// with `A = argmax_t ζ_t` (see `peak_set`),
/// `RP_t = p_0 s_t / Σ_{t'∈A} s_{t'}` for `t ∈ A` (0 elsewhere) when some `s_{t'} > 0` with
/// `t' ∈ A`; otherwise `RP_t = p_0 1{t ∈ A} / |A|`. Hence `Σ_t RP_t = p_0` (eq. 14).
///
/// `s` must be non-negative (the message space `ℝ_+^T`); lengths must agree.
pub fn radial_pricing(s: &[f64], zeta: &[f64], peak_price: f64, tie_tolerance: f64) -> Vec<f64> {
    let (_, a) = peak_set(zeta, tie_tolerance);
    radial_on(s, &a, peak_price)
}

pub(crate) fn radial_on(s: &[f64], a: &[bool], peak_price: f64) -> Vec<f64> {
    let total: f64 = s
        .iter()
        .zip(a)
        .filter(|(_, &in_a)| in_a)
        .map(|(v, _)| v.max(0.0))
        .sum();
    if total > 0.0 {
        s.iter()
            .zip(a)
            .map(|(&v, &in_a)| {
                if in_a {
                    peak_price * v.max(0.0) / total
                } else {
                    0.0
                }
            })
            .collect()
    } else {
        let count = a.iter().filter(|&&x| x).count().max(1) as f64;
        a.iter()
            .map(|&in_a| if in_a { peak_price / count } else { 0.0 })
            .collect()
    }
}

/// Euclidean projection of `v` onto the scaled simplex `{s ≥ 0, Σ s = total}` (`total > 0`).
pub fn project_simplex(v: &[f64], total: f64) -> Vec<f64> {
    let mut u: Vec<f64> = v.to_vec();
    u.sort_by(|a, b| b.total_cmp(a));
    let mut cum = 0.0;
    let mut theta = 0.0;
    for (k, &uk) in u.iter().enumerate() {
        cum += uk;
        let th = (cum - total) / (k + 1) as f64;
        if uk - th > 0.0 {
            theta = th;
        }
    }
    v.iter().map(|&x| (x - theta).max(0.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radial_pricing_splits_p0_over_the_tied_peak() {
        // Ties at t = 0, 2; s proportional 1:3 there → 0.25 p0, 0.75 p0.
        let rp = radial_pricing(&[1.0, 5.0, 3.0], &[2.0, 1.0, 2.0], 4.0, 1e-12);
        assert_eq!(rp, vec![1.0, 0.0, 3.0]);
        // s = 0 on the peak: equal split.
        let rp = radial_pricing(&[0.0, 5.0, 0.0], &[2.0, 1.0, 2.0], 4.0, 1e-12);
        assert_eq!(rp, vec![2.0, 0.0, 2.0]);
    }

    #[test]
    fn simplex_projection_by_hand() {
        // Project (1, 0.5, −1) onto {Σ = 1}: θ = 0.25 → (0.75, 0.25, 0).
        let p = project_simplex(&[1.0, 0.5, -1.0], 1.0);
        assert!((p[0] - 0.75).abs() < 1e-15 && (p[1] - 0.25).abs() < 1e-15 && p[2] == 0.0);
    }
}
