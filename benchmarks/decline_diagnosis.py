"""Why does the model over-forecast a seasonal decline on a short history (issue #23 item 6)?
The defaults that could do it, changed one at a time, on a validation period of each
dataset of the panel (benchmarks/real_panel.py), never its test period.

    python benchmarks/decline_diagnosis.py [--only NAME ...] [--test]

Validation as in benchmarks/calibration_gate.py: the data cut at the test period's start,
the last VALIDATION_DAYS days before it evaluated (the model trained before them). The
simulated datasets go through their own files as the csv source (scored against sales).
--test also runs each variant on the test period (to report, not to choose).
Writes benchmarks/decline_diagnosis.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from calibration_gate import csv_files, raw_tables, umbrella, validation_split, workspace
from real_panel import DATASETS, STAGES

from umbrella.core.files import round_floats
from umbrella.core.params import parse_params
from umbrella.core.split import test_start

ROOT = Path(__file__).resolve().parents[1]
GBM = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]["gbm"]
VARIANTS: dict[str, dict] = {
    "default": {},
    "level 28 days (features.windows [7, 28])": {"features": {"windows": [7, 28]}},
    "usual 91 days (features.usual_days)": {"features": {"usual_days": 91}},
    "calibration coverage": {"train": {"calibration": "coverage"}},
    "calibration conformal": {"train": {"calibration": "conformal"}},
    "linear model": {"train": {"model": "linear"}},
    # a leaf of 500 rows on one store's ~1,400 training rows: trees of two or three leaves
    "gbm leaves of 50 rows (train.gbm.min_samples_leaf)": {
        "train": {"gbm": {**GBM, "min_samples_leaf": 50}}
    },
}


def merged(*blocks: dict) -> dict:
    """Params overrides block by block (a later block's keys win)."""
    out: dict = {}
    for overrides in blocks:
        for block, values in overrides.items():
            out[block] = {**out.get(block, {}), **values}
    return out


def run(folder: Path, overrides: dict) -> dict:
    root = workspace(folder, overrides)
    for stage in STAGES:
        umbrella(stage, root)
    report = json.loads((root / "reports" / "evaluate.json").read_text())
    keys = ("cost", "wape", "service_level_mid", "bias")
    return {
        **{k: report["model"][k] for k in keys},
        "baseline_cost": report["baseline"]["cost"],
        "target": report["test"]["service_level_target"],
        "period": f"{report['test']['start']}..{report['test']['end']}",
    }


def tables_of(name: str, folder: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The dataset's tables and its params overrides (the simulator's files, once pulled)."""
    build, overrides = DATASETS[name]
    if build is not None:
        return build(), overrides
    root = workspace(folder / "pulled", overrides)
    umbrella("pull", root)
    tables = raw_tables(root)
    for table in tables.values():
        for column in ("date", "issued"):
            if column in table:
                table[column] = pd.to_datetime(table[column])
    return tables, {k: v for k, v in overrides.items() if k != "simulate"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--test", action="store_true", help="the test period too")
    args = parser.parse_args()
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            folder = Path(tmp) / name
            tables, overrides = tables_of(name, folder)
            split = parse_params(
                {**base, "split": {**base["split"], **overrides.get("split", {})}}
            ).split
            dates = tables["sales"]["date"]
            start = test_start(dates.min(), dates.max(), split)
            periods = {
                "validation": (csv_files(tables, folder / "cut", start), validation_split(start)),
            }
            if args.test:
                periods["test"] = (
                    csv_files(tables, folder / "whole", None),
                    {"test_start": str(start.date())},
                )
            results[name] = {}
            for period, (data, split_overrides) in periods.items():
                for variant, changes in VARIANTS.items():
                    out = run(
                        folder / f"{period}-{len(results[name])}",
                        merged(overrides, {"data": data, "split": split_overrides}, changes),
                    )
                    results[name][f"{period}: {variant}"] = out
                    default = results[name][f"{period}: default"]["cost"]
                    print(
                        f"{name:16s} {period:10s} {variant:42s} cost {out['cost'] / default:.3f} x "
                        f"default  service {out['service_level_mid']:.3f} "
                        f"({out['target']:.3f})  bias {out['bias']:+.3f}  {out['period']}",
                        flush=True,
                    )
    out = ROOT / "benchmarks" / "decline_diagnosis.json"
    out.write_text(json.dumps(round_floats(results, 4), indent=1) + "\n")


if __name__ == "__main__":
    main()
