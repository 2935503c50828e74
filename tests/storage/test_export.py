"""Export and import: a full round trip on both backends, strict validation, CSV tables."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from kneefix.errors import InputError
from kneefix.programme.records import ScoreRecord
from kneefix.settings import sqlite_url
from kneefix.storage import Database
from kneefix.storage import repository as repo
from kneefix.storage.export import (
    FORMAT_VERSION,
    dump_export,
    export_csv,
    export_profile,
    import_profile,
    load_export_file,
)
from tests.storage.samples import START, change, kujala, log, run, run_check, settings

T0 = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)


def _fill(db: Database, name: str = "ana") -> int:
    """A profile with some of everything kept about a person."""
    with db.session() as session:
        clinician = repo.create_user(
            session, email=f"dr-{name}@example.org", password_hash="h", role="clinician"
        )
        profile = repo.create_profile(session, name, birth_year=1991, settings=settings())
        pid = profile.id
        repo.save_screening(
            session,
            pid,
            answers={"age": 34, "symptoms": ["stairs"], "kujala": list("abcabcabcabca")},
            verdict="typical",
            messages=["Typical of runner's knee: the programme suits you."],
            taken_at=T0,
        )
        repo.add_score(session, pid, kujala(0, 64.5))
        repo.add_score(session, pid, ScoreRecord("nprs", START, 4))
        for day in (0, 2, 4):
            repo.add_log(session, pid, log(day, note=f"day {day} ✓"))
        repo.add_log(
            session, pid, log(6, completed=0.0, pain_during=None, pain_after=None, exercises_done=())
        )
        repo.add_log(session, pid, run(0, run_minutes=21.75, run_distance_km=3.3333333333333335))
        repo.add_log(session, pid, run(3, completed=0.5, run_minutes=None, run_distance_km=None))
        repo.add_log(session, pid, log(5, hurt=("hamstring_stretch",), note="back of the knee"))
        repo.set_next_morning_pain(session, pid, START, 2)
        repo.add_run_check(session, pid, run_check(-1, walk=2, hop=4))
        repo.add_run_check(session, pid, run_check(10, walk=0, hop=1))
        repo.add_plan_changes(session, pid, [change(7), change(14, "hold", kind="hold", details={})])
        repo.add_plan_changes(
            session, pid, [change(9, "swap", kind="swap")], source="clinician", clinician_user_id=clinician.id
        )
        repo.add_plan_adjustment(
            session,
            pid,
            clinician_user_id=clinician.id,
            kind="dose",
            payload={"dose_scale": 0.8},
            note="easier",
        )
        for path, outcome in (("a.mp4", "done"), ("b.mp4", "failed"), ("c.mp4", "queued")):
            check = repo.enqueue_check(session, pid, movement="squat", input_path=f"uploads/{pid}/{path}")
            if outcome == "queued":
                continue
            repo.claim_next_check(session, "w", now=T0)
            if outcome == "done":
                repo.finish_check(
                    session,
                    check.id,
                    "w",
                    output_dir="analyses/x",
                    report={"reps": [1, 2]},
                    summary={"n": 2},
                    now=T0,
                )
            else:
                repo.fail_check(session, check.id, "w", "No person in view.", now=T0)
    return pid


def _keys(value: object) -> set[str]:
    """Every key anywhere in a nested JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in _keys(item)}
    if isinstance(value, list):
        return {k for item in value for k in _keys(item)}
    return set()


def _export(db: Database, profile_id: int) -> dict[str, Any]:
    with db.session(write=False) as session:
        return export_profile(session, profile_id)


