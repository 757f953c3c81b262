"""Model files: skops, never pickle, so loading a model file cannot run foreign code.

skops refuses any type that is not explicitly trusted; the list below is every type our
models need beyond skops' own defaults. The zip archive is rewritten with fixed
timestamps and object ids numbered in order, so that the same model gives the same bytes
(and dvc.lock stays unchanged).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio

from umbrella.errors import DataError
from umbrella.io import atomic_path

TRUSTED = frozenset(
    {
        "umbrella.models.SeasonalNaive",
        "umbrella.models.LinearModel",
        "umbrella.models.GradientBoosting",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "numpy.dtype",
    }
)
_EPOCH = (1980, 1, 1, 0, 0, 0)


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


def dump_model(model: Any, path: Path) -> None:
    data = _reproducible(sio.dumps(model))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_model(path: Path) -> Any:
    """Load a model file, refusing any type outside TRUSTED."""
    try:
        data = Path(path).read_bytes()
        untrusted = set(sio.get_untrusted_types(data=data))
    except FileNotFoundError:
        raise DataError(f"{path}: model file not found (run `dvc repro train`)") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a skops model file ({exc})") from None
    refused = sorted(untrusted - TRUSTED)
    if refused:
        raise DataError(f"{path}: refusing to load untrusted types: {', '.join(refused)}")
    return sio.loads(data, trusted=sorted(untrusted))
