"""Speed and memory of the video pipeline on a real clip, measured in one run.

Variants, each a fresh process (so imports and model loading count, as they do for a person):

* ``decode``     - PyAV decode to RGB arrays, nothing else;
* ``bare``       - the plainest MediaPipe loop: decode, ``Pose.process`` each frame, one process;
* ``analyze-1``  - ``run_analysis`` forced to one pose worker, no annotated video (compare with bare);
* ``analyze``    - ``kneefix analyze --no-video`` as a person runs it (two workers on long clips, with
  the handoff of ``kneefix.motion.pipeline``); its output is compared with ``analyze-1``'s (one
  continuous pass): where the handoff fell, landmark differences, reps, calls and onset shifts;
* ``analyze+video`` - ``kneefix analyze`` writing annotated.mp4 too.

Variants are interleaved and repeated; medians are reported, and ratios are taken within a round, since
the host's speed drifts (../shared/docs/perf.md). Memory is the peak resident size of the whole process
tree (sampled from /proc every 50 ms); CPU use is user+system seconds of the tree over wall seconds
(2.0 = both cores busy). A long clip is made at bench time by looping the clip's packets (no re-encode)
to show memory stays flat with length.

Run: ``.venv/bin/python bench/bench_pipeline.py [--clip PATH] [--repeats 3] [--loops 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT.parent / "shared/data/videos/squat_side/squat_side_yuyoujiang_bodyweight_room.mp4"
PYTHON = sys.executable
KNEEFIX = str(Path(sys.executable).with_name("kneefix"))

DECODE = """
import sys
from kneefix.motion.video import iter_frames, probe
n = sum(1 for _ in iter_frames(probe(sys.argv[1])))
print(n)
"""

BARE = """
import sys
import av
from mediapipe.python.solutions import pose as mp_pose
pose = mp_pose.Pose(static_image_mode=False, model_complexity=1)
n = 0
with av.open(sys.argv[1]) as container:
    for frame in container.decode(video=0):
        pose.process(frame.to_ndarray(format="rgb24"))
        n += 1
print(n)
"""

ANALYZE_ONE_WORKER = """
import sys
from kneefix.services.technique import run_analysis
report = run_analysis(sys.argv[1], "squat", out_dir=sys.argv[2], annotate=False, workers=1)
print(report.frames)
"""


@dataclass
class Run:
    variant: str
    clip: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    frames: int

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s

    @property
    def cores(self) -> float:
        return self.cpu_s / self.wall_s


def _tree_rss_kib(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        for pid, parent in parents.items():
            if parent == current and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def measure(variant: str, command: list[str], clip: Path, frames: int) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kib(process.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise SystemExit(f"{variant} failed ({process.returncode}):\n{error[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(variant, clip.name, wall, cpu, peak / 1024, frames)


def count_frames(clip: Path) -> int:
    with av.open(str(clip)) as container:
        return sum(1 for _ in container.decode(video=0))


def looped_copy(clip: Path, loops: int, target: Path) -> Path:
    """The clip's packets ``loops`` times in a row, re-timestamped: a long real video, no re-encode."""
    with av.open(str(clip)) as source, av.open(str(target), "w") as out:
        in_stream = source.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        packets = [p for p in source.demux(in_stream) if p.dts is not None and p.pts is not None and p.size]
        dts = [int(p.dts or 0) for p in packets]
        pts = [int(p.pts or 0) for p in packets]
        step = dts[1] - dts[0] if len(dts) > 1 else 1
        span = max(pts) - min(dts) + step
        for loop in range(loops):
            for packet, packet_dts, packet_pts in zip(packets, dts, pts, strict=True):
                packet.stream = out_stream
                packet.dts = packet_dts + loop * span
                packet.pts = packet_pts + loop * span
                out.mux(packet)
    return target


def variants(clip: Path, out_dir: Path) -> dict[str, list[str]]:
    return {
        "decode": [PYTHON, "-c", DECODE, str(clip)],
        "bare": [PYTHON, "-c", BARE, str(clip)],
        "analyze-1": [PYTHON, "-c", ANALYZE_ONE_WORKER, str(clip), str(out_dir / "one")],
        "analyze": [
            KNEEFIX,
            "analyze",
            str(clip),
            "-m",
            "squat",
            "--out",
            str(out_dir / "a"),
            "--json",
            "--quiet",
            "--no-video",
        ],
        "analyze+video": [
            KNEEFIX,
            "analyze",
            str(clip),
            "-m",
            "squat",
            "--out",
            str(out_dir / "v"),
            "--json",
            "--quiet",
        ],
    }


