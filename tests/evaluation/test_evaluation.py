"""The metrics (docs/forecasting.md "Money") from a hand-made results table, and the
time-based split."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from conftest import REQUIRED_METRICS, make_params

# Imported as a module: pytest would collect functions named test_* as tests.
from umbrella.core import split as splitting
from umbrella.core.params import Split
from umbrella.data.contract.rules import finalise
from umbrella.evaluation.scores import (
    HEADLINE,
    STOCK_FILE,
    combine,
    evaluation_metrics,
    headline,
    period_summary,
    score_cells,
)
from umbrella.forecast.features import build_features

FORECASTERS = ["model", "baseline", "oracle"]
REQUIRED = REQUIRED_METRICS
SCALE = 2.0  # mase scale
RAIN_MM = 1.0  # a day with at least this much rain is a rain day


def scored(results: pd.DataFrame, forecasters: list[str]) -> dict:
    return evaluation_metrics(score_cells(results, forecasters, RAIN_MM), forecasters, SCALE)


@pytest.fixture
def results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            # Scored against demand; sales (units) fall short of it on the sold-out row 4.
            "store": ["a", "a", "b", "b", "a", "b"],
            "demand": [10.0, 0.0, 5.0, 8.0, 20.0, 4.0],
            "units": [10.0, 0.0, 5.0, 8.0, 15.0, 4.0],
            "censored": [False, False, False, False, True, False],
            "horizon": [1, 1, 2, 2, 1, 2],
            "rain_mm": [0.0, 3.0, 0.5, 10.0, 1.0, 0.0],  # rain on rows 1, 3, 4
            "model_forecast": [12.0, 1.0, 3.0, 8.0, 18.0, 4.0],  # errors +2 +1 -2 0 -2 0
            "model_order": [12.0, 1.0, 6.0, 9.0, 21.0, 5.0],  # over 2 1 1 1 1 1
            "baseline_forecast": [8.0, 2.0, 5.0, 4.0, 10.0, 6.0],  # -2 +2 0 -4 -10 +2
            "baseline_order": [9.0, 3.0, 6.0, 5.0, 12.0, 7.0],  # -1 +3 +1 -3 -8 +3
            "oracle_forecast": [11.0, 1.0, 5.0, 9.0, 19.0, 4.0],
            "oracle_order": [12.0, 1.0, 6.0, 10.0, 21.0, 5.0],  # over 2 1 1 2 1 1
            # params.yaml's business: c_u = 20 - 8 = 12, c_o = 8 - 2 + 1 = 7 on every day
            "underage": 12.0,
            "overage": 7.0,
        }
    )


def test_every_required_key(results):
    metrics = scored(results, FORECASTERS)
    for name in FORECASTERS:
        assert set(metrics[name]) >= REQUIRED, name
    assert {"wape", "cost"} <= set(metrics["skill"])
    assert set(metrics["by_horizon"]) == {"1", "2"}
    for block in [*metrics["by_horizon"].values(), metrics["rain"], metrics["dry"]]:
        for name in FORECASTERS:
            assert set(block[name]) >= REQUIRED
    json.dumps(metrics)  # written as reports/evaluate.json


def test_the_headline_is_what_a_reviewer_decides_on(results):
    """metrics/evaluate.json (what `dvc metrics show` and `dvc exp show` print) holds the
    HEADLINE keys only, led by the model's cost; costs in whole money."""
    metrics = scored(results, FORECASTERS)
    metrics["gate"] = {"passed": True, "checks": {"skill_cost": {"value": 0.7}}}
    metrics["test"] = {"rows": 6, "start": "2015-01-01", "end": "2015-01-02", "model": "gbm"}
    metrics["model"]["cost"] = 49.4
    metrics["validation"] = {"start": "2014-01-01", "cost": 61.6, "skill_cost": 0.5}
    top = headline(metrics)
    assert top == {
        "model": {"cost": 49},
        "skill": {"cost": metrics["skill"]["cost"]},
        "gate": {"passed": True},
        "validation": {"cost": 62},  # what experiments are chosen on
    }
    assert isinstance(top["model"]["cost"], int)
    # `dvc metrics show` gives every key a column as wide as its name + 4, beside the path
    # (23) and metrics/monitor.json's keys, in 120 columns (tests/stages/test_review_views.py
    # renders it): validation.cost filled them, validation.skill_cost and
    # service_level_mid are in reports/evaluate.json.
    numbers = sum(len(keys) for keys in HEADLINE.values())
    assert numbers <= 4
    # The stock replayed is metrics/stock.json's, not this file's.
    metrics["stock"] = {"cost": 12.6, "skill_cost": 0.5, "fill_rate": 0.99, "critical_ratio": 0.9}
    assert "stock" not in headline(metrics)
    stock = {"cost": 13, "skill_cost": 0.5, "fill_rate": 0.99}
    assert headline(metrics, STOCK_FILE) == {"stock": stock}
    # Without a validation period (a short history), no empty group.
    metrics["validation"] = {"left_out": "only 90 days before the test period"}
    assert "validation" not in headline(metrics)


