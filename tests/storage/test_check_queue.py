"""Technique-check jobs: queueing, atomic claims, leases that survive a dead worker, results."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from kneefix.errors import InputError, NotFoundError
from kneefix.storage import Database
from kneefix.storage import repository as repo
from kneefix.storage.check_queue import GAVE_UP_MESSAGE

T0 = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def profile_id(db: Database) -> int:
    with db.session() as session:
        return repo.create_profile(session, "ana").id


def _enqueue(db: Database, profile_id: int, count: int = 1) -> list[int]:
    with db.session() as session:
        return [
            repo.enqueue_check(
                session, profile_id, movement="squat", input_path=f"uploads/{profile_id}/{i}.mp4"
            ).id
            for i in range(count)
        ]


def test_a_new_check_is_queued_with_nothing_done(db: Database, profile_id: int) -> None:
    with db.session() as session:
        check = repo.enqueue_check(
            session,
            profile_id,
            movement="landing",
            side="left",
            input_path="uploads/1/abc.mp4",
            original_filename="my jump.mov",
        )
    assert (check.status, check.progress, check.attempts, check.worker_id) == ("queued", 0.0, 0, None)
    assert check.original_filename == "my jump.mov" and check.side == "left"


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.mp4", "uploads/../../x.mp4"])
def test_input_paths_must_stay_inside_the_data_folder(db: Database, profile_id: int, path: str) -> None:
    with pytest.raises(InputError, match="inside the data folder"), db.session() as session:
        repo.enqueue_check(session, profile_id, movement="squat", input_path=path)


def test_a_double_submitted_upload_queues_one_check(db: Database, profile_id: int) -> None:
    with db.session() as session:
        first = repo.enqueue_check(
            session, profile_id, movement="squat", input_path="uploads/1/a.mp4", request_id="upload-1"
        )
    with db.session() as session:
        second = repo.enqueue_check(
            session, profile_id, movement="squat", input_path="uploads/1/b.mp4", request_id="upload-1"
        )
        assert len(repo.list_checks(session, profile_id)) == 1
    assert second == first


def test_claims_take_the_oldest_job_once_then_report_an_empty_queue(db: Database, profile_id: int) -> None:
    first, second = _enqueue(db, profile_id, 2)
    with db.session() as session:
        claimed = repo.claim_next_check(session, "worker-a", now=T0, lease_s=60)
    with db.session() as session:
        other = repo.claim_next_check(session, "worker-b", now=T0)
    with db.session() as session:
        assert repo.claim_next_check(session, "worker-c", now=T0) is None
    assert claimed is not None and other is not None
    assert (claimed.id, other.id) == (first, second)
    assert claimed.status == "running" and claimed.worker_id == "worker-a" and claimed.attempts == 1
    assert claimed.started_at == T0 and claimed.lease_expires_at == T0 + dt.timedelta(seconds=60)


def test_concurrent_workers_never_claim_the_same_job(db: Database, profile_id: int) -> None:
    jobs = set(_enqueue(db, profile_id, 12))
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        mine: list[int] = []
        try:
            while True:
                with db.session() as session:
                    job = repo.claim_next_check(session, name)
                if job is None:
                    break
                mine.append(job.id)
        except BaseException as error:  # reported below; a thread cannot raise into the test
            errors.append(error)
        claimed[name] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    every_claim = [job for mine in claimed.values() for job in mine]
    assert sorted(every_claim) == sorted(jobs)  # each job exactly once


def test_progress_renews_the_lease_and_finishing_stores_results(db: Database, profile_id: int) -> None:
    (job,) = _enqueue(db, profile_id)
    with db.session() as session:
        repo.claim_next_check(session, "w", now=T0, lease_s=30)
    with db.session() as session:
        assert repo.renew_lease(
            session, job, "w", progress=0.4, lease_s=30, now=T0 + dt.timedelta(seconds=20)
        )
        assert repo.renew_lease(session, job, "w", progress=7, now=T0 + dt.timedelta(seconds=25))
        assert repo.get_check(session, job).progress == 1.0  # clamped
    with db.session() as session:
        done = repo.finish_check(
            session,
            job,
            "w",
            output_dir=f"analyses/{profile_id}/{job}",
            report={"reps": [{"knee_valgus_deg": 4.5}], "movement": "squat"},
            summary={"reps": 1},
            now=T0 + dt.timedelta(seconds=40),
        )
        check = repo.get_check(session, job, profile_id=profile_id)
    assert done
    assert check.status == "done" and check.progress == 1.0 and check.lease_expires_at is None
    assert check.report == {"reps": [{"knee_valgus_deg": 4.5}], "movement": "squat"}
    assert check.summary == {"reps": 1} and check.output_dir == f"analyses/{profile_id}/{job}"
    assert check.finished_at == T0 + dt.timedelta(seconds=40)


def test_a_dead_workers_job_is_taken_back_after_its_lease_and_the_old_worker_is_shut_out(
    db: Database, profile_id: int
) -> None:
    (job,) = _enqueue(db, profile_id)
    with db.session() as session:
        repo.claim_next_check(session, "dead", now=T0, lease_s=60)
    with db.session() as session:
        assert repo.claim_next_check(session, "alive", now=T0 + dt.timedelta(seconds=59)) is None
    with db.session() as session:
        retaken = repo.claim_next_check(session, "alive", now=T0 + dt.timedelta(seconds=61))
    assert retaken is not None and retaken.id == job and retaken.attempts == 2
    with db.session() as session:
        assert not repo.renew_lease(session, job, "dead", progress=0.9)
        assert not repo.finish_check(session, job, "dead", output_dir=None, report={})
        assert not repo.fail_check(session, job, "dead", "late failure")
        assert repo.get_check(session, job).worker_id == "alive"


def test_start_up_requeues_expired_jobs_and_gives_up_after_max_attempts(
    db: Database, profile_id: int
) -> None:
    (job,) = _enqueue(db, profile_id)
    moment = T0
    for attempt in range(1, 4):
        with db.session() as session:
            claimed = repo.claim_next_check(session, f"w{attempt}", now=moment, lease_s=10, max_attempts=3)
        assert claimed is not None and claimed.attempts == attempt
        moment += dt.timedelta(seconds=11)
    with db.session() as session:
        assert repo.requeue_expired(session, now=moment, max_attempts=3) == 1
        check = repo.get_check(session, job)
    assert check.status == "failed"
    assert check.error == GAVE_UP_MESSAGE.format(attempts=3)


def test_a_failed_check_keeps_its_message_and_can_be_retried(db: Database, profile_id: int) -> None:
    job, still_queued = _enqueue(db, profile_id, 2)
    with db.session() as session:
        repo.claim_next_check(session, "w", now=T0)
        assert repo.fail_check(session, job, "w", "No person was visible in the video.")
        failed = repo.get_check(session, job)
        with pytest.raises(InputError, match="Only a failed check"):
            repo.retry_check(session, profile_id, still_queued)
    assert failed.status == "failed" and failed.error == "No person was visible in the video."
    with db.session() as session:
        again = repo.retry_check(session, profile_id, job)
    assert (again.status, again.attempts, again.error) == ("queued", 0, None)


def test_a_worker_shutting_down_hands_its_jobs_back(db: Database, profile_id: int) -> None:
    _enqueue(db, profile_id, 2)
    with db.session() as session:
        job = repo.claim_next_check(session, "leaving", now=T0)
        assert repo.release_worker(session, "leaving") == 1
        assert job is not None
        back = repo.get_check(session, job.id)
        assert repo.count_by_status(session) == {"queued": 2, "running": 0, "done": 0, "failed": 0}
    assert (back.status, back.attempts, back.worker_id) == ("queued", 0, None)


def test_checks_are_private_to_their_profile(db: Database, profile_id: int) -> None:
    (job,) = _enqueue(db, profile_id)
    with db.session() as session:
        other = repo.create_profile(session, "ben").id
        with pytest.raises(NotFoundError):
            repo.get_check(session, job, profile_id=other)
        with pytest.raises(NotFoundError):
            repo.delete_check(session, other, job)
        assert repo.list_checks(session, other) == []
        removed = repo.delete_check(session, profile_id, job)
        assert removed.input_path == f"uploads/{profile_id}/0.mp4"
        assert repo.list_checks(session, profile_id) == []


def test_checks_are_listed_newest_first(db: Database, profile_id: int) -> None:
    jobs = _enqueue(db, profile_id, 3)
    with db.session(write=False) as session:
        assert [c.id for c in repo.list_checks(session, profile_id)] == list(reversed(jobs))
        assert [c.id for c in repo.list_checks(session, profile_id, limit=1)] == [jobs[-1]]
