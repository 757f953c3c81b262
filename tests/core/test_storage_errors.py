"""A full disk, a quota, a read-only folder or a denied permission: one clear line, exit 2, no
traceback, and nothing half-written (the previous outputs stay as they were)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
from support.inprocess import umbrella_in


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_validate_out_of_space(
    root: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    """The second table's write fails (as root, chmod does not stop a write: the OSError is
    raised at the write call, as pyarrow raises it, with no file name)."""
    assert umbrella_in(root, ["validate"]).code == 0
    before = snapshot(root / "data")
    calls = []
    real = pd.DataFrame.to_parquet

    def full_disk(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(code, os.strerror(code))
        real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    result = umbrella_in(root, ["validate"])
    assert (result.code, result.error) == (2, None)
    assert (
        result.stderr
        == f"error: umbrella validate: writing data/interim/weather/all.parquet: {reason}\n"
    )
    assert snapshot(root / "data") == before  # no half-written table, no temporary file


@pytest.mark.slow
def test_train_model_write_fails(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for stage in ("validate", "features"):
        assert umbrella_in(root, [stage]).code == 0

    def no_space(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", no_space)
    result = umbrella_in(root, ["train"])
    assert (result.code, result.error) == (2, None)
    assert (
        result.stderr
        == "error: umbrella train: writing models/model.skops: no space left on device\n"
    )
    assert not (root / "models").exists() or list((root / "models").iterdir()) == []
