//! Typed reports of the demand-shaping model (chen-li-low-doyle-2010 §IV): what `dr solve`,
//! `dr simulate` and the `dr demo` section print, as one value each. The command renders the
//! text and the JSON from the same report; a user can load a saved `--json` result back
//! (`Deserialize`).
//!
//! - [`SolveReport`] ([`solve_report`]): the competitive equilibrium (Theorem 6, the welfare
//!   optimum) at the top level, the strategic one (Theorem 7) under `strategic`, the
//!   unshaped reference, per-class averages, every customer's best-response gain summary,
//!   the second solver path (the kernel's interior-point method) and the claims checked.
//! - [`RunReport`] ([`run_report`]) and [`SimulationReport`]: a distributed scheme
//!   (eqs. 41–42, 48, or the price Newton) against the exact equilibrium.
//! - [`DayReport`] ([`day_report`]): the bundled day of the `dr demo` section, each printed
//!   claim a [`Claim`] with its verdict and evidence.
//!
//! Units: loads `q_i(t)` and `Q(t)` in the scenario's energy unit per period, prices `p(t)`
//! in money per energy unit, utilities, costs, welfare, bills and payments in money.
//! Numbers are never written as JSON `null`: an absent value is an omitted key and a
//! non-finite residual is a string ([`Residual`]).

use crate::equilibrium::{
    flat_price_of, load_factor, max_of, newton_equilibrium_from, peak_to_average,
    potential_curvature, strategic_equilibrium_general, unshaped, unshaped_from_total,
    unshaped_summary, Behaviour, Equilibrium, Loads, Unshaped,
};
use crate::error::ShapingError;
use crate::gain::{nash_gain_summary, NashGain};
use crate::ipm_path::{competitive_equilibrium_ipm, strategic_equilibrium_ipm};
use crate::model::ShapingModel;
use crate::newton::SolverSettings;
use crate::simulation::{Round, Scheme, SimulationRun, SimulationSettings};
use dr_convex::{Certificate, Claim, IpmSettings, Status, Termination};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A residual or difference that may be non-finite. JSON has no infinity and the reports
/// never write `null` for a number, so a non-finite value is written as a string naming it
/// (`"inf (not finite)"`); a finite one as a number. Reads either back.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Residual(pub f64);

impl Serialize for Residual {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&format!("{} (not finite)", self.0))
        }
    }
}

