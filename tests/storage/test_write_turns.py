"""Writers in one program take turns on SQLite's write lock instead of racing for it.

SQLite's busy handler polls with growing sleeps: under a steady stream of writes from many threads a
writer can lose every race until its busy timeout runs out, although the lock is free most of the
time. The web server's threads therefore queue on one lock per database file first.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kneefix.errors import StorageError
from kneefix.settings import sqlite_url
from kneefix.storage import Database
from kneefix.storage import repository as repo

THREADS = 16
WRITES_EACH = 8
HOLD_S = 0.01  # each write keeps its transaction open this long, like a route doing its work


def test_many_threads_writing_at_once_all_get_their_turn_within_the_busy_timeout(tmp_path: Path) -> None:
    # The whole queue (16 threads x 10 ms) fits in the 2 s timeout many times over, but a writer that
    # only polled could still lose every race for that long.
    database = Database(sqlite_url(tmp_path / "kneefix.db"), busy_timeout_s=2.0)
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def write(number: int) -> None:
        start.wait(timeout=30)
        for turn in range(WRITES_EACH):
            try:
                with database.session() as session:
                    repo.create_profile(session, f"p{number}-{turn}")
                    time.sleep(HOLD_S)
            except BaseException as error:
                failures.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert failures == []
        with database.session(write=False) as session:
            assert len(repo.list_profiles(session)) == THREADS * WRITES_EACH
    finally:
        database.close()


def test_a_failed_write_gives_its_turn_back(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "kneefix.db"), busy_timeout_s=0.2)
    try:
        with pytest.raises(RuntimeError), database.session() as session:
            repo.create_profile(session, "ana")
            raise RuntimeError("the route failed half-way")
        with database.session() as session:  # would wait 0.2 s and fail "busy" if the turn were kept
            repo.create_profile(session, "ben")
        with database.session(write=False) as session:
            assert [profile.name for profile in repo.list_profiles(session)] == ["ben"]
    finally:
        database.close()


def test_a_writer_that_keeps_its_turn_too_long_makes_the_next_one_fail_busy_not_hang(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "kneefix.db")
    first = Database(url, busy_timeout_s=0.2)
    second = Database(url, busy_timeout_s=0.2)  # another Database on the same file shares the turns
    outcome: list[BaseException] = []
    try:
        with first.session() as session:
            repo.create_profile(session, "ana")

            def other_write() -> None:
                try:
                    with second.session() as other:
                        repo.create_profile(other, "ben")
                except BaseException as error:
                    outcome.append(error)

            thread = threading.Thread(target=other_write)
            thread.start()
            thread.join(timeout=10)
        assert len(outcome) == 1 and isinstance(outcome[0], StorageError)
        assert "busy" in str(outcome[0])
    finally:
        first.close()
        second.close()
