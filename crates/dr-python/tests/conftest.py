"""Shared helpers: the `dr` binary to compare against, and a JSON/numpy comparison."""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
DATA = ROOT / "data"


def dr_binary():
    """The `dr` command: $DR_BIN, else the workspace's release, else debug build."""
    env = os.environ.get("DR_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "dr"
        if p.is_file():
            return str(p)
    return shutil.which("dr")


@pytest.fixture(scope="session")
def dr():
    path = dr_binary()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no `dr` binary (build it with `cargo build --release --bin dr`)")
        pytest.skip("no `dr` binary (set DR_BIN or `cargo build --release --bin dr`)")

    def run(*args):
        p = subprocess.run([path, *args], capture_output=True, text=True, cwd=ROOT)
        return p.returncode, p.stdout, p.stderr

    return run


def assert_same(py, js, where="$"):
    """`py` (what the package returned) equals `js` (the command's JSON, parsed by the json
    module) exactly, arrays of numbers compared as float arrays (JSON null = NaN)."""
    if isinstance(py, np.ndarray):
        assert isinstance(js, list), f"{where}: numpy array vs {type(js).__name__}"
        expected = np.array(
            [[np.nan if x is None else x for x in row] if isinstance(row, list)
             else (np.nan if row is None else row) for row in js],
            dtype=np.float64,
        )
        assert py.shape == expected.shape, f"{where}: shape {py.shape} vs {expected.shape}"
        np.testing.assert_array_equal(py.astype(np.float64), expected, err_msg=where)
    elif isinstance(py, dict):
        assert isinstance(js, dict), f"{where}: dict vs {type(js).__name__}"
        assert sorted(py) == sorted(js), f"{where}: keys differ"
        for k in py:
            assert_same(py[k], js[k], f"{where}.{k}")
    elif isinstance(py, list):
        assert isinstance(js, list) and len(py) == len(js), f"{where}: list differs"
        for i, (a, b) in enumerate(zip(py, js)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(py, bool) or py is None or isinstance(py, str):
        assert py == js, f"{where}: {py!r} vs {js!r}"
    else:
        assert type(py) in (int, float), f"{where}: unexpected {type(py).__name__}"
        assert py == js, f"{where}: {py!r} vs {js!r}"
