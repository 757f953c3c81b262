"""How close to oracle_info a forecaster can get that must learn the demand from the data.

    python benchmarks/limit_learned.py     # after `dvc repro` on the default data (~2 min)

`oracle_info` (src/umbrella/evaluation/oracle.py) knows the simulator's true parameters. This script
gives the next best thing a forecaster could have: the simulator's own demand equation
(src/umbrella/data/simulator/demand.py), with every parameter fitted by maximum likelihood on
the training years of the pipeline's data (sold-out days as "at least their sales"): each
store's level, the weekday, season, holiday and trend effects, the promotion's (its price
cut and display are one effect here: promotions are the only price cuts), the rain effect
and its saturation, the temperature effect and the negative binomial size. Then
`oracle_info` orders at each day's ratio with the fitted parameters in place of the true
ones (the weather's law and the forecasts' errors stay known), and is scored on the test
year like the model. Its cost over `oracle_info`'s is what knowing only the data costs a
forecaster that knows the equations: a model-free learner, as the gbm, should not expect
to do better. Writes benchmarks/limit_learned.json. Runs outside the test suite.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special

from umbrella.core.files import round_floats
from umbrella.core.params import load_params
from umbrella.core.partitions import partition_count, read_part
from umbrella.core.paths import FEATURES, INTERIM, REPORTS
from umbrella.core.split import test_rows, test_start
from umbrella.data.contract.interim import read_interim, sales_span
from umbrella.data.simulator import demand as dm
from umbrella.data.simulator.simulate import public_holidays
from umbrella.evaluation.oracle import oracle_info, simulator_climate
from umbrella.money.costs import day_costs
from umbrella.money.newsvendor import newsvendor_cost

OUT = Path(__file__).resolve().parent / "limit_learned.json"
# Parameters beyond the stores' levels, in the order of the vector fitted.
SHARED = [
    *(f"log_weekday_{d}" for d in (0, 1, 2, 4, 5, 6)),  # Thursday is 1: the levels carry it
    "season_amplitude",
    "log_holiday",
    "log_trend",
    "price_elasticity",  # with the display: promotions are the only price cuts here
    "log_rain_effect",
    "log_rain_scale_mm",
    "temp_per_c",
    "log_dispersion",
]


def design(frame: pd.DataFrame, first: pd.Timestamp) -> dict[str, np.ndarray]:
    """The regressors of the simulator's demand equation for each (store, day) row."""
    dates = pd.DatetimeIndex(frame["date"])
    calendar = pd.DatetimeIndex(np.unique(dates))  # public_holidays reads its first and last
    holiday = pd.Series(public_holidays(calendar), index=calendar).reindex(dates)
    return {
        "store": frame["store_index"].to_numpy(),
        "weekday": dates.day_of_week.to_numpy(),
        "angle": 2 * np.pi * (dates.day_of_year.to_numpy() - 15) / 365.25,
        "holiday": holiday.to_numpy(float),
        "years": (dates - first).days.to_numpy() / 365.25,
        "price": frame["price"].to_numpy(float),
        "rain": frame["rain_mm"].to_numpy(float),
        "temp": frame["temp_max_c"].to_numpy(float),
    }


def unpack(theta: np.ndarray, stores: int) -> dict[str, np.ndarray | float]:
    shared = dict(zip(SHARED, theta[stores:], strict=True))
    weekday = np.zeros(7)
    weekday[[0, 1, 2, 4, 5, 6]] = [shared[f"log_weekday_{d}"] for d in (0, 1, 2, 4, 5, 6)]
    return {"log_level": theta[:stores], "log_weekday": weekday, **shared}


def mean_demand(p: dict, x: dict[str, np.ndarray]) -> np.ndarray:
    """demand.simulate_demand's mean, with the parameters `p`."""
    log_mean = (
        p["log_level"][x["store"]]
        + p["log_weekday"][x["weekday"]]
        + np.log1p(p["season_amplitude"] * np.cos(x["angle"]))
        + p["log_holiday"] * x["holiday"]
        + p["log_trend"] * x["years"]
        + p["price_elasticity"] * np.log(x["price"] / dm.BASE_PRICE)
        + p["temp_per_c"] * (x["temp"] - 15.0)
    )
    rain = np.exp(p["log_rain_effect"]) * -np.expm1(-x["rain"] / np.exp(p["log_rain_scale_mm"]))
    return np.exp(log_mean) * (1.0 + rain)


def negative_log_likelihood(
    theta: np.ndarray, x: dict, y: np.ndarray, censored: np.ndarray, stores: int
) -> float:
    """NB(mean, size) of each day's sales; a sold-out day's as "at least its sales"."""
    p = unpack(theta, stores)
    mean, size = mean_demand(p, x), np.exp(p["log_dispersion"])
    prob = size / (size + mean)
    e, c = ~censored, censored
    exact = (
        special.gammaln(y[e] + size)
        - special.gammaln(size)
        - special.gammaln(y[e] + 1)
        + size * np.log(prob[e])
        + y[e] * np.log1p(-prob[e])
    )
    # P(D >= y) = I_{1 - prob}(y, size) for y >= 1 (the regularized incomplete beta)
    at_least = special.betainc(y[c], size, 1 - prob[c])
    return -float(np.sum(exact) + np.sum(np.log(np.maximum(at_least, 1e-300))))


