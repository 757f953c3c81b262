"""Wall time and peak memory of each pipeline stage on generated data of growing size, on
each engine.

    python benchmarks/bench.py [--stores 1000 3000 10000] [--engines local dask]
                               [--out benchmarks/results]

Each size and engine runs in a fresh `git clone` of this repository's HEAD: the simulated
retailer over 3 years (2013..2015), one weather region per 25 stores, every stage as its own
process (`python -m umbrella <stage>`). Peak memory is that of the largest single process:
the stage's, or with `dask` its largest worker's (a LocalCluster's workers are the stage's
child processes, so the operating system reports the largest of them). `dask` is a
LocalCluster of 2 workers; `make bench` runs with OMP_NUM_THREADS=1, so that the two
workers' boosting does not fight over the two cores. Writes <out>.json and <out>.md. Also
times a `dvc repro` with nothing to do on the default data. Runs outside the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["sources", "pull", "validate", "features", "train", "evaluate", "predict", "monitor"]


def clone(workdir: Path, stores: int | None, engine: str = "local") -> Path:
    """A clone of HEAD; with `stores`, simulating that many stores over 3 years of generated
    weather (one region per 25 stores), else on the default data."""
    repo = workdir / f"stores{stores or 'default'}-{engine}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["engine"].update(kind=engine, workers=2)
    if stores is not None:
        params["simulate"].update(
            stores=stores, regions=max(1, stores // 25), start="2013-01-01", end="2015-12-31"
        )
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return repo


def environment(repo: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return dict(
        os.environ, PYTHONPATH=str(repo / "src"), PATH=f"{bin_dir}{os.pathsep}" + os.environ["PATH"]
    )


def measure(cmd: list[str], repo: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one command (its largest process)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        cmd, cwd=repo, env=environment(repo), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def markdown(results: list[dict], runs: list[tuple[int, str]]) -> str:
    lines = [
        "| stage | " + " | ".join(f"{n} stores, {e}: s / MiB" for n, e in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for stage in [*STAGES, "total"]:
        cells = []
        for n, e in runs:
            row = next(
                r for r in results if (r["stores"], r["engine"], r["stage"]) == (n, e, stage)
            )
            cells.append(f"{row['seconds']:.1f} / {row['peak_mib']:.0f}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument(
        "--engines", nargs="+", choices=["local", "dask"], default=["local", "dask"]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    results: list[dict] = []
    extra: dict[str, float] = {}
    runs = [(n, e) for n in args.stores for e in args.engines]
    with tempfile.TemporaryDirectory() as tmp:
        for stores, engine in runs:
            repo = clone(Path(tmp), stores, engine)
            total, peak = 0.0, 0.0
            for stage in STAGES:
                seconds, mib = measure([sys.executable, "-m", "umbrella", stage], repo)
                total, peak = total + seconds, max(peak, mib)
                results.append(
                    {
                        "stores": stores,
                        "engine": engine,
                        "stage": stage,
                        "seconds": round(seconds, 2),
                        "peak_mib": round(mib),
                    }
                )
                print(
                    f"{stores:5d} stores {engine:5s} {stage:9s} {seconds:7.1f} s {mib:7.0f} MiB",
                    flush=True,
                )
            results.append(
                {
                    "stores": stores,
                    "engine": engine,
                    "stage": "total",
                    "seconds": round(total, 2),
                    "peak_mib": round(peak),
                }
            )
            subprocess.run(["rm", "-rf", str(repo)], check=True)  # the disk, between sizes
        # `dvc repro` with nothing to do, on the default data.
        repo = clone(Path(tmp), None, "local")
        measure(["dvc", "repro", "-q"], repo)  # record the state in dvc.lock
        extra["noop_repro_seconds"] = round(measure(["dvc", "repro", "-q"], repo)[0], 2)
    args.out.with_suffix(".json").write_text(
        json.dumps({"results": results, **extra}, indent=2) + "\n"
    )
    text = markdown(results, runs) + "".join(f"\n{k}: {v}" for k, v in extra.items())
    args.out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
