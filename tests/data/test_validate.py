"""Bad input: every rule of the data contract (docs/data.md "Validation") is reported, none
raised.

Each test writes the good tiny tables to a raw folder, breaks one thing in the files as a
user's export would, and checks that validation names the file, the column and the lines
(the header is line 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, deep_merge, make_params, set_params, umbrella, write_tables

from umbrella.core.paths import ARRIVALS, FORECASTS, SALES, STOCK, TRUTH, WEATHER
from umbrella.data.contract.raw_folder import validate
from umbrella.data.contract.rules import Problem

PARAMS = make_params(TINY)
LABEL = {
    name: f"data/raw/{name}.csv" for name in (SALES, WEATHER, FORECASTS, TRUTH, STOCK, ARRIVALS)
}


@pytest.fixture
def raw(tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]) -> Path:
    """The good tiny tables as CSV files in a raw folder (tiny_tables itself is not touched)."""
    folder = tmp_path / "data" / "raw"
    write_tables(tiny_tables, folder)
    return folder


def problems_in(raw: Path, overrides: dict | None = None) -> list[Problem]:
    params = make_params(deep_merge(TINY, overrides)) if overrides else PARAMS
    _, problems = validate(params, raw)
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def csv_path(raw: Path, name: str) -> Path:
    return raw / f"{name}.csv"


def read_lines(path: Path) -> list[str]:
    return path.read_text().split("\n")


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Overwrite one cell of the (unquoted) CSV file; `line` counts the header as 1."""
    lines = read_lines(path)
    at = lines[0].split(",").index(column)
    cells = lines[line - 1].split(",")
    cells[at] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines))


def cell(path: Path, line: int, column: str) -> str:
    lines = read_lines(path)
    return lines[line - 1].split(",")[lines[0].split(",").index(column)]


def drop_column(path: Path, column: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns=column).to_csv(path, index=False)


def test_good_tables_pass(raw: Path) -> None:
    tables, problems = validate(PARAMS, raw)
    assert problems == []
    assert set(tables) == {SALES, WEATHER, FORECASTS, TRUTH, STOCK, ARRIVALS}
    assert tables[SALES]["units"].dtype == "Int64"
    assert tables[SALES]["date"].dtype == "datetime64[ns]"


