"""The periodic-review order-up-to policy with lost sales (issue 26; docs/forecasting.md
"Stock that carries over").

On each review day t (every R days) a store orders what brings its stock position, the
stock on hand plus the stock on order, up to the level S_t, in whole packs:

    order = S_t - (on hand + on order), not below 0, rounded up to whole packs,

and never more than its storeroom can take when the order arrives. What will be there then
is not known at t (the sales in between are not); the policy takes the stock position as
its upper bound (the sales can only lower it), so the order is at most capacity - position,
rounded down to whole packs. The stock on the shelf then never exceeds the capacity when it
did not at the start; the room the sales of the lead time free is left unused.

S_t is a quantile of the demand over the protection interval: every day until the next
order arrives, t + 1 .. t + L + R - 1 (`lost_sales_ratio` gives the textbook quantile).
Not only t + L .. t + L + R - 1, the days this order is the first to serve: the stock
position counts the stock on hand and on order, which first serves days t + 1 .. t + L - 1.
"""

from __future__ import annotations

import numpy as np

from umbrella.money.newsvendor import critical_ratio
from umbrella.money.stock_replay import OrderRule


def lost_sales_ratio(
    margin: float | np.ndarray, holding_per_day: float, review: int
) -> float | np.ndarray:
    """The textbook critical ratio of the periodic-review base-stock policy: p / (p + h),
    p the margin a lost sale loses, h the holding cost of one unit for one period (one
    review period: `holding_per_day` x R days).

    The standard result: the level S balances one more unit short (its margin, lost once)
    against one more unit left after the period (carried to the next review), so the
    best S is the p / (p + h) quantile of the demand over the protection interval. It is
    exact for backorders; with lost sales it is the usual approximation, close when p is
    much larger than h (high fill rates), as for umbrellas that keep."""
    return critical_ratio(margin, holding_per_day * review)


def order_quantity(
    level: np.ndarray,
    on_hand: np.ndarray,
    on_order: np.ndarray,
    pack_size: int,
    capacity: float | np.ndarray,
) -> np.ndarray:
    """The units to order per store: up to `level`, in whole packs, within `capacity`."""
    position = np.asarray(on_hand, dtype=float) + np.asarray(on_order, dtype=float)
    wanted = np.ceil(np.maximum(np.asarray(level, dtype=float) - position, 0) / pack_size)
    room = np.floor(np.maximum(capacity - position, 0) / pack_size)
    return np.minimum(wanted, room) * pack_size


def order_up_to(levels: np.ndarray, pack_size: int, capacity: float | np.ndarray) -> OrderRule:
    """The order rule (stock_replay.replay) of the levels S (stores x days)."""

    def rule(t: int, on_hand: np.ndarray, on_order: np.ndarray) -> np.ndarray:
        return order_quantity(levels[:, t], on_hand, on_order, pack_size, capacity)

    return rule


def fixed_orders(orders: np.ndarray) -> OrderRule:
    """The order rule that places the orders given (stores x days), whatever the stock."""
    return lambda t, on_hand, on_order: orders[:, t]
