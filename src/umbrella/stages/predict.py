"""predict: orders for each store and each of the next `base.horizon` days, from the
pipeline's validated data (data/predictions/orders.csv) or, with --sales, --weather and
--forecasts, from a retailer's files validated as `validate` does (to --out); with --stock,
one order per store net of its stock (ops/stock_orders.py). What is refused, capped or
warned about: ops/ordering.py."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from umbrella.core.files import write_csv
from umbrella.core.params import load_params
from umbrella.core.paths import MODEL_FILE, MODELS, TUNE_REPORT
from umbrella.ops.ordering import PIPELINE_ORDERS, order_request, requested_orders

log = logging.getLogger(__name__)
STDOUT = "-"
# On a retailer's own data, no TUNE_REPORT means settings chosen on the simulator
# (docs/experiments.md "Does it pay?")
UNTUNED = (
    "data.source is csv and params.yaml was never tuned on it (no reports/tune.json): its "
    "settings were chosen on the simulated retailer; `make tune` chooses them on your own "
    'history (docs/experiments.md "Tuning on your own history")'
)


# The CSV files predict reads (docs/production.md).
FILES = {
    "--sales": "sales history (default: data/interim)",
    "--weather": "observed weather",
    "--forecasts": "weather forecasts",
    "--costs": "each store's own costs (store, price, unit_cost, salvage, holding)",
    "--stock": "each store's umbrellas on hand at the close of the last day of sales",
    "--arrivals": "the orders on their way, each on the shelf at the opening of its date",
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
    if params.data.source == "csv" and not TUNE_REPORT.exists():
        log.warning(UNTUNED)
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
