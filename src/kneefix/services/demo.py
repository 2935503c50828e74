"""``kneefix serve --demo``: a clinician and three people with a few weeks of believable history.

A newcomer should see a living product at once: a person five weeks into the programme (sessions
logged, pain easing, a Kujala re-score, changes the rules made and one from their clinician), a person
whose pain is rising, and one the screening stopped with a red flag, all linked to one clinician.

The history goes through the same services a person uses (screening, logging, scores, invites,
adjustments), so what the demo shows is what the product does. Seeding twice adds nothing new; each run
gives the two demo accounts a fresh random password and prints it (no fixed password ever exists).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from kneefix.content.loader import Content, load_content
from kneefix.errors import InputError
from kneefix.programme.replay import is_planned_day
from kneefix.services import accounts, clinic, logbook, screening
from kneefix.services.credentials import check_new_password, hash_password
from kneefix.services.scores import save_score, score_kujala
from kneefix.storage import users as user_store
from kneefix.storage.db import Database

DEMO_DOMAIN = "demo.kneefix.invalid"  # .invalid can never be a real address
CLINICIAN_EMAIL = f"clinician@{DEMO_DOMAIN}"
PERSON_EMAIL = f"alex@{DEMO_DOMAIN}"
CLINICIAN_NAME = "Dr Rhea Castillo"


@dataclass(frozen=True)
class DemoAccounts:
    """The sign-in details to print for the person and the clinician."""

    person_email: str
    clinician_email: str
    password: str
    created: bool

    def lines(self) -> list[str]:
        return [
            f"person:    {self.person_email}",
            f"clinician: {self.clinician_email}",
            f"password:  {self.password}",
        ]


@dataclass(frozen=True)
class _Story:
    """One demo person: who they are and how their weeks went."""

    email: str
    name: str
    age: int
    weeks_ago: int
    kujala_start: str  # 13 letters, a = best answer
    kujala_later: str | None
    pain_start: int
    pain_end: int
    skip_every: int  # miss every n-th planned session (0: never)
    red_flag: str | None = None


STORIES = (
    _Story(PERSON_EMAIL, "Alex Moreno", 34, 5, "abbccbbbbbaba", "aaababaaaaaba", 4, 1, 7),
    _Story(f"jo@{DEMO_DOMAIN}", "Jo Okafor", 27, 2, "abbbcbbbbaaba", None, 3, 5, 0),
    _Story(f"sam@{DEMO_DOMAIN}", "Sam Lindqvist", 45, 0, "abbbbbbbbbaba", None, 5, 5, 0, "true_locking"),
)
EQUIPMENT = (
    "foam_roller",
    "tennis_ball",
    "stability_ball",
    "dumbbells",
    "resistance_band",
    "wall",
    "chair",
    "step",
)


def _answers(content: Content, story: _Story, start: dt.date) -> dict[str, object]:
    flags = {
        flag.id: flag.id == story.red_flag for flag in screening.applicable_red_flags(content, story.age)
    }
    return {
        "age": story.age,
        "symptoms": "pain_around_kneecap,pain_stairs_downhill,pain_running,pain_after_sitting",
        "red_flags": flags,
        "kujala": ",".join(story.kujala_start),
        "pain": story.pain_start,
        "equipment": ",".join(item for item in EQUIPMENT if item in content.equipment),
        "days": 3,
        "runs": True,
        "start_date": start.isoformat(),
    }


def _pain_on(story: _Story, day_index: int, days: int, *, wobble: bool = True) -> int:
    """A gently sloping pain line with a small wobble, so charts look like a real person's."""
    share = day_index / max(days, 1)
    pattern = (0, 1, 0, -1) if story.pain_end < story.pain_start else (0, 0, 1, 0)
    value = round(story.pain_start + (story.pain_end - story.pain_start) * share)
    value += pattern[day_index % 4] if wobble else 0
    return max(0, min(10, value))


