"""predict: forecasts and orders for each store and each of the next `base.horizon` days.

As a stage (no options) it reads the pipeline's validated data and writes
data/predictions/orders.csv. With --sales, --weather and --forecasts it reads a retailer's
latest files (the csv data contract) instead, validated by the same rules as `validate`,
and writes the orders to --out (`--out -`: stdout). With --costs (each store's own costs)
the same model orders at those costs, without retraining. What is refused, capped or
warned about: ops/ordering.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from umbrella.core.files import write_csv
from umbrella.core.params import load_params
from umbrella.core.paths import MODEL_FILE, MODELS
from umbrella.ops.ordering import PIPELINE_ORDERS, order_request, requested_orders

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
    files = (args.sales, args.weather, args.forecasts)
    request = order_request(*files, args.model, args.costs, args.out, args.allow_failed_gate)
    orders = requested_orders(request, params)
    out = args.out or PIPELINE_ORDERS
    if out == STDOUT:
        orders.to_csv(sys.stdout, index=False)
    else:
        write_csv(orders, Path(out))
    where = "stdout" if out == STDOUT else out
    log.info("%d orders for %s..%s in %s", len(orders), *orders["date"].agg(["min", "max"]), where)
