"""The Python side of the binding benchmark (BENCHMARKS.md, "Python bindings"):
`demand_response.bidding.solve` on n customers passed as numpy arrays, median of `repeats`
runs (timeit), on the instance of `examples/bench_bidding.rs` (same formula).

    python crates/dr-python/benches/bench_bidding.py 1000000 15
"""

import sys
import timeit

import numpy as np

from demand_response import bidding

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 15
i = np.arange(n, dtype=np.float64)
a = 1.0 + (i * 0.6180339887498949) % 1.0
h = 0.5 + 4.0 * ((i * 0.7548776662466927) % 1.0)
d = n / 10.0
r = bidding.solve(a, h, d)
assert r["competitive"]["certificate"]["status"] == "Solved"
assert r["nash"]["certificate"]["status"] == "Solved"
print(f"n = {n}: competitive price {r['competitive']['price']!r}, nash price {r['nash']['price']!r}")
times = sorted(timeit.repeat(lambda: bidding.solve(a, h, d), number=1, repeat=repeats))
print(f"python bidding.solve median of {repeats}: {1e3 * times[len(times) // 2]:.2f} ms")
