"""The account page names browsers the way people know them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kneefix.web.user_agents import UNKNOWN, browser_label
from tests.web.helpers import sign_up

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0"


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (CHROME_ANDROID, "Chrome on Android"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (EDGE_WINDOWS, "Edge on Windows"),  # not "Chrome": Edge says Chrome too
        (FIREFOX_MAC, "Firefox on macOS"),
        ("curl/8.5.0", "curl"),
        ("", UNKNOWN),
        (None, UNKNOWN),
        ("x" * 100, "x" * 59 + "…"),
    ],
)
def test_browsers_are_named_as_people_know_them(agent: str | None, label: str) -> None:
    assert browser_label(agent) == label


def test_the_account_page_shows_the_label_and_keeps_the_raw_agent_in_a_title(client: TestClient) -> None:
    client.headers["user-agent"] = FIREFOX_MAC
    sign_up(client, "ua@example.org")
    page = client.get("/account").text
    assert "Firefox on macOS" in page
    assert f'title="{FIREFOX_MAC}"' in page