def test_export_holds_everything_and_is_plain_json(db: Database) -> None:
    data = _export(db, _fill(db))
    assert json.loads(dump_export(data)) == data
    assert data["format"] == "kneefix-profile" and data["format_version"] == FORMAT_VERSION
    assert data["profile"]["settings"]["equipment"] == ["foam_roller", "lacrosse_ball"]
    keys = ("screenings", "scores", "session_logs", "plan_changes", "run_checks")
    assert [len(data[key]) for key in keys] == [1, 2, 7, 3, 2]
    # The queued check is not data yet; the finished and failed ones are.
    assert [c["status"] for c in data["technique_checks"]] == ["done", "failed"]
    logs = data["session_logs"]
    # The morning after day 0 is the same morning for its session and its run.
    assert [(entry["kind"], entry["next_morning_pain"]) for entry in logs[:2]] == [("session", 2), ("run", 2)]
    assert [entry["kind"] for entry in logs] == [
        "session",
        "run",
        "session",
        "run",
        "session",
        "session",
        "session",
    ]
    assert logs[1]["run_minutes"] == 21.75 and logs[1]["run_distance_km"] == 3.3333333333333335
    assert logs[3]["run_minutes"] is None and logs[3]["completed"] == 0.5
    assert logs[5]["hurt"] == ["hamstring_stretch"] and logs[0]["hurt"] == []
    assert data["run_checks"] == [
        {
            "date": "2025-03-02",
            "walk_pain": 2,
            "hop_pain": 4,
            "created_at": data["run_checks"][0]["created_at"],
        },
        {
            "date": "2025-03-13",
            "walk_pain": 0,
            "hop_pain": 1,
            "created_at": data["run_checks"][1]["created_at"],
        },
    ]
    assert _keys(data) & {"id", "profile_id", "user_id", "clinician_user_id", "input_path"} == set()


def test_round_trip_into_a_fresh_database_gives_the_same_export(db: Database, tmp_path: Path) -> None:
    original = _export(db, _fill(db))
    with Database(sqlite_url(tmp_path / "other.db")) as target:
        with target.session() as session:
            new_id = import_profile(session, copy.deepcopy(original))
        assert _export(target, new_id) == original


@pytest.mark.postgres
def test_round_trip_from_sqlite_into_postgres(tmp_path: Path, fresh_postgres_url: str) -> None:
    with Database(sqlite_url(tmp_path / "src.db")) as source:
        original = _export(source, _fill(source))
    with Database(fresh_postgres_url) as target:
        with target.session() as session:
            new_id = import_profile(session, original)
        assert _export(target, new_id) == original


def test_import_refuses_an_existing_name_unless_told_to_replace(db: Database) -> None:
    pid = _fill(db)
    data = _export(db, pid)
    with pytest.raises(InputError, match="already exists"), db.session() as session:
        import_profile(session, data)
    with db.session() as session:
        copy_id = import_profile(session, data, name="ana-copy")
        assert [p.name for p in repo.list_profiles(session)] == ["ana", "ana-copy"]
    emptier = copy.deepcopy(data)
    emptier["session_logs"] = emptier["session_logs"][:1]
    with db.session() as session:
        replaced = import_profile(session, emptier, name="ana", overwrite=True)
        assert len(repo.list_logs(session, replaced)) == 1
        assert [p.name for p in repo.list_profiles(session)] == ["ana", "ana-copy"]
        assert len(repo.list_logs(session, copy_id)) == 7


def test_a_refused_replacement_keeps_the_old_profile(db: Database) -> None:
    pid = _fill(db)
    broken = _export(db, pid)
    broken["session_logs"][0]["pain_during"] = 42
    with pytest.raises(InputError), db.session() as session:
        import_profile(session, broken, overwrite=True)
    with db.session(write=False) as session:
        assert len(repo.list_logs(session, repo.find_profile(session, "ana").id)) == 7


def _minimal() -> dict[str, Any]:
    return {
        "format": "kneefix-profile",
        "format_version": 1,
        "profile": {
            "name": "min",
            "birth_year": None,
            "created_at": "2025-01-01T00:00:00Z",
            "settings": None,
        },
    }


def _log_doc(**changes: object) -> dict[str, Any]:
    """A session log as format version 1 wrote it, changed as given."""
    return {
        "date": "2025-01-02",
        "completed": 1.0,
        "pain_during": 2,
        "pain_after": 3,
        "next_morning_pain": None,
        "exercises_done": ["foam_roll_quads"],
        "note": "",
        "created_at": "2025-01-02T18:00:00Z",
        "updated_at": "2025-01-02T18:00:00Z",
    } | changes


