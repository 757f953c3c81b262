"""The sql source: the retailer's sales from a database, through SQLAlchemy.

`read_sales` runs `data.sql.query` and returns a frame ready to be written as our sales CSV:
dates as ISO text, store as text, numbers as they are (nullable Int64 for whole numbers).
Whether the columns meet the data contract is not checked here: the CSV written from the
frame goes through the same validation as a retailer's own file.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url

from umbrella.core.errors import DataError

logger = logging.getLogger(__name__)

CHUNK_ROWS = 50_000  # rows fetched at a time: a large table is never held as Python rows
LABEL = "sales database"
# SQLite asks the statement timer every this many virtual-machine steps (well under 1 ms).
SQLITE_STEPS = 10_000

# Statements that return rows. Others are refused before they reach the database.
_ROW_KEYWORDS = {"select", "with", "values", "table"}
_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|\()*", re.DOTALL)


def database_url(env: str) -> str:
    """The SQLAlchemy URL in the environment variable `env` (data.sql.url_env).

    It lives in the environment, not in params.yaml, because it carries the password.
    """
    url = os.environ.get(env, "").strip()
    if not url:
        raise DataError(
            f"data.sql.url_env: the environment variable {env} is not set; it must hold the "
            "sales database's SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db"
        )
    return url


def sales_chunks(url: str, query: str, timeout_s: float) -> Iterator[pd.DataFrame]:
    """Run `query` on the database at `url`; its rows for data/raw/sales.csv, CHUNK_ROWS at
    a time, so a chain's sales never sit in memory whole.

    `timeout_s` bounds connecting and each statement: the query, and on PostgreSQL (whose
    rows come through a server-side cursor) and SQLite each fetch of a chunk of its rows.
    The query runs in a read-only transaction that is never committed. Every failure is a
    one-line DataError that never shows the password.
    """
    parsed = _parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    _check_is_select(query)
    engine = _engine(parsed, timeout_s)
    logger.info("%s: running the sales query on %s", LABEL, shown)
    rows = 0
    try:
        try:
            conn = engine.connect()
        except sa_exc.DBAPIError as exc:
            raise _connect_error(exc, parsed, timeout_s) from None
        with conn:
            try:
                timer = _read_only(conn, timeout_s)
                for frame in _fetch(conn, query, parsed):
                    rows += len(frame)
                    yield frame
                    timer.restart()  # the next chunk's fetch is a statement of its own
            except sa_exc.DBAPIError as exc:
                raise _query_error(exc, parsed, query, timeout_s) from None
    finally:
        engine.dispose()
    logger.info("%s: %d rows", LABEL, rows)


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url.strip())
    except (sa_exc.ArgumentError, ValueError, TypeError):
        # The text may hold a password: do not echo it.
        raise DataError(
            f"{LABEL}: not a SQLAlchemy URL (expected dialect+driver://user:password@host:port/"
            "database, e.g. postgresql+psycopg://... or sqlite:///path.db)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        # Plain postgresql:// means psycopg2, which we do not ship; psycopg 3 is installed.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _check_is_select(query: str) -> None:
    rest = _LEADING_NOISE.sub("", query, count=1)
    word = re.match(r"[A-Za-z_]+", rest)
    if word is None or word.group(0).lower() not in _ROW_KEYWORDS:
        raise DataError(f"{LABEL}: the query must be a SELECT returning rows: {_one_line(query)}")


def _engine(url: URL, timeout_s: float) -> Engine:
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        # libpq counts whole seconds and at least 2.
        connect_args["connect_timeout"] = max(2, math.ceil(timeout_s))
    elif backend == "sqlite":
        connect_args["timeout"] = timeout_s  # waiting for a writer's lock
        _check_sqlite_file(url)
    try:
        # NullPool: one connection, closed at once; nothing lingers on the retailer's server.
        return sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    except sa_exc.NoSuchModuleError:
        raise DataError(
            f"{LABEL}: unknown database dialect or driver '{url.drivername}' in "
            f"{url.render_as_string(hide_password=True)}"
        ) from None
    except ImportError as exc:
        raise DataError(
            f"{LABEL}: the driver for '{url.drivername}' is not installed ({exc}); "
            "PostgreSQL URLs use postgresql+psycopg://"
        ) from None
    except (sa_exc.ArgumentError, TypeError, ValueError) as exc:
        raise DataError(
            f"{LABEL}: bad URL {url.render_as_string(hide_password=True)}: {_one_line(exc)}"
        ) from None


def _check_sqlite_file(url: URL) -> None:
    """SQLite creates a missing file silently: a typo would read as 'no such table'."""
    name = url.database or ""
    if name in ("", ":memory:") or name.startswith("file:") or url.query.get("uri"):
        return
    if not Path(name).is_file():
        raise DataError(f"{LABEL}: SQLite database file not found: {name}")


class _StatementTimer:
    """PostgreSQL's statement_timeout for SQLite, which has none: a progress handler that
    interrupts the running statement ("interrupted") once `timeout_s` has passed since the
    last restart."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.restart()

    def restart(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def expired(self) -> bool:
        return time.monotonic() > self._deadline


def _read_only(conn: sa.Connection, timeout_s: float) -> _StatementTimer:
    """Make a statement that writes fail, and bound each statement's time; the timer's
    restart starts the next statement's time (it counts only on SQLite)."""
    timer = _StatementTimer(timeout_s)
    backend = conn.dialect.name
    if backend == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, round(timeout_s * 1000))}")
    elif backend == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
        sqlite = cast(sqlite3.Connection, conn.connection.driver_connection)
        sqlite.set_progress_handler(timer.expired, SQLITE_STEPS)
    return timer


