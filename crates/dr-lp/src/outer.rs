//! The outer-approximation solver: cutting planes (Kelley) on the epigraphs of the
//! separable objective, with a proven interval around the optimum.

use crate::bounds::{validate_bounds, working_box, WorkingBox};
use crate::error::LpError;
use crate::lp::{Backend, Cut, CutLp, LpFailure};
use crate::prices::{slope_prices, MultiplierRanges, SlopeInput};
use crate::scaling::{Scaled, Scaling};
use dr_convex::ipm::SeparableProblem;
use dr_convex::{Certificate, ConvexScalar, Status};
use serde::{Deserialize, Serialize};

/// Settings of [`solve`], with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OuterSettings {
    /// Stop when the proven interval is short *relative to the objective*: `upper − lower
    /// ≤ tolerance · M`, with `M = Σ_j |f_j(x̂_j)|` the magnitude of the objective's terms
    /// at the LP point ([`LpSolution::magnitude`]: `|F|` when the terms have one sign, as
    /// every cost model's do, and never below it; it is the scale at which `Σ f` itself is
    /// computed). The status is `Solved` only then, whatever the units the LP ran in.
    pub tolerance: f64,
    /// Most cutting-plane LPs.
    pub max_iterations: usize,
    /// Tangent cuts per variable before the first LP: a uniform grid over the working box
    /// (ends included, at least 2), plus the term's own minimiser.
    pub initial_cuts: usize,
    /// The LP solver (default [`Backend::Auto`]: microlp on small problems, clarabel on
    /// large ones when built in).
    pub backend: Backend,
    /// Drop, once the interval is within `1e-3` relative, each term's cuts far from the LP
    /// point (kept: the two at the ends of the box and two on each side of the point),
    /// so that the LPs stop growing (default `false`). The interval stays proven (any
    /// subset of tangent cuts is an outer approximation), but the run may need more LPs or
    /// cycle: measured with the release `dr verify` faster on demand shaping (500
    /// customers × 3 periods 6.7 s → 4.7 s, 2000 × 3 47 s → 31 s: its LP points settle)
    /// and far slower on the mechanism's planner problem (500 users: from about 7 s to over
    /// 30 s, its LP points keep moving between the dropped cuts), so it is off by default.
    #[serde(default)]
    pub prune_cuts: bool,
}

impl Default for OuterSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-9,
            max_iterations: 200,
            initial_cuts: 5,
            backend: Backend::Auto,
            prune_cuts: false,
        }
    }
}

impl OuterSettings {
    fn validate(&self) -> Result<(), LpError> {
        dr_convex::check_positive(|| "settings.tolerance".into(), self.tolerance)?;
        if self.max_iterations == 0 {
            return Err(LpError::Input(dr_convex::InputError::OutOfRange {
                field: "settings.max_iterations".into(),
                value: 0.0,
                requirement: "must be >= 1".into(),
            }));
        }
        if self.initial_cuts < 2 {
            return Err(LpError::Input(dr_convex::InputError::OutOfRange {
                field: "settings.initial_cuts".into(),
                value: self.initial_cuts as f64,
                requirement: "must be >= 2".into(),
            }));
        }
        Ok(())
    }
}

/// Where the prices of an [`LpSolution`] come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PriceSource {
    /// The LP back end's constraint duals (clarabel), converted to the kernel's convention.
    Duals,
    /// The cut slopes at the LP point: a point of the LP-optimal multiplier set (see
    /// [`MultiplierRanges`]).
    CutSlopes,
    /// One coupling row: the price that maximises the Lagrangian dual (bisection on its
    /// derivative, the row's residual), with the point a convex combination of the
    /// Lagrangian minimisers at the two ends of the final bracket that satisfies the row
    /// (used where the LP's own interval was not tight).
    DualAscent,
}

/// The LP back end's answer: an allocation, a proven interval around the optimum, and
/// prices in the kernel's sign convention (`dr_convex::ipm` module docs:
/// `f'(x) = Aᵀy − Gᵀz + ν_l − ν_u`), directly comparable with
/// [`dr_convex::ipm::IpmSolution`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LpSolution {
    /// The LP point `x` (feasible up to the back end's tolerance, see
    /// `certificate.primal_infeasibility`).
    pub x: Vec<f64>,
    /// Proven lower bound on the optimum `F*` (see [`solve`], *Interval*).
    pub lower: f64,
    /// `Σ_j f_j(x_j)` at the returned `x`, plus a first-order allowance
    /// `Σ_i |y_i| |(Ax − b)_i| + Σ_i z_i (Gx − h)_i⁺` for the back end's feasibility residual
    /// (zero at an exactly feasible `x`): an upper bound on `F*`.
    pub upper: f64,
    /// The LP's value `Σ_j t_j` (the outer approximation's optimum).
    pub lp_value: f64,
    /// Multipliers `y` of the equality rows.
    pub equality_multipliers: Vec<f64>,
    /// Multipliers `z ≥ 0` of the inequality rows.
    pub inequality_multipliers: Vec<f64>,
    /// Multipliers `ν_l ≥ 0` of the lower ends of the working box.
    pub lower_bound_multipliers: Vec<f64>,
    /// Multipliers `ν_u ≥ 0` of the upper ends of the working box.
    pub upper_bound_multipliers: Vec<f64>,
    /// Range of each row multiplier over the LP-optimal multipliers (cut-slope prices
    /// only; `None` with LP duals).
    pub multiplier_ranges: Option<MultiplierRanges>,
    /// Where the prices come from.
    pub prices: PriceSource,
    /// The back end that solved the LPs ([`Backend::Auto`] resolved: never `Auto`).
    pub backend: Backend,
    /// Lower ends of the finite working box the LP ran on.
    pub working_lower: Vec<f64>,
    /// Upper ends of the working box.
    pub working_upper: Vec<f64>,
    /// Tangent cuts in the last LP.
    pub cuts: usize,
    /// The units the LP ran in (`x = quantity · u`, `F = cost · G`; [`Scaling`]): the
    /// back end's own tolerances are relative to them. [`solve`] re-solves in units of the
    /// optimum found when the a-priori cost scale is far above it.
    pub scaling: Scaling,
    /// `M = Σ_j |f_j(x̂_j)|` at the LP point: the magnitude of the objective the interval
    /// is measured against ([`OuterSettings::tolerance`]).
    pub magnitude: f64,
    /// The relative tolerance the interval had to meet ([`OuterSettings::tolerance`]).
    pub tolerance: f64,
    /// Residuals in the units of [`LpSolution::scaling`] (relative to the data's scale):
    /// `primal_infeasibility` of `x`; `stationarity` `‖f'(x) − Aᵀy + Gᵀz − ν_l + ν_u‖_∞`
    /// over `max(1, ‖multipliers‖_∞)` with the *true* derivative (it shrinks with the cut
    /// spacing, not to zero); `complementarity` over `M`; `duality_gap` the relative width
    /// `(upper − lower)/M` ([`LpSolution::relative_width`]); `iterations` the LPs solved;
    /// `status` `Solved` exactly when `duality_gap ≤ tolerance`.
    pub certificate: Certificate,
}

