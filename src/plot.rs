//! A small dependency-free SVG writer for the figures of the studies and simulations.
//!
//! Three kinds of figure, each a builder with a [`Chart::to_svg`] method:
//! - [`LineChart`]: several named series of `(x, y)` points, axes with ticks and labels,
//!   a legend, a title and an optional logarithmic y axis (convergence traces, ratios
//!   against `n` as in li-chen-dahleh-2015 Figs. 3–6);
//! - [`BarChart`]: grouped bars over named categories (loads per customer, prices per
//!   period);
//! - [`GraphDrawing`]: nodes on a circle joined by edges (the message network of the
//!   distributed peak-demand mechanism, wei-anastasopoulos §V), with solid and dashed
//!   edges (e.g. the spanning tree used vs. the other links).
//!
//! Robust by construction: NaN and infinite values are left out (a line is broken there),
//! empty charts still render axes, log axes skip non-positive values, and all text is
//! XML-escaped. Rendering never panics.
//!
//! Compiled with the `plot` feature (on by default).
//!
//! ```
//! use demand_response::plot::{Chart, LineChart};
//! let chart = LineChart::new("Price per round")
//!     .x_label("round k")
//!     .y_label("|p(k) − p̄|")
//!     .log_y(true)
//!     .series("fixed step γ = 0.1", (0..20).map(|k| (k as f64, 0.5f64.powi(k))));
//! let svg = chart.to_svg();
//! assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
//! assert!(svg.contains("fixed step γ = 0.1"));
//! ```

use std::fmt::Write as _;

/// A figure that renders itself as a standalone SVG document.
pub trait Chart {
    /// The SVG document.
    fn to_svg(&self) -> String;
}

/// A rendered figure with a file stem, as the `dr` command writes it (`<name>.svg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plot {
    /// File stem, e.g. `bidding-trace`; [`Plot::file_name`] makes it safe.
    pub name: String,
    /// The SVG document.
    pub svg: String,
}

impl Plot {
    /// Renders `chart` under `name`.
    pub fn new(name: impl Into<String>, chart: &dyn Chart) -> Plot {
        Plot {
            name: name.into(),
            svg: chart.to_svg(),
        }
    }

    /// `name` with every character outside `[A-Za-z0-9_.-]` replaced by `_`, plus `.svg`.
    pub fn file_name(&self) -> String {
        let stem: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = stem.trim_start_matches('.');
        if stem.is_empty() {
            "plot.svg".to_string()
        } else {
            format!("{stem}.svg")
        }
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` for XML text and attribute values, and drops
/// characters XML 1.0 forbids (control characters other than tab and line breaks).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Colours of series, in order (Tableau 10).
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Formats a finite coordinate compactly (two decimals are plenty on a canvas of pixels).
fn px(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".to_string()
        } else {
            s.to_string()
        }
    } else {
        "0".to_string()
    }
}

/// A tick label for value `v` on an axis whose ticks are `step` apart.
fn tick_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    format!("{v:.decimals$}")
}

/// A "nice" step (1, 2 or 5 times a power of ten) near `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    let f = raw / base;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// A linear axis: the data range widened to nice ticks.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<(f64, String)>,
    log: bool,
}

impl Axis {
    /// Linear axis covering `[min, max]` (finite, min ≤ max) with about 6 ticks.
    fn linear(min: f64, max: f64) -> Axis {
        let (mut min, mut max) = (min, max);
        if !(min.is_finite() && max.is_finite()) || min > max {
            min = 0.0;
            max = 1.0;
        }
        if max - min <= f64::EPSILON * max.abs().max(min.abs()).max(1e-300) {
            let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
            min -= pad;
            max += pad;
        }
        let step = nice_step((max - min) / 5.0);
        let lo = (min / step).floor() * step;
        let hi = (max / step).ceil() * step;
        let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (min, max)
        };
        let mut ticks = Vec::new();
        let count = ((hi - lo) / step).round();
        if count.is_finite() && (1.0..=50.0).contains(&count) {
            for k in 0..=(count as usize) {
                let v = lo + k as f64 * step;
                // Avoid "-0.0" and accumulated rounding in labels.
                let v = if (v / step).abs() < 1e-9 { 0.0 } else { v };
                ticks.push((v, tick_label(v, step)));
            }
        } else {
            ticks.push((lo, tick_label(lo, hi - lo)));
            ticks.push((hi, tick_label(hi, hi - lo)));
        }
        Axis {
            lo,
            hi,
            ticks,
            log: false,
        }
    }

