"""The demand over a protection interval, from daily forecasts (issue 26; order_up_to.py).

The stock position after an order placed at the end of day t serves every day until the
next order arrives: t + 1 .. t + L + R - 1 (order_up_to.py). The models forecast
each day's demand as a negative binomial NB(mean, size k) (distribution.py): a Poisson count
around a gamma level of mean 1 and variance 1/k. The days' levels are not independent (a
level the model got wrong stays wrong all week; a wet spell lasts), and a sum of
independent days understates the spread of the total. With `shared`, the correlation of
the days' level errors (0: independent days, 1: one level for the whole interval), the
total has

    mean     M = sum of the means
    variance V = M + ((1 - shared) sum of mean^2 + shared (sum of means)^2) / k,

and its quantile is taken from the negative binomial of that mean and variance (exact for
shared = 1 with one k, a moment match otherwise).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def total_quantile(
    means: np.ndarray, dispersion: float, tau: float | np.ndarray, shared: float
) -> np.ndarray:
    """The tau quantile of each row's total (whole units), from its days' NB `means`
    (rows x days) of size `dispersion`, their level errors correlated by `shared`."""
    means = np.asarray(means, dtype=float)
    total = means.sum(axis=1)
    spread = ((1 - shared) * (means**2).sum(axis=1) + shared * total**2) / dispersion
    return moment_quantile(total, total + spread, tau)


def independent_total_quantile(
    means: np.ndarray, variances: np.ndarray, tau: float | np.ndarray
) -> np.ndarray:
    """The tau quantile of each row's total of independent days, each of its own mean and
    variance (rows x days): oracle_info's, whose spread is its own (evaluation/oracle.py)."""
    means = np.asarray(means, dtype=float)
    return moment_quantile(means.sum(axis=1), np.asarray(variances, float).sum(axis=1), tau)


def moment_quantile(total: np.ndarray, variance: np.ndarray, tau: float | np.ndarray) -> np.ndarray:
    """The tau quantile (whole units) of the negative binomial of each row's `total` mean
    and `variance` (a Poisson's where the variance is no larger than the mean); none where
    no demand is expected."""
    some = total > 0  # no demand expected: none ordered for
    out = np.zeros_like(total)
    tau = np.broadcast_to(tau, total.shape)[some]
    mean, extra = total[some], variance[some] - total[some]
    over = extra > 1e-9 * mean
    quantile = np.empty_like(mean)
    size = mean[over] ** 2 / extra[over]
    quantile[over] = stats.nbinom.ppf(tau[over], size, size / (size + mean[over]))
    quantile[~over] = stats.poisson.ppf(tau[~over], mean[~over])
    out[some] = quantile
    return out
