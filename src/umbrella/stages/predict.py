"""predict: forecasts and orders for each store and each of the next `base.horizon` days.

As a stage (no options) it reads the pipeline's validated data and writes
data/predictions/orders.csv. With --sales, --weather and --forecasts it reads a retailer's
latest files (the csv data contract) instead, validated by the same rules as `validate`,
and writes the orders to --out (`--out -`: stdout). With --stock (and --arrivals) it writes
one order per store net of the stock it holds (ops/stock_orders.py); with a retailer's
files and inventory.carry_over it needs them. With --costs (each store's own costs) the
same model orders at those costs, without retraining. What is refused, capped or warned
about: ops/ordering.py.
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


# The CSV files predict reads instead of the pipeline's (docs/own-data.md, docs/production.md).
FILES = {
    "--sales": "sales history (default: data/interim)",
    "--weather": "observed weather",
    "--forecasts": "weather forecasts",
    "--costs": "each store's own costs: store and any of price, unit_cost, salvage, holding "
    "(the rest from params.yaml business); the same model orders at them",
    "--stock": "each store's umbrellas on hand at the close of the last day of sales (store, "
    "date, on_hand): one order per store, net of its stock",
    "--arrivals": "the orders on their way (store, date, quantity: arriving at the opening of "
    "date)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for flag, text in FILES.items():
        parser.add_argument(flag, type=Path, help=f"CSV: {text}")
    parser.add_argument("--model", type=Path, default=MODELS / MODEL_FILE)
    parser.add_argument(
        "--out",
        help="orders CSV, or - for stdout (default without files: data/predictions/orders.csv;"
        " required with --sales, --weather and --forecasts, --costs or --stock)",
    )
    parser.add_argument(
        "--allow-failed-gate",
        action="store_true",
        help="order with a model whose evaluation failed the gate (metrics/evaluate.json)",
    )


def main(args: argparse.Namespace) -> None:
    params = load_params()
    files = (args.sales, args.weather, args.forecasts)
    stock = (args.stock, args.arrivals)
    request = order_request(
        *files, args.model, args.costs, *stock, args.out, args.allow_failed_gate
    )
    orders = requested_orders(request, params)
    out = args.out or PIPELINE_ORDERS
    if out == STDOUT:
        orders.to_csv(sys.stdout, index=False)
    else:
        write_csv(orders, Path(out))
    log.info("%d orders in %s", len(orders), "stdout" if out == STDOUT else out)
