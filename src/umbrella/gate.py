"""The release gate: may this model replace the one in production?

`evaluate` records the verdict in metrics/evaluate.json (`gate.passed`) and each criterion in
reports/evaluate.json; `umbrella gate` exits 1 when the model fails it, so CI can block the
pull request.
"""

from __future__ import annotations

import argparse
import logging

from umbrella.errors import DataError
from umbrella.io import read_json
from umbrella.params import Gate
from umbrella.paths import METRICS, REPORTS

log = logging.getLogger(__name__)


def check_gate(metrics: dict, gate: Gate, service_level: float) -> dict:
    """Each criterion with its value, bound and verdict, and whether all pass."""
    checks = {
        "skill_cost": {
            "value": metrics["skill"]["cost"],
            "rule": f">= {gate.min_skill_cost}",
            "passed": bool(metrics["skill"]["cost"] >= gate.min_skill_cost),
        },
        # The days met, a day whose demand equalled the order counting half
        # (metrics.covered_mid): at the best order that share is tau*, the plain one above.
        "service_level_mid": {
            "value": metrics["model"]["service_level_mid"],
            "rule": f"within {gate.service_level_tolerance} of {service_level:.3f}",
            "passed": bool(
                abs(metrics["model"]["service_level_mid"] - service_level)
                <= gate.service_level_tolerance
            ),
        },
    }
    return {"passed": all(c["passed"] for c in checks.values()), "checks": checks}


def main(args: argparse.Namespace) -> int:
    path = METRICS / "evaluate.json"
    try:
        verdict = read_json(path)["gate"]
    except FileNotFoundError:
        raise DataError(f"{path}: not found (run `dvc repro evaluate`)") from None
    except KeyError:
        raise DataError(f"{path}: has no gate verdict (run `dvc repro evaluate`)") from None
    # Each criterion is in the report (an older metrics file held them itself).
    details = REPORTS / "evaluate.json"
    checks = verdict.get("checks") or (
        read_json(details).get("gate", {}).get("checks", {}) if details.exists() else {}
    )
    for name, check in checks.items():
        log.info(
            "%s %s: %s (%s)",
            "pass" if check["passed"] else "FAIL",
            name,
            check["value"],
            check["rule"],
        )
    if not verdict["passed"]:
        log.error("the model fails the gate")
        return 1
    log.info("the model passes the gate")
    return 0
