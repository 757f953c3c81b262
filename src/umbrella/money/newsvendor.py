"""The newsvendor's money, in one place: what an umbrella short and one left over cost, the
critical ratio they set, and what a day's order loses (docs/forecasting.md "Money").

An umbrella a customer wanted but could not buy costs the underage cost c_u = price -
unit_cost; one left over costs the overage cost c_o = unit_cost - salvage + holding. The
order that loses least in expectation is demand's tau quantile, tau = c_u / (c_u + c_o).
"""

from __future__ import annotations

import numpy as np

SERVICE_LEVEL_RANGE = (0.01, 0.99)  # tau*: outside it an order is 0 or unbounded


def underage_cost(price: float | np.ndarray, unit_cost: float | np.ndarray) -> np.ndarray:
    """Lost margin per umbrella short (none on a day sold below cost)."""
    return np.maximum(np.asarray(price, dtype=float) - unit_cost, 0.0)


def overage_cost(
    unit_cost: float | np.ndarray, salvage: float | np.ndarray, holding: float | np.ndarray
) -> np.ndarray:
    """Loss per umbrella left over."""
    return np.asarray(unit_cost, dtype=float) - salvage + holding


def critical_ratio(underage: float | np.ndarray, overage: float | np.ndarray) -> float | np.ndarray:
    """tau = c_u / (c_u + c_o): the share of days on which the best order meets demand."""
    return underage / (underage + overage)


def newsvendor_cost(
    y: np.ndarray, order: np.ndarray, underage: float | np.ndarray, overage: float | np.ndarray
) -> float:
    """Total money lost by ordering `order` when demand was `y` (costs per unit, one for
    all rows or one per row)."""
    y, order = np.asarray(y, dtype=float), np.asarray(order, dtype=float)
    return float(np.sum(underage * np.maximum(y - order, 0) + overage * np.maximum(order - y, 0)))
