"""The three forecasters: scikit-learn contract, sane quantiles, and they learn rain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params, raw_params
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from umbrella.forecast.models import (
    SMALLEST_LEAF,
    GradientBoosting,
    LinearModel,
    SeasonalNaive,
    leaf_size,
    make_model,
)
from umbrella.money.metrics import pinball_loss

HORIZON = 3
# Small and shallow: on a few thousand rows, deeper trees overfit the quantile (in-sample
# coverage right, held-out coverage off by several points).
SMALL_GBM = {
    "max_iter": 100,
    "learning_rate": 0.1,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 200,
    "random_state": 0,
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """OpenMP threads of HistGradientBoosting slow tiny fits down badly on a busy machine."""
    with threadpool_limits(limits=1):
        yield


def demand_mean(level: np.ndarray, rain_mm: np.ndarray) -> np.ndarray:
    """A strong rain effect: 20 mm of rain multiplies a store's sales by ~4.6."""
    return level * np.sqrt(1.0 + rain_mm)


def rain(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.where(rng.random(n) < 0.5, 0.0, rng.exponential(8.0, n))


def feature_rows(n: int, seed: int) -> pd.DataFrame:
    """Feature rows shaped like build_features' output, with a known demand.

    same_weekday_last is last week's sales, which saw last week's (independent) rain: the
    seasonal naive cannot know about today's rain; the forecast (fc_rain_mm) is exact.
    """
    rng = np.random.default_rng(seed)
    stores = np.array([f"S{i}" for i in range(5)])
    levels = np.array([20.0, 30.0, 40.0, 50.0, 60.0])
    store = rng.integers(0, len(stores), n)
    origin = pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    horizon = rng.integers(1, HORIZON + 1, n)
    date = origin + pd.to_timedelta(horizon, unit="D")
    today, last_week = rain(rng, n), rain(rng, n)
    level = levels[store]
    history = {  # more of build_features' columns: plausible, but not informative here
        name: (level * 1.5).astype(np.float32)
        for name in ("sales_lag_1", "sales_lag_7", "sales_mean_7", "same_weekday_mean")
    }
    angle = 2 * np.pi * date.day_of_year.to_numpy() / 365.25
    return pd.DataFrame(
        {
            "store": pd.array(stores[store], dtype="string"),
            "origin": origin,
            "horizon": horizon.astype(np.int16),
            "date": date,
            "level": level.astype(np.float32),
            "same_weekday_last": rng.poisson(demand_mean(level, last_week)).astype(np.float32),
            **history,
            "rain_origin": rain(rng, n).astype(np.float32),
            "season_cos": np.cos(angle).astype(np.float32),
            "season_sin": np.sin(angle).astype(np.float32),
            "price": np.full(n, 19.99, dtype=np.float32),
            "promo": (rng.random(n) < 0.1).astype(np.float32),
            "weekday": date.day_of_week.to_numpy().astype(np.float32),
            "month": date.month.to_numpy().astype(np.float32),
            "fc_rain_mm": today.astype(np.float32),
            "fc_rain_prob": (today > 0).astype(np.float32),
            "units": rng.poisson(demand_mean(level, today)).astype(np.float32),
            "censored": False,
        }
    )


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return feature_rows(8000, seed=1)


@pytest.fixture(scope="module")
def test() -> pd.DataFrame:
    return feature_rows(3000, seed=2)


def y(rows: pd.DataFrame) -> np.ndarray:
    return rows["units"].to_numpy()


MODELS = {
    "seasonal_naive": lambda q: SeasonalNaive(quantile=q),
    "linear": lambda q: LinearModel(quantile=q),
    "gbm": lambda q: GradientBoosting(quantile=q, **SMALL_GBM),
}


@pytest.fixture(scope="module")
def fitted(train) -> dict[tuple[str, float], object]:
    """Every model fitted once per quantile level the tests need."""
    return {
        (name, q): build(q).fit(train, y(train))
        for name, build in MODELS.items()
        for q in (0.1, 0.8, 0.9)
    }


@pytest.mark.parametrize("name", MODELS)
def test_fit_returns_self_and_predicts_non_negative(name, train, test):
    model = MODELS[name](0.8)
    assert model.fit(train, y(train)) is model
    point, quantile = model.predict(test), model.predict_quantile(test)
    assert point.shape == quantile.shape == (len(test),)
    assert np.isfinite(point).all() and np.isfinite(quantile).all()
    assert (point >= 0).all() and (quantile >= 0).all()


def test_predictions_are_non_negative_even_with_negative_residuals(train):
    """A low quantile of a model with big residuals would go below zero: clipped."""
    rows = train.copy()
    rows["same_weekday_last"] = 1.0
    rows["level"] = 1.0
    model = SeasonalNaive(quantile=0.01).fit(rows, np.zeros(len(rows)))
    assert model.residual_quantile_.max() < 0
    assert (model.predict_quantile(rows) == 0).all()


@pytest.mark.parametrize("name", MODELS)
def test_higher_quantile_is_higher(name, fitted, test):
    low = fitted[(name, 0.1)].predict_quantile(test)
    high = fitted[(name, 0.9)].predict_quantile(test)
    assert high.mean() > low.mean() + 1.0
    if name != "gbm":  # point + per-horizon offset: ordered row by row, not just on average
        assert (high >= low).all()


@pytest.mark.parametrize("name", MODELS)
def test_clone_round_trips_params(name, fitted):
    model = fitted[(name, 0.9)]
    copy = clone(model)
    assert type(copy) is type(model)
    assert copy.get_params() == model.get_params()
    assert copy.get_params()["quantile"] == 0.9
    with pytest.raises(NotFittedError):
        copy.predict_quantile(pd.DataFrame())  # the clone has no learned state


@pytest.mark.parametrize("name", MODELS)
def test_predict_before_fit_raises_not_fitted(name, test):
    model = MODELS[name](0.5)
    with pytest.raises(NotFittedError):
        model.predict(test)
    with pytest.raises(NotFittedError):
        model.predict_quantile(test)


def test_seasonal_naive_point_is_same_weekday_last(fitted, test):
    model = fitted[("seasonal_naive", 0.8)]
    np.testing.assert_array_equal(model.predict(test), test["same_weekday_last"])


def test_seasonal_naive_falls_back_to_the_level_without_history(fitted, test):
    rows = test.head(10).copy()
    rows["same_weekday_last"] = np.nan
    np.testing.assert_array_equal(fitted[("seasonal_naive", 0.8)].predict(rows), rows["level"])


@pytest.mark.parametrize("name", ["linear", "gbm"])
def test_rain_models_beat_seasonal_naive(name, fitted, test):
    tau = 0.8
    baseline = pinball_loss(y(test), fitted[("seasonal_naive", tau)].predict_quantile(test), tau)
    model = pinball_loss(y(test), fitted[(name, tau)].predict_quantile(test), tau)
    # A model that knew each store's level but ignored rain would score ~0.8 x baseline.
    assert model < 0.3 * baseline
    # The point forecast too (mean absolute error).
    naive_mae = np.mean(np.abs(fitted[("seasonal_naive", tau)].predict(test) - y(test)))
    assert np.mean(np.abs(fitted[(name, tau)].predict(test) - y(test))) < 0.3 * naive_mae


@pytest.mark.parametrize("name", ["linear", "gbm"])
def test_rain_models_learn_the_rain_effect(name, fitted, test):
    """Mean demand is level * sqrt(1 + rain): 20 mm multiplies sales by sqrt(21) = 4.58."""
    model = fitted[(name, 0.8)]
    truth = demand_mean(test["level"].to_numpy(), test["fc_rain_mm"].to_numpy())
    assert np.mean(np.abs(model.predict(test) - truth)) / np.mean(truth) < 0.1
    dry = test.assign(fc_rain_mm=np.float32(0), fc_rain_prob=np.float32(0))
    wet = test.assign(fc_rain_mm=np.float32(20), fc_rain_prob=np.float32(1))
    ratio = model.predict(wet).mean() / model.predict(dry).mean()
    assert 4.0 < ratio < 5.2


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("tau", [0.1, 0.8])
def test_quantile_coverage_on_held_out_rows(name, tau, fitted, test):
    """The tau quantile covers about a share tau of new demand from the same distribution.

    Demand is a whole number: P(y < q) <= tau <= P(y <= q), each within the tolerance.
    """
    q = fitted[(name, tau)].predict_quantile(test)
    tolerance = 0.04
    assert np.mean(y(test) < q) <= tau + tolerance
    assert np.mean(y(test) <= q) >= tau - tolerance


def test_make_model_maps_names_to_estimators_with_params():
    params = make_params()
    tau, seed = params.business.service_level, 7

    def make(name: str):
        return make_model(params.train.model_copy(update={"model": name}), tau, seed)

    naive = make("seasonal_naive")
    assert type(naive) is SeasonalNaive
    assert naive.get_params() == {"quantile": tau}

    linear = make("linear")
    assert type(linear) is LinearModel
    assert linear.get_params() == {
        "quantile": tau,
        "alpha": params.train.linear.alpha,
        "calibration_window": None,  # train.calibration: none
        "calibration": "none",
    }

    gbm = make("gbm")
    assert type(gbm) is GradientBoosting
    expected = params.train.gbm.model_dump() | {
        "quantile": tau,
        "random_state": seed,
        "calibration_window": None,
        "calibration": "none",
    }
    assert gbm.get_params() == expected
    raw = raw_params()["train"]["gbm"]  # as written in params.yaml
    assert (gbm.max_iter, gbm.min_samples_leaf) == (raw["max_iter"], raw["min_samples_leaf"])


@pytest.mark.parametrize(
    ("min_samples_leaf", "share", "rows", "expected"),
    [
        (500, 0.01, 200_000, 500),  # a long history: the setting itself
        (500, 0.01, 20_000, 200),  # a shorter one: the share of its rows
        (500, 0.01, 1_500, SMALLEST_LEAF),  # one store's months: never under the floor
        (10, 0.01, 1_500, 10),  # a setting under the floor stands
        (500, 1.0, 300, 300),  # fewer rows than the setting: a leaf can hold them all
    ],
)
def test_leaf_size_follows_the_history(min_samples_leaf, share, rows, expected):
    assert leaf_size(min_samples_leaf, share, rows) == expected


def test_a_short_history_grows_trees_of_several_leaves(train):
    """1,000 rows and leaves of at least 500: one split at most; with leaf_share 0.02 the
    trees get leaves of 20 rows and learn the rain."""
    rows = train.iloc[:1000]
    knobs = SMALL_GBM | {"min_samples_leaf": 500}
    fixed = GradientBoosting(quantile=0.5, **knobs).fit(rows, y(rows))
    following = GradientBoosting(quantile=0.5, leaf_share=0.02, **knobs).fit(rows, y(rows))
    assert fixed.mean_model_.min_samples_leaf == 500
    boosters = (following.mean_model_, following.quantile_model_)
    assert [booster.min_samples_leaf for booster in boosters] == [20, 20]

    def most_leaves(model: GradientBoosting) -> int:
        return max(tree[0].get_n_leaf_nodes() for tree in model.mean_model_._predictors)

    assert most_leaves(fixed) <= 2 < most_leaves(following)


def test_gbm_is_reproducible_with_a_seed(train, test):
    first = GradientBoosting(quantile=0.8, **SMALL_GBM).fit(train, y(train))
    second = GradientBoosting(quantile=0.8, **SMALL_GBM).fit(train, y(train))
    np.testing.assert_array_equal(first.predict(test), second.predict(test))
    np.testing.assert_array_equal(first.predict_quantile(test), second.predict_quantile(test))


@pytest.mark.slow
def test_linear_model_fits_a_long_horizon(tiny_tables):
    from umbrella.data.contract.rules import finalise
    from umbrella.forecast.features import build_features

    sales = finalise(tiny_tables["sales"], "sales")
    weather = finalise(tiny_tables["weather"], "weather")
    rows = build_features(sales, weather, None, 60, make_params().features)
    rows = rows[rows["units"].notna()]
    model = LinearModel(quantile=0.8).fit(rows, y(rows))
    assert (model.predict_quantile(rows) >= 0).all()
