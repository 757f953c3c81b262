"""monitor: drift of the latest window against the training reference, and decay of the
model's skill in that window against the test period.

Writes metrics/monitor.json (the headline: the status and the wet-day demand shift),
reports/monitor.json (every score, threshold and table) and plots/monitor/ (every score
over its threshold, a PNG and its CSV).

`umbrella monitor --fail-on degraded` exits 1 when the model needs retraining now (demand
changed or the model lost skill), naming the limits that tripped; `--fail-on drift` also
when only the model's errors moved. Status `insufficient data` (a check could not tell, none
alarmed) fails neither. For automation.
"""

from __future__ import annotations

import argparse
import logging
from functools import partial
from pathlib import Path

import pandas as pd

from umbrella.core.engine import runner
from umbrella.core.files import write_csv, write_json
from umbrella.core.params import Params, load_params
from umbrella.core.partitions import partition_count, read_part
from umbrella.core.paths import FEATURES, INTERIM, METRICS, MODEL_FILE, MODELS, PLOTS, REPORTS
from umbrella.core.sampling import watched_stores
from umbrella.core.split import test_start
from umbrella.data.contract.interim import only_stores, read_interim, sales_span, stores_in
from umbrella.evaluation.plots import drift_figure, save_figure
from umbrella.forecast.calibration import require_one_partition
from umbrella.forecast.distribution import require_finite
from umbrella.forecast.model_io import load_model
from umbrella.forecast.models import SeasonalNaive
from umbrella.forecast.training_sample import fitted_baseline
from umbrella.ops.health import (
    POINT,
    QUANTILE,
    MonitorRows,
    alarm_table,
    assess,
    combine_rows,
    failure,
    headline,
    monitor_rows,
)

log = logging.getLogger(__name__)
REPORT = REPORTS / "monitor.json"
PLOT_DIR = PLOTS / "monitor"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on",
        choices=["drift", "degraded"],
        help="exit 1 when the status is this or worse: degraded = retrain now (demand changed "
        "or skill fell); drift = the model's errors moved",
    )


def monitor_part(
    part: int,
    baseline: SeasonalNaive,
    start: pd.Timestamp,
    params: Params,
    watched: frozenset[str] | None,
    interim: Path,
    features_folder: Path,
    model_file: Path,
) -> MonitorRows:
    """The monitor's rows of one partition's stores (of those `watched`, when a sample)."""
    data = read_interim(interim, part=part)
    features = read_part(features_folder, part)
    if watched is not None:
        data = only_stores(data, watched)
        features = features[features["store"].astype(str).isin(watched)]
    model = load_model(model_file)
    rows = monitor_rows(features, data, model, baseline, start, params)
    made = [c for c in map(str, rows.scored.columns) if c.endswith((POINT, QUANTILE))]
    require_finite(rows.scored, made, f"{model_file}, the monitor's days")
    return rows


def main(args: argparse.Namespace) -> int:
    params = load_params()
    first, last = sales_span()
    start = test_start(first, last, params.split)
    parts = range(partition_count(FEATURES))
    require_one_partition(params.train.calibration, len(parts))
    with runner(params.engine) as run:
        stores = [s for found in run(stores_in, parts, {"interim": INTERIM}) for s in found]
        watched = watched_stores(stores, params.monitor.max_stores, params.base.seed)
        baseline = fitted_baseline(FEATURES, start, params, run)
        task = partial(monitor_part, baseline=baseline, start=start, params=params, watched=watched)
        reads = {
            "interim": INTERIM,
            "features_folder": FEATURES,
            "model_file": MODELS / MODEL_FILE,
        }
        rows = combine_rows(run(task, parts, reads))
    result = assess(params, rows, start, last)
    result["stores"] = {
        "watched": len(stores) if watched is None else len(watched),
        "of": len(stores),
    }
    write_json(headline(result), METRICS / "monitor.json")
    write_json(result, REPORT)
    table = alarm_table(result)
    write_csv(table, PLOT_DIR / "drift.csv", 4)
    save_figure(drift_figure(table, result), PLOT_DIR / "drift.png")
    log.info(
        "monitor status: %s (skill drop %+.3f, demand shift %+.3f, wet-day demand shift "
        "%+.3f, residual psi %.3f, bias shift %+.3f; features beyond their drift threshold: "
        "%s)",
        result["status"],
        result["performance"]["skill_drop"],
        result["demand_shift"]["score"],
        result["wet_demand_shift"]["score"],
        result["residual"]["score"],
        result["bias_shift"]["score"],
        ", ".join(result["drifted_features"]) or "none",
    )
    for reason in result["reasons"]:
        log.info("monitor: %s", reason)
    message = failure(result, args.fail_on)
    if message:
        log.error("%s", message)
        return 1
    return 0
