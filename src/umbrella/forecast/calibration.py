"""Orders calibrated on the recent past: a conformal correction of the tau* quantile.

A quantile learned over the whole history does not follow a recent change of level (a
season that ends, a shift): its orders then meet demand far more or less often than tau*.
The correction multiplies every quantile forecast by exp(offset) ("scale", the default;
"shift" adds offset x the store's scale instead), one offset per horizon, all stores pooled,
measured on the last `window_days` of target days realised by the origin. Two rules
(`train.calibration`):

- conformal: the offset whose rounded orders would have cost least (newsvendor cost) over
  the window: in the continuous limit the split-conformal tau* quantile of the residuals;
  with whole umbrellas it keeps the service level of the best whole order, which exceeds
  tau* (by 0.05..0.1 where demand is a few umbrellas a day).
- coverage: the smallest offset whose rounded orders would have met demand on at least
  tau* of the window's days, a day whose demand equalled the order counting half
  (`metrics.covered_mid`; split conformal on the service level itself). A sold-out day
  only says demand >= sales: an order at most its sales counts as unmet, one above its sales
  as half met (it may or may not have been enough). Counting those days as met at their
  sales, as conformal does, lowers every offset where stock runs out often.

- `rolling_offsets`: at every origin, from the target days realised by that origin (what a
  store manager knows when ordering), so the correction follows a level that moves inside
  the test period. Models apply it through `calibrate` (`train.calibration`).
- `fit_offsets`: once, on the last days before the test period (measured and not chosen:
  benchmarks/calibration.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from umbrella.core.errors import ParamsError
from umbrella.money.metrics import covered_mid, to_order

# Offsets searched: log factors ("scale") or multiples of the store's scale ("shift").
OFFSET_GRID = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.02), 4)
Kind = Literal["scale", "shift"]
# Each rule's window when train.calibration_window_days is null: the one chosen on the
# validation periods of benchmarks/calibration.py (coverage: 14..56 days all within 0.05
# of tau* there, 21 the cheapest; conformal: the window it was introduced with).
DEFAULT_WINDOW: dict[str, int] = {"conformal": 56, "coverage": 21}
UNKNOWN_MET = 0.5  # a sold-out day whose order exceeded its sales: met or not, unknown


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

    def costs(known: np.ndarray) -> np.ndarray:
        return _order_costs(y[known], quantile[known], scale[known], underage, overage, kind)

    def cheapest(total: np.ndarray, _: float) -> float:
        return float(OFFSET_GRID[_argmin_nearest_zero(total)])

    return _rolling(rows, y, window_days, costs, cheapest)


def _rolling(
    rows: pd.DataFrame,
    y: np.ndarray,
    window_days: int,
    per_row: Callable[[np.ndarray], np.ndarray],
    choose: Callable[[np.ndarray, float], float],
) -> np.ndarray:
    """One offset per row: `choose(total, n)` of the (rows, offsets) values `per_row` gives
    the n known rows (y not NaN) of the same horizon whose target day lies in the row's
    window (dates origin - window_days + 1 .. origin), summed; 0 where the window is empty."""
    origin = rows["origin"].to_numpy()
    date = rows["date"].to_numpy()
    horizon = rows["horizon"].to_numpy()
    out = np.zeros(len(rows))
    days = pd.date_range(min(date.min(), origin.min()), max(date.max(), origin.max()), freq="D")
    for h in np.unique(horizon):
        at = np.flatnonzero(horizon == h)
        known = at[~np.isnan(y[at])]
        # The values of every offset summed per target day, then cumulated over days.
        day = days.get_indexer(date[known])
        per_day = np.zeros((len(days) + 1, len(OFFSET_GRID)))
        np.add.at(per_day, day + 1, per_row(known))
        count = np.zeros(len(days) + 1)
        np.add.at(count, day + 1, 1.0)
        cumulative, seen = np.cumsum(per_day, axis=0), np.cumsum(count)
        # The window of origin o is the days (o - window, o]: a difference of cumulative sums.
        end = days.get_indexer(pd.Index(origin[at])) + 1
        begin = np.maximum(end - window_days, 0)
        for e, b in set(zip(end.tolist(), begin.tolist(), strict=True)):
            n = seen[e] - seen[b]
            if n == 0:
                continue
            out[at[(end == e) & (begin == b)]] = choose(cumulative[e] - cumulative[b], n)
    return out


def _met(y: np.ndarray, quantile: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """(rows, offsets): whether each row's rounded order met demand at every offset of the
    grid ("scale"), demand equal to the order half (`covered_mid`); a sold-out row is unmet
    at an order <= its sales, else UNKNOWN_MET."""
    order = to_order(quantile[:, None] * np.exp(OFFSET_GRID[None, :]))
    met = covered_mid(y[:, None], order)
    return np.where(censored[:, None], np.where(order > y[:, None], UNKNOWN_MET, 0.0), met)


def _smallest_covering(coverage: np.ndarray, tau: float) -> float:
    """The smallest offset whose coverage reaches tau; if none does, the smallest of those
    with the highest coverage."""
    reach = np.flatnonzero(coverage >= tau - 1e-12)
    if len(reach) == 0:
        reach = np.flatnonzero(coverage >= coverage.max() - 1e-12)
    return float(OFFSET_GRID[reach[0]])


def coverage_offsets(
    rows: pd.DataFrame,
    quantile: np.ndarray,
    y: np.ndarray,
    censored: np.ndarray,
    window_days: int,
    tau: float,
) -> np.ndarray:
    """One offset per row ("scale"): the smallest whose rounded orders would have met
    demand on at least tau of the target days of the same horizon realised by the row's
    origin, the last `window_days` of them, all stores pooled (dates origin - window + 1 ..
    origin, as in `rolling_offsets`). Sold-out days count as in `_met`.

    y is NaN where not known; such rows count nowhere. A row with no realised day in its
    window gets offset 0.
    """
    y, quantile = np.asarray(y, dtype=float), np.asarray(quantile, dtype=float)
    censored = np.asarray(censored, dtype=bool)

    def met(known: np.ndarray) -> np.ndarray:
        return _met(y[known], quantile[known], censored[known])

    def covering(total: np.ndarray, n: float) -> float:
        return _smallest_covering(total / n, tau)

    return _rolling(rows, y, window_days, met, covering)


def calibrate(
    rows: pd.DataFrame,
    quantile: np.ndarray,
    scale: np.ndarray,
    window_days: int,
    tau: float,
    method: str = "conformal",
) -> np.ndarray:
    """The quantile forecasts of `rows` corrected by `rolling_offsets` (conformal) or
    `coverage_offsets` (coverage), "scale".

    The windows are built from the rows themselves: those whose target day is realised (a
    known `units`) by a row's origin. Give rows of the `window_days` origins before the
    ones to order (with their sales) for full windows; without them (no realised row) the
    quantile stays as it is. Costs in units of tau: only c_u / c_o matters to the argmin.
    coverage reads the sold-out days from a `censored` column (none without it).
    """
    y = rows["units"].to_numpy(dtype=float) if "units" in rows else np.full(len(rows), np.nan)
    quantile = np.asarray(quantile, dtype=float)
    if len(rows) == 0 or np.isnan(y).all():
        return quantile
    if method == "coverage":
        censored = (
            rows["censored"].eq(True).to_numpy()
            if "censored" in rows
            else np.zeros(len(rows), dtype=bool)
        )
        offsets = coverage_offsets(rows, quantile, y, censored, window_days, tau)
    elif method == "conformal":
        offsets = rolling_offsets(rows, quantile, scale, y, window_days, tau, 1.0 - tau)
    else:
        raise ValueError(f"unknown calibration method {method!r}")
    return corrected(quantile, scale, offsets)


def window_days(method: str, days: int | None) -> int:
    """train.calibration_window_days, or the rule's own window when null."""
    return DEFAULT_WINDOW[method] if days is None else days


def require_one_partition(calibration: str, partitions: int) -> None:
    """conformal and coverage pool the recent orders of all stores, which partitions do not
    see."""
    if calibration != "none" and partitions > 1:
        raise ParamsError(
            f"train.calibration: {calibration} pools the recent orders of all stores and is "
            f"not computed across partitions yet; the data has {partitions}: raise "
            "engine.stores_per_partition to at least the number of stores"
        )
