"""End to end on a real retailer's kind of data: store locations, sales in a database,
weather and forecasts as issued from (a fake of) Open-Meteo, through the real `dvc repro`.

"Today" is 1 October 2024 (UMBRELLA_TODAY, and the fake service's clock that morning): the
sales run through yesterday, as in production."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_params, run, set_params
from support.fake_open_meteo import FakeOpenMeteo

from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.data.sources import database
from umbrella.data.sources.retailer import pull

pytestmark = pytest.mark.slow

TODAY = "2024-10-01"  # UMBRELLA_TODAY: the sales end yesterday, 30 September
NOW = dt.datetime(2024, 10, 1, 6, tzinfo=dt.UTC)  # the fake API's clock: this morning
ARCHIVED = dt.datetime(2023, 6, 1, tzinfo=dt.UTC)  # forecasts archived from then on
STORES = pd.DataFrame(
    {
        "store": ["S0001", "S0002", "S0003"],
        "latitude": [47.61, 52.52, -33.87],
        "longitude": [-122.33, 13.40, 151.21],
        "timezone": ["America/Los_Angeles", "Europe/Berlin", None],  # None: the API finds it
    }
)


def shop(folder: Path) -> tuple[Path, Path]:
    """A retailer's sales database (SQLite) and stores.csv, for 3 stores over 9 months."""
    params = make_params(
        {
            "simulate": {
                "stores": 3,
                "start": "2024-01-01",
                "end": "2024-09-30",
                "weather": "generated",
            }
        }
    )
    sales = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)["sales"]
    folder.mkdir(parents=True)
    db = folder / "shop.db"
    with sqlite3.connect(db) as con:
        sales.assign(date=sales["date"].dt.strftime("%Y-%m-%d")).to_sql("sales", con, index=False)
    con.close()
    STORES.to_csv(folder / "stores.csv", index=False)
    return db, folder / "stores.csv"


def configure(root: Path, api: FakeOpenMeteo, stores: Path) -> None:
    set_params(
        root,
        {
            "data": {
                "source": "csv",
                "sales": "sql",
                "stores": str(stores),
                "weather": "open-meteo",
                "weather_forecasts": "open-meteo",
            },
            # 31-day chunks: a pull fetches again only the month that can still change.
            "open_meteo": {**api.urls, "backoff_s": 0.0, "days_per_call": 31},
            "split": {"test_days": 60},
        },
    )


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


