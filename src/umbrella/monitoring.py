"""Drift and performance decay of the latest window against the training reference.

Each feature of the window is compared with the same season of the training years (the
same days of the year, +- `season_days`), so that a wet autumn is not mistaken for drift
just because the reference is a whole year. Numeric features are scored by the
population stability index (PSI) on the reference's deciles; 0/1 features by the
Jensen-Shannon distance of their frequencies.

Demand itself is judged against what the training years' response to the observed weather
and calendar expects (`expected_sales`): its level (`demand_response_shift`) and, through
the stock-outs that cap the sales of busy wet days, its wet days (`rain_response_shift`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.spatial.distance import jensenshannon
from scipy.stats import nbinom
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BINS = 10
RAIN_BANDS_MM = np.array([0.0, 1.0, 3.0, 6.0, 12.0, 25.0])  # band edges of the day's rain
WET_MM = 1.0  # a day with at least this much observed rain is wet
_EPS = 1e-4  # floor of a bin's share, so an empty bin does not make the PSI infinite


def psi(reference: np.ndarray, current: np.ndarray, bins: int = BINS) -> float:
    """Population stability index of `current` against `reference` on its quantile bins."""
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    ref = np.maximum(ref / ref.sum(), _EPS)
    cur = np.maximum(cur / cur.sum(), _EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, 0..1) of the category frequencies."""
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    categories = np.union1d(reference, current)
    ref = np.array([np.mean(reference == c) for c in categories])
    cur = np.array([np.mean(current == c) for c in categories])
    return float(jensenshannon(ref, cur, base=2))


def same_season(dates: pd.Series, window: pd.Series, season_days: int) -> np.ndarray:
    """True for dates whose day of the year lies within `season_days` of the window's."""
    days = np.unique(window.dt.day_of_year.to_numpy())
    doy = dates.dt.day_of_year.to_numpy()
    gap = np.abs(doy[:, None] - days[None, :])
    gap = np.minimum(gap, 366 - gap)  # the year wraps around
    return (gap <= season_days).any(axis=1)


def feature_drift(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    numeric: list[str],
    binary: list[str],
    psi_threshold: float,
    js_threshold: float,
) -> dict[str, dict]:
    """Score, threshold and flag of each feature present in both tables."""
    scores = {}
    for name in numeric + binary:
        if name not in reference or name not in window:
            continue
        ref, cur = reference[name].to_numpy(float), window[name].to_numpy(float)
        is_numeric = name in numeric
        score = psi(ref, cur) if is_numeric else js_distance(ref, cur)
        threshold = psi_threshold if is_numeric else js_threshold
        scores[name] = {
            "method": "psi" if is_numeric else "jensen_shannon",
            "score": score,
            "threshold": threshold,
            "drift": bool(score > threshold),
        }
    return scores


def status(drifted: bool, decayed: bool) -> str:
    """degraded (retrain now) beats drift (the model's errors moved) beats ok."""
    if decayed:
        return "degraded"
    return "drift" if drifted else "ok"


def demand_table(sales: pd.DataFrame, weather: pd.DataFrame, holidays: np.ndarray) -> pd.DataFrame:
    """One row per store and day: sales with the day's observed weather and calendar."""
    keys = [k for k in ("date", "store") if k in weather]
    table = sales.merge(weather, on=keys, how="left")
    table["weekday"] = table["date"].dt.day_of_week
    table["month"] = table["date"].dt.month
    table["holiday"] = holidays
    return table


