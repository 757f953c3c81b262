"""Typed, validated access to params.yaml.

Each block of params.yaml is a frozen pydantic model. Loading checks every key: an unknown
key, a missing key, a value of the wrong type or out of range raises ParamsError naming the
key and the rule.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from umbrella.core.errors import ParamsError
from umbrella.core.paths import PARAMS_FILE
from umbrella.money import newsvendor

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

# Bounds that keep a run from crashing or meaning nothing after minutes of work.
SEED_MAX = 2**32 - 1  # numpy's and scikit-learn's seeds are 32-bit
# Forecasts as issued reach 7 days ahead (the Open-Meteo Previous Runs API's previous_day1..7
# and the simulator, whose forecast skill and temperature error degrade into nonsense
# beyond); a csv forecasts file must also reach base.horizon (validate checks its leads).
HORIZON_MAX = 7
DAYS_BACK_MAX = 366  # features.lags and features.windows look back at most a year
WEEKS_BACK_MAX = 52  # features.same_weekday_weeks
MONEY_MAX = 1e6  # business.*: money per umbrella
GBM_MAX_ITER = 10_000
CALIBRATION_WINDOW_MAX = 366  # train.calibration_window_days: at most a year of days
# open_meteo.backoff_s: the first wait between tries, and all the doubling waits together
BACKOFF_MAX_S = 60.0
RETRY_WAITS_MAX_S = 600.0

SQL = "sql"  # data.sales: read the sales from a database (data.sql)
OPEN_METEO = "open-meteo"  # data.weather / data.weather_forecasts: pull them from Open-Meteo
HOLIDAYS_PER_STORE = "stores"  # features.holidays: each store's country in stores.csv
CAPACITY_PER_STORE = "stores"  # inventory.capacity: each store's in stores.csv

UNKNOWN_SETTING = "unknown param key (a setting of params.yaml, e.g. train.gbm.learning_rate)"

SEATTLE_START = dt.date(2012, 1, 1)
SEATTLE_END = dt.date(2015, 12, 31)


class _Broken(ValueError):
    """A broken rule of a block; `key` names its field at fault (None: the block itself)."""

    def __init__(self, rule: str, key: str | None = None) -> None:
        super().__init__(rule)
        self.key = key


def _require(ok: bool, rule: str, key: str | None = None) -> None:
    if not ok:
        raise _Broken(rule, key)


def _iso_date(value: Any) -> Any:
    """A date as YAML gives it, or its ISO text (load_params reads unquoted dates as text)."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _Broken(f"expected an ISO date (YYYY-MM-DD), got {value!r}") from None


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
NonBlank = Annotated[str, Field(pattern=r"\S")]  # "must not be empty"


class Block(BaseModel):
    # strict: no str -> int, no bool -> int; an int is still a float.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Base(Block):
    seed: int = Field(ge=0, le=SEED_MAX)
    horizon: int = Field(
        ge=1, le=HORIZON_MAX, description="days ahead that forecasts as issued reach"
    )


class Sql(Block):
    # A SELECT returning the sales contract's columns.
    query: NonBlank = (
        "SELECT date, store, units, price, promo, in_stock FROM sales ORDER BY date, store"
    )
    url_env: NonBlank = "UMBRELLA_SALES_DB_URL"  # holds the SQLAlchemy URL, credentials included


class Data(Block):
    source: Literal["simulate", "csv"]
    sales: str | None = None  # path or URL of a csv file, or "sql"
    stores: str | None = None  # path or URL of stores.csv (store, latitude, longitude, timezone)
    weather: str | None = None  # path or URL of a csv file, or "open-meteo"
    weather_forecasts: str | None = None  # path or URL, "open-meteo", or null
    # the stock at the close of the last day of sales (store, date, on_hand) and the orders
    # on their way (store, date, quantity): local paths; with them the predict stage orders
    # net of each store's stock (ops/stock_orders.py)
    stock: str | None = None
    arrivals: str | None = None
    sql: Sql = Sql()
    # seconds at most for a URL's whole download, connecting to the database, each query chunk
    timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _csv_sources(self) -> Data:
        for key in ("stock", "arrivals"):
            location = getattr(self, key)
            if location is not None:
                _require(self.source == "csv", "is for data.source csv: your own stock", key)
                _require("://" not in location, "must be a local path (a file here)", key)
        _require(self.arrivals is None or self.stock is not None, "needs data.stock", "arrivals")
        if self.source != "csv":
            return self
        _require(self.sales is not None, "is required when data.source is csv", "sales")
        _require(self.weather is not None, "is required when data.source is csv", "weather")
        _require(
            self.stores is not None or OPEN_METEO not in (self.weather, self.weather_forecasts),
            "is required when weather comes from open-meteo (it needs each store's location)",
            "stores",
        )
        _require(
            self.weather_forecasts != OPEN_METEO or self.weather == OPEN_METEO,
            "must be open-meteo when data.weather_forecasts is (days before the forecast "
            "archive fall back on the observed weather)",
            "weather",
        )
        return self


