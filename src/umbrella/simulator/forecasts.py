"""Weather forecasts as issued: what a store manager knows at the end of each day.

For issue day t and lead h the forecast of day t+h is "informed" with probability
skill(h), and then sees the true wet/dry state with an amount error (the true amount times
a lognormal factor of log-sd amount_sd(h)); otherwise it falls back on climatology (a
random wet/dry state and amount for the month). That gives missed and false rain events
whose rate grows with the lead, as in real forecasts, and a rain probability that is
calibrated by construction. No forecast exceeds the wettest day of the record the climate
was fitted on (WeatherGenerator.rain_record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.simulator.weather import WeatherGenerator

FORECAST_COLUMNS = ["rain_mm", "rain_prob", "temp_max_c"]
MIN_SKILL = 0.05


@dataclass(frozen=True)
class RainErrors:
    """How rain forecasts err, linear in the lead h (days): at lead 1 and the change per day."""

    skill_at_1: float  # P(the forecast sees the true wet/dry state)
    skill_drop: float
    amount_sd_at_1: float  # sd of log(forecast / true amount) when it sees the state
    amount_sd_growth: float

    def skill(self, lead: np.ndarray) -> np.ndarray:
        """Probability that the forecast for `lead` days ahead sees the true rain state."""
        return np.clip(self.skill_at_1 - self.skill_drop * (lead - 1), MIN_SKILL, 1.0)

    def amount_sd(self, lead: np.ndarray) -> np.ndarray:
        """Log-sd of the amount error of an informed forecast `lead` days ahead."""
        return self.amount_sd_at_1 + self.amount_sd_growth * (lead - 1)


RAIN_ERRORS = RainErrors(
    skill_at_1=0.92, skill_drop=0.07, amount_sd_at_1=0.33, amount_sd_growth=0.08
)


def issue_forecasts(
    weather: np.ndarray,
    dates: pd.DatetimeIndex,
    issue_days: int,
    horizon: int,
    climate: WeatherGenerator,
    rng: np.random.Generator,
    errors: RainErrors = RAIN_ERRORS,
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
    skill = errors.skill(lead)

    informed = rng.random(shape) < skill
    climate_wet = rng.random(shape) < climate.p_wet[month]
    climate_amount = rng.gamma(climate.rain_shape[month], climate.rain_scale[month], size=shape)
    amount_noise = rng.lognormal(0.0, errors.amount_sd(lead), size=shape)
    wet = np.where(informed, true_rain > 0, climate_wet)
    amount = np.where(informed, true_rain * amount_noise, climate_amount)
    rain_mm = np.where(wet, np.clip(amount, 0.1, climate.rain_record), 0.0)

    prob = skill * wet + (1 - skill) * climate.p_wet[month]
    prob = np.clip(prob + rng.normal(0.0, 0.04, size=shape), 0.0, 1.0)
    temp = true_temp + rng.normal(0.0, 0.8 + 0.4 * lead, size=shape)
    return np.stack([rain_mm, prob, temp], axis=-1)
