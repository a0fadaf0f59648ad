//! The planner's problem (wei-anastasopoulos problem (3)) and its KKT conditions (4).
//!
//! ```text
//! max_{x, w}  Σ_i v^i(x^i) − Σ_t p_t Σ_i x_t^i − p_0 w
//! s.t.        A x ≤ b                (multipliers λ^l ≥ 0, the constraint prices)
//!             Σ_i x_t^i − w ≤ 0  ∀t  (multipliers μ_t ≥ 0, the peak prices; Σ_t μ_t = p_0)
//! ```
//!
//! # Method
//! The problem is handed to the kernel's interior-point solver [`dr_convex::ipm::solve`] as
//! `min Σ (f_t^i(x_t^i) + p_t x_t^i) + p_0 w` with `f = −v`: rows of `A` with a single
//! nonzero (per-user bounds) become variable bounds, the others and the `T` peak rows become
//! inequality rows. With the kernel's sign convention `f'(x) = −Gᵀz + ν_l − ν_u` the
//! inequality multipliers `z` are exactly `λ` and `μ`, an upper-bound multiplier `ν_u` is the
//! `λ` of its `x ≤ u` row and a lower-bound multiplier `ν_l` the `λ` of its `−x ≤ −l` row.
//!
//! The interior point is then *polished*: the active rows and peak periods are identified
//! (`λ^l > slack^l`), and the KKT equations of that active set are solved by Newton's method
//! (a dense Schur complement on the active coupling rows; variables at an active bound are
//! fixed), with a few primal–dual active-set corrections. Polishing makes complementary
//! slackness exact (inactive rows get `λ = 0`, off-peak periods `μ_t = 0`, peak periods tie
//! exactly), which the mechanism needs: radial pricing compares aggregate demands for ties.
//! The polished point is kept only when its KKT residuals ([`check_kkt`]) are smaller than
//! the interior point's.

use crate::dense::solve_in_place;
use crate::error::MechanismError;
use crate::model::Model;
use crate::problem::{planner_problem, PlannerProblem};
use dr_convex::ipm::{self, IpmSettings};
use dr_convex::{Certificate, Status};
use serde::Serialize;

/// Settings of [`solve_planner`], with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannerSettings {
    /// Settings of the kernel's interior-point solver.
    pub ipm: IpmSettings,
    /// Polish the interior point by an active-set Newton solve (default `true`).
    pub polish: bool,
    /// The certificate's status is `Solved` when every KKT residual is at most this.
    pub kkt_tolerance: f64,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        Self {
            ipm: IpmSettings::default(),
            polish: true,
            kkt_tolerance: 1e-8,
        }
    }
}

/// Residuals of the KKT conditions (4) of problem (3) at a point `(x, w, λ, μ)`, each
/// **relative to the size of the terms it is made of** (no `max(1, ·)` floor, so a residual
/// means the same for data in units of 10⁻¹² as of 10¹²: scaling every utility and price by
/// `t`, or every quantity by `σ` with the prices by `1/σ`, leaves every residual unchanged).
///
/// With the price scale `P = max(max_{i,t} |v̇_t^i(x_t^i)|, max_t |p_t|, p_0)`, for row `l`
/// the quantity scale `R^l = |b^l| + Σ_j |a_j^l x_j|` and the price scale in the row's units
/// `P^l = P / max_j |a_j^l|`, and for the peak rows `R_t = |w| + Σ_i |x_t^i|`, `P_t = P`.
/// A ratio `0/0` counts as `0`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct KktResiduals {
    /// (4a), (4b): `max_l (a^l x − b^l)^+ / R^l`, `max_t (X_t − w)^+ / R_t`.
    pub primal_infeasibility: f64,
    /// (4c): `max_l (−λ^l)^+ / P^l`, `max_t (−μ_t)^+ / P`.
    pub dual_infeasibility: f64,
    /// (4d), (4e): `max_l |λ^l (b^l − a^l x)| / (P^l R^l)`, `max_t |μ_t (w − X_t)| / (P R_t)`.
    pub complementarity: f64,
    /// (4f): `|Σ_t μ_t − p_0| / p_0`.
    pub peak_price_balance: f64,
    /// (4g): `max |v̇_t^i − p_t − Σ_l λ^l a_t^{i,l} − μ_t| / (|v̇_t^i| + |p_t| + Σ_l |λ^l a_t^{i,l}| + |μ_t|)`.
    pub stationarity: f64,
    /// `|Σ_l λ^l (b^l − a^l x) + Σ_t μ_t (w − X_t)| / (Σ_l P^l R^l + Σ_t P R_t)`: the gap
    /// between the primal objective and the Lagrangian (the duality gap when (4g) holds),
    /// relative to the same scales as the complementarity.
    pub duality_gap: f64,
}

