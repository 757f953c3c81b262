"""build_features: no leakage from after the origin, and hand-checked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params

from umbrella.data.contract.rules import finalise
from umbrella.forecast.features import build_features

HORIZON = 7
# The target of a row, whether it sold out and its observed rain: known only after the origin.
TARGET_COLUMNS = ["units", "censored", "target_rain_mm"]
# The planned price and promotion of the target day are known at the origin
# (docs/forecasting.md "Origins and horizons"), so they may (and do) come from the sales
# table's target-day row: not leakage.
PLANNED_COLUMNS = ["price", "promo"]


@pytest.fixture(scope="module")
def cfg():
    return make_params().features


@pytest.fixture(scope="module")
def typed(tiny_tables) -> dict[str, pd.DataFrame]:
    """The simulated tables as the validate stage writes them (copies: safe to mutate)."""
    names = {"sales": "sales", "weather": "weather", "forecasts": "weather_forecasts"}
    return {key: finalise(tiny_tables[name], name) for key, name in names.items()}


def tables(typed: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return typed["sales"].copy(), typed["weather"].copy(), typed["forecasts"].copy()


def feature_columns(features: pd.DataFrame) -> list[str]:
    return [c for c in features.columns if c not in TARGET_COLUMNS + PLANNED_COLUMNS]


def at_origin(features: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    rows = features[features["origin"] == origin]
    return rows.sort_values(["store", "horizon"]).reset_index(drop=True)


def middle_date(sales: pd.DataFrame) -> pd.Timestamp:
    dates = np.sort(sales["date"].unique())
    return pd.Timestamp(dates[len(dates) // 2])


def perturb_after(sales, weather, forecasts, t, seed=0):
    """New tables: every value after the end of day t changed, forecasts issued after t
    included. Inputs are left alone."""
    rng = np.random.default_rng(seed)
    sales, weather, forecasts = sales.copy(), weather.copy(), forecasts.copy()
    late = sales["date"] > t
    sales.loc[late, "units"] = rng.integers(50, 500, late.sum())
    sales.loc[late, "in_stock"] = (1 - sales.loc[late, "in_stock"]).astype("int8")
    sales.loc[late, "price"] = sales.loc[late, "price"] * 1.5
    sales.loc[late, "promo"] = (1 - sales.loc[late, "promo"]).astype("int8")
    late = weather["date"] > t
    for column in ("rain_mm", "temp_max_c", "temp_min_c", "wind"):
        weather.loc[late, column] = rng.uniform(0, 80, late.sum())
    late = forecasts["issued"] > t
    for column in ("rain_mm", "temp_max_c"):
        forecasts.loc[late, column] = rng.uniform(0, 80, late.sum())
    forecasts.loc[late, "rain_prob"] = rng.uniform(0, 1, late.sum())
    return sales, weather, forecasts


# --- leakage ------------------------------------------------------------------------------


def test_no_leakage_from_data_after_the_origin(typed, cfg):
    sales, weather, forecasts = tables(typed)
    t = middle_date(sales)
    before = build_features(sales, weather, forecasts, HORIZON, cfg)
    after = build_features(*perturb_after(sales, weather, forecasts, t), HORIZON, cfg)

    rows_before, rows_after = at_origin(before, t), at_origin(after, t)
    assert len(rows_before) == sales["store"].nunique() * HORIZON
    columns = feature_columns(before)
    pd.testing.assert_frame_equal(rows_before[columns], rows_after[columns])
    # The perturbation did reach the targets and the planned prices of these rows...
    assert (rows_before["units"] != rows_after["units"]).all()
    assert (rows_before["price"] != rows_after["price"]).all()
    # ...and the features of the next origin, which may see day t+1.
    next_before, next_after = (
        at_origin(before, t + pd.Timedelta(days=1)),
        at_origin(after, t + pd.Timedelta(days=1)),
    )
    assert (next_before["sales_lag_1"] != next_after["sales_lag_1"]).all()
    assert (next_before["rain_origin"] != next_after["rain_origin"]).all()


def test_no_leakage_when_the_data_ends_at_the_origin(typed, cfg):
    """Prediction builds the rows of the last day from data that ends there: the same
    features as training saw for that origin (no train/serve skew)."""
    sales, weather, forecasts = tables(typed)
    t = middle_date(sales)
    full = at_origin(build_features(sales, weather, forecasts, HORIZON, cfg), t)
    cut = at_origin(
        build_features(
            sales[sales["date"] <= t],
            weather[weather["date"] <= t],
            forecasts[forecasts["issued"] <= t],
            HORIZON,
            cfg,
        ),
        t,
    )
    columns = feature_columns(full)
    pd.testing.assert_frame_equal(full[columns], cut[columns])
    assert cut["units"].isna().all()
    assert full["units"].notna().all()


def test_the_forecast_issued_at_the_origin_is_used(typed, cfg):
    sales, weather, forecasts = tables(typed)
    t = middle_date(sales)
    target = t + pd.Timedelta(days=3)
    changed = forecasts.copy()
    hit = (changed["issued"] == t) & (changed["date"] == target)
    assert hit.sum() == 1
    changed.loc[hit, "rain_mm"] = 123.0

    before = at_origin(build_features(sales, weather, forecasts, HORIZON, cfg), t)
    after = at_origin(build_features(sales, weather, changed, HORIZON, cfg), t)
    moved = before["fc_rain_mm"] != after["fc_rain_mm"]
    assert moved.tolist() == (before["horizon"] == 3).tolist()
    assert (after.loc[moved, "fc_rain_mm"] == 123.0).all()


def test_the_lagged_ensemble_averages_every_forecast_of_the_day_issued_by_the_origin(typed, cfg):
    sales, weather, forecasts = tables(typed)
    t = middle_date(sales)
    target = t + pd.Timedelta(days=3)
    changed = forecasts.copy()
    of_target = (changed["date"] == target) & (changed["issued"] <= t)
    leads = (target - changed.loc[of_target, "issued"]).dt.days.sort_values()
    assert leads.tolist() == list(range(3, HORIZON + 1))  # issued at t, t-1, ...
    rain = np.array([0.0, 2.0, 0.0, 5.0, 10.0])[: len(leads)]
    prob = np.linspace(0.1, 0.9, len(leads))
    changed.loc[leads.index, "rain_mm"] = rain
    changed.loc[leads.index, "rain_prob"] = prob

    row = at_origin(build_features(sales, weather, changed, HORIZON, cfg), t)
    row = row[row["horizon"] == 3].iloc[0]
    assert row["fc_rain_mm"] == 0.0  # the latest forecast alone says dry
    assert row["fc_wet_ens"] == pytest.approx(np.mean(rain > 0))
    assert row["fc_rain_mm_ens"] == pytest.approx(np.mean(np.log1p(rain)), rel=1e-6)
    assert row["fc_rain_prob_ens"] == pytest.approx(np.mean(prob), rel=1e-6)


def test_the_sales_of_the_origin_day_are_used(typed, cfg):
    sales, weather, forecasts = tables(typed)
    t = middle_date(sales)
    changed = sales.copy()
    hit = (changed["date"] == t) & (changed["store"] == "S0001")
    changed.loc[hit, "units"] = 999

    before = at_origin(build_features(sales, weather, forecasts, HORIZON, cfg), t)
    after = at_origin(build_features(changed, weather, forecasts, HORIZON, cfg), t)
    store = after["store"] == "S0001"
    assert (after.loc[store, "sales_lag_1"] == 999).all()
    assert (after.loc[store, "sales_mean_7"] > before.loc[store, "sales_mean_7"]).all()
    pd.testing.assert_frame_equal(before[~store], after[~store])


# --- hand-checked values ------------------------------------------------------------------

START = pd.Timestamp("2024-01-01")  # a Monday and a US holiday; 2024-01-15 is MLK day
DAYS = 30
SOLD_OUT_DAY = 10


def hand_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One store, units 0..29 from 2024-01-01; rain 0, 1, 2, 0, 1, 2, ..."""
    dates = pd.date_range(START, periods=DAYS, freq="D")
    sales = pd.DataFrame(
        {
            "date": dates,
            "store": pd.array(["A"] * DAYS, dtype="string"),
            "units": np.arange(DAYS, dtype="int64"),
            "price": np.linspace(10.0, 12.9, DAYS),
            "promo": (np.arange(DAYS) % 5 == 0).astype("int8"),
            "in_stock": (np.arange(DAYS) != SOLD_OUT_DAY).astype("int8"),
        }
    )
    weather = pd.DataFrame({"date": dates, "rain_mm": (np.arange(DAYS) % 3).astype(float)})
    return sales, weather