def _fetch(conn: sa.Connection, query: str, url: URL) -> Iterator[pd.DataFrame]:
    # stream_results: a server-side cursor on PostgreSQL, so rows arrive a chunk at a time.
    options = {"stream_results": True, "max_row_buffer": CHUNK_ROWS}
    result = conn.execution_options(**options).execute(sa.text(query))
    if not result.returns_rows:
        raise DataError(f"{LABEL}: the query returns no rows (not a SELECT): {_one_line(query)}")
    columns = list(map(str, result.keys()))  # iterating the result would fetch rows
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DataError(
            f"{LABEL}: the query returns column(s) {', '.join(repeated)} more than once; "
            f"name them apart with AS: {_one_line(query)}"
        )
    empty = True
    for rows in result.partitions(CHUNK_ROWS):
        empty = False
        yield _frame(_typed_chunk(rows, columns), columns)
    if empty:
        raise DataError(
            f"{LABEL}: the query returned no rows from {url.render_as_string(hide_password=True)}"
            f": {_one_line(query)}"
        )


# A chunk's column: its values, and what they are ("empty" when all are NULL).
Typed = tuple[str, pd.Series]


def _typed_chunk(rows: Sequence[Sequence[Any]], columns: list[str]) -> list[Typed]:
    # Columns of Python objects first: pandas' own inference would turn a whole-number
    # column with NULLs into floats.
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return [_typed_column(pd.Series(v, dtype=object)) for v in values]


def _typed_column(values: pd.Series) -> Typed:
    """The column as the most exact type its values allow, and that type's name."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return "empty", values
    if kind == "boolean":  # a flag stored as BOOLEAN: 0/1, as the contract has it
        return "int", values.map(int, na_action="ignore").astype("Int64")
    if kind == "integer":
        try:
            return "int", values.astype("Int64")
        except (OverflowError, TypeError, ValueError):  # beyond int64: keep the Python ints
            return "object", values
    if kind in ("floating", "mixed-integer-float"):
        return "float", values.astype("float64")
    if kind == "decimal":  # NUMERIC: whole numbers stay whole, others become floats
        floats = values.astype("float64")
        whole = floats[values.notna()]
        if bool(((whole == np.round(whole)) & (whole.abs() < 2**53)).all()):
            return "int", floats.astype("Int64")
        return "float", floats
    if kind == "string":  # pandas' compact string dtype, not one Python object per value
        return "str", values.astype("str")
    if kind in ("date", "datetime", "datetime64"):
        return "str", values.map(_iso, na_action="ignore").astype("str")
    # Mixed types (SQLite does not enforce column types): as they are, dates as text.
    return "object", values.map(_iso, na_action="ignore")


def _iso(value: Any) -> Any:
    """ISO text for a date; a time of day other than midnight is kept, so validation sees it."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