impl LpSolution {
    /// Length of the proven interval, `upper − lower`.
    pub fn bound(&self) -> f64 {
        self.upper - self.lower
    }

    /// `(upper − lower)/M` with `M` = [`LpSolution::magnitude`]: the interval's width
    /// relative to the objective (`+∞` for an interval of positive width around an
    /// objective whose terms are all `0`; `0` for a point interval).
    pub fn relative_width(&self) -> f64 {
        relative_width(self.upper - self.lower, self.magnitude)
    }

    /// `L'` of the cross-check's radii: `min(lower, lp_value)` where the prices are the
    /// LP's (its cuts touch `f` within the radius only up to the LP's own gap), `lower`
    /// for [`PriceSource::DualAscent`] (point and price come from `f` itself).
    pub fn radius_lower(&self) -> f64 {
        if self.prices == PriceSource::DualAscent {
            self.lower
        } else {
            self.lower.min(self.lp_value)
        }
    }

    /// Whether `value` lies in `[lower − slack, upper + slack]`.
    pub fn contains(&self, value: f64, slack: f64) -> bool {
        value >= self.lower - slack && value <= self.upper + slack
    }
}

/// Solves a [`SeparableProblem`] as a sequence of LPs and returns the optimum's interval.
///
/// # Method
/// Piecewise-linear *outer* approximation: each term is replaced by an epigraph variable
/// `t_j ≥ f_j(p) + f_j'(p)(x_j − p)` over a set of tangent points `p` (a grid on the working
/// box to start), and the LP `min Σ t_j` over the problem's rows and box is solved. After
/// each LP a tangent cut is added at `x_j` for every term whose approximation error
/// `f_j(x_j) − t_j` is not negligible — Kelley's cutting-plane method (Kelley 1960, "The
/// cutting-plane method for solving convex programs", J. SIAM 8(4)), which on a separable
/// objective refines each one-dimensional envelope where the LP visits it. Prices are the
/// LP's constraint duals ([`Backend::Clarabel`]) or the multipliers consistent with the cut
/// slopes at the LP point ([`Backend::Microlp`]).
///
/// # Interval
/// `upper = Σ f_j(x_j)` at the LP point, which satisfies the rows up to the back end's
/// tolerance (`certificate.primal_infeasibility`; about `1e-10` relative with clarabel,
/// rounding with microlp), plus the first-order allowance `Σ_i |y_i| |(Ax − b)_i| +
/// Σ_i z_i (Gx − h)_i⁺` for that residual (moving `x` onto the rows changes `Σ f` by
/// `−yᵀ(Ax − b) + …` to first order, by stationarity). `lower` is the larger of
/// - the Lagrangian dual value at the LP's prices (weak duality; valid for *any*
///   multipliers with `z ≥ 0`, so it does not rely on the LP being solved exactly):
///   `g(y, z) = bᵀy − hᵀz + Σ_j min_{ξ ∈ B_j} (f_j(ξ) − c_j ξ)`, `c = Aᵀy − Gᵀz`, the
///   inner minima by [`ConvexScalar::inverse_derivative`] over a box `B_j` that contains
///   the feasible set (the problem's bounds, infinite ones replaced by bounds implied by
///   the rows where possible); and
/// - the LP value `Σ t_j` (the outer approximation's optimum is below `F*`), used with the
///   simplex back end, and with clarabel only where the Lagrangian is not finite; it
///   counts only when no artificial bound or domain margin is binding at the LP point.
///
/// The optimum lies in `[lower, upper]` up to rounding.
///
/// # Requirements
/// Each `f_j` convex and finite on its working box. The box is the problem's bounds;
/// infinite bounds are replaced by bounds implied by the rows (bound propagation) and,
/// where none is implied, by artificial bounds around the term's minimiser that are widened
/// tenfold whenever the LP point reaches them. A bounded feasible set, or objective terms
/// that grow in every unbounded direction, is therefore needed for termination; otherwise
/// the run ends with `Status::MaxIterations` and `lower = −∞`. Bounds at an open end of a
/// term's domain are moved a relative `1e-6` inside it.
///
/// # Errors
/// [`LpError`] naming the field for: an empty problem, lengths of `lower`/`upper`/rows
/// that differ from `objective.len()`, NaN bounds, inverted bounds or bounds outside the
/// domain, an objective term that is not finite at a point of its box, invalid settings;
/// [`LpError::Infeasible`] when bound propagation or the LP back end proves the rows and
/// bounds infeasible; [`LpError::Backend`] when the first LP fails. A later failure of the
/// back end ends the run with `Status::NumericalError` and the last iterate.
///
/// ```
/// use dr_convex::ipm::{LinearRows, SeparableProblem};
/// use dr_convex::{ConvexScalar, LinearQuadraticCost};
/// use dr_lp::{solve, OuterSettings};
/// use std::sync::Arc;
/// // Shed d = 3 among C_1 = q², C_2 = 2q² (q ≥ 0): q = (2, 1), cost 6, price 4.
/// let objective: Vec<Arc<dyn ConvexScalar>> = vec![
///     Arc::new(LinearQuadraticCost::new(0.0, 1.0)?),
///     Arc::new(LinearQuadraticCost::new(0.0, 2.0)?),
/// ];
/// let mut equalities = LinearRows::new(2);
/// equalities.push_row(&[(0, 1.0), (1, 1.0)], 3.0)?;
/// let problem = SeparableProblem {
///     objective,
///     lower: vec![0.0; 2],
///     upper: vec![f64::INFINITY; 2],
///     equalities,
///     inequalities: LinearRows::new(2),
/// };
/// let lp = solve(&problem, &OuterSettings::default())?;
/// assert!(lp.lower <= 6.0 + 1e-9 && 6.0 <= lp.upper + 1e-9);
/// assert!(lp.bound() <= 1e-8);
/// assert!((lp.equality_multipliers[0] - 4.0).abs() < 1e-3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn solve(problem: &SeparableProblem, settings: &OuterSettings) -> Result<LpSolution, LpError> {
    settings.validate()?;
    // `Backend::Auto` picks by size once, so that every LP and the report name one back end.
    let settings = &OuterSettings {
        backend: settings.backend.resolve(problem.objective.len()),
        ..*settings
    };
    validate_shape(problem)?;
    validate_bounds(problem)?;
    let scaled = Scaled::new(problem)?;
    let unit = solve_unit(&scaled.problem, settings).map_err(|e| scaled.unscale_error(e))?;
    let mut best = unscale_solution(&scaled, unit, settings);
    // The cost scale is set before the optimum is known (the largest variation of a term
    // over the data's quantity scale). Where the objective at the LP point is far smaller —
    // an expensive customer that sheds almost nothing, costs spanning many decades — the
    // back end's own tolerances (relative to that scale) cannot reach an interval that is
    // tight relative to the objective, and its multipliers are only accurate to that
    // scale: solve again in units of the objective found (at most three times, each in the
    // units of the previous LP point's objective).
    for _ in 0..3 {
        let m = best.magnitude;
        let sc = best.scaling;
        // Far above (the multipliers too are only accurate to the scale), or above and the
        // interval not yet tight.
        let solved = best.certificate.status == Status::Solved;
        if solved && best.prices == PriceSource::DualAscent {
            // Tight, with the point and the price from the dual ascent on `f` itself, not
            // from the back end's multipliers: the units' accuracy does not bear on them
            // (a second LP here was a third of `dr verify`'s time on 10^4 bidding
            // customers, BENCHMARKS.md).
            break;
        }
        let above = if solved { 1e-3 } else { 0.5 };
        if !(m.is_finite() && m > 0.0 && m < above * sc.cost) {
            break;
        }
        let finer = Scaling {
            quantity: sc.quantity,
            cost: m,
        };
        let again = Scaled::with_scaling(problem, finer)?;
        let Ok(unit) = solve_unit(&again.problem, settings) else {
            break;
        };
        let next = unscale_solution(&again, unit, settings);
        let solved = next.certificate.status == Status::Solved;
        // In the finer units: solved wins, else the relatively tighter interval.
        if solved
            || best.certificate.status != Status::Solved
                && next.relative_width().partial_cmp(&best.relative_width())
                    != Some(std::cmp::Ordering::Greater)
        {
            best = next;
        }
        if solved {
            break;
        }
    }
    Ok(best)
}

