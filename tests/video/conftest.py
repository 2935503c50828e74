"""Fixtures for the video tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.video.clips import ClipResult, landmarks_of_every_clip


@pytest.fixture(scope="session")
def clip_landmarks(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClipResult]:
    """Landmarks of every real clip, computed once per session (see ``clips.py``)."""
    session_tmp = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session_tmp = session_tmp.parent  # shared by the workers of this session only
    return landmarks_of_every_clip(shared_data, session_tmp)
