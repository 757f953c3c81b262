"""predict: forecasts and orders for each store and each of the next `base.horizon` days.

As a stage (no options) it reads the pipeline's validated data and writes
data/predictions/orders.csv. With --sales, --weather and --forecasts it reads a retailer's
latest files (the csv data contract) instead, validated by the same rules as `validate`, and
writes the orders to --out (required: a retailer's orders never overwrite the pipeline's
DVC-tracked file unless --out names it; `--out -` writes them to stdout). With --costs
(each store's own costs, costs.py) the same model orders at those costs, without
retraining; --out is then required too.

Refused with exit status 2 and a message, never a traceback: sales implausible for their
store (validate.max_level_ratio), forecasts that are not finite, a model whose evaluation
failed the gate (metrics/evaluate.json) unless --allow-failed-gate or, in the pipeline,
predict.allow_failed_gate, and, with a retailer's files, a store with fewer days of
history than its features read or whose sales end early. In the pipeline such a store
gets no orders and is named in a warning, the others get theirs (an error instead with
predict.all_or_nothing). Orders above predict.max_order_ratio x the store's highest daily
sales are capped, with a warning; an order that is not a whole number from 0 to that cap
writes nothing (`prediction.final_orders`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from umbrella.core.errors import DataError
from umbrella.core.files import write_csv
from umbrella.core.freshness import check_order_days
from umbrella.core.params import OPEN_METEO, load_params
from umbrella.core.paths import MODEL_FILE, MODELS, PREDICTIONS, shown
from umbrella.evaluation.gate import require_gate
from umbrella.ops.ordering import files_orders, pipeline_orders
from umbrella.ops.prediction import cap_orders, final_orders

log = logging.getLogger(__name__)
STDOUT = "-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sales", type=Path, help="sales history CSV (default: data/interim)")
    parser.add_argument("--weather", type=Path, help="observed weather CSV")
    parser.add_argument("--forecasts", type=Path, help="weather forecasts CSV")
    parser.add_argument("--model", type=Path, default=MODELS / MODEL_FILE)
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
    if files:
        require_gate(args.allow_failed_gate, "--allow-failed-gate")
        files_given = (args.sales, args.weather, args.forecasts)
        orders, highest = files_orders(files_given, args.model, params, args.costs)
    else:
        # The pipeline's own run may order with such a model where its orders never ship
        # (CI's report on a failing pull request): predict.allow_failed_gate.
        require_gate(
            args.allow_failed_gate or params.predict.allow_failed_gate,
            "predict.allow_failed_gate: true (params.yaml) or --allow-failed-gate",
        )
        # the model's absolute path: for the workers
        orders, highest = pipeline_orders(Path(args.model).resolve(), params, args.costs)
    orders = cap_orders(orders, highest, params.predict.max_order_ratio)
    orders = final_orders(orders, highest, params.predict.max_order_ratio)
    # Orders for days already past help no store: refused when the forecasts are pulled
    # live from Open-Meteo (UMBRELLA_TODAY replays a past day), else warned about.
    live = not files and params.data.weather_forecasts == OPEN_METEO
    check_order_days(orders["date"], refuse=live, warn=files or params.data.source != "simulate")
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
