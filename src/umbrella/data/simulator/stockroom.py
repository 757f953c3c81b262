"""The simulated store's stockroom: what it sells when its stock runs out, and the stock it
keeps (issue 26; docs/data.md "The embedded default source").

Each store replenishes as many small shops do, with a rule of thumb rather than a forecast:
at the close of every day it orders what brings its stock on hand and on order up to
COVER_DAYS of its mean daily sales over the last MEMORY_DAYS days (before it has that
many, its base level stands in), and the order is on the shelf at the opening of the day
LEAD_DAYS later. Stock carries over: what is not sold today is on the shelf tomorrow. A
wet spell empties the shelf before the next delivery, so sold-out days come in runs after
rain, as in a real store, and their sales are a lower bound of the demand (in_stock = 0).
The rule looks at sales, not demand: after a sold-out run its mean is low, and it orders
less than the weather calls for, which is what the pipeline's model is there to improve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEAD_DAYS = 2  # an order placed at the close of day t is on the shelf at the opening of t + 2
COVER_DAYS = 4.0  # the stock on hand and on order is brought up to 4 days of recent sales
MEMORY_DAYS = 28  # recent sales: the mean of the last 28 days


@dataclass(frozen=True)
class Stockroom:
    """(stores, days) sales and the stock on hand at each close, and (stores, LEAD_DAYS) the
    orders still on their way after the last day, arriving at the opening of the days after
    it."""

    sales: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray

    @property
    def in_stock(self) -> np.ndarray:
        """1 where stock was left at the close (the day sold its demand), 0 where the shelf
        emptied (its sales a lower bound of the demand)."""
        return (self.on_hand > 0).astype(np.int8)


def order_up_to(recent: np.ndarray) -> np.ndarray:
    """The store's rule: COVER_DAYS of its recent mean daily sales, in whole umbrellas."""
    return np.ceil(COVER_DAYS * recent)


def replenish(demand: np.ndarray, level: np.ndarray) -> Stockroom:
    """Run every store's stockroom over the days of `demand` (stores, days); `level`
    (stores, 1) is its base level, the rule's recent sales before it has MEMORY_DAYS of
    its own. The first morning the shelf holds the rule's level and nothing is on its way."""
    stores, days = demand.shape
    base = level.reshape(-1).astype(float)
    sales = np.zeros((stores, days), dtype=np.int64)
    on_hand = np.zeros((stores, days), dtype=np.int64)
    coming = np.zeros((stores, LEAD_DAYS), dtype=np.int64)  # arriving 1..L mornings on
    stock = order_up_to(base).astype(np.int64)
    window = np.zeros(stores)  # the sales of the last MEMORY_DAYS days, summed
    for t in range(days):
        stock += coming[:, 0]
        coming = np.roll(coming, -1, axis=1)
        coming[:, -1] = 0
        sales[:, t] = np.minimum(demand[:, t], stock)
        stock -= sales[:, t]
        on_hand[:, t] = stock
        window += sales[:, t] - (sales[:, t - MEMORY_DAYS] if t >= MEMORY_DAYS else 0)
        seen = min(t + 1, MEMORY_DAYS)
        recent = (window + base * (MEMORY_DAYS - seen)) / MEMORY_DAYS
        wanted = order_up_to(recent) - stock - coming.sum(axis=1)
        coming[:, -1] = np.maximum(wanted, 0).astype(np.int64)
    return Stockroom(sales, on_hand, coming)
