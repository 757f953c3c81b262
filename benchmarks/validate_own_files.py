"""Peak memory and wall time of `validate` on a retailer's own files (data.source: csv), cut
into partitions of stores (umbrella/data/contract/partition_files.py) or checked whole.

    python benchmarks/validate_own_files.py [--stores 1000 3000] [--out FILE.json]

For each size: the simulated retailer over 3 years (as benchmarks/bench.py builds it) is
pulled, each of its tables written as one CSV file as a retailer would send it, then
`umbrella validate` runs on those files twice, each as its own process: with
`engine.stores_per_partition` 250 (the default) and with all stores in one partition (as
validate checked a retailer's files before they were cut). Prints a table; runs outside
the tests.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import yaml
from bench import clone, measure

TABLES = ("sales", "weather", "weather_forecasts")


def own_files(repo: Path) -> dict[str, str]:
    """The pulled simulated tables as single CSV files in repo/exports/."""
    measure(["python", "-m", "umbrella", "pull"], repo)
    exports = repo / "exports"
    exports.mkdir()
    for name in TABLES:
        # The parts' lines one after the other, one header: this process stays small, since
        # a child forked from it would start with its memory (and report it as its peak).
        with open(exports / f"{name}.csv", "w", encoding="utf-8") as out:
            for i, part in enumerate(sorted((repo / "data" / "raw" / name).glob("*.csv"))):
                with open(part, encoding="utf-8") as lines:
                    header = next(lines)
                    if i == 0:
                        out.write(header)
                    out.writelines(lines)
    return {name: f"exports/{name}.csv" for name in TABLES}


def set_params(repo: Path, data: dict, per_partition: int) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"].update(data, source="csv")
    params["engine"]["stores_per_partition"] = per_partition
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/validate_own_files.json"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for stores in args.stores:
            repo = clone(Path(tmp), stores)
            data = own_files(repo)
            for per_partition in (250, stores):
                set_params(repo, data, per_partition)
                measure(["python", "-m", "umbrella", "pull"], repo)
                seconds, mib = measure(["python", "-m", "umbrella", "validate"], repo)
                row = {"stores": stores, "stores_per_partition": per_partition}
                results.append(row | {"seconds": round(seconds, 1), "peak_mib": round(mib)})
                print(json.dumps(results[-1]), flush=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print("| stores | stores per partition | validate s | peak MiB |")
    print("|---|---|---|---|")
    for r in results:
        print(f"| {r['stores']} | {r['stores_per_partition']} | {r['seconds']} | {r['peak_mib']} |")


if __name__ == "__main__":
    main()
