"""oracle_info (oracle.py): the best order given what is known at the origin, checked by
hand, against the oracle when the weather is known, and between the oracle and a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_params
from scipy import stats

from umbrella.core.paths import FORECASTS, SALES, TRUTH, WEATHER
from umbrella.core.split import test_rows as rolling_rows
from umbrella.core.split import training_rows
from umbrella.data.contract.interim import Interim
from umbrella.data.simulator.forecasts import RAIN_ERRORS, issue_forecasts
from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.data.simulator.weather import WeatherGenerator, seattle_weather
from umbrella.evaluation import oracle
from umbrella.evaluation.backtest import forecast_table
from umbrella.evaluation.oracle import (
    RAIN_GRID,
    forecast_likelihood,
    forecast_matrix,
    mixture_quantile,
    mixture_variance,
    oracle_info,
    rain_posterior,
    wet_probability,
)
from umbrella.forecast.features import build_features
from umbrella.forecast.models import LinearModel, SeasonalNaive
from umbrella.money.costs import day_costs
from umbrella.money.metrics import negative_binomial_quantile, to_order

TAU = 0.632
GENERATED = {"weather": "generated"}


@pytest.fixture(scope="module")
def climate() -> WeatherGenerator:
    return WeatherGenerator.fit(seattle_weather())


def test_mixture_quantile_by_hand():
    # Half NB(mean 2), half NB(mean 20), size 8: the smallest Q whose mixture CDF >= tau,
    # found by summing the pmfs.
    means, weights = np.array([[2.0, 20.0]]), np.array([[0.5, 0.5]])
    cdf = 0.5 * stats.nbinom.cdf(np.arange(60), 8, 8 / 10) + 0.5 * stats.nbinom.cdf(
        np.arange(60), 8, 8 / 28
    )
    expected = int(np.argmax(cdf >= TAU))
    assert mixture_quantile(means, weights, np.array([8.0]), TAU)[0] == expected
    # One component: the negative binomial's own quantile (the oracle's order).
    one = mixture_quantile(np.array([[7.3, 99.0]]), np.array([[1.0, 0.0]]), np.array([8.0]), TAU)
    assert one[0] == negative_binomial_quantile(np.array([7.3]), np.array([8.0]), TAU)[0]


def test_mixture_variance_by_hand():
    """Half NB(mean 2), half NB(mean 20), size 8: the variance of the mixture, from its
    pmf summed by hand, is the components' mean variance plus the spread of their means."""
    means, weights = np.array([[2.0, 20.0]]), np.array([[0.5, 0.5]])
    q = np.arange(400)
    pmf = 0.5 * stats.nbinom.pmf(q, 8, 8 / 10) + 0.5 * stats.nbinom.pmf(q, 8, 8 / 28)
    expected = (pmf * q**2).sum() - (pmf * q).sum() ** 2
    assert mixture_variance(means, weights, np.array([8.0]))[0] == pytest.approx(expected)


def test_dry_forecast_likelihood_by_hand(climate):
    month, lead = np.array([0]), np.array([1])
    like = forecast_likelihood(np.array([0.0]), lead, month, climate)[0]
    s, p_wet = RAIN_ERRORS.skill(np.array([1.0]))[0], climate.p_wet[0]
    assert like[0] == pytest.approx(s + (1 - s) * (1 - p_wet))  # dry and a dry forecast
    np.testing.assert_allclose(like[1:], (1 - s) * (1 - p_wet))  # wet: only a missed event
    # A forecast not issued tells nothing.
    np.testing.assert_array_equal(forecast_likelihood(np.array([np.nan]), lead, month, climate), 1)


