"""Orders net of the stock a store holds (`umbrella predict --stock`, ops/stock_orders.py):
the order-up-to arithmetic on hand-made forecasts, every bad stock file refused naming the
file, column and lines, and the command end to end on a retailer's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_params, set_params
from support.retailer_project import predict_files

from umbrella.core.errors import DataError
from umbrella.core.params import Inventory
from umbrella.data.contract.stock_rules import STOCK_DAYS_MAX
from umbrella.evaluation.stock import policy_ratio
from umbrella.money.protection_interval import total_quantile
from umbrella.ops.stock_orders import ORDER_COLUMNS, read_stock, stock_orders

ORIGIN = pd.Timestamp("2024-03-31")
HIGHEST = pd.Series({"S1": 10, "S2": 4})  # each store's highest daily sales


def daily(means: dict[str, list[float]]) -> pd.DataFrame:
    """predict's daily rows: each store's mean demand of the days after ORIGIN."""
    return pd.DataFrame(
        [
            {
                "store": store,
                "date": (ORIGIN + pd.Timedelta(days=h)).strftime("%Y-%m-%d"),
                "horizon": h,
                "forecast": mean,
            }
            for store, values in means.items()
            for h, mean in enumerate(values, start=1)
        ]
    )


def test_the_order_brings_the_stock_position_up_to_the_level() -> None:
    inventory = Inventory(lead_time_days=2, review_days=2, holding_per_day=0.05, pack_size=6)
    means = {"S1": [3.0, 4.0, 5.0, 6.0, 9.0], "S2": [1.0, 1.0, 1.0, 1.0, 1.0]}
    on_hand, on_order = pd.Series({"S1": 2.0, "S2": 40.0}), pd.Series({"S1": 5.0, "S2": 0.0})
    ratio = 0.98  # the setting evaluate chose (the textbook one: 8 / (8 + 0.05 x 2))
    out = stock_orders(daily(means), on_hand, on_order, 4.0, (ratio, 0.5), inventory)
    assert list(out.columns) == ORDER_COLUMNS
    # The protection interval: L + R - 1 = 3 days after the origin.
    level = total_quantile(np.array([[3.0, 4.0, 5.0], [1.0, 1.0, 1.0]]), 4.0, ratio, 0.5)
    assert out["order_up_to"].tolist() == level.astype(int).tolist()
    s1 = out.iloc[0]
    wanted = level[0] - 2 - 5
    assert s1["quantity"] == 6 * np.ceil(wanted / 6)  # whole packs, rounded up
    assert (s1["order_date"], s1["arrival_date"]) == ("2024-03-31", "2024-04-02")
    assert (s1["on_hand"], s1["on_order"]) == (2, 5)
    assert s1["cover_days"] == pytest.approx((2 + 5 + s1["quantity"]) / 4.0, abs=0.05)
    # Stock above the level: nothing ordered.
    assert out.iloc[1]["quantity"] == 0 and out.iloc[1]["order_up_to"] < 40


def test_the_storeroom_caps_the_order_in_whole_packs() -> None:
    inventory = Inventory(lead_time_days=2, review_days=2, pack_size=6, capacity=20)
    means = {"S1": [3.0, 4.0, 5.0], "S2": [30.0, 30.0, 30.0]}
    on_hand, on_order = pd.Series({"S1": 2.0, "S2": 0.0}), pd.Series({"S1": 5.0, "S2": 0.0})
    out = stock_orders(daily(means), on_hand, on_order, 4.0, (0.98, 0.0), inventory)
    # Room for 20 - 7 = 13: two packs of 6, though the level asks for more.
    assert out.iloc[0]["order_up_to"] > 20 and out.iloc[0]["quantity"] == 12
    assert out.iloc[1]["quantity"] == 18  # an empty storeroom: three packs, not four
    roomy = Inventory(lead_time_days=2, review_days=2, pack_size=6)
    uncapped = stock_orders(daily(means), on_hand, on_order, 4.0, (0.98, 0.0), roomy)
    assert (uncapped["quantity"] > out["quantity"]).all()


def test_each_store_its_own_storeroom() -> None:
    """inventory.capacity: stores: each store's capacity from the stores table; a store's
    order fills its own room, and a room too small for a pack is refused."""
    inventory = Inventory(lead_time_days=2, review_days=2, pack_size=6, capacity="stores")
    means = {"S1": [30.0, 30.0, 30.0], "S2": [30.0, 30.0, 30.0]}
    empty = pd.Series({"S1": 0.0, "S2": 0.0})
    rooms = pd.DataFrame({"store": ["S1", "S2"], "capacity": [20, 40]})
    out = stock_orders(daily(means), empty, empty, 4.0, (0.98, 0.0), inventory, rooms)
    assert out["quantity"].tolist() == [18, 36]  # whole packs within 20 and 40
    with pytest.raises(DataError, match=r"below inventory.pack_size \(6\).*stores S1"):
        small = rooms.assign(capacity=[5, 40])
        stock_orders(daily(means), empty, empty, 4.0, (0.98, 0.0), inventory, small)
    with pytest.raises(DataError, match=r"needs a capacity column in data\.stores"):
        stock_orders(daily(means), empty, empty, 4.0, (0.98, 0.0), inventory, rooms[["store"]])


def test_stock_above_a_stores_own_storeroom_is_refused(tmp_path: Path) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("store,date,on_hand\nS1,2024-03-31,25\nS2,2024-03-31,25\n")
    rooms = pd.Series({"S1": 30.0, "S2": 20.0})
    with pytest.raises(DataError, match=r"on_hand: more than the store's capacity") as info:
        read_stock(stock, None, ORIGIN, HIGHEST, capacity=rooms)
    assert "lines 3" in str(info.value) and "S2" in str(info.value)


def test_a_weekly_order_takes_the_weekday_of_a_day_beyond_the_horizon() -> None:
    """L = 2, R = 7: the order serves days 1..8 after the origin; day 8 is past the 7-day
    horizon and takes day 1's forecast, the same weekday."""
    inventory = Inventory(lead_time_days=2, review_days=7)
    means = {"S1": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}
    none = pd.Series({"S1": 0.0})
    out = stock_orders(daily(means), none, none, 4.0, (0.9, 0.5), inventory)
    days = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 1.0]])
    assert out["order_up_to"].tolist() == total_quantile(days, 4.0, 0.9, 0.5).tolist()
    assert out["cover_days"].iloc[0] == pytest.approx(out["quantity"].iloc[0] / 3.625, abs=0.05)


