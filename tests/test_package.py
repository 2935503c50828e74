"""The package imports and its shared types hold their contracts."""

from kneefix.motion.types import LANDMARK_INDEX, LANDMARK_NAMES


def test_blazepose_has_33_landmarks_in_mediapipe_order() -> None:
    assert len(LANDMARK_NAMES) == 33
    assert LANDMARK_NAMES[0] == "nose"
    assert LANDMARK_INDEX["left_hip"] == 23
    assert LANDMARK_INDEX["right_foot_index"] == 32
