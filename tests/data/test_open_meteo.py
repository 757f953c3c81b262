"""The Open-Meteo connector against a faithful fake server (tests/support/fake_open_meteo.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import shutil
import socket
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_params, set_params
from support.fake_open_meteo import FakeOpenMeteo, value
from support.inprocess import umbrella_in

from umbrella.core.errors import DataError
from umbrella.core.params import RETRY_WAITS_MAX_S, OpenMeteo
from umbrella.data.open_meteo import pull_forecasts, pull_weather
from umbrella.data.open_meteo.client import Endpoint, get_json

UTC = dt.UTC
SUMMER = dt.datetime(2024, 7, 1, 12, tzinfo=UTC)  # the fake's "now": summer offsets
WINTER = dt.datetime(2025, 1, 15, 12, tzinfo=UTC)
TODAY = dt.date(2025, 6, 1)  # long after every pulled range: every chunk is final
STORES = pd.DataFrame(
    {
        "store": ["berlin", "new-york", "tokyo"],
        "latitude": [52.52, 40.71, 35.68],
        "longitude": [13.41, -74.01, 139.69],
        "timezone": ["Europe/Berlin", "America/New_York", None],  # tokyo: auto
    }
)
AUTO = {(35.68, 139.69): "Asia/Tokyo"}
ZONES = {"berlin": "Europe/Berlin", "new-york": "America/New_York", "tokyo": "Asia/Tokyo"}


def config(api: FakeOpenMeteo | None = None, **overrides: object) -> OpenMeteo:
    block = {"timeout_s": 5, "retries": 2, "backoff_s": 0.01, **overrides}
    if api is not None:
        block |= api.urls
    return make_params({"open_meteo": block}).open_meteo


def hours_of(day: dt.date, zone: str) -> np.ndarray:
    """UTC epoch seconds of the hours of a real local day (23, 24 or 25 of them)."""
    tz = ZoneInfo(zone)
    first = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    nxt = day + dt.timedelta(days=1)
    last = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()
    return np.arange(int(first), int(last), 3600, dtype=np.int64)


def store_row(store: str) -> pd.Series:
    return STORES.set_index("store").loc[store]


def observed_like(table: pd.DataFrame) -> pd.DataFrame:
    """Recompute pull_weather's answer independently, with zoneinfo."""
    rows = []
    for _, row in table.iterrows():
        s = store_row(row["store"])
        secs = hours_of(dt.date.fromisoformat(row["date"]), ZONES[row["store"]])
        rain = value("precipitation", s.latitude, s.longitude, secs)
        temp = value("temperature_2m", s.latitude, s.longitude, secs)
        wind = value("wind_speed_10m", s.latitude, s.longitude, secs)
        rows.append((rain.sum(), temp.max(), temp.min(), wind.max(), len(secs)))
    return pd.DataFrame(rows, columns=["rain_mm", "temp_max_c", "temp_min_c", "wind", "hours"])


# -- time zones, DST, local days ---------------------------------------------------------
def test_weather_is_aggregated_on_each_stores_real_local_days(tmp_path: Path) -> None:
    # The fake answers with the summer offsets (like the real API pulled in July): the days
    # before the DST changes (US 10 March, EU 31 March) are off by an hour on its clock.
    start, end = dt.date(2024, 3, 5), dt.date(2024, 4, 3)
    with FakeOpenMeteo(now=SUMMER, auto_timezones=AUTO) as api:
        got = pull_weather(STORES, start, end, config(api), tmp_path, None, today=TODAY)
    assert list(got.columns) == [
        "date", "store", "rain_mm", "temp_max_c", "temp_min_c", "wind", "weather_source"
    ]  # fmt: skip
    assert set(got["weather_source"]) == {"archive"}
    assert len(got) == 3 * 30 and got["date"].is_monotonic_increasing is False
    assert got.equals(got.sort_values(["store", "date"], ignore_index=True))
    want = observed_like(got)
    for column in ["rain_mm", "temp_max_c", "temp_min_c", "wind"]:
        np.testing.assert_allclose(got[column], want[column], atol=1e-9, err_msg=column)
    berlin_dst = (got["store"] == "berlin") & (got["date"] == "2024-03-31")
    assert want.loc[berlin_dst.to_numpy(), "hours"].item() == 23
    ny_dst = (got["store"] == "new-york") & (got["date"] == "2024-03-10")
    assert want.loc[ny_dst.to_numpy(), "hours"].item() == 23


