"""Service level and cost of the orders, before and after the corrections of
src/umbrella/forecast/calibration.py (conformal: the cheapest offset over a window; coverage: the
offset meeting demand on tau* of the window's days), on short histories whose level shifts
in the test period.

    python benchmarks/calibration.py [--default] [--out benchmarks/calibration.json]

Scenarios (observed weather stands in for forecasts: no forecasts file):
- simulated retailers of a few stores, 9..12 months of history, with `simulate.drift`
  moving the level (down or up) or fading the rain effect in the test period;
- seasonal_decline: benchmarks/fixtures/seasonal_decline_*.csv, a real-data-like series
  of our own (4 stores, 2013, demand peaking in September and falling ~45 % through the
  3-month test; negative binomial noise of its own, not the simulator's), tau* = 0.75;
- with --default, the default data (25 stores, 2012..2015 test 2015, forecasts as issued).

Each scenario is measured twice: on a validation period inside the training data (the last
VALIDATION_DAYS days before the test period, trained before it), where the method and its
window are chosen, and once on the test period. The model is the gbm of params.yaml with
the train stage's imputation of sold-out days. Scored against true demand where the
simulator knows it, else against sales. Methods (keys of "validation" and "test"):

- none: the model's own quantile; oracle: the true tau* quantile (simulated data);
- conformal, coverage: the product's path (`train.calibration`, the rule's own window:
  model.predict_quantile on the rows of the window before the period and of the period);
- rolling_{scale,shift}_W, coverage_W: the rules at every window W (coverage_count_W:
  coverage with sold-out days counted as met at their sales, as conformal counts them);
- static_{scale,shift}_W: one conformal offset fitted on the last W days before the period.

"chosen" (per scenario): the coverage window with the least validation cost among those
within SERVICE_TOLERANCE of tau* on validation, and its test figures. "summary" (the last
entry): the window chosen on all the scenarios' validation periods at once (within the
tolerance on every one, then the least mean validation cost relative to none). Writes the
table as JSON; runs outside the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.params import Params, load_params, parse_params
from umbrella.core.paths import FORECASTS, SALES, TRUTH, WEATHER
from umbrella.core.split import canonical_order, test_rows, training_rows
from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.forecast.calibration import (
    DEFAULT_WINDOW,
    corrected,
    coverage_offsets,
    fit_offsets,
    rolling_offsets,
)
from umbrella.forecast.censoring import imputed_targets
from umbrella.forecast.features import build_features
from umbrella.forecast.models import GradientBoosting, make_model, store_scale
from umbrella.money.metrics import forecast_metrics, negative_binomial_quantile, to_order

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "benchmarks" / "fixtures"
VALIDATION_DAYS = 56
WINDOWS = (14, 21, 28, 42, 56, 91)
SERVICE_TOLERANCE = 0.05  # |service_level_mid - tau*| aimed at on the short histories
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Scenario:
    name: str
    test_start: str
    end: str
    simulate: dict | None = None  # overrides of params.yaml's simulate block; None: fixture
    business: dict | None = None


SCENARIOS = [
    Scenario(
        "level_drop_9m",
        "2013-10-01",
        "2013-12-31",
        {"stores": 5, "start": "2013-01-01", "end": "2013-12-31"}
        | {"drift": {"start": "2013-10-15", "level": 0.6}},
    ),
    Scenario(
        "level_rise_12m",
        "2014-01-01",
        "2014-03-31",
        # No stock-outs: with the stock fixed at 4 x the old level, sales would hide the rise.
        {"stores": 5, "start": "2013-01-01", "end": "2014-03-31"}
        | {"stockouts": False}
        | {"drift": {"start": "2014-01-01", "level": 1.5}},
    ),
    Scenario(
        "rain_fades_9m",
        "2013-04-01",
        "2013-06-30",
        {"stores": 4, "start": "2012-07-01", "end": "2013-06-30"}
        | {"drift": {"start": "2013-04-01", "level": 0.75, "rain_effect": 0.3}},
    ),
    Scenario(
        "seasonal_decline_csv",
        "2013-10-01",
        "2013-12-31",
        None,
        {"price": 20.0, "unit_cost": 8.0, "salvage": 5.0, "holding": 1.0},  # tau* = 0.75
    ),
]
DEFAULT = Scenario("default", "2015-01-01", "2015-12-31", {})


def scenario_params(base: dict, scenario: Scenario) -> Params:
    raw = json.loads(json.dumps(base, default=str))
    if scenario.simulate:
        raw["simulate"] = raw["simulate"] | scenario.simulate
    if scenario.business:
        raw["business"] = raw["business"] | scenario.business
    return parse_params(raw)


def scenario_tables(scenario: Scenario, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows, and the demand each target day is scored against."""
    if scenario.simulate is None:
        sales = pd.read_csv(FIXTURES / "seasonal_decline_sales.csv", parse_dates=["date"])
        weather = pd.read_csv(FIXTURES / "seasonal_decline_weather.csv", parse_dates=["date"])
        demand = sales[["store", "date", "units"]].rename(columns={"units": "demand"})
        return build_features(sales, weather, None, params.base.horizon, params.features), demand
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    forecasts = tables[FORECASTS] if scenario.name == "default" else None
    features = build_features(
        tables[SALES], tables[WEATHER], forecasts, params.base.horizon, params.features
    )
    truth = tables[TRUTH]
    oracle = negative_binomial_quantile(
        truth["mean_demand"], truth["dispersion"], params.business.service_level
    )
    return features, truth[["store", "date", "demand"]].assign(oracle=oracle)


