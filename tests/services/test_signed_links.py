"""Signed links (the clinician invite, the sign-up link): one signature and expiry check for both."""

from __future__ import annotations

import datetime as dt

from kneefix.services import admin, signed_links

KEY = "k" * 40
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_a_link_reads_back_until_it_expires() -> None:
    token = signed_links.sign(KEY, "purpose.a", {"e": "a@example.org"}, valid_for=DAY, now=NOW)
    assert signed_links.read(KEY, "purpose.a", token, max_length=500, now=NOW) == {"e": "a@example.org"}
    assert signed_links.read(KEY, "purpose.a", token, max_length=500, now=NOW + DAY) is None


def test_a_link_is_refused_for_another_purpose_key_or_when_changed_or_too_long() -> None:
    token = signed_links.sign(KEY, "purpose.a", {"e": "a@example.org"}, valid_for=DAY, now=NOW)
    assert signed_links.read(KEY, "purpose.b", token, max_length=500, now=NOW) is None
    assert signed_links.read("other" * 8, "purpose.a", token, max_length=500, now=NOW) is None
    changed = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert signed_links.read(KEY, "purpose.a", changed, max_length=500, now=NOW) is None
    assert signed_links.read(KEY, "purpose.a", token, max_length=len(token) - 1, now=NOW) is None
    assert signed_links.read(KEY, "purpose.a", "", max_length=500, now=NOW) is None


def test_an_invite_round_trips_and_a_sign_up_token_is_no_invite() -> None:
    invite = admin.invite_token(KEY, "Doc@Example.org", invited_by=3, now=NOW)
    assert admin.read_invite(KEY, invite, now=NOW) == admin.Invite("doc@example.org", 3)
    other = signed_links.sign(KEY, "kneefix.sign-up-link.v1", {"e": "doc@example.org", "b": 3}, valid_for=DAY)
    assert admin.read_invite(KEY, other, now=NOW) is None
