"""The rain posterior: what the forecasts say of the target day's rain, learned from the
weather; and the gbm's sales features on the store's level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from umbrella.core.errors import DataError
from umbrella.forecast.features import TARGET_RAIN
from umbrella.forecast.models import GradientBoosting, on_level_scale
from umbrella.forecast.rain_posterior import (
    AMOUNT,
    WET,
    fit_rain_posterior,
    posterior_inputs,
    with_rain_posterior,
)

P_WET = 0.4


def skill(h: np.ndarray) -> np.ndarray:
    return 0.92 - 0.1 * (h - 1)


def forecast_rows(days: int, seed: int) -> pd.DataFrame:
    """One row per (day, lead): the day is wet with P_WET; its forecast sees the truth with
    probability skill(lead), else says wet with P_WET at random."""
    rng = np.random.default_rng(seed)
    h = np.tile(np.arange(1, 8), days)
    wet = np.repeat(rng.random(days) < P_WET, 7)
    rain = np.where(wet, np.repeat(rng.gamma(1.5, 4.0, days), 7), 0.0)
    informed = rng.random(len(h)) < skill(h)
    said_wet = np.where(informed, wet, rng.random(len(h)) < P_WET)
    angle = 2 * np.pi * np.repeat(np.arange(days) % 365, 7) / 365.25
    return pd.DataFrame(
        {
            "origin": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(np.repeat(np.arange(days), 7), unit="D"),
            "horizon": h.astype(np.int16),
            "fc_rain_mm": np.where(said_wet, 5.0, 0.0),  # wet or dry: nothing more
            "season_cos": np.cos(angle),
            "season_sin": np.sin(angle),
            TARGET_RAIN: rain,
        }
    )


def bayes_wet(h: np.ndarray, said_wet: np.ndarray) -> np.ndarray:
    """P(wet | the forecast's word) by Bayes' rule under forecast_rows' law."""
    s = skill(h)
    says_wet_if_wet = s + (1 - s) * P_WET
    says_wet_if_dry = (1 - s) * P_WET
    like_wet = np.where(said_wet, says_wet_if_wet, 1 - says_wet_if_wet)
    like_dry = np.where(said_wet, says_wet_if_dry, 1 - says_wet_if_dry)
    return P_WET * like_wet / (P_WET * like_wet + (1 - P_WET) * like_dry)


def test_the_wet_probability_is_the_forecasts_posterior() -> None:
    """Learned on 1500 days, P(wet) is near Bayes' rule per lead and forecast (a coarse
    booster: within 0.05 on average): high when a short-lead forecast says rain, falling
    towards the climate as the lead grows."""
    rows = forecast_rows(1500, seed=1)
    posterior = fit_rain_posterior(rows, seed=0)
    probe = pd.DataFrame(
        {
            "horizon": np.repeat(np.arange(1, 8), 2).astype(np.int16),
            "fc_rain_mm": np.tile([0.0, 5.0], 7),
            "season_cos": 1.0,
            "season_sin": 0.0,
        }
    )
    learned = with_rain_posterior(probe, posterior)[WET].to_numpy()
    expected = bayes_wet(probe["horizon"].to_numpy(), probe["fc_rain_mm"].to_numpy() > 0)
    assert np.abs(learned - expected).mean() < 0.05
    said_wet, said_dry = learned[1::2], learned[0::2]
    assert said_wet[0] > 0.9 and said_wet[-1] < 0.7
    assert said_dry[0] < 0.1 and said_dry[-1] > 0.2
    # The expected log-rain is higher where the forecast says rain.
    amount = with_rain_posterior(probe, posterior)[AMOUNT].to_numpy()
    assert (amount[1::2] > amount[0::2]).all()


def test_stores_sharing_the_weather_count_once() -> None:
    """The same days repeated for 25 stores fit the same posterior as the days once."""
    rows = forecast_rows(300, seed=2)
    once = with_rain_posterior(rows, fit_rain_posterior(rows, seed=0))
    stores = pd.concat([rows] * 25, ignore_index=True)
    repeated = with_rain_posterior(rows, fit_rain_posterior(stores, seed=0))
    pd.testing.assert_frame_equal(once, repeated)


def test_each_row_gets_its_own_prediction() -> None:
    """Distinct rows are predicted once and given back to every copy, in the rows' order."""
    rows = forecast_rows(200, seed=5)
    posterior = fit_rain_posterior(rows, seed=0)
    assert posterior is not None
    copies = pd.concat([rows] * 3, ignore_index=True).sample(frac=1.0, random_state=1)
    out = with_rain_posterior(copies, posterior)
    inputs = copies[posterior_inputs(copies.columns)]
    np.testing.assert_array_equal(
        out[WET].to_numpy(), posterior[0].predict_proba(inputs)[:, 1].astype(np.float32)
    )
    np.testing.assert_array_equal(
        out[AMOUNT].to_numpy(), posterior[1].predict(inputs).astype(np.float32)
    )


def test_nothing_to_learn_without_observed_rain() -> None:
    rows = forecast_rows(50, seed=3)
    assert fit_rain_posterior(rows.drop(columns=TARGET_RAIN), seed=0) is None
    assert fit_rain_posterior(rows.assign(**{TARGET_RAIN: 0.0}), seed=0) is None
    assert fit_rain_posterior(rows.assign(**{TARGET_RAIN: np.nan}), seed=0) is None
    assert with_rain_posterior(rows, None) is rows


def test_sales_features_are_read_on_the_level() -> None:
    X = pd.DataFrame(
        {
            "level": [10.0, 2.0, 0.0],
            "sales_lag_1": [5.0, 4.0, 3.0],
            "sales_mean_28": [10.0, 1.0, 2.0],
            "same_weekday_last": [20.0, 2.0, 1.0],
            "sales_usual": [5.0, 3.0, 0.5],
            "fc_rain_mm": [3.0, 3.0, 3.0],
        }
    )
    out = on_level_scale(X, list(X.columns))
    # The level below one umbrella reads as one (models.store_scale).
    np.testing.assert_allclose(out["sales_lag_1"], [0.5, 2.0, 3.0])
    np.testing.assert_allclose(out["sales_mean_28"], [1.0, 0.5, 2.0])
    np.testing.assert_allclose(out["same_weekday_last"], [2.0, 1.0, 1.0])
    np.testing.assert_allclose(out["sales_usual"], [0.5, 1.5, 0.5])
    pd.testing.assert_series_equal(out["fc_rain_mm"], X["fc_rain_mm"])
    pd.testing.assert_series_equal(out["level"], X["level"])


def test_a_model_saved_with_sales_in_units_says_to_retrain() -> None:
    rows = forecast_rows(40, seed=4).assign(level=5.0, sales_lag_1=5.0)
    model = GradientBoosting(max_iter=5, min_samples_leaf=5).fit(rows, np.full(len(rows), 5.0))
    assert np.isfinite(model.predict(rows)).all()
    del model.sales_on_level_
    with pytest.raises(DataError, match="retrain it"):
        model.predict(rows)
