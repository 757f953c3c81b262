"""Model files: a faithful round trip, the same bytes for the same model, and no foreign
types loaded."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from umbrella.errors import DataError
from umbrella.model_io import dump_model, load_model
from umbrella.models import GradientBoosting, LinearModel, SeasonalNaive


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """OpenMP threads of HistGradientBoosting slow tiny fits down badly on a busy machine."""
    with threadpool_limits(limits=1):
        yield


def rows(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    date = pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    level = rng.choice([5.0, 15.0, 30.0], n)
    rain = np.where(rng.random(n) < 0.5, 0.0, rng.exponential(6.0, n))
    numeric = {
        name: rng.poisson(level).astype(np.float32)
        for name in ("sales_lag_1", "sales_lag_7", "sales_mean_7", "sales_mean_28")
    }
    return pd.DataFrame(
        {
            "store": pd.array(np.where(level > 10, "B", "A"), dtype="string"),
            "origin": date - pd.Timedelta(days=1),
            "horizon": rng.integers(1, 4, n).astype(np.int16),
            "date": date,
            **numeric,
            "level": level.astype(np.float32),
            "same_weekday_last": rng.poisson(level).astype(np.float32),
            "weekday": date.day_of_week.to_numpy().astype(np.float32),
            "month": date.month.to_numpy().astype(np.float32),
            "fc_rain_mm": rain.astype(np.float32),
            "fc_rain_prob": (rain > 0).astype(np.float32),
            "units": rng.poisson(level * np.sqrt(1 + rain)).astype(np.float32),
            "censored": False,
        }
    )


def fit(name: str) -> BaseEstimator:
    data = rows()
    model = {
        "seasonal_naive": SeasonalNaive(quantile=0.63),
        "linear": LinearModel(quantile=0.63),
        "gbm": GradientBoosting(quantile=0.63, max_iter=20, min_samples_leaf=20, random_state=3),
    }[name]
    return model.fit(data, data["units"].to_numpy())


NAMES = ["seasonal_naive", "linear", "gbm"]


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_predicts_the_same(name, tmp_path):
    model = fit(name)
    path = tmp_path / "model.skops"
    dump_model(model, path)
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    new = rows(200, seed=9)
    np.testing.assert_array_equal(loaded.predict(new), model.predict(new))
    np.testing.assert_array_equal(loaded.predict_quantile(new), model.predict_quantile(new))


@pytest.mark.parametrize("name", NAMES)
def test_the_same_model_gives_the_same_bytes(name, tmp_path):
    model = fit(name)
    dump_model(model, tmp_path / "a.skops")
    dump_model(model, tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    # A refit with the same seed is another object (other memory addresses): same bytes,
    # so dvc.lock does not change when `dvc repro` reruns training.
    dump_model(fit(name), tmp_path / "c.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "c.skops").read_bytes()


def test_a_different_model_gives_different_bytes(tmp_path):
    dump_model(SeasonalNaive(quantile=0.5).fit(rows(), rows()["units"]), tmp_path / "a.skops")
    dump_model(SeasonalNaive(quantile=0.6).fit(rows(), rows()["units"]), tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() != (tmp_path / "b.skops").read_bytes()


class Intruder:
    """A type the loader has never heard of."""

    def __init__(self) -> None:
        self.payload = "anything"


def test_an_untrusted_type_is_refused(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps({"model": Intruder()}))
    with pytest.raises(DataError, match=r"untrusted types: .*Intruder"):
        load_model(path)


def rewrite_schema(data: bytes, change) -> bytes:
    """The same skops archive with schema.json passed through `change`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            content = src.read(name)
            if name == "schema.json":
                content = json.dumps(change(json.loads(content))).encode()
            dst.writestr(name, content)
    return out.getvalue()


def test_a_tampered_model_file_is_refused(tmp_path):
    """A real model file whose top object was swapped for a callable that runs commands."""
    path = tmp_path / "model.skops"
    dump_model(fit("seasonal_naive"), path)

    def swap(schema: dict) -> dict:
        assert schema["__module__"] == "umbrella.models"
        return schema | {"__module__": "os", "__class__": "system"}

    path.write_bytes(rewrite_schema(path.read_bytes(), swap))
    with pytest.raises(DataError, match=r"refusing to load untrusted types: os\.system"):
        load_model(path)


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_model(tmp_path / "nothing.skops")


def test_a_file_that_is_not_a_zip_is_a_data_error(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle, say
    with pytest.raises(DataError, match="not a skops model file"):
        load_model(path)


def test_a_zip_without_a_schema_is_a_data_error(tmp_path):
    path = tmp_path / "model.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(DataError, match="not a skops model file"):
        load_model(path)


def test_dump_writes_no_stray_files(tmp_path: Path):
    dump_model(fit("seasonal_naive"), tmp_path / "model.skops")
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_dump_keeps_every_array_file(tmp_path):
    import scipy.sparse as sparse

    state = {"matrix": sparse.csr_matrix(np.eye(3))}
    dump_model(state, tmp_path / "model.skops")
    data = (tmp_path / "model.skops").read_bytes()
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded["matrix"].toarray(), np.eye(3))
