"""evaluate's `stock` section: each forecaster's forecasts put through the same order-up-to
policy and replayed day by day against the demand, stock carried over (issue 26;
docs/forecasting.md "Stock that carries over"; the policy and replay: stock_policy.py).

Per partition of stores (`stock_part`, on the engine) every replay is reduced to its
stores' figures (stock_replay.store_figures); `stock_section` joins the partitions in store
order and summarises them, so the figures do not depend on the partitioning.

- The model and seasonal naive: each day an NB of the forecaster's mean and the size fitted
  on its training rows (its `dispersion_`), the days' level errors correlated by `shared`,
  chosen among stock_policy.SHARED by the replayed cost on the validation period (the
  validation model, seasonal naive fitted before it); without a validation period, 0.
- oracle_info (simulated data): its mean with the model's size and `shared` (oracle.py
  returns its mean and order, not its whole distribution).
- oracle (simulated data): the simulator's true mean and size, independent days (as the
  simulator draws them).
- perfect foresight: the cheapest orders knowing the demand, the floor.

The demand is the true demand on simulated data, else the sales: a sold-out day's demand is
undercounted, for every policy alike, so lost sales and their margin are too. Every store
starts the period with its level (mean daily sales over the longest features window before
it) x L. A day without a row (no sales recorded) counts as no demand and no forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.core.errors import DataError
from umbrella.core.params import Business, Inventory
from umbrella.evaluation.scores import BASELINE, MODEL, ORACLE, ORACLE_INFO
from umbrella.forecast.features import LEVEL
from umbrella.money.metrics import skill
from umbrella.money.order_up_to import lost_sales_ratio
from umbrella.money.stock_policy import (
    SHARED,
    Policy,
    StockDays,
    daily_means,
    grid,
    interval_means,
    opening_stock,
    replay_perfect_foresight,
    replay_policy,
)
from umbrella.money.stock_replay import StockCosts, store_figures, summary_of_stores

PERFECT_FORESIGHT = "perfect_foresight"
# The model's cost over another's, by its key in the section (short: `dvc metrics show`).
RATIOS = {ORACLE_INFO: "vs_oracle_info", ORACLE: "vs_oracle", PERFECT_FORESIGHT: "vs_foresight"}
INDEPENDENT = 0.0  # `shared` without a validation period, and the oracle's
# The textbook ratio p / (p + h R) is 1 at holding_per_day 0: an order without bound.
RATIO_MAX = 0.9999


@dataclass(frozen=True)
class StockTask:
    """What a partition's replay needs: the period's days, the policy, the money."""

    first: pd.Timestamp
    last: pd.Timestamp
    inventory: Inventory
    business: Business
    floor: bool  # replay perfect foresight too (the test period)

    @property
    def days(self) -> pd.DatetimeIndex:
        return pd.date_range(self.first, self.last)

    @property
    def policy(self) -> Policy:
        return policy_of(self.inventory)

    @property
    def ratio(self) -> float:
        return policy_ratio(self.inventory, self.business)


def policy_of(inventory: Inventory) -> Policy:
    """The order-up-to policy of the `inventory` block."""
    return Policy(inventory.lead_time_days, inventory.review_days, inventory.pack_size)


def policy_ratio(inventory: Inventory, business: Business) -> float:
    """The order-up-to level's quantile: the textbook ratio at the regular margin."""
    tau = lost_sales_ratio(business.underage_cost, inventory.holding_per_day, inventory.review_days)
    return min(float(tau), RATIO_MAX)


def dispersion(model: object) -> float:
    """The negative binomial size a forecaster fitted on its training rows."""
    size = getattr(model, "dispersion_", None)
    if size is None:
        raise DataError(
            "the model was saved before its spread was kept (dispersion_): the stock replay "
            "needs it; retrain it (dvc repro train) or set inventory.carry_over: false"
        )
    return float(size)


def stock_days(table: pd.DataFrame, test: pd.DataFrame, task: StockTask) -> StockDays:
    """The period's demand, margins and opening stock, per store x day, from the forecast
    table (backtest.forecast_table) and its feature rows `test`."""
    stores = sorted(table["store"].astype(str).unique())
    first = table[table["horizon"] == 1].assign(store=lambda t: t["store"].astype(str))
    demand = np.nan_to_num(grid(first, "demand", stores, task.days))
    margin = np.nan_to_num(grid(first, "underage", stores, task.days))
    rows = test[test["horizon"] == 1].sort_values("date", kind="stable")
    level = rows.groupby(rows["store"].astype(str))[LEVEL].first().reindex(stores)
    return StockDays(
        stores=stores,
        days=task.days,
        demand=demand,
        costs=StockCosts(
            margin=margin,
            holding_per_day=task.inventory.holding_per_day,
            order_cost=task.inventory.order_cost,
            left_over=task.business.unit_cost - task.business.salvage,
        ),
        opening=opening_stock(np.nan_to_num(level.to_numpy(float)), task.inventory.lead_time_days),
    )


