//! `dr study [NAME]`: the papers' numerical studies, contributed by the model modules
//! (their `COMMANDS.studies`).

use super::error::CliError;
use super::models;
use super::output::{Draft, Options, Output, Table};
use demand_response::scenario::ModelKind;
use serde::Serialize;

/// One numerical study.
pub(crate) struct Study {
    /// The name given to `dr study`, e.g. `bidding-efficiency`.
    pub name: &'static str,
    /// The model it belongs to.
    pub model: ModelKind,
    /// One line: what it reproduces (paper, figure).
    pub summary: &'static str,
    /// Runs it (use `opts.progress` for a progress bar; check `opts.params` with
    /// `allow_only`).
    pub run: fn(&Options) -> Result<Output, CliError>,
}

/// Every study of every model wired into this build.
pub(crate) fn all() -> Vec<&'static Study> {
    ModelKind::ALL
        .into_iter()
        .filter_map(models::commands)
        .flat_map(|c| c.studies.iter())
        .collect()
}

/// The list of studies as an [`Output`].
pub(crate) fn list() -> Output {
    let studies = all();
    let mut text = String::new();
    if studies.is_empty() {
        text.push_str("No studies are available in this build yet.\n");
    } else {
        let mut t = Table::new(&["study", "model", "what it reproduces"]);
        for s in &studies {
            t.row(vec![s.name.into(), s.model.name().into(), s.summary.into()]);
        }
        text.push_str("Available studies (run one with `dr study NAME`):\n\n");
        text.push_str(&t.render());
    }
    let list = StudyList {
        studies: studies
            .iter()
            .map(|s| StudyEntry {
                name: s.name,
                model: s.model.name(),
                summary: s.summary,
            })
            .collect(),
    };
    Draft {
        text,
        ..Draft::default()
    }
    .with_body(list)
}

/// The JSON of `dr study` without a name: the available studies.
#[derive(Debug, Serialize)]
struct StudyList {
    studies: Vec<StudyEntry>,
}

/// One available study: its name, its model and what it reproduces.
#[derive(Debug, Serialize)]
struct StudyEntry {
    name: &'static str,
    model: &'static str,
    summary: &'static str,
}

/// Runs the study called `name`.
pub(crate) fn run(name: &str, opts: &Options) -> Result<Output, CliError> {
    let studies = all();
    match studies.iter().find(|s| s.name == name) {
        // The study checks its own `--set` parameters (`opts.params.allow_only`).
        Some(s) => (s.run)(opts),
        None => {
            let available = if studies.is_empty() {
                "no studies are available in this build yet".to_string()
            } else {
                format!(
                    "available: {}",
                    studies
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Err(CliError::UnknownStudy {
                name: name.to_string(),
                available,
            })
        }
    }
}
