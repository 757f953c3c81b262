"""Figures of the evaluation, drawn from the same tables that dvc plots renders."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from umbrella.io import atomic_write

COLORS = {"actual": "black", "model": "tab:blue", "baseline": "tab:orange", "oracle": "tab:green"}


def forecast_figure(series: pd.DataFrame) -> Figure:
    """Demand, forecast and order one day ahead, one panel per store."""
    stores = list(series["store"].unique())
    fig, axes = plt.subplots(
        len(stores), 1, figsize=(10, 2.6 * len(stores)), sharex=True, squeeze=False
    )
    for ax, store in zip(axes[:, 0], stores, strict=True):
        rows = series[series["store"] == store]
        ax.plot(rows["date"], rows["actual"], color=COLORS["actual"], lw=0.8, label="demand")
        ax.plot(rows["date"], rows["forecast"], color=COLORS["model"], lw=1.0, label="forecast")
        ax.step(
            rows["date"],
            rows["order"],
            color=COLORS["baseline"],
            lw=0.8,
            where="mid",
            label="order",
        )
        ax.set_title(f"store {store}, 1 day ahead", fontsize=9)
        ax.set_ylabel("umbrellas")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def horizon_figure(by_horizon: pd.DataFrame) -> Figure:
    """Cost per horizon of each forecaster."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for column in [c for c in by_horizon.columns if c.endswith("_cost")]:
        name = column.removesuffix("_cost")
        if by_horizon[column].isna().all():
            continue
        ax.plot(
            by_horizon["horizon"],
            by_horizon[column],
            marker="o",
            label=name,
            color=COLORS.get(name),
        )
    ax.set_xlabel("horizon (days ahead)")
    ax.set_ylabel("cost of orders (money)")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    return fig


def cost_figure(costs: pd.DataFrame) -> Figure:
    """Total cost of each forecaster's orders over the test period."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(
        costs["forecaster"],
        costs["cost"],
        color=[COLORS.get(name, "grey") for name in costs["forecaster"]],
    )
    ax.set_ylabel("cost of orders (money)")
    fig.tight_layout()
    return fig


def residual_figure(residuals: pd.DataFrame) -> Figure:
    """Point-forecast residual against the forecast rain of the target day."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(residuals["fc_rain_mm"], residuals["residual"], s=4, alpha=0.4)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("forecast rain (mm)")
    ax.set_ylabel("demand - forecast (umbrellas)")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> None:
    """Save as PNG without the metadata that would change between runs."""
    atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    )
    plt.close(fig)