    /// Logarithmic axis covering `[min, max]` (both > 0), ticks at powers of ten.
    fn logarithmic(min: f64, max: f64) -> Axis {
        let (mut min, mut max) = (min, max);
        if !(min.is_finite() && max.is_finite() && min > 0.0 && max >= min) {
            min = 1.0;
            max = 10.0;
        }
        let mut lo = min.log10().floor();
        let mut hi = max.log10().ceil();
        if hi <= lo {
            lo -= 0.5;
            hi += 0.5;
        }
        let decades = hi - lo;
        let every = (decades / 8.0).ceil().max(1.0);
        let mut ticks = Vec::new();
        let mut e = (lo / every).ceil() * every;
        while e <= hi + 1e-9 && ticks.len() < 64 {
            ticks.push((e, format!("1e{}", e as i64)));
            e += every;
        }
        Axis {
            lo,
            hi,
            ticks,
            log: true,
        }
    }

    /// Position of `v` in `[0, 1]` along the axis (`None` when it cannot be placed).
    fn fraction(&self, v: f64) -> Option<f64> {
        let t = if self.log {
            if v > 0.0 && v.is_finite() {
                v.log10()
            } else {
                return None;
            }
        } else {
            v
        };
        let f = (t - self.lo) / (self.hi - self.lo);
        f.is_finite().then_some(f)
    }

    /// Position of a tick (already in axis units: log10 for a log axis).
    fn tick_fraction(&self, t: f64) -> f64 {
        (t - self.lo) / (self.hi - self.lo)
    }
}

/// Canvas geometry shared by the charts.
#[derive(Debug, Clone, Copy)]
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    /// `legend`: the legend entries (their length sets the legend's width).
    fn new(width: f64, height: f64, legend: &[(String, bool)]) -> Frame {
        let width = if width.is_finite() {
            width.clamp(200.0, 10_000.0)
        } else {
            800.0
        };
        let height = if height.is_finite() {
            height.clamp(150.0, 10_000.0)
        } else {
            500.0
        };
        let longest = legend.iter().map(|(n, _)| n.chars().count()).max();
        let right_margin = match longest {
            None => 30.0,
            Some(chars) => (55.0 + 7.0 * chars as f64).clamp(120.0, 0.45 * width),
        };
        Frame {
            width,
            height,
            left: 80.0,
            right: width - right_margin,
            top: 50.0,
            bottom: height - 60.0,
        }
    }
    fn x(&self, f: f64) -> f64 {
        self.left + f.clamp(-0.05, 1.05) * (self.right - self.left)
    }
    fn y(&self, f: f64) -> f64 {
        self.bottom - f.clamp(-0.05, 1.05) * (self.bottom - self.top)
    }
}

fn open_svg(out: &mut String, w: f64, h: f64, title: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" font-size=\"12\">",
        px(w), px(h), px(w), px(h)
    );
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>",
        px(w),
        px(h)
    );
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        px(w / 2.0),
        escape(title)
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, extra: &str, body: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
        px(x),
        px(y),
        escape(body)
    );
}

/// Draws the y axis (ticks, grid lines, label) and the frame's x baseline.
fn draw_y_axis(out: &mut String, fr: &Frame, axis: &Axis, label: &str) {
    let _ = writeln!(out, "<g class=\"y-axis\" stroke-width=\"1\">");
    for (t, lbl) in &axis.ticks {
        let f = if axis.log {
            axis.tick_fraction(*t)
        } else {
            axis.fraction(*t).unwrap_or(0.0)
        };
        if !(-1e-9..=1.0 + 1e-9).contains(&f) {
            continue;
        }
        let y = fr.y(f);
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#dddddd\"/>",
            px(fr.left),
            px(y),
            px(fr.right),
            px(y)
        );
        text(out, fr.left - 6.0, y + 4.0, "end", "", lbl);
    }
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\" stroke=\"black\"/>",
        l = px(fr.left),
        t = px(fr.top),
        b = px(fr.bottom)
    );
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>",
        l = px(fr.left),
        r = px(fr.right),
        b = px(fr.bottom)
    );
    let cy = (fr.top + fr.bottom) / 2.0;
    let _ = writeln!(
        out,
        "<text x=\"18\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {})\">{}</text>",
        px(cy),
        px(cy),
        escape(label)
    );
    let _ = writeln!(out, "</g>");
}

