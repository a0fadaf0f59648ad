"""Supply-function bidding (li-chen-dahleh-2015, "Demand response using linear supply
function bidding"; chen-li-low-doyle-2010 §III).

A utility sheds a deficit ``d > 0``; customer ``i`` with cost ``C_i(q) = a_i q + h_i q²``
bids ``b_i`` and sheds ``q_i = b_i p`` at the clearing price ``p = d / Σ b_i`` (eq. 4).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

from . import _native


def _array(x: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1))


def solve(linear, quadratic, deficit: float, capacity=None) -> Dict[str, Any]:
    """Both equilibria and the efficiency loss of supply-function bidding.

    ``linear`` (``a_i ≥ 0``) and ``quadratic`` (``h_i > 0``) are numpy arrays or sequences
    of the cost coefficients of ``C_i(q) = a_i q + h_i q²``; ``deficit`` is ``d`` (negative:
    a surplus to absorb); ``capacity`` optional per-customer caps on ``q_i``.

    Returns a dict with

    - ``competitive``: the competitive equilibrium (Theorem 1; water-filling, Theorem 2);
    - ``nash``: the Nash equilibrium of price-anticipating customers (Theorem 3/4), or
      ``None`` when none exists (fewer than 3 customers can shed, Corollary 2), with the
      reason in ``nash_error``;
    - ``efficiency``: Theorem 5 / Corollary 4 (``price_ratio`` p*/p̄, ``cost_ratio``
      C*/C̄, their bounds), or ``None`` without a Nash equilibrium.

    Each equilibrium holds ``price`` (float), ``loads``, ``bids``, ``net_revenues`` (numpy
    arrays), ``total_cost``, ``total_payment``, and ``certificate`` (``status`` and the
    KKT residuals relative to the data's scale). Bad input raises
    :class:`demand_response.InputError` (a ``ValueError``) naming the field, e.g.
    ``quadratic[1] = -1 is out of range: must be > 0``. The GIL is released while solving.
    """
    cap = None if capacity is None else _array(capacity)
    return _native.bidding_solve(_array(linear), _array(quadratic), float(deficit), cap)


def simulate(
    linear,
    quadratic,
    deficit: float,
    capacity=None,
    *,
    behaviour: str = "competitive",
    rule: str = "paper",
    step: float = 0.1,
    start_price: float = 1.0,
    max_rounds: int = 10_000,
    tolerance: float = 1e-9,
    callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
) -> Dict[str, Any]:
    """The iterative bidding scheme, round by round.

    ``behaviour="competitive"``: price-taking customers reply ``b_i = q_i(p)/p`` with
    ``C_i'(q_i) = p`` (eq. 11); ``"strategic"``: price-anticipating replies (eq. 26). The
    utility updates the price with the papers' fixed step ``γ = step`` (``rule="paper"``,
    eqs. 12/27) or the fast fitted-market rule (``rule="fast"``). After every round
    ``callback(round)`` receives a dict (``round``, ``price``, ``total_bid``, ``supply``,
    ``mismatch``, ``relative_mismatch``); returning ``False`` stops the run (termination
    ``"stopped"``), an exception propagates.

    Returns ``termination`` (``converged``, ``max_rounds``, ``oscillating``, ``diverged``,
    ``stalled`` or ``stopped``), ``converged``, ``rounds``, the last ``price``, ``bids``
    and ``relative_mismatch``, and ``trace`` (numpy arrays per round).
    """
    cap = None if capacity is None else _array(capacity)
    return _native.bidding_simulate(
        _array(linear),
        _array(quadratic),
        float(deficit),
        cap,
        behaviour=behaviour,
        rule=rule,
        step=float(step),
        start_price=float(start_price),
        max_rounds=int(max_rounds),
        tolerance=float(tolerance),
        callback=callback,
    )
