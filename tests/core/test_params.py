"""params.yaml: the repository's file loads, and every bad key is named in the error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from conftest import REPO, make_params, raw_params
from support.inprocess import umbrella_in

from umbrella.core import params as params_module
from umbrella.core.errors import ParamsError
from umbrella.core.params import Drift, Params, load_params, parse_params


def test_repository_params_load() -> None:
    params = load_params(REPO / "params.yaml")
    assert isinstance(params, Params)
    assert params.data.source == "simulate"
    assert params.simulate.start == dt.date(2012, 1, 1)
    assert params.simulate.drift is None
    assert 0 < params.business.service_level < 1


def test_overrides_are_typed() -> None:
    params = make_params(
        {
            "simulate": {"start": "2013-02-01", "drift": {"start": "2013-06-01", "level": 0.5}},
            "business": {"price": 25},  # an int where a float is expected is fine
            "split": {"test_start": "2013-09-01"},
        }
    )
    assert params.simulate.start == dt.date(2013, 2, 1)
    assert params.simulate.drift == Drift(start=dt.date(2013, 6, 1), level=0.5, rain_effect=1.0)
    assert params.business.price == 25.0 and isinstance(params.business.price, float)
    assert params.split.test_start == dt.date(2013, 9, 1)


def without(key: str) -> dict:
    """The repository's params with the dotted `key` removed."""
    raw = raw_params()
    *parents, last = key.split(".")
    block = raw
    for name in parents:
        block = block[name]
    del block[last]
    return raw


def assert_names_key(raw: dict, key: str) -> str:
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    message = str(info.value)
    assert f"{key}:" in message, message
    return message


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"colour": "blue"}, "colour"),
        ({"base": {"sede": 1}}, "base.sede"),
        ({"train": {"gbm": {"max_depth": 3}}}, "train.gbm.max_depth"),
        ({"simulate": {"drift": {"start": "2013-01-01", "slope": 2}}}, "simulate.drift.slope"),
    ],
)
def test_unknown_key(overrides: dict, key: str) -> None:
    assert "unknown key" in assert_names_key(raw_params(overrides), key)


@pytest.mark.parametrize(
    "key",
    ["base", "base.seed", "simulate.stores", "train.gbm.max_iter", "business.holding", "inventory"],
)
def test_missing_key(key: str) -> None:
    assert "missing" in assert_names_key(without(key), key)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"base": {"seed": "x"}}, "base.seed"),
        ({"base": {"seed": True}}, "base.seed"),  # a bool is not an int
        ({"base": {"horizon": 0}}, "base.horizon"),
        ({"train": {"gbm": {"max_iter": 1.5}}}, "train.gbm.max_iter"),
        ({"train": {"gbm": "fast"}}, "train.gbm"),
        ({"train": {"model": "prophet"}}, "train.model"),
        ({"train": {"max_rows": 10}}, "train.max_rows"),
        ({"train": {"max_rows": "all"}}, "train.max_rows"),
        ({"simulate": {"weather": "rainy"}}, "simulate.weather"),
        ({"simulate": {"stockouts": 1}}, "simulate.stockouts"),
        ({"simulate": {"stores": 0}}, "simulate.stores"),
        ({"simulate": {"stores": 2, "regions": 3}}, "simulate.regions"),
        ({"simulate": {"start": "2012-13-01"}}, "simulate.start"),
        ({"simulate": {"end": "soon"}}, "simulate.end"),
        ({"simulate": {"end": "2011-12-31"}}, "simulate.end"),
        ({"simulate": {"start": "2020-01-01", "end": "2020-12-31"}}, "simulate.weather"),
        ({"simulate": {"drift": {"level": 0.5}}}, "simulate.drift.start"),
        ({"simulate": {"drift": {"start": "2013-01-01", "level": 0}}}, "simulate.drift.level"),
        ({"simulate": {"drift": "2013-01-01"}}, "simulate.drift"),
        ({"split": {"test_start": "1st of May"}}, "split.test_start"),
        ({"features": {"lags": 7}}, "features.lags"),
        ({"features": {"lags": [1, "a"]}}, "features.lags[1]"),
        ({"features": {"lags": [0, 7]}}, "features.lags"),
        ({"data": {"source": "s3"}}, "data.source"),
        ({"data": {"source": "csv", "weather": "w.csv"}}, "data.sales"),
        ({"data": {"source": "csv", "sales": "s.csv"}}, "data.weather"),
        ({"data": {"sales": 5}}, "data.sales"),
        ({"business": {"price": "20"}}, "business.price"),
        ({"business": {"price": 7.0}}, "business.price"),
    ],
)
def test_bad_value(overrides: dict, key: str) -> None:
    assert_names_key(raw_params(overrides), key)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ParamsError, match="top level"):
        parse_params(["base", "data"])


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw_params({"simulate": {"stores": "many"}})))
    with pytest.raises(ParamsError, match=r"params\.yaml: simulate\.stores:"):
        load_params(path)


