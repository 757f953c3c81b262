"""`umbrella report`: a Markdown review of the workspace's model against a base revision.

The metrics and params of the base come from Git (`git show REV:metrics/evaluate.json`),
so the report needs no DVC remote; a base without metrics (a new repository, a first pull
request) is said so, not an error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from umbrella.errors import DataError
from umbrella.io import read_json
from umbrella.paths import METRICS, PARAMS_FILE, ROOT

# (key, what it is, +1 if higher is better, -1 if lower is better, 0 if neither)
HEADLINE = [
    ("model.cost", "money lost by the model's orders", -1),
    ("skill.cost", "share of seasonal naive's cost saved", +1),
    ("model.wape", "point forecast error", -1),
    ("skill.wape", "share of seasonal naive's error saved", +1),
    ("model.service_level", "share of days with demand <= order", 0),
    ("baseline.cost", "money lost by seasonal naive", 0),
    ("oracle.cost", "money lost with the true demand distribution", 0),
]
IMAGES = ["plots/cost.png", "plots/horizon.png", "plots/forecast.png", "plots/monitor.png"]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}, as `dvc metrics diff` shows keys."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def git_show(rev: str, path: str, cwd: Path = ROOT) -> str | None:
    """A file's text at a revision, or None when the revision or the file does not exist."""
    result = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=cwd, capture_output=True, text=True
    )
    return result.stdout if result.returncode == 0 else None


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _change(new: Any, old: Any) -> str:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (new, old)):
        return ""
    delta = new - old
    relative = f" ({delta / abs(old):+.1%})" if old else ""
    return f"{delta:+,.4g}{relative}"


def verdict(new: dict, old: dict | None, base: str) -> str:
    gate = new.get("gate", {}).get("passed")
    gate_text = {True: "passes the gate", False: "**fails the gate**", None: "no gate verdict"}
    if old is None:
        money = f"no metrics at `{base}` to compare with (first report)"
    else:
        cost, old_cost = new["model"]["cost"], old["model"]["cost"]
        delta = cost - old_cost
        share = f" ({delta / old_cost:+.1%})" if old_cost else ""
        word = "cheaper" if delta < 0 else "dearer"
        money = (
            f"{word} than `{base}` by {abs(delta):,.0f} in money{share}"
            if delta
            else f"as costly as `{base}`"
        )
    return f"**Verdict:** {money}; {gate_text[gate]}."


def render(
    new: dict, old: dict | None, new_params: dict, old_params: dict | None, base: str
) -> str:
    """The report's Markdown."""
    lines = ["# Model report", "", verdict(new, old, base), ""]
    flat_new, flat_old = flatten(new), flatten(old or {})
    lines += [f"| metric | meaning | `{base}` | workspace | change |", "|---|---|---|---|---|"]
    for key, meaning, _ in HEADLINE:
        if key in flat_new or key in flat_old:
            a, b = flat_old.get(key), flat_new.get(key)
            lines.append(f"| `{key}` | {meaning} | {_number(a)} | {_number(b)} | {_change(b, a)} |")
    checks = new.get("gate", {}).get("checks", {})
    if checks:
        lines += [
            "",
            "Gate: "
            + "; ".join(
                f"{name} {_number(c['value'])} {c['rule']} {'✅' if c['passed'] else '❌'}"
                for name, c in checks.items()
            ),
        ]

    lines += ["", "## Params", ""]
    if old_params is None:
        lines.append(f"No params.yaml at `{base}`.")
    else:
        p_new, p_old = flatten(new_params), flatten(old_params)
        changed = sorted(k for k in p_new.keys() | p_old.keys() if p_new.get(k) != p_old.get(k))
        if changed:
            lines += [f"| param | `{base}` | workspace |", "|---|---|---|"]
            lines += [f"| `{k}` | {p_old.get(k, '—')} | {p_new.get(k, '—')} |" for k in changed]
        else:
            lines.append(f"No param differs from `{base}`.")

    if old is not None:
        headline = {k for k, _, _ in HEADLINE}
        changed = sorted(
            k
            for k in flat_new.keys() | flat_old.keys()
            if k not in headline and flat_new.get(k) != flat_old.get(k)
        )
        if changed:
            lines += [
                "",
                f"<details><summary>All {len(changed)} other changed metrics</summary>",
                "",
                f"| metric | `{base}` | workspace | change |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| `{k}` | {_number(flat_old.get(k))} | {_number(flat_new.get(k))} | "
                f"{_change(flat_new.get(k), flat_old.get(k))} |"
                for k in changed
            ]
            lines += ["", "</details>"]

    images = [path for path in IMAGES if (ROOT / path).exists()]
    if images:
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in images]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="main", help="revision to compare with (main)")
    parser.add_argument("--out", type=Path, help="write the report here (default: stdout)")


def main(args: argparse.Namespace) -> int:
    try:
        new = read_json(METRICS / "evaluate.json")
    except FileNotFoundError:
        raise DataError("metrics/evaluate.json: not found (run `dvc repro`)") from None
    old_text = git_show(args.base, "metrics/evaluate.json")
    old_params_text = git_show(args.base, "params.yaml")
    text = render(
        new,
        json.loads(old_text) if old_text else None,
        yaml.safe_load(PARAMS_FILE.read_text()),
        yaml.safe_load(old_params_text) if old_params_text else None,
        args.base,
    )
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0
