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

/// Residuals and status of a solve, every residual **relative to the problem's own scale**.
///
/// For `min Σ f_i(x_i)` subject to linear constraints with multipliers `λ` (the prices), each
/// residual is divided by a scale read from the data and the solution, never by
/// `max(1, ·)` (which would make it absolute for data below 1: a deficit of `1e-12` would be
/// "solved" by any allocation). The scales:
/// - `primal_infeasibility`: largest constraint violation divided by the quantity scale of
///   its row — `|rhs|` (allocator: `|total|`); where the right-hand side is 0, the scale of
///   the variables it constrains (allocator: `max(|Σ l_i|, |Σ u_i|)` over finite bounds;
///   IPM: the row's `Σ_j |a_rj x_j|`);
/// - `stationarity`: largest KKT stationarity violation `|f_i'(x_i) − (Aᵀλ)_i|` (bound
///   multipliers' signs respected) divided by the price scale
///   `max(‖λ‖_∞, max_i |f_i'(x_i)|)`;
/// - `complementarity`: largest `|multiplier · slack|` divided by price scale × quantity
///   scale (allocator) or by the objective's scale (IPM, below);
/// - `duality_gap`: `(primal objective − dual function)` divided by the objective's scale
///   `max(|Σ f_i(x_i)|, |λ|·quantity scale)` (allocator) or
///   `max(|objective|, Σ_j |f_j(x_j)|, |bᵀy|)` (IPM);
/// - `iterations`: passes, Newton steps or rounds the method used.
///
/// Where every number that sets a scale is zero the residual is left unscaled (it is then
/// zero up to the rounding of zero data). Each solver documents its scales in detail
/// (`allocate`, `ipm::solve`, `vi::solve`). A solver reports [`Status::Solved`] only when
/// these relative residuals meet its tolerance.
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

/// A [`Certificate`] as reports carry it: its fields (flattened in JSON) and its largest
/// residual ([`Certificate::max_residual`]), so a reader sees the worst residual without
/// recomputing it. The model crates' reports (`dr_bidding::SolveReport`, …) use it.
///
/// ```
/// use dr_convex::{Certificate, CertificateReport, Status};
/// let c = Certificate { primal_infeasibility: 1e-12, stationarity: 3e-11,
///                       complementarity: 0.0, duality_gap: 2e-12, iterations: 4,
///                       status: Status::Solved };
/// let r = CertificateReport::from(c);
/// assert_eq!(r.max_residual, 3e-11);
/// assert!(r.holds(1e-9)); // derefs to the certificate
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CertificateReport {
    /// The certificate.
    #[serde(flatten)]
    pub certificate: Certificate,
    /// Its largest residual.
    pub max_residual: f64,
}

impl From<Certificate> for CertificateReport {
    fn from(certificate: Certificate) -> Self {
        CertificateReport {
            certificate,
            max_residual: certificate.max_residual(),
        }
    }
}

impl From<&Certificate> for CertificateReport {
    fn from(certificate: &Certificate) -> Self {
        CertificateReport::from(*certificate)
    }
}

impl std::ops::Deref for CertificateReport {
    type Target = Certificate;
    fn deref(&self) -> &Certificate {
        &self.certificate
    }
}
