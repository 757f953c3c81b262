"""The peers through the same stock policy as our model (issue 26 step 8; docs/forecasting.md
"The peers through the same policy").

    make bench-peers-stock     # installs the `peers` extra, then runs this script (18 min
                               # with another job on the 2 cores, 12 of them mlforecast's)
    python benchmarks/peers_stock.py [--out benchmarks/peers_stock.json]

benchmarks/peers.py compares the forecasters on the daily newsvendor; here their forecasts
are put through the order-up-to policy with the stock carried over, replayed day by day
against the true demand of the test period exactly as benchmarks/stock_replay.py replays our
model and seasonal naive (its `periods`, `replayed` and `foresight`: the same Period, the
same ratios and `shared` tried, the same opening stock and money), at every (L, R) of
SETTINGS.

The pipeline runs in a fresh `git clone` of HEAD on the default data (`pull`, `validate`,
`features`, `train`: the validation model and the model). Our gbm and seasonal naive
(umbrella's baseline, the reference of the skill) as stock_replay.py takes them. The peers
are peers.py's (`peer_forecasters`), tuned as there (peers.tune_with_validation: the
knobs cheapest at τ* on the validation period, refitted before the test period), and
fitted once: their forecasts do not depend on L and R, only the replay does.

A peer's protection-interval total. The peers give a mean (AutoETS, LightGBM's L2 model, a
seasonal naive's last week) and one quantile of each day at τ*, not a distribution of a sum
of days; a sum of daily quantiles is not the total's quantile, and the policy needs
quantiles near 0.999, far from τ*. So a peer's total is made as our model's is
(protection_interval.total_quantile): each day NB(the peer's forecast, one size k), the
days' level errors correlated by `shared`. A peer's k is fitted by maximum likelihood
(censoring.sampled_dispersion, a sold-out day as "at least its sales", as our model's) on
its forecasts of the validation period against the sales: the peer's out-of-sample
residuals at horizons 1..7, made before the test period, which every peer has without
another fit; our model's is fitted on its training rows. The same k serves the validation
replay (where the setting is chosen) and the test replay. direct_hgb's forecast is its
median model's, taken as the mean (slightly low for right-skewed counts: the ratio chosen
on validation takes up part of it).

Each forecaster's (ratio, shared) is chosen among evaluation/stock.settings_tried by the
replayed cost of its validation-period forecasts (stock_replay.choose_setting), never on
the test period.

Lead times. The replay (umbrella/money/stock_replay.py) places an order at the end of a
review day, after its sales, on the shelf at the opening of day t + L, L >= 1. The issue's
L = 0, an order delivered at once, is L = 1 here: an order placed in the morning of day t
and on the shelf at once sees the same sales (up to day t - 1) and fills the same shelf
(day t's opening) as one placed the evening before and delivered overnight. An order placed
after day t's sales cannot be on day t's shelf. So SETTINGS are L = 1, 2, 6 (R = 1, 7).

Prints a table per (L, R) and writes benchmarks/peers_stock.json (its table in
docs/forecasting.md: `python docs/tables.py`). Runs outside the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench import clone, measure
from peers import before, peer_forecasters, tune_with_validation
from stock_replay import (
    HOLDING_PER_DAY,
    Forecasts,
    Period,
    foresight,
    ours,
    periods,
    replayed,
    spans,
    textbook_ratio,
)

from umbrella.core.files import round_floats
from umbrella.core.params import Params, load_params
from umbrella.data.contract.interim import Interim, read_interim
from umbrella.forecast.censoring import sampled_dispersion
from umbrella.money.stock_policy import daily_means

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "peers_stock.json"
STAGES = ["pull", "validate", "features", "train"]
# (lead time L, review period R) in days; L = 1 is the L = 0 (the docstring says why)
SETTINGS = [(1, 1), (1, 7), (2, 1), (2, 7), (6, 1), (6, 7)]
MODEL, BASELINE = "umbrella gbm", "umbrella seasonal naive (baseline)"
FORESIGHT = "perfect foresight (the floor)"
# What the report keeps of each forecaster's replay.
KEPT = ("cost", "lost_margin", "holding", "left_over", "fill_rate", "sold_out_share")
KEPT += ("cover_days", "ratio", "shared", "coverage_at_ratio")


def peer_daily(rows: pd.DataFrame, period: Period, horizons: int) -> np.ndarray:
    """stores x origins (the period's days) x horizons: a peer's forecasts (peers.KEYS and
    `forecast`) as the policy takes a forecaster's means, below 0 as 0 (AutoETS's can be)."""
    keyed = pd.DataFrame(
        {
            "store": rows["unique_id"].astype(str),
            "origin": rows["origin"],
            "horizon": (rows["ds"] - rows["origin"]).dt.days,
        }
    )
    mean = np.maximum(rows["forecast"].to_numpy(float), 0.0)
    return daily_means(keyed, mean, period.stores, period.days, horizons)


def peer_size(rows: pd.DataFrame, sales: pd.DataFrame) -> float:
    """The NB size of the sales around a peer's forecasts `rows`, a sold-out day (in_stock 0)
    as "at least its sales", as our model's is fitted (distribution.fit_dispersion)."""
    keys = ["store", "date"]
    known = [c for c in ("units", "in_stock") if c in sales]
    scored = rows.rename(columns={"unique_id": "store", "ds": "date"}).astype({"store": str})
    scored = scored.merge(
        sales[[*keys, *known]].astype({"store": str}),
        on=keys,
        how="inner",
        validate="many_to_one",
    )
    censored = (
        scored["in_stock"].to_numpy() == 0
        if "in_stock" in scored
        else np.zeros(len(scored), dtype=bool)
    )
    return sampled_dispersion(
        scored["units"].to_numpy(float), scored["forecast"].to_numpy(float), censored
    )


