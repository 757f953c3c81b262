"""The two pulls: observed daily weather, and daily forecasts as they were issued.

Up to the present, never past it (`umbrella.core.freshness.today`, UTC): observed weather only
for days before today, the archive's last days (published about 5 days late) estimated
from the Forecast API (`weather_source = forecast`); forecasts as issued up to yesterday,
the one issued yesterday being the Forecast API's latest run. Values the service gives for
a run from tomorrow on (a clock ahead, a replay against a live service) are ignored with a
warning.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.errors import DataError
from umbrella.core.freshness import today as utc_today
from umbrella.core.params import OpenMeteo
from umbrella.data.open_meteo.cache import FINAL_AFTER_DAYS, ResponseCache
from umbrella.data.open_meteo.client import Endpoint
from umbrella.data.open_meteo.fetch import AUTO, Location, fetch_hourly
from umbrella.data.open_meteo.tables import WEATHER_AGGREGATES, daily, hourly_frame, previous_day

log = logging.getLogger(__name__)

# The Previous Runs API archives leads `_previous_day1` .. `_previous_day7` (docs: "fixed
# lead-time offsets of 1-7 days").
MAX_LEAD = 7
ISSUED, OBSERVED = "issued", "observed"
# weather_source: the archive's reanalysis, or the Forecast API's estimate of a recent day.
ARCHIVE, ESTIMATE = "archive", "forecast"
WEATHER_COLUMNS = ["date", "store", "rain_mm", "temp_max_c", "temp_min_c", "wind", "weather_source"]
# The Forecast API reaches 16 days ahead, today included (forecast_days up to 16).
FORECAST_DAYS = 16
ONE_DAY = dt.timedelta(days=1)
FORECAST_COLUMNS = ["issued", "date", "store", "rain_mm", "temp_max_c", "forecast_source"]


def pull_weather(
    stores: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    config: OpenMeteo,
    cache_dir: Path,
    api_key: str | None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Observed weather, one row per store and local day in start..end (NaN where unknown).

    Days from today on stay NaN (not over yet). Recent days the archive has not published
    yet (within `FINAL_AFTER_DAYS` of today) take the Forecast API's values of those days,
    the model's best estimate: `weather_source` says which rows.
    """
    today = today or utc_today()
    locations, index = _locations(stores)
    variables = sorted({variable for variable, _ in WEATHER_AGGREGATES.values()})
    extra = {"wind_speed_unit": "ms", **_models(config.archive_models)}
    cache = ResponseCache(cache_dir, refresh=config.refresh)
    answers = fetch_hourly(
        Endpoint("archive", config.archive_url),
        locations,
        start,
        end,
        variables,
        extra,
        config,
        cache,
        api_key,
        today,
        last_date=today,
    )
    per_location = []
    for location_answers in answers:
        hours, zone = hourly_frame(location_answers, variables)
        days = daily(hours, zone, WEATHER_AGGREGATES, start, end)
        per_location.append(_until_yesterday(days, today))
    recent = [
        d
        for d in pd.date_range(max(start, today - dt.timedelta(days=FINAL_AFTER_DAYS)), end)
        if d.date() < today
    ]
    missing = [i for i, days in enumerate(per_location) if days.loc[recent, "rain_mm"].isna().any()]
    if missing:
        estimates = fetch_hourly(
            Endpoint("forecast", config.forecast_url),
            [locations[i] for i in missing],
            recent[0].date(),
            recent[-1].date(),
            variables,
            {"wind_speed_unit": "ms", **_models(config.forecast_models)},
            config,
            cache,
            api_key,
            today,
            last_date=today,
        )
        for i, location_answers in zip(missing, estimates, strict=True):
            hours, zone = hourly_frame(location_answers, variables)
            guess = daily(hours, zone, WEATHER_AGGREGATES, recent[0].date(), recent[-1].date())
            per_location[i] = _fill_recent(per_location[i], guess)
    table = _by_store(stores, index, per_location)
    estimated = table["weather_source"] == ESTIMATE
    if estimated.any():
        log.warning(
            "open-meteo: %d weather rows (%s..%s) are the Forecast API's estimate, not yet in "
            "the archive (weather_source = forecast); the next pulls replace them",
            int(estimated.sum()),
            f"{table.loc[estimated, 'date'].min():%Y-%m-%d}",
            f"{table.loc[estimated, 'date'].max():%Y-%m-%d}",
        )
    table["date"] = table["date"].dt.strftime("%Y-%m-%d")
    table = table.sort_values(["store", "date"], ignore_index=True)
    return table[WEATHER_COLUMNS]


