"""The validated tables in data/interim/, as the later stages read them: each a Parquet
dataset partitioned by store group (umbrella.core.partitions), read whole or one partition."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from umbrella.core.partitions import read_all, read_part
from umbrella.core.paths import ARRIVALS, FORECASTS, INTERIM, SALES, STOCK, STORES, TRUTH, WEATHER


@dataclass(frozen=True)
class Interim:
    sales: pd.DataFrame
    weather: pd.DataFrame
    forecasts: pd.DataFrame | None  # None: observed weather stands in for forecasts
    truth: pd.DataFrame | None  # simulated source only; read by evaluation alone
    stores: pd.DataFrame | None = None  # stores.csv (data.stores), when given: the holidays


def read_interim(folder: Path = INTERIM, truth: bool = False, part: int | None = None) -> Interim:
    """The tables of every store, or of the stores of partition `part`."""

    def read(name: str) -> pd.DataFrame:
        return read_all(folder / name) if part is None else read_part(folder / name, part)

    def optional(name: str) -> pd.DataFrame | None:
        return read(name) if (folder / name).exists() else None

    return Interim(
        sales=read(SALES),
        weather=read(WEATHER),
        forecasts=optional(FORECASTS),
        truth=optional(TRUTH) if truth else None,
        stores=optional(STORES),
    )


def stores_table(folder: Path = INTERIM) -> pd.DataFrame | None:
    """The validated stores.csv of every store; None when data.stores gave none."""
    return read_all(folder / STORES) if (folder / STORES).exists() else None


def stock_after(
    origin: pd.Timestamp, folder: Path = INTERIM
) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """The validated stock counted at the close of `origin` and the orders arriving after
    it (the simulated retailer's stockroom); None without a stock table."""
    if not (folder / STOCK).exists():
        return None
    counted = read_all(folder / STOCK, filters=[("date", "==", origin)])
    coming = read_all(folder / ARRIVALS) if (folder / ARRIVALS).exists() else None
    return counted, coming


def sales_span(folder: Path = INTERIM) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last date of the validated sales."""
    dates = read_all(folder / SALES, columns=["date"])["date"]
    return dates.min(), dates.max()


def stores_in(part: int, interim: Path = INTERIM) -> list[str]:
    """The stores of one partition, in name order."""
    stores = read_part(interim / SALES, part, columns=["store"])["store"]
    return sorted(stores.astype(str).unique())


def only_stores(data: Interim, stores: frozenset[str]) -> Interim:
    """The tables of `stores` only (a table shared by all stores stays whole)."""

    def keep(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["store"].astype(str).isin(stores)] if "store" in table else table

    return Interim(
        keep(data.sales),
        keep(data.weather),
        None if data.forecasts is None else keep(data.forecasts),
        None if data.truth is None else keep(data.truth),
        None if data.stores is None else keep(data.stores),
    )


FALLBACK = "observed"  # forecast_source of a row where observed weather stands in (open-meteo)


def fallback_counts(forecasts: pd.DataFrame, since: pd.Timestamp | None = None) -> tuple[int, int]:
    """Rows of the forecasts (of the target days from `since` on) and how many of them are
    observed weather standing in (Open-Meteo days before its forecast archive)."""
    rows = forecasts if since is None else forecasts[forecasts["date"] >= since]
    if "forecast_source" not in rows:
        return len(rows), 0
    return len(rows), int((rows["forecast_source"] == FALLBACK).sum())


def forecasts_note(counts: tuple[int, int] | None) -> str:
    """What stood in for the weather forecasts, from fallback_counts (None: no forecasts).

    Only forecasts as issued are honest: observed weather (no forecasts file, or Open-Meteo
    days before its forecast archive starts) knows the weather that followed, which flatters
    every result; the metrics say so.
    """
    if counts is None:
        return "observed weather (no forecasts: flatters results)"
    rows, observed = counts
    if rows == 0 or observed == 0:
        return "issued"
    return (
        f"issued; observed weather for {observed / rows:.1%} of rows, before the forecast archive"
    )
