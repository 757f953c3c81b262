"""umbrella predict: orders for the days after the data, and clear errors for bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ORDER_COLUMNS, make_params, run, set_params, umbrella
from support.retailer_project import FAILED, HORIZON, predict_files, write_verdict

from umbrella.core.errors import DataError
from umbrella.core.partitions import store_groups, write_partitioned
from umbrella.data.contract.plausibility import highest_sales
from umbrella.ops.prediction import (
    cap_orders,
    check_forecasts,
    final_orders,
    predict_orders,
)


def test_one_order_per_store_and_day_after_the_data(typed, model) -> None:
    orders = predict_orders(
        model,
        typed["sales"],
        typed["weather"],
        typed["weather_forecasts"],
        HORIZON,
        make_params().features,
        make_params().business,
    )
    last = typed["sales"]["date"].max()
    assert len(orders) == typed["sales"]["store"].nunique() * HORIZON
    assert list(orders.columns) == ORDER_COLUMNS
    expected = {str((last + pd.Timedelta(days=h)).date()) for h in range(1, HORIZON + 1)}
    assert set(orders["date"]) == expected
    assert (orders["order"] >= 0).all() and orders["order"].eq(orders["order"].round()).all()
    assert (orders["forecast"] >= 0).all()
    # the order is near the 0.63 quantile (each day's ratio): above the mean on most days
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
            make_params().business,
        )


@pytest.mark.slow
def test_cli_writes_orders_from_a_retailers_files(project: Path) -> None:
    result = predict_files(project)
    assert result.returncode == 0, result.stderr
    orders = pd.read_csv(project / "orders.csv")
    assert len(orders) == 3 * HORIZON


def test_orders_on_own_data_warn_until_the_settings_are_tuned_on_it(project: Path) -> None:
    """data.source csv without reports/tune.json: params.yaml's settings were chosen on the
    simulator, and predict says so; after `umbrella tune` (its report) it does not."""
    assert "never tuned" not in predict_files(project).stderr  # the simulator's own data
    latest = {name: str(project / "latest" / f"{name}.csv") for name in ("sales", "weather")}
    set_params(project, {"data": {"source": "csv", **latest}})
    untuned = predict_files(project)
    assert untuned.returncode == 0 and "never tuned on it (no reports/tune.json)" in untuned.stderr
    (project / "reports" / "tune.json").write_text("{}")
    assert "never tuned" not in predict_files(project).stderr


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda f: f.drop(columns="rain_mm"), "column rain_mm: required column is missing"),
        (lambda f: f.assign(store="S0042"), "stores without sales history: S0042"),
        (lambda f: f[f["issued"] < f["issued"].max()], "no forecasts issued on"),
    ],
)
@pytest.mark.slow
def test_cli_rejects_a_forecast_file_that_does_not_fit(
    project, tiny_tables, breakage, message
) -> None:
    bad = breakage(tiny_tables["weather_forecasts"].copy())
    bad.to_csv(project / "latest" / "bad.csv", index=False, date_format="%Y-%m-%d")
    result = predict_files(project, "bad.csv")
    assert result.returncode == 2
    assert message in result.stderr
    assert "bad.csv" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "orders.csv").exists()


def _orders(typed, model, sales: pd.DataFrame) -> pd.DataFrame:
    params = make_params()
    return predict_orders(
        model,
        sales,
        typed["weather"],
        typed["weather_forecasts"],
        HORIZON,
        params.features,
        params.business,
    )


NEEDED = max(make_params().features.windows)  # the level's window: 56 days


@pytest.mark.parametrize("days", [1, 3, 6, 7, 20, NEEDED - 1])
def test_a_history_shorter_than_the_features_read_is_refused(typed, model, days) -> None:
    """1..6 days used to end in a traceback, 7..55 in means of fewer days than the level's."""
    sales = typed["sales"]
    recent = sales[sales["date"] > sales["date"].max() - pd.Timedelta(days=days)]
    with pytest.raises(
        DataError,
        match=rf"needs sales on each of the {NEEDED} days .*S0001 \(sales on {days} of the",
    ):
        _orders(typed, model, recent)
    last = sales[sales["date"] > sales["date"].max() - pd.Timedelta(days=NEEDED)]
    assert len(_orders(typed, model, last))


