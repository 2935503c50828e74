"""Past its limit a web process refuses at once (503, Retry-After) instead of queueing without end.

A real uvicorn server with room for one request at a time: a request whose body is still arriving
holds that place (as a slow phone would), and the next request is refused at once with a message
and ``Retry-After``; static files and large uploads are not counted; once the first request is done,
requests are served again.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kneefix.settings import load_settings
from kneefix.web.app import create_app
from kneefix.web.middleware import BUSY_MESSAGE, RETRY_AFTER_S
from tests.web.helpers import serve


@pytest.fixture
def one_place(tmp_path: Path) -> Iterator[str]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        environ={},
        secret_key="s" * 40,
        run_worker=False,
        max_requests_in_flight=1,
    )
    app = create_app(settings)
    try:
        yield from serve(app)
    finally:
        app.state.database.close()


def _start_slow_request(url: str, declared_bytes: int) -> socket.socket:
    """A sign-up whose body has not fully arrived: the server is working on it, waiting for the rest."""
    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        "POST /api/v1/auth/signup HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared_bytes}\r\n\r\n"
    )
    connection.sendall(head.encode("ascii") + b"{")
    return connection


def _hold_the_place(url: str, client: httpx.Client) -> tuple[socket.socket, httpx.Response]:
    """Start a slow request and probe until a quick one is refused; the slow one then holds the place.

    The server may take up the slow request's bytes a little after a probe has started, in which case
    the slow request is the one refused: then it is started again.
    """
    for _ in range(50):
        slow = _start_slow_request(url, 40)
        time.sleep(0.1)
        answer = client.get("/api/v1/me")
        if answer.status_code == 503:
            return slow, answer
        slow.close()
    raise AssertionError(f"a second request was never refused: {answer.status_code} {answer.text[:200]}")


def test_a_full_process_refuses_at_once_with_retry_after_and_serves_again_afterwards(one_place: str) -> None:
    with httpx.Client(base_url=one_place, timeout=10) as client:
        assert client.get("/api/v1/me").status_code == 401  # room: answered by the app (not signed in)
        slow, refused = _hold_the_place(one_place, client)
        assert refused.headers["retry-after"] == str(RETRY_AFTER_S)
        assert refused.json() == {"detail": BUSY_MESSAGE}
        page = client.get("/signin")
        assert page.status_code == 503 and "try again" in page.text  # pages are refused with a page
        assert client.get("/static/kneefix.css").status_code == 200  # static files are not counted
        assert client.get("/healthz").status_code == 200  # busy is not dead: a proxy keeps the process
        slow.sendall(b'"email": "a@example.org", "password": "x"}'[:39])  # the rest of the 40 bytes
        answer = slow.recv(4096)
        slow.close()
        assert answer.startswith(b"HTTP/1.1 ")
        assert client.get("/api/v1/me").status_code == 401  # the place is free again
