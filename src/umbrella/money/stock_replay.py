"""Replay a store's stock day by day: what its orders would have done against the demand
(issue 26: stock that carries over; docs/forecasting.md "Stock that carries over").

Days are columns, stores are rows (arrays stores x days); the only loop is over the days.
Each day t:

    opening[t] = closing[t-1] + arrivals[t]        (closing[-1] = the opening stock given)
    sales[t]   = min(demand[t], opening[t])        lost[t] = demand[t] - sales[t]
    closing[t] = opening[t] - sales[t]

An order is placed at the end of a review day (day 0, R, 2R, ...; R = `review_days`) and is
on the shelf at the opening of day t + L (L = `lead_time_days`, at least 1: the order of
the evening arrives the next morning at the soonest). A review day whose order could not
arrive within the days replayed places none. The order rule is asked on each review day,
after the day's sales, with the stock on hand (the day's closing) and on order (placed,
not yet arrived).

The money is a cost, positive = money lost, in the terms of the daily newsvendor
(src/umbrella/money/costs.py), so that a replay of perfect orders costs 0:

    cost = lost margin      sum of lost[t] x margin[t] (the day's price - unit_cost)
         + holding          sum of closing[t] x holding_per_day (every night, the last too)
         + ordering         order_cost x the orders placed (quantity > 0)
         + left over        the stock left after the last day x (unit_cost - salvage)

The units bought are not charged as such: a unit sold earned its margin, which no term
counts. The last term is what an umbrella bought and left over loses: bought at unit_cost,
worth `salvage` when the replay ends. (Subtracting salvage x left-over alone, without the
unit cost, would pay a policy to buy umbrellas only to sell them off.) The opening stock
given is the same for every policy compared, so it is not charged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# An order rule: (review day t, stock on hand at its close, stock on order) -> the units to
# order per store (whole, non-negative), each argument and the result of shape (stores,).
OrderRule = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class StockCosts:
    """Money per umbrella: the margin a lost sale loses (one for all, or stores x days),
    a night in stock, an order placed, and what an umbrella left at the end loses."""

    margin: float | np.ndarray
    holding_per_day: float
    order_cost: float
    left_over: float  # unit_cost - salvage


@dataclass(frozen=True)
class Replay:
    """Every store's days (arrays stores x days) and its money (arrays of stores)."""

    opening: np.ndarray
    arrivals: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    lost: np.ndarray
    closing: np.ndarray
    orders: np.ndarray  # placed at the end of the day (0 on days that order nothing)
    lost_margin: np.ndarray
    holding: np.ndarray
    ordering: np.ndarray
    left_over: np.ndarray

    @property
    def cost(self) -> np.ndarray:
        """Each store's money lost: the sum of its four parts."""
        return self.lost_margin + self.holding + self.ordering + self.left_over


def review_days(days: int, lead_time_days: int, review: int) -> np.ndarray:
    """The days an order is placed on: every `review` days from day 0, while its order can
    arrive within the `days` replayed."""
    if lead_time_days < 1 or review < 1:
        raise ValueError(f"lead time {lead_time_days} and review period {review}: at least 1")
    return np.arange(0, max(days - lead_time_days, 0), review)


def replay(
    demand: np.ndarray,
    rule: OrderRule,
    lead_time_days: int,
    review: int,
    opening: np.ndarray,
    costs: StockCosts,
) -> Replay:
    """Replay `demand` (stores x days, whole units) from the `opening` stock (per store),
    ordering by `rule` on the review days (`review_days`), with the money of `costs`."""
    demand = np.asarray(demand, dtype=float)
    stores, days = demand.shape
    ordering_days = set(review_days(days, lead_time_days, review).tolist())
    arrivals = np.zeros((stores, days + lead_time_days))
    orders = np.zeros((stores, days))
    opened, sales, closing = (np.zeros((stores, days)) for _ in range(3))
    stock = np.asarray(opening, dtype=float).copy()
    for t in range(days):
        opened[:, t] = stock + arrivals[:, t]
        sales[:, t] = np.minimum(demand[:, t], opened[:, t])
        closing[:, t] = stock = opened[:, t] - sales[:, t]
        if t in ordering_days:
            on_order = arrivals[:, t + 1 : t + lead_time_days].sum(axis=1)
            quantity = np.asarray(rule(t, stock.copy(), on_order), dtype=float)
            if np.any(quantity < 0) or np.any(quantity != np.rint(quantity)):
                raise ValueError(f"day {t}: an order rule gave {quantity}: whole units >= 0")
            orders[:, t] = quantity
            arrivals[:, t + lead_time_days] = quantity
    lost = demand - sales
    return Replay(
        opening=opened,
        arrivals=arrivals[:, :days],
        demand=demand,
        sales=sales,
        lost=lost,
        closing=closing,
        orders=orders,
        lost_margin=(lost * costs.margin).sum(axis=1),
        holding=closing.sum(axis=1) * costs.holding_per_day,
        ordering=(orders > 0).sum(axis=1) * costs.order_cost,
        left_over=closing[:, -1] * costs.left_over,
    )


def replay_summary(result: Replay) -> dict[str, float]:
    """The figures of a replay over all its stores: the money and its parts, the fill rate
    (units sold / demanded), the share of store-days sold out (a customer found the shelf
    empty: lost sales), the mean stock at closing in days of cover (over the mean daily
    demand) and the most on a shelf (the peak, to hold against a storeroom's capacity)."""
    return summary_of_stores(store_figures(result))


# A replay's figures per store (store_figures): summed over stores, or their maximum (peak).
STORE_SUMS = ["cost", "lost_margin", "holding", "ordering", "left_over"]
STORE_COUNTS = ["sales", "demand", "sold_out_days", "days", "closing"]


def store_figures(result: Replay) -> dict[str, np.ndarray]:
    """What replay_summary needs, per store (arrays of stores): the replays of stores
    replayed apart (partitions of stores) concatenate, and summarise as one."""
    return {
        "cost": result.cost,
        "lost_margin": result.lost_margin,
        "holding": result.holding,
        "ordering": result.ordering,
        "left_over": result.left_over,
        "sales": result.sales.sum(axis=1),
        "demand": result.demand.sum(axis=1),
        "sold_out_days": (result.lost > 0).sum(axis=1).astype(float),
        "days": np.full(len(result.demand), float(result.demand.shape[1])),
        "closing": result.closing.sum(axis=1),
        "peak": result.opening.max(axis=1, initial=0.0),
    }


def summary_of_stores(figures: dict[str, np.ndarray]) -> dict[str, float]:
    """replay_summary from the stores' figures (store_figures, concatenated)."""
    total = {key: float(figures[key].sum()) for key in STORE_SUMS + STORE_COUNTS}
    demanded = total["demand"]
    return {
        **{key: total[key] for key in STORE_SUMS},
        "fill_rate": total["sales"] / demanded if demanded else float("nan"),
        "sold_out_share": total["sold_out_days"] / total["days"] if total["days"] else float("nan"),
        "cover_days": total["closing"] / demanded if demanded else float("nan"),
        "peak_stock": float(figures["peak"].max(initial=0.0)),
    }
