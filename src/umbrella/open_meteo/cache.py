"""Persistent response cache: a gzipped JSON file per (endpoint, location, chunk, request).

The key is the request without the API key and without the host, so switching to the
customer-* URLs of a paid plan keeps the cache. Only final chunks are stored (see
`is_final`): a chunk that can still change is fetched again on every pull.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from umbrella.io import atomic_path

log = logging.getLogger(__name__)

# The archive publishes a day about 5 days late (Historical Weather API docs: "5-day delay")
# and a day's forecasts by lead are complete one day after it. Ten days leave room for late
# uploads and for local days that end up to 14 h after the UTC day.
FINAL_AFTER_DAYS = 10


def is_final(last_day: dt.date, today: dt.date) -> bool:
    """Whether a chunk ending on `last_day` (requested range) will no longer change."""
    return last_day <= today - dt.timedelta(days=FINAL_AFTER_DAYS)


class ResponseCache:
    """Per-location API answers stored as JSON files under `folder/<endpoint>/`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, endpoint: str, request: dict[str, Any]) -> Path:
        text = json.dumps(request, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        return self.folder / endpoint / f"{request['start_date']}_{digest}.json.gz"

    def get(self, endpoint: str, request: dict[str, Any]) -> dict[str, Any] | None:
        path = self.path(endpoint, request)
        try:
            stored = json.loads(gzip.decompress(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):
            log.warning("open-meteo cache: ignoring unreadable %s", path)
            return None
        if stored.get("request") != request:  # a hash collision or a hand-edited file
            return None
        return stored["response"]

    def put(self, endpoint: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        text = json.dumps({"request": request, "response": response}, separators=(",", ":"))
        # Compressed: hourly answers are ~10x smaller; mtime=0 keeps the bytes reproducible.
        data = gzip.compress(text.encode(), compresslevel=6, mtime=0)
        # Written beside the target and renamed: an interrupted pull never leaves half a file.
        with atomic_path(self.path(endpoint, request)) as tmp:
            tmp.write_bytes(data)