# (file, line, column, value written there, words of the rule)
BAD_VALUES = [
    (SALES, 7, "units", "-3", "must be >= 0"),
    (SALES, 8, "units", "1.5", "not a whole number"),
    (SALES, 9, "units", "abc", "not a"),
    (SALES, 10, "units", "", "value is missing"),
    (SALES, 11, "price", "0", "must be > 0"),
    (SALES, 12, "price", "-19.99", "must be > 0"),
    (SALES, 13, "price", "n/a", "not a number"),
    (SALES, 14, "promo", "2", "must be 0 or 1"),
    (SALES, 15, "promo", "yes", "not a"),
    (SALES, 16, "in_stock", "-1", "must be 0 or 1"),
    (SALES, 17, "date", "2012-02-30", "not an ISO date"),
    (SALES, 18, "date", "yesterday", "not an ISO date"),
    (SALES, 19, "store", "", "value is missing"),
    (SALES, 600, "date", "", "value is missing"),
    (SALES, 20, "date", "2012-01-19T10:00", "not an ISO date"),  # a time of day
    (SALES, 21, "units", "1e20", "too large for a count"),  # beyond int64
    (SALES, 25, "units", "1e300", "too large for a count"),
    (SALES, 26, "units", "1e14", "must be <= 1,000,000 (plausibility limit)"),
    (SALES, 27, "price", "1e300", "must be <= 100,000 (plausibility limit)"),
    (SALES, 28, "in_stock", "-1e19", "too large for a count"),
    # One date format, YYYY-MM-DD: no time (not even midnight), no time zone, no other format.
    (SALES, 29, "date", "2012/01/14", "not an ISO date (expected YYYY-MM-DD"),
    (SALES, 30, "date", "20120113", "not an ISO date"),
    (SALES, 31, "date", "2012-1-5", "not an ISO date"),
    (SALES, 32, "date", "2012-01-31T00:00:00Z", "without a time or time zone"),
    (SALES, 33, "date", "2012-02-01T00:00:00+02:00", "without a time or time zone"),
    (SALES, 34, "date", "2012-02-02 00:00:00", "not an ISO date"),
    (SALES, 35, "date", "9999-12-31", "outside the plausible range 1900-01-01..2199-12-31"),
    (WEATHER, 14, "date", "2012-01-13T00:00:00+01:00", "not an ISO date"),
    (FORECASTS, 27, "issued", "2012-01-05Z", "not an ISO date"),
    (SALES, 22, "units", "inf", "not a whole number"),
    (SALES, 23, "in_stock", "-inf", "not a whole number"),
    (SALES, 24, "price", "inf", "not a number"),
    (WEATHER, 4, "rain_mm", "-0.5", "between 0 and 500"),
    (WEATHER, 5, "rain_mm", "500.1", "between 0 and 500"),
    (WEATHER, 6, "rain_mm", "heavy", "not a number"),
    (WEATHER, 7, "rain_mm", "", "value is missing"),
    (WEATHER, 8, "temp_max_c", "61", "between -60 and 60"),
    (WEATHER, 9, "temp_min_c", "-60.5", "between -60 and 60"),
    (WEATHER, 10, "temp_max_c", "warm", "not a number"),
    (WEATHER, 11, "wind", "-2", "between 0 and 100"),
    (WEATHER, 12, "date", "12/01/2012", "not an ISO date"),
    (WEATHER, 13, "rain_mm", "1e400", "not a number"),
    (FORECASTS, 20, "rain_prob", "1.2", "between 0 and 1"),
    (FORECASTS, 21, "rain_prob", "-0.01", "between 0 and 1"),
    (FORECASTS, 22, "rain_mm", "-1", "between 0 and 500"),
    (FORECASTS, 23, "rain_mm", "501", "between 0 and 500"),
    (FORECASTS, 24, "temp_max_c", "75", "between -60 and 60"),
    (FORECASTS, 25, "issued", "2012-13-01", "not an ISO date"),
    (FORECASTS, 26, "rain_mm", "", "value is missing"),
    (TRUTH, 30, "demand", "-1", "must be >= 0"),
]


@pytest.mark.parametrize(
    ("name", "line", "column", "value", "rule"),
    BAD_VALUES,
    ids=[f"{n}-{c}-{v or 'empty'}" for n, _, c, v, _ in BAD_VALUES],
)
def test_bad_value(raw: Path, name: str, line: int, column: str, value: str, rule: str) -> None:
    set_cell(csv_path(raw, name), line, column, value)
    problem = only(problems_in(raw))
    assert problem.file == LABEL[name]
    assert problem.column == column
    assert rule in problem.rule
    assert problem.count == 1
    assert problem.rows == [line]
    assert cell(csv_path(raw, name), line, column) == value  # the line really holds it
    if value:
        (example,) = problem.examples
        assert example == value or float(example) == float(value)  # typed: "0" shows as 0.0


@pytest.mark.parametrize(
    "store", ['=HYPERLINK("http://example.com","x")', "+1", "-1", "@SUM(A1)", "=1+1"]
)
def test_a_store_id_that_starts_like_a_formula_is_refused(raw: Path, store: str) -> None:
    """A spreadsheet opening orders.csv would run it as a formula. (Without the stock
    tables: their own store column is checked by the same rule, and they would no longer
    match the renamed sales.)"""
    for name in (STOCK, ARRIVALS):
        csv_path(raw, name).unlink()
    path = csv_path(raw, SALES)
    sales = pd.read_csv(path, dtype=str, keep_default_na=False)
    renamed = sales.index[sales["store"] == "S0002"]
    sales.loc[renamed, "store"] = store
    sales.to_csv(path, index=False)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[SALES], "store")
    assert (
        problem.rule == "must not start with =, +, - or @ (a spreadsheet would run it as a formula)"
    )
    assert problem.count == len(renamed) and problem.rows == list(renamed + 2)[:5]
    assert problem.examples[0] == store


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [(WEATHER, "temp_max_c", ""), (WEATHER, "wind", ""), (FORECASTS, "rain_prob", "")],
)
def test_optional_measurement_may_be_missing(raw: Path, name: str, column: str, value: str) -> None:
    set_cell(csv_path(raw, name), 5, column, value)
    assert problems_in(raw) == []


