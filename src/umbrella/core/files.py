"""Reading and writing files. Writes are atomic: a failed run never leaves half a file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from umbrella.core.errors import STORAGE_ERRORS, WriteError

FLOAT_DIGITS = 6  # metrics and plot data are rounded so reruns give the same bytes


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    A storage error inside (disk full, read-only, permission) is raised as WriteError naming
    `path`: the write call itself (pyarrow's, say) does not say which file it was writing.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        _raise_write_error(exc, path)
        raise
    os.close(fd)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are ordinary files
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _raise_write_error(exc, path)
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _raise_write_error(exc: OSError, path: Path) -> None:
    """Raise a storage error as WriteError naming `path`; return on any other error."""
    if exc.errno in STORAGE_ERRORS and not isinstance(exc, WriteError):
        raise WriteError(exc.errno, STORAGE_ERRORS[exc.errno], str(path)) from exc


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(tmp) on a temporary path, then move it to `path`."""
    with atomic_path(path) as tmp:
        write(tmp)


def replace_folder(folder: Path, fill: Callable[[Path], object]) -> None:
    """Call fill(staging) on an empty folder beside `folder`, then swap it in.

    A failure while filling (bad input, disk full) leaves `folder` as it was, and no file of
    an earlier run lingers in the new one. A storage error names the file by its final path.
    """
    folder = Path(folder)
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        fill(staging)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    except WriteError as exc:
        where = folder / Path(exc.filename).relative_to(staging)
        raise WriteError(exc.errno, exc.strerror, str(where)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_csv(df: pd.DataFrame, path: Path, digits: int | None = None) -> None:
    out = df.round(digits) if digits is not None else df
    atomic_write(path, lambda tmp: out.to_csv(tmp, index=False, lineterminator="\n"))


def csv_text(df: pd.DataFrame, header: bool = True) -> str:
    return df.to_csv(index=False, header=header, lineterminator="\n")


def append_csv(df: pd.DataFrame, path: Path) -> None:
    """Rows at the end of a CSV file, the header first when the file is new: a table
    written a chunk at a time (in a folder that replaces the old one when all is written)."""
    text = csv_text(df, header=not path.exists())
    with open(path, "a", encoding="utf-8", newline="") as file:
        file.write(text)


def round_floats(obj: Any, digits: int = FLOAT_DIGITS) -> Any:
    """Round every float in a nested structure; numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [round_floats(v, digits) for v in obj]
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return None if not np.isfinite(value) else round(value, digits)
    return obj


def write_json(obj: Any, path: Path) -> None:
    text = json.dumps(round_floats(obj), indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
