"""Partitioned data and the engines: the same bytes whatever the partitioning, the engine
or the number of workers (docs/scale.md)."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, TINY, deep_merge, make_params, set_params, umbrella
from dask.distributed import Client, LocalCluster
from support.inprocess import umbrella_in
from support.object_store import BUCKET, keys, s3_service

from umbrella.core import engine as engine_module
from umbrella.core.engine import runner
from umbrella.core.errors import EngineError
from umbrella.core.params import Engine
from umbrella.core.partitions import (
    partition_count,
    read_all,
    read_part,
    store_groups,
    write_partitioned,
)
from umbrella.core.sampling import row_uniform, smallest_uniform, watched_stores
from umbrella.forecast.training_sample import training_sample

# Sampled: the training rows (max_rows) and the monitored stores (max_stores).
FIVE_STORES = deep_merge(
    TINY,
    {"simulate": {"stores": 5}, "train": {"max_rows": 3000}, "monitor": {"max_stores": 3}},
)


def test_store_groups_cut_the_sorted_stores() -> None:
    assert store_groups(["s3", "s1", "s2", "s1", "s5"], 2) == [["s1", "s2"], ["s3", "s5"]]
    assert store_groups(["b", "a"], 250) == [["a", "b"]]


def test_partitions_round_trip(tmp_path: Path) -> None:
    sales = pd.DataFrame({"store": ["c", "a", "b", "a"], "units": [1, 2, 3, 4]})
    weather = pd.DataFrame({"date": pd.to_datetime(["2015-01-01"]), "rain_mm": [1.5]})
    groups = [["a"], ["b"], ["c"], ["d"]]  # d has no rows: its file is empty
    write_partitioned(sales, tmp_path / "sales", groups)
    write_partitioned(weather, tmp_path / "weather", groups)
    assert partition_count(tmp_path / "sales") == 4
    assert read_part(tmp_path / "sales", 0)["units"].tolist() == [2, 4]
    assert read_part(tmp_path / "sales", 3).empty
    assert read_all(tmp_path / "sales")["store"].tolist() == ["a", "a", "b", "c"]
    # A table without a store column is shared: every partition reads all of it.
    pd.testing.assert_frame_equal(read_part(tmp_path / "weather", 2), weather)


def test_row_uniform_ignores_store_names_order_and_partition() -> None:
    rows = pd.DataFrame({"store": ["a", "b", "c"], "units": [1.0, 2.0, 1.0], "h": [1, 1, 1]})
    u = row_uniform(rows, seed=7)
    assert ((u >= 0) & (u < 1)).all()
    renamed = rows.assign(store=["x", "y", "z"]).iloc[::-1]
    np.testing.assert_array_equal(row_uniform(renamed, seed=7), u[::-1])
    assert u[0] == u[2]  # identical rows of two stores: interchangeable
    assert not np.array_equal(row_uniform(rows, seed=8), u)


def test_watched_stores_all_or_a_seeded_sample() -> None:
    stores = [f"S{i:03d}" for i in range(50)]
    assert watched_stores(stores, 50, seed=1) is None
    some = watched_stores(stores, 10, seed=1)
    assert some is not None and len(some) == 10 and some <= set(stores)
    assert watched_stores(stores[::-1], 10, seed=1) == some
    assert watched_stores(stores, 10, seed=2) != some


def test_smallest_uniform_of_the_parts_is_that_of_the_whole() -> None:
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"store": rng.choice(list("abcd"), 500), "x": rng.normal(size=500)})
    whole = smallest_uniform(rows, 40, seed=1)
    parts = [smallest_uniform(part, 40, seed=1) for _, part in rows.groupby("store")]
    pd.testing.assert_frame_equal(smallest_uniform(pd.concat(parts), 40, seed=1), whole)


def test_training_sample_is_the_same_whatever_the_partitions(tmp_path: Path) -> None:
    features = pd.DataFrame(
        {
            "store": np.repeat(["a", "b", "c", "d", "e"], 400),
            "origin": np.tile(pd.date_range("2015-01-01", periods=400), 5),
            "horizon": 1,
            "units": np.arange(2000, dtype=float) % 17,
            "censored": False,
        }
    ).assign(date=lambda f: f["origin"] + pd.Timedelta(days=1))
    local = make_params().engine
    samples = []
    for per_partition in (1, 2, 5):
        folder = tmp_path / str(per_partition)
        write_partitioned(features, folder, store_groups(features["store"], per_partition))
        with runner(local) as run:
            rows, total = training_sample(folder, pd.Timestamp("2016-01-01"), "keep", 1000, 42, run)
        assert total == len(features[features["date"] < "2016-01-01"])
        samples.append(rows.reset_index(drop=True))
    assert 800 < len(samples[0]) < 1200  # about max_rows
    for other in samples[1:]:
        pd.testing.assert_frame_equal(other, samples[0])


OUTPUTS = [
    "reports/validation.json",
    "metrics/evaluate.json",
    "reports/evaluate.json",
    "models/model.skops",
    "models/validation/model.skops",
    "plots/evaluate/horizon.csv",
    "plots/evaluate/cost.csv",
    "plots/evaluate/forecast.csv",
    "plots/evaluate/residuals.csv",
    "data/predictions/orders.csv",
    "metrics/monitor.json",
    "reports/monitor.json",
    "plots/monitor/drift.csv",
]


def _pipeline(folder: Path, engine: dict) -> dict[str, bytes]:
    """The simulated retailer's pipeline, its raw data pulled by partition."""
    folder.mkdir()
    shutil.copy(REPO / "params.yaml", folder / "params.yaml")
    set_params(folder, deep_merge(FIVE_STORES, {"engine": engine}))
    for stage in ("pull", "validate", "features", "train", "evaluate", "predict", "monitor"):
        result = umbrella([stage], folder)
        assert result.returncode == 0, (engine, stage, result.stderr)
        assert "Traceback" not in result.stderr
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


