"""Weather forecasts as issued: what a store manager knows at the end of each day.

For issue day t and lead h the forecast of day t+h is "informed" with probability
skill(h), and then sees the true wet/dry state with an amount error; otherwise it falls back
on climatology (a random wet/dry state and amount for the month). That gives missed and
false rain events whose rate grows with the lead, as in real forecasts, and a rain
probability that is calibrated by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.limits import RAIN_MAX_MM
from umbrella.simulator.weather import WeatherGenerator

FORECAST_COLUMNS = ["rain_mm", "rain_prob", "temp_max_c"]


def skill(lead: np.ndarray) -> np.ndarray:
    """Probability that the forecast for `lead` days ahead sees the true rain state."""
    return np.clip(0.92 - 0.07 * (lead - 1), 0.05, 1.0)


def issue_forecasts(
    weather: np.ndarray,
    dates: pd.DatetimeIndex,
    issue_days: int,
    horizon: int,
    climate: WeatherGenerator,
    rng: np.random.Generator,
) -> np.ndarray:
    """Forecasts issued on the first `issue_days` dates for leads 1..horizon.

    weather: (regions, days, 4) true weather in WEATHER_COLUMNS order, with
    days >= issue_days + horizon. Returns (regions, issue_days, horizon, 3) in
    FORECAST_COLUMNS order.
    """
    regions = weather.shape[0]
    lead = np.arange(1, horizon + 1)
    target = np.arange(issue_days)[:, None] + lead[None, :]  # (issue_days, horizon)
    month = dates.month.to_numpy()[target] - 1
    true_rain = weather[:, target, 0]
    true_temp = weather[:, target, 1]
    shape = (regions, issue_days, horizon)

    informed = rng.random(shape) < skill(lead)
    climate_wet = rng.random(shape) < climate.p_wet[month]
    climate_amount = rng.gamma(climate.rain_shape[month], climate.rain_scale[month], size=shape)
    amount_noise = rng.lognormal(0.0, 0.25 + 0.08 * lead, size=shape)
    wet = np.where(informed, true_rain > 0, climate_wet)
    amount = np.where(informed, true_rain * amount_noise, climate_amount)
    rain_mm = np.where(wet, np.clip(amount, 0.1, RAIN_MAX_MM), 0.0)

    prob = skill(lead) * wet + (1 - skill(lead)) * climate.p_wet[month]
    prob = np.clip(prob + rng.normal(0.0, 0.04, size=shape), 0.0, 1.0)
    temp = true_temp + rng.normal(0.0, 0.8 + 0.4 * lead, size=shape)
    return np.stack([rain_mm, prob, temp], axis=-1)