/// `num / den` with `0/0 = 0` and `x/0 = ∞` for `x > 0` (NaN → ∞): a relative residual.
pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    let num = num.abs();
    if num.is_nan() || den.is_nan() {
        f64::INFINITY
    } else if num == 0.0 {
        0.0
    } else if den == 0.0 {
        f64::INFINITY
    } else {
        num / den.abs()
    }
}

impl KktResiduals {
    /// The largest residual.
    pub fn max(&self) -> f64 {
        [
            self.primal_infeasibility,
            self.dual_infeasibility,
            self.complementarity,
            self.peak_price_balance,
            self.stationarity,
            self.duality_gap,
        ]
        .iter()
        .fold(0.0, |a: f64, &b| {
            if b.is_nan() {
                f64::INFINITY
            } else {
                a.max(b.abs())
            }
        })
    }

    /// True when every residual is at most `tol`.
    pub fn holds(&self, tol: f64) -> bool {
        self.max() <= tol
    }
}

/// Checks the KKT conditions (4) of problem (3) at `(x, w, λ, μ)`: `x` indexed `i·T + t`,
/// `λ` one per row of `A`, `μ` one per period. Errors name a wrong length or a non-finite
/// entry.
pub fn check_kkt(
    model: &Model,
    x: &[f64],
    w: f64,
    lambda: &[f64],
    mu: &[f64],
) -> Result<KktResiduals, MechanismError> {
    model.check_allocation("x", x)?;
    dr_convex::check_finite(|| "w".into(), w)?;
    dr_convex::check_len(|| "lambda".into(), model.rows(), lambda.len())?;
    dr_convex::check_len(|| "mu".into(), model.periods(), mu.len())?;
    for (l, &v) in lambda.iter().enumerate() {
        dr_convex::check_finite(|| format!("lambda[{l}]"), v)?;
    }
    for (t, &v) in mu.iter().enumerate() {
        dr_convex::check_finite(|| format!("mu[{t}]"), v)?;
    }
    Ok(kkt_unchecked(model, x, w, lambda, mu))
}

pub(crate) fn kkt_unchecked(
    model: &Model,
    x: &[f64],
    w: f64,
    lambda: &[f64],
    mu: &[f64],
) -> KktResiduals {
    let t_len = model.periods();
    let n = model.users();
    let mut r = KktResiduals::default();
    // Marginal utilities and the price scale P.
    let vdot: Vec<f64> = (0..n * t_len)
        .map(|j| model.marginal_utility(j / t_len, j % t_len, x[j]))
        .collect();
    let price_scale = vdot
        .iter()
        .chain(model.energy_prices())
        .fold(model.peak_price(), |a, v| a.max(v.abs()));
    let mut gap = 0.0;
    let mut gap_scale = 0.0;
    for (l, &lam) in lambda.iter().enumerate() {
        let (vars, coefs) = model.row(l);
        let b = model.rhs()[l];
        let mut activity = 0.0;
        let mut size = b.abs();
        let mut amax = 0.0_f64;
        for (&j, &a) in vars.iter().zip(coefs) {
            activity += a * x[j];
            size += (a * x[j]).abs();
            amax = amax.max(a.abs());
        }
        let row_price = price_scale / amax;
        let slack = b - activity;
        r.primal_infeasibility = r.primal_infeasibility.max(ratio((-slack).max(0.0), size));
        r.dual_infeasibility = r.dual_infeasibility.max(ratio((-lam).max(0.0), row_price));
        r.complementarity = r.complementarity.max(ratio(lam * slack, row_price * size));
        gap += lam * slack;
        gap_scale += row_price * size;
    }
    for (t, &mu_t) in mu.iter().enumerate() {
        let mut agg = 0.0;
        let mut size = w.abs();
        for i in 0..n {
            agg += x[i * t_len + t];
            size += x[i * t_len + t].abs();
        }
        let slack = w - agg;
        r.primal_infeasibility = r.primal_infeasibility.max(ratio((-slack).max(0.0), size));
        r.dual_infeasibility = r
            .dual_infeasibility
            .max(ratio((-mu_t).max(0.0), price_scale));
        r.complementarity = r
            .complementarity
            .max(ratio(mu_t * slack, price_scale * size));
        gap += mu_t * slack;
        gap_scale += price_scale * size;
    }
    let p0 = model.peak_price();
    r.peak_price_balance = ratio(mu.iter().sum::<f64>() - p0, p0);
    // Σ_l λ^l a^{i,l} and Σ_l |λ^l a^{i,l}|: accumulate Aᵀλ.
    let mut atl = vec![0.0; n * t_len];
    let mut atl_abs = vec![0.0; n * t_len];
    for (l, &lam) in lambda.iter().enumerate() {
        if lam != 0.0 {
            let (v, c) = model.row(l);
            for (&j, &a) in v.iter().zip(c) {
                atl[j] += a * lam;
                atl_abs[j] += (a * lam).abs();
            }
        }
    }
    for i in 0..n {
        for (t, mu_t) in mu.iter().enumerate() {
            let j = i * t_len + t;
            let p = model.energy_prices()[t];
            let res = vdot[j] - p - atl[j] - mu_t;
            let size = vdot[j].abs() + p.abs() + atl_abs[j] + mu_t.abs();
            r.stationarity = r.stationarity.max(ratio(res, size));
        }
    }
    r.duality_gap = ratio(gap, gap_scale);
    if !model.welfare(x).is_finite() {
        r.primal_infeasibility = f64::INFINITY;
    }
    r
}

