"""The tables between stages as Parquet datasets: a folder per table, one file per group
of `engine.stores_per_partition` stores (the stores in name order), so that no stage needs
every store in memory at once. A table without a store column (weather shared by all
stores) is one file that every partition reads.

    data/interim/sales/part-00000.parquet   stores 0..249
    data/interim/sales/part-00001.parquet   stores 250..499
    data/interim/weather/all.parquet        shared

Every per-store result is the same whatever the partitioning: a store's rows are never
split, and what is combined across partitions is combined in store order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from umbrella.core.files import write_parquet


def part_name(part: int, suffix: str = ".parquet") -> str:
    return f"part-{part:05d}{suffix}"


def shared_name(suffix: str = ".parquet") -> str:
    return f"all{suffix}"


def store_groups(stores: Sequence[str] | pd.Series, per_partition: int) -> list[list[str]]:
    """The stores in name order, cut into groups of `per_partition`."""
    ordered = sorted({str(s) for s in stores})
    return [ordered[i : i + per_partition] for i in range(0, len(ordered), per_partition)]


def write_partitioned(table: pd.DataFrame, folder: Path, groups: list[list[str]]) -> None:
    """One file per group of stores (every group has a file, empty or not), or one shared
    file for a table without a store column."""
    if "store" not in table:
        write_parquet(table, folder / shared_name())
        return
    group_of = {store: i for i, group in enumerate(groups) for store in group}
    index = table["store"].astype(str).map(group_of).to_numpy()
    for part in range(len(groups)):
        write_parquet(table[index == part], folder / part_name(part))


def part_files(folder: Path, suffix: str = ".parquet") -> list[Path]:
    """The partition files of a table, in partition order."""
    return sorted(folder.glob(f"part-*{suffix}"))


def partition_count(folder: Path, suffix: str = ".parquet") -> int:
    return len(part_files(folder, suffix))


def part_file(folder: Path, part: int, suffix: str = ".parquet") -> Path:
    """The file of partition `part` of a table: its own, or the one all partitions share."""
    shared = folder / shared_name(suffix)
    return shared if shared.exists() else folder / part_name(part, suffix)


def read_part(folder: Path, part: int, columns: list[str] | None = None) -> pd.DataFrame:
    """Partition `part` of a table (all of it when the table is shared)."""
    return pd.read_parquet(part_file(folder, part), columns=columns)


def read_all(
    folder: Path, columns: list[str] | None = None, filters: list | None = None
) -> pd.DataFrame:
    """Every partition of a table, in partition order; only its rows that pass `filters`
    (pyarrow's, e.g. [("date", "==", day)]), when given."""
    shared = folder / shared_name()
    if shared.exists():
        return pd.read_parquet(shared, columns=columns, filters=filters)
    parts = part_files(folder)
    if not parts:
        raise FileNotFoundError(folder)
    frames = [pd.read_parquet(p, columns=columns, filters=filters) for p in parts]
    return pd.concat(frames, ignore_index=True)
