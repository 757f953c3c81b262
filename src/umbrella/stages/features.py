"""features: the multi-horizon feature table of every store and origin."""

from __future__ import annotations

import argparse
import logging

from umbrella.features import build_features
from umbrella.interim import read_interim
from umbrella.io import write_parquet
from umbrella.params import load_params
from umbrella.paths import PROCESSED

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> None:
    params = load_params()
    data = read_interim()
    features = build_features(
        data.sales, data.weather, data.forecasts, params.base.horizon, params.features
    )
    write_parquet(features, PROCESSED / "features.parquet")
    log.info("%d feature rows, %d columns", len(features), features.shape[1])
