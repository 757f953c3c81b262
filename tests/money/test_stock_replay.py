"""The stock replay (stock_replay.py), the order-up-to policy (order_up_to.py) and perfect
foresight (perfect_foresight.py): issue 26's accounting example and property test."""

from __future__ import annotations

import importlib.util
import itertools
import sys

import numpy as np
import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from umbrella.money.order_up_to import fixed_orders, lost_sales_ratio, order_quantity, order_up_to
from umbrella.money.perfect_foresight import perfect_foresight
from umbrella.money.stock_replay import (
    Replay,
    StockCosts,
    replay,
    replay_summary,
    review_days,
    store_figures,
    summary_of_stores,
)

COSTS = StockCosts(margin=12.0, holding_per_day=0.5, order_cost=10.0, left_over=6.0)


def assert_identities(result: Replay) -> None:
    """Stock flows: opening + arrivals - sales = closing, yesterday's closing + today's
    arrivals = today's opening, nothing negative, and the money is its parts."""
    np.testing.assert_array_equal(result.opening - result.sales, result.closing)
    np.testing.assert_array_equal(
        result.closing[:, :-1] + result.arrivals[:, 1:], result.opening[:, 1:]
    )
    np.testing.assert_array_equal(result.sales + result.lost, result.demand)
    for part in (result.opening, result.closing, result.sales, result.lost, result.orders):
        assert (part >= 0).all()
    parts = result.lost_margin + result.holding + result.ordering + result.left_over
    np.testing.assert_allclose(result.cost, parts)


def within(result: Replay, capacity: float) -> np.ndarray:
    """Per store: every arrival found the storeroom with room for it."""
    return ((result.arrivals == 0) | (result.opening <= capacity)).all(axis=1)


def test_five_days_by_hand() -> None:
    """Opening 5; an order of 4 at the end of day 0 arrives on day 2 (L = 2), one of 3 at the
    end of day 2 on day 4; day 1 sells out (2 lost), day 4 ends with 3 left."""
    demand = np.array([[3, 4, 2, 1, 1]])
    orders = np.array([[4, 0, 3, 0, 0]])
    result = replay(demand, fixed_orders(orders), 2, 2, np.array([5]), COSTS)
    np.testing.assert_array_equal(result.opening, [[5, 2, 4, 2, 4]])
    np.testing.assert_array_equal(result.arrivals, [[0, 0, 4, 0, 3]])
    np.testing.assert_array_equal(result.sales, [[3, 2, 2, 1, 1]])
    np.testing.assert_array_equal(result.lost, [[0, 2, 0, 0, 0]])
    np.testing.assert_array_equal(result.closing, [[2, 0, 2, 1, 3]])
    np.testing.assert_array_equal(result.orders, [[4, 0, 3, 0, 0]])
    # lost 2 x 12, 8 nights x 0.5, 2 orders x 10, 3 left x 6
    assert (result.lost_margin[0], result.holding[0]) == (24, 4)
    assert (result.ordering[0], result.left_over[0], result.cost[0]) == (20, 18, 66)
    assert_identities(result)
    summary = replay_summary(result)
    assert summary["fill_rate"] == 9 / 11
    assert summary["sold_out_share"] == 1 / 5
    assert summary["cover_days"] == 8 / 11
    assert summary["peak_stock"] == 5


def test_review_days_only_orders_that_arrive() -> None:
    np.testing.assert_array_equal(review_days(10, 2, 3), [0, 3, 6])
    np.testing.assert_array_equal(review_days(2, 2, 1), [])
    with pytest.raises(ValueError, match="at least 1"):
        review_days(10, 0, 1)


def test_the_rule_is_asked_with_stock_on_hand_and_on_order() -> None:
    """The order-up-to rule on review days: the position counts what is on its way."""
    seen = []

    def rule(t: int, on_hand: np.ndarray, on_order: np.ndarray) -> np.ndarray:
        seen.append((t, on_hand[0], on_order[0]))
        return np.array([2.0])

    replay(np.array([[1, 1, 1, 1, 1]]), rule, 3, 1, np.array([4]), COSTS)
    # day 0: 3 on hand, nothing on order; day 1: 2 on hand, the 2 of day 0 on its way ...
    assert seen == [(0, 3, 0), (1, 2, 2)]


