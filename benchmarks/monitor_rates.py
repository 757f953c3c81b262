"""Detection and false-alarm rates of the monitor: the default pipeline over several seeds,
without drift and with drift starting inside the monitored window.

    python benchmarks/monitor_rates.py [--seeds 5] [--out benchmarks/monitor_rates.json]

Each run is a fresh `git clone` of this repository's HEAD with changed params and a real
`dvc repro monitor`; it takes a minute or so per run on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# name: (simulate.weather, simulate.drift); drift starts 20 days before the end of the data
SCENARIOS = {
    "none": ("seattle", None),
    "none, generated weather": ("generated", None),
    "level -30%": ("seattle", {"start": "2015-12-11", "level": 0.7}),
    "rain effect x2": ("seattle", {"start": "2015-12-11", "rain_effect": 2.0}),
}


def run(seed: int, weather: str, drift: dict | None, workdir: Path) -> dict:
    clone = workdir / f"seed{seed}-{len(list(workdir.iterdir()))}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["base"]["seed"] = seed
    params["simulate"]["weather"] = weather
    params["simulate"]["drift"] = drift
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = dict(
        os.environ,
        PYTHONPATH=str(clone / "src"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    subprocess.run(["dvc", "repro", "-q", "monitor"], cwd=clone, env=env, check=True)
    return json.loads((clone / "metrics" / "monitor.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "monitor_rates.json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (weather, drift) in SCENARIOS.items():
            runs = [
                run(seed, weather, drift, Path(tmp))
                for seed in range(args.first_seed, args.first_seed + args.seeds)
            ]
            alarms = sum(r["status"] != "ok" for r in runs)
            results[name] = {
                "alarm_rate": alarms / len(runs),
                "statuses": [r["status"] for r in runs],
                "demand_shift": [round(r["demand_shift"]["score"], 3) for r in runs],
                "bias_shift": [round(r["bias_shift"]["score"], 3) for r in runs],
                "residual_psi": [round(r["residual"]["score"], 3) for r in runs],
                "skill_drop": [round(r["performance"]["skill_drop"], 3) for r in runs],
            }
            print(f"{name:16s} alarms {alarms}/{len(runs)}  {results[name]}")
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