DASK = str(Path(sys.executable).parent / "dask")
SCHEDULER = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
WORKERS = [DASK, "worker", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"]
WORKERS += ["--host", "127.0.0.1"]


def _scheduler_address(path: Path) -> str:
    """The address in the scheduler file once it is written whole (it may exist, empty or
    half written, before)."""
    for _ in range(240):
        try:
            return json.loads(path.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.5)
    raise TimeoutError(f"no scheduler address in {path} after 120 s")


def _on_an_existing_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """`engine.address` and `engine.storage`: a scheduler and two workers started on their
    own (as `dask scheduler` and `dask worker` run on a cluster's machines; here on
    127.0.0.1, in a folder of their own, UMBRELLA_ROOT an empty folder), the tasks' files
    carried through S3 (a local S3 service), the bucket left empty."""
    address_file = tmp_path / "scheduler.json"
    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    with s3_service() as s3:
        for name, value in s3.items():
            monkeypatch.setenv(name, value)
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"), UMBRELLA_ROOT=str(elsewhere))

        def start(command: list[str]) -> subprocess.Popen:
            return subprocess.Popen(
                [*command, "--scheduler-file", str(address_file)],
                env=env,
                cwd=elsewhere,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        started = [start(SCHEDULER)]
        try:
            address = _scheduler_address(address_file)
            started.append(start(WORKERS))
            with Client(address) as client:
                client.wait_for_workers(2, timeout=120)
            engine = {"kind": "dask", "address": address, "stores_per_partition": 2}
            on_cluster = _pipeline(
                tmp_path / "remote", engine | {"storage": f"s3://{BUCKET}/umbrella"}
            )
        finally:
            for process in reversed(started):
                process.terminate()
                process.wait(timeout=60)
        assert keys(s3) == []
    assert not any(elsewhere.iterdir())  # the workers wrote nothing where they run
    return on_cluster


@pytest.mark.slow
def test_every_engine_gives_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One partition here, three here, three on a 2-worker Dask LocalCluster, three on an
    existing cluster through object storage: the metrics, the reports, the model, the plots'
    data and the orders are the same bytes."""
    one = _pipeline(tmp_path / "one", {"stores_per_partition": 250})
    three = _pipeline(tmp_path / "three", {"stores_per_partition": 2})
    for table in ("raw/sales", "interim/sales", "processed/features"):
        assert len(list((tmp_path / "three" / "data" / table).glob("part-*"))) == 3, table
    dask = _pipeline(tmp_path / "dask", {"kind": "dask", "workers": 2, "stores_per_partition": 2})
    on_cluster = _on_an_existing_cluster(tmp_path, monkeypatch)
    for name in OUTPUTS:
        assert three[name] == one[name], name
        assert dask[name] == one[name], name
        assert on_cluster[name] == one[name], name


@pytest.mark.slow
def test_partitioned_raw_data_is_validated_partition_by_partition(tmp_path: Path) -> None:
    """A bad value in one partition's file and a partition missing a file of a table the
    others have: every problem named by file, column and line, exit 2, data/interim/ as it
    was."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    set_params(root, deep_merge(FIVE_STORES, {"engine": {"stores_per_partition": 2}}))
    for stage in ("pull", "validate"):
        assert umbrella([stage], root).returncode == 0
    interim = {p: p.read_bytes() for p in (root / "data" / "interim").rglob("*.parquet")}
    raw = root / "data" / "raw"
    sales = raw / "sales" / "part-00001.csv"
    lines = sales.read_text().split("\n")
    header = lines[0].split(",")
    cells = lines[6].split(",")
    cells[header.index("units")] = "-3"
    lines[6] = ",".join(cells)
    sales.write_text("\n".join(lines))
    (raw / "truth" / "part-00002.csv").unlink()

    result = umbrella(["validate"], root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "data/raw/sales/part-00001.csv, column units: must be >= 0 (1 row; lines 7" in (
        result.stderr
    )
    assert "data/raw/truth/part-00002.csv" in result.stderr
    report = json.loads((root / "reports" / "validation.json").read_text())
    assert report["ok"] is False and report["problems"] == 2
    assert {p: p.read_bytes() for p in (root / "data" / "interim").rglob("*.parquet")} == interim


# engine.address that is not a Dask scheduler, and workers that die: one line, no traceback.


def dask_engine(address: str | None = None, workers: int = 1) -> Engine:
    return Engine(
        kind="dask", address=address, workers=workers, stores_per_partition=1, storage=None
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Answers400(socketserver.BaseRequestHandler):
    """An HTTP server as most are: it answers bytes it cannot parse at once."""

    def handle(self) -> None:
        self.request.recv(1024)
        self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def short_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "CONNECT_TIMEOUT_S", 0.5)


@pytest.fixture
def serve() -> Iterator:
    servers: list[socketserver.TCPServer] = []

    def start(handler: type[socketserver.BaseRequestHandler]) -> str:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}).start()
        servers.append(server)
        return f"tcp://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("handler", "said"),
    [
        # Python's http.server waits for a line Dask's handshake does not end: Dask waited
        # forever.
        (
            _Quiet,
            "is not a Dask scheduler: it accepted the connection but did not answer as one "
            "within 1 s (another service at that port, or a stuck scheduler?)",
        ),
        # Dask read "HTTP/1.1" as a message length: "Unable to allocate 3.07 EiB".
        (_Answers400, "is not a Dask scheduler: another service answered at that port"),
    ],
)
@pytest.mark.slow
def test_an_http_server_is_not_a_dask_scheduler(
    short_connect: None, serve, handler: type, said: str
) -> None:
    address = serve(handler)
    with pytest.raises(EngineError) as info, runner(dask_engine(address)):
        pass
    assert str(info.value) == f"engine.address: {address} {said}"


