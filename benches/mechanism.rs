//! Criterion bench of the peak-demand mechanism (wei-anastasopoulos, dr-mechanism):
//! the planner's problem (3) (kernel interior point + active-set polish), the NE of
//! Theorem 2, and the exact best-response check of every user, for N = 10, 50, 200 users
//! and T = 24 periods.
//!
//! Instance (seeded ChaCha): half the users log utilities `w_t ln(x + s)`, half quadratic
//! `θ_t x − ½ κ_t x²`; every user has upper bounds (and every third a lower bound) in every
//! period, every fourth an energy budget `Σ_t x_t ≤ c`; a community energy cap and feeder
//! caps in four evening periods. `p_0 = 2` spreads the peak over several periods.
//!
//! Run: `cargo bench --bench mechanism -- --warm-up-time 1 --measurement-time 5`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use dr_mechanism::{
    solve_planner, CentralizedMechanism, MechanismSettings, Model, PlannerSettings, User,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const T: usize = 24;

fn instance(n: usize) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let prices: Vec<f64> = (0..T)
        .map(|t| {
            0.1 + 0.1
                * ((t as f64 - 6.0) / 24.0 * std::f64::consts::TAU)
                    .sin()
                    .max(0.0)
        })
        .collect();
    let mut b = Model::builder(prices, 2.0);
    for i in 0..n {
        let user = if i % 2 == 0 {
            let w: Vec<f64> = (0..T).map(|_| rng.gen_range(0.5..3.0)).collect();
            User::log(&w, rng.gen_range(0.5..2.0))
        } else {
            let th: Vec<f64> = (0..T).map(|_| rng.gen_range(0.5..3.0)).collect();
            let ka: Vec<f64> = (0..T).map(|_| rng.gen_range(0.5..2.0)).collect();
            User::quadratic(&th, &ka)
        };
        b = b.user(user);
        let up: Vec<f64> = (0..T).map(|_| rng.gen_range(0.5..3.0)).collect();
        b = b.upper_bounds(i, &up);
        if i % 3 == 0 {
            b = b.lower_bounds(i, &[-0.3; T]);
        }
        if i % 4 == 0 {
            b = b.user_total(i, rng.gen_range(8.0..20.0));
        }
    }
    b = b.community_total(0.8 * n as f64 * T as f64);
    for t in 17..21 {
        b = b.community_cap(t, 0.9 * n as f64);
    }
    b.build().expect("valid instance")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mechanism");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    for n in [10usize, 50, 200] {
        let model = instance(n);
        let settings = PlannerSettings::default();
        let opt = solve_planner(&model, &settings).expect("planner");
        assert!(
            opt.certificate.holds(1e-8),
            "N = {n}: {:?}",
            opt.certificate
        );
        let mech =
            CentralizedMechanism::new(&model, MechanismSettings::default()).expect("mechanism");
        let ne = mech.nash_equilibrium(&opt).expect("NE");
        let gains = mech.best_response_gains(&ne).expect("gains");
        assert!(gains.iter().all(|g| g.total <= 1e-8));
        g.bench_with_input(BenchmarkId::new("planner", n), &n, |b, _| {
            b.iter(|| solve_planner(black_box(&model), &settings).expect("planner"))
        });
        g.bench_with_input(BenchmarkId::new("nash_equilibrium", n), &n, |b, _| {
            b.iter(|| mech.nash_equilibrium(black_box(&opt)).expect("NE"))
        });
        g.bench_with_input(BenchmarkId::new("best_response_gains", n), &n, |b, _| {
            b.iter(|| mech.best_response_gains(black_box(&ne)).expect("gains"))
        });
        g.bench_with_input(BenchmarkId::new("all", n), &n, |b, _| {
            b.iter(|| {
                let opt = solve_planner(black_box(&model), &settings).expect("planner");
                let ne = mech.nash_equilibrium(&opt).expect("NE");
                mech.best_response_gains(&ne).expect("gains")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