def test_load_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="file not found"):
        load_params(tmp_path / "absent.yaml")
    broken = tmp_path / "params.yaml"
    broken.write_text("base: {seed: 1\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)


# Values that load but would crash a later stage after minutes of work, or mean nothing:
# refused at load time, the message naming the key and the allowed range.
BAD_VALUES = [
    ("base.seed", -1, "must be in 0..4294967295"),
    ("base.seed", 4294967296, "must be in 0..4294967295"),
    ("base.horizon", 400, "must be in 1..7"),
    ("base.horizon", 0, "must be in 1..7"),
    ("validate.min_history_days", -1, "must be >= 0"),
    ("features.lags", [], "must not be empty"),
    ("features.lags", [5000], "must all be in 1..366 (days)"),
    ("features.windows", [], "must not be empty"),
    ("features.windows", [0, 7], "must all be in 1..366 (days)"),
    ("features.usual_days", 0, "must be in 1..366"),
    ("features.usual_days", 367, "must be in 1..366"),
    ("features.same_weekday_weeks", 0, "must be in 1..52"),
    ("features.holidays", "Narnia", "'Narnia' is not a country code the holidays package knows"),
    ("split.test_start", "2015-02-30", "expected an ISO date (YYYY-MM-DD), got '2015-02-30'"),
    ("split.test_days", 0, "must be >= 1"),
    ("split.validation_days", -1, "must be >= 0"),
    ("train.max_rows", 10, "must be >= 1000"),
    ("train.linear.alpha", -1, "must be >= 0"),
    ("train.calibration_window_days", 3, "must be in 7..366"),
    ("train.gbm.learning_rate", -0.1, "must be > 0 and <= 1"),
    ("train.gbm.learning_rate", 2, "must be > 0 and <= 1"),
    ("train.gbm.max_iter", 0, "must be in 1..10000"),
    ("train.gbm.max_leaf_nodes", 1, "must be >= 2"),
    ("train.gbm.min_samples_leaf", 0, "must be >= 1"),
    ("train.gbm.leaf_share", 0, "must be > 0 and <= 1"),
    ("train.gbm.leaf_share", 1.5, "must be > 0 and <= 1"),
    ("train.gbm.l2_regularization", -1.0, "must be >= 0"),
    ("train.gbm.l2_regularization", float("nan"), "must be a finite number, got nan"),
    ("evaluate.rain_threshold_mm", -1.0, "must be >= 0"),
    ("evaluate.plot_stores", 0, "must be >= 1"),
    ("evaluate.oracle_max_stores", -1, "must be >= 0"),
    ("monitor.window_days", 3, "must be >= 7"),
    ("monitor.season_days", -1, "must be >= 0"),
    ("monitor.psi_threshold", -0.25, "must be > 0"),
    ("monitor.js_threshold", 1.5, "must be > 0 and <= 1"),
    ("monitor.skill_drop", -0.15, "must be > 0"),
    ("monitor.stock_skill_drop", 0, "must be > 0"),
    ("monitor.bias_shift", 0, "must be > 0"),
    ("monitor.residual_threshold", -1, "must be > 0"),
    ("monitor.demand_shift", float("inf"), "must be a finite number, got inf"),
    ("monitor.wet_demand_shift", 0, "must be > 0"),
    ("monitor.max_stores", 0, "must be >= 1"),
    ("validate.max_level_ratio", 1, "must be > 1"),
    ("validate.warn_level_ratio", 50, "must be > 1 and <= validate.max_level_ratio"),
    ("predict.max_order_ratio", 0.5, "must be >= 1"),
    ("gate.min_skill_cost", -0.2, "must be >= 0 and < 1"),
    ("gate.min_skill_cost", 1.5, "must be >= 0 and < 1"),
    ("gate.service_level_tolerance", -0.03, "must be > 0 and <= 0.5"),
    ("gate.min_stock_skill_cost", -1.5, "must be >= -1 and < 1"),
    ("gate.fill_rate_tolerance", 0, "must be > 0 and <= 0.5"),
    ("inventory.capacity", 0, "must be >= 1"),
    ("business.price", 1.0e20, "must be > 0 and <= 1e+06"),
    ("business.price", 7.0, "must exceed business.unit_cost"),
    ("business.unit_cost", -8.0, "must be in 0..1e+06"),
    ("business.holding", -1.0, "must be in 0..1e+06"),
    ("business.salvage", -1.0e9, "must be in ±1e+06"),
    ("simulate.stores", 0, "must be >= 1"),
    ("engine.workers", 0, "must be >= 1"),
    ("engine.stores_per_partition", 0, "must be >= 1"),
    ("inventory.lead_time_days", 0, "must be >= 1"),  # the evening's order: next morning
    ("inventory.lead_time_days", 2.5, "expected int, got 2.5"),
    ("inventory.review_days", 0, "must be >= 1"),
    ("inventory.holding_per_day", -0.01, "must be in 0..1e+06"),
    ("inventory.holding_per_day", "cheap", "expected float, got 'cheap'"),
    ("inventory.pack_size", 0, "must be >= 1"),
    ("inventory.order_cost", -5.0, "must be in 0..1e+06"),
    ("inventory.carry_over", "yes", "expected bool, got 'yes'"),
]


def set_key(raw: dict, key: str, value: object) -> dict:
    block = raw
    *parents, last = key.split(".")
    for name in parents:
        block = block[name]
    block[last] = value
    return raw


@pytest.mark.parametrize(
    ("key", "value", "rule"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES]
)
def test_bad_value_names_key_and_range(key: str, value: object, rule: str) -> None:
    message = assert_names_key(set_key(raw_params(), key, value), key)
    assert rule in message, message


def test_every_number_has_a_bad_value_case() -> None:
    """Each numeric or list param of params.yaml is covered by BAD_VALUES (data and
    open_meteo have their own tests, tune too: tests/ops/test_tune.py)."""

    def leaves(block: dict, prefix: str = "") -> set[str]:
        out = set()
        for name, value in block.items():
            if isinstance(value, dict):
                out |= leaves(value, f"{prefix}{name}.")
            elif isinstance(value, int | float | list) and not isinstance(value, bool):
                out.add(f"{prefix}{name}")
        return out

    raw = raw_params()
    numbers = leaves({k: v for k, v in raw.items() if k not in ("data", "open_meteo", "tune")})
    covered = {key for key, _, _ in BAD_VALUES}
    assert numbers - covered - {"simulate.regions"} == set()  # regions: tested above


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"backoff_s": 100000}, "must be in 0..60"),  # used to sleep 100,000 s
        ({"backoff_s": -1}, "must be in 0..60"),
        (
            {"backoff_s": 1.0, "retries": 10},
            "backoff_s * (2**retries - 1) = 1023 s of waits between tries must be <= 600 s "
            "(lower open_meteo.backoff_s or open_meteo.retries)",
        ),
    ],
)
def test_open_meteo_waits_are_bounded(overrides: dict, rule: str) -> None:
    message = assert_names_key(raw_params({"open_meteo": overrides}), "open_meteo.backoff_s")
    assert message.endswith(f"open_meteo.backoff_s: {rule}"), message


