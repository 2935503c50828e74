"""Fixtures for the video tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.video.clips import ClipResult, landmarks_of_every_clip, long_clips_on_two_workers


@pytest.fixture(scope="session")
def clip_landmarks(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClipResult]:
    """Landmarks of every real clip, computed once per session (see ``clips.py``)."""
    return landmarks_of_every_clip(shared_data, _cache_folder(tmp_path_factory))


@pytest.fixture(scope="session")
def two_worker_landmarks(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, clip_landmarks: dict[str, ClipResult]
) -> dict[str, ClipResult]:
    """Landmarks of every long clip through the two-worker path, once per session."""
    return long_clips_on_two_workers(shared_data, _cache_folder(tmp_path_factory))


def _cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared temporary folder, or ``KNEEFIX_CLIP_CACHE`` when a developer sets it to keep
    the landmarks between runs while changing only the analysis (CI never sets it)."""
    kept = os.environ.get("KNEEFIX_CLIP_CACHE")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    session_tmp = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session_tmp = session_tmp.parent  # shared by the workers of this session only
    return session_tmp
