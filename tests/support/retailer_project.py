"""A retailer's project for `umbrella predict` on its own files: the tiny simulated
retailer's tables typed, their feature rows and a model fitted on them (module-scoped), and
a root holding params.yaml, that model, the latest files and a gate verdict (`project`).
Registered as a pytest plugin (tests/conftest.py), so its fixtures serve every test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, make_params, set_params, write_tables

from support.inprocess import Result, umbrella_in
from umbrella.data.contract.rules import finalise
from umbrella.forecast.features import build_features
from umbrella.forecast.model_io import dump_model
from umbrella.forecast.models import LinearModel

HORIZON = 7


@pytest.fixture(scope="module")
def typed(tiny_tables) -> dict[str, pd.DataFrame]:
    return {name: finalise(table, name) for name, table in tiny_tables.items()}


@pytest.fixture(scope="module")
def rows(typed) -> pd.DataFrame:
    cfg = make_params().features
    rows = build_features(
        typed["sales"], typed["weather"], typed["weather_forecasts"], HORIZON, cfg
    )
    return rows[rows["units"].notna()]


@pytest.fixture(scope="module")
def model(rows) -> LinearModel:
    return LinearModel(quantile=0.63).fit(rows, rows["units"].to_numpy())


@pytest.fixture
def project(tmp_path: Path, tiny_tables, model, rows) -> Path:
    """A root with params.yaml, a model file and the latest files of a retailer."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    # The daily newsvendor's orders; orders net of stock: tests/ops/test_stock_orders.py.
    set_params(tmp_path, {"inventory": {"carry_over": False}})
    dump_model(model, tmp_path / "models" / "model.skops", rows)
    write_tables(tiny_tables, tmp_path / "latest")
    write_verdict(tmp_path, PASSED)
    return tmp_path


PASSED = {
    "passed": True,
    "checks": {"skill_cost": {"value": 0.3, "rule": ">= 0.2", "passed": True}},
}
FAILED = {
    "passed": False,
    "checks": {
        "skill_cost": {"value": 0.05, "rule": ">= 0.2", "passed": False},
        "service_level": {"value": 0.64, "rule": "within 0.03 of 0.632", "passed": True},
    },
}


def write_verdict(root: Path, gate: dict) -> None:
    """As evaluate writes them: the verdict in metrics/, each criterion in reports/."""
    for folder, verdict in (("metrics", {"passed": gate["passed"]}), ("reports", gate)):
        (root / folder).mkdir(exist_ok=True)
        (root / folder / "evaluate.json").write_text(json.dumps({"gate": verdict}))


def predict_files(
    root: Path,
    forecasts: str = "weather_forecasts.csv",
    sales: str = "sales.csv",
    out: list[str] | None = None,
    extra: list[str] | None = None,
) -> Result:
    """`umbrella predict` on the retailer's latest files of `root`, as a user runs it, but in
    this process (`cli.main`; the tests that start it as a process are in
    tests/ops/test_prediction.py). An exception escaping the command fails the test."""
    latest = root / "latest"
    args = ["predict", "--sales", str(latest / sales), "--weather", str(latest / "weather.csv")]
    args += ["--forecasts", str(latest / forecasts)]
    args += ["--out", str(root / "orders.csv")] if out is None else out
    result = umbrella_in(root, [*args, *(extra or [])], quiet=False)
    assert result.error is None, repr(result.error)  # a user would see a traceback
    return result
