//! The demand-shaping kernel problem, built once: the welfare problem of
//! chen-li-low-doyle-2010 Theorem 6 and the potential of the strategic game (Theorem 7),
//! as a [`SeparableProblem`]. The interior-point path ([`crate::competitive_equilibrium_ipm`],
//! [`crate::strategic_equilibrium_ipm`]) solves it, and a result hands it back with its own
//! answer for a second opinion ([`Equilibrium::cross_check_problem`]).
//!
//! Variables `q_i(t)` (index `i·T + t`, bounds `q ≥ 0`) and `Q(t)` (index `N·T + t`, free:
//! `Q = Σ_i q_i ≥ 0` makes a bound redundant); objective
//! `Σ_{i,t} (−U_i(q_i(t), t) [+ ½ c_t q_i(t)²]) + Σ_t C(Q(t), t)`, the bracketed term for the
//! strategic customers' potential (quadratic supply cost `½ c_t Q² + e_t Q` only); equality
//! rows `Q(t) − Σ_i q_i(t) = 0`, whose multipliers are the prices `p(t)` in the kernel's
//! sign convention (`C'(Q(t)) = y_t`); inequality rows `Σ_t q_i(t) ≤ Q̄_i` (finite `Q̄_i`)
//! and `−Σ_t q_i(t) ≤ −Q_i` (`Q_i > 0`), whose multipliers are `λ̄_i` and `λ_i` of
//! eqs. 35–37.
//!
//! A row standing for `m` identical customers ([`crate::Customers::set_count`]) is one
//! block of `T` variables `y_i(t) = √m q_i(t)` with objective `m · h_i(y/√m)` (`h_i` the
//! customer's term), coefficient `−√m` in the rows `Q(t) − Σ_i √m_i y_i(t) = 0`, and energy
//! rows `Σ_t y_i(t) ≤ √m Q̄_i`, `−Σ_t y_i(t) ≤ −√m Q_i`. This is the full problem restricted
//! to symmetric loads — which contains its unique solution (strictly convex objective,
//! symmetric under swapping identical customers) — in the coordinates where the embedding
//! of the symmetric subspace is an isometry, so the block keeps one customer's curvature
//! `h_i''` (a plain weighting by `m` would scale it by `m` and ruin the conditioning). The
//! prices are unchanged; the energy rows' multipliers are `√m λ̄_i` and `√m λ_i`.

use crate::equilibrium::{potential_curvature, Behaviour, Equilibrium};
use crate::error::ShapingError;
use crate::model::ShapingModel;
use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{Candidate, ConvexScalar, PlusHalfQuadratic};
use std::sync::Arc;

/// The demand-shaping problem as a kernel problem (see the module docs), with the owners of
/// its inequality rows.
#[derive(Debug, Clone)]
pub struct WelfareProblem {
    /// `min Σ_{i,t} (−U_i(q_i(t), t) [+ ½ c_t q_i(t)²]) + Σ_t C(Q(t), t)` over `q_i(t) ≥ 0`
    /// and `Q(t)`, s.t. `Q(t) − Σ_i q_i(t) = 0` and the daily energy rows.
    pub problem: SeparableProblem,
    /// `(customer, is_upper)` of each inequality row (`Σ_t q_i(t) ≤ Q̄_i` when `is_upper`,
    /// else `−Σ_t q_i(t) ≤ −Q_i`).
    pub owners: Vec<(usize, bool)>,
}

