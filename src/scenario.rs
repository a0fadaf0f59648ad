//! Scenario files: TOML or JSON, dispatched on a top-level `model = "…"` key.
//!
//! A scenario file describes one market instance. Its format is told by the file's
//! extension (`.toml`, `.json`), else by sniffing the text (a JSON scenario starts with
//! `{`, which a TOML document never does). The top-level key `model` names the model the
//! rest of the file is for: `"bidding"`, `"shaping"`, `"stackelberg"` or `"mechanism"`.
//!
//! Reading happens in two steps, so that every error can point into the file:
//! 1. [`Scenario::from_text`] (or [`Scenario::read`], [`Scenario::from_bytes`]) checks the
//!    syntax and finds the `model` key ([`ModelKind`]);
//! 2. [`Scenario::parse`] deserializes the model's own typed struct (the model crate's
//!    serde type, usually `#[serde(deny_unknown_fields)]`) directly from the text, so TOML
//!    and JSON errors keep their line and column and name the field (`customers[2].h`).
//!    The `model` key is handed to the struct only if it declares a `model` field.
//!
//! Everything here returns [`ScenarioError`] on bad input and never panics, whatever the
//! bytes (a fuzz test feeds it random bytes and mutated scenarios).
//!
//! This module is compiled with the `scenario` feature (on by default).
//!
//! ```
//! use demand_response::scenario::{Format, ModelKind, Scenario};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Market { deficit: f64, cost_slope: Vec<f64> }
//!
//! let text = "model = \"bidding\"\ndeficit = 10.0\ncost_slope = [1.0, 2.0]\n";
//! let scenario = Scenario::from_text(text, Format::Toml)?;
//! assert_eq!(scenario.model(), ModelKind::Bidding);
//! let market: Market = scenario.parse()?;
//! assert_eq!(market.cost_slope.len(), 2);
//!
//! // A type error names the line, the column and the field.
//! let bad = Scenario::from_text("model = \"bidding\"\ndeficit = \"ten\"\ncost_slope = []\n",
//!                               Format::Toml)?;
//! let err = bad.parse::<Market>().unwrap_err().to_string();
//! assert!(err.contains("line 2") && err.contains("deficit"), "{err}");
//! # Ok::<(), demand_response::scenario::ScenarioError>(())
//! ```

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    Visitor,
};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use thiserror::Error;

/// The name of the top-level key that selects the model.
pub const MODEL_KEY: &str = "model";

/// Text format of a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format told by a file's extension (`toml` or `json`, any case), if any.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// Guesses the format from the text: JSON when the first non-blank character (after an
    /// optional byte-order mark) is `{`, TOML otherwise. A TOML document can never start
    /// with `{`, so a scenario is never misread.
    pub fn sniff(text: &str) -> Format {
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            Format::Json
        } else {
            Format::Toml
        }
    }

    /// The extension first, else [`Format::sniff`].
    pub fn detect(path: Option<&Path>, text: &str) -> Format {
        path.and_then(Format::from_extension)
            .unwrap_or_else(|| Format::sniff(text))
    }

    /// `"TOML"` or `"JSON"`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The four market models a scenario can be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// Supply-function bidding (li-chen-dahleh-2015, chen-li-low-doyle-2010 §III).
    Bidding,
    /// Demand shaping over periods (chen-li-low-doyle-2010 §IV).
    Shaping,
    /// Multi-period multi-company Stackelberg pricing (alshehri-liu-chen-basar).
    Stackelberg,
    /// Peak-demand mechanism for energy communities (wei-anastasopoulos).
    Mechanism,
}

impl ModelKind {
    /// Every model, in the order the documentation lists them.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Bidding,
        ModelKind::Shaping,
        ModelKind::Stackelberg,
        ModelKind::Mechanism,
    ];

    /// The value of the `model` key for this model.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Bidding => "bidding",
            ModelKind::Shaping => "shaping",
            ModelKind::Stackelberg => "stackelberg",
            ModelKind::Mechanism => "mechanism",
        }
    }

    /// The model whose `model` key value is `name` (exact, lower case).
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|m| m.name() == name)
    }

    /// `"bidding", "shaping", "stackelberg", "mechanism"` — for messages.
    pub fn list() -> String {
        ModelKind::ALL
            .iter()
            .map(|m| format!("\"{}\"", m.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where in a scenario file an error is: 1-based line and column (in characters), and the
/// text of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The text of the line (without its line break).
    pub line_text: String,
}

impl Location {
    /// The location of byte `offset` of `text` (clamped to the text; never panics).
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let line_text = text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        Location {
            line,
            column,
            line_text,
        }
    }

    /// The location of 1-based `line` and `column` (as serde_json reports them).
    pub fn of_line_column(text: &str, line: usize, column: usize) -> Location {
        let line_text = text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .to_string();
        Location {
            line: line.max(1),
            column: column.max(1),
            line_text,
        }
    }

    /// A two-line excerpt with a caret under the column, as compilers print it.
    pub fn snippet(&self) -> String {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let caret_pad: String = self
            .line_text
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{pad} |\n{number} | {}\n{pad} | {caret_pad}^",
            self.line_text
        )
    }
}

