"""Does fitting the one global model on a sample of the training rows cost money?

    python benchmarks/train_sample.py [--stores 1000] [--max-rows 50000 200000 1000000]

In a fresh clone of HEAD: the simulated retailer over 3 years (2013..2015, one weather
region per 25 stores), pulled, validated and featurised once; then `train` and `evaluate`
for each `train.max_rows`, as processes. Prints and writes benchmarks/train_sample.json:
the model's cost, skill and service level on the test year, and train's wall time and peak
memory, per sample size. Runs outside the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml
from bench import ROOT, clone, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--max-rows", type=int, nargs="+", default=[50_000, 200_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "train_sample.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = clone(Path(tmp), args.stores, "local")
        for stage in ("pull", "validate", "features"):
            measure([sys.executable, "-m", "umbrella", stage], repo)
        for max_rows in args.max_rows:
            params = yaml.safe_load((repo / "params.yaml").read_text())
            params["train"]["max_rows"] = max_rows
            (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            seconds, mib = measure([sys.executable, "-m", "umbrella", "train"], repo)
            measure([sys.executable, "-m", "umbrella", "evaluate"], repo)
            metrics = json.loads((repo / "reports" / "evaluate.json").read_text())
            fitted = json.loads((repo / "models" / "model.json").read_text())
            row = {
                "max_rows": max_rows,
                "fitted_rows": fitted["fitted_rows"],
                "training_rows": fitted["rows"],
                "model_cost": metrics["model"]["cost"],
                "skill_cost": metrics["skill"]["cost"],
                "service_level": metrics["model"]["service_level"],
                "train_seconds": round(seconds, 1),
                "train_peak_mib": round(mib),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    args.out.write_text(json.dumps({"stores": args.stores, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
