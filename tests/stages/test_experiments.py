"""Sweeps: queued experiments run in parallel and are compared with `dvc exp show`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import commit_all, run

pytestmark = pytest.mark.slow


def _flatten_exps(shown: list) -> list[dict]:
    """The experiments of `dvc exp show --json`, each as its params and metrics files."""
    exps = []
    for baseline in shown:
        for branch in baseline.get("experiments") or []:
            for revision in branch.get("revs") or []:
                data = revision.get("data") or {}
                exps.append(data)
    return exps


def test_queued_experiments_run_with_two_jobs(reproduced: Path) -> None:
    """As `make sweep` after a `dvc repro` committed: the experiments re-run train and what
    follows it, the stages before restored from the cache."""
    commit_all(reproduced, "tiny")
    for model in ("seasonal_naive", "linear"):
        # Named, so that the test knows what to look for.
        name = f"try-{model.replace('_', '-')}"
        # DVC writes alpha as 1e-05, which YAML 1.1 reads as text (umbrella.core.params reads it).
        alpha = ["-S", "train.linear.alpha=1e-5"] if model == "linear" else []
        command = ["dvc", "exp", "run", "--queue", "-n", name, "-S", f"train.model={model}"]
        run([*command, *alpha], reproduced)
    run(["scripts/run-queue", "2"], reproduced)  # as `make sweep` runs the queue

    shown = json.loads(run(["dvc", "exp", "show", "--json"], reproduced).stdout)
    exps = _flatten_exps(shown)
    models = {
        e["params"]["params.yaml"]["data"]["train"]["model"]: e["metrics"]["metrics/evaluate.json"][
            "data"
        ]["model"]["cost"]
        for e in exps
    }
    assert set(models) == {"seasonal_naive", "linear"}, exps
    assert models["seasonal_naive"] != models["linear"]

    # the training curves of the experiments, side by side
    # Both experiments' refs: the last one can be collected a moment after its task ended
    # (seen once in CI: `dvc exp show` had both, `dvc exp ls` one), so wait a little for it.
    expected = ["try-linear", "try-seasonal-naive"]
    for _ in range(30):
        names = sorted(
            line.split()[0]
            for line in run(["dvc", "exp", "ls", "--name-only"], reproduced).stdout.splitlines()
            if line.strip() and not line.endswith(":")
        )
        if names == expected:
            break
        time.sleep(1)
    assert names == expected
    plots = json.loads(
        run(["dvc", "plots", "diff", *names, "--json", "--split"], reproduced).stdout
    )
    # both models log their in-sample quantile loss as a dvclive curve
    curve = plots["data"]["Quantile model (pinball loss at τ*), training curve"]  # dvc.yaml
    assert set(curve[0]["revisions"]) == set(names)


def test_run_queue_names_the_experiment_that_failed(repo_copy: Path) -> None:
    """`make sweep` must not pass over a failed experiment: scripts/run-queue exits 1 and
    says which one failed and where its output is."""
    commit_all(repo_copy, "tiny")
    run(["dvc", "exp", "run", "--queue", "-n", "broken", "-S", "train.model=bogus"], repo_copy)
    result = run(["scripts/run-queue", "2"], repo_copy, check=False)
    assert result.returncode == 1, result
    assert "experiment broken failed; its output: dvc queue logs broken" in result.stderr