def test_forecasts_respect_the_timing_rule_and_the_lead_suffix(tmp_path: Path) -> None:
    # Autumn: Berlin falls back on 27 October (a 25-hour day), New York on 3 November.
    start, end, horizon = dt.date(2024, 10, 24), dt.date(2024, 11, 6), 3
    observed = pd.DataFrame(columns=["date", "store", "rain_mm", "temp_max_c"])
    with FakeOpenMeteo(now=WINTER, auto_timezones=AUTO) as api:
        got = pull_forecasts(
            STORES, start, end, horizon, config(api), tmp_path, None, observed, today=TODAY
        )
    assert list(got.columns) == [
        "issued",
        "date",
        "store",
        "rain_mm",
        "temp_max_c",
        "forecast_source",
    ]
    assert set(got["forecast_source"]) == {"issued"}
    days = (end - start).days + 1 + horizon
    # Issued up to `end` only: no row issued after the last day asked for.
    assert len(got) == 3 * (days * horizon - horizon * (horizon - 1) // 2)
    assert got["issued"].max() == end.isoformat()
    lead = (pd.to_datetime(got["date"]) - pd.to_datetime(got["issued"])).dt.days
    assert sorted(lead.unique()) == [1, 2, 3]
    assert got["date"].min() == start.isoformat()
    assert got["date"].max() == (end + dt.timedelta(days=horizon)).isoformat()
    for row, h in zip(got.itertuples(), lead, strict=True):
        s, zone = store_row(row.store), ZONES[row.store]
        target = dt.date.fromisoformat(row.date)
        secs = hours_of(target, zone)
        # The rule itself: a `_previous_dayN` value at X comes from a run at or before
        # X - N days; with N = h that is never after the end of the issued day, local time.
        issued = dt.date.fromisoformat(row.issued)
        end_of_issued = hours_of(issued, zone)[-1] + 3600
        assert secs.max() - h * 86400 <= end_of_issued
        # The values: exactly the suffix-h hours of the real local day (the fake encodes
        # N: temperature + 0.5 N, rain + 0.1 N an hour), so a wrong suffix or a day shifted
        # by the fixed offset fails here.
        rain = value(f"precipitation_previous_day{h}", s.latitude, s.longitude, secs).sum()
        temp = value(f"temperature_2m_previous_day{h}", s.latitude, s.longitude, secs).max()
        assert row.rain_mm == pytest.approx(rain, abs=1e-9), (row, h)
        assert row.temp_max_c == pytest.approx(temp, abs=1e-9), (row, h)
        wrong = value(f"temperature_2m_previous_day{h - 1}", s.latitude, s.longitude, secs).max()
        assert row.temp_max_c - wrong == pytest.approx(0.5)
    # A 25-hour day was aggregated over its 25 hours.
    assert len(hours_of(dt.date(2024, 10, 27), "Europe/Berlin")) == 25


def test_horizon_above_the_archived_leads_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"leads 1\.\.7"):
        pull_forecasts(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 3, 2), 8, config(), tmp_path, None,
            pd.DataFrame(), today=TODAY,
        )  # fmt: skip


# -- several locations, chunks, cache --------------------------------------------------
def many_stores(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "store": [f"s{i:02d}" for i in range(n)],
            "latitude": [40.0 + i for i in range(n)],
            "longitude": [-3.0 + i for i in range(n)],
            "timezone": ["Europe/Madrid"] * n,
        }
    )


def test_several_locations_per_call_in_calendar_chunks(tmp_path: Path) -> None:
    stores = many_stores(5)
    # 20 Dec .. 10 Jan meets two calendar-year chunks: 2 chunks x ceil(5 / 2) calls.
    start, end = dt.date(2023, 12, 20), dt.date(2024, 1, 10)
    with FakeOpenMeteo(now=WINTER) as api:
        got = pull_weather(
            stores, start, end, config(api, locations_per_call=2), tmp_path, None, today=TODAY
        )
    assert len(api.calls) == 6
    assert sorted(c.locations for c in api.calls) == [1, 1, 2, 2, 2, 2]
    assert {(c.params["start_date"], c.params["end_date"]) for c in api.calls} == {
        ("2023-12-19", "2024-01-01"),
        ("2023-12-31", "2024-01-11"),
    }
    # Each store got its own location's answer (the array is in request order).
    for i in range(5):
        rows = got[got["store"] == f"s{i:02d}"]
        secs = hours_of(dt.date(2024, 1, 1), "Europe/Madrid")
        want = value("precipitation", 40.0 + i, -3.0 + i, secs).sum()
        assert rows.loc[rows["date"] == "2024-01-01", "rain_mm"].item() == pytest.approx(want)


