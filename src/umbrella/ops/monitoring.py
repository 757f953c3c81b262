"""Drift and performance decay of the latest window against the training reference.

Each feature of the window is compared with the same season of the training years (the
same days of the year, +- `season_days`), so that a wet autumn is not mistaken for drift
just because the reference is a whole year. Numeric features are scored by the
population stability index (PSI) on the reference's deciles; 0/1 features by the
Jensen-Shannon distance of their frequencies.

Demand itself is judged against what the training years' response to the observed weather
and calendar expects (`expected_sales`): its level (`demand_response_shift`) and, through
the stock-outs that cap the sales of busy wet days, its wet days (`rain_response_shift`).

A score alone says little on a small retailer: 27 wet store-days of 3 stores move the
wet-day shift by 0.23 without any change (tests/ops/test_monitoring.py). So each check that sets
the status also says how far noise alone moves its score (`noise`: SIGMAS standard errors,
the days as clusters; for a PSI, SIGMAS standard deviations above its mean over the runs of
days before the window), and `judge` gives its verdict: an alarm only beyond both its
threshold and its noise; "insufficient data" when the data cannot tell; ok only when a
change of the threshold's size would have shown.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.spatial.distance import jensenshannon
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from umbrella.money.metrics import negative_binomial_log_terms

BINS = 10
RAIN_BANDS_MM = np.array([0.0, 1.0, 3.0, 6.0, 12.0, 25.0])  # band edges of the day's rain
WET_MM = 1.0  # a day with at least this much observed rain is wet
_EPS = 1e-4  # floor of a bin's share, so an empty bin does not make the PSI infinite
# Noise is SIGMAS standard errors. Chance passes two on 1 check in 20, so with five checks
# on about one run in five; three (the control charts' rule) on about 1 run in 70.
SIGMAS = 3.0
MIN_DAYS = 7  # a comparison needs this many days on each side (window and before it)
MIN_WET_DAYS = 5  # the wet-day shift: this many wet days on each side
# A PSI over BINS bins needs this many store-days a bin in the window (a store-day's
# horizons share its demand). Before this rule, on 2 to 6 stores with two years of sales
# and no drift, the residual PSI alarmed on 3 of 40 runs, beyond its noise (`psi_noise`).
MIN_STORE_DAYS_PER_BIN = 20
ALARM, OK, INSUFFICIENT = "alarm", "ok", "insufficient data"


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


def status(degrading: list[str], drifting: list[str]) -> str:
    """From the verdicts of the checks that mean degraded and of those that mean drift:
    degraded (retrain now) beats drift (the model's errors moved) beats insufficient data
    (a check could not tell) beats ok."""
    if ALARM in degrading:
        return "degraded"
    if ALARM in drifting:
        return "drift"
    return INSUFFICIENT if INSUFFICIENT in degrading + drifting else "ok"


def judge(
    name: str,
    score: float,
    threshold: float,
    noise: float,
    lacking: str | None = None,
    one_sided: bool = False,
) -> dict:
    """The verdict of a check and why: an alarm when `score` is beyond both `threshold` and
    `noise` (the score noise alone reaches); ok when within the threshold and a change of
    the threshold's size would have shown (noise below it); else, or when the data lacks
    something (`lacking` says what), insufficient data. `one_sided`: only a rise counts."""
    size = score if one_sided else abs(score)
    limit = f"its limit {threshold:g}"
    if lacking is not None:
        return {"verdict": INSUFFICIENT, "why": f"{name}: {lacking}"}
    if not (np.isfinite(score) and np.isfinite(noise)):
        return {"verdict": INSUFFICIENT, "why": f"{name}: no score (nothing to compare)"}
    said = f"{name} {score:+.3f}"
    if size > threshold and size > noise:
        return {"verdict": ALARM, "why": f"{said} beyond {limit} and its noise {noise:.3f}"}
    if size > threshold:
        why = f"{said} beyond {limit} but within its noise {noise:.3f}: too little data to tell"
        return {"verdict": INSUFFICIENT, "why": why}
    if noise >= threshold:
        why = (
            f"{said}, but its noise {noise:.3f} reaches {limit}: a change that large would not show"
        )
        return {"verdict": INSUFFICIENT, "why": why}
    return {"verdict": OK, "why": f"{said} within {limit} (noise {noise:.3f})"}


def lacking_days(window_days: int, before_days: int, least: int, what: str = "days") -> str | None:
    """Why a comparison of these many days in the window and before it cannot be made, or
    None when it can."""
    if min(window_days, before_days) >= least:
        return None
    return (
        f"{window_days} {what} in the window and {before_days} before it; it needs {least} "
        "on each side"
    )


def unseen_season(dates: pd.Series, window: pd.Series, season_days: int) -> str | None:
    """Why the training `dates` cannot tell drift from season in the `window`, or None: they
    hold fewer days of its season (`same_season`) than it has days. A model that never saw
    December errs differently there, drift or not (one year of history: 4 or 5 runs of 8
    alarmed without drift, before this rule)."""
    seen = dates[same_season(dates, window, season_days)].nunique()
    needed = max(window.nunique(), MIN_DAYS)
    if seen >= needed:
        return None
    return (
        f"the training days hold {seen} days within {season_days} days of the window's days "
        f"of the year, fewer than its {needed}: a season the model barely saw is no reference"
    )


def lacking_store_days(store_days: int) -> str | None:
    """Why a PSI of the window's `store_days` cannot be trusted, or None when it can."""
    needed = BINS * MIN_STORE_DAYS_PER_BIN
    if store_days >= needed:
        return None
    return f"{store_days} store-days in the window; a PSI over {BINS} bins needs {needed}"


def day_sums(values: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Per distinct day (in date order): the sum of each column of `values` (rows x k)."""
    _, inverse = np.unique(days, return_inverse=True)
    columns = np.atleast_2d(values.T)
    return np.column_stack([np.bincount(inverse, weights=c) for c in columns])


def ratio_and_se(numerator: np.ndarray, denominator: np.ndarray, days: np.ndarray) -> tuple:
    """sum(numerator) / sum(denominator) and its standard error, the days as clusters (delta
    method, with the small-sample factor G / (G - 1)): the stores of one day share its
    weather, so their errors move together."""
    sums = day_sums(np.column_stack([numerator, denominator]), days)
    total = sums.sum(axis=0)
    if len(sums) < 2 or total[1] == 0:
        return float("nan"), float("nan")
    ratio = total[0] / total[1]
    spread = np.sum((sums[:, 0] - ratio * sums[:, 1]) ** 2) * len(sums) / (len(sums) - 1)
    return float(ratio), float(np.sqrt(spread) / abs(total[1]))


def psi_noise(values: np.ndarray, days: np.ndarray, in_window: np.ndarray) -> float:
    """What the PSI of the window against the days before it reaches without any change:
    the mean plus SIGMAS standard deviations of the PSI of each run of as many days before
    the window (one a week) against the other days before it. Runs of days, not random
    days: a month's weather and season move its residuals together (with 4 stores, the
    residual PSI of the 28-day windows of one year ranged 0.05..1.2 without any drift)."""
    before = np.unique(days[~in_window])
    length = len(np.unique(days[in_window]))
    starts = range(0, len(before) - length + 1, 7)
    if length == 0 or len(starts) < 2:
        return float("nan")
    earlier = values[~in_window]
    index = np.searchsorted(before, days[~in_window])
    scores = [
        psi(
            earlier[(index < i) | (index >= i + length)],
            earlier[(index >= i) & (index < i + length)],
        )
        for i in starts
    ]
    return float(np.mean(scores) + SIGMAS * np.std(scores))


def by_content(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`table` with each store named by a number that follows from its rows, not its name,
    and the rows sorted by `keys`: every sum and fit on it then gives the same bytes
    whatever the stores are called and the rows' order (two stores with the same rows are
    interchangeable)."""
    names, inverse = np.unique(table["store"].astype(str).to_numpy(), return_inverse=True)
    rows = pd.util.hash_pandas_object(table.drop(columns="store"), index=False).to_numpy()
    content = np.zeros(len(names), np.uint64)
    np.add.at(content, inverse, rows)  # wraps around: a sum that ignores the rows' order
    number = np.empty(len(names), int)
    number[np.argsort(content, kind="stable")] = np.arange(len(names))
    out = table.assign(store=number[inverse])
    return out.sort_values(keys, kind="stable", ignore_index=True)


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
    `expected` columns, the stores numbered and the rows sorted by `by_content`, so that
    the fits here and on the result do not depend on the stores' names or the rows' order.
    """
    table = by_content(table, ["date", "store"])
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
    lacking: str | None = None,
) -> dict:
    """Has demand stopped responding to the calendar and the weather as it used to?

    The score is log(actual / expected sales) in the window minus the same in the test
    period before it (`expected_sales`; `later` is its result when already computed): a
    changed level moves it; a wet month does not. Its noise: SIGMAS standard errors, the
    days as clusters (`ratio_and_se`). `lacking`: why the caller found the comparison
    impossible, if it did (`judge`).
    """
    later = expected_sales(table, start) if later is None else later
    expected = later["expected"].to_numpy(float)
    in_window = (later["date"] >= window_start).to_numpy()
    units = later["units"].to_numpy(float)
    days = later["date"].to_numpy()

    def log_ratio(mask: np.ndarray) -> tuple[float, float]:
        ratio, se = ratio_and_se(units[mask], expected[mask], days[mask])
        return float(np.log(ratio)), se / ratio

    (window, se_window), (before, se_before) = log_ratio(in_window), log_ratio(~in_window)
    score, se = window - before, float(np.hypot(se_window, se_before))
    counts = (len(np.unique(days[in_window])), len(np.unique(days[~in_window])))
    return {
        "method": "log(actual/expected) shift",
        "score": score,
        "threshold": threshold,
        "se": se,
        "noise": SIGMAS * se,
        "days": {"window": counts[0], "before": counts[1]},
        **judge(
            "demand shift",
            score,
            threshold,
            SIGMAS * se,
            lacking or lacking_days(*counts, MIN_DAYS),
        ),
    }


def _negative_binomial_terms(
    y: np.ndarray, eta: np.ndarray, log_size: float, sold_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the log-likelihood of demand ~ NB(mean exp(eta), size) given the sales (a
    sold-out day: P(demand >= sales); any other: P(demand = sales)) and its derivative in
    eta."""
    mean, size = np.exp(eta), np.exp(log_size)
    logpmf, logsf = negative_binomial_log_terms(y, mean, size)
    # d/d eta of log P(demand >= y) is y pmf(y) / P(demand >= y)
    censored = y * np.exp(logpmf - np.where(sold_out, logsf, 0.0))
    return (
        np.where(sold_out, logsf, logpmf),
        np.where(sold_out, censored, size * (y - mean) / (size + mean)),
    )


def _row_scores(
    theta: np.ndarray, y: np.ndarray, log_mu: np.ndarray, design: np.ndarray, sold_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the log-likelihood and its gradient in theta (the design's coefficients, then
    the log size; that one by central differences)."""
    eta = log_mu + design @ theta[:-1]
    ll, d_eta = _negative_binomial_terms(y, eta, theta[-1], sold_out)
    step = 1e-5
    up = _negative_binomial_terms(y, eta, theta[-1] + step, sold_out)[0]
    down = _negative_binomial_terms(y, eta, theta[-1] - step, sold_out)[0]
    return ll, np.column_stack([design * d_eta[:, None], (up - down) / (2 * step)])


def rain_response_shift(
    later: pd.DataFrame,
    window_start: pd.Timestamp,
    threshold: float,
    wet_mm: float = WET_MM,
    lacking: str | None = None,
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
    alone, which needs dry days in the window to be measured (a wet month has few). Its
    standard error is the sandwich one with the days as clusters: the stores of a day share
    its rain, so 30 wet store-days of 4 stores are about 8 wet days, not 30. `lacking`: as
    for `demand_response_shift`.
    """
    y = later["units"].to_numpy(float)
    log_mu = np.log(np.maximum(later["expected"].to_numpy(float), 1e-6))
    sold_out = (
        (later["in_stock"] == 0).to_numpy() if "in_stock" in later else np.zeros(len(y), bool)
    )
    window = (later["date"] >= window_start).to_numpy()
    wet = (later["rain_mm"].fillna(0.0) >= wet_mm).to_numpy()
    bands = later["rain_band"].to_numpy()
    days = later["date"].to_numpy()
    wet_window, wet_before, dry_window = window & wet, ~window & wet, window & ~wet
    columns = [bands == b for b in np.unique(bands)] + [dry_window, wet_window]
    # a column without rows (no dry day in the window, say) has no estimate: left out
    kept = [i for i, c in enumerate(columns) if c.any()]
    design = np.column_stack([columns[i] for i in kept]).astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, scores = _row_scores(theta, y, log_mu, design, sold_out)
        return -float(np.sum(ll)), -scores.sum(axis=0)

    theta = np.zeros(design.shape[1] + 1)
    theta[-1] = np.log(5.0)  # a start for the negative binomial size
    fit = minimize(loss, theta, method="L-BFGS-B", jac=True)
    estimate = dict(zip(kept, fit.x[:-1], strict=True))
    dry_shift = estimate.get(len(columns) - 2)
    wet_shift = estimate.get(len(columns) - 1, float("nan"))
    se = _clustered_se(fit.x, loss, _row_scores(fit.x, y, log_mu, design, sold_out)[1], days)
    wet_se = float(se[-2]) if wet_window.any() else float("nan")
    counts = (len(np.unique(days[wet_window])), len(np.unique(days[wet_before])))
    lacking = lacking or lacking_days(*counts, MIN_WET_DAYS, "wet days")
    return {
        "method": "log change of wet days' demand, window vs test period (censored "
        "negative-binomial fit: sold-out days count as demand >= sales)",
        "score": float(wet_shift),
        "threshold": threshold,
        "se": wet_se,
        "noise": SIGMAS * wet_se,
        **judge("wet-day demand shift", wet_shift, threshold, SIGMAS * wet_se, lacking),
        "dry_shift": None if dry_shift is None else float(dry_shift),
        "rain_vs_dry": None if dry_shift is None else float(wet_shift - dry_shift),
        "wet_day_mm": wet_mm,
        "wet_days": {"window": counts[0], "before": counts[1]},
        "wet_store_days": {"window": int(wet_window.sum()), "before": int(wet_before.sum())},
        "sold_out_share_of_wet_days": {
            "window": float(sold_out[wet_window].mean()) if wet_window.any() else None,
            "before": float(sold_out[wet_before].mean()) if wet_before.any() else None,
        },
        "dispersion": float(np.exp(fit.x[-1])),
        "converged": bool(fit.success),
    }


def _clustered_se(
    theta: np.ndarray,
    loss: Callable[[np.ndarray], tuple[float, np.ndarray]],
    scores: np.ndarray,
    days: np.ndarray,
) -> np.ndarray:
    """Sandwich standard errors of a maximum-likelihood fit, the days as clusters: the
    inverse Hessian of `loss` (by central differences of its gradient) around the spread of
    the days' summed score vectors, times G / (G - 1)."""
    step = 1e-4
    hessian = np.column_stack(
        [
            (loss(theta + step * e)[1] - loss(theta - step * e)[1]) / (2 * step)
            for e in np.eye(len(theta))
        ]
    )
    per_day = day_sums(scores, days)
    clusters = len(per_day)
    try:
        inverse = np.linalg.inv((hessian + hessian.T) / 2)
    except np.linalg.LinAlgError:
        return np.full(len(theta), np.nan)
    covariance = inverse @ (per_day.T @ per_day) @ inverse * clusters / max(clusters - 1, 1)
    return np.sqrt(np.maximum(np.diag(covariance), 0.0))
