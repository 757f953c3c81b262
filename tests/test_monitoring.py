"""The monitor: drift scores, the same-season reference, and the status on drifted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params

from umbrella import split
from umbrella.features import build_features
from umbrella.interim import Interim
from umbrella.models import LinearModel
from umbrella.monitoring import (
    demand_response_shift,
    feature_drift,
    js_distance,
    psi,
    same_season,
    status,
)
from umbrella.simulate import simulate_retailer
from umbrella.stages.monitor import monitor
from umbrella.stages.validate import finalise


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=5000)
    assert psi(reference, rng.normal(size=2000)) < 0.02
    assert psi(reference, rng.normal(loc=1.0, size=2000)) > 0.5
    assert psi(reference, rng.normal(loc=1.0, size=2000)) > psi(
        reference, rng.normal(loc=0.3, size=2000)
    )
    assert np.isnan(psi(reference, np.array([np.nan])))


def test_js_distance_of_0_1_features() -> None:
    assert js_distance(np.array([0, 1, 0, 1.0]), np.array([1, 0.0])) == pytest.approx(0.0)
    assert js_distance(np.zeros(10), np.ones(10)) == pytest.approx(1.0)
    assert 0 < js_distance(np.array([0, 0, 0, 1.0]), np.array([0, 1.0])) < 1


def test_same_season_wraps_around_the_year() -> None:
    dates = pd.Series(pd.to_datetime(["2013-01-03", "2013-06-01", "2012-12-25", "2013-12-20"]))
    window = pd.Series(pd.to_datetime(["2014-12-30", "2014-12-31"]))
    assert same_season(dates, window, season_days=7).tolist() == [True, False, True, False]


def test_feature_drift_flags_only_what_moved() -> None:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame(
        {"a": rng.normal(size=3000), "b": rng.normal(size=3000), "promo": rng.random(3000) < 0.1}
    )
    window = pd.DataFrame(
        {"a": rng.normal(size=500), "b": rng.normal(2.0, size=500), "promo": rng.random(500) < 0.6}
    )
    scores = feature_drift(reference, window, ["a", "b", "missing"], ["promo"], 0.25, 0.1)
    assert set(scores) == {"a", "b", "promo"}
    assert not scores["a"]["drift"] and scores["b"]["drift"] and scores["promo"]["drift"]
    assert scores["promo"]["method"] == "jensen_shannon"


def test_status_order() -> None:
    assert status(False, False) == "ok"
    assert status(True, False) == "drift"
    assert status(True, True) == status(False, True) == "degraded"


def _monitor_on(drift: dict | None, seed: int, stockouts: bool = True) -> dict:
    """Monitor a linear model on 6 stores over two years, drift (if any) in the last weeks."""
    simulate = {"stores": 6, "start": "2013-01-01", "end": "2014-12-31", "drift": drift}
    params = make_params(
        {
            "base": {"seed": seed},
            "simulate": simulate | {"stockouts": stockouts},
            "split": {"test_days": 180},
        }
    )
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    data = Interim(
        *(finalise(tables[n], n) for n in ("sales", "weather", "weather_forecasts")), truth=None
    )
    features = build_features(
        data.sales, data.weather, data.forecasts, params.base.horizon, params.features
    )
    first, last = data.sales["date"].min(), data.sales["date"].max()
    train = split.training_rows(features, split.test_start(first, last, params.split), "keep")
    model = LinearModel(quantile=params.business.service_level).fit(train, train["units"])
    return monitor(params, features, data, model)


@pytest.mark.parametrize("seed", [3, 4])
def test_monitor_is_quiet_without_drift_and_alarms_with_it(seed: int) -> None:
    quiet = _monitor_on(None, seed)
    assert quiet["status"] == "ok", quiet["residual"]
    halved = _monitor_on({"start": "2014-12-10", "level": 0.5}, seed)
    assert halved["status"] in {"drift", "degraded"}
    # fewer umbrellas than the model expects: it over-forecasts, its bias moves up, and
    # sales fall below what the training years' demand response expects for that weather
    assert halved["bias_shift"]["score"] > 0.15 > abs(quiet["bias_shift"]["score"])
    assert halved["demand_shift"]["score"] < -0.3 < -0.12 < quiet["demand_shift"]["score"]
    # A stronger rain response: more umbrellas on wet days than the model expects. Run
    # without stock-outs, which cap exactly those days' sales and so hide much of it (the
    # README's monitoring rates measure that case).
    rainier = _monitor_on({"start": "2014-12-10", "rain_effect": 3.0}, seed, stockouts=False)
    assert rainier["status"] in {"drift", "degraded"}
    assert rainier["demand_shift"]["score"] > 0.3 and rainier["bias_shift"]["score"] < -0.15


def test_demand_shift_sees_a_level_change_but_not_a_wet_month() -> None:
    """Sales 30 % lower in the window move the score towards log(0.7) = -0.36; a wet month
    alone does not (rain above the top band is a little under-expected, hence -0.2)."""
    rng = np.random.default_rng(5)
    dates = pd.date_range("2013-01-01", "2014-12-31", freq="D")
    rain = rng.gamma(0.6, 8.0, len(dates)) * (rng.random(len(dates)) < 0.5)
    rain[-28:] *= 3  # a very wet last month
    stores = [f"S{i}" for i in range(10)]
    table = pd.DataFrame(
        {
            "date": np.tile(dates, 10),
            "store": np.repeat(stores, len(dates)),
            "rain_mm": np.tile(rain, 10),
        }
    ).assign(
        weekday=lambda t: t["date"].dt.day_of_week, month=lambda t: t["date"].dt.month, holiday=0.0
    )
    level = np.repeat(rng.uniform(3, 12, 10), len(dates))
    mean = level * (1 + 2 * (1 - np.exp(-table["rain_mm"].to_numpy() / 6)))
    start, window = pd.Timestamp("2014-07-01"), dates[-28]
    after = (table["date"] >= window).to_numpy()
    steady = table.assign(units=rng.poisson(mean))
    dropped = table.assign(units=rng.poisson(mean * np.where(after, 0.7, 1.0)))
    quiet = demand_response_shift(steady, start, window, 0.12)
    alarm = demand_response_shift(dropped, start, window, 0.12)
    assert abs(quiet["score"]) < 0.06 and not quiet["drift"]
    assert alarm["score"] < -0.2 and alarm["drift"]
