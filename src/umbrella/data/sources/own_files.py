"""The csv source: copy a retailer's own files, byte for byte, into data/raw/."""

from __future__ import annotations

import http.client
import shutil
import urllib.error
from pathlib import Path

import fsspec

from umbrella.core.errors import DataError, WriteError
from umbrella.core.files import atomic_path
from umbrella.core.network import connection_problem, http_status, is_http, open_url
from umbrella.core.paths import ROOT


def resolve(location: str) -> str:
    """A URL stays as it is; a relative path is relative to the repository root."""
    if "://" in location:
        return location
    return str((ROOT / location).resolve())


def fetch(location: str, dest: Path, key: str, timeout_s: float) -> None:
    """Copy a local path or URL to `dest`, or raise DataError saying what went wrong.

    http(s) URLs are read with urllib (umbrella.core.network.open_url): the whole download gives
    up after `timeout_s` seconds, however steadily a slow server sends; the error says
    whether it timed out, was refused, or which HTTP status the server answered. Other URLs
    (file://, s3://, ...) and local paths are opened with fsspec.
    """
    source = resolve(location)
    if is_http(source):
        _fetch_http(source, dest, key, timeout_s)
        return
    try:
        with fsspec.open(source, "rb") as src, atomic_path(dest) as tmp, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
    except FileNotFoundError:
        raise DataError(f"{key}: file not found: {location}") from None
    except WriteError:
        raise
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"{key}: cannot read {location}: {exc}") from None


def _fetch_http(url: str, dest: Path, key: str, timeout_s: float) -> None:
    try:
        # open_url innermost: a download cut off at its deadline raises when its block
        # ends, before atomic_path would move the file into place.
        with (
            atomic_path(dest) as tmp,
            open(tmp, "wb") as out,
            open_url(url, timeout_s) as response,
        ):
            shutil.copyfileobj(response, out)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{key}: {http_status(exc.code, exc.reason)}: {url}") from None
    except WriteError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        problem = connection_problem(exc, timeout_s, "data.timeout_s")
        raise DataError(f"{key}: {problem}: {url}") from None