_DTYPES: dict[str, Any] = {"int": "Int64", "float": "float64", "str": "str", "object": "object"}


def _frame(typed: list[Typed], columns: list[str]) -> pd.DataFrame:
    """A chunk's typed columns as a frame; store ids as text."""
    out: dict[str, pd.Series] = {}
    for name, (kind, values) in zip(columns, typed, strict=True):
        values = values.reset_index(drop=True)
        if kind == "object":
            values = values.astype(object).where(values.notna(), None)
        elif kind != "empty":
            values = values.astype(_DTYPES[kind])
        out[name] = _store_text(values) if name == "store" else values
    return pd.DataFrame(out)


def _store_text(values: pd.Series) -> pd.Series:
    """Store ids as text: 7 (INTEGER or NUMERIC) becomes '7'; NULL stays empty."""
    if values.dtype == "str":
        return values
    texts = values.astype(object).map(lambda v: None if pd.isna(v) else str(v))
    return texts.astype("str")


def _connect_error(exc: sa_exc.DBAPIError, url: URL, timeout_s: float) -> DataError:
    """Refused, timed out or not authenticated: where, and what the driver said."""
    shown = url.render_as_string(hide_password=True)
    message = _secret_free(exc, url, first_line=False)
    lowered = message.lower()
    where = f"{url.host}:{url.port or 'default port'}" if url.host else shown
    if "authentication failed" in lowered or "password" in lowered:
        return DataError(f"{LABEL}: authentication failed for {shown}: {message}")
    if "timeout" in lowered or "timed out" in lowered:
        return DataError(
            f"{LABEL}: cannot connect to {where} within {timeout_s:g} s ({shown}): {message}"
        )
    return DataError(f"{LABEL}: cannot connect to {where} ({shown}): {message}")


def _query_error(exc: sa_exc.DBAPIError, url: URL, query: str, timeout_s: float) -> DataError:
    """The database refused or cancelled the query: its message and the query."""
    message = _secret_free(exc, url, first_line=True)
    lowered = message.lower()
    # PostgreSQL's statement_timeout; SQLite's statement timer (_StatementTimer)
    if "statement timeout" in lowered or (
        url.get_backend_name() == "sqlite" and lowered == "interrupted"
    ):
        return DataError(
            f"{LABEL}: the query took longer than {timeout_s:g} s (data.timeout_s): "
            f"{_one_line(query)}"
        )
    if "read-only" in lowered or "readonly" in lowered:
        return DataError(
            f'{LABEL}: the query must be a SELECT returning rows; the database says "{message}"'
            f" for query: {_one_line(query)}"
        )
    return DataError(f'{LABEL}: the query failed: "{message}" in query: {_one_line(query)}')


def _secret_free(exc: sa_exc.DBAPIError, url: URL, first_line: bool) -> str:
    """The driver's message on one line, with the password masked should it appear."""
    message = _one_line(exc.orig if exc.orig is not None else exc, first_line=first_line)
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def _one_line(text: object, first_line: bool = False) -> str:
    lines = str(text).strip().splitlines() or [""]
    if first_line:
        # The database's primary message; PostgreSQL adds LINE/caret context below it.
        return " ".join(lines[0].split())
    return " ".join(" ".join(lines).split())