fn draw_legend(out: &mut String, fr: &Frame, names: &[(String, bool)]) {
    if names.is_empty() {
        return;
    }
    let _ = writeln!(out, "<g class=\"legend\">");
    let x = fr.right + 15.0;
    for (i, (name, dashed)) in names.iter().enumerate() {
        let y = fr.top + 10.0 + 20.0 * i as f64;
        let dash = if *dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"{dash}/>",
            px(x),
            px(y),
            px(x + 24.0),
            px(y),
            colour(i)
        );
        text(out, x + 30.0, y + 4.0, "start", "", name);
    }
    let _ = writeln!(out, "</g>");
}

/// One named series of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points `(x, y)`, drawn in the given order; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    /// Draw dashed (e.g. a reference level such as the equilibrium price).
    pub dashed: bool,
    /// Mark every point with a dot.
    pub markers: bool,
}

/// Line chart of several series.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label beside the y axis.
    pub y_label: String,
    /// Logarithmic y axis (values ≤ 0 are left out).
    pub log_y: bool,
    /// The series.
    pub series: Vec<Series>,
    /// Canvas width in pixels.
    pub width: f64,
    /// Canvas height in pixels.
    pub height: f64,
}

impl LineChart {
    /// An empty chart with a title (800 × 500 pixels).
    pub fn new(title: impl Into<String>) -> LineChart {
        LineChart {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            log_y: false,
            series: Vec::new(),
            width: 800.0,
            height: 500.0,
        }
    }
    /// Sets the x-axis label.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }
    /// Sets the y-axis label.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }
    /// Logarithmic y axis.
    pub fn log_y(mut self, log: bool) -> Self {
        self.log_y = log;
        self
    }
    /// Canvas size in pixels (clamped to a sensible range).
    pub fn size(mut self, width: f64, height: f64) -> Self {
        self.width = width;
        self.height = height;
        self
    }
    /// Adds a solid series.
    pub fn series(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            dashed: false,
            markers: false,
        });
        self
    }
    /// Adds a series with a dot on every point.
    pub fn series_with_markers(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            dashed: false,
            markers: true,
        });
        self
    }
    /// Adds a dashed series (a reference line).
    pub fn dashed_series(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            dashed: true,
            markers: false,
        });
        self
    }

    fn usable(&self, p: (f64, f64)) -> bool {
        p.0.is_finite() && p.1.is_finite() && (!self.log_y || p.1 > 0.0)
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

impl Chart for LineChart {
    fn to_svg(&self) -> String {
        let names: Vec<(String, bool)> = self
            .series
            .iter()
            .map(|s| (s.name.clone(), s.dashed))
            .collect();
        let fr = Frame::new(self.width, self.height, &names);
        let mut out = String::new();
        open_svg(&mut out, fr.width, fr.height, &self.title);
        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().copied())
                .filter(|&p| self.usable(p))
        };
        let xr = min_max(pts().map(|p| p.0));
        let yr = min_max(pts().map(|p| p.1));
        let xa = match xr {
            Some((lo, hi)) => Axis::linear(lo, hi),
            None => Axis::linear(0.0, 1.0),
        };
        let ya = match (yr, self.log_y) {
            (Some((lo, hi)), true) => Axis::logarithmic(lo, hi),
            (None, true) => Axis::logarithmic(1.0, 10.0),
            (Some((lo, hi)), false) => Axis::linear(lo, hi),
            (None, false) => Axis::linear(0.0, 1.0),
        };
        draw_y_axis(&mut out, &fr, &ya, &self.y_label);
        let _ = writeln!(out, "<g class=\"x-axis\">");
        for (t, lbl) in &xa.ticks {
            let f = xa.fraction(*t).unwrap_or(0.0);
            if !(-1e-9..=1.0 + 1e-9).contains(&f) {
                continue;
            }
            let x = fr.x(f);
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
                px(x),
                px(fr.bottom),
                px(x),
                px(fr.bottom + 5.0)
            );
            text(&mut out, x, fr.bottom + 18.0, "middle", "", lbl);
        }
        text(
            &mut out,
            (fr.left + fr.right) / 2.0,
            fr.height - 18.0,
            "middle",
            "",
            &self.x_label,
        );
        let _ = writeln!(out, "</g>");
        if xr.is_none() {
            text(
                &mut out,
                (fr.left + fr.right) / 2.0,
                (fr.top + fr.bottom) / 2.0,
                "middle",
                " fill=\"#888888\"",
                "no data",
            );
        }
        for (i, s) in self.series.iter().enumerate() {
            let dash = if s.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<g class=\"series\" stroke=\"{}\" fill=\"none\" stroke-width=\"2\"{dash}>",
                colour(i)
            );
            let _ = writeln!(out, "<desc>{}</desc>", escape(&s.name));
            // Break the line at unusable points.
            let mut run: Vec<(f64, f64)> = Vec::new();
            let flush = |run: &mut Vec<(f64, f64)>, out: &mut String| {
                if run.len() >= 2 {
                    let d: Vec<String> = run
                        .iter()
                        .map(|&(x, y)| format!("{},{}", px(x), px(y)))
                        .collect();
                    let _ = writeln!(out, "<polyline points=\"{}\"/>", d.join(" "));
                }
                run.clear();
            };
            for &p in &s.points {
                let pos = if self.usable(p) {
                    match (xa.fraction(p.0), ya.fraction(p.1)) {
                        (Some(fx), Some(fy)) => Some((fr.x(fx), fr.y(fy))),
                        _ => None,
                    }
                } else {
                    None
                };
                match pos {
                    Some(q) => {
                        run.push(q);
                        if s.markers || s.points.len() == 1 {
                            let _ = writeln!(
                                out,
                                "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>",
                                px(q.0),
                                px(q.1),
                                colour(i)
                            );
                        }
                    }
                    None => flush(&mut run, &mut out),
                }
            }
            flush(&mut run, &mut out);
            let _ = writeln!(out, "</g>");
        }
        draw_legend(&mut out, &fr, &names);
        out.push_str("</svg>\n");
        out
    }
}

