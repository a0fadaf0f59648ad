//! Per-item tables of a typed report as CSV (`--output DIR`, issue 13): a [`CsvTable`]
//! whose rows are written from the report's own fields when the table is written, so no
//! number is recomputed here and no table is held in memory as text.
//!
//! Cells: numbers in their shortest round-trip form (the digits the JSON report writes, so
//! parsing either gives the same `f64`; non-finite values, which the JSON writes as `null`,
//! are written `NaN`, `inf`, `-inf`, as Rust's and pandas' parsers read them), integers,
//! `true`/`false`, and text quoted as RFC 4180 asks (only when it holds a comma, a quote or
//! a line break). A row whose number of cells is not the header's is an error, never a
//! ragged file.

use crate::output::{CsvTable, Draft, Output};
use serde::Serialize;
use std::io::{self, Write};
use std::sync::Arc;

/// A report shared by the JSON body and the CSV tables of one output (serialised as the
/// report itself).
pub(crate) struct Shared<T>(pub Arc<T>);

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// `out` with `report` as its JSON body and `tables(report)` as its `--output DIR` tables.
pub(crate) fn tabled<R: Serialize + 'static>(
    out: Draft,
    report: R,
    tables: fn(&Arc<R>) -> Vec<CsvTable>,
) -> Output {
    let report = Arc::new(report);
    let tables = tables(&report);
    out.with_tables(Shared(report), tables)
}

/// The rows of one table being written: cells are appended with [`Rows::num`],
/// [`Rows::int`], [`Rows::text`], [`Rows::flag`] and [`Rows::empty`], and each row is closed
/// by [`Rows::end`], which checks its arity against the header.
pub(crate) struct Rows<'w> {
    w: &'w mut dyn Write,
    columns: usize,
    cells: usize,
    written: usize,
    digits: zmij::Buffer,
}

impl<'w> Rows<'w> {
    fn new(w: &'w mut dyn Write, columns: usize) -> Self {
        Rows {
            w,
            columns,
            cells: 0,
            written: 0,
            digits: zmij::Buffer::new(),
        }
    }

    fn separator(&mut self) -> io::Result<()> {
        self.cells += 1;
        if self.cells > 1 {
            self.w.write_all(b",")?;
        }
        Ok(())
    }

    /// A number, shortest round-trip digits.
    pub(crate) fn num(&mut self, v: f64) -> io::Result<&mut Self> {
        self.separator()?;
        self.w.write_all(self.digits.format(v).as_bytes())?;
        Ok(self)
    }

    /// An index or a count.
    pub(crate) fn int(&mut self, v: usize) -> io::Result<&mut Self> {
        self.separator()?;
        write!(self.w, "{v}")?;
        Ok(self)
    }

    /// `true` or `false`.
    pub(crate) fn flag(&mut self, v: bool) -> io::Result<&mut Self> {
        self.separator()?;
        self.w.write_all(if v { b"true" } else { b"false" })?;
        Ok(self)
    }

    /// A name or a label, quoted when it holds a comma, a quote or a line break.
    pub(crate) fn text(&mut self, s: &str) -> io::Result<&mut Self> {
        self.separator()?;
        if s.contains([',', '"', '\n', '\r']) {
            write!(self.w, "\"{}\"", s.replace('"', "\"\""))?;
        } else {
            self.w.write_all(s.as_bytes())?;
        }
        Ok(self)
    }

    /// An empty cell (a value the report does not have for this row).
    pub(crate) fn empty(&mut self) -> io::Result<&mut Self> {
        self.separator()?;
        Ok(self)
    }

    /// A number, or an empty cell for `None`.
    pub(crate) fn opt(&mut self, v: Option<f64>) -> io::Result<&mut Self> {
        match v {
            Some(v) => self.num(v),
            None => self.empty(),
        }
    }

    /// Ends the row; an error when it does not have one cell per column.
    pub(crate) fn end(&mut self) -> io::Result<()> {
        if self.cells != self.columns {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "row {} has {} cells for {} columns",
                    self.written, self.cells, self.columns
                ),
            ));
        }
        self.cells = 0;
        self.written += 1;
        self.w.write_all(b"\n")
    }
}

/// A table `file_name` with `header`, whose rows `rows` writes from `report` when `--output`
/// asks for it.
pub(crate) fn table<R: 'static>(
    file_name: &str,
    header: Vec<&str>,
    report: &Arc<R>,
    rows: impl Fn(&R, &mut Rows<'_>) -> io::Result<()> + 'static,
) -> CsvTable {
    let columns = header.len();
    let report = Arc::clone(report);
    CsvTable {
        file_name: file_name.into(),
        header: header.into_iter().map(String::from).collect(),
        rows: Box::new(move |w| rows(&report, &mut Rows::new(w, columns))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(t: &CsvTable) -> io::Result<String> {
        let mut out = Vec::new();
        (t.rows)(&mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn cells_quote_text_and_keep_every_bit() {
        let values = [0.1, 1.0 / 3.0, -2.5e-300, 6.02e23, 0.0, -0.0];
        let report = Arc::new(values);
        let t = table("x.csv", vec!["name", "i", "v", "ok"], &report, |r, rows| {
            for (i, v) in r.iter().enumerate() {
                rows.text(if i == 0 { "a, \"b\"" } else { "c" })?
                    .int(i)?
                    .num(*v)?
                    .flag(i % 2 == 0)?
                    .end()?;
            }
            Ok(())
        });
        let s = written(&t).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "\"a, \"\"b\"\"\",0,0.1,true");
        for (line, v) in lines[1..].iter().zip(&values[1..]) {
            let cell: f64 = line.split(',').nth(2).unwrap().parse().unwrap();
            assert_eq!(cell.to_bits(), v.to_bits(), "{line}");
        }
        // Non-finite numbers as Rust's parser reads them back.
        let t = table("y.csv", vec!["v"], &Arc::new(()), |_, rows| {
            for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                rows.num(v)?.end()?;
            }
            Ok(())
        });
        let parsed: Vec<f64> = written(&t)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert!(parsed[0].is_nan() && parsed[1] == f64::INFINITY && parsed[2] == -f64::INFINITY);
    }

    #[test]
    fn a_ragged_row_is_an_error() {
        let t = table("z.csv", vec!["a", "b"], &Arc::new(()), |_, rows| {
            rows.num(1.0)?.num(2.0)?.end()?;
            rows.num(1.0)?.end()
        });
        let e = written(&t).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string().contains("row 1 has 1 cells for 2 columns"),
            "{e}"
        );
    }
}