def expected_sales(table: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """The days from `start` on, each with the sales the training days' response expects.

    A Poisson regression fitted on the training days (before `start`) explains each store's
    sales by its store, weekday, month, holidays, price, promotion and the *observed* weather
    of the day (known in hindsight, so it is far less noisy than any forecast). Rain enters in
    bands: any shape of response, and a downpour heavier than the training years' falls in
    the top band instead of being extrapolated. Returns the later rows with `rain_band` and
    `expected` columns.
    """
    categorical = ["store", "weekday", "month", "rain_band"]
    numeric = [c for c in ("holiday", "promo", "temp_max_c") if c in table]
    frame = table.assign(
        rain_band=np.searchsorted(RAIN_BANDS_MM, table["rain_mm"].fillna(0.0), side="right"),
        **({"log_price": np.log(table["price"])} if "price" in table else {}),
    )
    numeric += ["log_price"] if "price" in table else []
    model = make_pipeline(
        ColumnTransformer(
            [
                # sparse: a thousand stores make a thousand columns
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("num", StandardScaler(), numeric),
            ]
        ),
        PoissonRegressor(alpha=1e-4, max_iter=1000),
    )
    train = frame[frame["date"] < start].dropna(subset=numeric)
    model.fit(train[categorical + numeric], train["units"])
    later = frame[frame["date"] >= start].fillna({c: train[c].median() for c in numeric})
    return later.assign(expected=model.predict(later[categorical + numeric]))


def demand_response_shift(
    table: pd.DataFrame,
    start: pd.Timestamp,
    window_start: pd.Timestamp,
    threshold: float,
    later: pd.DataFrame | None = None,
) -> dict:
    """Has demand stopped responding to the calendar and the weather as it used to?

    The score is log(actual / expected sales) in the window minus the same in the test
    period before it (`expected_sales`; `later` is its result when already computed): a
    changed level moves it; a wet month does not.
    """
    later = expected_sales(table, start) if later is None else later
    expected = later["expected"].to_numpy(float)
    in_window = (later["date"] >= window_start).to_numpy()
    units = later["units"].to_numpy(float)

    def log_ratio(mask: np.ndarray) -> float:
        return float(np.log(units[mask].sum() / expected[mask].sum())) if mask.any() else np.nan

    score = log_ratio(in_window) - log_ratio(~in_window)
    return {
        "method": "log(actual/expected) shift",
        "score": score,
        "threshold": threshold,
        "drift": bool(abs(score) > threshold),
    }


def rain_response_shift(
    later: pd.DataFrame, window_start: pd.Timestamp, threshold: float, wet_mm: float = WET_MM
) -> dict:
    """Has the demand of wet days changed, seen through the stock-outs?

    On a wet day with a stronger rain response the shelves sell out, so its sales barely
    move: the sales-based demand shift misses it. Here sold-out days (in_stock = 0) count
    for what they say, "demand was at least the sales", in a censored likelihood: demand is
    negative binomial around the expected sales (`expected_sales`) times
    exp(band correction + window x (dry shift or wet shift)). The band corrections, one per
    rain band, absorb the bias of the expected sales on busy wet days (the training sales
    of sold-out days were capped too); the dry and wet shifts are the log change of dry and
    wet days' demand in the window against the test period before it. All, and the spread,
    by maximum likelihood. A doubled rain effect shows as more wet days selling out, and by
    more, than the expected demand and its spread allow.

    The score is the wet shift (a changed level moves it too, and the dry shift with it);
    `rain_vs_dry` is the wet shift less the dry shift, the change of the rain response
    alone, which needs dry days in the window to be measured (a wet month has few).
    """
    y = later["units"].to_numpy(float)
    log_mu = np.log(np.maximum(later["expected"].to_numpy(float), 1e-6))
    sold_out = (
        (later["in_stock"] == 0).to_numpy() if "in_stock" in later else np.zeros(len(y), bool)
    )
    window = (later["date"] >= window_start).to_numpy()
    wet = (later["rain_mm"].fillna(0.0) >= wet_mm).to_numpy()
    bands = later["rain_band"].to_numpy()
    design = np.column_stack(
        [bands == b for b in np.unique(bands)] + [window & ~wet, window & wet]
    ).astype(float)

    def loss(theta: np.ndarray) -> float:
        mean = np.exp(log_mu + design @ theta[:-1])
        size = np.exp(theta[-1])
        p = size / (size + mean)
        # a sold-out day: P(demand >= sales); any other: P(demand = sales)
        ll = np.where(sold_out, nbinom.logsf(y - 1, size, p), nbinom.logpmf(y, size, p))
        return -float(np.sum(ll))

    theta = np.zeros(design.shape[1] + 1)
    theta[-1] = np.log(5.0)  # a start for the negative binomial size
    fit = minimize(loss, theta, method="L-BFGS-B")
    dry_shift, wet_shift = (float(x) for x in fit.x[-3:-1])
    wet_window, wet_before = window & wet, ~window & wet
    return {
        "method": "log change of wet days' demand, window vs test period (censored "
        "negative-binomial fit: sold-out days count as demand >= sales)",
        "score": wet_shift,
        "threshold": threshold,
        "drift": bool(abs(wet_shift) > threshold),
        "dry_shift": dry_shift if (window & ~wet).any() else None,
        "rain_vs_dry": wet_shift - dry_shift if (window & ~wet).any() else None,
        "wet_day_mm": wet_mm,
        "wet_store_days": {"window": int(wet_window.sum()), "before": int(wet_before.sum())},
        "sold_out_share_of_wet_days": {
            "window": float(sold_out[wet_window].mean()) if wet_window.any() else None,
            "before": float(sold_out[wet_before].mean()) if wet_before.any() else None,
        },
        "dispersion": float(np.exp(fit.x[-1])),
        "converged": bool(fit.success),
    }
