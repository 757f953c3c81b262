"""The test period's forecasts: per (store, origin, horizon) the demand they are scored
against and every forecaster's point forecast and order (docs/forecasting.md)."""

from __future__ import annotations

import pandas as pd

from umbrella.core.params import Drift
from umbrella.data.contract.interim import Interim
from umbrella.evaluation.oracle import oracle_info, simulator_climate
from umbrella.evaluation.scores import BASELINE, MODEL, MODEL_SINGLE, ORACLE, ORACLE_INFO
from umbrella.forecast.features import FORECAST_FEATURES
from umbrella.forecast.forecaster import Forecaster
from umbrella.forecast.models import SeasonalNaive
from umbrella.money.costs import DayCosts
from umbrella.money.metrics import negative_binomial_quantile, to_order


def forecast_table(
    test: pd.DataFrame,
    model: Forecaster,
    baseline: SeasonalNaive,
    data: Interim,
    costs: DayCosts,
    drift: Drift | None,
    limits: bool = True,
    single: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per test (store, origin, horizon): sales, demand (true demand where a truth
    file exists, else sales), observed rain, the row's costs and each forecaster's point
    forecast and order at the row's critical ratio.

    With a truth file (simulated data, drifted by `drift`) and `limits`, also the two
    limits: the oracle (knows the true demand distribution, so the weather that followed)
    and oracle_info (knows the simulator's laws but only what is known at the origin).
    With `single`, also the model's orders at its one tau*, for comparison."""
    table = test[["store", "origin", "horizon", "date", "units", "censored"]].copy()
    table["fc_rain_mm"] = test[FORECAST_FEATURES["rain_mm"]].to_numpy()
    table["underage"], table["overage"], tau = costs.underage, costs.overage, costs.tau
    keys = [c for c in ("date", "store") if c in data.weather]
    table = table.merge(data.weather[[*keys, "rain_mm"]], on=keys, how="left")
    for name, forecaster in ((MODEL, model), (BASELINE, baseline)):
        table[f"{name}_forecast"] = forecaster.predict(test)
        table[f"{name}_order"] = to_order(forecaster.predict_quantile(test, tau))
    forecasters = [MODEL, BASELINE]
    if single:
        table[f"{MODEL_SINGLE}_forecast"] = table[f"{MODEL}_forecast"]
        table[f"{MODEL_SINGLE}_order"] = to_order(model.predict_quantile(test))
        forecasters.append(MODEL_SINGLE)
    if data.truth is None:
        table["demand"] = table["units"]
        return table, forecasters
    truth = data.truth[["store", "date", "demand", "mean_demand", "dispersion"]]
    table = table.merge(truth, on=["store", "date"], how="left")
    if limits:
        # oracle_info's arrays follow `test`'s row order, which the left merges keep.
        known = oracle_info(
            test, data.truth, data.weather, data.forecasts, simulator_climate(), drift, tau
        )
        table[f"{ORACLE_INFO}_forecast"], table[f"{ORACLE_INFO}_order"] = known.mean, known.order
        table[f"{ORACLE_INFO}_variance"] = known.variance  # the stock replay's spread
        table[f"{ORACLE}_forecast"] = table["mean_demand"]
        table[f"{ORACLE}_order"] = negative_binomial_quantile(
            table["mean_demand"].to_numpy(), table["dispersion"].to_numpy(), tau
        )
        forecasters += [ORACLE, ORACLE_INFO]
    return table.drop(columns=["mean_demand", "dispersion"]), forecasters
