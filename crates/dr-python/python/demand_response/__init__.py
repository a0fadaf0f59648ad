"""demand_response — equilibria of electricity demand-response markets, from Python.

A native package (Rust, pyo3) over the ``demand-response`` crates. Four market models
from four papers (restated in the repository's SPEC.md):

- supply-function bidding, li-chen-dahleh-2015 ("Demand response using linear supply
  function bidding") and chen-li-low-doyle-2010 §III: :mod:`demand_response.bidding`;
- demand shaping over periods, chen-li-low-doyle-2010 §IV;
- multi-company Stackelberg pricing, alshehri-liu-chen-basar;
- the peak-demand mechanism for energy communities, wei-anastasopoulos.

:func:`solve`, :func:`simulate` and :func:`verify` take a scenario (a path to a TOML/JSON
scenario file, or a dict with the file's schema, ``model = "bidding" | "shaping" |
"stackelberg" | "mechanism"``) and return what ``dr solve|simulate|verify --json`` prints,
with arrays of numbers as numpy arrays. Every solve carries its certificate (KKT
residuals relative to the data's own scale). Bad input raises :class:`InputError`, a
``ValueError`` whose message names the field and the value as the ``dr`` command does.
The GIL is released while Rust computes.
"""

from __future__ import annotations

import json as _json
import os as _os
from typing import Any, Callable, Dict, Mapping, Optional, Union

from . import _native
from ._native import InputError

__all__ = ["InputError", "bidding", "solve", "simulate", "verify", "exit_code"]

Scenario = Union[str, "_os.PathLike[str]", Mapping[str, Any]]


def _run(
    action: str,
    scenario: Scenario,
    settings: Optional[Mapping[str, Any]],
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
):
    pairs = [(str(k), _setting_text(v)) for k, v in (settings or {}).items()]
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if isinstance(scenario, Mapping):
        text = _json.dumps(scenario, allow_nan=False, default=_json_default)
        return _native.run_command(
            action, text=text, name="<dict>", settings=pairs, callback=callback
        )
    if isinstance(scenario, (str, _os.PathLike)):
        return _native.run_command(
            action, path=_os.fspath(scenario), settings=pairs, callback=callback
        )
    raise TypeError(
        "scenario must be a path (str or os.PathLike) or a dict with the scenario schema, "
        f"got {type(scenario).__name__}"
    )


def _setting_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _json_default(o: Any) -> Any:
    # numpy arrays and scalars inside a scenario dict.
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def exit_code(result: Mapping[str, Any]) -> int:
    """The exit status ``dr`` would return for ``result`` (0 ok, 3 a claim fails or a
    proven disagreement, 4 not converged, 5 inconclusive), from its ``outcome``."""
    return {"ok": 0, "failed": 3, "not_converged": 4, "inconclusive": 5}[result["outcome"]]


def solve(scenario: Scenario, settings: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The exact equilibrium of a scenario's market with its certificate: the structure of
    ``dr solve --json`` (``outcome`` and ``problems`` included), per-customer and
    per-period arrays as numpy arrays. ``settings`` are ``dr``'s ``--set KEY=VALUE``."""
    result, _ = _run("solve", scenario, settings)
    return result


def simulate(
    scenario: Scenario,
    settings: Optional[Mapping[str, Any]] = None,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
) -> Dict[str, Any]:
    """The model's distributed algorithm with the scenario's ``[simulation]`` settings:
    the structure of ``dr simulate --json``.

    ``callback(round)``, when given, is called after every round (the observer of the
    kernel's iteration abstraction) with a dict: ``algorithm``, ``round`` (the index the
    result's ``rounds`` records carry) and the round's figures, vectors as numpy arrays:

    - bidding (li-chen-dahleh-2015 eqs. 11-12, strategic 26-27): ``price``,
      ``total_bid``, ``supply``, ``mismatch``, ``relative_mismatch``;
    - shaping, gradient scheme (chen-li-low-doyle-2010 eqs. 41-42, strategic 48):
      ``prices`` p(t), ``total_load`` Q(t), ``residual``, ``welfare``; the fast scheme
      (``scheme = "newton"``, the price Newton): ``prices`` (the announced trial),
      ``total_load``, ``residual``, round 0 being the start;
    - stackelberg, distributed pricing (alshehri-liu-chen-basar eq. 21): ``prices``
      (flat, company-major ``k*T + t``: the prices the round measured), ``mismatch``;
    - mechanism, the learning dynamic (wei-anastasopoulos): ``allocation`` (flat,
      user-major ``i*T + t``), ``max_gain``, ``max_relative_gain``, ``infeasibility``,
      ``price_disagreement``, ``welfare``, ``peak``.

    The callback runs with the GIL held, the rounds with it released. Returning ``False``
    stops the run (termination ``"stopped"``, outcome not converged); an exception it
    raises stops the run and propagates. Otherwise it only observes: the result is the
    one without a callback."""
    result, _ = _run("simulate", scenario, settings, callback)
    return result


def verify(scenario: Scenario, settings: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The LP cross-check of a scenario's equilibrium (``dr verify --json``): the model's
    own solver against the piecewise-linear LP back end (dr-lp). ``result["outcome"]`` is
    ``"ok"`` when they agree (proven), ``"failed"`` for a proven disagreement and
    ``"inconclusive"`` when the LP could not confirm (not a disagreement)."""
    result, _ = _run("verify", scenario, settings)
    return result


from . import bidding  # noqa: E402  (after the helpers it uses)
