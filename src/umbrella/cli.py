"""The `umbrella` command: one subcommand per pipeline stage and tool.

A subcommand is a module with `main(args)` (every stage has the same entry signature) and,
when it takes options, `add_arguments(parser)`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from umbrella.core.errors import STORAGE_ERRORS, UmbrellaError, WriteError
from umbrella.core.paths import require_root, shown

COMMANDS = {
    "sources": (
        "umbrella.stages.sources",
        "fingerprint the data sources (run by every dvc repro; pull re-runs when they change)",
    ),
    "pull": ("umbrella.stages.pull", "write the raw data (simulated retailer or csv) to data/raw/"),
    "validate": ("umbrella.stages.validate", "check the raw data; write data/interim/"),
    "features": ("umbrella.stages.features", "build the feature table in data/processed/"),
    "train": ("umbrella.stages.train", "fit the model of train.model; save it in models/"),
    "evaluate": ("umbrella.stages.evaluate", "rolling-origin evaluation in money"),
    "predict": ("umbrella.stages.predict", "forecasts and orders for the next days"),
    "monitor": ("umbrella.stages.monitor", "drift and performance decay of the latest window"),
    "report": ("umbrella.ops.report", "Markdown report: this workspace against a base revision"),
    "gate": ("umbrella.evaluation.gate", "exit 1 when the evaluated model fails the gate"),
    "tune": (
        "umbrella.ops.tune",
        "choose settings on the validation period (params.yaml tune), apply the best",
    ),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported (keeps start-up fast)."""
    parser = argparse.ArgumentParser(prog="umbrella", description=__doc__.splitlines()[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            add_arguments = getattr(importlib.import_module(module), "add_arguments", None)
            if add_arguments is not None:
                add_arguments(command)
    return parser


LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(chosen).parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format=LOG_FORMAT,
    )
    command = importlib.import_module(COMMANDS[args.command][0]).main
    try:
        require_root()  # outside a checkout: one clear error, not another clone's files
        result = command(args)
    except UmbrellaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in STORAGE_ERRORS:
            raise
        # Disk full, quota, read-only or permission: one line, and (writes being atomic)
        # no half-written output.
        where = shown(exc.filename) if exc.filename else "a file"
        what = f"writing {where}" if isinstance(exc, WriteError) else where
        reason = STORAGE_ERRORS[exc.errno]
        print(f"error: umbrella {args.command}: {what}: {reason}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
