"""monitor: drift of the latest window against the training reference, and decay of the
model's skill in that window against the test period. Writes metrics/monitor.json.

`umbrella monitor --fail-on degraded` (or `drift`) exits 1 when the status is at least
that bad, for automation.
"""

from __future__ import annotations

import argparse
import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from umbrella.evaluation import BASELINE, MODEL
from umbrella.features import holiday_flags
from umbrella.interim import Interim, read_interim
from umbrella.io import write_csv, write_json
from umbrella.metrics import forecast_metrics, skill, to_order
from umbrella.model_io import load_model
from umbrella.models import SeasonalNaive, store_scale
from umbrella.monitoring import (
    demand_response_shift,
    demand_table,
    feature_drift,
    psi,
    same_season,
    status,
)
from umbrella.params import Params, load_params
from umbrella.paths import METRICS, MODELS, PLOTS, PROCESSED
from umbrella.plots import save_figure
from umbrella.split import test_start, training_rows

log = logging.getLogger(__name__)
NUMERIC = [
    "fc_rain_mm",
    "fc_rain_prob",
    "fc_temp_max",
    "rain_origin",
    "level",
    "sales_mean_7",
    "same_weekday_mean",
    "price",
]
BINARY = ["promo"]
SEVERITY = {"ok": 0, "drift": 1, "degraded": 2}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on", choices=["drift", "degraded"], help="exit 1 when the status is this or worse"
    )


def performance(
    rows: pd.DataFrame, point: np.ndarray, model: object, baseline: SeasonalNaive, params: Params
) -> dict[str, float]:
    """wape, bias and cost of the model (point forecast `point`) against sales, and its skill
    over the baseline."""
    b = params.business
    y = rows["units"].to_numpy()
    forecasts = {
        MODEL: (point, model.predict_quantile(rows)),
        BASELINE: (baseline.predict(rows), baseline.predict_quantile(rows)),
    }
    scores = {
        name: forecast_metrics(y, mean, to_order(q), b.underage_cost, b.overage_cost, 1.0)
        for name, (mean, q) in forecasts.items()
    }
    return {
        "rows": len(rows),
        "model_wape": scores[MODEL]["wape"],
        "model_bias": scores[MODEL]["bias"],
        "model_service_level": scores[MODEL]["service_level"],
        "baseline_wape": scores[BASELINE]["wape"],
        "skill_cost": skill(scores[MODEL]["cost"], scores[BASELINE]["cost"]),
    }


def monitor(params: Params, features: pd.DataFrame, data: Interim, model: object) -> dict:
    """Diagnostics and status of the latest `monitor.window_days` days.

    Status: `degraded` when the model's skill over seasonal naive fell by more than
    `skill_drop` against the test period; `drift` when demand no longer responds to its
    inputs as it did (a changed level or rain effect): sales against what the training
    years' response to the real weather and calendar expects moved by more than
    `demand_shift` (log ratio), or the model's scaled residuals moved (PSI above
    `residual_threshold`), or its relative bias moved by more than `bias_shift`, each
    against the test period before the window. Feature and target drift are
    reported but do not set the status: in a 28-day window the weather of one month differs
    from the same month of other years far more than a model-breaking change does
    (benchmarks/monitor_rates.py measures it).
    """
    cfg = params.monitor
    first, last = data.sales["date"].min(), data.sales["date"].max()
    start = test_start(first, last, params.split)
    window_start = last - pd.Timedelta(days=cfg.window_days - 1)
    known = features[features["units"].notna()]
    in_window = known["date"] >= window_start
    one_day = known[known["horizon"] == 1]
    window = one_day[one_day["date"] >= window_start]
    reference = one_day[
        (one_day["date"] < start) & same_season(one_day["date"], window["date"], cfg.season_days)
    ]
    drift = feature_drift(reference, window, NUMERIC, BINARY, cfg.psi_threshold, cfg.js_threshold)
    drift["units"] = _psi_entry(reference["units"], window["units"], cfg.psi_threshold)

    before, latest = known[(known["date"] >= start) & ~in_window], known[in_window]
    # The model's point forecasts, once: the residuals and the performance both use them.
    point_before, point_latest = model.predict(before), model.predict(latest)
    residual = _psi_entry(
        _scaled_residual(before, point_before),
        _scaled_residual(latest, point_latest),
        cfg.residual_threshold,
    )
    train = training_rows(features, start, params.train.censored)
    baseline = SeasonalNaive(quantile=params.business.service_level).fit(train, train["units"])
    test_perf = performance(before, point_before, model, baseline, params)
    window_perf = performance(latest, point_latest, model, baseline, params)
    drop = test_perf["skill_cost"] - window_perf["skill_cost"]
    decayed = bool(len(before) > 0 and drop > cfg.skill_drop)
    bias_shift = window_perf["model_bias"] - test_perf["model_bias"]
    shifted = bool(abs(bias_shift) > cfg.bias_shift)
    holidays = holiday_flags(data.sales["date"], params.features.holidays)
    demand = demand_response_shift(
        demand_table(data.sales, data.weather, holidays), start, window_start, cfg.demand_shift
    )
    return {
        "status": status(demand["drift"] or residual["drift"] or shifted, decayed),
        "window": {
            "start": str(window_start.date()),
            "end": str(last.date()),
            "reference": f"training days within {cfg.season_days} days of the "
            "window's days of the year",
        },
        "demand_shift": demand,
        "residual": residual,
        "drifted_features": [n for n, d in drift.items() if d["drift"]],
        "features": drift,
        "bias_shift": {"score": bias_shift, "threshold": cfg.bias_shift, "drift": shifted},
        "performance": {
            "test": test_perf,
            "window": window_perf,
            "skill_drop": drop,
            "threshold": cfg.skill_drop,
            "degraded": decayed,
        },
    }


