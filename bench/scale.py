"""How read latency and query plans grow with the number of people in one database.

A clinic's database holds thousands of people, each with a profile, a plan and weeks of logs; the
pages read one person (their today) or one clinician's people (the clinician's table) at a time. Those
reads should cost the same whether the database holds ten people or ten thousand: every query should
find its rows through an index, never by reading a whole big table.

For each size (default 10, 1,000 and 10,000 people, grown in one database) this seeds people with
about 30 days of believable history: a few template people go through the real services (screening,
logging with the plan adapting, next-morning pain, a Kujala re-score, a clinician's adjustment, one
stopped by a red flag), then their rows are copied for everyone else with bulk inserts through the
models, so 10,000 people take seconds, not hours. Half the people are linked to a clinician, 50 each;
the measured clinician has the first 50 people (all of them when there are fewer).

It then times, as medians of several runs in read sessions (as the web app's GETs use):

* ``dashboard`` - ``services.clinic.dashboard``, the clinician's people table (home page and API);
* ``today``     - ``services.plan.today_view`` for one person (the ``/today`` page and API).

The SQL those paths issue is captured with a ``before_cursor_execute`` listener; at the largest size
each distinct statement is shown with ``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN`` (PostgreSQL), and
any full scan of a big table is flagged. Nothing runs ``ANALYZE`` on SQLite, as the app never does.

Run: ``.venv/bin/python bench/scale.py [--sizes 10,1000,10000] [--repeats 5] [--db URL]``. ``--db``
must name an empty PostgreSQL (or other) database; by default a SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from kneefix.content.loader import Content, load_content
from kneefix.errors import InputError
from kneefix.programme.replay import is_planned_day
from kneefix.services import accounts, clinic, logbook, plan, screening
from kneefix.services.scores import save_score, score_kujala
from kneefix.storage import models
from kneefix.storage.db import Database

DOMAIN = "bench.kneefix.invalid"
PASSWORD = "correct-horse-battery"
GROUP = 50  # people per clinician
BIG_ROWS = 1000  # a full scan of a table with at least this many rows is flagged
CHUNK = 5000  # rows per bulk insert
EQUIPMENT = ("foam_roller", "tennis_ball", "resistance_band", "wall", "chair", "step")
# Tables whose rows hang off a profile and are copied with it.
TABLES = models.Base.metadata.tables
CHILD_TABLES = tuple(
    TABLES[name]
    for name in ("screenings", "scores", "session_logs", "plan_changes", "plan_adjustments", "run_checks")
)
COUNTED = ("users", "profiles", "screenings", "scores", "session_logs", "plan_changes", "clinician_links")


@dataclass(frozen=True)
class Story:
    """One template person: how their month went."""

    age: int
    days_in: int  # the plan started this many days ago
    pain_start: int
    pain_end: int
    skip_every: int = 0  # miss every n-th planned session (0: never)
    days_per_week: int = 3
    rescore: bool = False  # a second Kujala three weeks in
    adjusted: bool = False  # the clinician changed a dose
    red_flag: str | None = None  # stopped at screening: no plan, no logs


STORIES = (
    Story(34, 30, 5, 1, skip_every=7, rescore=True, adjusted=True),  # easing, a clinician's change
    Story(27, 31, 3, 6),  # pain rising: the plan steps back
    Story(45, 29, 4, 4, skip_every=3, days_per_week=4),  # steady, misses sessions
    Story(52, 32, 6, 2, rescore=True),
    Story(23, 28, 2, 1, days_per_week=2),
    Story(38, 0, 5, 5, red_flag="true_locking"),  # stopped by a red flag
)


# ----- seeding ------------------------------------------------------------------------------------


def _answers(content: Content, story: Story, start: dt.date) -> dict[str, object]:
    flags = {
        flag.id: flag.id == story.red_flag for flag in screening.applicable_red_flags(content, story.age)
    }
    return {
        "age": story.age,
        "symptoms": "pain_around_kneecap,pain_stairs_downhill,pain_running,pain_after_sitting",
        "red_flags": flags,
        "kujala": "abbccbbbbbaba",
        "pain": story.pain_start,
        "equipment": ",".join(item for item in EQUIPMENT if item in content.equipment),
        "days": story.days_per_week,
        "runs": True,
        "start_date": start.isoformat(),
    }


def _pain(story: Story, day_index: int) -> int:
    share = day_index / max(story.days_in, 1)
    wobble = (0, 1, 0, -1)[day_index % 4]
    return max(0, min(10, round(story.pain_start + (story.pain_end - story.pain_start) * share) + wobble))


def live(
    session: Session, content: Content, story: Story, user_id: int, clinician_id: int, today: dt.date
) -> int:
    """Screen one person and play their month forward through the services; returns the profile id."""
    start = today - dt.timedelta(days=story.days_in)
    profile = accounts.person_profile(session, user_id)
    request = screening.build_request(content, _answers(content, story, start))
    outcome = screening.run_start(session, content, profile.name, request, today=start, user_id=user_id)
    if not outcome.started or outcome.settings is None:
        return profile.id
    planned = [
        start + dt.timedelta(days=n)
        for n in range(story.days_in)
        if is_planned_day(outcome.settings, start + dt.timedelta(days=n))
    ]
    for number, day in enumerate(planned, start=1):
        if story.skip_every and number % story.skip_every == 0:
            continue
        pain = _pain(story, (day - start).days)
        try:
            logbook.log_session(
                session, content, profile.id, day=day, today=day, completed=1.0 if number % 5 else 0.8,
                pain_during=pain, pain_after=max(0, pain - 1),
            )  # fmt: skip
        except InputError:  # the rules paused the plan for a review: no more sessions to log
            break
        morning = day + dt.timedelta(days=1)
        if morning < today:
            logbook.record_morning_pain(
                session, content, profile.id, pain=max(0, pain - 1), today=morning, session_day=day
            )
    if story.rescore:
        save_score(session, profile.id, score_kujala(content, "aaababaaaaaba"), start + dt.timedelta(days=21))
    if story.adjusted:
        invite = clinic.create_invite(session, clinician_id, note="template")
        clinic.accept_invite(session, invite.code, profile.id)
        choices = clinic.adjustment_choices(session, content, clinician_id, profile.id)
        if choices["in_plan"]:
            clinic.adjust_plan(
                session, content, clinician_id, profile.id, "dose",
                {"exercise": choices["in_plan"][-1]["id"], "sets": 3, "reps": 15},
                note="A few more reps each set.", today=today - dt.timedelta(days=3),
            )  # fmt: skip
    return profile.id


@dataclass
class Template:
    """A template person's rows, ready to copy: their user, profile and everything under the profile."""

    user: dict[str, Any]
    profile: dict[str, Any]
    children: dict[Table, list[dict[str, Any]]]


