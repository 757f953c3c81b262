"""Scores of a period's forecasts (the test period's, the validation period's): overall, per
horizon and on rainy and dry days."""

from __future__ import annotations

import pandas as pd

from umbrella.money.metrics import SUMS, error_terms, scores, skill

MODEL, BASELINE, ORACLE = "model", "baseline", "oracle"
# The model's orders at its one tau*, beside its orders at each day's ratio (costs.py).
MODEL_SINGLE = "model_single_tau"
# The best order given only what is known at the origin (simulated data only): the limit.
ORACLE_INFO = "oracle_info"


CELL = ["forecaster", "store", "horizon", "rain"]  # the keys of score_cells


def score_cells(
    results: pd.DataFrame, forecasters: list[str], rain_threshold_mm: float
) -> pd.DataFrame:
    """The sums of every forecaster's error terms per store, horizon and rain/dry target day.

    results: one row per (store, origin, horizon) of the test period with demand, rain_mm
    (observed on the target day), the row's costs (underage, overage) and, per
    forecaster, `<name>_forecast` and `<name>_order`.
    Cells of different stores add up, so partitions of stores are scored one at a time and
    combined (evaluation_metrics).
    """
    keys = pd.DataFrame(
        {
            "store": results["store"].astype(str).to_numpy(),
            "horizon": results["horizon"].to_numpy(dtype=int),
            "rain": (results["rain_mm"] >= rain_threshold_mm).to_numpy(),
        }
    )
    cells = []
    for name in forecasters:
        terms = error_terms(
            results["demand"].to_numpy(),
            results[f"{name}_forecast"].to_numpy(),
            results[f"{name}_order"].to_numpy(),
            results["underage"].to_numpy(),
            results["overage"].to_numpy(),
        )
        summed = pd.concat([keys, terms], axis=1).groupby(CELL[1:], sort=True).sum()
        cells.append(summed.reset_index().assign(forecaster=name))
    return pd.concat(cells, ignore_index=True)[[*CELL, *SUMS]]


def evaluation_metrics(
    cells: pd.DataFrame,
    forecasters: list[str],
    mase_scale: float,
) -> dict:
    """The metrics (docs/forecasting.md "Money") from the score cells of every store (of one
    or many partitions, in any order: they are summed in store order, so the figures are
    the same bytes whatever the partitioning)."""
    cells = cells.sort_values(CELL, kind="stable")

    def score(mask: pd.Series) -> dict:
        chosen = cells[mask]
        return {
            name: scores(chosen.loc[chosen["forecaster"] == name, SUMS].sum(), mase_scale)
            for name in forecasters
        }

    everything = pd.Series(True, index=cells.index)
    metrics = score(everything)
    metrics["skill"] = {
        key: skill(metrics[MODEL][key], metrics[BASELINE][key]) for key in ("wape", "cost")
    }
    if ORACLE in forecasters:
        metrics["skill"]["cost_vs_oracle"] = metrics[MODEL]["cost"] / metrics[ORACLE]["cost"]
    if ORACLE_INFO in forecasters:
        # The headline efficiency: how far the model is from the best possible order.
        metrics["skill"]["cost_vs_oracle_info"] = (
            metrics[MODEL]["cost"] / metrics[ORACLE_INFO]["cost"]
        )
    metrics["by_horizon"] = {
        str(h): score(cells["horizon"] == h) for h in sorted(cells["horizon"].unique())
    }
    metrics["rain"] = score(cells["rain"])
    metrics["dry"] = score(~cells["rain"])
    return metrics


def period_summary(metrics: dict) -> dict:
    """The figures of a period that choices are made on (the validation period's in
    reports/evaluate.json): the model's cost, seasonal naive's, the share of it saved, and
    the service level beside its target."""
    return {
        "cost": metrics[MODEL]["cost"],
        "baseline_cost": metrics[BASELINE]["cost"],
        "skill_cost": metrics["skill"]["cost"],
        "service_level_mid": metrics[MODEL]["service_level_mid"],
        "service_level_target": metrics[MODEL]["service_level_target"],
    }


