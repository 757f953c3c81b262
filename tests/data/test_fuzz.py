"""Fuzz suite: malformed and legitimate variants of the three csv files and of params.yaml.

The invariant, whatever the input: `umbrella <stage>` either exits 0 with consistent outputs,
or exits 2 with a one-line-per-problem message naming the file (or the params key), never
with a traceback (an exception escaping `cli.main`, exit 1), and a failed run leaves the
outputs of the previous run as they were (byte for byte).

Profiles (registered here; `HYPOTHESIS_PROFILE=fuzz` or `make fuzz` selects the long one):
`default` keeps this file within about 40 s on 2 cores; `fuzz` runs many more examples.
The runs are in-process (`inprocess.umbrella_in`), not the dvc pipeline, so they are fast.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ORDER_COLUMNS, REPO, TINY, deep_merge, make_params, raw_params, set_params
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support.inprocess import umbrella_in

from umbrella.core.paths import FORECASTS, SALES, TRUTH, WEATHER
from umbrella.data.contract.schemas import STORE_COSTS, TABLES
from umbrella.data.simulator.simulate import simulate_retailer

# About 40 s with the default profile on 2 cores: run by `make test` and `make fuzz`, not
# by `make test-fast`.
pytestmark = pytest.mark.slow

COMMON = {
    "deadline": None,
    "database": None,  # no .hypothesis/ folder in the checkout
    "print_blob": True,  # a failure prints the @reproduce_failure line
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # No explain phase: it re-runs a failing case hundreds of times to point at lines.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}
settings.register_profile("default", max_examples=100, **COMMON)
settings.register_profile("fuzz", max_examples=2000, **COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)
EXAMPLES = settings.default.max_examples

# Two stores in two weather regions (weather and forecasts per store) over four months.
SHAPE = deep_merge(
    TINY,
    {"simulate": {"stores": 2, "regions": 2, "end": "2012-04-30"}, "split": {"test_days": 30}},
)
FILES = (SALES, WEATHER, FORECASTS)
COSTS = "costs"  # a store's own costs: umbrella predict --costs
LABELS = {name: f"data/raw/{name}.csv" for name in FILES}


# The files, as cells: mutated by the strategies, then written with a separator and an
# encoding.


@dataclass
class CsvFile:
    header: list[str]
    rows: list[list[str]]
    sep: str = ","
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    raw: bytes | None = None  # replaces everything (truncated, empty, NUL bytes...)
    blanks: set[int] = field(default_factory=set)  # blank lines before these rows

    def __repr__(self) -> str:
        return f"CsvFile({self.header}, {len(self.rows)} rows)"

    def to_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        lines = [self.sep.join(self.header)]
        for n, row in enumerate(self.rows):
            lines += [""] * (n in self.blanks) + [self.sep.join(row)]
        data = (self.newline.join(lines) + self.newline).encode(self.encoding, "replace")
        return (b"\xef\xbb\xbf" if self.bom else b"") + data


@dataclass
class Variant:
    files: dict[str, CsvFile]
    legit: bool = True  # only legitimate changes: the run must succeed
    applied: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def good_files() -> dict[str, CsvFile]:
    params = make_params(SHAPE)
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    out = {}
    for name in FILES:
        text = tables[name].to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
        header, *rows = [line.split(",") for line in text.strip("\n").split("\n")]
        out[name] = CsvFile(header, rows)
    return out


def copy_files(files: dict[str, CsvFile]) -> dict[str, CsvFile]:
    return {
        name: CsvFile(list(f.header), [list(r) for r in f.rows], f.sep, f.encoding, f.bom)
        for name, f in files.items()
    }


def column(file: CsvFile, data: st.DataObject, required: bool | None = None) -> str:
    names = [c for c in file.header if c]
    if required is not None:
        names = [c for c in names if _required(file, c) == required] or names
    return data.draw(st.sampled_from(names), label="column")


def _required(file: CsvFile, name: str) -> bool:
    table = next(t for t, f in _CURRENT.items() if f is file)
    contract = STORE_COSTS if table == COSTS else TABLES[table]
    name = name.strip()  # " date ", renamed so, is still the date column (rename_column)
    spec = next((c for c in contract.columns if c.name == name), None)
    return spec is not None and (spec.required or name == "store")


_CURRENT: dict[str, CsvFile] = {}
ROWS = st.integers(min_value=0, max_value=10_000)


def pick_rows(file: CsvFile, data: st.DataObject) -> list[int]:
    if not file.rows:
        return []
    count = data.draw(st.integers(1, 3), label="rows")
    return sorted({data.draw(ROWS) % len(file.rows) for _ in range(count)})


def set_cells(file: CsvFile, name: str, rows: list[int], value: str) -> None:
    if name in file.header:
        at = file.header.index(name)
        for row in rows:
            if at < len(file.rows[row]):
                file.rows[row][at] = value


# Each mutation changes one file and says whether the change is legitimate.

BAD_DATES = [
    "2012/01/14",
    "20120113",
    "2012-1-5",
    "2012-01-01T00:00:00Z",
    "2012-01-01T00:00:00+02:00",
    "2012-01-01 00:00:00",
    "2012-02-30",
    "9999-12-31",
    "0001-01-01",
    "1899-12-31",
    "01/02/2012",
    "",
    "yesterday",
]
BAD_NUMBERS = [
    "abc",
    "NaN",
    "nan",
    "-1",
    "-0.5",
    "1e300",
    "-1e300",
    "1e14",
    "1.5",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "",
    "١٢",
    "9223372036854775807",
    "9223372036854775808",
    "1e-320",
]


def reorder_columns(file: CsvFile, data: st.DataObject) -> bool:
    order = data.draw(st.permutations(range(len(file.header))), label="order")
    file.header = [file.header[i] for i in order]
    file.rows = [[row[i] for i in order] for row in file.rows]
    return True


def extra_column(file: CsvFile, data: st.DataObject) -> bool:
    name = data.draw(st.sampled_from(["note", "region", "Units", "units.1"]), label="extra")
    legit = name not in [c.strip() for c in file.header]  # else a repeated column name
    file.header.append(name)
    for row in file.rows:
        row.append("café")
    return legit


def drop_column(file: CsvFile, data: st.DataObject) -> bool:
    name = column(file, data)
    legit = not _required(file, name)
    at = file.header.index(name)
    del file.header[at]
    for row in file.rows:
        del row[at]
    return legit


def duplicate_column(file: CsvFile, data: st.DataObject) -> bool:
    name = column(file, data)
    at = file.header.index(name)
    file.header.append(name)
    for row in file.rows:
        row.append(row[at])
    return False


def rename_column(file: CsvFile, data: st.DataObject) -> bool:
    name = column(file, data)
    new = data.draw(st.sampled_from([f" {name} ", name.upper(), "qty", "", f"{name}.1"]))
    file.header[file.header.index(name)] = new
    # Two columns renamed alike ("qty" twice) are a repeated column name: refused.
    repeated = bool(new.strip()) and [h.strip() for h in file.header].count(new.strip()) > 1
    return not repeated and (new.strip() == name or not _required(file, name))


def encoding(file: CsvFile, data: st.DataObject) -> bool:
    kind = data.draw(st.sampled_from(["bom", "crlf", "utf-16", "latin-1"]), label="encoding")
    if kind == "bom":
        file.bom = True
    elif kind == "crlf":
        file.newline = "\r\n"
    else:
        file.encoding = kind
        extra_column(file, data)  # a non-ASCII character
        return False
    return True


def delimiter(file: CsvFile, data: st.DataObject) -> bool:
    file.sep = data.draw(st.sampled_from([";", "\t", "|"]), label="sep")
    return False


def bad_dates(file: CsvFile, data: st.DataObject) -> bool:
    names = [c for c in ("date", "issued") if c in file.header]
    if not names:
        return False
    name = data.draw(st.sampled_from(names))
    if data.draw(st.booleans(), label="every row"):
        suffix = data.draw(st.sampled_from(["T00:00:00+01:00", "Z", " 00:00:00", "T12:00"]))
        at = file.header.index(name)
        for row in file.rows:
            row[at] += suffix
        return False
    value = data.draw(st.sampled_from(BAD_DATES), label="date")
    set_cells(file, name, pick_rows(file, data), value)
    return False


def bad_numbers(file: CsvFile, data: st.DataObject) -> bool:
    names = [c for c in file.header if c not in ("date", "issued", "store")]
    if not names:
        return False
    name = data.draw(st.sampled_from(names), label="column")
    value = data.draw(st.sampled_from(BAD_NUMBERS) | st.text(max_size=6), label="number")
    if "," in value or "\n" in value or "\r" in value or '"' in value:
        value = value.replace(",", "").replace("\n", "").replace("\r", "").replace('"', "")
    set_cells(file, name, pick_rows(file, data), value)
    return False


def padded_values(file: CsvFile, data: st.DataObject) -> bool:
    name = column(file, data)
    at = file.header.index(name)
    for row in file.rows:
        if row[at].startswith('"'):  # blanks go inside the quotes
            row[at] = f'" {row[at][1:-1]} "'
        elif row[at]:
            row[at] = f" {row[at]} "
    return True


def quoted_values(file: CsvFile, data: st.DataObject) -> bool:
    name = column(file, data)
    at = file.header.index(name)
    for row in file.rows:
        row[at] = row[at] if row[at].startswith('"') else f'"{row[at]}"'
    return True


def rows_changed(file: CsvFile, data: st.DataObject) -> bool:
    kind = data.draw(st.sampled_from(["duplicate", "delete", "shuffle", "blank"]), label="rows")
    rows = pick_rows(file, data)
    if kind == "shuffle":
        order = data.draw(st.randoms(use_true_random=False)).sample(
            range(len(file.rows)), len(file.rows)
        )
        file.rows = [file.rows[i] for i in order]
        return True
    if kind == "blank":
        file.blanks |= set(rows)
        return True
    if kind == "duplicate":
        for row in reversed(rows):
            file.rows.insert(row, list(file.rows[row]))
        return not rows
    for row in reversed(rows):
        del file.rows[row]
    return not rows


def broken_bytes(file: CsvFile, data: st.DataObject) -> bool:
    content = file.to_bytes()
    kind = data.draw(st.sampled_from(["truncate", "empty", "header", "nul", "quote", "junk"]))
    if kind == "truncate":
        cut = data.draw(st.integers(0, len(content)), label="cut")
        file.raw = content[:cut]
    elif kind == "empty":
        file.raw = b""
    elif kind == "header":
        file.raw = content.split(b"\n")[0] + b"\n"
    elif kind == "nul":
        at = data.draw(st.integers(0, len(content)), label="at")
        file.raw = content[:at] + b"\x00" + content[at:]
    elif kind == "quote":
        at = data.draw(st.integers(0, len(content)), label="at")
        file.raw = content[:at] + b'"' + content[at:]
    else:
        file.raw = data.draw(st.binary(max_size=200), label="junk")
    return False


MUTATIONS = [
    reorder_columns,
    extra_column,
    drop_column,
    duplicate_column,
    rename_column,
    encoding,
    delimiter,
    bad_dates,
    bad_numbers,
    padded_values,
    quoted_values,
    rows_changed,
    broken_bytes,
]


def variant(
    good: dict[str, CsvFile], data: st.DataObject, most: int = 3, mutated: tuple = FILES
) -> Variant:
    """The good files with up to `most` mutations of the files named in `mutated`."""
    files = copy_files(good)
    _CURRENT.clear()
    _CURRENT.update(files)
    out = Variant(files)
    for _ in range(data.draw(st.integers(0, most), label="mutations")):
        name = data.draw(st.sampled_from(mutated), label="file")
        mutate = data.draw(st.sampled_from(MUTATIONS), label="mutation")
        if files[name].raw is not None:
            continue  # already bytes
        out.legit &= mutate(files[name], data)
        out.applied.append(f"{name}: {mutate.__name__}")
    return out


def write_variant(v: Variant, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, file in v.files.items():
        paths[name] = folder / f"{name}.csv"
        paths[name].write_bytes(file.to_bytes())
    return paths


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not str(p.relative_to(folder)).startswith(skip)
    }


def assert_clean_failure(result, names: list[str]) -> None:
    assert result.error is None, f"traceback: {result.error!r}"
    assert result.code == 2, result
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if not line.startswith("WARNING ")]
    assert said and said[0].startswith("error: "), result.stderr  # warnings (-q), then the error
    assert any(n in result.stderr for n in names), result.stderr


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, good_files: dict[str, CsvFile]) -> Path:
    """A repository root with the good files validated, featured and a model trained."""
    folder = tmp_path_factory.mktemp("fuzz") / "repo"
    folder.mkdir()
    shutil.copy(REPO / "params.yaml", folder / "params.yaml")
    # predict's daily orders, so that the files are all a run needs (--stock is not fuzzed)
    set_params(folder, deep_merge(SHAPE, {"inventory": {"carry_over": False}}))
    write_variant(Variant(good_files), folder / "data" / "raw")
    for stage in ("validate", "features", "train"):
        result = umbrella_in(folder, [stage])
        assert (result.code, result.error) == (0, None), result.stderr
    return folder


@given(data=st.data())
def test_validate_and_features(root: Path, good_files: dict, data: st.DataObject) -> None:
    v = variant(good_files, data)
    write_variant(v, root / "data" / "raw")
    before = snapshot(root, skip=("data/raw", "reports/validation.json"))
    result = umbrella_in(root, ["validate"])
    if result.code != 0 or v.legit:
        assert result.code == 0 or not v.legit, (v.applied, result.stderr)
    if result.code != 0:
        assert_clean_failure(result, list(LABELS.values()))
        assert snapshot(root, skip=("data/raw", "reports/validation.json")) == before
        report = json.loads((root / "reports" / "validation.json").read_text())
        assert report["ok"] is False and report["problems"] >= 1
        return
    report = json.loads((root / "reports" / "validation.json").read_text())
    assert report["ok"] is True
    interim = root / "data" / "interim"
    sales = pd.read_parquet(interim / SALES)
    assert report["rows"][SALES] == len(sales) > 0
    assert not sales.duplicated(["date", "store"]).any()
    assert (sales["units"] >= 0).all() and str(sales["date"].dtype) == "datetime64[ns]"
    assert sorted(p.name for p in interim.iterdir()) == sorted(report["rows"])
    result = umbrella_in(root, ["features"])
    assert (result.code, result.error) == (0, None), (v.applied, result.stderr)
    assert len(pd.read_parquet(root / "data" / "processed" / "features")) > 0


@given(data=st.data())
@settings(max_examples=max(5, EXAMPLES // 3))
def test_predict_on_files(root: Path, good_files: dict, data: st.DataObject) -> None:
    """`umbrella predict --sales --weather --forecasts` validates the files by the contract."""
    v = variant(good_files, data, most=2)
    folder = root.parent / "predict"
    shutil.rmtree(folder, ignore_errors=True)
    paths = write_variant(v, folder / "in")
    out = folder / "orders.csv"
    out.write_bytes(b"the previous orders")
    args = ["predict", "--out", str(out), "--allow-failed-gate"]  # the files, not the gate
    for name, flag in ((SALES, "--sales"), (WEATHER, "--weather"), (FORECASTS, "--forecasts")):
        args += [flag, str(paths[name])]
    result = umbrella_in(root, args)
    if result.code != 0:
        names = [str(p) for p in paths.values()]
        assert_clean_failure(result, [*names, *(f"{n} column" for n in FILES)])
        assert out.read_bytes() == b"the previous orders"
        return
    orders = pd.read_csv(out)
    assert list(orders.columns) == ORDER_COLUMNS
    assert (orders["order"] >= 0).all() and len(orders) > 0


@given(data=st.data())
@settings(max_examples=max(5, EXAMPLES // 3))
def test_predict_with_costs(root: Path, good_files: dict, data: st.DataObject) -> None:
    """`umbrella predict --costs` checks a store's own costs by their contract."""
    stores = sorted({row[1] for row in good_files[SALES].rows})
    costs = CsvFile(
        ["store", "price", "unit_cost", "salvage", "holding"],
        [[store, "19.99", f"{7 + n}", "2", "1"] for n, store in enumerate(stores)],
    )
    v = variant({**good_files, COSTS: costs}, data, most=2, mutated=(COSTS,))
    folder = root.parent / "predict-costs"
    shutil.rmtree(folder, ignore_errors=True)
    paths = write_variant(v, folder / "in")
    out = folder / "orders.csv"
    out.write_bytes(b"the previous orders")
    args = ["predict", "--out", str(out), "--allow-failed-gate", "--costs", str(paths[COSTS])]
    for name, flag in ((SALES, "--sales"), (WEATHER, "--weather"), (FORECASTS, "--forecasts")):
        args += [flag, str(paths[name])]
    result = umbrella_in(root, args)
    if result.code != 0:
        assert_clean_failure(result, [str(paths[COSTS])])
        assert out.read_bytes() == b"the previous orders"
        return
    orders = pd.read_csv(out)
    assert (orders["order"] >= 0).all()
    assert len(orders) == len(stores) * make_params(SHAPE).base.horizon
    assert orders["critical_ratio"].between(0.01, 0.99).all()


