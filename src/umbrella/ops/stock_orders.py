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

The files (data/contract/schemas.py STOCK and ARRIVALS) are refused, naming the file,
column and lines, for a count that is missing, negative or not a whole number, a store and
day given twice, a store without sales, a store with sales but no count at the close of the
origin, a count dated after it (the sales of those days are missing), an arrival on or
before it (it is on the shelf already), and stock above STOCK_DAYS_MAX days of the store's
highest daily sales or above inventory.capacity. The order never brings the stock on hand
and on order above the capacity.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.errors import MAX_LISTED, DataError
from umbrella.core.files import read_json
from umbrella.core.params import Inventory
from umbrella.core.paths import shown
from umbrella.data.contract.rules import Problem, listing, problem, typed_table
from umbrella.data.contract.schemas import ARRIVALS, STOCK, TableSpec
from umbrella.evaluation.gate import DETAILS
from umbrella.evaluation.scores import MODEL
from umbrella.evaluation.stock import INDEPENDENT, Setting, policy_of
from umbrella.money.order_up_to import order_quantity
from umbrella.money.protection_interval import total_quantile

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
# More stock than a year of the store's best day's sales is no count but a typo.
STOCK_DAYS_MAX = 365


def _read(
    path: Path, spec: TableSpec, origin: pd.Timestamp, highest: pd.Series, capacity: int | None
) -> pd.DataFrame:
    """The file typed and checked by `spec`, then by what the stores' sales say; every
    problem in one error."""
    label = str(path)
    table, problems = typed_table(path, spec, label)
    if table is not None and not problems:
        day = f"the last day of sales ({origin.date()})"
        if spec is STOCK:
            count, units = "on_hand", table["on_hand"]
            off_day = table["date"] > origin
            when = f"after {day}: the sales of those days are missing"
            problems += _uncounted(table, origin, highest, label)
        else:  # every arrival of a store together
            count, units = "quantity", table.groupby("store")["quantity"].transform("sum")
            off_day = table["date"] <= origin
            when = f"on or before {day}: count it in the stock"
        most = table["store"].map(highest).astype(float) * STOCK_DAYS_MAX
        room = np.inf if capacity is None else capacity
        absurd = f"more than {STOCK_DAYS_MAX} days of the store's highest daily sales"
        full = f"more than inventory.capacity ({capacity}), the most a storeroom holds"
        checks = [
            (~table["store"].isin(highest.index), "store", "stores without sales history"),
            (off_day, "date", when),
            (units > most, count, absurd),
            (units > room, count, full),
        ]
        for wrong, column, rule in checks:
            if wrong.any():
                shown_values = table[column if column == "date" else "store"][wrong]
                problems.append(problem(label, column, rule, table.index[wrong], shown_values))
    if problems:
        raise DataError(f"invalid {spec.name}: {len(problems)} problem(s)\n{listing(problems)}")
    assert table is not None
    return table


def _uncounted(
    table: pd.DataFrame, origin: pd.Timestamp, highest: pd.Series, label: str
) -> list[Problem]:
    counted = set(table.loc[table["date"] == origin, "store"])
    missing = sorted(set(highest.index) - counted)
    if not missing:
        return []
    rule = f"stores with sales but no stock counted at the close of {origin.date()}"
    return [Problem(label, "store", rule, len(missing), [], missing[:MAX_LISTED])]


def read_stock(
    stock: Path,
    arrivals: Path | None,
    origin: pd.Timestamp,
    highest: pd.Series,
    capacity: int | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Per store of `highest` (its highest daily sales), the stock on hand at the close of
    `origin` and the units on their way (0 without an arrivals file); neither above the
    storeroom's `capacity`."""
    counted = _read(stock, STOCK, origin, highest, capacity)
    on_hand = counted[counted["date"] == origin].set_index("store")["on_hand"]
    on_order = pd.Series(0.0, index=highest.index)
    if arrivals is not None:
        coming = _read(arrivals, ARRIVALS, origin, highest, capacity)
        on_order = coming.groupby("store")["quantity"].sum().reindex(highest.index, fill_value=0)
    return on_hand.reindex(highest.index).astype(float), on_order.astype(float)


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
) -> pd.DataFrame:
    """One order per store (ORDER_COLUMNS) from its `daily` forecasts (store, horizon,
    forecast: the mean demand of each day after the origin), net of its stock, by the
    policy's `setting` (ratio, shared)."""
    policy = policy_of(inventory)
    means = daily[daily["horizon"] <= policy.ahead].pivot(
        index="store", columns="horizon", values="forecast"
    )
    stores = means.index
    level = total_quantile(means.to_numpy(float), dispersion, *setting)
    have, coming = on_hand.reindex(stores).to_numpy(), on_order.reindex(stores).to_numpy()
    quantity = order_quantity(level, have, coming, policy.pack_size, policy.capacity)
    origin = pd.Timestamp(daily["date"].min()) - pd.Timedelta(days=1)
    daily_mean = means.to_numpy(float).mean(axis=1)
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
