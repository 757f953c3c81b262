"""Sales implausible for their store: refused by validate (and predict), a real spike passed
with a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, TINY, set_params, umbrella, write_tables

from umbrella.data.contract.plausibility import (
    check_plausible,
    longest_lookback,
    short_histories,
    store_level,
)


def _sales(units: dict[str, list[int]]) -> pd.DataFrame:
    """One row per store and day from 2015-01-01, indexed by line in the file (from 2)."""
    frames = [
        pd.DataFrame(
            {
                "date": pd.date_range("2015-01-01", periods=len(values)),
                "store": store,
                "units": values,
            }
        )
        for store, values in units.items()
    ]
    table = pd.concat(frames, ignore_index=True)
    table.index = table.index + 2
    return table


def test_store_level_is_the_median_of_its_days_with_sales_at_least_1() -> None:
    level = store_level(_sales({"A": [0, 4, 6, 0, 5, 900], "B": [0, 0, 0]}))
    assert level.to_dict() == {"A": 5.5, "B": 1.0}


def test_a_typo_is_a_problem_naming_file_store_date_and_line() -> None:
    sales = _sales({"S1": [5, 6, 4, 7, 5, 6, 1_000_000_000], "S2": [2, 3, 2, 3, 2, 3, 2]})
    found = check_plausible(sales, 20, 8, "sales.csv")
    assert not found.warnings
    (problem,) = found.problems
    text = str(problem)
    assert text.startswith("sales.csv, column units: implausible units for store S1")
    assert "lines 8" in text and "S1 2015-01-07: 1000000000 units" in text


def test_a_genuine_spike_passes_with_a_warning() -> None:
    sales = _sales({"S1": [5, 6, 4, 7, 5, 6, 60], "S2": [2, 3, 2, 3, 2, 3, 2]})
    found = check_plausible(sales, 20, 8, "sales.csv")
    assert not found.problems
    (warning,) = found.warnings
    assert "unusually high units for store S1" in str(warning) and "60 units (10.0 x)" in str(
        warning
    )


def test_a_small_store_is_judged_by_its_own_level_not_the_chains() -> None:
    sales = _sales({"big": [50, 60, 55, 65, 58], "small": [1, 2, 1, 2, 60]})
    found = check_plausible(sales, 20, 8, "f")
    assert [p.rule.split(" for store ")[1].split(":")[0] for p in found.problems] == ["small"]


def test_clean_simulated_sales_have_nothing_to_say(tiny_tables) -> None:
    found = check_plausible(tiny_tables["sales"], 20, 8, "sales.csv")
    assert found.problems == [] and found.warnings == []


def test_history_needed_is_the_longest_lookback() -> None:
    assert longest_lookback([1, 2, 3, 7, 14], [7, 28], 4) == 28
    assert longest_lookback([1, 35], [7], 2) == 35
    sales = _sales({"A": [1] * 30, "B": [1] * 10})
    sales.loc[sales["store"] == "B", "date"] += pd.Timedelta(days=20)
    assert short_histories(sales, sales["date"].max(), 28).to_dict() == {"B": 10}


@pytest.fixture
def raw_root(tmp_path: Path, tiny_tables) -> Path:
    """A root with params.yaml (tiny) and the simulated retailer's files in data/raw."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    set_params(tmp_path, TINY)
    write_tables(tiny_tables, tmp_path / "data" / "raw")
    return tmp_path


def _set_last_day(root: Path, store: str, units: int) -> int:
    """Set the store's units on its last day; return that row's line in the file."""
    path = root / "data" / "raw" / "sales.csv"
    sales = pd.read_csv(path)
    row = sales.index[(sales["store"] == store) & (sales["date"] == sales["date"].max())][0]
    sales.loc[row, "units"] = units
    sales.to_csv(path, index=False)
    return int(row) + 2


@pytest.mark.slow
def test_validate_refuses_a_typo(raw_root: Path) -> None:
    line = _set_last_day(raw_root, "S0002", 50_000)
    result = umbrella(["validate"], raw_root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "data/raw/sales.csv, column units: implausible units for store S0002" in result.stderr
    assert f"lines {line}" in result.stderr and "50000 units" in result.stderr
    report = json.loads((raw_root / "reports" / "validation.json").read_text())
    assert any("implausible" in p["rule"] for p in report["details"])


@pytest.mark.slow
def test_validate_passes_a_spike_as_a_warning_in_its_report(raw_root: Path, tiny_tables) -> None:
    sales = tiny_tables["sales"]
    level = sales.loc[(sales["store"] == "S0001") & (sales["units"] > 0), "units"].median()
    _set_last_day(raw_root, "S0001", int(10 * level))
    result = umbrella(["validate"], raw_root)
    assert result.returncode == 0, result.stderr
    assert "unusually high units for store S0001" in result.stderr
    report = json.loads((raw_root / "reports" / "validation.json").read_text())
    assert report["problems"] == 0
    (warning,) = report["warnings"]
    assert warning["rule"].startswith("unusually high units for store S0001")
