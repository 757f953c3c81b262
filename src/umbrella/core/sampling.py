"""Seeded samples, the same whatever the partitioning, the engine or the order of the rows:
of rows drawn across partitions (each row's chance comes from its own values and the seed,
not its store's name), and of stores (from their names and the seed)."""

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


def watched_stores(stores: list[str], max_stores: int, seed: int) -> frozenset[str] | None:
    """None (all of them) for at most `max_stores` stores, else a seeded sample of that many,
    the same whatever the partitioning."""
    if len(stores) <= max_stores:
        return None
    names = np.array(sorted(stores), dtype=object)
    hashed = pd.util.hash_array(names, hash_key=f"{seed:016d}"[-16:])
    return frozenset(names[np.argsort(hashed, kind="stable")[:max_stores]])