# params.yaml: a random bad value at a random key.


def _leaves(block: dict, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key of the blocks, as its path (a key may hold a dot: tune.space's do)."""
    out = []
    for name, value in block.items():
        if isinstance(value, dict):
            out += _leaves(value, (*path, name))
        out.append((*path, name))
    return out


KEYS = _leaves(raw_params())
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**32, 400, 5000, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.1, 1.0e20, 1.0e-300, 0.5, 0.99]),
    st.text(max_size=12),
    st.sampled_from(["2015-02-30", "2015-02-01", "Narnia", "US", "csv", "simulate", "gbm", "-"]),
    st.lists(st.integers(-10, 6000), max_size=3),
    st.dictionaries(st.sampled_from(["start", "level", "x"]), st.integers(-2, 3), max_size=2),
)


@given(key=st.sampled_from(KEYS), value=VALUES, unquoted=st.booleans())
def test_params(
    root: Path, good_files: dict, key: tuple[str, ...], value: object, unquoted: bool
) -> None:
    write_variant(Variant(good_files), root / "data" / "raw")
    raw = raw_params(SHAPE)
    block = raw
    *parents, last = key
    for name in parents:
        block = block[name]
    block[last] = value
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    if unquoted:  # a date as a user types it, not as a string
        text = text.replace("'2015-02-30'", "2015-02-30").replace("'2015-02-01'", "2015-02-01")
    original = (root / "params.yaml").read_bytes()
    (root / "params.yaml").write_text(text)
    try:
        before = snapshot(root, skip=("data/raw", "reports/validation.json", "params.yaml"))
        result = umbrella_in(root, ["validate"])
    finally:
        (root / "params.yaml").write_bytes(original)
    if result.code == 0:
        return
    top = key[0]
    assert_clean_failure(result, [f"{top}.", f"{top}:", "data.", "params.yaml: top level"])
    assert snapshot(root, skip=("data/raw", "reports/validation.json", "params.yaml")) == before


