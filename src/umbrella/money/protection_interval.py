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
    some = total > 0  # no demand expected: none ordered for
    size = total[some] ** 2 / spread[some]
    out = np.zeros_like(total)
    out[some] = stats.nbinom.ppf(
        np.broadcast_to(tau, total.shape)[some], size, size / (size + total[some])
    )
    return out