class OpenMeteo(Block):
    archive_url: str  # Historical Weather API (observed, reanalysis)
    previous_runs_url: str  # Previous Runs API (forecasts as issued)
    forecast_url: str = "https://api.open-meteo.com/v1/forecast"  # the latest run: days ahead
    archive_models: str | None  # e.g. era5; null: the API's best match
    forecast_models: str | None  # e.g. ecmwf_ifs025; null: the API's best match
    timeout_s: float = Field(gt=0)  # per call
    retries: int = Field(ge=0, le=10)  # on HTTP 429, 5xx, timeouts and refused connections
    backoff_s: float = Field(ge=0, le=BACKOFF_MAX_S)  # first wait between tries; doubles
    locations_per_call: int = Field(ge=1, le=100)
    days_per_call: int = Field(ge=1, le=366)
    cache: NonBlank  # response cache folder, relative to the repository root
    refresh: bool = False  # fetch every chunk again and rewrite its cache entry

    @field_validator("archive_url", "previous_runs_url", "forecast_url")
    @classmethod
    def _http(cls, url: str) -> str:
        _require(url.startswith(("http://", "https://")), f"must be an http(s) URL, got {url!r}")
        return url

    @model_validator(mode="after")
    def _bounded_waits(self) -> OpenMeteo:
        waits = self.backoff_s * (2**self.retries - 1)  # backoff_s, 2 * backoff_s, ...
        _require(
            waits <= RETRY_WAITS_MAX_S,
            f"backoff_s * (2**retries - 1) = {waits:g} s of waits between tries must be <= "
            f"{RETRY_WAITS_MAX_S:g} s (lower open_meteo.backoff_s or open_meteo.retries)",
            "backoff_s",
        )
        return self


class Drift(Block):
    start: IsoDate
    level: float = Field(1.0, gt=0)
    rain_effect: float = Field(1.0, ge=0)


class Simulate(Block):
    stores: int = Field(ge=1)
    regions: int
    start: IsoDate
    end: IsoDate
    weather: Literal["seattle", "generated"]
    stockouts: bool
    drift: Drift | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Simulate:
        _require(1 <= self.regions <= self.stores, "must be in 1..stores", "regions")
        _require(self.end > self.start, "must be after simulate.start", "end")
        if self.weather == "seattle":
            _require(
                self.start >= SEATTLE_START and self.end <= SEATTLE_END,
                f"seattle covers {SEATTLE_START}..{SEATTLE_END}; use 'generated' for other dates",
                "weather",
            )
        return self


class Validate(Block):
    min_history_days: int = Field(ge=0)
    # Units above this many times the store's level (median of its days with sales) are an
    # error; above warn_level_ratio times, a warning (plausibility.py).
    max_level_ratio: float = Field(gt=1)
    warn_level_ratio: float

    @model_validator(mode="after")
    def _warn_below_max(self) -> Validate:
        _require(
            1 < self.warn_level_ratio <= self.max_level_ratio,
            "must be > 1 and <= validate.max_level_ratio",
            "warn_level_ratio",
        )
        return self


