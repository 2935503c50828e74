"""Reading the programme's content for a person: education pages, exercises and the content check.

The CLI and the web pages both show these, so lookups by a typed topic and the rule that guideline
additions hide with their module live here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from kneefix.content.loader import Content, ContentProblem, check_content
from kneefix.content.schemas import STEP_ORDER, Exercise
from kneefix.content.schemas_screening import EducationPage
from kneefix.errors import InputError, NotFoundError


def education_pages(content: Content, guideline_additions: bool = True) -> list[EducationPage]:
    """Pages in reading order; those of a switched-off module are left out."""
    pages = [
        page
        for page in content.education.values()
        if guideline_additions or page.module != "guideline_additions"
    ]
    return sorted(pages, key=lambda page: (page.order, page.id))


def find_education(content: Content, topic: str) -> EducationPage:
    """The page a person means by ``topic``: its id, or a unique start of its id or title."""
    wanted = topic.strip().lower().replace("-", "_").replace(" ", "_")
    pages = education_pages(content)
    for page in pages:
        if page.id == wanted:
            return page
    matches = [
        page
        for page in pages
        if page.id.startswith(wanted) or page.title.lower().replace(" ", "_").startswith(wanted)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        matches = [
            page for page in pages if wanted in page.id or wanted in page.title.lower().replace(" ", "_")
        ]
        if len(matches) == 1:
            return matches[0]
    known = ", ".join(page.id for page in pages)
    if matches:
        candidates = ", ".join(page.id for page in matches)
        raise NotFoundError(f"'{topic}' matches several education pages ({candidates}); name one of them.")
    raise NotFoundError(f"There is no education page '{topic}'. Pages: {known}.")


def exercises_in_order(content: Content) -> list[Exercise]:
    """Every exercise, grouped by the article's step order, then by name."""
    return sorted(content.exercises.values(), key=lambda item: (STEP_ORDER.index(item.step), item.name))


def find_exercise(content: Content, exercise_id: str) -> Exercise:
    try:
        return content.exercises[exercise_id]
    except KeyError:
        raise NotFoundError(
            f"There is no exercise '{exercise_id}'. `kneefix exercises` lists them all."
        ) from None


def content_problems(root: Path | None = None) -> list[ContentProblem]:
    """Every problem in a content folder (the packaged one by default), each with file and field."""
    if root is not None and not root.is_dir():
        return [ContentProblem(str(root), "", "is not a folder of content files")]
    return check_content(root)


DEMO_FORMATS = (".png", ".svg")


DemoKind = Literal["animated", "still", "poses"]


def demonstration_svg(exercise: Exercise, kind: DemoKind = "animated") -> str:
    """The exercise's demonstration as SVG: animated, a still of the animation (its first pose, the
    same size), or its key poses side by side."""
    from kneefix.motion.demo_render import animated_svg, strip_svg

    if exercise.demo is None:  # content check requires one; a custom content folder may lack it
        raise NotFoundError(f"{exercise.name} has no demonstration in its content file.")
    if kind == "poses":
        return strip_svg(exercise.demo, exercise.name)
    return animated_svg(exercise.demo, exercise.name, moving=kind == "animated")


def write_demonstration(exercise: Exercise, out_path: Path) -> Path:
    """Write the key poses as a PNG strip or a (static, side by side) SVG, chosen by the file suffix;
    written to a temporary name first, so a failed write leaves no half file."""
    suffix = out_path.suffix.lower()
    if suffix not in DEMO_FORMATS:
        raise InputError(f"{out_path.name}: choose a .png or .svg file name for the demonstration.")
    if exercise.demo is None:
        raise NotFoundError(f"{exercise.name} has no demonstration in its content file.")
    if not out_path.parent.is_dir():
        raise InputError(f"{out_path.parent} is not a folder; create it first.")
    partial = out_path.with_name(f".{out_path.name}.part")
    try:
        if suffix == ".png":
            from kneefix.motion.demo_render import strip_png

            strip_png(exercise.demo, exercise.name, partial)
        else:
            partial.write_text(demonstration_svg(exercise, "poses"), encoding="utf-8")
        partial.replace(out_path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(f"Could not write {out_path}: {error.strerror or error}.") from error
    return out_path
