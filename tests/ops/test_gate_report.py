"""The gate verdict, `umbrella gate`'s exit code, and `umbrella report` against a base."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_repo, umbrella

from umbrella.core.params import Gate
from umbrella.evaluation.gate import failed_checks, gate_verdict
from umbrella.evaluation.scores import headline
from umbrella.ops.report import Side, flatten, number, render

GATE = Gate(
    min_skill_cost=0.2,
    service_level_tolerance=0.03,
    min_stock_skill_cost=0.3,
    fill_rate_tolerance=0.02,
)
TEST = {"start": "2015-01-01", "end": "2015-12-31", "rows": 63350, "scored_against": "true demand"}


def metrics(
    cost: float, skill: float, service: float, gate: dict | None = None, test: dict | None = None
) -> dict:
    out = {
        # whole umbrellas: the plain share of days met runs above the mid one
        "model": {
            "cost": cost,
            "wape": 0.5,
            "service_level": service + 0.04,
            "service_level_mid": service,
        },
        "baseline": {"cost": 1000.0},
        "skill": {"cost": skill, "wape": 0.3},
        "by_horizon": {"1": {"model": {"cost": cost / 2}}},
        "test": {**TEST, "service_level_target": 0.631579, "forecasts": "issued"},
    }
    out["test"].update(test or {})
    out["gate"] = gate if gate is not None else gate_verdict(out, GATE, 0.63)
    return out


def side(label: str, evaluate: dict | None, params: dict | None = None, **more) -> Side:
    return Side(label, evaluate, params, more.get("monitor"), more.get("lock"))


@pytest.mark.parametrize(
    ("skill", "service", "passed"),
    [(0.25, 0.64, True), (0.19, 0.64, False), (0.25, 0.59, False), (0.25, 0.665, False)],
)
def test_gate_criteria(skill: float, service: float, passed: bool) -> None:
    verdict = gate_verdict(metrics(700, skill, service), GATE, 0.63)
    assert verdict["passed"] is passed
    assert set(verdict["checks"]) == {"skill_cost", "service_level_mid"}
    assert (failed_checks(verdict) == []) is passed


@pytest.mark.parametrize(
    ("skill", "fill_rate", "failed"),
    [
        (0.6, 0.9977, []),
        (0.25, 0.9977, ["stock_skill_cost = 0.25 (rule >= 0.3)"]),
        (0.6, 0.975, ["stock_fill_rate = 0.975 (rule >= 0.9792 (its ratio - 0.02))"]),
    ],
)
def test_with_the_stock_the_gate_judges_its_replayed_money_and_fill_rate(
    skill: float, fill_rate: float, failed: list[str]
) -> None:
    stock = {"skill_cost": skill, "fill_rate": fill_rate, "model": {"ratio": 0.9992}}
    verdict = gate_verdict(metrics(700, 0.25, 0.64), GATE, 0.63, stock)
    assert set(verdict["checks"]) == {
        "skill_cost",
        "service_level_mid",
        "stock_skill_cost",
        "stock_fill_rate",
    }
    assert failed_checks(verdict) == failed
    assert verdict["passed"] is (failed == [])


def test_failed_checks_name_each_failed_criterion_with_its_value_and_rule() -> None:
    verdict = gate_verdict(metrics(700, 0.19, 0.64), GATE, 0.63)
    assert failed_checks(verdict) == ["skill_cost = 0.19 (rule >= 0.2)"]
    assert failed_checks({"passed": False, "checks": {}}) == ["the gate (no criteria listed)"]


def test_report_without_base_metrics_says_so() -> None:
    work = side("workspace", metrics(700, 0.3, 0.64), {"train": {"model": "gbm"}})
    text = render(side("`main`", None), work, "`main`")
    assert "no metrics at `main` to compare with (first report)" in text
    assert "passes the gate" in text
    assert "| `model.cost` |" in text


def test_report_against_a_base_gives_the_money_verdict_and_the_diffs() -> None:
    new, old = metrics(700, 0.3, 0.64), metrics(800, 0.2, 0.64)
    text = render(
        side("`main`", old, {"train": {"model": "linear"}}),
        side("workspace", new, {"train": {"model": "gbm"}}),
        "`main`",
    )
    assert "**Verdict:** cheaper than `main` by 100 in money (-12.5 %); passes the gate." in text
    assert "| `train.model` | linear | gbm |" in text
    assert "`by_horizon.1.model.cost`" in text  # other changed metrics are listed
    same = render(side("b", new, {}), side("w", new, {}), "`main`")
    assert "as costly as `main`" in same
    dearer = render(side("b", new, {}), side("w", old, {}), "`main`")
    assert "dearer than `main` by 100" in dearer and "No param differs" in dearer


def test_report_numbers_are_for_people() -> None:
    """Money with thousands separators and no decimals, shares with three decimals,
    percentages with one, and no exponent notation anywhere (it printed +2.065e+05)."""
    old = metrics(2_527_201.0, 0.349, 0.658)
    new = metrics(2_733_670.0, 0.330, 0.654)
    new["model"]["bias"] = 0.000012
    old["model"]["bias"] = -0.00003
    text = render(side("b", old, {}), side("w", new, {}), "`main`")
    assert "dearer than `main` by 206,469 in money (+8.2 %)" in text
    assert "| `model.cost` | money lost by the model's orders | 2,527,201 | 2,733,670 | " in text
    assert "+206,469 (+8.2 %)" in text
    assert (
        "| `skill.cost` | share of seasonal naive's cost saved | 0.349 | 0.330 | -0.019 |" in text
    )
    assert "| `model.bias` | -0.000 | 0.000 | +0.000 |" in text
    assert not re.search(r"\de[+-]\d", text), re.findall(r".*\de[+-]\d.*", text)
    assert number(1_000_000.0, "test.rows") == "1,000,000"
    assert number(2_527_201.4, "oracle.cost") == "2,527,201"
    assert number(0.65789, "model.service_level") == "0.658"
    # The stock replayed: its cost and parts in money, its shares as shares.
    assert number(6240.4, "stock.model.left_over") == "6,240"
    assert number(11433.3, "stock.cost") == "11,433"
    assert number(0.647286, "stock.skill_cost") == "0.647"


def test_the_report_shows_the_stock_replayed_in_money_with_its_parts() -> None:
    old, new = metrics(2_527_201.0, 0.349, 0.658), metrics(2_527_201.0, 0.349, 0.658)
    for side_metrics, cost in ((old, 12_000.0), (new, 11_433.3)):
        side_metrics["stock"] = {
            "cost": cost,
            "skill_cost": 0.65,
            "model": {"cost": cost, "lost_margin": 2218.0, "holding": 2975.3, "left_over": 6240.0},
        }
    text = render(side("b", old, {}), side("w", new, {}), "`main`")
    row = "| `stock.cost` | money lost with stock carried over: the model's orders replayed |"
    assert f"{row} 12,000 | 11,433 | -567 (-4.7 %) |" in text
    assert "| `stock.model.holding` | of it: the nights umbrellas spent in stock | 2,975 |" in text


def test_report_on_other_data_does_not_compare_money() -> None:
    """After switching data sets the verdict said "cheaper than HEAD by 2,336,966 (-92.5 %)"."""
    base = metrics(2_527_201.0, 0.349, 0.658)
    work = metrics(
        190_235.0,
        0.21,
        0.70,
        test={"start": "2013-09-03", "end": "2013-12-31", "rows": 4000, "scored_against": "sales"},
    )
    text = render(
        side("`HEAD`", base, {"data": {"source": "simulate"}}),
        side("workspace", work, {"data": {"source": "csv", "sales": "shop/sales.csv"}}),
        "`HEAD`",
    )
    verdict = text.splitlines()[2]
    assert "cheaper" not in verdict and "2,336,966" not in verdict, verdict
    assert verdict.startswith(
        "**Verdict:** costs are **not comparable** with `HEAD` (other data, other test period, "
        "other number of test rows, scored against another target), so money is not compared; "
        "on skill and calibration it is **worse**: skill.cost 0.210 (`HEAD` 0.349, -0.139); "
        "skill.wape 0.300 (`HEAD` 0.300, +0.000); "
        "calibration |service_level_mid − τ*| 0.068 (`HEAD` 0.026, +0.042)"
    ), verdict
    assert (
        "| `model.cost` | money lost by the model's orders | 2,527,201 | 190,235 | not comparable |"
        in text
    )


def test_report_judges_skill_when_only_the_test_period_moved() -> None:
    """The weekly retrain moves the test window: skill and calibration, not money."""
    base = metrics(2_527_201.0, 0.30, 0.70)
    work = metrics(2_700_000.0, 0.35, 0.64, test={"start": "2015-01-08", "end": "2016-01-07"})
    text = render(side("b", base, {}), side("w", work, {}), "`main`")
    assert "not comparable** with `main` (other test period)" in text
    assert "on skill and calibration it is **better**" in text
    assert "dearer" not in text


def test_report_states_data_test_period_rows_and_monitor_of_both_sides() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["base"]["seed"] = 42
    params["simulate"].update(stores=25, regions=1, weather="seattle", stockouts=True)
    params["simulate"].update(start="2012-01-01", end="2015-12-31", drift=None)
    csv = copy.deepcopy(params)
    csv["data"].update(source="csv", sales="shop/sales.csv", weather="shop/weather.csv")
    lock = {"stages": {"pull": {"outs": [{"path": "data/raw", "md5": "0123456789abcdef.dir"}]}}}
    monitor = {
        "status": "drift",
        "window": {"start": "2015-12-04", "end": "2015-12-31"},
        "demand_shift": {"score": -0.192, "threshold": 0.12, "drift": True},
        "residual": {"score": 0.05, "threshold": 0.35},
        "performance": {"skill_drop": 0.02, "threshold": 0.15},
        "stock": {"score": 0.184, "threshold": 0.75, "verdict": "ok"},
        "drifted_features": ["fc_rain_mm"],
    }
    work_metrics = metrics(700, 0.3, 0.64, test={"rows": 1197, "start": "2012-08-02"})
    text = render(
        side("`main` (abc1234)", metrics(800, 0.2, 0.64), params, monitor={"status": "ok"}),
        side("workspace", work_metrics, csv, monitor=monitor, lock=lock),
        "`main`",
    )
    assert "| | `main` (abc1234) | workspace |" in text
    assert re.search(
        r"\| data source \| simulate \(25 stores, 1 region, seattle weather, "
        r"2012-01-01\.\.2015-12-31, seed 42, stock-outs\) \| csv \(sales shop/sales\.csv, "
        r"weather shop/weather\.csv\) \|",
        text,
    ), text
    assert "| raw data (dvc.lock md5) | — | `01234567` |" in text
    assert "| test period | 2015-01-01..2015-12-31 | 2012-08-02..2015-12-31 |" in text
    assert "| test rows | 63,350 | 1,197 |" in text
    assert "| status | **ok** | **drift** |" in text
    assert "| demand shift | — | -0.192 (limit 0.120) |" in text
    assert "| stock skill drop (inventory.carry_over) | — | 0.184 (limit 0.750) |" in text
    assert "| drifted features (do not set the status) | none | 1: fc_rain_mm |" in text


def test_report_warns_when_a_changed_knob_belongs_to_a_model_not_trained() -> None:
    """`dvc exp run -S train.model=linear` then `-S train.gbm.max_leaf_nodes=15` trained the
    linear model again, with gbm knobs that it never reads: the report said nothing."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    linear = copy.deepcopy(params)
    linear["train"]["model"] = "linear"
    linear["train"]["gbm"]["max_leaf_nodes"] = 15
    linear["train"]["linear"]["alpha"] = 0.5
    new, old = metrics(700, 0.3, 0.64), metrics(800, 0.2, 0.64)
    text = render(side("`main`", old, params), side("workspace", new, linear), "`main`")
    warnings = [line for line in text.splitlines() if "Warning" in line]
    assert len(warnings) == 1, warnings
    assert "`train.gbm.max_leaf_nodes`" in warnings[0] and "`linear`" in warnings[0]
    assert "alpha" not in warnings[0]  # the trained model's own knob
    assert text.index("Warning") < text.index("| metric |")  # under the verdict
    gbm = copy.deepcopy(params)
    gbm["train"]["gbm"]["max_leaf_nodes"] = 15
    text = render(side("`main`", old, params), side("workspace", new, gbm), "`main`")
    assert "| `train.gbm.max_leaf_nodes` | 7 | 15 |" in text and "Warning" not in text


