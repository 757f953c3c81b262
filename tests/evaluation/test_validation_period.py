"""The validation period, end to end in process: its model sees no day from its start on,
and a history without room for it still runs, saying why it is left out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, TINY, deep_merge, make_params, set_params, write_tables
from support.inprocess import umbrella_in

# Imported as a module: pytest would collect functions named test_* as tests.
from umbrella.core import split as splitting
from umbrella.core.paths import TRUTH
from umbrella.data.simulator.simulate import simulate_retailer

pytestmark = pytest.mark.slow

SHAPE = deep_merge(TINY, {"train": {"max_rows": 1000}})


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    params = make_params(SHAPE)
    simulated = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    return {name: table for name, table in simulated.items() if name != TRUTH}


def run_stages(root: Path, tables: dict, overrides: dict, stages: list[str]) -> None:
    root.mkdir(parents=True)
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    set_params(root, deep_merge(SHAPE, overrides))
    write_tables(tables, root / "data" / "raw")
    for stage in stages:
        result = umbrella_in(root, [stage])
        assert (result.code, result.error) == (0, None), result.stderr


def test_the_validation_model_sees_no_day_from_the_validation_start_on(
    tmp_path: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """Sales and weather changed from the validation start on: the test model changes, the
    validation model's file does not (the same bytes)."""
    params = make_params(SHAPE)
    first, last = tables["sales"]["date"].min(), tables["sales"]["date"].max()
    start = splitting.test_start(first, last, params.split)
    begin = splitting.validation_start(first, start, params.split, params.validate.min_history_days)
    assert begin is not None
    later = {
        "sales": ("units", lambda units: units * 2),
        "weather": ("rain_mm", lambda rain: rain + 5.0),
    }
    changed = dict(tables)
    for name, (column, change) in later.items():
        table = tables[name].copy()
        after = pd.to_datetime(table["date"]) >= begin
        table.loc[after, column] = change(table.loc[after, column])
        changed[name] = table

    stages = ["validate", "features", "train"]
    run_stages(tmp_path / "base", tables, {}, stages)
    run_stages(tmp_path / "changed", changed, {}, stages)

    def model(label: str, path: str) -> bytes:
        return (tmp_path / label / "models" / path).read_bytes()

    assert model("changed", "validation/model.skops") == model("base", "validation/model.skops")
    assert model("changed", "model.skops") != model("base", "model.skops")
    card = json.loads((tmp_path / "base" / "models" / "validation" / "model.json").read_text())
    assert card["training_window"]["last_target"] < str(begin.date())
    assert card["training_window"]["validation_start"] == str(begin.date())


def test_a_history_without_room_for_validation_still_runs(
    tmp_path: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """9 months, a 60-day test period: 214 days before it, 71 of them the validation period
    and 143 before those. With 150 days needed before a period, the test period has them,
    the validation period not: it is left out, and the report says why."""
    root = tmp_path / "short"
    overrides = {"validate": {"min_history_days": 150}}
    run_stages(root, tables, overrides, ["validate", "features", "train", "evaluate"])

    assert list((root / "models" / "validation").iterdir()) == []
    report = json.loads((root / "reports" / "evaluate.json").read_text())
    assert report["validation"]["left_out"].startswith("only 214 days before the test period")
    headline = json.loads((root / "metrics" / "evaluate.json").read_text())
    assert "validation" not in headline and headline["model"]["cost"] > 0

    # With room for it, the validation period is scored: its cost in the headline.
    run_stages(tmp_path / "room", tables, {}, ["validate", "features", "train", "evaluate"])
    report = json.loads((tmp_path / "room" / "reports" / "evaluate.json").read_text())
    validation = report["validation"]
    assert validation["end"] < report["test"]["start"] and validation["rows"] > 0
    assert {"cost", "skill_cost", "service_level_mid"} <= set(validation)
    headline = json.loads((tmp_path / "room" / "metrics" / "evaluate.json").read_text())
    assert headline["validation"]["cost"] == round(validation["cost"])