def test_dvc_repro_from_a_database_and_open_meteo(
    repo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sales through yesterday, stores in three time zones: orders for the 7 days from
    today, from the forecast issued yesterday (the Forecast API's latest run); the
    archive's unpublished last days estimated and flagged."""
    db, stores = shop(tmp_path / "shop")
    monkeypatch.setenv("UMBRELLA_SALES_DB_URL", f"sqlite:///{db}")
    monkeypatch.setenv("UMBRELLA_TODAY", TODAY)
    sydney = {(-33.87, 151.21): "Australia/Sydney"}
    with FakeOpenMeteo(now=NOW, coverage_start=ARCHIVED, auto_timezones=sydney) as api:
        configure(repo_copy, api, stores)
        run(["dvc", "repro"], repo_copy)
        calls = len(api.calls)

        metrics = json.loads((repo_copy / "metrics" / "evaluate.json").read_text())
        test = json.loads((repo_copy / "reports" / "evaluate.json").read_text())["test"]
        assert test["forecasts"] == "issued" and test["end"] == "2024-09-30"
        assert test["rows"] > 0 and "oracle" not in metrics
        raw = repo_copy / "data" / "raw"
        forecasts = pd.read_csv(raw / "weather_forecasts.csv")
        assert set(forecasts["forecast_source"]) == {"issued"}
        assert forecasts["issued"].max() == "2024-09-30"  # nothing issued today or later
        leads = pd.to_datetime(forecasts["date"]) - pd.to_datetime(forecasts["issued"])
        assert set(leads.dt.days) == set(range(1, 8))
        weather = pd.read_csv(raw / "weather.csv")
        assert set(weather["store"]) == set(STORES["store"])
        assert weather["date"].max() == "2024-09-30" and weather["rain_mm"].notna().all()
        estimated = weather.loc[weather["weather_source"] == "forecast", "date"]
        assert estimated.min() >= "2024-09-21" and estimated.max() == "2024-09-30"
        orders = pd.read_csv(repo_copy / "data" / "predictions" / "orders.csv")
        days = pd.date_range(TODAY, periods=7).strftime("%Y-%m-%d").tolist()
        assert len(orders) == 3 * 7 and sorted(orders["date"].unique()) == days

        # Nothing changed: pull does not run, and the API is not called.
        out = run(["dvc", "repro"], repo_copy).stdout
        assert ran_stages(out) == {"sources"}
        assert len(api.calls) == calls

        # The database changed: pull runs again; the cache answers for the finished
        # chunks, only the days that can still change are fetched again.
        with sqlite3.connect(db) as con:
            con.execute("UPDATE sales SET units = units + 5 WHERE date >= '2024-08-01'")
        con.close()
        out = run(["dvc", "repro"], repo_copy).stdout
        assert {"pull", "validate", "train", "evaluate"} <= ran_stages(out)
        again = api.calls[calls:]
        assert again and all(c.params["end_date"] >= "2024-09-21" for c in again)
        changed = json.loads((repo_copy / "metrics" / "evaluate.json").read_text())
        assert changed["model"]["cost"] != metrics["model"]["cost"]

    # Two days later with the same data: the orders' first days are past, refused.
    monkeypatch.setenv("UMBRELLA_TODAY", "2024-10-03")
    refused = run(["umbrella", "predict"], repo_copy, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "already past on 2024-10-03: 2024-10-01, 2024-10-02" in refused.stderr


def test_days_before_the_forecast_archive_are_flagged(
    repo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, stores = shop(tmp_path / "shop")
    monkeypatch.setenv("UMBRELLA_SALES_DB_URL", f"sqlite:///{db}")
    monkeypatch.setenv("UMBRELLA_TODAY", TODAY)
    coverage = dt.datetime(2024, 8, 15, tzinfo=dt.UTC)  # inside the test period
    with FakeOpenMeteo(now=NOW, coverage_start=coverage) as api:
        configure(repo_copy, api, stores)
        out = run(["dvc", "repro"], repo_copy)
    assert "observed weather" in out.stderr  # the pull's warning
    validation = json.loads((repo_copy / "reports" / "validation.json").read_text())
    assert validation["forecasts"].startswith("issued; observed weather for")
    metrics = json.loads((repo_copy / "reports" / "evaluate.json").read_text())
    assert metrics["test"]["forecasts"].startswith("issued; observed weather for")


def test_a_changed_csv_file_is_noticed(repo_copy: Path, tmp_path: Path) -> None:
    params = make_params({"simulate": {"stores": 2, "start": "2013-01-01", "end": "2013-09-30"}})
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    folder = tmp_path / "shop"
    folder.mkdir()
    for name in ("sales", "weather"):
        tables[name].to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    data = {"source": "csv", "sales": str(folder / "sales.csv")}
    set_params(repo_copy, {"data": {**data, "weather": str(folder / "weather.csv")}})
    run(["dvc", "repro"], repo_copy)
    assert ran_stages(run(["dvc", "repro"], repo_copy).stdout) == {"sources"}

    sales = tables["sales"].assign(units=tables["sales"]["units"] + 1)
    sales.to_csv(folder / "sales.csv", index=False, date_format="%Y-%m-%d")
    assert "pull" in ran_stages(run(["dvc", "repro"], repo_copy).stdout)


def test_an_unknown_params_key_fails_every_run(repo_copy: Path) -> None:
    """A key no stage tracks is still read: the sources stage loads all of params.yaml."""
    set_params(repo_copy, {"foo": 1})
    result = run(["dvc", "repro"], repo_copy, check=False)
    assert result.returncode != 0
    assert "foo: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_pull_by_group_of_stores_writes_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open-Meteo pulled a group of `engine.stores_per_partition` stores at a time (here
    one store) and the sales query read a chunk at a time: the same bytes as all at once."""
    db, stores = shop(tmp_path / "shop")
    monkeypatch.setenv("UMBRELLA_SALES_DB_URL", f"sqlite:///{db}")
    monkeypatch.setenv("UMBRELLA_TODAY", TODAY)
    files, most = {}, {}
    with FakeOpenMeteo(now=NOW, coverage_start=ARCHIVED) as api:
        for per_partition in (1, 250):
            monkeypatch.setattr(database, "CHUNK_ROWS", 100 if per_partition == 1 else 10**6)
            data = {"source": "csv", "sales": "sql", "stores": str(stores)}
            data |= {"weather": "open-meteo", "weather_forecasts": "open-meteo"}
            params = make_params(
                {
                    "data": data,
                    "open_meteo": {**api.urls, "cache": str(tmp_path / f"cache{per_partition}")},
                    "engine": {"stores_per_partition": per_partition},
                }
            )
            dest = tmp_path / f"raw{per_partition}"
            dest.mkdir()
            before = len(api.calls)
            pull(params, dest)
            files[per_partition] = {p.name: p.read_bytes() for p in sorted(dest.iterdir())}
            most[per_partition] = max(c.locations for c in api.calls[before:])
    assert most == {1: 1, 250: 3}  # a call's locations: one group's stores at most
    assert sorted(files[1]) == ["sales.csv", "stores.csv", "weather.csv", "weather_forecasts.csv"]
    assert files[1] == files[250]
