"""The training rows of every partition, or a seeded sample of `train.max_rows` of them
drawn across partitions (sampling.row_uniform): only the sample is ever in memory."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from umbrella.core.engine import Run
from umbrella.core.params import Params
from umbrella.core.partitions import partition_count, read_part
from umbrella.core.sampling import row_uniform
from umbrella.core.split import canonical_order, training_rows
from umbrella.forecast.models import SeasonalNaive


def count_training_rows(part: int, start: pd.Timestamp, censored: str, features: Path) -> int:
    columns = ["date", "units", "censored"]
    return len(training_rows(read_part(features, part, columns), start, censored))


def sample_training_rows(
    part: int, start: pd.Timestamp, censored: str, share: float, seed: int, features: Path
) -> pd.DataFrame:
    """The training rows of one partition whose row_uniform is below `share`."""
    rows = training_rows(read_part(features, part), start, censored)
    if share >= 1.0:
        return rows
    return rows[row_uniform(rows, seed) < share]


def training_sample(
    features: Path,
    start: pd.Timestamp,
    censored: str,
    max_rows: int | None,
    seed: int,
    run: Run,
) -> tuple[pd.DataFrame, int]:
    """The training rows of every partition (targets known, before `start`), or a seeded
    sample of about `max_rows` of them when there are more; in canonical order. Also the
    number of training rows in all."""
    parts = range(partition_count(features))
    reads = {"features": features}
    counts = run(partial(count_training_rows, start=start, censored=censored), parts, reads)
    total = sum(counts)
    share = 1.0 if max_rows is None or total <= max_rows else max_rows / total
    sample = partial(sample_training_rows, start=start, censored=censored, share=share, seed=seed)
    samples = run(sample, parts, reads)
    return canonical_order(pd.concat(samples, ignore_index=True)), total


def fitted_baseline(features: Path, start: pd.Timestamp, params: Params, run: Run) -> SeasonalNaive:
    """Seasonal naive with its residual quantiles at tau*, fitted on the rows (or the
    sample) the model was trained on."""
    rows, _ = training_sample(
        features, start, params.train.censored, params.train.max_rows, params.base.seed, run
    )
    return SeasonalNaive(quantile=params.business.service_level).fit(rows, rows["units"].to_numpy())
