//! `command::run_observed`: a round observer on `dr simulate` for the iterative algorithm of
//! every model (li-chen-dahleh-2015 eqs. 11–12, chen-li-low-doyle-2010 eqs. 41–42,
//! alshehri-liu-chen-basar eq. 21, wei-anastasopoulos' learning dynamic). It sees every
//! round the result's trace records, with the trace's numbers; it does not change the
//! result; `Break` stops the run.

use demand_response::scenario::Scenario;
use dr_cli::command::{run, run_observed, Action, RoundReport};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};

const FILES: [&str; 4] = [
    "data/bidding_30.toml",
    "data/shaping_day.toml",
    "data/stackelberg_ecogrid.toml",
    "data/mechanism_community.toml",
];

fn scenario(file: &str) -> Scenario {
    Scenario::read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(file),
    )
    .expect("reads")
}

/// Runs `dr simulate` on `file` with an observer that stops after `stop_after` rounds.
fn observe(file: &str, stop_after: Option<usize>) -> (serde_json::Value, Vec<RoundReport>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let observer = Box::new(move |r: &RoundReport| {
        let mut seen = sink.lock().expect("not poisoned");
        seen.push(r.clone());
        match stop_after {
            Some(k) if seen.len() >= k => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    });
    let result = run_observed(Action::Simulate, &scenario(file), &[], observer).expect("runs");
    let seen = seen.lock().expect("not poisoned").clone();
    (result.json, seen)
}

/// The runs of a result: bidding scenarios simulate both equilibria (`"runs"`), the others
/// one run (the result itself).
fn runs(json: &serde_json::Value) -> Vec<&serde_json::Value> {
    match json["runs"].as_array() {
        Some(runs) => runs.iter().collect(),
        None => vec![json],
    }
}

/// Every round record of every run, in order.
fn traces(json: &serde_json::Value) -> Vec<&serde_json::Value> {
    runs(json)
        .into_iter()
        .flat_map(|r| r["rounds"].as_array().into_iter().flatten())
        .collect()
}

#[test]
fn the_observer_sees_every_recorded_round_and_changes_nothing() {
    for file in FILES {
        let (observed, seen) = observe(file, None);
        let plain = run(Action::Simulate, &scenario(file), &[]).expect("runs");
        assert_eq!(
            observed, plain.json,
            "{file}: the observer changed the result"
        );
        let records = traces(&observed);
        assert_eq!(seen.len(), records.len(), "{file}");
        for (r, rec) in seen.iter().zip(records) {
            assert_eq!(Some(r.round as u64), rec["round"].as_u64(), "{file}");
            for (name, x) in &r.scalars {
                if let Some(y) = rec.get(*name).and_then(serde_json::Value::as_f64) {
                    assert_eq!(*x, y, "{file}: round {} {name}", r.round);
                }
            }
        }
    }
}

#[test]
fn break_stops_the_run() {
    for file in FILES {
        let (stopped, seen) = observe(file, Some(3));
        // The first run stops after its third round, a second one (bidding simulates both
        // equilibria) after its first.
        let runs = runs(&stopped);
        let lengths: Vec<usize> = runs
            .iter()
            .map(|r| r["rounds"].as_array().map_or(0, Vec::len))
            .collect();
        assert_eq!(lengths, [3, 1][..runs.len()], "{file}");
        assert_eq!(seen.len(), lengths.iter().sum::<usize>(), "{file}");
        for run in runs {
            let termination = run["termination"].as_str().expect("a termination");
            assert_eq!(termination.to_lowercase(), "stopped", "{file}");
        }
        assert_eq!(stopped["outcome"], "not_converged", "{file}");
    }
}