def test_the_store_managers_week_of_the_docs() -> None:
    """docs/forecasting.md "Stock that carries over", its week in a store: 4 on the shelf,
    6 on their way, about 5 and 7 sold on the next two days, the default inventory and
    business: up to 34, order 24."""
    params = make_params()
    on_hand, on_order = pd.Series({"S1": 4.0}), pd.Series({"S1": 6.0})
    textbook = policy_ratio(params.inventory, params.business)
    week = daily({"S1": [5.0, 7.0, 6.0]})
    out = stock_orders(week, on_hand, on_order, 4.6, (textbook, 0.0), params.inventory)
    assert params.inventory.lead_time_days + params.inventory.review_days - 1 == 2
    assert (out.iloc[0]["order_up_to"], out.iloc[0]["quantity"]) == (34, 24)


def test_a_store_expecting_no_demand_orders_nothing_and_has_no_cover() -> None:
    inventory = Inventory(lead_time_days=1, review_days=1)
    nothing = pd.Series({"S1": 0.0})
    out = stock_orders(daily({"S1": [0.0]}), nothing, nothing, 2.0, (0.99, 0.0), inventory)
    assert out["quantity"].tolist() == [0] and out["cover_days"].isna().all()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_stock_and_the_arrivals_are_read_per_store(tmp_path: Path) -> None:
    stock = write(tmp_path / "stock.csv", "store,date,on_hand\nS1,2024-03-30,9\nS1,2024-03-31,3\n"
                  "S2,2024-03-31,0\n")  # fmt: skip
    arrivals = write(tmp_path / "arrivals.csv", "store,date,quantity\nS1,2024-04-01,4\n"
                     "S1,2024-04-02,2\n")  # fmt: skip
    on_hand, on_order = read_stock(stock, arrivals, ORIGIN, HIGHEST)
    assert on_hand.to_dict() == {"S1": 3.0, "S2": 0.0}  # the count at the origin's close
    assert on_order.to_dict() == {"S1": 6.0, "S2": 0.0}
    assert read_stock(stock, None, ORIGIN, HIGHEST)[1].to_dict() == {"S1": 0.0, "S2": 0.0}


GOOD_STOCK = "store,date,on_hand\nS1,2024-03-31,3\nS2,2024-03-31,0\n"


def test_stock_above_the_storeroom_is_refused(tmp_path: Path) -> None:
    stock = write(tmp_path / "stock.csv", "store,date,on_hand\nS1,2024-03-31,31\nS2,2024-03-31,0\n")
    arrivals = write(tmp_path / "arrivals.csv", "store,date,quantity\nS2,2024-04-01,20\n"
                     "S2,2024-04-02,11\n")  # fmt: skip
    rule = r"more than inventory.capacity \(30\), the most a storeroom holds"
    with pytest.raises(DataError, match=rf"stock\.csv, column on_hand: {rule} \(1 row; lines 2"):
        read_stock(stock, None, ORIGIN, HIGHEST, capacity=30)
    good = write(tmp_path / "good.csv", GOOD_STOCK)
    with pytest.raises(DataError, match=rf"arrivals\.csv, column quantity: {rule}.*lines 2, 3"):
        read_stock(good, arrivals, ORIGIN, HIGHEST, capacity=30)
    assert read_stock(stock, None, ORIGIN, HIGHEST, capacity=31)[0]["S1"] == 31