def _fill_recent(days: pd.DataFrame, guess: pd.DataFrame) -> pd.DataFrame:
    """The archive's days, its missing recent ones taken from the estimate where complete."""
    take = guess.index[guess.notna().all(axis=1)]
    take = take[days.loc[take, "rain_mm"].isna()]
    days.loc[take, list(WEATHER_AGGREGATES)] = guess.loc[take, list(WEATHER_AGGREGATES)]
    days.loc[take, "weather_source"] = ESTIMATE
    return days


def _until_yesterday(days: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """`days` with the days from today on NaN (not over yet), and weather_source set."""
    days = days.assign(weather_source=ARCHIVE)
    ahead = days.index >= pd.Timestamp(today)
    if days.loc[ahead, list(WEATHER_AGGREGATES)].notna().any(axis=None):
        log.warning(
            "open-meteo archive: observed weather for days from today (%s) on ignored: they "
            "are not over yet (a clock ahead, or a replay of a past day against the live "
            "service)",
            today,
        )
    days.loc[ahead, list(WEATHER_AGGREGATES)] = np.nan
    return days


def _before_tomorrow(hours: pd.DataFrame, leads: dict[str, int], today: dt.date) -> pd.DataFrame:
    """`hours` without the values of runs from tomorrow on (UTC): the `_previous_dayN`
    variable (`leads`: variable -> N) at hour X comes from a run at X - N days. A service
    that gives such values runs ahead of us: they are ignored with a warning."""
    tomorrow = pd.Timestamp(today + ONE_DAY)
    hours = hours.copy()
    late_values = 0
    for variable, lead in leads.items():
        late = (hours["utc"] - pd.Timedelta(days=lead) >= tomorrow) & hours[variable].notna()
        late_values += int(late.sum())
        hours.loc[late, variable] = np.nan
    if late_values:
        log.warning(
            "open-meteo previous-runs: %d values from model runs after today (%s) ignored: "
            "the service answered from runs that have not happened yet here (a clock ahead, "
            "or a replay of a past day against the live service)",
            late_values,
            today,
        )
    return hours


def pull_forecasts(
    stores: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    horizon: int,
    config: OpenMeteo,
    cache_dir: Path,
    api_key: str | None,
    observed: pd.DataFrame,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Forecasts as issued on the days up to `end` (yesterday at the latest), leads
    1..horizon.

    issued = date - lead; values are the lead's `_previous_day{lead}` hours of the target's
    local day (see the package docstring for why that respects the timing rule). When
    `end` is yesterday, the forecast issued on it (the orders' origin) is the Forecast
    API's latest run instead, for days 1..horizon after it: what a store sees when it
    orders this morning (the Previous Runs API would leave the days past tomorrow out).
    Target days before the forecast archive's coverage take the observed weather of the
    target day (forecast_source = observed, with a warning); days past what the API
    returns are left out.
    """
    if not 1 <= horizon <= MAX_LEAD:
        raise DataError(
            f"open-meteo previous-runs: horizon {horizon} is out of range: the API archives "
            f"forecasts for leads 1..{MAX_LEAD} days"
        )
    today = today or utc_today()
    last_issued = min(end, today - ONE_DAY)
    if end > last_issued:
        log.warning(
            "open-meteo: the sales reach %s, but forecasts are issued up to yesterday (%s) "
            "only: a run after the present is never asked for",
            end,
            last_issued,
        )
    latest = last_issued == today - ONE_DAY  # the Forecast API serves the last issued day
    archived_until = last_issued - ONE_DAY if latest else last_issued
    locations, index = _locations(stores)
    cache = ResponseCache(cache_dir, refresh=config.refresh)
    per_location = _previous_runs(
        locations, start, archived_until, horizon, config, cache, api_key, today
    )
    if latest:
        runs = _latest_run(locations, last_issued, horizon, config, cache, api_key, today)
        per_location = [
            pd.concat([archived, run], ignore_index=True)
            for archived, run in zip(per_location, runs, strict=True)
        ]
    table = _by_store(stores, index, per_location)
    return _with_fallback(table, observed)


def _previous_runs(
    locations: list[Location],
    start: dt.date,
    last_issued: dt.date,
    horizon: int,
    config: OpenMeteo,
    cache: ResponseCache,
    api_key: str | None,
    today: dt.date,
) -> list[pd.DataFrame]:
    """Per location: date, lead, rain_mm, temp_max_c of the Previous Runs API, for target
    days from `start` on and issued days up to `last_issued`."""
    last_target = last_issued + dt.timedelta(days=horizon)
    leads = range(1, horizon + 1)
    variables = [previous_day("precipitation", h) for h in leads]
    variables += [previous_day("temperature_2m", h) for h in leads]
    run_lead = {previous_day(v, h): h for v in ("precipitation", "temperature_2m") for h in leads}
    aggregates = {}
    for h in leads:
        aggregates[f"rain_{h}"] = (previous_day("precipitation", h), "sum")
        aggregates[f"temp_{h}"] = (previous_day("temperature_2m", h), "max")
    answers = fetch_hourly(
        Endpoint("previous-runs", config.previous_runs_url),
        locations,
        start,
        last_target,
        variables,
        _models(config.forecast_models),
        config,
        cache,
        api_key,
        today,
        last_date=last_target + ONE_DAY,
    )
    per_location = []
    for location_answers in answers:
        hours, zone = hourly_frame(location_answers, variables)
        hours = _before_tomorrow(hours, run_lead, today)
        days = daily(hours, zone, aggregates, start, last_target)
        rows = pd.concat(
            [
                pd.DataFrame(
                    {
                        "date": days.index,
                        "lead": h,
                        "rain_mm": days[f"rain_{h}"].to_numpy(),
                        "temp_max_c": days[f"temp_{h}"].to_numpy(),
                    }
                )
                for h in leads
            ],
            ignore_index=True,
        )
        issued = rows["date"] - pd.to_timedelta(rows["lead"], unit="D")
        per_location.append(rows[issued <= pd.Timestamp(last_issued)])
    return per_location


def _latest_run(
    locations: list[Location],
    issued: dt.date,
    horizon: int,
    config: OpenMeteo,
    cache: ResponseCache,
    api_key: str | None,
    today: dt.date,
) -> list[pd.DataFrame]:
    """Per location: date, lead, rain_mm, temp_max_c of the Forecast API's latest run for
    the days 1..horizon after `issued` (yesterday)."""
    first, last = issued + ONE_DAY, issued + dt.timedelta(days=horizon)
    variables = ["precipitation", "temperature_2m"]
    aggregates = {"rain_mm": ("precipitation", "sum"), "temp_max_c": ("temperature_2m", "max")}
    answers = fetch_hourly(
        Endpoint("forecast", config.forecast_url),
        locations,
        first,
        last,
        variables,
        _models(config.forecast_models),
        config,
        cache,
        api_key,
        today,
        last_date=today + dt.timedelta(days=FORECAST_DAYS - 1),
    )
    per_location = []
    for location_answers in answers:
        hours, zone = hourly_frame(location_answers, variables)
        days = daily(hours, zone, aggregates, first, last).rename_axis("date").reset_index()
        days["lead"] = (days["date"] - pd.Timestamp(issued)).dt.days
        per_location.append(days[["date", "lead", "rain_mm", "temp_max_c"]])
    log.info(
        "open-meteo forecast: the forecast issued on %s for %s..%s is the latest run",
        issued,
        first,
        last,
    )
    return per_location


def _with_fallback(table: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
    """Flag, fill from `observed` or drop the target days the archive has no forecast for."""
    complete = table["rain_mm"].notna() & table["temp_max_c"].notna()
    keys = [table["store"], table["lead"]]
    first = table["date"].where(complete).groupby(keys).transform("min")
    last = table["date"].where(complete).groupby(keys).transform("max")
    before = first.isna() | (table["date"] < first)  # before the archive's coverage
    after = first.notna() & (table["date"] > last)  # past what the API returns (yet)
    fallback = ~complete & before
    gap = ~complete & ~before & ~after

    issued = table[complete | gap].assign(forecast_source=ISSUED)
    seen = observed[["date", "store", "rain_mm", "temp_max_c"]].assign(
        date=lambda f: pd.to_datetime(f["date"]), store=lambda f: f["store"].astype(str)
    )
    filled = (
        table.loc[fallback, ["store", "lead", "date"]]
        .merge(seen, on=["date", "store"], how="inner")
        .assign(forecast_source=OBSERVED)
    )
    dropped = int((~complete & after).sum()) + int(fallback.sum()) - len(filled)
    if len(filled):
        covered = table.loc[complete, "date"]
        since = (
            f"covers target days only from {covered.min():%Y-%m-%d} on"
            if len(covered)
            else "has no forecast for these days"
        )
        log.warning(
            "open-meteo previous-runs: %d of %d forecast rows fall back on the observed "
            "weather of their target day (forecast_source = observed): the forecast archive "
            "%s; these rows are perfect forecasts and flatter the results",
            len(filled),
            len(filled) + len(issued),
            since,
        )
    if gap.any():
        log.warning(
            "open-meteo previous-runs: %d forecast rows inside the archive's coverage have "
            "missing hours and stay NaN",
            int(gap.sum()),
        )
    if dropped:
        log.info("open-meteo previous-runs: %d rows past what the API returns left out", dropped)
    out = pd.concat([issued, filled], ignore_index=True)
    out["issued"] = (out["date"] - pd.to_timedelta(out["lead"], unit="D")).dt.strftime("%Y-%m-%d")
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out = out.sort_values(["store", "issued", "date"], ignore_index=True)
    return out[FORECAST_COLUMNS]


def _locations(stores: pd.DataFrame) -> tuple[list[Location], np.ndarray]:
    """Distinct (latitude, longitude, timezone) of the stores, and each store's index."""
    if "timezone" in stores:
        zones = stores["timezone"].astype(object).where(stores["timezone"].notna(), AUTO)
        zones = zones.map(lambda z: str(z).strip() or AUTO)
    else:
        zones = pd.Series(AUTO, index=stores.index, dtype=object)
    keys = list(
        zip(
            stores["latitude"].astype(float).round(6),
            stores["longitude"].astype(float).round(6),
            zones,
            strict=True,
        )
    )
    unique: dict[tuple[float, float, str], int] = {}
    index = np.array([unique.setdefault(key, len(unique)) for key in keys], dtype=int)
    return [Location(*key) for key in unique], index


def _by_store(
    stores: pd.DataFrame, index: np.ndarray, per_location: list[pd.DataFrame]
) -> pd.DataFrame:
    """Each store's rows from its location's frame (the date as a column)."""
    if not len(stores):
        raise DataError("open-meteo: no store to pull the weather of")
    frames = []
    for store, i in zip(stores["store"].astype(str), index, strict=True):
        frame = per_location[i]
        if "date" not in frame:
            frame = frame.rename_axis("date").reset_index()
        frames.append(frame.assign(store=store))
    return pd.concat(frames, ignore_index=True)


def _models(models: str | None) -> dict[str, str]:
    return {"models": models} if models else {}
