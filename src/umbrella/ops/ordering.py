"""Orders from the pipeline's validated data, every partition on the engine, or from a
retailer's own files (`umbrella predict --sales --weather --forecasts`): checked, forecast
and ordered at each day's costs (ops/prediction.py).

Refused with a DataError (exit status 2 and a message, never a traceback): sales
implausible for their store (validate.max_level_ratio), forecasts that are not finite, a
model whose evaluation failed the gate (metrics/evaluate.json) unless allowed
(--allow-failed-gate or, in the pipeline, predict.allow_failed_gate), and, with a
retailer's files, a store with fewer days of history than its features read or whose sales
end early. In the pipeline such a store gets no orders and is named in a warning, the
others get theirs (an error instead with predict.all_or_nothing). Orders above
predict.max_order_ratio x the store's highest daily sales are capped, with a warning; an
order that is not a whole number from 0 to that cap writes nothing
(`prediction.final_orders`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import pandas as pd

from umbrella.core.engine import runner
from umbrella.core.errors import DataError
from umbrella.core.freshness import check_order_days
from umbrella.core.params import OPEN_METEO, Params, Validate
from umbrella.core.partitions import partition_count
from umbrella.core.paths import FORECASTS, INTERIM, PREDICTIONS, SALES, WEATHER, shown
from umbrella.data.contract.interim import (
    Interim,
    only_stores,
    read_interim,
    sales_span,
    stock_after,
    stores_in,
    stores_table,
)
from umbrella.data.contract.plausibility import (
    highest_sales,
    lookback,
    unorderable_problem,
    unorderable_stores,
)
from umbrella.data.contract.rules import finalise, listing, typed_table
from umbrella.data.contract.schemas import TABLES
from umbrella.data.sources.own_files import resolve
from umbrella.evaluation.gate import require_gate
from umbrella.evaluation.stock import dispersion, policy_ratio, store_capacity
from umbrella.forecast.model_io import load_model
from umbrella.ops.prediction import (
    cap_orders,
    check_forecasts,
    check_sales_plausible,
    final_orders,
    predict_orders,
    read_store_costs,
)
from umbrella.ops.stock_orders import chosen_setting, read_stock, stock_orders, stock_position

log = logging.getLogger(__name__)
# How the pipeline's validated tables are named in messages.
INTERIM_LABELS = {SALES: "data/interim/sales", FORECASTS: "data/interim/weather_forecasts"}
PIPELINE_ORDERS = PREDICTIONS / "orders.csv"
STOCK_UNKNOWN = (
    "inventory.carry_over is true but no data.stock: the orders are each day's newsvendor "
    "quantity, not net of the stock each store holds; set data.stock (and data.arrivals) "
    "in params.yaml, or give --stock (docs/production.md)"
)
STOCK_NEEDED = (
    "predict: inventory.carry_over is true (params.yaml): an umbrella left over is on the "
    "shelf tomorrow, so an order must be net of the stock each store holds. Give --stock "
    "FILE (store, date, on_hand: each store's umbrellas at the close of the last day of "
    "sales) and, for orders on their way, --arrivals FILE (store, date, quantity: arriving "
    "at the opening of date); or set inventory.carry_over: false for goods sold off each day"
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
    # The pipeline's stores.csv (data.stores): the stores' countries, for their holidays.
    return Interim(tables[SALES], tables[WEATHER], tables[FORECASTS], None, stores_table())


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
        data.stores,
    )
    return orders, highest_sales(data.sales)


def predict_part(
    part: int,
    params: Params,
    origin: pd.Timestamp,
    store_costs: pd.DataFrame | None,
    interim: Path,
    model_path: Path,
) -> tuple[pd.DataFrame | None, pd.Series, pd.Series] | str:
    """forecast_orders of the stores of one partition of the pipeline's data that can be
    ordered for (none: None), and the others with why (`unorderable_stores`); a refusal's
    message."""
    data = read_interim(interim, part=part)
    v = params.validate
    skipped = unorderable_stores(data.sales, origin, lookback(params.features))
    try:
        check_sales_plausible(
            data.sales, v.max_level_ratio, v.warn_level_ratio, INTERIM_LABELS[SALES], lines=False
        )
        kept = frozenset(data.sales["store"].astype(str)) - set(skipped.index)
        if not kept:
            return None, highest_sales(data.sales), skipped
        data = only_stores(data, kept)
        orders, highest = forecast_orders(
            data, model_path, params, INTERIM_LABELS, origin, store_costs
        )
        return orders, highest, skipped
    except DataError as exc:
        return str(exc)


def pipeline_orders(
    model_path: Path, params: Params, costs: Path | None
) -> tuple[pd.DataFrame, pd.Series]:
    """forecast_orders of every partition of the pipeline's data, on the engine; every
    partition's refusal in one error. The stores that cannot be ordered for are named in a
    warning, or with predict.all_or_nothing in an error."""
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
    skipped = pd.concat([why for _, _, why in done]).sort_index()
    made = [orders for orders, _, _ in done if orders is not None]
    if not skipped.empty:
        # The same finding as validate's (reports/validation.json), in the same words.
        origin = sales_span()[1]
        need = lookback(params.features)
        found = unorderable_problem(skipped, origin, need, INTERIM_LABELS[SALES])
        if params.predict.all_or_nothing or not made:
            why = "predict.all_or_nothing: true" if made else "no store left"
            raise DataError(f"{found[0]}; {why}: no orders written")
        log.warning("%s; the other stores get their orders", found[0])
    return (
        pd.concat(made, ignore_index=True),
        pd.concat([highest for _, highest, _ in done]),
    )


def files_orders(
    files: tuple[Path, Path, Path], model_path: Path, params: Params, costs: Path | None
) -> tuple[pd.DataFrame, pd.Series]:
    """forecast_orders of a retailer's own sales, weather and forecasts files (read_files),
    for the days after their last day of sales, at the stores' own `costs` where given."""
    sales, weather, forecasts = files
    data = read_files(sales, weather, forecasts, params.validate)
    labels = {SALES: str(sales), FORECASTS: str(forecasts)}
    store_costs = (
        None
        if costs is None
        else read_store_costs(costs, params.business, pd.Index(data.sales["store"]))
    )
    origin = data.sales["date"].max()
    return forecast_orders(data, model_path, params, labels, origin, store_costs)