# Open-Meteo answers: random nulls, lengths, types and errors from the fake service.

OM_START, OM_END = dt.date(2024, 3, 1), dt.date(2024, 3, 8)
OM_TODAY = dt.date(2025, 6, 1)  # every chunk final: cacheable if complete
OM_STORES = pd.DataFrame(
    {
        "store": ["a", "b"],
        "latitude": [52.52, 40.71],
        "longitude": [13.41, -74.01],
        "timezone": ["Europe/Berlin", "America/New_York"],
    }
)
OM_KEYS = ["issued", "date", "store"]
ANSWER_FAULTS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "null_hours",  # nulls in one variable (a finished day the service lost)
                "truncate_variable",  # one variable shorter than `time`
                "truncate_all",  # `time` and every variable shorter
                "drop_variable",
                "string_values",
                "bad_offset",
                "drop_hourly",
                "bad_time",
                "error",  # HTTP 200 with {"error": true, "reason": ...}
                "drop_location",  # fewer answers than locations asked for
                "not_json",
                "wrong_type",  # a list of numbers instead of an object
            ]
        ),
        st.floats(0, 1),
        st.floats(0, 1),
    ),
    min_size=1,
    max_size=3,
)


def _fault(kind: str, a: float, b: float, body: object) -> object:
    """`body` (one location's object, or a list of them) with one fault applied."""
    if kind == "error":
        return {"error": True, "reason": f"Something went wrong ({a:.2f})"}
    if kind == "not_json":
        return b"<html>" + str(a).encode()
    if kind == "wrong_type":
        return [a, b]
    objects = body if isinstance(body, list) else [body]
    if kind == "drop_location":
        return objects[: int(a * len(objects))] if len(objects) > 1 else []
    obj = objects[int(a * (len(objects) - 1))] if objects else None
    if not isinstance(obj, dict) or not isinstance(obj.get("hourly"), dict):
        return body
    hourly = obj["hourly"]
    names = [n for n in hourly if n != "time"]
    name = names[int(b * (len(names) - 1))] if names else "time"
    n = len(hourly["time"])
    cut = int(b * n)
    if kind == "null_hours" and names:
        first = int(a * n)
        hourly[name] = hourly[name][:first] + [None] * (cut + 1) + hourly[name][first + cut + 1 :]
        hourly[name] = hourly[name][:n]
    elif kind == "truncate_variable":
        hourly[name] = hourly[name][:cut]
    elif kind == "truncate_all":
        for key in hourly:
            hourly[key] = hourly[key][:cut]
    elif kind == "drop_variable":
        hourly.pop(name)
    elif kind == "string_values":
        hourly[name] = [str(v) for v in hourly[name]]
    elif kind == "bad_offset":
        obj["utc_offset_seconds"] = [str(obj["utc_offset_seconds"]), 10**9, 1.5][int(a * 2.99)]
    elif kind == "drop_hourly":
        obj.pop("hourly")
    elif kind == "bad_time":
        hourly["time"][int(a * (n - 1))] = ["2024-13-45T99:99", "yesterday", 7][int(b * 2.99)]
    return body


