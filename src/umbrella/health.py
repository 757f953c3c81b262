"""How the model is doing in the latest window: its performance against the test period,
the drift of its inputs, residuals and demand, the alarms and the status they give
(docs/production.md "Watching the model")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.evaluation import BASELINE, MODEL
from umbrella.features import holiday_flags
from umbrella.forecaster import Forecaster
from umbrella.interim import Interim
from umbrella.metrics import forecast_metrics, skill, to_order
from umbrella.models import SeasonalNaive, store_scale
from umbrella.monitoring import (
    demand_response_shift,
    demand_table,
    expected_sales,
    feature_drift,
    psi,
    rain_response_shift,
    same_season,
    status,
)
from umbrella.params import Params
from umbrella.split import test_start, training_rows

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


def performance(
    rows: pd.DataFrame,
    point: np.ndarray,
    model: Forecaster,
    baseline: SeasonalNaive,
    params: Params,
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


def monitor(params: Params, features: pd.DataFrame, data: Interim, model: Forecaster) -> dict:
    """Diagnostics and status of the latest `monitor.window_days` days.

    Status `degraded` (the model needs retraining now), each against the test period
    before the window: the model's skill over seasonal naive fell by more than
    `skill_drop`; or demand no longer responds to its inputs as it did: sales against what
    the training years' response to the real weather and calendar expects moved by more
    than `demand_shift` (log ratio: a changed level), or wet days' demand, seen through
    the stock-outs, moved by more than `wet_demand_shift` (a changed rain response, which
    the sold-out days hide from the sales). Status `drift` (the model's errors moved; look
    before acting): the model's scaled residuals moved (PSI above `residual_threshold`) or
    its relative bias moved by more than `bias_shift`. Feature and target drift are
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
    baseline = SeasonalNaive(quantile=params.business.service_level).fit(
        train, train["units"].to_numpy()
    )
    test_perf = performance(before, point_before, model, baseline, params)
    window_perf = performance(latest, point_latest, model, baseline, params)
    drop = test_perf["skill_cost"] - window_perf["skill_cost"]
    decayed = bool(len(before) > 0 and drop > cfg.skill_drop)
    bias_shift = window_perf["model_bias"] - test_perf["model_bias"]
    shifted = bool(abs(bias_shift) > cfg.bias_shift)
    holidays = holiday_flags(data.sales["date"], params.features.holidays)
    table = demand_table(data.sales, data.weather, holidays)
    later = expected_sales(table, start)  # fitted once, used by both demand checks
    demand = demand_response_shift(table, start, window_start, cfg.demand_shift, later=later)
    wet = rain_response_shift(later, window_start, cfg.wet_demand_shift)
    return {
        "status": status(residual["drift"] or shifted, decayed or demand["drift"] or wet["drift"]),
        "window": {
            "start": str(window_start.date()),
            "end": str(last.date()),
            "reference": f"training days within {cfg.season_days} days of the "
            "window's days of the year",
        },
        "demand_shift": demand,
        "wet_demand_shift": wet,
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


def headline(result: dict) -> dict:
    """metrics/monitor.json: the status and the scores that set it, each named for what it
    is (every detail is in reports/monitor.json)."""
    perf = result["performance"]
    return {
        "monitor": {
            "status": result["status"],
            "window_end": result["window"]["end"],
            "skill_cost_in_window": perf["window"]["skill_cost"],
            "skill_cost_before_window": perf["test"]["skill_cost"],
            "skill_cost_drop": perf["skill_drop"],
            "demand_shift_log": result["demand_shift"]["score"],
            "wet_day_demand_shift_log": result["wet_demand_shift"]["score"],
            "residual_psi": result["residual"]["score"],
            "relative_bias_shift": result["bias_shift"]["score"],
            "features_beyond_drift_threshold": len(result["drifted_features"]),
        }
    }


def alarm_table(result: dict) -> pd.DataFrame:
    """Every score over its threshold (above 1: beyond it): first the checks that set the
    status, then the features, which do not."""
    checks = {
        "skill drop (degraded)": {
            "score": result["performance"]["skill_drop"],
            "threshold": result["performance"]["threshold"],
        },
        "demand shift (degraded)": result["demand_shift"],
        "wet-day demand shift (degraded)": result["wet_demand_shift"],
        "residual (drift)": result["residual"],
        "bias shift (drift)": result["bias_shift"],
        **{f"feature {n}": d for n, d in result["features"].items()},
    }
    table = pd.DataFrame(
        [
            {
                "check": name,
                "score": abs(d["score"]) if not name.startswith("skill") else d["score"],
                "threshold": d["threshold"],
            }
            for name, d in checks.items()
        ]
    )
    table["score_over_threshold"] = table["score"] / table["threshold"]
    table["sets_status"] = ~table["check"].str.startswith("feature ")
    return table


def exit_status(status: str, fail_on: str | None) -> int:
    """1 when `--fail-on` is given and the status is that bad or worse, else 0."""
    if not fail_on:
        return 0
    return int(SEVERITY[status] >= SEVERITY[fail_on])
