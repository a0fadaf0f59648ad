//! The cutting-plane LP and its back ends (good_lp with microlp, and clarabel with the
//! `clarabel` cargo feature).
//!
//! Variables `x_j` (in the LP box) and epigraph variables `t_j` (free); minimise `Σ t_j`
//! subject to the problem's rows and the tangent cuts
//! `t_j ≥ f_j(p) + f_j'(p)(x_j − p)`, written `t_j − f_j'(p) x_j ≥ f_j(p) − f_j'(p) p`.
//!
//! # Dual sign conventions
//! good_lp's `dual(c)` is the sensitivity `∂(optimal objective)/∂(right-hand side of c)`
//! for every direction and comparison (pinned by this crate's `tests/duals.rs`). The
//! kernel's Lagrangian `Σ f − yᵀ(Ax − b) + zᵀ(Gx − h) − ν_lᵀ(x − l) + ν_uᵀ(x − u)` has, by
//! the envelope theorem, `∂F*/∂b = y`, `∂F*/∂h = −z`, `∂F*/∂l = ν_l`, `∂F*/∂u = −ν_u`, so
//! `y = dual(A x = b)`, `z = −dual(G x ≤ h)`, `ν_l = dual(x ≥ l)`, `ν_u = −dual(x ≤ u)`.

use dr_convex::ipm::LinearRows;
#[cfg(feature = "clarabel")]
use good_lp::solvers::clarabel::clarabel;
use good_lp::solvers::microlp::microlp;
use good_lp::{
    variable, Expression, ProblemVariables, ResolutionError, Solution, SolverModel, Variable,
};
#[cfg(feature = "clarabel")]
use good_lp::{DualValues, SolutionWithDual};
use serde::{Deserialize, Serialize};

/// Which LP solver runs the cutting-plane LPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Backend {
    /// [`Backend::Microlp`] up to [`Backend::AUTO_CLARABEL_ABOVE`] variables, and
    /// [`Backend::Clarabel`] above when the `clarabel` feature is built in (measured in
    /// BENCHMARKS.md, "LP reference back end"): the simplex is faster on small LPs, the
    /// interior point on large ones, whose cut rows slow the simplex down (it starts every
    /// LP afresh).
    #[default]
    Auto,
    /// clarabel (pure-Rust interior point) through good_lp, with the `clarabel` cargo
    /// feature: duals available, so prices are the LP's constraint multipliers. Without
    /// the feature a solve with it fails as a back-end failure (an inconclusive verdict).
    Clarabel,
    /// microlp (pure-Rust simplex) through good_lp, always built in: exact vertex
    /// solutions, no duals, so prices come from the cut slopes at the LP point (see
    /// [`crate::MultiplierRanges`]).
    Microlp,
}

impl Backend {
    /// Above this many LP variables (`x`, without the epigraph variables) [`Backend::Auto`]
    /// picks clarabel, when built in.
    pub const AUTO_CLARABEL_ABOVE: usize = 30;

    /// The back end's name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Clarabel => "clarabel",
            Backend::Microlp => "microlp",
        }
    }

    /// The back end named `name` (`"auto"`, `"clarabel"`, `"microlp"`), if any.
    pub fn from_name(name: &str) -> Option<Backend> {
        match name {
            "auto" => Some(Backend::Auto),
            "clarabel" => Some(Backend::Clarabel),
            "microlp" => Some(Backend::Microlp),
            _ => None,
        }
    }

    /// Whether this build can run the back end (clarabel needs the `clarabel` feature).
    pub fn available(self) -> bool {
        match self {
            Backend::Clarabel => cfg!(feature = "clarabel"),
            Backend::Auto | Backend::Microlp => true,
        }
    }

    /// The back end that runs a problem with `variables` variables: itself, or for
    /// [`Backend::Auto`] the choice by size described there.
    pub fn resolve(self, variables: usize) -> Backend {
        match self {
            Backend::Auto => {
                if variables > Self::AUTO_CLARABEL_ABOVE && Backend::Clarabel.available() {
                    Backend::Clarabel
                } else {
                    Backend::Microlp
                }
            }
            other => other,
        }
    }
}

/// A tangent cut `t ≥ value + slope (x − point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cut {
    pub point: f64,
    pub value: f64,
    pub slope: f64,
}

impl Cut {
    /// The cut's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.value + self.slope * (x - self.point)
    }
}

/// Multipliers of one LP in the kernel's sign convention.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LpDuals {
    pub equality: Vec<f64>,
    pub inequality: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// One solved LP.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LpPoint {
    pub x: Vec<f64>,
    pub t: Vec<f64>,
    /// `Σ t_j`.
    pub value: f64,
    pub duals: Option<LpDuals>,
}

/// Why an LP solve produced no point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LpFailure {
    Infeasible,
    Other(String),
}

/// The data of one cutting-plane LP.
pub(crate) struct CutLp<'a> {
    pub equalities: &'a LinearRows,
    pub inequalities: &'a LinearRows,
    pub lo: &'a [f64],
    pub hi: &'a [f64],
    pub cuts: &'a [Vec<Cut>],
}

fn row_expression(rows: &LinearRows, r: usize, xs: &[Variable]) -> Expression {
    let (cols, vals) = rows.row(r);
    let mut e = Expression::with_capacity(cols.len());
    for (&c, &v) in cols.iter().zip(vals) {
        e.add_mul(v, xs[c]);
    }
    e
}

fn cut_constraint(cut: &Cut, x: Variable, t: Variable) -> good_lp::Constraint {
    let mut e = Expression::with_capacity(2);
    e.add_mul(1.0, t);
    e.add_mul(-cut.slope, x);
    e.geq(cut.value - cut.slope * cut.point)
}

