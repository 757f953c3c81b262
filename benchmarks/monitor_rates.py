"""Detection and false-alarm rates of the monitor: the default pipeline over several seeds,
without drift and with drift starting inside the monitored window.

    python benchmarks/monitor_rates.py [--first-seed 1] [--seeds 4] [--scenarios ...]
                                       [--out FILE]

The thresholds (params.yaml monitor) were tuned on seeds 1..4 of every scenario (the same
stages, run one by one); benchmarks/monitor_rates.json is from fresh seeds:
the drift scenarios with --first-seed 9, the no-drift ones with --first-seed 13 (seeds
13..20), one process per scenario, merged (docs/design.md, "Monitor thresholds").

Each run is a copy of this working tree (tracked and untracked files, not ignored ones),
committed in a new git repository, with changed params (base.seed, simulate.weather,
simulate.drift) and a real `dvc repro monitor`: the full default data (25 stores,
2012..2015) and model; only the stages monitor needs run (sources, pull, validate,
features, train, monitor; not evaluate or predict), with OMP_NUM_THREADS=1 (unless set):
scikit-learn's gradient boosting spins its OpenMP threads, so runs side by side (say, one
process per scenario with --scenarios) or beside other work slow down many times over
otherwise. A run takes 15 s on 2 idle cores, minutes on a busy machine. Drift starts 20
days before the end of the data, inside the 28-day window. The no-drift scenario on
generated weather takes the seeds after the others' (--first-seed + --seeds onwards), so
that the 8 no-drift runs have 8 seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DRIFT_START = "2015-12-11"
# name: (simulate.weather, simulate.drift, seed offset)
SCENARIOS = {
    "no drift, Seattle weather": ("seattle", None, 0),
    "no drift, generated weather": ("generated", None, 1),
    "level -30%": ("seattle", {"start": DRIFT_START, "level": 0.7}, 0),
    "rain effect x2": ("seattle", {"start": DRIFT_START, "rain_effect": 2.0}, 0),
}
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def snapshot(dest: Path) -> Path:
    """The working tree as a new one-commit git repository (dvclive needs a commit)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run([*GIT, "commit", "-qm", "snapshot"], cwd=dest, check=True)
    return dest


def run(template: Path, seed: int, weather: str, drift: dict | None, workdir: Path) -> dict:
    clone = workdir / f"run-{len(list(workdir.iterdir()))}"
    shutil.copytree(template, clone, symlinks=True)
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["base"]["seed"] = seed
    params["simulate"]["weather"] = weather
    params["simulate"]["drift"] = drift
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = dict(
        os.environ,
        PYTHONPATH=str(clone / "src"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )
    env.pop("UMBRELLA_ROOT", None)
    subprocess.run(["dvc", "repro", "-q", "monitor"], cwd=clone, env=env, check=True)
    report = json.loads((clone / "reports" / "monitor.json").read_text())
    shutil.rmtree(clone)
    return report


def summary(runs: list[dict], seeds: list[int]) -> dict:
    def scores(get) -> list[float]:
        return [round(get(r), 3) for r in runs]

    return {
        "seeds": seeds,
        "alarm_rate": sum(r["status"] != "ok" for r in runs) / len(runs),
        "alarms": sum(r["status"] != "ok" for r in runs),
        "degraded": sum(r["status"] == "degraded" for r in runs),
        "runs": len(runs),
        "statuses": [r["status"] for r in runs],
        "wet_day_demand_shift": scores(lambda r: r["wet_demand_shift"]["score"]),
        "demand_shift": scores(lambda r: r["demand_shift"]["score"]),
        "residual_psi": scores(lambda r: r["residual"]["score"]),
        "bias_shift": scores(lambda r: r["bias_shift"]["score"]),
        "skill_drop": scores(lambda r: r["performance"]["skill_drop"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "monitor_rates.json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = snapshot(Path(tmp) / "template")
        workdir = Path(tmp) / "runs"
        workdir.mkdir()
        thresholds = yaml.safe_load((template / "params.yaml").read_text())["monitor"]
        for name in args.scenarios:
            weather, drift, offset = SCENARIOS[name]
            first = args.first_seed + offset * args.seeds
            seeds = list(range(first, first + args.seeds))
            runs = []
            for seed in seeds:
                started = time.perf_counter()
                runs.append(run(template, seed, weather, drift, workdir))
                print(
                    f"{name}, seed {seed}: {runs[-1]['status']} "
                    f"({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
                # written after every run: an interrupted benchmark keeps what it measured
                results[name] = summary(runs, seeds[: len(runs)])
                args.out.write_text(json.dumps(results, indent=2) + "\n")
            print(f"{name}: {results[name]}", flush=True)
    print(f"thresholds (params.yaml monitor): {thresholds}")


if __name__ == "__main__":
    main()