def test_a_gap_in_the_last_weeks_is_refused_too(typed, model) -> None:
    sales = typed["sales"]
    gap = sales[
        ~(
            (sales["store"] == "S0002")
            & (sales["date"] == sales["date"].max() - pd.Timedelta(days=5))
        )
    ]
    with pytest.raises(DataError, match=rf"S0002 \(sales on {NEEDED - 1} of the {NEEDED} days"):
        _orders(typed, model, gap)


class Wild:
    """A model whose orders run away: 1000 x anything sensible."""

    features_ = ()  # no column it needs

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return np.full(len(rows), 5000.0)

    def predict_quantile(self, rows: pd.DataFrame, tau: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(rows), 6000.0)


def test_orders_above_the_cap_are_capped_at_it(typed, model) -> None:
    sales = typed["sales"]
    highest = sales.groupby("store")["units"].max()
    wild = cap_orders(_orders(typed, Wild(), sales), highest_sales(sales), 3.0)
    assert (wild["order"] == np.floor(3.0 * wild["store"].map(highest))).all()
    sane = _orders(typed, model, sales)
    assert cap_orders(sane, highest_sales(sales), 3.0).equals(
        sane
    )  # a sensible order is left alone


class Broken(Wild):
    """A model file whose tree leaves were changed: NaN for the orders of one store."""

    def predict_quantile(self, rows: pd.DataFrame, tau: np.ndarray | None = None) -> np.ndarray:
        return np.where(rows["store"] == "S0002", np.nan, 4.0)


def test_a_forecast_that_is_not_finite_is_refused_not_ordered(typed) -> None:
    """A NaN quantile used to become an order of -9223372036854775808, exit 0."""
    last = typed["sales"]["date"].max()
    with pytest.raises(
        DataError,
        match=rf"not finite numbers \(NaN or inf\) in quantile for S0002 "
        rf"{(last + pd.Timedelta(days=1)).date()}, S0002 ",
    ):
        _orders(typed, Broken(), typed["sales"])


class Huge(Wild):
    """Finite but absurd: 1e300 umbrellas, which an int64 cannot hold."""

    def predict_quantile(self, rows: pd.DataFrame, tau: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(rows), 1e300)


def test_a_huge_order_is_capped_before_it_becomes_an_integer(typed) -> None:
    sales = typed["sales"]
    highest = highest_sales(sales)
    capped = cap_orders(_orders(typed, Huge(), sales), highest, 3.0)
    written = final_orders(capped, highest, 3.0)
    assert written["order"].dtype == np.int64
    assert (written["order"] == np.floor(3.0 * written["store"].map(highest))).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, 2.5, 10_000.0, -(2.0**63)])
def test_the_last_guard_writes_nothing_but_whole_orders_up_to_the_cap(typed, model, bad) -> None:
    sales = typed["sales"]
    orders = _orders(typed, model, sales)
    good = final_orders(orders, highest_sales(sales), 3.0)
    assert good["order"].dtype == np.int64 and good["order"].eq(orders["order"]).all()
    orders.loc[3, "order"] = bad
    store, date = orders.loc[3, "store"], orders.loc[3, "date"]
    with pytest.raises(DataError, match=re.escape(f"none written: {store} {date}: {bad} (cap")):
        final_orders(orders, highest_sales(sales), 3.0)


def _with_sales(project: Path, tiny_tables, change) -> str:
    sales = tiny_tables["sales"].copy()
    change(sales)
    sales.to_csv(project / "latest" / "changed.csv", index=False, date_format="%Y-%m-%d")
    return "changed.csv"


