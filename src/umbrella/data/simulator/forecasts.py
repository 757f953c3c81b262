"""Weather forecasts as issued: what a store manager knows at the end of each day.

For issue day t and lead h the forecast of day t+h is "informed" with probability
skill(h), and then sees the true wet/dry state and an amount that correlates with the true
one (correlation amount_corr(h) in normal scores); otherwise it falls back on climatology (a
random wet/dry state and amount for the month). That gives missed and false rain events
whose rate grows with the lead, as in real forecasts, and a rain probability that is
calibrated by construction. An informed amount is drawn in normal scores of the month's
climatological amounts (a Gaussian copula): whatever the lead, forecast amounts follow the
climate's distribution, as a forecast that knows less says "a usual wet day" rather than a
wilder one. No forecast exceeds the wettest day of the record the climate was fitted on
(WeatherGenerator.rain_record).

How fast skill and amount correlation fall with the lead (RAIN_ERRORS) is fitted to real
forecasts against what followed: benchmarks/rain_forecast_errors.py, its figures in
benchmarks/rain_forecast_errors.json and docs/design.md "Forecast errors like real ones".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from umbrella.data.simulator.weather import WeatherGenerator

FORECAST_COLUMNS = ["rain_mm", "rain_prob", "temp_max_c"]
MIN_SKILL = 0.05
MAX_CORR = 0.999
SCORE_EDGE = 1e-9  # amounts are scored within this far of the gamma's 0 and 1 levels


@dataclass(frozen=True)
class RainErrors:
    """How rain forecasts err, linear in the lead h (days): at lead 1 and the change per day."""

    skill_at_1: float  # P(the forecast sees the true wet/dry state)
    skill_drop: float
    amount_corr_at_1: float  # correlation of the normal scores of forecast and true amounts
    amount_corr_drop: float

    def skill(self, lead: np.ndarray) -> np.ndarray:
        """Probability that the forecast for `lead` days ahead sees the true rain state."""
        return np.clip(self.skill_at_1 - self.skill_drop * (lead - 1), MIN_SKILL, 1.0)

    def amount_corr(self, lead: np.ndarray) -> np.ndarray:
        """Correlation of an informed forecast's amount with the true one, in normal scores."""
        return np.clip(self.amount_corr_at_1 - self.amount_corr_drop * (lead - 1), 0.0, MAX_CORR)


# Lead 1 is an assumption (92 % of days right about rain a day ahead, amounts close to the
# truth); the fall per day of lead is fitted by benchmarks/rain_forecast_errors.py to GEFS
# reforecasts for Innsbruck 6..8 days ahead (crch RainIbk): benchmarks/rain_forecast_errors.json.
RAIN_ERRORS = RainErrors(
    skill_at_1=0.92, skill_drop=0.094, amount_corr_at_1=0.95, amount_corr_drop=0.075
)


def amount_score(rain_mm: np.ndarray, shape: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Normal score of a wet day's amount under the month's gamma (shape, scale)."""
    level = stats.gamma.cdf(rain_mm, shape, scale=scale)
    return np.asarray(stats.norm.ppf(np.clip(level, SCORE_EDGE, 1 - SCORE_EDGE)))


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
    rain_shape, rain_scale = climate.rain_shape[month], climate.rain_scale[month]
    climate_amount = rng.gamma(rain_shape, rain_scale, size=shape)
    corr = errors.amount_corr(lead)
    score = corr * amount_score(true_rain, rain_shape, rain_scale) + np.sqrt(
        1 - corr**2
    ) * rng.standard_normal(shape)
    informed_amount = stats.gamma.ppf(stats.norm.cdf(score), rain_shape, scale=rain_scale)
    wet = np.where(informed, true_rain > 0, climate_wet)
    amount = np.where(informed, informed_amount, climate_amount)
    rain_mm = np.where(wet, np.clip(amount, 0.1, climate.rain_record), 0.0)

    prob = skill * wet + (1 - skill) * climate.p_wet[month]
    prob = np.clip(prob + rng.normal(0.0, 0.04, size=shape), 0.0, 1.0)
    temp = true_temp + rng.normal(0.0, 0.8 + 0.4 * lead, size=shape)
    return np.stack([rain_mm, prob, temp], axis=-1)
