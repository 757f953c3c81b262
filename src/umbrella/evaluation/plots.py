"""Figures (PNG) of the evaluation and the monitor, drawn from the same tables as their CSVs.

Numbers are written as people read them: thousands separators, never 2.5e+06.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from umbrella.core.files import atomic_write
from umbrella.core.sampling import smallest_uniform
from umbrella.evaluation.scores import BASELINE, MODEL, ORACLE, ORACLE_INFO

RESIDUAL_SAMPLE = 2000  # points in the residual scatter
FORECAST_DAYS = 91  # the forecast plot shows the last 13 weeks of the test period

COLORS = {
    "actual": "black",
    "forecast": "tab:blue",
    "order": "tab:orange",
    "model": "tab:blue",
    "baseline": "tab:orange",
    "oracle": "tab:green",
}
LABELS = {
    "model": "model",
    "baseline": "baseline (seasonal naive)",
    "oracle": "oracle (true demand distribution)",
}


def readable(value: float, _position: object = None) -> str:
    """1234567.0 -> '1,234,567'; 0.25 -> '0.25' (an axis tick as a person reads it)."""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _readable_axis(ax: Axes, *axes: str) -> None:
    for name in axes or ("y",):
        getattr(ax, f"{name}axis").set_major_formatter(FuncFormatter(readable))


def forecast_figure(series: pd.DataFrame, actual: str, label: str) -> Figure:
    """The actual series (column `actual`, named `label`), the forecast and the order one
    day ahead: one panel per store, named, on a shared time axis, with one legend."""
    stores = list(series["store"].unique())
    fig, axes = store_panels(stores)
    for ax, store in zip(axes, stores, strict=True):
        rows = series[series["store"] == store]
        ax.plot(rows["date"], rows[actual], color=COLORS["actual"], lw=0.8, label=label)
        ax.plot(rows["date"], rows["forecast"], color=COLORS["forecast"], lw=1.0, label="forecast")
        ax.step(
            rows["date"],
            rows["order"],
            color=COLORS["order"],
            lw=0.8,
            where="mid",
            label="order (τ* quantile)",
        )
        store_panel(ax, store, "umbrellas a day")
    first, last = series["date"].min(), series["date"].max()
    title = f"{label.capitalize()}, forecast and order, 1 day ahead "
    return headed(fig, axes[0], title + f"({first:%d %b %Y}..{last:%d %b %Y})")


def store_panels(stores: list[str]) -> tuple[Figure, list[Axes]]:
    """One panel per store, stacked on a shared time axis."""
    fig, axes = plt.subplots(
        len(stores), 1, figsize=(11, 1.2 + 2.3 * len(stores)), sharex=True, squeeze=False
    )
    return fig, list(axes[:, 0])


def store_panel(ax: Axes, store: str, ylabel: str) -> None:
    """A store's panel: named, its y axis from 0 in readable numbers, a light grid."""
    ax.set_title(f"store {store}", loc="left", fontsize=10, fontweight="bold")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    _readable_axis(ax)


def headed(fig: Figure, first: Axes, title: str, small_legend: bool = False) -> Figure:
    """The figure with its title at the top left and the first panel's legend at the top
    right, in one line, or (`small_legend`) in two smaller lines below the title."""
    handles, names = first.get_legend_handles_labels()
    height = fig.get_figheight()
    fig.suptitle(title, x=0.01, y=0.995, ha="left", fontsize=11)
    legend: dict = {"loc": "upper right", "ncol": 3, "frameon": False}
    if small_legend:
        legend |= {"bbox_to_anchor": (0.995, 1 - 0.25 / height), "fontsize": 8}
    else:
        legend |= {"bbox_to_anchor": (0.995, 1)}
    fig.legend(handles, names, **legend)
    top = 1 - (0.7 if small_legend else 0.45) / height  # the room above the panels
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def stock_figure(days: pd.DataFrame, actual: str) -> Figure:
    """The stock on the shelf at each opening (the model's orders beside seasonal naive's,
    replayed) and the demand, one panel per store, the days a sale was lost marked."""
    stores = list(days["store"].unique())
    fig, axes = store_panels(stores)
    for ax, store in zip(axes, stores, strict=True):
        rows = days[days["store"] == store]
        demand = rows[rows["orders"] == MODEL]
        ax.plot(demand["date"], demand["demand"], color=COLORS["actual"], lw=0.8, label=actual)
        for name in (MODEL, BASELINE):
            own = rows[rows["orders"] == name]
            ax.step(
                own["date"],
                own["opening"],
                color=COLORS[name],
                lw=1.0,
                where="post",
                label=f"stock at opening: {LABELS[name]}'s orders",
            )
            lost = own[own["lost"] > 0]
            ax.scatter(
                lost["date"],
                lost["opening"],
                color=COLORS[name],
                marker="v",
                s=18,
                zorder=3,
                label=f"sales lost: {LABELS[name]}'s orders",
            )
        store_panel(ax, store, "umbrellas")
    first, last = days["date"].min(), days["date"].max()
    title = f"Stock carried over, orders replayed day by day ({first:%d %b %Y}..{last:%d %b %Y})"
    return headed(fig, axes[0], title, small_legend=True)


