//! The demand-shaping model in `dr` (chen-li-low-doyle-2010 §IV, "Demand response: shaping
//! the demand"; SPEC §2):
//!
//! - `dr solve FILE`: both equilibria — the competitive equilibrium (Theorem 6: the welfare
//!   optimum, prices `p(t) = C'(Q(t), t)`) and the strategic one (Theorem 7: the Nash
//!   equilibrium of price-anticipating customers, checked by every customer's exact
//!   best-response gain) — with their certificates, the load shape (peak-to-average ratio,
//!   load factor) next to the unshaped preferred loads, and the cross-check of the two solver
//!   paths (price Newton vs the kernel's interior-point method) for `N·T ≤ 50 000`
//!   (`--set cross_check=true|false`, `--set ipm_max_iterations=K`). A second path that
//!   does not solve leaves the answer "not confirmed" (exit 5); two Solved paths whose
//!   prices differ are a disagreement (exit 3); a certificate that is not Solved exits 4;
//! - `dr simulate FILE [--equilibrium competitive|nash|both] [--rule paper|fast] [--step γ]`:
//!   the papers' projected-gradient scheme (eqs. 41–42, or eq. 48 for strategic customers) or
//!   the fast price-Newton scheme, round by round, against the exact equilibrium, with the
//!   critical step `2/L` and an explicit termination (converged, oscillating, diverged,
//!   round limit);
//! - a `dr demo` section: the bundled 24-hour day (`data/shaping_day.toml`), every printed
//!   claim checked.

use super::args::{EquilibriumChoice, RuleChoice};
use super::demo::DemoSection;
use super::error::CliError;
use super::models::ModelCommands;
use super::output::{
    certificate_json, certificate_text, check_memory, heading_word, num, Options, Outcome, Output,
    Table,
};
use crate::command::RoundReport;
use demand_response::plot::{LineChart, Plot};
use demand_response::scenario::{Format, ModelKind, Scenario};
use dr_convex::{Certificate, IpmSettings, Status};
use dr_shaping::{
    competitive_equilibrium, competitive_equilibrium_ipm, critical_step, load_factor, nash_gain,
    peak_to_average, simulate as run_newton_scheme, simulate_observed, strategic_equilibrium,
    strategic_equilibrium_ipm, unshaped_loads, Behaviour, Equilibrium, GradientScheme, Loads,
    NashGain, Scheme, ShapingError, ShapingModel, ShapingScenario, SimulationRun,
    SimulationSettings, Termination, UtilitySpec,
};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The shaping model's commands and demo section.
pub(crate) const COMMANDS: ModelCommands = ModelCommands {
    solve,
    simulate: Some(simulate),
    verify: Some(super::verify::verify),
    studies: &[],
    demo: &[DemoSection {
        name: "shaping-day",
        title: "Demand shaping: a 24-hour day of 100 customers (chen-li-low-doyle-2010 §IV)",
        run: demo_day,
    }],
};

const PAPER: &str = "chen-li-low-doyle-2010";

/// The bundled scenario of the demo (also `data/shaping_day.toml`).
const DAY: &str = include_str!("../../../data/shaping_day.toml");
const DAY_NAME: &str = "data/shaping_day.toml";

/// The interior-point cross-check runs by default when the problem has at most this many
/// load variables `N·T` (`--set cross_check=true|false` overrides).
const CROSS_CHECK_LIMIT: usize = 50_000;
/// Newton and IPM prices agree when `max_t |p_N(t) − p_IPM(t)| ≤ AGREE_TOL · P`, `P` the
/// price scale of the day `max_t max(|p_N(t)|, |p_IPM(t)|)` (relative: the same in any
/// units). Compared only when the IPM's own certificate is Solved; otherwise the second
/// opinion failed and the Newton answer is "not confirmed", not "disagreed with".
const AGREE_TOL: f64 = 1e-6;
/// Tolerance of the certificates and of "nobody gains by deviating" (relative gain).
const CHECK_TOL: f64 = 1e-8;

fn model_err(file: &str) -> impl Fn(ShapingError) -> CliError + '_ {
    move |e| CliError::model(file, ModelKind::Shaping, e)
}

fn behaviour_name(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "competitive",
        Behaviour::Strategic => "strategic",
    }
}

fn termination_name(t: Termination) -> &'static str {
    t.name()
}

