//! Progress bars for long work (studies, simulations), drawn on stderr and only on a
//! terminal: [`super::output::Options::progress`] hands out a hidden bar when stdout or
//! stderr is not a terminal or `--json` is given, so piped and machine-readable output
//! stays clean.

use super::output::RoundSink;
use crate::command::RoundReport;
use dr_convex::{Observer, Stepper, Termination};
use indicatif::{ProgressBar, ProgressStyle};
use std::ops::ControlFlow;

/// A progress bar that may be hidden; all methods are no-ops when it is.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A visible bar over `len` steps with a message.
    pub(crate) fn new(len: u64, message: &str) -> Progress {
        let bar = ProgressBar::new(len);
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        Progress { bar }
    }

    /// A bar that draws nothing.
    pub(crate) fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// Advances by `n` steps.
    pub(crate) fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Replaces the message.
    pub(crate) fn set_message(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }

    /// A callback that advances the bar by one step per call, for library functions that
    /// report progress through `FnMut()`.
    #[allow(dead_code, reason = "part of the model-module interface")]
    pub(crate) fn tick_fn(&self) -> impl FnMut() + '_ {
        move || self.bar.inc(1)
    }

    /// Removes the bar from the terminal.
    pub(crate) fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The bar as an observer of an iterative run ([`dr_convex::Executor`]): one step per
/// round, cleared when the run ends.
impl<S: Stepper> Observer<S> for Progress {
    fn observe(&mut self, _index: usize, _round: &S::Round, _stepper: &S) -> ControlFlow<()> {
        self.bar.inc(1);
        ControlFlow::Continue(())
    }
    fn finish(&mut self, _termination: Termination, _rounds: usize) {
        self.bar.finish_and_clear();
    }
}

/// The observer of an iterative run that `dr simulate` attaches
/// ([`super::output::Options::watch`]): the progress bar, and the library caller's round
/// observer ([`super::output::RoundSink`], `crate::command::run_observed`), which
/// may stop the run.
pub(crate) struct Watch<'o, F> {
    bar: Progress,
    sink: &'o RoundSink,
    report: F,
}

impl<'o, F> Watch<'o, F> {
    pub(crate) fn new(bar: Progress, sink: &'o RoundSink, report: F) -> Self {
        Watch { bar, sink, report }
    }
}

impl<S: Stepper, F: FnMut(usize, &S::Round, &S) -> RoundReport> Observer<S> for Watch<'_, F> {
    fn observe(&mut self, index: usize, round: &S::Round, stepper: &S) -> ControlFlow<()> {
        self.bar.inc(1);
        let report = &mut self.report;
        self.sink.report(|| report(index, round, stepper))
    }
    fn finish(&mut self, _termination: Termination, _rounds: usize) {
        self.bar.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_bar_accepts_everything() {
        let p = Progress::hidden();
        p.inc(3);
        p.set_message("x");
        {
            let mut tick = p.tick_fn();
            tick();
        }
        p.finish();
    }

    /// The bar is an observer of the kernel executor: it sees every round and never stops
    /// the run.
    #[test]
    fn bar_observes_an_executor_run() {
        use dr_convex::{Executor, Step, Stepper, Termination};
        struct Count(usize);
        impl Stepper for Count {
            type Round = usize;
            fn step(&mut self) -> Step<usize> {
                self.0 += 1;
                Step::Next(self.0)
            }
        }
        let mut bar = Progress::hidden();
        let run = Executor::new(Count(0))
            .max_rounds(7)
            .observe(&mut bar)
            .run();
        assert_eq!((run.termination, run.rounds), (Termination::MaxRounds, 7));
        assert_eq!(bar.bar.position(), 7);
    }
}
