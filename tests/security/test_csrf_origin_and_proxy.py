"""The security primitives on their own: argon2, the signed session, CSRF and origin checks, tokens."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.requests import Request

from kneefix.errors import InputError
from kneefix.services.credentials import (
    check_new_password,
    hash_api_token,
    hash_password,
    new_api_token,
    verify_password,
)
from kneefix.settings import Settings, load_settings
from kneefix.web.security import (
    VIA_TRUSTED_PROXY,
    SessionCodec,
    anonymous_session,
    bearer_token,
    csrf_matches,
    origin_allowed,
)


def make_request(headers: dict[str, str], scheme: str = "http", host: str = "knee.local:8000") -> Request:
    raw = [(b"host", host.encode())] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": raw,
        "scheme": scheme,
        "server": ("knee.local", 8000),
        "query_string": b"",
        "root_path": "",
    }
    return Request(scope)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, environ={}, secret_key="k" * 40)


def test_passwords_are_argon2id_salted_and_verified() -> None:
    first, second = hash_password("a long password"), hash_password("a long password")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert verify_password(first, "a long password")
    assert not verify_password(first, "a long passwort")
    assert not verify_password("not-a-hash", "x")
    assert not verify_password(None, "x")


def test_password_rules() -> None:
    with pytest.raises(InputError, match="at least 8"):
        check_new_password("short", email="a@example.org")
    check_new_password("long enough", email="a@example.org")


def test_session_round_trip_and_tampering(settings: Settings) -> None:
    codec = SessionCodec(settings.signing_key, 3600)
    session = anonymous_session().signed_in(7, "a-session-token").with_flash("hi", "ok")
    cookie = codec.dumps(session)
    loaded, expired = codec.loads(cookie)
    assert loaded == session and not expired
    assert codec.loads(cookie[:-2] + "xx") == (None, False)
    other = SessionCodec("z" * 40, 3600)
    assert other.loads(cookie) == (None, False)


def test_expired_session_is_told_apart_from_a_forged_one(settings: Settings) -> None:
    codec = SessionCodec(settings.signing_key, 3600)
    two_hours_ago = int(time.time()) - 7200
    old_sign_in = replace(anonymous_session().signed_in(3, "s"), issued_at=two_hours_ago)
    assert codec.loads(codec.dumps(old_sign_in)) == (None, True)
    old_visitor = replace(anonymous_session(), issued_at=two_hours_ago)
    assert codec.loads(codec.dumps(old_visitor)) == (None, False)  # nothing to expire for a visitor


def test_csrf_comparison() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd")
    assert not csrf_matches("abc", None)
    assert not csrf_matches("", "")


def test_origin_checks(settings: Settings) -> None:
    assert origin_allowed(make_request({"Origin": "http://knee.local:8000"}), settings)
    assert not origin_allowed(make_request({"Origin": "https://evil.example"}), settings)
    assert origin_allowed(make_request({"Referer": "http://knee.local:8000/today"}), settings)
    assert not origin_allowed(make_request({"Referer": "https://evil.example/form"}), settings)
    assert origin_allowed(make_request({}), settings)  # scripts send neither; the CSRF token still decides
    assert not origin_allowed(make_request({"Origin": "null", "Referer": "https://evil.example/"}), settings)


def test_behind_a_proxy_the_public_origin_must_be_trusted_or_forwarded(settings: Settings) -> None:
    # The proxy talks to the app over plain http on an internal name; the browser saw https on the public one.
    request = make_request({"Origin": "https://knee.example.org"}, host="127.0.0.1:8000")
    assert not origin_allowed(request, settings)
    trusted = settings.with_changes(trusted_origins=("https://knee.example.org",))
    assert origin_allowed(request, trusted)
    forwarded = make_request(
        {
            "Origin": "https://knee.example.org",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "knee.example.org",
        },
        host="127.0.0.1:8000",
    )
    assert not origin_allowed(forwarded, settings)  # headers ignored unless proxy headers are trusted
    # Sent by the client itself (not through a proxy in KNEEFIX_FORWARDED_ALLOW_IPS): still ignored.
    assert not origin_allowed(forwarded, settings.with_changes(proxy_headers=True))
    # Through the trusted proxy: the middleware marked the request and applied the scheme.
    via_proxy = make_request(
        {"Origin": "https://knee.example.org", "X-Forwarded-Host": "knee.example.org"},
        scheme="https",
        host="127.0.0.1:8000",
    )
    via_proxy.scope[VIA_TRUSTED_PROXY] = True
    assert origin_allowed(via_proxy, settings.with_changes(proxy_headers=True))


@pytest.mark.parametrize(("allowed", "believed"), [("10.1.2.3", False), ("*", True)])
def test_forwarded_headers_count_only_from_a_trusted_proxy(
    tmp_path: Path, allowed: str, believed: bool
) -> None:
    """A client that sends X-Forwarded-Proto itself gets no Secure cookie on plain http: only a proxy
    in KNEEFIX_FORWARDED_ALLOW_IPS may say the browser used https (the test client is not 10.1.2.3)."""
    from fastapi.testclient import TestClient

    from kneefix.web.app import create_app

    configured = load_settings(
        data_dir=tmp_path / "data",
        environ={},
        secret_key="p" * 40,
        run_worker=False,
        proxy_headers=True,
        forwarded_allow_ips=allowed,
    )
    app = create_app(configured)
    try:
        page = TestClient(app).get("/signin", headers={"X-Forwarded-Proto": "https"})
    finally:
        app.state.database.close()
    assert page.status_code == 200
    assert ("secure" in page.headers["set-cookie"].lower()) is believed


def test_default_ports_compare_equal(settings: Settings) -> None:
    request = make_request(
        {"Origin": "https://knee.example.org"}, scheme="https", host="knee.example.org:443"
    )
    assert origin_allowed(request, settings)


def test_api_tokens_are_random_and_only_hashes_are_kept() -> None:
    token, token_hash = new_api_token()
    other, _ = new_api_token()
    assert token.startswith("kfx_") and token != other
    assert token_hash == hash_api_token(token) and token not in token_hash
    assert bearer_token(make_request({"Authorization": f"Bearer {token}"})) == token
    assert bearer_token(make_request({"Authorization": "Basic abc"})) is None
    assert bearer_token(make_request({})) is None
