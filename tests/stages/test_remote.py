"""A DVC remote shares the pipeline's outputs: push from one clone, pull into another, and the
second clone is up to date without running a stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import commit_all, run

pytestmark = pytest.mark.slow


def test_push_then_pull_into_a_fresh_clone(reproduced: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"  # a local folder outside both repositories
    remote = ["dvc", "remote", "add", "-d", "-f", "local", str(store)]
    run(remote, reproduced)
    commit_all(reproduced, "repro with a local remote")
    run(["dvc", "push"], reproduced)
    assert "in sync" in run(["dvc", "status", "--cloud"], reproduced).stdout

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(reproduced), str(clone)], check=True)
    run(remote, clone)  # already in the committed .dvc/config; a teammate would run this
    run(["dvc", "pull"], clone)

    assert any((clone / "data" / "interim").glob("*/part-*.parquet"))
    assert (clone / "models" / "model.skops").stat().st_size > 0
    # Only `sources` (always run: it looks at the data sources) is not "up to date".
    status = run(["dvc", "status"], clone).stdout
    assert status.split() == ["sources:", "always", "changed"], status
    out = run(["dvc", "repro"], clone).stdout
    ran = [line for line in out.splitlines() if line.startswith("Running stage")]
    assert ran == ["Running stage 'sources':"], out
    assert run(["git", "status", "--porcelain"], clone).stdout == ""
