"""Errors that mean bad input, not a bug: the CLI prints them without a traceback."""


class UmbrellaError(Exception):
    """Base class: the message is meant for the user and exits the CLI with status 2."""


class ParamsError(UmbrellaError):
    """params.yaml has an unknown key, a missing key or a value of the wrong type."""


class DataError(UmbrellaError):
    """An input file is missing, unreadable or breaks the data contract."""
