"""`umbrella report`: a Markdown review of the workspace's model against a base revision.

Each side's metrics are its DVC metrics file (metrics/evaluate.json, the headline) with its
details (reports/evaluate.json; reports/monitor.json for the monitor); a base from before
reports/ existed has its metrics files only, which then held everything. The base's metrics,
params, monitor status, dvc.lock and plots come from Git
(`revisions.py`), so the report needs no DVC remote. The base revision is verified first: a
revision this clone does not have (a typo, or a branch not fetched) is an error (exit 2) that
says how to fetch it, while a revision without metrics (a new repository, a first pull
request) is said so in a normal report.

Money is compared only when it can be: both sides on the same data (the same data params
and, where both have a dvc.lock, the same raw data hash), the same test period, the same
number of test rows, scored against the same target. Otherwise the report says that the
costs are not comparable and judges on skill (skill.cost, skill.wape: savings against each
side's own seasonal naive) and calibration (|service level - tau*|) instead.

Plots (`--images`):
- `links` (default): Markdown images with paths relative to the report file: the workspace's
  `plots/<stage>/*.png` (`plots/*.png` at an older base) and the base's, written from Git
  beside the report (`<report>_plots/`; a report on stdout writes no files and links the
  workspace's plots only).
  This is for `cml comment create`, which uploads every local image a report references
  (its `--publish`, on by default; on GitHub to CML's asset store, asset.cml.dev) and
  rewrites the links, so the images render in the pull-request comment. Opened locally,
  the file renders too.
- `none`: no images, a line saying where the plots are. For the job summary and a pull
  request's description: GitHub renders neither relative paths there (there is no file to
  point at) nor `data:` URIs (its Markdown sanitizer drops them); and a PNG inlined as base64
  is about 100,000 characters, over a comment's 65,536-character limit. So `data:` URIs
  are not offered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import yaml

from umbrella.core.errors import DataError
from umbrella.core.files import read_json
from umbrella.core.params import Train, read_yaml
from umbrella.core.paths import METRICS, PARAMS_FILE, ROOT
from umbrella.evaluation.scores import FIGURES, combine
from umbrella.money.stock_replay import STORE_SUMS
from umbrella.ops import revisions

if TYPE_CHECKING:  # for mypy only: typing.TypeIs is Python 3.13+
    from typing_extensions import TypeIs

# (key, what it is, +1 if higher is better, -1 if lower is better, 0 if neither)
# Each figure by name: where it is now, then where an older revision has it.
IMAGES = {
    "cost": ["plots/evaluate/cost.png", "plots/cost.png"],
    "horizon": ["plots/evaluate/horizon.png", "plots/horizon.png"],
    "forecast": ["plots/evaluate/forecast.png", "plots/forecast.png"],
    "stock": ["plots/evaluate/stock.png"],  # with inventory.carry_over
    "monitor": ["plots/monitor/drift.png", "plots/monitor.png"],
}
COUNTS = {"rows", "overstock_units", "lost_units", "units", "fitted_rows"}
MONEY = set(STORE_SUMS)  # a cost and its parts (the stock replay's)
# The models with knobs of their own (train.linear, train.gbm): a change to one of them does
# nothing while another model is trained.
KNOBS = [m for m in get_args(Train.model_fields["model"].annotation) if m in Train.model_fields]
SAME = 5e-4  # skill and calibration changes smaller than this are "the same"


@dataclass(frozen=True)
class Side:
    """One side of the comparison: the files that describe a model and how it was judged."""

    label: str  # Markdown, e.g. "`main` (1a2b3c4)" or "workspace"
    metrics: dict | None  # metrics/evaluate.json with reports/evaluate.json
    params: dict | None  # params.yaml
    monitor: dict | None  # metrics/monitor.json with reports/monitor.json
    lock: dict | None  # dvc.lock


# --- numbers a person reads ----------------------------------------------------------------


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}, as `dvc metrics diff` shows keys."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _is_number(value: Any) -> TypeIs[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(key: str) -> str:
    """money (whole currency units), count (whole units) or ratio (3 decimals)."""
    parts = key.split(".")
    if parts[-1] in MONEY and "skill" not in parts:
        return "money"
    return "count" if parts[-1] in COUNTS else "ratio"


def cell(text: Any) -> str:
    """Text that cannot break a Markdown table row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    return "`" + cell(text).replace("`", "'") + "`"


