"""`umbrella tune` (`make tune`): the settings chosen on the retailer's own history.

The current params and a seeded draw from the grid of params.yaml `tune.space`, at most
`tune.budget` in all, run as queued DVC experiments (scripts/run-queue, as `make sweep`);
the one whose validation period cost least is applied to the workspace (`dvc exp apply`)
and what was tried and chosen is written to reports/tune.json. The choice reads each
experiment's validation figures only, never its test period's (docs/experiments.md
"Tuning on your own history").
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import subprocess
import sys
from typing import Any

import numpy as np

from umbrella.core.errors import UmbrellaError
from umbrella.core.files import write_json
from umbrella.core.params import Tune, load_params
from umbrella.core.paths import ROOT, TUNE_REPORT

log = logging.getLogger(__name__)

# Every experiment completes, its model passing the gate or not, as in `make sweep`.
SWEEP_ORDERS = ["-S", "predict.allow_failed_gate=true"]
RULE = (
    "the lowest validation.cost (reports/evaluate.json validation, the days before the test "
    "period); ties: fewer changed settings, then candidate order"
)


def setting(params: dict[str, Any], key: str) -> Any:
    """The value of the dotted `key` in params as a mapping (Params.model_dump())."""
    value: Any = params
    for name in key.split("."):
        value = value[name]
    return value


def candidates(tune: Tune, current: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """The settings to try, each as the changes it makes to the current params: candidate 0
    changes nothing; then the points of the grid of `tune.space` other than the current
    params, in grid order, a seeded draw of `tune.budget - 1` of them when there are more."""
    keys = list(tune.space)
    grid = [
        changes
        for point in itertools.product(*tune.space.values())
        if (changes := {k: v for k, v in zip(keys, point, strict=True) if v != current[k]})
    ]
    if len(grid) > tune.budget - 1:
        drawn = np.random.default_rng(seed).choice(len(grid), tune.budget - 1, replace=False)
        grid = [grid[i] for i in sorted(drawn)]
    return [{}, *grid]


def override(value: Any) -> str:
    """A value as `dvc exp run -S key=value` reads it (Hydra's override grammar)."""
    if isinstance(value, list):
        return "[" + ",".join(override(v) for v in value) + "]"
    if isinstance(value, bool | str) or value is None:
        return json.dumps(value)  # true, false, null; text quoted: "none" stays text
    return repr(value)  # a float as YAML 1.2 reads it back (1e-05: params.read_yaml)


def queue_command(name: str, changes: dict[str, Any]) -> list[str]:
    sets = [arg for key, value in changes.items() for arg in ("-S", f"{key}={override(value)}")]
    return ["dvc", "exp", "run", "--queue", "-n", name, *SWEEP_ORDERS, *sets]


def experiment_revs(shown: list[dict]) -> dict[str, str]:
    """Each experiment's name and commit in `dvc exp show --json`."""
    return {
        branch["name"]: branch["revs"][0]["rev"]
        for baseline in shown
        for branch in baseline.get("experiments") or []
        if branch.get("name") and branch.get("revs")
    }


def validation_figures(report: dict, name: str) -> dict:
    """The validation block of an experiment's reports/evaluate.json: all the choice reads."""
    validation = report.get("validation", {})
    if "cost" not in validation:
        why = validation.get("left_out", "no validation block")
        raise UmbrellaError(
            f"tune: experiment {name} has no validation period ({why}): tuning chooses on "
            "one (split.validation_days, docs/experiments.md)"
        )
    return validation


def choose(tried: list[dict]) -> int:
    """The index of the candidate chosen by RULE; each of `tried` has its `changes` and
    `validation` figures."""
    return min(
        range(len(tried)),
        key=lambda i: (tried[i]["validation"]["cost"], len(tried[i]["changes"]), i),
    )


def table(tried: list[dict], chosen: int) -> str:
    """What was tried, one line each, the chosen one marked *."""
    lines = [f"{'':2}{'experiment':<24}{'val. cost':>14}{'skill':>8}{'service':>9}  changes"]
    for i, row in enumerate(tried):
        figures = row["validation"]
        changes = ", ".join(f"{k}={v}" for k, v in row["changes"].items()) or "(current)"
        lines.append(
            f"{'*' if i == chosen else '':2}{row['name']:<24}{figures['cost']:>14,.0f}"
            f"{figures['skill_cost']:>8.3f}{figures['service_level_mid']:>9.3f}  {changes}"
        )
    return "\n".join(lines)


def _run(command: list[str]) -> str:
    """Run a command in the checkout; its output, or an error with the end of its own."""
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UmbrellaError(f"tune: {command[0]} not found (make install; make tune)") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise UmbrellaError(f"tune: `{' '.join(command)}` failed: {' / '.join(said)}")
    return done.stdout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=2, help="experiments run at once (2)")


def main(args: argparse.Namespace) -> int:
    params = load_params()
    tune = params.tune
    current = params.model_dump()
    tries = candidates(tune, {key: setting(current, key) for key in tune.space}, params.base.seed)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    names = [f"tune-{stamp}-{i:02d}" for i in range(len(tries))]
    for name, changes in zip(names, tries, strict=True):
        _run(queue_command(name, changes))
    log.info("%d experiments queued (%s..), running %d at a time", len(tries), names[0], args.jobs)
    _run([str(ROOT / "scripts" / "run-queue"), str(args.jobs)])

    revs = experiment_revs(json.loads(_run(["dvc", "exp", "show", "--json"])))
    tried: list[dict[str, Any]] = []
    for name, changes in zip(names, tries, strict=True):
        report = json.loads(_run(["git", "show", f"{revs[name]}:reports/evaluate.json"]))
        tried.append(
            {"name": name, "changes": changes, "validation": validation_figures(report, name)}
        )
    chosen = choose(tried)
    _run(["dvc", "exp", "apply", tried[chosen]["name"]])
    summary = {
        "space": tune.space,
        "budget": tune.budget,
        "seed": params.base.seed,
        "rule": RULE,
        "chosen": tried[chosen],
        "tried": tried,
    }
    write_json(summary, TUNE_REPORT)
    sys.stdout.write(table(tried, chosen) + "\n")
    log.info(
        "%s applied to params.yaml and the outputs; what was tried: reports/tune.json; "
        "its test period, scored once: dvc metrics show",
        tried[chosen]["name"],
    )
    return 0
