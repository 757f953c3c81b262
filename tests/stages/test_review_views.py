"""The review views fit a 120-column terminal, and the README's tour runs as written.

`dvc metrics show` prints one line per metrics file with a column for every key of every
metrics file; `dvc exp show` has a column for every param and every file the stages read
and, in a terminal too narrow for them, collapses them to `…` (model.cost included). The
headline metrics must be visible, never cut, in 120 columns.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import GIT, REPO, commit_all, copy_repo, repo_env, run, set_params

pytestmark = pytest.mark.slow

WIDTH = 120
HEADLINE = ["model.cost", "skill.cost", "gate.passed", "validation.cost"]
# The tour's `dvc exp show` keeps what experiments are chosen and shipped on: skill.cost too
# would not fit beside two changed params.
TOUR = ["model.cost", "gate.passed", "validation.cost"]


def tour() -> list[str]:
    """The command lines of the README's tour (its bash blocks), comments left out."""
    text = (REPO / "README.md").read_text()
    section = text.split("## A 5-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def exp_show() -> list[str]:
    """The tour's `dvc exp show` command."""
    (line,) = [line for line in tour() if line.startswith("dvc exp show")]
    return shlex.split(line, comments=True)


def shown(command: list[str], root: Path) -> str:
    """What a 120-column terminal shows of `command`."""
    env = dict(repo_env(root), COLUMNS=str(WIDTH))
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def fits(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not wide, f"{len(wide[0])} characters, more than {WIDTH}:\n{text}"
    assert "…" not in text, f"collapsed columns:\n{text}"


def metrics_columns(text: str) -> dict[str, str]:
    """metrics/evaluate.json's row of `dvc metrics show`, by column."""
    lines = text.splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    (row,) = [re.split(r"\s{2,}", line.strip()) for line in lines if line.startswith("metrics/ev")]
    return dict(zip(header, row, strict=True))


def metrics_shows() -> list[list[str]]:
    """The tour's `dvc metrics show` commands: the forecasts' headlines, the stock's."""
    return [
        shlex.split(line, comments=True) for line in tour() if line.startswith("dvc metrics show")
    ]


def test_metrics_show_and_the_tours_exp_show_fit_120_columns(tmp_path: Path) -> None:
    """On the committed metrics: every line within 120 columns, the headlines in full."""
    root = copy_repo(tmp_path / "repo")
    forecasts, stock = metrics_shows()
    text = shown(forecasts, root)
    fits(text)
    row = metrics_columns(text)
    evaluate = json.loads((root / "metrics" / "evaluate.json").read_text())
    assert row["model.cost"] == str(evaluate["model"]["cost"]), text
    assert row["gate.passed"] == str(evaluate["gate"]["passed"]), text
    assert float(row["skill.cost"]) == pytest.approx(evaluate["skill"]["cost"], abs=1e-5)
    assert row["validation.cost"] == str(evaluate["validation"]["cost"]), text
    assert set(HEADLINE) <= set(row), text

    text = shown(stock, root)
    fits(text)
    header, row = (re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[:2])
    replayed = json.loads((root / "metrics" / "stock.json").read_text())["stock"]
    assert header[1:] == sorted(f"stock.{key}" for key in replayed), text
    assert row[header.index("stock.cost")] == str(replayed["cost"]), text

    text = shown(exp_show(), root)
    fits(text)
    for key in TOUR:
        assert key in text, text


def test_the_readme_tour_runs_and_leaves_no_trap(reproduced: Path) -> None:
    """Run in place, the tour's first experiment left `train.model: linear` behind and the
    second trained the linear model with gbm knobs. Every tour command runs here as the
    README writes it, after a `dvc repro` committed as a clone has it. The tiny data's models
    save 1 to 11 % of seasonal naive's cost, and their stock replayed costs more than its
    (-17 %): a gate they pass, so that predict orders."""
    relaxed = {"min_skill_cost": 0.0, "service_level_tolerance": 0.5}
    relaxed |= {"min_stock_skill_cost": -1.0, "fill_rate_tolerance": 0.5}
    set_params(reproduced, {"gate": relaxed})
    run([*GIT, "commit", "-qam", "tiny"], reproduced)
    run(["git", "branch", "-M", "main"], reproduced)
    run(["dvc", "repro"], reproduced)
    commit_all(reproduced, "reproduced")
    params = (reproduced / "params.yaml").read_text()

    outputs = {line: shown(shlex.split(line, comments=True), reproduced) for line in tour()}

    assert (reproduced / "params.yaml").read_text() == params  # no trap left behind
    assert yaml.safe_load(params)["train"]["model"] == "gbm"
    text = next(out for line, out in outputs.items() if line.startswith("dvc exp show"))
    fits(text)
    for key in [*TOUR, "train.model", "train.gbm.learning_rate"]:
        assert key in text, text
    rows = [line for line in text.splitlines() if "[" in line]  # the experiments, by name
    assert len(rows) == 2, text
    assert any(" linear " in row for row in rows) and any(" 0.1 " in row for row in rows), text
    report = next(out for line, out in outputs.items() if line.startswith("umbrella report"))
    assert "Compared: the workspace of" in report and "Warning" not in report
