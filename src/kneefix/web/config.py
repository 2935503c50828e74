"""Settings for the web app, from flags or ``KNEEFIX_*`` environment variables.

One frozen object is built at start-up and handed to :func:`kneefix.web.app.create_app`; nothing reads the
environment later, so a test can build an app with any settings without touching ``os.environ``.
Explicit arguments (command-line flags) win over environment variables, which win over the defaults.

The secret key that signs session cookies is kept in the data folder (``secret_key``, readable only by
its owner) so sessions survive a restart without anyone having to configure one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kneefix.errors import InputError
from kneefix.services.mail import SECURITY_CHOICES, MailSettings, SmtpSecurity, check_sender

SECRET_KEY_FILE = "secret_key"
DEFAULT_MAX_UPLOAD_MB = 200
ENV_PREFIX = "KNEEFIX_"


@dataclass(frozen=True)
class WebSettings:
    """Everything the web app needs to know about where and how it runs.

    ``trusted_origins`` lists the browser origins (``https://knee.example.org``) allowed to post forms
    besides the app's own; behind a reverse proxy, set it to the public address, or set
    ``proxy_headers`` so the app believes the proxy's ``X-Forwarded-Proto``/``X-Forwarded-Host``.
    ``secure_cookies`` ``None`` means "Secure when the request came over https".
    """

    data_dir: Path
    database_url: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    trusted_origins: tuple[str, ...] = ()
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    root_path: str = ""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    secure_cookies: bool | None = None
    session_max_age_s: int = 14 * 24 * 3600
    signin_max_failures: int = 5
    signin_window_s: int = 15 * 60
    run_worker: bool = True
    mail: MailSettings = field(default_factory=MailSettings)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def analyses_dir(self) -> Path:
        return self.data_dir / "analyses"


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(ENV_PREFIX + name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _parse_int(raw: str, what: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{what} must be a whole number, got {raw!r}.") from None
    if not low <= value <= high:
        raise InputError(f"{what} must be between {low} and {high}, got {value}.")
    return value


def _parse_bool(raw: str, what: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise InputError(f"{what} must be true or false, got {raw!r}.")


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
            raise InputError(
                f"trusted origin {text!r} is not an origin: write it like https://knee.example.org "
                "(scheme and host, optional port, no path)."
            )
        origins.append(f"{split.scheme}://{split.netloc.lower()}")
    return tuple(dict.fromkeys(origins))


def load_or_create_secret(data_dir: Path) -> str:
    """Read the signing key kept in the data folder, creating it (owner-only) on first start."""
    path = data_dir / SECRET_KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
        key = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        return key
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            f"cannot read or create the secret key in {data_dir} ({error}); check that the data folder "
            "is writable, or set KNEEFIX_SECRET_KEY."
        ) from None


def _default_data_dir() -> Path:
    try:
        from kneefix.storage.db import default_data_dir
    except ImportError:  # storage not installed in a trimmed build: fall back to the platform folder
        import platformdirs

        return Path(platformdirs.user_data_dir("kneefix"))
    return Path(default_data_dir())


def _default_database_url(data_dir: Path, data_dir_was_given: bool) -> str:
    """The embedded SQLite file: in the chosen data folder when one was given, else storage's default."""
    if data_dir_was_given:
        return f"sqlite:///{(data_dir / 'kneefix.db').as_posix()}"
    try:
        from kneefix.storage.db import default_database_url
    except ImportError:
        return f"sqlite:///{(data_dir / 'kneefix.db').as_posix()}"
    return default_database_url()


def parse_public_url(raw: str | None) -> str | None:
    """The public address (``https://knee.example.org`` or ``https://example.org/knee``) links in
    emails point to; a path is allowed here (unlike an origin), a query is not."""
    if not raw:
        return None
    text = raw.strip().rstrip("/")
    split = urlsplit(text)
    if split.scheme not in {"http", "https"} or not split.netloc or split.query or split.fragment:
        raise InputError(
            f"KNEEFIX_PUBLIC_URL {raw!r} is not a web address like https://knee.example.org "
            "(scheme, host and an optional path)."
        )
    return text


def load_mail_settings(env: Mapping[str, str]) -> MailSettings:
    """Email settings from ``KNEEFIX_SMTP_*``, ``KNEEFIX_MAIL_FROM`` and ``KNEEFIX_PUBLIC_URL``."""
    host = _env(env, "SMTP_HOST")
    raw_security = (_env(env, "SMTP_SECURITY") or "starttls").lower()
    if raw_security not in SECURITY_CHOICES:
        raise InputError(f"KNEEFIX_SMTP_SECURITY must be one of starttls, ssl or none, got {raw_security!r}.")
    security: SmtpSecurity = raw_security
    raw_port = _env(env, "SMTP_PORT")
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    port = _parse_int(raw_port, "KNEEFIX_SMTP_PORT", 1, 65535) if raw_port else default_port
    sender = _env(env, "MAIL_FROM")
    return MailSettings(
        host=host,
        port=port,
        security=security,
        username=_env(env, "SMTP_USERNAME"),
        password=env.get(ENV_PREFIX + "SMTP_PASSWORD") or None,
        sender=check_sender(sender) if sender else MailSettings.sender,
        public_url=parse_public_url(_env(env, "PUBLIC_URL")),
    )


def load_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    database_url: str | None = None,
    data_dir: Path | str | None = None,
    trusted_origins: str | None = None,
    proxy_headers: bool | None = None,
    secure_cookies: bool | None = None,
    max_upload_mb: int | None = None,
    secret_key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> WebSettings:
    """Build settings: explicit arguments, then ``KNEEFIX_*`` variables, then defaults.

    Environment variables read: ``KNEEFIX_HOST``, ``KNEEFIX_PORT``, ``KNEEFIX_DATABASE_URL``,
    ``KNEEFIX_DATA_DIR``, ``KNEEFIX_TRUSTED_ORIGINS`` (comma-separated), ``KNEEFIX_PROXY_HEADERS``,
    ``KNEEFIX_FORWARDED_ALLOW_IPS``, ``KNEEFIX_ROOT_PATH``, ``KNEEFIX_SECURE_COOKIES`` (true, false or
    auto), ``KNEEFIX_MAX_UPLOAD_MB``, ``KNEEFIX_SECRET_KEY``, ``KNEEFIX_SESSION_DAYS``,
    ``KNEEFIX_SIGNIN_MAX_FAILURES``, ``KNEEFIX_SIGNIN_WINDOW_MINUTES``, and for email
    ``KNEEFIX_SMTP_HOST``, ``_PORT``, ``_SECURITY`` (starttls, ssl or none), ``_USERNAME``, ``_PASSWORD``,
    ``KNEEFIX_MAIL_FROM`` and ``KNEEFIX_PUBLIC_URL`` (see :func:`load_mail_settings`). Bad values raise
    :class:`InputError` naming the variable.
    """
    env = os.environ if environ is None else environ

    raw_dir = data_dir if data_dir is not None else _env(env, "DATA_DIR")
    folder = Path(raw_dir).expanduser() if raw_dir is not None else _default_data_dir()
    url = database_url or _env(env, "DATABASE_URL") or _default_database_url(folder, raw_dir is not None)

    raw_port = _env(env, "PORT")
    resolved_port = (
        port if port is not None else (_parse_int(raw_port, "KNEEFIX_PORT", 1, 65535) if raw_port else 8000)
    )
    if not 1 <= resolved_port <= 65535:
        raise InputError(f"port must be between 1 and 65535, got {resolved_port}.")

    raw_proxy = _env(env, "PROXY_HEADERS")
    resolved_proxy = (
        proxy_headers
        if proxy_headers is not None
        else (_parse_bool(raw_proxy, "KNEEFIX_PROXY_HEADERS") if raw_proxy else False)
    )

    resolved_secure = secure_cookies
    raw_secure = _env(env, "SECURE_COOKIES")
    if resolved_secure is None and raw_secure and raw_secure.lower() != "auto":
        resolved_secure = _parse_bool(raw_secure, "KNEEFIX_SECURE_COOKIES")

    raw_upload = _env(env, "MAX_UPLOAD_MB")
    upload_mb = (
        max_upload_mb
        if max_upload_mb is not None
        else (
            _parse_int(raw_upload, "KNEEFIX_MAX_UPLOAD_MB", 1, 10_000)
            if raw_upload
            else DEFAULT_MAX_UPLOAD_MB
        )
    )
    if not 1 <= upload_mb <= 10_000:
        raise InputError(f"the upload limit must be between 1 and 10000 MB, got {upload_mb}.")

    raw_days = _env(env, "SESSION_DAYS")
    session_days = _parse_int(raw_days, "KNEEFIX_SESSION_DAYS", 1, 365) if raw_days else 14
    raw_failures = _env(env, "SIGNIN_MAX_FAILURES")
    failures = _parse_int(raw_failures, "KNEEFIX_SIGNIN_MAX_FAILURES", 1, 1000) if raw_failures else 5
    raw_window = _env(env, "SIGNIN_WINDOW_MINUTES")
    window_min = _parse_int(raw_window, "KNEEFIX_SIGNIN_WINDOW_MINUTES", 1, 24 * 60) if raw_window else 15

    root_path = (_env(env, "ROOT_PATH") or "").rstrip("/")
    if root_path and not root_path.startswith("/"):
        raise InputError(f"KNEEFIX_ROOT_PATH must start with '/', got {root_path!r}.")

    key = secret_key or _env(env, "SECRET_KEY") or load_or_create_secret(folder)
    if len(key) < 32:
        raise InputError("the secret key must be at least 32 characters long.")

    return WebSettings(
        data_dir=folder,
        database_url=url,
        secret_key=key,
        host=host or _env(env, "HOST") or "127.0.0.1",
        port=resolved_port,
        trusted_origins=parse_origins(
            trusted_origins if trusted_origins is not None else _env(env, "TRUSTED_ORIGINS")
        ),
        proxy_headers=resolved_proxy,
        forwarded_allow_ips=_env(env, "FORWARDED_ALLOW_IPS") or "127.0.0.1",
        root_path=root_path,
        max_upload_bytes=upload_mb * 1024 * 1024,
        secure_cookies=resolved_secure,
        session_max_age_s=session_days * 24 * 3600,
        signin_max_failures=failures,
        signin_window_s=window_min * 60,
        mail=load_mail_settings(env),
    )
