//! # dr-python — the native core of the `demand_response` Python package
//!
//! pyo3 (abi3, Python ≥ 3.9) bindings over the workspace's crates, built by maturin
//! (`pip install ./crates/dr-python`). The Python package (`python/demand_response/`) wraps
//! this module (`demand_response._native`): it turns sequences into contiguous float64
//! numpy arrays and documents the interface (`.pyi` stubs). Here:
//!
//! - [`bidding_solve`]: both equilibria of supply-function bidding (li-chen-dahleh-2015
//!   Theorems 1 and 3) and the efficiency report (Theorem 5, Corollary 4) for customers with
//!   costs `a_i q + h_i q²` given as numpy arrays — no per-customer Python objects, the GIL
//!   released during the solve;
//! - [`bidding_simulate`]: the papers' iterative bidding (li-chen-dahleh-2015 eqs. 11–12,
//!   26–27) round by round, calling a Python callback after each round;
//! - [`run_command`]: `dr solve|simulate|verify --json` on a scenario (any of the four
//!   models) through [`dr_cli::command::run`], the JSON converted to Python
//!   (arrays of numbers become numpy arrays); for `simulate`, an optional Python callback
//!   watches every round of the model's iterative algorithm
//!   ([`dr_cli::command::run_observed`]: bidding eqs. 11–12/26–27, shaping's
//!   gradient scheme eqs. 41–42/48, Stackelberg eq. 21, the mechanism's learning dynamic).
//!
//! Bad input raises `demand_response.InputError` (a `ValueError`) with the message the `dr`
//! command prints, naming the field and value; its `kind` attribute is the command's
//! `--json` error kind.
//!
//! The pure-Rust helpers are usable without Python, e.g. the JSON→array rule:
//!
//! ```
//! use _native::numeric_array; // the library target of dr-python is `_native`
//! use serde_json::json;
//! assert_eq!(numeric_array(&json!([1.0, 2, null])).unwrap().len(), 3);
//! assert!(numeric_array(&json!(["a", 1.0])).is_none());
//! ```

use demand_response::scenario::Scenario;
use dr_bidding::{
    competitive_equilibrium, efficiency, nash_equilibrium, Behaviour, BiddingError,
    BiddingSimulation, Equilibrium, FittedMarketRule, Market, SimulationSettings,
};
use dr_cli::command::{self, Action, CommandError, RoundObserver, RoundReport};
use dr_convex::{Certificate, FixedStep, PriceRule};
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};

create_exception!(
    demand_response,
    InputError,
    PyValueError,
    "Bad input: the message names the field and the value, as the `dr` command does."
);

/// Raises [`InputError`] with `message` and a `kind` attribute.
fn input_error(py: Python<'_>, message: String, kind: &str) -> PyErr {
    let err = InputError::new_err(message);
    let _ = err.value(py).setattr("kind", kind);
    err
}

fn bidding_error(py: Python<'_>, e: &BiddingError) -> PyErr {
    input_error(py, e.to_string(), "model")
}

fn command_error(py: Python<'_>, e: CommandError) -> PyErr {
    let err = input_error(py, e.detailed, e.kind);
    let _ = err.value(py).setattr("exit_code", e.exit_code);
    err
}

/// The certificate as `dr --json` writes it: `status` and the scaled residuals.
fn certificate_dict<'py>(py: Python<'py>, c: &Certificate) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("status", format!("{:?}", c.status))?;
    d.set_item("primal_infeasibility", c.primal_infeasibility)?;
    d.set_item("stationarity", c.stationarity)?;
    d.set_item("complementarity", c.complementarity)?;
    d.set_item("duality_gap", c.duality_gap)?;
    d.set_item("iterations", c.iterations)?;
    d.set_item("max_residual", c.max_residual())?;
    Ok(d)
}

