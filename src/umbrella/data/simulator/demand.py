"""Umbrella demand of a store on a day (what it sells: stockroom.py).

Effect sizes (reasoning in docs/data.md "The embedded default source"): a store sells a
handful of umbrellas on a dry weekday and several times more on a wet day; everything else
is a modest modulation around that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.core.params import Drift

BASE_LEVEL_MEDIAN = 5.0  # umbrellas on a dry, mild, ordinary weekday
BASE_LEVEL_SIGMA = 0.35  # store-to-store spread (log scale): most stores sell 3..9
WEEKDAY = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.0])  # Mon..Sun: Saturday shopping
SEASON_AMPLITUDE = 0.10  # +10% in mid-January, -10% in mid-July, rain aside
HOLIDAY = 0.7  # public holidays: shorter hours, fewer commuters
RAIN_EFFECT = 3.0  # heavy rain multiplies demand by up to 1 + 3 = 4
RAIN_SCALE_MM = 6.0  # saturation: 6 mm gives 63% of the full rain effect
TEMP_PER_C = -0.015  # 1.5% fewer umbrellas per degree above 15 C
TREND_PER_YEAR = 0.03
BASE_PRICE = 19.99
PROMO_PRICE = 15.99
PRICE_ELASTICITY = -1.2
PROMO_DISPLAY = 1.15  # the display sells on top of the price cut
PROMO_WEEK_PROBABILITY = 0.08
DISPERSION = 8.0  # negative binomial size: var = mean + mean^2 / 8


def rain_multiplier(rain_mm: np.ndarray, effect: np.ndarray | float) -> np.ndarray:
    """Saturating effect of the day's rain on demand: 1 when dry, up to 1 + effect."""
    return 1.0 + effect * (1.0 - np.exp(-np.asarray(rain_mm) / RAIN_SCALE_MM))


def simulate_demand(
    dates: pd.DatetimeIndex,
    rain_mm: np.ndarray,
    temp_max_c: np.ndarray,
    holiday: np.ndarray,
    drift: Drift | None,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Mean demand, demand, price and promotion, each an array (stores, days).

    rain_mm and temp_max_c are the observed weather at each store, (stores, days).
    """
    stores, days = rain_mm.shape
    level = BASE_LEVEL_MEDIAN * rng.lognormal(0.0, BASE_LEVEL_SIGMA, size=(stores, 1))
    week = (np.arange(days) + dates[0].day_of_week) // 7
    promo = (rng.random((stores, week[-1] + 1)) < PROMO_WEEK_PROBABILITY)[:, week]
    price = np.where(promo, PROMO_PRICE, BASE_PRICE)

    years = (dates - dates[0]).days.to_numpy() / 365.25
    angle = 2 * np.pi * (dates.day_of_year.to_numpy() - 15) / 365.25
    calendar = (
        WEEKDAY[dates.day_of_week.to_numpy()]
        * (1 + SEASON_AMPLITUDE * np.cos(angle))
        * np.where(holiday, HOLIDAY, 1.0)
        * (1 + TREND_PER_YEAR) ** years
    )
    rain_effect = np.full(days, RAIN_EFFECT)
    drift_level = np.ones(days)
    if drift is not None:
        after = dates >= pd.Timestamp(drift.start)
        rain_effect[after] *= drift.rain_effect
        drift_level[after] = drift.level
    mean = (
        level
        * calendar
        * drift_level
        * (price / BASE_PRICE) ** PRICE_ELASTICITY
        * np.where(promo, PROMO_DISPLAY, 1.0)
        * rain_multiplier(rain_mm, rain_effect)
        * np.exp(TEMP_PER_C * (temp_max_c - 15.0))
    )
    demand = rng.negative_binomial(DISPERSION, DISPERSION / (DISPERSION + mean))
    return {"level": level, "mean": mean, "demand": demand, "price": price, "promo": promo}
