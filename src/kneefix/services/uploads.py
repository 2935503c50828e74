"""Technique checks as background jobs: take in an upload, queue it, and read the results back.

The web request only stores the video and queues a job row; the analysis (seconds to minutes of pose
inference) runs later in :class:`kneefix.services.worker.Worker`. Everything a page or the API shows
about a check comes from here, so both show the same thing.

Files live in the file store (:mod:`kneefix.storage.files`, the data folder by default), by profile,
so deleting a person can remove all of their videos. Their keys are built here and nowhere else:

* the upload: ``uploads/<profile_id>/<uuid>.<ext>`` (extension from the file's content, never its name);
* the results: ``analyses/<profile_id>/<check_id>/`` (report.json, annotated.mp4, angles.png, ...).

The database keeps these keys, never a machine's path, so the store can move or be shared.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import filetype
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError, VideoError
from kneefix.storage import check_queue as check_store
from kneefix.storage.files import FileStore, FileTooLargeError
from kneefix.storage.records import TechniqueCheckInfo

log = logging.getLogger("kneefix.uploads")

MOVEMENTS: dict[str, str] = {
    "squat": "Squat",
    "single-leg-squat": "Single-leg squat",
    "deadlift": "Deadlift / hip hinge",
    "landing": "Jump landing",
}
SIDES: dict[str, str] = {
    "auto": "Let kneefix decide",
    "left": "Left side to camera",
    "right": "Right side to camera",
}
# Filming advice shown beside the upload form, per movement.
FILMING_TIPS: dict[str, str] = {
    "squat": "Film from the side at hip height, whole body in view, 3-5 slow reps.",
    "single-leg-squat": "Film from the front or side, whole body in view, 3-5 slow reps per leg.",
    "deadlift": "Film from the side, whole body in view, 3-5 reps.",
    "landing": "Film from the front or side, 2-3 m away; step off a low box and land on both feet.",
}

UPLOADS = "uploads"
ANALYSES = "analyses"
SNIFF_BYTES = 8192
# Result files a person may open, with their media types; nothing else in the folder is served.
RESULT_FILES: dict[str, str] = {
    "annotated.mp4": "video/mp4",
    "angles.png": "image/png",
    "report.json": "application/json",
    "landmarks.csv": "text/csv",
    "angles.csv": "text/csv",
    "angles.mot": "text/plain",
}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class StoredUpload:
    """A video saved in the file store (``relative_path`` is its key), ready to be queued."""

    relative_path: str
    size_bytes: int
    media_type: str


@dataclass(frozen=True)
class Submission:
    """The queued check; ``duplicate`` when this form had been sent already (nothing new was stored)."""

    check: TechniqueCheckInfo
    duplicate: bool


def describe_limit(max_bytes: int) -> str:
    """``200 MB`` (``1.5 MB``, ``4 KB`` for small limits): how the limit reads in a message."""
    megabytes = max_bytes / (1024 * 1024)
    if megabytes >= 10:
        return f"{megabytes:.0f} MB"
    if megabytes >= 1:
        return f"{megabytes:.1f} MB"
    return f"{max(1, round(max_bytes / 1024))} KB"


def check_movement(movement: str, side: str) -> tuple[str, str]:
    """The movement and side as the analysis names them, or an InputError listing the choices."""
    chosen = movement.strip().lower().replace("_", "-")
    if chosen not in MOVEMENTS:
        raise InputError(f"Choose the movement in the video: {', '.join(MOVEMENTS)} (got {movement!r}).")
    chosen_side = side.strip().lower() or "auto"
    if chosen_side not in SIDES:
        raise InputError(f"The side must be one of {', '.join(SIDES)} (got {side!r}).")
    return chosen, chosen_side


def _sniff(head: bytes) -> tuple[str, str]:
    """The video's media type and extension from its first bytes; InputError when it is not a video."""
    kind = filetype.guess(head)
    if kind is None:
        raise InputError(
            "That file is not a video kneefix can read (its content matches no video format). "
            "Record or choose an MP4, MOV or WebM video."
        )
    if not str(kind.mime).startswith("video/"):
        raise InputError(
            f"That file is a {kind.extension.upper()} file ({kind.mime}), not a video. "
            "Record or choose an MP4, MOV or WebM video."
        )
    return str(kind.mime), str(kind.extension)


def _too_large(max_bytes: int) -> InputError:
    return InputError(
        f"That video is larger than the {describe_limit(max_bytes)} limit. Trim it to the few "
        "seconds of the movement, or record again at a lower resolution."
    )


def _head(path: Path) -> bytes:
    """The first bytes of a received file, which tell its type."""
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


