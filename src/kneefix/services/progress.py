"""Progress for a person: pain and Kujala trends, adherence, streak, phase and why the plan changed."""

from __future__ import annotations

import datetime as dt
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


def progress_chart(summary: ProgressSummary, path: Path | None = None) -> bytes:
    """The progress chart as PNG bytes, written to ``path`` when given."""
    from kneefix.programme import plots  # matplotlib is slow to import; only charts need it

    png = plots.progress_chart(summary)
    if path is not None:
        write_bytes_file(path, png)
    return png
