"""Reading the programme's content for a person: education pages, exercises and the content check.

The CLI and the web pages both show these, so lookups by a typed topic and the rule that guideline
additions hide with their module live here once.
"""

from __future__ import annotations

from pathlib import Path

from kneefix.content.loader import Content, ContentProblem, check_content
from kneefix.content.schemas import STEP_ORDER, Exercise
from kneefix.content.schemas_screening import EducationPage
from kneefix.errors import NotFoundError


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