def _scaled_residual(rows: pd.DataFrame, point: np.ndarray) -> pd.Series:
    return (rows["units"] - point) / store_scale(rows)


def _psi_entry(reference: pd.Series, current: pd.Series, threshold: float) -> dict:
    score = psi(reference.to_numpy(float), current.to_numpy(float))
    return {
        "method": "psi",
        "score": score,
        "threshold": threshold,
        "drift": bool(score > threshold),
    }


def alarm_table(result: dict) -> pd.DataFrame:
    """Every score with its threshold: the two that set the status, then the features."""
    scores = {
        "demand shift (status)": {
            **result["demand_shift"],
            "score": abs(result["demand_shift"]["score"]),
        },
        "residual (status)": result["residual"],
        "bias shift (status)": {
            **result["bias_shift"],
            "score": abs(result["bias_shift"]["score"]),
        },
        **result["features"],
    }
    return pd.DataFrame(
        [
            {"feature": n, "score": d["score"], "threshold": d["threshold"]}
            for n, d in scores.items()
        ]
    )


def plot(table: pd.DataFrame, result: dict) -> plt.Figure:
    """Each score as a share of its threshold (above 1 = alarm)."""
    ratio = table["score"] / table["threshold"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.barh(table["feature"], ratio, color=["tab:red" if r > 1 else "tab:blue" for r in ratio])
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlabel("score / threshold")
    ax.set_title(
        f"status: {result['status']}  (skill drop {result['performance']['skill_drop']:+.2f})"
    )
    fig.tight_layout()
    return fig


def main(args: argparse.Namespace | None = None) -> int:
    params = load_params()
    features = pd.read_parquet(PROCESSED / "features.parquet")
    result = monitor(params, features, read_interim(), load_model(MODELS / "model.skops"))
    write_json(result, METRICS / "monitor.json")
    table = alarm_table(result)
    write_csv(table, PLOTS / "monitor.csv", 4)
    save_figure(plot(table, result), PLOTS / "monitor.png")
    log.info(
        "monitor status: %s (demand shift %+.3f, residual psi %.3f, bias shift %+.3f, "
        "skill drop %+.3f; features beyond their drift threshold: %s)",
        result["status"],
        result["demand_shift"]["score"],
        result["residual"]["score"],
        result["bias_shift"]["score"],
        result["performance"]["skill_drop"],
        ", ".join(result["drifted_features"]) or "none",
    )
    fail_on = getattr(args, "fail_on", None)
    if fail_on and SEVERITY[result["status"]] >= SEVERITY[fail_on]:
        log.error("status %s fails --fail-on %s", result["status"], fail_on)
        return 1
    return 0
