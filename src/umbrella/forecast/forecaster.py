"""What every forecaster of `models.py` offers: the type the stages hold a model by.

A structural type (`typing.Protocol`): `SeasonalNaive`, `LinearModel` and
`GradientBoosting` match it without inheriting from it, and so does a model loaded with
`model_io.load_model`.
"""

from __future__ import annotations

from typing import Protocol, Self

import numpy as np
import pandas as pd


class Forecaster(Protocol):
    """Fits on feature rows and their targets; predicts the mean demand and its
    `quantile` (the tau* quantile, from which the order is made), or with `tau` the quantile
    at each row's own critical ratio."""

    quantile: float

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Self: ...

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...

    def predict_quantile(self, X: pd.DataFrame, tau: np.ndarray | None = None) -> np.ndarray: ...
