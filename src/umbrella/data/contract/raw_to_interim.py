"""The raw tables checked and written as interim tables (the validate stage's work): the
contract's problems and the sales' plausibility, partition by partition on the engine, or
a retailer's files whole when they do not read as CSV (partition_files.py cuts them
first). What is written when all is good: typed Parquet partitioned by store group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from umbrella.core.engine import runner
from umbrella.core.files import write_parquet
from umbrella.core.params import Params
from umbrella.core.partitions import (
    part_name,
    partition_count,
    read_part,
    shared_name,
    store_groups,
    write_partitioned,
)
from umbrella.core.paths import FORECASTS, SALES
from umbrella.core.split import test_start
from umbrella.data.contract.interim import fallback_counts, forecasts_note, sales_span
from umbrella.data.contract.partition_files import split_raw_tables
from umbrella.data.contract.plausibility import (
    check_sales_table,
    lookback,
    unorderable_problem,
    unorderable_stores,
)
from umbrella.data.contract.raw_folder import (
    label,
    partitioned,
    raw_partitions,
    raw_sales_span,
    validate,
)
from umbrella.data.contract.rules import Problem, finalise, merged


@dataclass(frozen=True)
class Checked:
    """What validating the raw tables (or one partition of them) found."""

    problems: list[Problem]
    warnings: list[Problem]
    rows: dict[str, int]
    forecasts: tuple[int, int] | None  # fallback_counts; None without forecasts


def check(
    tables: dict[str, pd.DataFrame], problems: list[Problem], params: Params, sales_label: str
) -> Checked:
    """The contract's problems, and sales implausible for their store (problems) or unusual
    (warnings)."""
    v = params.validate
    plausible = check_sales_table(
        tables.get(SALES), v.max_level_ratio, v.warn_level_ratio, sales_label
    )
    forecasts = tables.get(FORECASTS)
    return Checked(
        problems + plausible.problems,
        plausible.warnings,
        {name: len(t) for name, t in tables.items()},
        None if forecasts is None else fallback_counts(forecasts),
    )


def validate_whole(params: Params, raw: Path, out: Path) -> Checked:
    """The raw folder's files, whole; written partitioned when good."""
    tables, problems = validate(params, raw)
    checked = check(tables, problems, params, label(SALES, params))
    if not checked.problems:
        groups = store_groups(tables[SALES]["store"], params.engine.stores_per_partition)
        for name, table in tables.items():
            write_partitioned(finalise(table, name), out / name, groups)
    return checked


def validate_part(
    part: int, params: Params, start: pd.Timestamp | None, cut: bool, raw: Path, out: Path
) -> Checked:
    """One partition of partitioned raw tables (`cut` from whole files: partition_files.py);
    its interim files written when good. A table all partitions share is checked by each,
    and counted and written by the first."""
    tables, problems = validate(params, raw, part, start, cut)
    checked = check(tables, problems, params, label(SALES, params, None if cut else part, raw))
    own = {name: t for name, t in tables.items() if "store" in t or part == 0}
    if SALES in tables:  # a retailer's rows of stores without sales are checked, not kept
        stores = set(tables[SALES]["store"])
        own = {n: t[t["store"].isin(stores)] if "store" in t else t for n, t in own.items()}
    if not checked.problems:
        for name, table in own.items():
            file = part_name(part) if "store" in table else shared_name()
            write_parquet(finalise(table, name), out / name / file)
    rows = {name: n for name, n in checked.rows.items() if name in own}
    return Checked(checked.problems, checked.warnings, rows, checked.forecasts)


def validate_raw(params: Params, raw: Path, out: Path, scratch: Path) -> Checked:
    """The raw tables partition by partition: the simulated retailer's as they are, a
    retailer's own files cut into partitions in `scratch` first (partition_files.py), or
    whole when one of them does not read as CSV (validate_whole names what is wrong)."""
    if partitioned(raw):
        return validate_partitions(params, out, raw, cut=False)
    if split_raw_tables(raw, scratch, params.engine.stores_per_partition):
        return validate_partitions(params, out, scratch, cut=True)
    return validate_whole(params, raw, out)


def validate_partitions(params: Params, out: Path, raw: Path, cut: bool) -> Checked:
    parts = range(raw_partitions(raw))
    with runner(params.engine) as run:
        dates = [d for span in run(raw_sales_span, parts, {"raw": raw}) for d in span]
        start = test_start(min(dates), max(dates), params.split) if dates else None
        task = partial(validate_part, params=params, start=start, cut=cut)
        results = run(task, parts, {"raw": raw}, {"out": out})
    seen: set[str] = set()  # a shared table's problems, once
    problems = []
    for problem in (p for r in results for p in r.problems):
        key = json.dumps(problem.to_dict())
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    problems = merged(problems)  # a retailer's file found wrong in several partitions
    rows: dict[str, int] = {}
    for r in results:
        for name, n in r.rows.items():
            rows[name] = rows.get(name, 0) + n
    counts = [r.forecasts for r in results if r.forecasts is not None]
    forecasts = (sum(c[0] for c in counts), sum(c[1] for c in counts)) if counts else None
    return Checked(problems, merged([w for r in results for w in r.warnings]), rows, forecasts)


def unorderable(folder: Path, params: Params) -> list[Problem]:
    """The stores of the validated sales in `folder` that predict cannot order for
    (`plausibility.unorderable_stores`), a partition at a time, as one finding."""
    origin, need = sales_span(folder)[1], lookback(params.features)
    parts = range(partition_count(folder / SALES))
    why = [
        unorderable_stores(read_part(folder / SALES, part, columns=["store", "date"]), origin, need)
        for part in parts
    ]
    return unorderable_problem(pd.concat(why).sort_index(), origin, need, label(SALES, params))


def validation_report(checked: Checked, problems: list[Problem], warnings: list[Problem]) -> dict:
    """reports/validation.json: the verdict, every problem and warning, the rows checked."""
    return {
        "ok": not problems,
        "problems": len(problems),
        "warnings": [w.to_dict() for w in warnings],
        "rows": checked.rows,
        "forecasts": forecasts_note(checked.forecasts),
        "details": [p.to_dict() for p in problems],
    }
