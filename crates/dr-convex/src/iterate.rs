//! One way to iterate: the distributed market algorithms of the papers as steppers run by an
//! executor, watched by observers (the solver / executor / observer shape of argmin).
//!
//! # Method
//! - A [`Stepper`] plays **one round** of a distributed algorithm per [`Stepper::step`]
//!   (e.g. the utility announces a price, every customer replies, the utility updates) and
//!   returns a typed round record ([`Stepper::Round`]) together with the stepper's own verdict
//!   ([`Step`]): its convergence test, or a failure only it can see (a non-finite value, a
//!   stalled update, a non-positive price).
//! - The [`Executor`] runs a stepper until it stops, adding the stopping rules every
//!   algorithm shares: a round limit, an optional wall-clock limit, and the one
//!   [`OscillationDetector`] (for steppers that expose an [`Swing`] per round).
//! - [`Observer`]s see every round after it is played: trace collection
//!   ([`Trace`], modes [`TraceMode::Never`] / [`TraceMode::Always`] / [`TraceMode::Every`]),
//!   progress reports ([`progress`]) and user callbacks ([`callback`]) that may stop the run
//!   ([`Termination::Stopped`]).
//! - A run ends with exactly one [`Termination`] and returns a [`Run`]: the stepper (to read
//!   its final state), the termination, the number of rounds, the last round record and the
//!   trace if one was collected.
//!
//! Order of the tests after round `k` (0-based, `k + 1` rounds played): the stepper's verdict,
//! then the observers (a stop request), then the oscillation detector, then the round limit,
//! then the wall-clock limit.
//!
//! ## Oscillation (*one rule for every algorithm*)
//! A stepper that can oscillate reports per round a [`Swing`]: a non-negative `size`
//! (e.g. `|mismatch|` or a fixed-point residual) and a signed `direction` (e.g. the signed
//! mismatch or the largest signed change of the iterate). With window `W` the run is
//! *oscillating* once `2W` rounds are available and, over the last `2W` rounds,
//! 1. the direction changed sign (`d_k d_{k+1} < 0`) at least `⌊W/2⌋` times, and
//! 2. the size did not shrink: `max` of the last `W` sizes `≥ 0.95 ×` the `max` of the `W`
//!    before.
//!
//! A converging iteration fails (2) (its size shrinks geometrically); a monotone drift fails
//! (1). This is the situation of a fixed step above its stability bound
//! (chen-li-low-doyle-2010 §V: "the system may only approach to within a certain
//! neighborhood"; li-chen-dahleh-2015 §V), where the iterate keeps jumping across the fixed
//! point without approaching it.
//!
//! ## Reference
//! The executor/observer split follows argmin (`core/executor.rs`, `core/observers`); the
//! algorithms themselves are cited in their model crates.
//!
//! ```
//! use dr_convex::{callback, Executor, Step, Stepper, Termination, TraceMode};
//! use std::ops::ControlFlow;
//! // Fixed-point iteration x ← x/2 + 1 (fixed point 2), converged at |x − 2| ≤ 1e-9 · 2.
//! struct Halving { x: f64 }
//! impl Stepper for Halving {
//!     type Round = f64;
//!     fn step(&mut self) -> Step<f64> {
//!         let x = self.x;
//!         if (x - 2.0).abs() <= 1e-9 * 2.0 {
//!             return Step::Last(x, Termination::Converged);
//!         }
//!         self.x = 0.5 * x + 1.0;
//!         Step::Next(x)
//!     }
//! }
//! let run = Executor::new(Halving { x: 0.0 }).max_rounds(100).trace(TraceMode::Every(10)).run();
//! assert_eq!(run.termination, Termination::Converged);
//! assert!((run.last.unwrap() - 2.0).abs() <= 4e-9);
//! // A user callback may stop the run early.
//! let mut stop = callback(|x: &f64| if *x > 1.5 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) });
//! let run = Executor::new(Halving { x: 0.0 }).observe(&mut stop).run();
//! assert_eq!(run.termination, Termination::Stopped);
//! assert_eq!(run.rounds, 4); // x = 0, 1, 1.5, then 1.75 > 1.5 stops the run
//! assert_eq!(run.last, Some(1.75));
//! ```

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Why an iterative run stopped: one reason for every distributed algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Termination {
    /// The stepper's own convergence test holds (e.g. the relative mismatch or residual is at
    /// most its tolerance).
    Converged,
    /// The round limit was reached first.
    MaxRounds,
    /// The iterate keeps changing direction without approaching a fixed point (a step too
    /// large; see the module docs for the one rule).
    Oscillating,
    /// A value became non-finite, grew beyond the stepper's divergence bound, or a reply did
    /// not exist.
    Diverged,
    /// The update stopped moving the iterate before the tolerance was met.
    Stalled,
    /// An update produced a price `≤ 0` at a (flat) entry of the price vector, which the
    /// algorithm excludes (e.g. alshehri-liu-chen-basar Theorem 4 needs positive prices).
    NonPositivePrice {
        /// The entry of the flat price vector.
        entry: usize,
    },
    /// An observer (e.g. a user callback) asked the run to stop.
    Stopped,
    /// The wall-clock limit of the executor was reached.
    TimeLimit,
}

