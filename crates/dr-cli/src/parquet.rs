//! `--output DIR --format parquet` (cargo feature `parquet`, issue 13): each per-item table
//! written as a Parquet file instead of CSV, from the same streamed rows.
//!
//! A table's rows arrive as the CSV its writer streams ([`crate::csv`]); they are parsed
//! (RFC 4180) into row groups of [`ROW_GROUP`] rows, so a table of 10^8 customers is never
//! held in memory. Each column's type is decided on the first row group: `INT64` when every
//! cell is an integer, `DOUBLE` when every cell is a number (shortest round-trip digits, so
//! the `f64`s are the report's bit for bit; `NaN`, `inf`), `BOOLEAN` for `true`/`false`,
//! `UTF8` text otherwise; every column is optional and an empty cell is a null. A later cell
//! that does not fit its column's type is an error naming the table, row and column.

use crate::output::CsvTable;
use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// Rows per Parquet row group.
pub(crate) const ROW_GROUP: usize = 1 << 16;

/// A column's Parquet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Flag,
    Text,
}

impl Kind {
    /// Whether `cell` (not empty) is a value of this kind.
    fn admits(self, cell: &str) -> bool {
        match self {
            Kind::Int => cell.parse::<i64>().is_ok(),
            Kind::Float => cell.parse::<f64>().is_ok(),
            Kind::Flag => cell == "true" || cell == "false",
            Kind::Text => true,
        }
    }

    /// The narrowest kind admitting every non-empty cell of `cells`.
    fn of<'a>(cells: impl Iterator<Item = &'a str> + Clone) -> Kind {
        let mut present = cells.filter(|c| !c.is_empty());
        [Kind::Int, Kind::Float, Kind::Flag]
            .into_iter()
            .find(|k| present.clone().all(|c| k.admits(c)))
            .filter(|_| present.next().is_some())
            .unwrap_or(Kind::Text)
    }
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