def test_many_bad_rows_are_counted_and_listed(raw: Path) -> None:
    lines = [3, 40, 41, 100, 250, 500, 801]
    for line in lines:
        set_cell(csv_path(raw, SALES), line, "units", "-1")
    problem = only(problems_in(raw))
    assert problem.count == len(lines)
    assert problem.rows == lines[:5]  # the first few, in file order
    assert "7 rows; lines 3, 40, 41, 100, 250, ..." in str(problem)


def test_many_unparsed_values_are_reported_once(raw: Path) -> None:
    """A value that does not parse is not reported again as a missing value."""
    lines = list(range(2, 12))
    for line in lines:
        set_cell(csv_path(raw, SALES), line, "units", "many")
    set_cell(csv_path(raw, SALES), 12, "units", "")
    problems = problems_in(raw)
    assert [(p.rule, p.count, p.rows) for p in problems] == [
        ("not a whole number", 10, lines[:5]),
        ("value is missing", 1, [12]),
    ]


def test_unparsed_keys_are_not_duplicates(raw: Path) -> None:
    for line in range(2, 9):
        set_cell(csv_path(raw, SALES), line, "date", "2012-1-32")
    problem = only(problems_in(raw))
    assert (problem.column, problem.count) == ("date", 7)
    assert problem.rule.startswith("not an ISO date")


def test_surrounding_blanks_are_tolerated(raw: Path) -> None:
    set_cell(csv_path(raw, SALES), 5, "units", " 4 ")
    set_cell(csv_path(raw, WEATHER), 5, "rain_mm", "3.5 ")
    set_cell(csv_path(raw, WEATHER), 6, "date", " 2012-01-05 ")
    assert problems_in(raw) == []


@pytest.mark.parametrize("suffix", ["T00:00:00+01:00", "T00:00:00Z", " 00:00:00"])
def test_every_date_with_a_time_or_zone_is_reported(raw: Path, suffix: str) -> None:
    """All rows with a time zone (or a midnight time) used to crash with a traceback (mixed
    time zones) or pass; now the file and column are named with the expected format."""
    path = csv_path(raw, SALES)
    lines = read_lines(path)
    at = lines[0].split(",").index("date")
    for n, line in enumerate(lines[1:], start=1):
        if line:
            cells = line.split(",")
            cells[at] += suffix
            lines[n] = ",".join(cells)
    path.write_text("\n".join(lines))
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[SALES], "date")
    assert problem.rule == "not an ISO date (expected YYYY-MM-DD, without a time or time zone)"
    assert problem.count == 3 * 274 and problem.rows == [2, 3, 4, 5, 6]
    assert problem.examples[0] == f"2012-01-01{suffix}".strip()


def test_duplicate_column_name_is_refused(raw: Path) -> None:
    """pandas renames a repeated `units` to `units.1`: the file was silently accepted."""
    path = csv_path(raw, SALES)
    lines = read_lines(path)
    lines = [f"{line},{line.split(',')[2]}" if line else line for line in lines]
    path.write_text("\n".join(lines))
    assert read_lines(path)[0] == "date,store,units,price,promo,in_stock,units"
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[SALES], "units")
    assert str(problem) == (
        "data/raw/sales.csv, column units: duplicate column name: 2 columns in the header (line 1)"
    )


