"""The time-based split: training targets before the test start, evaluation from it on; the
validation period, the days just before the test start, split the same way."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from umbrella.core.params import Split


def test_start(first: pd.Timestamp, last: pd.Timestamp, split: Split) -> pd.Timestamp:
    """First day of the test period.

    `split.test_start` when set; otherwise the last `split.test_days` days, capped at a
    third of the data so that a short series still keeps two thirds for training.
    """
    if split.test_start is not None:
        return pd.Timestamp(split.test_start)
    days = (last - first).days + 1
    return last - pd.Timedelta(days=min(split.test_days, days // 3) - 1)


def validation_start(
    first: pd.Timestamp, start: pd.Timestamp, split: Split, min_days: int
) -> pd.Timestamp | None:
    """First day of the validation period, which ends where the test period `start`s.

    The last `split.validation_days` days before it, capped at a third of those days (as
    `test_start` caps the test period); None (no validation period) when that leaves no day,
    or fewer than `min_days` days before it to train on (validate.min_history_days, the
    test period's own rule).
    """
    days = min(split.validation_days, (start - first).days // 3)
    begin = start - pd.Timedelta(days=days)
    if days < 1 or (begin - first).days < min_days:
        return None
    return begin


def no_validation(first: pd.Timestamp, start: pd.Timestamp, split: Split, min_days: int) -> str:
    """Why `validation_start` gives no validation period, in words."""
    if split.validation_days == 0:
        return "split.validation_days is 0"
    return (
        f"only {(start - first).days} days before the test period starting {start.date()}: "
        f"too few for a validation period with validate.min_history_days ({min_days}) "
        "days before it"
    )


def training_rows(features: pd.DataFrame, start: pd.Timestamp, censored: str) -> pd.DataFrame:
    """Rows whose target day is known and before the test period.

    censored="drop" leaves out sold-out target days; "keep" trains on their sales, a lower
    bound of their demand.
    """
    rows = features[(features["date"] < start) & features["units"].notna()]
    if censored == "drop":
        rows = rows[~rows["censored"]]
    return rows


def canonical_order(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows in an order that depends neither on the order of the files' rows nor on the
    names of the stores: stores by a fingerprint of their rows' values (the store column left
    out), then origin and horizon.

    Every fit sees the rows in this order, so the seeded sample of `train.max_rows`, the
    gbm's seeded validation split and the floating-point sums of every fit are the same
    whatever the stores are called. Stores whose rows are identical are interchangeable.
    """
    if rows.empty:
        return rows
    rows = rows.sort_values(["store", "origin", "horizon"], kind="stable")
    hashes = pd.util.hash_pandas_object(rows.drop(columns="store"), index=False).to_numpy()
    fingerprint = {
        store: hashlib.blake2b(hashes[at].tobytes(), digest_size=16).hexdigest()
        for store, at in rows.groupby("store", sort=False, observed=True).indices.items()
    }
    rank = rows["store"].map(fingerprint).to_numpy(dtype=object)
    order = np.lexsort((rows["horizon"].to_numpy(), rows["origin"].to_numpy(), rank))
    return rows.iloc[order]


def test_rows(
    features: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Every origin from the day before the test period on (rolling origin), every horizon,
    with a known target. Its target days never overlap the training rows'.

    With `end`, the target days before it only: the validation period (start: its first
    day, end: the test period's), whose rows never overlap the test period's.
    """
    first_origin = start - pd.Timedelta(days=1)
    rows = features[(features["origin"] >= first_origin) & features["units"].notna()]
    return rows if end is None else rows[rows["date"] < end]
