//! The typed report of the bidding section of `dr demo`: both equilibria of a small market
//! (li-chen-dahleh-2015 Theorems 1 and 3), the efficiency loss (Theorem 5), the exact
//! best-response gains at both bid profiles (eq. 13), the iterative scheme with the paper's
//! step and with the fast rule (eqs. 11–12), and every claim the section prints, checked
//! ([`dr_convex::Claim`]).

use crate::efficiency::{solve, Efficiency};
use crate::equilibrium::Equilibrium;
use crate::error::BiddingError;
use crate::gain::nash_gain;
use crate::iterative::{simulate, Behaviour, PriceUpdate, SimulationRun, SimulationSettings};
use crate::market::Market;
use crate::report::CertificateReport;
use dr_convex::{Certificate, Claim, Termination};
use serde::{Deserialize, Serialize};

/// Relative slack of the demo's checks (sums, certificates, the theorems' inequalities,
/// the unilateral gain at the Nash bids).
pub const DEMO_TOLERANCE: f64 = 1e-9;

/// One equilibrium in brief, with its per-customer columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquilibriumBrief {
    /// Price (`p̄` or `p*`), money per unit of load.
    pub price: f64,
    /// `Σ C_i(q_i)`, money.
    pub total_cost: f64,
    /// Active customers.
    pub active: usize,
    /// `max_i q_i`.
    pub max_load: f64,
    /// Loads `q_i`.
    pub loads: Vec<f64>,
    /// Bids `b_i = q_i / p`.
    pub bids: Vec<f64>,
    /// KKT certificate (Theorem 1 or 3).
    pub certificate: CertificateReport,
}

impl EquilibriumBrief {
    fn of(eq: &Equilibrium) -> EquilibriumBrief {
        EquilibriumBrief {
            price: eq.price,
            total_cost: eq.total_cost,
            active: eq.water_filling.active,
            max_load: eq.max_load(),
            loads: eq.loads.clone(),
            bids: eq.bids.clone(),
            certificate: eq.certificate.into(),
        }
    }
}

/// The largest unilateral gain at a bid profile (eq. 13, [`crate::nash_gain`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GainAt {
    /// Largest gain relative to the customer's payoff.
    pub max_relative_gain: f64,
    /// Whose (index from 0).
    pub customer: usize,
    /// That customer's bid in the profile.
    pub bid: f64,
    /// Its best response.
    pub best_response_bid: f64,
}

/// Gains at the Nash bids `b*` and at the competitive bids `b̄`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GainPair {
    /// At `b*`: nobody gains.
    pub at_nash_bids: GainAt,
    /// At `b̄`: someone does (price-taking bids are not a Nash equilibrium).
    pub at_competitive_bids: GainAt,
}

/// One run of the iterative scheme (price-taking customers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterativeRun {
    /// The paper's step `γ` (absent for the fast rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Rounds run.
    pub rounds: usize,
    /// The last price.
    pub price: f64,
    /// `|p − p̄| / p̄`.
    pub price_error: f64,
    /// Why it stopped.
    pub termination: Termination,
    /// The price of every round `p(0), p(1), …`.
    pub prices: Vec<f64>,
}

impl IterativeRun {
    fn of(run: &SimulationRun, step: Option<f64>, exact: f64) -> IterativeRun {
        IterativeRun {
            step,
            rounds: run.rounds,
            price: run.price,
            price_error: (run.price - exact).abs() / exact,
            termination: run.termination,
            prices: run.trace.iter().map(|r| r.price).collect(),
        }
    }
}

/// The paper's step and the fast rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterativePair {
    /// `p ← [p − γ · mismatch]⁺` (eq. 12).
    pub paper: IterativeRun,
    /// [`crate::FittedMarketRule`].
    pub fast: IterativeRun,
}

/// The bidding section of `dr demo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoReport {
    /// What was solved.
    pub solved: String,
    /// The bundled file's name.
    pub file: String,
    /// `n`.
    pub customers: usize,
    /// `d`.
    pub deficit: f64,
    /// Competitive equilibrium (Theorem 1).
    pub competitive: EquilibriumBrief,
    /// Nash equilibrium (Theorem 3).
    pub nash: EquilibriumBrief,
    /// Theorem 5 / Corollary 4.
    pub efficiency: Efficiency,
    /// Best-response gains (eq. 13).
    pub nash_gain: GainPair,
    /// The iterative scheme, price-taking customers.
    pub iterative: IterativePair,
    /// Customers by `C_i'(0)` (ties by index): the water-filling order.
    pub water_filling_order: Vec<usize>,
    /// The worse of the two certificates (larger residual).
    pub certificate: CertificateReport,
    /// Every statement the section prints, checked.
    pub claims: Vec<Claim>,
}

