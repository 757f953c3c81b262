"""Stock that carries over, first step: the orders of an order-up-to policy replayed day by
day against the true demand of the test period (issue 26; docs/forecasting.md "Stock that
carries over"). The policy and its replay are src/umbrella/money/stock_policy.py's, which evaluate
uses too (reports/evaluate.json `stock`).

    make bench-stock     # or python benchmarks/stock_replay.py, after `dvc repro` (~1 min)

For each lead time and review period in SETTINGS, every store orders at the end of each
review day what brings its stock on hand and on order up to the level S: the quantile at
the textbook ratio p / (p + h R) (order_up_to.lost_sales_ratio; p the regular margin,
price - unit_cost, h HOLDING_PER_DAY) of its forecast demand over the protection interval,
every day until the next order arrives: t + 1 .. t + L + R - 1 (order_up_to.py says why
not t + L ..), or at a lower ratio. That total's distribution is made from each day's
forecast, NB(the forecaster's mean, its fitted size), the days' level errors correlated by
`shared` (protection_interval.py: 0 = independent days, which understates the spread; 1 =
one level for the interval). The ratio and `shared` are chosen per forecaster among
evaluate's settings_tried (evaluation/stock.py) on the validation period, by the replayed
cost of its validation model (never on the test period).

The horizon is 7 days (base.horizon); the interval of L = 2, R = 7 reaches day t + 8, for
which it takes the forecast of day t + 1, the same weekday, from the same origin: seasonal
naive's is the same, the model's counts the weather forecast of day t + 1 twice (the
oracle's uses the true mean of day t + 8). Days after the period replayed are not ordered
for.

Replayed: the model (gbm), seasonal naive (the same policy with its forecasts), the oracle
(the same policy with the simulator's true daily distributions, the weather that followed
included: not a forecaster) and perfect foresight (perfect_foresight.py, the floor). Every
store starts with the same stock: its mean daily sales over the 56 days before the period
(the features' level) x L, rounded. No packs, no order cost, no storeroom limit (PACK_SIZE,
ORDER_COST, CAPACITY). Money as stock_replay.py: lost margin (each day's own price) +
holding + orders + the stock left at the end x (unit_cost - salvage).
Writes benchmarks/stock_replay.json (its table in docs/forecasting.md: `python docs/tables.py`).
Runs outside the test suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.engine import runner
from umbrella.core.files import round_floats
from umbrella.core.params import Business, Params, load_params
from umbrella.core.partitions import partition_count, read_part
from umbrella.core.paths import FEATURES, INTERIM, MODELS, VALIDATION_MODELS
from umbrella.core.paths import ROOT as PATHS_ROOT
from umbrella.core.split import test_rows, test_start, validation_start
from umbrella.data.contract.interim import read_interim, sales_span
from umbrella.evaluation.stock import Setting, setting_key, settings_tried
from umbrella.forecast.features import LEVEL
from umbrella.forecast.forecaster import Forecaster
from umbrella.forecast.model_io import load_model
from umbrella.forecast.training_sample import fitted_baseline
from umbrella.money.costs import day_costs
from umbrella.money.order_up_to import lost_sales_ratio
from umbrella.money.protection_interval import total_quantile
from umbrella.money.stock_policy import (
    Policy,
    StockDays,
    coverage,
    grid,
    interval_means,
    interval_totals,
    opening_stock,
    replay_perfect_foresight,
    replay_policy,
)
from umbrella.money.stock_policy import daily_means as forecast_grid
from umbrella.money.stock_replay import Replay, StockCosts, replay_summary

OUT = Path(__file__).resolve().parent / "stock_replay.json"
SETTINGS = [(2, 1), (2, 7)]  # (lead time L, review period R) in days
# Money per umbrella per night in stock: carrying 25 %/year of unit_cost 8 (0.0055) and
# about as much again for the storeroom's space (docs/forecasting.md).
HOLDING_PER_DAY = 0.01
PACK_SIZE, ORDER_COST, CAPACITY = 1, 0.0, np.inf


@dataclass(frozen=True)
class Period:
    """The days of a period (test or validation), its feature rows and, per store x day,
    the true demand, the simulator's true mean and each day's costs."""

    rows: pd.DataFrame
    days: pd.DatetimeIndex
    stores: list[str]
    demand: np.ndarray
    true_mean: np.ndarray
    true_dispersion: float
    costs: StockCosts
    level: np.ndarray  # per store: its mean daily sales before the period (features' level)


def period(
    rows: pd.DataFrame, days: pd.DatetimeIndex, truth: pd.DataFrame, business: Business
) -> Period:
    stores = sorted(rows["store"].astype(str).unique())
    truth = truth.assign(store=truth["store"].astype(str))
    # Each day's row made the day before: its price (so its margin) and the store's level.
    first = rows[rows["horizon"] == 1]
    first = first.assign(
        store=first["store"].astype(str), margin=day_costs(first, business).underage
    )
    return Period(
        rows=rows,
        days=days,
        stores=stores,
        demand=grid(truth, "demand", stores, days),
        true_mean=grid(truth, "mean_demand", stores, days),
        true_dispersion=float(truth["dispersion"].median()),
        costs=StockCosts(
            margin=grid(first, "margin", stores, days),
            holding_per_day=HOLDING_PER_DAY,
            order_cost=ORDER_COST,
            left_over=business.unit_cost - business.salvage,
        ),
        level=grid(first, LEVEL, stores, days)[:, 0],
    )


def daily_means(period: Period, forecaster: Forecaster) -> np.ndarray:
    """stores x origins (the period's days) x horizons: the forecaster's mean demand."""
    rows = period.rows
    horizons = int(rows["horizon"].max())
    return forecast_grid(rows, forecaster.predict(rows), period.stores, period.days, horizons)


def true_daily_means(period: Period, horizons: int) -> np.ndarray:
    """The same from the simulator's true mean of each target day (the oracle's)."""
    days = len(period.days)
    out = np.full((len(period.stores), days, horizons), np.nan)
    for h in range(1, horizons + 1):
        out[:, : days - h, h - 1] = period.true_mean[:, h:]
    return out


def complete_means(daily: np.ndarray, ahead: int) -> np.ndarray:
    """interval_means, refused where a store has no forecast for a day of the period."""
    means = interval_means(daily, ahead)
    if np.isnan(means).any():
        raise SystemExit("a store has no forecast for some day of the period")
    return means


def policy(
    period: Period,
    means: np.ndarray,
    dispersion: float,
    tau: float,
    lead: int,
    review: int,
    shared: float,
) -> tuple[Replay, np.ndarray]:
    """The replay of the order-up-to policy at the tau quantile of the interval totals,
    and its levels (stores x days)."""
    return replay_policy(
        stock_days(period, lead),
        means,
        dispersion,
        tau,
        shared,
        Policy(lead, review, PACK_SIZE, CAPACITY),
    )


def stock_days(period: Period, lead: int) -> StockDays:
    """The period as the replay takes it: every store starting with its level x L
    (stock_policy.opening_stock), the same for every policy."""
    return StockDays(
        stores=period.stores,
        days=period.days,
        demand=period.demand,
        costs=period.costs,
        opening=opening_stock(period.level, lead),
    )


def choose_setting(
    validation: Period, daily: np.ndarray, dispersion: float, tau: float, lead: int, review: int
) -> tuple[Setting, dict]:
    """The (ratio, shared) of evaluate's settings_tried(tau) (evaluation/stock.py) whose
    replayed cost on the validation period is least, and each one's cost and the coverage of
    the interval totals at its ratio and at 0.9."""
    ahead = lead + review - 1
    means = complete_means(daily, ahead)
    totals = interval_totals(validation.demand, ahead)
    tried = {}
    for ratio, shared in settings_tried(tau):
        result, level = policy(validation, means, dispersion, ratio, lead, review, shared)
        at_90 = total_quantile(means.reshape(-1, ahead), dispersion, 0.9, shared)
        tried[setting_key((ratio, shared))] = {
            "cost": float(result.cost.sum()),
            "coverage_at_ratio": coverage(totals, level),
            "coverage_at_0.9": coverage(totals, at_90.reshape(level.shape)),
        }
    best = min(settings_tried(tau), key=lambda s: tried[setting_key(s)]["cost"])
    return best, tried


@dataclass(frozen=True)
class Forecasts:
    """A forecaster's daily means (stores x origins x horizons, daily_means) on the
    validation and the test period, and the negative binomial size each is replayed with."""

    validation: np.ndarray
    test: np.ndarray
    size_validation: float
    size_test: float


def textbook_ratio(business: Business, review: int) -> float:
    """The textbook ratio p / (p + h R) at the regular margin (order_up_to.lost_sales_ratio)."""
    return float(lost_sales_ratio(business.price - business.unit_cost, HOLDING_PER_DAY, review))


def replayed(
    validation: Period, test: Period, forecasts: Forecasts, tau: float, lead: int, review: int
) -> dict:
    """A forecaster through the policy at (L, R): its setting chosen on the validation period
    (choose_setting), then the test period replayed with it; the replay's figures, the
    setting, the coverage of the test intervals' totals and what was tried on validation."""
    (ratio, shared), tried = choose_setting(
        validation, forecasts.validation, forecasts.size_validation, tau, lead, review
    )
    ahead = lead + review - 1
    means = complete_means(forecasts.test, ahead)
    result, level = policy(test, means, forecasts.size_test, ratio, lead, review, shared)
    return {
        **replay_summary(result),
        "ratio": ratio,
        "shared": shared,
        "coverage_at_ratio": coverage(interval_totals(test.demand, ahead), level),
        "validation": tried,
    }


