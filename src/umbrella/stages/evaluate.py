"""evaluate: rolling-origin evaluation of the model in money, against seasonal naive and,
on simulated data, against the oracle that knows the true demand distribution; on the test
period and the validation period before it (evaluation/periods.py), each partition of
stores on the engine (`engine`). Writes metrics/evaluate.json (the headline),
reports/evaluate.json (everything) and plots/evaluate/.
"""

from __future__ import annotations

import argparse
import logging

import pandas as pd
from matplotlib.figure import Figure

from umbrella.core.engine import runner
from umbrella.core.files import write_csv, write_json
from umbrella.core.params import load_params
from umbrella.core.partitions import partition_count
from umbrella.core.paths import (
    FEATURES,
    INTERIM,
    METRICS,
    MODEL_FILE,
    MODELS,
    PLOTS,
    REPORTS,
    TRUTH,
    VALIDATION_MODELS,
)
from umbrella.core.split import no_validation, test_start, validation_start
from umbrella.data.contract.interim import sales_span, stores_in
from umbrella.evaluation.gate import gate_verdict
from umbrella.evaluation.periods import score_period, test_block
from umbrella.evaluation.plots import evaluation_plots, save_figure
from umbrella.evaluation.scores import BASELINE, MODEL, headline, period_summary
from umbrella.evaluation.stock import StockTask, stock_section
from umbrella.forecast.calibration import require_one_partition

log = logging.getLogger(__name__)
PLOT_DIGITS = 4
PLOT_DIR = PLOTS / "evaluate"


def write_plots(plots: dict[str, tuple[pd.DataFrame, Figure]]) -> None:
    """Each plot's data (CSV, for dvc plots) and figure (PNG) in plots/evaluate/."""
    for name, (data, figure) in plots.items():
        write_csv(data, PLOT_DIR / f"{name}.csv", PLOT_DIGITS)
        save_figure(figure, PLOT_DIR / f"{name}.png")


def main(args: argparse.Namespace) -> None:
    params = load_params()
    first, last = sales_span()
    start = test_start(first, last, params.split)
    begin = validation_start(first, start, params.split, params.validate.min_history_days)
    parts = partition_count(FEATURES)
    require_one_partition(params.train.calibration, parts)

    def stock(first_day: pd.Timestamp, last_day: pd.Timestamp, floor: bool) -> StockTask | None:
        """inventory.carry_over: the period's stock replayed too (stock_evaluation.py)."""
        if not params.inventory.carry_over:
            return None
        return StockTask(first_day, last_day, params.inventory, params.business, floor)

    with runner(params.engine) as run:
        stores = sum(len(found) for found in run(stores_in, range(parts), {"interim": INTERIM}))
        limits = stores <= params.evaluate.oracle_max_stores
        test_stock = stock(start, last, True)
        metrics, results = score_period(
            params, start, None, MODELS / MODEL_FILE, limits, run, test_stock
        )
        # The validation period, scored as the test period is by the model fitted before it
        # (train); without the limits, which nothing is chosen on (time).
        if begin is None:
            why = no_validation(first, start, params.split, params.validate.min_history_days)
            validation: dict = {"left_out": why}
            stock_chosen_on = None
        else:
            model_file = VALIDATION_MODELS / MODEL_FILE
            before = stock(begin, start - pd.Timedelta(days=1), False)
            scored, parts_scored = score_period(
                params, begin, start, model_file, False, run, before
            )
            stock_chosen_on = [r["stock"] for r in parts_scored]
            validation = {
                "start": str(begin.date()),
                "end": str((start - pd.Timedelta(days=1)).date()),
                "rows": sum(r["rows"] for r in parts_scored),
                **period_summary(scored),
            }

    forecasters = results[0]["forecasters"]
    # The share of days the orders should meet: tau*, or the mean of each day's ratio.
    tau = metrics[MODEL]["service_level_target"]
    metrics["test"] = test_block(params, start, last, results, tau, stores, limits)
    metrics["gate"] = gate_verdict(metrics, params.gate, tau)
    metrics["validation"] = validation
    if test_stock is not None:
        metrics["stock"] = stock_section(
            [r["stock"] for r in results],
            stock_chosen_on,
            test_stock,
            (INTERIM / TRUTH).exists(),
        )
    # The DVC metrics file holds the headline only; the report holds everything.
    write_json(metrics, REPORTS / "evaluate.json")
    write_json(headline(metrics), METRICS / "evaluate.json")
    plotted = pd.concat([r["plotted"] for r in results], ignore_index=True)
    write_plots(
        evaluation_plots(
            plotted, metrics, forecasters, params.evaluate.plot_stores, params.base.seed
        )
    )
    log.info(
        "model cost %.0f, baseline %.0f (skill %.3f)",
        metrics[MODEL]["cost"],
        metrics[BASELINE]["cost"],
        metrics["skill"]["cost"],
    )
    if "stock" in metrics:
        log.info(
            "stock carried over: model cost %.0f, baseline %.0f (skill %.3f), fill rate %.4f",
            metrics["stock"][MODEL]["cost"],
            metrics["stock"][BASELINE]["cost"],
            metrics["stock"]["skill_cost"],
            metrics["stock"][MODEL]["fill_rate"],
        )
