"""Read the programme content from its data folder, validate it, and cross-check the references.

Content is data that clinicians edit, so every problem is reported the way a person can fix it: the
file (relative to the data folder), the field path inside it, and a message. ``check_content`` collects
every problem; ``load_content`` stops at the first one with a :class:`ContentError`.

Layout of the data folder::

    equipment.yaml            list of Equipment
    exercises/<id>.yaml       one Exercise per file
    protocols/<id>.yaml       one Protocol per file
    questionnaires/<id>.yaml  one Questionnaire per file (kujala, nprs)
    red_flags.yaml            list of RedFlag
    symptoms.yaml             list of Symptom
    education/<id>.md         YAML front matter between '---' lines, then a Markdown body
    article.yaml              list of ArticleElement
    *.yaml elsewhere          read only for their ``article_refs`` (e.g. technique_cues.yaml)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from kneefix.content.schemas import ANGLE_RANGES, Change, Equipment, Exercise, Protocol
from kneefix.content.schemas_screening import (
    ArticleElement,
    EducationPage,
    Questionnaire,
    RedFlag,
    Symptom,
)
from kneefix.content.technique import TECHNIQUE_CUES_FILE, parse_technique_cues
from kneefix.content.yaml_safe import load_yaml
from kneefix.errors import ContentError

DATA_ROOT = Path(__file__).resolve().parent / "data"
REQUIRED_QUESTIONNAIRES = ("kujala", "nprs")

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class ContentProblem:
    """One thing wrong in the content; ``str()`` gives ``file: field: message``."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.file}: {self.field}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Content:
    equipment: dict[str, Equipment]
    exercises: dict[str, Exercise]
    protocols: dict[str, Protocol]
    questionnaires: dict[str, Questionnaire]
    red_flags: list[RedFlag]
    symptoms: list[Symptom]
    education: dict[str, EducationPage]
    article: list[ArticleElement]


def load_content(root: Path | None = None) -> Content:
    """The validated content; raises ContentError naming file and field of the first problem.

    The packaged content (``root=None``) is read once per process.
    """
    if root is None:
        return _load_packaged()
    return _load(root)


def check_content(root: Path | None = None) -> list[ContentProblem]:
    """Every problem in the content folder (empty when it is all sound)."""
    return _read(DATA_ROOT if root is None else root)[1]


@lru_cache(maxsize=1)
def _load_packaged() -> Content:
    return _load(DATA_ROOT)


def _load(root: Path) -> Content:
    content, problems = _read(root)
    if problems or content is None:
        first = problems[0] if problems else ContentProblem(str(root), "", "no content could be read")
        more = len(problems) - 1
        suffix = f" (and {more} more; `kneefix content check` lists them all)" if more > 0 else ""
        raise ContentError(f"{first}{suffix}")
    return content


# --- reading -----------------------------------------------------------------------------------------


_MISSING = object()


