"""Scoring the analysis against two independent raters' frame-by-frame labels of the shared clips.

The labels (``rater_labels.yaml``) are frame numbers in decoded order, read by two raters from frame
sheets made by ``bench/label_sheets.py``; each rater saw only the frames, never the analysis nor the
other's answers. Here they become times (from the clip's own frame timestamps) and calls:

* a rater's **call** for a rep: knee onset minus hip onset; "hips" or "knees" beyond the analysis'
  own margin (max(two frame periods, 60 ms)), else "together"; none if either onset is null;
* the raters **agree** on a rep when both gave a call and it is the same; on a contact when both gave a
  frame and they are at most one frame apart;
* the analysis is scored only where the raters agree: its call on the matching rep (the rep whose
  lowering contains the raters' onsets), and its contact time against the raters' first frame on the
  floor (the true contact lies in the frame period before that frame);
* **counts** come from the re-count (``recount``: every rep whose bottom the clip shows, each marked
  "standing" or "cut" at its start and end, and every landing): the raters agree on a clip when they
  list as many reps (or landings); the analysis is scored on the number a person is shown
  (``summary["reps"]``, every rep it found, cut ones included, or its landings), and on how many of
  those reps it flags ``partial`` against the raters' reps with a "cut" start or end. The first
  labelling's ``overviews`` counted "full reps" without a written rule for reps the clip cuts into;
  they are kept as they were and reported beside it.

``score`` returns the figures; ``lines`` prints them for ``bench/bench_accuracy.py``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kneefix.motion.reps import agreement_s
from kneefix.motion.types import LandmarkSeries, Report

Analyze = Callable[[LandmarkSeries, Any], tuple[Report, Any]]


@dataclass
class RepScore:
    clip: str
    sheet: str
    rater_calls: tuple[str | None, str | None]
    frame_gaps: tuple[int | None, int | None]  # |a - b| in frames for hip and knee onsets
    analysis: str | None = None  # the analysis' call on the matching rep (None: no rep matched)
    onset_errors_ms: list[float] = field(default_factory=list)  # analysis minus raters' mean
    # Against the track's own angles: (analysis onset, raters' mean) minus the moment the joint has moved
    # DEPARTURE_DEG from the level it stood at before the analysis' onset, and how far it had moved by
    # the raters' mark. A reference that needs no onset method: it comes after the true start by the
    # time 2 deg of movement take.
    departures_ms: list[tuple[float, float]] = field(default_factory=list)
    moved_by_mark_deg: list[float] = field(default_factory=list)

    @property
    def agreed(self) -> str | None:
        a, b = self.rater_calls
        return a if a is not None and a == b else None


@dataclass
class ContactScore:
    clip: str
    sheet: str
    frames: tuple[int | None, int | None]
    error_frames: float | None = None  # analysis minus the raters' first frame on the floor
    found: bool = False

    @property
    def agreed(self) -> bool:
        a, b = self.frames
        return a is not None and b is not None and abs(a - b) <= 1


@dataclass
class CountScore:
    """One clip's re-count: each rater's number of reps (or landings) and of reps cut by the clip."""

    clip: str
    kind: str  # "reps" or "landings"
    raters: tuple[int, int]
    analysis: int
    cut_raters: tuple[int, int] = (0, 0)
    cut_analysis: int = 0
    poor: int = 0  # of the analysis' reps or landings, those whose pose track it calls poor

    @property
    def agreed(self) -> bool:
        return self.raters[0] == self.raters[1]

    @property
    def cut_agreed(self) -> bool:
        return self.agreed and self.cut_raters[0] == self.cut_raters[1]


@dataclass
class Scores:
    reps: list[RepScore] = field(default_factory=list)
    contacts: list[ContactScore] = field(default_factory=list)
    counts: list[tuple[str, int | None, int | None, int]] = field(default_factory=list)  # first labelling
    recounts: list[CountScore] = field(default_factory=list)


def _call(lead_ms: float, margin_ms: float) -> str:
    if lead_ms >= margin_ms:
        return "hips"
    if lead_ms <= -margin_ms:
        return "knees"
    return "together"


DEPARTURE_DEG = 2.0


def _departure(
    t: np.ndarray[Any, Any], angle: np.ndarray[Any, Any], onset: float, bottom: float
) -> tuple[float, float] | None:
    """From when the joint stays more than ``DEPARTURE_DEG`` beyond its level over the 0.3 s before
    ``onset`` until the bottom (the frame after its last one within that band), and that level."""
    base = float(np.nanmedian(angle[(t >= onset - 0.3) & (t <= onset)]))
    span = np.flatnonzero((t >= onset - 0.3) & (t <= bottom))
    within = np.flatnonzero(angle[span] <= base + DEPARTURE_DEG)
    if not np.isfinite(base) or within.size == 0 or within[-1] + 1 >= span.size:
        return None
    return float(t[span[within[-1] + 1]]), base


def _rater_call(answer: dict[str, Any] | None, t: np.ndarray[Any, Any], margin_ms: float) -> str | None:
    if not answer or answer.get("hip") is None or answer.get("knee") is None:
        return None
    hip, knee = int(answer["hip"]), int(answer["knee"])
    if not (0 <= hip < t.shape[0] and 0 <= knee < t.shape[0]):
        return None
    return _call((t[knee] - t[hip]) * 1000.0, margin_ms)


def _gap(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> int | None:
    if not a or not b or a.get(key) is None or b.get(key) is None:
        return None
    return abs(int(a[key]) - int(b[key]))


def score(
    labels: dict[str, Any],
    landmarks: Callable[[str], LandmarkSeries | None],
    analyze: Analyze,
    movements: Mapping[str, str],
) -> Scores:
    """Score every labelled clip; ``landmarks`` gives a clip's pose track by name (None: not here),
    ``movements`` its movement as ``analyze_series`` names it."""
    scores = Scores()
    by_clip: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for kind in ("onsets", "contacts", "overviews", "recount"):
        for entry in labels.get(kind, []):
            by_clip.setdefault(entry["clip"], {}).setdefault(kind, []).append(entry)
    for clip, entries in sorted(by_clip.items()):
        series = landmarks(clip)
        if series is None or clip not in movements:
            continue
        t = series.time_s
        margin_ms = agreement_s(series.fps) * 1000.0
        movement = movements[clip]
        report, kin = analyze(series, movement)
        for entry in entries.get("onsets", []):
            a, b = entry.get("a"), entry.get("b")
            rep = RepScore(
                clip,
                entry["sheet"],
                (_rater_call(a, t, margin_ms), _rater_call(b, t, margin_ms)),
                (_gap(a, b, "hip"), _gap(a, b, "knee")),
            )
            frames = [int(x[k]) for x in (a, b) if x for k in ("hip", "knee") if x.get(k) is not None]
            if frames:
                when = float(np.median(t[np.clip(frames, 0, t.shape[0] - 1)]))
                match = [r for r in report.reps if r.start_s - 1.0 <= when <= r.bottom_s]
                if match:
                    found = match[0]
                    rep.analysis = found.initiation
                    for key, onset in (("hip", found.hip_onset_s), ("knee", found.knee_onset_s)):
                        marks = [int(x[key]) for x in (a, b) if x and x.get(key) is not None]
                        if onset is not None and len(marks) == 2:
                            mark = float(np.mean(t[marks]))
                            rep.onset_errors_ms.append((onset - mark) * 1000.0)
                            angle = kin.hip_flexion if key == "hip" else kin.knee_flexion
                            moved = _departure(kin.time_s, angle, onset, found.bottom_s)
                            if moved is not None and movement != "single-leg-squat":  # per-rep stance leg
                                departure, base = moved
                                rep.departures_ms.append(
                                    ((onset - departure) * 1000.0, (mark - departure) * 1000.0)
                                )
                                rep.moved_by_mark_deg.append(float(np.interp(mark, kin.time_s, angle)) - base)
            scores.reps.append(rep)
        frame_s = 1.0 / series.fps if series.fps > 0 else 1 / 30
        landed = report if movement == "landing" else analyze(series, "landing")[0]  # jump squats land
        contacts = [x.initial_contact_s for x in landed.landings if x.quality.level != "poor"]
        for entry in entries.get("contacts", []):
            a, b = entry.get("a"), entry.get("b")
            contact = ContactScore(clip, entry["sheet"], (a, b))
            if contact.agreed:
                assert a is not None and b is not None
                first = (float(t[a]) + float(t[b])) / 2  # the raters' median of two
                near = [c for c in contacts if abs(c - first) <= 0.25]
                if near:
                    contact.found = True
                    contact.error_frames = (min(near, key=lambda c: abs(c - first)) - first) / frame_s
            scores.contacts.append(contact)
        for entry in entries.get("overviews", []):
            key = "landings" if movement == "landing" else "reps"
            if movement == "landing":
                count = len(report.landings)
            else:
                count = sum(1 for r in report.reps if not r.partial)
            a, b = (entry.get(x) or {} for x in ("a", "b"))
            scores.counts.append((clip, a.get(key), b.get(key), count))
        for entry in entries.get("recount", []):
            scores.recounts.append(_recount(clip, entry, report, movement))
    return scores


def _cut(rep: dict[str, Any]) -> bool:
    return "cut" in (rep.get("start"), rep.get("end"))


def _recount(clip: str, entry: dict[str, Any], report: Report, movement: str) -> CountScore:
    a, b = entry["a"], entry["b"]
    if movement == "landing":
        poor = sum(1 for x in report.landings if x.quality.level == "poor")
        return CountScore(
            clip, "landings", (len(a["landings"]), len(b["landings"])), len(report.landings), poor=poor
        )
    return CountScore(
        clip,
        "reps",
        (len(a["reps"]), len(b["reps"])),
        len(report.reps),
        (sum(map(_cut, a["reps"])), sum(map(_cut, b["reps"]))),
        sum(1 for r in report.reps if r.partial),
        sum(1 for r in report.reps if r.quality.level == "poor"),
    )


def lines(scores: Scores) -> list[str]:
    """The figures in words, for the benchmark's printout and docs/motion-analysis.md."""
    out = ["Real clips against two independent raters (frame sheets; each rater saw only the frames):"]
    reps = scores.reps
    both = [r for r in reps if r.rater_calls[0] is not None and r.rater_calls[1] is not None]
    agreed = [r for r in both if r.agreed]
    gaps = [g for r in reps for g in r.frame_gaps if g is not None]
    out.append(
        f"- onsets: {len(reps)} rep sheets; both raters timed both onsets on {len(both)}; "
        f"they made the same call on {len(agreed)} of those"
        + (
            f"; onset frames within one frame of each other {np.mean(np.array(gaps) <= 1):.0%} of the time "
            f"(median gap {statistics.median(gaps):.0f} frames)"
            if gaps
            else ""
        )
    )
    for call in ("hips", "knees", "together"):
        group = [r for r in agreed if r.agreed == call]
        if not group:
            continue
        said = {k: sum(1 for r in group if r.analysis == k) for k in ("hips", "knees", "together", "unknown")}
        unmatched = sum(1 for r in group if r.analysis is None)
        out.append(
            f"  - raters agree '{call}' on {len(group)}: the analysis said hips {said['hips']}, knees "
            f"{said['knees']}, together {said['together']}, unknown {said['unknown']}"
            + (f", no rep found {unmatched}" if unmatched else "")
        )
    errors = [abs(e) for r in agreed for e in r.onset_errors_ms]
    if errors:
        out.append(
            f"  - onset time, analysis vs the raters' mean, where both raters timed it: median "
            f"{statistics.median(errors):.0f} ms, 90th percentile {np.percentile(errors, 90):.0f} ms"
        )
    departures = [d for r in reps for d in r.departures_ms]
    moved = [m for r in reps for m in r.moved_by_mark_deg]
    if departures:
        ahead = [a for a, _ in departures]
        marks = [m for _, m in departures]
        median_ahead, low_ahead, high_ahead = (float(np.percentile(ahead, q)) for q in (50, 10, 90))
        median_mark, low_mark, high_mark = (float(np.percentile(marks, q)) for q in (50, 10, 90))
        out.append(
            f"  - against the track's own angles ({len(departures)} onsets both raters marked, single-leg "
            f"squats aside): the analysis' onset comes {_when(median_ahead)} the joint has moved "
            f"{DEPARTURE_DEG:.0f} deg for good (median; 10th-90th percentile {_when(low_ahead)} to "
            f"{_when(high_ahead)}), the raters' mark {_when(median_mark)} it ({_when(low_mark)} to "
            f"{_when(high_mark)}), by when the joint had moved a median {statistics.median(moved):.1f} deg"
        )
    contacts = scores.contacts
    agreed_contacts = [c for c in contacts if c.agreed]
    found = [c for c in agreed_contacts if c.found and c.error_frames is not None]
    out.append(
        f"- contacts: {len(contacts)} landing sheets; both raters gave a frame within one frame of each "
        f"other on {len(agreed_contacts)}; the analysis found {len(found)} of those"
    )
    if found:
        errors_f = [c.error_frames for c in found if c.error_frames is not None]
        inside = sum(1 for e in errors_f if -1.0 <= e <= 0.0)
        within = sum(1 for e in errors_f if abs(e) <= 1.0)
        out.append(
            f"  - analysis minus the raters' first frame on the floor: median "
            f"{statistics.median(errors_f):+.2f} frames; within the frame period before it "
            f"{inside} of {len(errors_f)}; within one frame {within} of {len(errors_f)}"
        )
    out.extend(_recount_lines(scores.recounts))
    counted = [(clip, a, b, n) for clip, a, b, n in scores.counts if a is not None and a == b]
    if scores.counts:
        exact = [clip for clip, a, _, n in counted if a == n]
        off = [f"{clip} ({n} vs {a})" for clip, a, _, n in counted if a != n]
        out.append(
            f"- first labelling's counts (full reps, no written rule for reps the clip cuts into; or "
            f"landings for landing clips): raters agree on {len(counted)} of "
            f"{len(scores.counts)} clips; the analysis matches them on {len(exact)} of those"
            + (f"; differs on {', '.join(off)}" if off else "")
        )
    return out


