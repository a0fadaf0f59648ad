//! `dr demo`: a list of sections, each solving a bundled example and saying what it
//! solved. The kernel contributes the sections below; each model module adds its own
//! through `COMMANDS.demo` (see [`super::models`]).

use super::error::CliError;
use super::models;
use super::output::{certificate_text, heading_word, num, Draft, Options, Output, Table};
use demand_response::plot::{BarChart, LineChart, Plot};
use demand_response::scenario::ModelKind;
use dr_convex::CertificateReport;
use dr_convex::{allocate, project_box_sum, AllocatorSettings, Bound, Family, QuadraticFamily};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::fmt::Write as _;

/// The JSON of the kernel's supply-function section (li-chen-dahleh-2015 Theorem 1).
#[derive(Debug, Serialize)]
struct SupplyFunctionDemo {
    solved: &'static str,
    customers: usize,
    deficit: f64,
    seed: u64,
    /// p̄, the multiplier of Σ q = d.
    price: f64,
    active_customers: usize,
    total_cost: f64,
    /// The price from the closed form on the active set.
    closed_form_price: f64,
    certificate: CertificateReport,
    population: Vec<DemoCustomer>,
}

/// One customer of [`SupplyFunctionDemo`]: C(q) = a q + h q², load q̄, bid q̄ / p̄, profit.
#[derive(Debug, Serialize)]
struct DemoCustomer {
    a: f64,
    h: f64,
    load: f64,
    bid: f64,
    profit: f64,
}

/// The JSON of the kernel's projection section (chen-li-low-doyle-2010 eq. 42).
#[derive(Debug, Serialize)]
struct ProjectionDemo {
    solved: &'static str,
    /// The gradient step being projected.
    v: Vec<f64>,
    sum_lower: f64,
    sum_upper: f64,
    projection: Vec<f64>,
    multiplier: f64,
    certificate: CertificateReport,
}

/// One section of `dr demo`.
pub(crate) struct DemoSection {
    /// Short identifier (also the prefix of its plot files), e.g. `kernel-equilibrium`.
    pub name: &'static str,
    /// Heading printed above the section.
    pub title: &'static str,
    /// Solves the example; the text says what was solved and shows the certificate.
    pub run: fn(&Options) -> Result<Output, CliError>,
}

/// The kernel's sections, shown before the models' own.
const KERNEL_SECTIONS: &[DemoSection] = &[
    DemoSection {
        name: "kernel-equilibrium",
        title: "Kernel: competitive equilibrium of a supply-function market",
        run: supply_function_equilibrium,
    },
    DemoSection {
        name: "kernel-projection",
        title: "Kernel: projection onto a customer's feasible set",
        run: shaping_projection,
    },
];

/// Every section, kernel first, then the wired models in [`ModelKind::ALL`] order.
pub(crate) fn sections() -> Vec<&'static DemoSection> {
    KERNEL_SECTIONS
        .iter()
        .chain(
            ModelKind::ALL
                .into_iter()
                .filter_map(models::commands)
                .flat_map(|c| c.demo.iter()),
        )
        .collect()
}

/// Runs every section and joins their outputs.
pub(crate) fn run(opts: &Options) -> Result<Output, CliError> {
    let available = models::available();
    let missing: Vec<&str> = ModelKind::ALL
        .into_iter()
        .filter(|m| !available.contains(m))
        .map(ModelKind::name)
        .collect();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "dr demo: bundled examples, each solved exactly and certified."
    );
    if !missing.is_empty() {
        let _ = writeln!(
            text,
            "Models not in this build yet: {} (their sections will appear here).",
            missing.join(", ")
        );
    }
    let mut json_sections = Vec::new();
    let mut plots = Vec::new();
    let mut outcome = super::output::Outcome::default();
    let all = sections();
    let progress = opts.progress(all.len() as u64, "dr demo");
    for s in all {
        progress.set_message(s.name);
        let out = (s.run)(opts)?;
        progress.inc(1);
        let _ = writeln!(text, "\n== {} ==\n", s.title);
        text.push_str(&out.text);
        let result = out.body_value().map_err(|e| CliError::Io {
            path: "<stdout>".into(),
            reason: format!("demo section {}: {e}", s.name),
        })?;
        json_sections.push(SectionReport {
            name: s.name,
            title: s.title,
            result,
        });
        plots.extend(out.plots);
        outcome.absorb(out.outcome);
    }
    progress.finish();
    let report = DemoDocument {
        sections: json_sections,
        models_available: available.iter().map(|m| m.name()).collect(),
    };
    Ok(Draft {
        text,
        plots,
        outcome,
    }
    .with_body(report))
}

