"""train: fit the model of `train.model` on the rows before the test period, and the same on
the rows before the validation period (split.validation_start); save both
(forecast/fitting.py)."""

from __future__ import annotations

import argparse
import logging

from dvclive import Live

from umbrella.core.engine import runner
from umbrella.core.params import load_params
from umbrella.core.paths import MODELS, PLOTS, VALIDATION_MODELS
from umbrella.core.split import no_validation, test_start, validation_start
from umbrella.data.contract.interim import sales_span
from umbrella.forecast.fitting import fit, log_training, save

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> None:
    params = load_params()
    first, last = sales_span()
    start = test_start(first, last, params.split)
    begin = validation_start(first, start, params.split, params.validate.min_history_days)
    with runner(params.engine) as run:
        fitted = fit(params, start, run)
        save(params, fitted, start, MODELS, "test")
        # The training curves, with dvclive's summary: plots, not DVC metrics (plots/train/).
        model, rows, targets, _ = fitted
        with Live(str(PLOTS / "train"), save_dvc_exp=False, dvcyaml=None, report=None) as live:
            live.log_params({"train": params.train.model_dump(), "quantile": model.quantile})
            log_training(live, model, rows, targets)
        del fitted, model, rows, targets  # one fit's rows in memory at a time
        # The validation period's model: the same fit on the days before it, which every
        # choice is made on (docs/experiments.md "Choose on validation").
        if begin is None:
            why = no_validation(first, start, params.split, params.validate.min_history_days)
            log.warning("no validation period: %s", why)
            VALIDATION_MODELS.mkdir(parents=True, exist_ok=True)  # DVC's output, empty
            # A run outside DVC (which empties its outputs first) leaves no earlier model.
            for stale in VALIDATION_MODELS.glob("model.*"):
                stale.unlink()
        else:
            save(params, fit(params, begin, run), begin, VALIDATION_MODELS, "validation")