def percent(share: float) -> str:
    return f"{share * 100:+.1f} %"


def number(value: Any, key: str = "") -> str:
    """A metric as a person reads it: 2,527,201 (money, counts), 0.452 (ratios), never 2.5e+06."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not _is_number(value):
        return cell(value)
    if _kind(key) != "ratio" or (isinstance(value, int) and abs(value) >= 1000):
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.3f}"


def change(new: Any, old: Any, key: str = "") -> str:
    if not (_is_number(new) and _is_number(old)):
        return ""
    delta = new - old
    if _kind(key) == "ratio":
        return f"{delta:+,.1f}" if abs(delta) >= 1000 else f"{delta:+.3f}"
    relative = f" ({percent(delta / abs(old))})" if old else ""
    return f"{delta:+,.0f}{relative}"


def param_value(value: Any) -> str:
    """A param as YAML would write it, floats without exponent notation."""
    if isinstance(value, float):
        text = repr(value)
        return cell(f"{Decimal(text):f}" if "e" in text else text)
    if value is None or isinstance(value, bool):
        return yaml.safe_dump(value).split("\n")[0]
    return cell(value)


# --- what each side was judged on ----------------------------------------------------------


def raw_data_hash(lock: dict | None) -> str | None:
    """The md5 that dvc.lock records for data/raw (whatever stage writes it)."""
    for stage in (lock or {}).get("stages", {}).values():
        for out in stage.get("outs", []) or []:
            if isinstance(out, dict) and out.get("path") == "data/raw":
                return str(out.get("md5") or out.get("hash") or "") or None
    return None


def data_description(params: dict | None) -> str:
    if not params:
        return "—"
    data = params.get("data") or {}
    source = data.get("source", "—")
    if source == "simulate":
        s = params.get("simulate") or {}
        drift = s.get("drift")
        parts = [
            f"{s.get('stores', '?')} stores",
            f"{s.get('regions', 1)} region" + ("" if s.get("regions", 1) == 1 else "s"),
            f"{s.get('weather', '?')} weather",
            f"{s.get('start', '?')}..{s.get('end', '?')}",
            f"seed {(params.get('base') or {}).get('seed', '?')}",
            "stock-outs" if s.get("stockouts") else "no stock-outs",
        ]
        if drift:
            parts.append(f"drift {drift}")
        return "simulate (" + ", ".join(param_value(p) for p in parts) + ")"
    files = [
        f"{name} {param_value(data[name])}"
        for name in ("sales", "stores", "weather", "weather_forecasts")
        if data.get(name) is not None
    ]
    return f"{param_value(source)} (" + ", ".join(files) + ")" if files else param_value(source)


def _test(side: Side) -> dict:
    return (side.metrics or {}).get("test") or {}


def period(side: Side) -> str:
    test = _test(side)
    return f"{test['start']}..{test['end']}" if "start" in test and "end" in test else "—"


def differences(base: Side, work: Side) -> list[str]:
    """Why the costs of the two sides cannot be compared (empty: they can)."""
    out = []
    hashes = raw_data_hash(base.lock), raw_data_hash(work.lock)
    if data_description(base.params) != data_description(work.params) or (
        all(hashes) and hashes[0] != hashes[1]
    ):
        out.append("other data")
    if period(base) != period(work):
        out.append("other test period")
    if _test(base).get("rows") != _test(work).get("rows"):
        out.append("other number of test rows")
    if _test(base).get("scored_against") != _test(work).get("scored_against"):
        out.append("scored against another target")
    return out


def service_level_target(side: Side) -> float | None:
    target = _test(side).get("service_level_target")
    if _is_number(target):
        return float(target)
    business = (side.params or {}).get("business") or {}
    try:
        under = business["price"] - business["unit_cost"]
        over = business["unit_cost"] - business["salvage"] + business["holding"]
        return under / (under + over)
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def calibration_gap(side: Side) -> float | None:
    """|service_level_mid - target|; None for a revision from before that measure."""
    level = ((side.metrics or {}).get("model") or {}).get("service_level_mid")
    target = service_level_target(side)
    return abs(level - target) if _is_number(level) and target is not None else None


# --- the verdict ---------------------------------------------------------------------------


def _money_verdict(new: dict, old: dict, base: str) -> str:
    cost = (new.get("model") or {}).get("cost")
    old_cost = (old.get("model") or {}).get("cost")
    if not (_is_number(cost) and _is_number(old_cost)):
        return f"no model cost to compare with {base}"
    delta = cost - old_cost
    if not delta:
        return f"as costly as {base} in money"
    share = f" ({percent(delta / old_cost)})" if old_cost else ""
    word = "cheaper" if delta < 0 else "dearer"
    return f"{word} than {base} by {abs(delta):,.0f} in money{share}"


def _skill_verdict(base_side: Side, work: Side, base: str, reasons: list[str]) -> str:
    """Skill and calibration, each side against its own baseline and target."""
    skill_new, skill_old = ((s.metrics or {}).get("skill") or {} for s in (work, base_side))
    judged = []  # (name, new, old, +1 higher is better / -1 lower is better)
    for key in ("cost", "wape"):
        judged.append((f"skill.{key}", skill_new.get(key), skill_old.get(key), +1))
    gaps = calibration_gap(work), calibration_gap(base_side)
    judged.append(("calibration |service_level_mid − τ*|", *gaps, -1))
    better, worse, parts = [], [], []
    for name, new, old, sign in judged:
        if not (_is_number(new) and _is_number(old)):
            continue
        parts.append(f"{name} {new:.3f} ({base} {old:.3f}, {new - old:+.3f})")
        if (new - old) * sign > SAME:
            better.append(name)
        elif (old - new) * sign > SAME:
            worse.append(name)
    if not parts:
        judgement = "no skill or calibration to judge on"
    elif better and not worse:
        judgement = "on skill and calibration it is **better**"
    elif worse and not better:
        judgement = "on skill and calibration it is **worse**"
    elif not better:
        judgement = "on skill and calibration it is as good"
    else:
        judgement = (
            f"on skill and calibration it is **mixed** (better: {', '.join(better)}; "
            f"worse: {', '.join(worse)})"
        )
    return (
        f"costs are **not comparable** with {base} ({', '.join(reasons)}), so money is not "
        f"compared; {judgement}" + (": " + "; ".join(parts) if parts else "")
    )


def verdict(base_side: Side, work: Side, base: str) -> str:
    new = work.metrics or {}
    gate = new.get("gate", {}).get("passed")
    gate_text = {True: "passes the gate", False: "**fails the gate**", None: "no gate verdict"}
    if base_side.metrics is None:
        judged = f"no metrics at {base} to compare with (first report)"
    else:
        reasons = differences(base_side, work)
        judged = (
            _skill_verdict(base_side, work, base, reasons)
            if reasons
            else _money_verdict(new, base_side.metrics, base)
        )
    return f"**Verdict:** {judged}; {gate_text[gate]}."


# --- the Markdown --------------------------------------------------------------------------


def _headline(base_side: Side, work: Side, comparable: bool) -> list[str]:
    flat_new, flat_old = flatten(work.metrics or {}), flatten(base_side.metrics or {})
    lines = [
        f"| metric | meaning | {base_side.label} | {work.label} | change |",
        "|---|---|---|---|---|",
    ]
    for key, meaning, _ in FIGURES:
        if key in flat_new or key in flat_old:
            a, b = flat_old.get(key), flat_new.get(key)
            delta = change(b, a, key)
            if delta and _kind(key) == "money" and not comparable:
                delta = "not comparable"
            lines.append(f"| `{key}` | {meaning} | {number(a, key)} | {number(b, key)} | {delta} |")
    checks = (work.metrics or {}).get("gate", {}).get("checks", {})
    if checks:
        lines += [
            "",
            "Gate: "
            + "; ".join(
                f"{name} {number(c.get('value'), name)} {cell(c.get('rule', ''))} "
                f"{'✅' if c.get('passed') else '❌'}"
                for name, c in checks.items()
            ),
        ]
    return lines


def _sides_table(rows: list[tuple[str, str, str]], base_side: Side, work: Side) -> list[str]:
    lines = [f"| | {base_side.label} | {work.label} |", "|---|---|---|"]
    return lines + [f"| {name} | {a} | {b} |" for name, a, b in rows]


def _data_section(base_side: Side, work: Side) -> list[str]:
    def rows_of(side: Side) -> list[str]:
        test = _test(side)
        digest = raw_data_hash(side.lock)
        target = service_level_target(side)
        return [
            data_description(side.params),
            f"`{digest[:8]}`" if digest else "—",
            period(side),
            number(test.get("rows"), "rows"),
            cell(test.get("scored_against", "—")),
            cell(test.get("forecasts", "—")),
            cell(test.get("model", "—")),
            f"{target:.3f}" if target is not None else "—",
        ]

    names = [
        "data source",
        "raw data (dvc.lock md5)",
        "test period",
        "test rows",
        "scored against",
        "weather forecasts",
        "model",
        "τ* (service level target)",
    ]
    rows = list(zip(names, rows_of(base_side), rows_of(work), strict=True))
    return ["", "## Data and test period", "", *_sides_table(rows, base_side, work)]


def _monitor_rows(monitor: dict | None) -> list[str]:
    if monitor is None:
        return ["no metrics/monitor.json"] + ["—"] * 7

    def score(block: Any) -> str:
        if not isinstance(block, dict) or not _is_number(block.get("score")):
            return "—"
        limit = block.get("threshold")
        return f"{block['score']:.3f}" + (f" (limit {limit:.3f})" if _is_number(limit) else "")

    window = monitor.get("window") or {}
    performance = monitor.get("performance") or {}
    drop = performance.get("skill_drop")
    limit = performance.get("threshold")
    drifted = monitor.get("drifted_features") or []
    return [
        f"**{cell(monitor.get('status', '—'))}**",
        f"{window['start']}..{window['end']}" if "start" in window and "end" in window else "—",
        score(monitor.get("demand_shift")),
        score(monitor.get("residual")),
        score(monitor.get("bias_shift")),
        (f"{drop:.3f}" + (f" (limit {limit:.3f})" if _is_number(limit) else ""))
        if _is_number(drop)
        else "—",
        score(monitor.get("stock")),
        f"{len(drifted)}: " + ", ".join(cell(f) for f in drifted) if drifted else "none",
    ]


def _monitor_section(base_side: Side, work: Side) -> list[str]:
    names = [
        "status",
        "window",
        "demand shift",
        "residual PSI",
        "bias shift",
        "skill drop",
        "stock skill drop (inventory.carry_over)",
        "drifted features (do not set the status)",
    ]
    rows = list(
        zip(names, _monitor_rows(base_side.monitor), _monitor_rows(work.monitor), strict=True)
    )
    return ["", "## Monitor (reports/monitor.json)", "", *_sides_table(rows, base_side, work)]


def _params_section(base_side: Side, work: Side, base: str) -> list[str]:
    lines = ["", "## Params", ""]
    if base_side.params is None:
        return [*lines, f"No params.yaml at {base}."]
    p_new, p_old = flatten(work.params or {}), flatten(base_side.params)
    changed = changed_params(p_old, p_new)
    if not changed:
        return [*lines, f"No param differs from {base}."]
    lines += [f"| param | {base_side.label} | {work.label} |", "|---|---|---|"]
    return lines + [
        f"| `{cell(k)}` | {param_value(p_old[k]) if k in p_old else '—'} | "
        f"{param_value(p_new[k]) if k in p_new else '—'} |"
        for k in changed
    ]


def changed_params(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The flat params keys whose values differ, sorted."""
    return sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k))


