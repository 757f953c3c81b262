"""The peers through the stock policy (benchmarks/peers_stock.py): a peer's rows become the
policy's daily means, its negative binomial size is fitted on its forecasts against the sales,
its setting is chosen on the validation period and the test period replayed with it, as our
model's (benchmarks/stock_replay.py). On tiny seeded data, no network, no `peers` extra."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from umbrella.evaluation.stock import setting_key, settings_tried
from umbrella.money.stock_policy import Policy, replay_perfect_foresight
from umbrella.money.stock_replay import StockCosts

sys.path.insert(0, str(REPO / "benchmarks"))  # peers_stock.py imports its siblings
peers_stock = importlib.import_module("peers_stock")
stock = importlib.import_module("stock_replay")

DAY = pd.Timedelta(days=1)
STORES = ["S1", "S2"]
HORIZONS = 7
VALIDATION = pd.date_range("2014-01-01", periods=70, freq="D")
TEST = pd.date_range(VALIDATION[-1] + DAY, periods=70, freq="D")
COSTS = StockCosts(margin=12.0, holding_per_day=0.01, order_cost=0.0, left_over=6.0)


def true_means(days: pd.DatetimeIndex) -> np.ndarray:
    """stores x days: a weekly pattern, the second store twice the first."""
    week = 4.0 + 3.0 * (days.day_of_week.to_numpy() >= 5)
    return np.vstack([week, 2 * week])


def period(days: pd.DatetimeIndex, seed: int) -> object:
    """A period of negative binomial demand (size 4) around true_means."""
    mean = true_means(days)
    rng = np.random.default_rng(seed)
    demand = rng.negative_binomial(4, 4 / (4 + mean)).astype(float)
    return stock.Period(
        rows=pd.DataFrame(),
        days=days,
        stores=STORES,
        demand=demand,
        true_mean=mean,
        true_dispersion=4.0,
        costs=COSTS,
        level=mean.mean(axis=1),
    )


def peer_rows(days: pd.DatetimeIndex, scale: float) -> pd.DataFrame:
    """A peer's rows (peers.KEYS, forecast) from the day before `days` on, every horizon
    within them: `scale` x the true mean of the target day."""
    mean = true_means(days)
    rows = [
        (store, origin, origin + h * DAY, scale * mean[s, (origin - days[0]).days + h])
        for s, store in enumerate(STORES)
        for origin in pd.date_range(days[0] - DAY, days[-1] - DAY)
        for h in range(1, HORIZONS + 1)
        if origin + h * DAY <= days[-1]
    ]
    return pd.DataFrame(rows, columns=["unique_id", "origin", "ds", "forecast"])


def test_a_peers_rows_land_on_their_store_origin_and_horizon() -> None:
    rows = pd.DataFrame(
        {
            "unique_id": ["S2", "S1", "S1"],
            "origin": [TEST[3], TEST[0], TEST[0] - DAY],  # the last: before the period
            "ds": [TEST[5], TEST[7], TEST[1]],
            "forecast": [2.5, -0.3, 9.0],
        }
    )
    test = period(TEST, 0)
    daily = peers_stock.peer_daily(rows, test, HORIZONS)
    assert daily.shape == (2, len(TEST), HORIZONS)
    assert daily[1, 3, 1] == 2.5  # S2, origin day 3, horizon 2
    assert daily[0, 0, 6] == 0.0  # AutoETS's negative forecast: no demand
    assert np.isnan(daily).sum() == daily.size - 2  # the origin before the period dropped


def test_a_peers_size_is_the_spread_of_the_sales_around_its_forecasts() -> None:
    rows = pd.concat([peer_rows(VALIDATION, 1.0)] * 20, ignore_index=True)
    rng = np.random.default_rng(1)
    mean = rows["forecast"].to_numpy()
    units = rng.negative_binomial(4, 4 / (4 + mean))
    # one sale per row: the rows are keyed as the sales' (store, date) once each
    rows = rows.assign(ds=pd.Timestamp("2000-01-01") + np.arange(len(rows)) * DAY)
    sales = pd.DataFrame({"store": rows["unique_id"], "date": rows["ds"], "units": units})
    assert peers_stock.peer_size(rows, sales) == pytest.approx(4.0, rel=0.15)
    # a peer off by half has the sales spread wider around its forecasts
    assert peers_stock.peer_size(rows.assign(forecast=mean / 2), sales) < 2.0
    # sold-out days (sales capped at 1.5 x the mean) as "at least their sales": about the
    # same size; taken as exact, the high days cut, the spread would look narrower
    cap = np.ceil(1.5 * mean)
    capped = sales.assign(units=np.minimum(units, cap), in_stock=(units < cap).astype(int))
    assert peers_stock.peer_size(rows, capped) == pytest.approx(4.0, rel=0.2)
    assert peers_stock.peer_size(rows, capped.drop(columns="in_stock")) > 6.0


@pytest.mark.parametrize(("lead", "review"), [(1, 1), (2, 7)])
def test_a_peer_is_chosen_on_validation_and_replayed_with_it(lead: int, review: int) -> None:
    validation, test = period(VALIDATION, 2), period(TEST, 3)
    sales = pd.DataFrame(
        {
            "store": np.repeat(STORES, len(VALIDATION)),
            "date": np.tile(VALIDATION, len(STORES)),
            "units": validation.demand.ravel(),
        }
    )
    tau = 0.999
    figures = {}
    for name, scale in (("right", 1.0), ("half", 0.5)):
        forecasts = peers_stock.peer_forecasts(
            peer_rows(VALIDATION, scale), peer_rows(TEST, scale), sales, validation, test, HORIZONS
        )
        assert forecasts.size_validation == forecasts.size_test
        figures[name] = stock.replayed(validation, test, forecasts, tau, lead, review)
        tried = figures[name]["validation"]
        chosen = (figures[name]["ratio"], figures[name]["shared"])
        assert chosen in settings_tried(tau)
        assert tried[setting_key(chosen)]["cost"] == min(t["cost"] for t in tried.values())
    floor = stock.foresight(test, lead, review)
    assert floor["cost"] <= min(f["cost"] for f in figures.values())
    assert figures["right"]["cost"] < figures["half"]["cost"]
    report = peers_stock.compared(
        {peers_stock.BASELINE: figures["half"], "right": figures["right"]}, floor
    )
    right = report["right"]
    assert right["skill_vs_seasonal_naive"] == pytest.approx(
        1 - figures["right"]["cost"] / figures["half"]["cost"]
    )
    assert right["vs_perfect_foresight"] == pytest.approx(figures["right"]["cost"] / floor["cost"])
    assert report[peers_stock.FORESIGHT]["vs_perfect_foresight"] == 1.0


def test_the_issues_lead_time_zero_is_the_next_mornings_delivery() -> None:
    """L = 1 is the soonest an order can serve a sale: with perfect orders only day 0, served
    from the opening stock, loses sales; the replay refuses L = 0 (stock_replay.review_days)."""
    assert {lead for lead, _ in peers_stock.SETTINGS} == {1, 2, 6}
    assert {review for _, review in peers_stock.SETTINGS} == {1, 7}
    test = period(TEST, 4)
    days = stock.stock_days(test, 1)
    best = replay_perfect_foresight(days, Policy(1, 1))
    assert best.lost[:, 1:].sum() == 0
    with pytest.raises(ValueError, match="at least 1"):
        replay_perfect_foresight(stock.stock_days(test, 0), Policy(0, 1))
