"""The csv source: the user's files are copied as they are, and data of any shape validates."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_params, write_tables

from umbrella.core.errors import DataError
from umbrella.core.params import Params
from umbrella.core.paths import FORECASTS, SALES, TRUTH, WEATHER
from umbrella.data.contract.raw_folder import validate
from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.data.sources import own_files as sources
from umbrella.data.sources.retailer import pull


def csv_params(sales: str, weather: str, forecasts: str | None = None, **overrides) -> Params:
    data = {"source": "csv", "sales": sales, "weather": weather, "weather_forecasts": forecasts}
    return make_params({"data": data, **overrides})


@pytest.fixture
def user_files(tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """The tiny retailer's tables as a user would send them (no truth)."""
    tables = {name: t for name, t in tiny_tables.items() if name != TRUTH}
    return write_tables(tables, tmp_path / "user")


def test_copies_byte_for_byte(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    # Windows line endings, a byte order mark, quoting and trailing blanks stay as sent.
    content = {
        SALES: b'\xef\xbb\xbfdate,store,units\r\n2012-01-01,"S 1",3\r\n2012-01-02,"S 1",0 \r\n',
        WEATHER: b"date,rain_mm\n2012-01-01,0.0\n2012-01-02,12.5",
        FORECASTS: b"issued,date,rain_mm\n2012-01-01,2012-01-02,9.0\n",
    }
    for name, data in content.items():
        (user / f"{name}.csv").write_bytes(data)
    params = csv_params(*(str(user / f"{name}.csv") for name in (SALES, WEATHER, FORECASTS)))
    pull(params, tmp_path / "raw")
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(
        f"{name}.csv" for name in content
    )
    for name, data in content.items():
        assert (tmp_path / "raw" / f"{name}.csv").read_bytes() == data


def test_relative_paths_are_relative_to_the_root(
    tmp_path: Path, user_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "ROOT", tmp_path)
    pull(csv_params("user/sales.csv", "./user/weather.csv"), tmp_path / "raw")
    for name in (SALES, WEATHER):
        assert (tmp_path / "raw" / f"{name}.csv").read_bytes() == user_files[name].read_bytes()
    assert not (tmp_path / "raw" / f"{FORECASTS}.csv").exists()


def test_file_urls(tmp_path: Path, user_files: dict[str, Path]) -> None:
    params = csv_params(*(user_files[name].as_uri() for name in (SALES, WEATHER, FORECASTS)))
    pull(params, tmp_path / "raw")
    for name in (SALES, WEATHER, FORECASTS):
        assert (tmp_path / "raw" / f"{name}.csv").read_bytes() == user_files[name].read_bytes()


@pytest.mark.parametrize(
    ("missing", "key"), [(SALES, "data.sales"), (WEATHER, "data.weather"), (FORECASTS, None)]
)
def test_missing_file_names_key_and_path(
    tmp_path: Path, user_files: dict[str, Path], missing: str, key: str | None
) -> None:
    locations = {name: str(path) for name, path in user_files.items()}
    locations[missing] = str(tmp_path / "nowhere" / f"{missing}.csv")
    key = key or "data.weather_forecasts"
    with pytest.raises(DataError) as info:
        pull(
            csv_params(locations[SALES], locations[WEATHER], locations[FORECASTS]), tmp_path / "raw"
        )
    assert key in str(info.value)
    assert locations[missing] in str(info.value)


def test_missing_file_url(tmp_path: Path, user_files: dict[str, Path]) -> None:
    url = (tmp_path / "absent.csv").as_uri()
    with pytest.raises(DataError, match=r"data\.sales") as info:
        pull(csv_params(url, str(user_files[WEATHER])), tmp_path / "raw")
    assert url in str(info.value)


def test_a_folder_is_not_a_file(tmp_path: Path, user_files: dict[str, Path]) -> None:
    with pytest.raises(DataError, match=r"data\.weather"):
        pull(csv_params(str(user_files[SALES]), str(tmp_path)), tmp_path / "raw")


@pytest.mark.parametrize("regions", [1, 2])
def test_own_data_of_another_length_validates(tmp_path: Path, regions: int) -> None:
    """One or two stores over one year, weather with and without a store column."""
    shape = make_params(
        {
            "simulate": {
                "stores": regions,
                "regions": regions,
                "start": "2013-01-01",
                "end": "2013-12-31",
            }
        }
    )
    tables = simulate_retailer(shape.simulate, shape.base.horizon, seed=5)
    assert ("store" in tables[WEATHER]) == (regions > 1)
    files = write_tables({n: t for n, t in tables.items() if n != TRUTH}, tmp_path / "user")
    params = csv_params(str(files[SALES]), str(files[WEATHER]), str(files[FORECASTS]))
    pull(params, tmp_path / "raw")
    typed, problems = validate(params, tmp_path / "raw")
    assert problems == []
    assert set(typed) == {SALES, WEATHER, FORECASTS}
    assert len(typed[SALES]) == 365 * regions
    assert typed[SALES]["date"].max() == pd.Timestamp("2013-12-31")


def test_without_forecasts_validation_passes(tmp_path: Path, user_files: dict[str, Path]) -> None:
    params = csv_params(str(user_files[SALES]), str(user_files[WEATHER]))
    pull(params, tmp_path / "raw")
    typed, problems = validate(params, tmp_path / "raw")
    assert problems == []
    assert set(typed) == {SALES, WEATHER}


def test_minimal_columns_validate(tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    """Only the required columns, plus an extra one that is kept and ignored."""
    sales = tiny_tables[SALES][["date", "store", "units"]].assign(note="ok")
    weather = tiny_tables[WEATHER][["date", "rain_mm"]]
    files = write_tables({SALES: sales, WEATHER: weather}, tmp_path / "user")
    params = csv_params(str(files[SALES]), str(files[WEATHER]))
    pull(params, tmp_path / "raw")
    typed, problems = validate(params, tmp_path / "raw")
    assert problems == []
    assert "note" in typed[SALES]


def test_problems_name_where_the_file_came_from(
    tmp_path: Path, user_files: dict[str, Path]
) -> None:
    params = csv_params(str(user_files[SALES]), str(user_files[WEATHER]))
    pull(params, tmp_path / "raw")
    (tmp_path / "raw" / "weather.csv").write_text("date,rain_mm\n")
    _, problems = validate(params, tmp_path / "raw")
    assert [p.file for p in problems] == [f"data/raw/weather.csv (from {user_files[WEATHER]})"]


def test_a_latin_1_file_names_the_line_and_column(
    tmp_path: Path, user_files: dict[str, Path]
) -> None:
    """The decoder's error said "position 1" (of the block pandas was reading): now the
    line and column of the first byte that is not UTF-8."""
    sales = user_files[SALES]
    lines = sales.read_bytes().split(b"\n")
    lines[40] = lines[40].replace(b",", b",Caf\xe9 ", 1)  # Latin-1 for the store's name
    sales.write_bytes(b"\n".join(lines))
    params = csv_params(str(sales), str(user_files[WEATHER]))
    pull(params, tmp_path / "raw")
    _, problems = validate(params, tmp_path / "raw")
    column = len(lines[40].split(b",")[0]) + 5  # the date, its comma and "Caf"
    assert [str(p) for p in problems] == [
        f"data/raw/sales.csv (from {sales}): not UTF-8 text: byte 0xe9 on line 41, column "
        f"{column} (another encoding: save the file as UTF-8)"
    ]


# Network reads: bounded waits and errors that say what happened (a local server only).


class _Handler(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/hang":  # accepts, never answers
            self.release.wait(30)
            return
        if self.path == "/trickle":  # answers the headers, then stops sending
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"date,store,units\n")
            self.wfile.flush()
            self.release.wait(30)
            return
        if self.path.startswith("/drip"):  # a byte every 0.3 s: each read is answered in time
            body = b"date,store,units\n2012-01-01,S1,3\n"
            self.send_response(200)
            if self.path != "/drip-until-closed":  # else its end is when the server closes
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(len(body)):
                if self.release.wait(0.3):
                    return
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            return
        status = {"/ok.csv": 200, "/boom": 500, "/forbidden": 403}.get(self.path, 404)
        body = b"date,store,units\n2012-01-01,S1,3\n" if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    _Handler.release.clear()
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    _Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


def test_http_url_is_copied(tmp_path: Path, server: str) -> None:
    sources.fetch(f"{server}/ok.csv", tmp_path / "sales.csv", "data.sales", timeout_s=5)
    assert (tmp_path / "sales.csv").read_bytes() == b"date,store,units\n2012-01-01,S1,3\n"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/hang", "no answer within 0.5 s (timed out; see data.timeout_s)"),
        ("/trickle", "answer not complete within 0.5 s (timed out; see data.timeout_s)"),
        ("/boom", "server error (HTTP 500 Internal Server Error)"),
        ("/missing.csv", "file not found (HTTP 404 Not Found)"),
        ("/forbidden", "request refused (HTTP 403 Forbidden)"),
    ],
)
def test_http_errors_say_what_happened(
    tmp_path: Path, server: str, path: str, message: str
) -> None:
    """A server that never answered used to hang for 10 minutes, then say "file not found";
    so did HTTP 500. Now the wait is bounded and the message says what happened."""
    url = f"{server}{path}"
    started = time.monotonic()
    with pytest.raises(DataError) as info:
        sources.fetch(url, tmp_path / "sales.csv", "data.sales", timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert str(info.value) == f"data.sales: {message}: {url}"
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_refused_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("http_proxy", raising=False)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/sales.csv"
    with pytest.raises(DataError) as info:
        sources.fetch(url, tmp_path / "sales.csv", "data.sales", timeout_s=0.5)
    assert str(info.value) == f"data.sales: connection refused: {url}"


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/drip", "/drip-until-closed"])
def test_a_download_that_drips_is_cut_off_at_the_deadline(
    tmp_path: Path, server: str, path: str
) -> None:
    """A byte every 0.3 s never trips a timeout of 1 s on each read; the whole download is
    bounded, and nothing half-written is left (a 33-byte file used to take 10 s, a large
    one forever), also when the cut-off looks like the end of the file."""
    url = f"{server}{path}"
    with pytest.raises(DataError) as info:
        sources.fetch(url, tmp_path / "sales.csv", "data.sales", timeout_s=1)
    message = "answer not complete within 1 s (timed out; see data.timeout_s)"
    assert str(info.value) == f"data.sales: {message}: {url}"
    assert list(tmp_path.iterdir()) == []
