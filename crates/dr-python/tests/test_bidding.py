"""The exact interface of issue 16 for supply-function bidding, against values derived by
hand from li-chen-dahleh-2015 and against its theorems."""

import threading

import numpy as np
import pytest

import demand_response
from demand_response import bidding


def test_interface_shape():
    r = demand_response.bidding.solve(
        np.array([1.0, 1.2, 1.5, 2.0]), np.array([0.5, 1.0, 2.0, 4.0]), 10.0, capacity=None
    )
    for key in ("competitive", "nash"):
        eq = r[key]
        assert isinstance(eq["price"], float)
        assert isinstance(eq["loads"], np.ndarray) and eq["loads"].dtype == np.float64
        assert isinstance(eq["bids"], np.ndarray) and eq["bids"].shape == (4,)
        assert isinstance(eq["total_cost"], float)
        cert = eq["certificate"]
        assert cert["status"] == "Solved"
        for res in ("primal_infeasibility", "stationarity", "complementarity", "duality_gap"):
            assert 0.0 <= abs(cert[res]) <= 1e-9
    assert set(r["efficiency"]) >= {"price_ratio", "cost_ratio"}


def test_two_customers_competitive_price_by_hand():
    # C_1 = q + q², C_2 = 2q + q², d = 2. Theorem 1: 1 + 2 q_1 = 2 + 2 q_2 = p, q_1 + q_2 = 2
    # ⇒ q_2 = 0.75, q_1 = 1.25, p = 3.5; bids b_i = q_i / p (eq. 2).
    r = bidding.solve([1.0, 2.0], [1.0, 1.0], 2.0)
    ce = r["competitive"]
    assert ce["price"] == pytest.approx(3.5, rel=1e-12)
    np.testing.assert_allclose(ce["loads"], [1.25, 0.75], rtol=1e-12)
    np.testing.assert_allclose(ce["bids"], [1.25 / 3.5, 0.75 / 3.5], rtol=1e-12)
    # C̄ = (1.25 + 1.5625) + (1.5 + 0.5625) = 4.875
    assert ce["total_cost"] == pytest.approx(4.875, rel=1e-12)
    # Corollary 2: no Nash equilibrium with two customers; the reason is given.
    assert r["nash"] is None and r["efficiency"] is None
    assert "at least 3" in r["nash_error"]


def test_second_customer_inactive_by_hand():
    # C_1 = q + q², C_2 = 5q + q², d = 1: with q_2 = 0, p = 1 + 2·1 = 3 < C_2'(0) = 5, so
    # customer 2 sheds nothing (water-filling, Theorem 2).
    ce = bidding.solve([1.0, 5.0], [1.0, 1.0], 1.0)["competitive"]
    assert ce["price"] == pytest.approx(3.0, rel=1e-12)
    assert ce["loads"][1] == 0.0 and ce["active"] == 1


def test_homogeneous_corollary_4_by_hand():
    # n = 5 identical C(q) = q + 2q², d = 10: q̄_i = 2, p̄ = 1 + 4·2 = 9. Corollary 4:
    # p*/p̄ = (n−1)/(n−2) = 4/3 (p* = 12) and C* = C̄ (the Nash loads are the same).
    r = bidding.solve(np.ones(5), np.full(5, 2.0), 10.0)
    assert r["competitive"]["price"] == pytest.approx(9.0, rel=1e-12)
    assert r["nash"]["price"] == pytest.approx(12.0, rel=1e-12)
    np.testing.assert_allclose(r["nash"]["loads"], np.full(5, 2.0), rtol=1e-12)
    assert r["efficiency"]["price_ratio"] == pytest.approx(4.0 / 3.0, rel=1e-12)
    assert r["efficiency"]["cost_ratio"] == pytest.approx(1.0, rel=1e-12)


def test_theorem_5_and_water_filling_on_a_random_market():
    rng = np.random.default_rng(16)
    a, h = rng.uniform(1, 2, 200), rng.uniform(0.5, 4.5, 200)
    r = bidding.solve(a, h, 10.0)
    ce, ne = r["competitive"], r["nash"]
    # Theorem 1: active customers have C_i'(q_i) = p̄, inactive ones C_i'(0) ≥ p̄.
    active = ce["loads"] > 0
    np.testing.assert_allclose((a + 2 * h * ce["loads"])[active], ce["price"], rtol=1e-9)
    assert np.all(a[~active] >= ce["price"] * (1 - 1e-9))
    assert ce["loads"].sum() == pytest.approx(10.0, rel=1e-12)
    # Theorem 5: p* ≥ p̄, C* ≥ C̄; Lemma 3: every Nash load below d/2.
    assert ne["price"] >= ce["price"] and ne["total_cost"] >= ce["total_cost"] * (1 - 1e-12)
    assert np.all(ne["loads"] < 5.0)
    assert r["efficiency"]["price_bounds_hold"] and r["efficiency"]["cost_bounds_hold"]


