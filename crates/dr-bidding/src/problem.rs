//! The bidding equilibria's kernel problems, built once as a [`SeparableProblem`]
//! (li-chen-dahleh-2015):
//!
//! - competitive (Theorem 1): `min Σ_i C_i(q_i)` s.t. `Σ_i q_i = d`, `0 ≤ q_i ≤ q^max_i`;
//! - Nash (Theorem 3, eq. 17): `min Σ_i D_i(q_i)` s.t. `Σ_i q_i = d`,
//!   `0 ≤ q_i ≤ min(q^max_i, d/2)`, `D_i` the Nash transform of `C_i`
//!   ([`dr_convex::NashTransform`]; the same pieces the general-cost Nash solver allocates
//!   over).
//!
//! The equality multiplier is the price (`p̄` or `p*`). The solvers
//! ([`crate::competitive_equilibrium`], [`crate::nash_equilibrium`]) run the kernel's
//! allocator on the same objective and bounds (struct-of-arrays families for quadratic
//! costs), and an equilibrium hands its problem back with its own answer for a second
//! opinion ([`Equilibrium::cross_check_problem`]).

use crate::equilibrium::{nash_pieces, nash_quadratic_value, Equilibrium, EquilibriumKind};
use crate::error::BiddingError;
use crate::market::{Costs, Market};
use dr_convex::ipm::{LinearRows, SeparableProblem};
use dr_convex::{Candidate, ConvexScalar, InputError, LinearQuadraticCost};
use std::sync::Arc;

/// The costs `C_i` as kernel pieces (`a_i q + h_i q²` for a quadratic population).
fn cost_pieces(market: &Market) -> Result<Vec<Arc<dyn ConvexScalar>>, BiddingError> {
    match market.costs() {
        Costs::Quadratic { linear, quadratic } => linear
            .iter()
            .zip(quadratic)
            .map(|(&a, &h)| Ok(Arc::new(LinearQuadraticCost::new(a, h)?) as Arc<dyn ConvexScalar>))
            .collect(),
        Costs::General(c) => Ok(c.clone()),
    }
}

/// The kernel problem of a bidding equilibrium of `kind` (see the module docs). For the
/// Nash problem `D_i` is evaluated by quadrature ([`dr_convex::NashTransform`]), also for
/// quadratic costs.
///
/// ```
/// use dr_bidding::{equilibrium_problem, EquilibriumKind, Market};
/// let market = Market::quadratic(vec![1.0; 3], vec![0.5; 3], 3.0)?;
/// let problem = equilibrium_problem(&market, EquilibriumKind::Nash)?;
/// assert_eq!(problem.objective.len(), 3);
/// assert!(problem.upper.iter().all(|&u| u == 1.5)); // min(q^max, d/2)
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
///
/// # Errors
/// [`BiddingError::Input`] when a cost or the row is rejected by the kernel.
pub fn equilibrium_problem(
    market: &Market,
    kind: EquilibriumKind,
) -> Result<SeparableProblem, BiddingError> {
    let n = market.len();
    let d = market.deficit();
    let costs = cost_pieces(market)?;
    let (objective, upper): (Vec<Arc<dyn ConvexScalar>>, Vec<f64>) = match kind {
        EquilibriumKind::Competitive => (costs, (0..n).map(|i| market.capacity(i)).collect()),
        EquilibriumKind::Nash => (
            nash_pieces(&costs, d)
                .into_iter()
                .map(|p| Arc::new(p) as Arc<dyn ConvexScalar>)
                .collect(),
            (0..n).map(|i| market.capacity(i).min(0.5 * d)).collect(),
        ),
    };
    let mut equalities = LinearRows::new(n);
    let entries: Vec<(usize, f64)> = (0..n).map(|i| (i, 1.0)).collect();
    equalities.push_row(&entries, d)?;
    Ok(SeparableProblem {
        objective,
        lower: vec![0.0; n],
        upper,
        equalities,
        inequalities: LinearRows::new(n),
    })
}

impl Equilibrium {
    /// This equilibrium's kernel problem ([`equilibrium_problem`] for its kind) and its
    /// answer there as a [`Candidate`]: the loads, the price as the multiplier of
    /// `Σ q = d`, and the objective `Σ C_i(q_i)` or `Σ D_i(q_i)` — for quadratic costs the
    /// closed form [`nash_quadratic_value`], while the problem's pieces evaluate `D_i` by
    /// quadrature, so a second opinion on the objective compares the two. One line away
    /// from an LP cross-check:
    ///
    /// ```
    /// use dr_bidding::{nash_equilibrium, Market};
    /// let market = Market::quadratic(vec![1.0, 1.2, 1.5], vec![0.5, 1.0, 2.0], 3.0)?;
    /// let ne = nash_equilibrium(&market)?;
    /// let (problem, candidate) = ne.cross_check_problem(&market)?;
    /// // e.g. dr_lp::check_candidate(&problem, &candidate, &Default::default())
    /// assert_eq!(candidate.equality_multipliers, vec![ne.price]);
    /// assert_eq!(problem.objective.len(), candidate.x.len());
    /// # Ok::<(), dr_bidding::BiddingError>(())
    /// ```
    ///
    /// # Errors
    /// [`BiddingError::Input`] (`LengthMismatch`) when the loads do not fit `market`,
    /// [`InputError::NotFinite`] for a non-finite load; those of [`equilibrium_problem`].
    pub fn cross_check_problem(
        &self,
        market: &Market,
    ) -> Result<(SeparableProblem, Candidate), BiddingError> {
        let n = market.len();
        if self.loads.len() != n {
            return Err(InputError::LengthMismatch {
                field: "equilibrium.loads".into(),
                expected: n,
                got: self.loads.len(),
            }
            .into());
        }
        if let Some((i, &q)) = self.loads.iter().enumerate().find(|(_, q)| !q.is_finite()) {
            return Err(InputError::NotFinite {
                field: format!("equilibrium.loads[{i}]"),
                value: q,
            }
            .into());
        }
        let problem = equilibrium_problem(market, self.kind)?;
        let d = market.deficit();
        let objective: f64 = match (self.kind, market.costs()) {
            (EquilibriumKind::Competitive, _) => {
                (0..n).map(|i| market.cost(i, self.loads[i])).sum()
            }
            (EquilibriumKind::Nash, Costs::Quadratic { linear, quadratic }) => self
                .loads
                .iter()
                .zip(linear.iter().zip(quadratic))
                .map(|(&q, (&a, &h))| nash_quadratic_value(a, h, d, q))
                .sum(),
            (EquilibriumKind::Nash, Costs::General(_)) => problem
                .objective
                .iter()
                .zip(&self.loads)
                .map(|(f, &q)| f.value(q))
                .sum(),
        };
        let candidate = Candidate {
            x: self.loads.clone(),
            equality_multipliers: vec![self.price],
            inequality_multipliers: Vec::new(),
            objective,
        };
        Ok((problem, candidate))
    }
}
