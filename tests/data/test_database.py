"""The sql source: read_sales on SQLite files and on a real, private PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from support import postgres
from support.postgres import free_port, postgres_url  # noqa: F401  (postgres_url: a fixture)

from umbrella.core.errors import DataError
from umbrella.core.files import append_csv
from umbrella.data.contract.rules import typed_table
from umbrella.data.contract.schemas import TABLES
from umbrella.data.sources import database
from umbrella.data.sources.database import database_url, sales_chunks


def read_sales(url: str, query: str, timeout_s: float) -> pd.DataFrame:
    """All the rows of the query, as pull writes them a chunk at a time."""
    return pd.concat(sales_chunks(url, query, timeout_s), ignore_index=True)


QUERY = "SELECT date, store, units, price, promo, in_stock FROM sales ORDER BY date, store"
TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def sales(tiny_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The tiny simulated sales, with gaps in price (the contract allows them only there)."""
    frame = tiny_tables["sales"].copy()
    frame["price"] = frame["price"].astype("float64").where(frame.index % 7 != 3)
    return frame.sort_values(["date", "store"], ignore_index=True)


@pytest.fixture(scope="module")
def expected(sales: pd.DataFrame) -> pd.DataFrame:
    """`sales` as read_sales must return it: ISO date text, store text, Int64 counts."""
    out = sales.copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d").astype("str")
    out["store"] = out["store"].astype("str")
    for name in ("units", "promo", "in_stock"):
        out[name] = out[name].astype("Int64")
    return out


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as Python values, NULL as None, dates as datetime.date: what a driver takes."""
    out = frame.astype(object).where(frame.notna(), None)
    if "date" in out and pd.api.types.is_datetime64_any_dtype(frame["date"]):
        out["date"] = [d.date() for d in frame["date"]]
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in out.to_dict("records")
    ]


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=True)
    assert got.to_csv(index=False) == want.to_csv(index=False)


def test_database_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALES_URL_FOR_TEST", " sqlite:///retail.db\n")
    assert database_url("SALES_URL_FOR_TEST") == "sqlite:///retail.db"
    for value in (None, "  "):
        if value is None:
            monkeypatch.delenv("SALES_URL_FOR_TEST")
        else:
            monkeypatch.setenv("SALES_URL_FOR_TEST", value)
        with pytest.raises(DataError, match="SALES_URL_FOR_TEST is not set"):
            database_url("SALES_URL_FOR_TEST")


# --- SQLite ----------------------------------------------------------------------------


def sqlite_db(path: Path, sales: pd.DataFrame, date_type: str) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"CREATE TABLE sales (date {date_type}, store TEXT, units INTEGER, price REAL, "
            "promo INTEGER, in_stock INTEGER)"
        )
        rows = records(sales.assign(date=sales["date"].dt.strftime("%Y-%m-%d")))
        conn.executemany(
            "INSERT INTO sales VALUES (:date, :store, :units, :price, :promo, :in_stock)", rows
        )
    return f"sqlite:///{path}"


@pytest.mark.parametrize("date_type", ["DATE", "TEXT"])
def test_sqlite_round_trip(
    tmp_path: Path, sales: pd.DataFrame, expected: pd.DataFrame, date_type: str
) -> None:
    url = sqlite_db(tmp_path / "retail.db", sales, date_type)
    assert_same(read_sales(url, QUERY, TIMEOUT_S), expected)


def test_chunks_are_written_one_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 2 rows (only NULL promos in one, whole numbers in the next, then a float):
    each typed on its own and appended, the file reads as the same values as one chunk."""
    path = tmp_path / "chunks.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (date TEXT, store INTEGER, promo INTEGER, price REAL)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?)",
            [
                ("2012-01-01", 1, None, 2),
                ("2012-01-02", 1, None, None),
                ("2012-01-03", 2, 1, 3),
                ("2012-01-04", 2, 0, 3.5),
                ("2012-01-05", None, None, None),
            ],
        )
    query, url = "SELECT * FROM t ORDER BY date", f"sqlite:///{path}"
    whole = tmp_path / "whole.csv"
    append_csv(read_sales(url, query, TIMEOUT_S), whole)
    monkeypatch.setattr(database, "CHUNK_ROWS", 2)
    chunked = tmp_path / "chunked.csv"
    chunks = list(sales_chunks(url, query, TIMEOUT_S))
    for chunk in chunks:
        append_csv(chunk, chunked)
    assert len(chunks) == 3
    assert chunked.read_text().splitlines() == [
        "date,store,promo,price",
        "2012-01-01,1,,2.0",
        "2012-01-02,1,,",
        "2012-01-03,2,1,3.0",
        "2012-01-04,2,0,3.5",
        "2012-01-05,,,",
    ]
    assert chunked.read_bytes() == whole.read_bytes()


