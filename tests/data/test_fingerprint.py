"""The sources' fingerprint changes exactly when what a pull would bring changes."""

from __future__ import annotations

import datetime as dt
import http.server
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_params

from umbrella.core.errors import DataError
from umbrella.core.params import Data
from umbrella.data.sources.fingerprint import fingerprint

DAY = dt.date(2026, 11, 27)


def csv_data(tmp_path: Path, **locations: str | None) -> Data:
    files = {"sales": str(tmp_path / "sales.csv"), "weather": str(tmp_path / "weather.csv")}
    return make_params({"data": {"source": "csv", **files, **locations}}).data


def test_simulated_source_is_its_params() -> None:
    data = make_params().data
    assert fingerprint(data, DAY) == {"source": "simulate"}
    assert fingerprint(data, DAY + dt.timedelta(days=1)) == {"source": "simulate"}


def test_local_files_by_content(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("date,store,units\n2012-01-01,a,3\n")
    (tmp_path / "weather.csv").write_text("date,rain_mm\n2012-01-01,0.0\n")
    data = csv_data(tmp_path)
    before = fingerprint(data, DAY)
    assert set(before) == {"source", "sales", "weather"}
    (tmp_path / "weather.csv").touch()  # a new time, the same content
    assert fingerprint(data, DAY) == before
    (tmp_path / "sales.csv").write_text("date,store,units\n2012-01-01,a,4\n")
    after = fingerprint(data, DAY)
    assert after["sales"] != before["sales"] and after["weather"] == before["weather"]


def test_a_missing_file_is_left_for_pull_to_name(tmp_path: Path) -> None:
    (tmp_path / "weather.csv").write_text("date,rain_mm\n")
    assert fingerprint(csv_data(tmp_path), DAY)["sales"] == {"missing": True}


def test_open_meteo_is_pulled_again_on_a_new_day(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("date,store,units\n")
    (tmp_path / "stores.csv").write_text("store,latitude,longitude\n")
    data = csv_data(
        tmp_path,
        weather="open-meteo",
        weather_forecasts="open-meteo",
        stores=str(tmp_path / "stores.csv"),
    )
    today = fingerprint(data, DAY)
    assert today["weather"] == today["weather_forecasts"] == {"open_meteo_pulled_on": "2026-11-27"}
    assert "stores" in today
    assert fingerprint(data, DAY) == today
    assert fingerprint(data, DAY + dt.timedelta(days=1)) != today


def test_database_by_query_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE sales (date TEXT, store TEXT, units INTEGER)")
        con.execute("INSERT INTO sales VALUES ('2012-01-01', 'a', 3)")
    con.close()
    monkeypatch.setenv("SHOP_DB", f"sqlite:///{db}")
    (tmp_path / "weather.csv").write_text("date,rain_mm\n")
    data = csv_data(
        tmp_path,
        sales="sql",
        sql={"query": "SELECT date, store, units FROM sales", "url_env": "SHOP_DB"},
    )
    before = fingerprint(data, DAY)
    assert set(before["sales"]) == {"query_result_sha256"}
    assert fingerprint(data, DAY) == before
    with sqlite3.connect(db) as con:
        con.execute("UPDATE sales SET units = 4")
    con.close()
    assert fingerprint(data, DAY)["sales"] != before["sales"]


class Handler(http.server.BaseHTTPRequestHandler):
    body = b"date,rain_mm\n2012-01-01,0.0\n"
    etag: str | None = '"v1"'

    def send_file_headers(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        if self.etag:
            self.send_header("ETag", self.etag)
        self.end_headers()

    def do_HEAD(self) -> None:
        self.send_file_headers()

    def do_GET(self) -> None:
        self.send_file_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_remote_files_by_version_or_content(
    tmp_path: Path, http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sales.csv").write_text("date,store,units\n")
    data = csv_data(tmp_path, weather=f"{http_server}/weather.csv")
    assert fingerprint(data, DAY)["weather"] == {"ETag": '"v1"', "size": "28"}
    monkeypatch.setattr(Handler, "etag", '"v2"')
    assert fingerprint(data, DAY)["weather"]["ETag"] == '"v2"'
    # A server that gives no version: the content decides.
    monkeypatch.setattr(Handler, "etag", None)
    before = fingerprint(data, DAY)["weather"]
    assert set(before) == {"sha256"}
    monkeypatch.setattr(Handler, "body", b"date,rain_mm\n2012-01-01,1.0\n")
    assert fingerprint(data, DAY)["weather"] != before


def test_unreachable_remote_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("date,store,units\n")
    data = csv_data(tmp_path, weather="http://127.0.0.1:9/weather.csv")  # discard port: refused
    with pytest.raises(
        DataError, match=r"^data\.weather: connection refused: http://127\.0\.0\.1:9/"
    ):
        fingerprint(data, DAY)