def fit(features: pd.DataFrame, start: pd.Timestamp, params: Params) -> object:
    rows = canonical_order(training_rows(features, start, params.train.censored))
    booster = GradientBoosting(random_state=params.base.seed, **params.train.gbm.model_dump())
    impute = params.train.censored == "impute"
    targets = imputed_targets(rows, booster) if impute else rows["units"]
    model = make_model(params.train, params.business.service_level, params.base.seed)
    return model.fit(rows, np.asarray(targets, dtype=float))


def measure(
    features: pd.DataFrame,
    demand: pd.DataFrame,
    params: Params,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> dict[str, dict]:
    """Cost and service level of every method on the target days start..end, the model
    trained on the target days before start. `after` is the model of train.calibration:
    conformal, through its own predict_quantile (the rows of the days before included)."""
    model = fit(features, start, params)
    business = params.business
    cu, co = business.underage_cost, business.overage_cost
    rows = test_rows(features, start)
    rows = rows[(rows["date"] >= start) & (rows["date"] <= end)]
    rows = rows.merge(demand, on=["store", "date"], how="left")
    before = features[(features["date"] < start) & features["units"].notna()]
    before = before[before["date"] >= start - max(WINDOWS) * DAY]
    model.calibration = "none"
    q, scale, h = model.predict_quantile(rows), store_scale(rows), rows["horizon"].to_numpy()
    q_before, scale_before = model.predict_quantile(before), store_scale(before)
    y = rows["demand"].to_numpy(dtype=float)

    def money(order: np.ndarray) -> dict:
        errors = forecast_metrics(y, order, order, cu, co, mase_scale=1.0)
        return {key: errors[key] for key in ("cost", "service_level", "service_level_mid")}

    def scores(quantile: np.ndarray) -> dict:
        return money(to_order(quantile))

    out = {"none": scores(q)}
    everything = pd.concat([before, rows], ignore_index=True)
    for method, window in DEFAULT_WINDOW.items():
        model.calibration, model.calibration_window = method, window
        out[method] = scores(model.predict_quantile(everything)[len(before) :])
    model.calibration = "none"
    if "oracle" in rows:
        out["oracle"] = money(rows["oracle"].to_numpy())
    q_all = np.concatenate([q_before, q])
    scale_all = np.concatenate([scale_before, scale])
    sales_all = np.concatenate([before["units"].to_numpy(float), rows["units"].to_numpy(float)])
    sold_out = everything["censored"].eq(True).to_numpy()
    tau = business.service_level
    for window in WINDOWS:
        for name, censored in (("coverage", sold_out), ("coverage_count", np.zeros_like(sold_out))):
            offsets = coverage_offsets(everything, q_all, sales_all, censored, window, tau)
            out[f"{name}_{window}"] = scores(corrected(q, scale, offsets[len(before) :]))
    for kind in ("scale", "shift"):
        for window in WINDOWS:
            recent = (before["date"] >= start - window * DAY).to_numpy()
            offsets = fit_offsets(
                before["units"].to_numpy(float)[recent],
                q_before[recent],
                scale_before[recent],
                before["horizon"].to_numpy()[recent],
                cu,
                co,
                kind,
            )
            shift = np.array([offsets.get(int(k), 0.0) for k in h])
            out[f"static_{kind}_{window}"] = scores(corrected(q, scale, shift, kind))
            rolling = rolling_offsets(everything, q_all, scale_all, sales_all, window, cu, co, kind)
            out[f"rolling_{kind}_{window}"] = scores(
                corrected(q, scale, rolling[len(before) :], kind)
            )
    return out


def run(scenario: Scenario, base: dict) -> dict:
    params = scenario_params(base, scenario)
    started = time.perf_counter()
    features, demand = scenario_tables(scenario, params)
    start, end = pd.Timestamp(scenario.test_start), pd.Timestamp(scenario.end)
    validation = measure(features, demand, params, start - VALIDATION_DAYS * DAY, start - DAY)
    test = measure(features, demand, params, start, end)
    tau = params.business.service_level
    window = choose_window([validation], [tau])
    return {
        "scenario": scenario.name,
        "tau": tau,
        "history_days": int((start - features["date"].min()).days),
        "validation": validation,
        "test": test,
        "chosen": {"method": f"coverage_{window}", "test": test[f"coverage_{window}"]},
        "seconds": time.perf_counter() - started,
    }


def choose_window(validations: list[dict], taus: list[float]) -> int:
    """The coverage window within SERVICE_TOLERANCE of tau* on every validation period with
    the least mean cost relative to none; if none is within, the least worst miss."""

    def miss(window: int) -> float:
        return max(
            abs(v[f"coverage_{window}"]["service_level_mid"] - tau)
            for v, tau in zip(validations, taus, strict=True)
        )

    def relative_cost(window: int) -> float:
        return float(
            np.mean([v[f"coverage_{window}"]["cost"] / v["none"]["cost"] for v in validations])
        )

    within = [w for w in WINDOWS if miss(w) <= SERVICE_TOLERANCE]
    return min(within, key=relative_cost) if within else min(WINDOWS, key=miss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", action="store_true", help="also the default data (slow)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "calibration.json")
    parser.add_argument("--only", nargs="*", help="scenario names")
    args = parser.parse_args()
    base = load_params(ROOT / "params.yaml").model_dump()
    scenarios = [*SCENARIOS, DEFAULT] if args.default else SCENARIOS
    if args.only:
        scenarios = [s for s in scenarios if s.name in args.only]
    results = []
    for scenario in scenarios:
        result = run(scenario, base)
        results.append(result)
        for period in ("validation", "test"):
            for method, score in result[period].items():
                print(
                    f"{result['scenario']:22s} {period:10s} tau {result['tau']:.3f} "
                    f"{method:17s} service {score['service_level']:.3f} "
                    f"mid {score['service_level_mid']:.3f} "
                    f"cost {score['cost']:>12,.0f}",
                    flush=True,
                )
        print(f"{result['scenario']:22s} chosen on validation: {result['chosen']['method']}")
    short = [r for r in results if r["scenario"] != DEFAULT.name]
    if short:
        window = choose_window([r["validation"] for r in short], [r["tau"] for r in short])
        summary = {
            "summary": f"coverage window chosen on the validation of {len(short)} scenarios",
            "window": window,
            "test": {r["scenario"]: r["test"][f"coverage_{window}"] for r in results},
        }
        print(f"one window for all the scenarios, chosen on validation: {window}")
        results.append(summary)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
