"""The peers' tuning (benchmarks/peers.py `tune`): chosen by the validation period's cost,
never the test period's, each candidate shown no day of the test period; the library's
defaults without a validation period; the grids the libraries' own knobs, as many as
`make sweep` runs. On tiny seeded data and a stand-in peer (the `peers` extra, LightGBM and
statsforecast, is not installed with the tests)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pandas as pd
from conftest import REPO, TINY, make_params
from sklearn.ensemble import HistGradientBoostingRegressor

from umbrella.data.contract.interim import Interim

sys.path.insert(0, str(REPO / "benchmarks"))  # peers.py imports its sibling bench.py
peers = importlib.import_module("peers")

DAY = pd.Timedelta(days=1)
PARAMS = make_params(TINY)
FIRST, LAST = pd.Timestamp("2012-01-01"), pd.Timestamp("2012-09-30")
# TINY's split: the last 60 days are the test period, the 71 days before it the validation's
START = pd.Timestamp("2012-08-02")
BEGIN = pd.Timestamp("2012-05-23")


def level_doubling_at_test() -> Interim:
    """One store selling Poisson(100) a day, Poisson(200) from the test period on."""
    days = pd.date_range(FIRST, LAST, freq="D")
    rng = np.random.default_rng(0)
    units = rng.poisson(np.where(days < START, 100.0, 200.0)).astype(float)
    sales = pd.DataFrame({"store": "S1", "date": days, "units": units})
    weather = pd.DataFrame({"store": "S1", "date": days, "rain_mm": 0.0})
    return Interim(sales, weather, None, None)


class Constant:
    """A stand-in peer ordering knobs["units"] for every (origin, horizon) from the day before
    `start`; it remembers what it was shown (start, knobs, last day of its data)."""

    def __init__(self) -> None:
        self.calls: list[tuple[pd.Timestamp, dict, pd.Timestamp]] = []

    def __call__(self, data: Interim, start: pd.Timestamp, knobs: dict) -> pd.DataFrame:
        last = data.sales["date"].max()
        self.calls.append((start, knobs, last))
        rows = [
            (store, origin, origin + h * DAY)
            for store in data.sales["store"].unique()
            for origin in pd.date_range(start - DAY, last - DAY, freq="D")
            for h in range(1, PARAMS.base.horizon + 1)
            if origin + h * DAY <= last
        ]
        out = pd.DataFrame(rows, columns=peers.KEYS)
        units = knobs.get("units", 150.0)
        return out.assign(forecast=units, quantile=units)


def test_tune_chooses_on_validation_never_on_test() -> None:
    data = level_doubling_at_test()
    peer = Constant()
    grid = [{"units": 200.0}, {"units": 100.0}]  # 200 costs least on the test period
    rows, tuning = peers.tune(peer, grid, data, START, PARAMS)
    assert tuning["tuning"] == "tuned on validation (2 fits)"
    assert tuning["tuned"]["chosen"] == {"units": 100.0}
    assert tuning["tuned"]["validation"] == f"{BEGIN.date()}..{(START - DAY).date()}"
    costs = [fit["validation_cost"] for fit in tuning["tuned"]["tried"]]
    assert costs[1] < costs[0]
    # each candidate on the validation period, shown no day of the test period; one refit
    assert peer.calls[:2] == [(BEGIN, knobs, START - DAY) for knobs in grid]
    assert peer.calls[2] == (START, {"units": 100.0}, LAST)
    assert (rows["quantile"] == 100.0).all()
    assert rows["origin"].min() == START - DAY


def test_tune_keeps_the_defaults_without_a_validation_period() -> None:
    params = make_params({**TINY, "split": {"test_days": 60, "validation_days": 0}})
    peer = Constant()
    rows, tuning = peers.tune(peer, [{"units": 100.0}], level_doubling_at_test(), START, params)
    assert tuning["tuning"] == "defaults: no validation period (split.validation_days is 0)"
    assert peer.calls == [(START, {}, LAST)]
    assert len(rows) > 0


def test_a_peer_without_knobs_runs_once_as_it_is() -> None:
    peer = Constant()
    _, tuning = peers.tune(peer, [], level_doubling_at_test(), START, PARAMS)
    assert tuning["tuning"] == "none: no such knobs"
    assert peer.calls == [(START, {}, LAST)]


def test_the_grids_are_the_budget_in_the_libraries_names() -> None:
    fits = len(peers.LEAVES) * len(peers.LEARNING_RATES) * len(peers.MIN_LEAF)
    assert fits == 8  # make sweep's runs: 6 gbm, seasonal_naive, linear (Makefile)
    for grid in (peers.HGB_GRID, peers.LIGHTGBM_GRID):
        assert len(grid) == fits
        assert len({tuple(sorted(knobs.items())) for knobs in grid}) == fits
    for knobs in peers.HGB_GRID:  # a misspelt name fails here
        HistGradientBoostingRegressor().set_params(**knobs)
    assert set(peers.LIGHTGBM_GRID[0]) == {"num_leaves", "learning_rate", "min_child_samples"}