fn describe_location(loc: &Option<Location>) -> String {
    match loc {
        Some(l) => format!(" at line {}, column {}", l.line, l.column),
        None => String::new(),
    }
}

fn describe_field(field: &Option<String>) -> String {
    match field {
        Some(f) => format!(", field `{f}`"),
        None => String::new(),
    }
}

/// Why a scenario could not be read. Every message names the file, and where it can the
/// line, column and field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {file}: {reason}")]
    Unreadable {
        /// The file's path as given.
        file: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The bytes are not UTF-8 text.
    #[error("{file}: not UTF-8 text (invalid byte at line {line}, byte offset {offset})")]
    NotUtf8 {
        /// The file's name.
        file: String,
        /// 1-based line of the invalid byte.
        line: usize,
        /// Byte offset of the invalid byte.
        offset: usize,
    },
    /// Bad syntax, or a value that does not fit the model's types.
    #[error("{file}: malformed {format}{loc}{fld}: {message}", loc = describe_location(location), fld = describe_field(field))]
    Malformed {
        /// The file's name.
        file: String,
        /// TOML or JSON.
        format: Format,
        /// Where the error is, when the parser knows.
        location: Option<Location>,
        /// The path of the offending field (`customers[2].h`), when known.
        field: Option<String>,
        /// The parser's message.
        message: String,
    },
    /// There is no top-level `model` key.
    #[error("{file}: missing top-level key `model` (one of {choices}), e.g. model = \"bidding\"", choices = ModelKind::list())]
    MissingModel {
        /// The file's name.
        file: String,
    },
    /// The `model` key names no known model.
    #[error("{file}{loc}, field `model`: unknown model \"{found}\" (expected one of {choices})", loc = describe_location(location), choices = ModelKind::list())]
    UnknownModel {
        /// The file's name.
        file: String,
        /// The value found.
        found: String,
        /// Where the value is (TOML only).
        location: Option<Location>,
    },
}

impl ScenarioError {
    /// The location inside the file, when the error has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ScenarioError::Malformed { location, .. }
            | ScenarioError::UnknownModel { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    /// The message followed by an excerpt of the offending line with a caret, when known.
    pub fn detailed(&self) -> String {
        match self.location() {
            Some(loc) if !loc.line_text.is_empty() => format!("{self}\n{}", loc.snippet()),
            _ => self.to_string(),
        }
    }
}

/// A scenario whose syntax has been checked and whose model is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    name: String,
    format: Format,
    model: ModelKind,
    text: String,
}

/// Only the `model` key of a document, whose top level must be a table/object (other
/// keys are skipped, not rejected). `V` is `String`, or `toml::Spanned<String>` to know
/// where the value is.
struct ModelTag<V> {
    model: Option<V>,
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for ModelTag<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ModelTagVisitor(std::marker::PhantomData))
    }
}

struct ModelTagVisitor<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for ModelTagVisitor<V> {
    type Value = ModelTag<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scenario table with a `model` key")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut model = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == MODEL_KEY {
                if model.is_some() {
                    return Err(de::Error::duplicate_field(MODEL_KEY));
                }
                model = Some(map.next_value::<V>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(ModelTag { model })
    }
}

impl Scenario {
    /// Reads and checks the scenario file at `path` (format by extension, else sniffed).
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        let bytes = std::fs::read(path).map_err(|e| ScenarioError::Unreadable {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let name = path.display().to_string();
        let text = decode(&bytes, &name)?;
        let format = Format::detect(Some(path), &text);
        Scenario::from_named_text(text, format, name)
    }

    /// Checks raw bytes named `name` (a path or `<stdin>`); the format is told by `name`'s
    /// extension, else sniffed.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Scenario, ScenarioError> {
        let text = decode(bytes, name)?;
        let format = Format::detect(Some(Path::new(name)), &text);
        Scenario::from_named_text(text, format, name.to_string())
    }

    /// Checks `text` in the given format (named `<input>` in messages).
    pub fn from_text(text: &str, format: Format) -> Result<Scenario, ScenarioError> {
        Scenario::from_named_text(text.to_string(), format, "<input>".to_string())
    }