def test_period_summary_is_the_periods_own_figures(results):
    metrics = scored(results, FORECASTERS)
    summary = period_summary(metrics)
    assert summary == {
        "cost": metrics["model"]["cost"],
        "baseline_cost": metrics["baseline"]["cost"],
        "skill_cost": metrics["skill"]["cost"],
        "service_level_mid": metrics["model"]["service_level_mid"],
        "service_level_target": metrics["model"]["service_level_target"],
    }


def test_combine_puts_the_headline_over_its_report():
    details = {"model": {"cost": 49.4, "rmse": 2.0}, "gate": {"passed": True, "checks": {}}}
    summary = {"model": {"cost": 49}, "gate": {"passed": True}}
    assert combine(summary, details) == {
        "model": {"cost": 49, "rmse": 2.0},
        "gate": {"passed": True, "checks": {}},
    }
    assert combine(summary, None) == summary  # a revision from before reports/
    assert combine(None, details) == details
    assert combine(None, None) is None


def test_values_by_hand(results):
    metrics = scored(results, FORECASTERS)
    model, baseline = metrics["model"], metrics["baseline"]
    assert model["wape"] == pytest.approx(7 / 47)
    assert model["bias"] == pytest.approx(-1 / 47)
    assert model["mae"] == pytest.approx(7 / 6)
    assert model["rmse"] == pytest.approx(np.sqrt(13 / 6))
    assert model["mase"] == pytest.approx(7 / 6 / SCALE)
    assert model["cost"] == pytest.approx(7 * 7)  # 7 left-over umbrellas
    assert model["service_level"] == 1.0 and model["stockout_rate"] == 0.0
    assert model["overstock_units"] == 7.0

    assert baseline["wape"] == pytest.approx(20 / 47)
    assert baseline["cost"] == pytest.approx(12 * 12 + 7 * 7)  # 12 lost, 7 left over
    assert baseline["service_level"] == pytest.approx(0.5)
    assert baseline["stockout_rate"] == pytest.approx(0.5)
    assert metrics["oracle"]["cost"] == pytest.approx(8 * 7)

    assert metrics["skill"]["wape"] == pytest.approx(1 - 7 / 20)
    assert metrics["skill"]["cost"] == pytest.approx(1 - 49 / 193)
    assert metrics["skill"]["cost_vs_oracle"] == pytest.approx(49 / 56)


def test_each_day_is_costed_at_its_own_price(results):
    """A promotion day (price 15.99: c_u = 7.99) loses less per unmet umbrella; its critical
    ratio 7.99 / 14.99 enters the service level target."""
    promo = results.assign(underage=[12.0, 12.0, 7.99, 7.99, 12.0, 12.0])
    baseline = scored(promo, FORECASTERS)["baseline"]
    # baseline: lost 1 (row 0, c_u 12), 3 (row 3, 7.99), 8 (row 4, 12); 7 left over
    assert baseline["cost"] == pytest.approx(12 * 1 + 7.99 * 3 + 12 * 8 + 7 * 7)
    target = (4 * 12 / 19 + 2 * 7.99 / 14.99) / 6
    assert baseline["service_level_target"] == pytest.approx(target)
    assert scored(results, FORECASTERS)["model"]["service_level_target"] == pytest.approx(12 / 19)


def test_slices_by_hand(results):
    metrics = scored(results, FORECASTERS)
    by_horizon = metrics["by_horizon"]
    assert by_horizon["1"]["model"]["wape"] == pytest.approx(5 / 30)
    assert by_horizon["2"]["model"]["wape"] == pytest.approx(2 / 17)
    assert by_horizon["1"]["model"]["cost"] == pytest.approx(4 * 7)
    # Rain days include the threshold itself (1.0 mm).
    assert metrics["rain"]["model"]["wape"] == pytest.approx(3 / 28)
    assert metrics["dry"]["model"]["wape"] == pytest.approx(4 / 19)
    assert metrics["rain"]["baseline"]["cost"] == pytest.approx(3 * 7 + 11 * 12)
    assert metrics["dry"]["baseline"]["cost"] == pytest.approx(12 + 4 * 7)
    # The slices add up to the whole.
    for name in FORECASTERS:
        total = metrics["rain"][name]["cost"] + metrics["dry"][name]["cost"]
        assert total == pytest.approx(metrics[name]["cost"])
        total = sum(block[name]["cost"] for block in by_horizon.values())
        assert total == pytest.approx(metrics[name]["cost"])


