"""pull: write the raw tables of the configured source to data/raw/ (umbrella.retailer)."""

from __future__ import annotations

import argparse

from umbrella.io import replace_folder
from umbrella.params import load_params
from umbrella.paths import RAW
from umbrella.retailer import pull


def main(args: argparse.Namespace) -> None:
    params = load_params()
    # No file of another source lingers, and a failed pull leaves the raw data as it was.
    replace_folder(RAW, lambda folder: pull(params, folder))
