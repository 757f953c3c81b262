"""Plan and make the API calls: calendar-aligned chunks, several locations per call, cache.

Chunks: each calendar year is cut into windows of `days_per_call` days from 1 January, so a
window's dates never depend on the pulled range except where the range cuts it; extending
the range fetches only the new windows (and the edge window it extends). Each window is
requested with one extra day on both sides: the API's days follow a fixed UTC offset, the
stores' days follow their real time zone (DST), and the extra day covers the difference.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm import tqdm

from umbrella.core.errors import DataError
from umbrella.core.params import OpenMeteo
from umbrella.data.open_meteo.cache import ResponseCache, is_final
from umbrella.data.open_meteo.client import Endpoint, get_json

log = logging.getLogger(__name__)

AUTO = "auto"  # let the API find the time zone from the coordinates
ONE_DAY = dt.timedelta(days=1)
MAX_OFFSET_S = 18 * 3600  # UTC offsets run from -12:00 to +14:00


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    timezone: str  # IANA name or "auto"


@dataclass(frozen=True)
class Chunk:
    start: dt.date  # requested dates (the window plus one day each side, clipped)
    end: dt.date


def windows(start: dt.date, end: dt.date, days_per_call: int) -> list[tuple[dt.date, dt.date]]:
    """Calendar-aligned windows of at most `days_per_call` days meeting start..end, clipped."""
    out = []
    for year in range(start.year, end.year + 1):
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        while first <= last:
            w_end = min(first + dt.timedelta(days=days_per_call - 1), last)
            if w_end >= start and first <= end:
                out.append((max(first, start), min(w_end, end)))
            first = w_end + ONE_DAY
    return out


def chunks(start: dt.date, end: dt.date, days_per_call: int, last_date: dt.date) -> list[Chunk]:
    """The requested date ranges: windows widened by a day each side, none past `last_date`."""
    out = []
    for w_start, w_end in windows(start, end, days_per_call):
        c_start, c_end = w_start - ONE_DAY, min(w_end + ONE_DAY, last_date)
        if c_start <= c_end:
            out.append(Chunk(c_start, c_end))
    return out


def weighted_calls(locations: int, variables: int, days: int) -> float:
    """What a call costs against the free tier: more than 10 variables or 14 days count more."""
    return locations * max(variables / 10, 1.0) * max(days / 14, 1.0)


def fetch_hourly(
    endpoint: Endpoint,
    locations: list[Location],
    start: dt.date,
    end: dt.date,
    variables: list[str],
    extra: dict[str, str],
    config: OpenMeteo,
    cache: ResponseCache,
    api_key: str | None,
    today: dt.date,
    last_date: dt.date,
) -> list[list[dict[str, Any]]]:
    """Hourly answers for each location (one per chunk, in date order), from cache or API.

    Only final chunks are cached, and only complete ones: an answer with a null for a
    finished day may be a passing fault (or, at the Previous Runs API, a day before its
    coverage, which no answer tells apart from a fault), so it is asked for again.
    """
    plan = chunks(start, end, config.days_per_call, last_date)
    answers: list[dict[dt.date, dict[str, Any]]] = [{} for _ in locations]
    calls: list[tuple[Chunk, list[int]]] = []
    for chunk in plan:
        missing = []
        for i, location in enumerate(locations):
            cached = cache.get(endpoint.name, _request(location, chunk, variables, extra))
            if cached is None or not _valid(cached, variables):
                missing.append(i)
            else:
                answers[i][chunk.start] = cached
        for k in range(0, len(missing), config.locations_per_call):
            calls.append((chunk, missing[k : k + config.locations_per_call]))
    weight = sum(
        weighted_calls(len(group), len(variables), (chunk.end - chunk.start).days + 1)
        for chunk, group in calls
    )
    log.info(
        "%s: %d API calls to make (%d locations x %d chunks, %d location-chunks cached; "
        "~%.0f calls as the free tier counts them)",
        endpoint.label,
        len(calls),
        len(locations),
        len(plan),
        len(locations) * len(plan) - sum(len(g) for _, g in calls),
        weight,
    )
    incomplete = 0
    with tqdm(total=len(calls), desc=endpoint.label, unit="call", disable=None) as bar:
        for chunk, group in calls:
            params = _params([locations[i] for i in group], chunk, variables, extra)
            payload = get_json(endpoint, params, config, api_key)
            objects = payload if isinstance(payload, list) else [payload]
            if len(objects) != len(group) or not all(_valid(o, variables) for o in objects):
                raise DataError(
                    f"{endpoint.label} ({endpoint.url}): unexpected answer for {len(group)} "
                    f"locations {chunk.start}..{chunk.end} (missing hourly variables?)"
                )
            for i, obj in zip(group, objects, strict=True):
                answers[i][chunk.start] = obj
                if not is_final(chunk.end, today):
                    continue
                # An answer with a null on a finished day may be a passing fault: it is
                # used this once (the day is NaN) and asked for again next time.
                if complete(obj, variables, chunk):
                    cache.put(endpoint.name, _request(locations[i], chunk, variables, extra), obj)
                else:
                    incomplete += 1
            bar.update()
    if incomplete:
        log.info(
            "%s: %d finished location-chunks had missing values and were not cached "
            "(fetched again on the next pull)",
            endpoint.label,
            incomplete,
        )
    return [[by_start[s] for s in sorted(by_start)] for by_start in answers]


def _request(
    location: Location, chunk: Chunk, variables: list[str], extra: dict[str, str]
) -> dict[str, Any]:
    """What identifies one location's answer (the cache key): no API key, no host."""
    return {
        "latitude": location.latitude,
        "longitude": location.longitude,
        "timezone": location.timezone,
        "start_date": chunk.start.isoformat(),
        "end_date": chunk.end.isoformat(),
        "hourly": list(variables),
        **extra,
    }


