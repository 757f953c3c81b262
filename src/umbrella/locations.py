"""What a weather pull needs to know from the raw tables: where each store is and when it sold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from umbrella.errors import DataError
from umbrella.paths import STORES
from umbrella.schemas import TABLES
from umbrella.validation import summary, typed_table


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
    try:
        sales = pd.read_csv(path, usecols=["date", "store"], dtype=str)
    except ValueError:
        raise DataError(f"{label}: needs the columns date and store to pull weather") from None
    dates = pd.to_datetime(sales["date"], format="%Y-%m-%d", errors="coerce").dropna()
    if dates.empty:
        raise DataError(f"{label}, column date: no ISO date (YYYY-MM-DD) to pull weather for")
    stores = sorted(sales["store"].dropna().str.strip().unique())
    return dates.min().date(), dates.max().date(), stores
