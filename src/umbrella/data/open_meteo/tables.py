"""Turn hourly API answers into our daily tables, on each store's real local days.

The API writes `time` in ONE fixed UTC offset per answer (the zone's offset at the time of
the request, DST ignored; open-meteo/open-meteo#261, #1255). Each hour is therefore put back
on the UTC axis with `utc_offset_seconds`, then on the local clock of the answer's IANA
`timezone` (which also resolves `auto`), and grouped by that local date: days have 23, 24 or
25 hours, and the result does not depend on the season the pull runs in. As in the API's
own daily aggregation, a day is the hours stamped 00:00 to 23:00 of that date.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# Observed weather: our column -> (hourly archive variable, daily aggregation).
WEATHER_AGGREGATES = {
    "rain_mm": ("precipitation", "sum"),
    "temp_max_c": ("temperature_2m", "max"),
    "temp_min_c": ("temperature_2m", "min"),
    "wind": ("wind_speed_10m", "max"),
}


def previous_day(variable: str, lead: int) -> str:
    """The Previous Runs API name of `variable` as forecast `lead` days before."""
    return f"{variable}_previous_day{lead}"


def hourly_frame(answers: list[dict[str, Any]], variables: list[str]) -> tuple[pd.DataFrame, str]:
    """One location's answers as hourly rows (`day`: real local date at midnight, `utc`: the
    hour on the UTC axis, variables) and the location's zone."""
    if not answers:
        empty = pd.DatetimeIndex([])
        return pd.DataFrame({"day": empty, "utc": empty, **{v: [] for v in variables}}), "GMT"
    frames = []
    for answer in answers:
        hourly = answer["hourly"]
        clock = pd.to_datetime(pd.Index(hourly["time"]), format="%Y-%m-%dT%H:%M")
        utc = clock - pd.Timedelta(seconds=int(answer["utc_offset_seconds"]))
        values = {v: np.asarray(hourly[v], dtype=float) for v in variables}  # null -> NaN
        frames.append(pd.DataFrame(values, index=utc))
    hours = pd.concat(frames)
    hours = hours[~hours.index.duplicated(keep="first")]  # chunks overlap by a day
    zone = _zone(answers[0])
    utc = pd.DatetimeIndex(hours.index)
    local = utc.tz_localize("UTC").tz_convert(_tzinfo(zone)).tz_localize(None)
    return hours.reset_index(drop=True).assign(day=local.floor("D"), utc=utc), zone


def day_hours(days: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """How many hours each local day has in `zone` (23, 24 or 25 across DST changes)."""
    tz = _tzinfo(zone)
    first = np.ones(len(days), dtype=bool)  # an ambiguous midnight: take its first occurrence
    starts = days.tz_localize(tz, ambiguous=first, nonexistent="shift_forward")
    ends = (days + pd.Timedelta(days=1)).tz_localize(
        tz, ambiguous=first, nonexistent="shift_forward"
    )
    return np.round(((ends - starts) / pd.Timedelta(hours=1)).to_numpy())


def daily(
    hours: pd.DataFrame,
    zone: str,
    aggregates: dict[str, tuple[str, str]],
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """Local-day aggregates for start..end; a day with any missing or null hour is NaN."""
    days = pd.date_range(start, end, freq="D")
    out = pd.DataFrame(index=days)
    if hours.empty:
        for column in aggregates:
            out[column] = np.nan
        return out
    grouped = hours.groupby("day")
    counts = grouped.count().reindex(days)
    expected = day_hours(days, zone)
    for column, (variable, how) in aggregates.items():
        value = grouped[variable].agg(how).reindex(days)
        complete = counts[variable].to_numpy() == expected
        out[column] = value.where(complete)
    return out


def _zone(answer: dict[str, Any]) -> str:
    """The answer's IANA zone; an unknown name falls back on its fixed offset (with a warning)."""
    name = str(answer.get("timezone") or "GMT")
    try:
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        offset = int(answer["utc_offset_seconds"])
        log.warning("open-meteo: unknown time zone %r, using its fixed offset %+d s", name, offset)
        return f"fixed:{offset}"


def _tzinfo(zone: str) -> dt.tzinfo | str:
    if zone.startswith("fixed:"):
        return dt.timezone(dt.timedelta(seconds=int(zone.removeprefix("fixed:"))))
    return zone
