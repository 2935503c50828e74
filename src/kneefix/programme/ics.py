"""Export a plan as an iCalendar file so sessions and runs show up in the person's own calendar app.

Each session and each return-to-running run is an all-day event whose UID depends only on the person's
name, the protocol, the date and what it is (a session or a run): importing a re-planned calendar updates
the events for the same days instead of duplicating them. A paused plan has neither (the forecast is
empty), so its file has no events.

For a calendar that stays current (the subscribable feed, and downloads after the plan has moved), the
caller passes the ``sequence`` and ``stamp`` of this version of the calendar (both rise when the plan
changes), a ``reminder`` time (a VALARM that goes off at that time of day on the event's day), and the
events handed out before that are no longer in the plan (``cancelled``), which are sent with
``STATUS:CANCELLED`` so calendar apps remove them.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from icalendar import Alarm, Calendar, Event

from kneefix.programme.planner import Plan, PlannedRun, PlannedSession

PRODID = "-//kneefix//training plan//EN"


def session_uid(plan: Plan, session: PlannedSession, name: str) -> str:
    """A UID that stays the same for the same person, protocol and day (the name is hashed, not shown)."""
    key = f"{name}\x1f{plan.protocol_id}\x1f{session.date.isoformat()}".encode()
    return f"{hashlib.sha256(key).hexdigest()[:24]}@kneefix"


def run_uid(plan: Plan, run: PlannedRun, name: str) -> str:
    """Like :func:`session_uid`, for the run on that day (a day can hold a session and a run)."""
    key = f"{name}\x1f{plan.protocol_id}\x1frun\x1f{run.date.isoformat()}".encode()
    return f"{hashlib.sha256(key).hexdigest()[:24]}@kneefix"


def run_description(run: PlannedRun) -> str:
    return (
        f"Return to running, stage {run.stage}: {run.description}.\n\n"
        "Log the run, and your knee the next morning, in kneefix."
    )


def session_description(session: PlannedSession) -> str:
    lines = [f"{session.phase_name} (week {session.week})", ""]
    for position, exercise in enumerate(session.exercises, start=1):
        lines.append(f"{position}. {exercise.name}: {exercise.dose_text}")
    if session.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in session.notes)
    lines.extend(["", "Log how it went, and your knee the next morning, in kneefix."])
    return "\n".join(lines)


def event_dates(plan: Plan, name: str) -> dict[str, dt.date]:
    """Every event's UID and day, as :func:`plan_to_ics` writes them."""
    found = {session_uid(plan, session, name): session.date for session in plan.sessions}
    found.update({run_uid(plan, run, name): run.date for run in plan.runs})
    return found


def plan_to_ics(
    plan: Plan,
    name: str,
    *,
    stamp: dt.datetime | None = None,
    sequence: int = 0,
    reminder: dt.time | None = None,
    cancelled: dict[str, dt.date] | None = None,
) -> bytes:
    """The plan as iCalendar bytes: one all-day VEVENT per session and per run.

    ``stamp`` (the required DTSTAMP) defaults to midnight UTC on the plan's start date so the same plan
    always gives the same bytes; pass the export time if you prefer.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Knee programme: {name}" if name else "Knee programme")
    when = stamp or dt.datetime.combine(plan.start_date, dt.time(0), tzinfo=dt.UTC)
    for session in plan.sessions:
        summary = f"Knee session: {session.phase_name}, week {session.week}"
        event = _all_day(session_uid(plan, session, name), when, session.date, summary, sequence)
        event.add("description", session_description(session))
        _remind(event, reminder, summary)
        calendar.add_component(event)
    for run in plan.runs:
        summary = f"Run: stage {run.stage}"
        event = _all_day(run_uid(plan, run, name), when, run.date, summary, sequence)
        event.add("description", run_description(run))
        _remind(event, reminder, summary)
        calendar.add_component(event)
    for uid, day in sorted((cancelled or {}).items(), key=lambda item: (item[1], item[0])):
        event = _all_day(uid, when, day, "Moved: knee programme", sequence)
        event.add("status", "CANCELLED")
        event.add("description", "The plan has moved this session or run; see kneefix for the new day.")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def _remind(event: Event, reminder: dt.time | None, summary: str) -> None:
    """A display alarm at ``reminder`` on the event's day (an all-day event starts at midnight, local)."""
    if reminder is None:
        return
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", dt.timedelta(hours=reminder.hour, minutes=reminder.minute))
    event.add_component(alarm)


def _all_day(uid: str, stamp: dt.datetime, day: dt.date, summary: str, sequence: int = 0) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", day)
    event.add("dtend", day + dt.timedelta(days=1))
    event.add("summary", summary)
    event.add("categories", ["kneefix"])
    event.add("transp", "TRANSPARENT")
    return event
