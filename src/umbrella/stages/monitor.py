"""monitor: drift of the latest window against the training reference, and decay of the
model's skill in that window against the test period.

Writes metrics/monitor.json (the headline: status and a handful of scores),
reports/monitor.json (every score, threshold and table) and plots/monitor/ (every score
over its threshold, a PNG and its CSV).

`umbrella monitor --fail-on degraded` exits 1 when the model needs retraining now (demand
changed or the model lost skill); `--fail-on drift` also when only the model's errors
moved. For automation.
"""

from __future__ import annotations

import argparse
import logging

from umbrella.health import alarm_table, exit_status, headline, monitor
from umbrella.interim import read_interim
from umbrella.io import write_csv, write_json
from umbrella.model_io import load_model
from umbrella.params import load_params
from umbrella.partitions import read_all
from umbrella.paths import FEATURES, METRICS, MODELS, PLOTS, REPORTS
from umbrella.plots import drift_figure, save_figure

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
    features = read_all(FEATURES)
    result = monitor(params, features, read_interim(), load_model(MODELS / "model.skops"))
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
    fail_on = args.fail_on
    code = exit_status(result["status"], fail_on)
    if code:
        log.error("status %s fails --fail-on %s", result["status"], fail_on)
    return code
