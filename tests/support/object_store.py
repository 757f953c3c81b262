"""A throw-away S3 service for tests: moto's server on 127.0.0.1, answering as S3 does.

`s3_service()` starts it at a free port, creates a bucket and yields the environment that
points an S3 client at it (the same variables a user sets for a real S3-compatible
store: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BUCKET = "umbrella-test"


@contextmanager
def s3_service() -> Iterator[dict[str, str]]:
    # Imported here: moto and boto3 take a third of a second, which every test process paid
    # on collecting the test files that use this (make test-fast runs none of them).
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {
            "AWS_ACCESS_KEY_ID": "test-key",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        }
        _client(env).create_bucket(Bucket=BUCKET)
        yield env
    finally:
        server.stop()


def keys(env: dict[str, str]) -> list[str]:
    """Every key in the test bucket."""
    listed = _client(env).list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


def _client(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
