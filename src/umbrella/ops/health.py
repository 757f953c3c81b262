"""How the model is doing in the latest window: its performance against the test period,
the drift of its inputs, residuals and demand, the alarms and the status they give
(docs/production.md "Watching the model")."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.engine import Run
from umbrella.core.params import Params
from umbrella.core.partitions import partition_count, read_part
from umbrella.core.paths import FEATURES, INTERIM
from umbrella.core.sampling import watched_stores
from umbrella.data.contract.interim import Interim, only_stores, read_interim, stores_in
from umbrella.evaluation.scores import BASELINE, MODEL
from umbrella.evaluation.stock import dispersion
from umbrella.forecast.distribution import require_finite
from umbrella.forecast.features import LEVEL
from umbrella.forecast.forecaster import Forecaster
from umbrella.forecast.holiday_calendar import store_holiday_flags
from umbrella.forecast.model_io import load_model
from umbrella.forecast.models import SeasonalNaive, store_scale
from umbrella.forecast.training_sample import fitted_baseline
from umbrella.money.costs import day_costs
from umbrella.money.metrics import error_terms, skill, to_order
from umbrella.money.metrics import scores as metric_scores
from umbrella.ops.monitoring import (
    ALARM,
    INSUFFICIENT,
    MIN_DAYS,
    SIGMAS,
    by_content,
    demand_response_shift,
    demand_table,
    expected_sales,
    feature_drift,
    judge,
    lacking_days,
    lacking_store_days,
    psi,
    psi_noise,
    rain_response_shift,
    ratio_and_se,
    same_season,
    status,
    unseen_season,
)
from umbrella.ops.stock_watch import StockReference, stock_skill_drop

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
# insufficient data is no alarm: `--fail-on` does not fire on it
SEVERITY = {"ok": 0, INSUFFICIENT: 0, "drift": 1, "degraded": 2}


# The model's and the baseline's forecasts of the scored rows, by monitor_rows.
POINT, QUANTILE = "_point", "_quantile"


@dataclass(frozen=True)
class MonitorRows:
    """What the monitor reads from some stores: a partition's, or all of them. Concatenated
    across partitions, they give what all stores give at once (`combine_rows`)."""

    drift: pd.DataFrame  # horizon-1 rows with a known target: the features and units
    scored: pd.DataFrame  # rows from the test period on: units, level and both forecasts
    demand: pd.DataFrame  # one row per store-day: sales, observed weather, calendar
    # With inventory.carry_over and a truth file (simulated data): the true demand of each
    # store-day from the test period on, which the stock replay is judged against, as
    # evaluate's is (store, date, demand). Else empty.
    truth: pd.DataFrame


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
    holidays = store_holiday_flags(
        data.sales["store"], data.sales["date"], params.features.holidays, data.stores
    )
    truth = pd.DataFrame({"store": [], "date": [], "demand": []})
    if params.inventory.carry_over and data.truth is not None:
        truth = data.truth.loc[data.truth["date"] >= start, ["store", "date", "demand"]]
    return MonitorRows(drift, scored, demand_table(data.sales, data.weather, holidays), truth)


def combine_rows(parts: list[MonitorRows]) -> MonitorRows:
    """The rows of every partition (`assess` orders them by `by_content`, so that neither
    the partitioning nor the stores' names change a byte)."""
    return MonitorRows(
        *(
            pd.concat([getattr(p, f.name) for p in parts], ignore_index=True)
            for f in fields(MonitorRows)
        )
    )


def monitor_part(
    part: int,
    baseline: SeasonalNaive,
    start: pd.Timestamp,
    params: Params,
    watched: frozenset[str] | None,
    interim: Path,
    features_folder: Path,
    model_file: Path,
) -> MonitorRows:
    """The monitor's rows of one partition's stores (of those `watched`, when a sample)."""
    data = read_interim(interim, truth=params.inventory.carry_over, part=part)
    features = read_part(features_folder, part)
    if watched is not None:
        data = only_stores(data, watched)
        features = features[features["store"].astype(str).isin(watched)]
    model = load_model(model_file)
    rows = monitor_rows(features, data, model, baseline, start, params)
    made = [c for c in map(str, rows.scored.columns) if c.endswith((POINT, QUANTILE))]
    require_finite(rows.scored, made, f"{model_file}, the monitor's days")
    return rows


def watched_rows(
    params: Params, start: pd.Timestamp, model_file: Path, run: Run
) -> tuple[MonitorRows, dict[str, int], dict[str, float]]:
    """The monitor's rows of every partition on the engine, of a seeded sample of at most
    `monitor.max_stores` stores; how many stores were watched, of how many; and with
    inventory.carry_over the model's and seasonal naive's negative binomial sizes (the stock
    replay's, evaluation/stock.dispersion), else none."""
    parts = range(partition_count(FEATURES))
    stores = [s for found in run(stores_in, parts, {"interim": INTERIM}) for s in found]
    watched = watched_stores(stores, params.monitor.max_stores, params.base.seed)
    baseline = fitted_baseline(FEATURES, start, params, run)
    task = partial(monitor_part, baseline=baseline, start=start, params=params, watched=watched)
    reads = {"interim": INTERIM, "features_folder": FEATURES, "model_file": model_file}
    rows = combine_rows(run(task, parts, reads))
    counted = {"watched": len(stores) if watched is None else len(watched), "of": len(stores)}
    sizes = {}
    if params.inventory.carry_over:
        sizes = {MODEL: dispersion(load_model(model_file)), BASELINE: dispersion(baseline)}
    return rows, counted, sizes


def _terms(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per row: the errors of forecaster `name` against sales and the cost of its orders,
    each day at its own costs (`metrics.error_terms`)."""
    return error_terms(
        rows["units"].to_numpy(),
        rows[name + POINT].to_numpy(),
        to_order(rows[name + QUANTILE].to_numpy()),
        rows["underage"].to_numpy(),
        rows["overage"].to_numpy(),
    )


def performance(rows: pd.DataFrame) -> dict[str, float]:
    """wape, bias and cost of the model against sales (each day at its own costs), and its
    skill over the baseline."""
    scores = {name: metric_scores(_terms(rows, name).sum(), 1.0) for name in (MODEL, BASELINE)}
    return {
        "rows": len(rows),
        "model_wape": scores[MODEL]["wape"],
        "model_bias": scores[MODEL]["bias"],
        "model_service_level": scores[MODEL]["service_level"],
        "baseline_wape": scores[BASELINE]["wape"],
        "skill_cost": skill(scores[MODEL]["cost"], scores[BASELINE]["cost"]),
    }


def window_start(last: pd.Timestamp, window_days: int) -> pd.Timestamp:
    return last - pd.Timedelta(days=window_days - 1)


def assess(
    params: Params,
    rows: MonitorRows,
    start: pd.Timestamp,
    last: pd.Timestamp,
    stock: StockReference | None = None,
) -> dict:
    """Diagnostics and status of the latest `monitor.window_days` days up to `last`.

    Status `degraded` (the model needs retraining now), each against the test period
    before the window: the model's skill over seasonal naive fell by more than
    `skill_drop`; with inventory.carry_over and the test period's `stock` (reports/
    evaluate.json), the skill of the stock replayed in the window fell below the test
    period's by more than `stock_skill_drop` (stock_watch.py); or demand no longer
    responds to its inputs as it did: sales against what the training years' response to
    the real weather and calendar expects moved by more than `demand_shift` (log ratio: a
    changed level), or wet days' demand, seen through the stock-outs, moved by more than
    `wet_demand_shift` (a changed rain response, which the sold-out days hide from the
    sales). Status `drift` (the model's errors moved; look before acting): the model's
    scaled residuals moved (PSI above `residual_threshold`) or its relative bias moved by
    more than `bias_shift`. Each only when the score is beyond
    its noise too (`monitoring.judge`); status `insufficient data` when no check alarms
    and one cannot tell (too few days, or noise that reaches its threshold); `ok` only when
    every check could tell. `reasons` says which limits tripped or which checks could not
    tell. Feature and target drift are reported but do not set the status: in a 28-day
    window the weather of one month differs from the same month of other years far more
    than a model-breaking change does (benchmarks/monitor_rates.py measures it).
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

    scored = by_content(rows.scored, ["store", "origin", "horizon"])
    in_window = (scored["date"] >= opened).to_numpy()
    before, latest = scored[~in_window], scored[in_window]
    trained = rows.demand["date"][rows.demand["date"] < start]
    unseen = unseen_season(trained, window["date"], cfg.season_days)
    lacking = unseen or lacking_days(latest["date"].nunique(), before["date"].nunique(), MIN_DAYS)
    residuals = _scaled_residual(scored).to_numpy(float)
    residual_psi = psi(residuals[~in_window], residuals[in_window])
    residual_noise = psi_noise(residuals, scored["date"].to_numpy(), in_window)
    store_days = len(latest[["store", "date"]].drop_duplicates())
    residual = {
        "method": "psi",
        "score": residual_psi,
        "threshold": cfg.residual_threshold,
        "noise": residual_noise,
        "store_days": store_days,
        **judge(
            "residual PSI",
            residual_psi,
            cfg.residual_threshold,
            residual_noise,
            lacking or lacking_store_days(store_days),
        ),
    }
    test_perf, window_perf = performance(before), performance(latest)
    drop = test_perf["skill_cost"] - window_perf["skill_cost"]
    drop_noise = SIGMAS * _shift_se(before, latest, "cost", "baseline_cost")
    bias_shift = window_perf["model_bias"] - test_perf["model_bias"]
    bias_noise = SIGMAS * _shift_se(before, latest, "error", "y")
    later = expected_sales(rows.demand, start)  # fitted once, used by both demand checks
    demand = demand_response_shift(
        rows.demand, start, opened, cfg.demand_shift, later=later, lacking=unseen
    )
    wet = rain_response_shift(later, opened, cfg.wet_demand_shift, lacking=unseen)
    bias = {
        "score": bias_shift,
        "threshold": cfg.bias_shift,
        "noise": bias_noise,
        **judge("bias shift", bias_shift, cfg.bias_shift, bias_noise, lacking),
    }
    performance_check = {
        "test": test_perf,
        "window": window_perf,
        "skill_drop": drop,
        "threshold": cfg.skill_drop,
        "noise": drop_noise,
        **judge("skill drop", drop, cfg.skill_drop, drop_noise, lacking, one_sided=True),
    }
    degrading, drifting = [performance_check, demand, wet], [residual, bias]
    replayed = None
    if stock is not None and params.inventory.carry_over:
        replayed = stock_skill_drop(params, stock_table(rows), opened, last, stock, unseen)
        degrading.append(replayed)
    result = {
        "status": status([c["verdict"] for c in degrading], [c["verdict"] for c in drifting]),
        # the limits that tripped, else the checks that could not tell
        "reasons": [c["why"] for c in degrading + drifting if c["verdict"] == ALARM]
        or [c["why"] for c in degrading + drifting if c["verdict"] == INSUFFICIENT],
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
        "bias_shift": bias,
        "performance": performance_check,
    }
    if replayed is not None:
        result["stock"] = replayed
    return result


def stock_table(rows: MonitorRows) -> pd.DataFrame:
    """The scored rows as evaluate's forecast table (backtest.forecast_table) for the stock
    replay: each day's demand (the truth's where there is one, else the sales) and each
    forecaster's point forecast, the stores named by content (`by_content`)."""
    table = rows.scored
    if len(rows.truth):
        table = table.merge(rows.truth, on=["store", "date"], how="left")
        table["demand"] = table["demand"].fillna(table["units"])
    else:
        table = table.assign(demand=table["units"])
    named = {f"{name}{POINT}": f"{name}_forecast" for name in (MODEL, BASELINE)}
    columns = ["store", "origin", "horizon", "date", "demand", "underage", LEVEL, *named]
    return by_content(table[columns].rename(columns=named), ["store", "origin", "horizon"])


def _shift_se(
    before: pd.DataFrame, latest: pd.DataFrame, numerator: str, denominator: str
) -> float:
    """Standard error of the change, window against before, of a ratio of sums of the
    model's error terms (`metrics.error_terms`; `baseline_cost`: the baseline's cost), the
    days as clusters."""
    errors = []
    for rows in (before, latest):
        columns = _terms(rows, MODEL).assign(baseline_cost=_terms(rows, BASELINE)["cost"])
        days = rows["date"].to_numpy()
        errors.append(
            ratio_and_se(columns[numerator].to_numpy(), columns[denominator].to_numpy(), days)[1]
        )
    return float(np.hypot(*errors))


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
    """metrics/monitor.json: the status and the wet-day demand shift (the check that sees
    through the stock-outs), no more: `dvc metrics show` prints one column per key of every
    metrics file, and with metrics/evaluate.json's it must fit 120 columns (this file's
    alone took 104 with three scores). Every detail, the reasons included, is in
    reports/monitor.json."""
    return {
        "monitor": {
            "status": result["status"],
            "wet_shift": result["wet_demand_shift"]["score"],
        }
    }


def status_line(result: dict) -> str:
    """The verdict and its scores in one line, for the log."""
    return (
        f"monitor status: {result['status']} "
        f"(skill drop {result['performance']['skill_drop']:+.3f}, "
        f"demand shift {result['demand_shift']['score']:+.3f}, "
        f"wet-day demand shift {result['wet_demand_shift']['score']:+.3f}, "
        f"residual psi {result['residual']['score']:.3f}, "
        f"bias shift {result['bias_shift']['score']:+.3f}"
        + (f", stock skill drop {result['stock']['score']:+.3f}" if "stock" in result else "")
        + "; features beyond their drift threshold: "
        f"{', '.join(result['drifted_features']) or 'none'})"
    )


def alarm_table(result: dict) -> pd.DataFrame:
    """Every score over its threshold (above 1: beyond it) and the verdict of the checks
    that set the status: first those, then the features, which do not."""
    perf = result["performance"]
    checks = {
        "skill drop (degraded)": {**perf, "score": perf["skill_drop"]},
        "demand shift (degraded)": result["demand_shift"],
        "wet-day demand shift (degraded)": result["wet_demand_shift"],
        "residual (drift)": result["residual"],
        "bias shift (drift)": result["bias_shift"],
        **({"stock skill drop (degraded)": result["stock"]} if "stock" in result else {}),
        **{f"feature {n}": d for n, d in result["features"].items()},
    }
    table = pd.DataFrame(
        [
            {
                "check": name,
                "score": d["score"] if "skill drop" in name else abs(d["score"]),
                "threshold": d["threshold"],
                "noise": d.get("noise"),
                "verdict": d.get("verdict", "reported"),
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


def failure(result: dict, fail_on: str | None) -> str | None:
    """The error of `--fail-on` when it fires, naming the limits that tripped; else None."""
    if not exit_status(result["status"], fail_on):
        return None
    return f"status {result['status']} fails --fail-on {fail_on}: " + "; ".join(result["reasons"])
