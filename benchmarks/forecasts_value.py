"""What forecasts as issued cost against observed weather standing in for them.

    python benchmarks/forecasts_value.py

Simulates the default retailer once, then runs validate, features, train and evaluate twice
on the same files as the csv source: with the weather forecasts as issued, and without them
(the observed weather of each target day stands in, as it does when a user has no forecasts
file, or for Open-Meteo days before its forecast archive). Both are scored against the sales,
so the two are comparable. Prints a table and writes benchmarks/forecasts_value.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["validate", "features", "train", "evaluate"]
KEYS = [
    *("model.cost", "baseline.cost", "skill.cost", "model.wape"),
    *("model.service_level", "model.service_level_mid"),
]


def umbrella(stage: str, root: Path) -> None:
    env = dict(os.environ, UMBRELLA_ROOT=str(root))
    subprocess.run([sys.executable, "-m", "umbrella", "-q", stage], env=env, check=True)


def workspace(folder: Path, data: dict | None = None) -> Path:
    """A folder with the repository's params.yaml, its data block replaced by `data`."""
    folder.mkdir(parents=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    if data is not None:
        params["data"].update(data)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def headline(root: Path) -> dict[str, float | str]:
    metrics = json.loads((root / "reports" / "evaluate.json").read_text())  # every metric
    out: dict[str, float | str] = {}
    for key in KEYS:
        block, name = key.split(".")
        out[key] = metrics[block][name]
    out["test.forecasts"] = metrics["test"]["forecasts"]
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        simulated = workspace(Path(tmp) / "simulated")
        umbrella("pull", simulated)
        # A retailer's files: each table one CSV (the simulator writes them by store group).
        shop = Path(tmp) / "shop"
        shop.mkdir()
        for name in ("sales", "weather", "weather_forecasts"):
            parts = sorted((simulated / "data" / "raw" / name).glob("*.csv"))
            table = pd.concat([pd.read_csv(part, dtype=str) for part in parts])
            table.to_csv(shop / f"{name}.csv", index=False)
        files = {
            "sales": str(shop / "sales.csv"),
            "weather": str(shop / "weather.csv"),
            "weather_forecasts": str(shop / "weather_forecasts.csv"),
        }
        results = {}
        for name, forecasts in [("issued", files["weather_forecasts"]), ("observed", None)]:
            root = workspace(
                Path(tmp) / name, {**files, "source": "csv", "weather_forecasts": forecasts}
            )
            umbrella("pull", root)
            for stage in STAGES:
                umbrella(stage, root)
            results[name] = headline(root)
    ratio = float(results["issued"]["model.cost"]) / float(results["observed"]["model.cost"])
    print("| | " + " | ".join(KEYS) + " |")
    print("|---|" + "---|" * len(KEYS))
    for name, row in results.items():
        cells = [
            f"{row[k]:,.0f}" if k.endswith("cost") and "skill" not in k else f"{row[k]:.3f}"
            for k in KEYS
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"model cost, forecasts as issued / observed weather: {ratio:.3f}")
    figures = {**results, "cost_ratio_issued_to_observed": round(ratio, 4)}
    (ROOT / "benchmarks" / "forecasts_value.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