def test_flatten_names_keys_like_dvc() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}


# --- the command in temporary repositories -------------------------------------------------


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _write(root: Path, evaluate: dict) -> None:
    """As `evaluate` writes them: the headline (a DVC metric) and the full report."""
    for folder in ("metrics", "reports"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "metrics" / "evaluate.json").write_text(json.dumps(headline(evaluate)))
    (root / "reports" / "evaluate.json").write_text(json.dumps(evaluate))


def _repository(root: Path, evaluate: dict | None = None) -> Path:
    """A repository whose `main` has the project's params and, if given, metrics."""
    (root / "metrics").mkdir(parents=True)
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    if evaluate is not None:
        _write(root, evaluate)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--allow-empty", "-m", "base")
    return root


@pytest.mark.slow
def test_cli_report_and_gate_in_a_repository(tmp_path: Path) -> None:
    _repository(tmp_path)
    _write(tmp_path, metrics(800, 0.25, 0.64))
    first = umbrella(["report", "--base", "main"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "first report" in first.stdout
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "metrics")

    failing = metrics(900, 0.1, 0.64)
    _write(tmp_path, failing)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["train"]["model"] = "linear"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "report.md"
    second = umbrella(["report", "--base", "main", "--out", str(out)], tmp_path)
    assert second.returncode == 0, second.stderr
    text = out.read_text()
    assert "dearer than `main` by 100" in text and "**fails the gate**" in text
    assert "| `train.model` | gbm | linear |" in text
    assert "`by_horizon.1.model.cost`" in text  # the details, from reports/evaluate.json

    gate = umbrella(["gate"], tmp_path)
    assert gate.returncode == 1 and "FAIL skill_cost" in gate.stderr  # the criteria: reports/
    _write(tmp_path, metrics(700, 0.3, 0.64))
    assert umbrella(["gate"], tmp_path).returncode == 0
    (tmp_path / "reports" / "evaluate.json").unlink()  # the verdict alone is enough
    assert umbrella(["gate"], tmp_path).returncode == 0


@pytest.mark.slow
def test_cli_report_against_a_base_from_before_reports(tmp_path: Path) -> None:
    """An older base: everything in metrics/evaluate.json and metrics/monitor.json, the
    figures in plots/; the workspace: headlines, reports/ and plots/<stage>/."""
    root = _repository(tmp_path / "repo")
    old = metrics(800, 0.25, 0.64)
    (root / "metrics" / "evaluate.json").write_text(json.dumps(old))
    monitor = {"status": "drift", "window": {"start": "2015-12-04", "end": "2015-12-31"}}
    (root / "metrics" / "monitor.json").write_text(json.dumps(monitor))
    (root / "plots").mkdir()
    (root / "plots" / "cost.png").write_bytes(b"\x89PNG old cost")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "old layout")
    _write(root, metrics(700, 0.3, 0.64))
    (root / "metrics" / "monitor.json").write_text(json.dumps({"monitor": {"status": "ok"}}))
    (root / "reports" / "monitor.json").write_text(json.dumps({**monitor, "status": "ok"}))
    (root / "plots" / "evaluate").mkdir()
    (root / "plots" / "evaluate" / "cost.png").write_bytes(b"\x89PNG new cost")
    out = tmp_path / "report.md"
    result = umbrella(["report", "--base", "main", "--out", str(out)], root)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "cheaper than `main` by 100 in money" in text
    assert "| test rows | 63,350 | 63,350 |" in text
    assert "| status | **drift** | **ok** |" in text
    assert "| window | 2015-12-04..2015-12-31 | 2015-12-04..2015-12-31 |" in text
    assert _images(text)[:2] == ["report_plots/base_cost.png", "repo/plots/evaluate/cost.png"]
    assert (tmp_path / "report_plots" / "base_cost.png").read_bytes() == b"\x89PNG old cost"


