"""Peak memory of reading a landmark CSV, as a multiple of the file's size.

The reader once held every cell as a Python string (a list of row lists) before parsing: ~22x the
file's size. It now streams rows into arrays sized from the line count. This writes a synthetic landmark
CSV of ``--frames`` rows (every landmark present, as ``write_landmarks_csv`` writes them), then reads it
in a fresh process per variant and prints the peak resident size added by the read (``ru_maxrss``
after the read minus before it, imports done first) and the tracemalloc peak of the read itself:

* ``reader``: ``read_landmarks_csv`` (what ``kneefix analyze file.csv`` uses);
* ``rows``: ``read_csv_rows`` alone, every cell as a string (what the old reader did before parsing,
  and what ``kneefix landmarks convert`` still does for other tools' tables).

Run: ``.venv/bin/python bench/csv_memory.py [--frames 20000]``. Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, tracemalloc
from pathlib import Path
from kneefix.motion.landmarks_csv import read_csv_rows, read_landmarks_csv
variant, path = sys.argv[1], Path(sys.argv[2])
def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = rss_mib()
result = read_landmarks_csv(path) if variant == "reader" else read_csv_rows(path)
after = rss_mib()
del result
tracemalloc.start()
result = read_landmarks_csv(path) if variant == "reader" else read_csv_rows(path)
peak = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps({"rss_added_mib": after - before, "traced_peak_mib": peak}))
"""


def write_csv(path: Path, frames: int) -> None:
    import numpy as np

    from kneefix.motion.landmarks_csv import write_landmarks_csv
    from kneefix.motion.types import LANDMARK_NAMES, LandmarkSeries

    rng = np.random.default_rng(0)
    m = len(LANDMARK_NAMES)
    xy = 200 + 600 * rng.random((frames, m, 2))
    series = LandmarkSeries(
        frame=np.arange(frames, dtype=np.int64),
        time_s=np.arange(frames) / 30.0,
        xy=xy,
        z=rng.normal(0, 100, (frames, m)),
        visibility=rng.random((frames, m)),
        width=1000,
        height=1000,
        source="bench",
    )
    write_landmarks_csv(series, path)


def measure(variant: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, variant, str(path)], check=True, capture_output=True, text=True
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "landmarks.csv"
        write_csv(path, args.frames)
        size_mib = path.stat().st_size / 2**20
        print(f"landmark CSV: {args.frames} frames, {size_mib:.1f} MiB")
        print(f"{'variant':<8} {'RSS added MiB':>14} {'x file':>7} {'traced peak MiB':>16} {'x file':>7}")
        for variant in ("reader", "rows"):
            figures = measure(variant, path)
            rss, traced = figures["rss_added_mib"], figures["traced_peak_mib"]
            print(
                f"{variant:<8} {rss:>14.1f} {rss / size_mib:>7.1f} {traced:>16.1f} {traced / size_mib:>7.1f}"
            )


if __name__ == "__main__":
    main()
