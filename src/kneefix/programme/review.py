"""When the plan pauses for a clinician's review, and when it resumes (docs/progression.md §3).

Triggers: a red flag on re-screening, weekly next-morning pain rising week after week or staying well
above the baseline, high pain in spite of easing, clearly worse scores, no meaningful change after
weeks of training, and a phase that never gets ready to move on. A clear re-screening or a linked
clinician's resume ends a pause and starts a new "era": trends are judged afresh from there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Sequence

from kneefix.content.schemas import PainModel, Protocol
from kneefix.programme.planner import sessions_per_week
from kneefix.programme.records import (
    PersonSettings,
    PlanChange,
    ReviewEvent,
    ScoreRecord,
)
from kneefix.programme.replay_state import Replay, is_done

PAUSE_ADVICE = (
    "Please have your knee checked by a physiotherapist or doctor before training on. The plan carries "
    "on when you re-screen without warning signs (`kneefix start`, or Screening on the web) or when your "
    "linked clinician resumes it."
)


def _pause(replay: Replay, day: dt.date, rule_id: str, reason: str) -> None:
    replay.paused_reason = reason
    replay.paused_since = day
    replay.changes.append(PlanChange(day, rule_id, "pause", f"{reason} {PAUSE_ADVICE}", {"reason": reason}))


def replay_event(replay: Replay, event: ReviewEvent) -> None:
    if event.kind == "screening" and event.red_flag:
        if replay.paused_reason is None:
            text = event.reason or "your latest screening raised a warning sign."
            _pause(replay, event.date, "pause_red_flag", f"Your screening on {event.date:%d %b %Y}: {text}")
        return
    if replay.paused_reason is None:
        return
    if event.kind == "red_flag_cleared" and replay.paused_since != event.screened:
        return  # paused for another reason before that screening: clearing its flags does not end it
    who = {
        "clinician_resume": "your clinician resumed it",
        "red_flag_cleared": "your clinician saw you and cleared the warning signs of your screening",
    }.get(event.kind, "your new screening was clear")
    replay.changes.append(
        PlanChange(
            event.date,
            f"resume_{event.kind}",
            "resume",
            f"Your plan carries on: {who}. It restarts no harder than before the pause, and your pain "
            "is judged afresh from here." + (f" {event.reason}" if event.reason else ""),
            {"paused_since": replay.paused_since.isoformat() if replay.paused_since else None},
        )
    )
    replay.paused_reason = None
    replay.paused_since = None
    replay.era_start = event.date
    replay.no_change_checked = False
    if event.pain is not None:
        replay.baseline = event.pain
    replay.assessed.clear()
    replay.mornings.clear()
    replay.rated.clear()
    replay.all_logs.clear()
    replay.last_change = event.date
    replay.phase_started = max(replay.phase_started, event.date)


def weekly_means(
    values: Iterable[tuple[dt.date, float]], start: dt.date, day: dt.date, need: int
) -> list[float | None]:
    """Weekly means (7-day blocks from ``start`` up to the block holding ``day``); None: too few values."""
    if day < start:
        return []
    weeks = (day - start).days // 7 + 1
    buckets: list[list[float]] = [[] for _ in range(weeks)]
    for when, value in values:
        index = (when - start).days // 7
        if 0 <= index < weeks:
            buckets[index].append(value)
    return [statistics.fmean(bucket) if len(bucket) >= need else None for bucket in buckets]


def _tail_run(means: Sequence[float | None], count: int) -> list[float] | None:
    """The last ``count`` weekly means if none of them is missing, else None."""
    tail = list(means[-count:])
    if len(tail) < count or any(value is None for value in tail):
        return None
    return [value for value in tail if value is not None]


def check_pause(replay: Replay, protocol: Protocol, settings: PersonSettings, day: dt.date) -> None:
    """Pause the plan when a trend, a score or the phase's length says a clinician should look."""
    if replay.paused_reason is not None:
        return
    found = _pause_trigger(replay, protocol, settings, day)
    if found is not None:
        _pause(replay, day, *found)


