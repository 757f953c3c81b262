"""Where the per-partition work runs: in this process, one partition after the other
(`engine.kind: local`), or on dask.distributed (`dask`): a LocalCluster of `engine.workers`
processes started for the stage, or the running cluster at `engine.address`.

A task is a module-level function of a partition number and the paths it reads and writes
(picklable arguments bound with functools.partial). It reads its partition's files and
writes its own; what it returns (small: sums, a sample) comes back in partition order, so
the combined result does not depend on the engine or on which worker ran what. The paths
are the checkout's, which the workers see at the same path (one machine, or a shared file
system), or with `engine.storage` local copies on each worker carried through object
storage (umbrella.storage).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from umbrella.params import Engine
from umbrella.storage import Exchange, staged

if TYPE_CHECKING:
    from dask.distributed import Client

R = TypeVar("R")
NO_PATHS: Mapping[str, Path] = {}


class Run(Protocol):
    def __call__(
        self,
        task: Callable[..., R],
        parts: Sequence[int],
        reads: Mapping[str, Path] = NO_PATHS,
        writes: Mapping[str, Path] = NO_PATHS,
    ) -> list[R]:
        """task(part, **reads, **writes) for every part, results in the parts' order.
        `reads` name the files or folders the task reads, `writes` the folders it writes."""
        ...


@contextmanager
def runner(engine: Engine) -> Iterator[Run]:
    """A Run on the engine, for the length of the block (a LocalCluster lives as long)."""
    if engine.kind == "local":
        yield _run_here
        return
    with _client(engine) as client:
        exchange = None if engine.storage is None else Exchange(engine.storage)
        try:

            def run_on_dask(
                task: Callable[..., Any],
                parts: Sequence[int],
                reads: Mapping[str, Path] = NO_PATHS,
                writes: Mapping[str, Path] = NO_PATHS,
            ) -> list[Any]:
                if exchange is None:  # the workers see the checkout
                    return _gather(client, partial(task, **reads, **writes), parts)
                remote = partial(
                    staged,
                    task=task,
                    url=exchange.url,
                    reads={name: exchange.publish(path) for name, path in reads.items()},
                    writes=tuple(writes),
                )
                results = _gather(client, remote, parts)
                for name, folder in writes.items():
                    exchange.fetch(name, folder)
                return results

            yield run_on_dask
        finally:
            if exchange is not None:
                exchange.close()


def _run_here(
    task: Callable[..., R],
    parts: Sequence[int],
    reads: Mapping[str, Path] = NO_PATHS,
    writes: Mapping[str, Path] = NO_PATHS,
) -> list[R]:
    return [task(part, **reads, **writes) for part in parts]


def _gather(client: Client, task: Callable[[int], Any], parts: Sequence[int]) -> list[Any]:
    # pure=False: a task that writes files runs, never comes from a cache of results.
    return list(client.gather(client.map(task, list(parts), pure=False)))


@contextmanager
def _client(engine: Engine) -> Iterator[Client]:
    # Imported here: the local engine never needs Dask at run time.
    from dask.distributed import Client, LocalCluster

    # The cluster's own start and stop messages are not the stage's news.
    logging.getLogger("distributed").setLevel(logging.WARNING)

    if engine.address is not None:
        with Client(engine.address) as client:
            yield client
        return
    # One thread per worker process: the work is numpy/pandas, and scikit-learn's boosting
    # uses OpenMP threads of its own.
    with (
        LocalCluster(
            n_workers=engine.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