@pytest.mark.parametrize("sep", [";", "\t"])
def test_other_separators_are_named(raw: Path, sep: str) -> None:
    path = csv_path(raw, WEATHER)
    path.write_text(path.read_text().replace(",", sep))
    problem = only(problems_in(raw))
    assert problem.file == LABEL[WEATHER]
    assert f"columns are separated by {sep!r}, not by commas (header, line 1" in problem.rule


def test_forecasts_shorter_than_the_horizon(raw: Path, tiny_tables: dict) -> None:
    """Leads 1..3 for base.horizon 7: predict used to fail after features and train ran."""
    forecasts = tiny_tables[FORECASTS]
    short = forecasts[(forecasts["date"] - forecasts["issued"]).dt.days <= 3]
    write_tables({FORECASTS: short}, raw)
    problem = only(problems_in(raw))
    assert str(problem) == (
        "data/raw/weather_forecasts.csv, column date, issued: forecasts do not reach "
        "base.horizon = 7 days ahead: no lead (date - issued) of 4, 5, 6, 7 days; "
        "leads found: 1..3"
    )
    assert problems_in(raw, {"base": {"horizon": 3}}) == []


def test_blank_lines_keep_line_numbers(raw: Path) -> None:
    """Blank lines are skipped but still counted: line numbers are those of the file."""
    path = csv_path(raw, SALES)
    set_cell(path, 10, "units", "-4")
    lines = read_lines(path)
    lines[3:3] = ["", "   "]  # a blank and a white-space line after line 3
    path.write_text("\n".join(["", *lines, "", ""]))  # one before the header, two at the end
    problem = only(problems_in(raw))
    assert problem.rows == [13]
    assert read_lines(path)[12].split(",")[2] == "-4"


@pytest.mark.parametrize(
    ("name", "column"),
    [
        (SALES, "units"),
        (SALES, "date"),
        (SALES, "store"),
        (WEATHER, "rain_mm"),
        (WEATHER, "date"),
        (FORECASTS, "issued"),
        (FORECASTS, "date"),
        (FORECASTS, "rain_mm"),
    ],
)
def test_missing_required_column(raw: Path, name: str, column: str) -> None:
    drop_column(csv_path(raw, name), column)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[name], column)
    assert problem.rule == "required column is missing"
    assert problem.rows == []


@pytest.mark.parametrize(("name", "column"), [(SALES, "price"), (WEATHER, "wind")])
def test_optional_column_may_be_absent(raw: Path, name: str, column: str) -> None:
    drop_column(csv_path(raw, name), column)
    assert problems_in(raw) == []


def test_extra_columns_are_ignored(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    write_tables({SALES: tiny_tables[SALES].assign(region="north", note="")}, raw)
    tables, problems = validate(PARAMS, raw)
    assert problems == []
    assert "region" in tables[SALES]


def duplicate_line(path: Path, line: int) -> None:
    lines = read_lines(path)
    lines.insert(line, lines[line - 1])
    path.write_text("\n".join(lines))


@pytest.mark.parametrize(
    ("name", "line", "key"),
    [(SALES, 12, "date, store"), (WEATHER, 30, "date"), (FORECASTS, 50, "issued, date")],
)
def test_duplicate_key(raw: Path, name: str, line: int, key: str) -> None:
    duplicate_line(csv_path(raw, name), line)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column, problem.rule) == (LABEL[name], key, "duplicate key")
    assert problem.rows == [line, line + 1]
    assert problem.examples[0] == problem.examples[1]
    assert all(not e.endswith("00:00:00") for e in problem.examples)  # dates shown as dates