def test_forecast_likelihood_is_the_simulators_law(climate):
    """For one true rain, the likelihood of each forecast outcome (dry, an amount in a
    range, the cap) is how often the simulator issues it."""
    k = int(np.argmin(np.abs(RAIN_GRID - 40.0)))  # a heavy day, so that forecasts reach the cap
    weather = np.zeros((200_000, 4, 4))
    weather[..., 0] = RAIN_GRID[k]
    dates = pd.date_range("2014-01-01", periods=4)
    said = issue_forecasts(weather, dates, 1, 3, climate, np.random.default_rng(0))[:, 0, 2, 0]

    def likelihood(f: np.ndarray) -> np.ndarray:
        return forecast_likelihood(f, np.full(len(f), 3), np.zeros(len(f), int), climate)[:, k]

    cap = climate.rain_record
    assert (said == 0).mean() == pytest.approx(likelihood(np.array([0.0]))[0], abs=0.005)
    assert (said >= cap).mean() == pytest.approx(likelihood(np.array([cap]))[0], abs=0.005)
    assert (said >= cap).mean() > 0.02
    for low, high in ((1.0, 10.0), (10.0, 30.0), (30.0, 50.0)):
        f = np.linspace(low, high, 400)
        expected = np.trapezoid(likelihood(f), f)
        assert ((said >= low) & (said < high)).mean() == pytest.approx(expected, abs=0.005)


def test_wet_probability_steps_the_markov_chain(climate):
    origin = pd.Series(pd.to_datetime(["2014-01-10"] * 2))
    one_day = wet_probability(np.array([1.0, 0.0]), origin, np.array([1, 1]), climate)
    np.testing.assert_allclose(one_day, [climate.p_wet_after_wet[0], climate.p_wet_after_dry[0]])
    far = wet_probability(np.array([1.0, 0.0]), origin, np.array([7, 7]), climate)
    assert abs(far[0] - far[1]) < abs(one_day[0] - one_day[1])  # the origin's state fades


def test_forecasts_move_the_rain_posterior(climate):
    rows = pd.DataFrame(
        {
            "store": ["A", "A"],
            "origin": pd.to_datetime(["2014-06-01"] * 2),
            "horizon": [1, 1],
            "date": pd.to_datetime(["2014-06-02"] * 2),
        }
    )
    issued = pd.DataFrame(
        {
            "issued": pd.to_datetime(["2014-06-01"]),
            "date": pd.to_datetime(["2014-06-02"]),
            "rain_mm": [12.0],
        }
    )
    dry = issued.assign(rain_mm=0.0)
    one = rows.iloc[:1]
    wet_post = rain_posterior(
        one, forecast_matrix(one, issued, "rain_mm"), np.array([False]), climate
    )[0]
    dry_post = rain_posterior(
        one, forecast_matrix(one, dry, "rain_mm"), np.array([False]), climate
    )[0]
    assert wet_post[0] < 0.1 < 0.9 < dry_post[0]  # P(no rain)
    mean_rain = wet_post @ RAIN_GRID / (1 - wet_post[0])
    assert 6.0 < mean_rain < 24.0  # around the forecast 12 mm


@pytest.fixture(scope="module")
def generated():
    """4 stores over 2013 on generated weather: the weather generator is then the weather's
    true law, as oracle_info assumes (Seattle's record only resembles it)."""
    params = make_params(
        {"simulate": {"stores": 4, "start": "2013-01-01", "end": "2013-12-31"} | GENERATED}
    )
    tables = simulate_retailer(params.simulate, 7, seed=11)
    features = build_features(tables[SALES], tables[WEATHER], tables[FORECASTS], 7, params.features)
    start = pd.Timestamp("2013-09-01")
    rows = rolling_rows(features, start)
    rows = rows[rows["date"] >= start].reset_index(drop=True)
    demand = rows[["store", "date"]].merge(tables[TRUTH], on=["store", "date"], how="left")
    return tables, features, rows, demand, start


def test_without_forecasts_oracle_info_is_the_oracle(generated, climate):
    tables, _, rows, demand, _ = generated
    orders = oracle_info(rows, tables[TRUTH], tables[WEATHER], None, climate, None, TAU).order
    oracle = negative_binomial_quantile(demand["mean_demand"], demand["dispersion"], TAU)
    np.testing.assert_array_equal(orders, oracle)


