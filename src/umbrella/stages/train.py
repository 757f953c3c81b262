"""train: fit the model of `train.model` on the rows before the test period; save it."""

from __future__ import annotations

import argparse
import logging
from importlib import metadata

import numpy as np
import pandas as pd
from dvclive import Live

from umbrella.censoring import imputed_targets
from umbrella.engine import runner
from umbrella.forecaster import Forecaster
from umbrella.interim import sales_span
from umbrella.io import write_json
from umbrella.metrics import pinball_loss
from umbrella.model_io import dump_model
from umbrella.models import GradientBoosting, feature_columns, make_model, store_scale
from umbrella.params import load_params
from umbrella.paths import FEATURES, MODELS, PLOTS
from umbrella.split import test_start
from umbrella.training_sample import training_sample

log = logging.getLogger(__name__)
PACKAGES = ["umbrella", "scikit-learn", "numpy", "pandas", "skops"]


def log_training(live: Live, model: Forecaster, rows: pd.DataFrame, targets: np.ndarray) -> None:
    """Training curves for `dvc plots diff`: the loss per boosting iteration, or for a model
    without iterations its one in-sample quantile loss; both on the store's scale."""
    live.summary["train_rows"] = len(rows)
    if not isinstance(model, GradientBoosting):
        scale = store_scale(rows)
        loss = pinball_loss(targets / scale, model.predict_quantile(rows) / scale, model.quantile)
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


def main(args: argparse.Namespace) -> None:
    params = load_params()
    start = test_start(*sales_span(), params.split)
    # The training rows of every partition, or a seeded sample of train.max_rows of them:
    # only the sample is ever in memory. In canonical order: the fit must not depend on the
    # stores' names or the rows' order.
    with runner(params.engine) as run:
        rows, total = training_sample(
            FEATURES,
            start,
            params.train.censored,
            params.train.max_rows,
            params.base.seed,
            run,
        )
    sales = rows["units"].to_numpy(dtype=float)
    if params.train.censored == "impute":
        # The mean model of the imputation is the gbm's Poisson booster, whatever the model.
        booster = GradientBoosting(random_state=params.base.seed, **params.train.gbm.model_dump())
        targets = imputed_targets(rows, booster)
    else:
        targets = sales
    model = make_model(params.train, params.business.service_level, params.base.seed)
    model.fit(rows, targets)
    # Kept with a probe of the training rows, on which its forecasts must be finite.
    dump_model(model, MODELS / "model.skops", rows)
    write_json(
        {
            "model": params.train.model,
            "params": params.train.model_dump(),
            "service_level": params.business.service_level,
            "seed": params.base.seed,
            "horizon": params.base.horizon,
            "training_window": {
                "first_target": str(rows["date"].min().date()),
                "last_target": str(rows["date"].max().date()),
                "test_start": str(start.date()),
            },
            "rows": total,
            "fitted_rows": len(rows),
            "censored": {
                "handling": params.train.censored,
                "rows": int(rows["censored"].sum()),
                "mean_imputed_uplift": float(np.mean((targets - sales)[rows["censored"]]))
                if rows["censored"].any()
                else 0.0,
            },
            # what the model reads: the rows' features and those it makes (rain_posterior.py)
            "features": list(getattr(model, "features_", feature_columns(rows))),
            "packages": {name: metadata.version(name) for name in PACKAGES},
        },
        MODELS / "model.json",
    )
    # The training curves, with dvclive's summary: plots, not DVC metrics (plots/train/).
    with Live(str(PLOTS / "train"), save_dvc_exp=False, dvcyaml=None, report=None) as live:
        live.log_params({"train": params.train.model_dump(), "quantile": model.quantile})
        log_training(live, model, rows, targets)
    log.info(
        "trained %s on %d of %d rows before %s", params.train.model, len(rows), total, start.date()
    )