impl Termination {
    /// Whether the run converged.
    pub fn is_converged(self) -> bool {
        self == Termination::Converged
    }

    /// A short snake_case name (the same as the serde name of the variant).
    pub fn name(self) -> &'static str {
        match self {
            Termination::Converged => "converged",
            Termination::MaxRounds => "max_rounds",
            Termination::Oscillating => "oscillating",
            Termination::Diverged => "diverged",
            Termination::Stalled => "stalled",
            Termination::NonPositivePrice { .. } => "non_positive_price",
            Termination::Stopped => "stopped",
            Termination::TimeLimit => "time_limit",
        }
    }
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one [`Stepper::step`] produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<R> {
    /// A round was played; the stepper sees no reason to stop.
    Next(R),
    /// A round was played and the stepper's own test ends the run with it (e.g. converged).
    Last(R, Termination),
    /// No round could be played (e.g. applying the last round's update failed); the run ends.
    Halt(Termination),
}

/// The size and direction of one round, for the [`OscillationDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Swing {
    /// A non-negative size that a converging run drives to zero (`|mismatch|`, a residual).
    pub size: f64,
    /// A signed quantity whose sign flips when the iterate jumps across the fixed point
    /// (the signed mismatch, the largest signed change); `0` counts as no flip.
    pub direction: f64,
}

/// One round of a distributed algorithm per call (see the module docs).
pub trait Stepper {
    /// The record of one round (announced prices, replies, residuals …).
    type Round;

    /// Plays one round. After a [`Step::Last`] or [`Step::Halt`] the executor does not call
    /// it again.
    fn step(&mut self) -> Step<Self::Round>;

    /// The round's [`Swing`] for the oscillation detector; `None` (the default) when the
    /// algorithm has no signed quantity to watch.
    fn swing(&self, _round: &Self::Round) -> Option<Swing> {
        None
    }
}

/// A stepper borrowed mutably is a stepper: run it with an [`Executor`] and keep it after
/// the run.
impl<S: Stepper + ?Sized> Stepper for &mut S {
    type Round = S::Round;
    fn step(&mut self) -> Step<S::Round> {
        (**self).step()
    }
    fn swing(&self, round: &S::Round) -> Option<Swing> {
        (**self).swing(round)
    }
}

/// The one oscillation test (module docs, "Oscillation"): window `W`, sign flips over the
/// last `2W` rounds at least `⌊W/2⌋`, and no shrinking by 5% between the two halves.
#[derive(Debug, Clone, PartialEq)]
pub struct OscillationDetector {
    window: usize,
    history: VecDeque<Swing>,
}

impl OscillationDetector {
    /// Shrink factor of the test: the last window's largest size must stay above this
    /// fraction of the previous window's.
    pub const SHRINK: f64 = 0.95;

    /// A detector with window `W` (at least 2; smaller values are raised to 2).
    pub fn new(window: usize) -> Self {
        let window = window.max(2);
        Self {
            window,
            history: VecDeque::with_capacity(2 * window),
        }
    }

