"""Export a person's data (JSON and CSV tables) and import it back, for backups and moving machines."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content, load_content
from kneefix.errors import InputError
from kneefix.services import record_checks
from kneefix.storage import export as export_store
from kneefix.storage import profiles as profile_store
from kneefix.storage.records import ProfileInfo


def export_document(session: Session, profile_id: int) -> dict[str, Any]:
    """Everything kept about the profile, as the versioned JSON-ready export document."""
    return export_store.export_profile(session, profile_id)


def export_text(session: Session, profile_id: int) -> str:
    """The export as stable JSON text (sorted keys, so two exports can be compared line by line)."""
    return export_store.dump_export(export_document(session, profile_id))


def write_text_file(path: Path, text: str) -> Path:
    """Write ``text`` so that a failure half-way never leaves a truncated file behind."""
    target = path.expanduser()
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name such as {target / 'kneefix-export.json'}.")
    _replace_file(target, text)
    return target


def write_bytes_file(path: Path, data: bytes) -> Path:
    """Binary twin of :func:`write_text_file` (calendar files, charts)."""
    target = path.expanduser()
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name inside it.")
    _replace_file(target, data)
    return target


def _replace_file(target: Path, content: str | bytes) -> None:
    """Write to a temporary file beside ``target`` and rename it over ``target`` (UTF-8 for text)."""
    mode, encoding = ("wb", None) if isinstance(content, bytes) else ("w", "utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, mode, encoding=encoding) as stream:
                stream.write(content)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InputError(f"Cannot write {target}: {error.strerror or error}.") from error


def export_csv(session: Session, profile_id: int, folder: Path) -> list[Path]:
    """One CSV file per table in ``folder``."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; give a folder for the CSV tables.")
    return export_store.export_csv(session, profile_id, folder.expanduser())


def import_file(
    session: Session,
    path: Path,
    *,
    name: str | None = None,
    overwrite: bool = False,
    user_id: int | None = None,
    content: Content | None = None,
) -> ProfileInfo:
    """Create a profile from an export file (checked against the content first: ``record_checks``);
    the existing one is kept unless ``overwrite``."""
    data = export_store.load_export_file(path.expanduser())
    export_store.parse_export(data)  # the shape first, so the content checks read a valid document
    try:
        record_checks.check_record(content or load_content(), data)
    except record_checks.RecordError as error:
        raise InputError(f"{path}: {error} Nothing was imported.") from None
    profile_id = export_store.import_profile(session, data, name, user_id=user_id, overwrite=overwrite)
    return profile_store.get_profile(session, profile_id)
