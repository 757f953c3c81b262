"""Benchmark: pull weather and forecasts for 100 stores x 2 years from the fake Open-Meteo.

Default config (params.yaml's open_meteo block, URLs pointed at the fake), cold cache then
warm cache. Prints the API calls and wall time of each run and writes
benchmarks/pull_open_meteo.json.

    .venv/bin/python benchmarks/pull_open_meteo.py
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.fake_open_meteo import FakeOpenMeteo  # noqa: E402

from umbrella.core.params import load_params  # noqa: E402
from umbrella.data.open_meteo import pull_forecasts, pull_weather  # noqa: E402

STORES = 100
START, END, HORIZON = dt.date(2023, 1, 1), dt.date(2024, 12, 31), 7
NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
COVERAGE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # "most models are archived from January 2024"
ZONES = [  # (latitude, longitude, zone): stores are spread around these
    (52.5, 13.4, "Europe/Berlin"),
    (40.7, -74.0, "America/New_York"),
    (34.0, -118.2, "America/Los_Angeles"),
    (35.7, 139.7, "Asia/Tokyo"),
    (-33.9, 151.2, "Australia/Sydney"),
]


def stores() -> pd.DataFrame:
    rows = []
    for i in range(STORES):
        lat, lon, zone = ZONES[i % len(ZONES)]
        # One store in ten leaves its zone to the API (`auto`).
        rows.append((f"s{i:03d}", lat + i * 0.01, lon + i * 0.01, None if i % 10 == 9 else zone))
    return pd.DataFrame(rows, columns=["store", "latitude", "longitude", "timezone"])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    table = stores()
    auto = {
        (r.latitude, r.longitude): ZONES[i % len(ZONES)][2]
        for i, r in enumerate(table.itertuples())
    }
    results = {}
    with (
        tempfile.TemporaryDirectory() as cache,
        FakeOpenMeteo(now=NOW, coverage_start=COVERAGE, auto_timezones=auto) as api,
    ):
        config = load_params().open_meteo.model_copy(
            update={"archive_url": api.archive_url, "previous_runs_url": api.previous_runs_url}
        )
        for run in ("cold", "warm"):
            before = len(api.calls)
            began = time.perf_counter()
            weather = pull_weather(table, START, END, config, Path(cache), None, today=NOW.date())
            middle = len(api.calls)
            mid = time.perf_counter()
            forecasts = pull_forecasts(
                table, START, END, HORIZON, config, Path(cache), None, weather, today=NOW.date()
            )
            done = time.perf_counter()
            results[run] = {
                "weather_calls": middle - before,
                "weather_s": round(mid - began, 2),
                "forecast_calls": len(api.calls) - middle,
                "forecast_s": round(done - mid, 2),
                "calls": len(api.calls) - before,
                "wall_s": round(done - began, 2),
                "weather_rows": len(weather),
                "forecast_rows": len(forecasts),
                "forecast_rows_observed": int((forecasts["forecast_source"] == "observed").sum()),
            }
            print(
                f"{run} cache: {results[run]['calls']} API calls "
                f"(archive {results[run]['weather_calls']}, previous-runs "
                f"{results[run]['forecast_calls']}), {results[run]['wall_s']} s "
                f"(weather {results[run]['weather_s']} s, forecasts {results[run]['forecast_s']} s)"
            )
        cache_mb = sum(f.stat().st_size for f in Path(cache).rglob("*.json.gz")) / 1e6
    figures = {
        "stores": STORES,
        "start": START.isoformat(),
        "end": END.isoformat(),
        "horizon": HORIZON,
        "config": {
            k: getattr(config, k)
            for k in ("locations_per_call", "days_per_call", "timeout_s", "retries", "backoff_s")
        },
        "cache_mb": round(cache_mb, 1),
        **results,
    }
    print(f"cache: {cache_mb:.1f} MB")
    (ROOT / "benchmarks" / "pull_open_meteo.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