class Features(Block):
    lags: list[int] = Field(min_length=1)
    windows: list[int] = Field(min_length=1)
    usual_days: int = Field(ge=1, le=DAYS_BACK_MAX)
    same_weekday_weeks: int = Field(ge=1, le=WEEKS_BACK_MAX)
    # country code of the public holidays (holidays package), stores (each store's own, from
    # stores.csv: holiday_calendar.py), or null
    holidays: str | None

    @field_validator("lags", "windows")
    @classmethod
    def _days_back(cls, days: list[int]) -> list[int]:
        _require(
            all(1 <= x <= DAYS_BACK_MAX for x in days), f"must all be in 1..{DAYS_BACK_MAX} (days)"
        )
        return days

    @field_validator("holidays")
    @classmethod
    def _country(cls, code: str | None) -> str | None:
        if code is not None and code != HOLIDAYS_PER_STORE:
            import holidays  # only when set: the import takes a moment

            _require(
                code in holidays.list_supported_countries(),
                f"{code!r} is not a country code the holidays package knows "
                f"(e.g. US, GB, DE; {HOLIDAYS_PER_STORE}: each store's own; or null)",
            )
        return code


class Split(Block):
    test_start: IsoDate | None
    test_days: int = Field(ge=1)
    # the days before the test period that every choice is made on (split.validation_start)
    validation_days: int = Field(365, ge=0)


class Linear(Block):
    alpha: float = Field(ge=0)


class Gbm(Block):
    learning_rate: float = Field(gt=0, le=1)
    max_iter: int = Field(ge=1, le=GBM_MAX_ITER)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    # on a short history a leaf needs fewer rows: at most this share of the fitted rows
    # (never under SMALLEST_LEAF); models.leaf_size
    leaf_share: float = Field(gt=0, le=1)
    l2_regularization: float = Field(ge=0)


class Train(Block):
    model: Literal["seasonal_naive", "linear", "gbm"]
    censored: Literal["impute", "keep", "drop"]
    # fit on a random sample of at most this many rows; null: all
    max_rows: int | None = Field(ge=1000)
    linear: Linear
    gbm: Gbm
    # conformal: scale each quantile so the orders of the last calibration_window_days
    # realised days would have cost least; coverage: so they would have met demand on tau*
    # of them (calibration.py); none: the model's own quantile.
    calibration: Literal["none", "conformal", "coverage"] = "none"
    # null: the rule's own window (conformal 56, coverage 21 days)
    calibration_window_days: int | None = Field(None, ge=7, le=CALIBRATION_WINDOW_MAX)


class Evaluate(Block):
    rain_threshold_mm: float = Field(ge=0)
    plot_stores: int = Field(ge=1)
    # the limits (oracle, oracle_info: simulated data) cost about 0.2 ms a row: left out
    # for a chain of more stores
    oracle_max_stores: int = Field(ge=0)


class Monitor(Block):
    window_days: int = Field(ge=7)  # the latest days compared with the reference
    # reference: training days within this many days of the window's
    season_days: int = Field(ge=0)
    psi_threshold: float = Field(gt=0)  # numeric feature drift alarm
    js_threshold: float = Field(gt=0, le=1)  # 0/1 feature drift alarm (Jensen-Shannon distance)
    # degraded: skill.cost in the window this much below the test period's
    skill_drop: float = Field(gt=0)
    # degraded (inventory.carry_over): the skill of the stock replayed in the window this much
    # below the test period's (reports/evaluate.json stock.skill_cost)
    stock_skill_drop: float = Field(gt=0)
    # drift: the model's relative bias in the window moved this much
    bias_shift: float = Field(gt=0)
    # drift: PSI of the model's scaled residuals, window vs test
    residual_threshold: float = Field(gt=0)
    # degraded: log(actual/expected sales) moved this much, window vs test
    demand_shift: float = Field(gt=0)
    # degraded: wet days' demand (sold-out days seen through) moved
    wet_demand_shift: float = Field(gt=0)
    # a chain with more stores is watched on a seeded sample of this many (memory)
    max_stores: int = Field(ge=1)


class Predict(Block):
    # An order above this many times the store's highest daily sales in its history is
    # capped there (docs/production.md "Orders for the next days").
    max_order_ratio: float = Field(ge=1)
    # The pipeline's predict orders with a model that failed its gate (else: refused, the
    # previous orders kept; docs/production.md "Orders for the next days").
    allow_failed_gate: bool = False
    # A store that cannot be ordered for (too short a history, sales that end early) fails
    # validate and predict; false: the others get their orders, it is named in a warning.
    all_or_nothing: bool = False


