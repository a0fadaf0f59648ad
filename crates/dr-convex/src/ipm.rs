//! Primal–dual interior-point solver for separable convex programs on faer.
//!
//! The problem data ([`SeparableProblem`], [`LinearRows`]), settings and solution types
//! are always available (the LP back end reads them too); the solver `solve` needs the
//! feature `ipm` (on by default), which compiles faer.
//!
//! Problem ([`SeparableProblem`]):
//! `min Σ_j f_j(x_j)  s.t.  A x = b,  G x ≤ h,  l ≤ x ≤ u`
//! with each `f_j` a [`ConvexScalar`] (diagonal Hessian), `A`, `G` sparse, bounds possibly
//! infinite. Used by the multi-period models: demand shaping (chen-li-low-doyle-2010 §IV,
//! Theorem 6), the mechanism planner's problem (wei-anastasopoulos problem (3)) and the
//! Stackelberg generalisations (alshehri-liu-chen-basar Theorem 6).
//!
//! Multiplier sign convention (prices are multipliers): the Lagrangian is
//! `Σ f_j(x_j) − yᵀ(A x − b) + zᵀ(G x − h) − ν_lᵀ(x − l) + ν_uᵀ(x − u)` with `z, ν ≥ 0`,
//! so stationarity reads `f_j'(x_j) = (Aᵀ y)_j − (Gᵀ z)_j + ν_l,j − ν_u,j`. For a market
//! clearing row `Σ_i q_i = d` in a cost minimisation, `y` is the price.

// Numerical kernels walk several parallel arrays by index.
#![allow(clippy::needless_range_loop)]

use crate::certificate::Certificate;
use crate::error::ConvexError;
use crate::scalar::ConvexScalar;
use std::sync::Arc;

/// Sparse linear rows `M x (op) rhs` in compressed-sparse-row form.
///
/// `LinearRows::default()` is the empty row set over 0 variables; `solve` accepts an
/// empty row set whatever its number of columns.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRows {
    ncols: usize,
    row_ptr: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
    rhs: Vec<f64>,
}

impl Default for LinearRows {
    fn default() -> Self {
        Self::new(0)
    }
}

impl LinearRows {
    /// No rows yet, over `ncols` variables.
    pub fn new(ncols: usize) -> Self {
        Self {
            ncols,
            row_ptr: vec![0],
            cols: Vec::new(),
            vals: Vec::new(),
            rhs: Vec::new(),
        }
    }

    /// Appends the row `Σ_k coef_k x_{col_k} (op) rhs`; returns its index. Errors name the row
    /// for an out-of-range column or a non-finite coefficient or right-hand side. Repeated
    /// columns are summed.
    pub fn push_row(&mut self, entries: &[(usize, f64)], rhs: f64) -> Result<usize, ConvexError> {
        let r = self.rhs.len();
        crate::error::check_finite(|| format!("rhs[{r}]"), rhs)?;
        let mut row: Vec<(usize, f64)> = Vec::with_capacity(entries.len());
        for &(c, v) in entries {
            if c >= self.ncols {
                return Err(ConvexError::IndexOutOfRange {
                    field: format!("row {r} column"),
                    index: c,
                    size: self.ncols,
                });
            }
            crate::error::check_finite(|| format!("row {r} coefficient of x[{c}]"), v)?;
            row.push((c, v));
        }
        row.sort_by_key(|e| e.0);
        for (c, v) in row {
            if self.cols.len() > self.row_ptr[r] && *self.cols.last().unwrap_or(&usize::MAX) == c {
                if let Some(last) = self.vals.last_mut() {
                    *last += v;
                }
            } else {
                self.cols.push(c);
                self.vals.push(v);
            }
        }
        self.row_ptr.push(self.cols.len());
        self.rhs.push(rhs);
        Ok(r)
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.rhs.len()
    }
    /// Number of variables.
    pub fn ncols(&self) -> usize {
        self.ncols
    }
    /// Columns (ascending, distinct) and coefficients of row `r`; empty when `r` is out of
    /// range.
    pub fn row(&self, r: usize) -> (&[usize], &[f64]) {
        match (self.row_ptr.get(r), self.row_ptr.get(r + 1)) {
            (Some(&s), Some(&e)) => (&self.cols[s..e], &self.vals[s..e]),
            _ => (&[], &[]),
        }
    }
    /// Right-hand sides.
    pub fn rhs(&self) -> &[f64] {
        &self.rhs
    }
    /// `M x` for all rows (`x` has `ncols` entries; entries it lacks read as NaN, so a
    /// short `x` shows in the result instead of panicking).
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        (0..self.nrows())
            .map(|r| {
                let (c, v) = self.row(r);
                c.iter()
                    .zip(v)
                    .map(|(&j, &a)| a * x.get(j).copied().unwrap_or(f64::NAN))
                    .sum()
            })
            .collect()
    }
    /// `out += Mᵀ y` (`y` has `nrows` entries, `out` `ncols`; entries beyond either length
    /// are skipped).
    pub fn apply_transpose_add(&self, y: &[f64], out: &mut [f64]) {
        for (r, &yr) in y.iter().enumerate().take(self.nrows()) {
            let (c, v) = self.row(r);
            for (&j, &a) in c.iter().zip(v) {
                if let Some(o) = out.get_mut(j) {
                    *o += a * yr;
                }
            }
        }
    }
}