def _last_day(sales: pd.DataFrame, store: str) -> int:
    """The position of the store's last day in the table (its line in the file is + 2)."""
    return int(sales.index[(sales["store"] == store) & (sales["date"] == sales["date"].max())][0])


@pytest.mark.parametrize("units", [5000, 1_000_000_000])
@pytest.mark.slow
def test_cli_refuses_a_typo_in_the_sales(project, tiny_tables, units) -> None:
    """One wrong value on the last day of one store: 17,709,165 umbrellas ordered before."""
    row = _last_day(tiny_tables["sales"], "S0002")
    name = _with_sales(
        project,
        tiny_tables,
        lambda s: s.__setitem__("units", s["units"].where(s.index != row, units)),
    )
    result = predict_files(project, sales=name)
    assert result.returncode == 2, result.stderr
    assert "changed.csv" in result.stderr and "Traceback" not in result.stderr
    if units < 1_000_000:  # above the contract's plausibility limit, the contract says it
        last = tiny_tables["sales"]["date"].max().date()
        assert "implausible units for store S0002" in result.stderr
        assert (
            f"lines {row + 2}" in result.stderr and f"S0002 {last}: {units} units" in result.stderr
        )
    assert not (project / "orders.csv").exists()


@pytest.mark.slow
def test_cli_passes_a_real_spike_with_a_warning(project, tiny_tables) -> None:
    sales = tiny_tables["sales"]
    row = _last_day(sales, "S0003")
    level = sales.loc[(sales["store"] == "S0003") & (sales["units"] > 0), "units"].median()
    name = _with_sales(
        project,
        tiny_tables,
        lambda s: s.__setitem__("units", s["units"].where(s.index != row, int(10 * level))),
    )
    result = predict_files(project, sales=name)
    assert result.returncode == 0, result.stderr
    assert "unusually high units for store S0003" in result.stderr
    assert (project / "orders.csv").exists()


