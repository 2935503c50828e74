"""Progress for a person: pain and Kujala trends, adherence, streak, phase and why the plan changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.programme.progress import ProgressSummary, summarise
from kneefix.services.plan import plan_state
from kneefix.services.transfer import write_bytes_file
from kneefix.storage import logs as log_store
from kneefix.storage import scores as score_store


def progress_summary(session: Session, content: Content, profile_id: int, today: dt.date) -> ProgressSummary:
    """Everything the progress views show, from the stored logs and scores up to ``today``."""
    state = plan_state(session, content, profile_id, today)
    logs = log_store.list_logs(session, profile_id)
    scores = score_store.list_scores(session, profile_id)
    return summarise(logs, scores, state, today)


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
