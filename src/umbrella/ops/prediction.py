"""Orders for the days after the data: the model's forecast and its tau* quantile.

Uses the same feature function as training, at one origin: the last day of the sales.
Before it: the guards that refuse what would make an order meaningless (too short a
history, implausible sales, a model that failed its gate); after it, the cap on orders
far above anything the store ever sold, and a last guard (`final_orders`): every order a
whole number from 0 to its cap, or none is written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from umbrella.core.errors import DataError, first_few
from umbrella.core.params import Business, Features
from umbrella.data.contract.plausibility import (
    check_sales_table,
    describe,
    lookback,
    short_histories,
    unorderable_stores,
)
from umbrella.data.contract.rules import Problem, listing, problem, typed_table
from umbrella.data.contract.schemas import STORE_COSTS
from umbrella.forecast.distribution import require_finite
from umbrella.forecast.features import build_features
from umbrella.forecast.forecaster import Forecaster
from umbrella.forecast.rain_posterior import DERIVED
from umbrella.money.costs import COST_COLUMNS, day_costs
from umbrella.money.metrics import to_order
from umbrella.money.newsvendor import SERVICE_LEVEL_RANGE, critical_ratio

log = logging.getLogger(__name__)
# The file and column a model feature comes from, when it is an optional column.
SOURCE_COLUMN = {
    "price": "sales column price",
    "promo": "sales column promo",
    "sold_out_share_28": "sales column in_stock",
    "fc_rain_prob": "weather_forecasts column rain_prob",
    "fc_rain_prob_ens": "weather_forecasts column rain_prob",
    "fc_temp_max": "weather_forecasts column temp_max_c",
}


def check_forecasts(
    sales: pd.DataFrame, forecasts: pd.DataFrame, origin: pd.Timestamp, horizon: int, label: str
) -> None:
    """The forecasts issued at the origin must cover every store and day 1..horizon.

    Warns when none were issued in the days before: the lagged-ensemble features then see
    only the latest forecast, where training saw up to `horizon` of them.
    """
    before = origin - pd.Timedelta(days=horizon - 1)
    if horizon > 1 and not forecasts["issued"].between(before, origin, inclusive="left").any():
        log.warning(
            "%s: no forecasts issued in the %d days before %s; the orders use the latest "
            "forecast alone, without the earlier ones training saw "
            '(docs/forecasting.md "Origins and horizons")',
            label,
            horizon - 1,
            origin.date(),
        )
    issued = forecasts[forecasts["issued"] == origin]
    if issued.empty:
        latest = forecasts["issued"].max()
        raise DataError(
            f"{label}, column issued: no forecasts issued on {origin.date()}, the last sales "
            f"date (latest issued: {latest.date() if pd.notna(latest) else 'none'})"
        )
    stores = pd.Index(sales["store"].unique())
    if "store" in issued:
        unknown = sorted(set(issued["store"]) - set(stores))
        if unknown:
            raise DataError(
                f"{label}, column store: stores without sales history: {first_few(unknown)}"
            )
        need = pd.MultiIndex.from_product(
            [stores, origin + pd.to_timedelta(np.arange(1, horizon + 1), unit="D")],
            names=["store", "date"],
        )
        have = pd.MultiIndex.from_frame(issued[["store", "date"]])
        missing = [f"{s} {d.date()}" for s, d in need[~need.isin(have)]]
    else:
        days = origin + pd.to_timedelta(np.arange(1, horizon + 1), unit="D")
        missing = [str(d.date()) for d in days[~days.isin(issued["date"])]]
    if missing:
        raise DataError(
            f"{label}, column date: the forecasts issued on {origin.date()} miss days 1..{horizon}"
            f" ahead: {first_few(missing)}"
        )


def predict_orders(
    model: Forecaster,
    sales: pd.DataFrame,
    weather: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    horizon: int,
    cfg: Features,
    business: Business,
    label: str = "sales",
    origin: pd.Timestamp | None = None,
    store_costs: pd.DataFrame | None = None,
    stores_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per store and day after the origin (default: the last sales date): forecast,
    order (a whole number of umbrellas, a float until `final_orders`) and the critical ratio
    it is made at, each day's from `business` and the stores' own costs (costs.py). A
    partition of the stores is given the origin of all of them.
    `stores_table`: stores.csv, for `features.holidays: stores` (build_features).

    Refuses (DataError) a store whose sales end early or whose history is shorter than its
    features read (`check_orderable_history`), and forecasts that are not finite numbers
    (`distribution.require_finite`); `label` names the sales file in the message.
    """
    origin = sales["date"].max() if origin is None else origin
    check_orderable_history(sales, cfg, label, origin)
    rows = build_features(
        sales,
        weather,
        forecasts,
        horizon,
        cfg,
        origins=pd.DatetimeIndex([origin]),
        stores_table=stores_table,
    )
    missing = sorted(set(getattr(model, "features_", [])) - set(rows.columns) - DERIVED)
    if missing:
        sources = sorted({SOURCE_COLUMN.get(f, f) for f in missing})
        raise DataError(
            f"the model was trained with columns the data lacks: {', '.join(sources)} "
            f"(features {', '.join(missing)})"
        )
    tau = day_costs(rows, business, store_costs).tau
    made = rows[["store", "date"]].assign(
        forecast=model.predict(rows), quantile=model.predict_quantile(rows, tau)
    )
    require_finite(made, ["forecast", "quantile"], f"{label}: the orders")
    return pd.DataFrame(
        {
            "store": rows["store"],
            "date": rows["date"].dt.strftime("%Y-%m-%d"),
            "horizon": rows["horizon"],
            "forecast": np.round(made["forecast"], 2),
            "order": to_order(made["quantile"].to_numpy()),
            "critical_ratio": np.round(tau, 4),
        }
    )


