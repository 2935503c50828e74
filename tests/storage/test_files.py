"""The file store: keys that cannot escape, writes that are all-or-nothing, one store shared by two
machines, owner-only modes, and the setting that picks the store (folders only)."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kneefix.errors import InputError, NotFoundError
from kneefix.services import uploads
from kneefix.services.worker import Worker
from kneefix.settings import load_settings, sqlite_url
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.files import FileStore, FileTooLargeError, FolderStore, check_key, open_store
from kneefix.storage.profiles import create_profile
from tests.web.technique_media import fake_analysis, tiny_mp4

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../secret_key",
    "uploads/../../etc",
    "uploads//7",
    "uploads/7/",
    "uploads/./7",
    "uploads\\7",
    "C:\\data",
    "uploads/.hidden.part",
    "nul\x00byte",
]


class BreaksAfter(io.BytesIO):
    """A stream that hands out its bytes and then fails, like a connection dropped mid-upload."""

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            raise ConnectionResetError("the client went away")
        return chunk


def files_under(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def keep(store: FileStore, key: str, content: bytes) -> str:
    folder, _, name = key.rpartition("/")
    with store.receive(folder, io.BytesIO(content)) as draft:
        return draft.keep(name)


@contextmanager
def publishing(store: FileStore, prefix: str) -> Iterator[Path]:
    """A workspace's output folder, published under ``prefix`` when the block ends normally."""
    with store.workspace("test") as work:
        yield work.output
        work.publish(prefix)


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_by_every_method(store: FolderStore, key: str) -> None:
    with pytest.raises(InputError):
        check_key(key)
    with pytest.raises(InputError):
        store.exists(key)
    with pytest.raises(InputError):
        store.delete(key)
    with pytest.raises(InputError):
        store.delete_prefix(key)
    with pytest.raises(InputError), store.receive(key, io.BytesIO(b"x")):
        pass
    with pytest.raises(InputError), publishing(store, key):
        pass
    assert not store.root.exists() or files_under(store.root) == []


def test_a_draft_cannot_be_kept_under_a_name_with_a_slash(store: FolderStore) -> None:
    with pytest.raises(InputError), store.receive("uploads/7", io.BytesIO(b"video")) as draft:
        draft.keep("../../escaped.mp4")
    assert files_under(store.root) == [] and store.leftovers() == []


def test_a_planted_link_cannot_lead_a_write_or_a_delete_outside(store: FolderStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "7").mkdir(parents=True)
    (outside / "7" / "precious").write_bytes(b"keep me")
    store.root.mkdir()
    (store.root / "uploads").symlink_to(outside)
    with pytest.raises(InputError), store.receive("uploads/7", io.BytesIO(b"video")):
        pass
    with pytest.raises(InputError):
        store.delete_prefix("uploads/7")
    with pytest.raises(InputError), store.local_path("uploads/7/precious"):
        pass
    (store.root / "analyses" / "7").mkdir(parents=True)
    (store.root / "analyses" / "7" / "report.json").symlink_to(outside / "7" / "precious")
    assert not store.exists("analyses/7/report.json")
    with pytest.raises(NotFoundError), store.local_path("analyses/7/report.json"):
        pass
    assert files_under(outside) == ["7/precious"]


def test_a_received_file_is_kept_under_its_key(store: FolderStore) -> None:
    with store.receive("uploads/7", io.BytesIO(b"0123456789")) as draft:
        assert draft.size == 10 and draft.path.read_bytes() == b"0123456789"
        key = draft.keep("clip.mp4")
    assert key == "uploads/7/clip.mp4" and store.exists(key)
    assert (store.root / "uploads" / "7" / "clip.mp4").read_bytes() == b"0123456789"
    assert store.leftovers() == []


def test_a_write_over_the_limit_leaves_nothing(store: FolderStore) -> None:
    with (
        pytest.raises(FileTooLargeError),
        store.receive("uploads/7", io.BytesIO(b"x" * 5000), max_bytes=4096),
    ):
        pytest.fail("the block must not run for an over-size stream")
    assert files_under(store.root) == [] and store.leftovers() == []


def test_a_write_at_the_limit_is_kept(store: FolderStore) -> None:
    with store.receive("uploads/7", io.BytesIO(b"x" * 4096), max_bytes=4096) as draft:
        draft.keep("clip.mp4")
    assert store.exists("uploads/7/clip.mp4")


def test_a_stream_that_breaks_mid_way_leaves_no_file_and_no_part(store: FolderStore) -> None:
    with pytest.raises(ConnectionResetError), store.receive("uploads/7", BreaksAfter(b"half a video")):
        pytest.fail("the block must not run for a broken stream")
    assert files_under(store.root) == [] and store.leftovers() == []


