"""The web shows what the CLI shows: ``GET /api/v1/today`` and ``kneefix today --json`` on the same data.

Both call ``services.plan.today_view``; this checks it end to end, on a paused plan and on a day with a
run due, through the real CLI pointed at the web app's database. The CLI reads the profiles of its local
user, so the web person's profile is handed to that user (records untouched) before the CLI runs.
"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kneefix.cli import plan_cmds
from kneefix.cli.app import app as cli_app
from kneefix.storage import profiles
from kneefix.storage.models import Profile
from kneefix.storage.users import local_user_id
from tests.web.helpers import csrf_of, person_with_plan, pin
from tests.web.plan_states import pause_plan, profile_id_of, ready_to_run


def _cli_today(app: FastAPI, profile_id: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    with app.state.database.session() as db:
        name = profiles.get_profile(db, profile_id).name
        row = db.get(Profile, profile_id)
        assert row is not None
        row.user_id = local_user_id(db)
    monkeypatch.setattr(plan_cmds, "today", lambda: app.state.settings.today)
    url = app.state.settings.database_url
    result = CliRunner().invoke(cli_app, ["--db", url, "--profile", name, "today", "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_a_paused_today_is_the_same_on_the_web_and_the_cli(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_with_plan(client, "sam@example.org")
    profile_id = profile_id_of(client)
    pin(app, today=pause_plan(app, profile_id))
    web = client.get("/api/v1/today").json()
    assert web["status"] == "paused"
    assert web == _cli_today(app, profile_id, monkeypatch)


def test_a_run_day_is_the_same_on_the_web_and_the_cli(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_with_plan(client, "sam@example.org")
    profile_id = profile_id_of(client)
    pin(app, today=ready_to_run(app, profile_id))
    headers = {"X-CSRF-Token": csrf_of(client.get("/home"))}
    client.post("/api/v1/run-check", json={"walk_pain": 0, "hop_pain": 0}, headers=headers)
    web = client.get("/api/v1/today").json()
    assert web["running"]["due_today"] is True
    assert web == _cli_today(app, profile_id, monkeypatch)
