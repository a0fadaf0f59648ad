//! Criterion bench of the Stackelberg equilibrium (dr-stackelberg, alshehri-liu-chen-basar).
//!
//! Instance: `K = 4` companies with the EcoGrid EU shares (36/59, 16/59, 5/59, 2/59) of a
//! 24-hour supply profile scaled to the population (27 kWh per consumer per day), `T = 24`;
//! consumers with budgets in [4, 8] DKK, `ζ = γ = 1`. At these prices the poorest consumers
//! buy nothing from the dearest company, so the exact equilibrium is the water-filling one
//! (eq. 14, then the projected Newton method).
//! - `stackelberg/prices_classes/N`: `N` consumers as 5 budget classes (`equilibrium_prices`);
//! - `stackelberg/prices_individual/N`: `N` individual consumers (`equilibrium_prices`: prices
//!   and aggregate demand, no per-consumer output);
//! - `stackelberg/solve_individual/N`: `solve_equilibrium` with per-consumer energy, utility,
//!   payment, minimum budget and the KKT check of every consumer (demands not stored);
//! - `stackelberg/system13/{closed_form,cholesky,lu,structured}/KT`: eq. 14 against faer's
//!   dense Cholesky and LU and the Woodbury solve of system (13), `K = 4`, `T = 24, 240`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dr_stackelberg::{
    equilibrium_prices, prices_closed_form, prices_linear_system, solve_equilibrium, Company,
    ConsumerClasses, DemandOutput, EquilibriumSettings, LinearSolver, Market,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;

const SHARES: [f64; 4] = [36.0 / 59.0, 16.0 / 59.0, 5.0 / 59.0, 2.0 / 59.0];

fn companies(n: usize, periods: usize) -> Vec<Company> {
    // A daily profile (EcoGrid-like: night low, day high), 27.025 kWh per consumer per day.
    let profile: Vec<f64> = (0..periods)
        .map(|t| 1.0 + 0.3 * (2.0 * std::f64::consts::PI * (t as f64 - 6.0) / periods as f64).sin())
        .collect();
    let sum: f64 = profile.iter().sum();
    let total = 27.025 * n as f64;
    SHARES
        .iter()
        .map(|s| Company::new(profile.iter().map(|p| s * total * p / sum).collect()))
        .collect()
}

fn classes(n: usize) -> Market {
    let budgets = vec![4.0, 5.0, 6.0, 7.0, 8.0];
    Market::new(
        24,
        companies(n, 24),
        ConsumerClasses::new(vec![n as f64 / 5.0; 5], budgets, vec![0.0; 5]),
    )
    .expect("valid market")
}

fn individuals(n: usize) -> Market {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let budgets: Vec<f64> = (0..n).map(|_| rng.gen_range(4.0..8.0)).collect();
    Market::new(
        24,
        companies(n, 24),
        ConsumerClasses::individuals(budgets, vec![0.0; n]),
    )
    .expect("valid market")
}

fn bench_equilibrium(c: &mut Criterion) {
    let light = EquilibriumSettings {
        demands: DemandOutput::AggregateOnly,
        verify_consumers: false,
        ..EquilibriumSettings::default()
    };
    let full = EquilibriumSettings {
        demands: DemandOutput::AggregateOnly,
        verify_consumers: true,
        ..EquilibriumSettings::default()
    };
    let mut group = c.benchmark_group("stackelberg");
    for &n in &[1_000usize, 10_000, 100_000, 1_000_000] {
        group.sample_size(if n >= 1_000_000 { 10 } else { 20 });
        let m = classes(n);
        group.bench_with_input(BenchmarkId::new("prices_classes", n), &m, |b, m| {
            b.iter(|| black_box(equilibrium_prices(m, &light).expect("solves")))
        });
        let m = individuals(n);
        let pe = equilibrium_prices(&m, &light).expect("solves");
        assert!(pe.status.is_solved() && pe.supply_balance < 1e-9);
        group.bench_with_input(BenchmarkId::new("prices_individual", n), &m, |b, m| {
            b.iter(|| black_box(equilibrium_prices(m, &light).expect("solves")))
        });
        group.bench_with_input(BenchmarkId::new("solve_individual", n), &m, |b, m| {
            b.iter(|| black_box(solve_equilibrium(m, &full).expect("solves")))
        });
    }
    for &t in &[24usize, 240] {
        let m = Market::new(
            t,
            companies(2000, t),
            ConsumerClasses::homogeneous(2000.0, 7.55, 0.0),
        )
        .expect("valid");
        let kt = 4 * t;
        group.sample_size(20);
        group.bench_with_input(BenchmarkId::new("system13/closed_form", kt), &m, |b, m| {
            b.iter(|| black_box(prices_closed_form(m)))
        });
        for (name, solver) in [
            ("system13/cholesky", LinearSolver::DenseCholesky),
            ("system13/lu", LinearSolver::DenseLu),
            ("system13/structured", LinearSolver::Structured),
        ] {
            group.bench_with_input(BenchmarkId::new(name, kt), &m, |b, m| {
                b.iter(|| black_box(prices_linear_system(m, solver).expect("solves")))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = bench_equilibrium
}
criterion_main!(benches);
