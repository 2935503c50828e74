"""Return to running: when the walk-run ladder opens, and how runs move it (docs/progression.md §6).

It opens only when the plan's own criteria and the readiness check (walk and hop pain) both pass; a run
counts when it was easy and the knee settled by the next morning, repeats its stage when borderline,
and steps back after a flare. A training flare or a pause holds the ladder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from kneefix.content.schemas import Protocol
from kneefix.programme.planner import PlannedRun
from kneefix.programme.progression import assess, reference_pain
from kneefix.programme.records import (
    PlanChange,
    RunCheck,
    SessionLog,
)
from kneefix.programme.replay_state import LoggedSession, Replay, RunningState, describe_stage


def criteria_missing(replay: Replay, protocol: Protocol) -> list[str]:
    """What the plan's own criteria for running still lack (empty: they are met)."""
    criteria = protocol.return_to_running
    assert criteria is not None
    missing: list[str] = []
    if criteria.from_phase is not None:
        ids = [phase.id for phase in protocol.phases]
        if criteria.from_phase in ids and replay.state.phase_index < ids.index(criteria.from_phase):
            name = protocol.phases[ids.index(criteria.from_phase)].name
            missing.append(f"Reach the {name} phase.")
    recent = replay.assessed[-criteria.min_good_sessions :]
    good = [
        item
        for item in recent
        if item.settled is True
        and not item.flare
        and item.completed >= criteria.completed_min - 1e-9
        and item.log.pain_during is not None
        and item.log.pain_during <= criteria.pain_max
        and (item.log.pain_after is None or item.log.pain_after <= criteria.pain_max)
    ]
    if len(recent) < criteria.min_good_sessions or len(good) < len(recent):
        missing.append(
            f"Do {criteria.min_good_sessions} sessions in a row with pain at {criteria.pain_max}/10 or less, "
            "your knee settled each next morning and the strengthening done."
        )
    return missing


def _check_passed(replay: Replay, protocol: Protocol, since: dt.date) -> RunCheck | None:
    criteria = protocol.return_to_running
    assert criteria is not None
    earliest = since - dt.timedelta(days=criteria.check.valid_days_before)
    for check in reversed(replay.checks):
        if check.date < earliest or check.date < replay.era_start:
            return None
        if check.walk_pain <= criteria.check.walk_pain_max and check.hop_pain <= criteria.check.hop_pain_max:
            return check
        return None  # the latest check failed: a new one is needed
    return None


def update_running(replay: Replay, protocol: Protocol, day: dt.date) -> None:
    criteria = protocol.return_to_running
    running = replay.running
    if criteria is None or not running.available or running.open:
        return
    missing = criteria_missing(replay, protocol)
    if missing:
        replay.running = replace(running, status="closed", missing=tuple(missing), criteria_met_on=None)
        return
    met_on = running.criteria_met_on or day
    replay.running = replace(running, criteria_met_on=met_on)
    _maybe_open_running(replay, protocol, day)


def _maybe_open_running(replay: Replay, protocol: Protocol, day: dt.date) -> None:
    criteria = protocol.return_to_running
    running = replay.running
    if criteria is None or running.open or running.criteria_met_on is None:
        return
    check = _check_passed(replay, protocol, running.criteria_met_on)
    if check is None or check.date > day:
        replay.running = replace(
            running,
            status="check_needed",
            missing=(
                f"Do the readiness check: walk briskly for {criteria.check.walk_minutes} minutes and hop "
                f"{criteria.check.hops} times on the sore leg, and note the pain of each (the running "
                f"check: Today on the web, or `kneefix log run-check`); both must be "
                f"{criteria.check.walk_pain_max}/10 or less.",
            ),
        )
        return
    stage = criteria.stages[0]
    opened = max(day, check.date)
    replay.running = replace(
        running, open=True, opened_on=opened, stage=stage, next_run_from=opened, status="open", missing=()
    )
    replay.changes.append(
        PlanChange(
            opened,
            "return_to_running",
            "running",
            f"Your last {criteria.min_good_sessions} sessions went well and your readiness check passed, so "
            f"return to running is open. Start with stage 1: {describe_stage(stage)}, on level ground.",
            {"stage": stage.stage},
        )
    )