def _idle_knobs(base_side: Side, work: Side) -> list[str]:
    """A warning when changed params are knobs of a model other than the one trained (a
    `dvc exp run` in place leaves `train.model` behind for the next one)."""
    if base_side.params is None:
        return []
    p_new, p_old = flatten(work.params or {}), flatten(base_side.params)
    model = p_new.get("train.model")
    idle = [
        key
        for key in changed_params(p_old, p_new)
        if len(parts := key.split(".")) > 2
        and parts[0] == "train"
        and parts[1] in KNOBS
        and parts[1] != model
    ]
    if not idle:
        return []
    return [
        f"⚠️ **Warning:** changed, but knobs of a model that is not the one trained "
        f"({code(str(model))}): {', '.join(code(k) for k in idle)}. They change nothing; "
        "to try them, set `train.model` to their model.",
        "",
    ]


def _other_metrics(base_side: Side, work: Side) -> list[str]:
    if base_side.metrics is None:
        return []
    flat_new, flat_old = flatten(work.metrics or {}), flatten(base_side.metrics)
    headline = {k for k, _, _ in FIGURES}
    changed = sorted(
        k
        for k in flat_new.keys() | flat_old.keys()
        if k not in headline and flat_new.get(k) != flat_old.get(k)
    )
    if not changed:
        return []
    lines = [
        "",
        f"<details><summary>All {len(changed)} other changed metrics</summary>",
        "",
        f"| metric | {base_side.label} | {work.label} | change |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{cell(k)}` | {number(flat_old.get(k), k)} | {number(flat_new.get(k), k)} | "
        f"{change(flat_new.get(k), flat_old.get(k), k)} |"
        for k in changed
    ]
    return [*lines, "", "</details>"]


