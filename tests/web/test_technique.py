"""Technique checks through the pages and the API: upload, bad uploads, double submits, results, access.

The pose model never runs here: a stand-in analysis (``tests/web/technique_media.py``) writes the files
the real pipeline writes, so every page, download and permission is checked in milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.motion.types import Quality, Report
from kneefix.services.worker import Worker
from kneefix.settings import Settings
from kneefix.storage import check_queue as check_store
from kneefix.web.app import create_app
from tests.web.helpers import api_token, bearer, csrf_of, notices, person_with_plan, sign_up
from tests.web.technique_media import failing_analysis, fake_analysis, sample_report, tiny_mp4, tiny_png

VIDEO = tiny_mp4()
REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


def upload_page(client: TestClient) -> httpx.Response:
    page: httpx.Response = client.get("/technique")
    assert page.status_code == 200
    return page


def upload(
    client: TestClient,
    content: bytes = VIDEO,
    *,
    filename: str = "my squat.mp4",
    movement: str = "squat",
    field: str = "video",
    request_id: str | None = None,
    page: httpx.Response | None = None,
) -> httpx.Response:
    page = page or upload_page(client)
    token = request_id or REQUEST_ID.search(page.text).group(1)  # type: ignore[union-attr]
    response: httpx.Response = client.post(
        "/technique/checks",
        data={"csrf_token": csrf_of(page), "movement": movement, "side": "auto", "request_id": token},
        files={field: (filename, content, "video/mp4")},
    )
    return response


def stored_uploads(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.data_dir / "uploads").rglob("*") if p.is_file())


def run_worker(app: FastAPI, settings: Settings, analyse: object = None) -> int:
    worker = Worker(app.state.database, app.state.files, analyse=analyse or fake_analysis(VIDEO))  # type: ignore[arg-type]
    return worker.run_until_idle()


def count_checks(app: FastAPI) -> dict[str, int]:
    with app.state.database.session() as session:
        return check_store.count_by_status(session)


@pytest.fixture
def person(client: TestClient) -> TestClient:
    person_with_plan(client, "runner@example.org")
    return client


# ----- the form ------------------------------------------------------------------------------


def test_upload_form_lets_a_phone_record_straight_from_the_page(person: TestClient) -> None:
    page = upload_page(person)
    assert re.search(r'<input[^>]*type="file"[^>]*accept="video/\*"[^>]*capture', page.text)
    assert 'enctype="multipart/form-data"' in page.text
    for movement in ("squat", "single-leg-squat", "deadlift", "landing"):
        assert f'value="{movement}"' in page.text
    assert "No checks yet" in page.text


def test_an_upload_is_stored_under_the_profile_and_queued(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    response = upload(person)
    assert response.status_code == 200
    assert re.fullmatch(r"/technique/checks/\d+", response.url.path)
    assert "Waiting to start" in response.text and 'role="progressbar"' in response.text
    files = stored_uploads(web_settings)
    assert len(files) == 1
    assert re.fullmatch(r"[0-9a-f]{32}\.mp4", files[0].name)
    assert files[0].parent.parent.name == "uploads"
    assert files[0].read_bytes() == VIDEO
    assert count_checks(app)["queued"] == 1


def test_the_recorded_field_works_like_the_file_picker(person: TestClient, app: FastAPI) -> None:
    response = upload(person, field="recorded", filename="VID_2024.mp4")
    assert re.fullmatch(r"/technique/checks/\d+", response.url.path)
    assert count_checks(app)["queued"] == 1


# ----- bad uploads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"just some text pretending to be a video\n" * 20, "not a video kneefix can read"),
        (tiny_png(), "PNG"),
        (b"", "empty"),
        (VIDEO[: len(VIDEO) // 3], "cannot be read"),
    ],
    ids=["text", "image", "empty", "truncated"],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_is_kept(
    person: TestClient, app: FastAPI, web_settings: Settings, content: bytes, expected: str
) -> None:
    response = upload(person, content, filename="clip.mp4", movement="deadlift")
    assert response.status_code == 422
    messages = " ".join(notices(response))
    assert expected in messages
    assert "Traceback" not in response.text and str(web_settings.data_dir) not in response.text
    assert 'value="deadlift" checked' in response.text  # the choice made is kept for the next try
    assert stored_uploads(web_settings) == []
    assert sum(count_checks(app).values()) == 0


def test_no_file_at_all_gets_a_message(person: TestClient) -> None:
    page = upload_page(person)
    token = REQUEST_ID.search(page.text).group(1)  # type: ignore[union-attr]
    response = person.post(
        "/technique/checks",
        data={"csrf_token": csrf_of(page), "movement": "squat", "request_id": token},
        files={"video": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 422
    assert "Choose a video file, or record one" in " ".join(notices(response))


def test_a_file_over_the_limit_is_refused_on_the_page(app: FastAPI, web_settings: Settings) -> None:
    small = web_settings.with_changes(max_upload_mb=4000 / 2**20)
    limited = create_app(small, database=app.state.database)
    client = TestClient(limited, follow_redirects=True)
    person_with_plan(client, "big@example.org")
    response = upload(client, VIDEO + b"\x00" * 4000, filename="long.mp4")
    assert response.status_code == 422
    assert "That video is larger than the 4 KB limit" in " ".join(notices(response))
    assert stored_uploads(small) == []


def test_a_far_too_large_body_is_stopped_before_it_is_read(app: FastAPI, web_settings: Settings) -> None:
    small = web_settings.with_changes(max_upload_mb=1000 / 2**20)
    limited = create_app(small, database=app.state.database)
    client = TestClient(limited, follow_redirects=True)
    person_with_plan(client, "huge@example.org")
    response = upload(client, b"\x00" * (3 * 1024 * 1024), filename="huge.mp4")
    assert response.status_code == 413
    assert "too large" in response.text.lower() or "larger than" in response.text
    assert stored_uploads(small) == []


def test_a_double_submitted_form_makes_one_check_and_keeps_one_file(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    page = upload_page(person)
    first = upload(person, page=page)
    second = upload(person, page=page)
    assert first.url.path == second.url.path
    assert "already been sent" in " ".join(notices(second))
    assert count_checks(app)["queued"] == 1
    assert len(stored_uploads(web_settings)) == 1


# ----- the result ------------------------------------------------------------------------------


def test_a_finished_check_shows_video_chart_table_and_cues(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    check_url = upload(person).url.path
    assert run_worker(app, web_settings) == 1
    page = person.get(check_url)
    assert "<video" in page.text and f'src="{check_url}/files/annotated.mp4"' in page.text
    assert f'src="{check_url}/files/angles.png"' in page.text
    assert f'<a href="{check_url}/files/angles.png" target="_blank"' in page.text  # tap: full size on a phone
    assert "Rep by rep" in page.text and "Hips" in page.text and "95°" in page.text
    assert "sending the hips back" in page.text
    listing = person.get("/technique")
    assert "Squat: 1 rep, hips led 1 of 1" in listing.text


def test_a_rep_on_an_untrustworthy_track_shows_no_call_and_no_numbers(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    def poor(movement: str) -> Report:
        report = sample_report(movement)
        rep = report.reps[0].model_copy(
            update={
                "initiation": "unknown",
                "lag_ms": None,
                "peak_knee_flexion_deg": 192.0,
                "initiation_note": "the pose track is not trustworthy in this rep",
                "quality": Quality(level="poor", reasons=["the knee reads 192 deg of flexion"]),
            }
        )
        return report.model_copy(update={"reps": [rep]})

    check_url = upload(person).url.path
    assert run_worker(app, web_settings, fake_analysis(VIDEO, poor)) == 1
    page = person.get(check_url)
    assert "Poor: no call" in page.text and "the knee reads 192 deg of flexion" in page.text
    assert "192°" not in page.text and "Unclear" in page.text


def test_the_annotated_video_is_served_with_range_support(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    check_url = upload(person).url.path
    run_worker(app, web_settings)
    whole = person.get(f"{check_url}/files/annotated.mp4")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["cache-control"] == "no-store"  # issue 11: health data stays out of caches
    part = person.get(f"{check_url}/files/annotated.mp4", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 10-19/{len(VIDEO)}"
    assert part.content == VIDEO[10:20]
    assert person.get(f"{check_url}/files/angles.png").headers["content-type"] == "image/png"


def test_only_listed_result_files_are_served(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    check_url = upload(person).url.path
    run_worker(app, web_settings)
    for name in ("secret_key", "..%2F..%2Fsecret_key", "kneefix.db", "input.mp4"):
        assert person.get(f"{check_url}/files/{name}").status_code == 404


def test_a_failed_analysis_says_why_and_can_be_tried_again(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    check_url = upload(person, filename="dark.mp4").url.path
    run_worker(app, web_settings, failing_analysis("no person was found in any frame."))
    page = person.get(check_url)
    assert "The analysis did not work" in page.text
    assert "dark.mp4: no person was found in any frame." in page.text
    assert str(web_settings.data_dir) not in page.text
    retried = person.post(f"{check_url}/retry", data={"csrf_token": csrf_of(page)})
    assert "Waiting to start" in retried.text
    assert count_checks(app)["queued"] == 1


def test_deleting_a_check_removes_its_video_and_results(
    person: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    check_url = upload(person).url.path
    run_worker(app, web_settings)
    results = list((web_settings.data_dir / "analyses").rglob("*.mp4"))
    assert results
    page = person.get(check_url)
    person.post(f"{check_url}/delete", data={"csrf_token": csrf_of(page)})
    assert stored_uploads(web_settings) == []
    assert not any(path.exists() for path in results)
    assert person.get(check_url).status_code == 404


# ----- nobody else's -------------------------------------------------------------------------


def test_another_person_never_sees_a_check_or_its_files(
    person: TestClient, other_client: TestClient, app: FastAPI, web_settings: Settings
) -> None:
    check_url = upload(person).url.path
    check_id = check_url.rsplit("/", 1)[-1]
    run_worker(app, web_settings)
    person_with_plan(other_client, "someone.else@example.org")
    for url in (
        check_url,
        f"{check_url}/files/annotated.mp4",
        f"{check_url}/files/report.json",
        f"/api/v1/checks/{check_id}",
        f"/api/v1/checks/{check_id}/files/annotated.mp4",
    ):
        assert other_client.get(url).status_code == 404, url
    page = other_client.get("/technique")
    assert other_client.post(f"{check_url}/delete", data={"csrf_token": csrf_of(page)}).status_code == 200
    assert len(stored_uploads(web_settings)) == 1  # the owner's video is untouched
    assert other_client.post(f"{check_url}/retry", data={"csrf_token": csrf_of(page)}).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/technique/checks/1", follow_redirects=False)
    assert response.status_code == 303 and "/signin" in response.headers["location"]
    assert client.get("/api/v1/checks").status_code == 401


def test_a_clinician_account_cannot_upload_for_itself(client: TestClient) -> None:
    sign_up(client, "doc@example.org", role="clinician")
    assert client.get("/technique").status_code == 403


# ----- API -----------------------------------------------------------------------------------


def test_api_upload_status_list_and_result(client: TestClient, app: FastAPI, web_settings: Settings) -> None:
    token = api_token(client, "api@example.org")
    headers = bearer(token)
    sent = client.post(
        "/api/v1/checks",
        headers=headers,
        data={"movement": "squat", "request_id": "api-request-0001"},
        files={"video": ("squat.mp4", VIDEO, "video/mp4")},
    )
    assert sent.status_code == 202, sent.text
    check = sent.json()
    assert check["status"] == "queued" and check["duplicate"] is False
    again = client.post(
        "/api/v1/checks",
        headers=headers,
        data={"movement": "squat", "request_id": "api-request-0001"},
        files={"video": ("squat.mp4", VIDEO, "video/mp4")},
    )
    assert again.status_code == 200 and again.json()["id"] == check["id"] and again.json()["duplicate"]
    run_worker(app, web_settings)
    done = client.get(f"/api/v1/checks/{check['id']}", headers=headers).json()
    assert done["status"] == "done" and done["progress"] == 1.0
    assert done["reps"][0]["initiation"] == "hips"
    assert [item["id"] for item in client.get("/api/v1/checks", headers=headers).json()] == [check["id"]]
    video = client.get(f"/api/v1/checks/{check['id']}/files/annotated.mp4", headers=headers)
    assert video.content == VIDEO
    assert client.delete(f"/api/v1/checks/{check['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/checks/{check['id']}", headers=headers).status_code == 404


def test_api_refuses_a_non_video_and_an_unknown_movement(client: TestClient) -> None:
    headers = bearer(api_token(client, "api2@example.org"))
    text = client.post(
        "/api/v1/checks",
        headers=headers,
        data={"movement": "squat"},
        files={"video": ("a.mp4", b"hello", "video/mp4")},
    )
    assert text.status_code == 422 and "not a video" in text.json()["detail"]
    movement = client.post(
        "/api/v1/checks",
        headers=headers,
        data={"movement": "cartwheel"},
        files={"video": ("a.mp4", VIDEO, "video/mp4")},
    )
    assert movement.status_code == 422 and "cartwheel" in movement.json()["detail"]


def test_the_api_is_documented_in_openapi(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/checks", "/api/v1/checks/{check_id}", "/api/v1/checks/{check_id}/files/{name}"):
        assert path in paths
