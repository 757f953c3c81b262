"""The conformal correction of the orders (calibration.py) on tiny seeded panels whose level
moves: it must bring the service level back near tau* and save money, use only the days
realised by each origin, and leave a calibrated forecaster alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params
from scipy import stats

from umbrella.calibration import calibrate, corrected, fit_offsets, rolling_offsets
from umbrella.errors import ParamsError
from umbrella.metrics import newsvendor_cost, to_order
from umbrella.models import GradientBoosting, LinearModel, make_model

TAU = 0.632
CU, CO = 12.0, 7.0
SIZE = 8.0
HORIZONS = 3
DAYS = 240
TEST_FROM = 150  # the first origin scored
WINDOW = 28


def panel(mean: np.ndarray, seed: int, stores: int = 8) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows (store, origin, horizon, date, units, level) of NB(mean[day] x store factor)
    demand, and each row's true mean. Every store-day has one demand, shared by horizons."""
    rng = np.random.default_rng(seed)
    factor = np.linspace(0.6, 1.6, stores)
    day_mean = factor[:, None] * mean[None, :]
    demand = rng.negative_binomial(SIZE, SIZE / (SIZE + day_mean))
    dates = pd.date_range("2014-01-01", periods=len(mean), freq="D")
    s, t, h = np.meshgrid(
        np.arange(stores), np.arange(len(mean)), np.arange(1, HORIZONS + 1), indexing="ij"
    )
    s, t, h = s.ravel(), t.ravel(), h.ravel()
    inside = t + h < len(mean)
    s, t, h = s[inside], t[inside], h[inside]
    rows = pd.DataFrame(
        {
            "store": s,
            "origin": dates[t],
            "horizon": h,
            "date": dates[t + h],
            "units": demand[s, t + h].astype(float),
            "level": factor[s] * mean[0],
        }
    )
    return rows, day_mean[s, t + h]


def stale_quantile(rows: pd.DataFrame) -> np.ndarray:
    """The tau* quantile a model fitted before any change would order: the old level's."""
    old = rows["level"].to_numpy()
    return stats.nbinom.ppf(TAU, SIZE, SIZE / (SIZE + old)).astype(float)


def scored(rows: pd.DataFrame, order: np.ndarray) -> tuple[float, float]:
    test = (rows["origin"] >= rows["origin"].min() + pd.Timedelta(days=TEST_FROM)).to_numpy()
    y = rows["units"].to_numpy()[test]
    return float(np.mean(y <= order[test])), newsvendor_cost(y, order[test], CU, CO)


def oracle_service(rows: pd.DataFrame, true_mean: np.ndarray) -> float:
    best = stats.nbinom.ppf(TAU, SIZE, SIZE / (SIZE + true_mean))
    return scored(rows, best)[0]


def corrected_orders(rows: pd.DataFrame, quantile: np.ndarray) -> np.ndarray:
    return to_order(calibrate(rows, quantile, rows["level"].to_numpy(), WINDOW, TAU))