def snapshot(session: Session, profile_id: int) -> Template:
    profiles = TABLES["profiles"]
    users = TABLES["users"]
    profile = dict(session.execute(select(profiles).where(profiles.c.id == profile_id)).one()._mapping)
    user = dict(session.execute(select(users).where(users.c.id == profile["user_id"])).one()._mapping)
    children = {
        table: [
            {name: value for name, value in row._mapping.items() if name != "id"}
            for row in session.execute(select(table).where(table.c.profile_id == profile_id))
        ]
        for table in CHILD_TABLES
    }
    return Template(user=user, profile=profile, children=children)


@dataclass
class Population:
    """What has been seeded so far into one database."""

    database: Database
    content: Content
    today: dt.date
    clinician_id: int = 0
    clinician_row: dict[str, Any] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)
    people: list[tuple[int, int, int]] = field(default_factory=list)  # (user, profile, template) ids
    clinicians: list[int] = field(default_factory=list)  # clinician user ids; [0] is the measured one
    linked: set[int] = field(default_factory=set)  # profile ids linked to some clinician

    def grow_to(self, count: int) -> None:
        """Add people (templates first, then copies of them) until there are ``count``."""
        with self.database.session() as session:
            if not self.clinician_id:
                doctor = accounts.sign_up(
                    session, email=f"clinician@{DOMAIN}", password=PASSWORD,
                    display_name="Dr Bench", role="clinician",
                )  # fmt: skip
                self.clinician_id = doctor.id
                self.clinicians.append(doctor.id)
                users = TABLES["users"]
                row = session.execute(select(users).where(users.c.id == doctor.id)).one()._mapping
                self.clinician_row = dict(row)
            while len(self.templates) < len(STORIES) and len(self.people) < count:
                story = STORIES[len(self.templates)]
                number = len(self.people)
                user = accounts.sign_up(
                    session, email=f"person{number:05d}@{DOMAIN}", password=PASSWORD,
                    display_name=f"Person {number:05d}",
                )  # fmt: skip
                profile_id = live(session, self.content, story, user.id, self.clinician_id, self.today)
                if story.adjusted:
                    self.linked.add(profile_id)
                template = snapshot(session, profile_id)
                self.templates.append(template)
                self.people.append((user.id, profile_id, len(self.templates) - 1))
            if len(self.people) < count:
                self._copy(session, count - len(self.people))
            self._link(session)

    def measured_person(self) -> int:
        """The profile whose today is timed: the latest copy of the first template (the fullest month)."""
        return next(profile_id for _user, profile_id, template in reversed(self.people) if template == 0)

    def _copy(self, session: Session, count: int) -> None:
        users, profiles = TABLES["users"], TABLES["profiles"]
        next_user = int(session.scalar(select(func.max(users.c.id))) or 0) + 1
        next_profile = int(session.scalar(select(func.max(profiles.c.id))) or 0) + 1
        user_rows: list[dict[str, Any]] = []
        profile_rows: list[dict[str, Any]] = []
        child_rows: dict[Table, list[dict[str, Any]]] = {table: [] for table in CHILD_TABLES}
        for offset in range(count):
            number = len(self.people)
            template = self.templates[number % len(self.templates)]
            user_id, profile_id = next_user + offset, next_profile + offset
            user_rows.append(
                {
                    **template.user,
                    "id": user_id,
                    "email": f"person{number:05d}@{DOMAIN}",
                    "display_name": f"Person {number:05d}",
                }
            )
            profile_rows.append({**template.profile, "id": profile_id, "user_id": user_id})
            for table, rows in template.children.items():
                child_rows[table].extend({**row, "profile_id": profile_id} for row in rows)
            self.people.append((user_id, profile_id, number % len(self.templates)))
        for table, rows in ((users, user_rows), (profiles, profile_rows), *child_rows.items()):
            for begin in range(0, len(rows), CHUNK):
                session.execute(insert(table), rows[begin : begin + CHUNK])
        _advance_sequences(session)

    def _link(self, session: Session) -> None:
        """The first GROUP people go to the measured clinician; every other later one to another."""
        links = TABLES["clinician_links"]
        users = TABLES["users"]
        rows: list[dict[str, Any]] = []
        for number, (_user_id, profile_id, _template) in enumerate(self.people):
            if profile_id in self.linked:
                continue
            if number < GROUP:
                group = 0
            elif number % 2 == 0:
                group = 1 + (number - GROUP) // (2 * GROUP)
            else:
                continue
            while len(self.clinicians) <= group:
                next_id = int(session.scalar(select(func.max(users.c.id))) or 0) + 1
                session.execute(
                    insert(users),
                    [{**self.clinician_row, "id": next_id, "email": f"clinician{group:04d}@{DOMAIN}"}],
                )
                self.clinicians.append(next_id)
            rows.append({"clinician_user_id": self.clinicians[group], "profile_id": profile_id})
            self.linked.add(profile_id)
        for begin in range(0, len(rows), CHUNK):
            session.execute(insert(links), rows[begin : begin + CHUNK])
        _advance_sequences(session)


