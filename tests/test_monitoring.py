"""The monitor: drift scores, the same-season reference, and the status on drifted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params

from umbrella import split
from umbrella.features import build_features
from umbrella.models import LinearModel
from umbrella.monitoring import feature_drift, js_distance, psi, same_season, status
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


def _monitor_on(drift: dict | None, seed: int) -> dict:
    """Monitor a linear model on 6 stores over two years, drift (if any) in the last weeks."""
    params = make_params(
        {
            "base": {"seed": seed},
            "simulate": {"stores": 6, "start": "2013-01-01", "end": "2014-12-31", "drift": drift},
            "split": {"test_days": 180},
        }
    )
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    sales = finalise(tables["sales"], "sales")
    features = build_features(
        sales,
        finalise(tables["weather"], "weather"),
        finalise(tables["weather_forecasts"], "weather_forecasts"),
        params.base.horizon,
        params.features,
    )
    first, last = sales["date"].min(), sales["date"].max()
    train = split.training_rows(features, split.test_start(first, last, params.split), "keep")
    model = LinearModel(quantile=params.business.service_level).fit(train, train["units"])
    return monitor(params, features, first, last, model)


@pytest.mark.parametrize("seed", [3, 4])
def test_monitor_is_quiet_without_drift_and_alarms_with_it(seed: int) -> None:
    quiet = _monitor_on(None, seed)
    assert quiet["status"] == "ok", quiet["residual"]
    halved = _monitor_on({"start": "2014-12-10", "level": 0.5}, seed)
    assert halved["status"] in {"drift", "degraded"}
    # fewer umbrellas than the model expects: it over-forecasts, its bias moves up
    assert halved["bias_shift"]["score"] > 0.15 > abs(quiet["bias_shift"]["score"])
    rainier = _monitor_on({"start": "2014-12-10", "rain_effect": 3.0}, seed)
    assert rainier["status"] in {"drift", "degraded"}
