//! Fuzz test of the scenario reader: random bytes and random mutations of valid scenario
//! files must give `Ok` or a `ScenarioError` — never a panic — and every error must render
//! (message and excerpt) with a location inside the text.

use demand_response::scenario::{Format, Scenario, ScenarioError};
use proptest::prelude::*;
use serde::Deserialize;

/// A typed scenario like the model crates' (nested tables, arrays, optional fields,
/// unknown fields denied).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Market {
    deficit: f64,
    #[serde(default)]
    capacity: Option<Vec<f64>>,
    customers: Vec<Customer>,
    #[serde(default)]
    settings: Option<Settings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Customer {
    a: f64,
    h: f64,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Settings {
    rounds: u32,
    step: f64,
    rule: Rule,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Rule {
    Fixed,
    Fast,
}

const TOML: &str = r#"# supply-function bidding
model = "bidding"
deficit = 10.0
capacity = [1.0, 2.5, 1e3]

[settings]
rounds = 50
step = 0.1
rule = "fixed"

[[customers]]
a = 1.0
h = 2.0
name = "plant \"A\""

[[customers]]
a = 1.5
h = 0.5
"#;

const JSON: &str = r#"{
  "model": "stackelberg",
  "deficit": 10.0,
  "capacity": [1.0, 2.5, 1e3],
  "settings": {"rounds": 50, "step": 0.1, "rule": "fast"},
  "customers": [
    {"a": 1.0, "h": 2.0, "name": "plant \"A\" ü"},
    {"a": 1.5, "h": 0.5}
  ]
}
"#;

/// Runs the whole reader on `bytes` named `name`; checks errors render sensibly.
fn read_all(bytes: &[u8], name: &str) {
    match Scenario::from_bytes(bytes, name) {
        Ok(s) => {
            let _ = s.model();
            match s.parse::<Market>() {
                Ok(m) => assert!(!m.customers.is_empty() || m.customers.is_empty()),
                Err(e) => check_error(&e, s.text()),
            }
            // Also through a permissive type.
            let _ = s.parse::<serde::de::IgnoredAny>();
        }
        Err(e) => check_error(&e, &String::from_utf8_lossy(bytes)),
    }
}

fn check_error(e: &ScenarioError, text: &str) {
    let msg = e.to_string();
    assert!(!msg.is_empty());
    let _ = e.detailed();
    if let Some(loc) = e.location() {
        assert!(loc.line >= 1 && loc.column >= 1, "{loc:?}");
        assert!(
            loc.line <= text.lines().count() + 1,
            "{loc:?} in {} lines",
            text.lines().count()
        );
    }
}

/// One mutation of a text, as bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, u8),
    Duplicate(usize, usize),
    Replace(usize, u8),
    Truncate(usize),
}

fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for m in mutations {
        let n = b.len();
        if n == 0 {
            break;
        }
        match *m {
            Mutation::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 8).min(n);
                b.drain(at..end);
            }
            Mutation::Insert(at, c) => b.insert(at % (n + 1), c),
            Mutation::Duplicate(at, len) => {
                let at = at % n;
                let end = (at + len % 16).min(n);
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            Mutation::Replace(at, c) => b[at % n] = c,
            Mutation::Truncate(at) => b.truncate(at % n),
        }
    }
    b
}

/// Bytes that matter to TOML and JSON syntax, plus a few others.
fn syntax_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"[]{}\"'=,.:#\n\r\t \\-+eE01239abnxz_".to_vec()),
        any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), syntax_byte()).prop_map(|(a, c)| Mutation::Insert(a, c)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
        (any::<usize>(), syntax_byte()).prop_map(|(a, c)| Mutation::Replace(a, c)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for name in ["x.toml", "x.json", "<stdin>"] {
            read_all(&bytes, name);
        }
    }

    #[test]
    fn random_syntax_soup_never_panics(bytes in prop::collection::vec(syntax_byte(), 0..300)) {
        for name in ["x.toml", "x.json"] {
            read_all(&bytes, name);
        }
    }

    #[test]
    fn mutated_scenarios_never_panic(
        mutations in prop::collection::vec(mutation(), 1..6),
        json in any::<bool>(),
    ) {
        let (text, name) = if json { (JSON, "m.json") } else { (TOML, "m.toml") };
        let bytes = apply(text, &mutations);
        read_all(&bytes, name);
        // The same bytes read as the other format, and sniffed.
        read_all(&bytes, if json { "m.toml" } else { "m.json" });
        read_all(&bytes, "m");
    }
}

#[test]
fn the_unmutated_scenarios_are_valid() {
    for (text, name) in [(TOML, "a.toml"), (JSON, "a.json")] {
        let s = Scenario::from_bytes(text.as_bytes(), name).unwrap();
        let m: Market = s.parse().unwrap();
        assert_eq!(m.customers.len(), 2);
    }
    assert_eq!(
        Scenario::from_bytes(JSON.as_bytes(), "sniffed")
            .unwrap()
            .format(),
        Format::Json
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [64usize, 2_000, 50_000] {
        let toml = format!(
            "model = \"bidding\"\nx = {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        read_all(toml.as_bytes(), "deep.toml");
        let toml = format!(
            "model = \"bidding\"\nx = {}1{}\n",
            "{a = ".repeat(depth),
            "}".repeat(depth)
        );
        read_all(toml.as_bytes(), "deep.toml");
        let json = format!(
            "{{\"model\": \"bidding\", \"x\": {}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        read_all(json.as_bytes(), "deep.json");
        let json = format!(
            "{{\"model\": \"bidding\", \"x\": {}1{}}}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        );
        read_all(json.as_bytes(), "deep.json");
    }
}