/// The solution of the planner's problem (3) with its multipliers and certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannerSolution {
    /// Optimal allocation `x*`, indexed `i·T + t`.
    pub allocation: Vec<f64>,
    /// The peak `w = max_t Σ_i x_t^{i*}`.
    pub peak: f64,
    /// `λ^l ≥ 0`, one per row of `A` (in the model's row order).
    pub constraint_multipliers: Vec<f64>,
    /// `μ_t ≥ 0`, one per period, `Σ_t μ_t = p_0` (4f).
    pub peak_multipliers: Vec<f64>,
    /// Welfare `Σ_i v^i(x^{i*}) − J(x*)`.
    pub welfare: f64,
    /// Energy cost `J(x*)` (eq. 1).
    pub energy_cost: f64,
    /// KKT residuals (4) of the returned point.
    pub kkt: KktResiduals,
    /// The certificate: residuals from [`check_kkt`], iterations = interior-point iterations
    /// plus polishing Newton steps, status as described in [`solve_planner`].
    pub certificate: Certificate,
    /// The certificate of the kernel's interior-point solve itself.
    pub ipm_certificate: Certificate,
    /// Whether the active-set polish was kept.
    pub polished: bool,
}

impl PlannerSolution {
    /// `x^{i*}` of user `i` (a slice of length `T`).
    pub fn user_allocation(&self, i: usize, periods: usize) -> &[f64] {
        &self.allocation[i * periods..(i + 1) * periods]
    }
}