def _one_clear_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    return line


@pytest.mark.slow
def test_cli_report_on_an_unknown_base_is_an_error_that_says_how_to_fetch(tmp_path: Path) -> None:
    """`--base mian` (a typo) said "no metrics at `mian` ... (first report)" and exited 0."""
    _repository(tmp_path, metrics(800, 0.25, 0.64))
    typo = _one_clear_line(umbrella(["report", "--base", "mian"], tmp_path))
    assert typo == (
        "error: revision `mian` does not exist in this repository (a typo, or not fetched): "
        "fetch it with `git fetch origin mian`; on GitHub Actions check out with "
        "actions/checkout and `fetch-depth: 0`"
    )
    # An existing revision without metrics stays a normal, first report.
    _git(tmp_path, "checkout", "-q", "--orphan", "empty")
    _git(tmp_path, "rm", "-rq", "--cached", ".")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "nothing yet")
    first = umbrella(["report", "--base", "empty", "--images", "none"], tmp_path)
    assert first.returncode == 0 and "(first report)" in first.stdout, first.stderr


@pytest.mark.slow
def test_cli_report_on_an_unfetched_base_branch_is_an_error(tmp_path: Path) -> None:
    """A shallow, single-branch clone (actions/checkout's default) has no origin/main."""
    origin = _repository(tmp_path / "origin", metrics(800, 0.25, 0.64))
    _git(origin, "checkout", "-qb", "feature")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "feature")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", origin.as_uri(), "clone")
    line = _one_clear_line(umbrella(["report", "--base", "origin/main"], clone))
    assert "revision `origin/main` does not exist in this repository" in line
    assert "`git fetch origin main`" in line and "`fetch-depth: 0`" in line
    _git(clone, "fetch", "-q", "origin", "main:refs/remotes/origin/main")
    fetched = umbrella(["report", "--base", "origin/main"], clone)
    assert fetched.returncode == 0 and "as costly as `origin/main`" in fetched.stdout, (
        fetched.stderr
    )


