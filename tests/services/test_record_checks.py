"""An imported record (JSON backup) must agree with kneefix's content and with its own answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import transfer
from kneefix.storage import profiles as profile_store
from kneefix.storage.db import Database
from tests.services.fhir_helpers import rich_record

Document = dict[str, Any]


def _equipment(document: Document) -> None:
    document["profile"]["settings"]["equipment"].append("trampoline")


def _warning_sign_not_raised(document: Document) -> None:
    flagged = next(s for s in document["screenings"] if s["red_flags"])
    flagged["red_flags"], flagged["verdict"] = [], "typical"


def _kujala_total(document: Document) -> None:
    next(s for s in document["scores"] if s["instrument"] == "kujala")["score"] = 60


def _exercise(document: Document) -> None:
    document["session_logs"][0]["exercises_done"].append("moonwalk")


CASES: list[tuple[str, Callable[[Document], None], str]] = [
    ("equipment", _equipment, r"profile, field settings\.equipment: trampoline: not a piece of equipment"),
    (
        "warning sign",
        _warning_sign_not_raised,
        r"screenings\[1\], field red_flags: warning sign true_locking",
    ),
    ("kujala", _kujala_total, r"scores\[1\], field score: 60, but its answers add up to 90"),
    ("exercise", _exercise, r"session_logs\[0\], field exercises_done: moonwalk: not an? exercise"),
]


@pytest.mark.parametrize(("case", "change", "message"), CASES, ids=[case for case, _, _ in CASES])
def test_a_backup_that_disagrees_with_the_content_or_itself_is_refused_whole(
    db: Database,
    content: Content,
    profile_id: int,
    tmp_path: Path,
    case: str,
    change: Callable[[Document], None],
    message: str,
) -> None:
    rich_record(db, content, profile_id, clear=False)
    with db.session(write=False) as session:
        document = json.loads(transfer.export_text(session, profile_id))
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        path = tmp_path / "backup.json"
        path.write_text(json.dumps(document))
        with other.session() as session:  # the unchanged backup imports
            transfer.import_file(session, path, name="first")
        change(document)
        path.write_text(json.dumps(document))
        with other.session() as session, pytest.raises(InputError, match=message) as raised:
            transfer.import_file(session, path, name="second")
        assert "Nothing was imported" in str(raised.value)
        with other.session(write=False) as session:
            assert [p.name for p in profile_store.list_profiles(session)] == ["first"]
    finally:
        other.close()
