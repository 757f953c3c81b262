"""engine.storage: the tasks' files carried through object storage (umbrella.core.storage), here
an S3 service on 127.0.0.1 (tests/support/object_store.py) and a 2-worker LocalCluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_params
from support.object_store import BUCKET, keys, s3_service

from umbrella.core.engine import runner
from umbrella.core.errors import ParamsError
from umbrella.core.storage import belongs


def test_a_partition_needs_its_own_part_files_and_the_shared_ones() -> None:
    assert belongs("part-00002.parquet", 2)
    assert not belongs("part-00002.parquet", 3)
    assert belongs("all.parquet", 3) and belongs("model.skops", 0)


def _task(part: int, table: Path, model: Path, out: Path) -> tuple[int, list[str], str, str]:
    """What a worker saw: its table folder's files and folders, the model's text, where."""
    seen = sorted(p.relative_to(table).as_posix() for p in table.rglob("*"))
    (out / "sub").mkdir()
    (out / "sub" / f"part-{part:05d}.txt").write_text(f"from {part}")
    return part, seen, model.read_text(), str(table)


@pytest.mark.slow
def test_tasks_read_and_write_through_object_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "checkout" / "table"
    files = ["a/part-00000.parquet", "a/part-00001.parquet", "a/all.parquet", "b/x.csv"]
    for name in [*files, "d/part-00001.parquet"]:  # partition 0 has no file in d/
        (table / name).parent.mkdir(parents=True, exist_ok=True)
        (table / name).write_text(name)
    model = tmp_path / "checkout" / "model.skops"
    model.write_text("the model")
    out = tmp_path / "checkout" / "out"
    out.mkdir()
    engine = make_params({"engine": {"kind": "dask", "storage": f"s3://{BUCKET}/runs"}}).engine
    with s3_service() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with runner(engine) as run:
            results = run(_task, [1, 0], {"table": table, "model": model}, {"out": out})
            # A second run of the session reuses what was uploaded.
            again = run(_task, [0], {"table": table, "model": model}, {"out": out})
        left = keys(env)
    assert [r[0] for r in results] == [1, 0]
    common = ["a", "a/all.parquet", "b", "b/x.csv", "d"]
    assert results[0][1] == sorted([*common, "a/part-00001.parquet", "d/part-00001.parquet"])
    assert results[1][1] == sorted([*common, "a/part-00000.parquet"])
    assert again[0][1] == results[1][1]
    assert {r[2] for r in results} == {"the model"}
    # The workers worked on their own copies, never on the checkout.
    assert not any(r[3].startswith(str(tmp_path)) for r in results)
    assert sorted(p.name for p in (out / "sub").iterdir()) == ["part-00000.txt", "part-00001.txt"]
    assert (out / "sub" / "part-00001.txt").read_text() == "from 1"
    assert left == []  # the session's folder is removed at its end


def test_storage_is_for_the_dask_engine() -> None:
    with pytest.raises(ParamsError, match=r"engine\.storage"):
        make_params({"engine": {"storage": "s3://bucket/prefix"}})
    with pytest.raises(ParamsError, match=r"engine\.storage"):
        make_params({"engine": {"kind": "dask", "storage": "bucket/prefix"}})
