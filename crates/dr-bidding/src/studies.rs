//! The papers' numerical studies, as functions returning data.
//!
//! - [`convergence_study`]: li-chen-dahleh-2015 Figs. 1–2 (30 customers, `d = 10`,
//!   `γ = 0.1`; 300 customers, `γ = 0.05`; `a_i ~ U[1,2]`, `h_i ~ U[0.5,4.5]`) and the
//!   conference run of chen-li-low-doyle-2010 §V (10 customers, `d = 100`, `γ = 0.02`), each
//!   with the papers' fixed step and the fast rule ([`crate::FittedMarketRule`]), for
//!   price-taking and strategic customers. The papers do not publish their draws: the
//!   populations here are drawn with a fixed seed ([`ConvergenceConfig::seed`]). The
//!   conference paper's ranges for `a_i`, `h_i` were lost in extraction; the journal's
//!   ranges are used.
//!
//!   Finding: the fixed step converges locally iff `γ < 2/S'(p)` (see `crate::iterative`).
//!   For Fig. 1 (30 customers, `γ = 0.1`) every draw is far inside (critical steps 0.18–0.34
//!   over 200 seeds). For Fig. 2 (300 customers) `γ = 0.05` sits *at* the limit: over seeds
//!   0–199 the critical step ranges 0.044–0.057 with median 0.049, and only 77 of 200 draws
//!   converge with `γ = 0.05`; with the default seed 2015 the papers' step oscillates
//!   (critical steps 0.0476 competitive, 0.0497 strategic) while the fast rule converges.
//! - [`oscillation_study`]: the fixed step above its critical value oscillates around the
//!   equilibrium (chen-li-low-doyle-2010 §V).
//! - [`scenario_sweep`]: li-chen-dahleh-2015 §VII-B, Figs. 3–6, scenarios 1–3 for
//!   `n = 3, 5, …, 99`. The paper does not give `d`; [`PAPER_SWEEP_DEFICIT`] `= 10` is used.
//!   Rows are computed in parallel (rayon) and returned in a fixed order, so the result does
//!   not depend on the number of threads.

use crate::bid_trace::CriticalStep;
use crate::efficiency::solve;
use crate::error::BiddingError;
use crate::iterative::{critical_step, Behaviour, PriceUpdate, SimulationRun, SimulationSettings};
use crate::market::Market;
use dr_convex::Claim;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Relative price error used to count rounds in the convergence studies.
pub const PRICE_TOLERANCE: f64 = 1e-9;

/// The deficit used for the scenario sweep (the paper leaves it unspecified).
pub const PAPER_SWEEP_DEFICIT: f64 = 10.0;

/// A drawn population and the fixed step of one convergence study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvergenceConfig {
    /// Study name.
    pub name: String,
    /// Number of customers.
    pub customers: usize,
    /// Deficit `d`.
    pub deficit: f64,
    /// The papers' step `γ`.
    pub step: f64,
    /// Range of `a_i`.
    pub linear: [f64; 2],
    /// Range of `h_i`.
    pub quadratic: [f64; 2],
    /// Seed of the draw (ChaCha8).
    pub seed: u64,
    /// The utility's first price `p(0)`.
    pub start_price: f64,
    /// Relative mismatch at which a run has converged.
    pub tolerance: f64,
    /// Round limit.
    pub max_rounds: usize,
}

impl ConvergenceConfig {
    fn paper(name: &str, customers: usize, deficit: f64, step: f64) -> Self {
        Self {
            name: name.into(),
            customers,
            deficit,
            step,
            linear: [1.0, 2.0],
            quadratic: [0.5, 4.5],
            seed: 2015,
            start_price: 1.0,
            tolerance: 1e-9,
            max_rounds: 20_000,
        }
    }

    /// li-chen-dahleh-2015 Fig. 1: 30 customers, `d = 10`, `γ = 0.1`.
    pub fn figure1() -> Self {
        Self::paper("figure1", 30, 10.0, 0.1)
    }

    /// li-chen-dahleh-2015 Fig. 2: 300 customers, `d = 10`, `γ = 0.05`.
    pub fn figure2() -> Self {
        Self::paper("figure2", 300, 10.0, 0.05)
    }

