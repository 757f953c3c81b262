"""Model files: a faithful round trip, the same bytes for the same model, no foreign
types loaded, and no model loaded whose forecasts are not finite."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from umbrella.core.errors import DataError
from umbrella.forecast.distribution import require_finite
from umbrella.forecast.model_io import PROBE_ROWS, _reproducible, dump_model, load_model
from umbrella.forecast.models import GradientBoosting, LinearModel, SeasonalNaive


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
    dump_model(model, path, rows())
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    new = rows(200, seed=9)
    np.testing.assert_array_equal(loaded.predict(new), model.predict(new))
    np.testing.assert_array_equal(loaded.predict_quantile(new), model.predict_quantile(new))


@pytest.mark.parametrize("name", NAMES)
def test_the_same_model_gives_the_same_bytes(name, tmp_path):
    model = fit(name)
    dump_model(model, tmp_path / "a.skops", rows())
    dump_model(model, tmp_path / "b.skops", rows())
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    # A refit with the same seed is another object (other memory addresses): same bytes,
    # so dvc.lock does not change when `dvc repro` reruns training.
    dump_model(fit(name), tmp_path / "c.skops", rows())
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "c.skops").read_bytes()


def test_a_different_model_gives_different_bytes(tmp_path):
    dump_model(
        SeasonalNaive(quantile=0.5).fit(rows(), rows()["units"]), tmp_path / "a.skops", rows()
    )
    dump_model(
        SeasonalNaive(quantile=0.6).fit(rows(), rows()["units"]), tmp_path / "b.skops", rows()
    )
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
    dump_model(fit("seasonal_naive"), path, rows())

    def swap(schema: dict) -> dict:
        assert schema["__module__"] == "umbrella.forecast.models"
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
    dump_model(fit("seasonal_naive"), tmp_path / "model.skops", rows())
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_dump_keeps_every_array_file():
    import scipy.sparse as sparse

    state = {"matrix": sparse.csr_matrix(np.eye(3))}
    data = _reproducible(sio.dumps(state))
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded["matrix"].toarray(), np.eye(3))


def test_a_skops_file_of_a_plain_dict_is_refused_naming_the_file_and_type(tmp_path):
    """It used to load, then fail in predict, evaluate and monitor with a traceback."""
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps({"quantile": 0.6, "weights": np.ones(3)}))
    with pytest.raises(DataError, match=rf"{path}: holds a builtins\.dict, not a model"):
        load_model(path)


def test_a_model_saved_without_its_probe_is_refused(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(_reproducible(sio.dumps(fit("linear"))))
    with pytest.raises(DataError, match=r"saved without its probe rows.*dvc repro train"):
        load_model(path)


def test_a_model_that_forecasts_nan_is_not_saved(tmp_path):
    model = fit("seasonal_naive")
    model.residual_quantile_ = np.full_like(model.residual_quantile_, np.nan)
    with pytest.raises(DataError, match=r"not written\), probe rows: .* not finite .*quantile"):
        dump_model(model, tmp_path / "model.skops", rows())
    assert not (tmp_path / "model.skops").exists()


def tree_nodes(data: bytes) -> list[str]:
    """The archive's files of tree nodes (TreePredictor.nodes: one per tree)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            name
            for name in archive.namelist()
            if name.endswith(".npy")
            and "value" in (np.load(io.BytesIO(archive.read(name))).dtype.names or ())
        ]


def with_leaves(data: bytes, changes: list[tuple[str, int, float]]) -> bytes:
    """The same skops archive with leaf `i` (modulo the tree's leaves) of tree file `name`
    set to `value`, for each (name, i, value) of `changes`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        arrays = {name: np.load(io.BytesIO(src.read(name))) for name, _, _ in changes}
        for name, i, value in changes:
            leaves = np.flatnonzero(arrays[name]["is_leaf"])
            arrays[name]["value"][leaves[i % len(leaves)]] = value
        for name in src.namelist():
            content = src.read(name)
            if name in arrays:
                buffer = io.BytesIO()
                np.save(buffer, arrays[name], allow_pickle=False)
                content = buffer.getvalue()
            dst.writestr(name, content)
    return out.getvalue()


@pytest.fixture(scope="module")
def gbm_file(tmp_path_factory) -> tuple[bytes, pd.DataFrame]:
    """A gbm's file, fitted on PROBE_ROWS rows: its probe is every row it was trained on,
    so every leaf is reached by a row of the probe; and those rows."""
    data = rows(PROBE_ROWS, seed=4)
    model = GradientBoosting(quantile=0.63, max_iter=20, min_samples_leaf=20, random_state=3)
    model.fit(data, data["units"].to_numpy())
    path = tmp_path_factory.mktemp("gbm") / "model.skops"
    dump_model(model, path, data)
    return path.read_bytes(), data


def test_a_model_whose_leaves_were_made_nan_is_refused_at_load(gbm_file, tmp_path):
    """The audit's case: the leaves of a model of trusted types changed, and every order
    was -9223372036854775808 with exit status 0."""
    data, _ = gbm_file
    changes = [(name, i, np.nan) for name in tree_nodes(data) for i in range(64)]
    path = tmp_path / "model.skops"
    path.write_bytes(with_leaves(data, changes))
    with pytest.raises(DataError, match=rf"{path}, probe rows: forecasts that are not finite"):
        load_model(path)


LEAF = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 710.0, 1e19]),
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
@given(draw=st.data())
def test_changed_leaves_are_refused_at_load_or_forecast_finite(gbm_file, tmp_path, draw):
    """Any numbers in any leaves: loading refuses the file cleanly (a DataError, never a
    traceback), or the model forecasts finite numbers on the rows it was trained on; on
    other rows the stages' shared check refuses what is not finite."""
    data, trained = gbm_file
    trees = tree_nodes(data)
    changes = draw.draw(
        st.lists(
            st.tuples(st.sampled_from(trees), st.integers(0, 63), LEAF), min_size=1, max_size=6
        )
    )
    path = tmp_path / "model.skops"
    path.write_bytes(with_leaves(data, changes))
    try:
        model = load_model(path)
    except DataError as exc:
        assert str(path) in str(exc)
        return
    tau = np.full(len(trained), 0.4)
    for forecast in (model.predict(trained), model.predict_quantile(trained, tau)):
        assert np.isfinite(forecast).all()
    new = rows(300, seed=11)
    made = new.assign(forecast=model.predict(new), quantile=model.predict_quantile(new))
    try:
        require_finite(made, ["forecast", "quantile"], "new rows")
    except DataError as exc:
        assert "not finite" in str(exc)