/// `width / magnitude`, with `0/0 = 0` and `w/0 = +∞` (module docs of [`solve`]).
pub(crate) fn relative_width(width: f64, magnitude: f64) -> f64 {
    if width <= 0.0 {
        0.0
    } else if magnitude > 0.0 {
        width / magnitude
    } else {
        f64::INFINITY
    }
}

/// An LP solution of the scaled problem in the original units (`crate::scaling`).
fn unscale_solution(scaled: &Scaled, s: LpSolution, settings: &OuterSettings) -> LpSolution {
    let Scaling {
        quantity: sx,
        cost: sf,
    } = scaled.scaling;
    let price = scaled.scaling.price();
    let ranges = s.multiplier_ranges.map(|r| {
        let map = |v: &[(f64, f64)], eq: bool| -> Vec<(f64, f64)> {
            let a: Vec<f64> = v.iter().map(|p| p.0).collect();
            let b: Vec<f64> = v.iter().map(|p| p.1).collect();
            let a = scaled.unscale_multipliers(&a, eq);
            let b = scaled.unscale_multipliers(&b, eq);
            a.into_iter().zip(b).collect()
        };
        MultiplierRanges {
            equality: map(&r.equality, true),
            inequality: map(&r.inequality, false),
        }
    });
    LpSolution {
        x: s.x.iter().map(|u| u * sx).collect(),
        lower: s.lower * sf,
        upper: s.upper * sf,
        lp_value: s.lp_value * sf,
        equality_multipliers: scaled.unscale_multipliers(&s.equality_multipliers, true),
        inequality_multipliers: scaled.unscale_multipliers(&s.inequality_multipliers, false),
        lower_bound_multipliers: s
            .lower_bound_multipliers
            .iter()
            .map(|v| v * price)
            .collect(),
        upper_bound_multipliers: s
            .upper_bound_multipliers
            .iter()
            .map(|v| v * price)
            .collect(),
        multiplier_ranges: ranges,
        prices: s.prices,
        backend: s.backend,
        working_lower: s.working_lower.iter().map(|u| u * sx).collect(),
        working_upper: s.working_upper.iter().map(|u| u * sx).collect(),
        cuts: s.cuts,
        certificate: s.certificate,
        scaling: scaled.scaling,
        magnitude: s.magnitude * sf,
        tolerance: settings.tolerance,
    }
}

