use dr_bidding::*;
use std::time::Instant;
fn main() {
    let n = 1_000_000;
    let m = Market::drawn(n, [1.0, 2.0], [0.5, 4.5], 7, n as f64 / 10.0).unwrap();
    let Costs::Quadratic { linear, quadratic } = m.costs() else { panic!() };
    let d = m.deficit();
    for _ in 0..5 {
        let t = Instant::now();
        let _ce = competitive_equilibrium(&m).unwrap();
        let t1 = t.elapsed();
        let t = Instant::now();
        let _ne = nash_equilibrium(&m).unwrap();
        let t2 = t.elapsed();
        let t = Instant::now();
        let fam = dr_convex::QuadraticFamily { linear, quadratic };
        let _a1 = dr_convex::allocate(&fam, dr_convex::Bound::Constant(0.0), dr_convex::Bound::Constant(f64::INFINITY), d, &Default::default()).unwrap();
        let t3 = t.elapsed();
        println!("ce {:?} ne {:?} | kernel alloc {:?}", t1, t2, t3);
    }
}
