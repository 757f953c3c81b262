"""umbrella.core.freshness: the one "today", and orders refused for days already past."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import pytest

from umbrella.core.errors import DataError
from umbrella.core.freshness import TODAY_ENV, check_order_days, today

DAYS = pd.Series(pd.date_range("2024-10-01", periods=7).strftime("%Y-%m-%d"))


def test_today_is_utc_or_the_injected_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TODAY_ENV, raising=False)
    assert today() == dt.datetime.now(dt.UTC).date()
    monkeypatch.setenv(TODAY_ENV, "2024-10-01")
    assert today() == dt.date(2024, 10, 1)
    monkeypatch.setenv(TODAY_ENV, "1 October")
    with pytest.raises(DataError, match=r"UMBRELLA_TODAY: expected an ISO date"):
        today()


def test_orders_for_days_already_past_are_refused_with_the_dates() -> None:
    with pytest.raises(DataError) as err:
        check_order_days(DAYS, refuse=True, warn=True, on=dt.date(2024, 10, 3))
    message = str(err.value)
    assert "orders for 2 day(s) already past on 2024-10-03: 2024-10-01, 2024-10-02" in message
    assert "The sales end on 2024-09-30" in message and "through yesterday (2024-10-02" in message


def test_fresh_sales_order_without_a_word_but_the_age(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="umbrella.core.freshness"):
        check_order_days(DAYS, refuse=True, warn=True, on=dt.date(2024, 10, 1))
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "orders for 2024-10-01..2024-10-07; the sales end on 2024-09-30, 1 day(s) before "
        "today (2024-10-01)"
    )


def test_past_days_are_a_warning_when_not_refused(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="umbrella.core.freshness"):
        check_order_days(DAYS, refuse=False, warn=True, on=dt.date(2024, 10, 9))
        check_order_days(DAYS, refuse=False, warn=False, on=dt.date(2024, 10, 9))
    levels = [r.levelno for r in caplog.records if "already past" in r.getMessage()]
    assert levels == [logging.WARNING, logging.INFO]
