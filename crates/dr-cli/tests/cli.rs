//! End-to-end tests of the `dr` command: exit codes, messages on stderr, `--json` output
//! on stdout, plots.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::*;

fn dr_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the dr binary runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

#[test]
fn demo_solves_and_prints_the_certificate() {
    let o = dr(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "competitive equilibrium",
        "price p̄",
        "active customers",
        "total cost",
        "certificate:",
        "status                Solved",
        "projection",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn demo_json_parses_and_every_section_is_certified() {
    let o = dr(&["demo", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json_of(&o);
    let sections = v["sections"].as_array().expect("sections");
    assert!(sections.len() >= 2);
    for s in sections {
        let cert = &s["result"]["certificate"];
        assert_eq!(cert["status"], "Solved", "{s}");
        assert!(cert["max_residual"].as_f64().unwrap() <= 1e-9, "{s}");
    }
    // The equilibrium section: 30 customers, the loads add up to the deficit, and the
    // price is the common marginal cost a_i + 2 h_i q_i of the active customers.
    let eq = &sections[0]["result"];
    let price = eq["price"].as_f64().unwrap();
    let pop = eq["population"].as_array().unwrap();
    assert_eq!(pop.len(), 30);
    let total: f64 = pop.iter().map(|c| c["load"].as_f64().unwrap()).sum();
    assert!((total - 10.0).abs() < 1e-9);
    for c in pop {
        let (a, h, q) = (
            c["a"].as_f64().unwrap(),
            c["h"].as_f64().unwrap(),
            c["load"].as_f64().unwrap(),
        );
        if q > 0.0 {
            assert!((a + 2.0 * h * q - price).abs() < 1e-9);
        }
    }
}

#[test]
fn demo_writes_svg_plots() {
    let dir = scratch("plots");
    let plots = dir.join("out");
    let o = dr(&["--plot", plots.to_str().unwrap(), "demo", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json_of(&o);
    let listed = v["plots"].as_array().expect("plots listed");
    assert!(!listed.is_empty());
    for p in listed {
        let svg = std::fs::read_to_string(p.as_str().unwrap()).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}

#[test]
fn missing_model_key_is_reported() {
    let dir = scratch("missing-model");
    let f = write(&dir, "s.toml", b"deficit = 10.0\n");
    let o = dr(&["solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("missing top-level key `model`"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let o = dr(&["--json", "solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_of(&o);
    assert!(v["error"].as_str().unwrap().contains("model"));
}

#[test]
fn unknown_model_names_the_line_and_field() {
    let dir = scratch("unknown-model");
    let f = write(
        &dir,
        "s.toml",
        b"# a scenario\ndeficit = 10.0\nmodel = \"auction\"\n",
    );
    let o = dr(&["solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("unknown model \"auction\""), "{err}");
    assert!(
        err.contains("line 3") && err.contains("field `model`"),
        "{err}"
    );
    assert!(err.contains("\"bidding\""), "lists the choices: {err}");
    let f = write(&dir, "s.json", b"{\"model\": \"auction\"}");
    let o = dr(&["--json", "solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(json_of(&o)["error"].as_str().unwrap().contains("auction"));
}

#[test]
fn malformed_toml_names_line_and_column() {
    let dir = scratch("malformed");
    // Line 4 has a value missing.
    let f = write(
        &dir,
        "s.toml",
        b"model = \"bidding\"\ndeficit = 10.0\n[[customers]]\na = \nh = 2.0\n",
    );
    let o = dr(&["solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("s.toml") && err.contains("line 4"), "{err}");
    assert!(err.contains("4 | a = "), "excerpt of the line: {err}");
    // A wrongly typed `model` names the field.
    let f = write(&dir, "t.toml", b"deficit = 1\nmodel = 3\n");
    let o = dr(&["--json", "solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    let e = json_of(&o)["error"].as_str().unwrap().to_string();
    assert!(e.contains("line 2") && e.contains("field `model`"), "{e}");
    // Malformed JSON (by extension) at line 3.
    let f = write(
        &dir,
        "u.json",
        b"{\n  \"model\": \"bidding\",\n  \"deficit\": ,\n}\n",
    );
    let o = dr(&["solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("malformed JSON at line 3"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unreadable_and_non_utf8_files_are_reported() {
    let dir = scratch("unreadable");
    let missing = dir.join("nope.toml");
    let o = dr(&["solve", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read scenario file"),
        "{}",
        stderr(&o)
    );
    let f = write(&dir, "bin.toml", b"model = \"bidding\"\n\xff\xfe\n");
    let o = dr(&["--json", "solve", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(json_of(&o)["error"].as_str().unwrap().contains("not UTF-8"));
}

/// A file with only the `model` key: until the model is wired into this build, `dr`
/// says it is not available (exit 2); once it is, the model's scenario type must report
/// its missing fields (exit 1). Never a fake result.
#[test]
fn every_model_is_either_unavailable_or_asks_for_its_data() {
    let dir = scratch("models");
    for model in ["bidding", "shaping", "stackelberg", "mechanism"] {
        let f = write(
            &dir,
            &format!("{model}.toml"),
            format!("model = \"{model}\"\n").as_bytes(),
        );
        for cmd in ["solve", "simulate"] {
            let o = dr(&["--json", cmd, &f]);
            let err = stderr(&o);
            let v = json_of(&o);
            let msg = v["error"].as_str().expect("an error object").to_string();
            if msg.contains("not available in this build") {
                assert_eq!(o.status.code(), Some(2), "{err}");
                assert!(msg.contains(model), "{msg}");
            } else {
                assert_eq!(o.status.code(), Some(1), "{model} {cmd}: {err}");
                assert!(msg.contains("missing field"), "{model} {cmd}: {msg}");
            }
        }
    }
}

#[test]
fn verify_is_reported_unavailable_until_the_lp_backend_exists() {
    let dir = scratch("verify");
    let f = write(&dir, "b.toml", b"model = \"bidding\"\n");
    let o = dr(&["verify", &f]);
    let err = stderr(&o);
    if err.contains("not available") {
        assert_eq!(o.status.code(), Some(2));
        assert!(
            err.contains("`dr verify` is not available in this build for model 'bidding'"),
            "{err}"
        );
    } else {
        assert_eq!(o.status.code(), Some(1), "{err}");
    }
}

#[test]
fn scenario_from_stdin() {
    let o = dr_stdin(&["solve", "-"], b"{\"deficit\": 3}");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("<stdin>") && stderr(&o).contains("missing top-level key"));
}

#[test]
fn studies_list_and_unknown_names() {
    let o = dr(&["study"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).to_lowercase().contains("stud"));
    let o = dr(&["--json", "study"]);
    assert!(json_of(&o)["studies"].is_array());
    let o = dr(&["study", "no-such-study"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown study 'no-such-study'"),
        "{}",
        stderr(&o)
    );
    let o = dr(&["--json", "study", "no-such-study"]);
    assert_eq!(json_of(&o)["kind"], "unknown_study");
}

#[test]
fn usage_errors() {
    let o = dr(&["--json", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(json_of(&o)["error"]
        .as_str()
        .unwrap()
        .contains("frobnicate"));
    let o = dr(&["solve"]);
    assert_eq!(o.status.code(), Some(2));
    let o = dr(&["simulate", "x.toml", "--set", "novalue"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("KEY=VALUE"), "{}", stderr(&o));
    let o = dr(&["--help"]);
    assert!(o.status.success());
    for cmd in [
        "solve", "simulate", "verify", "study", "demo", "--json", "--plot",
    ] {
        assert!(stdout(&o).contains(cmd), "help mentions {cmd}");
    }
}
