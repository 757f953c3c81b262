"""A folder of raw tables checked against the data contract (docs/data.md): every problem
of every file and across files, collected, none raised."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from umbrella.params import Params
from umbrella.paths import FORECASTS, RAW, SALES, STORES, TRUTH, WEATHER
from umbrella.schemas import TABLES
from umbrella.split import test_start
from umbrella.validation import (
    Problem,
    check_coverage,
    check_forecast_dates,
    check_forecast_leads,
    check_gaps,
    check_history,
    check_located,
    typed_table,
)

OPTIONAL = (FORECASTS, TRUTH, STORES)


def label(name: str, params: Params) -> str:
    """How a problem names the file: the raw copy, and where it came from."""
    path = f"data/raw/{name}.csv"
    origin = getattr(params.data, name, None) if params.data.source == "csv" else None
    return f"{path} (from {origin})" if origin else path


def validate(params: Params, raw: Path = RAW) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Typed tables and every problem found in the raw folder."""
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name, spec in TABLES.items():
        path = raw / f"{name}.csv"
        if name in OPTIONAL and not path.exists():
            continue
        table, found = typed_table(path, spec, label(name, params))
        problems += found
        if table is not None:
            tables[name] = table
    sales, weather = tables.get(SALES), tables.get(WEATHER)
    # Checks across rows and files need parsed keys; other problems do not hide them.
    if sales is not None and keys_parsed(sales, SALES):
        problems += check_gaps(sales, label(SALES, params))
        start = test_start(sales["date"].min(), sales["date"].max(), params.split)
        problems += check_history(
            sales,
            start,
            params.validate.min_history_days,
            params.base.horizon,
            label(SALES, params),
        )
        if weather is not None and keys_parsed(weather, WEATHER):
            problems += check_coverage(sales, weather, label(WEATHER, params))
        if STORES in tables and keys_parsed(tables[STORES], STORES):
            problems += check_located(sales, tables[STORES], label(STORES, params))
    if FORECASTS in tables:
        problems += check_forecast_dates(tables[FORECASTS], label(FORECASTS, params))
        problems += check_forecast_leads(
            tables[FORECASTS], params.base.horizon, label(FORECASTS, params)
        )
    return tables, problems


def keys_parsed(table: pd.DataFrame, name: str) -> bool:
    """True when every key value of the table is present and parsed."""
    key = [k for k in TABLES[name].key if k in table]
    return bool(table[key].notna().all(axis=None))