def test_without_an_oracle(results):
    without = results.drop(columns=["oracle_forecast", "oracle_order"])
    metrics = scored(without, ["model", "baseline"])
    assert "oracle" not in metrics and "cost_vs_oracle" not in metrics["skill"]
    assert "oracle" not in metrics["rain"]
    assert metrics["skill"]["cost"] == pytest.approx(1 - 49 / 193)


def test_partitions_of_stores_give_the_same_bytes(results):
    """Cells of each store's partition, combined in any order, give exactly (==, not
    approximately) the metrics of all rows scored at once."""
    whole = scored(results, FORECASTERS)
    parts = [score_cells(results[results["store"] == s], FORECASTERS, RAIN_MM) for s in "ba"]
    combined = evaluation_metrics(pd.concat(parts), FORECASTERS, SCALE)
    assert json.dumps(combined) == json.dumps(whole)


def test_results_are_not_mutated(results):
    before = results.copy()
    scored(results, FORECASTERS)
    pd.testing.assert_frame_equal(results, before)


# --- split --------------------------------------------------------------------------------

FIRST, LAST = pd.Timestamp("2012-01-01"), pd.Timestamp("2012-12-31")  # 366 days


def test_test_start_explicit_date():
    split = Split(test_start=dt.date(2012, 6, 1), test_days=10)
    assert splitting.test_start(FIRST, LAST, split) == pd.Timestamp("2012-06-01")


def test_test_start_null_is_the_last_test_days():
    start = splitting.test_start(FIRST, LAST, Split(test_start=None, test_days=30))
    assert start == pd.Timestamp("2012-12-02")
    assert (LAST - start).days + 1 == 30


def test_test_start_null_is_capped_at_a_third_of_the_data():
    start = splitting.test_start(FIRST, LAST, Split(test_start=None, test_days=365))
    assert start == pd.Timestamp("2012-09-01")
    assert (LAST - start).days + 1 == 366 // 3
    short = splitting.test_start(
        FIRST, FIRST + pd.Timedelta(days=9), Split(test_start=None, test_days=365)
    )
    assert short == pd.Timestamp("2012-01-08")  # 10 days: the last 3


def test_validation_is_the_validation_days_before_the_test_period():
    split = Split(test_start=None, test_days=60, validation_days=30)
    start = pd.Timestamp("2012-11-01")
    assert splitting.validation_start(FIRST, start, split, 56) == pd.Timestamp("2012-10-02")


