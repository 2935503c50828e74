"""The file store: where uploaded videos and analysis results are kept, named by relative keys.

The database remembers files by key (``uploads/7/3f2a….mp4``, ``analyses/7/12``), never by a path on
one machine, so the web processes that receive uploads and the workers that analyse them only have
to agree on the store, not on a disk. Everything that touches those files goes through
:class:`FileStore`; nothing else builds paths under the store or removes folders in it.

A key is a relative POSIX path: parts separated by ``/``, none empty, ``.`` or ``..``, none starting
with a dot (those names are the store's own temporary files), no backslash, no leading ``/``. A bad
key is a bug or an attack, and is refused with an :class:`~kneefix.errors.InputError`.

Writes are all-or-nothing. A received file is written under a temporary name beside its target and
renamed into place once it is complete, so a process that dies half-way never leaves half a file
under a real key (the temporary name sits beside the target because a rename is only atomic within
one filesystem). An analysis run works in a private folder of its own, ``work/<tag>-<random>/``
(:meth:`FileStore.workspace`), and its results folder is renamed from there into place in one step,
which the caller does inside the database transaction that checks the run's check still exists: so
a check or an account deleted while its analysis runs never gets files back. ``work/`` is therefore
on the store's own filesystem, like the rest of it.

What a process killed mid-write leaves (``.part`` drafts, work folders) is listed by
:meth:`FileStore.leftovers` and found and removed by :mod:`kneefix.services.leftovers` through
:meth:`FileStore.entries` and :meth:`FileStore.remove_entry`, which never follow a link.

:class:`FolderStore` is the one backend: a folder (the data folder by default), which several
machines share over NFS or a bind mount. An object store (S3 and the like) would be a second class
behind the same :class:`FileStore` protocol; see ``docs/deploy.md`` for why there is none yet.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from kneefix.errors import InputError, NotFoundError
from kneefix.settings import Settings

CHUNK = 1024 * 1024
TEMPORARY_SUFFIX = ".part"
RETIRED_SUFFIX = ".old"
SCRATCH = "work"
"""Top-level folder of the analysis runs' workspaces (:meth:`FileStore.workspace`)."""
FOLDER_MODE = 0o700
FILE_MODE = 0o600


class FileTooLargeError(InputError):
    """A received stream passed its byte limit; nothing of it was kept."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


def check_key(key: str) -> str:
    """``key`` if it is a valid store key (see the module docstring), else an InputError.

    Checked on every call, so a key read back from a tampered database row still cannot reach
    outside the store.
    """
    problem = _key_problem(key)
    if problem:
        raise InputError(f"{key!r} is not a file-store key: {problem}.")
    return key


def _key_problem(key: str) -> str | None:
    if not key:
        return "it is empty"
    if "\\" in key or "\x00" in key:
        return "it holds a backslash or a NUL character"
    if key.startswith("/"):
        return "it is an absolute path"
    for part in key.split("/"):
        if part in {"", ".", ".."}:
            return "it has an empty, '.' or '..' part"
        if part.startswith("."):
            return "a part starts with '.', which is kept for the store's temporary files"
    return None


def check_name(name: str) -> str:
    """``name`` if it is one valid key part (a file name with no ``/``), else an InputError."""
    if "/" in name:
        raise InputError(f"{name!r} is not a file name: it holds a '/'.")
    return check_key(name)


def join_key(*parts: str) -> str:
    """Keys joined with ``/`` and checked: ``join_key("analyses/7", "12") == "analyses/7/12"``."""
    return check_key("/".join(parts))


class Draft(Protocol):
    """A file received completely but not yet kept: :meth:`keep` gives it its name."""

    @property
    def path(self) -> Path:
        """A local path holding the whole received content (to inspect it before it is kept)."""
        ...

    @property
    def size(self) -> int: ...

    def keep(self, name: str) -> str:
        """Store the draft as ``<folder>/<name>`` (replacing any file there); returns that key."""
        ...


class Workspace(Protocol):
    """One run's private folder in the store (see :meth:`FileStore.workspace`)."""

    @property
    def output(self) -> Path:
        """A local folder to fill with the results; :meth:`publish` moves them under their key."""
        ...

    def fetch(self, key: str, *, name: str) -> Path:
        """A local path named ``name`` inside the workspace holding the file under ``key`` (a link
        where the store allows, else a copy); NotFoundError when nothing is stored under ``key``."""
        ...

    def publish(self, prefix: str) -> None:
        """Make :attr:`output`'s contents everything under ``prefix``, all at once, replacing what
        was there. Once per workspace. The caller does this inside the database transaction that
        checks the run still owns its row, so a deletion comes entirely before or after it."""
        ...


@dataclass(frozen=True)
class Entry:
    """One thing in a store folder, as :meth:`FileStore.entries` found it.

    ``path`` is relative to the store (its last part may be a temporary name, so it is not always a
    key); ``kind`` is ``file``, ``folder`` or ``link`` (never followed); ``modified`` is the entry's
    own modification time (seconds since the epoch).
    """

    path: str
    kind: Literal["file", "folder", "link"]
    modified: float

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def temporary(self) -> bool:
        """A store temporary: a draft, a staging folder or a retired one (``.<...>.part``/``.old``)."""
        return _is_temporary(self.name)


