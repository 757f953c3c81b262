"""The three forecasters. Each follows scikit-learn's estimator contract and gives two
forecasts for a feature row: `predict` (the mean, the point forecast) and
`predict_quantile` (the tau* quantile, from which the order is made, or the quantile at
each row's own ratio: `distribution.py`).

All of them work on the store's scale: targets are divided by the store's recent mean
sales (`level`), so one global model serves stores of any size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from umbrella.core.errors import DataError
from umbrella.core.params import Train
from umbrella.forecast.calibration import calibrate, window_days
from umbrella.forecast.distribution import fit_dispersion, quantile_at
from umbrella.forecast.features import (
    CENSORED,
    KEYS,
    LEVEL,
    SALES_FEATURES,
    SEASONAL_NAIVE,
    TARGET,
    TARGET_RAIN,
)
from umbrella.forecast.rain_posterior import fit_rain_posterior, with_rain_posterior

NOT_FEATURES = {*KEYS, TARGET, CENSORED, TARGET_RAIN} - {"horizon"}


def feature_columns(X: pd.DataFrame) -> list[str]:
    """Every column of a feature table that a model may use."""
    return [c for c in X.columns if c not in NOT_FEATURES]


def store_scale(X: pd.DataFrame) -> np.ndarray:
    """The store's recent mean daily sales, at least one umbrella."""
    return np.maximum(np.nan_to_num(X[LEVEL].to_numpy(dtype=float), nan=1.0), 1.0)