def test_open_meteo_waits_at_their_bounds_are_accepted() -> None:
    params = make_params({"open_meteo": {"backoff_s": 60, "retries": 3}})  # 420 s of waits
    assert params.open_meteo.backoff_s == 60


# Floats as `dvc exp run -S` and YAML 1.2 write them; YAML 1.1 read them as text.
FLOAT_SPELLINGS = {"1e-05": 1e-05, "1.0e-05": 1e-05, ".5": 0.5, "1E+3": 1000.0, "-2e-3": -0.002}
FLOAT_SPELLINGS |= {"1e5": 1e5, "+1.5e-7": 1.5e-7, "3.": 3.0, "1e+20": 1e20, ".inf": float("inf")}
NOT_FLOATS = {"7": 7, "-3": -3, "1_000": 1000, "e5": "e5", "1e": "1e", "1.2.3": "1.2.3"}
NOT_FLOATS |= {"2015-02-30": "2015-02-30", "abc": "abc", "'1e-05'": "1e-05", "null": None}


@pytest.mark.parametrize(("text", "value"), (FLOAT_SPELLINGS | NOT_FLOATS).items())
def test_params_yaml_reads_every_float_spelling(tmp_path: Path, text: str, value: object) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(f"value: {text}\n")
    loaded = yaml.load(path.read_text(), Loader=params_module._DatesAsText)["value"]
    assert loaded == value and type(loaded) is type(value)