fn failure(e: ResolutionError) -> LpFailure {
    match e {
        ResolutionError::Infeasible => LpFailure::Infeasible,
        other => LpFailure::Other(other.to_string()),
    }
}

/// Accuracy asked of clarabel (its defaults are 1e-8).
#[cfg(feature = "clarabel")]
const CLARABEL_TOLERANCE: f64 = 1e-10;

impl CutLp<'_> {
    /// Solves the LP with the chosen back end.
    pub fn solve(&self, backend: Backend) -> Result<LpPoint, LpFailure> {
        match backend.resolve(self.lo.len()) {
            #[cfg(feature = "clarabel")]
            Backend::Clarabel => self.solve_clarabel(),
            #[cfg(not(feature = "clarabel"))]
            Backend::Clarabel => Err(LpFailure::Other(
                "clarabel is not built in (dr-lp's `clarabel` cargo feature)".into(),
            )),
            _ => self.solve_microlp(),
        }
    }

    fn solve_microlp(&self) -> Result<LpPoint, LpFailure> {
        let n = self.lo.len();
        let mut vars = ProblemVariables::new();
        let xs: Vec<Variable> = (0..n)
            .map(|j| vars.add(variable().min(self.lo[j]).max(self.hi[j])))
            .collect();
        let ts: Vec<Variable> = (0..n).map(|_| vars.add(variable())).collect();
        let objective: Expression = ts.iter().copied().sum();
        let mut model = vars.minimise(objective).using(microlp);
        for r in 0..self.equalities.nrows() {
            let rhs = self.equalities.rhs()[r];
            model.add_constraint(row_expression(self.equalities, r, &xs).eq(rhs));
        }
        for r in 0..self.inequalities.nrows() {
            let rhs = self.inequalities.rhs()[r];
            model.add_constraint(row_expression(self.inequalities, r, &xs).leq(rhs));
        }
        for (j, cuts) in self.cuts.iter().enumerate() {
            for cut in cuts {
                model.add_constraint(cut_constraint(cut, xs[j], ts[j]));
            }
        }
        let sol = model.solve().map_err(failure)?;
        let x: Vec<f64> = xs.iter().map(|&v| sol.value(v)).collect();
        let t: Vec<f64> = ts.iter().map(|&v| sol.value(v)).collect();
        Ok(LpPoint {
            value: t.iter().sum(),
            x,
            t,
            duals: None,
        })
    }

    #[cfg(feature = "clarabel")]
    fn solve_clarabel(&self) -> Result<LpPoint, LpFailure> {
        let n = self.lo.len();
        let mut vars = ProblemVariables::new();
        let xs: Vec<Variable> = (0..n).map(|_| vars.add(variable())).collect();
        let ts: Vec<Variable> = (0..n).map(|_| vars.add(variable())).collect();
        let objective: Expression = ts.iter().copied().sum();
        let mut model = vars.minimise(objective).using(clarabel);
        model
            .settings()
            .tol_gap_abs(CLARABEL_TOLERANCE)
            .tol_gap_rel(CLARABEL_TOLERANCE)
            .tol_feas(CLARABEL_TOLERANCE)
            .max_iter(400);
        let eq: Vec<_> = (0..self.equalities.nrows())
            .map(|r| {
                let rhs = self.equalities.rhs()[r];
                model.add_constraint(row_expression(self.equalities, r, &xs).eq(rhs))
            })
            .collect();
        let ineq: Vec<_> = (0..self.inequalities.nrows())
            .map(|r| {
                let rhs = self.inequalities.rhs()[r];
                model.add_constraint(row_expression(self.inequalities, r, &xs).leq(rhs))
            })
            .collect();
        let mut lower = Vec::with_capacity(n);
        let mut upper = Vec::with_capacity(n);
        for ((&v, &lo), &hi) in xs.iter().zip(self.lo).zip(self.hi) {
            let x = Expression::from(v);
            if lo == hi {
                lower.push(model.add_constraint(x.eq(lo)));
                upper.push(None);
            } else {
                lower.push(model.add_constraint(x.clone().geq(lo)));
                upper.push(Some(model.add_constraint(x.leq(hi))));
            }
        }
        for (j, cuts) in self.cuts.iter().enumerate() {
            for cut in cuts {
                model.add_constraint(cut_constraint(cut, xs[j], ts[j]));
            }
        }
        let mut sol = model.solve().map_err(failure)?;
        // good_lp's clarabel back end reports `Optimal` for every accepted status: look at
        // clarabel's own status (its type is not re-exported, hence the name).
        let status = format!("{:?}", sol.inner().status);
        if status != "Solved" && status != "AlmostSolved" {
            return Err(LpFailure::Other(format!("clarabel status {status}")));
        }
        let x: Vec<f64> = xs.iter().map(|&v| sol.value(v)).collect();
        let t: Vec<f64> = ts.iter().map(|&v| sol.value(v)).collect();
        let dual = sol.compute_dual();
        let mut nl = Vec::with_capacity(n);
        let mut nu = Vec::with_capacity(n);
        for (lj, uj) in lower.into_iter().zip(upper) {
            let dl = dual.dual(lj);
            match uj {
                // x = l fixed: its one multiplier is ν_l − ν_u.
                None => {
                    nl.push(dl.max(0.0));
                    nu.push((-dl).max(0.0));
                }
                Some(u) => {
                    nl.push(dl);
                    nu.push(-dual.dual(u));
                }
            }
        }
        let duals = LpDuals {
            equality: eq.into_iter().map(|c| dual.dual(c)).collect(),
            inequality: ineq.into_iter().map(|c| -dual.dual(c)).collect(),
            lower: nl,
            upper: nu,
        };
        Ok(LpPoint {
            value: t.iter().sum(),
            x,
            t,
            duals: Some(duals),
        })
    }
}