/// `min Σ_j f_j(x_j) s.t. A x = b, G x ≤ h, l ≤ x ≤ u` (see the module docs).
#[derive(Debug, Clone)]
pub struct SeparableProblem {
    /// One convex term per variable.
    pub objective: Vec<Arc<dyn ConvexScalar>>,
    /// Lower bounds `l` (may be −∞).
    pub lower: Vec<f64>,
    /// Upper bounds `u` (may be +∞).
    pub upper: Vec<f64>,
    /// Equality rows `A x = b`.
    pub equalities: LinearRows,
    /// Inequality rows `G x ≤ h`.
    pub inequalities: LinearRows,
}

impl SeparableProblem {
    /// Checks the problem's shape: at least one variable, `lower`/`upper` as long as
    /// `objective`, both row sets over that many columns, finite right-hand sides. Every
    /// solver of a `SeparableProblem` (this IPM, the LP back end) starts here.
    pub fn check_shape(&self) -> Result<(), ConvexError> {
        let n = self.objective.len();
        if n == 0 {
            return Err(ConvexError::Empty {
                field: "objective".into(),
            });
        }
        for (name, len) in [("lower", self.lower.len()), ("upper", self.upper.len())] {
            if len != n {
                return Err(ConvexError::LengthMismatch {
                    field: name.into(),
                    expected: n,
                    got: len,
                });
            }
        }
        for (name, rows) in [
            ("equalities", &self.equalities),
            ("inequalities", &self.inequalities),
        ] {
            if rows.nrows() > 0 && rows.ncols() != n {
                return Err(ConvexError::LengthMismatch {
                    field: format!("{name} (number of columns)"),
                    expected: n,
                    got: rows.ncols(),
                });
            }
            for (r, &v) in rows.rhs().iter().enumerate() {
                crate::error::check_finite(|| format!("{name}.rhs[{r}]"), v)?;
            }
        }
        Ok(())
    }
}

/// Settings of the interior-point `solve` (feature `ipm`), with defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IpmSettings {
    /// Target for the scaled primal infeasibility, stationarity and complementarity.
    pub tolerance: f64,
    /// Most Newton iterations.
    pub max_iterations: usize,
}

impl Default for IpmSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-9,
            max_iterations: 200,
        }
    }
}

/// Primal and dual solution of a [`SeparableProblem`] with its certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct IpmSolution {
    /// Primal solution `x`.
    pub x: Vec<f64>,
    /// Multipliers `y` of the equality rows (sign: see the module docs).
    pub equality_multipliers: Vec<f64>,
    /// Multipliers `z ≥ 0` of the inequality rows.
    pub inequality_multipliers: Vec<f64>,
    /// Multipliers `ν_l ≥ 0` of the lower bounds (0 where the bound is infinite).
    pub lower_bound_multipliers: Vec<f64>,
    /// Multipliers `ν_u ≥ 0` of the upper bounds.
    pub upper_bound_multipliers: Vec<f64>,
    /// `Σ f_j(x_j)`.
    pub objective: f64,
    /// Residuals, gap, iterations and status.
    pub certificate: Certificate,
}

#[cfg(feature = "ipm")]
mod solver;
#[cfg(feature = "ipm")]
pub use solver::solve;