/// Builds the welfare problem of chen-li-low-doyle-2010 Theorem 6 (`Behaviour::Competitive`)
/// or the potential of the strategic game, Theorem 7 (`Behaviour::Strategic`, quadratic
/// supply cost only), as a [`WelfareProblem`].
///
/// # Errors
/// [`ShapingError::Unsupported`] (`supply`) for the strategic problem with a non-quadratic
/// supply cost (no potential); [`ShapingError::Input`] (`Empty`) when a piece is missing; the
/// kernel's row errors.
pub fn welfare_problem(
    model: &ShapingModel,
    behaviour: Behaviour,
) -> Result<WelfareProblem, ShapingError> {
    let periods = model.periods();
    let curvature = match behaviour {
        Behaviour::Competitive => vec![0.0; periods],
        Behaviour::Strategic => {
            potential_curvature(model).ok_or_else(|| ShapingError::Unsupported {
                field: "supply".into(),
                message: "the Nash potential exists only for a quadratic supply cost; use the \
                          VI path"
                    .into(),
            })?
        }
    };
    let n = model.len();
    let customers = model.customers();
    let supply = model.supply();
    let nv = n * periods + periods;
    let mut objective: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(nv);
    for i in 0..n {
        let m = customers.count(i);
        for (t, &e) in curvature.iter().enumerate() {
            let f = customers.disutility(i, t).ok_or_else(|| {
                ShapingError::Input(dr_convex::InputError::Empty {
                    field: format!("customers[{i}].utility[{t}]"),
                })
            })?;
            let f: Arc<dyn ConvexScalar> = if e != 0.0 {
                Arc::new(PlusHalfQuadratic { f, curvature: e })
            } else {
                f
            };
            objective.push(if m != 1 {
                Arc::new(Symmetric {
                    f,
                    count: m as f64,
                    root: (m as f64).sqrt(),
                })
            } else {
                f
            });
        }
    }
    for t in 0..periods {
        objective.push(supply.piece(t).ok_or_else(|| {
            ShapingError::Input(dr_convex::InputError::Empty {
                field: format!("supply[{t}]"),
            })
        })?);
    }
    let mut lower = vec![0.0; n * periods];
    lower.extend(std::iter::repeat_n(f64::NEG_INFINITY, periods));
    let upper = vec![f64::INFINITY; nv];
    let mut equalities = LinearRows::new(nv);
    let mut entries = Vec::with_capacity(n + 1);
    for t in 0..periods {
        entries.clear();
        entries.push((n * periods + t, 1.0));
        entries.extend((0..n).map(|i| (i * periods + t, -root(customers.count(i)))));
        equalities.push_row(&entries, 0.0)?;
    }
    let mut inequalities = LinearRows::new(nv);
    let mut owners = Vec::new();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    for i in 0..n {
        let (l, h) = (
            lo.get(i).copied().unwrap_or(0.0),
            hi.get(i).copied().unwrap_or(f64::INFINITY),
        );
        let r = root(customers.count(i));
        if h.is_finite() {
            let row: Vec<(usize, f64)> = (0..periods).map(|t| (i * periods + t, 1.0)).collect();
            inequalities.push_row(&row, r * h)?;
            owners.push((i, true));
        }
        if l > 0.0 {
            let row: Vec<(usize, f64)> = (0..periods).map(|t| (i * periods + t, -1.0)).collect();
            inequalities.push_row(&row, -(r * l))?;
            owners.push((i, false));
        }
    }
    Ok(WelfareProblem {
        problem: SeparableProblem {
            objective,
            lower,
            upper,
            equalities,
            inequalities,
        },
        owners,
    })
}

/// `√m` (exactly 1 for `m = 1`).
pub(crate) fn root(m: usize) -> f64 {
    if m == 1 {
        1.0
    } else {
        (m as f64).sqrt()
    }
}

/// `y ↦ m f(y/√m)`: `m` identical customers' term in the symmetric coordinates
/// `y = √m q` (module docs). Derivative `√m f'(y/√m)`, curvature `f''(y/√m)`.
#[derive(Debug)]
struct Symmetric {
    f: Arc<dyn ConvexScalar>,
    count: f64,
    root: f64,
}

