"""Scores of the test-period forecasts: overall, per horizon and on rainy and dry days."""

from __future__ import annotations

import pandas as pd

from umbrella.metrics import forecast_metrics, skill
from umbrella.params import Business

MODEL, BASELINE, ORACLE = "model", "baseline", "oracle"


def _score(rows: pd.DataFrame, forecasters: list[str], business: Business, scale: float) -> dict:
    return {
        name: forecast_metrics(
            rows["demand"].to_numpy(),
            rows[f"{name}_forecast"].to_numpy(),
            rows[f"{name}_order"].to_numpy(),
            business.underage_cost,
            business.overage_cost,
            scale,
        )
        for name in forecasters
    }


def evaluation_metrics(
    results: pd.DataFrame,
    forecasters: list[str],
    business: Business,
    mase_scale: float,
    rain_threshold_mm: float,
) -> dict:
    """The metrics of DESIGN 5 from one row per (store, origin, horizon) of the test period.

    results has demand, horizon, rain_mm (observed on the target day) and, per forecaster,
    `<name>_forecast` and `<name>_order`.
    """
    metrics = _score(results, forecasters, business, mase_scale)
    metrics["skill"] = {
        key: skill(metrics[MODEL][key], metrics[BASELINE][key]) for key in ("wape", "cost")
    }
    if ORACLE in forecasters:
        metrics["skill"]["cost_vs_oracle"] = metrics[MODEL]["cost"] / metrics[ORACLE]["cost"]
    metrics["by_horizon"] = {
        str(h): _score(rows, forecasters, business, mase_scale)
        for h, rows in results.groupby("horizon", sort=True)
    }
    rainy = results["rain_mm"] >= rain_threshold_mm
    metrics["rain"] = _score(results[rainy], forecasters, business, mase_scale)
    metrics["dry"] = _score(results[~rainy], forecasters, business, mase_scale)
    return metrics
