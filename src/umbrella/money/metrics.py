"""Forecast errors and the money a forecast's orders lose (docs/forecasting.md "Money").

Orders are judged as a newsvendor (newsvendor.py): with the underage cost c_u and the
overage cost c_o, cost = c_u (y - Q)+ + c_o (Q - y)+ = (c_u + c_o) * pinball_tau*(y, Q).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from umbrella.money.newsvendor import critical_ratio


def pinball_loss(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    """Mean quantile (pinball) loss of the quantile forecast q at level tau."""
    diff = np.asarray(y, dtype=float) - np.asarray(q, dtype=float)
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


# The per-row terms whose sums give every score: sums add up across stores and partitions.
SUMS = [
    *("n", "y", "abs_error", "error", "squared_error"),
    *("covered", "covered_mid", "lost", "over", "cost", "tau"),
]


def covered_mid(y: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per row: 1 where the order met demand with some left, 1/2 where demand equalled it,
    0 where it fell short: the share of days met that tau* predicts for whole umbrellas.

    With whole umbrellas the best order is the smallest whose P(demand <= order) reaches
    tau*, so it meets demand on more than tau* of days, the more the fewer umbrellas a day
    (the oracle: on 0.673 of the default data's test days, against a target of 0.622).
    Counting the days that demand equalled the order as half met puts the best order at
    tau* (0.620 there): the mid-distribution coverage of counts (docs/forecasting.md
    "Service level").
    """
    y, order = np.asarray(y, dtype=float), np.asarray(order, dtype=float)
    return (y < order) + 0.5 * (y == order)


def error_terms(
    y: np.ndarray,
    forecast: np.ndarray,
    order: np.ndarray,
    underage: float | np.ndarray,
    overage: float | np.ndarray,
) -> pd.DataFrame:
    """Per row: demand y, the point forecast's errors, the order's shortfall and excess, the
    money they cost and the critical ratio (the row's own costs per unit: one for all rows
    or one per row)."""
    y = np.asarray(y, dtype=float)
    error = np.asarray(forecast, dtype=float) - y
    order = np.asarray(order, dtype=float)
    lost, over = np.maximum(y - order, 0.0), np.maximum(order - y, 0.0)
    return pd.DataFrame(
        {
            "n": np.ones(len(y)),
            "y": y,
            "abs_error": np.abs(error),
            "error": error,
            "squared_error": error**2,
            "covered": (y <= order).astype(float),
            "covered_mid": covered_mid(y, order),
            "lost": lost,
            "over": over,
            "cost": underage * lost + overage * over,
            "tau": np.broadcast_to(critical_ratio(underage, overage), y.shape).astype(float),
        }
    )


def scores(sums: Mapping[str, float] | pd.Series, mase_scale: float) -> dict[str, float]:
    """From the sums of error_terms: wape, mae, rmse, relative bias (+ = over-forecast), mase
    of the point forecast; cost of the orders and how it splits into stock-outs and
    left-overs."""
    n, y = float(sums["n"]), float(sums["y"])
    mae = sums["abs_error"] / n if n else float("nan")
    return {
        "wape": float(sums["abs_error"] / y) if y else float("nan"),
        "mae": float(mae),
        "rmse": float(np.sqrt(sums["squared_error"] / n)) if n else float("nan"),
        "bias": float(sums["error"] / y) if y else float("nan"),
        "mase": float(mae / mase_scale) if mase_scale else float("nan"),
        "cost": float(sums["cost"]),
        "service_level": float(sums["covered"] / n) if n else float("nan"),
        # the share to compare with tau*: a day whose demand equalled the order half met
        "service_level_mid": float(sums["covered_mid"] / n) if n else float("nan"),
        # what service_level should be: the mean of the rows' critical ratios
        "service_level_target": float(sums["tau"] / n) if n else float("nan"),
        "stockout_rate": float((n - sums["covered"]) / n) if n else float("nan"),
        "overstock_units": float(sums["over"]),
        "lost_units": float(sums["lost"]),
    }


def forecast_metrics(
    y: np.ndarray,
    forecast: np.ndarray,
    order: np.ndarray,
    underage: float | np.ndarray,
    overage: float | np.ndarray,
    mase_scale: float,
) -> dict[str, float]:
    return scores(error_terms(y, forecast, order, underage, overage).sum(), mase_scale)


def seasonal_error_sums(units: np.ndarray, season: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Per store (row of units): the sum and the number of the absolute errors of the
    in-sample seasonal naive forecast.

    units: (stores, days) history, one column per day, NaN where a store has no sales.
    """
    diff = np.abs(units[:, season:] - units[:, :-season])
    seen = np.isfinite(diff)
    return np.where(seen, diff, 0.0).sum(axis=1), seen.sum(axis=1)


def scale_from_sums(total: np.ndarray, count: np.ndarray) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast over (store, day) rows,
    from the per-store sums of seasonal_error_sums (in store order)."""
    n = int(np.sum(count))
    return float(np.sum(total) / n) if n else float("nan")


def skill(model: float, baseline: float) -> float:
    """1 - model / baseline: the share of the baseline's error or cost that the model saves."""
    return 1.0 - model / baseline if baseline else float("nan")


def to_order(quantile: np.ndarray) -> np.ndarray:
    """A whole, non-negative number of umbrellas from a continuous quantile forecast."""
    return np.maximum(np.rint(np.asarray(quantile, dtype=float)), 0.0)


def negative_binomial_quantile(
    mean: np.ndarray, dispersion: np.ndarray, tau: float | np.ndarray
) -> np.ndarray:
    """The tau quantile of NB(mean, size=dispersion): the best possible order (the oracle)."""
    mean, dispersion = np.asarray(mean, dtype=float), np.asarray(dispersion, dtype=float)
    return np.asarray(stats.nbinom.ppf(tau, dispersion, dispersion / (dispersion + mean)))


def negative_binomial_log_terms(
    y: np.ndarray, mean: np.ndarray, size: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, log P(D = y) and log P(D >= y) for D ~ NB(mean, size): the two terms of the
    censored likelihood, where a sold-out day says only "demand was at least the sales"
    (forecast/censoring.py fits the size by it, ops/monitoring.py the wet-day shift)."""
    p = size / (size + mean)
    log_pmf, log_at_least = stats.nbinom.logpmf(y, size, p), stats.nbinom.logsf(y - 1, size, p)
    return np.asarray(log_pmf), np.asarray(log_at_least)