def read_store_costs(path: Path, business: Business, stores: pd.Index) -> pd.DataFrame:
    """Each store's own costs (`predict --costs`): the file checked against the contract
    (schemas.STORE_COSTS), with no column it does not know, no store without sales and, at
    the store's regular price, an order that means something (tau within
    SERVICE_LEVEL_RANGE). Every problem in one DataError naming the file, column and lines."""
    label = str(path)
    table, problems = typed_table(path, STORE_COSTS, label)
    if table is not None and not problems:
        problems += _cost_problems(table, business, stores, label)
    if problems:
        raise DataError(f"invalid costs: {len(problems)} problem(s)\n{listing(problems)}")
    assert table is not None
    return table[[c for c in ["store", *COST_COLUMNS] if c in table]]


def _cost_problems(
    table: pd.DataFrame, business: Business, stores: pd.Index, label: str
) -> list[Problem]:
    known = [c.name for c in STORE_COSTS.columns]
    problems = [
        problem(label, column, f"unknown column (known: {', '.join(known)})")
        for column in table.columns
        if column not in known
    ]
    unknown = ~table["store"].isin(stores)
    if unknown.any():
        problems.append(
            problem(
                label,
                "store",
                "stores without sales history",
                table.index[unknown],
                table.loc[unknown, "store"],
            )
        )
    regular = day_costs(table[["store"]], business, table)
    low, high = SERVICE_LEVEL_RANGE
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(critical_ratio(regular.underage, regular.overage))
    bad = (regular.overage <= 0) | ~((ratio >= low) & (ratio <= high))
    if bad.any():
        examples = [
            f"{s} {r:.4f}" for s, r in zip(table.loc[bad, "store"], ratio[bad], strict=True)
        ]
        problems.append(
            problem(
                label,
                None,
                f"tau = (price - unit_cost) / (price - salvage + holding) must be in "
                f"{low}..{high} (each value not given is business's)",
                table.index[bad],
                examples,
            )
        )
    return problems