def test_an_error_before_keeping_leaves_no_file_and_no_part(store: FolderStore) -> None:
    with pytest.raises(RuntimeError), store.receive("uploads/7", io.BytesIO(b"video")):
        raise RuntimeError("the check of the content failed")
    assert files_under(store.root) == [] and store.leftovers() == []


def test_publishing_shows_nothing_until_the_folder_is_complete(store: FolderStore) -> None:
    with publishing(store, "analyses/7/12") as folder:
        (folder / "report.json").write_text("{}")
        (folder / "charts").mkdir()
        (folder / "charts" / "angles.png").write_bytes(b"png")
        assert not (store.root / "analyses" / "7" / "12").exists()
    assert files_under(store.root) == ["analyses/7/12/charts/angles.png", "analyses/7/12/report.json"]
    assert store.leftovers() == []


def test_a_publish_that_fails_changes_nothing(store: FolderStore) -> None:
    with publishing(store, "analyses/7/12") as folder:
        (folder / "report.json").write_text("old")
    with pytest.raises(RuntimeError), publishing(store, "analyses/7/12") as folder:
        (folder / "report.json").write_text("new")
        (folder / "annotated.mp4").write_bytes(b"half")
        raise RuntimeError("the analysis stopped")
    assert files_under(store.root) == ["analyses/7/12/report.json"]
    assert (store.root / "analyses" / "7" / "12" / "report.json").read_text() == "old"
    assert store.leftovers() == []


def test_a_second_publish_replaces_the_whole_folder(store: FolderStore) -> None:
    with publishing(store, "analyses/7/12") as folder:
        (folder / "report.json").write_text("old")
        (folder / "stale.csv").write_text("old")
    with publishing(store, "analyses/7/12") as folder:
        (folder / "report.json").write_text("new")
    assert files_under(store.root) == ["analyses/7/12/report.json"]
    assert (store.root / "analyses" / "7" / "12" / "report.json").read_text() == "new"
    assert store.leftovers() == []


def test_deleting_a_prefix_removes_only_that_prefix(store: FolderStore) -> None:
    for key in ("analyses/7/1/report.json", "analyses/7/12/report.json", "analyses/70/1/report.json"):
        keep(store, key, b"{}")
    keep(store, "uploads/7/clip.mp4", b"video")
    assert store.delete_prefix("analyses/7/1") is True
    assert files_under(store.root) == [
        "analyses/7/12/report.json",
        "analyses/70/1/report.json",
        "uploads/7/clip.mp4",
    ]
    assert store.delete_prefix("analyses/7/1") is False
    assert store.delete("uploads/7/clip.mp4") is True and store.delete("uploads/7/clip.mp4") is False


def test_two_stores_on_one_root_see_each_others_files(tmp_path: Path) -> None:
    web, worker = FolderStore(tmp_path / "shared"), FolderStore(tmp_path / "shared")
    key = keep(web, "uploads/7/clip.mp4", b"video")
    assert worker.exists(key)
    with worker.local_path(key) as path:
        assert path.read_bytes() == b"video"
    with publishing(worker, "analyses/7/12") as folder:
        (folder / "report.json").write_text("{}")
    assert web.exists("analyses/7/12/report.json")
    assert web.delete_prefix("analyses/7") and not worker.exists("analyses/7/12/report.json")


def test_a_workspace_holds_the_named_input_and_goes_away(store: FolderStore) -> None:
    key = keep(store, "uploads/7/3f2a.mp4", b"video")
    with store.local_path(key) as real:
        assert real == store.root / "uploads" / "7" / "3f2a.mp4"
    with store.workspace("c12-run") as work:
        named = work.fetch(key, name="my squat.mp4")
        assert named.name == "my squat.mp4" and named.read_bytes() == b"video"
        assert named.is_relative_to(store.root / "work") and work.output.is_dir()
        assert store.leftovers() != []  # the work folder, while it is in use
        with pytest.raises(NotFoundError):
            work.fetch("uploads/7/missing.mp4", name="x.mp4")
    assert not named.exists() and store.leftovers() == []
    assert store.exists(key)
    with pytest.raises(NotFoundError), store.local_path("uploads/7/missing.mp4"):
        pass


