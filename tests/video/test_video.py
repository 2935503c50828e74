"""Decoding: rotation, timestamps, splitting a clip between processes, and damaged or wrong files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from kneefix.errors import VideoError
from kneefix.motion.video import DecodeNotes, iter_frames, probe
from tests.video import media

PORTRAIT = "videos/squat_side/squat_side_lnewco_ohs_p1_good_7026.mov"
LANDSCAPE = "videos/squat_side/squat_side_yuyoujiang_bodyweight_room.mp4"


def manifest_entry(shared_data: Path, relative: str) -> dict[str, Any]:
    entries = json.loads((shared_data / "manifest.json").read_text())["videos"]
    entry: dict[str, Any] = next(e for e in entries if e["path"] == relative)
    return entry


def test_real_portrait_clip_decodes_upright_with_every_frame(shared_data: Path) -> None:
    info = probe(shared_data / PORTRAIT)
    assert (info.width, info.height, info.rotation, info.codec) == (1080, 1920, 0, "h264")
    frames = list(iter_frames(info))
    assert len(frames) == manifest_entry(shared_data, PORTRAIT)["n_frames"]
    assert all(f.rgb.shape == (1920, 1080, 3) and f.rgb.dtype == np.uint8 for f in frames)
    assert [f.index for f in frames] == list(range(len(frames)))


@pytest.mark.parametrize("display_rotation", [90, -90, 180])
def test_display_rotation_is_undone(shared_data: Path, tmp_path: Path, display_rotation: int) -> None:
    """A real portrait clip re-stored as a phone stores it (turned pixels + display matrix) comes back
    upright: the same pixels as the original, not a mirrored or upside-down picture."""
    upright = [frame[::4, ::4] for frame in media.read_frames(shared_data / PORTRAIT, limit=6)]
    clip = media.stored_rotated(upright, tmp_path / "phone.mp4", display_rotation)
    info = probe(clip)
    assert (info.width, info.height) == (upright[0].shape[1], upright[0].shape[0])
    assert info.stored_width != info.width or display_rotation == 180
    decoded = [f.rgb for f in iter_frames(info)]
    assert len(decoded) == len(upright)
    for got, want in zip(decoded, upright, strict=True):
        right = np.abs(got.astype(int) - want.astype(int)).mean()
        upside_down = np.abs(np.rot90(got, 2).astype(int) - want.astype(int)).mean()
        assert right < 6, f"decoded frame differs from the upright original (mean error {right:.1f})"
        assert upside_down > 3 * right


def test_timestamps_come_from_the_frames_not_the_nominal_rate(tmp_path: Path) -> None:
    """A variable-rate clip: irregular gaps, a dropped frame, a burst; times must be the frames' own."""
    times = [0.0, 0.033, 0.066, 0.1, 0.2, 0.233, 0.25, 0.3, 0.45, 0.483, 0.5, 0.6]
    clip = media.moving_square(tmp_path / "vfr.mp4", len(times), times)
    got = [f.time_s for f in iter_frames(probe(clip))]
    np.testing.assert_allclose(got, times, atol=1e-3)


@pytest.mark.parametrize(
    "relative",
    [
        "videos/squat_side/squat_side_sagor_deep_bodyweight.mp4",
        "videos/squat_side/squat_side_lnewco_ohs_p2_good_7051.mov",
        "videos/squat_side/squat_side_romlevi_home_oblique.mp4",
    ],
)
def test_real_variable_rate_clips_keep_their_timing(shared_data: Path, relative: str) -> None:
    entry = manifest_entry(shared_data, relative)
    times = np.array([f.time_s for f in iter_frames(probe(shared_data / relative))])
    assert len(times) == entry["n_frames"]
    assert np.all(np.diff(times) > 0)
    average_fps = (len(times) - 1) / (times[-1] - times[0])
    assert average_fps == pytest.approx(float(entry["fps_avg"]), rel=0.005)
    nominal = np.arange(len(times)) / float(entry["fps"])
    frame_s = 1 / float(entry["fps"])
    assert np.abs(times - nominal).max() >= 0.9 * frame_s, "index / nominal fps would be a frame off"