def _probe_readable(path: Path, shown_name: str) -> None:
    """Decode the header and first frame now, so a damaged file is refused on the page, not later; frame
    sizes and lengths past :mod:`kneefix.limits` are refused from the header, before any decoding."""
    from kneefix.motion.video import VideoLimitError, probe

    try:
        probe(path)
    except VideoLimitError as error:
        raise VideoError(f"That video cannot be analysed: {error.problem}") from None
    except VideoError as error:
        message = str(error).replace(str(path), shown_name)
        raise VideoError(f"That video cannot be read: {message}") from None


def store_upload(
    source: BinaryIO, files: FileStore, profile_id: int, *, max_bytes: int, filename: str | None = None
) -> StoredUpload:
    """Save an uploaded video as ``uploads/<profile_id>/<uuid>.<ext>``; nothing is left behind on error.

    The type comes from the content (``filetype``) and the file must decode; a name ending ``.mp4`` on
    a text file is refused. The size limit is enforced while copying, so an over-size upload never
    fills the disk.
    """
    try:
        with files.receive(f"{UPLOADS}/{profile_id}", source, max_bytes=max_bytes) as draft:
            if draft.size == 0:
                raise InputError("That file is empty. Record or choose the video again.")
            media_type, extension = _sniff(_head(draft.path))
            _probe_readable(draft.path, filename or "the video")
            key = draft.keep(f"{uuid.uuid4().hex}.{extension}")
    except FileTooLargeError:
        raise _too_large(max_bytes) from None
    return StoredUpload(key, draft.size, media_type)


def clean_request_id(request_id: str | None) -> str | None:
    """A form's one-time token, if it looks like one (anything else is ignored, not trusted)."""
    if request_id is None:
        return None
    token = request_id.strip()
    return token if _REQUEST_ID.match(token) else None


def submit_check(
    session: Session,
    files: FileStore,
    profile_id: int,
    source: BinaryIO,
    *,
    movement: str,
    side: str = "auto",
    filename: str | None = None,
    max_bytes: int,
    request_id: str | None = None,
) -> Submission:
    """Store the video and queue its analysis; the same ``request_id`` twice gives the first check.

    A double-submitted form therefore queues one job and keeps one copy of the video (the second
    copy is removed as soon as the database says the form was already handled).
    """
    chosen, chosen_side = check_movement(movement, side)
    token = clean_request_id(request_id)
    stored = store_upload(source, files, profile_id, max_bytes=max_bytes, filename=filename)
    try:
        check = check_store.enqueue_check(
            session,
            profile_id,
            movement=chosen,
            side=chosen_side,
            input_path=stored.relative_path,
            original_filename=_display_name(filename),
            request_id=token,
        )
    except BaseException:
        files.delete(stored.relative_path)
        raise
    duplicate = check.input_path != stored.relative_path
    if duplicate:  # the same form was sent before: keep the first copy only
        files.delete(stored.relative_path)
    return Submission(check, duplicate)


def _display_name(filename: str | None) -> str | None:
    """The name the person's file had, for their list of checks (never used as a path)."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or None


def list_checks(session: Session, profile_id: int, *, limit: int | None = None) -> list[TechniqueCheckInfo]:
    """The person's checks, newest first."""
    return check_store.list_checks(session, profile_id, limit=limit)


def recent_checks_for(
    session: Session, profile_ids: Sequence[int], *, limit: int
) -> dict[int, list[TechniqueCheckInfo]]:
    """Each person's ``limit`` newest checks, newest first, read together (a clinician's table)."""
    return check_store.recent_checks_by_profile(session, profile_ids, per_profile=limit)


def get_check(session: Session, profile_id: int, check_id: int) -> TechniqueCheckInfo:
    """One of the person's checks; someone else's gives the same NotFoundError as a missing one."""
    return check_store.get_check(session, check_id, profile_id=profile_id)


def retry_check(session: Session, profile_id: int, check_id: int) -> TechniqueCheckInfo:
    """Queue a failed check again."""
    return check_store.retry_check(session, profile_id, check_id)


def delete_check(session: Session, profile_id: int, check_id: int) -> TechniqueCheckInfo:
    """Remove a check from the database; call :func:`remove_check_files` with it after the commit.

    Files go last, so a delete that fails in the database leaves the video and results in place.
    """
    return check_store.delete_check(session, profile_id, check_id)


def remove_check_files(files: FileStore, check: TechniqueCheckInfo) -> None:
    """Delete the upload and the results folder of one check (missing files are fine)."""
    if check.input_path:
        with _logged_if_failing(check.input_path):
            files.delete(check.input_path)
    if check.output_dir:
        with _logged_if_failing(check.output_dir):
            files.delete_prefix(check.output_dir)


