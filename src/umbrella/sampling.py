"""Seeded samples drawn across partitions: each row's chance comes from its own values and
the seed, so a sample is the same whatever the partitioning, the engine or the order and
names of the stores."""

from __future__ import annotations

import numpy as np
import pandas as pd


def row_uniform(rows: pd.DataFrame, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row from the row's values (the store's name left out)
    and the seed."""
    values = pd.util.hash_pandas_object(rows.drop(columns="store", errors="ignore"), index=False)
    # The seed is mixed into each row's hash, then hashed again (pandas' hash of numbers
    # takes no key).
    seeded = pd.util.hash_array(values.to_numpy() ^ np.uint64(seed))
    return (seeded >> np.uint64(11)).astype(np.float64) / float(2**53)


def smallest_uniform(rows: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    """The k rows with the smallest row_uniform: a seeded sample of k rows. The k smallest
    of the union of each partition's k smallest are the k smallest of all rows."""
    u = row_uniform(rows, seed)
    return rows.iloc[np.argsort(u, kind="stable")[:k]]
