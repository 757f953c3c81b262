"""The raw tables of the configured source: the simulated retailer, or the retailer's own
data (csv files or a database for the sales; csv files or Open-Meteo for the weather)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from umbrella.core.files import append_csv, write_csv
from umbrella.core.params import OPEN_METEO, SQL, Params
from umbrella.core.partitions import part_name, shared_name, store_groups
from umbrella.core.paths import FORECASTS, ROOT, SALES, STORES, WEATHER
from umbrella.data.open_meteo import pull_forecasts, pull_weather
from umbrella.data.simulator.simulate import simulate
from umbrella.data.sources.database import database_url, sales_chunks
from umbrella.data.sources.locations import sales_period, store_locations
from umbrella.data.sources.own_files import fetch

log = logging.getLogger(__name__)
API_KEY_ENV = "OPEN_METEO_API_KEY"  # commercial Open-Meteo customers set their key here


def pull(params: Params, dest: Path) -> None:
    """Write the raw tables of the configured source into the folder `dest`."""
    if params.data.source == "simulate":
        pull_simulated(params, dest)
        return
    data = params.data
    for name in (STORES, SALES, WEATHER, FORECASTS):
        location = getattr(data, name)
        if location is not None and location not in (SQL, OPEN_METEO):
            fetch(location, dest / f"{name}.csv", key=f"data.{name}", timeout_s=data.timeout_s)
    if data.sales == SQL:
        url = database_url(data.sql.url_env)
        for chunk in sales_chunks(url, data.sql.query, data.timeout_s):
            append_csv(chunk, dest / f"{SALES}.csv")
    if data.weather == OPEN_METEO:
        pull_open_meteo(params, dest)
    log.info("pulled the retailer's own data into %s", dest)


def pull_simulated(params: Params, dest: Path) -> None:
    """The simulated retailer, a partition of stores at a time (umbrella.core.partitions):
    dest/<table>/part-NNNNN.csv, or dest/<table>/all.csv for a table all stores share."""
    sim = simulate(params.simulate, params.base.horizon, params.base.seed)
    position = {store: i for i, store in enumerate(sim.stores)}
    groups = store_groups(sim.stores, params.engine.stores_per_partition)
    for part, group in enumerate(groups):
        for name, table in sim.tables(np.array([position[s] for s in group])).items():
            if "store" in table:
                write_csv(table, dest / name / part_name(part, ".csv"))
            elif part == 0:
                write_csv(table, dest / name / shared_name(".csv"))
    log.info("simulated %d stores in %d partitions", len(sim.stores), len(groups))


def pull_open_meteo(params: Params, dest: Path) -> None:
    """Observed weather (and forecasts as issued) at each store with sales, over its period,
    a group of `engine.stores_per_partition` stores at a time (memory)."""
    stores = store_locations(dest / f"{STORES}.csv", f"data/raw/{STORES}.csv")
    start, end, selling = sales_period(dest / f"{SALES}.csv", f"data/raw/{SALES}.csv")
    stores = stores[stores["store"].isin(selling)]
    config, cache = params.open_meteo, ROOT / params.open_meteo.cache
    key = os.environ.get(API_KEY_ENV) or None
    for group in store_groups(stores["store"], params.engine.stores_per_partition):
        some = stores[stores["store"].isin(group)]
        observed = pull_weather(some, start, end, config, cache, key)
        append_csv(observed, dest / f"{WEATHER}.csv")
        if params.data.weather_forecasts == OPEN_METEO:
            forecasts = pull_forecasts(
                some, start, end, params.base.horizon, config, cache, key, observed
            )
            append_csv(forecasts, dest / f"{FORECASTS}.csv")