def _params(
    group: list[Location], chunk: Chunk, variables: list[str], extra: dict[str, str]
) -> dict[str, str]:
    return {
        "latitude": ",".join(repr(float(loc.latitude)) for loc in group),
        "longitude": ",".join(repr(float(loc.longitude)) for loc in group),
        "timezone": ",".join(loc.timezone for loc in group),
        "start_date": chunk.start.isoformat(),
        "end_date": chunk.end.isoformat(),
        "hourly": ",".join(variables),
        **extra,
    }


def _valid(obj: Any, variables: list[str]) -> bool:
    """Whether `obj` has the shape tables.hourly_frame reads: an integer offset, a zone
    name or none, hour stamps, and a list of numbers or nulls per variable, each as long."""
    if not isinstance(obj, dict):
        return False
    offset = obj.get("utc_offset_seconds")
    if type(offset) is not int or abs(offset) > MAX_OFFSET_S:
        return False
    if not isinstance(obj.get("timezone", ""), str):
        return False
    hourly = obj.get("hourly")
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        return False
    times = hourly["time"]
    if not all(isinstance(t, str) for t in times):
        return False
    try:  # the API's iso8601 hours, as tables.hourly_frame parses them
        pd.to_datetime(pd.Index(times, dtype=object), format="%Y-%m-%dT%H:%M")
    except (ValueError, TypeError):
        return False
    for variable in variables:
        values = hourly.get(variable)
        if not isinstance(values, list) or len(values) != len(times):
            return False
        if not all(v is None or _number(v) for v in values):
            return False
    return True


def complete(obj: dict[str, Any], variables: list[str], chunk: Chunk) -> bool:
    """Whether a valid answer has every hour of the chunk, each with a value."""
    hourly = obj["hourly"]
    if len(set(hourly["time"])) != 24 * ((chunk.end - chunk.start).days + 1):
        return False
    return all(v is not None for variable in variables for v in hourly[variable])


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)
