"""The csv source: copy a retailer's own files, byte for byte, into data/raw/."""

from __future__ import annotations

import shutil
from pathlib import Path

import fsspec

from umbrella.errors import DataError
from umbrella.io import atomic_path
from umbrella.paths import ROOT


def resolve(location: str) -> str:
    """A URL stays as it is; a relative path is relative to the repository root."""
    if "://" in location:
        return location
    return str((ROOT / location).resolve())


def fetch(location: str, dest: Path, key: str) -> None:
    """Copy a local path or URL (anything fsspec opens) to `dest`."""
    source = resolve(location)
    try:
        with fsspec.open(source, "rb") as src, atomic_path(dest) as tmp, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
    except FileNotFoundError:
        raise DataError(f"{key}: file not found: {location}") from None
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"{key}: cannot read {location}: {exc}") from None
