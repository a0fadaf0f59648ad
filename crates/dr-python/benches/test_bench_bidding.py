"""pytest-benchmark version of `bench_bidding.py` (BENCHMARKS.md, "Python bindings"):
`demand_response.bidding.solve` (li-chen-dahleh-2015 Theorems 1 and 3) on n customers passed
as numpy arrays, the instance of `examples/bench_bidding.rs` (same formula), and the cost of
a per-round Python callback on `demand_response.simulate` (alshehri-liu-chen-basar eq. 21).

    pip install pytest-benchmark
    python -m pytest crates/dr-python/benches/test_bench_bidding.py --benchmark-only

`BENCH_N` sets n (default 10^6). Not part of the test run (`crates/dr-python/tests`).
"""

import os
import pathlib

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

import demand_response  # noqa: E402
from demand_response import bidding  # noqa: E402

N = int(os.environ.get("BENCH_N", "1000000"))
STACKELBERG = pathlib.Path(__file__).resolve().parents[3] / "data" / "stackelberg_ecogrid.toml"


def instance(n):
    i = np.arange(n, dtype=np.float64)
    a = 1.0 + (i * 0.6180339887498949) % 1.0
    h = 0.5 + 4.0 * ((i * 0.7548776662466927) % 1.0)
    return a, h, n / 10.0


def test_bidding_solve_numpy(benchmark):
    a, h, d = instance(N)
    r = benchmark(bidding.solve, a, h, d)
    assert r["competitive"]["certificate"]["status"] == "Solved"
    assert r["nash"]["certificate"]["status"] == "Solved"
    # Theorem 5: the Nash price is above the competitive one.
    assert r["nash"]["price"] > r["competitive"]["price"]


@pytest.mark.parametrize("with_callback", [False, True], ids=["plain", "callback"])
def test_stackelberg_simulate_callback(benchmark, with_callback):
    rounds = []
    callback = rounds.append if with_callback else None
    r = benchmark(demand_response.simulate, str(STACKELBERG), callback=callback)
    assert r["termination"] == "converged"
    if with_callback:
        assert len(rounds) % len(r["rounds"]) == 0  # every round of every benchmark call
