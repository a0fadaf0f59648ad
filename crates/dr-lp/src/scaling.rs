//! Units: the LP back end runs every problem in units of its own data.
//!
//! A problem whose quantities are `1e-12` (a tiny deficit) or `1e12`, or whose costs span
//! many orders of magnitude, is solved and cross-checked as the same problem *in units of
//! its data*: with a quantity scale `σ_x`, a cost scale `σ_f` and row scales `r_i`,
//!
//! `x = σ_x u`, `g_j(u) = f_j(σ_x u)/σ_f`, rows `(A_i/r_i) u = b_i/(σ_x r_i)`,
//!
//! so `F = σ_f G`, and a multiplier `ŷ_i` of the scaled row is `y_i = ŷ_i σ_f/(r_i σ_x)` of
//! the original (the Lagrangian `Σ f − yᵀ(Ax − b)` divided by `σ_f`). Every tolerance of the
//! solver and of the cross-check is then relative to the data's own scale: `1` in the
//! scaled problem is `σ_x` of quantity, `σ_f` of cost and `σ_f/σ_x` of price.
//!
//! - `r_i = max_j |a_ij|` (`1` for an empty row);
//! - `σ_x` = the largest of `|b_i|/r_i` and the finite bounds `|l_j|`, `|u_j|` (the size of
//!   the totals the rows and bounds impose), `1` when all are zero;
//! - `σ_f` = the largest variation `max_P f_j − min_P f_j` of a term over the sample
//!   points `P_j` = {`l_j`, `u_j`, `0`, `±σ_x`, `±σ_x/2`, `(l_j + u_j)/2`} that are finite,
//!   inside `[l_j, u_j]` and strictly inside the domain of `f_j`: how much a term's cost
//!   changes over the size of the data (for `a q + h q²` about `a σ_x + h σ_x²`; for
//!   `−γ ln(ζ + x)` about `γ ln(1 + σ_x/ζ)`). Where every term is constant on its samples,
//!   `σ_x π` with `π` the largest sampled `|f_j'|`; `1` when that is `0` too.
//!
//! `σ_f` is an a-priori guess: with costs spanning many decades it can exceed the optimum
//! by a factor `1e6` or more. So the solver's *status* never relies on it (the interval must
//! be tight relative to the objective itself, [`crate::OuterSettings::tolerance`]), the run
//! is repeated in units of the objective found where it is far smaller ([`crate::solve`]),
//! and the cross-check never uses a cost unit above the objective's magnitude.
//!
//! The scales are exact powers of nothing in particular: the scaled data are rounded once
//! (relative `1e-16`), which is far below every tolerance used.

use crate::error::LpError;
use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::ConvexScalar;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The units the LP back end works in (module docs): `x = quantity · u`, `F = cost · G`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Quantity scale `σ_x`.
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub quantity: f64,
    /// Cost scale `σ_f` (so prices are in units of `σ_f/σ_x`).
    #[serde(
        with = "crate::number",
        skip_serializing_if = "crate::number::is_nan",
        default = "crate::number::nan"
    )]
    pub cost: f64,
}

impl Scaling {
    /// Price scale `σ_f/σ_x`.
    pub fn price(&self) -> f64 {
        self.cost / self.quantity
    }
}

/// `f(σ_x u)/σ_f`.
#[derive(Debug)]
struct ScaledTerm {
    f: Arc<dyn ConvexScalar>,
    sx: f64,
    sf: f64,
}

impl ConvexScalar for ScaledTerm {
    fn value(&self, u: f64) -> f64 {
        self.f.value(self.sx * u) / self.sf
    }
    fn derivative(&self, u: f64) -> f64 {
        self.f.derivative(self.sx * u) * (self.sx / self.sf)
    }
    fn second_derivative(&self, u: f64) -> f64 {
        self.f.second_derivative(self.sx * u) * (self.sx / self.sf) * self.sx
    }
    fn domain(&self) -> (f64, f64) {
        let (a, b) = self.f.domain();
        (a / self.sx, b / self.sx)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        self.f
            .inverse_derivative(p * (self.sf / self.sx), lo * self.sx, hi * self.sx)
            / self.sx
    }
}

/// A problem in the units of its data, with the map back.
pub(crate) struct Scaled {
    pub problem: SeparableProblem,
    pub scaling: Scaling,
    /// `r_i` of the equality rows.
    pub eq_rows: Vec<f64>,
    /// `r_i` of the inequality rows.
    pub in_rows: Vec<f64>,
}

fn row_scales(rows: &LinearRows) -> Vec<f64> {
    (0..rows.nrows())
        .map(|i| {
            let r = rows.row(i).1.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            if r > 0.0 && r.is_finite() {
                r
            } else {
                1.0
            }
        })
        .collect()
}