def foresight(test: Period, lead: int, review: int) -> dict[str, float]:
    """Perfect foresight's replay of the test period at (L, R): the floor."""
    policy_ = Policy(lead, review, PACK_SIZE, CAPACITY)
    return replay_summary(replay_perfect_foresight(stock_days(test, lead), policy_))


def periods(root: Path, params: Params) -> tuple[Period, Period]:
    """The validation and test periods of the checkout at `root` after `dvc repro` (its
    interim tables with the true demand, its features)."""
    interim = root / INTERIM.relative_to(PATHS_ROOT)
    data = read_interim(interim, truth=True)
    if data.truth is None:
        raise SystemExit("needs the simulated data's true demand: run `dvc repro` on the default")
    first, last = sales_span(interim)
    start = test_start(first, last, params.split)
    begin = validation_start(first, start, params.split, params.validate.min_history_days)
    if begin is None:
        raise SystemExit("needs a validation period (split.validation_days)")
    folder = root / FEATURES.relative_to(PATHS_ROOT)
    features = pd.concat([read_part(folder, i) for i in range(partition_count(folder))])
    business = params.business
    test = period(test_rows(features, start), pd.date_range(start, last), data.truth, business)
    validation = period(
        test_rows(features, begin, start),
        pd.date_range(begin, start - pd.Timedelta(days=1)),
        data.truth,
        business,
    )
    return validation, test


