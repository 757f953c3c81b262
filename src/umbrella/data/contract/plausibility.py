"""Sales that are implausible for the store that reports them.

A store's robust level is the median of its days with sales (zero days left out, so that a
store closed on Sundays or a dry season does not make it 0), at least 1 umbrella. A day with
more than `max_level_ratio` times that level is a typo or an export error (1e9 for 9, a sum
over stores, cents for units): validate reports it as a problem and predict refuses it. A
day with more than `warn_level_ratio` times the level is unusual but can be real (a storm
on a promotion day sells ten times a dry Tuesday): it passes with a warning.

The median of a store's non-zero days hardly moves with one wrong day, unlike its mean or
its maximum, so a single typo cannot hide itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.core.errors import MAX_LISTED
from umbrella.core.params import Features
from umbrella.data.contract.rules import Problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plausibility:
    problems: list[Problem]  # beyond max_level_ratio x the store's level: refused
    warnings: list[Problem]  # beyond warn_level_ratio x the level: passed, but said


def store_level(sales: pd.DataFrame) -> pd.Series:
    """Each store's robust level: the median of its non-zero daily sales, at least 1."""
    units = sales["units"].astype(float)
    level = units.where(units > 0).groupby(sales["store"]).median()
    return level.fillna(1.0).clip(lower=1.0)


def check_plausible(
    sales: pd.DataFrame, max_ratio: float, warn_ratio: float, label: str, lines: bool = True
) -> Plausibility:
    """Days whose units exceed a multiple of their store's level, as problems or warnings.

    `sales` has date, store and units. With `lines`, its index is the line number in the
    file (as validation's typed tables have), so every finding names file, store, date and
    line; without (a table read back from Parquet), file, store and date.
    """
    known = sales[sales["units"].notna() & sales["store"].notna() & sales["date"].notna()]
    if known.empty:
        return Plausibility([], [])
    level = known["store"].map(store_level(known)).astype(float)
    ratio = known["units"].astype(float) / level
    over_max = ratio > max_ratio
    over_warn = (ratio > warn_ratio) & ~over_max
    return Plausibility(
        _findings(known, level, ratio, over_max, max_ratio, label, "implausible", lines),
        _findings(known, level, ratio, over_warn, warn_ratio, label, "unusually high", lines),
    )


def _findings(
    sales: pd.DataFrame,
    level: pd.Series,
    ratio: pd.Series,
    mask: pd.Series,
    bound: float,
    label: str,
    what: str,
    lines: bool,
) -> list[Problem]:
    """One finding per store: its level, the bound, and its offending days."""
    found = []
    for store, days in sales[mask].groupby("store", sort=True):
        days = days.assign(ratio=ratio[days.index]).sort_values("ratio", ascending=False)
        store_level_ = float(level[days.index[0]])
        rule = (
            f"{what} units for store {store}: more than {bound:g} x its level "
            f"({store_level_:g}, the median of its days with sales)"
        )
        examples = [
            f"{store} {d.date()}: {int(u)} units ({r:.1f} x)"
            for d, u, r in days[["date", "units", "ratio"]].itertuples(index=False)
        ]
        rows = sorted(int(i) for i in days.index)[:MAX_LISTED] if lines else []
        found.append(Problem(label, "units", rule, len(days), rows, examples[:MAX_LISTED]))
    return found


def describe(problems: list[Problem]) -> str:
    """The findings, one a line, for an error message or a log."""
    return "\n".join(f"  - {p}" for p in problems)


def highest_sales(sales: pd.DataFrame) -> pd.Series:
    """Each store's highest daily sales in the history given."""
    return sales.groupby("store")["units"].max().astype(float).clip(lower=1.0)


def longest_lookback(lags: list[int], windows: list[int], same_weekday_weeks: int) -> int:
    """Days of history an origin's features read: the longest lag, rolling window or run of
    same-weekday weeks."""
    return int(max(max(lags), max(windows), 7 * same_weekday_weeks))


def lookback(cfg: Features) -> int:
    """Days of sales up to the origin that every store needs for its features."""
    return longest_lookback(cfg.lags, cfg.windows, cfg.same_weekday_weeks)


def short_histories(sales: pd.DataFrame, origin: pd.Timestamp, need: int) -> pd.Series:
    """Stores with fewer than `need` days of sales in the `need` days up to the origin: how
    many they have."""
    first = origin - pd.Timedelta(days=need - 1)
    recent = sales[(sales["date"] >= first) & (sales["date"] <= origin)]
    have = recent.groupby("store")["date"].nunique()
    have = have.reindex(pd.Index(sales["store"].unique()), fill_value=0)
    return have[have < need].sort_index().astype(np.int64)


def unorderable_stores(sales: pd.DataFrame, origin: pd.Timestamp, need: int) -> pd.Series:
    """The stores that cannot be ordered for at the origin (the last day of the data), each
    with why (by store, in name order): sales that end before it, or sales on fewer than
    `need` (longest_lookback) of the days up to it, which the features read."""
    last = sales.groupby("store")["date"].max()
    why = {store: f"sales end {day.date()}" for store, day in last[last < origin].items()}
    for store, have in short_histories(sales, origin, need).items():
        why.setdefault(store, f"sales on {have} of the {need} days up to {origin.date()}")
    return pd.Series(why, dtype=object).sort_index()


def unorderable_problem(
    why: pd.Series, origin: pd.Timestamp, need: int, label: str
) -> list[Problem]:
    """`unorderable_stores` (`why`, by store) as one finding naming the file and the stores;
    none when there are none."""
    if why.empty:
        return []
    rule = (
        f"stores predict cannot order for: each needs sales on each of the {need} days up to "
        f"the last day of the data, {origin.date()} (the longest of features.lags, "
        "features.windows and features.same_weekday_weeks x 7)"
    )
    examples = [f"{store} ({reason})" for store, reason in why.items()]
    return [Problem(label, "date", rule, len(why), [], examples[:MAX_LISTED])]


def check_sales_table(
    sales: pd.DataFrame | None, max_ratio: float, warn_ratio: float, label: str, lines: bool = True
) -> Plausibility:
    """`check_plausible` on a typed sales table (None when it could not be typed); logs each
    warning. `lines`: the index of `sales` is the line in the file."""
    if sales is None or not {"date", "store", "units"} <= set(sales.columns):
        return Plausibility([], [])
    found = check_plausible(sales, max_ratio, warn_ratio, label, lines)
    for warning in found.warnings:
        log.warning("%s (passed: below %g x)", warning, max_ratio)
    return found
