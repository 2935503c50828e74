"""The bad-input corpus: huge videos, broken landmark CSVs, files whose name and content disagree.

Issue 11 (ASVS 5.1.3/5.1.4 input validation, 12.1.1 file size/resource limits). For every case: a clear
message naming what is wrong (the size; the line and column), no traceback, and nothing lost (the input
untouched, nothing stored). The 8192x8192 clip is a committed 194 KB file (encoding it takes ~3 s and
900 MB); every other clip is made here in a fraction of a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from kneefix import limits
from kneefix.errors import VideoError
from kneefix.motion import video
from kneefix.motion.landmarks_csv import read_landmarks_csv, write_landmarks_csv
from kneefix.motion.pipeline import POSE_MAX_SIDE, video_to_landmarks
from kneefix.services import uploads
from kneefix.storage.files import FolderStore
from tests.cli.helpers import Kneefix, assert_clean_error
from tests.motion.synthetic import RepSpec, squat_clip
from tests.video.fakes import SquareTracker
from tests.video.media import moving_square

HUGE = Path(__file__).parent / "data" / "huge_8192x8192.mp4"
REPO = Path(__file__).resolve().parents[2]

# ----- huge videos ---------------------------------------------------------------------------------

MEASURE_PROBE = """
import resource, sys
from kneefix.errors import VideoError
from kneefix.motion.video import probe
import av, filetype, numpy
def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = peak_mib()
try:
    probe(sys.argv[1])
    print("accepted")
except VideoError as error:
    print(error)
print(peak_mib() - before)
"""


def test_huge_frames_are_refused_from_the_header_before_decoding() -> None:
    """Issue 11 ("a 199 KB 8192x8192 video took the server from 288 MB to 1.6 GB"): the clip is refused
    with its size named, and refusing it adds under 40 MB to the process's peak (one decoded frame of
    it is 100 MB; before the fix opening the file alone added ~160 MB)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_PROBE, str(HUGE)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": ""},
    )
    message, added_mib = done.stdout.strip().splitlines()
    assert "its frames are 8192x8192 pixels (67.1 megapixels)" in message
    assert "at most 8192 pixels on a side and 40 megapixels" in message
    assert float(added_mib) < 40, f"refusing the huge clip added {added_mib} MiB"


def test_huge_video_is_refused_by_kneefix_analyze(kneefix: Kneefix, tmp_path: Path) -> None:
    """Issue 11: the CLI shows the refusal (exit 2, no traceback) and writes no output folder."""
    out = tmp_path / "out"
    result = kneefix("analyze", str(HUGE), "-m", "squat", "--out", str(out), "--quiet")
    assert_clean_error(result, "huge_8192x8192.mp4", "8192x8192 pixels", "Record at 4K or less")
    assert not out.exists() or not any(out.iterdir())


def test_huge_video_is_refused_at_upload_and_nothing_is_kept(tmp_path: Path) -> None:
    """Issue 11: the web upload's service (``store_upload``, what the upload page and the API call)
    refuses it with the size named, before queuing, and keeps no file, not even the draft."""
    store = FolderStore(tmp_path / "data")
    with HUGE.open("rb") as source, pytest.raises(VideoError) as caught:
        uploads.store_upload(source, store, 1, max_bytes=10_000_000, filename="huge.mp4")
    assert str(caught.value).startswith("That video cannot be analysed: its frames are 8192x8192 pixels")
    assert ".draft" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