fn equilibrium_dict<'py>(py: Python<'py>, eq: Equilibrium) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("price", eq.price)?;
    d.set_item("total_cost", eq.total_cost)?;
    d.set_item("total_payment", eq.total_payment)?;
    d.set_item("total_bid", eq.total_bid)?;
    d.set_item("active", eq.water_filling.active)?;
    d.set_item("at_capacity", eq.water_filling.at_capacity)?;
    d.set_item("water_filling_prefix", eq.water_filling.prefix)?;
    d.set_item("max_relative_gain", eq.max_relative_gain)?;
    d.set_item("certificate", certificate_dict(py, &eq.certificate)?)?;
    d.set_item("loads", eq.loads.into_pyarray(py))?;
    d.set_item("bids", eq.bids.into_pyarray(py))?;
    d.set_item("net_revenues", eq.net_revenues.into_pyarray(py))?;
    Ok(d)
}

fn market_from(
    linear: &PyReadonlyArray1<'_, f64>,
    quadratic: &PyReadonlyArray1<'_, f64>,
    deficit: f64,
    capacity: Option<&PyReadonlyArray1<'_, f64>>,
) -> PyResult<Result<Market, BiddingError>> {
    let a = linear.as_slice()?.to_vec();
    let h = quadratic.as_slice()?.to_vec();
    let cap = match capacity {
        Some(c) => Some(c.as_slice()?.to_vec()),
        None => None,
    };
    Ok(Market::quadratic(a, h, deficit).and_then(|m| match cap {
        Some(c) => m.with_capacity(c),
        None => Ok(m),
    }))
}

/// Both equilibria of supply-function bidding (li-chen-dahleh-2015 Theorems 1 and 3) and
/// the efficiency report (Theorem 5, Corollary 4) for costs `a_i q + h_i q²`
/// (`linear` = a, `quadratic` = h, contiguous float64 arrays), deficit `d` and optional
/// capacities. Without a Nash equilibrium (fewer than three customers able to shed,
/// Corollary 2, or capacities below Lemma 3's need) `nash` and `efficiency` are `None` and
/// `nash_error` says why, as `dr solve` reports it.
#[pyfunction]
#[pyo3(signature = (linear, quadratic, deficit, capacity=None))]
pub fn bidding_solve<'py>(
    py: Python<'py>,
    linear: PyReadonlyArray1<'py, f64>,
    quadratic: PyReadonlyArray1<'py, f64>,
    deficit: f64,
    capacity: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let market = market_from(&linear, &quadratic, deficit, capacity.as_ref())?
        .map_err(|e| bidding_error(py, &e))?;
    let solved = py.detach(|| -> Result<_, BiddingError> {
        let ce = competitive_equilibrium(&market)?;
        let ne = match nash_equilibrium(&market) {
            Ok(ne) => Ok(ne),
            Err(e @ BiddingError::NashNeedsThreeSuppliers { .. })
            | Err(e @ BiddingError::NashCapacity { .. }) => Err(e),
            Err(e) => return Err(e),
        };
        let eff = match &ne {
            Ok(ne) => Some(efficiency(&market, &ce, ne)?),
            Err(_) => None,
        };
        Ok((ce, ne, eff))
    });
    let (ce, ne, eff) = solved.map_err(|e| bidding_error(py, &e))?;
    let out = PyDict::new(py);
    out.set_item(
        "direction",
        format!("{:?}", market.direction()).to_lowercase(),
    )?;
    out.set_item("deficit", market.deficit())?;
    out.set_item("customers", market.len())?;
    out.set_item("competitive", equilibrium_dict(py, ce)?)?;
    match ne {
        Ok(ne) => {
            out.set_item("nash", equilibrium_dict(py, ne)?)?;
            out.set_item("nash_error", py.None())?;
        }
        Err(e) => {
            out.set_item("nash", py.None())?;
            out.set_item("nash_error", e.to_string())?;
        }
    }
    match eff {
        Some(eff) => {
            let v = serde_json::to_value(&eff).map_err(|e| PyValueError::new_err(e.to_string()))?;
            out.set_item("efficiency", json_to_py(py, &v)?)?;
        }
        None => out.set_item("efficiency", py.None())?,
    }
    Ok(out)
}