def test_hand_checked_values(cfg):
    sales, weather = hand_tables()
    horizon = 9  # two weeks back for the same weekday of h = 8, 9
    out = build_features(sales, weather, None, horizon, cfg)

    i = (out["origin"] - START).dt.days.to_numpy()  # units on day i are i
    h = out["horizon"].to_numpy().astype(int)
    d = i + h
    # Origins: every day from the first with a full week of history (day 6), every horizon.
    assert sorted(set(i)) == list(range(6, DAYS))
    assert len(out) == (DAYS - 6) * horizon
    for horizons in out.groupby("origin")["horizon"].apply(list):
        assert horizons == list(range(1, horizon + 1))
    assert (out["date"] == out["origin"] + pd.to_timedelta(h, unit="D")).all()

    def sales_on(day: np.ndarray) -> np.ndarray:
        return np.where((day >= 0) & (day < DAYS), day, np.nan).astype(float)

    for lag in cfg.lags:  # lag 1 is the origin day itself
        np.testing.assert_array_equal(out[f"sales_lag_{lag}"], sales_on(i - lag + 1))

    def mean_of_last(window: int) -> np.ndarray:  # of the days 0..i: i/2 until a full window
        return np.where(i >= window - 1, i - (window - 1) / 2, i / 2)

    for window in cfg.windows:
        np.testing.assert_allclose(out[f"sales_mean_{window}"], mean_of_last(window), rtol=1e-6)
    # The level is the longest window's mean.
    assert max(cfg.windows) == 56
    np.testing.assert_allclose(out["level"], mean_of_last(56), rtol=1e-6)
    # The usual sales: the mean of up to usual_days days (here fewer: all the history so far).
    assert cfg.usual_days > DAYS
    np.testing.assert_allclose(out["sales_usual"], i / 2, rtol=1e-6)

    weeks_back = -(-h // 7)  # ceil(h / 7)
    np.testing.assert_array_equal(out["same_weekday_last"], d - 7 * weeks_back)
    expected_mean = [
        np.mean([j for j in (dd - 7 * (wb + k) for k in range(cfg.same_weekday_weeks)) if j >= 0])
        for dd, wb in zip(d, weeks_back, strict=True)
    ]
    np.testing.assert_allclose(out["same_weekday_mean"], expected_mean, rtol=1e-6)
    # A row checked by hand: origin day 20 (Sun 2024-01-21), h = 2: target Tue 2024-01-23.
    row = out[(i == 20) & (h == 2)].iloc[0]
    assert row["date"] == pd.Timestamp("2024-01-23")
    assert row["same_weekday_last"] == 15  # Tue 2024-01-16
    assert row["same_weekday_mean"] == pytest.approx((15 + 8 + 1) / 3)  # 16th, 9th, 2nd
    assert row["weekday"] == 1

    np.testing.assert_array_equal(out["weekday"], out["date"].dt.day_of_week)
    np.testing.assert_array_equal(out["month"], out["date"].dt.month)
    np.testing.assert_array_equal(out["holiday"], out["date"] == pd.Timestamp("2024-01-15"))
    np.testing.assert_array_equal(out["units"], sales_on(d))
    np.testing.assert_array_equal(out["censored"], d == SOLD_OUT_DAY)
    sold_out = (np.arange(DAYS) == SOLD_OUT_DAY).astype(float)
    expected_share = [sold_out[max(0, k - 27) : k + 1].mean() for k in i]
    np.testing.assert_allclose(out["sold_out_share_28"], expected_share, rtol=1e-6)

    rain = np.arange(DAYS) % 3
    np.testing.assert_array_equal(out["rain_origin"], rain[i])
    # The target day's observed rain, a label for the rain posterior; unknown beyond the data.
    inside = d < DAYS
    np.testing.assert_array_equal(out.loc[inside, "target_rain_mm"], rain[d[inside]])
    assert out.loc[~inside, "target_rain_mm"].isna().all()
    np.testing.assert_allclose(
        out["rain_mean_7"], [rain[k - 6 : k + 1].mean() for k in i], rtol=1e-6
    )
    # The weather behind the level: the mean log1p rain over the level's days.
    np.testing.assert_allclose(
        out["level_rain_log"], [np.log1p(rain[max(0, k - 55) : k + 1]).mean() for k in i], rtol=1e-6
    )
    # Planned price and promotion of the target day; unknown beyond the data.
    price = np.linspace(10.0, 12.9, DAYS)
    inside = d < DAYS
    np.testing.assert_allclose(out.loc[inside, "price"], price[d[inside]], rtol=1e-6)
    np.testing.assert_array_equal(out.loc[inside, "promo"], d[inside] % 5 == 0)
    assert out.loc[~inside, ["price", "promo"]].isna().all(axis=None)


def test_usual_sales_are_the_mean_of_usual_days(cfg):
    """The usual sales are the trailing mean of features.usual_days days."""
    sales, weather = hand_tables()
    out = build_features(sales, weather, None, HORIZON, cfg.model_copy(update={"usual_days": 10}))
    i = (out["origin"] - START).dt.days.to_numpy()  # units on day i are i
    np.testing.assert_allclose(out["sales_usual"], (i + np.maximum(i - 9, 0)) / 2, rtol=1e-6)
    np.testing.assert_allclose(out["level"], np.where(i >= 55, i - 27.5, i / 2), rtol=1e-6)


def test_holidays_null_gives_no_holidays(cfg):
    sales, weather = hand_tables()
    out = build_features(sales, weather, None, HORIZON, cfg.model_copy(update={"holidays": None}))
    assert (out["holiday"] == 0).all()
    assert (out["date"] == pd.Timestamp("2024-01-15")).any()


def test_inputs_are_not_mutated(typed, cfg):
    sales, weather, forecasts = tables(typed)
    copies = [sales.copy(), weather.copy(), forecasts.copy()]
    build_features(sales, weather, forecasts, HORIZON, cfg)
    for table, copy in zip((sales, weather, forecasts), copies, strict=True):
        pd.testing.assert_frame_equal(table, copy)


# --- inputs of other shapes ---------------------------------------------------------------


def test_weather_with_a_store_column_gives_the_same_features(typed, cfg):
    sales, weather, forecasts = tables(typed)
    stores = pd.DataFrame({"store": sales["store"].unique()})
    per_store_weather = weather.merge(stores, how="cross")
    per_store_forecasts = forecasts.merge(stores, how="cross")
    shared = build_features(sales, weather, forecasts, HORIZON, cfg)
    own = build_features(sales, per_store_weather, per_store_forecasts, HORIZON, cfg)
    pd.testing.assert_frame_equal(shared, own)


def test_store_weather_is_used_per_store(typed, cfg):
    """With a store column, each store gets its own weather (not the first store's)."""
    sales, weather, forecasts = tables(typed)
    stores = pd.DataFrame({"store": pd.array(["S0001", "S0002", "S0003"], dtype="string")})
    per_store = weather.merge(stores, how="cross")
    wet = per_store["store"] == "S0002"
    per_store.loc[wet, "rain_mm"] = per_store.loc[wet, "rain_mm"] + 100.0
    out = build_features(sales, per_store, forecasts, HORIZON, cfg)
    ref = build_features(sales, weather, forecasts, HORIZON, cfg)
    s2 = out["store"] == "S0002"
    np.testing.assert_allclose(out.loc[s2, "rain_origin"], ref.loc[s2, "rain_origin"] + 100.0)
    np.testing.assert_array_equal(out.loc[~s2, "rain_origin"], ref.loc[~s2, "rain_origin"])


def test_without_forecasts_the_observed_rain_of_the_target_day_stands_in(typed, cfg):
    sales, weather, _ = tables(typed)
    out = build_features(sales, weather, None, HORIZON, cfg)
    observed = out[["date"]].merge(weather[["date", "rain_mm"]], on="date", how="left")
    np.testing.assert_allclose(out["fc_rain_mm"], observed["rain_mm"], rtol=1e-6)
    expected_prob = np.where(observed["rain_mm"].isna(), np.nan, observed["rain_mm"] > 0)
    np.testing.assert_array_equal(out["fc_rain_prob"], expected_prob)
    beyond = out["date"] > weather["date"].max()
    assert beyond.any() and out.loc[beyond, "fc_rain_mm"].isna().all()
    assert out.loc[~beyond, "fc_rain_mm"].notna().all()


def test_a_store_that_starts_later_gets_rows_after_a_week(typed, cfg):
    sales, weather, forecasts = tables(typed)
    first = sales["date"].min()
    opening = first + pd.Timedelta(days=40)
    late = sales[(sales["store"] != "S0002") | (sales["date"] >= opening)]
    out = build_features(late, weather, forecasts, HORIZON, cfg)
    full = build_features(sales, weather, forecasts, HORIZON, cfg)

    store = out[out["store"] == "S0002"]
    assert store["origin"].min() == opening + pd.Timedelta(days=6)
    assert store["sales_lag_7"].notna().all()  # a full week of its own history
    assert store["same_weekday_last"].notna().all()
    assert store[store["origin"] == store["origin"].min()]["sales_lag_14"].isna().all()
    # The other stores do not notice.
    others = out[out["store"] != "S0002"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, full[full["store"] != "S0002"].reset_index(drop=True))
    assert out[out["store"] != "S0002"]["origin"].min() == first + pd.Timedelta(days=6)


def test_origins_restrict_the_rows(typed, cfg):
    sales, weather, forecasts = tables(typed)
    full = build_features(sales, weather, forecasts, HORIZON, cfg)
    origins = pd.DatetimeIndex(["2012-03-05", "2012-06-17"])
    some = build_features(sales, weather, forecasts, HORIZON, cfg, origins=origins)
    assert set(some["origin"]) == set(origins)
    assert len(some) == 2 * sales["store"].nunique() * HORIZON
    expected = full[full["origin"].isin(origins)].reset_index(drop=True)
    pd.testing.assert_frame_equal(some.reset_index(drop=True), expected)


def test_targets_after_the_data_are_prediction_rows(typed, cfg):
    sales, weather, forecasts = tables(typed)
    out = build_features(sales, weather, forecasts, HORIZON, cfg)
    last = sales["date"].max()
    beyond = out["date"] > last
    assert out.loc[beyond, "units"].isna().all()
    assert out.loc[~beyond, "units"].notna().all()
    assert not out.loc[beyond, "censored"].any()
    final = out[out["origin"] == last]
    assert sorted(final["horizon"]) == sorted(list(range(1, HORIZON + 1)) * 3)
    assert final["date"].max() == last + pd.Timedelta(days=HORIZON)
    # Their features are all there: the forecasts issued on the last day reach that far.
    assert final["fc_rain_mm"].notna().all()
    assert final["sales_lag_1"].notna().all()