def _recount_lines(recounts: list[CountScore]) -> list[str]:
    if not recounts:
        return []
    agreed = [c for c in recounts if c.agreed]
    exact = [c for c in agreed if c.analysis == c.raters[0]]
    off = [f"{c.clip} ({c.analysis} vs {c.raters[0]} {c.kind})" for c in agreed if c.analysis != c.raters[0]]
    reps = sum(c.raters[0] for c in agreed)
    out = [
        f"- counts (re-count: every rep whose bottom the clip shows, or every landing): raters agree on "
        f"{len(agreed)} of {len(recounts)} clips ({reps} reps and landings); the number the analysis "
        f"shows matches them on {len(exact)} of those" + (f"; differs on {', '.join(off)}" if off else "")
    ]
    trusted = [c for c in agreed if c.poor == 0]
    out.append(
        f"  - on the {len(trusted)} of those clips where the analysis calls no rep or landing's pose track "
        f"poor: matches on {sum(1 for c in trusted if c.analysis == c.raters[0])}"
    )
    cut = [c for c in agreed if c.kind == "reps" and c.cut_agreed and c.analysis == c.raters[0]]
    if cut:
        same = sum(1 for c in cut if c.cut_analysis == c.cut_raters[0])
        flagged = [
            f"{c.clip} ({c.cut_analysis} vs {c.cut_raters[0]})"
            for c in cut
            if c.cut_analysis != c.cut_raters[0]
        ]
        out.append(
            f"  - reps cut by the clip (a start or an end not standing), on the {len(cut)} rep clips counted "
            f"alike: raters {sum(c.cut_raters[0] for c in cut)}, analysis {sum(c.cut_analysis for c in cut)} "
            f"flagged partial; the same number on {same} of {len(cut)} clips"
            + (f"; differs on {', '.join(flagged)}" if flagged else "")
        )
    return out


def _when(offset_ms: float) -> str:
    return f"{abs(offset_ms):.0f} ms {'before' if offset_ms < 0 else 'after'}"
