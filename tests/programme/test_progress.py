"""Progress metrics: weekly pain and its slope, score change against the MCID, adherence and streaks."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kneefix.programme.planner import training_dates
from kneefix.programme.progress import ProgressSummary, summarise
from kneefix.programme.records import ScoreRecord, SessionLog
from kneefix.programme.replay import current_state
from tests.programme.fixtures import CONTENT, MONDAY, PROTOCOL, good_log, settings

PERSON = settings()
PLAN_DAYS = training_dates(PERSON, MONDAY, count=60)


def summary_for(
    logs: list[SessionLog], scores: list[ScoreRecord], today: dt.date, **kwargs: object
) -> ProgressSummary:
    person = settings(**kwargs)  # type: ignore[arg-type]
    state = current_state(PROTOCOL, CONTENT, person, logs, today, 3, scores=scores)
    return summarise(logs, scores, state, today)


def test_weekly_pain_means_and_a_falling_slope() -> None:
    logs = [
        SessionLog(PLAN_DAYS[0], 1.0, 6, 5, 4),
        SessionLog(PLAN_DAYS[1], 1.0, 4, 5, 2),
        SessionLog(PLAN_DAYS[3], 1.0, 3, 3, 2),
        SessionLog(PLAN_DAYS[6], 1.0, 1, 1, None),
    ]
    summary = summary_for(logs, [], PLAN_DAYS[6])
    assert [week.pain_during for week in summary.weeks] == [5.0, 3.0, 1.0]
    assert [week.next_morning_pain for week in summary.weeks] == [3.0, 2.0, None]
    assert summary.pain_slopes["pain_during"] == pytest.approx(-2.0)
    assert summary.pain_slopes["next_morning_pain"] == pytest.approx(-1.0)


def test_a_slope_needs_two_weeks_of_data() -> None:
    summary = summary_for([good_log(PLAN_DAYS[0])], [], PLAN_DAYS[1])
    assert summary.pain_slopes["pain_during"] is None


def test_adherence_counts_planned_days_to_date_and_caps_at_100() -> None:
    logs = [good_log(PLAN_DAYS[0]), good_log(PLAN_DAYS[0] + dt.timedelta(days=1)), good_log(PLAN_DAYS[2])]
    # Planned by Monday of week 2: Mon, Wed, Sat of week 1 (today's session not yet due).
    summary = summary_for(logs, [], PLAN_DAYS[3])
    assert summary.planned_to_date == 3
    assert summary.done_to_date == 3
    assert summary.adherence_pct == 100.0
    assert summary.weeks[0].adherence_pct == 100.0


def test_adherence_counts_today_once_it_is_logged() -> None:
    logs = [good_log(PLAN_DAYS[0]), SessionLog(PLAN_DAYS[1], 0.0)]
    summary = summary_for(logs, [], PLAN_DAYS[1])
    assert (summary.planned_to_date, summary.done_to_date) == (2, 1)
    assert summary.adherence_pct == 50.0


def test_the_streak_counts_planned_sessions_done_in_a_row_allowing_a_late_day() -> None:
    logs = [
        good_log(PLAN_DAYS[0]),
        # PLAN_DAYS[1] missed
        good_log(PLAN_DAYS[2] + dt.timedelta(days=1)),  # Saturday's session done on Sunday
        good_log(PLAN_DAYS[3]),
        good_log(PLAN_DAYS[4]),
    ]
    summary = summary_for(logs, [], PLAN_DAYS[5])  # today's session not yet done: not a break
    assert summary.streak == 3
    assert summary_for(logs, [], PLAN_DAYS[5] + dt.timedelta(days=1)).streak == 0


def test_a_session_done_a_day_early_keeps_the_streak_and_one_log_counts_once() -> None:
    logs = [
        good_log(PLAN_DAYS[2]),
        good_log(PLAN_DAYS[3] - dt.timedelta(days=1)),  # done a day early
        good_log(PLAN_DAYS[4]),
    ]
    assert summary_for(logs, [], PLAN_DAYS[5]).streak == 3
    # Two sessions the same day stand for two planned sessions only when both fit between neighbours.
    doubled = [good_log(PLAN_DAYS[4]), good_log(PLAN_DAYS[4])]
    assert summary_for(doubled, [], PLAN_DAYS[5]).streak == 1


def test_kujala_change_is_judged_against_the_mcid_and_the_next_rescore_is_due() -> None:
    scores = [
        ScoreRecord("kujala", MONDAY, 62),
        ScoreRecord("kujala", MONDAY + dt.timedelta(weeks=3), 71),
        ScoreRecord("nprs", MONDAY, 6),
        ScoreRecord("nprs", MONDAY + dt.timedelta(weeks=3), 4),
    ]
    today = MONDAY + dt.timedelta(weeks=4)
    summary = summary_for([], scores, today)
    assert summary.kujala.change == 9
    assert not summary.kujala.meaningful and summary.kujala.improved
    assert summary.nprs.change == -2
    assert summary.nprs.meaningful and summary.nprs.improved
    assert summary.kujala_next_due == MONDAY + dt.timedelta(weeks=6)
    assert not summary.kujala_due
    better = [*scores, ScoreRecord("kujala", MONDAY + dt.timedelta(weeks=6), 72)]
    later = summary_for([], better, MONDAY + dt.timedelta(weeks=6))
    assert later.kujala.meaningful and later.kujala.change == 10
    assert any("Kujala score is up 10" in message for message in later.messages)


def test_with_no_kujala_yet_it_is_due_from_the_start() -> None:
    summary = summary_for([], [], MONDAY)
    assert summary.kujala_due
    assert any("Kujala" in message for message in summary.messages)


def test_no_meaningful_change_after_eight_adherent_weeks_pauses_for_review() -> None:
    today = MONDAY + dt.timedelta(weeks=8, days=1)
    logs = [good_log(day, pain=4, morning=3) for day in PLAN_DAYS if day < today]
    scores = [ScoreRecord("kujala", MONDAY, 60), ScoreRecord("kujala", today, 64)]
    summary = summary_for(logs, scores, today)
    assert summary.adherence_pct == 100.0
    assert summary.reassess and summary.paused_reason is not None
    assert "meaningful" in summary.paused_reason
    assert any("clinician" in message for message in summary.messages)
    improving = [*scores[:1], ScoreRecord("kujala", MONDAY + dt.timedelta(weeks=7), 75)]
    assert not summary_for(logs, improving, today).reassess
    early = MONDAY + dt.timedelta(weeks=6, days=1)  # not yet: the review point is week 8
    assert not summary_for([log for log in logs if log.date < early], scores, early).reassess


def test_a_clear_worsening_pauses_at_once_and_the_advice_says_so() -> None:
    scores = [ScoreRecord("nprs", MONDAY, 3), ScoreRecord("nprs", MONDAY + dt.timedelta(days=10), 6)]
    summary = summary_for([], scores, MONDAY + dt.timedelta(days=10))
    assert summary.nprs.improved is False and summary.reassess
    assert summary.messages[0].startswith("Your plan is paused")
    small = [scores[0], ScoreRecord("nprs", MONDAY + dt.timedelta(days=10), 4)]  # 1 point: within noise
    assert not summary_for([], small, MONDAY + dt.timedelta(days=10)).reassess


def test_the_summary_carries_phase_and_recent_changes_and_dumps_to_json() -> None:
    logs = [good_log(day) for day in PLAN_DAYS[:9]]
    summary = summary_for(logs, [ScoreRecord("kujala", MONDAY, 60)], PLAN_DAYS[9])
    assert summary.phase_name == "Build"
    assert summary.recent_changes and summary.recent_changes[-1].date <= PLAN_DAYS[9]
    dumped = json.loads(json.dumps(summary.to_dict()))
    assert dumped["kujala"]["points"][0] == {"date": MONDAY.isoformat(), "score": 60.0}
    assert dumped["adherence_pct"] == 100.0
    assert dumped["weeks"][0]["adherence_pct"] == 100.0
