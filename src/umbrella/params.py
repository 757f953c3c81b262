"""Typed, validated access to params.yaml.

Each block of params.yaml is a frozen dataclass. Loading checks every key: an unknown
key, a missing key or a value of the wrong type raises ParamsError naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from umbrella.errors import ParamsError
from umbrella.paths import PARAMS_FILE


@dataclass(frozen=True)
class Base:
    seed: int
    horizon: int

    def __post_init__(self) -> None:
        _require(self.horizon >= 1, "base.horizon", "must be >= 1")


@dataclass(frozen=True)
class Data:
    source: Literal["simulate", "csv"]
    sales: str | None = None
    weather: str | None = None
    weather_forecasts: str | None = None

    def __post_init__(self) -> None:
        if self.source == "csv":
            _require(self.sales is not None, "data.sales", "is required when data.source is csv")
            _require(
                self.weather is not None, "data.weather", "is required when data.source is csv"
            )


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


@dataclass(frozen=True)
class Features:
    lags: list[int]
    windows: list[int]
    same_weekday_weeks: int
    holidays: str | None  # country code of the public holidays (holidays package), or null

    def __post_init__(self) -> None:
        _require(all(x >= 1 for x in self.lags), "features.lags", "must all be >= 1")
        _require(all(x >= 1 for x in self.windows), "features.windows", "must all be >= 1")
        _require(self.same_weekday_weeks >= 1, "features.same_weekday_weeks", "must be >= 1")


@dataclass(frozen=True)
class Split:
    test_start: dt.date | None
    test_days: int

    def __post_init__(self) -> None:
        _require(self.test_days >= 1, "split.test_days", "must be >= 1")


@dataclass(frozen=True)
class Linear:
    alpha: float


@dataclass(frozen=True)
class Gbm:
    learning_rate: float
    max_iter: int
    max_leaf_nodes: int
    min_samples_leaf: int
    l2_regularization: float


@dataclass(frozen=True)
class Train:
    model: Literal["seasonal_naive", "linear", "gbm"]
    censored: Literal["impute", "keep", "drop"]
    max_rows: int | None  # fit on a random sample of at most this many rows; null: all
    linear: Linear
    gbm: Gbm

    def __post_init__(self) -> None:
        _require(
            self.max_rows is None or self.max_rows >= 1000, "train.max_rows", "must be >= 1000"
        )


@dataclass(frozen=True)
class Evaluate:
    rain_threshold_mm: float
    plot_stores: int


@dataclass(frozen=True)
class Monitor:
    window_days: int  # the latest days compared with the reference
    season_days: int  # reference: training days within this many days of the window's
    psi_threshold: float  # numeric feature drift alarm
    js_threshold: float  # 0/1 feature drift alarm (Jensen-Shannon distance)
    skill_drop: float  # degraded: skill.cost in the window this much below the test period's
    bias_shift: float  # drift: the model's relative bias in the window moved this much
    residual_threshold: float  # drift: PSI of the model's scaled residuals, window vs test
    demand_shift: float  # drift: log(actual/expected sales) moved this much, window vs test

    def __post_init__(self) -> None:
        _require(self.window_days >= 7, "monitor.window_days", "must be >= 7")
        _require(self.season_days >= 0, "monitor.season_days", "must be >= 0")


@dataclass(frozen=True)
class Gate:
    min_skill_cost: float  # the model must save at least this share of the baseline's cost
    service_level_tolerance: float  # |service level - tau*| at most this


@dataclass(frozen=True)
class Business:
    price: float
    unit_cost: float
    salvage: float
    holding: float

    def __post_init__(self) -> None:
        _require(self.price > self.unit_cost, "business.price", "must exceed business.unit_cost")
        _require(self.overage_cost > 0, "business", "unit_cost - salvage + holding must be > 0")

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
    simulate: Simulate
    validate: Validate
    features: Features
    split: Split
    train: Train
    evaluate: Evaluate
    monitor: Monitor
    gate: Gate
    business: Business


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, source=str(path))


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
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{key}.")
    if hint is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ParamsError(f"{key}: expected an ISO date (YYYY-MM-DD), got {value!r}") from None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and (
        not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    ):
        raise ParamsError(f"{key}: expected {hint.__name__}, got {value!r}")
    return value
