"""What a weather pull needs to know from the raw tables: where each store is and when it sold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from umbrella.core.errors import DataError
from umbrella.core.paths import STORES
from umbrella.data.contract.rules import summary, typed_table
from umbrella.data.contract.schemas import TABLES

CHUNK_ROWS = 500_000


def store_locations(path: Path, label: str) -> pd.DataFrame:
    """`store`, `latitude`, `longitude`, `timezone` (NA: let the API find it) of stores.csv.

    The file is checked against its contract first, with the same all-problems report as
    `validate`: a pull to a wrong location would cost API calls and give wrong weather.
    """
    table, problems = typed_table(path, TABLES[STORES], label)
    if problems or table is None:
        raise DataError(summary(problems))
    out = table[["store", "latitude", "longitude"]].copy()
    out["timezone"] = table.get("timezone", pd.NA)
    return out.reset_index(drop=True)


def sales_period(path: Path, label: str) -> tuple[dt.date, dt.date, list[str]]:
    """First and last sales date and the stores that sold, read leniently.

    Rows whose date does not parse are left for `validate` to report; they cannot widen
    the period.
    """
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    stores: set[str] = set()
    try:
        with pd.read_csv(path, usecols=["date", "store"], dtype=str, chunksize=CHUNK_ROWS) as rows:
            for sales in rows:  # a chunk at a time: a chain's sales never whole in memory
                dates = pd.to_datetime(sales["date"], format="%Y-%m-%d", errors="coerce")
                dates = dates.dropna()
                if len(dates):
                    first = dates.min() if first is None else min(first, dates.min())
                    last = dates.max() if last is None else max(last, dates.max())
                stores.update(sales["store"].dropna().str.strip())
    except ValueError:
        raise DataError(f"{label}: needs the columns date and store to pull weather") from None
    if first is None or last is None:
        raise DataError(f"{label}, column date: no ISO date (YYYY-MM-DD) to pull weather for")
    return first.date(), last.date(), sorted(stores)