class Engine(Block):
    # local: every partition in this process, one after the other. dask: on dask.distributed
    # (docs/scale.md): a LocalCluster of `workers` processes, or the cluster at `address`.
    kind: Literal["local", "dask"]
    address: str | None = Field(pattern=r"^[a-z]+://\S+$")  # e.g. tcp://scheduler:8786
    workers: int = Field(ge=1)
    stores_per_partition: int = Field(ge=1)
    # dask, workers without this checkout: their files through this fsspec URL (core/storage.py)
    storage: str | None = Field(pattern=r"^[a-z][a-z0-9+]*://\S+$")  # e.g. s3://bucket/umbrella

    @model_validator(mode="after")
    def _storage_for_dask(self) -> Engine:
        _require(
            self.storage is None or self.kind == "dask",
            "is for the workers of engine.kind: dask; the local engine reads the checkout",
            "storage",
        )
        return self


class Gate(Block):
    # the model must save at least this share of the baseline's cost
    min_skill_cost: float = Field(ge=0, lt=1)
    service_level_tolerance: float = Field(gt=0, le=0.5)  # |service level - target| at most this
    # with inventory.carry_over: the stock replayed saves at least this share of seasonal
    # naive's replayed cost, and fills at least its ratio minus fill_rate_tolerance
    min_stock_skill_cost: float = Field(ge=-1, lt=1)
    fill_rate_tolerance: float = Field(gt=0, le=0.5)


class Business(Block):
    price: float = Field(gt=0, le=MONEY_MAX)
    unit_cost: float = Field(ge=0, le=MONEY_MAX)
    salvage: float = Field(ge=-MONEY_MAX, le=MONEY_MAX)
    holding: float = Field(ge=0, le=MONEY_MAX)
    # Each day's own price (sales column price) sets its underage cost and critical ratio
    # (costs.py); false: business.price for every day, one tau* for all orders.
    daily_costs: bool

    @model_validator(mode="after")
    def _newsvendor(self) -> Business:
        _require(self.price > self.unit_cost, "must exceed business.unit_cost", "price")
        _require(self.overage_cost > 0, "unit_cost - salvage + holding must be > 0")
        low, high = newsvendor.SERVICE_LEVEL_RANGE
        _require(
            low <= self.service_level <= high,
            f"tau* = (price - unit_cost) / (price - salvage + holding) = "
            f"{self.service_level:.4f} must be in {low}..{high}: the order would be 0 or "
            "unbounded (see price, unit_cost, salvage, holding)",
        )
        return self

    @property
    def underage_cost(self) -> float:
        """Lost margin per umbrella a customer wanted but could not buy."""
        return float(newsvendor.underage_cost(self.price, self.unit_cost))

    @property
    def overage_cost(self) -> float:
        """Loss per umbrella left over."""
        return float(newsvendor.overage_cost(self.unit_cost, self.salvage, self.holding))

    @property
    def service_level(self) -> float:
        """The newsvendor critical ratio tau* = c_u / (c_u + c_o)."""
        return float(newsvendor.critical_ratio(self.underage_cost, self.overage_cost))


class Inventory(Block):
    """Stock that carries over (stock_replay.py; docs/forecasting.md "Stock that carries over")."""

    # true: evaluate also replays each store's stock day by day (reports/evaluate.json
    # `stock`); false: the daily newsvendor alone, every output as before (perishable goods)
    carry_over: bool = True
    # an order placed at the end of day t is on the shelf at the opening of day t + L: at
    # least 1, the next morning (stock_replay.review_days)
    lead_time_days: int = Field(2, ge=1)
    review_days: int = Field(1, ge=1)  # orders are placed every R days
    # money per umbrella per night in stock (docs/forecasting.md "Holding per day")
    holding_per_day: float = Field(0.01, ge=0, le=MONEY_MAX)
    pack_size: int = Field(1, ge=1)  # orders in whole packs of this many umbrellas
    order_cost: float = Field(0.0, ge=0, le=MONEY_MAX)  # money per order placed
    # the most umbrellas a store's storeroom holds (None: no limit; stores: each store's
    # own, the capacity column of data.stores): an order never brings the stock on hand and
    # on order above it (order_up_to.py)
    capacity: int | str | None = None

    @field_validator("capacity")
    @classmethod
    def _room(cls, capacity: int | str | None) -> int | str | None:
        if isinstance(capacity, str):
            _require(
                capacity == CAPACITY_PER_STORE,
                f"expected a number of umbrellas, {CAPACITY_PER_STORE} (each store's, from "
                f"data.stores) or null, got {capacity!r}",
            )
        elif capacity is not None:
            _require(capacity >= 1, "must be >= 1")
        return capacity

    @model_validator(mode="after")
    def _room_for_a_pack(self) -> Inventory:
        if isinstance(self.capacity, int):
            _require(
                self.capacity >= self.pack_size,
                f"must be at least inventory.pack_size ({self.pack_size}): room for one pack",
                "capacity",
            )
        return self


