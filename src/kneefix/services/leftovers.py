"""Clean-up of what crashes leave in the file store: half uploads, dead runs' work folders, orphans.

A process killed mid-write (SIGKILL, a power cut, a full disk) can leave behind, in kneefix's own
folders of the file store:

- ``.part`` drafts of uploads that never finished (and ``.part``/``.old`` folders of older releases'
  publishing), under ``uploads/`` and ``analyses/``;
- work folders of analysis runs (``work/c<check>-<worker>-<random>/``, holding a hard link to the
  upload and half the results) whose worker died;
- uploads and results folders that no check row names, when a process died between storing a file
  and committing its row, or between committing a deletion and removing its files (a profile
  deleted with ``kneefix profile delete`` leaves its files for this clean-up, too).

:func:`clean_files` removes them, and only them: it looks in ``uploads/``, ``analyses/`` and
``work/`` and nowhere else, never follows or removes a link (one found is reported), never removes
a file a check row names, and never a work folder whose check is running for its worker. Anything
else must be older than ``min_age_s`` (15 minutes by default), so an upload being received or a
file whose row is about to commit is left alone. The folder listing is taken before the rows are
read, so a row committed before the read protects its file.

It runs when a worker starts (``kneefix worker``, and the web app's own worker) and on demand with
``kneefix worker --clean`` (``--dry-run`` lists what it would remove).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from kneefix.errors import KneefixError
from kneefix.services.check_run import is_live_work, parse_work_tag
from kneefix.services.uploads import ANALYSES, UPLOADS, output_dir_for
from kneefix.storage import check_queue as check_store
from kneefix.storage.db import Database
from kneefix.storage.files import SCRATCH, Entry, FileStore

log = logging.getLogger("kneefix.files")

DEFAULT_MIN_AGE_S = 15 * 60.0


@dataclass(frozen=True)
class Removal:
    """One thing the clean-up removed (or, in a dry run, would remove), and why."""

    path: str
    reason: str


@dataclass
class CleanReport:
    """What one clean-up did: ``removed`` (or would remove, with ``dry_run``), ``links`` found and
    left alone, ``failed`` removals (path and error)."""

    dry_run: bool
    removed: list[Removal] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def clean_files(
    database: Database,
    files: FileStore,
    *,
    min_age_s: float = DEFAULT_MIN_AGE_S,
    dry_run: bool = False,
    now: float | None = None,
) -> CleanReport:
    """Remove the leftovers listed in the module docstring; with ``dry_run``, only list them."""
    moment = time.time() if now is None else now
    report = CleanReport(dry_run=dry_run)
    # The files first, then the rows: see the module docstring.
    work = files.entries(SCRATCH)
    uploaded = _by_profile(files, UPLOADS, report)
    analysed = _by_profile(files, ANALYSES, report)
    with database.session(write=False) as session:
        owners = check_store.file_owners(session)

    def old(entry: Entry) -> bool:
        return moment - entry.modified >= min_age_s

    candidates: list[Removal] = []
    for entry in work:
        if entry.kind == "link":
            report.links.append(entry.path)
        elif not is_live_work(entry.name, owners.running) and (
            parse_work_tag(entry.name) is not None or old(entry)
        ):
            candidates.append(Removal(entry.path, "work folder of no running analysis"))

    kept_keys = owners.input_paths | owners.output_dirs
    kept_keys |= {output_dir_for(profile_id, check_id) for profile_id, check_id in owners.checks}
    for folder, children in [*uploaded, *analysed]:
        doomed = 0
        for child in children:
            reason = _why_remove(child, kept_keys, old(child))
            if child.kind == "link":
                report.links.append(child.path)
            elif reason is not None:
                candidates.append(Removal(child.path, reason))
                doomed += 1
        gone_profile = not folder.name.isdigit() or int(folder.name) not in owners.profile_ids
        if gone_profile and doomed == len(children) and old(folder):
            candidates.append(Removal(folder.path, "folder of a deleted profile"))

    for removal in candidates:
        if not dry_run and not _remove(files, removal, report):
            continue
        report.removed.append(removal)
    return report


def _by_profile(files: FileStore, top: str, report: CleanReport) -> list[tuple[Entry, list[Entry]]]:
    """``uploads/<profile>/`` (or ``analyses/``) folders, each with what it holds. A link or a file
    where a profile folder belongs is reported or left to the age rule like any orphan."""
    found: list[tuple[Entry, list[Entry]]] = []
    for entry in files.entries(top):
        if entry.kind == "link":
            report.links.append(entry.path)
        elif entry.kind == "folder":
            found.append((entry, files.entries(entry.path)))
    return found


def _why_remove(entry: Entry, kept_keys: frozenset[str] | set[str], old: bool) -> str | None:
    if entry.kind == "link" or not old:
        return None
    if entry.temporary:
        return "unfinished upload or results (.part)" if entry.path.startswith(UPLOADS) else "temporary"
    if entry.path in kept_keys:
        return None
    return "upload of no check" if entry.path.startswith(f"{UPLOADS}/") else "results of no check"


def _remove(files: FileStore, removal: Removal, report: CleanReport) -> bool:
    try:
        return files.remove_entry(removal.path)
    except (OSError, KneefixError) as error:  # another process removing it too, or a busy disk
        report.failed.append((removal.path, str(error)))
        log.warning("could not remove %s from the file store: %s", removal.path, error)
        return False


def clean_at_start(database: Database, files: FileStore) -> CleanReport | None:
    """The clean-up a starting worker runs: each removal is logged; trouble is logged, not raised
    (a worker that cannot clean up can still analyse)."""
    try:
        report = clean_files(database, files)
    except (OSError, KneefixError) as error:
        log.warning("could not look for files left by crashed processes: %s", error)
        return None
    for removal in report.removed:
        log.info("removed %s from the file store (%s)", removal.path, removal.reason)
    for link in report.links:
        log.warning("left alone a link in the file store: %s", link)
    return report