def test_duplicate_key_by_store(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    """The same date in two stores is fine; twice in one store is not."""
    sales = tiny_tables[SALES]
    again = sales[(sales["store"] == "S0003") & (sales["date"] == "2012-03-01")]
    write_tables({SALES: pd.concat([sales, again], ignore_index=True)}, raw)
    problem = only(problems_in(raw))
    assert problem.examples == ["2012-03-01 S0003", "2012-03-01 S0003"]
    first = sales.index[(sales["store"] == "S0003") & (sales["date"] == "2012-03-01")][0]
    assert problem.rows == [first + 2, len(sales) + 2]
    assert "2012-03-01,S0003," in read_lines(csv_path(raw, SALES))[len(sales) + 1]


def test_gaps_in_a_store_are_listed(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    sales = tiny_tables[SALES]
    gone = pd.to_datetime(["2012-03-05", "2012-03-06", "2012-07-14"])
    keep = ~((sales["store"] == "S0002") & sales["date"].isin(gone))
    write_tables({SALES: sales[keep]}, raw)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[SALES], "date")
    assert "missing dates" in problem.rule and "1 store" in problem.rule
    assert problem.count == 3
    assert problem.examples == ["S0002 2012-03-05", "S0002 2012-03-06", "S0002 2012-07-14"]


def test_stores_may_cover_different_ranges(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    """A store that opens late or closes early has no gap."""
    sales = tiny_tables[SALES]
    late = (sales["store"] == "S0002") & (sales["date"] < "2012-02-01")
    early = (sales["store"] == "S0003") & (sales["date"] > "2012-08-31")
    write_tables({SALES: sales[~late & ~early]}, raw)
    assert problems_in(raw) == []


def test_weather_missing_for_sales_dates(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    weather = tiny_tables[WEATHER]
    gone = pd.to_datetime(["2012-01-01", "2012-04-10", "2012-04-11"])
    write_tables({WEATHER: weather[~weather["date"].isin(gone)]}, raw)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[WEATHER], "date")
    assert problem.rule == "no weather for sales dates"
    assert problem.count == 3
    assert problem.examples == ["2012-01-01", "2012-04-10", "2012-04-11"]


def weather_by_store(tiny_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    stores = pd.DataFrame({"store": sorted(tiny_tables[SALES]["store"].unique())})
    return stores.merge(tiny_tables[WEATHER], how="cross")[
        ["date", "store", *tiny_tables[WEATHER].columns[1:]]
    ]


def test_weather_by_store_passes(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    write_tables({WEATHER: weather_by_store(tiny_tables)}, raw)
    assert problems_in(raw) == []


def test_weather_by_store_missing_for_a_store(
    raw: Path, tiny_tables: dict[str, pd.DataFrame]
) -> None:
    weather = weather_by_store(tiny_tables)
    gone = (weather["store"] == "S0003") & (weather["date"] == "2012-05-01")
    write_tables({WEATHER: weather[~gone]}, raw)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[WEATHER], "date, store")
    assert problem.count == 1
    assert problem.examples == ["2012-05-01 S0003"]


def test_weather_by_store_duplicate(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    write_tables({WEATHER: weather_by_store(tiny_tables)}, raw)
    duplicate_line(csv_path(raw, WEATHER), 300)
    problem = only(problems_in(raw))
    assert (problem.column, problem.rule, problem.rows) == (
        "date, store",
        "duplicate key",
        [300, 301],
    )


@pytest.mark.parametrize("shift", [0, -1], ids=["same-day", "day-before"])
def test_forecast_date_after_issued(raw: Path, shift: int) -> None:
    path = csv_path(raw, FORECASTS)
    issued = pd.Timestamp(cell(path, 40, "issued"))
    set_cell(path, 40, "date", str((issued + pd.Timedelta(days=shift)).date()))
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[FORECASTS], "date")
    assert "after its issued date" in problem.rule
    assert problem.rows == [40]


@pytest.mark.parametrize("name", [SALES, WEATHER, FORECASTS])
def test_empty_file(raw: Path, name: str) -> None:
    csv_path(raw, name).write_bytes(b"")
    problem = only(problems_in(raw))
    assert (problem.file, problem.column, problem.rule) == (LABEL[name], None, "file is empty")


@pytest.mark.parametrize("name", [SALES, WEATHER, FORECASTS])
def test_header_only_file(raw: Path, name: str) -> None:
    path = csv_path(raw, name)
    path.write_text(read_lines(path)[0] + "\n")
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[name], None)
    assert problem.rule == "file has a header but no rows"


@pytest.mark.parametrize("name", [SALES, WEATHER])
def test_required_file_not_found(raw: Path, name: str) -> None:
    csv_path(raw, name).unlink()
    problem = only(problems_in(raw))
    assert (problem.file, problem.column, problem.rule) == (LABEL[name], None, "file not found")


@pytest.mark.parametrize("name", [FORECASTS, TRUTH])
def test_optional_file_may_be_absent(raw: Path, name: str) -> None:
    csv_path(raw, name).unlink()
    tables, problems = validate(PARAMS, raw)
    assert problems == []
    assert name not in tables


def test_binary_file(raw: Path) -> None:
    csv_path(raw, WEATHER).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    problem = only(problems_in(raw))
    assert (problem.file, problem.column) == (LABEL[WEATHER], None)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"split": {"test_start": "2012-02-01"}}, "only 31 days before"),
        ({"validate": {"min_history_days": 250}}, "at least 250 needed"),
        ({"split": {"test_start": "2013-01-01"}}, "after the last sales date"),
    ],
)
def test_too_little_history(raw: Path, overrides: dict, words: str) -> None:
    problem = only(problems_in(raw, overrides))
    assert (problem.file, problem.column) == (LABEL[SALES], "date")
    assert words in problem.rule
    assert problem.rows == []


