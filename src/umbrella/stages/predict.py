"""predict: forecasts and orders for each store and each of the next `base.horizon` days.

As a stage (no options) it reads the pipeline's validated data and writes
data/predictions/orders.csv. With --sales, --weather and --forecasts it reads a retailer's
latest files (the csv data contract) instead, validated by the same rules as `validate`, and
writes the orders to --out (required: a retailer's orders never overwrite the pipeline's
DVC-tracked file unless --out names it; `--out -` writes them to stdout). With --costs
(each store's own costs, costs.py) the same model orders at those costs, without
retraining; --out is then required too.

Refused with exit status 2 and a message, never a traceback: sales implausible for their
store (validate.max_level_ratio), a store with fewer days of history than its features
read, and, with a retailer's files, a model whose evaluation failed the gate
(metrics/evaluate.json) unless --allow-failed-gate. Orders above predict.max_order_ratio x
the store's highest daily sales are capped, with a warning.
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial
from pathlib import Path

import pandas as pd

from umbrella.engine import runner
from umbrella.errors import DataError
from umbrella.interim import Interim, read_interim, sales_span, stores_in
from umbrella.io import read_json, write_csv
from umbrella.model_io import load_model
from umbrella.params import Params, Validate, load_params
from umbrella.partitions import partition_count
from umbrella.paths import (
    FORECASTS,
    INTERIM,
    METRICS,
    MODELS,
    PREDICTIONS,
    REPORTS,
    SALES,
    WEATHER,
    shown,
)
from umbrella.plausibility import highest_sales
from umbrella.prediction import (
    cap_orders,
    check_forecasts,
    check_sales_plausible,
    failed_gate,
    predict_orders,
    read_store_costs,
)
from umbrella.schemas import TABLES
from umbrella.validation import finalise, listing, typed_table

log = logging.getLogger(__name__)


STDOUT = "-"
EVALUATION = METRICS / "evaluate.json"
EVALUATION_DETAILS = REPORTS / "evaluate.json"  # where the gate's checks may live
# How the pipeline's validated tables are named in messages.
INTERIM_LABELS = {SALES: "data/interim/sales", FORECASTS: "data/interim/weather_forecasts"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sales", type=Path, help="sales history CSV (default: data/interim)")
    parser.add_argument("--weather", type=Path, help="observed weather CSV")
    parser.add_argument("--forecasts", type=Path, help="weather forecasts CSV")
    parser.add_argument("--model", type=Path, default=MODELS / "model.skops")
    parser.add_argument(
        "--costs",
        type=Path,
        help="CSV of each store's own costs: store and any of price, unit_cost, salvage, "
        "holding (the rest from params.yaml business); the same model orders at them",
    )
    parser.add_argument(
        "--out",
        help="orders CSV, or - for stdout (default without files: data/predictions/orders.csv;"
        " required with --sales, --weather and --forecasts)",
    )
    parser.add_argument(
        "--allow-failed-gate",
        action="store_true",
        help="order with a model whose evaluation failed the gate (metrics/evaluate.json)",
    )


def read_files(sales: Path, weather: Path, forecasts: Path, cfg: Validate) -> Interim:
    """The three files, typed and checked against the data contract and, the sales, for
    values implausible for their store."""
    tables, problems = {}, []
    for name, path in ((SALES, sales), (WEATHER, weather), (FORECASTS, forecasts)):
        table, found = typed_table(path, TABLES[name], str(path))
        problems += found
        if table is not None:
            tables[name] = table
    if problems:
        raise DataError(f"invalid input: {len(problems)} problem(s)\n{listing(problems)}")
    # Before the lean dtypes: the typed table's index is the line in the file.
    check_sales_plausible(tables[SALES], cfg.max_level_ratio, cfg.warn_level_ratio, str(sales))
    # Only a table without problems can take the lean dtypes (an unparsed count is NA).
    tables = {name: finalise(table, name) for name, table in tables.items()}
    return Interim(tables[SALES], tables[WEATHER], tables[FORECASTS], truth=None)


def check_gate(allow_failed: bool, strict: bool) -> None:
    """Refuse (strict) or warn about a model whose evaluation failed the gate or is missing."""
    try:
        evaluation = read_json(EVALUATION)
    except FileNotFoundError:
        evaluation = {}
    failed = failed_gate(evaluation)
    if failed and not any(" = " in f for f in failed) and EVALUATION_DETAILS.exists():
        failed = failed_gate(read_json(EVALUATION_DETAILS)) or failed  # the checks in detail
    if failed == []:
        return
    reason = (
        f"the model failed the gate in {shown(EVALUATION)}: {'; '.join(failed)}"
        if failed
        else f"no gate verdict in {shown(EVALUATION)} (run `dvc repro evaluate`)"
    )
    if allow_failed or not strict:
        log.warning("%s; ordering anyway%s", reason, " (--allow-failed-gate)" * allow_failed)
        return
    raise DataError(f"predict: {reason}. Give --allow-failed-gate to order with it anyway")


def forecast_orders(
    data: Interim,
    model_path: Path,
    params: Params,
    labels: dict[str, str],
    origin: pd.Timestamp,
    store_costs: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Orders of the stores of `data` for the days after `origin` at each day's costs
    (`business`, and the stores' own where given), and each store's highest daily sales
    (the cap)."""
    if data.forecasts is not None:
        check_forecasts(data.sales, data.forecasts, origin, params.base.horizon, labels[FORECASTS])
    orders = predict_orders(
        load_model(model_path),
        data.sales,
        data.weather,
        data.forecasts,
        params.base.horizon,
        params.features,
        params.business,
        labels[SALES],
        origin,
        store_costs,
    )
    return orders, highest_sales(data.sales)


