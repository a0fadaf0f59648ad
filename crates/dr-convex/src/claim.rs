//! A printed claim with its verdict: the shared vocabulary of the studies' and demos'
//! reports (each model crate's studies check statements of its paper and report them so).

use serde::{Deserialize, Serialize};

/// A statement a report makes — usually a paper's theorem, figure finding or published
/// value, with where it is stated — whether our run bears it out, and the evidence.
///
/// Reports carry claims as data so that every rendering (the `dr` command's text and JSON,
/// the Python package) shows the same verdict, and the command's exit status is decided
/// from them (a claim that does not hold exits 3).
///
/// ```
/// use dr_convex::Claim;
/// let c = Claim::new("Theorem 1: Σ q̄_i = d", (3.0_f64 - 3.0).abs() < 1e-12, "Σ q̄ − d = 0");
/// assert!(c.holds);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The statement, as the paper makes it (with where: theorem, equation, figure).
    pub claim: String,
    /// Whether our run bears it out.
    pub holds: bool,
    /// The measured evidence (numbers with their tolerance).
    pub evidence: String,
}

impl Claim {
    /// A claim with its verdict and evidence.
    pub fn new(claim: impl Into<String>, holds: bool, evidence: impl Into<String>) -> Claim {
        Claim {
            claim: claim.into(),
            holds,
            evidence: evidence.into(),
        }
    }
}

/// `v` with `digits` significant digits in fixed notation, trailing zeros (and a bare
/// point) dropped: `significant(1234.5678, 6) == "1234.57"`. For claims' evidence and tables;
/// `0`, non-finite values and magnitudes that would need more than 16 decimals are written
/// as Rust writes them (shortest round-trip).
///
/// ```
/// assert_eq!(dr_convex::significant(1234.5678, 6), "1234.57");
/// assert_eq!(dr_convex::significant(0.000123456789, 4), "0.0001235");
/// assert_eq!(dr_convex::significant(2.5, 6), "2.5");
/// ```
pub fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let places = digits as i64 - 1 - v.abs().log10().floor() as i64;
    if !(0..=16).contains(&places) {
        return format!("{v}");
    }
    let s = format!("{v:.*}", places as usize);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A number for claims and tables: six significant digits ([`significant`]), or scientific
/// with four when `|v| ≥ 10^6` or `|v| < 10^-4`; `0` and non-finite values as Rust writes them.
///
/// ```
/// assert_eq!(dr_convex::six_digits(1.0 / 3.0), "0.333333");
/// assert_eq!(dr_convex::six_digits(2.5e-7), "2.500e-7");
/// assert_eq!(dr_convex::six_digits(0.0), "0");
/// ```
pub fn six_digits(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        format!("{v}")
    } else if v.abs() >= 1e6 || v.abs() < 1e-4 {
        format!("{v:.3e}")
    } else {
        significant(v, 6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_by_hand() {
        assert_eq!(six_digits(123456.7), "123457");
        assert_eq!(six_digits(999999.9), "1000000"); // rounds up into the next decade
        assert_eq!(six_digits(-0.5), "-0.5");
        assert_eq!(six_digits(1e-4), "0.0001");
        assert_eq!(six_digits(9.99e-5), "9.990e-5");
        assert_eq!(six_digits(f64::INFINITY), "inf");
        assert_eq!(significant(1.000000000049, 10), "1");
        assert_eq!(significant(123.456789012, 10), "123.456789");
        assert_eq!(significant(1e-20, 10), "0.00000000000000000001");
    }
}
