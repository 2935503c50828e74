"""Export a plan as an iCalendar file so sessions show up in the person's own calendar app.

Each session is an all-day event whose UID depends only on the person's name, the protocol and the
date: importing a re-planned calendar updates the events for the same days instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from icalendar import Calendar, Event

from kneefix.programme.planner import Plan, PlannedSession

PRODID = "-//kneefix//training plan//EN"


def session_uid(plan: Plan, session: PlannedSession, name: str) -> str:
    """A UID that stays the same for the same person, protocol and day (the name is hashed, not shown)."""
    key = f"{name}\x1f{plan.protocol_id}\x1f{session.date.isoformat()}".encode()
    return f"{hashlib.sha256(key).hexdigest()[:24]}@kneefix"


def session_description(session: PlannedSession) -> str:
    lines = [f"{session.phase_name} (week {session.week})", ""]
    for position, exercise in enumerate(session.exercises, start=1):
        lines.append(f"{position}. {exercise.name}: {exercise.dose_text}")
    if session.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in session.notes)
    lines.extend(["", "Log how it went, and your knee the next morning, in kneefix."])
    return "\n".join(lines)


def plan_to_ics(plan: Plan, name: str, *, stamp: dt.datetime | None = None) -> bytes:
    """The plan as iCalendar bytes: one all-day VEVENT per session.

    ``stamp`` (the required DTSTAMP) defaults to midnight UTC on the plan's start date so the same plan
    always gives the same bytes; pass the export time if you prefer.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Knee programme: {name}" if name else "Knee programme")
    when = stamp or dt.datetime.combine(plan.start_date, dt.time(0), tzinfo=dt.UTC)
    for session in plan.sessions:
        event = Event()
        event.add("uid", session_uid(plan, session, name))
        event.add("dtstamp", when)
        event.add("dtstart", session.date)
        event.add("dtend", session.date + dt.timedelta(days=1))
        event.add("summary", f"Knee session: {session.phase_name}, week {session.week}")
        event.add("description", session_description(session))
        event.add("categories", ["kneefix"])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