/// Solves the planner's problem (3) with the kernel's interior-point solver, then polishes
/// (see the module docs). Both run on the problem rewritten in the data's own units
/// ([`Model::scales`]: `x = Q u`, money in units of `M = P·Q`), so that their internal
/// thresholds see numbers near 1 whatever the units of the file; the result is mapped back
/// and its residuals ([`KktResiduals`], relative) are those of the original problem. Where
/// that point misses the tolerance, the problem is also solved in the file's own units and
/// the point with the smaller residuals is returned.
///
/// Status of the certificate: `Solved` when every KKT residual of the returned point is at
/// most `settings.kkt_tolerance`; otherwise the interior point's status when that is not
/// `Solved`, and `NumericalError` when the interior point claimed success but (4) does not
/// hold to the tolerance. Input errors of the kernel are passed on as
/// [`MechanismError::Input`].
pub fn solve_planner(
    original: &Model,
    settings: &PlannerSettings,
) -> Result<PlannerSolution, MechanismError> {
    if !(settings.kkt_tolerance.is_finite() && settings.kkt_tolerance > 0.0) {
        return Err(MechanismError::Input(dr_convex::InputError::OutOfRange {
            field: "kkt_tolerance".into(),
            value: settings.kkt_tolerance,
            requirement: "must be > 0 and finite".into(),
        }));
    }
    // Solve in the data's own units (numbers near 1), see `Model::scales`; where that does
    // not reach the tolerance, also in the file's units, and keep the better point.
    let units = original.scales();
    let mut run = solve_in_units(original, settings, units.quantity, units.money())?;
    if !run.kkt.holds(settings.kkt_tolerance) && (units.quantity, units.money()) != (1.0, 1.0) {
        let plain = solve_in_units(original, settings, 1.0, 1.0)?;
        if plain.kkt.max() < run.kkt.max() {
            run = plain;
        }
    }
    let Run {
        x,
        lam,
        mu,
        kkt,
        ipm_cert,
        polish_its,
        polished,
    } = run;
    let model = original;
    let status = if kkt.holds(settings.kkt_tolerance) {
        Status::Solved
    } else if ipm_cert.status != Status::Solved {
        ipm_cert.status
    } else {
        Status::NumericalError
    };
    let certificate = Certificate {
        primal_infeasibility: kkt.primal_infeasibility,
        stationarity: kkt
            .stationarity
            .max(kkt.peak_price_balance)
            .max(kkt.dual_infeasibility),
        complementarity: kkt.complementarity,
        duality_gap: kkt.duality_gap,
        iterations: ipm_cert.iterations + polish_its,
        status,
    };
    let agg = model.aggregate(&x);
    let peak = agg.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(PlannerSolution {
        welfare: model.welfare(&x),
        energy_cost: model.energy_cost(&x),
        allocation: x,
        peak,
        constraint_multipliers: lam,
        peak_multipliers: mu,
        kkt,
        certificate,
        ipm_certificate: ipm_cert,
        polished,
    })
}

/// One solve of problem (3) in units `q` of quantity and `m` of money, mapped back.
struct Run {
    x: Vec<f64>,
    lam: Vec<f64>,
    mu: Vec<f64>,
    /// Residuals of the original problem.
    kkt: KktResiduals,
    ipm_cert: Certificate,
    polish_its: usize,
    polished: bool,
}

fn solve_in_units(
    original: &Model,
    settings: &PlannerSettings,
    qu: f64,
    mu_unit: f64,
) -> Result<Run, MechanismError> {
    let scaled = original.rescaled(qu, mu_unit);
    let model = &scaled;
    let mut attempt = interior_point(model, settings, false)?;
    if !attempt.1.status.is_solved() || attempt.0.x.iter().any(|v| !v.is_finite()) {
        // Retry with guard bounds at the ends of the utilities' domains (see `interior_point`).
        let guarded = interior_point(model, settings, true)?;
        if guarded.0.x.iter().all(|v| v.is_finite()) {
            attempt = guarded;
        }
    }
    let (
        Point {
            x: x_ipm,
            w: w_ipm,
            lambda: lam_ipm,
            mu: mu_ipm,
        },
        ipm_cert,
    ) = attempt;
    let kkt_ipm = kkt_unchecked(model, &x_ipm, w_ipm, &lam_ipm, &mu_ipm);
    let mut best = (x_ipm, w_ipm, lam_ipm, mu_ipm, kkt_ipm, 0usize, false);
    if settings.polish
        && ipm_cert.status != Status::Infeasible
        && ipm_cert.status != Status::Unbounded
    {
        if let Some((
            Point {
                x,
                w,
                lambda: lam,
                mu,
            },
            its,
        )) = polish(model, &best.0, best.1, &best.2, &best.3)
        {
            let kkt = kkt_unchecked(model, &x, w, &lam, &mu);
            if kkt.max() <= best.4.max()
                || kkt.holds(settings.kkt_tolerance) && !best.4.holds(settings.kkt_tolerance)
            {
                best = (x, w, lam, mu, kkt, its, true);
            }
        }
    }
    let (x, w, lam, mu, _, polish_its, polished) = best;
    // Back to the file's units; the residuals are those of the original problem.
    let dual = mu_unit / qu;
    let x: Vec<f64> = x.iter().map(|v| v * qu).collect();
    let w = w * qu;
    let lam: Vec<f64> = lam.iter().map(|v| v * dual).collect();
    let mu: Vec<f64> = mu.iter().map(|v| v * dual).collect();
    let kkt = kkt_unchecked(original, &x, w, &lam, &mu);
    Ok(Run {
        x,
        lam,
        mu,
        kkt,
        ipm_cert,
        polish_its,
        polished,
    })
}