def stock_plot(days: pd.DataFrame, scored_against: str) -> tuple[pd.DataFrame, Figure]:
    """The stock plot's data and figure: the last FORECAST_DAYS days of the replayed days
    (evaluation/stock.replayed_days of the plotted stores), as the forecast plot's."""
    actual = "true demand" if scored_against == "true demand" else "sales"
    days = days[days["date"] > days["date"].max() - pd.Timedelta(days=FORECAST_DAYS)]
    days = days.sort_values(["store", "orders", "date"], kind="stable").reset_index(drop=True)
    data = days.assign(date=days["date"].dt.strftime("%Y-%m-%d"))
    return data, stock_figure(days, actual)


def horizon_figure(by_horizon: pd.DataFrame) -> Figure:
    """Cost of each forecaster's orders per horizon (one column per forecaster)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in [c for c in by_horizon.columns if c != "horizon"]:
        if by_horizon[name].isna().all():
            continue
        ax.plot(
            by_horizon["horizon"],
            by_horizon[name],
            marker="o",
            label=LABELS.get(name, name),
            color=COLORS.get(name),
        )
    ax.set_title("Cost of orders by horizon")
    ax.set_xlabel("horizon (days ahead)")
    ax.set_ylabel("cost of orders (money)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    _readable_axis(ax)
    ax.legend()
    fig.tight_layout()
    return fig


def cost_figure(costs: pd.DataFrame) -> Figure:
    """Total cost of each forecaster's orders over the test period, each bar labelled."""
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.6 * len(costs)))
    names = [LABELS.get(name, name) for name in costs["forecaster"]]
    bars = ax.barh(
        names, costs["cost"], color=[COLORS.get(name, "grey") for name in costs["forecaster"]]
    )
    ax.bar_label(bars, labels=[readable(v) for v in costs["cost"]], padding=4, fontsize=9)
    ax.invert_yaxis()
    ax.set_title("Total cost of orders over the test period")
    ax.set_xlabel("cost of orders (money)")
    ax.set_xlim(right=costs["cost"].max() * 1.2)
    _readable_axis(ax, "x")
    fig.tight_layout()
    return fig


