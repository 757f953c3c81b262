"""Our gbm beside what a user would pick instead, on the same data and test period.

    make bench-peers     # installs the `peers` extra, then runs this script (~2 min)
    python benchmarks/peers.py [--stores N] [--out benchmarks/peers]

The pipeline runs in a fresh `git clone` of HEAD: by default on the default data (the
simulated retailer on Seattle's weather, as `make run`), or with --stores N on generated
weather over 3 years as in bench.py. Then, on the same validated data and the same
rolling-origin test period (every origin, horizons 1..H, targets up to the last day):

- a plain direct HistGradientBoosting quantile model (`direct_hgb`): a median model for the
  forecast, a quantile model at the service level for the order, on a few obvious features;
- mlforecast + LightGBM: one global model on the same sales lags, rolling means and
  same-weekday mean as ours, the calendar, price, promotion and the weather forecast;
  a mean model for the point forecast and a quantile model at the service level for the
  order. Forecasts are recursive (mlforecast's way); at each origin the weather inputs are
  the forecasts issued at that origin, in training the forecast issued the day before.
  Both are tuned as our model is chosen (`tune`): on the validation period before the test
  period (umbrella.core.split.validation_start), as many fits as `make sweep` runs (8: leaves x
  learning rate x smallest leaf, the same knobs for both models of a peer), the cheapest at
  τ* on validation refitted once on every day before the test period;
- statsforecast AutoETS and SeasonalNaive (season 7), one per store: AutoETS fitted on the
  training period and updated at each origin without refitting, SeasonalNaive (nothing to
  fit) rerun at each origin; the order is the upper bound of the
  central prediction interval whose upper end is the service-level quantile. Neither has
  such knobs to tune (AutoETS picks its own form by AICc on the days it is fitted on).

Everyone is scored by umbrella's own metric functions against the true demand, each day
at its own costs (its price: a promotion's margin is lower; umbrella's costs.py). Our model
orders at each day's ratio; the peers, given one service level, at τ*; our single-τ*
orders are listed too. Wall time:
ours is the features, train and evaluate stages, each a process with its files and plots,
without the limits (oracle, oracle_info), which no peer computes;
a peer's is its fit and rolling forecasts of the test period in this process, after a
warm-up on two stores that compiles numba code (so the peers are timed at their best); a
tuned peer's validation fits are timed apart (tuning_seconds), as `make sweep` is not
counted in ours.
Writes <out>.json (its table in docs/scale.md: `python docs/tables.py`). Runs outside
the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml
from bench import clone, measure

from umbrella.core.files import round_floats
from umbrella.core.params import Business, Params, load_params
from umbrella.core.split import no_validation, test_start, validation_start
from umbrella.data.contract.interim import Interim, read_interim
from umbrella.forecast.features import FORECAST_FEATURES, per_store
from umbrella.forecast.holiday_calendar import holiday_flags
from umbrella.money.costs import day_costs
from umbrella.money.metrics import forecast_metrics, to_order

ROOT = Path(__file__).resolve().parents[1]
DAY = pd.Timedelta(days=1)
OURS = ["features", "train", "evaluate"]
# What the report keeps of each forecaster (a peer's tuning keys: `tune`).
SCORE_KEYS = ("cost", "wape", "service_level", "service_level_mid", "seconds")
TUNING_KEYS = ("tuning", "tuning_seconds", "tuned")
# Keys of a forecast row: the store, the origin and the target day.
KEYS = ["unique_id", "origin", "ds"]

# A tuned peer's knobs, in its library's own names, passed to both its models.
Knobs = dict[str, float]
# A tunable peer: its rolling forecasts from `start` on (KEYS, forecast, quantile) with knobs.
Forecaster = Callable[[Interim, pd.Timestamp, Knobs], pd.DataFrame]
# The tuning budget: as many fits as `make sweep` runs to choose our model (8: the gbm's
# max_leaf_nodes {7, 15, 31} x learning_rate {0.05, 0.1}, seasonal_naive, linear), a full grid
# over the trees' leaves, learning rate and smallest leaf; the libraries' defaults (31 leaves,
# 0.1, 20) are one of the 8.
LEAVES, LEARNING_RATES, MIN_LEAF = (7, 31), (0.05, 0.1), (20, 100)


def grid(leaves: str, learning_rate: str, min_leaf: str) -> list[Knobs]:
    """The tuning grid in a library's own names, in a fixed order (the first wins a tie)."""
    return [
        {leaves: n, learning_rate: rate, min_leaf: m}
        for n, rate, m in itertools.product(LEAVES, LEARNING_RATES, MIN_LEAF)
    ]


