"""The order-up-to policy on daily forecasts, replayed: what evaluate and
benchmarks/stock_replay.py share (issue 26; docs/forecasting.md "Stock that carries over").

A forecaster gives, for each store, origin t and horizon h, the mean demand of day t + h;
its days are negative binomials of that mean and one size (distribution.py). On a review
day t the order-up-to level S_t is the `tau` quantile of the demand over the protection
interval t + 1 .. t + L + R - 1 (order_up_to.py), its days' level errors correlated by
`shared` (protection_interval.py); the policy's orders are replayed against the demand
(stock_replay.py). Perfect foresight (perfect_foresight.py) is replayed beside, the floor.

`shared` is chosen among SHARED by the replayed cost on a period before the one judged
(the validation period), never on the period judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.money.metrics import covered_mid
from umbrella.money.order_up_to import fixed_orders, order_up_to
from umbrella.money.perfect_foresight import perfect_foresight
from umbrella.money.protection_interval import independent_total_quantile, total_quantile
from umbrella.money.stock_replay import Replay, StockCosts, replay

SHARED = (0.0, 0.5, 1.0)  # the correlations of the days' level errors tried on validation
WEEK = 7


@dataclass(frozen=True)
class Policy:
    """How a store orders: lead time L and review period R (days), whole packs, and at most
    the storeroom's capacity (one value, or one per store)."""

    lead_time_days: int
    review_days: int
    pack_size: int = 1
    capacity: float | np.ndarray = np.inf

    @property
    def ahead(self) -> int:
        """The days of the protection interval: t + 1 .. t + L + R - 1."""
        return self.lead_time_days + self.review_days - 1


@dataclass(frozen=True)
class StockDays:
    """A period replayed: per store x day the demand, the money per umbrella, and each
    store's stock on the first day (the same for every policy compared)."""

    stores: list[str]
    days: pd.DatetimeIndex
    demand: np.ndarray
    costs: StockCosts
    opening: np.ndarray


def grid(frame: pd.DataFrame, column: str, stores: list[str], days: pd.DatetimeIndex) -> np.ndarray:
    """stores x days of a column of rows keyed by store and date (NaN where none)."""
    table = frame.pivot_table(index="store", columns="date", values=column, aggfunc="first")
    return table.reindex(index=stores, columns=days).to_numpy(float)


def opening_stock(level: np.ndarray, lead_time_days: int) -> np.ndarray:
    """Every store's stock on the first day: its level (mean daily sales before the period)
    x L, what it sells until the first order can arrive, rounded."""
    return np.rint(np.asarray(level, dtype=float) * lead_time_days)


def daily_means(
    rows: pd.DataFrame,
    mean: np.ndarray,
    stores: list[str],
    days: pd.DatetimeIndex,
    horizons: int,
) -> np.ndarray:
    """stores x origins (the period's days) x horizons: the forecast `mean` of each of `rows`
    (store, origin, horizon), NaN where there is no row."""
    out = np.full((len(stores), len(days), horizons), np.nan)
    s = pd.Index(stores).get_indexer(pd.Index(rows["store"].astype(str)))
    d = days.get_indexer(pd.DatetimeIndex(rows["origin"]))
    h = rows["horizon"].to_numpy(int) - 1
    keep = (d >= 0) & (s >= 0) & (h < horizons)
    out[s[keep], d[keep], h[keep]] = np.asarray(mean, dtype=float)[keep]
    return out


def weekday_filled(daily: np.ndarray, ahead: int) -> np.ndarray:
    """The last axis of `daily` (horizons 1..H) stretched to the days 1..`ahead`: a day
    beyond the horizon takes its weekday's forecast within it (a horizon of at least a
    week; the weather forecasts reach no further, core/params.py HORIZON_MAX)."""
    horizons = daily.shape[-1]
    if ahead > horizons and horizons < WEEK:
        raise SystemExit(f"{ahead} days ahead need base.horizon {ahead}, or at least {WEEK}")
    within = [h - WEEK * -(-max(h - horizons, 0) // WEEK) for h in range(1, ahead + 1)]
    return daily[..., np.array(within) - 1]


def interval_means(daily: np.ndarray, ahead: int) -> np.ndarray:
    """stores x origins x the days 1..`ahead` after each origin (its protection interval):
    the daily means, a day beyond the horizon as its weekday's within it, a day after the
    period as 0. NaN where a day within the period has no forecast."""
    out = weekday_filled(daily, ahead).copy()
    days = daily.shape[1]
    for h in range(1, ahead + 1):
        out[:, max(days - h, 0) :, h - 1] = 0.0
    return out


def interval_totals(demand: np.ndarray, ahead: int) -> np.ndarray:
    """stores x origins: the true demand of the days 1..`ahead` after each origin, NaN when
    they reach beyond the period."""
    out = np.full(demand.shape, np.nan)
    for t in range(demand.shape[1] - ahead):
        out[:, t] = demand[:, t + 1 : t + 1 + ahead].sum(axis=1)
    return out


def coverage(totals: np.ndarray, level: np.ndarray) -> float:
    """The share of the complete intervals' totals at or under the level, ties half."""
    known = ~np.isnan(totals)
    return float(covered_mid(totals[known], level[known]).mean())


def replay_policy(
    period: StockDays,
    means: np.ndarray,
    dispersion: float,
    tau: float,
    shared: float,
    policy: Policy,
    variances: np.ndarray | None = None,
) -> tuple[Replay, np.ndarray]:
    """The replay of the order-up-to policy at the `tau` quantile of the protection
    intervals' totals (`means`: stores x origins x the interval's days, interval_means),
    and its levels (stores x days). With `variances` (shaped as `means`) the days are
    independent, each of its own variance, and `dispersion` and `shared` are unused."""
    flat = means.reshape(-1, means.shape[2])
    if variances is None:
        level = total_quantile(flat, dispersion, tau, shared)
    else:
        level = independent_total_quantile(flat, variances.reshape(flat.shape), tau)
    level = level.reshape(means.shape[:2])
    rule = order_up_to(level, policy.pack_size, policy.capacity)
    result = replay(
        period.demand,
        rule,
        policy.lead_time_days,
        policy.review_days,
        period.opening,
        period.costs,
    )
    return result, level


def replay_perfect_foresight(period: StockDays, policy: Policy) -> Replay:
    """The replay of the cheapest orders knowing the demand: the floor."""
    orders = perfect_foresight(
        period.demand,
        policy.lead_time_days,
        policy.review_days,
        period.opening,
        period.costs,
        policy.pack_size,
        policy.capacity,
    )
    return replay(
        period.demand,
        fixed_orders(orders),
        policy.lead_time_days,
        policy.review_days,
        period.opening,
        period.costs,
    )
