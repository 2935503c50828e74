"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones and no JSON type of its own; PostgreSQL has both. These wrappers make every
timestamp come back as an aware UTC ``datetime`` and every JSON column use ``JSONB`` where the server
has it, so repository code and tests never branch on the backend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

#: JSON on SQLite, JSONB on PostgreSQL.
JsonColumn: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> dt.datetime:
    """The current moment as an aware UTC datetime, trimmed to milliseconds.

    Trimming keeps the value identical after a trip through either backend (PostgreSQL stores
    microseconds, but a JSON export round trip should not depend on that).
    """
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned aware (tzinfo=UTC).

    Naive datetimes are refused on the way in: guessing their zone is how stored times drift.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamps must carry a time zone, got naive {value!r}")
        as_utc = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            # SQLite stores text; keep one canonical form so string comparisons order correctly.
            return as_utc.replace(tzinfo=None)
        return as_utc

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