def ours(root: Path, params: Params, validation: Period, test: Period) -> dict[str, Forecasts]:
    """The model's (gbm) and seasonal naive's forecasts: the validation model (fitted before
    the validation period) and seasonal naive fitted before it on the validation period,
    the model and seasonal naive fitted before the test period on it; each with its
    dispersion_ (fitted on its training rows)."""
    features = root / FEATURES.relative_to(PATHS_ROOT)
    begin, start = validation.days[0], test.days[0]
    with runner(params.engine) as run:
        fitted = {
            "model": (
                load_model(root / VALIDATION_MODELS.relative_to(PATHS_ROOT) / "model.skops"),
                load_model(root / MODELS.relative_to(PATHS_ROOT) / "model.skops"),
            ),
            "baseline": (
                fitted_baseline(features, begin, params, run),
                fitted_baseline(features, start, params, run),
            ),
        }
    return {
        name: Forecasts(
            validation=daily_means(validation, before),
            test=daily_means(test, model),
            size_validation=before.dispersion_,
            size_test=model.dispersion_,
        )
        for name, (before, model) in fitted.items()
    }


def spans(validation: Period, test: Period) -> dict:
    """The periods replayed, for the benchmarks' json."""
    return {
        "test": {
            "start": str(test.days[0].date()),
            "end": str(test.days[-1].date()),
            "stores": len(test.stores),
        },
        "validation": {
            "start": str(validation.days[0].date()),
            "end": str(validation.days[-1].date()),
        },
    }


def main() -> None:
    params = load_params()
    validation, test = periods(PATHS_ROOT, params)
    forecasters = ours(PATHS_ROOT, params, validation, test)
    out: dict = {
        **spans(validation, test),
        "holding_per_day": HOLDING_PER_DAY,
        "pack_size": PACK_SIZE,
        "order_cost": ORDER_COST,
        "capacity": None,
    }
    for lead, review in SETTINGS:
        tau = textbook_ratio(params.business, review)
        ahead = lead + review - 1
        totals = interval_totals(test.demand, ahead)
        setting: dict = {"critical_ratio": tau}
        for name, forecasts in forecasters.items():
            setting[name] = replayed(validation, test, forecasts, tau, lead, review)
        # The oracle: the model's ratio, its days independent (as the simulator draws them).
        ratio = setting["model"]["ratio"]
        means = complete_means(true_daily_means(test, ahead), ahead)
        result, level = policy(test, means, test.true_dispersion, ratio, lead, review, 0.0)
        setting["oracle"] = {
            **replay_summary(result),
            "ratio": ratio,
            "coverage_at_ratio": coverage(totals, level),
        }
        setting["perfect_foresight"] = foresight(test, lead, review)
        setting["skill_vs_baseline"] = 1 - setting["model"]["cost"] / setting["baseline"]["cost"]
        for other in ("oracle", "perfect_foresight"):
            setting[f"model_vs_{other}"] = setting["model"]["cost"] / setting[other]["cost"]
        out[f"L{lead}_R{review}"] = setting
    text = json.dumps(round_floats(out, 4), indent=2) + "\n"
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
