"""validate: check the raw tables against the data contract; write typed Parquet,
partitioned by store group (umbrella.core.partitions).

The raw tables are checked a partition of stores at a time on the engine (`engine`): the
simulated retailer's as they are written, a retailer's own files cut into partitions first
(umbrella.data.contract.raw_to_interim, umbrella.data.contract.partition_files).
Every problem is collected and written to reports/validation.json; any problem fails the
stage with a short report and no traceback, and data/interim/ stays as it was.

It also looks ahead to predict: a store whose sales end before the last day of the data,
or that has fewer days of sales up to it than its features read, cannot be ordered for. It
is named under `warnings` (predict orders for the others), or with predict.all_or_nothing
it is a problem, found here rather than after training.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from tempfile import TemporaryDirectory

from umbrella.core.errors import DataError
from umbrella.core.files import replace_folder, write_json
from umbrella.core.params import load_params
from umbrella.core.paths import INTERIM, RAW, REPORTS
from umbrella.data.contract.raw_to_interim import unorderable, validate_raw, validation_report
from umbrella.data.contract.rules import summary

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> None:
    params = load_params()

    def fill(folder: Path) -> None:
        # Beside the data (same disk: a chain's files cut into parts are as large again).
        with TemporaryDirectory(prefix=".raw-parts-", dir=INTERIM.parent) as scratch:
            checked = validate_raw(params, RAW, folder, Path(scratch))
        found = [] if checked.problems else unorderable(folder, params)
        # predict.all_or_nothing: a store without orders fails the run, here already.
        strict = params.predict.all_or_nothing
        problems = checked.problems + (found if strict else [])
        warnings = checked.warnings + ([] if strict else found)
        write_json(validation_report(checked, problems, warnings), REPORTS / "validation.json")
        if problems:
            raise DataError(summary(problems))
        for warning in [] if strict else found:
            log.warning("%s (predict orders for the other stores)", warning)
        if checked.forecasts is None:
            log.warning(
                "no weather forecasts file: observed weather stands in for the forecast, "
                "which flatters every result"
            )

    # A failure leaves data/interim/ as it was.
    replace_folder(INTERIM, fill)
