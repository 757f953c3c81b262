"""Direct multi-horizon features: one row per (store, origin t, horizon h).

One function builds the rows for training, evaluation and prediction, so there is no
train/serve skew. A row uses only what is known at the end of day t: sales and observed
weather up to t, the weather forecast for t+h issued at t, the calendar of t+h and the
planned price and promotion of t+h. Everything is vectorised over a dense store x date grid.
"""

from __future__ import annotations

import holidays
import numpy as np
import pandas as pd

from umbrella.params import Features

KEYS = ["store", "origin", "horizon", "date"]  # date = origin + horizon, the target day
TARGET = "units"
CENSORED = "censored"  # the target day sold out: units is a lower bound of demand
LEVEL = "level"  # the store's recent mean daily sales, the scale of every model
SEASONAL_NAIVE = "same_weekday_last"


def _grid(
    table: pd.DataFrame, column: str, stores: pd.Index, dates: pd.DatetimeIndex
) -> np.ndarray:
    """(stores, dates) float matrix of one column; NaN where there is no row."""
    wide = table.pivot(index="store", columns="date", values=column)
    return wide.reindex(index=stores, columns=dates).to_numpy(dtype=np.float64)


def _trailing_mean(grid: np.ndarray, window: int) -> np.ndarray:
    """Mean over the `window` days ending on each day, ignoring missing days."""
    return pd.DataFrame(grid.T).rolling(window, min_periods=1).mean().to_numpy().T


def per_store(table: pd.DataFrame, stores: pd.Index) -> pd.DataFrame:
    """Give a table without a store column one copy per store (weather shared by all)."""
    if "store" in table:
        return table.astype({"store": "string"})
    return table.merge(pd.DataFrame({"store": stores.astype("string")}), how="cross")


def holiday_flags(dates: pd.Series, country: str | None) -> np.ndarray:
    if country is None:
        return np.zeros(len(dates), dtype=np.float32)
    years = range(dates.min().year, dates.max().year + 1)
    calendar = pd.DatetimeIndex(list(holidays.country_holidays(country, years=years)))
    return dates.isin(calendar).to_numpy(dtype=np.float32)