def test_second_pull_makes_no_call_and_extension_fetches_only_the_new_chunk(tmp_path: Path) -> None:
    observed = pd.DataFrame(columns=["date", "store", "rain_mm", "temp_max_c"])
    with FakeOpenMeteo(now=WINTER, auto_timezones=AUTO) as api:
        cfg = config(api, days_per_call=31)
        args = (STORES, dt.date(2024, 2, 1), dt.date(2024, 3, 31))
        first = pull_weather(*args, cfg, tmp_path, None, today=TODAY)
        forecasts = pull_forecasts(*args, 2, cfg, tmp_path, None, observed, today=TODAY)
        made = len(api.calls)
        assert made > 0
        assert pull_weather(*args, cfg, tmp_path, None, today=TODAY).equals(first)
        assert pull_forecasts(*args, 2, cfg, tmp_path, None, observed, today=TODAY).equals(
            forecasts
        )
        assert len(api.calls) == made  # all from the cache
        # One more month: 31-day windows from 1 January run 3 March..2 April, 3 April..3 May:
        # only the window the range now ends in and the one it used to cut are fetched.
        pull_weather(
            STORES, dt.date(2024, 2, 1), dt.date(2024, 4, 30), cfg, tmp_path, None, today=TODAY
        )
        new = api.calls[made:]
        assert {c.params["start_date"] for c in new} == {"2024-03-02", "2024-04-02"}
        assert len(new) == 2


def test_recent_chunks_are_not_cached(tmp_path: Path) -> None:
    today = dt.date(2024, 4, 5)
    now = dt.datetime(2024, 4, 5, 6, tzinfo=UTC)
    with FakeOpenMeteo(now=now, auto_timezones=AUTO) as api:
        cfg = config(api, days_per_call=31)
        got = pull_weather(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 4, 4), cfg, tmp_path, None, today=today
        )
        made = [c.params["start_date"] for c in api.calls if c.path == "/v1/archive"]
        pull_weather(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 4, 4), cfg, tmp_path, None, today=today
        )
    archive = [c.params["start_date"] for c in api.calls if c.path == "/v1/archive"]
    # 31-day windows from 1 January: 1 Feb..2 Mar, 3 Mar..2 Apr, 3 Apr..3 May. The first
    # (requested to 3 March) is final and cached; the two others end within 10 days of
    # today and are fetched again.
    assert len(made) == 3
    assert archive[len(made) :] == ["2024-03-02", "2024-04-02"]
    assert got.loc[got["date"] <= "2024-03-29", "rain_mm"].notna().all()
    assert (got.loc[got["date"] <= "2024-03-29", "weather_source"] == "archive").all()


def test_days_the_archive_has_not_published_are_estimated_and_flagged(tmp_path: Path) -> None:
    """The archive nulls its last ~5 days: they come from the Forecast API's values of those
    days (past_days), flagged; today is not over and stays NaN."""
    today = dt.date(2024, 4, 5)
    now = dt.datetime(2024, 4, 5, 6, tzinfo=UTC)
    with FakeOpenMeteo(now=now, auto_timezones=AUTO) as api:
        got = pull_weather(
            STORES, dt.date(2024, 3, 20), today, config(api), tmp_path, None, today=today
        )
    latest = [c for c in api.calls if c.params.get("hourly", "").startswith("precipitation")]
    assert {c.path for c in api.calls} == {"/v1/archive", "/api/v1/forecast"}
    assert all(c.params["end_date"] <= "2024-04-05" for c in latest)  # nothing past today
    estimated = got[got["weather_source"] == "forecast"]
    assert set(estimated["date"]) == {
        f"2024-{d}" for d in ("03-31", "04-01", "04-02", "04-03", "04-04")
    }
    past = got[got["date"] < today.isoformat()]
    assert past["rain_mm"].notna().all()
    want = observed_like(past)  # the fake's latest run at past hours is the truth
    np.testing.assert_allclose(past["rain_mm"], want["rain_mm"], atol=1e-9)
    assert got.loc[got["date"] == today.isoformat(), "rain_mm"].isna().all()