@pytest.mark.slow
def test_cli_report_base_is_never_an_option_of_git(tmp_path: Path) -> None:
    """`--base=--output=/tmp/x` made `git show` write `/tmp/x:params.yaml`."""
    root = _repository(tmp_path / "repo", metrics(800, 0.25, 0.64))
    target = tmp_path / "x"
    before = sorted(tmp_path.rglob("*"))
    line = _one_clear_line(umbrella(["report", f"--base=--output={target}"], root))
    assert line.startswith(f"error: revision `--output={target}` does not exist"), line
    assert sorted(tmp_path.rglob("*")) == before  # no x:params.yaml, nothing else either
    assert not Path(f"{target}:params.yaml").exists()


@pytest.mark.slow
def test_cli_report_after_switching_data_sets(tmp_path: Path) -> None:
    """The repository's own files at HEAD; then another data set in the workspace."""
    root = copy_repo(tmp_path)
    evaluate = json.loads((root / "reports" / "evaluate.json").read_text())
    evaluate["model"]["cost"] = 190_235.0
    evaluate["test"].update(start="2013-09-03", end="2013-12-31", rows=4000)
    evaluate["test"]["scored_against"] = "sales"
    _write(root, evaluate)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"].update(source="csv", sales="shop/sales.csv", weather="shop/weather.csv")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    result = umbrella(["report", "--base", "HEAD"], root)
    assert result.returncode == 0, result.stderr
    verdict = result.stdout.splitlines()[2]
    assert "costs are **not comparable** with `HEAD` (other data, other test period" in verdict
    assert "cheaper" not in verdict and "in money (" not in verdict, verdict
    assert "| test rows | 63,350 | 4,000 |" in result.stdout
    assert "| status | **" in result.stdout  # the monitor of both sides


