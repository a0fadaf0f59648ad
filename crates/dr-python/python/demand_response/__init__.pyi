"""demand_response — equilibria of electricity demand-response markets (four papers:
li-chen-dahleh-2015, chen-li-low-doyle-2010, alshehri-liu-chen-basar, wei-anastasopoulos),
solved in Rust with certificates."""

import os
from typing import Any, Callable, Dict, Mapping, Optional, Union

from . import bidding as bidding

Scenario = Union[str, os.PathLike[str], Mapping[str, Any]]

class InputError(ValueError):
    """Bad input. The message names the field and the value, as `dr` prints it."""

    kind: str
    """`dr --json`'s error kind: ``scenario``, ``model``, ``bad_parameter``, ``too_large``, …"""
    exit_code: int
    """The exit status `dr` returns for it (1 bad input, 2 usage)."""

def solve(scenario: Scenario, settings: Optional[Mapping[str, Any]] = ...) -> Dict[str, Any]:
    """`dr solve --json` on a scenario path or dict (any of the four models); arrays of
    numbers as numpy arrays."""

def simulate(
    scenario: Scenario,
    settings: Optional[Mapping[str, Any]] = ...,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = ...,
) -> Dict[str, Any]:
    """`dr simulate --json`: the model's distributed algorithm (li-chen-dahleh-2015
    eqs. 11-12/26-27, chen-li-low-doyle-2010 eqs. 41-42/48, alshehri-liu-chen-basar eq. 21,
    wei-anastasopoulos' learning dynamic). ``callback(round)`` is called after every round
    with ``algorithm``, ``round`` and the round's figures (numpy arrays for vectors);
    ``False`` stops the run (termination ``"stopped"``), an exception propagates."""

def verify(scenario: Scenario, settings: Optional[Mapping[str, Any]] = ...) -> Dict[str, Any]:
    """`dr verify --json`: the LP cross-check verdict (``outcome`` ok / failed /
    inconclusive)."""

def exit_code(result: Mapping[str, Any]) -> int:
    """The exit status `dr` would return for a result (0, 3, 4 or 5)."""