def test_a_bad_order_is_refused() -> None:
    with pytest.raises(ValueError, match="whole units"):
        replay(
            np.array([[1, 1, 1]]), fixed_orders(np.array([[-1, 0, 0]])), 1, 1, np.zeros(1), COSTS
        )


def test_order_quantity_packs_and_room() -> None:
    """Up to 10 from 3 on hand + 2 on order: 5, rounded up to 2 packs of 4; a storeroom of
    12 takes 7 more, so 1 pack; none when the position is already above the level."""
    args = (np.array([10.0]), np.array([3.0]), np.array([2.0]), 4)
    assert order_quantity(*args, np.inf)[0] == 8
    assert order_quantity(*args, 12.0)[0] == 4
    assert order_quantity(np.array([4.0]), np.array([3.0]), np.array([2.0]), 4, np.inf)[0] == 0


def test_lost_sales_ratio() -> None:
    assert lost_sales_ratio(12.0, 0.01, 1) == 12.0 / 12.01
    assert lost_sales_ratio(12.0, 0.01, 7) == pytest.approx(12.0 / 12.07)


def test_perfect_foresight_uses_packs_better_than_the_net_demand() -> None:
    """Demand 3 a day for 4 days from 3 on hand, packs of 4, orders every day arriving the
    next: ordering each day's net demand in whole packs leaves 3 over (3 x 6, and their
    nights); perfect foresight orders two packs and loses the last day's 1 sale (12)."""
    demand = np.array([[3, 3, 3, 3]])
    costs = StockCosts(margin=12.0, holding_per_day=1.0, order_cost=0.0, left_over=6.0)
    opening = np.array([3])
    orders = perfect_foresight(demand, 1, 1, opening, costs, 4, np.inf)
    best = replay(demand, fixed_orders(orders), 1, 1, opening, costs)
    net = replay(demand, order_up_to(np.full((1, 4), 3), 4, np.inf), 1, 1, opening, costs)
    np.testing.assert_array_equal(orders, [[4, 4, 0, 0]])
    assert (best.cost[0], net.cost[0]) == (12 + 3, 6 + 18)


@settings(max_examples=100, deadline=None, database=None)
@given(
    demand=st.lists(st.integers(0, 5), min_size=3, max_size=7),
    lead_time_days=st.integers(1, 2),
    review=st.integers(1, 3),
    pack_size=st.integers(1, 3),
    capacity=st.one_of(st.just(np.inf), st.integers(3, 15).map(float)),
    opening=st.integers(0, 8),
    money=st.tuples(*(st.floats(0, 10) for _ in range(4))),
)
def test_perfect_foresight_is_the_least_of_every_order_sequence(
    demand: list[int],
    lead_time_days: int,
    review: int,
    pack_size: int,
    capacity: float,
    opening: int,
    money: tuple[float, float, float, float],
) -> None:
    """On tiny cases, no sequence of 0 to 3 packs on each review day whose arrivals find
    room in the storeroom costs less than perfect foresight (all the sequences replayed at once, one
    per row)."""
    costs = StockCosts(*money)
    timing = (lead_time_days, review, np.array([opening]), costs)
    days = review_days(len(demand), lead_time_days, review)
    orders = perfect_foresight(np.array([demand]), *timing, pack_size, capacity)
    best = replay(np.array([demand]), fixed_orders(orders), *timing)
    choices = np.array(list(itertools.product(range(4), repeat=len(days)))).reshape(-1, len(days))
    placed = np.zeros((len(choices), len(demand)))
    placed[:, days] = choices * pack_size
    rows = np.repeat(np.array([demand]), len(choices), axis=0)
    every = replay(
        rows, fixed_orders(placed), lead_time_days, review, np.full(len(choices), opening), costs
    )
    kept = within(every, capacity)
    assert within(best, capacity).all()
    assert best.cost[0] <= every.cost[kept].min() + 1e-9


