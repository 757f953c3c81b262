"""Forecast errors and newsvendor money, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_params
from scipy import stats

from umbrella.money.metrics import (
    SUMS,
    error_terms,
    forecast_metrics,
    negative_binomial_quantile,
    pinball_loss,
    scale_from_sums,
    scores,
    seasonal_error_sums,
    skill,
    to_order,
)
from umbrella.money.newsvendor import newsvendor_cost

Y = np.array([10.0, 0.0, 5.0, 8.0])
Q = np.array([12.0, 1.0, 3.0, 8.0])  # errors q - y: +2, +1, -2, 0


def test_pinball_loss_by_hand():
    # tau = 0.8: under-forecast (y > q) costs 0.8 per unit, over-forecast 0.2 per unit.
    # Rows: over 2 -> 0.4, over 1 -> 0.2, under 2 -> 1.6, exact -> 0.
    assert pinball_loss(Y, Q, 0.8) == pytest.approx((0.4 + 0.2 + 1.6 + 0.0) / 4)
    assert pinball_loss(Y, Q, 0.5) == pytest.approx(0.5 * np.mean(np.abs(Y - Q)))
    assert pinball_loss(Y, Y, 0.3) == 0.0


def test_newsvendor_cost_by_hand():
    # Over by 2 and 1 (3 left-over units at 7), under by 2 (2 lost sales at 12).
    assert newsvendor_cost(Y, Q, underage=12.0, overage=7.0) == pytest.approx(3 * 7 + 2 * 12)
    assert newsvendor_cost([4], [4], 12.0, 7.0) == 0.0


def test_point_errors_by_hand():
    errors = forecast_metrics(Y, Q, Q, 12.0, 7.0, mase_scale=2.0)
    assert errors["wape"] == pytest.approx(5 / 23)  # |2| + |1| + |-2| + 0 over 10+0+5+8
    assert errors["mae"] == pytest.approx(5 / 4)
    assert errors["rmse"] == pytest.approx(np.sqrt(9 / 4))
    assert errors["bias"] == pytest.approx(1 / 23)  # +2 +1 -2 +0: over-forecast is positive
    assert errors["mase"] == pytest.approx(5 / 4 / 2.0)


def test_point_errors_without_demand_are_nan():
    errors = forecast_metrics([0.0, 0.0], [1.0, 0.0], [1.0, 0.0], 12.0, 7.0, mase_scale=0.0)
    assert np.isnan(errors["wape"]) and np.isnan(errors["bias"]) and np.isnan(errors["mase"])
    assert errors["mae"] == pytest.approx(0.5)


def test_order_errors_by_hand():
    errors = forecast_metrics(Y, Y, Q, underage=12.0, overage=7.0, mase_scale=1.0)
    assert {
        k: errors[k]
        for k in (
            *("cost", "service_level", "service_level_mid"),
            *("stockout_rate", "overstock_units", "lost_units"),
        )
    } == pytest.approx(
        {
            "cost": 45.0,
            "service_level": 0.75,  # y <= order on 3 of 4 days (the exact one counts)
            "service_level_mid": 0.625,  # ... the exact one counting half
            "stockout_rate": 0.25,
            "overstock_units": 3.0,
            "lost_units": 2.0,
        }
    )


def test_the_best_whole_order_meets_tau_counting_ties_half():
    """With a few umbrellas a day the best order (the NB tau quantile) meets demand on far
    more than tau of days; counting the days demand equalled it as half met, on tau."""
    rng = np.random.default_rng(3)
    tau, size = 12 / 19, 8.0
    mean = rng.uniform(2.0, 12.0, 200_000)
    demand = rng.negative_binomial(size, size / (size + mean)).astype(float)
    best = negative_binomial_quantile(mean, np.full_like(mean, size), tau)
    errors = forecast_metrics(demand, mean, best, 12.0, 7.0, mase_scale=1.0)
    assert errors["service_level"] > tau + 0.04
    assert errors["service_level_mid"] == pytest.approx(tau, abs=0.01)


def test_cost_is_pinball_loss_in_money():
    """cost = (c_u + c_o) * n * pinball_tau*(y, Q) with tau* = c_u / (c_u + c_o)."""
    rng = np.random.default_rng(0)
    y = rng.poisson(20, 500).astype(float)
    q = np.rint(rng.gamma(4.0, 5.0, 500))
    for underage, overage in ((12.0, 7.0), (3.5, 9.25), (1.0, 1.0)):
        tau = underage / (underage + overage)
        np.testing.assert_allclose(
            newsvendor_cost(y, q, underage, overage),
            (underage + overage) * len(y) * pinball_loss(y, q, tau),
            rtol=1e-12,
        )
        assert forecast_metrics(y, q, q, underage, overage, 1.0)["cost"] == pytest.approx(
            newsvendor_cost(y, q, underage, overage), rel=1e-12
        )


def test_cost_is_lowest_at_the_critical_quantile():
    """The identity's consequence: the tau* quantile of demand is the best fixed order."""
    rng = np.random.default_rng(1)
    y = rng.poisson(30, 20_000)
    underage, overage = 12.0, 7.0
    best = np.quantile(y, underage / (underage + overage), method="inverted_cdf")
    costs = {q: newsvendor_cost(y, np.full(len(y), q), underage, overage) for q in range(20, 41)}
    assert min(costs, key=costs.get) == best


