"""The person's clock: which date and time it is where they live, not where the server is.

"Today" decides which session is due, whether a morning check is yesterday's, and when a reminder goes
out, so a person in Auckland served from a machine in Frankfurt must not be told at breakfast that
yesterday's session is today's. Each profile may carry an IANA time zone name (``Europe/London``); one
without a zone keeps the server's local clock, which is the person's own clock when kneefix runs on
their machine.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from kneefix.errors import InputError

MAX_ZONE_LENGTH = 64


@functools.cache
def time_zone_choices() -> tuple[str, ...]:
    """The zone names a person can pick: the IANA regions (``Europe/Paris``) and ``UTC``, sorted.

    Legacy aliases (``US/Eastern``, ``Etc/GMT+5``, ``EST5EDT``) are left out of the list, though a
    browser that reports one is still accepted by :func:`check_time_zone`.
    """
    regions = (
        "Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/",
        "Pacific/",
    )  # fmt: skip
    names = {name for name in zoneinfo.available_timezones() if name.startswith(regions)}
    return ("UTC", *sorted(names))


def check_time_zone(name: str) -> str:
    """The zone name, stripped, if the time zone database knows it; else an InputError that says so."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_ZONE_LENGTH or cleaned.startswith(("/", ".")) or ".." in cleaned:
        raise InputError(f"{name!r} is not a time zone; pick one from the list, e.g. Europe/London.")
    try:
        zoneinfo.ZoneInfo(cleaned)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{cleaned!r} is not a time zone; pick one from the list, e.g. Europe/London."
        ) from None
    return cleaned


def parse_time_zone(text: str) -> str | None:
    """A zone name from a form or a flag: empty means "the server's clock" (None)."""
    return check_time_zone(text) if text.strip() else None


def local_now(now: dt.datetime, zone: str | None) -> dt.datetime:
    """``now`` (an aware instant) as the wall-clock time in ``zone``, or the server's zone for None."""
    if now.tzinfo is None:
        raise ValueError("local_now needs an aware datetime")
    return now.astimezone(zoneinfo.ZoneInfo(zone)) if zone else now.astimezone()


def local_today(now: dt.datetime, zone: str | None) -> dt.date:
    """The date it is in ``zone`` at the instant ``now``."""
    return local_now(now, zone).date()
