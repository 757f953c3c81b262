"""Orders at any critical ratio from a model that learned one (docs/forecasting.md
"Each day's price").

A model learns the quantile of one ratio, tau* (`business`), with its own loss. An order at
another ratio tau (a promotion day's lower margin, a store's own costs) moves from that
quantile along the demand distribution around the model's mean forecast:

    order(tau) = q(tau*) + G^-1(tau) - G^-1(tau*),

G the negative binomial of the model's mean and of the size fitted on its training rows
(sold-out days as "at least their sales", `censoring.nb_dispersion`), taken as the gamma
of the same mean and variance so that the move is continuous. At tau = tau* the order is
the model's own quantile: one ratio for every day gives the orders the model always gave.

Every forecast and quantile a stage makes passes `require_finite`: a NaN quantile would
otherwise become an order of -2**63 umbrellas (NaN cast to an integer), silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from umbrella.core.errors import DataError, first_few
from umbrella.forecast.censoring import MIN_MEAN, sampled_dispersion
from umbrella.forecast.features import CENSORED, TARGET


def fit_dispersion(rows: pd.DataFrame, targets: np.ndarray, mean: np.ndarray) -> float:
    """The negative binomial size of the demand around `mean`, the model's in-sample mean
    forecast of the training rows: on their sales with sold-out days as lower bounds when
    the rows have them, else on the targets (`censoring.sampled_dispersion`)."""
    if {TARGET, CENSORED} <= set(rows.columns):
        y = rows[TARGET].to_numpy(dtype=float)
        censored = rows[CENSORED].to_numpy(dtype=bool)
    else:
        y, censored = np.asarray(targets, dtype=float), np.zeros(len(rows), dtype=bool)
    return sampled_dispersion(y, np.asarray(mean, dtype=float), censored)


def quantile_at(
    quantile: np.ndarray, mean: np.ndarray, dispersion: float, tau_from: float, tau: np.ndarray
) -> np.ndarray:
    """The tau_from `quantile` moved to each row's ratio `tau` (non-negative)."""
    mean = np.maximum(np.asarray(mean, dtype=float), MIN_MEAN)
    variance = mean + mean**2 / dispersion
    shape, scale = mean**2 / variance, variance / mean
    move = stats.gamma.ppf(tau, shape, scale=scale) - stats.gamma.ppf(tau_from, shape, scale=scale)
    return np.maximum(np.asarray(quantile, dtype=float) + move, 0.0)


def require_finite(table: pd.DataFrame, columns: list[str], what: str) -> None:
    """Refuse (DataError) forecasts or quantiles in `columns` of `table` that are not finite
    numbers, naming the columns and the first stores and dates (when `table` has them).

    A model file whose numbers were changed (a NaN leaf, an overflowing one) forecasts
    NaN or inf; nothing downstream may turn that into an order or a cost."""
    values = table[columns].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    rows = bad.any(axis=1)
    if not rows.any():
        return
    keys = [c for c in ("store", "date") if c in table]
    where = (
        # datetime64 as text: the date alone, since every target day starts at midnight
        [" ".join(row) for row in table.loc[rows, keys].astype(str).itertuples(index=False)]
        if keys
        else [f"row {i}" for i in np.flatnonzero(rows)]
    )
    named = [c for c, b in zip(columns, bad.any(axis=0), strict=True) if b]
    raise DataError(
        f"{what}: forecasts that are not finite numbers (NaN or inf) in {', '.join(named)} "
        f"for {first_few(where)}; the model file is damaged or the model "
        "overflows on these rows: retrain it (dvc repro train)"
    )
