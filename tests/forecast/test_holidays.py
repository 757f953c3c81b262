"""Holidays per store (features.holidays): each store's own country from stores.csv, a
clear error where it has none, and a warning naming a store whose time zone disagrees."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_params, run, set_params, write_tables

from umbrella.core.errors import DataError, ParamsError
from umbrella.core.partitions import read_all
from umbrella.data.contract.rules import typed_table
from umbrella.data.contract.schemas import TABLES
from umbrella.forecast.features import build_features
from umbrella.forecast.holiday_calendar import holiday_flags, zone_country
from umbrella.ops.prediction import predict_orders

HORIZON = 7
START, DAYS = pd.Timestamp("2024-01-01"), 70
# The audited retailer: Tokyo, Kolkata, Brisbane and one store in the US.
STORES = pd.DataFrame(
    {
        "store": ["B", "K", "T", "U"],
        "latitude": [-27.47, 22.57, 35.68, 47.61],
        "longitude": [153.03, 88.36, 139.69, -122.33],
        "timezone": ["Australia/Brisbane", "Asia/Kolkata", "Asia/Tokyo", "America/Los_Angeles"],
        "country": ["AU", "IN", "JP", "US"],
        "subdivision": ["QLD", None, None, "WA"],
    }
)
EMPEROR = pd.Timestamp("2024-02-23")  # JP only
REPUBLIC = pd.Timestamp("2024-01-26")  # IN (Republic Day) and AU (Australia Day)
MLK = pd.Timestamp("2024-01-15")  # US only


def tables(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded daily sales of the four stores from START, and one weather for all."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=DAYS, freq="D")
    sales = pd.DataFrame(
        {
            "date": np.tile(dates, len(STORES)),
            "store": pd.array(np.repeat(STORES["store"], DAYS), dtype="string"),
            "units": rng.poisson(5, DAYS * len(STORES)).astype("int64"),
        }
    )
    weather = pd.DataFrame({"date": dates, "rain_mm": rng.exponential(2.0, DAYS).round(1)})
    return sales, weather


def flags(setting: str | None, stores: pd.DataFrame | None = STORES) -> pd.DataFrame:
    """The holiday flag of each store on each target day."""
    sales, weather = tables()
    cfg = make_params().features.model_copy(update={"holidays": setting})
    out = build_features(sales, weather, None, HORIZON, cfg, stores_table=stores)
    return out.pivot_table(index="date", columns="store", values="holiday", aggfunc="max")


def test_each_store_gets_its_own_countrys_holidays() -> None:
    own = flags("stores")
    assert own.loc[EMPEROR].to_dict() == {"B": 0, "K": 0, "T": 1, "U": 0}
    assert own.loc[REPUBLIC].to_dict() == {"B": 1, "K": 1, "T": 0, "U": 0}
    assert own.loc[MLK].to_dict() == {"B": 0, "K": 0, "T": 0, "U": 1}
    # Every day of every store: its own calendar (subdivision included), nothing else.
    for row in STORES.itertuples():
        subdivision = None if pd.isna(row.subdivision) else row.subdivision
        expected = holiday_flags(own.index.to_series(), row.country, subdivision)
        np.testing.assert_array_equal(own[row.store].to_numpy(), expected)


def test_one_country_gives_every_store_its_holidays_as_before() -> None:
    """features.holidays: US (the default) flags the US days for every store, stores.csv or
    not: the default data's features are unchanged."""
    us = flags("US")
    assert (flags("US", stores=None) == us).all(axis=None)
    expected = holiday_flags(us.index.to_series(), "US")
    for store in STORES["store"]:
        np.testing.assert_array_equal(us[store].to_numpy(), expected)
    assert us.loc[MLK].eq(1).all() and us.loc[EMPEROR].eq(0).all()


