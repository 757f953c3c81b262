"""evaluate's `stock` section (inventory.carry_over): the replayed money of every forecaster
through the same order-up-to policy, end to end in process on tiny seeded data; and
carry_over false leaves every other output as it was."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, TINY, deep_merge, make_params, set_params, write_tables
from support.inprocess import umbrella_in

from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.evaluation.stock import settings_tried

pytestmark = pytest.mark.slow

SHAPE = deep_merge(TINY, {"train": {"max_rows": 1000}})
REPLAYED = ["model", "baseline", "oracle_info", "oracle", "perfect_foresight"]
PARTS = ["lost_margin", "holding", "ordering", "left_over"]
CAPACITY = 60  # a storeroom the tiny stores' levels reach


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """3 stores over 9 months, the true demand included (so the limits are replayed)."""
    params = make_params(SHAPE)
    return simulate_retailer(params.simulate, params.base.horizon, params.base.seed)


def run_stages(root: Path, tables: dict, overrides: dict, stages: list[str]) -> None:
    if not root.exists():
        root.mkdir(parents=True)
        shutil.copy(REPO / "params.yaml", root / "params.yaml")
        write_tables(tables, root / "data" / "raw")
    set_params(root, deep_merge(SHAPE, overrides))
    for stage in stages:
        result = umbrella_in(root, [stage])
        assert (result.code, result.error) == (0, None), result.stderr


def outputs(root: Path) -> dict[str, bytes]:
    """Every file evaluate writes, by its path under the root."""
    files = [root / "reports" / "evaluate.json", root / "metrics" / "evaluate.json"]
    files.append(root / "metrics" / "stock.json")
    files += sorted((root / "plots" / "evaluate").iterdir())
    return {str(f.relative_to(root)): f.read_bytes() for f in files}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tables: dict) -> dict[str, dict[str, bytes]]:
    """evaluate's outputs with the stock carried over (2 days' lead time, orders every 2
    days, packs of 2, a cost per order), then on the same models with carry_over false."""
    root = tmp_path_factory.mktemp("stock") / "repo"
    inventory = {"lead_time_days": 2, "review_days": 2, "pack_size": 2, "order_cost": 1.5}
    inventory["capacity"] = CAPACITY
    stages = ["validate", "features", "train", "evaluate"]
    run_stages(root, tables, {"inventory": inventory}, stages)
    carried = outputs(root)
    run_stages(root, tables, {"inventory": {"carry_over": False}}, ["evaluate"])
    perishable = outputs(root)
    # No validation period (150 days needed before it): `shared` is chosen on nothing.
    no_validation = {"inventory": {"carry_over": True}, "validate": {"min_history_days": 150}}
    run_stages(root, tables, no_validation, ["evaluate"])
    return {"carried": carried, "perishable": perishable, "no_validation": outputs(root)}


def test_the_stock_section_replays_every_forecaster(runs: dict) -> None:
    report = json.loads(runs["carried"]["reports/evaluate.json"])
    stock = report["stock"]
    assert (stock["lead_time_days"], stock["review_days"], stock["pack_size"]) == (2, 2, 2)
    assert stock["order_cost"] == 1.5 and stock["demand"] == "true demand"
    assert stock["capacity"] == CAPACITY
    assert stock["critical_ratio"] == pytest.approx(12 / (12 + 0.01 * 2), abs=1e-6)
    assert stock["settings_chosen_on"] == "validation"
    for name in REPLAYED:
        figures = stock[name]
        assert figures["cost"] == pytest.approx(sum(figures[p] for p in PARTS), abs=1e-4), name
        assert all(figures[p] >= 0 for p in PARTS), name
        assert 0 < figures["fill_rate"] <= 1 and 0 <= figures["sold_out_share"] <= 1, name
        assert figures["peak_stock"] > 0 and figures["cover_days"] >= 0, name
        assert figures["peak_stock"] <= CAPACITY, name  # no order overfills the storeroom
    tried = settings_tried(stock["critical_ratio"])
    for name in ("model", "baseline", "oracle_info"):
        assert (stock[name]["ratio"], stock[name]["shared"]) in tried
    # The limits go through the model's policy, their days independent, each of its own
    # spread (oracle_info's given what it knows).
    assert stock["oracle_info"]["ratio"] == stock["oracle"]["ratio"] == stock["model"]["ratio"]
    assert stock["oracle"]["shared"] == stock["oracle_info"]["shared"] == 0.0
    # Orders are placed, and some cost: a cost per order at most every other day.
    assert 0 < stock["model"]["ordering"] <= 1.5 * 3 * 60 / 2
    # Perfect foresight is the floor of every policy on the same demand.
    floor = stock["perfect_foresight"]["cost"]
    assert all(floor <= stock[name]["cost"] + 1e-6 for name in REPLAYED)
    assert stock["skill_cost"] == pytest.approx(
        1 - stock["model"]["cost"] / stock["baseline"]["cost"], abs=1e-5
    )
    assert stock["vs_foresight"] == pytest.approx(stock["model"]["cost"] / floor, rel=1e-5)
    assert stock["vs_oracle_info"] == pytest.approx(
        stock["model"]["cost"] / stock["oracle_info"]["cost"], rel=1e-5
    )
    assert (stock["cost"], stock["fill_rate"]) == (
        stock["model"]["cost"],
        stock["model"]["fill_rate"],
    )
    # metrics/stock.json: the section's headline, the cost in whole money; the forecasts'
    # headline, metrics/evaluate.json, without the stock.
    assert "stock" not in json.loads(runs["carried"]["metrics/evaluate.json"])
    top = json.loads(runs["carried"]["metrics/stock.json"])["stock"]
    assert list(top) == ["cost", "skill_cost", "fill_rate", "vs_oracle_info", "vs_foresight"]
    assert top["cost"] == round(stock["cost"]) and top["vs_foresight"] == stock["vs_foresight"]


def test_the_stock_plot_shows_the_replayed_days_of_the_first_stores(runs: dict) -> None:
    """plots/evaluate/stock.csv: per plotted store and day, the stock at the opening of the
    model's and seasonal naive's replays, their arrivals, the demand and the sales lost."""
    days = pd.read_csv(io.BytesIO(runs["carried"]["plots/evaluate/stock.csv"]))
    assert list(days.columns) == [
        "date",
        "store",
        "orders",
        "opening",
        "arrivals",
        "demand",
        "lost",
    ]
    shown = make_params(SHAPE).evaluate.plot_stores
    assert sorted(days["store"].unique()) == [f"S{i:04d}" for i in range(1, shown + 1)]
    assert set(days["orders"]) == {"model", "baseline"}
    # A sale is lost when the demand exceeds the stock on the shelf, by the difference.
    assert (days["lost"] == (days["demand"] - days["opening"]).clip(lower=0)).all()
    model = days[days["orders"] == "model"]
    baseline = days[days["orders"] == "baseline"]
    assert (model["demand"].to_numpy() == baseline["demand"].to_numpy()).all()  # one demand
    assert runs["carried"]["plots/evaluate/stock.png"][:4] == b"\x89PNG"


def test_carry_over_false_changes_nothing_but_the_stock_section(runs: dict) -> None:
    """Without the stock: no stock section, plot or gate checks, and every other byte as
    with it (the daily newsvendor's figures do not depend on the stock)."""
    carried, perishable = runs["carried"], runs["perishable"]
    stock_plot = {"plots/evaluate/stock.csv", "plots/evaluate/stock.png"}
    assert carried.keys() - stock_plot == perishable.keys()
    for path in perishable:
        if path not in ("reports/evaluate.json", "metrics/stock.json"):
            # metrics/evaluate.json too: the tiny model fails the daily checks either way
            assert carried[path] == perishable[path], path
    assert json.loads(perishable["metrics/stock.json"]) == {}
    report = json.loads(perishable["reports/evaluate.json"])
    assert "stock" not in report
    without = json.loads(carried["reports/evaluate.json"])
    del without["stock"]
    checks = without["gate"]["checks"]
    assert list(checks)[-2:] == ["stock_skill_cost", "stock_fill_rate"]
    del checks["stock_skill_cost"], checks["stock_fill_rate"]
    without["gate"]["passed"] = all(check["passed"] for check in checks.values())
    assert report == without
    # The text before the gate is the same bytes.
    text = carried["reports/evaluate.json"].decode()
    before = text[: text.index('\n  "gate"')]
    assert perishable["reports/evaluate.json"].decode().startswith(before + '\n  "gate"')


def test_without_a_validation_period_the_days_are_independent(runs: dict) -> None:
    report = json.loads(runs["no_validation"]["reports/evaluate.json"])
    assert "left_out" in report["validation"]
    stock = report["stock"]
    assert stock["settings_chosen_on"] == "none (no validation period)"
    assert stock["model"]["shared"] == stock["baseline"]["shared"] == 0.0
    assert stock["model"]["ratio"] == stock["baseline"]["ratio"] == stock["critical_ratio"]
    assert (stock["lead_time_days"], stock["review_days"], stock["pack_size"]) == (2, 2, 2)
