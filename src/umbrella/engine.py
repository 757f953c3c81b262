"""Where the per-partition work runs: in this process, one partition after the other
(`engine.kind: local`), or on dask.distributed (`dask`): a LocalCluster of `engine.workers`
processes started for the stage, or the running cluster at `engine.address`.

A task is a module-level function and its arguments (picklable), reading its partition's
files and writing its own; what it returns (small: sums, a sample) comes back in task
order, so the combined result does not depend on the engine or on which worker ran what.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from umbrella.params import Engine

if TYPE_CHECKING:
    from dask.distributed import Client

T = TypeVar("T")
R = TypeVar("R")


class Run(Protocol):
    def __call__(self, task: Callable[[T], R], inputs: Sequence[T]) -> list[R]:
        """task(x) for every x of inputs, results in the inputs' order."""
        ...


@contextmanager
def runner(engine: Engine) -> Iterator[Run]:
    """A Run on the engine, for the length of the block (a LocalCluster lives as long)."""
    if engine.kind == "local":
        yield _run_here
        return
    with _client(engine) as client:

        def run_on_dask(task: Callable[[Any], Any], inputs: Sequence[Any]) -> list[Any]:
            # pure=False: a task that writes files runs, never comes from a cache of results.
            return list(client.gather(client.map(task, list(inputs), pure=False)))

        yield run_on_dask


def _run_here(task: Callable[[T], R], inputs: Sequence[T]) -> list[R]:
    return [task(x) for x in inputs]


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