def test_an_interrupted_pull_resumes_where_it_stopped(tmp_path: Path) -> None:
    stores = many_stores(6)
    start, end = dt.date(2023, 1, 1), dt.date(2024, 6, 30)
    with FakeOpenMeteo(now=WINTER, fail_from=3) as api:
        cfg = config(api, locations_per_call=2, retries=0)
        with pytest.raises(DataError, match="HTTP 503"):
            pull_weather(stores, start, end, cfg, tmp_path, None, today=TODAY)
        assert [c.status for c in api.calls] == [200, 200, 503]
        api.fail_from = None
        pull_weather(stores, start, end, cfg, tmp_path, None, today=TODAY)
    # 2 chunks x 3 calls = 6 in all: 2 were done before the outage, 4 remain.
    assert len(api.calls) == 3 + 4


def test_an_edited_cache_entry_is_dropped_and_fetched_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = (STORES.iloc[:1], dt.date(2024, 3, 1), dt.date(2024, 3, 10))
    with FakeOpenMeteo(now=WINTER) as api:
        first = pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        made = len(api.calls)
        (entry,) = tmp_path.rglob("*.json.gz")
        # Valid gzip JSON, its request intact: only the rain is changed, to 72 mm an hour.
        stored = json.loads(gzip.decompress(entry.read_bytes()))
        hourly = stored["response"]["hourly"]
        hourly["precipitation"] = [72.0] * len(hourly["precipitation"])
        entry.write_bytes(gzip.compress(json.dumps(stored).encode()))
        with caplog.at_level(logging.WARNING, logger="umbrella.data.open_meteo"):
            second = pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        assert len(api.calls) == made + 1  # dropped and fetched again
        assert "does not match its checksum" in caplog.text
        assert second.equals(first)
        pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        assert len(api.calls) == made + 1  # the entry was rewritten, intact


def test_an_entry_filed_under_another_request_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = (STORES.iloc[:1], dt.date(2024, 3, 1), dt.date(2024, 3, 10))
    with FakeOpenMeteo(now=WINTER) as api:
        pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        (entry,) = tmp_path.rglob("*.json.gz")
        stored = json.loads(gzip.decompress(entry.read_bytes()))
        stored["request"]["latitude"] = 1.0  # another place's answer under this name
        entry.write_bytes(gzip.compress(json.dumps(stored).encode()))
        with caplog.at_level(logging.WARNING, logger="umbrella.data.open_meteo"):
            pull_weather(*args, config(api), tmp_path, None, today=TODAY)
    assert len(api.calls) == 2 and "does not answer the request" in caplog.text


def test_an_answer_with_nulls_for_finished_days_is_not_cached(tmp_path: Path) -> None:
    """A passing fault (nulls in a finished chunk) is not kept once the service recovered."""
    args = (STORES.iloc[:1], dt.date(2024, 3, 1), dt.date(2024, 3, 10))
    hole = {dt.datetime(2024, 3, 5, h, tzinfo=UTC) for h in range(24)}
    with FakeOpenMeteo(now=WINTER, null_hours=hole) as api:
        bad = pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        assert bad["rain_mm"].isna().any()
        assert not list(tmp_path.rglob("*.json.gz"))
        api.null_hours = set()  # the service recovered
        good = pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        assert len(api.calls) == 2 and good["rain_mm"].notna().all()
        pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        assert len(api.calls) == 2  # the complete answer was cached


def test_refresh_fetches_every_chunk_again(tmp_path: Path) -> None:
    args = (STORES.iloc[:1], dt.date(2024, 3, 1), dt.date(2024, 3, 10))
    with FakeOpenMeteo(now=WINTER) as api:
        pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        pull_weather(*args, config(api), tmp_path, None, today=TODAY)
        assert len(api.calls) == 1
        pull_weather(*args, config(api, refresh=True), tmp_path, None, today=TODAY)
        assert len(api.calls) == 2


