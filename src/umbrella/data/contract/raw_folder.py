"""A folder of raw tables checked against the data contract (docs/data.md): every problem
of every file and across files, collected, none raised."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from umbrella.core.params import Params
from umbrella.core.partitions import part_file, partition_count
from umbrella.core.paths import ARRIVALS, FORECASTS, RAW, SALES, STOCK, STORES, TRUTH, WEATHER
from umbrella.core.split import test_start
from umbrella.data.contract.rules import (
    Problem,
    check_coverage,
    check_forecast_dates,
    check_forecast_leads,
    check_gaps,
    check_located,
    check_training_history,
    parse_dates,
    typed_table,
)
from umbrella.data.contract.schemas import TABLES
from umbrella.data.contract.stock_rules import stock_problems

OPTIONAL = (FORECASTS, TRUTH, STORES, STOCK, ARRIVALS)


def label(name: str, params: Params, part: int | None = None, raw: Path = RAW) -> str:
    """How a problem names the file: a partition's file as the checkout names it, wherever
    `raw` is (umbrella.core.storage); else the raw copy, and where it came from."""
    if part is not None:
        return f"data/raw/{name}/{raw_file(raw, name, part).name}"
    path = f"data/raw/{name}.csv"
    origin = getattr(params.data, name, None) if params.data.source == "csv" else None
    return f"{path} (from {origin})" if origin else path


def partitioned(raw: Path = RAW) -> bool:
    """True when the raw tables are partitioned by store group (the simulated retailer)."""
    return (raw / SALES).is_dir()


def raw_file(raw: Path, name: str, part: int | None = None) -> Path:
    """raw/<name>.csv; with `part`, that partition's file of raw/<name>/, or the file all
    partitions share."""
    return raw / f"{name}.csv" if part is None else part_file(raw / name, part, ".csv")


def raw_partitions(raw: Path = RAW) -> int:
    return partition_count(raw / SALES, ".csv")


def raw_sales_span(part: int, raw: Path = RAW) -> list[pd.Timestamp]:
    """The first and last parsed date of a partition's raw sales (none when unreadable):
    the test period of every partition is set by all of them."""
    try:
        text = pd.read_csv(raw_file(raw, SALES, part), usecols=["date"], dtype=str)["date"]
    except (OSError, ValueError):
        return []
    dates = parse_dates(text)[0].dropna()
    return [dates.min(), dates.max()] if len(dates) else []


def validate(
    params: Params,
    raw: Path = RAW,
    part: int | None = None,
    start: pd.Timestamp | None = None,
    cut: bool = False,
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Typed tables and every problem found in the raw folder, or in one partition of it
    (`part`, with the `start` of the test period that all partitions set). `cut`: the
    partitions were cut from whole files (partition_files.py), which the problems name."""
    tables: dict[str, pd.DataFrame] = {}
    named = None if cut else part
    problems: list[Problem] = []
    for name, spec in TABLES.items():
        path = raw_file(raw, name, part)
        # An optional table may be absent, but not from one partition of a partitioned one.
        if name in OPTIONAL and not path.exists() and not (raw / name).is_dir():
            continue
        table, found = typed_table(path, spec, label(name, params, named, raw))
        problems += found
        if table is not None:
            tables[name] = table
    sales, weather = tables.get(SALES), tables.get(WEATHER)
    # Checks across rows and files need parsed keys; other problems do not hide them.
    if sales is not None and keys_parsed(sales, SALES):
        problems += check_gaps(sales, label(SALES, params, named, raw))
        if start is None:
            start = test_start(sales["date"].min(), sales["date"].max(), params.split)
        problems += check_training_history(
            sales,
            start,
            params.validate.min_history_days,
            params.base.horizon,
            label(SALES, params, named, raw),
        )
        if weather is not None and keys_parsed(weather, WEATHER):
            problems += check_coverage(sales, weather, label(WEATHER, params, named, raw))
        if STORES in tables and keys_parsed(tables[STORES], STORES):
            problems += check_located(sales, tables[STORES], label(STORES, params, named, raw))
        problems += stock_checked(tables, sales, params, named, raw)
    if FORECASTS in tables:
        problems += check_forecast_dates(tables[FORECASTS], label(FORECASTS, params, named, raw))
        problems += check_forecast_leads(
            tables[FORECASTS], params.base.horizon, label(FORECASTS, params, named, raw)
        )
    return tables, problems


def stock_checked(
    tables: dict[str, pd.DataFrame],
    sales: pd.DataFrame,
    params: Params,
    part: int | None,
    raw: Path,
) -> list[Problem]:
    """The stock and arrivals tables (the simulated stockroom's) against the sales: the
    rules predict applies to a retailer's stock file (stock_rules.py). The storeroom's
    capacity is predict's to check (the inventory block)."""
    origin = sales["date"].max()
    highest = sales.groupby("store")["units"].max()
    found = []
    for name in (STOCK, ARRIVALS):
        if name in tables and keys_parsed(tables[name], name):
            where = label(name, params, part, raw)
            found += stock_problems(tables[name], name, origin, highest, None, where)
    return found


def keys_parsed(table: pd.DataFrame, name: str) -> bool:
    """True when every key value of the table is present and parsed."""
    key = [k for k in TABLES[name].key if k in table]
    return bool(table[key].notna().all(axis=None))