    /// The window `W`.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Adds one round's swing; returns whether the run is now oscillating.
    pub fn push(&mut self, swing: Swing) -> bool {
        let w = self.window;
        if self.history.len() == 2 * w {
            self.history.pop_front();
        }
        self.history.push_back(swing);
        if self.history.len() < 2 * w {
            return false;
        }
        let flips = self
            .history
            .iter()
            .zip(self.history.iter().skip(1))
            .filter(|(a, b)| a.direction * b.direction < 0.0)
            .count();
        let largest = |it: &mut dyn Iterator<Item = &Swing>| it.map(|s| s.size).fold(0.0, f64::max);
        let before = largest(&mut self.history.iter().take(w));
        let recent = largest(&mut self.history.iter().skip(w));
        flips >= w / 2 && recent >= Self::SHRINK * before
    }
}

/// When an observer or trace acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceMode {
    /// Never (no trace).
    #[default]
    Never,
    /// Every round.
    Always,
    /// Rounds whose index `k` (0-based) is a multiple of `n` (`n = 0` acts as 1), and always
    /// the last round of the run.
    Every(usize),
}

impl TraceMode {
    /// Whether round `index` is kept (the last round is added by the trace separately).
    pub fn keeps(self, index: usize) -> bool {
        match self {
            TraceMode::Never => false,
            TraceMode::Always => true,
            TraceMode::Every(n) => index % n.max(1) == 0,
        }
    }
}

/// Sees every round after it is played; may ask the run to stop.
pub trait Observer<S: Stepper> {
    /// Called after round `index` (0-based) with its record and the stepper's state after it.
    /// Returning `ControlFlow::Break(())` ends the run with [`Termination::Stopped`] (unless
    /// the stepper already ended it).
    fn observe(&mut self, index: usize, round: &S::Round, stepper: &S) -> ControlFlow<()>;

    /// Called once when the run has ended, with the reason and the rounds played.
    fn finish(&mut self, _termination: Termination, _rounds: usize) {}
}

/// A user callback on each round record (see [`callback`]).
pub struct Callback<F>(F);

/// Wraps a closure `FnMut(&Round) -> ControlFlow<()>` as an [`Observer`]; `Break` stops
/// the run ([`Termination::Stopped`]).
pub fn callback<F>(f: F) -> Callback<F> {
    Callback(f)
}

impl<S: Stepper, F: FnMut(&S::Round) -> ControlFlow<()>> Observer<S> for Callback<F> {
    fn observe(&mut self, _index: usize, round: &S::Round, _stepper: &S) -> ControlFlow<()> {
        (self.0)(round)
    }
}

/// Progress of a run, handed to a [`progress`] hook after every round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// `rounds` rounds have been played (of at most `limit`, when the executor has one).
    Round {
        /// Rounds played so far.
        rounds: usize,
        /// The executor's round limit, if any.
        limit: Option<usize>,
    },
    /// The run ended.
    Finished {
        /// Why.
        termination: Termination,
        /// Rounds played.
        rounds: usize,
    },
}

/// A progress-report hook (see [`progress`]).
pub struct ProgressHook<F> {
    report: F,
    limit: Option<usize>,
}

/// Wraps a closure `FnMut(Progress)` as an [`Observer`] that reports after every round and
/// once at the end; `limit` is passed through (e.g. the run's round limit, for a bar length).
pub fn progress<F: FnMut(Progress)>(limit: Option<usize>, report: F) -> ProgressHook<F> {
    ProgressHook { report, limit }
}

impl<S: Stepper, F: FnMut(Progress)> Observer<S> for ProgressHook<F> {
    fn observe(&mut self, index: usize, _round: &S::Round, _stepper: &S) -> ControlFlow<()> {
        (self.report)(Progress::Round {
            rounds: index + 1,
            limit: self.limit,
        });
        ControlFlow::Continue(())
    }
    fn finish(&mut self, termination: Termination, rounds: usize) {
        (self.report)(Progress::Finished {
            termination,
            rounds,
        });
    }
}

type Recorder<'o, S> = Box<dyn FnMut(&S, &<S as Stepper>::Round) -> <S as Stepper>::Round + 'o>;

/// A trace observer: keeps the records of the rounds its [`TraceMode`] selects (and the last
/// round for [`TraceMode::Every`]), each paired with its round index.
///
/// With [`TraceMode::Every`] the recorder also runs on the rounds in between (the latest is
/// held until the next round in case it is the last), so a costly recorder costs every round;
/// only the memory is saved.
pub struct Trace<'o, S: Stepper> {
    mode: TraceMode,
    record: Recorder<'o, S>,
    rounds: Vec<(usize, S::Round)>,
    pending: Option<(usize, S::Round)>,
}