@pytest.mark.parametrize(
    ("key", "given", "written"),
    [
        ("train.linear.alpha", "1e-5", "1e-05"),  # was refused: expected float, got '1e-05'
        ("train.linear.alpha", "1.5e-7", "1.5e-07"),
        ("monitor.psi_threshold", "1e20", "1e+20"),
        ("train.gbm.l2_regularization", "2e3", "2000.0"),
        ("business.salvage", "-2e-3", "-0.002"),
    ],
)
def test_params_as_dvc_exp_run_set_param_writes_them(
    tmp_path: Path, key: str, given: str, written: str
) -> None:
    """`dvc exp run -S key=value` rewrites params.yaml with dvc.utils.hydra.apply_overrides:
    the float it writes reads back as that float."""
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    path.write_text((REPO / "params.yaml").read_text())
    apply_overrides(path, [f"{key}={given}"])
    block, _, name = key.rpartition(".")
    assert f" {name}: {written}" in path.read_text()
    value = load_params(path)
    for part in block.split("."):
        value = getattr(value, part)
    assert getattr(value, name) == float(given)


def test_service_level_must_leave_room() -> None:
    """price 1e5 with costs near zero: tau* rounds to 1, every order would be unbounded."""
    raw = raw_params({"business": {"price": 1.0e5, "unit_cost": 0.0, "salvage": 0.0}})
    raw["business"]["holding"] = 0.01
    message = assert_names_key(raw, "business")
    assert "tau* = (price - unit_cost) / (price - salvage + holding) = 1.0000" in message
    assert "must be in 0.01..0.99" in message


def test_inventory_defaults() -> None:
    """A block of {} is the documented defaults; params.yaml states them."""
    raw = raw_params()
    assert make_params().inventory == parse_params({**raw, "inventory": {}}).inventory
    inventory = make_params().inventory
    assert inventory.carry_over is True
    assert (inventory.lead_time_days, inventory.review_days, inventory.pack_size) == (2, 1, 1)
    assert (inventory.holding_per_day, inventory.order_cost) == (0.01, 0.0)
    assert inventory.capacity is None  # no storeroom limit


@pytest.mark.parametrize(
    ("horizon", "lead", "review", "accepted"),
    [
        (7, 2, 1, True),
        (7, 2, 7, True),  # day 8 takes day 1's forecast, the same weekday
        (7, 8, 7, True),
        (7, 8, 8, False),
        (3, 2, 2, True),
        (3, 2, 3, False),
        (2, 2, 2, False),
    ],
)
def test_horizon_must_cover_lead_time_and_review(
    horizon: int, lead: int, review: int, accepted: bool
) -> None:
    """An order is made from the forecasts of the days until the next one arrives,
    lead_time_days + review_days - 1: base.horizon must reach them, or be a week and reach
    them within two; refused at load naming both."""
    raw = raw_params(
        {
            "base": {"horizon": horizon},
            "inventory": {"lead_time_days": lead, "review_days": review},
        }
    )
    if accepted:
        assert parse_params(raw).inventory.review_days == review
        return
    message = assert_names_key(raw, "base.horizon")
    assert message == (
        f"params.yaml: base.horizon: {horizon} days must cover the days an order serves until "
        "the next one arrives, inventory.lead_time_days + inventory.review_days - 1 = "
        f"{lead + review - 1}; a horizon of 7 (a week) covers up to 14, a later day taking its "
        "weekday's forecast (lower inventory.lead_time_days or inventory.review_days)"
    )