def test_validation_is_capped_at_a_third_of_the_days_before_the_test_period():
    """As the test period is capped at a third of the data: the default data's 1,096 days
    before 2015 give 365 validation days, 2014."""
    split = Split(test_start=None, test_days=365, validation_days=365)
    start = splitting.test_start(FIRST, LAST, split)  # 2012-09-01: 244 days before it
    begin = splitting.validation_start(FIRST, start, split, 56)
    assert begin == start - pd.Timedelta(days=244 // 3)
    first, test = pd.Timestamp("2012-01-01"), pd.Timestamp("2015-01-01")
    assert splitting.validation_start(first, test, split, 56) == pd.Timestamp("2014-01-01")


def test_no_validation_period_without_room_for_it():
    """Too few days to train on before it (validate.min_history_days), or none asked for:
    no validation period, and the reason in words."""
    split = Split(test_start=None, test_days=365, validation_days=365)
    start = FIRST + pd.Timedelta(days=90)  # 30 validation days, 60 before them
    assert splitting.validation_start(FIRST, start, split, 56) == FIRST + pd.Timedelta(days=60)
    assert splitting.validation_start(FIRST, start, split, 61) is None
    why = splitting.no_validation(FIRST, start, split, 61)
    assert "only 90 days before the test period" in why and "min_history_days (61)" in why
    assert splitting.validation_start(FIRST, FIRST + pd.Timedelta(days=2), split, 0) is None
    none = Split(test_start=None, test_days=365, validation_days=0)
    assert splitting.validation_start(FIRST, start, none, 0) is None
    assert splitting.no_validation(FIRST, start, none, 0) == "split.validation_days is 0"


def grid_features() -> pd.DataFrame:
    """Rows for origins 2012-01-01..10 and horizons 1..3; units known up to 2012-01-10;
    2012-01-04 and 2012-01-08 sold out."""
    origins = pd.date_range("2012-01-01", "2012-01-10", freq="D")
    rows = pd.DataFrame(
        [(o, h, o + pd.Timedelta(days=h)) for o in origins for h in (1, 2, 3)],
        columns=["origin", "horizon", "date"],
    )
    rows["units"] = np.where(rows["date"] <= "2012-01-10", rows["date"].dt.day, np.nan)
    rows["censored"] = rows["date"].isin(pd.to_datetime(["2012-01-04", "2012-01-08"]))
    return rows


START = pd.Timestamp("2012-01-06")


def test_training_rows_are_before_the_test_start():
    features = grid_features()
    keep = splitting.training_rows(features, START, "keep")
    assert len(keep) == 9  # targets 01-02..01-05 from origins 01-01..01-04
    assert (keep["date"] < START).all() and keep["units"].notna().all()
    assert keep["censored"].sum() == 3  # the three rows targeting 01-04

    drop = splitting.training_rows(features, START, "drop")
    assert len(drop) == 6 and not drop["censored"].any()
    pd.testing.assert_frame_equal(drop, keep[~keep["censored"]])


def test_test_rows_roll_the_origin_from_the_day_before():
    features = grid_features()
    test = splitting.test_rows(features, START)
    # Origins 01-05..01-09 with a known target (01-10 and later targets unknown).
    assert len(test) == 12
    assert test["origin"].min() == START - pd.Timedelta(days=1)
    assert (test["date"] >= START).all() and test["units"].notna().all()
    assert test["censored"].sum() == 3  # censored targets are scored, not dropped
    # Every horizon of the first test day's origin is there.
    assert sorted(test[test["origin"] == START - pd.Timedelta(days=1)]["horizon"]) == [1, 2, 3]


def test_training_and_test_targets_never_overlap(tiny_tables):
    sales = finalise(tiny_tables["sales"], "sales")
    weather = finalise(tiny_tables["weather"], "weather")
    features = build_features(sales, weather, None, 7, make_params().features)
    first, last = sales["date"].min(), sales["date"].max()
    start = splitting.test_start(first, last, Split(test_start=None, test_days=60))
    train, test = (
        splitting.training_rows(features, start, "keep"),
        splitting.test_rows(features, start),
    )
    assert train["date"].max() < test["date"].min()
    assert train["date"].max() == start - pd.Timedelta(days=1)
    assert test["date"].min() == start and test["date"].max() == last
    # Training holds every known target before the test start; the test every origin from
    # the day before it (rows from earlier origins that reach into the test period: neither).
    known = features[features["units"].notna()]
    assert len(train) == (known["date"] < start).sum()
    assert len(test) == (known["origin"] >= start - pd.Timedelta(days=1)).sum()


def test_validation_rows_overlap_neither_the_test_rows_nor_their_training_rows(tiny_tables):
    """The validation period is split as the test period is: its model's training targets
    end the day before it, its rows (every origin from the day before it, every horizon)
    end the day before the test period, whose rows it never shares."""
    sales = finalise(tiny_tables["sales"], "sales")
    weather = finalise(tiny_tables["weather"], "weather")
    features = build_features(sales, weather, None, 7, make_params().features)
    first, last = sales["date"].min(), sales["date"].max()
    split = Split(test_start=None, test_days=60, validation_days=365)
    start = splitting.test_start(first, last, split)
    begin = splitting.validation_start(first, start, split, 56)
    assert begin is not None and (start - begin).days == (start - first).days // 3
    train = splitting.training_rows(features, begin, "keep")
    valid = splitting.test_rows(features, begin, start)
    test = splitting.test_rows(features, start)
    key = ["store", "origin", "horizon"]
    assert train["date"].max() == begin - pd.Timedelta(days=1) < valid["date"].min() == begin
    assert valid["date"].max() == start - pd.Timedelta(days=1) < test["date"].min()
    assert valid.merge(test, on=key).empty and valid.merge(train, on=key).empty
    # Every origin from the day before it, every horizon whose target is before the test.
    known = features[features["units"].notna()]
    in_period = (known["origin"] >= begin - pd.Timedelta(days=1)) & (known["date"] < start)
    assert len(valid) == in_period.sum()
    first_origin = valid[valid["origin"] == begin - pd.Timedelta(days=1)]
    assert set(first_origin["horizon"]) == set(range(1, 8))