def test_all_problems_in_all_files_are_reported(
    raw: Path, tiny_tables: dict[str, pd.DataFrame]
) -> None:
    sales, weather = tiny_tables[SALES], tiny_tables[WEATHER]
    gap = (sales["store"] == "S0001") & (sales["date"] == "2012-02-10")
    write_tables({SALES: sales[~gap], WEATHER: weather[weather["date"] != "2012-06-01"]}, raw)
    set_cell(csv_path(raw, SALES), 5, "units", "-2")
    set_cell(csv_path(raw, SALES), 6, "promo", "3")
    set_cell(csv_path(raw, WEATHER), 9, "rain_mm", "900")
    set_cell(csv_path(raw, FORECASTS), 4, "rain_prob", "2")
    issued = cell(csv_path(raw, FORECASTS), 30, "issued")
    set_cell(csv_path(raw, FORECASTS), 30, "date", issued)
    found = {(p.file, p.column, p.rule): p.rows for p in problems_in(raw)}
    assert found == {
        (LABEL[SALES], "units", "must be >= 0"): [5],
        (LABEL[SALES], "promo", "must be 0 or 1"): [6],
        (LABEL[SALES], "date", "missing dates inside a store's range in 1 store(s)"): [],
        (LABEL[WEATHER], "rain_mm", "must be between 0 and 500"): [9],
        (LABEL[WEATHER], "date", "no weather for sales dates"): [],
        (LABEL[FORECASTS], "rain_prob", "must be between 0 and 1"): [4],
        (LABEL[FORECASTS], "date", "forecast date must be after its issued date"): [30],
    }


def test_validation_does_not_modify_raw_files(raw: Path) -> None:
    set_cell(csv_path(raw, SALES), 7, "units", "-3")
    before = {p.name: p.read_bytes() for p in raw.iterdir()}
    problems_in(raw)
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == before


# The command line, as a user runs it: exit status 2, a short report, no traceback.


def interim_marker(root: Path) -> Path:
    marker = root / "data" / "interim" / "sales" / "part-00000.parquet"
    marker.parent.mkdir(parents=True)
    marker.write_bytes(b"the previous run's output")
    return marker


@pytest.mark.slow
def test_cli_validate_passes_and_writes_interim(root: Path) -> None:
    result = umbrella(["validate"], root)
    assert result.returncode == 0, result.stderr
    report = json.loads((root / "reports" / "validation.json").read_text())
    assert report["ok"] is True and report["problems"] == 0
    assert report["rows"][SALES] == 3 * 274
    assert report["forecasts"] == "issued"
    sales = pd.read_parquet(root / "data" / "interim" / "sales")
    assert len(sales) == 3 * 274 and sales["units"].dtype == "int64"


