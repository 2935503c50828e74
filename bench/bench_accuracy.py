"""Accuracy of the technique calls: on synthetic clips (known truth) and on real clips (two raters).

Synthetic: seeded stick-figure clips from ``tests/motion/synthetic.py`` (pose-like jitter, outliers,
dropped frames, some variable-rate), per condition: rep-count errors, median lag error over the reps
given a lag, the share of reps left without a lag ("unknown"), and among reps whose true onsets differ
by >= 120 ms the share called right, called wrong (hips <-> knees) and called "together"/"unknown".

Real: ``tests/video/rater_labels.yaml`` holds two independent raters' frame-by-frame onsets and
contacts on the shared clips (``../shared/data``, never copied here). Their agreement is reported, and
the analysis is scored only where both raters gave a frame and agree within one frame on contacts and
on which joint moved first. Landmarks come from the pose model (one pass per clip, ~30 frames/s).

Run: ``.venv/bin/python bench/bench_accuracy.py [--synthetic-only] [--clips 16]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.motion.synthetic import Noise, random_reps, squat_clip  # noqa: E402

from kneefix.motion.analyze import analyze_series  # noqa: E402
from kneefix.motion.kinematics import compute_kinematics  # noqa: E402
from kneefix.motion.squat import analyze_reps  # noqa: E402

SHARED = ROOT.parent / "shared/data"
RATERS = ROOT / "tests/video/rater_labels.yaml"


@dataclass
class Tally:
    reps: int = 0
    count_errors: int = 0
    lag_errors: list[float] = field(default_factory=list)
    clear: int = 0
    right: int = 0
    wrong: int = 0


def synthetic(name: str, movement: str, seed: int, clips: int, **options: Any) -> tuple[str, Tally]:
    rng = np.random.default_rng(seed)
    tally = Tally()
    lowering = options.pop("lowering", (0.9, 1.6))
    for _ in range(clips):
        reps = random_reps(rng, 5, movement, lowering_range_s=lowering)
        clip = squat_clip(
            reps,
            rng,
            facing=int(rng.choice([-1, 1])),
            near=str(rng.choice(["left", "right"])),
            variable_rate=options.get("variable", bool(rng.random() < 0.3)),
            fps=options.get("fps", 30.0),
            noise=options.get("noise"),
        )
        found, _ = analyze_reps(compute_kinematics(clip.series, movement))  # type: ignore[arg-type]
        if len(found) != len(reps):
            tally.count_errors += 1
            continue
        for spec, rep in zip(reps, found, strict=True):
            tally.reps += 1
            if rep.lag_ms is not None:
                tally.lag_errors.append(abs(rep.lag_ms - spec.lag_ms))
            if abs(spec.lag_ms) >= 120:
                tally.clear += 1
                truth = "hips" if spec.lag_ms > 0 else "knees"
                tally.right += rep.initiation == truth
                tally.wrong += rep.initiation == ("knees" if truth == "hips" else "hips")
    return name, tally


def synthetic_table(clips: int) -> None:
    conditions: list[tuple[str, str, int, dict[str, Any]]] = [
        ("squat, 30 fps", "squat", 1, {}),
        ("deadlift (knee bends 25-60 deg)", "deadlift", 2, {}),
        ("squat, 24 fps", "squat", 3, {"fps": 24.0}),
        ("squat, 60 fps", "squat", 4, {"fps": 60.0}),
        ("squat, variable frame rate", "squat", 5, {"variable": True}),
        ("squat, 3 px jitter", "squat", 6, {"noise": Noise(sigma_px=3.0)}),
        ("fast reps (0.45-0.7 s lowering)", "squat", 7, {"lowering": (0.45, 0.7)}),
        ("slow reps (1.5-2.5 s lowering)", "squat", 8, {"lowering": (1.5, 2.5)}),
    ]
    print(f"Synthetic: {clips} clips x 5 reps per condition")
    head = "| condition | rep-count errors | median lag error | reps without a lag "
    print(head + "| clear leads: right / wrong / not called |")
    print("|---|---|---|---|---|")
    for label, movement, seed, options in conditions:
        _, t = synthetic(label, movement, seed, clips, **options)
        median = statistics.median(t.lag_errors) if t.lag_errors else float("nan")
        unknown = 1 - len(t.lag_errors) / t.reps if t.reps else float("nan")
        missed = t.clear - t.right - t.wrong
        print(
            f"| {label} | {t.count_errors} | {median:.0f} ms | {unknown:.0%} | "
            f"{t.right / t.clear:.0%} / {t.wrong / t.clear:.0%} / {missed / t.clear:.0%} |"
        )


def real_table() -> None:
    if not RATERS.is_file() or not (SHARED / "manifest.json").is_file():
        print("Real clips: no rater labels or no shared clips here; skipped.")
        return
    from tests.video.clips import MOVEMENTS, manifest
    from tests.video.rater_scoring import lines, score

    from kneefix.motion.pipeline import video_to_landmarks

    entries = {Path(e["path"]).name: e for e in manifest(SHARED)}
    movements = {name: MOVEMENTS[e["movement"]] for name, e in entries.items()}

    def landmarks(clip: str) -> Any:
        entry = entries.get(clip)
        return None if entry is None else video_to_landmarks(SHARED / entry["path"], workers=1)[0]

    labels: dict[str, Any] = yaml.safe_load(RATERS.read_text())
    print()
    for line in lines(score(labels, landmarks, analyze_series, movements)):
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--synthetic-only", action="store_true")
    args = parser.parse_args()
    synthetic_table(args.clips)
    if not args.synthetic_only:
        real_table()


if __name__ == "__main__":
    main()