/// The kernel's interior point on problem (3) ([`planner_problem`], with guard bounds when
/// `guard`): `(x, w, λ, μ, certificate)`. A guard's multiplier is dropped, and the KKT
/// check on the original problem decides the final status.
fn interior_point(
    model: &Model,
    settings: &PlannerSettings,
    guard: bool,
) -> Result<(Point, Certificate), MechanismError> {
    let nt = model.users() * model.periods();
    let t_len = model.periods();
    let PlannerProblem {
        problem,
        model_rows: g_rows,
        peak_row: peak_row0,
        lower_rows: lower_row,
        upper_rows: upper_row,
    } = planner_problem(model, guard)?;
    let sol = ipm::solve(&problem, &settings.ipm)?;
    let x: Vec<f64> = sol.x[..nt].to_vec();
    let w = sol.x[nt];
    let mut lam = vec![0.0; model.rows()];
    for (k, &l) in g_rows.iter().enumerate() {
        lam[l] = sol.inequality_multipliers[k];
    }
    for j in 0..nt {
        if let Some(l) = upper_row[j] {
            lam[l] = sol.upper_bound_multipliers[j];
        }
        if let Some(l) = lower_row[j] {
            lam[l] = sol.lower_bound_multipliers[j];
        }
    }
    let mu: Vec<f64> = sol.inequality_multipliers[peak_row0..peak_row0 + t_len].to_vec();
    Ok((
        Point {
            x,
            w,
            lambda: lam,
            mu,
        },
        sol.certificate,
    ))
}

/// Active set of the polish: fixed variables (by an active single-entry row), active
/// coupling rows `M`, peak periods `P`.
struct Active {
    fixed: Vec<Option<(usize, f64)>>,
    multi: Vec<usize>,
    peaks: Vec<usize>,
}

/// A primal–dual point `(x, w, λ, μ)` (in the Newton polish: `λ`, `μ` of the active set).
struct Point {
    x: Vec<f64>,
    w: f64,
    lambda: Vec<f64>,
    mu: Vec<f64>,
}

