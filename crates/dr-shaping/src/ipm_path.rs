//! The second solver path: the kernel's interior-point method on the full problem, built
//! by [`crate::welfare_problem`].
//!
//! Variables `q_i(t)` (index `i·T + t`, bounds `q ≥ 0`) and `Q(t)` (index `N·T + t`, free:
//! `Q = Σ_i q_i ≥ 0` makes a bound redundant); objective `Σ −U_i(q_i(t), t) + Σ C(Q(t), t)`
//! (plus `½ C''(t) q_i(t)²` for the Nash potential of a quadratic supply cost); equality
//! rows `Q(t) − Σ_i q_i(t) = 0`, whose multipliers are the prices `p(t)` in the kernel's
//! sign convention (`C'(Q(t)) = y_t`); inequality rows `Σ_t q_i(t) ≤ Q̄_i` (finite `Q̄_i`)
//! and `−Σ_t q_i(t) ≤ −Q_i` (`Q_i > 0`), whose multipliers are `λ̄_i` and `λ_i` of
//! chen-li-low-doyle-2010 eqs. 35–37. The problem has `N·T + T` variables: this path is an
//! independent cross-check for small and medium populations, not the fast solver.

use crate::equilibrium::{assemble, Behaviour, Equilibrium, Loads, Method};
use crate::error::ShapingError;
use crate::model::ShapingModel;
use crate::problem::{welfare_problem, WelfareProblem};
use dr_convex::ipm::{solve, IpmSettings};

fn ipm_equilibrium(
    model: &ShapingModel,
    behaviour: Behaviour,
    settings: &IpmSettings,
) -> Result<Equilibrium, ShapingError> {
    let WelfareProblem { problem, owners } = welfare_problem(model, behaviour)?;
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
    // A row of m identical customers is solved in y = √m q, and its energy rows'
    // multipliers are √m times each customer's (crate::welfare_problem).
    let customers = model.customers();
    let mut loads = loads;
    for (i, row) in loads.chunks_mut(periods).enumerate() {
        let r = crate::problem::root(customers.count(i));
        if r != 1.0 {
            row.iter_mut().for_each(|y| *y /= r);
        }
    }
    let mut mu = vec![0.0; n];
    for (k, &(i, upper)) in owners.iter().enumerate() {
        let z = sol.inequality_multipliers.get(k).copied().unwrap_or(0.0)
            / crate::problem::root(customers.count(i));
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
        Loads::grouped(periods, loads, customers.counts().to_vec())?,
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
    ipm_equilibrium(model, Behaviour::Competitive, settings)
}

/// The Nash equilibrium (Theorem 7) as the maximiser of the potential (quadratic supply
/// cost only) by the kernel's interior-point solver. Error `supply` (unsupported) for a
/// non-quadratic supply cost.
pub fn strategic_equilibrium_ipm(
    model: &ShapingModel,
    settings: &IpmSettings,
) -> Result<Equilibrium, ShapingError> {
    ipm_equilibrium(model, Behaviour::Strategic, settings)
}
