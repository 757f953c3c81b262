"""Forecast errors and the money a forecast's orders lose (docs/forecasting.md "Money").

Orders are judged as a newsvendor: an umbrella a customer wanted but could not buy costs
the underage cost c_u, a left-over umbrella the overage cost c_o, so
cost = c_u (y - Q)+ + c_o (Q - y)+ = (c_u + c_o) * pinball_tau*(y, Q).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def pinball_loss(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    """Mean quantile (pinball) loss of the quantile forecast q at level tau."""
    diff = np.asarray(y, dtype=float) - np.asarray(q, dtype=float)
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def newsvendor_cost(
    y: np.ndarray, order: np.ndarray, underage: float | np.ndarray, overage: float | np.ndarray
) -> float:
    """Total money lost by ordering `order` when demand was `y` (costs per unit, one for
    all rows or one per row)."""
    y, order = np.asarray(y, dtype=float), np.asarray(order, dtype=float)
    return float(np.sum(underage * np.maximum(y - order, 0) + overage * np.maximum(order - y, 0)))


def point_errors(y: np.ndarray, forecast: np.ndarray, mase_scale: float) -> dict[str, float]:
    """wape, mae, rmse, relative bias (+ = over-forecast) and mase of a point forecast."""
    y, forecast = np.asarray(y, dtype=float), np.asarray(forecast, dtype=float)
    error = forecast - y
    total = np.sum(y)
    mae = float(np.mean(np.abs(error)))
    return {
        "wape": float(np.sum(np.abs(error)) / total) if total else float("nan"),
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(error**2))),
        "bias": float(np.sum(error) / total) if total else float("nan"),
        "mase": mae / mase_scale if mase_scale else float("nan"),
    }


def order_errors(
    y: np.ndarray, order: np.ndarray, underage: float, overage: float
) -> dict[str, float]:
    """Cost of the orders and how it splits into stock-outs and left-overs."""
    y, order = np.asarray(y, dtype=float), np.asarray(order, dtype=float)
    return {
        "cost": newsvendor_cost(y, order, underage, overage),
        "service_level": float(np.mean(y <= order)),
        "stockout_rate": float(np.mean(y > order)),
        "overstock_units": float(np.sum(np.maximum(order - y, 0))),
        "lost_units": float(np.sum(np.maximum(y - order, 0))),
    }


def forecast_metrics(
    y: np.ndarray,
    forecast: np.ndarray,
    order: np.ndarray,
    underage: float,
    overage: float,
    mase_scale: float,
) -> dict[str, float]:
    return point_errors(y, forecast, mase_scale) | order_errors(y, order, underage, overage)


def mase_scale(units: np.ndarray, season: int = 7) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast, over (store, day) rows.

    units: (stores, days) history in date order, NaN where a store has no sales.
    """
    diff = np.abs(units[:, season:] - units[:, :-season])
    return float(np.nanmean(diff)) if np.isfinite(diff).any() else float("nan")


def skill(model: float, baseline: float) -> float:
    """1 - model / baseline: the share of the baseline's error or cost that the model saves."""
    return 1.0 - model / baseline if baseline else float("nan")


def to_order(quantile: np.ndarray) -> np.ndarray:
    """A whole, non-negative number of umbrellas from a continuous quantile forecast."""
    return np.maximum(np.rint(np.asarray(quantile, dtype=float)), 0.0)


def negative_binomial_quantile(mean: np.ndarray, dispersion: np.ndarray, tau: float) -> np.ndarray:
    """The tau quantile of NB(mean, size=dispersion): the best possible order (the oracle)."""
    mean, dispersion = np.asarray(mean, dtype=float), np.asarray(dispersion, dtype=float)
    return np.asarray(stats.nbinom.ppf(tau, dispersion, dispersion / (dispersion + mean)))
