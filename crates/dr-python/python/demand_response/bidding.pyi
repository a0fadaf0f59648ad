"""Supply-function bidding (li-chen-dahleh-2015; chen-li-low-doyle-2010 §III)."""

from typing import Any, Callable, Dict, Optional, Sequence, TypedDict, Union

import numpy as np
import numpy.typing as npt

ArrayLike = Union[npt.NDArray[np.float64], Sequence[float]]

class Certificate(TypedDict):
    status: str
    primal_infeasibility: float
    stationarity: float
    complementarity: float
    duality_gap: float
    iterations: int
    max_residual: float

class Equilibrium(TypedDict):
    price: float
    loads: npt.NDArray[np.float64]
    bids: npt.NDArray[np.float64]
    net_revenues: npt.NDArray[np.float64]
    total_cost: float
    total_payment: float
    total_bid: float
    active: int
    at_capacity: int
    water_filling_prefix: bool
    max_relative_gain: Optional[float]
    certificate: Certificate

class Report(TypedDict):
    direction: str
    deficit: float
    customers: int
    competitive: Equilibrium
    nash: Optional[Equilibrium]
    nash_error: Optional[str]
    efficiency: Optional[Dict[str, Any]]

class Round(TypedDict):
    round: int
    price: float
    total_bid: float
    supply: float
    mismatch: float
    relative_mismatch: float

def solve(
    linear: ArrayLike,
    quadratic: ArrayLike,
    deficit: float,
    capacity: Optional[ArrayLike] = None,
) -> Report:
    """Competitive (Theorem 1) and Nash (Theorem 3) equilibria and the efficiency loss
    (Theorem 5, Corollary 4) for costs ``a_i q + h_i q²``."""

def simulate(
    linear: ArrayLike,
    quadratic: ArrayLike,
    deficit: float,
    capacity: Optional[ArrayLike] = None,
    *,
    behaviour: str = "competitive",
    rule: str = "paper",
    step: float = 0.1,
    start_price: float = 1.0,
    max_rounds: int = 10000,
    tolerance: float = 1e-9,
    callback: Optional[Callable[[Round], Optional[bool]]] = None,
) -> Dict[str, Any]:
    """The iterative bidding scheme (eqs. 11–12, 26–27) with a per-round callback."""