/// Builds the demo report of `market`: both equilibria, the gains, and the iterative scheme
/// from `start` settings with the paper's step `step` and with the fast rule.
///
/// ```
/// use dr_bidding::{demo_report, Market, SimulationSettings};
/// let m = Market::drawn(30, [1.0, 2.0], [0.5, 4.5], 7, 10.0)?;
/// let r = demo_report(&m, "drawn", 0.1, SimulationSettings::default())?;
/// assert!(r.claims.iter().all(|c| c.holds), "{:?}", r.claims);
/// # Ok::<(), dr_bidding::BiddingError>(())
/// ```
pub fn demo_report(
    market: &Market,
    file: &str,
    step: f64,
    settings: SimulationSettings,
) -> Result<DemoReport, BiddingError> {
    let tol = DEMO_TOLERANCE;
    let d = market.deficit();
    let report = solve(market)?;
    let (ce, ne, eff) = (&report.competitive, &report.nash, &report.efficiency);
    let gain = nash_gain(market, &ne.bids)?;
    let ce_gain = nash_gain(market, &ce.bids)?;
    let paper = simulate(
        market,
        Behaviour::Competitive,
        PriceUpdate::Paper { step },
        settings.clone(),
    )?;
    let fast = simulate(market, Behaviour::Competitive, PriceUpdate::Fast, settings)?;
    let paper = IterativeRun::of(&paper, Some(step), ce.price);
    let fast = IterativeRun::of(&fast, None, ce.price);

    let mut claims = Vec::new();
    for (name, eq, theorem) in [("competitive", ce, "Theorem 2"), ("Nash", ne, "Theorem 4")] {
        let total: f64 = eq.loads.iter().sum();
        claims.push(Claim::new(
            format!("{name}: Σ q = d"),
            (total - d).abs() <= tol * d,
            format!("Σ q = {total}, d = {d} (relative slack {tol:e})"),
        ));
        claims.push(Claim::new(
            format!("{name}: certificate Solved with residuals <= {tol:e}"),
            eq.certificate.holds(tol),
            format!(
                "status {:?}, max residual {:.3e}",
                eq.certificate.status,
                eq.certificate.max_residual()
            ),
        ));
        claims.push(Claim::new(
            format!("{name}: the active set is a water-filling prefix ({theorem})"),
            eq.water_filling.prefix,
            format!(
                "largest active C_i'(0) {:?}, price {}, smallest inactive C_i'(0) {:?}",
                eq.water_filling.highest_active_base_cost,
                eq.price,
                eq.water_filling.lowest_inactive_base_cost
            ),
        ));
    }
    claims.push(Claim::new(
        "p̄ <= p* and C̄ <= C* (Theorem 5)",
        ne.price >= ce.price * (1.0 - tol) && ne.total_cost >= ce.total_cost * (1.0 - tol),
        format!(
            "p̄ = {}, p* = {}; C̄ = {}, C* = {}",
            ce.price, ne.price, ce.total_cost, ne.total_cost
        ),
    ));
    claims.push(Claim::new(
        "Theorem 5 bounds and N̄ ⊆ N*",
        eff.price_bounds_hold && eff.cost_bounds_hold && eff.active_sets_nested,
        format!(
            "p*/p̄ = {} <= {}; C*/C̄ = {} <= {:?}; nested {}",
            eff.price_ratio,
            eff.price_ratio_bound,
            eff.cost_ratio,
            eff.cost_ratio_bound,
            eff.active_sets_nested
        ),
    ));
    let max_nash = ne.max_load();
    claims.push(Claim::new(
        "every Nash load is below d/2 (Lemma 3)",
        max_nash < 0.5 * d,
        format!("max q* = {max_nash}, d/2 = {}", 0.5 * d),
    ));
    let min_ce_revenue = ce
        .net_revenues
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    claims.push(Claim::new(
        "competitive net revenues are non-negative (Corollary 1)",
        min_ce_revenue >= -tol * ce.total_payment,
        format!("smallest p̄ q̄_i − C_i(q̄_i) = {min_ce_revenue}"),
    ));
    let bad_nash = ne
        .loads
        .iter()
        .zip(&ne.net_revenues)
        .filter(|(&q, &r)| q > 0.0 && r <= 0.0)
        .count();
    claims.push(Claim::new(
        "active Nash customers have a positive net revenue (Corollary 3)",
        bad_nash == 0,
        format!("{bad_nash} active customer(s) without one"),
    ));
    claims.push(Claim::new(
        "nobody gains by deviating alone from the Nash bids (eq. 13)",
        gain.max_relative_gain <= tol,
        format!(
            "largest relative gain {:.3e} (customer {})",
            gain.max_relative_gain, gain.max_gain_customer
        ),
    ));
    claims.push(Claim::new(
        "someone gains by deviating from the competitive bids",
        ce_gain.max_relative_gain > 1e-6,
        format!(
            "largest relative gain {:.3e} (customer {})",
            ce_gain.max_relative_gain, ce_gain.max_gain_customer
        ),
    ));
    for (name, run) in [("paper", &paper), ("fast", &fast)] {
        claims.push(Claim::new(
            format!("the {name} rule converges to p̄ within 1e-8"),
            run.termination == Termination::Converged && run.price_error <= 1e-8,
            format!(
                "{:?} after {} rounds, |p − p̄|/p̄ = {:.3e}",
                run.termination, run.rounds, run.price_error
            ),
        ));
    }
    claims.push(Claim::new(
        "the fast rule needs fewer rounds than the paper's step",
        fast.rounds < paper.rounds,
        format!("fast {} rounds, paper {}", fast.rounds, paper.rounds),
    ));

    let worse: Certificate = if ne.certificate.max_residual() >= ce.certificate.max_residual() {
        ne.certificate
    } else {
        ce.certificate
    };
    let at = |g: &crate::gain::NashGain, bids: &[f64]| GainAt {
        max_relative_gain: g.max_relative_gain,
        customer: g.max_gain_customer,
        bid: bids[g.max_gain_customer],
        best_response_bid: g.best_response_bids[g.max_gain_customer],
    };
    Ok(DemoReport {
        solved: "competitive and Nash equilibria of supply-function bidding \
                 (li-chen-dahleh-2015 Theorems 1, 3)"
            .into(),
        file: file.into(),
        customers: market.len(),
        deficit: d,
        competitive: EquilibriumBrief::of(ce),
        nash: EquilibriumBrief::of(ne),
        efficiency: eff.clone(),
        nash_gain: GainPair {
            at_nash_bids: at(&gain, &ne.bids),
            at_competitive_bids: at(&ce_gain, &ce.bids),
        },
        iterative: IterativePair { paper, fast },
        water_filling_order: market.water_filling_order(),
        certificate: worse.into(),
        claims,
    })
}