@pytest.mark.slow
def test_cli_validate_reports_bad_data(root: Path) -> None:
    raw = root / "data" / "raw"
    set_cell(csv_path(raw, SALES), 7, "units", "-3")
    set_cell(csv_path(raw, WEATHER), 4, "rain_mm", "heavy")
    marker = interim_marker(root)
    result = umbrella(["validate"], root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data/raw/sales.csv, column units: must be >= 0 (1 row; lines 7; e.g. -3)" in (
        result.stderr
    )
    assert "data/raw/weather.csv, column rain_mm" in result.stderr
    report = json.loads((root / "reports" / "validation.json").read_text())
    assert report["ok"] is False and report["problems"] == 2
    assert [(d["file"], d["column"], d["rows"]) for d in report["details"]] == [
        (LABEL[SALES], "units", [7]),
        (LABEL[WEATHER], "rain_mm", [4]),
    ]
    assert marker.read_bytes() == b"the previous run's output"
    assert [p.relative_to(marker.parents[1]) for p in marker.parents[1].rglob("*")] == [
        Path("sales"),
        Path("sales/part-00000.parquet"),
    ]


@pytest.mark.slow
def test_cli_validate_names_the_stores_predict_cannot_order_for(root: Path) -> None:
    """S0002's sales end ten days early, S0003 opened three days ago: both used to pass
    validate and fail predict, after training, for every store. Named here (a warning,
    predict orders for S0001), or with predict.all_or_nothing refused here."""
    path = csv_path(root / "data" / "raw", SALES)
    sales = pd.read_csv(path, dtype=str, keep_default_na=False)
    date = pd.to_datetime(sales["date"])
    last = date.max()
    ended = (sales["store"] == "S0002") & (date > last - pd.Timedelta(days=10))
    young = (sales["store"] == "S0003") & (date <= last - pd.Timedelta(days=3))
    sales[~ended & ~young].to_csv(path, index=False)
    result = umbrella(["validate"], root)
    assert result.returncode == 0, result.stderr
    finding = (
        "data/raw/sales.csv, column date: stores predict cannot order for: each needs sales on "
        f"each of the 56 days up to the last day of the data, {last.date()}"
    )
    stores = f"S0002 (sales end {(last - pd.Timedelta(days=10)).date()}), S0003 (sales on 3 of"
    assert finding in result.stderr and stores in result.stderr
    report = json.loads((root / "reports" / "validation.json").read_text())
    assert report["ok"] is True
    (warning,) = report["warnings"]
    assert warning["count"] == 2 and warning["examples"][0].startswith("S0002 (sales end")
    interim = sorted((root / "data" / "interim").rglob("*.parquet"))
    before = [p.read_bytes() for p in interim]
    set_params(root, {"predict": {"all_or_nothing": True}})
    refused = umbrella(["validate"], root)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert finding in refused.stderr and stores in refused.stderr
    assert json.loads((root / "reports" / "validation.json").read_text())["ok"] is False
    assert [p.read_bytes() for p in interim] == before


