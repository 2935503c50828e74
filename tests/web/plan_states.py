"""Bring a web person's plan to a given state through the real services (the same calls the CLI makes).

* :func:`pause_plan`: sessions whose next mornings stay 3 points above the baseline until the plan
  pauses for a clinician review (docs/progression.md §3);
* :func:`ready_to_run`: five weeks of easy, settled sessions, so the running criteria are met and only
  the readiness check is left (§6).

Each returns the day the state is reached; set ``app.state.settings.today`` to it to look at the pages.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.content.loader import load_content
from kneefix.errors import KneefixError
from kneefix.services import logbook
from kneefix.services import plan as plan_service
from kneefix.services.plan import TodayView
from kneefix.storage.db import Database

START = dt.date(2025, 3, 3)  # the start date of tests.web.helpers.screening_answers


def profile_id_of(client: TestClient) -> int:
    response = client.get("/api/v1/me")
    assert response.status_code == 200, response.text
    profile_id: int = response.json()["profile_id"]
    return profile_id


def _train(
    app: FastAPI, profile_id: int, *, pain: int, morning: int, reached: Callable[[TodayView], bool]
) -> dt.date:
    """Log every planned session from START with ``pain``, rating each next morning ``morning``."""
    database: Database = app.state.database
    content = load_content()
    day = START
    with database.session() as session:
        while True:
            view = plan_service.today_view(session, content, profile_id, day)
            if reached(view):
                return day
            if view.status == "session" and not view.already_logged:
                logbook.log_session(
                    session, content, profile_id, day=day, today=day, pain_during=pain, pain_after=pain
                )
            day += dt.timedelta(days=1)
            with contextlib.suppress(KneefixError):  # nothing logged before this morning yet
                logbook.record_morning_pain(session, content, profile_id, pain=morning, today=day)
            assert day < START + dt.timedelta(weeks=12), "the plan never reached the state"


def pause_plan(app: FastAPI, profile_id: int) -> dt.date:
    """Next mornings at 6/10 against a baseline of 3/10: the plan pauses within about two weeks."""
    return _train(app, profile_id, pain=3, morning=6, reached=lambda view: view.status == "paused")


def ready_to_run(app: FastAPI, profile_id: int) -> dt.date:
    """Easy settled sessions until return to running waits only for the readiness check."""
    return _train(
        app, profile_id, pain=1, morning=1, reached=lambda view: view.running.status == "check_needed"
    )