    /// chen-li-low-doyle-2010 §V: 10 customers, `d = 100`, `γ = 0.02`.
    pub fn conference() -> Self {
        Self::paper("conference", 10, 100.0, 0.02)
    }

    /// The drawn market.
    pub fn market(&self) -> Result<Market, BiddingError> {
        Market::drawn(
            self.customers,
            self.linear,
            self.quadratic,
            self.seed,
            self.deficit,
        )
    }

    fn settings(&self) -> SimulationSettings {
        SimulationSettings {
            start_price: self.start_price,
            max_rounds: self.max_rounds,
            tolerance: self.tolerance,
            ..SimulationSettings::default()
        }
    }
}

/// One iterative run of a study, with its distance to the exact equilibrium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyRun {
    /// Price-taking or strategic.
    pub behaviour: Behaviour,
    /// The price update used.
    pub update: PriceUpdate,
    /// The exact equilibrium price the run should reach (kernel solve).
    pub equilibrium_price: f64,
    /// First round whose price is within [`PRICE_TOLERANCE`] of it.
    pub rounds_to_price_tolerance: Option<usize>,
    /// `|p_last − p_eq| / p_eq`.
    pub final_price_error: f64,
    /// The run itself (trace with every bid).
    pub run: SimulationRun,
}

/// The result of a convergence study (Figs. 1–2, conference run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvergenceStudy {
    /// The study's parameters.
    pub config: ConvergenceConfig,
    /// Exact competitive price `p̄`.
    pub competitive_price: f64,
    /// Exact Nash price `p*`.
    pub nash_price: f64,
    /// Critical fixed step `2/S'(p̄)` for price-taking customers.
    pub competitive_critical_step: f64,
    /// Critical fixed step `2/S'(p*)` for strategic customers.
    pub nash_critical_step: f64,
    /// Competitive/strategic × paper/fast runs.
    pub runs: Vec<StudyRun>,
    /// The paper's step `γ` against the critical step, price-taking then strategic.
    pub step_checks: Vec<CriticalStep>,
    /// What each step check predicts about its paper-rule run, with the verdict: above the
    /// critical step the run must not converge, below it it must.
    pub claims: Vec<Claim>,
}

/// [`crate::simulate`] with every customer's bid in every round of the trace (a trace recorder,
/// [`crate::BiddingSimulation::with_bids`]).
fn simulate_with_bids(
    market: &Market,
    behaviour: Behaviour,
    update: PriceUpdate,
    settings: SimulationSettings,
) -> Result<SimulationRun, BiddingError> {
    let sim = crate::BiddingSimulation::from_update(market, behaviour, update, settings)?;
    Ok(sim
        .executor()
        .trace_with(dr_convex::TraceMode::Always, |s, r| {
            s.with_bids(r, usize::MAX)
        })
        .run()
        .into())
}

fn study_run(
    market: &Market,
    behaviour: Behaviour,
    update: PriceUpdate,
    settings: &SimulationSettings,
    reference: f64,
) -> Result<StudyRun, BiddingError> {
    let run = simulate_with_bids(market, behaviour, update, settings.clone())?;
    Ok(StudyRun {
        behaviour,
        update,
        equilibrium_price: reference,
        rounds_to_price_tolerance: run.rounds_to_price(reference, PRICE_TOLERANCE),
        final_price_error: (run.price - reference).abs() / reference,
        run,
    })
}

