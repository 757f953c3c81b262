"""validate: check the raw tables against the data contract; write typed Parquet,
partitioned by store group (umbrella.partitions).

The raw tables are checked a partition of stores at a time on the engine (`engine`): the
simulated retailer's as they are written, a retailer's own files cut into partitions first
(umbrella.raw_to_interim, umbrella.raw_split).
Every problem is collected and written to reports/validation.json; any problem fails the
stage with a short report and no traceback, and data/interim/ stays as it was.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from tempfile import TemporaryDirectory

from umbrella.errors import DataError
from umbrella.interim import forecasts_note
from umbrella.io import replace_folder, write_json
from umbrella.params import load_params
from umbrella.paths import INTERIM, RAW, REPORTS
from umbrella.raw_to_interim import validate_raw
from umbrella.validation import summary

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> None:
    params = load_params()

    def fill(folder: Path) -> None:
        # Beside the data (same disk: a chain's files cut into parts are as large again).
        with TemporaryDirectory(prefix=".raw-parts-", dir=INTERIM.parent) as scratch:
            checked = validate_raw(params, RAW, folder, Path(scratch))
        write_json(
            {
                "ok": not checked.problems,
                "problems": len(checked.problems),
                "warnings": [w.to_dict() for w in checked.warnings],
                "rows": checked.rows,
                "forecasts": forecasts_note(checked.forecasts),
                "details": [p.to_dict() for p in checked.problems],
            },
            REPORTS / "validation.json",
        )
        if checked.problems:
            raise DataError(summary(checked.problems))
        if checked.forecasts is None:
            log.warning(
                "no weather forecasts file: observed weather stands in for the forecast, "
                "which flatters every result"
            )

    # A failure leaves data/interim/ as it was.
    replace_folder(INTERIM, fill)