def test_impossible_unquoted_date_names_the_key(tmp_path: Path) -> None:
    """YAML itself raised a bare ValueError on an unquoted 2015-02-30: a traceback."""
    path = tmp_path / "params.yaml"
    text = yaml.safe_dump(raw_params(), sort_keys=False)
    path.write_text(text.replace("test_start: null", "test_start: 2015-02-30"))
    assert "test_start: 2015-02-30\n" in path.read_text()
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert str(info.value) == (
        f"{path}: split.test_start: expected an ISO date (YYYY-MM-DD), got '2015-02-30'"
    )
    good = tmp_path / "good.yaml"
    good.write_text(text.replace("test_start: null", "test_start: 2015-02-01"))
    assert load_params(good).split.test_start == dt.date(2015, 2, 1)


def test_cli_prints_a_clean_params_error(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(raw_params(), sort_keys=False).replace(
            "test_start: null", "test_start: 2015-02-30"
        )
    )
    result = umbrella_in(tmp_path, ["validate"])
    assert (result.code, result.error) == (2, None)
    assert result.stderr.startswith("error: ") and "split.test_start:" in result.stderr


def test_cli_refuses_a_horizon_short_of_the_orders(tmp_path: Path) -> None:
    raw = raw_params({"inventory": {"lead_time_days": 9, "review_days": 7}})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    result = umbrella_in(tmp_path, ["evaluate"])
    assert (result.code, result.error) == (2, None)
    assert "base.horizon: 7 days must cover the days an order serves" in result.stderr


def test_a_storeroom_must_hold_a_pack() -> None:
    raw = raw_params({"inventory": {"pack_size": 12, "capacity": 10}})
    message = assert_names_key(raw, "inventory.capacity")
    assert message == (
        "params.yaml: inventory.capacity: must be at least inventory.pack_size (12): room for "
        "one pack"
    )
    assert parse_params(raw_params({"inventory": {"capacity": 12}})).inventory.capacity == 12


def test_each_stores_own_storeroom_needs_the_stores_file() -> None:
    """inventory.capacity: stores reads each store's from data.stores; without that file,
    or with another word, refused at load naming the key."""
    message = assert_names_key(
        raw_params({"inventory": {"capacity": "stores"}}), "inventory.capacity"
    )
    assert "set data.stores (a csv source)" in message
    message = assert_names_key(
        raw_params({"inventory": {"capacity": "shelf"}}), "inventory.capacity"
    )
    assert message.endswith("got 'shelf'")
    given = raw_params(
        {
            "data": {"source": "csv", "sales": "s.csv", "weather": "w.csv", "stores": "st.csv"},
            "inventory": {"capacity": "stores"},
        }
    )
    assert parse_params(given).inventory.capacity == "stores"


@pytest.mark.parametrize(
    ("data", "key", "rule"),
    [
        ({"stock": "stock.csv"}, "data.stock", "is for data.source csv: your own stock"),
        (
            {"source": "csv", "sales": "s.csv", "weather": "w.csv", "stock": "s3://b/stock.csv"},
            "data.stock",
            "must be a local path (a file here)",
        ),
        (
            {"source": "csv", "sales": "s.csv", "weather": "w.csv", "arrivals": "a.csv"},
            "data.arrivals",
            "needs data.stock",
        ),
    ],
)
def test_the_stock_files_are_a_retailers_own_local_files(data: dict, key: str, rule: str) -> None:
    message = assert_names_key(raw_params({"data": data}), key)
    assert message == f"params.yaml: {key}: {rule}"