def _images(text: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)


@pytest.mark.slow
def test_cli_report_images_for_cml_and_none_for_the_summary(tmp_path: Path) -> None:
    """links: both sides' plots as files beside the report (what `cml comment create`
    uploads), the base's written from Git; none: no image at all."""
    root = _repository(tmp_path / "repo", metrics(800, 0.25, 0.64))
    (root / "plots" / "evaluate").mkdir(parents=True)
    (root / "plots" / "evaluate" / "cost.png").write_bytes(b"\x89PNG base cost")
    (root / "plots" / "evaluate" / "horizon.png").write_bytes(b"\x89PNG horizon")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "plots")
    (root / "plots" / "evaluate" / "cost.png").write_bytes(b"\x89PNG workspace cost")
    out = tmp_path / "review" / "report.md"
    out.parent.mkdir()
    result = umbrella(["report", "--base", "main", "--out", str(out)], root)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    links = _images(text)
    assert links == [
        "report_plots/base_cost.png",
        "../repo/plots/evaluate/cost.png",
        "../repo/plots/evaluate/horizon.png",
    ], text
    assert (out.parent / links[0]).read_bytes() == b"\x89PNG base cost"
    assert all((out.parent / link).is_file() for link in links)
    assert "| `main` (" in text and "(unchanged)" in text  # cost side by side, horizon once

    stdout = umbrella(["report", "--base", "main"], root)  # writes no file
    assert "| (written beside the report with `--out`) | ![cost in the workspace](" in stdout.stdout

    none = umbrella(["report", "--base", "main", "--images", "none"], root)
    assert none.returncode == 0 and not _images(none.stdout), none.stdout
    assert "Not shown here" in none.stdout