class Tune(Block):
    # `umbrella tune` (tune.py): experiments in all, the current params' included
    budget: int = Field(ge=1)
    # a setting's dotted key -> the values to try; each checked as that setting is
    # (Params._tune_space)
    space: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)


# The validate block's name shadows BaseModel.validate, a deprecated classmethod pydantic
# warns about: on an instance the field wins, and Params is never validated through it.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", 'Field name "validate"', UserWarning)

    class Params(Block):
        base: Base
        data: Data
        open_meteo: OpenMeteo
        simulate: Simulate
        validate: Validate  # type: ignore[assignment]
        features: Features
        split: Split
        train: Train
        evaluate: Evaluate
        monitor: Monitor
        gate: Gate
        business: Business
        predict: Predict
        engine: Engine
        inventory: Inventory
        tune: Tune  # read by `umbrella tune` only, no stage (dvc.yaml)

        @model_validator(mode="after")
        def _horizon_covers_an_order(self) -> Params:
            # An order serves the days until the next one arrives: t + 1 .. t + L + R - 1.
            # Beyond a week-long horizon (HORIZON_MAX, the weather forecasts' reach), a day
            # takes its weekday's forecast within it (money/stock_policy.weekday_filled),
            # for at most a second week.
            inventory, horizon = self.inventory, self.base.horizon
            ahead = inventory.lead_time_days + inventory.review_days - 1
            reach = horizon if horizon < HORIZON_MAX else 2 * HORIZON_MAX
            _require(
                ahead <= reach,
                f"{horizon} days must cover the days an order serves until the next one "
                f"arrives, inventory.lead_time_days + inventory.review_days - 1 = {ahead}; a "
                f"horizon of {HORIZON_MAX} (a week) covers up to {2 * HORIZON_MAX}, a later "
                "day taking its weekday's forecast (lower inventory.lead_time_days or "
                "inventory.review_days)",
                "base.horizon",
            )
            return self

        @model_validator(mode="after")
        def _capacity_of_each_store(self) -> Params:
            _require(
                self.inventory.capacity != CAPACITY_PER_STORE or self.data.stores is not None,
                "stores: each store's capacity is the capacity column of data.stores; set "
                "data.stores (a csv source), or one capacity for every store",
                "inventory.capacity",
            )
            return self

        @model_validator(mode="after")
        def _tune_space(self) -> Params:
            for key, values in self.tune.space.items():
                for i, value in enumerate(values):
                    key_at = f"tune.space.{key}"
                    _require(value not in values[:i], f"lists the value {value!r} twice", key_at)
                    problem = setting_problem(self, key, value)
                    _require(problem is None, str(problem), key_at)
            return self


def setting_problem(params: Params, key: str, value: Any) -> str | None:
    """Why the setting `key` (dotted, e.g. train.gbm.learning_rate) may not be `value` in
    `params`, or None: the key must name a setting of params.yaml (not a block, not tune's
    own) and the value pass every check of that setting's block."""
    block, _, rest = key.partition(".")
    if block not in Params.model_fields or block == "tune" or not rest:
        return UNKNOWN_SETTING
    raw = getattr(params, block).model_dump()
    *parents, name = rest.split(".")
    inner = raw
    for parent in parents:
        inner = inner.get(parent) if isinstance(inner, dict) else None
    if not isinstance(inner, dict) or name not in inner or isinstance(inner[name], dict):
        return UNKNOWN_SETTING
    inner[name] = value
    try:
        _block_at((block,)).model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        error["loc"] = (block, *error["loc"])
        return f"value {value!r}: {_message(error)}"
    return None


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    try:
        raw = read_yaml(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, source=str(path))


