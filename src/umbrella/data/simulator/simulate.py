"""The embedded default data source: a simulated retailer on real weather.

Writes the same tables, in the same schema, as the csv source (docs/data.md "The csv
source"): sales, weather, weather forecasts, and with simulate.stockouts each store's stock
at every close and the orders on their way after the last day (stockroom.py); plus a truth
table that only evaluation reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import holidays
import numpy as np
import pandas as pd

from umbrella.core.params import Simulate
from umbrella.core.paths import ARRIVALS, FORECASTS, SALES, STOCK, TRUTH, WEATHER
from umbrella.data.simulator import demand as dm
from umbrella.data.simulator import stockroom
from umbrella.data.simulator.forecasts import FORECAST_COLUMNS, issue_forecasts
from umbrella.data.simulator.weather import WEATHER_COLUMNS, WeatherGenerator, seattle_weather


def store_names(n: int) -> list[str]:
    return [f"S{i:04d}" for i in range(1, n + 1)]


def public_holidays(dates: pd.DatetimeIndex) -> np.ndarray:
    """True on US public holidays (the Seattle retailer's calendar)."""
    calendar = holidays.country_holidays("US", years=range(dates[0].year, dates[-1].year + 1))
    return dates.normalize().isin(pd.DatetimeIndex(list(calendar.keys())))


def simulate_weather(
    cfg: Simulate,
    dates: pd.DatetimeIndex,
    record: pd.DataFrame,
    climate: WeatherGenerator,
    rng: np.random.Generator,
) -> np.ndarray:
    """(regions, days, 4) weather; region 0 is the real record where `cfg.weather` is seattle."""
    weather = climate.sample(dates, cfg.regions, rng)
    if cfg.weather == "seattle":
        real = record.set_index("date").reindex(dates)[WEATHER_COLUMNS].to_numpy()
        observed = ~np.isnan(real).any(axis=1)  # days after the record stay generated
        weather[0, observed] = real[observed]
    return weather


@dataclass(frozen=True)
class Simulation:
    """The simulated retailer as arrays: (regions, ...) weather and forecasts, (stores,
    days) sales and truth. Its tables are built for any group of stores (`tables`), so a
    chain of many stores is written a partition at a time."""

    dates: pd.DatetimeIndex
    extended: pd.DatetimeIndex  # the dates and `horizon` days after: what forecasts reach
    stores: list[str]
    region: np.ndarray  # (stores,) each store's weather region
    weather: np.ndarray  # (regions, extended days, 4)
    forecasts: np.ndarray  # (regions, issue days, horizon, 3)
    sales: dict[str, np.ndarray]  # each (stores, days)
    truth: dict[str, np.ndarray]  # each (stores, days)
    room: stockroom.Stockroom | None  # simulate.stockouts: the stock each store keeps

    def tables(self, which: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
        """Sales, weather, weather forecasts, truth and (with the stockroom) stock and
        arrivals of the stores at positions `which` (default: all); weather and forecasts
        have no store column when all stores share one region."""
        which = np.arange(len(self.stores)) if which is None else which
        stores = [self.stores[i] for i in which]
        region = self.region[which]
        days = len(self.dates)

        def per_store(values: dict[str, np.ndarray]) -> pd.DataFrame:
            frame = pd.DataFrame(
                {"date": np.tile(self.dates, len(stores)), "store": np.repeat(stores, days)}
            )
            for name, array in values.items():
                frame[name] = np.asarray(array)[which].reshape(-1)
            return frame

        tables = {
            SALES: per_store(self.sales),
            WEATHER: _weather_table(self.weather[:, :days], self.dates, stores, region),
            FORECASTS: _forecast_table(self.forecasts, self.extended, days, stores, region),
            TRUTH: per_store(self.truth),
        }
        if self.room is not None:
            tables[STOCK] = per_store({"on_hand": self.room.on_hand})
            tables[ARRIVALS] = _arrivals_table(self.room.on_order[which], self.dates[-1], stores)
        return tables


def simulate(cfg: Simulate, horizon: int, seed: int) -> Simulation:
    """Draw the simulated retailer."""
    rng_weather, rng_forecast, rng_demand = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    dates = pd.date_range(cfg.start, cfg.end, freq="D")
    # Weather runs `horizon` days past the end: the forecasts issued on the last day see it.
    extended = pd.date_range(cfg.start, periods=len(dates) + horizon, freq="D")
    record = seattle_weather()
    climate = WeatherGenerator.fit(record)
    weather = simulate_weather(cfg, extended, record, climate, rng_weather)
    forecasts = issue_forecasts(weather, extended, len(dates), horizon, climate, rng_forecast)

    region = np.arange(cfg.stores) % cfg.regions
    observed = weather[region, : len(dates)]  # (stores, days, 4)
    sim = dm.simulate_demand(
        dates, observed[..., 0], observed[..., 1], public_holidays(dates), cfg.drift, rng_demand
    )
    del observed
    sales = {"units": sim["demand"], "price": sim["price"], "promo": sim["promo"].astype(np.int8)}
    room = stockroom.replenish(sim["demand"], sim["level"]) if cfg.stockouts else None
    if room is not None:
        sales.update(units=room.sales, in_stock=room.in_stock)
    truth = {
        "mean_demand": sim["mean"].round(4),
        "demand": sim["demand"],
        "dispersion": np.full(sim["mean"].shape, dm.DISPERSION),
    }
    return Simulation(
        dates, extended, store_names(cfg.stores), region, weather, forecasts, sales, truth, room
    )


def simulate_retailer(cfg: Simulate, horizon: int, seed: int) -> dict[str, pd.DataFrame]:
    """Sales, weather, weather forecasts and truth tables of the simulated retailer."""
    return simulate(cfg, horizon, seed).tables()


def _arrivals_table(on_order: np.ndarray, last: pd.Timestamp, stores: list[str]) -> pd.DataFrame:
    """The orders on their way after the last day, (stores, days after it): one row per
    store and day, a day without an arrival included (quantity 0)."""
    lead = on_order.shape[1]
    return pd.DataFrame(
        {
            "date": np.tile(last + pd.to_timedelta(np.arange(1, lead + 1), unit="D"), len(stores)),
            "store": np.repeat(stores, lead),
            "quantity": on_order.reshape(-1),
        }
    )


def _weather_table(
    weather: np.ndarray, dates: pd.DatetimeIndex, stores: list[str], region: np.ndarray
) -> pd.DataFrame:
    """One row per date when all stores share one region, else one row per store and date."""
    if weather.shape[0] == 1:
        frame = pd.DataFrame(weather[0], columns=WEATHER_COLUMNS)
        frame.insert(0, "date", dates)
    else:
        frame = pd.DataFrame(weather[region].reshape(-1, 4), columns=WEATHER_COLUMNS)
        frame.insert(0, "store", np.repeat(stores, len(dates)))
        frame.insert(0, "date", np.tile(dates, len(stores)))
    return frame.round(dict.fromkeys(WEATHER_COLUMNS, 1))


def _forecast_table(
    forecasts: np.ndarray,
    dates: pd.DatetimeIndex,
    issue_days: int,
    stores: list[str],
    region: np.ndarray,
) -> pd.DataFrame:
    horizon = forecasts.shape[2]
    issued = np.repeat(dates[:issue_days], horizon)
    target = issued + pd.to_timedelta(np.tile(np.arange(1, horizon + 1), issue_days), unit="D")
    if forecasts.shape[0] == 1:
        frame = pd.DataFrame(forecasts[0].reshape(-1, 3), columns=FORECAST_COLUMNS)
        frame.insert(0, "date", target)
        frame.insert(0, "issued", issued)
    else:
        n = issue_days * horizon
        frame = pd.DataFrame(forecasts[region].reshape(-1, 3), columns=FORECAST_COLUMNS)
        frame.insert(0, "store", np.repeat(stores, n))
        frame.insert(0, "date", np.tile(target, len(stores)))
        frame.insert(0, "issued", np.tile(issued, len(stores)))
    return frame.round({"rain_mm": 1, "rain_prob": 2, "temp_max_c": 1})
