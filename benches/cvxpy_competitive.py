"""The competitive equilibrium of supply-function bidding solved through CVXPY with the
Clarabel solver: the reference issue 13 states its end-to-end targets against
("CVXPY+Clarabel solves the competitive equilibrium alone in about 9.6 s").

li-chen-dahleh-2015 Theorem 1 with C_i(q) = a_i q + h_i q^2:
    min  sum_i a_i q_i + h_i q_i^2   s.t.  sum_i q_i = d,  q_i >= 0,
on the customers of a customers.csv written by `dr solve FILE --output DIR`, with the
same tolerances as the in-process Clarabel reference (examples/clarabel_competitive.rs):
gap (absolute and relative) and feasibility 1e-9.

    python3 benches/cvxpy_competitive.py DIR/customers.csv DEFICIT

Prints one JSON line: {"customers", "seconds" (building the CVXPY problem, canonicalizing
and solving it, not reading the file), "status", "price" (the multiplier of sum q = d, in
the kernel's sign convention), "iterations", "cvxpy", "clarabel"}. Run by
`cargo xtask bench end-to-end` from a virtual environment it creates under target/.
"""

import json
import sys
import time

import clarabel
import cvxpy as cp
import numpy as np


def read_customers(path):
    """The `linear` (a) and `quadratic` (h) columns of a customers.csv."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    try:
        ia, ih = header.index("linear"), header.index("quadratic")
    except ValueError as e:
        sys.exit(f"{path}: {e} (columns: {header})")
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(ia, ih), ndmin=2)
    return table[:, 0].copy(), table[:, 1].copy()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cvxpy_competitive.py CUSTOMERS.csv DEFICIT")
    a, h = read_customers(sys.argv[1])
    d = float(sys.argv[2])
    start = time.perf_counter()
    q = cp.Variable(a.size)
    balance = cp.sum(q) == d
    problem = cp.Problem(
        cp.Minimize(a @ q + cp.sum(cp.multiply(h, cp.square(q)))),
        [balance, q >= 0],
    )
    problem.solve(
        solver=cp.CLARABEL,
        tol_gap_abs=1e-9,
        tol_gap_rel=1e-9,
        tol_feas=1e-9,
    )
    seconds = time.perf_counter() - start
    # CVXPY's Lagrangian adds dual * (sum q - d) for `sum q == d`, so stationarity reads
    # a_i + 2 h_i q_i + dual - mu_i = 0: the price p = a_i + 2 h_i q_i is -dual.
    dual = balance.dual_value
    price = float(-dual) if dual is not None else float("nan")
    stats = problem.solver_stats
    print(
        json.dumps(
            {
                "customers": int(a.size),
                "seconds": seconds,
                "status": problem.status,
                "price": price,
                "iterations": stats.num_iters if stats is not None else None,
                "cvxpy": cp.__version__,
                "clarabel": clarabel.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