class FileStore(Protocol):
    """What kneefix needs from wherever uploads and results are kept.

    Every method takes keys (module docstring); none of them leaves a partial file under a key.
    """

    def receive(
        self, folder: str, source: BinaryIO, *, max_bytes: int | None = None
    ) -> AbstractContextManager[Draft]:
        """Copy ``source`` into a draft in ``folder``, stopping with :class:`FileTooLargeError` as
        soon as it passes ``max_bytes``. The draft is kept only by :meth:`Draft.keep` inside the
        ``with`` block; leaving the block any other way (an error included) removes it."""
        ...

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A local path holding the file under ``key``, valid inside the ``with`` block.

        Raises NotFoundError when nothing is stored under ``key``. The file must not be changed
        through the path.
        """
        ...

    def workspace(self, tag: str) -> AbstractContextManager[Workspace]:
        """A private folder for one analysis run (``work/<tag>-<random>/``): its input under the
        person's own file name and its results are made there, then published in one step.
        Leaving the block removes the folder and everything in it, published or not."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the file under ``key``; whether there was one."""
        ...

    def delete_prefix(self, prefix: str) -> bool:
        """Remove everything under ``prefix`` (and nothing beside it); whether there was anything."""
        ...

    def leftovers(self) -> list[str]:
        """Temporary files and folders left by processes that died mid-write, as paths relative to
        the store (for an operator to look at; a running write's own temporaries are listed too)."""
        ...

    def entries(self, folder: str) -> list[Entry]:
        """What one folder holds, each entry as it is (a link is reported, never followed); empty
        when the folder does not exist. For the clean-up of crash leftovers."""
        ...

    def remove_entry(self, path: str) -> bool:
        """Remove one entry that :meth:`entries` or :meth:`leftovers` reported (a file, a folder with
        all it holds, or a temporary). A link is never removed or followed: False, as for nothing."""
        ...


def open_store(settings: Settings) -> FileStore:
    """The file store the settings name (``KNEEFIX_FILE_STORE``, default the data folder).

    The one place that picks a backend; the settings have already refused any kind that does not
    exist, so today this is always a :class:`FolderStore`.
    """
    return FolderStore(settings.file_store_folder)


