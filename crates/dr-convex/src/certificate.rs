//! Certificates: every solve in this workspace returns one.
//!
//! A certificate is what makes an equilibrium checkable: the primal infeasibility of the
//! coupling constraints, the stationarity residual of the KKT conditions (prices are the
//! multipliers), complementarity, the duality gap, the iteration count and a [`Status`].

use serde::{Deserialize, Serialize};

/// How a solve ended. Kept apart from input errors ([`crate::ConvexError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Status {
    /// Not solved yet.
    #[default]
    Unsolved,
    /// Converged: all residuals are below the requested tolerances.
    Solved,
    /// The constraints admit no point (detected during the solve).
    Infeasible,
    /// The objective is unbounded below on the feasible set.
    Unbounded,
    /// The iteration limit was reached before the tolerances were met.
    MaxIterations,
    /// The solve broke down numerically (e.g. a factorization failed).
    NumericalError,
}

impl Status {
    /// True for [`Status::Solved`].
    pub fn is_solved(self) -> bool {
        matches!(self, Status::Solved)
    }
}

/// Residuals and status of a solve; relative measures unless the field says otherwise.
///
/// For `min Σ f_i(x_i)` subject to linear constraints with multipliers `λ` (the prices):
/// - `primal_infeasibility`: largest constraint violation, scaled by `max(1, |rhs|)`;
/// - `stationarity`: largest KKT stationarity violation `|f_i'(x_i) − (Aᵀλ)_i|` (with the
///   bound multipliers' signs respected), scaled by `max(1, |price|)`;
/// - `complementarity`: largest `|λ_j · slack_j|`, scaled;
/// - `duality_gap`: `(primal objective − dual function) / max(1, |primal objective|)`;
/// - `iterations`: passes, Newton steps or rounds the method used.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Certificate {
    /// Largest scaled violation of the constraints.
    pub primal_infeasibility: f64,
    /// Largest scaled violation of the stationarity conditions.
    pub stationarity: f64,
    /// Largest scaled violation of complementary slackness.
    pub complementarity: f64,
    /// Scaled duality gap (≥ 0 up to rounding).
    pub duality_gap: f64,
    /// Iterations used.
    pub iterations: usize,
    /// How the solve ended.
    pub status: Status,
}

impl Certificate {
    /// The largest of the four residuals.
    pub fn max_residual(&self) -> f64 {
        self.primal_infeasibility
            .max(self.stationarity)
            .max(self.complementarity)
            .max(self.duality_gap.abs())
    }

    /// True when solved and every residual is at most `tol`.
    pub fn holds(&self, tol: f64) -> bool {
        self.status.is_solved() && self.max_residual() <= tol
    }
}
