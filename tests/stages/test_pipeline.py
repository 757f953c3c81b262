"""End to end: the real `dvc repro` in a temporary git copy of the repository."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import REQUIRED_METRICS, make_params, run, set_params, write_tables

from umbrella.data.simulator.simulate import simulate_retailer
from umbrella.evaluation.scores import HEADLINE, STOCK_FILE, figures_of
from umbrella.ops.stock_orders import ORDER_COLUMNS as STOCK_ORDER_COLUMNS

pytestmark = pytest.mark.slow


def test_dvc_repro_default_source(reproduced: Path) -> None:
    # The DVC metrics file is the headline, exactly; the report has everything.
    headline = json.loads((reproduced / "metrics" / "evaluate.json").read_text())
    assert {g: list(keys) for g, keys in headline.items()} == HEADLINE
    stock = json.loads((reproduced / "metrics" / "stock.json").read_text())
    assert {g: list(keys) for g, keys in stock.items()} == figures_of(STOCK_FILE)
    assert isinstance(headline["model"]["cost"], int)  # whole money: no 2.5e+06 in dvc
    metrics = json.loads((reproduced / "reports" / "evaluate.json").read_text())
    for forecaster in ("model", "baseline", "oracle"):
        assert set(metrics[forecaster]) >= REQUIRED_METRICS, forecaster
    assert set(metrics["skill"]) >= {"wape", "cost"}
    assert set(metrics["by_horizon"]) == {str(h) for h in range(1, 8)}
    forecasters = {"model", "baseline", "model_single_tau", "oracle", "oracle_info"}
    assert set(metrics["rain"]) == set(metrics["dry"]) == forecasters
    assert metrics["test"]["forecasts"] == "issued"
    assert {k: metrics[g][k] for g in headline for k in headline[g]} == pytest.approx(
        {k: v for g in headline.values() for k, v in g.items()}, abs=0.5
    )
    validation = json.loads((reproduced / "reports" / "validation.json").read_text())
    assert validation["ok"] is True
    assert not (reproduced / "metrics" / "validation.json").exists()
    for name in ("forecast", "horizon", "cost", "residuals"):
        assert (reproduced / "plots" / "evaluate" / f"{name}.csv").stat().st_size > 0
        assert (reproduced / "plots" / "evaluate" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    forecast = (reproduced / "plots" / "evaluate" / "forecast.csv").read_text().splitlines()
    assert forecast[0] == "date,store,true_demand,forecast,order"  # simulated: true demand
    assert (reproduced / "plots" / "train" / "plots" / "metrics" / "mean").is_dir()
    # dvc metrics: the headlines only, led by the money.
    shown = run(["dvc", "metrics", "show", "--json"], reproduced).stdout
    files = json.loads(shown)[""]["data"]
    headlines = {"metrics/evaluate.json", "metrics/stock.json", "metrics/monitor.json"}
    assert set(files) == headlines, set(files)
    assert (reproduced / "models" / "model.skops").exists()
    # The simulated stores keep a stockroom (its stock validated with the other tables):
    # one order per store, net of the stock it holds and has on its way.
    assert {"stock", "arrivals"} <= {p.name for p in (reproduced / "data" / "interim").iterdir()}
    orders = pd.read_csv(reproduced / "data" / "predictions" / "orders.csv")
    assert list(orders.columns) == STOCK_ORDER_COLUMNS and len(orders) == 3
    stock = pd.read_parquet(reproduced / "data" / "interim" / "stock")
    last = stock[stock["date"] == stock["date"].max()].set_index("store")["on_hand"]
    assert orders.set_index("store")["on_hand"].to_dict() == last.astype(int).to_dict()
    position = orders["on_hand"] + orders["on_order"] + orders["quantity"]
    assert ((orders["quantity"] == 0) | (position >= orders["order_up_to"])).all()
    monitor = json.loads((reproduced / "reports" / "monitor.json").read_text())
    assert monitor["status"] in {"ok", "insufficient data", "drift", "degraded"}
    assert metrics["gate"]["passed"] is headline["gate"]["passed"]

    # Reproduced means reproducible: nothing left to run, and a forced rerun gives the same bytes.
    # (`sources` runs on every repro by design: it looks at the data sources outside DVC.)
    assert run(["dvc", "status"], reproduced).stdout.split() == ["sources:", "always", "changed"]
    # Where the work runs changes no output (tests/core/test_engine.py): it re-runs nothing.
    params = (reproduced / "params.yaml").read_text()
    elsewhere = {"kind": "dask", "address": "tcp://127.0.0.1:8786", "workers": 4}
    set_params(reproduced, {"engine": elsewhere | {"storage": "s3://bucket/umbrella"}})
    assert run(["dvc", "status"], reproduced).stdout.split() == ["sources:", "always", "changed"]
    (reproduced / "params.yaml").write_text(params)
    lock = (reproduced / "dvc.lock").read_text()
    run(["dvc", "repro", "--force"], reproduced)
    assert (reproduced / "dvc.lock").read_text() == lock
    # model.json lists what the gbm reads, the features it makes itself included.
    gbm = json.loads((reproduced / "models" / "model.json").read_text())
    assert {"sales_usual", "rain_wet_posterior", "rain_log_posterior"} <= set(gbm["features"])
    assert "target_rain_mm" not in gbm["features"]
    # Train params re-run train and what uses the model, nothing upstream.
    set_params(reproduced, {"train": {"model": "linear", "max_rows": 1000}})
    out = run(["dvc", "repro"], reproduced).stdout
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran - {"sources"} == {"train", "evaluate", "predict", "monitor"}  # sources: always
    model = json.loads((reproduced / "models" / "model.json").read_text())
    # a seeded sample of about max_rows rows (each row kept with probability 1000 / rows)
    assert 900 <= model["fitted_rows"] <= 1100 and 2 * model["fitted_rows"] < model["rows"]


def test_dvc_repro_on_a_users_own_csv_files(repo_copy: Path, tmp_path: Path) -> None:
    """Another retailer: one store, one year, one weather row per date, no forecasts file."""
    params = make_params({"simulate": {"stores": 1, "start": "2013-01-01", "end": "2013-12-31"}})
    tables = simulate_retailer(params.simulate, params.base.horizon, params.base.seed)
    own = tables["sales"].drop(columns=["in_stock", "price"])
    # its storeroom holds 30 umbrellas (stores.csv, inventory.capacity: stores)
    stores = pd.DataFrame({"store": ["S0001"], "latitude": [47.6], "longitude": [-122.3]})
    shop = {"sales": own, "weather": tables["weather"], "stores": stores.assign(capacity=30)}
    files = write_tables(shop, tmp_path / "shop")
    set_params(
        repo_copy,
        {
            "data": {
                "source": "csv",
                "sales": str(files["sales"]),
                "weather": files["weather"].as_uri(),
                "stores": str(files["stores"]),
            },
            "split": {"test_days": 365},
            "inventory": {"capacity": "stores"},
        },
    )
    run(["dvc", "repro"], repo_copy)

    metrics = json.loads((repo_copy / "metrics" / "evaluate.json").read_text())
    assert "oracle" not in metrics  # no truth file for a user's data
    # no truth file, and no price column: no limits, and one ratio for every day
    assert set(metrics) == set(HEADLINE) - {"oracle", "oracle_info", "model_single_tau"}
    forecast = (repo_copy / "plots" / "evaluate" / "forecast.csv").read_text().splitlines()
    assert forecast[0] == "date,store,sales,forecast,order"  # scored against sales
    test = json.loads((repo_copy / "reports" / "evaluate.json").read_text())["test"]
    assert test["forecasts"].startswith("observed weather")
    assert test["start"] > "2013-08-01"  # test period shrank to a third of the data
    assert metrics["model"]["cost"] > 0
    replayed = json.loads((repo_copy / "reports" / "evaluate.json").read_text())["stock"]
    assert replayed["capacity"] == "stores"
    assert 0 < replayed["model"]["peak_stock"] <= 30 and replayed["baseline"]["peak_stock"] <= 30
    monitor = json.loads((repo_copy / "reports" / "monitor.json").read_text())
    assert "stock" in monitor  # its window replayed in the same storeroom

    # The store's stock (data.stock): predict orders net of it, and re-runs when it changes.
    last = pd.Timestamp(own["date"].max()).strftime("%Y-%m-%d")
    stock = tmp_path / "shop" / "stock.csv"
    stock.write_text(f"store,date,on_hand\nS0001,{last},3\n")
    set_params(repo_copy, {"data": {"stock": str(stock)}})
    ran = run(["dvc", "repro"], repo_copy).stdout
    assert "Running stage 'predict'" in ran and "Running stage 'train'" not in ran, ran
    orders = pd.read_csv(repo_copy / "data" / "predictions" / "orders.csv")
    assert list(orders.columns) == STOCK_ORDER_COLUMNS
    assert (orders["store"].tolist(), orders["on_hand"].tolist()) == (["S0001"], [3])
    assert orders["quantity"].iloc[0] == min(orders["order_up_to"].iloc[0], 30) - 3 > 0
    stock.write_text(f"store,date,on_hand\nS0001,{last},30\n")  # a full storeroom
    ran = run(["dvc", "repro"], repo_copy).stdout
    assert "Running stage 'predict'" in ran and "Running stage 'evaluate'" not in ran, ran
    orders = pd.read_csv(repo_copy / "data" / "predictions" / "orders.csv")
    assert (orders["on_hand"].tolist(), orders["quantity"].tolist()) == ([30], [0])
