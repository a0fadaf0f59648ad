//! The one error type of `dr-stackelberg`: bad input, named by field and value in the
//! workspace's vocabulary ([`InputError`]), and the model's own failures.
//!
//! Bad input (NaN or infinite data, non-positive supplies or budgets, wrong lengths, an empty
//! market, inverted price bounds, a malformed CSV line or scenario) is a
//! [`StackelbergError`]. So is a budget below the minimum of Theorem 1 (eq. 11) at the
//! equilibrium prices: the paper's Assumption 1 fails and the energy need cannot be met.
//! A solve or simulation that does not converge is *not* an error: it carries a
//! [`dr_convex::Status`] or a [`crate::Termination`].

use dr_convex::{ConvexError, InputError};
use serde::Serialize;
use thiserror::Error;

/// A consumer class whose budget is below the minimum budget of Theorem 1 (eq. 11) at the
/// prices in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BudgetShortfall {
    /// Index of the consumer class.
    pub class: usize,
    /// Its budget `B_n`.
    pub budget: f64,
    /// The minimum budget that meets its energy need `E_n` at the prices in force.
    pub minimum: f64,
    /// The energy it receives with its budget (below `E_n`).
    pub energy: f64,
    /// Its energy need `E_n`.
    pub energy_need: f64,
}

fn list_shortfalls(s: &[BudgetShortfall]) -> String {
    let mut out = String::new();
    for (i, b) in s.iter().take(8).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&format!(
            "consumers[{}].budget = {} < minimum {} (energy {} < need {})",
            b.class, b.budget, b.minimum, b.energy, b.energy_need
        ));
    }
    if s.len() > 8 {
        out.push_str(&format!("; and {} more", s.len() - 8));
    }
    out
}

/// Input errors of the Stackelberg model. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum StackelbergError {
    /// Consumers whose budget is below the minimum budget of Theorem 1 (eq. 11) at the
    /// prices in force: their energy need cannot be met (Assumption 1 fails).
    #[error("budget below the minimum of Theorem 1 (eq. 11): {}", list_shortfalls(.shortfalls))]
    BudgetBelowMinimum {
        /// Every class below its minimum, with the minimum.
        shortfalls: Vec<BudgetShortfall>,
    },
    /// The consumers' total energy need exceeds the total supply: no prices meet every
    /// need (at any equilibrium the consumers receive at most `Σ G_k(t)`), so Theorem 1's
    /// minimum budgets cannot be met by raising budgets (that only raises prices).
    #[error(
        "energy needs exceed supply: Σ consumers[n].count · consumers[n].energy_need = \
         {energy_need_total} > Σ companies[k].supply = {supply_total}; no prices can meet every \
         consumer's energy need (raising budgets only raises prices, Theorem 1)"
    )]
    SupplyShortfall {
        /// `Σ_n count_n E_n`.
        energy_need_total: f64,
        /// `Σ_{k,t} G_k(t)`.
        supply_total: f64,
    },
    /// A CSV file could not be read.
    #[error("{source_name}: line {line}, column {column}: {message}")]
    Csv {
        /// Name of the data source (file name).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// 1-based column number (the field index).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Bad input, named by field and value (the workspace's one vocabulary).
    #[error(transparent)]
    Input(#[from] InputError),
}

impl StackelbergError {
    /// Wraps a kernel error of a sub-problem built from the model field `field`, naming
    /// that field first (`consumer best response: x[2] must be finite, got NaN`).
    pub(crate) fn kernel(field: impl Into<String>) -> impl FnOnce(ConvexError) -> Self {
        let field = field.into();
        move |source| source.map_field(|f| format!("{field}: {f}")).into()
    }
}
