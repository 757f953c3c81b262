"""Paths of the repository, built from its root. Importing this module finds the root and
does nothing else.

The root is the checkout you stand in, as git and dvc find theirs: the nearest directory at
or above the current one that holds dvc.yaml (DVC runs every stage there). $UMBRELLA_ROOT
wins (the tests and the Dask workers point it at another folder). Never where the package is
installed: one environment serves many clones, and each must read its own files.
"""

import os
from pathlib import Path

from umbrella.core.errors import DataError

MARKER = "dvc.yaml"


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` that holds dvc.yaml; None outside a checkout."""
    return next((folder for folder in (start, *start.parents) if (folder / MARKER).is_file()), None)


def _root() -> tuple[Path, bool]:
    """The root, and whether it was found (a checkout, or $UMBRELLA_ROOT)."""
    if os.environ.get("UMBRELLA_ROOT"):
        return Path(os.environ["UMBRELLA_ROOT"]), True
    here = Path.cwd()
    found = find_root(here)
    # Outside a checkout the paths point into the current directory, so that importing never
    # fails (a Dask worker imports the stages' modules wherever it runs); `require_root`
    # stops the command line there.
    return (found, True) if found else (here, False)


ROOT, FOUND = _root()
PARAMS_FILE = ROOT / "params.yaml"

DATA = ROOT / "data"
RAW = DATA / "raw"
INTERIM = DATA / "interim"
PROCESSED = DATA / "processed"
FEATURES = PROCESSED / "features"  # a Parquet dataset partitioned by store group
PREDICTIONS = DATA / "predictions"
MODELS = ROOT / "models"
# the validation period's model, fitted on the days before it (split.validation_start)
VALIDATION_MODELS = MODELS / "validation"
MODEL_FILE = "model.skops"  # the fitted model in each of them, beside model.json (what it is)
METRICS = ROOT / "metrics"
PLOTS = ROOT / "plots"
REPORTS = ROOT / "reports"  # versioned details that are not DVC metrics
TUNE_REPORT = REPORTS / "tune.json"  # `umbrella tune`: what it tried and chose

# File names shared by the csv source, the simulator and validation (docs/data.md).
SALES = "sales"
WEATHER = "weather"
FORECASTS = "weather_forecasts"
TRUTH = "truth"
STORES = "stores"
STOCK = "stock"  # each store's umbrellas on hand at each close
ARRIVALS = "arrivals"  # the orders on their way after the last day

# Written by the `sources` stage: what the configured sources look like now (dvc.yaml).
SOURCES = DATA / "sources"


def shown(path: Path | str) -> str:
    """A path as a user reads it: relative to the repository root when inside it."""
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def require_root() -> Path:
    """The root, or a DataError that says how to get one: the command line's first step."""
    if not FOUND:
        raise DataError(
            f"{ROOT} is not inside an umbrella-forecast checkout: no {MARKER} here or in a "
            "parent folder; cd into a clone (or set UMBRELLA_ROOT to one)"
        )
    return ROOT
