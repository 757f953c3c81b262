"""pull: write the raw tables to data/raw/, from the simulator or the user's csv files."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from umbrella.io import write_csv
from umbrella.params import Params, load_params
from umbrella.paths import FORECASTS, RAW, SALES, WEATHER
from umbrella.simulate import simulate_retailer
from umbrella.sources import fetch

log = logging.getLogger(__name__)


def pull(params: Params, dest: Path) -> None:
    """Write the raw tables of the configured source into the folder `dest`."""
    if params.data.source == "simulate":
        tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
        for name, table in tables.items():
            write_csv(table, dest / f"{name}.csv")
        log.info("simulated %d stores, %d sales rows", params.simulate.stores, len(tables[SALES]))
        return
    for name in (SALES, WEATHER, FORECASTS):
        location = getattr(params.data, name)
        if location is not None:
            fetch(location, dest / f"{name}.csv", key=f"data.{name}")
    log.info("copied the csv source into %s", RAW)


def main(params: Params | None = None) -> None:
    params = params or load_params()
    # Build the new folder beside the old one and swap only when complete: a failed pull
    # leaves the previous raw data as it was, and no file of another source lingers.
    staging = RAW.with_name(".raw.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        pull(params, staging)
        shutil.rmtree(RAW, ignore_errors=True)
        staging.rename(RAW)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