fn pq(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Receives the streamed CSV rows, parses them and writes full row groups.
struct Sink<W: Write + Send> {
    name: String,
    header: Vec<String>,
    writer: Option<SerializedFileWriter<W>>,
    sink: Option<W>,
    kinds: Vec<Kind>,
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: Vec<u8>,
    quoted: bool,
    quote_seen: bool,
    written: usize,
}

impl<W: Write + Send> Sink<W> {
    fn new(name: &str, header: &[String], sink: W) -> Self {
        Sink {
            name: name.into(),
            header: header.to_vec(),
            writer: None,
            sink: Some(sink),
            kinds: Vec::new(),
            rows: Vec::with_capacity(ROW_GROUP),
            row: Vec::with_capacity(header.len()),
            cell: Vec::new(),
            quoted: false,
            quote_seen: false,
            written: 0,
        }
    }

    fn end_cell(&mut self) -> io::Result<()> {
        let cell = String::from_utf8(std::mem::take(&mut self.cell))
            .map_err(|e| invalid(format!("{}: a cell is not UTF-8 ({e})", self.name)))?;
        self.row.push(cell);
        Ok(())
    }

    fn end_row(&mut self) -> io::Result<()> {
        self.end_cell()?;
        let row = std::mem::replace(&mut self.row, Vec::with_capacity(self.header.len()));
        if row.len() != self.header.len() {
            return Err(invalid(format!(
                "{} row {}: {} cells for {} columns",
                self.name,
                self.written + self.rows.len(),
                row.len(),
                self.header.len()
            )));
        }
        self.rows.push(row);
        if self.rows.len() == ROW_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    /// Decides the schema (on the first group) and writes the buffered rows as a row group.
    fn flush_group(&mut self) -> io::Result<()> {
        if self.writer.is_none() {
            self.kinds = (0..self.header.len())
                .map(|j| Kind::of(self.rows.iter().map(|r| r[j].as_str())))
                .collect();
            let fields = self
                .header
                .iter()
                .zip(&self.kinds)
                .map(|(name, kind)| {
                    let physical = match kind {
                        Kind::Int => PhysicalType::INT64,
                        Kind::Float => PhysicalType::DOUBLE,
                        Kind::Flag => PhysicalType::BOOLEAN,
                        Kind::Text => PhysicalType::BYTE_ARRAY,
                    };
                    let t = Type::primitive_type_builder(name, physical)
                        .with_repetition(Repetition::OPTIONAL);
                    let t = if *kind == Kind::Text {
                        t.with_logical_type(Some(LogicalType::String))
                    } else {
                        t
                    };
                    t.build().map(Arc::new)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(pq)?;
            let schema = Type::group_type_builder("schema")
                .with_fields(fields)
                .build()
                .map_err(pq)?;
            let sink = self.sink.take().ok_or_else(|| invalid("no file".into()))?;
            self.writer = Some(
                SerializedFileWriter::new(
                    sink,
                    Arc::new(schema),
                    Arc::new(WriterProperties::builder().build()),
                )
                .map_err(pq)?,
            );
        }
        let rows = std::mem::take(&mut self.rows);
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut group = writer.next_row_group().map_err(pq)?;
        let mut j = 0;
        while let Some(mut column) = group.next_column().map_err(pq)? {
            let (kind, name) = (self.kinds[j], &self.header[j]);
            let mut defs = Vec::with_capacity(rows.len());
            let mut cells = Vec::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                let cell = r[j].as_str();
                if cell.is_empty() {
                    defs.push(0);
                } else if kind.admits(cell) {
                    defs.push(1);
                    cells.push(cell);
                } else {
                    return Err(invalid(format!(
                        "{} row {}, column {name}: {cell:?} is not of the column's type \
                         ({kind:?}, decided on the first {ROW_GROUP} rows)",
                        self.name,
                        self.written + i
                    )));
                }
            }
            // `admits` checked every cell: the parses below cannot fail.
            let written = match kind {
                Kind::Int => {
                    let v: Vec<i64> = cells.iter().filter_map(|c| c.parse().ok()).collect();
                    column
                        .typed::<Int64Type>()
                        .write_batch(&v, Some(&defs), None)
                }
                Kind::Float => {
                    let v: Vec<f64> = cells.iter().filter_map(|c| c.parse().ok()).collect();
                    column
                        .typed::<DoubleType>()
                        .write_batch(&v, Some(&defs), None)
                }
                Kind::Flag => {
                    let v: Vec<bool> = cells.iter().map(|c| *c == "true").collect();
                    column
                        .typed::<BoolType>()
                        .write_batch(&v, Some(&defs), None)
                }
                Kind::Text => {
                    let v: Vec<ByteArray> = cells.iter().map(|c| ByteArray::from(*c)).collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
            };
            written.map_err(pq)?;
            column.close().map_err(pq)?;
            j += 1;
        }
        group.close().map_err(pq)?;
        self.written += rows.len();
        Ok(())
    }

    /// Writes what is buffered and the file's footer.
    fn finish(mut self) -> io::Result<()> {
        if self.quoted || !self.cell.is_empty() || !self.row.is_empty() {
            return Err(invalid(format!("{}: the last row is not ended", self.name)));
        }
        if !self.rows.is_empty() || self.writer.is_none() {
            self.flush_group()?;
        }
        match self.writer.take() {
            Some(w) => w.close().map(|_| ()).map_err(pq),
            None => Ok(()),
        }
    }
}

impl<W: Write + Send> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            if self.quote_seen {
                // A quote inside a quoted cell: doubled (a literal quote) or the cell's end.
                self.quote_seen = false;
                if b == b'"' {
                    self.cell.push(b'"');
                    continue;
                }
                self.quoted = false;
            }
            match (self.quoted, b) {
                (true, b'"') => self.quote_seen = true,
                (true, b) => self.cell.push(b),
                (false, b'"') if self.cell.is_empty() => self.quoted = true,
                (false, b',') => self.end_cell()?,
                (false, b'\n') => self.end_row()?,
                (false, b) => self.cell.push(b),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `table` as the Parquet file `path` (its rows streamed, one row group per
/// [`ROW_GROUP`] rows).
pub(crate) fn write_table(path: &Path, table: &CsvTable) -> io::Result<()> {
    let file = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut sink = Sink::new(&table.file_name, &table.header, file);
    (table.rows)(&mut sink)?;
    if sink.quote_seen {
        sink.quote_seen = false;
        sink.quoted = false;
    }
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::SerializedFileReader;
    use parquet::record::Field;

    fn read(path: &Path) -> Vec<Vec<(String, Field)>> {
        let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
        reader
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .get_column_iter()
                    .map(|(n, f)| (n.clone(), f.clone()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn kinds_text_nulls_and_bits_read_back() {
        let dir = std::env::temp_dir().join(format!("dr-parquet-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let values = [0.1, 1.0 / 3.0, -2.5e-300, f64::INFINITY];
        let table = CsvTable {
            file_name: "t.csv".into(),
            header: ["k", "name", "v", "ok", "maybe"].map(String::from).to_vec(),
            rows: Box::new(move |w| {
                for (i, v) in values.iter().enumerate() {
                    let name = if i == 1 { "\"a, \"\"b\"\"\"" } else { "plain" };
                    let maybe = if i == 2 {
                        String::new()
                    } else {
                        format!("{}", i * 2)
                    };
                    writeln!(
                        w,
                        "{i},{name},{},{},{maybe}",
                        zmij::Buffer::new().format(*v),
                        i % 2 == 0
                    )?;
                }
                Ok(())
            }),
        };
        write_table(&path, &table).unwrap();
        let rows = read(&path);
        assert_eq!(rows.len(), 4);
        for (i, row) in rows.iter().enumerate() {
            let names: Vec<&str> = row.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["k", "name", "v", "ok", "maybe"]);
            assert_eq!(row[0].1, Field::Long(i as i64));
            let name = if i == 1 { "a, \"b\"" } else { "plain" };
            assert_eq!(row[1].1, Field::Str(name.into()));
            match row[2].1 {
                Field::Double(x) => assert_eq!(x.to_bits(), values[i].to_bits()),
                ref f => panic!("{f:?}"),
            }
            assert_eq!(row[3].1, Field::Bool(i % 2 == 0));
            let maybe = if i == 2 {
                Field::Null
            } else {
                Field::Long(2 * i as i64)
            };
            assert_eq!(row[4].1, maybe);
        }
        // A cell that does not fit its column, and a ragged row, are errors.
        let bad = CsvTable {
            file_name: "bad.csv".into(),
            header: vec!["x".into()],
            rows: Box::new(|w| {
                for i in 0..ROW_GROUP {
                    writeln!(w, "{i}")?;
                }
                writeln!(w, "oops")
            }),
        };
        let e = write_table(&dir.join("bad.parquet"), &bad).unwrap_err();
        assert!(e.to_string().contains("column x: \"oops\""), "{e}");
        let ragged = CsvTable {
            file_name: "ragged.csv".into(),
            header: vec!["x".into(), "y".into()],
            rows: Box::new(|w| writeln!(w, "1")),
        };
        let e = write_table(&dir.join("ragged.parquet"), &ragged).unwrap_err();
        assert!(e.to_string().contains("1 cells for 2 columns"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
