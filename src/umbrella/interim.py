"""The validated tables in data/interim/, as the later stages read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from umbrella.paths import FORECASTS, INTERIM, SALES, TRUTH, WEATHER


@dataclass(frozen=True)
class Interim:
    sales: pd.DataFrame
    weather: pd.DataFrame
    forecasts: pd.DataFrame | None  # None: observed weather stands in for forecasts
    truth: pd.DataFrame | None  # simulated source only; read by evaluation alone


def _optional(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def read_interim(folder: Path = INTERIM, truth: bool = False) -> Interim:
    return Interim(
        sales=pd.read_parquet(folder / f"{SALES}.parquet"),
        weather=pd.read_parquet(folder / f"{WEATHER}.parquet"),
        forecasts=_optional(folder / f"{FORECASTS}.parquet"),
        truth=_optional(folder / f"{TRUTH}.parquet") if truth else None,
    )


def sales_span(folder: Path = INTERIM) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last date of the validated sales."""
    dates = pd.read_parquet(folder / f"{SALES}.parquet", columns=["date"])["date"]
    return dates.min(), dates.max()


FALLBACK = "observed"  # forecast_source of a row where observed weather stands in (open-meteo)


def forecasts_used(forecasts: pd.DataFrame | None, since: pd.Timestamp | None = None) -> str:
    """What stood in for the weather forecasts of the target days from `since` on.

    Only forecasts as issued are honest: observed weather (no forecasts file, or Open-Meteo
    days before its forecast archive starts) knows the weather that followed, which flatters
    every result; the metrics say so.
    """
    if forecasts is None:
        return "observed weather (no forecasts: flatters results)"
    rows = forecasts if since is None else forecasts[forecasts["date"] >= since]
    if "forecast_source" not in rows or rows.empty:
        return "issued"
    share = float((rows["forecast_source"] == FALLBACK).mean())
    if share == 0:
        return "issued"
    return f"issued; observed weather for {share:.1%} of rows, before the forecast archive"