/// [`solve`] on a problem already in the units of its data.
pub(crate) fn solve_unit(
    problem: &SeparableProblem,
    settings: &OuterSettings,
) -> Result<LpSolution, LpError> {
    let mut wb = working_box(problem)?;
    let n = problem.objective.len();
    let f = &problem.objective;
    let mut cuts: Vec<Vec<Cut>> = Vec::with_capacity(n);
    for (j, fj) in f.iter().enumerate() {
        let (a, b) = (wb.lp_lo[j], wb.lp_hi[j]);
        let mut points = Vec::with_capacity(settings.initial_cuts + 1);
        if a == b {
            points.push(a);
        } else {
            let k = settings.initial_cuts;
            for i in 0..k {
                let s = i as f64 / (k - 1) as f64;
                points.push(if i + 1 == k { b } else { a + s * (b - a) });
            }
            let c = wb.centre[j].clamp(a, b);
            points.push(c);
        }
        let mut list = Vec::with_capacity(points.len());
        for p in points {
            add_cut(&mut list, fj.as_ref(), j, p)?;
        }
        cuts.push(list);
    }

    // Two lower bounds, kept apart: the Lagrangian dual value (weak duality, robust to
    // rounding: it evaluates the terms at points) and the LP value (exact only as far as the
    // back end solved the LP; with steep cuts it can overshoot).
    let mut bounds = LowerBounds {
        dual: f64::NEG_INFINITY,
        lp: f64::NEG_INFINITY,
    };
    let mut last: Option<Iterate> = None;
    let mut status = Status::MaxIterations;
    let mut iterations = 0;
    let single_row = problem.equalities.nrows() == 1 && problem.inequalities.nrows() == 0;
    while iterations < settings.max_iterations {
        let lp = CutLp {
            equalities: &problem.equalities,
            inequalities: &problem.inequalities,
            lo: &wb.lp_lo,
            hi: &wb.lp_hi,
            cuts: &cuts,
        }
        .solve(settings.backend);
        iterations += 1;
        let mut point = match lp {
            Ok(p) => p,
            Err(LpFailure::Infeasible) => {
                return Err(LpError::Infeasible {
                    reason: format!(
                        "the LP back end {} proved the rows and bounds infeasible",
                        settings.backend.name()
                    ),
                })
            }
            Err(LpFailure::Other(message)) => {
                if last.is_none() {
                    return Err(LpError::Backend {
                        backend: settings.backend.name(),
                        message,
                    });
                }
                status = Status::NumericalError;
                break;
            }
        };
        for j in 0..n {
            point.x[j] = point.x[j].clamp(wb.lp_lo[j], wb.lp_hi[j]);
        }
        // The back end's status alone is not trusted (good_lp's clarabel reports `Optimal`
        // for every accepted status): the point must satisfy the rows.
        let pinf = primal_infeasibility(problem, &point.x);
        if pinf.is_nan() || pinf > 1e-6 {
            if last.is_none() {
                return Err(LpError::Backend {
                    backend: settings.backend.name(),
                    message: format!("LP point violates the rows by {pinf:e} (scaled)"),
                });
            }
            status = Status::NumericalError;
            break;
        }
        let mut values = Vec::with_capacity(n);
        for (j, (fj, &xj)) in f.iter().zip(&point.x).enumerate() {
            values.push(checked(fj.value(xj), j, xj, "value")?);
        }
        let allowance = match &point.duals {
            Some(d) => residual_allowance(problem, &point.x, &d.equality, &d.inequality),
            None => 0.0,
        };
        let upper: f64 = rounded_sum(&values) + allowance;
        let restricted = restriction_binding(&wb, &point.x);
        if let Some(d) = &point.duals {
            let g = lagrangian(problem, &wb, &d.equality, &d.inequality);
            let g = ascend_lagrangian(problem, &wb, &d.equality, &d.inequality, g);
            if g.is_finite() {
                bounds.dual = bounds.dual.max(g);
            } else if !restricted {
                bounds.lp = bounds.lp.max(point.value);
            }
        } else if !restricted {
            bounds.lp = bounds.lp.max(point.value);
        }
        // Relative to the objective's magnitude at the LP point (not to the units: see
        // `OuterSettings::tolerance`).
        let magnitude: f64 = values.iter().map(|v| v.abs()).sum();
        let lower = bounds.consistent(upper, magnitude).0;
        let mut widened = false;
        for (j, fj) in f.iter().enumerate() {
            let tol = 1e-6 * (wb.lp_hi[j] - wb.lp_lo[j]).max(1.0);
            let domain = fj.domain();
            if wb.artificial_lo[j] && point.x[j] <= wb.lp_lo[j] + tol {
                widened |= wb.widen_lower(j, domain);
            }
            if wb.artificial_hi[j] && point.x[j] >= wb.lp_hi[j] - tol {
                widened |= wb.widen_upper(j, domain);
            }
        }
        let tol_abs = settings.tolerance * magnitude;
        // The interval's relative width (when to prune cuts).
        let gap = relative_width(upper - lower, magnitude);
        let mut done = !widened && upper - lower <= tol_abs;
        if !done && !widened && single_row {
            // One coupling row: the dual ascent of `finish` may already close the interval
            // (it is deterministic, so `finish` reaches the same point and bounds).
            let y0 = point
                .duals
                .as_ref()
                .and_then(|d| d.equality.first().copied())
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            if let Some(p) = polish_single_row(problem, &wb, y0) {
                let up =
                    rounded_sum(&p.values) + residual_allowance(problem, &p.x, &[p.price], &[]);
                let lo = lower.max(p.lower);
                let m: f64 = p.values.iter().map(|v| v.abs()).sum();
                done = primal_infeasibility(problem, &p.x) <= 1e-12
                    && relative_width(up.min(upper) - lo, m) <= settings.tolerance;
            }
        }
        last = Some(Iterate { point, values });
        if done {
            status = Status::Solved;
            break;
        }
        let Some(it) = &last else { break };
        // Cuts only where the LP point violates the epigraph by more than a quarter of the
        // mean violation `Σ_j (f_j(x_j) − t_j)/n` (and a negligible floor): the terms that
        // make the gap, so that the LP grows only where it must.
        let errors: f64 = it
            .values
            .iter()
            .zip(&it.point.t)
            .map(|(v, t)| (v - t).max(0.0))
            .sum();
        let threshold = (1e-3 * tol_abs / n as f64).max(0.25 * errors / n as f64);
        if settings.prune_cuts && gap < PRUNE_BELOW {
            // Kept around the LP point and around the Lagrangian minimisers of the LP's
            // multipliers (where the optimum is predicted: keeping only the cuts around
            // the LP point was measured far slower on demand shaping).
            let xi = it
                .point
                .duals
                .as_ref()
                .map(|d| lagrangian_minimisers(problem, &wb, &d.equality, &d.inequality));
            for j in 0..n {
                prune_cuts(&mut cuts[j], it.point.x[j], xi.as_ref().map(|m| m[j]));
            }
        }
        let mut added = 0usize;
        for j in 0..n {
            if it.values[j] - it.point.t[j] > threshold {
                added += add_cut(&mut cuts[j], f[j].as_ref(), j, it.point.x[j])?;
            }
        }
        if added == 0 && !widened {
            // Nothing left to refine: the envelope is exact at the LP point, so the gap is
            // the back end's accuracy.
            status = Status::NumericalError;
            break;
        }
    }
    let Some(it) = last else {
        return Err(LpError::Backend {
            backend: settings.backend.name(),
            message: "no LP was solved".into(),
        });
    };
    finish(
        problem, &wb, &cuts, it, bounds, iterations, status, settings,
    )
}

/// The lower bounds found so far (see [`solve`], *Interval*).
#[derive(Debug, Clone, Copy)]
struct LowerBounds {
    /// The largest Lagrangian dual value.
    dual: f64,
    /// The largest LP value that counted.
    lp: f64,
}

impl LowerBounds {
    /// The lower bound to use with the upper bound `upper`, and whether a bound had to be
    /// dropped: a lower bound above `upper` (beyond rounding, `1e-12` relative to the
    /// objective's magnitude `M`) is demonstrably wrong — the LP value of a badly conditioned LP, or a
    /// rounding failure — so it is not used; the LP value goes first, as the less robust.
    fn consistent(&self, upper: f64, magnitude: f64) -> (f64, bool) {
        let round = 1e-12 * magnitude;
        let ok = |v: f64| v <= upper + round;
        match (ok(self.dual), ok(self.lp)) {
            (true, true) => (self.dual.max(self.lp), false),
            (true, false) => (self.dual, true),
            (false, true) => (self.lp, true),
            (false, false) => (f64::NEG_INFINITY, true),
        }
    }
}