@pytest.mark.slow
def test_cli_refuses_a_short_history(project, tiny_tables) -> None:
    sales = tiny_tables["sales"]
    recent = sales[sales["date"] > sales["date"].max() - pd.Timedelta(days=10)]
    recent.to_csv(project / "latest" / "short.csv", index=False, date_format="%Y-%m-%d")
    result = predict_files(project, sales="short.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "short.csv, column date: too short a history" in result.stderr
    assert "S0001 (sales on 10 of the 56 days" in result.stderr
    assert not (project / "orders.csv").exists()


@pytest.mark.slow
def test_cli_says_when_usual_sales_are_the_mean_of_fewer_days(project, tiny_tables) -> None:
    """60 days cover every lag and window but not features.usual_days (364): the orders are
    made, on the usual sales of the days given, and the log says so store by store."""
    sales = tiny_tables["sales"]
    recent = sales[sales["date"] > sales["date"].max() - pd.Timedelta(days=60)]
    recent.to_csv(project / "latest" / "recent.csv", index=False, date_format="%Y-%m-%d")
    result = predict_files(project, sales="recent.csv")
    assert result.returncode == 0, result.stderr
    assert (
        "recent.csv: the usual sales of 3 store(s) are the mean of fewer than "
        "features.usual_days = 364" in result.stderr
    )
    assert "S0001 has 60, S0002 has 60, S0003 has 60" in result.stderr
    assert (project / "orders.csv").exists()


@pytest.mark.slow
def test_cli_refuses_a_model_that_failed_its_gate(project) -> None:
    write_verdict(project, FAILED)
    refused = predict_files(project)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert (
        "failed the gate" in refused.stderr and "skill_cost = 0.05 (rule >= 0.2)" in refused.stderr
    )
    assert "--allow-failed-gate" in refused.stderr
    assert not (project / "orders.csv").exists()
    allowed = predict_files(project, extra=["--allow-failed-gate"])
    assert allowed.returncode == 0, allowed.stderr
    assert "failed the gate" in allowed.stderr and (project / "orders.csv").exists()


@pytest.mark.slow
def test_cli_refuses_a_model_without_a_gate_verdict(project) -> None:
    (project / "metrics" / "evaluate.json").unlink()
    result = predict_files(project)
    assert result.returncode == 2 and "no gate verdict" in result.stderr


@pytest.mark.slow
def test_cli_orders_at_each_stores_own_costs_without_retraining(project) -> None:
    """S0001 pays 14 an umbrella: 6 of margin against 13 lost on a left-over one, so
    tau = 6 / 19 and smaller orders; the other stores keep business's costs."""
    (project / "costs.csv").write_text("store,unit_cost\nS0001,14\n")
    base = predict_files(project, out=["--out", str(project / "base.csv")])
    own = predict_files(project, extra=["--costs", str(project / "costs.csv")])
    assert base.returncode == 0 and own.returncode == 0, own.stderr
    before, after = pd.read_csv(project / "base.csv"), pd.read_csv(project / "orders.csv")
    first = after["store"] == "S0001"
    assert after.loc[first, "critical_ratio"].eq(round(6 / 19, 4)).all()
    assert after.loc[~first, "critical_ratio"].eq(round(12 / 19, 4)).all()
    assert (after.loc[first, "order"] <= before.loc[first, "order"]).all()
    assert after.loc[first, "order"].sum() < before.loc[first, "order"].sum()
    pd.testing.assert_frame_equal(after[~first], before[~first])


@pytest.mark.slow
def test_stage_orders_at_each_stores_own_costs_on_the_pipelines_data(project, typed) -> None:
    """--costs on the pipeline's validated data (no retailer's files): its stores are the
    partitions' stores."""
    groups = store_groups(typed["sales"]["store"], 2)  # two partitions
    for name, table in typed.items():
        write_partitioned(table, project / "data" / "interim" / name, groups)
    (project / "costs.csv").write_text("store,unit_cost\nS0003,14\n")
    own = ["--costs", str(project / "costs.csv"), "--out", str(project / "own.csv")]
    result = umbrella(["predict", *own], project)
    assert result.returncode == 0, result.stderr
    orders = pd.read_csv(project / "own.csv")
    ratio = orders.set_index("store")["critical_ratio"]
    assert ratio["S0003"].eq(round(6 / 19, 4)).all() and ratio["S0001"].eq(round(12 / 19, 4)).all()
    assert not (project / "data" / "predictions" / "orders.csv").exists()


@pytest.mark.slow
def test_cli_refuses_bad_costs_naming_the_file_column_and_lines(project) -> None:
    costs = project / "costs.csv"
    costs.write_text(
        "store,unit_cost,margin\nS0001,-3,1\nS0002,8,1\nS0002,9,1\nS9999,8,1\nS0003,19.9,1\n"
    )
    result = predict_files(project, extra=["--costs", str(costs)])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{costs}, column unit_cost: must be >= 0 (1 row; lines 2" in result.stderr
    assert f"{costs}, column store: duplicate key (2 rows; lines 3, 4" in result.stderr
    assert not (project / "orders.csv").exists()
    costs.write_text("store,unit_cost,margin\nS9999,8,1\nS0003,19.9,1\n")
    result = predict_files(project, extra=["--costs", str(costs)])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{costs}, column margin: unknown column" in result.stderr
    assert f"{costs}, column store: stores without sales history (1 row; lines 2" in result.stderr
    assert "must be in 0.01..0.99" in result.stderr and "lines 3" in result.stderr
    assert not (project / "orders.csv").exists()


@pytest.mark.slow
def test_cli_with_costs_never_writes_the_pipelines_orders_unless_told(project) -> None:
    (project / "costs.csv").write_text("store,unit_cost\nS0001,14\n")
    result = umbrella(["predict", "--costs", str(project / "costs.csv")], project)
    assert result.returncode == 2 and "with --costs, give --out" in result.stderr


@pytest.mark.slow
def test_cli_with_files_never_writes_the_pipelines_orders_unless_told(project) -> None:
    tracked = project / "data" / "predictions" / "orders.csv"
    result = predict_files(project, out=[])
    assert result.returncode == 2 and "give --out" in result.stderr
    assert not tracked.exists()
    stdout = predict_files(project, out=["--out", "-"])
    assert stdout.returncode == 0, stdout.stderr
    assert stdout.stdout.splitlines()[0] == ",".join(ORDER_COLUMNS)
    assert len(stdout.stdout.splitlines()) == 1 + 3 * HORIZON
    assert not tracked.exists()


def _interim(project: Path, typed: dict[str, pd.DataFrame], stores_per_partition: int) -> None:
    """The tables as the pipeline's validated data (data/interim), partitioned."""
    groups = store_groups(typed["sales"]["store"], stores_per_partition)
    for name, table in typed.items():
        write_partitioned(table, project / "data" / "interim" / name, groups)


@pytest.mark.slow
def test_stage_refuses_a_failed_gate_unless_params_allow_it(project, typed) -> None:
    """By default a model that failed its gate orders nothing, the previous orders stay;
    predict.allow_failed_gate: true (CI's report on a failing pull request) orders."""
    _interim(project, typed, 250)
    write_verdict(project, FAILED)
    orders = project / "data" / "predictions" / "orders.csv"
    orders.parent.mkdir(parents=True)
    orders.write_text("the previous orders\n")
    refused = umbrella(["predict"], project)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "failed the gate" in refused.stderr and "predict.allow_failed_gate" in refused.stderr
    assert orders.read_text() == "the previous orders\n"
    set_params(project, {"predict": {"allow_failed_gate": True}})
    result = umbrella(["predict"], project)
    assert result.returncode == 0, result.stderr
    assert "failed the gate" in result.stderr
    assert len(pd.read_csv(orders)) == 3 * HORIZON


@pytest.mark.slow
def test_stage_orders_for_every_store_it_can_and_names_the_others(project, typed) -> None:
    """S0002's sales end ten days early and S0003 opened three days ago: S0001 gets its
    orders, the others are named; with predict.all_or_nothing nothing is written."""
    sales = typed["sales"]
    last = sales["date"].max()
    ended = (sales["store"] == "S0002") & (sales["date"] > last - pd.Timedelta(days=10))
    young = (sales["store"] == "S0003") & (sales["date"] <= last - pd.Timedelta(days=3))
    _interim(project, {**typed, "sales": sales[~ended & ~young]}, 2)  # two partitions
    result = umbrella(["predict"], project)
    assert result.returncode == 0, result.stderr
    orders = pd.read_csv(project / "data" / "predictions" / "orders.csv")
    assert set(orders["store"]) == {"S0001"} and len(orders) == HORIZON
    gone = (last - pd.Timedelta(days=10)).date()
    assert f"S0002 (sales end {gone}), S0003 (sales on 3 of the 56 days" in result.stderr
    assert "the other stores get their orders" in result.stderr
    before = (project / "data" / "predictions" / "orders.csv").read_text()
    set_params(project, {"predict": {"all_or_nothing": True}})
    refused = umbrella(["predict"], project)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "predict.all_or_nothing: true: no orders written" in refused.stderr
    assert (project / "data" / "predictions" / "orders.csv").read_text() == before


@pytest.mark.slow
def test_a_refused_predict_keeps_the_previous_orders_under_dvc(reproduced: Path) -> None:
    """DVC deletes a stage's outputs before it runs it: without `persist: true` a refused
    predict (here: a failed gate, now that predict.allow_failed_gate is false) left no
    orders.csv at all."""
    orders = reproduced / "data" / "predictions" / "orders.csv"
    before = orders.read_bytes()
    set_params(reproduced, {"predict": {"allow_failed_gate": False}})
    refused = run(["dvc", "repro"], reproduced, check=False)
    assert refused.returncode != 0
    assert "failed the gate" in refused.stderr + refused.stdout
    assert orders.read_bytes() == before
