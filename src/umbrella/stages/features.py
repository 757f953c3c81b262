"""features: the multi-horizon feature table of every store and origin, one partition of
stores at a time (on the engine of `engine`), into data/processed/features/."""

from __future__ import annotations

import argparse
import logging
from functools import partial
from pathlib import Path

from umbrella.core.engine import runner
from umbrella.core.files import replace_folder, write_parquet
from umbrella.core.params import Features, load_params
from umbrella.core.partitions import part_name, partition_count
from umbrella.core.paths import FEATURES, INTERIM, PROCESSED, SALES
from umbrella.data.contract.interim import read_interim
from umbrella.forecast.features import build_features

log = logging.getLogger(__name__)


def build_part(part: int, horizon: int, cfg: Features, interim: Path, out: Path) -> int:
    """Build and write the features of one partition; its number of rows."""
    data = read_interim(interim, part=part)
    features = build_features(
        data.sales, data.weather, data.forecasts, horizon, cfg, stores_table=data.stores
    )
    write_parquet(features, out / part_name(part))
    return len(features)


def main(args: argparse.Namespace) -> None:
    params = load_params()
    parts = range(partition_count(INTERIM / SALES))

    def fill(folder: Path) -> None:
        task = partial(build_part, horizon=params.base.horizon, cfg=params.features)
        out = folder / FEATURES.relative_to(PROCESSED)
        with runner(params.engine) as run:
            rows = run(task, parts, reads={"interim": INTERIM}, writes={"out": out})
        log.info("%d feature rows in %d partitions", sum(rows), len(rows))

    replace_folder(PROCESSED, fill)
