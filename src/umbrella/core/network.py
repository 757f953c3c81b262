"""HTTP reads with a deadline, and what went wrong said in words (timeout, refused, status).

Every network read of the project goes through `open_url`, so each one is bounded in time
and every failure is described the same way: the csv source's files, the source
fingerprint's HEAD requests and the Open-Meteo client.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

USER_AGENT = "umbrella-forecast"


class SlowDownload(TimeoutError):
    """The server answered, but the whole answer did not arrive within the timeout."""


def is_http(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


@contextmanager
def open_url(
    url: str, timeout_s: float, method: str = "GET", headers: dict[str, str] | None = None
) -> Iterator[http.client.HTTPResponse]:
    """The answer to a request with a User-Agent, read within `timeout_s` seconds in all.

    A socket timeout bounds each wait for bytes, but a server that sends a byte now and
    then would never trip it: a timer shuts the request's connections down once
    `timeout_s` has passed since the request began, whatever was read. Raises
    TimeoutError when no answer (status and headers) came in time, SlowDownload when the
    answer's body did not; the block's reads after the deadline fail, and a block that
    ends normally after it (a body cut short looks like its end) raises SlowDownload too.
    """
    request = urllib.request.Request(
        url, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})}
    )
    deadline = _Deadline(timeout_s)
    opener = urllib.request.build_opener(_WatchedHandler(deadline))
    try:
        try:
            response = opener.open(request, timeout=timeout_s)
        except urllib.error.HTTPError:
            raise
        except (OSError, http.client.HTTPException, ValueError):
            if deadline.expired.is_set():
                raise TimeoutError(f"no answer within {timeout_s:g} s") from None
            raise
        with response:
            try:
                yield response
            except (OSError, http.client.HTTPException, ValueError) as exc:
                # A socket timeout after the answer began means the whole answer took
                # longer than the deadline, even if the timer has not said so yet.
                if deadline.expired.is_set() or isinstance(exc, TimeoutError):
                    raise SlowDownload(f"answer not complete within {timeout_s:g} s") from None
                raise
            if deadline.expired.is_set():
                raise SlowDownload(f"answer not complete within {timeout_s:g} s")
    finally:
        deadline.cancel()


class _Deadline:
    """Shuts down the sockets it watches `seconds` after it was made."""

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired.is_set():
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired.set()
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wake a read blocked on `sock` in another thread: it sees the connection end. The
    plain socket's shutdown, also for TLS: the TLS layer is left to the reading thread."""
    with suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedHTTPConnection(http.client.HTTPConnection):
    """An HTTP(S) connection whose socket a _Deadline watches once connected."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        super().connect()  # HTTPS: connected and wrapped in TLS
        self.deadline.watch(self.sock)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, http.client.HTTPSConnection):
    """_WatchedHTTPConnection's connect after HTTPSConnection's: the TLS socket is watched."""


class _WatchedHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's http and https handlers, on connections a _Deadline watches (redirects
    included: they open new connections through the same handler)."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> http.client.HTTPResponse:
        https = issubclass(http_class, http.client.HTTPSConnection)
        watched = _WatchedHTTPSConnection if https else _WatchedHTTPConnection
        return super().do_open(partial(watched, deadline=self.deadline), req, **kwargs)


def http_status(code: int, reason: str = "") -> str:
    """'file not found (HTTP 404 Not Found)', 'server error (HTTP 503)', ..."""
    if code in (404, 410):
        what = "file not found"
    elif code == 429:
        what = "rate limited"
    elif code >= 500:
        what = "server error"
    else:
        what = "request refused"
    return f"{what} (HTTP {code} {reason})".replace(" )", ")")


def connection_problem(reason: object, timeout_s: float, setting: str = "") -> str:
    """What a failed connection or read means, from the exception (or URLError.reason);
    `setting` names the param that sets the timeout."""
    if isinstance(reason, urllib.error.URLError) and not isinstance(reason, urllib.error.HTTPError):
        reason = reason.reason
    hint = f"; see {setting}" if setting else ""
    if isinstance(reason, SlowDownload):
        return f"answer not complete within {timeout_s:g} s (timed out{hint})"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {timeout_s:g} s (timed out{hint})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason})"
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return f"connection lost ({type(reason).__name__}: {reason})".replace(": )", ")")
    return f"cannot connect ({reason})"
