"""`demand_response.simulate(scenario, callback=f)`: a per-round Python callback on the
iterative algorithm of every model (the observer of the kernel's iteration abstraction):

- shaping: the gradient scheme, chen-li-low-doyle-2010 eqs. 41-42;
- stackelberg: the distributed pricing, alshehri-liu-chen-basar eq. 21;
- mechanism: the learning dynamic, wei-anastasopoulos;
- bidding: li-chen-dahleh-2015 eqs. 11-12.

The callback sees every round the result records, with the same numbers; its last prices
(allocation for the mechanism) are the result's final ones; the run with a callback equals
the `dr simulate --json` output; `False` stops the run; an exception propagates.
"""

import json

import numpy as np
import pytest

import demand_response
from conftest import DATA, assert_same

SHAPING = DATA / "shaping_day.toml"
STACKELBERG = DATA / "stackelberg_ecogrid.toml"
MECHANISM = DATA / "mechanism_community.toml"
BIDDING = DATA / "bidding_30.toml"
ALL = [SHAPING, STACKELBERG, MECHANISM, BIDDING]


def observed(path, **kwargs):
    seen = []

    def keep(r):
        seen.append(r)

    return demand_response.simulate(str(path), callback=keep, **kwargs), seen


def runs(result):
    """The runs of a result: bidding scenarios simulate both equilibria (``runs``), the
    others one run (the result itself)."""
    return result["runs"] if "runs" in result else [result]


def final_vector(path, result):
    """The result's final prices (allocation for the mechanism), flat."""
    key = "allocation" if path == MECHANISM else "prices"
    return np.asarray(result[key], dtype=np.float64).ravel()


def last_seen_vector(path, seen):
    key = "allocation" if path == MECHANISM else "prices"
    return np.asarray(seen[-1][key])


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_callback_only_observes_the_commands_result(dr, path):
    code, out, err = dr("simulate", "--json", str(path))
    result, seen = observed(path)
    assert seen, "the callback was never called"
    assert_same(result, json.loads(out))
    assert demand_response.exit_code(result) == code, err


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_callback_sees_every_recorded_round(path):
    result, seen = observed(path)
    records = [rec for run in runs(result) for rec in run["rounds"]]
    # Every round the result's traces record (they keep every round), run after run.
    assert len(seen) == len(records)
    assert [r["round"] for r in seen] == [int(rec["round"]) for rec in records]
    # The same numbers as the trace, each under the trace's name.
    for r, rec in zip(seen, records):
        for name, value in r.items():
            if name in ("algorithm", "round") or name not in rec:
                continue
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(
                    value, np.asarray(rec[name], dtype=np.float64).ravel(), err_msg=name
                )
            else:
                assert value == rec[name] or (np.isnan(value) and rec[name] is None), name


@pytest.mark.parametrize("path", [SHAPING, STACKELBERG, MECHANISM], ids=lambda p: p.name)
def test_callback_prices_end_at_the_results_final_prices(path):
    result, seen = observed(path)
    assert result["termination"].lower() == "converged"
    last = last_seen_vector(path, seen)
    final = final_vector(path, result)
    assert last.shape == final.shape and last.dtype == np.float64
    # The final iterate is the last round's (or one update past it, within the
    # convergence tolerance the run stopped at): relative to the vector's own scale.
    scale = np.max(np.abs(final))
    assert np.max(np.abs(last - final)) <= 1e-6 * scale
    # And the first round's differ: the callback saw the run move.
    first = np.asarray(seen[0]["allocation" if path == MECHANISM else "prices"])
    assert np.max(np.abs(first - final)) > 1e-6 * scale


def test_stackelberg_rounds_report_eq21_mismatch_falling_to_tolerance():
    result, seen = observed(STACKELBERG)
    mismatches = [r["mismatch"] for r in seen]
    assert mismatches[-1] <= result["tolerance"] < mismatches[0]
    k, t = np.asarray(result["prices"]).shape
    assert all(r["prices"].shape == (k * t,) for r in seen)
    assert all(np.all(r["prices"] > 0) for r in seen)  # Theorem 4: prices stay positive


def test_shaping_rounds_have_per_period_vectors():
    result, seen = observed(SHAPING)
    periods = len(result["prices"])
    assert all(r["prices"].shape == (periods,) for r in seen)
    assert all(r["total_load"].shape == (periods,) for r in seen)
    assert seen[-1]["residual"] <= result["tolerance"] < seen[0]["residual"]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_false_stops_the_run(path):
    seen = []

    def stop_at_three(r):
        seen.append(r["round"])
        return len(seen) < 3

    result = demand_response.simulate(str(path), callback=stop_at_three)
    # The first run stops after its third round; a second run (bidding simulates both
    # equilibria) after its first, the callback saying False again.
    assert [len(run["rounds"]) for run in runs(result)] == [3, 1][: len(runs(result))]
    assert len(seen) == sum(len(run["rounds"]) for run in runs(result))
    assert all(run["termination"].lower() == "stopped" for run in runs(result))
    assert result["outcome"] == "not_converged"
    assert demand_response.exit_code(result) == 4


class FromTheCallback(Exception):
    pass


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_exception_propagates_and_stops_the_run(path):
    seen = []

    def boom(r):
        seen.append(r)
        if len(seen) == 2:
            raise FromTheCallback(f"round {r['round']}")

    with pytest.raises(FromTheCallback, match="round"):
        demand_response.simulate(str(path), callback=boom)
    assert len(seen) == 2  # not called again after raising


def test_newton_scheme_is_observed_too():
    # chen-li-low-doyle-2010 §IV, the fast scheme: the price Newton's announcements.
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    with open(SHAPING, "rb") as f:
        scenario = tomllib.load(f)
    scenario["simulation"] = {**scenario.get("simulation", {}), "scheme": "newton"}
    seen = []
    result = demand_response.simulate(scenario, callback=seen.append)
    assert result["scheme"] == "newton" and result["termination"] == "converged"
    plain = demand_response.simulate(scenario)
    # It only observes: the same result as without the callback (compared as JSON).
    assert_same(result, json.loads(json.dumps(plain, default=lambda o: o.tolist())))
    records = result["rounds"]
    assert [r["round"] for r in seen] == [int(rec["round"]) for rec in records]
    for r, rec in zip(seen, records):
        np.testing.assert_array_equal(r["prices"], np.asarray(rec["prices"]))
        assert r["residual"] == rec["residual"]
    # The final prices are the last accepted announcement's.
    accepted = [r for r, rec in zip(seen, records) if rec["accepted"]]
    np.testing.assert_array_equal(accepted[-1]["prices"], np.asarray(result["prices"]))
    assert accepted[-1]["residual"] <= result["tolerance"] < seen[0]["residual"]
    # False stops it: at the start (round 0) and after two announcements.
    for k in (1, 3):
        count = []
        stopped = demand_response.simulate(
            scenario, callback=lambda r: count.append(r) or len(count) < k
        )
        assert len(count) == k == len(stopped["rounds"])
        assert stopped["termination"] == "stopped"


def test_callback_needs_simulate_and_a_callable():
    with pytest.raises(ValueError, match="callback"):
        demand_response._native.run_command("solve", path=str(BIDDING), callback=print)
    with pytest.raises(TypeError, match="callable"):
        demand_response.simulate(str(BIDDING), callback=3)
