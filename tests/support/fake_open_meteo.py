"""A fake Open-Meteo (Historical Weather API, Previous Runs API, Forecast API) on 127.0.0.1.

It answers like the real API (open-meteo-website docs; frenck/python-open-meteo fixtures;
open-meteo/open-meteo sources for the error reasons):

* `/v1/archive` (archive), `/v1/forecast` (previous runs) and `/api/v1/forecast` (the
  Forecast API's latest run: dates from 92 days back to 15 days ahead, the 16 days of
  `forecast_days` from today; no `_previous_dayN`); `latitude`/`longitude`/`timezone` may
  be comma lists:
  one location gives a JSON object, several a JSON array in the same order.
* `time` is `YYYY-MM-DDTHH:MM` (hourly) or `YYYY-MM-DD` (daily) on the requested zone's clock,
  with ONE fixed offset per answer, the zone's offset at the server's `now` (the real API
  ignores DST inside a time series: open-meteo/open-meteo#261, #1255). `timezone=auto`
  resolves from `auto_timezones` (else GMT).
* Daily variables are 24-hour aggregates of those fixed-offset days; nulls stay null.
* Errors: HTTP 400 `{"error": true, "reason": ...}`; 429 with the API's reason.

Values are deterministic from (latitude, longitude, UTC hour, N): `value()` recomputes them.
`<var>_previous_dayN` is the truth plus an encoding of N (temperature + 0.5*N degrees,
precipitation + 0.1*N mm per hour) so an aggregate reveals which suffix was used. Archive
hours later than `now - 5 days` are null (the archive's delay) and its dates stop at
today; `_previous_dayN` hours before `coverage_start` or whose run (X - N*24 h) is after
`now` are null; the latest run (plain variables) reaches `now + 16 days`. Nothing comes
from a run after `now`: a fake whose `now` is ahead of the client's today is a service
answering from runs the client has not seen happen.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

HOUR = 3600
DAY = 86400
MAX_PREVIOUS_DAY = 7
ARCHIVE_DELAY_DAYS = 5
ARCHIVE_FIRST = dt.date(1940, 1, 1)
PREVIOUS_RUNS_FIRST = dt.date(2016, 1, 1)  # assumption: the real lower bound is not documented
FORECAST_DAYS = 16
FORECAST_PAST_DAYS = 92
FORECAST_PATH = "/api/v1/forecast"  # the Forecast API's latest run (its own host in reality)

HOURLY_UNITS = {
    "precipitation": "mm",
    "rain": "mm",
    "temperature_2m": "°C",
    "wind_speed_10m": "km/h",
}
DAILY = {  # daily variable -> (hourly variable, aggregation)
    "precipitation_sum": ("precipitation", "sum"),
    "rain_sum": ("rain", "sum"),
    "temperature_2m_max": ("temperature_2m", "max"),
    "temperature_2m_min": ("temperature_2m", "min"),
    "temperature_2m_mean": ("temperature_2m", "mean"),
    "wind_speed_10m_max": ("wind_speed_10m", "max"),
}
WIND_UNITS = {
    "kmh": ("km/h", 3.6),
    "ms": ("m/s", 1.0),
    "mph": ("mp/h", 2.23694),
    "kn": ("kn", 1.94384),
}
SUFFIX = re.compile(r"^(?P<base>[a-z0-9_]+?)(?:_previous_day(?P<n>\d+))?$")


def _seed(latitude: float, longitude: float) -> int:
    return round((latitude + 90) * 1e4) * 7919 + round((longitude + 180) * 1e4)


def truth(variable: str, latitude: float, longitude: float, seconds: np.ndarray) -> np.ndarray:
    """The 'real' weather of an hour (UTC epoch seconds), as the fake's models see it."""
    seconds = np.asarray(seconds, dtype=np.int64)
    hour = seconds // HOUR
    mix = (hour * 2654435761 + _seed(latitude, longitude) * 97) % 4294967296
    if variable in ("precipitation", "rain"):
        return np.round(np.maximum(mix % 1000 - 700, 0) / 100, 1)
    if variable == "temperature_2m":
        solar = (hour % 24) + longitude / 15
        season = np.sin(2 * np.pi * (hour / 24 - 110) / 365.25)
        daily_cycle = np.sin(2 * np.pi * (solar - 9) / 24)
        return np.round(10 + 7 * daily_cycle + 8 * season - abs(latitude) / 10 + (mix % 7) / 10, 1)
    if variable == "wind_speed_10m":
        return np.round(1 + (mix // 1000 % 90) / 10, 1)  # m/s
    raise KeyError(variable)


def value(name: str, latitude: float, longitude: float, seconds: np.ndarray) -> np.ndarray:
    """An hourly variable as served (before nulls), `_previous_dayN` encoding N; m/s wind."""
    match = SUFFIX.match(name)
    assert match, name
    base, n = match["base"], int(match["n"] or 0)
    out = truth(base, latitude, longitude, seconds)
    if n and base == "temperature_2m":
        return np.round(out + 0.5 * n, 1)  # small enough to stay plausible weather
    if n and base in ("precipitation", "rain"):
        return np.round(out + 0.1 * n, 1)
    return out


@dataclass
class Call:
    path: str
    params: dict[str, str]
    status: int = 0

    @property
    def locations(self) -> int:
        return len(self.params.get("latitude", "").split(","))


class ApiError(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass
class FakeOpenMeteo:
    """Context manager: `with FakeOpenMeteo(now=...) as api: api.archive_url, api.calls`."""

    now: dt.datetime = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    coverage_start: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    auto_timezones: dict[tuple[float, float], str] = field(default_factory=dict)
    null_hours: set[dt.datetime] = field(default_factory=set)  # archive hours (UTC) served null
    fail_first: int = 0  # the first k calls answer `fail_status`
    fail_status: int = 429
    retry_after: str | None = None  # Retry-After header of those answers
    fail_from: int | None = None  # from this call number on, answer 503 (an outage)
    hang: bool = False  # accept and never answer
    # Rewrites each HTTP 200 body before it is sent (a broken or erring service):
    # mutate(path, body) -> body.
    mutate: Callable[[str, Any], Any] | None = None
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> FakeOpenMeteo:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # release hanging handlers
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def archive_url(self) -> str:
        return f"{self.base_url}/v1/archive"

    @property
    def previous_runs_url(self) -> str:
        return f"{self.base_url}/v1/forecast"

    @property
    def forecast_url(self) -> str:  # the Forecast API (api.open-meteo.com/v1/forecast)
        return f"{self.base_url}{FORECAST_PATH}"

    @property
    def urls(self) -> dict[str, str]:
        """The three endpoints as open_meteo params."""
        return {
            "archive_url": self.archive_url,
            "previous_runs_url": self.previous_runs_url,
            "forecast_url": self.forecast_url,
        }

    # -- request handling ----------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        call = Call(url.path, params)
        with self._lock:
            self.calls.append(call)
            number = len(self.calls)
        if self.hang:
            self._stop.wait()
            return
        if number <= self.fail_first:
            reason = (
                "Minutely API request limit exceeded. Please try again in one minute."
                if self.fail_status == 429
                else None
            )
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self._send(request, call, self.fail_status, reason, headers)
        if self.fail_from is not None and number >= self.fail_from:
            return self._send(request, call, 503, None)
        try:
            if url.path in ("/v1/archive", "/v1/forecast", FORECAST_PATH):
                body = self._answer(params, url.path)
            else:
                raise ApiError("Not Found", 404)
        except ApiError as err:
            return self._send(request, call, err.status, err.reason)
        if self.mutate is not None:
            body = self.mutate(url.path, body)
        self._send(request, call, 200, body)

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        call: Call,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        call.status = status
        if status == 200:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            kind = "application/json; charset=utf-8"
        elif body is not None:
            data = json.dumps({"error": True, "reason": body}).encode()
            kind = "application/json; charset=utf-8"
        else:  # what a proxy in front of the API sends on 5xx
            data = f"<html><body><h1>{status} Service Unavailable</h1></body></html>".encode()
            kind = "text/html"
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        for key, val in (headers or {}).items():
            request.send_header(key, val)
        request.end_headers()
        request.wfile.write(data)

    def _answer(self, params: dict[str, str], path: str) -> Any:
        archive, latest = path == "/v1/archive", path == FORECAST_PATH
        lats = _floats(params.get("latitude", ""))
        lons = _floats(params.get("longitude", ""))
        if not lats or not lons:
            raise ApiError("Parameter 'latitude' and 'longitude' must not be empty")
        if len(lats) != len(lons):
            raise ApiError(
                "Parameter 'latitude' and 'longitude' must have the same number of elements"
            )
        if len(lats) > 1000:
            raise ApiError("Parameter 'latitude' and 'longitude' must not exceed 1000 coordinates.")
        for lat, lon in zip(lats, lons, strict=True):
            if not -90 <= lat <= 90:
                raise ApiError(f"Latitude must be in range of -90 to 90°. Given: {lat}.")
            if not -180 <= lon <= 180:
                raise ApiError(f"Longitude must be in range of -180 to 180°. Given: {lon}.")
        zones = params.get("timezone", "GMT").split(",")
        if len(zones) not in (1, len(lats)):
            raise ApiError(
                "Parameter 'timezone' must have the same number of elements as coordinates"
            )
        zones = zones * len(lats) if len(zones) == 1 else zones
        start, end = self._dates(params, archive, latest)
        hourly = [v for v in params.get("hourly", "").split(",") if v]
        daily = [v for v in params.get("daily", "").split(",") if v]
        for name in hourly:
            self._check_variable(name, archive, latest)
        for name in daily:
            if name not in DAILY:
                raise ApiError(f"Cannot initialize DailyVariable from invalid String value {name}.")
        wind = params.get("wind_speed_unit", "kmh")
        if wind not in WIND_UNITS:
            raise ApiError(f"Cannot initialize WindspeedUnit from invalid String value {wind}.")
        out = []
        for lat, lon, zone in zip(lats, lons, zones, strict=True):
            name = self.auto_timezones.get((lat, lon), "GMT") if zone == "auto" else zone
            try:
                tz = zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ApiError("Invalid timezone") from None
            out.append(self._location(lat, lon, name, tz, start, end, hourly, daily, wind, archive))
        return out[0] if len(out) == 1 else out

    def _dates(
        self, params: dict[str, str], archive: bool, latest: bool
    ) -> tuple[dt.date, dt.date]:
        if "start_date" not in params or "end_date" not in params:
            raise ApiError("Both 'start_date' and 'end_date' must be set in the url")
        try:
            start = dt.date.fromisoformat(params["start_date"])
            end = dt.date.fromisoformat(params["end_date"])
        except ValueError:
            raise ApiError("Invalid date format. Use YYYY-MM-DD") from None
        today = self.now.date()
        if latest:  # past_days up to 92, forecast_days up to 16 (today the first)
            first = today - dt.timedelta(days=FORECAST_PAST_DAYS)
            last = today + dt.timedelta(days=FORECAST_DAYS - 1)
        else:
            first = ARCHIVE_FIRST if archive else PREVIOUS_RUNS_FIRST
            last = today + dt.timedelta(days=0 if archive else FORECAST_DAYS)
        for key, day in (("start_date", start), ("end_date", end)):
            if not first <= day <= last:
                raise ApiError(f"Parameter '{key}' is out of allowed range from {first} to {last}")
        if end < start:
            raise ApiError("End-date must be larger or equals than start-date")
        return start, end

    def _check_variable(self, name: str, archive: bool, latest: bool) -> None:
        match = SUFFIX.match(name)
        ok = match is not None and match["base"] in HOURLY_UNITS
        if ok and match["n"] is not None:
            ok = not archive and not latest and 1 <= int(match["n"]) <= MAX_PREVIOUS_DAY
        if not ok:
            kind = "ArchiveVariable" if archive else "ForecastVariable"
            raise ApiError(f"Cannot initialize {kind} from invalid String value {name}.")

    def _location(
        self,
        lat: float,
        lon: float,
        zone: str,
        tz: zoneinfo.ZoneInfo,
        start: dt.date,
        end: dt.date,
        hourly: list[str],
        daily: list[str],
        wind: str,
        archive: bool,
    ) -> dict[str, Any]:
        offset = int(tz.utcoffset(self.now.replace(tzinfo=None)).total_seconds())
        days = (end - start).days + 1
        clock0 = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp())
        clock = clock0 + HOUR * np.arange(24 * days, dtype=np.int64)
        seconds = clock - offset  # the fixed offset of `now`, DST ignored like the real API
        wind_unit, wind_factor = WIND_UNITS[wind]
        series = {}
        for name in set(hourly) | {DAILY[d][0] for d in daily}:
            values = value(name, lat, lon, seconds)
            if name.startswith("wind_speed_10m"):
                values = np.round(values * wind_factor, 1)
            series[name] = np.where(self._null(name, seconds, archive), np.nan, values)
        answer: dict[str, Any] = {
            "latitude": round(lat * 10) / 10 + 0.0049,  # the grid cell's centre, not the request
            "longitude": round(lon * 10) / 10 + 0.0031,
            "generationtime_ms": 0.84,
            "utc_offset_seconds": offset,
            "timezone": zone,
            "timezone_abbreviation": _abbreviation(offset),
            "elevation": 38.0,
        }
        units = {n: HOURLY_UNITS[SUFFIX.match(n)["base"]] for n in hourly}
        units.update({n: wind_unit for n in units if n.startswith("wind_speed_10m")})
        if hourly:
            times = (
                np.datetime64(start, "m") + np.arange(24 * days) * np.timedelta64(60, "m")
            ).astype(str)
            answer["hourly_units"] = {"time": "iso8601", **units}
            answer["hourly"] = {"time": times.tolist(), **{n: _json(series[n]) for n in hourly}}
        if daily:
            dates = (np.datetime64(start, "D") + np.arange(days)).astype(str)
            answer["daily_units"] = {
                "time": "iso8601",
                **{
                    d: (wind_unit if DAILY[d][0] == "wind_speed_10m" else HOURLY_UNITS[DAILY[d][0]])
                    for d in daily
                },
            }
            block = {"time": dates.tolist()}
            for d in daily:
                source, how = DAILY[d]
                grid = series[source].reshape(
                    days, 24
                )  # nan propagates: a missing hour nulls the day
                block[d] = _json(np.round(getattr(np, how)(grid, axis=1), 1))
            answer["daily"] = block
        return answer

    def _null(self, name: str, seconds: np.ndarray, archive: bool) -> np.ndarray:
        now = int(self.now.timestamp())
        if archive:
            null = seconds > now - ARCHIVE_DELAY_DAYS * DAY
            if self.null_hours:
                nulled = np.array([int(h.timestamp()) for h in self.null_hours], dtype=np.int64)
                null |= np.isin(seconds, nulled)
            return null
        n = int(SUFFIX.match(name)["n"] or 0)
        if n == 0:  # the latest run: a forecast up to 16 days ahead
            return seconds > now + FORECAST_DAYS * DAY
        return (seconds < int(self.coverage_start.timestamp())) | (seconds - n * DAY > now)


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ApiError(f"Cannot parse coordinate list {text!r}") from None


def _abbreviation(offset: int) -> str:
    if offset == 0:
        return "GMT"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def _json(values: np.ndarray) -> list[float | None]:
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()