/// What `dr demo --json` prints: each section's own typed report, in order.
#[derive(Debug, Serialize)]
struct DemoDocument {
    /// The sections, kernel first, then the wired models.
    sections: Vec<SectionReport>,
    /// The models this build has.
    models_available: Vec<&'static str>,
}

/// One demo section: its identifier, heading and report (the section's typed body as JSON).
#[derive(Debug, Serialize)]
struct SectionReport {
    name: &'static str,
    title: &'static str,
    result: serde_json::Value,
}

fn kernel_err(context: &str) -> impl Fn(dr_convex::ConvexError) -> CliError + '_ {
    move |source| CliError::Kernel {
        context: context.to_string(),
        source,
    }
}

/// Seed of the demo population (the same draws as the allocator bench's instance).
const SEED: u64 = 7;

/// The reference population of li-chen-dahleh-2015 §VII-A: `n` customers with
/// `C_i(q) = a_i q + h_i q²`, `a_i ~ U[1,2]`, `h_i ~ U[0.5,4.5]`.
fn paper_population(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = (0..n).map(|_| rng.gen_range(1.0..2.0)).collect();
    let h = (0..n).map(|_| rng.gen_range(0.5..4.5)).collect();
    (a, h)
}

/// Competitive equilibrium (li-chen-dahleh-2015 Theorem 1) of 30 customers shedding
/// d = 10, checked against Theorem 2 (water-filling), Corollary 1 (individual rationality)
/// and the closed-form price on the active set.
fn supply_function_equilibrium(opts: &Options) -> Result<Output, CliError> {
    const N: usize = 30;
    const DEFICIT: f64 = 10.0;
    let context = "kernel demo: competitive equilibrium";
    let (a, h) = paper_population(N, SEED);
    let customers = QuadraticFamily::new(&a, &h).map_err(kernel_err(context))?;
    let eq = allocate(
        &customers,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        DEFICIT,
        &AllocatorSettings::default(),
    )
    .map_err(kernel_err(context))?;
    let price = eq.multiplier;
    let q = &eq.x;
    let cost = |i: usize, x: f64| a[i] * x + h[i] * x * x;
    let tol = 1e-9;

    // Independent checks of the papers' statements.
    let mut failures = Vec::new();
    let shed: f64 = q.iter().sum();
    if (shed - DEFICIT).abs() > tol * DEFICIT {
        failures.push(format!("Σ q̄_i = {shed} ≠ d = {DEFICIT}"));
    }
    let active: Vec<usize> = (0..N).filter(|&i| q[i] > 0.0).collect();
    for i in 0..N {
        let marginal = a[i] + 2.0 * h[i] * q[i];
        if q[i] > 0.0 && (marginal - price).abs() > tol * price.abs() {
            failures.push(format!(
                "active customer {i}: C'(q̄) = {marginal} ≠ p̄ = {price}"
            ));
        }
        if q[i] <= 0.0 && a[i] < price - tol * price.abs() {
            failures.push(format!(
                "inactive customer {i}: C'(0) = {} < p̄ = {price}",
                a[i]
            ));
        }
        let profit = price * q[i] - cost(i, q[i]);
        if profit < -tol {
            failures.push(format!(
                "customer {i} has negative profit {profit} (Corollary 1)"
            ));
        }
    }
    // Closed form on the active set: Σ_A (p − a_i)/(2 h_i) = d.
    let slope: f64 = active.iter().map(|&i| 1.0 / (2.0 * h[i])).sum();
    let offset: f64 = active.iter().map(|&i| a[i] / (2.0 * h[i])).sum();
    let closed_form = (DEFICIT + offset) / slope;
    if (closed_form - price).abs() > tol * price.abs() {
        failures.push(format!(
            "closed-form price {closed_form} ≠ multiplier {price}"
        ));
    }
    if !eq.certificate.holds(1e-9) {
        failures.push(format!("certificate does not hold: {:?}", eq.certificate));
    }
    if !failures.is_empty() {
        return Err(CliError::CheckFailed(format!(
            "{context}: {}",
            failures.join("; ")
        )));
    }

    let total_cost: f64 = (0..N).map(|i| cost(i, q[i])).sum();
    let mut order: Vec<usize> = (0..N).collect();
    order.sort_by(|&i, &j| a[i].total_cmp(&a[j]));

    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the competitive equilibrium of supply-function bidding \
         (li-chen-dahleh-2015 Theorem 1)\n\
         min Σ C_i(q_i) s.t. Σ q_i = d, q_i ≥ 0, with the kernel's exact allocator\n\
         (dr_convex::allocate + QuadraticFamily). {N} customers, C_i(q) = a_i q + h_i q²,\n\
         a_i ~ U[1,2], h_i ~ U[0.5,4.5] (ChaCha8 seed {SEED}), deficit d = {DEFICIT}.\n",
        heading_word(eq.certificate.status)
    );
    let _ = writeln!(text, "  price p̄ (multiplier of Σ q = d)  {}", num(price));
    let _ = writeln!(
        text,
        "  active customers                 {} of {N}",
        active.len()
    );
    let _ = writeln!(
        text,
        "  total cost Σ C_i(q̄_i)            {}",
        num(total_cost)
    );
    let _ = writeln!(
        text,
        "  closed-form price on active set  {} (difference {:.1e})",
        num(closed_form),
        (closed_form - price).abs()
    );
    let _ = writeln!(
        text,
        "  checks: Σ q̄ = d; water-filling (Theorem 2); individual rationality \
         (Corollary 1): all hold\n"
    );
    text.push_str(&certificate_text(&eq.certificate));
    let mut table = Table::new(&["customer", "a_i", "h_i", "load q̄_i", "bid b̄_i", "profit"]);
    for &i in &order {
        table.row(vec![
            (i + 1).to_string(),
            num(a[i]),
            num(h[i]),
            num(q[i]),
            num(q[i] / price),
            num(price * q[i] - cost(i, q[i])),
        ]);
    }
    let _ = writeln!(text, "\nCustomers by C_i'(0) = a_i (bids b̄_i = q̄_i / p̄):");
    text.push_str(&table.render());

    let population: Vec<DemoCustomer> = (0..N)
        .map(|i| DemoCustomer {
            a: a[i],
            h: h[i],
            load: q[i],
            bid: q[i] / price,
            profit: price * q[i] - cost(i, q[i]),
        })
        .collect();
    let report = SupplyFunctionDemo {
        solved:
            "competitive equilibrium of supply-function bidding (li-chen-dahleh-2015 Theorem 1)",
        customers: N,
        deficit: DEFICIT,
        seed: SEED,
        price,
        active_customers: active.len(),
        total_cost,
        closed_form_price: closed_form,
        certificate: CertificateReport::from(eq.certificate),
        population,
    };

    let mut plots = Vec::new();
    if opts.wants_plots() {
        let lo = a.iter().copied().fold(f64::INFINITY, f64::min) * 0.9;
        let hi = price * 1.3;
        let steps = 120;
        let supply: Vec<(f64, f64)> = (0..=steps)
            .map(|k| {
                let p = lo + (hi - lo) * k as f64 / steps as f64;
                let s: f64 = (0..N)
                    .map(|i| customers.response(i, p, 0.0, f64::INFINITY).0)
                    .sum();
                (p, s)
            })
            .collect();
        let chart = LineChart::new("Aggregate supply of the 30 customers")
            .x_label("price p")
            .y_label("Σ q_i(p)")
            .series("aggregate supply Σ q_i(p)", supply)
            .dashed_series("deficit d", [(lo, DEFICIT), (hi, DEFICIT)])
            .dashed_series("equilibrium price p̄", [(price, 0.0), (price, DEFICIT)]);
        plots.push(Plot::new("kernel-equilibrium-supply", &chart));
        let bars = BarChart::new(
            "Equilibrium loads, customers ordered by C_i'(0)",
            order.iter().map(|i| (i + 1).to_string()),
        )
        .x_label("customer")
        .y_label("load q̄_i")
        .group("load q̄_i", order.iter().map(|&i| q[i]));
        plots.push(Plot::new("kernel-equilibrium-loads", &bars));
    }
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    }
    .with_body(report);
    out.certificate(context, &eq.certificate);
    Ok(out)
}

