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
- oracle_info (simulated data): each day its own mean and variance given what is known at
  the origin (oracle.py: the NB mixed over the weather's posterior), the days independent
  (the simulator draws them so given the weather; the weather's own run of wet days
  across the interval is left out), at the model's ratio.
- oracle (simulated data): the simulator's true mean and size, independent days (as the
  simulator draws them).
- perfect foresight: the cheapest orders knowing the demand, the floor.

The demand is the true demand on simulated data, else the sales: a sold-out day's demand is
undercounted, for every policy alike, so lost sales and their margin are too. Every store
starts the period with its level (mean daily sales over the longest features window before
it) x L, at most its storeroom's capacity (inventory.capacity, or each store's: stores),
which no policy's orders then exceed. A day without a
row (no sales recorded) counts as no demand and no forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.core.errors import MAX_LISTED, DataError
from umbrella.core.params import Business, Inventory
from umbrella.data.contract.stock_rules import Capacity, room_of
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
from umbrella.money.stock_replay import Replay, StockCosts, store_figures, summary_of_stores

PERFECT_FORESIGHT = "perfect_foresight"
PLOTTED = (MODEL, BASELINE)  # the orders whose stock the plot shows, side by side
# The model's cost over another's, by its key in the section (short: `dvc metrics show`).
VERSUS = {ORACLE_INFO: "vs_oracle_info", ORACLE: "vs_oracle", PERFECT_FORESIGHT: "vs_foresight"}
INDEPENDENT = 0.0  # `shared` without a validation period, and the oracle's
# The textbook ratio p / (p + h R) is 1 at holding_per_day 0: an order without bound.
RATIO_MAX = 0.9999


# A policy's setting: the level's quantile (ratio) and the days' level errors' correlation.
Setting = tuple[float, float]
# The ratios tried on the validation period below the textbook one (which is tried too):
# the textbook ratio balances a lost sale against one more review period in stock, not
# against an umbrella still there when the season or the period ends.
LOWER_RATIOS = (0.95, 0.98, 0.99, 0.995)


@dataclass(frozen=True)
class StockTask:
    """What a partition's replay needs: the period's days, the policy, the money, and per
    forecaster the settings to replay (`settings_tried` on the validation period, the
    chosen ones on the test period)."""

    first: pd.Timestamp
    last: pd.Timestamp
    inventory: Inventory
    business: Business
    floor: bool  # replay perfect foresight too (the test period)
    settings: dict[str, tuple[Setting, ...]]
    plot_stores: int = 0  # the first stores (by name) whose days are kept for the plot

    @property
    def days(self) -> pd.DatetimeIndex:
        return pd.date_range(self.first, self.last)

    @property
    def ratio(self) -> float:
        return policy_ratio(self.inventory, self.business)


def store_capacity(inventory: Inventory, stores_table: pd.DataFrame | None) -> Capacity:
    """The storeroom's capacity: inventory.capacity's one value, none, or (`stores`) each
    store's, from the capacity column of the validated stores table."""
    if inventory.capacity is None or isinstance(inventory.capacity, int):
        return inventory.capacity
    if stores_table is None or "capacity" not in stores_table:
        raise DataError(
            "inventory.capacity: stores needs a capacity column in data.stores (each "
            "store's storeroom); add it, or give one capacity for every store"
        )
    capacity = stores_table.set_index(stores_table["store"].astype(str))["capacity"]
    small = capacity.index[capacity < inventory.pack_size]
    if len(small):
        raise DataError(
            f"data.stores, column capacity: below inventory.pack_size ({inventory.pack_size}), "
            f"no room for a pack: stores {', '.join(small[:MAX_LISTED])}"
        )
    return capacity.astype(float)


def policy_of(
    inventory: Inventory, stores: list[str], stores_table: pd.DataFrame | None = None
) -> Policy:
    """The order-up-to policy of the `inventory` block for `stores` (their storerooms)."""
    capacity = store_capacity(inventory, stores_table)
    room = room_of(pd.Index(stores), capacity)
    return Policy(inventory.lead_time_days, inventory.review_days, inventory.pack_size, room)


def policy_stores(table: pd.DataFrame) -> list[str]:
    """The stores of a forecast table, in the order the replay keeps them."""
    return sorted(table["store"].astype(str).unique())


def settings_tried(textbook: float) -> tuple[Setting, ...]:
    """Every (ratio, shared) tried on the validation period: LOWER_RATIOS under the textbook
    ratio, and it, each with every `shared` of SHARED."""
    ratios = sorted({r for r in LOWER_RATIOS if r < textbook} | {textbook})
    return tuple((ratio, shared) for ratio in ratios for shared in SHARED)


def setting_key(setting: Setting) -> str:
    return f"{setting[0]:g} {setting[1]:g}"


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


def stock_days(
    table: pd.DataFrame, test: pd.DataFrame, task: StockTask, policy: Policy
) -> StockDays:
    """The period's demand, margins and opening stock, per store x day, from the forecast
    table (backtest.forecast_table) and its feature rows `test`."""
    stores = policy_stores(table)
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
        opening=np.minimum(
            opening_stock(np.nan_to_num(level.to_numpy(float)), task.inventory.lead_time_days),
            policy.capacity,
        ),
    )


