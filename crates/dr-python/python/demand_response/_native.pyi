"""The native module (Rust, pyo3); use :mod:`demand_response` instead."""

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

class InputError(ValueError):
    kind: str
    exit_code: int

def bidding_solve(
    linear: npt.NDArray[np.float64],
    quadratic: npt.NDArray[np.float64],
    deficit: float,
    capacity: Optional[npt.NDArray[np.float64]] = None,
) -> Dict[str, Any]: ...
def bidding_simulate(
    linear: npt.NDArray[np.float64],
    quadratic: npt.NDArray[np.float64],
    deficit: float,
    capacity: Optional[npt.NDArray[np.float64]] = None,
    behaviour: str = "competitive",
    rule: str = "paper",
    step: float = 0.1,
    start_price: float = 1.0,
    max_rounds: int = 10000,
    tolerance: float = 1e-9,
    callback: Any = None,
) -> Dict[str, Any]: ...
def run_command(
    action: str,
    path: Optional[str] = None,
    text: Optional[str] = None,
    name: str = "<dict>",
    settings: List[Tuple[str, str]] = ...,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
) -> Tuple[Dict[str, Any], int]: ...