    /// Checks `text` in the given format, named `name` in messages.
    pub fn from_named_text(
        text: String,
        format: Format,
        name: String,
    ) -> Result<Scenario, ScenarioError> {
        let model = model_of(&text, format, &name)?;
        Ok(Scenario {
            name,
            format,
            model,
            text,
        })
    }

    /// The model named by the `model` key.
    pub fn model(&self) -> ModelKind {
        self.model
    }

    /// The text format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Deserializes the model's typed scenario `T` from the text. The top-level `model`
    /// key reaches `T` only when `T` is a struct that declares a `model` field, so a
    /// `#[serde(deny_unknown_fields)]` struct need not declare it. Errors carry the line,
    /// column and field path.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ScenarioError> {
        parse_without_model(&self.text, self.format, &self.name)
    }
}

fn decode(bytes: &[u8], name: &str) -> Result<String, ScenarioError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let offset = e.valid_up_to();
            let line = bytes.iter().take(offset).filter(|&&b| b == b'\n').count() + 1;
            Err(ScenarioError::NotUtf8 {
                file: name.to_string(),
                line,
                offset,
            })
        }
    }
}

/// Checks the syntax of `text` and returns its model (`name` is used in messages).
pub fn model_of(text: &str, format: Format, name: &str) -> Result<ModelKind, ScenarioError> {
    let (found, location) = match format {
        Format::Toml => {
            let tag: ModelTag<toml::Spanned<String>> = deserialize_toml(text, name)?;
            match tag.model {
                None => (None, None),
                Some(s) => {
                    let loc = Location::of_offset(text, s.span().start);
                    (Some(s.into_inner()), Some(loc))
                }
            }
        }
        Format::Json => {
            let tag: ModelTag<String> = deserialize_json(text, name)?;
            (tag.model, None)
        }
    };
    let found = found.ok_or_else(|| ScenarioError::MissingModel {
        file: name.to_string(),
    })?;
    ModelKind::from_name(&found).ok_or(ScenarioError::UnknownModel {
        file: name.to_string(),
        found,
        location,
    })
}

/// Deserializes `T` from a scenario text; the top-level `model` key is left out unless
/// `T` is a struct with a `model` field (see [`Scenario::parse`]).
pub fn parse_without_model<T: DeserializeOwned>(
    text: &str,
    format: Format,
    name: &str,
) -> Result<T, ScenarioError> {
    let wrapped: WithoutModel<T> = match format {
        Format::Toml => deserialize_toml(text, name)?,
        Format::Json => deserialize_json(text, name)?,
    };
    Ok(wrapped.0)
}

fn field_path(path: &serde_path_to_error::Path) -> Option<String> {
    // `.` is what the crate prints for an empty path (the document itself); segments
    // such as `$__serde_spanned_private_value` are serde plumbing, not fields.
    let s = path.to_string();
    let s = match s.find(".$__") {
        Some(i) => &s[..i],
        None => &s,
    };
    if s.is_empty() || s == "." || s == "?" || s.starts_with("$__") {
        None
    } else {
        Some(s.to_string())
    }
}

fn deserialize_toml<T: DeserializeOwned>(text: &str, name: &str) -> Result<T, ScenarioError> {
    let malformed = |e: &toml::de::Error, field: Option<String>| {
        let message = e.message().trim_end().to_string();
        // A missing field is reported on the span of the table that lacks it; for the
        // document itself that is line 1, column 1, which would only mislead.
        let location = e
            .span()
            .filter(|s| !(s.start == 0 && message.starts_with("missing field")))
            .map(|s| Location::of_offset(text, s.start));
        ScenarioError::Malformed {
            file: name.to_string(),
            format: Format::Toml,
            location,
            field,
            message,
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| malformed(&e, None))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = field_path(e.path());
        malformed(e.inner(), field)
    })
}

fn deserialize_json<T: DeserializeOwned>(text: &str, name: &str) -> Result<T, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = field_path(e.path());
        json_error(e.inner(), text, name, field)
    })?;
    de.end().map_err(|e| json_error(&e, text, name, None))?;
    Ok(value)
}

fn json_error(
    e: &serde_json::Error,
    text: &str,
    name: &str,
    field: Option<String>,
) -> ScenarioError {
    let location = (e.line() > 0).then(|| Location::of_line_column(text, e.line(), e.column()));
    // serde_json appends " at line L column C"; the location is reported separately.
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) if e.line() > 0 => full[..i].to_string(),
        _ => full,
    };
    ScenarioError::Malformed {
        file: name.to_string(),
        format: Format::Json,
        location,
        field,
        message,
    }
}

