"""The account page: API tokens, export of all data, and deleting the account with its files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kneefix.services import accounts
from kneefix.storage.files import FolderStore
from kneefix.storage.models import Profile, SessionLogRow, User
from tests.web.helpers import PASSWORD, bearer, csrf_of, log_today, person_with_plan


def profile_id_of(app: FastAPI, email: str) -> int:
    with app.state.database.session() as db:
        user_id = db.scalar(select(User.id).where(User.email == email))
        profile_id = db.scalar(select(Profile.id).where(Profile.user_id == user_id))
    assert isinstance(profile_id, int)
    return profile_id


def make_files(data_dir: Path, profile_id: int) -> list[Path]:
    files = [
        data_dir / "uploads" / str(profile_id) / "clip.mp4",
        data_dir / "analyses" / str(profile_id) / "1" / "report.json",
    ]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return files


def test_export_holds_everything_but_secrets(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    log_today(client)
    download = client.get("/account/export.json")
    assert "attachment" in download.headers["content-disposition"]
    document = json.loads(download.text)
    assert document["account"]["email"] == "sam@example.org"
    [profile] = document["profiles"]
    assert profile["format_version"] and len(profile["session_logs"]) == 1
    assert "argon2" not in download.text and "password" not in download.text


def test_api_token_from_the_account_page(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/account")
    created = client.post("/account/tokens", data={"name": "watch", "csrf_token": csrf_of(page)})
    [token] = re.findall(r"<code[^>]*>(kfx_[^<]+)</code>", created.text)
    api = TestClient(client.app)
    assert api.get("/api/v1/me", headers=bearer(token)).json()["email"] == "sam@example.org"
    [token_id] = re.findall(r"/account/tokens/(\d+)/revoke", created.text)
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(created)})
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_delete_account_removes_rows_and_files_of_this_person_only(
    client: TestClient, other_client: TestClient, app: FastAPI
) -> None:
    data_dir = app.state.settings.data_dir
    person_with_plan(client, "sam@example.org")
    log_today(client)
    person_with_plan(other_client, "kim@example.org")
    mine = make_files(data_dir, profile_id_of(app, "sam@example.org"))
    theirs = make_files(data_dir, profile_id_of(app, "kim@example.org"))

    page = client.get("/account")
    refused = client.post(
        "/account/delete",
        data={"password": "wrong one!", "confirm_delete": "yes", "csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 422 and "nothing was deleted" in refused.text
    assert all(path.exists() for path in mine)

    gone = client.post(
        "/account/delete", data={"password": PASSWORD, "confirm_delete": "yes", "csrf_token": csrf_of(page)}
    )
    assert gone.url.path == "/" and "all its data are deleted" in gone.text
    assert not any(path.exists() for path in mine)
    assert all(path.exists() for path in theirs)
    with app.state.database.session() as db:
        assert db.scalar(select(func.count()).select_from(User).where(User.email == "sam@example.org")) == 0
        assert db.scalar(select(func.count()).select_from(SessionLogRow)) == 0
    assert other_client.get("/home").url.path == "/home"


def test_delete_user_files_ignores_what_is_not_a_profile_folder(tmp_path: Path) -> None:
    (tmp_path / "uploads" / "5").mkdir(parents=True)
    (tmp_path / "uploads" / "55").mkdir(parents=True)
    removed = accounts.delete_user_files(FolderStore(tmp_path), [5, -1, 0])
    assert removed == ["uploads/5"]
    assert (tmp_path / "uploads" / "55").is_dir()