/// Grouped bar chart: for each category one bar per group.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label beside the y axis.
    pub y_label: String,
    /// Category labels along the x axis.
    pub categories: Vec<String>,
    /// Named groups; group `g` has one value per category (missing or non-finite values
    /// draw no bar).
    pub groups: Vec<(String, Vec<f64>)>,
    /// Canvas width in pixels.
    pub width: f64,
    /// Canvas height in pixels.
    pub height: f64,
}

impl BarChart {
    /// An empty bar chart with a title and category labels (800 × 500 pixels).
    pub fn new(
        title: impl Into<String>,
        categories: impl IntoIterator<Item = impl Into<String>>,
    ) -> BarChart {
        BarChart {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            categories: categories.into_iter().map(Into::into).collect(),
            groups: Vec::new(),
            width: 800.0,
            height: 500.0,
        }
    }
    /// Sets the x-axis label.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }
    /// Sets the y-axis label.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }
    /// Canvas size in pixels (clamped to a sensible range).
    pub fn size(mut self, width: f64, height: f64) -> Self {
        self.width = width;
        self.height = height;
        self
    }
    /// Adds a group of bars (one value per category).
    pub fn group(mut self, name: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Self {
        self.groups
            .push((name.into(), values.into_iter().collect()));
        self
    }
}

impl Chart for BarChart {
    fn to_svg(&self) -> String {
        let names: Vec<(String, bool)> = self
            .groups
            .iter()
            .map(|(n, _)| (n.clone(), false))
            .collect();
        let fr = Frame::new(self.width, self.height, &names);
        let mut out = String::new();
        open_svg(&mut out, fr.width, fr.height, &self.title);
        let finite = self
            .groups
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|v| v.is_finite());
        // Bars start at zero, so zero is always on the axis.
        let (lo, hi) = min_max(finite).map_or((0.0, 1.0), |(lo, hi)| (lo.min(0.0), hi.max(0.0)));
        let ya = Axis::linear(lo, hi);
        draw_y_axis(&mut out, &fr, &ya, &self.y_label);
        let ncat = self
            .categories
            .len()
            .max(self.groups.iter().map(|(_, v)| v.len()).max().unwrap_or(0));
        let slot = if ncat > 0 {
            (fr.right - fr.left) / ncat as f64
        } else {
            fr.right - fr.left
        };
        let ngroups = self.groups.len().max(1) as f64;
        let bar = slot * 0.8 / ngroups;
        let zero = fr.y(ya.fraction(0.0).unwrap_or(0.0));
        let label_every = (ncat / 30).max(1);
        let _ = writeln!(out, "<g class=\"x-axis\">");
        for c in 0..ncat {
            if c % label_every != 0 {
                continue;
            }
            let label = self
                .categories
                .get(c)
                .map_or_else(|| c.to_string(), Clone::clone);
            let x = fr.left + slot * (c as f64 + 0.5);
            text(&mut out, x, fr.bottom + 18.0, "middle", "", &label);
        }
        text(
            &mut out,
            (fr.left + fr.right) / 2.0,
            fr.height - 18.0,
            "middle",
            "",
            &self.x_label,
        );
        let _ = writeln!(out, "</g>");
        if ncat == 0 {
            text(
                &mut out,
                (fr.left + fr.right) / 2.0,
                (fr.top + fr.bottom) / 2.0,
                "middle",
                " fill=\"#888888\"",
                "no data",
            );
        }
        for (g, (name, values)) in self.groups.iter().enumerate() {
            let _ = writeln!(out, "<g class=\"bars\" fill=\"{}\">", colour(g));
            let _ = writeln!(out, "<desc>{}</desc>", escape(name));
            for (c, &v) in values.iter().enumerate() {
                let Some(f) = ya.fraction(v) else { continue };
                let y = fr.y(f);
                let x = fr.left + slot * (c as f64 + 0.1) + bar * g as f64;
                let (top, h) = if y < zero {
                    (y, zero - y)
                } else {
                    (zero, y - zero)
                };
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {}</title></rect>",
                    px(x),
                    px(top),
                    px(bar.max(0.5)),
                    px(h),
                    escape(name),
                    escape(&format!("{v}"))
                );
            }
            let _ = writeln!(out, "</g>");
        }
        draw_legend(&mut out, &fr, &names);
        out.push_str("</svg>\n");
        out
    }
}

