"""`oracle_info`: the best order given exactly what is known at the origin (simulated data).

The oracle of evaluate knows the day's demand distribution, that is the weather that
followed. `oracle_info` knows the simulator's true parameters (each store-day's demand
apart from the weather: level, calendar, price, promotion, trend, drift) but of the
weather only what a store manager knows at the end of the origin day: whether it rained
that day and every forecast of the target day issued up to then. Its order is the tau
quantile (each row's own ratio: costs.py) of demand given that, by the simulator's own models:

- prior of the target day's rain: the weather generator's wet/dry Markov chain stepped
  from the origin's state (monthly transition probabilities) and its monthly gamma amounts;
- each forecast issued for the day (forecasts.py, RAIN_ERRORS): with probability
  skill(lead) it sees the true wet/dry state and an amount whose normal score (under the
  month's gamma) is the true amount's times amount_corr(lead) plus normal noise, otherwise
  it is a climatological draw; an amount at the cap (the record's wettest day) stands for
  every amount above it; forecasts issued on different days err independently, so the
  likelihoods multiply; the rain probability carries nothing beyond the forecast's wet/dry
  state;
- demand: negative binomial around mean x rain_multiplier(rain); the mean's temperature
  factor is taken at the forecasts' precision-weighted temperature (its spread is ~3 %,
  small beside the negative binomial's).

The posterior of the rain is computed on a grid (RAIN_GRID); the order is the smallest
whole number whose mixture CDF reaches tau. Approximations: forecasts are read at their
published 0.1 mm rounding as densities; on Seattle's real record the generator fitted to it
stands in for the weather's true law. With no forecasts file (observed weather stands in
for forecasts) the manager knows the weather and oracle_info is the oracle.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from umbrella.core.params import Drift
from umbrella.data.simulator import demand as dm
from umbrella.data.simulator.forecasts import RAIN_ERRORS, amount_score
from umbrella.data.simulator.weather import WeatherGenerator, seattle_weather
from umbrella.money.metrics import negative_binomial_quantile

RAIN_GRID = np.concatenate([[0.0], np.geomspace(0.05, 150.0, 240)])
MAX_LEAD = 7
TEMP_NOISE = (0.8, 0.4)  # forecasts.py: temperature error sd = 0.8 + 0.4 x lead
TINY = 1e-300
KEEP_WEIGHT = 1e-7


def simulator_climate() -> WeatherGenerator:
    """The weather generator as the simulator fits it: on Seattle's record."""
    return WeatherGenerator.fit(seattle_weather())


def wet_probability(
    wet_at_origin: np.ndarray, origin: pd.Series, horizon: np.ndarray, climate: WeatherGenerator
) -> np.ndarray:
    """P(the target day is wet | the origin's wet/dry state), the Markov chain stepped
    `horizon` days with each day's monthly transition probabilities."""
    p = np.asarray(wet_at_origin, dtype=float)
    days = pd.DatetimeIndex(origin)
    for step in range(1, int(np.max(horizon)) + 1):
        month = np.asarray((days + pd.Timedelta(days=step)).month, dtype=np.intp) - 1
        stepped = p * climate.p_wet_after_wet[month] + (1 - p) * climate.p_wet_after_dry[month]
        p = np.where(horizon >= step, stepped, p)
    return p


def rain_prior(p_wet: np.ndarray, month: np.ndarray, climate: WeatherGenerator) -> np.ndarray:
    """(rows, grid) prior weights of the target day's rain: 1 - p_wet at 0, the monthly
    gamma amount on the wet grid points (normalised on the grid)."""
    wet = RAIN_GRID[1:]
    width = np.gradient(wet)
    density = stats.gamma.pdf(
        wet[None, :], climate.rain_shape[month][:, None], scale=climate.rain_scale[month][:, None]
    )
    density *= width[None, :]
    density /= density.sum(axis=1, keepdims=True)
    return np.column_stack([1 - p_wet, p_wet[:, None] * density])


def forecast_likelihood(
    rain_mm: np.ndarray, lead: np.ndarray, month: np.ndarray, climate: WeatherGenerator
) -> np.ndarray:
    """(rows, grid) likelihood of one issued rain forecast given each true rain of the grid.
    A NaN forecast (not issued) is uninformative: 1. A forecast at the cap (published to
    0.1 mm) is censored: its likelihood is that of any amount at or above the cap."""
    f = np.asarray(rain_mm, dtype=float)[:, None]
    lead = np.asarray(lead, dtype=float)[:, None]
    s = RAIN_ERRORS.skill(lead)
    corr = RAIN_ERRORS.amount_corr(lead)
    spread = np.sqrt(1 - corr**2)
    shape, scale = climate.rain_shape[month][:, None], climate.rain_scale[month][:, None]
    p_wet = climate.p_wet[month][:, None]
    r = RAIN_GRID[None, :]
    wet_truth = r > 0
    dry_forecast = f <= 0
    cap = climate.rain_record
    capped = f >= cap - 0.05
    amount = np.clip(f, 0.05, cap)
    # The informed amount's normal score given the true one's: normal, mean corr x score.
    true_score = amount_score(np.where(wet_truth, r, 1.0), shape, scale)
    said_score = amount_score(amount, shape, scale)
    standardised = (said_score - corr * true_score) / spread
    climate_amount = np.where(
        capped, stats.gamma.sf(cap, shape, scale=scale), stats.gamma.pdf(amount, shape, scale=scale)
    )
    informed_amount = np.where(
        capped,
        stats.norm.sf(standardised),
        climate_amount * stats.norm.pdf(standardised) / (spread * stats.norm.pdf(said_score)),
    )
    informed_amount = np.where(wet_truth, informed_amount, 0.0)
    if_dry = np.where(wet_truth, (1 - s) * (1 - p_wet), s + (1 - s) * (1 - p_wet))
    if_wet = s * informed_amount + (1 - s) * p_wet * climate_amount
    likelihood = np.where(dry_forecast, if_dry, if_wet)
    return np.where(np.isnan(f), 1.0, likelihood)


