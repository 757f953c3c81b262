"""Sold-out days: their sales are a lower bound of demand (censored targets).

`impute_censored` replaces each sold-out day's sales s by the demand expected given that it
was at least s, E[D | D >= s], with D negative binomial around a mean model's forecast. The
mean model is fitted on the sales first (biased low where stock ran out), then refitted on
the imputed targets, a fixed number of rounds (an EM-style fixed point).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import optimize, stats

from umbrella.money.metrics import negative_binomial_log_terms

IMPUTE_ROUNDS = 2  # docs/design.md "Settings measured once"
MIN_DISPERSION, POISSON_DISPERSION = 0.01, 1e6  # the range of NB sizes searched
MIN_MEAN = 1e-6
DISPERSION_ROWS = 200_000  # one number to fit: a regular sample of rows is plenty


def nb_dispersion(y: np.ndarray, mean: np.ndarray, censored: np.ndarray) -> float:
    """Maximum-likelihood size k of NB(mean, k), whose variance is mean + mean² / k, given
    the means: a censored row counts as "demand at least y" (its tail probability), so
    the sold-out days, the high-demand ones, are not left out of the spread."""
    y, mean = np.asarray(y, dtype=float), np.maximum(np.asarray(mean, dtype=float), MIN_MEAN)
    censored = np.asarray(censored, dtype=bool)

    def negative_log_likelihood(log_size: float) -> float:
        exact, at_least = negative_binomial_log_terms(y, mean, np.exp(log_size))
        return -(np.sum(exact[~censored]) + np.sum(at_least[censored]))

    bounds = (float(np.log(MIN_DISPERSION)), float(np.log(POISSON_DISPERSION)))
    fit = optimize.minimize_scalar(negative_log_likelihood, bounds=bounds, method="bounded")
    return float(np.exp(fit.x))


def sampled_dispersion(y: np.ndarray, mean: np.ndarray, censored: np.ndarray) -> float:
    """nb_dispersion on at most DISPERSION_ROWS of the rows, evenly spaced."""
    every = slice(None, None, -(-len(y) // DISPERSION_ROWS))  # every k-th row, k >= 1
    return nb_dispersion(np.asarray(y)[every], np.asarray(mean)[every], np.asarray(censored)[every])


def truncated_nb_mean(mean: np.ndarray, dispersion: float, at_least: np.ndarray) -> np.ndarray:
    """E[D | D >= s] for D ~ NB(mean, size k).

    From d·f_k(d) = mean·f_(k+1)(d - 1): E[D; D >= s] = mean·P(D' >= s - 1), D' ~ NB(k + 1).
    Where the tail probability underflows, s itself.
    """
    mean = np.maximum(np.asarray(mean, dtype=float), MIN_MEAN)
    s = np.asarray(at_least, dtype=float)
    p = dispersion / (dispersion + mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (
            mean * stats.nbinom.sf(s - 2, dispersion + 1, p) / stats.nbinom.sf(s - 1, dispersion, p)
        )
    return np.where(np.isfinite(expected), np.maximum(expected, s), s)


def impute_censored(
    y: np.ndarray,
    censored: np.ndarray,
    fit_mean: Callable[[np.ndarray], np.ndarray],
    rounds: int = IMPUTE_ROUNDS,
) -> np.ndarray:
    """Targets with every censored one replaced by its expected demand.

    fit_mean(targets) fits a mean model to the training rows' targets and returns its
    in-sample forecasts; the dispersion is then fitted by maximum likelihood
    (`sampled_dispersion`).
    """
    y = np.asarray(y, dtype=float).copy()
    censored = np.asarray(censored, dtype=bool)
    if not censored.any():
        return y
    sales = y.copy()
    for _ in range(rounds):
        mean = fit_mean(y)
        dispersion = sampled_dispersion(sales, mean, censored)
        y[censored] = truncated_nb_mean(mean[censored], dispersion, sales[censored])
    return y


class MeanModel(Protocol):
    """What imputation needs of a model (models.GradientBoosting): its mean fitted alone."""

    def fit_mean(self, X: pd.DataFrame, y: np.ndarray) -> MeanModel: ...

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...


def imputed_targets(rows: pd.DataFrame, booster: MeanModel) -> np.ndarray:
    """Sales, with each sold-out day's replaced by its expected demand.

    One demand per (store, target day), imputed on the day's row with the shortest horizon
    (the best informed) and given to every row of that day; `booster.fit_mean` is the mean
    model (a Poisson booster).
    """
    keys = ["store", "date"]
    days = rows.sort_values("horizon", kind="stable").drop_duplicates(keys)
    demand = impute_censored(
        days["units"].to_numpy(dtype=float),
        days["censored"].to_numpy(dtype=bool),
        lambda targets: booster.fit_mean(days, targets).predict(days),
    )
    imputed = rows[keys].merge(days[keys].assign(demand=demand), on=keys, how="left")
    return imputed["demand"].to_numpy()