def stock_part(
    table: pd.DataFrame,
    test: pd.DataFrame,
    forecasters: list[str],
    sizes: dict[str, float],
    truth: pd.DataFrame | None,
    task: StockTask,
    stores_table: pd.DataFrame | None = None,
) -> dict:
    """One partition's replays, as its stores' figures: per forecaster of `task.settings`
    and each of its settings, and perfect foresight's (task.floor); `stores_table` holds
    each store's capacity (inventory.capacity: stores)."""
    policy = policy_of(task.inventory, policy_stores(table), stores_table)
    period = stock_days(table, test, task, policy)
    horizons = int(table["horizon"].max())

    def interval(column: str) -> np.ndarray:
        daily = daily_means(
            table, table[column].to_numpy(float), period.stores, period.days, horizons
        )
        return np.nan_to_num(interval_means(daily, policy.ahead))

    sizes = dict(sizes)
    variances = None
    if ORACLE_INFO in forecasters:  # its own spread: independent days, each its variance
        sizes[ORACLE_INFO], variances = np.nan, interval(f"{ORACLE_INFO}_variance")
    if ORACLE in forecasters and truth is not None:
        sizes[ORACLE] = float(truth["dispersion"].median())
    figures: dict[str, dict] = {}
    days: list[pd.DataFrame] = []
    for name, settings in task.settings.items():
        if name not in sizes:  # the limits, without the truth
            continue
        means = interval(f"{name}_forecast")
        spread = variances if name == ORACLE_INFO else None
        figures[name] = {}
        for setting in settings:
            replayed = replay_policy(period, means, sizes[name], *setting, policy, spread)[0]
            figures[name][setting_key(setting)] = store_figures(replayed)
            if name in PLOTTED and task.plot_stores:
                days.append(replayed_days(replayed, period, name, task.plot_stores))
    if task.floor:
        figures[PERFECT_FORESIGHT] = store_figures(replay_perfect_foresight(period, policy))
    plotted = pd.concat(days, ignore_index=True) if days else None
    return {"stores": period.stores, "figures": figures, "days": plotted}


def replayed_days(replayed: Replay, period: StockDays, name: str, stores: int) -> pd.DataFrame:
    """The first `stores` stores' days of a replay (their names come sorted): the stock on
    the shelf at the opening, what arrived, the demand and the sales lost; for the plot."""
    n = min(stores, len(period.stores))
    frame = pd.DataFrame(
        {
            "date": np.tile(period.days, n),
            "store": np.repeat(period.stores[:n], len(period.days)),
            "orders": name,
        }
    )
    for column in ("opening", "arrivals", "demand", "lost"):
        frame[column] = getattr(replayed, column)[:n].ravel()
    return frame


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


def chosen_settings(validation: list[dict] | None, textbook: float) -> dict[str, Setting]:
    """Per forecaster, the setting whose replayed cost on the validation period (its
    partitions' replays) is least, the first on a tie; without one, the textbook ratio and
    independent days."""
    if validation is None:
        return {MODEL: (textbook, INDEPENDENT), BASELINE: (textbook, INDEPENDENT)}
    tried = settings_tried(textbook)

    def cost(name: str, setting: Setting) -> float:
        return float(_joined(validation, name, setting_key(setting))["cost"].sum())

    return {name: min(tried, key=lambda s: cost(name, s)) for name in (MODEL, BASELINE)}


def settings_on_test(chosen: dict[str, Setting]) -> dict[str, tuple[Setting, ...]]:
    """The settings replayed on the test period: each forecaster's chosen one; the limits
    the model's ratio with independent days (the oracle's as the simulator draws them,
    oracle_info's each with its own variance)."""
    model = chosen[MODEL]
    return {
        MODEL: (model,),
        BASELINE: (chosen[BASELINE],),
        ORACLE_INFO: ((model[0], INDEPENDENT),),
        ORACLE: ((model[0], INDEPENDENT),),
    }


def stock_section(test: list[dict], task: StockTask, chosen_on: str, truth: bool) -> dict:
    """reports/evaluate.json's `stock`: the replayed money of every forecaster through the
    same policy (`task.settings`, chosen on `chosen_on`), perfect foresight's, and the
    model's against them."""
    inventory = task.inventory
    out: dict = {
        "lead_time_days": inventory.lead_time_days,
        "review_days": inventory.review_days,
        "holding_per_day": inventory.holding_per_day,
        "pack_size": inventory.pack_size,
        "order_cost": inventory.order_cost,
        "capacity": inventory.capacity,
        "critical_ratio": task.ratio,
        "demand": "true demand" if truth else "sales (a sold-out day's demand undercounted)",
        "settings_chosen_on": chosen_on,
    }
    figures = test[0]["figures"]
    for name in (MODEL, BASELINE, ORACLE_INFO, ORACLE):
        if name in figures:
            (setting,) = task.settings[name]
            summary = summary_of_stores(_joined(test, name, setting_key(setting)))
            out[name] = {**summary, "ratio": setting[0], "shared": setting[1]}
    if PERFECT_FORESIGHT in figures:
        out[PERFECT_FORESIGHT] = summary_of_stores(_joined(test, PERFECT_FORESIGHT))
    # The section's headline (metrics/stock.json): the model's money and fill rate, and
    # its cost against seasonal naive's, the limits' and perfect foresight's.
    cost = out[MODEL]["cost"]
    out["cost"], out["fill_rate"] = cost, out[MODEL]["fill_rate"]
    out["skill_cost"] = skill(cost, out[BASELINE]["cost"])
    for other, key in VERSUS.items():
        if other in out and out[other]["cost"]:
            out[key] = cost / out[other]["cost"]
    return out