@contextmanager
def _logged_if_failing(key: str) -> Iterator[None]:
    """A file that cannot be removed is logged, not raised: the check is already gone from the
    database, and the person's delete has succeeded as far as they can tell."""
    try:
        yield
    except OSError as error:
        log.warning("could not remove %s from the file store: %s", key, error)


def output_dir_for(profile_id: int, check_id: int) -> str:
    """The key under which a check's results go."""
    return f"{ANALYSES}/{profile_id}/{check_id}"


def profile_prefixes(profile_id: int) -> tuple[str, str]:
    """The keys under which everything of one profile is stored: its uploads and its results."""
    return f"{UPLOADS}/{profile_id}", f"{ANALYSES}/{profile_id}"


def result_key(check: TechniqueCheckInfo, name: str) -> tuple[str, str]:
    """The key and media type of one result file of a finished check, or NotFoundError."""
    if name not in RESULT_FILES or check.status != "done" or not check.output_dir:
        raise NotFoundError("That file is not available.")
    return f"{check.output_dir}/{name}", RESULT_FILES[name]


@contextmanager
def result_file(files: FileStore, check: TechniqueCheckInfo, name: str) -> Iterator[tuple[Path, str]]:
    """A local path and the media type of one result file of a finished check, or NotFoundError.

    The path is valid inside the ``with`` block (an object store would hand out a downloaded copy).
    """
    key, media_type = result_key(check, name)
    if not files.exists(key):
        raise NotFoundError("That file is not available (it was not produced for this video).")
    with files.local_path(key) as path:
        yield path, media_type


def _initiation_words(report: Mapping[str, Any], reps: list[Any], summary: dict[str, Any]) -> str:
    """ "hips led H of M" over the reps where the start of the lowering could be measured, and plain
    words where it could not: a front view cannot show it, and "0 of N" would read as a finding."""
    measured = [rep for rep in reps if rep.get("initiation") not in (None, "unknown")]
    summary["initiation_measured"] = len(measured)
    if not measured:
        if report.get("view") == "front":
            return "initiation needs a side view"
        return "initiation could not be measured"
    hips = sum(1 for rep in measured if rep.get("initiation") == "hips")
    summary["hips_first"] = hips
    unknown = len(reps) - len(measured)
    return f"hips led {hips} of {len(measured)}" + (f" ({unknown} not measurable)" if unknown else "")


def summarise_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers and one line that lists and the clinician table show for a finished check."""
    movement = str(report.get("movement", ""))
    reps = list(report.get("reps") or [])
    landings = list(report.get("landings") or [])
    feedback = [str(item) for item in report.get("feedback") or []]
    summary: dict[str, Any] = {"reps": len(reps), "landings": len(landings), "cues": len(feedback)}
    if landings:
        totals = [
            item.get("less_total_measured")
            for item in landings
            if item.get("less_total_measured") is not None
        ]
        if totals:
            summary["less_mean"] = round(sum(float(t) for t in totals) / len(totals), 1)
        headline = f"{len(landings)} landing{'s' if len(landings) != 1 else ''}"
        if "less_mean" in summary:
            headline += f", landing errors {summary['less_mean']:g} on average (lower is better)"
    elif reps:
        headline = f"{len(reps)} rep{'s' if len(reps) != 1 else ''}, " + _initiation_words(
            report, reps, summary
        )
    else:
        headline = "no complete rep or landing found"
    summary["headline"] = f"{MOVEMENTS.get(movement, movement)}: {headline}"
    return summary


def check_view(check: TechniqueCheckInfo) -> dict[str, Any]:
    """Everything a page or the API shows about a check, as JSON-ready values."""
    report = check.report or {}
    view: dict[str, Any] = {
        "id": check.id,
        "created_at": check.created_at.isoformat(),
        "movement": check.movement,
        "movement_name": MOVEMENTS.get(check.movement, check.movement),
        "side": check.side,
        "status": check.status,
        "progress": round(check.progress, 3),
        "error": check.error,
        "original_filename": check.original_filename,
        "finished_at": check.finished_at.isoformat() if check.finished_at else None,
        "summary": check.summary or {},
        "headline": (check.summary or {}).get("headline"),
    }
    if check.status == "done":
        view["feedback"] = list(report.get("feedback") or [])
        view["warnings"] = list(report.get("warnings") or [])
        view["reps"] = list(report.get("reps") or [])
        view["landings"] = list(report.get("landings") or [])
        view["view"] = report.get("view")
        view["side_analysed"] = report.get("side")
        view["duration_s"] = report.get("duration_s")
    return view
