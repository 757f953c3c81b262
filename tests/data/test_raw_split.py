"""A retailer's own files validated partition by partition (partition_files.py): the same
problems, named by the same file and lines, as the whole files give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, deep_merge, make_params, write_tables
from test_validate import BAD_VALUES, read_lines, set_cell

from umbrella.core.params import Params
from umbrella.core.partitions import read_all
from umbrella.core.paths import FORECASTS, SALES, TRUTH, WEATHER
from umbrella.data.contract.partition_files import split_raw_tables
from umbrella.data.contract.raw_to_interim import Checked, validate_raw, validate_whole
from umbrella.data.contract.rules import LINE, row_lines

NAMES = (SALES, WEATHER, FORECASTS, TRUTH)


def own_params(per_partition: int) -> Params:
    files = {name: f"exports/{name}.csv" for name in (SALES, WEATHER)}
    data = {"source": "csv", **files, "weather_forecasts": "exports/weather_forecasts.csv"}
    engine = {"stores_per_partition": per_partition}
    return make_params(deep_merge(TINY, {"data": data, "engine": engine}))


@pytest.fixture
def raw(tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]) -> Path:
    folder = tmp_path / "raw"
    write_tables({name: tiny_tables[name] for name in NAMES}, folder)
    return folder


def both(raw: Path, tmp_path: Path, per_partition: int) -> tuple[Checked, Checked]:
    """validate_raw (cut into partitions) and validate_whole of the same files."""
    params = own_params(per_partition)
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    checked = validate_raw(params, raw, cut / "interim", cut / "scratch")
    assert (cut / "scratch" / SALES).is_dir()  # it really was cut
    return checked, validate_whole(params, raw, whole)


def as_dicts(checked: Checked) -> list[dict]:
    return [p.to_dict() for p in checked.problems]


@pytest.mark.parametrize("per_partition", [250, 1])
def test_good_files_give_the_same_tables(raw: Path, tmp_path: Path, per_partition: int) -> None:
    cut, whole = both(raw, tmp_path, per_partition)
    assert cut.problems == whole.problems == []
    assert cut.rows == whole.rows
    for name in NAMES:
        pd.testing.assert_frame_equal(
            read_all(tmp_path / "cut" / "interim" / name), read_all(tmp_path / "whole" / name)
        )


# Every bad value of test_validate in `make test`; `make test-fast` keeps the first of each file.
FIRSTS = [next(case for case in BAD_VALUES if case[0] == name) for name in NAMES]


@pytest.mark.parametrize(
    ("name", "line", "column", "value"),
    [
        pytest.param(*case[:4], marks=() if case in FIRSTS else pytest.mark.slow)
        for case in BAD_VALUES
    ],
    ids=[f"{n}-{c}-{v or 'empty'}" for n, _, c, v, _ in BAD_VALUES],
)
def test_a_bad_value_is_named_alike(
    raw: Path, tmp_path: Path, name: str, line: int, column: str, value: str
) -> None:
    set_cell(raw / f"{name}.csv", line, column, value)
    cut, whole = both(raw, tmp_path, 1)  # each store a partition
    assert as_dicts(cut) == as_dicts(whole) != []


def test_bad_rows_of_several_partitions_are_one_problem(raw: Path, tmp_path: Path) -> None:
    """Negative units of two stores (two partitions): one problem, both lines, as whole."""
    lines = read_lines(raw / f"{SALES}.csv")
    store = lines[0].split(",").index("store")
    first = lines[1].split(",")[store]
    other = next(n for n, text in enumerate(lines[1:], start=2) if text.split(",")[store] != first)
    for line in (2, other):
        set_cell(raw / f"{SALES}.csv", line, "units", "-1")
    cut, whole = both(raw, tmp_path, 1)
    assert as_dicts(cut) == as_dicts(whole)
    (problem,) = cut.problems
    assert problem.count == 2 and problem.rows == sorted([2, other])
    assert problem.file == "data/raw/sales.csv (from exports/sales.csv)"


@pytest.mark.parametrize("per_partition", [250, 1])
def test_rows_across_files_are_checked_alike(raw: Path, tmp_path: Path, per_partition: int) -> None:
    """A missing day of sales (a gap), a duplicate row, weather missing for a day."""
    sales = read_lines(raw / f"{SALES}.csv")
    sales = [*sales[:10], *sales[11:], sales[20]]
    (raw / f"{SALES}.csv").write_text("\n".join(sales))
    weather = read_lines(raw / f"{WEATHER}.csv")
    (raw / f"{WEATHER}.csv").write_text("\n".join(weather[:30] + weather[31:]))
    cut, whole = both(raw, tmp_path, per_partition)
    assert len(whole.problems) >= 3
    assert as_dicts(cut) == as_dicts(whole)


def test_each_row_keeps_its_line(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    # A blank line, rows of stores out of order, an empty store, a store without sales.
    (raw / "sales.csv").write_text(
        "date,store,units\n2012-01-01,b,1\n\n2012-01-01,a,2\n2012-01-02,,3\n2012-01-02,a,4\n"
    )
    (raw / "weather.csv").write_text("date,store,rain_mm\n2012-01-01,c,1.0\n2012-01-01,a,0\n")
    assert split_raw_tables(raw, tmp_path / "cut", 1)
    part = {p.name: pd.read_csv(p, dtype=str) for p in (tmp_path / "cut" / SALES).iterdir()}
    assert sorted(part) == ["part-00000.csv", "part-00001.csv"]
    assert part["part-00000.csv"][LINE].tolist() == ["4", "5", "6"]  # a, the empty store, a
    assert part["part-00001.csv"][LINE].tolist() == ["2"]  # b
    weather = {p.name: pd.read_csv(p, dtype=str) for p in (tmp_path / "cut" / WEATHER).iterdir()}
    assert weather["part-00000.csv"][LINE].tolist() == ["2", "3"]  # c (no sales) and a
    assert weather["part-00001.csv"].empty  # every partition has its file
    assert list(row_lines(raw / "sales.csv")) == [2, 4, 5, 6]


@pytest.mark.parametrize(
    "sales",
    [
        "date;store;units\n2012-01-01;a;1\n",  # not separated by commas
        "date,store,store\n2012-01-01,a,b\n",  # a repeated column
        'date,store,units\n2012-01-01,"a\nb",1\n',  # a quoted value across lines
        "",  # empty
        "date,units\n2012-01-01,1\n",  # no store column
    ],
)
def test_files_that_do_not_read_stay_whole(tmp_path: Path, sales: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sales.csv").write_text(sales)
    (raw / "weather.csv").write_text("date,rain_mm\n2012-01-01,1.0\n")
    assert not split_raw_tables(raw, tmp_path / "cut", 1)
    assert not any((tmp_path / "cut").rglob("*.csv"))
    assert (raw / "sales.csv").read_text() == sales


def test_single_files_of_any_source_are_named_whole(raw: Path, tmp_path: Path) -> None:
    """Single files in data/raw (whatever data.source says) are named as single files."""
    set_cell(raw / f"{SALES}.csv", 5, "units", "-2")
    params = make_params(deep_merge(TINY, {"engine": {"stores_per_partition": 1}}))
    checked = validate_raw(params, raw, tmp_path / "interim", tmp_path / "scratch")
    (problem,) = checked.problems
    assert (problem.file, problem.column, problem.rows) == ("data/raw/sales.csv", "units", [5])