def predict_part(
    part: int,
    params: Params,
    origin: pd.Timestamp,
    store_costs: pd.DataFrame | None,
    interim: Path,
    model_path: Path,
) -> tuple[pd.DataFrame, pd.Series] | str:
    """forecast_orders of one partition of the pipeline's data; a refusal's message."""
    data = read_interim(interim, part=part)
    v = params.validate
    try:
        check_sales_plausible(
            data.sales, v.max_level_ratio, v.warn_level_ratio, INTERIM_LABELS[SALES], lines=False
        )
        return forecast_orders(data, model_path, params, INTERIM_LABELS, origin, store_costs)
    except DataError as exc:
        return str(exc)


def pipeline_orders(
    model_path: Path, params: Params, costs: Path | None
) -> tuple[pd.DataFrame, pd.Series]:
    """forecast_orders of every partition of the pipeline's data, on the engine; every
    partition's refusal in one error."""
    if not (INTERIM / FORECASTS).exists():
        log.warning("no weather forecasts: the orders are made without the weather")
    parts = range(partition_count(INTERIM / SALES))
    store_costs = None
    if costs is not None:
        stores = pd.Index([s for part in parts for s in stores_in(part)])
        store_costs = read_store_costs(costs, params.business, stores)
    task = partial(predict_part, params=params, origin=sales_span()[1], store_costs=store_costs)
    reads = {"interim": INTERIM, "model_path": model_path}
    with runner(params.engine) as run:
        results = run(task, parts, reads)
    refused = [r for r in results if isinstance(r, str)]
    if refused:
        raise DataError("\n".join(refused))
    done = [r for r in results if not isinstance(r, str)]
    return (
        pd.concat([orders for orders, _ in done], ignore_index=True),
        pd.concat([highest for _, highest in done]),
    )


def main(args: argparse.Namespace) -> None:
    params = load_params()
    given = [args.sales, args.weather, args.forecasts]
    if any(given) and not all(given):
        raise DataError("predict: give all of --sales, --weather and --forecasts, or none")
    files = all(given)
    if (files or args.costs) and args.out is None:
        options = "--sales, --weather and --forecasts" if files else "--costs"
        raise DataError(
            f"predict: with {options}, give --out FILE (or --out - for stdout): the default, "
            f"{shown(PREDICTIONS / 'orders.csv')}, is the pipeline's DVC-tracked output"
        )
    # The pipeline's own run (`dvc repro`) must finish, so that CI can report on a model that
    # fails the gate (`umbrella gate` then fails the check): there, a failed gate is a warning.
    check_gate(args.allow_failed_gate, strict=files)
    if files:
        data = read_files(args.sales, args.weather, args.forecasts, params.validate)
        labels = {SALES: str(args.sales), FORECASTS: str(args.forecasts)}
        origin = data.sales["date"].max()
        store_costs = (
            None
            if args.costs is None
            else read_store_costs(args.costs, params.business, pd.Index(data.sales["store"]))
        )
        orders, highest = forecast_orders(data, args.model, params, labels, origin, store_costs)
    else:  # the model's absolute path: for the workers
        orders, highest = pipeline_orders(Path(args.model).resolve(), params, args.costs)
    orders = cap_orders(orders, highest, params.predict.max_order_ratio)
    out = args.out or PREDICTIONS / "orders.csv"
    if out == STDOUT:
        orders.to_csv(sys.stdout, index=False)
    else:
        write_csv(orders, Path(out))
    log.info(
        "%d orders for %s..%s in %s",
        len(orders),
        orders["date"].min(),
        orders["date"].max(),
        "stdout" if out == STDOUT else out,
    )
