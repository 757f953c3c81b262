"""The target day's rain as known at the origin, learned from past forecasts and weather.

A forecast's rain is not the day's rain: forecasts miss rain and invent it, more often at
longer leads, and forecasts of the same day issued on different days err differently. The
demand model could learn how far to trust them only through sales, whose own noise hides
it; the weather itself has no sales noise. So two small boosters learn it there, on the
training rows' observed rain of the target day (`features.TARGET_RAIN`): the probability
that the day is wet and its expected log(1 + rain), from the forecast features, the lead
and the season. Their predictions are two features of the gbm
(`models.GradientBoosting`). Each distinct situation counts once: stores that share their
weather repeat the same rows of a day, and counted 25 times a few days would fill a leaf
(rows of different origins stay apart, even when equal: a repeated dry day is no copy).

On the 2014 validation year these two features alone made the gbm's orders 0.7 % cheaper
(one run; the spread between seeds is about half a percent: docs/design.md "Closer to the
limit").
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from umbrella.forecast.features import TARGET_RAIN

WET = "rain_wet_posterior"  # P(the target day is wet | what is known at the origin)
AMOUNT = "rain_log_posterior"  # E[log(1 + rain mm) | what is known at the origin]
DERIVED = {WET, AMOUNT}  # features the model makes itself from the others
KNOWN = ["horizon", "season_cos", "season_sin"]  # besides the forecasts
Booster = TypeVar("Booster", HistGradientBoostingClassifier, HistGradientBoostingRegressor)


def posterior_inputs(columns: pd.Index) -> list[str]:
    """The forecast features (fc_*) and what else is known of the day's weather."""
    return [c for c in columns if c.startswith("fc_")] + [c for c in KNOWN if c in columns]


def _booster(kind: type[Booster], seed: int | None) -> Booster:
    return kind(
        learning_rate=0.05,
        max_iter=200,
        max_leaf_nodes=7,
        min_samples_leaf=200,
        early_stopping=True,
        random_state=seed,
    )


def fit_rain_posterior(
    rows: pd.DataFrame, seed: int | None
) -> tuple[HistGradientBoostingClassifier, HistGradientBoostingRegressor] | None:
    """The wet-day classifier and the log-rain regressor, fitted on the distinct
    (inputs, observed rain) situations of `rows`; None when the rows have no observed rain
    of the target day or never a wet and a dry one (nothing to learn)."""
    if TARGET_RAIN not in rows:
        return None
    inputs = posterior_inputs(rows.columns)
    situation = ["origin", *inputs, TARGET_RAIN]
    seen = rows.loc[rows[TARGET_RAIN].notna(), situation].drop_duplicates()
    rain = seen[TARGET_RAIN].to_numpy(dtype=float)
    if len(np.unique(rain > 0)) < 2:
        return None
    wet = _booster(HistGradientBoostingClassifier, seed).fit(seen[inputs], rain > 0)
    amount = _booster(HistGradientBoostingRegressor, seed).fit(seen[inputs], np.log1p(rain))
    return wet, amount


def with_rain_posterior(
    X: pd.DataFrame,
    posterior: tuple[HistGradientBoostingClassifier, HistGradientBoostingRegressor] | None,
) -> pd.DataFrame:
    """X with the two posterior features (unchanged when there is no posterior)."""
    if posterior is None:
        return X
    wet, amount = posterior
    inputs = X[posterior_inputs(X.columns)]
    # Stores that share their weather share these rows: each distinct one is predicted once.
    group = inputs.groupby(list(inputs.columns), dropna=False, sort=False).ngroup().to_numpy()
    distinct = inputs.iloc[np.unique(group, return_index=True)[1]]  # in group order
    return X.assign(
        **{
            WET: wet.predict_proba(distinct)[:, 1].astype(np.float32)[group],
            AMOUNT: amount.predict(distinct).astype(np.float32)[group],
        }
    )