/// Line style of a [`GraphDrawing`] edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeStyle {
    /// A solid line (e.g. an edge of the spanning tree the mechanism runs on).
    Solid,
    /// A dashed grey line (e.g. a link of the network that the mechanism does not use).
    Dashed,
}

/// A graph drawn with its nodes on a circle.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphDrawing {
    /// Title above the drawing.
    pub title: String,
    /// Node labels; node `i` sits at angle `2π i / n`.
    pub nodes: Vec<String>,
    /// Edges `(from, to, style)`; edges naming a node that does not exist are skipped.
    pub edges: Vec<(usize, usize, EdgeStyle)>,
    /// Canvas width and height in pixels.
    pub size: f64,
}

impl GraphDrawing {
    /// A drawing with these node labels and no edges (600 × 600 pixels).
    pub fn new(
        title: impl Into<String>,
        nodes: impl IntoIterator<Item = impl Into<String>>,
    ) -> GraphDrawing {
        GraphDrawing {
            title: title.into(),
            nodes: nodes.into_iter().map(Into::into).collect(),
            edges: Vec::new(),
            size: 600.0,
        }
    }
    /// Adds a solid edge.
    pub fn edge(mut self, from: usize, to: usize) -> Self {
        self.edges.push((from, to, EdgeStyle::Solid));
        self
    }
    /// Adds a dashed edge.
    pub fn dashed_edge(mut self, from: usize, to: usize) -> Self {
        self.edges.push((from, to, EdgeStyle::Dashed));
        self
    }
}