def _pause_trigger(
    replay: Replay, protocol: Protocol, settings: PersonSettings, day: dt.date
) -> tuple[str, str] | None:
    model = protocol.pain_model
    mornings = weekly_means(
        ((d, float(v)) for d, v in replay.rated if d <= day), replay.era_start, day, model.week_min_ratings
    )
    rising = _tail_run(mornings, model.rising_weeks + 1)
    if rising is not None and all(b >= a + model.rising_step for a, b in itertools.pairwise(rising)):
        listed = ", ".join(f"{value:.1f}" for value in rising)
        return "pause_rising", (
            f"your average next-morning pain has risen {model.rising_weeks} weeks in a row ({listed})."
        )
    if replay.baseline is not None:
        over = _tail_run(mornings, model.over_baseline_weeks)
        limit = replay.baseline + model.over_baseline_points
        if over is not None and all(value >= limit for value in over):
            return "pause_over_baseline", (
                f"your average next-morning pain has been {model.over_baseline_points} or more points above "
                f"your starting {replay.baseline}/10 for {model.over_baseline_weeks} weeks."
            )
    during = weekly_means(
        ((log.date, float(log.pain_during)) for log in replay.all_logs if log.pain_during is not None),
        replay.era_start,
        day,
        model.week_min_ratings,
    )
    for name, series in (("during sessions", during), ("the next morning", mornings)):
        high = _tail_run(series, model.high_pain_weeks)
        if high is not None and all(value > model.ceiling for value in high):
            return "pause_high_pain", (
                f"your pain {name} has averaged above {model.ceiling}/10 for {model.high_pain_weeks} weeks, "
                "even with the plan eased."
            )
    worse = _scores_worse(replay, model, day)
    if worse is not None:
        return "pause_scores_worse", worse
    no_change = _no_meaningful_change(replay, protocol, settings, day, mornings)
    if no_change is not None:
        return "pause_no_change", no_change
    phase = protocol.phases[replay.state.phase_index]
    if phase.max_weeks is not None and replay.finished_on is None:
        most = phase.max_weeks * sessions_per_week(settings)
        in_phase = [item for item in replay.assessed if item.log.date >= replay.phase_started]
        unrated = sum(not item.rated for item in in_phase)
        if replay.done_in_phase >= most and unrated * 2 <= len(in_phase):  # missing ratings: keep holding
            return "pause_phase_too_long", (
                f"you have done {replay.done_in_phase} sessions in the {phase.name} phase, its longest "
                f"planned length ({phase.max_weeks} weeks), and your knee is not yet ready to move on."
            )
    return None


def _score_reference(replay: Replay, instrument: str) -> ScoreRecord | None:
    """The score the era started from: the latest on or before its start, else the first after it."""
    mine = [score for score in replay.scores if score.instrument == instrument]
    before = [score for score in mine if score.date <= replay.era_start]
    if before:
        return before[-1]
    return mine[0] if mine else None


def _latest_score(replay: Replay, instrument: str, day: dt.date) -> ScoreRecord | None:
    mine = [score for score in replay.scores if score.instrument == instrument and score.date <= day]
    return mine[-1] if mine else None


def _scores_worse(replay: Replay, model: PainModel, day: dt.date) -> str | None:
    for instrument, points, higher_is_better, name in (
        ("kujala", model.kujala_worse_points, True, "Kujala knee score"),
        ("nprs", model.nprs_worse_points, False, "pain score"),
    ):
        first, latest = _score_reference(replay, instrument), _latest_score(replay, instrument, day)
        if first is None or latest is None or latest.date <= first.date:
            continue
        change = latest.score - first.score
        if (higher_is_better and change <= -points) or (not higher_is_better and change >= points):
            return (
                f"your {name} went from {first.score:g} to {latest.score:g}, worse by more than the "
                f"{points:g} points that count as a real change."
            )
    return None


def _no_meaningful_change(
    replay: Replay,
    protocol: Protocol,
    settings: PersonSettings,
    day: dt.date,
    mornings: Sequence[float | None],
) -> str | None:
    model = protocol.pain_model
    if replay.no_change_checked or day < replay.era_start + dt.timedelta(weeks=model.review_after_weeks):
        return None
    if replay.baseline is None or replay.baseline < model.review_min_baseline:
        return None
    if replay.finished_on is not None:  # every phase's criteria held: training worked as planned
        return None
    replay.no_change_checked = True  # judged once per era, at the review point
    weeks = (day - replay.era_start).days // 7
    per_week = [0] * weeks
    for log in replay.all_logs:
        index = (log.date - replay.era_start).days // 7
        if not log.is_run and is_done(log) and 0 <= index < weeks:
            per_week[index] += 1
    adherent = sum(count * 2 >= sessions_per_week(settings) for count in per_week)
    if adherent < model.review_adherent_weeks:
        return None
    kujala_first, kujala_latest = _score_reference(replay, "kujala"), _latest_score(replay, "kujala", day)
    if (
        kujala_first
        and kujala_latest
        and kujala_latest.score - kujala_first.score >= model.kujala_worse_points
    ):
        return None
    nprs_first, nprs_latest = _score_reference(replay, "nprs"), _latest_score(replay, "nprs", day)
    if nprs_first and nprs_latest and nprs_first.score - nprs_latest.score >= model.nprs_worse_points:
        return None
    recent = [value for value in mornings[-2:] if value is not None]
    if recent and replay.baseline - statistics.fmean(recent) >= model.nprs_worse_points:
        return None
    later_scores = [score for score in replay.scores if score.date > replay.era_start]
    if not recent and not later_scores:  # nothing rated to judge by: the plan holds and asks for ratings
        return None
    return (
        f"after {model.review_after_weeks} weeks, {adherent} of them with regular training, neither your "
        "pain nor your knee score has improved by a meaningful amount. A clinician should look at your knee "
        "again: the cause may be something other than runner's knee."
    )