@dataclass(frozen=True)
class Plot:
    name: str
    base: str | None  # link to the base's image, relative to the report
    work: str | None  # link to the workspace's image
    same: bool  # the same bytes on both sides
    in_base: bool = False  # the base has this plot (linked only when the report is a file)


def _plots_section(plots: list[Plot] | None, base_side: Side, work: Side) -> list[str]:
    if plots is None:
        return [
            "",
            "## Plots",
            "",
            "Not shown here (this page cannot show local images): see the pull-request "
            "comment, `plots/` in the branch, or `dvc plots diff` against the base.",
        ]
    plots = [p for p in plots if p.base or p.work or p.in_base]
    if not plots:
        return []
    lines = ["", "## Plots"]
    for plot in plots:
        lines += ["", f"### {plot.name}", ""]
        if plot.same:
            lines.append(f"![{plot.name}]({plot.work}) (unchanged)")
            continue
        lines += [f"| {base_side.label} | {work.label} |", "|---|---|"]
        a = f"![{plot.name} at the base]({plot.base})" if plot.base else "—"
        if plot.in_base and not plot.base:
            a = "(written beside the report with `--out`)"
        b = f"![{plot.name} in the workspace]({plot.work})" if plot.work else "—"
        lines.append(f"| {a} | {b} |")
    return lines


