//! The layout of `dr … --json`: objects one key per line (indented two spaces, like
//! `serde_json`'s pretty printer), arrays of numbers, booleans and nulls on one line, arrays
//! holding strings, objects or arrays one element per line.
//!
//! Per-customer columns are the bulk of a large report: written one number per line they
//! cost an indentation and a newline per number (10^6 customers: 99 MB, of which about a
//! third is layout). On one line each number costs its digits and a comma. The numbers
//! themselves are `serde_json`'s (shortest round-trip), so the values read back bit for bit.
//!
//! Formatting the numbers is most of the cost of a large report (~30 ns each single-threaded;
//! 10^6 customers' loads and bids are 4·10^6 numbers). The formatter therefore buffers the
//! consecutive floating-point elements of an array (at most [`BATCH`] at a time, so memory
//! stays bounded) and formats a batch in parallel over fixed chunks of [`CHUNK`] numbers,
//! written in order: the bytes are exactly those of the sequential layout, for any number of
//! threads.

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
    /// Consecutive array elements that are floating-point numbers (NaN stands for `null`),
    /// not yet written; see [`ReportFormatter::flush_numbers`].
    numbers: Vec<f64>,
    /// Whether the first buffered number is its array's first element (no comma before it).
    numbers_first: bool,
    /// The text of a batch, one fixed slice per chunk, formatted in parallel (reused between
    /// batches).
    text: Vec<u8>,
}

/// Numbers formatted per parallel task (fixed, so the output never depends on the threads).
pub(crate) const CHUNK: usize = 1 << 14;
/// Numbers buffered before a batch is formatted and written (bounds the buffer: 8 MiB of
/// numbers, about 20 MiB of text).
pub(crate) const BATCH: usize = 1 << 20;
/// Below this many buffered numbers a batch is formatted on the calling thread.
const PARALLEL_FROM: usize = 1 << 15;

/// Room for one element: a comma and a shortest round-trip `f64` (at most 24 characters,
/// e.g. `-2.2250738585072014e-308`) or `null`, with a margin. Should a number ever take more,
/// the write into its chunk's slice fails with an error instead of truncating.
const MAX_NUMBER_BYTES: usize = 32;

/// Writes `,x` for each number (`null` for NaN) to `out`.
fn format_numbers<W: Write>(xs: &[f64], out: &mut W) -> io::Result<()> {
    let mut compact = serde_json::ser::CompactFormatter;
    for &x in xs {
        out.write_all(b",")?;
        if x.is_nan() {
            out.write_all(b"null")?;
        } else {
            compact.write_f64(out, x)?;
        }
    }
    Ok(())
}

impl ReportFormatter {
    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    /// Buffers a floating-point array element (NaN for `null`) or, outside an array, writes
    /// it. Returns whether it was buffered.
    fn buffer_number<W: ?Sized + Write>(&mut self, w: &mut W, x: f64) -> io::Result<bool> {
        let Some(first) = self.pending.take() else {
            return Ok(false);
        };
        if self.numbers.is_empty() {
            self.numbers_first = first;
            if self.numbers.capacity() == 0 {
                // Reserved, not touched: only the pages a report fills are mapped.
                self.numbers.reserve_exact(BATCH);
            }
        }
        self.numbers.push(x);
        if self.numbers.len() >= BATCH {
            self.flush_numbers(w)?;
        }
        Ok(true)
    }

    /// Writes the buffered numbers, with the commas the sequential layout has between them:
    /// formatted in parallel over fixed chunks when there are many, written in order.
    fn flush_numbers<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.numbers.is_empty() {
            return Ok(());
        }
        let skip = usize::from(self.numbers_first);
        if self.numbers.len() < PARALLEL_FROM {
            let mut out = Vec::with_capacity(self.numbers.len() * 24);
            format_numbers(&self.numbers, &mut out)?;
            w.write_all(&out[skip..])?;
        } else {
            use rayon::prelude::*;
            // One text buffer for the batch, each chunk formatting into its own fixed slice
            // (a number takes at most MAX_NUMBER_BYTES), kept between batches: after the first
            // batch no fresh memory is touched (each fresh page is a fault).
            let chunks = self.numbers.len().div_ceil(CHUNK);
            let span = CHUNK * MAX_NUMBER_BYTES;
            if self.text.len() < chunks * span {
                // Fresh zeroed memory (no fill pass: the allocator's pages come zeroed).
                self.text = vec![0; chunks * span];
            }
            let lengths: Vec<usize> = self.text[..chunks * span]
                .par_chunks_mut(span)
                .zip(self.numbers.par_chunks(CHUNK))
                .map(|(out, xs)| {
                    let room = out.len();
                    let mut cursor: &mut [u8] = out;
                    format_numbers(xs, &mut cursor)?;
                    Ok(room - cursor.len())
                })
                .collect::<io::Result<_>>()?;
            for (k, &len) in lengths.iter().enumerate() {
                let from = k * span + if k == 0 { skip } else { 0 };
                w.write_all(&self.text[from..k * span + len])?;
            }
        }
        self.numbers.clear();
        self.numbers_first = false;
        Ok(())
    }

    /// Writes the separator owed before an array element: inline for a scalar, on its own
    /// line otherwise. Buffered numbers are written first.
    fn element<W: ?Sized + Write>(&mut self, w: &mut W, scalar: bool) -> io::Result<()> {
        self.flush_numbers(w)?;
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
        if self.buffer_number(w, f64::NAN)? {
            return Ok(());
        }
        self.element(w, true)?;
        w.write_all(b"null")
    }

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        // serde_json writes non-finite floats as `null` (write_null), so `value` is finite.
        if self.buffer_number(w, value)? {
            return Ok(());
        }
        self.element(w, true)?;
        serde_json::ser::CompactFormatter.write_f64(w, value)
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
        self.flush_numbers(w)?;
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
        self.flush_numbers(w)?;
        self.indent -= 1;
        if self.objects.pop().unwrap_or(false) {
            self.newline_indent(w, self.indent)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.flush_numbers(w)?;
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

    #[test]
    fn buffered_numbers_equal_the_compact_layout_for_any_thread_count() {
        // A column longer than a batch, with nulls and integers between the floats: the inline
        // array is exactly serde_json's compact rendering of it, for 1 and 4 threads.
        // Integers (which end a run of buffered floats) only in the first 50 000 elements;
        // after them a run longer than a batch (a full batch is written mid-array), and a
        // short tail.
        let n = 50_000 + BATCH + CHUNK + 7;
        let xs: Vec<Value> = (0..n)
            .map(|i| match i % 9973 {
                0 => Value::Null,
                1 if i < 50_000 => json!(i),
                _ => json!((i as f64).sin() * 10f64.powi((i % 31) as i32 - 15)),
            })
            .collect();
        let v = json!({"loads": xs, "after": [0.5, "s", 1.5]});
        let expected = format!(
            "{{\n  \"after\": [0.5,\n    \"s\",1.5\n  ],\n  \"loads\": {}\n}}",
            serde_json::to_string(&v["loads"]).unwrap()
        );
        for threads in [1, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let text = pool.install(|| render(&v));
            assert!(text == expected, "layout differs with {threads} threads");
        }
    }
}