def _check_doc(**changes: object) -> dict[str, Any]:
    return {
        "date": "2025-01-03",
        "walk_pain": 1,
        "hop_pain": 2,
        "created_at": "2025-01-03T08:00:00Z",
    } | changes


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(format="something-else"), "format:"),
        (lambda d: d.pop("profile"), "profile: Field required"),
        (lambda d: d["profile"].update(name=""), "profile.name:"),
        (lambda d: d["profile"].update(created_at="2025-01-01T00:00:00"), "profile.created_at:"),
        (lambda d: d["profile"].update(settings={"days_per_week": 9}), "profile.settings.days_per_week:"),
        (lambda d: d.update(session_logs=[{"date": "2025-13-01"}]), "session_logs.0.date:"),
        (lambda d: d.update(scores=[{"instrument": "vas"}]), "scores.0.instrument:"),
        (lambda d: d.update(session_logs=[_log_doc(kind="walk")]), "session_logs.0.kind:"),
        (lambda d: d.update(session_logs=[_log_doc(hurt=[""])]), "session_logs.0.hurt.0:"),
        (lambda d: d.update(session_logs=[_log_doc(run_minutes=20.0)]), "belong to runs only"),
        (
            lambda d: d.update(session_logs=[_log_doc(kind="run", run_minutes=0)]),
            "session_logs.0.run_minutes:",
        ),
        (
            lambda d: d.update(session_logs=[_log_doc(kind="run", run_distance_km=120.0)]),
            "session_logs.0.run_distance_km:",
        ),
        (lambda d: d.update(run_checks=[_check_doc(walk_pain=11)]), "run_checks.0.walk_pain:"),
        (lambda d: d.update(run_checks=[_check_doc(hop_pain=None)]), "run_checks.0.hop_pain:"),
        (lambda d: d.update(run_checks=[_check_doc(extra=1)]), "run_checks.0.extra:"),
        (lambda d: d.update(surprise=True), "surprise: Extra inputs are not permitted"),
    ],
)
def test_malformed_documents_name_the_bad_field(db: Database, mutate: Any, expected: str) -> None:
    data = _minimal()
    mutate(data)
    with pytest.raises(InputError, match="not a valid kneefix export") as caught, db.session() as session:
        import_profile(session, data)
    assert expected in str(caught.value)
    with db.session(write=False) as session:
        assert repo.list_profiles(session) == []


def test_a_minimal_document_imports(db: Database) -> None:
    with db.session() as session:
        pid = import_profile(session, _minimal())
        assert repo.get_profile(session, pid).settings is None


def test_a_version_1_export_imports_with_runs_made_runs(db: Database) -> None:
    """Version 1 had no kind, hurt, run time or run checks, and logged a run as exercise "run"."""
    old = _minimal() | {
        "session_logs": [
            _log_doc(date="2025-01-02"),
            _log_doc(date="2025-01-03", exercises_done=["run"], next_morning_pain=2),
            _log_doc(date="2025-01-04", exercises_done=["strides", "run"], note="4 x 1 min"),
            _log_doc(date="2025-01-05", exercises_done=["run_drill"]),
        ]
    }
    with db.session() as session:
        pid = import_profile(session, copy.deepcopy(old))
        logs = repo.list_logs(session, pid)
        assert [(entry.kind, entry.exercises_done) for entry in logs] == [
            ("session", ("foam_roll_quads",)),
            ("run", ()),
            ("run", ("strides",)),
            ("session", ("run_drill",)),
        ]
        assert all(entry.hurt == () and entry.run_minutes is None for entry in logs)
        assert logs[1].next_morning_pain == 2 and logs[2].note == "4 x 1 min"
        assert repo.list_run_checks(session, pid) == []
        again = export_profile(session, pid)
    assert again["format_version"] == FORMAT_VERSION == 2
    assert again["run_checks"] == []
    assert [entry["kind"] for entry in again["session_logs"]] == ["session", "run", "run", "session"]
    # The re-export is version 2: importing it changes nothing more.
    with db.session() as session:
        copy_id = import_profile(session, again, name="copy")
        assert export_profile(session, copy_id) | {"profile": again["profile"]} == again


def test_version_2_keeps_an_exercise_named_run_as_it_is(db: Database) -> None:
    """Only version 1 files are read the old way; version 2 says what each log is."""
    doc = _minimal() | {"format_version": 2, "session_logs": [_log_doc(exercises_done=["run"])]}
    with db.session() as session:
        pid = import_profile(session, doc)
        (entry,) = repo.list_logs(session, pid)
    assert entry.kind == "session" and entry.exercises_done == ("run",)


