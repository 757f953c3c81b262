"""A throw-away PostgreSQL server for tests, from Debian's `postgresql` package.

`running_postgres()` starts a private server (own data folder, 127.0.0.1 at a free port,
unix socket in its own folder, password authentication) and yields a SQLAlchemy URL with
credentials, as a retailer's would carry. The `postgres_url` fixture shares one server
per test session; import it into a test module to use it.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

USER = "sales_reader"
DATABASE = "retail"
SYSTEM_USER = "postgres"  # created by the Debian package; the server refuses to run as root
INSTALL_HINT = "apt-get install -y --no-install-recommends postgresql (.ci/run does it)"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed or the test server did not start."""


def find_bin() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [d for d in found if (d / "pg_ctl").exists()]
    if not found:
        raise PostgresUnavailable(
            f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): {INSTALL_HINT}"
        )
    return max(found, key=lambda d: float(d.parent.name) if _is_number(d.parent.name) else 0)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def free_port() -> int:
    """A port nobody listens on right now (another process may take it: start retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user() -> list[str]:
    """Prefix that runs a command as the postgres system user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no '{SYSTEM_USER}' system user: {INSTALL_HINT}"
        ) from None
    return ["runuser", "-u", SYSTEM_USER, "--"]


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise PostgresUnavailable(
            f"{what} failed ({result.returncode}): {result.stderr.strip()}\n{tail}".strip()
        )


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a private server; yield `postgresql+psycopg://user:pass@127.0.0.1:PORT/db`."""
    bindir = find_bin()
    prefix = _as_server_user()
    # Not under pytest's tmp_path: its parents are 0700 root, so postgres could not enter.
    home = Path(tempfile.mkdtemp(prefix="umbrella-pg-"))
    data, log, pwfile = home / "data", home / "server.log", home / "pwfile"
    password = secrets.token_urlsafe(12)
    started = time.perf_counter()
    try:
        pwfile.write_text(password + "\n")
        if prefix:
            entry = pwd.getpwnam(SYSTEM_USER)
            for path in (home, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(home, 0o700)
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",  # TCP, as the pipeline connects: password needed
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",  # a throw-away cluster: skipping fsync saves seconds
                "--no-instructions",
            ],
            "initdb",
        )
        port = 0
        for attempt in range(3):  # the free port may be taken between probe and start
            port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={home} "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
                "-c max_connections=20 -c shared_buffers=16MB"
            )
            cmd = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
            try:
                _run([*cmd, "-w", "-t", "30", "-o", options, "start"], "pg_ctl start", log)
                break
            except PostgresUnavailable:
                if attempt == 2:
                    raise
        base = f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{port}"
        _create_database(f"{base}/postgres", DATABASE)
        logger.info("PostgreSQL on 127.0.0.1:%s in %.1f s", port, time.perf_counter() - started)
        yield f"{base}/{DATABASE}"
    finally:
        if (data / "PG_VERSION").exists():  # also after a start that timed out half-way
            stop = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def _create_database(url: str, name: str) -> None:
    import sqlalchemy as sa  # here, so that importing this module stays cheap

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE: no txn
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One private PostgreSQL server per session. Fails (not skips) when it is not installed."""
    try:
        with running_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
