"""validate: check the raw tables against the data contract; write typed Parquet.

Every problem is collected and written to metrics/validation.json; any problem fails the
stage with a short report and no traceback.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from umbrella.errors import DataError, WriteError
from umbrella.interim import forecasts_used
from umbrella.io import write_json, write_parquet
from umbrella.params import Params, load_params
from umbrella.paths import FORECASTS, INTERIM, METRICS, RAW, SALES, STORES, TRUTH, WEATHER
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
    finalise,
    summary,
    typed_table,
)

log = logging.getLogger(__name__)
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


def main(params: Params | None = None) -> None:
    params = params or load_params()
    tables, problems = validate(params)
    write_json(
        {
            "ok": not problems,
            "problems": len(problems),
            "rows": {name: len(t) for name, t in tables.items()},
            "forecasts": forecasts_used(tables.get(FORECASTS)),
            "details": [p.to_dict() for p in problems],
        },
        METRICS / "validation.json",
    )
    if problems:
        raise DataError(summary(problems))
    if FORECASTS not in tables:
        log.warning(
            "no weather forecasts file: observed weather stands in for the forecast, "
            "which flatters every result"
        )
    # Written beside the old folder and swapped in when complete: a failed write (disk full)
    # leaves the previous tables as they were, never half of the new ones.
    staging = INTERIM.with_name(".interim.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for name, table in tables.items():
            write_parquet(finalise(table, name), staging / f"{name}.parquet")
        shutil.rmtree(INTERIM, ignore_errors=True)
        staging.rename(INTERIM)
    except WriteError as exc:  # name the file as the user knows it
        where = INTERIM / Path(exc.filename).name
        raise WriteError(exc.errno, exc.strerror, str(where)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
