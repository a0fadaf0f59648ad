//! The second solver path: the kernel's interior-point method on the full problem.
//!
//! Variables `q_i(t)` (index `i·T + t`, bounds `q ≥ 0`) and `Q(t)` (index `N·T + t`, free:
//! `Q = Σ_i q_i ≥ 0` makes a bound redundant); objective `Σ −U_i(q_i(t), t) + Σ C(Q(t), t)`
//! (plus `½ C''(t) q_i(t)²` for the Nash potential of a quadratic supply cost); equality
//! rows `Q(t) − Σ_i q_i(t) = 0`, whose multipliers are the prices `p(t)` in the kernel's
//! sign convention (`C'(Q(t)) = y_t`); inequality rows `Σ_t q_i(t) ≤ Q̄_i` (finite `Q̄_i`)
//! and `−Σ_t q_i(t) ≤ −Q_i` (`Q_i > 0`), whose multipliers are `λ̄_i` and `λ_i` of
//! chen-li-low-doyle-2010 eqs. 35–37. The problem has `N·T + T` variables: this path is an
//! independent cross-check for small and medium populations, not the fast solver.

use crate::equilibrium::{assemble, potential_curvature, Behaviour, Equilibrium, Loads, Method};
use crate::error::ShapingError;
use crate::model::ShapingModel;
use dr_convex::ipm::{solve, IpmSettings, LinearRows, SeparableProblem};
use dr_convex::ConvexScalar;
use std::sync::Arc;

/// `f + ½ e q²` for an owned piece.
#[derive(Debug)]
struct PlusHalfQuadratic {
    f: Arc<dyn ConvexScalar>,
    extra: f64,
}

impl ConvexScalar for PlusHalfQuadratic {
    fn value(&self, x: f64) -> f64 {
        self.f.value(x) + 0.5 * self.extra * x * x
    }
    fn derivative(&self, x: f64) -> f64 {
        self.f.derivative(x) + self.extra * x
    }
    fn second_derivative(&self, x: f64) -> f64 {
        self.f.second_derivative(x) + self.extra
    }
    fn domain(&self) -> (f64, f64) {
        self.f.domain()
    }
}

/// The kernel problem for the welfare optimum (`extra = 0`) or the Nash potential, and the
/// inequality-row owners `(customer, is_upper)`.
fn build(
    model: &ShapingModel,
    extra: &[f64],
) -> Result<(SeparableProblem, Vec<(usize, bool)>), ShapingError> {
    let n = model.len();
    let periods = model.periods();
    let customers = model.customers();
    let supply = model.supply();
    let nv = n * periods + periods;
    let mut objective: Vec<Arc<dyn ConvexScalar>> = Vec::with_capacity(nv);
    for i in 0..n {
        for (t, &e) in extra.iter().enumerate() {
            let f = customers.disutility(i, t).ok_or_else(|| {
                ShapingError::Input(dr_convex::InputError::Empty {
                    field: format!("customers[{i}].utility[{t}]"),
                })
            })?;
            objective.push(if e != 0.0 {
                Arc::new(PlusHalfQuadratic { f, extra: e })
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
        entries.extend((0..n).map(|i| (i * periods + t, -1.0)));
        equalities.push_row(&entries, 0.0)?;
    }
    let mut inequalities = LinearRows::new(nv);
    let mut owners = Vec::new();
    let (lo, hi) = (customers.min_energy(), customers.max_energy());
    for i in 0..n {
        if hi[i].is_finite() {
            let row: Vec<(usize, f64)> = (0..periods).map(|t| (i * periods + t, 1.0)).collect();
            inequalities.push_row(&row, hi[i])?;
            owners.push((i, true));
        }
        if lo[i] > 0.0 {
            let row: Vec<(usize, f64)> = (0..periods).map(|t| (i * periods + t, -1.0)).collect();
            inequalities.push_row(&row, -lo[i])?;
            owners.push((i, false));
        }
    }
    Ok((
        SeparableProblem {
            objective,
            lower,
            upper,
            equalities,
            inequalities,
        },
        owners,
    ))
}

fn ipm_equilibrium(
    model: &ShapingModel,
    behaviour: Behaviour,
    extra: &[f64],
    settings: &IpmSettings,
) -> Result<Equilibrium, ShapingError> {
    let (problem, owners) = build(model, extra)?;
    let sol = solve(&problem, settings)?;
    let n = model.len();
    let periods = model.periods();
    let prices = sol.equality_multipliers.get(..periods).map(<[f64]>::to_vec);
    let loads = sol.x.get(..n * periods).map(<[f64]>::to_vec);
    let (Some(prices), Some(loads)) = (prices, loads) else {
        return Err(ShapingError::Input(dr_convex::InputError::LengthMismatch {
            field: "ipm solution".into(),
            expected: n * periods + periods,
            got: sol.x.len(),
        }));
    };
    // μ_i = λ_i − λ̄_i from the rows' multipliers (the IPM keeps loads ≥ 0 strictly
    // interior; the certificate takes ν = max(r, 0), so tiny positive loads are fine).
    let mut mu = vec![0.0; n];
    for (k, &(i, upper)) in owners.iter().enumerate() {
        let z = sol.inequality_multipliers.get(k).copied().unwrap_or(0.0);
        if upper {
            mu[i] -= z;
        } else {
            mu[i] += z;
        }
    }
    assemble(
        model,
        behaviour,
        Method::Ipm,
        prices,
        Loads::new(periods, loads)?,
        &mu,
        (sol.certificate.status, sol.certificate.iterations),
    )
}

/// The competitive equilibrium (Theorem 6) by the kernel's interior-point solver: an
/// independent second path (see the module docs).
pub fn competitive_equilibrium_ipm(
    model: &ShapingModel,
    settings: &IpmSettings,
) -> Result<Equilibrium, ShapingError> {
    ipm_equilibrium(
        model,
        Behaviour::Competitive,
        &vec![0.0; model.periods()],
        settings,
    )
}

/// The Nash equilibrium (Theorem 7) as the maximiser of the potential (quadratic supply
/// cost only) by the kernel's interior-point solver. Error `supply` (unsupported) for a
/// non-quadratic supply cost.
pub fn strategic_equilibrium_ipm(
    model: &ShapingModel,
    settings: &IpmSettings,
) -> Result<Equilibrium, ShapingError> {
    let extra = potential_curvature(model).ok_or_else(|| ShapingError::Unsupported {
        field: "supply".into(),
        message: "the Nash potential exists only for a quadratic supply cost; use the VI path"
            .into(),
    })?;
    ipm_equilibrium(model, Behaviour::Strategic, &extra, settings)
}
