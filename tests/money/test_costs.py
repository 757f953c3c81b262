"""Each day's costs and critical ratio (costs.py), and orders at any ratio from a model
that learned one (distribution.py)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import make_params
from scipy import stats

from umbrella.core.errors import DataError
from umbrella.forecast.distribution import fit_dispersion, quantile_at
from umbrella.forecast.models import LinearModel
from umbrella.money.costs import day_costs

BUSINESS = make_params().business  # price 20, unit cost 8, salvage 2, holding 1: tau* 12/19


def test_a_promotion_day_has_its_own_margin_and_ratio() -> None:
    rows = pd.DataFrame({"store": ["a", "a", "b"], "price": [19.99, 15.99, np.nan]})
    costs = day_costs(rows, BUSINESS)
    np.testing.assert_allclose(costs.underage, [11.99, 7.99, 12.0])
    np.testing.assert_allclose(costs.overage, [7.0, 7.0, 7.0])
    np.testing.assert_allclose(costs.tau, [11.99 / 18.99, 7.99 / 14.99, 12 / 19])


def test_one_ratio_for_every_day_without_daily_costs() -> None:
    rows = pd.DataFrame({"store": ["a", "a"], "price": [19.99, 15.99]})
    single = BUSINESS.model_copy(update={"daily_costs": False})
    np.testing.assert_array_equal(day_costs(rows, single).tau, [12 / 19, 12 / 19])
    assert day_costs(rows, single).tau[0] == BUSINESS.service_level


def test_a_stores_own_costs_replace_the_business_ones_where_given() -> None:
    rows = pd.DataFrame({"store": ["a", "b", "c"], "price": [np.nan, 15.99, np.nan]})
    stores = pd.DataFrame({"store": ["a", "b"], "unit_cost": [10.0, 4.0], "holding": [3.0, None]})
    costs = day_costs(rows, BUSINESS, stores)
    # a: 20 - 10 and 10 - 2 + 3; b: the day's price 15.99 - 4 and 4 - 2 + 1; c: business
    np.testing.assert_allclose(costs.underage, [10.0, 11.99, 12.0])
    np.testing.assert_allclose(costs.overage, [11.0, 3.0, 7.0])


def test_a_day_sold_below_its_cost_loses_nothing_unmet_and_orders_least() -> None:
    costs = day_costs(pd.DataFrame({"store": ["a"], "price": [6.0]}), BUSINESS)
    assert costs.underage[0] == 0.0 and costs.tau[0] == pytest.approx(0.01)


def test_the_price_is_read_back_to_the_cent_from_float32_features() -> None:
    rows = pd.DataFrame({"store": ["a"], "price": np.array([19.99], dtype=np.float32)})
    assert day_costs(rows, BUSINESS).underage[0] == pytest.approx(11.99, abs=1e-12)


def test_at_the_models_own_ratio_the_order_is_the_models() -> None:
    rng = np.random.default_rng(0)
    quantile, mean = rng.gamma(2.0, 5.0, 200), rng.gamma(2.0, 4.0, 200)
    moved = quantile_at(quantile, mean, 3.0, 0.632, np.full(200, 0.632))
    np.testing.assert_array_equal(moved, quantile)


def test_orders_moved_to_another_ratio_meet_demand_that_often() -> None:
    """Negative binomial demand, orders from its exact 0.632 quantile (a perfect model's)
    moved to 0.533 and 0.8: each meets demand on about its own share of days (whole orders:
    from above, as the oracle's)."""
    rng = np.random.default_rng(1)
    n, size = 200_000, 4.0
    mean = rng.gamma(3.0, 5.0, n)
    demand = rng.negative_binomial(size, size / (size + mean))
    start = stats.nbinom.ppf(0.632, size, size / (size + mean))
    for tau in (0.533, 0.8):
        order = np.rint(quantile_at(start, mean, size, 0.632, np.full(n, tau)))
        met = np.mean(demand <= order)
        assert tau <= met <= tau + 0.04, (tau, met)


def test_the_dispersion_is_found_through_sold_out_days() -> None:
    rng = np.random.default_rng(2)
    n, size = 50_000, 5.0
    mean = rng.gamma(3.0, 4.0, n)
    demand = rng.negative_binomial(size, size / (size + mean)).astype(float)
    stock = np.quantile(demand, 0.85)
    rows = pd.DataFrame({"units": np.minimum(demand, stock), "censored": demand >= stock})
    found = fit_dispersion(rows, rows["units"].to_numpy(), mean)
    assert found == pytest.approx(size, rel=0.1)
    # Taking the sold-out days' sales as their demand: the spread is too narrow.
    naive = fit_dispersion(rows[["units"]], rows["units"].to_numpy(), mean)
    assert naive > found * 1.2


@pytest.fixture(scope="module")
def fitted() -> tuple[LinearModel, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 4000
    rows = pd.DataFrame(
        {
            "store": "a",
            "origin": pd.Timestamp("2015-01-01"),
            "date": pd.Timestamp("2015-01-02"),
            "horizon": rng.integers(1, 8, n),
            "weekday": rng.integers(0, 7, n),
            "month": rng.integers(1, 13, n),
            "fc_rain_mm": rng.gamma(0.5, 4.0, n),
            "level": 10.0,
        }
    )
    mean = 10 * np.exp(0.08 * rows["fc_rain_mm"].to_numpy())
    y = rng.negative_binomial(6.0, 6.0 / (6.0 + mean)).astype(float)
    return LinearModel(quantile=0.632).fit(rows, y), rows


def test_a_model_orders_at_each_rows_ratio(fitted) -> None:
    model, rows = fitted
    own = model.predict_quantile(rows)
    np.testing.assert_array_equal(model.predict_quantile(rows, np.full(len(rows), 0.632)), own)
    tau = np.where(np.arange(len(rows)) % 2 == 0, 0.533, 0.632)
    moved = model.predict_quantile(rows, tau)
    assert (moved[tau < 0.6] < own[tau < 0.6]).all()
    np.testing.assert_array_equal(moved[tau > 0.6], own[tau > 0.6])
    assert model.dispersion_ == pytest.approx(6.0, rel=0.25)


def test_a_model_saved_before_daily_ratios_says_to_retrain(fitted) -> None:
    model, rows = fitted
    old = copy.deepcopy(model)
    del old.dispersion_
    assert np.isfinite(old.predict_quantile(rows)).all()  # its own ratio still works
    with pytest.raises(DataError, match="retrain it"):
        old.predict_quantile(rows, np.full(len(rows), 0.533))
