"""The GitHub workflows: valid against GitHub's schema, no high findings from zizmor, actions
pinned to commit SHAs, least privilege, and the test workflow runs the README's test command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ["test.yaml", "cml.yaml", "retrain.yaml"]
BIN = Path(sys.executable).parent
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def tool(name: str) -> Path:
    """A dev dependency's console script in this environment; missing is a failure, not a skip."""
    path = BIN / name
    assert path.exists(), f"{name} is missing: it is a dev dependency (pip install -e '.[dev]')"
    return path


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else dict.fromkeys(on) if isinstance(on, list) else on


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def permissions(workflow: dict[str, Any], job: str) -> dict[str, str]:
    """The job's effective permissions: its own block, else the workflow's."""
    block = workflow["jobs"][job].get("permissions", workflow.get("permissions"))
    assert isinstance(block, dict), f"{job}: permissions must be explicit"
    return block


def readme_test_command() -> str:
    """The `make test` line of the README's first code block, without its comment."""
    block = re.search(r"```[^\n]*\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)
    assert block, "README.md has no code block"
    for line in block.group(1).splitlines():
        command = line.split("#", 1)[0].strip()
        if command.startswith("make test"):
            return command
    raise AssertionError("README.md's first code block has no `make test` line")


@pytest.mark.parametrize("name", NAMES)
def test_valid_against_githubs_workflow_schema(name: str) -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", WORKFLOWS / name],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def zizmor_high(target: Path) -> tuple[int, list[str]]:
    """zizmor's exit code and its findings of high severity, offline, as `ident: code` lines."""
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "high", "--format", "json", target],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.stdout.strip(), result.stderr[-2000:]  # a crash prints no JSON
    findings = [
        f"{finding['ident']}: {finding['locations'][0]['concrete']['feature']}"
        for finding in json.loads(result.stdout)
    ]
    return result.returncode, findings


def test_zizmor_finds_nothing_of_high_severity() -> None:
    assert zizmor_high(WORKFLOWS) == (0, [])


def test_the_audits_catch_a_bad_workflow(tmp_path: Path) -> None:
    """The checks above are not vacuous: an injectable, unpinned workflow fails both tools."""
    bad = tmp_path / ".github" / "workflows" / "bad.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request_target\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    code, findings = zizmor_high(bad)
    assert code != 0 and any(f.startswith("template-injection") for f in findings), findings
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: 1\n")
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", invalid],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_and_checkouts_keep_no_credentials(name: str) -> None:
    workflow = load(name)
    text = (WORKFLOWS / name).read_text()
    for step in steps(workflow):
        uses = step.get("uses")
        if uses is None:
            continue
        assert SHA_PIN.match(uses), f"{name}: {uses} is not pinned to a full commit SHA"
        assert re.search(re.escape(uses) + r" # v\d+\.\d+\.\d+", text), f"{uses}: no # vX.Y.Z"
        if uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, f"{name}: persist-credentials"


@pytest.mark.parametrize("name", NAMES)
def test_no_expressions_in_run_scripts(name: str) -> None:
    """Values reach scripts through `env:`, never by interpolation (template injection)."""
    for step in steps(load(name)):
        assert "${{" not in step.get("run", ""), f"{name}: {step.get('name')}"


def test_test_workflow_runs_the_readmes_test_command() -> None:
    workflow = load("test.yaml")
    assert {"push", "pull_request"} <= set(triggers(workflow))
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    runs = [step["run"].strip() for step in job["steps"] if "run" in step]
    assert readme_test_command() in runs
    pythons = [
        s["with"]["python-version"] for s in job["steps"] if "setup-python" in s.get("uses", "")
    ]
    assert pythons == ["3.11"]


def test_cml_workflow_reports_and_gates_pull_requests() -> None:
    workflow = load("cml.yaml")
    assert set(triggers(workflow)) == {"pull_request"}
    assert permissions(workflow, "report") == {"contents": "read", "pull-requests": "write"}
    all_steps = steps(workflow)
    assert all_steps[0]["with"]["fetch-depth"] == 0
    runs = "\n".join(step.get("run", "") for step in all_steps)
    order = [
        "make install",
        ".venv/bin/dvc pull",
        ".venv/bin/dvc repro",
        '.venv/bin/umbrella report --base "origin/$BASE_REF" --out report.md',
        'cat report.md >> "$GITHUB_STEP_SUMMARY"',
        "cml comment create --watermark-title=umbrella report.md",
        ".venv/bin/umbrella gate",
    ]
    positions = [runs.find(command) for command in order]
    assert -1 not in positions and positions == sorted(positions), dict(
        zip(order, positions, strict=True)
    )
    report = next(s for s in all_steps if "umbrella report" in s.get("run", ""))
    assert report["env"]["BASE_REF"] == "${{ github.base_ref }}"
    comment = next(s for s in all_steps if "cml comment" in s.get("run", ""))
    assert comment["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"


def test_retrain_workflow_opens_a_pull_request_only_after_the_gate() -> None:
    workflow = load("retrain.yaml")
    assert {"schedule", "workflow_dispatch"} <= set(triggers(workflow))
    assert workflow["permissions"] == {}
    assert permissions(workflow, "retrain") == {"contents": "write", "pull-requests": "write"}
    all_steps = steps(workflow)
    names = [step.get("run", step.get("uses", "")) for step in all_steps]
    forced = next(i for i, run in enumerate(names) if "dvc repro --force pull" in run)
    gate = next(i for i, run in enumerate(names) if ".venv/bin/umbrella gate" in run)
    (pr,) = [i for i, step in enumerate(all_steps) if "create-pull-request" in step.get("uses", "")]
    assert forced < gate < pr
    # Steps after the gate run only if it passed: none may opt out with `if: always()` etc.
    assert all("if" not in step for step in all_steps[gate:])
    inputs = all_steps[pr]["with"]
    assert inputs["branch"] == "retrain/${{ github.run_id }}"
    assert inputs["body-path"] == "report.md"
    assert set(inputs["add-paths"].split()) == {"dvc.lock", "metrics/", "plots/"}
