"""How the model is doing in the latest window: its performance against the test period,
the drift of its inputs, residuals and demand, the alarms and the status they give
(docs/production.md "Watching the model")."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from umbrella.costs import day_costs
from umbrella.evaluation import BASELINE, MODEL
from umbrella.features import LEVEL, holiday_flags
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


# The model's and the baseline's forecasts of the scored rows, by monitor_rows.
POINT, QUANTILE = "_point", "_quantile"


@dataclass(frozen=True)
class MonitorRows:
    """What the monitor reads from some stores: a partition's, or all of them. Concatenated
    across partitions, they give what all stores give at once (`combine_rows`)."""

    drift: pd.DataFrame  # horizon-1 rows with a known target: the features and units
    scored: pd.DataFrame  # rows from the test period on: units, level and both forecasts
    demand: pd.DataFrame  # one row per store-day: sales, observed weather, calendar


def monitor_rows(
    features: pd.DataFrame,
    data: Interim,
    model: Forecaster,
    baseline: SeasonalNaive,
    start: pd.Timestamp,
    params: Params,
) -> MonitorRows:
    known = features[features["units"].notna()]
    one_day = known[known["horizon"] == 1]
    drift = one_day[["date", *[c for c in NUMERIC + BINARY + ["units"] if c in one_day]]]
    later = known[known["date"] >= start]
    scored = later[["store", "origin", "horizon", "date", "units", LEVEL]].copy()
    costs = day_costs(later, params.business)  # the orders as predict makes them
    scored["underage"], scored["overage"] = costs.underage, costs.overage
    for name, forecaster in ((MODEL, model), (BASELINE, baseline)):
        scored[name + POINT] = forecaster.predict(later)
        scored[name + QUANTILE] = forecaster.predict_quantile(later, costs.tau)
    holidays = holiday_flags(data.sales["date"], params.features.holidays)
    return MonitorRows(drift, scored, demand_table(data.sales, data.weather, holidays))


def combine_rows(parts: list[MonitorRows]) -> MonitorRows:
    """The rows of every partition, in an order that does not depend on the partitioning
    (stores by name), so every sum and fit gives the same bytes."""
    scored = pd.concat([p.scored for p in parts], ignore_index=True)
    demand = pd.concat([p.demand for p in parts], ignore_index=True)
    return MonitorRows(
        drift=pd.concat([p.drift for p in parts], ignore_index=True),
        scored=scored.sort_values(["store", "origin", "horizon"], kind="stable"),
        demand=demand.sort_values(["store", "date"], kind="stable", ignore_index=True),
    )


def performance(rows: pd.DataFrame) -> dict[str, float]:
    """wape, bias and cost of the model against sales (each day at its own costs), and its
    skill over the baseline."""
    y = rows["units"].to_numpy()
    scores = {
        name: forecast_metrics(
            y,
            rows[name + POINT].to_numpy(),
            to_order(rows[name + QUANTILE].to_numpy()),
            rows["underage"].to_numpy(),
            rows["overage"].to_numpy(),
            1.0,
        )
        for name in (MODEL, BASELINE)
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
    """`assess` on all stores at once."""
    first, last = data.sales["date"].min(), data.sales["date"].max()
    start = test_start(first, last, params.split)
    train = training_rows(features, start, params.train.censored)
    baseline = SeasonalNaive(quantile=params.business.service_level).fit(
        train, train["units"].to_numpy()
    )
    rows = combine_rows([monitor_rows(features, data, model, baseline, start, params)])
    return assess(params, rows, start, last)


def window_start(last: pd.Timestamp, window_days: int) -> pd.Timestamp:
    return last - pd.Timedelta(days=window_days - 1)


def assess(params: Params, rows: MonitorRows, start: pd.Timestamp, last: pd.Timestamp) -> dict:
    """Diagnostics and status of the latest `monitor.window_days` days up to `last`.

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
    opened = window_start(last, cfg.window_days)
    one_day = rows.drift
    window = one_day[one_day["date"] >= opened]
    reference = one_day[
        (one_day["date"] < start) & same_season(one_day["date"], window["date"], cfg.season_days)
    ]
    drift = feature_drift(reference, window, NUMERIC, BINARY, cfg.psi_threshold, cfg.js_threshold)
    drift["units"] = _psi_entry(reference["units"], window["units"], cfg.psi_threshold)

    in_window = rows.scored["date"] >= opened
    before, latest = rows.scored[~in_window], rows.scored[in_window]
    residual = _psi_entry(
        _scaled_residual(before), _scaled_residual(latest), cfg.residual_threshold
    )
    test_perf = performance(before)
    window_perf = performance(latest)
    drop = test_perf["skill_cost"] - window_perf["skill_cost"]
    decayed = bool(len(before) > 0 and drop > cfg.skill_drop)
    bias_shift = window_perf["model_bias"] - test_perf["model_bias"]
    shifted = bool(abs(bias_shift) > cfg.bias_shift)
    later = expected_sales(rows.demand, start)  # fitted once, used by both demand checks
    demand = demand_response_shift(rows.demand, start, opened, cfg.demand_shift, later=later)
    wet = rain_response_shift(later, opened, cfg.wet_demand_shift)
    return {
        "status": status(residual["drift"] or shifted, decayed or demand["drift"] or wet["drift"]),
        "window": {
            "start": str(opened.date()),
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


def _scaled_residual(rows: pd.DataFrame) -> pd.Series:
    return (rows["units"] - rows[MODEL + POINT]) / store_scale(rows)


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