/// One LP point with its objective values.
struct Iterate {
    point: crate::lp::LpPoint,
    values: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn finish(
    problem: &SeparableProblem,
    wb: &WorkingBox,
    cuts: &[Vec<Cut>],
    it: Iterate,
    mut bounds: LowerBounds,
    iterations: usize,
    mut status: Status,
    settings: &OuterSettings,
) -> Result<LpSolution, LpError> {
    let n = problem.objective.len();
    let me = problem.equalities.nrows();
    let mi = problem.inequalities.nrows();
    let mut x = it.point.x;
    let values = it.values;
    let mut prices_ok = true;
    let (mut eq, ineq, mut nl, mut nu, mut ranges, mut prices) = match it.point.duals {
        Some(d) => (
            d.equality,
            d.inequality,
            d.lower,
            d.upper,
            None,
            PriceSource::Duals,
        ),
        None => {
            let sp = slope_prices(&SlopeInput {
                equalities: &problem.equalities,
                inequalities: &problem.inequalities,
                lo: &wb.lp_lo,
                hi: &wb.lp_hi,
                cuts,
                x: &x,
                t: &it.point.t,
            });
            match sp {
                Some(sp) => {
                    let g = lagrangian(problem, wb, &sp.equality, &sp.inequality);
                    if g.is_finite() {
                        bounds.dual = bounds.dual.max(g);
                    }
                    (
                        sp.equality,
                        sp.inequality,
                        sp.lower,
                        sp.upper,
                        Some(sp.ranges),
                        PriceSource::CutSlopes,
                    )
                }
                None => {
                    status = Status::NumericalError;
                    prices_ok = false;
                    (
                        vec![f64::NAN; me],
                        vec![f64::NAN; mi],
                        vec![f64::NAN; n],
                        vec![f64::NAN; n],
                        None,
                        PriceSource::CutSlopes,
                    )
                }
            }
        }
    };
    let mut upper = rounded_sum(&values) + residual_allowance(problem, &x, &eq, &ineq);
    let mut magnitude: f64 = values.iter().map(|v| v.abs()).sum();
    // One coupling row and an interval not yet tight relative to the objective: the LP's
    // price and point are only as accurate as the back end on steep cuts. Maximise the
    // Lagrangian dual over the row's price instead (`polish_single_row`).
    let tight = relative_width(upper - bounds.consistent(upper, magnitude).0, magnitude)
        <= settings.tolerance;
    if !tight && me == 1 && mi == 0 {
        let y0 = eq.first().copied().filter(|v| v.is_finite()).unwrap_or(0.0);
        if let Some(p) = polish_single_row(problem, wb, y0) {
            if p.lower.is_finite() {
                bounds.dual = bounds.dual.max(p.lower);
            }
            let allowance = residual_allowance(problem, &p.x, &[p.price], &[]);
            let candidate = rounded_sum(&p.values) + allowance;
            if candidate < upper && primal_infeasibility(problem, &p.x) <= 1e-12 {
                upper = candidate;
                magnitude = p.values.iter().map(|v| v.abs()).sum();
                x = p.x;
                eq = vec![p.price];
                let (a, _) = dense_row(problem);
                nl = vec![0.0; n];
                nu = vec![0.0; n];
                for j in 0..n {
                    let r = problem.objective[j].derivative(x[j]) - a[j] * p.price;
                    if r > 0.0 {
                        nl[j] = r;
                    } else {
                        nu[j] = -r;
                    }
                }
                ranges = None;
                prices = PriceSource::DualAscent;
                if status == Status::NumericalError {
                    // The back end's failure no longer bears on the returned point and
                    // prices; the interval decides below.
                    status = Status::MaxIterations;
                }
                prices_ok = true;
            }
        }
    }
    let (lower, dropped) = bounds.consistent(upper, magnitude);
    if dropped && status == Status::Solved {
        // A bound had to be dropped: the run is solved only if the remaining bound meets
        // the tolerance (decided below), not by the dropped one.
        status = Status::NumericalError;
    }
    // The status follows the proven interval (a stalled run whose final prices close the
    // gap is solved; a failed price computation is not).
    if status != Status::NumericalError || prices_ok {
        status = if relative_width(upper - lower, magnitude) <= settings.tolerance {
            Status::Solved
        } else if status == Status::Solved {
            Status::MaxIterations
        } else {
            status
        };
    }
    // Certificate at the returned point and prices.
    let mut c = vec![0.0; n];
    problem.equalities.apply_transpose_add(&eq, &mut c);
    let neg_z: Vec<f64> = ineq.iter().map(|z| -z).collect();
    problem.inequalities.apply_transpose_add(&neg_z, &mut c);
    let mut stat = 0.0_f64;
    let mut comp = 0.0_f64;
    let mut dual_scale = 1.0_f64;
    for v in eq.iter().chain(&ineq).chain(&nl).chain(&nu) {
        dual_scale = dual_scale.max(v.abs());
    }
    for j in 0..n {
        let d = problem.objective[j].derivative(x[j]);
        stat = stat.max((d - c[j] - nl[j] + nu[j]).abs());
        comp = comp
            .max((nl[j] * (x[j] - wb.lp_lo[j])).abs())
            .max((nu[j] * (wb.lp_hi[j] - x[j])).abs());
    }
    let gx = problem.inequalities.apply(&x);
    for i in 0..mi {
        comp = comp.max((ineq[i] * (problem.inequalities.rhs()[i] - gx[i])).abs());
    }
    let certificate = Certificate {
        primal_infeasibility: primal_infeasibility(problem, &x),
        stationarity: stat / dual_scale,
        complementarity: if comp > 0.0 { comp / magnitude } else { 0.0 },
        duality_gap: relative_width(upper - lower, magnitude),
        iterations,
        status,
    };
    Ok(LpSolution {
        x,
        lower,
        upper,
        lp_value: it.point.value,
        equality_multipliers: eq,
        inequality_multipliers: ineq,
        lower_bound_multipliers: nl,
        upper_bound_multipliers: nu,
        multiplier_ranges: ranges,
        prices,
        backend: settings.backend,
        working_lower: wb.lp_lo.clone(),
        working_upper: wb.lp_hi.clone(),
        cuts: cuts.iter().map(Vec::len).sum(),
        certificate,
        scaling: Scaling {
            quantity: 1.0,
            cost: 1.0,
        },
        magnitude,
        tolerance: settings.tolerance,
    })
}

/// Checks lengths, emptiness and finite right-hand sides (shared with the cross-check):
/// the kernel's own [`SeparableProblem::check_shape`], its error mapped to [`LpError`].
pub(crate) fn validate_shape(problem: &SeparableProblem) -> Result<(), LpError> {
    problem.check_shape().map_err(LpError::from)
}

fn checked(v: f64, j: usize, at: f64, what: &str) -> Result<f64, LpError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(LpError::ObjectiveNotFinite {
            field: format!("objective[{j}] ({what})"),
            index: j,
            at,
            value: v,
        })
    }
}