def on_level_scale(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """X[columns] with the sales features (in units) divided by the store's level: its
    sales as a share of its recent mean, comparable across stores of any size."""
    out = X[columns].copy()
    scale = store_scale(X)
    for column in columns:
        if column.startswith(SALES_FEATURES):
            out[column] = (out[column].to_numpy(dtype=float) / scale).astype(np.float32)
    return out


def _recent(model: BaseEstimator, X: pd.DataFrame, quantile: np.ndarray) -> np.ndarray:
    """The quantile corrected on the recent past (`calibration.calibrate`) when the model
    has a `calibration_window` and X has the rows of realised days to measure it on."""
    window = getattr(model, "calibration_window", None)
    if not window or not {"origin", "date", TARGET} <= set(X.columns):
        return quantile
    # Models saved before `calibration` existed had conformal as their only rule.
    method = getattr(model, "calibration", "conformal")
    if method == "none":
        return quantile
    return calibrate(X, quantile, store_scale(X), window, model.quantile, method)


def _at_ratio(
    model: BaseEstimator, X: pd.DataFrame, quantile: np.ndarray, tau: np.ndarray | None
) -> np.ndarray:
    """The order quantile at each row's critical ratio `tau` (`distribution.quantile_at`);
    None: at the model's own, tau*."""
    if tau is None:
        return quantile
    if not hasattr(model, "dispersion_"):
        raise DataError(
            "the model was saved before orders at each day's own costs: it knows one ratio "
            f"only (tau* = {model.quantile:.4f}); retrain it (dvc repro train)"
        )
    return quantile_at(quantile, model.predict(X), model.dispersion_, model.quantile, tau)


class _ResidualQuantile(BaseEstimator, RegressorMixin):
    """Quantile = point + scale x (tau quantile of the scaled training residuals, per horizon).

    A split-conformal style correction: calibrated on average over the training rows of
    each horizon, whatever the point forecaster.
    """

    quantile: float

    def _point(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _fit_residuals(self, X: pd.DataFrame, y: np.ndarray) -> None:
        scaled = (np.asarray(y, dtype=float) - self._point(X)) / store_scale(X)
        horizon = X["horizon"].to_numpy()
        self.horizons_ = np.unique(horizon)
        self.residual_quantile_ = np.array(
            [np.quantile(scaled[horizon == h], self.quantile) for h in self.horizons_]
        )
        self.dispersion_ = fit_dispersion(X, y, self.predict(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "residual_quantile_")
        return np.maximum(self._point(X), 0.0)

    def predict_quantile(self, X: pd.DataFrame, tau: np.ndarray | None = None) -> np.ndarray:
        check_is_fitted(self, "residual_quantile_")
        # Horizons beyond the training ones use the longest trained horizon's residuals.
        pos = np.searchsorted(self.horizons_, X["horizon"].to_numpy())
        offset = self.residual_quantile_[np.minimum(pos, len(self.horizons_) - 1)]
        quantile = _recent(self, X, np.maximum(self._point(X) + store_scale(X) * offset, 0.0))
        return _at_ratio(self, X, quantile, tau)


class SeasonalNaive(_ResidualQuantile):
    """Sales of the same weekday in the last week before the origin: the baseline."""

    def __init__(self, quantile: float = 0.5) -> None:
        self.quantile = quantile

    def _point(self, X: pd.DataFrame) -> np.ndarray:
        point = X[SEASONAL_NAIVE].to_numpy(dtype=float)
        return np.where(np.isnan(point), store_scale(X), point)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> SeasonalNaive:
        self._fit_residuals(X, y)
        return self


LINEAR_CATEGORICAL = ["weekday", "month", "horizon"]


class LinearModel(_ResidualQuantile):
    """Poisson regression (log link) on the store's scale, rain and the calendar.

    The log link makes every effect multiplicative, as a rain day multiplies a store's
    usual sales; rain enters as forecast amount (log1p) and probability.
    """

    def __init__(
        self,
        quantile: float = 0.5,
        alpha: float = 1e-4,
        calibration_window: int | None = None,
        calibration: str = "conformal",
    ) -> None:
        self.quantile = quantile
        self.alpha = alpha
        self.calibration_window = calibration_window
        self.calibration = calibration

    def _point(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict(X[self.features_]) * store_scale(X)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LinearModel:
        self.features_ = feature_columns(X)
        numeric = [c for c in self.features_ if c not in LINEAR_CATEGORICAL]
        log_rain = [c for c in numeric if c in ("fc_rain_mm", "rain_origin", "rain_mean_7")]
        columns = ColumnTransformer(
            [
                (
                    "calendar",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    LINEAR_CATEGORICAL,
                ),
                ("rain", FunctionTransformer(np.log1p, feature_names_out="one-to-one"), log_rain),
                ("other", "passthrough", [c for c in numeric if c not in log_rain]),
            ]
        )
        self.pipeline_ = make_pipeline(
            columns,
            SimpleImputer(strategy="median"),
            StandardScaler(),
            PoissonRegressor(alpha=self.alpha, max_iter=1000),
        )
        self.pipeline_.fit(X[self.features_], np.asarray(y, dtype=float) / store_scale(X))
        self._fit_residuals(X, y)
        return self


# scikit-learn's default least rows in a leaf: the floor of `leaf_size` on any history
SMALLEST_LEAF = 20


def leaf_size(min_samples_leaf: int, leaf_share: float, rows: int) -> int:
    """The least rows in a leaf: `min_samples_leaf` on a long history; on a short one at
    most `leaf_share` of the `rows` fitted, so that one store's few months still make trees
    of several leaves; never under SMALLEST_LEAF unless `min_samples_leaf` itself is
    (docs/design.md "Leaves that follow the history")."""
    return max(min(min_samples_leaf, int(leaf_share * rows)), min(SMALLEST_LEAF, min_samples_leaf))


class GradientBoosting(BaseEstimator, RegressorMixin):
    """One global HistGradientBoosting model across stores and horizons, twice:
    Poisson loss for the mean and quantile (pinball) loss for the order.

    Targets and sales features are on the store's level (`on_level_scale`); the rain
    posterior (`rain_posterior.py`) adds what the forecasts say of the target day's rain.
    """

    def __init__(
        self,
        quantile: float = 0.5,
        learning_rate: float = 0.05,
        max_iter: int = 400,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 50,
        leaf_share: float = 1.0,
        l2_regularization: float = 1.0,
        random_state: int | None = None,
        calibration_window: int | None = None,
        calibration: str = "conformal",
    ) -> None:
        self.quantile = quantile
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.leaf_share = leaf_share
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.calibration_window = calibration_window
        self.calibration = calibration

    def _booster(self, rows: int, **loss: object) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=leaf_size(self.min_samples_leaf, self.leaf_share, rows),
            l2_regularization=self.l2_regularization,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            random_state=self.random_state,
            **loss,
        )

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> GradientBoosting:
        self.rain_posterior_ = fit_rain_posterior(X, self.random_state)
        X = with_rain_posterior(X, self.rain_posterior_)
        self.fit_mean(X, y)
        inputs, scale = on_level_scale(X, self.features_), store_scale(X)
        self.quantile_model_ = self._booster(len(X), loss="quantile", quantile=self.quantile).fit(
            inputs, np.asarray(y, dtype=float) / scale
        )
        # X has the posterior already: the mean's inputs as made above, not again by predict
        self.dispersion_ = fit_dispersion(X, y, self.mean_model_.predict(inputs) * scale)
        return self

    def fit_mean(self, X: pd.DataFrame, y: np.ndarray) -> GradientBoosting:
        """Fit the mean model alone on X's features (enough for `predict`)."""
        self.features_ = feature_columns(X)
        ratio = np.asarray(y, dtype=float) / store_scale(X)
        inputs = on_level_scale(X, self.features_)
        self.mean_model_ = self._booster(len(X), loss="poisson").fit(inputs, ratio)
        self.sales_on_level_ = True
        return self

    def _inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        if not getattr(self, "sales_on_level_", False):
            raise DataError(
                "the model was saved before its sales features were put on the store's "
                "level: it would read them wrong; retrain it (dvc repro train)"
            )
        X = with_rain_posterior(X, getattr(self, "rain_posterior_", None))
        return on_level_scale(X, self.features_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "mean_model_")
        return self.mean_model_.predict(self._inputs(X)) * store_scale(X)

    def predict_quantile(self, X: pd.DataFrame, tau: np.ndarray | None = None) -> np.ndarray:
        check_is_fitted(self, "quantile_model_")
        quantile = np.maximum(self.quantile_model_.predict(self._inputs(X)) * store_scale(X), 0.0)
        return _at_ratio(self, X, _recent(self, X, quantile), tau)


def make_model(train: Train, quantile: float, seed: int) -> BaseEstimator:
    """The estimator named by `train.model`, with its params from params.yaml."""
    if train.model == "seasonal_naive":
        return SeasonalNaive(quantile=quantile)
    method = train.calibration
    window = None if method == "none" else window_days(method, train.calibration_window_days)
    if train.model == "linear":
        return LinearModel(
            quantile=quantile,
            alpha=train.linear.alpha,
            calibration_window=window,
            calibration=method,
        )
    return GradientBoosting(
        quantile=quantile,
        random_state=seed,
        calibration_window=window,
        calibration=method,
        **train.gbm.model_dump(),
    )
