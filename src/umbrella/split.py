"""The time-based split: training targets before the test start, evaluation from it on."""

from __future__ import annotations

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


def test_rows(features: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Every origin from the day before the test period on (rolling origin), every horizon,
    with a known target. Its target days never overlap the training rows'."""
    first_origin = start - pd.Timedelta(days=1)
    return features[(features["origin"] >= first_origin) & features["units"].notna()]