/// `T` deserialized from a map with its `model` key skipped.
struct WithoutModel<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for WithoutModel<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(WithoutModelVisitor(std::marker::PhantomData))
    }
}

struct WithoutModelVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for WithoutModelVisitor<T> {
    type Value = WithoutModel<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scenario table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(SkipModel { map, skip: false }).map(WithoutModel)
    }
}

/// A map deserializer that hides the `model` key from a struct that does not declare a
/// `model` field (and passes it to everything else).
struct SkipModel<A> {
    map: A,
    skip: bool,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for SkipModel<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.skip = !fields.contains(&MODEL_KEY);
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipModel<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            if !self.skip {
                return match seed.take() {
                    Some(seed) => self.map.next_key_seed(seed),
                    None => Ok(None),
                };
            }
            match self.map.next_key_seed(KeyFilter { seed: &mut seed })? {
                None => return Ok(None),
                Some(Some(key)) => return Ok(Some(key)),
                Some(None) => {
                    self.map.next_value::<IgnoredAny>()?;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Reads a key; `None` for `model`, otherwise hands the key to the wrapped seed.
struct KeyFilter<'a, K> {
    seed: &'a mut Option<K>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyFilter<'_, K> {
    type Value = Option<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyFilter<'_, K> {
    type Value = Option<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == MODEL_KEY {
            return Ok(None);
        }
        match self.seed.take() {
            Some(seed) => seed.deserialize(key.into_deserializer()).map(Some),
            None => Err(E::custom("a scenario key was read twice")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Customer {
        a: f64,
        h: f64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Market {
        deficit: f64,
        customers: Vec<Customer>,
    }

    const TOML: &str = "model = \"bidding\"\ndeficit = 10.0\n\n[[customers]]\na = 1.0\nh = 2.0\n\n[[customers]]\na = 1.5\nh = 0.5\n";
    const JSON: &str = "{\n  \"model\": \"bidding\",\n  \"deficit\": 10.0,\n  \"customers\": [\n    {\"a\": 1.0, \"h\": 2.0},\n    {\"a\": 1.5, \"h\": 0.5}\n  ]\n}\n";

    fn expected() -> Market {
        Market {
            deficit: 10.0,
            customers: vec![Customer { a: 1.0, h: 2.0 }, Customer { a: 1.5, h: 0.5 }],
        }
    }

    #[test]
    fn toml_and_json_give_the_same_scenario() {
        for (text, format) in [(TOML, Format::Toml), (JSON, Format::Json)] {
            assert_eq!(Format::sniff(text), format);
            let s = Scenario::from_text(text, format).unwrap();
            assert_eq!(s.model(), ModelKind::Bidding);
            assert_eq!(s.parse::<Market>().unwrap(), expected());
        }
    }

    #[test]
    fn errors_name_line_column_and_field() {
        // Nested type error (TOML): line 9, the value of customers[1].a.
        let bad = TOML.replace("a = 1.5", "a = \"x\"");
        let e = Scenario::from_text(&bad, Format::Toml)
            .unwrap()
            .parse::<Market>()
            .unwrap_err();
        println!("{}", e.detailed());
        let loc = e.location().unwrap();
        assert_eq!((loc.line, loc.column), (9, 5));
        assert!(e.to_string().contains("customers[1].a"), "{e}");
        // Unknown field (TOML).
        let bad = TOML.replace("h = 0.5", "hh = 0.5");
        let e = Scenario::from_text(&bad, Format::Toml)
            .unwrap()
            .parse::<Market>()
            .unwrap_err();
        println!("{}", e.detailed());
        assert_eq!(e.location().unwrap().line, 10);
        assert!(e.to_string().contains("hh"), "{e}");
        // Nested type error (JSON): line 6.
        let bad = JSON.replace("\"a\": 1.5", "\"a\": \"x\"");
        let e = Scenario::from_text(&bad, Format::Json)
            .unwrap()
            .parse::<Market>()
            .unwrap_err();
        println!("{}", e.detailed());
        assert_eq!(e.location().unwrap().line, 6);
        assert!(e.to_string().contains("customers[1].a"), "{e}");
        // Missing field (JSON).
        let bad = JSON.replace("\"deficit\": 10.0,", "");
        let e = Scenario::from_text(&bad, Format::Json)
            .unwrap()
            .parse::<Market>()
            .unwrap_err();
        println!("{}", e.detailed());
        assert!(e.to_string().contains("deficit"), "{e}");
        // Missing field (TOML).
        let bad = TOML.replace("deficit = 10.0", "");
        let e = Scenario::from_text(&bad, Format::Toml)
            .unwrap()
            .parse::<Market>()
            .unwrap_err();
        println!("{}", e.detailed());
        assert!(e.to_string().contains("deficit"), "{e}");
        // Syntax error (TOML) at line 5.
        let bad = TOML.replace("a = 1.0", "a = = 1.0");
        let e = Scenario::from_text(&bad, Format::Toml).unwrap_err();
        println!("{}", e.detailed());
        assert_eq!(e.location().unwrap().line, 5);
        // Syntax error (JSON) at line 3.
        let bad = JSON.replace("10.0,", "10.0,,");
        let e = Scenario::from_text(&bad, Format::Json).unwrap_err();
        println!("{}", e.detailed());
        assert_eq!(e.location().unwrap().line, 3);
    }

    #[test]
    fn model_key_problems() {
        let e = Scenario::from_text("deficit = 1\n", Format::Toml).unwrap_err();
        println!("{}", e.detailed());
        assert!(matches!(e, ScenarioError::MissingModel { .. }));
        let e =
            Scenario::from_text("deficit = 1\nmodel = \"auction\"\n", Format::Toml).unwrap_err();
        println!("{}", e.detailed());
        assert!(matches!(e, ScenarioError::UnknownModel { .. }));
        assert_eq!(e.location().unwrap().line, 2);
        assert!(e.to_string().contains("auction") && e.to_string().contains("\"shaping\""));
        let e = Scenario::from_text("model = 3\n", Format::Toml).unwrap_err();
        println!("{}", e.detailed());
        assert!(e.to_string().contains("model"), "{e}");
        let e = Scenario::from_text("{\"model\": \"Bidding\"}", Format::Json).unwrap_err();
        assert!(matches!(e, ScenarioError::UnknownModel { .. }));
        let e = Scenario::from_text("[1, 2]", Format::Json).unwrap_err();
        println!("{}", e.detailed());
        let e = Scenario::from_bytes(b"model = \"bidding\"\n\xff\n", "x.toml").unwrap_err();
        assert_eq!(
            e,
            ScenarioError::NotUtf8 {
                file: "x.toml".into(),
                line: 2,
                offset: 18
            }
        );
        // Trailing garbage after a JSON document.
        let e = Scenario::from_text("{\"model\": \"bidding\"} x", Format::Json).unwrap_err();
        println!("{}", e.detailed());
    }

    #[test]
    fn model_key_reaches_structs_that_declare_it() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Tagged {
            model: String,
            deficit: f64,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Optional {
            #[serde(default)]
            model: Option<String>,
        }
        let text = "model = \"bidding\"\ndeficit = 2.0\n";
        let s = Scenario::from_text(text, Format::Toml).unwrap();
        let t: Tagged = s.parse().unwrap();
        assert_eq!((t.model.as_str(), t.deficit), ("bidding", 2.0));
        let e = s.parse::<Optional>().unwrap_err();
        assert!(e.to_string().contains("unknown field `deficit`"), "{e}");
        let o: Optional = Scenario::from_text("model = \"bidding\"", Format::Toml)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(o.model.as_deref(), Some("bidding"));
        // A map type sees every key.
        let m: std::collections::BTreeMap<String, toml::Value> = s.parse().unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn format_detection() {
        assert_eq!(
            Format::detect(Some(Path::new("a.JSON")), "x = 1"),
            Format::Json
        );
        assert_eq!(Format::detect(Some(Path::new("a.toml")), "{"), Format::Toml);
        assert_eq!(
            Format::detect(Some(Path::new("a.txt")), "\u{feff}  {"),
            Format::Json
        );
        assert_eq!(Format::detect(None, "model = 1"), Format::Toml);
        // A BOM before JSON is accepted.
        let s = Scenario::from_text("\u{feff}{\"model\": \"shaping\"}", Format::Json).unwrap();
        assert_eq!(s.model(), ModelKind::Shaping);
    }

    #[test]
    fn locations_are_clamped_and_char_based() {
        let text = "ab\nçd = 1\n";
        let l = Location::of_offset(text, 6);
        assert_eq!((l.line, l.column, l.line_text.as_str()), (2, 3, "çd = 1"));
        let l = Location::of_offset(text, 4); // inside 'ç'
        assert_eq!((l.line, l.column), (2, 1));
        let l = Location::of_offset(text, 999);
        assert_eq!(l.line, 3);
        assert_eq!(Location::of_line_column(text, 99, 1).line_text, "");
        assert!(l.snippet().contains('^'));
    }
}
