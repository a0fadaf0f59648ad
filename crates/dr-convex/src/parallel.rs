//! Deterministic parallel reductions.
//!
//! Results in this workspace do not depend on the number of threads: every reduction over a
//! population splits the index range into fixed-size chunks ([`CHUNK`]), reduces each chunk
//! sequentially, and combines the chunk results in chunk order. Whether the chunks run on one
//! thread or many, the floating-point operations — and so the bits — are the same.

use rayon::prelude::*;
use std::ops::Range;

/// Chunk length of every deterministic reduction (fixed, independent of the thread count).
pub const CHUNK: usize = 4096;

/// Default population size from which reductions run on the rayon pool.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 1 << 16;

/// Reduces `0..n` by chunks: `map` folds one chunk into an accumulator, `combine` merges
/// accumulators left to right in chunk order. Runs on rayon when `n >= threshold`.
pub fn chunked_reduce<A, M, C>(n: usize, threshold: usize, identity: A, map: M, combine: C) -> A
where
    A: Send + Sync + Clone,
    M: Fn(Range<usize>) -> A + Sync + Send,
    C: Fn(A, A) -> A + Sync + Send,
{
    let chunks = n.div_ceil(CHUNK);
    let range_of = |c: usize| c * CHUNK..((c + 1) * CHUNK).min(n);
    if n >= threshold && chunks > 1 {
        let partials: Vec<A> = (0..chunks)
            .into_par_iter()
            .map(|c| map(range_of(c)))
            .collect();
        partials.into_iter().fold(identity, &combine)
    } else {
        (0..chunks)
            .map(|c| map(range_of(c)))
            .fold(identity, &combine)
    }
}

/// Deterministic sum of `term(i)` over `0..n` (chunked, see [`chunked_reduce`]).
pub fn deterministic_sum<T>(n: usize, threshold: usize, term: T) -> f64
where
    T: Fn(usize) -> f64 + Sync + Send,
{
    chunked_reduce(
        n,
        threshold,
        0.0,
        |r| {
            let mut s = 0.0;
            for i in r {
                s += term(i);
            }
            s
        },
        |a, b| a + b,
    )
}

/// Fills `out[i] = value(i)` (in parallel above `threshold`, by the same chunks).
pub fn fill<T>(out: &mut [f64], threshold: usize, value: T)
where
    T: Fn(usize) -> f64 + Sync + Send,
{
    if out.len() >= threshold {
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let base = c * CHUNK;
                for (k, o) in chunk.iter_mut().enumerate() {
                    *o = value(base + k);
                }
            });
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = value(i);
        }
    }
}

/// Writes the text of `chunks` fixed chunks to `w` in chunk order: `format(c)` renders chunk
/// `c`, `batch` chunks at a time (on the rayon pool when `parallel`), so at most `batch`
/// chunks' text is held at once and the bytes never depend on the number of threads. Used by
/// the per-customer CSV writers of the model crates.
pub fn write_chunks_in_order<W, F>(
    w: &mut W,
    chunks: usize,
    batch: usize,
    parallel: bool,
    format: F,
) -> std::io::Result<()>
where
    W: std::io::Write + ?Sized,
    F: Fn(usize) -> Vec<u8> + Sync + Send,
{
    let batch = batch.max(1);
    let mut c = 0;
    while c < chunks {
        let end = (c + batch).min(chunks);
        let parts: Vec<Vec<u8>> = if parallel {
            (c..end).into_par_iter().map(&format).collect()
        } else {
            (c..end).map(&format).collect()
        };
        for p in &parts {
            w.write_all(p)?;
        }
        c = end;
    }
    Ok(())
}
