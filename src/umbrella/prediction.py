"""Orders for the days after the data: the model's forecast and its tau* quantile.

Uses the same feature function as training, at one origin: the last day of the sales.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from umbrella.errors import DataError
from umbrella.features import build_features
from umbrella.metrics import to_order
from umbrella.params import Features

log = logging.getLogger(__name__)
MAX_LISTED = 5
# The file and column a model feature comes from, when it is an optional column.
SOURCE_COLUMN = {
    "price": "sales column price",
    "promo": "sales column promo",
    "sold_out_share_28": "sales column in_stock",
    "fc_rain_prob": "weather_forecasts column rain_prob",
    "fc_rain_prob_ens": "weather_forecasts column rain_prob",
    "fc_temp_max": "weather_forecasts column temp_max_c",
}


def _listing(values: list[str]) -> str:
    more = f", ... ({len(values)} in all)" if len(values) > MAX_LISTED else ""
    return ", ".join(values[:MAX_LISTED]) + more


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
            'forecast alone, without the earlier ones training saw (README "Forecasts and '
            'orders")',
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
                f"{label}, column store: stores without sales history: {_listing(unknown)}"
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
            f" ahead: {_listing(missing)}"
        )


def predict_orders(
    model: object,
    sales: pd.DataFrame,
    weather: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    horizon: int,
    cfg: Features,
) -> pd.DataFrame:
    """One row per store and day after the last sales date: forecast and order."""
    origin = sales["date"].max()
    ended = sales.groupby("store")["date"].max()
    ended = ended[ended < origin]
    if not ended.empty:
        raise DataError(
            f"sales, column date: stores whose sales end before {origin.date()}: "
            f"{_listing([f'{s} ({d.date()})' for s, d in ended.items()])}"
        )
    rows = build_features(
        sales, weather, forecasts, horizon, cfg, origins=pd.DatetimeIndex([origin])
    )
    missing = sorted(set(getattr(model, "features_", [])) - set(rows.columns))
    if missing:
        sources = sorted({SOURCE_COLUMN.get(f, f) for f in missing})
        raise DataError(
            f"the model was trained with columns the data lacks: {', '.join(sources)} "
            f"(features {', '.join(missing)})"
        )
    return pd.DataFrame(
        {
            "store": rows["store"],
            "date": rows["date"].dt.strftime("%Y-%m-%d"),
            "horizon": rows["horizon"],
            "forecast": np.round(model.predict(rows), 2),
            "order": to_order(model.predict_quantile(rows)).astype(np.int64),
        }
    )
