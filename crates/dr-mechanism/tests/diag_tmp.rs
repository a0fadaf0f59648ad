//! tmp
mod common;
use dr_mechanism::*;
#[test]
fn diag() {
    let rule = LearningRule::PriceAdjustment { step: 0.1, consensus: 0.5 };
    for seed in 0..30u64 {
        let n = 2 + (seed as usize % 6);
        let t = 1 + (seed as usize % 4);
        let model = common::random_model(seed, n, t);
        let settings = LearningSettings { rule, max_rounds: 3000, tolerance: 1e-10 };
        let cm = CentralizedMechanism::new(&model, MechanismSettings::default()).unwrap();
        let out = Learner::new(&cm, cm.starting_profile(), settings).unwrap().run();
        if out.termination != Termination::Converged {
            println!("seed {seed} n {n} t {t}: {:?} after {}", out.termination, out.rounds);
            for l in 0..model.rows() { if let RowKind::General = model.row_kind(l) { println!("  {:?} {}", model.row(l), model.rhs()[l]); } }
        }
    }
    for (n, t) in [(20, 24), (50, 24)] {
        for seed in 0..2u64 {
            let model = common::random_model(seed + 100, n, t);
            let opt = solve_planner(&model, &PlannerSettings::default()).unwrap();
            let settings = LearningSettings { rule, max_rounds: 4000, tolerance: 1e-10 };
            let edges = common::random_tree(seed, n);
            let dm = DistributedMechanism::new(&model, common::network(n, &edges, 0), MechanismSettings::default()).unwrap();
            let t0 = std::time::Instant::now();
            let out = Learner::new(&dm, dm.starting_profile(), settings).unwrap().run();
            let d = out.profile.y.iter().zip(&opt.allocation).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            println!("N {n} T {t} seed {seed}: {:?} after {} rounds, gain {:.1e}, dist {:.1e} ({:.1?})", out.termination, out.rounds, out.max_gain, d, t0.elapsed());
        }
    }
}
