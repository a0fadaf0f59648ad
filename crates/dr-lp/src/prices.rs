//! Prices without LP duals: the multipliers consistent with the cut slopes at the LP point.
//!
//! At an optimal point `(x, t)` of the cutting-plane LP, LP duality (complementary
//! slackness) says the optimal row multipliers `λ = (y, z)` are exactly those with
//! `c_j(λ) = (Aᵀy − Gᵀz)_j ∈ [s⁻_j, s⁺_j]` — the slopes of the leftmost and rightmost cut
//! active at `x_j`, i.e. the subdifferential of the cut envelope — for every `x_j` strictly
//! inside its LP box; only `c_j ≤ s⁺_j` at a lower bound and `c_j ≥ s⁻_j` at an upper bound
//! (the bound multiplier takes the rest); `z ≥ 0`, and `z_i = 0` on rows that are slack
//! at `x`. For one coupling row `Σ x_j = d` this is the interval between adjacent cut
//! slopes, intersected over the free variables; in general it is a polyhedron, and the
//! range of each multiplier over it is found by two small LPs (microlp).

use crate::lp::Cut;
use dr_convex::ipm::LinearRows;
use good_lp::solvers::microlp::microlp;
use good_lp::{variable, Expression, ProblemVariables, Solution, SolverModel, Variable};
use serde::{Deserialize, Serialize};

/// The range of each row multiplier over the set of LP-optimal multipliers (kernel sign
/// convention); `±∞` where the LP point does not pin a multiplier down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiplierRanges {
    /// `[min y_i, max y_i]` per equality row.
    pub equality: Vec<(f64, f64)>,
    /// `[min z_i, max z_i]` per inequality row (`(0, 0)` for rows slack at the LP point).
    pub inequality: Vec<(f64, f64)>,
}

/// Prices read from the cut slopes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlopePrices {
    pub ranges: MultiplierRanges,
    pub equality: Vec<f64>,
    pub inequality: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Per-variable condition `c_j(λ) ∈ [lo, hi]` (either end may be infinite).
struct Condition {
    j: usize,
    lo: f64,
    hi: f64,
}

/// Subdifferential `[s⁻, s⁺]` of the cut envelope at `x` (given `t = max cuts`).
pub(crate) fn envelope_slopes(cuts: &[Cut], x: f64, t: f64) -> (f64, f64) {
    let top = cuts
        .iter()
        .map(|c| c.at(x))
        .fold(f64::NEG_INFINITY, f64::max)
        .max(t);
    let eps = 1e-9 * top.abs().max(1.0);
    let (mut s_lo, mut s_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in cuts {
        if c.at(x) >= top - eps {
            s_lo = s_lo.min(c.slope);
            s_hi = s_hi.max(c.slope);
        }
    }
    (s_lo, s_hi)
}

/// Input of [`slope_prices`].
pub(crate) struct SlopeInput<'a> {
    pub equalities: &'a LinearRows,
    pub inequalities: &'a LinearRows,
    pub lo: &'a [f64],
    pub hi: &'a [f64],
    pub cuts: &'a [Vec<Cut>],
    pub x: &'a [f64],
    pub t: &'a [f64],
}

/// The multiplier ranges and a point of the LP-optimal multiplier set (the one nearest, in
/// the 1-norm, to the midpoints of the ranges). `None` when the set is numerically empty
/// even after widening the slope intervals.
pub(crate) fn slope_prices(input: &SlopeInput<'_>) -> Option<SlopePrices> {
    let n = input.x.len();
    let me = input.equalities.nrows();
    let mi = input.inequalities.nrows();
    // Rows of G that are active at x (their z may be positive).
    let gx = input.inequalities.apply(input.x);
    let active: Vec<bool> = (0..mi)
        .map(|i| {
            let h = input.inequalities.rhs()[i];
            h - gx[i] <= 1e-9 * h.abs().max(1.0)
        })
        .collect();
    // Columns of [A; −G_active] per variable.
    let mut columns: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for r in 0..me {
        let (cols, vals) = input.equalities.row(r);
        for (&c, &v) in cols.iter().zip(vals) {
            columns[c].push((r, v));
        }
    }
    for (i, &act) in active.iter().enumerate() {
        if act {
            let (cols, vals) = input.inequalities.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                columns[c].push((me + i, -v));
            }
        }
    }
    let mut sl = vec![0.0; n];
    let mut sh = vec![0.0; n];
    let mut at_lo = vec![false; n];
    let mut at_hi = vec![false; n];
    for j in 0..n {
        let (a, b) = envelope_slopes(&input.cuts[j], input.x[j], input.t[j]);
        sl[j] = a;
        sh[j] = b;
        let tol = 1e-9 * input.lo[j].abs().max(input.hi[j].abs()).max(1.0);
        at_lo[j] = input.x[j] <= input.lo[j] + tol;
        at_hi[j] = input.x[j] >= input.hi[j] - tol;
    }
    for widen in [1e-9, 1e-6, 1e-3] {
        let conditions: Vec<Condition> = (0..n)
            .filter(|&j| !columns[j].is_empty())
            .map(|j| {
                let w = widen * sl[j].abs().max(sh[j].abs()).max(1.0);
                Condition {
                    j,
                    lo: if at_lo[j] {
                        f64::NEG_INFINITY
                    } else {
                        sl[j] - w
                    },
                    hi: if at_hi[j] { f64::INFINITY } else { sh[j] + w },
                }
            })
            .collect();
        let set = MultiplierSet {
            m: me + mi,
            me,
            active: &active,
            columns: &columns,
            conditions: &conditions,
        };
        let Some(ranges) = set.ranges() else {
            continue;
        };
        let target: Vec<f64> = ranges
            .iter()
            .map(|&(a, b)| match (a.is_finite(), b.is_finite()) {
                (true, true) => 0.5 * (a + b),
                (true, false) => a,
                (false, true) => b,
                (false, false) => 0.0,
            })
            .collect();
        let Some(point) = set.nearest(&target) else {
            continue;
        };
        // c_j at the point, and the bound multipliers that close stationarity.
        let mut lower = vec![0.0; n];
        let mut upper = vec![0.0; n];
        for j in 0..n {
            let c: f64 = columns[j].iter().map(|&(r, v)| v * point[r]).sum();
            if at_lo[j] {
                lower[j] = (sl[j] - c).max(0.0);
            }
            if at_hi[j] {
                upper[j] = (c - sh[j]).max(0.0);
            }
        }
        return Some(SlopePrices {
            ranges: MultiplierRanges {
                equality: ranges[..me].to_vec(),
                inequality: ranges[me..].to_vec(),
            },
            equality: point[..me].to_vec(),
            inequality: point[me..].to_vec(),
            lower,
            upper,
        });
    }
    None
}

