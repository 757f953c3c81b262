"""The `umbrella` command: one subcommand per pipeline stage and tool."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from umbrella.errors import UmbrellaError

STAGES = {
    "pull": "write the raw data (simulated retailer or csv files) to data/raw/",
    "validate": "check the raw data against the data contract; write data/interim/",
    "features": "build the multi-horizon feature table in data/processed/",
    "train": "fit the model chosen in params.yaml (train.model) and save it in models/",
    "evaluate": "rolling-origin evaluation in money against seasonal naive and the oracle",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="umbrella", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in STAGES.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command in STAGES:
            importlib.import_module(f"umbrella.stages.{args.command}").main()
    except UmbrellaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
