"""What the configured data sources look like now, in a few bytes.

DVC re-runs a stage when its deps change, but it cannot see a file outside the repository,
a database table or new days at a weather API. The `sources` stage runs on every
`dvc repro` and writes this fingerprint; `pull` depends on it, so `pull` re-runs exactly
when a source changed (and when nothing changed, nothing else runs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import urllib.error
from collections.abc import Iterable
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from umbrella.core.errors import DataError
from umbrella.core.files import csv_text
from umbrella.core.network import connection_problem, http_status, is_http, open_url
from umbrella.core.params import OPEN_METEO, SQL, Data
from umbrella.core.paths import FORECASTS, SALES, STORES, WEATHER
from umbrella.data.sources.database import database_url, sales_chunks
from umbrella.data.sources.own_files import resolve

CHUNK = 1 << 20
# What a remote filesystem may say about a file that changes when its content does.
VERSION_KEYS = ("ETag", "etag", "LastModified", "last_modified", "mtime", "md5", "checksum")


def fingerprint(data: Data, today: dt.date) -> dict[str, Any]:
    """A JSON-able description of the sources that changes when their content does.

    Files: a local file's sha256, a remote file's version (ETag, modification time; its
    sha256 when the server tells neither). A file that is not there is left for `pull` to
    name (the stock's and the arrivals', predict); any other failure to look is an error
    here already. A database: the sha256 of
    the query's result. Open-Meteo: its answers depend on the sales period and the store
    locations (both fingerprinted) and on the day: new days of weather and new forecast
    runs appear daily, so the pull re-runs once a day, and its cache makes the days already
    pulled cost no call.
    """
    if data.source == "simulate":
        return {"source": "simulate"}  # everything it makes follows from params
    out: dict[str, Any] = {"source": data.source}
    for name in (STORES, SALES, WEATHER, FORECASTS, "stock", "arrivals"):
        location = getattr(data, name)
        if location == SQL:
            out[name] = {"query_result_sha256": query_digest(data)}
        elif location == OPEN_METEO:
            out[name] = {"open_meteo_pulled_on": today.isoformat()}
        elif location is not None:
            out[name] = file_version(location, f"data.{name}", data.timeout_s)
    return out


def file_version(location: str, key: str, timeout_s: float) -> dict[str, Any]:
    """A local file's sha256; a remote file's version metadata, or its sha256 without any."""
    source = resolve(location)
    if is_http(source):
        return http_version(source, key, timeout_s)
    try:
        fs, path = fsspec.core.url_to_fs(source)
        found = {} if isinstance(fs, LocalFileSystem) else version_from_info(fs.info(path))
        if set(found) - {"size"}:
            return found
        with fs.open(path, "rb") as file:
            return {"sha256": digest(iter(lambda: file.read(CHUNK), b""))}
    except FileNotFoundError:
        return {"missing": True}  # pull then says which file is missing, with its key
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"{key}: cannot read {location}: {exc}") from None


def http_version(url: str, key: str, timeout_s: float) -> dict[str, Any]:
    """ETag / Last-Modified from a HEAD request; the content's sha256 when it has neither."""
    try:
        with open_url(url, timeout_s, method="HEAD") as response:
            headers = response.headers
        found = {name: headers[name] for name in ("ETag", "Last-Modified") if headers.get(name)}
        if found:
            return {**found, "size": headers.get("Content-Length")}
        with open_url(url, timeout_s) as response:
            return {"sha256": digest(iter(lambda: response.read(CHUNK), b""))}
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return {"missing": True}
        raise DataError(f"{key}: {http_status(exc.code, exc.reason)}: {url}") from None
    except (OSError, http.client.HTTPException) as exc:
        problem = connection_problem(exc, timeout_s, "data.timeout_s")
        raise DataError(f"{key}: {problem}: {url}") from None


def query_digest(data: Data) -> str:
    """sha256 of the sales query's result, as pull writes it."""
    chunks = sales_chunks(database_url(data.sql.url_env), data.sql.query, data.timeout_s)
    return digest(csv_text(chunk, header=i == 0).encode() for i, chunk in enumerate(chunks))


def digest(chunks: Iterable[bytes]) -> str:
    """sha256 of a sequence of byte strings."""
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()


def version_from_info(info: dict[str, Any]) -> dict[str, Any]:
    """The parts of a remote file's metadata that change with its content."""
    found: dict[str, Any] = {k: str(info[k]) for k in VERSION_KEYS if info.get(k) is not None}
    if info.get("size") is not None:
        found["size"] = int(info["size"])
    return found
