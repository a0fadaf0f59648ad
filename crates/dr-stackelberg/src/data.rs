//! The case-study data of alshehri-liu-chen-basar §VIII, embedded so the crate works without
//! files at run time, and a small CSV reader whose errors name the line and column.
//!
//! Both series are the authors' estimates from figures of the field-trial reports, as
//! published in their notebook (github kalsheh2/DemandResponse, CaseStudies.ipynb):
//! - EcoGrid EU (Bornholm, 5 Dec 2014): total flexible power of ~2000 consumers (kW) and the
//!   experiment's real-time price (DKK/MWh);
//! - Dutch smart-grid pilot (Zwolle, 2014–15, 77 households): the average consumer's power
//!   (W) and the day-ahead tariff (EUR/kWh).

use crate::error::StackelbergError;
use serde::Serialize;

/// The EcoGrid EU CSV (`hour,flexible_power_kw,price_dkk_per_mwh`).
pub const ECOGRID_EU_CSV: &str = include_str!("../data/ecogrid_eu_2014-12-05.csv");
/// The Dutch pilot CSV (`hour,average_consumer_power_w,price_eur_per_kwh`).
pub const DUTCH_PILOT_CSV: &str = include_str!("../data/dutch_pilot_average_consumer.csv");

/// Parses a numeric CSV with the given header. Empty lines are skipped, fields are trimmed.
///
/// Errors ([`StackelbergError::Csv`]) name the source, the 1-based line and column: a
/// missing or different header, a row with the wrong number of fields, a field that is not a
/// finite number, no data rows.
pub fn parse_csv(
    text: &str,
    source_name: &str,
    header: &[&str],
) -> Result<Vec<Vec<f64>>, StackelbergError> {
    let err = |line: usize, column: usize, message: String| StackelbergError::Csv {
        source_name: source_name.to_string(),
        line,
        column,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let (hline, h) = lines.next().ok_or_else(|| {
        err(
            1,
            1,
            format!("empty file: expected header {}", header.join(",")),
        )
    })?;
    let fields: Vec<&str> = h.split(',').map(str::trim).collect();
    for (c, want) in header.iter().enumerate() {
        match fields.get(c) {
            Some(got) if got == want => {}
            Some(got) => {
                return Err(err(
                    hline,
                    c + 1,
                    format!("header `{got}`, expected `{want}`"),
                ))
            }
            None => return Err(err(hline, c + 1, format!("missing header `{want}`"))),
        }
    }
    if fields.len() > header.len() {
        return Err(err(
            hline,
            header.len() + 1,
            format!("unexpected header `{}`", fields[header.len()]),
        ));
    }
    let mut rows = Vec::new();
    for (line, l) in lines {
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() != header.len() {
            return Err(err(
                line,
                fields.len().min(header.len()) + 1,
                format!("{} fields, expected {}", fields.len(), header.len()),
            ));
        }
        let mut row = Vec::with_capacity(fields.len());
        for (c, f) in fields.iter().enumerate() {
            let v: f64 = f.parse().map_err(|_| {
                err(
                    line,
                    c + 1,
                    format!("`{f}` is not a number ({})", header[c]),
                )
            })?;
            if !v.is_finite() {
                return Err(err(
                    line,
                    c + 1,
                    format!("`{f}` is not finite ({})", header[c]),
                ));
            }
            row.push(v);
        }
        rows.push((line, row));
    }
    if rows.is_empty() {
        return Err(err(hline + 1, 1, "no data rows".into()));
    }
    // Column 1 must be the hour 0, 1, 2, ... when the header says so.
    if header.first() == Some(&"hour") {
        for (i, (line, row)) in rows.iter().enumerate() {
            if row[0] != i as f64 {
                return Err(err(
                    *line,
                    1,
                    format!("hour {} out of sequence, expected {i}", row[0]),
                ));
            }
        }
    }
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

fn positive_column(
    rows: &[Vec<f64>],
    text: &str,
    source_name: &str,
    column: usize,
    name: &str,
) -> Result<Vec<f64>, StackelbergError> {
    let data_lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .skip(1)
        .collect();
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let v = r[column];
            if v > 0.0 {
                Ok(v)
            } else {
                Err(StackelbergError::Csv {
                    source_name: source_name.to_string(),
                    line: data_lines.get(i).copied().unwrap_or(0),
                    column: column + 1,
                    message: format!("{name} = {v} must be > 0"),
                })
            }
        })
        .collect()
}

/// One day of the EcoGrid EU experiment (alshehri-liu-chen-basar §VIII-A).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcoGridDay {
    /// Total flexible power of the participating consumers per hour (kW), used as `G(t)`.
    pub flexible_power_kw: Vec<f64>,
    /// The experiment's real-time price per hour (DKK/MWh).
    pub price_dkk_per_mwh: Vec<f64>,
}

impl EcoGridDay {
    /// Header of the CSV.
    pub const HEADER: [&'static str; 3] = ["hour", "flexible_power_kw", "price_dkk_per_mwh"];

    /// Parses a CSV with [`EcoGridDay::HEADER`] (positive power and price).
    pub fn from_csv(text: &str, source_name: &str) -> Result<Self, StackelbergError> {
        let rows = parse_csv(text, source_name, &Self::HEADER)?;
        Ok(Self {
            flexible_power_kw: positive_column(&rows, text, source_name, 1, "flexible_power_kw")?,
            price_dkk_per_mwh: positive_column(&rows, text, source_name, 2, "price_dkk_per_mwh")?,
        })
    }

    /// The embedded 5 Dec 2014 day.
    pub fn embedded() -> Result<Self, StackelbergError> {
        Self::from_csv(ECOGRID_EU_CSV, "ecogrid_eu_2014-12-05.csv")
    }

    /// The experiment's prices in DKK/kWh (÷ 1000).
    pub fn price_dkk_per_kwh(&self) -> Vec<f64> {
        self.price_dkk_per_mwh.iter().map(|p| p / 1000.0).collect()
    }
}

/// One representative day of the Dutch smart-grid pilot (alshehri-liu-chen-basar §VIII-B).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DutchPilotDay {
    /// The average consumer's power per hour (W).
    pub average_consumer_power_w: Vec<f64>,
    /// The day-ahead tariff per hour (EUR/kWh).
    pub price_eur_per_kwh: Vec<f64>,
}

impl DutchPilotDay {
    /// Header of the CSV.
    pub const HEADER: [&'static str; 3] = ["hour", "average_consumer_power_w", "price_eur_per_kwh"];

    /// Parses a CSV with [`DutchPilotDay::HEADER`] (positive power and price).
    pub fn from_csv(text: &str, source_name: &str) -> Result<Self, StackelbergError> {
        let rows = parse_csv(text, source_name, &Self::HEADER)?;
        Ok(Self {
            average_consumer_power_w: positive_column(
                &rows,
                text,
                source_name,
                1,
                "average_consumer_power_w",
            )?,
            price_eur_per_kwh: positive_column(&rows, text, source_name, 2, "price_eur_per_kwh")?,
        })
    }

    /// The embedded day.
    pub fn embedded() -> Result<Self, StackelbergError> {
        Self::from_csv(DUTCH_PILOT_CSV, "dutch_pilot_average_consumer.csv")
    }

    /// Total supply per hour for `households` consumers: `households × W / 1000` kW.
    pub fn supply_kw(&self, households: f64) -> Vec<f64> {
        self.average_consumer_power_w
            .iter()
            .map(|w| households * w / 1000.0)
            .collect()
    }
}
