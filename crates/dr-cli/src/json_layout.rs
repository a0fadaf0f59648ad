//! The layout of `dr … --json`: objects one key per line (indented two spaces, like
//! `serde_json`'s pretty printer), arrays of numbers, booleans and nulls on one line, arrays
//! holding strings, objects or arrays one element per line.
//!
//! Per-customer columns are the bulk of a large report: written one number per line they
//! cost an indentation and a newline per number (10^6 customers: 99 MB, of which about a
//! third is layout). On one line each number costs its digits and a comma. The numbers
//! themselves are `serde_json`'s (shortest round-trip), so the values read back bit for bit.

use serde_json::ser::Formatter;
use std::io::{self, Write};

/// A `serde_json` formatter: pretty objects, numeric arrays inline (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct ReportFormatter {
    /// Current nesting depth (objects and arrays).
    indent: usize,
    /// One entry per open array: whether an element was written on its own line.
    arrays: Vec<bool>,
    /// Whether an open object has a key yet (one entry per open object).
    objects: Vec<bool>,
    /// A separator owed before the next array element: `Some(first)`.
    pending: Option<bool>,
}

impl ReportFormatter {
    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    /// Writes the separator owed before an array element: inline for a scalar, on its own
    /// line otherwise.
    fn element<W: ?Sized + Write>(&mut self, w: &mut W, scalar: bool) -> io::Result<()> {
        let Some(first) = self.pending.take() else {
            return Ok(());
        };
        if !first {
            w.write_all(b",")?;
        }
        if !scalar {
            if let Some(own_line) = self.arrays.last_mut() {
                *own_line = true;
            }
            self.newline_indent(w, self.indent)?;
        }
        Ok(())
    }
}

macro_rules! scalar {
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(
            fn $name<W: ?Sized + Write>(&mut self, w: &mut W, value: $ty) -> io::Result<()> {
                self.element(w, true)?;
                serde_json::ser::CompactFormatter.$name(w, value)
            }
        )*
    };
}

impl Formatter for ReportFormatter {
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, true)?;
        w.write_all(b"null")
    }

    scalar!(
        write_bool: bool,
        write_i8: i8,
        write_i16: i16,
        write_i32: i32,
        write_i64: i64,
        write_i128: i128,
        write_u8: u8,
        write_u16: u16,
        write_u32: u32,
        write_u64: u64,
        write_u128: u128,
        write_f32: f32,
        write_f64: f64,
        write_number_str: &str,
        write_raw_fragment: &str,
    );

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        w.write_all(b"\"")
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        self.indent += 1;
        self.arrays.push(false);
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.indent -= 1;
        if self.arrays.pop().unwrap_or(false) {
            self.newline_indent(w, self.indent)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, _w: &mut W, first: bool) -> io::Result<()> {
        self.pending = Some(first);
        Ok(())
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        self.indent += 1;
        self.objects.push(false);
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.indent -= 1;
        if self.objects.pop().unwrap_or(false) {
            self.newline_indent(w, self.indent)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if let Some(has_key) = self.objects.last_mut() {
            *has_key = true;
        }
        if !first {
            w.write_all(b",")?;
        }
        self.newline_indent(w, self.indent)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Writes `value` as JSON in the report layout.
pub(crate) fn to_writer<W: Write, T: ?Sized + serde::Serialize>(
    w: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, ReportFormatter::default());
    value.serialize(&mut ser)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn render(v: &Value) -> String {
        let mut out = Vec::new();
        to_writer(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numeric_arrays_inline_objects_and_strings_one_per_line() {
        let v = json!({
            "a": [1.5, -2.0, 3e-300, null, true],
            "b": {"c": [], "d": {}, "e": "x"},
            "f": ["p", "q"],
            "g": [[1, 2], [3]],
            "h": [{"k": 1}],
        });
        let text = render(&v);
        let expected = "{\n  \"a\": [1.5,-2.0,3e-300,null,true],\n  \"b\": {\n    \"c\": [],\n    \
                        \"d\": {},\n    \"e\": \"x\"\n  },\n  \"f\": [\n    \"p\",\n    \"q\"\n  ],\n  \
                        \"g\": [\n    [1,2],\n    [3]\n  ],\n  \"h\": [\n    {\n      \"k\": 1\n    }\n  ]\n}";
        assert_eq!(text, expected);
    }

    #[test]
    fn reads_back_bit_for_bit() {
        // Shortest round-trip digits: every value parses back to the same bits.
        let xs: Vec<f64> = (1..200)
            .map(|i| (i as f64).sqrt() * 10f64.powi(i % 40 - 20))
            .collect();
        let v = json!({"loads": xs, "nested": [[0.1, 0.2], [1e-12]], "s": "t"});
        let back: Value = serde_json::from_str(&render(&v)).unwrap();
        let got: Vec<f64> = back["loads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), xs.len());
        for (a, b) in got.iter().zip(&xs) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(back["nested"], v["nested"]);
        assert_eq!(back["s"], "t");
    }
}
