//! Working boxes: finite bounds for the LP, and which of them are real.
//!
//! The outer approximation needs every variable in a finite interval (a cut at `±∞` does
//! not exist). Bounds come from three places, in this order:
//! 1. the problem's own bounds `l ≤ x ≤ u`;
//! 2. bounds *implied* by the rows (activity-based bound propagation: for a row
//!    `Σ_k a_k x_k ≤ h` with every other term bounded below, `a_j x_j ≤ h − Σ_{k≠j} min a_k x_k`),
//!    padded outward so that they are never active at an optimum. They contain the feasible
//!    set, so they are used for the Lagrangian lower bound as well;
//! 3. *artificial* bounds around the term's own minimiser, for what is still infinite.
//!    They are not implied by anything: the LP value counts as a lower bound only while
//!    none of them is binding, and a binding one is widened tenfold.
//!
//! Where a bound lies at or beyond an end of the open domain of `f_j` it is moved a relative
//! `1e-6` inside (cuts need finite values); such a *domain restriction* is treated like an
//! artificial bound that cannot be widened.

use crate::error::LpError;
use dr_convex::ipm::{LinearRows, SeparableProblem};

/// Relative padding of implied (propagated) bounds.
const IMPLIED_PADDING: f64 = 1e-2;
/// Relative distance kept from an open domain end.
const DOMAIN_MARGIN: f64 = 1e-6;

/// The finite LP box and its provenance, per variable.
#[derive(Debug, Clone)]
pub(crate) struct WorkingBox {
    /// A box containing the feasible set: `l, u` with infinite entries replaced by implied
    /// bounds where the rows give one. May still be infinite.
    pub valid_lo: Vec<f64>,
    /// Upper ends of the valid box.
    pub valid_hi: Vec<f64>,
    /// The finite box of the LP.
    pub lp_lo: Vec<f64>,
    /// Upper ends of the LP box.
    pub lp_hi: Vec<f64>,
    /// `lp_lo[j]` is a restriction (artificial or a domain margin), not implied by the problem.
    pub restrict_lo: Vec<bool>,
    /// `lp_hi[j]` is a restriction.
    pub restrict_hi: Vec<bool>,
    /// `lp_lo[j]` is artificial (may be widened).
    pub artificial_lo: Vec<bool>,
    /// `lp_hi[j]` is artificial (may be widened).
    pub artificial_hi: Vec<bool>,
    /// Centre of the artificial bounds (the term's own minimiser over the valid box).
    pub centre: Vec<f64>,
}