class _Recording(SquareTracker):
    """The square tracker, noting the size of every frame the pose model is given."""

    def __init__(self, shapes: list[tuple[int, ...]]) -> None:
        self.shapes = shapes

    def process(self, rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
        self.shapes.append(rgb.shape)
        return super().process(rgb)


def _square_frames(width: int, height: int, count: int) -> list[NDArray[np.uint8]]:
    """A bright square at the same place *relative to the picture* whatever its resolution."""
    frames = []
    for i in range(count):
        img = np.zeros((height, width, 3), dtype=np.uint8)
        left, top = round((0.3 + 0.05 * i) * width), round(0.4 * height)
        img[top : top + height // 8, left : left + width // 8] = 255
        frames.append(img)
    return frames


def _encode(path: Path, frames: list[NDArray[np.uint8]]) -> Path:
    """H.264 at x264's fastest preset (the default one takes ~4x as long on 2560x1440)."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_a_larger_than_1080p_clip_is_posed_scaled_down_and_reported_in_its_own_pixels(tmp_path: Path) -> None:
    """Issue 11 ("cap the decoded resolution"): a 2560x1440 clip reaches the pose model at most 1920 px
    wide, and its landmarks come back in the clip's own 2560x1440 pixels, matching those of its
    1920x1080 twin scaled by 4/3."""
    big = _encode(tmp_path / "big.mp4", _square_frames(2560, 1440, 2))
    twin = _encode(tmp_path / "twin.mp4", _square_frames(1920, 1080, 2))
    shapes: list[tuple[int, ...]] = []
    series, _ = video_to_landmarks(big, lambda: _Recording(shapes), workers=0)
    twin_series, _ = video_to_landmarks(twin, SquareTracker, workers=0)

    assert shapes and all(shape == (1080, 1920, 3) for shape in shapes) and POSE_MAX_SIDE == 1920
    assert (series.width, series.height) == (2560, 1440)
    assert (twin_series.width, twin_series.height) == (1920, 1080)
    np.testing.assert_allclose(series.xy[:, 0], twin_series.xy[:, 0] * 4 / 3, atol=2.0)
    assert series.xy[0, 0, 0] > 1920 * 0.3 * 4 / 3 - 5  # in the big clip's pixels, not the pose input's


def test_too_long_a_video_is_refused_from_the_header_and_while_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 ("refuse absurd frame counts/durations up front"): a header counting more frames than
    the limit is refused before decoding; a header that under-counts is caught on the frame that
    passes the limit."""
    clip = moving_square(tmp_path / "clip.mp4", 4)
    monkeypatch.setattr(limits, "VIDEO_MAX_FRAMES", 3)
    with pytest.raises(video.VideoLimitError, match="it has 4 frames; kneefix analyses at most 3"):
        video.probe(clip)
    monkeypatch.setattr(limits, "VIDEO_MAX_FRAMES", 10)
    info = video.probe(clip)
    monkeypatch.setattr(limits, "VIDEO_MAX_FRAMES", 2)
    decoded: list[video.DecodedFrame] = []
    with pytest.raises(video.VideoLimitError, match="it has 3 frames"):
        decoded.extend(video.iter_frames(info))
    assert len(decoded) == 2
    monkeypatch.setattr(limits, "VIDEO_MAX_DURATION_S", 0.05)
    with pytest.raises(
        video.VideoLimitError, match=r"it runs 0\.0 minutes; kneefix analyses at most 0 minutes"
    ):
        video.probe(clip)


def test_large_frames_get_fewer_decoder_threads() -> None:
    """Issue 11: frame threads hold a frame each; 8K frames get at most the budget's worth."""
    assert video._decoder_threads(3840, 2160, cores=16) == 0  # FFmpeg's own choice
    threads = video._decoder_threads(7680, 4320, cores=16)
    assert threads >= 1 and threads * 7680 * 4320 * 3 // 2 <= video.DECODE_BUDGET_BYTES


# ----- landmark CSVs ---------------------------------------------------------------------------------

REPS = [RepSpec(hip_onset=0.5, knee_onset=0.7, bottom=1.3, hold=0.1, rise=0.7, hip_peak=95, knee_peak=100)]


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "landmarks.csv"
    write_landmarks_csv(squat_clip(REPS, np.random.default_rng(3)).series, path)
    return path


def _edited(good: Path, target: Path, line: int, column: str, value: str) -> Path:
    """``good`` with one cell changed (``line`` counts from 1, the header being line 1)."""
    lines = good.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _renamed(good: Path, target: Path) -> Path:
    target.write_bytes(good.read_bytes())
    return target


def _times_in_ms(good: Path, target: Path) -> Path:
    lines = good.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for row in lines[1:]:
        cells = row.split(",")
        cells[1] = f"{float(cells[1]) * 1000:.3f}"
        out.append(",".join(cells))
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


MakeCsv = Callable[[Path, Path], Path]
BAD_CSVS: dict[str, tuple[MakeCsv, str]] = {
    "negative time": (
        lambda g, t: _edited(g, t, 2, "time_s", "-0.5"),
        "line 2, column time_s: -0.5 is negative",
    ),
    "time going back": (
        lambda g, t: _edited(g, t, 5, "time_s", "0.01"),
        "line 5, column time_s: times must increase from row to row (0.01 s after",
    ),
    "duplicated frame": (
        lambda g, t: _edited(g, t, 4, "frame", "1"),
        "line 4, column frame: frame 1 again (line 3 has it too)",
    ),
    "frames going back": (
        lambda g, t: _edited(g, t, 6, "frame", "2"),
        "line 6, column frame: frame numbers must increase from row to row (frame 2 after frame 3",
    ),
    "milliseconds": (_times_in_ms, "the times look like milliseconds"),
    "NaN coordinate": (
        lambda g, t: _edited(g, t, 3, "left_knee_x", "nan"),
        "line 3, column left_knee_x: 'nan' is not a finite number",
    ),
    "infinite coordinate": (
        lambda g, t: _edited(g, t, 3, "left_knee_y", "-inf"),
        "line 3, column left_knee_y: '-inf' is not a finite number",
    ),
    "CSV named .mp4": (
        lambda g, t: _renamed(g, t.with_suffix(".mp4")),
        "this .mp4 file is text, not a video; its first line looks like a CSV header. Landmark CSVs "
        "must end in .csv",
    ),
    "video named .csv": (
        lambda g, t: moving_square(t, 3),
        "this .csv file is not text (it holds a video/mp4 file); landmark CSVs are text",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_bad_landmark_csv_is_refused_by_kneefix_analyze(
    kneefix: Kneefix, good_csv: Path, tmp_path: Path, case: str
) -> None:
    """Issue 11 ("times in milliseconds, negative times or duplicated frame numbers are accepted and
    give absurd reports"; "a text file renamed .mp4 ... is treated as a CSV without saying so"): exit 2,
    the file, line and column named, no traceback, the file untouched."""
    make, expected = BAD_CSVS[case]
    bad = make(good_csv, tmp_path / "bad.csv")
    before = bad.read_bytes()
    result = kneefix("analyze", str(bad), "-m", "squat", "--json")
    assert_clean_error(result, bad.name, expected)
    assert bad.read_bytes() == before
    assert result.stdout.strip() == "" or "error" in json.loads(result.stdout)


def test_the_csv_reader_streams(good_csv: Path, tmp_path: Path) -> None:
    """Issue 11 ("the reader needs ~22x the file's size in memory"): a 150-frame CSV is read with a
    traced peak under 5x its size (the list-of-rows reader peaked at ~10x; bench/csv_memory.py)."""
    lines = good_csv.read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in lines[1:]]
    step = 1 / 30
    with (tmp_path / "long.csv").open("w", encoding="utf-8") as handle:
        handle.write(lines[0] + "\n")
        for i in range(150):
            cells = rows[i % len(rows)]
            handle.write(",".join([str(i), f"{i * step:.6f}", *cells[2:]]) + "\n")
    size = (tmp_path / "long.csv").stat().st_size
    read_landmarks_csv(good_csv)  # anything imported or cached on a first read is not the reader's
    for thread in threading.enumerate():  # an earlier analyze's background imports would count too
        if thread.name == "kneefix-preload":
            thread.join()
    tracemalloc.start()
    try:
        series = read_landmarks_csv(tmp_path / "long.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(series) == 150
    assert peak < 5 * size, f"peak {peak / size:.1f}x the file's size"
