"""The two pulls: observed daily weather, and daily forecasts as they were issued."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.errors import DataError
from umbrella.open_meteo.cache import ResponseCache
from umbrella.open_meteo.client import Endpoint
from umbrella.open_meteo.fetch import AUTO, Location, fetch_hourly
from umbrella.open_meteo.tables import WEATHER_AGGREGATES, daily, hourly_frame, previous_day
from umbrella.params import OpenMeteo

log = logging.getLogger(__name__)

# The Previous Runs API archives leads `_previous_day1` .. `_previous_day7` (docs: "fixed
# lead-time offsets of 1-7 days").
MAX_LEAD = 7
ISSUED, OBSERVED = "issued", "observed"
WEATHER_COLUMNS = ["date", "store", "rain_mm", "temp_max_c", "temp_min_c", "wind"]
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
    """Observed weather, one row per store and local day in start..end (NaN where unknown)."""
    today = today or _utc_today()
    locations, index = _locations(stores)
    variables = sorted({variable for variable, _ in WEATHER_AGGREGATES.values()})
    extra = {"wind_speed_unit": "ms", **_models(config.archive_models)}
    answers = fetch_hourly(
        Endpoint("archive", config.archive_url),
        locations,
        start,
        end,
        variables,
        extra,
        config,
        ResponseCache(cache_dir),
        api_key,
        today,
        last_date=today,
    )
    per_location = []
    for location_answers in answers:
        hours, zone = hourly_frame(location_answers, variables)
        per_location.append(daily(hours, zone, WEATHER_AGGREGATES, start, end))
    table = _by_store(stores, index, per_location)
    table["date"] = table["date"].dt.strftime("%Y-%m-%d")
    table = table.sort_values(["store", "date"], ignore_index=True)
    return table[WEATHER_COLUMNS]


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
    """Forecasts as issued for target days start..end+horizon and leads 1..horizon.

    issued = date - lead; values are the lead's `_previous_day{lead}` hours of the target's
    local day (see the package docstring for why that respects the timing rule). Target
    days before the forecast archive's coverage take the observed weather of the target
    day (forecast_source = observed, with a warning); days past what the API returns are
    left out.
    """
    if not 1 <= horizon <= MAX_LEAD:
        raise DataError(
            f"open-meteo previous-runs: horizon {horizon} is out of range: the API archives "
            f"forecasts for leads 1..{MAX_LEAD} days"
        )
    today = today or _utc_today()
    last_target = end + dt.timedelta(days=horizon)
    leads = range(1, horizon + 1)
    variables = [previous_day("precipitation", h) for h in leads]
    variables += [previous_day("temperature_2m", h) for h in leads]
    aggregates = {}
    for h in leads:
        aggregates[f"rain_{h}"] = (previous_day("precipitation", h), "sum")
        aggregates[f"temp_{h}"] = (previous_day("temperature_2m", h), "max")
    locations, index = _locations(stores)
    answers = fetch_hourly(
        Endpoint("previous-runs", config.previous_runs_url),
        locations,
        start,
        last_target,
        variables,
        _models(config.forecast_models),
        config,
        ResponseCache(cache_dir),
        api_key,
        today,
        # A lead-1 value for hour X needs a run at X - 24 h: nothing lies past tomorrow
        # (in the UTC+14 zones, the day after).
        last_date=today + dt.timedelta(days=2),
    )
    per_location = []
    for location_answers in answers:
        hours, zone = hourly_frame(location_answers, variables)
        days = daily(hours, zone, aggregates, start, last_target)
        per_location.append(
            pd.concat(
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
        )
    table = _by_store(stores, index, per_location)
    return _with_fallback(table, observed)


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


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
