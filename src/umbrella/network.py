"""HTTP reads with a timeout, and what went wrong said in words (timeout, refused, status).

Every network read of the project goes through `open_url`, so each one is bounded by a
timeout and every failure is described the same way: the csv source's files, the source
fingerprint's HEAD requests and the Open-Meteo client.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request

USER_AGENT = "umbrella-forecast"


def is_http(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def open_url(
    url: str, timeout_s: float, method: str = "GET", headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """urlopen with a User-Agent and a timeout on connecting and on every read."""
    request = urllib.request.Request(
        url, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})}
    )
    return urllib.request.urlopen(request, timeout=timeout_s)


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
    if isinstance(reason, TimeoutError | socket.timeout):
        hint = f"; see {setting}" if setting else ""
        return f"no answer within {timeout_s:g} s (timed out{hint})"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason})"
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return f"connection lost ({type(reason).__name__}: {reason})".replace(": )", ")")
    return f"cannot connect ({reason})"
