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

from umbrella import plots
from umbrella.evaluation import (
    BASELINE,
    MODEL,
    ORACLE,
    ORACLE_INFO,
    evaluation_metrics,
    headline,
)
from umbrella.features import FORECAST_FEATURES
from umbrella.forecaster import Forecaster
from umbrella.gate import check_gate
from umbrella.interim import Interim, forecasts_used, read_interim
from umbrella.io import write_csv, write_json
from umbrella.metrics import mase_scale, negative_binomial_quantile, to_order
from umbrella.model_io import load_model
from umbrella.models import SeasonalNaive
from umbrella.oracle import oracle_info, simulator_climate
from umbrella.params import Drift, load_params
from umbrella.paths import METRICS, MODELS, PLOTS, PROCESSED, REPORTS
from umbrella.split import test_rows, test_start, training_rows

log = logging.getLogger(__name__)
PLOT_DIGITS = 4
RESIDUAL_SAMPLE = 2000
PLOT_DIR = PLOTS / "evaluate"
FORECAST_DAYS = 91  # the forecast plot shows the last 13 weeks of the test period


def forecast_table(
    test: pd.DataFrame,
    model: Forecaster,
    baseline: SeasonalNaive,
    data: Interim,
    tau: float,
    drift: Drift | None,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per test (store, origin, horizon): sales, demand (true demand where a truth
    file exists, else sales), observed rain, each forecaster's point forecast and order.

    With a truth file (simulated data, drifted by `drift`) also the two limits: the oracle
    (knows the true demand distribution, so the weather that followed) and oracle_info
    (knows the simulator's laws but only what is known at the origin)."""
    table = test[["store", "origin", "horizon", "date", "units", "censored"]].copy()
    table["fc_rain_mm"] = test[FORECAST_FEATURES["rain_mm"]].to_numpy()
    keys = [c for c in ("date", "store") if c in data.weather]
    table = table.merge(data.weather[[*keys, "rain_mm"]], on=keys, how="left")
    for name, forecaster in ((MODEL, model), (BASELINE, baseline)):
        table[f"{name}_forecast"] = forecaster.predict(test)
        table[f"{name}_order"] = to_order(forecaster.predict_quantile(test))
    forecasters = [MODEL, BASELINE]
    if data.truth is None:
        table["demand"] = table["units"]
        return table, forecasters
    # oracle_info's arrays follow `test`'s row order, which the left merges keep.
    info_forecast, info_order = oracle_info(
        test, data.truth, data.weather, data.forecasts, simulator_climate(), drift, tau
    )
    truth = data.truth[["store", "date", "demand", "mean_demand", "dispersion"]]
    table = table.merge(truth, on=["store", "date"], how="left")
    table[f"{ORACLE_INFO}_forecast"], table[f"{ORACLE_INFO}_order"] = info_forecast, info_order
    table[f"{ORACLE}_forecast"] = table["mean_demand"]
    table[f"{ORACLE}_order"] = negative_binomial_quantile(
        table["mean_demand"].to_numpy(), table["dispersion"].to_numpy(), tau
    )
    return table.drop(columns=["mean_demand", "dispersion"]), [*forecasters, ORACLE, ORACLE_INFO]


def write_plots(
    table: pd.DataFrame, metrics: dict, forecasters: list[str], n_stores: int, seed: int
) -> None:
    """Plot data (CSV) and figures (PNG) in plots/evaluate/. The actual series is called
    what it is: true demand on simulated data, sales on a user's data."""
    actual = "true demand" if metrics["test"]["scored_against"] == "true demand" else "sales"
    column = actual.replace(" ", "_")
    stores = sorted(table["store"].unique())[:n_stores]
    one_day = table[(table["horizon"] == 1) & table["store"].isin(stores)]
    # The last weeks only: a year of days in one panel is too dense to read.
    one_day = one_day[one_day["date"] > one_day["date"].max() - pd.Timedelta(days=FORECAST_DAYS)]
    series = one_day.rename(
        columns={"demand": column, f"{MODEL}_forecast": "forecast", f"{MODEL}_order": "order"}
    )
    series = series[["date", "store", column, "forecast", "order"]].sort_values(["store", "date"])
    write_csv(
        series.assign(date=series["date"].dt.strftime("%Y-%m-%d")),
        PLOT_DIR / "forecast.csv",
        PLOT_DIGITS,
    )
    plots.save_figure(plots.forecast_figure(series, column, actual), PLOT_DIR / "forecast.png")

    # Every forecaster has a column (empty without a truth file) so dvc plots always finds it.
    by_horizon = pd.DataFrame(
        [
            {"horizon": int(h)}
            | {f: m[f]["cost"] if f in m else None for f in (MODEL, BASELINE, ORACLE, ORACLE_INFO)}
            for h, m in metrics["by_horizon"].items()
        ]
    )
    write_csv(by_horizon, PLOT_DIR / "horizon.csv", PLOT_DIGITS)
    plots.save_figure(plots.horizon_figure(by_horizon), PLOT_DIR / "horizon.png")

    costs = pd.DataFrame(
        {"forecaster": forecasters, "cost": [metrics[f]["cost"] for f in forecasters]}
    )
    write_csv(costs, PLOT_DIR / "cost.csv", PLOT_DIGITS)
    plots.save_figure(plots.cost_figure(costs), PLOT_DIR / "cost.png")

    sample = table.sample(min(RESIDUAL_SAMPLE, len(table)), random_state=seed)
    residuals = pd.DataFrame(
        {
            "fc_rain_mm": sample["fc_rain_mm"],
            "residual": sample["demand"] - sample[f"{MODEL}_forecast"],
        }
    )
    residuals = residuals.sort_values(["fc_rain_mm", "residual"])
    write_csv(residuals, PLOT_DIR / "residuals.csv", PLOT_DIGITS)
    plots.save_figure(plots.residual_figure(residuals, actual), PLOT_DIR / "residuals.png")


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
    write_plots(table, metrics, forecasters, params.evaluate.plot_stores, params.base.seed)
    log.info(
        "model cost %.0f, baseline %.0f (skill %.3f)",
        metrics[MODEL]["cost"],
        metrics[BASELINE]["cost"],
        metrics["skill"]["cost"],
    )