def test_an_nprs_score_above_ten_is_refused(db: Database) -> None:
    data = _minimal()
    data["scores"] = [
        {
            "instrument": "nprs",
            "date": "2025-01-01",
            "score": 40,
            "answers": [],
            "created_at": "2025-01-01T00:00:00Z",
        }
    ]
    with pytest.raises(InputError, match=r"scores\.0\.score"), db.session() as session:
        import_profile(session, data)


def test_exports_from_a_newer_kneefix_or_not_objects_are_refused(db: Database) -> None:
    newer = _minimal() | {"format_version": FORMAT_VERSION + 1}
    with db.session() as session:
        with pytest.raises(InputError, match="newer kneefix"):
            import_profile(session, newer)
        with pytest.raises(InputError, match="one JSON object"):
            import_profile(session, [1, 2, 3])


def test_export_files_that_cannot_be_read_are_explained(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="There is no file"):
        load_export_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ')
    with pytest.raises(InputError, match="is not JSON"):
        load_export_file(bad)
    listing = tmp_path / "list.json"
    listing.write_text("[]")
    with pytest.raises(InputError, match="one JSON object"):
        load_export_file(listing)
    good = tmp_path / "good.json"
    good.write_text(dump_export(_minimal()))
    assert load_export_file(good) == _minimal()


def test_csv_export_writes_one_table_per_file(db: Database, tmp_path: Path) -> None:
    pid = _fill(db)
    folder = tmp_path / "csv"
    with db.session(write=False) as session:
        written = export_csv(session, pid, folder)
    assert sorted(p.name for p in written) == sorted(
        [
            "profile.csv",
            "screenings.csv",
            "scores.csv",
            "session_logs.csv",
            "plan_changes.csv",
            "plan_adjustments.csv",
            "technique_checks.csv",
            "run_checks.csv",
        ]
    )
    with (folder / "session_logs.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 7
    assert rows[0]["date"] == START.isoformat() and rows[0]["note"] == "day 0 ✓"
    assert json.loads(rows[0]["exercises_done"]) == ["foam_roll_quads", "hamstring_stretch"]
    assert rows[6]["pain_during"] == ""
    assert [row["kind"] for row in rows[:2]] == ["session", "run"]
    assert rows[1]["run_minutes"] == "21.75" and rows[0]["run_minutes"] == ""
    assert json.loads(rows[5]["hurt"]) == ["hamstring_stretch"] and json.loads(rows[0]["hurt"]) == []
    with (folder / "run_checks.csv").open(encoding="utf-8", newline="") as stream:
        checks = list(csv.DictReader(stream))
    assert [(row["date"], row["walk_pain"], row["hop_pain"]) for row in checks] == [
        ("2025-03-02", "2", "4"),
        ("2025-03-13", "0", "1"),
    ]
    with (folder / "profile.csv").open(encoding="utf-8", newline="") as stream:
        (profile,) = list(csv.DictReader(stream))
    assert profile["name"] == "ana" and profile["days_per_week"] == "3" and profile["runs"] == "true"
    assert not list(folder.glob(".*"))  # no temporary files left behind


def _parse_cell(cell: str, like: object) -> object:
    """Read a CSV cell back as the type of the JSON value it came from."""
    if cell == "":
        return None if like is None else ""
    if isinstance(like, bool):
        return cell == "true"
    if isinstance(like, int):
        return int(cell)
    if isinstance(like, float):
        return float(cell)
    if isinstance(like, list | dict):
        return json.loads(cell)
    return cell


@pytest.mark.parametrize("table", ["session_logs", "run_checks"])
def test_csv_cells_read_back_to_the_json_values_exactly(db: Database, tmp_path: Path, table: str) -> None:
    pid = _fill(db)
    with db.session(write=False) as session:
        data = export_profile(session, pid)
        export_csv(session, pid, tmp_path)
    with (tmp_path / f"{table}.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(data[table])
    for row, record in zip(rows, data[table], strict=True):
        assert set(row) == set(record)
        assert {key: _parse_cell(row[key], value) for key, value in record.items()} == record


def test_csv_export_into_an_unwritable_place_is_explained(db: Database, tmp_path: Path) -> None:
    pid = _fill(db)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="Cannot write the CSV files"), db.session(write=False) as session:
        export_csv(session, pid, blocker / "csv")
