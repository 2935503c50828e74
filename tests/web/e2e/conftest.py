"""A real server and a real browser for the end-to-end tests.

The app runs under uvicorn in a background thread on 127.0.0.1 and a free port, with a temporary data
folder and the embedded analysis worker on, exactly as ``kneefix serve`` runs it. The browser is
Debian's Chromium driven by Playwright (never ``playwright install``); the tests skip, saying why, only
when no Chromium binary exists.

Screenshots go to ``$KNEEFIX_SCREENSHOT_DIR`` (default: a temporary folder); with
``KNEEFIX_UPDATE_SCREENSHOTS=1`` the two README pictures are also written to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kneefix.settings import load_settings
from kneefix.web.app import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
README_SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    app: Any


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    settings = load_settings(data_dir=data_dir, port=port, environ={}, secret_key="e2e-" + "k" * 40)
    settings = settings.with_changes(run_worker=True)
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail("the web server did not start")
    yield LiveServer(f"http://127.0.0.1:{port}", data_dir, app)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("KNEEFIX_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def readme_shot(source: Path, name: str) -> None:
    """Copy a screenshot into docs/screenshots when asked to refresh the README pictures."""
    if os.environ.get("KNEEFIX_UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, README_SHOTS / name)
