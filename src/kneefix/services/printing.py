"""Programmes and reports on paper: a PDF handout of the person's exercises, and a PDF progress report
for the clinician.

Both are HTML from the Jinja templates in ``services/print/`` (one stylesheet for paper, A4), turned into
PDF by WeasyPrint (see the README's dependency table for why). The same function serves the web pages
(person and clinician), the API and the CLI, so every interface hands out the same document.

* The **handout**: the exercises of the person's current session, each with its key poses drawn (the
  demonstration's strip, :mod:`kneefix.motion.demo_render`), its dose, cues and easier version; the
  pain rules the plan follows; and the sessions and runs of the coming four weeks.
* The **report**: pain per week, Kujala and 0-10 pain scores with the change that matters, adherence,
  the plan's changes with their reasons, and the technique checks with their angle charts (when the
  check's files are in the file store it is given).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import uploads
from kneefix.services.library import demonstration_svg
from kneefix.services.plan import plan_state, today_view
from kneefix.services.progress import progress_summary
from kneefix.storage import profiles as profile_store
from kneefix.storage.files import FileStore

TEMPLATES = Path(__file__).with_name("print")
WEEKS_AHEAD = 4
PAIN_RULES_PAGE = "load_and_pain_monitoring"
PAIN_RULES_HEADING = "## The traffic-light rules"

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
_templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class PrintedExercise:
    name: str
    step: str
    dose: str
    cues: tuple[str, ...]
    poses: Markup  # the key poses as inline SVG
    easier: str | None
    safety: tuple[str, ...]


def _section(body: str, heading: str) -> str:
    """The Markdown from ``heading`` to the next heading of the same level (the whole body if absent)."""
    start = body.find(heading)
    if start < 0:
        return body
    end = body.find("\n## ", start + len(heading))
    return body[start : end if end >= 0 else None]


def _pain_rules(content: Content) -> Markup:
    page = content.education.get(PAIN_RULES_PAGE)
    if page is None:
        return Markup("")
    section = _section(page.body, PAIN_RULES_HEADING).replace(PAIN_RULES_HEADING, "", 1)
    return Markup(_markdown.render(section))


def _pdf(template: str, context: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only printing needs

    html = _templates.get_template(template).render(**context)
    document: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return document


def handout_pdf(session: Session, content: Content, profile_id: int, today: dt.date) -> bytes:
    """The person's programme on paper (see the module docstring)."""
    profile = profile_store.get_profile(session, profile_id)
    if profile.settings is None:
        raise InputError("There is no programme to print yet: take the screening first.")
    view = today_view(session, content, profile_id, today)
    state = plan_state(session, content, profile_id, today)
    exercises: list[PrintedExercise] = []
    for planned in view.session.exercises if view.session is not None else ():
        exercise = content.exercises.get(planned.exercise_id)
        poses = Markup(demonstration_svg(exercise, "poses")) if exercise and exercise.demo else Markup("")
        exercises.append(
            PrintedExercise(
                name=planned.name,
                step=planned.step,
                dose=planned.dose_text,
                cues=tuple(planned.cues),
                poses=poses,
                easier=planned.easier_name,
                safety=tuple(exercise.safety) if exercise else (),
            )
        )
    until = today + dt.timedelta(weeks=WEEKS_AHEAD)
    return _pdf(
        "handout.html",
        {
            "name": profile.name,
            "today": today,
            "view": view,
            "exercises": exercises,
            "pain_rules": _pain_rules(content),
            "sessions": [s for s in state.plan.sessions if today <= s.date < until],
            "runs": [r for r in state.plan.runs if today <= r.date < until],
            "protocol": state.plan.protocol_name,
            "paused": state.paused_reason if state.paused else None,
        },
    )


def _chart(files: FileStore | None, check: Any) -> str | None:
    """The check's angle chart as a data URL, when its files are here."""
    if files is None:
        return None
    try:
        with uploads.result_file(files, check, "angles.png") as (path, _):
            picture = path.read_bytes()
    except Exception:
        return None
    return "data:image/png;base64," + base64.b64encode(picture).decode("ascii")


def report_pdf(
    session: Session, content: Content, profile_id: int, today: dt.date, files: FileStore | None = None
) -> bytes:
    """The progress report for a clinician (see the module docstring)."""
    profile = profile_store.get_profile(session, profile_id)
    if profile.settings is None:
        raise InputError("There is nothing to report yet: the person has not taken the screening.")
    summary = progress_summary(session, content, profile_id, today)
    state = plan_state(session, content, profile_id, today)
    checks = [
        {"view": uploads.check_view(check), "chart": _chart(files, check)}
        for check in uploads.list_checks(session, profile_id)
        if check.status == "done"
    ]
    return _pdf(
        "report.html",
        {
            "name": profile.name,
            "today": today,
            "summary": summary,
            "changes": list(state.changes)[-15:],
            "checks": checks,
            "protocol": state.plan.protocol_name,
        },
    )