def test_a_clip_split_between_two_processes_loses_and_repeats_nothing(shared_data: Path) -> None:
    info = probe(shared_data / LANDSCAPE)
    every = [f.time_s for f in iter_frames(info)]
    for cut in (info.duration_s / 2, 3.31, 0.5):
        first = [f.time_s for f in iter_frames(info, stop_s=cut)]
        second = [f.time_s for f in iter_frames(info, start_s=cut)]
        assert first + second == every
        assert first[-1] < cut <= second[0] + 1e-6


def test_frames_can_be_shrunk_while_decoding(shared_data: Path) -> None:
    frame = next(iter_frames(probe(shared_data / PORTRAIT), max_side=640))
    assert frame.rgb.shape == (640, 360, 3)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "clip.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe(empty)


def test_text_file_named_like_a_video(tmp_path: Path) -> None:
    notes = tmp_path / "clip.mp4"
    notes.write_text("my squat notes\n" * 50)
    with pytest.raises(VideoError, match="cannot be read as a video"):
        probe(notes)


def test_image_is_named_as_an_image(tmp_path: Path) -> None:
    picture = tmp_path / "squat.mov"
    ok, png = cv2.imencode(".png", np.zeros((32, 32, 3), dtype=np.uint8))
    assert ok
    picture.write_bytes(png.tobytes())
    with pytest.raises(VideoError, match=r"image/png.*not a video"):
        probe(picture)


def test_audio_only_file(tmp_path: Path) -> None:
    sound = media.audio_only(tmp_path / "voice.mp4")
    with pytest.raises(VideoError, match="no video stream"):
        probe(sound)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "nothing.mp4")


def test_file_cut_before_its_index(shared_data: Path, tmp_path: Path) -> None:
    stub = media.cut_copy(shared_data / LANDSCAPE, tmp_path / "stub.mp4", 0.0005)
    with pytest.raises(VideoError, match="cannot be read as a video"):
        probe(stub)


def test_file_cut_midway_keeps_what_decodes_and_says_so(shared_data: Path, tmp_path: Path) -> None:
    full = probe(shared_data / LANDSCAPE)
    half = media.cut_copy(shared_data / LANDSCAPE, tmp_path / "half.mp4", 0.5)
    notes = DecodeNotes()
    frames = list(iter_frames(probe(half), notes=notes))
    assert 0 < len(frames) < full.frame_count
    assert notes.damaged_at_s is not None and notes.damaged_at_s == pytest.approx(frames[-1].time_s)
    assert any("cut short" in warning for warning in notes.warnings)


def test_a_second_half_past_a_cut_short_end_adds_no_false_note(shared_data: Path, tmp_path: Path) -> None:
    """Two workers split by the header's duration; the half after the real end decodes nothing."""
    short = probe(media.cut_copy(shared_data / LANDSCAPE, tmp_path / "short.mp4", 0.15))
    first, second = DecodeNotes(), DecodeNotes()
    halfway = short.duration_s / 2
    frames = list(iter_frames(short, stop_s=halfway, notes=first))
    assert frames and any("cut short" in warning for warning in first.warnings)
    assert list(iter_frames(short, start_s=halfway, notes=second)) == []
    assert second.warnings == []


def test_complete_file_has_no_damage_note(shared_data: Path) -> None:
    notes = DecodeNotes()
    for _ in iter_frames(probe(shared_data / LANDSCAPE), notes=notes):
        pass
    assert notes.warnings == [] and notes.damaged_at_s is None


def test_animated_gif_is_read_as_a_clip(tmp_path: Path) -> None:
    gif = tmp_path / "squat.gif"
    container = av.open(str(gif), "w", format="gif")
    stream = container.add_stream("gif", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb8"
    for i in range(6):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    times = [f.time_s for f in iter_frames(probe(gif))]
    np.testing.assert_allclose(times, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-6)
