"""Read one kind of record for many profiles at once, grouped by profile.

A clinician's table shows a line per person, and reading each person's records on their own costs a
few statements per person (a page of fifty people sent over a thousand). The ``*_by_profile`` readers
of the other storage modules read each kind once for all the people instead, through
:func:`rows_by_profile`; a page's statements then stay the same however many people it lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

IDS_PER_QUERY = 500
"""Profile ids in one ``IN (...)`` list: far below the bind-parameter limits of SQLite and PostgreSQL,
so a very large clinic costs a few more statements instead of failing."""


class ProfileRow(Protocol):
    """A stored row that belongs to one profile."""

    @property
    def profile_id(self) -> int: ...


RowT = TypeVar("RowT", bound=ProfileRow)
RecordT = TypeVar("RecordT")


def id_chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """The distinct ids, in order, in lists of at most :data:`IDS_PER_QUERY`."""
    distinct = list(dict.fromkeys(ids))
    for start in range(0, len(distinct), IDS_PER_QUERY):
        yield distinct[start : start + IDS_PER_QUERY]


def rows_by_profile(
    session: Session,
    profile_ids: Sequence[int],
    query_for: Callable[[list[int]], Select[RowT]],
    convert: Callable[[RowT], RecordT],
) -> dict[int, list[RecordT]]:
    """Every asked profile's records, in the order ``query_for`` sorts them (ids with none: ``[]``).

    ``query_for`` builds the query for a list of ids (filtering its own way, e.g. inside a subquery);
    ids that are no profile simply get an empty list, so callers pass ids they already checked.
    """
    grouped: dict[int, list[RecordT]] = {profile_id: [] for profile_id in profile_ids}
    for chunk in id_chunks(profile_ids):
        for row in session.scalars(query_for(chunk)):
            grouped[row.profile_id].append(convert(row))
    return grouped
