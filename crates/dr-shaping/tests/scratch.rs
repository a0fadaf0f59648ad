use dr_shaping::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_model(seed: u64, n: usize, periods: usize, logs: bool) -> ShapingModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Customers::new(periods).unwrap();
    for i in 0..n {
        let lo = rng.gen_range(0.0..5.0);
        let hi = if rng.gen_bool(0.3) { f64::INFINITY } else { lo + rng.gen_range(0.0..5.0) };
        if logs && i % 2 == 1 {
            let w: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.5..3.0)).collect();
            let s: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.5..2.0)).collect();
            c.push_log(&w, &s, lo, hi).unwrap();
        } else {
            let th: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.0..4.0)).collect();
            let k: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.5..2.0)).collect();
            c.push_quadratic(&th, &k, lo, hi).unwrap();
        }
    }
    let cc: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.1..1.0)).collect();
    let e: Vec<f64> = (0..periods).map(|_| rng.gen_range(0.0..0.5)).collect();
    ShapingModel::new(c, SupplyCost::quadratic(cc, e).unwrap()).unwrap()
}

#[test]
fn scratch() {
    for seed in 0..5 {
        let m = random_model(seed, 6, 4, seed % 2 == 1);
        let ce = competitive_equilibrium(&m).unwrap();
        let ip = competitive_equilibrium_ipm(&m, &Default::default()).unwrap();
        println!("seed {seed} ce cert {:?}", ce.certificate);
        println!("   ipm cert {:?}", ip.certificate);
        let d: f64 = ce.prices.iter().zip(&ip.prices).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let dl: f64 = ce.loads.as_slice().iter().zip(ip.loads.as_slice()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!("   price diff {d:e} load diff {dl:e}");
        let ne = strategic_equilibrium(&m).unwrap();
        let g = nash_gain(&m, &ne.loads).unwrap();
        println!("   ne cert {:?} gain {:e}", ne.certificate, g.max_relative_gain);
        let nip = strategic_equilibrium_ipm(&m, &Default::default()).unwrap();
        let d: f64 = ne.prices.iter().zip(&nip.prices).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!("   ne price diff {d:e} ipm gain {:e}", nash_gain(&m, &nip.loads).unwrap().max_relative_gain);
    }
}
