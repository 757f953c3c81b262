"""Where the per-partition work runs: in this process, one partition after the other
(`engine.kind: local`), or on dask.distributed (`dask`): a LocalCluster of `engine.workers`
processes started for the stage, or the running cluster at `engine.address`.

A task is a module-level function of a partition number and the paths it reads and writes
(picklable arguments bound with functools.partial). It reads its partition's files and
writes its own; what it returns (small: sums, a sample) comes back in partition order, so
the combined result does not depend on the engine or on which worker ran what. The paths
are the checkout's, which the workers see at the same path (one machine, or a shared file
system), or with `engine.storage` local copies on each worker carried through object
storage (umbrella.core.storage).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from umbrella.core.errors import EngineError
from umbrella.core.params import Engine
from umbrella.core.storage import Exchange, staged

if TYPE_CHECKING:
    from dask.distributed import Client

R = TypeVar("R")
NO_PATHS: Mapping[str, Path] = {}
# Connecting to engine.address, and as long again for the scheduler's first answers (a
# scheduler answers at once): Dask's own limit, 30 s, leaves a silent service unbounded.
CONNECT_TIMEOUT_S = 10.0


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
    """The tasks' results; a worker that died on a task, or a lost scheduler, in one line."""
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError, FuturesCancelledError
    from distributed.comm import CommClosedError

    # pure=False: a task that writes files runs, never comes from a cache of results.
    futures = client.map(task, list(parts), pure=False)
    try:
        return list(client.gather(futures))
    except KilledWorker as exc:
        part = {future.key: part for future, part in zip(futures, parts, strict=True)}
        deaths = exc.allowed_failures + 1
        raise EngineError(
            f"engine: the Dask worker running partition {part.get(exc.task, exc.task)} died "
            f"({deaths} time{'s' if deaths != 1 else ''}): out of memory? Give the workers "
            "more memory or lower engine.stores_per_partition; the workers' logs say why"
        ) from None
    except (CommClosedError, FutureCancelledError, FuturesCancelledError) as exc:
        where = "" if client.scheduler is None else f" at {client.scheduler.address}"
        raise EngineError(
            f"engine: lost the Dask scheduler{where} while running tasks "
            f"({type(exc).__name__}: {_one_line(exc)})"
        ) from None


@contextmanager
def _client(engine: Engine) -> Iterator[Client]:
    # Imported here: the local engine never needs Dask at run time.
    from dask.distributed import Client, LocalCluster

    # The cluster's own start and stop messages are not the stage's news; nor the client's
    # tracebacks when it loses the scheduler: _gather says so in a line.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)

    if engine.address is not None:
        _check_scheduler(engine.address)
        try:
            connected = Client(engine.address, timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:  # TimeoutError included: gone since the check
            raise EngineError(
                f"engine.address: cannot connect to the Dask scheduler at {engine.address} "
                f"({_one_line(exc)})"
            ) from None
        with connected as client:
            yield client
        return
    # One thread per worker process: the work is numpy/pandas, and scikit-learn's boosting
    # uses OpenMP threads of its own. The worker processes print nothing below CRITICAL: their
    # tracebacks (a heartbeat that finds the scheduler already gone while the cluster stops,
    # seen in CI after a stage that succeeded) are not the stage's news, and a task that fails
    # reaches the stage through the client, said in a line (_gather).
    with (
        LocalCluster(
            n_workers=engine.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _check_scheduler(address: str) -> None:
    """EngineError unless a Dask scheduler answers at `address`: within CONNECT_TIMEOUT_S
    to connect, as long again for its answers.

    Dask's client waits 30 s on a closed port, forever on a service that accepts and
    stays silent, and reads another service's answer (an HTTP server's "400 Bad Request")
    as a message of any length: "Unable to allocate 3.07 EiB". Asked who it is, a
    scheduler says {"type": "Scheduler", ...}.
    """
    from distributed.comm import CommClosedError, connect

    async def identity() -> Any:
        # connect retries a refused connection until its timeout, then waits for the
        # other side's handshake without one: the wait_for below bounds that.
        comm = await connect(address, timeout=CONNECT_TIMEOUT_S)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    not_dask = f"engine.address: {address} is not a Dask scheduler"
    try:
        answer = asyncio.run(asyncio.wait_for(identity(), 2 * CONNECT_TIMEOUT_S))
    except TimeoutError:
        raise EngineError(
            f"{not_dask}: it accepted the connection but did not answer as one within "
            f"{2 * CONNECT_TIMEOUT_S:g} s (another service at that port, or a stuck scheduler?)"
        ) from None
    except CommClosedError:
        raise EngineError(f"{not_dask}: it closed the connection (another service?)") from None
    except OSError as exc:  # refused, unknown host: retried until CONNECT_TIMEOUT_S
        raise EngineError(
            f"engine.address: cannot connect to {address} within {CONNECT_TIMEOUT_S:g} s "
            f"({_root_cause(exc)}); is the scheduler running, the address right?"
        ) from None
    except (MemoryError, ValueError, TypeError, KeyError, IndexError):
        answer = None  # the bytes of another protocol read as a Dask message
    if not (isinstance(answer, dict) and answer.get("type") == "Scheduler"):
        raise EngineError(f"{not_dask}: another service answered at that port")


def _root_cause(exc: BaseException) -> str:
    """The first error of a chain (Dask wraps a refused connection in its own timeout) in a
    line; not the cancellation of an attempt that timed out, which says nothing."""
    while True:
        cause = exc.__cause__ or exc.__context__
        if cause is None or isinstance(cause, asyncio.CancelledError):
            break
        exc = cause
    return f"{type(exc).__name__}: {_one_line(exc)}".removesuffix(": ")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
