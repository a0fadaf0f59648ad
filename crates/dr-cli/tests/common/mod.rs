//! Helpers shared by the `dr` command's end-to-end tests: run the binary, read its output,
//! pull numbers out of its JSON.
#![allow(dead_code)] // each test file uses a different subset

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub fn dr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dr"))
        .args(args)
        .output()
        .expect("the dr binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn json_ok(args: &[&str]) -> Value {
    let o = dr(args);
    assert!(o.status.success(), "dr {args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("dr {args:?}: stdout is not JSON ({e}): {}", stdout(&o)))
}

pub fn vec1(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(f)
        .collect()
}

pub fn vec2(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(vec1)
        .collect()
}