def _clone(root: Path, main_cost: float, work_cost: float) -> Path:
    """A checkout (dvc.yaml at its root) with metrics at main and others in its workspace."""
    _repository(root, metrics(main_cost, 0.25, 0.64))
    (root / "dvc.yaml").write_text("stages: {}\n")
    (root / "sub").mkdir()
    _write(root, metrics(work_cost, 0.25, 0.64))
    return root


@pytest.mark.slow
def test_cli_reads_the_checkout_it_runs_in_not_where_the_package_is(tmp_path: Path) -> None:
    """One environment, two clones: run from clone a (a subfolder of it), with the package
    imported from clone b, `umbrella report` read b's files (its ROOT came from the
    package's location), contradicting `dvc metrics diff` in a."""
    a = _clone(tmp_path / "a", 800, 700)
    b = _clone(tmp_path / "b", 800, 950)
    shutil.copytree(REPO / "src" / "umbrella", b / "src" / "umbrella")
    env = {k: v for k, v in os.environ.items() if k != "UMBRELLA_ROOT"}
    env["PYTHONPATH"] = str(b / "src")
    command = [sys.executable, "-m", "umbrella", "report", "--base", "main", "--images", "none"]
    result = subprocess.run(command, cwd=a / "sub", env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "cheaper than `main` by 100 in money" in result.stdout, result.stdout
    commit = _git(a, "rev-parse", "--short=7", "main").strip()
    assert f"Compared: the workspace of `{a}` with `main` ({commit})." in result.stdout
    assert str(b) not in result.stdout and "950" not in result.stdout

    # Outside any checkout: one clear error, not some other clone's files.
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    outside = subprocess.run(command, cwd=nowhere, env=env, capture_output=True, text=True)
    line = _one_clear_line(outside)
    assert line == (
        f"error: {nowhere} is not inside an umbrella-forecast checkout: no dvc.yaml here or in "
        "a parent folder; cd into a clone (or set UMBRELLA_ROOT to one)"
    )
    # UMBRELLA_ROOT still wins.
    env["UMBRELLA_ROOT"] = str(b)
    pointed = subprocess.run(command, cwd=a, env=env, capture_output=True, text=True)
    assert "dearer than `main` by 150 in money" in pointed.stdout, pointed.stderr


@pytest.mark.slow
def test_cli_gate_without_metrics_is_a_clear_error(tmp_path: Path) -> None:
    result = umbrella(["gate"], tmp_path)
    assert result.returncode == 2
    assert "metrics/evaluate.json" in result.stderr and "Traceback" not in result.stderr


def test_report_reads_params_floats_as_dvc_writes_them() -> None:
    """`dvc exp run -S train.linear.alpha=1e-5` writes 1e-05: a number in the params diff."""
    from umbrella.ops.report import _yaml

    assert _yaml("train:\n  linear:\n    alpha: 1e-05\n", "params.yaml") == {
        "train": {"linear": {"alpha": 1e-05}}
    }