class FolderStore:
    """A :class:`FileStore` in a folder: keys are paths below ``root``.

    Folders it creates are readable by their owner only (0700) and files likewise (0600), so every
    process sharing the store must run as the same user. Two ``FolderStore`` objects on one root (a
    web machine and a worker machine mounting one volume) see each other's files: the store keeps no
    state besides the folder itself.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"FolderStore({str(self.root)!r})"

    # ----- the FileStore protocol ----------------------------------------------------------------

    @contextmanager
    def receive(self, folder: str, source: BinaryIO, *, max_bytes: int | None = None) -> Iterator[Draft]:
        directory = self._make_folder(folder)
        temporary = directory / f".{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        try:
            size = _copy_limited(source, temporary, max_bytes)
            yield _FolderDraft(self, folder, temporary, size)
        finally:
            temporary.unlink(missing_ok=True)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._readable(key)
        if not path.is_file():
            raise NotFoundError("That file is not available.")
        yield path

    @contextmanager
    def workspace(self, tag: str) -> Iterator[Workspace]:
        folder = self._make_folder(join_key(SCRATCH, check_name(f"{tag}-{uuid.uuid4().hex}")))
        try:
            yield _FolderWorkspace(self, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        try:
            return self._readable(key).is_file()
        except NotFoundError:  # a link out of the store: as good as absent
            return False

    def delete(self, key: str) -> bool:
        path = self._path(key)
        existed = path.is_file() or path.is_symlink()
        path.unlink(missing_ok=True)
        return existed

    def delete_prefix(self, prefix: str) -> bool:
        path = self._path(prefix)
        if path.is_symlink() or not path.is_dir():  # a link is never followed out of the store
            return False
        shutil.rmtree(path)
        return True

    def leftovers(self) -> list[str]:
        found: list[str] = []
        if not self.root.is_dir():
            return found
        scratch = self.root / SCRATCH
        if scratch.is_dir():
            found.extend(f"{SCRATCH}/{entry.name}" for entry in scratch.iterdir())
        for folder, subfolders, names in os.walk(self.root):
            here = Path(folder)
            if here == scratch:
                subfolders.clear()
                continue
            for entry in [*subfolders, *names]:
                if _is_temporary(entry):
                    found.append((here / entry).relative_to(self.root).as_posix())
            subfolders[:] = [entry for entry in subfolders if not _is_temporary(entry)]
        return sorted(found)

    def entries(self, folder: str) -> list[Entry]:
        directory = self._path(folder)
        if directory.is_symlink() or not directory.is_dir():
            return []
        with os.scandir(directory) as listing:
            children = sorted(listing, key=lambda item: item.name)
        found: list[Entry] = []
        for child in children:
            with suppress(FileNotFoundError):  # removed while we looked: nothing to report
                info = child.stat(follow_symlinks=False)
                kind: Literal["file", "folder", "link"] = (
                    "link"
                    if stat.S_ISLNK(info.st_mode)
                    else "folder"
                    if stat.S_ISDIR(info.st_mode)
                    else "file"
                )
                found.append(Entry(f"{folder}/{child.name}", kind, info.st_mtime))
        return found

    def remove_entry(self, path: str) -> bool:
        folder, _, name = path.rpartition("/")
        if not folder or not name or name in {".", ".."} or "/" in name or "\\" in name:
            raise InputError(f"{path!r} is not an entry of the file store.")
        target = self._path(folder) / name  # the folder holding it resolves inside the store
        try:
            info = target.lstat()
        except FileNotFoundError:
            return False
        if stat.S_ISLNK(info.st_mode):
            return False
        try:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(target)  # rmtree removes links inside, never what they lead to
            else:
                target.unlink()
        except FileNotFoundError:  # another process cleaning up at the same time
            return False
        return True

    # ----- paths ---------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """Where ``key`` lives. The folder holding it must resolve inside the root, so a symbolic
        link planted on the way cannot redirect a write or a delete outside the store."""
        path = self.root / check_key(key)
        root = self.root.resolve()
        if not path.parent.resolve().is_relative_to(root):
            raise InputError(f"{key!r} leads outside the file store.")
        return path

    def _readable(self, key: str) -> Path:
        """Like :meth:`_path`, and the file itself must resolve inside the root too."""
        path = self._path(key)
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise NotFoundError("That file is not available.")
        return path

    def _make_root(self) -> Path:
        if not self.root.is_dir():
            self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        return self.root

    def _make_folder(self, key: str) -> Path:
        """The folder for ``key``, created (each missing level 0700) when needed. Every level must
        resolve inside the root before anything is created in it, so a planted link is refused."""
        parts = check_key(key).split("/")
        folder = self._make_root()
        root = folder.resolve()
        for part in parts:
            folder = folder / part
            with suppress(FileExistsError):
                os.mkdir(folder, FOLDER_MODE)
            if not folder.resolve().is_relative_to(root):
                raise InputError(f"{key!r} leads outside the file store.")
        return folder


class _FolderDraft:
    """A received file in its temporary name, beside where it will be kept."""

    def __init__(self, store: FolderStore, folder: str, temporary: Path, size: int) -> None:
        self._store = store
        self._folder = folder
        self._temporary = temporary
        self._size = size

    @property
    def path(self) -> Path:
        return self._temporary

    @property
    def size(self) -> int:
        return self._size

    def keep(self, name: str) -> str:
        key = join_key(self._folder, check_name(name))
        os.replace(self._temporary, self._store._path(key))
        return key


class _FolderWorkspace:
    """``work/<tag>-<random>/`` with ``in/`` (the named input) and ``out/`` (the results)."""

    def __init__(self, store: FolderStore, folder: Path) -> None:
        self._store = store
        self._folder = folder
        self._output = folder / "out"
        os.mkdir(self._output, FOLDER_MODE)

    @property
    def output(self) -> Path:
        return self._output

    def fetch(self, key: str, *, name: str) -> Path:
        source = self._store._readable(key)
        if not source.is_file():
            raise NotFoundError("That file is not available.")
        inputs = self._folder / "in"
        with suppress(FileExistsError):
            os.mkdir(inputs, FOLDER_MODE)
        named = inputs / check_name(name)
        _link_or_copy(source, named)
        return named

    def publish(self, prefix: str) -> None:
        target = self._store._path(prefix)
        if "/" in prefix:
            self._store._make_folder(prefix.rpartition("/")[0])
        else:
            self._store._make_root()
        _make_private(self._output)
        _swap_in(self._output, target)


def _copy_limited(source: BinaryIO, target: Path, max_bytes: int | None) -> int:
    """Copy ``source`` into a new owner-only file in chunks, stopping as soon as the limit is
    passed (so an over-size stream never fills the disk); flushed to disk before it is renamed."""
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FileTooLargeError(max_bytes)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (no copy of a large video) where the filesystem allows one, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        os.chmod(target, FILE_MODE)  # a copy is made with the process's umask


def _make_private(folder: Path) -> None:
    """Owner-only modes on everything a publisher wrote (its tools use their own defaults)."""
    for parent, subfolders, names in os.walk(folder):
        for name in subfolders:
            os.chmod(Path(parent) / name, FOLDER_MODE)
        for name in names:
            path = Path(parent) / name
            if not path.is_symlink():
                os.chmod(path, FILE_MODE)


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` is renamed aside first and removed
    after, so a reader finds the old folder or the new one, never a mixture."""
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)
        return
    retired = target.with_name(f".{target.name}.{uuid.uuid4().hex}{RETIRED_SUFFIX}")
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(retired, target)
        raise
    if retired.is_dir() and not retired.is_symlink():
        shutil.rmtree(retired, ignore_errors=True)
    else:
        retired.unlink(missing_ok=True)


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith((TEMPORARY_SUFFIX, RETIRED_SUFFIX))
