//! A printed claim with its verdict: the shared vocabulary of the studies' and demos'
//! reports (each model crate's studies check statements of its paper and report them so).

use serde::{Deserialize, Serialize};

/// A statement a report makes — usually a paper's theorem, figure finding or published
/// value, with where it is stated — whether our run bears it out, and the evidence.
///
/// Reports carry claims as data so that every rendering (the `dr` command's text and JSON,
/// the Python package) shows the same verdict, and the command's exit status is decided
/// from them (a claim that does not hold exits 3).
///
/// ```
/// use dr_convex::Claim;
/// let c = Claim::new("Theorem 1: Σ q̄_i = d", (3.0_f64 - 3.0).abs() < 1e-12, "Σ q̄ − d = 0");
/// assert!(c.holds);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The statement, as the paper makes it (with where: theorem, equation, figure).
    pub claim: String,
    /// Whether our run bears it out.
    pub holds: bool,
    /// The measured evidence (numbers with their tolerance).
    pub evidence: String,
}

impl Claim {
    /// A claim with its verdict and evidence.
    pub fn new(claim: impl Into<String>, holds: bool, evidence: impl Into<String>) -> Claim {
        Claim {
            claim: claim.into(),
            holds,
            evidence: evidence.into(),
        }
    }
}