/// Relative interval width below which [`prune_cuts`] runs: the LP points have settled
/// near the optimum, so cuts far from them no longer shape the LP's solution.
const PRUNE_BELOW: f64 = 1e-3;
/// Cuts kept on each side of the LP point (and of the Lagrangian minimiser) by [`prune_cuts`].
const KEEP_EACH_SIDE: usize = 2;

/// Drops the cuts of one term that lie far from the LP point `x` and the Lagrangian
/// minimiser `xi`: kept are the cuts at the lowest and highest points (so the envelope
/// stays bounded over the whole box) and the [`KEEP_EACH_SIDE`] nearest on each side of
/// `x` and of `xi` ([`OuterSettings::prune_cuts`]). Any subset of tangent cuts is still an outer approximation (every cut is
/// below `f`), so the LP value stays a lower bound and nothing proven depends on the cuts
/// kept; a smaller LP is only faster (its interior-point cost grows with the cut rows).
fn prune_cuts(list: &mut Vec<Cut>, x: f64, xi: Option<f64>) {
    if list.len() <= 4 * KEEP_EACH_SIDE + 2 {
        return;
    }
    list.sort_by(|a, b| a.point.total_cmp(&b.point));
    let mut keep = vec![false; list.len()];
    keep[0] = true;
    keep[list.len() - 1] = true;
    for centre in std::iter::once(x).chain(xi) {
        if !centre.is_finite() {
            continue;
        }
        let pos = list.partition_point(|c| c.point < centre);
        let from = pos.saturating_sub(KEEP_EACH_SIDE);
        let to = (pos + KEEP_EACH_SIDE).min(list.len());
        for k in keep.iter_mut().take(to).skip(from) {
            *k = true;
        }
    }
    let mut k = keep.iter();
    list.retain(|_| *k.next().unwrap_or(&true));
}

/// Adds the tangent cut of `f` at `p` unless one exists at (numerically) the same point.
/// Returns the number of cuts added (0 or 1).
fn add_cut(list: &mut Vec<Cut>, f: &dyn ConvexScalar, j: usize, p: f64) -> Result<usize, LpError> {
    let tol = 1e-12 * p.abs().max(1.0);
    if list.iter().any(|c| (c.point - p).abs() <= tol) {
        return Ok(0);
    }
    let value = checked(f.value(p), j, p, "value")?;
    let slope = checked(f.derivative(p), j, p, "derivative")?;
    list.push(Cut {
        point: p,
        value,
        slope,
    });
    Ok(1)
}

/// Whether an artificial bound or a domain margin is binding at `x`.
fn restriction_binding(wb: &WorkingBox, x: &[f64]) -> bool {
    (0..x.len()).any(|j| {
        let tol = 1e-6 * (wb.lp_hi[j] - wb.lp_lo[j]).max(1.0);
        (wb.restrict_lo[j] && x[j] <= wb.lp_lo[j] + tol)
            || (wb.restrict_hi[j] && x[j] >= wb.lp_hi[j] - tol)
    })
}

/// First-order allowance for the back end's feasibility residual: moving `x` onto the
/// rows changes `Σ f` by `−yᵀ(Ax − b) + zᵀ(Gx − h)⁺` to first order (stationarity), so
/// `Σ_i |y_i| |(Ax − b)_i| + Σ_i z_i⁺ (Gx − h)_i⁺` is added to the upper bound. Zero at an
/// exactly feasible point; about `1e-10` relative with clarabel, `1e-16` with microlp.
fn residual_allowance(problem: &SeparableProblem, x: &[f64], y: &[f64], z: &[f64]) -> f64 {
    let ax = problem.equalities.apply(x);
    let gx = problem.inequalities.apply(x);
    // The computed residual can hide the rounding of the row's own sum: allow
    // `(k + 2) ε (Σ_j |a_ij x_j| + |b_i|)` for a row of `k` entries (Higham 2002 §4.2).
    let rounding = |rows: &dr_convex::ipm::LinearRows, i: usize, rhs: f64| -> f64 {
        let (cols, vals) = rows.row(i);
        let act: f64 = cols.iter().zip(vals).map(|(&c, &v)| (v * x[c]).abs()).sum();
        (cols.len() + 2) as f64 * f64::EPSILON * (act + rhs.abs())
    };
    let mut a = 0.0;
    for (i, ((v, b), y)) in ax.iter().zip(problem.equalities.rhs()).zip(y).enumerate() {
        a += y.abs() * ((v - b).abs() + rounding(&problem.equalities, i, *b));
    }
    for (i, ((v, h), z)) in gx.iter().zip(problem.inequalities.rhs()).zip(z).enumerate() {
        a += z.max(0.0) * ((v - h).max(0.0) + rounding(&problem.inequalities, i, *h));
    }
    if a.is_finite() {
        a
    } else {
        0.0
    }
}

/// `Σ_j v_j` plus the bound `(n + 2) ε Σ_j |v_j|` on its rounding (Higham 2002 §4.2): an
/// upper bound on the exact sum of the computed terms.
fn rounded_sum(values: &[f64]) -> f64 {
    let (sum, mag) = values
        .iter()
        .fold((0.0, 0.0), |(s, m), v| (s + v, m + v.abs()));
    sum + (values.len() + 2) as f64 * f64::EPSILON * mag
}

/// Largest row violation `|Ax − b|`, `max(0, Gx − h)`, scaled by `max(1, |rhs|)`.
pub(crate) fn primal_infeasibility(problem: &SeparableProblem, x: &[f64]) -> f64 {
    let mut p = 0.0_f64;
    let ax = problem.equalities.apply(x);
    for (v, b) in ax.iter().zip(problem.equalities.rhs()) {
        p = p.max((v - b).abs() / b.abs().max(1.0));
    }
    let gx = problem.inequalities.apply(x);
    for (v, h) in gx.iter().zip(problem.inequalities.rhs()) {
        p = p.max((v - h).max(0.0) / h.abs().max(1.0));
    }
    p
}