impl<'de> Deserialize<'de> for Residual {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Residual;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, or a string such as \"inf (not finite)\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Residual, E> {
                Ok(Residual(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Residual, E> {
                Ok(Residual(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Residual, E> {
                Ok(Residual(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Residual, E> {
                let word = v.split_whitespace().next().unwrap_or("");
                word.parse::<f64>()
                    .map(Residual)
                    .map_err(|_| E::custom(format!("{v:?} is not a residual")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A [`Certificate`] as the reports write it: the four relative residuals, their maximum,
/// the iteration count and the status (`"Solved"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CertificateReport {
    /// `Solved`, `MaxIterations`, `NumericalError`, ….
    pub status: Status,
    /// Largest relative constraint violation.
    pub primal_infeasibility: Residual,
    /// Largest relative stationarity violation.
    pub stationarity: Residual,
    /// Largest relative complementarity product.
    pub complementarity: Residual,
    /// Relative duality gap.
    pub duality_gap: Residual,
    /// Iterations (price evaluations, interior-point or VI iterations).
    pub iterations: usize,
    /// The largest of the four residuals.
    pub max_residual: Residual,
}

impl From<&Certificate> for CertificateReport {
    fn from(c: &Certificate) -> Self {
        Self {
            status: c.status,
            primal_infeasibility: Residual(c.primal_infeasibility),
            stationarity: Residual(c.stationarity),
            complementarity: Residual(c.complementarity),
            duality_gap: Residual(c.duality_gap),
            iterations: c.iterations,
            max_residual: Residual(c.max_residual()),
        }
    }
}

/// Serde of a [`Certificate`] in the reports' form ([`CertificateReport`]), for
/// `#[serde(with)]` ([`crate::Equilibrium::certificate`]).
pub(crate) mod certificate_format {
    use super::CertificateReport;
    use dr_convex::Certificate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(c: &Certificate, s: S) -> Result<S::Ok, S::Error> {
        CertificateReport::from(c).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Certificate, D::Error> {
        CertificateReport::deserialize(d).map(|c| c.certificate())
    }
}

impl CertificateReport {
    /// The certificate itself.
    pub fn certificate(&self) -> Certificate {
        Certificate {
            primal_infeasibility: self.primal_infeasibility.0,
            stationarity: self.stationarity.0,
            complementarity: self.complementarity.0,
            duality_gap: self.duality_gap.0,
            iterations: self.iterations,
            status: self.status,
        }
    }
}

/// One equilibrium (competitive, Theorem 6, or strategic, Theorem 7) as reported: the
/// [`Equilibrium`] itself (its energies, bills, load shape, certificate and unshaped
/// reference are computed with it).
pub type EquilibriumReport = Equilibrium;

/// The unshaped reference of `dr solve`: the [`Unshaped`] of an equilibrium.
pub type UnshapedReport = Unshaped;

/// A `[[customers]]` entry of the scenario: the customers `first_customer ..
/// first_customer + count` of the model, with per-customer averages over the class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// The class's name (or `customers[k]`).
    pub name: String,
    /// `quadratic`, `log`, `power`, ….
    pub utility: String,
    /// Customers in the class.
    pub count: usize,
    /// Index of its first customer in the model.
    pub first_customer: usize,
    /// Index of its first row in the per-customer arrays (`loads`, `energy`, …): the same as
    /// `first_customer` unless rows stand for several identical customers.
    pub first_row: usize,
    /// Its rows: `count` for a jittered class (every customer differs), 1 for a class of
    /// identical customers (its schedule once, standing for `count` customers).
    pub rows: usize,
    /// Mean daily energy of the unshaped loads.
    pub energy_unshaped: f64,
    /// Mean daily energy at the competitive equilibrium.
    pub energy_competitive: f64,
    /// Mean bill at the competitive equilibrium, money.
    pub bill_competitive: f64,
    /// Mean daily energy at the strategic equilibrium.
    pub energy_strategic: f64,
    /// Mean bill at the strategic equilibrium, money.
    pub bill_strategic: f64,
}

/// A class of customers (a `[[customers]]` entry) before solving: see
/// [`crate::ShapingScenario::classes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSpan {
    /// Name (or `customers[k]`).
    pub name: String,
    /// Utility family.
    pub utility: String,
    /// First customer.
    pub start: usize,
    /// Number of customers.
    pub count: usize,
}

/// The largest best-response gains at some loads ([`crate::NashGain`] without the
/// per-customer vectors).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GainSummary {
    /// Largest gain, money.
    pub max_gain: f64,
    /// Largest gain relative to the customer's own utility and bill.
    pub max_relative_gain: f64,
    /// The customer with the largest relative gain.
    pub worst_customer: usize,
}

impl From<&NashGain> for GainSummary {
    fn from(g: &NashGain) -> Self {
        Self {
            max_gain: g.max_gain,
            max_relative_gain: g.max_relative_gain,
            worst_customer: g.worst_customer,
        }
    }
}

/// What the second solver path says about the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathVerdict {
    /// Both paths Solved and their prices agree within the tolerance (relative).
    #[serde(rename = "agrees")]
    Agrees,
    /// Both paths Solved and their prices differ: a proven disagreement.
    #[serde(rename = "disagrees")]
    Disagrees,
    /// The second path did not solve: no second opinion.
    #[serde(rename = "not confirmed")]
    NotConfirmed,
}

/// The interior-point cross-check of one equilibrium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCheckReport {
    /// Whether the second path ran.
    pub performed: bool,
    /// `ipm` when it ran and returned a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_path: Option<String>,
    /// Variables of the second path's problem, `N·T + T`.
    pub variables: usize,
    /// The verdict (absent when not performed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<PathVerdict>,
    /// Relative price tolerance of "agrees".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// The second path's own certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipm_certificate: Option<CertificateReport>,
    /// Why it was skipped or not confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `verdict == agrees` (present when both paths solved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agree: Option<bool>,
    /// `max_t |p_Newton(t) − p_IPM(t)|`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price_difference: Option<Residual>,
    /// The same over the price scale `max_t max(|p_N(t)|, |p_IPM(t)|)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_relative_price_difference: Option<Residual>,
}

/// The strategic equilibrium (Theorem 7) with its Nash check and cross-check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategicReport {
    /// The equilibrium, with its own unshaped reference (at the average strategic price).
    #[serde(flatten)]
    pub equilibrium: Equilibrium,
    /// Every customer's exact best-response gain at the strategic loads.
    pub nash_gain: GainSummary,
    /// `nash_gain.max_relative_gain ≤` [`CHECK_TOLERANCE`].
    pub nash_check_holds: bool,
    /// The interior-point cross-check.
    pub cross_check: CrossCheckReport,
}

/// Relative changes of the peak-to-average ratio against the unshaped reference,
/// `(PAR − PAR_unshaped) / PAR_unshaped` (negative: the peak was cut).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShapeChange {
    /// At the competitive equilibrium.
    pub competitive: f64,
    /// At the strategic equilibrium.
    pub strategic: f64,
}

/// `dr solve` of a shaping scenario: both equilibria and their checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// `shaping`.
    pub model: String,
    /// The scenario file.
    pub file: String,
    /// What was solved.
    pub solved: String,
    /// The supply cost's form, e.g. `½ c_t Q² + e_t Q` ([`crate::SupplyCost::describe`]).
    pub supply_cost_form: String,
    /// Number of customers `N`.
    pub customers: usize,
    /// Rows of the per-customer arrays (`loads`, `energy`, `bills`, multipliers): `N`
    /// unless classes of identical customers are stored once each (`loads` then says how
    /// many customers each row stands for).
    pub rows: usize,
    /// The scenario's classes.
    pub classes: Vec<ClassReport>,
    /// The competitive equilibrium (Theorem 6), at the top level, with the unshaped
    /// reference (`unshaped`: at the average competitive price).
    #[serde(flatten)]
    pub competitive: Equilibrium,
    /// The interior-point cross-check of the competitive equilibrium.
    pub cross_check: CrossCheckReport,
    /// Best-response gains of price-anticipating customers at the competitive loads.
    pub nash_gain_at_competitive: GainSummary,
    /// `W_competitive − W_strategic` (≥ 0 by Theorem 6), money.
    pub welfare_loss_strategic: f64,
    /// Relative change of the peak-to-average ratio against the unshaped reference.
    pub peak_to_average_change: ShapeChange,
    /// The claims `dr solve` prints, with their verdicts.
    pub claims: Vec<Claim>,
    /// The strategic equilibrium (Theorem 7).
    pub strategic: StrategicReport,
}

/// Options of [`solve_report`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveOptions {
    /// Run the interior-point cross-check: `None` = when `N·T ≤ cross_check_limit`.
    pub cross_check: Option<bool>,
    /// The interior-point method's iteration limit (`None`: the kernel's default).
    pub ipm_max_iterations: Option<usize>,
    /// The automatic cross-check's size limit on `N·T` (default 50 000).
    pub cross_check_limit: usize,
    /// Keep both equilibria's per-row loads `q_i(t)` in the report (default `true`). With
    /// `false` each equilibrium's loads are dropped as soon as its Nash-gain check has read
    /// them, so the two `N × T` arrays are never held together: the report's
    /// [`Equilibrium::loads`] are then empty (0 rows; every per-period total, per-row
    /// energy, bill and multiplier, class average, gain and certificate is unchanged). For
    /// callers that print only those summaries (`dr solve` without `--json` or `--output`).
    pub keep_loads: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            cross_check: None,
            ipm_max_iterations: None,
            cross_check_limit: 50_000,
            keep_loads: true,
        }
    }
}

/// Newton and IPM prices agree when `max_t |p_N(t) − p_IPM(t)| ≤ AGREE_TOLERANCE · P`, `P`
/// the day's price scale `max_t max(|p_N(t)|, |p_IPM(t)|)` (relative: the same in any
/// units). Compared only when the IPM's own certificate is Solved; otherwise the second
/// opinion failed and the answer is "not confirmed", not "disagreed with".
pub const AGREE_TOLERANCE: f64 = 1e-6;
/// Tolerance of the certificates and of "nobody gains by deviating" (relative gain).
pub const CHECK_TOLERANCE: f64 = 1e-8;

fn compare(newton: &Equilibrium, ipm: &Equilibrium, variables: usize) -> CrossCheckReport {
    let mut abs = 0.0f64;
    for (x, y) in newton.prices.iter().zip(&ipm.prices) {
        let d = (x - y).abs();
        abs = if d.is_finite() {
            abs.max(d)
        } else {
            f64::INFINITY
        };
    }
    let scale = newton
        .prices
        .iter()
        .chain(&ipm.prices)
        .fold(0.0f64, |m, p| m.max(p.abs()));
    let rel = if abs == 0.0 {
        0.0
    } else if scale > 0.0 {
        abs / scale
    } else {
        f64::INFINITY
    };
    let solved = ipm.certificate.status == Status::Solved;
    let verdict = if !solved {
        PathVerdict::NotConfirmed
    } else if rel <= AGREE_TOLERANCE {
        PathVerdict::Agrees
    } else {
        PathVerdict::Disagrees
    };
    CrossCheckReport {
        performed: true,
        second_path: Some("ipm".into()),
        variables,
        verdict: Some(verdict),
        tolerance: Some(AGREE_TOLERANCE),
        ipm_certificate: Some(CertificateReport::from(&ipm.certificate)),
        reason: (!solved).then(|| format!("second path: {:?}", ipm.certificate.status)),
        agree: solved.then_some(verdict == PathVerdict::Agrees),
        max_price_difference: solved.then_some(Residual(abs)),
        max_relative_price_difference: solved.then_some(Residual(rel)),
    }
}

fn not_performed(variables: usize, reason: String) -> CrossCheckReport {
    CrossCheckReport {
        performed: false,
        second_path: None,
        variables,
        verdict: None,
        tolerance: None,
        ipm_certificate: None,
        reason: Some(reason),
        agree: None,
        max_price_difference: None,
        max_relative_price_difference: None,
    }
}

/// Welfare `Σ_i Σ_t U_i(q_i(t), t) − Σ_t C(Q(t), t)` of any loads (eq. 38), with a
/// deterministic chunked sum.
pub fn welfare_of(model: &ShapingModel, loads: &Loads, total: &[f64]) -> f64 {
    let utility = crate::equilibrium::total_utility(model.customers(), loads);
    let cost: f64 = total
        .iter()
        .enumerate()
        .map(|(t, &q)| model.supply().value(t, q))
        .sum();
    utility - cost
}

/// The rows of each class: a class spans the customers `start .. start + count`, and a row
/// belongs to the class of its first customer (rows follow the classes in order).
fn class_rows(model: &ShapingModel, classes: &[ClassSpan]) -> Vec<std::ops::Range<usize>> {
    let counts = model.customers().counts();
    let mut out = Vec::with_capacity(classes.len());
    let (mut row, mut first) = (0usize, 0usize);
    for c in classes {
        while row < counts.len() && first < c.start {
            first = first.saturating_add(counts[row]);
            row += 1;
        }
        let begin = row;
        let end_customer = c.start.saturating_add(c.count);
        while row < counts.len() && first < end_customer {
            first = first.saturating_add(counts[row]);
            row += 1;
        }
        out.push(begin..row);
    }
    out
}

/// The mean over a class's customers of per-row values (each row weighted by its customers).
fn class_mean(
    model: &ShapingModel,
    values: &[f64],
    rows: &std::ops::Range<usize>,
    c: &ClassSpan,
) -> f64 {
    let customers = model.customers();
    let s: f64 = values
        .get(rows.clone())
        .map(|v| {
            v.iter()
                .zip(rows.clone())
                .map(|(x, i)| customers.count(i) as f64 * x)
                .sum()
        })
        .unwrap_or(f64::NAN);
    s / c.count.max(1) as f64
}

/// Solves both equilibria of `model` and checks them: the competitive equilibrium
/// (chen-li-low-doyle-2010 Theorem 6) and the strategic one (Theorem 7), every customer's
/// exact best-response gain at both, the unshaped reference, per-class averages, and (when
/// `options` ask for it) the second solver path, the kernel's interior-point method
/// ([`competitive_equilibrium_ipm`], [`strategic_equilibrium_ipm`]).
///
/// `classes` name the scenario's `[[customers]]` entries ([`crate::ShapingScenario::classes`];
/// pass one span over all customers for a model built in code), `file` the scenario.
///
/// ```
/// use dr_shaping::{solve_report, ShapingScenario, SolveOptions};
/// let file: ShapingScenario = toml::from_str(r#"
///     periods = 2
///     [supply]
///     curvature = [0.1, 0.3]
///     [[customers]]
///     count = 3
///     utility = "quadratic"
///     theta = [1.0, 2.0]
///     kappa = 0.5
/// "#).unwrap();
/// let model = file.to_model()?;
/// let report = solve_report(&model, &file.classes(), "inline", &SolveOptions::default())?;
/// assert!(report.claims.iter().all(|c| c.holds));
/// // Three identical customers (no jitter): one row of loads standing for all three.
/// assert_eq!((report.customers, report.competitive.loads.len()), (3, 1));
/// assert_eq!(report.competitive.loads.counts(), Some(&[3][..]));
/// # Ok::<(), dr_shaping::ShapingError>(())
/// ```
///
/// # Errors
/// Those of the solvers (a model whose equilibria cannot be computed).
pub fn solve_report(
    model: &ShapingModel,
    classes: &[ClassSpan],
    file: &str,
    options: &SolveOptions,
) -> Result<SolveReport, ShapingError> {
    let settings = SolverSettings::default();
    // The unshaped reference at the competitive prices: one flat-price pass gives its total
    // (the equilibrium's `unshaped`), each customer's energy and its welfare.
    let mut summary: Option<Vec<f64>> = None;
    let mut ce = newton_equilibrium_from(
        model,
        Behaviour::Competitive,
        vec![0.0; model.periods()],
        &settings,
        None,
        &mut |prices| {
            let flat_price = flat_price_of(prices);
            let (total, energy, welfare) = unshaped_summary(model, flat_price, true)?;
            summary = Some(energy);
            Ok(unshaped_from_total(flat_price, total, welfare))
        },
    )?;
    let unshaped_energy = summary.unwrap_or_default();
    // Each best response's water-filling starts from the equilibrium's own multiplier
    // (its root at a Nash equilibrium; a nearby start at the competitive loads).
    let multipliers = |eq: &Equilibrium| -> Vec<f64> {
        eq.min_energy_multipliers
            .iter()
            .zip(&eq.max_energy_multipliers)
            .map(|(l, h)| l - h)
            .collect()
    };
    let ce_mu = multipliers(&ce);
    // Only the summaries are reported: the per-customer gains are dropped at once. Each
    // check reads only its own equilibrium, so it runs as soon as that one is solved.
    let ce_gain = gain_summary(model, &ce, &|i| ce_mu[i])?;
    // The cross-check compares prices only: the loads may go (SolveOptions::keep_loads).
    let drop_loads = |eq: &mut Equilibrium| {
        if !options.keep_loads {
            eq.loads = Loads::empty(eq.periods);
        }
    };
    drop_loads(&mut ce);
    // The strategic Newton (quadratic supply: the potential's maximiser, Theorem 7) starts
    // from the competitive prices and multipliers, the same problem up to the extra
    // curvature C''(t) (one customer's share of the total is small, so the prices are
    // close); it converges to its own tolerance and its certificate is measured afresh.
    let mut ne = match potential_curvature(model) {
        Some(extra) => newton_equilibrium_from(
            model,
            Behaviour::Strategic,
            extra,
            &settings,
            Some((&ce.prices, &ce_mu)),
            &mut |prices| unshaped(model, prices),
        )?,
        None => strategic_equilibrium_general(model, &settings, Some((&ce.prices, &ce_mu)))?,
    };
    drop(ce_mu);
    let ne_gain = gain_summary(model, &ne, &|i| {
        ne.min_energy_multipliers[i] - ne.max_energy_multipliers[i]
    })?;
    drop_loads(&mut ne);

    let nt = model.len().saturating_mul(model.periods());
    let variables = nt.saturating_add(model.periods());
    let run_ipm = options
        .cross_check
        .unwrap_or(nt <= options.cross_check_limit);
    let (cross_ce, cross_ne) = if run_ipm {
        let mut settings = IpmSettings::default();
        if let Some(k) = options.ipm_max_iterations {
            settings.max_iterations = k;
        }
        let failed = |e: ShapingError| CrossCheckReport {
            performed: true,
            verdict: Some(PathVerdict::NotConfirmed),
            reason: Some(format!("second path: {e}")),
            ..not_performed(variables, String::new())
        };
        let cross_ce = match competitive_equilibrium_ipm(model, &settings) {
            Ok(c) => compare(&ce, &c, variables),
            Err(e) => failed(e),
        };
        // The strategic equilibrium maximises a potential only for a quadratic supply cost
        // (Theorem 7, SPEC §2 derived); otherwise it solves the monotone VI of condition 44
        // (the own-impact fixed point or the VI solver), and the exact best responses (the
        // Nash check) are its independent check.
        let cross_ne = if model.supply().as_quadratic().is_none() {
            not_performed(
                variables,
                "no potential for a non-quadratic supply cost: the strategic equilibrium is \
                 the solution of the monotone VI (condition 44), checked by every customer's exact \
                 best response"
                    .into(),
            )
        } else {
            match strategic_equilibrium_ipm(model, &settings) {
                Ok(s) => compare(&ne, &s, variables),
                Err(e) => failed(e),
            }
        };
        (cross_ce, cross_ne)
    } else {
        let reason = if options.cross_check == Some(false) {
            "turned off (--set cross_check=false)".to_string()
        } else {
            format!(
                "N·T = {nt} > {} load variables (force with --set cross_check=true)",
                options.cross_check_limit
            )
        };
        (
            not_performed(variables, reason.clone()),
            not_performed(variables, reason),
        )
    };

    let spans = class_rows(model, classes);
    let class_reports = classes
        .iter()
        .zip(&spans)
        .map(|(c, rows)| ClassReport {
            name: c.name.clone(),
            utility: c.utility.clone(),
            count: c.count,
            first_customer: c.start,
            first_row: rows.start,
            rows: rows.len(),
            energy_unshaped: class_mean(model, &unshaped_energy, rows, c),
            energy_competitive: class_mean(model, &ce.energy, rows, c),
            bill_competitive: class_mean(model, &ce.bills, rows, c),
            energy_strategic: class_mean(model, &ne.energy, rows, c),
            bill_strategic: class_mean(model, &ne.bills, rows, c),
        })
        .collect();
    let unshaped_par = ce.unshaped.peak_to_average;
    let nash_holds = ne_gain.max_relative_gain <= CHECK_TOLERANCE;
    let loss = ce.welfare - ne.welfare;
    // "W_comp − W_strat ≥ 0 (Theorem 6)", relative to the welfare's scale.
    let scale = ce.utility.abs() + ce.supply_cost.abs() + ne.utility.abs() + ne.supply_cost.abs();
    let claims = vec![
        Claim::new(
            "Nash check: nobody gains by deviating at the strategic loads (Theorem 7)",
            nash_holds,
            format!(
                "largest relative best-response gain {:.3e} (customer {}) vs tolerance \
                 {CHECK_TOLERANCE:e}",
                ne_gain.max_relative_gain, ne_gain.worst_customer
            ),
        ),
        Claim::new(
            "welfare loss of strategic behaviour >= 0 (Theorem 6)",
            loss >= -CHECK_TOLERANCE * scale,
            format!(
                "W_comp − W_strat = {loss:.6e} vs −{CHECK_TOLERANCE:e} × welfare scale {scale:.3e}"
            ),
        ),
    ];
    let change = |par: f64| (par - unshaped_par) / unshaped_par;
    Ok(SolveReport {
        model: "shaping".into(),
        file: file.into(),
        solved: "competitive equilibrium (chen-li-low-doyle-2010 Theorem 6: the welfare \
                 optimum) and strategic Nash equilibrium (Theorem 7)"
            .into(),
        supply_cost_form: model.supply().describe(),
        customers: model.population(),
        rows: model.len(),
        classes: class_reports,
        peak_to_average_change: ShapeChange {
            competitive: change(ce.peak_to_average),
            strategic: change(ne.peak_to_average),
        },
        welfare_loss_strategic: loss,
        nash_gain_at_competitive: ce_gain,
        claims,
        cross_check: cross_ce,
        competitive: ce,
        strategic: StrategicReport {
            equilibrium: ne,
            nash_gain: ne_gain,
            nash_check_holds: nash_holds,
            cross_check: cross_ne,
        },
    })
}

/// The largest best-response gains at `eq`'s loads ([`crate::nash_gain`]'s summary, without
/// its per-customer vectors), each water-filling started from `guess(i)`.
fn gain_summary(
    model: &ShapingModel,
    eq: &Equilibrium,
    guess: &(dyn Fn(usize) -> f64 + Sync),
) -> Result<GainSummary, ShapingError> {
    let (max_gain, max_relative_gain, worst_customer) = nash_gain_summary(model, &eq.loads, guess)?;
    Ok(GainSummary {
        max_gain,
        max_relative_gain,
        worst_customer,
    })
}

/// Rows of `loads.csv` formatted per parallel task by [`write_loads_csv`].
const CSV_ROWS: usize = 2048;
/// Chunks formatted at once (in parallel) before they are written, so the buffer stays
/// small (`CSV_BATCH × CSV_ROWS` rows).
const CSV_BATCH: usize = 32;

/// The header of the per-customer load table of `report` ([`write_loads_csv`]): `row`,
/// `first_customer`, `customers`, then `competitive_0 … competitive_{T−1}` and
/// `strategic_0 … strategic_{T−1}`.
pub fn loads_csv_header(report: &SolveReport) -> Vec<String> {
    let periods = report.competitive.periods;
    let mut h: Vec<String> = vec!["row".into(), "first_customer".into(), "customers".into()];
    for name in ["competitive", "strategic"] {
        h.extend((0..periods).map(|t| format!("{name}_{t}")));
    }
    h
}

/// Writes the rows (no header) of the per-customer load table of `report` to `w`: one line
/// per row of the loads — a customer, or a class of identical customers written once —
/// with its index, its first customer, the customers it stands for, and its loads
/// `q_i(t)` at the competitive equilibrium (Theorem 6) and at the strategic one (Theorem 7),
/// the columns [`loads_csv_header`] names. Numbers are written in their shortest round-trip
/// form (the digits of the JSON report), so reading them back gives the same `f64`s. Chunks
/// of rows are formatted in parallel and written in order: the output does not depend on
/// the number of threads.
///
/// Errors: the two equilibria's loads do not have the same rows (`InvalidInput`), or the
/// writer's.
pub fn write_loads_csv(report: &SolveReport, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let (ce, ne) = (
        &report.competitive.loads,
        &report.strategic.equilibrium.loads,
    );
    if ce.len() != ne.len() || ce.periods() != ne.periods() || ce.counts() != ne.counts() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the competitive loads have {} rows, the strategic ones {}",
                ce.len(),
                ne.len()
            ),
        ));
    }
    let rows = ce.len();
    let chunks = rows.div_ceil(CSV_ROWS);
    // The first customer of each chunk's first row (a sequential prefix over the counts).
    let mut first = Vec::with_capacity(chunks);
    let mut customer = 0usize;
    for i in 0..rows {
        if i % CSV_ROWS == 0 {
            first.push(customer);
        }
        customer = customer.saturating_add(ce.count(i));
    }
    let format_rows = |c: usize| -> Vec<u8> {
        let start = c * CSV_ROWS;
        let end = (start + CSV_ROWS).min(rows);
        let mut out = Vec::with_capacity((end - start) * 40 * (2 * ce.periods() + 3));
        let mut f = zmij::Buffer::new();
        let mut int = itoa::Buffer::new();
        let mut customer = first[c];
        for i in start..end {
            let m = ce.count(i);
            for (k, v) in [i, customer, m].into_iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(int.format(v).as_bytes());
            }
            for &x in ce.customer(i).iter().chain(ne.customer(i)) {
                out.push(b',');
                out.extend_from_slice(f.format(x).as_bytes());
            }
            out.push(b'\n');
            customer = customer.saturating_add(m);
        }
        out
    };
    dr_convex::parallel::write_chunks_in_order(
        w,
        chunks,
        CSV_BATCH,
        rows >= 2 * CSV_ROWS,
        format_rows,
    )
}