/// Active-set Newton polish of an approximate KKT point (see the module docs).
fn polish(model: &Model, x0: &[f64], w0: f64, lam0: &[f64], mu0: &[f64]) -> Option<(Point, usize)> {
    let n = model.users();
    let t_len = model.periods();
    let nt = n * t_len;
    let rows = model.rows();
    let activity = model.row_activity(x0);
    let agg = model.aggregate(x0);
    let single: Vec<bool> = (0..rows).map(|l| model.row(l).0.len() == 1).collect();
    let mut act = Active {
        fixed: vec![None; nt],
        multi: Vec::new(),
        peaks: Vec::new(),
    };
    let mut in_multi = vec![false; rows];
    let mut in_peak = vec![false; t_len];
    for l in 0..rows {
        let slack = model.rhs()[l] - activity[l];
        if lam0[l] > slack.max(0.0) {
            if single[l] {
                let (v, c) = model.row(l);
                if act.fixed[v[0]].is_none() {
                    act.fixed[v[0]] = Some((l, model.rhs()[l] / c[0]));
                }
            } else {
                in_multi[l] = true;
            }
        }
    }
    for t in 0..t_len {
        if mu0[t] > (w0 - agg[t]).max(0.0) {
            in_peak[t] = true;
        }
    }
    if !in_peak.iter().any(|&p| p) {
        let t = (0..t_len)
            .max_by(|&a, &b| mu0[a].total_cmp(&mu0[b]))
            .unwrap_or(0);
        in_peak[t] = true;
    }
    let mut x = x0.to_vec();
    let mut w = w0;
    let mut lam = lam0.to_vec();
    let mut mu = mu0.to_vec();
    let mut total_its = 0;
    let scale_b = |l: usize| model.rhs()[l].abs().max(1.0);
    for _pass in 0..12 {
        act.multi = (0..rows).filter(|&l| in_multi[l]).collect();
        act.peaks = (0..t_len).filter(|&t| in_peak[t]).collect();
        let (
            Point {
                x: nx,
                w: nw,
                lambda: nlam_m,
                mu: nmu_p,
            },
            its,
        ) = newton(model, &act, &x, w, &lam, &mu)?;
        total_its += its;
        x = nx;
        w = nw;
        lam = vec![0.0; rows];
        for (k, &l) in act.multi.iter().enumerate() {
            lam[l] = nlam_m[k];
        }
        mu = vec![0.0; t_len];
        for (k, &t) in act.peaks.iter().enumerate() {
            mu[t] = nmu_p[k];
        }
        // Multipliers of the rows that fix variables: stationarity residual r_j = λ a_j.
        let mut atl = vec![0.0; nt];
        for &l in &act.multi {
            let (v, c) = model.row(l);
            for (&j, &a) in v.iter().zip(c) {
                atl[j] += a * lam[l];
            }
        }
        let mut changed = false;
        let dual_tol = 1e-11;
        for j in 0..nt {
            if let Some((l, _)) = act.fixed[j] {
                let (i, t) = (j / t_len, j % t_len);
                let f = model.disutility(i, t);
                let r = -(f.derivative(x[j]) + model.energy_prices()[t] + atl[j] + mu[t]);
                let a = model.row(l).1[0];
                let mut val = r / a;
                if val < 0.0 {
                    // Another active single row on j with the right sign?
                    let alt = (0..rows).find(|&l2| {
                        l2 != l && single[l2] && model.row(l2).0[0] == j && {
                            let a2 = model.row(l2).1[0];
                            (r / a2) >= 0.0
                                && (model.rhs()[l2] / a2 - x[j]).abs()
                                    <= 1e-12 * x[j].abs().max(1.0)
                        }
                    });
                    if let Some(l2) = alt {
                        lam[l2] = r / model.row(l2).1[0];
                        continue;
                    }
                    if val < -10.0 * dual_tol {
                        act.fixed[j] = None;
                        changed = true;
                        continue;
                    }
                    val = 0.0;
                }
                lam[l] = val;
            }
        }
        for &l in &act.multi {
            if lam[l] < -dual_tol {
                in_multi[l] = false;
                changed = true;
            } else if lam[l] < 0.0 {
                lam[l] = 0.0;
            }
        }
        for &t in &act.peaks {
            if mu[t] < -dual_tol && act.peaks.len() > 1 {
                in_peak[t] = false;
                changed = true;
            } else if mu[t] < 0.0 {
                mu[t] = 0.0;
            }
        }
        let activity = model.row_activity(&x);
        for l in 0..rows {
            let viol = activity[l] - model.rhs()[l];
            if viol > 1e-12 * scale_b(l) {
                if single[l] {
                    let (v, c) = model.row(l);
                    if act.fixed[v[0]].map(|(l0, _)| l0) != Some(l) {
                        act.fixed[v[0]] = Some((l, model.rhs()[l] / c[0]));
                        changed = true;
                    }
                } else if !in_multi[l] {
                    in_multi[l] = true;
                    changed = true;
                }
            }
        }
        let agg = model.aggregate(&x);
        for t in 0..t_len {
            if !in_peak[t] && agg[t] - w > 1e-12 * w.abs().max(1.0) {
                in_peak[t] = true;
                changed = true;
            }
        }
        if !changed {
            return Some((
                Point {
                    x,
                    w,
                    lambda: lam,
                    mu,
                },
                total_its,
            ));
        }
    }
    None
}

