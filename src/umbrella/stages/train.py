"""train: fit the model of `train.model` on the rows before the test period; save it."""

from __future__ import annotations

import dataclasses
import logging
from importlib import metadata

import pandas as pd
from dvclive import Live

from umbrella.interim import sales_span
from umbrella.io import write_json
from umbrella.metrics import pinball_loss
from umbrella.model_io import dump_model
from umbrella.models import GradientBoosting, feature_columns, make_model, store_scale
from umbrella.params import Params, load_params
from umbrella.paths import METRICS, MODELS, PROCESSED
from umbrella.split import test_start, training_rows

log = logging.getLogger(__name__)
PACKAGES = ["umbrella", "scikit-learn", "numpy", "pandas", "skops"]


def log_training(live: Live, model: object, rows: pd.DataFrame) -> None:
    """Training curves for `dvc plots diff`: the loss per boosting iteration, or for a model
    without iterations its one in-sample quantile loss; both on the store's scale."""
    live.summary["train_rows"] = len(rows)
    if not isinstance(model, GradientBoosting):
        scale = store_scale(rows)
        loss = pinball_loss(
            rows["units"] / scale, model.predict_quantile(rows) / scale, model.quantile
        )
        live.log_metric("quantile/train_loss", loss)
        return
    curves = {"mean": model.mean_model_, "quantile": model.quantile_model_}
    for name, booster in curves.items():
        live.summary[f"{name}_iterations"] = int(booster.n_iter_)
    for step in range(max(len(b.train_score_) for b in curves.values())):
        live.step = step
        for name, booster in curves.items():
            if step < len(booster.train_score_):
                # scikit-learn stores scores (higher is better): the loss is minus the score.
                live.log_metric(f"{name}/train_loss", -booster.train_score_[step])
                live.log_metric(f"{name}/validation_loss", -booster.validation_score_[step])


def main(params: Params | None = None) -> None:
    params = params or load_params()
    features = pd.read_parquet(PROCESSED / "features.parquet")
    start = test_start(*sales_span(), params.split)
    rows = training_rows(features, start, params.train.censored)
    model = make_model(params.train, params.business.service_level, params.base.seed)
    model.fit(rows, rows["units"].to_numpy())
    dump_model(model, MODELS / "model.skops")
    write_json(
        {
            "model": params.train.model,
            "params": dataclasses.asdict(params.train),
            "service_level": params.business.service_level,
            "seed": params.base.seed,
            "horizon": params.base.horizon,
            "training_window": {
                "first_target": str(rows["date"].min().date()),
                "last_target": str(rows["date"].max().date()),
                "test_start": str(start.date()),
            },
            "rows": len(rows),
            "features": feature_columns(rows),
            "packages": {name: metadata.version(name) for name in PACKAGES},
        },
        MODELS / "model.json",
    )
    with Live(str(METRICS / "train"), save_dvc_exp=False, dvcyaml=None, report=None) as live:
        live.log_params({"train": dataclasses.asdict(params.train), "quantile": model.quantile})
        log_training(live, model, rows)
    log.info("trained %s on %d rows before %s", params.train.model, len(rows), start.date())