impl ConvexScalar for Symmetric {
    fn value(&self, y: f64) -> f64 {
        self.count * self.f.value(y / self.root)
    }
    fn derivative(&self, y: f64) -> f64 {
        self.root * self.f.derivative(y / self.root)
    }
    fn second_derivative(&self, y: f64) -> f64 {
        self.f.second_derivative(y / self.root)
    }
    fn left_derivative(&self, y: f64) -> f64 {
        self.root * self.f.left_derivative(y / self.root)
    }
    fn domain(&self) -> (f64, f64) {
        let (lo, hi) = self.f.domain();
        (lo * self.root, hi * self.root)
    }
    fn inverse_derivative(&self, p: f64, lo: f64, hi: f64) -> f64 {
        self.root
            * self
                .f
                .inverse_derivative(p / self.root, lo / self.root, hi / self.root)
    }
}

/// The kernel's length check, in this module's argument order.
fn check_len(field: &str, got: usize, expected: usize) -> Result<(), ShapingError> {
    Ok(dr_convex::check_len(|| field.into(), expected, got)?)
}

impl Equilibrium {
    /// This equilibrium's kernel problem ([`welfare_problem`] for its behaviour) and its
    /// answer there as a [`Candidate`], for a second opinion (e.g. `dr_lp::check_candidate`):
    /// `x = (q, Q)`, equality multipliers the prices `p(t)`, inequality multipliers
    /// `λ̄_i`, `λ_i` in the rows' order, and the objective `−W` (Theorem 6) or, for
    /// strategic customers, the negated potential `Σ −U + Σ C + Σ ½ c_t q_i(t)²` (Theorem 7).
    ///
    /// # Errors
    /// [`ShapingError::Input`] (`LengthMismatch`) when the equilibrium does not fit `model`; those of
    /// [`welfare_problem`].
    pub fn cross_check_problem(
        &self,
        model: &ShapingModel,
    ) -> Result<(WelfareProblem, Candidate), ShapingError> {
        let n = model.len();
        let periods = model.periods();
        let loads = self.loads.as_slice();
        check_len("equilibrium.loads", loads.len(), n * periods)?;
        check_len("equilibrium.prices", self.prices.len(), periods)?;
        check_len("equilibrium.total_load", self.total_load.len(), periods)?;
        check_len(
            "equilibrium.min_energy_multipliers",
            self.min_energy_multipliers.len(),
            n,
        )?;
        check_len(
            "equilibrium.max_energy_multipliers",
            self.max_energy_multipliers.len(),
            n,
        )?;
        crate::equilibrium::check_counts(model, &self.loads)?;
        let wp = welfare_problem(model, self.behaviour)?;
        let customers = model.customers();
        // The symmetric coordinates y = √m q of grouped rows (module docs).
        let mut x = loads.to_vec();
        for (i, row) in x.chunks_mut(periods).enumerate() {
            let r = root(customers.count(i));
            if r != 1.0 {
                row.iter_mut().for_each(|q| *q *= r);
            }
        }
        x.extend_from_slice(&self.total_load);
        let inequality: Vec<f64> = wp
            .owners
            .iter()
            .map(|&(i, upper)| {
                root(customers.count(i))
                    * if upper {
                        self.max_energy_multipliers[i]
                    } else {
                        self.min_energy_multipliers[i]
                    }
            })
            .collect();
        let objective = match self.behaviour {
            Behaviour::Competitive => -self.welfare,
            Behaviour::Strategic => {
                let c = potential_curvature(model).unwrap_or_default();
                let extra: f64 = (0..n)
                    .flat_map(|i| (0..periods).map(move |t| (i, t)))
                    .map(|(i, t)| {
                        let q = loads[i * periods + t];
                        let m = customers.count(i) as f64;
                        m * (0.5 * c.get(t).copied().unwrap_or(f64::NAN) * q * q)
                    })
                    .sum();
                -self.utility + self.supply_cost + extra
            }
        };
        let candidate = Candidate {
            x,
            equality_multipliers: self.prices.clone(),
            inequality_multipliers: inequality,
            objective,
        };
        Ok((wp, candidate))
    }
}
