"""HTTP for Open-Meteo: one GET with a timeout, retried with doubling waits.

Retried: HTTP 429 and 5xx, timeouts, refused or dropped connections and answers that are not
JSON. Not retried: other 4xx and an HTTP 200 that carries an error (the API says why in
`{"error": true, "reason": ...}`, and the message quotes it). Errors
are DataError with one line naming the endpoint; the URL with the API key is never shown.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode

from umbrella.core.errors import DataError
from umbrella.core.network import connection_problem, open_url
from umbrella.core.params import RETRY_WAITS_MAX_S, OpenMeteo

log = logging.getLogger(__name__)
JSON = {"Accept": "application/json"}

# A Retry-After above this is not waited for in full: the doubling backoff takes over.
MAX_RETRY_AFTER_S = 120.0


@dataclass(frozen=True)
class Endpoint:
    name: str  # "archive", "previous-runs" or "forecast": in messages, as the cache folder
    url: str

    @property
    def label(self) -> str:
        return f"open-meteo {self.name}"


def get_json(
    endpoint: Endpoint,
    params: dict[str, str],
    config: OpenMeteo,
    api_key: str | None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GET `endpoint` with `params` (plus `apikey`), retrying transient failures."""
    query = dict(params)
    if api_key:
        query["apikey"] = api_key
    url = f"{endpoint.url}?{urlencode(query, safe=',')}"
    tries = config.retries + 1
    problem = "no try made"
    waited = 0.0  # a Retry-After may ask for more than the backoff: the sum stays bounded
    for attempt in range(tries):
        wait = config.backoff_s * 2**attempt
        try:
            with open_url(
                url, config.timeout_s, headers={"Accept": "application/json"}
            ) as response:
                body = response.read()
            try:
                payload = json.loads(body)
            except ValueError:
                problem = "an answer that is not JSON"
            else:
                _raise_api_error(endpoint, payload)
                return payload
        except urllib.error.HTTPError as err:
            reason = _reason(_read(err))
            if err.code == 429 or err.code >= 500:
                problem = f"HTTP {err.code}" + (f" ({reason})" if reason else "")
                wait = _retry_after(err.headers, default=wait)
            else:
                said = f'"{reason}"' if reason else "no reason given"
                raise DataError(
                    f"{endpoint.label} ({endpoint.url}) refused the request with HTTP "
                    f"{err.code}: {said}"
                ) from None
        except (OSError, http.client.HTTPException) as err:  # URLError is an OSError
            problem = connection_problem(err, config.timeout_s, "open_meteo.timeout_s")
        if attempt + 1 < tries:
            wait = min(wait, RETRY_WAITS_MAX_S - waited)
            log.debug(
                "%s: %s, try %d of %d in %.1f s", endpoint.label, problem, attempt + 2, tries, wait
            )
            sleep(wait)
            waited += wait
    plural = "try" if tries == 1 else "tries"
    raise DataError(f"{endpoint.label} ({endpoint.url}): {problem} ({tries} {plural})")


def _raise_api_error(endpoint: Endpoint, payload: Any) -> None:
    """An HTTP 200 can still carry `{"error": true, "reason": ...}` (alone, or for one of
    several locations): a DataError quoting the reason, not retried."""
    objects = payload if isinstance(payload, list) else [payload]
    for obj in objects:
        if isinstance(obj, dict) and obj.get("error"):
            said = f'"{obj["reason"]}"' if obj.get("reason") else "no reason given"
            raise DataError(f"{endpoint.label} ({endpoint.url}) answered with an error: {said}")


def _read(err: urllib.error.HTTPError) -> bytes:
    try:
        return err.read()
    except (OSError, http.client.HTTPException):
        return b""


def _reason(body: bytes) -> str:
    """The API's `reason` from an error body, or '' (a proxy may answer in HTML)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    if isinstance(payload, dict) and payload.get("reason"):
        return str(payload["reason"])
    return ""


def _retry_after(headers: Message | None, default: float) -> float:
    """Seconds asked for by Retry-After (delta-seconds form), bounded; else `default`."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:  # the HTTP-date form: rare, fall back on the backoff
        seconds = None
    if seconds is None or seconds < 0:
        return default
    return min(seconds, MAX_RETRY_AFTER_S)
