"""Paths of the repository, built from its root. Importing this module does nothing else."""

import os
from pathlib import Path

# UMBRELLA_ROOT points the stages at another checkout (the tests use it for temporary copies).
ROOT = Path(os.environ.get("UMBRELLA_ROOT") or Path(__file__).resolve().parents[2])
PARAMS_FILE = ROOT / "params.yaml"

DATA = ROOT / "data"
RAW = DATA / "raw"
INTERIM = DATA / "interim"
PROCESSED = DATA / "processed"
FEATURES = PROCESSED / "features"  # a Parquet dataset partitioned by store group
PREDICTIONS = DATA / "predictions"
MODELS = ROOT / "models"
METRICS = ROOT / "metrics"
PLOTS = ROOT / "plots"
REPORTS = ROOT / "reports"  # versioned details that are not DVC metrics

# File names shared by the csv source, the simulator and validation (docs/data.md).
SALES = "sales"
WEATHER = "weather"
FORECASTS = "weather_forecasts"
TRUTH = "truth"
STORES = "stores"

# Written by the `sources` stage: what the configured sources look like now (dvc.yaml).
SOURCES = DATA / "sources"


def shown(path: Path | str) -> str:
    """A path as a user reads it: relative to the repository root when inside it."""
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
