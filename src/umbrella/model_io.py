"""Model files: skops, never pickle, so loading a model file cannot run foreign code.

skops refuses any type that is not explicitly trusted; the list below is every type our
models need beyond skops' own defaults. The zip archive is rewritten with fixed
timestamps so that the same model gives the same bytes (and dvc.lock stays unchanged).
"""

from __future__ import annotations

import io
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


def _reproducible(archive: bytes) -> bytes:
    """The same zip archive with every entry's timestamp fixed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
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