# The evaluation's figures a reviewer reads, in order: a dotted key of reports/evaluate.json,
# what it means, and the DVC metrics file that holds it (None: the report only). The
# pull-request report lists them all (report.py). The metrics files hold only what a
# reviewer decides on, in the order `dvc exp show` shows it: metrics/evaluate.json the
# forecasts' money, metrics/stock.json the stock replayed (inventory.carry_over; {} without).
# `dvc metrics show` prints one line per metrics file with a column per key of all the files
# shown, each as wide as its name plus 4: the four keys of evaluate.json take 62 of the 120
# columns of a terminal, the path 23, the monitor's two 34; stock.json's five take 97 with
# its path (tests/stages/test_review_views.py renders both). validation.cost is what
# experiments are chosen on (docs/experiments.md).
EVALUATE_FILE, STOCK_FILE = "evaluate.json", "stock.json"
FIGURES: list[tuple[str, str, str | None]] = [
    ("model.cost", "money lost by the model's orders", EVALUATE_FILE),
    ("skill.cost", "share of seasonal naive's cost saved", EVALUATE_FILE),
    ("gate.passed", "may this model's orders be placed (the gate's checks below)", EVALUATE_FILE),
    ("model.wape", "point forecast error", None),
    ("skill.wape", "share of seasonal naive's error saved", None),
    ("model.service_level", "share of days with demand <= order", None),
    ("model.service_level_mid", "the same, a day with demand = order counting half", None),
    ("test.service_level_target", "service_level_mid's aim: the mean of each day's tau", None),
    ("model_single_tau.cost", "money lost by the model's orders at one tau* for every day", None),
    ("baseline.cost", "money lost by seasonal naive", None),
    ("skill.cost_vs_oracle_info", "model cost / the best possible order's (1 = the limit)", None),
    ("oracle_info.cost", "money lost by the best order given what was known at the origin", None),
    ("oracle.cost", "money lost with the true demand distribution", None),
    # the validation period: the model fitted before it, what choices are made on
    (
        "validation.cost",
        "money lost on the validation period (what choices are made on)",
        EVALUATE_FILE,
    ),
    ("validation.skill_cost", "share of seasonal naive's cost saved there", None),
    ("validation.service_level_mid", "service_level_mid there", None),
    # stock carried over: every forecaster's orders through the same order-up-to policy,
    # replayed day by day (evaluation/stock.py)
    ("stock.cost", "money lost with stock carried over: the model's orders replayed", STOCK_FILE),
    ("stock.skill_cost", "share of seasonal naive's replayed cost saved", STOCK_FILE),
    ("stock.fill_rate", "units sold / units demanded in the model's replay", STOCK_FILE),
    ("stock.vs_oracle_info", "replayed cost / the oracle_info forecast's, same policy", STOCK_FILE),
    ("stock.vs_foresight", "replayed cost / perfect foresight's (the floor)", STOCK_FILE),
    ("stock.model.lost_margin", "of it: the margin of the sales lost", None),
    ("stock.model.holding", "of it: the nights umbrellas spent in stock", None),
    ("stock.model.left_over", "of it: the stock left at the end, sold off at salvage", None),
    ("stock.baseline.cost", "seasonal naive's orders replayed", None),
    ("stock.model.ratio", "the level's quantile of the demand until the next order arrives", None),
    ("stock.critical_ratio", "the textbook ratio p / (p + h R) the ratios tried run up to", None),
]


def figures_of(file: str) -> dict[str, list[str]]:
    """The keys a metrics file holds, by group: {"model": ["cost"], "skill": ["cost"], ...}."""
    keys = [key.split(".") for key, _, where in FIGURES if where == file]
    return {group: [name for g, name in keys if g == group] for group, _ in keys}


HEADLINE = figures_of(EVALUATE_FILE)


def headline(metrics: dict, file: str = EVALUATE_FILE) -> dict:
    """What the metrics `file` holds of the full evaluation: its keys that the evaluation
    has. Costs are rounded to whole money (reports/evaluate.json has them exact), so that
    `dvc exp show` prints 2532263, not 2.5323e+06."""

    def value(group: str, key: str, number: object) -> object:
        money = key == "cost" and group != "skill"  # skill.cost is a share
        return round(number) if money and isinstance(number, float) else number

    top = {
        group: {
            key: value(group, key, metrics[group][key]) for key in keys if key in metrics[group]
        }
        for group, keys in figures_of(file).items()
        if group in metrics
    }
    return {group: keys for group, keys in top.items() if keys}  # none: no validation period


def combine(summary: dict | None, details: dict | None) -> dict | None:
    """A metrics file and its report as one tree (the headline's values win); either alone
    when the other is missing: a revision from before reports/ has its metrics file only."""
    if summary is None or details is None:
        return details if summary is None else summary
    out = dict(details)
    for key, value in summary.items():
        known = out.get(key)
        both = isinstance(value, dict) and isinstance(known, dict)
        out[key] = combine(value, known) if both else value
    return out
