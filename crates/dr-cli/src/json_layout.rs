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
use std::sync::mpsc;

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
    /// not yet formatted; see [`ReportFormatter::flush_numbers`].
    numbers: Vec<f64>,
    /// Whether the first buffered number is its array's first element (no comma before it).
    numbers_first: bool,
    /// The previous full batch, being formatted on the thread pool while the serializer
    /// buffers the next one; written before anything that follows it.
    in_flight: Option<mpsc::Receiver<(Batch, io::Result<()>)>>,
    /// Batches written, kept for their buffers (after the first two batches no fresh memory
    /// is touched: each fresh page is a fault).
    spare: Vec<Batch>,
}

/// Numbers formatted per parallel task (fixed, so the output never depends on the threads).
pub(crate) const CHUNK: usize = 1 << 12;
/// Numbers buffered before a batch is formatted and written (bounds the buffers: a batch is
/// 512 KiB of numbers and 2 MiB of text slots, and at most three batches exist at a time).
pub(crate) const BATCH: usize = 1 << 16;
/// Below this many buffered numbers a batch is formatted on the calling thread.
const PARALLEL_FROM: usize = 1 << 13;

/// Room for one element: a comma and a shortest round-trip `f64` (at most 24 characters,
/// e.g. `-2.2250738585072014e-308`) or `null`, with a margin. Should a number ever take more,
/// the write into its chunk's slice fails with an error instead of truncating.
const MAX_NUMBER_BYTES: usize = 32;

/// Writes `,x` for each number of `xs` (`null` for NaN) into `out`, returning the bytes
/// written; the digits are `serde_json`'s (its compact formatter calls `zmij` the same way).
/// An element is written into a slot of [`MAX_NUMBER_BYTES`] with fixed-size moves (no
/// library call per number); fails, without truncating, when `out` has no room for a slot.
///
/// Four numbers are formatted, each into its own buffer, before the four are copied out: a
/// number's digits are read back only after its buffer's many small stores have retired,
/// instead of stalling on them (store-to-load forwarding fails on such a read).
fn format_numbers(xs: &[f64], out: &mut [u8]) -> io::Result<usize> {
    let mut digits: [zmij::Buffer; 4] = Default::default();
    let mut at = 0;
    let mut groups = xs.chunks_exact(4);
    for group in &mut groups {
        let [d0, d1, d2, d3] = &mut digits;
        let texts = [
            number_text(d0, group[0]),
            number_text(d1, group[1]),
            number_text(d2, group[2]),
            number_text(d3, group[3]),
        ];
        for text in texts {
            at = put_element(out, at, text)?;
        }
    }
    for &x in groups.remainder() {
        at = put_element(out, at, number_text(&mut digits[0], x))?;
    }
    Ok(at)
}

/// The JSON text of an array element: shortest round-trip digits, `null` for NaN.
#[inline(always)]
fn number_text(digits: &mut zmij::Buffer, x: f64) -> &[u8] {
    if x.is_nan() {
        b"null"
    } else {
        digits.format_finite(x).as_bytes()
    }
}

/// Writes `,text` into the slot of `out` at `at`; returns where the next element starts.
#[inline(always)]
fn put_element(out: &mut [u8], at: usize, text: &[u8]) -> io::Result<usize> {
    let slot: &mut [u8; MAX_NUMBER_BYTES] = out
        .get_mut(at..at + MAX_NUMBER_BYTES)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| io::Error::other("no room left for a formatted number"))?;
    slot[0] = b',';
    put_short(&mut slot[1..], text)?;
    Ok(at + 1 + text.len())
}

