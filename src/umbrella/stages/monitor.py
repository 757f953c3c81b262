"""monitor: drift of the latest window against the training reference, and decay of the
model's skill in that window against the test period (with inventory.carry_over, of its
stock replayed through evaluate's policy too: ops/stock_watch.py).

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

from umbrella.core.engine import runner
from umbrella.core.files import write_csv, write_json
from umbrella.core.params import load_params
from umbrella.core.partitions import partition_count
from umbrella.core.paths import FEATURES, METRICS, MODEL_FILE, MODELS, PLOTS, REPORTS
from umbrella.core.split import test_start
from umbrella.data.contract.interim import sales_span
from umbrella.evaluation.plots import drift_figure, save_figure
from umbrella.forecast.calibration import require_one_partition
from umbrella.ops.health import alarm_table, assess, failure, headline, status_line, watched_rows
from umbrella.ops.stock_watch import stock_reference

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


def main(args: argparse.Namespace) -> int:
    params = load_params()
    first, last = sales_span()
    start = test_start(first, last, params.split)
    require_one_partition(params.train.calibration, partition_count(FEATURES))
    with runner(params.engine) as run:
        rows, stores, sizes = watched_rows(params, start, MODELS / MODEL_FILE, run)
    # inventory.carry_over: the stock replayed in the window, through evaluate's settings
    result = assess(params, rows, start, last, stock_reference(params.inventory, sizes))
    result["stores"] = stores
    write_json(headline(result), METRICS / "monitor.json")
    write_json(result, REPORT)
    table = alarm_table(result)
    write_csv(table, PLOT_DIR / "drift.csv", 4)
    save_figure(drift_figure(table, result), PLOT_DIR / "drift.png")
    log.info("%s", status_line(result))
    for reason in result["reasons"]:
        log.info("monitor: %s", reason)
    message = failure(result, args.fail_on)
    if message:
        log.error("%s", message)
        return 1
    return 0