@pytest.mark.parametrize("broken", ["empty", "missing"])
@pytest.mark.slow
def test_cli_validate_unreadable_sales(root: Path, broken: str) -> None:
    path = csv_path(root / "data" / "raw", SALES)
    if broken == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    marker = interim_marker(root)
    result = umbrella(["validate"], root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data/raw/sales.csv" in result.stderr
    assert json.loads((root / "reports" / "validation.json").read_text())["ok"] is False
    assert marker.read_bytes() == b"the previous run's output"


@pytest.mark.slow
def test_cli_pull_missing_csv_keeps_raw(root: Path) -> None:
    set_params(
        root,
        {"data": {"source": "csv", "sales": "exports/sales.csv", "weather": "exports/w.csv"}},
    )
    raw = root / "data" / "raw"
    before = {p.name: p.read_bytes() for p in raw.iterdir()}
    result = umbrella(["pull"], root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "data.sales" in result.stderr and "exports/sales.csv" in result.stderr
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == before
    assert sorted(p.name for p in (root / "data").iterdir()) == ["raw"]  # no staging left


@pytest.mark.slow
def test_cli_pull_csv_replaces_raw(root: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    user = write_tables({SALES: tiny_tables[SALES], WEATHER: tiny_tables[WEATHER]}, root / "exp")
    set_params(
        root, {"data": {"source": "csv", "sales": "exp/sales.csv", "weather": str(user[WEATHER])}}
    )
    assert umbrella(["pull"], root).returncode == 0
    raw = root / "data" / "raw"
    # Files of the previous source (truth, forecasts) do not linger.
    assert sorted(p.name for p in raw.iterdir()) == ["sales.csv", "weather.csv"]
    assert (raw / "sales.csv").read_bytes() == user[SALES].read_bytes()


@pytest.mark.slow
def test_cli_bad_params(root: Path) -> None:
    set_params(root, {"simulate": {"stores": "many"}})
    result = umbrella(["validate"], root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "simulate.stores" in result.stderr


def write_stores(raw: Path, text: str) -> None:
    (raw / "stores.csv").write_text(text)


def test_store_locations_pass(raw: Path, tiny_tables: dict[str, pd.DataFrame]) -> None:
    stores = sorted(tiny_tables[SALES]["store"].unique())
    zones = ["America/Los_Angeles", "", "Europe/Berlin"]
    rows = [f"{s},{47.6 + i},{-122.3 + i},{zones[i % 3]}" for i, s in enumerate(stores)]
    write_stores(raw, "store,latitude,longitude,timezone\n" + "\n".join(rows) + "\n")
    assert problems_in(raw) == []


def test_bad_store_locations_are_all_reported(
    raw: Path, tiny_tables: dict[str, pd.DataFrame]
) -> None:
    first, second, *_ = sorted(tiny_tables[SALES]["store"].unique())
    write_stores(
        raw,
        "store,latitude,longitude,timezone\n"
        f"{first},95.0,-122.3,America/Los_Angeles\n"
        f"{first},47.6,-190.0,Mars/Olympus\n",
    )
    found = {(p.column, p.rule): p for p in problems_in(raw)}
    assert found["latitude", "must be between -90 and 90"].rows == [2]
    assert found["longitude", "must be between -180 and 180"].rows == [3]
    assert found["timezone", "must be an IANA time zone (e.g. Europe/Berlin)"].rows == [3]
    assert found["store", "duplicate key"].rows == [2, 3]
    unlocated = found["store", "stores with sales but no location"]
    assert second in unlocated.examples and first not in unlocated.examples
    assert unlocated.file == "data/raw/stores.csv"


def test_the_stock_tables_are_checked_against_the_sales(raw: Path) -> None:
    """The simulated stockroom's tables pass; a negative count, a store not counted at the
    close of the last day of sales, and an arrival on that day are each named by file,
    column and line."""
    stock, arrivals = csv_path(raw, STOCK), csv_path(raw, ARRIVALS)
    set_cell(stock, 3, "on_hand", "-4")
    problem = only(problems_in(raw))
    assert (problem.file, problem.column, problem.rows) == (LABEL[STOCK], "on_hand", [3])
    set_cell(stock, 3, "on_hand", "4")
    lines = read_lines(stock)
    last = max(line.split(",")[0] for line in lines[1:] if line)
    gone = [i for i, line in enumerate(lines) if line.startswith(f"{last},S0001,")]
    stock.write_text("\n".join(line for i, line in enumerate(lines) if i not in gone))
    problem = only(problems_in(raw))
    assert (problem.file, problem.column, problem.examples) == (LABEL[STOCK], "store", ["S0001"])
    assert problem.rule == f"stores with sales but no stock counted at the close of {last}"
    stock.write_text("\n".join(lines))
    set_cell(arrivals, 2, "date", last)
    problem = only(problems_in(raw))
    assert (problem.file, problem.column, problem.rows) == (LABEL[ARRIVALS], "date", [2])
    assert problem.rule.startswith("on or before the last day of sales")