def test_files_and_folders_are_for_their_owner_only(store: FolderStore) -> None:
    previous = os.umask(0o022)
    try:
        key = keep(store, "uploads/7/clip.mp4", b"video")
        with publishing(store, "analyses/7/12") as folder:
            (folder / "charts").mkdir(mode=0o755)
            (folder / "charts" / "angles.png").write_bytes(b"png")
            (folder / "report.json").write_text("{}")
    finally:
        os.umask(previous)
    modes = {
        path.relative_to(store.root).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in store.root.rglob("*")
    }
    assert modes == {
        "uploads": 0o700,
        "uploads/7": 0o700,
        key: 0o600,
        "analyses": 0o700,
        "analyses/7": 0o700,
        "analyses/7/12": 0o700,
        "analyses/7/12/charts": 0o700,
        "analyses/7/12/charts/angles.png": 0o600,
        "analyses/7/12/report.json": 0o600,
        "work": 0o700,  # where the results were made, before they were published
    }


def test_leftovers_list_what_a_dead_process_left(store: FolderStore) -> None:
    keep(store, "uploads/7/clip.mp4", b"video")
    (store.root / "uploads" / "7" / ".0a1b.part").write_bytes(b"half")
    (store.root / "analyses" / "7" / ".12.0a1b.part").mkdir(parents=True)
    assert store.leftovers() == ["analyses/7/.12.0a1b.part", "uploads/7/.0a1b.part"]


# ----- the setting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["s3://bucket", "s3://key:secret@bucket/kneefix", "http://minio:9000/b"])
def test_the_settings_refuse_a_store_that_is_not_a_folder(tmp_path: Path, value: str) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(environ={"KNEEFIX_DATA_DIR": str(tmp_path), "KNEEFIX_FILE_STORE": value})
    message = str(caught.value)
    assert message.startswith("KNEEFIX_FILE_STORE ")
    assert "only folder stores exist" in message and "future work" in message
    assert "no S3-compatible server runs in kneefix's tests" in message


def test_the_default_store_is_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", environ={})
    store = open_store(settings)
    assert isinstance(store, FolderStore) and store.root == tmp_path / "data"
    assert settings.shown()["KNEEFIX_FILE_STORE"] == "(not set: the data folder)"
    assert settings.with_changes(data_dir=tmp_path / "moved").file_store_folder == tmp_path / "moved"


@pytest.mark.parametrize("form", ["path", "url"])
def test_a_folder_store_can_be_a_path_or_a_file_url(tmp_path: Path, form: str) -> None:
    folder = tmp_path / "shared files"
    value = str(folder) if form == "path" else folder.as_uri()
    settings = load_settings(
        environ={"KNEEFIX_DATA_DIR": str(tmp_path / "data"), "KNEEFIX_FILE_STORE": value}
    )
    store = open_store(settings)
    assert isinstance(store, FolderStore) and store.root == folder


def test_a_worker_built_from_settings_alone_finds_what_the_web_side_stored(tmp_path: Path) -> None:
    """The web machine and the worker machine have data folders of their own and share one file
    store (a volume both mount, at different paths); the worker knows it only from its environment."""
    shared = tmp_path / "shared"
    database_url = sqlite_url(tmp_path / "kneefix.db")
    web_settings = load_settings(
        environ={},
        data_dir=tmp_path / "web",
        file_store=str(shared),
        database_url=database_url,
        run_worker=False,
    )
    web_files = open_store(web_settings)
    database = Database(web_settings.database_url)
    video = tiny_mp4()
    with database.session() as session:
        user = user_store.create_user(session, email="w@example.org", password_hash="x", role="person")
        profile_id = create_profile(session, "default", user_id=user.id).id
        check = uploads.submit_check(
            session, web_files, profile_id, io.BytesIO(video), movement="squat", max_bytes=10_000_000
        ).check
    assert check.input_path is not None and (shared / check.input_path).is_file()

    mount = tmp_path / "mnt" / "kneefix"  # the same volume, mounted at another path on the worker
    mount.parent.mkdir()
    mount.symlink_to(shared, target_is_directory=True)
    worker_settings = load_settings(
        environ={
            "KNEEFIX_DATA_DIR": str(tmp_path / "worker"),
            "KNEEFIX_FILE_STORE": mount.as_uri(),
            "KNEEFIX_DATABASE_URL": database_url,
        }
    )
    worker = Worker(
        Database(worker_settings.database_url), open_store(worker_settings), analyse=fake_analysis(video)
    )
    assert worker.run_until_idle() == 1

    with database.session(write=False) as session:
        done = uploads.get_check(session, profile_id, check.id)
    assert done.status == "done", done.error
    with uploads.result_file(web_files, done, "annotated.mp4") as (path, media_type):
        assert path.read_bytes() == video and media_type == "video/mp4"
    assert not (tmp_path / "worker" / "analyses").exists()  # nothing went to the worker's own folder
    assert FolderStore(shared).leftovers() == []