/// `{λ : c_j(λ) ∈ [lo_j, hi_j], z ≥ 0, z_i = 0 on slack rows}`.
struct MultiplierSet<'a> {
    m: usize,
    me: usize,
    active: &'a [bool],
    columns: &'a [Vec<(usize, f64)>],
    conditions: &'a [Condition],
}

enum Goal<'a> {
    Min(usize),
    Max(usize),
    Nearest(&'a [f64]),
}

impl MultiplierSet<'_> {
    /// Whether multiplier `r` is fixed at 0 (a slack inequality row).
    fn fixed_zero(&self, r: usize) -> bool {
        r >= self.me && !self.active[r - self.me]
    }

    /// Solves one LP over the set. `Err(true)` when unbounded, `Err(false)` when infeasible
    /// or failed.
    fn optimise(&self, goal: &Goal<'_>) -> Result<Vec<f64>, bool> {
        let mut vars = ProblemVariables::new();
        let lam: Vec<Variable> = (0..self.m)
            .map(|r| {
                if self.fixed_zero(r) {
                    vars.add(variable().min(0.0).max(0.0))
                } else if r >= self.me {
                    vars.add(variable().min(0.0))
                } else {
                    vars.add(variable())
                }
            })
            .collect();
        let mut deviations = Vec::new();
        let objective: Expression = match goal {
            Goal::Min(r) => Expression::from(lam[*r]),
            Goal::Max(r) => -Expression::from(lam[*r]),
            Goal::Nearest(_) => {
                for _ in 0..self.m {
                    let p = vars.add(variable().min(0.0));
                    let q = vars.add(variable().min(0.0));
                    deviations.push((p, q));
                }
                deviations.iter().map(|&(p, q)| p + q).sum()
            }
        };
        let mut model = vars.minimise(objective).using(microlp);
        for cond in self.conditions {
            let mut e = Expression::with_capacity(self.columns[cond.j].len());
            for &(r, v) in &self.columns[cond.j] {
                e.add_mul(v, lam[r]);
            }
            if cond.lo.is_finite() && cond.hi.is_finite() {
                model.add_constraint(e.clone().geq(cond.lo));
                model.add_constraint(e.leq(cond.hi));
            } else if cond.lo.is_finite() {
                model.add_constraint(e.geq(cond.lo));
            } else if cond.hi.is_finite() {
                model.add_constraint(e.leq(cond.hi));
            }
        }
        if let Goal::Nearest(target) = goal {
            for (r, &(p, q)) in deviations.iter().enumerate() {
                model.add_constraint((lam[r] - p + q).eq(target[r]));
            }
        }
        match model.solve() {
            Ok(sol) => Ok(lam.iter().map(|&v| sol.value(v)).collect()),
            Err(good_lp::ResolutionError::Unbounded) => Err(true),
            Err(_) => Err(false),
        }
    }

    /// `[min λ_r, max λ_r]` for every multiplier; `None` when the set is empty.
    fn ranges(&self) -> Option<Vec<(f64, f64)>> {
        let mut out = Vec::with_capacity(self.m);
        for r in 0..self.m {
            if self.fixed_zero(r) {
                out.push((0.0, 0.0));
                continue;
            }
            let lo = match self.optimise(&Goal::Min(r)) {
                Ok(v) => v[r],
                Err(true) => f64::NEG_INFINITY,
                Err(false) => return None,
            };
            let hi = match self.optimise(&Goal::Max(r)) {
                Ok(v) => v[r],
                Err(true) => f64::INFINITY,
                Err(false) => return None,
            };
            out.push((lo, hi.max(lo)));
        }
        Some(out)
    }

    /// The point of the set nearest to `target` in the 1-norm.
    fn nearest(&self, target: &[f64]) -> Option<Vec<f64>> {
        self.optimise(&Goal::Nearest(target)).ok()
    }
}
