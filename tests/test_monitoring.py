"""The monitor: drift scores, the same-season reference, and the status on drifted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params

from umbrella import split
from umbrella.features import build_features, holiday_flags
from umbrella.health import alarm_table, exit_status, headline, monitor, monitor_rows
from umbrella.interim import Interim
from umbrella.models import LinearModel, make_model
from umbrella.monitoring import (
    demand_response_shift,
    demand_table,
    expected_sales,
    feature_drift,
    js_distance,
    psi,
    rain_response_shift,
    same_season,
    status,
)
from umbrella.simulator.simulate import simulate_retailer
from umbrella.validation import finalise


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
    """Monitor the model of params.yaml (the gbm, as production does) on 6 stores over two
    years, drift (if any) in the last weeks."""
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
    model = make_model(params.train, params.business.service_level, params.base.seed)
    return monitor(params, features, data, model.fit(train, train["units"]))


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.slow
def test_monitor_is_quiet_without_drift_and_alarms_with_it(seed: int) -> None:
    quiet = _monitor_on(None, seed)
    assert quiet["status"] == "ok", quiet["residual"]
    assert exit_status(quiet["status"], "drift") == exit_status(quiet["status"], "degraded") == 0
    halved = _monitor_on({"start": "2014-12-10", "level": 0.5}, seed)
    # demand fell: the model needs retraining, which is what --fail-on degraded is for
    assert halved["status"] == "degraded"
    assert exit_status(halved["status"], "degraded") == 1
    # fewer umbrellas than the model expects: it over-forecasts, its bias moves up, and
    # sales fall below what the training years' demand response expects for that weather
    assert halved["bias_shift"]["score"] > 0.15 > abs(quiet["bias_shift"]["score"])
    assert halved["demand_shift"]["score"] < -0.3 < -0.12 < quiet["demand_shift"]["score"]
    # A stronger rain response: more umbrellas on wet days than the model expects. Run
    # without stock-outs, which cap exactly those days' sales and so hide much of it (the
    # rates of docs/production.md "How often it alarms" measure that case).
    rainier = _monitor_on({"start": "2014-12-10", "rain_effect": 3.0}, seed, stockouts=False)
    assert rainier["status"] == "degraded"
    assert rainier["demand_shift"]["score"] > 0.3 and rainier["bias_shift"]["score"] < -0.15


@pytest.mark.slow
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


def _later(drift: dict | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """10 simulated stores over two years with stock-outs; drift (if any) in the last 20
    days: the demand table, its days after the training years with their expected sales,
    and the start of the 28-day window."""
    simulate = {"stores": 10, "start": "2013-01-01", "end": "2014-12-31", "drift": drift}
    params = make_params(
        {"base": {"seed": seed}, "simulate": simulate, "split": {"test_days": 180}}
    )
    assert params.simulate.stockouts
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    sales, weather = finalise(tables["sales"], "sales"), finalise(tables["weather"], "weather")
    first, last = sales["date"].min(), sales["date"].max()
    start = split.test_start(first, last, params.split)
    table = demand_table(sales, weather, holiday_flags(sales["date"], "US"))
    return table, expected_sales(table, start), last - pd.Timedelta(days=27)


@pytest.mark.parametrize("seed", [1, 3])
@pytest.mark.slow
def test_wet_day_demand_shift_sees_a_doubled_rain_effect_behind_stock_outs(seed: int) -> None:
    """Twice the rain effect in the last 20 days: rainy days sell out, so their sales (and
    the sales-based demand shift) hardly move, but more of them sell out than the expected
    demand allows, which the censored fit reads as higher wet-day demand."""
    _, quiet_later, window = _later(None, seed)
    quiet = rain_response_shift(quiet_later, window, 0.2)
    assert abs(quiet["score"]) < 0.2 and not quiet["drift"]
    start = quiet_later["date"].min()
    table, rainy_later, window = _later({"start": "2014-12-12", "rain_effect": 2.0}, seed)
    rainier = rain_response_shift(rainy_later, window, 0.2)
    assert rainier["score"] > 0.2 and rainier["drift"]
    assert rainier["score"] > quiet["score"] + 0.15
    shares = rainier["sold_out_share_of_wet_days"]
    assert shares["window"] > shares["before"]  # the stock-outs that hide it from the sales
    assert abs(demand_response_shift(table, start, window, 0.12)["score"]) < 0.12


@pytest.mark.slow
def test_wet_day_demand_shift_follows_a_level_drop_on_dry_days_too() -> None:
    """A lower level moves dry and wet days alike: the dry shift sees it as well, and the
    change of the rain response alone (wet less dry) stays small."""
    _, later, window = _later({"start": "2014-12-12", "level": 0.6}, 3)
    result = rain_response_shift(later, window, 0.2)
    assert result["score"] < -0.15 and result["dry_shift"] < -0.15
    assert abs(result["rain_vs_dry"]) < abs(result["dry_shift"])


def test_fail_on_degraded_exits_1_only_when_retraining_is_due() -> None:
    assert exit_status("degraded", "degraded") == exit_status("degraded", "drift") == 1
    assert exit_status("drift", "degraded") == 0 and exit_status("drift", "drift") == 1
    assert exit_status("ok", "drift") == exit_status("ok", "degraded") == 0
    assert exit_status("degraded", None) == 0


@pytest.mark.slow
def test_headline_and_drift_table_on_one_scale() -> None:
    result = _monitor_on(None, 3)
    top = headline(result)
    assert list(top) == ["monitor"]
    assert top["monitor"]["status"] == result["status"]
    assert top["monitor"]["wet_day_demand_shift_log"] == result["wet_demand_shift"]["score"]
    table = alarm_table(result)
    ratio = (table["score"] / table["threshold"]).to_numpy()
    assert table["score_over_threshold"].to_numpy() == pytest.approx(ratio, nan_ok=True)
    assert table.loc[table["sets_status"], "check"].str.contains("wet-day demand shift").any()


def test_the_monitor_judges_the_orders_as_predict_makes_them() -> None:
    """Each day's own costs and ratio (costs.py): a promotion day's order is smaller and
    its lost margin is the promotion price's."""
    params = make_params({"simulate": {"stores": 3, "start": "2013-01-01", "end": "2013-12-31"}})
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    data = Interim(
        *(finalise(tables[n], n) for n in ("sales", "weather", "weather_forecasts")), truth=None
    )
    features = build_features(
        data.sales, data.weather, data.forecasts, params.base.horizon, params.features
    )
    start = split.test_start(data.sales["date"].min(), data.sales["date"].max(), params.split)
    train = split.training_rows(features, start, "keep")
    model = LinearModel(quantile=params.business.service_level).fit(train, train["units"])
    daily = monitor_rows(features, data, model, model, start, params)
    single = params.model_copy(
        update={"business": params.business.model_copy(update={"daily_costs": False})}
    )
    fixed = monitor_rows(features, data, model, model, start, single)
    scored = features[(features["units"].notna()) & (features["date"] >= start)]
    promo = scored["promo"].to_numpy() == 1
    assert promo.any() and (~promo).any()
    np.testing.assert_allclose(daily.scored["underage"].to_numpy()[promo], 15.99 - 8.0)
    np.testing.assert_allclose(fixed.scored["underage"].to_numpy(), 20.0 - 8.0)
    quantile = "model_quantile"
    assert (
        daily.scored[quantile].to_numpy()[promo] < fixed.scored[quantile].to_numpy()[promo]
    ).all()