def forecast_matrix(rows: pd.DataFrame, forecasts: pd.DataFrame, column: str) -> np.ndarray:
    """(rows, MAX_LEAD) the `column` of the forecast of each row's target day issued at
    lead 1..MAX_LEAD, NaN where it was issued after the origin or not at all."""
    keys = ["store", "date"] if "store" in forecasts else ["date"]
    lead = (forecasts["date"] - forecasts["issued"]).dt.days
    out = np.full((len(rows), MAX_LEAD), np.nan)
    horizon = rows["horizon"].to_numpy()
    for days in range(1, MAX_LEAD + 1):
        issued = forecasts.loc[lead == days, [*keys, column]]
        values = rows[keys].merge(issued, on=keys, how="left")[column].to_numpy(dtype=float)
        out[:, days - 1] = np.where(days >= horizon, values, np.nan)
    return out


def rain_posterior(
    rows: pd.DataFrame,
    rain: np.ndarray,
    wet_at_origin: np.ndarray,
    climate: WeatherGenerator,
) -> np.ndarray:
    """(rows, grid) posterior weights of each row's target-day rain given the origin's
    wet/dry state and the rain forecasts issued for the day up to the origin (`rain`: their
    forecast_matrix)."""
    month = rows["date"].dt.month.to_numpy() - 1
    p_wet = wet_probability(wet_at_origin, rows["origin"], rows["horizon"].to_numpy(), climate)
    log_post = np.log(np.maximum(rain_prior(p_wet, month, climate), TINY))
    for days in range(1, MAX_LEAD + 1):
        lead = np.full(len(rows), days)
        log_post += np.log(
            np.maximum(forecast_likelihood(rain[:, days - 1], lead, month, climate), TINY)
        )
    log_post -= log_post.max(axis=1, keepdims=True)
    weights = np.exp(log_post)
    return weights / weights.sum(axis=1, keepdims=True)


def temperature_estimate(rows: pd.DataFrame, forecasts: pd.DataFrame) -> np.ndarray:
    """Precision-weighted mean of the temperature forecasts issued up to the origin."""
    temp = forecast_matrix(rows, forecasts, "temp_max_c")
    precision = 1.0 / (TEMP_NOISE[0] + TEMP_NOISE[1] * np.arange(1, MAX_LEAD + 1)) ** 2
    weight = np.where(np.isnan(temp), 0.0, precision[None, :])
    with np.errstate(invalid="ignore"):
        return np.nansum(np.nan_to_num(temp) * weight, axis=1) / weight.sum(axis=1)


def mixture_quantile(
    means: np.ndarray, weights: np.ndarray, dispersion: np.ndarray, tau: float | np.ndarray
) -> np.ndarray:
    """Smallest whole Q with sum_k weights[:, k] NB_cdf(Q; means[:, k], dispersion) >= tau
    (one ratio for all rows or one per row).

    Components of weight under KEEP_WEIGHT are left out (they move the CDF by less than
    KEEP_WEIGHT x the grid size in all); the rest are evaluated as (row, component) pairs.
    """
    keep = weights > KEEP_WEIGHT
    row, component = np.nonzero(keep)
    weight = weights[row, component]
    weight = weight / np.bincount(row, weight, minlength=len(weights))[row]
    size = np.asarray(dispersion, dtype=float)[row]
    p = size / (size + np.maximum(means[row, component], 1e-9))
    # The mixture's quantile lies between its components' quantiles, the lowest and the
    # highest being those of the kept components of least and most mean (a negative
    # binomial's quantile grows with its mean): bisect on whole numbers between them.
    kept_means = np.where(keep, means, np.nan)
    n = np.asarray(dispersion, dtype=float)
    bounds = []
    for pick in (np.nanargmin, np.nanargmax):
        extreme = kept_means[np.arange(len(weights)), pick(kept_means, axis=1)]
        bounds.append(negative_binomial_quantile(np.maximum(extreme, 1e-9), n, tau))
    low, high = bounds[0] - 1, bounds[1]  # cdf(low) < tau <= cdf(high)
    while np.any(high - low > 1):
        mid = np.floor((low + high) / 2)
        cdf = np.bincount(row, weight * stats.nbinom.cdf(mid[row], size, p), minlength=len(weights))
        reached = cdf >= tau
        high, low = np.where(reached, mid, high), np.where(reached, low, mid)
    return high