def test_capacity_binds_by_hand():
    # C_i = q + q², d = 3, capacities (0.5, 10, 10): without caps q = 1 each; with q_1 = 0.5
    # the others share 2.5, q = 1.25, p = 1 + 2.5 = 3.5.
    ce = bidding.solve([1, 1, 1], [1, 1, 1], 3.0, capacity=[0.5, 10, 10])["competitive"]
    np.testing.assert_allclose(ce["loads"], [0.5, 1.25, 1.25], rtol=1e-12)
    assert ce["price"] == pytest.approx(3.5, rel=1e-12)


@pytest.mark.parametrize(
    "args, field, value",
    [
        (([1.0, 1.0, 1.0], [1.0, -1.0, 1.0], 1.0), "quadratic[1]", "-1"),
        (([1.0, float("nan"), 1.0], [1.0, 1.0, 1.0], 1.0), "linear[1]", "NaN"),
        (([1.0, 1.0], [1.0, 1.0, 1.0], 1.0), "quadratic", "3"),
        (([1.0, 1.0], [1.0, 1.0], float("inf")), "deficit", "inf"),
        (([], [], 1.0), "linear", "empty"),
    ],
)
def test_errors_are_value_errors_naming_the_field(args, field, value):
    with pytest.raises(ValueError) as info:
        bidding.solve(*args)
    assert isinstance(info.value, demand_response.InputError)
    message = str(info.value)
    assert field in message and value in message, message


def test_capacity_error_names_capacity():
    with pytest.raises(demand_response.InputError, match=r"capacity\[0\]"):
        bidding.solve([1, 1, 1], [1, 1, 1], 1.0, capacity=[-1.0, 1.0, 1.0])


def test_simulate_callback_sees_every_round_and_converges():
    a, h = np.linspace(1, 2, 30), np.linspace(0.5, 4.5, 30)
    seen = []
    run = bidding.simulate(a, h, 10.0, step=0.1, callback=seen.append)
    assert run["termination"] == "converged" and run["converged"]
    assert len(seen) == run["rounds"]
    assert [s["round"] for s in seen] == list(range(run["rounds"]))
    np.testing.assert_array_equal([s["price"] for s in seen], run["trace"]["price"])
    # The competitive scheme (eqs. 11–12) converges to the competitive price (Theorem 1).
    exact = bidding.solve(a, h, 10.0)["competitive"]["price"]
    assert run["price"] == pytest.approx(exact, rel=1e-6)
    assert seen[-1]["relative_mismatch"] <= 1e-9


def test_simulate_strategic_reaches_nash_and_callback_can_stop():
    a, h = np.linspace(1, 2, 30), np.linspace(0.5, 4.5, 30)
    run = bidding.simulate(a, h, 10.0, behaviour="strategic", rule="fast")
    assert run["converged"]
    nash = bidding.solve(a, h, 10.0)["nash"]["price"]
    assert run["price"] == pytest.approx(nash, rel=1e-6)
    calls = []

    def stop_at_three(r):
        calls.append(r["round"])
        return r["round"] < 2

    stopped = bidding.simulate(a, h, 10.0, callback=stop_at_three)
    assert stopped["termination"] == "stopped" and not stopped["converged"]
    assert calls == [0, 1, 2] and stopped["rounds"] == 3


def test_simulate_callback_exception_propagates():
    def boom(_):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        bidding.simulate([1, 1, 1], [1, 1, 1], 1.0, callback=boom)


def test_simulate_bad_step_names_step():
    with pytest.raises(ValueError, match="step"):
        bidding.simulate([1, 1, 1], [1, 1, 1], 1.0, step=-0.1)


def test_solves_run_concurrently_from_threads():
    # The GIL is released: results from threads equal the serial ones.
    rng = np.random.default_rng(3)
    a, h = rng.uniform(1, 2, 100_000), rng.uniform(0.5, 4.5, 100_000)
    serial = bidding.solve(a, h, 1000.0)["nash"]["price"]
    out = []
    threads = [threading.Thread(target=lambda: out.append(bidding.solve(a, h, 1000.0)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["nash"]["price"] for r in out] == [serial] * 3


def test_the_gil_is_released_during_a_solve():
    # While a thread solves 2·10^6 customers, the main thread keeps running Python: the
    # longest pause it sees must be far below one solve's time (with the GIL held during
    # the solve it would be about one solve's time).
    import time

    rng = np.random.default_rng(7)
    a, h = rng.uniform(1, 2, 2_000_000), rng.uniform(0.5, 4.5, 2_000_000)
    t0 = time.perf_counter()
    bidding.solve(a, h, 2e5)
    one_solve = time.perf_counter() - t0
    worker = threading.Thread(target=lambda: [bidding.solve(a, h, 2e5) for _ in range(3)])
    longest, last = 0.0, time.perf_counter()
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    worker.join()
    assert longest < 0.5 * one_solve, (longest, one_solve)
