//! Times the phases of `dr solve` on a drawn population (li-chen-dahleh-2015 §VII-A costs):
//! the draw, both equilibria, the efficiency report and the whole [`dr_bidding::solve_report`].
//!
//! Run: `cargo run --release -p dr-bidding --example solve_timing -- [N] [REPEATS]`
//! (default 10^6 customers, 7 repeats; the minimum of each phase is printed).

use dr_bidding::{
    competitive_equilibrium, efficiency, nash_equilibrium, solve_report, Market, ReportOptions,
};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut best = [f64::INFINITY; 5];
    for _ in 0..repeats {
        let t = Instant::now();
        let market = Market::drawn(n, [1.0, 2.0], [0.5, 4.5], 7, n as f64 / 10.0).expect("market");
        let t_draw = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ce = competitive_equilibrium(&market).expect("competitive");
        let t_ce = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ne = nash_equilibrium(&market).expect("nash");
        let t_ne = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let eff = efficiency(&market, &ce, &ne).expect("efficiency");
        let t_eff = t.elapsed().as_secs_f64();
        drop((ce, ne, eff));
        let t = Instant::now();
        let r = solve_report(&market, &ReportOptions::default()).expect("report");
        let t_rep = t.elapsed().as_secs_f64();
        assert!(r.claims.iter().all(|c| c.holds));
        if best[4].is_infinite() {
            let ne = r.nash.equilibrium().expect("nash");
            println!(
                "passes that evaluated g: competitive {}, Nash {}",
                r.competitive.certificate.certificate.iterations,
                ne.certificate.certificate.iterations
            );
        }
        for (b, v) in best.iter_mut().zip([t_draw, t_ce, t_ne, t_eff, t_rep]) {
            *b = b.min(v);
        }
    }
    println!(
        "n = {n}, {} threads, best of {repeats} (ms): draw {:.2}, competitive {:.2}, nash {:.2}, \
         efficiency {:.2}, solve_report {:.2}",
        rayon::current_num_threads(),
        best[0] * 1e3,
        best[1] * 1e3,
        best[2] * 1e3,
        best[3] * 1e3,
        best[4] * 1e3
    );
}
