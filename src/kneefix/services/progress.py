"""Progress for a person: pain and Kujala trends, adherence, streak, phase and why the plan changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import KneefixError
from kneefix.programme.progress import ProgressSummary, summarise
from kneefix.programme.replay import PlanState
from kneefix.services.plan import PlanRecords, plan_records, refresh_records, refresh_states, replay_records
from kneefix.services.transfer import write_bytes_file


def progress_summary(session: Session, content: Content, profile_id: int, today: dt.date) -> ProgressSummary:
    """Everything the progress views show, from the stored logs and scores up to ``today``."""
    records = plan_records(session, profile_id)
    state = refresh_records(session, content, records, today).state
    return summarise(records.logs, records.scores, state, today)


def progress_summaries(
    session: Session, content: Content, people: Sequence[PlanRecords], today: dt.date
) -> dict[int, ProgressSummary | KneefixError]:
    """:func:`progress_summary` for several people from their records, by profile id (a clinician's table).

    Each plan is replayed as the person's own pages replay it, and the rules' changes of all of them are
    stored together. A plan that cannot be built gives its error instead, so it cannot hide the others.
    """
    outcomes: dict[int, ProgressSummary | KneefixError] = {}
    states: dict[int, PlanState] = {}
    for person in people:
        try:
            states[person.profile.id] = replay_records(content, person, today)
        except KneefixError as error:
            outcomes[person.profile.id] = error
    by_id = {person.profile.id: person for person in people}
    for profile_id, refreshed in refresh_states(session, states, today).items():
        person = by_id[profile_id]
        try:
            outcomes[profile_id] = summarise(person.logs, person.scores, refreshed.state, today)
        except KneefixError as error:
            outcomes[profile_id] = error
    return outcomes


CHART_CACHE_SIZE = 64
"""Charts kept drawn (about 100 KB each): a clinic's people, a person's reloads."""


def progress_chart(summary: ProgressSummary, path: Path | None = None) -> bytes:
    """The progress chart as PNG bytes, written to ``path`` when given.

    Drawing takes seconds (matplotlib), and the person's page, the clinician's person page and the API
    ask for the same chart again and again, so charts are kept by the digest of what they show: the
    same summary is drawn once, and any new log, score or plan change (or a new day) draws it afresh.
    """
    digest = hashlib.sha256(repr(summary).encode("utf-8")).hexdigest()
    with _CHARTS_LOCK:
        png = _CHARTS.get(digest)
        if png is not None:
            _CHARTS.move_to_end(digest)
            _CHART_COUNTS["served"] += 1
    if png is None:
        from kneefix.programme import plots  # matplotlib is slow to import; only charts need it

        png = plots.progress_chart(summary)
        with _CHARTS_LOCK:
            _CHARTS[digest] = png
            _CHART_COUNTS["drawn"] += 1
            while len(_CHARTS) > CHART_CACHE_SIZE:
                _CHARTS.popitem(last=False)
    if path is not None:
        write_bytes_file(path, png)
    return png


_CHARTS: OrderedDict[str, bytes] = OrderedDict()
_CHARTS_LOCK = threading.Lock()  # the web app serves requests from several threads
_CHART_COUNTS = {"drawn": 0, "served": 0}


def chart_counts() -> dict[str, int]:
    """How many charts were drawn, and how many served already drawn (since the process started)."""
    with _CHARTS_LOCK:
        return dict(_CHART_COUNTS)
