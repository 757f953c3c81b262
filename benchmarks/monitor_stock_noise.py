"""The noise of the monitor's stock check (ops/stock_watch.py; monitor.stock_skill_drop): the
stock skill over seasonal naive of every run of monitor.window_days days of the test period,
one a week, each replayed alone as the monitor replays its window (the policy and settings
evaluate chose, the stores opening with their level x L), against the test period's
(reports/evaluate.json stock.skill_cost); and the monitor's own check on the latest window.

    dvc repro monitor && python benchmarks/monitor_stock_noise.py

on the reproduced pipeline of this checkout (inventory.carry_over true; another base.seed:
change it in params.yaml, dvc repro monitor, run this). Prints one JSON line; writes nothing.
docs/design.md "Monitor thresholds" has the figures of seeds 42 and 1..4.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from umbrella.core.engine import runner
from umbrella.core.files import read_json
from umbrella.core.params import load_params
from umbrella.core.paths import MODEL_FILE, MODELS
from umbrella.core.split import test_start
from umbrella.data.contract.interim import sales_span
from umbrella.evaluation.gate import DETAILS
from umbrella.evaluation.scores import BASELINE, MODEL
from umbrella.money.metrics import skill
from umbrella.ops.health import stock_table, watched_rows, window_start
from umbrella.ops.stock_watch import RUNS_APART, replayed_costs, stock_reference, stock_skill_drop


def main() -> None:
    params = load_params()
    first, last = sales_span()
    start = test_start(first, last, params.split)
    with runner(params.engine) as run:
        rows, _, sizes = watched_rows(params, start, MODELS / MODEL_FILE, run)
    reference = stock_reference(read_json(DETAILS), sizes)
    table = stock_table(rows)
    length = pd.Timedelta(days=params.monitor.window_days - 1)

    def stock_skill(a: pd.Timestamp, b: pd.Timestamp) -> float:
        costs = replayed_costs(table, a, b, params, reference)
        return skill(costs[MODEL], costs[BASELINE])

    starts = pd.date_range(start, last - length, freq=f"{RUNS_APART}D")
    skills = np.array([stock_skill(a, a + length) for a in starts])
    check = stock_skill_drop(
        params, table, window_start(last, params.monitor.window_days), last, reference
    )
    result = {
        "seed": params.base.seed,
        "test_skill": reference.skill,  # evaluate's
        "test_skill_replayed_here": round(stock_skill(start, last), 6),
        "runs": len(skills),
        "run_skill": {
            "min": round(float(skills.min()), 3),
            "mean": round(float(skills.mean()), 3),
            "sd": round(float(skills.std()), 3),
            "max": round(float(skills.max()), 3),
        },
        "largest_drop": round(reference.skill - float(skills.min()), 3),
        "monitor": {k: check[k] for k in ("score", "noise", "threshold", "verdict")},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
