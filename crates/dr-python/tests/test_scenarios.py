"""`demand_response.solve | simulate | verify` on scenarios: equal to what the `dr`
command prints with `--json` (the command is run as a separate process, the release build
in target/ or $DR_BIN), for every scenario file in data/."""

import json

import numpy as np
import pytest

import demand_response
from conftest import DATA, assert_same

SCENARIOS = sorted(p for p in DATA.iterdir() if p.suffix in (".toml", ".json"))


def test_data_has_all_four_models():
    models = {demand_response.solve(p)["model"] for p in SCENARIOS if "population" not in p.name}
    assert models == {"bidding", "shaping", "stackelberg", "mechanism"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_solve_equals_the_command_json(dr, path):
    code, out, err = dr("solve", "--json", str(path))
    expected = json.loads(out)
    result = demand_response.solve(str(path))
    assert_same(result, expected)
    assert demand_response.exit_code(result) == code, err


def test_per_customer_arrays_are_numpy():
    r = demand_response.solve(DATA / "bidding_30.toml")
    assert isinstance(r["competitive"]["loads"], np.ndarray)
    assert r["competitive"]["loads"].shape == (30,)
    assert r["outcome"] == "ok" and r["problems"] == []


def test_simulate_equals_the_command_json(dr):
    path = DATA / "bidding_30.toml"
    code, out, _ = dr("simulate", "--json", str(path))
    result = demand_response.simulate(str(path))
    assert_same(result, json.loads(out))
    assert demand_response.exit_code(result) == code


def test_verify_equals_the_command_json(dr):
    path = DATA / "bidding_30.toml"
    code, out, _ = dr("verify", "--json", str(path))
    result = demand_response.verify(str(path))
    assert_same(result, json.loads(out))
    assert demand_response.exit_code(result) == code
    # The LP second opinion brackets the same equilibrium: a proven agreement.
    assert result["outcome"] == "ok"


HAND = {
    "model": "bidding",
    "deficit": 2.0,
    "customers": [
        {"cost": {"linear": 1.0, "quadratic": 1.0}},
        {"cost": {"linear": 2.0, "quadratic": 1.0}},
        {"cost": {"linear": 9.0, "quadratic": 1.0}},
    ],
}


def test_dict_scenario_by_hand():
    # Customers 1, 2 as in test_bidding (p̄ = 3.5 with q = 1.25, 0.75); the third has
    # C_3'(0) = 9 > 3.5 and sheds nothing (Theorem 2).
    r = demand_response.solve(HAND)
    assert r["file"] == "<dict>"
    assert r["competitive"]["price"] == pytest.approx(3.5, rel=1e-12)
    np.testing.assert_allclose(r["competitive"]["loads"], [1.25, 0.75, 0.0], rtol=1e-12, atol=0)


def test_dict_equals_the_same_file(tmp_path, dr):
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(HAND))
    from_file = demand_response.solve(str(path))
    from_dict = demand_response.solve(HAND)
    from_file.pop("file"), from_dict.pop("file")
    assert_same(from_dict, json.loads(json.dumps(_listify(from_file))))


def _listify(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _listify(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_listify(v) for v in x]
    return x


def test_scenario_error_is_the_commands_message(tmp_path, dr):
    bad = json.loads(json.dumps(HAND))
    bad["customers"][1]["cost"]["quadratic"] = -3.0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, out, _ = dr("solve", "--json", str(path))
    expected = json.loads(out)
    assert code == 1
    with pytest.raises(ValueError) as info:
        demand_response.solve(str(path))
    assert isinstance(info.value, demand_response.InputError)
    assert str(info.value) == expected["error"]
    assert info.value.kind == expected["kind"]
    assert "-3" in str(info.value)


def test_dict_error_names_the_field():
    bad = dict(HAND, deficit="lots")
    with pytest.raises(demand_response.InputError, match="deficit"):
        demand_response.solve(bad)
    with pytest.raises(demand_response.InputError, match="model"):
        demand_response.solve({"deficit": 1.0})


def test_unknown_setting_is_a_value_error():
    with pytest.raises(ValueError, match="nonsense"):
        demand_response.solve(HAND, settings={"nonsense": 1})


def test_bad_scenario_type_is_a_type_error():
    with pytest.raises(TypeError):
        demand_response.solve(42)
