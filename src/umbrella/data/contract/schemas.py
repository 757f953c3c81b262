"""The data contract (docs/data.md) as data: columns, their types and their rules.

Types are parsed by `validation.parse_columns` (so a text value in a numeric column is
reported with its rows, not as a pandas exception); value rules are pandera checks, run
lazily so that every broken rule is reported at once; keys by `validation.check_key`.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pandera.pandas as pa

from umbrella.core.paths import ARRIVALS, FORECASTS, SALES, STOCK, STORES, TRUTH, WEATHER
from umbrella.data.contract.limits import PRICE_MAX, RAIN_MAX_MM, TEMP_RANGE_C, UNITS_MAX, WIND_MAX

Kind = Literal["date", "string", "int", "float", "flag"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    required: bool
    checks: tuple[pa.Check, ...] = ()
    may_be_empty: bool = False  # an optional measurement may have gaps without being float


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]  # unique together; "store" is dropped when the table has none

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


def _between(low: float, high: float) -> pa.Check:
    return pa.Check.in_range(low, high, error=f"must be between {low:g} and {high:g}")


FLAG = pa.Check.isin([0, 1], error="must be 0 or 1")
NON_NEGATIVE = pa.Check.ge(0, error="must be >= 0")
POSITIVE = pa.Check.gt(0, error="must be > 0")
UNITS_PLAUSIBLE = pa.Check.le(UNITS_MAX, error=f"must be <= {UNITS_MAX:,} (plausibility limit)")
PRICE_PLAUSIBLE = pa.Check.le(PRICE_MAX, error=f"must be <= {PRICE_MAX:,.0f} (plausibility limit)")
RAIN = _between(0.0, RAIN_MAX_MM)
TEMP = _between(*TEMP_RANGE_C)
# A store id that starts like a formula (=HYPERLINK(...), +1, -1, @SUM) runs as one when a
# spreadsheet opens a file the pipeline writes (orders.csv): refused, not escaped, so that
# every output keeps the store ids the retailer sent (docs/data.md).
NOT_A_FORMULA = pa.Check(
    lambda ids: ~ids.astype(str).str.match(r"[=+\-@]"),
    error="must not start with =, +, - or @ (a spreadsheet would run it as a formula)",
)
TIMEZONE = pa.Check.isin(
    sorted(zoneinfo.available_timezones()), error="must be an IANA time zone (e.g. Europe/Berlin)"
)


def _known_country(codes: pd.Series) -> pd.Series:
    import holidays  # only for a stores.csv with countries: the import takes a moment

    return codes.isin(holidays.list_supported_countries())


COUNTRY = pa.Check(
    _known_country, error="must be a country code the holidays package knows (e.g. JP, IN, AU)"
)

TABLES: dict[str, TableSpec] = {
    SALES: TableSpec(
        SALES,
        (
            ColumnSpec("date", "date", True),
            ColumnSpec("store", "string", True, (NOT_A_FORMULA,)),
            ColumnSpec("units", "int", True, (NON_NEGATIVE, UNITS_PLAUSIBLE)),
            ColumnSpec("price", "float", False, (POSITIVE, PRICE_PLAUSIBLE)),
            ColumnSpec("promo", "flag", False, (FLAG,)),
            ColumnSpec("in_stock", "flag", False, (FLAG,)),
        ),
        key=("date", "store"),
    ),
    WEATHER: TableSpec(
        WEATHER,
        (
            ColumnSpec("date", "date", True),
            ColumnSpec("store", "string", False, (NOT_A_FORMULA,)),
            ColumnSpec("rain_mm", "float", True, (RAIN,)),
            ColumnSpec("temp_max_c", "float", False, (TEMP,)),
            ColumnSpec("temp_min_c", "float", False, (TEMP,)),
            ColumnSpec("wind", "float", False, (_between(0.0, WIND_MAX),)),
        ),
        key=("date", "store"),
    ),
    FORECASTS: TableSpec(
        FORECASTS,
        (
            ColumnSpec("issued", "date", True),
            ColumnSpec("date", "date", True),
            ColumnSpec("store", "string", False, (NOT_A_FORMULA,)),
            ColumnSpec("rain_mm", "float", True, (RAIN,)),
            ColumnSpec("rain_prob", "float", False, (_between(0.0, 1.0),)),
            ColumnSpec("temp_max_c", "float", False, (TEMP,)),
        ),
        key=("issued", "date", "store"),
    ),
    STORES: TableSpec(
        STORES,
        (
            ColumnSpec("store", "string", True, (NOT_A_FORMULA,)),
            ColumnSpec("latitude", "float", True, (_between(-90.0, 90.0),)),
            ColumnSpec("longitude", "float", True, (_between(-180.0, 180.0),)),
            ColumnSpec("timezone", "string", False, (TIMEZONE,), may_be_empty=True),
            # features.holidays: stores takes each store's holidays from these two.
            ColumnSpec("country", "string", False, (COUNTRY,), may_be_empty=True),
            ColumnSpec("subdivision", "string", False, may_be_empty=True),
            # the most umbrellas its storeroom holds (inventory.capacity: stores)
            ColumnSpec("capacity", "int", False, (POSITIVE, UNITS_PLAUSIBLE)),
        ),
        key=("store",),
    ),
    TRUTH: TableSpec(
        TRUTH,
        (
            ColumnSpec("date", "date", True),
            ColumnSpec("store", "string", True, (NOT_A_FORMULA,)),
            ColumnSpec("mean_demand", "float", True, (NON_NEGATIVE,)),
            ColumnSpec("demand", "int", True, (NON_NEGATIVE,)),
            ColumnSpec("dispersion", "float", True, (POSITIVE,)),
        ),
        key=("date", "store"),
    ),
    # A store's stock (the simulated retailer's, data.stock, `umbrella predict --stock`):
    # the umbrellas on its shelf at the close of `date`; and (data.arrivals, --arrivals)
    # the orders on their way, each arriving at the opening of `date`.
    STOCK: TableSpec(
        STOCK,
        (
            ColumnSpec("date", "date", True),
            ColumnSpec("store", "string", True, (NOT_A_FORMULA,)),
            ColumnSpec("on_hand", "int", True, (NON_NEGATIVE, UNITS_PLAUSIBLE)),
        ),
        key=("date", "store"),
    ),
    ARRIVALS: TableSpec(
        ARRIVALS,
        (
            ColumnSpec("date", "date", True),
            ColumnSpec("store", "string", True, (NOT_A_FORMULA,)),
            ColumnSpec("quantity", "int", True, (NON_NEGATIVE, UNITS_PLAUSIBLE)),
        ),
        key=("date", "store"),
    ),
}


# A store's own costs (`umbrella predict --costs`, docs/production.md): every column but
# store optional, each replacing business's value for that store (costs.py).
STORE_COSTS = TableSpec(
    "costs",
    (
        ColumnSpec("store", "string", True, (NOT_A_FORMULA,)),
        ColumnSpec("price", "float", False, (POSITIVE, PRICE_PLAUSIBLE)),
        ColumnSpec("unit_cost", "float", False, (NON_NEGATIVE, PRICE_PLAUSIBLE)),
        ColumnSpec("salvage", "float", False, (_between(-PRICE_MAX, PRICE_MAX),)),
        ColumnSpec("holding", "float", False, (NON_NEGATIVE, PRICE_PLAUSIBLE)),
    ),
    key=("store",),
)


def pandera_schema(table: TableSpec, present: list[str]) -> pa.DataFrameSchema:
    """Value rules for the columns of `table` that are present in the file."""
    return pa.DataFrameSchema(
        {
            # Only optional measurements may have gaps; a present key or flag may not.
            c.name: pa.Column(
                None,
                list(c.checks),
                nullable=c.may_be_empty or (c.kind == "float" and not c.required),
            )
            for c in table.columns
            if c.name in present
        },
        strict=False,  # extra columns are kept and ignored
    )