def test_a_store_whose_time_zone_is_in_another_country_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="umbrella.forecast.holiday_calendar"):
        flags("US")
    warned = [r.getMessage() for r in caplog.records]
    for store, zone, country in (("B", "Australia/Brisbane", "AU"), ("T", "Asia/Tokyo", "JP")):
        assert any(
            m.startswith(
                f"store {store}: time zone {zone} is in {country}, but it gets the holidays of US"
            )
            for m in warned
        ), warned
    assert len(warned) == 3 and not any(m.startswith("store U:") for m in warned)  # U: in the US

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="umbrella.forecast.holiday_calendar"):
        flags("stores")
    assert caplog.records == []  # each store's country matches its time zone

    moved = STORES.assign(country=["AU", "IN", "AU", "US"], subdivision=None)  # T in Australia?
    with caplog.at_level(logging.WARNING, logger="umbrella.forecast.holiday_calendar"):
        flags("stores", moved)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["store T"]


def test_a_store_without_a_country_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"column country: no country for the stores K, U \("):
        flags("stores", STORES.assign(country=["AU", None, "JP", None]))
    # The simulated retailer has no stores.csv.
    with pytest.raises(DataError, match=r"features\.holidays: stores needs a column country"):
        flags("stores", stores=None)
    with pytest.raises(DataError, match="needs a column country"):
        flags("stores", STORES.drop(columns=["country", "subdivision"]))


def test_an_unknown_subdivision_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"column subdivision: .* T \('XX' in JP\)"):
        flags("stores", STORES.assign(subdivision=["QLD", None, "XX", None]))


def test_predict_takes_each_stores_holidays_from_the_same_table() -> None:
    """predict_orders builds its rows with build_features, stores.csv included: a store
    without a country stops the orders as it stops the features stage."""
    sales, weather = tables()
    cfg = make_params().features.model_copy(update={"holidays": "stores"})
    business = make_params().business
    stores = STORES.assign(country=["AU", "IN", None, "US"])
    with pytest.raises(DataError, match="no country for the stores T "):
        predict_orders(object(), sales, weather, None, HORIZON, cfg, business, stores_table=stores)  # type: ignore[arg-type]


def test_the_country_of_a_time_zone() -> None:
    assert zone_country("Asia/Tokyo") == "JP"
    assert zone_country("Asia/Calcutta") == "IN"  # a link (backward) to Asia/Kolkata
    assert zone_country("US/Eastern") == "US"
    assert zone_country("Etc/UTC") is None and zone_country("UTC") is None


def test_stores_csv_country_must_be_known(tmp_path: Path) -> None:
    path = write_tables({"stores": STORES.assign(country=["AU", "IN", "Japan", "US"])}, tmp_path)
    _, problems = typed_table(path["stores"], TABLES["stores"], "stores.csv")
    assert [str(p) for p in problems] == [
        "stores.csv, column country: must be a country code the holidays package knows "
        "(e.g. JP, IN, AU) (1 row; lines 4; e.g. Japan)"
    ]


@pytest.mark.slow
def test_the_features_stage_reads_each_stores_country(repo_copy: Path, tmp_path: Path) -> None:
    """stores.csv (data.stores) reaches the features stage through validate's
    data/interim/stores, and `dvc repro` flags each store's own holidays."""
    sales, weather = tables()
    files = write_tables({"sales": sales, "weather": weather, "stores": STORES}, tmp_path)
    data = {"source": "csv", "weather_forecasts": None}
    set_params(
        repo_copy,
        {
            "data": data | {name: str(path) for name, path in files.items()},
            "features": {"holidays": "stores"},
            "validate": {"min_history_days": 28},
            "split": {"test_days": 21},
        },
    )
    run(["dvc", "repro", "features"], repo_copy)
    rows = read_all(repo_copy / "data" / "processed" / "features")
    days = rows.pivot_table(index="date", columns="store", values="holiday", aggfunc="max")
    assert days.loc[EMPEROR].to_dict() == {"B": 0, "K": 0, "T": 1, "U": 0}
    assert days.loc[REPUBLIC].to_dict() == {"B": 1, "K": 1, "T": 0, "U": 0}


def test_params_take_stores_as_a_setting() -> None:
    assert make_params({"features": {"holidays": "stores"}}).features.holidays == "stores"
    with pytest.raises(ParamsError, match="stores: each store's own"):
        make_params({"features": {"holidays": "Narnia"}})