class _Reader:
    """Collects problems while reading one content folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[ContentProblem] = []
        self.raw: dict[str, Any] = {}  # relative file -> parsed data, for the article_refs walk
        self.seen: set[str] = set()  # every file parsed or tried, so none is reported twice

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def problem(self, file: str, field: str, message: str) -> None:
        self.problems.append(ContentProblem(file, field, message))

    def parse_yaml(self, path: Path, text: str | None = None) -> Any:
        file = self.rel(path)
        self.seen.add(file)
        if text is None:
            text = self.read_text(path)
            if text is None:
                return _MISSING
        try:
            data = load_yaml(text)
        except yaml.YAMLError as err:
            self.problem(file, _yaml_position(err), _yaml_message(err))
            return _MISSING
        self.raw[file] = data
        return data

    def read_text(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(self.rel(path), "", "file is missing")
        except (OSError, UnicodeDecodeError) as err:
            self.problem(self.rel(path), "", f"cannot be read: {err}")
        return None

    def validate(self, model: type[ModelT], data: Any, file: str, prefix: str = "") -> ModelT | None:
        try:
            return model.model_validate(data)
        except ValidationError as err:
            for error in err.errors():
                field = _join_loc(prefix, error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                self.problem(file, field, message)
            return None

    def list_file(self, name: str, model: type[ModelT]) -> list[ModelT]:
        path = self.root / name
        data = self.parse_yaml(path)
        if data is _MISSING:
            return []
        if not isinstance(data, list):
            self.problem(name, "", f"expected a list of {model.__name__} entries at the top level")
            return []
        items = [self.validate(model, entry, name, f"[{index}]") for index, entry in enumerate(data)]
        return [item for item in items if item is not None]

    def folder(self, name: str, model: type[ModelT], suffix: str = ".yaml") -> list[ModelT]:
        """One model per file; the file name (without suffix) must equal the model's id."""
        folder = self.root / name
        if not folder.is_dir():
            self.problem(name, "", "folder is missing")
            return []
        items: list[ModelT] = []
        paths = sorted(folder.glob(f"*{suffix}"))
        if not paths:
            self.problem(name, "", f"folder holds no {suffix} files")
        for path in paths:
            data = self.markdown(path) if suffix == ".md" else self.parse_yaml(path)
            if data is _MISSING:
                continue
            file = self.rel(path)
            if not isinstance(data, dict):
                self.problem(file, "", f"expected a mapping of {model.__name__} fields at the top level")
                continue
            item = self.validate(model, data, file)
            if item is None:
                continue
            item_id = getattr(item, "id", path.stem)
            if item_id != path.stem:
                self.problem(file, "id", f"id {item_id!r} does not match the file name {path.stem!r}")
            items.append(item)
        return items

    def markdown(self, path: Path) -> Any:
        """Front matter (YAML between the first two '---' lines) plus the rest as ``body``."""
        text = self.read_text(path)
        if text is None:
            return _MISSING
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].strip() != "---":
            self.problem(self.rel(path), "", "must start with a '---' line opening the YAML front matter")
            return _MISSING
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if closing is None:
            self.problem(self.rel(path), "", "the front matter has no closing '---' line")
            return _MISSING
        # Keep line numbers right in YAML errors by parsing the front matter in place (blank first line).
        front = self.parse_yaml(path, "\n" + "".join(lines[1:closing]))
        if front is _MISSING:
            return _MISSING
        if not isinstance(front, dict):
            self.problem(self.rel(path), "", "the front matter must be a mapping of fields")
            return _MISSING
        if "body" in front:
            self.problem(self.rel(path), "body", "the body is the Markdown after the front matter")
            return _MISSING
        return {**front, "body": "".join(lines[closing + 1 :]).strip()}


