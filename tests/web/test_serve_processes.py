"""``kneefix serve --workers 2``: two real web processes behind one port, sharing only the database.

A clinic runs the web tier as several processes; any of them may answer any request, so nothing a
request relies on may live in one process's memory. Here an account made through one process is
used through whichever process the kernel hands each new connection to.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.helpers import PASSWORD, start_two_web_processes

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
    base, server = start_two_web_processes(tmp_path, "--data-dir", str(tmp_path / "data"))
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