/// The Lagrangian dual function `g(y, z⁺)` over the valid box (−∞ when an inner minimum
/// is not finite). A lower bound on the optimum for any `y` and `z`, by weak duality.
///
/// Less its own rounding: `g = bᵀy − hᵀz + Σ_j (f_j(ξ_j) − c_j ξ_j)` is a sum of `k = n +
/// rows` terms that can cancel (`bᵀy = p d` far above the optimum when a cost is nearly
/// linear or next to a barrier), so the value returned is the computed sum minus
/// `(k + 4) ε Σ |terms|` (`ε` the machine epsilon; the classical bound `(k − 1) u Σ|terms|`
/// of a recursive sum, Higham 2002 §4.2, with a few ulps for each term's own evaluation).
/// A lower bound on `F*` thus stays one in floating point, and does not rely on
/// [`ConvexScalar::inverse_derivative`] being exact: the gap of its answer is bounded
/// through `f'` and convexity (see the code).
pub(crate) fn lagrangian(problem: &SeparableProblem, wb: &WorkingBox, y: &[f64], z: &[f64]) -> f64 {
    let n = problem.objective.len();
    let zp: Vec<f64> = z.iter().map(|v| v.max(0.0)).collect();
    if y.iter().chain(&zp).any(|v| !v.is_finite()) {
        return f64::NEG_INFINITY;
    }
    let mut c = vec![0.0; n];
    problem.equalities.apply_transpose_add(y, &mut c);
    let neg: Vec<f64> = zp.iter().map(|v| -v).collect();
    problem.inequalities.apply_transpose_add(&neg, &mut c);
    let mut g = 0.0;
    let mut mag = 0.0;
    for (b, yi) in problem.equalities.rhs().iter().zip(y) {
        g += b * yi;
        mag += (b * yi).abs();
    }
    for (h, zi) in problem.inequalities.rhs().iter().zip(&zp) {
        g -= h * zi;
        mag += (h * zi).abs();
    }
    for (j, (f, &cj)) in problem.objective.iter().zip(&c).enumerate() {
        let (lo, hi) = (wb.valid_lo[j], wb.valid_hi[j]);
        let xi = f.inverse_derivative(cj, lo, hi);
        let fx = f.value(xi);
        let v = fx - cj * xi;
        if !(v.is_finite() && xi.is_finite()) {
            return f64::NEG_INFINITY;
        }
        // `ξ` need not be the exact minimiser: by convexity `f(x) − c x ≥ f(ξ) − c ξ +
        // s (x − ξ)`, `s = f'(ξ) − c`, so the minimum over `[lo, hi]` is at least
        // `f(ξ) − c ξ − max(0, −s (hi − ξ), s (ξ − lo))`. A slope mismatch at the level of
        // rounding (`4 ε` relative) counts as none.
        let slope = f.derivative(xi);
        let mismatch = slope - cj;
        let corr = if !mismatch.is_finite() {
            f64::INFINITY
        } else if mismatch.abs() <= 4.0 * f64::EPSILON * slope.abs().max(cj.abs()) {
            0.0
        } else if mismatch < 0.0 {
            -mismatch * (hi - xi)
        } else {
            mismatch * (xi - lo)
        };
        if !corr.is_finite() {
            return f64::NEG_INFINITY;
        }
        g += v - corr;
        mag += fx.abs() + (cj * xi).abs();
    }
    let k = (n + y.len() + zp.len() + 4) as f64;
    g - k * f64::EPSILON * mag
}

/// The minimisers `ξ_j = argmin_{ξ ∈ B_j} f_j(ξ) − c_j ξ`, `c = Aᵀy − Gᵀz⁺`, over the valid
/// box (as in [`lagrangian`]), clamped to the LP's working box; NaN everywhere when a
/// multiplier is not finite.
fn lagrangian_minimisers(
    problem: &SeparableProblem,
    wb: &WorkingBox,
    y: &[f64],
    z: &[f64],
) -> Vec<f64> {
    let n = problem.objective.len();
    if y.iter().chain(z).any(|v| !v.is_finite()) {
        return vec![f64::NAN; n];
    }
    let mut c = vec![0.0; n];
    problem.equalities.apply_transpose_add(y, &mut c);
    let neg: Vec<f64> = z.iter().map(|v| -v.max(0.0)).collect();
    problem.inequalities.apply_transpose_add(&neg, &mut c);
    problem
        .objective
        .iter()
        .zip(&c)
        .enumerate()
        .map(|(j, (f, &cj))| {
            f.inverse_derivative(cj, wb.valid_lo[j], wb.valid_hi[j])
                .clamp(wb.lp_lo[j], wb.lp_hi[j])
        })
        .collect()
}

/// Rows (equalities and inequalities together) up to which [`ascend_lagrangian`] runs.
const ASCENT_ROWS: usize = 16;
/// Sweeps over the directions of [`ascend_lagrangian`].
const ASCENT_SWEEPS: usize = 30;
/// Rows up to which [`ascend_lagrangian`] also moves pairs of multipliers.
const ASCENT_PAIR_ROWS: usize = 6;

