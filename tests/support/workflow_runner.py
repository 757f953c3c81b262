"""Run a GitHub Actions workflow's steps here, in order, with GitHub's environment stood in.

What runs for real: every `run:` step, as GitHub runs it (`bash -e {0}` by default, or the
step's `shell:`), in a clone of a local "origin" repository, with the step's `env:` after
`${{ ... }}` substitution, `if:` conditions evaluated, and GitHub's files between steps:
GITHUB_PATH (its lines go before PATH for the later steps), GITHUB_ENV, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY (each step's summary is kept). A failing step fails the job and skips the
rest, except steps whose `if:` asks for `always()` or `failure()`.

What is stood in, because it needs GitHub itself (see `project_actions`):
- `actions/checkout`: `git clone` of the origin at the given branch (for a pull request,
  its head branch, where GitHub checks out a merge commit), shallow and single-branch unless
  `fetch-depth: 0`, as the action does; and the installed environment a `make install`
  would download, made from this test's virtualenv (`provision_venv`), so the real
  `make install` step finds it up to date;
- `actions/setup-python`: this interpreter (its version must match the workflow's);
- `peter-evans/create-pull-request`: its inputs are checked and recorded;
- the `npm install ... @dvcorg/cml` step: installs a local `cml` that checks what
  `cml comment create` would post (the file exists, is not empty, its local images exist)
  and records the call instead of posting it.
An action without a stand-in is a failing step, so a new one cannot pass unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<name>[A-Za-z_][\w.-]*(?:\(\))?))"
)
STATUS = {"success()", "failure()", "always()", "cancelled()"}


# --- expressions: the simple forms workflows use ------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"expression not understood here: {text!r} at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class Expression:
    """`a.b.c`, 'literal', numbers, true/false/null, ==, !=, !, &&, ||, ( ), and the status
    functions. Anything else is an error (extend the runner), never silently false."""

    def __init__(self, context: dict[str, Any], failed: bool) -> None:
        self.context, self.failed = context, failed

    def evaluate(self, text: str) -> Any:
        self.tokens, self.pos = _tokens(text), 0
        value = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"expression not understood here: {text!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self.pos += 1
            right = self._and()
            value = value or right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self.pos += 1
            right = self._compare()
            value = value and right
        return value

    def _compare(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!="):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self._unary()
            equal = str(value).lower() == str(right).lower()  # GitHub compares strings caselessly
            value = equal if op == "==" else not equal
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self.pos += 1
            return not self._unary()
        if self._peek() == "(":
            self.pos += 1
            value = self._or()
            assert self._peek() == ")", "unbalanced parentheses"
            self.pos += 1
            return value
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if text in STATUS:
            return {"success()": not self.failed, "failure()": self.failed}.get(
                text, text == "always()"
            )
        return lookup(self.context, text)


def lookup(context: dict[str, Any], name: str) -> Any:
    """A dotted name in the context; every secret is a dummy value, an unknown name an error."""
    parts = name.split(".")
    if parts[0] == "secrets" and len(parts) == 2:
        return f"dummy-{parts[1].lower()}"
    value: Any = context
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"${{{{ {name} }}}}: not in the runner's context; add it")
        value = value[part]
    return value


def substitute(text: Any, context: dict[str, Any], failed: bool = False) -> str:
    def one(match: re.Match[str]) -> str:
        value = Expression(context, failed).evaluate(match.group(1))
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    if isinstance(text, bool):  # YAML's false is the input "false", as on GitHub
        text = "true" if text else "false"
    return EXPRESSION.sub(one, str(text))


# --- the runner ----------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    status: str  # "success", "failure" or "skipped"
    returncode: int | None = None
    output: str = ""
    stood_in: str | None = None  # what replaced the step, if anything
    script: str = ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Runner:
    """One job of one workflow. `actions` maps `owner/name` to a stand-in; `replace` maps a
    regular expression on a `run:` script to a stand-in for that step."""

    workflow: Path
    workspace: Path
    temp: Path
    context: dict[str, Any]
    actions: dict[str, Callable[[Runner, dict[str, str]], None]]
    replace: dict[str, Callable[[Runner, dict[str, str]], None]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # the machine's environment
    job: str | None = None
    timeout_s: float = 600.0
    paths: list[str] = field(default_factory=list)  # from GITHUB_PATH, newest first
    added_env: dict[str, str] = field(default_factory=dict)  # from GITHUB_ENV
    summaries: list[str] = field(default_factory=list)
    records: dict[str, Any] = field(default_factory=dict)  # what the stand-ins saw
    results: list[StepResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status == "failure" for r in self.results)

    def add_path(self, path: Path | str) -> None:
        self.paths.insert(0, str(path))

    def environment(self, extra: dict[str, str], files: dict[str, Path]) -> dict[str, str]:
        env = dict(self.env)
        env.update(self.added_env)
        github = self.context["github"]
        env.update(
            CI="true",
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_REPOSITORY=github["repository"],
            GITHUB_RUN_ID=str(github["run_id"]),
            GITHUB_EVENT_NAME=github["event_name"],
            GITHUB_REF=github["ref"],
            GITHUB_BASE_REF=github.get("base_ref") or "",
            GITHUB_HEAD_REF=github.get("head_ref") or "",
            RUNNER_TEMP=str(self.temp),
            RUNNER_OS="Linux",
        )
        env.update({name: str(path) for name, path in files.items()})
        env.update(extra)
        env["PATH"] = os.pathsep.join([*self.paths, self.env["PATH"]])
        return env

    def run(self) -> list[StepResult]:
        workflow = yaml.safe_load(self.workflow.read_text())
        jobs = workflow["jobs"]
        name = self.job or next(iter(jobs))
        job = jobs[name]
        shell_default = (job.get("defaults") or workflow.get("defaults") or {}).get("run") or {}
        base_env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.temp.mkdir(parents=True, exist_ok=True)
        for index, step in enumerate(job["steps"]):
            title = step.get("name") or step.get("run") or step.get("uses")
            condition = str(step.get("if", "success()"))
            condition = EXPRESSION.sub(lambda m: m.group(1), condition)
            expression = Expression(self.context, self.failed)
            wanted = expression.evaluate(condition)
            if self.failed and not re.search(r"always\(\)|failure\(\)", condition):
                wanted = False
            if not wanted:
                self.results.append(StepResult(title, "skipped"))
                continue
            files = {
                "GITHUB_PATH": self.temp / f"path_{index}",
                "GITHUB_ENV": self.temp / f"env_{index}",
                "GITHUB_OUTPUT": self.temp / f"output_{index}",
                "GITHUB_STEP_SUMMARY": self.temp / f"summary_{index}",
            }
            for path in files.values():
                path.write_text("")
            env_values = {**base_env, **(step.get("env") or {})}
            extra = {k: substitute(v, self.context, self.failed) for k, v in env_values.items()}
            env = self.environment(extra, files)
            result = self._step(step, title, env, shell_default)
            self.results.append(result)
            self._collect(step, files)
        return self.results

    def _step(self, step: dict, title: str, env: dict[str, str], defaults: dict) -> StepResult:
        if "uses" in step:
            action = step["uses"].split("@")[0]
            inputs = {
                k: substitute(v, self.context, self.failed)
                for k, v in (step.get("with") or {}).items()
            }
            return self._stand_in(title, self.actions.get(action), action, inputs)
        script = step["run"]
        for pattern, stand_in in self.replace.items():
            if re.search(pattern, script):
                return self._stand_in(title, stand_in, f"run: {pattern}", {"run": script})
        folder = self.workspace / step.get(
            "working-directory", defaults.get("working-directory", ".")
        )
        script_file = self.temp / f"step_{len(self.results)}.sh"
        script_file.write_text(script)
        shell = step.get("shell", defaults.get("shell"))
        command = {
            None: "bash -e {0}",
            "bash": "bash --noprofile --norc -eo pipefail {0}",
            "sh": "sh -e {0}",
            "python": "python {0}",
        }.get(shell, shell)
        argv = [part.replace("{0}", str(script_file)) for part in shlex.split(command)]
        try:
            done = subprocess.run(
                argv,
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout if isinstance(exc.stdout, str) else ""
            return StepResult(title, "failure", None, output + "\n(timed out)", script=script)
        status = "success" if done.returncode == 0 else "failure"
        return StepResult(title, status, done.returncode, done.stdout, script=script)

    def _stand_in(
        self,
        title: str,
        stand_in: Callable[[Runner, dict[str, str]], None] | None,
        what: str,
        inputs: dict[str, str],
    ) -> StepResult:
        if stand_in is None:
            return StepResult(title, "failure", 1, f"no local stand-in for {what}", what)
        try:
            stand_in(self, inputs)
        except (AssertionError, subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", None) or ""
            return StepResult(title, "failure", 1, f"{what}: {exc}\n{detail}", what)
        return StepResult(title, "success", 0, "", what)

    def _collect(self, step: dict, files: dict[str, Path]) -> None:
        """GitHub's files after a step: PATH and ENV for later steps, outputs, the summary."""
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip():
                self.add_path(line.strip())
        self.added_env.update(parse_env_file(files["GITHUB_ENV"].read_text()))
        outputs = parse_env_file(files["GITHUB_OUTPUT"].read_text())
        if step.get("id"):
            self.context.setdefault("steps", {})[step["id"]] = {"outputs": outputs}
        summary = files["GITHUB_STEP_SUMMARY"].read_text()
        if summary:
            self.summaries.append(summary)

    def report(self) -> str:
        """Each step's status, and the output of the first failure, for assertion messages."""
        lines = [
            f"{r.status:8} {r.returncode if r.returncode is not None else '-':>4} {r.name}"
            + (f"  [stood in: {r.stood_in}]" if r.stood_in else "")
            for r in self.results
        ]
        failed = next((r for r in self.results if r.status == "failure"), None)
        if failed:
            lines += ["", f"--- output of the failed step {failed.name!r}:", failed.tail()]
        return "\n".join(lines)


