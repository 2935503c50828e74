"""Helpers for driving the web app like a browser (forms with CSRF tokens) or an API client."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient

from kneefix.content.loader import load_content

PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a page carries (every page has it in a meta tag)."""
    match = CSRF_META.search(page.text)
    assert match, "page has no CSRF token"
    return match.group(1)


def form_token_of(page: httpx.Response) -> str:
    match = FORM_TOKEN.search(page.text)
    assert match, "page has no one-time form token"
    return match.group(1)


def notices(page: httpx.Response) -> list[str]:
    """Texts of the messages shown on a page (flash, errors)."""
    found = re.findall(r'<div class="notice[^"]*"[^>]*>\s*<p>(.*?)</p>', page.text, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip() for text in found]


def sign_up(client: TestClient, email: str, role: str = "person", password: str = PASSWORD) -> httpx.Response:
    """Sign up through the form; a clinician is then approved (as an administrator would), so tests
    about clinicians start from an approved clinician account. On an app that sends email, sign-up is
    by emailed link: this opens the link's page with a link made as the email's is (no email is sent,
    so tests counting emails count only their own); ``tests/security/test_sign_up_by_email.py`` takes
    the link from the received email."""
    if client.app.state.settings.mail.enabled:  # type: ignore[attr-defined]
        return finish_sign_up_by_link(client, email, role=role, password=password)
    page = client.get("/signup")
    response: httpx.Response = client.post(
        "/signup",
        data={
            "email": email,
            "password": password,
            "confirm": password,
            "role": role,
            "csrf_token": csrf_of(page),
        },
    )
    if role == "clinician" and response.status_code < 400:
        approve_clinician(client.app, email)
    return response


def finish_sign_up_by_link(
    client: TestClient, email: str, *, role: str = "person", password: str = PASSWORD
) -> httpx.Response:
    """Open a sign-up link for ``email`` (signed as the emailed one is) and choose the password."""
    from kneefix.services import sign_up_links

    settings = client.app.state.settings  # type: ignore[attr-defined]
    details = sign_up_links.SignUpLink(email=email.strip().lower(), role=role)
    token = sign_up_links.link_token(settings.signing_key, details, now=settings.now)
    page = client.get(sign_up_links.FINISH_PATH, params={"token": token})
    assert page.status_code == 200, page.text[-400:]
    response: httpx.Response = client.post(
        sign_up_links.FINISH_PATH,
        data={"token": token, "password": password, "confirm": password, "csrf_token": csrf_of(page)},
    )
    if role == "clinician" and response.status_code < 400:
        approve_clinician(client.app, email)
    return response


def approve_clinician(app: Any, email: str) -> None:
    """Approve an account's clinician request through the services, as ``kneefix users approve`` does."""
    from kneefix.services import admin

    with app.state.database.session() as session:
        user = admin.account_by_email(session, email)
        admin.approve_clinician(session, user.id, actor=None)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/signin")
    response: httpx.Response = client.post(
        "/signin", data={"email": email, "password": password, "csrf_token": csrf_of(page)}
    )
    return response


def screening_answers(
    *,
    red_flag: str | None = None,
    typical: bool = True,
    kujala: str = "b",
    age: int = 30,
) -> dict[str, Any]:
    """Form fields of a complete screening: typical symptoms and no red flag unless asked."""
    content = load_content()
    symptoms = (
        ["pain_around_kneecap", "pain_squatting", "pain_stairs_downhill"] if typical else ["grinding_popping"]
    )
    data: dict[str, Any] = {
        "age": str(age),
        "runs": "yes",
        "pain": "3",
        "days": "3",
        "symptoms": symptoms,
        "equipment": ["foam_roller", "tennis_ball"],
        "guideline_additions": "yes",
        "continue_if_atypical": "yes",
        "start_date": "2025-03-03",
    }
    for flag in content.red_flags:
        data["rf_" + flag.id] = "yes" if flag.id == red_flag else "no"
    for item in content.questionnaires["kujala"].items:
        # Item 11 (kneecap slipping) below full marks is itself a red flag: keep it at "a".
        data[f"kujala_{item.number}"] = "a" if item.number == 11 else kujala
    return data


def take_screening(client: TestClient, **kwargs: Any) -> httpx.Response:
    page = client.get("/screening")
    data = screening_answers(**kwargs)
    data["csrf_token"] = csrf_of(page)
    data["form_token"] = form_token_of(page)
    response: httpx.Response = client.post("/screening", data=data)
    return response


def person_with_plan(client: TestClient, email: str) -> None:
    """A signed-in person who has screened (typical, no red flags) and so has a plan."""
    response = sign_up(client, email)
    assert response.status_code == 200
    result = take_screening(client)
    assert result.url.path == "/screening/result", result.text[-500:]


def log_today(client: TestClient, pain_during: str = "3") -> httpx.Response:
    page = client.get("/today")
    done = re.findall(r'name="done" value="([^"]+)"', page.text)
    response: httpx.Response = client.post(
        "/today/log",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token_of(page),
            "done": done,
            "pain_during": pain_during,
            "pain_after": "2",
        },
    )
    return response


def api_token(client: TestClient, email: str, password: str = PASSWORD, role: str = "person") -> str:
    """Sign up through the API and return a Bearer token for the new account."""
    response = client.post("/api/v1/auth/signup", json={"email": email, "password": password, "role": role})
    assert response.status_code == 201, response.text
    if role == "clinician":
        approve_clinician(client.app, email)
    token: str = response.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_screening_body() -> dict[str, Any]:
    content = load_content()
    age = 30
    return {
        "age": age,
        "symptoms": ["pain_around_kneecap", "pain_running"],
        "red_flags": {flag.id: False for flag in content.red_flags if flag.applies_to_age(age)},
        "kujala": ["a"] * 13,
        "pain": 2,
        "equipment": ["foam_roller"],
        "days": 3,
        "runs": True,
        "start_date": "2025-03-03",
    }


def pin(app: Any, **changes: Any) -> None:
    """Change the app's settings in a test: pin ``today`` or ``now``, scale the timers (None unpins)."""
    app.state.settings = app.state.settings.with_changes(**changes)


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free local port (for a browser or real HTTP clients); yields its
    address and stops when the generator closes."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # generous: the machine may be busy with pose inference
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "the test server did not start within 60 s"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def start_two_web_processes(log_dir: Path, *options: str) -> tuple[str, subprocess.Popen[bytes]]:
    """``kneefix serve --workers 2 --no-worker OPTIONS`` on a free port, as a clinic runs its web tier;
    returns its address once it answers (its output goes to ``log_dir/serve.log``)."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "kneefix"), "serve", "--workers", "2", "--no-worker"]
    command += ["--port", str(port), *options]
    log = (log_dir / "serve.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/", timeout=2).status_code == 200:
                return base, server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise AssertionError((log_dir / "serve.log").read_text())
        time.sleep(0.2)