fn scaled_rows(rows: &LinearRows, r: &[f64], sx: f64) -> Result<LinearRows, LpError> {
    let mut out = LinearRows::new(rows.ncols());
    for (i, &ri) in r.iter().enumerate() {
        let (cols, vals) = rows.row(i);
        let entries: Vec<(usize, f64)> =
            cols.iter().zip(vals).map(|(&c, &v)| (c, v / ri)).collect();
        out.push_row(&entries, rows.rhs()[i] / (sx * ri))?;
    }
    Ok(out)
}

/// The scales of `problem` (module docs). Expects a problem that passed the shape checks
/// and has no NaN bound.
pub fn scaling_of(problem: &SeparableProblem) -> Scaling {
    let mut sx = 0.0_f64;
    for rows in [&problem.equalities, &problem.inequalities] {
        for (i, &r) in row_scales(rows).iter().enumerate() {
            sx = sx.max(rows.rhs()[i].abs() / r);
        }
    }
    for &v in problem.lower.iter().chain(&problem.upper) {
        if v.is_finite() {
            sx = sx.max(v.abs());
        }
    }
    if !(sx > 0.0 && sx.is_finite()) {
        sx = 1.0;
    }
    let mut variation = 0.0_f64;
    let mut slope = 0.0_f64;
    for (j, f) in problem.objective.iter().enumerate() {
        let (l, u) = (problem.lower[j], problem.upper[j]);
        let (dlo, dhi) = f.domain();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for p in [l, u, 0.0, sx, -sx, 0.5 * sx, -0.5 * sx, 0.5 * (l + u)] {
            if p.is_finite() && p >= l && p <= u && p > dlo && p < dhi {
                let v = f.value(p);
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                let d = f.derivative(p).abs();
                if d.is_finite() {
                    slope = slope.max(d);
                }
            }
        }
        if hi > lo {
            variation = variation.max(hi - lo);
        }
    }
    let mut sf = variation;
    if !(sf > 0.0 && sf.is_finite()) {
        sf = sx * slope;
    }
    if !(sf > 0.0 && sf.is_finite()) {
        sf = 1.0;
    }
    Scaling {
        quantity: sx,
        cost: sf,
    }
}

impl Scaled {
    /// The problem in the units of its data.
    pub fn new(problem: &SeparableProblem) -> Result<Self, LpError> {
        Self::with_scaling(problem, scaling_of(problem))
    }

    /// The problem in the given units.
    pub fn with_scaling(problem: &SeparableProblem, scaling: Scaling) -> Result<Self, LpError> {
        let (sx, sf) = (scaling.quantity, scaling.cost);
        let eq_rows = row_scales(&problem.equalities);
        let in_rows = row_scales(&problem.inequalities);
        let objective: Vec<Arc<dyn ConvexScalar>> = problem
            .objective
            .iter()
            .map(|f| {
                Arc::new(ScaledTerm {
                    f: Arc::clone(f),
                    sx,
                    sf,
                }) as Arc<dyn ConvexScalar>
            })
            .collect();
        Ok(Self {
            problem: SeparableProblem {
                objective,
                lower: problem.lower.iter().map(|v| v / sx).collect(),
                upper: problem.upper.iter().map(|v| v / sx).collect(),
                equalities: scaled_rows(&problem.equalities, &eq_rows, sx)?,
                inequalities: scaled_rows(&problem.inequalities, &in_rows, sx)?,
            },
            scaling,
            eq_rows,
            in_rows,
        })
    }

    /// Original row multipliers from scaled ones (`y = ŷ σ_f/(r σ_x)`).
    pub fn unscale_multipliers(&self, v: &[f64], equality: bool) -> Vec<f64> {
        let r = if equality {
            &self.eq_rows
        } else {
            &self.in_rows
        };
        let p = self.scaling.price();
        v.iter().zip(r).map(|(y, ri)| y * p / ri).collect()
    }

    /// Scaled row multipliers from original ones (`ŷ = y r σ_x/σ_f`).
    pub fn scale_multipliers(&self, v: &[f64], equality: bool) -> Vec<f64> {
        let r = if equality {
            &self.eq_rows
        } else {
            &self.in_rows
        };
        let p = self.scaling.price();
        v.iter().zip(r).map(|(y, ri)| y * ri / p).collect()
    }

    /// An error about the scaled problem, in the original units.
    pub fn unscale_error(&self, e: LpError) -> LpError {
        let sx = self.scaling.quantity;
        match e {
            LpError::Input(dr_convex::InputError::InvertedBounds {
                field,
                lower,
                upper,
            }) => LpError::Input(dr_convex::InputError::InvertedBounds {
                field,
                lower: lower * sx,
                upper: upper * sx,
            }),
            LpError::ObjectiveNotFinite {
                field,
                index,
                at,
                value,
            } => LpError::ObjectiveNotFinite {
                field,
                index,
                at: at * sx,
                value,
            },
            other => other,
        }
    }
}
