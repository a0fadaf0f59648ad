use dr_convex::*;
fn main() {
    let n = 10_000;
    let a: Vec<f64> = (0..n).map(|i: usize| 1.0 + (i.wrapping_mul(7919) % 1000) as f64 / 1000.0).collect();
    let h: Vec<f64> = (0..n).map(|i: usize| 0.5 + (i.wrapping_mul(104_729) % 4000) as f64 / 1000.0).collect();
    let fam = QuadraticFamily::new(&a, &h).unwrap();
    let s = AllocatorSettings::default();
    let mut acc = 0.0;
    for _ in 0..2000 {
        let al = allocate(&fam, Bound::Constant(0.0), Bound::Constant(f64::INFINITY), 1e3, &s).unwrap();
        acc += al.multiplier;
    }
    println!("{acc}");
}