def test_sqlite_missing_file_is_an_error(tmp_path: Path) -> None:
    # SQLite would create an empty file and then report "no such table".
    with pytest.raises(DataError, match="file not found"):
        read_sales(f"sqlite:///{tmp_path / 'typo.db'}", QUERY, TIMEOUT_S)
    assert not (tmp_path / "typo.db").exists()


def test_sqlite_query_cannot_write(tmp_path: Path, sales: pd.DataFrame) -> None:
    url = sqlite_db(tmp_path / "retail.db", sales.head(3), "DATE")
    with pytest.raises(DataError, match="must be a SELECT"):
        read_sales(url, "WITH x AS (SELECT 1) DELETE FROM sales", TIMEOUT_S)
    assert len(read_sales(url, QUERY, TIMEOUT_S)) == 3


def test_sqlite_statement_timeout(tmp_path: Path, sales: pd.DataFrame) -> None:
    """SQLite has no statement_timeout: a slow query (30 million steps of a recursive CTE,
    about 10 s) used to run for as long as it took; now it is interrupted after timeout_s."""
    url = sqlite_db(tmp_path / "retail.db", sales.head(3), "DATE")
    slow = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 30000000) "
        "SELECT max(x) AS units FROM n"
    )
    with pytest.raises(DataError) as info:
        read_sales(url, slow, timeout_s=0.2)
    took = "the query took longer than 0.2 s (data.timeout_s)"
    assert str(info.value) == f"sales database: {took}: {slow}"
    assert len(read_sales(url, QUERY, TIMEOUT_S)) == 3  # the file is as it was


