"""evaluate: rolling-origin evaluation of the model in money, against seasonal naive and,
on simulated data, against the oracle that knows the true demand distribution; on the test
period and the validation period before it (evaluation/periods.py), each partition of
stores on the engine (`engine`). Writes metrics/evaluate.json (the headline),
metrics/stock.json (the stock replayed: inventory.carry_over), reports/evaluate.json
(everything) and plots/evaluate/.
"""

from __future__ import annotations

import argparse
import logging

from umbrella.core.engine import runner
from umbrella.core.files import write_csv, write_json
from umbrella.core.params import load_params
from umbrella.core.paths import METRICS, PLOTS, REPORTS
from umbrella.evaluation.periods import evaluation
from umbrella.evaluation.plots import evaluation_plots, save_figure, stock_plot
from umbrella.evaluation.scores import BASELINE, EVALUATE_FILE, MODEL, STOCK_FILE, headline

log = logging.getLogger(__name__)
PLOT_DIGITS = 4


def main(args: argparse.Namespace) -> None:
    params = load_params()
    with runner(params.engine) as run:
        metrics, plotted, forecasters, stock_days = evaluation(params, run)
    # The DVC metrics files hold the headlines only; the report holds everything.
    write_json(metrics, REPORTS / "evaluate.json")
    for file in (EVALUATE_FILE, STOCK_FILE):  # stock.json: {} without inventory.carry_over
        write_json(headline(metrics, file), METRICS / file)
    e = params.evaluate
    plots = evaluation_plots(plotted, metrics, forecasters, e.plot_stores, params.base.seed)
    if stock_days is not None:
        plots["stock"] = stock_plot(stock_days, metrics["test"]["scored_against"])
    for name, (data, figure) in plots.items():  # data for dvc plots, the figure as PNG
        write_csv(data, PLOTS / "evaluate" / f"{name}.csv", PLOT_DIGITS)
        save_figure(figure, PLOTS / "evaluate" / f"{name}.png")
    for stale in (PLOTS / "evaluate").glob("*.*"):  # a plot of a run before (the stock's)
        if stale.stem not in plots:
            stale.unlink()
    model, baseline = metrics[MODEL]["cost"], metrics[BASELINE]["cost"]
    log.info(
        "model cost %.0f, baseline %.0f (skill %.3f)", model, baseline, metrics["skill"]["cost"]
    )
    if "stock" in metrics:
        stock = metrics["stock"]
        log.info(
            "stock carried over: model cost %.0f, baseline %.0f (skill %.3f), fill rate %.4f",
            stock["cost"],
            stock[BASELINE]["cost"],
            stock["skill_cost"],
            stock["fill_rate"],
        )