@dataclass(frozen=True)
class OrderRequest:
    """What `umbrella predict` was asked for: the pipeline's data (no files) or a
    retailer's `files` (sales, weather, forecasts), the model, the stores' own `costs`,
    their `stock` and `arrivals` (orders net of stock, ops/stock_orders.py), where the
    orders go (`out`, "-" for stdout) and whether a model that failed the gate may order."""

    files: tuple[Path, Path, Path] | None
    model: Path
    costs: Path | None
    stock: Path | None
    arrivals: Path | None
    out: str | None
    allow_failed_gate: bool


def order_request(
    sales: Path | None,
    weather: Path | None,
    forecasts: Path | None,
    model: Path,
    costs: Path | None,
    stock: Path | None,
    arrivals: Path | None,
    out: str | None,
    allow_failed_gate: bool,
) -> OrderRequest:
    """The request of predict's options; refused when they do not go together: all three
    files or none, --out with files, --costs or --stock (a retailer's orders never
    overwrite the pipeline's DVC-tracked file unless --out names it), --arrivals only with
    --stock, and not --costs with --stock (the stock policy orders at `business`)."""
    files = None
    if sales is not None and weather is not None and forecasts is not None:
        files = (sales, weather, forecasts)
    elif sales or weather or forecasts:
        raise DataError("predict: give all of --sales, --weather and --forecasts, or none")
    if arrivals is not None and stock is None:
        raise DataError("predict: --arrivals are the orders on their way: give --stock too")
    if costs is not None and stock is not None:
        why = "orders net of stock are made at params.yaml business"
        raise DataError(f"predict: --costs with --stock is not supported: {why}")
    if (files or costs or stock) and out is None:
        options = (
            "--sales, --weather and --forecasts" if files else "--costs" if costs else "--stock"
        )
        raise DataError(
            f"predict: with {options}, give --out FILE (or --out - for stdout): the default, "
            f"{shown(PIPELINE_ORDERS)}, is the pipeline's DVC-tracked output"
        )
    return OrderRequest(files, model, costs, stock, arrivals, out, allow_failed_gate)


def _local(location: str | None) -> Path | None:
    """A path of params.yaml's data block as a file (relative to the repository root)."""
    return None if location is None else Path(resolve(location))


def requested_orders(request: OrderRequest, params: Params) -> pd.DataFrame:
    """The orders `request` asks for, checked: the gate, the cap, whole numbers, and the
    days they are for (orders for days already past help no store); with `stock` (or, for
    the pipeline's own data, data.stock), each store's order net of its stock
    (ops/stock_orders.py)."""
    carry_over = params.inventory.carry_over
    pipeline = request.files is None and request.stock is None
    if pipeline and params.data.stock is not None:  # its own stock files, data.stock
        stock, arrivals = (_local(params.data.stock), _local(params.data.arrivals))
        request = replace(request, stock=stock, arrivals=arrivals)
    elif pipeline and carry_over and params.data.source == "csv":
        log.warning(STOCK_UNKNOWN)
    if request.stock is not None and not carry_over:
        raise DataError(
            "predict: a stock file (--stock or data.stock) with inventory.carry_over: false "
            "(params.yaml): a day's left-overs are sold off, there is no stock to order net of"
        )
    if request.files is not None and request.stock is None and carry_over:
        raise DataError(STOCK_NEEDED)
    if request.files is not None:
        require_gate(request.allow_failed_gate, "--allow-failed-gate")
        orders, highest = files_orders(request.files, request.model, params, request.costs)
    else:
        # The pipeline's own run may order with such a model where its orders never ship
        # (CI's report on a failing pull request): predict.allow_failed_gate.
        require_gate(
            request.allow_failed_gate or params.predict.allow_failed_gate,
            "predict.allow_failed_gate: true (params.yaml) or --allow-failed-gate",
        )
        # the model's absolute path: for the workers
        orders, highest = pipeline_orders(request.model.resolve(), params, request.costs)
    orders = cap_orders(orders, highest, params.predict.max_order_ratio)
    orders = final_orders(orders, highest, params.predict.max_order_ratio)
    # Refused when the forecasts are pulled live from Open-Meteo (UMBRELLA_TODAY replays a
    # past day), else warned about.
    files = request.files is not None
    live = not files and params.data.weather_forecasts == OPEN_METEO
    check_order_days(orders["date"], refuse=live, warn=files or params.data.source != "simulate")
    origin = pd.Timestamp(orders["date"].min()) - pd.Timedelta(days=1)
    stores = stores_table()  # the pipeline's validated stores.csv: each store's capacity
    if request.stock is not None:
        capacity = store_capacity(params.inventory, stores)
        position = read_stock(request.stock, request.arrivals, origin, highest, capacity)
    elif pipeline and carry_over and (kept := stock_after(origin)) is not None:
        position = stock_position(*kept, origin, highest.index)  # the simulated stockroom's
    else:
        return orders
    on_hand, on_order = position
    size = dispersion(load_model(request.model))
    setting = chosen_setting(policy_ratio(params.inventory, params.business))
    return stock_orders(orders, on_hand, on_order, size, setting, params.inventory, stores)