def _advance_sequences(session: Session) -> None:
    """On PostgreSQL, move the id sequences past the ids given explicitly (SQLite needs nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in ("users", "profiles"):
        session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        )


def table_counts(database: Database) -> dict[str, int]:
    """Rows in every kneefix table (the plan check needs them all; the report shows ``COUNTED``)."""
    with database.session(write=False) as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in TABLES.items()
        }


# ----- timing and query plans ----------------------------------------------------------------------


@dataclass
class Captured:
    """The statements one run issued: (SQL, parameters) in order."""

    statements: list[tuple[str, Any]] = field(default_factory=list)


@contextmanager
def capture(database: Database) -> Iterator[Captured]:
    captured = Captured()

    def before(
        _conn: Connection, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> None:
        if not executemany:
            captured.statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", before)
    try:
        yield captured
    finally:
        event.remove(database.engine, "before_cursor_execute", before)


def timed(database: Database, work: Callable[[Session], object], repeats: int) -> list[float]:
    """Milliseconds of each run of ``work`` in its own read session (after one untimed warm-up)."""
    with database.session(write=False) as session:
        work(session)
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        with database.session(write=False) as session:
            work(session)
        runs.append((time.perf_counter() - began) * 1000)
    return runs


def _short(sql: str, width: int = 140) -> str:
    """One line of SQL with the column list elided (``SELECT … FROM``), cut to ``width``."""
    flat = re.sub(r"\s+", " ", sql).strip()
    flat = re.sub(r"^SELECT (?:(?!\bFROM\b).)+? FROM ", "SELECT … FROM ", flat)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


_SQLITE_STEP = re.compile(r"^(SCAN|SEARCH) (\w+)(?: AS \w+)?(.*)$")
_PG_SEQ = re.compile(r"Seq Scan on (\w+)")


@dataclass
class Plan:
    """A statement's plan: its lines, full scans of big tables, and lesser notes (temporary sorts)."""

    lines: list[str] = field(default_factory=list)
    scans: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def explain(database: Database, sql: str, parameters: Any, counts: dict[str, int]) -> Plan:
    found = Plan()
    with database.engine.connect() as connection:
        if database.backend == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
            depth: dict[int, int] = {}
            for node, parent, _unused, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                found.lines.append("  " * depth[node] + str(detail))
                match = _SQLITE_STEP.match(str(detail))
                if match and match.group(1) == "SCAN" and counts.get(match.group(2), 0) >= BIG_ROWS:
                    how = "full index scan" if "INDEX" in match.group(3) else "FULL TABLE SCAN"
                    found.scans.append(f"{how} of {match.group(2)} ({counts[match.group(2)]:,} rows)")
                if "TEMP B-TREE" in str(detail):
                    found.notes.append(str(detail).lower())
        else:
            rows = connection.exec_driver_sql("EXPLAIN " + sql, parameters).all()
            for (line,) in rows:
                found.lines.append(str(line))
                match = _PG_SEQ.search(str(line))
                if match and counts.get(match.group(1), 0) >= BIG_ROWS:
                    found.scans.append(f"Seq Scan of {match.group(1)} ({counts[match.group(1)]:,} rows)")
        connection.rollback()
    return found


