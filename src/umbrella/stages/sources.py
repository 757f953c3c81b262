"""sources: fingerprint the configured data sources, on every `dvc repro` (always_changed).

It also loads all of params.yaml, so an unknown or bad key anywhere fails every run, even
a key that no stage tracks.
"""

from __future__ import annotations

import argparse
import logging

from umbrella.core.files import write_json
from umbrella.core.freshness import today
from umbrella.core.params import load_params
from umbrella.core.paths import SOURCES
from umbrella.data.sources.fingerprint import fingerprint

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> None:
    params = load_params()
    found = fingerprint(params.data, today())
    write_json(found, SOURCES / "fingerprint.json")
    log.info("fingerprinted the sources: %s", ", ".join(sorted(found)))
