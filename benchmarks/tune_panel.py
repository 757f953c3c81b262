"""Does `make tune` pay on a retailer's own data? On the real-data panel's csv datasets,
tuned against the defaults, on the validation period (what it chose on) and on the test
period (looked at after).

    python benchmarks/tune_panel.py [NAME ...]   # from the repository root; about 15 min each

Each dataset is benchmarks/real_panel.py's (default: its three csv ones, elecdaily,
nyc_flights and decline_single), as its csv source in a clone of HEAD with the repository's
`tune` block. `umbrella tune` runs there once; then, for the record and not for the choice,
each experiment's test figures are read from its commit. Writes benchmarks/tune_panel.json
(the datasets not run keep their last results).
"""

from __future__ import annotations

import argparse
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
OUT = ROOT / "benchmarks" / "tune_panel.json"
CSV_DATASETS = [name for name, (build, _) in DATASETS.items() if build is not None]


def figures(period: dict, skill: float, demand: float) -> dict:
    return {
        "cost": period["cost"],
        "cost_per_unit": period["cost"] / demand,
        "skill_cost": skill,
        "service_level_mid": period["service_level_mid"],
    }


def tuned(name: str) -> dict:
    """`umbrella tune` on one dataset in a clone of HEAD: what it tried and chose."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        build, overrides = DATASETS[name]
        params = yaml.safe_load((repo / "params.yaml").read_text())
        for block, values in {**overrides, "data": csv_files(build(), Path(tmp), None)}.items():
            params[block].update(values)
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

        def run(*command: str) -> str:
            done = subprocess.run(
                command, cwd=repo, env=environment(repo), check=True, capture_output=True, text=True
            )
            return done.stdout

        run("git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qam", name)
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
        return {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {CSV_DATASETS}")
    names = parser.parse_args().names or CSV_DATASETS
    if unknown := set(names) - set(CSV_DATASETS):
        parser.error(f"not a csv dataset of the panel: {sorted(unknown)}")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in names:
        results[name] = tuned(name)
        write_json(results, OUT)  # each dataset as it ends: 15 min apiece
        print(name, json.dumps(results[name]["tuned_over_default"]), flush=True)


if __name__ == "__main__":
    main()