def replay_run(replay: Replay, protocol: Protocol, log: SessionLog) -> None:
    criteria = protocol.return_to_running
    if replay.running.available and not replay.running.open and replay.paused_reason is None:
        _maybe_open_running(replay, protocol, log.date)  # a check answered since the last session
    model = protocol.pain_model
    reference = reference_pain(replay.baseline, replay.mornings, model)
    item = assess(log, reference, model)
    replay.all_logs.append(log)
    if log.next_morning_pain is not None:
        replay.mornings.append(log.next_morning_pain)
        replay.rated.append((log.date, log.next_morning_pain))
    running = replay.running
    replay.history.append(LoggedSession(log, replay.state, None, item.settled, item.flare, reference))
    if criteria is None or not running.open or running.finished or running.stage is None:
        return
    if replay.paused_reason is not None:
        return
    next_run = log.date + dt.timedelta(days=criteria.rest_days_between_runs + 1)
    stages = criteria.stages
    index = stages.index(running.stage)
    good_max = criteria.run_pain_good_max
    good = (
        item.settled is True
        and not item.flare
        and log.pain_during is not None
        and log.pain_during <= good_max
        and (log.pain_after is None or log.pain_after <= good_max)
    )
    if good:
        count = running.good_runs_at_stage + 1
        if count < running.stage.repeats_at_least:
            replay.running = replace(running, good_runs_at_stage=count, next_run_from=next_run)
            return
        if index + 1 == len(stages):
            replay.running = replace(
                running, finished=True, good_runs_at_stage=count, next_run_from=next_run, status="finished"
            )
            text = "You have completed every return-to-running stage. Keep building gradually."
        else:
            stage = stages[index + 1]
            replay.running = replace(running, stage=stage, good_runs_at_stage=0, next_run_from=next_run)
            text = (
                f"{count} good runs at stage {running.stage.stage}, so move on to stage {stage.stage}: "
                f"{describe_stage(stage)}."
            )
        replay.changes.append(PlanChange(log.date, "running_stage", "running", text, {"good_runs": count}))
        return
    if not item.flare:  # pain 4-5, or no next-morning rating yet: repeat the stage
        replay.running = replace(running, next_run_from=next_run)
        why = (
            "rate the next morning's pain after each run"
            if item.settled is None
            else f"pain above {good_max}/10 means repeating the stage"
        )
        replay.changes.append(
            PlanChange(
                log.date,
                "running_repeat",
                "running",
                f"That run does not count towards stage {running.stage.stage} yet ({why}); repeat it.",
                {"stage": running.stage.stage},
            )
        )
        return
    stage = stages[max(index - 1, 0)]
    replay.running = replace(running, stage=stage, good_runs_at_stage=0, next_run_from=next_run)
    reason = (
        "your knee had not settled by the next morning"
        if item.settled is False
        else f"pain went above {model.ceiling}/10"
    )
    text = (
        f"Your last run did not go well ({reason}), so the next runs are at stage {stage.stage}: "
        f"{describe_stage(stage)}. Rest at least {criteria.rest_days_between_runs} day(s) between runs."
    )
    replay.changes.append(PlanChange(log.date, "running_stage", "running", text, {"stage": stage.stage}))


def running_today(replay: Replay, protocol: Protocol, status: str) -> RunningState:
    """The running state as shown today: paused with the plan, held after a flare."""
    running = replay.running
    if not running.available:
        return running
    if status == "paused":
        return replace(running, status="paused")
    if running.open and not running.finished and replay.assessed and replay.assessed[-1].flare:
        return replace(running, status="held")
    if running.open and not running.finished:
        return replace(running, status="open")
    if not running.open and running.criteria_met_on is not None:
        check = _check_passed(replay, protocol, running.criteria_met_on)
        if check is not None:  # a check logged after the last session opens the ladder today
            _maybe_open_running(replay, protocol, check.date)
            return replay.running
    return running


def first_run_day(logs: Sequence[SessionLog], today: dt.date) -> dt.date:
    """Today, or tomorrow once today's run is logged."""
    ran_today = any(log.date == today and log.is_run for log in logs)
    return today + dt.timedelta(days=1) if ran_today else today


def forecast_runs(protocol: Protocol, running: RunningState, first_day: dt.date) -> tuple[PlannedRun, ...]:
    """The next runs of the ladder, at least one rest day apart, from the current stage on."""
    criteria = protocol.return_to_running
    if criteria is None or not running.open or running.finished or running.stage is None:
        return ()
    if running.status == "held":
        return ()
    day = max(first_day, running.next_run_from or first_day)
    runs: list[PlannedRun] = []
    stages = criteria.stages
    start = stages.index(running.stage)
    for index in range(start, len(stages)):
        stage = stages[index]
        repeats = stage.repeats_at_least - (running.good_runs_at_stage if index == start else 0)
        for _ in range(max(repeats, 0)):
            runs.append(PlannedRun(day, stage.stage, describe_stage(stage)))
            day += dt.timedelta(days=criteria.rest_days_between_runs + 1)
    return tuple(runs)
