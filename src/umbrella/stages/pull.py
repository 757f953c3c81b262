"""pull: write the raw tables of the configured source to data/raw/ (data/sources/retailer.py).

--refresh fetches every Open-Meteo chunk again and rewrites its cache entry (as the param
open_meteo.refresh does): the way out of an answer the service has since corrected.
"""

from __future__ import annotations

import argparse

from umbrella.core.files import replace_folder
from umbrella.core.params import load_params
from umbrella.core.paths import RAW
from umbrella.data.sources.retailer import pull


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="fetch every Open-Meteo chunk again, ignoring and rewriting its cache",
    )


def main(args: argparse.Namespace) -> None:
    params = load_params()
    if args.refresh:
        refreshed = params.open_meteo.model_copy(update={"refresh": True})
        params = params.model_copy(update={"open_meteo": refreshed})
    # No file of another source lingers, and a failed pull leaves the raw data as it was.
    replace_folder(RAW, lambda folder: pull(params, folder))