def parse_env_file(text: str) -> dict[str, str]:
    """NAME=value lines and NAME<<DELIMITER blocks, as GITHUB_ENV and GITHUB_OUTPUT hold."""
    out, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            out[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


# --- this machine: an environment without the test's virtualenv ----------------------------


def machine_env(drop: list[Path]) -> dict[str, str]:
    """os.environ as a fresh runner would have it: no virtualenv active, none of `drop` (and no
    directory with an `umbrella` or `dvc` command) on PATH, no Python or pytest overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UMBRELLA_ROOT"}
        and not k.startswith("PYTEST_")
    }
    keep = []
    for entry in env.get("PATH", "").split(os.pathsep):
        folder = Path(entry)
        if not entry or any(folder == d for d in drop):
            continue
        if (folder / "umbrella").exists() or (folder / "dvc").exists():
            continue
        keep.append(entry)
    env["PATH"] = os.pathsep.join(keep)
    return env


def provision_venv(workspace: Path, source: Path = Path(sys.prefix)) -> Path:
    """`.venv` in the workspace as `make install` leaves it, without downloading anything: a
    virtualenv whose `umbrella` runs the workspace's code (its src/ first on sys.path) and
    whose other packages are the test environment's, every console script copied with its
    interpreter line pointing here, and the Makefile's `.installed` marker newer than the
    files it depends on."""
    venv = workspace / ".venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    source_site = source / "lib" / version / "site-packages"
    (site / "00_workspace_src.pth").write_text(f"{workspace / 'src'}\n")
    (site / "zz_test_environment.pth").write_text(
        f"import site; site.addsitedir({str(source_site)!r})\n"
    )
    shebang = f"#!{source / 'bin' / 'python'}"
    for script in sorted((source / "bin").iterdir()):
        target = venv / "bin" / script.name
        if not script.is_file() or script.is_symlink() or target.exists():
            continue
        head = script.read_bytes()[:200]
        if head.startswith(b"\x7fELF"):  # a compiled tool (ruff, zizmor): runs from anywhere
            target.symlink_to(script)
            continue
        if not head.startswith(shebang.encode()):
            continue
        text = script.read_text()
        target.write_text(f"#!{venv / 'bin' / 'python'}" + text[len(shebang) :])
        target.chmod(0o755)
    (venv / "bin" / ".installed").touch()
    return venv


# --- stand-ins for what needs GitHub -------------------------------------------------------


def _git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def checkout(origin: Path, ref: str) -> Callable[[Runner, dict[str, str]], None]:
    """actions/checkout: clone `origin` at `ref`; all branches only with fetch-depth 0."""

    def stand_in(runner: Runner, inputs: dict[str, str]) -> None:
        assert inputs.get("persist-credentials") in ("false", None), "persist-credentials"
        depth = int(inputs.get("fetch-depth", "1") or 0)
        if runner.workspace.exists():
            shutil.rmtree(runner.workspace)
        clone = ["clone", "--quiet", "--branch", ref]
        if depth:
            clone += ["--depth", str(depth)]  # implies --single-branch, as the action fetches
        _git([*clone, origin.as_uri(), str(runner.workspace)], origin.parent)
        for key, value in (("user.name", "runner"), ("user.email", "runner@example.com")):
            _git(["config", key, value], runner.workspace)
        provision_venv(runner.workspace)
        runner.records.setdefault("checkout", []).append({"ref": ref, "depth": depth})

    return stand_in


def setup_python(runner: Runner, inputs: dict[str, str]) -> None:
    """actions/setup-python: this interpreter, on PATH as python and python3."""
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert inputs.get("python-version") == have, f"the workflow asks Python {inputs}, here {have}"
    folder = runner.temp / "toolcache" / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    for name in ("python", "python3", f"python{have}"):
        if not (folder / name).exists():
            (folder / name).symlink_to(base_python)
    runner.add_path(folder)


FAKE_CML = '''#!{python}
"""Stands in for CML's `cml comment create`: checks what would be posted and records it."""
import json, os, re, sys
from pathlib import Path
args = sys.argv[1:]
assert args[:2] == ["comment", "create"], f"only `cml comment create` is stood in: {{args}}"
report = Path(args[-1])
assert report.is_file() and report.stat().st_size > 0, f"{{report}}: missing or empty"
assert os.environ.get("REPO_TOKEN"), "REPO_TOKEN is not set"
text = report.read_text()
images = re.findall(r"!\\[[^\\]]*\\]\\(([^)\\s]+)", text)
local = [i for i in images if not re.match(r"[a-z]+:", i)]
missing = [i for i in local if not (report.parent / i).is_file()]
assert not missing, f"images that CML could not upload: {{missing}}"
with open({log!r}, "a") as log:
    log.write(json.dumps({{"args": args, "images": local, "cwd": os.getcwd()}}) + "\\n")
print("https://github.com/example/comment")
'''


def install_cml(runner: Runner, inputs: dict[str, str]) -> None:
    """The npm installation of CML: a local `cml` that checks and records instead of posting."""
    assert re.search(r"@dvcorg/cml@\d+\.\d+\.\d+", inputs["run"]), "CML's version is not pinned"
    folder = runner.temp / "npm" / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    log = runner.temp / "cml_calls.jsonl"
    (folder / "cml").write_text(FAKE_CML.format(python=sys.executable, log=str(log)))
    (folder / "cml").chmod(0o755)
    runner.records["cml_log"] = log
    runner.add_path(folder)


def create_pull_request(runner: Runner, inputs: dict[str, str]) -> None:
    """peter-evans/create-pull-request: check its inputs against the workspace, record them."""
    body = runner.workspace / inputs["body-path"]
    assert body.is_file() and body.stat().st_size > 0, f"body-path {body}: missing or empty"
    paths = inputs["add-paths"].split()
    for path in paths:
        assert (runner.workspace / path).exists(), f"add-paths: {path} does not exist"
    changed = _git(["status", "--porcelain", "--", *paths], runner.workspace).splitlines()
    runner.records["pull_request"] = {**inputs, "changed": changed, "body": body.read_text()}


def project_actions(origin: Path, ref: str) -> dict[str, Callable[[Runner, dict[str, str]], None]]:
    return {
        "actions/checkout": checkout(origin, ref),
        "actions/setup-python": setup_python,
        "peter-evans/create-pull-request": create_pull_request,
    }


PROJECT_REPLACE = {r"npm install\b.*@dvcorg/cml@": install_cml}


def cml_calls(runner: Runner) -> list[dict[str, Any]]:
    log = runner.records.get("cml_log")
    if not log or not Path(log).exists():
        return []
    return [json.loads(line) for line in Path(log).read_text().splitlines()]
