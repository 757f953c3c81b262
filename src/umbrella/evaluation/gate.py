"""The release gate: may this model replace the one in production?

`evaluate` records the verdict in metrics/evaluate.json (`gate.passed`) and each criterion in
reports/evaluate.json; `umbrella gate` exits 1 when the model fails it, so CI can block the
pull request.
"""

from __future__ import annotations

import argparse
import logging

from umbrella.core.errors import DataError
from umbrella.core.files import read_json
from umbrella.core.params import Gate
from umbrella.core.paths import METRICS, REPORTS, shown

log = logging.getLogger(__name__)


EVALUATION = METRICS / "evaluate.json"  # the verdict: gate.passed
DETAILS = REPORTS / "evaluate.json"  # each criterion: gate.checks


def gate_verdict(
    metrics: dict, gate: Gate, service_level: float, stock: dict | None = None
) -> dict:
    """Each criterion with its value, bound and verdict, and whether all pass; with the
    `stock` replayed (evaluation/stock.stock_section), its money and fill rate too."""
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
    if stock is not None:
        checks["stock_skill_cost"] = {
            "value": stock["skill_cost"],
            "rule": f">= {gate.min_stock_skill_cost}",
            "passed": bool(stock["skill_cost"] >= gate.min_stock_skill_cost),
        }
        # The policy covers the demand of a share `ratio` of its protection intervals; in
        # units it may fall a little short (an interval run out by a few), not by more.
        least = stock["model"]["ratio"] - gate.fill_rate_tolerance
        checks["stock_fill_rate"] = {
            "value": stock["fill_rate"],
            "rule": f">= {least:.4f} (its ratio - {gate.fill_rate_tolerance})",
            "passed": bool(stock["fill_rate"] >= least),
        }
    return {"passed": all(c["passed"] for c in checks.values()), "checks": checks}


def read_verdict() -> dict | None:
    """The gate's verdict on the current model: `passed` from metrics/evaluate.json, each
    criterion (`checks`) from reports/evaluate.json when it is there; None when evaluate
    has given none."""
    try:
        verdict = read_json(EVALUATION).get("gate")
    except FileNotFoundError:
        return None
    if not isinstance(verdict, dict) or "passed" not in verdict:
        return None
    details = read_json(DETAILS).get("gate", {}) if DETAILS.exists() else {}
    return {"passed": bool(verdict["passed"]), "checks": details.get("checks") or {}}


def failed_checks(verdict: dict) -> list[str]:
    """Each failed criterion of a verdict with its value and rule; [] when it passed."""
    if verdict["passed"]:
        return []
    failed = [
        f"{name} = {check.get('value')} (rule {check.get('rule')})"
        for name, check in verdict["checks"].items()
        if isinstance(check, dict) and not check.get("passed", True)
    ]
    return failed or ["the gate (no criteria listed)"]


def require_gate(allow_failed: bool, how: str) -> None:
    """Refuse a model whose evaluation failed the gate or is missing, or with `allow_failed`
    warn about it; `how` says how to allow it."""
    verdict = read_verdict()
    if verdict is not None and verdict["passed"]:
        return
    reason = (
        f"the model failed the gate in {shown(EVALUATION)}: {'; '.join(failed_checks(verdict))}"
        if verdict is not None
        else f"no gate verdict in {shown(EVALUATION)} (run `dvc repro evaluate`)"
    )
    if allow_failed:
        log.warning("%s; ordering anyway (%s)", reason, how)
        return
    raise DataError(f"predict: {reason}. To order with it anyway: {how}")


def main(args: argparse.Namespace) -> int:
    verdict = read_verdict()
    if verdict is None:
        raise DataError(f"{shown(EVALUATION)}: no gate verdict (run `dvc repro evaluate`)")
    for name, check in verdict["checks"].items():
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
