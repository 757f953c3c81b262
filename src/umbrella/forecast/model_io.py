"""Model files: skops, never pickle, so loading a model file cannot run foreign code.

skops refuses any type that is not explicitly trusted; the list below is every type our
models need beyond skops' own defaults. The zip archive is rewritten with fixed
timestamps and object ids numbered in order, so that the same model gives the same bytes
(and dvc.lock stays unchanged).

A model file keeps a probe: PROBE_ROWS of its training rows (the columns a model reads).
Loading refuses a file that holds no model (a skops file of a plain dict) and a model
whose forecasts on its own probe are not finite numbers (a NaN tree leaf), so that no
stage turns a damaged file into absurd orders.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio

from umbrella.core.errors import DataError
from umbrella.core.files import atomic_path
from umbrella.forecast.distribution import require_finite
from umbrella.forecast.forecaster import Forecaster
from umbrella.forecast.models import feature_columns
from umbrella.money.newsvendor import SERVICE_LEVEL_RANGE

MODEL_TYPES = frozenset(
    {
        "umbrella.forecast.models.SeasonalNaive",
        "umbrella.forecast.models.LinearModel",
        "umbrella.forecast.models.GradientBoosting",
    }
)
TRUSTED = MODEL_TYPES | {
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "numpy.dtype",
}
_EPOCH = (1980, 1, 1, 0, 0, 0)
PROBE = "probe_"  # the model's attribute that keeps its probe rows
PROBE_ROWS = 256
# What a damaged model can raise while it forecasts (a mangled array, a missing attribute).
DAMAGED = (ArithmeticError, AttributeError, IndexError, KeyError, TypeError, ValueError)


def _canonical_ids(node: Any, ids: dict[int, int]) -> Any:
    """skops names objects by their memory address; number them by first appearance."""
    if isinstance(node, list):
        return [_canonical_ids(v, ids) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "__id__":
            value = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str):
            stem, suffix = value.split(".", 1)
            value = f"{ids.setdefault(int(stem), len(ids) + 1)}.{suffix}"
        else:
            value = _canonical_ids(value, ids)
        out[key] = value
    return out


def _reproducible(archive: bytes) -> bytes:
    """The same skops archive with canonical object ids and fixed timestamps."""
    ids: dict[int, int] = {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(out, "w") as dst:
        schema = _canonical_ids(json.loads(src.read("schema.json")), ids)
        entries = {"schema.json": json.dumps(schema, indent=2).encode()}
        for name in src.namelist():
            if name != "schema.json":  # arrays and other objects, named by their id
                stem, suffix = name.split(".", 1)
                entries[f"{ids[int(stem)]}.{suffix}"] = src.read(name)
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, entries[name])
    return out.getvalue()


def probe_rows(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Up to PROBE_ROWS of `rows`, evenly spread over them (the same rows for the same
    table: the model file stays reproducible), with the columns a model may read."""
    picked = np.unique(np.linspace(0, len(rows) - 1, min(PROBE_ROWS, len(rows))).astype(int))
    probe = rows.iloc[picked]
    return {column: probe[column].to_numpy() for column in feature_columns(probe)}


def check_probe(model: Forecaster, label: str) -> None:
    """The model's mean and quantile forecasts on its probe rows, at tau* and across every
    ratio an order may have, must be finite numbers (DataError naming `label`)."""
    probe = pd.DataFrame(getattr(model, PROBE))
    tau = np.linspace(*SERVICE_LEVEL_RANGE, len(probe))
    # A damaged model overflows or divides by zero: said once, below, not as numpy warnings.
    try:
        with np.errstate(all="ignore"):
            forecasts = probe.assign(
                forecast=model.predict(probe),
                quantile=model.predict_quantile(probe),
                at_ratio=model.predict_quantile(probe, tau),
            )
    except DAMAGED as exc:
        raise DataError(f"{label}: the model fails on its probe rows ({exc})") from None
    require_finite(forecasts, ["forecast", "quantile", "at_ratio"], f"{label}, probe rows")


def dump_model(model: Forecaster, path: Path, rows: pd.DataFrame) -> None:
    """Save a fitted model with its probe (`probe_rows` of its training `rows`); a model
    whose forecasts on it are not finite is refused (`check_probe`), not saved."""
    setattr(model, PROBE, probe_rows(rows))
    check_probe(model, f"{path} (not written)")
    data = _reproducible(sio.dumps(model))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_model(path: Path) -> Forecaster:
    """Load a model file, refusing any type outside TRUSTED, an object that is not one of
    our models (MODEL_TYPES) and a model whose forecasts on its probe are not finite.

    A process loads the same bytes once (the stages load the model for each partition of
    stores): the model is shared, and nothing changes a loaded model."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: model file not found (run `dvc repro train`)") from None
    return _checked_model(data, str(path))


@functools.lru_cache(maxsize=4)
def _checked_model(data: bytes, path: str) -> Forecaster:
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a skops model file ({exc})") from None
    refused = sorted(untrusted - TRUSTED)
    if refused:
        raise DataError(f"{path}: refusing to load untrusted types: {', '.join(refused)}")
    model = sio.loads(data, trusted=sorted(untrusted))
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if kind not in MODEL_TYPES:
        raise DataError(
            f"{path}: holds a {kind}, not a model (one of {', '.join(sorted(MODEL_TYPES))})"
        )
    if not isinstance(getattr(model, PROBE, None), dict):
        raise DataError(
            f"{path}: the model was saved without its probe rows, which loading checks it "
            "on; retrain it (dvc repro train)"
        )
    check_probe(model, path)
    return model