impl SolveReport {
    /// The worse of the two equilibria's statuses.
    pub fn status(&self) -> Status {
        if self.competitive.certificate.status.is_solved() {
            self.strategic.equilibrium.certificate.status
        } else {
            self.competitive.certificate.status
        }
    }
}

// ---------------------------------------------------------------------------------------
// Simulation

/// One distributed run against the exact equilibrium it should reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Competitive or strategic customers.
    pub behaviour: Behaviour,
    /// `gradient` or `newton`.
    pub scheme: Scheme,
    /// `paper` (gradient) or `fast` (Newton).
    pub rule: String,
    /// The equations run.
    pub equations: String,
    /// The step `γ` (gradient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// The critical step `2/L` where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_step: Option<f64>,
    /// `γ / (2/L)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_over_critical: Option<f64>,
    /// The round limit.
    pub max_rounds: usize,
    /// The convergence tolerance.
    pub tolerance: f64,
    /// Why the run stopped.
    pub termination: Termination,
    /// `termination == converged`.
    pub converged: bool,
    /// Rounds to convergence (absent when it did not converge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged_after: Option<usize>,
    /// Rounds executed.
    pub rounds_run: usize,
    /// Scalar messages exchanged.
    pub messages: usize,
    /// The last residual.
    pub residual: f64,
    /// The last announced prices.
    pub prices: Vec<f64>,
    /// The last total load.
    pub total_load: Vec<f64>,
    /// Its peak-to-average ratio.
    pub peak_to_average: f64,
    /// Its load factor.
    pub load_factor: f64,
    /// The exact equilibrium's prices (`dr solve`).
    pub equilibrium_prices: Vec<f64>,
    /// The exact equilibrium's total load.
    pub equilibrium_total_load: Vec<f64>,
    /// The exact equilibrium's peak-to-average ratio.
    pub equilibrium_peak_to_average: f64,
    /// `max_t |p(t) − p*(t)|` at the last round.
    pub max_price_difference: Residual,
    /// `max_t |p(t) − p*(t)| / |p*(t)|` at the last round.
    pub max_relative_price_difference: Residual,
    /// The exact equilibrium's certificate.
    pub equilibrium_certificate: CertificateReport,
    /// The trace, one entry per recorded round.
    pub rounds: Vec<Round>,
    /// `max_t |p^k(t) − p*(t)|` of each recorded round (same order as `rounds`).
    pub price_errors: Vec<f64>,
}

