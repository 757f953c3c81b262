"""A retailer's own raw files cut into partitions of stores, a chunk of rows at a time, so
that `validate` checks them partition by partition like the simulated retailer's and no
process holds a chain's file whole (umbrella.core.partitions). The raw files stay as they came;
the parts are written to a scratch folder:

    data/raw/sales.csv  ->  <scratch>/sales/part-00000.csv, part-00001.csv, ...
    data/raw/weather.csv without a store column  ->  <scratch>/weather/all.csv

The partitions are the stores of the sales file in name order. Every row keeps its line in
the file it came from (column LINE), so a problem still names the retailer's file and its
lines. A row whose store is not one of the sales file's (or is empty) goes to partition 0,
where it is checked like any other. Files that do not read as a CSV file of unique column
names stay whole: `validate` reads them whole and names what is wrong.
"""

from __future__ import annotations

import shutil
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.files import append_csv
from umbrella.core.partitions import part_name, shared_name, store_groups
from umbrella.core.paths import SALES
from umbrella.data.contract.rules import LINE, header_problems, row_lines
from umbrella.data.contract.schemas import TABLES

CHUNK_ROWS = 500_000
READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError, OSError)


class Unsplittable(Exception):
    """The file does not read as CSV: it stays whole."""


def split_raw_tables(raw: Path, dest: Path, per_partition: int) -> bool:
    """Every raw/<table>.csv cut into dest/<table>/; False (dest left empty) when a file
    does not read. The raw files are not touched."""
    files = {name: raw / f"{name}.csv" for name in TABLES}
    files = {name: path for name, path in files.items() if path.is_file()}
    if SALES not in files:
        return False
    try:
        stores = _stores(files[SALES])
        groups = store_groups(sorted(stores), per_partition)
        group_of = {s: i for i, g in enumerate(groups) for s in g}
        for name, path in files.items():
            _split(path, dest / name, group_of)
    except (Unsplittable, *READ_ERRORS):
        for name in files:
            shutil.rmtree(dest / name, ignore_errors=True)
        return False
    return True


def _chunks(path: Path, columns: list[str] | None = None) -> pd.io.parsers.TextFileReader:
    return pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        usecols=columns,
        chunksize=CHUNK_ROWS,
    )


def _stores(sales: Path) -> set[str]:
    if header_problems(sales, "") or "store" not in _columns(sales):
        raise Unsplittable(sales)
    stores: set[str] = set()
    with _chunks(sales, ["store"]) as reader:
        for chunk in reader:
            stores.update(chunk["store"].dropna().str.strip())
    return stores


def _columns(path: Path) -> list[str]:
    names = pd.read_csv(path, nrows=0, dtype=str).columns
    return [str(c).strip() for c in names]


def _split(path: Path, out: Path, group_of: dict[str, int]) -> None:
    """path's rows into out/part-NNNNN.csv by store (every partition gets a file), or into
    out/all.csv for a table without a store column; each row with its line."""
    names = _columns(path)
    if header_problems(path, "") or LINE in names:
        raise Unsplittable(path)
    lines = row_lines(path)  # read along with the chunks, never all at once
    out.mkdir(parents=True)
    shared = "store" not in names
    rows = 0
    with _chunks(path) as reader:
        for chunk in reader:
            chunk.columns = [str(c).strip() for c in chunk.columns]
            numbers = np.fromiter(islice(lines, len(chunk)), int)
            if len(numbers) < len(chunk):  # a quoted value spans lines: lines not known
                raise Unsplittable(path)
            chunk.insert(0, LINE, numbers)
            rows += len(chunk)
            if shared:
                append_csv(chunk, out / shared_name(".csv"))
                continue
            stores = chunk["store"].str.strip()
            part = stores.map(group_of).fillna(0).to_numpy(dtype=int)
            for p in np.unique(part):
                append_csv(chunk[part == p], out / part_name(int(p), ".csv"))
    if next(lines, None) is not None or rows == 0:  # lines that are not rows, or no rows
        raise Unsplittable(path)
    if not shared:
        columns = [LINE, *names]
        for p in set(group_of.values()):
            append_csv(pd.DataFrame(columns=columns), out / part_name(p, ".csv"))
