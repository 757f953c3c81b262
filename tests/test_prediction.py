"""umbrella predict: orders for the days after the data, and clear errors for bad inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, make_params, umbrella, write_tables

from umbrella.errors import DataError
from umbrella.features import build_features
from umbrella.model_io import dump_model
from umbrella.models import LinearModel
from umbrella.prediction import check_forecasts, predict_orders
from umbrella.stages.validate import finalise

HORIZON = 7


@pytest.fixture(scope="module")
def typed(tiny_tables) -> dict[str, pd.DataFrame]:
    return {name: finalise(table, name) for name, table in tiny_tables.items()}


@pytest.fixture(scope="module")
def model(typed) -> LinearModel:
    cfg = make_params().features
    rows = build_features(
        typed["sales"], typed["weather"], typed["weather_forecasts"], HORIZON, cfg
    )
    rows = rows[rows["units"].notna()]
    return LinearModel(quantile=0.63).fit(rows, rows["units"].to_numpy())


def test_one_order_per_store_and_day_after_the_data(typed, model) -> None:
    orders = predict_orders(
        model,
        typed["sales"],
        typed["weather"],
        typed["weather_forecasts"],
        HORIZON,
        make_params().features,
    )
    last = typed["sales"]["date"].max()
    assert len(orders) == typed["sales"]["store"].nunique() * HORIZON
    assert list(orders.columns) == ["store", "date", "horizon", "forecast", "order"]
    expected = {str((last + pd.Timedelta(days=h)).date()) for h in range(1, HORIZON + 1)}
    assert set(orders["date"]) == expected
    assert (orders["order"] >= 0).all() and orders["order"].dtype.kind == "i"
    assert (orders["forecast"] >= 0).all()
    # the order is the tau* = 0.63 quantile: above the mean forecast on most days
    assert (orders["order"] >= orders["forecast"].round()).mean() > 0.5


def test_forecasts_issued_on_the_last_day_alone_get_a_warning(typed, caplog) -> None:
    forecasts, last = typed["weather_forecasts"], typed["sales"]["date"].max()
    check_forecasts(typed["sales"], forecasts, last, HORIZON, "f.csv")
    assert "no forecasts issued" not in caplog.text
    check_forecasts(typed["sales"], forecasts[forecasts["issued"] == last], last, HORIZON, "f.csv")
    assert "f.csv: no forecasts issued in the 6 days before" in caplog.text


def test_forecasts_for_an_unknown_store_are_refused(typed) -> None:
    forecasts = typed["weather_forecasts"].assign(store="S9999")
    with pytest.raises(DataError, match="column store: stores without sales history: S9999"):
        check_forecasts(typed["sales"], forecasts, typed["sales"]["date"].max(), HORIZON, "f.csv")


def test_forecasts_missing_a_store_or_a_day_are_refused(typed) -> None:
    sales = typed["sales"]
    origin = sales["date"].max()
    per_store = typed["weather_forecasts"].merge(
        pd.DataFrame({"store": sales["store"].unique()}), how="cross"
    )
    without_store = per_store[per_store["store"] != "S0002"]
    with pytest.raises(DataError, match=r"f\.csv, column date: .*S0002"):
        check_forecasts(sales, without_store, origin, HORIZON, "f.csv")
    last_day = origin + pd.Timedelta(days=HORIZON)
    short = typed["weather_forecasts"][typed["weather_forecasts"]["date"] != last_day]
    with pytest.raises(DataError, match=str(last_day.date())):
        check_forecasts(sales, short, origin, HORIZON, "f.csv")


def test_forecasts_not_issued_on_the_last_sales_day_are_refused(typed) -> None:
    origin = typed["sales"]["date"].max()
    old = typed["weather_forecasts"][typed["weather_forecasts"]["issued"] < origin]
    with pytest.raises(DataError, match="column issued: no forecasts issued on"):
        check_forecasts(typed["sales"], old, origin, HORIZON, "f.csv")


def test_a_store_whose_sales_stop_early_is_refused(typed, model) -> None:
    sales = typed["sales"]
    early = sales[
        ~(
            (sales["store"] == "S0003")
            & (sales["date"] > sales["date"].max() - pd.Timedelta(days=3))
        )
    ]
    with pytest.raises(DataError, match="S0003"):
        predict_orders(
            model,
            early,
            typed["weather"],
            typed["weather_forecasts"],
            HORIZON,
            make_params().features,
        )


@pytest.fixture
def project(tmp_path: Path, tiny_tables, model) -> Path:
    """A root with params.yaml, a model file and the latest files of a retailer."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    dump_model(model, tmp_path / "models" / "model.skops")
    write_tables(tiny_tables, tmp_path / "latest")
    return tmp_path


def _predict(root: Path, forecasts: str = "weather_forecasts.csv"):
    latest = root / "latest"
    return umbrella(
        [
            "predict",
            "--sales",
            str(latest / "sales.csv"),
            "--weather",
            str(latest / "weather.csv"),
            "--forecasts",
            str(latest / forecasts),
            "--out",
            str(root / "orders.csv"),
        ],
        root,
    )


def test_cli_writes_orders_from_a_retailers_files(project: Path) -> None:
    result = _predict(project)
    assert result.returncode == 0, result.stderr
    orders = pd.read_csv(project / "orders.csv")
    assert len(orders) == 3 * HORIZON


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda f: f.drop(columns="rain_mm"), "column rain_mm: required column is missing"),
        (lambda f: f.assign(store="S0042"), "stores without sales history: S0042"),
        (lambda f: f[f["issued"] < f["issued"].max()], "no forecasts issued on"),
    ],
)
def test_cli_rejects_a_forecast_file_that_does_not_fit(
    project, tiny_tables, breakage, message
) -> None:
    bad = breakage(tiny_tables["weather_forecasts"].copy())
    bad.to_csv(project / "latest" / "bad.csv", index=False, date_format="%Y-%m-%d")
    result = _predict(project, "bad.csv")
    assert result.returncode == 2
    assert message in result.stderr
    assert "bad.csv" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "orders.csv").exists()
