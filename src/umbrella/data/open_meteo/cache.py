"""Persistent response cache: a gzipped JSON file per (endpoint, location, chunk, request).

The key is the request without the API key and without the host, so switching to the
customer-* URLs of a paid plan keeps the cache. Only final, complete chunks are stored (see
`is_final` and `fetch.cacheable`): a chunk that can still change is fetched again on every
pull.

A cache that cannot lie: each entry holds the request it answers and the sha256 of its
answer. An entry whose request or checksum does not match (a hand-edited or damaged file,
a hash collision) is deleted with a warning and fetched again, never used. With `refresh`
no entry is read: every chunk is fetched again and its entry rewritten.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from umbrella.core.files import atomic_path

log = logging.getLogger(__name__)

# The archive publishes a day about 5 days late (Historical Weather API docs: "5-day delay")
# and a day's forecasts by lead are complete one day after it. Ten days leave room for late
# uploads and for local days that end up to 14 h after the UTC day.
FINAL_AFTER_DAYS = 10


def is_final(last_day: dt.date, today: dt.date) -> bool:
    """Whether a chunk ending on `last_day` (requested range) will no longer change."""
    return last_day <= today - dt.timedelta(days=FINAL_AFTER_DAYS)


def checksum(response: Any) -> str:
    """sha256 of an answer's canonical JSON (key order and spacing do not matter)."""
    text = json.dumps(response, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Per-location API answers stored as JSON files under `folder/<endpoint>/`."""

    def __init__(self, folder: Path, refresh: bool = False) -> None:
        self.folder = folder
        self.refresh = refresh

    def path(self, endpoint: str, request: dict[str, Any]) -> Path:
        text = json.dumps(request, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        return self.folder / endpoint / f"{request['start_date']}_{digest}.json.gz"

    def get(self, endpoint: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The stored answer to `request`, or None (absent, refreshing, or dropped)."""
        if self.refresh:
            return None
        path = self.path(endpoint, request)
        try:
            stored = json.loads(gzip.decompress(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):
            self._drop(path, "unreadable")
            return None
        if not isinstance(stored, dict) or stored.get("request") != request:
            self._drop(path, "does not answer the request it is filed under")
            return None
        response = stored.get("response")
        try:
            intact = isinstance(response, dict) and stored.get("sha256") == checksum(response)
        except ValueError:  # NaN or Infinity: not JSON the API sends
            intact = False
        if not intact:
            self._drop(path, "its answer does not match its checksum (edited or damaged)")
            return None
        return response

    def put(self, endpoint: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        entry = {"request": request, "sha256": checksum(response), "response": response}
        text = json.dumps(entry, separators=(",", ":"))
        # Compressed: hourly answers are ~10x smaller; mtime=0 keeps the bytes reproducible.
        data = gzip.compress(text.encode(), compresslevel=6, mtime=0)
        # Written beside the target and renamed: an interrupted pull never leaves half a file.
        with atomic_path(self.path(endpoint, request)) as tmp:
            tmp.write_bytes(data)

    def _drop(self, path: Path, why: str) -> None:
        log.warning("open-meteo cache: %s %s: deleted, fetching it again", path, why)
        path.unlink(missing_ok=True)
