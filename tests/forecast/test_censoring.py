from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from umbrella.forecast import censoring
from umbrella.forecast.censoring import impute_censored, nb_dispersion, truncated_nb_mean


def nb_draws(mean: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
    return rng.negative_binomial(size, size / (size + mean))


@pytest.mark.parametrize(
    ("mean", "size", "at_least"), [(3.0, 2.0, 5), (10.0, 8.0, 4), (0.5, 1.0, 3)]
)
def test_truncated_mean_matches_the_sum_over_the_tail(mean, size, at_least) -> None:
    d = np.arange(at_least, 2000)
    pmf = stats.nbinom.pmf(d, size, size / (size + mean))
    expected = np.sum(d * pmf) / np.sum(pmf)
    got = truncated_nb_mean(np.array([mean]), size, np.array([at_least]))
    assert got[0] == pytest.approx(expected, rel=1e-9)


def test_truncated_mean_is_the_mean_from_zero_and_at_least_the_bound_in_a_far_tail() -> None:
    got = truncated_nb_mean(np.array([4.0, 1.0]), 3.0, np.array([0, 10_000]))
    assert got[0] == pytest.approx(4.0)
    assert got[1] >= 10_000


@pytest.mark.slow
def test_dispersion_is_recovered_from_draws() -> None:
    rng = np.random.default_rng(0)
    mean = rng.uniform(2, 20, 200_000)
    demand = nb_draws(mean, 5.0, rng)
    nothing_censored = np.zeros(len(mean), dtype=bool)
    assert nb_dispersion(demand, mean, nothing_censored) == pytest.approx(5.0, rel=0.05)
    # Sold out at 8: the censored likelihood still finds it; leaving the sold-out rows out
    # (a sample cut at the stock) would not.
    censored = demand >= 8
    sales = np.minimum(demand, 8)
    assert nb_dispersion(sales, mean, censored) == pytest.approx(5.0, rel=0.05)
    kept = ~censored
    assert abs(nb_dispersion(sales[kept], mean[kept], censored[kept]) - 5.0) > 1.0
    poisson = rng.poisson(mean)
    assert nb_dispersion(poisson, mean, nothing_censored) > 50  # (almost) no overdispersion


@pytest.mark.parametrize("dispersion_rows", [200_000, 5_000])  # all rows, or every 10th
def test_imputation_recovers_the_demand_of_sold_out_days(monkeypatch, dispersion_rows) -> None:
    monkeypatch.setattr(censoring, "DISPERSION_ROWS", dispersion_rows)
    rng = np.random.default_rng(1)
    mean = rng.uniform(2, 12, 50_000)
    demand = nb_draws(mean, 6.0, rng)
    stock = 8
    sales = np.minimum(demand, stock)
    censored = demand >= stock  # sold out: sales = stock <= demand
    calls = []

    def fit_mean(targets: np.ndarray) -> np.ndarray:
        calls.append(targets.copy())
        return mean  # a perfect mean model

    imputed = impute_censored(sales, censored, fit_mean, rounds=2)
    assert len(calls) == 2 and np.array_equal(calls[0], sales)
    assert (calls[1][censored] > sales[censored]).all()  # round 2 refits on imputed targets
    np.testing.assert_array_equal(imputed[~censored], sales[~censored])
    assert (imputed[censored] >= stock).all()
    # The lost demand comes back, on average, within a few percent.
    assert imputed[censored].sum() == pytest.approx(demand[censored].sum(), rel=0.03)
    assert sales[censored].sum() < 0.85 * demand[censored].sum()


def test_without_sold_out_days_nothing_is_fitted() -> None:
    sales = np.array([1.0, 2.0, 3.0])

    def fit_mean(targets: np.ndarray) -> np.ndarray:
        raise AssertionError("no censored rows: no mean model needed")

    np.testing.assert_array_equal(impute_censored(sales, np.zeros(3, bool), fit_mean), sales)


@pytest.mark.slow
def test_training_targets_get_one_imputed_demand_per_sold_out_day(tiny_tables) -> None:
    from conftest import TINY, make_params

    from umbrella.data.contract.rules import finalise
    from umbrella.forecast.censoring import imputed_targets
    from umbrella.forecast.features import build_features
    from umbrella.forecast.models import GradientBoosting

    params = make_params(TINY)
    tables = {n: finalise(tiny_tables[n], n) for n in ("sales", "weather", "weather_forecasts")}
    rows = build_features(*tables.values(), params.base.horizon, params.features)
    rows = rows[rows["units"].notna()]
    assert rows["censored"].sum() > 10  # the tiny retailer sells out

    booster = GradientBoosting(random_state=0, **params.train.gbm.model_dump())
    targets = imputed_targets(rows, booster)
    sold_out = rows["censored"].to_numpy()
    np.testing.assert_array_equal(targets[~sold_out], rows["units"].to_numpy()[~sold_out])
    assert (targets[sold_out] > rows["units"].to_numpy()[sold_out]).all()
    per_day = rows[["store", "date"]].assign(target=targets).groupby(["store", "date"])["target"]
    assert (per_day.nunique() == 1).all()  # every horizon's row of a day gets the same demand