/// Copies `src` to the start of `dst` (`dst` at least 24 bytes long) with two overlapping
/// fixed-size moves, as a short `memcpy` would, inline; `src` longer than 24 bytes (never a
/// shortest round-trip `f64`) is an error.
#[inline(always)]
fn put_short(dst: &mut [u8], src: &[u8]) -> io::Result<()> {
    fn word<const K: usize>(dst: &mut [u8], src: &[u8], at: usize) {
        let w: [u8; K] = src[at..at + K].try_into().expect("K bytes");
        dst[at..at + K].copy_from_slice(&w);
    }
    let n = src.len();
    if n > 24 || dst.len() < 24 {
        return Err(io::Error::other("a formatted number longer than its slot"));
    }
    if n >= 16 {
        word::<16>(dst, src, 0);
        word::<8>(dst, src, n - 8);
    } else if n >= 8 {
        word::<8>(dst, src, 0);
        word::<8>(dst, src, n - 8);
    } else if n >= 4 {
        word::<4>(dst, src, 0);
        word::<4>(dst, src, n - 4);
    } else {
        // Never a JSON number (at least `0.0`); a byte loop, not a library call.
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
    Ok(())
}

/// A batch of numbers and their text: one fixed slice of [`CHUNK`] slots per chunk.
#[derive(Debug, Default)]
struct Batch {
    numbers: Vec<f64>,
    /// Whether the first number is its array's first element (no comma before it).
    first: bool,
    text: Vec<u8>,
    /// The bytes written into each chunk's slice.
    lengths: Vec<usize>,
}

impl Batch {
    /// Formats the numbers, over fixed chunks (in parallel when there are many, so the bytes
    /// never depend on the threads).
    fn format(&mut self) -> io::Result<()> {
        use rayon::prelude::*;
        let chunks = self.numbers.len().div_ceil(CHUNK);
        let span = CHUNK * MAX_NUMBER_BYTES;
        if self.text.len() < chunks * span {
            // Fresh zeroed memory (no fill pass: the allocator's pages come zeroed).
            self.text = vec![0; chunks * span];
        }
        self.lengths = if self.numbers.len() < PARALLEL_FROM {
            self.text[..chunks * span]
                .chunks_mut(span)
                .zip(self.numbers.chunks(CHUNK))
                .map(|(out, xs)| format_numbers(xs, out))
                .collect::<io::Result<_>>()?
        } else {
            self.text[..chunks * span]
                .par_chunks_mut(span)
                .zip(self.numbers.par_chunks(CHUNK))
                .map(|(out, xs)| format_numbers(xs, out))
                .collect::<io::Result<_>>()?
        };
        Ok(())
    }

    /// Writes the formatted text, without the comma before an array's first element.
    fn write<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        let span = CHUNK * MAX_NUMBER_BYTES;
        for (k, &len) in self.lengths.iter().enumerate() {
            let from = k * span + usize::from(k == 0 && self.first);
            w.write_all(&self.text[from..k * span + len])?;
        }
        Ok(())
    }
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
            self.pass_on_full_batch(w)?;
        }
        Ok(true)
    }

    /// The buffered numbers as a batch (taking a spare batch's buffers); the buffer is left
    /// empty, with room for a batch.
    fn take_batch(&mut self) -> Batch {
        let mut batch = self.spare.pop().unwrap_or_default();
        batch.numbers.clear();
        std::mem::swap(&mut batch.numbers, &mut self.numbers);
        if self.numbers.capacity() < BATCH {
            self.numbers.reserve_exact(BATCH);
        }
        batch.first = std::mem::take(&mut self.numbers_first);
        batch
    }

    /// Waits for the batch being formatted, if any, and writes it.
    fn finish_in_flight<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(rx) = self.in_flight.take() {
            let (batch, formatted) = rx
                .recv()
                .map_err(|_| io::Error::other("a batch of numbers was lost while formatting"))?;
            formatted?;
            batch.write(w)?;
            self.spare.push(batch);
        }
        Ok(())
    }

    /// A full batch: formatted on the thread pool while the serializer buffers the next one;
    /// the batch before it is written meanwhile (written in order, so the bytes are those of
    /// the sequential layout).
    ///
    /// On a thread of a rayon pool (a library caller inside `install`) the batch is formatted
    /// and written at once instead: waiting there for a spawned task could wait for itself.
    fn pass_on_full_batch<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if rayon::current_thread_index().is_some() {
            return self.flush_numbers(w);
        }
        let previous = self.in_flight.take();
        let mut batch = self.take_batch();
        let (tx, rx) = mpsc::channel();
        rayon::spawn(move || {
            let formatted = batch.format();
            // The receiver is gone only when serializing stopped with an error.
            let _ = tx.send((batch, formatted));
        });
        self.in_flight = previous;
        self.finish_in_flight(w)?;
        self.in_flight = Some(rx);
        Ok(())
    }

    /// Writes the buffered numbers (and the batch still being formatted before them), with
    /// the commas the sequential layout has between them.
    fn flush_numbers<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.finish_in_flight(w)?;
        if self.numbers.is_empty() {
            return Ok(());
        }
        let mut batch = self.take_batch();
        batch.format()?;
        batch.write(w)?;
        self.spare.push(batch);
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
        // after them a run of three batches and more (full batches are formatted on the pool
        // while the next is buffered, and written mid-array), and a short tail.
        let n = 50_000 + 3 * BATCH + CHUNK + 7;
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
            // Inside a pool, batches are formatted in place.
            let text = pool.install(|| render(&v));
            assert!(text == expected, "layout differs with {threads} threads");
        }
        // From a thread outside any pool (as `dr` runs), full batches are formatted on the
        // global pool while the next is buffered.
        let v = std::sync::Arc::new(v);
        let shared = std::sync::Arc::clone(&v);
        let text = std::thread::spawn(move || render(&shared)).join().unwrap();
        assert!(text == expected, "the pipelined layout differs");
    }

    #[test]
    fn short_copies_equal_a_plain_copy_for_every_length() {
        let src: Vec<u8> = (b'a'..=b'z').collect();
        for n in 0..=24 {
            let mut dst = [b'#'; 30];
            put_short(&mut dst, &src[..n]).unwrap();
            assert_eq!(&dst[..n], &src[..n], "length {n}");
            assert!(
                dst[n..].iter().all(|&b| b == b'#'),
                "length {n} wrote past its end"
            );
        }
        assert!(put_short(&mut [0; 30], &src[..25]).is_err());
        assert!(put_short(&mut [0; 23], &src[..3]).is_err());
    }

    #[test]
    fn formatting_into_too_small_a_slice_is_an_error_not_a_truncation() {
        // Room for one slot and a little: one number fits, the second's slot does not.
        let mut out = [0u8; MAX_NUMBER_BYTES + 2];
        assert_eq!(format_numbers(&[0.5], &mut out).unwrap(), 4);
        assert_eq!(&out[..4], b",0.5");
        assert!(format_numbers(&[0.5, 1.5], &mut out).is_err());
    }
}
