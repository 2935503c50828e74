"""The readers that read one kind of record for many profiles at once give each profile exactly what
its own reader gives, in the same order, also when the ids are split over several queries."""

from __future__ import annotations

import pytest

from kneefix.content.loader import load_content
from kneefix.storage import batches
from kneefix.storage import check_queue as check_store
from kneefix.storage import logs as log_store
from kneefix.storage import plans as plan_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import run_checks as run_check_store
from kneefix.storage import scores as score_store
from kneefix.storage import screenings as screening_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from tests.services.clinic_seed import STORIES, seed_clinic


def test_each_profile_gets_what_its_own_reader_gives(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    place = seed_clinic(db, load_content(), len(STORIES) + 1)
    monkeypatch.setattr(batches, "IDS_PER_QUERY", 3)  # several chunks, one of them short
    missing = 10_000
    ids = [*reversed(place.profile_ids), missing, place.profile_ids[0]]  # any order, repeats, unknown ids
    with db.session() as session:
        logs = log_store.logs_by_profile(session, ids)
        scores = score_store.scores_by_profile(session, ids)
        screenings = screening_store.screenings_by_profile(session, ids)
        run_checks = run_check_store.run_checks_by_profile(session, ids)
        adjustments = plan_store.adjustments_by_profile(session, ids)
        every_adjustment = plan_store.adjustments_by_profile(session, ids, active_only=False)
        changes = plan_store.changes_by_profile(session, ids)
        by_clinicians = plan_store.changes_by_profile(session, ids, source="clinician")
        checks = check_store.recent_checks_by_profile(session, ids, per_profile=3)
        assert not (logs[missing] or scores[missing] or checks[missing] or changes[missing])
        for profile_id in place.profile_ids:
            assert logs[profile_id] == log_store.list_logs(session, profile_id)
            assert scores[profile_id] == score_store.list_scores(session, profile_id)
            assert screenings[profile_id] == screening_store.list_screenings(session, profile_id)
            assert run_checks[profile_id] == run_check_store.list_run_checks(session, profile_id)
            assert adjustments[profile_id] == plan_store.list_plan_adjustments(session, profile_id)
            assert every_adjustment[profile_id] == plan_store.list_plan_adjustments(
                session, profile_id, active_only=False
            )
            assert changes[profile_id] == plan_store.list_plan_changes(session, profile_id)
            assert by_clinicians[profile_id] == plan_store.list_plan_changes(
                session, profile_id, source="clinician"
            )
            assert checks[profile_id] == check_store.list_checks(session, profile_id, limit=3)
        assert any(len(check_store.list_checks(session, profile_id)) > 3 for profile_id in place.profile_ids)
        assert any(every_adjustment[pid] != adjustments[pid] for pid in place.profile_ids)  # a withdrawn one
        owners = {profile_store.get_profile(session, pid).user_id for pid in place.profile_ids}
        users = user_store.users_by_id(session, [*owners, missing])
        assert users == {user_id: user_store.get_user(session, user_id) for user_id in owners}