/// The iterative bidding scheme of li-chen-dahleh-2015 (competitive: eqs. 11–12, strategic:
/// eqs. 26–27) with the papers' fixed step (`rule = "paper"`) or the fast fitted-market
/// rule (`rule = "fast"`). After every round `callback(round_dict)` is called with the GIL
/// held (`round`, `price`, `total_bid`, `supply`, `mismatch`, `relative_mismatch`); it may
/// return `False` to stop the run (termination `"stopped"`); an exception it raises ends the
/// run and propagates. The rounds themselves run with the GIL released.
#[pyfunction]
#[pyo3(signature = (linear, quadratic, deficit, capacity=None, behaviour="competitive", rule="paper", step=0.1, start_price=1.0, max_rounds=10_000, tolerance=1e-9, callback=None))]
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the Python keyword arguments"
)]
pub fn bidding_simulate<'py>(
    py: Python<'py>,
    linear: PyReadonlyArray1<'py, f64>,
    quadratic: PyReadonlyArray1<'py, f64>,
    deficit: f64,
    capacity: Option<PyReadonlyArray1<'py, f64>>,
    behaviour: &str,
    rule: &str,
    step: f64,
    start_price: f64,
    max_rounds: usize,
    tolerance: f64,
    callback: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let market = market_from(&linear, &quadratic, deficit, capacity.as_ref())?
        .map_err(|e| bidding_error(py, &e))?;
    let behaviour = match behaviour {
        "competitive" => Behaviour::Competitive,
        "strategic" | "nash" => Behaviour::Strategic,
        other => {
            return Err(input_error(
                py,
                format!("behaviour = '{other}' is not one of: competitive, strategic"),
                "bad_parameter",
            ))
        }
    };
    let settings = SimulationSettings {
        start_price,
        max_rounds,
        tolerance,
        ..SimulationSettings::default()
    };
    match rule {
        "paper" => {
            dr_convex::check_positive(|| "step".into(), step)
                .map_err(|e| bidding_error(py, &BiddingError::from(e)))?;
            let sim = BiddingSimulation::new(&market, behaviour, FixedStep::new(step), settings)
                .map_err(|e| bidding_error(py, &e))?;
            drive(py, sim, callback)
        }
        "fast" => {
            let rule = FittedMarketRule::new(behaviour, market.deficit());
            let sim = BiddingSimulation::new(&market, behaviour, rule, settings)
                .map_err(|e| bidding_error(py, &e))?;
            drive(py, sim, callback)
        }
        other => Err(input_error(
            py,
            format!("rule = '{other}' is not one of: paper, fast"),
            "bad_parameter",
        )),
    }
}

/// Runs the simulation with the kernel's executor (`BiddingSimulation::executor`: the
/// settings' round limit and oscillation window, a trace of every round), the Python
/// callback attached as a [`dr_bidding::callback`] observer. The GIL is released while the
/// rounds run and taken back only to call the callback; `False` from it stops the run
/// (`Termination::Stopped`), an exception from it stops the run and is raised.
fn drive<'py, R: PriceRule + Send>(
    py: Python<'py>,
    sim: BiddingSimulation<'_, R>,
    callback: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let cb: Option<Py<PyAny>> = callback.map(Bound::unbind);
    let mut raised: Option<PyErr> = None;
    let run = py.detach(|| {
        let mut observer = dr_bidding::callback(|round: &dr_bidding::Round| {
            let Some(cb) = &cb else {
                return ControlFlow::Continue(());
            };
            Python::attach(|py| {
                let answer = round_dict(py, round).and_then(|r| cb.bind(py).call1((r,)));
                match answer {
                    Ok(a) if a.is(pyo3::types::PyBool::new(py, false).as_any()) => {
                        ControlFlow::Break(())
                    }
                    Ok(_) => ControlFlow::Continue(()),
                    Err(e) => {
                        raised = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })
        });
        sim.executor().observe(&mut observer).run()
    });
    if let Some(e) = raised {
        return Err(e);
    }
    let trace = run.trace.unwrap_or_default();
    let out = PyDict::new(py);
    out.set_item("termination", run.termination.name())?;
    out.set_item("converged", run.termination.is_converged())?;
    out.set_item("rounds", run.rounds)?;
    out.set_item(
        "price",
        trace.last().map_or(run.stepper.price(), |r| r.price),
    )?;
    out.set_item(
        "relative_mismatch",
        trace.last().map_or(f64::NAN, |r| r.relative_mismatch),
    )?;
    out.set_item("bids", run.stepper.bids().to_vec().into_pyarray(py))?;
    let col = |f: fn(&dr_bidding::Round) -> f64| trace.iter().map(f).collect::<Vec<f64>>();
    let t = PyDict::new(py);
    t.set_item("price", col(|r| r.price).into_pyarray(py))?;
    t.set_item("total_bid", col(|r| r.total_bid).into_pyarray(py))?;
    t.set_item("mismatch", col(|r| r.mismatch).into_pyarray(py))?;
    t.set_item(
        "relative_mismatch",
        col(|r| r.relative_mismatch).into_pyarray(py),
    )?;
    out.set_item("trace", t)?;
    Ok(out)
}

/// One round record as the dict handed to the Python callback.
fn round_dict<'py>(py: Python<'py>, round: &dr_bidding::Round) -> PyResult<Bound<'py, PyDict>> {
    let r = PyDict::new(py);
    r.set_item("round", round.round)?;
    r.set_item("price", round.price)?;
    r.set_item("total_bid", round.total_bid)?;
    r.set_item("supply", round.supply)?;
    r.set_item("mismatch", round.mismatch)?;
    r.set_item("relative_mismatch", round.relative_mismatch)?;
    Ok(r)
}

