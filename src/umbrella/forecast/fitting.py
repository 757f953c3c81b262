"""The model fitted as the train stage fits it: on the rows before a day (or their seeded
sample), sold-out days imputed when asked, saved with what it is, and its training curves."""

from __future__ import annotations

import logging
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from dvclive import Live

from umbrella.core.engine import Run
from umbrella.core.files import write_json
from umbrella.core.params import Params
from umbrella.core.paths import FEATURES, MODEL_FILE
from umbrella.forecast.censoring import imputed_targets
from umbrella.forecast.forecaster import Forecaster
from umbrella.forecast.model_io import dump_model
from umbrella.forecast.models import GradientBoosting, feature_columns, make_model, store_scale
from umbrella.forecast.training_sample import training_sample
from umbrella.money.metrics import pinball_loss

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


def fit(
    params: Params, start: pd.Timestamp, run: Run
) -> tuple[Forecaster, pd.DataFrame, np.ndarray, int]:
    """The model of `train.model` fitted on the rows before `start`, with those rows (or
    their sample), its targets and the number of training rows in all."""
    # The training rows of every partition, or a seeded sample of train.max_rows of them:
    # only the sample is ever in memory. In canonical order: the fit must not depend on the
    # stores' names or the rows' order.
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
    return model, rows, targets, total


def save(
    params: Params,
    fitted: tuple[Forecaster, pd.DataFrame, np.ndarray, int],
    start: pd.Timestamp,
    folder: Path,
    period: str,
) -> None:
    """The model (model.skops) and what it is (model.json) in `folder`; `period` (test or
    validation) starts on `start`, the day after its last training target."""
    model, rows, targets, total = fitted
    sales = rows["units"].to_numpy(dtype=float)
    # Kept with a probe of the training rows, on which its forecasts must be finite.
    dump_model(model, folder / MODEL_FILE, rows)
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
                f"{period}_start": str(start.date()),
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
        folder / "model.json",
    )
    log.info(
        "trained %s on %d of %d rows before %s", params.train.model, len(rows), total, start.date()
    )
