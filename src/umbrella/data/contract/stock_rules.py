"""The stock and arrivals tables checked against what the stores' sales say (docs/data.md
"The stock"): for validate (the simulated retailer's stock history) and for predict
(a retailer's stock file, `--stock` or data.stock), the same rules.

A count belongs to a store with sales, on or before the last day of sales (a later count's
sales are missing), and every store with sales is counted at its close; an arrival comes
after that day (else it is on the shelf, counted already). Neither exceeds STOCK_DAYS_MAX
days of the store's highest daily sales (no count but a typo) nor the storeroom's capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.core.errors import MAX_LISTED
from umbrella.core.paths import STOCK
from umbrella.data.contract.rules import Problem, problem

# More stock than a year of the store's best day's sales is no count but a typo.
STOCK_DAYS_MAX = 365
# The storeroom's capacity: one value for every store, one per store, or no limit.
Capacity = float | pd.Series | None


def stock_problems(
    table: pd.DataFrame,
    name: str,
    origin: pd.Timestamp,
    highest: pd.Series,
    capacity: Capacity,
    label: str,
) -> list[Problem]:
    """Every problem of a typed stock (`name` STOCK) or arrivals table against the stores'
    `highest` daily sales (by store) and the last day of sales, `origin`."""
    day = f"the last day of sales ({origin.date()})"
    problems = []
    if name == STOCK:
        count, units = "on_hand", table["on_hand"]
        off_day = table["date"] > origin
        when = f"after {day}: the sales of those days are missing"
        problems += _uncounted(table, origin, highest, label)
    else:  # every arrival of a store together
        count, units = "quantity", table.groupby("store")["quantity"].transform("sum")
        off_day = table["date"] <= origin
        when = f"on or before {day}: count it in the stock"
    most = table["store"].map(highest).astype(float) * STOCK_DAYS_MAX
    room = room_of(table["store"], capacity)
    absurd = f"more than {STOCK_DAYS_MAX} days of the store's highest daily sales"
    full = _full(capacity)
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
    return problems


def room_of(stores: pd.Series | pd.Index, capacity: Capacity) -> np.ndarray:
    """Each of `stores`' capacity: infinite without a limit (or a store without one)."""
    if capacity is None:
        return np.full(len(stores), np.inf)
    if isinstance(capacity, pd.Series):
        return pd.Index(stores).map(capacity).to_numpy(float, na_value=np.inf)
    return np.full(len(stores), float(capacity))


def _full(capacity: Capacity) -> str:
    if isinstance(capacity, pd.Series):
        return "more than the store's capacity (data.stores, column capacity)"
    return f"more than inventory.capacity ({capacity}), the most a storeroom holds"


def _uncounted(
    table: pd.DataFrame, origin: pd.Timestamp, highest: pd.Series, label: str
) -> list[Problem]:
    counted = set(table.loc[table["date"] == origin, "store"])
    missing = sorted(set(highest.index) - counted)
    if not missing:
        return []
    rule = f"stores with sales but no stock counted at the close of {origin.date()}"
    return [Problem(label, "store", rule, len(missing), [], missing[:MAX_LISTED])]