/// Validates the problem's bounds and builds the working box.
pub(crate) fn working_box(problem: &SeparableProblem) -> Result<WorkingBox, LpError> {
    let n = problem.objective.len();
    validate_bounds(problem)?;
    let mut lo = problem.lower.clone();
    let mut hi = problem.upper.clone();
    propagate(problem, &mut lo, &mut hi)?;
    let scale = problem_scale(problem, &lo, &hi);
    let mut wb = WorkingBox {
        valid_lo: lo.clone(),
        valid_hi: hi.clone(),
        lp_lo: lo,
        lp_hi: hi,
        restrict_lo: vec![false; n],
        restrict_hi: vec![false; n],
        artificial_lo: vec![false; n],
        artificial_hi: vec![false; n],
        centre: vec![0.0; n],
    };
    for j in 0..n {
        let f = &problem.objective[j];
        let (dlo, dhi) = f.domain();
        let (vlo, vhi) = (wb.valid_lo[j], wb.valid_hi[j]);
        if vhi <= dlo || vlo >= dhi || dlo.is_nan() || dhi.is_nan() {
            return Err(LpError::Input(dr_convex::InputError::InvertedBounds {
                field: format!("bounds of x[{j}] ∩ domain of objective[{j}] ({dlo}, {dhi})"),
                lower: vlo,
                upper: vhi,
            }));
        }
        let width = if dlo.is_finite() && dhi.is_finite() {
            dhi - dlo
        } else {
            f64::INFINITY
        };
        // The margin is relative (the problem is in the units of its data, see
        // `crate::scaling`) and never more than a thousandth of a finite box.
        let box_width = vhi - vlo;
        let cap = |m: f64| {
            if box_width.is_finite() && box_width > 0.0 {
                m.min(1e-3 * box_width)
            } else {
                m
            }
        };
        if dlo.is_finite() && vlo <= dlo {
            let m = cap(DOMAIN_MARGIN * width.min(dlo.abs().max(1.0)));
            wb.lp_lo[j] = dlo + m;
            wb.restrict_lo[j] = true;
        }
        if dhi.is_finite() && vhi >= dhi {
            let m = cap(DOMAIN_MARGIN * width.min(dhi.abs().max(1.0)));
            wb.lp_hi[j] = dhi - m;
            wb.restrict_hi[j] = true;
        }
        if wb.lp_lo[j] > wb.lp_hi[j] {
            return Err(LpError::Input(dr_convex::InputError::InvertedBounds {
                field: format!("bounds of x[{j}] ∩ domain of objective[{j}] ({dlo}, {dhi})"),
                lower: vlo,
                upper: vhi,
            }));
        }
        let (a, b) = (wb.lp_lo[j], wb.lp_hi[j]);
        let mut c = f.inverse_derivative(0.0, a, b);
        if !(c.is_finite() && c.abs() <= 1e9 * scale) {
            c = if a.is_finite() {
                a
            } else if b.is_finite() {
                b
            } else {
                0.0
            };
        }
        wb.centre[j] = c;
        let half = 10.0 * scale.max(c.abs());
        if !a.is_finite() {
            wb.lp_lo[j] = c.min(b) - half;
            wb.restrict_lo[j] = true;
            wb.artificial_lo[j] = true;
        }
        if !b.is_finite() {
            wb.lp_hi[j] = c.max(wb.lp_lo[j]) + half;
            wb.restrict_hi[j] = true;
            wb.artificial_hi[j] = true;
        }
    }
    Ok(wb)
}

/// Rejects NaN and inverted bounds, naming the variable.
pub(crate) fn validate_bounds(problem: &SeparableProblem) -> Result<(), LpError> {
    let (lo, hi) = (&problem.lower, &problem.upper);
    for j in 0..problem.objective.len() {
        let (l, u) = (lo[j], hi[j]);
        if l.is_nan() {
            return Err(LpError::Input(dr_convex::InputError::NotFinite {
                field: format!("lower[{j}]"),
                value: l,
            }));
        }
        if u.is_nan() {
            return Err(LpError::Input(dr_convex::InputError::NotFinite {
                field: format!("upper[{j}]"),
                value: u,
            }));
        }
        if l > u || l == f64::INFINITY || u == f64::NEG_INFINITY {
            return Err(LpError::Input(dr_convex::InputError::InvertedBounds {
                field: format!("bounds of x[{j}]"),
                lower: l,
                upper: u,
            }));
        }
    }
    Ok(())
}

impl WorkingBox {
    /// Widens the artificial lower bound of `j` tenfold around its centre (stopping at the
    /// domain margin, which is then a fixed restriction). Returns whether anything changed.
    pub fn widen_lower(&mut self, j: usize, domain: (f64, f64)) -> bool {
        if !self.artificial_lo[j] {
            return false;
        }
        let c = self.centre[j];
        let mut v = c - 10.0 * (c - self.lp_lo[j]).max(1.0);
        let (dlo, _) = domain;
        if dlo.is_finite() && v <= dlo {
            v = dlo + DOMAIN_MARGIN * dlo.abs().max(1.0);
            self.artificial_lo[j] = false;
        }
        self.lp_lo[j] = v;
        true
    }

    /// Widens the artificial upper bound of `j` (see [`WorkingBox::widen_lower`]).
    pub fn widen_upper(&mut self, j: usize, domain: (f64, f64)) -> bool {
        if !self.artificial_hi[j] {
            return false;
        }
        let c = self.centre[j];
        let mut v = c + 10.0 * (self.lp_hi[j] - c).max(1.0);
        let (_, dhi) = domain;
        if dhi.is_finite() && v >= dhi {
            v = dhi - DOMAIN_MARGIN * dhi.abs().max(1.0);
            self.artificial_hi[j] = false;
        }
        self.lp_hi[j] = v;
        true
    }
}

