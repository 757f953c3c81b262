"""validate: check the raw tables against the data contract; write typed Parquet.

Every problem is collected and written to reports/validation.json; any problem fails the
stage with a short report and no traceback.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from umbrella.contract import label, validate
from umbrella.errors import DataError
from umbrella.interim import forecasts_used
from umbrella.io import replace_folder, write_json
from umbrella.params import load_params
from umbrella.partitions import store_groups, write_partitioned
from umbrella.paths import FORECASTS, INTERIM, REPORTS, SALES
from umbrella.plausibility import check_sales_table
from umbrella.validation import finalise, summary

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> None:
    params = load_params()
    tables, problems = validate(params)
    v = params.validate  # sales implausible for their store: problems; unusual: warnings
    plausible = check_sales_table(
        tables.get(SALES), v.max_level_ratio, v.warn_level_ratio, label(SALES, params)
    )
    problems += plausible.problems
    write_json(
        {
            "ok": not problems,
            "problems": len(problems),
            "warnings": [w.to_dict() for w in plausible.warnings],
            "rows": {name: len(t) for name, t in tables.items()},
            "forecasts": forecasts_used(tables.get(FORECASTS)),
            "details": [p.to_dict() for p in problems],
        },
        REPORTS / "validation.json",
    )
    if problems:
        raise DataError(summary(problems))
    if FORECASTS not in tables:
        log.warning(
            "no weather forecasts file: observed weather stands in for the forecast, "
            "which flatters every result"
        )

    # Partitioned by store group for the later stages (umbrella.partitions).
    groups = store_groups(tables[SALES]["store"].unique(), params.engine.stores_per_partition)

    def write(folder: Path) -> None:
        for name, table in tables.items():
            write_partitioned(finalise(table, name), folder / name, groups)

    replace_folder(INTERIM, write)
