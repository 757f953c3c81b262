"""Direct multi-horizon features: one row per (store, origin t, horizon h).

One function builds the rows for training, evaluation and prediction, so there is no
train/serve skew. A row uses only what is known at the end of day t: sales and observed
weather up to t, the weather forecasts of t+h issued up to t, the calendar of t+h and the
planned price and promotion of t+h. Everything is vectorised over a dense store x date grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.core.params import Features
from umbrella.forecast.holiday_calendar import store_holiday_flags

KEYS = ["store", "origin", "horizon", "date"]  # date = origin + horizon, the target day
TARGET = "units"
CENSORED = "censored"  # the target day sold out: units is a lower bound of demand
LEVEL = "level"  # the store's recent mean daily sales, the scale of every model
USUAL = "sales_usual"  # the store's mean daily sales over up to features.usual_days
LEVEL_RAIN = "level_rain_log"  # mean log1p(rain mm) over the level's window: how wet it was
SEASONAL_NAIVE = "same_weekday_last"
SALES_FEATURES = ("sales_lag_", "sales_mean_", "same_weekday_", USUAL)  # in units (prefixes)
TARGET_RAIN = "target_rain_mm"  # observed rain of the target day: a label, never a feature


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


def build_features(
    sales: pd.DataFrame,
    weather: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    horizon: int,
    cfg: Features,
    origins: pd.DatetimeIndex | None = None,
    stores_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Feature rows for every store, origin and horizon 1..`horizon`.

    origins: the origin days to build (default: every day of each store's sales from the
    first with a full week of history). Targets after the data have units = NaN, which is
    how prediction rows are built. Without `forecasts`, the observed weather of the target
    day stands in for its forecast. `stores_table`: stores.csv (data.stores), whose
    `country` and `subdivision` set each store's holidays under `features.holidays: stores`.
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
    feats[USUAL] = _trailing_mean(units, cfg.usual_days)[s_idx, t_idx]
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
    # The weather behind the level: a wet spell raises the level for the rain, not for the
    # store. A log mean, as rain's effect on sales saturates (docs/design.md "Closer to the limit").
    feats[LEVEL_RAIN] = _trailing_mean(np.log1p(rain), max(cfg.windows))[s_idx, t_idx]

    # The calendar, price and promotion of the target day.
    target = rows["date"]
    feats["weekday"] = target.dt.day_of_week.to_numpy()
    feats["month"] = target.dt.month.to_numpy()
    angle = 2 * np.pi * target.dt.day_of_year.to_numpy() / 365.25
    feats["season_cos"], feats["season_sin"] = np.cos(angle), np.sin(angle)
    feats["holiday"] = store_holiday_flags(rows["store"], target, cfg.holidays, stores_table)
    for column in ("price", "promo"):
        if column in sales:
            feats[column] = _at(_grid(sales, column, stores, dates), s_idx, d_idx)

    # The weather forecasts of the target day issued up to the origin.
    issued = None if forecasts is None else per_store(forecasts, stores)
    feats.update(_forecast_features(issued, observed, stores, dates, s_idx, d_idx, h))

    out = pd.concat([rows, pd.DataFrame(feats).astype(np.float32)], axis=1)
    out[TARGET] = _at(units, s_idx, d_idx).astype(np.float32)
    out[TARGET_RAIN] = _at(rain, s_idx, d_idx).astype(np.float32)
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


def _wet(rain: np.ndarray) -> np.ndarray:
    """1.0 where it rains, 0.0 where it does not, NaN where unknown."""
    return np.where(np.isnan(rain), np.nan, rain > 0)


def _forecast_features(
    forecasts: pd.DataFrame | None,
    observed: pd.DataFrame,
    stores: pd.Index,
    dates: pd.DatetimeIndex,
    s_idx: np.ndarray,
    d_idx: np.ndarray,
    h: np.ndarray,
) -> dict[str, np.ndarray]:
    """The forecast of the target day issued at the origin (lead h), and the lagged ensemble:
    the mean of every forecast of that day issued on or before the origin (leads h and
    longer). Forecasts issued on different days err differently, so together they tell more
    than the latest one alone (docs/forecasting.md "Origins and horizons").
    """
    if forecasts is None:
        # Stand-in: the observed weather of the target day (a perfect forecast; flatters).
        rain = _at(_grid(observed, "rain_mm", stores, dates), s_idx, d_idx)
        out = {"fc_rain_mm": rain, "fc_rain_prob": _wet(rain)}
        if "temp_max_c" in observed:
            out["fc_temp_max"] = _at(_grid(observed, "temp_max_c", stores, dates), s_idx, d_idx)
        return out

    columns = [c for c in FORECAST_FEATURES if c in forecasts]
    out = {FORECAST_FEATURES[c]: np.full(len(s_idx), np.nan) for c in columns}
    totals: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    lead = (forecasts["date"] - forecasts["issued"]).dt.days.to_numpy()
    for days in np.unique(lead):
        values = {
            c: _at(_grid(forecasts[lead == days], c, stores, dates), s_idx, d_idx) for c in columns
        }
        at_origin = h == days
        for column, value in values.items():
            out[FORECAST_FEATURES[column]][at_origin] = value[at_origin]
        rain = values["rain_mm"]
        ensemble = {
            "fc_rain_mm_ens": np.log1p(rain),
            "fc_wet_ens": _wet(rain),
        }
        if "rain_prob" in values:
            ensemble["fc_rain_prob_ens"] = values["rain_prob"]
        for name, value in ensemble.items():
            usable = (days >= h) & ~np.isnan(value)
            totals[name] = totals.get(name, 0.0) + np.where(usable, value, 0.0)
            counts[name] = counts.get(name, 0) + usable
    with np.errstate(invalid="ignore", divide="ignore"):  # no forecast issued: NaN
        out.update({name: totals[name] / counts[name] for name in totals})
    return out