def _live(session: Session, content: Content, story: _Story, user_id: int, today: dt.date) -> int:
    """Screen the person and play their weeks forward; returns their profile id."""
    start = today - dt.timedelta(weeks=story.weeks_ago) if story.weeks_ago else today
    profile = accounts.person_profile(session, user_id)
    request = screening.build_request(content, _answers(content, story, start))
    outcome = screening.run_start(session, content, profile.name, request, today=start, user_id=user_id)
    if not outcome.started or outcome.settings is None:
        return profile.id
    settings = outcome.settings
    days = (today - start).days
    calendar = [start + dt.timedelta(days=n) for n in range(days)]
    planned = [day for day in calendar if is_planned_day(settings, day)]
    for number, day in enumerate(planned, start=1):
        if story.skip_every and number % story.skip_every == 0:
            continue
        pain = _pain_on(story, (day - start).days, days)
        logbook.log_session(
            session, content, profile.id, day=day, today=day, completed=1.0 if number % 5 else 0.8,
            pain_during=pain, pain_after=max(0, pain - 1),
        )  # fmt: skip
        morning = day + dt.timedelta(days=1)
        if morning < today:  # mornings follow the trend without the day-to-day wobble
            settled = _pain_on(story, (day - start).days, days, wobble=False)
            logbook.record_morning_pain(
                session, content, profile.id, pain=max(0, settled - 1), today=morning, session_day=day
            )
    if story.kujala_later and days >= 21:
        save_score(
            session,
            profile.id,
            score_kujala(content, list(story.kujala_later)),
            start + dt.timedelta(days=21),
        )
    return profile.id


def _set_password(session: Session, user_id: int, password: str) -> None:
    user_store.set_password_hash(session, user_id, hash_password(password))


def _random_password(*emails: str) -> str:
    """A random password the password rules accept for every one of ``emails``.

    A random string can by chance hold an email's name (``...sAMA...`` for sam@...), which the rules
    refuse; drawing again is cheaper than weakening the rules for the demo.
    """
    while True:
        candidate = "demo-" + secrets.token_urlsafe(12)  # says what it is where it is printed
        try:
            for email in emails:
                check_new_password(candidate, email=email)
        except InputError:
            continue
        return candidate


def seed_demo(database: Database, data_dir: Path, *, today: dt.date | None = None) -> DemoAccounts:
    """Create the demo clinician and people (once) and give the demo accounts a new password."""
    content = load_content()
    day = today or dt.date.today()
    password = _random_password(CLINICIAN_EMAIL, PERSON_EMAIL)
    with database.session() as session:
        existing = user_store.find_user_by_email(session, CLINICIAN_EMAIL)
        if existing is not None:
            _set_password(session, existing.id, password)
            person = user_store.find_user_by_email(session, PERSON_EMAIL)
            if person is not None:
                _set_password(session, person.id, password)
            return DemoAccounts(PERSON_EMAIL, CLINICIAN_EMAIL, password, created=False)
        doctor = accounts.sign_up(
            session,
            email=CLINICIAN_EMAIL,
            password=password,
            display_name="Dr Rhea Castillo",
            role="clinician",
            approved=True,  # made by whoever runs the server, like ``kneefix users add --clinician``
        )
        for story in STORIES:
            secret = password if story.email == PERSON_EMAIL else _random_password(story.email)
            user = accounts.sign_up(session, email=story.email, password=secret, display_name=story.name)
            profile_id = _live(session, content, story, user.id, day)
            invite = clinic.create_invite(session, doctor.id, note=story.name, rate_limited=False)
            clinic.accept_invite(session, invite.code, profile_id)
            if story.email == PERSON_EMAIL:
                _adjust(session, content, doctor.id, profile_id, day)
    data_dir.mkdir(parents=True, exist_ok=True)
    return DemoAccounts(PERSON_EMAIL, CLINICIAN_EMAIL, password, created=True)


def _adjust(session: Session, content: Content, clinician_id: int, profile_id: int, today: dt.date) -> None:
    """One standing change from the clinician, so the person sees how that looks."""
    choices = clinic.adjustment_choices(session, content, clinician_id, profile_id)
    wanted = next((item for item in choices["in_plan"] if item["id"] == "bridge"), None)
    if wanted is None and choices["in_plan"]:
        wanted = choices["in_plan"][-1]
    if wanted is None:
        return
    clinic.adjust_plan(
        session,
        content,
        clinician_id,
        profile_id,
        "dose",
        {"exercise": wanted["id"], "sets": 3, "reps": 15},
        note="Your bridges look strong; a few more reps each set.",
        today=today - dt.timedelta(days=3),
    )