def main() -> None:
    params = load_params()
    first, last = sales_span()
    start = test_start(first, last, params.split)
    data = read_interim(INTERIM, truth=True)
    if data.truth is None or data.forecasts is None:
        raise SystemExit("needs the simulated data with forecasts: run `dvc repro` on the default")
    stores = sorted(data.sales["store"].astype(str).unique())
    index = {s: i for i, s in enumerate(stores)}
    weather = data.weather
    keys = ["date"]
    if "store" in weather:
        weather, keys = weather.assign(store=weather["store"].astype(str)), ["date", "store"]
    days = data.sales.assign(store=data.sales["store"].astype(str)).merge(
        weather[[*keys, "rain_mm", "temp_max_c"]], on=keys, how="left"
    )
    days["store_index"] = days["store"].map(index)
    train = days[days["date"] < start]
    x = design(train, pd.Timestamp(params.simulate.start))
    y = train["units"].to_numpy(float)
    censored = train["in_stock"].to_numpy() == 0 if "in_stock" in train else np.zeros(len(y), bool)

    levels = np.log(np.maximum(train.groupby("store_index")["units"].mean().to_numpy(), 0.5) / 2)
    start_shared = [0.0] * 6 + [0.0, 0.0, 0.0, -1.0, 0.0, np.log(5.0), 0.0, np.log(5.0)]
    theta0 = np.concatenate([levels, start_shared])
    bounds = [(None, None)] * len(theta0)
    bounds[len(stores) + SHARED.index("season_amplitude")] = (-0.9, 0.9)
    begin = time.perf_counter()
    fit = optimize.minimize(
        negative_log_likelihood,
        theta0,
        args=(x, y, censored, len(stores)),
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "maxfun": 200_000},
    )
    fit_seconds = time.perf_counter() - begin
    p = unpack(fit.x, len(stores))

    # The test year as oracle_info sees it, with the fitted parameters in place of the true.
    parts = range(partition_count(FEATURES))
    test = test_rows(pd.concat([read_part(FEATURES, i) for i in parts]), start)
    later = days[days["date"] >= start]
    fitted_truth = later[["store", "date"]].assign(
        mean_demand=mean_demand(p, design(later, pd.Timestamp(params.simulate.start))),
        dispersion=float(np.exp(p["log_dispersion"])),
    )
    costs = day_costs(test, params.business)
    true_constants = (dm.RAIN_EFFECT, dm.RAIN_SCALE_MM, dm.TEMP_PER_C)
    dm.RAIN_EFFECT = float(np.exp(p["log_rain_effect"]))
    dm.RAIN_SCALE_MM = float(np.exp(p["log_rain_scale_mm"]))
    dm.TEMP_PER_C = float(p["temp_per_c"])
    try:
        learned = oracle_info(
            test, fitted_truth, data.weather, data.forecasts, simulator_climate(), None, costs.tau
        ).order
    finally:
        dm.RAIN_EFFECT, dm.RAIN_SCALE_MM, dm.TEMP_PER_C = true_constants
    known = oracle_info(
        test, data.truth, data.weather, data.forecasts, simulator_climate(), None, costs.tau
    ).order
    truth = data.truth.assign(store=data.truth["store"].astype(str))
    demand = (
        test[["store", "date"]]
        .assign(store=test["store"].astype(str))
        .merge(truth[["store", "date", "demand"]], on=["store", "date"], how="left")["demand"]
        .to_numpy(float)
    )

    def cost(order: np.ndarray) -> float:
        return newsvendor_cost(demand, order, costs.underage, costs.overage)

    report = json.loads((REPORTS / "evaluate.json").read_text())
    limit = cost(known)
    out = {
        "test_start": str(start.date()),
        "rows": len(test),
        "fit": {
            "seconds": fit_seconds,
            "converged": bool(fit.success),
            "negative_log_likelihood": float(fit.fun),
            "rain_effect": dm_value(p["log_rain_effect"], dm.RAIN_EFFECT),
            "rain_scale_mm": dm_value(p["log_rain_scale_mm"], dm.RAIN_SCALE_MM),
            "temp_per_c": {"fitted": float(p["temp_per_c"]), "true": dm.TEMP_PER_C},
            "dispersion": dm_value(p["log_dispersion"], dm.DISPERSION),
        },
        "cost": {
            "oracle_info": limit,
            "oracle_info_learned": cost(learned),
            "model": report["model"]["cost"],
        },
        "vs_oracle_info": {
            "oracle_info_learned": cost(learned) / limit,
            "model": report["model"]["cost"] / limit,
        },
    }
    OUT.write_text(json.dumps(round_floats(out, 4), indent=2) + "\n")
    print(json.dumps(round_floats(out, 4), indent=2))


def dm_value(log_fitted: float, true: float) -> dict[str, float]:
    return {"fitted": float(np.exp(log_fitted)), "true": true}


if __name__ == "__main__":
    main()
