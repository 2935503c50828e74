"""Settings come from arguments, then KNEEFIX_* variables, then defaults; bad values say what is wrong."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kneefix.errors import InputError
from kneefix.web.config import SECRET_KEY_FILE, load_settings, parse_origins


def test_defaults_use_the_data_folder_for_database_and_secret(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, environ={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.database_url == f"sqlite:///{(tmp_path / 'kneefix.db').as_posix()}"
    assert settings.trusted_origins == ()
    assert settings.secure_cookies is None
    assert settings.max_upload_bytes == 200 * 1024 * 1024


def test_secret_key_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path, environ={}).secret_key
    second = load_settings(data_dir=tmp_path, environ={}).secret_key
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600


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