def stock_part(
    table: pd.DataFrame,
    test: pd.DataFrame,
    forecasters: list[str],
    sizes: dict[str, float],
    truth: pd.DataFrame | None,
    task: StockTask,
) -> dict:
    """One partition's replays, as its stores' figures: per forecaster and `shared` tried
    (the oracle's: independent days only), and perfect foresight's (task.floor)."""
    period = stock_days(table, test, task)
    policy = task.policy
    horizons = int(table["horizon"].max())
    sizes = dict(sizes)
    tried: dict[str, tuple[float, ...]] = {MODEL: SHARED, BASELINE: SHARED}
    if ORACLE_INFO in forecasters:
        sizes[ORACLE_INFO], tried[ORACLE_INFO] = sizes[MODEL], SHARED
    if ORACLE in forecasters and truth is not None:
        sizes[ORACLE], tried[ORACLE] = float(truth["dispersion"].median()), (INDEPENDENT,)
    figures: dict[str, dict] = {}
    for name, shares in tried.items():
        daily = daily_means(
            table, table[f"{name}_forecast"].to_numpy(float), period.stores, period.days, horizons
        )
        means = np.nan_to_num(interval_means(daily, policy.ahead))
        figures[name] = {
            str(shared): store_figures(
                replay_policy(period, means, sizes[name], task.ratio, shared, policy)[0]
            )
            for shared in shares
        }
    if task.floor:
        figures[PERFECT_FORESIGHT] = store_figures(replay_perfect_foresight(period, policy))
    return {"stores": period.stores, "figures": figures}


def _joined(parts: list[dict], *path: str) -> dict[str, np.ndarray]:
    """The stores' figures at `path` of every partition, in store order."""
    stores = np.concatenate([np.asarray(p["stores"], dtype=object) for p in parts])
    order = np.argsort(stores, kind="stable")
    chosen = []
    for part in parts:
        figures = part["figures"]
        for key in path:
            figures = figures[key]
        chosen.append(figures)
    return {key: np.concatenate([c[key] for c in chosen])[order] for key in chosen[0]}


def chosen_shared(validation: list[dict] | None) -> dict[str, float]:
    """Per forecaster, the `shared` whose replayed cost on the validation period is least
    (the first on a tie); without a validation period, independent days."""
    if validation is None:
        return {MODEL: INDEPENDENT, BASELINE: INDEPENDENT}
    return {
        name: min(SHARED, key=lambda s: float(_joined(validation, name, str(s))["cost"].sum()))
        for name in (MODEL, BASELINE)
    }


def stock_section(
    test: list[dict], validation: list[dict] | None, task: StockTask, truth: bool
) -> dict:
    """reports/evaluate.json's `stock`: the replayed money of every forecaster through the
    same policy, perfect foresight's, and the model's against them."""
    shared = chosen_shared(validation)
    shared[ORACLE_INFO], shared[ORACLE] = shared[MODEL], INDEPENDENT
    inventory = task.inventory
    out: dict = {
        "lead_time_days": inventory.lead_time_days,
        "review_days": inventory.review_days,
        "holding_per_day": inventory.holding_per_day,
        "pack_size": inventory.pack_size,
        "order_cost": inventory.order_cost,
        "critical_ratio": task.ratio,
        "demand": "true demand" if truth else "sales (a sold-out day's demand undercounted)",
        "shared_chosen_on": "none (no validation period)" if validation is None else "validation",
    }
    figures = test[0]["figures"]
    for name in (MODEL, BASELINE, ORACLE_INFO, ORACLE):
        if name in figures:
            summary = summary_of_stores(_joined(test, name, str(shared[name])))
            out[name] = {**summary, "shared": shared[name]}
    if PERFECT_FORESIGHT in figures:
        out[PERFECT_FORESIGHT] = summary_of_stores(_joined(test, PERFECT_FORESIGHT))
    # The section's headline (metrics/stock.json): the model's money and fill rate, and
    # its cost against seasonal naive's, the limits' and perfect foresight's.
    cost = out[MODEL]["cost"]
    out["cost"], out["fill_rate"] = cost, out[MODEL]["fill_rate"]
    out["skill_cost"] = skill(cost, out[BASELINE]["cost"])
    for other, key in RATIOS.items():
        if other in out and out[other]["cost"]:
            out[key] = cost / out[other]["cost"]
    return out