/// Projection of a desired consumption profile onto `{q ≥ 0, L ≤ Σ_t q(t) ≤ U}`, the
/// feasible set of the distributed gradient scheme of chen-li-low-doyle-2010 (eq. 42),
/// checked against the sort-based projection onto a scaled simplex.
fn shaping_projection(opts: &Options) -> Result<Output, CliError> {
    let context = "kernel demo: projection";
    // A customer's gradient step over 8 periods overshoots its daily energy bound.
    let v = [3.0, -1.0, 4.0, 1.0, 5.0, -2.0, 2.0, 6.0];
    let (sum_lower, sum_upper) = (10.0, 12.0);
    let proj = project_box_sum(
        &v,
        Bound::Constant(0.0),
        Bound::Constant(f64::INFINITY),
        sum_lower,
        sum_upper,
    )
    .map_err(kernel_err(context))?;

    // Independent path: the clamped point has Σ = 21 > U, so the projection is onto the
    // simplex {q ≥ 0, Σ q = U}: sort, find the threshold θ, q = max(v − θ, 0).
    let mut sorted = v.to_vec();
    sorted.sort_by(|x, y| y.total_cmp(x));
    let mut theta = 0.0;
    let mut prefix = 0.0;
    for (k, &u) in sorted.iter().enumerate() {
        prefix += u;
        let t = (prefix - sum_upper) / (k + 1) as f64;
        if u - t > 0.0 {
            theta = t;
        }
    }
    let reference: Vec<f64> = v.iter().map(|&x| (x - theta).max(0.0)).collect();
    let gap = proj
        .x
        .iter()
        .zip(&reference)
        .map(|(x, r)| (x - r).abs())
        .fold(0.0, f64::max);
    if gap > 1e-9 || (proj.multiplier + theta).abs() > 1e-9 {
        return Err(CliError::CheckFailed(format!(
            "{context}: allocator and sort-based projection differ by {gap:.3e} \
             (multiplier {} vs −θ = {})",
            proj.multiplier, -theta
        )));
    }
    let total: f64 = proj.x.iter().sum();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: the Euclidean projection of a customer's gradient step v onto its feasible\n\
         set S = {{q ≥ 0, {sum_lower} ≤ Σ_t q(t) ≤ {sum_upper}}} (chen-li-low-doyle-2010 eq. 42),\n\
         with dr_convex::project_box_sum (a one-multiplier water-filling).\n",
        heading_word(proj.certificate.status)
    );
    let _ = writeln!(
        text,
        "  Σ_t q(t)                 {} (upper bound active)",
        num(total)
    );
    let _ = writeln!(text, "  multiplier of the bound  {}", num(proj.multiplier));
    let _ = writeln!(
        text,
        "  check: agrees with the sort-based simplex projection (max difference {gap:.1e})\n"
    );
    text.push_str(&certificate_text(&proj.certificate));
    let mut table = Table::new(&["period t", "step v(t)", "projection q(t)"]);
    for (t, (vi, qi)) in v.iter().zip(&proj.x).enumerate() {
        table.row(vec![(t + 1).to_string(), num(*vi), num(*qi)]);
    }
    text.push('\n');
    text.push_str(&table.render());
    let report = ProjectionDemo {
        solved: "projection onto {q >= 0, L <= sum q <= U} (chen-li-low-doyle-2010 eq. 42)",
        v: v.to_vec(),
        sum_lower,
        sum_upper,
        projection: proj.x.clone(),
        multiplier: proj.multiplier,
        certificate: CertificateReport::from(proj.certificate),
    };
    let mut plots = Vec::new();
    if opts.wants_plots() {
        let chart = BarChart::new(
            "Projection onto {q ≥ 0, 10 ≤ Σ q ≤ 12}",
            (1..=v.len()).map(|t| t.to_string()),
        )
        .x_label("period t")
        .y_label("consumption")
        .group("gradient step v(t)", v)
        .group("projection q(t)", proj.x.clone());
        plots.push(Plot::new("kernel-projection", &chart));
    }
    let mut out = Draft {
        text,
        plots,
        ..Draft::default()
    }
    .with_body(report);
    out.certificate(context, &proj.certificate);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sections_pass_their_own_checks() {
        let opts = Options {
            plot_dir: Some("unused".into()),
            ..Options::default()
        };
        for s in KERNEL_SECTIONS {
            let out = (s.run)(&opts).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert!(out.text.contains("certificate:"), "{}", s.name);
            assert!(!out.plots.is_empty(), "{}", s.name);
            let json = out.body_value().expect("renders");
            let status = &json["certificate"]["status"];
            assert_eq!(status, "Solved", "{}", s.name);
        }
    }

    #[test]
    fn section_names_are_unique() {
        let all = sections();
        for (i, s) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|t| t.name != s.name), "{}", s.name);
        }
    }
}