def same_results(one: Path, two: Path) -> str:
    """How the two-worker output compares with the one-worker (one continuous pass) output."""
    import numpy as np

    from kneefix.motion.landmarks_csv import read_landmarks_csv

    a = json.loads((one / "report.json").read_text())
    b = json.loads((two / "report.json").read_text())
    la, lb = read_landmarks_csv(one / "landmarks.csv"), read_landmarks_csv(two / "landmarks.csv")
    body = [11, 12, *range(23, 33)]
    distance = np.linalg.norm(la.xy[:, body] - lb.xy[:, body], axis=2)
    differs = np.flatnonzero(~np.all((la.xy == lb.xy) | (np.isnan(la.xy) & np.isnan(lb.xy)), axis=(1, 2)))
    calls_a = [r["initiation"] for r in a["reps"]]
    calls_b = [r["initiation"] for r in b["reps"]]
    shifts = [
        abs(x[k] - y[k])
        for x, y in zip(a["reps"], b["reps"], strict=False)
        for k in ("hip_onset_s", "knee_onset_s")
        if x[k] is not None and y[k] is not None
    ]
    handoff = f"frame {int(differs[0])}" if differs.size else "none (one continuous pass throughout)"
    return (
        f"two workers vs one: handoff at {handoff}; body landmarks differ by median "
        f"{np.nanmedian(distance):.2f} px, 95th percentile {np.nanpercentile(distance, 95):.2f} px; "
        f"reps {len(calls_b)} vs {len(calls_a)}; calls {'identical' if calls_a == calls_b else 'DIFFER'} "
        f"({', '.join(calls_b)}); largest onset shift {max(shifts, default=0.0) * 1000:.0f} ms"
    )


def median_run(runs: list[Run]) -> Run:
    first = runs[0]
    return Run(
        first.variant,
        first.clip,
        statistics.median(r.wall_s for r in runs),
        statistics.median(r.cpu_s for r in runs),
        max(r.peak_rss_mib for r in runs),
        first.frames,
    )


def table(rows: list[Run], bare_wall: float) -> str:
    lines = [
        "| variant | clip | frames | wall s | frames/s | x bare time | CPU cores used | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.variant} | {r.clip} | {r.frames} | {r.wall_s:.2f} | {r.fps:.1f} | "
            f"{r.wall_s / bare_wall:.2f} | {r.cores:.2f} | {r.peak_rss_mib:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loops", type=int, default=8, help="copies of the clip in the long video")
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    if not args.clip.is_file():
        raise SystemExit(f"clip not found: {args.clip} (the real clips live in ../shared/data)")

    with tempfile.TemporaryDirectory(prefix="kneefix-bench-") as scratch:
        tmp = Path(scratch)
        frames = count_frames(args.clip)
        commands = variants(args.clip, tmp)
        rounds: dict[str, list[Run]] = {name: [] for name in commands}
        ratios: dict[str, list[float]] = {name: [] for name in commands}
        for repeat in range(args.repeats):
            results = {name: measure(name, cmd, args.clip, frames) for name, cmd in commands.items()}
            for name, run in results.items():
                rounds[name].append(run)
                ratios[name].append(run.wall_s / results["bare"].wall_s)
            print(f"round {repeat + 1}: " + ", ".join(f"{n} {r.wall_s:.1f}s" for n, r in results.items()))

        comparison = same_results(tmp / "one", tmp / "a")
        long_clip = looped_copy(args.clip, args.loops, tmp / "long.mp4")
        long_frames = count_frames(long_clip)
        long_commands = variants(long_clip, tmp / "long")
        long_runs = [
            measure(name, long_commands[name], long_clip, long_frames) for name in ("bare", "analyze")
        ]

    rows = [median_run(rounds[name]) for name in commands]
    bare_wall = rows[1].wall_s
    print()
    print(f"Clip: {args.clip.name}, {frames} frames; medians of {args.repeats} interleaved rounds.")
    print(table(rows, bare_wall))
    print()
    print("Time relative to the bare MediaPipe loop, median of per-round ratios:")
    for name, values in ratios.items():
        print(f"  {name:14s} {statistics.median(values):.2f}")
    print()
    print(f"Same results: {comparison}")
    print()
    print(f"Long clip: the same clip looped {args.loops}x = {long_frames} frames, one run each.")
    print(table(long_runs, long_runs[0].wall_s))
    short_analyze = rows[3]
    print()
    print(
        f"Peak memory of `analyze`: {short_analyze.peak_rss_mib:.0f} MiB for {frames} frames, "
        f"{long_runs[1].peak_rss_mib:.0f} MiB for {long_frames} frames."
    )
    if args.json_out:
        payload = {
            "clip": args.clip.name,
            "rows": [asdict(r) | {"fps": r.fps, "cores": r.cores} for r in rows],
            "ratios_to_bare": {n: statistics.median(v) for n, v in ratios.items()},
            "long": [asdict(r) | {"fps": r.fps, "cores": r.cores} for r in long_runs],
            "same_results": comparison,
        }
        args.json_out.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