@pytest.mark.parametrize(
    ("stock", "arrivals", "message"),
    [
        ("store,date,on_hand\nS1,2024-03-31,-1\nS2,2024-03-31,0\n", None,
         r"stock\.csv, column on_hand: must be >= 0 \(1 row; lines 2"),
        ("store,date,on_hand\nS1,2024-03-31,2\nS1,2024-03-31,3\nS2,2024-03-31,0\n", None,
         r"stock\.csv.*lines 2, 3"),
        ("store,date,on_hand\nS1,2024-03-31,2\nS2,2024-03-31,0\nS9,2024-03-31,0\n", None,
         r"stock\.csv, column store: stores without sales history \(1 row; lines 4; e\.g\. S9"),
        ("store,date,on_hand\nS1,2024-03-31,2\n", None,
         r"stock\.csv, column store: stores with sales but no stock counted at the close of "
         r"2024-03-31 \(1 row.*S2"),
        (GOOD_STOCK + "S1,2024-04-01,2\n", None,
         r"stock\.csv, column date: after the last day of sales \(2024-03-31\).*lines 4"),
        (f"store,date,on_hand\nS1,2024-03-31,{10 * STOCK_DAYS_MAX + 1}\nS2,2024-03-31,0\n", None,
         rf"stock\.csv, column on_hand: more than {STOCK_DAYS_MAX} days.*lines 2; e\.g\. S1"),
        (GOOD_STOCK, "store,date,quantity\nS1,2024-03-31,4\n",
         r"arrivals\.csv, column date: on or before the last day of sales.*lines 2"),
        (GOOD_STOCK, "store,date,quantity\nS2,2024-04-01,1000\nS2,2024-04-02,461\n",
         r"arrivals\.csv, column quantity: more than 365 days.*lines 2, 3"),
        ("store,date\nS1,2024-03-31\n", None, r"stock\.csv, column on_hand: required column"),
    ],
)  # fmt: skip
def test_bad_stock_files_are_refused_naming_file_column_and_lines(
    tmp_path: Path, stock: str, arrivals: str | None, message: str
) -> None:
    stock_file = write(tmp_path / "stock.csv", stock)
    arrivals_file = None if arrivals is None else write(tmp_path / "arrivals.csv", arrivals)
    with pytest.raises(DataError, match=message):
        read_stock(stock_file, arrivals_file, ORIGIN, HIGHEST)


@pytest.mark.slow
def test_predict_with_stock_orders_net_of_it_and_refuses_without(project: Path) -> None:
    """A retailer's files with inventory.carry_over: refused without --stock (the file
    named by --out untouched), one order per store with it, refused with bad stock."""
    set_params(project, {"inventory": {"carry_over": True}})
    (project / "orders.csv").write_text("the previous orders")
    refused = predict_files(project)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Give --stock FILE (store, date, on_hand" in refused.stderr
    assert (project / "orders.csv").read_text() == "the previous orders"

    sales = pd.read_csv(project / "latest" / "sales.csv")
    last, stores = sales["date"].max(), sorted(sales["store"].unique())
    stock = project / "stock.csv"
    pd.DataFrame({"store": stores, "date": last, "on_hand": [0, 5, 500]}).to_csv(stock, index=False)
    made = predict_files(project, extra=["--stock", str(stock)])
    assert made.returncode == 0, made.stderr
    orders = pd.read_csv(project / "orders.csv")
    assert list(orders.columns) == ORDER_COLUMNS and orders["store"].tolist() == stores
    assert (orders["order_date"] == last).all()
    position = orders["on_hand"] + orders["on_order"] + orders["quantity"]
    assert (position >= orders["order_up_to"]).all()
    assert orders["quantity"].iloc[0] == orders["order_up_to"].iloc[0] > 0  # nothing in stock
    assert orders["quantity"].iloc[2] == 0  # 500 on hand: more than the level

    (project / "orders.csv").write_text("the previous orders")
    stock.write_text(f"store,date,on_hand\n{stores[0]},{last},-3\n")
    bad = predict_files(project, extra=["--stock", str(stock)])
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "stock.csv, column on_hand: must be >= 0 (1 row; lines 2" in bad.stderr
    assert (project / "orders.csv").read_text() == "the previous orders"

    # A storeroom of 100 (inventory.capacity): 500 on hand cannot be.
    set_params(project, {"inventory": {"capacity": 100}})
    pd.DataFrame({"store": stores, "date": last, "on_hand": [0, 5, 500]}).to_csv(stock, index=False)
    full = predict_files(project, extra=["--stock", str(stock)])
    assert full.returncode == 2 and "more than inventory.capacity (100)" in full.stderr


@pytest.mark.slow
def test_stock_options_that_do_not_go_together_are_refused(project: Path) -> None:
    stock = write(project / "stock.csv", GOOD_STOCK)
    # carry_over false (the project's): no stock to order net of
    daily_only = predict_files(project, extra=["--stock", str(stock)])
    assert (
        daily_only.returncode == 2
        and "(--stock or data.stock) with inventory.carry_over: false" in (daily_only.stderr)
    )
    alone = predict_files(project, extra=["--arrivals", str(stock)])
    assert alone.returncode == 2 and "give --stock too" in alone.stderr
    both = predict_files(project, extra=["--stock", str(stock), "--costs", str(stock)])
    assert both.returncode == 2 and "--costs with --stock is not supported" in both.stderr