CHUNK_ROWS = 50_000  # rows at a time: each (rows, grid) array stays near 100 MB


class Known(NamedTuple):
    """oracle_info per row: its expected demand, its order, and the variance of the
    demand given what it knows (the stock replay's spread of an interval's total)."""

    mean: np.ndarray
    order: np.ndarray
    variance: np.ndarray


def mixture_variance(means: np.ndarray, weights: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """The variance of each row's mixture of NB(means[:, k], dispersion) by `weights`:
    the components' mean variance, m + m^2 / k, plus the spread of their means."""
    second = means + means**2 / np.asarray(dispersion, dtype=float)[:, None] + means**2
    mean = np.sum(means * weights, axis=1)
    return np.maximum(np.sum(second * weights, axis=1) - mean**2, 0.0)


def oracle_info(
    rows: pd.DataFrame,
    truth: pd.DataFrame,
    weather: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    climate: WeatherGenerator,
    drift: Drift | None,
    tau: float | np.ndarray,
) -> Known:
    """oracle_info's point forecast (its expected demand), order at each row's critical
    ratio `tau` and variance for each row (store, origin, horizon, date), CHUNK_ROWS rows
    at a time (memory).

    truth: store, date, mean_demand, dispersion (the simulator's truth file); weather: the
    observed weather (per store or shared); forecasts: as issued (None: observed weather
    stood in for them, so the weather is known and this is the oracle's order).
    """
    tau = np.broadcast_to(np.asarray(tau, dtype=float), (len(rows),))
    if len(rows) > CHUNK_ROWS:
        chunks = [
            oracle_info(
                rows.iloc[at : at + CHUNK_ROWS],
                truth,
                weather,
                forecasts,
                climate,
                drift,
                tau[at : at + CHUNK_ROWS],
            )
            for at in range(0, len(rows), CHUNK_ROWS)
        ]
        return Known(*(np.concatenate(parts) for parts in zip(*chunks, strict=True)))
    rows = rows[["store", "origin", "horizon", "date"]].reset_index(drop=True)
    rows = rows.assign(store=rows["store"].astype(str))
    truth = truth.assign(store=truth["store"].astype(str))
    facts = rows.merge(truth, on=["store", "date"], how="left")
    mean, dispersion = facts["mean_demand"].to_numpy(float), facts["dispersion"].to_numpy(float)
    if forecasts is None:
        order = negative_binomial_quantile(mean, dispersion, tau)
        return Known(mean, order, mean + mean**2 / dispersion)
    if "store" in weather:
        weather = weather.assign(store=weather["store"].astype(str))
        forecasts = forecasts.assign(store=forecasts["store"].astype(str))
    keys = ["store", "date"] if "store" in weather else ["date"]
    observed = weather[[*keys, "rain_mm", "temp_max_c"]]
    on_day = rows.merge(observed, on=keys, how="left")
    at_origin = rows.assign(date=rows["origin"]).merge(observed, on=keys, how="left")
    effect = np.full(len(rows), dm.RAIN_EFFECT)
    if drift is not None:
        effect = np.where(
            rows["date"] >= pd.Timestamp(drift.start), effect * drift.rain_effect, effect
        )
    # The store-day's mean demand without its weather: what the simulator's parameters fix.
    weather_factor = dm.rain_multiplier(on_day["rain_mm"].to_numpy(), effect) * np.exp(
        dm.TEMP_PER_C * (on_day["temp_max_c"].to_numpy() - 15.0)
    )
    base = mean / weather_factor
    # The weather's posterior depends on a store only through its weather (stores of one
    # region share it): once per distinct (origin, horizon, wet origin, rain forecasts).
    rain = forecast_matrix(rows, forecasts, "rain_mm")
    wet = at_origin["rain_mm"].to_numpy() > 0
    signature = pd.DataFrame(rain).assign(
        origin=rows["origin"].to_numpy(), horizon=rows["horizon"].to_numpy(), wet=wet
    )
    back = signature.groupby(list(signature.columns), dropna=False, sort=False).ngroup()
    first = np.unique(back.to_numpy(), return_index=True)[1]
    unique = rows.iloc[first].reset_index(drop=True)
    posterior = rain_posterior(unique, rain[first], wet[first], climate)[back.to_numpy()]
    temp = temperature_estimate(rows, forecasts)
    temp = np.where(np.isnan(temp), on_day["temp_max_c"].to_numpy(), temp)
    means = (base * np.exp(dm.TEMP_PER_C * (temp - 15.0)))[:, None] * dm.rain_multiplier(
        RAIN_GRID[None, :], effect[:, None]
    )
    return Known(
        np.sum(means * posterior, axis=1),
        mixture_quantile(means, posterior, dispersion, tau),
        mixture_variance(means, posterior, dispersion),
    )
