"""Orders net of the stock a store holds: `umbrella predict --stock` (issue 26;
docs/forecasting.md "Stock that carries over").

A store counts its umbrellas at the close of the last day of sales, the origin t, and
knows what is on its way. The order placed then arrives at the opening of t + L. The stock
position after it (on hand + on order + the order) serves every day until the next order
arrives, t + 1 .. t + L + R - 1. The order brings the position up to S, the policy's
quantile of the demand over those days, in whole packs (money/order_up_to.order_quantity):
the policy the evaluate stage replays, at the setting it chose for the model on the
validation period (reports/evaluate.json, stock.model: the ratio, and `shared`, the days'
level errors' correlation in the total's spread); without one, the textbook ratio and
independent days.

The files (the contract's stock and arrivals tables, data/contract/schemas.py) are refused,
naming the file, column and lines, for a count that is missing, negative or not a whole
number, a store and day given twice, and what data/contract/stock_rules.py checks against
the stores' sales and the storeroom. The order never brings the stock on hand and on order
above the capacity.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.errors import DataError
from umbrella.core.files import read_json
from umbrella.core.params import Inventory
from umbrella.core.paths import ARRIVALS, STOCK, shown
from umbrella.data.contract.rules import listing, typed_table
from umbrella.data.contract.schemas import TABLES
from umbrella.data.contract.stock_rules import Capacity, stock_problems
from umbrella.evaluation.gate import DETAILS
from umbrella.evaluation.scores import MODEL
from umbrella.evaluation.stock import INDEPENDENT, Setting, policy_of
from umbrella.money.order_up_to import order_quantity
from umbrella.money.protection_interval import total_quantile
from umbrella.money.stock_policy import weekday_filled

log = logging.getLogger(__name__)
ORDER_COLUMNS = [
    "store",
    "order_date",
    "arrival_date",
    "quantity",
    "order_up_to",
    "on_hand",
    "on_order",
    "cover_days",
]


def _read(
    path: Path, name: str, origin: pd.Timestamp, highest: pd.Series, capacity: Capacity
) -> pd.DataFrame:
    """The file typed and checked by the contract's table `name`, then by what the stores'
    sales say (stock_rules.py); every problem in one error."""
    table, problems = typed_table(path, TABLES[name], str(path))
    if table is not None and not problems:
        problems += stock_problems(table, name, origin, highest, capacity, str(path))
    if problems:
        raise DataError(f"invalid {name}: {len(problems)} problem(s)\n{listing(problems)}")
    assert table is not None
    return table


def read_stock(
    stock: Path,
    arrivals: Path | None,
    origin: pd.Timestamp,
    highest: pd.Series,
    capacity: Capacity = None,
) -> tuple[pd.Series, pd.Series]:
    """Per store of `highest` (its highest daily sales), the stock on hand at the close of
    `origin` and the units on their way (0 without an arrivals file), from the files;
    neither above the storeroom's `capacity`."""
    counted = _read(stock, STOCK, origin, highest, capacity)
    coming = None if arrivals is None else _read(arrivals, ARRIVALS, origin, highest, capacity)
    return stock_position(counted, coming, origin, highest.index)


def stock_position(
    counted: pd.DataFrame, coming: pd.DataFrame | None, origin: pd.Timestamp, stores: pd.Index
) -> tuple[pd.Series, pd.Series]:
    """Per store of `stores`, the stock on hand at the close of `origin` (a stock table)
    and the units on their way (an arrivals table; 0 without one)."""
    on_hand = counted[counted["date"] == origin].set_index("store")["on_hand"]
    on_order = pd.Series(0.0, index=stores)
    if coming is not None:
        on_order = coming.groupby("store")["quantity"].sum().reindex(stores, fill_value=0)
    return on_hand.reindex(stores).astype(float), on_order.astype(float)


def chosen_setting(textbook: float) -> Setting:
    """The model's policy setting (ratio, shared) evaluate chose on the validation period;
    the `textbook` ratio and independent days when reports/evaluate.json has none."""
    try:
        model = read_json(DETAILS)["stock"][MODEL]
        return float(model["ratio"]), float(model["shared"])
    except (OSError, ValueError, KeyError, TypeError):
        log.warning(
            "no stock section in %s (run `dvc repro evaluate` with inventory.carry_over: "
            "true): the textbook ratio, the protection interval's days taken as independent",
            shown(DETAILS),
        )
        return textbook, INDEPENDENT


def stock_orders(
    daily: pd.DataFrame,
    on_hand: pd.Series,
    on_order: pd.Series,
    dispersion: float,
    setting: Setting,
    inventory: Inventory,
    stores_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One order per store (ORDER_COLUMNS) from its `daily` forecasts (store, horizon,
    forecast: the mean demand of each day after the origin), net of its stock, by the
    policy's `setting` (ratio, shared); `stores_table` holds each store's capacity
    (inventory.capacity: stores)."""
    table = daily.pivot(index="store", columns="horizon", values="forecast").sort_index(axis=1)
    stores = table.index
    policy = policy_of(inventory, list(stores.astype(str)), stores_table)
    means = weekday_filled(table.to_numpy(float), policy.ahead)
    level = total_quantile(means, dispersion, *setting)
    have, coming = on_hand.reindex(stores).to_numpy(), on_order.reindex(stores).to_numpy()
    quantity = order_quantity(level, have, coming, policy.pack_size, policy.capacity)
    origin = pd.Timestamp(daily["date"].min()) - pd.Timedelta(days=1)
    daily_mean = means.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(daily_mean > 0, (have + coming + quantity) / daily_mean, np.nan)
    return pd.DataFrame(
        {
            "store": stores,
            "order_date": origin.strftime("%Y-%m-%d"),
            "arrival_date": (origin + pd.Timedelta(days=policy.lead_time_days)).strftime(
                "%Y-%m-%d"
            ),
            "quantity": quantity.astype(np.int64),
            "order_up_to": level.astype(np.int64),
            "on_hand": have.astype(np.int64),
            "on_order": coming.astype(np.int64),
            "cover_days": np.round(cover, 1),
        }
    )
