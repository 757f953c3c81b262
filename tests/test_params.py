"""params.yaml: the repository's file loads, and every bad key is named in the error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from conftest import REPO, make_params, raw_params

from umbrella.errors import ParamsError
from umbrella.params import Drift, Params, load_params, parse_params


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
    "key", ["base", "base.seed", "simulate.stores", "train.gbm.max_iter", "business.holding"]
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
