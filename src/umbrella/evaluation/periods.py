"""A period scored as the evaluate stage scores it: every partition's forecasts and orders
on the engine, beside seasonal naive and (on simulated data) the limits, in money; with
inventory.carry_over, its stock replayed too (evaluation/stock.py).

Forecasts are scored against demand. On simulated data the truth file gives the true
demand of every day, sold-out days included. On a user's data only sales are known: a
sold-out (censored) day is scored against its sales, a lower bound of its demand, so lost
sales on those days are undercounted for every forecaster alike. What comes back from each
partition are sums per store and the rows the plots need, combined in store order.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from umbrella.core.engine import Run
from umbrella.core.params import Business, Drift, Params
from umbrella.core.partitions import partition_count, read_part
from umbrella.core.paths import FEATURES, INTERIM, MODEL_FILE, MODELS, TRUTH, VALIDATION_MODELS
from umbrella.core.split import no_validation, test_rows, test_start, validation_start
from umbrella.data.contract.interim import (
    fallback_counts,
    forecasts_note,
    read_interim,
    sales_span,
    stores_in,
)
from umbrella.evaluation.backtest import forecast_table
from umbrella.evaluation.gate import gate_verdict
from umbrella.evaluation.plots import plotted_rows
from umbrella.evaluation.scores import (
    BASELINE,
    MODEL,
    ORACLE,
    ORACLE_INFO,
    evaluation_metrics,
    period_summary,
    score_cells,
)
from umbrella.evaluation.stock import (
    StockTask,
    chosen_settings,
    dispersion,
    policy_ratio,
    settings_on_test,
    settings_tried,
    stock_part,
    stock_section,
)
from umbrella.forecast.calibration import require_one_partition
from umbrella.forecast.distribution import require_finite
from umbrella.forecast.model_io import load_model
from umbrella.forecast.models import SeasonalNaive
from umbrella.forecast.training_sample import fitted_baseline
from umbrella.money.costs import day_costs
from umbrella.money.metrics import scale_from_sums, seasonal_error_sums


def evaluate_part(
    part: int,
    baseline: SeasonalNaive,
    start: pd.Timestamp,
    end: pd.Timestamp | None,
    business: Business,
    drift: Drift | None,
    rain_threshold_mm: float,
    plot_stores: int,
    seed: int,
    limits: bool,
    interim: Path,
    features: Path,
    model_file: Path,
    stock: StockTask | None = None,
) -> dict:
    """Forecast and score the period from `start` (before `end`) of one partition's stores;
    with `stock`, replay its stock too (stock_evaluation.py)."""
    data = read_interim(interim, truth=True, part=part)
    test = test_rows(read_part(features, part), start, end)
    model = load_model(model_file)
    costs = day_costs(test, business)
    # The orders at one tau* beside, where the days' prices make them differ.
    single = business.daily_costs and "price" in test
    table, forecasters = forecast_table(
        test, model, baseline, data, costs, drift, limits, single=single
    )
    # The forecasters' own forecasts and orders (not the limits', which know the truth).
    made = [
        f"{f}_{k}"
        for f in forecasters
        if f not in (ORACLE, ORACLE_INFO)
        for k in ("forecast", "order")
    ]
    period = "the test period" if end is None else "the validation period"
    require_finite(table, made, f"{model_file}, {period}")
    history = data.sales[data.sales["date"] < start]
    days = pd.date_range(history["date"].min(), start - pd.Timedelta(days=1))
    units = history.pivot(index="store", columns="date", values="units").reindex(columns=days)
    total, count = seasonal_error_sums(units.to_numpy(float))
    return {
        "forecasters": forecasters,
        "cells": score_cells(table, forecasters, rain_threshold_mm),
        "seasonal_errors": pd.DataFrame(
            {"store": units.index.astype(str), "total": total, "count": count}
        ),
        "rows": len(table),
        "censored": int(table["censored"].sum()),
        "fallback": None if data.forecasts is None else fallback_counts(data.forecasts, start),
        "plotted": plotted_rows(table, plot_stores, seed).drop(columns="sampled"),
        "stock": None
        if stock is None
        else stock_part(
            table,
            test,
            forecasters,
            {MODEL: dispersion(model), BASELINE: dispersion(baseline)},
            data.truth,
            stock,
            data.stores,
        ),
    }


def score_period(
    params: Params,
    start: pd.Timestamp,
    end: pd.Timestamp | None,
    model_file: Path,
    limits: bool,
    run: Run,
    stock: StockTask | None = None,
) -> tuple[dict, list[dict]]:
    """The metrics of the model in `model_file` on the period from `start` (before `end`),
    beside seasonal naive fitted on the days before it; and each partition's results (with
    `stock`, its replays)."""
    baseline = fitted_baseline(FEATURES, start, params, run)
    task = partial(
        evaluate_part,
        baseline=baseline,
        start=start,
        end=end,
        business=params.business,
        drift=params.simulate.drift,
        rain_threshold_mm=params.evaluate.rain_threshold_mm,
        plot_stores=params.evaluate.plot_stores,
        seed=params.base.seed,
        limits=limits,
        stock=stock,
    )
    reads = {"interim": INTERIM, "features": FEATURES, "model_file": model_file}
    results = run(task, range(partition_count(FEATURES)), reads)
    errors = pd.concat([r["seasonal_errors"] for r in results]).sort_values("store")
    scale = scale_from_sums(errors["total"].to_numpy(), errors["count"].to_numpy())
    cells = pd.concat([r["cells"] for r in results], ignore_index=True)
    return evaluation_metrics(cells, results[0]["forecasters"], scale), results


def test_block(
    params: Params,
    start: pd.Timestamp,
    last: pd.Timestamp,
    results: list[dict],
    tau: float,
    stores: int,
    limits: bool,
) -> dict:
    """reports/evaluate.json's `test`: the period, its rows, what it is scored against, the
    service level aimed at (`tau`), the costs, the forecasts, and why the limits are left
    out when they are."""
    rows = sum(r["rows"] for r in results)
    fallback = [r["fallback"] for r in results]
    truth = (INTERIM / TRUTH).exists()
    block = {
        "start": str(start.date()),
        "end": str(last.date()),
        "rows": rows,
        "censored_share": sum(r["censored"] for r in results) / rows,
        "scored_against": "true demand" if truth else "sales",
        "service_level_target": tau,
        "costs": "each day's price" if params.business.daily_costs else "business.price",
        "forecasts": forecasts_note(
            None
            if fallback[0] is None
            else (sum(f[0] for f in fallback), sum(f[1] for f in fallback))
        ),
        "model": params.train.model,
    }
    if truth and not limits:
        block["limits"] = (
            f"left out: {stores} stores, more than evaluate.oracle_max_stores "
            f"({params.evaluate.oracle_max_stores})"
        )
    return block


def evaluation(
    params: Params, run: Run
) -> tuple[dict, pd.DataFrame, list[str], pd.DataFrame | None]:
    """reports/evaluate.json (the test period, the validation period before it, the gate's
    verdict, with inventory.carry_over the stock replayed), the rows to plot, the
    forecasters, and with the stock the plotted stores' replayed days."""
    first, last = sales_span()
    start = test_start(first, last, params.split)
    begin = validation_start(first, start, params.split, params.validate.min_history_days)
    parts = partition_count(FEATURES)
    require_one_partition(params.train.calibration, parts)

    carry_over = params.inventory.carry_over
    textbook = policy_ratio(params.inventory, params.business)

    def stock(first_day: pd.Timestamp, last_day: pd.Timestamp, settings: dict) -> StockTask:
        # the test period: perfect foresight, the floor, and the plotted stores' days
        test = last_day == last
        plot = params.evaluate.plot_stores if test else 0
        inventory, business = params.inventory, params.business
        return StockTask(first_day, last_day, inventory, business, test, settings, plot)

    stores = sum(len(found) for found in run(stores_in, range(parts), {"interim": INTERIM}))
    limits = stores <= params.evaluate.oracle_max_stores
    # The validation period, scored as the test period is by the model fitted before it
    # (train); without the limits, which nothing is chosen on (time). With the stock
    # carried over, the policy's settings are chosen there.
    chosen = chosen_settings(None, textbook)
    if begin is None:
        why = no_validation(first, start, params.split, params.validate.min_history_days)
        validation: dict = {"left_out": why}
    else:
        end = start - pd.Timedelta(days=1)
        tried = {MODEL: settings_tried(textbook), BASELINE: settings_tried(textbook)}
        before = stock(begin, end, tried) if carry_over else None
        model_file = VALIDATION_MODELS / MODEL_FILE
        scored, parts_scored = score_period(params, begin, start, model_file, False, run, before)
        if carry_over:
            chosen = chosen_settings([r["stock"] for r in parts_scored], textbook)
        validation = {
            "start": str(begin.date()),
            "end": str(end.date()),
            "rows": sum(r["rows"] for r in parts_scored),
            **period_summary(scored),
        }
    test_stock = stock(start, last, settings_on_test(chosen)) if carry_over else None
    metrics, results = score_period(
        params, start, None, MODELS / MODEL_FILE, limits, run, test_stock
    )
    # The share of days the orders should meet: tau*, or the mean of each day's ratio.
    tau = metrics[MODEL]["service_level_target"]
    metrics["test"] = test_block(params, start, last, results, tau, stores, limits)
    replayed = None
    if test_stock is not None:
        truth = (INTERIM / TRUTH).exists()
        chosen_on = "validation" if begin is not None else "none (no validation period)"
        stocks = [r["stock"] for r in results]
        replayed = stock_section(stocks, test_stock, chosen_on, truth)
    metrics["gate"] = gate_verdict(metrics, params.gate, tau, replayed)
    metrics["validation"] = validation
    if replayed is not None:
        metrics["stock"] = replayed
    plotted = pd.concat([r["plotted"] for r in results], ignore_index=True)
    stock_days = None
    if test_stock is not None:  # the first stores by name, of every partition's first
        days = pd.concat([r["stock"]["days"] for r in results], ignore_index=True)
        first_stores = sorted(days["store"].unique())[: params.evaluate.plot_stores]
        stock_days = days[days["store"].isin(first_stores)].reset_index(drop=True)
    return metrics, plotted, results[0]["forecasters"], stock_days