def read_yaml(text: str) -> Any:
    """params.yaml's text (or a revision's) as umbrella reads it: dates as text, floats in
    every spelling DVC writes."""
    return yaml.load(text, Loader=_DatesAsText)


class _DatesAsText(yaml.SafeLoader):
    """SafeLoader that leaves an unquoted date as text: YAML would raise a bare ValueError
    on an impossible one (2015-02-30); as text, the key's own check names the key. It reads
    a float as YAML 1.2 (and DVC) write it: YAML 1.1 takes 1e-05, which `dvc exp run -S
    train.linear.alpha=1e-5` writes, or 1E+3, for text."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# A dot or an exponent, so that an int stays an int; an exponent's sign is optional.
_DatesAsText.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Build Params from a mapping, naming the first bad key in the error."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        # An unknown key first (in name order): often the misspelling of a key reported missing.
        unknown = [e for e in exc.errors() if e["type"] == "extra_forbidden"]
        first = min(unknown, key=lambda e: e["loc"]) if unknown else exc.errors()[0]
        raise ParamsError(f"{source}: {_message(first)}") from None


_TYPES = {"int_type": "int", "float_type": "float", "string_type": "str", "bool_type": "bool"}
_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _message(error: ErrorDetails) -> str:
    """One pydantic error as "dotted.key: rule", in our words."""
    loc, value = error["loc"], error["input"]
    match error["type"]:
        case "missing":
            rule = "missing"
        case "extra_forbidden":
            rule = f"unknown key (expected one of {sorted(_block_at(loc[:-1]).model_fields)})"
        case "model_type":
            rule = f"expected a mapping, got {type(value).__name__}"
        case "list_type":
            rule = f"expected a list, got {value!r}"
        case "literal_error":
            rule = f"{value!r} is not one of {list(get_args(_field_at(loc).annotation))}"
        case "finite_number":
            rule = f"must be a finite number, got {value!r}"
        case "too_short" | "string_pattern_mismatch":
            rule = "must not be empty"
        case "greater_than" | "greater_than_equal" | "less_than" | "less_than_equal":
            rule = _bounds(_field_at(loc))
        case "value_error" if isinstance(broken := error.get("ctx", {}).get("error"), _Broken):
            rule = str(broken)
            loc = (*loc, broken.key) if broken.key else loc
        case kind if kind in _TYPES:
            rule = f"expected {_TYPES[kind]}, got {value!r}"
        case _:
            rule = error["msg"]
    return f"{_dotted(loc)}: {rule}"


def _dotted(loc: tuple[int | str, ...]) -> str:
    """("features", "lags", 1) -> "features.lags[1]"; () -> "top level"."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else part
    return key or "top level"


def _block_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model class of the block at `loc` (a path of field names from Params)."""
    block: type[BaseModel] = Params
    for name in loc:
        annotation = block.model_fields[str(name)].annotation
        block = next(
            t
            for t in (annotation, *get_args(annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        )
    return block


def _field_at(loc: tuple[int | str, ...]) -> FieldInfo:
    return _block_at(loc[:-1]).model_fields[str(loc[-1])]


def _bounds(field: FieldInfo) -> str:
    """The rule a field's bounds state, e.g. "must be in 1..7" or "must be > 0 and <= 1"."""
    bounds = {
        op: getattr(m, name)
        for m in field.metadata
        for name, op in _BOUNDS.items()
        if hasattr(m, name)
    }
    low, high = bounds.get(">="), bounds.get("<=")
    if low is None or high is None:
        rule = "must be " + " and ".join(f"{op} {_number(x)}" for op, x in bounds.items())
    elif low == -high:
        rule = f"must be in ±{_number(high)}"
    else:
        rule = f"must be in {_number(low)}..{_number(high)}"
    return f"{rule} ({field.description})" if field.description else rule


def _number(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"
