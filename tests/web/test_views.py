"""Pure display helpers: the month calendar, the SVG charts, the body-size limit."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.content.loader import load_content
from kneefix.programme.planner import PlannedRun
from kneefix.programme.records import LOG_KIND_RUN, SessionLog
from kneefix.services.logbook import morning_subject
from kneefix.web import charts
from kneefix.web.views import month_view, parse_month, session_cards


def test_month_view_marks_done_partial_missed_and_planned() -> None:
    today = dt.date(2025, 3, 12)
    logs = [
        SessionLog(date=dt.date(2025, 3, 3), completed=1.0),
        SessionLog(date=dt.date(2025, 3, 5), completed=0.5),
    ]
    past_planned = [dt.date(2025, 3, 3), dt.date(2025, 3, 5), dt.date(2025, 3, 7)]
    view = month_view(2025, 3, today, [], logs, past_planned)
    cells = {cell.day: cell for week in view.weeks for cell in week}
    assert cells[dt.date(2025, 3, 3)].status == "done"
    assert cells[dt.date(2025, 3, 5)].status == "partial" and cells[dt.date(2025, 3, 5)].label == "50% done"
    assert cells[dt.date(2025, 3, 7)].status == "missed"
    assert cells[today].is_today
    assert all(len(week) == 7 and week[0].day.weekday() == 0 for week in view.weeks)
    assert (view.previous, view.next) == ("2025-02", "2025-04")
    assert month_view(2025, 12, today, [], [], []).next == "2026-01"


def test_month_view_marks_runs_beside_sessions() -> None:
    today = dt.date(2025, 3, 12)
    run_day, session_day = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
    logs = [
        SessionLog(date=session_day, completed=1.0),
        SessionLog(date=run_day, completed=1.0, kind=LOG_KIND_RUN, run_minutes=22.5),
    ]
    forecast = [PlannedRun(dt.date(2025, 3, 12), 2, "walk and run"), PlannedRun(dt.date(2025, 3, 8), 1, "x")]
    view = month_view(2025, 3, today, [], logs, [run_day, session_day], runs=forecast)
    cells = {cell.day: cell for week in view.weeks for cell in week}
    assert (cells[run_day].status, cells[run_day].run_status) == ("missed", "done")  # a run is no session
    assert cells[run_day].run_label == "Ran 22.5 min"
    assert (cells[session_day].status, cells[session_day].run_status) == ("done", "")
    assert (cells[today].run_status, cells[today].run_label) == ("planned", "Run, stage 2")
    assert cells[dt.date(2025, 3, 8)].run_status == ""  # a forecast day already past shows nothing


def test_morning_subject_names_what_the_rating_is_about() -> None:
    day = dt.date(2025, 3, 10)
    session = SessionLog(date=day, completed=1.0)
    run = SessionLog(date=day, completed=1.0, kind=LOG_KIND_RUN, run_minutes=20)
    assert morning_subject([session], day) == "session"
    assert morning_subject([run], day) == "run"
    assert morning_subject([session, run], day) == "session and run"


def test_a_paused_plan_has_no_exercise_cards() -> None:
    assert session_cards(None, load_content()) == []


def test_parse_month_falls_back_to_today() -> None:
    today = dt.date(2025, 3, 12)
    assert parse_month("2024-11", today) == (2024, 11)
    assert parse_month("2024-13", today) == (2025, 3)
    assert parse_month("<script>", today) == (2025, 3)
    assert parse_month(None, today) == (2025, 3)


def test_charts_are_valid_svg_with_titles_and_escaped_labels() -> None:
    line = charts.line_chart(
        "Pain <by> week",
        "desc",
        ["W1", "W2", "W3"],
        [charts.Series("During", [3, None, 2]), charts.Series("Morning & after", [1, 1, 1], dashed=True)],
        y_max=10,
        ticks=(0, 5, 10),
        reference=(5, "limit"),
    )
    root = ET.fromstring(line)
    assert root.tag.endswith("svg") and root.get("role") == "img"
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == "Pain <by> week"
    # The gap in "During" breaks its line: only the full "Morning" series draws a polyline.
    assert line.count("<polyline") == 1
    bars = charts.bar_chart("Done", "desc", ["W1", "W2"], [100, None], y_max=100, ticks=(0, 100), unit="%")
    assert ET.fromstring(bars) is not None and bars.count("<rect") == 2  # background + one bar


def test_oversized_upload_is_refused_with_a_clear_message(app: FastAPI, client: TestClient) -> None:
    limit = app.state.settings.max_upload_bytes + 1024 * 1024
    response = client.post("/today/log", content=b"x" * 10, headers={"content-length": str(limit + 1)})
    assert response.status_code == 413
    assert "too large" in response.text
    api = client.post("/api/v1/logs", content=b"x" * 10, headers={"content-length": str(limit + 1)})
    assert api.status_code == 413 and "too large" in api.json()["detail"]


def test_served_under_a_path_prefix_behind_a_proxy(web_settings: object) -> None:

    from kneefix.settings import Settings
    from kneefix.web.app import create_app

    assert isinstance(web_settings, Settings)
    prefixed = create_app(web_settings.with_changes(root_path="/knee"))
    browser = TestClient(prefixed, follow_redirects=False)
    page = browser.get("/knee/")
    assert page.status_code == 200
    assert 'href="/knee/static/kneefix.css"' in page.text and 'href="/knee/signup"' in page.text
    assert "Path=/knee;" in page.headers["set-cookie"]
    assert browser.get("/knee/static/kneefix.css").status_code == 200
    assert browser.get("/knee/home").headers["location"] == "/knee/signin?next=/home"
    prefixed.state.database.close()
