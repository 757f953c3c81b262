"""Checks of raw tables against the data contract. Every problem is collected, none raised.

A problem names the file, the column, the rule, how many rows break it and the first of
those rows as line numbers of the file (the header is line 1). The index of a raw table is
that line number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from umbrella.core.errors import MAX_LISTED, first_few
from umbrella.data.contract.limits import DATE_RANGE
from umbrella.data.contract.schemas import TABLES, TableSpec, pandera_schema

LINE = "__line__"  # the column of a row's line in the file it was cut from (partition_files.py)
INT_LIMIT = 2.0**63  # a count at or above this does not fit an int64
# One date format: ISO YYYY-MM-DD. A time of day, even midnight (2012-01-05 00:00:00, or
# 2012-01-05T00:00:00Z), a time zone, 2012/01/14, 20120113 or 2012-1-5 is not a date.
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
DATE_RULE = "not an ISO date (expected YYYY-MM-DD, without a time or time zone)"


@dataclass(frozen=True)
class Problem:
    file: str
    column: str | None
    rule: str
    count: int
    rows: list[int]  # line numbers in the file; empty when the problem is not about rows
    examples: list[str]

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}, column {self.column}" if self.column else self.file
        text = f"{where}: {self.rule}"
        if self.count:
            text += f" ({self.count} row{'s' if self.count != 1 else ''}"
            if self.rows:
                more = ", ..." if self.count > len(self.rows) else ""
                text += f"; lines {', '.join(map(str, self.rows))}{more}"
            if self.examples:
                text += f"; e.g. {', '.join(self.examples)}"
            text += ")"
        return text


def problem(
    file: str,
    column: str | None,
    rule: str,
    index: pd.Index | None = None,
    examples: pd.Series | list | None = None,
) -> Problem:
    index = pd.Index([]) if index is None else pd.Index(index)
    lines = sorted({int(i) for i in index})
    shown = [] if examples is None else [_text(x) for x in list(examples)[:MAX_LISTED]]
    return Problem(file, column, rule, len(lines), lines[:MAX_LISTED], shown)


def _text(value: object) -> str:
    return str(value.date()) if isinstance(value, pd.Timestamp) else str(value)


def parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates of the text values in the one accepted format, YYYY-MM-DD, and where a date is
    outside DATE_RANGE (the plausibility limit). Anything else (a time of day, even
    midnight, a time zone, another format, an impossible day) is NaT."""
    iso = text.where(text.str.fullmatch(DATE_PATTERN, na=False))
    value = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    low, high = (pd.Timestamp(d) for d in DATE_RANGE)
    out_of_range = value.notna() & ((value < low) | (value > high))
    return value.where(~out_of_range).astype("datetime64[ns]"), out_of_range


def row_lines(path: Path) -> Iterator[int]:
    """The line numbers of the file's rows, one by one (pandas skips blank lines, so skip
    them here too); as many as pandas reads rows unless a quoted value spans lines."""
    with open(path, encoding="utf-8") as file:
        filled = (n for n, text in enumerate(file, start=1) if text.strip())
        next(filled, None)  # the header
        yield from filled


def _line_numbers(path: Path, rows: int) -> pd.Index:
    """The line of each row in the file; a row a line when a quoted value spans lines."""
    lines = np.fromiter(row_lines(path), int)
    return pd.Index(lines) if len(lines) == rows else pd.RangeIndex(2, rows + 2)


def _header(path: Path) -> tuple[int, list[str]]:
    """The header's line number and its column names as written (pandas renames a repeated
    name `units` to `units.1`, which would hide it)."""
    with open(path, encoding="utf-8-sig") as file:
        number = next((n for n, text in enumerate(file, start=1) if text.strip()), 1)
    names = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    return number, [str(c).strip() for c in names.iloc[0]]


def header_problems(path: Path, label: str) -> list[Problem]:
    """_header_problems of a file's header."""
    return _header_problems(_header(path), label)