/// The Lagrangian dual value `g(y, z)` ([`lagrangian`]) raised by a derivative-free
/// coordinate ascent from the LP's multipliers (`g0 = g(y, z)`), for problems with a few
/// coupling rows: each row's multiplier is moved by a step that doubles while `g` grows and
/// halves when neither direction helps (`z ≥ 0` kept).
///
/// Every value of `g` is a lower bound on the optimum (weak duality), so the largest one
/// found is still a proven lower bound, whatever the steps; the ascent only closes the gap
/// that the LP's multipliers leave (they are exact for the outer approximation, not for
/// the problem). It uses nothing but the terms' values and inverse derivatives: no code of
/// the kernel's multiplier search.
fn ascend_lagrangian(
    problem: &SeparableProblem,
    wb: &WorkingBox,
    y: &[f64],
    z: &[f64],
    g0: f64,
) -> f64 {
    let me = y.len();
    let m = me + z.len();
    // One equality row alone is finished by `polish_single_row`'s bisection instead.
    let single_row = me == 1 && z.is_empty();
    if m == 0 || single_row || m > ASCENT_ROWS || !g0.is_finite() {
        return g0;
    }
    let mut v: Vec<f64> = y
        .iter()
        .copied()
        .chain(z.iter().map(|z| z.max(0.0)))
        .collect();
    let scale = v.iter().fold(0.0_f64, |a, b| a.max(b.abs()));
    if !(scale.is_finite() && scale > 0.0) {
        return g0;
    }
    // Directions: each row's multiplier alone, and (for up to `ASCENT_PAIR_ROWS` rows) each
    // pair moved in opposite directions, which keeps their sum — the Lagrangian of a free
    // linear term, such as a peak variable priced by several rows, has a kink across it.
    let mut dirs: Vec<(usize, Option<usize>)> = (0..m).map(|k| (k, None)).collect();
    if m <= ASCENT_PAIR_ROWS {
        for a in 0..m {
            for b in a + 1..m {
                dirs.push((a, Some(b)));
            }
        }
    }
    let mut step = vec![1e-4 * scale; dirs.len()];
    let mut best = g0;
    for _ in 0..ASCENT_SWEEPS {
        for (d, &(a, b)) in dirs.iter().enumerate() {
            let mut improved = false;
            for sign in [1.0, -1.0] {
                let mut trial = v.clone();
                trial[a] += sign * step[d];
                if let Some(b) = b {
                    trial[b] -= sign * step[d];
                }
                for t in trial.iter_mut().skip(me) {
                    *t = t.max(0.0);
                }
                if trial == v {
                    continue;
                }
                let g = lagrangian(problem, wb, &trial[..me], &trial[me..]);
                if g > best {
                    best = g;
                    v = trial;
                    step[d] *= 2.0;
                    improved = true;
                    break;
                }
            }
            if !improved {
                step[d] *= 0.5;
            }
        }
    }
    best
}

/// The result of [`polish_single_row`].
struct Polished {
    price: f64,
    x: Vec<f64>,
    values: Vec<f64>,
    lower: f64,
}

/// The single equality row as a dense coefficient vector, and its right-hand side.
fn dense_row(problem: &SeparableProblem) -> (Vec<f64>, f64) {
    let mut a = vec![0.0; problem.objective.len()];
    let (cols, vals) = problem.equalities.row(0);
    for (&c, &v) in cols.iter().zip(vals) {
        a[c] += v;
    }
    (a, problem.equalities.rhs()[0])
}

/// Dual ascent on a problem with one equality row `aᵀx = b` and no inequality rows.
///
/// The dual function `g(y) = b y + Σ_j min_{ξ ∈ B_j} (f_j(ξ) − a_j y ξ)` is concave with
/// derivative `r(y) = b − Σ_j a_j ξ_j(y)`, non-increasing in `y` (each minimiser `ξ_j` is
/// non-decreasing in `a_j y`). A bracket `r(y_lo) ≥ 0 ≥ r(y_hi)` is found by doubling steps
/// from the LP's price `y0` and shrunk by bisection. The lower bound is the largest `g` at
/// the bracket's ends (weak duality: valid for any `y`, computed by [`lagrangian`] over the
/// valid box). The point is `x = (1 − θ) ξ(y_lo) + θ ξ(y_hi)`, the minimisers over the valid
/// box (which lies within the problem's bounds), `θ = r_lo/(r_lo − r_hi)`: it lies in the box and satisfies the row up to rounding, so
/// `Σ f_j(x_j)` bounds the optimum from above. `None` when no bracket is found or a value
/// is not finite.
fn polish_single_row(problem: &SeparableProblem, wb: &WorkingBox, y0: f64) -> Option<Polished> {
    let n = problem.objective.len();
    let f = &problem.objective;
    let (a, b) = dense_row(problem);
    let point = |y: f64| -> Vec<f64> {
        (0..n)
            .map(|j| {
                // Over the valid box, not the LP's: an optimum closer to an open end of a
                // term's domain than the LP's margin (the Nash transform's barrier at
                // `d/2`) is reached.
                f[j].inverse_derivative(a[j] * y, wb.valid_lo[j], wb.valid_hi[j])
            })
            .collect()
    };
    let residual = |x: &[f64]| -> f64 { b - (0..n).map(|j| a[j] * x[j]).sum::<f64>() };
    let (mut lo, mut hi) = (y0, y0);
    let mut x_lo = point(lo);
    let mut r_lo = residual(&x_lo);
    let (mut x_hi, mut r_hi) = (x_lo.clone(), r_lo);
    // A search step, not a tolerance: prices are `O(1)` in the units of the data, and 400
    // doublings from `1e-12` reach `1e108`.
    let mut step = (y0.abs() * 1e-6).max(1e-12);
    let mut found = r_lo == 0.0;
    for _ in 0..400 {
        if found || !(r_lo.is_finite() && r_hi.is_finite()) {
            break;
        }
        if r_lo > 0.0 {
            // The price is too low: move the upper end up.
            hi = lo + step;
            x_hi = point(hi);
            r_hi = residual(&x_hi);
            if r_hi <= 0.0 {
                found = true;
            } else {
                lo = hi;
                x_lo = x_hi.clone();
                r_lo = r_hi;
            }
        } else {
            lo = hi - step;
            x_lo = point(lo);
            r_lo = residual(&x_lo);
            if r_lo >= 0.0 {
                found = true;
            } else {
                hi = lo;
                x_hi = x_lo.clone();
                r_hi = r_lo;
            }
        }
        step *= 2.0;
    }
    if !(found && lo.is_finite() && hi.is_finite()) {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if !(mid > lo && mid < hi) {
            break;
        }
        let xm = point(mid);
        let rm = residual(&xm);
        if !rm.is_finite() {
            return None;
        }
        if rm >= 0.0 {
            lo = mid;
            x_lo = xm;
            r_lo = rm;
        } else {
            hi = mid;
            x_hi = xm;
            r_hi = rm;
        }
        if r_lo == 0.0 || r_hi == 0.0 {
            break;
        }
    }
    let theta = if r_lo > r_hi {
        (r_lo / (r_lo - r_hi)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x: Vec<f64> = (0..n)
        .map(|j| ((1.0 - theta) * x_lo[j] + theta * x_hi[j]).clamp(wb.valid_lo[j], wb.valid_hi[j]))
        .collect();
    let values: Vec<f64> = (0..n).map(|j| f[j].value(x[j])).collect();
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let lower = lagrangian(problem, wb, &[lo], &[]).max(lagrangian(problem, wb, &[hi], &[]));
    let price = if r_lo == 0.0 {
        lo
    } else if r_hi == 0.0 {
        hi
    } else {
        (1.0 - theta) * lo + theta * hi
    };
    Some(Polished {
        price,
        x,
        values,
        lower,
    })
}
