"""The stock policy's settings (the level's ratio, the days' shared level error) are chosen
on the validation period's replays, never the test period's (evaluation/stock.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from umbrella.core.params import Inventory
from umbrella.evaluation.stock import (
    INDEPENDENT,
    chosen_settings,
    policy_of,
    setting_key,
    settings_on_test,
    settings_tried,
)
from umbrella.money.stock_policy import SHARED


def test_the_ratios_tried_run_up_to_the_textbook_one() -> None:
    tried = settings_tried(0.9992)
    assert sorted({ratio for ratio, _ in tried}) == [0.95, 0.98, 0.99, 0.995, 0.9992]
    assert len(tried) == 5 * len(SHARED)
    assert sorted({ratio for ratio, _ in settings_tried(0.97)}) == [0.95, 0.97]


def part(stores: list[str], costs: dict[str, dict[tuple[float, float], list[float]]]) -> dict:
    """A partition's replays as stock_part returns them: each store's cost per setting."""
    figures = {
        name: {setting_key(s): {"cost": np.array(c)} for s, c in by_setting.items()}
        for name, by_setting in costs.items()
    }
    return {"stores": stores, "figures": figures}


def test_the_setting_cheapest_on_validation_over_every_partition_is_chosen() -> None:
    tried = settings_tried(0.99)  # ratios 0.95, 0.98, 0.99
    cheap, tie = (0.98, 0.5), (0.95, 1.0)
    costs = {s: [5.0] for s in tried}
    # Cheapest in the first partition alone, not over both: not chosen.
    first = {s: [1.0] if s == tie else [4.0] if s == cheap else [5.0] for s in tried}
    second = {s: [9.0] if s == tie else [4.0] if s == cheap else [5.0] for s in tried}
    parts = [
        part(["S1"], {"model": first, "baseline": costs}),
        part(["S2"], {"model": second, "baseline": costs}),
    ]
    chosen = chosen_settings(parts, 0.99)
    assert chosen["model"] == cheap
    assert chosen["baseline"] == tried[0]  # all equal: the first tried
    assert chosen_settings(None, 0.99) == {
        "model": (0.99, INDEPENDENT),
        "baseline": (0.99, INDEPENDENT),
    }


def test_the_limits_replay_the_models_setting() -> None:
    settings = settings_on_test({"model": (0.98, 0.5), "baseline": (0.95, 1.0)})
    assert settings == {
        "model": ((0.98, 0.5),),
        "baseline": ((0.95, 1.0),),
        "oracle_info": ((0.98, 0.0),),
        "oracle": ((0.98, 0.0),),
    }


def test_the_policy_gives_each_store_its_own_storeroom() -> None:
    """inventory.capacity: one value for all, none (no limit), or each store's from the
    stores table, in the order of the stores replayed."""
    stores = ["S2", "S1", "S3"]
    rooms = pd.DataFrame({"store": ["S1", "S2", "S3"], "capacity": [10, 20, 30]})
    own = policy_of(Inventory(capacity="stores"), stores, rooms)
    np.testing.assert_array_equal(own.capacity, [20.0, 10.0, 30.0])
    np.testing.assert_array_equal(policy_of(Inventory(capacity=15), stores).capacity, [15.0] * 3)
    assert np.isinf(policy_of(Inventory(), stores).capacity).all()