def residual_figure(residuals: pd.DataFrame, actual: str) -> Figure:
    """Point-forecast residual against the forecast rain of the target day."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(residuals["fc_rain_mm"], residuals["residual"], s=4, alpha=0.4)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title(f"Residual ({actual} − forecast) against forecast rain")
    ax.set_xlabel("forecast rain (mm)")
    ax.set_ylabel(f"{actual} − forecast (umbrellas)")
    _readable_axis(ax, "x", "y")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> None:
    """Save as PNG without the metadata that would change between runs."""
    atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    )
    plt.close(fig)


def drift_figure(table: pd.DataFrame, result: dict) -> Figure:
    """Each score over its threshold, on one scale, with the threshold drawn at 1."""
    ratio = table["score_over_threshold"].fillna(0.0)
    sets = table["sets_status"].to_numpy()
    # red: beyond, sets the status; orange: beyond, reported only (features)
    beyond = np.where(sets, "tab:red", "tab:orange")
    colors = np.where(ratio > 1, beyond, np.where(sets, "tab:blue", "tab:gray")).tolist()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.barh(table["check"], ratio, color=colors)
    ax.invert_yaxis()
    threshold = ax.axvline(1.0, color="black", lw=1.2, ls="--")
    keys = [("tab:red", "beyond, sets the status"), ("tab:orange", "beyond, feature (reported)")]
    ax.legend(
        [threshold, *(Patch(color=c) for c, _ in keys)],
        ["threshold (score = threshold)", *(label for _, label in keys)],
        loc="lower right",
        fontsize=8,
    )
    ax.set_xlabel("score / threshold (above 1: beyond the threshold)")
    perf = result["performance"]
    ax.set_title(
        f"monitor status: {result['status']}\nwindow {result['window']['start']}.."
        f"{result['window']['end']}: skill {perf['window']['skill_cost']:.2f} "
        f"({perf['test']['skill_cost']:.2f} before it)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def plotted_rows(table: pd.DataFrame, n_stores: int, seed: int) -> pd.DataFrame:
    """The rows the evaluation's plots need, of one partition or of all: the horizon-1 rows
    of the first `n_stores` stores (by name) and a seeded sample of RESIDUAL_SAMPLE rows
    (flagged `sampled`). Applied to the union of every partition's, it gives what it gives
    on all rows at once."""
    stores = sorted(table["store"].astype(str).unique())[:n_stores]
    series = table[(table["horizon"] == 1) & table["store"].astype(str).isin(stores)]
    sample = smallest_uniform(table, RESIDUAL_SAMPLE, seed)
    return pd.concat([series.assign(sampled=False), sample.assign(sampled=True)], ignore_index=True)


def evaluation_plots(
    rows: pd.DataFrame, metrics: dict, forecasters: list[str], n_stores: int, seed: int
) -> dict[str, tuple[pd.DataFrame, Figure]]:
    """The evaluation's plots by name: the data (for dvc plots) and its figure, from the
    test period's forecast table, or the union of each partition's plotted_rows (without the
    flag). The actual series is called what it is: true demand on simulated data, sales on
    a user's data."""
    actual = "true demand" if metrics["test"]["scored_against"] == "true demand" else "sales"
    column = actual.replace(" ", "_")
    rows = plotted_rows(rows.drop_duplicates(["store", "origin", "horizon"]), n_stores, seed)
    one_day = rows[~rows["sampled"]]
    # The last weeks only: a year of days in one panel is too dense to read.
    one_day = one_day[one_day["date"] > one_day["date"].max() - pd.Timedelta(days=FORECAST_DAYS)]
    series = one_day.rename(
        columns={"demand": column, f"{MODEL}_forecast": "forecast", f"{MODEL}_order": "order"}
    )
    series = series[["date", "store", column, "forecast", "order"]].sort_values(["store", "date"])
    out = {
        "forecast": (
            series.assign(date=series["date"].dt.strftime("%Y-%m-%d")),
            forecast_figure(series, column, actual),
        )
    }

    # Every forecaster has a column (empty without a truth file) so dvc plots always finds it.
    by_horizon = pd.DataFrame(
        [
            {"horizon": int(h)}
            | {f: m[f]["cost"] if f in m else None for f in (MODEL, BASELINE, ORACLE, ORACLE_INFO)}
            for h, m in metrics["by_horizon"].items()
        ]
    )
    out["horizon"] = (by_horizon, horizon_figure(by_horizon))

    costs = pd.DataFrame(
        {"forecaster": forecasters, "cost": [metrics[f]["cost"] for f in forecasters]}
    )
    out["cost"] = (costs, cost_figure(costs))

    sample = rows[rows["sampled"]]
    residuals = pd.DataFrame(
        {
            "fc_rain_mm": sample["fc_rain_mm"],
            "residual": sample["demand"] - sample[f"{MODEL}_forecast"],
        }
    )
    residuals = residuals.sort_values(["fc_rain_mm", "residual"])
    out["residuals"] = (residuals, residual_figure(residuals, actual))
    return out
