"""predict: forecasts and orders for each store and each of the next `base.horizon` days.

As a stage (no options) it reads the pipeline's validated data and writes
data/predictions/orders.csv. With --sales, --weather and --forecasts it reads a retailer's
latest files (the csv data contract) instead, validated by the same rules as `validate`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from umbrella.errors import DataError
from umbrella.interim import Interim, read_interim
from umbrella.io import write_csv
from umbrella.model_io import load_model
from umbrella.params import load_params
from umbrella.paths import FORECASTS, MODELS, PREDICTIONS, SALES, WEATHER
from umbrella.prediction import check_forecasts, predict_orders
from umbrella.schemas import TABLES
from umbrella.validation import finalise, summary, typed_table

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sales", type=Path, help="sales history CSV (default: data/interim)")
    parser.add_argument("--weather", type=Path, help="observed weather CSV")
    parser.add_argument("--forecasts", type=Path, help="weather forecasts CSV")
    parser.add_argument("--model", type=Path, default=MODELS / "model.skops")
    parser.add_argument("--out", type=Path, default=PREDICTIONS / "orders.csv")


def read_files(sales: Path, weather: Path, forecasts: Path) -> Interim:
    """The three files, typed and checked against the data contract."""
    tables, problems = {}, []
    for name, path in ((SALES, sales), (WEATHER, weather), (FORECASTS, forecasts)):
        table, found = typed_table(path, TABLES[name], str(path))
        problems += found
        if table is not None:
            tables[name] = table
    if problems:
        raise DataError(summary(problems).replace("validation failed", "invalid input", 1))
    # Only a table without problems can take the lean dtypes (an unparsed count is NA).
    tables = {name: finalise(table, name) for name, table in tables.items()}
    return Interim(tables[SALES], tables[WEATHER], tables[FORECASTS], truth=None)


def main(args: argparse.Namespace | None = None) -> None:
    args = args or add_defaults()
    params = load_params()
    given = [args.sales, args.weather, args.forecasts]
    if any(given) and not all(given):
        raise DataError("predict: give all of --sales, --weather and --forecasts, or none")
    data = read_files(*given) if all(given) else read_interim()
    horizon = params.base.horizon
    if data.forecasts is None:
        log.warning("no weather forecasts: the orders are made without the weather")
    else:
        label = str(args.forecasts) if args.forecasts else "data/interim/weather_forecasts"
        check_forecasts(data.sales, data.forecasts, data.sales["date"].max(), horizon, label)
    orders = predict_orders(
        load_model(args.model), data.sales, data.weather, data.forecasts, horizon, params.features
    )
    write_csv(orders, args.out)
    log.info(
        "%d orders for %s..%s in %s",
        len(orders),
        orders["date"].min(),
        orders["date"].max(),
        args.out,
    )


def add_defaults() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([])