def merged(problems: list[Problem]) -> list[Problem]:
    """One problem per file, column and rule: those found in several partitions of one file
    together (their rows counted and listed as one), in the order first found."""
    out: dict[tuple[str, str | None, str], Problem] = {}
    for p in problems:
        key = (p.file, p.column, p.rule)
        if key in out:
            q = out[key]
            rows, examples = [*q.rows, *p.rows], [*q.examples, *p.examples]
            if q.rows and len(rows) == len(examples):  # an example per listed row
                pairs = sorted(zip(rows, examples, strict=True))
                rows, examples = [r for r, _ in pairs], [e for _, e in pairs]
            else:
                rows = sorted(rows)
            rows, examples = rows[:MAX_LISTED], examples[:MAX_LISTED]
            p = Problem(q.file, q.column, q.rule, q.count + p.count, rows, examples)
        out[key] = p
    return list(out.values())


def _header_problems(header: tuple[int, list[str]], label: str) -> list[Problem]:
    """A repeated column name (which column holds the data?) or a file that is not separated
    by commas (one column whose name holds the others)."""
    line, names = header
    if len(names) == 1 and any(sep in names[0] for sep in (";", "\t", "|")):
        sep = next(s for s in (";", "\t", "|") if s in names[0])
        rule = (
            f"columns are separated by {sep!r}, not by commas (header, line {line}: "
            f"{names[0][:60]!r})"
        )
        return [problem(label, None, rule)]
    counts = pd.Series(names).value_counts(sort=False)
    return [
        problem(label, str(name), f"duplicate column name: {n} columns in the header (line {line})")
        for name, n in counts.items()
        if n > 1 and name
    ]