HGB_GRID = grid("max_leaf_nodes", "learning_rate", "min_samples_leaf")
LIGHTGBM_GRID = grid("num_leaves", "learning_rate", "min_child_samples")


def set_oracle_max_stores(repo: Path, stores: int) -> int:
    """Set evaluate.oracle_max_stores in the clone's params.yaml; the value it had."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    before = params["evaluate"]["oracle_max_stores"]
    params["evaluate"]["oracle_max_stores"] = stores
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return before


def nixtla_frame(sales: pd.DataFrame) -> pd.DataFrame:
    """Our sales with Nixtla's column names: unique_id (the store), ds (the day), y (units)."""
    return sales.rename(columns={"store": "unique_id", "date": "ds", "units": "y"})


def weather_forecasts(data: Interim, stores: pd.Index) -> pd.DataFrame:
    """Forecasts issued per (unique_id, issued, ds) with our feature names."""
    forecasts = per_store(data.forecasts, stores).rename(
        columns={"store": "unique_id", "date": "ds", **FORECAST_FEATURES}
    )
    # observed weather standing in (observed_as_forecasts) has no rain_prob
    present = [c for c in FORECAST_FEATURES.values() if c in forecasts]
    return forecasts[["unique_id", "issued", "ds", *present]]


def observed_as_forecasts(weather: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Observed weather issued as the forecast of each of the `horizon` days before it: what
    the pipeline uses when a retailer has no forecasts file (docs/data.md)."""
    columns = [c for c in FORECAST_FEATURES if c in weather]
    keys = [c for c in ("store", "date") if c in weather]
    return pd.concat(
        [
            weather[[*keys, *columns]].assign(issued=weather["date"] - h * DAY)
            for h in range(1, horizon + 1)
        ],
        ignore_index=True,
    )


def direct_hgb(
    data: Interim, start: pd.Timestamp, horizon: int, tau: float, seed: int, knobs: Knobs
) -> pd.DataFrame:
    """Rolling forecasts of a plain direct HistGradientBoosting model: one row per (store,
    origin, horizon), a median model for the forecast and a quantile model at τ* for the
    order, on a few obvious features (the last day, the last 7 days' mean, the target's
    weekday a week before, the weekday, the horizon, the target day's weather as issued at
    the origin). Trained on the targets before `start`, with scikit-learn's defaults but for
    `knobs` (HGB_GRID's names)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    sales = nixtla_frame(data.sales)[["unique_id", "ds", "y"]].astype({"y": float})
    sales = sales.sort_values(["unique_id", "ds"], ignore_index=True)
    by_store = sales.groupby("unique_id")["y"]
    at_origin = sales.assign(
        last=sales["y"], mean7=by_store.transform(lambda y: y.rolling(7, min_periods=1).mean())
    )[["unique_id", "ds", "last", "mean7"]].rename(columns={"ds": "origin"})
    weather = weather_forecasts(data, pd.Index(sorted(sales["unique_id"].unique())))
    weather_columns = [c for c in weather if c not in ("unique_id", "issued", "ds")]
    rows = []
    for h in range(1, horizon + 1):
        target = sales.assign(origin=sales["ds"] - h * DAY, horizon=h)
        week_before = sales.assign(ds=sales["ds"] + 7 * DAY).rename(columns={"y": "week_before"})
        rows.append(
            target.merge(at_origin, on=["unique_id", "origin"])
            .merge(week_before, on=["unique_id", "ds"])
            .merge(
                weather.rename(columns={"issued": "origin"}),
                on=["unique_id", "origin", "ds"],
                how="left",
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["weekday"] = frame["ds"].dt.dayofweek
    frame["store"] = frame["unique_id"].astype("category").cat.codes
    x = ["last", "mean7", "week_before", "weekday", "horizon", "store", *weather_columns]
    train, test = frame[frame["ds"] < start], frame[frame["origin"] >= start - DAY]
    out = test[KEYS].copy()
    for name, quantile in (("forecast", 0.5), ("quantile", tau)):
        model = HistGradientBoostingRegressor(
            loss="quantile", quantile=quantile, random_state=seed, **knobs
        )
        out[name] = model.fit(train[x], train["y"]).predict(test[x])
    return out.reset_index(drop=True)


def mlforecast_lightgbm(
    data: Interim,
    start: pd.Timestamp,
    horizon: int,
    tau: float,
    params: Params,
    seed: int,
    knobs: Knobs,
) -> pd.DataFrame:
    """Rolling forecasts of a global LightGBM built with mlforecast, with LightGBM's defaults
    but for `knobs` (LIGHTGBM_GRID's names)."""
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean

    sales = nixtla_frame(data.sales)
    stores = pd.Index(sorted(sales["unique_id"].unique()))
    known = [c for c in ("price", "promo") if c in sales]
    frame = sales[["unique_id", "ds", "y", *known]].astype({"y": float})
    frame["holiday"] = holiday_flags(frame["ds"], params.features.holidays)
    forecasts = weather_forecasts(data, stores)
    day_ahead = forecasts[forecasts["ds"] == forecasts["issued"] + DAY].drop(columns="issued")
    train = frame[frame["ds"] < start].merge(day_ahead, on=["unique_id", "ds"], how="left")

    model = MLForecast(
        models={
            "mean": LGBMRegressor(random_state=seed, verbose=-1, **knobs),
            "quantile": LGBMRegressor(
                objective="quantile", alpha=tau, random_state=seed, verbose=-1, **knobs
            ),
        },
        freq="D",
        lags=list(params.features.lags),
        lag_transforms={
            1: [RollingMean(window_size=w) for w in params.features.windows],
            7: [
                SeasonalRollingMean(season_length=7, window_size=params.features.same_weekday_weeks)
            ],
        },
        date_features=["dayofweek", "month", "dayofyear"],
    )
    model.fit(train, static_features=[])

    # Enough history at each origin for every lag and rolling window above.
    features = params.features
    history_days = pd.Timedelta(
        days=max(features.lags) + 7 * features.same_weekday_weeks + max(features.windows)
    )
    future = frame.drop(columns="y")
    last = frame["ds"].max()
    out = []
    for origin in pd.date_range(start - DAY, last - DAY, freq="D"):
        steps = min(horizon, (last - origin).days)
        issued = forecasts[
            (forecasts["issued"] == origin) & (forecasts["ds"] <= origin + steps * DAY)
        ]
        x_df = future[(future["ds"] > origin) & (future["ds"] <= origin + steps * DAY)].merge(
            issued.drop(columns="issued"), on=["unique_id", "ds"], how="left"
        )
        history = frame[(frame["ds"] <= origin) & (frame["ds"] > origin - history_days)]
        history = history.merge(day_ahead, on=["unique_id", "ds"], how="left")
        predicted = model.predict(h=steps, new_df=history, X_df=x_df)
        out.append(predicted.assign(origin=origin))
    result = pd.concat(out, ignore_index=True)
    return result.rename(columns={"mean": "forecast"})[[*KEYS, "forecast", "quantile"]]


def statsforecast_local(
    data: Interim, start: pd.Timestamp, horizon: int, tau: float, name: str
) -> pd.DataFrame:
    """Rolling forecasts of one statsforecast model per store (AutoETS or SeasonalNaive)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    series = nixtla_frame(data.sales)[["unique_id", "ds", "y"]].astype({"y": float})
    last = series["ds"].max()
    # Pad each store with horizon - 1 days so the last origins (partial horizons) get a
    # window; a window only ever sees data up to its origin, and padded targets are dropped.
    pad = pd.date_range(last + DAY, periods=horizon - 1, freq="D")
    padding = pd.MultiIndex.from_product(
        [series["unique_id"].unique(), pad], names=["unique_id", "ds"]
    )
    series = pd.concat([series, padding.to_frame(index=False).assign(y=0.0)], ignore_index=True)
    level = round(100 * (2 * tau - 1), 4)  # the central interval whose upper end is quantile tau
    # AutoETS is fitted once and updated at each origin; SeasonalNaive has nothing to fit.
    model, refit = {"AutoETS": (AutoETS, False), "SeasonalNaive": (SeasonalNaive, True)}[name]
    cv = StatsForecast(models=[model(season_length=7)], freq="D").cross_validation(
        df=series,
        h=horizon,
        n_windows=(last - start).days + 1,
        step_size=1,
        level=[level],
        refit=refit,
    )
    cv = cv[cv["ds"] <= last].rename(columns={"cutoff": "origin"})
    return cv[KEYS].assign(forecast=cv[name], quantile=cv[f"{name}-hi-{level}"])


def scores(rows: pd.DataFrame, data: Interim, business: Business) -> dict:
    """Cost, service level and wape of one forecaster's rows, against true demand; each day
    charged its own costs as umbrella's evaluation charges them (costs.py): the peers order
    at the one service level they were given, τ*. Without true demand (a retailer's own
    data), against the sales."""
    keys = ["store", "date"]
    prices = data.sales[[*keys, "price"]] if "price" in data.sales else data.sales[keys]
    # a retailer's own data has no true demand: scored against sales, as evaluate scores it
    truth = data.sales.rename(columns={"units": "demand"}) if data.truth is None else data.truth
    scored = (
        rows.rename(columns={"unique_id": "store", "ds": "date"})
        .merge(truth[[*keys, "demand"]], on=keys, how="left", validate="many_to_one")
        .merge(prices, on=keys, how="left", validate="many_to_one")
    )
    costs = day_costs(scored, business)
    metrics = forecast_metrics(
        scored["demand"].to_numpy(float),
        scored["forecast"].to_numpy(float),
        to_order(scored["quantile"].to_numpy(float)),
        costs.underage,
        costs.overage,
        mase_scale=float("nan"),
    )
    return {
        key: metrics[key] for key in ("cost", "service_level", "service_level_mid", "wape", "bias")
    }


def peer_forecasters(params: Params) -> dict[str, tuple[Forecaster, list[Knobs]]]:
    """Every peer with its tuning grid (empty: nothing to tune; AutoETS picks its own form by
    AICc on the days it is fitted on, SeasonalNaive fits nothing)."""
    horizon, tau, seed = params.base.horizon, params.business.service_level, params.base.seed
    return {
        "direct HistGradientBoosting": (
            lambda d, s, k: direct_hgb(d, s, horizon, tau, seed, k),
            HGB_GRID,
        ),
        "mlforecast + LightGBM": (
            lambda d, s, k: mlforecast_lightgbm(d, s, horizon, tau, params, seed, k),
            LIGHTGBM_GRID,
        ),
        "statsforecast AutoETS": (
            lambda d, s, _: statsforecast_local(d, s, horizon, tau, "AutoETS"),
            [],
        ),
        "statsforecast SeasonalNaive": (
            lambda d, s, _: statsforecast_local(d, s, horizon, tau, "SeasonalNaive"),
            [],
        ),
    }


def before(data: Interim, day: pd.Timestamp) -> Interim:
    """The tables' rows dated before `day`: all that a forecaster sees of a period ending there."""

    def cut(table: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if table is None else table[table["date"] < day]

    return dataclasses.replace(
        data,
        sales=cut(data.sales),
        weather=cut(data.weather),
        forecasts=cut(data.forecasts),
        truth=cut(data.truth),
    )


def tune(
    forecast: Forecaster,
    knobs_grid: list[Knobs],
    data: Interim,
    start: pd.Timestamp,
    params: Params,
) -> tuple[pd.DataFrame, dict]:
    """A peer tuned as our model is chosen: its test rows (from `start` on) with the knobs of
    `knobs_grid` whose orders cost least, at τ*, on the validation period our model is scored
    on (umbrella.core.split.validation_start: the days just before `start`), each fitted on the days
    before that period and shown no day from `start` on; refitted once, on every day before
    `start`. Without a validation period, the library's defaults. Also what it tried, chose
    and how long the tuning took (tuning_seconds). An empty grid: a peer without such knobs,
    run as it is."""
    rows, _, tuning = tune_with_validation(forecast, knobs_grid, data, start, params)
    return rows, tuning


def tune_with_validation(
    forecast: Forecaster,
    knobs_grid: list[Knobs],
    data: Interim,
    start: pd.Timestamp,
    params: Params,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """`tune`, and the validation period's rows of the knobs chosen (fitted before it), which
    the tuning made anyway (benchmarks/peers_stock.py replays them); None when it made none
    (an empty grid, no validation period)."""
    if not knobs_grid:
        tuning = {"tuning": "none: no such knobs", "tuning_seconds": 0.0}
        return forecast(data, start, {}), None, tuning
    first = data.sales["date"].min()
    min_days = params.validate.min_history_days
    begin = validation_start(first, start, params.split, min_days)
    if begin is None:
        why = no_validation(first, start, params.split, min_days)
        return (
            forecast(data, start, {}),
            None,
            {"tuning": f"defaults: no validation period ({why})", "tuning_seconds": 0.0},
        )
    began = time.perf_counter()
    seen = before(data, start)
    rows = [forecast(seen, begin, knobs) for knobs in knobs_grid]
    tried = [
        {"knobs": knobs, "validation_cost": scores(fit, seen, params.business)["cost"]}
        for knobs, fit in zip(knobs_grid, rows, strict=True)
    ]
    seconds = time.perf_counter() - began
    best = min(range(len(tried)), key=lambda i: tried[i]["validation_cost"])
    chosen = tried[best]["knobs"]
    return (
        forecast(data, start, chosen),
        rows[best],
        {
            "tuning": f"tuned on validation ({len(tried)} fits)",
            "tuned": {
                "validation": f"{begin.date()}..{(start - DAY).date()}",
                "chosen": chosen,
                "tried": tried,
            },
            "tuning_seconds": seconds,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=None, help="generated data of N stores")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "peers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = clone(Path(tmp), args.stores)
        # Timed without the limits (oracle, oracle_info: simulated data only, no peer has
        # them), then evaluated again with them for the table.
        limits = set_oracle_max_stores(repo, 0)
        ours = 0.0
        for stage in ["pull", "validate", *OURS]:
            seconds, _ = measure([sys.executable, "-m", "umbrella", stage], repo)
            ours += seconds if stage in OURS else 0.0
            print(f"umbrella {stage:9s} {seconds:6.1f} s", flush=True)
        set_oracle_max_stores(repo, limits)
        seconds, _ = measure([sys.executable, "-m", "umbrella", "evaluate"], repo)
        print(f"umbrella evaluate with the limits {seconds:6.1f} s (not counted)", flush=True)
        params = load_params(repo / "params.yaml")
        data = read_interim(repo / "data" / "interim", truth=True)
        # the full evaluation: the metrics file holds only the headline
        evaluation = json.loads((repo / "reports" / "evaluate.json").read_text())

    last = data.sales["date"].max()
    start = test_start(data.sales["date"].min(), last, params.split)
    two = data.sales["store"].isin(sorted(data.sales["store"].unique())[:2])
    warm = Interim(data.sales[two], data.weather, data.forecasts, None)
    forecasters = {
        f"umbrella {params.train.model}": evaluation["model"] | {"seconds": ours},
        f"umbrella {params.train.model}, one τ* for every day": evaluation["model_single_tau"]
        | {"seconds": None},
        "umbrella seasonal naive (baseline)": evaluation["baseline"] | {"seconds": None},
    }
    for name, (peer, knobs_grid) in peer_forecasters(params).items():
        peer(warm, last - 20 * DAY, {})  # compiles statsforecast's numba code; not timed
        begin = time.perf_counter()
        rows, tuning = tune(peer, knobs_grid, data, start, params)
        # the fit and forecasts of the test period, as ours (make sweep's runs not counted)
        seconds = time.perf_counter() - begin - tuning["tuning_seconds"]
        print(f"{name:28s} {seconds:6.1f} s, {tuning['tuning']}", flush=True)
        if len(rows) != evaluation["test"]["rows"]:
            raise SystemExit(f"{name}: {len(rows)} test rows, ours {evaluation['test']['rows']}")
        forecasters[name] = scores(rows, data, params.business) | {"seconds": seconds} | tuning
    report = {
        "data": f"{args.stores} stores, generated weather" if args.stores else "default data",
        "test_start": evaluation["test"]["start"],
        "test_end": evaluation["test"]["end"],
        "rows": evaluation["test"]["rows"],
        "service_level_target": evaluation["test"]["service_level_target"],
        "costs": evaluation["test"]["costs"],
        "oracle_cost": evaluation["oracle"]["cost"],
        "oracle_info_cost": evaluation["oracle_info"]["cost"],
        "forecasters": {
            name: {k: row[k] for k in (*SCORE_KEYS, *TUNING_KEYS) if k in row}
            for name, row in forecasters.items()
        },
    }
    text = json.dumps(round_floats(report, 4), indent=2) + "\n"
    args.out.with_suffix(".json").write_text(text)
    print(text)  # the docs' table: `python docs/tables.py` (docs/scale.md)


if __name__ == "__main__":
    main()
