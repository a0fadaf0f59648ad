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

/// Reads a table written by `--output DIR`: its header and rows, cells unquoted as RFC 4180
/// says; every row must have the header's number of cells.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: cannot be read ({e})", path.display()));
    let mut records = Vec::new();
    let (mut record, mut cell) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        !quoted && cell.is_empty() && record.is_empty(),
        "{}: the last line is not ended",
        path.display()
    );
    let mut records = records.into_iter();
    let header = records.next().expect("a header line");
    let rows: Vec<Vec<String>> = records.collect();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            r.len(),
            header.len(),
            "{} row {i}: {r:?} against the header {header:?}",
            path.display()
        );
    }
    (header, rows)
}

/// A cell a table is expected to hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A name, label or flag, as written.
    Text(String),
    /// An index or count.
    Int(usize),
    /// A number: the cell must parse to exactly these bits.
    Num(f64),
    /// No value.
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Cell {
        Cell::Text(s.clone())
    }
}

impl From<usize> for Cell {
    fn from(v: usize) -> Cell {
        Cell::Int(v)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Cell {
        Cell::Num(v)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell::Text(v.to_string())
    }
}

/// Asserts that `dir/file` has exactly `header` and the rows `expected`, in order; numbers
/// compared bit for bit (the CSV parsed by Rust, the expected values from the JSON report).
pub fn assert_table(dir: &Path, file: &str, header: &[&str], expected: &[Vec<Cell>]) {
    let path = dir.join(file);
    let (h, rows) = read_csv(&path);
    assert_eq!(h, header, "{file}: header");
    assert_eq!(rows.len(), expected.len(), "{file}: number of rows");
    for (i, (row, want)) in rows.iter().zip(expected).enumerate() {
        assert_eq!(
            row.len(),
            want.len(),
            "{file} row {i}: arity of the expected row"
        );
        for (j, (cell, want)) in row.iter().zip(want).enumerate() {
            let ok = match want {
                Cell::Text(s) => cell == s,
                Cell::Int(v) => cell.parse::<usize>().ok() == Some(*v),
                Cell::Num(v) => cell
                    .parse::<f64>()
                    .is_ok_and(|c| c.to_bits() == v.to_bits() || (c.is_nan() && v.is_nan())),
                Cell::Empty => cell.is_empty(),
            };
            assert!(
                ok,
                "{file} row {i} column {} ({}): {cell:?}, expected {want:?}",
                j, header[j]
            );
        }
    }
}

/// Runs `dr --json ARGS --output DIR`, expecting exit 0, and returns the report read back
/// with `Deserialize` and the files the JSON lists under `"tables"` (by name).
pub fn with_tables<R: serde::de::DeserializeOwned>(args: &[&str], dir: &Path) -> (R, Vec<String>) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all.extend(["--output", dir.to_str().unwrap()]);
    let v = json_ok(&all);
    let listed = v["tables"]
        .as_array()
        .expect("the tables are listed")
        .iter()
        .map(|p| {
            let p = Path::new(p.as_str().unwrap());
            assert_eq!(p.parent(), Some(dir), "{p:?}");
            p.file_name().unwrap().to_str().unwrap().to_string()
        })
        .collect();
    (
        serde_json::from_value(v).expect("the report reads back"),
        listed,
    )
}