def mase_scale(units: np.ndarray, season: int = 7) -> float:
    """As evaluate computes it: the sums per store, then the scale from them."""
    return scale_from_sums(*seasonal_error_sums(units, season))


def test_mase_scale_on_a_tiny_panel_with_gaps():
    units = np.array(
        [
            [1, 2, 3, 4, 5, 6, 7, 3, 2, np.nan],  # |3-1|, |2-2|, NaN
            [np.nan, np.nan, 10, 10, 10, 10, 10, 10, 10, 14],  # NaN, NaN, |14-10|
        ]
    )
    assert mase_scale(units, season=7) == pytest.approx((2 + 0 + 4) / 3)
    assert mase_scale(units, season=1) == pytest.approx(
        np.mean([1, 1, 1, 1, 1, 1, 4, 1, 0, 0, 0, 0, 0, 0, 4])
    )
    assert np.isnan(mase_scale(np.full((2, 9), np.nan)))


def test_skill_by_hand():
    assert skill(75.0, 100.0) == pytest.approx(0.25)
    assert skill(120.0, 100.0) == pytest.approx(-0.2)
    assert np.isnan(skill(1.0, 0.0))


def test_to_order_rounds_to_whole_non_negative_umbrellas():
    np.testing.assert_array_equal(to_order([-3.2, 0.4, 0.6, 2.51, 7.49]), [0, 0, 1, 3, 7])


def test_negative_binomial_quantile():
    # size 1 is a geometric: P(Y <= k) = 1 - (mean / (1 + mean)) ** (k + 1). Mean 3: p = 0.25,
    # P(Y <= k) = 1 - 0.75 ** (k + 1): 0.25, 0.4375, 0.578, 0.684 -> the 0.6 quantile is 3.
    assert negative_binomial_quantile(np.array([3.0]), np.array([1.0]), 0.6)[0] == 3
    assert negative_binomial_quantile(np.array([3.0]), np.array([1.0]), 0.5)[0] == 2
    # Large size tends to Poisson(mean).
    assert negative_binomial_quantile(np.array([10.0]), np.array([1e9]), 0.9)[0] == (
        stats.poisson.ppf(0.9, 10.0)
    )
    # Vectorised, and the quantile is at least tau of the mass.
    mean, size = np.array([2.0, 20.0, 50.0]), np.array([8.0, 8.0, 3.0])
    q = negative_binomial_quantile(mean, size, 0.63)
    cdf = stats.nbinom.cdf(q, size, size / (size + mean))
    below = stats.nbinom.cdf(q - 1, size, size / (size + mean))
    assert (cdf >= 0.63).all() and (below < 0.63).all()
    # Its mean is `mean` (the parametrisation is right).
    np.testing.assert_allclose(stats.nbinom.mean(size, size / (size + mean)), mean)


def test_business_service_level_from_params():
    business = make_params().business
    # params.yaml: price 20, unit_cost 8, salvage 2, holding 1.
    assert business.underage_cost == pytest.approx(20 - 8)
    assert business.overage_cost == pytest.approx(8 - 2 + 1)
    assert business.service_level == pytest.approx(12 / 19)
    other = make_params({"business": {"price": 10.0, "unit_cost": 6.0}}).business
    assert other.service_level == pytest.approx(4 / (4 + 5))


def test_scores_of_summed_parts_are_the_scores_of_the_whole():
    """Sums add up: scoring two halves' summed terms is scoring all rows at once."""
    rng = np.random.default_rng(2)
    y, f = rng.poisson(20, 300).astype(float), rng.gamma(4.0, 5.0, 300)
    o = np.rint(f * 1.1)
    whole = forecast_metrics(y, f, o, 12.0, 7.0, 3.0)
    halves = (
        error_terms(y[:100], f[:100], o[:100], 12.0, 7.0).sum()
        + error_terms(y[100:], f[100:], o[100:], 12.0, 7.0).sum()
    )
    assert list(halves.index) == SUMS
    assert scores(halves, 3.0) == pytest.approx(whole, rel=1e-12)
