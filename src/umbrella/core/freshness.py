"""What "today" is, and whether orders come in time for it.

`today()` is the one place the date is read: the UTC date, or UMBRELLA_TODAY (an ISO date)
for tests and replays of a past day. The Open-Meteo pull asks for nothing after it, and
`check_order_days` refuses orders for days already past: an order for a day that has begun
or ended helps no store.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

import pandas as pd

from umbrella.core.errors import DataError

log = logging.getLogger(__name__)
TODAY_ENV = "UMBRELLA_TODAY"  # for tests and replays only: the date the run pretends it is


def today() -> dt.date:
    """The UTC date, or the ISO date in UMBRELLA_TODAY."""
    value = os.environ.get(TODAY_ENV, "").strip()
    if not value:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DataError(
            f"environment variable {TODAY_ENV}: expected an ISO date (YYYY-MM-DD), got {value!r}"
        ) from None


def check_order_days(days: pd.Series, refuse: bool, warn: bool, on: dt.date | None = None) -> None:
    """Log how old the data is; about orders for days before today, raise DataError
    (`refuse`), warn (`warn`) or only log.

    `days` are the orders' dates; the data's last day (the origin) is the day before the
    first of them.
    """
    if days.empty:
        return
    on = on or today()
    dates = pd.to_datetime(days).dt.date
    first, last = min(dates), max(dates)
    origin = first - dt.timedelta(days=1)
    log.info(
        "orders for %s..%s; the sales end on %s, %d day(s) before today (%s)",
        first,
        last,
        origin,
        (on - origin).days,
        on,
    )
    past = sorted({d for d in dates if d < on})
    if not past:
        return
    shown = ", ".join(str(d) for d in past)
    yesterday = on - dt.timedelta(days=1)
    reason = (
        f"orders for {len(past)} day(s) already past on {on}: {shown}. The sales end on "
        f"{origin}; orders for the days ahead need sales through yesterday ({yesterday}; "
        'docs/own-data.md, "How fresh the sales must be")'
    )
    if refuse:
        raise DataError(f"predict: {reason}. {TODAY_ENV} replays a past day")
    log.log(logging.WARNING if warn else logging.INFO, "%s", reason)