impl Chart for GraphDrawing {
    fn to_svg(&self) -> String {
        let size = if self.size.is_finite() {
            self.size.clamp(200.0, 10_000.0)
        } else {
            600.0
        };
        let mut out = String::new();
        open_svg(&mut out, size, size, &self.title);
        let n = self.nodes.len();
        let (cx, cy) = (size / 2.0, size / 2.0 + 15.0);
        let radius = if n <= 1 { 0.0 } else { size / 2.0 - 70.0 };
        let node_r = if n > 40 { 6.0 } else { 14.0 };
        let pos = |i: usize| {
            let angle =
                std::f64::consts::TAU * i as f64 / n.max(1) as f64 - std::f64::consts::FRAC_PI_2;
            (cx + radius * angle.cos(), cy + radius * angle.sin())
        };
        let _ = writeln!(out, "<g class=\"edges\" stroke-width=\"2\">");
        for &(a, b, style) in &self.edges {
            if a >= n || b >= n {
                continue;
            }
            let ((x1, y1), (x2, y2)) = (pos(a), pos(b));
            let attrs = match style {
                EdgeStyle::Solid => "stroke=\"#333333\"",
                EdgeStyle::Dashed => "stroke=\"#aaaaaa\" stroke-dasharray=\"6 4\"",
            };
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {attrs}/>",
                px(x1),
                px(y1),
                px(x2),
                px(y2)
            );
        }
        let _ = writeln!(out, "</g>");
        let _ = writeln!(out, "<g class=\"nodes\">");
        for (i, label) in self.nodes.iter().enumerate() {
            let (x, y) = pos(i);
            let _ = writeln!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"black\"/>",
                px(x),
                px(y),
                px(node_r),
                colour(0)
            );
            // Labels outside the circle, away from the centre: beside nodes on the left
            // and right, above and below the others.
            let (ux, uy) = if n <= 1 {
                (0.0, -1.0)
            } else {
                ((x - cx) / radius, (y - cy) / radius)
            };
            let gap = node_r + 6.0;
            let (anchor, dx, dy) = if ux > 0.5 {
                ("start", gap, uy * gap + 4.0)
            } else if ux < -0.5 {
                ("end", -gap, uy * gap + 4.0)
            } else if uy < 0.0 {
                ("middle", ux * gap, -gap)
            } else {
                ("middle", ux * gap, gap + 10.0)
            };
            text(&mut out, x + dx, y + dy, anchor, "", label);
        }
        let _ = writeln!(out, "</g>");
        if n == 0 {
            text(&mut out, cx, cy, "middle", " fill=\"#888888\"", "no nodes");
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every element opened is closed in order (self-closing allowed), that
    /// there is exactly one root `svg`, and that no coordinate is NaN or infinite.
    fn assert_well_formed(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').expect("unclosed tag");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().expect("close without open");
                assert_eq!(open, name.trim(), "mismatched close tag");
            } else {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                assert!(!name.is_empty());
                if stack.is_empty() {
                    roots += 1;
                    assert_eq!(name, "svg");
                }
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1);
        for bad in ["NaN", "inf\"", "=\"inf", "-inf"] {
            assert!(!svg.contains(bad), "{bad} in output");
        }
    }

    #[test]
    fn line_chart_contains_series_and_is_balanced() {
        let svg = LineChart::new("Prices <p> & \"bids\"")
            .x_label("n")
            .y_label("p*/p̄")
            .series(
                "scenario 1",
                (3..20).map(|n| (n as f64, 1.0 + 1.0 / n as f64)),
            )
            .dashed_series("limit", [(3.0, 1.0), (19.0, 1.0)])
            .to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains("scenario 1") && svg.contains("limit"));
        assert!(svg.contains("Prices &lt;p&gt; &amp; &quot;bids&quot;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
    }

    #[test]
    fn non_finite_points_break_the_line_and_never_leak() {
        let pts = vec![
            (0.0, 1.0),
            (1.0, 2.0),
            (2.0, f64::NAN),
            (3.0, 3.0),
            (4.0, 4.0),
            (f64::INFINITY, 1.0),
            (5.0, f64::NEG_INFINITY),
        ];
        let svg = LineChart::new("t").series("s", pts.clone()).to_svg();
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Log scale drops non-positive values too.
        let svg = LineChart::new("t")
            .log_y(true)
            .series("s", pts.into_iter().chain([(6.0, 0.0), (7.0, -1.0)]))
            .to_svg();
        assert_well_formed(&svg);
    }

    #[test]
    fn empty_and_degenerate_charts_render() {
        for chart in [
            LineChart::new(""),
            LineChart::new("x").series("empty", Vec::new()),
            LineChart::new("x").series("nan", [(f64::NAN, f64::NAN)]),
            LineChart::new("x").series("one", [(1.0, 1.0)]),
            LineChart::new("x").series("flat", [(1.0, 5.0), (1.0, 5.0)]),
            LineChart::new("x")
                .log_y(true)
                .series("neg", [(1.0, -5.0), (2.0, 0.0)]),
            LineChart::new("x").series("huge", [(0.0, 1e300), (1.0, -1e300)]),
            LineChart::new("x").series("tiny", [(0.0, 1e-300), (1e-300, 2e-300)]),
            LineChart::new("x")
                .size(f64::NAN, -3.0)
                .series("s", [(0.0, 0.0), (1.0, 1.0)]),
        ] {
            let svg = chart.to_svg();
            assert_well_formed(&svg);
        }
    }

    #[test]
    fn log_axis_ticks_are_powers_of_ten() {
        let svg = LineChart::new("residual")
            .log_y(true)
            .series("r", (0..8).map(|k| (k as f64, 10f64.powi(-k))))
            .to_svg();
        assert_well_formed(&svg);
        for k in 0..8 {
            assert!(svg.contains(&format!(">1e-{k}<")) || k == 0, "1e-{k}");
        }
        assert!(svg.contains(">1e0<"));
        // Many decades: every other power, still including 10⁰.
        let svg = LineChart::new("residual")
            .log_y(true)
            .series("r", (0..16).map(|k| (k as f64, 10f64.powi(-k))))
            .to_svg();
        assert!(svg.contains(">1e0<") && svg.contains(">1e-14<") && !svg.contains(">1e-13<"));
    }

    #[test]
    fn linear_ticks_are_nice_and_cover_the_data() {
        let a = Axis::linear(0.13, 9.7);
        assert!(a.lo <= 0.13 && a.hi >= 9.7);
        let steps: Vec<f64> = a.ticks.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(steps.iter().all(|s| (s - 2.0).abs() < 1e-12), "{steps:?}");
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn bar_chart_groups_and_bad_values() {
        let svg = BarChart::new("Loads", ["c1", "c2", "c<3>"])
            .y_label("q")
            .group("competitive", [1.0, 2.0, f64::NAN])
            .group("Nash", [0.5, f64::INFINITY, -1.0, 7.0])
            .to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains("competitive") && svg.contains("Nash") && svg.contains("c&lt;3&gt;"));
        // NaN and inf draw no bar: 2 + 3 bars.
        assert_eq!(svg.matches("<rect x=").count() - 1, 5);
        assert_well_formed(&BarChart::new("empty", Vec::<String>::new()).to_svg());
        assert_well_formed(&BarChart::new("no groups", ["a"]).to_svg());
    }

    #[test]
    fn graph_drawing_skips_bad_edges() {
        let g = GraphDrawing::new("Network", ["u0", "u1", "u2", "u&3"])
            .edge(0, 1)
            .edge(1, 2)
            .dashed_edge(2, 3)
            .edge(3, 99);
        let svg = g.to_svg();
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<line").count(), 3);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("u&amp;3"));
        assert_well_formed(&GraphDrawing::new("none", Vec::<String>::new()).to_svg());
        assert_well_formed(&GraphDrawing::new("one", ["a"]).edge(0, 0).to_svg());
    }

    #[test]
    fn escape_handles_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}\n"), "a&lt;b&gt;&amp;&quot;c&apos; ");
        let p = Plot {
            name: "../x y".into(),
            svg: String::new(),
        };
        assert_eq!(p.file_name(), "_x_y.svg");
    }
}
