"""Orders calibrated on the recent past: a conformal correction of the tau* quantile.

A quantile learned over the whole history does not follow a recent change of level (a
season that ends, a shift): its orders then meet demand far more or less often than tau*.
The correction multiplies every quantile forecast by exp(offset) ("scale", the default;
"shift" adds offset x the store's scale instead), one offset per horizon. The offset is
the one that would have cost least (newsvendor cost of the rounded orders) over the last
`window_days` of target days realised by the origin, all stores pooled: in the continuous
limit the split-conformal tau* quantile of the residuals; with whole umbrellas it keeps the
service level of the best whole order, which exceeds tau*.

- `rolling_offsets`: at every origin, from the target days realised by that origin (what a
  store manager knows when ordering), so the correction follows a level that moves inside
  the test period. Models apply it through `calibrate` (`train.calibration`).
- `fit_offsets`: once, on the last days before the test period (measured and not chosen:
  benchmarks/calibration.py).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from umbrella.errors import ParamsError
from umbrella.metrics import to_order

# Offsets searched: log factors ("scale") or multiples of the store's scale ("shift").
OFFSET_GRID = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.02), 4)
Kind = Literal["scale", "shift"]


def corrected(
    quantile: np.ndarray, scale: np.ndarray, offset: np.ndarray | float, kind: Kind = "scale"
) -> np.ndarray:
    """The quantile with its offset applied, never negative."""
    if kind == "scale":
        return np.maximum(quantile * np.exp(offset), 0.0)
    return np.maximum(quantile + scale * offset, 0.0)


def _order_costs(
    y: np.ndarray,
    quantile: np.ndarray,
    scale: np.ndarray,
    underage: float,
    overage: float,
    kind: Kind,
) -> np.ndarray:
    """(rows, offsets): the cost of each row's rounded order at every offset of the grid."""
    order = to_order(corrected(quantile[:, None], scale[:, None], OFFSET_GRID[None, :], kind))
    diff = y[:, None] - order
    return np.where(diff > 0, underage * diff, -overage * diff)


def fit_offsets(
    y: np.ndarray,
    quantile: np.ndarray,
    scale: np.ndarray,
    horizon: np.ndarray,
    underage: float,
    overage: float,
    kind: Kind = "scale",
) -> dict[int, float]:
    """Per horizon, the offset whose orders would have cost least on these rows."""
    y, quantile, scale = (np.asarray(a, dtype=float) for a in (y, quantile, scale))
    horizon = np.asarray(horizon)
    out = {}
    for h in np.unique(horizon):
        at = horizon == h
        costs = _order_costs(y[at], quantile[at], scale[at], underage, overage, kind).sum(axis=0)
        out[int(h)] = float(OFFSET_GRID[_argmin_nearest_zero(costs)])
    return out


def _argmin_nearest_zero(costs: np.ndarray) -> int:
    """Index of the least cost; among ties the offset closest to 0 (no evidence, no shift)."""
    best = np.flatnonzero(costs <= costs.min() + 1e-9)
    return int(best[np.argmin(np.abs(OFFSET_GRID[best]))])


def rolling_offsets(
    rows: pd.DataFrame,
    quantile: np.ndarray,
    scale: np.ndarray,
    y: np.ndarray,
    window_days: int,
    underage: float,
    overage: float,
    kind: Kind = "scale",
) -> np.ndarray:
    """One offset per row: the cheapest over the target days of the same horizon realised by
    the row's origin, the last `window_days` of them (dates origin - window + 1 .. origin).

    rows: origin, horizon and date (target day) of every row, those before the first
    origin to correct included (they supply the first windows). y is NaN where not known;
    such rows count nowhere. A row with no realised day in its window gets offset 0.
    """
    y, quantile, scale = (np.asarray(a, dtype=float) for a in (y, quantile, scale))
    origin = rows["origin"].to_numpy()
    date = rows["date"].to_numpy()
    horizon = rows["horizon"].to_numpy()
    out = np.zeros(len(rows))
    days = pd.date_range(min(date.min(), origin.min()), max(date.max(), origin.max()), freq="D")
    for h in np.unique(horizon):
        at = np.flatnonzero(horizon == h)
        known = at[~np.isnan(y[at])]
        # Cost of every offset summed per target day, then cumulated over days.
        day = days.get_indexer(date[known])
        per_day = np.zeros((len(days) + 1, len(OFFSET_GRID)))
        np.add.at(
            per_day,
            day + 1,
            _order_costs(y[known], quantile[known], scale[known], underage, overage, kind),
        )
        count = np.zeros(len(days) + 1)
        np.add.at(count, day + 1, 1.0)
        cumulative, seen = np.cumsum(per_day, axis=0), np.cumsum(count)
        # The window of origin o is the days (o - window, o]: a difference of cumulative sums.
        end = days.get_indexer(pd.Index(origin[at])) + 1
        begin = np.maximum(end - window_days, 0)
        for e, b in set(zip(end.tolist(), begin.tolist(), strict=True)):
            if seen[e] - seen[b] == 0:
                continue
            best = OFFSET_GRID[_argmin_nearest_zero(cumulative[e] - cumulative[b])]
            out[at[(end == e) & (begin == b)]] = best
    return out


def calibrate(
    rows: pd.DataFrame, quantile: np.ndarray, scale: np.ndarray, window_days: int, tau: float
) -> np.ndarray:
    """The quantile forecasts of `rows` corrected by `rolling_offsets` ("scale").

    The windows are built from the rows themselves: those whose target day is realised (a
    known `units`) by a row's origin. Give rows of the `window_days` origins before the
    ones to order (with their sales) for full windows; without them (no realised row) the
    quantile stays as it is. Costs in units of tau: only c_u / c_o matters to the argmin.
    """
    y = rows["units"].to_numpy(dtype=float) if "units" in rows else np.full(len(rows), np.nan)
    if len(rows) == 0 or np.isnan(y).all():
        return np.asarray(quantile, dtype=float)
    offsets = rolling_offsets(rows, quantile, scale, y, window_days, tau, 1.0 - tau)
    return corrected(np.asarray(quantile, dtype=float), scale, offsets)


def require_one_partition(calibration: str, partitions: int) -> None:
    """conformal pools the recent orders of all stores, which partitions do not see."""
    if calibration == "conformal" and partitions > 1:
        raise ParamsError(
            "train.calibration: conformal pools the recent orders of all stores and is not "
            f"computed across partitions yet; the data has {partitions}: raise "
            "engine.stores_per_partition to at least the number of stores"
        )