/// Newton's method on the KKT equations of a fixed active set. Returns `x`, `w`, `λ_M`,
/// `μ_P` and the number of Newton steps, or `None` on a singular system or a non-convex term.
fn newton(
    model: &Model,
    act: &Active,
    x0: &[f64],
    w0: f64,
    lam0: &[f64],
    mu0: &[f64],
) -> Option<(Point, usize)> {
    let n = model.users();
    let t_len = model.periods();
    let nt = n * t_len;
    let mm = act.multi.len();
    let m = mm + act.peaks.len();
    let p0 = model.peak_price();
    let mut x = x0.to_vec();
    for (j, f) in act.fixed.iter().enumerate() {
        if let Some((_, v)) = f {
            x[j] = *v;
        }
    }
    let mut w = w0;
    let mut y: Vec<f64> = act
        .multi
        .iter()
        .map(|&l| lam0[l].max(0.0))
        .chain(act.peaks.iter().map(|&t| mu0[t].max(0.0)))
        .collect();
    let mut peak_index = vec![usize::MAX; t_len];
    for (k, &t) in act.peaks.iter().enumerate() {
        peak_index[t] = mm + k;
    }
    // Column lists of the active rows over the free variables.
    let mut cols: Vec<Vec<(usize, f64)>> = vec![Vec::new(); nt];
    for (k, &l) in act.multi.iter().enumerate() {
        let (v, c) = model.row(l);
        for (&j, &a) in v.iter().zip(c) {
            if act.fixed[j].is_none() {
                cols[j].push((k, a));
            }
        }
    }
    for (j, col) in cols.iter_mut().enumerate() {
        let pk = peak_index[j % t_len];
        if act.fixed[j].is_none() && pk != usize::MAX {
            col.push((pk, 1.0));
        }
    }
    let residuals = |x: &[f64], w: f64, y: &[f64]| -> Option<(Vec<f64>, Vec<f64>, f64)> {
        let mut rx = vec![0.0; nt];
        for j in 0..nt {
            if act.fixed[j].is_none() {
                let (i, t) = (j / t_len, j % t_len);
                let f = model.disutility(i, t);
                let (lo, hi) = f.domain();
                if !(x[j] > lo && x[j] < hi) {
                    return None;
                }
                let mut r = f.derivative(x[j]) + model.energy_prices()[t];
                for &(k, a) in &cols[j] {
                    r += a * y[k];
                }
                if !r.is_finite() {
                    return None;
                }
                rx[j] = r;
            }
        }
        let mut rc = vec![0.0; m];
        for (k, &l) in act.multi.iter().enumerate() {
            let (v, c) = model.row(l);
            rc[k] = v.iter().zip(c).map(|(&j, &a)| a * x[j]).sum::<f64>() - model.rhs()[l];
        }
        let agg = model.aggregate(x);
        for (k, &t) in act.peaks.iter().enumerate() {
            rc[mm + k] = agg[t] - w;
        }
        let rw = p0 - y[mm..].iter().sum::<f64>();
        Some((rx, rc, rw))
    };
    let norm = |r: &(Vec<f64>, Vec<f64>, f64)| -> f64 {
        r.0.iter().chain(r.1.iter()).map(|v| v * v).sum::<f64>() + r.2 * r.2
    };
    let mut res = residuals(&x, w, &y)?;
    let mut nrm = norm(&res);
    let mut its = 0;
    for _ in 0..40 {
        if nrm <= 1e-30 {
            break;
        }
        its += 1;
        let (rx, rc, rw) = &res;
        let mut h = vec![0.0; nt];
        for j in 0..nt {
            if act.fixed[j].is_none() {
                let hj = model
                    .disutility(j / t_len, j % t_len)
                    .second_derivative(x[j]);
                if hj.is_nan() || hj <= 0.0 || !hj.is_finite() {
                    return None;
                }
                h[j] = hj;
            }
        }
        let dim = m + 1;
        let mut k = vec![0.0; dim * dim];
        let mut rhs = vec![0.0; dim];
        rhs[..m].copy_from_slice(rc);
        for j in 0..nt {
            if act.fixed[j].is_some() {
                continue;
            }
            let inv = 1.0 / h[j];
            for &(a_k, a_v) in &cols[j] {
                rhs[a_k] -= a_v * rx[j] * inv;
                for &(b_k, b_v) in &cols[j] {
                    k[a_k * dim + b_k] += a_v * b_v * inv;
                }
            }
        }
        for r in mm..m {
            // −cw column: cw = −1 on peak rows; last row: cwᵀ Δy = −r_w.
            k[r * dim + m] = 1.0;
            k[m * dim + r] = -1.0;
        }
        rhs[m] = -rw;
        if !solve_in_place(&mut k, dim, &mut rhs) {
            return None;
        }
        let dy = &rhs[..m];
        let dw = rhs[m];
        let dx: Vec<f64> = (0..nt)
            .map(|j| {
                if act.fixed[j].is_some() {
                    0.0
                } else {
                    let mut r = rx[j];
                    for &(kk, a) in &cols[j] {
                        r += a * dy[kk];
                    }
                    -r / h[j]
                }
            })
            .collect();
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            let xt: Vec<f64> = x.iter().zip(&dx).map(|(a, d)| a + step * d).collect();
            let wt = w + step * dw;
            let yt: Vec<f64> = y.iter().zip(dy).map(|(a, d)| a + step * d).collect();
            if let Some(rt) = residuals(&xt, wt, &yt) {
                let nt_ = norm(&rt);
                if nt_ < nrm {
                    x = xt;
                    w = wt;
                    y = yt;
                    res = rt;
                    nrm = nt_;
                    accepted = true;
                    break;
                }
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    Some((
        Point {
            x,
            w,
            lambda: y[..mm].to_vec(),
            mu: y[mm..].to_vec(),
        },
        its,
    ))
}
