"""Sign-in tries are claimed atomically: twenty at once check at most the allowed number of passwords.

The claim (count the window's failures, then note this try as one until its password proves right)
is one short transaction; on PostgreSQL it waits on an advisory lock, on SQLite on the write lock.
Without that, tries arriving together all count the same few failures and all check a password.
The password check itself runs outside any write transaction.
"""

from __future__ import annotations

import threading

from kneefix.services import accounts
from kneefix.storage import Database

TRIES = 20
LIMIT = 5
EMAIL = "ana@example.org"
PASSWORD = "a long and private phrase"
# Past the limit each further try waits after the last failure; a long wait keeps "at once" at once
# even on a loaded machine, where twenty claims might spread over a second or two.
LIMITS = accounts.SignInLimits(max_failures=LIMIT, backoff_base_s=600)


def _sign_in_at_once(db: Database, password: str) -> list[accounts.SignInOutcome]:
    outcomes: list[accounts.SignInOutcome] = []
    errors: list[BaseException] = []
    start = threading.Barrier(TRIES)

    def attempt(number: int) -> None:
        try:
            start.wait(timeout=60)
            with db.session() as session:
                outcome = accounts.sign_in(
                    session, email=EMAIL, password=password, ip=f"10.0.0.{number}", limits=LIMITS
                )
            outcomes.append(outcome)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(TRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return outcomes


def test_twenty_wrong_passwords_at_once_check_at_most_the_limit(db: Database) -> None:
    with db.session() as session:
        accounts.sign_up(session, email=EMAIL, password=PASSWORD)
    outcomes = _sign_in_at_once(db, "not the password at all")
    checked = [outcome for outcome in outcomes if not outcome.rate_limited]
    assert len(outcomes) == TRIES
    assert len(checked) == LIMIT
    assert all(outcome.user is None for outcome in outcomes)


def test_the_right_password_signs_in_and_is_not_counted_as_a_failure(db: Database) -> None:
    with db.session() as session:
        accounts.sign_up(session, email=EMAIL, password=PASSWORD)
    for _ in range(LIMIT + 2):  # more right tries than the limit: none is left counted as a failure
        with db.session() as session:
            outcome = accounts.sign_in(session, email=EMAIL, password=PASSWORD, ip="10.0.0.1", limits=LIMITS)
        assert outcome.user is not None and outcome.user.email == EMAIL
