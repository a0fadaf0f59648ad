"""li-chen-dahleh-2015 Fig. 1 from Python: the iterative supply-function bidding of 30
customers shedding a deficit d = 10, price-taking (eqs. 11–12) and price-anticipating
(eqs. 26–27) customers with the paper's fixed step γ = 0.1, converging to the competitive
price p̄ (Theorem 1) and the Nash price p* (Theorem 3) that `demand_response.bidding.solve`
computes exactly.

The 30 cost pairs (a_i, h_i) are read from data/bidding_30.toml (the draw of
`dr study bidding-convergence`). The trajectories are collected with the per-round callback.

    pip install ./crates/dr-python matplotlib
    python examples/python/bidding_convergence.py --out fig1.png

Needs matplotlib (not a dependency of the package).
"""

import argparse
import pathlib
import re

import numpy as np

from demand_response import bidding

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "bidding_30.toml"


def read_costs(path):
    pairs = re.findall(
        r"cost\s*=\s*\{\s*linear\s*=\s*([-0-9.eE+]+)\s*,\s*quadratic\s*=\s*([-0-9.eE+]+)",
        path.read_text(),
    )
    a, h = (np.array(col, dtype=float) for col in zip(*pairs))
    return a, h


def trajectory(a, h, d, behaviour):
    prices = []
    run = bidding.simulate(
        a, h, d, behaviour=behaviour, step=0.1, callback=lambda r: prices.append(r["price"])
    )
    return np.array(prices), run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bidding_fig1.png", help="figure file (png, svg, pdf)")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, h = read_costs(DATA)
    d = 10.0
    exact = bidding.solve(a, h, d)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for behaviour, key, style in (("competitive", "competitive", "C0"), ("strategic", "nash", "C3")):
        prices, run = trajectory(a, h, d, behaviour)
        target = exact[key]["price"]
        gap = abs(run["price"] - target) / target
        print(f"{behaviour:11}: {run['termination']} after {run['rounds']} rounds, "
              f"price {run['price']:.6f}, exact {target:.6f} (relative gap {gap:.1e})")
        assert run["converged"] and gap < 1e-6, "the scheme must reach the exact equilibrium"
        ax.plot(prices, color=style, label=f"{behaviour} bidding (γ = 0.1)")
        ax.axhline(target, color=style, linestyle="--", linewidth=0.8,
                   label=("p̄ (Theorem 1)" if key == "competitive" else "p* (Theorem 3)"))
    ax.set_xlabel("round k")
    ax.set_ylabel("price p(k)")
    ax.set_title("li-chen-dahleh-2015 Fig. 1: 30 customers, d = 10")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"figure written: {args.out}")


if __name__ == "__main__":
    main()
