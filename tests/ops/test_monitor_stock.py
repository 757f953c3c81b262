"""The monitor's stock check (ops/stock_watch.py): the stock replayed in the window through
evaluate's policy and settings, its skill against the test period's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params

from umbrella.core.params import Params
from umbrella.evaluation.scores import BASELINE, MODEL
from umbrella.money.metrics import skill
from umbrella.ops.stock_watch import (
    StockReference,
    reference_of,
    replayed_costs,
    stock_skill_drop,
)

FIRST, LAST = pd.Timestamp("2015-03-01"), pd.Timestamp("2015-06-30")
HORIZONS = 7
SETTINGS = {MODEL: (0.99, 0.0), BASELINE: (0.99, 0.0)}
SIZES = {MODEL: 30.0, BASELINE: 4.0}


def _table(seed: int = 1, stores: int = 10) -> pd.DataFrame:
    """Four months of forecasts of every origin and horizon 1..7: each day's demand a
    Poisson draw of its mean (a store's level times a day's factor, weather-like), the
    model's forecast that mean, seasonal naive's the demand of a week before."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(FIRST - pd.Timedelta(days=7), LAST)
    level = rng.uniform(5.0, 15.0, stores)
    mean = level[:, None] * rng.lognormal(0.0, 0.3, len(days))[None, :]
    demand = rng.poisson(mean).astype(float)
    rows = []
    for h in range(1, HORIZONS + 1):
        for s in range(stores):
            target = np.arange(7, len(days))  # the dates from FIRST on
            rows.append(
                pd.DataFrame(
                    {
                        "store": f"S{s}",
                        "origin": days[target] - pd.Timedelta(days=h),
                        "horizon": h,
                        "date": days[target],
                        "demand": demand[s, target],
                        "underage": 12.0,
                        "level": level[s],
                        f"{MODEL}_forecast": mean[s, target],
                        f"{BASELINE}_forecast": demand[s, target - 7],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _reference(table: pd.DataFrame, params: Params) -> StockReference:
    """The whole period replayed, as evaluate's test period: its skill is the reference."""
    unset = StockReference(SETTINGS, SIZES, float("nan"))
    costs = replayed_costs(table, FIRST, LAST, params, unset)
    return StockReference(SETTINGS, SIZES, skill(costs[MODEL], costs[BASELINE]))


def _check(table: pd.DataFrame, params: Params, reference: StockReference) -> dict:
    opened = LAST - pd.Timedelta(days=params.monitor.window_days - 1)
    return stock_skill_drop(params, table, opened, LAST, reference)


@pytest.fixture(scope="module")
def steady() -> tuple[Params, pd.DataFrame, StockReference, dict]:
    """The params, the forecast table, its reference and the check of its window."""
    params = make_params()
    table = _table()
    reference = _reference(table, params)
    return params, table, reference, _check(table, params, reference)


def test_the_stock_check_is_quiet_on_a_window_like_the_test_period(steady) -> None:
    params, _, reference, result = steady
    assert result["verdict"] == "ok", result["why"]
    assert result["score"] < params.monitor.stock_skill_drop
    assert result["noise"] < params.monitor.stock_skill_drop
    assert result["runs"]["count"] == 10  # 94 days before the window: a run a week
    assert result["settings"][MODEL] == {"ratio": 0.99, "shared": 0.0}
    assert result["test"] == reference.skill


def test_the_stock_check_alarms_when_the_models_orders_get_much_worse(steady) -> None:
    """A model that forecasts three times the demand in the window: its orders fill the
    shelves, the stock left over costs more than seasonal naive's, and the skill falls."""
    params, table, reference, quiet = steady
    opened = LAST - pd.Timedelta(days=params.monitor.window_days - 1)
    biased = table.copy()
    late = (biased["origin"] >= opened).to_numpy()
    biased.loc[late, f"{MODEL}_forecast"] *= 3.0
    result = _check(biased, params, reference)
    assert result["window"]["skill_cost"] < 0 < reference.skill
    assert result["verdict"] == "alarm", result["why"]
    assert result["why"].startswith("stock skill drop +") and "beyond its limit" in result["why"]
    # the runs before the window, its noise, did not change
    assert result["noise"] == quiet["noise"]


def test_too_few_days_are_insufficient_data(steady) -> None:
    """Fewer days in the window than a comparison needs (7, which covers the replay's
    lead_time_days + review_days), or too few before it for two runs of the window's length
    (its noise): the check cannot tell."""
    params, table, reference, _ = steady
    last_days = table[table["date"] > LAST - pd.Timedelta(days=5)]
    result = _check(last_days, params, reference)
    assert result["verdict"] == "insufficient data"
    assert result["why"] == (
        "stock skill drop: 5 days in the window and 0 before it; it needs 7 on each side"
    )
    late = table[table["date"] >= pd.Timestamp("2015-05-01")]
    result = _check(late, params, reference)
    assert result["verdict"] == "insufficient data"
    assert result["why"] == (
        "stock skill drop: 33 days before the window: its noise needs 2 runs of 28 days, "
        "7 days apart"
    )


def test_the_reference_is_evaluates_stock_section() -> None:
    details = {
        "stock": {
            "skill_cost": 0.65,
            MODEL: {"ratio": 0.999, "shared": 0.5, "cost": 1.0},
            BASELINE: {"ratio": 0.995, "shared": 0.0, "cost": 2.0},
        }
    }
    reference = reference_of(details, SIZES)
    assert reference.settings == {MODEL: (0.999, 0.5), BASELINE: (0.995, 0.0)}
    assert reference.skill == 0.65 and reference.sizes == SIZES
    with pytest.raises(Exception, match="has no stock section"):
        reference_of({"gate": {}}, SIZES)
