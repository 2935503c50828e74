"""The demonstration images: served to anyone (programme content), cached, and a clear 404 for an
exercise that does not exist."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient


def test_the_animation_and_the_key_poses_are_svg_images(client: TestClient) -> None:
    animated = client.get("/exercises/seated_leg_extension_2/demo.svg")
    assert animated.status_code == 200
    assert animated.headers["content-type"].startswith("image/svg+xml")
    assert "max-age" in animated.headers["cache-control"]
    words = " ".join(ET.fromstring(animated.text).itertext())
    assert "<animate" in animated.text and "two o'clock" in words
    still = client.get("/exercises/seated_leg_extension_2/still.svg")
    assert still.status_code == 200 and "<animate" not in still.text
    viewbox = ET.fromstring(animated.text).get("viewBox")
    assert viewbox and ET.fromstring(still.text).get("viewBox") == viewbox  # same size: no layout shift
    poses = client.get("/exercises/seated_leg_extension_2/poses.svg")
    assert poses.status_code == 200 and "<animate" not in poses.text
    assert poses.text.count('data-pose="') >= 3


def test_an_unknown_exercise_has_no_picture(client: TestClient) -> None:
    response = client.get("/exercises/moonwalk/demo.svg")
    assert response.status_code == 404
    assert "moonwalk" in response.text
