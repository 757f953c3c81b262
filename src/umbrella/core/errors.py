"""Errors that mean bad input, not a bug: the CLI prints them without a traceback."""

import errno

MAX_LISTED = 5  # rows, stores or examples an error lists before saying how many in all


def first_few(values: list[str]) -> str:
    """The first MAX_LISTED of `values`, comma-separated, with how many there are in all."""
    more = f", ... ({len(values)} in all)" if len(values) > MAX_LISTED else ""
    return ", ".join(values[:MAX_LISTED]) + more


class UmbrellaError(Exception):
    """Base class: the message is meant for the user and exits the CLI with status 2."""


class ParamsError(UmbrellaError):
    """params.yaml has an unknown key, a missing key or a value of the wrong type."""


class DataError(UmbrellaError):
    """An input file is missing, unreadable or breaks the data contract."""


class EngineError(UmbrellaError):
    """The Dask cluster (engine.*) cannot be reached, is not one, or lost its workers."""


# Errors of the storage, not of the program: the CLI says them in one line, no traceback.
STORAGE_ERRORS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


class WriteError(OSError):
    """A storage error (STORAGE_ERRORS) while writing an output; `filename` is the output."""