def build_features(
    sales: pd.DataFrame,
    weather: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    horizon: int,
    cfg: Features,
    origins: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Feature rows for every store, origin and horizon 1..`horizon`.

    origins: the origin days to build (default: every day of each store's sales from the
    first with a full week of history). Targets after the data have units = NaN, which is
    how prediction rows are built. Without `forecasts`, the observed weather of the target
    day stands in for its forecast.
    """
    stores = pd.Index(sorted(sales["store"].unique()), name="store")
    first, last = sales["date"].min(), sales["date"].max()
    dates = pd.date_range(first, last + pd.Timedelta(days=horizon), freq="D")
    units = _grid(sales, "units", stores, dates)

    # Origins: days with sales of the store, after a week of history (the seasonal naive).
    s_idx, t_idx = np.nonzero(~np.isnan(units))
    t_idx_first = np.full(len(stores), len(dates))
    np.minimum.at(t_idx_first, s_idx, t_idx)
    keep = t_idx >= t_idx_first[s_idx] + 6
    if origins is not None:
        keep &= np.isin(dates[t_idx], origins)
    s_idx, t_idx = s_idx[keep], t_idx[keep]
    h = np.tile(np.arange(1, horizon + 1), len(s_idx))
    s_idx, t_idx = np.repeat(s_idx, horizon), np.repeat(t_idx, horizon)
    d_idx = t_idx + h

    rows = pd.DataFrame(
        {
            "store": stores[s_idx].astype("string"),
            "origin": dates[t_idx],
            "horizon": h.astype(np.int16),
            "date": dates[d_idx],
        }
    )
    feats: dict[str, np.ndarray] = {}
    # Sales up to the origin.
    for lag in cfg.lags:
        feats[f"sales_lag_{lag}"] = _at(units, s_idx, t_idx - lag + 1)  # lag 1: the origin
    for window in cfg.windows:
        feats[f"sales_mean_{window}"] = _trailing_mean(units, window)[s_idx, t_idx]
    feats[LEVEL] = feats[f"sales_mean_{max(cfg.windows)}"]  # the longest window sets the scale
    # The same weekday as the target day, in the weeks on or before the origin.
    weeks_back = (h + 6) // 7
    same_weekday = np.stack(
        [_at(units, s_idx, d_idx - 7 * (weeks_back + k)) for k in range(cfg.same_weekday_weeks)]
    )
    feats[SEASONAL_NAIVE] = same_weekday[0]
    seen = ~np.isnan(same_weekday)
    with np.errstate(invalid="ignore"):  # no same weekday seen yet: NaN
        feats["same_weekday_mean"] = np.nansum(same_weekday, axis=0) / seen.sum(axis=0)
    if "in_stock" in sales:
        sold_out = 1.0 - _grid(sales, "in_stock", stores, dates)
        feats["sold_out_share_28"] = _trailing_mean(sold_out, 28)[s_idx, t_idx]

    # Observed weather up to the origin.
    observed = per_store(weather, stores)
    rain = _grid(observed, "rain_mm", stores, dates)
    feats["rain_origin"] = rain[s_idx, t_idx]
    feats["rain_mean_7"] = _trailing_mean(rain, 7)[s_idx, t_idx]

    # The calendar, price and promotion of the target day.
    target = rows["date"]
    feats["weekday"] = target.dt.day_of_week.to_numpy()
    feats["month"] = target.dt.month.to_numpy()
    angle = 2 * np.pi * target.dt.day_of_year.to_numpy() / 365.25
    feats["season_cos"], feats["season_sin"] = np.cos(angle), np.sin(angle)
    feats["holiday"] = holiday_flags(target, cfg.holidays)
    for column in ("price", "promo"):
        if column in sales:
            feats[column] = _at(_grid(sales, column, stores, dates), s_idx, d_idx)

    # The weather forecast of the target day, as issued at the origin.
    feats.update(_forecast_features(rows, forecasts, observed, stores))

    out = pd.concat([rows, pd.DataFrame(feats).astype(np.float32)], axis=1)
    out[TARGET] = _at(units, s_idx, d_idx).astype(np.float32)
    if "in_stock" in sales:
        out[CENSORED] = _at(sold_out, s_idx, d_idx) == 1
    else:
        out[CENSORED] = False
    return out


def _at(grid: np.ndarray, s_idx: np.ndarray, d_idx: np.ndarray) -> np.ndarray:
    """grid[s, d], NaN where d falls outside the grid."""
    inside = (d_idx >= 0) & (d_idx < grid.shape[1])
    out = np.full(len(s_idx), np.nan)
    out[inside] = grid[s_idx[inside], d_idx[inside]]
    return out


FORECAST_FEATURES = {
    "rain_mm": "fc_rain_mm",
    "rain_prob": "fc_rain_prob",
    "temp_max_c": "fc_temp_max",
}


def _forecast_features(
    rows: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    observed: pd.DataFrame,
    stores: pd.Index,
) -> dict[str, np.ndarray]:
    if forecasts is None:
        # Stand-in: the observed weather of the target day (a perfect forecast; flatters).
        stand_in = observed[["store", "date", "rain_mm"]].copy()
        stand_in["rain_prob"] = (stand_in["rain_mm"] > 0).astype(float)
        if "temp_max_c" in observed:
            stand_in["temp_max_c"] = observed["temp_max_c"]
        table = rows[["store", "date"]].merge(stand_in, on=["store", "date"], how="left")
    else:
        issued = per_store(forecasts, stores).rename(columns={"issued": "origin"})
        table = rows[["store", "origin", "date"]].merge(
            issued, on=["store", "origin", "date"], how="left"
        )
    return {
        name: table[column].to_numpy(dtype=np.float64)
        for column, name in FORECAST_FEATURES.items()
        if column in table
    }
