//! `--output DIR --format parquet` (cargo feature `parquet`): the tables read back from
//! Parquet equal the CSV tables of the same command bit for bit (bidding's customers, with
//! integer and float columns; Stackelberg's company periods, with names that need quoting in
//! CSV). Without the feature, `--format parquet` is refused before anything runs (exit 2).

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-parquet-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const POPULATION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/bidding_population.toml"
);

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_is_refused_without_the_feature() {
    let dir = scratch("refused");
    let out = dir.join("tables");
    let o = dr(&[
        "solve",
        POPULATION,
        "--output",
        out.to_str().unwrap(),
        "--format",
        "parquet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cargo feature `parquet`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing is written");
    // CSV, the default, is always there.
    let o = dr(&["solve", POPULATION, "--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("customers.csv").exists());
}

#[cfg(feature = "parquet")]
mod with_feature {
    use super::*;
    use parquet::file::reader::SerializedFileReader;
    use parquet::record::Field;

    /// Every row of a Parquet file as `(column, value)` pairs.
    fn read_parquet(path: &Path) -> Vec<Vec<(String, Field)>> {
        let file = std::fs::File::open(path).unwrap();
        SerializedFileReader::new(file)
            .unwrap()
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .get_column_iter()
                    .map(|(n, f)| (n.clone(), f.clone()))
                    .collect()
            })
            .collect()
    }

    /// Runs `args` twice, with CSV and with Parquet tables, and checks that every table
    /// holds the same values: numbers bit for bit, integers as INT64, text as written.
    fn same_tables(args: &[&str], dir: &Path, tables: &[&str]) {
        let (csv_dir, pq_dir) = (dir.join("csv"), dir.join("parquet"));
        let run = |out: &Path, format: &str| {
            let mut all = args.to_vec();
            all.extend(["--output", out.to_str().unwrap(), "--format", format]);
            let o = dr(&all);
            assert!(o.status.success(), "dr {all:?}: {}", stderr(&o));
        };
        run(&csv_dir, "csv");
        run(&pq_dir, "parquet");
        for name in tables {
            let (header, rows) = read_csv(&csv_dir.join(format!("{name}.csv")));
            let back = read_parquet(&pq_dir.join(format!("{name}.parquet")));
            assert_eq!(back.len(), rows.len(), "{name}: rows");
            for (i, (row, got)) in rows.iter().zip(&back).enumerate() {
                let columns: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
                assert_eq!(columns, header, "{name} row {i}");
                for ((cell, (column, field)), j) in row.iter().zip(got).zip(0..) {
                    let same = match field {
                        Field::Long(v) => cell.parse::<i64>().ok() == Some(*v),
                        Field::Double(v) => {
                            cell.parse::<f64>().ok().map(f64::to_bits) == Some(v.to_bits())
                        }
                        Field::Str(s) => cell == s,
                        Field::Bool(b) => cell == &b.to_string(),
                        Field::Null => cell.is_empty(),
                        other => panic!("{name} row {i} column {column}: {other:?}"),
                    };
                    assert!(
                        same,
                        "{name} row {i} column {j} ({column}): {cell:?} vs {field:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn bidding_customers_read_back_bit_for_bit() {
        let dir = scratch("bidding");
        same_tables(
            &["solve", POPULATION, "--set", "population.count=70000"],
            &dir,
            &["customers"],
        );
        // More than one row group (65 536 rows each), the index an INT64 column.
        let back = read_parquet(&dir.join("parquet").join("customers.parquet"));
        assert_eq!(back.len(), 70000);
        assert_eq!(back[69999][0], ("index".to_string(), Field::Long(69999)));
    }

    #[test]
    fn stackelberg_tables_with_quoted_names_read_back() {
        let dir = scratch("stackelberg");
        let general = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/stackelberg/general_consumers.toml"
        );
        same_tables(
            &["solve", general],
            &dir,
            &["company_periods", "companies", "classes", "demand"],
        );
        let classes = read_parquet(&dir.join("parquet").join("classes.parquet"));
        assert!(
            classes
                .iter()
                .any(|r| matches!(&r[0].1, Field::Str(s) if s.contains(','))),
            "{classes:?}"
        );
    }
}