/// Runs a convergence study: both behaviours, the paper's step and the fast rule.
pub fn convergence_study(config: &ConvergenceConfig) -> Result<ConvergenceStudy, BiddingError> {
    let market = config.market()?;
    let report = solve(&market)?;
    let settings = config.settings();
    let mut runs = Vec::new();
    for (behaviour, reference) in [
        (Behaviour::Competitive, report.competitive.price),
        (Behaviour::Strategic, report.nash.price),
    ] {
        for update in [PriceUpdate::Paper { step: config.step }, PriceUpdate::Fast] {
            runs.push(study_run(&market, behaviour, update, &settings, reference)?);
        }
    }
    let mut step_checks = Vec::new();
    let mut claims = Vec::new();
    for behaviour in [Behaviour::Competitive, Behaviour::Strategic] {
        let check = CriticalStep::new(&market, behaviour, config.step)?;
        if let Some(r) = runs
            .iter()
            .find(|r| r.behaviour == behaviour && matches!(r.update, PriceUpdate::Paper { .. }))
        {
            let who = match behaviour {
                Behaviour::Competitive => "price-taking",
                Behaviour::Strategic => "strategic",
            };
            claims.push(check.claim(
                &format!("{} {who}", config.name),
                r.run.termination,
                r.run.rounds,
            ));
        }
        step_checks.push(check);
    }
    Ok(ConvergenceStudy {
        config: config.clone(),
        competitive_price: report.competitive.price,
        nash_price: report.nash.price,
        competitive_critical_step: critical_step(&market, Behaviour::Competitive)?,
        nash_critical_step: critical_step(&market, Behaviour::Strategic)?,
        runs,
        step_checks,
        claims,
    })
}

/// The result of [`oscillation_study`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OscillationStudy {
    /// The population.
    pub config: ConvergenceConfig,
    /// Price-taking or strategic.
    pub behaviour: Behaviour,
    /// `2/S'(p)` at the equilibrium.
    pub critical_step: f64,
    /// The step used.
    pub step: f64,
    /// Exact equilibrium price.
    pub equilibrium_price: f64,
    /// Largest relative mismatch over the last 64 rounds.
    pub late_amplitude: f64,
    /// Sign changes of the mismatch over the last 64 rounds.
    pub late_sign_changes: usize,
    /// The run (trace with every bid).
    pub run: SimulationRun,
}

/// The fixed step `step` (default: 3 × the critical step) on a study's population, for
/// price-taking (`eq. 12`) or strategic (`eq. 27`) customers: the price keeps oscillating
/// around the equilibrium (chen-li-low-doyle-2010 §V). The run stops as
/// [`crate::Termination::Oscillating`] (or at the round limit).
pub fn oscillation_study(
    config: &ConvergenceConfig,
    behaviour: Behaviour,
    step: Option<f64>,
) -> Result<OscillationStudy, BiddingError> {
    let market = config.market()?;
    let critical = critical_step(&market, behaviour)?;
    let step = step.unwrap_or(3.0 * critical);
    let mut settings = config.settings();
    settings.max_rounds = settings.max_rounds.min(2_000);
    let reference = match behaviour {
        Behaviour::Competitive => crate::competitive_equilibrium(&market)?.price,
        Behaviour::Strategic => crate::nash_equilibrium(&market)?.price,
    };
    let run = simulate_with_bids(&market, behaviour, PriceUpdate::Paper { step }, settings)?;
    let tail = &run.trace[run.trace.len().saturating_sub(64)..];
    let late_amplitude = tail.iter().map(|r| r.relative_mismatch).fold(0.0, f64::max);
    let late_sign_changes = tail
        .windows(2)
        .filter(|w| w[0].mismatch * w[1].mismatch < 0.0)
        .count();
    Ok(OscillationStudy {
        config: config.clone(),
        behaviour,
        critical_step: critical,
        step,
        equilibrium_price: reference,
        late_amplitude,
        late_sign_changes,
        run,
    })
}

/// The market of scenario `scenario ∈ {1, 2, 3}` of li-chen-dahleh-2015 §VII-B with `n`
/// customers: `C_i(q) = a_i q + h_i q²`, high-cost customers `a = 1, h = 2`; scenario 1 has
/// none low-cost, scenario 2 customer 0, scenario 3 customers 0 and 1 low-cost
/// (`a = 0.1, h = 0.2`). Errors name `scenario` or `customers`.
pub fn scenario_market(
    scenario: u8,
    customers: usize,
    deficit: f64,
) -> Result<Market, BiddingError> {
    let low = match scenario {
        1 => 0,
        2 => 1,
        3 => 2,
        _ => {
            return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
                field: "scenario".into(),
                value: scenario as f64,
                requirement: "must be 1, 2 or 3".into(),
            }))
        }
    };
    if customers < low.max(1) {
        return Err(BiddingError::Input(dr_convex::InputError::OutOfRange {
            field: "customers".into(),
            value: customers as f64,
            requirement: "must be at least the number of low-cost customers".into(),
        }));
    }
    let a = (0..customers)
        .map(|i| if i < low { 0.1 } else { 1.0 })
        .collect();
    let h = (0..customers)
        .map(|i| if i < low { 0.2 } else { 2.0 })
        .collect();
    Market::quadratic(a, h, deficit)
}

