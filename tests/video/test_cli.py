"""``kneefix analyze`` / ``kneefix landmarks`` as a person meets them: clear messages, clean stdout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kneefix.cli.app import app
from kneefix.errors import InputError
from kneefix.motion.landmarks_csv import write_landmarks_csv
from kneefix.services.technique import input_kind, merge_warnings
from tests.motion.synthetic import RepSpec, squat_clip
from tests.video import media

runner = CliRunner()

REPS = [
    RepSpec(hip_onset=1.0, knee_onset=1.3, bottom=2.1, hold=0.1, rise=0.9, hip_peak=100, knee_peak=105),
    RepSpec(hip_onset=4.0, knee_onset=3.85, bottom=5.0, hold=0.0, rise=0.9, hip_peak=95, knee_peak=110),
]


@pytest.fixture(scope="module")
def landmark_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic squat landmarks with known reps, in the public CSV format."""
    path = tmp_path_factory.mktemp("csv") / "squat_landmarks.csv"
    write_landmarks_csv(squat_clip(REPS, np.random.default_rng(11)).series, path)
    return path


def analyze(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def assert_clear_failure(code: int, stdout: str, stderr: str, *phrases: str) -> None:
    assert code != 0
    assert "Traceback" not in stdout + stderr
    message = " ".join(stderr.split())  # Rich may wrap long lines
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in: {message}"


def test_text_file_is_not_a_video(tmp_path: Path) -> None:
    notes = tmp_path / "squat.mp4"
    notes.write_text("I did three sets of squats today\n")
    assert_clear_failure(*analyze(str(notes), "-m", "squat", "--quiet"), "cannot be read as a video")


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "squat.mov"
    empty.touch()
    assert_clear_failure(*analyze(str(empty), "-m", "squat"), "empty")


def test_missing_file(tmp_path: Path) -> None:
    assert_clear_failure(*analyze(str(tmp_path / "nope.mp4"), "-m", "squat"), "no such file")


def test_truncated_video(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "videos/squat_side/squat_side_yuyoujiang_bodyweight_room.mp4"
    stub = media.cut_copy(source, tmp_path / "cut.mp4", 0.001)
    assert_clear_failure(*analyze(str(stub), "-m", "squat", "--quiet"), "cut short", "cut.mp4")


def test_csv_with_missing_columns(tmp_path: Path) -> None:
    partial = tmp_path / "landmarks.csv"
    partial.write_text("frame,time_s,nose_x,nose_y\n0,0.0,10,20\n1,0.033,11,21\n")
    assert_clear_failure(
        *analyze(str(partial), "-m", "squat"), "landmarks.csv", "missing 130 column(s)", "nose_z"
    )


def test_unknown_movement_is_refused(landmark_csv: Path) -> None:
    code, _, stderr = analyze(str(landmark_csv), "-m", "lunge")
    assert code == 2 and "lunge" in stderr


def test_out_that_is_a_file_is_refused_before_any_work(landmark_csv: Path, tmp_path: Path) -> None:
    occupied = tmp_path / "results"
    occupied.write_text("keep me")
    assert_clear_failure(*analyze(str(landmark_csv), "-m", "squat", "--out", str(occupied)), "not a folder")
    assert occupied.read_text() == "keep me"


def test_json_prints_the_report_and_nothing_else(landmark_csv: Path, tmp_path: Path) -> None:
    code, stdout, _ = analyze(str(landmark_csv), "-m", "squat", "--json", "--out", str(tmp_path / "out"))
    assert code == 0
    report = json.loads(stdout)
    assert report["movement"] == "squat" and len(report["reps"]) == 2
    assert report["source"] == "squat_landmarks.csv"
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk == report
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["angles.csv", "angles.mot", "angles.png", "landmarks.csv", "report.json"]


def test_summary_table_without_json(landmark_csv: Path) -> None:
    code, stdout, _ = analyze(str(landmark_csv), "-m", "squat", "--quiet")
    assert code == 0
    assert "Reps" in stdout and "started" in stdout and "hips" in stdout and "knees" in stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(stdout)


def test_landmarks_to_a_missing_folder(tmp_path: Path) -> None:
    clip = media.moving_square(tmp_path / "clip.mp4", 5)
    result = runner.invoke(app, ["landmarks", str(clip), "-o", str(tmp_path / "no" / "such" / "x.csv")])
    assert_clear_failure(result.exit_code, result.stdout, result.stderr, "does not exist")


def test_input_kind_is_decided_by_content_and_name_together(landmark_csv: Path, tmp_path: Path) -> None:
    """Issue 11: a landmark CSV renamed .mp4 (or a video renamed .csv) is refused, not silently read as
    the other kind (this test used to expect exactly that silent switch)."""
    assert input_kind(landmark_csv) == "landmarks"
    assert input_kind(media.moving_square(tmp_path / "clip.mp4", 3)) == "video"
    disguised = tmp_path / "clip.mp4"
    disguised.write_bytes(landmark_csv.read_bytes())
    with pytest.raises(InputError, match=r"this \.mp4 file is text, not a video.*must end in \.csv"):
        input_kind(disguised)
    video = media.moving_square(tmp_path / "landmarks.csv", 3)
    with pytest.raises(InputError, match=r"this \.csv file is not text \(it holds a video/mp4 file\)"):
        input_kind(video)


def test_one_problem_gets_one_warning() -> None:
    pipeline = ["Part of the body is outside the picture: ankles and feet (40% of frames). ..."]
    analysis = [
        "The person is partly out of frame or hidden (left heel hidden in 21% of frames). ...",
        "This looks like a front view. ...",
    ]
    assert merge_warnings(pipeline, analysis) == [pipeline[0], analysis[1]]
    assert merge_warnings([], analysis) == analysis


def test_a_rerun_replaces_the_files_and_leaves_no_scraps(landmark_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    assert analyze(str(landmark_csv), "-m", "squat", "--out", str(out), "--quiet")[0] == 0
    assert json.loads((out / "report.json").read_text())["movement"] == "squat"
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / ".partial").exists()
    assert (out / "angles.mot").read_text().splitlines()[0] == "angles"