@st.composite
def cases(draw: st.DrawFn) -> dict:
    stores = draw(st.integers(1, 3))
    days = draw(st.integers(1, 25))
    capacity = draw(st.one_of(st.just(np.inf), st.integers(4, 40).map(float)))
    top = 40 if capacity == np.inf else int(capacity)
    ints = st.integers(0, 9)
    return {
        "demand": np.array(
            draw(st.lists(ints, min_size=stores * days, max_size=stores * days))
        ).reshape(stores, days),
        "levels": np.array(
            draw(st.lists(st.integers(0, 50), min_size=stores * days, max_size=stores * days))
        ).reshape(stores, days),
        "opening": np.array(
            draw(st.lists(st.integers(0, top + 10), min_size=stores, max_size=stores))
        ),
        "lead_time_days": draw(st.integers(1, 4)),
        "review": draw(st.integers(1, 5)),
        "pack_size": draw(st.integers(1, 4)),
        "capacity": capacity,
        "costs": StockCosts(
            margin=draw(st.floats(0, 15)),
            holding_per_day=draw(st.floats(0, 1)),
            order_cost=draw(st.floats(0, 20)),
            left_over=draw(st.floats(0, 8)),
        ),
    }


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cases())
def test_replay_identities_and_the_floor(case: dict) -> None:
    """Whatever the demand, lead time, review period, packs, capacity and levels: the
    identities hold, orders are whole packs within the storeroom, and perfect foresight
    never costs more than the order-up-to policy on the same demand."""
    timing = (case["lead_time_days"], case["review"], case["opening"], case["costs"])
    pack, capacity = case["pack_size"], case["capacity"]
    policy = replay(case["demand"], order_up_to(case["levels"], pack, capacity), *timing)
    orders = perfect_foresight(case["demand"], *timing, pack, capacity)
    floor = replay(case["demand"], fixed_orders(orders), *timing)
    for result in (policy, floor):
        assert_identities(result)
        assert (result.orders % pack == 0).all()
        assert within(result, capacity).all()
    assert (floor.cost <= policy.cost + 1e-9).all()


def benchmark() -> object:
    """benchmarks/stock_replay.py as a module (it runs outside the test suite)."""
    spec = importlib.util.spec_from_file_location(
        "stock_bench", REPO / "benchmarks/stock_replay.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_protection_interval_days() -> None:
    """Days 1..L+R-1 after each origin: a day beyond the 7-day horizon is its weekday's
    within it (day 8 as day 1), a day after the period is 0; the true totals the same days."""
    bench = benchmark()
    daily = np.arange(1.0, 1 + 9 * 7).reshape(1, 9, 7)  # 1 store, 9 origins, horizons 1..7
    means = bench.interval_means(daily, 8)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(means[0, 0], [*range(1, 8), 1])
    # origin 5: days 1..3 in the period, then 0
    np.testing.assert_array_equal(means[0, 5], [36, 37, 38, 0, 0, 0, 0, 0])
    totals = bench.interval_totals(np.array([[1.0, 2, 3, 4, 5]]), 2)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(totals, [[5, 7, 9, np.nan, np.nan]])


def test_stores_replayed_apart_summarise_as_one_replay() -> None:
    """evaluate replays each partition of stores apart: their stores' figures, joined,
    give the summary of one replay of all the stores."""
    rng = np.random.default_rng(7)
    demand = rng.poisson(4, (5, 30)).astype(float)
    levels = rng.integers(0, 15, (5, 30)).astype(float)
    costs = StockCosts(margin=12.0, holding_per_day=0.01, order_cost=1.0, left_over=6.0)
    opening = np.array([3.0, 0.0, 8.0, 2.0, 5.0])

    def replayed(stores: slice) -> Replay:
        rule = order_up_to(levels[stores], 2, np.inf)
        return replay(demand[stores], rule, 2, 3, opening[stores], costs)

    whole = replay_summary(replayed(slice(None)))
    parts = [store_figures(replayed(slice(0, 2))), store_figures(replayed(slice(2, None)))]
    joined = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    assert summary_of_stores(joined) == pytest.approx(whole, rel=1e-12)
    assert whole["cost"] == pytest.approx(
        sum(whole[key] for key in ("lost_margin", "holding", "ordering", "left_over"))
    )
