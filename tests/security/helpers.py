"""Helpers for the audit and red-flag tests: a linked clinician, an administrator, a red-flag screening."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from kneefix.content.loader import load_content
from kneefix.storage.models import User
from tests.web.helpers import sign_up
from tests.web.test_clinician import accept, create_invite


def red_flag_id(age: int = 30) -> str:
    """A red flag the screening asks a 30-year-old (answering yes stops the plan)."""
    return next(flag.id for flag in load_content().red_flags if flag.applies_to_age(age))


def new_clinician(app: FastAPI, email: str) -> TestClient:
    browser = TestClient(app, follow_redirects=True)
    sign_up(browser, email, role="clinician")  # approved at once, as an administrator would
    assert browser.get("/clinician").status_code == 200
    return browser


def link(person: TestClient, clinician: TestClient) -> int:
    """Share ``person``'s record with ``clinician``; returns the profile id the clinician sees."""
    accept(person, create_invite(clinician))
    ids = re.findall(r'href="/clinician/people/(\d+)"', clinician.get("/clinician").text)
    assert ids
    return int(ids[-1])


def make_admin(app: FastAPI, email: str) -> None:
    with app.state.database.session() as session:
        session.execute(update(User).where(User.email == email).values(is_admin=True))


def audit_rows(app: FastAPI) -> list[dict[str, Any]]:
    from kneefix.services import audit

    with app.state.database.session(write=False) as session:
        return [json.loads(line) for line in audit.export_lines(session, "jsonl")]