impl<'o, S: Stepper> Trace<'o, S>
where
    S::Round: Clone,
{
    /// Keeps clones of the selected round records.
    pub fn new(mode: TraceMode) -> Self {
        Self::with(mode, |_, r: &S::Round| r.clone())
    }
}

impl<'o, S: Stepper> Trace<'o, S> {
    /// Keeps `record(stepper, round)` for the selected rounds (e.g. a record completed with
    /// data the stepper holds, such as the first customers' replies).
    pub fn with(mode: TraceMode, record: impl FnMut(&S, &S::Round) -> S::Round + 'o) -> Self {
        Self {
            mode,
            record: Box::new(record),
            rounds: Vec::new(),
            pending: None,
        }
    }

    /// The kept records with their round indices.
    pub fn rounds(&self) -> &[(usize, S::Round)] {
        &self.rounds
    }

    /// The kept records, in order.
    pub fn into_records(self) -> Vec<S::Round> {
        self.rounds.into_iter().map(|(_, r)| r).collect()
    }
}

impl<S: Stepper> Observer<S> for Trace<'_, S> {
    fn observe(&mut self, index: usize, round: &S::Round, stepper: &S) -> ControlFlow<()> {
        if self.mode.keeps(index) {
            self.pending = None;
            self.rounds.push((index, (self.record)(stepper, round)));
        } else if matches!(self.mode, TraceMode::Every(_)) {
            // Held until the next round: kept only if it turns out to be the last one.
            self.pending = Some((index, (self.record)(stepper, round)));
        }
        ControlFlow::Continue(())
    }
    fn finish(&mut self, _termination: Termination, _rounds: usize) {
        if let Some(last) = self.pending.take() {
            self.rounds.push(last);
        }
    }
}

/// The outcome of [`Executor::run`].
pub struct Run<S: Stepper> {
    /// The stepper in its final state.
    pub stepper: S,
    /// Why the run stopped.
    pub termination: Termination,
    /// Rounds played (round records produced).
    pub rounds: usize,
    /// The record of the last round played, if any.
    pub last: Option<S::Round>,
    /// The trace, if the executor collected one ([`Executor::trace`]).
    pub trace: Option<Vec<S::Round>>,
}

impl<S: Stepper> std::fmt::Debug for Run<S>
where
    S::Round: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("termination", &self.termination)
            .field("rounds", &self.rounds)
            .field("last", &self.last)
            .field("trace", &self.trace)
            .finish_non_exhaustive()
    }
}

/// Runs a [`Stepper`] with the shared stopping rules and observers (module docs).
pub struct Executor<'o, S: Stepper> {
    stepper: S,
    max_rounds: Option<usize>,
    time_limit: Option<Duration>,
    oscillation: Option<OscillationDetector>,
    trace: Option<Trace<'o, S>>,
    observers: Vec<&'o mut dyn Observer<S>>,
}

impl<'o, S: Stepper> Executor<'o, S> {
    /// An executor with no limits, no oscillation test, no trace and no observers.
    pub fn new(stepper: S) -> Self {
        Self {
            stepper,
            max_rounds: None,
            time_limit: None,
            oscillation: None,
            trace: None,
            observers: Vec::new(),
        }
    }

    /// Stops with [`Termination::MaxRounds`] after `rounds` round records (`0` plays none).
    pub fn max_rounds(mut self, rounds: usize) -> Self {
        self.max_rounds = Some(rounds);
        self
    }

    /// Stops with [`Termination::TimeLimit`] once `limit` of wall-clock time has passed
    /// (checked after each round). The rounds played then depend on the machine.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// Watches the stepper's [`Swing`]s with the shared [`OscillationDetector`] of window
    /// `window` ([`Termination::Oscillating`]).
    pub fn oscillation(mut self, window: usize) -> Self {
        self.oscillation = Some(OscillationDetector::new(window));
        self
    }

    /// Collects a trace of round records in [`Run::trace`] (mode [`TraceMode::Never`]
    /// collects none).
    pub fn trace(self, mode: TraceMode) -> Self
    where
        S::Round: Clone,
    {
        self.trace_with(mode, |_, r: &S::Round| r.clone())
    }

