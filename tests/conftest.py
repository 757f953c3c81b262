"""Shared fixtures: tiny seeded data, params with overrides, and temporary repository copies."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# One OpenMP thread per process (HistGradientBoosting, numpy's BLAS), in this process and
# every command it starts: `make test` runs 2 test processes on 2 cores, and 2 threads each
# made the suite an eighth slower (488 s against 427 s; docs/index.md, "Development").
# Set before anything loads the OpenMP runtime; a value already set is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd
import pytest
import yaml
from filelock import FileLock

from umbrella.core.params import Params, parse_params
from umbrella.data.simulator.simulate import simulate_retailer

# A retailer's project for `umbrella predict` on its own files (tests/ops/).
pytest_plugins = ["support.retailer_project"]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# The columns of an orders file (docs/production.md).
ORDER_COLUMNS = ["store", "date", "horizon", "forecast", "order", "critical_ratio"]
# The per-forecaster keys reports/evaluate.json must have (docs/forecasting.md "Money"); the
# headline, metrics/evaluate.json, has exactly evaluation.HEADLINE (tests/stages/test_pipeline.py).
REQUIRED_METRICS = {
    "wape",
    "mae",
    "rmse",
    "bias",
    "mase",
    "cost",
    "service_level",
    "stockout_rate",
    "overstock_units",
}

TINY = {
    "simulate": {"stores": 3, "start": "2012-01-01", "end": "2012-09-30"},
    "split": {"test_days": 60},
    "train": {"gbm": {"max_iter": 30}},
    # a tiny pipeline fails the gate: its predict orders anyway, as CI's does
    "predict": {"allow_failed_gate": True},
}


def deep_merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def raw_params(overrides: dict | None = None) -> dict[str, Any]:
    """The repository's params.yaml as a mapping, with `overrides` merged in."""
    return deep_merge(yaml.safe_load((REPO / "params.yaml").read_text()), overrides or {})


def make_params(overrides: dict | None = None) -> Params:
    return parse_params(raw_params(overrides))


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    """Write tables as CSV files the way a retailer would send them (ISO dates)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in tables.items():
        paths[name] = folder / f"{name}.csv"
        table.to_csv(paths[name], index=False, date_format="%Y-%m-%d")
    return paths


@pytest.fixture(scope="session")
def tiny_tables() -> dict[str, pd.DataFrame]:
    """A simulated retailer: 3 stores over 9 months (do not mutate: copy first)."""
    params = make_params(TINY)
    return simulate_retailer(params.simulate, params.base.horizon, params.base.seed)


def copy_repo(dest: Path) -> Path:
    """Copy the working tree (tracked and untracked, not ignored) into a new git repository."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    commit_all(dest, "copy")
    return dest


GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def commit_all(root: Path, message: str) -> None:
    """Commit every change of the repository at `root` (as a user does after `dvc repro`)."""
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", message], cwd=root, check=True, capture_output=True)


def repo_env(root: Path) -> dict[str, str]:
    """Environment that runs the copy's own code and console script."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(root / "src")
    env.pop("UMBRELLA_ROOT", None)
    return env


def run(cmd: list[str], root: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=root, env=repo_env(root), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A temporary git copy of the repository, with tiny params (not committed)."""
    root = copy_repo(tmp_path / "repo")
    set_params(root, TINY)
    return root


@pytest.fixture(scope="session")
def reproduced_once(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A repo_copy after `dvc repro`, made once in a run: on 2 processes (pytest-xdist) the
    first to need it makes it in their common folder, the other waits (do not change: copy
    it)."""
    own = worker_id == "master"  # a single process
    shared = tmp_path_factory.getbasetemp() if own else tmp_path_factory.getbasetemp().parent
    root, done = shared / "reproduced" / "repo", shared / "reproduced" / "done"
    with FileLock(shared / "reproduced.lock"):
        if not done.exists():
            shutil.rmtree(root.parent, ignore_errors=True)  # a process that failed half way
            root.mkdir(parents=True)
            copy_repo(root)
            set_params(root, TINY)
            run(["dvc", "repro"], root)
            done.touch()
    return root


@pytest.fixture
def reproduced(tmp_path: Path, reproduced_once: Path) -> Path:
    """A repo_copy after `dvc repro` (outputs, cache and dvc.lock; nothing committed since the
    copy), as a user has it after running the pipeline: a copy of one made once."""
    return Path(shutil.copytree(reproduced_once, tmp_path / "repo", symlinks=True))


@pytest.fixture
def root(tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]) -> Path:
    """A bare repository root: params.yaml and the good tiny tables in data/raw."""
    folder = tmp_path / "repo"
    folder.mkdir()
    shutil.copy(REPO / "params.yaml", folder / "params.yaml")
    set_params(folder, TINY)
    write_tables(tiny_tables, folder / "data" / "raw")
    return folder


def set_params(root: Path, overrides: dict) -> None:
    params = deep_merge(yaml.safe_load((root / "params.yaml").read_text()), overrides)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def umbrella(args: list[str], root: Path) -> subprocess.CompletedProcess:
    """Run the CLI against another root, as a user would."""
    env = dict(os.environ, UMBRELLA_ROOT=str(root))
    return subprocess.run(
        [sys.executable, "-m", "umbrella", *args], env=env, capture_output=True, text=True
    )


def chromium() -> str:
    """Headless Chromium, for the tests that open pages in it. Missing, the test fails (not
    skips), as the PostgreSQL tests do: `make test` and .ci/run install it
    (scripts/system-packages)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: scripts/system-packages installs it")
    return found