def expected_cost(demand: pd.DataFrame, order: np.ndarray) -> np.ndarray:
    """Each row's expected newsvendor cost under its true demand distribution (no noise)."""
    y = np.arange(400)[None, :]
    size = demand["dispersion"].to_numpy()[:, None]
    pmf = stats.nbinom.pmf(y, size, size / (size + demand["mean_demand"].to_numpy()[:, None]))
    order = np.asarray(order, dtype=float)[:, None]
    return np.sum(pmf * (12.0 * np.maximum(y - order, 0) + 7.0 * np.maximum(order - y, 0)), axis=1)


@pytest.mark.slow
def test_oracle_info_costs_between_the_oracle_and_a_model(generated, climate):
    tables, features, rows, demand, start = generated
    info = oracle_info(
        rows, tables[TRUTH], tables[WEATHER], tables[FORECASTS], climate, None, TAU
    ).order
    train = training_rows(features, start, "keep")
    model = LinearModel(quantile=TAU).fit(train, train["units"].to_numpy())
    orders = {
        "oracle": negative_binomial_quantile(demand["mean_demand"], demand["dispersion"], TAU),
        "oracle_info": info,
        "model": to_order(model.predict_quantile(rows)),
    }
    cost = {name: expected_cost(demand, order) for name, order in orders.items()}
    # The oracle's order is the best of every row; knowing less costs more, and the model,
    # which learns what oracle_info is given, more still.
    # (up to ties: where F(Q) is within 1e-3 of tau*, scipy's ppf may pick Q + 1)
    assert np.all(cost["oracle"] <= cost["oracle_info"] * (1 + 1e-3))
    assert cost["oracle"].sum() < cost["oracle_info"].sum() < cost["model"].sum()
    # Knowing the forecasts rather than the weather costs most a week ahead.
    h = rows["horizon"].to_numpy()
    gap = [cost["oracle_info"][h == k].sum() / cost["oracle"][h == k].sum() for k in (1, 7)]
    assert 1.0 <= gap[0] < gap[1]


@pytest.mark.slow
def test_oracle_info_by_chunks_is_oracle_info_at_once(generated, climate, monkeypatch):
    """Rows in chunks (memory) give the same bytes as all rows at once."""
    tables, _, rows, _, _ = generated
    args = (rows, tables[TRUTH], tables[WEATHER], tables[FORECASTS], climate, None, TAU)
    whole = oracle_info(*args)
    monkeypatch.setattr(oracle, "CHUNK_ROWS", 97)
    chunked = oracle_info(*args)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_oracle_info_orders_at_each_rows_own_ratio(generated, climate):
    """Ratios per row give, row by row, the orders of each ratio for all rows; a lower
    ratio (a promotion day's) never orders more."""
    tables, _, rows, _, _ = generated
    args = (rows, tables[TRUTH], tables[WEATHER], tables[FORECASTS], climate, None)
    low = np.arange(len(rows)) % 3 == 0
    mixed = oracle_info(*args, np.where(low, 0.533, TAU)).order
    at_tau = oracle_info(*args, TAU).order
    at_low = oracle_info(*args, 0.533).order
    np.testing.assert_array_equal(mixed, np.where(low, at_low, at_tau))
    assert (at_low <= at_tau).all() and (at_low < at_tau).any()


def test_forecast_table_without_the_limits_still_scores_true_demand(generated):
    tables, features, rows, demand, start = generated
    train = training_rows(features, start, "keep")
    baseline = SeasonalNaive(quantile=TAU).fit(train, train["units"].to_numpy())
    data = Interim(tables[SALES], tables[WEATHER], tables[FORECASTS], tables[TRUTH])
    costs = day_costs(rows, make_params().business)
    full, with_limits = forecast_table(rows, baseline, baseline, data, costs, None)
    lean, without = forecast_table(rows, baseline, baseline, data, costs, None, limits=False)
    assert with_limits == ["model", "baseline", "oracle", "oracle_info"]
    assert without == ["model", "baseline"]
    pd.testing.assert_frame_equal(lean, full[lean.columns])
    np.testing.assert_array_equal(lean["demand"], demand["demand"])
