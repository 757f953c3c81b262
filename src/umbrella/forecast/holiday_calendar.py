"""Each store's public holidays (`features.holidays`): one country's calendar for every
store, or each store's own (`stores`: the `country` and `subdivision` of stores.csv).

A store whose time zone lies in another country than the calendar it gets is named in a
warning: US holidays on a store in Asia/Tokyo are a feature that lies. The country of a
time zone comes from the IANA database's zone.tab, as the pinned `tzdata` package ships it
(the same on every machine; Python's zoneinfo has no country table).
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources

import holidays
import numpy as np
import pandas as pd

from umbrella.core.errors import DataError
from umbrella.core.params import HOLIDAYS_PER_STORE

log = logging.getLogger(__name__)
STORES_LABEL = "stores.csv (data.stores)"


def holiday_flags(
    dates: pd.Series, country: str | None, subdivision: str | None = None
) -> np.ndarray:
    """1.0 on the public holidays of `country` (and its `subdivision`), else 0.0."""
    if country is None:
        return np.zeros(len(dates), dtype=np.float32)
    years = range(dates.min().year, dates.max().year + 1)
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=years)
    return dates.isin(pd.DatetimeIndex(list(calendar))).to_numpy(dtype=np.float32)


def store_holiday_flags(
    stores: pd.Series, dates: pd.Series, setting: str | None, table: pd.DataFrame | None
) -> np.ndarray:
    """The holiday flag of each (store, date) row under `features.holidays` = `setting`:
    none (null), one country's calendar for all stores, or each store's own (`stores`, from
    `table`, the validated stores.csv). Warns about stores whose time zone disagrees."""
    if setting != HOLIDAYS_PER_STORE:
        if setting is not None and table is not None:
            mine = table[table["store"].astype(str).isin(stores.astype(str))]
            advice = f"set features.holidays: stores and each store's country in {STORES_LABEL}"
            warn_elsewhere(mine.assign(country=setting), "features.holidays", advice)
        return holiday_flags(dates, setting)
    calendars = store_calendars(table, sorted(pd.unique(stores.astype(str))))
    advice = "check the store's country and timezone"
    warn_elsewhere(calendars, f"{STORES_LABEL}, column country", advice)
    calendar_of = {
        row["store"]: (row["country"], _text(row["subdivision"]))
        for row in calendars.to_dict("records")
    }
    flags = np.zeros(len(dates), dtype=np.float32)
    names = stores.astype(str).to_numpy()
    for calendar in sorted(set(calendar_of.values()), key=str):
        rows = np.isin(names, [s for s, c in calendar_of.items() if c == calendar])
        flags[rows] = holiday_flags(dates[rows], *calendar)
    return flags


def _text(value: object) -> str | None:
    """A cell of a validated text column: its text, None when empty (NA)."""
    return value if isinstance(value, str) else None


def store_calendars(table: pd.DataFrame | None, stores: list[str]) -> pd.DataFrame:
    """`store`, `country`, `subdivision` (NA: the whole country) and `timezone` of each of
    `stores`; a DataError naming the stores without a country, or an unknown subdivision."""
    if table is None or "country" not in table:
        raise DataError(
            f"features.holidays: stores needs a column country in {STORES_LABEL}: "
            "the stores' own holidays (the simulated retailer has no stores.csv: set a "
            "country code such as US, or null)"
        )
    rows = table.assign(store=table["store"].astype(str)).set_index("store")
    rows = rows.reindex(stores)
    missing = rows.index[rows["country"].isna()].tolist()
    if missing:
        raise DataError(
            f"{STORES_LABEL}, column country: no country for the stores {', '.join(missing)} "
            "(features.holidays: stores takes each store's holidays from it)"
        )
    out = pd.DataFrame(
        {
            "store": rows.index,
            "country": rows["country"].astype(str).to_numpy(),
            "subdivision": rows.get("subdivision", pd.Series(pd.NA, index=rows.index)).to_numpy(),
            "timezone": rows.get("timezone", pd.Series(pd.NA, index=rows.index)).to_numpy(),
        }
    )
    _check_subdivisions(out)
    return out


def _check_subdivisions(calendars: pd.DataFrame) -> None:
    bad = []
    for row in calendars.dropna(subset=["subdivision"]).to_dict("records"):
        if row["subdivision"] not in holidays.list_supported_countries()[row["country"]]:
            bad.append(f"{row['store']} ({row['subdivision']!r} in {row['country']})")
    if bad:
        raise DataError(
            f"{STORES_LABEL}, column subdivision: not a subdivision the holidays package "
            f"knows for the store's country: {', '.join(bad)}"
        )


def warn_elsewhere(calendars: pd.DataFrame, source: str, advice: str) -> None:
    """Warn about each store whose `timezone` lies in another country than its `country`."""
    if "timezone" not in calendars:
        return
    for row in calendars.to_dict("records"):
        zone = _text(row["timezone"])
        country = None if zone is None else zone_country(zone)
        if country is not None and country != row["country"]:
            log.warning(
                "store %s: time zone %s is in %s, but it gets the holidays of %s (%s); %s",
                row["store"],
                zone,
                country,
                row["country"],
                source,
                advice,
            )


def zone_country(zone: str) -> str | None:
    """The ISO 3166 country of an IANA time zone (or of the zone a link names), None for
    a zone of no country (UTC, Etc/GMT+5)."""
    countries, links = _zone_tables()
    return countries.get(zone) or countries.get(links.get(zone, ""))


@cache
def _zone_tables() -> tuple[dict[str, str], dict[str, str]]:
    """zone -> country (zone.tab) and link -> zone (tzdata.zi), from the tzdata package."""
    folder = resources.files("tzdata.zoneinfo")
    countries = {}
    for line in (folder / "zone.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            countries[fields[2]] = fields[0]
    links = {}
    for line in (folder / "tzdata.zi").read_text(encoding="utf-8").splitlines():
        if line.startswith("L "):
            _, target, name = line.split()
            links[name] = target
    return countries, links