def test_umbrella_pull_refresh_fetches_again(tmp_path: Path) -> None:
    """`umbrella pull` twice: the second from the cache; `umbrella pull --refresh`: fetched."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    STORES.iloc[:1].to_csv(tmp_path / "stores.csv", index=False)
    days = pd.date_range("2024-03-01", "2024-03-10").strftime("%Y-%m-%d")
    pd.DataFrame({"date": days, "store": "berlin", "units": 3}).to_csv(
        tmp_path / "sales.csv", index=False
    )
    data = {"source": "csv", "sales": "sales.csv", "stores": "stores.csv", "weather": "open-meteo"}
    with FakeOpenMeteo(now=WINTER) as api:
        block = {**api.urls, "cache": str(tmp_path / "cache"), "backoff_s": 0.0}
        set_params(tmp_path, {"data": data, "open_meteo": block})
        runs = []
        for args in (["pull"], ["pull"], ["pull", "--refresh"]):
            result = umbrella_in(tmp_path, args)
            assert (result.code, result.error) == (0, None), result.stderr
            runs.append(len(api.calls))
    assert runs == [1, 1, 2]
    assert (tmp_path / "data" / "raw" / "weather.csv").exists()


# -- nulls -----------------------------------------------------------------------------
def test_null_hours_make_that_day_nan(tmp_path: Path) -> None:
    hole = dt.datetime(
        2024, 3, 12, 3, tzinfo=UTC
    )  # 04:00 in Berlin, 22:00 the day before in New York
    with FakeOpenMeteo(now=WINTER, auto_timezones=AUTO, null_hours={hole}) as api:
        got = pull_weather(
            STORES,
            dt.date(2024, 3, 10),
            dt.date(2024, 3, 13),
            config(api),
            tmp_path,
            None,
            today=TODAY,
        )
    nan = got.loc[got["rain_mm"].isna(), ["store", "date"]].values.tolist()
    assert nan == [["berlin", "2024-03-12"], ["new-york", "2024-03-11"], ["tokyo", "2024-03-12"]]
    assert got["temp_max_c"].isna().sum() == 3


# -- fallback before the forecast archive's coverage --------------------------------------
def test_days_before_coverage_fall_back_on_observed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = STORES.iloc[:1]
    start, end, horizon = dt.date(2024, 1, 5), dt.date(2024, 1, 20), 2
    coverage = dt.datetime(2024, 1, 10, tzinfo=UTC)  # midnight UTC = 01:00 in Berlin
    with FakeOpenMeteo(now=WINTER, coverage_start=coverage) as api:
        cfg = config(api)
        observed = pull_weather(stores, start, end, cfg, tmp_path, None, today=TODAY)
        with caplog.at_level(logging.WARNING, logger="umbrella.data.open_meteo"):
            got = pull_forecasts(
                stores, start, end, horizon, cfg, tmp_path, None, observed, today=TODAY
            )
    fell_back = got[got["forecast_source"] == "observed"]
    # Berlin's 10 January starts at 23:00 UTC on the 9th, before coverage: incomplete.
    assert sorted(fell_back["date"].unique()) == [f"2024-01-{d:02d}" for d in range(5, 11)]
    assert (got.loc[got["date"] >= "2024-01-11", "forecast_source"] == "issued").all()
    merged = fell_back.merge(observed, on=["date", "store"], suffixes=("", "_obs"))
    assert (merged["rain_mm"] == merged["rain_mm_obs"]).all()
    assert (merged["temp_max_c"] == merged["temp_max_c_obs"]).all()
    assert len(got) == 2 * ((end - start).days + 1 + horizon) - 1  # none issued after end
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "12 of 35" in warnings[0] and "2024-01-11" in warnings[0] and "flatter" in warnings[0]


def test_days_past_what_the_api_returns_are_left_out(tmp_path: Path) -> None:
    now = dt.datetime(2024, 3, 20, 12, tzinfo=UTC)
    observed = pd.DataFrame(columns=["date", "store", "rain_mm", "temp_max_c"])
    with FakeOpenMeteo(now=now) as api:
        got = pull_forecasts(
            STORES.iloc[:1], dt.date(2024, 3, 10), dt.date(2024, 3, 20), 2, config(api),
            tmp_path, None, observed, today=now.date(),
        )  # fmt: skip
    issued = pd.to_datetime(got["issued"])
    # A forecast issued on day t needs a run by the end of t: none from after `now`.
    assert issued.max() <= pd.Timestamp("2024-03-20")
    assert got["rain_mm"].notna().all()


# -- the days ahead: up to the present, never past it --------------------------------------
FRESH_TODAY = dt.date(2024, 10, 1)
FRESH_NOW = dt.datetime(2024, 10, 1, 6, tzinfo=UTC)  # the service's clock: this morning


def test_sales_through_yesterday_get_the_latest_forecast_for_the_days_ahead(
    tmp_path: Path,
) -> None:
    """The forecast issued yesterday (the orders' origin) for days 1..7 after it comes
    from the Forecast API's latest run; the earlier ones from the Previous Runs API."""
    yesterday = FRESH_TODAY - dt.timedelta(days=1)
    observed = pd.DataFrame(columns=["date", "store", "rain_mm", "temp_max_c"])
    with FakeOpenMeteo(now=FRESH_NOW, auto_timezones=AUTO) as api:
        got = pull_forecasts(
            STORES, dt.date(2024, 9, 20), yesterday, 7, config(api), tmp_path, None,
            observed, today=FRESH_TODAY,
        )  # fmt: skip
    assert got["issued"].max() == yesterday.isoformat()
    ahead = got[got["issued"] == yesterday.isoformat()]
    assert len(ahead) == 3 * 7 and ahead["rain_mm"].notna().all()
    assert sorted(ahead["date"].unique()) == [
        (FRESH_TODAY + dt.timedelta(days=d)).isoformat() for d in range(7)
    ]
    for row in ahead.itertuples():
        s, zone = store_row(row.store), ZONES[row.store]
        secs = hours_of(dt.date.fromisoformat(row.date), zone)
        # The latest run: the plain variable (no `_previous_dayN` encoding).
        temp = value("temperature_2m", s.latitude, s.longitude, secs).max()
        assert row.temp_max_c == pytest.approx(temp, abs=1e-9), row
    forecast_calls = [c for c in api.calls if c.path == "/api/v1/forecast"]
    assert forecast_calls and all(
        c.params["end_date"] <= (FRESH_TODAY + dt.timedelta(days=15)).isoformat()
        for c in forecast_calls
    )


def test_a_service_answering_from_runs_after_today_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A service whose clock is a week ahead (a replay of a past day against a live
    service) serves values from runs that have not happened yet here: not one is taken."""
    ahead = FRESH_NOW + dt.timedelta(days=7)
    yesterday = FRESH_TODAY - dt.timedelta(days=1)
    with (
        caplog.at_level(logging.WARNING, logger="umbrella.data.open_meteo"),
        FakeOpenMeteo(now=ahead, auto_timezones=AUTO) as api,
    ):
        weather = pull_weather(
            STORES, dt.date(2024, 9, 1), FRESH_TODAY, config(api), tmp_path, None,
            today=FRESH_TODAY,
        )  # fmt: skip
        got = pull_forecasts(
            STORES, dt.date(2024, 9, 20), FRESH_TODAY, 7, config(api), tmp_path, None,
            weather, today=FRESH_TODAY,
        )  # fmt: skip
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("runs after today (2024-10-01) ignored" in w for w in warnings), warnings
    assert any("days from today (2024-10-01) on ignored" in w for w in warnings), warnings
    assert any("forecasts are issued up to yesterday" in w for w in warnings), warnings
    assert weather.loc[weather["date"] == FRESH_TODAY.isoformat(), "rain_mm"].isna().all()
    assert got["issued"].max() == yesterday.isoformat()  # nothing issued today or later
    archived = got[got["issued"] < yesterday.isoformat()]
    for row in archived.itertuples():  # every archived value from a run by its issue day
        h = (dt.date.fromisoformat(row.date) - dt.date.fromisoformat(row.issued)).days
        s, zone = store_row(row.store), ZONES[row.store]
        secs = hours_of(dt.date.fromisoformat(row.date), zone)
        rain = value(f"precipitation_previous_day{h}", s.latitude, s.longitude, secs).sum()
        assert row.rain_mm == pytest.approx(rain, abs=1e-9), row


# -- HTTP failures -----------------------------------------------------------------------
def test_429_then_success_honours_retry_after(tmp_path: Path) -> None:
    with FakeOpenMeteo(now=WINTER, auto_timezones=AUTO, fail_first=2, retry_after="0.3") as api:
        began = time.monotonic()
        got = pull_weather(
            STORES,
            dt.date(2024, 3, 1),
            dt.date(2024, 3, 3),
            config(api, backoff_s=0),
            tmp_path,
            None,
            today=TODAY,
        )
        waited = time.monotonic() - began
    assert [c.status for c in api.calls] == [429, 429, 200]
    assert waited >= 0.55 and got["rain_mm"].notna().all()


def test_retry_after_waits_add_up_to_at_most_the_bound() -> None:
    """Ten Retry-After: 120 answers would wait 1,200 s: the waits stop at RETRY_WAITS_MAX_S."""
    waits: list[float] = []
    with (
        FakeOpenMeteo(now=WINTER, fail_first=100, retry_after="120") as api,
        pytest.raises(DataError, match=r"HTTP 429.*\(11 tries\)"),
    ):
        get_json(
            Endpoint("archive", api.archive_url),
            {"latitude": "47.3", "longitude": "11.4"},
            config(api, retries=10, backoff_s=0.5),
            None,
            sleep=waits.append,
        )
    assert sum(waits) == RETRY_WAITS_MAX_S and len(waits) == 10, waits


def test_5xx_then_success(tmp_path: Path) -> None:
    with FakeOpenMeteo(now=WINTER, auto_timezones=AUTO, fail_first=1, fail_status=502) as api:
        got = pull_weather(
            STORES,
            dt.date(2024, 3, 1),
            dt.date(2024, 3, 3),
            config(api),
            tmp_path,
            None,
            today=TODAY,
        )
    assert [c.status for c in api.calls] == [502, 200]
    assert len(got) == 9


def test_retries_exhausted_on_5xx(tmp_path: Path) -> None:
    exhausted = r"^open-meteo archive \(.*\): HTTP 503 \(3 tries\)$"
    with (
        FakeOpenMeteo(now=WINTER, fail_first=99, fail_status=503) as api,
        pytest.raises(DataError, match=exhausted),
    ):
        pull_weather(
            STORES,
            dt.date(2024, 3, 1),
            dt.date(2024, 3, 3),
            config(api),
            tmp_path,
            None,
            today=TODAY,
        )
    assert len(api.calls) == 3


def test_400_quotes_the_apis_reason_and_the_endpoint(tmp_path: Path) -> None:
    stores = STORES.assign(timezone=["Europe/Berlin", "Mars/Olympus_Mons", "Asia/Tokyo"])
    with FakeOpenMeteo(now=WINTER) as api, pytest.raises(DataError) as err:
        pull_weather(
            stores,
            dt.date(2024, 3, 1),
            dt.date(2024, 3, 3),
            config(api),
            tmp_path,
            "KEY-123",
            today=TODAY,
        )
    message = str(err.value)
    said = 'refused the request with HTTP 400: "Invalid timezone"'
    assert message == f"open-meteo archive ({api.archive_url}) {said}"
    assert len(api.calls) == 1  # a 400 is not retried


def test_an_error_in_an_http_200_quotes_the_apis_reason(tmp_path: Path) -> None:
    reason = "Daily API request limit exceeded. Please try again tomorrow."
    error = {"error": True, "reason": reason}
    with (
        FakeOpenMeteo(now=WINTER, mutate=lambda path, body: error) as api,
        pytest.raises(DataError) as err,
    ):
        pull_weather(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 3, 3), config(api), tmp_path, None,
            today=TODAY,
        )  # fmt: skip
    assert (
        str(err.value)
        == f'open-meteo archive ({api.archive_url}) answered with an error: "{reason}"'
    )
    assert len(api.calls) == 1


@pytest.mark.slow
def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with FakeOpenMeteo(hang=True) as api:
        began = time.monotonic()
        timed_out = r"no answer within 0\.5 s \(timed out; see open_meteo\.timeout_s\) \(2 tries\)"
        with pytest.raises(DataError, match=timed_out):
            pull_weather(
                STORES,
                dt.date(2024, 3, 1),
                dt.date(2024, 3, 3),
                config(api, timeout_s=0.5, retries=1, backoff_s=0),
                tmp_path,
                None,
                today=TODAY,
            )
        assert time.monotonic() - began < 3


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/archive"
    cfg = config(archive_url=url, retries=1, backoff_s=0)
    with pytest.raises(DataError, match=r"connection refused \(2 tries\)"):
        pull_weather(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 3, 3), cfg, tmp_path, None, today=TODAY
        )


# -- API key -----------------------------------------------------------------------------
def test_api_key_is_sent_but_never_stored_nor_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "SECRET-KEY-42"
    observed = pd.DataFrame(columns=["date", "store", "rain_mm", "temp_max_c"])
    with (
        caplog.at_level(logging.DEBUG),
        FakeOpenMeteo(now=WINTER, auto_timezones=AUTO, fail_first=1, fail_status=500) as api,
    ):
        cfg = config(api)
        pull_weather(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 3, 3), cfg, tmp_path, key, today=TODAY
        )
        pull_forecasts(
            STORES,
            dt.date(2024, 3, 1),
            dt.date(2024, 3, 3),
            2,
            cfg,
            tmp_path,
            key,
            observed,
            today=TODAY,
        )
        api.fail_first, api.fail_status = 99, 503
        with pytest.raises(DataError) as err:
            pull_weather(
                STORES, dt.date(2023, 3, 1), dt.date(2023, 3, 3), cfg, tmp_path, key, today=TODAY
            )
    assert all(c.params.get("apikey") == key for c in api.calls)
    files = list(tmp_path.rglob("*.json.gz"))
    assert files and not any(key.encode() in gzip.decompress(f.read_bytes()) for f in files)
    assert key not in str(err.value) and key not in caplog.text


# -- the fake answers like the real API ----------------------------------------------------
def test_fake_server_shapes_and_errors() -> None:
    import json
    import urllib.error
    import urllib.request

    def get(url: str) -> tuple[int, object]:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    with FakeOpenMeteo(now=SUMMER) as api:
        q = "latitude=52.52&longitude=13.41&start_date=2024-01-01&end_date=2024-01-02"
        q += "&timezone=Europe/Berlin"
        status, one = get(f"{api.archive_url}?{q}&hourly=temperature_2m&daily=precipitation_sum")
        assert status == 200 and isinstance(one, dict)
        assert one["utc_offset_seconds"] == 7200  # the summer offset, in January: like the API
        assert one["hourly"]["time"][:2] == ["2024-01-01T00:00", "2024-01-01T01:00"]
        assert len(one["hourly"]["time"]) == 48 and one["daily"]["time"] == [
            "2024-01-01",
            "2024-01-02",
        ]
        assert one["hourly_units"] == {"time": "iso8601", "temperature_2m": "°C"}
        status, two = get(
            f"{api.previous_runs_url}?latitude=1,2&longitude=3,4&start_date=2024-01-01&end_date=2024-01-01&hourly=precipitation_previous_day7"
        )
        assert status == 200 and isinstance(two, list) and len(two) == 2
        for bad, reason in [
            (
                "latitude=91&longitude=0&start_date=2024-01-01&end_date=2024-01-01&hourly=temperature_2m",
                "Latitude must be in range of -90 to 90°. Given: 91.0.",
            ),
            (
                "latitude=1&longitude=0&start_date=2024-01-02&end_date=2024-01-01&hourly=temperature_2m",
                "End-date must be larger or equals than start-date",
            ),
            (
                "latitude=1&longitude=0&start_date=2024-01-01&end_date=2024-01-01&hourly=temperature_2m_previous_day1",
                "Cannot initialize ArchiveVariable from invalid String value "
                "temperature_2m_previous_day1.",
            ),
            (
                "latitude=1&longitude=0&start_date=2024-01-01&end_date=2024-01-01&hourly=temperature_2m&timezone=Nowhere/City",
                "Invalid timezone",
            ),
        ]:
            assert get(f"{api.archive_url}?{bad}") == (400, {"error": True, "reason": reason})
        status, body = get(
            f"{api.previous_runs_url}?latitude=1&longitude=0&start_date=2024-01-01&end_date=2024-01-01&hourly=precipitation_previous_day8"
        )
        assert status == 400 and "precipitation_previous_day8" in body["reason"]
        # The Forecast API: 16 days from today (2024-07-01), nothing further; the archive
        # stops at today.
        base = "latitude=1&longitude=0&hourly=precipitation"
        status, body = get(f"{api.forecast_url}?{base}&start_date=2024-07-01&end_date=2024-07-16")
        assert status == 200 and body["hourly"]["precipitation"][-1] is not None
        status, body = get(f"{api.forecast_url}?{base}&start_date=2024-07-01&end_date=2024-07-17")
        assert status == 400 and "out of allowed range" in body["reason"]
        status, body = get(f"{api.archive_url}?{base}&start_date=2024-06-30&end_date=2024-07-02")
        assert status == 400 and "end_date" in body["reason"]
