"""kneefix's settings: one typed, frozen object for the whole program (pydantic-settings).

Where a value comes from, the first that has it wins:

1. arguments (command-line flags, or a test building ``Settings(...)``);
2. ``KNEEFIX_*`` environment variables (``KNEEFIX_PORT=9000``);
3. a ``.env`` file in the working folder (the same names);
4. a TOML file named by ``KNEEFIX_CONFIG_FILE`` (``port = 9000``, the field names without the prefix);
5. the defaults below: the embedded SQLite database and a data folder in the user's data directory.

The object is built once at start-up and handed down (the web app keeps it on ``app.state.settings``);
nothing reads the environment later. ``kneefix serve --print-config`` shows the effective values with
secrets masked. Every field's environment variable is ``KNEEFIX_`` + its name in capitals.

The secret key that signs session cookies and unsubscribe links is kept in the data folder
(``secret_key``, readable only by its owner) so sessions survive a restart without anyone having to
configure one; it is read or created the first time :meth:`Settings.signing_key` is asked for.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from kneefix.errors import InputError

ENV_PREFIX = "KNEEFIX_"
CONFIG_FILE_VARIABLE = ENV_PREFIX + "CONFIG_FILE"
SECRET_KEY_FILE = "secret_key"
DATABASE_FILENAME = "kneefix.db"
SmtpSecurity = Literal["starttls", "ssl", "none"]
SMTP_DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
SECRET_FIELDS = frozenset({"secret_key", "smtp_password"})


@dataclass(frozen=True)
class MailSettings:
    """Where email goes out. ``host`` None means this server sends no email at all.

    ``public_url`` is the address people reach kneefix at (``https://knee.example.org``): links in an
    email cannot be relative, so email stays off until it is set.
    """

    host: str | None = None
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "kneefix <kneefix@localhost>"
    public_url: str | None = None
    timeout_s: float = 20.0

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.public_url)


def platform_data_dir() -> Path:
    """The user's data folder for kneefix on this operating system."""
    return Path(platformdirs.user_data_dir("kneefix", appauthor=False))


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file (absolute, so the working folder does not matter)."""
    return f"sqlite:///{path.expanduser().resolve().as_posix()}"


def load_or_create_secret(data_dir: Path) -> str:
    """Read the signing key kept in the data folder, creating it (owner-only) on first use.

    Several processes may start at once (``serve --workers N``, a worker beside the web app): the
    key is written to a private temporary file and linked into place, so the first one to get there
    wins and every other reads that same key, instead of each signing cookies with its own.
    """
    path = data_dir / SECRET_KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        replace_broken = False  # decided from this one look: another process may link its key meanwhile
        if path.is_file():
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
            replace_broken = True
        key = secrets.token_urlsafe(48)
        draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
            if replace_broken:
                os.replace(draft, path)
                return key
            try:
                os.link(draft, path)
            except FileExistsError:  # another process created it first: use theirs
                return path.read_text(encoding="ascii").strip()
            return key
        finally:
            draft.unlink(missing_ok=True)
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            f"cannot read or create the secret key in {data_dir} ({error}); check that the data folder "
            "is writable, or set KNEEFIX_SECRET_KEY."
        ) from None


def folder_store_path(value: str) -> Path:
    """The folder a ``file_store`` setting names: a plain path or a ``file://`` URL.

    Only folder stores exist. Any other kind (``s3://``, ``http://``) is refused here, at start-up,
    rather than at the first upload: an object-store backend is future work, because no
    S3-compatible server runs in kneefix's tests and a backend tried only against a fake would not
    be trusted with people's videos.
    """
    text = value.strip()
    split = urlsplit(text)
    if split.scheme == "file":
        if split.netloc not in {"", "localhost"} or split.query or split.fragment or not split.path:
            raise ValueError(f"must be a folder like /srv/kneefix or file:///srv/kneefix, got {value!r}")
        return Path(unquote(split.path)).expanduser()
    if split.scheme and "://" in text:
        raise ValueError(
            f"names a {split.scheme}:// store ({value!r}), but only folder stores exist: give a path "
            "or a file:// URL (a folder shared by the web and worker machines, over NFS or a bind "
            "mount). Object stores such as S3 are future work: no S3-compatible server runs in "
            "kneefix's tests, so no such backend is shipped untested"
        )
    if not text:
        raise ValueError("must name a folder, got an empty value")
    return Path(text).expanduser()


def parse_origins(raw: str | None) -> tuple[str, ...]:
    """Turn ``"https://a.org, http://b:8080"`` into normalised origins; reject anything that is not one.

    An origin is scheme + host (+ port), with no path: a browser never sends more in its ``Origin``
    header, so a configured path would silently never match.
    """
    if not raw:
        return ()
    origins: list[str] = []
    for part in raw.split(","):
        text = part.strip().rstrip("/")
        if not text:
            continue
        split = urlsplit(text)
        if split.scheme not in {"http", "https"} or not split.netloc or split.path or split.query:
            raise ValueError(
                f"trusted origin {text!r} is not an origin: write it like https://knee.example.org "
                "(scheme and host, optional port, no path)."
            )
        origins.append(f"{split.scheme}://{split.netloc.lower()}")
    return tuple(dict.fromkeys(origins))


# Which environment the settings read: ``None`` is the process's own; a test may hand in a mapping.
_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("kneefix_environment", default=None)


class _Environment(EnvSettingsSource):
    """``KNEEFIX_*`` variables from the process, or from the mapping :func:`load_settings` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRONMENT.get()
        if environ is None:
            return super()._load_env_vars()
        return parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    """Everything kneefix needs to know about where and how it runs.

    ``trusted_origins`` lists the browser origins (``https://knee.example.org``) allowed to post forms
    besides the app's own; behind a reverse proxy, set it to the public address, or set
    ``proxy_headers`` so the app believes the proxy's ``X-Forwarded-Proto``/``X-Forwarded-Host``.
    ``secure_cookies`` ``None`` ("auto") means "Secure when the request came over https".
    ``today`` and ``now`` pin the clock (tests and demos); ``timer_scale`` shrinks session timers.
    On PostgreSQL, analysis workers send a heartbeat every ``worker_heartbeat_s``; a worker silent
    for ``worker_stalled_after_s`` is taken for dead and its analysis is run again elsewhere.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=platform_data_dir)
    database_url: str = Field(
        default_factory=lambda data: sqlite_url(Path(data["data_dir"]) / DATABASE_FILENAME), min_length=1
    )
    file_store: str | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    trusted_origins: Annotated[tuple[str, ...], NoDecode] = ()
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    root_path: str = ""
    max_upload_mb: float = Field(default=200, gt=0, le=10_000)
    max_requests_in_flight: int = Field(default=32, ge=1, le=100_000)  # per web process; more get 503
    secure_cookies: bool | None = None
    session_days: int = Field(default=14, ge=1, le=365)
    signin_max_failures: int = Field(default=5, ge=1, le=1000)
    signin_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    signin_source_free_failures: int = Field(default=20, ge=1, le=100_000)
    signin_backoff_base_s: float = Field(default=2.0, ge=0, le=3600)
    signin_backoff_cap_s: float = Field(default=60.0, ge=0, le=24 * 3600)
    signup_per_hour: int = Field(default=10, ge=1, le=100_000)
    run_worker: bool = True
    worker_heartbeat_s: float = Field(default=10.0, gt=0, le=600)
    worker_stalled_after_s: float = Field(default=30.0, gt=0, le=3600)
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "kneefix <kneefix@localhost>"
    public_url: str | None = None
    timer_scale: float = Field(default=1.0, ge=0, le=10)
    today: dt.date | None = None
    now: dt.datetime | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRONMENT.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, _Environment(settings_cls)]
        if environ is None:  # a test's own mapping stands for the whole environment: no .env either
            sources.append(dotenv_settings)
        config_file = (os.environ if environ is None else environ).get(CONFIG_FILE_VARIABLE, "").strip()
        if config_file:
            path = Path(config_file).expanduser()
            if not path.is_file():
                raise InputError(f"{CONFIG_FILE_VARIABLE} names {path}, which is not a file.")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # ----- checks ----------------------------------------------------------------------------

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("file_store", mode="after")
    @classmethod
    def _folder_store(cls, value: str | None) -> str | None:
        if value is not None:
            folder_store_path(value)  # refuses, at start-up, a kind of store that does not exist
        return value

    @field_validator("trusted_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        return parse_origins(value) if isinstance(value, str) else value

    @field_validator("secure_cookies", mode="before")
    @classmethod
    def _auto(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() == "auto" else value

    @field_validator("root_path", mode="after")
    @classmethod
    def _root(cls, value: str) -> str:
        cleaned = value.strip().rstrip("/")
        if cleaned and not cleaned.startswith("/"):
            raise ValueError(f"must start with '/', got {cleaned!r}")
        return cleaned

    @field_validator("secret_key", mode="after")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("mail_from", mode="after")
    @classmethod
    def _sender(cls, value: str) -> str:
        address = parseaddr(value)[1]
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"{value!r} is not an address like kneefix@example.org")
        return value.strip()

    @field_validator("public_url", mode="after")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().rstrip("/")
        split = urlsplit(text)
        if split.scheme not in {"http", "https"} or not split.netloc or split.query or split.fragment:
            raise ValueError(
                f"{value!r} is not a web address like https://knee.example.org (scheme, host, optional path)"
            )
        return text

    # ----- what the rest of kneefix reads --------------------------------------------------------

    @property
    def file_store_folder(self) -> Path:
        """The folder of the file store: ``file_store``, else the data folder (where uploads and
        results have always been, so existing data keeps working)."""
        return self.data_dir if self.file_store is None else folder_store_path(self.file_store)

    @property
    def max_upload_bytes(self) -> int:
        return round(self.max_upload_mb * 1024 * 1024)

    @property
    def session_max_age_s(self) -> int:
        return self.session_days * 24 * 3600

    @property
    def signin_window_s(self) -> int:
        return self.signin_window_minutes * 60

    @property
    def mail(self) -> MailSettings:
        return MailSettings(
            host=self.smtp_host,
            port=self.smtp_port or SMTP_DEFAULT_PORTS[self.smtp_security],
            security=self.smtp_security,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            sender=self.mail_from,
            public_url=self.public_url,
        )

    @cached_property
    def signing_key(self) -> str:
        """The secret that signs cookies and links: ``secret_key``, else the data folder's own (read
        or created the first time it is needed, then kept)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return load_or_create_secret(self.data_dir)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some values changed, checked like the original."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return load_settings(**{**values, **changes}, environ={})

    def shown(self) -> dict[str, str]:
        """Every setting by its environment variable, secrets and database passwords masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value is not None:
                text = "(set, hidden)"
            elif name == "secret_key":
                text = "(not set: the data folder's own)"
            elif name == "database_url":
                text = _mask_password(str(value))
            elif name == "file_store" and value is None:
                text = "(not set: the data folder)"
            elif name == "secure_cookies" and value is None:
                text = "auto"
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif value is None:
                text = "(not set)"
            elif isinstance(value, tuple):
                text = ", ".join(value) or "(none)"
            else:
                text = str(value)
            shown[ENV_PREFIX + name.upper()] = text
        return shown


def _mask_password(url: str) -> str:
    split = urlsplit(url)
    if split.password is None:
        return url
    return url.replace(f":{split.password}@", ":***@", 1)


def _field_message(error: Mapping[str, Any]) -> str:
    """One pydantic error in plain words, naming the environment variable to fix."""
    location = error.get("loc") or ("?",)
    name = str(location[0])
    variable = ENV_PREFIX + name.upper()
    given = error.get("input")
    kind = str(error.get("type", ""))
    field = Settings.model_fields.get(name)
    bounds = {type(item).__name__: item for item in (field.metadata if field else [])}
    low = getattr(bounds["Ge"], "ge", None) if "Ge" in bounds else getattr(bounds.get("Gt"), "gt", None)
    high = getattr(bounds.get("Le"), "le", None)
    if kind in {"int_parsing", "int_from_float"}:
        return f"{variable} must be a whole number, got {given!r}."
    if kind == "float_parsing":
        return f"{variable} must be a number, got {given!r}."
    if kind == "bool_parsing":
        return f"{variable} must be true or false, got {given!r}."
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return f"{variable} must be between {low} and {high}, got {given!r}."
    if kind == "literal_error":
        return f"{variable}: {error.get('msg', 'not one of the choices')}, got {given!r}."
    if kind in {
        "date_from_datetime_parsing",
        "date_parsing",
        "datetime_parsing",
        "datetime_from_date_parsing",
    }:
        return f"{variable} must be a date (YYYY-MM-DD) or an ISO date and time, got {given!r}."
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ").rstrip(".")
    return f"{variable} {message}."


def load_settings(*, environ: Mapping[str, str] | None = None, **values: Any) -> Settings:
    """The settings from ``values`` (arguments: those that are None are left to the other sources),
    then the environment (``environ``, default the process's), ``.env``, the TOML file and defaults.

    Bad values raise :class:`InputError` naming the variable, never a pydantic traceback.
    """
    given = {name: value for name, value in values.items() if value is not None}
    unknown = sorted(set(given) - set(Settings.model_fields))
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(unknown)}")
    token = _ENVIRONMENT.set(environ)
    try:
        return Settings(**given)
    except ValidationError as error:
        problems = [_field_message(item) for item in error.errors(include_url=False)]
        raise InputError(" ".join(problems)) from None
    finally:
        _ENVIRONMENT.reset(token)
