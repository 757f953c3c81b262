"""The files of a stage's tasks through object storage, for a cluster whose workers do not
see this checkout (`engine.storage`: an fsspec URL such as s3://bucket/umbrella).
Credentials and endpoint come from the storage's usual environment on the driver and on
every worker (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or an instance role, and
AWS_ENDPOINT_URL for an S3-compatible store); never from params.yaml.

Each engine session (one stage) gets a folder of its own, <storage>/<random id>/, removed
when the stage ends, so stages and experiments running at once never share files:

- the driver uploads what the tasks read to reads/<n>/ (a file, or a folder of tables);
- a task, on its worker, downloads into a scratch folder the files it needs (of every
  folder: its own partition's part-NNNNN files and the files all partitions share), runs
  on those local paths, and uploads what it wrote to writes/<name>/;
- the driver downloads writes/<name>/ into the stage's own folder.

A task therefore sees local files whatever the engine, and DVC tracks the checkout's
folders as always: object storage only carries them between the driver and the workers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from fsspec.core import url_to_fs

_PART = re.compile(r"^part-(\d+)\.")


@dataclass(frozen=True)
class Read:
    """Where a task's input lies in the session's folder: a folder, or one file of it."""

    folder: str  # relative to the session's URL
    file: str | None  # None: the whole folder (its partition's files)


def _files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*")) if p.is_file())


def belongs(name: str, part: int) -> bool:
    """True for a file partition `part` needs: its own part-NNNNN, or any other file."""
    match = _PART.match(name)
    return match is None or int(match.group(1)) == part


class Exchange:
    """The driver's side: one session folder under the storage URL."""

    def __init__(self, storage: str) -> None:
        self.url = f"{storage.rstrip('/')}/{uuid.uuid4().hex}"
        self.fs, self.root = url_to_fs(self.url)
        self._reads: dict[Path, Read] = {}

    def publish(self, local: Path) -> Read:
        """Upload a file or folder (once per session); where the tasks find it."""
        local = local.resolve()
        if local not in self._reads:
            folder = f"reads/{len(self._reads)}"
            if local.is_dir():
                for file in _files(local):
                    self._put(file, f"{folder}/{file.relative_to(local).as_posix()}")
                self._reads[local] = Read(folder, None)
            else:
                self._put(local, f"{folder}/{local.name}")
                self._reads[local] = Read(folder, local.name)
        return self._reads[local]

    def _put(self, file: Path, key: str) -> None:
        self.fs.put_file(str(file), f"{self.root}/{key}")

    def fetch(self, name: str, local: Path) -> None:
        """Download what the tasks wrote as `name` into the folder `local`."""
        download(self.fs, f"{self.root}/writes/{name}", local, lambda _: True)

    def close(self) -> None:
        if self.fs.exists(self.root):
            self.fs.rm(self.root, recursive=True)


def download(fs: Any, remote: str, local: Path, wanted: Callable[[str], bool]) -> None:
    """The files under `remote` that are `wanted` (by name) into `local`, same layout; every
    folder is made, so a folder with none of the wanted files still exists."""
    local.mkdir(parents=True, exist_ok=True)
    fs.invalidate_cache(remote)  # a listing cached before the tasks wrote is stale
    for path in sorted(fs.find(remote)):
        target = local / path[len(remote) + 1 :]
        target.parent.mkdir(parents=True, exist_ok=True)
        if wanted(target.name):
            fs.get_file(path, str(target))


def staged(
    part: int,
    task: Callable[..., Any],
    url: str,
    reads: Mapping[str, Read],
    writes: tuple[str, ...],
) -> Any:
    """On a worker: task(part, **paths) on local copies of its inputs; its outputs uploaded."""
    fs, root = url_to_fs(url)
    with TemporaryDirectory(prefix="umbrella-") as scratch:
        paths: dict[str, Path] = {}
        for name, read in reads.items():
            folder = Path(scratch, "reads", name)
            download(fs, f"{root}/{read.folder}", folder, lambda file: belongs(file, part))
            paths[name] = folder if read.file is None else folder / read.file
        for name in writes:
            paths[name] = Path(scratch, "writes", name)
            paths[name].mkdir(parents=True)
        result = task(part, **paths)
        for name in writes:
            for file in _files(paths[name]):
                key = file.relative_to(paths[name]).as_posix()
                fs.put_file(str(file), f"{root}/writes/{name}/{key}")
    return result
