"""Does `make tune` pay on the seasonal-decline case? Tuned against the defaults, on the
validation period (what it chose on) and on the test period (looked at after).

    python benchmarks/tune_decline.py     # run from the repository root; about 15 min

The dataset is benchmarks/real_panel.py's decline_single (one store of about 2,000 units a
day, no price, 9 months of history before an October..December test in the autumn decline,
τ* 0.75), as its csv source in a clone of HEAD with the repository's `tune` block. `umbrella
tune` runs there once; then, for the record and not for the choice, each experiment's test
figures are read from its commit. Writes benchmarks/tune_decline.json.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import yaml
from bench import environment
from calibration_gate import csv_files
from real_panel import DATASETS, demand_of

from umbrella.core.files import write_json
from umbrella.ops.tune import experiment_revs

ROOT = Path(__file__).resolve().parents[1]
NAME = "decline_single"


def figures(period: dict, skill: float, demand: float) -> dict:
    return {
        "cost": period["cost"],
        "cost_per_unit": period["cost"] / demand,
        "skill_cost": skill,
        "service_level_mid": period["service_level_mid"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        build, overrides = DATASETS[NAME]
        params = yaml.safe_load((repo / "params.yaml").read_text())
        for block, values in {**overrides, "data": csv_files(build(), Path(tmp), None)}.items():
            params[block].update(values)
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

        def run(*command: str) -> str:
            done = subprocess.run(
                command, cwd=repo, env=environment(repo), check=True, capture_output=True, text=True
            )
            return done.stdout

        run("git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qam", NAME)
        print(run("umbrella", "tune"), flush=True)
        tune = json.loads((repo / "reports" / "tune.json").read_text())
        revs = experiment_revs(json.loads(run("dvc", "exp", "show", "--json")))
        tried = []
        for row in tune["tried"]:
            report = json.loads(run("git", "show", f"{revs[row['name']]}:reports/evaluate.json"))
            test_demand = demand_of(repo, report, params["base"]["horizon"])
            tried.append(
                {
                    "name": row["name"],
                    "changes": row["changes"],
                    "validation": row["validation"],
                    "test": figures(report["model"], report["skill"]["cost"], test_demand),
                }
            )
        chosen = next(i for i, r in enumerate(tried) if r["name"] == tune["chosen"]["name"])
        default, best = tried[0], tried[chosen]
        out = {
            "dataset": NAME,
            "budget": tune["budget"],
            "space": tune["space"],
            "service_level_target": report["test"]["service_level_target"],
            "chosen": chosen,
            "tuned_over_default": {
                period: best[period]["cost"] / default[period]["cost"]
                for period in ("validation", "test")
            },
            "tried": tried,
        }
    write_json(out, ROOT / "benchmarks" / "tune_decline.json")
    print(json.dumps(out["tuned_over_default"]), default["test"], best["test"])


if __name__ == "__main__":
    main()