def test_sqlite_statement_timeout_counts_each_chunk_on_its_own(
    tmp_path: Path, sales: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a FETCH on PostgreSQL, each chunk has timeout_s of its own: a long read (here
    slow chunks of 2 rows) is not cut off as long as every chunk comes in time."""
    url = sqlite_db(tmp_path / "retail.db", sales.head(6), "DATE")
    monkeypatch.setattr(database, "CHUNK_ROWS", 2)
    monkeypatch.setattr(database, "SQLITE_STEPS", 1)  # the timer asked at every step
    chunks = []
    for chunk in sales_chunks(url, QUERY, timeout_s=0.5):
        chunks.append(chunk)
        time.sleep(0.3)  # the caller's work between chunks: 0.9 s in all
    assert [len(c) for c in chunks] == [2, 2, 2]


@pytest.mark.parametrize(
    "query",
    ["DELETE FROM sales", "UPDATE sales SET units = 0", "DROP TABLE sales", "PRAGMA x", ""],
)
def test_not_a_select_is_refused_before_it_runs(query: str) -> None:
    with pytest.raises(DataError, match="must be a SELECT returning rows"):
        read_sales("sqlite://", query, TIMEOUT_S)


@pytest.mark.parametrize(
    "query",
    [
        "-- sales\nSELECT 1 AS a",
        "/* x */ SELECT 1 AS a",
        "  with q as (select 1 as a) select a from q",
        "VALUES (1)",
    ],
)
def test_select_forms_are_accepted(query: str) -> None:
    assert len(read_sales("sqlite://", query, TIMEOUT_S)) == 1


@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", "not a SQLAlchemy URL"),
        ("postgresql+psycopg://u:s3cret@host:port/db", "not a SQLAlchemy URL"),
        ("nosuchdb://u:s3cret@host/db", "unknown database dialect or driver 'nosuchdb'"),
        ("mysql+nosuchdriver://u:s3cret@host/db", "unknown database dialect or driver"),
    ],
)
def test_bad_url(url: str, message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        read_sales(url, QUERY, TIMEOUT_S)
    assert "s3cret" not in str(info.value)
    assert "\n" not in str(info.value)


# --- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(postgres_url: str, sales: pd.DataFrame) -> Iterator[str]:  # noqa: F811
    """The private server, seeded with the sales in typed tables."""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE sales (date DATE NOT NULL, store TEXT NOT NULL, units INTEGER, "
            "price NUMERIC(8, 2), promo INTEGER, in_stock INTEGER)"
        )
        conn.execute(
            sa.text("INSERT INTO sales VALUES (:date, :store, :units, :price, :promo, :in_stock)"),
            records(sales),
        )
        # Another retailer's types: TIMESTAMP dates, numeric store ids, DOUBLE and BOOLEAN.
        conn.exec_driver_sql(
            "CREATE TABLE sales_ts (date TIMESTAMP, store INTEGER, units BIGINT, "
            "price DOUBLE PRECISION, promo BOOLEAN, in_stock SMALLINT, note TEXT)"
        )
        conn.exec_driver_sql(
            "INSERT INTO sales_ts VALUES "
            "('2012-01-01 00:00', 1, 3, 19.99, false, 1, 'ok'), "
            "('2012-01-01 00:00', 2, 0, NULL, NULL, NULL, NULL), "
            "('2012-01-02 13:00', 1, 5, 18.5, true, 0, NULL)"
        )
        conn.exec_driver_sql("CREATE SEQUENCE receipts")
        conn.exec_driver_sql("CREATE TABLE stores (store TEXT PRIMARY KEY, region TEXT)")
        stores = sorted(sales["store"].unique())
        conn.execute(
            sa.text("INSERT INTO stores VALUES (:store, :region)"),
            [{"store": s, "region": ("south", "north")[i % 2 == 0]} for i, s in enumerate(stores)],
        )
    engine.dispose()
    yield postgres_url


def test_missing_postgres_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fixture turns this into a test failure, not a skip: CI installs PostgreSQL.
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    with pytest.raises(postgres.PostgresUnavailable, match=r"not installed.*apt-get install"):
        postgres.find_bin()


def test_postgres_round_trip(pg: str, expected: pd.DataFrame) -> None:
    got = read_sales(pg, QUERY, TIMEOUT_S)
    assert_same(got, expected)
    assert got["price"].isna().any()  # the NULLs made it


def test_postgres_plain_scheme_uses_psycopg(pg: str) -> None:
    url = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
    assert len(read_sales(url, "SELECT 1 AS a", TIMEOUT_S)) == 1


def test_postgres_timestamp_types(pg: str) -> None:
    got = read_sales(pg, "SELECT * FROM sales_ts ORDER BY date, store", TIMEOUT_S)
    assert got["store"].tolist() == ["1", "2", "1"]  # INTEGER ids become text
    assert got.to_csv(index=False).splitlines() == [
        "date,store,units,price,promo,in_stock,note",
        "2012-01-01,1,3,19.99,0,1,ok",  # midnight: a date; 1 stays an integer; false is 0
        "2012-01-01,2,0,,,,",  # NULLs are empty cells
        "2012-01-02T13:00:00,1,5,18.5,1,0,",  # a time of day is kept, not truncated
    ]


def test_postgres_time_of_day_is_reported_by_validation(pg: str, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    query = "SELECT date, store, units, price FROM sales_ts ORDER BY date, store"
    read_sales(pg, query, TIMEOUT_S).to_csv(path, index=False)
    _, problems = typed_table(path, TABLES["sales"], "sales")
    assert [(p.column, p.rows, p.examples) for p in problems] == [
        ("date", [4], ["2012-01-02T13:00:00"])
    ]
    assert problems[0].rule.startswith("not an ISO date")


def test_postgres_custom_query_with_where_and_join(pg: str, sales: pd.DataFrame) -> None:
    query = """
        SELECT s.date, s.store, s.units, s.price, s.promo, s.in_stock, t.region
        FROM sales AS s JOIN stores AS t ON t.store = s.store
        WHERE t.region = :region AND s.date >= '2012-03-01'
        ORDER BY s.date, s.store
    """.replace(":region", "'north'")
    got = read_sales(pg, query, TIMEOUT_S)
    north = sorted(sales["store"].unique())[::2]
    want = sales[sales["store"].isin(north) & (sales["date"] >= "2012-03-01")]
    assert list(got.columns) == [*sales.columns, "region"]  # extra columns are kept
    assert len(got) == len(want) > 0
    assert set(got["store"]) == set(north) and set(got["region"]) == {"north"}
    assert got["date"].min() == "2012-03-01"


def test_postgres_wrong_password(pg: str) -> None:
    url = make_url(pg)
    wrong = url.set(password="not-the-Pa55word").render_as_string(hide_password=False)
    with pytest.raises(DataError, match="authentication failed") as info:
        read_sales(wrong, QUERY, TIMEOUT_S)
    message = str(info.value)
    assert "not-the-Pa55word" not in message and str(url.password) not in message
    assert "***" in message and "\n" not in message


def test_nothing_listening(pg: str) -> None:
    port = free_port()
    url = make_url(pg).set(port=port).render_as_string(hide_password=False)
    started = time.perf_counter()
    with pytest.raises(DataError, match=f"cannot connect to 127.0.0.1:{port}") as info:
        read_sales(url, QUERY, timeout_s=3)
    assert time.perf_counter() - started < 3
    assert str(make_url(pg).password) not in str(info.value)


@pytest.mark.slow
def test_server_that_never_answers_times_out(pg: str) -> None:
    # A socket that accepts connections (the kernel does) but never speaks.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = make_url(pg).set(port=port).render_as_string(hide_password=False)
        started = time.perf_counter()
        with pytest.raises(DataError, match=r"cannot connect to .* within 2 s"):
            read_sales(url, QUERY, timeout_s=2)
        assert 1.5 < time.perf_counter() - started < 5


def test_postgres_syntax_error(pg: str) -> None:
    query = "SELECT date, store, units FROM sales WHERE"
    with pytest.raises(DataError, match="syntax error at end of input") as info:
        read_sales(pg, query, TIMEOUT_S)
    assert query in str(info.value) and "\n" not in str(info.value)


def test_postgres_unknown_table(pg: str) -> None:
    with pytest.raises(DataError, match='relation "sale" does not exist'):
        read_sales(pg, "SELECT * FROM sale", TIMEOUT_S)


def test_postgres_zero_rows(pg: str) -> None:
    with pytest.raises(DataError, match="returned no rows"):
        read_sales(pg, "SELECT * FROM sales WHERE date > '2099-01-01'", TIMEOUT_S)


def test_postgres_query_cannot_write(pg: str, sales: pd.DataFrame) -> None:
    # The query runs in a read-only transaction: a SELECT that writes is refused too.
    with pytest.raises(DataError, match=r"must be a SELECT.*read-only transaction"):
        read_sales(pg, "SELECT nextval('receipts') AS receipt", TIMEOUT_S)
    with pytest.raises(DataError, match="data-modifying"):
        read_sales(pg, "WITH gone AS (DELETE FROM sales RETURNING *) SELECT * FROM gone", 5)
    assert len(read_sales(pg, "SELECT * FROM sales", TIMEOUT_S)) == len(sales)


@pytest.mark.slow
def test_postgres_statement_timeout(pg: str) -> None:
    started = time.perf_counter()
    with pytest.raises(DataError, match="took longer than 1 s"):
        read_sales(pg, "SELECT pg_sleep(10) AS slept", timeout_s=1)
    assert time.perf_counter() - started < 5


# --- validation of what the database gave ------------------------------------------------


@pytest.mark.parametrize(
    "query, column, rule",
    [
        ("SELECT date, store, price, promo, in_stock FROM sales", "units", "missing"),
        (
            "SELECT date, store, 'many' AS units, price FROM sales",
            "units",
            "not a whole number",
        ),
        ("SELECT date, store, units, -price AS price FROM sales", "price", "must be > 0"),
    ],
)
def test_bad_results_are_reported_by_validation(
    pg: str, tmp_path: Path, query: str, column: str, rule: str
) -> None:
    path = tmp_path / "sales.csv"
    read_sales(pg, query, TIMEOUT_S).to_csv(path, index=False)
    _, problems = typed_table(path, TABLES["sales"], "sales")
    assert problems
    assert {p.column for p in problems} == {column}
    assert all(rule in p.rule and p.file == "sales" for p in problems)


def test_good_results_pass_validation(pg: str, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    read_sales(pg, QUERY, TIMEOUT_S).to_csv(path, index=False)
    typed, problems = typed_table(path, TABLES["sales"], "sales")
    assert problems == [] and typed is not None
    assert typed["date"].min() == pd.Timestamp(dt.date(2012, 1, 1))
