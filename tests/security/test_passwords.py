"""Password rules for every password being set: sign-up, change (and the reset, which calls the same
:func:`~kneefix.services.credentials.check_new_password`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kneefix.errors import InputError
from kneefix.services.credentials import check_new_password
from tests.web.helpers import PASSWORD, csrf_of, notices, sign_up

EMAIL = "alex.runner@example.org"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("12345678", "common passwords"),
        ("password", "common passwords"),
        ("Password", "common passwords"),
        ("iloveyou", "common passwords"),
        ("aaaaaaaa", "one character"),
        ("ZZZZZZZZZZZZZZZZ", "one character"),
        ("alex.runner", "email"),
        ("alex.runner-2025!", "email"),
        ("Runner2025", "too easy to guess"),
        ("my-kneefix-pass", "app's name"),
        ("KneeFix123", "app's name"),
        ("qwertyuiop1", "common passwords"),
        ("zxcvbnm,./", "too easy to guess"),
        ("Jennifer1987", "too easy to guess"),
        ("Liverpool2020", "too easy to guess"),
        ("P@ssw0rd2024", "too easy to guess"),
        ("short", "at least 8"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    """ASVS 2.1.7 (and issue 11 "Password rules"): common and breached-list passwords, the email's
    name, the app's name and one repeated character are refused, each with a message that says why."""
    with pytest.raises(InputError, match=why):
        check_new_password(password, email=EMAIL)


@pytest.mark.parametrize(
    "password", [PASSWORD, "a long and private phrase", "tangerine-lamp-orbit", "x9#Kq!" * 170, "gd8!Lr0aw"]
)
def test_strong_passwords_pass(password: str) -> None:
    """The rules refuse only guessable passwords: passphrases and random strings (up to 1024
    characters) pass."""
    check_new_password(password, email=EMAIL)


def test_a_short_email_name_inside_a_password_is_not_refused() -> None:
    """A two-letter email name (``al@``) is refused only as the whole password, not as a part of it
    (else half of all passwords would be)."""
    check_new_password("alpine meadow stream", email="al@example.org")
    with pytest.raises(InputError):
        check_new_password("al", email="al@example.org")


def test_sign_up_refuses_a_common_password_and_keeps_what_was_typed(client: TestClient) -> None:
    """Issue 11: the rules apply on sign-up (``12345678`` was accepted before)."""
    response = sign_up(client, "sam@example.org", password="12345678")
    assert response.status_code == 422
    assert any("common passwords" in text for text in notices(response))
    assert 'value="sam@example.org"' in response.text
    assert client.get("/account").url.path == "/signin"  # no account was made, nobody signed in


def test_password_change_refuses_a_weak_password(client: TestClient) -> None:
    """Issue 11: the rules apply when the password is changed; the old one keeps working."""
    assert sign_up(client, "sam@example.org").status_code == 200
    page = client.get("/account")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "aaaaaaaa",
            "confirm": "aaaaaaaa",
            "csrf_token": csrf_of(page),
        },
    )
    assert response.status_code == 422
    assert any("one character" in text for text in notices(response))


def test_api_sign_up_refuses_a_breached_password(client: TestClient) -> None:
    """Issue 11: the API's sign-up applies the same rules (one definition)."""
    response = client.post("/api/v1/auth/signup", json={"email": "api@example.org", "password": "password"})
    assert response.status_code == 422
    assert "common passwords" in response.text
