"""Could `train.calibration` be chosen on a validation period? The gate's service_level_mid
and the cost of each rule (none, conformal, coverage) on the days before the test period
and on the test period, through the real stages.

    python benchmarks/calibration_gate.py

Scenarios, each with `split.test_start: null` (the test period is the last third):
- seasonal_decline: benchmarks/fixtures/seasonal_decline_*.csv as the csv source (4 stores,
  2013, demand peaking in September and falling through the test period);
- simulated_4: the simulated retailer with 4 stores from 2014-01-01 (forecasts as issued),
  scored against true demand; its files again as the csv source (`simulated_4_csv`),
  scored against sales as its validation is.

Validation: the data cut at the test period's start, the last VALIDATION_DAYS days before it
evaluated (the model trained before them): what a retailer could measure before choosing.
The simulator's own validation uses its files as the csv source, since a shorter simulation
does not repeat a longer one's days. For each choice rule (least validation cost; the
service level nearest its target; the cheapest within the gate's tolerance) it reports the
rule it picks and that rule's test figures. Writes benchmarks/calibration_gate.json.
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
FIXTURES = ROOT / "benchmarks" / "fixtures"
RULES = ("none", "conformal", "coverage")
VALIDATION_DAYS = 56
DAY = pd.Timedelta(days=1)
SIMULATED = {"stores": 4, "start": "2014-01-01"}


def umbrella(stage: str, root: Path) -> None:
    env = dict(os.environ, UMBRELLA_ROOT=str(root))
    subprocess.run([sys.executable, "-m", "umbrella", "-q", stage], env=env, check=True)


def workspace(folder: Path, overrides: dict) -> Path:
    """A folder with the repository's params.yaml, its blocks updated by `overrides`."""
    folder.mkdir(parents=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for block, values in overrides.items():
        params[block].update(values)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def measure(root: Path) -> dict[str, dict]:
    """The gate's figures of each calibration rule, the data pulled and featured once."""
    for stage in ("pull", "validate", "features"):
        umbrella(stage, root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    out = {}
    for rule in RULES:
        params["train"]["calibration"] = rule
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        umbrella("train", root)
        umbrella("evaluate", root)
        report = json.loads((root / "reports" / "evaluate.json").read_text())
        out[rule] = {
            "service_level_mid": report["model"]["service_level_mid"],
            "target": report["test"]["service_level_target"],
            "cost": report["model"]["cost"],
            "skill_cost": report["skill"]["cost"],
            "gate": report["gate"]["passed"],
            "period": f"{report['test']['start']}..{report['test']['end']}",
            "scored_against": report["test"]["scored_against"],
        }
        print(root.name, rule, out[rule], flush=True)
    return out


def csv_files(tables: dict[str, pd.DataFrame], folder: Path, before: pd.Timestamp | None) -> dict:
    """The tables as the csv source's files (the days before `before` only): data params."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {"source": "csv", "weather_forecasts": None}
    for name, table in tables.items():
        day = "issued" if name == "weather_forecasts" else "date"
        if before is not None:
            table = table[pd.to_datetime(table[day]) < before]
        table.to_csv(folder / f"{name}.csv", index=False)
        data[name] = str(folder / f"{name}.csv")
    return data


def raw_tables(root: Path) -> dict[str, pd.DataFrame]:
    """The simulated retailer's raw files (one per group of stores), truth left out."""
    names = ("sales", "weather", "weather_forecasts")
    return {
        n: pd.concat(map(pd.read_csv, sorted((root / "data/raw" / n).glob("*.csv")))) for n in names
    }


def validation_split(start: pd.Timestamp) -> dict:
    return {"test_start": str((start - VALIDATION_DAYS * DAY).date())}


def choices(validation: dict[str, dict], tolerance: float) -> dict[str, str]:
    """The rule each way of choosing picks on the validation period."""
    miss = {r: abs(v["service_level_mid"] - v["target"]) for r, v in validation.items()}
    within = [r for r in RULES if miss[r] <= tolerance]
    return {
        "least_cost": min(RULES, key=lambda r: validation[r]["cost"]),
        "nearest_service_level": min(RULES, key=miss.__getitem__),
        "least_cost_within_tolerance": (
            min(within, key=lambda r: validation[r]["cost"])
            if within
            else min(RULES, key=miss.__getitem__)
        ),
    }


def main() -> None:
    tolerance = yaml.safe_load((ROOT / "params.yaml").read_text())["gate"][
        "service_level_tolerance"
    ]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fixture = {
            n: pd.read_csv(FIXTURES / f"seasonal_decline_{n}.csv") for n in ("sales", "weather")
        }
        test = measure(
            workspace(
                folder / "seasonal_decline", {"data": csv_files(fixture, folder / "fix", None)}
            )
        )
        start = pd.Timestamp(test["none"]["period"].split("..")[0])
        data = csv_files(fixture, folder / "fix_cut", start)
        validation = measure(
            workspace(
                folder / "seasonal_decline_validation",
                {"data": data, "split": validation_split(start)},
            )
        )
        results["seasonal_decline"] = {"validation": validation, "test": test}

        simulated = workspace(folder / "simulated_4", {"simulate": SIMULATED})
        test = measure(simulated)
        start = pd.Timestamp(test["none"]["period"].split("..")[0])
        tables = raw_tables(simulated)
        data = csv_files(tables, folder / "sim_cut", start)
        validation = measure(
            workspace(
                folder / "simulated_4_validation", {"data": data, "split": validation_split(start)}
            )
        )
        data = csv_files(tables, folder / "sim", None)
        test_csv = measure(
            workspace(
                folder / "simulated_4_csv",
                {"data": data, "split": {"test_start": str(start.date())}},
            )
        )
        results["simulated_4"] = {"validation": validation, "test": test, "test_csv": test_csv}
    for result in results.values():
        chosen = choices(result["validation"], tolerance)
        result["chosen"] = {
            period: {way: {"rule": rule, **result[period][rule]} for way, rule in chosen.items()}
            for period in ("test", "test_csv")
            if period in result
        }
    out = ROOT / "benchmarks" / "calibration_gate.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
