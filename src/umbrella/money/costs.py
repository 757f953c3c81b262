"""Each day's newsvendor costs and critical ratio (docs/forecasting.md "Each day's price").

A day's underage cost is the margin its price would have made, price - unit_cost: on a
promotion day (15.99, not 19.99) it is lower, and so is the share of demand worth covering,
its critical ratio tau = c_u / (c_u + c_o). The price is the sales column `price` of the
target day when `business.daily_costs` is set and the day has one; otherwise (no price
column, a day after the data, or daily_costs false) `business.price`. The overage cost
c_o = unit_cost - salvage + holding does not depend on the day. A store's own costs
(`umbrella predict --costs`) replace `business`'s for its rows.

A day sold below its unit cost makes no margin: its underage cost is 0, and it is ordered
at the lowest ratio an order is made at (SERVICE_LEVEL_RANGE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from umbrella.money.newsvendor import (
    SERVICE_LEVEL_RANGE,
    critical_ratio,
    overage_cost,
    underage_cost,
)

COST_COLUMNS = ["price", "unit_cost", "salvage", "holding"]  # of a store's own costs
PRICE_DIGITS = 4  # feature tables hold the price as float32: 19.99 reads 19.9899997711


class Prices(Protocol):
    """The money of params.yaml `business` (core.params.Business) a day's costs need."""

    price: float
    unit_cost: float
    salvage: float
    holding: float
    daily_costs: bool


@dataclass(frozen=True)
class DayCosts:
    """Money per umbrella for each row: lost margin per unmet unit, loss per left-over one."""

    underage: np.ndarray
    overage: np.ndarray

    @property
    def tau(self) -> np.ndarray:
        """Each row's critical ratio, within the range of a meaningful order."""
        return np.clip(critical_ratio(self.underage, self.overage), *SERVICE_LEVEL_RANGE)


def day_costs(rows: pd.DataFrame, business: Prices, stores: pd.DataFrame | None = None) -> DayCosts:
    """The costs of each row (a store and a target day, with the day's `price` if known).

    stores: one row per store with any of COST_COLUMNS, each replacing `business`'s value
    for that store where given (not NaN).
    """
    values = {c: np.full(len(rows), float(getattr(business, c))) for c in COST_COLUMNS}
    if stores is not None:
        own = (
            rows[["store"]]
            .astype(str)
            .merge(stores.assign(store=stores["store"].astype(str)), on="store", how="left")
        )
        for column in COST_COLUMNS:
            if column in own:
                given = own[column].to_numpy(dtype=float)
                values[column] = np.where(np.isnan(given), values[column], given)
    price = values["price"]
    if business.daily_costs and "price" in rows:
        day = np.round(rows["price"].to_numpy(dtype=float), PRICE_DIGITS)
        price = np.where(np.isnan(day), price, day)
    return DayCosts(
        underage=underage_cost(price, values["unit_cost"]),
        overage=overage_cost(values["unit_cost"], values["salvage"], values["holding"]),
    )
