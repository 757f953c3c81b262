"""The time-based split: training targets before the test start, evaluation from it on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.params import Split


def test_start(first: pd.Timestamp, last: pd.Timestamp, split: Split) -> pd.Timestamp:
    """First day of the test period.

    `split.test_start` when set; otherwise the last `split.test_days` days, capped at a
    third of the data so that a short series still keeps two thirds for training.
    """
    if split.test_start is not None:
        return pd.Timestamp(split.test_start)
    days = (last - first).days + 1
    return last - pd.Timedelta(days=min(split.test_days, days // 3) - 1)


def training_rows(features: pd.DataFrame, start: pd.Timestamp, censored: str) -> pd.DataFrame:
    """Rows whose target day is known and before the test period.

    censored="drop" leaves out sold-out target days; "keep" trains on their sales, a lower
    bound of their demand.
    """
    rows = features[(features["date"] < start) & features["units"].notna()]
    if censored == "drop":
        rows = rows[~rows["censored"]]
    return rows


def sample_rows(n: int, max_rows: int | None, seed: int) -> np.ndarray:
    """Positions of a seeded random sample of at most `max_rows` of n rows, in order; all
    of them when max_rows is None or n <= max_rows."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def test_rows(features: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Every origin from the day before the test period on (rolling origin), every horizon,
    with a known target. Its target days never overlap the training rows'."""
    first_origin = start - pd.Timedelta(days=1)
    return features[(features["origin"] >= first_origin) & features["units"].notna()]