/// `max_t |a(t) − b(t)|` and `max_t |a(t) − b(t)| / |b(t)|` (∞ when a value is not finite).
pub fn price_difference(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut abs = 0.0f64;
    let mut rel = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        if !d.is_finite() {
            return (f64::INFINITY, f64::INFINITY);
        }
        abs = abs.max(d);
        rel = rel.max(d / y.abs().max(f64::MIN_POSITIVE));
    }
    (abs, rel)
}

/// The report of a distributed run `run` (gradient scheme eqs. 41–42 or 48, or the price
/// Newton) of `settings` against the exact equilibrium `exact` of the same behaviour.
pub fn run_report(
    run: SimulationRun,
    exact: &Equilibrium,
    settings: &SimulationSettings,
) -> RunReport {
    let (abs, rel) = price_difference(&run.prices, &exact.prices);
    let converged = run.termination == Termination::Converged;
    let price_errors = run
        .trace
        .iter()
        .map(|r| price_difference(&r.prices, &exact.prices).0)
        .collect();
    RunReport {
        behaviour: run.behaviour,
        scheme: run.scheme,
        rule: match run.scheme {
            Scheme::Gradient => "paper",
            Scheme::Newton => "fast",
        }
        .into(),
        equations: match (run.scheme, run.behaviour) {
            (Scheme::Gradient, Behaviour::Competitive) => "chen-li-low-doyle-2010 eqs. 41-42",
            (Scheme::Gradient, Behaviour::Strategic) => "chen-li-low-doyle-2010 eq. 48",
            (Scheme::Newton, _) => "price Newton with exact customer responses",
        }
        .into(),
        step: run.step,
        critical_step: run.critical_step,
        step_over_critical: match (run.step, run.critical_step) {
            (Some(s), Some(c)) => Some(s / c),
            _ => None,
        },
        max_rounds: settings.max_rounds,
        tolerance: settings.tolerance,
        termination: run.termination,
        converged,
        converged_after: converged.then_some(run.rounds),
        rounds_run: run.rounds,
        messages: run.messages,
        residual: run.residual,
        peak_to_average: peak_to_average(&run.total_load),
        load_factor: load_factor(&run.total_load),
        prices: run.prices,
        total_load: run.total_load,
        equilibrium_prices: exact.prices.clone(),
        equilibrium_total_load: exact.total_load.clone(),
        equilibrium_peak_to_average: exact.peak_to_average,
        max_price_difference: Residual(abs),
        max_relative_price_difference: Residual(rel),
        equilibrium_certificate: CertificateReport::from(&exact.certificate),
        rounds: run.trace,
        price_errors,
    }
}

