"""Typed, validated access to params.yaml.

Each block of params.yaml is a frozen dataclass. Loading checks every key: an unknown
key, a missing key or a value of the wrong type raises ParamsError naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from umbrella.errors import ParamsError
from umbrella.paths import PARAMS_FILE

# Bounds that keep a run from crashing or meaning nothing after minutes of work.
SEED_MAX = 2**32 - 1  # numpy's and scikit-learn's seeds are 32-bit
# Forecasts as issued reach 7 days ahead (the Open-Meteo Previous Runs API's previous_day1..7
# and the simulator, whose forecast skill and temperature error degrade into nonsense
# beyond); a csv forecasts file must also reach base.horizon (validate checks its leads).
HORIZON_MAX = 7
DAYS_BACK_MAX = 366  # features.lags and features.windows look back at most a year
WEEKS_BACK_MAX = 52  # features.same_weekday_weeks
MONEY_MAX = 1e6  # business.*: money per umbrella
SERVICE_LEVEL_RANGE = (0.01, 0.99)  # tau*: outside it an order is 0 or unbounded
GBM_MAX_ITER = 10_000
CALIBRATION_WINDOW_MAX = 366  # train.calibration_window_days: at most a year of days


@dataclass(frozen=True)
class Base:
    seed: int
    horizon: int

    def __post_init__(self) -> None:
        _require(0 <= self.seed <= SEED_MAX, "base.seed", f"must be in 0..{SEED_MAX}")
        _require(
            1 <= self.horizon <= HORIZON_MAX,
            "base.horizon",
            f"must be in 1..{HORIZON_MAX} (days ahead that forecasts as issued reach)",
        )


SQL = "sql"  # data.sales: read the sales from a database (data.sql)
OPEN_METEO = "open-meteo"  # data.weather / data.weather_forecasts: pull them from Open-Meteo


@dataclass(frozen=True)
class Sql:
    # A SELECT returning the sales contract's columns.
    query: str = "SELECT date, store, units, price, promo, in_stock FROM sales ORDER BY date, store"
    url_env: str = "UMBRELLA_SALES_DB_URL"  # holds the SQLAlchemy URL, credentials included

    def __post_init__(self) -> None:
        _require(bool(self.query.strip()), "data.sql.query", "must not be empty")
        _require(bool(self.url_env.strip()), "data.sql.url_env", "must not be empty")


@dataclass(frozen=True)
class Data:
    source: Literal["simulate", "csv"]
    sales: str | None = None  # path or URL of a csv file, or "sql"
    stores: str | None = None  # path or URL of stores.csv (store, latitude, longitude, timezone)
    weather: str | None = None  # path or URL of a csv file, or "open-meteo"
    weather_forecasts: str | None = None  # path or URL, "open-meteo", or null
    sql: Sql = dataclasses.field(default_factory=Sql)
    timeout_s: float = 30.0  # every read of a URL gives up after this many seconds

    def __post_init__(self) -> None:
        _require(self.timeout_s > 0, "data.timeout_s", "must be > 0")
        if self.source != "csv":
            return
        _require(self.sales is not None, "data.sales", "is required when data.source is csv")
        _require(self.weather is not None, "data.weather", "is required when data.source is csv")
        _require(
            self.stores is not None or OPEN_METEO not in (self.weather, self.weather_forecasts),
            "data.stores",
            "is required when weather comes from open-meteo (it needs each store's location)",
        )
        _require(
            self.weather_forecasts != OPEN_METEO or self.weather == OPEN_METEO,
            "data.weather",
            "must be open-meteo when data.weather_forecasts is (days before the forecast "
            "archive fall back on the observed weather)",
        )


@dataclass(frozen=True)
class OpenMeteo:
    archive_url: str  # Historical Weather API (observed, reanalysis)
    previous_runs_url: str  # Previous Runs API (forecasts as issued)
    archive_models: str | None  # e.g. era5; null: the API's best match
    forecast_models: str | None  # e.g. ecmwf_ifs025; null: the API's best match
    timeout_s: float  # per call
    retries: int  # on HTTP 429, 5xx, timeouts and refused connections
    backoff_s: float  # first wait between tries; doubles each time
    locations_per_call: int
    days_per_call: int
    cache: str  # response cache folder, relative to the repository root

    def __post_init__(self) -> None:
        for key in ("archive_url", "previous_runs_url"):
            url = getattr(self, key)
            _require(
                url.startswith(("http://", "https://")),
                f"open_meteo.{key}",
                f"must be an http(s) URL, got {url!r}",
            )
        _require(self.timeout_s > 0, "open_meteo.timeout_s", "must be > 0")
        _require(0 <= self.retries <= 10, "open_meteo.retries", "must be in 0..10")
        _require(self.backoff_s >= 0, "open_meteo.backoff_s", "must be >= 0")
        _require(
            1 <= self.locations_per_call <= 100,
            "open_meteo.locations_per_call",
            "must be in 1..100",
        )
        _require(1 <= self.days_per_call <= 366, "open_meteo.days_per_call", "must be in 1..366")
        _require(bool(self.cache.strip()), "open_meteo.cache", "must not be empty")


@dataclass(frozen=True)
class Drift:
    start: dt.date
    level: float = 1.0
    rain_effect: float = 1.0

    def __post_init__(self) -> None:
        _require(self.level > 0, "simulate.drift.level", "must be > 0")
        _require(self.rain_effect >= 0, "simulate.drift.rain_effect", "must be >= 0")


SEATTLE_START = dt.date(2012, 1, 1)
SEATTLE_END = dt.date(2015, 12, 31)


@dataclass(frozen=True)
class Simulate:
    stores: int
    regions: int
    start: dt.date
    end: dt.date
    weather: Literal["seattle", "generated"]
    stockouts: bool
    drift: Drift | None = None

    def __post_init__(self) -> None:
        _require(self.stores >= 1, "simulate.stores", "must be >= 1")
        _require(1 <= self.regions <= self.stores, "simulate.regions", "must be in 1..stores")
        _require(self.end > self.start, "simulate.end", "must be after simulate.start")
        if self.weather == "seattle":
            _require(
                self.start >= SEATTLE_START and self.end <= SEATTLE_END,
                "simulate.weather",
                f"seattle covers {SEATTLE_START}..{SEATTLE_END}; use 'generated' for other dates",
            )


@dataclass(frozen=True)
class Validate:
    min_history_days: int
    # Units above this many times the store's level (median of its days with sales) are an
    # error; above warn_level_ratio times, a warning (plausibility.py).
    max_level_ratio: float
    warn_level_ratio: float

    def __post_init__(self) -> None:
        _require(self.min_history_days >= 0, "validate.min_history_days", "must be >= 0")
        _require(self.max_level_ratio > 1, "validate.max_level_ratio", "must be > 1")
        _require(
            1 < self.warn_level_ratio <= self.max_level_ratio,
            "validate.warn_level_ratio",
            "must be > 1 and <= validate.max_level_ratio",
        )


@dataclass(frozen=True)
class Features:
    lags: list[int]
    windows: list[int]
    same_weekday_weeks: int
    holidays: str | None  # country code of the public holidays (holidays package), or null

    def __post_init__(self) -> None:
        for key in ("lags", "windows"):
            days = getattr(self, key)
            _require(bool(days), f"features.{key}", "must not be empty")
            _require(
                all(1 <= x <= DAYS_BACK_MAX for x in days),
                f"features.{key}",
                f"must all be in 1..{DAYS_BACK_MAX} (days)",
            )
        _require(
            1 <= self.same_weekday_weeks <= WEEKS_BACK_MAX,
            "features.same_weekday_weeks",
            f"must be in 1..{WEEKS_BACK_MAX}",
        )
        if self.holidays is not None:
            import holidays  # only when set: the import takes a moment

            known = holidays.list_supported_countries()
            _require(
                self.holidays in known,
                "features.holidays",
                f"{self.holidays!r} is not a country code the holidays package knows "
                "(e.g. US, GB, DE; or null)",
            )


@dataclass(frozen=True)
class Split:
    test_start: dt.date | None
    test_days: int

    def __post_init__(self) -> None:
        _require(self.test_days >= 1, "split.test_days", "must be >= 1")


@dataclass(frozen=True)
class Linear:
    alpha: float

    def __post_init__(self) -> None:
        _require(self.alpha >= 0, "train.linear.alpha", "must be >= 0")


@dataclass(frozen=True)
class Gbm:
    learning_rate: float
    max_iter: int
    max_leaf_nodes: int
    min_samples_leaf: int
    l2_regularization: float

    def __post_init__(self) -> None:
        _require(0 < self.learning_rate <= 1, "train.gbm.learning_rate", "must be > 0 and <= 1")
        _require(
            1 <= self.max_iter <= GBM_MAX_ITER,
            "train.gbm.max_iter",
            f"must be in 1..{GBM_MAX_ITER}",
        )
        _require(self.max_leaf_nodes >= 2, "train.gbm.max_leaf_nodes", "must be >= 2")
        _require(self.min_samples_leaf >= 1, "train.gbm.min_samples_leaf", "must be >= 1")
        _require(self.l2_regularization >= 0, "train.gbm.l2_regularization", "must be >= 0")


@dataclass(frozen=True)
class Train:
    model: Literal["seasonal_naive", "linear", "gbm"]
    censored: Literal["impute", "keep", "drop"]
    max_rows: int | None  # fit on a random sample of at most this many rows; null: all
    linear: Linear
    gbm: Gbm
    # conformal: scale each quantile so the orders of the last calibration_window_days
    # realised days would have cost least (calibration.py); none: the model's own quantile.
    calibration: Literal["none", "conformal"] = "none"
    calibration_window_days: int = 56

    def __post_init__(self) -> None:
        _require(
            self.max_rows is None or self.max_rows >= 1000, "train.max_rows", "must be >= 1000"
        )
        _require(
            7 <= self.calibration_window_days <= CALIBRATION_WINDOW_MAX,
            "train.calibration_window_days",
            f"must be in 7..{CALIBRATION_WINDOW_MAX}",
        )


@dataclass(frozen=True)
class Evaluate:
    rain_threshold_mm: float
    plot_stores: int

    def __post_init__(self) -> None:
        _require(self.rain_threshold_mm >= 0, "evaluate.rain_threshold_mm", "must be >= 0")
        _require(self.plot_stores >= 1, "evaluate.plot_stores", "must be >= 1")


@dataclass(frozen=True)
class Monitor:
    window_days: int  # the latest days compared with the reference
    season_days: int  # reference: training days within this many days of the window's
    psi_threshold: float  # numeric feature drift alarm
    js_threshold: float  # 0/1 feature drift alarm (Jensen-Shannon distance)
    skill_drop: float  # degraded: skill.cost in the window this much below the test period's
    bias_shift: float  # drift: the model's relative bias in the window moved this much
    residual_threshold: float  # drift: PSI of the model's scaled residuals, window vs test
    demand_shift: float  # degraded: log(actual/expected sales) moved this much, window vs test
    wet_demand_shift: float  # degraded: wet days' demand (sold-out days seen through) moved

    def __post_init__(self) -> None:
        _require(self.window_days >= 7, "monitor.window_days", "must be >= 7")
        _require(self.season_days >= 0, "monitor.season_days", "must be >= 0")
        for key in ("psi_threshold", "residual_threshold"):
            _require(getattr(self, key) > 0, f"monitor.{key}", "must be > 0")
        _require(0 < self.js_threshold <= 1, "monitor.js_threshold", "must be > 0 and <= 1")
        for key in ("skill_drop", "bias_shift", "demand_shift", "wet_demand_shift"):
            _require(getattr(self, key) > 0, f"monitor.{key}", "must be > 0")


@dataclass(frozen=True)
class Predict:
    # An order above this many times the store's highest daily sales in its history is
    # capped there (docs/production.md "Orders for the next days").
    max_order_ratio: float

    def __post_init__(self) -> None:
        _require(self.max_order_ratio >= 1, "predict.max_order_ratio", "must be >= 1")


@dataclass(frozen=True)
class Gate:
    min_skill_cost: float  # the model must save at least this share of the baseline's cost
    service_level_tolerance: float  # |service level - tau*| at most this

    def __post_init__(self) -> None:
        _require(0 <= self.min_skill_cost < 1, "gate.min_skill_cost", "must be >= 0 and < 1")
        _require(
            0 < self.service_level_tolerance <= 0.5,
            "gate.service_level_tolerance",
            "must be > 0 and <= 0.5",
        )


@dataclass(frozen=True)
class Business:
    price: float
    unit_cost: float
    salvage: float
    holding: float

    def __post_init__(self) -> None:
        _require(0 < self.price <= MONEY_MAX, "business.price", f"must be > 0 and <= {MONEY_MAX:g}")
        for key in ("unit_cost", "holding"):
            value = getattr(self, key)
            _require(0 <= value <= MONEY_MAX, f"business.{key}", f"must be in 0..{MONEY_MAX:g}")
        _require(abs(self.salvage) <= MONEY_MAX, "business.salvage", f"must be in ±{MONEY_MAX:g}")
        _require(self.price > self.unit_cost, "business.price", "must exceed business.unit_cost")
        _require(self.overage_cost > 0, "business", "unit_cost - salvage + holding must be > 0")
        low, high = SERVICE_LEVEL_RANGE
        _require(
            low <= self.service_level <= high,
            "business",
            f"tau* = (price - unit_cost) / (price - salvage + holding) = "
            f"{self.service_level:.4f} must be in {low}..{high}: the order would be 0 or "
            "unbounded (see price, unit_cost, salvage, holding)",
        )

    @property
    def underage_cost(self) -> float:
        """Lost margin per umbrella a customer wanted but could not buy."""
        return self.price - self.unit_cost

    @property
    def overage_cost(self) -> float:
        """Loss per umbrella left over."""
        return self.unit_cost - self.salvage + self.holding

    @property
    def service_level(self) -> float:
        """The newsvendor critical ratio tau* = c_u / (c_u + c_o)."""
        return self.underage_cost / (self.underage_cost + self.overage_cost)


@dataclass(frozen=True)
class Params:
    base: Base
    data: Data
    open_meteo: OpenMeteo
    simulate: Simulate
    validate: Validate
    features: Features
    split: Split
    train: Train
    evaluate: Evaluate
    monitor: Monitor
    gate: Gate
    business: Business
    predict: Predict


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    try:
        raw = yaml.load(Path(path).read_text(), Loader=_DatesAsText)
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, source=str(path))


class _DatesAsText(yaml.SafeLoader):
    """SafeLoader that leaves an unquoted date as text: YAML would raise a bare ValueError
    on an impossible one (2015-02-30); as text, the key's own check names the key."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Build Params from a mapping, naming the first bad key in the error."""
    try:
        return _build(Params, raw, "")
    except ParamsError as exc:
        raise ParamsError(f"{source}: {exc}") from None


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ParamsError(f"{key}: {message}")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    where = prefix.rstrip(".") or "top level"
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(f"{prefix}{unknown[0]}: unknown key (expected one of {sorted(fields)})")
    values = {}
    for name, f in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            if f.default is dataclasses.MISSING:
                raise ParamsError(f"{key}: missing")
            continue
        values[name] = _convert(hints[name], raw[name], key)
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, key)
    if origin is Literal:
        if value not in args:
            raise ParamsError(f"{key}: {value!r} is not one of {list(args)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{key}: expected a list, got {value!r}")
        return [_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{key}.")
    if hint is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ParamsError(f"{key}: expected an ISO date (YYYY-MM-DD), got {value!r}") from None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value) if abs(value) < 2**1023 else math.inf
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(f"{key}: must be a finite number, got {value!r}")
    if hint in (int, float, str, bool) and (
        not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    ):
        raise ParamsError(f"{key}: expected {hint.__name__}, got {value!r}")
    return value