fn rounds(n: usize) -> String {
    if n == 1 {
        "1 round".to_string()
    } else {
        format!("{n} rounds")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `max_t |a(t) − b(t)|` and `max_t |a(t) − b(t)| / |b(t)|` (∞ when a value is not finite).
fn price_difference(a: &[f64], b: &[f64]) -> (f64, f64) {
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

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

fn argmin(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x < v[best] {
            best = i;
        }
    }
    best
}

fn max_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

// ---------------------------------------------------------------------------------------
// The classes of a scenario

/// The `[[customers]]` entries of a scenario: the population is their expansion, in order.
struct Class {
    name: String,
    utility: &'static str,
    /// Customers `start..start + count` of the model.
    start: usize,
    count: usize,
}

fn classes(file: &ShapingScenario) -> Vec<Class> {
    let mut start = 0;
    file.customers
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let class = Class {
                name: c.name.clone().unwrap_or_else(|| format!("customers[{k}]")),
                utility: match c.utility {
                    UtilitySpec::Quadratic => "quadratic",
                    UtilitySpec::Log => "log",
                },
                start,
                count: c.count,
            };
            start += c.count;
            class
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Solving both equilibria (shared by `solve` and the demo)

/// Welfare `Σ_i Σ_t U_i(q_i(t), t) − Σ_t C(Q(t), t)` of any loads (eq. 38).
fn welfare_of(model: &ShapingModel, loads: &Loads, total: &[f64]) -> f64 {
    let customers = model.customers();
    let mut utility = 0.0;
    for i in 0..loads.len() {
        for (t, &q) in loads.customer(i).iter().enumerate() {
            utility += customers.utility_value(i, t, q);
        }
    }
    let cost: f64 = total
        .iter()
        .enumerate()
        .map(|(t, &q)| model.supply().value(t, q))
        .sum();
    utility - cost
}

/// The unshaped preferred loads (each customer's own optimum under the flat price equal to
/// the competitive prices' time average, see `dr_shaping::equilibrium`).
struct UnshapedRef {
    flat_price: f64,
    loads: Loads,
    total: Vec<f64>,
    peak_to_average: f64,
    load_factor: f64,
    welfare: f64,
}

/// What the second path says about the first.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// Both paths Solved and their prices agree within `AGREE_TOL` (relative).
    Agrees,
    /// Both paths Solved and their prices differ: a proven disagreement.
    Disagrees,
    /// The second path did not solve (its status, or its error): no second opinion.
    NotConfirmed(String),
}

/// One of the two solver paths compared with the other.
struct PathCompare {
    max_price_difference: f64,
    /// `max_t |p_N(t) − p_IPM(t)| / P` (`P` the price scale, see `AGREE_TOL`).
    max_relative_price_difference: f64,
    /// The IPM solution's own certificate.
    ipm_certificate: Certificate,
    verdict: Verdict,
}

impl PathCompare {
    fn agree(&self) -> bool {
        self.verdict == Verdict::Agrees
    }
}

enum CrossCheck {
    /// Both equilibria solved a second time by the kernel's IPM.
    Done {
        competitive: PathCompare,
        strategic: PathCompare,
    },
    /// Not run (too large, or turned off).
    Skipped(String),
    /// The IPM returned an error.
    Failed(String),
}

struct Solved {
    model: ShapingModel,
    classes: Vec<Class>,
    ce: Equilibrium,
    ne: Equilibrium,
    /// Best-response gains at the strategic loads (0 at a Nash equilibrium).
    ne_gain: NashGain,
    /// Best-response gains of price-anticipating customers at the competitive loads.
    ce_gain: NashGain,
    unshaped: UnshapedRef,
    cross: CrossCheck,
    /// `N·T + T`, the size of the IPM's problem.
    ipm_variables: usize,
}

fn compare(newton: &Equilibrium, ipm: &Equilibrium) -> PathCompare {
    let (abs, _) = price_difference(&newton.prices, &ipm.prices);
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
    let verdict = if ipm.certificate.status != Status::Solved {
        Verdict::NotConfirmed(format!("second path: {:?}", ipm.certificate.status))
    } else if rel <= AGREE_TOL {
        Verdict::Agrees
    } else {
        Verdict::Disagrees
    };
    PathCompare {
        max_price_difference: abs,
        max_relative_price_difference: rel,
        ipm_certificate: ipm.certificate,
        verdict,
    }
}

/// A certificate as JSON with no `null`: a non-finite residual is written as a string
/// naming it (e.g. `"inf"`).
fn cert_json(c: &Certificate) -> Value {
    let mut v = certificate_json(c);
    if let Value::Object(m) = &mut v {
        for (k, x) in [
            ("primal_infeasibility", c.primal_infeasibility),
            ("stationarity", c.stationarity),
            ("complementarity", c.complementarity),
            ("duality_gap", c.duality_gap),
            ("max_residual", c.max_residual()),
        ] {
            if !x.is_finite() {
                m.insert(k.into(), json!(format!("{x} (not finite)")));
            }
        }
    }
    v
}

/// Removes every `null` from `v` (a number that is not finite, an absent option): the
/// JSON never holds null for a number; the key is omitted instead.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

impl Solved {
    /// Solves both equilibria of `file`; `cross_check`: `None` = automatic (size limit).
    fn new(
        file: &ShapingScenario,
        cross_check: Option<bool>,
        ipm_max_iterations: Option<usize>,
    ) -> Result<Solved, ShapingError> {
        let model = file.to_model()?;
        let ce = competitive_equilibrium(&model)?;
        let ne = strategic_equilibrium(&model)?;
        let ne_gain = nash_gain(&model, &ne.loads)?;
        let ce_gain = nash_gain(&model, &ce.loads)?;
        let flat_price = ce.unshaped.flat_price;
        let loads = unshaped_loads(&model, flat_price)?;
        let total = loads.total();
        let unshaped = UnshapedRef {
            flat_price,
            welfare: welfare_of(&model, &loads, &total),
            peak_to_average: peak_to_average(&total),
            load_factor: load_factor(&total),
            loads,
            total,
        };
        let nt = model.len() * model.periods();
        let ipm_variables = nt + model.periods();
        let run_ipm = cross_check.unwrap_or(nt <= CROSS_CHECK_LIMIT);
        let cross = if run_ipm {
            let mut settings = IpmSettings::default();
            if let Some(k) = ipm_max_iterations {
                settings.max_iterations = k;
            }
            match (
                competitive_equilibrium_ipm(&model, &settings),
                strategic_equilibrium_ipm(&model, &settings),
            ) {
                (Ok(c), Ok(s)) => CrossCheck::Done {
                    competitive: compare(&ce, &c),
                    strategic: compare(&ne, &s),
                },
                (Err(e), _) | (_, Err(e)) => CrossCheck::Failed(e.to_string()),
            }
        } else if cross_check == Some(false) {
            CrossCheck::Skipped("turned off (--set cross_check=false)".into())
        } else {
            CrossCheck::Skipped(format!(
                "N·T = {nt} > {CROSS_CHECK_LIMIT} load variables (force with --set cross_check=true)"
            ))
        };
        Ok(Solved {
            classes: classes(file),
            model,
            ce,
            ne,
            ne_gain,
            ce_gain,
            unshaped,
            cross,
            ipm_variables,
        })
    }

    /// Whether the Nash check passes (nobody gains more than `CHECK_TOL`, relatively).
    fn nash_holds(&self) -> bool {
        self.ne_gain.max_relative_gain <= CHECK_TOL
    }

    // ---- JSON ---------------------------------------------------------------------------

    fn equilibrium_json(&self, eq: &Equilibrium) -> Value {
        let periods = self.model.periods();
        let energy: Vec<f64> = (0..eq.loads.len())
            .map(|i| eq.loads.customer(i).iter().sum())
            .collect();
        let bills: Vec<f64> = (0..eq.loads.len())
            .map(|i| {
                eq.loads
                    .customer(i)
                    .iter()
                    .zip(&eq.prices)
                    .map(|(q, p)| q * p)
                    .sum()
            })
            .collect();
        json!({
            "behaviour": behaviour_name(eq.behaviour),
            "method": format!("{:?}", eq.method).to_lowercase(),
            "periods": periods,
            "prices": eq.prices,
            "loads": eq.loads,
            "total_load": eq.total_load,
            "energy": energy,
            "bills": bills,
            "min_energy_multipliers": eq.min_energy_multipliers,
            "max_energy_multipliers": eq.max_energy_multipliers,
            "utility": eq.utility,
            "supply_cost": eq.supply_cost,
            "welfare": eq.welfare,
            "payments": eq.payments,
            "peak_load": max_of(&eq.total_load),
            "peak_period": argmax(&eq.total_load),
            "peak_to_average": eq.peak_to_average,
            "load_factor": eq.load_factor,
            "unshaped": {
                "flat_price": eq.unshaped.flat_price,
                "total_load": eq.unshaped.total_load,
                "peak_to_average": eq.unshaped.peak_to_average,
                "load_factor": eq.unshaped.load_factor,
            },
            "certificate": cert_json(&eq.certificate),
        })
    }

    fn gain_json(g: &NashGain) -> Value {
        json!({
            "max_gain": g.max_gain,
            "max_relative_gain": g.max_relative_gain,
            "worst_customer": g.worst_customer,
        })
    }

    fn cross_json(&self, pick: impl Fn(&CrossCheck) -> Option<&PathCompare>) -> Value {
        match (&self.cross, pick(&self.cross)) {
            (_, Some(c)) => {
                let mut v = json!({
                    "performed": true,
                    "second_path": "ipm",
                    "variables": self.ipm_variables,
                    "verdict": match &c.verdict {
                        Verdict::Agrees => "agrees",
                        Verdict::Disagrees => "disagrees",
                        Verdict::NotConfirmed(_) => "not confirmed",
                    },
                    "tolerance": AGREE_TOL,
                    "ipm_certificate": cert_json(&c.ipm_certificate),
                });
                if let Value::Object(m) = &mut v {
                    match &c.verdict {
                        Verdict::NotConfirmed(reason) => {
                            m.insert("reason".into(), json!(reason));
                        }
                        _ => {
                            m.insert("agree".into(), json!(c.agree()));
                            for (k, x) in [
                                ("max_price_difference", c.max_price_difference),
                                (
                                    "max_relative_price_difference",
                                    c.max_relative_price_difference,
                                ),
                            ] {
                                m.insert(
                                    k.into(),
                                    if x.is_finite() {
                                        json!(x)
                                    } else {
                                        json!(format!("{x} (not finite)"))
                                    },
                                );
                            }
                        }
                    }
                }
                v
            }
            (CrossCheck::Skipped(reason), None) => json!({
                "performed": false, "variables": self.ipm_variables, "reason": reason,
            }),
            (CrossCheck::Failed(reason), None) => json!({
                "performed": true, "variables": self.ipm_variables,
                "verdict": "not confirmed", "reason": format!("second path: {reason}"),
            }),
            (CrossCheck::Done { .. }, None) => Value::Null,
        }
    }

    fn json(&self, file_name: &str) -> Value {
        let mut top = self.equilibrium_json(&self.ce);
        let mut strategic = self.equilibrium_json(&self.ne);
        if let Value::Object(m) = &mut strategic {
            m.insert("nash_gain".into(), Self::gain_json(&self.ne_gain));
            m.insert("nash_check_holds".into(), json!(self.nash_holds()));
            m.insert(
                "cross_check".into(),
                self.cross_json(|c| match c {
                    CrossCheck::Done { strategic, .. } => Some(strategic),
                    _ => None,
                }),
            );
        }
        let u = &self.unshaped;
        if let Value::Object(m) = &mut top {
            let head = json!({
                "model": "shaping",
                "file": file_name,
                "solved": "competitive equilibrium (chen-li-low-doyle-2010 Theorem 6: the welfare optimum) \
                           and strategic Nash equilibrium (Theorem 7)",
                "customers": self.model.len(),
                "classes": self.classes.iter().map(|c| json!({
                    "name": c.name, "utility": c.utility, "count": c.count,
                    "first_customer": c.start,
                })).collect::<Vec<_>>(),
            });
            if let Value::Object(h) = head {
                for (k, v) in h {
                    m.insert(k, v);
                }
            }
            m.insert(
                "unshaped".into(),
                json!({
                    "definition": "each customer's own optimum under the flat price equal to the \
                                   time average of the competitive prices",
                    "flat_price": u.flat_price,
                    "total_load": u.total,
                    "peak_load": max_of(&u.total),
                    "peak_period": argmax(&u.total),
                    "peak_to_average": u.peak_to_average,
                    "load_factor": u.load_factor,
                    "welfare": u.welfare,
                }),
            );
            m.insert(
                "cross_check".into(),
                self.cross_json(|c| match c {
                    CrossCheck::Done { competitive, .. } => Some(competitive),
                    _ => None,
                }),
            );
            m.insert(
                "nash_gain_at_competitive".into(),
                Self::gain_json(&self.ce_gain),
            );
            m.insert(
                "welfare_loss_strategic".into(),
                json!(self.ce.welfare - self.ne.welfare),
            );
            m.insert("strategic".into(), strategic);
        }
        top
    }

    // ---- text ---------------------------------------------------------------------------

    /// The load-shape comparison users read first.
    fn shape_text(&self) -> String {
        let u = &self.unshaped;
        let mut s = String::new();
        let mut t = Table::new(&[
            "load shape",
            "peak/average",
            "load factor",
            "peak Q",
            "peak hour",
            "energy Σ Q(t)",
            "welfare",
        ]);
        let energy = |v: &[f64]| v.iter().sum::<f64>();
        t.row(vec![
            format!("unshaped (flat p̄ = {})", num(u.flat_price)),
            format!("{:.4}", u.peak_to_average),
            format!("{:.4}", u.load_factor),
            num(max_of(&u.total)),
            argmax(&u.total).to_string(),
            num(energy(&u.total)),
            num(u.welfare),
        ]);
        for (label, eq) in [
            ("competitive (Theorem 6)", &self.ce),
            ("strategic (Theorem 7)", &self.ne),
        ] {
            t.row(vec![
                label.into(),
                format!("{:.4}", eq.peak_to_average),
                format!("{:.4}", eq.load_factor),
                num(max_of(&eq.total_load)),
                argmax(&eq.total_load).to_string(),
                num(energy(&eq.total_load)),
                num(eq.welfare),
            ]);
        }
        s.push_str(&t.render());
        let change = |after: f64| {
            let pct = 100.0 * (after - u.peak_to_average) / u.peak_to_average;
            if after < u.peak_to_average {
                format!("cut it by {:.1}% (to {:.4})", -pct, after)
            } else if after > u.peak_to_average {
                format!("raise it by {:.1}% (to {:.4})", pct, after)
            } else {
                "leave it unchanged".to_string()
            }
        };
        let _ = writeln!(
            s,
            "Against the unshaped peak-to-average ratio {:.4}, time-varying prices {} at the \
             competitive equilibrium\nand {} at the strategic one.",
            u.peak_to_average,
            change(self.ce.peak_to_average),
            change(self.ne.peak_to_average),
        );
        s
    }

    fn periods_table(&self) -> String {
        let mut t = Table::new(&[
            "period t",
            "p(t) comp.",
            "Q(t) comp.",
            "Q(t) unshaped",
            "p(t) strat.",
            "Q(t) strat.",
        ]);
        for p in 0..self.model.periods() {
            t.row(vec![
                p.to_string(),
                num(self.ce.prices[p]),
                num(self.ce.total_load[p]),
                num(self.unshaped.total[p]),
                num(self.ne.prices[p]),
                num(self.ne.total_load[p]),
            ]);
        }
        t.render()
    }

    fn classes_table(&self) -> String {
        let mean = |loads: &Loads, c: &Class, prices: Option<&[f64]>| -> f64 {
            let sum: f64 = (c.start..c.start + c.count)
                .map(|i| match prices {
                    None => loads.customer(i).iter().sum::<f64>(),
                    Some(p) => loads.customer(i).iter().zip(p).map(|(q, p)| q * p).sum(),
                })
                .sum();
            sum / c.count.max(1) as f64
        };
        let mut t = Table::new(&[
            "class",
            "customers",
            "utility",
            "energy unshaped",
            "energy comp.",
            "bill comp.",
            "energy strat.",
            "bill strat.",
        ]);
        for c in &self.classes {
            t.row(vec![
                c.name.clone(),
                c.count.to_string(),
                c.utility.into(),
                num(mean(&self.unshaped.loads, c, None)),
                num(mean(&self.ce.loads, c, None)),
                num(mean(&self.ce.loads, c, Some(&self.ce.prices))),
                num(mean(&self.ne.loads, c, None)),
                num(mean(&self.ne.loads, c, Some(&self.ne.prices))),
            ]);
        }
        t.render()
    }

    fn checks_text(&self) -> String {
        let mut s = String::new();
        let g = &self.ne_gain;
        let _ = writeln!(
            s,
            "Nash check (strategic loads): every customer's exact best response against the \
             others' loads\n  largest gain {:.3e} (relative {:.3e}, customer {}): {}",
            g.max_gain,
            g.max_relative_gain,
            g.worst_customer,
            if self.nash_holds() {
                "nobody gains by deviating"
            } else {
                "NOT a Nash equilibrium within 1e-8"
            }
        );
        let c = &self.ce_gain;
        let _ = writeln!(
            s,
            "  at the competitive loads a price-anticipating customer could gain {:.3e} \
             (relative {:.3e}, customer {}){}",
            c.max_gain,
            c.max_relative_gain,
            c.worst_customer,
            if c.max_relative_gain > CHECK_TOL {
                ": the competitive equilibrium is not a Nash equilibrium"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "  welfare loss of strategic behaviour W_comp − W_strat = {} (≥ 0: Theorem 6)",
            num(self.ce.welfare - self.ne.welfare)
        );
        match &self.cross {
            CrossCheck::Done {
                competitive,
                strategic,
            } => {
                let _ = writeln!(
                    s,
                    "Second solver path: the kernel's interior-point method on the full problem \
                     ({} variables)",
                    self.ipm_variables
                );
                for (label, c) in [("competitive", competitive), ("strategic", strategic)] {
                    let _ = match &c.verdict {
                        Verdict::NotConfirmed(reason) => writeln!(
                            s,
                            "  {label:<11}  IPM status {:?}, residual {:.1e}: not confirmed \
                             ({reason}); the Newton answer stands on its own certificate",
                            c.ipm_certificate.status,
                            c.ipm_certificate.max_residual(),
                        ),
                        v => writeln!(
                            s,
                            "  {label:<11}  max |p_Newton − p_IPM| = {:.3e} (relative to the \
                             price scale {:.3e}, tolerance {AGREE_TOL:e}); IPM status {:?}, \
                             residual {:.1e}: {}",
                            c.max_price_difference,
                            c.max_relative_price_difference,
                            c.ipm_certificate.status,
                            c.ipm_certificate.max_residual(),
                            if *v == Verdict::Agrees {
                                "the two paths agree"
                            } else {
                                "THE TWO PATHS DISAGREE"
                            }
                        ),
                    };
                }
            }
            CrossCheck::Skipped(reason) => {
                let _ = writeln!(s, "Second solver path (IPM): skipped, {reason}");
            }
            CrossCheck::Failed(reason) => {
                let _ = writeln!(
                    s,
                    "Second solver path (IPM): not confirmed (second path: {reason})"
                );
            }
        }
        s
    }

    /// Records every certificate and every printed claim of `solve` (and the demo).
    fn outcome(&self) -> Outcome {
        let mut o = Outcome::default();
        o.certificate("competitive equilibrium", &self.ce.certificate);
        o.certificate("strategic equilibrium", &self.ne.certificate);
        o.claim(
            "Nash check: nobody gains by deviating at the strategic loads",
            self.nash_holds(),
        );
        // "W_comp − W_strat ≥ 0 (Theorem 6)", relative to the welfare's scale.
        let loss = self.ce.welfare - self.ne.welfare;
        let scale = self.ce.utility.abs()
            + self.ce.supply_cost.abs()
            + self.ne.utility.abs()
            + self.ne.supply_cost.abs();
        o.claim(
            "welfare loss of strategic behaviour >= 0 (Theorem 6)",
            loss >= -CHECK_TOL * scale,
        );
        match &self.cross {
            CrossCheck::Done {
                competitive,
                strategic,
            } => {
                for (label, c) in [("competitive", competitive), ("strategic", strategic)] {
                    let what = format!("IPM cross-check of the {label} equilibrium");
                    match &c.verdict {
                        Verdict::Agrees => {}
                        Verdict::Disagrees => o.disagrees(&format!(
                            "{what}: max |p_Newton − p_IPM| = {:.3e} (relative {:.3e} > {AGREE_TOL:e})",
                            c.max_price_difference, c.max_relative_price_difference
                        )),
                        Verdict::NotConfirmed(reason) => o.not_confirmed(&what, reason),
                    }
                }
            }
            CrossCheck::Skipped(_) => {}
            CrossCheck::Failed(reason) => {
                o.not_confirmed("IPM cross-check", &format!("second path: {reason}"))
            }
        }
        o
    }

    /// The worse of the two equilibria's statuses (for the heading).
    fn status(&self) -> Status {
        if self.ce.certificate.status.is_solved() {
            self.ne.certificate.status
        } else {
            self.ce.certificate.status
        }
    }

    fn plots(&self, prefix: &str) -> Vec<Plot> {
        let periods = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter().enumerate().map(|(t, x)| (t as f64, *x)).collect()
        };
        let loads = LineChart::new("Total load Q(t): unshaped and shaped")
            .x_label("period t")
            .y_label("total load Q(t)")
            .dashed_series(
                format!(
                    "unshaped (flat price {}, PAR {:.3})",
                    num(self.unshaped.flat_price),
                    self.unshaped.peak_to_average
                ),
                periods(&self.unshaped.total),
            )
            .series_with_markers(
                format!("competitive (PAR {:.3})", self.ce.peak_to_average),
                periods(&self.ce.total_load),
            )
            .series_with_markers(
                format!("strategic (PAR {:.3})", self.ne.peak_to_average),
                periods(&self.ne.total_load),
            );
        let n = self.model.periods() as f64;
        let prices = LineChart::new("Prices p(t) = C'(Q(t), t)")
            .x_label("period t")
            .y_label("price p(t)")
            .series_with_markers("competitive", periods(&self.ce.prices))
            .series_with_markers("strategic", periods(&self.ne.prices))
            .dashed_series(
                "flat price p̄ (unshaped)",
                [
                    (0.0, self.unshaped.flat_price),
                    ((n - 1.0).max(1.0), self.unshaped.flat_price),
                ],
            );
        vec![
            Plot::new(format!("{prefix}-loads"), &loads),
            Plot::new(format!("{prefix}-prices"), &prices),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// dr solve

fn solve(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params
        .allow_only("shaping solve", &["cross_check", "ipm_max_iterations"])?;
    let cross_check: Option<bool> = opts.params.get("cross_check")?;
    // The second path's iteration limit (default the kernel's): a small one shows what a
    // failed second opinion looks like ("not confirmed", exit 5).
    let ipm_max_iterations: Option<usize> = opts.params.get("ipm_max_iterations")?;
    if ipm_max_iterations == Some(0) {
        return Err(CliError::model(
            s.name(),
            ModelKind::Shaping,
            "--set ipm_max_iterations=0: must be >= 1".to_string(),
        ));
    }
    let file: ShapingScenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let solved =
        Solved::new(&file, cross_check, ipm_max_iterations).map_err(model_err(s.name()))?;
    let mut json = solved.json(s.name());
    strip_nulls(&mut json);
    let model = &solved.model;

    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: demand shaping on {} ({PAPER} §IV): {} in {} over T = {},\n\
         supply cost C(Q, t) = ½ c_t Q² + e_t Q, prices p(t) = C'(Q(t), t) (eq. 30).\n\
         competitive: price-taking customers; the welfare optimum (Theorem 6).\n\
         strategic:   customers who anticipate C'(Q(t), t); the Nash equilibrium (Theorem 7).\n",
        heading_word(solved.status()),
        s.name(),
        plural(model.len(), "customer", "customers"),
        plural(solved.classes.len(), "class", "classes"),
        plural(model.periods(), "period", "periods"),
    );
    text.push_str(&solved.shape_text());
    let _ = writeln!(
        text,
        "(unshaped: each customer's own optimum at the flat price p̄ = the average competitive \
         price)\n"
    );
    let _ = writeln!(text, "Prices and total loads per period:");
    text.push_str(&solved.periods_table());
    let _ = writeln!(text, "\nClasses (per customer, averaged over the class):");
    text.push_str(&solved.classes_table());
    text.push('\n');
    for (label, eq) in [
        ("Competitive equilibrium", &solved.ce),
        ("Strategic equilibrium", &solved.ne),
    ] {
        let _ = write!(text, "{label} ");
        text.push_str(&certificate_text(&eq.certificate));
    }
    text.push('\n');
    text.push_str(&solved.checks_text());
    let plots = if opts.wants_plots() {
        solved.plots("shaping-solve")
    } else {
        Vec::new()
    };
    Ok(Output {
        body: None,
        json,
        text,
        plots,
        outcome: solved.outcome(),
    })
}

// ---------------------------------------------------------------------------------------
// dr simulate

/// The settings of the run: the file's `[simulation]` table, overridden by the flags.
fn simulation_settings(
    s: &Scenario,
    opts: &Options,
    file: &ShapingScenario,
) -> Result<(SimulationSettings, Vec<Behaviour>), CliError> {
    let err = model_err(s.name());
    let bad = |message: String| CliError::model(s.name(), ModelKind::Shaping, message);
    if let Some(d) = opts.sim.delta {
        return Err(bad(format!(
            "--delta {d}: δ belongs to the stackelberg price update; the shaping schemes take \
             --step γ (paper rule) or --rule fast"
        )));
    }
    if let Some(p) = opts.sim.start_price {
        return Err(bad(format!(
            "--start-price {p}: the shaping gradient scheme starts from loads (Q_i / T in every \
             period), not from a price"
        )));
    }
    let mut settings = file.simulation_settings().map_err(&err)?;
    match opts.sim.rule {
        Some(RuleChoice::Fixed) => settings.scheme = Scheme::Gradient,
        Some(RuleChoice::Fast) => settings.scheme = Scheme::Newton,
        None => {}
    }
    if let Some(step) = opts.sim.step {
        if settings.scheme == Scheme::Newton {
            return Err(bad(format!(
                "--step {step}: the fast rule (price Newton) takes no step; use --rule paper for \
                 the gradient scheme of eqs. 41–42"
            )));
        }
        settings.step = Some(step);
    }
    if let Some(r) = opts.sim.rounds {
        settings.max_rounds = r;
    }
    if let Some(t) = opts.sim.tolerance {
        settings.tolerance = t;
    }
    if let Some(k) = opts.params.get::<usize>("record_loads")? {
        settings.record_loads = k;
    }
    settings.validate().map_err(|e| {
        bad(format!(
            "{e} (from --step / --rounds / --tolerance or [simulation])"
        ))
    })?;
    let behaviours = match opts.sim.equilibrium {
        Some(EquilibriumChoice::Competitive) => vec![Behaviour::Competitive],
        Some(EquilibriumChoice::Nash) => vec![Behaviour::Strategic],
        Some(EquilibriumChoice::Both) => vec![Behaviour::Competitive, Behaviour::Strategic],
        None => vec![settings.behaviour],
    };
    Ok((settings, behaviours))
}

/// The step of the gradient scheme: the given one, else `1/L` (half the critical step), as
/// `dr_shaping::simulate` chooses it.
fn default_step(model: &ShapingModel, behaviour: Behaviour, given: Option<f64>) -> f64 {
    given
        .or_else(|| critical_step(model, behaviour).map(|c| 0.5 * c))
        .unwrap_or(1e-3)
}

/// Runs one scheme; the gradient one with the kernel executor and the progress bar as an
/// observer.
fn run_scheme(
    model: &ShapingModel,
    behaviour: Behaviour,
    settings: &SimulationSettings,
    opts: &Options,
) -> Result<SimulationRun, ShapingError> {
    let settings = SimulationSettings {
        behaviour,
        ..settings.clone()
    };
    match settings.scheme {
        Scheme::Gradient => {
            let step = default_step(model, behaviour, settings.step);
            let scheme = GradientScheme::new(model, behaviour, step, &settings)?;
            let algorithm = format!("shaping gradient {}", behaviour_name(behaviour));
            let mut bar = opts.watch(
                settings.max_rounds as u64,
                &format!("eq. {} rounds", scheme_equation(behaviour)),
                |_: usize, r: &dr_shaping::Round, _: &GradientScheme<'_>| {
                    round_report(&algorithm, r)
                },
            );
            Ok(scheme.executor().observe(&mut bar).run().into())
        }
        Scheme::Newton => {
            let algorithm = format!("shaping newton {}", behaviour_name(behaviour));
            simulate_observed(model, &settings, &mut |r: &dr_shaping::Round| {
                opts.rounds.report(|| round_report(&algorithm, r))
            })
        }
    }
}

/// A round of either scheme for a library caller's round observer
/// (`crate::command::run_observed`).
fn round_report(algorithm: &str, r: &dr_shaping::Round) -> RoundReport {
    let mut scalars = vec![("residual", r.residual)];
    if let Some(w) = r.welfare {
        scalars.push(("welfare", w));
    }
    RoundReport {
        algorithm: algorithm.to_string(),
        round: r.round,
        scalars,
        vectors: vec![
            ("prices", r.prices.clone()),
            ("total_load", r.total_load.clone()),
        ],
    }
}

fn scheme_equation(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Competitive => "41–42",
        Behaviour::Strategic => "48",
    }
}

/// One simulated behaviour: the run and the exact equilibrium it should reach.
struct Simulated {
    behaviour: Behaviour,
    run: SimulationRun,
    exact: Equilibrium,
}

impl Simulated {
    fn converged(&self) -> bool {
        self.run.termination == Termination::Converged
    }

    fn json(&self, settings: &SimulationSettings) -> Value {
        let run = &self.run;
        let (abs, rel) = price_difference(&run.prices, &self.exact.prices);
        let rule = match run.scheme {
            Scheme::Gradient => "paper",
            Scheme::Newton => "fast",
        };
        json!({
            "behaviour": behaviour_name(self.behaviour),
            "scheme": match run.scheme { Scheme::Gradient => "gradient", Scheme::Newton => "newton" },
            "rule": rule,
            "equations": match (run.scheme, self.behaviour) {
                (Scheme::Gradient, Behaviour::Competitive) => "chen-li-low-doyle-2010 eqs. 41-42",
                (Scheme::Gradient, Behaviour::Strategic) => "chen-li-low-doyle-2010 eq. 48",
                (Scheme::Newton, _) => "price Newton with exact customer responses",
            },
            "step": run.step,
            "critical_step": run.critical_step,
            "step_over_critical": match (run.step, run.critical_step) {
                (Some(s), Some(c)) => Some(s / c),
                _ => None,
            },
            "max_rounds": settings.max_rounds,
            "tolerance": settings.tolerance,
            "termination": termination_name(run.termination),
            "converged": self.converged(),
            "converged_after": self.converged().then_some(run.rounds),
            "rounds_run": run.rounds,
            "messages": run.messages,
            "residual": run.residual,
            "prices": run.prices,
            "total_load": run.total_load,
            "peak_to_average": peak_to_average(&run.total_load),
            "load_factor": load_factor(&run.total_load),
            "equilibrium_prices": self.exact.prices,
            "equilibrium_total_load": self.exact.total_load,
            "equilibrium_peak_to_average": self.exact.peak_to_average,
            "max_price_difference": abs,
            "max_relative_price_difference": rel,
            "equilibrium_certificate": cert_json(&self.exact.certificate),
            "rounds": run.trace,
        })
    }

    fn termination_text(&self, tolerance: f64) -> String {
        let run = &self.run;
        let step_hint = match (run.step, run.critical_step) {
            (Some(s), Some(c)) if s > c => format!(
                " The step γ = {} is above the critical step 2/L = {}: rerun with --step below it.",
                num(s),
                num(c)
            ),
            (Some(_), _) => " Try a smaller --step or more --rounds.".to_string(),
            (None, _) => String::new(),
        };
        match run.termination {
            Termination::Converged => format!(
                "converged after {} (residual {:.1e} ≤ tolerance {tolerance:e})",
                rounds(run.rounds),
                run.residual,
            ),
            Termination::Oscillating => format!(
                "DID NOT CONVERGE: the iterates oscillate without approaching the \
                 equilibrium (stopped after {}, residual {:.1e}).{step_hint}",
                rounds(run.rounds),
                run.residual
            ),
            Termination::Diverged => format!(
                "DID NOT CONVERGE: the iterates diverged (stopped after {}, residual {:.1e}).\
                 {step_hint}",
                rounds(run.rounds),
                run.residual
            ),
            Termination::MaxRounds => format!(
                "DID NOT CONVERGE within the round limit ({}; residual {:.1e} > tolerance \
                 {tolerance:e}).{step_hint}",
                rounds(run.rounds),
                run.residual,
            ),
            Termination::Stalled => format!(
                "DID NOT CONVERGE: the price Newton stalled after {} (residual {:.1e}).",
                rounds(run.rounds),
                run.residual
            ),
            other => format!(
                "DID NOT CONVERGE: the run ended ({other}) after {} (residual {:.1e}).",
                rounds(run.rounds),
                run.residual
            ),
        }
    }

    fn text(
        &self,
        file: &str,
        model: &ShapingModel,
        settings: &SimulationSettings,
        every: Option<usize>,
    ) -> String {
        let run = &self.run;
        let b = self.behaviour;
        let mut text = String::new();
        // The heading names the termination: "Simulated" only for a converged run.
        let heading = if self.converged() {
            "Simulated".to_string()
        } else {
            format!(
                "NOT CONVERGED ({})",
                termination_name(run.termination).replace('_', " ")
            )
        };
        match run.scheme {
            Scheme::Gradient => {
                let update = match b {
                    Behaviour::Competitive => {
                        "q_i ← [q_i + γ (U_i'(q_i(t), t) − p(t))]_{S_i}  (eq. 42)"
                    }
                    Behaviour::Strategic => {
                        "q_i ← [q_i + γ (U_i'(q_i(t), t) − p(t) − q_i(t) C''(Q(t), t))]_{S_i}  (eq. 48)"
                    }
                };
                let _ = writeln!(
                    text,
                    "{heading}: the distributed gradient scheme of {PAPER} ({} customers) on {file}:\n\
                     {} × {}. Each round the utility announces p(t) = C'(Q(t), t) (eq. 41){}, and\n\
                     every customer projects a gradient step onto S_i = {{q ≥ 0, Q_i ≤ Σ_t q(t) ≤ Q̄_i}}:\n  {update}\n",
                    behaviour_name(b),
                    plural(model.len(), "customer", "customers"),
                    plural(model.periods(), "period", "periods"),
                    if b == Behaviour::Strategic {
                        " and C''(Q(t), t)"
                    } else {
                        ""
                    },
                );
            }
            Scheme::Newton => {
                let _ = writeln!(
                    text,
                    "{heading}: the fast price-Newton scheme ({} customers) on {file}:\n\
                     {} × {}. Each round the utility announces a price profile, every customer\n\
                     replies with its exact optimal loads and their slopes, and the utility takes a\n\
                     safeguarded Newton step towards p(t) = C'(Q(t), t). Rounds are price\n\
                     announcements (rejected trials included).\n",
                    behaviour_name(b),
                    plural(model.len(), "customer", "customers"),
                    plural(model.periods(), "period", "periods"),
                );
            }
        }
        if let Some(step) = run.step {
            let critical = match run.critical_step {
                Some(c) => format!(
                    "critical step 2/L = {} (γ/critical = {:.3}; a sufficient bound: L ≥ max_t \
                     (max_i −U_i'' + {}·C''))",
                    num(c),
                    step / c,
                    if b == Behaviour::Strategic {
                        "(N+1)"
                    } else {
                        "N"
                    }
                ),
                None => "no critical step known (user-supplied utilities)".to_string(),
            };
            let note = match run.critical_step {
                Some(c) if step > c => "  (above the critical step: convergence is not guaranteed)",
                Some(_) => "  (below the critical step: projected gradient converges)",
                None => "",
            };
            let _ = writeln!(text, "  step γ           {}{note}", num(step));
            let _ = writeln!(text, "                   {critical}");
        }
        let _ = writeln!(
            text,
            "  termination      {}",
            self.termination_text(settings.tolerance)
        );
        let (abs, rel) = price_difference(&run.prices, &self.exact.prices);
        let _ = writeln!(
            text,
            "  prices           max |p − p̄| = {:.3e} (relative {:.3e}) against the exact {} \
             equilibrium of `dr solve`",
            abs,
            rel,
            behaviour_name(b)
        );
        let _ = writeln!(
            text,
            "  peak/average     {:.4} at the last round (equilibrium {:.4})",
            peak_to_average(&run.total_load),
            self.exact.peak_to_average
        );
        let _ = writeln!(text, "  messages         {} scalars\n", run.messages);
        // The trace: residual, price error, and the prices of the dearest and cheapest
        // equilibrium periods.
        let hi = argmax(&self.exact.prices);
        let lo = argmin(&self.exact.prices);
        let hi_label = format!("p({hi})");
        let lo_label = format!("p({lo})");
        let peak_label = format!("Q({hi})");
        let mut header = vec!["round", "residual", "max |p − p̄|", &hi_label, &lo_label];
        header.push(&peak_label);
        let mut table = Table::new(&header);
        let len = run.trace.len();
        let every = every.unwrap_or_else(|| len.div_ceil(20)).max(1);
        for (k, r) in run.trace.iter().enumerate() {
            if k % every != 0 && k + 1 != len {
                continue;
            }
            let (d, _) = price_difference(&r.prices, &self.exact.prices);
            table.row(vec![
                r.round.to_string(),
                format!("{:.3e}", r.residual),
                format!("{d:.3e}"),
                num(r.prices.get(hi).copied().unwrap_or(f64::NAN)),
                num(r.prices.get(lo).copied().unwrap_or(f64::NAN)),
                num(r.total_load.get(hi).copied().unwrap_or(f64::NAN)),
            ]);
        }
        table.row(vec![
            "p̄ (solve)".into(),
            String::new(),
            String::new(),
            num(self.exact.prices[hi]),
            num(self.exact.prices[lo]),
            num(self.exact.total_load[hi]),
        ]);
        let _ = writeln!(
            text,
            "Trace (every {}, and the last; all rounds with --json):",
            rounds(every)
        );
        text.push_str(&table.render());
        text
    }

    fn plots(&self) -> Vec<Plot> {
        let run = &self.run;
        let name = behaviour_name(self.behaviour);
        let label = match (run.scheme, run.step) {
            (Scheme::Gradient, Some(s)) => format!("gradient, γ = {}", num(s)),
            _ => "price Newton".to_string(),
        };
        let residual = LineChart::new(format!("Convergence of the {name} scheme ({label})"))
            .x_label("round")
            .y_label("residual")
            .log_y(true)
            .series(
                label.clone(),
                run.trace.iter().map(|r| (r.round as f64, r.residual)),
            );
        let hi = argmax(&self.exact.prices);
        let lo = argmin(&self.exact.prices);
        let last = run.trace.last().map_or(1.0, |r| (r.round as f64).max(1.0));
        let mut prices = LineChart::new(format!("Announced prices per round ({label})"))
            .x_label("round")
            .y_label("price p(t)");
        for t in [hi, lo] {
            prices = prices.series(
                format!("p({t})"),
                run.trace
                    .iter()
                    .map(|r| (r.round as f64, r.prices.get(t).copied().unwrap_or(f64::NAN))),
            );
        }
        prices = prices.dashed_series(
            "equilibrium (dr solve)",
            [
                (0.0, self.exact.prices[hi]),
                (last, self.exact.prices[hi]),
                (f64::NAN, f64::NAN),
                (0.0, self.exact.prices[lo]),
                (last, self.exact.prices[lo]),
            ],
        );
        let periods = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter().enumerate().map(|(t, x)| (t as f64, *x)).collect()
        };
        let profile = LineChart::new(format!(
            "Prices over the periods after {}",
            rounds(run.rounds)
        ))
        .x_label("period t")
        .y_label("price p(t)")
        .series_with_markers("last round", periods(&run.prices))
        .dashed_series("equilibrium (dr solve)", periods(&self.exact.prices));
        vec![
            Plot::new(format!("shaping-simulate-{name}-residual"), &residual),
            Plot::new(format!("shaping-simulate-{name}-prices"), &prices),
            Plot::new(format!("shaping-simulate-{name}-profile"), &profile),
        ]
    }
}

fn simulate(s: &Scenario, opts: &Options) -> Result<Output, CliError> {
    opts.params
        .allow_only("shaping simulate", &["record_loads"])?;
    let file: ShapingScenario = s.parse()?;
    check_memory(opts, s.name(), file.memory_estimate())?;
    let err = model_err(s.name());
    let (settings, behaviours) = simulation_settings(s, opts, &file)?;
    // The round limit of the flags may exceed the file's: estimate with the one used.
    let mut sized = file.clone();
    sized.simulation = Some(settings.clone());
    check_memory(opts, s.name(), sized.memory_estimate())?;
    let model = file.to_model().map_err(&err)?;
    let mut runs = Vec::with_capacity(behaviours.len());
    for &behaviour in &behaviours {
        let exact = match behaviour {
            Behaviour::Competitive => competitive_equilibrium(&model),
            Behaviour::Strategic => strategic_equilibrium(&model),
        }
        .map_err(&err)?;
        let run = run_scheme(&model, behaviour, &settings, opts).map_err(&err)?;
        runs.push(Simulated {
            behaviour,
            run,
            exact,
        });
    }
    let mut text = String::new();
    let mut plots = Vec::new();
    let mut outcome = Outcome::default();
    for r in &runs {
        let name = behaviour_name(r.behaviour);
        outcome.certificate(
            &format!("exact {name} equilibrium (the reference)"),
            &r.exact.certificate,
        );
        outcome.converged(
            &format!("{name} simulation"),
            r.converged(),
            &format!(
                "{} after {}",
                termination_name(r.run.termination),
                rounds(r.run.rounds)
            ),
        );
    }
    for (k, r) in runs.iter().enumerate() {
        if k > 0 {
            text.push('\n');
        }
        text.push_str(&r.text(s.name(), &model, &settings, opts.sim.every));
        if opts.wants_plots() {
            plots.extend(r.plots());
        }
    }
    let mut json = match runs.first() {
        Some(r) => r.json(&settings),
        None => json!({}),
    };
    if let Value::Object(m) = &mut json {
        m.insert("model".into(), json!("shaping"));
        m.insert("file".into(), json!(s.name()));
        m.insert(
            "simulated".into(),
            json!("distributed demand shaping (chen-li-low-doyle-2010 §IV-B/C)"),
        );
        if let Some(r) = runs.get(1) {
            m.insert(behaviour_name(r.behaviour).into(), r.json(&settings));
        }
    }
    strip_nulls(&mut json);
    Ok(Output {
        body: None,
        json,
        text,
        plots,
        outcome,
    })
}

// ---------------------------------------------------------------------------------------
// dr demo

/// The bundled day: both equilibria, load shape before and after, certificates, Nash gain,
/// the second solver path and the fast distributed scheme, each printed claim checked
/// independently (a failed one is an error, exit 3).
fn demo_day(opts: &Options) -> Result<Output, CliError> {
    let context = format!("shaping demo ({DAY_NAME})");
    let scenario = Scenario::from_named_text(DAY.to_string(), Format::Toml, DAY_NAME.to_string())?;
    let file: ShapingScenario = scenario.parse()?;
    let err = model_err(DAY_NAME);
    let solved = Solved::new(&file, Some(true), None).map_err(&err)?;
    let model = &solved.model;
    let (ce, ne, u) = (&solved.ce, &solved.ne, &solved.unshaped);
    let periods = model.periods();

    let mut failures: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    // The supply cost's coefficients straight from the file (not from the model).
    let c = file
        .supply
        .curvature
        .expand("supply.curvature", periods)
        .map_err(&err)?;
    let e = match &file.supply.linear {
        Some(l) => l.expand("supply.linear", periods).map_err(&err)?,
        None => vec![0.0; periods],
    };
    // Q(t) = Σ_i q_i(t) summed here, and p(t) = C'(Q(t), t) = c_t Q(t) + e_t (eq. 30),
    // prices positive, for both equilibria.
    let mut totals = Vec::new();
    for eq in [ce, ne] {
        let mut q = vec![0.0; periods];
        for i in 0..eq.loads.len() {
            for (t, x) in eq.loads.customer(i).iter().enumerate() {
                q[t] += x;
            }
        }
        let name = behaviour_name(eq.behaviour);
        for t in 0..periods {
            check(
                (q[t] - eq.total_load[t]).abs() <= 1e-9 * q[t].abs(),
                format!(
                    "{name}: Σ_i q_i({t}) = {} ≠ Q({t}) = {}",
                    q[t], eq.total_load[t]
                ),
            );
            let marginal = c[t] * q[t] + e[t];
            check(
                eq.prices[t] > 0.0,
                format!("{name}: p({t}) = {} is not positive", eq.prices[t]),
            );
            check(
                (marginal - eq.prices[t]).abs() <= 1e-9 * marginal.abs(),
                format!(
                    "{name}: p({t}) = {} ≠ c_t Q(t) + e_t = {marginal}",
                    eq.prices[t]
                ),
            );
        }
        totals.push(q);
    }
    // Peak-to-average ratios and load factors recomputed from the loads: max / mean.
    let par = |q: &[f64]| max_of(q) * q.len() as f64 / q.iter().sum::<f64>();
    let mut q_unshaped = vec![0.0; periods];
    for i in 0..u.loads.len() {
        for (t, x) in u.loads.customer(i).iter().enumerate() {
            q_unshaped[t] += x;
        }
    }
    let par_u = par(&q_unshaped);
    let par_ce = par(&totals[0]);
    let par_ne = par(&totals[1]);
    for (name, mine, theirs, lf) in [
        ("unshaped", par_u, u.peak_to_average, u.load_factor),
        ("competitive", par_ce, ce.peak_to_average, ce.load_factor),
        ("strategic", par_ne, ne.peak_to_average, ne.load_factor),
    ] {
        check(
            (mine - theirs).abs() <= 1e-9 * mine,
            format!("{name}: peak/average {theirs} ≠ recomputed {mine}"),
        );
        check(
            (lf * mine - 1.0).abs() <= 1e-9,
            format!("{name}: load factor {lf} ≠ 1 / {mine}"),
        );
    }
    // The unshaped reference is at the average competitive price.
    let mean_price = ce.prices.iter().sum::<f64>() / periods as f64;
    check(
        (mean_price - u.flat_price).abs() <= 1e-12 * mean_price,
        format!("flat price {} ≠ mean price {mean_price}", u.flat_price),
    );
    // This day's claim: shaping flattens the load (the supply cost is steepest in the
    // evening, where the preferred loads peak).
    check(
        par_ce < par_u && par_ne < par_u,
        format!(
            "peak/average not reduced: unshaped {par_u}, competitive {par_ce}, strategic {par_ne}"
        ),
    );
    // Certificates.
    for eq in [ce, ne] {
        check(
            eq.certificate.holds(CHECK_TOL),
            format!(
                "{} certificate does not hold: {:?}",
                behaviour_name(eq.behaviour),
                eq.certificate
            ),
        );
    }
    // Nash: nobody gains at the strategic loads; somebody would at the competitive ones.
    check(
        solved.nash_holds(),
        format!(
            "strategic loads: customer {} gains {} (relative {}) by deviating",
            solved.ne_gain.worst_customer,
            solved.ne_gain.max_gain,
            solved.ne_gain.max_relative_gain
        ),
    );
    check(
        solved.ce_gain.max_relative_gain > CHECK_TOL,
        format!(
            "competitive loads: no price-anticipating customer gains ({})",
            solved.ce_gain.max_relative_gain
        ),
    );
    // Theorem 6: the competitive equilibrium maximises welfare, so it beats both the
    // strategic and the unshaped loads; welfare recomputed here from the loads.
    let w_ce = welfare_of(model, &ce.loads, &totals[0]);
    let w_ne = welfare_of(model, &ne.loads, &totals[1]);
    check(
        (w_ce - ce.welfare).abs() <= 1e-9 * (ce.utility.abs() + ce.supply_cost.abs()),
        format!("competitive welfare {} ≠ recomputed {w_ce}", ce.welfare),
    );
    check(
        w_ce >= w_ne && w_ce >= u.welfare,
        format!(
            "welfare: competitive {w_ce} is not the largest (strategic {w_ne}, unshaped {})",
            u.welfare
        ),
    );
    // The second solver path agrees.
    match &solved.cross {
        CrossCheck::Done {
            competitive,
            strategic,
        } => {
            for (name, cmp) in [("competitive", competitive), ("strategic", strategic)] {
                check(
                    cmp.agree(),
                    format!(
                        "{name}: Newton and IPM prices differ by {}",
                        cmp.max_price_difference
                    ),
                );
            }
        }
        CrossCheck::Skipped(r) | CrossCheck::Failed(r) => {
            check(false, format!("IPM cross-check: {r}"));
        }
    }
    // The fast distributed scheme reaches the same prices.
    let fast = run_newton_scheme(
        model,
        &SimulationSettings {
            scheme: Scheme::Newton,
            ..SimulationSettings::default()
        },
    )
    .map_err(&err)?;
    let (fast_diff, _) = price_difference(&fast.prices, &ce.prices);
    check(
        fast.termination == Termination::Converged && fast_diff <= 1e-9,
        format!(
            "fast scheme: {:?} after {} rounds, price difference {fast_diff}",
            fast.termination, fast.rounds
        ),
    );
    if !failures.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "{context}: {}",
            failures.join("; ")
        )));
    }

    let (ipm_ce, ipm_ne) = match &solved.cross {
        CrossCheck::Done {
            competitive,
            strategic,
        } => (
            competitive.max_price_difference,
            strategic.max_price_difference,
        ),
        _ => (f64::NAN, f64::NAN),
    };
    let hi = argmax(&ce.prices);
    let lo = argmin(&ce.prices);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {DAY_NAME}, {} customers in {} classes (households, offices, electric vehicles,\n\
         water heaters) over 24 hours, supply cost C(Q, t) = ½ c_t Q² + e_t Q steepest in the\n\
         evening. Competitive equilibrium = the welfare optimum (Theorem 6); strategic = the Nash\n\
         equilibrium of customers who anticipate the price (Theorem 7). (Same as `dr solve {DAY_NAME}`.)\n",
        heading_word(solved.status()),
        model.len(),
        solved.classes.len()
    );
    let lines: [(&str, String, String); 9] = [
        (
            "peak/average unshaped",
            format!("{par_u:.4} (load factor {:.4})", 1.0 / par_u),
            format!(
                "flat price p̄ = {} (mean competitive price)",
                num(u.flat_price)
            ),
        ),
        (
            "peak/average competitive",
            format!("{par_ce:.4} (load factor {:.4})", 1.0 / par_ce),
            format!(
                "max/mean of Σ_i q_i(t); {:.1}% below unshaped",
                100.0 * (1.0 - par_ce / par_u)
            ),
        ),
        (
            "peak/average strategic",
            format!("{par_ne:.4} (load factor {:.4})", 1.0 / par_ne),
            format!("{:.1}% below unshaped", 100.0 * (1.0 - par_ne / par_u)),
        ),
        (
            "competitive prices",
            format!(
                "{} (hour {lo}) to {} (hour {hi})",
                num(ce.prices[lo]),
                num(ce.prices[hi])
            ),
            "every p(t) > 0 and = c_t Q(t) + e_t by hand (eq. 30)".into(),
        ),
        (
            "welfare comp. / strat. / unshaped",
            format!("{} / {} / {}", num(w_ce), num(w_ne), num(u.welfare)),
            "competitive is the largest (Theorem 6)".into(),
        ),
        (
            "certificates",
            format!(
                "{:.1e} / {:.1e}",
                ce.certificate.max_residual(),
                ne.certificate.max_residual()
            ),
            "competitive / strategic KKT residuals ≤ 1e-8, status Solved".into(),
        ),
        (
            "Nash gain (strategic loads)",
            format!("{:.1e}", solved.ne_gain.max_relative_gain),
            "largest exact best-response gain (relative) ≤ 1e-8".into(),
        ),
        (
            "Nash gain (competitive loads)",
            format!("{:.1e}", solved.ce_gain.max_relative_gain),
            "> 1e-8: price-taking loads are not a Nash equilibrium".into(),
        ),
        (
            "Newton vs IPM / fast scheme",
            format!("{ipm_ce:.1e}, {ipm_ne:.1e} / {fast_diff:.1e}"),
            format!(
                "max price differences; the fast scheme converged in {}",
                rounds(fast.rounds)
            ),
        ),
    ];
    let _ = writeln!(text, "  {:<33}  {:<42}  checked", "", "");
    for (what, value, claim) in &lines {
        let _ = writeln!(text, "  {what:<33}  {value:<42}  {claim}");
    }
    text.push('\n');
    let _ = write!(text, "Competitive equilibrium ");
    text.push_str(&certificate_text(&ce.certificate));
    let _ = writeln!(text, "\nPrices and total loads per hour:");
    text.push_str(&solved.periods_table());
    let mut json = solved.json(DAY_NAME);
    if let Value::Object(m) = &mut json {
        m.insert("scenario".into(), json!(DAY_NAME));
        m.insert(
            "fast_scheme".into(),
            json!({"rounds": fast.rounds, "max_price_difference": fast_diff}),
        );
        m.insert(
            "claims_checked".into(),
            json!([
                "sum_i q_i(t) = Q(t) and p(t) = c_t Q(t) + e_t > 0 (both equilibria)",
                "peak/average = max/mean and load factor = 1/(peak/average), recomputed",
                "shaped peak/average below unshaped (competitive and strategic)",
                "certificates hold (1e-8)",
                "max relative Nash gain <= 1e-8 at the strategic loads, > 1e-8 at the competitive ones",
                "competitive welfare >= strategic and unshaped welfare (Theorem 6)",
                "Newton and IPM prices agree (1e-6), fast scheme converges to the same prices",
            ]),
        );
    }
    let plots = if opts.wants_plots() {
        solved.plots("shaping-day")
    } else {
        Vec::new()
    };
    strip_nulls(&mut json);
    Ok(Output {
        body: None,
        json,
        text,
        plots,
        outcome: solved.outcome(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_section_passes_its_own_checks() {
        let opts = Options {
            plot_dir: Some("unused".into()),
            ..Options::default()
        };
        let out = demo_day(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.json["certificate"]["status"], "Solved");
        assert_eq!(out.json["strategic"]["certificate"]["status"], "Solved");
        assert_eq!(out.plots.len(), 2);
    }
}
