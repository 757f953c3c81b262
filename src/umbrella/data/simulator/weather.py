"""Daily weather: the real Seattle record, and a stochastic generator calibrated on it.

The generator is the classic two-part weather generator (Richardson 1981): a wet/dry
Markov chain with monthly transition probabilities, gamma-distributed rain amounts per
month, and a seasonal maximum temperature with AR(1) anomalies. All of its parameters are
estimated from the real record, so generated regions have Seattle's climate but their own
weather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from umbrella.data.contract.limits import RAIN_MAX_MM

WEATHER_COLUMNS = ["rain_mm", "temp_max_c", "temp_min_c", "wind"]
_YEAR = 365.25


def seattle_weather() -> pd.DataFrame:
    """NOAA daily weather for Seattle 2012-01-01..2015-12-31, shipped with vega_datasets."""
    from vega_datasets import local_data

    raw = local_data.seattle_weather()
    return pd.DataFrame(
        {
            "date": pd.to_datetime(raw["date"]).astype("datetime64[ns]"),
            "rain_mm": raw["precipitation"].astype(float),
            "temp_max_c": raw["temp_max"].astype(float),
            "temp_min_c": raw["temp_min"].astype(float),
            "wind": raw["wind"].astype(float),
        }
    )


def _harmonics(dates: pd.DatetimeIndex) -> np.ndarray:
    angle = 2 * np.pi * dates.day_of_year.to_numpy() / _YEAR
    return np.column_stack([np.ones(len(dates)), np.cos(angle), np.sin(angle)])


@dataclass(frozen=True)
class WeatherGenerator:
    """Parameters of the generator, one row per calendar month where monthly."""

    p_wet_after_dry: np.ndarray  # (12,)
    p_wet_after_wet: np.ndarray  # (12,)
    rain_shape: np.ndarray  # (12,) gamma shape of wet-day amounts
    rain_scale: np.ndarray  # (12,) gamma scale, mm
    temp_coef: np.ndarray  # (3,) seasonal mean of temp_max: 1, cos, sin
    wet_temp_offset: float  # wet days are cooler
    temp_ar: float  # AR(1) coefficient of temp_max anomalies
    temp_sd: float  # innovation standard deviation, degC
    range_mean: np.ndarray  # (12,) mean daily temperature range, degC
    range_sd: np.ndarray  # (12,)
    wind_mean: np.ndarray  # (12,)
    wind_sd: np.ndarray  # (12,)
    rain_record: float  # the record's wettest day, mm: no forecast exceeds it (forecasts.py)

    @property
    def p_wet(self) -> np.ndarray:
        """Climatological (stationary) wet-day probability per month."""
        return self.p_wet_after_dry / (1 - self.p_wet_after_wet + self.p_wet_after_dry)

    @classmethod
    def fit(cls, record: pd.DataFrame) -> WeatherGenerator:
        """Estimate every parameter from a daily record with the WEATHER_COLUMNS."""
        dates = pd.DatetimeIndex(record["date"])
        month = dates.month.to_numpy() - 1
        wet = record["rain_mm"].to_numpy() > 0
        prev_wet, now_wet, now_month = wet[:-1], wet[1:], month[1:]
        p01, p11, shape, scale, rmean, rsd, wmean, wsd = (np.zeros(12) for _ in range(8))
        rain = record["rain_mm"].to_numpy()
        diurnal = (record["temp_max_c"] - record["temp_min_c"]).to_numpy()
        wind = record["wind"].to_numpy()
        for m in range(12):
            p01[m] = now_wet[(now_month == m) & ~prev_wet].mean()
            p11[m] = now_wet[(now_month == m) & prev_wet].mean()
            amounts = rain[(month == m) & wet]
            shape[m] = amounts.mean() ** 2 / amounts.var()
            scale[m] = amounts.var() / amounts.mean()
            rmean[m], rsd[m] = diurnal[month == m].mean(), diurnal[month == m].std()
            wmean[m], wsd[m] = wind[month == m].mean(), wind[month == m].std()
        design = np.column_stack([_harmonics(dates), wet.astype(float)])
        coef, *_ = np.linalg.lstsq(design, record["temp_max_c"].to_numpy(), rcond=None)
        anomaly = record["temp_max_c"].to_numpy() - design @ coef
        ar = float(np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1])
        sd = float(np.std(anomaly[1:] - ar * anomaly[:-1]))
        return cls(
            *(p01, p11, shape, scale, coef[:3], float(coef[3]), ar, sd),
            *(rmean, rsd, wmean, wsd, float(rain.max())),
        )

    def sample(self, dates: pd.DatetimeIndex, regions: int, rng: np.random.Generator) -> np.ndarray:
        """Weather for each region and date: array (regions, days, 4) in WEATHER_COLUMNS order."""
        n = len(dates)
        month = dates.month.to_numpy() - 1
        # The Markov chain and the AR(1) are sequential in time, vectorised over regions.
        u = rng.random((regions, n))
        wet = np.zeros((regions, n), dtype=bool)
        wet[:, 0] = u[:, 0] < self.p_wet[month[0]]
        for t in range(1, n):
            p = np.where(
                wet[:, t - 1], self.p_wet_after_wet[month[t]], self.p_wet_after_dry[month[t]]
            )
            wet[:, t] = u[:, t] < p
        amounts = rng.gamma(self.rain_shape[month], self.rain_scale[month], size=(regions, n))
        rain = np.where(wet, np.minimum(amounts, RAIN_MAX_MM), 0.0)

        innovations = rng.normal(0.0, self.temp_sd, size=(regions, n))
        anomaly = np.zeros((regions, n))
        anomaly[:, 0] = innovations[:, 0] / np.sqrt(1 - self.temp_ar**2)
        for t in range(1, n):
            anomaly[:, t] = self.temp_ar * anomaly[:, t - 1] + innovations[:, t]
        temp_max = _harmonics(dates) @ self.temp_coef + self.wet_temp_offset * wet + anomaly
        diurnal = np.maximum(
            0.5, rng.normal(self.range_mean[month], self.range_sd[month], (regions, n))
        )
        wind = np.maximum(0.0, rng.normal(self.wind_mean[month], self.wind_sd[month], (regions, n)))
        return np.stack([rain, temp_max, temp_max - diurnal, wind], axis=-1)