def _pulls(api, cache: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from umbrella.data.open_meteo import pull_forecasts, pull_weather

    block = {**api.urls, "retries": 0, "backoff_s": 0.0, "timeout_s": 5, "locations_per_call": 2}
    cfg = make_params({"open_meteo": block}).open_meteo
    args = (OM_STORES, OM_START, OM_END)
    weather = pull_weather(*args, cfg, cache, None, today=OM_TODAY)
    forecasts = pull_forecasts(*args, 2, cfg, cache, None, weather, today=OM_TODAY)
    return weather, forecasts


@pytest.fixture(scope="module")
def open_meteo(tmp_path_factory: pytest.TempPathFactory):
    """The fake service (its `mutate` set by each example) and the clean pull's tables."""
    from support.fake_open_meteo import FakeOpenMeteo

    now = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    with FakeOpenMeteo(now=now, coverage_start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) as api:
        yield api, _pulls(api, tmp_path_factory.mktemp("clean-cache"))


def _agrees(got: pd.DataFrame, clean: pd.DataFrame, keys: list[str]) -> None:
    """Every row of `got` is a row of the clean table, each value equal to it or NaN."""
    merged = got.merge(clean, on=keys, how="left", suffixes=("", "_clean"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for column in ("rain_mm", "temp_max_c"):
        value, want = merged[column], merged[f"{column}_clean"]
        assert (value.isna() | (value - want).abs().lt(1e-9)).all(), column


@given(faults=ANSWER_FAULTS, calls=st.sets(st.integers(0, 3), min_size=1))
@settings(max_examples=max(10, EXAMPLES // 4))
def test_open_meteo_answers(open_meteo, tmp_path_factory, faults, calls) -> None:
    """A broken answer gives a correct table (NaN where the answer lacks values) or one
    clean DataError; nothing broken is cached: a pull after the service recovered makes
    the clean tables, whatever the cache holds."""
    from umbrella.core.errors import DataError
    from umbrella.data.open_meteo.cache import ResponseCache, checksum

    api, (weather, forecasts) = open_meteo
    cache = tmp_path_factory.mktemp("om-cache")
    first = len(api.calls)

    def mutate(path: str, body: object) -> object:
        if len(api.calls) - first - 1 not in calls:
            return body
        for kind, a, b in faults:
            body = _fault(kind, a, b, body)
        return body

    api.mutate = mutate
    try:
        got = _pulls(api, cache)
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("open-meteo "), exc
    else:
        _agrees(got[0], weather, ["date", "store"])
        # A lead with no value at all falls back on the observed weather, flagged.
        fell_back = got[1]["forecast_source"] == "observed"
        _agrees(got[1][~fell_back], forecasts, OM_KEYS)
        _agrees(got[1][fell_back].drop(columns="issued"), weather, ["date", "store"])
    finally:
        api.mutate = None
    for entry in cache.rglob("*.json.gz"):
        stored = json.loads(gzip.decompress(entry.read_bytes()))
        assert stored["sha256"] == checksum(stored["response"])
        hourly = stored["response"]["hourly"]
        assert all(None not in values for values in hourly.values()), entry
    assert ResponseCache(cache).folder == cache
    again = _pulls(api, cache)
    assert again[0].equals(weather) and again[1].equals(forecasts)


def test_profiles_are_registered() -> None:
    assert settings.get_profile("fuzz").max_examples > settings.get_profile("default").max_examples
    assert TRUTH not in FILES
