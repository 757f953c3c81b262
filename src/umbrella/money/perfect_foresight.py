"""Perfect foresight: the orders that cost least knowing the demand, the floor of every
order rule's replayed cost (stock_replay.py; issue 26).

Ordering exactly the demand of the protection interval net of the stock is not always the
cheapest: with packs a part-pack is left over (or a part-day lost) and with a cost per order
one order may better cover several review periods. The orders here are exact instead, by
dynamic programming over the stock, one store at a time:

With the orders placed on the review days only, one order arrives every R days and none in
between, so the stock at the opening of an arrival day, before the arrival, is all a later
choice depends on. Between two arrivals the days are forced (sales = min(demand, stock)),
so the cost of a cycle (the days from one arrival to the day before the next) is a
function of the stock after its arrival, x. Backwards from the last cycle:

    V_k(I) = min over x of  order_cost [x > I] + cycle_k(x) + V_k+1(what is left of x),

x = I (no order) or I plus whole packs, not above the capacity, and V after the last day is
the left-over's loss per unit. The stock is bounded: an order that would leave more than a
pack beyond all the demand still to come is never needed (a pack fewer costs no more), so
x runs over 0 .. the remaining demand + a pack (and the capacity, and the opening stock).

The capacity is the storeroom's limit on the shelf when an order arrives. The order-up-to
policy's orders keep to it (order_up_to.py keeps to a stricter bound), so they are among
the orders searched here: perfect foresight never costs more than they do on the same
demand (tests/money/test_stock_replay.py).
"""

from __future__ import annotations

import numpy as np

from umbrella.money.stock_replay import StockCosts, review_days


def perfect_foresight(
    demand: np.ndarray,
    lead_time_days: int,
    review: int,
    opening: np.ndarray,
    costs: StockCosts,
    pack_size: int,
    capacity: float | np.ndarray,
) -> np.ndarray:
    """The cheapest orders (stores x days, on the review days) for `demand` (stores x days,
    whole units) replayed as stock_replay.replay does, with these arguments."""
    demand = np.asarray(demand, dtype=float)
    margin = np.broadcast_to(np.asarray(costs.margin, dtype=float), demand.shape)
    limit = np.broadcast_to(np.asarray(capacity, dtype=float), demand.shape[:1])
    start = np.asarray(opening, dtype=float)
    orders = np.zeros_like(demand)
    days = review_days(demand.shape[1], lead_time_days, review)
    for s in range(demand.shape[0]):
        orders[s, days] = _store_orders(
            demand[s], margin[s], days + lead_time_days, start[s], costs, pack_size, limit[s]
        )
    return orders


def _store_orders(
    demand: np.ndarray,
    margin: np.ndarray,
    arrivals: np.ndarray,
    opening: float,
    costs: StockCosts,
    pack_size: int,
    capacity: float,
) -> np.ndarray:
    """One store's cheapest order for each arrival day (in order)."""
    if len(arrivals) == 0:
        return np.zeros(0)
    before = max(opening - demand[: arrivals[0]].sum(), 0.0)  # the forced first days
    top = max(before, min(capacity, demand[arrivals[0] :].sum() + pack_size))
    stock = np.arange(int(top) + 1, dtype=float)
    ends = [*arrivals[1:], len(demand)]
    value = costs.left_over * stock  # V after the last day: the stock left over
    targets = []
    for first, end in reversed(list(zip(arrivals, ends, strict=True))):
        cycle, left = _cycle(demand[first:end], margin[first:end], stock, costs.holding_per_day)
        after = cycle + value[left]  # the cost from here on, by the stock x after the arrival
        allowed = np.where(stock <= capacity, after, np.inf)
        above, best = _best_above(allowed, pack_size)
        order = costs.order_cost + best < after  # on a tie no order
        targets.append(np.where(order, above, np.arange(len(stock))))
        value = np.where(order, costs.order_cost + best, after)
    targets.reverse()
    quantities, level = np.zeros(len(arrivals)), int(before)
    for k, (first, end) in enumerate(zip(arrivals, ends, strict=True)):
        x = int(targets[k][level])
        quantities[k] = x - level
        level = int(max(x - demand[first:end].sum(), 0))
    return quantities


def _cycle(
    demand: np.ndarray, margin: np.ndarray, stock: np.ndarray, holding_per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """The cost of a cycle's days (holding and lost margin) for each stock x after its
    arrival, and the stock left at its end (as an index of `stock`)."""
    through = np.cumsum(demand)[:, None]  # demand up to and including each day
    closing = np.maximum(stock[None, :] - through, 0)
    sales = np.minimum(demand[:, None], np.maximum(stock[None, :] - through + demand[:, None], 0))
    lost = demand[:, None] - sales
    cost = holding_per_day * closing.sum(axis=0) + (margin[:, None] * lost).sum(axis=0)
    return cost, closing[-1].astype(int)


def _best_above(cost: np.ndarray, pack_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each stock I, the x = I + whole packs (at least one) of least cost, and its cost
    (inf where there is none)."""
    size = len(cost)
    rows = -(-size // pack_size)
    padded = np.full(rows * pack_size, np.inf)
    padded[:size] = cost
    grid = padded.reshape(rows, pack_size)  # row x // pack, column x % pack
    # The least cost in each column from each row on, and the row it is at.
    flipped = grid[::-1]
    running = np.minimum.accumulate(flipped, axis=0)
    seen = np.where(flipped == running, np.arange(rows)[:, None], -1)
    at = (rows - 1 - np.maximum.accumulate(seen, axis=0))[::-1]
    least = running[::-1]
    # From the next row on: one pack or more above (none above the last row).
    column = np.arange(pack_size)[None, :]
    above = np.vstack([at[1:] * pack_size + column, np.zeros((1, pack_size), int)])
    best = np.vstack([least[1:], np.full((1, pack_size), np.inf)])
    return above.ravel()[:size], best.ravel()[:size]