def test_nothing_listening_at_the_scheduler_address(short_connect: None) -> None:
    """Dask retried a refused connection for 30 s, then raised with a traceback."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(EngineError) as info, runner(dask_engine(address)):
        pass
    # Under load Dask's 0.5 s can run out before the refusal is seen: the cause is then
    # its own timeout. Either is the truth; the message's frame is the same.
    causes = "ConnectionRefusedError: \\[Errno 111\\] Connection refused|TimeoutError"
    assert re.fullmatch(
        rf"engine\.address: cannot connect to {re.escape(address)} within 0\.5 s "
        rf"\(({causes})\); is the scheduler running, the address right\?",
        str(info.value),
    )


def test_a_running_scheduler_passes_the_check(short_connect: None) -> None:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        runner(dask_engine(cluster.scheduler_address)) as run,
    ):
        assert run(abs, [-1, 2]) == [1, 2]


def test_a_worker_that_dies_is_one_line() -> None:
    """A task that kills its worker (os._exit here; out of memory in life): KilledWorker
    with a traceback, now an EngineError naming the partition."""
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        pytest.raises(EngineError) as info,
        runner(dask_engine()) as run,
    ):
        run(os._exit, [3])
    assert str(info.value) == (
        "engine: the Dask worker running partition 3 died (1 time): out of memory? Give the "
        "workers more memory or lower engine.stores_per_partition; the workers' logs say why"
    )


STARTED, RELEASE = threading.Event(), threading.Event()


def _blocks(part: int) -> int:
    """A task that runs until the test releases it (the workers run in the test's process)."""
    STARTED.set()
    RELEASE.wait(60)
    return part


@pytest.mark.slow
def test_a_lost_scheduler_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """The scheduler goes away while a task runs: the client logged tracebacks, then
    raised FutureCancelledError with one of its own."""
    STARTED.clear()
    RELEASE.clear()
    with (
        # The cluster's own close would retry the closed scheduler for 30 s.
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
    ):
        address = cluster.scheduler_address

        def close_the_scheduler_once_the_task_runs() -> None:
            STARTED.wait(60)
            cluster.sync(cluster.scheduler.close)

        threading.Thread(target=close_the_scheduler_once_the_task_runs).start()
        try:
            with pytest.raises(EngineError) as info, runner(dask_engine(address)) as run:
                run(_blocks, [1])
        finally:
            RELEASE.set()
    assert str(info.value).startswith(
        f"engine: lost the Dask scheduler at {address} while running tasks (FutureCancelledError: "
    )
    assert not [r for r in caplog.records if r.name.startswith("distributed.client")]


@pytest.mark.slow
def test_the_cli_says_an_unreachable_scheduler_in_a_line(
    tmp_path: Path, short_connect: None
) -> None:
    """`umbrella validate` on engine.address with nothing listening: exit 2, one line."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    set_params(tmp_path, deep_merge(TINY, {"engine": {"stores_per_partition": 2}}))
    assert umbrella_in(tmp_path, ["pull"]).code == 0
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    set_params(tmp_path, {"engine": {"kind": "dask", "address": address}})
    result = umbrella_in(tmp_path, ["validate"])
    assert (result.code, result.error) == (2, None)
    assert result.stderr.startswith(f"error: engine.address: cannot connect to {address} ")
    assert len(result.stderr.splitlines()) == 1
