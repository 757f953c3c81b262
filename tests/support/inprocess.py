"""Run the `umbrella` command in this process against another root, as UMBRELLA_ROOT does for a
new process, so that many runs (the fuzz suite) stay fast.

`umbrella.core.paths` reads UMBRELLA_ROOT once, at import: `rooted(root)` re-points every path
constant of every umbrella module, and every default argument that is such a path, at `root`
for the duration of the block.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import logging
import os
import pkgutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def _load() -> list:
    # Every module imported up front: one first imported inside `rooted` would keep that
    # block's temporary paths for the blocks after it (seen: `umbrella pull` writing into an
    # earlier test's folder).
    import umbrella

    for module in pkgutil.walk_packages(umbrella.__path__, "umbrella."):
        if not module.name.endswith(".__main__"):  # that one runs the command
            importlib.import_module(module.name)
    return [m for n, m in list(sys.modules.items()) if n == "umbrella" or n.startswith("umbrella.")]


@contextlib.contextmanager
def rooted(root: Path) -> Iterator[None]:
    import umbrella.core.paths as paths

    modules = _load()
    old_root = paths.ROOT

    def moved(value: object) -> object:
        """A path inside the checkout (paths' constants and those built from them, such as
        a stage's plot folder) at the same place under `root`."""
        if isinstance(value, Path) and value.is_relative_to(old_root):
            return root / value.relative_to(old_root)
        return value

    undo: list[tuple[object, str, object]] = []
    for module in modules:
        for name, value in list(vars(module).items()):
            if moved(value) is not value:
                undo.append((module, name, value))
                setattr(module, name, moved(value))
            elif inspect.isfunction(value) and value.__defaults__:
                defaults = value.__defaults__
                new = tuple(moved(d) for d in defaults)
                if new != defaults:
                    undo.append((value, "__defaults__", defaults))
                    value.__defaults__ = new
    cwd = Path.cwd()
    os.chdir(root)  # dvclive and friends look around the working directory
    try:
        yield
    finally:
        os.chdir(cwd)
        for target, name, value in reversed(undo):
            setattr(target, name, value)


@dataclass(frozen=True)
class Result:
    code: int
    stderr: str
    error: BaseException | None  # an exception that escaped main (a traceback for a user)
    stdout: str = ""

    @property
    def returncode(self) -> int:  # as subprocess.CompletedProcess names it
        return self.code


def umbrella_in(root: Path, args: list[str], quiet: bool = True) -> Result:
    """`umbrella ARGS` against `root`, in this process: exit code, standard error and output
    (`quiet`: with -q, warnings and errors only)."""
    from umbrella import cli

    stderr, stdout = io.StringIO(), io.StringIO()
    error = None
    # The command's log lines on its standard error: pytest's own handler on the root logger
    # makes the command's logging.basicConfig a no-op here.
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter(cli.LOG_FORMAT))
    handler.setLevel(logging.WARNING if quiet else logging.INFO)
    logger = logging.getLogger()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, handler.level))
    with rooted(root), contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        try:
            code = cli.main([*(["-q"] if quiet else []), *args])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:
            code, error = 1, exc
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
    return Result(code, stderr.getvalue(), error, stdout.getvalue())
