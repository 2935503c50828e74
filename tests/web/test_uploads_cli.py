"""``kneefix serve`` and ``kneefix worker`` as a person runs them (through the real CLI)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kneefix.cli.app import app
from kneefix.services import uploads
from kneefix.storage import check_queue as check_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore
from kneefix.storage.profiles import create_profile
from tests.web.technique_media import tiny_mp4

runner = CliRunner()


def test_serve_refuses_a_port_in_use_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in result.output
    assert "Traceback" not in result.output


def test_serve_explains_a_bad_port_from_the_environment(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--data-dir", str(tmp_path / "data")], env={"KNEEFIX_PORT": "eighty"}
    )
    assert result.exit_code == 2 and "KNEEFIX_PORT must be a whole number" in result.output


@pytest.mark.slow
def test_the_worker_command_runs_waiting_jobs_and_reports_failures(tmp_path: Path) -> None:
    """A clip with nobody in it goes through the real pipeline and fails with the pipeline's reason."""
    data_dir = tmp_path / "data"
    database = Database(f"sqlite:///{data_dir / 'kneefix.db'}")
    with database.session() as session:
        user = user_store.create_user(session, email="w@example.org", password_hash="x", role="person")
        profile = create_profile(session, "default", user_id=user.id)
        check = uploads.submit_check(
            session, FolderStore(data_dir), profile.id, io.BytesIO(tiny_mp4(frames=24)), movement="squat",
            filename="empty room.mp4", max_bytes=10_000_000,
        ).check  # fmt: skip
    database.close()
    result = runner.invoke(app, ["worker", "--once", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "Analysed 1 video(s)" in result.output
    reopened = Database(f"sqlite:///{data_dir / 'kneefix.db'}")
    with reopened.session(write=False) as session:
        done = check_store.get_check(session, check.id)
    assert done.status == "failed"
    assert done.error and "person" in done.error.lower()
    assert str(data_dir) not in done.error
