"""A clinic with any number of people and believable records, for the dashboard's query tests.

Each person follows one of a few stories, chosen by their number, with the numbers also varying how
long ago they started and how their pain went, so no two rows are alike:

* progressing: weeks of logged sessions (some skipped), next-morning pain, a Kujala re-score,
  readiness checks, a clinician's dose change or exercise swap (and a withdrawn phase move), and
  technique checks (finished ones, then newer ones that failed or are still queued);
* rising pain over the last two weeks;
* stopped at screening by a red flag (no plan);
* re-screened after starting with a red flag, so the plan is paused (some resumed by the clinician);
* signed up but never screened;
* a plan on a programme the content no longer has (the row shows the error instead).

Every started person has looked at their plan once at the end, so the rules' changes are stored as
they would be. The records go straight into storage (the logbook services would replay the plan after
each log, which makes seeding fifty people slow); screenings go through the screening service, and the
clinician's changes through the clinic service, as a person and a clinician make them. A second
clinician and an unlinked person make sure the dashboard only ever reads the asking clinician's people.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import KneefixError
from kneefix.programme.records import PersonSettings, RunCheck, SessionLog
from kneefix.programme.replay import is_planned_day
from kneefix.services import accounts, clinic, screening
from kneefix.services.plan import refresh_plan
from kneefix.services.scores import save_score, score_kujala
from kneefix.storage import check_queue as check_store
from kneefix.storage import logs as log_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import run_checks as run_check_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.models import TechniqueCheck
from tests.services.helpers import typical_answers

TODAY = dt.date(2025, 4, 14)  # a Monday
STORIES = ("progressing", "rising", "red_flag", "paused", "unscreened", "retired_programme")
EVERY_VARIANT = 3 * len(STORIES)
"""Enough people for every story in each of its variations (they vary with ``number // len(STORIES)``)."""
RED_FLAG = "true_locking"
LATER_KUJALA = tuple("aaababaaaaaba")


@dataclass(frozen=True)
class Clinic:
    """The ids a test needs: the clinician whose dashboard is measured, and their people."""

    clinician_id: int
    profile_ids: tuple[int, ...]
    other_clinician_id: int


def _person(session: Session, number: int) -> int:
    """A person's account (with a password nobody can sign in with) and its empty profile."""
    user = user_store.create_user(
        session,
        email=f"person{number:03d}@clinic.invalid",
        password_hash="not-a-real-hash",
        display_name="" if number % 7 == 3 else f"Person {number:03d}",  # some go by their email
    )
    return accounts.person_profile(session, user.id).id


def _screen(session: Session, content: Content, profile_id: int, day: dt.date, *, flag: bool = False) -> None:
    """A typical screening on ``day`` (with the red flag when ``flag``), through the screening service."""
    profile = profile_store.get_profile(session, profile_id)
    answers = typical_answers(content, yes=(RED_FLAG,) if flag else (), pain_now=3 + day.day % 3)
    request = screening.StartRequest(answers, start_date=None if flag else day)
    screening.run_start(session, content, profile.name, request, today=day, user_id=profile.user_id)


def _pain(start: int, end: int, index: int, count: int, *, wobble: bool = True) -> int:
    """A sloping pain line with a small wobble, like a real person's."""
    value = round(start + (end - start) * index / max(count - 1, 1))
    value += (0, 1, 0, -1)[index % 4] if wobble else 0
    return max(0, min(10, value))


def _log_weeks(
    session: Session, profile_id: int, start: dt.date, until: dt.date, pains: tuple[int, int], skip: int
) -> None:
    """Every planned session from ``start`` to the day before ``until``, skipping every ``skip``-th."""
    settings = profile_store.profile_settings(session, profile_id)
    assert settings is not None
    days = [start + dt.timedelta(days=n) for n in range((until - start).days)]
    planned = [day for day in days if is_planned_day(settings, day)]
    for index, day in enumerate(planned):
        if skip and (index + 1) % skip == 0:
            continue
        pain = _pain(*pains, index, len(planned))
        settled = _pain(*pains, index, len(planned), wobble=False)  # mornings follow the trend
        morning = None if day + dt.timedelta(days=1) >= until else max(0, settled - 1)
        log_store.add_log(
            session,
            profile_id,
            SessionLog(
                date=day,
                completed=1.0 if index % 5 else 0.85,
                pain_during=pain,
                pain_after=max(0, pain - 1),
                next_morning_pain=morning,
                note="felt fine" if index % 3 == 0 else "",
            ),
        )


def _technique_checks(session: Session, profile_id: int, number: int) -> None:
    """Finished squat checks on earlier days, then newer ones that failed or are still waiting.

    Some people have five unfinished checks newer than their last finished one, so their row (which
    looks through the five newest) shows no technique, and others a history longer than five.
    """
    finished = 1 + number % 4
    unfinished = (1, 2, 5)[number // len(STORIES) % 3]
    for index in range(finished + unfinished):
        check = check_store.enqueue_check(
            session, profile_id, movement="squat", input_path=f"uploads/{profile_id}/{index}.mp4", side="left"
        )
        row = session.get(TechniqueCheck, check.id)
        assert row is not None
        row.created_at = dt.datetime(2025, 3, 20 + index, 9 + number % 8, 30, tzinfo=dt.UTC)
        if index < finished:
            reps = 3 + (number + index) % 3
            row.status, row.progress = "done", 1.0
            row.summary = {"headline": f"Squat: {reps} reps, hips led {1 + index % reps} of {reps}"}
        elif index % 2:
            row.status, row.error = "failed", "No person found in the video."
    session.flush()


def _progressing(session: Session, content: Content, clinician_id: int, profile_id: int, number: int) -> None:
    start = TODAY - dt.timedelta(weeks=4 + number % 3, days=number % 4)
    _screen(session, content, profile_id, start)
    _log_weeks(session, profile_id, start, TODAY, (1 + number % 4, 0), skip=7 - number % 3)
    if (TODAY - start).days >= 21:
        save_score(session, profile_id, score_kujala(content, LATER_KUJALA), start + dt.timedelta(days=21))
    for week in (3, 4):
        run_check_store.add_run_check(
            session, profile_id, RunCheck(start + dt.timedelta(weeks=week), number % 2, week - 3)
        )
    if number // len(STORIES) % 2 == 0:
        payload: dict[str, object] = {"exercise": "bridge", "sets": 3, "reps": 15}
        clinic.adjust_plan(
            session, content, clinician_id, profile_id, "dose", payload, note="More reps.", today=TODAY
        )
    else:
        choices = clinic.adjustment_choices(session, content, clinician_id, profile_id)
        old = choices["in_plan"][0]["id"]
        new = next(item["id"] for item in choices["all"] if item["id"] != old)
        clinic.adjust_plan(
            session, content, clinician_id, profile_id, "swap", {"from": old, "to": new}, today=TODAY
        )
    if number // len(STORIES) % 3 == 1:  # a phase move the clinician thought better of
        moved = clinic.adjust_plan(
            session, content, clinician_id, profile_id, "phase", {"phase": "build"}, today=TODAY
        )
        clinic.withdraw_adjustment(session, content, clinician_id, profile_id, moved.id, today=TODAY)
    _technique_checks(session, profile_id, number)


def _rising(session: Session, content: Content, profile_id: int, number: int) -> None:
    start = TODAY - dt.timedelta(weeks=2, days=number % 5)
    _screen(session, content, profile_id, start)
    _log_weeks(session, profile_id, start, TODAY, (3, 6 + number % 3), skip=0)


def _paused(session: Session, content: Content, clinician_id: int, profile_id: int, number: int) -> None:
    start = TODAY - dt.timedelta(weeks=3, days=number % 3)
    _screen(session, content, profile_id, start)
    _log_weeks(session, profile_id, start, TODAY - dt.timedelta(days=5), (4, 3), skip=4)
    _screen(session, content, profile_id, TODAY - dt.timedelta(days=4), flag=True)
    if number // len(STORIES) % 2:
        clinic.adjust_plan(
            session, content, clinician_id, profile_id, "resume", {}, note="Seen: carry on.", today=TODAY
        )


def _retired_programme(session: Session, content: Content, profile_id: int) -> None:
    start = TODAY - dt.timedelta(weeks=1)
    _screen(session, content, profile_id, start)
    settings = profile_store.profile_settings(session, profile_id)
    assert isinstance(settings, PersonSettings)
    _log_weeks(session, profile_id, start, TODAY, (2, 2), skip=0)
    retired = PersonSettings(**{**settings.__dict__, "protocol_id": "retired_programme"})
    profile_store.update_settings(session, profile_id, retired)


def _live(session: Session, content: Content, clinician_id: int, profile_id: int, number: int) -> None:
    """Play the person's story, chosen by their number."""
    story = STORIES[number % len(STORIES)]
    if story == "progressing":
        _progressing(session, content, clinician_id, profile_id, number)
    elif story == "rising":
        _rising(session, content, profile_id, number)
    elif story == "red_flag":
        _screen(session, content, profile_id, TODAY - dt.timedelta(days=number % 6), flag=True)
    elif story == "paused":
        _paused(session, content, clinician_id, profile_id, number)
    elif story == "retired_programme":
        _retired_programme(session, content, profile_id)


def _look_at_plan(session: Session, content: Content, profile_id: int) -> None:
    """What the person's own pages do: replay the plan and store the changes the rules made."""
    if profile_store.profile_settings(session, profile_id) is None:
        return
    with contextlib.suppress(KneefixError):  # the retired programme cannot be replayed
        refresh_plan(session, content, profile_id, TODAY)


def _link(session: Session, clinician_id: int, profile_id: int) -> None:
    invite = clinic.create_invite(session, clinician_id, note=f"profile {profile_id}", rate_limited=False)
    clinic.accept_invite(session, invite.code, profile_id)


def seed_clinic(database: Database, content: Content, people: int) -> Clinic:
    """A clinician with ``people`` linked people, plus a colleague sharing two of them and a stranger."""
    with database.session() as session:
        doctor = user_store.create_user(
            session, email="doctor@clinic.invalid", password_hash="x", display_name="Dr A", role="clinician"
        )
        colleague = user_store.create_user(
            session,
            email="colleague@clinic.invalid",
            password_hash="x",
            display_name="Dr B",
            role="clinician",
        )
        profile_ids = []
        for number in range(people):
            profile_id = _person(session, number)
            _link(session, doctor.id, profile_id)
            if number < 2:
                _link(session, colleague.id, profile_id)
            _live(session, content, doctor.id, profile_id, number)
            _look_at_plan(session, content, profile_id)
            profile_ids.append(profile_id)
        stranger = _person(session, 999)  # linked to the colleague only
        _link(session, colleague.id, stranger)
        _progressing(session, content, colleague.id, stranger, 1)
        _look_at_plan(session, content, stranger)
    return Clinic(doctor.id, tuple(profile_ids), colleague.id)
