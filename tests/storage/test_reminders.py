"""The reminder-email claim on both backends: of several senders claiming the same person's day at
once exactly one wins; a failed send can be claimed again, three attempts in all; deleting the person
deletes their records."""

from __future__ import annotations

import datetime as dt
import threading

from kneefix.storage import Database, reminders
from kneefix.storage import profiles as profile_store

DAY = dt.date(2025, 3, 3)


def test_concurrent_claims_for_one_day_let_exactly_one_sender_win(db: Database) -> None:
    with db.session() as session:
        profile_id = profile_store.get_or_create_profile(session, "claim").id
    barrier = threading.Barrier(4)
    won: list[int | None] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        with db.session() as session:
            result = reminders.claim(session, profile_id, DAY, ("session",))
        with lock:
            won.append(result)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 4 and sum(result is not None for result in won) == 1


def test_a_failed_send_is_claimable_again_up_to_three_attempts(db: Database) -> None:
    with db.session() as session:
        profile_id = profile_store.get_or_create_profile(session, "retry").id
        attempts = []
        for _ in range(4):
            claim_id = reminders.claim(session, profile_id, DAY, ("morning",))
            attempts.append(claim_id)
            if claim_id is not None:
                reminders.finish(session, claim_id, "the mail server was down")
        [record] = reminders.sent_reminders(session, profile_id)
    assert [a is not None for a in attempts] == [True, True, True, False]
    assert (record.status, record.attempts, record.error) == ("failed", 3, "the mail server was down")
    with db.session() as session:
        assert reminders.claim(session, profile_id, DAY + dt.timedelta(days=1), ("session",)) is not None
        profile_store.delete_profile(session, profile_id)
    with db.session(write=False) as session:
        assert reminders.sent_reminders(session, profile_id) == []