def peer_forecasts(
    validation_rows: pd.DataFrame,
    test_rows: pd.DataFrame,
    sales: pd.DataFrame,
    validation: Period,
    test: Period,
    horizons: int,
) -> Forecasts:
    """A peer's forecasts of both periods, each day NB of the size fitted on its validation
    forecasts (peer_size; the module's docstring says why)."""
    size = peer_size(validation_rows, sales)
    return Forecasts(
        validation=peer_daily(validation_rows, validation, horizons),
        test=peer_daily(test_rows, test, horizons),
        size_validation=size,
        size_test=size,
    )


def compared(figures: dict[str, dict], floor: dict[str, float]) -> dict[str, dict]:
    """Each forecaster's kept figures, its skill against seasonal naive (1 - cost / its
    replayed cost) and its cost over perfect foresight's, and perfect foresight's."""
    naive = figures[BASELINE]["cost"]
    out = {
        name: {key: f[key] for key in KEPT}
        | {
            "skill_vs_seasonal_naive": 1 - f["cost"] / naive,
            "vs_perfect_foresight": f["cost"] / floor["cost"],
        }
        for name, f in figures.items()
    }
    out[FORESIGHT] = {key: floor[key] for key in KEPT if key in floor} | {
        "skill_vs_seasonal_naive": 1 - floor["cost"] / naive,
        "vs_perfect_foresight": 1.0,
    }
    return out


def table(setting: dict[str, dict]) -> str:
    """One (L, R)'s figures as printed."""
    lines = [f"{'':36s} {'cost':>9s} {'fill':>6s} {'/floor':>7s} {'skill':>6s}  setting"]
    for name, f in setting.items():
        chosen = f"{f['ratio']:g} {f['shared']:g}" if "ratio" in f else ""
        lines.append(
            f"{name:36s} {f['cost']:9,.0f} {f['fill_rate']:6.4f} "
            f"{f['vs_perfect_foresight']:7.2f} {f['skill_vs_seasonal_naive']:6.3f}  {chosen}"
        )
    return "\n".join(lines)


def peers_forecasts(
    data: Interim, params: Params, validation: Period, test: Period
) -> tuple[dict[str, Forecasts], dict[str, dict]]:
    """Every peer fitted once (tuned as peers.py tunes it) and its forecasts of both periods;
    and per peer its tuning, its size and its seconds (tuning included)."""
    start, begin = test.days[0], validation.days[0]
    horizons = params.base.horizon
    forecasts, about = {}, {}
    for name, (peer, knobs_grid) in peer_forecasters(params).items():
        began = time.perf_counter()
        test_rows, validation_rows, tuning = tune_with_validation(
            peer, knobs_grid, data, start, params
        )
        if validation_rows is None:  # nothing tuned: the same peer, fitted before validation
            validation_rows = peer(before(data, start), begin, {})
        forecasts[name] = peer_forecasts(
            validation_rows, test_rows, data.sales, validation, test, horizons
        )
        seconds = time.perf_counter() - began
        about[name] = {
            "tuning": tuning["tuning"],
            "chosen": tuning.get("tuned", {}).get("chosen"),
            "size": forecasts[name].size_test,
            "seconds": seconds,
        }
        print(f"{name:28s} {seconds:6.1f} s, {tuning['tuning']}", flush=True)
    return forecasts, about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        repo = clone(Path(tmp), None)
        for stage in STAGES:
            seconds, _ = measure([sys.executable, "-m", "umbrella", stage], repo)
            print(f"umbrella {stage:9s} {seconds:6.1f} s", flush=True)
        params = load_params(repo / "params.yaml")
        validation, test = periods(repo, params)
        forecasters = ours(repo, params, validation, test)
        # the truth scores the peers' tuning, as in peers.py; no forecast sees it
        data = read_interim(repo / "data" / "interim", truth=True)
    forecasters = {MODEL: forecasters["model"], BASELINE: forecasters["baseline"]}
    about = {
        name: {"size": f.size_test, "size_validation": f.size_validation}
        for name, f in forecasters.items()
    }
    peers, peers_about = peers_forecasts(data, params, validation, test)
    forecasters |= peers
    about |= peers_about
    out: dict = {
        "data": "default data",
        **spans(validation, test),
        "holding_per_day": HOLDING_PER_DAY,
        "forecasters": about,
    }
    for lead, review in SETTINGS:
        tau = textbook_ratio(params.business, review)
        figures = {
            name: replayed(validation, test, f, tau, lead, review)
            for name, f in forecasters.items()
        }
        setting = compared(figures, foresight(test, lead, review))
        out[f"L{lead}_R{review}"] = {"critical_ratio": tau, "forecasters": setting}
        print(
            f"\nL = {lead}, R = {review} (textbook ratio {tau:.4f})\n{table(setting)}", flush=True
        )
    out["seconds"] = time.perf_counter() - began
    print(f"\n{out['seconds']:.0f} s in all")
    args.out.write_text(json.dumps(round_floats(out, 4), indent=2) + "\n")


if __name__ == "__main__":
    main()
