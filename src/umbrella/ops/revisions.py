"""Read files of another Git revision, safely: the revision is a value a user typed.

`resolve` verifies it (`git rev-parse --verify --end-of-options REV^{commit}`) and returns the
full commit id, or raises `RevisionError` saying that it does not exist here and how to fetch
it. Every git call that takes a user's value puts it after `--end-of-options`, so a value such
as `--output=/tmp/x` is a (missing) revision, never an option of git.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from umbrella.core.errors import UmbrellaError


class RevisionError(UmbrellaError):
    """A revision that this repository does not have (a typo, or not fetched)."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def fetch_hint(rev: str) -> str:
    """How to get `rev` into this clone: the remote branch it names, or main by default."""
    remote, _, branch = rev.partition("/")
    if branch and remote == "origin" and not branch.startswith("-"):
        return f"git fetch origin {branch}"
    if rev and not rev.startswith("-") and all(c.isalnum() or c in "._/-" for c in rev):
        return f"git fetch origin {rev}"
    return "git fetch origin main"


def resolve(rev: str, cwd: Path) -> str:
    """The full commit id of `rev`, or a RevisionError that says how to fetch it."""
    if not (cwd / ".git").exists():
        inside = _git(["rev-parse", "--is-inside-work-tree"], cwd)
        if inside.returncode != 0:
            raise RevisionError(
                f"{cwd} is not a Git repository: there is no `{rev}` to compare with"
            )
    result = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], cwd
    )
    if result.returncode != 0:
        raise RevisionError(
            f"revision `{rev}` does not exist in this repository (a typo, or not fetched): "
            f"fetch it with `{fetch_hint(rev)}`; on GitHub Actions check out with "
            "actions/checkout and `fetch-depth: 0`"
        )
    return result.stdout.decode().strip()


def read_bytes(commit: str, path: str, cwd: Path) -> bytes | None:
    """A file's bytes at a verified commit (from `resolve`), or None when it has no such file."""
    result = _git(["cat-file", "blob", "--end-of-options", f"{commit}:{path}"], cwd)
    return result.stdout if result.returncode == 0 else None


def read_text(commit: str, path: str, cwd: Path) -> str | None:
    data = read_bytes(commit, path, cwd)
    return None if data is None else data.decode("utf-8")