/// `Some(values)` when `v` is a non-empty array of numbers (JSON `null`, which is how
/// serde_json writes a NaN, counts as NaN when at least one element is a number).
pub fn numeric_array(v: &Value) -> Option<Vec<f64>> {
    let items = v.as_array()?;
    if items.is_empty() || !items.iter().any(Value::is_number) {
        return None;
    }
    items
        .iter()
        .map(|x| match x {
            Value::Number(n) => n.as_f64(),
            Value::Null => Some(f64::NAN),
            _ => None,
        })
        .collect()
}

/// `Some(values)` when every element of `v` is a JSON integer.
fn integer_array(v: &Value) -> Option<Vec<i64>> {
    let items = v.as_array()?;
    if items.is_empty() {
        return None;
    }
    items.iter().map(Value::as_i64).collect()
}

/// JSON → Python: numbers become `int`/`float`, arrays of numbers numpy arrays (int64 when
/// every element is an integer, float64 otherwise; a rectangular array of such rows a 2-D
/// float64 array), objects dicts, other arrays lists.
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            if let Some(ints) = integer_array(v) {
                return Ok(ints.into_pyarray(py).into_any());
            }
            if let Some(xs) = numeric_array(v) {
                return Ok(xs.into_pyarray(py).into_any());
            }
            let rows: Option<Vec<Vec<f64>>> = items.iter().map(numeric_array).collect();
            if let Some(rows) = rows.filter(|r| !r.is_empty()) {
                let width = rows[0].len();
                if rows.iter().all(|r| r.len() == width) {
                    if let Ok(a) = PyArray2::from_vec2(py, &rows) {
                        return Ok(a.into_any());
                    }
                }
            }
            let list = PyList::empty(py);
            for x in items {
                list.append(json_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, x) in map {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Runs `dr <action> --json` on a scenario: `path` (a file, as `dr` reads it) or `text`
/// (JSON or TOML, named `name` in messages), with `--set KEY=VALUE` pairs `settings`.
/// Returns `(result, exit_code)`: the converted JSON and the status `dr` would exit with.
///
/// With `callback` (action `simulate` only), `callback(round_dict)` is called after every
/// round of the model's iterative algorithm — li-chen-dahleh-2015 eqs. 11–12/26–27,
/// chen-li-low-doyle-2010 eqs. 41–42/48 (gradient scheme), alshehri-liu-chen-basar eq. 21,
/// wei-anastasopoulos' learning dynamic — through
/// [`dr_cli::command::run_observed`] (the observer of the kernel executor): the
/// dict holds `algorithm`, `round` and the round's figures ([`RoundReport`]; vectors as
/// numpy arrays). It runs with the GIL held; the rounds run with it released. `False`
/// stops the run (termination `"stopped"`); an exception stops it and is raised.
#[pyfunction]
#[pyo3(signature = (action, path=None, text=None, name="<dict>", settings=Vec::new(), callback=None))]
pub fn run_command<'py>(
    py: Python<'py>,
    action: &str,
    path: Option<String>,
    text: Option<String>,
    name: &str,
    settings: Vec<(String, String)>,
    callback: Option<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, u8)> {
    let action = match action {
        "solve" => Action::Solve,
        "simulate" => Action::Simulate,
        "verify" => Action::Verify,
        other => {
            return Err(PyValueError::new_err(format!(
                "action = '{other}' is not one of: solve, simulate, verify"
            )))
        }
    };
    if callback.is_some() && action != Action::Simulate {
        return Err(PyValueError::new_err(
            "callback: only `simulate` runs rounds to observe",
        ));
    }
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::new(Mutex::new(None));
    let observer = callback.map(|cb| python_observer(cb.unbind(), Arc::clone(&raised)));
    let name = name.to_string();
    let result = py.detach(move || -> Result<_, CommandError> {
        let scenario = match (path, text) {
            (Some(p), _) => Scenario::read(Path::new(&p)),
            (None, Some(t)) => Scenario::from_bytes(t.as_bytes(), &name),
            (None, None) => Scenario::from_bytes(b"", &name),
        }
        .map_err(CommandError::from)?;
        match observer {
            Some(observer) => command::run_observed(action, &scenario, &settings, observer),
            None => command::run(action, &scenario, &settings),
        }
    });
    let pending = raised.lock().map(|mut r| r.take()).unwrap_or(None);
    if let Some(e) = pending {
        return Err(e);
    }
    let result = result.map_err(|e| command_error(py, e))?;
    Ok((json_to_py(py, &result.json)?, result.exit_code))
}

/// The Python callback `cb` as a round observer: it is called with the GIL taken back,
/// `False` stops the run, an exception stops it and is kept in `raised`; after an exception
/// the callback is not called again (a later run of the same command, e.g. bidding's
/// second equilibrium, stops at its first round).
fn python_observer(cb: Py<PyAny>, raised: Arc<Mutex<Option<PyErr>>>) -> RoundObserver {
    Box::new(move |report: &RoundReport| {
        if raised.lock().map_or(true, |r| r.is_some()) {
            return ControlFlow::Break(());
        }
        Python::attach(|py| {
            let answer = report_dict(py, report).and_then(|r| cb.bind(py).call1((r,)));
            match answer {
                Ok(a) if a.is(pyo3::types::PyBool::new(py, false).as_any()) => {
                    ControlFlow::Break(())
                }
                Ok(_) => ControlFlow::Continue(()),
                Err(e) => {
                    if let Ok(mut slot) = raised.lock() {
                        slot.get_or_insert(e);
                    }
                    ControlFlow::Break(())
                }
            }
        })
    })
}

/// One round of `dr simulate` as the dict handed to the Python callback.
fn report_dict<'py>(py: Python<'py>, report: &RoundReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("algorithm", &report.algorithm)?;
    d.set_item("round", report.round)?;
    for (name, x) in &report.scalars {
        d.set_item(*name, *x)?;
    }
    for (name, v) in &report.vectors {
        d.set_item(*name, v.clone().into_pyarray(py))?;
    }
    Ok(d)
}

/// The native module `demand_response._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_function(wrap_pyfunction!(bidding_solve, m)?)?;
    m.add_function(wrap_pyfunction!(bidding_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(run_command, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{integer_array, numeric_array};
    use serde_json::json;

    #[test]
    fn arrays_of_numbers_become_arrays_and_nothing_else_does() {
        assert_eq!(integer_array(&json!([1, 2, 3])), Some(vec![1, 2, 3]));
        assert_eq!(integer_array(&json!([1, 2.5])), None);
        assert_eq!(numeric_array(&json!([1, 2.5])), Some(vec![1.0, 2.5]));
        let with_nan = numeric_array(&json!([null, 2.0])).expect("numbers with a NaN");
        assert!(with_nan[0].is_nan() && with_nan[1] == 2.0);
        assert_eq!(numeric_array(&json!([null, null])), None);
        assert_eq!(numeric_array(&json!([])), None);
        assert_eq!(numeric_array(&json!(["x"])), None);
        assert_eq!(numeric_array(&json!([1.0, {"a": 1}])), None);
        assert_eq!(numeric_array(&json!(3.0)), None);
    }
}
