//! How the reports of the cross-checks ([`crate::CrossCheck`], and the facade's
//! `VerifyReport`) write a number that may be non-finite, as a serde adapter.
//!
//! JSON has no NaN and no infinity, and `serde_json` silently writes both as `null` (which
//! then does not read back as a number). The reports say what they mean instead:
//! - a finite number is a JSON number (shortest round-trip digits);
//! - NaN means *not measured* (e.g. a gap of a check whose LP back end failed before its
//!   first iterate): the key is **omitted** (`skip_serializing_if = "dr_lp::number::is_nan"`)
//!   and an absent key reads back as NaN (`default = "dr_lp::number::nan"`);
//! - `±∞` is the string `"inf (not finite)"` / `"-inf (not finite)"` (the same form as the
//!   shaping reports' residuals), and reads back as `±∞`.
//!
//! The text renderings follow the same convention (`-` for NaN, `inf` for `∞`), so the text
//! and the JSON never tell two different stories about one value.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Gap {
//!     #[serde(
//!         with = "dr_lp::number",
//!         skip_serializing_if = "dr_lp::number::is_nan",
//!         default = "dr_lp::number::nan"
//!     )]
//!     gap: f64,
//! }
//! let text = |g: f64| serde_json::to_string(&Gap { gap: g }).unwrap();
//! assert_eq!(text(0.5), r#"{"gap":0.5}"#);
//! assert_eq!(text(f64::NAN), "{}");
//! assert_eq!(text(f64::INFINITY), r#"{"gap":"inf (not finite)"}"#);
//! let back = |s: &str| serde_json::from_str::<Gap>(s).unwrap().gap;
//! assert!(back("{}").is_nan());
//! assert_eq!(back(r#"{"gap":"-inf (not finite)"}"#), f64::NEG_INFINITY);
//! assert_eq!(back(r#"{"gap":2}"#), 2.0);
//! ```

use serde::{Deserializer, Serializer};

/// The suffix of a non-finite number written as a string.
const NOT_FINITE: &str = " (not finite)";

/// Writes `v`: a number when finite, otherwise `"inf (not finite)"`, `"-inf (not finite)"`
/// or `"NaN (not finite)"` (NaN only where the key is not skipped with [`is_nan`]).
///
/// # Errors
/// Those of the serializer.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_str(&format!("{v}{NOT_FINITE}"))
    }
}

/// Reads a number, or a string written by [`serialize`] (its first word: `inf`, `-inf`,
/// `NaN`).
///
/// # Errors
/// Any other value, e.g. `null` or a string that names no number.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct Number;
    impl serde::de::Visitor<'_> for Number {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number, or a string such as \"inf (not finite)\"")
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<f64, E> {
            match v.strip_suffix(NOT_FINITE).unwrap_or(v) {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "NaN" => Ok(f64::NAN),
                _ => Err(E::custom(format!(
                    "{v:?} is not a number (expected a number, \"inf (not finite)\", \
                     \"-inf (not finite)\" or \"NaN (not finite)\")"
                ))),
            }
        }
    }
    d.deserialize_any(Number)
}

/// Whether `v` is NaN (*not measured*): the key is omitted.
pub fn is_nan(v: &f64) -> bool {
    v.is_nan()
}

/// NaN, the value of an omitted key (*not measured*).
pub fn nan() -> f64 {
    f64::NAN
}