/// `dr simulate` of a shaping scenario: the first run at the top level, a second one (the
/// strategic run of `--equilibrium both`) under `strategic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    /// `shaping`.
    pub model: String,
    /// The scenario file.
    pub file: String,
    /// What was simulated.
    pub simulated: String,
    /// The first run.
    #[serde(flatten)]
    pub run: RunReport,
    /// The strategic run when both behaviours were simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategic: Option<RunReport>,
}

// ---------------------------------------------------------------------------------------
// The demo day

/// The fast distributed scheme's run in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FastScheme {
    /// Price announcements to convergence.
    pub rounds: usize,
    /// `max_t |p_fast(t) − p_comp(t)|`.
    pub max_price_difference: f64,
    /// Whether the run converged.
    pub converged: bool,
}

/// The `dr demo` section on the bundled day: `dr solve`'s report plus the fast scheme and
/// every claim the section prints, each checked independently of the solvers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayReport {
    /// The solve.
    #[serde(flatten)]
    pub solve: SolveReport,
    /// The scenario's name.
    pub scenario: String,
    /// The fast scheme (price Newton) from the default start.
    pub fast_scheme: FastScheme,
    /// Each printed claim with its verdict and the evidence.
    pub claims_checked: Vec<Claim>,
}

/// The claims of the demo day (chen-li-low-doyle-2010 §IV), each recomputed from the
/// reported loads and the model (not taken from the solvers' own summaries):
/// `Σ_i q_i(t) = Q(t)` and `p(t) = C'(Q(t), t) > 0` (eq. 30), peak-to-average and load
/// factor recomputed, shaping lowers the peak-to-average ratio, certificates hold, nobody
/// gains by deviating at the strategic loads but somebody would at the competitive ones,
/// the competitive welfare is the largest (Theorem 6), the second path agrees, and the
/// fast distributed scheme reaches the competitive prices.
///
/// # Errors
/// Those of the solvers.
pub fn day_report(
    model: &ShapingModel,
    classes: &[ClassSpan],
    scenario: &str,
) -> Result<DayReport, ShapingError> {
    let solve = solve_report(
        model,
        classes,
        scenario,
        &SolveOptions {
            cross_check: Some(true),
            ..SolveOptions::default()
        },
    )?;
    let supply = model.supply();
    let periods = model.periods();
    let mut claims = Vec::new();
    let (ce, ne) = (&solve.competitive, &solve.strategic.equilibrium);
    let u = &solve.competitive.unshaped;
    let mut totals = Vec::new();
    for eq in [ce, ne] {
        let name = match eq.behaviour {
            Behaviour::Competitive => "competitive",
            Behaviour::Strategic => "strategic",
        };
        let mut q = vec![0.0; periods];
        for i in 0..eq.loads.len() {
            let m = eq.loads.count(i) as f64;
            for (t, x) in eq.loads.customer(i).iter().enumerate() {
                q[t] += m * x;
            }
        }
        let mut sum_gap = 0.0f64;
        let mut price_gap = 0.0f64;
        let mut min_price = f64::INFINITY;
        for (t, &qt) in q.iter().enumerate() {
            sum_gap = sum_gap.max((qt - eq.total_load[t]).abs() / qt.abs());
            let marginal = supply.marginal(t, qt);
            price_gap = price_gap.max((marginal - eq.prices[t]).abs() / marginal.abs());
            min_price = min_price.min(eq.prices[t]);
        }
        claims.push(Claim::new(
            format!(
                "{name}: Σ_i q_i(t) = Q(t) and p(t) = C'(Q(t), t) > 0 in every period (eq. 30)"
            ),
            sum_gap <= 1e-9 && price_gap <= 1e-9 && min_price > 0.0,
            format!(
                "largest relative gaps {sum_gap:.1e} (sum) and {price_gap:.1e} (marginal cost) ≤ \
                 1e-9; smallest price {min_price:.6}"
            ),
        ));
        totals.push(q);
    }
    let par = |q: &[f64]| max_of(q) * q.len() as f64 / q.iter().sum::<f64>();
    let (par_u, par_ce, par_ne) = (par(&u.total_load), par(&totals[0]), par(&totals[1]));
    let mut recomputed = 0.0f64;
    for (mine, theirs, lf) in [
        (par_u, u.peak_to_average, u.load_factor),
        (par_ce, ce.peak_to_average, ce.load_factor),
        (par_ne, ne.peak_to_average, ne.load_factor),
    ] {
        recomputed = recomputed
            .max((mine - theirs).abs() / mine)
            .max((lf * mine - 1.0).abs());
    }
    claims.push(Claim::new(
        "peak/average = max/mean and load factor = 1/(peak/average), recomputed",
        recomputed <= 1e-9,
        format!("largest relative difference {recomputed:.1e} ≤ 1e-9"),
    ));
    let mean_price = ce.prices.iter().sum::<f64>() / periods as f64;
    claims.push(Claim::new(
        "the unshaped reference is at the flat price p̄ = mean competitive price",
        (mean_price - u.flat_price).abs() <= 1e-12 * mean_price.abs(),
        format!("p̄ = {}, mean price {mean_price}", u.flat_price),
    ));
    claims.push(Claim::new(
        "time-varying prices lower the peak/average ratio (competitive and strategic)",
        par_ce < par_u && par_ne < par_u,
        format!(
            "unshaped {par_u:.4}, competitive {par_ce:.4} ({:.1}% lower), strategic {par_ne:.4} \
             ({:.1}% lower)",
            100.0 * (1.0 - par_ce / par_u),
            100.0 * (1.0 - par_ne / par_u)
        ),
    ));
    let (c_ce, c_ne) = (ce.certificate, ne.certificate);
    claims.push(Claim::new(
        "certificates hold: KKT residuals ≤ 1e-8, status Solved (both equilibria)",
        c_ce.holds(CHECK_TOLERANCE) && c_ne.holds(CHECK_TOLERANCE),
        format!(
            "competitive {:.1e} ({:?}), strategic {:.1e} ({:?})",
            c_ce.max_residual(),
            c_ce.status,
            c_ne.max_residual(),
            c_ne.status
        ),
    ));
    let g_ne = solve.strategic.nash_gain;
    let g_ce = solve.nash_gain_at_competitive;
    claims.push(Claim::new(
        "nobody gains by deviating at the strategic loads; a price-anticipating customer would \
         at the competitive ones (Theorem 7)",
        g_ne.max_relative_gain <= CHECK_TOLERANCE && g_ce.max_relative_gain > CHECK_TOLERANCE,
        format!(
            "largest relative gains {:.1e} (strategic) ≤ 1e-8 < {:.1e} (competitive)",
            g_ne.max_relative_gain, g_ce.max_relative_gain
        ),
    ));
    let w_ce = welfare_of(model, &ce.loads, &totals[0]);
    let w_ne = welfare_of(model, &ne.loads, &totals[1]);
    let w_scale = ce.utility.abs() + ce.supply_cost.abs();
    claims.push(Claim::new(
        "the competitive equilibrium has the largest welfare (Theorem 6)",
        (w_ce - ce.welfare).abs() <= 1e-9 * w_scale && w_ce >= w_ne && w_ce >= u.welfare,
        format!(
            "competitive {w_ce:.6} (reported {:.6}), strategic {w_ne:.6}, unshaped {:.6}",
            ce.welfare, u.welfare
        ),
    ));
    let agree = [&solve.cross_check, &solve.strategic.cross_check]
        .iter()
        .all(|c| c.verdict == Some(PathVerdict::Agrees));
    let diff = |c: &CrossCheckReport| c.max_price_difference.map_or(f64::NAN, |r| r.0);
    claims.push(Claim::new(
        "Newton and interior-point prices agree (relative 1e-6; both equilibria)",
        agree,
        format!(
            "max price differences {:.1e} (competitive), {:.1e} (strategic)",
            diff(&solve.cross_check),
            diff(&solve.strategic.cross_check)
        ),
    ));
    let fast = crate::simulate(
        model,
        &SimulationSettings {
            scheme: Scheme::Newton,
            ..SimulationSettings::default()
        },
    )?;
    let (fast_diff, _) = price_difference(&fast.prices, &ce.prices);
    let fast_converged = fast.termination == Termination::Converged;
    claims.push(Claim::new(
        "the fast distributed scheme converges to the competitive prices",
        fast_converged && fast_diff <= 1e-9 * mean_price.abs(),
        format!(
            "{} after {} rounds, max price difference {fast_diff:.1e}",
            fast.termination, fast.rounds
        ),
    ));
    Ok(DayReport {
        solve,
        scenario: scenario.into(),
        fast_scheme: FastScheme {
            rounds: fast.rounds,
            max_price_difference: fast_diff,
            converged: fast_converged,
        },
        claims_checked: claims,
    })
}
