"""evaluate: rolling-origin evaluation of the model in money, against seasonal naive and,
on simulated data, against the oracle that knows the true demand distribution.

Forecasts are scored against demand. On simulated data the truth file gives the true
demand of every day, sold-out days included. On a user's data only sales are known: a
sold-out (censored) day is scored against its sales, a lower bound of its demand, so lost
sales on those days are undercounted for every forecaster alike.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from umbrella.backtest import forecast_table
from umbrella.evaluation import (
    BASELINE,
    MODEL,
    evaluation_metrics,
    headline,
)
from umbrella.gate import check_gate
from umbrella.interim import forecasts_used, read_interim
from umbrella.io import write_csv, write_json
from umbrella.metrics import mase_scale
from umbrella.model_io import load_model
from umbrella.models import SeasonalNaive
from umbrella.params import load_params
from umbrella.paths import METRICS, MODELS, PLOTS, PROCESSED, REPORTS
from umbrella.plots import evaluation_plots, save_figure
from umbrella.split import test_rows, test_start, training_rows

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
    data = read_interim(truth=True)
    features = pd.read_parquet(PROCESSED / "features.parquet")
    first, last = data.sales["date"].min(), data.sales["date"].max()
    start = test_start(first, last, params.split)
    tau = params.business.service_level

    model = load_model(MODELS / "model.skops")
    train = training_rows(features, start, params.train.censored)
    baseline = SeasonalNaive(quantile=tau).fit(train, train["units"].to_numpy())
    test = test_rows(features, start)
    table, forecasters = forecast_table(test, model, baseline, data, tau, params.simulate.drift)

    history = data.sales[data.sales["date"] < start]
    scale = mase_scale(history.pivot(index="store", columns="date", values="units").to_numpy(float))
    metrics = evaluation_metrics(
        table, forecasters, params.business, scale, params.evaluate.rain_threshold_mm
    )
    metrics["test"] = {
        "start": str(start.date()),
        "end": str(last.date()),
        "rows": len(table),
        "censored_share": float(np.mean(table["censored"])),
        "scored_against": "true demand" if data.truth is not None else "sales",
        "service_level_target": tau,
        "forecasts": forecasts_used(data.forecasts, start),
        "model": params.train.model,
    }
    metrics["gate"] = check_gate(metrics, params.gate, tau)
    # The DVC metrics file holds the headline only; the report holds everything.
    write_json(metrics, REPORTS / "evaluate.json")
    write_json(headline(metrics), METRICS / "evaluate.json")
    write_plots(
        evaluation_plots(table, metrics, forecasters, params.evaluate.plot_stores, params.base.seed)
    )
    log.info(
        "model cost %.0f, baseline %.0f (skill %.3f)",
        metrics[MODEL]["cost"],
        metrics[BASELINE]["cost"],
        metrics["skill"]["cost"],
    )
