"""The monitor's stock check (inventory.carry_over; issue 26): the stock of the latest window
replayed for the model's orders and seasonal naive's, through the policy and the settings
evaluate chose on the validation period (reports/evaluate.json `stock`), and the window's
stock skill against the test period's (docs/production.md "Watching the model").

The replay is evaluate's (evaluation/stock.py `stock_part`) on the monitor's own rows: every
forecast of every origin in the window, each day's costs, the store's level on the window's
first day for its opening stock; the demand is evaluate's too (the true demand where a truth
file exists, else the sales), so that the window's skill and the test period's are the same
measure. Its noise: the drop of each run of as many days before the window (one a week),
each replayed alone as the window is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.core.errors import DataError
from umbrella.core.files import read_json
from umbrella.core.params import Inventory, Params
from umbrella.core.paths import shown
from umbrella.data.contract.interim import stores_table
from umbrella.evaluation.gate import DETAILS
from umbrella.evaluation.scores import BASELINE, MODEL
from umbrella.evaluation.stock import Setting, StockTask, setting_key, stock_part
from umbrella.money.metrics import skill
from umbrella.ops.monitoring import MIN_DAYS, SIGMAS, judge, lacking_days

RUNS_APART = 7  # days between the starts of the runs before the window (its noise)
MIN_RUNS = 2


@dataclass(frozen=True)
class StockReference:
    """What the test period fixes for the window's replay: each forecaster's setting (the
    level's quantile and `shared`, chosen on the validation period), its negative binomial
    size, the test period's stock skill over seasonal naive, and the stores table (each
    store's capacity with inventory.capacity: stores)."""

    settings: dict[str, Setting]
    sizes: dict[str, float]
    skill: float
    stores: pd.DataFrame | None = None


def stock_reference(inventory: Inventory, sizes: dict[str, float]) -> StockReference | None:
    """With inventory.carry_over, the reference of reports/evaluate.json and the validated
    stores table; `sizes`: the model's and seasonal naive's (evaluation/stock.dispersion)."""
    if not inventory.carry_over:
        return None
    details = read_json(DETAILS) if DETAILS.exists() else {}
    return reference_of(details, sizes, stores_table())


def reference_of(
    details: dict, sizes: dict[str, float], stores: pd.DataFrame | None = None
) -> StockReference:
    """The reference of reports/evaluate.json (`details`): its stock section's settings and
    skill_cost; `stores`: the validated stores table, when there is one."""
    section = details.get("stock")
    if not isinstance(section, dict):
        raise DataError(
            f"{shown(DETAILS)} has no stock section: run `dvc repro evaluate` with "
            "inventory.carry_over: true, or set it to false"
        )
    settings = {
        name: (float(section[name]["ratio"]), float(section[name]["shared"]))
        for name in (MODEL, BASELINE)
    }
    return StockReference(settings, dict(sizes), float(section["skill_cost"]), stores)


def replayed_costs(
    table: pd.DataFrame,
    first: pd.Timestamp,
    last: pd.Timestamp,
    params: Params,
    reference: StockReference,
) -> dict[str, float]:
    """The model's and seasonal naive's replayed cost of the days `first`..`last`, replayed
    alone (the stores open with their level x L): `table` is a forecast table as evaluate's
    (store, origin, horizon, date, demand, underage, level and `<forecaster>_forecast`)."""
    days = table[(table["date"] >= first) & (table["date"] <= last)]
    settings: dict[str, tuple[Setting, ...]] = {
        name: (setting,) for name, setting in reference.settings.items()
    }
    task = StockTask(first, last, params.inventory, params.business, False, settings)
    replays = stock_part(days, days, list(settings), reference.sizes, None, task, reference.stores)
    figures = replays["figures"]
    return {
        name: float(figures[name][setting_key(setting)]["cost"].sum())
        for name, setting in reference.settings.items()
    }


def stock_skill_drop(
    params: Params,
    table: pd.DataFrame,
    opened: pd.Timestamp,
    last: pd.Timestamp,
    reference: StockReference,
    unseen: str | None = None,
) -> dict:
    """The check: the test period's stock skill less the window's (`opened`..`last`), its
    noise (the mean plus SIGMAS standard deviations of the same drop of each run of as many
    days before the window, one a week) and its verdict against `monitor.stock_skill_drop`.
    Too few days on either side (lead_time_days + review_days, at least MIN_DAYS), fewer than
    MIN_RUNS runs before the window, or an `unseen` season: insufficient data."""
    cfg, inventory = params.monitor, params.inventory
    dates = pd.DatetimeIndex(table["date"].unique()).sort_values()
    window_days = int((dates >= opened).sum())
    before = dates[dates < opened]
    least = max(MIN_DAYS, inventory.lead_time_days + inventory.review_days)
    lacking = unseen or lacking_days(window_days, len(before), least)
    length = pd.Timedelta(days=cfg.window_days - 1)
    starts = (
        pd.date_range(before[0], opened - pd.Timedelta(days=1) - length, freq=f"{RUNS_APART}D")
        if len(before)
        else pd.DatetimeIndex([])
    )
    if lacking is None and len(starts) < MIN_RUNS:
        lacking = (
            f"{len(before)} days before the window: its noise needs {MIN_RUNS} runs of "
            f"{cfg.window_days} days, {RUNS_APART} days apart"
        )
    block: dict = {"test": reference.skill}
    if window_days:  # a window longer than the data: from its first day
        costs = replayed_costs(table, max(opened, dates[0]), last, params, reference)
        window = skill(costs[MODEL], costs[BASELINE])
        block["window"] = {
            "skill_cost": window,
            "model_cost": costs[MODEL],
            "baseline_cost": costs[BASELINE],
        }
    else:
        window = float("nan")
    drop = reference.skill - window
    noise = float("nan")
    if lacking is None:
        drops = []
        for first in starts:
            run = replayed_costs(table, first, first + length, params, reference)
            drops.append(reference.skill - skill(run[MODEL], run[BASELINE]))
        noise = float(np.mean(drops) + SIGMAS * np.std(drops))
        block["runs"] = {"count": len(drops), "drop_min": min(drops), "drop_max": max(drops)}
    return {
        **block,
        "settings": {
            name: {"ratio": ratio, "shared": shared}
            for name, (ratio, shared) in reference.settings.items()
        },
        "score": drop,
        "threshold": cfg.stock_skill_drop,
        "noise": noise,
        **judge("stock skill drop", drop, cfg.stock_skill_drop, noise, lacking, one_sided=True),
    }
