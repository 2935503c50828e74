"""How soon a second pose tracker agrees with one continuous pass: what the two-worker handoff can gain.

``kneefix.motion.pipeline`` runs long clips on two workers that *hand off*: the second starts
``WARM_UP_S`` before the cut, and its track is used only from the first ``HANDOFF_FRAMES`` frames in a
row where every body landmark is within ``HANDOFF_TOLERANCE`` of the first worker's. Until then the
first worker keeps going, and if the two never agree it runs to the end (one pass, no gain). So the
speed-up on two cores rests on how soon two trackers with different histories place the body alike.

For every shared clip long enough for two workers, this runs one continuous pass, then a second
tracker started at several warm-ups before the cut, and prints the frames after the cut until they
agree (``never`` within 6 s) and the median over the 4 s after the cut of the worst body landmark's
distance between the two tracks.

Run: ``.venv/bin/python bench/bench_handoff.py [--warm-up 0.5,1.0] [--only SUBSTRING]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from kneefix.motion import pipeline
from kneefix.motion.pose import MediaPipePose
from kneefix.motion.video import VideoInfo, iter_frames, probe

SHARED = Path(__file__).resolve().parents[2] / "shared/data"
WATCH_S = 6.0  # how long after the cut to wait for agreement
GAP_S = 4.0  # the span after the cut over which the landmark gap is summarised


def track(
    info: VideoInfo, start_s: float | None, stop_s: float | None
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """One tracker over the frames from ``start_s`` to ``stop_s``: times and (n, 33, 4) landmarks."""
    backend = MediaPipePose()
    times, rows = [], []
    missing = np.full((33, 4), np.nan, dtype=np.float32)
    try:
        for frame in iter_frames(info, start_s=start_s, stop_s=stop_s, max_side=pipeline.POSE_MAX_SIDE):
            found = backend.process(frame.rgb)
            if found is not None and frame.rgb.shape[:2] != (info.height, info.width):
                found = pipeline.to_original_pixels(found, frame.rgb.shape[1], frame.rgb.shape[0], info)
            times.append(frame.time_s)
            rows.append(missing if found is None else found.astype(np.float32))
    finally:
        backend.close()
    return np.asarray(times), np.stack(rows)


def agreement(
    one: tuple[NDArray[np.float64], NDArray[np.float32]],
    second: tuple[NDArray[np.float64], NDArray[np.float32]],
    cut_s: float,
    tolerance_px: float,
) -> tuple[int | None, float]:
    """Frames after the cut until ``HANDOFF_FRAMES`` agreeing frames end (None: never), and the median
    worst-landmark gap (px) over ``GAP_S`` after the cut."""
    (t1, p1), (t2, p2) = one, second
    keep = t2 >= cut_s - 1e-6
    t2, p2 = t2[keep], p2[keep]
    at = np.searchsorted(t1, t2 - 1e-6)
    same = pipeline.agreeing_frames(p1[at], p2, tolerance_px)
    run, frames = 0, None
    for k, agrees in enumerate(same):
        run = run + 1 if agrees else 0
        if run >= pipeline.HANDOFF_FRAMES:
            frames = k + 1
            break
    body = pipeline.BODY_LANDMARKS
    gap = np.linalg.norm(p1[at][:, body, :2].astype(np.float64) - p2[:, body, :2], axis=2)
    with np.errstate(all="ignore"):
        worst = np.nanmax(np.where(np.isfinite(gap), gap, np.nan), axis=1)
    window = worst[t2 <= cut_s + GAP_S]
    return frames, float(np.nanmedian(window)) if np.isfinite(window).any() else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm-up", default=f"0.5,{pipeline.WARM_UP_S}", help="seconds, comma-separated")
    parser.add_argument("--only", action="append", default=[], help="only clips whose name contains this")
    args = parser.parse_args()
    warm_ups = [float(x) for x in args.warm_up.split(",")]
    manifest = SHARED / "manifest.json"
    if not manifest.exists():
        print("No shared clips here (../shared/data); nothing to measure.")
        return
    entries = json.loads(manifest.read_text())["videos"]
    print(
        f"Handoff tolerance {pipeline.HANDOFF_TOLERANCE:.1%} of the long side, {pipeline.HANDOFF_FRAMES} "
        f"frames in a row; clips of {pipeline.TWO_WORKER_MIN_FRAMES} frames or more.\n"
    )
    header = " | ".join(f"warm-up {w:g} s: frames to agree, gap px" for w in warm_ups)
    print(f"| clip | frames | long side px | {header} |")
    print("|---|---|---|" + "---|" * len(warm_ups))
    found: dict[float, list[int | None]] = {w: [] for w in warm_ups}
    for entry in entries:
        path = SHARED / entry["path"]
        if args.only and not any(s in path.name for s in args.only):
            continue
        info = probe(path)
        if info.frame_count < pipeline.TWO_WORKER_MIN_FRAMES:
            continue
        cut = pipeline._cut_s(info)
        tolerance = pipeline.HANDOFF_TOLERANCE * max(info.width, info.height)
        one = track(info, None, None)
        cells = []
        for warm_up in warm_ups:
            frames, gap = agreement(one, track(info, max(cut - warm_up, 0.0), cut + WATCH_S), cut, tolerance)
            found[warm_up].append(frames)
            cells.append(f"{'never' if frames is None else frames}, {gap:.1f}")
        print(f"| {path.name} | {info.frame_count} | {max(info.width, info.height)} | {' | '.join(cells)} |")
        sys.stdout.flush()
    for warm_up, per_clip in found.items():
        agreed = [f for f in per_clip if f is not None]
        median = f"median {statistics.median(agreed):.0f} frames after the cut" if agreed else "none"
        print(f"\nwarm-up {warm_up:g} s: agreed on {len(agreed)} of {len(per_clip)} clips ({median})")


if __name__ == "__main__":
    main()