def check_orderable_history(
    sales: pd.DataFrame, cfg: Features, label: str, origin: pd.Timestamp
) -> None:
    """Every store needs sales up to the origin and on each of the days its features look
    back over (the longest lag, rolling window or run of same-weekday weeks): with fewer,
    the level (the longest window's mean) would be a mean of less, and the order would
    change without a word (`plausibility.unorderable_stores`). The usual sales are the mean
    of up to features.usual_days days: a store with fewer is read on the days it has, as in
    training; that is said, since a file cut short does the same."""
    need = lookback(cfg)
    refused = unorderable_stores(sales, origin, need)
    if not refused.empty:
        stores = [f"{store} ({why})" for store, why in refused.items()]
        raise DataError(
            f"{label}, column date: too short a history: each store needs sales on each of "
            f"the {need} days up to {origin.date()}, the last sales date (the longest of "
            f"features.lags, features.windows and features.same_weekday_weeks x 7); "
            f"{first_few(stores)}"
        )
    young = short_histories(sales, origin, cfg.usual_days)
    if not young.empty:
        log.warning(
            "%s: the usual sales of %d store(s) are the mean of fewer than features.usual_days "
            "= %d days (all their sales given): %s",
            label,
            len(young),
            cfg.usual_days,
            first_few([f"{store} has {have}" for store, have in young.items()]),
        )


def check_sales_plausible(
    sales: pd.DataFrame, max_ratio: float, warn_ratio: float, label: str, lines: bool = True
) -> None:
    """Refuse sales implausible for their store (validate's rule, `plausibility`); log the
    unusual ones. `lines`: the index of `sales` is the line in the file."""
    found = check_sales_table(sales, max_ratio, warn_ratio, label, lines)
    if found.problems:
        raise DataError(
            f"{label}: implausible sales, refused (validate.max_level_ratio = {max_ratio:g}); "
            f"correct the file:\n{describe(found.problems)}"
        )


def order_cap(orders: pd.DataFrame, highest: pd.Series, max_ratio: float) -> np.ndarray:
    """Each order's cap: `max_ratio` x its store's highest daily sales in the history given
    (`highest`, by store: plausibility.highest_sales), whole."""
    return np.floor(orders["store"].map(highest).to_numpy(float) * max_ratio)


def cap_orders(orders: pd.DataFrame, highest: pd.Series, max_ratio: float) -> pd.DataFrame:
    """Orders capped at `order_cap`.

    Capped, not refused: the other stores' orders stay usable, and no model has seen a day
    that far above everything a store ever sold, so an order beyond it is an extrapolation,
    not knowledge. Each capped order is logged with the order the model made.
    """
    cap = order_cap(orders, highest, max_ratio)
    over = orders["order"].to_numpy() > cap
    if not over.any():
        return orders
    capped = [
        f"{r.store} {r.date}: {r.order:.0f} -> {c:.0f}"
        for r, c in zip(orders.loc[over].itertuples(), cap[over], strict=True)
    ]
    log.warning(
        "%d order(s) above predict.max_order_ratio = %g x the store's highest daily sales, "
        "capped: %s",
        int(over.sum()),
        max_ratio,
        first_few(capped),
    )
    out = orders.copy()
    out.loc[over, "order"] = cap[over]
    return out


def final_orders(orders: pd.DataFrame, highest: pd.Series, max_ratio: float) -> pd.DataFrame:
    """The orders as written: whole numbers (int64), after a last look. Every order must be
    finite, whole and from 0 to its cap (`order_cap`), else DataError naming the stores and
    dates, and none is written: whatever went wrong before (a model, a cap, a cast), no
    order of -2**63 or of a billion umbrellas leaves here."""
    order = orders["order"].to_numpy(dtype=float)
    cap = order_cap(orders, highest, max_ratio)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(order) & (order == np.round(order)) & (order >= 0) & (order <= cap)
    if not good.all():
        wrong = [
            f"{r.store} {r.date}: {r.order} (cap {c:g})"
            for r, c in zip(orders.loc[~good].itertuples(), cap[~good], strict=True)
        ]
        raise DataError(
            "orders that are not whole numbers from 0 to the store's cap "
            f"(predict.max_order_ratio = {max_ratio:g} x its highest daily sales) refused, "
            f"none written: {first_few(wrong)}"
        )
    return orders.assign(order=order.astype(np.int64))