/// One `(scenario, n)` point of Figs. 3–6.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// Scenario 1, 2 or 3.
    pub scenario: u8,
    /// Number of customers `n`.
    pub customers: usize,
    /// Competitive price `p̄`.
    pub competitive_price: f64,
    /// Nash price `p*`.
    pub nash_price: f64,
    /// `p*/p̄` (Fig. 3).
    pub price_ratio: f64,
    /// `C*/C̄` (Fig. 4).
    pub cost_ratio: f64,
    /// Load of the low-cost customer (customer 0) at the competitive equilibrium (Fig. 5).
    pub low_cost_load_competitive: f64,
    /// … at the Nash equilibrium (Fig. 5).
    pub low_cost_load_nash: f64,
    /// Load of a high-cost customer (the last one) at the competitive equilibrium (Fig. 6).
    pub high_cost_load_competitive: f64,
    /// … at the Nash equilibrium (Fig. 6).
    pub high_cost_load_nash: f64,
    /// Largest relative unilateral gain at the computed Nash equilibrium (≈ 0).
    pub nash_max_relative_gain: f64,
}

/// The scenario sweep of Figs. 3–6.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioSweep {
    /// The deficit used.
    pub deficit: f64,
    /// Rows, scenario-major, then by `n` in the order given.
    pub rows: Vec<SweepRow>,
}

impl ScenarioSweep {
    /// The rows of one scenario.
    pub fn scenario(&self, scenario: u8) -> Vec<&SweepRow> {
        self.rows
            .iter()
            .filter(|r| r.scenario == scenario)
            .collect()
    }
}

/// The paper's sizes `n = 3, 5, …, 99`.
pub fn paper_sweep_sizes() -> Vec<usize> {
    (3..=99).step_by(2).collect()
}

/// Scenarios 1–3 for each size in `sizes` (each ≥ 3), in parallel, deterministic.
pub fn scenario_sweep(deficit: f64, sizes: &[usize]) -> Result<ScenarioSweep, BiddingError> {
    if sizes.is_empty() {
        return Err(BiddingError::Input(dr_convex::InputError::Empty {
            field: "sizes".into(),
        }));
    }
    let points: Vec<(u8, usize)> = (1..=3u8)
        .flat_map(|s| sizes.iter().map(move |&n| (s, n)))
        .collect();
    let rows = points
        .par_iter()
        .map(|&(scenario, n)| -> Result<SweepRow, BiddingError> {
            let market = scenario_market(scenario, n, deficit)?;
            let r = solve(&market)?;
            let last = n - 1;
            Ok(SweepRow {
                scenario,
                customers: n,
                competitive_price: r.competitive.price,
                nash_price: r.nash.price,
                price_ratio: r.efficiency.price_ratio,
                cost_ratio: r.efficiency.cost_ratio,
                low_cost_load_competitive: r.competitive.loads[0],
                low_cost_load_nash: r.nash.loads[0],
                high_cost_load_competitive: r.competitive.loads[last],
                high_cost_load_nash: r.nash.loads[last],
                nash_max_relative_gain: r.nash.max_relative_gain.unwrap_or(f64::NAN),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ScenarioSweep { deficit, rows })
}

/// The paper's sweep: `d = 10`, `n = 3, 5, …, 99`.
pub fn paper_scenario_sweep() -> Result<ScenarioSweep, BiddingError> {
    scenario_sweep(PAPER_SWEEP_DEFICIT, &paper_sweep_sizes())
}
