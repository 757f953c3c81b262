"""The gate verdict, `umbrella gate`'s exit code, and `umbrella report` against a base."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, umbrella

from umbrella.gate import check_gate
from umbrella.params import Gate
from umbrella.report import flatten, render

GATE = Gate(min_skill_cost=0.2, service_level_tolerance=0.03)


def metrics(cost: float, skill: float, service: float, gate: dict | None = None) -> dict:
    out = {
        "model": {"cost": cost, "wape": 0.5, "service_level": service},
        "baseline": {"cost": 1000.0},
        "skill": {"cost": skill, "wape": 0.3},
        "by_horizon": {"1": {"model": {"cost": cost / 2}}},
    }
    out["gate"] = gate if gate is not None else check_gate(out, GATE, 0.63)
    return out


@pytest.mark.parametrize(
    ("skill", "service", "passed"),
    [(0.25, 0.64, True), (0.19, 0.64, False), (0.25, 0.59, False), (0.25, 0.665, False)],
)
def test_gate_criteria(skill: float, service: float, passed: bool) -> None:
    verdict = check_gate(metrics(700, skill, service), GATE, 0.63)
    assert verdict["passed"] is passed
    assert set(verdict["checks"]) == {"skill_cost", "service_level"}


def test_report_without_base_metrics_says_so() -> None:
    text = render(metrics(700, 0.3, 0.64), None, {"train": {"model": "gbm"}}, None, "main")
    assert "no metrics at `main` to compare with (first report)" in text
    assert "passes the gate" in text
    assert "| `model.cost` |" in text


def test_report_against_a_base_gives_the_money_verdict_and_the_diffs() -> None:
    new, old = metrics(700, 0.3, 0.64), metrics(800, 0.2, 0.64)
    text = render(new, old, {"train": {"model": "gbm"}}, {"train": {"model": "linear"}}, "main")
    assert "**Verdict:** cheaper than `main` by 100 in money (-12.5%); passes the gate." in text
    assert "| `train.model` | linear | gbm |" in text
    assert "`by_horizon.1.model.cost`" in text  # other changed metrics are listed
    assert "as costly as `main`" in render(new, new, {}, {}, "main")
    dearer = render(old, new, {}, {}, "main")
    assert "dearer than `main` by 100" in dearer and "No param differs" in dearer


def test_flatten_names_keys_like_dvc() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_cli_report_and_gate_in_a_repository(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "empty")

    (tmp_path / "metrics" / "evaluate.json").write_text(json.dumps(metrics(800, 0.25, 0.64)))
    first = umbrella(["report", "--base", "main"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "first report" in first.stdout
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")

    failing = metrics(900, 0.1, 0.64)
    (tmp_path / "metrics" / "evaluate.json").write_text(json.dumps(failing))
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["train"]["model"] = "linear"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "report.md"
    second = umbrella(["report", "--base", "main", "--out", str(out)], tmp_path)
    assert second.returncode == 0, second.stderr
    text = out.read_text()
    assert "dearer than `main` by 100" in text and "**fails the gate**" in text
    assert "| `train.model` | gbm | linear |" in text

    gate = umbrella(["gate"], tmp_path)
    assert gate.returncode == 1 and "FAIL skill_cost" in gate.stderr
    (tmp_path / "metrics" / "evaluate.json").write_text(json.dumps(metrics(700, 0.3, 0.64)))
    assert umbrella(["gate"], tmp_path).returncode == 0


def test_cli_gate_without_metrics_is_a_clear_error(tmp_path: Path) -> None:
    result = umbrella(["gate"], tmp_path)
    assert result.returncode == 2
    assert "metrics/evaluate.json" in result.stderr and "Traceback" not in result.stderr