def render(
    base_side: Side,
    work: Side,
    base: str,
    plots: list[Plot] | None = None,
    checkout: Path | None = None,
) -> str:
    """The report's Markdown. `base` is the base's name as Markdown; plots None: no images;
    checkout: the repository whose workspace is reported (named under the verdict)."""
    comparable = base_side.metrics is not None and not differences(base_side, work)
    lines = ["# Model report", "", verdict(base_side, work, base), ""]
    if checkout is not None:
        lines += [f"Compared: the workspace of {code(str(checkout))} with {base_side.label}.", ""]
    lines += _idle_knobs(base_side, work)
    lines += _headline(base_side, work, comparable)
    lines += _data_section(base_side, work)
    lines += _monitor_section(base_side, work)
    lines += _params_section(base_side, work, base)
    lines += _other_metrics(base_side, work)
    lines += _plots_section(plots, base_side, work)
    return "\n".join(lines) + "\n"


# --- the command ---------------------------------------------------------------------------


def _json(text: str | None, where: str) -> dict | None:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc})") from None


def _yaml(text: str | None, where: str) -> dict | None:
    if text is None:
        return None
    try:
        return read_yaml(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{where}: not valid YAML ({exc})") from None


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def write_plots(commit: str, out_dir: Path, assets: Path | None) -> list[Plot]:
    """Each plot of both sides as a link relative to the report; the base's written to assets
    (None: a report on stdout writes no files, and links the workspace's plots only)."""
    plots = []
    for name, paths in IMAGES.items():
        work_file = next((ROOT / p for p in paths if (ROOT / p).exists()), ROOT / paths[0])
        work_bytes = work_file.read_bytes() if work_file.exists() else None
        base_bytes = next(
            (b for b in (revisions.read_bytes(commit, p, ROOT) for p in paths) if b is not None),
            None,
        )
        work_link = os.path.relpath(work_file, out_dir) if work_bytes is not None else None
        base_link = None
        if base_bytes is not None and base_bytes != work_bytes and assets is not None:
            assets.mkdir(parents=True, exist_ok=True)
            (assets / f"base_{name}.png").write_bytes(base_bytes)
            base_link = os.path.relpath(assets / f"base_{name}.png", out_dir)
        same = base_bytes is not None and base_bytes == work_bytes
        posix = [Path(link).as_posix() if link else None for link in (base_link, work_link)]
        plots.append(Plot(name, posix[0], posix[1], same, base_bytes is not None))
    return plots


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="main", help="revision to compare with (main)")
    parser.add_argument("--out", type=Path, help="write the report here (default: stdout)")
    parser.add_argument(
        "--images",
        choices=["links", "none"],
        default="links",
        help="links: plots as local images beside the report, for `cml comment create` to "
        "upload (default); none: no images, for a job summary or a pull request's description",
    )