def _yaml_position(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return ""
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _yaml_message(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    parts = [str(part) for part in (context, problem) if part]
    return "YAML syntax error: " + ("; ".join(parts) if parts else str(err))


def _join_loc(prefix: str, loc: Sequence[int | str]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _read(root: Path) -> tuple[Content | None, list[ContentProblem]]:
    reader = _Reader(root)
    if not root.is_dir():
        return None, [ContentProblem(str(root), "", "content folder not found")]
    equipment = reader.list_file("equipment.yaml", Equipment)
    exercises = reader.folder("exercises", Exercise)
    protocols = reader.folder("protocols", Protocol)
    questionnaires = reader.folder("questionnaires", Questionnaire)
    red_flags = reader.list_file("red_flags.yaml", RedFlag)
    symptoms = reader.list_file("symptoms.yaml", Symptom)
    education = reader.folder("education", EducationPage, suffix=".md")
    article = reader.list_file("article.yaml", ArticleElement)
    # Other YAML files (the technique cues) count for article coverage, so parse them too.
    for path in sorted(root.rglob("*.yaml")):
        if reader.rel(path) not in reader.seen:
            reader.parse_yaml(path)
    _check_technique_cues(reader)

    content = Content(
        equipment={item.id: item for item in equipment},
        exercises={item.id: item for item in exercises},
        protocols={item.id: item for item in protocols},
        questionnaires={item.id: item for item in questionnaires},
        red_flags=red_flags,
        symptoms=symptoms,
        education={item.id: item for item in education},
        article=article,
    )
    _check_duplicates(reader, "equipment.yaml", [item.id for item in equipment])
    _check_duplicates(reader, "red_flags.yaml", [item.id for item in red_flags])
    _check_duplicates(reader, "symptoms.yaml", [item.id for item in symptoms])
    _check_duplicates(reader, "article.yaml", [item.id for item in article])
    _check_duplicates(reader, "article.yaml", [item.order for item in article], what="order")
    orders = [item.order for item in article]
    if orders != sorted(orders):
        reader.problem("article.yaml", "order", "list the article's elements in the article's order")
    _check_exercises(reader, content)
    _check_protocols(reader, content)
    _check_questionnaires(reader, content)
    _check_red_flags(reader, content)
    _check_education(reader, content)
    _check_article(reader, content)
    return content, reader.problems


# --- cross-reference checks --------------------------------------------------------------------------


def _check_duplicates(reader: _Reader, file: str, ids: Sequence[object], what: str = "id") -> None:
    for value, count in Counter(ids).items():
        if count > 1:
            reader.problem(file, what, f"{what} {value!r} is used {count} times")


def _check_exercises(reader: _Reader, content: Content) -> None:
    for exercise in content.exercises.values():
        file = f"exercises/{exercise.id}.yaml"
        for index, equipment_id in enumerate(exercise.equipment):
            if equipment_id not in content.equipment:
                reader.problem(file, f"equipment[{index}]", f"unknown equipment id {equipment_id!r}")
        for field in ("easier", "harder"):
            target = getattr(exercise, field)
            if target is None:
                continue
            if target not in content.exercises:
                reader.problem(file, field, f"unknown exercise id {target!r}")
            elif target == exercise.id:
                reader.problem(file, field, "an exercise cannot be its own variant")
        for index, substitute in enumerate(exercise.substitutes):
            where = f"substitutes[{index}]"
            if substitute.when_missing not in content.equipment:
                reader.problem(
                    file, f"{where}.when_missing", f"unknown equipment id {substitute.when_missing!r}"
                )
            elif substitute.when_missing not in exercise.equipment:
                reader.problem(
                    file,
                    f"{where}.when_missing",
                    f"{substitute.when_missing!r} is not among this exercise's equipment",
                )
            if substitute.use not in content.exercises:
                reader.problem(file, f"{where}.use", f"unknown exercise id {substitute.use!r}")
            elif substitute.use == exercise.id:
                reader.problem(file, f"{where}.use", "an exercise cannot substitute for itself")
        _check_demo(reader, file, exercise)


_CLOCK_WORDS = {"twelve o'clock": 0.0, "two o'clock": 60.0}
"""Exercise names that say where the foot points, and the outward turn (degrees) that position is."""


def _check_demo(reader: _Reader, file: str, exercise: Exercise) -> None:
    """Every exercise is demonstrated; the poses stay in anatomical range for their view; an exercise
    named for where the foot points shows the foot from above, turned to that position."""
    demo = exercise.demo
    if demo is None:
        reader.problem(file, "demo", "every exercise needs a demonstration (view, props and key poses)")
        return
    ranges = ANGLE_RANGES[demo.view]
    for index, pose in enumerate(demo.poses):
        for joint, (low, high) in ranges.items():
            for name in (joint, f"other_{joint}"):
                value = getattr(pose, name, None)
                if value is not None and not low <= value <= high:
                    reader.problem(
                        file,
                        f"demo.poses[{index}].{name}",
                        f"{value:g} deg is outside {low:g}..{high:g} for a {demo.view} view",
                    )
    name = exercise.name.lower()
    for words, turn in _CLOCK_WORDS.items():
        if words not in name:
            continue
        if not demo.foot_from_above:
            reader.problem(file, "demo.foot_from_above", f"the name says {words!r}: show the foot from above")
        if not any(abs(pose.foot_rotation - turn) < 1e-6 for pose in demo.poses):
            reader.problem(
                file, "demo.poses", f"the name says {words!r}: some pose must turn the foot to {turn:g} deg"
            )
        if turn == 0.0 and any(pose.foot_rotation != 0.0 for pose in demo.poses):
            reader.problem(file, "demo.poses", f"the name says {words!r}: the foot must not turn out")


_DOSE_TARGETS = ("reps", "sets", "hold_s", "duration_s")


def _check_protocols(reader: _Reader, content: Content) -> None:
    for protocol in content.protocols.values():
        file = f"protocols/{protocol.id}.yaml"
        _check_duplicates(reader, file, [phase.id for phase in protocol.phases], what="phases id")
        _check_duplicates(reader, file, [rule.id for rule in protocol.rules], what="rules id")
        used: set[str] = set()
        for p_index, phase in enumerate(protocol.phases):
            if phase.max_weeks is not None and phase.max_weeks < phase.min_weeks:
                reader.problem(file, f"phases[{p_index}].max_weeks", "is below min_weeks")
            for s_index, slot in enumerate(phase.slots):
                for e_index, exercise_id in enumerate(slot.exercises):
                    where = f"phases[{p_index}].slots[{s_index}].exercises[{e_index}]"
                    exercise = content.exercises.get(exercise_id)
                    if exercise is None:
                        reader.problem(file, where, f"unknown exercise id {exercise_id!r}")
                        continue
                    used.add(exercise_id)
                    if exercise.step != slot.step:
                        reader.problem(
                            file,
                            where,
                            f"{exercise_id!r} is a {exercise.step} exercise in a {slot.step} slot",
                        )
        for r_index, rule in enumerate(protocol.rules):
            if rule.then and rule.kind != "progress":
                reader.problem(file, f"rules[{r_index}].then", "only a progress rule has further steps")
            changes = [] if rule.change is None else [(f"rules[{r_index}].change", rule.change)]
            changes += [(f"rules[{r_index}].then[{t_index}]", step) for t_index, step in enumerate(rule.then)]
            for where, change in changes:
                _check_change(reader, content, file, where, change, used)
        running = protocol.return_to_running
        if running is not None:
            stages = [stage.stage for stage in running.stages]
            if stages != list(range(1, len(stages) + 1)):
                reader.problem(
                    file, "return_to_running.stages", f"stages must be numbered 1, 2, 3... not {stages}"
                )


def _check_change(
    reader: _Reader, content: Content, file: str, where: str, change: Change, used: set[str]
) -> None:
    """One rule change: named exercises exist and are used, the target fits the op and the doses."""
    target = change.target
    named = change.exercises
    for x_index, exercise_id in enumerate(named or []):
        if exercise_id not in content.exercises:
            reader.problem(file, f"{where}.exercises[{x_index}]", f"unknown exercise id {exercise_id!r}")
        elif exercise_id not in used:
            reader.problem(
                file, f"{where}.exercises[{x_index}]", f"{exercise_id!r} is in no slot of this protocol"
            )
    if named is not None and target not in _DOSE_TARGETS:
        reader.problem(file, f"{where}.exercises", f"only a {'/'.join(_DOSE_TARGETS)} change names exercises")
    touched = used if named is None else set(named) & used
    if target in _DOSE_TARGETS and not any(
        getattr(content.exercises[e].dose, target) is not None for e in touched if e in content.exercises
    ):
        reader.problem(file, f"{where}.target", f"no exercise it applies to has a {target} to change")
    if target == "phase" and change.op not in ("add", "subtract", "replace"):
        reader.problem(file, f"{where}.op", "a phase change must add, subtract or replace")
    if (target == "variant") != (change.op in ("harder", "easier")):
        reader.problem(file, f"{where}.op", "harder/easier go with target variant, and only with it")


def _check_questionnaires(reader: _Reader, content: Content) -> None:
    for required in REQUIRED_QUESTIONNAIRES:
        if required not in content.questionnaires:
            reader.problem(f"questionnaires/{required}.yaml", "", "the required questionnaire is missing")
    kujala = content.questionnaires.get("kujala")
    if kujala is not None and (kujala.kind != "choice" or len(kujala.items) != 13 or kujala.max_score != 100):
        reader.problem(
            "questionnaires/kujala.yaml", "items", "Kujala must be a choice scale of 13 items, 0-100"
        )


def _check_red_flags(reader: _Reader, content: Content) -> None:
    kujala = content.questionnaires.get("kujala")
    if kujala is None or kujala.kind != "choice":
        return
    for index, flag in enumerate(content.red_flags):
        listed = isinstance(flag.kujala_trigger, list)
        for number, trigger in enumerate(flag.kujala_triggers):
            where = f"[{index}].kujala_trigger" + (f"[{number}]" if listed else "")
            try:
                item = kujala.item(trigger.item)
            except KeyError:
                reader.problem("red_flags.yaml", f"{where}.item", f"Kujala has no item {trigger.item}")
                continue
            if trigger.below > item.max_points:
                message = f"item {trigger.item} scores at most {item.max_points}"
                reader.problem("red_flags.yaml", f"{where}.below", message)


def _check_education(reader: _Reader, content: Content) -> None:
    orders = Counter(page.order for page in content.education.values())
    for page in content.education.values():
        file = f"education/{page.id}.md"
        if orders[page.order] > 1:
            reader.problem(file, "order", f"order {page.order} is shared with another page")
        for index, exercise_id in enumerate(page.related_exercises):
            if exercise_id not in content.exercises:
                reader.problem(file, f"related_exercises[{index}]", f"unknown exercise id {exercise_id!r}")


def _check_technique_cues(reader: _Reader) -> None:
    """The motion helper's cue file has its own schema (content/technique.py); report its first problem."""
    data = reader.raw.get(TECHNIQUE_CUES_FILE)
    if data is None:
        return
    try:
        parse_technique_cues(data, TECHNIQUE_CUES_FILE)
    except ContentError as err:
        reader.problem(TECHNIQUE_CUES_FILE, "", str(err).removeprefix(f"{TECHNIQUE_CUES_FILE}: "))


def _walk_article_refs(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every ``article_refs`` value anywhere in parsed YAML, with its field path."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "article_refs":
                yield here, value
            else:
                yield from _walk_article_refs(value, here)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk_article_refs(value, f"{path}[{index}]")


def carried_article_refs(root: Path | None = None) -> dict[str, list[str]]:
    """Article element id -> the files whose ``article_refs`` name it (any YAML or front matter)."""
    reader = _Reader(DATA_ROOT if root is None else root)
    for path in sorted(reader.root.rglob("*")):
        if path.suffix == ".yaml":
            reader.parse_yaml(path)
        elif path.suffix == ".md":
            reader.markdown(path)
    return _carried(reader)


def _carried(reader: _Reader) -> dict[str, list[str]]:
    carried: dict[str, list[str]] = {}
    for file, data in sorted(reader.raw.items()):
        if file == "article.yaml":
            continue
        for _field, refs in _walk_article_refs(data):
            if isinstance(refs, list):
                for ref in refs:
                    if isinstance(ref, str):
                        carried.setdefault(ref, [])
                        if file not in carried[ref]:
                            carried[ref].append(file)
    return carried


def _check_article(reader: _Reader, content: Content) -> None:
    known = {element.id for element in content.article}
    # Front matter of education pages was parsed under the page's own file name.
    for file, data in sorted(reader.raw.items()):
        if file == "article.yaml":
            continue
        for field, refs in _walk_article_refs(data):
            if not isinstance(refs, list):
                reader.problem(file, field, "must be a list of article element ids")
                continue
            for index, ref in enumerate(refs):
                if ref not in known:
                    reader.problem(file, f"{field}[{index}]", f"unknown article element {ref!r}")
    carried = _carried(reader)
    for index, element in enumerate(content.article):
        if element.id not in carried:
            reader.problem(
                "article.yaml", f"[{index}]", f"article element {element.id!r} is carried by no content"
            )