/// `max(1, |finite bounds|, |rhs|)`: the magnitude artificial bounds are measured against.
fn problem_scale(problem: &SeparableProblem, lo: &[f64], hi: &[f64]) -> f64 {
    let mut s = 1.0_f64;
    for &v in lo.iter().chain(hi) {
        if v.is_finite() {
            s = s.max(v.abs());
        }
    }
    for rows in [&problem.equalities, &problem.inequalities] {
        for &r in rows.rhs() {
            s = s.max(r.abs());
        }
    }
    s
}

/// One row `Σ a_k x_k ≤ h` seen by the propagation.
struct RowView<'a> {
    cols: &'a [usize],
    vals: &'a [f64],
    sign: f64,
    rhs: f64,
    name: String,
}

fn rows_of<'a>(rows: &'a LinearRows, kind: &str, both_sides: bool) -> Vec<RowView<'a>> {
    let mut out = Vec::new();
    for r in 0..rows.nrows() {
        let (cols, vals) = rows.row(r);
        let rhs = rows.rhs()[r];
        out.push(RowView {
            cols,
            vals,
            sign: 1.0,
            rhs,
            name: format!("{kind}[{r}]"),
        });
        if both_sides {
            out.push(RowView {
                cols,
                vals,
                sign: -1.0,
                rhs: -rhs,
                name: format!("{kind}[{r}]"),
            });
        }
    }
    out
}

/// Fills infinite bounds with bounds implied by the rows (padded outward); errors when an
/// implied bound contradicts a given one.
fn propagate(problem: &SeparableProblem, lo: &mut [f64], hi: &mut [f64]) -> Result<(), LpError> {
    let n = lo.len();
    let mut rows = rows_of(&problem.equalities, "equalities", true);
    rows.extend(rows_of(&problem.inequalities, "inequalities", false));
    if rows.is_empty() {
        return Ok(());
    }
    for _pass in 0..=n {
        let mut changed = false;
        for row in &rows {
            // Minimal activity of sign·(Σ a x): finite part, number and index of −∞ terms.
            let (mut finite, mut n_inf, mut inf_at) = (0.0, 0usize, usize::MAX);
            for (&c, &v) in row.cols.iter().zip(row.vals) {
                let a = row.sign * v;
                let m = min_term(a, lo[c], hi[c]);
                if m == f64::NEG_INFINITY {
                    n_inf += 1;
                    inf_at = c;
                } else {
                    finite += m;
                }
            }
            if n_inf > 1 {
                continue;
            }
            for (&c, &v) in row.cols.iter().zip(row.vals) {
                let a = row.sign * v;
                if a == 0.0 {
                    continue;
                }
                let rest = if n_inf == 0 {
                    finite - min_term(a, lo[c], hi[c])
                } else if inf_at == c {
                    finite
                } else {
                    continue;
                };
                let bound = (row.rhs - rest) / a;
                if !bound.is_finite() {
                    continue;
                }
                let pad = IMPLIED_PADDING * bound.abs().max(1.0);
                if a > 0.0 && hi[c] == f64::INFINITY {
                    if bound < lo[c] - 1e-9 * lo[c].abs().max(1.0) {
                        return Err(infeasible_row(&row.name, c, "≤", bound, "lower", lo[c]));
                    }
                    hi[c] = bound + pad;
                    changed = true;
                } else if a < 0.0 && lo[c] == f64::NEG_INFINITY {
                    if bound > hi[c] + 1e-9 * hi[c].abs().max(1.0) {
                        return Err(infeasible_row(&row.name, c, "≥", bound, "upper", hi[c]));
                    }
                    lo[c] = bound - pad;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    Ok(())
}

fn infeasible_row(row: &str, c: usize, op: &str, bound: f64, side: &str, v: f64) -> LpError {
    LpError::Infeasible {
        reason: format!("{row} implies x[{c}] {op} {bound}, beyond its {side} bound {v}"),
    }
}

/// `min a x` over `[lo, hi]` (−∞ when unbounded below).
fn min_term(a: f64, lo: f64, hi: f64) -> f64 {
    if a > 0.0 {
        a * lo
    } else if a < 0.0 {
        a * hi
    } else {
        0.0
    }
}