def main(args: argparse.Namespace) -> int:
    try:
        new = read_json(METRICS / "evaluate.json")
    except FileNotFoundError:
        raise DataError("metrics/evaluate.json: not found (run `dvc repro`)") from None
    commit = revisions.resolve(args.base, ROOT)

    def at_base(path: str) -> dict | None:
        return _json(revisions.read_text(commit, path, ROOT), f"{args.base}:{path}")

    def here(path: str) -> dict | None:
        return _json(_read(ROOT / path), path)

    base_side = Side(
        label=f"{code(args.base)} ({commit[:7]})",
        metrics=combine(at_base("metrics/evaluate.json"), at_base("reports/evaluate.json")),
        params=_yaml(revisions.read_text(commit, "params.yaml", ROOT), f"{args.base}:params.yaml"),
        monitor=combine(at_base("metrics/monitor.json"), at_base("reports/monitor.json")),
        lock=_yaml(revisions.read_text(commit, "dvc.lock", ROOT), f"{args.base}:dvc.lock"),
    )
    work = Side(
        label="workspace",
        metrics=combine(new, here("reports/evaluate.json")),
        params=_yaml(_read(PARAMS_FILE), "params.yaml"),
        monitor=combine(here("metrics/monitor.json"), here("reports/monitor.json")),
        lock=_yaml(_read(ROOT / "dvc.lock"), "dvc.lock"),
    )
    plots = None
    if args.images == "links":
        out_dir = (args.out.parent if args.out else Path()).resolve()
        assets = out_dir / f"{args.out.stem}_plots" if args.out else None
        plots = write_plots(commit, out_dir, assets)
    text = render(base_side, work, code(args.base), plots, checkout=ROOT)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0
