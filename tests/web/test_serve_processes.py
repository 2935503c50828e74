"""``kneefix serve --workers 2``: two real web processes behind one port, sharing only the database.

A clinic runs the web tier as several processes; any of them may answer any request, so nothing a
request relies on may live in one process's memory. Here an account made through one process is
used through whichever process the kernel hands each new connection to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pg import _free_port
from tests.web.helpers import PASSWORD

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().split(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def two_process_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "kneefix"),
        "serve",
        "--workers",
        "2",
        "--no-worker",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise AssertionError((tmp_path / "serve.log").read_text())
        time.sleep(0.2)
    yield base, server
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def test_any_web_process_serves_an_account_made_through_another(
    two_process_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, server = two_process_server
    assert len(children_of(server.pid)) >= 2  # uvicorn's two web processes
    made = httpx.post(
        f"{base}/api/v1/auth/signup",
        json={"email": "two@example.org", "password": PASSWORD, "role": "person"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    answers = []
    for _ in range(40):  # a new connection each time, so both processes take their share
        with httpx.Client(base_url=base, timeout=10) as client:
            answers.append(client.get("/api/v1/me", headers=headers))
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["email"] for answer in answers} == {"two@example.org"}