    /// Collects a trace of `record(stepper, round)` for the rounds `mode` selects.
    pub fn trace_with(
        mut self,
        mode: TraceMode,
        record: impl FnMut(&S, &S::Round) -> S::Round + 'o,
    ) -> Self {
        self.trace = (mode != TraceMode::Never).then(|| Trace::with(mode, record));
        self
    }

    /// Adds an observer (a [`Trace`], a [`progress`] hook, a [`callback`], or your own).
    pub fn observe(mut self, observer: &'o mut dyn Observer<S>) -> Self {
        self.observers.push(observer);
        self
    }

    /// The stepper (e.g. to read its starting state).
    pub fn stepper(&self) -> &S {
        &self.stepper
    }

    /// Runs until a termination (module docs for the order of the tests).
    pub fn run(mut self) -> Run<S> {
        let start = self.time_limit.map(|_| Instant::now());
        let mut rounds = 0usize;
        let mut last = None;
        let termination = loop {
            if self.max_rounds.is_some_and(|m| rounds >= m) {
                break Termination::MaxRounds;
            }
            let (round, verdict) = match self.stepper.step() {
                Step::Next(r) => (r, None),
                Step::Last(r, t) => (r, Some(t)),
                Step::Halt(t) => break t,
            };
            let index = rounds;
            rounds += 1;
            let mut stop = false;
            if let Some(trace) = self.trace.as_mut() {
                let _ = trace.observe(index, &round, &self.stepper);
            }
            for o in self.observers.iter_mut() {
                stop |= o.observe(index, &round, &self.stepper).is_break();
            }
            let swing = self.stepper.swing(&round);
            last = Some(round);
            if let Some(t) = verdict {
                break t;
            }
            if stop {
                break Termination::Stopped;
            }
            if let (Some(detector), Some(swing)) = (self.oscillation.as_mut(), swing) {
                if detector.push(swing) {
                    break Termination::Oscillating;
                }
            }
            if self.max_rounds.is_some_and(|m| rounds >= m) {
                break Termination::MaxRounds;
            }
            if let (Some(limit), Some(start)) = (self.time_limit, start) {
                if start.elapsed() >= limit {
                    break Termination::TimeLimit;
                }
            }
        };
        let trace = self.trace.map(|mut t| {
            Observer::<S>::finish(&mut t, termination, rounds);
            t.into_records()
        });
        for o in self.observers.iter_mut() {
            o.finish(termination, rounds);
        }
        Run {
            stepper: self.stepper,
            termination,
            rounds,
            last,
            trace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays a given sequence of (size, direction) rounds, then halts; converges at a round
    /// whose size is 0.
    struct Script {
        rounds: Vec<(f64, f64)>,
        k: usize,
    }

    impl Stepper for Script {
        type Round = (usize, f64, f64);
        fn step(&mut self) -> Step<Self::Round> {
            let Some(&(s, d)) = self.rounds.get(self.k) else {
                return Step::Halt(Termination::Stalled);
            };
            let r = (self.k, s, d);
            self.k += 1;
            if s == 0.0 {
                Step::Last(r, Termination::Converged)
            } else {
                Step::Next(r)
            }
        }
        fn swing(&self, r: &Self::Round) -> Option<Swing> {
            Some(Swing {
                size: r.1,
                direction: r.2,
            })
        }
    }

    fn script(rounds: Vec<(f64, f64)>) -> Script {
        Script { rounds, k: 0 }
    }

    fn swings(seq: &[(f64, f64)], window: usize) -> Option<usize> {
        let mut d = OscillationDetector::new(window);
        seq.iter()
            .position(|&(size, direction)| d.push(Swing { size, direction }))
    }

    #[test]
    fn detector_flags_a_persistent_alternation_at_2w() {
        // e_k = (−1)^k: every round flips, the size never shrinks. Flagged at the first
        // round where 2W samples exist (index 2W − 1).
        let seq: Vec<_> = (0..100)
            .map(|k| (1.0, if k % 2 == 0 { 1.0 } else { -1.0 }))
            .collect();
        assert_eq!(swings(&seq, 8), Some(15));
        assert_eq!(swings(&seq, 32), Some(63));
    }

    #[test]
    fn detector_ignores_a_damped_alternation() {
        // e_k = (−0.9)^k: flips every round but shrinks by 0.9^8 ≈ 0.43 < 0.95 per window.
        let seq: Vec<_> = (0..200)
            .map(|k| {
                let e = (-0.9f64).powi(k);
                (e.abs(), e)
            })
            .collect();
        assert_eq!(swings(&seq, 8), None);
    }

    #[test]
    fn detector_ignores_a_monotone_stall() {
        // Constant size, never flips: not an oscillation (a stall or a slow drift).
        let seq = vec![(1.0, 1.0); 200];
        assert_eq!(swings(&seq, 8), None);
    }

    #[test]
    fn detector_counts_flips_against_half_the_window() {
        // W = 8: 2W = 16 samples, 15 neighbouring pairs; ⌊W/2⌋ = 4 flips needed.
        // Signs + + + + − − − − + + + + − − − − : 3 flips → not oscillating.
        let block = |k: usize| if (k / 4) % 2 == 0 { 1.0 } else { -1.0 };
        let three: Vec<_> = (0..16).map(|k| (1.0, block(k))).collect();
        assert_eq!(swings(&three, 8), None);
        // One more flip (period 4 shifted by one at the end) → 4 flips → oscillating.
        let mut four = three.clone();
        four.push((1.0, 1.0)); // window now k = 1..=16: flips at 3|4, 7|8, 11|12, 15|16
        assert_eq!(swings(&four, 8), Some(16));
    }

    #[test]
    fn detector_uses_five_percent_shrink() {
        // Alternating with geometric shrink r per round; over W = 4 rounds the largest size
        // shrinks by r^4. r^4 = 0.96 ≥ 0.95 → oscillating; r^4 = 0.94 → not.
        let run = |r4: f64| {
            let r = r4.powf(0.25);
            let seq: Vec<_> = (0..40)
                .map(|k| {
                    let s = r.powi(k);
                    (s, if k % 2 == 0 { s } else { -s })
                })
                .collect();
            swings(&seq, 4)
        };
        assert_eq!(run(0.96), Some(7));
        assert_eq!(run(0.94), None);
    }

    #[test]
    fn executor_reports_each_termination() {
        // Converged by the stepper's own test.
        let r = Executor::new(script(vec![(1.0, 1.0), (0.5, 1.0), (0.0, 0.0)])).run();
        assert_eq!((r.termination, r.rounds), (Termination::Converged, 3));
        assert_eq!(r.last, Some((2, 0.0, 0.0)));
        assert!(r.trace.is_none());
        // Halt after the script ends (no record for the halting call).
        let r = Executor::new(script(vec![(1.0, 1.0); 3])).run();
        assert_eq!((r.termination, r.rounds), (Termination::Stalled, 3));
        // Round limit.
        let r = Executor::new(script(vec![(1.0, 1.0); 50]))
            .max_rounds(7)
            .run();
        assert_eq!((r.termination, r.rounds), (Termination::MaxRounds, 7));
        let r = Executor::new(script(vec![(1.0, 1.0); 50]))
            .max_rounds(0)
            .run();
        assert_eq!((r.termination, r.rounds), (Termination::MaxRounds, 0));
        assert!(r.last.is_none());
        // Oscillation (alternating, not shrinking) before the round limit.
        let alt: Vec<_> = (0..50)
            .map(|k| (1.0, if k % 2 == 0 { 1.0 } else { -1.0 }))
            .collect();
        let r = Executor::new(script(alt.clone()))
            .max_rounds(40)
            .oscillation(4)
            .run();
        assert_eq!((r.termination, r.rounds), (Termination::Oscillating, 8));
        // Without the detector the same run goes to the limit.
        let r = Executor::new(script(alt)).max_rounds(40).run();
        assert_eq!((r.termination, r.rounds), (Termination::MaxRounds, 40));
        // The stepper's verdict wins over the limit on the same round.
        let r = Executor::new(script(vec![(1.0, 1.0), (0.0, 0.0)]))
            .max_rounds(2)
            .run();
        assert_eq!(r.termination, Termination::Converged);
        // A zero time limit stops after the first round.
        let r = Executor::new(script(vec![(1.0, 1.0); 5]))
            .time_limit(Duration::ZERO)
            .run();
        assert_eq!((r.termination, r.rounds), (Termination::TimeLimit, 1));
    }

    #[test]
    fn every_k_trace_keeps_multiples_and_the_last_round() {
        // 23 rounds (indices 0..=22), Every(5): 0, 5, 10, 15, 20 and the last, 22.
        let mut seq = vec![(1.0, 1.0); 22];
        seq.push((0.0, 0.0));
        let mut observer = Trace::new(TraceMode::Every(5));
        let r = Executor::new(script(seq.clone()))
            .trace(TraceMode::Every(5))
            .observe(&mut observer)
            .run();
        let kept: Vec<usize> = r.trace.unwrap().iter().map(|x| x.0).collect();
        assert_eq!(kept, vec![0, 5, 10, 15, 20, 22]);
        let idx: Vec<usize> = observer.rounds().iter().map(|x| x.0).collect();
        assert_eq!(idx, kept);
        // A last round that is itself a multiple is not kept twice.
        let mut seq = vec![(1.0, 1.0); 20];
        seq.push((0.0, 0.0));
        let r = Executor::new(script(seq)).trace(TraceMode::Every(5)).run();
        let kept: Vec<usize> = r.trace.unwrap().iter().map(|x| x.0).collect();
        assert_eq!(kept, vec![0, 5, 10, 15, 20]);
        // Always keeps all, Never none.
        let r = Executor::new(script(vec![(1.0, 1.0); 4]))
            .trace(TraceMode::Always)
            .run();
        assert_eq!(r.trace.unwrap().len(), 4);
        let r = Executor::new(script(vec![(1.0, 1.0); 4]))
            .trace(TraceMode::Never)
            .run();
        assert!(r.trace.is_none());
    }

    #[test]
    fn trace_with_records_stepper_state() {
        // The recorder sees the stepper after the round: its counter k is index + 1.
        let r = Executor::new(script(vec![(1.0, 1.0); 3]))
            .trace_with(TraceMode::Always, |s: &Script, r| (s.k, r.1, r.2))
            .run();
        let ks: Vec<usize> = r.trace.unwrap().iter().map(|x| x.0).collect();
        assert_eq!(ks, vec![1, 2, 3]);
    }

    #[test]
    fn callback_stops_the_run_and_progress_sees_every_round() {
        let mut seen = Vec::new();
        let mut stop = callback(|r: &(usize, f64, f64)| {
            if r.0 == 4 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let r = {
            let mut hook = progress(Some(100), |p| seen.push(p));
            Executor::new(script(vec![(1.0, 1.0); 50]))
                .max_rounds(100)
                .observe(&mut stop)
                .observe(&mut hook)
                .run()
        };
        assert_eq!((r.termination, r.rounds), (Termination::Stopped, 5));
        assert_eq!(r.last.map(|x| x.0), Some(4));
        assert_eq!(seen.len(), 6);
        assert_eq!(
            seen[4],
            Progress::Round {
                rounds: 5,
                limit: Some(100)
            }
        );
        assert_eq!(
            seen[5],
            Progress::Finished {
                termination: Termination::Stopped,
                rounds: 5
            }
        );
        // The stepper's own verdict on the same round wins over a stop request.
        let mut stop = callback(|_: &(usize, f64, f64)| ControlFlow::Break(()));
        let r = Executor::new(script(vec![(0.0, 0.0)]))
            .observe(&mut stop)
            .run();
        assert_eq!(r.termination, Termination::Converged);
    }

    #[test]
    fn termination_names_are_snake_case() {
        // The serde names (rename_all = "snake_case") are checked with serde_json in the
        // model crates' tests; here the Display names, which must be the same words.
        let names = [
            (Termination::Converged, "converged"),
            (Termination::MaxRounds, "max_rounds"),
            (Termination::Oscillating, "oscillating"),
            (Termination::Diverged, "diverged"),
            (Termination::Stalled, "stalled"),
            (
                Termination::NonPositivePrice { entry: 3 },
                "non_positive_price",
            ),
            (Termination::Stopped, "stopped"),
            (Termination::TimeLimit, "time_limit"),
        ];
        for (t, name) in names {
            assert_eq!(t.to_string(), name);
            assert_eq!(t.is_converged(), name == "converged");
        }
    }
}
