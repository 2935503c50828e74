"""Exercise demonstrations as images: the animated figure, a still of it, and its key poses side by side.

Pages embed them with ``<picture>``: the key-pose strip is the source for
``prefers-reduced-motion: reduce``; otherwise the still, which ``demo.js`` swaps for the animation (the
same size, so nothing moves on the page) while it is on the screen. They are programme content, the
same for everyone, so they need no sign-in and may be cached; each is drawn once per process.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Response

from kneefix.content.loader import load_content
from kneefix.services.library import DemoKind, demonstration_svg, find_exercise

router = APIRouter(include_in_schema=False)

CACHE = "public, max-age=86400"


@lru_cache(maxsize=128)
def _drawn(exercise_id: str, kind: DemoKind) -> str:
    return demonstration_svg(find_exercise(load_content(), exercise_id), kind)


def _svg(exercise_id: str, kind: DemoKind) -> Response:
    body = _drawn(exercise_id, kind)  # an unknown id is a NotFoundError: the app's 404 page
    return Response(body, media_type="image/svg+xml", headers={"Cache-Control": CACHE})


@router.get("/exercises/{exercise_id}/demo.svg")
def animated_demo(exercise_id: str) -> Response:
    return _svg(exercise_id, "animated")


@router.get("/exercises/{exercise_id}/still.svg")
def still_demo(exercise_id: str) -> Response:
    return _svg(exercise_id, "still")


@router.get("/exercises/{exercise_id}/poses.svg")
def key_poses(exercise_id: str) -> Response:
    return _svg(exercise_id, "poses")