SCENARIOS = {
    # A level that drops by 40 % at day 120 (before the test: the windows see it) ...
    "level_drop": np.where(np.arange(DAYS) < 120, 10.0, 6.0),
    # ... that rises by half inside the test period ...
    "level_rise": np.where(np.arange(DAYS) < 170, 6.0, 9.0),
    # ... and a season that ends: demand falls steadily by 40 % over the last 4 months.
    "seasonal_decline": 10.0 * np.clip(1.0 - 0.4 * (np.arange(DAYS) - 120) / 120, 0.6, 1.0),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_correction_restores_the_service_level_and_saves_money(name):
    mean = SCENARIOS[name]
    rows, true_mean = panel(mean, seed=list(SCENARIOS).index(name))
    stale = to_order(stale_quantile(rows))
    after = corrected_orders(rows, stale_quantile(rows))
    service_before, cost_before = scored(rows, stale)
    service_after, cost_after = scored(rows, after)
    target = oracle_service(rows, true_mean)  # whole umbrellas: the best order's, >= tau*
    assert abs(service_before - target) > 0.08  # the stale orders are off ...
    # ... the corrected ones much less. A trailing window lags a level that keeps moving
    # (by about half the window: here 0.07 of service level too much, a steady decline).
    assert abs(service_after - target) <= (0.075 if name == "seasonal_decline" else 0.05)
    assert cost_after < 0.97 * cost_before


def test_a_calibrated_forecaster_is_left_nearly_alone():
    mean = np.full(DAYS, 8.0)
    rows, true_mean = panel(mean, seed=7)
    best = stats.nbinom.ppf(TAU, SIZE, SIZE / (SIZE + true_mean))
    service_before, cost_before = scored(rows, best)
    service_after, cost_after = scored(rows, corrected_orders(rows, best.astype(float)))
    assert abs(service_after - service_before) <= 0.03
    assert cost_after <= 1.03 * cost_before


def test_an_origin_sees_only_days_realised_by_then():
    rows, _ = panel(np.full(120, 8.0), seed=3)
    quantile = np.full(len(rows), 9.0)
    first = rolling_offsets(rows, quantile, rows["level"], rows["units"], WINDOW, CU, CO)
    origin = rows["origin"].min() + pd.Timedelta(days=60)
    future = rows["date"] > origin
    changed = rows["units"].where(~future, rows["units"] * 5 + 50)
    second = rolling_offsets(rows, quantile, rows["level"], changed, WINDOW, CU, CO)
    known = (rows["origin"] <= origin).to_numpy()
    np.testing.assert_array_equal(first[known], second[known])
    assert not np.array_equal(first[~known], second[~known])  # and the future does matter


def test_window_counts_only_its_own_days():
    """With a window of 7 days, days older than that no longer move the offset."""
    rows, _ = panel(np.full(60, 8.0), seed=4, stores=2)
    quantile = np.full(len(rows), 9.0)
    origin = rows["origin"].min() + pd.Timedelta(days=40)
    old = rows["date"] <= origin - pd.Timedelta(days=7)
    changed = rows["units"].where(~old, 0.0)
    at = (rows["origin"] == origin).to_numpy()
    first = rolling_offsets(rows, quantile, rows["level"], rows["units"], 7, CU, CO)
    second = rolling_offsets(rows, quantile, rows["level"], changed, 7, CU, CO)
    np.testing.assert_array_equal(first[at], second[at])


def test_offsets_by_hand():
    # y = 4 on every row, quantile 2: the cheapest order is 4, a factor of 2 (log 2 = 0.69;
    # the grid step is 0.02, and rint(2 * e^0.68) = 4); shifted: + 2 = 2 x scale 1.
    y, q, scale, h = np.full(10, 4.0), np.full(10, 2.0), np.ones(10), np.ones(10, dtype=int)
    log_factor = fit_offsets(y, q, scale, h, CU, CO)[1]
    assert to_order(corrected(2.0, 1.0, log_factor)) == 4
    assert fit_offsets(y, q, scale, h, CU, CO, kind="shift")[1] == pytest.approx(1.5, abs=0.03)
    # No evidence of an error: no correction.
    assert fit_offsets(q, q, scale, h, CU, CO)[1] == 0.0


def test_without_realised_days_the_quantile_stays():
    rows, _ = panel(np.full(30, 8.0), seed=5, stores=2)
    rows["units"] = np.nan  # prediction rows: nothing realised
    quantile = np.arange(len(rows), dtype=float)
    np.testing.assert_array_equal(calibrate(rows, quantile, rows["level"], WINDOW, TAU), quantile)


def test_train_calibration_reaches_the_models():
    params = make_params({"train": {"calibration": "conformal", "calibration_window_days": 21}})
    model = make_model(params.train, TAU, seed=0)
    assert isinstance(model, GradientBoosting) and model.calibration_window == 21
    linear = make_model(
        make_params({"train": {"model": "linear", "calibration": "conformal"}}).train, TAU, 0
    )
    assert isinstance(linear, LinearModel) and linear.calibration_window == 56
    assert make_model(make_params().train, TAU, seed=0).calibration_window is None


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"calibration": "sometimes"}, "train.calibration"),
        ({"calibration_window_days": 3}, "train.calibration_window_days"),
        ({"calibration_window_days": 400}, "train.calibration_window_days"),
    ],
)
def test_bad_calibration_params_name_the_key(overrides, key):
    with pytest.raises(ParamsError, match=key):
        make_params({"train": overrides})