@dataclass
class PathReport:
    name: str
    runs_ms: list[float]
    statements: int
    distinct: list[tuple[str, Any, int]]  # SQL, first parameters, how many times issued

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


def measure(name: str, database: Database, work: Callable[[Session], object], repeats: int) -> PathReport:
    runs = timed(database, work, repeats)
    with capture(database) as captured, database.session(write=False) as session:
        work(session)
    seen: dict[str, tuple[Any, int]] = {}
    for sql, parameters in captured.statements:
        first, times = seen.get(sql, (parameters, 0))
        seen[sql] = (first, times + 1)
    distinct = [(sql, first, times) for sql, (first, times) in seen.items()]
    return PathReport(name, runs, len(captured.statements), distinct)


def _plannable(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


def print_plans(
    database: Database, reports: Sequence[PathReport], counts: dict[str, int]
) -> tuple[list[str], list[str]]:
    """Each distinct SELECT of each path with its plan; returns the full scans and the notes raised."""
    scans: list[str] = []
    notes: list[str] = []
    kind = "EXPLAIN QUERY PLAN" if database.backend == "sqlite" else "EXPLAIN"
    for report in reports:
        print(f"\n-- {kind}: {report.name} ({report.statements} statements, {len(report.distinct)} distinct)")
        for sql, parameters, times in report.distinct:
            if not _plannable(sql):
                print(f"[{times}x] {_short(sql)} (not planned)")
                continue
            found = explain(database, sql, parameters, counts)
            print(f"[{times}x] {_short(sql)}")
            for line in found.lines:
                print(f"      {line}")
            for scan in found.scans:
                print(f"      !! {scan}")
            scans.extend(f"{report.name}: {scan} in {_short(sql, 100)}" for scan in found.scans)
            notes.extend(f"{report.name}: {note} in {_short(sql, 100)}" for note in found.notes)
    return scans, notes


@dataclass
class SizeResult:
    size: int
    rows: int
    dashboard: PathReport
    today: PathReport


def measure_size(population: Population, repeats: int) -> SizeResult:
    """Time both paths for the measured clinician and the latest copy of the first template person."""
    database, content, today = population.database, population.content, population.today
    clinician_id, person = population.clinician_id, population.measured_person()
    rows: list[int] = []

    def dashboard(session: Session) -> object:
        table = clinic.dashboard(session, content, clinician_id, today)
        rows.append(len(table))
        return table

    def today_view(session: Session) -> object:
        return plan.today_view(session, content, person, today)

    dashboard_report = measure("dashboard", database, dashboard, repeats)
    today_report = measure("today", database, today_view, repeats)
    return SizeResult(len(population.people), rows[-1], dashboard_report, today_report)


def print_summary(results: Sequence[SizeResult]) -> None:
    print("\n== summary (medians; SQL = statements one call issues)")
    print(
        f"{'people':>8} {'dashboard ms':>13} {'rows':>5} {'ms/row':>7} {'SQL':>5} {'today ms':>9} {'SQL':>4}"
    )
    for result in results:
        dash, today = result.dashboard, result.today
        per_row = dash.median_ms / max(result.rows, 1)
        print(
            f"{result.size:>8,} {dash.median_ms:>13.1f} {result.rows:>5} {per_row:>7.1f} "
            f"{dash.statements:>5} {today.median_ms:>9.1f} {today.statements:>4}"
        )


def run(database: Database, sizes: Sequence[int], repeats: int) -> None:
    population = Population(database, load_content(), dt.date.today())
    print(f"database: {database.location} ({database.backend}); sizes {', '.join(f'{n:,}' for n in sizes)}")
    results: list[SizeResult] = []
    scans: list[str] = []
    notes: list[str] = []
    for size in sizes:
        began = time.perf_counter()
        population.grow_to(size)
        seeded_s = time.perf_counter() - began
        if database.backend == "postgresql":  # fresh statistics, as autovacuum would gather
            with database.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        counts = table_counts(database)
        shown = ", ".join(f"{name} {counts[name]:,}" for name in COUNTED)
        print(f"\n== {size:,} people (seeded in {seeded_s:.1f} s): {shown}")
        result = measure_size(population, repeats)
        results.append(result)
        for report in (result.dashboard, result.today):
            runs = ", ".join(f"{value:.1f}" for value in report.runs_ms)
            print(
                f"{report.name:9s} median {report.median_ms:8.1f} ms ({runs}); "
                f"{report.statements} statements, {len(report.distinct)} distinct"
            )
        print(
            f"dashboard: {result.rows} rows, {result.dashboard.median_ms / max(result.rows, 1):.1f} ms a row"
        )
        if size == sizes[-1]:
            scans, notes = print_plans(database, (result.dashboard, result.today), counts)
    print_summary(results)
    print(f"\nfull scans of tables with >= {BIG_ROWS:,} rows at {sizes[-1]:,} people: {len(scans) or 'none'}")
    for line in scans:
        print(f"  {line}")
    if notes:  # each sorts only the rows an index found for one person or one clinician
        print(f"notes: {len(notes)} temporary b-tree sorts, of the few rows an index found:")
        for line in dict.fromkeys(notes):
            print(f"  {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,1000,10000", help="people counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per path and size (median shown)")
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--keep", type=Path, help="put the SQLite file in this folder and keep it")
    args = parser.parse_args(argv)
    sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()})
    if not sizes or sizes[0] < 1:
        parser.error("--sizes needs one or more positive people counts")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kneefix-scale-"))
    database = Database(args.db or f"sqlite:///{folder / 'scale.db'}")
    try:
        if table_counts(database)["users"]:
            print(f"{database.location} already holds users: give an empty database", file=sys.stderr)
            return 2
        run(database, sizes, args.repeats)
    finally:
        database.close()
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
