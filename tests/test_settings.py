"""Settings come from arguments, then KNEEFIX_* variables, then .env, then a TOML file, then defaults; bad
values say what is wrong, naming the variable."""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from kneefix.errors import InputError
from kneefix.settings import SECRET_KEY_FILE, load_or_create_secret, load_settings, parse_origins


def test_defaults_use_the_data_folder_for_database_and_secret(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, environ={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.database_url == f"sqlite:///{(tmp_path / 'kneefix.db').as_posix()}"
    assert settings.trusted_origins == ()
    assert settings.secure_cookies is None
    assert settings.max_upload_bytes == 200 * 1024 * 1024


def test_secret_key_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path, environ={}).signing_key
    second = load_settings(data_dir=tmp_path, environ={}).signing_key
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600


def _key_when_told(go: Any, data_dir: Path, out: Any) -> None:
    go.wait(30)
    out.put(load_or_create_secret(data_dir))


def test_processes_starting_at_once_all_get_the_same_secret_key(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    go, out = context.Event(), context.Queue()
    processes = [context.Process(target=_key_when_told, args=(go, tmp_path, out)) for _ in range(8)]
    for process in processes:
        process.start()
    time.sleep(3)  # every process is up and waiting, so they all ask at the same moment
    go.set()
    keys = [out.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert len(set(keys)) == 1
    assert (tmp_path / SECRET_KEY_FILE).read_text().strip() == keys[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_KEY_FILE]  # no drafts left


def test_a_broken_secret_key_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / SECRET_KEY_FILE).write_text("short\n")
    key = load_or_create_secret(tmp_path)
    assert len(key) >= 32 and (tmp_path / SECRET_KEY_FILE).read_text().strip() == key


def test_environment_variables_are_read(tmp_path: Path) -> None:
    env = {
        "KNEEFIX_DATA_DIR": str(tmp_path),
        "KNEEFIX_HOST": "0.0.0.0",
        "KNEEFIX_PORT": "9000",
        "KNEEFIX_DATABASE_URL": "sqlite:////tmp/other.db",
        "KNEEFIX_TRUSTED_ORIGINS": "https://Knee.Example.org, http://10.0.0.5:8080/",
        "KNEEFIX_PROXY_HEADERS": "yes",
        "KNEEFIX_SECURE_COOKIES": "true",
        "KNEEFIX_MAX_UPLOAD_MB": "50",
        "KNEEFIX_SIGNIN_MAX_FAILURES": "3",
        "KNEEFIX_ROOT_PATH": "/knee/",
    }
    settings = load_settings(environ=env)
    assert settings.data_dir == tmp_path
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.database_url == "sqlite:////tmp/other.db"
    assert settings.trusted_origins == ("https://knee.example.org", "http://10.0.0.5:8080")
    assert settings.proxy_headers is True
    assert settings.secure_cookies is True
    assert settings.max_upload_bytes == 50 * 1024 * 1024
    assert settings.signin_max_failures == 3
    assert settings.root_path == "/knee"


def test_flags_win_over_environment(tmp_path: Path) -> None:
    env = {"KNEEFIX_PORT": "9000", "KNEEFIX_HOST": "0.0.0.0", "KNEEFIX_DATA_DIR": str(tmp_path / "env")}
    settings = load_settings(port=8123, host="127.0.0.2", data_dir=tmp_path / "flag", environ=env)
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.2", 8123, tmp_path / "flag")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("KNEEFIX_PORT", "eighty", "KNEEFIX_PORT must be a whole number"),
        ("KNEEFIX_PORT", "70000", "between 1 and 65535"),
        ("KNEEFIX_PROXY_HEADERS", "maybe", "true or false"),
        ("KNEEFIX_TRUSTED_ORIGINS", "knee.example.org", "is not an origin"),
        ("KNEEFIX_TRUSTED_ORIGINS", "https://knee.example.org/app", "no path"),
        ("KNEEFIX_ROOT_PATH", "knee", "must start with '/'"),
        ("KNEEFIX_SECRET_KEY", "short", "at least 32 characters"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        load_settings(data_dir=tmp_path, environ={name: value})


def test_parse_origins_drops_duplicates_and_trailing_slashes() -> None:
    assert parse_origins("https://a.org/, https://a.org,http://b:1") == ("https://a.org", "http://b:1")
    assert parse_origins(None) == ()


def test_arguments_then_environment_then_dotenv_then_toml_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order a clinic's operator relies on: each source only fills what the ones before left."""
    for name in list(os.environ):
        if name.startswith("KNEEFIX_"):
            monkeypatch.delenv(name)
    config = tmp_path / "kneefix.toml"
    config.write_text('host = "10.0.0.1"\nport = 7001\nsession_days = 30\nsmtp_host = "toml.example.org"\n')
    (tmp_path / ".env").write_text("KNEEFIX_PORT=7002\nKNEEFIX_SESSION_DAYS=21\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KNEEFIX_CONFIG_FILE", str(config))
    monkeypatch.setenv("KNEEFIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KNEEFIX_SESSION_DAYS", "7")
    settings = load_settings(port=7003)
    assert settings.port == 7003  # the argument
    assert settings.session_days == 7  # the environment, over .env and TOML
    assert settings.host == "10.0.0.1" and settings.smtp_host == "toml.example.org"  # only TOML has them
    assert load_settings().port == 7002  # .env over TOML
    assert settings.signin_max_failures == 5  # nobody set it: the default


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a file"):
        load_settings(environ={"KNEEFIX_CONFIG_FILE": str(tmp_path / "nope.toml")})


def test_the_shown_configuration_masks_secrets(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        data_dir=tmp_path,
        secret_key="z" * 40,
        smtp_password="hunter2-hunter2",
        database_url="postgresql+psycopg://kneefix:s3cret@db:5432/kneefix",
    )
    shown = settings.shown()
    text = " ".join(shown.values())
    assert "z" * 40 not in text and "hunter2" not in text and "s3cret" not in text
    assert shown["KNEEFIX_DATABASE_URL"] == "postgresql+psycopg://kneefix:***@db:5432/kneefix"
    assert shown["KNEEFIX_SECRET_KEY"] == "(set, hidden)"
    assert shown["KNEEFIX_PORT"] == "8000"
    assert set(shown) == {"KNEEFIX_" + name.upper() for name in type(settings).model_fields}


def test_test_hooks_are_settings_checked_like_the_rest(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"KNEEFIX_TODAY": "2025-03-03", "KNEEFIX_TIMER_SCALE": "0.05"}, data_dir=tmp_path
    )
    assert settings.today == dt.date(2025, 3, 3) and settings.timer_scale == 0.05
    with pytest.raises(InputError, match="KNEEFIX_TODAY must be a date"):
        load_settings(environ={"KNEEFIX_TODAY": "someday"}, data_dir=tmp_path)
    changed = settings.with_changes(today=None, port=9100)
    assert changed.today is None and changed.port == 9100 and settings.port == 8000
    with pytest.raises(InputError, match="KNEEFIX_PORT"):
        settings.with_changes(port=0)


def test_email_settings_become_the_mail_record(tmp_path: Path) -> None:
    env = {
        "KNEEFIX_SMTP_HOST": "smtp.example.org",
        "KNEEFIX_SMTP_SECURITY": "ssl",
        "KNEEFIX_MAIL_FROM": "Knee <knee@example.org>",
        "KNEEFIX_PUBLIC_URL": "https://example.org/knee/",
    }
    mail = load_settings(environ=env, data_dir=tmp_path).mail
    assert (mail.host, mail.port, mail.security) == ("smtp.example.org", 465, "ssl")  # the port follows
    assert mail.public_url == "https://example.org/knee" and mail.enabled
    for name, value in (
        ("KNEEFIX_SMTP_SECURITY", "tls"),
        ("KNEEFIX_MAIL_FROM", "nobody"),
        ("KNEEFIX_PUBLIC_URL", "knee.org"),
    ):
        with pytest.raises(InputError, match=name):
            load_settings(environ={**env, name: value}, data_dir=tmp_path)
