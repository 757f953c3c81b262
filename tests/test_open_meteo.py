"""The Open-Meteo connector against a faithful fake server (tests/fake_open_meteo.py): offline."""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import socket
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from umbrella.errors import DataError
from umbrella.open_meteo import pull_forecasts, pull_weather
from umbrella.params import OpenMeteo

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_params
from fake_open_meteo import FakeOpenMeteo, value

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
        block |= {"archive_url": api.archive_url, "previous_runs_url": api.previous_runs_url}
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
    assert list(got.columns) == ["date", "store", "rain_mm", "temp_max_c", "temp_min_c", "wind"]
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
    assert len(got) == 3 * days * horizon
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
        made = len(api.calls)
        pull_weather(
            STORES, dt.date(2024, 3, 1), dt.date(2024, 4, 4), cfg, tmp_path, None, today=today
        )
    # 31-day windows from 1 January: 1 Feb..2 Mar, 3 Mar..2 Apr, 3 Apr..3 May. The first
    # (requested to 3 March) is final and cached; the two others end within 10 days of
    # today and are fetched again.
    assert made == 3
    assert [c.params["start_date"] for c in api.calls[made:]] == ["2024-03-02", "2024-04-02"]
    # The archive's last 5 days are not published yet: NaN, not zero.
    assert got.loc[got["date"] >= "2024-04-01", "rain_mm"].isna().all()
    assert got.loc[got["date"] <= "2024-03-29", "rain_mm"].notna().all()


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
        with caplog.at_level(logging.WARNING, logger="umbrella.open_meteo"):
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
    assert len(got) == 2 * ((end - start).days + 1 + horizon)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "12 of 36" in warnings[0] and "2024-01-11" in warnings[0] and "flatter" in warnings[0]


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