def read_raw(path: Path, label: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a CSV file with every value as text, so that typing errors can be located."""
    if not Path(path).exists():
        return None, [problem(label, None, "file not found")]
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        header = _header(path)
    except pd.errors.EmptyDataError:
        return None, [problem(label, None, "file is empty")]
    except UnicodeDecodeError as exc:
        return None, [problem(label, None, _not_utf8(path, exc))]
    except (pd.errors.ParserError, UnicodeError, ValueError) as exc:
        return None, [problem(label, None, f"not a readable CSV file: {exc}".strip())]
    except OSError as exc:  # a folder, no permission to read
        return None, [problem(label, None, f"cannot read the file: {exc.strerror or exc}")]
    problems = _header_problems(header, label)
    if problems:
        return None, problems
    raw.columns = [str(c).strip() for c in raw.columns]
    if raw.empty:
        return None, [problem(label, None, "file has a header but no rows")]
    # A part of a retailer's file (partition_files.py) carries its rows' lines in the file.
    lines = raw.pop(LINE).astype(int) if LINE in raw else None
    raw.index = _line_numbers(path, len(raw)) if lines is None else pd.Index(lines)
    return raw, []


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    """Where the file's first byte that is not UTF-8 is, by line and column: the decoder's
    error gives only a position in the block pandas was reading ("position 1")."""
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as bad:
                column = len(line[: bad.start].decode("utf-8")) + 1
                return (
                    f"not UTF-8 text: byte 0x{line[bad.start]:02x} on line {number}, column "
                    f"{column} (another encoding: save the file as UTF-8)"
                )
    return f"not a readable CSV file: {exc}"


def parse_columns(
    raw: pd.DataFrame, table: TableSpec, label: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Type the contract's columns; a value that does not parse becomes a problem and NA."""
    problems = [
        problem(label, c.name, "required column is missing")
        for c in table.columns
        if c.required and c.name not in raw
    ]
    typed = raw.copy()
    for spec in table.columns:
        if spec.name not in raw:
            continue
        text = raw[spec.name].str.strip()
        if spec.kind == "date":
            value, out_of_range = parse_dates(text)
            if out_of_range.any():
                rule = f"date outside the plausible range {DATE_RANGE[0]}..{DATE_RANGE[1]}"
                index, examples = raw.index[out_of_range], text[out_of_range]
                problems.append(problem(label, spec.name, rule, index, examples))
                text = text.where(~out_of_range)  # reported once
            rule = DATE_RULE
        elif spec.kind == "string":
            value, rule = text, ""
        else:
            value = pd.to_numeric(text, errors="coerce")
            value = value.where(np.isfinite(value))  # inf parses, but measures nothing
            rule = "not a number"
            if spec.kind in ("int", "flag"):
                too_large = value.abs() >= INT_LIMIT
                if too_large.any():
                    rule = f"too large for a count (at least {INT_LIMIT:.3g}, the int64 limit)"
                    index, examples = raw.index[too_large], text[too_large]
                    problems.append(problem(label, spec.name, rule, index, examples))
                    text = text.where(~too_large)  # reported once
                    value = value.where(~too_large)
                whole = value.isna() | (value == np.round(value))
                value = value.where(whole)
                rule = "not a whole number"
            value = value.astype("Int64" if spec.kind in ("int", "flag") else "float64")
        bad = text.notna() & value.isna()
        if bad.any():
            problems.append(problem(label, spec.name, rule, raw.index[bad], text[bad]))
        typed[spec.name] = value
    return typed, problems


def check_rules(
    typed: pd.DataFrame, raw: pd.DataFrame, table: TableSpec, label: str
) -> list[Problem]:
    """Run the pandera value rules (required, range) on the typed table."""
    present = [c.name for c in table.columns if c.name in typed]
    try:
        pandera_schema(table, present).validate(typed, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    problems = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        index = pd.Index(group["index"].dropna().astype(int))
        if check == "not_nullable":
            # A value that did not parse is already reported: only empty cells are missing.
            index = index[raw.loc[index, column].isna().to_numpy()]
            if not index.empty:
                problems.append(problem(label, column, "value is missing", index))
        else:
            problems.append(problem(label, column, str(check), index, group["failure_case"]))
    return problems


def check_key(typed: pd.DataFrame, table: TableSpec, label: str) -> list[Problem]:
    """Rows that share their key; a row with a missing key value is reported as such."""
    if any(table.column(k).required and k not in typed for k in table.key):
        return []  # the missing key column is reported
    key = [k for k in table.key if k in typed]
    duplicate = typed[key].notna().all(axis=1) & typed.duplicated(key, keep=False)
    if not duplicate.any():
        return []
    rows = typed.loc[duplicate, key].itertuples(index=False)
    examples = [" ".join(map(_text, row)) for row in rows]
    return [problem(label, ", ".join(key), "duplicate key", typed.index[duplicate], examples)]


def check_gaps(sales: pd.DataFrame, label: str) -> list[Problem]:
    """Missing dates inside each store's range of dates."""
    span = sales.groupby("store")["date"].agg(["min", "max", "nunique"])
    expected = (span["max"] - span["min"]).dt.days + 1
    gappy = span.index[expected > span["nunique"]]
    if gappy.empty:
        return []
    missing = []
    for store in gappy:
        have = pd.DatetimeIndex(sales.loc[sales["store"] == store, "date"])
        full = pd.date_range(span["min"][store], span["max"][store], freq="D")
        missing += [f"{store} {d.date()}" for d in full.difference(have)]
    return [
        Problem(
            label,
            "date",
            f"missing dates inside a store's range in {len(gappy)} store(s)",
            len(missing),
            [],
            missing[:MAX_LISTED],
        )
    ]


def check_coverage(sales: pd.DataFrame, weather: pd.DataFrame, label: str) -> list[Problem]:
    """Every sales (date, store) needs weather: by store when weather has a store column."""
    keys = ["date", "store"] if "store" in weather else ["date"]
    have = (
        pd.MultiIndex.from_frame(weather[keys].dropna())
        if len(keys) > 1
        else pd.Index(weather["date"].dropna())
    )
    need = pd.MultiIndex.from_frame(sales[keys]) if len(keys) > 1 else pd.Index(sales["date"])
    missing = ~need.isin(have)
    if not missing.any():
        return []
    absent = sales.loc[missing, keys].drop_duplicates()
    examples = [" ".join(map(_text, row)) for row in absent.itertuples(index=False)]
    return [
        Problem(
            label,
            ", ".join(keys),
            "no weather for sales dates",
            len(absent),
            [],
            examples[:MAX_LISTED],
        )
    ]


def check_forecast_dates(forecasts: pd.DataFrame, label: str) -> list[Problem]:
    """A forecast must be for a day after the day it was issued."""
    bad = forecasts["date"] <= forecasts["issued"]
    if not bad.any():
        return []
    return [
        problem(
            label,
            "date",
            "forecast date must be after its issued date",
            forecasts.index[bad],
            forecasts.loc[bad, "date"].dt.date,
        )
    ]


def check_forecast_leads(forecasts: pd.DataFrame, horizon: int, label: str) -> list[Problem]:
    """The forecasts must reach base.horizon days ahead: every lead (date - issued, in days)
    1..horizon occurs, or the later stages fail after minutes of work."""
    both = forecasts["date"].notna() & forecasts["issued"].notna()
    lead = (forecasts.loc[both, "date"] - forecasts.loc[both, "issued"]).dt.days
    found = sorted(int(d) for d in lead.unique() if d >= 1)
    missing = sorted(set(range(1, horizon + 1)) - set(found))
    if not missing or lead.empty:
        return []
    if found and found == list(range(found[0], found[-1] + 1)):
        shown = f"{found[0]}..{found[-1]}"
    else:
        shown = first_few([str(lead) for lead in found]) or "none"
    rule = (
        f"forecasts do not reach base.horizon = {horizon} days ahead: no lead (date - issued) "
        f"of {first_few([str(lead) for lead in missing])} days; leads found: {shown}"
    )
    return [Problem(label, "date, issued", rule, 0, [], [])]


def check_training_history(
    sales: pd.DataFrame, start: pd.Timestamp, min_days: int, horizon: int, label: str
) -> list[Problem]:
    """Enough days before the test period to train, and a test period inside the data."""
    first, last = sales["date"].min(), sales["date"].max()
    problems = []
    history = (start - first).days
    if history < max(min_days, horizon):
        problems.append(
            Problem(
                label,
                "date",
                f"only {history} days before the test period "
                f"starting {start.date()}; at least {max(min_days, horizon)} "
                "needed (see split and validate.min_history_days)",
                0,
                [],
                [],
            )
        )
    if start > last:
        problems.append(
            Problem(
                label,
                "date",
                f"test period starts {start.date()}, after the "
                f"last sales date {last.date()} (see split.test_start)",
                0,
                [],
                [],
            )
        )
    return problems


def typed_table(
    path: Path, table: TableSpec, label: str
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read, type and rule-check one file. The frame is None when it could not be typed."""
    raw, problems = read_raw(path, label)
    if raw is None:
        return None, problems
    typed, problems = parse_columns(raw, table, label)
    problems += check_rules(typed, raw, table, label)
    problems += check_key(typed, table, label)
    if any(p.rule == "required column is missing" for p in problems):
        return None, problems
    return typed, problems


def check_located(sales: pd.DataFrame, stores: pd.DataFrame, label: str) -> list[Problem]:
    """Every store with sales needs a location in stores.csv (the weather is pulled there)."""
    missing = sorted(set(sales["store"].dropna()) - set(stores["store"].dropna()))
    if not missing:
        return []
    rule = "stores with sales but no location"
    return [Problem(label, "store", rule, len(missing), [], missing[:MAX_LISTED])]


def listing(problems: list[Problem]) -> str:
    """One problem a line, indented under a heading."""
    return "\n".join(f"  - {p}" for p in problems)


def summary(problems: list[Problem]) -> str:
    """The short human report of a failed validation."""
    heading = f"validation failed: {len(problems)} problem(s), also in reports/validation.json"
    return f"{heading}\n{listing(problems)}"


def finalise(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Lean dtypes for a table that passed validation, sorted by its key."""
    spec = TABLES[name]
    out = table.copy()
    for column in spec.columns:
        if column.name not in out:
            continue
        if column.kind == "int":
            out[column.name] = out[column.name].astype("int64")
        elif column.kind == "flag":
            out[column.name] = out[column.name].astype("int8")
        elif column.kind == "string":
            out[column.name] = out[column.name].astype("string")
    key = [k for k in spec.key if k in out]
    return out.sort_values(key, ignore_index=True)
