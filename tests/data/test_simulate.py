"""The simulated retailer: weather, forecasts as issued, demand, stock-outs, determinism."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, deep_merge, make_params

from umbrella.core.files import write_csv
from umbrella.core.paths import ARRIVALS, FORECASTS, SALES, STOCK, TRUTH, WEATHER
from umbrella.data.simulator import demand as dm
from umbrella.data.simulator import stockroom
from umbrella.data.simulator.forecasts import RAIN_ERRORS, amount_score, issue_forecasts
from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.data.simulator.weather import WEATHER_COLUMNS, WeatherGenerator, seattle_weather

SEED = 42


def simulate(overrides: dict | None = None, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Tables of the tiny retailer (3 stores, 9 months) with `overrides` of the simulate block."""
    params = make_params(deep_merge(TINY, {"simulate": overrides or {}}))
    return simulate_retailer(params.simulate, params.base.horizon, seed)


@pytest.fixture(scope="module")
def climate() -> WeatherGenerator:
    return WeatherGenerator.fit(seattle_weather())


def sales_with_weather(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Sales joined with truth and the observed weather of each store's day."""
    weather = tables[WEATHER]
    keys = ["date", "store"] if "store" in weather else ["date"]
    return tables[SALES].merge(tables[TRUTH], on=["date", "store"]).merge(weather, on=keys)


def test_tables_and_schema() -> None:
    tables = simulate()
    assert set(tables) == {SALES, WEATHER, FORECASTS, TRUTH, STOCK, ARRIVALS}
    sales = tables[SALES]
    assert list(sales.columns) == ["date", "store", "units", "price", "promo", "in_stock"]
    assert len(sales) == 3 * 274 and not sales.duplicated(["date", "store"]).any()
    assert list(tables[WEATHER].columns) == ["date", *WEATHER_COLUMNS]
    assert len(tables[WEATHER]) == 274
    forecasts = tables[FORECASTS]
    assert list(forecasts.columns) == ["issued", "date", "rain_mm", "rain_prob", "temp_max_c"]
    lead = (forecasts["date"] - forecasts["issued"]).dt.days
    assert sorted(lead.unique()) == list(range(1, 8))
    assert forecasts["issued"].min() == sales["date"].min()
    assert forecasts["issued"].max() == sales["date"].max()
    assert forecasts["rain_prob"].between(0, 1).all() and (forecasts["rain_mm"] >= 0).all()
    for table in tables.values():
        assert not table.isna().any().any()


def test_seattle_region_is_the_real_record() -> None:
    weather = simulate()[WEATHER]
    record = seattle_weather().set_index("date").loc[weather["date"], WEATHER_COLUMNS]
    np.testing.assert_allclose(weather[WEATHER_COLUMNS].to_numpy(), record.to_numpy().round(1))


def test_rainy_days_sell_more() -> None:
    day = sales_with_weather(simulate({"stockouts": False}))
    wet, dry = day[day["rain_mm"] >= 5], day[day["rain_mm"] == 0]
    assert len(wet) > 50 and len(dry) > 200
    # 5 mm multiplies demand by 1 + 3 * (1 - exp(-5/6)) = 2.7, heavier rain by up to 4.
    assert wet["mean_demand"].mean() > 3 * dry["mean_demand"].mean()
    assert wet["units"].mean() > 3 * dry["units"].mean()


def test_rainy_days_sell_more_despite_stockouts() -> None:
    day = sales_with_weather(simulate())
    wet, dry = day[day["rain_mm"] >= 5], day[day["rain_mm"] == 0]
    assert wet["units"].mean() > 2.5 * dry["units"].mean()
    assert (wet["in_stock"] == 0).mean() > (dry["in_stock"] == 0).mean()


def test_forecasts_get_worse_with_lead() -> None:
    # Ten independent regions over three years: 10,950 forecasts per lead, so that the
    # step from one lead to the next (about 3 points of accuracy) is well above the noise.
    tables = simulate(
        {"stores": 10, "regions": 10, "weather": "generated", "end": "2014-12-31"}, seed=7
    )
    both = tables[FORECASTS].merge(tables[WEATHER], on=["date", "store"], suffixes=("", "_obs"))
    lead = (both["date"] - both["issued"]).dt.days
    hit = (both["rain_mm"] > 0) == (both["rain_mm_obs"] > 0)
    accuracy = hit.groupby(lead).mean()
    error = (both["rain_mm"] - both["rain_mm_obs"]).abs().groupby(lead).mean()
    temp_error = (both["temp_max_c"] - both["temp_max_c_obs"]).abs().groupby(lead).mean()
    assert list(accuracy.index) == list(range(1, 8))
    assert (np.diff(accuracy) < 0).all(), accuracy
    assert (np.diff(error) > 0).all(), error
    assert (np.diff(temp_error) > 0).all(), temp_error
    assert accuracy[1] > 0.9 and accuracy[7] < 0.85


def test_rain_probability_is_calibrated(climate: WeatherGenerator) -> None:
    dates = pd.date_range("2012-01-01", "2015-12-31")
    rng = np.random.default_rng(3)
    weather = climate.sample(dates, 5, rng)
    days = len(dates) - 7
    forecasts = issue_forecasts(weather, dates, days, 7, climate, rng)
    target = np.arange(days)[:, None] + np.arange(1, 8)[None, :]
    frame = pd.DataFrame(
        {
            "lead": np.broadcast_to(np.arange(1, 8), forecasts.shape[:3]).reshape(-1),
            "said_wet": forecasts[..., 0].reshape(-1) > 0,
            "prob": forecasts[..., 1].reshape(-1),
            "wet": (weather[:, target, 0] > 0).reshape(-1),
        }
    )
    share = frame.groupby(["lead", "said_wet"])[["prob", "wet"]].mean()
    # Each group holds 1,500..5,500 forecasts (standard error <= 0.013 of a share).
    np.testing.assert_allclose(share["wet"], share["prob"], atol=0.04)


def csv_bytes(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, bytes]:
    for name, table in tables.items():
        write_csv(table, folder / f"{name}.csv")
    return {name: (folder / f"{name}.csv").read_bytes() for name in tables}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    overrides = {"regions": 2, "weather": "generated", "drift": {"start": "2012-06-01"}}
    first = csv_bytes(simulate(overrides), tmp_path / "a")
    second = csv_bytes(simulate(overrides), tmp_path / "b")
    assert first == second


@pytest.mark.parametrize("weather", ["seattle", "generated"])
def test_other_seed_other_data(tmp_path: Path, weather: str) -> None:
    first = csv_bytes(simulate({"weather": weather}, seed=1), tmp_path / "a")
    second = csv_bytes(simulate({"weather": weather}, seed=2), tmp_path / "b")
    for name in (SALES, FORECASTS, TRUTH):
        assert first[name] != second[name], name
    # The Seattle record is real weather: no seed changes it.
    assert (first[WEATHER] == second[WEATHER]) == (weather == "seattle")


def test_stockouts_cap_sales() -> None:
    tables = simulate()
    day = tables[SALES].merge(tables[TRUTH], on=["date", "store"])
    assert (day["units"] <= day["demand"]).all()
    censored = day["demand"] > day["units"]
    assert censored.sum() > 10  # the tiny retailer does sell out
    assert (day.loc[censored, "in_stock"] == 0).all()
    # A day in stock sold exactly its demand.
    in_stock = day["in_stock"] == 1
    assert (day.loc[in_stock, "units"] == day.loc[in_stock, "demand"]).all()
    assert set(day["in_stock"].unique()) == {0, 1}


def test_without_stockouts_sales_are_demand() -> None:
    tables = simulate({"stockouts": False})
    assert "in_stock" not in tables[SALES]
    day = tables[SALES].merge(tables[TRUTH], on=["date", "store"])
    assert (day["units"] == day["demand"]).all()


def test_the_stockroom_by_hand() -> None:
    """A store of base level 1: the rule keeps 4 days of recent sales (the base level
    standing in for the days it has not seen), orders at each close, the order on the
    shelf 2 mornings later; a sold-out day's sales stop at the stock."""
    room = stockroom.replenish(np.array([[0, 5, 1, 0, 3]]), np.array([[1.0]]))
    # day 1 sells out (4 of 5) and orders 5 (4 x 30/28 rounded up), on the shelf on day 3;
    # day 2's demand meets an empty shelf; day 4 sells 3 of 5 and orders 3.
    np.testing.assert_array_equal(room.sales, [[0, 4, 0, 0, 3]])
    np.testing.assert_array_equal(room.on_hand, [[4, 0, 0, 5, 2]])
    np.testing.assert_array_equal(room.in_stock, [[1, 0, 0, 1, 1]])
    np.testing.assert_array_equal(room.on_order, [[0, 3]])  # arriving after the last day
    arrived = np.array([0, 0, 0, 5, 0])
    opening = np.concatenate([[4], room.on_hand[0, :-1]]) + arrived
    np.testing.assert_array_equal(opening - room.sales[0], room.on_hand[0])


def test_the_stock_tables_add_up() -> None:
    """Every simulated store's stock: yesterday's close + what arrived - today's sales is
    today's close, never negative; its arrivals after the last day come with it."""
    tables = simulate()
    stock = tables[STOCK].merge(tables[SALES], on=["date", "store"])
    assert (stock["on_hand"] >= 0).all()
    arrived = stock.groupby("store")["on_hand"].shift() - stock["units"]
    delivered = (stock["on_hand"] - arrived).dropna()
    assert (delivered >= 0).all() and (delivered > 0).any()
    # A day that ends with an empty shelf is a sold-out day, and only that.
    assert ((stock["on_hand"] == 0) == (stock["in_stock"] == 0)).all()
    last = tables[SALES]["date"].max()
    coming = tables[ARRIVALS]
    assert sorted(coming["date"].unique()) == list(pd.date_range(last, periods=3)[1:])
    assert set(coming["store"]) == set(tables[SALES]["store"])


def test_regions_have_their_own_weather() -> None:
    tables = simulate({"stores": 4, "regions": 2})
    weather = tables[WEATHER]
    assert list(weather.columns) == ["date", "store", *WEATHER_COLUMNS]
    assert len(weather) == 4 * 274
    rain = weather.pivot(index="date", columns="store", values="rain_mm")
    # Stores are assigned to regions in turn: S0001 and S0003 share region 0.
    pd.testing.assert_series_equal(rain["S0001"], rain["S0003"], check_names=False)
    pd.testing.assert_series_equal(rain["S0002"], rain["S0004"], check_names=False)
    assert (rain["S0001"] != rain["S0002"]).mean() > 0.3
    forecasts = tables[FORECASTS]
    assert "store" in forecasts and set(forecasts["store"]) == set(rain.columns)


def test_generated_weather_outside_the_record() -> None:
    tables = simulate({"weather": "generated", "start": "2020-01-01", "end": "2020-06-30"})
    sales, weather = tables[SALES], tables[WEATHER]
    assert sales["date"].min() == pd.Timestamp("2020-01-01")
    assert sales["date"].max() == pd.Timestamp("2020-06-30")
    assert weather["date"].tolist() == sorted(sales["date"].unique())
    for table in tables.values():
        assert not table.isna().any().any()
    assert 0.2 < (weather["rain_mm"] > 0).mean() < 0.8
    assert weather["temp_max_c"].between(-20, 45).all()
    assert (weather["temp_min_c"] <= weather["temp_max_c"]).all()


def test_drift_level_halves_demand() -> None:
    start = pd.Timestamp("2012-06-01")
    base = sales_with_weather(simulate())
    drifted = sales_with_weather(simulate({"drift": {"start": "2012-06-01", "level": 0.5}}))
    before, after = base["date"] < start, base["date"] >= start
    same = ["mean_demand", "price", "promo", "rain_mm"]
    pd.testing.assert_frame_equal(base.loc[before, same], drifted.loc[before, same])
    ratio = drifted.loc[after, "mean_demand"] / base.loc[after, "mean_demand"]
    np.testing.assert_allclose(ratio, 0.5, atol=1e-3)  # mean_demand is rounded to 4 decimals
    units = drifted.loc[after, "units"].mean() / base.loc[after, "units"].mean()
    assert 0.4 < units < 0.6  # sampled units: ~370 store-days after the start, so only roughly


def test_drift_rain_effect_changes_only_wet_days() -> None:
    base = sales_with_weather(simulate())
    drifted = sales_with_weather(simulate({"drift": {"start": "2012-06-01", "rain_effect": 2.0}}))
    after = base["date"] >= pd.Timestamp("2012-06-01")
    ratio = drifted["mean_demand"] / base["mean_demand"]
    dry, wet = after & (base["rain_mm"] == 0), after & (base["rain_mm"] >= 5)
    np.testing.assert_allclose(ratio[dry], 1.0, atol=1e-3)
    assert (ratio[wet] > 1.4).all()
    np.testing.assert_allclose(ratio[~after], 1.0)


def test_generator_reproduces_monthly_wet_days(climate: WeatherGenerator) -> None:
    record = seattle_weather()
    observed = (record["rain_mm"] > 0).groupby(record["date"].dt.month).mean()
    dates = pd.date_range("2012-01-01", "2015-12-31")
    sample = climate.sample(dates, 50, np.random.default_rng(SEED))
    wet = pd.DataFrame(sample[..., 0].T > 0, index=dates)
    simulated = wet.groupby(wet.index.month).mean().mean(axis=1)
    # Tolerance 0.05: the record has only ~120 days per calendar month, so its own monthly
    # frequency is uncertain by sqrt(0.25 / 120) = 0.046; matching it more closely would be
    # fitting noise. The 50 x 4 years sample is ~6,000 days a month (standard error ~0.01
    # with the wet-spell persistence), so 0.05 is a 5-sigma margin on the generator's side.
    np.testing.assert_allclose(simulated.to_numpy(), observed.to_numpy(), atol=0.05)
    # The chain's stationary probability equals the record's frequency up to month edges.
    np.testing.assert_allclose(climate.p_wet, observed.to_numpy(), atol=0.03)
    # The climate keeps its shape: wet winters, a dry July.
    assert simulated.idxmin() == 7 and simulated[[11, 12, 1]].min() > 2 * simulated[7]


def test_generator_reproduces_the_temperature_season(climate: WeatherGenerator) -> None:
    record = seattle_weather()
    observed = record.groupby(record["date"].dt.month)["temp_max_c"].mean()
    dates = pd.date_range("2012-01-01", "2015-12-31")
    sample = climate.sample(dates, 20, np.random.default_rng(SEED))
    temp = pd.DataFrame(sample[..., 1].T, index=dates)
    simulated = temp.groupby(temp.index.month).mean().mean(axis=1)
    # Three harmonics fit a season of ~14 degC amplitude to within ~1.5 degC a month.
    np.testing.assert_allclose(simulated.to_numpy(), observed.to_numpy(), atol=2.0)
    assert (sample[..., 2] <= sample[..., 1]).all()
    assert (sample[..., 0] >= 0).all() and (sample[..., 3] >= 0).all()


def test_rain_multiplier_saturates() -> None:
    rain = np.array([0.0, 1.0, 6.0, 30.0, 300.0])
    effect = dm.rain_multiplier(rain, dm.RAIN_EFFECT)
    assert effect[0] == 1.0
    assert (np.diff(effect) > 0).all()
    assert effect[-1] == pytest.approx(1 + dm.RAIN_EFFECT)


def test_generated_weather_and_forecasts_stay_within_the_contract(
    climate: WeatherGenerator,
) -> None:
    """Even a climate of downpours never makes a value that validation would reject, and
    no forecast goes beyond the wettest day of the record the climate was fitted on."""
    from umbrella.data.contract.limits import RAIN_MAX_MM

    stormy = replace(climate, rain_scale=climate.rain_scale * 100)  # means of ~500..1000 mm
    dates = pd.date_range("2013-01-01", periods=400, freq="D")
    weather = stormy.sample(dates, 5, np.random.default_rng(0))
    assert (weather[..., 0] > 0.9 * RAIN_MAX_MM).any()  # the storms are really there
    assert weather[..., 0].max() <= RAIN_MAX_MM
    forecasts = issue_forecasts(weather, dates, 390, 7, stormy, np.random.default_rng(1))
    assert climate.rain_record == seattle_weather()["rain_mm"].max() == 55.9
    assert forecasts[..., 0].max() == pytest.approx(climate.rain_record)


def test_rain_errors_are_the_benchmarks_fit() -> None:
    """forecasts.RAIN_ERRORS holds the constants benchmarks/rain_forecast_errors.py fitted."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "rain_forecast_errors.json"
    assert asdict(RAIN_ERRORS) == json.loads(path.read_text())["fitted"]


@pytest.fixture(scope="module")
def issued(climate: WeatherGenerator) -> pd.DataFrame:
    """Forecasts of generated weather (4 regions x 4 years), one row each: lead, month of
    the target day, said wet, was wet."""
    dates = pd.date_range("2012-01-01", "2015-12-31")
    weather = climate.sample(dates, 4, np.random.default_rng(5))
    days = len(dates) - 7
    forecasts = issue_forecasts(weather, dates, days, 7, climate, np.random.default_rng(6))
    target = np.arange(days)[:, None] + np.arange(1, 8)[None, :]
    frame = pd.DataFrame(
        {
            "lead": np.broadcast_to(np.arange(1, 8), forecasts.shape[:3]).reshape(-1),
            "month": np.broadcast_to(dates.month.to_numpy()[target], forecasts.shape[:3]).reshape(
                -1
            ),
            "said_wet": forecasts[..., 0].reshape(-1) > 0,
            "wet": (weather[:, target, 0] > 0).reshape(-1),
        }
    )
    return frame


def test_forecast_skill_by_lead_is_the_fitted_skill(issued: pd.DataFrame) -> None:
    """Within a month the Peirce skill (hit rate - false alarm rate) of the wet/dry state is
    skill(lead): a climatological forecast says wet as often whatever the truth."""
    hit = issued[issued["wet"]].groupby(["lead", "month"])["said_wet"].mean()
    false_alarm = issued[~issued["wet"]].groupby(["lead", "month"])["said_wet"].mean()
    peirce = (hit - false_alarm).groupby("lead").mean()
    # ~500 forecasts a lead and month, averaged over 12 months: standard error ~0.015.
    np.testing.assert_allclose(peirce, RAIN_ERRORS.skill(np.arange(1, 8)), atol=0.05)
    assert peirce[7] < peirce[1] - 0.4


def test_informed_amounts_correlate_as_fitted(climate: WeatherGenerator) -> None:
    """A forecast that sees the wet/dry state draws its amount in normal scores of the
    month's climate: correlation amount_corr(lead) with the truth's, climate-like amounts."""
    dates = pd.date_range("2012-01-01", "2015-12-31")
    weather = climate.sample(dates, 3, np.random.default_rng(8))
    days = len(dates) - 7
    informed = replace(RAIN_ERRORS, skill_at_1=1.0, skill_drop=0.0)
    rain = issue_forecasts(weather, dates, days, 7, climate, np.random.default_rng(9), informed)
    target = np.arange(days)[:, None] + np.arange(1, 8)[None, :]
    month = dates.month.to_numpy()[target] - 1
    shape, scale = climate.rain_shape[month], climate.rain_scale[month]
    true = weather[:, target, 0]
    wet = true > 0
    true_score, said_score = (amount_score(x, shape, scale) for x in (true, rain[..., 0]))
    corr = [
        np.corrcoef(true_score[..., h][wet[..., h]], said_score[..., h][wet[..., h]])[0, 1]
        for h in range(7)
    ]
    # ~2,000 wet days a lead; forecasts below 0.1 mm are published as 0.1 (a tie in scores).
    np.testing.assert_allclose(corr, RAIN_ERRORS.amount_corr(np.arange(1, 8)), atol=0.06)
    # Whatever the lead, the amounts are the climate's: a week ahead no wilder than a day.
    for q in (50, 90):
        by_lead = [np.percentile(rain[..., h, 0][wet[..., h]], q) for h in range(7)]
        np.testing.assert_allclose(by_lead, np.percentile(true[wet], q), rtol=0.15)
